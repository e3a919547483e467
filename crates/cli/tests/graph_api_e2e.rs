//! End-to-end tests of the Graph-compatible directory API: `provisio serve` started on
//! 127.0.0.1, driven over HTTP as a Graph script or SDK would, on SQLite and PostgreSQL.

mod common;

use common::{Client, Resp, Server, TOKEN};
use serde_json::{json, Value};

/// A suffix unique to this run, so reruns against a shared PostgreSQL never collide.
fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{}{}", std::process::id(), nanos % 1_000_000_000)
}

fn assert_graph_error(r: &Resp, status: u16, code: &str, message_part: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    let e = &r.body["error"];
    assert_eq!(e["code"], code, "{}", r.body);
    let message = e["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(message_part),
        "message {message:?} lacks {message_part:?}"
    );
    assert!(
        e["innerError"]["date"]
            .as_str()
            .is_some_and(|d| d.ends_with('Z')),
        "{}",
        r.body
    );
    let request_id = e["innerError"]["request-id"].as_str().unwrap_or_default();
    assert_eq!(request_id.len(), 36, "{}", r.body);
    assert_eq!(
        r.headers.get("request-id").and_then(|v| v.to_str().ok()),
        Some(request_id)
    );
}

async fn create_user(c: &Client, body: Value) -> String {
    let r = c.post("/users", body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().expect("id").to_string()
}

/// Follows `@odata.nextLink` to the end; returns every value and the number of pages.
async fn all_pages(c: &Client, first: &str) -> (Vec<Value>, usize, Option<String>) {
    let mut values = Vec::new();
    let mut pages = 0;
    let mut url = format!("{}{first}", c.scim);
    loop {
        let r = c.get(&url).await;
        assert_eq!(r.status, 200, "{url}: {}", r.body);
        pages += 1;
        values.extend(r.body["value"].as_array().cloned().unwrap_or_default());
        match r.body["@odata.nextLink"].as_str() {
            Some(next) => url = next.to_string(),
            None => {
                return (
                    values,
                    pages,
                    r.body["@odata.deltaLink"].as_str().map(str::to_string),
                )
            }
        }
    }
}

fn names(values: &[Value]) -> Vec<String> {
    values
        .iter()
        .map(|v| v["displayName"].as_str().unwrap_or("").to_string())
        .collect()
}

async fn directory_scenario(server: &Server) {
    let c = server.client();
    let run = run_id();
    let upn = |n: &str| format!("{n}.{run}@contoso.example");

    // Create, read, select, update, clear.
    let r = c
        .post(
            "/users",
            json!({"accountEnabled": true, "displayName": "Zoë Ærø", "mailNickname": format!("zoe{run}"),
                   "userPrincipalName": upn("zoe"), "passwordProfile": {"password": "x"},
                   "department": format!("R&D {run}"), "jobTitle": "Engineer",
                   "extension_8f2c6c1e0f2a4f8b9c1d2e3f4a5b6c7d_costCenter": "CC-1"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let zoe = r.body["id"].as_str().expect("id").to_string();
    assert!(r.body["@odata.context"]
        .as_str()
        .unwrap_or("")
        .ends_with("/v1.0/$metadata#users/$entity"));
    assert!(r.body["createdDateTime"].as_str().is_some());
    assert!(r.body.get("passwordProfile").is_none());
    assert!(r
        .headers
        .get("location")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|l| l.ends_with(&format!("/v1.0/users/{zoe}"))));
    let got = c.get(&format!("/users/{zoe}")).await;
    assert_eq!(got.status, 200);
    // Graph's default property set: department is not in it, absent ones are null.
    assert_eq!(got.body["displayName"], "Zoë Ærø");
    assert!(got.body.get("department").is_none());
    assert_eq!(got.body["mobilePhone"], Value::Null);
    let sel = c
        .get(&format!(
            "/users/{zoe}?$select=department,extension_8f2c6c1e0f2a4f8b9c1d2e3f4a5b6c7d_costCenter"
        ))
        .await;
    assert_eq!(sel.body["department"], format!("R&D {run}"));
    assert_eq!(
        sel.body["extension_8f2c6c1e0f2a4f8b9c1d2e3f4a5b6c7d_costCenter"],
        "CC-1"
    );
    assert!(sel.body.get("displayName").is_none());
    let r = c
        .patch(
            &format!("/users/{zoe}"),
            json!({"jobTitle": "Staff Engineer", "mobilePhone": "+1 555"}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = c
        .patch(&format!("/users/{zoe}"), json!({"mobilePhone": null}))
        .await;
    assert_eq!(r.status, 204);
    let got = c.get(&format!("/users/{zoe}")).await;
    assert_eq!(got.body["jobTitle"], "Staff Engineer");
    assert_eq!(got.body["mobilePhone"], Value::Null);
    // The same path under /beta.
    let beta = c.get(&format!("{}/beta/users/{zoe}", server.base)).await;
    assert_eq!(beta.status, 200);
    assert!(beta.body["@odata.context"]
        .as_str()
        .unwrap_or("")
        .contains("/beta/$metadata"));

    let dup = c
        .post(
            "/users",
            json!({"displayName": "Again", "userPrincipalName": upn("ZOE")}),
        )
        .await;
    assert_graph_error(
        &dup,
        400,
        "Request_BadRequest",
        "userPrincipalName already exists",
    );

    // Manager.
    let boss = create_user(
        &c,
        json!({"displayName": "Boss", "userPrincipalName": upn("boss")}),
    )
    .await;
    let r = c
        .put(
            &format!("/users/{zoe}/manager/$ref"),
            json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/users/{boss}")}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(
        c.get(&format!("/users/{zoe}/manager")).await.body["id"],
        boss
    );
    assert!(
        c.get(&format!("/users/{zoe}/manager/$ref")).await.body["@odata.id"]
            .as_str()
            .unwrap_or("")
            .ends_with(&boss)
    );
    let reports = c.get(&format!("/users/{boss}/directReports")).await;
    assert_eq!(reports.body["value"][0]["id"], zoe);
    assert_eq!(
        reports.body["value"][0]["@odata.type"],
        "#microsoft.graph.user"
    );
    assert_eq!(
        c.delete(&format!("/users/{zoe}/manager/$ref")).await.status,
        204
    );
    assert_graph_error(
        &c.get(&format!("/users/{zoe}/manager")).await,
        404,
        "Request_ResourceNotFound",
        &zoe,
    );
    // manager@odata.bind on create.
    let ivy = create_user(
        &c,
        json!({"displayName": "Ivy", "userPrincipalName": upn("ivy"),
               "manager@odata.bind": format!("https://graph.microsoft.com/v1.0/users/{boss}")}),
    )
    .await;
    assert_eq!(
        c.get(&format!("/users/{ivy}/manager")).await.body["id"],
        boss
    );

    // Groups and members, nested.
    let r = c
        .post("/groups", json!({"displayName": "Engineering", "mailNickname": format!("eng{run}"),
                                "securityEnabled": true, "mailEnabled": false,
                                "members@odata.bind": [format!("https://graph.microsoft.com/v1.0/directoryObjects/{ivy}")]}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let eng = r.body["id"].as_str().expect("id").to_string();
    let r = c
        .post(
            "/groups",
            json!({"displayName": "Everyone", "mailNickname": format!("all{run}")}),
        )
        .await;
    let all = r.body["id"].as_str().expect("id").to_string();
    let add = |group: &str, member: &str| {
        let (c, group, member) = (&c, group.to_string(), member.to_string());
        async move {
            c.post(
                &format!("/groups/{group}/members/$ref"),
                json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{member}")}),
            )
            .await
        }
    };
    assert_eq!(add(&eng, &zoe).await.status, 204);
    assert_graph_error(
        &add(&eng, &zoe).await,
        400,
        "Request_BadRequest",
        "already exist",
    );
    assert_eq!(add(&all, &eng).await.status, 204);
    assert_graph_error(
        &add(&eng, &eng).await,
        400,
        "Request_BadRequest",
        "member of itself",
    );
    let members = c.get(&format!("/groups/{eng}/members")).await;
    let mut ids: Vec<&str> = members.body["value"]
        .as_array()
        .map(|v| v.iter().filter_map(|m| m["id"].as_str()).collect())
        .unwrap_or_default();
    ids.sort();
    let mut want = vec![zoe.as_str(), ivy.as_str()];
    want.sort();
    assert_eq!(ids, want);
    let member_of = c.get(&format!("/groups/{eng}/memberOf")).await;
    assert_eq!(member_of.body["value"][0]["id"], all);
    assert_eq!(
        c.get(&format!("/users/{zoe}/memberOf")).await.body["value"][0]["id"],
        eng
    );
    assert_eq!(
        c.delete(&format!("/groups/{eng}/members/{ivy}/$ref"))
            .await
            .status,
        204
    );
    assert_graph_error(
        &c.delete(&format!("/groups/{eng}/members/{ivy}/$ref")).await,
        404,
        "Request_ResourceNotFound",
        &ivy,
    );

    // Service principals and assignments.
    let role = "5e8f7b2a-0a4c-4c57-9b4a-0c8f2d3e4f50";
    let r = c
        .post("/servicePrincipals", json!({"displayName": "Payroll", "appRoles": [
            {"id": role, "displayName": "Admin", "value": "admin", "allowedMemberTypes": ["User"]}]}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let sp = r.body["id"].as_str().expect("id").to_string();
    assert!(r.body["appId"].as_str().is_some_and(|a| a.len() == 36));
    let r = c
        .post(
            &format!("/servicePrincipals/{sp}/appRoleAssignedTo"),
            json!({"principalId": zoe, "resourceId": sp, "appRoleId": role}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["principalType"], "User");
    assert_eq!(r.body["principalDisplayName"], "Zoë Ærø");
    assert_eq!(r.body["resourceDisplayName"], "Payroll");
    let zoe_assignment = r.body["id"].as_str().expect("id").to_string();
    let r = c
        .post(&format!("/users/{ivy}/appRoleAssignments"),
              json!({"principalId": ivy, "resourceId": sp, "appRoleId": "00000000-0000-0000-0000-000000000000"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = c
        .post(&format!("/servicePrincipals/{sp}/appRoleAssignedTo"),
              json!({"principalId": eng, "resourceId": sp, "appRoleId": "11111111-1111-1111-1111-111111111111"}))
        .await;
    assert_graph_error(
        &r,
        400,
        "Request_BadRequest",
        "Permission being assigned was not found",
    );
    let r = c
        .post(
            &format!("/servicePrincipals/{sp}/appRoleAssignedTo"),
            json!({"principalId": zoe, "resourceId": sp, "appRoleId": role}),
        )
        .await;
    assert_graph_error(&r, 400, "Request_BadRequest", "already exists");
    let assigned = c
        .get(&format!("/servicePrincipals/{sp}/appRoleAssignedTo"))
        .await;
    assert_eq!(assigned.body["value"].as_array().map(Vec::len), Some(2));
    let mine = c.get(&format!("/users/{zoe}/appRoleAssignments")).await;
    assert_eq!(mine.body["value"][0]["appRoleId"], role);
    assert_eq!(
        c.delete(&format!(
            "/servicePrincipals/{sp}/appRoleAssignedTo/{zoe_assignment}"
        ))
        .await
        .status,
        204
    );
    assert_eq!(
        c.get(&format!("/users/{zoe}/appRoleAssignments"))
            .await
            .body["value"],
        json!([])
    );

    // Soft delete, deleted items, restore, purge.
    assert_eq!(c.delete(&format!("/users/{ivy}")).await.status, 204);
    assert_graph_error(
        &c.get(&format!("/users/{ivy}")).await,
        404,
        "Request_ResourceNotFound",
        &ivy,
    );
    let deleted = c
        .get(&format!(
            "/directory/deletedItems/microsoft.graph.user?$filter=id eq '{ivy}'"
        ))
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert_eq!(deleted.body["value"][0]["id"], ivy);
    assert!(deleted.body["value"][0]["deletedDateTime"]
        .as_str()
        .is_some());
    let item = c.get(&format!("/directory/deletedItems/{ivy}")).await;
    assert_eq!(item.body["@odata.type"], "#microsoft.graph.user");
    let restored = c
        .post(&format!("/directory/deletedItems/{ivy}/restore"), json!({}))
        .await;
    assert_eq!(restored.status, 200, "{}", restored.body);
    assert_eq!(c.get(&format!("/users/{ivy}")).await.status, 200);
    assert_eq!(c.delete(&format!("/users/{ivy}")).await.status, 204);
    assert_eq!(
        c.delete(&format!("/directory/deletedItems/{ivy}"))
            .await
            .status,
        204
    );
    assert_graph_error(
        &c.post(&format!("/directory/deletedItems/{ivy}/restore"), json!({}))
            .await,
        404,
        "Request_ResourceNotFound",
        &ivy,
    );

    // OData: filters, ordering, counting and paging over a department of this run.
    let dept = format!("Sales {run}");
    let people = [
        ("Ana López", "ana", true, vec!["ana@old.example"]),
        ("Émile Zola", "emile", true, vec![]),
        ("Björn Berg", "bjorn", false, vec!["bb@old.example"]),
        ("Chloé Dubois", "chloe", true, vec![]),
        ("Dario Rossi", "dario", true, vec![]),
        ("Eun-ji Kim", "eunji", false, vec![]),
        ("Farah Haddad", "farah", true, vec![]),
    ];
    for (name, nick, enabled, other) in &people {
        create_user(
            &c,
            json!({"displayName": name, "userPrincipalName": upn(nick), "department": dept,
                   "accountEnabled": enabled, "otherMails": other,
                   "employeeHireDate": format!("20{}-01-01T00:00:00Z", 10 + nick.len())}),
        )
        .await;
    }
    let d = format!("department eq '{dept}'");
    for (filter, expected) in [
        (
            d.clone(),
            vec![
                "Ana López",
                "Björn Berg",
                "Chloé Dubois",
                "Dario Rossi",
                "Émile Zola",
                "Eun-ji Kim",
                "Farah Haddad",
            ],
        ),
        (
            format!("{d} and accountEnabled eq false"),
            vec!["Björn Berg", "Eun-ji Kim"],
        ),
        (
            format!("{d} and startsWith(displayName,'é')"),
            vec!["Émile Zola"],
        ),
        (
            format!("{d} and (startswith(displayName,'a') or endsWith(displayName,'kim'))"),
            vec!["Ana López", "Eun-ji Kim"],
        ),
        (
            format!("{d} and not(accountEnabled eq true)"),
            vec!["Björn Berg", "Eun-ji Kim"],
        ),
        (
            format!("{d} and otherMails/any(m:endsWith(m,'@old.example'))"),
            vec!["Ana López", "Björn Berg"],
        ),
        (
            format!("{d} and employeeHireDate ge 2015-01-01T00:00:00Z"),
            vec![
                "Björn Berg",
                "Émile Zola",
                "Chloé Dubois",
                "Dario Rossi",
                "Eun-ji Kim",
                "Farah Haddad",
            ],
        ),
        (
            format!(
                "userPrincipalName in ('{}','{}')",
                upn("ana").to_uppercase(),
                upn("dario")
            ),
            vec!["Ana López", "Dario Rossi"],
        ),
    ] {
        let (values, _, _) = all_pages(
            &c,
            &format!("/users?$filter={filter}&$select=displayName&$orderby=displayName"),
        )
        .await;
        let mut got = names(&values);
        let mut want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{filter}");
    }
    // Paging with $top follows nextLink through every match, in order, with a count.
    let first = c
        .get(&format!("/users?$filter={d}&$top=3&$count=true&$orderby=displayName desc&$select=displayName,department"))
        .await;
    assert_eq!(first.body["@odata.count"], 7, "{}", first.body);
    assert!(first.body["@odata.context"]
        .as_str()
        .unwrap_or("")
        .ends_with("#users(displayName,department)"));
    let (values, pages, _) = all_pages(
        &c,
        &format!("/users?$filter={d}&$top=3&$orderby=displayName desc&$select=displayName"),
    )
    .await;
    assert_eq!(pages, 3);
    assert_eq!(
        names(&values),
        [
            "Farah Haddad",
            "Eun-ji Kim",
            "Émile Zola",
            "Dario Rossi",
            "Chloé Dubois",
            "Björn Berg",
            "Ana López"
        ]
        .map(String::from)
    );
    let count = c.get("/users/$count").await;
    assert_eq!(count.status, 200);
    assert!(
        count
            .body
            .as_u64()
            .or_else(|| count.body.as_str().and_then(|s| s.parse().ok()))
            .unwrap_or(0)
            >= 9
    );

    // $batch: requests run in order; a failed dependency is 424.
    let r = c
        .post("/$batch", json!({"requests": [
            {"id": "1", "method": "POST", "url": "/users", "headers": {"Content-Type": "application/json"},
             "body": {"displayName": "Batched", "userPrincipalName": upn("batched")}},
            {"id": "2", "method": "GET", "url": format!("/users?$filter=userPrincipalName eq '{}'&$select=displayName", upn("batched")), "dependsOn": ["1"]},
            {"id": "3", "method": "GET", "url": "/users/00000000-0000-0000-0000-000000000001"},
            {"id": "4", "method": "GET", "url": "/users", "dependsOn": ["3"]}
        ]}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let statuses: Vec<(String, u64)> = r.body["responses"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| {
                    (
                        x["id"].as_str().unwrap_or("").to_string(),
                        x["status"].as_u64().unwrap_or(0),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        statuses,
        vec![
            ("1".into(), 201),
            ("2".into(), 200),
            ("3".into(), 404),
            ("4".into(), 424)
        ]
    );
    assert_eq!(
        r.body["responses"][1]["body"]["value"][0]["displayName"],
        "Batched"
    );
    assert_eq!(
        r.body["responses"][2]["body"]["error"]["code"],
        "Request_ResourceNotFound"
    );
    let too_many: Vec<Value> = (0..21)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/users"}))
        .collect();
    assert_graph_error(
        &c.post("/$batch", json!({"requests": too_many})).await,
        400,
        "BadRequest",
        "1 to 20 requests",
    );
}

/// Delta rounds read the change log: a full round, then exactly what changed.
async fn delta_scenario(server: &Server) {
    let c = server.client();
    let run = run_id();
    let upn = |n: &str| format!("{n}.{run}@delta.example");
    let a = create_user(
        &c,
        json!({"displayName": "A", "userPrincipalName": upn("a")}),
    )
    .await;
    let b = create_user(
        &c,
        json!({"displayName": "B", "userPrincipalName": upn("b")}),
    )
    .await;
    let (values, _, delta_link) = all_pages(&c, "/users/delta?$select=displayName").await;
    let ids: Vec<&str> = values.iter().filter_map(|v| v["id"].as_str()).collect();
    assert!(ids.contains(&a.as_str()) && ids.contains(&b.as_str()));
    let delta_link = delta_link.expect("a deltaLink ends the first round");
    assert!(delta_link.contains("$deltatoken=") && delta_link.contains("select=displayName"));

    // Changes since the link: an update, a new user, a deletion; each object once.
    assert_eq!(
        c.patch(&format!("/users/{a}"), json!({"displayName": "A2"}))
            .await
            .status,
        204
    );
    assert_eq!(
        c.patch(&format!("/users/{a}"), json!({"displayName": "A3"}))
            .await
            .status,
        204
    );
    let n = create_user(
        &c,
        json!({"displayName": "N", "userPrincipalName": upn("n")}),
    )
    .await;
    assert_eq!(c.delete(&format!("/users/{b}")).await.status, 204);
    let r = c.get(&delta_link).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["value"],
        json!([
            {"id": a, "displayName": "A3"},
            {"id": n, "displayName": "N"},
            {"id": b, "@removed": {"reason": "changed"}},
        ])
    );
    let next = r.body["@odata.deltaLink"]
        .as_str()
        .expect("deltaLink")
        .to_string();
    assert_eq!(c.get(&next).await.body["value"], json!([]));

    // Groups carry members@delta.
    let g = c
        .post(
            "/groups",
            json!({"displayName": "G", "mailNickname": format!("g{run}")}),
        )
        .await;
    let g = g.body["id"].as_str().expect("id").to_string();
    let (_, _, group_link) = all_pages(&c, "/groups/delta").await;
    let group_link = group_link.expect("deltaLink");
    let r = c
        .post(
            &format!("/groups/{g}/members/$ref"),
            json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{a}")}),
        )
        .await;
    assert_eq!(r.status, 204);
    let r = c.get(&group_link).await;
    assert_eq!(r.body["value"][0]["id"], g);
    assert_eq!(
        r.body["value"][0]["members@delta"],
        json!([{"@odata.type": "#microsoft.graph.user", "id": a}])
    );

    // The change log itself, from a watermark.
    let log = c
        .get(&format!(
            "{}/admin/directory/changes?after=0&top=10000",
            server.base
        ))
        .await;
    assert_eq!(log.status, 200);
    let ops: Vec<(&str, &str)> = log.body["value"]
        .as_array()
        .map(|v| {
            v.iter()
                .filter(|c| c["objectId"] == json!(a))
                .map(|c| {
                    (
                        c["op"].as_str().unwrap_or(""),
                        c["kind"].as_str().unwrap_or(""),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        ops,
        vec![
            ("created", "User"),
            ("updated", "User"),
            ("updated", "User")
        ]
    );
}

#[tokio::test]
async fn directory_api_on_sqlite() {
    let server = Server::start_graph(&[]);
    directory_scenario(&server).await;
    delta_scenario(&server).await;
}

#[tokio::test]
async fn directory_api_on_postgres() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    let server = Server::start_graph(&["--database-url", &url]);
    directory_scenario(&server).await;
    delta_scenario(&server).await;
}

/// What needs the served binary: `--admin-token` guards the API, health needs no token, and
/// a body over the limit is refused over a real connection. The rest of the error table is
/// checked in memory by crates/api/tests/errors.rs.
#[tokio::test]
async fn the_served_api_refuses_bad_tokens_and_oversized_bodies() {
    let server = Server::start_graph(&[]);
    let raw = |method: &str, path: &str, token: Option<&str>, body: Option<String>| {
        // A client per case: the server answers 413 without reading a too-large body and
        // closes that connection, which a pooled client would try to reuse.
        let mut req = reqwest::Client::new().request(
            method.parse().expect("method"),
            format!("{}{path}", server.base),
        );
        if let Some(t) = token {
            req = req.header("Authorization", t.to_string());
        }
        if let Some(b) = body {
            req = req.header("Content-Type", "application/json").body(b);
        }
        req
    };
    let bearer = format!("Bearer {TOKEN}");
    let cases: Vec<(&str, reqwest::RequestBuilder, u16, &str, &str)> = vec![
        (
            "oversized body",
            raw(
                "POST",
                "/v1.0/users",
                Some(&bearer),
                Some(format!(
                    "{{\"displayName\": \"{}\"}}",
                    "x".repeat(5 * 1024 * 1024)
                )),
            ),
            413,
            "Request_EntityTooLarge",
            "larger than the limit",
        ),
        (
            "missing token",
            raw("GET", "/v1.0/users", None, None),
            401,
            "InvalidAuthenticationToken",
            "Access token is empty",
        ),
        (
            "wrong token",
            raw("GET", "/v1.0/users", Some("Bearer nope-nope"), None),
            401,
            "InvalidAuthenticationToken",
            "Access token validation failure",
        ),
    ];
    for (what, req, status, code, message) in cases {
        let resp = req.send().await.expect(what);
        let r = Resp {
            status: resp.status().as_u16(),
            headers: resp.headers().clone(),
            body: resp.json().await.unwrap_or(Value::Null),
        };
        println!("{what}: {}", r.body);
        assert_graph_error(&r, status, code, message);
    }
    let ok = raw("GET", "/v1.0/users", Some(&bearer), None)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .ok();
    assert_eq!(ok, Some(200));
    let health = raw("GET", "/healthz", None, None)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .ok();
    assert_eq!(health, Some(200));
}

/// Without --admin-token a token is generated at first start, printed once, stored hashed,
/// and accepted after a restart.
#[tokio::test]
async fn generated_admin_token_survives_a_restart() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let data = tempfile::tempdir().expect("temp dir");
    let start = || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_provisio"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data.path())
            .env_remove("PROVISIO_ADMIN_TOKEN")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .expect("start");
        let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("line");
            let done = line.starts_with("listening on ");
            lines.push(line.trim().to_string());
            if done {
                break;
            }
        }
        (child, lines)
    };
    let (mut first, lines) = start();
    let token = lines[0]
        .strip_prefix("admin token (shown once, stored hashed): ")
        .expect("the token is printed first")
        .to_string();
    let base = lines[1]
        .strip_prefix("listening on ")
        .expect("address")
        .to_string();
    let http = reqwest::Client::new();
    let ok = http
        .get(format!("{base}/v1.0/users"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("get");
    assert_eq!(ok.status().as_u16(), 200);
    let _ = first.kill();
    let _ = first.wait();
    let stored = std::fs::read(data.path().join("directory.db")).expect("db");
    assert!(
        !String::from_utf8_lossy(&stored).contains(&token),
        "the token is stored in clear"
    );
    let (mut second, lines) = start();
    assert!(
        lines[0].starts_with("listening on "),
        "no new token on restart: {lines:?}"
    );
    let base = lines[0]
        .strip_prefix("listening on ")
        .expect("address")
        .to_string();
    let ok = http
        .get(format!("{base}/v1.0/users"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("get");
    assert_eq!(ok.status().as_u16(), 200);
    let _ = second.kill();
    let _ = second.wait();
}

/// `directory seed` and `directory import` against the real server: everything arrives, with
/// managers and members, a bad line is reported by number and the rest is imported.
#[tokio::test]
async fn seed_and_import_into_a_running_server() {
    let server = Server::start_graph(&[]);
    let c = server.client();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_provisio"))
            .args(args)
            .output()
            .expect("run provisio")
    };
    let out = run(&[
        "directory",
        "seed",
        "--users",
        "1500",
        "--groups",
        "15",
        "--url",
        &server.base,
        "--token",
        TOKEN,
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("0 failed"), "{stdout}");
    let count = c.get("/users/$count").await;
    assert_eq!(count.body, json!(1500), "{}", count.body);
    // Everyone but the CEO has a manager; department groups have members.
    let (users, _, _) = all_pages(&c, "/users?$top=999&$select=id").await;
    let mut with_manager = 0;
    for u in users.iter().take(40) {
        let id = u["id"].as_str().unwrap_or_default();
        with_manager += usize::from(c.get(&format!("/users/{id}/manager")).await.status == 200);
    }
    assert!(with_manager >= 39, "{with_manager} of 40 have a manager");
    let groups = c.get("/groups?$count=true&$top=1").await;
    assert_eq!(groups.body["@odata.count"], 15);

    // A CSV with one bad line: the others go in, the bad one is named.
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = dir.path().join("people.csv");
    std::fs::write(
        &csv,
        "userPrincipalName,displayName,accountEnabled,otherMails,manager\n\
         csv.one@contoso.example,Csv One,true,a@x.example;b@x.example,\n\
         csv.two@contoso.example,Csv Two,maybe,,csv.one@contoso.example\n\
         csv.three@contoso.example,Csv Three,false,,csv.one@contoso.example\n",
    )
    .expect("write csv");
    let out = run(&[
        "directory",
        "import",
        csv.to_str().expect("path"),
        "--url",
        &server.base,
        "--token",
        TOKEN,
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("line 3: Invalid value specified for property 'accountEnabled'"),
        "{stdout}"
    );
    let three = c
        .get("/users?$filter=userPrincipalName eq 'csv.three@contoso.example'&$select=id,accountEnabled")
        .await;
    assert_eq!(
        three.body["value"][0]["accountEnabled"], false,
        "{}",
        three.body
    );
    let id = three.body["value"][0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let manager = c
        .get(&format!("/users/{id}/manager?$select=displayName"))
        .await;
    assert_eq!(manager.body["displayName"], "Csv One");
    let one = c
        .get("/users?$filter=otherMails/any(m:m eq 'b@x.example')&$select=displayName")
        .await;
    assert_eq!(one.body["value"][0]["displayName"], "Csv One");
    let two = c
        .get("/users?$filter=userPrincipalName eq 'csv.two@contoso.example'")
        .await;
    assert_eq!(two.body["value"], json!([]));
}
