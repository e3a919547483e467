//! What Microsoft's Graph SDKs send that hand-written requests miss (found by driving
//! `provisio serve` with msgraph-sdk for Python; `.ci/graph-sdk/check.py` runs that client
//! in CI): users addressed by userPrincipalName wherever an id goes, type casts with the
//! `graph.` alias and with query options, `delta()` in function-call form, an empty segment
//! after the base URL, and errors that name the segment no route knows.

mod common;

use common::{assert_graph_error, Api};
use serde_json::{json, Value};

/// A directory with users ann (manages bob), bob and cyd, group team with members ann,
/// bob and the group inner, and group inner holding cyd.
struct Directory {
    api: Api,
    ann: String,
    bob: String,
    cyd: String,
    team: String,
    inner: String,
}

async fn directory() -> Directory {
    let api = Api::new();
    let ann = api.user("ann@contoso.test", "Ann").await;
    let bob = api.user("bob@contoso.test", "Bob").await;
    let cyd = api.user("cyd@contoso.test", "Cyd").await;
    let team = api.group("team").await;
    let inner = api.group("inner").await;
    for member in [&ann, &bob, &inner] {
        assert_eq!(api.add_member(&team, member).await.status, 204);
    }
    assert_eq!(api.add_member(&inner, &cyd).await.status, 204);
    let r = api
        .put(
            &format!("/users/{bob}/manager/$ref"),
            json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/users/{ann}")}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    Directory {
        api,
        ann,
        bob,
        cyd,
        team,
        inner,
    }
}

fn ids(body: &Value) -> Vec<String> {
    let mut ids: Vec<String> = body["value"]
        .as_array()
        .unwrap_or_else(|| panic!("no value in {body}"))
        .iter()
        .map(|v| v["id"].as_str().expect("id").to_string())
        .collect();
    ids.sort();
    ids
}

