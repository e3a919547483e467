//! Evaluation with Graph's semantics: property names and strings compare case-insensitively,
//! `eq null` matches a missing or null property, `ne` is the negation of `eq`, and ordering
//! operators are false when either side is null or the types differ.

use std::cmp::Ordering;

use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{CompareOp, Filter, Literal, PropertyPath, Quantifier, StringFunction};
use crate::text::{cmp_ci, get_ci};

/// The lambda variables bound so far, innermost first; lives on the stack.
struct Scope<'s> {
    name: &'s str,
    value: &'s Value,
    outer: Option<&'s Scope<'s>>,
}

impl Filter {
    /// Whether `obj` satisfies the filter. Allocates nothing.
    pub fn matches(&self, obj: &Map<String, Value>) -> bool {
        eval(self, obj, None)
    }
}

fn eval(f: &Filter, obj: &Map<String, Value>, scope: Option<&Scope<'_>>) -> bool {
    match f {
        Filter::And(items) => items.iter().all(|i| eval(i, obj, scope)),
        Filter::Or(items) => items.iter().any(|i| eval(i, obj, scope)),
        Filter::Not(inner) => !eval(inner, obj, scope),
        Filter::Compare { path, op, value } => {
            if path.count {
                return match (count(path, obj, scope), value) {
                    (Some(n), Literal::Int(want)) => op_holds(*op, Some(n.cmp(want))),
                    _ => false,
                };
            }
            compare(*op, resolve(path, obj, scope), value)
        }
        Filter::In { path, values } => {
            let actual = resolve(path, obj, scope);
            values.iter().any(|v| compare(CompareOp::Eq, actual, v))
        }
        Filter::Function {
            function,
            path,
            value,
        } => match resolve(path, obj, scope) {
            Some(Value::String(s)) => match function {
                StringFunction::StartsWith => value.is_prefix_of(s),
                StringFunction::EndsWith => value.is_suffix_of(s),
                StringFunction::Contains => value.is_contained_in(s),
            },
            _ => false,
        },
        Filter::Lambda {
            collection,
            quantifier,
            variable,
            body,
        } => {
            let elements: &[Value] = match resolve(collection, obj, scope) {
                None | Some(Value::Null) => &[],
                Some(Value::Array(items)) => items,
                Some(_) => return false,
            };
            let Some(body) = body else {
                // `any()` asks whether the collection is non-empty; `all()` is vacuous.
                return match quantifier {
                    Quantifier::Any => !elements.is_empty(),
                    Quantifier::All => true,
                };
            };
            let holds = |element: &Value| {
                let inner = Scope {
                    name: variable,
                    value: element,
                    outer: scope,
                };
                eval(body, obj, Some(&inner))
            };
            match quantifier {
                Quantifier::Any => elements.iter().any(holds),
                Quantifier::All => elements.iter().all(holds),
            }
        }
    }
}

/// The value at `path` (ignoring `$count`); `None` when any step is missing.
fn resolve<'v>(
    path: &PropertyPath,
    obj: &'v Map<String, Value>,
    scope: Option<&Scope<'v>>,
) -> Option<&'v Value> {
    let mut segments = path.segments.iter();
    let mut current: &'v Value = match &path.variable {
        Some(name) => {
            let mut s = scope;
            loop {
                let bound = s?;
                if bound.name == name {
                    break bound.value;
                }
                s = bound.outer;
            }
        }
        None => get_ci(obj, segments.next()?)?.1,
    };
    for segment in segments {
        current = match current {
            Value::Object(map) => get_ci(map, segment)?.1,
            _ => return None,
        };
    }
    Some(current)
}

/// The size of the collection at `path`: 0 when missing or null, `None` if not an array.
fn count(path: &PropertyPath, obj: &Map<String, Value>, scope: Option<&Scope<'_>>) -> Option<i64> {
    match resolve(path, obj, scope) {
        None | Some(Value::Null) => Some(0),
        Some(Value::Array(items)) => i64::try_from(items.len()).ok(),
        Some(_) => None,
    }
}

fn op_holds(op: CompareOp, ord: Option<Ordering>) -> bool {
    match op {
        CompareOp::Eq => ord == Some(Ordering::Equal),
        CompareOp::Ne => ord != Some(Ordering::Equal),
        CompareOp::Gt => ord == Some(Ordering::Greater),
        CompareOp::Ge => matches!(ord, Some(Ordering::Greater | Ordering::Equal)),
        CompareOp::Lt => ord == Some(Ordering::Less),
        CompareOp::Le => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
    }
}

fn compare(op: CompareOp, actual: Option<&Value>, literal: &Literal) -> bool {
    let actual = actual.filter(|v| !v.is_null());
    match (actual, literal) {
        (None, Literal::Null) => op == CompareOp::Eq,
        (Some(_), Literal::Null) => op == CompareOp::Ne,
        (None, _) => op == CompareOp::Ne,
        (Some(v), lit) => {
            if op == CompareOp::Eq || op == CompareOp::Ne {
                (op == CompareOp::Eq) == equals(v, lit)
            } else {
                op_holds(op, order(v, lit))
            }
        }
    }
}

fn equals(v: &Value, lit: &Literal) -> bool {
    match (v, lit) {
        (Value::String(s), Literal::String(t)) => t.eq_ci(s),
        (Value::String(s), Literal::Guid(g)) => s.eq_ignore_ascii_case(g),
        _ => order(v, lit) == Some(Ordering::Equal),
    }
}

/// How `v` orders against `lit`; `None` when the types do not compare.
fn order(v: &Value, lit: &Literal) -> Option<Ordering> {
    match (v, lit) {
        (Value::String(s), Literal::String(t)) => Some(t.cmp_ci(s)),
        (Value::String(s), Literal::Guid(g)) => Some(cmp_ci(s, g)),
        (Value::String(s), Literal::DateTimeOffset { text, instant }) => {
            Some(parse_instant(s).map_or_else(|| cmp_ci(s, text), |t| t.cmp(instant)))
        }
        (Value::Number(n), Literal::Int(i)) => match n.as_i64() {
            Some(a) => Some(a.cmp(i)),
            None => n.as_f64()?.partial_cmp(&(*i as f64)),
        },
        (Value::Number(n), Literal::Decimal { value, .. }) => n.as_f64()?.partial_cmp(value),
        (Value::Bool(a), Literal::Bool(b)) => Some(a.cmp(b)),
        _ => None,
    }
}

/// An RFC 3339 instant, tried only on strings shaped like one (`dddd-dd-ddT…`).
pub(crate) fn parse_instant(s: &str) -> Option<OffsetDateTime> {
    let b = s.as_bytes();
    if b.len() < 20 || b.get(4) != Some(&b'-') || !matches!(b.get(10), Some(b'T' | b't')) {
        return None;
    }
    OffsetDateTime::parse(s, &Rfc3339).ok()
}
