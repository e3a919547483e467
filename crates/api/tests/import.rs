//! The import endpoint with small JSON Lines bodies, answered in memory: what it counts,
//! the lines it names, dry runs, and the references it sets.

mod common;

use common::{Api, TOKEN};
use serde_json::{json, Value};

async fn import(api: &Api, query: &str, lines: &[Value]) -> Value {
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let bearer = format!("Bearer {TOKEN}");
    let r = api
        .raw(
            "POST",
            &format!("/admin/directory/import{query}"),
            Some(&bearer),
            Some(body),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

fn people() -> Vec<Value> {
    vec![
        json!({"userPrincipalName": "boss@import.example", "displayName": "Boss"}),
        json!({"userPrincipalName": "ann@import.example", "displayName": "Ann",
               "manager": "boss@import.example"}),
        json!({"userPrincipalName": "bad@import.example", "displayName": "Bad",
               "accountEnabled": "maybe"}),
        json!({"@odata.type": "#microsoft.graph.group", "displayName": "Team",
               "mailNickname": "team", "members": ["ann@import.example", "ghost@import.example"]}),
    ]
}

#[tokio::test]
async fn an_import_counts_writes_and_names_bad_lines() {
    let api = Api::new();
    let report = import(&api, "", &people()).await;
    assert_eq!(
        report,
        json!({"dryRun": false, "records": 4, "created": 3, "updated": 0, "unchanged": 0,
               "failed": 1, "notFound": 1,
               "errors": [
                   {"line": 3, "message": "Invalid value specified for property 'accountEnabled' of resource 'User'."},
                   {"line": 4, "message": "member 'ghost@import.example' not found"}],
               "errorsOmitted": 0})
    );
    let ann = api
        .get("/users?$filter=userPrincipalName eq 'ann@import.example'&$select=id")
        .await;
    let ann = ann.body["value"][0]["id"].as_str().expect("id").to_string();
    let manager = api
        .get(&format!("/users/{ann}/manager?$select=displayName"))
        .await;
    assert_eq!(manager.body["displayName"], "Boss");
    let team = api.get("/groups?$filter=mailNickname eq 'team'").await;
    let team = team.body["value"][0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let members = api.get(&format!("/groups/{team}/members")).await;
    assert_eq!(members.body["value"][0]["id"], ann);
    assert_eq!(members.body["value"].as_array().map(Vec::len), Some(1));

    // The same file again changes nothing; a changed title is an update.
    let again = import(&api, "", &people()[..2]).await;
    assert_eq!(again["created"], 0, "{again}");
    assert_eq!(again["unchanged"], 2, "{again}");
    let changed = import(
        &api,
        "",
        &[json!({"userPrincipalName": "ANN@import.example", "displayName": "Ann", "jobTitle": "Lead"})],
    )
    .await;
    assert_eq!(changed["updated"], 1, "{changed}");
    let got = api.get(&format!("/users/{ann}?$select=jobTitle")).await;
    assert_eq!(got.body["jobTitle"], "Lead");
}

#[tokio::test]
async fn a_dry_run_reports_the_same_and_writes_nothing() {
    let api = Api::new();
    let dry = import(&api, "?dryRun=true", &people()).await;
    assert_eq!(dry["dryRun"], true);
    for (counter, expected) in [
        ("records", 4),
        ("created", 3),
        ("failed", 1),
        ("notFound", 1),
    ] {
        assert_eq!(dry[counter], expected, "{counter}: {dry}");
    }
    assert_eq!(api.get("/users/$count").await.body, json!(0));
    let log = api.get("/admin/directory/changes?after=0").await;
    assert_eq!(log.body["value"], json!([]));
}

#[tokio::test]
async fn groups_are_the_default_type_when_asked() {
    let api = Api::new();
    let report = import(
        &api,
        "?type=group",
        &[
            json!({"displayName": "Ops", "mailNickname": "ops"}),
            json!({"displayName": "x", "userPrincipalName": "x@y.z"}),
        ],
    )
    .await;
    assert_eq!(report["created"], 1, "{report}");
    assert_eq!(report["failed"], 1, "{report}");
    assert_eq!(api.get("/groups/$count").await.body, json!(1));
}
