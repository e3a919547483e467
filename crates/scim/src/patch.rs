//! PATCH (RFC 7644 §3.5.2): parsing a PatchOp message and applying its operations to a resource.
//!
//! Operations are applied in order to a copy of the resource; the result is normalised and
//! validated as a whole, so a failing operation leaves the stored resource untouched.
//! Everything Microsoft Entra's client sends is accepted: capitalised `op`, booleans as strings,
//! path-less values with dotted and URN keys, value-filter paths that must create the element
//! they name (`emails[type eq "work"].value`), and member removal with a value list.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use crate::error::{Result, ScimError};
use crate::filter::{AttributeTypes, CompValue, CompareOp, Filter};
use crate::path::{AttrPath, PatchPath};
use crate::resource::{self, find_key, is_empty, resolve_path, KeyTarget};
use crate::schema::{AttrType, AttributeDef, Mutability, ResourceType};

pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// The three PATCH operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Add,
    Remove,
    Replace,
}

/// One PATCH operation.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOperation {
    pub op: OpKind,
    pub path: Option<PatchPath>,
    pub value: Option<Value>,
}

/// Parses a PatchOp request body.
pub fn parse_patch_request(body: &Value) -> Result<Vec<PatchOperation>> {
    let obj = body
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("the PATCH body must be a JSON object"))?;
    if let Some(schemas) = obj.get("schemas") {
        let ok = schemas.as_array().is_some_and(|s| {
            s.iter().any(|x| {
                x.as_str()
                    .is_some_and(|u| u.eq_ignore_ascii_case(PATCH_OP_SCHEMA))
            })
        });
        if !ok {
            return Err(ScimError::invalid_syntax(format!(
                "\"schemas\" must contain \"{PATCH_OP_SCHEMA}\""
            )));
        }
    }
    let ops = find_key(obj, "Operations")
        .and_then(|k| obj.get(&k))
        .and_then(Value::as_array)
        .ok_or_else(|| ScimError::invalid_syntax("\"Operations\" must be a list of operations"))?;
    if ops.is_empty() {
        return Err(ScimError::invalid_syntax("\"Operations\" is empty"));
    }
    ops.iter()
        .enumerate()
        .map(|(i, op)| parse_operation(op).map_err(|e| prefix(e, i)))
        .collect()
}

fn prefix(mut e: ScimError, index: usize) -> ScimError {
    e.detail = format!("operation {}: {}", index + 1, e.detail);
    e
}

fn parse_operation(v: &Value) -> Result<PatchOperation> {
    let obj = v
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("an operation must be an object"))?;
    let field = |name: &str| find_key(obj, name).and_then(|k| obj.get(&k));
    let op = match field("op")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("add") => OpKind::Add,
        Some("remove") => OpKind::Remove,
        Some("replace") => OpKind::Replace,
        Some(other) => {
            return Err(ScimError::invalid_syntax(format!(
                "unknown op \"{other}\"; expected add, remove or replace"
            )))
        }
        None => return Err(ScimError::invalid_syntax("\"op\" is missing")),
    };
    let path = match field("path") {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) if p.trim().is_empty() => None,
        Some(Value::String(p)) => Some(
            PatchPath::parse(p)
                .map_err(|e| ScimError::invalid_path(format!("path \"{p}\": {e}")))?,
        ),
        Some(_) => return Err(ScimError::invalid_path("\"path\" must be a string")),
    };
    let value = field("value").cloned();
    match (op, &path, &value) {
        (OpKind::Remove, None, _) => Err(ScimError::no_target("remove needs a \"path\"")),
        (OpKind::Add | OpKind::Replace, _, None) => {
            Err(ScimError::invalid_value("add and replace need a \"value\""))
        }
        (OpKind::Add | OpKind::Replace, None, Some(v)) if !v.is_object() => {
            Err(ScimError::invalid_value(
                "without a \"path\", \"value\" must be an object of attributes",
            ))
        }
        _ => Ok(PatchOperation { op, path, value }),
    }
}

/// Applies `ops` to `resource` (canonical stored form) and returns the normalised result.
pub fn apply_patch(
    rt: &ResourceType,
    resource: &Map<String, Value>,
    ops: &[PatchOperation],
    types: &dyn AttributeTypes,
) -> Result<Map<String, Value>> {
    let mut work = resource.clone();
    for (i, op) in ops.iter().enumerate() {
        apply_one(rt, &mut work, op, types).map_err(|e| prefix(e, i))?;
    }
    let normalized = resource::normalize(rt, &Value::Object(work))?;
    resource::check_immutable(rt, resource, &normalized)?;
    Ok(normalized)
}

