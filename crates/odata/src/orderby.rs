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
        let err =
            |message: String, pos: usize| ParseError::new(Clause::OrderBy, message, pos, input);
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
    if !b
        .first()
        .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
    {
        return Some(0);
    }
    b.iter().enumerate().position(|(i, c)| {
        !(c.is_ascii_alphanumeric()
            || *c == b'_'
            || (*c == b'/'
                && b.get(i + 1)
                    .is_some_and(|n| n.is_ascii_alphabetic() || *n == b'_')))
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[track_caller]
    fn check(input: &str, expected: &[(&str, Direction)]) {
        let got = OrderBy::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        let want: Vec<(String, Direction)> =
            expected.iter().map(|(p, d)| (p.to_string(), *d)).collect();
        assert_eq!(got.items, want, "{input}");
    }

    #[track_caller]
    fn check_error(input: &str, expected: &str) {
        let err = OrderBy::parse(input).expect_err(input);
        assert_eq!(err.to_string(), expected, "{input}");
    }

    use Direction::{Asc, Desc};

    #[test]
    fn parse_table() {
        check("displayName", &[("displayName", Asc)]);
        check(
            "displayName desc,userPrincipalName",
            &[("displayName", Desc), ("userPrincipalName", Asc)],
        );
        check(
            " displayName  DESC , id asc ",
            &[("displayName", Desc), ("id", Asc)],
        );
        check("manager/displayName", &[("manager/displayName", Asc)]);
        check(
            "extension_8f2c_costCenter desc",
            &[("extension_8f2c_costCenter", Desc)],
        );
    }

    #[test]
    fn error_table() {
        check_error(
            "",
            "Invalid $orderby clause: Expression expected at position 0 in ''.",
        );
        check_error(
            "a,",
            "Invalid $orderby clause: Expression expected at position 2 in 'a,'.",
        );
        check_error(
            "a,,b",
            "Invalid $orderby clause: Expression expected at position 2 in 'a,,b'.",
        );
        check_error(
            "a descending",
            "Invalid $orderby clause: Syntax error at position 2 in 'a descending'.",
        );
        check_error(
            "a desc x",
            "Invalid $orderby clause: Syntax error at position 7 in 'a desc x'.",
        );
        check_error(
            "a-b",
            "Invalid $orderby clause: Syntax error at position 1 in 'a-b'.",
        );
        check_error(
            "1a",
            "Invalid $orderby clause: Syntax error at position 0 in '1a'.",
        );
        check_error(
            "a/",
            "Invalid $orderby clause: Syntax error at position 1 in 'a/'.",
        );
        check_error(
            "a,b desc,A",
            "Invalid $orderby clause: Duplicate property named 'A' at position 9 in 'a,b desc,A'.",
        );
    }

    fn obj(v: serde_json::Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[track_caller]
    fn check_cmp(order: &str, a: serde_json::Value, b: serde_json::Value, expected: Ordering) {
        let order = OrderBy::parse(order).unwrap();
        assert_eq!(
            compare(&obj(a.clone()), &obj(b.clone()), &order),
            expected,
            "{a} vs {b}"
        );
    }

    #[test]
    fn compare_table() {
        use Ordering::{Equal, Greater, Less};
        check_cmp("n", json!({"n": "abc"}), json!({"n": "ABD"}), Less);
        check_cmp("n", json!({"n": "ÉMILE"}), json!({"n": "émile"}), Equal);
        check_cmp("N desc", json!({"n": "a"}), json!({"n": "b"}), Greater);
        check_cmp("n", json!({"n": 10}), json!({"n": 9}), Greater);
        check_cmp("n", json!({"n": 1.5}), json!({"n": 2}), Less);
        check_cmp("n", json!({"n": false}), json!({"n": true}), Less);
        check_cmp("n", json!({"n": null}), json!({"n": "a"}), Greater);
        check_cmp("n", json!({}), json!({"n": "a"}), Greater);
        check_cmp("n desc", json!({}), json!({"n": "a"}), Less);
        check_cmp("n", json!({}), json!({"n": null}), Equal);
        check_cmp(
            "n",
            json!({"n": "2024-01-01T01:00:00+02:00"}),
            json!({"n": "2024-01-01T00:00:00Z"}),
            Less,
        );
        check_cmp(
            "a,b desc",
            json!({"a": 1, "b": 1}),
            json!({"a": 1, "b": 2}),
            Greater,
        );
        check_cmp("m/x", json!({"m": {"x": 1}}), json!({"m": {"x": 2}}), Less);
        check_cmp("n", json!({"n": 1}), json!({"n": "1"}), Less);
    }
}
