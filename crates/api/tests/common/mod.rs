//! Drives the whole API router in memory: requests go through `tower`'s `oneshot` (no
//! socket, no process) to [`provisio_api::app`] over a [`MemoryDirectory`], and come back
//! as a status, headers and a JSON body.
#![allow(dead_code)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Request};
use http_body_util::BodyExt;
use provisio_api::{app, token_hash, ApiState};
use provisio_directory::{Directory, DirectoryConfig, MemoryDirectory};
use provisio_engine::clock::FixedClock;
use provisio_engine::secrets::SecretSealer;
use provisio_engine::state::memory::MemorySyncStore;
use provisio_engine::synchronization::Synchronization;
use serde_json::Value;
use tower::ServiceExt;

/// The admin token every request carries unless a test says otherwise.
pub const TOKEN: &str = "test-token";

/// The host requests name; links in answers start with `http://{HOST}`.
pub const HOST: &str = "graph.test";

/// An answer, its body read as JSON (a string when it is not JSON, null when empty).
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `body.id` of a created object.
    pub fn id(&self) -> String {
        self.body["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no id in {}", self.body))
            .to_string()
    }
}

/// The API over an empty in-memory directory.
pub struct Api {
    router: axum::Router,
    pub store: MemoryDirectory,
    /// The engine's state, when the API serves the synchronization area.
    pub sync_store: MemorySyncStore,
    pub clock: Arc<FixedClock>,
}

/// The instant the fixed clock of [`Api::with_synchronization`] shows.
pub const NOW: time::OffsetDateTime = time::macros::datetime!(2026-03-01 09:00 UTC);

impl Default for Api {
    fn default() -> Self {
        Self::new()
    }
}

impl Api {
    pub fn new() -> Api {
        let store = MemoryDirectory::new();
        let directory = Directory::new(Arc::new(store.clone()), DirectoryConfig::default());
        Api {
            router: app(ApiState::new(directory, token_hash(TOKEN))),
            store,
            sync_store: MemorySyncStore::new(),
            clock: Arc::new(FixedClock::new(NOW)),
        }
    }

    /// The API with the synchronization area, over an in-memory state store, a fixed
    /// clock and a test sealing key.
    pub fn with_synchronization() -> Api {
        let store = MemoryDirectory::new();
        let directory = Directory::new(Arc::new(store.clone()), DirectoryConfig::default());
        let sync_store = MemorySyncStore::new();
        let clock = Arc::new(FixedClock::new(NOW));
        let synchronization = Synchronization::new(
            Arc::new(sync_store.clone()),
            directory.clone(),
            clock.clone(),
            SecretSealer::new([42; 32]),
        );
        let state =
            ApiState::new(directory, token_hash(TOKEN)).with_synchronization(synchronization);
        Api {
            router: app(state),
            store,
            sync_store,
            clock,
        }
    }

