//! The SCIM filter language (RFC 7644 §3.4.2.2): parsing, printing and
//! in-memory evaluation against JSON resources.
//!
//! ```text
//! FILTER    = attrExp / logExp / valuePath / *1"not" "(" FILTER ")"
//! valuePath = attrPath "[" valFilter "]"
//! attrExp   = (attrPath SP "pr") / (attrPath SP compareOp SP compValue)
//! logExp    = FILTER SP ("and" / "or") SP FILTER
//! ```
//!
//! Precedence is `or` < `and` < `not`/atoms; `and` and `or` are
//! left-associative. Keywords and operators are case-insensitive.
//!
//! The parser is recursive descent, but it only recurses when it enters a
//! group (`(`, `not (`, `[`), and nesting is capped at [`MAX_FILTER_DEPTH`],
//! so no input can overflow the stack.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt::{self, Write as _};
use std::str::FromStr;

use serde_json::{Map, Number, Value};

use crate::path::{get_ci, is_path_byte, parse_path_token, scan_path_token, skip_ws, AttrPath};

/// Maximum nesting of groups: each `(`, `not (` and value-path `[` is one level.
pub const MAX_FILTER_DEPTH: usize = 32;
/// Maximum length of a filter (and of a PATCH path) in bytes.
pub const MAX_FILTER_LEN: usize = 8192;

/// A parsed SCIM filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `attr pr`
    Present(AttrPath),
    /// `attr op value`
    Compare {
        path: AttrPath,
        op: CompareOp,
        value: CompValue,
    },
    /// `emails[type eq "work" and primary eq true]`
    ValuePath {
        attr: AttrPath,
        filter: Box<Filter>,
    },
}

/// A comparison operator (everything except `pr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

/// The right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompValue {
    Str(String),
    Num(Number),
    Bool(bool),
    Null,
}

/// A syntax error in a filter; `position` is a byte offset into the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at position {position}")]
pub struct FilterError {
    pub message: String,
    pub position: usize,
}

impl FilterError {
    fn new(message: impl Into<String>, position: usize) -> Self {
        FilterError {
            message: message.into(),
            position,
        }
    }
}

/// Schema knowledge the evaluator needs.
pub trait AttributeTypes {
    /// Whether string comparisons on the attribute at `path` are case-exact (schema `caseExact`).
    /// `parent` is Some(outer attribute path) when evaluating inside a value path filter
    /// (e.g. for `emails[type eq "work"]`, path is `type`, parent is `emails`).
    fn case_exact(&self, parent: Option<&AttrPath>, path: &AttrPath) -> bool;
    /// Whether the attribute is a dateTime (compare chronologically).
    fn is_datetime(&self, parent: Option<&AttrPath>, path: &AttrPath) -> bool {
        let _ = (parent, path);
        false
    }
}

/// Treats every attribute as case-insensitive and no attribute as a dateTime.
#[derive(Debug, Clone, Copy, Default)]
pub struct CaseInsensitive;

impl AttributeTypes for CaseInsensitive {
    fn case_exact(&self, _parent: Option<&AttrPath>, _path: &AttrPath) -> bool {
        false
    }
}

impl CompareOp {
    /// The operator keyword in lower case.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }

    /// Parses an operator keyword, ignoring case (`pr` is not a `CompareOp`).
    pub fn from_keyword(word: &str) -> Option<CompareOp> {
        const ALL: [CompareOp; 9] = [
            CompareOp::Eq,
            CompareOp::Ne,
            CompareOp::Co,
            CompareOp::Sw,
            CompareOp::Ew,
            CompareOp::Gt,
            CompareOp::Ge,
            CompareOp::Lt,
            CompareOp::Le,
        ];
        ALL.into_iter()
            .find(|op| op.as_str().eq_ignore_ascii_case(word))
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for CompValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompValue::Str(s) => write_json_string(f, s),
            CompValue::Num(n) => write!(f, "{n}"),
            CompValue::Bool(b) => write!(f, "{b}"),
            CompValue::Null => f.write_str("null"),
        }
    }
}

