//! Resources as schema-driven JSON values: normalising what clients send (attribute names in any
//! letter case, booleans as strings, dotted and URN-qualified keys) into the canonical form that
//! is stored, validated against the resource type's schemas.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::error::{Result, ScimError};
use crate::path::AttrPath;
use crate::schema::{AttrType, AttributeDef, Mutability, ResourceType, Schema};

/// Where a top-level key of a resource points.
#[derive(Debug, Clone, Copy)]
pub enum KeyTarget<'a> {
    /// `schemas`.
    Schemas,
    /// An attribute of the core schema or a common attribute (`id`, `externalId`, `meta`).
    Core(&'a AttributeDef),
    /// A whole extension object (`"urn:…:enterprise:2.0:User": {…}`).
    Extension(&'a Schema),
    /// One attribute of an extension (`"urn:…:enterprise:2.0:User:employeeNumber"`), with a sub-attribute maybe.
    ExtensionAttribute(&'a Schema, &'a AttributeDef, Option<&'a AttributeDef>),
    /// A core attribute's sub-attribute given with a dot (`"name.givenName"`).
    CoreSub(&'a AttributeDef, &'a AttributeDef),
}

/// Resolves a key of a request body (or of a path-less PATCH value) against the resource type.
pub fn resolve_key<'a>(rt: &'a ResourceType, key: &str) -> Option<KeyTarget<'a>> {
    if key.eq_ignore_ascii_case("schemas") {
        return Some(KeyTarget::Schemas);
    }
    if let Some(ext) = rt.extension(key) {
        return Some(KeyTarget::Extension(ext));
    }
    if let Some(attr) = rt.core_attribute(key) {
        return Some(KeyTarget::Core(attr));
    }
    let path = AttrPath::parse(key).ok()?;
    resolve_path(rt, &path)
}

/// Resolves a parsed attribute path against the resource type.
pub fn resolve_path<'a>(rt: &'a ResourceType, path: &AttrPath) -> Option<KeyTarget<'a>> {
    match path.urn.as_deref() {
        Some(urn) if !rt.schema.id.eq_ignore_ascii_case(urn) => {
            // `urn:…:2.0:User` alone parses as urn `urn:…:2.0` + name `User`: the whole extension.
            let whole = format!("{urn}:{}", path.name);
            if path.sub.is_none() {
                if let Some(ext) = rt.extension(&whole) {
                    return Some(KeyTarget::Extension(ext));
                }
            }
            let ext = rt.extension(urn)?;
            let attr = ext.attribute(&path.name)?;
            let sub = match &path.sub {
                Some(s) => Some(attr.sub_attribute(s)?),
                None => None,
            };
            Some(KeyTarget::ExtensionAttribute(ext, attr, sub))
        }
        _ => {
            let Some(attr) = rt.core_attribute(&path.name) else {
                // Clients (Entra's old samples among them) name extension attributes such as
                // `manager` without their URN: accept that when exactly one extension has it.
                let mut found = rt
                    .extensions
                    .iter()
                    .filter_map(|(ext, _)| ext.attribute(&path.name).map(|a| (ext, a)));
                let (ext, attr) = found.next()?;
                if found.next().is_some() || path.urn.is_some() {
                    return None;
                }
                let sub = match &path.sub {
                    Some(s) => Some(attr.sub_attribute(s)?),
                    None => None,
                };
                return Some(KeyTarget::ExtensionAttribute(ext, attr, sub));
            };
            match &path.sub {
                Some(s) => Some(KeyTarget::CoreSub(attr, attr.sub_attribute(s)?)),
                None => Some(KeyTarget::Core(attr)),
            }
        }
    }
}

