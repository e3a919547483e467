//! The client of `POST /admin/directory/import`: one request per import, its body a JSON
//! Lines stream, its answer the counts and the error lines.
//!
//! A streamed body cannot be sent twice, so there are no retries: an import that fails
//! half-way may simply be run again (records are upserted, members only added).

use std::time::Duration;

use anyhow::{bail, Context};
use provisio_directory::ObjectKind;
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LineMessage {
    pub line: u64,
    pub message: String,
}

/// The 200 answer of the endpoint.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    #[serde(default)]
    pub records: u64,
    #[serde(default)]
    pub created: u64,
    #[serde(default)]
    pub updated: u64,
    #[serde(default)]
    pub unchanged: u64,
    #[serde(default)]
    pub failed: u64,
    #[serde(default)]
    pub not_found: u64,
    /// The first error lines (the server lists at most 1,000).
    #[serde(default)]
    pub errors: Vec<LineMessage>,
    #[serde(default)]
    pub errors_omitted: u64,
}

/// Sends imports to one server.
pub struct Client {
    http: reqwest::Client,
    endpoint: String,
    authorization: String,
}

impl Client {
    /// `url` is the server's base URL (`http://127.0.0.1:8080`).
    pub fn new(url: &str, token: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .tcp_nodelay(true)
            .connect_timeout(Duration::from_secs(10))
            .build()
            .context("building the HTTP client")?;
        Ok(Client {
            http,
            endpoint: format!("{}/admin/directory/import", url.trim_end_matches('/')),
            authorization: format!("Bearer {token}"),
        })
    }

    /// Streams `body` (JSON Lines) to the server and waits for its answer, which comes once
    /// every line has been written. An error here is one for the whole import: the server
    /// could not be reached, or refused the request (bad token, bad options, …).
    pub async fn import(
        &self,
        body: reqwest::Body,
        default_kind: ObjectKind,
        dry_run: bool,
    ) -> anyhow::Result<Response> {
        // An empty dry run first: a server that refuses the token or the options answers
        // before reading a body, and with a large body still on its way the refusal would
        // be lost in a broken connection ("Broken pipe") instead of being reported.
        self.send(reqwest::Body::from(""), default_kind, true)
            .await?;
        self.send(body, default_kind, dry_run).await
    }

    async fn send(
        &self,
        body: reqwest::Body,
        default_kind: ObjectKind,
        dry_run: bool,
    ) -> anyhow::Result<Response> {
        let response = self
            .http
            .post(&self.endpoint)
            .query(&[
                ("type", default_kind.as_str()),
                ("dryRun", if dry_run { "true" } else { "false" }),
            ])
            .header(reqwest::header::AUTHORIZATION, &self.authorization)
            .header(reqwest::header::CONTENT_TYPE, "application/x-ndjson")
            .body(body)
            .send()
            .await
            .with_context(|| format!("cannot reach the import endpoint {}", self.endpoint))?;
        let status = response.status();
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
}
