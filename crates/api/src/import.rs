//! `POST /admin/directory/import`: batches of users and groups from `provisio directory
//! import` (upserted, with manager and member references by userPrincipalName, group
//! mailNickname or id), and `GET /admin/directory/changes`: the change log after a
//! watermark.

use axum::extract::{OriginalUri, Request, State};
use axum::response::IntoResponse;
use axum::Json;
use provisio_engine::directory::import::{object_ref, record};
use provisio_engine::directory::{
    DirectoryError, ImportLink, ImportResult, LinkKind, ObjectKind, ObjectRef,
};
use serde_json::{json, Map, Value};

use crate::body::read_json;
use crate::handlers::ApiResult;
use crate::{ApiState, GraphError};

/// Records plus links per request.
pub const MAX_ITEMS: usize = 5000;

fn link_json(link: &ImportLink) -> Value {
    json!({
        "line": link.line,
        "from": link.from.to_string(),
        "link": match link.link { LinkKind::Manager => "manager", LinkKind::Member => "member" },
        "to": link.to.to_string(),
    })
}

fn line_of(item: &Value, index: usize) -> u64 {
    item.get("line")
        .and_then(Value::as_u64)
        .unwrap_or(index as u64 + 1)
}

pub async fn import(State(state): State<ApiState>, req: Request) -> ApiResult {
    let body = read_json(req, crate::MAX_IMPORT_BODY_BYTES).await?;
    let body = body.as_object().ok_or_else(GraphError::malformed_json)?;
    let dry_run = match body.get("dryRun") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(GraphError::bad_request("\"dryRun\" must be a boolean.")),
    };
    let empty = Vec::new();
    let array = |name: &str| -> Result<&Vec<Value>, GraphError> {
        match body.get(name) {
            None | Some(Value::Null) => Ok(&empty),
            Some(Value::Array(a)) => Ok(a),
            Some(_) => Err(GraphError::bad_request(format!(
                "\"{name}\" must be an array."
            ))),
        }
    };
    let records = array("records")?;
    let links_in = array("links")?;
    if records.len() + links_in.len() > MAX_ITEMS {
        return Err(GraphError::bad_request(format!(
            "An import request carries at most {MAX_ITEMS} records and links; this one has {}.",
            records.len() + links_in.len()
        )));
    }
    let mut errors: Vec<Value> = Vec::new();
    let mut objects = Vec::with_capacity(records.len());
    let mut links = Vec::new();
    for (i, item) in records.iter().enumerate() {
        let line = line_of(item, i);
        let kind = match item.get("type").and_then(Value::as_str) {
            None | Some("user") => ObjectKind::User,
            Some("group") => ObjectKind::Group,
            Some(other) => {
                errors.push(json!({"line": line, "message": format!("Unknown record type '{other}': expected \"user\" or \"group\".")}));
                continue;
            }
        };
        let Some(Value::Object(object)) = item.get("object") else {
            errors.push(json!({"line": line, "message": "A record needs an \"object\"."}));
            continue;
        };
        match record(line, kind, object.clone()) {
            Ok((o, l)) => {
                objects.push(o);
                links.extend(l);
            }
            Err(e) => errors.push(json!({"line": line, "message": e.message})),
        }
    }
    for (i, item) in links_in.iter().enumerate() {
        let line = line_of(item, i);
        match parse_link(line, item) {
            Ok(l) => links.push(l),
            Err(e) => errors.push(json!({"line": line, "message": e.message})),
        }
    }
    let report = state.directory.import(objects, links, dry_run).await?;
    let (mut created, mut updated, mut unchanged) = (0u64, 0u64, 0u64);
    for (i, result) in report.objects.iter().enumerate() {
        match result {
            ImportResult::Created(_) => created += 1,
            ImportResult::Updated(_) => updated += 1,
            ImportResult::Unchanged(_) => unchanged += 1,
            ImportResult::Failed(e) => {
                let line = records.get(i).map_or(0, |r| line_of(r, i));
                errors.push(json!({"line": line, "message": e.message}));
            }
        }
    }
    for (link, e) in &report.failed_links {
        errors.push(json!({"line": link.line, "message": format!("{} {} → {}: {}", match link.link { LinkKind::Manager => "manager", LinkKind::Member => "member" }, link.from, link.to, e.message)}));
    }
    errors.sort_by_key(|e| e["line"].as_u64().unwrap_or(0));
    Ok(Json(json!({
        "dryRun": dry_run,
        "created": created,
        "updated": updated,
        "unchanged": unchanged,
        "failed": errors.len(),
        "errors": errors,
        "unresolved": report.unresolved.iter().map(link_json).collect::<Vec<_>>(),
    }))
    .into_response())
}

fn parse_link(line: u64, item: &Value) -> Result<ImportLink, DirectoryError> {
    let text = |name: &str| {
        item.get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| DirectoryError::bad_request(format!("A link needs \"{name}\".")))
    };
    let link = match text("link")? {
        "manager" => LinkKind::Manager,
        "member" => LinkKind::Member,
        other => {
            return Err(DirectoryError::bad_request(format!(
                "Unknown link '{other}': expected \"manager\" or \"member\"."
            )))
        }
    };
    let from: ObjectRef = object_ref(text("from")?)?;
    Ok(ImportLink {
        line,
        from,
        link,
        to: object_ref(text("to")?)?,
    })
}

/// `GET /admin/directory/changes?after=SEQ&top=N`.
pub async fn changes(State(state): State<ApiState>, OriginalUri(uri): OriginalUri) -> ApiResult {
    let mut after = 0i64;
    let mut top = 1000usize;
    for (k, v) in form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "after" => {
                after = v.parse().map_err(|_| {
                    GraphError::bad_request(format!(
                        "Invalid watermark '{v}': expected an integer."
                    ))
                })?
            }
            "top" => {
                top = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=10_000).contains(n))
                    .ok_or_else(|| {
                        GraphError::bad_request(format!("Invalid top '{v}': expected 1 to 10000."))
                    })?
            }
            other => {
                return Err(GraphError::bad_request(format!(
                    "Query option '{other}' is not allowed: use after and top."
                )))
            }
        }
    }
    let store = state.directory.store();
    let changes = store
        .changes_since(after, top)
        .await
        .map_err(DirectoryError::from)?;
    let watermark = changes.last().map_or(after, |c| c.seq);
    let mut out = Map::new();
    out.insert("watermark".to_string(), Value::from(watermark));
    out.insert(
        "value".to_string(),
        serde_json::to_value(&changes).unwrap_or(Value::Array(Vec::new())),
    );
    Ok(Json(Value::Object(out)).into_response())
}