fn write_json_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            '\u{08}' => f.write_str("\\b")?,
            '\u{0c}' => f.write_str("\\f")?,
            c if (c as u32) < 0x20 || c == '\u{7f}' => write!(f, "\\u{:04x}", c as u32)?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

impl fmt::Display for Filter {
    /// Prints canonical filter text that parses back to an equal AST.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::And(l, r) => {
                write_child(f, l, matches!(**l, Filter::Or(..)))?;
                f.write_str(" and ")?;
                write_child(f, r, matches!(**r, Filter::Or(..) | Filter::And(..)))
            }
            Filter::Or(l, r) => {
                write!(f, "{l} or ")?;
                write_child(f, r, matches!(**r, Filter::Or(..)))
            }
            Filter::Not(inner) => write!(f, "not ({inner})"),
            Filter::Present(p) => write!(f, "{p} pr"),
            Filter::Compare { path, op, value } => write!(f, "{path} {op} {value}"),
            Filter::ValuePath { attr, filter } => write!(f, "{attr}[{filter}]"),
        }
    }
}

fn write_child(f: &mut fmt::Formatter<'_>, child: &Filter, parens: bool) -> fmt::Result {
    if parens {
        write!(f, "({child})")
    } else {
        write!(f, "{child}")
    }
}

impl FromStr for Filter {
    type Err = FilterError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Filter::parse(s)
    }
}

impl Filter {
    /// Parses a filter expression (the `filter` query parameter).
    pub fn parse(s: &str) -> Result<Filter, FilterError> {
        if s.len() > MAX_FILTER_LEN {
            return Err(FilterError::new(
                format!("filter is longer than {MAX_FILTER_LEN} bytes"),
                MAX_FILTER_LEN,
            ));
        }
        let mut p = Parser::new(s, 0);
        p.skip_ws();
        if p.at_end() {
            return Err(FilterError::new("empty filter", p.pos));
        }
        let filter = p.parse_or("")?;
        p.skip_ws();
        match p.peek() {
            None => Ok(filter),
            Some(_) => Err(p.unexpected_after_expr(None)),
        }
    }

    /// Evaluates the filter against a resource (a JSON object).
    pub fn matches(&self, resource: &Value, types: &dyn AttributeTypes) -> bool {
        match resource {
            Value::Object(obj) => eval(self, obj, None, types),
            _ => eval(self, &Map::new(), None, types),
        }
    }

    /// Convenience constructor for `And`.
    pub fn and(self, other: Filter) -> Filter {
        Filter::And(Box::new(self), Box::new(other))
    }

    /// Convenience constructor for `Or`.
    pub fn or(self, other: Filter) -> Filter {
        Filter::Or(Box::new(self), Box::new(other))
    }

    /// Convenience constructor for `Not`.
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Filter {
        Filter::Not(Box::new(self))
    }
}

/// Evaluates a value path's inner filter against one element of a
/// multi-valued attribute; `parent` is the multi-valued attribute's path.
/// A primitive element is treated as `{"value": element}`.
pub fn element_matches(
    filter: &Filter,
    element: &Value,
    parent: &AttrPath,
    types: &dyn AttributeTypes,
) -> bool {
    match element {
        Value::Object(obj) => eval(filter, obj, Some(parent), types),
        Value::Null => false,
        other => {
            let mut obj = Map::new();
            obj.insert("value".to_string(), other.clone());
            eval(filter, &obj, Some(parent), types)
        }
    }
}

