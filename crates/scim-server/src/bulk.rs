//! `POST /Bulk` (RFC 7644 §3.7): operations run in order, each in its own transaction;
//! an operation that refers to a `bulkId` not yet created waits until it is (forward references),
//! and fails when that can never happen (a failed or circular reference).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use provisio_scim::bulk::{
    bulk_response, parse_bulk_request, referenced_bulk_ids, substitute_bulk_ids, BulkMethod,
    BulkOperation, BulkOperationResult,
};
use provisio_scim::error::ScimError;
use serde_json::Value;

use crate::http::{etag, scim_json, ApiError, ApiResult, Ctx, IfMatch, JsonBody};
use crate::store::{ReadOptions, ResourceKind};
use crate::{service, AppState};

pub async fn bulk(
    State(state): State<AppState>,
    ctx: Ctx,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let request = parse_bulk_request(&body, state.config.bulk_max_operations)?;
    let mut created: Vec<(String, String)> = Vec::new(); // bulkId -> id
    let mut failed_ids: Vec<String> = Vec::new();
    let mut results: Vec<Option<BulkOperationResult>> = vec![None; request.operations.len()];
    let mut pending: Vec<usize> = (0..request.operations.len()).collect();
    let mut errors = 0u64;
    'rounds: loop {
        let mut progressed = false;
        let mut still = Vec::new();
        for &i in &pending {
            let op = &request.operations[i];
            let mut refs = Vec::new();
            if let Some(id) = path_bulk_id(&op.path) {
                refs.push(id.to_string());
            }
            if let Some(d) = &op.data {
                referenced_bulk_ids(d, &mut refs);
            }
            if let Some(bad) = refs.iter().find(|r| failed_ids.contains(r)) {
                results[i] = Some(failure(
                    op,
                    ScimError::new(
                        409,
                        Some(provisio_scim::ScimType::InvalidValue),
                        format!("bulkId \"{bad}\" refers to an operation that failed"),
                    ),
                ));
                mark_failed(op, &mut failed_ids);
                errors += 1;
                progressed = true;
            } else if refs.iter().all(|r| created.iter().any(|(b, _)| b == r)) {
                let resolve = |b: &str| {
                    created
                        .iter()
                        .find(|(k, _)| k == b)
                        .map(|(_, id)| id.clone())
                };
                let result = run_one(&state, &ctx, op, &resolve).await;
                match result {
                    Ok((r, id)) => {
                        if let (Some(b), Some(id)) = (&op.bulk_id, id) {
                            created.push((b.clone(), id));
                        }
                        results[i] = Some(r);
                    }
                    Err(e) => {
                        results[i] = Some(failure(op, e.0));
                        mark_failed(op, &mut failed_ids);
                        errors += 1;
                    }
                }
                progressed = true;
            } else {
                still.push(i);
            }
            if request.fail_on_errors.is_some_and(|max| errors >= max) {
                break 'rounds;
            }
        }
        pending = still;
        if pending.is_empty() {
            break;
        }
        if !progressed {
            // What is left refers to bulkIds that no operation can create: circular or unknown.
            for &i in &pending {
                let op = &request.operations[i];
                results[i] = Some(failure(
                    op,
                    ScimError::new(
                        409,
                        Some(provisio_scim::ScimType::InvalidValue),
                        "the operation refers to a bulkId that is unknown or part of a cycle",
                    ),
                ));
            }
            break;
        }
    }
    let results: Vec<BulkOperationResult> = results.into_iter().flatten().collect();
    Ok(scim_json(StatusCode::OK, &bulk_response(&results)))
}

/// The bulkId in a path such as `/Users/bulkId:qwerty`.
fn path_bulk_id(path: &str) -> Option<&str> {
    path.rsplit_once('/')?.1.strip_prefix("bulkId:")
}

fn mark_failed(op: &BulkOperation, failed: &mut Vec<String>) {
    if let Some(b) = &op.bulk_id {
        failed.push(b.clone());
    }
}

