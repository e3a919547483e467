//! Turning the records of an import file (JSON Lines or CSV rows already read into JSON
//! objects) into validated objects and links, shared by the import endpoint and by
//! `provisio directory import --dry-run`, which validates without a server.
//!
//! A record is a Graph object plus two import-only properties: `manager` (a user's manager,
//! by `userPrincipalName` or id) and `members` (a group's members, by `userPrincipalName`,
//! group `mailNickname` or id).
//!
//! Also here, so that the server and the client agree: how a JSON Lines line is read
//! ([`parse_line`]), and the error lines an import reports ([`ErrorLines`]); and the
//! import of a whole stream of lines ([`Directory::import_lines`](crate::Directory)).

mod pipeline;

pub use pipeline::{
    ImportFailure, ImportLines, ImportOptions, ImportSummary, NumberedLine, CHUNK_RECORDS,
    REPORTED_ERRORS,
};

use std::collections::BinaryHeap;

use serde_json::{Map, Value};
use uuid::Uuid;

use super::schema::{self, Mode, ValidateOptions};
use super::store::{ImportObject, ImportReference, MemberRef, ObjectRef, ReferenceKind};
use super::{DirectoryError, ObjectKind};

/// The kind a record's `@odata.type` names (`#microsoft.graph.group`, with or without `#`),
/// or `default` when it names none or something else (validation then reports it).
pub fn kind_of(object: &Map<String, Value>, default: ObjectKind) -> ObjectKind {
    let Some(value) = object
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("@odata.type"))
        .and_then(|(_, v)| v.as_str())
    else {
        return default;
    };
    let name = value.trim_start_matches('#');
    [ObjectKind::User, ObjectKind::Group]
        .into_iter()
        .find(|kind| name.eq_ignore_ascii_case(&kind.odata_type()[1..]))
        .unwrap_or(default)
}

/// A JSON Lines record read from its line: its kind and object, or why it is not one.
pub type ParsedLine = Result<(ObjectKind, Map<String, Value>), String>;

/// Reads line `line` of a JSON Lines file (its bytes, with or without the line break):
/// `None` for a blank line, else the record's kind and object, or why it is not one. A byte
/// order mark is skipped on line 1.
pub fn parse_line(line: u64, bytes: &[u8], default_kind: ObjectKind) -> Option<ParsedLine> {
    let mut text = bytes;
    if line == 1 {
        text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
    }
    while let [rest @ .., b'\n' | b'\r'] = text {
        text = rest;
    }
    if text.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    Some(match serde_json::from_slice::<Value>(text) {
        Ok(Value::Object(object)) => Ok((kind_of(&object, default_kind), object)),
        Ok(_) => Err("a record must be a JSON object".to_string()),
        Err(error) => Err(json_error(&error)),
    })
}

/// `invalid JSON: key must be a string at column 2`: serde_json's message, whose line is
/// always 1 since each line is parsed alone.
pub fn json_error(error: &serde_json::Error) -> String {
    let message = error.to_string();
    let reason = message
        .rsplit_once(" at line ")
        .map_or(message.as_str(), |(reason, _)| reason);
    format!("invalid JSON: {reason} at column {}", error.column())
}

/// The error lines of an import: all counted, the `cap` with the smallest line numbers
/// kept, so that what is reported does not depend on the order in which work finished.
#[derive(Debug, Clone)]
pub struct ErrorLines {
    kept: BinaryHeap<(u64, String)>,
    cap: usize,
    pub total: u64,
}

impl ErrorLines {
    pub fn new(cap: usize) -> Self {
        ErrorLines {
            kept: BinaryHeap::new(),
            cap,
            total: 0,
        }
    }

    pub fn push(&mut self, line: u64, message: String) {
        self.total += 1;
        self.kept.push((line, message));
        if self.kept.len() > self.cap {
            self.kept.pop();
        }
    }

