//! Matching by reading the target's accounts in pages.
//!
//! Entra matches each unlinked object with one query (`userName eq "ann@x"`). When a full
//! cycle would send more queries than it takes to read every account of the target, the
//! cycle reads the target once, page by page, asking only for `id` and the matching
//! attributes, and matches against that index in memory: an initial cycle into an empty
//! target then costs one request instead of one per object.
//!
//! The index copies the target's `eq` semantics for the attributes it can: `externalId` and
//! `id` compare exactly, every other string case-insensitively (RFC 7643 §2.2: `caseExact`
//! is false unless the schema says otherwise, and the core schemas say so only for those).
//! Attribute paths with a filter (`emails[type eq "work"].value`) cannot be read from a
//! projection reliably, so a job matching on one queries as Entra does.
//!
//! The index is a snapshot taken at the start of the cycle, kept current with the accounts
//! the cycle creates. An account someone else creates during the cycle is not in it: a
//! create that collides with it is refused by the target (`409`, logged `EntryConflict`)
//! and the next cycle matches it.

use std::collections::HashMap;

use serde_json::Value;

use crate::target::{Target, TargetError, TargetKind};

/// How a cycle matches unlinked objects with the target's accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MatchingMode {
    /// One filter query per object and matching attribute, as Entra does.
    Query,
    /// Read the target's accounts in pages once per full cycle (incremental cycles query).
    Pages,
    /// Pages when a full cycle would send more queries than the pages cost (see
    /// [`prefer_pages`]), queries otherwise.
    #[default]
    Auto,
}

impl std::str::FromStr for MatchingMode {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "query" => Ok(MatchingMode::Query),
            "pages" => Ok(MatchingMode::Pages),
            "auto" => Ok(MatchingMode::Auto),
            _ => Err(format!(
                "unknown matching mode {text:?}: expected query, pages or auto"
            )),
        }
    }
}

/// Accounts a page asks for.
pub const PAGE_SIZE: u64 = 1000;

/// What reading a page of [`PAGE_SIZE`] accounts (with two attributes each) costs, in filter
/// queries: measured against `provisio scim-server` (see BENCHMARKS.md, "matching").
pub const PAGE_COST_IN_QUERIES: u64 = 20;

/// Whether reading `accounts` target accounts in pages is cheaper than `queries` queries.
pub fn prefer_pages(accounts: u64, queries: u64) -> bool {
    accounts
        .div_ceil(PAGE_SIZE)
        .saturating_mul(PAGE_COST_IN_QUERIES)
        < queries
}

/// Whether the index can answer for a matching attribute (a path without a value filter).
pub fn indexable(attribute: &str) -> bool {
    !attribute.contains('[') && !attribute.is_empty()
}

/// The accounts of one resource type, by matching attribute and value.
#[derive(Debug, Default)]
pub struct TargetIndex {
    /// Lower-cased attribute paths the index holds.
    attributes: Vec<String>,
    /// (attribute position, normalised value) → account ids.
    accounts: HashMap<(u8, Box<str>), Vec<Box<str>>>,
}

impl TargetIndex {
    /// Reads every account of `kind`, `PAGE_SIZE` at a time, keeping `attributes`.
    pub async fn read(
        target: &dyn Target,
        kind: TargetKind,
        attributes: &[String],
    ) -> Result<TargetIndex, TargetError> {
        let mut index = TargetIndex {
            attributes: attributes.iter().map(|a| a.to_ascii_lowercase()).collect(),
            accounts: HashMap::new(),
        };
        let mut projection: Vec<&str> = vec!["id"];
        projection.extend(attributes.iter().map(String::as_str));
        let mut start = 1;
        loop {
            let page = target
                .list_page(kind, start, PAGE_SIZE, &projection)
                .await?;
            if page.objects.is_empty() {
                break;
            }
            start += page.objects.len() as u64;
            for object in &page.objects {
                index.add(&object.id, &object.resource);
            }
            if start > page.total {
                break;
            }
        }
        Ok(index)
    }

    /// Whether the index holds `attribute`.
    pub fn covers(&self, attribute: &str) -> bool {
        self.position(attribute).is_some()
    }

    fn position(&self, attribute: &str) -> Option<u8> {
        self.attributes
            .iter()
            .position(|a| a.eq_ignore_ascii_case(attribute))
            .and_then(|p| u8::try_from(p).ok())
    }

    /// Adds an account (read from the target, or just created by the cycle).
    pub fn add(&mut self, id: &str, resource: &Value) {
        for position in 0..self.attributes.len() {
            let Ok(at) = u8::try_from(position) else {
                break;
            };
            let attribute = &self.attributes[position];
            if let Some(value) = read_path(resource, attribute) {
                let key = (at, normalise(attribute, &value));
                let ids = self.accounts.entry(key).or_default();
                if !ids.iter().any(|known| &**known == id) {
                    ids.push(id.into());
                }
            }
        }
    }

