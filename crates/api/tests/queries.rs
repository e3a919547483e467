//! OData query options, paging, counting, JSON batching, delta rounds and the change log,
//! driven over HTTP against the in-memory directory.

mod common;

use common::{names, Api};
use serde_json::{json, Value};

const DEPARTMENT: &str = "Sales";

/// Seven users of one department with varied names, flags, mails and hire dates, and one
/// user outside it.
async fn sales_team(api: &Api) {
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
        api.create(
            "users",
            json!({"displayName": name, "userPrincipalName": format!("{nick}@contoso.example"),
                   "department": DEPARTMENT, "accountEnabled": enabled, "otherMails": other,
                   "employeeHireDate": format!("20{}-01-01T00:00:00Z", 10 + nick.len())}),
        )
        .await;
    }
    api.user("outsider@contoso.example", "Ada Outsider").await;
}

#[tokio::test]
async fn filters_select_the_matching_users() {
    let api = Api::new();
    sales_team(&api).await;
    let d = format!("department eq '{DEPARTMENT}'");
    let cases: Vec<(String, Vec<&str>)> = vec![
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
            "userPrincipalName in ('ANA@CONTOSO.EXAMPLE','dario@contoso.example')".to_string(),
            vec!["Ana López", "Dario Rossi"],
        ),
        (
            "startsWith(displayName,'a')".to_string(),
            vec!["Ana López", "Ada Outsider"],
        ),
        ("displayName eq 'nobody'".to_string(), vec![]),
    ];
    for (filter, expected) in cases {
        let (values, _, _) = api
            .all_pages(&format!(
                "/users?$filter={filter}&$select=displayName&$orderby=displayName"
            ))
            .await;
        let mut got = names(&values);
        let mut want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{filter}");
    }
}

#[tokio::test]
async fn pages_follow_next_links_in_order_with_a_count() {
    let api = Api::new();
    sales_team(&api).await;
    let d = format!("department eq '{DEPARTMENT}'");
    let first = api
        .get(&format!(
            "/users?$filter={d}&$top=3&$count=true&$orderby=displayName desc&$select=displayName,department"
        ))
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["@odata.count"], 7, "{}", first.body);
    assert_eq!(first.body["value"].as_array().map(Vec::len), Some(3));
    assert!(first.body["@odata.context"]
        .as_str()
        .unwrap_or("")
        .ends_with("#users(displayName,department)"));

    let descending = [
        "Farah Haddad",
        "Eun-ji Kim",
        "Émile Zola",
        "Dario Rossi",
        "Chloé Dubois",
        "Björn Berg",
        "Ana López",
    ];
    let ascending: Vec<&str> = descending.iter().rev().copied().collect();
    for (query, pages, expected) in [
        (
            format!("/users?$filter={d}&$top=3&$orderby=displayName desc&$select=displayName"),
            3,
            descending.to_vec(),
        ),
        (
            format!("/users?$filter={d}&$top=2&$orderby=displayName&$select=displayName"),
            4,
            ascending.clone(),
        ),
        (
            format!("/users?$filter={d}&$top=7&$orderby=displayName&$select=displayName"),
            1,
            ascending.clone(),
        ),
        (
            format!("/beta/users?$filter={d}&$top=4&$orderby=displayName&$select=displayName"),
            2,
            ascending,
        ),
    ] {
        let (values, got_pages, _) = api.all_pages(&query).await;
        assert_eq!(got_pages, pages, "{query}");
        assert_eq!(names(&values), expected, "{query}");
    }

    // Without $orderby pages go by id: every user once.
    let (values, pages, _) = api.all_pages("/users?$top=3&$select=id").await;
    assert_eq!(pages, 3);
    let mut ids: Vec<&str> = values.iter().filter_map(|v| v["id"].as_str()).collect();
    let listed = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!((listed, ids.len()), (8, 8));
}

