//! [`QueryOptions::parse`]: the OData system query options of one request, validated.
//!
//! Option names are case-insensitive and the `$` is optional, as Graph accepts. A
//! `$`-prefixed name this API does not know is an error; other parameters are left alone
//! (OData's custom query options). Values must already be percent-decoded.

use crate::{Error, Filter, OrderBy, Result, Select};

/// Graph's largest page for directory objects.
pub const MAX_TOP: u32 = 999;

/// The validated query options of a list request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueryOptions {
    pub filter: Option<Filter>,
    pub select: Option<Select>,
    pub orderby: Option<OrderBy>,
    /// 1..=999.
    pub top: Option<u32>,
    /// Opaque to this crate: the store's continuation token.
    pub skiptoken: Option<String>,
    /// `$count=true`.
    pub count: bool,
    /// Raw, e.g. `"displayName:wa"`.
    pub search: Option<String>,
}

const OPTIONS: [&str; 7] = [
    "filter",
    "select",
    "orderby",
    "top",
    "skiptoken",
    "count",
    "search",
];

impl QueryOptions {
    /// Validates the query string's (name, value) pairs.
    pub fn parse<I, K, V>(pairs: I) -> Result<QueryOptions>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut out = QueryOptions::default();
        let mut seen = [false; OPTIONS.len()];
        for (key, value) in pairs {
            let key = key.as_ref();
            let value = value.as_ref();
            let bare = key.strip_prefix('$').unwrap_or(key);
            let Some(index) = OPTIONS.iter().position(|o| o.eq_ignore_ascii_case(bare)) else {
                if key.starts_with('$') {
                    return Err(Error::NotAllowed(key.to_string()));
                }
                continue;
            };
            let canonical = OPTIONS.get(index).copied().unwrap_or_default();
            if let Some(seen) = seen.get_mut(index) {
                if *seen {
                    return Err(Error::Duplicate(format!("${canonical}")));
                }
                *seen = true;
            }
            match canonical {
                "filter" => out.filter = Some(Filter::parse(value)?),
                "select" => out.select = Some(Select::parse(value)?),
                "orderby" => out.orderby = Some(OrderBy::parse(value)?),
                "top" => {
                    out.top = Some(
                        value
                            .trim()
                            .parse::<u32>()
                            .ok()
                            .filter(|n| (1..=MAX_TOP).contains(n))
                            .ok_or_else(|| Error::InvalidPageSize(value.to_string()))?,
                    )
                }
                "skiptoken" => out.skiptoken = Some(value.to_string()),
                "count" => {
                    out.count = if value.eq_ignore_ascii_case("true") {
                        true
                    } else if value.eq_ignore_ascii_case("false") {
                        false
                    } else {
                        return Err(Error::InvalidCount(value.to_string()));
                    }
                }
                _ => out.search = Some(value.to_string()),
            }
        }
        Ok(out)
    }
}
