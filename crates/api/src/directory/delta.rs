//! `users/delta` and `groups/delta`, read from the change log.
//!
//! The first call (no token) pages through every live object and ends with an
//! `@odata.deltaLink` whose `$deltatoken` is the change log's watermark taken *before* the
//! round started, so a change made during the round is delivered again in the next one
//! (at least once, never lost). A call with a `$deltatoken` returns the objects changed
//! since it, each once, in the order of their first change: live ones in full, deleted ones
//! as `{"id", "@removed": {"reason": "changed"}}` (soft-deleted, restorable) or
//! `"deleted"` (purged). Groups carry `members@delta`.

use std::collections::HashMap;

use axum::http::{HeaderMap, Uri};
use axum::response::IntoResponse;
use axum::Json;
use base64::Engine;
use provisio_directory::{ChangeOp, ListQuery, ListRequest, ObjectKind, Presence, StoredObject};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::query::{self, version_base};
use crate::ApiResult;
use crate::{ApiState, GraphError};

/// Objects per page of the first round; changes read per page afterwards.
const PAGE: usize = 200;
const CHANGES_PAGE: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Token {
    /// First round, after object `after`, watermark taken at its start.
    Full { watermark: i64, after: Option<Uuid> },
    /// Changes after `from`.
    Changes { from: i64 },
}

fn encode(token: Token) -> String {
    let text = match token {
        Token::Full { watermark, after } => format!(
            "f:{watermark}:{}",
            after.map(|a| a.to_string()).unwrap_or_default()
        ),
        Token::Changes { from } => format!("c:{from}"),
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

fn decode(token: &str) -> Result<Token, GraphError> {
    let invalid = || GraphError::bad_request(format!("Invalid delta token '{token}'."));
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let mut parts = text.split(':');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("f"), Some(w), Some(after), None) => Ok(Token::Full {
            watermark: w.parse().map_err(|_| invalid())?,
            after: if after.is_empty() {
                None
            } else {
                Some(Uuid::try_parse(after).map_err(|_| invalid())?)
            },
        }),
        (Some("c"), Some(from), None, None) => Ok(Token::Changes {
            from: from.parse().map_err(|_| invalid())?,
        }),
        _ => Err(invalid()),
    }
}

fn link(base: &str, kind: ObjectKind, uri: &Uri, param: &str, token: Token) -> String {
    let select: Vec<(String, String)> =
        form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .filter(|(k, _)| k.trim_start_matches('$').eq_ignore_ascii_case("select"))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    let token = encode(token);
    let pairs = select
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain([(param, token.as_str())]);
    format!(
        "{base}/{}/delta?{}",
        kind.entity_set(),
        query::query_string(pairs)
    )
}

