//! A SCIM 2.0 service provider (RFC 7643, RFC 7644) as an axum [`Router`] over a
//! [`store::ResourceStore`]: Users, Groups, Bulk, search, discovery, ETags, several isolated
//! tenants in one process, and fault injection for testing SCIM clients.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use provisio_scim::error::ScimError;
use provisio_scim::schema::{ResourceType, Schema};

pub mod bulk;
pub mod discovery;
pub mod faults;
pub mod http;
pub mod query;
pub mod resources;
pub mod service;
pub mod store;

pub use faults::FaultConfig;
use http::ApiError;
use store::{ResourceKind, ResourceStore};

/// The tenant served at `/scim/v2`.
pub const DEFAULT_TENANT: &str = "default";

/// Limits and behaviour of the server; [`ServerConfig::default`] is what the CLI uses.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The bearer token every SCIM request must carry.
    pub token: String,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Most operations in one bulk request.
    pub bulk_max_operations: usize,
    /// Largest page a list returns (`filter.maxResults`).
    pub max_results: u64,
    /// Page size when the client gives no `count`.
    pub default_count: u64,
    /// Most resources a query may sort or filter in memory before it answers `tooMany`.
    pub max_in_memory: usize,
    /// Extension schemas added to the User resource type (besides the enterprise one).
    pub user_extensions: Vec<Schema>,
    pub faults: FaultConfig,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            token: String::new(),
            max_body_bytes: 1024 * 1024,
            bulk_max_operations: 1000,
            max_results: 1000,
            default_count: 100,
            max_in_memory: 100_000,
            user_extensions: Vec::new(),
            faults: FaultConfig::default(),
        }
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn ResourceStore>,
    pub config: Arc<ServerConfig>,
    pub users: Arc<ResourceType>,
    pub groups: Arc<ResourceType>,
    pub faults: Arc<faults::FaultInjector>,
}

impl AppState {
    pub fn new(store: Arc<dyn ResourceStore>, config: ServerConfig) -> Self {
        let users = Arc::new(ResourceType::user(config.user_extensions.clone()));
        let groups = Arc::new(ResourceType::group(Vec::new()));
        let faults = Arc::new(faults::FaultInjector::new(config.faults.clone()));
        AppState {
            store,
            config: Arc::new(config),
            users,
            groups,
            faults,
        }
    }

    pub fn resource_type(&self, kind: ResourceKind) -> &ResourceType {
        match kind {
            ResourceKind::User => &self.users,
            ResourceKind::Group => &self.groups,
        }
    }

    /// [`resource_type`](Self::resource_type), shared: for work that outlives
    /// the request's borrow of the state (a store update's change function).
    pub fn shared_resource_type(&self, kind: ResourceKind) -> Arc<ResourceType> {
        match kind {
            ResourceKind::User => Arc::clone(&self.users),
            ResourceKind::Group => Arc::clone(&self.groups),
        }
    }
}

/// The whole HTTP application: `/scim/v2`, `/tenants/{tenant}/scim/v2`, and `/healthz`.
pub fn app(store: Arc<dyn ResourceStore>, config: ServerConfig) -> Router {
    let state = AppState::new(store, config);
    let guarded = |routes: Router<AppState>| {
        routes.route_layer(middleware::from_fn_with_state(state.clone(), require_token))
    };
    // The same routes once more, for requests whose path only matches after
    // `canonical_path` (see `lenient_paths`); this copy's fallback is the plain 404, so a
    // request is rewritten at most once.
    let canonical = guarded(scim_routes())
        .fallback(|| async { ApiError(ScimError::not_found("unknown path")) })
        .with_state(state.clone());
    let scim = guarded(scim_routes())
        .fallback(move |req: Request| lenient_paths(canonical.clone(), req))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            faults::inject,
        ));
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .nest("/scim/v2", scim.clone())
        .nest("/tenants/{tenant}/scim/v2", scim)
        .fallback(|| async { ApiError(ScimError::not_found("unknown path")) })
        .with_state(state)
}

/// The endpoints a SCIM base URL has, in their canonical spelling.
const ENDPOINTS: &[&str] = &[
    "Users",
    "Groups",
    ".search",
    "Bulk",
    "ServiceProviderConfig",
    "serviceConfiguration",
    "ResourceTypes",
    "Schemas",
    "Me",
];

