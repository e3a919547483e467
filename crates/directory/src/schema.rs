//! The properties of each directory object kind, with Microsoft Graph's names and types, and
//! the validation that turns a request body into a stored object.
//!
//! Property names are matched case-insensitively (as Graph does) and stored in their
//! canonical spelling, in the order of the tables below, then directory extension
//! attributes (`extension_<appId without dashes>_<name>`) by name.

use serde_json::{Map, Value};
use uuid::Uuid;

use super::{DirectoryError, ObjectKind};

/// A property's value type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropertyType {
    String,
    Boolean,
    /// `Edm.DateTimeOffset`, stored as `YYYY-MM-DDTHH:MM:SSZ`.
    DateTime,
    /// `Edm.Guid`, stored lower-case with dashes.
    Guid,
    /// `Collection(Edm.String)`.
    StringCollection,
    /// `Collection(microsoft.graph.appRole)` of service principals.
    AppRoles,
}

impl PropertyType {
    /// The OData type name, as written in CSV headers' documentation and error messages.
    pub fn edm_name(self) -> &'static str {
        match self {
            PropertyType::String => "Edm.String",
            PropertyType::Boolean => "Edm.Boolean",
            PropertyType::DateTime => "Edm.DateTimeOffset",
            PropertyType::Guid => "Edm.Guid",
            PropertyType::StringCollection => "Collection(Edm.String)",
            PropertyType::AppRoles => "Collection(microsoft.graph.appRole)",
        }
    }
}

/// Who may write a property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    ReadWrite,
    /// Set by the directory (`id`, `createdDateTime`); a body may carry `id` on create only.
    ReadOnly,
}

#[derive(Debug, Clone, Copy)]
pub struct Property {
    pub name: &'static str,
    pub ty: PropertyType,
    pub access: Access,
    /// Longest accepted string (for collections: per element), in characters.
    pub max_len: usize,
    /// Returned by Graph v1.0 when a request has no `$select`.
    pub default_select: bool,
}

const fn rw(name: &'static str, ty: PropertyType, max_len: usize) -> Property {
    Property {
        name,
        ty,
        access: Access::ReadWrite,
        max_len,
        default_select: false,
    }
}

const fn dflt(p: Property) -> Property {
    Property {
        default_select: true,
        ..p
    }
}

const fn ro(name: &'static str, ty: PropertyType) -> Property {
    Property {
        name,
        ty,
        access: Access::ReadOnly,
        max_len: 64,
        default_select: false,
    }
}

use PropertyType::{AppRoles, Boolean, DateTime, Guid, StringCollection};
const STR: PropertyType = PropertyType::String;

/// Graph's `user`, as far as provisioning reads it.
pub const USER_PROPERTIES: &[Property] = &[
    dflt(ro("id", Guid)),
    dflt(rw("userPrincipalName", STR, 113)),
    rw("mailNickname", STR, 64),
    dflt(rw("displayName", STR, 256)),
    dflt(rw("givenName", STR, 64)),
    dflt(rw("surname", STR, 64)),
    dflt(rw("mail", STR, 256)),
    rw("otherMails", StringCollection, 256),
    dflt(rw("jobTitle", STR, 128)),
    rw("department", STR, 64),
    rw("companyName", STR, 64),
    rw("employeeId", STR, 16),
    rw("employeeType", STR, 64),
    rw("employeeHireDate", DateTime, 64),
    rw("accountEnabled", Boolean, 0),
    dflt(rw("businessPhones", StringCollection, 64)),
    dflt(rw("mobilePhone", STR, 64)),
    rw("faxNumber", STR, 64),
    dflt(rw("officeLocation", STR, 128)),
    rw("streetAddress", STR, 1024),
    rw("city", STR, 128),
    rw("state", STR, 128),
    rw("postalCode", STR, 40),
    rw("country", STR, 128),
    rw("usageLocation", STR, 2),
    dflt(rw("preferredLanguage", STR, 64)),
    rw("userType", STR, 64),
    ro("createdDateTime", DateTime),
    ro("deletedDateTime", DateTime),
];

