//! The conformance suite every [`DirectoryStore`] passes: the same assertions on SQLite, on
//! PostgreSQL and on [`crate::MemoryDirectory`]. Call [`run`] with an empty store.

use std::collections::HashSet;
use std::sync::Arc;

use crate::{
    ChangeOp, Cursor, DirectoryStore, ImportObject, ImportReference, ImportResult, IndexSeek,
    ListQuery, MemberRef, ObjectKind, ObjectRef, OrderKey, ReferenceKind, StoreError,
    StoredAssignment, DEFAULT_ACCESS_ROLE,
};
use serde_json::{json, Map, Value};
use uuid::Uuid;

/// The store under test.
pub type Store = Arc<dyn DirectoryStore>;

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

fn user(upn: &str, name: &str) -> Map<String, Value> {
    obj(json!({"userPrincipalName": upn, "displayName": name, "accountEnabled": true}))
}

async fn create_user(s: &Store, upn: &str, name: &str) -> Uuid {
    let id = Uuid::new_v4();
    s.create(ObjectKind::User, id, user(upn, name), None, vec![])
        .await
        .expect("create user");
    id
}

async fn create_group(s: &Store, nick: &str) -> Uuid {
    let id = Uuid::new_v4();
    s.create(
        ObjectKind::Group,
        id,
        obj(json!({"displayName": nick.to_uppercase(), "mailNickname": nick})),
        None,
        vec![],
    )
    .await
    .expect("create group");
    id
}

/// Sets one property of user `id` through a read-modify-write update.
async fn set_property(
    s: &Store,
    id: Uuid,
    name: &'static str,
    value: Value,
) -> crate::ObjectUpdate {
    s.update(
        ObjectKind::User,
        id,
        Box::new(move |cur| {
            let mut d = cur.data.clone();
            d.insert(name.into(), value);
            Ok(Some(d))
        }),
    )
    .await
    .expect("update")
}

/// Runs every check against `store`, which must be empty.
pub async fn run(store: Store) {
    objects(&store).await;
    lists(&store).await;
    references(&store).await;
    assignments(&store).await;
    imports(&store).await;
    imports_in_bulk(&store).await;
    concurrent_imports_of_one_group(&store).await;
    change_log(&store).await;
    concurrent_writers_and_a_watermark_reader(&store).await;
    retention(&store).await;
}

async fn objects(s: &Store) {
    let w0 = s.watermark().await.unwrap();
    let id = create_user(s, "Ada@Contoso.com", "Ada").await;
    let got = s.get(ObjectKind::User, id, false).await.unwrap().unwrap();
    assert_eq!(got.data["userPrincipalName"], "Ada@Contoso.com");
    assert_eq!(got.version, 1);
    assert!(got.deleted.is_none());
    assert!(s.get(ObjectKind::Group, id, false).await.unwrap().is_none());
    assert_eq!(s.get_any(id).await.unwrap().unwrap().kind, ObjectKind::User);

    // userPrincipalName is unique among live users, whatever the case.
    let taken = s
        .create(
            ObjectKind::User,
            Uuid::new_v4(),
            user("ada@contoso.COM", "Other"),
            None,
            vec![],
        )
        .await;
    assert_eq!(
        taken.unwrap_err(),
        StoreError::Unique("userPrincipalName".into())
    );
    let same_id = s
        .create(
            ObjectKind::User,
            id,
            user("x@contoso.com", "X"),
            None,
            vec![],
        )
        .await;
    assert_eq!(same_id.unwrap_err(), StoreError::Unique("id".into()));

    // Updates are read-modify-write; a no-op writes nothing.
    let out = set_property(s, id, "jobTitle", json!("Engineer")).await;
    assert!(out.changed);
    assert_eq!(out.object.version, 2);
    assert_eq!(out.object.data["jobTitle"], "Engineer");
    let w1 = s.watermark().await.unwrap();
    let same = s
        .update(ObjectKind::User, id, Box::new(|_| Ok(None)))
        .await
        .unwrap();
    assert!(!same.changed);
    assert_eq!(same.object.version, 2);
    assert_eq!(s.watermark().await.unwrap(), w1);
    let missing = s
        .update(ObjectKind::User, Uuid::new_v4(), Box::new(|_| Ok(None)))
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound(_))));

    // Soft delete, the UPN freed, restore refused while it is taken, then purge.
    s.delete(ObjectKind::User, id).await.unwrap();
    assert!(s.get(ObjectKind::User, id, false).await.unwrap().is_none());
    let deleted = s.get(ObjectKind::User, id, true).await.unwrap().unwrap();
    assert!(deleted.deleted.is_some());
    assert!(matches!(
        s.delete(ObjectKind::User, id).await,
        Err(StoreError::NotFound(_))
    ));
    let second = create_user(s, "ada@contoso.com", "Ada II").await;
    assert_eq!(
        s.restore(id).await.unwrap_err(),
        StoreError::Unique("userPrincipalName".into())
    );
    s.delete(ObjectKind::User, second).await.unwrap();
    s.purge(second).await.unwrap();
    assert!(s
        .get(ObjectKind::User, second, true)
        .await
        .unwrap()
        .is_none());
    let restored = s.restore(id).await.unwrap();
    assert!(restored.deleted.is_none());
    assert!(matches!(s.purge(id).await, Err(StoreError::NotFound(_))));
    s.delete(ObjectKind::User, id).await.unwrap();
    s.purge(id).await.unwrap();

    let ops: Vec<(ChangeOp, Uuid)> = s
        .changes_since(w0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.op, c.object_id))
        .collect();
    use ChangeOp::*;
    assert_eq!(
        ops,
        vec![
            (Created, id),
            (Updated, id),
            (Deleted, id),
            (Created, second),
            (Deleted, second),
            (Purged, second),
            (Restored, id),
            (Deleted, id),
            (Purged, id),
        ]
    );
    assert_eq!(s.count(ObjectKind::User, false).await.unwrap(), 0);
}

