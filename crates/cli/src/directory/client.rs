//! The client of `POST /admin/directory/import`: the request and response bodies, and one
//! batch sent with retries (429 and 503 after `Retry-After`, connection errors with backoff).

use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The endpoint takes at most this many records plus links in one request.
pub const MAX_ITEMS_PER_REQUEST: usize = 5000;

/// Attempts per batch before the import gives up (connection errors, 429, 503).
const ATTEMPTS: u32 = 6;
/// First backoff after a connection error; it doubles each time.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// The longest wait a `Retry-After` may impose.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// One record of a request: `{"line": 12, "type": "user", "object": {…}}`.
#[derive(Debug, Clone, Serialize)]
pub struct WireRecord {
    pub line: u64,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub object: Map<String, Value>,
}

/// A link of a request or of a response's `unresolved`:
/// `{"line": 12, "from": "a@contoso.com", "link": "manager", "to": "boss@contoso.com"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireLink {
    pub line: u64,
    pub from: String,
    pub link: String,
    pub to: String,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Batch {
    pub dry_run: bool,
    pub records: Vec<WireRecord>,
    pub links: Vec<WireLink>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LineMessage {
    pub line: u64,
    pub message: String,
}

/// The 200 answer of the endpoint.
#[derive(Debug, Default, Deserialize)]
pub struct Response {
    #[serde(default)]
    pub created: u64,
    #[serde(default)]
    pub updated: u64,
    #[serde(default)]
    pub unchanged: u64,
    #[serde(default)]
    pub failed: u64,
    #[serde(default)]
    pub errors: Vec<LineMessage>,
    #[serde(default)]
    pub unresolved: Vec<WireLink>,
}

/// Sends batches to one import endpoint over a keep-alive connection pool.
pub struct Client {
    http: reqwest::Client,
    endpoint: String,
    authorization: String,
}

impl Client {
    /// `url` is the server's base URL (`http://127.0.0.1:8080`).
    pub fn new(url: &str, token: &str, concurrency: usize) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(concurrency)
            .tcp_nodelay(true)
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(300))
            .build()
            .context("building the HTTP client")?;
        Ok(Client {
            http,
            endpoint: format!("{}/admin/directory/import", url.trim_end_matches('/')),
            authorization: format!("Bearer {token}"),
        })
    }

    /// Sends one batch. An error here is one for the whole import: the server could not be
    /// reached after the retries, or refused the request (bad token, malformed request, …).
    pub async fn send(&self, batch: &Batch) -> anyhow::Result<Response> {
        let body = bytes::Bytes::from(serde_json::to_vec(batch)?);
        let mut backoff = FIRST_BACKOFF;
        for attempt in 1..=ATTEMPTS {
            let last = attempt == ATTEMPTS;
            let sent = self
                .http
                .post(&self.endpoint)
                .header(reqwest::header::AUTHORIZATION, &self.authorization)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone())
                .send()
                .await;
            let response = match sent {
                Ok(response) => response,
                Err(error) if !last => {
                    tracing::debug!(message = "Import request failed; retrying.", %error);
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                    continue;
                }
                Err(error) => {
                    return Err(anyhow!(error)).with_context(|| {
                        format!("cannot reach the import endpoint {}", self.endpoint)
                    })
                }
            };
            let status = response.status();
            if (status.as_u16() == 429 || status.as_u16() == 503) && !last {
                let wait = retry_after(response.headers()).unwrap_or(backoff);
                tracing::debug!(
                    message = "Import endpoint is busy; retrying.",
                    status = status.as_u16(),
                    wait_ms = wait.as_millis() as u64
                );
                let _ = response.bytes().await;
                tokio::time::sleep(wait).await;
                backoff *= 2;
                continue;
            }
            let text = response
                .bytes()
                .await
                .with_context(|| format!("reading the answer of {}", self.endpoint))?;
            if status.is_success() {
                return serde_json::from_slice(&text).with_context(|| {
                    format!(
                        "the import endpoint answered {status} with an unexpected body: {}",
                        String::from_utf8_lossy(&text[..text.len().min(200)])
                    )
                });
            }
            bail!("{}", refusal(status, &text));
        }
        unreachable!("the last attempt returns")
    }
}

/// The server's `Retry-After` in seconds (the HTTP-date form is not used by provisio).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let seconds: u64 = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds).min(MAX_RETRY_AFTER))
}

/// `the server refused the import (401 Unauthorized): InvalidAuthenticationToken: …`, from
/// Graph's error body when there is one.
fn refusal(status: reqwest::StatusCode, body: &[u8]) -> String {
    let graph = serde_json::from_slice::<Value>(body).ok().and_then(|v| {
        let error = v.get("error")?;
        Some((
            error.get("code")?.as_str()?.to_string(),
            error.get("message")?.as_str()?.to_string(),
        ))
    });
    match graph {
        Some((code, message)) => {
            format!("the server refused the import ({status}): {code}: {message}")
        }
        None => format!(
            "the server refused the import ({status}): {}",
            String::from_utf8_lossy(&body[..body.len().min(200)]).trim()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_quote_the_graph_error() {
        for (status, body, expected) in [
            (
                401,
                r#"{"error":{"code":"InvalidAuthenticationToken","message":"Access token validation failure.","innerError":{"date":"2024-01-01T00:00:00","request-id":"x"}}}"#,
                "the server refused the import (401 Unauthorized): InvalidAuthenticationToken: Access token validation failure.",
            ),
            (
                502,
                "bad gateway",
                "the server refused the import (502 Bad Gateway): bad gateway",
            ),
        ] {
            let status = reqwest::StatusCode::from_u16(status).unwrap();
            assert_eq!(refusal(status, body.as_bytes()), expected);
        }
    }

    #[test]
    fn request_body_has_the_contract_shape() {
        let mut object = Map::new();
        object.insert("displayName".into(), "Sales".into());
        let batch = Batch {
            dry_run: true,
            records: vec![WireRecord {
                line: 13,
                kind: "group",
                object,
            }],
            links: vec![WireLink {
                line: 12,
                from: "a@contoso.com".into(),
                link: "manager".into(),
                to: "boss@contoso.com".into(),
            }],
        };
        assert_eq!(
            serde_json::to_value(&batch).unwrap(),
            serde_json::json!({"dryRun": true,
                "records": [{"line": 13, "type": "group", "object": {"displayName": "Sales"}}],
                "links": [{"line": 12, "from": "a@contoso.com", "link": "manager", "to": "boss@contoso.com"}]})
        );
    }
}
