//! Okta's SCIM 2.0 spec test (../shared/docs/conformance.md), ported as a checklist against the
//! real binary, on SQLite and (when TEST_DATABASE_URL is set) on PostgreSQL.

mod common;

use common::*;
use serde_json::json;

async fn okta_checklist(server: &Server) {
    let c = server.fresh_tenant_client();
    // Seed: one user with a name and an email.
    let seeded = c
        .post(
            "/Users",
            json!({
                "schemas": [USER],
                "userName": "okta.seed@example.com",
                "name": {"givenName": "Okta", "familyName": "Seed"},
                "emails": [{"value": "okta.seed@example.com", "type": "work", "primary": true}],
                "active": true
            }),
        )
        .await;
    assert_eq!(seeded.status, 201, "{}", seeded.body);
    let id = seeded.body["id"].as_str().expect("id").to_string();

    // 1. GET /Users?count=1&startIndex=1: a ListResponse with the paging fields and one resource.
    let r = c.get("/Users?count=1&startIndex=1").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"])
    );
    assert!(r.body["totalResults"].as_u64().is_some_and(|n| n >= 1));
    assert_eq!(r.body["itemsPerPage"], 1);
    assert_eq!(r.body["startIndex"], 1);
    assert_eq!(r.body["Resources"].as_array().map(Vec::len), Some(1));

    // 2. GET /Users/{id}: the same id, userName, name, emails.
    let r = c.get(&format!("/Users/{id}")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["id"], id.as_str());
    assert_eq!(r.body["userName"], "okta.seed@example.com");
    assert_eq!(r.body["name"]["familyName"], "Seed");
    assert_eq!(r.body["emails"][0]["value"], "okta.seed@example.com");

    // 3. Filter on an unknown userName: 200 with zero results.
    let r = c
        .get("/Users?filter=userName%20eq%20%22nobody-here%40example.com%22")
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["totalResults"], 0);

    // 4. Unknown id: 404 with the SCIM error schema and status "404".
    let r = c.get("/Users/00000000-0000-0000-0000-000000000000").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body["schemas"], json!([ERROR]));
    assert_eq!(r.body["status"], "404");

    // 5. POST a new user: 201 with id and meta.location; again: 409 uniqueness.
    let new_user = json!({
        "schemas": [USER], "userName": "Okta.New@Example.com",
        "name": {"givenName": "New", "familyName": "User"},
        "emails": [{"value": "okta.new@example.com", "type": "work", "primary": true}],
        "active": true
    });
    let r = c.post("/Users", new_user.clone()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.body["id"].is_string());
    let location = r.body["meta"]["location"].as_str().expect("meta.location");
    assert!(location.ends_with(r.body["id"].as_str().unwrap_or("?")));
    let again = c.post("/Users", new_user).await;
    assert_eq!(again.status, 409);
    assert_eq!(again.body["scimType"], "uniqueness");

    // 6. The new user's name in other letter case finds it.
    let r = c
        .get("/Users?filter=userName%20eq%20%22okta.NEW%40example.COM%22")
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["totalResults"], 1);
    assert_eq!(r.body["Resources"][0]["userName"], "Okta.New@Example.com");

    // 7. GET /Groups with many groups answers, members not expanded unless asked.
    for i in 0..60 {
        let g = c
            .post(
                "/Groups",
                json!({"schemas": [GROUP], "displayName": format!("okta-group-{i}"),
                                    "members": [{"value": id}]}),
            )
            .await;
        assert_eq!(g.status, 201, "{}", g.body);
    }
    let r = c.get("/Groups?excludedAttributes=members").await;
    assert_eq!(r.status, 200);
    assert!(r.body["totalResults"].as_u64().is_some_and(|n| n >= 60));
    assert!(r.body["Resources"]
        .as_array()
        .is_some_and(|a| a.iter().all(|g| g.get("members").is_none())));

    // 8. A wrong bearer token: 401 with a SCIM error body.
    let r = c
        .http
        .get(format!("{}/Users", c.scim))
        .header("Authorization", "Bearer wrong")
        .send()
        .await
        .expect("request");
    assert_eq!(r.status().as_u16(), 401);
    let body: serde_json::Value = r.json().await.expect("json error body");
    assert_eq!(body["schemas"], json!([ERROR]));
    assert_eq!(body["status"], "401");
}

#[tokio::test]
async fn okta_checklist_on_sqlite() {
    let server = Server::start(&[]);
    okta_checklist(&server).await;
}

#[tokio::test]
async fn okta_checklist_on_postgres() {
    let Some(url) = postgres_url() else { return };
    let server = Server::start(&["--database-url", &url]);
    okta_checklist(&server).await;
}
