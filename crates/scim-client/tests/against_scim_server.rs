//! The client against provisio's own SCIM server, served in-process on 127.0.0.1 over a
//! SQLite store, and against tiny routers that answer what real targets sometimes do.
//! What is asserted is what the engine would observe: objects, pages, errors and their
//! classes and wording, and what the target ended up storing.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use provisio_engine::target::{ErrorClass, PatchOperation, Target, TargetKind};
use provisio_scim_client::{BearerToken, PatchStyle, RetryPolicy, ScimClientConfig, ScimTarget};
use provisio_scim_server::store::open_sqlite;
use provisio_scim_server::{app, FaultConfig, ServerConfig};
use serde_json::{json, Value};

const TOKEN: &str = "client-test-token";

/// What the server saw: `METHOD /path -> status`, in order.
type RequestLog = Arc<Mutex<Vec<(String, u16)>>>;

struct Server {
    addr: SocketAddr,
    log: RequestLog,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start(faults: FaultConfig) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = open_sqlite(dir.path()).await.expect("open store");
        let config = ServerConfig {
            token: TOKEN.to_string(),
            faults,
            ..ServerConfig::default()
        };
        let log = RequestLog::default();
        let router = app(Arc::new(store), config)
            .layer(axum::middleware::from_fn_with_state(log.clone(), record));
        let addr = serve(router).await;
        Server {
            addr,
            log,
            _dir: dir,
        }
    }

    fn base_url(&self) -> String {
        format!("http://{}/scim/v2", self.addr)
    }

    fn config(&self) -> ScimClientConfig {
        ScimClientConfig::new(self.base_url(), BearerToken::new(TOKEN))
    }

    fn target(&self) -> ScimTarget {
        ScimTarget::new(&self.config()).expect("client")
    }

    fn seen(&self) -> Vec<(String, u16)> {
        self.log.lock().expect("log").clone()
    }

    /// A resource as the server stores it, members included, read without the client.
    async fn stored(&self, kind: TargetKind, id: &str) -> Value {
        let url = format!("{}/{}/{id}", self.base_url(), kind.endpoint());
        reqwest::Client::new()
            .get(url)
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("send")
            .json()
            .await
            .expect("json")
    }
}

async fn record(State(log): State<RequestLog>, req: Request, next: Next) -> Response {
    let line = format!("{} {}", req.method(), req.uri().path());
    let response = next.run(req).await;
    log.lock()
        .expect("log")
        .push((line, response.status().as_u16()));
    response
}

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        axum::serve(listener, router).await.expect("serve");
    });
    addr
}

/// A user as Entra creates one (reference §3.2).
fn entra_user(user_name: &str) -> Value {
    json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ],
        "externalId": user_name.split('@').next().unwrap_or(user_name),
        "userName": user_name,
        "active": true,
        "emails": [{"primary": true, "type": "work", "value": user_name}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "Ann Lee", "familyName": "Lee", "givenName": "Ann"},
        "roles": []
    })
}

fn entra_group(name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "externalId": format!("{name}-object-id"),
        "displayName": name,
        "meta": {"resourceType": "Group"}
    })
}

