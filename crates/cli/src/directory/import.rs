//! The import pipeline shared by `directory import` and `directory seed --url`.
//!
//! Sent to a server, an import is one request whose body is a JSON Lines stream: a JSON
//! Lines file goes as it is (the server reads, validates and reports each line), CSV rows
//! and seeded records are written as JSON Lines on the way, blank lines keeping each record
//! on its line number in the source so that the server's error lines name the file's
//! lines. Without a server (`--dry-run`), records are validated here.
//!
//! Memory stays flat: the body is produced by a blocking thread in chunks through a channel
//! a few chunks deep; the server answers with counts and the first error lines.

use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use indicatif::ProgressBar;
use provisio_directory::import::{self, ErrorLines};
use provisio_directory::ObjectKind;

use super::client::{Client, Response};
use super::read::Item;

/// How many error lines the summary prints.
pub const PRINTED_ERRORS: usize = 100;
/// Bytes of body per chunk handed to the HTTP client.
const CHUNK_BYTES: usize = 256 * 1024;
/// Chunks produced ahead of the HTTP client.
const CHUNKS_AHEAD: usize = 4;

/// Where records go.
pub struct Sink {
    /// `None`: a local dry run, nothing is sent.
    pub client: Option<Arc<Client>>,
    pub dry_run: bool,
    /// Kind of the records that do not say.
    pub default_kind: ObjectKind,
}

/// What an import did, for the summary.
#[derive(Debug)]
pub struct Outcome {
    /// Records read, valid or not.
    pub records: u64,
    /// Records that passed local validation (local dry run).
    pub valid: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Records refused locally or by the server.
    pub failed: u64,
    /// References naming no object.
    pub not_found: u64,
    pub errors: ErrorLines,
    pub elapsed: Duration,
    /// Whether records went to a server.
    pub sent: bool,
    pub dry_run: bool,
}

impl Outcome {
    fn new(dry_run: bool) -> Self {
        Outcome {
            records: 0,
            valid: 0,
            created: 0,
            updated: 0,
            unchanged: 0,
            failed: 0,
            not_found: 0,
            errors: ErrorLines::new(PRINTED_ERRORS),
            elapsed: Duration::ZERO,
            sent: false,
            dry_run,
        }
    }

    /// Whether any line failed (exit code 1).
    pub fn has_failures(&self) -> bool {
        self.errors.total > 0
    }

    fn add_answer(&mut self, answer: Response) {
        self.records += answer.records;
        self.created = answer.created;
        self.updated = answer.updated;
        self.unchanged = answer.unchanged;
        self.failed += answer.failed;
        self.not_found = answer.not_found;
        for error in answer.errors {
            self.errors.push(error.line, error.message);
        }
        self.errors.total += answer.errors_omitted;
        self.sent = true;
    }
}

/// A body fed by a blocking producer through a bounded channel.
fn channel_body() -> (
    tokio::sync::mpsc::Sender<std::io::Result<Bytes>>,
    reqwest::Body,
) {
    let (sender, mut receiver) = tokio::sync::mpsc::channel(CHUNKS_AHEAD);
    let stream = futures::stream::poll_fn(move |cx| receiver.poll_recv(cx));
    (sender, reqwest::Body::wrap_stream(stream))
}

/// Streams a JSON Lines file to the server as it is; `progress` counts bytes.
pub async fn send_raw<R>(
    mut input: R,
    client: Arc<Client>,
    default_kind: ObjectKind,
    dry_run: bool,
    progress: ProgressBar,
) -> anyhow::Result<Outcome>
where
    R: Read + Send + 'static,
{
    let started = Instant::now();
    let (sender, body) = channel_body();
    let reading = {
        let progress = progress.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            loop {
                let mut chunk = vec![0u8; CHUNK_BYTES];
                let n = input.read(&mut chunk)?;
                if n == 0 {
                    return Ok(());
                }
                chunk.truncate(n);
                progress.inc(n as u64);
                if sender.blocking_send(Ok(Bytes::from(chunk))).is_err() {
                    // The request ended early; its error is the one reported.
                    return Ok(());
                }
            }
        })
    };
    let answer = client.import(body, default_kind, dry_run).await;
    reading.await??;
    let mut outcome = Outcome::new(dry_run);
    outcome.add_answer(answer?);
    outcome.elapsed = started.elapsed();
    progress.finish_and_clear();
    Ok(outcome)
}

