//! The SQLite kit as a store sees it: what its writes and migrations leave in the file.

use std::path::Path;

use provisio_db::migrate::{Legacy, Migrations};
use provisio_db::sqlite::{Sqlite, SqliteOptions};
use provisio_db::DbError;
use rusqlite::Connection;

/// A store's own error type, as the kit's callers have.
#[derive(Debug, PartialEq)]
enum TestError {
    Kit(String),
    Refused(&'static str),
}

impl From<DbError> for TestError {
    fn from(e: DbError) -> Self {
        TestError::Kit(e.to_string())
    }
}

impl From<rusqlite::Error> for TestError {
    fn from(e: rusqlite::Error) -> Self {
        TestError::Kit(e.to_string())
    }
}

static NOTES: Migrations = Migrations {
    component: "notes",
    steps: &[
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL UNIQUE);",
        "ALTER TABLE notes RENAME TO notes_notes;",
    ],
    legacy: Legacy::UserVersion,
};

fn options() -> SqliteOptions {
    SqliteOptions {
        name: "notes",
        ..SqliteOptions::default()
    }
}

async fn bodies(db: &Sqlite) -> Vec<String> {
    db.read(|conn| -> Result<Vec<String>, TestError> {
        let mut stmt = conn.prepare("SELECT body FROM notes_notes ORDER BY body")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    })
    .await
    .expect("read")
}

fn insert(conn: &Connection, body: &str) -> Result<(), TestError> {
    conn.execute("INSERT INTO notes_notes (body) VALUES (?1)", [body])?;
    Ok(())
}