#[tokio::test]
async fn users_are_created_found_read_patched_and_deleted() {
    let server = Server::start(FaultConfig::default()).await;
    // Base URLs with and without a trailing slash, and under a tenant prefix, all work.
    for base in [
        server.base_url(),
        format!("{}/", server.base_url()),
        format!("http://{}/tenants/acme/scim/v2/", server.addr),
    ] {
        let target = ScimTarget::new(&ScimClientConfig::new(&base, BearerToken::new(TOKEN)))
            .expect("client");
        target.probe().await.expect("probe");

        let created = target
            .create(TargetKind::User, entra_user("ann@x.example"))
            .await
            .expect("create");
        assert!(!created.id.is_empty(), "{base}");
        assert_eq!(created.resource["userName"], "ann@x.example", "{base}");

        let got = target
            .get(TargetKind::User, &created.id)
            .await
            .expect("get");
        assert_eq!(got.map(|o| o.id), Some(created.id.clone()), "{base}");

        // userName is caseExact false: a match in another letter case finds the user.
        let found = target
            .find(TargetKind::User, "userName", "ANN@X.example")
            .await
            .expect("find");
        let ids: Vec<&str> = found.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(ids, [created.id.as_str()], "{base}");
        let by_email = target
            .find_one(
                TargetKind::User,
                r#"emails[type eq "work"].value"#,
                "ann@x.example",
            )
            .await
            .expect("find by email");
        assert_eq!(by_email.map(|o| o.id), Some(created.id.clone()), "{base}");
        let nobody = target
            .find(TargetKind::User, "userName", r#"nobody"with\quotes"#)
            .await
            .expect("find nobody");
        assert!(nobody.is_empty(), "{base}");

        let patched = target
            .patch(
                TargetKind::User,
                &created.id,
                &[
                    PatchOperation::replace("active", json!(false)),
                    PatchOperation::replace("name.givenName", json!("Annie")),
                    PatchOperation::add("nickName", json!("Babs")),
                ],
            )
            .await
            .expect("patch");
        let patched = patched.expect("the server answers PATCH with the resource");
        assert_eq!(patched.resource["active"], json!(false), "{base}");
        assert_eq!(patched.resource["name"]["givenName"], "Annie", "{base}");
        assert_eq!(patched.resource["nickName"], "Babs", "{base}");

        target
            .delete(TargetKind::User, &created.id)
            .await
            .expect("delete");
        assert_eq!(
            target
                .get(TargetKind::User, &created.id)
                .await
                .expect("get"),
            None,
            "{base}: a deleted user reads as absent"
        );
    }
}

#[tokio::test]
async fn both_patch_styles_store_the_same_result() {
    let server = Server::start(FaultConfig::default()).await;
    for style in [PatchStyle::Rfc7644, PatchStyle::EntraLegacy] {
        let target = ScimTarget::new(&ScimClientConfig {
            patch_style: style,
            ..server.config()
        })
        .expect("client");
        let tag = format!("{style:?}").to_lowercase();
        let ann = target
            .create(TargetKind::User, entra_user(&format!("ann-{tag}@x")))
            .await
            .expect("create ann");
        let bob = target
            .create(TargetKind::User, entra_user(&format!("bob-{tag}@x")))
            .await
            .expect("create bob");
        let group = target
            .create(TargetKind::Group, entra_group(&format!("sales-{tag}")))
            .await
            .expect("create group");

        let user_ops = [
            PatchOperation::replace("active", json!(false)),
            PatchOperation::replace(r#"emails[type eq "work"].value"#, json!("new@x")),
            PatchOperation::replace(
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
                json!("E-7"),
            ),
        ];
        target
            .patch(TargetKind::User, &ann.id, &user_ops)
            .await
            .expect("patch user");
        let stored = server.stored(TargetKind::User, &ann.id).await;
        assert_eq!(stored["active"], json!(false), "{style:?}: {stored}");
        assert_eq!(stored["emails"][0]["value"], "new@x", "{style:?}: {stored}");
        assert_eq!(
            stored["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["employeeNumber"],
            "E-7",
            "{style:?}: {stored}"
        );

        let group_ops = [
            PatchOperation::replace("displayName", json!(format!("Sales {tag}"))),
            PatchOperation::add_members([ann.id.as_str(), bob.id.as_str()]),
        ];
        target
            .patch(TargetKind::Group, &group.id, &group_ops)
            .await
            .expect("add members");
        target
            .patch(
                TargetKind::Group,
                &group.id,
                &[PatchOperation::remove_members([ann.id.as_str()])],
            )
            .await
            .expect("remove a member");
        let stored = server.stored(TargetKind::Group, &group.id).await;
        assert_eq!(stored["displayName"], format!("Sales {tag}"), "{style:?}");
        let members: Vec<&str> = stored["members"]
            .as_array()
            .map(|m| m.iter().filter_map(|m| m["value"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(members, [bob.id.as_str()], "{style:?}: {stored}");

        // The client reads groups without their members, as Entra does.
        let read = target
            .get(TargetKind::Group, &group.id)
            .await
            .expect("get group")
            .expect("the group");
        assert_eq!(read.resource.get("members"), None, "{style:?}");
    }
}

#[tokio::test]
async fn list_page_reads_the_target_in_pages() {
    let server = Server::start(FaultConfig::default()).await;
    let target = server.target();
    let mut created = Vec::new();
    for i in 0..5 {
        let user = target
            .create(TargetKind::User, entra_user(&format!("user{i}@x")))
            .await
            .expect("create");
        created.push(user.id);
    }
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut start = 1;
    loop {
        let page = target
            .list_page(TargetKind::User, start, 2, &["userName"])
            .await
            .expect("page");
        assert_eq!(page.total, 5);
        if page.objects.is_empty() {
            break;
        }
        sizes.push(page.objects.len());
        for object in &page.objects {
            assert!(
                object.resource.get("userName").is_some(),
                "{}",
                object.resource
            );
            assert_eq!(
                object.resource.get("emails"),
                None,
                "only the asked attributes"
            );
        }
        start += page.objects.len() as u64;
        seen.extend(page.objects.into_iter().map(|o| o.id));
    }
    assert_eq!(sizes, [2, 2, 1]);
    seen.sort();
    created.sort();
    assert_eq!(seen, created);
}

#[tokio::test]
async fn answers_are_classified_with_what_the_target_said() {
    let server = Server::start(FaultConfig::default()).await;
    let target = server.target();
    let ann = target
        .create(TargetKind::User, entra_user("ann@x"))
        .await
        .expect("create");

    let wrong_token = ScimTarget::new(&ScimClientConfig::new(
        server.base_url(),
        BearerToken::new("not-the-token"),
    ))
    .expect("client");
    let unauthorized = wrong_token.probe().await.expect_err("a wrong token");

    let duplicate = target
        .create(TargetKind::User, entra_user("ANN@x"))
        .await
        .expect_err("a duplicate userName");

    target
        .delete(TargetKind::User, &ann.id)
        .await
        .expect("delete");
    let gone_patch = target
        .patch(
            TargetKind::User,
            &ann.id,
            &[PatchOperation::replace("active", json!(false))],
        )
        .await
        .expect_err("patching a deleted user");
    let gone_delete = target
        .delete(TargetKind::User, &ann.id)
        .await
        .expect_err("deleting twice");

    let bob = target
        .create(TargetKind::User, entra_user("bob@x"))
        .await
        .expect("create bob");
    let invalid = target
        .patch(
            TargetKind::User,
            &bob.id,
            &[PatchOperation::replace(
                "active",
                json!({"not": "a boolean"}),
            )],
        )
        .await
        .expect_err("a value of the wrong type");

    // (error, class, status, what its Display starts with)
    let cases = [
        (
            unauthorized,
            ErrorClass::Unauthorized,
            401,
            "GET /Users?filter=userName eq \"".to_string(),
        ),
        (
            duplicate,
            ErrorClass::Conflict,
            409,
            "POST /Users answered 409 uniqueness: ".to_string(),
        ),
        (
            gone_patch,
            ErrorClass::NotFound,
            404,
            format!("PATCH /Users/{} answered 404", ann.id),
        ),
        (
            gone_delete,
            ErrorClass::NotFound,
            404,
            format!("DELETE /Users/{} answered 404", ann.id),
        ),
        (
            invalid,
            ErrorClass::Rejected,
            400,
            format!("PATCH /Users/{} answered 400 invalidValue: ", bob.id),
        ),
    ];
    for (error, class, status, start) in cases {
        let shown = error.to_string();
        assert_eq!(error.class, class, "{shown}");
        assert_eq!(error.status, Some(status), "{shown}");
        assert!(
            shown.starts_with(&start),
            "{shown:?} should start with {start:?}"
        );
        assert!(error.detail.is_some(), "{shown}");
        assert_eq!(error.attempts, 1, "{shown}: not retried");
    }
    let shown = wrong_token.probe().await.expect_err("again").to_string();
    assert!(
        shown.contains("answered 401: the bearer token is not valid"),
        "{shown}"
    );
}

#[tokio::test]
async fn a_rate_limited_target_is_waited_for() {
    let server = Server::start(FaultConfig {
        rate_limit: Some(2),
        ..FaultConfig::default()
    })
    .await;
    let target = ScimTarget::new(&ScimClientConfig {
        retry: RetryPolicy {
            max_retries: 10,
            ..RetryPolicy::default()
        },
        ..server.config()
    })
    .expect("client");
    let creates = (0..6).map(|i| {
        let target = target.clone();
        async move {
            target
                .create(TargetKind::User, entra_user(&format!("burst{i}@x")))
                .await
        }
    });
    let results = futures_join_all(creates).await;
    for result in &results {
        assert!(result.is_ok(), "{result:?}");
    }
    let seen = server.seen();
    let throttled = seen.iter().filter(|(_, s)| *s == 429).count();
    let created = seen.iter().filter(|(_, s)| *s == 201).count();
    assert_eq!(created, 6, "{seen:?}");
    assert!(throttled > 0, "the server throttled: {seen:?}");
    assert_eq!(seen.len(), created + throttled, "{seen:?}");
}

#[tokio::test]
async fn an_unavailable_target_fails_transient_after_the_retries() {
    let server = Server::start(FaultConfig {
        fault_rate: 1.0,
        fault_status: 503,
        seed: Some(7),
        ..FaultConfig::default()
    })
    .await;
    let target = ScimTarget::new(&ScimClientConfig {
        retry: RetryPolicy {
            max_retries: 2,
            ..RetryPolicy::default()
        },
        ..server.config()
    })
    .expect("client");
    let error = target
        .get(TargetKind::User, "some-id")
        .await
        .expect_err("always 503");
    assert_eq!(error.class, ErrorClass::Transient);
    assert_eq!(error.attempts, 3);
    assert_eq!(error.retry_after, Some(Duration::from_secs(1)));
    assert_eq!(
        error.to_string(),
        "GET /Users/some-id answered 503: injected fault (Retry-After 1s) (after 3 attempts)"
    );
    let seen = server.seen();
    assert_eq!(
        seen,
        vec![("GET /scim/v2/Users/some-id".to_string(), 503); 3],
        "one request and two retries"
    );
}

#[tokio::test]
async fn dropped_connections_on_reads_are_retried() {
    let server = Server::start(FaultConfig {
        drop_rate: 0.5,
        seed: Some(11),
        ..FaultConfig::default()
    })
    .await;
    let target = ScimTarget::new(&ScimClientConfig {
        retry: RetryPolicy {
            max_retries: 20,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
            ..RetryPolicy::default()
        },
        ..server.config()
    })
    .expect("client");
    for i in 0..10 {
        let found = target
            .find(TargetKind::User, "userName", &format!("nobody{i}"))
            .await
            .expect("a read survives dropped connections");
        assert!(found.is_empty());
    }
    assert!(
        server.seen().len() > 10,
        "some answers were cut and read again"
    );
}

/// Awaits all futures, in order, without another dependency.
async fn futures_join_all<F, T>(futures: impl IntoIterator<Item = F>) -> Vec<T>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for handle in handles {
        out.push(handle.await.expect("task"));
    }
    out
}

/// A client for a tiny router that answers whatever the test wants.
async fn target_for(router: Router, retry: RetryPolicy, max_concurrency: usize) -> ScimTarget {
    let addr = serve(router).await;
    ScimTarget::new(&ScimClientConfig {
        retry,
        max_concurrency,
        ..ScimClientConfig::new(format!("http://{addr}/api"), BearerToken::new(TOKEN))
    })
    .expect("client")
}

#[tokio::test]
async fn answers_that_are_not_scim_are_incompatible() {
    let html = Router::new().fallback(|| async {
        (
            [("content-type", "text/html")],
            "<html><body>Welcome to the portal</body></html>",
        )
    });
    let target = target_for(html, RetryPolicy::default(), 8).await;
    let find = target
        .find(TargetKind::User, "userName", "ann")
        .await
        .expect_err("HTML");
    let create = target
        .create(TargetKind::User, entra_user("ann@x"))
        .await
        .expect_err("HTML");

    let bare = Router::new().fallback(|| async {
        (
            [("content-type", "application/scim+json")],
            r#"{"totalResults": 2, "items": [{"id": "1"}, {"id": "2"}], "id": "1"}"#,
        )
    });
    let target = target_for(bare, RetryPolicy::default(), 8).await;
    let list = target
        .list_page(TargetKind::User, 1, 10, &[])
        .await
        .expect_err("no Resources");
    let probe = target.probe().await.expect_err("no Resources");

    let everyone = Router::new().fallback(|| async {
        axum::Json(json!({"totalResults": 2, "Resources": [{"id": "1"}, {"id": "2"}]}))
    });
    let target = target_for(everyone, RetryPolicy::default(), 8).await;
    let ignores_filter = target.probe().await.expect_err("a filter ignored");
    let two = target
        .find_one(TargetKind::User, "userName", "ann")
        .await
        .expect_err("two matches");

    // (error, the start of its Display)
    let cases = [
        (find, "GET /Users?filter=userName eq \"ann\" answered 200, which is not SCIM: expected JSON, got text/html"),
        (create, "POST /Users answered 200, which is not SCIM: expected JSON, got text/html"),
        (list, "GET /Users?startIndex=1&count=10 answered 200, which is not SCIM: the ListResponse has no \"Resources\""),
        (probe, "GET /Users?filter=userName eq \""),
        (ignores_filter, "GET /Users?filter=userName eq \""),
        (two, "GET /Users?filter=userName eq \"ann\" answered unexpectedly: 2 objects match where one was expected"),
    ];
    for (error, start) in cases {
        let shown = error.to_string();
        assert_eq!(error.class, ErrorClass::Incompatible, "{shown}");
        assert!(
            shown.starts_with(start),
            "{shown:?} should start with {start:?}"
        );
    }
}

#[tokio::test]
async fn a_wait_longer_than_the_cap_is_not_waited_for() {
    let router = Router::new().fallback(|| async {
        (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "3600")],
            axum::Json(json!({"detail": "quota exhausted", "status": "429"})),
        )
    });
    let target = target_for(router, RetryPolicy::default(), 8).await;
    let error = target.get(TargetKind::User, "1").await.expect_err("429");
    assert_eq!(error.class, ErrorClass::Transient);
    assert_eq!(error.attempts, 1);
    assert_eq!(error.retry_after, Some(Duration::from_secs(3600)));
    assert_eq!(
        error.to_string(),
        "GET /Users/1 answered 429: quota exhausted (Retry-After 3600s)"
    );
}

#[tokio::test]
async fn a_target_that_is_not_there_is_transient() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    drop(listener);
    let target = ScimTarget::new(&ScimClientConfig {
        retry: RetryPolicy {
            max_retries: 1,
            initial_backoff: Duration::from_millis(1),
            ..RetryPolicy::default()
        },
        ..ScimClientConfig::new(format!("http://{addr}/scim"), BearerToken::new(TOKEN))
    })
    .expect("client");
    let error = target
        .create(TargetKind::User, entra_user("ann@x"))
        .await
        .expect_err("nothing listens");
    assert_eq!(error.class, ErrorClass::Transient);
    assert_eq!(error.status, None);
    assert_eq!(
        error.attempts, 2,
        "a connection never made is safe to retry"
    );
    let shown = error.to_string();
    assert!(
        shown.starts_with("POST /Users failed: could not connect"),
        "{shown}"
    );
}

#[tokio::test]
async fn requests_in_flight_stay_within_the_bound() {
    #[derive(Default)]
    struct Gauge {
        now: AtomicUsize,
        most: AtomicUsize,
    }
    let gauge = Arc::new(Gauge::default());
    let router = Router::new()
        .fallback(|State(gauge): State<Arc<Gauge>>| async move {
            let now = gauge.now.fetch_add(1, Ordering::SeqCst) + 1;
            gauge.most.fetch_max(now, Ordering::SeqCst);
            // Long enough for the other requests to pile up if nothing held them back.
            tokio::time::sleep(Duration::from_millis(30)).await;
            gauge.now.fetch_sub(1, Ordering::SeqCst);
            axum::Json(json!({"id": "1"})).into_response()
        })
        .with_state(gauge.clone());
    let target = target_for(router, RetryPolicy::default(), 2).await;
    let reads = (0..8).map(|_| {
        let target = target.clone();
        async move { target.get(TargetKind::User, "1").await }
    });
    for result in futures_join_all(reads).await {
        assert!(result.is_ok(), "{result:?}");
    }
    assert_eq!(gauge.most.load(Ordering::SeqCst), 2);
}

/// What a target receives, as bytes on the wire.
#[derive(Debug, Clone, PartialEq)]
struct Received {
    method: String,
    uri: String,
    content_type: Option<String>,
    authorization: Option<String>,
    body: Value,
}

async fn receive(State(received): State<Arc<Mutex<Vec<Received>>>>, req: Request) -> StatusCode {
    // Read before the body is awaited: a borrow of the request may not live across it.
    let (content_type, authorization) = {
        let header = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        (header("content-type"), header("authorization"))
    };
    let method = req.method().to_string();
    let uri = req.uri().to_string();
    let bytes = axum::body::to_bytes(req.into_body(), usize::MAX)
        .await
        .unwrap_or_default();
    received.lock().expect("received").push(Received {
        method,
        uri,
        content_type,
        authorization,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    });
    StatusCode::NO_CONTENT
}

#[tokio::test]
async fn the_wire_carries_the_job_dialect_and_scim_media_type() {
    let received: Arc<Mutex<Vec<Received>>> = Arc::default();
    let router = Router::new().fallback(receive).with_state(received.clone());
    let addr = serve(router).await;
    let ops = [
        PatchOperation::replace("active", json!(false)),
        PatchOperation::remove_members(["u1"]),
    ];
    // (style, the operations the target receives)
    let cases = [
        (
            PatchStyle::Rfc7644,
            json!([
                {"op": "replace", "path": "active", "value": false},
                {"op": "remove", "path": "members[value eq \"u1\"]"}
            ]),
        ),
        (
            PatchStyle::EntraLegacy,
            json!([
                {"op": "Replace", "path": "active", "value": "False"},
                {"op": "Remove", "path": "members", "value": [{"$ref": null, "value": "u1"}]}
            ]),
        ),
    ];
    for (style, operations) in cases {
        let target = ScimTarget::new(&ScimClientConfig {
            patch_style: style,
            ..ScimClientConfig::new(
                format!("http://{addr}/scim/?api-version=2"),
                BearerToken::new(TOKEN),
            )
        })
        .expect("client");
        let answer = target
            .patch(TargetKind::Group, "g 1", &ops)
            .await
            .expect("204");
        assert_eq!(answer, None, "204 carries no resource");
        let got = received.lock().expect("received").pop().expect("a request");
        assert_eq!(
            got,
            Received {
                method: "PATCH".into(),
                uri: "/scim/Groups/g%201?api-version=2&excludedAttributes=members".into(),
                content_type: Some("application/scim+json".into()),
                authorization: Some(format!("Bearer {TOKEN}")),
                body: json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": operations,
                }),
            },
            "{style:?}"
        );
    }
    let target = ScimTarget::new(&ScimClientConfig::new(
        format!("http://{addr}/scim"),
        BearerToken::new(TOKEN),
    ))
    .expect("client");
    target
        .delete(TargetKind::User, "42")
        .await
        .expect("204 to DELETE");
    let got = received.lock().expect("received").pop().expect("a request");
    assert_eq!(
        (got.method.as_str(), got.uri.as_str(), got.content_type),
        ("DELETE", "/scim/Users/42", None),
        "no body, no Content-Type"
    );
}