/// Graph's `group`.
pub const GROUP_PROPERTIES: &[Property] = &[
    dflt(ro("id", Guid)),
    dflt(rw("displayName", STR, 256)),
    dflt(rw("mailNickname", STR, 64)),
    dflt(rw("description", STR, 1024)),
    dflt(rw("mail", STR, 256)),
    dflt(rw("securityEnabled", Boolean, 0)),
    dflt(rw("mailEnabled", Boolean, 0)),
    dflt(rw("groupTypes", StringCollection, 64)),
    dflt(ro("createdDateTime", DateTime)),
    ro("deletedDateTime", DateTime),
];

/// Graph's `servicePrincipal`: the application that users and groups are assigned to.
pub const SERVICE_PRINCIPAL_PROPERTIES: &[Property] = &[
    dflt(ro("id", Guid)),
    dflt(rw("appId", Guid, 64)),
    dflt(rw("displayName", STR, 256)),
    dflt(rw("accountEnabled", Boolean, 0)),
    dflt(rw("appRoleAssignmentRequired", Boolean, 0)),
    dflt(rw("appRoles", AppRoles, 0)),
    dflt(rw("tags", StringCollection, 256)),
    dflt(ro("createdDateTime", DateTime)),
];

pub fn properties(kind: ObjectKind) -> &'static [Property] {
    match kind {
        ObjectKind::User => USER_PROPERTIES,
        ObjectKind::Group => GROUP_PROPERTIES,
        ObjectKind::ServicePrincipal => SERVICE_PRINCIPAL_PROPERTIES,
    }
}

/// The property named `name` (any case).
pub fn property(kind: ObjectKind, name: &str) -> Option<&'static Property> {
    properties(kind)
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(name))
}

/// Whether `name` has the shape of a directory extension attribute:
/// `extension_<32 hex digits>_<name>`, the name made of letters, digits and `_`.
pub fn is_extension_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("extension_") else {
        return false;
    };
    let Some((app, attr)) = rest.split_at_checked(32) else {
        return false;
    };
    let Some(attr) = attr.strip_prefix('_') else {
        return false;
    };
    app.bytes().all(|b| b.is_ascii_hexdigit())
        && !attr.is_empty()
        && attr.len() <= 100
        && attr.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Users, groups and service principals accept extension attributes on users and groups.
fn accepts_extensions(kind: ObjectKind) -> bool {
    matches!(kind, ObjectKind::User | ObjectKind::Group)
}

/// Whether a body is for a new object or changes an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Create,
    Update,
}

/// Options of [`validate`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ValidateOptions {
    /// Drop read-only properties other than `id` instead of refusing them (imports of
    /// exported directories carry `createdDateTime` and the like).
    pub ignore_read_only: bool,
}

/// A validated request body.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Validated {
    /// Canonical property names to values. On update, `null` means "clear".
    /// Never contains `id`.
    pub data: Map<String, Value>,
    /// `id` given in a create body (an import keeping its anchors).
    pub id: Option<Uuid>,
    /// `manager@odata.bind`: `Some(None)` never happens on create; on update a `null`
    /// bind is refused (Graph removes a manager with `DELETE …/manager/$ref`).
    pub manager: Option<Uuid>,
    /// `members@odata.bind` of a group.
    pub members: Vec<Uuid>,
}

