//! App role assignments: of a user (`appRoleAssignments`) and to a service principal
//! (`appRoleAssignedTo`).

use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use provisio_directory::{DirectoryError, ObjectKind, StoredAssignment, StoredObject};
use serde_json::{json, Map, Value};

use super::query::version_base;
use super::relationships::{id_next_link, id_paging};
use crate::body::JsonObject;
use crate::ids::{parse_id, PathId};
use crate::{ApiResult, ApiState, GraphError};

/// Graph's `appRoleAssignment`.
async fn render_assignment(state: &ApiState, a: &StoredAssignment) -> Result<Value, GraphError> {
    let name = |o: Option<StoredObject>| {
        o.and_then(|o| o.data.get("displayName").cloned())
            .unwrap_or(Value::Null)
    };
    let principal = state.directory.find(a.principal.id).await?;
    let resource = state.directory.find(a.resource_id).await?;
    Ok(json!({
        "id": a.id.to_string(),
        "deletedDateTime": null,
        "appRoleId": a.app_role_id.to_string(),
        "createdDateTime": a.created,
        "principalDisplayName": name(principal),
        "principalId": a.principal.id.to_string(),
        "principalType": a.principal.kind.display_name(),
        "resourceDisplayName": name(resource),
        "resourceId": a.resource_id.to_string(),
    }))
}

async fn assignment_list(
    state: &ApiState,
    resource: Option<uuid::Uuid>,
    principal: Option<uuid::Uuid>,
    headers: &HeaderMap,
    uri: &axum::http::Uri,
) -> ApiResult {
    let (top, after) = id_paging(uri)?;
    let list = state
        .directory
        .assignments(resource, principal, after, top)
        .await?;
    let base = version_base(headers, uri);
    let mut values = Vec::with_capacity(list.len());
    for a in &list {
        values.push(render_assignment(state, a).await?);
    }
    let mut out = json!({
        "@odata.context": format!("{base}/$metadata#appRoleAssignments"),
    });
    if let Some(next) = id_next_link(&base, uri, list.last().map(|a| a.id), list.len(), top) {
        out["@odata.nextLink"] = Value::String(next);
    }
    out["value"] = Value::Array(values);
    Ok(Json(out).into_response())
}

pub async fn assigned_to(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> ApiResult {
    let id = PathId::parse(&id)?;
    let sp = (state
        .directory
        .get(ObjectKind::ServicePrincipal, id.uuid)
        .await)
        .map_err(|e| id.graph_error(e))?;
    assignment_list(&state, Some(sp.id), None, &headers, &uri).await
}

pub async fn user_assignments(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> ApiResult {
    let id = PathId::parse(&id)?;
    let user =
        (state.directory.get(ObjectKind::User, id.uuid).await).map_err(|e| id.graph_error(e))?;
    assignment_list(&state, None, Some(user.id), &headers, &uri).await
}

fn body_str<'a>(body: &'a Map<String, Value>, name: &str) -> Result<&'a str, GraphError> {
    body.get(name).and_then(Value::as_str).ok_or_else(|| {
        GraphError::bad_request(format!(
            "Property '{name}' is required and must be a string."
        ))
    })
}

/// POST an assignment; `path_principal`/`path_resource` is the object in the URL, which the
/// body must agree with.
async fn create_assignment(
    state: &ApiState,
    body: &Map<String, Value>,
    path_resource: Option<&str>,
    path_principal: Option<&str>,
    headers: &HeaderMap,
    uri: &axum::http::Uri,
) -> ApiResult {
    let principal = body_str(body, "principalId")?;
    let resource = body_str(body, "resourceId")?;
    let role = body
        .get("appRoleId")
        .and_then(Value::as_str)
        .unwrap_or("00000000-0000-0000-0000-000000000000");
    for (given, in_path, name) in [
        (resource, path_resource, "resourceId"),
        (principal, path_principal, "principalId"),
    ] {
        if let Some(p) = in_path {
            if parse_id(given)? != parse_id(p)? {
                return Err(GraphError::bad_request(format!(
                    "Property '{name}' must name the object in the request URL."
                )));
            }
        }
    }
    let resource = PathId::parse(resource)?;
    // The principal is named by its id in every message, as the directory spells it.
    let principal = parse_id(principal)?;
    let role = uuid::Uuid::try_parse(role).map_err(|_| {
        GraphError::bad_request(format!(
            "Invalid value specified for property 'appRoleId': '{role}' is not a GUID."
        ))
    })?;
    let a = (state.directory.assign(resource.uuid, principal, role).await)
        .map_err(|e| resource.graph_error(e))?;
    let mut out = render_assignment(state, &a).await?;
    let base = version_base(headers, uri);
    out["@odata.context"] = Value::String(format!("{base}/$metadata#appRoleAssignments/$entity"));
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

pub async fn add_assigned_to(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    JsonObject(body): JsonObject,
) -> ApiResult {
    create_assignment(&state, &body, Some(&id), None, &headers, &uri).await
}

pub async fn add_user_assignment(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    JsonObject(body): JsonObject,
) -> ApiResult {
    create_assignment(&state, &body, None, Some(&id), &headers, &uri).await
}

/// DELETE `…/appRoleAssignedTo/{aid}` or `…/appRoleAssignments/{aid}`: the assignment must
/// belong to the object in the URL.
pub async fn remove_assignment(
    State(state): State<ApiState>,
    Path((id, assignment)): Path<(String, String)>,
) -> ApiResult {
    let owner = parse_id(&id)?;
    let assignment = PathId::parse(&assignment)?;
    let a = (state.directory.get_assignment(assignment.uuid).await)
        .map_err(|e| assignment.graph_error(e))?;
    if a.resource_id != owner && a.principal.id != owner {
        return Err(DirectoryError::not_found(assignment.as_str()).into());
    }
    (state.directory.unassign(assignment.uuid).await).map_err(|e| assignment.graph_error(e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
