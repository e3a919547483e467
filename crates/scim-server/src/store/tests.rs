use provisio_db::postgres::testing::TestSchema;
use serde_json::json;

use super::conformance::conformance_suite;
use super::*;

#[tokio::test]
async fn sqlite_conformance() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path().join("nested").join("data");
    let store = open_sqlite(&data_dir).await.expect("open");
    assert!(data_dir.join("scim.db").exists());
    conformance_suite(&store).await;

    // Reopening runs the (already applied) migrations again and keeps data.
    let u = store
        .create("reopen", ResourceKind::User, json!({"userName": "kept"}))
        .await
        .expect("create");
    drop(store);
    let again = open_sqlite(&data_dir).await.expect("reopen");
    let got = again
        .get("reopen", ResourceKind::User, &u.id, ReadOptions::NONE)
        .await
        .expect("get after reopen");
    assert_eq!(got.data["userName"], "kept");
}

#[tokio::test]
async fn sqlite_is_in_wal_mode_with_foreign_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open_sqlite(dir.path()).await.expect("open");
    for write in [true, false] {
        let mode = store.pragma("journal_mode", write).await.expect("pragma");
        assert_eq!(mode, "wal");
        let fk = store.pragma("foreign_keys", write).await.expect("pragma");
        assert_eq!(fk, "1");
        let sync = store.pragma("synchronous", write).await.expect("pragma");
        assert_eq!(sync, "1", "synchronous = NORMAL");
    }
    let query_only = store.pragma("query_only", false).await.expect("pragma");
    assert_eq!(query_only, "1", "readers are query_only");
    let version = store.pragma("user_version", true).await.expect("pragma");
    assert_eq!(version, "3", "the latest migration, for earlier binaries");
}

/// Writes sent together share a transaction (group commit), yet each stands
/// or falls on its own: a failing write leaves the others of its batch in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_group_commit_isolates_failing_writes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open_sqlite(dir.path()).await.expect("open");
    let t = "batch";
    let writes = (0..200).map(|i| {
        let store = store.clone();
        // Every other write reuses the userName of the one before it.
        let name = format!("user{}", i / 2);
        tokio::spawn(async move {
            store
                .create(t, ResourceKind::User, json!({ "userName": name }))
                .await
        })
    });
    let results = futures::future::join_all(writes).await;
    let mut created = 0;
    for r in results {
        match r.expect("task") {
            Ok(_) => created += 1,
            Err(StoreError::Uniqueness(what)) => assert_eq!(what, "userName"),
            Err(other) => panic!("unexpected error: {other:?}"),
        }
    }
    assert_eq!(created, 100, "one write per userName succeeds");
    assert_eq!(
        store.count(t, ResourceKind::User).await.expect("count"),
        100
    );
    // A caller hears of success only once its write is committed: a new
    // store on the same file sees every one of them.
    let again = open_sqlite(dir.path()).await.expect("reopen");
    assert_eq!(
        again.count(t, ResourceKind::User).await.expect("count"),
        100
    );
}