/// Checks `body` against the properties of `kind` and returns it in canonical form.
pub fn validate(
    kind: ObjectKind,
    body: &Map<String, Value>,
    mode: Mode,
    options: ValidateOptions,
) -> Result<Validated, DirectoryError> {
    let mut out = Validated::default();
    let mut seen_extensions: Vec<(String, Value)> = Vec::new();
    let mut values: Vec<Option<Value>> = vec![None; properties(kind).len()];
    for (key, value) in body {
        if let Some((nav, annotation)) = key.split_once('@') {
            validate_annotation(kind, nav, annotation, value, mode, &mut out)?;
            continue;
        }
        if key.eq_ignore_ascii_case("passwordProfile") && kind == ObjectKind::User {
            // Graph requires a password on create; provisio keeps no passwords, so the
            // profile is accepted and dropped, never stored.
            continue;
        }
        if let Some(index) = properties(kind)
            .iter()
            .position(|p| p.name.eq_ignore_ascii_case(key))
        {
            let prop = &properties(kind)[index];
            if prop.access == Access::ReadOnly {
                if prop.name == "id" {
                    let id = parse_guid(prop, value)?;
                    if mode == Mode::Create {
                        out.id = Some(id);
                    }
                    // On update, the id in the path wins; a body that repeats it is fine.
                    continue;
                }
                if options.ignore_read_only {
                    continue;
                }
                return Err(DirectoryError::bad_request(format!(
                    "Property '{}' is read-only and cannot be set.",
                    prop.name
                )));
            }
            values[index] = Some(check_value(kind, prop, value, mode)?);
            continue;
        }
        if accepts_extensions(kind) && is_extension_name(key) {
            seen_extensions.push((key.clone(), check_extension(key, value)?));
            continue;
        }
        return Err(unknown_property(key));
    }
    for (prop, value) in properties(kind).iter().zip(values) {
        if let Some(value) = value {
            if mode == Mode::Create && value.is_null() {
                continue;
            }
            out.data.insert(prop.name.to_string(), value);
        }
    }
    seen_extensions.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, value) in seen_extensions {
        if !(mode == Mode::Create && value.is_null()) {
            out.data.insert(name, value);
        }
    }
    if mode == Mode::Create {
        complete_new_object(kind, &mut out.data)?;
    } else {
        for required in required(kind) {
            if out.data.get(*required).is_some_and(Value::is_null) {
                return Err(DirectoryError::bad_request(format!(
                    "Property '{required}' is required and cannot be removed."
                )));
            }
        }
    }
    Ok(out)
}

fn unknown_property(key: &str) -> DirectoryError {
    DirectoryError::bad_request(format!(
        "Property '{key}' does not exist as a declared property or extension property."
    ))
}

fn required(kind: ObjectKind) -> &'static [&'static str] {
    match kind {
        ObjectKind::User => &["displayName", "userPrincipalName"],
        ObjectKind::Group => &["displayName"],
        ObjectKind::ServicePrincipal => &["displayName"],
    }
}

/// Requires what Graph requires and fills in what Graph would otherwise make the caller
/// send (`mailNickname` from the user principal name, `accountEnabled`, …).
fn complete_new_object(
    kind: ObjectKind,
    data: &mut Map<String, Value>,
) -> Result<(), DirectoryError> {
    for required in required(kind) {
        if !data.contains_key(*required) {
            return Err(DirectoryError::bad_request(format!(
                "Property '{required}' is required when creating the object."
            )));
        }
    }
    let mut defaults: Vec<(&str, Value)> = Vec::new();
    match kind {
        ObjectKind::User => {
            if !data.contains_key("mailNickname") {
                let upn = data
                    .get("userPrincipalName")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let local = upn.split('@').next().unwrap_or(upn);
                defaults.push(("mailNickname", Value::String(local.to_string())));
            }
            defaults.push(("accountEnabled", Value::Bool(true)));
            defaults.push(("userType", Value::String("Member".to_string())));
        }
        ObjectKind::Group => {
            if !data.contains_key("mailNickname") {
                let name = data
                    .get("displayName")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let nick: String = name
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_' || *c == '.')
                    .take(64)
                    .collect();
                defaults.push(("mailNickname", Value::String(nick)));
            }
            defaults.push(("securityEnabled", Value::Bool(true)));
            defaults.push(("mailEnabled", Value::Bool(false)));
            defaults.push(("groupTypes", Value::Array(Vec::new())));
        }
        ObjectKind::ServicePrincipal => {
            if !data.contains_key("appId") {
                defaults.push(("appId", Value::String(Uuid::new_v4().to_string())));
            }
            defaults.push(("accountEnabled", Value::Bool(true)));
            defaults.push(("appRoleAssignmentRequired", Value::Bool(true)));
            defaults.push(("appRoles", Value::Array(Vec::new())));
            defaults.push(("tags", Value::Array(Vec::new())));
        }
    }
    for (name, value) in defaults {
        if !data.contains_key(name) {
            data.insert(name.to_string(), value);
        }
    }
    *data = canonical_order(kind, std::mem::take(data));
    Ok(())
}

