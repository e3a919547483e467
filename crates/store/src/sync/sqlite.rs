//! The engine's state in `sync.db`, a SQLite file of its own in the data directory, opened
//! with the `provisio_db::sqlite` kit: its own writer thread, so that a cycle's writes never
//! wait behind a directory import on the directory's writer. One writer also makes each
//! fence check and the write it guards one serialised step.

use std::path::Path;

use async_trait::async_trait;
use provisio_db::migrate::{Legacy, Migrations};
use provisio_db::sqlite::{Sqlite, SqliteOptions};
use provisio_db::DbError;
use provisio_engine::state::{
    Fence, JobRecord, JobStore, LeaseStore, Link, LinkQuery, LinkStore, LogQuery, LogRow, LogStore,
    NewLogRow, SyncStoreError,
};
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row, ToSql};
use serde_json::Value;
use uuid::Uuid;

use super::{
    backend, links_sql, logs_sql, to_json, Arg, JobColumns, LinkColumns, LogColumns, Placeholder,
    JOB_COLUMNS, LINK_COLUMNS, LINK_UPSERT,
};

static MIGRATIONS: Migrations = Migrations {
    component: "sync",
    steps: &[
        include_str!("../../migrations/sqlite/0001_sync.sql"),
        include_str!("../../migrations/sqlite/0002_sync_logs_rowid.sql"),
    ],
    legacy: Legacy::None,
};

fn options() -> SqliteOptions {
    SqliteOptions {
        name: "sync",
        readers: 4,
        reader_cache_kib: 8 * 1024,
        writer_cache_kib: 16 * 1024,
        page_size: None,
        foreign_keys: false,
        statement_cache: 64,
        batch_max: 256,
        wal_restart_bytes: provisio_db::sqlite::WAL_RESTART_BYTES,
    }
}

/// The engine's state in SQLite. Cheap to clone; clones share the database.
#[derive(Clone, Debug)]
pub struct SqliteSync {
    db: Sqlite,
}

/// The kit's errors in the port's error type.
struct KitError(SyncStoreError);

impl From<DbError> for KitError {
    fn from(e: DbError) -> Self {
        KitError(backend(e))
    }
}

fn db(e: rusqlite::Error) -> SyncStoreError {
    backend(e)
}

fn constraint_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.code == rusqlite::ErrorCode::ConstraintViolation)
}

impl ToSql for Arg {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            Arg::Text(s) => s.to_sql(),
            Arg::Int(i) => i.to_sql(),
        }
    }
}

impl SqliteSync {
    /// Opens (creating) `data_dir/sync.db` and migrates it.
    pub async fn open(data_dir: &Path) -> Result<Self, SyncStoreError> {
        let db = Sqlite::open(&data_dir.join("sync.db"), options(), &MIGRATIONS)
            .await
            .map_err(backend)?;
        Ok(SqliteSync { db })
    }

    /// Runs `work` in a transaction of its own (a savepoint of the writer's group commit);
    /// an error rolls back what it did.
    async fn write<R, F>(&self, work: F) -> Result<R, SyncStoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R, SyncStoreError> + Send + 'static,
    {
        self.db
            .write(move |conn| work(conn).map_err(KitError))
            .await
            .map_err(|KitError(e)| e)
    }

    /// A point lookup, run in the calling task when a reader is idle (see
    /// `SqliteDb::read_point`).
    async fn read_point<R, F>(&self, work: F) -> Result<R, SyncStoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R, SyncStoreError> + Send + 'static,
    {
        self.db
            .read_point(move |conn| work(conn).map_err(KitError))
            .await
            .map_err(|KitError(e)| e)
    }

    async fn read<R, F>(&self, work: F) -> Result<R, SyncStoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R, SyncStoreError> + Send + 'static,
    {
        self.db
            .read(move |conn| work(conn).map_err(KitError))
            .await
            .map_err(|KitError(e)| e)
    }
}

