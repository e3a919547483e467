//! `provisio scim-server --journal FILE`: every request the server answers, one JSON line
//! each (`at`, `method`, `uri`, `status`, `created` (the id a `201` made, from its
//! `Location`), `body`), so that an operator can see exactly what a provisioning engine sent,
//! and `provisio bench sync` can replay an engine's requests without the engine.
//!
//! Lines are written by a thread of their own through a buffer, flushed whenever no request
//! is waiting, so that a request never waits on the disk.

use std::io::Write;
use std::path::Path;
use std::sync::mpsc;

use anyhow::Context;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use provisio_scim::error::ScimError;
use provisio_scim_server::http::ApiError;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// One answered request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// When the answer was ready (RFC 3339, UTC).
    pub at: String,
    pub method: String,
    /// The path and query, as the client sent them.
    pub uri: String,
    pub status: u16,
    /// The id of the resource a `201` created (the last segment of its `Location`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// The request body as text (empty bodies are left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

/// The sending half: cheap to clone into the layer.
#[derive(Clone)]
pub struct Journal {
    lines: mpsc::Sender<JournalEntry>,
    max_body_bytes: usize,
}

impl Journal {
    /// Creates (or truncates) `path` and starts the thread that writes to it.
    pub fn create(path: &Path, max_body_bytes: usize) -> anyhow::Result<Journal> {
        let file = std::fs::File::create(path)
            .with_context(|| format!("creating the journal {}", path.display()))?;
        let (lines, received) = mpsc::channel::<JournalEntry>();
        let shown = path.display().to_string();
        std::thread::Builder::new()
            .name("scim-journal".into())
            .spawn(move || write_lines(std::io::BufWriter::new(file), received, &shown))
            .context("starting the journal's writer")?;
        Ok(Journal {
            lines,
            max_body_bytes,
        })
    }
}

fn write_lines(
    mut out: std::io::BufWriter<std::fs::File>,
    received: mpsc::Receiver<JournalEntry>,
    shown: &str,
) {
    fn write(out: &mut impl Write, entry: &JournalEntry) -> std::io::Result<()> {
        serde_json::to_writer(&mut *out, entry)?;
        out.write_all(b"\n")
    }
    // Blocks while idle; drains what is queued, then flushes.
    while let Ok(entry) = received.recv() {
        let mut result = write(&mut out, &entry);
        while let (true, Ok(entry)) = (result.is_ok(), received.try_recv()) {
            result = write(&mut out, &entry);
        }
        if let Err(error) = result.and_then(|()| out.flush()) {
            tracing::error!(message = "Writing the journal failed; it stops here.", journal = %shown, %error);
            return;
        }
    }
}

/// The layer: reads the body (within the server's own limit), lets the server answer, and
/// queues the entry.
pub async fn record(State(journal): State<Journal>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let bytes: Bytes = match axum::body::to_bytes(body, journal.max_body_bytes).await {
        Ok(bytes) => bytes,
        // The server's own refusal of a body past its limit.
        Err(_) => {
            return ApiError(ScimError::new(
                413,
                None,
                format!(
                    "the request body is larger than {} bytes",
                    journal.max_body_bytes
                ),
            ))
            .into_response();
        }
    };
    let method = parts.method.to_string();
    let uri = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| parts.uri.path().to_string());
    let text = (!bytes.is_empty()).then(|| String::from_utf8_lossy(&bytes).into_owned());
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let status = response.status().as_u16();
    let created = (status == 201)
        .then(|| response.headers().get(header::LOCATION))
        .flatten()
        .and_then(|v| v.to_str().ok())
        .and_then(|location| location.trim_end_matches('/').rsplit('/').next())
        .map(str::to_string);
    // A closed journal (its writer failed) only stops the journal, never the server.
    let _ = journal.lines.send(JournalEntry {
        at: OffsetDateTime::now_utc()
            .format(&Rfc3339)
            .unwrap_or_default(),
        method,
        uri,
        status,
        created,
        body: text,
    });
    response
}

/// Reads a journal; a line that is not an entry is an error naming the line.
pub fn read(path: &Path) -> anyhow::Result<Vec<JournalEntry>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the journal {}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| {
            serde_json::from_str(line)
                .with_context(|| format!("{}: line {}: not a journal entry", path.display(), n + 1))
        })
        .collect()
}

impl JournalEntry {
    /// When the answer was ready; `None` when `at` is not RFC 3339.
    pub fn time(&self) -> Option<OffsetDateTime> {
        OffsetDateTime::parse(&self.at, &Rfc3339).ok()
    }
}
