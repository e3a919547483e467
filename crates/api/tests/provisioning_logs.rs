//! `GET /auditLogs/provisioning`: the rows cycles wrote, filtered by the properties Graph's
//! page lists (`api-reference/v1.0/api/provisioningobjectsummary-list.md` in
//! `microsoftgraph/microsoft-graph-docs-contrib`), paged with next links, oldest first.

mod common;

use common::{assert_graph_error, Api};
use provisio_engine::state::{LogRow, LogStore};
use serde_json::{json, Value};
use uuid::Uuid;

const CYCLE_A: Uuid = Uuid::from_u128(0xa);
const CYCLE_B: Uuid = Uuid::from_u128(0xb);

/// One row a cycle would write: minute `minute` of 2026-03-01 09:00.
fn row(minute: u32, job: &str, cycle: Uuid, action: &str, status: &str, source: &str) -> LogRow {
    let activity = format!("2026-03-01T09:{minute:02}:00.000Z");
    let id = Uuid::from_u128(u128::from(minute) + 1);
    LogRow {
        id,
        job_id: job.to_string(),
        cycle_id: cycle,
        activity: activity.clone(),
        action: action.to_string(),
        status: status.to_string(),
        source_id: Some(source.to_string()),
        target_id: Some(format!("t-{source}")),
        summary: json!({
            "id": id.to_string(),
            "activityDateTime": activity,
            "jobId": job,
            "cycleId": cycle.to_string(),
            "provisioningAction": action,
            "provisioningStatusInfo": {"status": status},
            "sourceIdentity": {"id": source},
            "targetIdentity": {"id": format!("t-{source}")}
        }),
    }
}

async fn api_with_rows() -> Api {
    let api = Api::with_synchronization();
    let rows = [
        row(0, "scim.1", CYCLE_A, "create", "success", "ann"),
        row(1, "scim.1", CYCLE_A, "create", "failure", "bob"),
        row(2, "scim.1", CYCLE_A, "other", "skipped", "cyd"),
        row(3, "scim.2", CYCLE_B, "update", "success", "ann"),
        row(4, "scim.1", CYCLE_B, "disable", "success", "ann"),
    ];
    api.sync_store
        .append_logs(rows.iter().map(LogRow::to_new).collect())
        .await
        .expect("append");
    api
}

fn minutes(body: &Value) -> Vec<String> {
    body["value"]
        .as_array()
        .unwrap_or_else(|| panic!("no value in {body}"))
        .iter()
        .map(|v| v["activityDateTime"].as_str().unwrap_or("?")[14..16].to_string())
        .collect()
}

#[tokio::test]
async fn filters_select_the_rows_they_name() {
    let api = api_with_rows().await;
    // ($filter, the minutes of the rows listed)
    let cases: &[(&str, &[&str])] = &[
        ("", &["00", "01", "02", "03", "04"]),
        ("jobId eq 'scim.1'", &["00", "01", "02", "04"]),
        (
            "cycleId eq '00000000-0000-0000-0000-00000000000b'",
            &["03", "04"],
        ),
        ("cycleId eq 00000000-0000-0000-0000-00000000000a", &["00", "01", "02"]),
        ("provisioningAction eq 'create'", &["00", "01"]),
        ("provisioningStatusInfo/status eq 'failure'", &["01"]),
        ("provisioningStatusInfo/status eq 'Failure'", &["01"]),
        ("sourceIdentity/id eq 'ann'", &["00", "03", "04"]),
        ("targetIdentity/id eq 't-cyd'", &["02"]),
        ("activityDateTime ge 2026-03-01T09:01:00Z", &["01", "02", "03", "04"]),
        ("activityDateTime gt 2026-03-01T09:01:00Z", &["02", "03", "04"]),
        ("activityDateTime lt 2026-03-01T09:01:00Z", &["00"]),
        ("activityDateTime le 2026-03-01T09:01:00Z", &["00", "01"]),
        (
            "activityDateTime ge 2026-03-01T10:01:00%2B01:00 and activityDateTime lt 2026-03-01T09:03:00Z",
            &["01", "02"],
        ),
        ("jobId eq 'scim.1' and sourceIdentity/id eq 'ann'", &["00", "04"]),
        ("jobId eq 'nothing'", &[]),
    ];
    for (filter, expected) in cases {
        let path = if filter.is_empty() {
            "/auditLogs/provisioning".to_string()
        } else {
            format!("/auditLogs/provisioning?$filter={filter}")
        };
        let r = api.get(&path).await;
        assert_eq!(r.status, 200, "{filter}: {}", r.body);
        assert_eq!(minutes(&r.body), *expected, "{filter}");
    }
}

#[tokio::test]
async fn pages_follow_next_links_and_select_projects() {
    let api = api_with_rows().await;
    let (values, pages, _) = api
        .all_pages("/auditLogs/provisioning?$top=2&$filter=jobId eq 'scim.1'")
        .await;
    assert_eq!(pages, 2);
    let listed: Vec<&str> = values
        .iter()
        .map(|v| v["sourceIdentity"]["id"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(listed, ["ann", "bob", "cyd", "ann"]);

    let r = api
        .get("/beta/auditLogs/provisioning?$select=id,provisioningAction&$top=1")
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["@odata.context"],
        "http://graph.test/beta/$metadata#auditLogs/provisioning"
    );
    let first = &r.body["value"][0];
    assert_eq!(first.as_object().map(|o| o.len()), Some(2), "{first}");
    assert_eq!(first["provisioningAction"], "create");
}

#[tokio::test]
async fn unsupported_filters_say_what_is_supported() {
    let api = api_with_rows().await;
    for filter in [
        "jobId ne 'scim.1'",
        "jobId eq 'a' or jobId eq 'b'",
        "startswith(jobId,'scim')",
        "servicePrincipal/id eq 'x'",
        "activityDateTime ne 2026-03-01T09:00:00Z",
        "cycleId eq 'not-a-guid'",
    ] {
        let r = api
            .get(&format!("/auditLogs/provisioning?$filter={filter}"))
            .await;
        assert_graph_error(
            &r,
            400,
            "Request_BadRequest",
            "The provisioning log filters on jobId",
        );
    }
    let r = api.get("/auditLogs/provisioning?$skiptoken=garbage").await;
    assert_graph_error(&r, 400, "Request_BadRequest", "Invalid $skiptoken");
    let r = api
        .get("/auditLogs/provisioning?$orderby=activityDateTime desc")
        .await;
    assert_graph_error(&r, 400, "Request_BadRequest", "oldest first");
}

#[tokio::test]
async fn without_provisioning_the_log_answers_not_implemented() {
    let api = Api::new();
    let r = api.get("/auditLogs/provisioning").await;
    assert_graph_error(&r, 501, "NotImplemented", "not enabled");
}
