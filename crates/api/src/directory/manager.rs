//! A user's manager (`manager`, `manager/$ref`) and its direct reports.

use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::json;

use super::query::{self, version_base};
use super::relationships::{directory_object, id_paged_objects, reference_id};
use crate::body::JsonObject;
use crate::ids::PathId;
use crate::{ApiResult, ApiState};

pub async fn get_manager(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> ApiResult {
    let user = PathId::parse(&id)?;
    let manager = (state.directory.manager(user.uuid).await).map_err(|e| user.graph_error(e))?;
    let base = version_base(&headers, &uri);
    Ok(directory_object(
        &base,
        manager.kind,
        query::render(&manager, None),
    ))
}

pub async fn get_manager_ref(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> ApiResult {
    let user = PathId::parse(&id)?;
    let manager = (state.directory.manager(user.uuid).await).map_err(|e| user.graph_error(e))?;
    let base = version_base(&headers, &uri);
    Ok(Json(json!({
        "@odata.context": format!("{base}/$metadata#directoryObjects/$ref"),
        "@odata.id": format!("{base}/directoryObjects/{}", manager.id),
    }))
    .into_response())
}

pub async fn set_manager(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult {
    let manager = reference_id(&body)?;
    let user = PathId::parse(&id)?;
    (state.directory.set_manager(user.uuid, manager).await).map_err(|e| user.graph_error(e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn remove_manager(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult {
    let user = PathId::parse(&id)?;
    (state.directory.remove_manager(user.uuid).await).map_err(|e| user.graph_error(e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn direct_reports(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> ApiResult {
    id_paged_objects(&headers, &uri, |after, top| async move {
        let user = PathId::parse(&id)?;
        (state.directory.direct_reports(user.uuid, after, top).await)
            .map_err(|e| user.graph_error(e))
    })
    .await
}
