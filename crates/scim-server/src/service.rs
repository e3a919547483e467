//! The operations behind the endpoints, shared by the single-resource handlers and `/Bulk`:
//! create, replace, patch, delete, and rendering a stored resource for a response.

use std::collections::HashSet;

use provisio_scim::error::ScimError;
use provisio_scim::filter::{CompValue, CompareOp, Filter};
use provisio_scim::patch::{apply_patch, parse_patch_request, OpKind, PatchOperation};
use provisio_scim::path::{AttrPath, PatchPath};
use provisio_scim::projection::Projection;
use provisio_scim::resource::{check_immutable, normalize, normalize_single};
use provisio_scim::schema::{AttributeDef, ResourceType};
use serde_json::{json, Map, Value};

use crate::http::{etag, ApiError, ApiResult, Ctx, IfMatch};
use crate::store::{MemberChange, ReadOptions, ResourceKind, StoredResource, UpdateFn};
use crate::AppState;

pub fn endpoint(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::User => "Users",
        ResourceKind::Group => "Groups",
    }
}

/// The URI of a resource. The id is one path segment, percent-encoded: ids are the
/// server's own UUIDs, but a member `value` is whatever the client wrote.
pub fn location(ctx: &Ctx, kind: ResourceKind, id: &str) -> String {
    format!("{}/{}/{}", ctx.base_url, endpoint(kind), encode_segment(id))
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// What a write reads first and returns: a group's members (PATCH works on them, and the
/// response shows them) and a user's groups (a user write does not change them, so the
/// store carries them into the result; a new user's are looked up as it is created).
pub fn write_read_options() -> ReadOptions {
    ReadOptions::ALL
}

fn expected_version(m: IfMatch) -> ApiResult<Option<i64>> {
    match m {
        IfMatch::Absent | IfMatch::Any => Ok(None),
        IfMatch::Version(v) => Ok(Some(v)),
        IfMatch::Never => Err(ApiError(ScimError::new(
            412,
            None,
            "If-Match names no version of this resource",
        ))),
    }
}

pub async fn create(
    state: &AppState,
    ctx: &Ctx,
    kind: ResourceKind,
    body: &Value,
) -> ApiResult<StoredResource> {
    let rt = state.resource_type(kind);
    let data = normalize(rt, body)?;
    Ok(state
        .store
        .create_with(&ctx.tenant, kind, Value::Object(data), write_read_options())
        .await?)
}

pub async fn replace(
    state: &AppState,
    ctx: &Ctx,
    kind: ResourceKind,
    id: &str,
    body: &Value,
    if_match: IfMatch,
) -> ApiResult<StoredResource> {
    let rt = state.shared_resource_type(kind);
    let expected = expected_version(if_match)?;
    let data = normalize(&rt, body)?;
    if let Some(body_id) = body.get("id").and_then(Value::as_str) {
        if body_id != id {
            return Err(ApiError(ScimError::mutability(format!(
                "\"id\" is read-only: the body says \"{body_id}\", the URL \"{id}\""
            ))));
        }
    }
    // A PUT always writes, even the same data: a new version.
    let change: UpdateFn = Box::new(move |current: &StoredResource| {
        let empty = Map::new();
        check_immutable(&rt, current.data.as_object().unwrap_or(&empty), &data)?;
        Ok(Some(Value::Object(data)))
    });
    run_update(state, ctx, kind, id, expected, change).await
}

/// Runs `change` between the read and the write of one store transaction.
async fn run_update(
    state: &AppState,
    ctx: &Ctx,
    kind: ResourceKind,
    id: &str,
    expected: Option<i64>,
    change: UpdateFn,
) -> ApiResult<StoredResource> {
    let outcome = state
        .store
        .update(
            &ctx.tenant,
            kind,
            id,
            write_read_options(),
            expected,
            change,
        )
        .await?;
    Ok(outcome.resource)
}

/// Applies a PATCH. One that only adds or removes members of a group (see
/// [`member_change`]) goes to the store as that change, which costs what it names
/// whatever the group's size, and comes back with the references `attach` asks
/// for; any other one is applied to the whole resource by [`patch_generic`], and
/// comes back with all of them.
pub async fn patch(
    state: &AppState,
    ctx: &Ctx,
    kind: ResourceKind,
    id: &str,
    body: &Value,
    if_match: IfMatch,
    attach: ReadOptions,
) -> ApiResult<StoredResource> {
    let ops = parse_patch_request(body)?;
    let expected = expected_version(if_match)?;
    let change = match kind {
        ResourceKind::Group => member_change(state.resource_type(kind), &ops),
        ResourceKind::User => None,
    };
    match change {
        Some(change) => Ok(state
            .store
            .patch_members(&ctx.tenant, id, expected, change, attach)
            .await?
            .resource),
        None => apply_ops(state, ctx, kind, id, ops, expected).await,
    }
}

/// The PATCH of any resource: reads it with all its references, applies the
/// operations to it and writes it whole, in one store transaction. What
/// [`patch`] does with a PATCH it cannot send to the store as a member change;
/// the tests compare the two.
#[cfg(test)]
pub(crate) async fn patch_generic(
    state: &AppState,
    ctx: &Ctx,
    kind: ResourceKind,
    id: &str,
    body: &Value,
    if_match: IfMatch,
) -> ApiResult<StoredResource> {
    let ops = parse_patch_request(body)?;
    let expected = expected_version(if_match)?;
    apply_ops(state, ctx, kind, id, ops, expected).await
}

/// Applies `ops` in one store transaction (read, apply, write), so concurrent PATCHes of
/// one resource all land without retries.
async fn apply_ops(
    state: &AppState,
    ctx: &Ctx,
    kind: ResourceKind,
    id: &str,
    ops: Vec<PatchOperation>,
    expected: Option<i64>,
) -> ApiResult<StoredResource> {
    let rt = state.shared_resource_type(kind);
    let change: UpdateFn = Box::new(move |current: &StoredResource| {
        let empty = Map::new();
        let old = current.data.as_object().unwrap_or(&empty);
        let new = apply_patch(&rt, old, &ops, &*rt)?;
        let unchanged = normalize(&rt, &current.data).is_ok_and(|before| before == new);
        // Nothing changes: no new version, as a client polling ETags would expect.
        Ok((!unchanged).then_some(Value::Object(new)))
    });
    run_update(state, ctx, kind, id, expected, change).await
}

/// The member change `ops` make to a group, when each of them only adds or removes
/// members by id: `add` with path `members` or with a path-less value of only
/// `members` (and `schemas`), `remove` with path `members` and a list of members, or
/// with path `members[value eq "…"]`. `None` sends the PATCH down the generic path,
/// which answers exactly as before, also for:
/// - a member the generic path refuses (not an object, a `value` that is not a string,
///   no `value`): it answers the error, after checking the group exists;
/// - an added member with a `type` or `$ref`: the generic path compares them with the
///   member as listed, and a difference makes a new version;
/// - an id both added and removed (ignoring case for a filter): there the generic
///   path's version depends on where the member was in the list;
/// - `remove` of all members, `replace`, other attributes, other filters.
pub(crate) fn member_change(rt: &ResourceType, ops: &[PatchOperation]) -> Option<MemberChange> {
    let members = rt.schema.attribute("members")?;
    let mut change = MemberChange::default();
    for op in ops {
        match (op.op, &op.path) {
            (OpKind::Add, None) => {
                let Some(Value::Object(values)) = &op.value else {
                    return None;
                };
                for (key, value) in values {
                    if key.eq_ignore_ascii_case("schemas") {
                        continue;
                    }
                    if !key.eq_ignore_ascii_case("members") {
                        return None;
                    }
                    added_ids(members, value, &mut change.add)?;
                }
            }
            (OpKind::Add, Some(path)) if is_members(path) => {
                added_ids(members, op.value.as_ref()?, &mut change.add)?;
            }
            (OpKind::Remove, Some(path)) if is_members(path) => {
                removed_ids(op.value.as_ref()?, &mut change.remove)?;
            }
            (OpKind::Remove, Some(path)) => {
                change.remove_any_case.push(filtered_member(path)?);
            }
            _ => return None,
        }
    }
    let removed: HashSet<&str> = change.remove.iter().map(String::as_str).collect();
    let removed_any_case: HashSet<String> = change
        .remove_any_case
        .iter()
        .map(|id| id.to_lowercase())
        .collect();
    let both = change
        .add
        .iter()
        .any(|id| removed.contains(id.as_str()) || removed_any_case.contains(&id.to_lowercase()));
    (!both).then_some(change)
}

fn names_members(attr: &AttrPath) -> bool {
    attr.urn.is_none() && attr.sub.is_none() && attr.name.eq_ignore_ascii_case("members")
}

/// Path `members`, without a filter or sub-attribute.
fn is_members(path: &PatchPath) -> bool {
    names_members(&path.attr) && path.filter.is_none() && path.sub_after_filter.is_none()
}

/// The id of path `members[value eq "<id>"]`.
fn filtered_member(path: &PatchPath) -> Option<String> {
    if !names_members(&path.attr) || path.sub_after_filter.is_some() {
        return None;
    }
    match path.filter.as_ref()? {
        Filter::Compare {
            path: compared,
            op: CompareOp::Eq,
            value: CompValue::Str(id),
        } if compared.urn.is_none()
            && compared.sub.is_none()
            && compared.name.eq_ignore_ascii_case("value") =>
        {
            Some(id.clone())
        }
        _ => None,
    }
}

/// The one `value` key of a member object, any letter case; `Err` when it has several
/// (which one counts then differs between the generic path's steps).
fn value_key(item: &Map<String, Value>) -> Result<Option<&Value>, ()> {
    let mut found = item
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("value"))
        .map(|(_, v)| v);
    let first = found.next();
    match found.next() {
        Some(_) => Err(()),
        None => Ok(first),
    }
}

