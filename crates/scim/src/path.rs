//! SCIM attribute paths (RFC 7644 §3.10) and PATCH paths (RFC 7644 §3.5.2).
//!
//! ```text
//! attrPath  = [URI ":"] ATTRNAME *1subAttr
//! subAttr   = "." ATTRNAME
//! valuePath = attrPath "[" valFilter "]"
//! PATH      = attrPath / valuePath [subAttr]
//! ```
//!
//! A URI prefix is recognised when the path starts with `urn:` (any case).
//! Because schema URNs contain dots (`...:2.0:User`), the attribute name is the
//! text after the *last* `:` and only that last segment is split on `.`.

use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value};

use crate::filter::{self, Filter, MAX_FILTER_LEN};

/// An attribute path per RFC 7644 §3.10: `[URI ":"] ATTRNAME ["." subAttr]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttrPath {
    /// Schema URN prefix, e.g. `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`.
    pub urn: Option<String>,
    /// Attribute name, as written (matching is case-insensitive).
    pub name: String,
    /// Optional sub-attribute name, as written.
    pub sub: Option<String>,
}

/// A PATCH path per RFC 7644 §3.5.2: `attrPath | valuePath ["." subAttr]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchPath {
    /// The attribute the operation targets (`members` in `members[value eq "1"].display`).
    pub attr: AttrPath,
    /// The value filter between `[` and `]`, if any.
    pub filter: Option<Filter>,
    /// The sub-attribute after `]`, if any (`display` above).
    pub sub_after_filter: Option<String>,
}

/// A syntax error in an attribute or PATCH path; `position` is a byte offset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at position {position}")]
pub struct PathError {
    pub message: String,
    pub position: usize,
}

impl PathError {
    fn new(message: impl Into<String>, position: usize) -> Self {
        PathError {
            message: message.into(),
            position,
        }
    }
}

impl AttrPath {
    /// A path with just an attribute name.
    pub fn new(name: impl Into<String>) -> Self {
        AttrPath {
            urn: None,
            name: name.into(),
            sub: None,
        }
    }

    /// A path with an attribute name and a sub-attribute.
    pub fn with_sub(name: impl Into<String>, sub: impl Into<String>) -> Self {
        AttrPath {
            urn: None,
            name: name.into(),
            sub: Some(sub.into()),
        }
    }

    /// Parses a complete attribute path; surrounding whitespace is not allowed.
    pub fn parse(s: &str) -> Result<AttrPath, PathError> {
        if s.len() > MAX_FILTER_LEN {
            return Err(PathError::new(
                format!("attribute path is longer than {MAX_FILTER_LEN} bytes"),
                MAX_FILTER_LEN,
            ));
        }
        let end = scan_path_token(s, 0);
        if end == 0 {
            return Err(match s.chars().next() {
                None => PathError::new("empty attribute path", 0),
                Some(c) => PathError::new(format!("expected an attribute name, found {c:?}"), 0),
            });
        }
        let path = parse_path_token(&s[..end], 0)?;
        if let Some(c) = s[end..].chars().next() {
            return Err(PathError::new(format!("unexpected {c:?}"), end));
        }
        Ok(path)
    }

    /// Whether two paths name the same attribute (ASCII case-insensitive).
    pub fn eq_ignore_case(&self, other: &AttrPath) -> bool {
        fn opt_eq(a: &Option<String>, b: &Option<String>) -> bool {
            match (a, b) {
                (None, None) => true,
                (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                _ => false,
            }
        }
        opt_eq(&self.urn, &other.urn)
            && self.name.eq_ignore_ascii_case(&other.name)
            && opt_eq(&self.sub, &other.sub)
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            write!(f, "{urn}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

impl FromStr for AttrPath {
    type Err = PathError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AttrPath::parse(s)
    }
}

impl PatchPath {
    /// Parses a PATCH `path` value. Leading and trailing whitespace is ignored.
    pub fn parse(s: &str) -> Result<PatchPath, PathError> {
        if s.len() > MAX_FILTER_LEN {
            return Err(PathError::new(
                format!("path is longer than {MAX_FILTER_LEN} bytes"),
                MAX_FILTER_LEN,
            ));
        }
        let bytes = s.as_bytes();
        let mut pos = skip_ws(bytes, 0);
        if pos == bytes.len() {
            return Err(PathError::new("empty path", pos));
        }
        let start = pos;
        pos = scan_path_token(s, pos);
        if pos == start {
            return Err(unexpected_at(s, start, "expected an attribute name"));
        }
        let attr = parse_path_token(&s[start..pos], start)?;
        let mut filter = None;
        let mut sub_after_filter = None;
        if bytes.get(pos) == Some(&b'[') {
            if attr.sub.is_some() {
                return Err(PathError::new(
                    "a value filter cannot follow a sub-attribute",
                    pos,
                ));
            }
            let (f, close) = filter::parse_value_filter(s, pos + 1)
                .map_err(|e| PathError::new(e.message, e.position))?;
            filter = Some(f);
            pos = close + 1;
            if bytes.get(pos) == Some(&b'.') {
                let sub_start = pos + 1;
                let sub_end = scan_path_token(s, sub_start);
                if sub_end == sub_start {
                    return Err(PathError::new(
                        "expected a sub-attribute name after \".\"",
                        sub_start,
                    ));
                }
                let sub = &s[sub_start..sub_end];
                validate_name(sub, sub_start)?;
                sub_after_filter = Some(sub.to_string());
                pos = sub_end;
            }
        }
        let after = skip_ws(bytes, pos);
        if after < bytes.len() {
            return Err(unexpected_at(s, pos, "unexpected"));
        }
        Ok(PatchPath {
            attr,
            filter,
            sub_after_filter,
        })
    }
}

impl fmt::Display for PatchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.attr)?;
        if let Some(filter) = &self.filter {
            write!(f, "[{filter}]")?;
        }
        if let Some(sub) = &self.sub_after_filter {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

impl FromStr for PatchPath {
    type Err = PathError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PatchPath::parse(s)
    }
}

/// Case-insensitive (ASCII) key lookup in a JSON object; an exact match wins.
pub fn get_ci<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<(&'a String, &'a Value)> {
    obj.get_key_value(key)
        .or_else(|| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)))
}

