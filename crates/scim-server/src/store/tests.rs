use std::time::Instant;

use serde_json::json;
use sqlx::postgres::PgConnectOptions;
use sqlx::Connection;

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
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&store.read)
        .await
        .expect("pragma");
    assert_eq!(mode, "wal");
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(&store.write)
        .await
        .expect("pragma");
    assert_eq!(fk, 1);
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
            let scans = plan
                .lines()
                .any(|l| l.starts_with("SCAN r") || l.contains("SCAN resources"));
            assert!(!scans, "table scan for {filter:?}:\n{plan}");
            // With a filter, a range over all of the tenant's resources is a
            // scan too.
            let tenant_range = plan
                .lines()
                .any(|l| l.ends_with("resources_tenant_kind_seq (tenant=? AND kind=?)"));
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

/// Rough throughput on SQLite (debug build): `cargo test -p
/// provisio-scim-server sqlite_throughput -- --ignored --nocapture`;
/// STORE_BENCH_USERS sets the user count (default 20000).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn sqlite_throughput() {
    let n: usize = std::env::var("STORE_BENCH_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let store = std::sync::Arc::new(open_sqlite(dir.path()).await.expect("open"));
    let writers = 8;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..writers {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in (w..n).step_by(writers) {
                let data = json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": format!("user{i}@example.com"),
                    "externalId": format!("ext-{i}"),
                    "name": {"givenName": "Given", "familyName": format!("Family{i}")},
                    "displayName": format!("User {i}"),
                    "emails": [{"value": format!("user{i}@example.com"), "type": "work", "primary": true}],
                    "active": true,
                });
                ids.push(store.create("bench", ResourceKind::User, data).await.expect("create").id);
            }
            ids
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.extend(t.await.expect("join"));
    }
    let secs = start.elapsed().as_secs_f64();
    eprintln!("creates: {n} in {secs:.2}s = {:.0}/s", n as f64 / secs);

    let reads = n.min(50_000);
    let readers = 8;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for r in 0..readers {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for i in (r..reads).step_by(readers) {
                let f = IndexedFilter::Eq(IndexedAttr::UserName, format!("USER{i}@example.com"));
                let (total, _) = store
                    .list(
                        "bench",
                        ResourceKind::User,
                        Some(&f),
                        0,
                        10,
                        ReadOptions::ALL,
                    )
                    .await
                    .expect("list");
                assert_eq!(total, 1);
            }
        }));
    }
    for t in tasks {
        t.await.expect("join");
    }
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "filtered lists (userName eq): {reads} in {secs:.2}s = {:.0}/s",
        reads as f64 / secs
    );

    let start = Instant::now();
    let mut tasks = Vec::new();
    let ids = std::sync::Arc::new(ids);
    for r in 0..readers {
        let store = store.clone();
        let ids = ids.clone();
        tasks.push(tokio::spawn(async move {
            for i in (r..reads).step_by(readers) {
                store
                    .get("bench", ResourceKind::User, &ids[i], ReadOptions::ALL)
                    .await
                    .expect("get");
            }
        }));
    }
    for t in tasks {
        t.await.expect("join");
    }
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "gets by id: {reads} in {secs:.2}s = {:.0}/s",
        reads as f64 / secs
    );
}

/// Runs the conformance suite against PostgreSQL at `TEST_DATABASE_URL`, in a
/// schema of its own that is dropped afterwards.
#[tokio::test]
async fn postgres_conformance() {
    let Ok(url) = std::env::var("TEST_DATABASE_URL") else {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!(
                "TEST_DATABASE_URL is not set: CI must run the PostgreSQL conformance suite \
                 (e.g. under pg_virtualenv)"
            );
        }
        eprintln!("postgres_conformance skipped: TEST_DATABASE_URL is not set");
        return;
    };
    let options: PgConnectOptions = url.parse().expect("TEST_DATABASE_URL");
    let schema = format!("provisio_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect_with(&options)
        .await
        .expect("connect to TEST_DATABASE_URL");
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut admin)
        .await
        .expect("create schema");

    let scoped = options.clone().options([("search_path", schema.as_str())]);
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
    .bind(&schema)
    .fetch_one(store.pool())
    .await
    .expect("tables");
    assert!(tables >= 4, "tables created in the test schema");

    conformance_suite(&store).await;

    store.pool().close().await;
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&mut admin)
        .await
        .expect("drop schema");
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
    assert_eq!(g.members, Some(vec!["1".to_string(), "2".to_string()]));
    assert!(g.data.get("members").is_none());
    assert!(g.user_name.is_none());
}
