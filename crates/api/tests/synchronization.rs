//! The synchronization area end to end over the router: Microsoft's configuration order,
//! every endpoint, restart scopes, object connections, secrets that never come back.
//! Each test names the page of Microsoft's documentation whose behaviour it pins.

mod common;

use common::{assert_graph_error, Api, NOW};
use provisio_engine::state::{
    Fence, JobStore, LeaseStore, Link, LinkOrigin, LinkQuery, LinkStore, Staleness,
};
use serde_json::{json, Value};
use uuid::Uuid;

const TOKEN_VALUE: &str = "tok-9f2e-very-secret";
const BASE_ADDRESS: &str = "https://scim.example.test/scim/v2";

async fn service_principal(api: &Api) -> String {
    api.create(
        "servicePrincipals",
        json!({"displayName": "Contoso SCIM app"}),
    )
    .await
}

fn base(sp: &str) -> String {
    format!("/servicePrincipals/{sp}/synchronization")
}

async fn put_secrets(api: &Api, sp: &str) {
    let r = api
        .put(
            &format!("{}/secrets", base(sp)),
            json!({"value": [
                {"key": "BaseAddress", "value": BASE_ADDRESS},
                {"key": "SecretToken", "value": TOKEN_VALUE},
                {"key": "SyncAll", "value": "False"}
            ]}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
}

/// A service principal with secrets and a `scim` job; returns (sp, job path, job id).
async fn configured_job(api: &Api) -> (String, String, String) {
    let sp = service_principal(api).await;
    put_secrets(api, &sp).await;
    let r = api
        .post(
            &format!("{}/jobs", base(&sp)),
            json!({"templateId": "scim"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let job = r.id();
    (sp.clone(), format!("{}/jobs/{job}", base(&sp)), job)
}

fn at(minutes: i64) -> String {
    provisio_directory::timestamp(NOW + time::Duration::minutes(minutes))
}

/// Takes the job's lease as a cycle worker would; the caller releases it.
async fn lease(api: &Api, job: &str, worker: &str) -> Fence {
    api.sync_store
        .acquire_lease(job, worker, &at(0), &at(5))
        .await
        .expect("the store answers")
        .expect("the lease is free")
}

fn link(job: &str, n: u128, origin: LinkOrigin, stale: bool) -> Link {
    Link {
        job_id: job.to_string(),
        object_type: "User".to_string(),
        source_id: Uuid::from_u128(n),
        target_id: format!("70198{n}"),
        display_name: Some(format!("User {n}")),
        origin,
        made: "2026-02-01T08:00:00Z".to_string(),
        shadow: None,
        stale: stale.then(|| Staleness {
            found: "2026-02-02T08:00:00Z".to_string(),
            would_choose: Some("999".to_string()),
            reason: "matched by userName = \"u@contoso.example\": 999".to_string(),
        }),
    }
}

/// Seeds links 1..=n (those in `stale` marked stale) and a watermark, under a lease.
async fn seed(api: &Api, job: &str, n: u128, stale: &[u128]) {
    let fence = lease(api, job, "cycle-worker").await;
    for i in 1..=n {
        let origin = if i == 1 {
            LinkOrigin::Matched {
                target_attribute: "userName".into(),
                source_attribute: "userPrincipalName".into(),
                value: "u1@contoso.example".into(),
            }
        } else {
            LinkOrigin::Created
        };
        api.sync_store
            .put_link(fence, link(job, i, origin, stale.contains(&i)))
            .await
            .expect("a link under the lease");
    }
    api.sync_store
        .set_watermark(fence, job, Some(42))
        .await
        .expect("the watermark under the lease");
    api.sync_store
        .release_lease(job, fence)
        .await
        .expect("the lease is released");
}

async fn links(api: &Api, job: &str) -> usize {
    api.sync_store
        .links(
            job,
            &LinkQuery {
                limit: 1000,
                ..LinkQuery::default()
            },
        )
        .await
        .expect("links")
        .len()
}

/// MicrosoftDocs/entra-docs `docs/identity/app-provisioning/application-provisioning-configuration-api.md`:
/// create the service principal, read the templates, create the job from `scim`, save the
/// credentials, start; microsoft-graph-docs-contrib `synchronization-synchronization-post-jobs.md`
/// and `synchronization-synchronizationjob-get.md` for the shape of a job that has never run.
#[tokio::test]
async fn microsofts_configuration_order_yields_a_running_job() {
    let api = Api::with_synchronization();
    let sp = service_principal(&api).await;

    let r = api.get(&format!("{}/templates", base(&sp))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["value"][0]["id"], "scim");
    assert_eq!(r.body["value"][0]["factoryTag"], "scim");
    assert!(r.body["value"][0]["schema"]["synchronizationRules"][0]["objectMappings"].is_array());
    let r = api.get(&format!("{}/templates/scim", base(&sp))).await;
    assert_eq!(r.status, 200, "{}", r.body);

    let r = api
        .post(
            &format!("{}/jobs", base(&sp)),
            json!({"templateId": "scim"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let job = r.id();
    let hex = job.strip_prefix("scim.").expect("a scim job id");
    assert!(
        hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit()),
        "{job}"
    );
    assert_eq!(r.body["templateId"], "scim");
    assert_eq!(
        r.body["schedule"],
        json!({"expiration": null, "interval": "P10675199DT2H48M5.4775807S", "state": "Disabled"})
    );
    assert_eq!(r.body["status"]["code"], "NotConfigured");
    assert_eq!(
        r.body["status"]["steadyStateFirstAchievedTime"],
        "0001-01-01T00:00:00Z"
    );
    assert_eq!(
        r.body["synchronizationJobSettings"],
        json!([{"name": "QuarantineTooManyDeletesThreshold", "value": "500"}])
    );
    assert!(r.header("location").is_some_and(|l| l.ends_with(&job)));

    // Starting needs a target.
    let path = format!("{}/jobs/{job}", base(&sp));
    let r = api.post(&format!("{path}/start"), json!({})).await;
    assert_graph_error(&r, 400, "Request_BadRequest", "BaseAddress");

    put_secrets(&api, &sp).await;
    let r = api.get(&path).await;
    assert_eq!(r.body["status"]["code"], "NotRun", "{}", r.body);

    let r = api.send("POST", &format!("{path}/start"), None, &[]).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = api.get(&path).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["schedule"]["state"], "Active");
    assert_eq!(r.body["schedule"]["interval"], "PT40M");
    assert_eq!(r.body["status"]["code"], "NotRun");

    // The same job under /beta, and in the list.
    let r = api.get(&format!("/beta{path}")).await;
    assert_eq!(r.body["id"], job.as_str());
    let r = api.get(&format!("{}/jobs", base(&sp))).await;
    assert_eq!(r.body["value"].as_array().map(Vec::len), Some(1));
    assert_eq!(r.body["value"][0]["id"], job.as_str());
}

/// microsoft-graph-docs-contrib `synchronization-synchronizationjob-pause.md`,
/// `…-start.md`, `…-delete.md`.
#[tokio::test]
async fn pause_start_and_delete() {
    let api = Api::with_synchronization();
    let (sp, path, job) = configured_job(&api).await;
    seed(&api, &job, 2, &[]).await;

    assert_eq!(
        api.post(&format!("{path}/start"), json!({})).await.status,
        204
    );
    assert_eq!(
        api.post(&format!("{path}/pause"), json!({})).await.status,
        204
    );
    let r = api.get(&path).await;
    assert_eq!(r.body["schedule"]["state"], "Paused");
    assert_eq!(r.body["status"]["code"], "Paused");
    assert_eq!(
        api.post(&format!("{path}/start"), json!({})).await.status,
        204
    );
    assert_eq!(api.get(&path).await.body["schedule"]["state"], "Active");

    let r = api.delete(&path).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_graph_error(&api.get(&path).await, 404, "Request_ResourceNotFound", &job);
    assert_eq!(links(&api, &job).await, 0, "deleting a job drops its links");
    assert_eq!(api.sync_store.watermark(&job).await, Ok(None));
    assert_graph_error(
        &api.delete(&path).await,
        404,
        "Request_ResourceNotFound",
        &job,
    );
    let r = api.get(&format!("{}/jobs", base(&sp))).await;
    assert_eq!(r.body["value"], json!([]));
}

/// (resetScope, links left of 3, watermark left, escrows pending, forced deletes pending)
type ResetRow = (Option<&'static str>, usize, Option<i64>, bool, bool);

/// What a restart leaves behind, per `resetScope`
/// (microsoft-graph-docs-contrib `synchronization-synchronizationjob-restart.md` and
/// `resources/synchronization-synchronizationjobrestartcriteria.md`).
#[tokio::test]
async fn each_reset_scope_clears_what_it_names() {
    let rows: &[ResetRow] = &[
        (None, 3, None, true, false),
        (Some(""), 3, None, true, false),
        (Some("None"), 3, Some(42), false, false),
        (Some("Watermark"), 3, None, false, false),
        (Some("ConnectorDataStore"), 0, Some(42), false, false),
        (Some("Escrows"), 3, Some(42), true, false),
        (Some("QuarantineState"), 3, Some(42), false, false),
        (Some("ForceDeletes"), 3, Some(42), false, true),
        (
            Some("Watermark, Escrows, QuarantineState"),
            3,
            None,
            true,
            false,
        ),
        (Some("Full"), 0, None, true, true),
    ];
    for &(scope, links_left, watermark, escrows, force_deletes) in rows {
        let api = Api::with_synchronization();
        let (_, path, job) = configured_job(&api).await;
        seed(&api, &job, 3, &[]).await;
        let body = match scope {
            Some(s) => json!({"criteria": {"resetScope": s}}),
            None => json!({}),
        };
        let r = api.post(&format!("{path}/restart"), body).await;
        assert_eq!(r.status, 204, "{scope:?}: {}", r.body);
        assert_eq!(links(&api, &job).await, links_left, "{scope:?}");
        assert_eq!(
            api.sync_store.watermark(&job).await,
            Ok(watermark),
            "{scope:?}"
        );
        let record = api
            .sync_store
            .job(&job)
            .await
            .ok()
            .flatten()
            .expect("the job");
        let pending = provisio_engine::synchronization::pending_reset(&record);
        assert_eq!(pending.escrows, escrows, "{scope:?}");
        assert_eq!(pending.force_deletes, force_deletes, "{scope:?}");
        assert!(
            !pending.watermark && !pending.connector_data_store,
            "{scope:?}: applied at once"
        );
        let r = api.get(&path).await;
        assert_eq!(
            r.body["schedule"]["state"], "Active",
            "{scope:?}: a restart runs the job"
        );
        assert!(!r.body.to_string().contains("provisio"), "{}", r.body);
    }
}

/// While a worker holds the lease, the restart's resets wait in the job for it.
#[tokio::test]
async fn a_restart_during_a_cycle_leaves_its_resets_to_the_cycle() {
    let api = Api::with_synchronization();
    let (_, path, job) = configured_job(&api).await;
    seed(&api, &job, 2, &[]).await;
    let fence = lease(&api, &job, "cycle-worker").await;
    let r = api
        .post(
            &format!("{path}/restart"),
            json!({"criteria": {"resetScope": "Full"}}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(links(&api, &job).await, 2);
    assert_eq!(api.sync_store.watermark(&job).await, Ok(Some(42)));
    let record = api
        .sync_store
        .job(&job)
        .await
        .ok()
        .flatten()
        .expect("the job");
    let pending = provisio_engine::synchronization::pending_reset(&record);
    assert!(
        pending.connector_data_store
            && pending.watermark
            && pending.escrows
            && pending.force_deletes
    );
    api.sync_store
        .release_lease(&job, fence)
        .await
        .expect("released");

    let r = api
        .post(
            &format!("{path}/restart"),
            json!({"criteria": {"resetScope": "Watermark, Bogus"}}),
        )
        .await;
    assert_graph_error(&r, 400, "Request_BadRequest", "Bogus");
}

/// MicrosoftDocs/entra-docs `docs/identity/app-provisioning/manage-object-connections.md`:
/// get by source id first, then target id; 404 when absent; delete 409 while active,
/// 204 (twice) once paused.
#[tokio::test]
async fn object_connections_by_source_or_target_id() {
    let api = Api::with_synchronization();
    let (_, path, job) = configured_job(&api).await;
    seed(&api, &job, 3, &[2]).await;
    let source = Uuid::from_u128(1).to_string();

    let r = api
        .get(&format!("{path}/objectConnections('{source}')"))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body,
        json!({
            "objectId": source, "sourceAnchor": source, "targetAnchor": "701981",
            "displayName": "User 1", "objectTypeName": "user",
            "linkedDateTime": "2026-02-01T08:00:00Z", "linkedBy": "matched",
            "matchedBy": {"targetAttribute": "userName", "sourceAttribute": "userPrincipalName", "value": "u1@contoso.example"},
            "stale": false, "staleDateTime": null, "staleReason": null, "wouldChooseTargetAnchor": null
        })
    );
    let r = api
        .get(&format!("/beta{path}/objectConnections('701982')"))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["objectId"], "701982");
    assert_eq!(r.body["sourceAnchor"], Uuid::from_u128(2).to_string());
    assert_eq!(r.body["linkedBy"], "created");
    assert_eq!(r.body["stale"], true);
    assert_eq!(r.body["wouldChooseTargetAnchor"], "999");
    let r = api
        .get(&format!("{path}/objectConnections(%27701983%27)"))
        .await;
    assert_eq!(r.body["targetAnchor"], "701983", "{}", r.body);

    let r = api
        .get(&format!("{path}/objectConnections('nobody')"))
        .await;
    assert_graph_error(&r, 404, "Request_ResourceNotFound", "nobody");

    assert_eq!(
        api.post(&format!("{path}/start"), json!({})).await.status,
        204
    );
    let r = api
        .delete(&format!("{path}/objectConnections('{source}')"))
        .await;
    assert_graph_error(&r, 409, "Conflict", "pause");
    assert_eq!(links(&api, &job).await, 3);

    assert_eq!(
        api.post(&format!("{path}/pause"), json!({})).await.status,
        204
    );
    for _ in 0..2 {
        let r = api
            .delete(&format!("{path}/objectConnections('{source}')"))
            .await;
        assert_eq!(r.status, 204, "{}", r.body);
    }
    assert_eq!(links(&api, &job).await, 2);
    let r = api
        .get(&format!("{path}/objectConnections('{source}')"))
        .await;
    assert_eq!(r.status, 404);
    // By target id too.
    let r = api
        .delete(&format!("{path}/objectConnections('701983')"))
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(links(&api, &job).await, 1);
}

/// provisio's list (Entra answers 400): `$filter`, `$top`, next links.
#[tokio::test]
async fn object_connections_list_with_filters_and_pages() {
    let api = Api::with_synchronization();
    let (_, path, job) = configured_job(&api).await;
    seed(&api, &job, 5, &[2, 4]).await;
    let anchors = |body: &Value| -> Vec<String> {
        body["value"]
            .as_array()
            .map(|v| {
                v.iter()
                    .map(|c| c["targetAnchor"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default()
    };

    let r = api.get(&format!("{path}/objectConnections?$top=2")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(anchors(&r.body), ["701981", "701982"]);
    let next = r.body["@odata.nextLink"]
        .as_str()
        .expect("a next link")
        .to_string();
    let r = api.get(&next).await;
    assert_eq!(anchors(&r.body), ["701983", "701984"]);
    let next = r.body["@odata.nextLink"]
        .as_str()
        .expect("a next link")
        .to_string();
    let r = api.get(&next).await;
    assert_eq!(anchors(&r.body), ["701985"]);
    assert!(r.body.get("@odata.nextLink").is_none(), "{}", r.body);

    let cases: &[(&str, &[&str])] = &[
        ("stale eq true", &["701982", "701984"]),
        ("stale eq false", &["701981", "701983", "701985"]),
        (
            "objectTypeName eq 'User'",
            &["701981", "701982", "701983", "701984", "701985"],
        ),
        ("objectTypeName eq 'Group'", &[]),
        (
            "stale eq true and objectTypeName eq 'user'",
            &["701982", "701984"],
        ),
    ];
    for (filter, expected) in cases {
        let r = api
            .get(&format!("{path}/objectConnections?$filter={filter}"))
            .await;
        assert_eq!(r.status, 200, "{filter}: {}", r.body);
        assert_eq!(anchors(&r.body), *expected, "{filter}");
    }
    let r = api
        .get(&format!(
            "{path}/objectConnections?$filter=stale eq true&$top=1"
        ))
        .await;
    assert_eq!(anchors(&r.body), ["701982"]);
    let r = api
        .get(r.body["@odata.nextLink"].as_str().expect("a next link"))
        .await;
    assert_eq!(anchors(&r.body), ["701984"]);

    for (query, message) in [
        ("$filter=displayName eq 'x'", "Unsupported filter clause"),
        ("$top=0", "Invalid $top"),
        ("$skiptoken=zzz", "Invalid $skiptoken"),
        ("$orderby=stale", "not supported"),
    ] {
        let r = api.get(&format!("{path}/objectConnections?{query}")).await;
        assert_graph_error(&r, 400, "Request_BadRequest", message);
    }
}

/// microsoft-graph-docs-contrib `synchronization-synchronizationschema-get.md` and
/// `…-update.md`: the schema round-trips; provisio refuses one that does not compile,
/// naming the mapping, and bumps the version of one it keeps.
#[tokio::test]
async fn schema_put_validates_and_versions() {
    let api = Api::with_synchronization();
    let (_, path, job) = configured_job(&api).await;
    seed(&api, &job, 1, &[]).await;
    let r = api.get(&format!("{path}/schema")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["version"], "1");
    let mut schema = r.body.clone();

    let r = api.put(&format!("{path}/schema"), schema.clone()).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(
        api.get(&format!("{path}/schema")).await.body["version"],
        "2"
    );
    assert_eq!(
        api.sync_store.watermark(&job).await,
        Ok(None),
        "the next cycle evaluates every object under the new schema"
    );

    let mapping = &mut schema["synchronizationRules"][0]["objectMappings"][0];
    mapping["attributeMappings"][0]["source"] = json!({"type": "Function", "name": "Frobnicate", "expression": "Frobnicate([mail])", "parameters": []});
    let r = api.put(&format!("{path}/schema"), schema.clone()).await;
    assert_graph_error(
        &r,
        400,
        "Request_BadRequest",
        "Provision Microsoft Entra ID Users",
    );
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("userName"),
        "{}",
        r.body
    );

    let mut schema = api.get(&format!("{path}/schema")).await.body;
    schema["synchronizationRules"][0]["objectMappings"][1]["scope"] = json!({"groups": [{"name": "g", "clauses": [
        {"operatorName": "SOUNDS_LIKE", "sourceOperandName": "displayName", "targetOperand": {"values": ["x"]}}]}]});
    let r = api.put(&format!("{path}/schema"), schema).await;
    assert_graph_error(&r, 400, "Request_BadRequest", "SOUNDS_LIKE");
    assert_eq!(
        api.get(&format!("{path}/schema")).await.body["version"],
        "2",
        "refused schemas change nothing"
    );

    let r = api
        .put(
            &format!("{path}/schema"),
            json!({"synchronizationRules": "no"}),
        )
        .await;
    assert_graph_error(&r, 400, "Request_BadRequest", "synchronizationSchema");
}

/// microsoft-graph-docs-contrib `synchronization-synchronizationschema-functions.md` and
/// `…-filteroperators.md`.
#[tokio::test]
async fn functions_and_filter_operators() {
    let api = Api::with_synchronization();
    let (_, path, _) = configured_job(&api).await;
    let r = api.get(&format!("{path}/schema/functions")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let names: Vec<&str> = r.body["value"]
        .as_array()
        .map(|v| v.iter().filter_map(|f| f["name"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        names.contains(&"Append") && names.contains(&"Switch"),
        "{names:?}"
    );
    let r = api.get(&format!("{path}/schema/filterOperators")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let equals = r.body["value"]
        .as_array()
        .and_then(|v| v.iter().find(|o| o["name"] == "EQUALS"))
        .cloned();
    assert_eq!(
        equals.map(|e| e["arity"].clone()),
        Some(json!("Binary")),
        "{}",
        r.body
    );
}

/// microsoft-graph-docs-contrib `synchronization-synchronizationschema-parseexpression.md`:
/// the page's example (its request body, with the keys quoted as JSON needs), and a
/// failure.
#[tokio::test]
async fn parse_expression_as_the_page_shows() {
    let api = Api::with_synchronization();
    let (_, path, _) = configured_job(&api).await;
    let r = api
        .post(
            &format!("{path}/schema/parseExpression"),
            json!({
                "expression": "Replace([preferredLanguage], \"-\", , , \"_\", ,  )",
                "targetAttributeDefinition": null,
                "testInputObject": {"definition": null, "properties": [
                    {"key": "objectId", "value": "66E4A8CC-1B7B-435E-95F8-F06CEA133828"},
                    {"key": "displayName", "value": "John Smith"},
                    {"key": "preferredLanguage", "value": "EN-US"},
                    {"key": "appRoleAssignments", "value@odata.type": "#Collection(String)", "value": ["Default Assignment"]}
                ]}
            }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["error"], Value::Null);
    assert_eq!(r.body["parsingSucceeded"], true);
    assert_eq!(r.body["evaluationSucceeded"], true);
    assert_eq!(r.body["evaluationResult"], json!(["EN_US"]));
    assert_eq!(r.body["parsedExpression"]["type"], "Function");
    assert_eq!(r.body["parsedExpression"]["name"], "Replace");
    assert_eq!(
        r.body["parsedExpression"]["parameters"][0]["value"],
        json!({"expression": "[preferredLanguage]", "name": "preferredLanguage", "parameters": [], "type": "Attribute"})
    );

    let r = api
        .post(
            &format!("{path}/schema/parseExpression"),
            json!({"expression": "Join(\" \", [givenName]"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["parsingSucceeded"], false);
    assert_eq!(r.body["evaluationSucceeded"], false);
    assert!(r.body["error"]["message"].is_string(), "{}", r.body);

    let r = api
        .post(
            &format!("{path}/schema/parseExpression"),
            json!({"expression": "ToUpper([mail])"}),
        )
        .await;
    assert_eq!(r.body["parsingSucceeded"], true, "{}", r.body);
    assert_eq!(
        r.body["evaluationResult"],
        Value::Null,
        "no test object, no evaluation"
    );
}

/// `PATCH …/jobs/{id}` sets `schedule.interval`, beyond Entra (whose schedule is read-only).
#[tokio::test]
async fn the_interval_is_patched_and_validated() {
    let api = Api::with_synchronization();
    let (_, path, _) = configured_job(&api).await;
    let r = api
        .patch(&path, json!({"schedule": {"interval": "PT5M"}}))
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(
        api.post(&format!("{path}/start"), json!({})).await.status,
        204
    );
    assert_eq!(
        api.get(&path).await.body["schedule"]["interval"],
        "PT5M",
        "start keeps a set interval"
    );

    let refused = [
        (
            json!({"schedule": {"interval": "PT30S"}}),
            "minimum of PT1M",
        ),
        (json!({"schedule": {"interval": "P1M"}}), "years and months"),
        (json!({"schedule": {"interval": 40}}), "ISO 8601"),
        (json!({"schedule": {"state": "Active"}}), "schedule.state"),
        (json!({"templateId": "other"}), "templateId"),
    ];
    for (body, message) in refused {
        let r = api.patch(&path, body.clone()).await;
        assert_graph_error(&r, 400, "Request_BadRequest", message);
    }
    assert_eq!(api.get(&path).await.body["schedule"]["interval"], "PT5M");
}

/// `PUT …/secrets` (microsoft-graph-docs-contrib
/// `api-reference/beta/api/synchronization-serviceprincipal-put-synchronization.md`):
/// keys from `synchronizationSecret`; values are sealed and no endpoint returns them.
#[tokio::test]
async fn secrets_are_sealed_and_never_echoed() {
    let api = Api::with_synchronization();
    let (sp, path, job) = configured_job(&api).await;
    seed(&api, &job, 2, &[]).await;

    let r = api
        .put(
            &format!("{}/secrets", base(&sp)),
            json!({"value": [{"key": "BaseAddress", "value": BASE_ADDRESS}, {"key": "SecretTokn", "value": TOKEN_VALUE}]}),
        )
        .await;
    assert_graph_error(&r, 400, "Request_BadRequest", "'SecretTokn'");
    let r = api
        .put(
            &format!("{}/secrets", base(&sp)),
            json!({"value": [{"key": "SecretToken", "value": 7}]}),
        )
        .await;
    assert_eq!(r.status, 400);

    let sp_id = Uuid::parse_str(&sp).expect("a GUID");
    let sealed = api
        .sync_store
        .secrets(sp_id)
        .await
        .ok()
        .flatten()
        .expect("sealed secrets");
    assert!(!sealed
        .windows(TOKEN_VALUE.len())
        .any(|w| w == TOKEN_VALUE.as_bytes()));

    let mut bodies = Vec::new();
    for get in [
        path.clone(),
        format!("{}/jobs", base(&sp)),
        format!("{path}/schema"),
        format!("{}/templates", base(&sp)),
        format!("{path}/objectConnections"),
        format!("{path}/objectConnections('{}')", Uuid::from_u128(1)),
        format!("/servicePrincipals/{sp}"),
        "/openapi.json".to_string(),
    ] {
        let r = api.get(&get).await;
        assert_eq!(r.status, 200, "{get}: {}", r.body);
        bodies.push(r.body.to_string());
    }
    for r in [
        api.post(
            &format!("{path}/restart"),
            json!({"criteria": {"resetScope": "Nonsense"}}),
        )
        .await,
        api.patch(&path, json!({"schedule": {"interval": "soon"}}))
            .await,
        api.post(&format!("{path}/start"), json!({})).await,
    ] {
        bodies.push(r.body.to_string());
    }
    for body in &bodies {
        assert!(!body.contains(TOKEN_VALUE), "a secret leaked: {body}");
    }
}

/// Errors in Graph's shape; the area answers 501 on a server built without it.
#[tokio::test]
async fn errors_name_what_is_wrong() {
    let api = Api::with_synchronization();
    let sp = service_principal(&api).await;
    let missing = Uuid::from_u128(77);
    let cases = [
        (
            format!("/servicePrincipals/{missing}/synchronization/jobs"),
            404,
            "Request_ResourceNotFound",
            missing.to_string(),
        ),
        (
            "/servicePrincipals/not-a-guid/synchronization/jobs".to_string(),
            400,
            "Request_BadRequest",
            "not-a-guid".to_string(),
        ),
        (
            format!("{}/jobs/scim.0000", base(&sp)),
            404,
            "Request_ResourceNotFound",
            "scim.0000".to_string(),
        ),
        (
            format!("{}/templates/salesforce", base(&sp)),
            404,
            "Request_ResourceNotFound",
            "salesforce".to_string(),
        ),
    ];
    for (path, status, code, message) in cases {
        assert_graph_error(&api.get(&path).await, status, code, &message);
    }
    let r = api
        .post(
            &format!("{}/jobs", base(&sp)),
            json!({"templateId": "salesforce"}),
        )
        .await;
    assert_graph_error(&r, 400, "Request_BadRequest", "salesforce");
    let r = api.post(&format!("{}/jobs", base(&sp)), json!({})).await;
    assert_graph_error(&r, 400, "Request_BadRequest", "templateId");

    // A job of another service principal is not found under this one.
    let (_, _, job) = configured_job(&api).await;
    let r = api.get(&format!("{}/jobs/{job}", base(&sp))).await;
    assert_graph_error(&r, 404, "Request_ResourceNotFound", &job);

    let plain = Api::new();
    let sp = service_principal(&plain).await;
    let r = plain.get(&format!("{}/jobs", base(&sp))).await;
    assert_graph_error(&r, 501, "NotImplemented", "not enabled");
}