fn job_from_row(row: &Row<'_>) -> Result<JobRecord, SyncStoreError> {
    JobColumns {
        id: row.get(0).map_err(db)?,
        service_principal_id: row.get(1).map_err(db)?,
        template_id: row.get(2).map_err(db)?,
        job: row.get(3).map_err(db)?,
        schema: row.get(4).map_err(db)?,
        version: row.get(5).map_err(db)?,
        created: row.get(6).map_err(db)?,
    }
    .decode()
}

fn link_from_row(row: &Row<'_>) -> Result<Link, SyncStoreError> {
    LinkColumns {
        job_id: row.get(0).map_err(db)?,
        object_type: row.get(1).map_err(db)?,
        source_id: row.get(2).map_err(db)?,
        target_id: row.get(3).map_err(db)?,
        display_name: row.get(4).map_err(db)?,
        origin: row.get(5).map_err(db)?,
        made: row.get(6).map_err(db)?,
        shadow: row.get(7).map_err(db)?,
        stale: row.get(8).map_err(db)?,
    }
    .decode()
}

fn log_from_row(row: &Row<'_>) -> Result<LogRow, SyncStoreError> {
    LogColumns {
        id: row.get(0).map_err(db)?,
        job_id: row.get(1).map_err(db)?,
        cycle_id: row.get(2).map_err(db)?,
        activity: row.get(3).map_err(db)?,
        action: row.get(4).map_err(db)?,
        status: row.get(5).map_err(db)?,
        source_id: row.get(6).map_err(db)?,
        target_id: row.get(7).map_err(db)?,
        summary: row.get(8).map_err(db)?,
    }
    .decode()
}

/// Every row of `sql` with `args`, decoded by `decode`.
fn query<T>(
    conn: &Connection,
    sql: &str,
    args: impl rusqlite::Params,
    decode: fn(&Row<'_>) -> Result<T, SyncStoreError>,
) -> Result<Vec<T>, SyncStoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(db)?;
    let mut rows = stmt.query(args).map_err(db)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(db)? {
        out.push(decode(row)?);
    }
    Ok(out)
}

/// Fails with `Fenced` unless `fence` is the one the job's lease was last given. Runs in
/// the transaction of the write it guards.
fn check_fence(conn: &Connection, job: &str, fence: Fence) -> Result<(), SyncStoreError> {
    let current: Option<i64> = conn
        .prepare_cached("SELECT fence FROM sync_leases WHERE job_id = ?1")
        .and_then(|mut s| s.query_row([job], |r| r.get(0)).optional())
        .map_err(db)?;
    // Fence 0 is a lease row's before any worker acquired it: no writer carries it.
    match current {
        Some(current) if current == fence.0 && current > 0 => Ok(()),
        _ => Err(SyncStoreError::Fenced(job.to_string())),
    }
}

