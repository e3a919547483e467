//! Harmless leniencies that Microsoft's SCIM reference implementation has and that clients
//! written against it (its SCIM validator collection among them) rely on, driven through the
//! router with `oneshot`: endpoint names in any letter case, a trailing slash, value paths in
//! `attributes`; and `$ref` URIs that are valid whatever the member id.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use serde_json::{json, Value};
use tower::ServiceExt;

const TOKEN: &str = "lenient-token";

async fn server() -> (Router, tempfile::TempDir) {
    common::server(TOKEN).await
}

async fn send(app: &Router, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
    let (status, _, json) = common::send(app, TOKEN, method, uri, &[], body).await;
    (status, json)
}

fn user(name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": name,
        "emails": [
            {"type": "work", "value": format!("{name}@work.example")},
            {"type": "home", "value": format!("{name}@home.example")}
        ]
    })
}

#[tokio::test]
async fn endpoint_names_match_in_any_case_and_with_a_trailing_slash() {
    let (app, _dir) = server().await;
    let (status, created) = send(&app, "POST", "/scim/v2/users", Some(user("ann"))).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().expect("id").to_string();
    assert_eq!(
        created["meta"]["location"],
        format!("http://scim.test/scim/v2/Users/{id}"),
        "locations keep the canonical spelling"
    );
    let filter = "filter=userName%20eq%20%22ann%22";
    // (method, path, expected status, what the answer must show)
    let cases: Vec<(&str, String, StatusCode, &str)> = vec![
        (
            "GET",
            format!("/scim/v2/Users/?{filter}"),
            StatusCode::OK,
            "totalResults=1",
        ),
        (
            "GET",
            format!("/scim/v2/users?{filter}"),
            StatusCode::OK,
            "totalResults=1",
        ),
        (
            "GET",
            format!("/scim/v2/USERS/?{filter}"),
            StatusCode::OK,
            "totalResults=1",
        ),
        ("GET", format!("/scim/v2/users/{id}"), StatusCode::OK, "id"),
        ("GET", format!("/scim/v2/Users/{id}/"), StatusCode::OK, "id"),
        (
            "GET",
            "/scim/v2/groups".to_string(),
            StatusCode::OK,
            "totalResults=0",
        ),
        (
            "GET",
            "/scim/v2/schemas".to_string(),
            StatusCode::OK,
            "Resources",
        ),
        (
            "GET",
            "/scim/v2/resourcetypes/".to_string(),
            StatusCode::OK,
            "Resources",
        ),
        (
            "GET",
            "/scim/v2/serviceproviderconfig".to_string(),
            StatusCode::OK,
            "patch",
        ),
        (
            "POST",
            "/scim/v2/users/.SEARCH".to_string(),
            StatusCode::OK,
            "totalResults=1",
        ),
        (
            "GET",
            "/tenants/t1/scim/v2/users".to_string(),
            StatusCode::OK,
            "totalResults=0",
        ),
        // Ids keep their case, and what is no endpoint stays a SCIM 404.
        (
            "GET",
            format!("/scim/v2/Users/{}", id.to_uppercase()),
            StatusCode::NOT_FOUND,
            "404",
        ),
        (
            "GET",
            "/scim/v2/Robots".to_string(),
            StatusCode::NOT_FOUND,
            "404",
        ),
        (
            "GET",
            "/scim/v2/users/a/b".to_string(),
            StatusCode::NOT_FOUND,
            "404",
        ),
    ];
    for (method, path, expected, shows) in cases {
        let body = (method == "POST").then(|| {
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                "filter": "userName eq \"ann\""
            })
        });
        let (status, answer) = send(&app, method, &path, body).await;
        assert_eq!(status, expected, "{method} {path}: {answer}");
        match shows.split_once('=') {
            Some((key, value)) => assert_eq!(answer[key].to_string(), value, "{path}: {answer}"),
            None if shows == "404" => assert_eq!(answer["status"], "404", "{path}: {answer}"),
            None => assert!(
                answer.get(shows).is_some(),
                "{path} lacks {shows}: {answer}"
            ),
        }
    }
}

#[tokio::test]
async fn lowercase_paths_still_need_the_token() {
    let (app, _dir) = server().await;
    let request = Request::builder()
        .uri("/scim/v2/users")
        .header("Authorization", "Bearer wrong")
        .body(Body::empty())
        .expect("request");
    let response = app.oneshot(request).await.expect("response");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn value_paths_in_attributes_name_their_attribute() {
    let (app, _dir) = server().await;
    let (_, created) = send(&app, "POST", "/scim/v2/Users", Some(user("bob"))).await;
    let id = created["id"].as_str().expect("id");
    // (attributes parameter, attributes the answer has besides id and schemas)
    let cases: &[(&str, &[&str])] = &[
        ("emails%5Btype%20eq%20%22work%22%5D", &["emails"]),
        ("emails%5Btype%20eq%20%22work%22%5D.value", &["emails"]),
        (
            "userName,emails%5Btype%20eq%20%22a,b%22%5D",
            &["emails", "userName"],
        ),
    ];
    for (attributes, expected) in cases {
        let (status, answer) = send(
            &app,
            "GET",
            &format!("/scim/v2/Users/{id}?attributes={attributes}"),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{attributes}: {answer}");
        let mut names: Vec<&str> = answer
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .filter(|k| !["id", "schemas"].contains(k))
            .collect();
        names.sort_unstable();
        assert_eq!(names, *expected, "{attributes}: {answer}");
    }
    let (status, answer) = send(
        &app,
        "GET",
        &format!("/scim/v2/Users/{id}?attributes=emails%5Btype%20eq"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["scimType"], "invalidValue", "{answer}");
}

#[tokio::test]
async fn member_refs_are_valid_uris_and_unknown_members_get_no_type() {
    let (app, _dir) = server().await;
    let (_, ann) = send(&app, "POST", "/scim/v2/Users", Some(user("ann"))).await;
    let ann_id = ann["id"].as_str().expect("id").to_string();
    let group = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Odd ids",
        "members": [
            {"value": ann_id},
            {"value": "a/b?c#d", "type": "User"},
            {"value": "with space"}
        ]
    });
    let (status, created) = send(&app, "POST", "/scim/v2/Groups", Some(group)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().expect("id");
    let (_, read) = send(&app, "GET", &format!("/scim/v2/Groups/{id}"), None).await;
    let members = read["members"].as_array().expect("members");
    let find = |value: &str| {
        members
            .iter()
            .find(|m| m["value"] == value)
            .unwrap_or_else(|| panic!("{value} in {members:?}"))
    };
    assert_eq!(
        find(&ann_id),
        &json!({
            "value": ann_id,
            "type": "User",
            "$ref": format!("http://scim.test/scim/v2/Users/{ann_id}")
        })
    );
    assert_eq!(find("a/b?c#d"), &json!({"value": "a/b?c#d"}));
    assert_eq!(find("with space"), &json!({"value": "with space"}));

    // Once a resource has the id, it is a typed member with a URI that leads back to it.
    let location = provisio_scim_server::service::location(
        &provisio_scim_server::http::Ctx {
            tenant: "default".to_string(),
            base_url: "http://scim.test/scim/v2".to_string(),
        },
        provisio_scim_server::store::ResourceKind::User,
        "a/b?c#d e",
    );
    assert_eq!(location, "http://scim.test/scim/v2/Users/a%2Fb%3Fc%23d%20e");
}