/// `current` with `changes` applied (a `null` removes the property), in canonical order;
/// `None` when nothing changes. PATCH and import updates both go through it.
pub fn apply_changes(
    kind: ObjectKind,
    current: &Map<String, Value>,
    changes: Map<String, Value>,
) -> Option<Map<String, Value>> {
    let mut data = current.clone();
    for (k, v) in changes {
        if v.is_null() {
            data.remove(&k);
        } else {
            data.insert(k, v);
        }
    }
    let data = canonical_order(kind, data);
    (data != *current).then_some(data)
}

/// `data` with its declared properties in table order, then extensions by name.
pub fn canonical_order(kind: ObjectKind, mut data: Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::with_capacity(data.len());
    for prop in properties(kind) {
        if let Some(v) = data.remove(prop.name) {
            out.insert(prop.name.to_string(), v);
        }
    }
    let mut rest: Vec<(String, Value)> = data.into_iter().collect();
    rest.sort_by(|a, b| a.0.cmp(&b.0));
    out.extend(rest);
    out
}

fn invalid_value(kind: ObjectKind, name: &str) -> DirectoryError {
    DirectoryError::bad_request(format!(
        "Invalid value specified for property '{name}' of resource '{}'.",
        kind.display_name()
    ))
}

fn check_value(
    kind: ObjectKind,
    prop: &Property,
    value: &Value,
    mode: Mode,
) -> Result<Value, DirectoryError> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    let bad = || invalid_value(kind, prop.name);
    let checked = match prop.ty {
        PropertyType::String => {
            let s = value.as_str().ok_or_else(bad)?;
            check_string(kind, prop, s)?;
            Value::String(s.to_string())
        }
        PropertyType::Boolean => Value::Bool(value.as_bool().ok_or_else(bad)?),
        PropertyType::DateTime => {
            Value::String(normalize_datetime(value.as_str().ok_or_else(bad)?).ok_or_else(bad)?)
        }
        PropertyType::Guid => Value::String(parse_guid(prop, value)?.to_string()),
        PropertyType::StringCollection => {
            let items = value.as_array().ok_or_else(bad)?;
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                let s = item.as_str().ok_or_else(bad)?;
                check_string(kind, prop, s)?;
                out.push(Value::String(s.to_string()));
            }
            Value::Array(out)
        }
        PropertyType::AppRoles => check_app_roles(value)?,
    };
    let _ = mode;
    Ok(checked)
}

fn check_string(kind: ObjectKind, prop: &Property, s: &str) -> Result<(), DirectoryError> {
    if s.chars().count() > prop.max_len {
        return Err(DirectoryError::bad_request(format!(
            "Invalid value specified for property '{}' of resource '{}': longer than {} characters.",
            prop.name,
            kind.display_name(),
            prop.max_len
        )));
    }
    if prop.name == "userPrincipalName" && !valid_user_principal_name(s) {
        return Err(DirectoryError::bad_request(format!(
            "Property userPrincipalName is invalid: '{s}' is not of the form alias@domain."
        )));
    }
    Ok(())
}

/// `alias@domain`: one `@`, both sides non-empty, no whitespace, a dot in the domain.
pub fn valid_user_principal_name(s: &str) -> bool {
    let Some((alias, domain)) = s.split_once('@') else {
        return false;
    };
    !alias.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !s.chars().any(char::is_whitespace)
}

fn parse_guid(prop: &Property, value: &Value) -> Result<Uuid, DirectoryError> {
    value
        .as_str()
        .and_then(|s| Uuid::try_parse(s).ok())
        .ok_or_else(|| {
            DirectoryError::bad_request(format!(
                "Invalid value specified for property '{}': expected a GUID.",
                prop.name
            ))
        })
}

