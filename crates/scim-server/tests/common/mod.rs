//! What the router-level tests share: a SCIM server on SQLite in a temporary directory.

use std::sync::Arc;

use axum::Router;
use provisio_scim_server::{app, store::open_sqlite, ServerConfig};

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
