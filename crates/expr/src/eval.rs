//! The compiler and the interpreter. Compiling resolves function names to [`Func`], checks
//! arities, precompiles constant regular expressions and records each call's column; evaluating
//! walks that tree over a [`Source`] object, borrowing strings from it where it can.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;

use regex::Regex;
use serde_json::{Map, Value as Json};
use time::OffsetDateTime;

use crate::ast::{CompareOp, Expr, Span};
use crate::catalogue::{self, Func};
use crate::check::{check, CheckError};
use crate::parse::{column_of, parse, ParseError};
use crate::value::Value;
use crate::{datetime, text};

/// A failure while evaluating: what went wrong, and the span and column of the call that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at column {column}")]
pub struct EvalError {
    pub message: String,
    pub span: Span,
    pub column: usize,
}

/// Why an expression could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error("{0}")]
    Check(CheckError),
}

/// What the mapping's attribute receives.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome<'a> {
    /// The value to flow (possibly null).
    Value(Value<'a>),
    /// `IgnoreFlowIfNullOrEmpty` saw nothing: the attribute is left out of the flow.
    Ignored,
}

/// The world an expression may look at: the clock, randomness, the tenant, and the target
/// (for SelectUniqueValue). Injected so that tests are deterministic.
pub trait Environment {
    fn now(&self) -> OffsetDateTime;
    /// A uniformly random 64-bit number.
    fn random(&self) -> u64;
    /// The tenant's default domain, for `DefaultDomain()`.
    fn default_domain(&self) -> Option<&str> {
        None
    }
    /// Whether `candidate` is not taken in the target yet (SelectUniqueValue's probe).
    fn is_unique(&self, _candidate: &str) -> bool {
        true
    }
}

type Probe = Box<dyn Fn(&str) -> bool>;

/// The real clock and a cryptographically secure generator (RandomString makes passwords).
#[derive(Default)]
pub struct SystemEnvironment {
    pub default_domain: Option<String>,
    probe: Option<Probe>,
}

impl SystemEnvironment {
    /// Sets SelectUniqueValue's probe: it answers whether a candidate is free in the target.
    pub fn with_probe(mut self, probe: impl Fn(&str) -> bool + 'static) -> Self {
        self.probe = Some(Box::new(probe));
        self
    }
}

impl Environment for SystemEnvironment {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    fn random(&self) -> u64 {
        rand::random()
    }

    fn default_domain(&self) -> Option<&str> {
        self.default_domain.as_deref()
    }

    fn is_unique(&self, candidate: &str) -> bool {
        self.probe.as_ref().is_none_or(|probe| probe(candidate))
    }
}

/// A fixed clock and a seeded generator (SplitMix64), for tests and reproducible runs.
pub struct FixedEnvironment {
    pub now: OffsetDateTime,
    pub default_domain: Option<String>,
    state: Cell<u64>,
    probe: Option<Probe>,
}

impl FixedEnvironment {
    pub fn new(now: OffsetDateTime, seed: u64) -> Self {
        FixedEnvironment {
            now,
            default_domain: None,
            state: Cell::new(seed),
            probe: None,
        }
    }

    pub fn with_probe(mut self, probe: impl Fn(&str) -> bool + 'static) -> Self {
        self.probe = Some(Box::new(probe));
        self
    }
}

impl Environment for FixedEnvironment {
    fn now(&self) -> OffsetDateTime {
        self.now
    }

    fn random(&self) -> u64 {
        let state = self.state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        self.state.set(state);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn default_domain(&self) -> Option<&str> {
        self.default_domain.as_deref()
    }

    fn is_unique(&self, candidate: &str) -> bool {
        self.probe.as_ref().is_none_or(|probe| probe(candidate))
    }
}

/// The source object an expression reads attributes from.
pub trait Source {
    /// The attribute called `name` (as written in the expression), compared case-insensitively;
    /// `lower` is `name` in lower case. Null when absent.
    fn attribute(&self, name: &str, lower: &str) -> Value<'_>;
}

fn lookup_json<'a>(map: &'a Map<String, Json>, name: &str, lower: &str) -> Option<&'a Json> {
    // Source objects are small: a scan that compares lengths and end bytes before the bytes
    // beats hashing the name; the case-insensitive scan runs only when that finds nothing.
    if map.len() <= 64 {
        let bytes = name.as_bytes();
        let ends = (bytes.first(), bytes.last());
        let exact = map.iter().find(|(key, _)| {
            let key = key.as_bytes();
            key.len() == bytes.len() && (key.first(), key.last()) == ends && key == bytes
        });
        if let Some((_, value)) = exact {
            return Some(value);
        }
    } else if let Some(value) = map.get(name) {
        return Some(value);
    }
    let folded = map.iter().find(|(key, _)| {
        if key.is_ascii() {
            key.len() == lower.len() && key.eq_ignore_ascii_case(lower)
        } else {
            key.to_lowercase() == lower
        }
    });
    if let Some((_, value)) = folded {
        return Some(value);
    }
    // `manager.displayName`: a dotted name may walk into a complex value.
    let (head, tail) = name.split_once('.')?;
    let (lower_head, lower_tail) = lower.split_once('.')?;
    match lookup_json(map, head, lower_head)? {
        Json::Object(inner) => lookup_json(inner, tail, lower_tail),
        _ => None,
    }
}