/// RFC 3339 date-times (any offset) and plain dates, as UTC `YYYY-MM-DDTHH:MM:SSZ`.
pub fn normalize_datetime(s: &str) -> Option<String> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(t) = time::OffsetDateTime::parse(s, &Rfc3339) {
        return Some(super::timestamp(t));
    }
    let date_only = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s, date_only)
        .ok()
        .map(|d| super::timestamp(d.midnight().assume_utc()))
}

fn check_extension(key: &str, value: &Value) -> Result<Value, DirectoryError> {
    let bad = || {
        DirectoryError::bad_request(format!(
            "Invalid value specified for extension property '{key}': expected a string, a number, a boolean or a list of strings."
        ))
    };
    match value {
        Value::Null | Value::Bool(_) => Ok(value.clone()),
        Value::String(s) if s.chars().count() <= 256 => Ok(value.clone()),
        Value::Number(n) if n.is_i64() => Ok(value.clone()),
        Value::Array(items)
            if items
                .iter()
                .all(|i| i.as_str().is_some_and(|s| s.chars().count() <= 256)) =>
        {
            Ok(value.clone())
        }
        _ => Err(bad()),
    }
}

/// `appRoles`: each with `id` (generated when missing), `allowedMemberTypes`, `displayName`,
/// `description`, `value`, `isEnabled`.
fn check_app_roles(value: &Value) -> Result<Value, DirectoryError> {
    let bad = |why: &str| {
        DirectoryError::bad_request(format!(
            "Invalid value specified for property 'appRoles': {why}."
        ))
    };
    let roles = value.as_array().ok_or_else(|| bad("expected an array"))?;
    let mut out = Vec::with_capacity(roles.len());
    let mut ids = Vec::with_capacity(roles.len());
    for role in roles {
        let role = role
            .as_object()
            .ok_or_else(|| bad("each role must be an object"))?;
        let mut r = Map::new();
        let id = match role.get("id") {
            None | Some(Value::Null) => Uuid::new_v4(),
            Some(v) => v
                .as_str()
                .and_then(|s| Uuid::try_parse(s).ok())
                .ok_or_else(|| bad("a role id must be a GUID"))?,
        };
        if ids.contains(&id) || id == super::DEFAULT_ACCESS_ROLE {
            return Err(bad(&format!("role id {id} is used twice or is reserved")));
        }
        ids.push(id);
        let types = match role.get("allowedMemberTypes") {
            None | Some(Value::Null) => vec![Value::String("User".to_string())],
            Some(Value::Array(t))
                if t.iter()
                    .all(|x| matches!(x.as_str(), Some("User" | "Application"))) =>
            {
                t.clone()
            }
            _ => {
                return Err(bad(
                    "allowedMemberTypes must list \"User\" and/or \"Application\"",
                ))
            }
        };
        r.insert("allowedMemberTypes".to_string(), Value::Array(types));
        for text in ["description", "displayName", "value"] {
            match role.get(text) {
                None | Some(Value::Null) => {
                    r.insert(text.to_string(), Value::Null);
                }
                Some(Value::String(s)) => {
                    r.insert(text.to_string(), Value::String(s.clone()));
                }
                Some(_) => return Err(bad(&format!("{text} must be a string"))),
            }
        }
        r.insert("id".to_string(), Value::String(id.to_string()));
        let enabled = match role.get("isEnabled") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(bad("isEnabled must be a boolean")),
        };
        r.insert("isEnabled".to_string(), Value::Bool(enabled));
        if let Some(extra) = role.keys().find(|k| {
            ![
                "id",
                "allowedMemberTypes",
                "description",
                "displayName",
                "value",
                "isEnabled",
                "origin",
            ]
            .contains(&k.as_str())
        }) {
            return Err(bad(&format!("unknown role property '{extra}'")));
        }
        out.push(Value::Object(r));
    }
    Ok(Value::Array(out))
}

/// The id a `@odata.bind` or `$ref` URL names: its last path segment, a GUID.
/// Accepts `https://graph.microsoft.com/v1.0/directoryObjects/{id}`, `…/users/{id}`, a path,
/// or a bare id.
pub fn id_from_reference(url: &str) -> Option<Uuid> {
    let trimmed = url.trim().trim_end_matches('/');
    let last = trimmed.rsplit('/').next().unwrap_or(trimmed);
    // `directoryObjects('id')` is OData's key syntax.
    let last = last
        .rsplit_once('(')
        .map(|(_, k)| k.trim_end_matches(')').trim_matches('\''))
        .unwrap_or(last);
    Uuid::try_parse(last).ok()
}