/// The key of `obj` equal to `name` in any letter case.
pub fn find_key(obj: &Map<String, Value>, name: &str) -> Option<String> {
    obj.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

/// Turns a request body into the canonical stored form: canonical attribute names, `schemas`
/// listing the core schema and each extension in use, read-only attributes dropped, values
/// checked against their types, required attributes present. Unknown attributes are ignored.
pub fn normalize(rt: &ResourceType, body: &Value) -> Result<Map<String, Value>> {
    let input = body
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("the request body must be a JSON object"))?;
    let schemas = find_key(input, "schemas")
        .and_then(|k| input.get(&k))
        .ok_or_else(|| {
            ScimError::invalid_syntax(format!(
                "\"schemas\" is required and must list \"{}\"",
                rt.schema.id
            ))
        })?;
    let lists_core = schemas.as_array().is_some_and(|s| {
        s.iter().any(|x| {
            x.as_str()
                .is_some_and(|u| u.eq_ignore_ascii_case(&rt.schema.id))
        })
    });
    if !lists_core {
        return Err(ScimError::invalid_syntax(format!(
            "\"schemas\" must list \"{}\"",
            rt.schema.id
        )));
    }
    let mut out = Map::new();
    let mut extensions: Vec<(&Schema, Map<String, Value>)> = Vec::new();
    for (key, value) in input {
        match resolve_key(rt, key) {
            None => {}
            Some(KeyTarget::Schemas) => check_schemas(value)?,
            Some(KeyTarget::Core(attr)) => {
                if attr.mutability == Mutability::ReadOnly {
                    continue;
                }
                if let Some(v) = normalize_attribute(attr, value)? {
                    merge_into(&mut out, &attr.name, v);
                }
            }
            Some(KeyTarget::CoreSub(attr, sub)) => {
                if attr.mutability == Mutability::ReadOnly || sub.mutability == Mutability::ReadOnly
                {
                    continue;
                }
                if let Some(v) = normalize_single(sub, value, &attr.name)? {
                    let mut m = Map::new();
                    m.insert(sub.name.clone(), v);
                    merge_into(&mut out, &attr.name, Value::Object(m));
                }
            }
            Some(KeyTarget::Extension(ext)) => {
                let slot = extension_slot(&mut extensions, ext);
                match value {
                    Value::Null => {}
                    Value::Object(obj) => {
                        for (k, v) in obj {
                            normalize_extension_member(ext, k, v, slot)?;
                        }
                    }
                    _ => {
                        return Err(ScimError::invalid_value(format!(
                            "\"{}\" must be an object of the extension's attributes",
                            ext.id
                        )))
                    }
                }
            }
            Some(KeyTarget::ExtensionAttribute(ext, attr, sub)) => {
                if attr.mutability == Mutability::ReadOnly {
                    continue;
                }
                let slot = extension_slot(&mut extensions, ext);
                let normalized = match sub {
                    None => normalize_attribute(attr, value)?,
                    Some(sub) => normalize_single(sub, value, &attr.name)?.map(|v| {
                        let mut m = Map::new();
                        m.insert(sub.name.clone(), v);
                        Value::Object(m)
                    }),
                };
                if let Some(v) = normalized {
                    merge_into(slot, &attr.name, v);
                }
            }
        }
    }
    let mut schemas = vec![Value::String(rt.schema.id.clone())];
    let mut result = Map::new();
    for (ext, _) in &extensions {
        schemas.push(Value::String(ext.id.clone()));
    }
    result.insert("schemas".into(), Value::Array(schemas));
    result.extend(out);
    for (ext, attrs) in extensions {
        if attrs.is_empty() {
            if let Some(Value::Array(s)) = result.get_mut("schemas") {
                s.retain(|x| x.as_str() != Some(ext.id.as_str()));
            }
        } else {
            result.insert(ext.id.clone(), Value::Object(attrs));
        }
    }
    check_required(rt, &result)?;
    Ok(result)
}

fn extension_slot<'a, 'b>(
    extensions: &'b mut Vec<(&'a Schema, Map<String, Value>)>,
    ext: &'a Schema,
) -> &'b mut Map<String, Value> {
    let idx = match extensions.iter().position(|(s, _)| s.id == ext.id) {
        Some(i) => i,
        None => {
            extensions.push((ext, Map::new()));
            extensions.len() - 1
        }
    };
    &mut extensions[idx].1
}

fn normalize_extension_member(
    ext: &Schema,
    key: &str,
    value: &Value,
    slot: &mut Map<String, Value>,
) -> Result<()> {
    let (name, sub) = match key.split_once('.') {
        Some((n, s)) => (n, Some(s)),
        None => (key, None),
    };
    let Some(attr) = ext.attribute(name) else {
        return Ok(());
    };
    if attr.mutability == Mutability::ReadOnly {
        return Ok(());
    }
    let normalized = match sub {
        None => normalize_attribute(attr, value)?,
        Some(s) => match attr.sub_attribute(s) {
            None => None,
            Some(sub) => normalize_single(sub, value, &attr.name)?.map(|v| {
                let mut m = Map::new();
                m.insert(sub.name.clone(), v);
                Value::Object(m)
            }),
        },
    };
    if let Some(v) = normalized {
        merge_into(slot, &attr.name, v);
    }
    Ok(())
}

/// Inserts `value` at `name`, merging objects so that `"name": {…}` and `"name.givenName"` combine.
fn merge_into(obj: &mut Map<String, Value>, name: &str, value: Value) {
    match (obj.get_mut(name), value) {
        (Some(Value::Object(existing)), Value::Object(new)) => existing.extend(new),
        (_, value) => {
            obj.insert(name.to_string(), value);
        }
    }
}

