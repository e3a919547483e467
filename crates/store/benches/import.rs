//! `cargo bench -p provisio-store --bench import [-- --users N] [--creates N]`: how fast the
//! directory stores write import batches and single creates (one and 32 at a time), without HTTP, JSON parsing or validation, next to two
//! ceilings of SQLite itself measured on the same schema with plain statements:
//!
//! - every index: one objects row (keys as the store computes them) and one change row per
//!   user, in transactions of 10,000, the store's own pragmas;
//! - the same without the five indexes on random keys (userPrincipalName, displayName,
//!   mailNickname, mail, employeeId);
//! - a bulk load: the five dropped, the rows loaded, then the five built again with
//!   `CREATE INDEX` (which sorts), the builds counted in the time.
//!
//! The store run also sets each user's manager (an earlier user) and appends its change
//! rows, as an import of a real directory does. With `TEST_DATABASE_URL` set, PostgreSQL's
//! store is measured too. Prints users (rows) per second; BENCHMARKS.md records the results.

use std::time::{Duration, Instant};

use provisio_directory::{
    import, DirectoryStore, ImportObject, ImportReference, ObjectKind, ObjectStore,
};
use provisio_store::{PostgresDirectory, SqliteDirectory};
use serde_json::json;

/// Users per store call and per transaction, as the import endpoint sends them.
const CHUNK: usize = 10_000;

const MIGRATION: &str = include_str!("../migrations/sqlite/0001_directory.sql");
const RANDOM_KEY_INDEXES: [&str; 5] = [
    "objects_unique_live",
    "objects_by_display",
    "objects_by_nickname",
    "objects_by_mail",
    "objects_by_employee",
];

/// A realistic user record (about 20 properties, 600 bytes), as an import line carries it.
fn record(i: usize) -> serde_json::Map<String, serde_json::Value> {
    // Spread over the alphabet so that index keys arrive in random order, as real names do.
    let scrambled = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 20;
    let name = format!("user{scrambled:011x}.{i}");
    let mut user = json!({
        "userPrincipalName": format!("{name}@contoso.example"),
        "displayName": format!("User {scrambled:x} {i}"),
        "givenName": "User", "surname": format!("{scrambled:x}"),
        "mailNickname": name, "mail": format!("{name}@contoso.example"),
        "jobTitle": "Engineer", "department": "Engineering", "companyName": "Contoso Ltd.",
        "employeeId": format!("E{:08}", scrambled % 100_000_000), "employeeType": "Employee",
        "accountEnabled": true, "businessPhones": ["+49 30 5557 3083"],
        "mobilePhone": "+49 151 555 881 329", "officeLocation": "BER 1/4.25", "city": "Berlin",
        "country": "Germany", "usageLocation": "DE", "preferredLanguage": "de-DE",
        "userType": "Member",
    });
    if i > 0 {
        user["manager"] = json!(format!(
            "user{:011x}.{}@contoso.example",
            ((i / 8) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 20,
            i / 8
        ));
    }
    match user {
        serde_json::Value::Object(map) => map,
        _ => unreachable!("a JSON object literal"),
    }
}

/// Users `from..to` validated as the import endpoint validates them.
fn chunk(from: usize, to: usize) -> (Vec<ImportObject>, Vec<ImportReference>) {
    let mut objects = Vec::with_capacity(to - from);
    let mut links = Vec::new();
    for i in from..to {
        let (object, l) =
            import::record(i as u64 + 1, ObjectKind::User, record(i)).expect("a valid record");
        objects.push(object);
        links.extend(l);
    }
    (objects, links)
}

/// Imports `users` users into `store` in chunks; the time spent in the store only.
async fn store_run(store: &dyn DirectoryStore, users: usize) -> Duration {
    let mut spent = Duration::ZERO;
    for from in (0..users).step_by(CHUNK) {
        let (objects, links) = chunk(from, (from + CHUNK).min(users));
        let started = Instant::now();
        let report = store.import(objects, links, false).await.expect("import");
        spent += started.elapsed();
        assert!(
            report.unresolved.is_empty() && report.failed_references.is_empty(),
            "every manager precedes its reports"
        );
    }
    spent
}

/// `creates` single-user creates, `concurrency` at a time, as API clients send them: what the
/// store's writer design (one transaction per write, or several writes per commit) decides.
async fn create_run(store: &SqliteDirectory, creates: usize, concurrency: usize) -> Duration {
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|task| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in (task..creates).step_by(concurrency) {
                    let mut user = record(i);
                    user.remove("manager");
                    store
                        .create(
                            ObjectKind::User,
                            provisio_directory::new_object_id(),
                            user,
                            None,
                            vec![],
                        )
                        .await
                        .expect("create");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("create task");
    }
    started.elapsed()
}

/// Plain inserts of `users` rows into the schema without `dropped` indexes; with `rebuild`,
/// those indexes are built again at the end, in the time measured.
fn ceiling_run(dir: &std::path::Path, users: usize, dropped: &[&str], rebuild: bool) -> Duration {
    let conn = rusqlite::Connection::open(dir.join("ceiling.db")).expect("open");
    conn.execute_batch(
        "PRAGMA page_size = 8192; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
         PRAGMA cache_size = -65536;",
    )
    .expect("pragmas");
    conn.execute_batch(MIGRATION).expect("schema");
    for index in dropped {
        conn.execute_batch(&format!("DROP INDEX {index}"))
            .expect("drop");
    }
    let mut spent = Duration::ZERO;
    for from in (0..users).step_by(CHUNK) {
        let rows: Vec<(String, String, [String; 5])> = (from..(from + CHUNK).min(users))
            .map(|i| {
                let r = record(i);
                let text = |k: &str| r[k].as_str().unwrap_or_default().to_lowercase();
                (
                    provisio_directory::new_object_id().to_string(),
                    serde_json::to_string(&r).expect("json"),
                    [
                        text("userPrincipalName"),
                        text("mailNickname"),
                        text("displayName"),
                        text("mail"),
                        r["employeeId"].as_str().unwrap_or_default().to_string(),
                    ],
                )
            })
            .collect();
        let started = Instant::now();
        let tx = conn.unchecked_transaction().expect("begin");
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO objects (id, kind, data, manager_id, created, deleted, version, \
                     unique_key, nickname_key, display_key, mail_key, employee_id) \
                     VALUES (?1, 'user', ?2, NULL, '2026-11-28T00:00:00Z', NULL, 1, ?3, ?4, ?5, ?6, ?7)",
                )
                .expect("prepare");
            let mut change = tx
                .prepare_cached(
                    "INSERT INTO changes (kind, object_id, op, related_id, at) \
                     VALUES ('user', ?1, 'created', NULL, '2026-11-28T00:00:00Z')",
                )
                .expect("prepare");
            for (id, data, [upn, nick, display, mail, employee]) in &rows {
                insert
                    .execute(rusqlite::params![
                        id, data, upn, nick, display, mail, employee
                    ])
                    .expect("insert");
                change.execute([id]).expect("change");
            }
        }
        tx.commit().expect("commit");
        spent += started.elapsed();
    }
    if rebuild {
        let started = Instant::now();
        for statement in MIGRATION.split(';') {
            if dropped
                .iter()
                .any(|index| statement.contains(&format!("INDEX {index} ")))
            {
                conn.execute_batch(statement).expect("create index");
            }
        }
        spent += started.elapsed();
    }
    spent
}