/// Every indexed filter is answered from an index, never a table scan.
#[tokio::test]
async fn sqlite_indexed_filters_use_indexes() {
    use IndexedAttr::*;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open_sqlite(dir.path()).await.expect("open");
    for i in 0..200 {
        let data = json!({
            "userName": format!("user{i}"),
            "externalId": format!("ext{i}"),
            "displayName": format!("User {i}"),
            "emails": [{"value": format!("user{i}@example.com")}],
        });
        store
            .create(&format!("t{}", i % 3), ResourceKind::User, data)
            .await
            .expect("create");
    }
    let eq = |a: IndexedAttr| IndexedFilter::Eq(a, "x".to_string());
    let mut filters: Vec<Option<IndexedFilter>> = vec![None];
    for attr in [Id, UserName, ExternalId, DisplayName, EmailValue] {
        filters.push(Some(eq(attr)));
    }
    filters.push(Some(IndexedFilter::Or(vec![eq(UserName), eq(EmailValue)])));
    filters.push(Some(IndexedFilter::Or(vec![
        eq(Id),
        eq(ExternalId),
        eq(DisplayName),
    ])));
    filters.push(Some(IndexedFilter::And(vec![
        eq(DisplayName),
        eq(EmailValue),
    ])));
    filters.push(Some(IndexedFilter::And(vec![
        IndexedFilter::Or(vec![eq(UserName), eq(ExternalId)]),
        eq(DisplayName),
    ])));
    filters.push(Some(IndexedFilter::Or(vec![
        IndexedFilter::And(vec![eq(UserName), eq(EmailValue)]),
        eq(ExternalId),
    ])));
    for filter in &filters {
        for kind in [ResourceKind::User, ResourceKind::Group] {
            let plan = store
                .explain_list("t1", kind, filter.as_ref())
                .await
                .expect("explain");
            if std::env::var_os("STORE_PLANS").is_some() {
                eprintln!("{kind:?} {filter:?}:\n{plan}");
            }
            // Scanning the page (`p`, a co-routine of seqs) is fine; any
            // table or index scan is not, nor are the subqueries that attach
            // members and groups.
            let scans = plan.lines().any(|l| {
                l.starts_with("SCAN ") && l != "SCAN p" && !l.starts_with("SCAN (subquery-")
            });
            assert!(!scans, "table scan for {filter:?}:\n{plan}");
            let refs = match kind {
                ResourceKind::User => "SEARCH m USING COVERING INDEX scim_members_member_id",
                ResourceKind::Group => "SEARCH m USING PRIMARY KEY (group_seq=?)",
            };
            assert!(plan.contains(refs), "references for {filter:?}:\n{plan}");
            // With a filter, a range over all of the tenant's resources is a
            // scan too.
            let tenant_range = plan
                .lines()
                .any(|l| l.ends_with("scim_resources_tenant_kind_seq (tenant=? AND kind=?)"));
            assert!(
                filter.is_none() || !tenant_range,
                "tenant-wide range for {filter:?}:\n{plan}"
            );
            assert!(
                plan.contains("INDEX") || plan.contains("PRIMARY KEY"),
                "no index for {filter:?}:\n{plan}"
            );
        }
    }
}

/// Members of groups, groups of users and the clean-up on delete are
/// answered from indexes.
#[tokio::test]
async fn sqlite_membership_queries_use_indexes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open_sqlite(dir.path()).await.expect("open");
    for i in 0..50 {
        let u = store
            .create(
                "t",
                ResourceKind::User,
                json!({"userName": format!("u{i}")}),
            )
            .await
            .expect("user");
        let members = json!([{"value": u.id}, {"value": format!("ghost{i}")}]);
        store
            .create(
                "t",
                ResourceKind::Group,
                json!({"displayName": format!("g{i}"), "members": members}),
            )
            .await
            .expect("group");
    }
    for plan in store.explain_memberships("t").await.expect("explain") {
        if std::env::var_os("STORE_PLANS").is_some() {
            eprintln!("{plan}");
        }
        // Only the bound JSON list (`j`) is scanned; members and resources
        // are searched by key.
        let scans = plan
            .lines()
            .any(|l| l.starts_with("SCAN ") && !l.starts_with("SCAN j VIRTUAL TABLE"));
        assert!(!scans, "scan in:\n{plan}");
        assert!(
            plan.contains("SEARCH m") || plan.contains("SEARCH scim_members"),
            "{plan}"
        );
        assert!(
            plan.contains("scim_members_member_id") || plan.contains("PRIMARY KEY (group_seq=?)"),
            "{plan}"
        );
    }
}

/// Runs the conformance suite against PostgreSQL at `TEST_DATABASE_URL`, in a
/// schema of its own that is dropped afterwards.
#[tokio::test]
async fn postgres_conformance() {
    let Some(schema) = TestSchema::create("provisio_test").await else {
        return;
    };
    let scoped = schema.options();
    // Two processes starting together: migrations are serialised.
    let (a, b) = tokio::join!(
        open_postgres_with(scoped.clone()),
        open_postgres_with(scoped.clone())
    );
    let store = a.expect("open");
    drop(b.expect("open concurrently"));
    let tables: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = $1",
    )
    .bind(&schema.name)
    .fetch_one(store.pool())
    .await
    .expect("tables");
    assert!(tables >= 4, "tables created in the test schema");

    conformance_suite(&store).await;

    store.pool().close().await;
    schema.drop().await;
}