impl Source for Map<String, Json> {
    fn attribute(&self, name: &str, lower: &str) -> Value<'_> {
        lookup_json(self, name, lower).map_or(Value::Null, Value::from_json)
    }
}

impl Source for Json {
    fn attribute(&self, name: &str, lower: &str) -> Value<'_> {
        match self {
            Json::Object(map) => map.attribute(name, lower),
            _ => Value::Null,
        }
    }
}

#[derive(Debug)]
enum Node {
    Str(Box<str>),
    Int(i64),
    Attribute {
        name: Box<str>,
        lower: Box<str>,
    },
    Call {
        func: Func,
        args: Box<[Node]>,
        /// Replace's regexPattern, compiled once when it is a constant.
        regex: Option<Box<Regex>>,
        span: Span,
        column: usize,
    },
    Compare {
        op: CompareOp,
        left: Box<Node>,
        right: Box<Node>,
    },
    Empty,
}

/// A compiled expression, ready to evaluate many times.
#[derive(Debug)]
pub struct Program {
    root: Node,
    redacts: bool,
}

impl Program {
    /// Parses, checks (without an attribute list) and compiles `text`.
    pub fn compile(text: &str) -> Result<Program, CompileError> {
        let expr = parse(text)?;
        Program::from_expr(&expr, text)
    }

    /// Compiles a tree; `text` is what its spans point into (`""` for built trees).
    pub fn from_expr(expr: &Expr, text: &str) -> Result<Program, CompileError> {
        if let Some(error) = check(expr, text, None).into_iter().next() {
            return Err(CompileError::Check(error));
        }
        let mut redacts = false;
        let root = lower(expr, text, &mut redacts)?;
        Ok(Program { root, redacts })
    }

    /// Whether the expression contains `Redact`: logs must show `[Redact]`, not the value.
    pub fn redacts(&self) -> bool {
        self.redacts
    }

    /// Evaluates the expression over `source`.
    pub fn evaluate<'a>(
        &'a self,
        source: &'a dyn Source,
        env: &dyn Environment,
    ) -> Result<Outcome<'a>, EvalError> {
        let interpreter = Interpreter { source, env };
        match interpreter.eval(&self.root) {
            Ok(value) => Ok(Outcome::Value(value)),
            Err(Stop::Ignore) => Ok(Outcome::Ignored),
            Err(Stop::Error(error)) => Err(error),
        }
    }
}

fn lower(expr: &Expr, text: &str, redacts: &mut bool) -> Result<Node, CompileError> {
    Ok(match expr {
        Expr::Str { value, .. } => Node::Str(value.as_str().into()),
        Expr::Number { value, .. } => Node::Int(*value),
        Expr::Attribute { name, .. } => Node::Attribute {
            lower: name.to_lowercase().into(),
            name: name.as_str().into(),
        },
        Expr::Empty { .. } => Node::Empty,
        Expr::Compare {
            op, left, right, ..
        } => Node::Compare {
            op: *op,
            left: Box::new(lower(left, text, redacts)?),
            right: Box::new(lower(right, text, redacts)?),
        },
        Expr::Call { name, args, span } => {
            let column = column_of(text, span.start);
            let Some(def) = catalogue::lookup(name) else {
                return Err(CompileError::Check(CheckError {
                    message: format!("unknown function \"{name}\""),
                    suggestion: None,
                    span: span.clone(),
                    column,
                }));
            };
            *redacts |= def.func == Func::Redact;
            let regex = match (def.func, args.get(2)) {
                (Func::Replace, Some(Expr::Str { value, span })) => {
                    Some(Box::new(compile_regex(value).map_err(|message| {
                        CompileError::Check(CheckError {
                            message,
                            suggestion: None,
                            span: span.clone(),
                            column: column_of(text, span.start),
                        })
                    })?))
                }
                _ => None,
            };
            let args = args
                .iter()
                .map(|arg| lower(arg, text, redacts))
                .collect::<Result<Vec<_>, _>>()?;
            Node::Call {
                func: def.func,
                args: args.into_boxed_slice(),
                regex,
                span: span.clone(),
                column,
            }
        }
    })
}

