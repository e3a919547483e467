//! List queries (RFC 7644 §3.4.2): query parameters, sorting, paging and the ListResponse message.

use std::cmp::Ordering;

use serde_json::{json, Map, Value};

use crate::error::{Result, ScimError};
use crate::filter::Filter;
use crate::path::AttrPath;
use crate::projection::{sort_value, Projection};
use crate::schema::{AttrType, ResourceType};

pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const SEARCH_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    #[default]
    Ascending,
    Descending,
}

/// A parsed list or `.search` request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListQuery {
    pub filter: Option<Filter>,
    pub sort_by: Option<AttrPath>,
    pub sort_order: SortOrder,
    /// 1-based, at least 1.
    pub start_index: u64,
    /// Page size; `None` means the server's default.
    pub count: Option<u64>,
    pub projection: Projection,
}

/// The raw parameters, from a query string or a SearchRequest body.
#[derive(Debug, Clone, Default)]
pub struct RawListParams {
    pub filter: Option<String>,
    pub sort_by: Option<String>,
    pub sort_order: Option<String>,
    pub start_index: Option<String>,
    pub count: Option<String>,
    pub attributes: Option<String>,
    pub excluded_attributes: Option<String>,
}

impl RawListParams {
    /// Reads a SearchRequest body (RFC 7644 §3.4.3); `attributes` may be a list or a string.
    pub fn from_search_request(body: &Value) -> Result<RawListParams> {
        let obj = body
            .as_object()
            .ok_or_else(|| ScimError::invalid_syntax("the search request must be a JSON object"))?;
        let get = |k: &str| {
            obj.iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(k))
                .map(|(_, v)| v)
        };
        let text = |k: &str| -> Result<Option<String>> {
            match get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Number(n)) => Ok(Some(n.to_string())),
                Some(Value::Array(items)) => Ok(Some(
                    items
                        .iter()
                        .map(|i| i.as_str().map(str::to_string).ok_or(()))
                        .collect::<std::result::Result<Vec<_>, _>>()
                        .map_err(|_| {
                            ScimError::invalid_value(format!("\"{k}\" must list strings"))
                        })?
                        .join(","),
                )),
                Some(_) => Err(ScimError::invalid_value(format!(
                    "\"{k}\" has the wrong type"
                ))),
            }
        };
        Ok(RawListParams {
            filter: text("filter")?,
            sort_by: text("sortBy")?,
            sort_order: text("sortOrder")?,
            start_index: text("startIndex")?,
            count: text("count")?,
            attributes: text("attributes")?,
            excluded_attributes: text("excludedAttributes")?,
        })
    }

    pub fn parse(&self) -> Result<ListQuery> {
        let filter = match self.filter.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(f) => {
                Some(Filter::parse(f).map_err(|e| ScimError::invalid_filter(e.to_string()))?)
            }
        };
        let sort_by = match self.sort_by.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(s) => Some(
                AttrPath::parse(s).map_err(|e| ScimError::invalid_value(format!("sortBy: {e}")))?,
            ),
        };
        let sort_order = match self
            .sort_order
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("") | Some("ascending") => SortOrder::Ascending,
            Some("descending") => SortOrder::Descending,
            Some(other) => {
                return Err(ScimError::invalid_value(format!(
                    "sortOrder \"{other}\" must be ascending or descending"
                )))
            }
        };
        // RFC 7644 §3.4.2.4: a startIndex below 1 is read as 1; a negative count as 0.
        let start_index = match self.start_index.as_deref().map(str::trim) {
            None | Some("") => 1,
            Some(s) => s
                .parse::<i64>()
                .map_err(|_| {
                    ScimError::invalid_value(format!("startIndex \"{s}\" is not an integer"))
                })?
                .max(1) as u64,
        };
        let count = match self.count.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(s) => Some(
                s.parse::<i64>()
                    .map_err(|_| {
                        ScimError::invalid_value(format!("count \"{s}\" is not an integer"))
                    })?
                    .max(0) as u64,
            ),
        };
        Ok(ListQuery {
            filter,
            sort_by,
            sort_order,
            start_index,
            count,
            projection: Projection::parse(
                self.attributes.as_deref(),
                self.excluded_attributes.as_deref(),
            )?,
        })
    }
}

/// Sorts resources by `sort_by` (RFC 7644 §3.4.2.3). Resources without a value sort last.
pub fn sort_resources(
    rt: &ResourceType,
    resources: &mut [Map<String, Value>],
    sort_by: &AttrPath,
    order: SortOrder,
) {
    let case_exact = match crate::resource::resolve_path(rt, sort_by) {
        Some(crate::resource::KeyTarget::Core(a))
        | Some(crate::resource::KeyTarget::ExtensionAttribute(_, a, None)) => {
            a.case_exact
                || a.attr_type == AttrType::Complex
                    && a.sub_attribute("value").is_some_and(|v| v.case_exact)
        }
        Some(crate::resource::KeyTarget::CoreSub(_, s))
        | Some(crate::resource::KeyTarget::ExtensionAttribute(_, _, Some(s))) => s.case_exact,
        _ => false,
    };
    resources.sort_by(|a, b| {
        let va = sort_value(rt, a, sort_by);
        let vb = sort_value(rt, b, sort_by);
        match (va, vb) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(x), Some(y)) => {
                let o = compare_values(x, y, case_exact);
                match order {
                    SortOrder::Ascending => o,
                    SortOrder::Descending => o.reverse(),
                }
            }
        }
    });
}

fn compare_values(a: &Value, b: &Value, case_exact: bool) -> Ordering {
    match (a, b) {
        (Value::String(x), Value::String(y)) => {
            if case_exact {
                x.cmp(y)
            } else {
                x.to_lowercase().cmp(&y.to_lowercase())
            }
        }
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => a.to_string().cmp(&b.to_string()),
    }
}

/// A ListResponse message (RFC 7644 §3.4.2).
pub fn list_response(total: u64, start_index: u64, resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": total,
        "itemsPerPage": resources.len(),
        "startIndex": start_index,
        "Resources": resources,
    })
}
