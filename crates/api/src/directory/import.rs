//! `POST /admin/directory/import`: a JSON Lines stream of users and groups from `provisio
//! directory import` (upserted, with manager and member references by userPrincipalName,
//! group mailNickname or id).
//!
//! An import is one request whatever its size. The handler splits the body into numbered
//! lines as it arrives and hands them to the directory's import pipeline
//! ([`provisio_directory::Directory::import_lines`]), which validates and writes them chunk
//! by chunk.

use axum::body::Body;
use axum::extract::{OriginalUri, Request, State};
use axum::response::IntoResponse;
use axum::Json;
use http_body_util::BodyExt;
use provisio_directory::import::{
    ImportFailure, ImportLines, ImportOptions, ImportSummary, NumberedLine, CHUNK_RECORDS,
};
use provisio_directory::ObjectKind;
use serde_json::{json, Value};

use crate::ApiResult;
use crate::{ApiState, GraphError};

/// The longest line a stream may carry (a group with about 300,000 members).
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// `?type=user|group&dryRun=true|false`.
fn stream_options(uri: &http::Uri) -> Result<(ObjectKind, bool), GraphError> {
    let mut kind = ObjectKind::User;
    let mut dry_run = false;
    for (k, v) in form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "type" => {
                kind = match v.as_ref() {
                    "user" => ObjectKind::User,
                    "group" => ObjectKind::Group,
                    other => {
                        return Err(GraphError::bad_request(format!(
                            "Invalid type '{other}': expected user or group."
                        )))
                    }
                }
            }
            "dryRun" => {
                dry_run = match v.as_ref() {
                    "true" => true,
                    "false" => false,
                    other => {
                        return Err(GraphError::bad_request(format!(
                            "Invalid dryRun '{other}': expected true or false."
                        )))
                    }
                }
            }
            other => {
                return Err(GraphError::bad_request(format!(
                    "Query option '{other}' is not allowed: use type and dryRun."
                )))
            }
        }
    }
    Ok((kind, dry_run))
}

/// The answer to an import: its counts and the first error lines.
fn answer(summary: &ImportSummary) -> Value {
    let errors: Vec<Value> = summary
        .errors
        .sorted()
        .into_iter()
        .map(|(line, message)| json!({"line": line, "message": message}))
        .collect();
    json!({
        "dryRun": summary.dry_run,
        "records": summary.records,
        "created": summary.created,
        "updated": summary.updated,
        "unchanged": summary.unchanged,
        "failed": summary.failed,
        "notFound": summary.not_found,
        "errors": errors,
        "errorsOmitted": summary.errors.omitted(),
    })
}

/// A line of a stream: its number, and its bytes or why they were dropped.
type Line = NumberedLine;

/// Splits a body into lines as its frames arrive, whatever the frame boundaries.
struct Lines {
    body: Body,
    /// The longest line kept; longer ones are reported, not held.
    max_line: usize,
    /// Bytes of the line being assembled.
    partial: Vec<u8>,
    /// Lines completed from the last frame, not yet handed out.
    ready: std::collections::VecDeque<Line>,
    line: u64,
    /// The current line passed `max_line`: its bytes are dropped up to its end.
    overlong: bool,
    ended: bool,
}

impl Lines {
    fn new(body: Body, max_line: usize) -> Self {
        Lines {
            body,
            max_line,
            partial: Vec::new(),
            ready: std::collections::VecDeque::new(),
            line: 0,
            overlong: false,
            ended: false,
        }
    }

    fn complete(&mut self) {
        self.line += 1;
        let bytes = std::mem::take(&mut self.partial);
        let overlong = std::mem::take(&mut self.overlong) || bytes.len() > self.max_line;
        let item = if overlong {
            Err(format!(
                "the line is longer than the limit of {} bytes",
                self.max_line
            ))
        } else {
            Ok(bytes)
        };
        self.ready.push_back((self.line, item));
    }

    fn take(&mut self, mut bytes: &[u8]) {
        while let Some(end) = bytes.iter().position(|b| *b == b'\n') {
            if !self.overlong {
                self.partial.extend_from_slice(&bytes[..end]);
            }
            self.complete();
            bytes = &bytes[end + 1..];
        }
        if !self.overlong {
            self.partial.extend_from_slice(bytes);
            if self.partial.len() > self.max_line {
                self.partial = Vec::new();
                self.overlong = true;
            }
        }
    }

