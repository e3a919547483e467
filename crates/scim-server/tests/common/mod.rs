//! What the router-level tests share: a SCIM server on SQLite in a temporary directory.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use provisio_scim_server::{app, store::open_sqlite, ServerConfig};
use serde_json::Value;
use tower::ServiceExt;

/// The server's router, answering bearer `token`, and the directory its store lives in
/// (kept as long as the router is used).
pub async fn server(token: &str) -> (Router, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open_sqlite(dir.path()).await.expect("open store");
    let config = ServerConfig {
        token: token.to_string(),
        ..ServerConfig::default()
    };
    (app(Arc::new(store), config), dir)
}

/// Sends one request with bearer `token` and `headers`: the status, the ETag header and
/// the JSON body (Null when empty).
pub async fn send(
    app: &Router,
    token: &str,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (StatusCode, Option<String>, Value) {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header("Host", "scim.test")
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", "application/scim+json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = match body {
        Some(body) => request.body(Body::from(body.to_string())),
        None => request.body(Body::empty()),
    }
    .expect("request");
    let response = app.clone().oneshot(request).await.expect("response");
    let status = response.status();
    let etag = response
        .headers()
        .get(header::ETAG)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (
        status,
        etag,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}
