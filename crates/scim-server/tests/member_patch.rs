//! A PATCH that only adds or removes group members, through the router: the response
//! leaves members out when the client projects them out, is a 204 with an ETag when it asks
//! for no body, and is the whole group otherwise.

mod common;

use axum::http::StatusCode;
use axum::Router;
use serde_json::{json, Value};

const TOKEN: &str = "member-patch-token";

async fn server() -> (Router, tempfile::TempDir) {
    common::server(TOKEN).await
}

/// Status, ETag header and JSON body (Null when empty).
async fn send(
    app: &Router,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (StatusCode, Option<String>, Value) {
    common::send(app, TOKEN, method, uri, headers, body).await
}

fn add_member(id: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": id}]}]
    })
}

fn member_ids(group: &Value) -> Vec<String> {
    let mut ids: Vec<String> = group["members"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|m| m["value"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

#[tokio::test]
async fn member_patch_responses_show_what_the_client_asked_for() {
    let (app, _dir) = server().await;
    let user =
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ann"});
    let (status, _, ann) = send(&app, "POST", "/scim/v2/Users", &[], Some(user)).await;
    assert_eq!(status, StatusCode::CREATED, "{ann}");
    let ann = ann["id"].as_str().expect("id").to_string();
    let group = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Staff",
        "members": [{"value": "first"}]
    });
    let (status, _, created) = send(&app, "POST", "/scim/v2/Groups", &[], Some(group)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let url = format!("/scim/v2/Groups/{}", created["id"].as_str().expect("id"));

    // Members projected out: the group without them, at its new version.
    let (status, etag, body) = send(
        &app,
        "PATCH",
        &format!("{url}?excludedAttributes=members"),
        &[],
        Some(add_member("second")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("members").is_none(), "{body}");
    assert_eq!(body["displayName"], "Staff");
    assert_eq!(body["meta"]["version"], "W/\"2\"");
    assert_eq!(etag.as_deref(), Some("W/\"2\""));

    // No body asked for: 204 with the new version's ETag.
    let (status, etag, body) = send(
        &app,
        "PATCH",
        &url,
        &[("Prefer", "return=minimal")],
        Some(add_member(&ann)),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(body, Value::Null);
    assert_eq!(etag.as_deref(), Some("W/\"3\""));

    // Otherwise the whole group, members with their display, type and $ref.
    let remove = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "remove", "path": "members[value eq \"first\"]"}]
    });
    let (status, etag, body) = send(&app, "PATCH", &url, &[], Some(remove)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(etag.as_deref(), Some("W/\"4\""));
    let mut expected = vec![ann.clone(), "second".to_string()];
    expected.sort();
    assert_eq!(member_ids(&body), expected, "{body}");
    let listed = body["members"]
        .as_array()
        .and_then(|items| items.iter().find(|m| m["value"] == ann.as_str()))
        .cloned()
        .expect("ann listed");
    assert_eq!(listed["type"], "User");
    assert_eq!(
        listed["$ref"],
        format!("http://scim.test/scim/v2/Users/{ann}")
    );
    let (_, _, read) = send(&app, "GET", &url, &[], None).await;
    assert_eq!(member_ids(&read), expected, "GET shows what PATCH answered");

    // Adding a member again changes nothing: the same version.
    let (status, etag, _) = send(
        &app,
        "PATCH",
        &url,
        &[("Prefer", "return=minimal")],
        Some(add_member("second")),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(etag.as_deref(), Some("W/\"4\""));
}
