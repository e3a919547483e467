//! Request and response plumbing shared by the handlers: the SCIM error response, JSON bodies
//! with a size limit, ETags, and the per-request context (tenant, base URL).

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use provisio_scim::error::ScimError;
use serde_json::Value;

use crate::store::{StoreError, UpdateError};
use crate::AppState;

pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";

/// An error answered in the SCIM error shape.
#[derive(Debug)]
pub struct ApiError(pub ScimError);

impl From<ScimError> for ApiError {
    fn from(e: ScimError) -> Self {
        ApiError(e)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError(match e {
            StoreError::NotFound => ScimError::not_found("resource not found"),
            StoreError::PreconditionFailed { current_version } => ScimError::new(
                412,
                None,
                format!("the resource has changed: its current version is W/\"{current_version}\""),
            ),
            StoreError::Uniqueness(what) => {
                ScimError::uniqueness(format!("{what} is already taken by another resource"))
            }
            StoreError::InvalidMember(entry) => {
                ScimError::invalid_value(format!("a member entry has no \"value\": {entry}"))
            }
            StoreError::Backend(msg) => {
                tracing::error!(message = "Store failed.", error = %msg);
                ScimError::new(500, None, "the server could not complete the request")
            }
        })
    }
}

impl From<UpdateError> for ApiError {
    fn from(e: UpdateError) -> Self {
        match e {
            UpdateError::Store(e) => e.into(),
            UpdateError::Rejected(e) => ApiError(e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = scim_json(status, &self.0.to_json());
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// A response with a SCIM JSON body.
pub fn scim_json(status: StatusCode, body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut resp = (status, bytes).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(SCIM_CONTENT_TYPE),
    );
    resp
}

/// A JSON request body read up to the configured limit: 413 past it, 400 `invalidSyntax` when
/// it is not JSON. Any content type is accepted (clients send both SCIM's and plain JSON).
pub struct JsonBody(pub Value);

impl FromRequest<AppState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let limit = state.config.max_body_bytes;
        let bytes = axum::body::to_bytes(req.into_body(), limit)
            .await
            .map_err(|_| {
                ApiError(ScimError::new(
                    413,
                    None,
                    format!("the request body is larger than {limit} bytes"),
                ))
            })?;
        if bytes.is_empty() {
            return Err(ApiError(ScimError::invalid_syntax(
                "the request body is empty",
            )));
        }
        serde_json::from_slice(&bytes).map(JsonBody).map_err(|e| {
            ApiError(ScimError::invalid_syntax(format!(
                "the request body is not valid JSON: {e}"
            )))
        })
    }
}

/// The value of the `{name}` segment of the matched route, if the route has one.
pub async fn path_param(
    parts: &mut Parts,
    state: &AppState,
    name: &str,
) -> Result<Option<String>, ApiError> {
    let params = RawPathParams::from_request_parts(parts, state)
        .await
        .map_err(|_| ApiError(ScimError::not_found("unknown path")))?;
    Ok(params
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string()))
}

/// Which tenant a request is for and the base URL its locations use.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub tenant: String,
    pub base_url: String,
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let tenant = path_param(parts, state, "tenant").await?;
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| {
                h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
            })
            .unwrap_or("localhost");
        match tenant {
            None => Ok(Ctx {
                tenant: crate::DEFAULT_TENANT.to_string(),
                base_url: format!("http://{host}/scim/v2"),
            }),
            Some(t) => {
                if t.is_empty()
                    || t.len() > 64
                    || !t
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                {
                    return Err(ApiError(ScimError::not_found(
                        "a tenant name is 1 to 64 letters, digits, '-' or '_'",
                    )));
                }
                Ok(Ctx {
                    base_url: format!("http://{host}/tenants/{t}/scim/v2"),
                    tenant: t,
                })
            }
        }
    }
}

/// The weak ETag of a resource version.
pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// What an `If-Match` header demands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfMatch {
    Absent,
    Any,
    Version(i64),
    /// A tag that names no version this server ever issued: it can never match.
    Never,
}

pub fn if_match(headers: &HeaderMap) -> IfMatch {
    let Some(raw) = headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()) else {
        return IfMatch::Absent;
    };
    let mut result = IfMatch::Never;
    for tag in raw.split(',').map(str::trim) {
        if tag == "*" {
            return IfMatch::Any;
        }
        if let Some(v) = parse_etag(tag) {
            result = IfMatch::Version(v);
        }
    }
    result
}

/// Whether an `If-None-Match` header names the current version (then GET answers 304).
pub fn if_none_match_hits(headers: &HeaderMap, version: i64) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|raw| {
            raw.split(',')
                .map(str::trim)
                .any(|t| t == "*" || parse_etag(t) == Some(version))
        })
}

fn parse_etag(tag: &str) -> Option<i64> {
    let t = tag.strip_prefix("W/").unwrap_or(tag);
    t.strip_prefix('"')?.strip_suffix('"')?.parse().ok()
}

/// Whether the client asked for no response body (`Prefer: return=minimal`).
pub fn prefers_minimal(headers: &HeaderMap) -> bool {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',')
                .any(|p| p.trim().eq_ignore_ascii_case("return=minimal"))
        })
}

/// A 204 with no body.
pub fn no_content() -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::NO_CONTENT;
    r
}
