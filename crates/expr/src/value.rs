//! Typed values: what attributes hold and what functions return.

use std::borrow::Cow;

use base64::Engine as _;
use serde_json::{Map, Value as Json};
use time::OffsetDateTime;

use crate::datetime;

/// A value flowing through an expression. Strings borrow from the source object where they can.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Null,
    String(Cow<'a, str>),
    Boolean(bool),
    Integer(i64),
    /// Always in UTC.
    DateTime(OffsetDateTime),
    /// The id of another object (manager, group member).
    Reference(Cow<'a, str>),
    Binary(Cow<'a, [u8]>),
    /// A complex value (an object), such as an app role assignment or a SCIM role.
    Complex(Cow<'a, Map<String, Json>>),
    MultiValued(Vec<Value<'a>>),
}

impl<'a> Value<'a> {
    pub fn string(text: impl Into<Cow<'a, str>>) -> Value<'a> {
        Value::String(text.into())
    }

    /// Borrows a JSON value: strings stay strings (dates are parsed only by CDate and friends),
    /// whole numbers are Integers, arrays are multi-valued, objects complex.
    pub fn from_json(json: &'a Json) -> Value<'a> {
        match json {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Boolean(*b),
            Json::Number(n) => match n.as_i64() {
                Some(i) => Value::Integer(i),
                None => Value::String(Cow::Owned(n.to_string())),
            },
            Json::String(s) => Value::String(Cow::Borrowed(s)),
            Json::Array(items) => Value::MultiValued(items.iter().map(Value::from_json).collect()),
            Json::Object(map) => Value::Complex(Cow::Borrowed(map)),
        }
    }

    /// The JSON form of a result as Entra's reference shows it: DateTimes (from CDate, DateAdd,
    /// Now, DateFromNum) as the string `M/d/yyyy h:mm:ss tt` in UTC (`3/23/2012 7:00:00 AM`),
    /// binaries as Base64. For a SCIM `dateTime` attribute use [`Value::to_json_iso8601`].
    pub fn to_json(&self) -> Json {
        self.to_json_writing_dates(datetime::general_string)
    }

    /// The JSON form with DateTimes as ISO 8601 in UTC (`2012-03-23T07:00:00Z`), which is what
    /// a SCIM attribute of type `dateTime` takes (RFC 7643, section 2.3.5); everything else is
    /// as [`Value::to_json`] writes it.
    pub fn to_json_iso8601(&self) -> Json {
        self.to_json_writing_dates(datetime::iso8601)
    }

    /// A DateTime as ISO 8601 in UTC; `None` for every other kind of value.
    pub fn iso8601(&self) -> Option<String> {
        match self {
            Value::DateTime(dt) => Some(datetime::iso8601(*dt)),
            _ => None,
        }
    }

    fn to_json_writing_dates(&self, write_date: fn(OffsetDateTime) -> String) -> Json {
        match self {
            Value::Null => Json::Null,
            Value::String(s) | Value::Reference(s) => Json::String(s.to_string()),
            Value::Boolean(b) => Json::Bool(*b),
            Value::Integer(i) => Json::from(*i),
            Value::DateTime(dt) => Json::String(write_date(*dt)),
            Value::Binary(bytes) => {
                Json::String(base64::engine::general_purpose::STANDARD.encode(bytes))
            }
            Value::Complex(map) => Json::Object(map.clone().into_owned()),
            Value::MultiValued(items) => Json::Array(
                items
                    .iter()
                    .map(|item| item.to_json_writing_dates(write_date))
                    .collect(),
            ),
        }
    }

    pub fn into_owned(self) -> Value<'static> {
        match self {
            Value::Null => Value::Null,
            Value::String(s) => Value::String(Cow::Owned(s.into_owned())),
            Value::Boolean(b) => Value::Boolean(b),
            Value::Integer(i) => Value::Integer(i),
            Value::DateTime(dt) => Value::DateTime(dt),
            Value::Reference(s) => Value::Reference(Cow::Owned(s.into_owned())),
            Value::Binary(b) => Value::Binary(Cow::Owned(b.into_owned())),
            Value::Complex(m) => Value::Complex(Cow::Owned(m.into_owned())),
            Value::MultiValued(items) => {
                Value::MultiValued(items.into_iter().map(Value::into_owned).collect())
            }
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Null, an empty string or no values at all.
    pub fn is_null_or_empty(&self) -> bool {
        match self {
            Value::Null => true,
            Value::String(s) | Value::Reference(s) => s.is_empty(),
            Value::Binary(b) => b.is_empty(),
            Value::MultiValued(items) => items.is_empty(),
            _ => false,
        }
    }

    /// The value as text, as .NET's `ToString()` would write it (`True`, `3/23/2012 7:00:00 AM`);
    /// `None` for null. A multi-valued value reads as its first value.
    pub fn as_text(&self) -> Option<Cow<'_, str>> {
        match self {
            Value::Null => None,
            Value::String(s) | Value::Reference(s) => Some(Cow::Borrowed(s)),
            Value::Boolean(true) => Some(Cow::Borrowed("True")),
            Value::Boolean(false) => Some(Cow::Borrowed("False")),
            Value::Integer(i) => Some(Cow::Owned(i.to_string())),
            Value::DateTime(dt) => Some(Cow::Owned(datetime::general_string(*dt))),
            Value::Binary(b) => Some(Cow::Owned(
                base64::engine::general_purpose::STANDARD.encode(b),
            )),
            Value::Complex(map) => Some(Cow::Owned(Json::Object(map.as_ref().clone()).to_string())),
            Value::MultiValued(items) => items.first().and_then(Value::as_text),
        }
    }

    /// Moves the text out without copying when it is already a string.
    pub fn into_text(self) -> Option<Cow<'a, str>> {
        match self {
            Value::String(s) | Value::Reference(s) => Some(s),
            Value::MultiValued(items) => items.into_iter().next().and_then(Value::into_text),
            other => other.as_text().map(|t| Cow::Owned(t.into_owned())),
        }
    }

    /// The value as a boolean: true, "True" (any case), or a non-zero number.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Boolean(b) => Some(*b),
            Value::Integer(i) => Some(*i != 0),
            Value::MultiValued(items) => items.first().and_then(Value::as_bool),
            other => {
                let text = other.as_text()?;
                let text = text.trim();
                if text.eq_ignore_ascii_case("true") {
                    Some(true)
                } else if text.eq_ignore_ascii_case("false") {
                    Some(false)
                } else {
                    parse_integer(text).map(|i| i != 0)
                }
            }
        }
    }

    /// The value as an integer: numbers, decimal or `&H` hex strings, booleans (True = -1, as VBA).
    pub fn as_integer(&self) -> Option<i64> {
        match self {
            Value::Integer(i) => Some(*i),
            Value::Boolean(b) => Some(if *b { -1 } else { 0 }),
            Value::MultiValued(items) => items.first().and_then(Value::as_integer),
            other => parse_integer(other.as_text()?.trim()),
        }
    }

    /// The values: a multi-valued value's items, nothing for null, else the value itself.
    pub fn values(&self) -> &[Value<'a>] {
        match self {
            Value::Null => &[],
            Value::MultiValued(items) => items,
            single => std::slice::from_ref(single),
        }
    }

    /// Owned counterpart of [`Value::values`].
    pub fn into_values(self) -> Vec<Value<'a>> {
        match self {
            Value::Null => Vec::new(),
            Value::MultiValued(items) => items,
            single => vec![single],
        }
    }
}

/// `42`, `-7`, `&HF7`; a decimal with a zero fraction (`3.0`) too.
pub fn parse_integer(text: &str) -> Option<i64> {
    if let Some(hex) = text.strip_prefix("&H").or_else(|| text.strip_prefix("&h")) {
        return u64::from_str_radix(hex, 16).ok().map(|u| u as i64);
    }
    if let Ok(i) = text.parse::<i64>() {
        return Some(i);
    }
    let f = text.parse::<f64>().ok()?;
    (f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e18).then_some(f as i64)
}