    /// Sends `method path` with `authorization` (the whole header value) and a raw body.
    /// `path` is relative to `/v1.0` unless it starts with another root of the API or is
    /// a link the API returned (`http://…`).
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        authorization: Option<&str>,
        body: Option<String>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut request = Request::builder()
            .method(method)
            .uri(uri(path))
            .header("host", HOST);
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let body = match body {
            Some(text) => {
                request = request.header("content-type", "application/json");
                Body::from(text)
            }
            None => Body::empty(),
        };
        let request = request.body(body).expect("a valid request");
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router answers every request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("the response body")
            .to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Resp {
            status,
            headers,
            body,
        }
    }

    /// Sends a request with the admin token and a JSON body.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let bearer = format!("Bearer {TOKEN}");
        self.raw(
            method,
            path,
            Some(&bearer),
            body.map(|b| b.to_string()),
            headers,
        )
        .await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send("GET", path, None, &[]).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.send("POST", path, Some(body), &[]).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.send("PUT", path, Some(body), &[]).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Resp {
        self.send("PATCH", path, Some(body), &[]).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.send("DELETE", path, None, &[]).await
    }

    /// Creates an object and returns its id; panics unless the answer is 201.
    pub async fn create(&self, set: &str, body: Value) -> String {
        let r = self.post(&format!("/{set}"), body).await;
        assert_eq!(r.status, 201, "POST /{set}: {}", r.body);
        r.id()
    }

    /// Creates a user with this principal name and display name.
    pub async fn user(&self, upn: &str, name: &str) -> String {
        self.create(
            "users",
            serde_json::json!({"userPrincipalName": upn, "displayName": name}),
        )
        .await
    }

    /// Creates a group with this mail nickname (its display name upper-cased).
    pub async fn group(&self, nickname: &str) -> String {
        self.create(
            "groups",
            serde_json::json!({"displayName": nickname.to_uppercase(), "mailNickname": nickname}),
        )
        .await
    }

    /// Adds `member` to `group` through `members/$ref`.
    pub async fn add_member(&self, group: &str, member: &str) -> Resp {
        self.post(
            &format!("/groups/{group}/members/$ref"),
            serde_json::json!({
                "@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{member}")
            }),
        )
        .await
    }

    /// Follows `@odata.nextLink` to the end: every value, the number of pages, and the
    /// `@odata.deltaLink` of the last page.
    pub async fn all_pages(&self, first: &str) -> (Vec<Value>, usize, Option<String>) {
        let mut values = Vec::new();
        let mut pages = 0;
        let mut url = first.to_string();
        loop {
            let r = self.get(&url).await;
            assert_eq!(r.status, 200, "{url}: {}", r.body);
            pages += 1;
            values.extend(r.body["value"].as_array().cloned().unwrap_or_default());
            match r.body["@odata.nextLink"].as_str() {
                Some(next) => url = next.to_string(),
                None => {
                    let delta = r.body["@odata.deltaLink"].as_str().map(str::to_string);
                    return (values, pages, delta);
                }
            }
        }
    }
}

/// The request target for `path`: links the API returned lose their scheme and host, other
/// paths outside the API's roots go under `/v1.0`, and what a URL may not carry as is
/// (spaces, quotes, non-ASCII) is percent-encoded as an HTTP client would.
fn uri(path: &str) -> String {
    let path = path.strip_prefix(&format!("http://{HOST}")).unwrap_or(path);
    let rooted = ["/v1.0", "/beta", "/admin", "/healthz", "/openapi.json"]
        .iter()
        .any(|root| path.starts_with(root));
    let full = if rooted {
        path.to_string()
    } else {
        format!("/v1.0{path}")
    };
    let mut out = String::with_capacity(full.len());
    for byte in full.bytes() {
        if byte.is_ascii_graphic() && !b"\"<>\\^`{|}".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Asserts Graph's error body: status, `error.code`, a message containing `message_part`,
/// and an `innerError` with a date and the request id the `request-id` header carries.
pub fn assert_graph_error(r: &Resp, status: u16, code: &str, message_part: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    let e = &r.body["error"];
    assert_eq!(e["code"], code, "{}", r.body);
    let message = e["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(message_part),
        "message {message:?} lacks {message_part:?}"
    );
    assert!(
        e["innerError"]["date"]
            .as_str()
            .is_some_and(|d| d.ends_with('Z')),
        "{}",
        r.body
    );
    let request_id = e["innerError"]["request-id"].as_str().unwrap_or_default();
    assert_eq!(request_id.len(), 36, "{}", r.body);
    assert_eq!(r.header("request-id"), Some(request_id));
}

/// The display names of listed objects, in order.
pub fn names(values: &[Value]) -> Vec<String> {
    values
        .iter()
        .map(|v| v["displayName"].as_str().unwrap_or("").to_string())
        .collect()
}

/// The ids of listed objects, sorted.
pub fn sorted_ids(values: &Value) -> Vec<String> {
    let mut ids: Vec<String> = values
        .as_array()
        .map(|v| {
            v.iter()
                .filter_map(|m| m["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}
