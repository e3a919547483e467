//! End-to-end behaviour of `provisio scim-server` as a SCIM client sees it.

mod common;

use common::*;
use serde_json::{json, Value};

#[tokio::test]
async fn bad_requests_get_the_right_status_and_scim_type() {
    let server = Server::start(&["--max-body-bytes", "65536"]);
    let c = server.client();
    let ann = c.post("/Users", user("ann@example.com")).await;
    assert_eq!(ann.status, 201);
    let id = ann.body["id"].as_str().expect("id").to_string();
    let user_path = format!("/Users/{id}");

    // (method, path, body, expected status, expected scimType)
    type Case<'a> = (&'a str, String, Option<Value>, u16, Option<&'a str>);
    let big = "x".repeat(70_000);
    let cases: Vec<Case> = vec![
        (
            "POST",
            "/Users".into(),
            Some(json!({"schemas": [USER], "name": {"givenName": "x"}})),
            400,
            Some("invalidValue"),
        ),
        (
            "POST",
            "/Users".into(),
            Some(json!({"userName": "no-schemas"})),
            400,
            Some("invalidSyntax"),
        ),
        (
            "POST",
            "/Users".into(),
            Some(json!({"schemas": [USER], "userName": "ANN@example.com"})),
            409,
            Some("uniqueness"),
        ),
        (
            "POST",
            "/Users".into(),
            Some(json!({"schemas": [USER], "userName": "b", "active": "maybe"})),
            400,
            Some("invalidValue"),
        ),
        (
            "POST",
            "/Users".into(),
            Some(json!({"schemas": ["urn:nope"], "userName": "c"})),
            400,
            Some("invalidSyntax"),
        ),
        (
            "POST",
            "/Users".into(),
            Some(json!({"schemas": [USER], "userName": big})),
            413,
            None,
        ),
        (
            "GET",
            "/Users?filter=userName%20eq".into(),
            None,
            400,
            Some("invalidFilter"),
        ),
        (
            "GET",
            "/Users?filter=userName%20zz%20%22a%22".into(),
            None,
            400,
            Some("invalidFilter"),
        ),
        (
            "GET",
            "/Users?filter=(userName%20eq%20%22a%22".into(),
            None,
            400,
            Some("invalidFilter"),
        ),
        (
            "GET",
            "/Users?startIndex=abc".into(),
            None,
            400,
            Some("invalidValue"),
        ),
        ("GET", "/Users/does-not-exist".into(), None, 404, None),
        (
            "PATCH",
            user_path.clone(),
            Some(patch(
                json!([{"op": "add", "path": "emails[type eq", "value": "x"}]),
            )),
            400,
            Some("invalidPath"),
        ),
        (
            "PATCH",
            user_path.clone(),
            Some(patch(
                json!([{"op": "add", "path": "noSuchAttribute", "value": "x"}]),
            )),
            400,
            Some("invalidPath"),
        ),
        (
            "PATCH",
            user_path.clone(),
            Some(patch(
                json!([{"op": "add", "path": "groups", "value": [{"value": "x"}]}]),
            )),
            400,
            Some("mutability"),
        ),
        (
            "PATCH",
            user_path.clone(),
            Some(patch(json!([{"op": "remove", "path": "userName"}]))),
            400,
            Some("mutability"),
        ),
        (
            "PATCH",
            user_path.clone(),
            Some(patch(json!([{"op": "remove"}]))),
            400,
            Some("noTarget"),
        ),
        (
            "PATCH",
            user_path.clone(),
            Some(patch(json!([{"op": "jump", "path": "title"}]))),
            400,
            Some("invalidSyntax"),
        ),
        (
            "PATCH",
            user_path.clone(),
            Some(json!({"schemas": [PATCH_OP]})),
            400,
            Some("invalidSyntax"),
        ),
        (
            "PUT",
            user_path.clone(),
            Some(json!({"schemas": [USER], "id": "other", "userName": "ann@example.com"})),
            400,
            Some("mutability"),
        ),
        ("POST", "/Schemas".into(), Some(json!({})), 405, None),
        ("GET", "/Me".into(), None, 501, None),
        ("GET", "/Nope".into(), None, 404, None),
    ];
    for (method, path, body, status, scim_type) in cases {
        let r = c.send(method, &path, body, &[]).await;
        assert_eq!(r.status, status, "{method} {path}: {}", r.body);
        assert_eq!(
            r.body["schemas"],
            json!([ERROR]),
            "{method} {path}: error schema"
        );
        assert_eq!(r.body["status"], status.to_string(), "{method} {path}");
        assert_eq!(
            r.body["scimType"].as_str(),
            scim_type,
            "{method} {path}: {}",
            r.body
        );
    }

    // Malformed JSON.
    let r = c
        .http
        .post(format!("{}/Users", server.scim))
        .header("Authorization", format!("Bearer {TOKEN}"))
        .header("Content-Type", "application/scim+json")
        .body("{\"schemas\": [")
        .send()
        .await
        .expect("request");
    assert_eq!(r.status().as_u16(), 400);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["scimType"], "invalidSyntax");

    // No token at all.
    let r = reqwest::get(format!("{}/Users", server.scim))
        .await
        .expect("request");
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(
        r.headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok()),
        Some("Bearer")
    );
}

