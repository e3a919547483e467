//! Provisioning rows end to end: each test drives `provisio serve` through the Graph API as
//! an admin would, step by step, and after each step polls the separate `provisio
//! scim-server` until it holds what Entra's documented behaviour says it should.

mod common;

use common::provisioning::{eventually, world, World};
use common::ENTERPRISE;
use serde_json::{json, Value};

fn member_ids(group: &Value) -> Vec<String> {
    group["members"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["value"].as_str().map(str::to_string))
        .collect()
}

fn id_of(account: &Value) -> String {
    account["id"].as_str().expect("target id").to_string()
}

fn department_is(account: &Value, department: &str) -> bool {
    account[ENTERPRISE]["department"] == department || account["department"] == department
}

/// A change the next incremental cycle must carry: once the target shows it, that cycle
/// has also seen every directory change made before it.
async fn barrier(w: &World, login: &str, department: &str) {
    w.patch_user(
        &format!("{login}@contoso.test"),
        json!({"department": department}),
    )
    .await;
    w.target_user(&format!("{login}@contoso.test"), |u| {
        department_is(u, department)
    })
    .await;
}

#[tokio::test]
async fn group_assignment_provisions_members_and_follows_membership() {
    let w = world().await;
    let ann = w.user("ann", "ann").await;
    let bob = w.user("bob", "bob").await;
    let carol = w.user("carol", "carol").await;
    // Ann is assigned directly too, so she stays in scope when she leaves the group.
    w.assign(&ann).await;
    let team = w.group("Team", &[&ann, &bob]).await;
    let assignment = w.assign(&team).await;
    let job = w.job().await;
    w.start(&job).await;

    let ann_account = w
        .target_user("ann@contoso.test", |u| u["active"] == true)
        .await;
    let bob_account = w
        .target_user("bob@contoso.test", |u| u["active"] == true)
        .await;
    let (ann_id, bob_id) = (id_of(&ann_account), id_of(&bob_account));
    w.target_group("Team", |g| {
        let members = member_ids(g);
        members.contains(&ann_id) && members.contains(&bob_id)
    })
    .await;

    // A member added in the directory is provisioned and added to the target group.
    w.add_member(&team, &carol).await;
    let carol_account = w
        .target_user("carol@contoso.test", |u| u["active"] == true)
        .await;
    let carol_id = id_of(&carol_account);
    w.target_group("Team", |g| member_ids(g).contains(&carol_id))
        .await;

    // A member removed in the directory leaves the target group; her own assignment keeps
    // her account active.
    w.remove_member(&team, &ann).await;
    w.target_group("Team", |g| !member_ids(g).contains(&ann_id))
        .await;
    let ann_account = w.target_user("ann@contoso.test", |_| true).await;
    assert_eq!(ann_account["active"], true, "{ann_account}");

    // Carol, in scope through the group only, leaves it: disabled, and out of the group.
    w.remove_member(&team, &carol).await;
    w.target_user("carol@contoso.test", |u| u["active"] == false)
        .await;
    w.target_group("Team", |g| !member_ids(g).contains(&carol_id))
        .await;

    // Unassigning the group takes its members out of scope: their accounts are disabled.
    w.unassign(&assignment).await;
    w.target_user("bob@contoso.test", |u| u["active"] == false)
        .await;
    barrier(&w, "ann", "Legal").await;
    let ann_account = w.target_user("ann@contoso.test", |_| true).await;
    assert_eq!(ann_account["active"], true, "{ann_account}");
}

