//! Deleted users and groups (`directory/deletedItems`): list, get, restore, purge.

use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use provisio_directory::ObjectKind;

use super::query::{self, version_base};
use super::relationships::directory_object;
use crate::ids::PathId;
use crate::{ApiResult, ApiState};

pub async fn deleted_list(
    state: ApiState,
    kind: ObjectKind,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> ApiResult {
    let set = format!("directory/deletedItems/{}", &kind.odata_type()[1..]);
    query::list(&state, kind, true, &headers, &uri, &set).await
}

pub async fn deleted_get(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> ApiResult {
    let id = PathId::parse(&id)?;
    let object = (state.directory.deleted_item(id.uuid).await).map_err(|e| id.graph_error(e))?;
    let base = version_base(&headers, &uri);
    Ok(directory_object(&base, object.kind, object.to_graph()))
}

pub async fn deleted_restore(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> ApiResult {
    let id = PathId::parse(&id)?;
    let object = (state.directory.restore(id.uuid).await).map_err(|e| id.graph_error(e))?;
    let base = version_base(&headers, &uri);
    Ok(directory_object(&base, object.kind, object.to_graph()))
}

pub async fn deleted_purge(State(state): State<ApiState>, Path(id): Path<String>) -> ApiResult {
    let id = PathId::parse(&id)?;
    (state.directory.purge(id.uuid).await).map_err(|e| id.graph_error(e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
