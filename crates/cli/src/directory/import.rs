//! The import pipeline shared by `directory import` and `directory seed --url`: records are
//! validated locally (as the server will), gathered into batches, and sent with bounded
//! concurrency; links the server could not resolve yet are sent once more at the end.
//!
//! Memory stays flat: a blocking thread reads and validates, handing over full batches
//! through a channel as deep as the concurrency, so at most about `2 × concurrency` batches
//! exist at once; what grows is only the list of unresolved links (and of failed lines).

use std::collections::{BinaryHeap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use indicatif::ProgressBar;
use provisio_engine::directory::{import, ImportLink, LinkKind};

use super::client::{Batch, Client, Response, WireLink, WireRecord, MAX_ITEMS_PER_REQUEST};
use super::read::Item;

/// How many error lines the summary prints.
pub const PRINTED_ERRORS: usize = 100;

/// Where validated records go and how.
pub struct Sink {
    /// `None`: a local dry run, nothing is sent.
    pub client: Option<Arc<Client>>,
    pub batch_size: usize,
    pub concurrency: usize,
    pub dry_run: bool,
}

/// What an import did, for the summary.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Records read, valid or not.
    pub records: u64,
    /// Records that passed local validation.
    pub valid: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Records refused locally or by the server.
    pub failed: u64,
    /// Links whose other end was still missing after the second pass.
    pub not_found: u64,
    /// Links a dry run could not check (their ends are in other batches, never written).
    pub unchecked_links: u64,
    pub errors: Errors,
    pub elapsed: Duration,
    /// Whether batches went to a server.
    pub sent: bool,
    pub dry_run: bool,
}

impl Outcome {
    /// Whether any line failed (exit code 1).
    pub fn has_failures(&self) -> bool {
        self.errors.total > 0
    }
}

/// Error lines: all counted, the [`PRINTED_ERRORS`] with the smallest line numbers kept, so
/// that what is printed does not depend on the order in which concurrent batches finished.
#[derive(Debug, Default)]
pub struct Errors {
    kept: BinaryHeap<(u64, String)>,
    pub total: u64,
}

impl Errors {
    pub fn push(&mut self, line: u64, message: String) {
        self.total += 1;
        self.kept.push((line, message));
        if self.kept.len() > PRINTED_ERRORS {
            self.kept.pop();
        }
    }

    pub fn merge(&mut self, other: Errors) {
        self.total += other.total;
        for kept in other.kept {
            self.kept.push(kept);
            if self.kept.len() > PRINTED_ERRORS {
                self.kept.pop();
            }
        }
    }

    /// The kept errors by line.
    pub fn sorted(&self) -> Vec<(u64, String)> {
        self.kept.clone().into_sorted_vec()
    }
}

/// Validates and sends every record `source` yields.
pub async fn run<I>(source: I, sink: Sink, progress: ProgressBar) -> anyhow::Result<Outcome>
where
    I: Iterator<Item = anyhow::Result<Item>> + Send + 'static,
{
    let started = Instant::now();
    let concurrency = sink.concurrency.max(1);
    let (batches, mut received) = tokio::sync::mpsc::channel::<Batch>(concurrency);
    let sending = sink.client.is_some();
    let batch_size = sink.batch_size.clamp(1, MAX_ITEMS_PER_REQUEST);
    let dry_run = sink.dry_run;
    let reading = {
        let progress = progress.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<Outcome> {
            let mut local = Outcome::default();
            let mut batcher = Batcher::new(batch_size, dry_run);
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
                local.records += 1;
                if !sending {
                    progress.inc(1);
                }
                let object = sending.then(|| record.object.clone());
                match import::record(record.line, record.kind, record.object) {
                    Err(error) => {
                        local.failed += 1;
                        local.errors.push(record.line, error.message);
                    }
                    Ok((_, links)) => {
                        local.valid += 1;
                        let Some(object) = object else { continue };
                        let wire = WireRecord {
                            line: record.line,
                            kind: record.kind.as_str(),
                            object,
                        };
                        for batch in batcher.push(wire, &links) {
                            if batches.blocking_send(batch).is_err() {
                                // The sender stopped on an error it reports itself.
                                return Ok(local);
                            }
                        }
                    }
                }
            }
            if let Some(batch) = batcher.finish() {
                let _ = batches.blocking_send(batch);
            }
            Ok(local)
        })
    };

    let mut remote = Remote::default();
    if let Some(client) = &sink.client {
        let stream = futures::stream::poll_fn(move |cx| received.poll_recv(cx));
        let mut answers = stream
            .map(|batch| {
                let client = client.clone();
                async move {
                    let records = batch.records.len() as u64;
                    client.send(&batch).await.map(|answer| (records, answer))
                }
            })
            .buffer_unordered(concurrency);
        while let Some(answer) = answers.next().await {
            let (records, answer) = answer?;
            progress.inc(records);
            remote.first_pass(answer);
        }
    } else {
        drop(received);
    }
    let mut outcome = reading.await??;
    if let Some(client) = &sink.client {
        if dry_run {
            outcome.unchecked_links = remote.unresolved.len() as u64;
        } else {
            remote.second_pass(client, batch_size, concurrency).await?;
        }
    }
    outcome.created = remote.created;
    outcome.updated = remote.updated;
    outcome.unchanged = remote.unchanged;
    outcome.failed += remote.failed;
    outcome.not_found = remote.not_found;
    outcome.errors.merge(remote.errors);
    outcome.elapsed = started.elapsed();
    outcome.sent = sending;
    outcome.dry_run = dry_run;
    progress.finish_and_clear();
    Ok(outcome)
}