// ---------------------------------------------------------------------------
// Lexing helpers shared with the filter parser.

/// Bytes that may appear in an attribute-path token (names, URNs, `$ref`).
pub(crate) fn is_path_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'$')
}

pub(crate) fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

pub(crate) fn skip_ws(bytes: &[u8], mut pos: usize) -> usize {
    while bytes.get(pos).is_some_and(|b| is_ws(*b)) {
        pos += 1;
    }
    pos
}

/// Returns the end of the path token starting at `pos`.
pub(crate) fn scan_path_token(s: &str, mut pos: usize) -> usize {
    let bytes = s.as_bytes();
    while bytes.get(pos).is_some_and(|b| is_path_byte(*b)) {
        pos += 1;
    }
    pos
}

fn unexpected_at(s: &str, pos: usize, what: &str) -> PathError {
    match s.get(pos..).and_then(|rest| rest.chars().next()) {
        Some(c) => PathError::new(format!("{what} {c:?}"), pos),
        None => PathError::new(format!("{what} end of input"), pos),
    }
}

/// Parses a token made of path bytes into an `AttrPath`; `offset` is the
/// token's position in the whole input, used for error positions.
pub(crate) fn parse_path_token(tok: &str, offset: usize) -> Result<AttrPath, PathError> {
    let is_urn = tok.len() >= 4 && tok.as_bytes()[..4].eq_ignore_ascii_case(b"urn:");
    let (urn, rest, rest_at) = if is_urn {
        // `rfind` always succeeds: the token starts with "urn:".
        let last = tok.rfind(':').unwrap_or(3);
        let urn = &tok[..last];
        if last == 3 || urn.split(':').any(str::is_empty) {
            return Err(PathError::new(
                format!("invalid schema URN {urn:?}"),
                offset,
            ));
        }
        (Some(urn.to_string()), &tok[last + 1..], offset + last + 1)
    } else {
        if let Some(i) = tok.find(':') {
            return Err(PathError::new(
                "an attribute path prefix must be a \"urn:\" URI",
                offset + i,
            ));
        }
        (None, tok, offset)
    };
    if rest.is_empty() {
        return Err(PathError::new(
            "expected an attribute name after the schema URN",
            rest_at,
        ));
    }
    let (name, sub) = match rest.find('.') {
        None => (rest, None),
        Some(dot) => {
            let sub = &rest[dot + 1..];
            let sub_at = rest_at + dot + 1;
            if sub.is_empty() {
                return Err(PathError::new(
                    "expected a sub-attribute name after \".\"",
                    sub_at,
                ));
            }
            if let Some(i) = sub.find('.') {
                return Err(PathError::new(
                    "unexpected \".\": attribute paths have at most one sub-attribute",
                    sub_at + i,
                ));
            }
            validate_name(sub, sub_at)?;
            (&rest[..dot], Some(sub.to_string()))
        }
    };
    validate_name(name, rest_at)?;
    Ok(AttrPath {
        urn,
        name: name.to_string(),
        sub,
    })
}

/// ATTRNAME = ALPHA *(nameChar), nameChar = "-" / "_" / DIGIT / ALPHA; or `$ref`.
fn validate_name(name: &str, at: usize) -> Result<(), PathError> {
    if name.eq_ignore_ascii_case("$ref") {
        return Ok(());
    }
    let bytes = name.as_bytes();
    match bytes.first() {
        None => return Err(PathError::new("expected an attribute name", at)),
        Some(b) if !b.is_ascii_alphabetic() => {
            return Err(PathError::new(
                format!("invalid attribute name {name:?}: it must start with a letter"),
                at,
            ))
        }
        Some(_) => {}
    }
    if let Some(i) = bytes
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_'))
    {
        return Err(PathError::new(
            format!("invalid character in attribute name {name:?}"),
            at + i,
        ));
    }
    Ok(())
}