#[tokio::test]
async fn a_target_slower_than_the_timeout_is_transient() {
    let server = Server::start(FaultConfig {
        latency_ms: 300,
        ..FaultConfig::default()
    })
    .await;
    let target = ScimTarget::new(&ScimClientConfig {
        request_timeout: Duration::from_millis(50),
        retry: RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        },
        ..server.config()
    })
    .expect("client");
    let error = target
        .get(TargetKind::User, "1")
        .await
        .expect_err("too slow");
    assert_eq!(error.class, ErrorClass::Transient);
    assert_eq!(error.status, None);
    let shown = error.to_string();
    assert!(
        shown.starts_with("GET /Users/1 failed: timed out"),
        "{shown}"
    );
}

#[tokio::test]
async fn sequential_requests_reuse_one_connection() {
    let peers: Arc<Mutex<Vec<SocketAddr>>> = Arc::default();
    let router = Router::new()
        .fallback(
            |State(peers): State<Arc<Mutex<Vec<SocketAddr>>>>,
             axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<SocketAddr>| async move {
                peers.lock().expect("peers").push(peer);
                axum::Json(json!({"id": "1"}))
            },
        )
        .with_state(peers.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .expect("serve");
    });
    let target = ScimTarget::new(&ScimClientConfig::new(
        format!("http://{addr}/scim"),
        BearerToken::new(TOKEN),
    ))
    .expect("client");
    for _ in 0..20 {
        target.get(TargetKind::User, "1").await.expect("get");
    }
    let mut peers = peers.lock().expect("peers").clone();
    assert_eq!(peers.len(), 20);
    peers.dedup();
    assert_eq!(peers.len(), 1, "one kept-alive connection: {peers:?}");
}
