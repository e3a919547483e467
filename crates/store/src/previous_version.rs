//! Databases written by the previous provisio (commit 2db01d5, before the SQLite tables
//! carried `directory_`), each with the seeded demo directory (`provisio serve --demo`),
//! open with the data intact. See `crates/db/tests/fixtures/v1/make.sh`.

use provisio_db::postgres::testing::TestSchema;
use provisio_directory::{IndexSeek, ObjectKind, StoreError};
use provisio_engine::state::memory::MemorySyncStore;
use serde_json::json;
use uuid::Uuid;

use crate::{PostgresDirectory, SqliteDirectory, Stores};

const V1_FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../db/tests/fixtures/v1");
/// The demo's change log: 8 objects created, memberships and managers set.
const DEMO_WATERMARK: i64 = 14;

async fn user(store: &Stores, upn: &str) -> Uuid {
    store
        .directory
        .lookup(ObjectKind::User, IndexSeek::UserPrincipalName, upn)
        .await
        .expect("lookup")
        .unwrap_or_else(|| panic!("{upn} is in the demo directory"))
}

async fn demo_directory_is_visible(store: &Stores) {
    let d = &store.directory;
    // userPrincipalName seeks are case-insensitive.
    let chloe = user(store, "Chloe.Dubois@contoso.example").await;
    let bjorn = user(store, "bjorn.nilsson@contoso.example").await;
    let chloe = d
        .get(ObjectKind::User, chloe, false)
        .await
        .expect("get")
        .expect("live");
    assert_eq!(chloe.data["displayName"], "Chloé Dubois");
    assert_eq!(chloe.manager, Some(bjorn));
    assert_eq!(d.count(ObjectKind::User, false).await.expect("count"), 5);
    assert_eq!(d.count(ObjectKind::Group, false).await.expect("count"), 2);

    let rnd = d
        .lookup(ObjectKind::Group, IndexSeek::DisplayName, "r&d")
        .await
        .expect("lookup")
        .expect("the R&D group");
    let members: Vec<Uuid> = d
        .members(rnd, None, 10)
        .await
        .expect("members")
        .into_iter()
        .map(|m| m.id)
        .collect();
    let mut expected = vec![bjorn, chloe.id];
    expected.sort_unstable();
    assert_eq!(members, expected);

    assert_eq!(d.watermark().await.expect("watermark"), DEMO_WATERMARK);
    let log = d.changes_since(0, 100).await.expect("changes");
    let seqs: Vec<i64> = log.iter().map(|c| c.seq).collect();
    assert_eq!(seqs, (1..=DEMO_WATERMARK).collect::<Vec<_>>());

    // The renamed unique index still guards userPrincipalName, and the log goes on after
    // the old changes.
    let data = |upn: &str| match json!({"userPrincipalName": upn, "displayName": upn}) {
        serde_json::Value::Object(map) => map,
        _ => unreachable!("an object literal"),
    };
    match d
        .create(
            ObjectKind::User,
            Uuid::now_v7(),
            data("ANA.LOPEZ@contoso.example"),
            None,
            vec![],
        )
        .await
    {
        Err(StoreError::Unique(property)) => assert_eq!(property, "userPrincipalName"),
        other => panic!("a second ana.lopez: {other:?}"),
    }
    let added = d
        .create(
            ObjectKind::User,
            Uuid::now_v7(),
            data("new@contoso.example"),
            None,
            vec![],
        )
        .await
        .expect("create after the upgrade");
    let after = d.changes_since(DEMO_WATERMARK, 10).await.expect("changes");
    assert_eq!(
        after.first().map(|c| (c.seq, c.object_id)),
        Some((DEMO_WATERMARK + 1, added.id))
    );
}

#[tokio::test]
async fn sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(
        format!("{V1_FIXTURES}/directory.db"),
        dir.path().join("directory.db"),
    )
    .expect("copy the fixture");
    let store = SqliteDirectory::open(dir.path()).await.expect("open");
    demo_directory_is_visible(&Stores::of(store.clone(), MemorySyncStore::new())).await;
    let tables: Vec<String> = store
        .read(|conn| {
            let mut stmt = conn
                .prepare(
                    "SELECT name FROM sqlite_schema WHERE type = 'table' \
                     AND name NOT LIKE 'sqlite_%' ORDER BY name",
                )
                .map_err(crate::sqlite::db_error)?;
            let names = stmt
                .query_map([], |r| r.get::<_, String>(0))
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(crate::sqlite::db_error)?;
            Ok(names)
        })
        .await
        .expect("tables");
    assert_eq!(
        tables,
        [
            "directory_assignments",
            "directory_changes",
            "directory_members",
            "directory_objects",
            "directory_settings",
            "provisio_migrations"
        ]
    );
}

#[tokio::test]
async fn postgres() {
    let Some(mut schema) = TestSchema::create("provisio_directory_test_v1").await else {
        return;
    };
    let dump = std::fs::read_to_string(format!("{V1_FIXTURES}/postgres.sql")).expect("dump");
    schema.load_dump(&dump, "provisio_fixture_v1").await;
    let store = PostgresDirectory::connect_with(schema.options())
        .await
        .expect("open");
    demo_directory_is_visible(&Stores::of(store.clone(), MemorySyncStore::new())).await;
    let versions: Vec<(String, i64)> = sqlx::query_as(
        "SELECT component, version FROM provisio_migrations ORDER BY component, version",
    )
    .fetch_all(store.pool())
    .await
    .expect("versions");
    assert_eq!(
        versions,
        [("directory".to_string(), 1), ("directory".to_string(), 2)]
    );
    store.pool().close().await;
    schema.drop().await;
}