/// Parses the filter of a value path starting right after its `[` at byte
/// `start` of `s`. Returns the filter and the position of the closing `]`.
pub(crate) fn parse_value_filter(s: &str, start: usize) -> Result<(Filter, usize), FilterError> {
    let mut p = Parser::new(s, start);
    p.depth = 1;
    p.in_value_path = true;
    p.skip_ws();
    if p.at_end() || p.peek() == Some(b']') {
        return Err(FilterError::new(
            "expected a filter expression after \"[\"",
            p.pos,
        ));
    }
    let filter = p.parse_or("[")?;
    p.skip_ws();
    match p.peek() {
        Some(b']') => Ok((filter, p.pos)),
        _ => Err(p.unexpected_after_expr(Some(b']'))),
    }
}

// ---------------------------------------------------------------------------
// Parser

struct Parser<'a> {
    s: &'a str,
    b: &'a [u8],
    pos: usize,
    depth: usize,
    in_value_path: bool,
}

impl<'a> Parser<'a> {
    fn new(s: &'a str, pos: usize) -> Self {
        Parser {
            s,
            b: s.as_bytes(),
            pos,
            depth: 0,
            in_value_path: false,
        }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.b.len()
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        self.pos = skip_ws(self.b, self.pos);
    }

    /// The word (run of path bytes) at `pos`, possibly empty.
    fn word_at(&self, pos: usize) -> &'a str {
        let end = scan_path_token(self.s, pos);
        self.s.get(pos..end).unwrap_or("")
    }

    fn keyword_at(&self, pos: usize, kw: &str) -> bool {
        self.word_at(pos).eq_ignore_ascii_case(kw)
    }

    fn char_at(&self, pos: usize) -> Option<char> {
        self.s.get(pos..).and_then(|rest| rest.chars().next())
    }

    /// Error for something unexpected after a complete expression; `closer`
    /// is the bracket the current group expects (`)` or `]`), if any.
    fn unexpected_after_expr(&self, closer: Option<u8>) -> FilterError {
        let pos = self.pos;
        let expected = match closer {
            None => "\"and\" or \"or\"".to_string(),
            Some(c) => format!("\"and\", \"or\" or \"{}\"", c as char),
        };
        match self.peek() {
            None => match closer {
                Some(c) => FilterError::new(format!("expected \"{}\"", c as char), pos),
                None => FilterError::new(format!("expected {expected}"), pos),
            },
            Some(b')') => FilterError::new("unexpected \")\"", pos),
            Some(b']') => FilterError::new("unexpected \"]\"", pos),
            Some(b) if is_path_byte(b) => FilterError::new(
                format!("expected {expected}, found {:?}", self.word_at(pos)),
                pos,
            ),
            Some(_) => FilterError::new(
                format!(
                    "expected {expected}, found {:?}",
                    self.char_at(pos).unwrap_or('?')
                ),
                pos,
            ),
        }
    }

    fn enter(&mut self, at: usize) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_FILTER_DEPTH {
            return Err(FilterError::new(
                format!("filter nests deeper than {MAX_FILTER_DEPTH} levels"),
                at,
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// Parses an `or` chain. `after` names the token before it for error
    /// messages: "" at the top level, "(" or "[" at the start of a group.
    fn parse_or(&mut self, after: &str) -> Result<Filter, FilterError> {
        let mut left = self.parse_and(after)?;
        loop {
            let save = self.pos;
            self.skip_ws();
            if self.keyword_at(self.pos, "or") {
                self.pos += 2;
                let right = self.parse_and("or")?;
                left = Filter::Or(Box::new(left), Box::new(right));
            } else {
                self.pos = save;
                return Ok(left);
            }
        }
    }

    fn parse_and(&mut self, after: &str) -> Result<Filter, FilterError> {
        let mut left = self.parse_unary(after)?;
        loop {
            let save = self.pos;
            self.skip_ws();
            if self.keyword_at(self.pos, "and") {
                self.pos += 3;
                let right = self.parse_unary("and")?;
                left = Filter::And(Box::new(left), Box::new(right));
            } else {
                self.pos = save;
                return Ok(left);
            }
        }
    }

    /// Parses `not (...)`, `(...)` or an attribute expression. `after` names
    /// the preceding token for error messages ("" at the top level).
    fn parse_unary(&mut self, after: &str) -> Result<Filter, FilterError> {
        self.skip_ws();
        let start = self.pos;
        match self.peek() {
            Some(b')') if after.is_empty() => Err(FilterError::new("unexpected \")\"", start)),
            Some(b']') if after.is_empty() => Err(FilterError::new("unexpected \"]\"", start)),
            None if after.is_empty() => Err(FilterError::new("empty filter", start)),
            None | Some(b')') | Some(b']') => Err(FilterError::new(
                format!("expected a filter expression after {after:?}"),
                start,
            )),
            Some(b'(') => {
                self.pos += 1;
                self.parse_group(start, |f| f)
            }
            Some(_) if self.keyword_at(start, "not") => {
                let after_not = skip_ws(self.b, start + 3);
                match self.b.get(after_not) {
                    Some(b'(') => {
                        self.pos = after_not + 1;
                        self.parse_group(after_not, |f| Filter::Not(Box::new(f)))
                    }
                    // `not pr`, `not eq 1`, `not[...]`: an attribute named "not".
                    Some(b'[') => self.parse_attr_expr(),
                    Some(_)
                        if after_not > start + 3
                            && (CompareOp::from_keyword(self.word_at(after_not)).is_some()
                                || self.keyword_at(after_not, "pr")) =>
                    {
                        self.parse_attr_expr()
                    }
                    _ => Err(FilterError::new("expected \"(\" after \"not\"", after_not)),
                }
            }
            Some(_) => self.parse_attr_expr(),
        }
    }

    /// Parses the inside of a parenthesised group whose `(` is at `open`;
    /// `self.pos` is just past it.
    fn parse_group(
        &mut self,
        open: usize,
        wrap: fn(Filter) -> Filter,
    ) -> Result<Filter, FilterError> {
        self.enter(open)?;
        let inner = self.parse_or("(")?;
        self.skip_ws();
        if self.peek() != Some(b')') {
            return Err(self.unexpected_after_expr(Some(b')')));
        }
        self.pos += 1;
        self.leave();
        Ok(wrap(inner))
    }

    fn parse_attr_expr(&mut self) -> Result<Filter, FilterError> {
        let start = self.pos;
        let end = scan_path_token(self.s, start);
        if end == start {
            let found = match self.peek() {
                Some(b'"') => "a string".to_string(),
                _ => format!("{:?}", self.char_at(start).unwrap_or('?')),
            };
            return Err(FilterError::new(
                format!("expected an attribute path, found {found}"),
                start,
            ));
        }
        let tok = self.s.get(start..end).unwrap_or("");
        let path =
            parse_path_token(tok, start).map_err(|e| FilterError::new(e.message, e.position))?;
        self.pos = end;
        self.skip_ws();
        if self.peek() == Some(b'[') {
            let open = self.pos;
            return self.parse_value_path(path, open);
        }
        self.parse_condition(path, tok)
    }

    /// The operator and value that follow an attribute path: `pr`, or `op value`.
    fn parse_condition(&mut self, path: AttrPath, tok: &str) -> Result<Filter, FilterError> {
        self.skip_ws();
        let op_start = self.pos;
        match self.peek() {
            Some(b) if is_path_byte(b) => {}
            _ => {
                return Err(FilterError::new(
                    format!("expected an operator after {tok:?}"),
                    op_start,
                ))
            }
        }
        let word = self.word_at(op_start);
        self.pos = op_start + word.len();
        if word.eq_ignore_ascii_case("pr") {
            return Ok(Filter::Present(path));
        }
        let Some(op) = CompareOp::from_keyword(word) else {
            return Err(FilterError::new(
                format!("unknown operator {word:?}"),
                op_start,
            ));
        };
        self.skip_ws();
        let value = self.parse_comp_value(op)?;
        Ok(Filter::Compare { path, op, value })
    }

    fn parse_value_path(&mut self, attr: AttrPath, open: usize) -> Result<Filter, FilterError> {
        if self.in_value_path {
            return Err(FilterError::new("value paths cannot be nested", open));
        }
        if attr.sub.is_some() {
            return Err(FilterError::new(
                "a value filter cannot follow a sub-attribute",
                open,
            ));
        }
        self.enter(open)?;
        self.in_value_path = true;
        self.pos = open + 1;
        self.skip_ws();
        if self.at_end() || self.peek() == Some(b']') {
            return Err(FilterError::new(
                "expected a filter expression after \"[\"",
                self.pos,
            ));
        }
        let inner = self.parse_or("[")?;
        self.skip_ws();
        if self.peek() != Some(b']') {
            return Err(self.unexpected_after_expr(Some(b']')));
        }
        self.pos += 1;
        self.in_value_path = false;
        self.leave();
        if self.peek() == Some(b'.') {
            // Not RFC grammar, but Microsoft Entra sends `emails[type eq "work"].value eq "x"`:
            // read it as `emails[type eq "work" and value eq "x"]`.
            let sub_start = self.pos + 1;
            let end = scan_path_token(self.s, sub_start);
            let tok = self.s.get(sub_start..end).unwrap_or("");
            let sub = match parse_path_token(tok, sub_start) {
                Ok(p) if !tok.is_empty() && p.urn.is_none() && p.sub.is_none() => p,
                _ => {
                    return Err(FilterError::new(
                        "expected a sub-attribute name after \"].\"",
                        sub_start,
                    ))
                }
            };
            self.pos = end;
            let condition = self.parse_condition(sub, tok)?;
            return Ok(Filter::ValuePath {
                attr,
                filter: Box::new(Filter::And(Box::new(inner), Box::new(condition))),
            });
        }
        Ok(Filter::ValuePath {
            attr,
            filter: Box::new(inner),
        })
    }

    fn parse_comp_value(&mut self, op: CompareOp) -> Result<CompValue, FilterError> {
        let start = self.pos;
        match self.peek() {
            Some(b'"') => self.parse_string().map(CompValue::Str),
            Some(b) if b == b'-' || b.is_ascii_digit() => {
                let end = self.scan_number_token(start);
                let text = self.s.get(start..end).unwrap_or("");
                let n = parse_number(text)
                    .ok_or_else(|| FilterError::new(format!("invalid number {text:?}"), start))?;
                self.pos = end;
                Ok(CompValue::Num(n))
            }
            Some(b) if is_path_byte(b) => {
                let word = self.word_at(start);
                let value = if word.eq_ignore_ascii_case("true") {
                    CompValue::Bool(true)
                } else if word.eq_ignore_ascii_case("false") {
                    CompValue::Bool(false)
                } else if word.eq_ignore_ascii_case("null") {
                    CompValue::Null
                } else {
                    return Err(FilterError::new(
                        format!(
                            "expected a comparison value after {:?}, found {word:?} (strings must be quoted)",
                            op.as_str()
                        ),
                        start,
                    ));
                };
                self.pos = start + word.len();
                Ok(value)
            }
            _ => Err(FilterError::new(
                format!("expected a comparison value after {:?}", op.as_str()),
                start,
            )),
        }
    }

    fn scan_number_token(&self, mut pos: usize) -> usize {
        while self
            .b
            .get(pos)
            .is_some_and(|b| is_path_byte(*b) || *b == b'+')
        {
            pos += 1;
        }
        pos
    }

    /// Parses a JSON string literal starting at the opening quote.
    fn parse_string(&mut self) -> Result<String, FilterError> {
        let open = self.pos;
        let mut out = String::new();
        let mut i = open + 1;
        loop {
            // Copy the run of plain characters in one go.
            let run_end = self.b[i.min(self.b.len())..]
                .iter()
                .position(|b| *b == b'"' || *b == b'\\')
                .map_or(self.b.len(), |p| i + p);
            out.push_str(self.s.get(i..run_end).unwrap_or(""));
            i = run_end;
            match self.b.get(i) {
                None => return Err(FilterError::new("unterminated string", open)),
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok(out);
                }
                Some(_) => {
                    // Backslash escape.
                    let esc_at = i;
                    let Some(&e) = self.b.get(i + 1) else {
                        return Err(FilterError::new("unterminated string", open));
                    };
                    i += 2;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{08}'),
                        b'f' => out.push('\u{0c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hi = self.hex4(i, esc_at)?;
                            i += 4;
                            let c = if (0xD800..0xDC00).contains(&hi) {
                                let lo = if self.b.get(i) == Some(&b'\\')
                                    && self.b.get(i + 1) == Some(&b'u')
                                {
                                    self.hex4(i + 2, i)?
                                } else {
                                    0
                                };
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(FilterError::new(
                                        "unpaired UTF-16 surrogate in \\u escape",
                                        esc_at,
                                    ));
                                }
                                i += 6;
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else {
                                hi
                            };
                            match char::from_u32(c) {
                                Some(c) => out.push(c),
                                None => {
                                    return Err(FilterError::new(
                                        "unpaired UTF-16 surrogate in \\u escape",
                                        esc_at,
                                    ))
                                }
                            }
                        }
                        _ => {
                            return Err(FilterError::new(
                                format!(
                                    "invalid escape \"\\{}\" in string",
                                    self.char_at(esc_at + 1).unwrap_or('?')
                                ),
                                esc_at,
                            ))
                        }
                    }
                }
            }
        }
    }

    fn hex4(&self, at: usize, esc_at: usize) -> Result<u32, FilterError> {
        let digits = self
            .b
            .get(at..at + 4)
            .filter(|d| d.iter().all(u8::is_ascii_hexdigit))
            .ok_or_else(|| FilterError::new("invalid \\u escape: expected 4 hex digits", esc_at))?;
        Ok(digits.iter().fold(0u32, |acc, d| {
            // All four are ASCII hex digits, checked above.
            acc * 16 + char::from(*d).to_digit(16).unwrap_or(0)
        }))
    }
}

