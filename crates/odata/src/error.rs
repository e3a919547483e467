//! Errors: a positioned [`ParseError`] for the option grammars, and [`Error`] for the rest.

use std::fmt;

use crate::MAX_OPTION_LEN;

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Which query option a [`ParseError`] is about; it decides the message prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Clause {
    Filter,
    OrderBy,
    Select,
}

impl Clause {
    fn prefix(self) -> &'static str {
        match self {
            Clause::Filter => "Invalid filter clause",
            Clause::OrderBy => "Invalid $orderby clause",
            Clause::Select => "Invalid $select clause",
        }
    }
}

/// A syntax error in `$filter`, `$orderby` or `$select`; `position` is a byte offset.
///
/// Displays like Graph: `Invalid filter clause: Syntax error at position 12 in
/// 'displayName eqq 'x''.` An input over [`MAX_OPTION_LEN`] bytes is not echoed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub clause: Clause,
    pub message: String,
    pub position: usize,
    /// The option's value, echoed in the message; `None` when it is too long to echo.
    pub input: Option<String>,
}

impl ParseError {
    pub(crate) fn new(
        clause: Clause,
        message: impl Into<String>,
        position: usize,
        input: &str,
    ) -> Self {
        ParseError {
            clause,
            message: message.into(),
            position,
            input: (input.len() <= MAX_OPTION_LEN).then(|| input.to_string()),
        }
    }

    pub(crate) fn too_long(clause: Clause, len: usize) -> Self {
        ParseError {
            clause,
            message: format!("The query option is {len} bytes long; the limit is {MAX_OPTION_LEN}"),
            position: MAX_OPTION_LEN,
            input: None,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.clause.prefix(), self.message)?;
        if let Some(input) = &self.input {
            write!(f, " at position {} in '{input}'", self.position)?;
        }
        f.write_str(".")
    }
}

impl std::error::Error for ParseError {}

/// Everything that can be wrong with a request's query options. Every variant is a
/// `400 Bad Request` in Graph.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A syntax error in `$filter`, `$orderby` or `$select`.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// `$top` outside 1..=999 or not a number.
    #[error("Invalid page size specified: '{0}'. Must be between 1 and 999 inclusive.")]
    InvalidPageSize(String),
    /// `$count` other than `true` or `false`.
    #[error("'{0}' is not a valid count option.")]
    InvalidCount(String),
    /// A `$`-prefixed option this API does not know (`$expand`, `$skip`, `$xyz`).
    #[error("Query option '{0}' is not allowed.")]
    NotAllowed(String),
    /// The same option twice (also `$filter` and `filter`). Graph's own wording.
    #[error(
        "Query option '{0}' was specified more than once, but it must be specified at most once."
    )]
    Duplicate(String),
    /// A property the caller's schema does not have; the parsers accept any name, and the
    /// handler checks [`crate::Filter::properties`] and friends against its schema.
    #[error("Could not find a property named '{property}' on type '{type_name}'.")]
    UnknownProperty { property: String, type_name: String },
}