fn check_schemas(value: &Value) -> Result<()> {
    let list = value
        .as_array()
        .ok_or_else(|| ScimError::invalid_syntax("\"schemas\" must be an array of schema URIs"))?;
    // URIs of schemas this server does not know are ignored, not refused: Microsoft Entra
    // lists `http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group`.
    if list.iter().any(|s| !s.is_string()) {
        return Err(ScimError::invalid_syntax(
            "\"schemas\" must be an array of schema URIs",
        ));
    }
    Ok(())
}

fn check_required(rt: &ResourceType, resource: &Map<String, Value>) -> Result<()> {
    for attr in rt.schema.attributes.iter().filter(|a| a.required) {
        if is_empty(resource.get(&attr.name)) {
            return Err(ScimError::invalid_value(format!(
                "\"{}\" is required",
                attr.name
            )));
        }
    }
    for (ext, required) in &rt.extensions {
        let obj = resource.get(&ext.id).and_then(Value::as_object);
        if *required && obj.is_none() {
            return Err(ScimError::invalid_value(format!(
                "extension \"{}\" is required",
                ext.id
            )));
        }
        if let Some(obj) = obj {
            for attr in ext.attributes.iter().filter(|a| a.required) {
                if is_empty(obj.get(&attr.name)) {
                    return Err(ScimError::invalid_value(format!(
                        "\"{}:{}\" is required",
                        ext.id, attr.name
                    )));
                }
            }
        }
    }
    Ok(())
}

/// Whether a value counts as unassigned (RFC 7643 §2.5): absent, null, "", [] or {}.
pub fn is_empty(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::Object(o)) => o.is_empty(),
        Some(_) => false,
    }
}

/// Normalises one attribute's value; `None` means unassigned.
pub fn normalize_attribute(attr: &AttributeDef, value: &Value) -> Result<Option<Value>> {
    if !attr.multi_valued {
        let single = match value {
            // Entra sends single-valued complex attributes such as `manager` as a one-item list.
            Value::Array(items) if items.len() == 1 => &items[0],
            Value::Array(items) if items.is_empty() => return Ok(None),
            Value::Array(_) => {
                return Err(ScimError::invalid_value(format!(
                    "\"{}\" is single-valued but a list was given",
                    attr.name
                )))
            }
            v => v,
        };
        return normalize_single(attr, single, "");
    }
    let items: Vec<&Value> = match value {
        Value::Null => return Ok(None),
        Value::Array(items) => items.iter().collect(),
        v => vec![v],
    };
    let mut out: Vec<Value> = Vec::with_capacity(items.len());
    // Equal items are dropped; found through a hash of each (a group's 30,000 members
    // compared pairwise took seconds per request).
    let mut seen: HashMap<u64, Vec<usize>> = HashMap::with_capacity(items.len());
    for item in items {
        if let Some(v) = normalize_single(attr, item, "")? {
            let bucket = seen.entry(value_hash(&v)).or_default();
            if !bucket.iter().any(|&at| out[at] == v) {
                bucket.push(out.len());
                out.push(v);
            }
        }
    }
    if attr.attr_type == AttrType::Complex {
        let primaries = out
            .iter()
            .filter(|v| v.get("primary") == Some(&Value::Bool(true)))
            .count();
        if primaries > 1 {
            return Err(ScimError::invalid_value(format!(
                "at most one value of \"{}\" may be primary",
                attr.name
            )));
        }
    }
    Ok(if out.is_empty() {
        None
    } else {
        Some(Value::Array(out))
    })
}