fn validate_annotation(
    kind: ObjectKind,
    nav: &str,
    annotation: &str,
    value: &Value,
    mode: Mode,
    out: &mut Validated,
) -> Result<(), DirectoryError> {
    if nav.is_empty() && annotation.eq_ignore_ascii_case("odata.type") {
        let expected = kind.odata_type();
        return match value.as_str() {
            Some(t)
                if t.eq_ignore_ascii_case(expected) || t.eq_ignore_ascii_case(&expected[1..]) =>
            {
                Ok(())
            }
            _ => Err(DirectoryError::bad_request(format!(
                "A type named '{}' could not be resolved by the model; expected '{expected}'.",
                value.as_str().unwrap_or("?")
            ))),
        };
    }
    if nav.is_empty() && annotation.starts_with("odata.") {
        // `@odata.context`, `@odata.etag` of an object read back: ignored, as Graph does.
        return Ok(());
    }
    if !annotation.eq_ignore_ascii_case("odata.bind") {
        return Err(unknown_property(&format!("{nav}@{annotation}")));
    }
    let bad_ref = |url: &str| {
        DirectoryError::bad_request(format!(
            "Invalid object identifier '{url}' in '{nav}@odata.bind'."
        ))
    };
    match (kind, nav) {
        (ObjectKind::User, n) if n.eq_ignore_ascii_case("manager") => {
            let url = value.as_str().ok_or_else(|| bad_ref("?"))?;
            out.manager = Some(id_from_reference(url).ok_or_else(|| bad_ref(url))?);
            Ok(())
        }
        (ObjectKind::Group, n) if n.eq_ignore_ascii_case("members") => {
            if mode == Mode::Update && !value.is_array() {
                return Err(bad_ref("?"));
            }
            let urls = value.as_array().ok_or_else(|| bad_ref("?"))?;
            for url in urls {
                let url = url.as_str().ok_or_else(|| bad_ref("?"))?;
                out.members
                    .push(id_from_reference(url).ok_or_else(|| bad_ref(url))?);
            }
            Ok(())
        }
        _ => Err(unknown_property(&format!("{nav}@odata.bind"))),
    }
}

/// The value of a property for matching and indexing: strings lower-cased, and display
/// names also folded by [`collation_key`].
pub fn index_key(data: &Map<String, Value>, name: &str) -> Option<String> {
    let value = data.get(name).and_then(Value::as_str)?;
    Some(if name == "displayName" {
        collation_key(value)
    } else {
        value.to_lowercase()
    })
}