fn sorted(ids: &[&String]) -> Vec<String> {
    let mut ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn users_are_addressed_by_user_principal_name_wherever_an_id_goes() {
    let d = directory().await;
    let api = &d.api;
    // (path with a userPrincipalName, the ids the answer names)
    let reads: Vec<(&str, Vec<String>)> = vec![
        ("/users/ann@contoso.test", vec![d.ann.clone()]),
        ("/users/ANN@CONTOSO.TEST", vec![d.ann.clone()]),
        ("/users/ann%40contoso.test", vec![d.ann.clone()]),
        ("/beta/users/ann@contoso.test", vec![d.ann.clone()]),
        ("/users/bob@contoso.test/manager", vec![d.ann.clone()]),
        ("/users/ann@contoso.test/directReports", vec![d.bob.clone()]),
        ("/users/ann@contoso.test/memberOf", vec![d.team.clone()]),
        ("/users/ann@contoso.test/appRoleAssignments", vec![]),
    ];
    for (path, expected) in reads {
        let r = api.get(path).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        let got = if r.body.get("value").is_some() {
            ids(&r.body)
        } else {
            vec![r.body["id"].as_str().expect("id").to_string()]
        };
        assert_eq!(got, expected, "{path}");
    }

    let r = api
        .patch("/users/cyd@contoso.test", json!({"jobTitle": "Planner"}))
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = api.get(&format!("/users/{}?$select=jobTitle", d.cyd)).await;
    assert_eq!(r.body["jobTitle"], "Planner");

    let r = api.delete("/users/bob@contoso.test/manager/$ref").await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = api.delete("/users/cyd@contoso.test").await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = api.get("/directory/deletedItems/graph.user").await;
    assert_eq!(ids(&r.body), vec![d.cyd.clone()]);

    // A principal name that names nobody is Graph's 404, quoting it.
    let r = api.get("/users/nobody@contoso.test/manager").await;
    assert_graph_error(
        &r,
        404,
        "Request_ResourceNotFound",
        "Resource 'nobody@contoso.test' does not exist",
    );
    // Without the token, a principal name tells nothing about who exists.
    let r = api
        .raw(
            "GET",
            "/users/nobody@contoso.test",
            Some("Bearer wrong"),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.body);
}

#[tokio::test]
async fn type_casts_filter_the_relationship_and_take_query_options() {
    let d = directory().await;
    let api = &d.api;
    let users = sorted(&[&d.ann, &d.bob]);
    // (path, ids listed)
    let cases: Vec<(String, Vec<String>)> = vec![
        (
            format!("/groups/{}/members", d.team),
            sorted(&[&d.ann, &d.bob, &d.inner]),
        ),
        (
            format!("/groups/{}/members/microsoft.graph.user", d.team),
            users.clone(),
        ),
        (
            format!("/groups/{}/members/graph.user", d.team),
            users.clone(),
        ),
        (
            format!("/groups/{}/members/graph.group", d.team),
            vec![d.inner.clone()],
        ),
        (
            format!("/users/{}/memberOf/graph.group", d.cyd),
            vec![d.inner.clone()],
        ),
        (
            "/users/cyd@contoso.test/memberOf/microsoft.graph.group".into(),
            vec![d.inner.clone()],
        ),
        (
            format!("/groups/{}/memberOf/graph.group", d.inner),
            vec![d.team.clone()],
        ),
        (
            format!(
                "/groups/{}/members/graph.user?$filter=displayName eq 'Bob'",
                d.team
            ),
            vec![d.bob.clone()],
        ),
    ];
    for (path, expected) in cases {
        let r = api.get(&path).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert_eq!(ids(&r.body), expected, "{path}");
    }

    // As Graph answers a cast: the cast type's context, no @odata.type on the values.
    let path = format!(
        "/groups/{}/members/graph.user?$select=displayName&$count=true&$top=1",
        d.team
    );
    let first = api.get(&path).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(
        first.body["@odata.context"],
        "http://graph.test/v1.0/$metadata#users(displayName)"
    );
    assert_eq!(first.body["@odata.count"], 2);
    let value = &first.body["value"][0];
    assert_eq!(value.as_object().map(|o| o.len()), Some(1), "{value}");
    let next = first.body["@odata.nextLink"]
        .as_str()
        .expect("a next link")
        .to_string();
    assert!(next.contains("microsoft.graph.user"), "{next}");
    let second = api.get(&next).await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(second.body["@odata.count"], 2);
    assert_eq!(second.body["value"].as_array().map(Vec::len), Some(1));
    assert!(
        second.body.get("@odata.nextLink").is_none(),
        "{}",
        second.body
    );
    assert_ne!(second.body["value"][0], first.body["value"][0]);

    // (path, plain-text count; the harness reads a body that parses as JSON as JSON)
    let counts = [
        (format!("/groups/{}/members/graph.user/$count", d.team), 2),
        (
            format!("/groups/{}/members/microsoft.graph.group/$count", d.team),
            1,
        ),
        (
            format!(
                "/groups/{}/members/graph.user/$count?$filter=displayName eq 'Ann'",
                d.team
            ),
            1,
        ),
        (
            "/users/cyd@contoso.test/memberOf/graph.group/$count".to_string(),
            1,
        ),
    ];
    for (path, expected) in counts {
        let r = api.get(&path).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert_eq!(r.body, json!(expected), "{path}");
        assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    }

    let r = api
        .get(&format!(
            "/groups/{}/members/graph.user?$filter=shoeSize eq 1",
            d.team
        ))
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = api
        .get(&format!("/groups/{}/members/graph.robot", d.team))
        .await;
    assert_graph_error(
        &r,
        400,
        "BadRequest",
        "Resource not found for the segment 'microsoft.graph.robot'",
    );
}

#[tokio::test]
async fn delta_in_function_call_form_and_empty_segments() {
    let d = directory().await;
    let api = &d.api;
    for first in ["/users/delta()", "/groups/delta()", "/beta/users/delta()"] {
        let (values, _, delta) = api.all_pages(first).await;
        assert!(!values.is_empty(), "{first}");
        let delta = delta.unwrap_or_else(|| panic!("{first}: no delta link"));
        assert!(delta.contains("/delta?"), "{first}: {delta}");
    }
    let r = api.get("/v1.0//users").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["value"].as_array().map(Vec::len), Some(3));
    let r = api
        .get(&format!("/v1.0//groups//{}//members", d.team))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // An unknown segment is named, wherever it is.
    let cases = [
        ("/v1.0//robots", "robots"),
        ("/users/ann@contoso.test/friends", "friends"),
        (&*format!("/groups/{}/owners", d.team), "owners"),
    ];
    for (path, segment) in cases {
        let r = api.get(path).await;
        assert_graph_error(
            &r,
            400,
            "BadRequest",
            &format!("Resource not found for the segment '{segment}'"),
        );
    }
}

#[tokio::test]
async fn batches_take_the_same_paths_and_say_when_a_url_is_absolute() {
    let d = directory().await;
    let r = d
        .api
        .post(
            "/$batch",
            json!({"requests": [
                {"id": "1", "method": "GET", "url": "/users/ann@contoso.test"},
                {"id": "2", "method": "GET", "url": format!("/groups/{}/members/graph.user/$count", d.team)},
                {"id": "3", "method": "GET", "url": "/users/delta()"},
                {"id": "4", "method": "GET", "url": "https://graph.microsoft.com/v1.0/users"}
            ]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let by_id = |id: &str| {
        r.body["responses"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["id"] == id))
            .unwrap_or_else(|| panic!("response {id} in {}", r.body))
            .clone()
    };
    assert_eq!(by_id("1")["status"], 200);
    assert_eq!(by_id("1")["body"]["id"], d.ann.as_str());
    assert_eq!(by_id("2")["body"], 2);
    assert_eq!(by_id("3")["status"], 200);
    assert_eq!(by_id("4")["status"], 400);
    let message = by_id("4")["body"]["error"]["message"].to_string();
    assert!(message.contains("relative"), "{message}");
}