pub async fn delta(state: ApiState, kind: ObjectKind, headers: HeaderMap, uri: Uri) -> ApiResult {
    let options = query::options_except(&uri, &["deltatoken"])?;
    query::check_properties(kind, &options)?;
    if options.filter.is_some() || options.orderby.is_some() {
        return Err(GraphError::bad_request(
            "Delta queries support $select only.",
        ));
    }
    let deltatoken = form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .find(|(k, _)| k.trim_start_matches('$').eq_ignore_ascii_case("deltatoken"))
        .map(|(_, v)| v.into_owned());
    let token = match (&options.skiptoken, deltatoken) {
        (Some(s), _) => decode(s)?,
        (None, Some(d)) => match decode(&d)? {
            t @ Token::Changes { .. } => t,
            Token::Full { .. } => return Err(GraphError::bad_request("Invalid delta token.")),
        },
        (None, None) => Token::Full {
            watermark: state.directory.watermark().await?,
            after: None,
        },
    };
    let base = version_base(&headers, &uri);
    let select = options.select.as_ref();
    let mut out = Map::new();
    out.insert(
        "@odata.context".to_string(),
        Value::String(query::context(&base, kind.entity_set(), select)),
    );
    let mut values = Vec::new();
    match token {
        Token::Full { watermark, after } => {
            let mut query = ListQuery::all(kind, PAGE);
            query.after = after.map(|id| provisio_directory::Cursor {
                key: id.to_string(),
                id,
            });
            let page = state
                .directory
                .list(ListRequest {
                    query,
                    predicate: None,
                    page_size: PAGE,
                })
                .await?;
            for object in &page.objects {
                let mut v = with_id(object, select);
                if kind == ObjectKind::Group {
                    v.insert(
                        "members@delta".to_string(),
                        Value::Array(all_members(&state, object.id).await?),
                    );
                }
                values.push(Value::Object(v));
            }
            match page.next {
                Some(next) => out.insert(
                    "@odata.nextLink".to_string(),
                    Value::String(link(
                        &base,
                        kind,
                        &uri,
                        "$skiptoken",
                        Token::Full {
                            watermark,
                            after: Some(next.id),
                        },
                    )),
                ),
                None => out.insert(
                    "@odata.deltaLink".to_string(),
                    Value::String(link(
                        &base,
                        kind,
                        &uri,
                        "$deltatoken",
                        Token::Changes { from: watermark },
                    )),
                ),
            };
        }
        Token::Changes { from } => {
            let changes = state.directory.changes_since(from, CHANGES_PAGE).await?;
            let last = changes.last().map_or(from, |c| c.seq);
            let mut order: Vec<Uuid> = Vec::new();
            let mut members: HashMap<Uuid, Vec<(Uuid, bool)>> = HashMap::new();
            for c in changes.iter().filter(|c| c.kind == kind) {
                if !order.contains(&c.object_id) {
                    order.push(c.object_id);
                }
                if let (ChangeOp::MemberAdded | ChangeOp::MemberRemoved, Some(m)) =
                    (c.op, c.related_id)
                {
                    let list = members.entry(c.object_id).or_default();
                    list.retain(|(id, _)| *id != m);
                    list.push((m, c.op == ChangeOp::MemberAdded));
                }
            }
            for id in order {
                values.push(Value::Object(
                    changed_object(&state, kind, id, select, members.remove(&id)).await?,
                ));
            }
            let more = changes.len() == CHANGES_PAGE;
            let (name, param) = if more {
                ("@odata.nextLink", "$skiptoken")
            } else {
                ("@odata.deltaLink", "$deltatoken")
            };
            out.insert(
                name.to_string(),
                Value::String(link(
                    &base,
                    kind,
                    &uri,
                    param,
                    Token::Changes { from: last },
                )),
            );
        }
    }
    out.insert("value".to_string(), Value::Array(values));
    Ok(Json(Value::Object(out)).into_response())
}

async fn changed_object(
    state: &ApiState,
    kind: ObjectKind,
    id: Uuid,
    select: Option<&provisio_odata::Select>,
    members: Option<Vec<(Uuid, bool)>>,
) -> Result<Map<String, Value>, GraphError> {
    let mut v = match state.directory.presence(kind, id).await? {
        Presence::Live(object) => with_id(&object, select),
        gone => {
            let reason = match gone {
                Presence::Deleted(_) => "changed",
                _ => "deleted",
            };
            let mut m = Map::new();
            m.insert("id".to_string(), Value::String(id.to_string()));
            m.insert("@removed".to_string(), json!({ "reason": reason }));
            return Ok(m);
        }
    };
    if let Some(members) = members {
        let mut delta = Vec::with_capacity(members.len());
        for (m, added) in members {
            let kind_of = (state.directory.find(m).await?).map_or(ObjectKind::User, |o| o.kind);
            let mut entry = json!({"@odata.type": kind_of.odata_type(), "id": m.to_string()});
            if !added {
                entry["@removed"] = json!({"reason": "deleted"});
            }
            delta.push(entry);
        }
        v.insert("members@delta".to_string(), Value::Array(delta));
    }
    Ok(v)
}

/// Delta entries always carry `id`, whatever `$select` says, so that a client can apply them.
fn with_id(object: &StoredObject, select: Option<&provisio_odata::Select>) -> Map<String, Value> {
    let mut v = Map::new();
    v.insert("id".to_string(), Value::String(object.id.to_string()));
    for (k, x) in query::render(object, select) {
        if k != "id" {
            v.insert(k, x);
        }
    }
    v
}

async fn all_members(state: &ApiState, group: Uuid) -> Result<Vec<Value>, GraphError> {
    let members = state.directory.all_member_refs(group).await?;
    Ok(members
        .iter()
        .map(|m| json!({"@odata.type": m.kind.odata_type(), "id": m.id.to_string()}))
        .collect())
}
