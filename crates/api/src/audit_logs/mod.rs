//! The `auditLogs` area: `GET /auditLogs/provisioning` under `/v1.0` and `/beta`, one
//! `provisioningObjectSummary` per object a cycle processed, oldest first, with `$filter` on
//! the properties the log is indexed by, `$select`, `$top` and `@odata.nextLink` paging.
//!
//! Graph's page (`api-reference/v1.0/api/provisioningobjectsummary-list.md` in
//! `microsoftgraph/microsoft-graph-docs-contrib`) lists filters on these properties; a filter
//! on anything else, or one that is not a conjunction of comparisons, is refused with a
//! message that says what is supported rather than scanned.

use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Json;
use provisio_engine::state::{LogQuery, LogRow};
use provisio_engine::synchronization::log_timestamp;
use provisio_odata::filter::{CompareOp, Filter, Literal};
use provisio_odata::query::QueryOptions;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::directory::query::{next_link, relative_path, version_base};
use crate::routes::{op, Route, RouteTable};
use crate::{ApiResult, ApiState, GraphError};

/// Rows per page when the request gives no `$top`.
const DEFAULT_PAGE: usize = 100;

pub fn routes() -> RouteTable {
    let routes: Vec<Route> = vec![(
        op(
            "get",
            "/auditLogs/provisioning",
            "List provisioning log rows (provisioningObjectSummary), oldest first, with $filter on jobId, cycleId, changeId, activityDateTime, provisioningAction, provisioningStatusInfo/status, sourceIdentity/id and targetIdentity/id.",
            "auditLogs",
            200,
            None,
            Some("provisioningObjectSummaryCollection"),
        ),
        get(list),
    )];
    RouteTable {
        graph: routes,
        admin: Vec::new(),
    }
}

const SUPPORTED: &str = "The provisioning log filters on jobId, cycleId, \
    activityDateTime (ge, gt, le, lt), provisioningAction, provisioningStatusInfo/status, \
    sourceIdentity/id and targetIdentity/id with eq, joined by and.";

fn unsupported(what: impl std::fmt::Display) -> GraphError {
    GraphError::bad_request(format!("Unsupported filter: {what}. {SUPPORTED}"))
}

/// The text of a literal that names an id or a word.
fn text(value: &Literal) -> Option<String> {
    match value {
        Literal::String(t) => Some(t.as_str().to_string()),
        Literal::Guid(g) => Some(g.clone()),
        _ => None,
    }
}

/// A time bound as log rows write their times.
fn instant(value: &Literal) -> Result<time::OffsetDateTime, GraphError> {
    match value {
        Literal::DateTimeOffset { instant, .. } => Ok(*instant),
        Literal::String(t) => {
            time::OffsetDateTime::parse(t.as_str(), &time::format_description::well_known::Rfc3339)
                .map_err(|_| unsupported(format!("'{}' is not an RFC 3339 time", t.as_str())))
        }
        other => Err(unsupported(format!("{other} is not a time"))),
    }
}

/// Adds one comparison of the filter to the query.
fn add_clause(query: &mut LogQuery, filter: &Filter) -> Result<(), GraphError> {
    let Filter::Compare { path, op, value } = filter else {
        return Err(unsupported(filter));
    };
    let name = path.to_string();
    if name.eq_ignore_ascii_case("activityDateTime") {
        let at = instant(value)?;
        let millisecond = time::Duration::milliseconds(1);
        match op {
            CompareOp::Ge => query.from = Some(log_timestamp(at)),
            CompareOp::Gt => query.from = Some(log_timestamp(at + millisecond)),
            CompareOp::Lt => query.to = Some(log_timestamp(at)),
            CompareOp::Le => query.to = Some(log_timestamp(at + millisecond)),
            CompareOp::Eq => {
                query.from = Some(log_timestamp(at));
                query.to = Some(log_timestamp(at + millisecond));
            }
            CompareOp::Ne => return Err(unsupported(filter)),
        }
        return Ok(());
    }
    if *op != CompareOp::Eq {
        return Err(unsupported(filter));
    }
    let value = text(value).ok_or_else(|| unsupported(filter))?;
    let lower = name.to_ascii_lowercase();
    match lower.as_str() {
        "jobid" => query.job_id = Some(value),
        "cycleid" => {
            let id = Uuid::try_parse(&value)
                .map_err(|_| unsupported(format!("cycleId '{value}' is not a GUID")))?;
            query.cycle_id = Some(id);
        }
        "provisioningaction" => query.action = Some(value.to_ascii_lowercase()),
        "provisioningstatusinfo/status" => query.status = Some(value.to_ascii_lowercase()),
        "sourceidentity/id" => query.source_id = Some(value),
        "targetidentity/id" => query.target_id = Some(value),
        _ => return Err(unsupported(format!("property '{name}'"))),
    }
    Ok(())
}

