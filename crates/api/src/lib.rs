//! provisio's Microsoft Graph-compatible HTTP API: the source directory under `/v1.0` and
//! `/beta` (users, groups, members, managers, service principals, app role assignments,
//! deleted items, delta queries, JSON batching), provisioning's synchronization API (jobs,
//! schema, secrets, object connections), the import endpoint, and the OpenAPI
//! document generated from the same route table that builds the router.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use provisio_directory::Directory;
use provisio_engine::synchronization::Synchronization;
use sha2::{Digest, Sha256};

mod audit_logs;
mod batch;
mod body;
mod directory;
pub mod error;
mod ids;
pub mod openapi;
mod paths;
mod routes;
mod synchronization;

pub use error::GraphError;

/// What every handler answers: a response, or Graph's error.
pub type ApiResult = Result<Response, GraphError>;

/// Largest request body of the Graph endpoints (Graph's own limit is 4 MB).
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// What every handler shares.
#[derive(Clone)]
pub struct ApiState {
    pub directory: Directory,
    /// The synchronization API's service; without it that area answers 501.
    pub synchronization: Option<Synchronization>,
    /// SHA-256 of the admin token.
    token_hash: Arc<[u8; 32]>,
}

impl ApiState {
    pub fn new(directory: Directory, admin_token_sha256: [u8; 32]) -> Self {
        ApiState {
            directory,
            synchronization: None,
            token_hash: Arc::new(admin_token_sha256),
        }
    }

    /// Serves the synchronization API (jobs, schema, secrets, object connections) too.
    pub fn with_synchronization(mut self, synchronization: Synchronization) -> Self {
        self.synchronization = Some(synchronization);
        self
    }
}

/// SHA-256 of a token, as stored and compared.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The whole HTTP API.
pub fn app(state: ApiState) -> Router {
    let graph = routes::graph_router();
    let versions = Router::new()
        .nest("/v1.0", graph.clone())
        .nest("/beta", graph)
        .merge(routes::admin_router())
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    let routed = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/openapi.json",
            get(|| async { axum::Json(openapi::document()) }),
        )
        .merge(versions)
        .fallback(unknown_path)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state.clone());
    // Paths are rewritten before routing (a layer on `routed` would run after it): the
    // rewriting layer sits on a router that sends everything to `routed`. It checks no
    // token, so a request whose userPrincipalName must be looked up is checked first.
    Router::new()
        .fallback_service(routed)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            paths::normalise,
        ))
        .layer(middleware::from_fn_with_state(
            state,
            require_token_for_lookups,
        ))
        .layer(middleware::from_fn(request_id))
}

/// The Graph paths of the route table, relative to a version.
fn graph_paths() -> &'static [&'static str] {
    static PATHS: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    PATHS.get_or_init(|| routes::operations().0.iter().map(|op| op.path).collect())
}

pub(crate) async fn unknown_path(uri: axum::http::Uri) -> GraphError {
    let path = uri.path();
    let rest = path
        .strip_prefix("/v1.0/")
        .or_else(|| path.strip_prefix("/beta/"));
    match rest {
        Some(rest) => GraphError::unknown_segment(paths::unknown_segment(rest, graph_paths())),
        None => GraphError::new(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            format!("No API is served at '{path}': the Graph API is under /v1.0 and /beta."),
        ),
    }
}

async fn method_not_allowed() -> GraphError {
    GraphError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "Request_BadRequest",
        "Specified HTTP method is not allowed for the request target.",
    )
}

/// Gives every request an id (echoed in `request-id` and in error bodies) and keeps the
/// caller's `client-request-id`.
async fn request_id(req: Request, next: Next) -> Response {
    let client = req
        .headers()
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 128)
        .map(str::to_string);
    let id = uuid::Uuid::new_v4().to_string();
    let scope = error::RequestId {
        id: id.clone(),
        client: client.clone(),
    };
    let mut response = error::REQUEST_ID.scope(scope, next.run(req)).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("request-id", v);
    }
    if let Some(Ok(v)) = client.map(|c| HeaderValue::from_str(&c)) {
        response.headers_mut().insert("client-request-id", v);
    }
    response
}

/// Every API request carries `Authorization: Bearer <admin token>`.
async fn require_token(State(state): State<ApiState>, req: Request, next: Next) -> Response {
    match check_token(&state, &req) {
        Ok(()) => next.run(req).await,
        Err(error) => error.into_response(),
    }
}

/// The token check, run before paths are rewritten as well for requests whose rewriting
/// reads the directory (a userPrincipalName in the path), so that an unauthenticated
/// caller cannot learn which users exist from a 404.
async fn require_token_for_lookups(
    State(state): State<ApiState>,
    req: Request,
    next: Next,
) -> Response {
    if req.uri().path().contains('@') {
        if let Err(error) = check_token(&state, &req) {
            return error.into_response();
        }
    }
    next.run(req).await
}

fn check_token(state: &ApiState, req: &Request) -> Result<(), GraphError> {
    let Some(value) = req.headers().get(axum::http::header::AUTHORIZATION) else {
        return Err(GraphError::unauthenticated("Access token is empty."));
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim());
    match token {
        Some(t) if constant_time_eq(&token_hash(t), &state.token_hash) => Ok(()),
        Some(_) => Err(GraphError::unauthenticated(
            "Access token validation failure.",
        )),
        None => Err(GraphError::unauthenticated(
            "Access token validation failure: expected 'Authorization: Bearer <token>'.",
        )),
    }
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
