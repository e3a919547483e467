//! Provisioning end to end: `provisio serve` runs a job that exports to a separate
//! `provisio scim-server` process over HTTP, driven only through the Graph API as an Entra
//! admin's script would drive Entra (`application-provisioning-configuration-api.md` in
//! `MicrosoftDocs/entra-docs`: templates, jobs, secrets, start, status, logs).

mod common;

use common::provisioning::{eventually, world};
use common::TOKEN;
use serde_json::{json, Value};

#[tokio::test]
async fn a_job_keeps_a_separate_scim_server_in_step_with_the_directory() {
    let w = world().await;
    let ann = w.user("ann", "ann").await;
    let assignment = w.assign(&ann).await;
    let job = w.job().await;

    // validateCredentials: the saved ones pass; a wrong token is a 400 that says what the
    // target answered.
    let validate = w.sync(&format!("/jobs/{job}/validateCredentials"));
    let r = w
        .graph
        .post(&validate, json!({"useSavedCredentials": true}))
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = w
        .graph
        .post(
            &validate,
            json!({"credentials": [{"key": "SecretToken", "value": "wrong-token"}]}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    let message = r.body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("401"), "{message}");
    let r = w
        .graph
        .post(
            &validate,
            json!({"credentials": [
                {"key": "BaseAddress", "value": format!("{}/nothing-here", w.scim_url)},
                {"key": "SecretToken", "value": TOKEN}
            ]}),
        )
        .await;
    assert_eq!(r.status, 400, "a URL that is no SCIM endpoint: {}", r.body);

    w.start(&job).await;
    let account = w
        .target_user("ann@contoso.test", |u| u["active"] == true)
        .await;
    assert_eq!(account["externalId"], "ann");

    // The job's status, in Entra's shape.
    let status = eventually("a recorded cycle", || async {
        let r = w.graph.get(&w.sync(&format!("/jobs/{job}"))).await;
        let status = r.body["status"].clone();
        (status["lastExecution"]["state"] == "Succeeded").then_some(status)
    })
    .await;
    assert_eq!(status["code"], "Active", "{status}");
    assert!(
        status["lastSuccessfulExecutionWithExports"].is_object(),
        "{status}"
    );

    // An attribute change reaches the target within seconds (the interval is 40 minutes).
    let r = w
        .graph
        .patch("/users/ann@contoso.test", json!({"department": "Finance"}))
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    w.target_user("ann@contoso.test", |u| {
        u[common::ENTERPRISE]["department"] == "Finance" || u["department"] == "Finance"
    })
    .await;

    // Unassignment disables the account.
    let r = w
        .graph
        .delete(&format!(
            "/servicePrincipals/{}/appRoleAssignedTo/{assignment}",
            w.sp
        ))
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    w.target_user("ann@contoso.test", |u| u["active"] == false)
        .await;

    // The link is listed with its provenance, and the log has rows for the job.
    let links = w.connections(&job, "").await;
    assert_eq!(links.len(), 1, "{links:?}");
    assert_eq!(links[0]["sourceAnchor"], ann.as_str());
    assert_eq!(links[0]["linkedBy"], "created");
    let r = w
        .graph
        .get(&format!(
            "/auditLogs/provisioning?$filter=jobId eq '{job}' and provisioningAction eq 'create'"
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["value"][0]["sourceIdentity"]["id"], ann.as_str());
    assert_eq!(
        r.body["value"][0]["provisioningStatusInfo"]["status"],
        "success"
    );

    // A Full restart forgets the link; the next cycle matches the account again rather
    // than creating a second one.
    let r = w
        .graph
        .post(
            &w.sync(&format!("/jobs/{job}/restart")),
            json!({"criteria": {"resetScope": "Full"}}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = w
        .scim
        .get("/Users?filter=userName%20eq%20%22ann@contoso.test%22")
        .await;
    assert_eq!(r.body["totalResults"], 1, "no duplicate: {}", r.body);
}

/// The story that started this project: a matching rule that puts `externalId` first links
/// Ann to an old account; fixing the rule and a plain restart leave that link (as in
/// Entra), but provisio lists it as stale; deleting that one link while the job is paused
/// makes the next cycle link Ann to her own account, and nothing else changes.
#[tokio::test]
async fn the_wrong_link_is_listed_as_stale_and_repaired_one_object_at_a_time() {
    let w = world().await;
    // The target already holds Ann's account and an old account whose externalId is her
    // mailNickname.
    let own = w
        .scim
        .post(
            "/Users",
            json!({"schemas": [common::USER], "userName": "ann@contoso.test"}),
        )
        .await;
    assert_eq!(own.status, 201, "{}", own.body);
    let own = own.body["id"].as_str().expect("id").to_string();
    let old = w
        .scim
        .post(
            "/Users",
            json!({"schemas": [common::USER], "userName": "a.old@legacy.test", "externalId": "ann"}),
        )
        .await;
    assert_eq!(old.status, 201, "{}", old.body);
    let old = old.body["id"].as_str().expect("id").to_string();

    let ann = w.user("ann", "ann").await;
    w.assign(&ann).await;
    let job = w.job().await;
    let schema_path = w.sync(&format!("/jobs/{job}/schema"));
    let schema = w.graph.get(&schema_path).await.body;
    let reprioritised = |schema: &Value, external_id: i64, user_name: i64| {
        let mut schema = schema.clone();
        for rule in schema["synchronizationRules"]
            .as_array_mut()
            .into_iter()
            .flatten()
        {
            for mapping in rule["objectMappings"].as_array_mut().into_iter().flatten() {
                let users = mapping["targetObjectName"] == "User";
                for attribute in mapping["attributeMappings"]
                    .as_array_mut()
                    .into_iter()
                    .flatten()
                {
                    match attribute["targetAttributeName"].as_str() {
                        Some("externalId") if users => {
                            attribute["matchingPriority"] = json!(external_id)
                        }
                        Some("userName") => attribute["matchingPriority"] = json!(user_name),
                        _ => {}
                    }
                }
            }
        }
        schema
    };
    let r = w
        .graph
        .put(&schema_path, reprioritised(&schema, 1, 2))
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    w.start(&job).await;

    // Ann is linked to the old account, and the listing says why.
    let link = eventually("Ann's link", || async {
        w.connections(&job, "").await.into_iter().next()
    })
    .await;
    assert_eq!(link["targetAnchor"], old.as_str(), "{link}");
    assert_eq!(link["linkedBy"], "matched");
    assert_eq!(link["matchedBy"]["targetAttribute"], "externalId");
    assert_eq!(link["matchedBy"]["value"], "ann");

    // The rule is fixed and the job restarted as Entra's portal does: the link stays, now
    // listed as stale, with the account the rules would choose.
    let fixed = w.graph.get(&schema_path).await.body;
    let r = w.graph.put(&schema_path, reprioritised(&fixed, 2, 1)).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = w
        .graph
        .post(
            &w.sync(&format!("/jobs/{job}/restart")),
            json!({"criteria": {}}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let stale = eventually("the stale link", || async {
        w.connections(&job, "?$filter=stale eq true")
            .await
            .into_iter()
            .next()
    })
    .await;
    assert_eq!(stale["targetAnchor"], old.as_str(), "{stale}");
    assert_eq!(stale["wouldChooseTargetAnchor"], own.as_str(), "{stale}");

    // Deleting the link is refused while the job runs, and done while it is paused.
    let connection = w.sync(&format!("/jobs/{job}/objectConnections('{ann}')"));
    let r = w.graph.delete(&connection).await;
    assert_eq!(r.status, 409, "{}", r.body);
    let r = w
        .graph
        .send("POST", &w.sync(&format!("/jobs/{job}/pause")), None, &[])
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = w.graph.delete(&connection).await;
    assert_eq!(r.status, 204, "{}", r.body);
    w.start(&job).await;
    let relinked = eventually("Ann linked to her own account", || async {
        let link = w.connections(&job, "").await.into_iter().next()?;
        (link["targetAnchor"] == own.as_str()).then_some(link)
    })
    .await;
    assert_eq!(relinked["linkedBy"], "matched");
    assert_eq!(relinked["matchedBy"]["targetAttribute"], "userName");
    let r = w.scim.get("/Users?count=10").await;
    assert_eq!(
        r.body["totalResults"], 2,
        "no account was created: {}",
        r.body
    );
}
