//! Graph's `$filter`: parsing into a [`Filter`] tree, printing it back, evaluation over JSON
//! objects ([`Filter::matches`]) and index hints for a store ([`Filter::equality_on`],
//! [`Filter::prefix_on`]).
//!
//! ```text
//! or     = and *("or" and)
//! and    = unary *("and" unary)
//! unary  = "not" unary / "(" or ")" / func "(" path "," literal ")" / path condition
//! cond   = op literal / "in" "(" literal *("," literal) ")"        ; op: eq ne gt ge lt le
//! path   = name *("/" name) ["/$count"] / path "/" ("any" / "all") "(" [var ":" or] ")"
//! ```
//!
//! `not` binds tightest and applies to the next unary expression (so `not a eq 1` is
//! `not (a eq 1)`); `and` binds tighter than `or`. Keywords, operators and function names
//! are case-insensitive. Literals: `'text'` (`''` escapes a quote), integers, decimals,
//! `true`, `false`, `null`, unquoted GUIDs and RFC 3339 DateTimeOffsets.
//!
//! Property names are not checked here: [`Filter::properties`] lists them so the caller can
//! check them against its schema. Recursion happens only on `(`, `not` and lambdas, and
//! nesting is capped at [`crate::MAX_FILTER_DEPTH`], so no input can overflow the stack.

pub(crate) mod eval;
mod lexer;
mod parser;
#[cfg(test)]
mod tests;

use std::fmt::{self, Write as _};
use std::str::FromStr;

use time::OffsetDateTime;

pub use crate::text::Text;
use crate::ParseError;

/// A parsed `$filter`. `And` and `Or` hold two or more operands; a parenthesised operand of
/// the same kind stays nested, so printing and parsing again gives the same tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
    /// `path op literal`
    Compare {
        path: PropertyPath,
        op: CompareOp,
        value: Literal,
    },
    /// `path in (literal, …)`
    In {
        path: PropertyPath,
        values: Vec<Literal>,
    },
    /// `startswith(path,'text')` and the other string functions.
    Function {
        function: StringFunction,
        path: PropertyPath,
        value: Text,
    },
    /// `collection/any(var:body)`; `body` is `None` for `collection/any()`.
    Lambda {
        collection: PropertyPath,
        quantifier: Quantifier,
        variable: String,
        body: Option<Box<Filter>>,
    },
}

/// A property path: `manager/id`, or, inside a lambda, its variable (`m`, `x/skuId`).
/// `count` marks a trailing `/$count` (the size of a collection).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PropertyPath {
    /// The lambda variable the path starts from; `None` for a property of the object.
    pub variable: Option<String>,
    pub segments: Vec<String>,
    pub count: bool,
}

impl PropertyPath {
    /// A property of the object itself, e.g. `PropertyPath::property(["manager", "id"])`.
    pub fn property<I, S>(segments: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        PropertyPath {
            variable: None,
            segments: segments.into_iter().map(Into::into).collect(),
            count: false,
        }
    }

    /// The top-level property name, for a path on the object (not a lambda variable).
    pub fn root_property(&self) -> Option<&str> {
        match self.variable {
            None => self.segments.first().map(String::as_str),
            Some(_) => None,
        }
    }

    /// Whether this is exactly the property `name` (one segment, no `$count`), ignoring case.
    fn is_property(&self, name: &str) -> bool {
        self.variable.is_none()
            && !self.count
            && self.segments.len() == 1
            && self
                .segments
                .first()
                .is_some_and(|s| s.eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for PropertyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for part in self.variable.iter().chain(self.segments.iter()) {
            if !first {
                f.write_char('/')?;
            }
            f.write_str(part)?;
            first = false;
        }
        if self.count {
            f.write_str("/$count")?;
        }
        Ok(())
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    /// Every operator, in keyword order.
    pub const ALL: [CompareOp; 6] = [
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Gt,
        CompareOp::Ge,
        CompareOp::Lt,
        CompareOp::Le,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }

    /// The operator for a keyword, ignoring case.
    pub fn from_keyword(word: &str) -> Option<CompareOp> {
        Self::ALL
            .into_iter()
            .find(|op| op.as_str().eq_ignore_ascii_case(word))
    }
}

/// `startswith`, `endswith`, `contains` (printed in OData's lower case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StringFunction {
    StartsWith,
    EndsWith,
    Contains,
}

impl StringFunction {
    pub fn as_str(self) -> &'static str {
        match self {
            StringFunction::StartsWith => "startswith",
            StringFunction::EndsWith => "endswith",
            StringFunction::Contains => "contains",
        }
    }

    /// The function for a name, ignoring case (`startsWith`, `startswith`).
    pub fn from_name(name: &str) -> Option<StringFunction> {
        [
            StringFunction::StartsWith,
            StringFunction::EndsWith,
            StringFunction::Contains,
        ]
        .into_iter()
        .find(|f| f.as_str().eq_ignore_ascii_case(name))
    }
}

/// `any` or `all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quantifier {
    Any,
    All,
}

impl Quantifier {
    pub fn as_str(self) -> &'static str {
        match self {
            Quantifier::Any => "any",
            Quantifier::All => "all",
        }
    }
}

/// A literal on the right of a comparison or in an `in` list.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    String(Text),
    Int(i64),
    /// Kept as written, so printing is exact.
    Decimal {
        text: String,
        value: f64,
    },
    Bool(bool),
    Null,
    /// An unquoted GUID, as written.
    Guid(String),
    /// An unquoted RFC 3339 DateTimeOffset, as written.
    DateTimeOffset {
        text: String,
        instant: OffsetDateTime,
    },
}