/// Parses a JSON number (`-? int frac? exp?`) into a `serde_json::Number`.
fn parse_number(text: &str) -> Option<Number> {
    let b = text.as_bytes();
    let mut i = 0;
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(d) if d.is_ascii_digit() => {
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        _ => return None,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        let frac_start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == frac_start {
            return None;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp_start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == exp_start {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    // Grammar checked. Integers stay exact when they fit i64/u64; everything
    // else goes through the standard library's correctly rounded f64 parser
    // (serde_json's default one is not, which breaks print/parse round trips).
    if let Ok(n) = text.parse::<i64>() {
        return Some(n.into());
    }
    if let Ok(n) = text.parse::<u64>() {
        return Some(n.into());
    }
    text.parse::<f64>().ok().and_then(Number::from_f64)
}

// ---------------------------------------------------------------------------
// Evaluation

fn eval(
    filter: &Filter,
    obj: &Map<String, Value>,
    parent: Option<&AttrPath>,
    types: &dyn AttributeTypes,
) -> bool {
    match filter {
        Filter::And(l, r) => eval(l, obj, parent, types) && eval(r, obj, parent, types),
        Filter::Or(l, r) => eval(l, obj, parent, types) || eval(r, obj, parent, types),
        Filter::Not(inner) => !eval(inner, obj, parent, types),
        Filter::Present(path) => resolve(obj, path).into_iter().any(is_present_value),
        Filter::Compare { path, op, value } => compare(obj, parent, path, *op, value, types),
        Filter::ValuePath { attr, filter } => resolve(obj, attr)
            .into_iter()
            .any(|el| element_matches(filter, el, attr, types)),
    }
}

/// Whether a value counts as present: not null, "", [] or {}.
fn is_present_value(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => a.iter().any(is_present_value),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

/// Collects the values an attribute path denotes in `obj`, flattening
/// multi-valued attributes one level.
fn resolve<'v>(obj: &'v Map<String, Value>, path: &AttrPath) -> Vec<&'v Value> {
    let container = match &path.urn {
        Some(urn) => match get_ci(obj, urn) {
            Some((_, Value::Object(ext))) => ext,
            _ => obj,
        },
        None => obj,
    };
    let mut out = Vec::new();
    let Some((_, value)) = get_ci(container, &path.name) else {
        return out;
    };
    match &path.sub {
        None => push_flat(value, &mut out),
        Some(sub) => match value {
            Value::Object(m) => {
                if let Some((_, v)) = get_ci(m, sub) {
                    push_flat(v, &mut out);
                }
            }
            Value::Array(items) => {
                for item in items {
                    if let Value::Object(m) = item {
                        if let Some((_, v)) = get_ci(m, sub) {
                            push_flat(v, &mut out);
                        }
                    }
                }
            }
            _ => {}
        },
    }
    out
}

fn push_flat<'v>(value: &'v Value, out: &mut Vec<&'v Value>) {
    match value {
        Value::Array(items) => out.extend(items.iter()),
        other => out.push(other),
    }
}

fn compare(
    obj: &Map<String, Value>,
    parent: Option<&AttrPath>,
    path: &AttrPath,
    op: CompareOp,
    value: &CompValue,
    types: &dyn AttributeTypes,
) -> bool {
    let raw = resolve(obj, path);
    if *value == CompValue::Null {
        let present = raw.into_iter().any(is_present_value);
        return match op {
            CompareOp::Eq => !present,
            CompareOp::Ne => present,
            _ => false,
        };
    }
    // A complex attribute compared without a sub-attribute compares its
    // `value` sub-attribute (RFC 7644 §3.4.2.2).
    let mut values = Vec::with_capacity(raw.len());
    for v in raw {
        match v {
            Value::Object(m) if path.sub.is_none() => {
                if let Some((_, inner)) = get_ci(m, "value") {
                    push_flat(inner, &mut values);
                }
            }
            other => values.push(other),
        }
    }
    let case_exact = matches!(value, CompValue::Str(_)) && types.case_exact(parent, path);
    let datetime = matches!(value, CompValue::Str(_)) && types.is_datetime(parent, path);
    let test = |op| {
        values
            .iter()
            .any(|v| element_satisfies(v, op, value, case_exact, datetime))
    };
    match op {
        CompareOp::Ne => !test(CompareOp::Eq),
        _ => test(op),
    }
}

fn element_satisfies(
    elem: &Value,
    op: CompareOp,
    value: &CompValue,
    case_exact: bool,
    datetime: bool,
) -> bool {
    match (value, elem) {
        (CompValue::Str(want), Value::String(have)) => {
            string_satisfies(have, op, want, case_exact, datetime)
        }
        (CompValue::Num(want), Value::Number(have)) => {
            !matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew)
                && compare_numbers(have, want).is_some_and(|ord| ordering_satisfies(op, ord))
        }
        (CompValue::Bool(want), Value::Bool(have)) => bool_satisfies(op, *have, *want),
        (CompValue::Bool(want), Value::String(have)) => {
            parse_bool_ci(have).is_some_and(|have| bool_satisfies(op, have, *want))
        }
        _ => false,
    }
}