/// What the server answered, summed over batches.
#[derive(Default)]
struct Remote {
    created: u64,
    updated: u64,
    unchanged: u64,
    failed: u64,
    not_found: u64,
    errors: Errors,
    /// Lines the server refused: their unresolved links are not reported again.
    failed_lines: HashSet<u64>,
    unresolved: Vec<WireLink>,
}

impl Remote {
    fn tally(&mut self, answer: &Response) {
        self.created += answer.created;
        self.updated += answer.updated;
        self.unchanged += answer.unchanged;
        self.failed += answer.failed;
        for error in &answer.errors {
            self.failed_lines.insert(error.line);
            self.errors.push(error.line, error.message.clone());
        }
    }

    fn first_pass(&mut self, answer: Response) {
        self.tally(&answer);
        self.unresolved.extend(answer.unresolved);
    }

    /// Sends the links left unresolved once more, now that every object has been written;
    /// those still unresolved name objects that do not exist.
    async fn second_pass(
        &mut self,
        client: &Arc<Client>,
        batch_size: usize,
        concurrency: usize,
    ) -> anyhow::Result<()> {
        let unresolved = std::mem::take(&mut self.unresolved);
        let mut chunks = Vec::new();
        let mut links = unresolved.into_iter().peekable();
        while links.peek().is_some() {
            chunks.push(Batch {
                dry_run: false,
                records: Vec::new(),
                links: links.by_ref().take(batch_size).collect(),
            });
        }
        let mut answers = futures::stream::iter(chunks)
            .map(|batch| {
                let client = client.clone();
                async move { client.send(&batch).await }
            })
            .buffer_unordered(concurrency);
        while let Some(answer) = answers.next().await {
            let answer = answer?;
            self.tally(&answer);
            for link in answer.unresolved {
                if self.failed_lines.contains(&link.line) {
                    continue;
                }
                self.not_found += 1;
                self.errors
                    .push(link.line, format!("{} '{}' not found", link.link, link.to));
            }
        }
        Ok(())
    }
}

/// Gathers records into batches of at most `batch_size` items and
/// [`MAX_ITEMS_PER_REQUEST`] records plus links.
struct Batcher {
    batch_size: usize,
    dry_run: bool,
    current: Batch,
    /// Records plus the links they carry plus standalone links in `current`.
    weight: usize,
}

impl Batcher {
    fn new(batch_size: usize, dry_run: bool) -> Self {
        Batcher {
            batch_size,
            dry_run,
            current: Batch {
                dry_run,
                ..Batch::default()
            },
            weight: 0,
        }
    }

    fn take(&mut self) -> Batch {
        self.weight = 0;
        std::mem::replace(
            &mut self.current,
            Batch {
                dry_run: self.dry_run,
                ..Batch::default()
            },
        )
    }

    fn make_room(&mut self, weight: usize, done: &mut Vec<Batch>) {
        let items = self.current.records.len() + self.current.links.len();
        if items > 0 && (items >= self.batch_size || self.weight + weight > MAX_ITEMS_PER_REQUEST) {
            done.push(self.take());
        }
    }

