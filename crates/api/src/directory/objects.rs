//! Users, groups and service principals: list, create, get, update, delete and count,
//! with Graph's status codes (201 with the object on create, 204 on PATCH and DELETE).

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use provisio_directory::ObjectKind;
use serde_json::{Map, Value};

use super::query::{self, version_base};
use crate::ids::PathId;
use crate::{ApiResult, ApiState};

fn entity(base: &str, set: &str, object: Map<String, Value>) -> Value {
    let mut out = Map::with_capacity(object.len() + 1);
    out.insert(
        "@odata.context".to_string(),
        Value::String(format!("{base}/$metadata#{set}/$entity")),
    );
    out.extend(object);
    Value::Object(out)
}

pub async fn list_objects(
    state: ApiState,
    kind: ObjectKind,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> ApiResult {
    query::list(&state, kind, false, &headers, &uri, kind.entity_set()).await
}

pub async fn create_object(
    state: ApiState,
    kind: ObjectKind,
    headers: HeaderMap,
    uri: axum::http::Uri,
    body: Map<String, Value>,
) -> ApiResult {
    let object = state.directory.create(kind, &body).await?;
    let base = version_base(&headers, &uri);
    let location = format!("{base}/{}/{}", kind.entity_set(), object.id);
    let mut response = (
        StatusCode::CREATED,
        Json(entity(&base, kind.entity_set(), object.to_graph())),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}

pub async fn get_object(
    state: ApiState,
    kind: ObjectKind,
    id: String,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> ApiResult {
    let options = query::options(&uri)?;
    query::check_properties(kind, &options)?;
    let id = PathId::parse(&id)?;
    let object = (state.directory.get(kind, id.uuid).await).map_err(|e| id.graph_error(e))?;
    let base = version_base(&headers, &uri);
    Ok(Json(entity(
        &base,
        kind.entity_set(),
        query::render(&object, options.select.as_ref()),
    ))
    .into_response())
}

pub async fn update_object(
    state: ApiState,
    kind: ObjectKind,
    id: String,
    body: Map<String, Value>,
) -> ApiResult {
    let id = PathId::parse(&id)?;
    (state.directory.update(kind, id.uuid, &body).await).map_err(|e| id.graph_error(e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn delete_object(state: ApiState, kind: ObjectKind, id: String) -> ApiResult {
    let id = PathId::parse(&id)?;
    (state.directory.delete(kind, id.uuid).await).map_err(|e| id.graph_error(e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /users/$count`: the number as plain text, as Graph answers it.
pub async fn count(state: ApiState, kind: ObjectKind) -> ApiResult {
    let n = state.directory.count(kind).await?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        n.to_string(),
    )
        .into_response())
}