impl Literal {
    /// The value for an index seek: strings and GUIDs as written, integers in decimal.
    fn index_value(&self) -> Option<String> {
        match self {
            Literal::String(t) => Some(t.as_str().to_string()),
            Literal::Guid(g) => Some(g.clone()),
            _ => None,
        }
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::String(t) => {
                f.write_char('\'')?;
                for (i, part) in t.as_str().split('\'').enumerate() {
                    if i > 0 {
                        f.write_str("''")?;
                    }
                    f.write_str(part)?;
                }
                f.write_char('\'')
            }
            Literal::Int(n) => write!(f, "{n}"),
            Literal::Decimal { text, .. } => f.write_str(text),
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Null => f.write_str("null"),
            Literal::Guid(g) => f.write_str(g),
            Literal::DateTimeOffset { text, .. } => f.write_str(text),
        }
    }
}

impl fmt::Display for Filter {
    /// Canonical filter text that parses back to an equal tree.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::And(items) => write_joined(f, items, " and ", |c| {
                matches!(c, Filter::And(_) | Filter::Or(_))
            }),
            Filter::Or(items) => write_joined(f, items, " or ", |c| matches!(c, Filter::Or(_))),
            Filter::Not(inner) => write!(f, "not ({inner})"),
            Filter::Compare { path, op, value } => write!(f, "{path} {} {value}", op.as_str()),
            Filter::In { path, values } => {
                write!(f, "{path} in (")?;
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        f.write_char(',')?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_char(')')
            }
            Filter::Function {
                function,
                path,
                value,
            } => write!(
                f,
                "{}({path},{})",
                function.as_str(),
                Literal::String(value.clone())
            ),
            Filter::Lambda {
                collection,
                quantifier,
                variable,
                body,
            } => match body {
                Some(body) => write!(f, "{collection}/{}({variable}:{body})", quantifier.as_str()),
                None => write!(f, "{collection}/{}()", quantifier.as_str()),
            },
        }
    }
}

fn write_joined(
    f: &mut fmt::Formatter<'_>,
    items: &[Filter],
    sep: &str,
    needs_parens: fn(&Filter) -> bool,
) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        if needs_parens(item) {
            write!(f, "({item})")?;
        } else {
            write!(f, "{item}")?;
        }
    }
    Ok(())
}

impl FromStr for Filter {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Filter::parse(s)
    }
}

impl Filter {
    /// Parses a `$filter` value (already percent-decoded).
    pub fn parse(input: &str) -> Result<Filter, ParseError> {
        parser::parse(input)
    }

    /// The property paths on the object that the filter reads (not lambda-variable paths),
    /// in the order they appear, for checking against a schema.
    pub fn properties(&self) -> impl Iterator<Item = &PropertyPath> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        while let Some(node) = stack.pop() {
            match node {
                Filter::And(items) | Filter::Or(items) => stack.extend(items.iter().rev()),
                Filter::Not(inner) => stack.push(inner),
                Filter::Compare { path, .. }
                | Filter::In { path, .. }
                | Filter::Function { path, .. } => out.push(path),
                Filter::Lambda {
                    collection, body, ..
                } => {
                    out.push(collection);
                    stack.extend(body.as_deref());
                }
            }
        }
        out.into_iter().filter(|p| p.variable.is_none())
    }

    /// An equality the store can answer from an index on one of `props`: `p eq 'v'`,
    /// `p in ('a','b')` or `p/any(x:x eq 'v')`, alone or as an operand of the top-level `and`
    /// chain. `props` is in order of preference; the result names the property as spelled
    /// in `props` and carries the values as written (strings and GUIDs only). The store
    /// still re-checks each candidate with [`Filter::matches`].
    pub fn equality_on(&self, props: &[&str]) -> Option<(String, Vec<String>)> {
        let conjuncts = self.conjuncts();
        props.iter().find_map(|prop| {
            conjuncts
                .iter()
                .find_map(|c| c.equality_for(prop))
                .map(|values| (prop.to_string(), values))
        })
    }

    /// A `startswith(p,'prefix')` on one of `props` (in order of preference), alone or in the
    /// top-level `and` chain: the store can answer it with an index range scan.
    pub fn prefix_on(&self, props: &[&str]) -> Option<(String, String)> {
        let conjuncts = self.conjuncts();
        props.iter().find_map(|prop| {
            conjuncts.iter().find_map(|c| match c {
                Filter::Function {
                    function: StringFunction::StartsWith,
                    path,
                    value,
                } if path.is_property(prop) => Some((prop.to_string(), value.as_str().to_string())),
                _ => None,
            })
        })
    }

    /// The operands of the top-level `and` chain (including parenthesised `and`s), or the
    /// filter itself.
    fn conjuncts(&self) -> Vec<&Filter> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        while let Some(node) = stack.pop() {
            match node {
                Filter::And(items) => stack.extend(items.iter().rev()),
                other => out.push(other),
            }
        }
        out
    }

    fn equality_for(&self, prop: &str) -> Option<Vec<String>> {
        match self {
            Filter::Compare {
                path,
                op: CompareOp::Eq,
                value,
            } if path.is_property(prop) => Some(vec![value.index_value()?]),
            Filter::In { path, values } if path.is_property(prop) => {
                values.iter().map(Literal::index_value).collect()
            }
            Filter::Lambda {
                collection,
                quantifier: Quantifier::Any,
                variable,
                body: Some(body),
            } if collection.is_property(prop) => {
                let on_element = |path: &PropertyPath| {
                    path.variable.as_ref() == Some(variable)
                        && path.segments.is_empty()
                        && !path.count
                };
                match body.as_ref() {
                    Filter::Compare {
                        path,
                        op: CompareOp::Eq,
                        value,
                    } if on_element(path) => Some(vec![value.index_value()?]),
                    Filter::In { path, values } if on_element(path) => {
                        values.iter().map(Literal::index_value).collect()
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }
}