/// Validates every record `source` yields (local dry run), or sends them as JSON Lines.
pub async fn run<I>(source: I, sink: Sink, progress: ProgressBar) -> anyhow::Result<Outcome>
where
    I: Iterator<Item = anyhow::Result<Item>> + Send + 'static,
{
    let started = Instant::now();
    let dry_run = sink.dry_run;
    let default_kind = sink.default_kind;
    let Some(client) = sink.client else {
        let mut outcome =
            tokio::task::spawn_blocking(move || validate(source, dry_run, &progress)).await??;
        outcome.elapsed = started.elapsed();
        return Ok(outcome);
    };
    let (sender, body) = channel_body();
    let writing = {
        let progress = progress.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<Outcome> {
            // Lines refused here never reach the server: a blank line takes their place.
            let mut local = Outcome::new(dry_run);
            let mut chunk = Vec::with_capacity(CHUNK_BYTES + 4096);
            let mut lines_written = 0u64;
            for item in source {
                let record = match item? {
                    Item::Invalid { line, message } => {
                        local.records += 1;
                        local.failed += 1;
                        local.errors.push(line, message);
                        continue;
                    }
                    Item::Record(record) => record,
                };
                progress.inc(1);
                while lines_written + 1 < record.line {
                    chunk.push(b'\n');
                    lines_written += 1;
                }
                let mut object = record.object;
                if record.kind != default_kind {
                    object.insert("@odata.type".to_string(), record.kind.odata_type().into());
                }
                serde_json::to_writer(&mut chunk, &object)?;
                chunk.push(b'\n');
                lines_written += 1;
                if chunk.len() >= CHUNK_BYTES {
                    let full =
                        std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK_BYTES + 4096));
                    if sender.blocking_send(Ok(Bytes::from(full))).is_err() {
                        return Ok(local);
                    }
                }
            }
            if !chunk.is_empty() {
                let _ = sender.blocking_send(Ok(Bytes::from(chunk)));
            }
            Ok(local)
        })
    };
    let answer = client.import(body, default_kind, dry_run).await;
    let mut outcome = writing.await??;
    outcome.add_answer(answer?);
    outcome.elapsed = started.elapsed();
    progress.finish_and_clear();
    Ok(outcome)
}

/// A local dry run: every record validated as the server would, nothing sent.
fn validate<I>(source: I, dry_run: bool, progress: &ProgressBar) -> anyhow::Result<Outcome>
where
    I: Iterator<Item = anyhow::Result<Item>>,
{
    let mut outcome = Outcome::new(dry_run);
    for item in source {
        outcome.records += 1;
        progress.inc(1);
        match item? {
            Item::Invalid { line, message } => {
                outcome.failed += 1;
                outcome.errors.push(line, message);
            }
            Item::Record(record) => match import::record(record.line, record.kind, record.object) {
                Ok(_) => outcome.valid += 1,
                Err(error) => {
                    outcome.failed += 1;
                    outcome.errors.push(record.line, error.message);
                }
            },
        }
    }
    progress.finish_and_clear();
    Ok(outcome)
}

/// `1234567` → `1,234,567`.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    let head = match digits.len() % 3 {
        0 => 3,
        rest => rest,
    };
    out.push_str(&digits[..head]);
    for group in digits.as_bytes()[head..].chunks(3) {
        out.push(',');
        out.push_str(std::str::from_utf8(group).expect("ASCII digits"));
    }
    out
}

