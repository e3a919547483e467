//! The `synchronization` area: `/servicePrincipals/{id}/synchronization/…` under `/v1.0` and
//! `/beta` (templates, jobs and their start, pause and restart, schema, functions, filter
//! operators, parseExpression, secrets, object connections), over the engine's
//! [`Synchronization`] service.
//!
//! When the server was built without the service ([`crate::ApiState::with_synchronization`]
//! not called), every route of the area answers `501 NotImplemented`: the paths stay known,
//! so a client learns the feature is off rather than that it typed a wrong path.

use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post, put};
use axum::Json;
use provisio_engine::model::{
    SynchronizationJobRestartCriteria, SynchronizationSchema,
    SynchronizationSecretKeyStringValuePair,
};
use provisio_engine::synchronization::{ParseExpressionRequest, SyncError, Synchronization};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::body::JsonObject;
use crate::ids::PathId;
use crate::routes::{op, Route, RouteTable};
use crate::{ApiResult, ApiState, GraphError};

mod connections;

const TAG: &str = "synchronization";

/// The area's route table.
pub fn routes() -> RouteTable {
    RouteTable {
        graph: graph_routes(),
        admin: Vec::new(),
    }
}

macro_rules! path {
    ($rest:literal) => {
        concat!("/servicePrincipals/{id}/synchronization", $rest)
    };
}

fn graph_routes() -> Vec<Route> {
    vec![
        (
            op("get", path!("/templates"), "List the synchronization templates.", TAG, 200, None, Some("synchronizationTemplateCollection")),
            get(list_templates),
        ),
        (
            op("get", path!("/templates/{templateId}"), "Get a synchronization template.", TAG, 200, None, Some("synchronizationTemplate")),
            get(get_template),
        ),
        (
            op("get", path!("/jobs"), "List the service principal's synchronization jobs.", TAG, 200, None, Some("synchronizationJobCollection")),
            get(list_jobs),
        ),
        (
            op("post", path!("/jobs"), "Create a synchronization job from a template ({\"templateId\": \"scim\"}).", TAG, 201, Some("synchronizationJob"), Some("synchronizationJob")),
            post(create_job),
        ),
        (
            op("get", path!("/jobs/{jobId}"), "Get a synchronization job.", TAG, 200, None, Some("synchronizationJob")),
            get(get_job),
        ),
        (
            op("patch", path!("/jobs/{jobId}"), "Set a job's schedule.interval (an ISO 8601 duration of at least PT1M; beyond Entra).", TAG, 204, Some("synchronizationJob"), None),
            patch(update_job),
        ),
        (
            op("delete", path!("/jobs/{jobId}"), "Delete a synchronization job and all its state.", TAG, 204, None, None),
            delete(delete_job),
        ),
        (
            op("post", path!("/jobs/{jobId}/start"), "Start a job; lifts its quarantine.", TAG, 204, None, None),
            post(start),
        ),
        (
            op("post", path!("/jobs/{jobId}/validateCredentials"), "Test the saved or given credentials against the target: a query that must find nothing.", TAG, 204, Some("validateCredentials"), None),
            post(validate_credentials),
        ),
        (
            op("post", path!("/jobs/{jobId}/pause"), "Pause a job; its state is kept.", TAG, 204, None, None),
            post(pause),
        ),
        (
            op("post", path!("/jobs/{jobId}/restart"), "Restart a job, clearing what criteria.resetScope names.", TAG, 204, Some("synchronizationJobRestart"), None),
            post(restart),
        ),
        (
            op("get", path!("/jobs/{jobId}/schema"), "Get a job's synchronization schema.", TAG, 200, None, Some("synchronizationSchema")),
            get(get_schema),
        ),
        (
            op("put", path!("/jobs/{jobId}/schema"), "Replace a job's schema; every mapping and scoping filter must compile.", TAG, 204, Some("synchronizationSchema"), None),
            put(put_schema),
        ),
        (
            op("get", path!("/jobs/{jobId}/schema/functions"), "The functions of attribute-mapping expressions.", TAG, 200, None, Some("attributeMappingFunctionSchemaCollection")),
            get(functions),
        ),
        (
            op("get", path!("/jobs/{jobId}/schema/filterOperators"), "The operators of scoping filters.", TAG, 200, None, Some("filterOperatorSchemaCollection")),
            get(filter_operators),
        ),
        (
            op("post", path!("/jobs/{jobId}/schema/parseExpression"), "Parse an expression and evaluate it over a test object.", TAG, 200, Some("parseExpressionRequest"), Some("parseExpressionResponse")),
            post(parse_expression),
        ),
        (
            op("put", path!("/secrets"), "Replace the service principal's synchronization secrets (never returned).", TAG, 204, Some("synchronizationSecrets"), None),
            put(put_secrets),
        ),
        (
            op("get", path!("/jobs/{jobId}/objectConnections"), "List object connections with $filter (stale, objectTypeName), $top and paging (beyond Entra).", TAG, 200, None, Some("objectConnectionCollection")),
            get(connections::list),
        ),
        (
            op("get", path!("/jobs/{jobId}/objectConnections/{objectId}"), "Get the object connection of a source or target id; clients write objectConnections('{objectId}').", TAG, 200, None, Some("objectConnection")),
            get(connections::get),
        ),
        (
            op("delete", path!("/jobs/{jobId}/objectConnections/{objectId}"), "Delete an object connection; 409 while the job is active.", TAG, 204, None, None),
            delete(connections::delete),
        ),
    ]
}