async fn lists(s: &Store) {
    let mut ids = Vec::new();
    for (i, name) in ["Émile", "bob", "Chloé", "alice", "Dave", "émilie"]
        .iter()
        .enumerate()
    {
        let mut data = user(&format!("u{i}@lists.example"), name);
        data.insert("mail".into(), json!(format!("U{i}@Lists.Example")));
        data.insert("employeeId".into(), json!(format!("E{i}")));
        let id = Uuid::new_v4();
        s.create(ObjectKind::User, id, data, None, vec![])
            .await
            .unwrap();
        ids.push(id);
    }
    let base = ListQuery::all(ObjectKind::User, 100);
    let names = |objs: &[crate::StoredObject]| -> Vec<String> {
        objs.iter()
            .map(|o| o.data["displayName"].as_str().unwrap_or("").to_string())
            .collect()
    };

    // Order by id, paged by cursor.
    let all = s.list(&base).await.unwrap();
    assert_eq!(all.len(), 6);
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(all.iter().map(|o| o.id).collect::<Vec<_>>(), sorted);
    let mut paged = Vec::new();
    let mut q = ListQuery {
        limit: 4,
        ..base.clone()
    };
    loop {
        let page = s.list(&q).await.unwrap();
        let Some(last) = page.last() else { break };
        q.after = Some(Cursor {
            key: last.id.to_string(),
            id: last.id,
        });
        paged.extend(page.iter().map(|o| o.id));
    }
    assert_eq!(paged, sorted);

    // Order by display name, case-insensitive, both directions, with a cursor.
    let by_name = ListQuery {
        order: OrderKey::DisplayName,
        ..base.clone()
    };
    assert_eq!(
        names(&s.list(&by_name).await.unwrap()),
        ["alice", "bob", "Chloé", "Dave", "Émile", "émilie"]
    );
    let desc = ListQuery {
        descending: true,
        limit: 2,
        ..by_name.clone()
    };
    let first = s.list(&desc).await.unwrap();
    assert_eq!(names(&first), ["émilie", "Émile"]);
    let next = ListQuery {
        after: Some(Cursor {
            key: "emile".into(),
            id: first[1].id,
        }),
        ..desc.clone()
    };
    assert_eq!(names(&s.list(&next).await.unwrap()), ["Dave", "Chloé"]);

    // Seeks: case-insensitive keys, `in` lists, exact employeeId, prefixes.
    let seek = |prop: IndexSeek, values: &[&str]| ListQuery {
        seek: Some((prop, values.iter().map(|v| v.to_string()).collect())),
        ..base.clone()
    };
    for (query, expected) in [
        (
            seek(IndexSeek::UserPrincipalName, &["U1@LISTS.example"]),
            vec!["bob"],
        ),
        (
            seek(IndexSeek::Mail, &["u2@lists.example", "u3@lists.example"]),
            vec!["Chloé", "alice"],
        ),
        (seek(IndexSeek::DisplayName, &["ÉMILE"]), vec!["Émile"]),
        (seek(IndexSeek::EmployeeId, &["E4"]), vec!["Dave"]),
        (seek(IndexSeek::EmployeeId, &["e4"]), vec![]),
        (
            seek(IndexSeek::Id, &[&ids[5].to_string().to_uppercase()]),
            vec!["émilie"],
        ),
        (seek(IndexSeek::Id, &[]), vec![]),
        (
            ListQuery {
                prefix: Some((IndexSeek::DisplayName, "ÉMI".into())),
                order: OrderKey::DisplayName,
                ..base.clone()
            },
            vec!["Émile", "émilie"],
        ),
    ] {
        let mut got = names(&s.list(&query).await.unwrap());
        let mut want: Vec<String> = expected.iter().map(|x| x.to_string()).collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{query:?}");
    }
    assert_eq!(
        s.lookup(
            ObjectKind::User,
            IndexSeek::UserPrincipalName,
            "U0@lists.EXAMPLE"
        )
        .await
        .unwrap(),
        Some(ids[0])
    );

    // Deleted items are listed apart.
    s.delete(ObjectKind::User, ids[0]).await.unwrap();
    assert_eq!(s.list(&base).await.unwrap().len(), 5);
    let deleted = s
        .list(&ListQuery {
            deleted: true,
            ..base.clone()
        })
        .await
        .unwrap();
    assert_eq!(
        deleted.iter().map(|o| o.id).collect::<Vec<_>>(),
        vec![ids[0]]
    );
    assert_eq!(s.count(ObjectKind::User, false).await.unwrap(), 5);
    assert_eq!(s.count(ObjectKind::User, true).await.unwrap(), 1);
    for id in &ids {
        if *id != ids[0] {
            s.delete(ObjectKind::User, *id).await.unwrap();
        }
        s.purge(*id).await.unwrap();
    }
}