    /// The ids of the accounts whose `attribute` equals `value`, as the target's `eq` would
    /// find them; `None` when the index does not hold the attribute.
    pub fn find(&self, attribute: &str, value: &str) -> Option<Vec<String>> {
        let at = self.position(attribute)?;
        let key = (at, normalise(attribute, value));
        Some(
            self.accounts
                .get(&key)
                .map(|ids| ids.iter().map(|id| id.to_string()).collect())
                .unwrap_or_default(),
        )
    }
}

fn case_exact(attribute: &str) -> bool {
    attribute.eq_ignore_ascii_case("externalId") || attribute.eq_ignore_ascii_case("id")
}

fn normalise(attribute: &str, value: &str) -> Box<str> {
    if case_exact(attribute) {
        value.into()
    } else {
        value.to_lowercase().into_boxed_str()
    }
}

/// The value at `path` in a SCIM resource: `userName`, `name.givenName`, or an extension's
/// `urn:…:User:employeeNumber`; names compare case-insensitively, as SCIM's do.
fn read_path(resource: &Value, path: &str) -> Option<String> {
    let object = resource.as_object()?;
    let get = |object: &serde_json::Map<String, Value>, name: &str| -> Option<Value> {
        object
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.clone())
    };
    let value = if path.starts_with("urn:") {
        let (schema, name) = path.rsplit_once(':')?;
        let extension = get(object, schema)?;
        get(extension.as_object()?, name)?
    } else {
        let mut parts = path.split('.');
        let mut value = get(object, parts.next()?)?;
        for part in parts {
            value = get(value.as_object()?, part)?;
        }
        value
    };
    match value {
        Value::String(text) => Some(text),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn finds_as_the_targets_eq_filter_would() {
        let mut index = TargetIndex {
            attributes: vec![
                "username".into(),
                "externalid".into(),
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:employeenumber".into(),
                "name.givenname".into(),
            ],
            accounts: HashMap::new(),
        };
        index.add(
            "1",
            &json!({"userName": "Ann@Contoso.com", "externalId": "Ann",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": 42},
                    "name": {"givenName": "Ann"}}),
        );
        index.add(
            "2",
            &json!({"userName": "bob@contoso.com", "externalId": "ann"}),
        );
        index.add("3", &json!({"userName": "BOB@contoso.com"}));
        let ids = |v: Option<Vec<String>>| {
            v.map(|mut v| {
                v.sort();
                v
            })
        };
        // (attribute as the mapping names it, value, ids found)
        let cases: Vec<(&str, &str, Option<Vec<&str>>)> = vec![
            ("userName", "ann@contoso.com", Some(vec!["1"])),
            ("USERNAME", "ANN@CONTOSO.COM", Some(vec!["1"])),
            ("userName", "bob@contoso.com", Some(vec!["2", "3"])),
            ("userName", "nobody", Some(vec![])),
            ("externalId", "Ann", Some(vec!["1"])),
            ("externalId", "ann", Some(vec!["2"])),
            ("externalId", "ANN", Some(vec![])),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
                "42",
                Some(vec!["1"]),
            ),
            ("name.givenName", "ann", Some(vec!["1"])),
            ("displayName", "Ann", None),
        ];
        for (attribute, value, expected) in cases {
            let expected = expected.map(|v| v.into_iter().map(str::to_string).collect::<Vec<_>>());
            assert_eq!(
                ids(index.find(attribute, value)),
                expected,
                "{attribute} eq {value}"
            );
        }
        // Adding the same account twice keeps one id.
        index.add("1", &json!({"userName": "ann@contoso.com"}));
        assert_eq!(
            index.find("userName", "ann@contoso.com"),
            Some(vec!["1".to_string()])
        );
    }

    #[test]
    fn pages_win_when_the_target_is_small_against_the_queries() {
        // (target accounts, queries the cycle would send, pages preferred)
        let cases = [
            (0, 1, true),
            (0, 0, false),
            (1_000, 21, true),
            (1_000, 20, false),
            (100_000, 10_000, true),
            (100_000, 1_000, false),
            (1_000_000, 1_000, false),
        ];
        for (accounts, queries, expected) in cases {
            assert_eq!(
                prefer_pages(accounts, queries),
                expected,
                "{accounts} accounts, {queries} queries"
            );
        }
        assert!(indexable("userName"));
        assert!(!indexable("emails[type eq \"work\"].value"));
    }
}