fn compile_regex(pattern: &str) -> Result<Regex, String> {
    regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|error| format!("invalid regexPattern of Replace: {error}"))
}

enum Stop {
    Error(EvalError),
    Ignore,
}

type Eval<'a> = Result<Value<'a>, Stop>;

struct Interpreter<'a, 'e> {
    source: &'a dyn Source,
    env: &'e dyn Environment,
}

/// Applies `f` to the text of a value, to each value of a multi-valued one; null stays null.
fn map_text<'a>(value: Value<'a>, f: &dyn Fn(Cow<'a, str>) -> Value<'a>) -> Value<'a> {
    match value {
        Value::Null => Value::Null,
        Value::MultiValued(items) => {
            Value::MultiValued(items.into_iter().map(|item| map_text(item, f)).collect())
        }
        other => match other.into_text() {
            Some(text) => f(text),
            None => Value::Null,
        },
    }
}

/// Runs a borrowing string transformation on a Cow without copying borrowed input twice.
fn cow_apply<'a>(text: Cow<'a, str>, f: impl for<'x> Fn(&'x str) -> Cow<'x, str>) -> Cow<'a, str> {
    match text {
        Cow::Borrowed(borrowed) => f(borrowed),
        Cow::Owned(owned) => Cow::Owned(f(&owned).into_owned()),
    }
}

fn describe(value: &Value<'_>) -> String {
    match value.as_text() {
        Some(text) => format!("\"{text}\""),
        None => "null".to_string(),
    }
}

const SPECIAL_CHARACTERS: &str = "!#$%&()*+,-./:;<=>?@[]^_{|}~";

impl<'a> Interpreter<'a, '_> {
    fn eval(&self, node: &'a Node) -> Eval<'a> {
        match node {
            Node::Str(text) => Ok(Value::String(Cow::Borrowed(text))),
            Node::Int(i) => Ok(Value::Integer(*i)),
            Node::Empty => Ok(Value::Null),
            Node::Attribute { name, lower } => Ok(self.source.attribute(name, lower)),
            Node::Compare { op, left, right } => {
                let left = self.eval(left)?;
                let right = self.eval(right)?;
                Ok(Value::Boolean(compare(*op, &left, &right)))
            }
            Node::Call {
                func,
                args,
                regex,
                span,
                column,
            } => {
                let call = Call {
                    interpreter: self,
                    args,
                    span,
                    column: *column,
                    func: *func,
                };
                call.run(regex.as_deref())
            }
        }
    }
}

fn compare(op: CompareOp, left: &Value<'_>, right: &Value<'_>) -> bool {
    use std::cmp::Ordering;
    let ordering = match (left, right) {
        (Value::DateTime(a), Value::DateTime(b)) => a.cmp(b),
        (Value::Integer(_), _) | (_, Value::Integer(_))
            if left.as_integer().is_some() && right.as_integer().is_some() =>
        {
            left.as_integer().cmp(&right.as_integer())
        }
        (Value::Boolean(_), _) | (_, Value::Boolean(_))
            if left.as_bool().is_some() && right.as_bool().is_some() =>
        {
            left.as_bool().cmp(&right.as_bool())
        }
        _ => {
            // Null compares as the empty string (Entra fails instead; see the crate docs).
            let a = left.as_text().unwrap_or_default();
            let b = right.as_text().unwrap_or_default();
            match (a.parse::<i64>(), b.parse::<i64>()) {
                (Ok(x), Ok(y)) if !matches!(op, CompareOp::Eq | CompareOp::Ne) => x.cmp(&y),
                _ => a.cmp(&b),
            }
        }
    };
    match op {
        CompareOp::Eq => ordering == Ordering::Equal,
        CompareOp::Ne => ordering != Ordering::Equal,
        CompareOp::Lt => ordering == Ordering::Less,
        CompareOp::Le => ordering != Ordering::Greater,
        CompareOp::Gt => ordering == Ordering::Greater,
        CompareOp::Ge => ordering != Ordering::Less,
    }
}

struct Call<'a, 'i, 'e> {
    interpreter: &'i Interpreter<'a, 'e>,
    args: &'a [Node],
    span: &'a Span,
    column: usize,
    func: Func,
}