/// A rate to three significant figures: 54,945 → 54,900.
fn rate(count: u64, elapsed: Duration) -> String {
    let per_second = count as f64 / elapsed.as_secs_f64().max(1e-6);
    if per_second < 1.0 {
        return format!("{per_second:.2}");
    }
    let magnitude = 10f64.powi(per_second.log10().floor() as i32 - 2).max(1.0);
    grouped(((per_second / magnitude).round() * magnitude) as u64)
}

/// The summary printed on stdout: one line of counts, then the error lines.
pub fn summary(outcome: &Outcome) -> String {
    let head = format!(
        "{} records in {:.1} s ({}/s)",
        grouped(outcome.records),
        outcome.elapsed.as_secs_f64(),
        rate(outcome.records, outcome.elapsed)
    );
    let mut out = match (outcome.dry_run, outcome.sent) {
        (true, false) => format!(
            "validated {head}: {} valid, {} failed (dry run: nothing was sent)",
            grouped(outcome.valid),
            grouped(outcome.failed)
        ),
        (dry_run, true) => {
            let mut line = format!(
                "{} {head}: {} created, {} updated, {} unchanged, {} failed",
                if dry_run { "checked" } else { "imported" },
                grouped(outcome.created),
                grouped(outcome.updated),
                grouped(outcome.unchanged),
                grouped(outcome.failed)
            );
            if outcome.not_found > 0 {
                line += &format!(", {} references not found", grouped(outcome.not_found));
            }
            if dry_run {
                line += " (dry run: nothing was written)";
            }
            line
        }
        (false, false) => unreachable!("an import without a server is a dry run"),
    };
    out.push('\n');
    for (line, message) in outcome.errors.sorted() {
        out += &format!("line {line}: {message}\n");
    }
    let more = outcome.errors.omitted();
    if more > 0 {
        out += &format!("… and {} more\n", grouped(more));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        for (n, text) in [
            (0, "0"),
            (999, "999"),
            (1000, "1,000"),
            (54_945, "54,945"),
            (1_000_000, "1,000,000"),
        ] {
            assert_eq!(grouped(n), text);
        }
        assert_eq!(rate(1_000_000, Duration::from_secs_f64(18.2)), "54,900");
        assert_eq!(rate(42, Duration::from_secs(1)), "42");
    }
}

#[cfg(test)]
mod pipeline_tests {
    use super::super::read::JsonLines;
    use super::*;
    use provisio_directory::ObjectKind;

    #[tokio::test]
    async fn a_local_dry_run_reports_each_bad_line() {
        let input = concat!(
            "{\"userPrincipalName\":\"a@contoso.com\",\"displayName\":\"A\"}\n",
            "{\"userPrincipalName\":\"b@contoso.com\",\"displayName\":\"B\",\"shoeSize\":44}\n",
            "{\"userPrincipalName\":\"c@contoso.com\",\"displayName\":\"C\",\n",
            "\n",
            "{\"displayName\":\"D\"}\n",
        );
        let source = JsonLines::new(std::io::Cursor::new(input), ObjectKind::User);
        let sink = Sink {
            client: None,
            dry_run: true,
            default_kind: ObjectKind::User,
        };
        let outcome = run(source, sink, ProgressBar::hidden()).await.unwrap();
        assert_eq!((outcome.records, outcome.valid, outcome.failed), (4, 1, 3));
        let summary = summary(&outcome);
        let lines: Vec<&str> = summary.lines().skip(1).collect();
        assert_eq!(
            lines,
            [
                "line 2: Property 'shoeSize' does not exist as a declared property or extension property.",
                "line 3: invalid JSON: EOF while parsing a value at column 55",
                "line 5: Property 'userPrincipalName' is required when creating the object.",
            ]
        );
        assert!(summary.starts_with("validated 4 records in "), "{summary}");
        assert!(summary
            .lines()
            .next()
            .unwrap()
            .ends_with(": 1 valid, 3 failed (dry run: nothing was sent)"));
    }
}