fn rate(n: usize, spent: Duration) -> String {
    format!(
        "{:>9.0}/s  ({:.1} s)",
        n as f64 / spent.as_secs_f64(),
        spent.as_secs_f64()
    )
}

#[tokio::main]
async fn main() {
    let mut users = 100_000;
    let mut creates = 5_000;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--users" {
            users = args
                .next()
                .and_then(|n| n.parse().ok())
                .expect("--users takes a number");
        } else if arg == "--creates" {
            creates = args
                .next()
                .and_then(|n| n.parse().ok())
                .expect("--creates takes a number");
        }
    }
    println!("directory import, {users} users, chunks of {CHUNK}:");

    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteDirectory::open(dir.path()).await.expect("open");
    let spent = store_run(&store, users).await;
    println!(
        "  SqliteDirectory::import (managers, change log)    {}",
        rate(users, spent)
    );
    drop(store);

    for concurrency in [1, 32] {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteDirectory::open(dir.path()).await.expect("open");
        let spent = create_run(&store, creates, concurrency).await;
        println!(
            "  SqliteDirectory::create, {concurrency:>2} at a time ({creates})    {}",
            rate(creates, spent)
        );
    }

    for (label, dropped, rebuild) in [
        (
            "SQLite ceiling, same schema, every index         ",
            &[][..],
            false,
        ),
        (
            "SQLite ceiling, without the 5 random-key indexes ",
            &RANDOM_KEY_INDEXES[..],
            false,
        ),
        (
            "SQLite bulk load: without them, then built       ",
            &RANDOM_KEY_INDEXES[..],
            true,
        ),
    ] {
        let dir = tempfile::tempdir().expect("temp dir");
        let spent = ceiling_run(dir.path(), users, dropped, rebuild);
        println!("  {label}{}", rate(users, spent));
    }

    if let Ok(url) = std::env::var("TEST_DATABASE_URL") {
        let store = PostgresDirectory::connect(&url).await.expect("connect");
        let spent = store_run(&store, users).await;
        println!(
            "  PostgresDirectory::import (managers, change log)  {}",
            rate(users, spent)
        );
    }
}