impl<'a> Call<'a, '_, '_> {
    fn name(&self) -> &'static str {
        catalogue::definition(self.func).name
    }

    fn fail<T>(&self, message: impl Into<String>) -> Result<T, Stop> {
        Err(Stop::Error(EvalError {
            message: message.into(),
            span: self.span.clone(),
            column: self.column,
        }))
    }

    fn arg(&self, i: usize) -> Eval<'a> {
        match self.args.get(i) {
            Some(node) => self.interpreter.eval(node),
            None => Ok(Value::Null),
        }
    }

    fn present(&self, i: usize) -> bool {
        self.args
            .get(i)
            .is_some_and(|node| !matches!(node, Node::Empty))
    }

    fn text(&self, i: usize) -> Result<Option<Cow<'a, str>>, Stop> {
        Ok(self.arg(i)?.into_text())
    }

    fn param_name(&self, i: usize) -> &'static str {
        catalogue::definition(self.func)
            .param_for_slot(i)
            .map_or("argument", |p| p.name)
    }

    /// Argument `i` converted by `convert`; null stays `None`, anything else is an error
    /// naming the parameter and `what` it must be.
    fn typed<T>(
        &self,
        i: usize,
        what: &str,
        convert: impl Fn(&Value<'a>) -> Option<T>,
    ) -> Result<Option<T>, Stop> {
        let value = self.arg(i)?;
        if value.is_null() {
            return Ok(None);
        }
        match convert(&value) {
            Some(converted) => Ok(Some(converted)),
            None => self.fail(format!(
                "{} of {} must be {what}, got {}",
                self.param_name(i),
                self.name(),
                describe(&value)
            )),
        }
    }

    fn integer(&self, i: usize) -> Result<Option<i64>, Stop> {
        self.typed(i, "a whole number", Value::as_integer)
    }

    fn boolean(&self, i: usize) -> Result<Option<bool>, Stop> {
        self.typed(i, "a boolean", Value::as_bool)
    }

    fn date(&self, i: usize) -> Result<Option<OffsetDateTime>, Stop> {
        self.typed(i, "a date", |value| match value {
            Value::DateTime(dt) => Some(*dt),
            other => other.as_text().and_then(|t| datetime::parse_general(&t)),
        })
    }

    fn run(&self, regex: Option<&Regex>) -> Eval<'a> {
        match self.func {
            Func::Append => {
                let suffix = self.text(1)?.unwrap_or_default();
                Ok(map_text(self.arg(0)?, &|s| {
                    let mut out = s.into_owned();
                    out.push_str(&suffix);
                    Value::string(out)
                }))
            }
            Func::AppRoleAssignmentsComplex | Func::AssertiveAppRoleAssignmentsComplex => {
                let roles = self.arg(0)?;
                let complex = roles
                    .values()
                    .iter()
                    .filter_map(role_value)
                    .map(|(display, value)| {
                        let mut role = Map::new();
                        role.insert("primary".into(), Json::Bool(false));
                        role.insert("type".into(), "WindowsAzureActiveDirectoryRole".into());
                        role.insert("display".into(), display.into());
                        role.insert("value".into(), value.into());
                        Value::Complex(Cow::Owned(role))
                    })
                    .collect();
                Ok(Value::MultiValued(complex))
            }
            Func::BitAnd => match (self.integer(0)?, self.integer(1)?) {
                (Some(a), Some(b)) => Ok(Value::Integer(a & b)),
                _ => Ok(Value::Null),
            },
            Func::CBool => Ok(Value::Boolean(self.boolean(0)?.unwrap_or(false))),
            Func::CDate => Ok(self.date(0)?.map_or(Value::Null, Value::DateTime)),
            Func::Coalesce => {
                let mut last = Value::Null;
                for i in 0..self.args.len() {
                    let value = self.arg(i)?;
                    if !value.is_null_or_empty() {
                        return Ok(value);
                    }
                    last = value;
                }
                // The reference allows a defaultValue of "": it is what comes back then.
                Ok(match last {
                    Value::String(text) if text.is_empty() => Value::String(text),
                    _ => Value::Null,
                })
            }
            Func::ConvertFromBase64 => {
                let encoding = self.text(1)?;
                let Some(source) = self.text(0)? else {
                    return Ok(Value::Null);
                };
                match text::from_base64(&source, encoding.as_deref()) {
                    Some(decoded) => Ok(Value::string(decoded)),
                    None => self.fail(format!("ConvertFromBase64 cannot decode \"{source}\"")),
                }
            }
            Func::ConvertToBase64 => Ok(map_text(self.arg(0)?, &|s| {
                Value::string(text::to_base64_utf16(&s))
            })),
            Func::ConvertToUtf8Hex => Ok(map_text(self.arg(0)?, &|s| {
                Value::string(text::to_utf8_hex(&s))
            })),
            Func::Count => {
                let count = self.arg(0)?.values().len();
                Ok(Value::Integer(i64::try_from(count).unwrap_or(i64::MAX)))
            }
            Func::CStr => Ok(map_text(self.arg(0)?, &Value::String)),
            Func::DateAdd => {
                let interval = self.text(0)?.unwrap_or_default();
                let amount = self.integer(1)?;
                let (Some(amount), Some(date)) = (amount, self.date(2)?) else {
                    return Ok(Value::Null);
                };
                if !datetime::INTERVALS.contains(&interval.as_ref()) {
                    return self.bad_interval(&interval);
                }
                match datetime::add(&interval, amount, date) {
                    Some(dt) => Ok(Value::DateTime(dt)),
                    None => self.fail("DateAdd: the result is out of the date range"),
                }
            }
            Func::DateDiff => {
                let interval = self.text(0)?.unwrap_or_default();
                let (Some(from), Some(to)) = (self.date(1)?, self.date(2)?) else {
                    return Ok(Value::Null);
                };
                match datetime::diff(&interval, from, to) {
                    Some(n) => Ok(Value::Integer(n)),
                    None => self.bad_interval(&interval),
                }
            }
            Func::DateFromNum => {
                let Some(ticks) = self.integer(0)? else {
                    return Ok(Value::Null);
                };
                match datetime::from_filetime(ticks) {
                    Some(dt) => Ok(Value::DateTime(dt)),
                    None => self.fail(format!("DateFromNum: {ticks} is out of the date range")),
                }
            }
            Func::DefaultDomain => match self.interpreter.env.default_domain() {
                Some(domain) => Ok(Value::string(domain.to_string())),
                None => self.fail("DefaultDomain: the tenant has no default domain configured"),
            },
            Func::Error => {
                let message = self.text(0)?.unwrap_or_default();
                self.fail(message.into_owned())
            }
            Func::FormatDateTime => self.format_date_time(),
            Func::Guid => {
                let env = self.interpreter.env;
                let (high, low) = (env.random(), env.random());
                let high = (high & !0xF000) | 0x4000;
                let low = (low & !(0xC000 << 48)) | (0x8000 << 48);
                Ok(Value::string(format!(
                    "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
                    high >> 32,
                    (high >> 16) & 0xFFFF,
                    high & 0xFFFF,
                    low >> 48,
                    low & 0xFFFF_FFFF_FFFF
                )))
            }
            Func::IgnoreFlowIfNullOrEmpty => {
                let value = self.arg(0)?;
                if value.is_null_or_empty() {
                    Err(Stop::Ignore)
                } else {
                    Ok(value)
                }
            }
            Func::Iif => {
                let holds = self.boolean(0)?.unwrap_or(false);
                self.arg(if holds { 1 } else { 2 })
            }
            Func::InStr => self.in_str(),
            Func::IsNull => Ok(Value::Boolean(self.arg(0)?.is_null())),
            Func::IsNullOrEmpty => Ok(Value::Boolean(self.arg(0)?.is_null_or_empty())),
            Func::IsPresent => Ok(Value::Boolean(!self.arg(0)?.is_null_or_empty())),
            Func::IsString => Ok(Value::Boolean(matches!(self.arg(0)?, Value::String(_)))),
            Func::Item => {
                let values = self.arg(0)?.into_values();
                let index = self.integer(1)?.unwrap_or(0);
                Ok(index
                    .checked_sub(1)
                    .and_then(|i| usize::try_from(i).ok())
                    .and_then(|i| values.into_iter().nth(i))
                    .unwrap_or(Value::Null))
            }
            Func::Join => {
                let separator = self.text(0)?.unwrap_or_default();
                let mut out = String::new();
                let mut first = true;
                for i in 1..self.args.len() {
                    for value in self.arg(i)?.values() {
                        // Null and empty values add no separator: the reference's
                        // `Join(", ", "", [surname], [givenName])` is "Doe, John".
                        if let Some(text) = value.as_text().filter(|text| !text.is_empty()) {
                            if !first {
                                out.push_str(&separator);
                            }
                            out.push_str(&text);
                            first = false;
                        }
                    }
                }
                Ok(Value::string(out))
            }
            Func::Left => {
                let count = self.integer(1)?.unwrap_or(0);
                let source = self.arg(0)?;
                if source.is_null() {
                    return Ok(Value::string(""));
                }
                Ok(map_text(source, &|s| {
                    if count < 0 {
                        return Value::String(s);
                    }
                    let end = s
                        .char_indices()
                        .nth(usize::try_from(count).unwrap_or(usize::MAX))
                        .map_or(s.len(), |(i, _)| i);
                    Value::String(slice_cow(s, 0, end))
                }))
            }
            Func::Mid => {
                let start = self.integer(1)?.unwrap_or(1).max(1);
                let length = self.integer(2)?.unwrap_or(0);
                Ok(map_text(self.arg(0)?, &|s| {
                    let skip = usize::try_from(start - 1).unwrap_or(usize::MAX);
                    let take = usize::try_from(length).unwrap_or(0);
                    let begin = s.char_indices().nth(skip).map_or(s.len(), |(i, _)| i);
                    let end = s[begin..]
                        .char_indices()
                        .nth(take)
                        .map_or(s.len(), |(i, _)| begin + i);
                    Value::String(slice_cow(s, begin, end))
                }))
            }
            Func::NormalizeDiacritics => Ok(map_text(self.arg(0)?, &|s| {
                Value::String(cow_apply(s, text::normalize_diacritics))
            })),
            // The reference: "If source value is True, returns False. Otherwise, returns True."
            Func::Not => Ok(Value::Boolean(!self.arg(0)?.as_bool().unwrap_or(false))),
            Func::Now => Ok(Value::DateTime(self.interpreter.env.now())),
            Func::NumFromDate => {
                let Some(date) = self.date(0)? else {
                    return Ok(Value::Null);
                };
                match datetime::to_filetime(date) {
                    Some(n) => Ok(Value::Integer(n)),
                    None => self.fail("NumFromDate: the date is out of the FILETIME range"),
                }
            }
            Func::PCase => {
                let separators = self.text(1)?;
                Ok(map_text(self.arg(0)?, &|s| {
                    Value::string(text::proper_case(&s, separators.as_deref()))
                }))
            }
            Func::RandomString => self.random_string(),
            Func::Redact => self.arg(0),
            Func::RemoveDuplicates => {
                let mut unique: Vec<Value<'a>> = Vec::new();
                for value in self.arg(0)?.into_values() {
                    if !unique.contains(&value) {
                        unique.push(value);
                    }
                }
                Ok(Value::MultiValued(unique))
            }
            Func::Replace => self.replace(regex),
            Func::SelectUniqueValue => {
                let mut tried = Vec::new();
                for i in 0..self.args.len() {
                    let Some(candidate) = self.text(i)? else {
                        continue;
                    };
                    if candidate.is_empty() {
                        continue;
                    }
                    if self.interpreter.env.is_unique(&candidate) {
                        return Ok(Value::String(candidate));
                    }
                    tried.push(format!("\"{candidate}\""));
                }
                self.fail(format!(
                    "SelectUniqueValue: every candidate is taken in the target ({})",
                    tried.join(", ")
                ))
            }
            Func::SingleAppRoleAssignment => {
                let roles = self.arg(0)?;
                Ok(roles
                    .values()
                    .iter()
                    .find_map(role_value)
                    .map_or(Value::Null, |(_, value)| Value::string(value)))
            }
            Func::Split => {
                let delimiter = self.text(1)?.unwrap_or_default();
                let source = self.arg(0)?;
                if source.is_null() {
                    return Ok(Value::Null);
                }
                let mut parts = Vec::new();
                for value in source.values() {
                    let Some(text) = value.as_text() else {
                        continue;
                    };
                    // Values are trimmed: the reference splits "PermissionSetOne,
                    // PermissionSetTwo" at "," into "PermissionSetOne" and "PermissionSetTwo".
                    if delimiter.is_empty() {
                        parts.push(Value::string(text.trim().to_string()));
                    } else {
                        parts.extend(
                            text.split(delimiter.as_ref())
                                .map(|part| Value::string(part.trim().to_string())),
                        );
                    }
                }
                Ok(Value::MultiValued(parts))
            }
            Func::StripSpaces => Ok(map_text(self.arg(0)?, &|s| {
                Value::String(cow_apply(s, |t| {
                    if t.contains(' ') {
                        Cow::Owned(t.replace(' ', ""))
                    } else {
                        Cow::Borrowed(t)
                    }
                }))
            })),
            Func::Switch => {
                let source = self.arg(0)?;
                let key = source.as_text().unwrap_or_default();
                let mut i = 2;
                while i + 1 < self.args.len() {
                    if self.text(i)?.unwrap_or_default() == key {
                        return self.arg(i + 1);
                    }
                    i += 2;
                }
                self.arg(1)
            }
            Func::ToLower | Func::ToUpper => {
                let culture = self.text(1)?;
                let upper = self.func == Func::ToUpper;
                Ok(map_text(self.arg(0)?, &|s| {
                    let culture = culture.as_deref();
                    Value::String(if upper {
                        cow_apply(s, |t| text::to_upper(t, culture))
                    } else {
                        cow_apply(s, |t| text::to_lower(t, culture))
                    })
                }))
            }
            Func::Word => {
                let number = self.integer(1)?.unwrap_or(0);
                let delimiters = self.text(2)?.unwrap_or_default();
                let source = self.arg(0)?;
                if source.is_null() {
                    return Ok(Value::string(""));
                }
                Ok(map_text(source, &|s| {
                    let word = text::word(&s, number, &delimiters);
                    Value::string(word.to_string())
                }))
            }
        }
    }

    fn bad_interval<T>(&self, interval: &str) -> Result<T, Stop> {
        self.fail(format!(
            "{}: unknown interval \"{interval}\" (expected yyyy, q, m, y, d, w, ww, h, n or s)",
            self.name()
        ))
    }

    fn format_date_time(&self) -> Eval<'a> {
        const STYLES: [&str; 10] = [
            "None",
            "AllowLeadingWhite",
            "AllowTrailingWhite",
            "AllowInnerWhite",
            "AllowWhiteSpaces",
            "NoCurrentDateDefault",
            "AdjustToUniversal",
            "AssumeLocal",
            "AssumeUniversal",
            "RoundtripKind",
        ];
        if let Some(styles) = self.text(1)? {
            for style in styles.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                if !STYLES.contains(&style) {
                    return self.fail(format!(
                        "FormatDateTime: unknown dateTimeStyles \"{style}\""
                    ));
                }
            }
        }
        let input_format = self.text(2)?.unwrap_or_default();
        let output_format = self.text(3)?.unwrap_or_default();
        let source = self.arg(0)?;
        let date = match &source {
            Value::Null => return Ok(Value::Null),
            Value::DateTime(dt) => *dt,
            other => {
                let text = other.as_text().unwrap_or_default();
                match datetime::parse_exact(&text, &input_format) {
                    Some(dt) => dt,
                    None => {
                        return self.fail(format!(
                            "FormatDateTime: \"{text}\" does not match the inputFormat \"{input_format}\""
                        ))
                    }
                }
            }
        };
        Ok(Value::string(datetime::format(date, &output_format)))
    }

    fn in_str(&self) -> Eval<'a> {
        let (Some(haystack), Some(needle)) = (self.text(0)?, self.text(1)?) else {
            return Ok(Value::Null);
        };
        let start = self.integer(2)?.unwrap_or(1);
        if start < 1 {
            return self.fail(format!("start of InStr must be 1 or more, got {start}"));
        }
        let text_compare = match self.text(3)?.as_deref() {
            None | Some("vbBinaryCompare") | Some("0") => false,
            Some("vbTextCompare") | Some("1") => true,
            Some(other) => {
                return self.fail(format!(
                    "compareType of InStr must be vbBinaryCompare or vbTextCompare, got \"{other}\""
                ))
            }
        };
        let fold = |c: char| {
            if text_compare {
                c.to_lowercase().next().unwrap_or(c)
            } else {
                c
            }
        };
        let hay: Vec<char> = haystack.chars().map(fold).collect();
        let needle: Vec<char> = needle.chars().map(fold).collect();
        let from = usize::try_from(start - 1).unwrap_or(usize::MAX);
        if from > hay.len() {
            return Ok(Value::Integer(0));
        }
        if needle.is_empty() {
            return Ok(Value::Integer(start));
        }
        let position = hay[from..]
            .windows(needle.len())
            .position(|window| window == needle.as_slice())
            .map_or(0, |p| p + from + 1);
        Ok(Value::Integer(i64::try_from(position).unwrap_or(0)))
    }

    fn random_string(&self) -> Eval<'a> {
        let length = self.integer(0)?.unwrap_or(0);
        let minimums = [
            self.integer(1)?.unwrap_or(0),
            self.integer(2)?.unwrap_or(0),
            self.integer(3)?.unwrap_or(0),
            self.integer(4)?.unwrap_or(0),
        ];
        let avoid = self.text(5)?.unwrap_or_default();
        if !(1..=256).contains(&length) {
            return self.fail(format!(
                "length of RandomString must be 1 to 256, got {length}"
            ));
        }
        if minimums.iter().any(|&m| !(0..=length).contains(&m))
            || minimums.iter().sum::<i64>() > length
        {
            return self
                .fail("RandomString: the minimum counts must be positive and fit in length");
        }
        let classes: Vec<Vec<char>> = [
            "0123456789",
            SPECIAL_CHARACTERS,
            "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
            "abcdefghijklmnopqrstuvwxyz",
        ]
        .iter()
        .map(|class| class.chars().filter(|c| !avoid.contains(*c)).collect())
        .collect();
        let env = self.interpreter.env;
        let pick = |set: &[char]| set[(env.random() % set.len() as u64) as usize];
        let mut chars = Vec::new();
        for (class, &minimum) in classes.iter().zip(&minimums) {
            if minimum > 0 && class.is_empty() {
                return self.fail("RandomString: charactersToAvoid leaves a required class empty");
            }
            for _ in 0..minimum {
                chars.push(pick(class));
            }
        }
        let all: Vec<char> = classes.concat();
        if all.is_empty() {
            return self.fail("RandomString: charactersToAvoid leaves no characters");
        }
        while (chars.len() as i64) < length {
            chars.push(pick(&all));
        }
        for i in (1..chars.len()).rev() {
            let j = (env.random() % (i as u64 + 1)) as usize;
            chars.swap(i, j);
        }
        Ok(Value::string(chars.into_iter().collect::<String>()))
    }

    fn replace(&self, constant_regex: Option<&Regex>) -> Eval<'a> {
        let source = self.arg(0)?;
        let old_value = self.text(1)?;
        let group = self.text(3)?;
        let replacement = self.present(4).then(|| self.text(4)).transpose()?.flatten();
        let template = self.text(6)?;
        if let Some(old) = old_value.filter(|_| self.present(1)) {
            if let Some(template) = template {
                let text = source.as_text().unwrap_or_default();
                return Ok(Value::string(template.replace(old.as_ref(), &text)));
            }
            let replacement = replacement.unwrap_or_default();
            return Ok(map_text(source, &|s| {
                if old.is_empty() || !s.contains(old.as_ref()) {
                    Value::String(s)
                } else {
                    Value::string(s.replace(old.as_ref(), &replacement))
                }
            }));
        }
        let runtime_regex;
        let regex = match constant_regex {
            Some(regex) => regex,
            None => {
                let Some(pattern) = self.text(2)? else {
                    return Ok(source);
                };
                match compile_regex(&pattern) {
                    Ok(regex) => {
                        runtime_regex = regex;
                        &runtime_regex
                    }
                    Err(message) => return self.fail(message),
                }
            }
        };
        if self.present(5) && group.is_some() {
            if !source.is_null_or_empty() {
                return Ok(source);
            }
            let fallback = self.text(5)?.unwrap_or_default();
            let group = group.unwrap_or_default();
            return Ok(regex
                .captures(&fallback)
                .and_then(|captures| captures.name(&group))
                .map_or(Value::Null, |m| Value::string(m.as_str().to_string())));
        }
        let replacement = replacement.unwrap_or_default();
        Ok(map_text(source, &|s| match &group {
            Some(group) => {
                let mut out = String::with_capacity(s.len());
                let mut last = 0;
                for captures in regex.captures_iter(&s) {
                    if let Some(m) = captures.name(group) {
                        out.push_str(&s[last..m.start()]);
                        out.push_str(&replacement);
                        last = m.end();
                    }
                }
                out.push_str(&s[last..]);
                Value::string(out)
            }
            None => match regex.replace_all(&s, replacement.as_ref()) {
                Cow::Borrowed(_) => Value::String(s),
                Cow::Owned(replaced) => Value::string(replaced),
            },
        }))
    }
}