fn apply_one(
    rt: &ResourceType,
    work: &mut Map<String, Value>,
    op: &PatchOperation,
    types: &dyn AttributeTypes,
) -> Result<()> {
    match &op.path {
        None => {
            let Some(Value::Object(values)) = &op.value else {
                return Err(ScimError::invalid_value("\"value\" must be an object"));
            };
            for (key, value) in values {
                if key.eq_ignore_ascii_case("schemas") {
                    continue;
                }
                if rt.extension(key).is_some() {
                    let path = split_extension_key(key);
                    apply_at(rt, work, op.op, &path, None, None, Some(value), types)?;
                    continue;
                }
                let path = AttrPath::parse(key)
                    .map_err(|e| ScimError::invalid_path(format!("attribute \"{key}\": {e}")))?;
                apply_at(rt, work, op.op, &path, None, None, Some(value), types)?;
            }
            Ok(())
        }
        Some(p) => apply_at(
            rt,
            work,
            op.op,
            &p.attr,
            p.filter.as_ref(),
            p.sub_after_filter.as_deref(),
            op.value.as_ref(),
            types,
        ),
    }
}

fn split_extension_key(key: &str) -> AttrPath {
    match key.rsplit_once(':') {
        Some((urn, name)) => AttrPath {
            urn: Some(urn.to_string()),
            name: name.to_string(),
            sub: None,
        },
        None => AttrPath {
            urn: None,
            name: key.to_string(),
            sub: None,
        },
    }
}

