//! The operations behind the endpoints, shared by the single-resource handlers and `/Bulk`:
//! create, replace, patch, delete, and rendering a stored resource for a response.

use provisio_scim::error::ScimError;
use provisio_scim::patch::{apply_patch, parse_patch_request};
use provisio_scim::projection::Projection;
use provisio_scim::resource::{check_immutable, normalize};
use serde_json::{json, Map, Value};

use crate::http::{etag, ApiError, ApiResult, Ctx, IfMatch};
use crate::store::{ReadOptions, ResourceKind, StoredResource, UpdateFn};
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

/// Applies a PATCH in one store transaction (read, apply, write), so concurrent PATCHes of
/// one resource all land without retries.
pub async fn patch(
    state: &AppState,
    ctx: &Ctx,
    kind: ResourceKind,
    id: &str,
    body: &Value,
    if_match: IfMatch,
) -> ApiResult<StoredResource> {
    let rt = state.shared_resource_type(kind);
    let ops = parse_patch_request(body)?;
    let expected = expected_version(if_match)?;
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