#[tokio::test]
async fn counts_answer_the_number_of_live_objects() {
    let api = Api::new();
    sales_team(&api).await;
    api.group("team").await;
    let outsider = api
        .get("/users?$filter=userPrincipalName eq 'outsider@contoso.example'&$select=id")
        .await;
    let outsider = outsider.body["value"][0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    assert_eq!(api.delete(&format!("/users/{outsider}")).await.status, 204);
    for (path, expected) in [
        ("/users/$count", 7),
        ("/groups/$count", 1),
        ("/servicePrincipals/$count", 0),
    ] {
        let r = api.get(path).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        let count = r
            .body
            .as_u64()
            .or_else(|| r.body.as_str().and_then(|s| s.parse().ok()));
        assert_eq!(count, Some(expected), "{path}: {}", r.body);
    }
    let groups = api.get("/groups?$count=true&$top=1").await;
    assert_eq!(groups.body["@odata.count"], 1);
}

#[tokio::test]
async fn batches_run_in_order_and_fail_dependents_of_failures() {
    let api = Api::new();
    let r = api
        .post("/$batch", json!({"requests": [
            {"id": "1", "method": "POST", "url": "/users", "headers": {"Content-Type": "application/json"},
             "body": {"displayName": "Batched", "userPrincipalName": "batched@contoso.example"}},
            {"id": "2", "method": "GET", "url": "/users?$filter=userPrincipalName eq 'batched@contoso.example'&$select=displayName", "dependsOn": ["1"]},
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
    common::assert_graph_error(
        &api.post("/$batch", json!({"requests": too_many})).await,
        400,
        "BadRequest",
        "1 to 20 requests",
    );
}

#[tokio::test]
async fn delta_rounds_return_what_changed_once() {
    let api = Api::new();
    let a = api.user("a@delta.example", "A").await;
    let b = api.user("b@delta.example", "B").await;
    let (values, _, delta_link) = api.all_pages("/users/delta?$select=displayName").await;
    let mut ids: Vec<&str> = values.iter().filter_map(|v| v["id"].as_str()).collect();
    ids.sort();
    let mut want = vec![a.as_str(), b.as_str()];
    want.sort();
    assert_eq!(ids, want);
    let delta_link = delta_link.expect("a deltaLink ends the first round");
    assert!(delta_link.contains("$deltatoken=") && delta_link.contains("select=displayName"));

    // Changes since the link: an update, a new user, a deletion; each object once.
    for name in ["A2", "A3"] {
        let r = api
            .patch(&format!("/users/{a}"), json!({"displayName": name}))
            .await;
        assert_eq!(r.status, 204);
    }
    let n = api.user("n@delta.example", "N").await;
    assert_eq!(api.delete(&format!("/users/{b}")).await.status, 204);
    let r = api.get(&delta_link).await;
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
    assert_eq!(api.get(&next).await.body["value"], json!([]));
}

#[tokio::test]
async fn group_deltas_carry_member_changes() {
    let api = Api::new();
    let a = api.user("a@delta.example", "A").await;
    let g = api.group("g").await;
    let (_, _, group_link) = api.all_pages("/groups/delta").await;
    let group_link = group_link.expect("deltaLink");
    assert_eq!(api.add_member(&g, &a).await.status, 204);
    let r = api.get(&group_link).await;
    assert_eq!(r.body["value"][0]["id"], g);
    assert_eq!(
        r.body["value"][0]["members@delta"],
        json!([{"@odata.type": "#microsoft.graph.user", "id": a}])
    );
}

#[tokio::test]
async fn the_change_log_reads_from_a_watermark() {
    let api = Api::new();
    let a = api.user("a@log.example", "A").await;
    for name in ["A2", "A3"] {
        api.patch(&format!("/users/{a}"), json!({"displayName": name}))
            .await;
    }
    let g = api.group("g").await;
    assert_eq!(api.add_member(&g, &a).await.status, 204);

    let log = api.get("/admin/directory/changes?after=0&top=10000").await;
    assert_eq!(log.status, 200, "{}", log.body);
    let entries: Vec<(String, String, String)> = log.body["value"]
        .as_array()
        .map(|v| {
            v.iter()
                .map(|c| {
                    let text = |name: &str| c[name].as_str().unwrap_or("").to_string();
                    (text("objectId"), text("op"), text("kind"))
                })
                .collect()
        })
        .unwrap_or_default();
    let row = |id: &str, op: &str, kind: &str| (id.to_string(), op.to_string(), kind.to_string());
    assert_eq!(
        entries,
        vec![
            row(&a, "created", "User"),
            row(&a, "updated", "User"),
            row(&a, "updated", "User"),
            row(&g, "created", "Group"),
            row(&g, "memberAdded", "Group"),
        ]
    );
    let seqs: Vec<i64> = log.body["value"]
        .as_array()
        .map(|v| v.iter().filter_map(|c| c["seq"].as_i64()).collect())
        .unwrap_or_default();
    assert_eq!(seqs.len(), 5, "{}", log.body);

    // From the third change on, two at a time.
    let rest = api
        .get(&format!("/admin/directory/changes?after={}&top=2", seqs[2]))
        .await;
    assert_eq!(rest.status, 200, "{}", rest.body);
    let all = log.body["value"].as_array().cloned().unwrap_or_default();
    assert_eq!(rest.body["value"], Value::Array(all[3..5].to_vec()));
    assert_eq!(rest.body["watermark"], all[4]["seq"]);
}
