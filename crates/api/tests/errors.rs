//! Every kind of bad request gets Graph's error body with the right status and code; the
//! admin token guards the API; health and the OpenAPI document need none.

mod common;

use common::{assert_graph_error, Api, TOKEN};
use serde_json::json;

const UNKNOWN: &str = "0b1f6b5e-8a4e-4c4e-9c55-0e4f0a4e3b7e";

struct Case {
    what: &'static str,
    method: &'static str,
    path: String,
    authorization: Option<&'static str>,
    body: Option<String>,
    status: u16,
    code: &'static str,
    message: String,
}

/// A request with the admin token.
fn case(
    what: &'static str,
    method: &'static str,
    path: impl Into<String>,
    body: Option<String>,
    (status, code, message): (u16, &'static str, &str),
) -> Case {
    Case {
        what,
        method,
        path: path.into(),
        authorization: Some("Bearer test-token"),
        body,
        status,
        code,
        message: message.to_string(),
    }
}

/// A request with this `Authorization` header (or none).
fn token_case(
    what: &'static str,
    path: &'static str,
    authorization: Option<&'static str>,
    message: &str,
) -> Case {
    Case {
        what,
        method: "GET",
        path: path.to_string(),
        authorization,
        body: None,
        status: 401,
        code: "InvalidAuthenticationToken",
        message: message.to_string(),
    }
}

const BAD: (u16, &str) = (400, "Request_BadRequest");

fn bad(message: &str) -> (u16, &'static str, &str) {
    (BAD.0, BAD.1, message)
}

#[tokio::test]
async fn bad_requests_get_graph_errors() {
    let api = Api::new();
    let new_user = |extra: serde_json::Value| {
        let mut body = json!({"displayName": "x", "userPrincipalName": "x@y.z"});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        Some(body.to_string())
    };
    let not_found = format!("Resource '{UNKNOWN}' does not exist");
    let cases = vec![
        case(
            "malformed JSON",
            "POST",
            "/users",
            Some("{\"displayName\": ".into()),
            bad("Unable to read JSON request payload"),
        ),
        case(
            "not an object",
            "POST",
            "/users",
            Some("[1]".into()),
            bad("Unable to read JSON request payload"),
        ),
        case(
            "unknown property",
            "POST",
            "/users",
            new_user(json!({"shoeSize": 4})),
            bad("Property 'shoeSize' does not exist"),
        ),
        case(
            "read-only property",
            "POST",
            "/users",
            new_user(json!({"createdDateTime": "2020-01-01T00:00:00Z"})),
            bad("read-only"),
        ),
        case(
            "missing required property",
            "POST",
            "/users",
            Some(json!({"displayName": "x"}).to_string()),
            bad("Property 'userPrincipalName' is required"),
        ),
        case(
            "wrong type",
            "PATCH",
            format!("/users/{UNKNOWN}"),
            Some(json!({"accountEnabled": "yes"}).to_string()),
            bad("Invalid value specified for property 'accountEnabled'"),
        ),
        case(
            "bad $filter",
            "GET",
            "/users?$filter=displayName eqq 'x'",
            None,
            bad("Invalid filter clause"),
        ),
        case(
            "unknown $filter property",
            "GET",
            "/users?$filter=shoeSize eq 4",
            None,
            bad("Could not find a property named 'shoeSize' on type 'microsoft.graph.user'"),
        ),
        case("bad $top", "GET", "/users?$top=1000", None, bad("1000")),
        case(
            "bad $orderby",
            "GET",
            "/users?$orderby=jobTitle",
            None,
            bad("Sorting by 'jobTitle' is not supported"),
        ),
        case(
            "bad $skiptoken",
            "GET",
            "/users?$skiptoken=%%%",
            None,
            bad("skiptoken"),
        ),
        case(
            "unknown id",
            "GET",
            format!("/users/{UNKNOWN}"),
            None,
            (404, "Request_ResourceNotFound", &not_found),
        ),
        case(
            "unknown id under /beta",
            "GET",
            format!("/beta/groups/{UNKNOWN}"),
            None,
            (404, "Request_ResourceNotFound", &not_found),
        ),
        case(
            "not a GUID",
            "GET",
            "/groups/not-a-guid",
            None,
            bad("Invalid object identifier 'not-a-guid'"),
        ),
        case(
            "unknown segment",
            "GET",
            "/widgets",
            None,
            (
                400,
                "BadRequest",
                "Resource not found for the segment 'widgets'",
            ),
        ),
        case(
            "outside the API",
            "GET",
            "/admin/nothing-here",
            None,
            (
                404,
                "Request_ResourceNotFound",
                "No API is served at '/admin/nothing-here'",
            ),
        ),
        case(
            "method not allowed",
            "PUT",
            "/users",
            Some("{}".into()),
            (
                405,
                "Request_BadRequest",
                "Specified HTTP method is not allowed",
            ),
        ),
        case(
            "$ref without @odata.id",
            "POST",
            format!("/groups/{UNKNOWN}/members/$ref"),
            Some("{}".into()),
            bad("@odata.id"),
        ),
        case(
            "oversized body",
            "POST",
            "/users",
            Some(format!(
                "{{\"displayName\": \"{}\"}}",
                "x".repeat(5 * 1024 * 1024)
            )),
            (413, "Request_EntityTooLarge", "larger than the limit"),
        ),
        case(
            "bad delta token",
            "GET",
            "/users/delta?$deltatoken=xyz",
            None,
            bad("delta token"),
        ),
        case(
            "import: unknown type",
            "POST",
            "/admin/directory/import?type=robot",
            Some(String::new()),
            bad("Invalid type 'robot': expected user or group."),
        ),
        case(
            "import: bad dryRun",
            "POST",
            "/admin/directory/import?dryRun=yes",
            Some(String::new()),
            bad("Invalid dryRun 'yes': expected true or false."),
        ),
        case(
            "import: unknown option",
            "POST",
            "/admin/directory/import?batch=5",
            Some(String::new()),
            bad("Query option 'batch' is not allowed: use type and dryRun."),
        ),
        case(
            "changes: bad watermark",
            "GET",
            "/admin/directory/changes?after=x",
            None,
            bad("Invalid watermark 'x': expected an integer."),
        ),
        case(
            "changes: bad top",
            "GET",
            "/admin/directory/changes?top=0",
            None,
            bad("Invalid top '0': expected 1 to 10000."),
        ),
        case(
            "changes: unknown option",
            "GET",
            "/admin/directory/changes?since=1",
            None,
            bad("Query option 'since' is not allowed: use after and top."),
        ),
        token_case(
            "missing token",
            "/v1.0/users",
            None,
            "Access token is empty",
        ),
        token_case(
            "wrong token",
            "/v1.0/users",
            Some("Bearer nope-nope"),
            "Access token validation failure",
        ),
        token_case("not bearer", "/beta/users", Some("Basic eDp5"), "Bearer"),
        token_case(
            "admin route, wrong token",
            "/admin/directory/changes",
            Some("Bearer nope-nope"),
            "Access token validation failure",
        ),
    ];
    for c in cases {
        let r = api
            .raw(c.method, &c.path, c.authorization, c.body, &[])
            .await;
        // Shown with the failing assertion's output.
        println!("{}: {}", c.what, r.body);
        assert_graph_error(&r, c.status, c.code, &c.message);
    }
}

#[tokio::test]
async fn the_token_is_accepted_in_any_scheme_case() {
    let api = Api::new();
    for authorization in [
        format!("Bearer {TOKEN}"),
        format!("bearer {TOKEN}"),
        format!("BEARER  {TOKEN} "),
    ] {
        let r = api
            .raw("GET", "/users", Some(&authorization), None, &[])
            .await;
        assert_eq!(r.status, 200, "{authorization:?}: {}", r.body);
    }
}

#[tokio::test]
async fn request_ids_are_answered_and_client_ids_echoed() {
    let api = Api::new();
    let r = api
        .send(
            "GET",
            "/users/nope",
            None,
            &[("client-request-id", "abc-123")],
        )
        .await;
    assert_eq!(
        r.body["error"]["innerError"]["client-request-id"],
        "abc-123"
    );
    assert_eq!(r.header("client-request-id"), Some("abc-123"));
    let ok = api.get("/users").await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.header("request-id").map(str::len), Some(36));
}

#[tokio::test]
async fn health_and_the_openapi_document_need_no_token() {
    let api = Api::new();
    let health = api.raw("GET", "/healthz", None, None, &[]).await;
    assert_eq!(health.status, 200);
    let served = api.raw("GET", "/openapi.json", None, None, &[]).await;
    assert_eq!(served.status, 200);
    let committed: serde_json::Value = serde_json::from_str(include_str!("../../../openapi.json"))
        .expect("committed openapi.json");
    assert_eq!(
        served.body, committed,
        "openapi.json is stale: run `cargo run -- openapi > openapi.json`"
    );
}
