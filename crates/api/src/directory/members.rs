//! A group's members (`members`, `members/$ref`) and the groups an object is a direct
//! member of (`memberOf`).

use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;

use super::query::version_base;
use super::relationships::{directory_objects, id_paged_objects, reference_id};
use crate::body::JsonObject;
use crate::ids::PathId;
use crate::{ApiResult, ApiState};

pub async fn members(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> ApiResult {
    id_paged_objects(&headers, &uri, |after, top| async move {
        let group = PathId::parse(&id)?;
        (state.directory.members(group.uuid, after, top).await).map_err(|e| group.graph_error(e))
    })
    .await
}

pub async fn member_of(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> ApiResult {
    let id = PathId::parse(&id)?;
    let objects = (state.directory.member_of(id.uuid).await).map_err(|e| id.graph_error(e))?;
    let base = version_base(&headers, &uri);
    Ok(Json(directory_objects(&base, &objects, None)).into_response())
}

pub async fn add_member(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult {
    let member = reference_id(&body)?;
    let group = PathId::parse(&id)?;
    (state.directory.add_member(group.uuid, member).await).map_err(|e| group.graph_error(e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn remove_member(
    State(state): State<ApiState>,
    Path((id, member)): Path<(String, String)>,
) -> ApiResult {
    let group = PathId::parse(&id)?;
    let member = PathId::parse(&member)?;
    (state.directory.remove_member(group.uuid, member.uuid).await)
        .map_err(|e| member.quoted(group.quoted(e)))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
