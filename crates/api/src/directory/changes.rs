//! `GET /admin/directory/changes`: the change log after a watermark.

use axum::extract::{OriginalUri, State};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{Map, Value};

use crate::{ApiResult, ApiState, GraphError};

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
    let changes = state.directory.changes_since(after, top).await?;
    let watermark = changes.last().map_or(after, |c| c.seq);
    let mut out = Map::new();
    out.insert("watermark".to_string(), Value::from(watermark));
    out.insert(
        "value".to_string(),
        serde_json::to_value(&changes).unwrap_or(Value::Array(Vec::new())),
    );
    Ok(Json(Value::Object(out)).into_response())
}