/// `(display, value)` of an app role assignment: an object with `displayName`/`display` and
/// `value` (either falling back to the other), or a plain string.
fn role_value(role: &Value<'_>) -> Option<(String, String)> {
    match role {
        Value::Complex(map) => {
            let field = |names: &[&str]| {
                names
                    .iter()
                    .find_map(|n| map.get(*n).and_then(Json::as_str))
                    .map(str::to_string)
            };
            let display = field(&["displayName", "display", "appRoleDisplayName"]);
            let value = field(&["value", "appRoleValue"]);
            match (display, value) {
                (Some(d), Some(v)) => Some((d, v)),
                (Some(d), None) => Some((d.clone(), d)),
                (None, Some(v)) => Some((v.clone(), v)),
                (None, None) => None,
            }
        }
        other => other.as_text().map(|t| (t.to_string(), t.into_owned())),
    }
}

fn slice_cow(s: Cow<'_, str>, begin: usize, end: usize) -> Cow<'_, str> {
    match s {
        Cow::Borrowed(b) => Cow::Borrowed(b.get(begin..end).unwrap_or("")),
        Cow::Owned(o) => Cow::Owned(o.get(begin..end).unwrap_or("").to_string()),
    }
}

impl fmt::Display for Outcome<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Value(value) => write!(f, "{}", value.to_json()),
            Outcome::Ignored => f.write_str("(ignored)"),
        }
    }
}
