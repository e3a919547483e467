//! Lists without a filter, rendered straight from the stored JSON text: each object's
//! properties are borrowed from it as raw JSON slices and copied into the response, never
//! built into JSON values. Listing the whole directory page by page (what a full
//! provisioning cycle and `users/delta` clients do) is the hot path this serves.

use std::collections::HashMap;

use provisio_directory::schema;
use provisio_directory::{Cursor, OrderKey, RawObject};
use provisio_odata::Select;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// Appends `s` as a JSON string.
fn push_str(out: &mut String, s: &str) {
    // Serialising a &str cannot fail.
    out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "null".to_string()));
}

fn push_field(out: &mut String, first: &mut bool, name: &str, value: &str) {
    if !*first {
        out.push(',');
    }
    *first = false;
    push_str(out, name);
    out.push(':');
    out.push_str(value);
}

/// Appends the object as Graph returns it (as `query::render` would), or returns false when
/// its stored text cannot be borrowed (the caller then renders it the slow way).
pub fn write_object(out: &mut String, object: &RawObject, select: Option<&Select>) -> bool {
    let Ok(fields) = serde_json::from_str::<HashMap<&str, &RawValue>>(&object.data) else {
        return false;
    };
    let id = format!("\"{}\"", object.id);
    let created = serde_json::to_string(&object.created).unwrap_or_default();
    let deleted = object
        .deleted
        .as_ref()
        .and_then(|d| serde_json::to_string(d).ok());
    let special = |name: &str| -> Option<&str> {
        match name {
            "id" => Some(&id),
            "createdDateTime" => Some(&created),
            "deletedDateTime" => Some(deleted.as_deref().unwrap_or("null")),
            _ => None,
        }
    };

    let mut first = true;
    out.push('{');
    match select {
        Some(s) if s.is_all() => {
            push_field(out, &mut first, "id", &id);
            // In stored (canonical) order, which the borrowed map above does not keep.
            let Ok(ordered) = serde_json::from_str::<Map<String, Value>>(&object.data) else {
                return false;
            };
            for (k, v) in &ordered {
                push_field(out, &mut first, k, &v.to_string());
            }
            push_field(out, &mut first, "createdDateTime", &created);
            if let Some(d) = &deleted {
                push_field(out, &mut first, "deletedDateTime", d);
            }
        }
        Some(s) => {
            for name in s.properties() {
                let (key, value) = match special(name) {
                    Some(v) => (name, v),
                    None => find(&fields, name).unwrap_or((name, "null")),
                };
                push_field(out, &mut first, key, value);
            }
        }
        None => {
            for p in schema::properties(object.kind) {
                if p.default_select {
                    let value = match special(p.name) {
                        Some(v) => v,
                        None => find(&fields, p.name).map_or("null", |(_, v)| v),
                    };
                    push_field(out, &mut first, p.name, value);
                }
            }
            if let Some(d) = &deleted {
                push_field(out, &mut first, "deletedDateTime", d);
            }
        }
    }
    out.push('}');
    true
}

/// The stored property `name` (exact spelling first, then any case) and its raw value.
fn find<'a>(fields: &HashMap<&'a str, &'a RawValue>, name: &str) -> Option<(&'a str, &'a str)> {
    if let Some((k, v)) = fields.get_key_value(name) {
        return Some((*k, v.get()));
    }
    fields
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(k, v)| (*k, v.get()))
}

/// The keyset position of a raw object in a list ordered by `order`.
pub fn cursor(object: &RawObject, order: OrderKey) -> Cursor {
    let key = match order {
        OrderKey::Id => object.id.to_string(),
        OrderKey::DisplayName | OrderKey::UserPrincipalName => {
            let name = if order == OrderKey::DisplayName {
                "displayName"
            } else {
                "userPrincipalName"
            };
            let data: Map<String, Value> = serde_json::from_str(&object.data).unwrap_or_default();
            schema::index_key(&data, name).unwrap_or_default()
        }
    };
    Cursor { key, id: object.id }
}

/// The raw object parsed, for the slow path.
pub fn parse(object: &RawObject) -> Option<provisio_directory::StoredObject> {
    Some(provisio_directory::StoredObject {
        id: object.id,
        kind: object.kind,
        data: serde_json::from_str(&object.data).ok()?,
        manager: None,
        created: object.created.clone(),
        deleted: object.deleted.clone(),
        version: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use provisio_directory::ObjectKind;
    use serde_json::json;

    /// The raw renderer and `query::render` agree on every shape of `$select`.
    #[test]
    fn raw_rendering_matches_value_rendering() {
        let data = json!({"userPrincipalName": "a@b.c", "displayName": "Zoë \"Z\"", "department": "R&D",
                          "businessPhones": ["1", "2"], "accountEnabled": true,
                          "extension_8f2c6c1e0f2a4f8b9c1d2e3f4a5b6c7d_costCenter": "7"});
        let raw = RawObject {
            id: uuid::Uuid::nil(),
            kind: ObjectKind::User,
            data: data.to_string(),
            created: "2026-01-01T00:00:00Z".into(),
            deleted: None,
        };
        let stored = parse(&raw).expect("parses");
        for select in [
            None,
            Some("*"),
            Some("displayName"),
            Some("id,DISPLAYNAME,department,mobilePhone,createdDateTime"),
            Some("extension_8f2c6c1e0f2a4f8b9c1d2e3f4a5b6c7d_costCenter,businessPhones,accountEnabled"),
        ] {
            let select = select.map(|s| Select::parse(s).expect("select"));
            let mut out = String::new();
            assert!(write_object(&mut out, &raw, select.as_ref()));
            let fast: Value = serde_json::from_str(&out).expect("valid JSON");
            let slow = Value::Object(crate::directory::query::render(&stored, select.as_ref()));
            assert_eq!(fast.to_string(), slow.to_string(), "{select:?}");
        }
    }
}
