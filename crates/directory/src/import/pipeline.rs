//! An import as one stream of JSON Lines, whatever its size: each line is validated as it
//! arrives, and chunks of [`CHUNK_RECORDS`] records go to a writer task (one transaction
//! per chunk) through a channel one chunk deep, so that reading and validating overlap
//! with writing and memory stays at about three chunks whatever the file size. References
//! to objects of later chunks are kept and written once the stream has ended; those still
//! unresolved then name objects that do not exist.

use std::collections::HashSet;
use std::future::Future;

use super::{parse_line, record, ErrorLines};
use crate::store::{ImportObject, ImportReference, ImportResult, IndexSeek, ObjectRef};
use crate::{Directory, DirectoryError, ObjectKind, ReferenceKind};

/// Records per chunk by default, and so per transaction: large enough that a commit's write-out of
/// the index pages it touched is shared by many records, small enough that other writers
/// wait a fraction of a second between chunks.
pub const CHUNK_RECORDS: usize = 10_000;
/// References per chunk (a group's members count one each), per record of a chunk.
const REFERENCES_PER_RECORD: usize = 2;
/// References written at once when the stream has ended.
const CHUNK_REFERENCES: usize = REFERENCES_PER_RECORD * CHUNK_RECORDS;
/// Error lines listed in a summary (all are counted).
pub const REPORTED_ERRORS: usize = 1000;

/// A line of an import stream: its number (from 1), and its bytes (with or without the
/// line break) or why the reader dropped them.
pub type NumberedLine = (u64, Result<Vec<u8>, String>);

/// Where an import's lines come from, in order.
pub trait ImportLines {
    /// Why the stream broke off: the import stops there.
    type Error;

    /// The next line, `None` at the end of the stream.
    fn next_line(
        &mut self,
    ) -> impl Future<Output = Result<Option<NumberedLine>, Self::Error>> + Send;
}

/// How an import reads its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportOptions {
    /// The kind of records whose `@odata.type` names none.
    pub default_kind: ObjectKind,
    /// Validate and resolve everything, write nothing.
    pub dry_run: bool,
    /// Records per chunk and transaction ([`CHUNK_RECORDS`] unless a test wants chunks
    /// small enough to cross with a few records).
    pub chunk_records: usize,
}

/// What an import did, line by line added up.
#[derive(Debug, Clone)]
pub struct ImportSummary {
    pub dry_run: bool,
    /// Lines that are not blank.
    pub records: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Records refused (unreadable, invalid, or refused by the store).
    pub failed: u64,
    /// References to objects that exist neither in the directory nor in the stream.
    pub not_found: u64,
    /// Every error, the first [`REPORTED_ERRORS`] by line kept.
    pub errors: ErrorLines,
}

/// Why an import stopped before its end.
#[derive(Debug)]
pub enum ImportFailure<E> {
    /// The stream broke off. The chunks completed before it have been written; the records
    /// of the unfinished chunk have not (an import is an upsert: run it again to finish).
    Read(E),
    /// The store failed.
    Directory(DirectoryError),
}

impl<E> From<DirectoryError> for ImportFailure<E> {
    fn from(e: DirectoryError) -> Self {
        ImportFailure::Directory(e)
    }
}

fn reference_name(kind: ReferenceKind) -> &'static str {
    match kind {
        ReferenceKind::Manager => "manager",
        ReferenceKind::Member => "member",
    }
}

/// Records and references validated from consecutive lines, written in one transaction.
#[derive(Default)]
struct Chunk {
    objects: Vec<ImportObject>,
    references: Vec<ImportReference>,
}

impl Chunk {
    fn is_full(&self, records: usize) -> bool {
        self.objects.len() >= records || self.references.len() >= REFERENCES_PER_RECORD * records
    }

    fn is_empty(&self) -> bool {
        self.objects.is_empty() && self.references.is_empty()
    }
}

