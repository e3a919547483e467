//! The directory handlers: objects, references (manager, members), app role assignments and
//! deleted items, with Graph's status codes (201 with the object on create, 204 on PATCH,
//! DELETE and `$ref` writes).

use axum::extract::{OriginalUri, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use provisio_directory::schema::id_from_reference;
use provisio_directory::{DirectoryError, ObjectKind, StoredAssignment, StoredObject};
use serde_json::{json, Map, Value};

use crate::body::JsonObject;
use crate::ids::{parse_id, PathId};
use crate::list::{self, version_base};
use crate::{ApiState, GraphError};

pub type ApiResult = Result<Response, GraphError>;

fn entity(base: &str, set: &str, object: Map<String, Value>) -> Value {
    let mut out = Map::with_capacity(object.len() + 1);
    out.insert(
        "@odata.context".to_string(),
        Value::String(format!("{base}/$metadata#{set}/$entity")),
    );
    out.extend(object);
    Value::Object(out)
}

/// A directory object of any kind, as Graph returns one reached through a reference or from
/// deleted items: `$metadata#directoryObjects/$entity` and the object's `@odata.type`.
fn directory_object(base: &str, kind: ObjectKind, properties: Map<String, Value>) -> Response {
    let mut m = Map::with_capacity(properties.len() + 2);
    m.insert(
        "@odata.context".to_string(),
        Value::String(format!("{base}/$metadata#directoryObjects/$entity")),
    );
    m.insert(
        "@odata.type".to_string(),
        Value::String(kind.odata_type().to_string()),
    );
    m.extend(properties);
    Json(Value::Object(m)).into_response()
}

pub async fn list_objects(
    state: ApiState,
    kind: ObjectKind,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> ApiResult {
    list::list(&state, kind, false, &headers, &uri, kind.entity_set()).await
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
    let options = list::options(&uri)?;
    list::check_properties(kind, &options)?;
    let id = PathId::parse(&id)?;
    let object = (state.directory.get(kind, id.uuid).await).map_err(|e| id.graph_error(e))?;
    let base = version_base(&headers, &uri);
    Ok(Json(entity(
        &base,
        kind.entity_set(),
        list::render(&object, options.select.as_ref()),
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

/// Renders objects of mixed kinds (members, memberOf) with their `@odata.type`.
fn directory_objects(base: &str, objects: &[StoredObject], next: Option<String>) -> Value {
    let values: Vec<Value> = objects
        .iter()
        .map(|o| {
            let mut m = Map::new();
            m.insert(
                "@odata.type".to_string(),
                Value::String(o.kind.odata_type().to_string()),
            );
            m.extend(list::render(o, None));
            Value::Object(m)
        })
        .collect();
    let mut out = Map::new();
    out.insert(
        "@odata.context".to_string(),
        Value::String(format!("{base}/$metadata#directoryObjects")),
    );
    if let Some(n) = next {
        out.insert("@odata.nextLink".to_string(), Value::String(n));
    }
    out.insert("value".to_string(), Value::Array(values));
    Value::Object(out)
}

/// `$top` and `$skiptoken` of a reference list paged by id.
fn id_paging(uri: &axum::http::Uri) -> Result<(usize, Option<uuid::Uuid>), GraphError> {
    let options = list::options(uri)?;
    if options.filter.is_some() || options.orderby.is_some() {
        return Err(GraphError::bad_request(
            "$filter and $orderby are not supported on this relationship.",
        ));
    }
    let after = options
        .skiptoken
        .as_deref()
        .map(list::decode_skiptoken)
        .transpose()?
        .map(|c| c.id);
    Ok((
        options.top.map_or(list::DEFAULT_PAGE, |t| t as usize),
        after,
    ))
}

/// The `@odata.nextLink` of a list paged by id: present when the page is full, starting
/// after its last id.
fn id_next_link(
    base: &str,
    uri: &axum::http::Uri,
    last: Option<uuid::Uuid>,
    len: usize,
    top: usize,
) -> Option<String> {
    let last = last.filter(|_| len == top)?;
    let token = list::encode_skiptoken(&provisio_directory::Cursor {
        key: last.to_string(),
        id: last,
    });
    Some(list::next_link(base, list::relative_path(uri), uri, &token))
}

/// A relationship listed page by page in id order (members, direct reports): `fetch` reads
/// the page after an id.
async fn id_paged_objects<F, Fut>(headers: &HeaderMap, uri: &axum::http::Uri, fetch: F) -> ApiResult
where
    F: FnOnce(Option<uuid::Uuid>, usize) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<StoredObject>, GraphError>>,
{
    let (top, after) = id_paging(uri)?;
    let objects = fetch(after, top).await?;
    let base = version_base(headers, uri);
    let next = id_next_link(&base, uri, objects.last().map(|o| o.id), objects.len(), top);
    Ok(Json(directory_objects(&base, &objects, next)).into_response())
}

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

/// The id in a `$ref` body: `{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/{id}"}`.
fn reference_id(body: &Map<String, Value>) -> Result<uuid::Uuid, GraphError> {
    let url = body
        .get("@odata.id")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            GraphError::bad_request(
                "A reference body needs \"@odata.id\": the URL or id of the object.",
            )
        })?;
    id_from_reference(url)
        .ok_or_else(|| GraphError::bad_request(format!("Invalid object identifier '{url}'.")))
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
        list::render(&manager, None),
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

pub async fn deleted_list(
    state: ApiState,
    kind: ObjectKind,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> ApiResult {
    let set = format!("directory/deletedItems/{}", &kind.odata_type()[1..]);
    list::list(&state, kind, true, &headers, &uri, &set).await
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

/// `GET /users/$count`: the number as plain text, as Graph answers it.
pub async fn count(state: ApiState, kind: ObjectKind) -> ApiResult {
    let n = state.directory.count(kind).await?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        n.to_string(),
    )
        .into_response())
}