    /// The next line (number, bytes or why it was dropped), `None` at the end of the body.
    async fn next(&mut self) -> Result<Option<Line>, GraphError> {
        loop {
            if let Some(item) = self.ready.pop_front() {
                return Ok(Some(item));
            }
            if self.ended {
                return Ok(None);
            }
            match self.body.frame().await {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.take(&data);
                    }
                }
                Some(Err(e)) => {
                    return Err(GraphError::bad_request(format!(
                        "The request body could not be read after line {}: {e}",
                        self.line
                    )))
                }
                None => {
                    self.ended = true;
                    if !self.partial.is_empty() || self.overlong {
                        self.complete();
                    }
                }
            }
        }
    }
}

impl ImportLines for Lines {
    type Error = GraphError;

    async fn next_line(&mut self) -> Result<Option<NumberedLine>, GraphError> {
        self.next().await
    }
}

pub async fn import(
    State(state): State<ApiState>,
    OriginalUri(uri): OriginalUri,
    req: Request,
) -> ApiResult {
    let (default_kind, dry_run) = stream_options(&uri)?;
    let lines = Lines::new(req.into_body(), MAX_LINE_BYTES);
    let options = ImportOptions {
        default_kind,
        dry_run,
        chunk_records: CHUNK_RECORDS,
    };
    match state.directory.import_lines(lines, options).await {
        Ok(summary) => Ok(Json(answer(&summary)).into_response()),
        Err(ImportFailure::Read(e)) => Err(e),
        Err(ImportFailure::Directory(e)) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every line `Lines` yields for `frames`.
    fn split(frames: Vec<Vec<u8>>, max_line: usize) -> Vec<Line> {
        let stream = futures::stream::iter(frames.into_iter().map(Ok::<_, std::io::Error>));
        let mut lines = Lines::new(Body::from_stream(stream), max_line);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        runtime.block_on(async {
            let mut out = Vec::new();
            while let Some(line) = lines.next().await.expect("a readable body") {
                out.push(line);
            }
            out
        })
    }

    fn too_long(max: usize) -> String {
        format!("the line is longer than the limit of {max} bytes")
    }

    #[test]
    fn lines_across_frames() {
        let max = 8;
        type Case<'a> = (Vec<&'a [u8]>, Vec<Result<&'a [u8], String>>);
        let cases: Vec<Case> = vec![
            (vec![b"a\nb"], vec![Ok(b"a"), Ok(b"b")]),
            (vec![b"a\n", b"b\n"], vec![Ok(b"a"), Ok(b"b")]),
            (vec![b"a", b"b", b"\nc"], vec![Ok(b"ab"), Ok(b"c")]),
            (vec![b"\n\n"], vec![Ok(b""), Ok(b"")]),
            (vec![], vec![]),
            (vec![b"", b""], vec![]),
            (vec![b"12345678\n"], vec![Ok(b"12345678")]),
            (vec![b"123456789\nok"], vec![Err(too_long(max)), Ok(b"ok")]),
            (
                vec![b"12345", b"6789", b"0123\nok\n"],
                vec![Err(too_long(max)), Ok(b"ok")],
            ),
            (vec![b"123456789"], vec![Err(too_long(max))]),
        ];
        for (frames, expected) in cases {
            let got = split(frames.iter().map(|f| f.to_vec()).collect(), max);
            let expected: Vec<Line> = expected
                .into_iter()
                .enumerate()
                .map(|(i, e)| (i as u64 + 1, e.map(<[u8]>::to_vec)))
                .collect();
            assert_eq!(got, expected, "{frames:?}");
        }
    }

    proptest! {
        /// However the body is cut into frames, the lines are the same: numbered from 1,
        /// without their line break, the ones over the limit reported as such.
        #[test]
        fn frame_boundaries_do_not_matter(
            lines in proptest::collection::vec(proptest::collection::vec(
                prop_oneof![Just(b'x'), Just(b' '), Just(b'\r'), any::<u8>()
                    .prop_filter("no line break", |b| *b != b'\n')], 0..20), 0..12),
            trailing_newline in any::<bool>(),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..10),
        ) {
            let max = 10;
            let mut body = lines.join(&b'\n');
            if trailing_newline && !lines.is_empty() {
                body.push(b'\n');
            }
            let mut points: Vec<usize> = cuts.iter().map(|c| c.index(body.len() + 1)).collect();
            points.push(0);
            points.push(body.len());
            points.sort_unstable();
            let frames: Vec<Vec<u8>> =
                points.windows(2).map(|w| body[w[0]..w[1]].to_vec()).collect();
            let mut expected: Vec<Line> = lines
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    let item = if l.len() > max { Err(too_long(max)) } else { Ok(l.clone()) };
                    (i as u64 + 1, item)
                })
                .collect();
            // A last line without a break counts only when it has bytes.
            if !trailing_newline && lines.last().is_some_and(Vec::is_empty) {
                expected.pop();
            }
            prop_assert_eq!(split(frames, max), expected);
        }
    }
}
