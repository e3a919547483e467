//! Whole cycles over an in-memory directory, state store and target, with a fixed clock:
//! what the target receives, and what the links and log rows say.

use std::sync::Arc;

use provisio_directory::{DirectoryConfig, MemoryDirectory, DEFAULT_ACCESS_ROLE};
use serde_json::{json, Value};
use time::macros::datetime;

use super::*;
use crate::clock::FixedClock;
use crate::model::{AttributeMappingSource, FlowTypes, ObjectMapping};
use crate::state::memory::MemorySyncStore;
use crate::state::{JobRecord, JobStore, LeaseStore, LinkStore, LogQuery, LogStore};
use crate::target::TargetKind;
use crate::template::scim_schema;

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const JOB: &str = "scim.00000000000000000000000000000001";

struct World {
    directory: Directory,
    store: MemorySyncStore,
    target: MemoryTarget,
    clock: FixedClock,
    sp: Uuid,
    schema: SynchronizationSchema,
    config: JobConfig,
    fence: Fence,
    cycles: u128,
    last_cycle: Uuid,
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

impl World {
    async fn new() -> World {
        let directory =
            Directory::new(Arc::new(MemoryDirectory::new()), DirectoryConfig::default());
        let sp = directory
            .create(
                ObjectKind::ServicePrincipal,
                &object(json!({"displayName": "App", "appId": Uuid::from_u128(7).to_string()})),
            )
            .await
            .unwrap()
            .id;
        let store = MemorySyncStore::new();
        store
            .create_job(JobRecord {
                id: JOB.to_string(),
                service_principal_id: sp,
                template_id: "scim".to_string(),
                job: json!({}),
                schema: json!({}),
                version: 0,
                created: "2026-01-01T00:00:00Z".to_string(),
            })
            .await
            .unwrap();
        let fence = store
            .acquire_lease(
                JOB,
                "worker",
                "2026-01-01T00:00:00Z",
                "2099-01-01T00:00:00Z",
            )
            .await
            .unwrap()
            .unwrap();
        World {
            directory,
            store,
            target: MemoryTarget::new(),
            clock: FixedClock::new(datetime!(2026-03-01 08:00 UTC)),
            sp,
            schema: scim_schema(),
            config: JobConfig::default(),
            fence,
            cycles: 0,
            last_cycle: Uuid::nil(),
        }
    }

    async fn run(&mut self, force_full: bool) -> CycleReport {
        self.try_run(force_full).await.unwrap()
    }

    async fn try_run(&mut self, force_full: bool) -> Result<CycleReport, CycleError> {
        self.cycles += 1;
        self.last_cycle = Uuid::from_u128(self.cycles << 64);
        self.target.clear_requests();
        let ctx = CycleContext {
            job_id: JOB,
            service_principal_id: self.sp,
            service_principal_name: "App",
            schema: &self.schema,
            config: &self.config,
            fence: self.fence,
            cycle_id: self.last_cycle,
            force_full,
            directory: &self.directory,
            store: &self.store,
            target: &self.target,
            clock: &self.clock,
        };
        run_cycle(&ctx).await
    }

    async fn cycle(&mut self) -> CycleReport {
        self.run(false).await
    }

    async fn user(&self, upn: &str, extra: Value) -> Uuid {
        let nick = upn.split('@').next().unwrap_or(upn);
        let mut body = object(json!({
            "userPrincipalName": upn,
            "displayName": nick.to_uppercase(),
            "mailNickname": nick,
            "accountEnabled": true,
            "jobTitle": "Engineer",
        }));
        body.extend(object(extra));
        self.directory
            .create(ObjectKind::User, &body)
            .await
            .unwrap()
            .id
    }

    async fn group(&self, name: &str, members: &[Uuid]) -> Uuid {
        let group = self
            .directory
            .create(
                ObjectKind::Group,
                &object(json!({"displayName": name, "mailNickname": name.to_lowercase()})),
            )
            .await
            .unwrap()
            .id;
        for member in members {
            self.directory.add_member(group, *member).await.unwrap();
        }
        group
    }

    async fn update(&self, id: Uuid, body: Value) {
        self.directory
            .update(ObjectKind::User, id, &object(body))
            .await
            .unwrap();
    }

    async fn assign(&self, principal: Uuid) -> Uuid {
        self.directory
            .assign(self.sp, principal, DEFAULT_ACCESS_ROLE)
            .await
            .unwrap()
            .id
    }

    async fn link(&self, kind: ObjectKind, id: Uuid) -> Option<Link> {
        let object_type = if kind == ObjectKind::User {
            "User"
        } else {
            "Group"
        };
        self.store.link(JOB, object_type, id).await.unwrap()
    }

    async fn target_id(&self, kind: ObjectKind, id: Uuid) -> String {
        self.link(kind, id).await.expect("a link").target_id
    }

    /// The log rows of the last cycle.
    async fn rows(&self) -> Vec<LogRow> {
        self.store
            .logs(&LogQuery {
                cycle_id: Some(self.last_cycle),
                limit: 1000,
                ..LogQuery::default()
            })
            .await
            .unwrap()
    }

    /// (action, status, errorCode) of the last cycle's rows about `id`.
    async fn outcomes(&self, id: Uuid) -> Vec<(String, String, Option<String>)> {
        self.rows()
            .await
            .into_iter()
            .filter(|r| r.source_id.as_deref() == Some(id.to_string().as_str()))
            .map(|r| {
                let code = r.summary["provisioningStatusInfo"]["errorInformation"]["errorCode"]
                    .as_str()
                    .map(str::to_string);
                (r.action, r.status, code)
            })
            .collect()
    }

    /// The paths of the requests of the last cycle (with their queries).
    fn request_paths(&self) -> Vec<String> {
        self.target.requests().into_iter().map(|r| r.path).collect()
    }

    /// The writes of the last cycle as "METHOD path".
    fn writes(&self) -> Vec<String> {
        self.target
            .writes()
            .into_iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect()
    }

    fn user_mapping(&mut self) -> &mut ObjectMapping {
        &mut self.schema.synchronization_rules[0].object_mappings[0]
    }