/// The object that holds the attribute (the resource, or an extension's object) and its key.
fn container<'a>(
    work: &'a mut Map<String, Value>,
    ext_id: Option<&str>,
    create: bool,
) -> Option<&'a mut Map<String, Value>> {
    match ext_id {
        None => Some(work),
        Some(id) => {
            let key = find_key(work, id).unwrap_or_else(|| id.to_string());
            if !work.contains_key(&key) {
                if !create {
                    return None;
                }
                work.insert(key.clone(), Value::Object(Map::new()));
            }
            match work.get_mut(&key) {
                Some(Value::Object(m)) => Some(m),
                Some(other) if create => {
                    *other = Value::Object(Map::new());
                    other.as_object_mut()
                }
                _ => None,
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn apply_at(
    rt: &ResourceType,
    work: &mut Map<String, Value>,
    op: OpKind,
    path: &AttrPath,
    filter: Option<&Filter>,
    sub_after_filter: Option<&str>,
    value: Option<&Value>,
    types: &dyn AttributeTypes,
) -> Result<()> {
    let target = resolve_path(rt, path).ok_or_else(|| {
        ScimError::invalid_path(format!("\"{path}\" is not an attribute of {}", rt.name))
    })?;
    let (ext_id, attr, sub) = match target {
        KeyTarget::Schemas => return Err(ScimError::mutability("\"schemas\" cannot be patched")),
        KeyTarget::Extension(ext) => {
            if filter.is_some() {
                return Err(ScimError::invalid_path("an extension is not multi-valued"));
            }
            return apply_whole_extension(work, op, &ext.id, value);
        }
        KeyTarget::Core(a) => (None, a, None),
        KeyTarget::CoreSub(a, s) => (None, a, Some(s)),
        KeyTarget::ExtensionAttribute(e, a, s) => (Some(e.id.as_str()), a, s),
    };
    if attr.mutability == Mutability::ReadOnly {
        return Err(ScimError::mutability(format!(
            "\"{}\" is read-only",
            attr.name
        )));
    }
    if let Some(s) = sub {
        if s.mutability == Mutability::ReadOnly {
            return Err(ScimError::mutability(format!(
                "\"{}.{}\" is read-only",
                attr.name, s.name
            )));
        }
    }
    if op == OpKind::Remove && attr.required && sub.is_none() && filter.is_none() {
        return Err(ScimError::mutability(format!(
            "\"{}\" is required and cannot be removed",
            attr.name
        )));
    }
    let sub_name: Option<&AttributeDef> = match (sub, sub_after_filter) {
        (Some(_), Some(_)) => {
            return Err(ScimError::invalid_path("two sub-attributes in one path"))
        }
        (Some(s), None) => Some(s),
        (None, Some(name)) => Some(attr.sub_attribute(name).ok_or_else(|| {
            ScimError::invalid_path(format!("\"{}\" has no sub-attribute \"{name}\"", attr.name))
        })?),
        (None, None) => None,
    };
    let Some(holder) = container(work, ext_id, op != OpKind::Remove) else {
        return Ok(()); // removing from an extension the resource does not have
    };
    let key = find_key(holder, &attr.name).unwrap_or_else(|| attr.name.clone());
    if key != attr.name {
        // Canonicalise the key so that later operations and normalisation see one spelling.
        if let Some(v) = holder.remove(&key) {
            holder.insert(attr.name.clone(), v);
        }
    }
    let key = attr.name.clone();

    if let Some(filter) = filter {
        if !attr.multi_valued || attr.attr_type != AttrType::Complex {
            return Err(ScimError::invalid_path(format!(
                "a value filter needs a multi-valued complex attribute; \"{}\" is not",
                attr.name
            )));
        }
        return apply_filtered(holder, &key, attr, op, filter, sub_name, value, path, types);
    }

    match (op, sub_name) {
        (OpKind::Remove, None) => {
            match (value, holder.get_mut(&key)) {
                // Entra: {"op":"Remove","path":"members","value":[{"value":"id"}]}
                (Some(Value::Array(gone)), Some(Value::Array(items))) if attr.multi_valued => {
                    // Keyed values (a member's id) by set, so that removing m of n members
                    // costs n + m, not n × m; the rest item by item.
                    let keys: HashSet<ItemKey> = gone.iter().filter_map(item_key).collect();
                    let keyless: Vec<&Value> =
                        gone.iter().filter(|g| item_key(g).is_none()).collect();
                    items.retain(|item| {
                        let by_key = item_key(item).is_some_and(|k| keys.contains(&k));
                        !by_key && !keyless.iter().any(|g| same_item(item, g))
                    });
                }
                (Some(Value::Object(_)), Some(Value::Array(items))) if attr.multi_valued => {
                    if let Some(g) = value {
                        items.retain(|item| !same_item(item, g));
                    }
                }
                _ => {
                    holder.remove(&key);
                }
            }
        }
        (OpKind::Remove, Some(s)) => {
            match holder.get_mut(&key) {
                Some(Value::Object(o)) => {
                    o.remove(&s.name);
                }
                Some(Value::Array(items)) => {
                    for item in items.iter_mut() {
                        if let Value::Object(o) = item {
                            o.remove(&s.name);
                        }
                    }
                }
                _ => {}
            }
            drop_if_empty(holder, &key);
        }
        (_, Some(s)) => {
            let value = value.cloned().unwrap_or(Value::Null);
            match holder.get_mut(&key) {
                Some(Value::Array(items)) if !items.is_empty() => {
                    for item in items.iter_mut() {
                        set_sub(item, &s.name, value.clone());
                    }
                }
                Some(existing @ Value::Object(_)) => set_sub(existing, &s.name, value),
                _ => {
                    let mut m = Map::new();
                    m.insert(s.name.clone(), value);
                    let v = if attr.multi_valued {
                        Value::Array(vec![Value::Object(m)])
                    } else {
                        Value::Object(m)
                    };
                    holder.insert(key, v);
                }
            }
        }
        (OpKind::Add, None) => {
            let value = value.cloned().unwrap_or(Value::Null);
            if attr.multi_valued {
                let new_items = match value {
                    Value::Array(a) => a,
                    Value::Null => Vec::new(),
                    v => vec![v],
                };
                let items = holder
                    .entry(key.clone())
                    .or_insert_with(|| Value::Array(Vec::new()));
                if !items.is_array() {
                    *items = Value::Array(Vec::new());
                }
                if let Value::Array(items) = items {
                    add_items(items, new_items);
                }
            } else if attr.mutability == Mutability::Immutable && !is_empty(holder.get(&key)) {
                return Err(ScimError::mutability(format!(
                    "\"{}\" is immutable and already has a value",
                    attr.name
                )));
            } else {
                set_or_merge(holder, &key, attr, value);
            }
        }
        (OpKind::Replace, None) => {
            let value = value.cloned().unwrap_or(Value::Null);
            if attr.multi_valued {
                holder.insert(key, value);
            } else {
                set_or_merge(holder, &key, attr, value);
            }
        }
    }
    Ok(())
}

/// Sets a single-valued attribute; a complex one is merged (RFC 7644 §3.5.2.1 and §3.5.2.3:
/// sub-attributes not given are left unchanged).
fn set_or_merge(holder: &mut Map<String, Value>, key: &str, attr: &AttributeDef, value: Value) {
    let value = match value {
        Value::Array(mut a) if a.len() == 1 && attr.attr_type == AttrType::Complex => a.remove(0),
        v => v,
    };
    match (holder.get_mut(key), value) {
        (Some(Value::Object(existing)), Value::Object(new))
            if attr.attr_type == AttrType::Complex =>
        {
            for (k, v) in new {
                let k = find_key(existing, &k).unwrap_or(k);
                existing.insert(k, v);
            }
        }
        (_, value) => {
            holder.insert(key.to_string(), value);
        }
    }
}

fn set_sub(item: &mut Value, sub: &str, value: Value) {
    if let Value::Object(o) = item {
        let k = find_key(o, sub).unwrap_or_else(|| sub.to_string());
        o.insert(k, value);
    }
}

fn drop_if_empty(holder: &mut Map<String, Value>, key: &str) {
    let empty = match holder.get(key) {
        Some(Value::Object(o)) => o.is_empty(),
        Some(Value::Array(a)) => a.iter().all(|x| x.as_object().is_some_and(Map::is_empty)),
        _ => false,
    };
    if empty {
        holder.remove(key);
    }
}

/// What identifies an item with a scalar `value` (or a scalar item): items with equal keys
/// are the same item for [`same_item`]. Items without one compare item by item.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum ItemKey {
    Text(String),
    Number(String),
    Bool(bool),
}

fn item_key(item: &Value) -> Option<ItemKey> {
    let scalar = match item {
        Value::Object(map) => find_key(map, "value").and_then(|k| map.get(&k))?,
        other => other,
    };
    match scalar {
        Value::String(text) => Some(ItemKey::Text(text.clone())),
        Value::Number(number) => Some(ItemKey::Number(number.to_string())),
        Value::Bool(flag) => Some(ItemKey::Bool(*flag)),
        _ => None,
    }
}

/// Appends values to a multi-valued attribute, skipping ones already there (members by `value`).
/// Items with a scalar `value` are found through a map, so that adding m members to a group
/// of n costs n + m, not n × m.
fn add_items(items: &mut Vec<Value>, new_items: Vec<Value>) {
    let mut positions: HashMap<ItemKey, usize> = HashMap::new();
    for (pos, item) in items.iter().enumerate() {
        if let Some(key) = item_key(item) {
            positions.entry(key).or_insert(pos);
        }
    }
    for new in new_items {
        if new.is_null() {
            continue;
        }
        let key = item_key(&new);
        let found = match &key {
            Some(key) => positions.get(key).copied(),
            None => items.iter().position(|x| same_item(x, &new)),
        };
        if let Some(pos) = found {
            // Same member/value again: merge sub-attributes rather than duplicate it.
            if let (Value::Object(old), Value::Object(n)) = (&mut items[pos], &new) {
                for (k, v) in n {
                    if !v.is_null() {
                        old.insert(k.clone(), v.clone());
                    }
                }
            }
            continue;
        }
        // A new primary value takes primary away from the others (RFC 7643 §2.4).
        if new.get("primary").is_some_and(is_true) {
            for item in items.iter_mut() {
                if let Value::Object(o) = item {
                    if o.get("primary").is_some_and(is_true) {
                        o.insert("primary".into(), Value::Bool(false));
                    }
                }
            }
        }
        if let Some(key) = key {
            positions.entry(key).or_insert(items.len());
        }
        items.push(new);
    }
}

fn is_true(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::String(s) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// Two values of a multi-valued attribute are the same item when their `value`s are equal
/// (for complex values with a `value`), or when they are equal as a whole.
fn same_item(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let xv = find_key(x, "value").and_then(|k| x.get(&k));
            let yv = find_key(y, "value").and_then(|k| y.get(&k));
            match (xv, yv) {
                (Some(xv), Some(yv)) if !xv.is_null() && !yv.is_null() => xv == yv,
                _ => a == b,
            }
        }
        (Value::Object(x), v) | (v, Value::Object(x)) => {
            find_key(x, "value").and_then(|k| x.get(&k)) == Some(v)
        }
        _ => a == b,
    }
}

#[allow(clippy::too_many_arguments)]
fn apply_filtered(
    holder: &mut Map<String, Value>,
    key: &str,
    attr: &AttributeDef,
    op: OpKind,
    filter: &Filter,
    sub: Option<&AttributeDef>,
    value: Option<&Value>,
    path: &AttrPath,
    types: &dyn AttributeTypes,
) -> Result<()> {
    let parent = AttrPath {
        urn: path.urn.clone(),
        name: attr.name.clone(),
        sub: None,
    };
    let items = match holder.get_mut(key) {
        Some(Value::Array(items)) => items,
        Some(other @ Value::Object(_)) => {
            let single = other.take();
            *other = Value::Array(vec![single]);
            match other {
                Value::Array(items) => items,
                _ => return Ok(()),
            }
        }
        _ => {
            if op == OpKind::Remove {
                return Ok(());
            }
            holder.insert(key.to_string(), Value::Array(Vec::new()));
            match holder.get_mut(key) {
                Some(Value::Array(items)) => items,
                _ => return Ok(()),
            }
        }
    };
    let matching: Vec<usize> = items
        .iter()
        .enumerate()
        .filter(|(_, item)| crate::filter::element_matches(filter, item, &parent, types))
        .map(|(i, _)| i)
        .collect();
    match op {
        OpKind::Remove => {
            let mut idx = 0;
            match sub {
                None => items.retain(|_| {
                    let keep = !matching.contains(&idx);
                    idx += 1;
                    keep
                }),
                Some(s) => {
                    for &i in &matching {
                        if let Some(Value::Object(o)) = items.get_mut(i) {
                            o.remove(&s.name);
                        }
                    }
                    items.retain(|x| !x.as_object().is_some_and(Map::is_empty));
                }
            }
            if items.is_empty() {
                holder.remove(key);
            }
            Ok(())
        }
        OpKind::Add | OpKind::Replace => {
            let value = value.cloned().unwrap_or(Value::Null);
            if matching.is_empty() {
                // Entra writes `emails[type eq "work"].value` expecting the element to be made.
                let Some(mut element) = element_from_filter(filter) else {
                    return Err(ScimError::no_target(format!(
                        "no value of \"{}\" matches the filter, and it does not say how to make one",
                        attr.name
                    )));
                };
                match (sub, value) {
                    (Some(s), v) => {
                        element.insert(s.name.clone(), v);
                    }
                    (None, Value::Object(o)) => element.extend(o),
                    (None, _) => return Err(ScimError::invalid_value(
                        "the value for a filtered path without a sub-attribute must be an object",
                    )),
                }
                items.push(Value::Object(element));
                return Ok(());
            }
            for &i in &matching {
                let Some(item) = items.get_mut(i) else {
                    continue;
                };
                match (sub, &value, op) {
                    (Some(s), v, _) => set_sub(item, &s.name, v.clone()),
                    (None, Value::Object(o), OpKind::Add) => {
                        if let Value::Object(existing) = item {
                            existing.extend(o.clone());
                        }
                    }
                    (None, Value::Object(o), _) => {
                        *item = Value::Object(o.clone());
                    }
                    (None, _, _) => return Err(ScimError::invalid_value(
                        "the value for a filtered path without a sub-attribute must be an object",
                    )),
                }
            }
            Ok(())
        }
    }
}

/// The element a conjunction of `eq` comparisons describes (`type eq "work" and primary eq true`).
fn element_from_filter(filter: &Filter) -> Option<Map<String, Value>> {
    let mut out = Map::new();
    fn walk(f: &Filter, out: &mut Map<String, Value>) -> bool {
        match f {
            Filter::And(a, b) => walk(a, out) && walk(b, out),
            Filter::Compare {
                path,
                op: CompareOp::Eq,
                value,
            } if path.sub.is_none() && path.urn.is_none() => {
                let v = match value {
                    CompValue::Str(s) => Value::String(s.clone()),
                    CompValue::Num(n) => Value::Number(n.clone()),
                    CompValue::Bool(b) => Value::Bool(*b),
                    CompValue::Null => return false,
                };
                out.insert(path.name.clone(), v);
                true
            }
            _ => false,
        }
    }
    if walk(filter, &mut out) {
        Some(out)
    } else {
        None
    }
}

fn apply_whole_extension(
    work: &mut Map<String, Value>,
    op: OpKind,
    ext_id: &str,
    value: Option<&Value>,
) -> Result<()> {
    let key = find_key(work, ext_id).unwrap_or_else(|| ext_id.to_string());
    match op {
        OpKind::Remove => {
            work.remove(&key);
        }
        OpKind::Add | OpKind::Replace => {
            let Some(Value::Object(values)) = value else {
                return Err(ScimError::invalid_value(format!(
                    "the value for \"{ext_id}\" must be an object of its attributes"
                )));
            };
            let slot = work.entry(key).or_insert_with(|| Value::Object(Map::new()));
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            if let Value::Object(existing) = slot {
                for (k, v) in values {
                    let k2 = find_key(existing, k).unwrap_or_else(|| k.clone());
                    match (existing.get_mut(&k2), v) {
                        (Some(Value::Object(old)), Value::Object(new)) => old.extend(new.clone()),
                        _ => {
                            existing.insert(k2, v.clone());
                        }
                    }
                }
            }
        }
    }
    Ok(())
}