#[tokio::test]
async fn disable_soft_delete_restore_and_purge_reach_the_target() {
    let w = world().await;
    let ann = w.user("ann", "ann").await;
    w.assign(&ann).await;
    let job = w.job().await;
    w.start(&job).await;
    w.target_user("ann@contoso.test", |u| u["active"] == true)
        .await;

    // Steps in order: (the directory call, then whether the account is active).
    w.patch_user(&ann, json!({"accountEnabled": false})).await;
    w.target_user("ann@contoso.test", |u| u["active"] == false)
        .await;
    w.patch_user(&ann, json!({"accountEnabled": true})).await;
    w.target_user("ann@contoso.test", |u| u["active"] == true)
        .await;

    // Soft delete disables; restore enables the same account again.
    let r = w.graph.delete(&format!("/users/{ann}")).await;
    assert_eq!(r.status, 204, "{}", r.body);
    w.target_user("ann@contoso.test", |u| u["active"] == false)
        .await;
    let r = w
        .graph
        .post(&format!("/directory/deletedItems/{ann}/restore"), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    w.target_user("ann@contoso.test", |u| u["active"] == true)
        .await;

    // Purge (hard delete) deletes the account in the target.
    let r = w.graph.delete(&format!("/users/{ann}")).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = w
        .graph
        .delete(&format!("/directory/deletedItems/{ann}"))
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    eventually("the account deleted in the target", || async {
        (w.target_count("ann@contoso.test").await == 0).then_some(())
    })
    .await;
    let r = w.scim.get("/Users?count=10").await;
    assert_eq!(r.body["totalResults"], 0, "{}", r.body);
}

#[tokio::test]
async fn skip_out_of_scope_deletions_leaves_an_unassigned_account_active() {
    let w = world().await;
    let ann = w.user("ann", "ann").await;
    let bob = w.user("bob", "bob").await;
    let assignment = w.assign(&ann).await;
    w.assign(&bob).await;
    let job = w.job().await;
    w.secrets(&[("SkipOutOfScopeDeletions", "True")]).await;
    w.start(&job).await;
    w.target_user("ann@contoso.test", |u| u["active"] == true)
        .await;

    w.unassign(&assignment).await;
    barrier(&w, "bob", "Legal").await;
    let ann_account = w.target_user("ann@contoso.test", |_| true).await;
    assert_eq!(ann_account["active"], true, "{ann_account}");

    // The secret covers leaving scope only: a soft delete still disables the account.
    let r = w.graph.delete(&format!("/users/{bob}")).await;
    assert_eq!(r.status, 204, "{}", r.body);
    w.target_user("bob@contoso.test", |u| u["active"] == false)
        .await;
}

#[tokio::test]
async fn a_scoping_filter_moves_accounts_in_and_out_of_scope() {
    let w = world().await;
    let ann = w.user("ann", "ann").await;
    let bob = w.user("bob", "bob").await;
    w.patch_user(&bob, json!({"department": "Legal"})).await;
    w.assign(&ann).await;
    w.assign(&bob).await;
    let job = w.job().await;
    w.start(&job).await;
    w.target_user("ann@contoso.test", |u| u["active"] == true)
        .await;
    w.target_user("bob@contoso.test", |u| u["active"] == true)
        .await;

    // Only Sales is in scope from now on.
    let schema_path = w.sync(&format!("/jobs/{job}/schema"));
    let mut schema = w.graph.get(&schema_path).await.body;
    for rule in schema["synchronizationRules"]
        .as_array_mut()
        .into_iter()
        .flatten()
    {
        for mapping in rule["objectMappings"].as_array_mut().into_iter().flatten() {
            if mapping["targetObjectName"] == "User" {
                mapping["scope"] = json!({"groups": [{"clauses": [{
                    "operatorName": "EQUALS",
                    "sourceOperandName": "department",
                    "targetOperand": {"values": ["Sales"]}
                }]}]});
            }
        }
    }
    let r = w.graph.put(&schema_path, schema).await;
    assert_eq!(r.status, 204, "{}", r.body);

    w.target_user("bob@contoso.test", |u| u["active"] == false)
        .await;
    let ann_account = w.target_user("ann@contoso.test", |_| true).await;
    assert_eq!(ann_account["active"], true, "{ann_account}");

    // Moving between departments moves accounts in and out of scope.
    w.patch_user(&bob, json!({"department": "Sales"})).await;
    w.target_user("bob@contoso.test", |u| u["active"] == true)
        .await;
    w.patch_user(&ann, json!({"department": "Legal"})).await;
    w.target_user("ann@contoso.test", |u| u["active"] == false)
        .await;
}

#[tokio::test]
async fn the_target_manager_follows_the_directory_manager() {
    let w = world().await;
    let ann = w.user("ann", "ann").await;
    let boss = w.user("boss", "boss").await;
    let chief = w.user("chief", "chief").await;
    w.assign(&ann).await;
    w.assign(&boss).await;
    w.set_manager(&ann, &boss).await;
    let job = w.job().await;
    w.start(&job).await;

    let boss_id = id_of(&w.target_user("boss@contoso.test", |_| true).await);
    w.target_user("ann@contoso.test", |u| {
        u[ENTERPRISE]["manager"]["value"] == boss_id.as_str()
    })
    .await;

    // A new manager who is not provisioned yet: once assigned, Ann's manager points at the
    // new account.
    w.set_manager(&ann, &chief).await;
    w.assign(&chief).await;
    let chief_id = id_of(
        &w.target_user("chief@contoso.test", |u| u["active"] == true)
            .await,
    );
    w.target_user("ann@contoso.test", |u| {
        u[ENTERPRISE]["manager"]["value"] == chief_id.as_str()
    })
    .await;

    // Removing the manager in the directory clears it in the target.
    let r = w.graph.delete(&format!("/users/{ann}/manager/$ref")).await;
    assert_eq!(r.status, 204, "{}", r.body);
    w.target_user("ann@contoso.test", |u| {
        u[ENTERPRISE]["manager"]["value"].as_str().is_none()
    })
    .await;
}

#[tokio::test]
async fn every_reset_scope_answers_204_and_keeps_one_account_and_one_link() {
    let w = world().await;
    let ann = w.user("ann", "ann").await;
    w.assign(&ann).await;
    let job = w.job().await;
    w.start(&job).await;
    w.target_user("ann@contoso.test", |u| u["active"] == true)
        .await;

    // (resetScope, how Ann's link was made after the next cycle): the resets that keep
    // links come first, so their link is still the one the first cycle created.
    let table = [
        ("", "created"),
        ("Watermark", "created"),
        ("Escrows", "created"),
        ("QuarantineState", "created"),
        ("ForceDeletes", "created"),
        ("ConnectorDataStore", "matched"),
        ("Full", "matched"),
    ];
    for (n, (reset_scope, linked_by)) in table.into_iter().enumerate() {
        // Paused first: the barrier below then also shows that a restart resumes the job.
        let r = w
            .graph
            .send("POST", &w.sync(&format!("/jobs/{job}/pause")), None, &[])
            .await;
        assert_eq!(r.status, 204, "{}", r.body);
        w.restart(&job, reset_scope).await;
        let status = w.graph.get(&w.sync(&format!("/jobs/{job}"))).await.body["status"].clone();
        assert_eq!(status["code"], "Active", "{reset_scope:?}: {status}");
        assert!(status["quarantine"].is_null(), "{reset_scope:?}: {status}");
        barrier(&w, "ann", &format!("After restart {n}")).await;
        assert_eq!(
            w.target_count("ann@contoso.test").await,
            1,
            "{reset_scope:?}: no duplicate account"
        );
        let links = eventually(&format!("{reset_scope:?}: Ann's link"), || async {
            let links = w.connections(&job, "").await;
            (!links.is_empty()).then_some(links)
        })
        .await;
        assert_eq!(links.len(), 1, "{reset_scope:?}: {links:?}");
        assert_eq!(links[0]["sourceAnchor"], ann.as_str(), "{reset_scope:?}");
        assert_eq!(links[0]["linkedBy"], linked_by, "{reset_scope:?}");
    }
}