async fn references(s: &Store) {
    let boss = create_user(s, "boss@refs.example", "Boss").await;
    let a = create_user(s, "a@refs.example", "A").await;
    let b = create_user(s, "b@refs.example", "B").await;
    let team = create_group(s, "team").await;
    let all = create_group(s, "all").await;

    s.set_manager(a, Some(boss)).await.unwrap();
    s.set_manager(b, Some(boss)).await.unwrap();
    assert_eq!(
        s.get(ObjectKind::User, a, false)
            .await
            .unwrap()
            .unwrap()
            .manager,
        Some(boss)
    );
    let reports: HashSet<Uuid> = s
        .direct_reports(boss, None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.id)
        .collect();
    assert_eq!(reports, HashSet::from([a, b]));
    // Managers by user, for live users that have one: not the boss (no manager), not a
    // group, not an unknown id, and each user once however often it is asked for.
    let mut managers = s
        .managers_of(&[a, boss, b, team, Uuid::new_v4(), a])
        .await
        .unwrap();
    managers.sort();
    managers.dedup();
    let mut expected = vec![(a, boss), (b, boss)];
    expected.sort();
    assert_eq!(managers, expected);
    assert!(s.managers_of(&[]).await.unwrap().is_empty());
    assert!(matches!(
        s.set_manager(a, Some(Uuid::new_v4())).await,
        Err(StoreError::NotFound(_))
    ));
    s.set_manager(b, None).await.unwrap();
    assert_eq!(
        s.get(ObjectKind::User, b, false)
            .await
            .unwrap()
            .unwrap()
            .manager,
        None
    );

    let m = |id, kind| MemberRef { id, kind };
    assert!(s.add_member(team, m(a, ObjectKind::User)).await.unwrap());
    assert!(!s.add_member(team, m(a, ObjectKind::User)).await.unwrap());
    assert!(s.add_member(team, m(b, ObjectKind::User)).await.unwrap());
    assert!(s.add_member(all, m(team, ObjectKind::Group)).await.unwrap());
    assert!(matches!(
        s.add_member(team, m(Uuid::new_v4(), ObjectKind::User))
            .await,
        Err(StoreError::NotFound(_))
    ));
    let members: HashSet<Uuid> = s
        .members(team, None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.id)
        .collect();
    assert_eq!(members, HashSet::from([a, b]));
    // The same members as ids and kinds, paged the same way.
    let refs = s.member_refs(all, None, 10).await.unwrap();
    assert_eq!(refs, vec![m(team, ObjectKind::Group)]);
    let mut ids: Vec<Uuid> = vec![a, b];
    ids.sort_by_key(|id| id.to_string());
    let first_ref = s.member_refs(team, None, 1).await.unwrap();
    assert_eq!(first_ref, vec![m(ids[0], ObjectKind::User)]);
    assert_eq!(
        s.member_refs(team, Some(ids[0]), 10).await.unwrap(),
        vec![m(ids[1], ObjectKind::User)]
    );
    let first = s.members(team, None, 1).await.unwrap();
    let rest = s.members(team, Some(first[0].id), 10).await.unwrap();
    assert_eq!(first.len() + rest.len(), 2);
    assert_eq!(
        s.member_of(team)
            .await
            .unwrap()
            .iter()
            .map(|o| o.id)
            .collect::<Vec<_>>(),
        vec![all]
    );

    // A deleted member disappears from lists and comes back with a restore.
    s.delete(ObjectKind::User, b).await.unwrap();
    assert_eq!(s.members(team, None, 10).await.unwrap().len(), 1);
    assert_eq!(
        s.member_refs(team, None, 10).await.unwrap(),
        vec![m(a, ObjectKind::User)]
    );
    s.restore(b).await.unwrap();
    assert_eq!(s.members(team, None, 10).await.unwrap().len(), 2);
    assert!(s.remove_member(team, b).await.unwrap());
    assert!(!s.remove_member(team, b).await.unwrap());

    // Purging the manager clears the link; purging a member removes the membership.
    s.delete(ObjectKind::User, boss).await.unwrap();
    s.purge(boss).await.unwrap();
    assert_eq!(
        s.get(ObjectKind::User, a, false)
            .await
            .unwrap()
            .unwrap()
            .manager,
        None
    );
    s.delete(ObjectKind::User, a).await.unwrap();
    s.purge(a).await.unwrap();
    assert!(s.members(team, None, 10).await.unwrap().is_empty());
    for id in [b, team, all] {
        let kind = s.get_any(id).await.unwrap().unwrap().kind;
        s.delete(kind, id).await.unwrap();
        s.purge(id).await.unwrap();
    }
}

