//! `MemoryDirectory` answers lists and lookups as SQLite does, on the same objects: every
//! order, direction, cursor, seek and prefix the list port takes, compared answer by answer.
//! The conformance suite states the contract by examples; this holds the in-memory store to
//! the real one on the cases between them.

use std::sync::Arc;

use provisio_directory::{
    cursor_of, DirectoryStore, IndexSeek, ListQuery, MemoryDirectory, ObjectKind, OrderKey,
};
use provisio_store::SqliteDirectory;
use serde_json::{json, Map, Value};
use uuid::Uuid;

const NAMES: &[&str] = &[
    "Émile", "emile", "bob", "Bob", "Chloé", "alice", "Zoë", "zoe", "Ærø", "ab", "a", "Ab",
];

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

/// The same users, groups and service principals in both stores, some of them deleted.
async fn fill(stores: &[Arc<dyn DirectoryStore>]) {
    let mut objects = Vec::new();
    for (i, name) in NAMES.iter().enumerate() {
        objects.push((
            ObjectKind::User,
            object(json!({
                "userPrincipalName": format!("{name}{i}@Agree.example"),
                "displayName": name,
                "mailNickname": format!("{name}{}", i % 3),
                "mail": format!("{name}@Mail.example"),
                "employeeId": format!("E{}", i % 4),
            })),
        ));
        objects.push((
            ObjectKind::Group,
            object(json!({"displayName": name, "mailNickname": format!("n{}", i % 5)})),
        ));
    }
    for name in ["Payroll", "payroll", "HR"] {
        objects.push((
            ObjectKind::ServicePrincipal,
            object(
                json!({"displayName": name, "appId": Uuid::new_v4().to_string().to_uppercase()}),
            ),
        ));
    }
    for (i, (kind, data)) in objects.into_iter().enumerate() {
        let id = Uuid::new_v4();
        for store in stores {
            store
                .create(kind, id, data.clone(), None, vec![])
                .await
                .expect("create");
            if i % 5 == 0 && kind.soft_deletes() {
                store.delete(kind, id).await.expect("delete");
            }
        }
    }
}

fn ids(objects: &[provisio_directory::StoredObject]) -> Vec<Uuid> {
    objects.iter().map(|o| o.id).collect()
}

#[tokio::test]
async fn lists_and_lookups_answer_as_sqlite_does() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite: Arc<dyn DirectoryStore> =
        Arc::new(SqliteDirectory::open(dir.path()).await.expect("open"));
    let memory: Arc<dyn DirectoryStore> = Arc::new(MemoryDirectory::new());
    fill(&[Arc::clone(&sqlite), Arc::clone(&memory)]).await;

    let mut queries = Vec::new();
    for kind in [
        ObjectKind::User,
        ObjectKind::Group,
        ObjectKind::ServicePrincipal,
    ] {
        for deleted in [false, true] {
            let base = ListQuery {
                deleted,
                ..ListQuery::all(kind, 1000)
            };
            for order in [
                OrderKey::Id,
                OrderKey::DisplayName,
                OrderKey::UserPrincipalName,
            ] {
                for descending in [false, true] {
                    for limit in [3, 1000] {
                        queries.push(ListQuery {
                            order,
                            descending,
                            limit,
                            ..base.clone()
                        });
                    }
                }
            }
            for seek in IndexSeek::for_kind(ObjectKind::User)
                .iter()
                .chain([&IndexSeek::AppId])
            {
                let values = [
                    vec![],
                    vec!["bob".to_string()],
                    vec!["BOB".into(), "emile".into(), "Émile".into(), "E1".into()],
                    vec![
                        "n1".into(),
                        "N2".into(),
                        "e3".into(),
                        "zoe@mail.example".into(),
                    ],
                ];
                for values in values {
                    queries.push(ListQuery {
                        seek: Some((*seek, values)),
                        ..base.clone()
                    });
                }
                for prefix in ["", "a", "É", "e", "zo", "n", "b"] {
                    queries.push(ListQuery {
                        prefix: Some((*seek, prefix.to_string())),
                        order: OrderKey::DisplayName,
                        ..base.clone()
                    });
                }
            }
        }
    }

    let mut compared = 0;
    for query in queries {
        let full = sqlite.list(&query).await.expect("sqlite list");
        assert_eq!(
            ids(&memory.list(&query).await.expect("memory list")),
            ids(&full),
            "{query:?}"
        );
        compared += 1;
        // Every page start a caller can hold: after each listed object.
        for object in &full {
            let paged = ListQuery {
                after: Some(cursor_of(object, query.order)),
                limit: 4,
                ..query.clone()
            };
            assert_eq!(
                ids(&memory.list(&paged).await.expect("memory list")),
                ids(&sqlite.list(&paged).await.expect("sqlite list")),
                "{paged:?}"
            );
            compared += 1;
        }
        let raw = |objects: Vec<provisio_directory::RawObject>| -> Vec<(Uuid, Value)> {
            objects
                .into_iter()
                .map(|o| (o.id, serde_json::from_str(&o.data).expect("JSON")))
                .collect()
        };
        assert_eq!(
            raw(memory.list_raw(&query).await.expect("memory raw")),
            raw(sqlite.list_raw(&query).await.expect("sqlite raw")),
            "{query:?}"
        );
    }
    assert!(compared > 900, "{compared} lists compared");

    for kind in [
        ObjectKind::User,
        ObjectKind::Group,
        ObjectKind::ServicePrincipal,
    ] {
        for deleted in [false, true] {
            assert_eq!(
                memory.count(kind, deleted).await.expect("count"),
                sqlite.count(kind, deleted).await.expect("count"),
                "{kind:?} deleted={deleted}"
            );
        }
        for seek in IndexSeek::for_kind(kind) {
            for value in [
                "bob1@agree.example",
                "N1",
                "emile",
                "E2",
                "bob@mail.example",
                "x",
            ] {
                assert_eq!(
                    memory.lookup(kind, *seek, value).await.expect("lookup"),
                    sqlite.lookup(kind, *seek, value).await.expect("lookup"),
                    "{kind:?} {seek:?} {value}"
                );
            }
        }
    }
}