/// The store query a request's OData options ask for.
fn log_query(options: &QueryOptions) -> Result<LogQuery, GraphError> {
    if options.orderby.is_some() || options.search.is_some() || options.count {
        return Err(GraphError::bad_request(
            "The provisioning log is listed oldest first; $orderby, $search and $count are not supported.",
        ));
    }
    // One row more than the page, to know whether a next page exists.
    let mut query = LogQuery {
        limit: options.top.map_or(DEFAULT_PAGE, |t| t as usize) + 1,
        ..LogQuery::default()
    };
    match &options.filter {
        None => {}
        Some(Filter::And(clauses)) => {
            for clause in clauses {
                add_clause(&mut query, clause)?;
            }
        }
        Some(clause) => add_clause(&mut query, clause)?,
    }
    if let Some(token) = &options.skiptoken {
        query.after = Some(decode_skiptoken(token)?);
    }
    Ok(query)
}

/// A page's last row, as the next page's starting point: `activity` and id.
fn encode_skiptoken(row: &LogRow) -> String {
    format!("{}_{}", row.activity, row.id)
}

fn decode_skiptoken(token: &str) -> Result<(String, Uuid), GraphError> {
    let invalid = || GraphError::bad_request(format!("Invalid $skiptoken '{token}'."));
    let (activity, id) = token.rsplit_once('_').ok_or_else(invalid)?;
    Ok((
        activity.to_string(),
        Uuid::try_parse(id).map_err(|_| invalid())?,
    ))
}

async fn list(
    State(state): State<ApiState>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> ApiResult {
    let Some(service) = state.synchronization.as_ref() else {
        return Err(GraphError::new(
            StatusCode::NOT_IMPLEMENTED,
            "NotImplemented",
            "Provisioning (and so its log) is not enabled on this server.",
        ));
    };
    let options = crate::directory::query::options(&uri)?;
    let query = log_query(&options)?;
    let mut rows = service.provisioning_logs(&query).await.map_err(|e| {
        tracing::error!(message = "Reading the provisioning log failed.", error = %e);
        GraphError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "generalException",
            "The service could not complete the request.",
        )
    })?;
    let more = rows.len() == query.limit;
    rows.truncate(query.limit - 1);
    Ok(Json(page(&headers, &uri, &options, more, &rows)).into_response())
}

fn page(
    headers: &HeaderMap,
    uri: &Uri,
    options: &QueryOptions,
    more: bool,
    rows: &[LogRow],
) -> Value {
    let base = version_base(headers, uri);
    let mut out = Map::new();
    out.insert(
        "@odata.context".to_string(),
        Value::String(format!("{base}/$metadata#auditLogs/provisioning")),
    );
    if let (true, Some(last)) = (more, rows.last()) {
        out.insert(
            "@odata.nextLink".to_string(),
            Value::String(next_link(
                &base,
                relative_path(uri),
                uri,
                &encode_skiptoken(last),
            )),
        );
    }
    let values = rows
        .iter()
        .map(|row| match (&options.select, &row.summary) {
            (Some(select), Value::Object(summary)) if !select.is_all() => {
                Value::Object(provisio_odata::select::project(summary, select))
            }
            _ => row.summary.clone(),
        })
        .collect();
    out.insert("value".to_string(), Value::Array(values));
    Value::Object(out)
}
