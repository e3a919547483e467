//! Users, groups, service principals and their references, driven over HTTP as a Graph
//! script or SDK would, against the in-memory directory.

mod common;

use common::{assert_graph_error, sorted_ids, Api};
use serde_json::{json, Value};

const EXTENSION: &str = "extension_8f2c6c1e0f2a4f8b9c1d2e3f4a5b6c7d_costCenter";

#[tokio::test]
async fn users_are_created_read_selected_updated_and_cleared() {
    let api = Api::new();
    let r = api
        .post(
            "/users",
            json!({"accountEnabled": true, "displayName": "Zoë Ærø", "mailNickname": "zoe",
                   "userPrincipalName": "zoe@contoso.example", "passwordProfile": {"password": "x"},
                   "department": "R&D", "jobTitle": "Engineer", EXTENSION: "CC-1"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let zoe = r.id();
    assert!(r.body["@odata.context"]
        .as_str()
        .unwrap_or("")
        .ends_with("/v1.0/$metadata#users/$entity"));
    assert!(r.body["createdDateTime"].as_str().is_some());
    assert!(r.body.get("passwordProfile").is_none(), "{}", r.body);
    assert!(r
        .header("location")
        .is_some_and(|l| l.ends_with(&format!("/v1.0/users/{zoe}"))));

    // Graph's default property set: department is not in it, absent ones are null.
    let got = api.get(&format!("/users/{zoe}")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["displayName"], "Zoë Ærø");
    assert!(got.body.get("department").is_none());
    assert_eq!(got.body["mobilePhone"], Value::Null);
    let selected = api
        .get(&format!("/users/{zoe}?$select=department,{EXTENSION}"))
        .await;
    assert_eq!(selected.body["department"], "R&D");
    assert_eq!(selected.body[EXTENSION], "CC-1");
    assert!(selected.body.get("displayName").is_none());

    let r = api
        .patch(
            &format!("/users/{zoe}"),
            json!({"jobTitle": "Staff Engineer", "mobilePhone": "+1 555"}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = api
        .patch(&format!("/users/{zoe}"), json!({"mobilePhone": null}))
        .await;
    assert_eq!(r.status, 204);
    let got = api.get(&format!("/users/{zoe}")).await;
    assert_eq!(got.body["jobTitle"], "Staff Engineer");
    assert_eq!(got.body["mobilePhone"], Value::Null);

    // The same path under /beta.
    let beta = api.get(&format!("/beta/users/{zoe}")).await;
    assert_eq!(beta.status, 200);
    assert!(beta.body["@odata.context"]
        .as_str()
        .unwrap_or("")
        .contains("/beta/$metadata"));

    let dup = api
        .post(
            "/users",
            json!({"displayName": "Again", "userPrincipalName": "ZOE@contoso.example"}),
        )
        .await;
    assert_graph_error(
        &dup,
        400,
        "Request_BadRequest",
        "userPrincipalName already exists",
    );
}

#[tokio::test]
async fn a_manager_is_set_read_and_removed() {
    let api = Api::new();
    let zoe = api.user("zoe@contoso.example", "Zoë").await;
    let boss = api.user("boss@contoso.example", "Boss").await;
    let r = api
        .put(
            &format!("/users/{zoe}/manager/$ref"),
            json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/users/{boss}")}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(
        api.get(&format!("/users/{zoe}/manager")).await.body["id"],
        boss
    );
    assert!(
        api.get(&format!("/users/{zoe}/manager/$ref")).await.body["@odata.id"]
            .as_str()
            .unwrap_or("")
            .ends_with(&boss)
    );
    let reports = api.get(&format!("/users/{boss}/directReports")).await;
    assert_eq!(reports.body["value"][0]["id"], zoe);
    assert_eq!(
        reports.body["value"][0]["@odata.type"],
        "#microsoft.graph.user"
    );
    assert_eq!(
        api.delete(&format!("/users/{zoe}/manager/$ref"))
            .await
            .status,
        204
    );
    assert_graph_error(
        &api.get(&format!("/users/{zoe}/manager")).await,
        404,
        "Request_ResourceNotFound",
        &zoe,
    );

    // manager@odata.bind on create.
    let ivy = api
        .create(
            "users",
            json!({"displayName": "Ivy", "userPrincipalName": "ivy@contoso.example",
                   "manager@odata.bind": format!("https://graph.microsoft.com/v1.0/users/{boss}")}),
        )
        .await;
    assert_eq!(
        api.get(&format!("/users/{ivy}/manager")).await.body["id"],
        boss
    );
}

#[tokio::test]
async fn groups_nest_and_list_their_members() {
    let api = Api::new();
    let zoe = api.user("zoe@contoso.example", "Zoë").await;
    let ivy = api.user("ivy@contoso.example", "Ivy").await;
    let r = api
        .post(
            "/groups",
            json!({"displayName": "Engineering", "mailNickname": "eng",
                   "securityEnabled": true, "mailEnabled": false,
                   "members@odata.bind": [format!("https://graph.microsoft.com/v1.0/directoryObjects/{ivy}")]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let eng = r.id();
    let all = api.group("all").await;

    assert_eq!(api.add_member(&eng, &zoe).await.status, 204);
    assert_graph_error(
        &api.add_member(&eng, &zoe).await,
        400,
        "Request_BadRequest",
        "already exist",
    );
    assert_eq!(api.add_member(&all, &eng).await.status, 204);
    assert_graph_error(
        &api.add_member(&eng, &eng).await,
        400,
        "Request_BadRequest",
        "member of itself",
    );
    let members = api.get(&format!("/groups/{eng}/members")).await;
    let mut want = vec![zoe.clone(), ivy.clone()];
    want.sort();
    assert_eq!(sorted_ids(&members.body["value"]), want);
    assert_eq!(
        api.get(&format!("/groups/{eng}/memberOf")).await.body["value"][0]["id"],
        all
    );
    assert_eq!(
        api.get(&format!("/users/{zoe}/memberOf")).await.body["value"][0]["id"],
        eng
    );
    assert_eq!(
        api.delete(&format!("/groups/{eng}/members/{ivy}/$ref"))
            .await
            .status,
        204
    );
    assert_graph_error(
        &api.delete(&format!("/groups/{eng}/members/{ivy}/$ref"))
            .await,
        404,
        "Request_ResourceNotFound",
        &ivy,
    );
    assert_eq!(
        sorted_ids(&api.get(&format!("/groups/{eng}/members")).await.body["value"]),
        vec![zoe]
    );
}

#[tokio::test]
async fn service_principals_take_app_role_assignments() {
    let api = Api::new();
    let zoe = api.user("zoe@contoso.example", "Zoë Ærø").await;
    let ivy = api.user("ivy@contoso.example", "Ivy").await;
    let eng = api.group("eng").await;
    let role = "5e8f7b2a-0a4c-4c57-9b4a-0c8f2d3e4f50";
    let r = api
        .post(
            "/servicePrincipals",
            json!({"displayName": "Payroll", "appRoles": [
                {"id": role, "displayName": "Admin", "value": "admin", "allowedMemberTypes": ["User"]}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let sp = r.id();
    assert!(r.body["appId"].as_str().is_some_and(|a| a.len() == 36));

    let r = api
        .post(
            &format!("/servicePrincipals/{sp}/appRoleAssignedTo"),
            json!({"principalId": zoe, "resourceId": sp, "appRoleId": role}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["principalType"], "User");
    assert_eq!(r.body["principalDisplayName"], "Zoë Ærø");
    assert_eq!(r.body["resourceDisplayName"], "Payroll");
    let zoe_assignment = r.id();
    let r = api
        .post(
            &format!("/users/{ivy}/appRoleAssignments"),
            json!({"principalId": ivy, "resourceId": sp,
                   "appRoleId": "00000000-0000-0000-0000-000000000000"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);

    for (body, message) in [
        (
            json!({"principalId": eng, "resourceId": sp,
                   "appRoleId": "11111111-1111-1111-1111-111111111111"}),
            "Permission being assigned was not found",
        ),
        (
            json!({"principalId": zoe, "resourceId": sp, "appRoleId": role}),
            "already exists",
        ),
    ] {
        let r = api
            .post(&format!("/servicePrincipals/{sp}/appRoleAssignedTo"), body)
            .await;
        assert_graph_error(&r, 400, "Request_BadRequest", message);
    }

    let assigned = api
        .get(&format!("/servicePrincipals/{sp}/appRoleAssignedTo"))
        .await;
    assert_eq!(assigned.body["value"].as_array().map(Vec::len), Some(2));
    let mine = api.get(&format!("/users/{zoe}/appRoleAssignments")).await;
    assert_eq!(mine.body["value"][0]["appRoleId"], role);
    assert_eq!(
        api.delete(&format!(
            "/servicePrincipals/{sp}/appRoleAssignedTo/{zoe_assignment}"
        ))
        .await
        .status,
        204
    );
    assert_eq!(
        api.get(&format!("/users/{zoe}/appRoleAssignments"))
            .await
            .body["value"],
        json!([])
    );
}

#[tokio::test]
async fn deleted_users_are_listed_restored_and_purged() {
    let api = Api::new();
    let ivy = api.user("ivy@contoso.example", "Ivy").await;
    assert_eq!(api.delete(&format!("/users/{ivy}")).await.status, 204);
    assert_graph_error(
        &api.get(&format!("/users/{ivy}")).await,
        404,
        "Request_ResourceNotFound",
        &ivy,
    );
    let deleted = api
        .get(&format!(
            "/directory/deletedItems/microsoft.graph.user?$filter=id eq '{ivy}'"
        ))
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert_eq!(deleted.body["value"][0]["id"], ivy);
    assert!(deleted.body["value"][0]["deletedDateTime"]
        .as_str()
        .is_some());
    let item = api.get(&format!("/directory/deletedItems/{ivy}")).await;
    assert_eq!(item.body["@odata.type"], "#microsoft.graph.user");

    let restored = api
        .post(&format!("/directory/deletedItems/{ivy}/restore"), json!({}))
        .await;
    assert_eq!(restored.status, 200, "{}", restored.body);
    assert_eq!(api.get(&format!("/users/{ivy}")).await.status, 200);

    assert_eq!(api.delete(&format!("/users/{ivy}")).await.status, 204);
    assert_eq!(
        api.delete(&format!("/directory/deletedItems/{ivy}"))
            .await
            .status,
        204
    );
    assert_graph_error(
        &api.post(&format!("/directory/deletedItems/{ivy}/restore"), json!({}))
            .await,
        404,
        "Request_ResourceNotFound",
        &ivy,
    );
}