/// The service, or 501 when this server runs without it.
fn service(state: &ApiState) -> Result<&Synchronization, GraphError> {
    state.synchronization.as_ref().ok_or_else(|| {
        GraphError::new(
            StatusCode::NOT_IMPLEMENTED,
            "NotImplemented",
            "Provisioning (the synchronization API) is not enabled on this server.",
        )
    })
}

/// The service principal's id from the path, and the service.
fn target<'a>(state: &'a ApiState, id: &str) -> Result<(&'a Synchronization, PathId), GraphError> {
    let service = service(state)?;
    Ok((service, PathId::parse(id)?))
}

/// The engine's error as Graph's; directory errors quote the id as the request spelled it.
pub(crate) fn graph_error(id: &PathId, e: SyncError) -> GraphError {
    let message = e.to_string();
    match e {
        SyncError::Directory(e) => id.graph_error(e),
        SyncError::JobNotFound(_)
        | SyncError::TemplateNotFound(_)
        | SyncError::ConnectionNotFound { .. } => {
            GraphError::new(StatusCode::NOT_FOUND, "Request_ResourceNotFound", message)
        }
        SyncError::InvalidRequest(_)
        | SyncError::InvalidSchema { .. }
        | SyncError::UnknownSecretKey(_)
        | SyncError::NotConfigured { .. } => GraphError::bad_request(message),
        SyncError::JobActive(_) | SyncError::Busy(_) => {
            GraphError::new(StatusCode::CONFLICT, "Conflict", message)
        }
        SyncError::Sealed(_) | SyncError::Store(_) => {
            tracing::error!(message = "Synchronization state failed.", error = %message);
            GraphError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "generalException",
                "The service could not complete the request.",
            )
        }
    }
}

/// A body read as one of Graph's types; a mismatch is a 400 that says what is wrong.
fn body_as<T: DeserializeOwned>(body: Map<String, Value>, what: &str) -> Result<T, GraphError> {
    serde_json::from_value(Value::Object(body))
        .map_err(|e| GraphError::bad_request(format!("The body is not a valid {what}: {e}.")))
}