#[async_trait]
impl JobStore for SqliteSync {
    async fn create_job(&self, mut job: JobRecord) -> Result<JobRecord, SyncStoreError> {
        job.version = 1;
        let columns = JobColumns::encode(&job)?;
        self.write(move |conn| {
            let inserted = conn
                .prepare_cached(&format!(
                    "INSERT INTO sync_jobs ({JOB_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                ))
                .and_then(|mut s| {
                    s.execute(params![
                        columns.id,
                        columns.service_principal_id,
                        columns.template_id,
                        columns.job,
                        columns.schema,
                        columns.version,
                        columns.created
                    ])
                });
            match inserted {
                Err(e) if constraint_violation(&e) => {
                    return Err(SyncStoreError::JobExists(columns.id))
                }
                other => other.map_err(db)?,
            };
            conn.prepare_cached(
                "INSERT INTO sync_leases (job_id, worker, until, fence) VALUES (?1, '', '', 0)",
            )
            .and_then(|mut s| s.execute([&columns.id]))
            .map_err(db)?;
            Ok(())
        })
        .await?;
        Ok(job)
    }

    async fn job(&self, id: &str) -> Result<Option<JobRecord>, SyncStoreError> {
        let id = id.to_string();
        self.read(move |conn| {
            let sql = format!("SELECT {JOB_COLUMNS} FROM sync_jobs WHERE id = ?1");
            Ok(query(conn, &sql, [id], job_from_row)?.into_iter().next())
        })
        .await
    }

    async fn jobs(&self, service_principal: Uuid) -> Result<Vec<JobRecord>, SyncStoreError> {
        self.read(move |conn| {
            let sql = format!(
                "SELECT {JOB_COLUMNS} FROM sync_jobs WHERE service_principal_id = ?1 ORDER BY id"
            );
            query(conn, &sql, [service_principal.to_string()], job_from_row)
        })
        .await
    }

    async fn all_jobs(&self) -> Result<Vec<JobRecord>, SyncStoreError> {
        self.read(move |conn| {
            let sql = format!("SELECT {JOB_COLUMNS} FROM sync_jobs ORDER BY id");
            query(conn, &sql, [], job_from_row)
        })
        .await
    }

    async fn update_job(
        &self,
        id: &str,
        expected: i64,
        job: Value,
        schema: Value,
        fence: Option<Fence>,
    ) -> Result<JobRecord, SyncStoreError> {
        let id = id.to_string();
        let (job, schema) = (to_json(&job)?, to_json(&schema)?);
        self.write(move |conn| {
            if let Some(fence) = fence {
                check_fence(conn, &id, fence)?;
            }
            let sql = format!(
                "UPDATE sync_jobs SET job = ?1, schema = ?2, version = version + 1 \
                 WHERE id = ?3 AND version = ?4 RETURNING {JOB_COLUMNS}"
            );
            if let Some(updated) =
                query(conn, &sql, params![job, schema, id, expected], job_from_row)?
                    .into_iter()
                    .next()
            {
                return Ok(updated);
            }
            let current: Option<i64> = conn
                .prepare_cached("SELECT version FROM sync_jobs WHERE id = ?1")
                .and_then(|mut s| s.query_row([&id], |r| r.get(0)).optional())
                .map_err(db)?;
            Err(match current {
                Some(current) => SyncStoreError::VersionConflict { job: id, current },
                None => SyncStoreError::JobNotFound(id),
            })
        })
        .await
    }

    async fn delete_job(&self, id: &str) -> Result<bool, SyncStoreError> {
        let id = id.to_string();
        self.write(move |conn| {
            let deleted = conn
                .prepare_cached("DELETE FROM sync_jobs WHERE id = ?1")
                .and_then(|mut s| s.execute([&id]))
                .map_err(db)?;
            if deleted == 0 {
                return Ok(false);
            }
            for table in ["sync_links", "sync_watermarks", "sync_logs", "sync_leases"] {
                conn.prepare_cached(&format!("DELETE FROM {table} WHERE job_id = ?1"))
                    .and_then(|mut s| s.execute([&id]))
                    .map_err(db)?;
            }
            Ok(true)
        })
        .await
    }

    async fn secrets(&self, service_principal: Uuid) -> Result<Option<Vec<u8>>, SyncStoreError> {
        self.read(move |conn| {
            conn.prepare_cached("SELECT sealed FROM sync_secrets WHERE service_principal_id = ?1")
                .and_then(|mut s| {
                    s.query_row([service_principal.to_string()], |r| r.get(0))
                        .optional()
                })
                .map_err(db)
        })
        .await
    }

    async fn put_secrets(
        &self,
        service_principal: Uuid,
        sealed: Vec<u8>,
    ) -> Result<(), SyncStoreError> {
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO sync_secrets (service_principal_id, sealed) VALUES (?1, ?2) \
                 ON CONFLICT (service_principal_id) DO UPDATE SET sealed = excluded.sealed",
            )
            .and_then(|mut s| s.execute(params![service_principal.to_string(), sealed]))
            .map_err(db)?;
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl LinkStore for SqliteSync {
    async fn link(
        &self,
        job: &str,
        object_type: &str,
        source_id: Uuid,
    ) -> Result<Option<Link>, SyncStoreError> {
        let (job, object_type) = (job.to_string(), object_type.to_string());
        self.read_point(move |conn| {
            let sql = format!(
                "SELECT {LINK_COLUMNS} FROM sync_links \
                 WHERE job_id = ?1 AND object_type = ?2 AND source_id = ?3"
            );
            let args = params![job, object_type, source_id.to_string()];
            Ok(query(conn, &sql, args, link_from_row)?.into_iter().next())
        })
        .await
    }

    async fn link_by_target(
        &self,
        job: &str,
        target_id: &str,
    ) -> Result<Option<Link>, SyncStoreError> {
        let (job, target_id) = (job.to_string(), target_id.to_string());
        self.read_point(move |conn| {
            let sql = format!(
                "SELECT {LINK_COLUMNS} FROM sync_links WHERE job_id = ?1 AND target_id = ?2 \
                 ORDER BY object_type LIMIT 1"
            );
            Ok(query(conn, &sql, params![job, target_id], link_from_row)?
                .into_iter()
                .next())
        })
        .await
    }

    async fn links(&self, job: &str, query: &LinkQuery) -> Result<Vec<Link>, SyncStoreError> {
        let (sql, args) = links_sql(job, query, Placeholder::Question);
        self.read(move |conn| self::query(conn, &sql, params_from_iter(args.iter()), link_from_row))
            .await
    }

    async fn put_link(&self, fence: Fence, link: Link) -> Result<(), SyncStoreError> {
        self.put_links(fence, vec![link]).await
    }

    async fn put_links(&self, fence: Fence, links: Vec<Link>) -> Result<(), SyncStoreError> {
        let Some(first) = links.first() else {
            return Ok(());
        };
        let job = first.job_id.clone();
        // Encoded (shadows serialised) on the writer thread, not in the caller's task: the
        // cycle's one task is the engine's busiest thread.
        self.write(move |conn| {
            let columns = links
                .iter()
                .map(LinkColumns::encode)
                .collect::<Result<Vec<_>, _>>()?;
            drop(links);
            check_fence(conn, &job, fence)?;
            for c in columns {
                if c.job_id != job {
                    check_fence(conn, &c.job_id, fence)?;
                }
                write_link(conn, c)?;
            }
            Ok(())
        })
        .await
    }

    async fn delete_link(
        &self,
        job: &str,
        object_type: &str,
        source_id: Uuid,
    ) -> Result<bool, SyncStoreError> {
        let (job, object_type) = (job.to_string(), object_type.to_string());
        self.write(move |conn| {
            let n = conn
                .prepare_cached(
                    "DELETE FROM sync_links WHERE job_id = ?1 AND object_type = ?2 AND source_id = ?3",
                )
                .and_then(|mut s| s.execute(params![job, object_type, source_id.to_string()]))
                .map_err(db)?;
            Ok(n > 0)
        })
        .await
    }

    async fn clear_links(&self, fence: Fence, job: &str) -> Result<u64, SyncStoreError> {
        let job = job.to_string();
        self.write(move |conn| {
            check_fence(conn, &job, fence)?;
            let n = conn
                .prepare_cached("DELETE FROM sync_links WHERE job_id = ?1")
                .and_then(|mut s| s.execute([job]))
                .map_err(db)?;
            Ok(n as u64)
        })
        .await
    }

    async fn watermark(&self, job: &str) -> Result<Option<i64>, SyncStoreError> {
        let job = job.to_string();
        self.read(move |conn| {
            conn.prepare_cached("SELECT watermark FROM sync_watermarks WHERE job_id = ?1")
                .and_then(|mut s| s.query_row([job], |r| r.get(0)).optional())
                .map_err(db)
        })
        .await
    }

    async fn set_watermark(
        &self,
        fence: Fence,
        job: &str,
        watermark: Option<i64>,
    ) -> Result<(), SyncStoreError> {
        let job = job.to_string();
        self.write(move |conn| {
            check_fence(conn, &job, fence)?;
            match watermark {
                Some(w) => conn
                    .prepare_cached(
                        "INSERT INTO sync_watermarks (job_id, watermark) VALUES (?1, ?2) \
                         ON CONFLICT (job_id) DO UPDATE SET watermark = excluded.watermark",
                    )
                    .and_then(|mut s| s.execute(params![job, w])),
                None => conn
                    .prepare_cached("DELETE FROM sync_watermarks WHERE job_id = ?1")
                    .and_then(|mut s| s.execute([&job])),
            }
            .map_err(db)?;
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl LogStore for SqliteSync {
    async fn append_logs(&self, rows: Vec<NewLogRow>) -> Result<(), SyncStoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        // Encoded on the writer thread, not in the caller's task: the cycle's one task is
        // the engine's busiest thread.
        self.write(move |conn| {
            let rows: Vec<LogColumns> = rows.into_iter().map(LogColumns::encode).collect();
            // A row appended again (a retried batch) is kept once.
            let mut insert = conn
                .prepare_cached(&format!(
                    "INSERT INTO sync_logs ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
                     ON CONFLICT (id) DO NOTHING",
                    super::LOG_COLUMNS
                ))
                .map_err(db)?;
            for r in rows {
                insert
                    .execute(params![
                        r.id,
                        r.job_id,
                        r.cycle_id,
                        r.activity,
                        r.action,
                        r.status,
                        r.source_id,
                        r.target_id,
                        r.summary
                    ])
                    .map_err(db)?;
            }
            Ok(())
        })
        .await
    }

    async fn logs(&self, query: &LogQuery) -> Result<Vec<LogRow>, SyncStoreError> {
        let (sql, args) = logs_sql(query, Placeholder::Question);
        self.read(move |conn| self::query(conn, &sql, params_from_iter(args.iter()), log_from_row))
            .await
    }

    async fn purge_logs_before(&self, before: &str) -> Result<u64, SyncStoreError> {
        let before = before.to_string();
        self.write(move |conn| {
            let n = conn
                .prepare_cached("DELETE FROM sync_logs WHERE activity < ?1")
                .and_then(|mut s| s.execute([before]))
                .map_err(db)?;
            Ok(n as u64)
        })
        .await
    }
}

#[async_trait]
impl LeaseStore for SqliteSync {
    async fn acquire_lease(
        &self,
        job: &str,
        worker: &str,
        now: &str,
        until: &str,
    ) -> Result<Option<Fence>, SyncStoreError> {
        let (job, worker, now, until) = (
            job.to_string(),
            worker.to_string(),
            now.to_string(),
            until.to_string(),
        );
        self.write(move |conn| {
            let lease: Option<(String, String, i64)> = conn
                .prepare_cached("SELECT worker, until, fence FROM sync_leases WHERE job_id = ?1")
                .and_then(|mut s| {
                    s.query_row([&job], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                        .optional()
                })
                .map_err(db)?;
            // A job has its lease row from its creation on.
            let Some((holder, held_until, fence)) = lease else {
                return Err(SyncStoreError::JobNotFound(job));
            };
            let live = held_until > now;
            if live && holder != worker {
                return Ok(None);
            }
            let fence = if live {
                fence
            } else {
                conn.prepare_cached("UPDATE sync_fence SET last = last + 1 RETURNING last")
                    .and_then(|mut s| s.query_row([], |r| r.get(0)))
                    .map_err(db)?
            };
            conn.prepare_cached(
                "UPDATE sync_leases SET worker = ?2, until = ?3, fence = ?4 WHERE job_id = ?1",
            )
            .and_then(|mut s| s.execute(params![job, worker, until, fence]))
            .map_err(db)?;
            Ok(Some(Fence(fence)))
        })
        .await
    }

    async fn renew_lease(
        &self,
        job: &str,
        worker: &str,
        fence: Fence,
        until: &str,
    ) -> Result<bool, SyncStoreError> {
        let (job, worker, until) = (job.to_string(), worker.to_string(), until.to_string());
        self.write(move |conn| {
            let n = conn
                .prepare_cached(
                    "UPDATE sync_leases SET until = ?4 \
                     WHERE job_id = ?1 AND worker = ?2 AND fence = ?3 AND fence > 0",
                )
                .and_then(|mut s| s.execute(params![job, worker, fence.0, until]))
                .map_err(db)?;
            Ok(n > 0)
        })
        .await
    }

    async fn release_lease(&self, job: &str, fence: Fence) -> Result<(), SyncStoreError> {
        let job = job.to_string();
        self.write(move |conn| {
            conn.prepare_cached(
                "UPDATE sync_leases SET until = '' WHERE job_id = ?1 AND fence = ?2",
            )
            .and_then(|mut s| s.execute(params![job, fence.0]))
            .map_err(db)?;
            Ok(())
        })
        .await
    }
}

/// Inserts or replaces one link, refusing a target another source of the job holds.
fn write_link(conn: &Connection, c: LinkColumns) -> Result<(), SyncStoreError> {
    let holder: Option<String> = conn
        .prepare_cached(
            "SELECT source_id FROM sync_links \
             WHERE job_id = ?1 AND target_id = ?2 AND object_type = ?3 AND source_id <> ?4",
        )
        .and_then(|mut s| {
            s.query_row(
                params![c.job_id, c.target_id, c.object_type, c.source_id],
                |r| r.get(0),
            )
            .optional()
        })
        .map_err(db)?;
    if let Some(holder) = holder {
        return Err(SyncStoreError::TargetTaken {
            source_id: super::parse_uuid("source id", &holder)?,
            target_id: c.target_id,
        });
    }
    conn.prepare_cached(&format!(
        "INSERT INTO sync_links ({LINK_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
         {LINK_UPSERT}"
    ))
    .and_then(|mut s| {
        s.execute(params![
            c.job_id,
            c.object_type,
            c.source_id,
            c.target_id,
            c.display_name,
            c.origin,
            c.made,
            c.shadow,
            c.stale
        ])
    })
    .map_err(db)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use provisio_engine::state::{LinkQuery, LogQuery};
    use rusqlite::params_from_iter;
    use uuid::Uuid;

    use super::super::{links_sql, logs_sql, Arg, Placeholder};

    /// A `sync.db` at version 1 keeps its log rows through migration 2, which moves them to
    /// a rowid table, and lists them as before.
    #[tokio::test]
    async fn log_rows_move_to_a_rowid_table_and_read_as_before() {
        static VERSION_1: provisio_db::migrate::Migrations = provisio_db::migrate::Migrations {
            component: "sync",
            steps: super::MIGRATIONS.steps.split_at(1).0,
            legacy: provisio_db::migrate::Legacy::None,
        };
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("sync.db");
        let cycle = Uuid::new_v4();
        let rows: Vec<(String, String, Option<&str>, &str)> = vec![
            (
                Uuid::new_v4().to_string(),
                "2031-01-01T00:00:01.000Z".into(),
                Some("s-1"),
                r#"{"id":"a","z":[1,{"b":null}]}"#,
            ),
            (
                Uuid::new_v4().to_string(),
                "2031-01-01T00:00:00.000Z".into(),
                None,
                r#"{"id":"b"}"#,
            ),
        ];
        {
            let conn = rusqlite::Connection::open(&path).expect("open");
            provisio_db::migrate::sqlite(&conn, &VERSION_1).expect("version 1");
            for (id, activity, source, summary) in &rows {
                conn.execute(
                    "INSERT INTO sync_logs (id, job_id, cycle_id, activity, action, status, \
                     source_id, target_id, summary) VALUES (?1, 'scim.1', ?2, ?3, 'create', \
                     'success', ?4, NULL, ?5)",
                    rusqlite::params![id, cycle.to_string(), activity, source, summary],
                )
                .expect("a version 1 row");
            }
        }
        let store = super::SqliteSync::open(dir.path()).await.expect("migrate");
        let listed = provisio_engine::state::LogStore::logs(
            &store,
            &LogQuery {
                limit: 10,
                ..LogQuery::default()
            },
        )
        .await
        .expect("list");
        let seen: Vec<(String, String, Option<String>, String)> = listed
            .iter()
            .map(|r| {
                (
                    r.id.to_string(),
                    r.activity.clone(),
                    r.source_id.clone(),
                    r.summary.to_string(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            vec![
                (
                    rows[1].0.clone(),
                    rows[1].1.clone(),
                    None,
                    rows[1].3.to_string()
                ),
                (
                    rows[0].0.clone(),
                    rows[0].1.clone(),
                    Some("s-1".into()),
                    rows[0].3.to_string()
                ),
            ],
            "oldest first, each as written"
        );
        let conn = rusqlite::Connection::open(&path).expect("open");
        let sql: String = conn
            .query_row(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'sync_logs'",
                [],
                |r| r.get(0),
            )
            .expect("the table");
        assert!(!sql.contains("WITHOUT ROWID"), "{sql}");
        let version: i64 = conn
            .query_row(
                "SELECT max(version) FROM provisio_migrations WHERE component = 'sync'",
                [],
                |r| r.get(0),
            )
            .expect("version");
        assert_eq!(version, 2);
    }

    /// Every list the port has walks an index in its keyset order: none scans the table or
    /// sorts rows to return a page.
    #[tokio::test]
    async fn lists_use_an_index() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = super::SqliteSync::open(dir.path()).await.expect("open");
        let after = Some(Uuid::nil());
        let link_queries = [
            LinkQuery::default(),
            LinkQuery {
                object_type: Some("User".into()),
                after,
                ..LinkQuery::default()
            },
            LinkQuery {
                stale: Some(true),
                after,
                ..LinkQuery::default()
            },
            LinkQuery {
                stale: Some(false),
                ..LinkQuery::default()
            },
        ];
        let text = |v: &str| Some(v.to_string());
        let cursor = Some(("2024-01-01T00:00:00.000Z".to_string(), Uuid::nil()));
        let log_queries = [
            LogQuery::default(),
            LogQuery {
                after: cursor.clone(),
                ..LogQuery::default()
            },
            LogQuery {
                job_id: text("scim.1"),
                after: cursor.clone(),
                ..LogQuery::default()
            },
            LogQuery {
                cycle_id: Some(Uuid::nil()),
                ..LogQuery::default()
            },
            LogQuery {
                source_id: text("s"),
                after: cursor,
                ..LogQuery::default()
            },
            LogQuery {
                target_id: text("t"),
                from: text("2024"),
                to: text("2025"),
                ..LogQuery::default()
            },
            LogQuery {
                job_id: text("scim.1"),
                status: text("failure"),
                action: text("create"),
                ..LogQuery::default()
            },
        ];
        let mut statements: Vec<(String, Vec<Arg>)> = link_queries
            .iter()
            .map(|q| links_sql("scim.1", q, Placeholder::Question))
            .collect();
        statements.extend(
            log_queries
                .iter()
                .map(|q| logs_sql(q, Placeholder::Question)),
        );
        for (sql, args) in statements {
            let explained = format!("EXPLAIN QUERY PLAN {sql}");
            let plan = store
                .read(move |conn| {
                    let mut stmt = conn.prepare(&explained).map_err(super::db)?;
                    let rows = stmt
                        .query_map(params_from_iter(args.iter()), |r| r.get::<_, String>(3))
                        .map_err(super::db)?;
                    rows.collect::<Result<Vec<_>, _>>().map_err(super::db)
                })
                .await
                .expect("plan")
                .join(" / ");
            assert!(plan.contains("USING"), "{sql}: {plan}");
            assert!(!plan.contains("TEMP B-TREE"), "{sql} sorts: {plan}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn conformance() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = super::SqliteSync::open(dir.path()).await.expect("open");
        provisio_engine::state::conformance::run(Arc::new(store)).await;
        assert!(dir.path().join("sync.db").exists());
    }
}