fn bool_satisfies(op: CompareOp, have: bool, want: bool) -> bool {
    match op {
        CompareOp::Eq => have == want,
        CompareOp::Ne => have != want,
        _ => false,
    }
}

fn parse_bool_ci(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

fn ordering_satisfies(op: CompareOp, ord: Ordering) -> bool {
    match op {
        CompareOp::Eq => ord == Ordering::Equal,
        CompareOp::Ne => ord != Ordering::Equal,
        CompareOp::Gt => ord == Ordering::Greater,
        CompareOp::Ge => ord != Ordering::Less,
        CompareOp::Lt => ord == Ordering::Less,
        CompareOp::Le => ord != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

fn compare_numbers(a: &Number, b: &Number) -> Option<Ordering> {
    fn as_i128(n: &Number) -> Option<i128> {
        n.as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
    }
    if let (Some(x), Some(y)) = (as_i128(a), as_i128(b)) {
        return Some(x.cmp(&y));
    }
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}

fn string_satisfies(
    have: &str,
    op: CompareOp,
    want: &str,
    case_exact: bool,
    datetime: bool,
) -> bool {
    let ordered = matches!(
        op,
        CompareOp::Eq
            | CompareOp::Ne
            | CompareOp::Gt
            | CompareOp::Ge
            | CompareOp::Lt
            | CompareOp::Le
    );
    if datetime && ordered {
        if let (Some(h), Some(w)) = (parse_rfc3339(have), parse_rfc3339(want)) {
            return ordering_satisfies(op, h.cmp(&w));
        }
    }
    let (have, want): (Cow<str>, Cow<str>) = if case_exact {
        (Cow::Borrowed(have), Cow::Borrowed(want))
    } else {
        (
            Cow::Owned(have.to_lowercase()),
            Cow::Owned(want.to_lowercase()),
        )
    };
    match op {
        CompareOp::Co => have.contains(&*want),
        CompareOp::Sw => have.starts_with(&*want),
        CompareOp::Ew => have.ends_with(&*want),
        _ => ordering_satisfies(op, have.cmp(&want)),
    }
}

/// Parses an RFC 3339 date-time into (seconds since the Unix epoch, nanoseconds).
/// A missing offset is taken as UTC. Returns `None` if the text is not one.
fn parse_rfc3339(s: &str) -> Option<(i64, u32)> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let digits = b.get(from..from + len)?;
        digits.iter().try_fold(0i64, |acc, d| {
            d.is_ascii_digit().then(|| acc * 10 + i64::from(d - b'0'))
        })
    };
    let sep = |at: usize, allowed: &[u8]| b.get(at).is_some_and(|c| allowed.contains(c));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut i = 19;
    let mut nanos: u32 = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        let mut scale = 100_000_000u32;
        while let Some(d) = b.get(i).filter(|d| d.is_ascii_digit()) {
            nanos += u32::from(d - b'0') * scale;
            scale /= 10;
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    let offset_secs = match b.get(i) {
        None => 0,
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(sign @ (b'+' | b'-')) if i + 6 == b.len() && sep(i + 3, b":") => {
            let (oh, om) = (num(i + 1, 2)?, num(i + 4, 2)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let off = oh * 3600 + om * 60;
            if *sign == b'-' {
                -off
            } else {
                off
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
    Some((secs, nanos))
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_parses_and_orders() {
        let a = parse_rfc3339("2011-05-13T04:42:34Z");
        let b = parse_rfc3339("2011-05-13T06:42:34+02:00");
        assert!(a.is_some());
        assert_eq!(a, b);
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some((0, 0)));
        assert_eq!(
            parse_rfc3339("1970-01-01T00:00:01.5Z"),
            Some((1, 500_000_000))
        );
        assert_eq!(
            parse_rfc3339("2000-03-01T00:00:00Z"),
            Some((951_868_800, 0))
        );
        assert_eq!(parse_rfc3339("2011-02-30T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("2011-05-13"), None);
        assert_eq!(parse_rfc3339("2011-05-13T04:42:34Zjunk"), None);
        assert_eq!(parse_rfc3339("2011-05-13T04:42:34."), None);
    }

    #[test]
    fn numbers_follow_json_grammar() {
        for ok in ["0", "-0", "12", "-1.5", "1e5", "1E+5", "2.5e-3"] {
            assert!(parse_number(ok).is_some(), "{ok}");
        }
        for bad in ["01", "-", "1.", ".5", "1e", "1x", "1e400", "--1", "+1"] {
            assert!(parse_number(bad).is_none(), "{bad}");
        }
    }
}