/// The key display names sort and seek by: lower-cased, accents removed (`Émile` →
/// `emile`), so that `$orderby=displayName` puts `Émile` among the E's as a reader expects
/// rather than after `z` as byte order would. Lists re-check filters on the real value, so
/// a folded seek never returns a wrong match.
pub fn collation_key(value: &str) -> String {
    use unicode_normalization::char::is_combining_mark;
    use unicode_normalization::UnicodeNormalization;
    if value.is_ascii() {
        return value.to_ascii_lowercase();
    }
    value
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn create(kind: ObjectKind, body: Value) -> Result<Validated, String> {
        let Value::Object(map) = body else {
            panic!("not an object")
        };
        validate(kind, &map, Mode::Create, ValidateOptions::default()).map_err(|e| e.message)
    }

    #[test]
    fn extension_names() {
        for (name, ok) in [
            (
                "extension_8f2c6c1e0f2a4f8b9c1d2e3f4a5b6c7d_costCenter",
                true,
            ),
            (
                "extension_8F2C6C1E0F2A4F8B9C1D2E3F4A5B6C7D_cost_center2",
                true,
            ),
            (
                "extension_8f2c6c1e0f2a4f8b9c1d2e3f4a5b6c7_costCenter",
                false,
            ),
            ("extension_8f2c6c1e0f2a4f8b9c1d2e3f4a5b6c7d_", false),
            (
                "extension_8f2c6c1e0f2a4f8b9c1d2e3f4a5b6c7dcostCenter",
                false,
            ),
            ("extension_zz2c6c1e0f2a4f8b9c1d2e3f4a5b6c7d_x", false),
            (
                "extension_8f2c6c1e0f2a4f8b9c1d2e3f4a5b6c7d_cost-center",
                false,
            ),
            ("extension_é", false),
        ] {
            assert_eq!(is_extension_name(name), ok, "{name}");
        }
    }

    #[test]
    fn user_bodies() {
        let ok = create(
            ObjectKind::User,
            json!({"DisplayName": "Zoë", "userPrincipalName": "zoe@contoso.com",
                   "extension_8f2c6c1e0f2a4f8b9c1d2e3f4a5b6c7d_costCenter": "42",
                   "employeeHireDate": "2024-03-01T09:00:00+01:00",
                   "passwordProfile": {"password": "x"}}),
        )
        .unwrap();
        assert_eq!(
            Value::Object(ok.data),
            json!({"userPrincipalName": "zoe@contoso.com", "mailNickname": "zoe",
                   "displayName": "Zoë", "employeeHireDate": "2024-03-01T08:00:00Z",
                   "accountEnabled": true, "userType": "Member",
                   "extension_8f2c6c1e0f2a4f8b9c1d2e3f4a5b6c7d_costCenter": "42"})
        );
        for (body, message) in [
            (json!({"displayName": "a"}), "Property 'userPrincipalName' is required when creating the object."),
            (json!({"displayName": "a", "userPrincipalName": "nodomain"}), "Property userPrincipalName is invalid: 'nodomain' is not of the form alias@domain."),
            (json!({"displayName": "a", "userPrincipalName": "a@b.c", "shoeSize": 4}), "Property 'shoeSize' does not exist as a declared property or extension property."),
            (json!({"displayName": "a", "userPrincipalName": "a@b.c", "accountEnabled": "yes"}), "Invalid value specified for property 'accountEnabled' of resource 'User'."),
            (json!({"displayName": "a", "userPrincipalName": "a@b.c", "otherMails": "x"}), "Invalid value specified for property 'otherMails' of resource 'User'."),
            (json!({"displayName": "a", "userPrincipalName": "a@b.c", "employeeHireDate": "yesterday"}), "Invalid value specified for property 'employeeHireDate' of resource 'User'."),
            (json!({"displayName": "a", "userPrincipalName": "a@b.c", "createdDateTime": "2020-01-01T00:00:00Z"}), "Property 'createdDateTime' is read-only and cannot be set."),
            (json!({"displayName": "a", "userPrincipalName": "a@b.c", "id": "nope"}), "Invalid value specified for property 'id': expected a GUID."),
            (json!({"displayName": "a", "userPrincipalName": "a@b.c", "manager@odata.bind": "https://graph.microsoft.com/v1.0/users/bob"}), "Invalid object identifier 'https://graph.microsoft.com/v1.0/users/bob' in 'manager@odata.bind'."),
            (json!({"displayName": "a", "userPrincipalName": "a@b.c", "usageLocation": "USA"}), "Invalid value specified for property 'usageLocation' of resource 'User': longer than 2 characters."),
        ] {
            assert_eq!(create(ObjectKind::User, body.clone()).unwrap_err(), message, "{body}");
        }
    }

    #[test]
    fn references() {
        let id = "0b1f6b5e-8a4e-4c4e-9c55-0e4f0a4e3b7e";
        for url in [
            id.to_string(),
            format!("https://graph.microsoft.com/v1.0/directoryObjects/{id}"),
            format!("https://graph.microsoft.com/v1.0/users/{id}/"),
            format!("/v1.0/directoryObjects('{id}')"),
        ] {
            assert_eq!(
                id_from_reference(&url).map(|u| u.to_string()),
                Some(id.to_string()),
                "{url}"
            );
        }
        assert_eq!(id_from_reference("https://x/users/me"), None);
    }
}