    /// Adds a valid record whose references are `links`; returns the batches it filled.
    fn push(&mut self, mut record: WireRecord, links: &[ImportLink]) -> Vec<Batch> {
        let mut done = Vec::new();
        let mut weight = 1 + links.len();
        let mut standalone = Vec::new();
        if weight > MAX_ITEMS_PER_REQUEST {
            // A group too large for one request: its members travel as links of their own.
            if let Some(key) = record
                .object
                .keys()
                .find(|k| k.eq_ignore_ascii_case("members"))
                .cloned()
            {
                record.object.remove(&key);
            }
            standalone = links
                .iter()
                .filter(|l| l.link == LinkKind::Member)
                .map(wire_link)
                .collect();
            weight -= standalone.len();
        }
        self.make_room(weight, &mut done);
        self.current.records.push(record);
        self.weight += weight;
        for link in standalone {
            self.make_room(1, &mut done);
            self.current.links.push(link);
            self.weight += 1;
        }
        done
    }

    fn finish(mut self) -> Option<Batch> {
        let empty = self.current.records.is_empty() && self.current.links.is_empty();
        (!empty).then(|| self.take())
    }
}

fn wire_link(link: &ImportLink) -> WireLink {
    WireLink {
        line: link.line,
        from: link.from.to_string(),
        link: match link.link {
            LinkKind::Manager => "manager",
            LinkKind::Member => "member",
        }
        .to_string(),
        to: link.to.to_string(),
    }
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
                line += " (dry run: nothing was written";
                if outcome.unchecked_links > 0 {
                    line += &format!(
                        "; {} references to objects in other batches were not checked",
                        grouped(outcome.unchecked_links)
                    );
                }
                line += ")";
            }
            line
        }
        (false, false) => unreachable!("an import without a server is a dry run"),
    };
    out.push('\n');
    for (line, message) in outcome.errors.sorted() {
        out += &format!("line {line}: {message}\n");
    }
    let more = outcome
        .errors
        .total
        .saturating_sub(outcome.errors.kept.len() as u64);
    if more > 0 {
        out += &format!("… and {} more\n", grouped(more));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use provisio_engine::directory::ObjectRef;
    use serde_json::Map;

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

    #[test]
    fn errors_keep_the_first_lines_whatever_the_order() {
        let mut errors = Errors::default();
        for line in (1..=250).rev() {
            errors.push(line, format!("bad {line}"));
        }
        let kept = errors.sorted();
        assert_eq!(errors.total, 250);
        assert_eq!(kept.len(), PRINTED_ERRORS);
        assert_eq!(kept[0], (1, "bad 1".to_string()));
        assert_eq!(kept[99].0, 100);
    }

    fn record(line: u64) -> WireRecord {
        WireRecord {
            line,
            kind: "user",
            object: Map::new(),
        }
    }

    fn member(line: u64, i: usize) -> ImportLink {
        ImportLink {
            line,
            from: ObjectRef::MailNickname("big".into()),
            link: LinkKind::Member,
            to: ObjectRef::UserPrincipalName(format!("u{i}@contoso.com")),
        }
    }

    #[test]
    fn batches_respect_the_size_and_the_request_limit() {
        let mut batcher = Batcher::new(3, false);
        let mut batches = Vec::new();
        for line in 1..=7 {
            batches.extend(batcher.push(record(line), &[]));
        }
        batches.extend(batcher.finish());
        let sizes: Vec<usize> = batches.iter().map(|b| b.records.len()).collect();
        assert_eq!(sizes, [3, 3, 1]);

        // A group with more members than a request may carry: the record goes first, its
        // members follow as links, no request above the limit.
        let mut batcher = Batcher::new(5000, false);
        let mut batches = batcher.push(record(1), &[]);
        let members: Vec<ImportLink> = (0..12_000).map(|i| member(2, i)).collect();
        let mut big = record(2);
        big.object
            .insert("Members".into(), serde_json::json!(["…"]));
        batches.extend(batcher.push(big, &members));
        batches.extend(batcher.finish());
        let shapes: Vec<(usize, usize)> = batches
            .iter()
            .map(|b| (b.records.len(), b.links.len()))
            .collect();
        assert_eq!(shapes, [(2, 4998), (0, 5000), (0, 2002)]);
        assert!(batches[0].records[1].object.is_empty());
        assert_eq!(
            batches[2].links.last().unwrap(),
            &WireLink {
                line: 2,
                from: "big".into(),
                link: "member".into(),
                to: "u11999@contoso.com".into()
            }
        );
    }
}

#[cfg(test)]
mod pipeline_tests {
    use super::super::read::JsonLines;
    use super::*;
    use provisio_engine::directory::ObjectKind;

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
            batch_size: 10,
            concurrency: 1,
            dry_run: true,
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
