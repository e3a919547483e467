//! The OData query options of Microsoft Graph's directory API (`$filter`, `$select`,
//! `$orderby`, `$top`, `$skiptoken`, `$count`, `$search`): parsing, printing, and
//! evaluation over JSON objects. No IO, no other workspace crates.
//!
//! Error messages follow the wording Graph uses where it is known (`Invalid filter clause:
//! Syntax error at position 12 in '…'.`), so a handler can put them into a Graph error body
//! unchanged. Positions are byte offsets into the option's value (after percent-decoding,
//! which is the caller's job).

pub mod error;
pub mod filter;
pub mod orderby;
pub mod query;
pub mod select;
mod text;

pub use error::{Clause, Error, ParseError, Result};
pub use filter::Filter;
pub use orderby::{Direction, OrderBy};
pub use query::QueryOptions;
pub use select::Select;

/// Maximum length in bytes of one query option's value (`$filter`, `$select`, `$orderby`).
pub const MAX_OPTION_LEN: usize = 8192;
/// Maximum nesting of a filter: each `(`, `not` and lambda (`any(`/`all(`) is one level.
pub const MAX_FILTER_DEPTH: usize = 32;