async fn assignments(s: &Store) {
    let role = Uuid::new_v4();
    let sp = Uuid::new_v4();
    s.create(
        ObjectKind::ServicePrincipal,
        sp,
        obj(
            json!({"displayName": "App", "appId": Uuid::new_v4().to_string(),
                   "appRoles": [{"id": role.to_string(), "value": "User"}]}),
        ),
        None,
        vec![],
    )
    .await
    .unwrap();
    let u = create_user(s, "assigned@sp.example", "Assigned").await;
    let g = create_group(s, "assigned-group").await;
    let mk = |principal: MemberRef, app_role_id| StoredAssignment {
        id: Uuid::new_v4(),
        principal,
        resource_id: sp,
        app_role_id,
        created: "2026-01-01T00:00:00Z".into(),
    };
    let a1 = mk(
        MemberRef {
            id: u,
            kind: ObjectKind::User,
        },
        role,
    );
    let a2 = mk(
        MemberRef {
            id: g,
            kind: ObjectKind::Group,
        },
        DEFAULT_ACCESS_ROLE,
    );
    s.add_assignment(a1.clone()).await.unwrap();
    s.add_assignment(a2.clone()).await.unwrap();
    assert_eq!(s.get_assignment(a1.id).await.unwrap(), Some(a1.clone()));
    let to_sp = s.assignments(Some(sp), None, None, 10).await.unwrap();
    assert_eq!(to_sp.len(), 2);
    assert_eq!(
        s.assignments(None, Some(u), None, 10).await.unwrap(),
        vec![a1.clone()]
    );
    assert!(matches!(
        s.add_assignment(mk(
            MemberRef {
                id: Uuid::new_v4(),
                kind: ObjectKind::User
            },
            role
        ))
        .await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(s.remove_assignment(a1.id).await.unwrap(), a1);
    assert!(matches!(
        s.remove_assignment(a1.id).await,
        Err(StoreError::NotFound(_))
    ));
    // Deleting a service principal removes it for good with its assignments.
    s.delete(ObjectKind::ServicePrincipal, sp).await.unwrap();
    assert!(s.get_assignment(a2.id).await.unwrap().is_none());
    assert!(s
        .get(ObjectKind::ServicePrincipal, sp, true)
        .await
        .unwrap()
        .is_none());
    for id in [u, g] {
        let kind = s.get_any(id).await.unwrap().unwrap().kind;
        s.delete(kind, id).await.unwrap();
        s.purge(id).await.unwrap();
    }
}

async fn imports(s: &Store) {
    let existing = create_user(s, "kept@import.example", "Kept").await;
    let rec = |line, kind, data: Value| ImportObject {
        line,
        kind,
        id: None,
        data: obj(data),
    };
    let upn = |s: &str| ObjectRef::UserPrincipalName(s.to_string());
    let objects = vec![
        rec(
            1,
            ObjectKind::User,
            json!({"userPrincipalName": "new@import.example", "displayName": "New"}),
        ),
        rec(
            2,
            ObjectKind::User,
            json!({"userPrincipalName": "KEPT@import.example", "displayName": "Kept", "jobTitle": "Boss"}),
        ),
        rec(
            3,
            ObjectKind::User,
            json!({"userPrincipalName": "KEPT@import.example", "displayName": "Kept", "jobTitle": "Boss"}),
        ),
        rec(
            4,
            ObjectKind::Group,
            json!({"displayName": "Imported", "mailNickname": "imported"}),
        ),
    ];
    let links = vec![
        ImportReference {
            line: 1,
            from: upn("new@import.example"),
            kind: ReferenceKind::Manager,
            to: upn("kept@import.example"),
        },
        ImportReference {
            line: 1,
            from: upn("new@import.example"),
            kind: ReferenceKind::Manager,
            to: upn("later@import.example"),
        },
        ImportReference {
            line: 4,
            from: ObjectRef::MailNickname("imported".into()),
            kind: ReferenceKind::Member,
            to: upn("new@import.example"),
        },
        ImportReference {
            line: 4,
            from: ObjectRef::MailNickname("imported".into()),
            kind: ReferenceKind::Member,
            to: ObjectRef::MailNickname("imported".into()),
        },
    ];

    // A dry run reports the same outcome and writes nothing.
    let before = s.watermark().await.unwrap();
    let dry = s
        .import(objects.clone(), links.clone(), true)
        .await
        .unwrap();
    assert_eq!(s.watermark().await.unwrap(), before);
    assert_eq!(s.count(ObjectKind::User, false).await.unwrap(), 1);

    let report = s.import(objects, links.clone(), false).await.unwrap();
    assert_eq!(report.objects.len(), 4);
    assert_eq!(dry.objects.len(), 4);
    let ImportResult::Created(new) = report.objects[0] else {
        panic!("{:?}", report.objects[0])
    };
    assert_eq!(report.objects[1], ImportResult::Updated(existing));
    assert_eq!(report.objects[2], ImportResult::Unchanged(existing));
    let ImportResult::Created(group) = report.objects[3] else {
        panic!("{:?}", report.objects[3])
    };
    assert_eq!(report.unresolved, vec![links[1].clone()]);
    assert_eq!(report.failed_references.len(), 1);
    assert_eq!(report.failed_references[0].0, links[3]);
    assert_eq!(dry.unresolved, report.unresolved);

    let new_user = s.get(ObjectKind::User, new, false).await.unwrap().unwrap();
    // The second manager link was unresolved: the first one stands.
    assert_eq!(new_user.manager, Some(existing));
    assert_eq!(s.members(group, None, 10).await.unwrap()[0].id, new);
    let kept = s
        .get(ObjectKind::User, existing, false)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.data["jobTitle"], "Boss");
    // Matched case-insensitively, the UPN takes the spelling the import sent.
    assert_eq!(kept.data["userPrincipalName"], "KEPT@import.example");

    // A duplicate within one batch fails alone; the rest commits.
    let report = s
        .import(
            vec![
                rec(
                    7,
                    ObjectKind::User,
                    json!({"userPrincipalName": "dup@import.example", "displayName": "One"}),
                ),
                ImportObject {
                    id: Some(existing),
                    ..rec(8, ObjectKind::Group, json!({"displayName": "Wrong kind"}))
                },
                rec(
                    9,
                    ObjectKind::User,
                    json!({"userPrincipalName": "later@import.example", "displayName": "Later"}),
                ),
            ],
            links[1..2].to_vec(),
            false,
        )
        .await
        .unwrap();
    assert!(matches!(report.objects[0], ImportResult::Created(_)));
    assert!(matches!(report.objects[1], ImportResult::Failed(_)));
    let ImportResult::Created(later) = report.objects[2] else {
        panic!("{:?}", report.objects[2])
    };
    assert!(report.unresolved.is_empty());
    assert_eq!(
        s.get(ObjectKind::User, new, false)
            .await
            .unwrap()
            .unwrap()
            .manager,
        Some(later)
    );

    for o in s
        .list(&ListQuery::all(ObjectKind::User, 100))
        .await
        .unwrap()
    {
        s.delete(o.kind, o.id).await.unwrap();
        s.purge(o.id).await.unwrap();
    }
    s.delete(ObjectKind::Group, group).await.unwrap();
    s.purge(group).await.unwrap();
}

/// A batch of new objects is written in bulk where the store can: what one of them would
/// have met alone (a key taken, a name repeated) is still answered per object, in order.
async fn imports_in_bulk(s: &Store) {
    let taken = create_user(s, "taken@bulk.example", "Taken").await;
    let rec = |line, id, kind, data: Value| ImportObject {
        line,
        kind,
        id,
        data: obj(data),
    };
    let upn = |s: &str| ObjectRef::UserPrincipalName(s.to_string());
    let link = |line, from: ObjectRef, kind, to: ObjectRef| ImportReference {
        line,
        from,
        kind,
        to,
    };
    let fresh = Uuid::new_v4();
    let before = s.watermark().await.unwrap();
    let report = s
        .import(
            vec![
                rec(
                    1,
                    None,
                    ObjectKind::User,
                    json!({"userPrincipalName": "a@bulk.example", "displayName": "A"}),
                ),
                // A new id, but a userPrincipalName a live user has.
                rec(
                    2,
                    Some(fresh),
                    ObjectKind::User,
                    json!({"userPrincipalName": "TAKEN@bulk.example", "displayName": "Clash"}),
                ),
                rec(
                    3,
                    None,
                    ObjectKind::User,
                    json!({"userPrincipalName": "b@bulk.example", "displayName": "B"}),
                ),
                // The same user again: created by line 1, updated here.
                rec(
                    4,
                    None,
                    ObjectKind::User,
                    json!({"userPrincipalName": "A@bulk.example", "displayName": "A again"}),
                ),
                rec(
                    5,
                    None,
                    ObjectKind::Group,
                    json!({"displayName": "Team", "mailNickname": "team"}),
                ),
            ],
            vec![
                link(
                    1,
                    upn("a@bulk.example"),
                    ReferenceKind::Manager,
                    upn("taken@bulk.example"),
                ),
                link(
                    1,
                    upn("a@bulk.example"),
                    ReferenceKind::Manager,
                    upn("b@bulk.example"),
                ),
                link(
                    5,
                    ObjectRef::MailNickname("team".into()),
                    ReferenceKind::Member,
                    upn("a@bulk.example"),
                ),
                link(
                    5,
                    ObjectRef::MailNickname("team".into()),
                    ReferenceKind::Member,
                    upn("a@bulk.example"),
                ),
            ],
            false,
        )
        .await
        .unwrap();
    let ImportResult::Created(a) = report.objects[0] else {
        panic!("{:?}", report.objects)
    };
    let ImportResult::Failed(clash) = &report.objects[1] else {
        panic!("{:?}", report.objects)
    };
    assert!(clash.message.contains("userPrincipalName"), "{clash:?}");
    let ImportResult::Created(b) = report.objects[2] else {
        panic!("{:?}", report.objects)
    };
    assert_eq!(report.objects[3], ImportResult::Updated(a));
    let ImportResult::Created(team) = report.objects[4] else {
        panic!("{:?}", report.objects)
    };
    assert!(report.unresolved.is_empty() && report.failed_references.is_empty());
    assert!(s.get_any(fresh).await.unwrap().is_none());
    let a_now = s.get(ObjectKind::User, a, false).await.unwrap().unwrap();
    assert_eq!(a_now.data["displayName"], "A again");
    assert_eq!(a_now.manager, Some(b), "the last manager named wins");

    // A new user whose managers exist already: written with the last one named.
    let report = s
        .import(
            vec![rec(
                6,
                None,
                ObjectKind::User,
                json!({"userPrincipalName": "c@bulk.example", "displayName": "C"}),
            )],
            vec![
                link(
                    6,
                    upn("c@bulk.example"),
                    ReferenceKind::Manager,
                    upn("a@bulk.example"),
                ),
                link(
                    6,
                    upn("c@bulk.example"),
                    ReferenceKind::Manager,
                    upn("taken@bulk.example"),
                ),
            ],
            false,
        )
        .await
        .unwrap();
    let ImportResult::Created(c) = report.objects[0] else {
        panic!("{:?}", report.objects)
    };
    let c_now = s.get(ObjectKind::User, c, false).await.unwrap().unwrap();
    assert_eq!(c_now.manager, Some(taken), "the last manager named wins");
    let members = s.members(team, None, 10).await.unwrap();
    assert_eq!(members.iter().map(|m| m.id).collect::<Vec<_>>(), [a]);
    let ops: Vec<(Uuid, ChangeOp)> = s
        .changes_since(before, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.object_id, c.op))
        .collect();
    let count = |id, op| ops.iter().filter(|c| **c == (id, op)).count();
    assert_eq!(count(a, ChangeOp::Created), 1, "{ops:?}");
    assert_eq!(count(a, ChangeOp::Updated), 1, "{ops:?}");
    assert_eq!(count(team, ChangeOp::MemberAdded), 1, "{ops:?}");
    assert!(count(a, ChangeOp::ManagerChanged) >= 1, "{ops:?}");

    for id in [a, b, c, taken, team] {
        let kind = s.get_any(id).await.unwrap().unwrap().kind;
        s.delete(kind, id).await.unwrap();
        s.purge(id).await.unwrap();
    }
}

