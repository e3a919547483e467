//! JSON batching (`POST /$batch`): up to 20 requests, run in order through the same
//! handlers; a request whose `dependsOn` failed is answered 424 without running.

use axum::body::Body;
use axum::extract::{OriginalUri, Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::body::read_json;
use crate::{ApiResult, ApiState, GraphError};

pub const MAX_REQUESTS: usize = 20;

fn invalid(message: impl Into<String>) -> GraphError {
    GraphError::new(StatusCode::BAD_REQUEST, "BadRequest", message)
}

/// The routes a batch's requests run through: the Graph API of both versions, without the
/// token check (the batch itself passed it). Built once, not per batch.
fn dispatch_router() -> &'static Router<ApiState> {
    static ROUTER: std::sync::OnceLock<Router<ApiState>> = std::sync::OnceLock::new();
    ROUTER.get_or_init(|| {
        let graph = crate::routes::graph_router();
        Router::new()
            .nest("/v1.0", graph.clone())
            .nest("/beta", graph)
            .fallback(crate::unknown_path)
    })
}

pub async fn batch(
    State(state): State<ApiState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    req: Request,
) -> ApiResult {
    let body = read_json(req, crate::MAX_BODY_BYTES).await?;
    let requests = body
        .get("requests")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("A batch body needs a \"requests\" array."))?;
    if requests.is_empty() || requests.len() > MAX_REQUESTS {
        return Err(invalid(format!(
            "A batch carries 1 to {MAX_REQUESTS} requests; this one has {}.",
            requests.len()
        )));
    }
    let version = if uri.path().starts_with("/beta") {
        "beta"
    } else {
        "v1.0"
    };
    let mut ids: Vec<String> = Vec::with_capacity(requests.len());
    for r in requests {
        let id = match r.get("id") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(invalid("Every batch request needs an \"id\".")),
        };
        if ids.contains(&id) {
            return Err(invalid(format!("Batch request id '{id}' is used twice.")));
        }
        ids.push(id);
    }
    let router: Router = dispatch_router().clone().with_state(state.clone());
    let mut failed: Vec<String> = Vec::new();
    let mut responses = Vec::with_capacity(requests.len());
    for (r, id) in requests.iter().zip(ids) {
        let depends: Vec<String> = match r.get("dependsOn") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(d)) => d
                .iter()
                .map(|x| {
                    x.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| x.to_string())
                })
                .collect(),
            Some(_) => {
                return Err(invalid(format!(
                    "Request '{id}': dependsOn must be an array."
                )))
            }
        };
        let (status, body) = if depends.iter().any(|d| failed.contains(d)) {
            (
                StatusCode::FAILED_DEPENDENCY,
                error_body(
                    StatusCode::FAILED_DEPENDENCY,
                    "Request failed because a request it depends on failed.",
                ),
            )
        } else {
            match run_one(&state, &router, version, r, &headers).await {
                Ok(answer) => answer,
                Err(e) => {
                    let status = e.status;
                    (status, body_of(e.into_response()).await)
                }
            }
        };
        if status.is_client_error() || status.is_server_error() {
            failed.push(id.clone());
        }
        let mut entry = json!({"id": id, "status": status.as_u16()});
        if !body.is_null() {
            entry["headers"] = json!({"Content-Type": "application/json"});
            entry["body"] = body;
        }
        responses.push(entry);
    }
    Ok(Json(json!({ "responses": responses })).into_response())
}

/// Batch URLs are often written unencoded (`users?$filter=displayName eq 'Zoë'`): encode
/// what a URI cannot carry as is, and leave existing escapes alone.
fn encode_url(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    for c in url.chars() {
        if c.is_ascii_graphic()
            && !matches!(c, '"' | '<' | '>' | '\\' | '^' | '`' | '{' | '|' | '}')
        {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

fn error_body(status: StatusCode, message: &str) -> Value {
    json!({"error": {"code": status.canonical_reason().unwrap_or("Error"), "message": message}})
}

async fn body_of(response: Response) -> Value {
    match axum::body::to_bytes(response.into_body(), usize::MAX).await {
        Ok(bytes) if bytes.is_empty() => Value::Null,
        Ok(bytes) => serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned())),
        Err(_) => Value::Null,
    }
}

async fn run_one(
    state: &ApiState,
    router: &Router,
    version: &str,
    r: &Value,
    outer: &HeaderMap,
) -> Result<(StatusCode, Value), GraphError> {
    let method = r
        .get("method")
        .and_then(Value::as_str)
        .and_then(|m| Method::from_bytes(m.to_ascii_uppercase().as_bytes()).ok())
        .ok_or_else(|| invalid("A batch request needs a \"method\"."))?;
    let url = r
        .get("url")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("A batch request needs a \"url\"."))?;
    if url.contains("://") {
        return Err(invalid(format!(
            "Invalid batch request url '{url}': a batch request's url is relative to the \
             version, such as /users/{{id}}."
        )));
    }
    let relative = url.trim_start_matches('/');
    let relative = relative
        .strip_prefix("v1.0/")
        .or_else(|| relative.strip_prefix("beta/"))
        .unwrap_or(relative);
    if relative.starts_with("$batch") {
        return Err(invalid("A batch cannot contain a batch."));
    }
    let mut builder = axum::http::Request::builder()
        .method(method)
        .uri(format!("/{version}/{}", encode_url(relative)));
    if let Some(host) = outer.get(axum::http::header::HOST) {
        builder = builder.header(axum::http::header::HOST, host);
    }
    if let Some(Value::Object(h)) = r.get("headers") {
        for (k, v) in h {
            if let Some(v) = v.as_str() {
                builder = builder.header(k.as_str(), v);
            }
        }
    }
    let body = match r.get("body") {
        None | Some(Value::Null) => Body::empty(),
        Some(b) => Body::from(b.to_string()),
    };
    let mut request = builder
        .body(body)
        .map_err(|e| invalid(format!("Invalid batch request: {e}")))?;
    crate::paths::normalise_request(state, &mut request).await?;
    let response = router
        .clone()
        .oneshot(request)
        .await
        .map_err(|e| invalid(format!("Invalid batch request: {e}")))?;
    let status = response.status();
    Ok((status, body_of(response).await))
}