/// Appends the ids an `add` of `value` to `members` lists; `None` when the generic path
/// must answer (see [`member_change`]). Members are normalised as the generic path
/// normalises them, so what it drops (null, no known attribute) is dropped here too.
fn added_ids(members: &AttributeDef, value: &Value, out: &mut Vec<String>) -> Option<()> {
    let items: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        single => vec![single],
    };
    for item in items {
        if let Value::Object(o) = item {
            value_key(o).ok()?;
        }
        let Some(Value::Object(member)) = normalize_single(members, item, "").ok()? else {
            continue;
        };
        if member.len() != 1 {
            return None;
        }
        out.push(member.get("value")?.as_str()?.to_string());
    }
    Some(())
}

/// Appends the ids a `remove` with path `members` and `value` takes off, as the generic
/// path compares them: a string item or an object's string `value` names an id; any other
/// item names none (no listed member has a number or nothing for an id). `None` for a
/// value that is not a list or an object (the generic path removes every member then).
fn removed_ids(value: &Value, out: &mut Vec<String>) -> Option<()> {
    let items: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        single @ Value::Object(_) => vec![single],
        _ => return None,
    };
    for item in items {
        let id = match item {
            Value::Object(o) => value_key(o).ok()?,
            other => Some(other),
        };
        if let Some(Value::String(id)) = id {
            out.push(id.clone());
        }
    }
    Some(())
}