/// Batches imported at the same time that each carry a part of one group make one group
/// with every member (an importer sends batches concurrently).
async fn concurrent_imports_of_one_group(s: &Store) {
    let mut users = Vec::new();
    for i in 0..8 {
        users.push(create_user(s, &format!("m{i}@split.example"), "M").await);
    }
    let mut tasks = Vec::new();
    for i in 0..8 {
        let s = Arc::clone(s);
        tasks.push(tokio::spawn(async move {
            let group = ImportObject {
                line: i,
                kind: ObjectKind::Group,
                id: None,
                data: obj(json!({"displayName": "Split", "mailNickname": "split"})),
            };
            let link = ImportReference {
                line: i,
                from: ObjectRef::MailNickname("split".into()),
                kind: ReferenceKind::Member,
                to: ObjectRef::UserPrincipalName(format!("m{i}@split.example")),
            };
            s.import(vec![group], vec![link], false).await.unwrap()
        }));
    }
    let mut created = 0;
    for t in tasks {
        let report = t.await.unwrap();
        created += report
            .objects
            .iter()
            .filter(|r| matches!(r, ImportResult::Created(_)))
            .count();
        assert!(report.unresolved.is_empty() && report.failed_references.is_empty());
    }
    assert_eq!(created, 1, "one group, however the batches interleave");
    let groups = s
        .list(&ListQuery {
            seek: Some((IndexSeek::MailNickname, vec!["split".into()])),
            ..ListQuery::all(ObjectKind::Group, 10)
        })
        .await
        .unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(s.members(groups[0].id, None, 100).await.unwrap().len(), 8);
    s.delete(ObjectKind::Group, groups[0].id).await.unwrap();
    s.purge(groups[0].id).await.unwrap();
    for id in users {
        s.delete(ObjectKind::User, id).await.unwrap();
        s.purge(id).await.unwrap();
    }
}