/// A path relative to the SCIM base URL in canonical form, when it differs only by letter
/// case of the endpoint names or by a trailing slash: `/users/` → `/Users`,
/// `/groups/{id}` → `/Groups/{id}`, `/users/.SEARCH` → `/Users/.search`. RFC 7644 spells
/// the endpoints with capitals, but Microsoft's reference implementation (and the clients
/// written against it) match them in any case and accept `/Users/?filter=…`; ids keep their
/// case.
fn canonical_path(path: &str) -> Option<String> {
    let trimmed = path.strip_suffix('/').unwrap_or(path);
    let mut segments: Vec<&str> = trimmed.split('/').skip(1).collect();
    let canonical = |segment: &str| {
        ENDPOINTS
            .iter()
            .find(|e| e.eq_ignore_ascii_case(segment))
            .copied()
    };
    let first = segments.first_mut()?;
    *first = canonical(first)?;
    if let Some(second) = segments.get_mut(1) {
        if second.eq_ignore_ascii_case(".search") {
            *second = ".search";
        }
    }
    let rewritten = format!("/{}", segments.join("/"));
    (rewritten != path).then_some(rewritten)
}

/// The SCIM routes' fallback: a path that matches once written canonically is served by
/// the canonical routes (with its query string); anything else is a SCIM 404.
async fn lenient_paths(canonical: Router, mut req: Request) -> Response {
    let Some(path) = canonical_path(req.uri().path()) else {
        return ApiError(ScimError::not_found("unknown path")).into_response();
    };
    let path_and_query = match req.uri().query() {
        Some(query) => format!("{path}?{query}"),
        None => path,
    };
    let mut parts = req.uri().clone().into_parts();
    parts.path_and_query = path_and_query.parse().ok();
    match axum::http::Uri::from_parts(parts) {
        Ok(uri) => *req.uri_mut() = uri,
        Err(_) => return ApiError(ScimError::not_found("unknown path")).into_response(),
    }
    match tower::ServiceExt::oneshot(canonical, req).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

fn scim_routes() -> Router<AppState> {
    use resources as r;
    let not_allowed =
        || async { ApiError(ScimError::new(405, None, "this endpoint is read-only")) };
    Router::new()
        .route("/Users", get(r::list_users).post(r::create_user))
        .route("/Users/.search", post(r::search_users))
        .route(
            "/Users/{id}",
            get(r::get_user)
                .put(r::replace_user)
                .patch(r::patch_user)
                .delete(r::delete_user),
        )
        .route("/Groups", get(r::list_groups).post(r::create_group))
        .route("/Groups/.search", post(r::search_groups))
        .route(
            "/Groups/{id}",
            get(r::get_group)
                .put(r::replace_group)
                .patch(r::patch_group)
                .delete(r::delete_group),
        )
        .route("/.search", post(r::search_all))
        .route("/Bulk", post(bulk::bulk).fallback(not_allowed))
        .route(
            "/ServiceProviderConfig",
            get(discovery::service_provider_config).fallback(not_allowed),
        )
        .route(
            "/serviceConfiguration",
            get(discovery::service_provider_config).fallback(not_allowed),
        )
        .route(
            "/ResourceTypes",
            get(discovery::resource_types).fallback(not_allowed),
        )
        .route(
            "/ResourceTypes/{id}",
            get(discovery::resource_type).fallback(not_allowed),
        )
        .route("/Schemas", get(discovery::schemas).fallback(not_allowed))
        .route(
            "/Schemas/{id}",
            get(discovery::schema).fallback(not_allowed),
        )
        .route(
            "/Me",
            any(|| async { ApiError(ScimError::new(501, None, "/Me is not supported")) }),
        )
}

async fn require_token(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    match presented {
        Some(t) if constant_time_eq(t.as_bytes(), state.config.token.as_bytes()) => {
            next.run(req).await
        }
        Some(_) => {
            ApiError(ScimError::new(401, None, "the bearer token is not valid")).into_response()
        }
        None => ApiError(ScimError::new(
            401,
            None,
            "authentication required: send Authorization: Bearer <token>",
        ))
        .into_response(),
    }
}

/// Compares secrets without leaking where they differ through timing.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