fn failure(op: &BulkOperation, e: ScimError) -> BulkOperationResult {
    BulkOperationResult {
        method: op.method,
        bulk_id: op.bulk_id.clone(),
        version: None,
        location: None,
        status: e.status,
        response: Some(e.to_json()),
    }
}

/// Splits `/Users/{id}` into the kind and the id.
fn target(path: &str) -> ApiResult<(ResourceKind, Option<String>)> {
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    let kind = match parts.next() {
        Some(p) if p.eq_ignore_ascii_case("Users") => ResourceKind::User,
        Some(p) if p.eq_ignore_ascii_case("Groups") => ResourceKind::Group,
        _ => {
            return Err(ApiError(ScimError::invalid_path(format!(
                "\"{path}\" is not /Users or /Groups"
            ))))
        }
    };
    let id = parts.next().filter(|s| !s.is_empty()).map(str::to_string);
    if id.as_deref().is_some_and(|i| i.contains('/')) {
        return Err(ApiError(ScimError::invalid_path(format!(
            "\"{path}\" is not a resource path"
        ))));
    }
    Ok((kind, id))
}

async fn run_one(
    state: &AppState,
    ctx: &Ctx,
    op: &BulkOperation,
    resolve: &(dyn Fn(&str) -> Option<String> + Sync),
) -> ApiResult<(BulkOperationResult, Option<String>)> {
    let path = match (path_bulk_id(&op.path), op.path.rsplit_once('/')) {
        (Some(b), Some((prefix, _))) => match resolve(b) {
            Some(id) => format!("{prefix}/{id}"),
            None => op.path.clone(),
        },
        _ => op.path.clone(),
    };
    let (kind, id) = target(&path)?;
    let mut data = op.data.clone().unwrap_or(Value::Null);
    substitute_bulk_ids(&mut data, resolve);
    let if_match = match op.version.as_deref() {
        None => IfMatch::Absent,
        Some(v) => {
            let mut h = axum::http::HeaderMap::new();
            if let Ok(val) = axum::http::HeaderValue::from_str(v) {
                h.insert(axum::http::header::IF_MATCH, val);
            }
            crate::http::if_match(&h)
        }
    };
    let need_id = || {
        id.clone().ok_or_else(|| {
            ApiError(ScimError::invalid_path(format!(
                "{} needs /{{type}}/{{id}}",
                op.method.as_str()
            )))
        })
    };
    let (status, stored) = match op.method {
        BulkMethod::Post => {
            if id.is_some() {
                return Err(ApiError(ScimError::invalid_path(
                    "POST goes to /Users or /Groups",
                )));
            }
            (201, Some(service::create(state, ctx, kind, &data).await?))
        }
        BulkMethod::Put => (
            200,
            Some(service::replace(state, ctx, kind, &need_id()?, &data, if_match).await?),
        ),
        // A bulk result shows the version only: no references attached.
        BulkMethod::Patch => (
            200,
            Some(
                service::patch(
                    state,
                    ctx,
                    kind,
                    &need_id()?,
                    &data,
                    if_match,
                    ReadOptions::NONE,
                )
                .await?,
            ),
        ),
        BulkMethod::Delete => {
            let target_id = need_id()?;
            service::delete(state, ctx, kind, &target_id, if_match).await?;
            return Ok((
                BulkOperationResult {
                    method: op.method,
                    bulk_id: op.bulk_id.clone(),
                    version: None,
                    location: Some(service::location(ctx, kind, &target_id)),
                    status: 204,
                    response: None,
                },
                None,
            ));
        }
    };
    let stored = stored.ok_or_else(|| ApiError(ScimError::new(500, None, "no result")))?;
    Ok((
        BulkOperationResult {
            method: op.method,
            bulk_id: op.bulk_id.clone(),
            version: Some(etag(stored.version)),
            location: Some(service::location(ctx, kind, &stored.id)),
            status,
            response: None,
        },
        Some(stored.id),
    ))
}