async fn change_log(s: &Store) {
    let w = s.watermark().await.unwrap();
    let u = create_user(s, "log@log.example", "Log").await;
    let g = create_group(s, "log").await;
    s.add_member(
        g,
        MemberRef {
            id: u,
            kind: ObjectKind::User,
        },
    )
    .await
    .unwrap();
    s.remove_member(g, u).await.unwrap();
    let changes = s.changes_since(w, 100).await.unwrap();
    let seen: Vec<(ObjectKind, Uuid, ChangeOp, Option<Uuid>)> = changes
        .iter()
        .map(|c| (c.kind, c.object_id, c.op, c.related_id))
        .collect();
    assert_eq!(
        seen,
        vec![
            (ObjectKind::User, u, ChangeOp::Created, None),
            (ObjectKind::Group, g, ChangeOp::Created, None),
            (ObjectKind::Group, g, ChangeOp::MemberAdded, Some(u)),
            (ObjectKind::Group, g, ChangeOp::MemberRemoved, Some(u)),
        ]
    );
    assert!(changes.windows(2).all(|p| p[0].seq < p[1].seq));
    assert_eq!(s.watermark().await.unwrap(), changes[3].seq);
    // Paging through the log with a limit gives the same records.
    let first = s.changes_since(w, 2).await.unwrap();
    let rest = s.changes_since(first[1].seq, 10).await.unwrap();
    assert_eq!([first, rest].concat(), changes);
    for (kind, id) in [(ObjectKind::User, u), (ObjectKind::Group, g)] {
        s.delete(kind, id).await.unwrap();
        s.purge(id).await.unwrap();
    }
}