/// Normalises one value of an attribute (one element of a multi-valued one).
/// `parent` names the enclosing attribute in messages.
pub fn normalize_single(attr: &AttributeDef, value: &Value, parent: &str) -> Result<Option<Value>> {
    let label = if parent.is_empty() {
        attr.name.clone()
    } else {
        format!("{parent}.{}", attr.name)
    };
    let wrong = |expected: &str| {
        ScimError::invalid_value(format!(
            "\"{label}\" must be {expected}, not {}",
            json_kind(value)
        ))
    };
    if value.is_null() {
        return Ok(None);
    }
    match attr.attr_type {
        AttrType::String | AttrType::Reference | AttrType::Binary | AttrType::DateTime => {
            match value {
                Value::String(s) => {
                    if attr.attr_type == AttrType::DateTime && !looks_like_datetime(s) {
                        return Err(ScimError::invalid_value(format!(
                            "\"{label}\" must be an xsd:dateTime such as 2026-01-31T12:00:00Z"
                        )));
                    }
                    Ok(Some(value.clone()))
                }
                _ => Err(wrong("a string")),
            }
        }
        AttrType::Boolean => match value {
            Value::Bool(_) => Ok(Some(value.clone())),
            // Microsoft Entra sends booleans as "True"/"False".
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Some(Value::Bool(true))),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Some(Value::Bool(false))),
            _ => Err(wrong("a boolean")),
        },
        AttrType::Integer => match value {
            Value::Number(n) if n.is_i64() || n.is_u64() => Ok(Some(value.clone())),
            Value::String(s) => s
                .trim()
                .parse::<i64>()
                .map(|n| Some(Value::from(n)))
                .map_err(|_| wrong("an integer")),
            _ => Err(wrong("an integer")),
        },
        AttrType::Decimal => match value {
            Value::Number(_) => Ok(Some(value.clone())),
            _ => Err(wrong("a number")),
        },
        AttrType::Complex => {
            let obj = match value {
                Value::Object(o) => o,
                // `"manager": "id"` is how some clients send a reference's value.
                Value::String(_) if attr.sub_attribute("value").is_some() => {
                    let mut m = Map::new();
                    m.insert("value".into(), value.clone());
                    return Ok(Some(Value::Object(m)));
                }
                _ => return Err(wrong("an object")),
            };
            let mut out = Map::new();
            for (k, v) in obj {
                let Some(sub) = attr.sub_attribute(k) else {
                    continue;
                };
                if sub.mutability == Mutability::ReadOnly {
                    continue;
                }
                if let Some(v) = normalize_single(sub, v, &label)? {
                    out.insert(sub.name.clone(), v);
                }
            }
            Ok(if out.is_empty() {
                None
            } else {
                Some(Value::Object(out))
            })
        }
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A loose xsd:dateTime check: `YYYY-MM-DDThh:mm:ss` followed by anything (fraction, zone).
fn looks_like_datetime(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| {
        r.into_iter()
            .all(|i| b.get(i).is_some_and(u8::is_ascii_digit))
    };
    b.len() >= 19
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && (b[10] == b'T' || b[10] == b't')
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
}

/// Refuses a change to an immutable attribute that already had a value (RFC 7643 §2.2).
pub fn check_immutable(
    rt: &ResourceType,
    old: &Map<String, Value>,
    new: &Map<String, Value>,
) -> Result<()> {
    let check = |attrs: &[AttributeDef],
                 old: Option<&Map<String, Value>>,
                 new: Option<&Map<String, Value>>| {
        for attr in attrs
            .iter()
            .filter(|a| a.mutability == Mutability::Immutable)
        {
            let before = old.and_then(|o| o.get(&attr.name));
            let after = new.and_then(|o| o.get(&attr.name));
            if !is_empty(before) && before != after {
                return Err(ScimError::mutability(format!(
                    "\"{}\" is immutable and already has a value",
                    attr.name
                )));
            }
        }
        Ok(())
    };
    check(&rt.schema.attributes, Some(old), Some(new))?;
    for (ext, _) in &rt.extensions {
        check(
            &ext.attributes,
            old.get(&ext.id).and_then(Value::as_object),
            new.get(&ext.id).and_then(Value::as_object),
        )?;
    }
    Ok(())
}

/// A hash of a JSON value that equal values share: object members are combined without
/// regard to their order, as `Value`'s equality ignores it.
fn value_hash(value: &Value) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    match value {
        Value::Null => 0u8.hash(&mut hasher),
        Value::Bool(flag) => (1u8, flag).hash(&mut hasher),
        Value::Number(number) => (2u8, number.to_string()).hash(&mut hasher),
        Value::String(text) => (3u8, text).hash(&mut hasher),
        Value::Array(items) => {
            4u8.hash(&mut hasher);
            for item in items {
                value_hash(item).hash(&mut hasher);
            }
        }
        Value::Object(map) => {
            let mut combined: u64 = 0;
            for (key, member) in map {
                let mut entry = std::collections::hash_map::DefaultHasher::new();
                key.hash(&mut entry);
                value_hash(member).hash(&mut entry);
                combined = combined.wrapping_add(entry.finish());
            }
            (5u8, combined).hash(&mut hasher);
        }
    }
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn equal_values_hash_alike_whatever_their_member_order() {
        let cases = [
            (
                json!({"value": "a", "type": "work"}),
                json!({"type": "work", "value": "a"}),
                true,
            ),
            (json!({"value": "a"}), json!({"value": "b"}), false),
            (json!([1, 2]), json!([2, 1]), false),
            (
                json!({"a": {"b": 1, "c": [true]}}),
                json!({"a": {"c": [true], "b": 1}}),
                true,
            ),
            (json!("1"), json!(1), false),
        ];
        for (a, b, equal) in cases {
            assert_eq!(a == b, equal, "{a} {b}");
            if equal {
                assert_eq!(value_hash(&a), value_hash(&b), "{a} {b}");
            }
        }
    }
}
