//! The process-wide SQLite memory budget (`limit_process_memory`). A binary of its own: the
//! budget belongs to the whole process, and no other test should run under it.

use std::sync::{Arc, Barrier};

use provisio_db::migrate::{Legacy, Migrations};
use provisio_db::sqlite::{limit_process_memory, Sqlite, SqliteOptions};
use provisio_db::DbError;

static BLOBS: Migrations = Migrations {
    component: "blobs",
    steps: &["CREATE TABLE blobs (id INTEGER PRIMARY KEY, body BLOB NOT NULL);"],
    legacy: Legacy::UserVersion,
};

const MIB: i64 = 1024 * 1024;
const READERS: usize = 4;

/// What SQLite has allocated in this process, all connections together.
fn sqlite_memory_used() -> i64 {
    // SAFETY: sqlite3_memory_used takes no argument and only reads SQLite's own counter
    // under SQLite's own mutex; it may be called from any thread at any time.
    unsafe { rusqlite::ffi::sqlite3_memory_used() }
}

/// Every read connection scans the whole table at the same time, so that each one's page
/// cache fills (the barrier keeps each scan on a connection of its own).
async fn scan_on_every_reader(db: &Sqlite) {
    let barrier = Arc::new(Barrier::new(READERS));
    let scans: Vec<_> = (0..READERS)
        .map(|_| {
            let db = db.clone();
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                db.read(move |conn| -> Result<i64, DbError> {
                    barrier.wait();
                    conn.query_row("SELECT sum(length(body)) FROM blobs", [], |r| r.get(0))
                        .map_err(|e| DbError::Unavailable(e.to_string()))
                })
                .await
            })
        })
        .collect();
    for scan in scans {
        let sum = scan.await.expect("scan task").expect("scan");
        assert_eq!(sum, 24 * MIB, "every scan reads the whole table");
    }
}

#[tokio::test]
async fn the_budget_bounds_every_connection_s_page_cache_together() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = SqliteOptions {
        name: "blobs",
        readers: READERS,
        reader_cache_kib: 16 * 1024,
        writer_cache_kib: 16 * 1024,
        ..SqliteOptions::default()
    };
    let db = Sqlite::open(&dir.path().join("blobs.db"), options, &BLOBS)
        .await
        .expect("open");
    // 24 MiB of rows: more than one connection's cache holds.
    db.write(|conn| -> Result<(), DbError> {
        let mut insert = conn
            .prepare("INSERT INTO blobs (body) VALUES (zeroblob(2048))")
            .map_err(|e| DbError::Unavailable(e.to_string()))?;
        for _ in 0..(24 * MIB / 2048) {
            insert
                .execute([])
                .map_err(|e| DbError::Unavailable(e.to_string()))?;
        }
        Ok(())
    })
    .await
    .expect("insert");

    // No budget: each reader caches its own copy of the table, up to its cache size.
    limit_process_memory(0).expect("no budget");
    scan_on_every_reader(&db).await;
    let unbudgeted = sqlite_memory_used();
    assert!(
        unbudgeted > 48 * MIB,
        "without a budget the four caches hold more than 48 MiB, found {} MiB",
        unbudgeted / MIB
    );

    // An 8 MiB budget: setting it frees what is over, and scanning again recycles pages
    // instead of allocating.
    limit_process_memory(8 * MIB as u64).expect("budget");
    assert!(
        sqlite_memory_used() <= 10 * MIB,
        "setting the budget releases the caches down to it, found {} MiB",
        sqlite_memory_used() / MIB
    );
    scan_on_every_reader(&db).await;
    let budgeted = sqlite_memory_used();
    assert!(
        budgeted <= 10 * MIB,
        "with an 8 MiB budget SQLite holds at most about 8 MiB, found {} MiB",
        budgeted / MIB
    );
}