/// Writers commit concurrently while a reader follows the log from its watermark: the
/// reader sees every change once, in increasing order, and none is skipped.
async fn concurrent_writers_and_a_watermark_reader(s: &Store) {
    const WRITERS: usize = 8;
    const EACH: usize = 40;
    let start = s.watermark().await.unwrap();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let s = Arc::clone(s);
        let done = Arc::clone(&done);
        tokio::spawn(async move {
            let mut watermark = start;
            let mut seen = Vec::new();
            loop {
                let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                let batch = s.changes_since(watermark, 7).await.unwrap();
                for c in &batch {
                    assert!(
                        c.seq > watermark,
                        "change {} after watermark {watermark}",
                        c.seq
                    );
                    watermark = c.seq;
                    seen.push(c.clone());
                }
                if batch.is_empty() {
                    if finished {
                        return seen;
                    }
                    tokio::task::yield_now().await;
                }
            }
        })
    };
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let s = Arc::clone(s);
        writers.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..EACH {
                let id = Uuid::new_v4();
                s.create(
                    ObjectKind::User,
                    id,
                    user(&format!("w{w}-{i}@concurrent.example"), "C"),
                    None,
                    vec![],
                )
                .await
                .unwrap();
                set_property(&s, id, "department", json!("D")).await;
                ids.push(id);
            }
            ids
        }));
    }
    let mut written = HashSet::new();
    for w in writers {
        written.extend(w.await.unwrap());
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let seen = reader.await.unwrap();
    assert_eq!(seen.len(), WRITERS * EACH * 2);
    let mut per_object: std::collections::HashMap<Uuid, Vec<ChangeOp>> = Default::default();
    for c in &seen {
        per_object.entry(c.object_id).or_default().push(c.op);
    }
    assert_eq!(per_object.len(), written.len());
    for (id, ops) in per_object {
        assert!(written.contains(&id));
        assert_eq!(ops, vec![ChangeOp::Created, ChangeOp::Updated]);
    }
    assert_eq!(s.changes_since(start, 100_000).await.unwrap(), seen);
    for id in written {
        s.delete(ObjectKind::User, id).await.unwrap();
        s.purge(id).await.unwrap();
    }
}

async fn retention(s: &Store) {
    let old = create_user(s, "old@retention.example", "Old").await;
    let live = create_user(s, "live@retention.example", "Live").await;
    s.delete(ObjectKind::User, old).await.unwrap();
    assert_eq!(
        s.purge_deleted_before("2000-01-01T00:00:00Z")
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        s.purge_deleted_before("9999-01-01T00:00:00Z")
            .await
            .unwrap(),
        1
    );
    assert!(s.get(ObjectKind::User, old, true).await.unwrap().is_none());
    assert!(s
        .get(ObjectKind::User, live, false)
        .await
        .unwrap()
        .is_some());
    s.delete(ObjectKind::User, live).await.unwrap();
    s.purge(live).await.unwrap();
}
