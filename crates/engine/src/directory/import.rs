//! Turning the records of an import file (JSON Lines or CSV rows already read into JSON
//! objects) into validated objects and links, shared by the import endpoint and by
//! `provisio directory import --dry-run`, which validates without a server.
//!
//! A record is a Graph object plus two import-only properties: `manager` (a user's manager,
//! by `userPrincipalName` or id) and `members` (a group's members, by `userPrincipalName`,
//! group `mailNickname` or id).

use serde_json::{Map, Value};
use uuid::Uuid;

use super::schema::{self, Mode, ValidateOptions};
use super::store::{ImportLink, ImportObject, LinkKind, ObjectRef};
use super::{DirectoryError, ObjectKind};

/// Reads a reference: a GUID is an id, a value with `@` a user principal name, anything
/// else a group's mail nickname.
pub fn object_ref(value: &str) -> Result<ObjectRef, DirectoryError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(DirectoryError::bad_request("empty reference"));
    }
    Ok(if let Ok(id) = Uuid::try_parse(value) {
        ObjectRef::Id(id)
    } else if value.contains('@') {
        ObjectRef::UserPrincipalName(value.to_string())
    } else {
        ObjectRef::MailNickname(value.to_string())
    })
}

/// Validates one record of kind `kind` read from line `line`.
pub fn record(
    line: u64,
    kind: ObjectKind,
    mut record: Map<String, Value>,
) -> Result<(ImportObject, Vec<ImportLink>), DirectoryError> {
    let mut links = Vec::new();
    let manager = take_ci(&mut record, "manager");
    let members = take_ci(&mut record, "members");
    let valid = schema::validate(
        kind,
        &record,
        Mode::Create,
        ValidateOptions {
            ignore_read_only: true,
        },
    )?;
    if !valid.members.is_empty() || valid.manager.is_some() {
        return Err(DirectoryError::bad_request(
            "Imports name references with \"manager\" and \"members\", not @odata.bind.",
        ));
    }
    let this = match (valid.id, kind) {
        (Some(id), _) => ObjectRef::Id(id),
        (None, ObjectKind::User) => ObjectRef::UserPrincipalName(
            valid
                .data
                .get("userPrincipalName")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        ),
        (None, ObjectKind::Group) => ObjectRef::MailNickname(
            valid
                .data
                .get("mailNickname")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        ),
        (None, ObjectKind::ServicePrincipal) => return Err(DirectoryError::bad_request(
            "Service principals cannot be imported; create them with POST /v1.0/servicePrincipals.",
        )),
    };
    match (manager, kind) {
        (None | Some(Value::Null), _) => {}
        (Some(Value::String(m)), ObjectKind::User) if m.trim().is_empty() => {}
        (Some(Value::String(m)), ObjectKind::User) => links.push(ImportLink {
            line,
            from: this.clone(),
            link: LinkKind::Manager,
            to: object_ref(&m)?,
        }),
        (Some(_), ObjectKind::User) => {
            return Err(DirectoryError::bad_request(
                "\"manager\" must be a userPrincipalName or an id.",
            ))
        }
        (Some(_), _) => {
            return Err(DirectoryError::bad_request(
                "Only users have a \"manager\".",
            ))
        }
    }
    match (members, kind) {
        (None | Some(Value::Null), _) => {}
        (Some(Value::Array(items)), ObjectKind::Group) => {
            for item in items {
                let Some(s) = item.as_str() else {
                    return Err(DirectoryError::bad_request(
                        "\"members\" must be a list of userPrincipalNames, group mailNicknames or ids.",
                    ));
                };
                links.push(ImportLink {
                    line,
                    from: this.clone(),
                    link: LinkKind::Member,
                    to: object_ref(s)?,
                });
            }
        }
        (Some(_), ObjectKind::Group) => {
            return Err(DirectoryError::bad_request(
                "\"members\" must be a list of userPrincipalNames, group mailNicknames or ids.",
            ))
        }
        (Some(_), _) => return Err(DirectoryError::bad_request("Only groups have \"members\".")),
    }
    Ok((
        ImportObject {
            line,
            kind,
            id: valid.id,
            data: valid.data,
        },
        links,
    ))
}

/// Why an import record cannot update object `id`: it is of another kind.
pub fn wrong_kind(id: Uuid, found: ObjectKind, wanted: ObjectKind) -> DirectoryError {
    DirectoryError::bad_request(format!(
        "Object {id} is a {}, not a {}.",
        found.as_str(),
        wanted.as_str()
    ))
}

/// Why an import record cannot update object `id`: it is in deleted items.
pub fn in_deleted_items(id: Uuid) -> DirectoryError {
    DirectoryError::bad_request(format!(
        "Object {id} is in deleted items; restore it before importing it."
    ))
}

fn take_ci(map: &mut Map<String, Value>, name: &str) -> Option<Value> {
    let key = map.keys().find(|k| k.eq_ignore_ascii_case(name))?.clone();
    map.remove(&key)
}
