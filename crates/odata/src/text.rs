//! Case-insensitive text: Graph's directory compares strings and property names without
//! regard to case. Literals carry their lowercase form, computed once at parse time, so the
//! per-object comparisons allocate nothing: ASCII takes a byte-wise fast path, and only
//! non-ASCII text walks `char::to_lowercase`.

use std::cmp::Ordering;

use serde_json::{Map, Value};

/// Looks a property up by name, exactly first, then ignoring ASCII case.
pub(crate) fn get_ci<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
) -> Option<(&'a String, &'a Value)> {
    obj.get_key_value(key)
        .or_else(|| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)))
}

fn lower(s: &str) -> impl DoubleEndedIterator<Item = char> + '_ {
    s.chars().flat_map(char::to_lowercase)
}

fn lowercase_bytes(s: &str) -> impl Iterator<Item = u8> + '_ {
    s.bytes().map(|b| b.to_ascii_lowercase())
}

/// Orders two strings by their lowercase characters (ordinal, case-insensitive).
pub(crate) fn cmp_ci(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        lowercase_bytes(a).cmp(lowercase_bytes(b))
    } else {
        lower(a).cmp(lower(b))
    }
}

/// A string literal with its lowercase form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    value: String,
    lower: String,
    ascii: bool,
}

impl Text {
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        Text {
            lower: lower(&value).collect(),
            ascii: value.is_ascii(),
            value,
        }
    }

    /// The literal as written (after `''` unescaping).
    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// Whether `s` equals this literal, ignoring case.
    pub(crate) fn eq_ci(&self, s: &str) -> bool {
        if self.ascii {
            if s.eq_ignore_ascii_case(&self.value) {
                return true;
            }
            if s.is_ascii() {
                return false;
            }
        }
        lower(s).eq(self.lower.chars())
    }

    /// How `s` orders against this literal, ignoring case.
    pub(crate) fn cmp_ci(&self, s: &str) -> Ordering {
        if self.ascii && s.is_ascii() {
            lowercase_bytes(s).cmp(lowercase_bytes(&self.value))
        } else {
            lower(s).cmp(self.lower.chars())
        }
    }

    /// Whether `s` starts with this literal, ignoring case.
    pub(crate) fn is_prefix_of(&self, s: &str) -> bool {
        if self.ascii {
            let n = self.value.len();
            if s.as_bytes()
                .get(..n)
                .is_some_and(|head| head.eq_ignore_ascii_case(self.value.as_bytes()))
            {
                return true;
            }
            if s.is_ascii() {
                return false;
            }
        }
        starts_with_lower(s, &self.lower)
    }

    /// Whether `s` ends with this literal, ignoring case.
    pub(crate) fn is_suffix_of(&self, s: &str) -> bool {
        if self.ascii {
            let n = self.value.len();
            if s.len() >= n
                && s.as_bytes()
                    .get(s.len() - n..)
                    .is_some_and(|tail| tail.eq_ignore_ascii_case(self.value.as_bytes()))
            {
                return true;
            }
            if s.is_ascii() {
                return false;
            }
        }
        let mut hay = lower(s).rev();
        self.lower.chars().rev().all(|c| hay.next() == Some(c))
    }

    /// Whether `s` contains this literal, ignoring case.
    pub(crate) fn is_contained_in(&self, s: &str) -> bool {
        if self.value.is_empty() {
            return true;
        }
        if self.ascii {
            let needle = self.value.as_bytes();
            if s.as_bytes()
                .windows(needle.len())
                .any(|w| w.eq_ignore_ascii_case(needle))
            {
                return true;
            }
            if s.is_ascii() {
                return false;
            }
        }
        s.char_indices().any(|(i, _)| {
            s.get(i..)
                .is_some_and(|rest| starts_with_lower(rest, &self.lower))
        })
    }
}

fn starts_with_lower(s: &str, prefix_lower: &str) -> bool {
    let mut hay = lower(s);
    prefix_lower.chars().all(|c| hay.next() == Some(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_ascii_case_folding() {
        let t = Text::new("émile");
        assert!(t.eq_ci("ÉMILE"));
        assert!(t.is_prefix_of("ÉMILE ZOLA"));
        assert!(Text::new("zola").is_suffix_of("ÉMILE ZOLA"));
        assert!(Text::new("le z").is_contained_in("ÉMILE ZOLA"));
        // The Kelvin sign lowercases to an ASCII 'k'.
        assert!(Text::new("k").eq_ci("\u{212a}"));
        assert_eq!(cmp_ci("Ärger", "ärger"), Ordering::Equal);
    }
}