/// What the writer's answers add up to.
struct Tally {
    summary: ImportSummary,
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
            summary: ImportSummary {
                dry_run,
                records: 0,
                created: 0,
                updated: 0,
                unchanged: 0,
                failed: 0,
                not_found: 0,
                errors: ErrorLines::new(REPORTED_ERRORS),
            },
            failed_lines: HashSet::new(),
            pending: Vec::new(),
            seen: HashSet::new(),
        }
    }

    fn refuse(&mut self, line: u64, message: String) {
        self.summary.failed += 1;
        self.failed_lines.insert(line);
        self.summary.errors.push(line, message);
    }

    fn reference_failed(&mut self, reference: &ImportReference, message: &str) {
        self.summary.errors.push(
            reference.line,
            format!(
                "{} {} → {}: {message}",
                reference_name(reference.kind),
                reference.from,
                reference.to
            ),
        );
    }

    fn not_found(&mut self, reference: &ImportReference, end: &ObjectRef) {
        self.summary.not_found += 1;
        self.summary.errors.push(
            reference.line,
            format!("{} '{end}' not found", reference_name(reference.kind)),
        );
    }

    /// Writes `chunk` and counts what happened.
    async fn write(&mut self, directory: &Directory, chunk: Chunk) -> Result<(), DirectoryError> {
        let dry_run = self.summary.dry_run;
        let lines: Vec<u64> = chunk.objects.iter().map(|o| o.line).collect();
        if dry_run {
            for object in &chunk.objects {
                for r in object.names() {
                    self.seen.insert(seen_key(&r));
                }
            }
        }
        let report = directory
            .import(chunk.objects, chunk.references, dry_run)
            .await?;
        for (line, result) in lines.into_iter().zip(report.objects) {
            match result {
                ImportResult::Created(_) => self.summary.created += 1,
                ImportResult::Updated(_) => self.summary.updated += 1,
                ImportResult::Unchanged(_) => self.summary.unchanged += 1,
                ImportResult::Failed(e) => self.refuse(line, e.message),
            }
        }
        for (reference, e) in &report.failed_references {
            self.reference_failed(reference, &e.message);
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
            .filter(|r| !self.failed_lines.contains(&r.line))
            .collect();
        if self.summary.dry_run {
            for reference in pending {
                for end in [&reference.from, &reference.to] {
                    if !self.seen.contains(&seen_key(end)) && !directory.names_live(end).await? {
                        self.not_found(&reference, end);
                        break;
                    }
                }
            }
            return Ok(());
        }
        let mut references = pending.into_iter().peekable();
        while references.peek().is_some() {
            let chunk: Vec<ImportReference> = references.by_ref().take(CHUNK_REFERENCES).collect();
            let report = directory.import(Vec::new(), chunk, false).await?;
            for (reference, e) in &report.failed_references {
                self.reference_failed(reference, &e.message);
            }
            for reference in report.unresolved {
                self.not_found(&reference, &reference.to);
            }
        }
        Ok(())
    }
}

impl Directory {
    /// Imports a stream of JSON Lines records (users and groups, upserted, with their
    /// manager and member references), and adds up what happened to each line.
    pub async fn import_lines<L: ImportLines>(
        &self,
        mut lines: L,
        options: ImportOptions,
    ) -> Result<ImportSummary, ImportFailure<L::Error>> {
        let (chunks, mut received) = tokio::sync::mpsc::channel::<Chunk>(1);
        let directory = self.clone();
        let writer = tokio::spawn(async move {
            let mut tally = Tally::new(options.dry_run);
            while let Some(chunk) = received.recv().await {
                tally.write(&directory, chunk).await?;
            }
            tally.finish(&directory).await?;
            if !options.dry_run && tally.summary.created + tally.summary.updated > 0 {
                directory.imported().await?;
            }
            Ok::<_, DirectoryError>(tally.summary)
        });
        // Lines refused before reaching the writer (counted, the first kept), and how many
        // records were read.
        let mut refused = ErrorLines::new(REPORTED_ERRORS);
        let mut records = 0u64;
        let mut chunk = Chunk::default();
        let mut read_error = None;
        loop {
            let (line, bytes) = match lines.next_line().await {
                Ok(Some(item)) => item,
                Ok(None) => break,
                Err(e) => {
                    read_error = Some(e);
                    break;
                }
            };
            let parsed = match bytes {
                Err(message) => Some(Err(message)),
                Ok(bytes) => parse_line(line, &bytes, options.default_kind),
            };
            let Some(parsed) = parsed else { continue };
            records += 1;
            match parsed
                .and_then(|(kind, object)| record(line, kind, object).map_err(|e| e.message))
            {
                Ok((object, references)) => {
                    chunk.objects.push(object);
                    chunk.references.extend(references);
                }
                Err(message) => refused.push(line, message),
            }
            if chunk.is_full(options.chunk_records)
                && chunks.send(std::mem::take(&mut chunk)).await.is_err()
            {
                // The writer stopped on an error, reported below.
                break;
            }
        }
        // A stream that broke off ends at its last complete chunk.
        if read_error.is_none() && !chunk.is_empty() {
            let _ = chunks.send(chunk).await;
        }
        drop(chunks);
        let written = writer
            .await
            .map_err(|e| DirectoryError::internal(format!("the import writer failed: {e}")))?;
        if let Some(e) = read_error {
            return Err(ImportFailure::Read(e));
        }
        let mut summary = written?;
        summary.records = records;
        summary.failed += refused.total;
        summary.errors.merge(refused);
        Ok(summary)
    }