#[test]
fn timestamps_have_milliseconds() {
    let ts = now_timestamp().expect("now");
    assert_eq!(ts.len(), 24, "{ts}");
    assert!(ts.ends_with('Z'));
}

#[test]
fn prepare_extracts_index_columns() {
    let p = prepare(
        ResourceKind::User,
        json!({
            "id": "x", "meta": {}, "groups": [],
            "userName": "MiXed", "externalId": "E", "displayName": "Dn",
            "emails": [{"value": "A@B.c"}, {"value": "a@b.C"}, {"type": "no value"}]
        }),
    )
    .expect("prepare");
    assert_eq!(p.user_name.as_deref(), Some("mixed"));
    assert_eq!(p.external_id.as_deref(), Some("E"));
    assert_eq!(p.display_name.as_deref(), Some("dn"));
    assert_eq!(p.display.as_deref(), Some("Dn"));
    assert_eq!(p.emails, vec!["a@b.c".to_string()]);
    assert!(p.members.is_none());
    assert!(p.data.get("id").is_none() && p.data.get("meta").is_none());

    let g = prepare(
        ResourceKind::Group,
        json!({"displayName": "G", "members": [{"value": "1"}, {"value": "2", "type": "User"}, {"value": "1"}]}),
    )
    .expect("prepare group");
    let member = |id: &str| MemberRef { id: id.to_string() };
    assert_eq!(g.members, Some(vec![member("1"), member("2")]));
    assert!(g.data.get("members").is_none());
    assert!(g.user_name.is_none());
}

#[test]
fn prepare_keeps_unknown_members_once_each() {
    let g = prepare(
        ResourceKind::Group,
        json!({"members": [
            {"value": "a", "type": "group"},
            {"value": "b", "type": "Robot"},
            {"value": "c"},
            {"value": "c", "type": "GROUP"},
            {"value": "a", "type": "User"},
        ]}),
    )
    .expect("prepare");
    let got: Vec<String> = g
        .members
        .expect("members")
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(
        got,
        ["a", "b", "c"],
        "first occurrence order, types not kept"
    );
    let single =
        prepare(ResourceKind::Group, json!({"members": {"value": "x"}})).expect("a single entry");
    assert_eq!(single.members.map(|m| m.len()), Some(1));
    for bad in [
        json!([{"type": "User"}]),
        json!([{"value": 1}]),
        json!(["x"]),
    ] {
        match prepare(ResourceKind::Group, json!({ "members": bad })) {
            Err(StoreError::InvalidMember(_)) => {}
            other => panic!("{bad}: {other:?}"),
        }
    }
}

/// Databases written by the previous provisio (commit 2db01d5, before the tables carried
/// `scim_`): two users and two groups posted to its SCIM server. See
/// `crates/db/tests/fixtures/v1/make.sh`.
const V1_FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../db/tests/fixtures/v1");

