//! `$select`: which properties to return, and [`project`] to keep only those.
//!
//! As in Graph, only the selected properties come back: `id` is not added unless selected,
//! and a selected property the object lacks comes back as `null`. `*` selects everything.

use serde_json::{Map, Value};

use crate::text::get_ci;
use crate::{Clause, ParseError, MAX_OPTION_LEN};

/// A parsed `$select`: property names, trimmed and deduplicated ignoring case (the first
/// spelling wins), in the order given.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Select {
    items: Vec<String>,
    all: bool,
}

impl Select {
    /// Parses a `$select` value: comma-separated property names, or `*`.
    pub fn parse(input: &str) -> Result<Select, ParseError> {
        if input.len() > MAX_OPTION_LEN {
            return Err(ParseError::too_long(Clause::Select, input.len()));
        }
        let err = |message: &str, pos: usize| ParseError::new(Clause::Select, message, pos, input);
        let mut select = Select::default();
        let mut start = 0;
        for raw in input.split(',') {
            let lead = raw.len() - raw.trim_start().len();
            let name = raw.trim();
            let at = start + lead;
            if name.is_empty() {
                return Err(err("Property name expected", start + raw.len()));
            }
            if name == "*" {
                select.all = true;
            } else if let Some(bad) = name.bytes().position(|b| !(b.is_ascii_alphanumeric() || b == b'_')) {
                return Err(err("Syntax error", at + bad));
            } else if name.as_bytes().first().is_some_and(u8::is_ascii_digit) {
                return Err(err("Syntax error", at));
            } else if !select.contains(name) {
                select.items.push(name.to_string());
            }
            start += raw.len() + 1;
        }
        Ok(select)
    }

    /// The selected names (without `*`), for checking against a schema.
    pub fn properties(&self) -> impl Iterator<Item = &str> {
        self.items.iter().map(String::as_str)
    }

    /// Whether `*` was selected.
    pub fn is_all(&self) -> bool {
        self.all
    }

    /// Whether `name` is selected (explicitly, ignoring case, or by `*`).
    pub fn contains(&self, name: &str) -> bool {
        self.all || self.items.iter().any(|i| i.eq_ignore_ascii_case(name))
    }
}

/// The selected properties of `obj`, under the object's own key spelling; a selected
/// property the object lacks is `null` under the name as selected (handlers check names
/// against the schema first, so that is the canonical spelling).
pub fn project(obj: &Map<String, Value>, select: &Select) -> Map<String, Value> {
    if select.all {
        return obj.clone();
    }
    let mut out = Map::new();
    for name in &select.items {
        match get_ci(obj, name) {
            Some((key, value)) => out.insert(key.clone(), value.clone()),
            None => out.insert(name.clone(), Value::Null),
        };
    }
    out
}