    pub fn merge(&mut self, other: ErrorLines) {
        self.total += other.total - other.kept.len() as u64;
        for (line, message) in other.kept {
            self.push(line, message);
        }
    }

    /// The kept errors by line.
    pub fn sorted(&self) -> Vec<(u64, String)> {
        self.kept.clone().into_sorted_vec()
    }

    /// Errors counted but not kept.
    pub fn omitted(&self) -> u64 {
        self.total - self.kept.len() as u64
    }
}

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
) -> Result<(ImportObject, Vec<ImportReference>), DirectoryError> {
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
    if kind == ObjectKind::ServicePrincipal {
        return Err(DirectoryError::bad_request(
            "Service principals cannot be imported; create them with POST /v1.0/servicePrincipals.",
        ));
    }
    let object = ImportObject {
        line,
        kind,
        id: valid.id,
        data: valid.data,
    };
    let this = object.key().ok_or_else(|| {
        DirectoryError::bad_request(format!(
            "A {} needs a userPrincipalName or mailNickname to be imported.",
            kind.as_str()
        ))
    })?;
    match (manager, kind) {
        (None | Some(Value::Null), _) => {}
        (Some(Value::String(m)), ObjectKind::User) if m.trim().is_empty() => {}
        (Some(Value::String(m)), ObjectKind::User) => links.push(ImportReference {
            line,
            from: this.clone(),
            kind: ReferenceKind::Manager,
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
                links.push(ImportReference {
                    line,
                    from: this.clone(),
                    kind: ReferenceKind::Member,
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
    Ok((object, links))
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

/// What an import reference sets once both its ends name live objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferenceChange {
    /// `user`'s manager becomes `manager`.
    Manager { user: Uuid, manager: Uuid },
    /// `member` is added to `group`.
    Member { group: Uuid, member: MemberRef },
}

/// The rules an import reference obeys, whichever store writes it: given the live objects
/// (id and kind) its two ends name, what it sets, or why it is refused.
pub fn check_reference(
    kind: ReferenceKind,
    (from, from_kind): (Uuid, ObjectKind),
    (to, to_kind): (Uuid, ObjectKind),
) -> Result<ReferenceChange, DirectoryError> {
    if from == to {
        return Err(DirectoryError::bad_request(
            "An object cannot reference itself.",
        ));
    }
    match kind {
        ReferenceKind::Manager => {
            if from_kind != ObjectKind::User || to_kind != ObjectKind::User {
                return Err(DirectoryError::bad_request(
                    "A manager links a user to a user.",
                ));
            }
            Ok(ReferenceChange::Manager {
                user: from,
                manager: to,
            })
        }
        ReferenceKind::Member => {
            if from_kind != ObjectKind::Group || to_kind == ObjectKind::ServicePrincipal {
                return Err(DirectoryError::bad_request(
                    "Members are users or groups added to a group.",
                ));
            }
            Ok(ReferenceChange::Member {
                group: from,
                member: MemberRef {
                    id: to,
                    kind: to_kind,
                },
            })
        }
    }
}

fn take_ci(map: &mut Map<String, Value>, name: &str) -> Option<Value> {
    let key = map.keys().find(|k| k.eq_ignore_ascii_case(name))?.clone();
    map.remove(&key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_read_as_records_blanks_or_reasons() {
        type Expected = Option<Result<(ObjectKind, &'static str), &'static str>>;
        let cases: &[(u64, &[u8], Expected)] = &[
            (
                2,
                b"{\"displayName\":\"A\"}\n",
                Some(Ok((ObjectKind::User, "A"))),
            ),
            (
                2,
                b"{\"displayName\":\"A\"}\r\n",
                Some(Ok((ObjectKind::User, "A"))),
            ),
            (
                1,
                b"\xEF\xBB\xBF{\"displayName\":\"A\"}",
                Some(Ok((ObjectKind::User, "A"))),
            ),
            (
                2,
                b"{\"@odata.type\":\"#microsoft.graph.group\",\"displayName\":\"G\"}",
                Some(Ok((ObjectKind::Group, "G"))),
            ),
            (
                2,
                b"{\"@odata.type\":\"microsoft.graph.GROUP\",\"displayName\":\"G\"}",
                Some(Ok((ObjectKind::Group, "G"))),
            ),
            (2, b"", None),
            (2, b" \t\r\n", None),
            (2, b"[1]", Some(Err("a record must be a JSON object"))),
            (
                2,
                b"{\"a\":",
                Some(Err("invalid JSON: EOF while parsing a value at column 5")),
            ),
            (
                2,
                b"\xEF\xBB\xBF{}",
                Some(Err("invalid JSON: expected value at column 1")),
            ),
        ];
        for (line, bytes, expected) in cases {
            let got = parse_line(*line, bytes, ObjectKind::User).map(|r| {
                r.map(|(kind, object)| {
                    (
                        kind,
                        object["displayName"].as_str().unwrap_or("").to_string(),
                    )
                })
            });
            let expected = (*expected).map(|r| {
                r.map(|(k, name)| (k, name.to_string()))
                    .map_err(str::to_string)
            });
            assert_eq!(
                got,
                expected,
                "line {line}: {:?}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn error_lines_keep_the_first_whatever_the_order() {
        let mut errors = ErrorLines::new(100);
        for line in (1..=250).rev() {
            errors.push(line, format!("bad {line}"));
        }
        let kept = errors.sorted();
        assert_eq!(errors.total, 250);
        assert_eq!(errors.omitted(), 150);
        assert_eq!(kept.len(), 100);
        assert_eq!(kept[0], (1, "bad 1".to_string()));
        assert_eq!(kept[99].0, 100);

        let mut other = ErrorLines::new(2);
        for line in [7, 3, 9] {
            other.push(line, format!("other {line}"));
        }
        let mut small = ErrorLines::new(3);
        small.push(5, "five".into());
        small.merge(other);
        assert_eq!(small.total, 4);
        assert_eq!(
            small.sorted(),
            [
                (3, "other 3".to_string()),
                (5, "five".to_string()),
                (7, "other 7".to_string())
            ]
        );
    }

    #[test]
    fn references_follow_the_same_rules_in_every_store() {
        use ObjectKind::{Group, ServicePrincipal, User};
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let refused = |m: &str| Err(m.to_string());
        let cases = [
            (
                ReferenceKind::Manager,
                (a, User),
                (b, User),
                Ok(ReferenceChange::Manager {
                    user: a,
                    manager: b,
                }),
            ),
            (
                ReferenceKind::Manager,
                (a, User),
                (a, User),
                refused("An object cannot reference itself."),
            ),
            (
                ReferenceKind::Manager,
                (a, User),
                (b, Group),
                refused("A manager links a user to a user."),
            ),
            (
                ReferenceKind::Manager,
                (a, Group),
                (b, User),
                refused("A manager links a user to a user."),
            ),
            (
                ReferenceKind::Member,
                (a, Group),
                (b, User),
                Ok(ReferenceChange::Member {
                    group: a,
                    member: MemberRef { id: b, kind: User },
                }),
            ),
            (
                ReferenceKind::Member,
                (a, Group),
                (b, Group),
                Ok(ReferenceChange::Member {
                    group: a,
                    member: MemberRef { id: b, kind: Group },
                }),
            ),
            (
                ReferenceKind::Member,
                (a, Group),
                (a, Group),
                refused("An object cannot reference itself."),
            ),
            (
                ReferenceKind::Member,
                (a, User),
                (b, User),
                refused("Members are users or groups added to a group."),
            ),
            (
                ReferenceKind::Member,
                (a, Group),
                (b, ServicePrincipal),
                refused("Members are users or groups added to a group."),
            ),
        ];
        for (kind, from, to, expected) in cases {
            let got = check_reference(kind, from, to).map_err(|e| e.message);
            assert_eq!(got, expected, "{kind:?} {from:?} -> {to:?}");
        }
    }
}