    /// Whether the live object `r` names exists.
    async fn names_live(&self, r: &ObjectRef) -> Result<bool, DirectoryError> {
        Ok(match r {
            ObjectRef::Id(id) => self.find(*id).await?.is_some_and(|o| o.deleted.is_none()),
            ObjectRef::UserPrincipalName(upn) => self
                .lookup(ObjectKind::User, IndexSeek::UserPrincipalName, upn)
                .await?
                .is_some(),
            ObjectRef::MailNickname(nick) => self
                .lookup(ObjectKind::Group, IndexSeek::MailNickname, nick)
                .await?
                .is_some(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::{DirectoryConfig, MemoryDirectory};

    /// Lines from memory; `broken_after` makes the stream fail after that many lines.
    struct Lines {
        lines: std::vec::IntoIter<String>,
        number: u64,
        broken_after: Option<u64>,
    }

    fn lines(lines: Vec<String>) -> Lines {
        Lines {
            lines: lines.into_iter(),
            number: 0,
            broken_after: None,
        }
    }

    impl ImportLines for Lines {
        type Error = String;

        async fn next_line(&mut self) -> Result<Option<NumberedLine>, String> {
            if self.broken_after == Some(self.number) {
                return Err("connection reset".to_string());
            }
            Ok(self.lines.next().map(|line| {
                self.number += 1;
                (self.number, Ok(line.into_bytes()))
            }))
        }
    }

    fn directory() -> Directory {
        Directory::new(Arc::new(MemoryDirectory::new()), DirectoryConfig::default())
    }

    fn user(n: usize, manager: Option<usize>) -> String {
        let mut user = json!({
            "userPrincipalName": format!("u{n}@contoso.test"),
            "displayName": format!("User {n}")
        });
        if let Some(m) = manager {
            user["manager"] = json!(format!("u{m}@contoso.test"));
        }
        user.to_string()
    }

    /// Chunks of 100 records, so that a few hundred cross them.
    const USERS: ImportOptions = ImportOptions {
        default_kind: ObjectKind::User,
        dry_run: false,
        chunk_records: 100,
    };

    #[tokio::test]
    async fn references_to_later_chunks_are_set_once_the_stream_ends() {
        let d = directory();
        // Every user's manager comes later in the file, most in a later chunk.
        let n = 2 * USERS.chunk_records + 50;
        let records: Vec<String> = (0..n)
            .map(|i| user(i, (i + 1 < n).then_some(i + 1)))
            .collect();
        let summary = d.import_lines(lines(records), USERS).await.expect("import");
        assert_eq!((summary.records, summary.created), (n as u64, n as u64));
        assert_eq!(
            (summary.failed, summary.not_found),
            (0, 0),
            "{:?}",
            summary.errors.sorted()
        );
        let first = d
            .lookup(
                ObjectKind::User,
                IndexSeek::UserPrincipalName,
                "u0@contoso.test",
            )
            .await
            .expect("lookup")
            .expect("u0");
        let manager = d.manager(first).await.expect("u0's manager");
        assert_eq!(manager.data["userPrincipalName"], "u1@contoso.test");
    }

    #[tokio::test]
    async fn a_dry_run_checks_every_reference_and_writes_nothing() {
        let d = directory();
        let before = d.watermark().await.expect("watermark");
        let records = vec![
            user(1, Some(2)),
            user(2, Some(404)),
            String::new(),
            "{\"userPrincipalName\": \"broken@contoso.test\"".to_string(),
            json!({"userPrincipalName": "x@contoso.test", "shoeSize": 9}).to_string(),
        ];
        let options = ImportOptions {
            dry_run: true,
            ..USERS
        };
        let summary = d
            .import_lines(lines(records), options)
            .await
            .expect("import");
        assert!(summary.dry_run);
        assert_eq!(summary.records, 4, "the blank line is no record");
        assert_eq!(
            (summary.created, summary.failed, summary.not_found),
            (2, 2, 1)
        );
        let errors: Vec<u64> = summary
            .errors
            .sorted()
            .into_iter()
            .map(|(l, _)| l)
            .collect();
        assert_eq!(errors, [2, 4, 5], "{:?}", summary.errors.sorted());
        assert_eq!(d.count(ObjectKind::User).await.expect("count"), 0);
        assert_eq!(
            d.watermark().await.expect("watermark"),
            before,
            "no change record"
        );
    }

    #[tokio::test]
    async fn a_second_import_of_the_same_lines_changes_nothing() {
        let d = directory();
        let records: Vec<String> = (0..20).map(|i| user(i, (i > 0).then_some(0))).collect();
        let first = d
            .import_lines(lines(records.clone()), USERS)
            .await
            .expect("first");
        assert_eq!(first.created, 20);
        let watermark = d.watermark().await.expect("watermark");
        let again = d.import_lines(lines(records), USERS).await.expect("again");
        assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 20));
        assert_eq!(d.watermark().await.expect("watermark"), watermark);
    }

    #[tokio::test]
    async fn a_broken_stream_stops_the_import_after_what_was_read() {
        let d = directory();
        let records: Vec<String> = (0..10).map(|i| user(i, None)).collect();
        let mut stream = lines(records);
        stream.broken_after = Some(4);
        match d.import_lines(stream, USERS).await {
            Err(ImportFailure::Read(error)) => assert_eq!(error, "connection reset"),
            other => panic!("expected the read error, got {other:?}"),
        }
        // The records of the unfinished chunk are not written.
        assert_eq!(d.count(ObjectKind::User).await.expect("count"), 0);
    }
}