#[tokio::test]
async fn what_microsoft_entra_sends_is_accepted() {
    let server = Server::start(&[]);
    let c = server.client();
    // Entra's POST body.
    let r = c
        .post(
            "/Users",
            json!({
                "schemas": [USER, ENTERPRISE],
                "externalId": "ann",
                "userName": "Ann@contoso.com",
                "active": true,
                "emails": [{"primary": true, "type": "work", "value": "Ann@contoso.com"}],
                "meta": {"resourceType": "User"},
                "name": {"formatted": "Ann Lee", "familyName": "Lee", "givenName": "Ann"},
                "roles": []
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().expect("id").to_string();
    let path = format!("/Users/{id}");

    // Filters Entra uses.
    for filter in [
        "userName eq \"ann@CONTOSO.com\"",
        "externalId eq \"ann\"",
        "emails[type eq \"work\"].value eq \"ann@contoso.com\"",
        "userName eq \"Ann@contoso.com\" and externalId eq \"ann\"",
    ] {
        let r = c
            .http
            .get(format!("{}/Users", server.scim))
            .query(&[("filter", filter)])
            .header("Authorization", format!("Bearer {TOKEN}"))
            .send()
            .await
            .expect("request");
        let body: Value = r.json().await.expect("json");
        assert_eq!(body["totalResults"], 1, "{filter}: {body}");
    }

    // Capitalised ops, booleans as strings, filtered paths, path-less dotted and URN keys.
    let r = c
        .patch(
            &path,
            patch(json!([
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "ann.lee@contoso.com"},
                {"op": "Replace", "path": "name.FamilyName", "value": "Lee-Smith"},
                {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0100"},
                {"op": "Replace", "value": {"name.givenName": "Anna", "DisplayName": "Anna Lee-Smith",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "7"}},
                {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "mgr-1"},
                {"op": "Replace", "path": "active", "value": "False"}
            ])),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let u = &r.body;
    assert_eq!(u["emails"][0]["value"], "ann.lee@contoso.com");
    assert_eq!(u["emails"].as_array().map(Vec::len), Some(1));
    assert_eq!(u["name"]["familyName"], "Lee-Smith");
    assert_eq!(u["name"]["givenName"], "Anna");
    assert_eq!(u["displayName"], "Anna Lee-Smith");
    assert_eq!(
        u["phoneNumbers"][0],
        json!({"type": "mobile", "value": "+1 555 0100"})
    );
    assert_eq!(u[ENTERPRISE]["employeeNumber"], "7");
    assert_eq!(u[ENTERPRISE]["manager"]["value"], "mgr-1");
    assert_eq!(u["active"], false);
    assert!(u["schemas"]
        .as_array()
        .is_some_and(|s| s.contains(&json!(ENTERPRISE))));

    // Groups: create empty, PATCH members in, remove by filter and by value list with $ref null.
    let bob = c.post("/Users", user("bob@contoso.com")).await.body["id"]
        .as_str()
        .expect("id")
        .to_string();
    let g = c
        .post("/Groups", json!({"schemas": [GROUP, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
                               "externalId": "g1", "displayName": "Sales", "meta": {"resourceType": "Group"}}))
        .await;
    assert_eq!(g.status, 201, "{}", g.body);
    let gid = g.body["id"].as_str().expect("id").to_string();
    let gpath = format!("/Groups/{gid}");
    let r = c
        .patch(
            &gpath,
            patch(json!([{"op": "Add", "path": "members",
            "value": [{"$ref": null, "value": id}, {"$ref": null, "value": bob}]}])),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["members"].as_array().map(Vec::len), Some(2));
    let members = c.get(&format!("{gpath}?excludedAttributes=members")).await;
    assert!(members.body.get("members").is_none());
    let mine = c.get(&path).await;
    assert_eq!(mine.body["groups"][0]["value"], gid.as_str());
    assert_eq!(mine.body["groups"][0]["display"], "Sales");
    let r = c
        .patch(
            &gpath,
            patch(json!([{"op": "Remove", "path": format!("members[value eq \"{id}\"]")}])),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["members"].as_array().map(Vec::len), Some(1));
    let r = c
        .patch(&gpath, patch(json!([{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": bob}]}])))
        .await;
    assert_eq!(r.status, 200);
    assert!(r.body.get("members").is_none(), "{}", r.body);
    let r = c
        .patch(
            &gpath,
            patch(json!([{"op": "Replace", "path": "displayName", "value": "Sales EMEA"}])),
        )
        .await;
    assert_eq!(r.body["displayName"], "Sales EMEA");
    let r = c
        .send(
            "GET",
            "/Groups?excludedAttributes=members&filter=displayName%20eq%20%22sales%20emea%22",
            None,
            &[],
        )
        .await;
    assert_eq!(r.body["totalResults"], 1);

    // Members need not exist (RFC 7644 §3.5.2; provisioning may add one before creating it).
    let r = c
        .patch(
            &gpath,
            patch(json!([{"op": "Add", "path": "members", "value": [{"value": "ghost"}]}])),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let members = c.get(&gpath).await.body["members"].clone();
    let ghost = members
        .as_array()
        .and_then(|m| m.iter().find(|m| m["value"] == "ghost"));
    // Not (yet) a resource: no type asserted, and no `$ref` to point at.
    assert_eq!(ghost, Some(&json!({"value": "ghost"})), "{members}");
    let r = c
        .patch(
            &gpath,
            patch(json!([{"op": "Remove", "path": "members[value eq \"ghost\"]"}])),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.get("members").is_none(), "{}", r.body);

    // Deleting a user removes it from groups.
    c.patch(
        &gpath,
        patch(json!([{"op": "Add", "path": "members", "value": [{"value": bob}]}])),
    )
    .await;
    assert_eq!(c.delete(&format!("/Users/{bob}")).await.status, 204);
    assert_eq!(c.get(&format!("/Users/{bob}")).await.status, 404);
    assert!(c.get(&gpath).await.body.get("members").is_none());
}

#[tokio::test]
async fn etags_guard_writes_and_save_reads() {
    let server = Server::start(&[]);
    let c = server.client();
    let r = c.post("/Users", user("etag@example.com")).await;
    let id = r.body["id"].as_str().expect("id").to_string();
    let path = format!("/Users/{id}");
    let etag = r
        .headers
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .expect("ETag")
        .to_string();
    assert!(etag.starts_with("W/\""), "{etag}");
    assert_eq!(r.body["meta"]["version"], etag.as_str());

    let r = c
        .send("GET", &path, None, &[("If-None-Match", &etag)])
        .await;
    assert_eq!(r.status, 304);
    let title = patch(json!([{"op": "replace", "path": "title", "value": "Boss"}]));
    let r = c
        .send(
            "PATCH",
            &path,
            Some(title.clone()),
            &[("If-Match", "W/\"999\"")],
        )
        .await;
    assert_eq!(r.status, 412);
    let r = c
        .send("PATCH", &path, Some(title.clone()), &[("If-Match", &etag)])
        .await;
    assert_eq!(r.status, 200);
    let new_etag = r
        .headers
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .expect("ETag")
        .to_string();
    assert_ne!(new_etag, etag);
    // The old tag no longer matches: the write is refused and nothing changes.
    let r = c.send("DELETE", &path, None, &[("If-Match", &etag)]).await;
    assert_eq!(r.status, 412);
    let r = c
        .send("GET", &path, None, &[("If-None-Match", &etag)])
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["title"], "Boss");
    // A PATCH that changes nothing keeps the version.
    let r = c.send("PATCH", &path, Some(title), &[]).await;
    assert_eq!(
        r.headers.get("etag").and_then(|v| v.to_str().ok()),
        Some(new_etag.as_str())
    );
    // Prefer: return=minimal answers 204.
    let r = c
        .send(
            "PATCH",
            &path,
            Some(patch(
                json!([{"op": "replace", "path": "title", "value": "CEO"}]),
            )),
            &[("Prefer", "return=minimal")],
        )
        .await;
    assert_eq!(r.status, 204);
}

#[tokio::test]
async fn concurrent_patches_all_land_and_answer_with_computed_attributes() {
    let server = Server::start(&[]);
    let c = server.client();
    let r = c.post("/Users", user("busy@example.com")).await;
    let id = r.body["id"].as_str().expect("id").to_string();
    let path = format!("/Users/{id}");
    let emails_before = r.body["emails"].as_array().map_or(0, Vec::len);
    let g = c
        .post(
            "/Groups",
            json!({"schemas": [GROUP], "displayName": "Crew", "members": [{"value": id}]}),
        )
        .await;
    assert_eq!(g.status, 201);
    let gid = g.body["id"].as_str().expect("group id").to_string();

    // Without If-Match, concurrent PATCHes of one user each land once.
    const N: usize = 20;
    let patches = (0..N).map(|i| {
        let body = patch(json!([{"op": "add", "path": "emails",
            "value": [{"value": format!("e{i}@example.com")}]}]));
        c.patch(&path, body)
    });
    for r in futures::future::join_all(patches).await {
        assert_eq!(r.status, 200, "{}", r.body);
        // The response carries the user's groups without a re-read.
        assert_eq!(r.body["groups"][0]["value"], gid.as_str());
        assert_eq!(r.body["groups"][0]["display"], "Crew");
    }
    let r = c.get(&path).await;
    assert_eq!(
        r.body["emails"].as_array().map(Vec::len),
        Some(emails_before + N)
    );
    assert_eq!(r.body["meta"]["version"], format!("W/\"{}\"", 1 + N));

    // A group's PATCH answers with its members as GET shows them.
    let gpath = format!("/Groups/{gid}");
    let r = c
        .patch(
            &gpath,
            patch(json!([{"op": "replace", "path": "displayName", "value": "Crew 2"}])),
        )
        .await;
    assert_eq!(r.status, 200);
    let fresh = c.get(&gpath).await;
    assert_eq!(r.body, fresh.body);
    assert_eq!(r.body["members"][0]["value"], id.as_str());
}

#[tokio::test]
async fn lists_sort_page_and_project() {
    let server = Server::start(&[]);
    let c = server.client();
    for (name, title) in [("carol", "b"), ("alice", "c"), ("bob", "a"), ("dave", "")] {
        let mut u = user(&format!("{name}@example.com"));
        if !title.is_empty() {
            u["title"] = json!(title);
        }
        assert_eq!(c.post("/Users", u).await.status, 201);
    }
    let names = |body: &Value| -> Vec<String> {
        body["Resources"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|r| r["userName"].as_str().unwrap_or("?").to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    let cases = [
        ("sortBy=userName", vec!["alice", "bob", "carol", "dave"]),
        (
            "sortBy=userName&sortOrder=descending",
            vec!["dave", "carol", "bob", "alice"],
        ),
        ("sortBy=title", vec!["bob", "carol", "alice", "dave"]),
        ("sortBy=userName&startIndex=2&count=2", vec!["bob", "carol"]),
        ("startIndex=3&count=5", vec!["bob", "dave"]),
        (
            "filter=title%20pr&sortBy=userName",
            vec!["alice", "bob", "carol"],
        ),
        ("filter=not%20(title%20pr)", vec!["dave"]),
        (
            "filter=userName%20sw%20%22A%22%20or%20title%20eq%20%22a%22&sortBy=userName",
            vec!["alice", "bob"],
        ),
        ("count=0", vec![]),
    ];
    for (query, expected) in cases {
        let r = c.get(&format!("/Users?{query}")).await;
        assert_eq!(r.status, 200, "{query}: {}", r.body);
        let expected: Vec<String> = expected
            .iter()
            .map(|n| format!("{n}@example.com"))
            .collect();
        assert_eq!(names(&r.body), expected, "{query}");
    }
    let r = c.get("/Users?count=0").await;
    assert_eq!(r.body["totalResults"], 4);
    assert_eq!(r.body["itemsPerPage"], 0);

    // Projection.
    let r = c.get("/Users?filter=userName%20eq%20%22bob@example.com%22&attributes=userName,name.givenName").await;
    let bob = &r.body["Resources"][0];
    assert!(bob["id"].is_string(), "id is always returned");
    assert_eq!(bob["name"], json!({"givenName": "Ann"}));
    assert!(bob.get("emails").is_none() && bob.get("meta").is_none());
    let r = c
        .get("/Users?filter=userName%20eq%20%22bob@example.com%22&excludedAttributes=emails,name")
        .await;
    let bob = &r.body["Resources"][0];
    assert!(
        bob.get("emails").is_none() && bob.get("name").is_none() && bob["userName"].is_string()
    );

    // POST /.search with the same grammar.
    let r = c
        .post("/Users/.search", json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": "userName ew \"example.com\"", "sortBy": "userName", "count": 2, "attributes": ["userName"]}))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["totalResults"], 4);
    assert_eq!(names(&r.body), vec!["alice@example.com", "bob@example.com"]);
}

#[tokio::test]
async fn bulk_resolves_bulk_ids_and_honours_fail_on_errors() {
    let server = Server::start(&[]);
    let c = server.client();
    let r = c
        .post(
            "/Bulk",
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                "Operations": [
                    // A forward reference: the group names a user created later in the request.
                    {"method": "POST", "path": "/Groups", "bulkId": "g", "data": {"schemas": [GROUP], "displayName": "Bulkers",
                        "members": [{"type": "User", "value": "bulkId:u"}]}},
                    {"method": "POST", "path": "/Users", "bulkId": "u", "data": user("bulk@example.com")},
                    {"method": "PATCH", "path": "/Users/bulkId:u", "data": patch(json!([{"op": "add", "path": "title", "value": "Bulk"}]))},
                    {"method": "POST", "path": "/Users", "bulkId": "dup", "data": user("bulk@example.com")},
                    {"method": "DELETE", "path": "/Users/unknown-id"}
                ]
            }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let ops = r.body["Operations"].as_array().expect("operations").clone();
    let statuses: Vec<&str> = ops
        .iter()
        .map(|o| o["status"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(
        statuses,
        vec!["201", "201", "200", "409", "404"],
        "{}",
        r.body
    );
    let group = c
        .get(
            ops.iter()
                .find(|o| o["bulkId"] == "g")
                .and_then(|o| o["location"].as_str())
                .expect("location"),
        )
        .await;
    let user_loc = ops
        .iter()
        .find(|o| o["bulkId"] == "u")
        .and_then(|o| o["location"].as_str())
        .expect("location");
    assert!(user_loc.ends_with(group.body["members"][0]["value"].as_str().expect("member")));
    assert_eq!(c.get(user_loc).await.body["title"], "Bulk");
    assert_eq!(ops[3]["response"]["scimType"], "uniqueness");

    // failOnErrors: 1 stops after the first error.
    let r = c
        .post("/Bulk", json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "failOnErrors": 1,
            "Operations": [
                {"method": "DELETE", "path": "/Users/nope"},
                {"method": "POST", "path": "/Users", "bulkId": "x", "data": user("never@example.com")}
            ]}))
        .await;
    assert_eq!(r.body["Operations"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        c.get("/Users?filter=userName%20eq%20%22never@example.com%22")
            .await
            .body["totalResults"],
        0
    );

    // Past the advertised maximum: 413 tooMany.
    let cfg = c.get("/ServiceProviderConfig").await;
    let max = cfg.body["bulk"]["maxOperations"]
        .as_u64()
        .expect("maxOperations") as usize;
    let ops: Vec<Value> = (0..=max)
        .map(|i| json!({"method": "DELETE", "path": format!("/Users/{i}")}))
        .collect();
    let r = c.post("/Bulk", json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": ops})).await;
    assert_eq!(r.status, 413);
    assert_eq!(r.body["scimType"], "tooMany");
}

#[tokio::test]
async fn tenants_are_isolated() {
    let server = Server::start(&[]);
    let a = common::Client {
        http: reqwest::Client::new(),
        scim: format!("{}/tenants/app-a/scim/v2", server.base),
    };
    let b = common::Client {
        http: reqwest::Client::new(),
        scim: format!("{}/tenants/app-b/scim/v2", server.base),
    };
    let created = a.post("/Users", user("same@example.com")).await;
    assert_eq!(created.status, 201);
    assert!(created.body["meta"]["location"]
        .as_str()
        .is_some_and(|l| l.contains("/tenants/app-a/scim/v2/Users/")));
    assert_eq!(
        b.post("/Users", user("same@example.com")).await.status,
        201,
        "same userName in another tenant"
    );
    let id = created.body["id"].as_str().expect("id");
    assert_eq!(b.get(&format!("/Users/{id}")).await.status, 404);
    assert_eq!(server.client().get("/Users").await.body["totalResults"], 0);
    let bad = common::Client {
        http: reqwest::Client::new(),
        scim: format!("{}/tenants/bad%20name/scim/v2", server.base),
    };
    assert_eq!(bad.get("/Users").await.status, 404);
}

#[tokio::test]
async fn discovery_describes_the_server() {
    let server = Server::start(&[]);
    let c = server.client();
    for path in ["/ServiceProviderConfig", "/serviceConfiguration"] {
        let r = c.get(path).await;
        assert_eq!(r.status, 200);
        assert_eq!(
            r.headers.get("content-type").and_then(|v| v.to_str().ok()),
            Some("application/scim+json")
        );
        for feature in ["patch", "bulk", "filter", "sort", "etag"] {
            assert_eq!(r.body[feature]["supported"], true, "{feature}");
        }
    }
    let r = c.get("/ResourceTypes").await;
    assert_eq!(r.body["totalResults"], 2);
    let r = c.get("/ResourceTypes/User").await;
    assert_eq!(r.body["schemaExtensions"][0]["schema"], ENTERPRISE);
    let r = c.get("/Schemas").await;
    assert_eq!(r.body["totalResults"], 3);
    let r = c.get(&format!("/Schemas/{USER}")).await;
    assert_eq!(r.body["attributes"][0]["name"], "userName");
    assert_eq!(c.get("/Schemas/urn:nope").await.status, 404);
}

#[tokio::test]
async fn custom_extension_schemas_load_from_a_file() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("ext.json");
    let urn = "urn:ietf:params:scim:schemas:extension:acme:2.0:User";
    std::fs::write(
        &file,
        json!({"id": urn, "name": "AcmeUser", "attributes": [
            {"name": "badge", "type": "string", "multiValued": false, "required": false, "caseExact": true, "mutability": "readWrite", "returned": "default", "uniqueness": "none"},
            {"name": "clearance", "type": "integer"}
        ]})
        .to_string(),
    )
    .expect("write");
    let server = Server::start(&["--schema-extension", file.to_str().expect("utf-8 path")]);
    let c = server.client();
    let mut u = user("ext@example.com");
    u["schemas"] = json!([USER, urn]);
    u[urn] = json!({"Badge": "B-1", "clearance": 3});
    let r = c.post("/Users", u).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body[urn], json!({"badge": "B-1", "clearance": 3}));
    let r = c
        .get(&format!("/Users?filter={urn}:badge%20eq%20%22B-1%22"))
        .await;
    assert_eq!(r.body["totalResults"], 1);
    let r = c
        .get(&format!("/Users?filter={urn}:badge%20eq%20%22b-1%22"))
        .await;
    assert_eq!(r.body["totalResults"], 0, "badge is caseExact");
    assert_eq!(c.get("/Schemas").await.body["totalResults"], 4);
}

#[tokio::test]
async fn bad_extension_schema_files_are_refused_with_the_position() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("bad.json");
    std::fs::write(&file, "{\n  \"id\": \"urn:x\",\n  \"attributes\": [\n}").expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_provisio"))
        .args([
            "scim-server",
            "--token",
            "t",
            "--listen",
            "127.0.0.1:0",
            "--schema-extension",
        ])
        .arg(&file)
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.json") && err.contains("line 4"), "{err}");
}

#[tokio::test]
async fn fault_injection_misbehaves_on_request() {
    // Every request fails with the chosen status and a Retry-After.
    let server = Server::start(&["--fault-rate", "1", "--fault-status", "503"]);
    let r = server.client().get("/Users").await;
    assert_eq!(r.status, 503);
    assert_eq!(
        r.headers.get("retry-after").and_then(|v| v.to_str().ok()),
        Some("1")
    );
    assert_eq!(r.body["schemas"], json!([ERROR]));

    // A rate limit of 3 per second: a burst of 10 sees 429s with Retry-After.
    let server = Server::start(&["--rate-limit", "3"]);
    let c = server.client();
    let mut statuses = Vec::new();
    for _ in 0..10 {
        let r = c.get("/Users").await;
        if r.status == 429 {
            assert!(r.headers.get("retry-after").is_some());
        }
        statuses.push(r.status);
    }
    assert!(
        statuses.contains(&429) && statuses.contains(&200),
        "{statuses:?}"
    );

    // Dropped connections: the client sees a transport error, not a response.
    let server = Server::start(&["--drop-rate", "1"]);
    let r = reqwest::Client::new()
        .get(format!("{}/Users", server.scim))
        .header("Authorization", format!("Bearer {TOKEN}"))
        .send()
        .await;
    let failed = match r {
        Err(_) => true,
        Ok(resp) => resp.bytes().await.is_err(),
    };
    assert!(failed, "the response should be cut off");

    // The same seed gives the same sequence of faults.
    let run = |seed: &'static str| async move {
        let server = Server::start(&["--fault-rate", "0.5", "--fault-seed", seed]);
        let c = server.client();
        let mut out = Vec::new();
        for _ in 0..20 {
            out.push(c.get("/ServiceProviderConfig").await.status);
        }
        out
    };
    let first = run("42").await;
    assert_eq!(first, run("42").await);
    assert!(first.contains(&503) && first.contains(&200), "{first:?}");

    // Invalid fault flags are refused with a message.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_provisio"))
        .args(["scim-server", "--token", "t", "--fault-rate", "1.5"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--fault-rate must be between 0 and 1"));
}

#[tokio::test]
async fn sorting_more_than_the_server_will_gather_is_too_many() {
    let server = Server::start(&["--max-sort-resources", "2"]);
    let c = server.client();
    for name in ["a@x.com", "b@x.com", "c@x.com"] {
        assert_eq!(c.post("/Users", user(name)).await.status, 201);
    }
    let r = c.get("/Users?sortBy=userName").await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["scimType"], "tooMany");
    // Narrowed by a filter, the same sort is fine; unsorted lists page through everything.
    let r = c
        .get("/Users?sortBy=userName&filter=userName%20eq%20%22b@x.com%22")
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["totalResults"], 1);
    assert_eq!(
        c.get("/Users?count=1&startIndex=3").await.body["Resources"][0]["userName"],
        "c@x.com"
    );
}

#[tokio::test]
async fn the_journal_records_every_answered_request_with_the_id_a_create_made() {
    let dir = tempfile::tempdir().expect("temp dir");
    let journal = dir.path().join("requests.jsonl");
    let journal_arg = journal.to_string_lossy().into_owned();
    let server = Server::start(&["--journal", &journal_arg, "--max-body-bytes", "4096"]);
    let c = server.client();
    let ann = c.post("/Users", user("ann@example.com")).await;
    assert_eq!(ann.status, 201);
    let id = ann.body["id"].as_str().expect("id").to_string();
    let missing = c.get("/Users/does-not-exist").await;
    assert_eq!(missing.status, 404);
    let filter = "/Users?filter=userName%20eq%20%22ann@example.com%22";
    assert_eq!(c.get(filter).await.status, 200);
    // Too large for the server's limit: refused in SCIM's shape, still journaled as nothing.
    let big = c
        .post(
            "/Users",
            json!({"schemas": [USER], "userName": "x".repeat(5000)}),
        )
        .await;
    assert_eq!(big.status, 413);
    assert_eq!(big.body["status"], json!("413"));

    // The writer flushes when idle: poll until the three lines are there.
    let mut lines: Vec<Value> = Vec::new();
    for _ in 0..100 {
        let text = std::fs::read_to_string(&journal).unwrap_or_default();
        lines = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect();
        if lines.len() >= 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let summary: Vec<(String, String, u64, Option<String>)> = lines
        .iter()
        .map(|l| {
            (
                l["method"].as_str().unwrap_or_default().to_string(),
                l["uri"].as_str().unwrap_or_default().to_string(),
                l["status"].as_u64().unwrap_or_default(),
                l["created"].as_str().map(str::to_string),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("POST".into(), "/scim/v2/Users".into(), 201, Some(id)),
            (
                "GET".into(),
                "/scim/v2/Users/does-not-exist".into(),
                404,
                None
            ),
            ("GET".into(), format!("/scim/v2{filter}"), 200, None),
        ]
    );
    let body: Value =
        serde_json::from_str(lines[0]["body"].as_str().expect("the POST's body")).expect("JSON");
    assert_eq!(body["userName"], json!("ann@example.com"));
    assert!(lines[1].get("body").is_none());
    assert!(lines[0]["at"].as_str().is_some_and(|t| t.ends_with('Z')));
}