fn json_ok(value: Value) -> Response {
    (StatusCode::OK, Json(value)).into_response()
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

fn collection<T: serde::Serialize>(values: &[T]) -> Response {
    json_ok(json!({ "value": values }))
}

async fn list_templates(State(s): State<ApiState>, Path(id): Path<String>) -> ApiResult {
    let (sync, sp) = target(&s, &id)?;
    let templates = sync
        .templates(sp.uuid)
        .await
        .map_err(|e| graph_error(&sp, e))?;
    Ok(collection(&templates))
}

async fn get_template(
    State(s): State<ApiState>,
    Path((id, template)): Path<(String, String)>,
) -> ApiResult {
    let (sync, sp) = target(&s, &id)?;
    let template = sync
        .template(sp.uuid, &template)
        .await
        .map_err(|e| graph_error(&sp, e))?;
    Ok(json_ok(json!(template)))
}

async fn list_jobs(State(s): State<ApiState>, Path(id): Path<String>) -> ApiResult {
    let (sync, sp) = target(&s, &id)?;
    let jobs = sync.jobs(sp.uuid).await.map_err(|e| graph_error(&sp, e))?;
    Ok(collection(&jobs))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateJob {
    template_id: String,
}

async fn create_job(
    State(s): State<ApiState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    JsonObject(body): JsonObject,
) -> ApiResult {
    let (sync, sp) = target(&s, &id)?;
    let request: CreateJob = body_as(body, "synchronizationJob with a templateId")?;
    let job = sync
        .create_job(sp.uuid, &request.template_id)
        .await
        .map_err(|e| graph_error(&sp, e))?;
    let location = format!(
        "{}/{}/{}",
        crate::directory::query::version_base(&headers, &uri),
        crate::directory::query::relative_path(&uri),
        job.id
    );
    let mut response = (StatusCode::CREATED, Json(json!(job))).into_response();
    if let Ok(value) = location.parse() {
        response.headers_mut().insert("location", value);
    }
    Ok(response)
}

async fn get_job(State(s): State<ApiState>, Path((id, job)): Path<(String, String)>) -> ApiResult {
    let (sync, sp) = target(&s, &id)?;
    let job = sync
        .job(sp.uuid, &job)
        .await
        .map_err(|e| graph_error(&sp, e))?;
    Ok(json_ok(json!(job)))
}

async fn update_job(
    State(s): State<ApiState>,
    Path((id, job)): Path<(String, String)>,
    JsonObject(body): JsonObject,
) -> ApiResult {
    let (sync, sp) = target(&s, &id)?;
    sync.update_job(sp.uuid, &job, &Value::Object(body))
        .await
        .map_err(|e| graph_error(&sp, e))?;
    Ok(no_content())
}

async fn delete_job(
    State(s): State<ApiState>,
    Path((id, job)): Path<(String, String)>,
) -> ApiResult {
    let (sync, sp) = target(&s, &id)?;
    sync.delete_job(sp.uuid, &job)
        .await
        .map_err(|e| graph_error(&sp, e))?;
    Ok(no_content())
}

async fn start(State(s): State<ApiState>, Path((id, job)): Path<(String, String)>) -> ApiResult {
    let (sync, sp) = target(&s, &id)?;
    sync.start(sp.uuid, &job)
        .await
        .map_err(|e| graph_error(&sp, e))?;
    Ok(no_content())
}

/// `validateCredentials`'s body (its `templateId` is not needed: the job has one).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ValidateCredentials {
    #[serde(default)]
    use_saved_credentials: bool,
    #[serde(default)]
    credentials: Vec<SynchronizationSecretKeyStringValuePair>,
}

async fn validate_credentials(
    State(s): State<ApiState>,
    Path((id, job)): Path<(String, String)>,
    JsonObject(body): JsonObject,
) -> ApiResult {
    let (sync, sp) = target(&s, &id)?;
    let request: ValidateCredentials = body_as(body, "validateCredentials")?;
    sync.validate_credentials(
        sp.uuid,
        &job,
        request.use_saved_credentials,
        request.credentials,
    )
    .await
    .map_err(|e| graph_error(&sp, e))?;
    Ok(no_content())
}

async fn pause(State(s): State<ApiState>, Path((id, job)): Path<(String, String)>) -> ApiResult {
    let (sync, sp) = target(&s, &id)?;
    sync.pause(sp.uuid, &job)
        .await
        .map_err(|e| graph_error(&sp, e))?;
    Ok(no_content())
}

#[derive(Deserialize, Default)]
struct Restart {
    #[serde(default)]
    criteria: Option<SynchronizationJobRestartCriteria>,
}

async fn restart(
    State(s): State<ApiState>,
    Path((id, job)): Path<(String, String)>,
    request: axum::extract::Request,
) -> ApiResult {
    let (sync, sp) = target(&s, &id)?;
    // The body is optional: an empty one is the admin center's "Restart provisioning".
    let bytes = axum::body::to_bytes(request.into_body(), crate::MAX_BODY_BYTES)
        .await
        .map_err(|_| crate::body::too_large(crate::MAX_BODY_BYTES))?;
    let restart: Restart = if bytes.iter().all(u8::is_ascii_whitespace) {
        Restart::default()
    } else {
        let value: Value =
            serde_json::from_slice(&bytes).map_err(|_| GraphError::malformed_json())?;
        let Value::Object(body) = value else {
            return Err(GraphError::malformed_json());
        };
        body_as(
            body,
            "restart request ({\"criteria\": {\"resetScope\": …}})",
        )?
    };
    let scope = restart.criteria.and_then(|c| c.reset_scope);
    sync.restart(sp.uuid, &job, scope.as_deref())
        .await
        .map_err(|e| graph_error(&sp, e))?;
    Ok(no_content())
}

async fn get_schema(
    State(s): State<ApiState>,
    Path((id, job)): Path<(String, String)>,
) -> ApiResult {
    let (sync, sp) = target(&s, &id)?;
    let schema = sync
        .schema(sp.uuid, &job)
        .await
        .map_err(|e| graph_error(&sp, e))?;
    Ok(json_ok(json!(schema)))
}

async fn put_schema(
    State(s): State<ApiState>,
    Path((id, job)): Path<(String, String)>,
    JsonObject(body): JsonObject,
) -> ApiResult {
    let (sync, sp) = target(&s, &id)?;
    let schema: SynchronizationSchema = body_as(body, "synchronizationSchema")?;
    sync.put_schema(sp.uuid, &job, schema)
        .await
        .map_err(|e| graph_error(&sp, e))?;
    Ok(no_content())
}

async fn functions(
    State(s): State<ApiState>,
    Path((id, job)): Path<(String, String)>,
) -> ApiResult {
    let (sync, sp) = target(&s, &id)?;
    sync.job(sp.uuid, &job)
        .await
        .map_err(|e| graph_error(&sp, e))?;
    Ok(json_ok(provisio_engine::synchronization::function_schemas()))
}

async fn filter_operators(
    State(s): State<ApiState>,
    Path((id, job)): Path<(String, String)>,
) -> ApiResult {
    let (sync, sp) = target(&s, &id)?;
    sync.job(sp.uuid, &job)
        .await
        .map_err(|e| graph_error(&sp, e))?;
    Ok(collection(&provisio_engine::scoping::filter_operators()))
}

async fn parse_expression(
    State(s): State<ApiState>,
    Path((id, job)): Path<(String, String)>,
    JsonObject(body): JsonObject,
) -> ApiResult {
    let (sync, sp) = target(&s, &id)?;
    let request: ParseExpressionRequest = body_as(body, "parseExpression request")?;
    let response = sync
        .parse_expression(sp.uuid, &job, &request)
        .await
        .map_err(|e| graph_error(&sp, e))?;
    Ok(json_ok(json!(response)))
}

#[derive(Deserialize)]
struct SecretsBody {
    value: Vec<SecretPair>,
}

/// A pair with its key as written, so that an unknown key is named back.
#[derive(Deserialize)]
struct SecretPair {
    key: String,
    #[serde(default)]
    value: Option<String>,
}

async fn put_secrets(
    State(s): State<ApiState>,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult {
    let (sync, sp) = target(&s, &id)?;
    // Deliberately no serde error text here: it could quote a secret value.
    let request: SecretsBody = serde_json::from_value(Value::Object(body)).map_err(|_| {
        GraphError::bad_request(
            "The body must be {\"value\": [{\"key\": \"<synchronizationSecret>\", \"value\": \"<text>\"}, …]}.",
        )
    })?;
    let pairs: Vec<SynchronizationSecretKeyStringValuePair> = request
        .value
        .into_iter()
        .map(|p| SynchronizationSecretKeyStringValuePair {
            key: provisio_engine::model::SynchronizationSecret::parse(&p.key),
            value: p.value,
        })
        .collect();
    sync.put_secrets(sp.uuid, pairs)
        .await
        .map_err(|e| graph_error(&sp, e))?;
    Ok(no_content())
}
