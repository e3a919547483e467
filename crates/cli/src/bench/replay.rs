//! Replaying a journal of SCIM requests (`provisio scim-server --journal`) against a fresh
//! target, with no engine in the way: the ceiling the engine's own cycle is measured against.
//!
//! The target makes new ids, so the replay maps each recorded `201`'s id to the one the
//! fresh target answers, and rewrites later paths and bodies that name it. A request that
//! names an id created since the last barrier waits for a barrier: the requests run in
//! phases, each phase `concurrency` requests at a time in journal order, and a phase ends
//! where the next request depends on one of its creates (the engine has the same barrier
//! between creating a batch's accounts and patching references to them).

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::StreamExt;
use serde_json::Value;

use crate::journal::JournalEntry;

/// What a replay did.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayReport {
    pub requests: usize,
    pub phases: usize,
    pub elapsed: Duration,
    /// Requests whose status differed from the recorded one, with a few examples.
    pub mismatches: usize,
    pub examples: Vec<String>,
}

/// The spans of UUID-shaped tokens (8-4-4-4-12 hex digits) in `text`.
fn uuid_spans(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while i + 36 <= bytes.len() {
        let candidate = &bytes[i..i + 36];
        let shaped = candidate.iter().enumerate().all(|(j, b)| match j {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        });
        let bounded = (i == 0 || !bytes[i - 1].is_ascii_alphanumeric())
            && bytes.get(i + 36).is_none_or(|b| !b.is_ascii_alphanumeric());
        if shaped && bounded {
            spans.push((i, i + 36));
            i += 36;
        } else {
            i += 1;
        }
    }
    spans
}

/// `text` with every recorded id replaced by the replay's.
fn rewrite(text: &str, ids: &HashMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (start, end) in uuid_spans(text) {
        if let Some(new) = ids.get(&text[start..end]) {
            out.push_str(&text[last..start]);
            out.push_str(new);
            last = end;
        }
    }
    out.push_str(&text[last..]);
    out
}

/// Splits the journal into phases: a request that names an id created in the current
/// phase starts the next one.
fn phases(entries: &[JournalEntry]) -> Vec<&[JournalEntry]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut created: HashSet<&str> = HashSet::new();
    for (i, entry) in entries.iter().enumerate() {
        let texts = [Some(entry.uri.as_str()), entry.body.as_deref()];
        let depends = texts.iter().flatten().any(|text| {
            uuid_spans(text)
                .iter()
                .any(|&(s, e)| created.contains(&text[s..e]))
        });
        if depends {
            out.push(&entries[start..i]);
            start = i;
            created.clear();
        }
        if let Some(id) = entry.created.as_deref() {
            created.insert(id);
        }
    }
    if start < entries.len() {
        out.push(&entries[start..]);
    }
    out
}

