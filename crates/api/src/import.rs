//! `POST /admin/directory/import`: a JSON Lines stream of users and groups from `provisio
//! directory import` (upserted, with manager and member references by userPrincipalName,
//! group mailNickname or id), and `GET /admin/directory/changes`: the change log after a
//! watermark.
//!
//! An import is one request whatever its size. The handler reads the body as it arrives,
//! validates each line, and hands chunks of [`CHUNK_RECORDS`] records to a writer task
//! (one transaction per chunk) through a channel one chunk deep: reading and validating
//! overlap with writing, and memory stays at about three chunks whatever the file size.
//! References to objects of later chunks are kept and written once the stream has ended;
//! those still unresolved then name objects that do not exist.

use std::collections::HashSet;

use axum::body::Body;
use axum::extract::{OriginalUri, Request, State};
use axum::response::IntoResponse;
use axum::Json;
use http_body_util::BodyExt;
use provisio_directory::import::{parse_line, record, ErrorLines};
use provisio_directory::{
    Directory, DirectoryError, ImportObject, ImportReference, ImportResult, IndexSeek, ObjectKind,
    ObjectRef, ReferenceKind,
};
use serde_json::{json, Map, Value};

use crate::handlers::ApiResult;
use crate::{ApiState, GraphError};

/// Records per chunk, and so per transaction: large enough that a commit's write-out of
/// the index pages it touched is shared by many records, small enough that other writers
/// wait a fraction of a second between chunks.
pub const CHUNK_RECORDS: usize = 10_000;
/// References per chunk (a group's members count one each).
const CHUNK_LINKS: usize = 20_000;
/// The longest line a stream may carry (a group with about 300,000 members).
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;
/// Error lines listed in the answer (all are counted).
pub const REPORTED_ERRORS: usize = 1000;

fn link_name(link: ReferenceKind) -> &'static str {
    match link {
        ReferenceKind::Manager => "manager",
        ReferenceKind::Member => "member",
    }
}

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

/// Records and references validated from consecutive lines, written in one transaction.
#[derive(Default)]
struct Chunk {
    objects: Vec<ImportObject>,
    links: Vec<ImportReference>,
}

impl Chunk {
    fn is_full(&self) -> bool {
        self.objects.len() >= CHUNK_RECORDS || self.links.len() >= CHUNK_LINKS
    }

    fn is_empty(&self) -> bool {
        self.objects.is_empty() && self.links.is_empty()
    }
}

/// What the stream's lines and the writer's answers add up to.
struct Tally {
    dry_run: bool,
    records: u64,
    created: u64,
    updated: u64,
    unchanged: u64,
    failed: u64,
    not_found: u64,
    errors: ErrorLines,
    /// Lines of records refused: their unresolved references are not reported again.
    failed_lines: HashSet<u64>,
    /// References whose ends were not written yet when their chunk was.
    pending: Vec<ImportReference>,
    /// A dry run writes nothing, so references between chunks cannot be resolved by the
    /// store: the keys of the valid records seen stand in for them.
    seen: HashSet<String>,
}

/// The key under which a dry run remembers a record, and looks up a reference to it.
fn seen_key(r: &ObjectRef) -> String {
    match r {
        ObjectRef::Id(id) => id.to_string(),
        ObjectRef::UserPrincipalName(upn) => format!("u:{}", upn.to_lowercase()),
        ObjectRef::MailNickname(nick) => format!("g:{}", nick.to_lowercase()),
    }
}

impl Tally {
    fn new(dry_run: bool) -> Self {
        Tally {
            dry_run,
            records: 0,
            created: 0,
            updated: 0,
            unchanged: 0,
            failed: 0,
            not_found: 0,
            errors: ErrorLines::new(REPORTED_ERRORS),
            failed_lines: HashSet::new(),
            pending: Vec::new(),
            seen: HashSet::new(),
        }
    }

    fn refuse(&mut self, line: u64, message: String) {
        self.failed += 1;
        self.failed_lines.insert(line);
        self.errors.push(line, message);
    }

    fn link_failed(&mut self, link: &ImportReference, message: &str) {
        self.errors.push(
            link.line,
            format!(
                "{} {} → {}: {message}",
                link_name(link.kind),
                link.from,
                link.to
            ),
        );
    }

    /// Writes `chunk` and counts what happened.
    async fn write(&mut self, directory: &Directory, chunk: Chunk) -> Result<(), DirectoryError> {
        let lines: Vec<u64> = chunk.objects.iter().map(|o| o.line).collect();
        if self.dry_run {
            for object in &chunk.objects {
                for r in object.names() {
                    self.seen.insert(seen_key(&r));
                }
            }
        }
        let report = directory
            .import(chunk.objects, chunk.links, self.dry_run)
            .await?;
        for (line, result) in lines.into_iter().zip(report.objects) {
            match result {
                ImportResult::Created(_) => self.created += 1,
                ImportResult::Updated(_) => self.updated += 1,
                ImportResult::Unchanged(_) => self.unchanged += 1,
                ImportResult::Failed(e) => self.refuse(line, e.message),
            }
        }
        for (link, e) in &report.failed_references {
            self.link_failed(link, &e.message);
        }
        self.pending.extend(report.unresolved);
        Ok(())
    }