pub async fn delete(
    state: &AppState,
    ctx: &Ctx,
    kind: ResourceKind,
    id: &str,
    if_match: IfMatch,
) -> ApiResult<()> {
    let expected = expected_version(if_match)?;
    Ok(state.store.delete(&ctx.tenant, kind, id, expected).await?)
}

/// The full representation of a stored resource, projected as the client asked.
pub fn render(
    state: &AppState,
    ctx: &Ctx,
    stored: &StoredResource,
    projection: &Projection,
) -> Value {
    let rt = state.resource_type(stored.kind);
    let mut out = Map::new();
    let data = stored.data.as_object();
    out.insert(
        "schemas".into(),
        data.and_then(|d| d.get("schemas"))
            .cloned()
            .unwrap_or_else(|| json!([rt.schema.id])),
    );
    out.insert("id".into(), Value::String(stored.id.clone()));
    if let Some(d) = data {
        for (k, v) in d {
            if k == "schemas" {
                continue;
            }
            let mut v = v.clone();
            if k == "members" || k == "groups" {
                add_refs(ctx, &mut v, k == "groups");
            }
            out.insert(k.clone(), v);
        }
    }
    out.insert(
        "meta".into(),
        json!({
            "resourceType": rt.name,
            "created": stored.created,
            "lastModified": stored.last_modified,
            "location": location(ctx, stored.kind, &stored.id),
            "version": etag(stored.version),
        }),
    );
    projection.apply(rt, &mut out);
    Value::Object(out)
}

/// Adds `$ref` to members and groups, from each item's `value` and `type`.
fn add_refs(ctx: &Ctx, v: &mut Value, all_groups: bool) {
    let Value::Array(items) = v else { return };
    for item in items {
        let Value::Object(o) = item else { continue };
        let Some(id) = o.get("value").and_then(Value::as_str).map(str::to_string) else {
            continue;
        };
        if !all_groups {
            // A member's `display` is not echoed: clients (scim2-tester among them) compare
            // the members they wrote with the members they read back.
            o.remove("display");
        }
        let kind = match o.get("type").and_then(Value::as_str) {
            _ if all_groups => ResourceKind::Group,
            Some("Group") => ResourceKind::Group,
            Some("User") => ResourceKind::User,
            // A member id that is not (yet) a resource: no type, so no URI to point at.
            _ => continue,
        };
        o.insert("$ref".into(), Value::String(location(ctx, kind, &id)));
    }
}

#[cfg(test)]
mod tests;
