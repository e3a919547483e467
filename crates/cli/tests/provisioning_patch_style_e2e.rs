//! The PATCH dialect a job writes follows the flag in its tenant URL (`BaseAddress`), as in
//! Entra: `aadOptscim062020` for RFC 7644, `AzureAdScimPatch2017` for the legacy dialect
//! (MicrosoftDocs/entra-docs,
//! `docs/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility.md`:
//! "Requests made to disable users" and "Requests made to remove a group member", without
//! and with the feature flag). Without a flag provisio writes RFC 7644. What the target
//! received is read from its journal.

mod common;

use common::provisioning::{eventually, world_with_target};
use serde_json::{json, Value};

/// The PATCH operations the target received, in order.
fn patch_ops(journal: &std::path::Path) -> Vec<(String, Value)> {
    let text = std::fs::read_to_string(journal).unwrap_or_default();
    text.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|entry| entry["method"] == "PATCH")
        .flat_map(|entry| {
            let uri = entry["uri"].as_str().unwrap_or_default().to_string();
            let body: Value = entry["body"]
                .as_str()
                .and_then(|b| serde_json::from_str(b).ok())
                .unwrap_or(Value::Null);
            body["Operations"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(move |op| (uri.clone(), op))
        })
        .collect()
}

#[tokio::test]
async fn the_tenant_url_flag_chooses_the_patch_dialect() {
    // (flag in the tenant URL, the disable operation, member removal: legacy value list?)
    let cases = [
        (
            "",
            json!({"op": "replace", "path": "active", "value": false}),
            false,
        ),
        (
            "?aadOptscim062020",
            json!({"op": "replace", "path": "active", "value": false}),
            false,
        ),
        (
            "?AzureAdScimPatch2017",
            json!({"op": "Replace", "path": "active", "value": "False"}),
            true,
        ),
    ];
    for (flag, disable, legacy_removal) in cases {
        let dir = tempfile::tempdir().expect("temp dir");
        let journal = dir.path().join("requests.jsonl");
        let journal_arg = journal.to_string_lossy().into_owned();
        let mut world = world_with_target(&["--journal", &journal_arg]).await;
        world.scim_url = format!("{}{flag}", world.scim_url);
        let ann = world.user("ann", "ann").await;
        let bob = world.user("bob", "bob").await;
        let team = world.group("Team", &[&ann, &bob]).await;
        world.assign(&team).await;
        let job = world.job().await;
        world.start(&job).await;
        let bob_account = world.target_user("bob@contoso.test", |_| true).await;
        let bob_id = bob_account["id"].as_str().expect("bob's id").to_string();
        world
            .target_group("Team", |g| {
                g["members"].as_array().is_some_and(|m| m.len() == 2)
            })
            .await;

        world.remove_member(&team, &bob).await;
        world
            .patch_user(&ann, json!({"accountEnabled": false}))
            .await;
        world
            .target_user("ann@contoso.test", |u| u["active"] == false)
            .await;
        let ops = eventually(
            &format!("{flag:?}: the journal shows both PATCHes"),
            || async {
                let ops = patch_ops(&journal);
                let disabled = ops
                    .iter()
                    .any(|(_, op)| op.get("path") == Some(&json!("active")));
                let removed = ops.iter().any(|(_, op)| {
                    op["op"]
                        .as_str()
                        .is_some_and(|o| o.eq_ignore_ascii_case("remove"))
                });
                (disabled && removed).then_some(ops)
            },
        )
        .await;
        // Ann disabled, Bob out of scope: both get `active = false`, in the job's dialect.
        let disable_ops: Vec<&Value> = ops
            .iter()
            .filter(|(_, op)| op.get("path") == Some(&json!("active")))
            .map(|(_, op)| op)
            .collect();
        assert_eq!(disable_ops, vec![&disable, &disable], "{flag:?}");
        let removal: Vec<&Value> = ops
            .iter()
            .filter(|(uri, op)| {
                uri.contains("/Groups/")
                    && op["op"]
                        .as_str()
                        .is_some_and(|o| o.eq_ignore_ascii_case("remove"))
            })
            .map(|(_, op)| op)
            .collect();
        assert_eq!(removal.len(), 1, "{flag:?}: {removal:?}");
        let removal = removal[0];
        if legacy_removal {
            assert_eq!(removal["op"], json!("Remove"), "{flag:?}");
            assert_eq!(removal["path"], json!("members"), "{flag:?}");
            assert_eq!(removal["value"][0]["value"], json!(bob_id), "{flag:?}");
        } else {
            assert_eq!(
                removal,
                &json!({"op": "remove", "path": format!("members[value eq \"{bob_id}\"]")}),
                "{flag:?}"
            );
        }
        // Either way the target ends with Ann alone in the group.
        world
            .target_group("Team", |g| {
                g["members"].as_array().is_some_and(|m| m.len() == 1)
            })
            .await;
    }
}