/// Sends `entries` to the server at `origin` (scheme, host and port: the recorded URIs
/// carry the path), `concurrency` at a time within each phase.
pub async fn replay(
    entries: &[JournalEntry],
    origin: &str,
    token: &str,
    concurrency: usize,
) -> anyhow::Result<ReplayReport> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .context("building the replay's HTTP client")?;
    let phases = phases(entries);
    let mut ids: HashMap<String, String> = HashMap::new();
    let mut mismatches = 0;
    let mut examples = Vec::new();
    let started = Instant::now();
    for phase in &phases {
        // A phase names no id its own creates make, so it is rewritten before it starts.
        let rewritten: Vec<(&JournalEntry, String, Option<String>)> = phase
            .iter()
            .map(|entry| {
                let uri = rewrite(&entry.uri, &ids);
                let body = entry.body.as_deref().map(|b| rewrite(b, &ids));
                (entry, uri, body)
            })
            .collect();
        let sends = rewritten.into_iter().map(|(entry, uri, body)| {
            let http = &http;
            async move {
                let method = reqwest::Method::from_bytes(entry.method.as_bytes())
                    .with_context(|| format!("the journal's method {:?}", entry.method))?;
                let mut request = http
                    .request(method, format!("{origin}{uri}"))
                    .bearer_auth(token);
                if let Some(body) = body {
                    request = request
                        .header("content-type", "application/scim+json")
                        .body(body);
                }
                let response = request
                    .send()
                    .await
                    .with_context(|| format!("{} {uri}", entry.method))?;
                let status = response.status().as_u16();
                let bytes = response.bytes().await?;
                let made = if status == 201 {
                    serde_json::from_slice::<Value>(&bytes)
                        .ok()
                        .and_then(|v| v["id"].as_str().map(str::to_string))
                } else {
                    None
                };
                Ok::<_, anyhow::Error>((entry, uri, status, made))
            }
        });
        let mut answers = futures::stream::iter(sends).buffer_unordered(concurrency.max(1));
        while let Some(answer) = answers.next().await {
            let (entry, uri, status, made) = answer?;
            if let (Some(old), Some(new)) = (&entry.created, made) {
                ids.insert(old.clone(), new);
            }
            if status != entry.status {
                mismatches += 1;
                if examples.len() < 3 {
                    examples.push(format!(
                        "{} {uri} answered {status}, recorded {}",
                        entry.method, entry.status
                    ));
                }
            }
        }
    }
    Ok(ReplayReport {
        requests: entries.len(),
        phases: phases.len(),
        elapsed: started.elapsed(),
        mismatches,
        examples,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "0b7e5c1a-51d2-4c52-9d1a-3f0e8a1b2c3d";
    const B: &str = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a";

    fn entry(method: &str, uri: &str, created: Option<&str>, body: Option<&str>) -> JournalEntry {
        JournalEntry {
            at: "2026-01-01T00:00:00Z".into(),
            method: method.into(),
            uri: uri.into(),
            status: if created.is_some() { 201 } else { 200 },
            created: created.map(str::to_string),
            body: body.map(str::to_string),
        }
    }

    #[test]
    fn finds_ids_only_as_whole_tokens() {
        let cases: &[(&str, usize)] = &[
            (A, 1),
            (&format!("/Users/{A}"), 1),
            (&format!(r#"{{"value":"{A}"}},{{"value":"{B}"}}"#), 2),
            (&format!("x{A}"), 0),
            (&format!("{A}0"), 0),
            ("0b7e5c1a-51d2-4c52-9d1a-3f0e8a1b2c3", 0),
            ("", 0),
        ];
        for (text, expected) in cases {
            assert_eq!(uuid_spans(text).len(), *expected, "{text}");
        }
    }

    #[test]
    fn rewrites_known_ids_and_keeps_the_rest() {
        let ids = HashMap::from([(A.to_string(), "new-a".to_string())]);
        assert_eq!(
            rewrite(&format!("/Users/{A}?x={B}"), &ids),
            format!("/Users/new-a?x={B}")
        );
    }

    #[test]
    fn a_request_naming_a_fresh_create_starts_a_phase() {
        let entries = vec![
            entry(
                "GET",
                "/scim/v2/Users?filter=userName%20eq%20%22a%22",
                None,
                None,
            ),
            entry("POST", "/scim/v2/Users", Some(A), Some("{}")),
            entry("POST", "/scim/v2/Users", Some(B), Some("{}")),
            entry("PATCH", &format!("/scim/v2/Users/{A}"), None, Some("{}")),
            entry("GET", "/scim/v2/Groups?filter=x", None, None),
            entry(
                "PATCH",
                "/scim/v2/Groups/g",
                None,
                Some(&format!(r#"{{"value":"{A}"}}"#)),
            ),
        ];
        let lengths: Vec<usize> = phases(&entries).iter().map(|p| p.len()).collect();
        // The PATCH of A waits for A's create; the group PATCH names A again, but A was
        // created before the barrier already.
        assert_eq!(lengths, vec![3, 3]);
        assert!(phases(&[]).is_empty());
    }
}