    /// Once every record has been written: the references that named records of later
    /// chunks are written now; those still unresolved name nothing.
    async fn finish(&mut self, directory: &Directory) -> Result<(), DirectoryError> {
        let pending = std::mem::take(&mut self.pending);
        let pending: Vec<ImportReference> = pending
            .into_iter()
            .filter(|l| !self.failed_lines.contains(&l.line))
            .collect();
        if self.dry_run {
            for link in pending {
                for end in [&link.from, &link.to] {
                    if !self.seen.contains(&seen_key(end)) && !exists(directory, end).await? {
                        self.not_found(&link, end);
                        break;
                    }
                }
            }
            return Ok(());
        }
        let mut links = pending.into_iter().peekable();
        while links.peek().is_some() {
            let chunk: Vec<ImportReference> = links.by_ref().take(CHUNK_LINKS).collect();
            let report = directory.import(Vec::new(), chunk, false).await?;
            for (link, e) in &report.failed_references {
                self.link_failed(link, &e.message);
            }
            for link in report.unresolved {
                self.not_found(&link, &link.to);
            }
        }
        Ok(())
    }

    fn not_found(&mut self, link: &ImportReference, end: &ObjectRef) {
        self.not_found += 1;
        self.errors.push(
            link.line,
            format!("{} '{end}' not found", link_name(link.kind)),
        );
    }

    fn answer(&self) -> Value {
        let errors: Vec<Value> = self
            .errors
            .sorted()
            .into_iter()
            .map(|(line, message)| json!({"line": line, "message": message}))
            .collect();
        json!({
            "dryRun": self.dry_run,
            "records": self.records,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "notFound": self.not_found,
            "errors": errors,
            "errorsOmitted": self.errors.omitted(),
        })
    }
}

/// Whether the live object `r` names exists in the directory.
async fn exists(directory: &Directory, r: &ObjectRef) -> Result<bool, DirectoryError> {
    let store = directory.store();
    Ok(match r {
        ObjectRef::Id(id) => store
            .get_any(*id)
            .await?
            .is_some_and(|o| o.deleted.is_none()),
        ObjectRef::UserPrincipalName(upn) => store
            .lookup(ObjectKind::User, IndexSeek::UserPrincipalName, upn)
            .await?
            .is_some(),
        ObjectRef::MailNickname(nick) => store
            .lookup(ObjectKind::Group, IndexSeek::MailNickname, nick)
            .await?
            .is_some(),
    })
}

/// A line of a stream: its number, and its bytes or why they were dropped.
type Line = (u64, Result<Vec<u8>, String>);

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

pub async fn import(
    State(state): State<ApiState>,
    OriginalUri(uri): OriginalUri,
    req: Request,
) -> ApiResult {
    let (default_kind, dry_run) = stream_options(&uri)?;
    let mut lines = Lines::new(req.into_body(), MAX_LINE_BYTES);
    let (chunks, mut received) = tokio::sync::mpsc::channel::<Chunk>(1);
    let directory = state.directory.clone();
    let writer = tokio::spawn(async move {
        let mut tally = Tally::new(dry_run);
        while let Some(chunk) = received.recv().await {
            tally.write(&directory, chunk).await?;
        }
        tally.finish(&directory).await?;
        if !tally.dry_run && tally.created + tally.updated > 0 {
            directory.imported().await?;
        }
        Ok::<_, DirectoryError>(tally)
    });
    // Lines refused before reaching the writer (counted, the first kept), and how many
    // records were read.
    let mut refused = ErrorLines::new(REPORTED_ERRORS);
    let mut records = 0u64;
    let mut chunk = Chunk::default();
    let mut read_error = None;
    loop {
        let (line, bytes) = match lines.next().await {
            Ok(Some(item)) => item,
            Ok(None) => break,
            Err(e) => {
                read_error = Some(e);
                break;
            }
        };
        let parsed = match bytes {
            Err(message) => Some(Err(message)),
            Ok(bytes) => parse_line(line, &bytes, default_kind),
        };
        let Some(parsed) = parsed else { continue };
        records += 1;
        match parsed.and_then(|(kind, object)| record(line, kind, object).map_err(|e| e.message)) {
            Ok((object, links)) => {
                chunk.objects.push(object);
                chunk.links.extend(links);
            }
            Err(message) => refused.push(line, message),
        }
        if chunk.is_full() && chunks.send(std::mem::take(&mut chunk)).await.is_err() {
            // The writer stopped on an error, reported below.
            break;
        }
    }
    if read_error.is_none() && !chunk.is_empty() {
        let _ = chunks.send(chunk).await;
    }
    drop(chunks);
    let written = writer
        .await
        .map_err(|e| DirectoryError::internal(format!("the import writer failed: {e}")))?;
    if let Some(e) = read_error {
        return Err(e);
    }
    let mut tally = written?;
    tally.records = records;
    tally.failed += refused.total;
    tally.errors.merge(refused);
    Ok(Json(tally.answer()).into_response())
}

/// `GET /admin/directory/changes?after=SEQ&top=N`.
pub async fn changes(State(state): State<ApiState>, OriginalUri(uri): OriginalUri) -> ApiResult {
    let mut after = 0i64;
    let mut top = 1000usize;
    for (k, v) in form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "after" => {
                after = v.parse().map_err(|_| {
                    GraphError::bad_request(format!(
                        "Invalid watermark '{v}': expected an integer."
                    ))
                })?
            }
            "top" => {
                top = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=10_000).contains(n))
                    .ok_or_else(|| {
                        GraphError::bad_request(format!("Invalid top '{v}': expected 1 to 10000."))
                    })?
            }
            other => {
                return Err(GraphError::bad_request(format!(
                    "Query option '{other}' is not allowed: use after and top."
                )))
            }
        }
    }
    let store = state.directory.store();
    let changes = store
        .changes_since(after, top)
        .await
        .map_err(DirectoryError::from)?;
    let watermark = changes.last().map_or(after, |c| c.seq);
    let mut out = Map::new();
    out.insert("watermark".to_string(), Value::from(watermark));
    out.insert(
        "value".to_string(),
        serde_json::to_value(&changes).unwrap_or(Value::Array(Vec::new())),
    );
    Ok(Json(Value::Object(out)).into_response())
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