/// What a write asks for, and what its caller hears.
enum Write {
    Keep(&'static str),
    DryRun(&'static str),
    Refuse(&'static str),
    Panic(&'static str),
}

/// Writes queued together share a group commit, yet each keeps or loses its own changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_write_of_a_group_commit_stands_or_falls_alone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Sqlite::open(&dir.path().join("notes.db"), options(), &NOTES)
        .await
        .expect("open");
    db.write(|conn| insert(conn, "a"))
        .await
        .expect("a first write");
    // Sent together, so run in no particular order.
    let cases = [
        (Write::Keep("b"), Ok(1)),
        (Write::DryRun("c"), Ok(2)),
        (Write::Refuse("d"), Err(TestError::Refused("d"))),
        (Write::Keep("a"), Err(TestError::Kit(String::new()))),
        (
            Write::Panic("e"),
            Err(TestError::Kit("the write panicked".into())),
        ),
        (Write::Keep("f"), Ok(6)),
    ];
    let mut replies = Vec::new();
    for (i, (write, _)) in cases.iter().enumerate() {
        let (body, keep, refuse, panic) = match *write {
            Write::Keep(b) => (b, true, false, false),
            Write::DryRun(b) => (b, false, false, false),
            Write::Refuse(b) => (b, true, true, false),
            Write::Panic(b) => (b, true, false, true),
        };
        let db = db.clone();
        replies.push(tokio::spawn(async move {
            db.write_or_roll_back(move |conn| {
                insert(conn, body)?;
                if refuse {
                    return Err(TestError::Refused(body));
                }
                assert!(!panic, "a write that panics");
                Ok((i + 1, keep))
            })
            .await
        }));
    }
    for ((_, expected), reply) in cases.into_iter().zip(replies) {
        let got = reply.await.expect("join");
        match (&got, &expected) {
            // A unique violation: only its kind is checked.
            (Err(TestError::Kit(message)), Err(TestError::Kit(e))) if e.is_empty() => {
                assert!(message.contains("UNIQUE"), "{message}")
            }
            _ => assert_eq!(got, expected),
        }
    }
    assert_eq!(bodies(&db).await, ["a", "b", "f"]);
}

fn versions(path: &Path) -> (Vec<i64>, i64) {
    let conn = Connection::open(path).expect("open");
    let mut stmt = conn
        .prepare("SELECT version FROM provisio_migrations WHERE component = 'notes' ORDER BY 1")
        .expect("prepare");
    let recorded = stmt
        .query_map([], |r| r.get(0))
        .and_then(|rows| rows.collect::<Result<Vec<i64>, _>>())
        .expect("versions");
    let user_version = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("user_version");
    (recorded, user_version)
}

#[tokio::test]
async fn migrations_adopt_earlier_databases_and_refuse_newer_ones() {
    // (what the file holds before, versions recorded after (or the error), notes kept)
    type Case = (
        &'static str,
        Result<Vec<i64>, &'static str>,
        &'static [&'static str],
    );
    let cases: [Case; 4] = [
        ("", Ok(vec![1, 2]), &[]),
        // The earlier runner: version 1 in user_version, no provisio_migrations.
        (
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL UNIQUE); \
             INSERT INTO notes (body) VALUES ('old'); PRAGMA user_version = 1;",
            Ok(vec![1, 2]),
            &["old"],
        ),
        (
            "CREATE TABLE notes_notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL UNIQUE); \
             INSERT INTO notes_notes (body) VALUES ('kept'); \
             CREATE TABLE provisio_migrations (component TEXT, version INTEGER, applied_at TEXT); \
             INSERT INTO provisio_migrations VALUES ('notes', 1, ''), ('notes', 2, '');",
            Ok(vec![1, 2]),
            &["kept"],
        ),
        (
            "CREATE TABLE provisio_migrations (component TEXT, version INTEGER, applied_at TEXT); \
             INSERT INTO provisio_migrations VALUES ('notes', 3, '');",
            Err("the notes schema is at version 3; this provisio knows up to 2"),
            &[],
        ),
    ];
    for (before, expected, notes) in cases {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("notes.db");
        Connection::open(&path)
            .and_then(|c| c.execute_batch(before))
            .expect("the file before");
        match (Sqlite::open(&path, options(), &NOTES).await, expected) {
            (Ok(db), Ok(recorded)) => {
                assert_eq!(bodies(&db).await, notes, "{before}");
                drop(db);
                assert_eq!(versions(&path), (recorded, 2), "{before}");
            }
            (Err(e), Err(message)) => assert_eq!(e.to_string(), message),
            (got, expected) => panic!("{before}: {got:?}, expected {expected:?}"),
        }
    }
}

/// A point read runs in the caller's task while a reader is idle, and waits its turn on the
/// blocking pool when every reader is busy; either way it sees the committed rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn point_reads_use_an_idle_reader_or_wait_for_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Sqlite::open(
        &dir.path().join("notes.db"),
        SqliteOptions {
            readers: 1,
            ..options()
        },
        &NOTES,
    )
    .await
    .expect("open");
    db.write(|conn| insert(conn, "a")).await.expect("write");
    let count = |conn: &Connection| -> Result<i64, TestError> {
        Ok(conn.query_row("SELECT count(*) FROM notes_notes", [], |r| r.get(0))?)
    };
    assert_eq!(db.read_point(count).await, Ok(1));

    // The only reader is held by a slow read until the test lets it go.
    let (release, wait) = std::sync::mpsc::channel::<()>();
    let (started, is_started) = tokio::sync::oneshot::channel::<()>();
    let slow = {
        let db = db.clone();
        tokio::spawn(async move {
            db.read(move |conn| -> Result<i64, TestError> {
                let _ = started.send(());
                let _ = wait.recv();
                count(conn)
            })
            .await
        })
    };
    is_started.await.expect("the slow read started");
    let point = {
        let db = db.clone();
        tokio::spawn(async move { db.read_point(count).await })
    };
    tokio::task::yield_now().await;
    assert!(
        !point.is_finished(),
        "the point read waits for the busy reader"
    );
    release.send(()).expect("release");
    assert_eq!(slow.await.expect("slow"), Ok(1));
    assert_eq!(point.await.expect("point"), Ok(1));
}

/// A WAL past its restart size is truncated by the checkpointer, not left to grow: a passive
/// checkpoint alone never shrinks the file (a million assignments grew it to 20 GB).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_wal_is_cut_back() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("notes.db");
    let restart = 256 * 1024;
    let db = Sqlite::open(
        &path,
        SqliteOptions {
            wal_restart_bytes: restart,
            ..options()
        },
        &NOTES,
    )
    .await
    .expect("open");
    for n in 0..200 {
        let body = format!("{n:05}{}", "x".repeat(8000));
        db.write(move |conn| insert(conn, &body))
            .await
            .expect("write");
    }
    let wal = dir.path().join("notes.db-wal");
    let mut size = u64::MAX;
    // The checkpointer runs every quarter second; a bounded wait for it to get there.
    for _ in 0..200 {
        size = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
        if size <= restart {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(size <= restart, "the WAL stayed at {size} bytes");
    assert_eq!(bodies(&db).await.len(), 200);
}
