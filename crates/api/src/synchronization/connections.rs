//! Object connections: get and delete one by a source or target id (Entra's beta API,
//! written `objectConnections('{objectId}')`, which the path normaliser turns into a
//! segment), and list them with `$filter`, `$top` and next links (provisio's).

use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, Uri};
use provisio_engine::synchronization::ConnectionQuery;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::{graph_error, json_ok, no_content, target};
use crate::directory::query::{next_link, relative_path, version_base};
use crate::{ApiResult, ApiState, GraphError};

/// A page holds this many connections unless `$top` says otherwise.
const DEFAULT_TOP: usize = 100;
/// The largest `$top`, as Graph's own lists cap it.
const MAX_TOP: usize = 999;

/// An OData string key as written between quotes: `''` stands for `'`.
fn key(text: &str) -> String {
    text.replace("''", "'")
}

pub async fn get(
    State(s): State<ApiState>,
    Path((id, job, object)): Path<(String, String, String)>,
) -> ApiResult {
    let (sync, sp) = target(&s, &id)?;
    let connection = sync
        .connection(sp.uuid, &job, &key(&object))
        .await
        .map_err(|e| graph_error(&sp, e))?;
    Ok(json_ok(json!(connection)))
}

pub async fn delete(
    State(s): State<ApiState>,
    Path((id, job, object)): Path<(String, String, String)>,
) -> ApiResult {
    let (sync, sp) = target(&s, &id)?;
    sync.delete_connection(sp.uuid, &job, &key(&object))
        .await
        .map_err(|e| graph_error(&sp, e))?;
    Ok(no_content())
}

pub async fn list(
    State(s): State<ApiState>,
    Path((id, job)): Path<(String, String)>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> ApiResult {
    let (sync, sp) = target(&s, &id)?;
    let query = connection_query(&uri)?;
    let page = sync
        .connections(sp.uuid, &job, &query)
        .await
        .map_err(|e| graph_error(&sp, e))?;
    let mut out = Map::new();
    out.insert("value".to_string(), json!(page.connections));
    if let Some(next) = page.next {
        let base = version_base(&headers, &uri);
        let link = next_link(&base, relative_path(&uri), &uri, &next.to_string());
        out.insert("@odata.nextLink".to_string(), Value::String(link));
    }
    Ok(json_ok(Value::Object(out)))
}

/// Reads `$filter` (`stale eq true|false`, `objectTypeName eq '…'`, joined by `and`),
/// `$top` and `$skiptoken`.
fn connection_query(uri: &Uri) -> Result<ConnectionQuery, GraphError> {
    let mut query = ConnectionQuery {
        top: DEFAULT_TOP,
        ..ConnectionQuery::default()
    };
    for (name, value) in form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
        match name.trim_start_matches('$').to_ascii_lowercase().as_str() {
            "filter" => read_filter(&value, &mut query)?,
            "top" => {
                query.top = value
                    .parse::<usize>()
                    .ok()
                    .filter(|top| (1..=MAX_TOP).contains(top))
                    .ok_or_else(|| {
                        GraphError::bad_request(format!(
                            "Invalid $top '{value}': a number from 1 to {MAX_TOP}."
                        ))
                    })?;
            }
            "skiptoken" => {
                query.after = Some(Uuid::try_parse(&value).map_err(|_| {
                    GraphError::bad_request(format!("Invalid $skiptoken '{value}'."))
                })?);
            }
            other => {
                return Err(GraphError::bad_request(format!(
                    "Query option '{other}' is not supported on object connections; \
                     $filter, $top and $skiptoken are."
                )))
            }
        }
    }
    Ok(query)
}

fn read_filter(filter: &str, query: &mut ConnectionQuery) -> Result<(), GraphError> {
    let unsupported = |clause: &str| {
        GraphError::bad_request(format!(
            "Unsupported filter clause '{clause}': object connections filter by \
             \"stale eq true|false\" and \"objectTypeName eq '<type>'\", joined by \"and\"."
        ))
    };
    let lower = filter.to_ascii_lowercase();
    let mut start = 0;
    let mut clauses = Vec::new();
    // Split on " and " outside quotes.
    let mut quoted = false;
    for (i, c) in filter.char_indices() {
        if c == '\'' {
            quoted = !quoted;
        } else if !quoted && lower[i..].starts_with(" and ") {
            clauses.push(&filter[start..i]);
            start = i + 5;
        }
    }
    clauses.push(&filter[start..]);
    for clause in clauses {
        let words: Vec<&str> = clause.trim().splitn(3, ' ').collect();
        let [property, operator, value] = words[..] else {
            return Err(unsupported(clause));
        };
        if !operator.eq_ignore_ascii_case("eq") {
            return Err(unsupported(clause));
        }
        let value = value.trim();
        match property {
            "stale" => {
                query.stale = Some(match value {
                    "true" => true,
                    "false" => false,
                    _ => return Err(unsupported(clause)),
                })
            }
            "objectTypeName" => {
                let text = value
                    .strip_prefix('\'')
                    .and_then(|v| v.strip_suffix('\''))
                    .ok_or_else(|| unsupported(clause))?;
                query.object_type = Some(key(text));
            }
            _ => return Err(unsupported(clause)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_read_as_documented() {
        let ok = [
            ("stale eq true", Some(true), None),
            ("stale eq false", Some(false), None),
            ("objectTypeName eq 'User'", None, Some("User")),
            (
                "stale eq true and objectTypeName eq 'group'",
                Some(true),
                Some("group"),
            ),
            ("objectTypeName eq 'a and b'", None, Some("a and b")),
        ];
        for (filter, stale, object_type) in ok {
            let mut query = ConnectionQuery::default();
            assert_eq!(read_filter(filter, &mut query), Ok(()), "{filter}");
            assert_eq!(query.stale, stale, "{filter}");
            assert_eq!(query.object_type.as_deref(), object_type, "{filter}");
        }
        for filter in [
            "stale eq yes",
            "stale ne true",
            "displayName eq 'x'",
            "stale",
            "objectTypeName eq User",
        ] {
            let mut query = ConnectionQuery::default();
            let error = read_filter(filter, &mut query).expect_err(filter);
            assert!(
                error.message.contains("Unsupported filter clause"),
                "{filter}: {}",
                error.message
            );
        }
    }
}
