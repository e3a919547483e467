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

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(pairs: &[(&str, &str)], check: impl FnOnce(QueryOptions)) {
        let options =
            QueryOptions::parse(pairs.iter().copied()).unwrap_or_else(|e| panic!("{pairs:?}: {e}"));
        check(options);
    }

    #[track_caller]
    fn check_error(pairs: &[(&str, &str)], expected: &str) {
        let err = QueryOptions::parse(pairs.iter().copied()).expect_err("should fail");
        assert_eq!(err.to_string(), expected, "{pairs:?}");
    }

    #[test]
    fn accepted() {
        check(&[], |o| assert_eq!(o, QueryOptions::default()));
        check(&[("$top", "999")], |o| assert_eq!(o.top, Some(999)));
        check(&[("top", "1")], |o| assert_eq!(o.top, Some(1)));
        check(&[("$TOP", "5")], |o| assert_eq!(o.top, Some(5)));
        check(&[("$count", "true")], |o| assert!(o.count));
        check(&[("$count", "False")], |o| assert!(!o.count));
        check(&[("$filter", "startswith(displayName,'a')")], |o| {
            assert_eq!(
                o.filter.map(|f| f.to_string()).as_deref(),
                Some("startswith(displayName,'a')")
            )
        });
        check(
            &[("$select", "id"), ("$orderby", "displayName desc")],
            |o| {
                assert_eq!(o.select.map(|s| s.properties().count()), Some(1));
                assert_eq!(o.orderby.map(|s| s.items.len()), Some(1));
            },
        );
        check(
            &[("$skiptoken", "abc"), ("$search", "\"displayName:wa\"")],
            |o| {
                assert_eq!(o.skiptoken.as_deref(), Some("abc"));
                assert_eq!(o.search.as_deref(), Some("\"displayName:wa\""));
            },
        );
        check(&[("api-version", "1"), ("foo", "bar")], |o| {
            assert_eq!(o, QueryOptions::default())
        });
    }

    #[test]
    fn rejected() {
        check_error(
            &[("$top", "1000")],
            "Invalid page size specified: '1000'. Must be between 1 and 999 inclusive.",
        );
        check_error(
            &[("$top", "0")],
            "Invalid page size specified: '0'. Must be between 1 and 999 inclusive.",
        );
        check_error(
            &[("$top", "-1")],
            "Invalid page size specified: '-1'. Must be between 1 and 999 inclusive.",
        );
        check_error(
            &[("$top", "ten")],
            "Invalid page size specified: 'ten'. Must be between 1 and 999 inclusive.",
        );
        check_error(&[("$count", "yes")], "'yes' is not a valid count option.");
        check_error(&[("$xyz", "1")], "Query option '$xyz' is not allowed.");
        check_error(
            &[("$expand", "manager")],
            "Query option '$expand' is not allowed.",
        );
        check_error(&[("$filter", "a eq 1"), ("$filter", "b eq 2")],
            "Query option '$filter' was specified more than once, but it must be specified at most once.");
        check_error(&[("$filter", "a eq 1"), ("FILTER", "b eq 2")],
            "Query option '$filter' was specified more than once, but it must be specified at most once.");
        check_error(
            &[("$filter", "a eqq 1")],
            "Invalid filter clause: Syntax error at position 2 in 'a eqq 1'.",
        );
        check_error(
            &[("$select", "a,")],
            "Invalid $select clause: Property name expected at position 2 in 'a,'.",
        );
        check_error(
            &[("$orderby", "a b")],
            "Invalid $orderby clause: Syntax error at position 2 in 'a b'.",
        );
    }
}
