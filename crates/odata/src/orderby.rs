//! `$orderby`: `displayName desc,userPrincipalName` parsed into properties and directions,
//! and [`compare`] to sort JSON objects by them.
//!
//! Nulls (and missing properties) sort as the greatest value: last when ascending, first
//! when descending, as in PostgreSQL. Strings compare ordinally ignoring case, except that
//! two RFC 3339 timestamps compare as instants; numbers numerically; `false` before `true`.
//! Values of different JSON types order by type: booleans, numbers, strings, then the rest.

use std::cmp::Ordering;

use serde_json::{Map, Value};

use crate::filter::eval::parse_instant;
use crate::text::{cmp_ci, get_ci};
use crate::{Clause, ParseError, MAX_OPTION_LEN};

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    #[default]
    Asc,
    Desc,
}

/// A parsed `$orderby`: properties (paths joined by `/`, as written) with directions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrderBy {
    pub items: Vec<(String, Direction)>,
}

impl OrderBy {
    /// Parses a `$orderby` value: comma-separated `property [asc|desc]` items.
    pub fn parse(input: &str) -> Result<OrderBy, ParseError> {
        if input.len() > MAX_OPTION_LEN {
            return Err(ParseError::too_long(Clause::OrderBy, input.len()));
        }
        let err = |message: String, pos: usize| ParseError::new(Clause::OrderBy, message, pos, input);
        let mut items: Vec<(String, Direction)> = Vec::new();
        let mut start = 0;
        for item in input.split(',') {
            let words = words(item, start);
            let Some(&(name_at, name)) = words.first() else {
                return Err(err("Expression expected".to_string(), start + item.len()));
            };
            if let Some(bad) = invalid_path_byte(name) {
                return Err(err("Syntax error".to_string(), name_at + bad));
            }
            let direction = match words.get(1) {
                None => Direction::Asc,
                Some((_, w)) if w.eq_ignore_ascii_case("asc") => Direction::Asc,
                Some((_, w)) if w.eq_ignore_ascii_case("desc") => Direction::Desc,
                Some((at, _)) => return Err(err("Syntax error".to_string(), *at)),
            };
            if let Some((at, _)) = words.get(2) {
                return Err(err("Syntax error".to_string(), *at));
            }
            if items.iter().any(|(p, _)| p.eq_ignore_ascii_case(name)) {
                return Err(err(format!("Duplicate property named '{name}'"), name_at));
            }
            items.push((name.to_string(), direction));
            start += item.len() + 1;
        }
        Ok(OrderBy { items })
    }

    /// The properties sorted on, for checking against a schema.
    pub fn properties(&self) -> impl Iterator<Item = &str> {
        self.items.iter().map(|(p, _)| p.as_str())
    }
}

/// Whitespace-separated words of `item` with their positions (offset by `base`).
fn words(item: &str, base: usize) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut word_start = None;
    for (i, c) in item.char_indices().chain([(item.len(), ' ')]) {
        match (c.is_ascii_whitespace(), word_start) {
            (true, Some(s)) => {
                out.push((base + s, item.get(s..i).unwrap_or("")));
                word_start = None;
            }
            (false, None) => word_start = Some(i),
            _ => {}
        }
    }
    out
}

/// The offset of the first byte that cannot be in a property path, if any.
fn invalid_path_byte(name: &str) -> Option<usize> {
    let b = name.as_bytes();
    if !b.first().is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_') {
        return Some(0);
    }
    b.iter().enumerate().position(|(i, c)| {
        !(c.is_ascii_alphanumeric()
            || *c == b'_'
            || (*c == b'/' && b.get(i + 1).is_some_and(|n| n.is_ascii_alphabetic() || *n == b'_')))
    })
}

/// Orders two objects by `order`; ties on every item are `Equal`.
pub fn compare(a: &Map<String, Value>, b: &Map<String, Value>, order: &OrderBy) -> Ordering {
    for (property, direction) in &order.items {
        let ord = compare_values(lookup(a, property), lookup(b, property));
        let ord = match direction {
            Direction::Asc => ord,
            Direction::Desc => ord.reverse(),
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

fn lookup<'v>(obj: &'v Map<String, Value>, path: &str) -> Option<&'v Value> {
    let mut segments = path.split('/');
    let mut current = get_ci(obj, segments.next()?)?.1;
    for segment in segments {
        current = match current {
            Value::Object(map) => get_ci(map, segment)?.1,
            _ => return None,
        };
    }
    Some(current)
}

/// Ascending order of two values, nulls last.
pub fn compare_values(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    let a = a.filter(|v| !v.is_null());
    let b = b.filter(|v| !v.is_null());
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(a), Some(b)) => match (a, b) {
            (Value::String(x), Value::String(y)) => match (parse_instant(x), parse_instant(y)) {
                (Some(x), Some(y)) => x.cmp(&y),
                _ => cmp_ci(x, y),
            },
            (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
                (Some(x), Some(y)) => x.cmp(&y),
                _ => x
                    .as_f64()
                    .zip(y.as_f64())
                    .and_then(|(x, y)| x.partial_cmp(&y))
                    .unwrap_or(Ordering::Equal),
            },
            (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
            _ => type_rank(a).cmp(&type_rank(b)),
        },
    }
}

fn type_rank(v: &Value) -> u8 {
    match v {
        Value::Bool(_) => 0,
        Value::Number(_) => 1,
        Value::String(_) => 2,
        Value::Array(_) => 3,
        Value::Object(_) => 4,
        Value::Null => 5,
    }
}