    fn target_user(&self, target_id: &str) -> Value {
        self.target
            .object(TargetKind::User, target_id)
            .expect("the account")
    }
}

fn expression(text: &str) -> AttributeMappingSource {
    serde_json::from_value(provisio_expr::parse_expression(text).unwrap()).unwrap()
}

fn outcome(action: &str, status: &str, code: Option<&str>) -> (String, String, Option<String>) {
    (
        action.to_string(),
        status.to_string(),
        code.map(str::to_string),
    )
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn member_ids(group: &Value) -> Vec<String> {
    sorted(
        group
            .get("members")
            .and_then(Value::as_array)
            .map(|members| {
                members
                    .iter()
                    .filter_map(|m| m["value"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
    )
}

fn patch_ops(request: &fake_target::Request) -> Vec<Value> {
    request
        .body
        .as_ref()
        .and_then(|b| b["Operations"].as_array().cloned())
        .unwrap_or_default()
}

#[tokio::test]
async fn an_initial_cycle_creates_assigned_users_and_nothing_else() {
    let mut world = World::new().await;
    let ann = world
        .user("ann@contoso.com", json!({"givenName": "Ann"}))
        .await;
    let dan = world.user("dan@contoso.com", json!({})).await;
    world.assign(ann).await;

    let report = world.cycle().await;

    assert_eq!(world.writes(), vec!["POST /Users".to_string()]);
    let post = &world.target.writes()[0];
    let body = post.body.as_ref().unwrap();
    assert_eq!(body["userName"], json!("ann@contoso.com"));
    assert_eq!(body["active"], json!(true));
    assert_eq!(body["name"]["givenName"], json!("Ann"));
    assert_eq!(body["externalId"], json!("ann"));
    let link = world.link(ObjectKind::User, ann).await.unwrap();
    assert_eq!(link.origin, LinkOrigin::Created);
    assert_eq!(
        world.target_user(&link.target_id)["userName"],
        json!("ann@contoso.com")
    );
    assert!(world.link(ObjectKind::User, dan).await.is_none());
    assert_eq!(report.created, 1);
    assert!(report.full);
    assert_eq!(
        report.watermark_after,
        Some(world.directory.watermark().await.unwrap())
    );

    let rows = world.rows().await;
    let ann_row = rows
        .iter()
        .find(|r| r.source_id.as_deref() == Some(ann.to_string().as_str()))
        .unwrap();
    let summary = &ann_row.summary;
    assert_eq!(summary["provisioningAction"], json!("create"));
    assert_eq!(
        summary["provisioningStatusInfo"]["status"],
        json!("success")
    );
    assert_eq!(summary["jobId"], json!(JOB));
    assert_eq!(summary["cycleId"], json!(world.last_cycle.to_string()));
    assert_eq!(
        summary["activityDateTime"],
        json!("2026-03-01T08:00:00.000Z")
    );
    assert_eq!(summary["sourceIdentity"]["displayName"], json!("ANN"));
    assert_eq!(summary["targetIdentity"]["id"], json!(link.target_id));
    assert_eq!(
        summary["servicePrincipal"]["id"],
        json!(world.sp.to_string())
    );
    let steps: Vec<(&str, &str)> = summary["provisioningSteps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap(),
                s["provisioningStepType"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        vec![("EntryImport", "import"), ("EntryExportAdd", "export")]
    );
    let user_name = summary["modifiedProperties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["displayName"] == json!("userName"))
        .unwrap();
    assert_eq!(user_name["newValue"], json!("ann@contoso.com"));
    // Dan was visited only as a linked or assigned object would be: not at all.
    assert!(world.outcomes(dan).await.is_empty());
}

#[tokio::test]
async fn a_cycle_without_changes_sends_nothing() {
    let mut world = World::new().await;
    let ann = world.user("ann@contoso.com", json!({})).await;
    world.assign(ann).await;
    world.cycle().await;

    // Incremental with an empty change log: no request at all, no row.
    let report = world.cycle().await;
    assert!(!report.full);
    assert!(world.target.requests().is_empty());
    assert!(world.rows().await.is_empty());

    // A full cycle reads the target (matching checks) but writes nothing, and says so.
    let report = world.run(true).await;
    assert!(report.full);
    assert!(world.writes().is_empty());
    assert_eq!(report.redundant, 1);
    assert_eq!(
        world.outcomes(ann).await,
        vec![outcome("other", "skipped", Some("RedundantExport"))]
    );
}

#[tokio::test]
async fn an_attribute_change_sends_one_patch() {
    let mut world = World::new().await;
    let ann = world.user("ann@contoso.com", json!({})).await;
    let bob = world.user("bob@contoso.com", json!({})).await;
    world.assign(ann).await;
    world.assign(bob).await;
    world.cycle().await;
    let ann_target = world.target_id(ObjectKind::User, ann).await;

    world.update(ann, json!({"jobTitle": "Director"})).await;
    let report = world.cycle().await;

    assert!(!report.full);
    assert_eq!(world.writes(), vec![format!("PATCH /Users/{ann_target}")]);
    assert_eq!(
        patch_ops(&world.target.writes()[0]),
        vec![json!({"op": "replace", "path": "title", "value": "Director"})]
    );
    assert_eq!(world.target_user(&ann_target)["title"], json!("Director"));
    assert_eq!(
        world.outcomes(ann).await,
        vec![outcome("update", "success", None)]
    );
    // Bob did not change: not read, not logged.
    assert!(world.outcomes(bob).await.is_empty());
    assert_eq!(report.updated, 1);
}

#[tokio::test]
async fn redacted_mappings_hide_their_values_in_the_log() {
    let mut world = World::new().await;
    let mapping = world
        .user_mapping()
        .attribute_mappings
        .iter_mut()
        .find(|m| m.target_attribute_name == "title")
        .unwrap();
    mapping.source = Some(expression("Redact([jobTitle])"));
    let ann = world.user("ann@contoso.com", json!({})).await;
    world.assign(ann).await;
    world.cycle().await;
    world.update(ann, json!({"jobTitle": "Director"})).await;
    world.cycle().await;

    let rows = world.rows().await;
    let properties = rows[0].summary["modifiedProperties"].clone();
    assert_eq!(
        properties,
        json!([{"displayName": "title", "oldValue": "[Redact]", "newValue": "[Redact]"}])
    );
    // The target still gets the value.
    let target = world.target_id(ObjectKind::User, ann).await;
    assert_eq!(world.target_user(&target)["title"], json!("Director"));
}

#[tokio::test]
async fn groups_are_created_empty_then_their_members_are_patched_in() {
    let mut world = World::new().await;
    let bob = world.user("bob@contoso.com", json!({})).await;
    let carol = world.user("carol@contoso.com", json!({})).await;
    let dan = world.user("dan@contoso.com", json!({})).await;
    let eng = world.group("Eng", &[bob, carol]).await;
    world.assign(eng).await;

    world.cycle().await;

    let group_target = world.target_id(ObjectKind::Group, eng).await;
    let bob_target = world.target_id(ObjectKind::User, bob).await;
    let carol_target = world.target_id(ObjectKind::User, carol).await;
    assert!(world.link(ObjectKind::User, dan).await.is_none());
    assert_eq!(
        world.writes(),
        vec![
            "POST /Users".to_string(),
            "POST /Users".to_string(),
            "POST /Groups".to_string(),
            format!("PATCH /Groups/{group_target}"),
        ]
    );
    let writes = world.target.writes();
    let post = writes[2].body.as_ref().unwrap();
    assert_eq!(post["displayName"], json!("Eng"));
    assert_eq!(post["externalId"], json!(eng.to_string()));
    assert!(post.get("members").is_none(), "{post}");
    let ops = patch_ops(&writes[3]);
    assert_eq!(ops.len(), 1);
    assert_eq!(ops[0]["op"], json!("add"));
    assert_eq!(ops[0]["path"], json!("members"));
    let group = world
        .target
        .object(TargetKind::Group, &group_target)
        .unwrap();
    assert_eq!(
        member_ids(&group),
        sorted(vec![bob_target.clone(), carol_target.clone()])
    );

    // Dan joins, Carol leaves: Dan is created and added, Carol disabled and removed, each
    // as a delta, never a replacement of the member list.
    world.directory.add_member(eng, dan).await.unwrap();
    world.directory.remove_member(eng, carol).await.unwrap();
    world.cycle().await;
    let dan_target = world.target_id(ObjectKind::User, dan).await;
    let writes = world.target.writes();
    let group_ops: Vec<Value> = writes
        .iter()
        .filter(|w| w.path == format!("/Groups/{group_target}"))
        .flat_map(patch_ops)
        .collect();
    assert_eq!(
        group_ops,
        vec![
            json!({"op": "remove", "path": "members", "value": [{"value": carol_target}]}),
            json!({"op": "add", "path": "members", "value": [{"value": dan_target}]}),
        ]
    );
    let group = world
        .target
        .object(TargetKind::Group, &group_target)
        .unwrap();
    assert_eq!(
        member_ids(&group),
        sorted(vec![bob_target, dan_target.clone()])
    );
    assert_eq!(world.target_user(&carol_target)["active"], json!(false));
    // The group's log row names the change: who left as the old value, who joined as the new.
    let group_row = world
        .rows()
        .await
        .into_iter()
        .find(|r| {
            r.summary["sourceIdentity"]["id"] == json!(eng.to_string())
                && r.summary["provisioningSteps"][1]["name"] == json!("EntryReferenceResolution")
        })
        .expect("a row about the group's members");
    assert_eq!(
        group_row.summary["modifiedProperties"],
        json!([{
            "displayName": "members",
            "oldValue": json!([carol_target]).to_string(),
            "newValue": json!([dan_target]).to_string(),
        }])
    );
    assert_eq!(
        world.outcomes(carol).await,
        vec![outcome("disable", "success", None)]
    );
}

#[tokio::test]
async fn members_that_enter_scope_later_are_added_then() {
    let mut world = World::new().await;
    let bob = world.user("bob@contoso.com", json!({})).await;
    let erin = world.user("erin@contoso.com", json!({})).await;
    let team = world.group("Team", &[bob, erin]).await;
    world.assign(bob).await;
    // Bob is assigned directly and through the group, Erin through the group only.
    world.assign(team).await;
    world.cycle().await;
    let group_target = world.target_id(ObjectKind::Group, team).await;
    assert_eq!(
        world
            .target
            .object(TargetKind::Group, &group_target)
            .map(|g| member_ids(&g).len()),
        Some(2)
    );

    // A nested group that enters scope later is added to its parent then.
    let sub = world.group("Sub", &[]).await;
    world.directory.add_member(team, sub).await.unwrap();
    world.cycle().await;
    assert!(world.link(ObjectKind::Group, sub).await.is_none());
    world.assign(sub).await;
    world.cycle().await;
    let sub_target = world.target_id(ObjectKind::Group, sub).await;
    let group = world
        .target
        .object(TargetKind::Group, &group_target)
        .unwrap();
    assert!(member_ids(&group).contains(&sub_target));
}

#[tokio::test]
async fn managers_are_set_once_both_exist_even_when_the_manager_comes_later() {
    let mut world = World::new().await;
    let boss = world.user("boss@contoso.com", json!({})).await;
    let ann = world.user("ann@contoso.com", json!({})).await;
    let erin = world.user("erin@contoso.com", json!({})).await;
    world.directory.set_manager(ann, boss).await.unwrap();
    world.directory.set_manager(boss, erin).await.unwrap();
    world.assign(ann).await;
    world.assign(boss).await;

    world.cycle().await;

    let ann_target = world.target_id(ObjectKind::User, ann).await;
    let boss_target = world.target_id(ObjectKind::User, boss).await;
    // Both created; Ann's manager set by exactly one request: her POST when the boss's
    // account existed by then (the two are reconciled side by side), else one PATCH after.
    let writes = world.target.writes();
    assert_eq!(writes.iter().filter(|w| w.method == "POST").count(), 2);
    let setting_the_manager: Vec<&str> = writes
        .iter()
        .filter(|w| match w.method {
            "POST" => {
                w.body.as_ref().unwrap()[ENTERPRISE]["manager"]["value"] == json!(boss_target)
            }
            _ => {
                w.path == format!("/Users/{ann_target}")
                    && patch_ops(w)
                        == vec![json!({"op": "replace", "path": format!("{ENTERPRISE}:manager"), "value": {"value": boss_target}})]
            }
        })
        .map(|w| w.method)
        .collect();
    assert_eq!(setting_the_manager.len(), 1, "{:?}", world.writes());
    assert_eq!(
        world.target_user(&ann_target)[ENTERPRISE]["manager"]["value"],
        json!(boss_target)
    );
    // Erin, the boss's manager, is out of scope: the boss has no manager yet.
    assert!(world
        .target_user(&boss_target)
        .get(ENTERPRISE)
        .is_none_or(|e| e.get("manager").is_none()));

    // Erin is assigned: she is created, and the boss's manager is set in the same cycle.
    world.assign(erin).await;
    world.cycle().await;
    let erin_target = world.target_id(ObjectKind::User, erin).await;
    assert_eq!(
        world.writes(),
        vec![
            "POST /Users".to_string(),
            format!("PATCH /Users/{boss_target}")
        ]
    );
    assert_eq!(
        world.target_user(&boss_target)[ENTERPRISE]["manager"]["value"],
        json!(erin_target)
    );

    // A manager change is one PATCH; removing the manager removes it.
    world.directory.set_manager(ann, erin).await.unwrap();
    world.cycle().await;
    assert_eq!(world.writes(), vec![format!("PATCH /Users/{ann_target}")]);
    assert_eq!(
        world.target_user(&ann_target)[ENTERPRISE]["manager"]["value"],
        json!(erin_target)
    );
    world.directory.remove_manager(ann).await.unwrap();
    world.cycle().await;
    assert_eq!(
        patch_ops(&world.target.writes()[0]),
        vec![json!({"op": "remove", "path": format!("{ENTERPRISE}:manager")})]
    );
}

#[derive(Debug, Clone, Copy)]
enum Event {
    Unassign,
    Disable,
    SoftDelete,
    Purge,
}

#[tokio::test]
async fn leaving_scope_disables_and_a_hard_delete_deletes() {
    // (event, SkipOutOfScopeDeletions, expected write, active afterwards (None: gone),
    //  (action, status, errorCode) of the row)
    let rows = [
        (
            Event::Unassign,
            false,
            Some("PATCH"),
            Some(false),
            outcome("disable", "success", None),
        ),
        (
            Event::Unassign,
            true,
            None,
            Some(true),
            outcome("other", "skipped", Some("SkipOutOfScopeDeletions")),
        ),
        (
            Event::Disable,
            false,
            Some("PATCH"),
            Some(false),
            outcome("disable", "success", None),
        ),
        (
            Event::Disable,
            true,
            Some("PATCH"),
            Some(false),
            outcome("disable", "success", None),
        ),
        (
            Event::SoftDelete,
            false,
            Some("PATCH"),
            Some(false),
            outcome("disable", "success", None),
        ),
        (
            Event::Purge,
            false,
            Some("DELETE"),
            None,
            outcome("delete", "success", None),
        ),
        (
            Event::Purge,
            true,
            Some("DELETE"),
            None,
            outcome("delete", "success", None),
        ),
    ];
    for (event, skip, write, active, expected) in rows {
        let mut world = World::new().await;
        world.config.skip_out_of_scope_deletions = skip;
        let ann = world.user("ann@contoso.com", json!({})).await;
        let assignment = world.assign(ann).await;
        world.cycle().await;
        let target = world.target_id(ObjectKind::User, ann).await;

        match event {
            Event::Unassign => {
                world.directory.unassign(assignment).await.unwrap();
            }
            Event::Disable => world.update(ann, json!({"accountEnabled": false})).await,
            Event::SoftDelete => world.directory.delete(ObjectKind::User, ann).await.unwrap(),
            Event::Purge => {
                world.directory.delete(ObjectKind::User, ann).await.unwrap();
                world.directory.purge(ann).await.unwrap();
            }
        }
        world.cycle().await;

        let case = format!("{event:?} skip={skip}");
        let expected_writes: Vec<String> = write
            .map(|method| format!("{method} /Users/{target}"))
            .into_iter()
            .collect();
        assert_eq!(world.writes(), expected_writes, "{case}");
        if write == Some("PATCH") {
            assert_eq!(
                patch_ops(&world.target.writes()[0]),
                vec![json!({"op": "replace", "path": "active", "value": false})],
                "{case}"
            );
        }
        let account = world.target.object(TargetKind::User, &target);
        assert_eq!(
            account.as_ref().map(|a| a["active"].clone()),
            active.map(Value::Bool),
            "{case}"
        );
        assert_eq!(world.outcomes(ann).await, vec![expected], "{case}");
        assert_eq!(
            world.link(ObjectKind::User, ann).await.is_some(),
            active.is_some(),
            "{case}: the link goes with the account"
        );
        // Nothing more to say next time.
        world.cycle().await;
        assert!(world.writes().is_empty(), "{case}");
    }
}

#[tokio::test]
async fn a_restored_user_is_enabled_again() {
    let mut world = World::new().await;
    let ann = world.user("ann@contoso.com", json!({})).await;
    world.assign(ann).await;
    world.cycle().await;
    let target = world.target_id(ObjectKind::User, ann).await;
    world.directory.delete(ObjectKind::User, ann).await.unwrap();
    world.cycle().await;
    assert_eq!(world.target_user(&target)["active"], json!(false));

    world.directory.restore(ann).await.unwrap();
    world.cycle().await;

    assert_eq!(world.writes(), vec![format!("PATCH /Users/{target}")]);
    assert_eq!(
        patch_ops(&world.target.writes()[0]),
        vec![json!({"op": "replace", "path": "active", "value": true})]
    );
    assert_eq!(world.target_user(&target)["active"], json!(true));
}

#[tokio::test]
async fn disabled_users_are_never_provisioned() {
    let mut world = World::new().await;
    let ann = world
        .user("ann@contoso.com", json!({"accountEnabled": false}))
        .await;
    world.assign(ann).await;
    world.cycle().await;
    assert!(world.writes().is_empty());
    assert_eq!(
        world.outcomes(ann).await,
        vec![outcome("other", "skipped", Some("NotEffectivelyEntitled"))]
    );
}

#[tokio::test]
async fn a_failed_export_is_retried_by_the_next_cycle() {
    let mut world = World::new().await;
    let ann = world.user("ann@contoso.com", json!({})).await;
    let bob = world.user("bob@contoso.com", json!({})).await;
    world.assign(ann).await;
    world.assign(bob).await;
    world.target.fail_next(1, 503, |r| {
        r.body
            .as_ref()
            .is_some_and(|b| b["userName"] == json!("ann@contoso.com"))
    });

    // Full cycle: Bob is created, Ann fails; no watermark is kept, so the next cycle is
    // full again and creates Ann.
    let report = world.cycle().await;
    assert_eq!(report.created, 1);
    assert_eq!(report.failures.len(), 1);
    assert_eq!(report.failures[0].source_id, ann);
    assert_eq!(report.failures[0].error_code, "InternalServerError");
    assert!(report.failures[0].retried);
    assert_eq!(report.watermark_after, None);
    assert_eq!(
        world.outcomes(ann).await,
        vec![outcome("create", "failure", Some("InternalServerError"))]
    );
    let rows = world.rows().await;
    let row = rows
        .iter()
        .find(|r| r.source_id == Some(ann.to_string()))
        .unwrap();
    assert_eq!(
        row.summary["provisioningStatusInfo"]["errorInformation"]["additionalDetails"],
        json!("injected failure")
    );
    let report = world.cycle().await;
    assert!(report.full);
    assert_eq!(report.created, 1);
    assert!(world.link(ObjectKind::User, ann).await.is_some());
    assert_eq!(
        world.outcomes(bob).await,
        vec![outcome("other", "skipped", Some("RedundantExport"))]
    );

    // Incremental: the watermark stays before the failed change until it is exported.
    let target = world.target_id(ObjectKind::User, ann).await;
    let before = world.store.watermark(JOB).await.unwrap();
    world.update(ann, json!({"jobTitle": "Director"})).await;
    world.target.fail_next(1, 429, |r| r.method == "PATCH");
    let report = world.cycle().await;
    assert_eq!(report.failures[0].error_code, "TooManyRequests");
    assert_eq!(report.watermark_after, before);
    let report = world.cycle().await;
    assert!(report.failures.is_empty());
    assert_eq!(world.writes(), vec![format!("PATCH /Users/{target}")]);
    assert_eq!(world.target_user(&target)["title"], json!("Director"));
    assert_eq!(
        report.watermark_after,
        Some(world.directory.watermark().await.unwrap())
    );
}

/// Sets the matching priority of the user mapping's `target` attribute.
fn set_matching(world: &mut World, target: &str, priority: i32) {
    let mapping = world
        .user_mapping()
        .attribute_mappings
        .iter_mut()
        .find(|m| m.target_attribute_name == target)
        .unwrap();
    mapping.matching_priority = priority;
}

fn scim_user(user_name: &str, external_id: &str, display_name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "externalId": external_id,
        "displayName": display_name,
        "active": true,
    })
}

#[tokio::test]
async fn an_existing_account_is_matched_by_user_name_not_created() {
    let mut world = World::new().await;
    let existing = world
        .target
        .seed(
            TargetKind::User,
            scim_user("ANN@contoso.com", "legacy-1", "Ann"),
        )
        .unwrap();
    let ann = world.user("ann@contoso.com", json!({})).await;
    world.assign(ann).await;

    world.cycle().await;

    let link = world.link(ObjectKind::User, ann).await.unwrap();
    assert_eq!(link.target_id, existing);
    assert_eq!(
        link.origin,
        LinkOrigin::Matched {
            target_attribute: "userName".into(),
            source_attribute: "userPrincipalName".into(),
            value: "ann@contoso.com".into(),
        }
    );
    assert!(world.writes().iter().all(|w| !w.starts_with("POST")));
    assert_eq!(world.writes(), vec![format!("PATCH /Users/{existing}")]);
    let account = world.target_user(&existing);
    assert_eq!(account["externalId"], json!("ann"));
    assert_eq!(account["displayName"], json!("ANN"));
    assert_eq!(
        world.outcomes(ann).await,
        vec![outcome("update", "success", None)]
    );
}

#[tokio::test]
async fn ambiguous_matches_are_reported_never_guessed() {
    // Two accounts answer the matching query.
    let mut world = World::new().await;
    set_matching(&mut world, "externalId", 1);
    set_matching(&mut world, "userName", 2);
    world
        .target
        .seed(
            TargetKind::User,
            scim_user("a1@old.example", "ann", "Ann 1"),
        )
        .unwrap();
    world
        .target
        .seed(
            TargetKind::User,
            scim_user("a2@old.example", "ann", "Ann 2"),
        )
        .unwrap();
    let ann = world.user("ann@contoso.com", json!({})).await;
    world.assign(ann).await;
    let report = world.cycle().await;
    assert!(world.writes().is_empty());
    assert!(world.link(ObjectKind::User, ann).await.is_none());
    assert_eq!(
        world.outcomes(ann).await,
        vec![outcome("other", "failure", Some("DuplicateTargetEntries"))]
    );
    assert_eq!(report.failures[0].error_code, "DuplicateTargetEntries");
    assert!(!report.failures[0].retried);

    // Two source objects answer to one account: the first is linked, the second reported.
    two_sources_for_one_account(World::new().await, 1, 0).await;
}

/// Two source users whose `displayName` matches one account: one is linked, the other
/// reported as `DuplicateSourceEntries`, and nothing is created; with `concurrency` objects
/// in flight and calls that give way `latency` times, so both may match at once.
async fn two_sources_for_one_account(mut world: World, concurrency: usize, latency: usize) {
    world.config.concurrency = concurrency;
    world.target.set_latency(latency);
    set_matching(&mut world, "userName", 0);
    set_matching(&mut world, "displayName", 1);
    let account = world
        .target
        .seed(
            TargetKind::User,
            scim_user("sam@old.example", "sam", "Sam Lee"),
        )
        .unwrap();
    let first = world
        .user("sam1@contoso.com", json!({"displayName": "Sam Lee"}))
        .await;
    let second = world
        .user("sam2@contoso.com", json!({"displayName": "Sam Lee"}))
        .await;
    world.assign(first).await;
    world.assign(second).await;
    world.cycle().await;
    if concurrency > 1 {
        assert!(
            world.target.max_in_flight() >= 2,
            "the two were matched at once"
        );
    }
    let (linked, other) = match world.link(ObjectKind::User, first).await {
        Some(_) => (first, second),
        None => (second, first),
    };
    assert_eq!(world.target_id(ObjectKind::User, linked).await, account);
    assert!(world.link(ObjectKind::User, other).await.is_none());
    assert_eq!(
        world.outcomes(other).await,
        vec![outcome("other", "failure", Some("DuplicateSourceEntries"))]
    );
    assert!(world.writes().iter().all(|w| !w.starts_with("POST")));
}

#[tokio::test]
async fn a_link_the_new_matching_rules_would_not_make_is_marked_stale_not_relinked() {
    let mut world = World::new().await;
    // Matching by externalId first finds Ann's old account (a former employee's, reused
    // nickname); her own account has her userName.
    set_matching(&mut world, "externalId", 1);
    set_matching(&mut world, "userName", 2);
    let old = world
        .target
        .seed(
            TargetKind::User,
            scim_user("ann.old@contoso.com", "ann", "Ann (old)"),
        )
        .unwrap();
    let own = world
        .target
        .seed(
            TargetKind::User,
            scim_user("ann@contoso.com", "A-100", "Ann"),
        )
        .unwrap();
    let ann = world.user("ann@contoso.com", json!({})).await;
    world.assign(ann).await;

    let report = world.cycle().await;

    // The match made the link, with its provenance, although the update then failed
    // (the userName belongs to her own account).
    let link = world.link(ObjectKind::User, ann).await.unwrap();
    assert_eq!(link.target_id, old);
    assert_eq!(
        link.origin,
        LinkOrigin::Matched {
            target_attribute: "externalId".into(),
            source_attribute: "mailNickname".into(),
            value: "ann".into(),
        }
    );
    assert_eq!(
        world.outcomes(ann).await,
        vec![outcome("update", "failure", Some("EntryConflict"))]
    );
    assert_eq!(report.failures[0].error_code, "EntryConflict");

    // The rules change: userName only. The restart's full cycle finds the link stale and
    // names the account the rules would choose; nothing is written.
    set_matching(&mut world, "externalId", 0);
    set_matching(&mut world, "userName", 1);
    let report = world.run(true).await;
    assert!(world.writes().is_empty());
    assert_eq!(report.stale, 1);
    let link = world.link(ObjectKind::User, ann).await.unwrap();
    assert_eq!(link.target_id, old, "never silently re-linked");
    let stale = link.stale.clone().unwrap();
    assert_eq!(stale.would_choose.as_deref(), Some(own.as_str()));
    assert_eq!(stale.found, "2026-03-01T08:00:00.000Z");
    assert!(stale.reason.contains("userName"), "{}", stale.reason);
    assert_eq!(
        world.outcomes(ann).await,
        vec![outcome("other", "skipped", Some("StaleLink"))]
    );
    let stale_links = world
        .store
        .links(
            JOB,
            &LinkQuery {
                stale: Some(true),
                limit: 10,
                ..LinkQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(stale_links.len(), 1);

    // Later cycles leave the stale link alone.
    world.update(ann, json!({"jobTitle": "Director"})).await;
    world.cycle().await;
    assert!(world.writes().is_empty());
    assert_eq!(
        world.outcomes(ann).await,
        vec![outcome("other", "skipped", Some("StaleLink"))]
    );

    // The operator deletes the link; the next full cycle links Ann to her own account.
    assert!(world.store.delete_link(JOB, "User", ann).await.unwrap());
    world.run(true).await;
    let link = world.link(ObjectKind::User, ann).await.unwrap();
    assert_eq!(link.target_id, own);
    assert_eq!(
        link.origin,
        LinkOrigin::Matched {
            target_attribute: "userName".into(),
            source_attribute: "userPrincipalName".into(),
            value: "ann@contoso.com".into(),
        }
    );
    assert_eq!(link.stale, None);
    assert_eq!(world.target_user(&own)["title"], json!("Director"));
    assert_eq!(
        world.target_user(&old)["userName"],
        json!("ann.old@contoso.com")
    );
}

#[tokio::test]
async fn sync_all_takes_every_object_the_scoping_filter_lets_through() {
    let mut world = World::new().await;
    world.config.scope = ScopeMode::SyncAll;
    world.user_mapping().scope = Some(
        serde_json::from_value(json!({"groups": [{"clauses": [{
            "operatorName": "EQUALS",
            "sourceOperandName": "department",
            "targetOperand": {"values": ["Sales"]},
        }]}]}))
        .unwrap(),
    );
    let ann = world
        .user("ann@contoso.com", json!({"department": "Sales"}))
        .await;
    let bob = world
        .user("bob@contoso.com", json!({"department": "Legal"}))
        .await;
    let team = world.group("Team", &[ann, bob]).await;

    world.cycle().await;

    // Nothing is assigned: SyncAll takes Ann and the group; Bob fails the filter.
    let ann_target = world.target_id(ObjectKind::User, ann).await;
    let team_target = world.target_id(ObjectKind::Group, team).await;
    assert!(world.link(ObjectKind::User, bob).await.is_none());
    assert_eq!(
        world.outcomes(bob).await,
        vec![outcome("other", "skipped", Some("NotEffectivelyEntitled"))]
    );
    let group = world
        .target
        .object(TargetKind::Group, &team_target)
        .unwrap();
    assert_eq!(member_ids(&group), vec![ann_target.clone()]);

    // Ann leaves the filter's scope: disabled.
    world.update(ann, json!({"department": "Legal"})).await;
    world.cycle().await;
    assert_eq!(world.writes(), vec![format!("PATCH /Users/{ann_target}")]);
    assert_eq!(world.target_user(&ann_target)["active"], json!(false));
}

#[tokio::test]
async fn an_unassigned_group_is_deleted_and_its_members_disabled() {
    let mut world = World::new().await;
    let bob = world.user("bob@contoso.com", json!({})).await;
    let team = world.group("Team", &[bob]).await;
    let assignment = world.assign(team).await;
    world.cycle().await;
    let bob_target = world.target_id(ObjectKind::User, bob).await;
    let team_target = world.target_id(ObjectKind::Group, team).await;

    world.directory.unassign(assignment).await.unwrap();
    world.cycle().await;

    // Groups have no `active`: leaving scope deletes them.
    assert_eq!(
        sorted(world.writes()),
        sorted(vec![
            format!("PATCH /Users/{bob_target}"),
            format!("DELETE /Groups/{team_target}"),
        ])
    );
    assert!(world.link(ObjectKind::Group, team).await.is_none());
    assert_eq!(world.target_user(&bob_target)["active"], json!(false));
}

/// An incremental cycle follows the changes, not the directory: with one changed user it
/// sends one request to the target and reads a handful of change records, at every size.
/// (What cycles cost in time is measured by `provisio bench sync`, not here.)
#[tokio::test]
async fn an_incremental_cycle_costs_the_changes_not_the_directory() {
    for size in [20usize, 400] {
        let mut world = World::new().await;
        let mut users = Vec::with_capacity(size);
        for i in 0..size {
            users.push(world.user(&format!("user{i}@contoso.com"), json!({})).await);
        }
        let group = world.group("All", &users).await;
        world.assign(group).await;
        let report = world.cycle().await;
        assert_eq!(
            report.created as usize,
            size + 1,
            "{size} users and their group"
        );
        for round in 0..3 {
            world
                .update(
                    users[size / 2],
                    json!({"jobTitle": format!("Director {round}")}),
                )
                .await;
            let report = world.cycle().await;
            assert!(!report.full);
            assert_eq!(report.updated, 1, "{size} users, round {round}");
            let requests = world.target.requests();
            assert_eq!(requests.len(), 1, "{size} users: {requests:?}");
        }
    }
}

#[tokio::test]
async fn deleting_an_assigned_group_disables_the_members_it_brought_in_scope() {
    let mut world = World::new().await;
    let bob = world.user("bob@contoso.com", json!({})).await;
    let ann = world.user("ann@contoso.com", json!({})).await;
    let team = world.group("Team", &[bob, ann]).await;
    world.assign(team).await;
    world.assign(ann).await;
    world.cycle().await;
    let bob_target = world.target_id(ObjectKind::User, bob).await;
    let ann_target = world.target_id(ObjectKind::User, ann).await;
    let team_target = world.target_id(ObjectKind::Group, team).await;

    world
        .directory
        .delete(ObjectKind::Group, team)
        .await
        .unwrap();
    world.cycle().await;

    // Bob was in scope through the group only; Ann is assigned herself.
    assert_eq!(
        sorted(world.writes()),
        sorted(vec![
            format!("PATCH /Users/{bob_target}"),
            format!("DELETE /Groups/{team_target}"),
        ])
    );
    assert_eq!(world.target_user(&bob_target)["active"], json!(false));
    assert_eq!(world.target_user(&ann_target)["active"], json!(true));
    assert_eq!(
        world.outcomes(ann).await,
        vec![outcome("other", "skipped", Some("RedundantExport"))]
    );
}

#[tokio::test]
async fn a_replay_after_lost_state_matches_instead_of_creating_twice() {
    let mut world = World::new().await;
    let ann = world.user("ann@contoso.com", json!({})).await;
    world.assign(ann).await;
    world.cycle().await;
    let target = world.target_id(ObjectKind::User, ann).await;

    // As after a crash between the export and the record of it: no link, no watermark.
    world.store.clear_links(world.fence, JOB).await.unwrap();
    world
        .store
        .set_watermark(world.fence, JOB, None)
        .await
        .unwrap();
    world.cycle().await;

    assert!(world.writes().is_empty(), "{:?}", world.writes());
    let link = world.link(ObjectKind::User, ann).await.unwrap();
    assert_eq!(link.target_id, target);
    assert!(matches!(link.origin, LinkOrigin::Matched { .. }));
    assert_eq!(world.target.objects(TargetKind::User).len(), 1);
}

#[tokio::test]
async fn a_worker_that_lost_its_lease_stops_and_leaves_the_watermark() {
    let mut world = World::new().await;
    let ann = world.user("ann@contoso.com", json!({})).await;
    world.assign(ann).await;
    world.cycle().await;
    let watermark = world.store.watermark(JOB).await.unwrap();
    // The lease expired and another worker took the job.
    world
        .store
        .acquire_lease(JOB, "other", "2100-01-01T00:00:00Z", "2100-01-01T01:00:00Z")
        .await
        .unwrap()
        .unwrap();
    let bob = world.user("bob@contoso.com", json!({})).await;
    world.assign(bob).await;

    let error = world.try_run(false).await.unwrap_err();

    assert!(
        matches!(error, CycleError::Store(SyncStoreError::Fenced(_))),
        "{error:?}"
    );
    assert_eq!(world.store.watermark(JOB).await.unwrap(), watermark);
    assert!(world.link(ObjectKind::User, bob).await.is_none());
}

#[tokio::test]
async fn object_flow_types_limit_what_the_cycle_may_do() {
    // (flowTypes, expected writes of: create Ann, update Ann, purge Ann)
    let rows = [
        ("Add, Update, Delete", ["POST", "PATCH", "DELETE"]),
        ("Update, Delete", ["", "", ""]),
        ("Add, Delete", ["POST", "", "DELETE"]),
        ("Add, Update", ["POST", "PATCH", ""]),
    ];
    for (flow_types, expected) in rows {
        let mut world = World::new().await;
        world.user_mapping().flow_types = FlowTypes::parse(flow_types).unwrap();
        let ann = world.user("ann@contoso.com", json!({})).await;
        world.assign(ann).await;
        let mut seen = Vec::new();
        world.cycle().await;
        seen.push(
            world
                .target
                .writes()
                .first()
                .map(|w| w.method)
                .unwrap_or_default(),
        );
        world.update(ann, json!({"jobTitle": "Director"})).await;
        world.cycle().await;
        seen.push(
            world
                .target
                .writes()
                .first()
                .map(|w| w.method)
                .unwrap_or_default(),
        );
        world.directory.delete(ObjectKind::User, ann).await.unwrap();
        world.directory.purge(ann).await.unwrap();
        world.cycle().await;
        seen.push(
            world
                .target
                .writes()
                .first()
                .map(|w| w.method)
                .unwrap_or_default(),
        );
        assert_eq!(seen, expected, "{flow_types}");
    }
}

#[tokio::test]
async fn defaults_flow_on_create_when_the_source_is_empty() {
    let mut world = World::new().await;
    let mapping = world
        .user_mapping()
        .attribute_mappings
        .iter_mut()
        .find(|m| m.target_attribute_name == "title")
        .unwrap();
    mapping.default_value = Some("Staff".into());
    let ann = world
        .user("ann@contoso.com", json!({"jobTitle": null}))
        .await;
    let bob = world.user("bob@contoso.com", json!({})).await;
    world.assign(ann).await;
    world.assign(bob).await;
    world.cycle().await;
    let ann_target = world.target_id(ObjectKind::User, ann).await;
    let bob_target = world.target_id(ObjectKind::User, bob).await;
    assert_eq!(world.target_user(&ann_target)["title"], json!("Staff"));
    assert_eq!(world.target_user(&bob_target)["title"], json!("Engineer"));
}

#[tokio::test]
async fn without_update_a_new_group_gets_its_members_but_later_changes_wait() {
    let mut world = World::new().await;
    world.schema.synchronization_rules[0].object_mappings[1].flow_types =
        FlowTypes::parse("Add, Delete").unwrap();
    let bob = world.user("bob@contoso.com", json!({})).await;
    let dan = world.user("dan@contoso.com", json!({})).await;
    let team = world.group("Team", &[bob]).await;
    world.assign(team).await;
    world.assign(dan).await;
    world.cycle().await;
    let team_target = world.target_id(ObjectKind::Group, team).await;
    let bob_target = world.target_id(ObjectKind::User, bob).await;
    let group = world
        .target
        .object(TargetKind::Group, &team_target)
        .unwrap();
    assert_eq!(member_ids(&group), vec![bob_target.clone()]);

    world.directory.add_member(team, dan).await.unwrap();
    world.cycle().await;
    assert!(world.writes().is_empty(), "{:?}", world.writes());
    let group = world
        .target
        .object(TargetKind::Group, &team_target)
        .unwrap();
    assert_eq!(member_ids(&group), vec![bob_target]);
}

#[tokio::test]
async fn a_cycle_can_run_on_any_worker_thread() {
    fn assert_send<T: Send>(_: &T) {}
    let world = World::new().await;
    let ctx = CycleContext {
        job_id: JOB,
        service_principal_id: world.sp,
        service_principal_name: "App",
        schema: &world.schema,
        config: &world.config,
        fence: world.fence,
        cycle_id: Uuid::from_u128(1),
        force_full: false,
        directory: &world.directory,
        store: &world.store,
        target: &world.target,
        clock: &world.clock,
    };
    let cycle = run_cycle(&ctx);
    assert_send(&cycle);
    assert!(cycle.await.is_ok());
}

#[tokio::test]
async fn groups_are_matched_by_display_name() {
    let mut world = World::new().await;
    let existing = world
        .target
        .seed(
            TargetKind::Group,
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "team"}),
        )
        .unwrap();
    let team = world.group("Team", &[]).await;
    world.assign(team).await;
    world.cycle().await;
    let link = world.link(ObjectKind::Group, team).await.unwrap();
    assert_eq!(link.target_id, existing);
    assert_eq!(
        link.origin,
        LinkOrigin::Matched {
            target_attribute: "displayName".into(),
            source_attribute: "displayName".into(),
            value: "Team".into(),
        }
    );
    assert_eq!(world.writes(), vec![format!("PATCH /Groups/{existing}")]);
}

#[tokio::test]
async fn a_purged_member_is_deleted_without_a_member_removal() {
    let mut world = World::new().await;
    let bob = world.user("bob@contoso.com", json!({})).await;
    let carol = world.user("carol@contoso.com", json!({})).await;
    let boss = world.user("boss@contoso.com", json!({})).await;
    world.directory.set_manager(bob, boss).await.unwrap();
    let team = world.group("Team", &[bob, carol, boss]).await;
    world.assign(team).await;
    world.cycle().await;
    let team_target = world.target_id(ObjectKind::Group, team).await;
    let bob_target = world.target_id(ObjectKind::User, bob).await;
    let carol_target = world.target_id(ObjectKind::User, carol).await;
    let boss_target = world.target_id(ObjectKind::User, boss).await;

    world
        .directory
        .delete(ObjectKind::User, boss)
        .await
        .unwrap();
    world.directory.purge(boss).await.unwrap();
    world.cycle().await;

    // The target drops a deleted account from its groups itself.
    let writes = world.writes();
    assert!(
        writes.contains(&format!("DELETE /Users/{boss_target}")),
        "{writes:?}"
    );
    assert!(!writes.iter().any(|w| w.contains("/Groups/")), "{writes:?}");
    let group = world
        .target
        .object(TargetKind::Group, &team_target)
        .unwrap();
    assert_eq!(member_ids(&group), sorted(vec![bob_target, carol_target]));

    // Nothing is left to send about it.
    world.run(true).await;
    assert!(world.writes().is_empty(), "{:?}", world.writes());
}

#[test]
fn job_settings_come_from_the_secrets() {
    use crate::model::{SynchronizationSecret, SynchronizationSecretKeyStringValuePair};
    use crate::secrets::Secrets;
    let pair = |key, value: &str| SynchronizationSecretKeyStringValuePair {
        key,
        value: Some(value.to_string()),
    };
    let rows = [
        (vec![], ScopeMode::AssignedOnly, false),
        (
            vec![pair(SynchronizationSecret::SyncAll, "True")],
            ScopeMode::SyncAll,
            false,
        ),
        (
            vec![
                pair(SynchronizationSecret::SyncAll, "false"),
                pair(SynchronizationSecret::SkipOutOfScopeDeletions, "TRUE"),
            ],
            ScopeMode::AssignedOnly,
            true,
        ),
    ];
    for (pairs, scope, skip) in rows {
        let config = JobConfig::from_secrets(&Secrets::new(pairs));
        assert_eq!(config.scope, scope);
        assert_eq!(config.skip_out_of_scope_deletions, skip);
        assert_eq!(config.batch_size, DEFAULT_BATCH_SIZE);
    }
}

#[tokio::test]
async fn refused_credentials_stop_the_cycle_at_once() {
    let mut world = World::new().await;
    for name in ["ann", "bob", "carol"] {
        let id = world.user(&format!("{name}@contoso.com"), json!({})).await;
        world.assign(id).await;
    }
    world.target.fail_next(1, 401, |r| r.method == "POST");

    let error = world.try_run(false).await.unwrap_err();

    let CycleError::Unauthorized(refusal) = error else {
        panic!("{error:?}");
    };
    assert_eq!(refusal.status, Some(401));
    // The target's accounts read for matching (an empty target: two one-page reads), then
    // the refused POST: nothing more was tried.
    let requests = world.target.requests();
    assert_eq!(world.target.writes().len(), 1);
    assert_eq!(requests.last().map(|r| r.method), Some("POST"));
    assert_eq!(
        requests.len(),
        3,
        "{:?}",
        requests.iter().map(|r| &r.path).collect::<Vec<_>>()
    );
    let rows = world.rows().await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].summary["provisioningStatusInfo"]["errorInformation"]["errorCode"],
        json!("Unauthorized")
    );
    assert_eq!(world.store.watermark(JOB).await.unwrap(), None);

    // Once the credentials work, the next cycle provisions everyone.
    let report = world.cycle().await;
    assert_eq!(report.created, 3);
}

#[tokio::test]
async fn large_groups_go_one_at_a_time_while_the_rest_go_on() {
    // Groups of more than 3 members are large here: two of them and a small one, in one
    // batch of four objects in flight, through a target whose calls overlap.
    let mut world = World::new().await;
    world.config.large_membership = 3;
    world.config.concurrency = 4;
    world.target.set_latency(3);
    let mut staff = Vec::new();
    for n in 0..8 {
        let user = world.user(&format!("u{n}@contoso.com"), json!({})).await;
        world.assign(user).await;
        staff.push(user);
    }
    world.cycle().await;
    let big_one = world.group("Big one", &staff[..4]).await;
    let big_two = world.group("Big two", &staff[4..]).await;
    let small = world.group("Small", &staff[..1]).await;
    for group in [big_one, big_two, small] {
        world.assign(group).await;
    }
    world.target.reset_max_in_flight();
    let report = world.cycle().await;
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    // A large group's create and member PATCH never overlap the other large group's; the
    // small group's requests overlap theirs.
    assert_eq!(world.target.max_in_flight(), 2);
    for (group, members) in [
        (big_one, &staff[..4]),
        (big_two, &staff[4..]),
        (small, &staff[..1]),
    ] {
        let account = world
            .target
            .object(
                TargetKind::Group,
                &world.target_id(ObjectKind::Group, group).await,
            )
            .expect("the group");
        let mut expected = Vec::new();
        for member in members {
            expected.push(world.target_id(ObjectKind::User, *member).await);
        }
        assert_eq!(member_ids(&account), sorted(expected));
    }
}

#[tokio::test]
async fn a_batch_keeps_up_to_the_job_s_concurrency_in_flight_with_the_same_result() {
    // The same directory provisioned one object at a time and four at a time, through a
    // target whose calls overlap as a remote one's would.
    let mut results = Vec::new();
    for concurrency in [1, 4] {
        let mut world = World::new().await;
        world.config.concurrency = concurrency;
        world.target.set_latency(3);
        let boss = world.user("boss@contoso.com", json!({})).await;
        let mut staff = Vec::new();
        for n in 0..12 {
            let user = world.user(&format!("u{n:02}@contoso.com"), json!({})).await;
            world
                .directory
                .set_manager(user, boss)
                .await
                .expect("manager");
            staff.push(user);
        }
        let team = world.group("Team", &staff).await;
        world.assign(team).await;
        world.assign(boss).await;
        let report = world.cycle().await;
        assert!(report.failures.is_empty(), "{:?}", report.failures);
        assert_eq!(world.target.max_in_flight(), concurrency);
        let mut accounts: Vec<(String, Value, usize)> = Vec::new();
        for user in staff.iter().chain([&boss]) {
            let account = world.target_user(&world.target_id(ObjectKind::User, *user).await);
            let manager = account[ENTERPRISE]["manager"]["value"].clone();
            let manager = match manager.as_str() {
                Some(id) => world.target_user(id)["userName"].clone(),
                None => Value::Null,
            };
            accounts.push((account["userName"].to_string(), manager, 0));
        }
        let group = world
            .target
            .object(
                TargetKind::Group,
                &world.target_id(ObjectKind::Group, team).await,
            )
            .expect("the group");
        accounts.push(("Team".into(), Value::Null, member_ids(&group).len()));
        accounts.sort_by(|a, b| a.0.cmp(&b.0));
        // Not `report.updated`: how many managers went out in their report's POST rather
        // than a PATCH after it depends on which creates finished first.
        results.push((report.created, accounts));
    }
    assert_eq!(results[0], results[1]);
    assert_eq!(results[1].0, 14, "13 users and the group");
}

#[tokio::test]
async fn two_objects_racing_for_one_account_link_one_and_report_the_other() {
    two_sources_for_one_account(World::new().await, 4, 2).await;
}

#[test]
fn postponed_users_come_in_waves_after_their_managers() {
    let id = |n: u128| Uuid::from_u128(n);
    // (postponed (user, manager) pairs, the waves as user numbers)
    type Case = (Vec<(u128, u128)>, Vec<Vec<u128>>);
    let cases: Vec<Case> = vec![
        (vec![], vec![]),
        // Managers not postponed themselves: one wave, in the order postponed.
        (vec![(3, 90), (1, 91), (2, 90)], vec![vec![3, 1, 2]]),
        // A chain given bottom-up: 1 reports to 2, 2 to 3, 3 to someone linked.
        (
            vec![(1, 2), (2, 3), (3, 90)],
            vec![vec![3], vec![2], vec![1]],
        ),
        // A tree: 4 and 5 report to 2, 2 and 6 to 1.
        (
            vec![(4, 2), (5, 2), (2, 1), (6, 1), (1, 90)],
            vec![vec![1], vec![2, 6], vec![4, 5]],
        ),
        // A loop (1 → 2 → 1) is cut where the walk from 1 meets it; 3 reports to 1.
        (
            vec![(1, 2), (2, 1), (3, 1)],
            vec![vec![2], vec![1], vec![3]],
        ),
        // A user who is their own manager.
        (vec![(7, 7), (8, 7)], vec![vec![7], vec![8]]),
    ];
    for (postponed, expected) in cases {
        let pairs: Vec<(Uuid, Uuid)> = postponed.iter().map(|(u, m)| (id(*u), id(*m))).collect();
        let expected: Vec<Vec<Uuid>> = expected
            .iter()
            .map(|wave| wave.iter().map(|n| id(*n)).collect())
            .collect();
        assert_eq!(manager_waves(&pairs), expected, "{postponed:?}");
    }
    // A chain of 100,000 (walked without recursion) makes as many waves.
    let chain: Vec<(Uuid, Uuid)> = (0..100_000u128).map(|n| (id(n), id(n + 1))).collect();
    let waves = manager_waves(&chain);
    assert_eq!(waves.len(), 100_000);
    assert_eq!(waves[0], vec![id(99_999)]);
    assert_eq!(waves[99_999], vec![id(0)]);
}

#[test]
fn reference_changes_are_split_into_requests_of_bounded_size() {
    let ids = |prefix: &str, n: usize| -> Vec<String> {
        (0..n).map(|i| format!("{prefix}{i}")).collect()
    };
    // (single-valued changes, member adds, member removes, per request) -> values per request
    let cases: Vec<(usize, usize, usize, usize, Vec<usize>)> = vec![
        (0, 0, 0, 100, vec![]),
        (1, 0, 0, 100, vec![0]),
        (0, 3, 0, 100, vec![3]),
        (0, 100, 0, 100, vec![100]),
        (0, 101, 0, 100, vec![100, 1]),
        (0, 250, 0, 100, vec![100, 100, 50]),
        (1, 150, 60, 100, vec![100, 100, 10]),
        (0, 5, 5, 1, vec![1; 10]),
    ];
    for (single, add, remove, per, expected) in cases {
        let (added_ids, removed_ids) = (ids("a", add), ids("r", remove));
        let changes: Vec<MemberChange<'_>> = if add + remove > 0 {
            vec![MemberChange {
                state: 0,
                add: added_ids.iter().map(String::as_str).collect(),
                remove: removed_ids.iter().map(String::as_str).collect(),
            }]
        } else {
            vec![]
        };
        let requests = reference_requests(single, &changes, per);
        let sizes: Vec<usize> = requests
            .iter()
            .map(|r| r.members.iter().map(|p| p.values.len()).sum())
            .collect();
        assert_eq!(
            sizes, expected,
            "single {single} add {add} remove {remove} per {per}"
        );
        assert_eq!(
            requests.iter().map(|r| r.index).collect::<Vec<_>>(),
            (0..requests.len()).collect::<Vec<_>>()
        );
        // Removals come before additions, each in order, every value once.
        let order: Vec<(bool, usize)> = requests
            .iter()
            .flat_map(|r| &r.members)
            .flat_map(|p| p.values.clone().map(move |v| (p.adding, v)))
            .collect();
        let all: Vec<(bool, usize)> = (0..remove)
            .map(|v| (false, v))
            .chain((0..add).map(|v| (true, v)))
            .collect();
        assert_eq!(order, all);
    }
}

#[tokio::test]
async fn a_large_membership_goes_out_in_several_patches_and_a_failure_resumes_where_it_stopped() {
    let mut world = World::new().await;
    world.config.members_per_request = 10;
    let mut members = Vec::new();
    for n in 0..25 {
        members.push(world.user(&format!("m{n:02}@contoso.com"), json!({})).await);
    }
    let team = world.group("Team", &members).await;
    world.assign(team).await;
    // The second member PATCH fails once.
    let seen = std::sync::atomic::AtomicUsize::new(0);
    world.target.fail_next(1, 503, move |r| {
        r.method == "PATCH"
            && r.path.starts_with("/Groups/")
            && seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed) == 1
    });
    let report = world.cycle().await;
    assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
    let group_target = world.target_id(ObjectKind::Group, team).await;
    let group_patches = |world: &World| -> Vec<usize> {
        world
            .target
            .writes()
            .iter()
            .filter(|w| w.method == "PATCH" && w.path == format!("/Groups/{group_target}"))
            .map(|w| {
                patch_ops(w)
                    .iter()
                    .map(|op| op["value"].as_array().map_or(0, Vec::len))
                    .sum()
            })
            .collect()
    };
    // 10 went in, the next 10 failed: the cycle stopped there for this group.
    assert_eq!(group_patches(&world), vec![10, 10]);
    let group = world
        .target
        .object(TargetKind::Group, &group_target)
        .unwrap();
    assert_eq!(member_ids(&group).len(), 10);

    // The next cycle (full: a failed full cycle leaves no watermark) sends only the 15 left.
    world.cycle().await;
    assert_eq!(group_patches(&world), vec![10, 5]);
    let group = world
        .target
        .object(TargetKind::Group, &group_target)
        .unwrap();
    let mut expected = Vec::new();
    for member in &members {
        expected.push(world.target_id(ObjectKind::User, *member).await);
    }
    assert_eq!(member_ids(&group), sorted(expected));
}

#[tokio::test]
async fn a_new_user_whose_manager_has_an_account_is_created_with_it_in_one_request() {
    let mut world = World::new().await;
    let boss = world.user("boss@contoso.com", json!({})).await;
    let ann = world.user("ann@contoso.com", json!({})).await;
    world.directory.set_manager(ann, boss).await.unwrap();
    world.assign(boss).await;
    world.cycle().await;
    let boss_target = world.target_id(ObjectKind::User, boss).await;

    world.assign(ann).await;
    world.cycle().await;
    assert_eq!(world.writes(), vec!["POST /Users".to_string()]);
    let writes = world.target.writes();
    let post = writes.last().unwrap().body.as_ref().unwrap();
    assert_eq!(post[ENTERPRISE]["manager"], json!({ "value": boss_target }));
    let ann_target = world.target_id(ObjectKind::User, ann).await;
    assert_eq!(
        world.target_user(&ann_target)[ENTERPRISE]["manager"]["value"],
        json!(boss_target)
    );
    // The create's log row names the manager it set.
    assert_eq!(
        world.outcomes(ann).await,
        vec![outcome("create", "success", None)]
    );
    let rows = world.rows().await;
    let manager = rows[0].summary["modifiedProperties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["displayName"] == json!(format!("{ENTERPRISE}:manager")))
        .cloned();
    assert_eq!(
        manager,
        Some(json!({
            "displayName": format!("{ENTERPRISE}:manager"),
            "oldValue": null,
            "newValue": boss_target,
        }))
    );
    // Nothing is left to send.
    world.cycle().await;
    assert_eq!(world.writes(), Vec::<String>::new());
}

#[tokio::test]
async fn a_full_cycle_sets_managers_linked_in_later_batches_once_each() {
    // One object per batch: every report is processed before its manager is linked.
    let mut world = World::new().await;
    world.config.batch_size = 1;
    let mut chain = Vec::new();
    for n in 0..6 {
        chain.push(world.user(&format!("c{n}@contoso.com"), json!({})).await);
    }
    for pair in chain.windows(2) {
        world
            .directory
            .set_manager(pair[0], pair[1])
            .await
            .expect("manager");
    }
    for user in &chain {
        world.assign(*user).await;
    }
    let report = world.cycle().await;
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    for pair in chain.windows(2) {
        let account = world.target_user(&world.target_id(ObjectKind::User, pair[0]).await);
        assert_eq!(
            account[ENTERPRISE]["manager"]["value"],
            json!(world.target_id(ObjectKind::User, pair[1]).await)
        );
    }
    // Each report waits for its manager's account, so its POST carries the manager: no
    // PATCH at all, the top of the chain first.
    let writes = world.target.writes();
    let patches = writes.iter().filter(|w| w.method == "PATCH").count();
    let posts_with_manager = writes
        .iter()
        .filter(|w| w.method == "POST")
        .filter(|w| w.body.as_ref().unwrap()[ENTERPRISE]["manager"]["value"].is_string())
        .count();
    assert_eq!(
        (patches, posts_with_manager),
        (0, 5),
        "one manager per report, in its POST: {:?}",
        world.writes()
    );
    let created: Vec<Value> = writes
        .iter()
        .map(|w| w.body.as_ref().unwrap()["userName"].clone())
        .collect();
    let top_first: Vec<Value> = (0..6)
        .rev()
        .map(|n| json!(format!("c{n}@contoso.com")))
        .collect();
    assert_eq!(created, top_first);
    assert_eq!(report.created, 6);
    // And nothing is left to do.
    let report = world.cycle().await;
    assert_eq!(world.writes(), Vec::<String>::new(), "{report:?}");
}

/// Runs one initial cycle over a target that holds accounts to match, duplicates and
/// strangers, with `mode`; returns what a user sees: each source user's link target (or
/// the error code of its row), and the requests by kind.
async fn matching_scenario(mode: MatchingMode) -> (Vec<(String, String)>, Vec<String>) {
    let mut world = World::new().await;
    world.config.matching = mode;
    set_matching(&mut world, "userName", 1);
    set_matching(&mut world, "externalId", 2);
    // (userName, externalId) of the accounts the target holds already.
    let accounts = [
        ("ANN@contoso.com", "legacy-ann"),
        ("old-bob@contoso.com", "bob"),
        ("c1@old.example", "carl"),
        ("c2@old.example", "carl"),
        ("stranger@contoso.com", "stranger"),
    ];
    for (user_name, external_id) in accounts {
        world
            .target
            .seed(TargetKind::User, scim_user(user_name, external_id, "x"))
            .unwrap();
    }
    let mut users = Vec::new();
    for name in ["ann", "bob", "carl", "dora", "eve"] {
        let id = world.user(&format!("{name}@contoso.com"), json!({})).await;
        world.assign(id).await;
        users.push((name, id));
    }
    // A group whose display name an account holds already (case differs).
    world
        .target
        .seed(
            TargetKind::Group,
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "TEAM"
            }),
        )
        .unwrap();
    let team = world.group("Team", &[]).await;
    world.assign(team).await;
    world.cycle().await;
    let mut seen = Vec::new();
    for (name, id) in users {
        let what = match world.link(ObjectKind::User, id).await {
            Some(link) => world.target_user(&link.target_id)["userName"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            None => world
                .outcomes(id)
                .await
                .iter()
                .filter_map(|o| o.2.clone())
                .collect::<Vec<_>>()
                .join(","),
        };
        seen.push((name.to_string(), what));
    }
    let group = world
        .link(ObjectKind::Group, team)
        .await
        .expect("the group is linked");
    let group = world
        .target
        .object(TargetKind::Group, &group.target_id)
        .unwrap();
    seen.push((
        "Team".into(),
        group["displayName"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    ));
    let requests = world
        .target
        .requests()
        .iter()
        .map(|r| {
            let kind = if r.path.contains("filter=") {
                "query"
            } else if r.path.contains("startIndex=") {
                "page"
            } else {
                r.method
            };
            kind.to_string()
        })
        .collect();
    (seen, requests)
}

#[tokio::test]
async fn matching_by_pages_links_exactly_as_matching_by_queries() {
    let (by_query, query_requests) = matching_scenario(MatchingMode::Query).await;
    let (by_pages, page_requests) = matching_scenario(MatchingMode::Pages).await;
    assert_eq!(by_query, by_pages);
    assert_eq!(
        by_query,
        vec![
            ("ann".to_string(), "ann@contoso.com".to_string()),
            ("bob".to_string(), "bob@contoso.com".to_string()),
            ("carl".to_string(), "DuplicateTargetEntries".to_string()),
            ("dora".to_string(), "dora@contoso.com".to_string()),
            ("eve".to_string(), "eve@contoso.com".to_string()),
            ("Team".to_string(), "Team".to_string()),
        ]
    );
    let count = |requests: &[String], kind: &str| requests.iter().filter(|r| *r == kind).count();
    assert!(count(&query_requests, "query") >= 6, "{query_requests:?}");
    assert_eq!(count(&query_requests, "page"), 0);
    // Pages: one page of users, one of groups, no query; a matched account is read (GET)
    // before its update, as the index holds ids only.
    assert_eq!(count(&page_requests, "query"), 0, "{page_requests:?}");
    assert_eq!(count(&page_requests, "page"), 2, "{page_requests:?}");
    assert_eq!(
        count(&page_requests, "GET"),
        3,
        "ann, bob and the group: {page_requests:?}"
    );
    assert_eq!(
        count(&page_requests, "POST"),
        count(&query_requests, "POST")
    );
}

#[tokio::test]
async fn auto_matching_reads_pages_only_when_they_are_cheaper_than_the_queries() {
    // An empty target and 30 users: one page beats 30 queries.
    let mut world = World::new().await;
    for n in 0..30 {
        let id = world.user(&format!("a{n}@contoso.com"), json!({})).await;
        world.assign(id).await;
    }
    world.cycle().await;
    let paths = world.request_paths();
    assert!(paths.iter().all(|p| !p.contains("filter=")), "{paths:?}");
    // An incremental cycle with one new user queries.
    let late = world.user("late@contoso.com", json!({})).await;
    world.assign(late).await;
    world.cycle().await;
    let paths = world.request_paths();
    assert!(
        paths.iter().any(|p| p.contains("filter=userName")),
        "{paths:?}"
    );
    // A full cycle over 3 users against a target of 30 accounts: the queries are cheaper.
    let mut small = World::new().await;
    for n in 0..30 {
        small
            .target
            .seed(
                TargetKind::User,
                scim_user(&format!("s{n}@old.example"), "", "x"),
            )
            .unwrap();
    }
    for n in 0..3 {
        let id = small.user(&format!("b{n}@contoso.com"), json!({})).await;
        small.assign(id).await;
    }
    small.cycle().await;
    let paths = small.request_paths();
    assert_eq!(
        paths.iter().filter(|p| p.contains("filter=")).count(),
        3,
        "{paths:?}"
    );
}

#[tokio::test]
async fn member_changes_go_out_as_bounded_patches_with_removals_first() {
    // One group keeps `kept` members, loses `removed` and gains `added` between two cycles;
    // the second cycle's PATCHes of the group are, op by op, (op, start..end) over the
    // removed (then added) members' target ids in sorted order.
    type Ops = Vec<Vec<(&'static str, std::ops::Range<usize>)>>;
    let cases: Vec<(usize, usize, usize, usize, Ops)> = vec![
        (
            0,
            0,
            250,
            100,
            vec![
                vec![("add", 0..100)],
                vec![("add", 100..200)],
                vec![("add", 200..250)],
            ],
        ),
        (
            30,
            60,
            190,
            100,
            vec![
                vec![("remove", 0..60), ("add", 0..40)],
                // A chunk of `per_request` values that does not fit the room left is split.
                vec![("add", 40..100), ("add", 100..140)],
                vec![("add", 140..190)],
            ],
        ),
        (
            5,
            3,
            0,
            2,
            vec![vec![("remove", 0..2)], vec![("remove", 2..3)]],
        ),
        (1, 0, 0, 100, vec![]),
    ];
    for (kept, removed, added, per, expected) in cases {
        let mut world = World::new().await;
        world.config.members_per_request = per;
        let mut users = Vec::new();
        for n in 0..kept + removed + added {
            users.push(world.user(&format!("u{n:03}@contoso.com"), json!({})).await);
        }
        let (first, joining) = users.split_at(kept + removed);
        let team = world.group("Team", first).await;
        world.assign(team).await;
        world.cycle().await;
        let leaving = &first[kept..];
        for user in leaving {
            world.directory.remove_member(team, *user).await.unwrap();
        }
        for user in joining {
            world.directory.add_member(team, *user).await.unwrap();
        }
        world.cycle().await;

        let mut removed_ids = Vec::new();
        for user in leaving {
            removed_ids.push(world.target_id(ObjectKind::User, *user).await);
        }
        let mut added_ids = Vec::new();
        for user in joining {
            added_ids.push(world.target_id(ObjectKind::User, *user).await);
        }
        let (removed_ids, added_ids) = (sorted(removed_ids), sorted(added_ids));
        let expected: Vec<Vec<Value>> = expected
            .into_iter()
            .map(|ops| {
                ops.into_iter()
                    .map(|(op, range)| {
                        let ids = if op == "add" {
                            &added_ids
                        } else {
                            &removed_ids
                        };
                        let values: Vec<Value> =
                            ids[range].iter().map(|id| json!({ "value": id })).collect();
                        json!({"op": op, "path": "members", "value": values})
                    })
                    .collect()
            })
            .collect();
        let group_target = world.target_id(ObjectKind::Group, team).await;
        let patches: Vec<Vec<Value>> = world
            .target
            .writes()
            .iter()
            .filter(|w| w.method == "PATCH" && w.path == format!("/Groups/{group_target}"))
            .map(patch_ops)
            .collect();
        assert_eq!(
            patches, expected,
            "kept {kept} removed {removed} added {added} per {per}"
        );
        let mut members = Vec::new();
        for user in &first[..kept] {
            members.push(world.target_id(ObjectKind::User, *user).await);
        }
        members.extend(added_ids);
        let group = world
            .target
            .object(TargetKind::Group, &group_target)
            .unwrap();
        assert_eq!(member_ids(&group), sorted(members));
    }
}

#[tokio::test]
async fn a_first_cycle_s_large_group_gets_its_members_whatever_the_batch_size() {
    // A large group's link is read again from the store when its members go out (the
    // batch does not keep its member list until then), so the link must be written by
    // then, whether the users came in batches of their own or with the group.
    for batch_size in [1, 3, 500] {
        let mut world = World::new().await;
        world.config.large_membership = 3;
        world.config.batch_size = batch_size;
        let mut staff = Vec::new();
        for n in 0..4 {
            let user = world.user(&format!("u{n}@contoso.com"), json!({})).await;
            world.assign(user).await;
            staff.push(user);
        }
        let big = world.group("Big", &staff).await;
        world.assign(big).await;
        let report = world.cycle().await;
        assert!(
            report.failures.is_empty(),
            "{batch_size}: {:?}",
            report.failures
        );
        assert_eq!(report.created, 5, "{batch_size}");
        let account = world
            .target
            .object(
                TargetKind::Group,
                &world.target_id(ObjectKind::Group, big).await,
            )
            .expect("the group");
        let mut expected = Vec::new();
        for member in &staff {
            expected.push(world.target_id(ObjectKind::User, *member).await);
        }
        assert_eq!(member_ids(&account), sorted(expected), "{batch_size}");
        let links = world
            .store
            .links(
                JOB,
                &LinkQuery {
                    limit: 100,
                    ..LinkQuery::default()
                },
            )
            .await
            .expect("links");
        assert_eq!(links.len(), 5, "{batch_size}: every link is in the store");
    }
}