/// What a client of the previous version stored must still read and behave the same.
async fn previous_version_data_is_visible(store: &dyn ResourceStore) {
    let tenant = "default";
    let one = |attr, value: &str| Some(eq_filter(attr, value));
    let (total, users) = store
        .list(
            tenant,
            ResourceKind::User,
            one(IndexedAttr::UserName, "Ada.Lovelace").as_ref(),
            0,
            10,
            ReadOptions::ALL,
        )
        .await
        .expect("users by userName");
    assert_eq!(total, 1);
    let ada = &users[0];
    assert_eq!(ada.data["displayName"], "Ada Lovelace");
    assert_eq!(ada.data["externalId"], "ext-ada");
    let mut groups: Vec<&str> = ada.data["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .filter_map(|g| g["display"].as_str())
        .collect();
    groups.sort_unstable();
    assert_eq!(groups, ["Admins", "Engineers"]);

    let (_, graces) = store
        .list(
            tenant,
            ResourceKind::User,
            one(IndexedAttr::EmailValue, "GRACE@example.com").as_ref(),
            0,
            10,
            ReadOptions::NONE,
        )
        .await
        .expect("users by email");
    assert_eq!(graces.len(), 1);
    let grace = &graces[0];
    assert_eq!(grace.data["userName"], "grace.hopper");

    let (_, engineers) = store
        .list(
            tenant,
            ResourceKind::Group,
            one(IndexedAttr::DisplayName, "engineers").as_ref(),
            0,
            10,
            ReadOptions::ALL,
        )
        .await
        .expect("groups by displayName");
    let members: Vec<(&str, &str)> = engineers[0].data["members"]
        .as_array()
        .expect("members")
        .iter()
        .filter_map(|m| Some((m["value"].as_str()?, m["display"].as_str()?)))
        .collect();
    assert_eq!(
        members,
        [
            (ada.id.as_str(), "Ada Lovelace"),
            (grace.id.as_str(), "Grace Hopper")
        ]
    );
    assert_eq!(
        store
            .count(tenant, ResourceKind::User)
            .await
            .expect("count"),
        2
    );
    assert_eq!(
        store
            .count(tenant, ResourceKind::Group)
            .await
            .expect("count"),
        2
    );

    // The renamed unique index still guards userName, and new rows come after the old ones.
    match store
        .create(
            tenant,
            ResourceKind::User,
            json!({"userName": "ADA.lovelace"}),
        )
        .await
    {
        Err(StoreError::Uniqueness(attr)) => assert_eq!(attr, "userName"),
        other => panic!("a second ada.lovelace: {other:?}"),
    }
    let added = store
        .create(tenant, ResourceKind::User, json!({"userName": "linus"}))
        .await
        .expect("create after the upgrade");
    assert!(added.seq > engineers[0].seq.max(ada.seq).max(grace.seq));
}

fn eq_filter(attr: IndexedAttr, value: &str) -> IndexedFilter {
    IndexedFilter::Eq(attr, value.to_string())
}

#[tokio::test]
async fn sqlite_opens_a_database_of_the_previous_version() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(format!("{V1_FIXTURES}/scim.db"), dir.path().join("scim.db"))
        .expect("copy the fixture");
    let store = open_sqlite(dir.path()).await.expect("open");
    previous_version_data_is_visible(&store).await;
    let tables = store
        .read(|conn| {
            let mut stmt = conn.prepare(
                "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
                 ORDER BY name",
            )?;
            let names = stmt
                .query_map([], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(names)
        })
        .await
        .expect("tables");
    assert_eq!(
        tables,
        [
            "provisio_migrations",
            "scim_emails",
            "scim_members",
            "scim_resources"
        ]
    );
    drop(store);
    // Opening again finds version 2 recorded and changes nothing.
    let again = open_sqlite(dir.path()).await.expect("reopen");
    assert_eq!(
        again
            .count("default", ResourceKind::User)
            .await
            .expect("count"),
        3
    );
}

#[tokio::test]
async fn postgres_opens_a_database_of_the_previous_version() {
    let Some(mut schema) = TestSchema::create("provisio_test_v1").await else {
        return;
    };
    let dump = std::fs::read_to_string(format!("{V1_FIXTURES}/postgres.sql")).expect("dump");
    schema.load_dump(&dump, "provisio_fixture_v1").await;
    let store = open_postgres_with(schema.options()).await.expect("open");
    previous_version_data_is_visible(&store).await;
    let versions: Vec<(String, i64)> = sqlx::query_as(
        "SELECT component, version FROM provisio_migrations ORDER BY component, version",
    )
    .fetch_all(store.pool())
    .await
    .expect("versions");
    let scim = |version| ("scim".to_string(), version);
    assert_eq!(versions, [scim(1), scim(2), scim(3)]);
    store.pool().close().await;
    schema.drop().await;
}
