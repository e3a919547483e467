//! The engine's state in PostgreSQL, in the directory's database, for several workers.
//!
//! Leases: each job has its lease row from its creation on. An acquirer locks it `FOR
//! UPDATE SKIP LOCKED`: when another acquirer, a renewal or a guarded write holds it, the
//! lease is busy and the answer is `None` at once, so acquirers never queue behind each
//! other. A guarded write (`put_link`, `set_watermark`) locks the row `FOR SHARE` and checks
//! the fence in its own transaction: no acquirer can hand the lease over until the write
//! has committed, while the holder's own writes still run side by side (they only share
//! the lock). Fences come from one sequence, so they never repeat.

use std::time::Duration;

use async_trait::async_trait;
use provisio_db::migrate::{self, Legacy, Migrations};
use provisio_engine::state::{
    Fence, JobRecord, JobStore, LeaseStore, Link, LinkQuery, LinkStore, LogQuery, LogRow, LogStore,
    NewLogRow, SyncStoreError,
};
use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::Row;
use uuid::Uuid;

use super::{
    backend, links_sql, logs_sql, parse_uuid, to_json, Arg, JobColumns, LinkColumns, LogColumns,
    Placeholder, JOB_COLUMNS, LINK_COLUMNS, LINK_UPSERT, LOG_COLUMNS,
};

const POOL_SIZE: u32 = 8;
/// Log rows one array-bound insert carries.
const CHUNK: usize = 5_000;

static MIGRATIONS: Migrations = Migrations {
    component: "sync",
    steps: &[include_str!("../../migrations/postgres/0001_sync.sql")],
    legacy: Legacy::None,
};

/// The engine's state over a PostgreSQL pool of its own, so that a cycle never waits for a
/// connection an import holds.
#[derive(Clone, Debug)]
pub struct PostgresSync {
    pool: PgPool,
}

fn db(e: sqlx::Error) -> SyncStoreError {
    backend(e)
}

fn unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

impl PostgresSync {
    /// Connects to `url` and migrates the `sync` tables.
    pub async fn connect(url: &str) -> Result<Self, SyncStoreError> {
        let options: PgConnectOptions = url
            .parse()
            .map_err(|e| backend(format!("invalid PostgreSQL URL: {e}")))?;
        Self::connect_with(options).await
    }

    /// Like [`PostgresSync::connect`] with explicit options (e.g. a `search_path`).
    pub async fn connect_with(options: PgConnectOptions) -> Result<Self, SyncStoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await
            .map_err(|e| backend(format!("cannot connect to PostgreSQL: {e}")))?;
        migrate::postgres(&pool, &MIGRATIONS)
            .await
            .map_err(backend)?;
        Ok(PostgresSync { pool })
    }

    /// The connection pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

fn job_from_row(row: &PgRow) -> Result<JobRecord, SyncStoreError> {
    JobColumns {
        id: row.try_get(0).map_err(db)?,
        service_principal_id: row.try_get(1).map_err(db)?,
        template_id: row.try_get(2).map_err(db)?,
        job: row.try_get(3).map_err(db)?,
        schema: row.try_get(4).map_err(db)?,
        version: row.try_get(5).map_err(db)?,
        created: row.try_get(6).map_err(db)?,
    }
    .decode()
}

fn link_from_row(row: &PgRow) -> Result<Link, SyncStoreError> {
    LinkColumns {
        job_id: row.try_get(0).map_err(db)?,
        object_type: row.try_get(1).map_err(db)?,
        source_id: row.try_get(2).map_err(db)?,
        target_id: row.try_get(3).map_err(db)?,
        display_name: row.try_get(4).map_err(db)?,
        origin: row.try_get(5).map_err(db)?,
        made: row.try_get(6).map_err(db)?,
        shadow: row.try_get(7).map_err(db)?,
        stale: row.try_get(8).map_err(db)?,
    }
    .decode()
}

fn log_from_row(row: &PgRow) -> Result<LogRow, SyncStoreError> {
    LogColumns {
        id: row.try_get(0).map_err(db)?,
        job_id: row.try_get(1).map_err(db)?,
        cycle_id: row.try_get(2).map_err(db)?,
        activity: row.try_get(3).map_err(db)?,
        action: row.try_get(4).map_err(db)?,
        status: row.try_get(5).map_err(db)?,
        source_id: row.try_get(6).map_err(db)?,
        target_id: row.try_get(7).map_err(db)?,
        summary: row.try_get(8).map_err(db)?,
    }
    .decode()
}

/// Runs a list query built by [`links_sql`] or [`logs_sql`].
async fn list<T>(
    pool: &PgPool,
    sql: &str,
    args: Vec<Arg>,
    decode: fn(&PgRow) -> Result<T, SyncStoreError>,
) -> Result<Vec<T>, SyncStoreError> {
    let mut q = sqlx::query(sql);
    for arg in args {
        q = match arg {
            Arg::Text(s) => q.bind(s),
            Arg::Int(i) => q.bind(i),
        };
    }
    q.fetch_all(pool)
        .await
        .map_err(db)?
        .iter()
        .map(decode)
        .collect()
}

/// Fails with `Fenced` unless `fence` is the one the job's lease was last given; holds the
/// lease row (shared) until the caller's transaction ends, so the lease cannot change
/// hands before the write it guards commits.
async fn check_fence(
    conn: &mut PgConnection,
    job: &str,
    fence: Fence,
) -> Result<(), SyncStoreError> {
    let current: Option<i64> =
        sqlx::query_scalar("SELECT fence FROM sync_leases WHERE job_id = $1 FOR SHARE")
            .bind(job)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
    // Fence 0 is a lease row's before any worker acquired it: no writer carries it.
    match current {
        Some(current) if current == fence.0 && current > 0 => Ok(()),
        _ => Err(SyncStoreError::Fenced(job.to_string())),
    }
}

/// The source object of `job` and `object_type` that holds `target_id`, other than
/// `source_id`.
async fn target_holder(
    conn: &mut PgConnection,
    c: &LinkColumns,
) -> Result<Option<SyncStoreError>, SyncStoreError> {
    let holder: Option<String> = sqlx::query_scalar(
        "SELECT source_id FROM sync_links \
         WHERE job_id = $1 AND target_id = $2 AND object_type = $3 AND source_id <> $4",
    )
    .bind(&c.job_id)
    .bind(&c.target_id)
    .bind(&c.object_type)
    .bind(&c.source_id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db)?;
    holder
        .map(|h| {
            Ok(SyncStoreError::TargetTaken {
                target_id: c.target_id.clone(),
                source_id: parse_uuid("source id", &h)?,
            })
        })
        .transpose()
}

#[async_trait]
impl JobStore for PostgresSync {
    async fn create_job(&self, mut job: JobRecord) -> Result<JobRecord, SyncStoreError> {
        job.version = 1;
        let c = JobColumns::encode(&job)?;
        let mut tx = self.pool.begin().await.map_err(db)?;
        let inserted = sqlx::query(&format!(
            "INSERT INTO sync_jobs ({JOB_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        ))
        .bind(&c.id)
        .bind(&c.service_principal_id)
        .bind(&c.template_id)
        .bind(&c.job)
        .bind(&c.schema)
        .bind(c.version)
        .bind(&c.created)
        .execute(&mut *tx)
        .await;
        match inserted {
            Err(e) if unique_violation(&e) => return Err(SyncStoreError::JobExists(c.id)),
            other => other.map_err(db)?,
        };
        sqlx::query(
            "INSERT INTO sync_leases (job_id, worker, until, fence) VALUES ($1, '', '', 0)",
        )
        .bind(&c.id)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(job)
    }

    async fn job(&self, id: &str) -> Result<Option<JobRecord>, SyncStoreError> {
        sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM sync_jobs WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?
        .as_ref()
        .map(job_from_row)
        .transpose()
    }

    async fn jobs(&self, service_principal: Uuid) -> Result<Vec<JobRecord>, SyncStoreError> {
        sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM sync_jobs WHERE service_principal_id = $1 ORDER BY id"
        ))
        .bind(service_principal.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(db)?
        .iter()
        .map(job_from_row)
        .collect()
    }

    async fn all_jobs(&self) -> Result<Vec<JobRecord>, SyncStoreError> {
        sqlx::query(&format!("SELECT {JOB_COLUMNS} FROM sync_jobs ORDER BY id"))
            .fetch_all(&self.pool)
            .await
            .map_err(db)?
            .iter()
            .map(job_from_row)
            .collect()
    }

    async fn update_job(
        &self,
        id: &str,
        expected: i64,
        job: Value,
        schema: Value,
        fence: Option<Fence>,
    ) -> Result<JobRecord, SyncStoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        if let Some(fence) = fence {
            check_fence(&mut tx, id, fence).await?;
        }
        let updated = sqlx::query(&format!(
            "UPDATE sync_jobs SET job = $1, schema = $2, version = version + 1 \
             WHERE id = $3 AND version = $4 RETURNING {JOB_COLUMNS}"
        ))
        .bind(to_json(&job)?)
        .bind(to_json(&schema)?)
        .bind(id)
        .bind(expected)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        if let Some(row) = updated {
            let record = job_from_row(&row)?;
            tx.commit().await.map_err(db)?;
            return Ok(record);
        }
        let current: Option<i64> =
            sqlx::query_scalar("SELECT version FROM sync_jobs WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
        Err(match current {
            Some(current) => SyncStoreError::VersionConflict {
                job: id.to_string(),
                current,
            },
            None => SyncStoreError::JobNotFound(id.to_string()),
        })
    }

    async fn delete_job(&self, id: &str) -> Result<bool, SyncStoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let deleted = sqlx::query("DELETE FROM sync_jobs WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected();
        if deleted == 0 {
            return Ok(false);
        }
        for table in ["sync_links", "sync_watermarks", "sync_logs", "sync_leases"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE job_id = $1"))
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(true)
    }

    async fn secrets(&self, service_principal: Uuid) -> Result<Option<Vec<u8>>, SyncStoreError> {
        sqlx::query_scalar("SELECT sealed FROM sync_secrets WHERE service_principal_id = $1")
            .bind(service_principal.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db)
    }

    async fn put_secrets(
        &self,
        service_principal: Uuid,
        sealed: Vec<u8>,
    ) -> Result<(), SyncStoreError> {
        sqlx::query(
            "INSERT INTO sync_secrets (service_principal_id, sealed) VALUES ($1, $2) \
             ON CONFLICT (service_principal_id) DO UPDATE SET sealed = excluded.sealed",
        )
        .bind(service_principal.to_string())
        .bind(sealed)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }
}

#[async_trait]
impl LinkStore for PostgresSync {
    async fn link(
        &self,
        job: &str,
        object_type: &str,
        source_id: Uuid,
    ) -> Result<Option<Link>, SyncStoreError> {
        sqlx::query(&format!(
            "SELECT {LINK_COLUMNS} FROM sync_links \
             WHERE job_id = $1 AND object_type = $2 AND source_id = $3"
        ))
        .bind(job)
        .bind(object_type)
        .bind(source_id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?
        .as_ref()
        .map(link_from_row)
        .transpose()
    }

    async fn link_by_target(
        &self,
        job: &str,
        target_id: &str,
    ) -> Result<Option<Link>, SyncStoreError> {
        sqlx::query(&format!(
            "SELECT {LINK_COLUMNS} FROM sync_links WHERE job_id = $1 AND target_id = $2 \
             ORDER BY object_type LIMIT 1"
        ))
        .bind(job)
        .bind(target_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?
        .as_ref()
        .map(link_from_row)
        .transpose()
    }

    async fn links(&self, job: &str, query: &LinkQuery) -> Result<Vec<Link>, SyncStoreError> {
        let (sql, args) = links_sql(job, query, Placeholder::Dollar);
        list(&self.pool, &sql, args, link_from_row).await
    }

    async fn put_link(&self, fence: Fence, link: Link) -> Result<(), SyncStoreError> {
        self.put_links(fence, vec![link]).await
    }

    async fn put_links(&self, fence: Fence, links: Vec<Link>) -> Result<(), SyncStoreError> {
        let columns = links
            .iter()
            .map(LinkColumns::encode)
            .collect::<Result<Vec<_>, _>>()?;
        if columns.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await.map_err(db)?;
        let mut fenced: Vec<&str> = Vec::new();
        for c in &columns {
            if !fenced.contains(&c.job_id.as_str()) {
                check_fence(&mut tx, &c.job_id, fence).await?;
                fenced.push(&c.job_id);
            }
            if let Some(taken) = target_holder(&mut tx, c).await? {
                return Err(taken);
            }
            let written = sqlx::query(&format!(
                "INSERT INTO sync_links ({LINK_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 {LINK_UPSERT}"
            ))
            .bind(&c.job_id)
            .bind(&c.object_type)
            .bind(&c.source_id)
            .bind(&c.target_id)
            .bind(&c.display_name)
            .bind(&c.origin)
            .bind(&c.made)
            .bind(&c.shadow)
            .bind(&c.stale)
            .execute(&mut *tx)
            .await;
            match written {
                // Two writers racing for one target: the second meets the unique index;
                // name the source that won.
                Err(e) if unique_violation(&e) => {
                    tx.rollback().await.map_err(db)?;
                    let mut conn = self.pool.acquire().await.map_err(db)?;
                    return Err(target_holder(&mut conn, c)
                        .await?
                        .unwrap_or_else(|| backend(e)));
                }
                Err(e) => return Err(db(e)),
                Ok(_) => {}
            }
        }
        tx.commit().await.map_err(db)
    }

    async fn delete_link(
        &self,
        job: &str,
        object_type: &str,
        source_id: Uuid,
    ) -> Result<bool, SyncStoreError> {
        let n = sqlx::query(
            "DELETE FROM sync_links WHERE job_id = $1 AND object_type = $2 AND source_id = $3",
        )
        .bind(job)
        .bind(object_type)
        .bind(source_id.to_string())
        .execute(&self.pool)
        .await
        .map_err(db)?
        .rows_affected();
        Ok(n > 0)
    }

    async fn clear_links(&self, fence: Fence, job: &str) -> Result<u64, SyncStoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        check_fence(&mut tx, job, fence).await?;
        let cleared = sqlx::query("DELETE FROM sync_links WHERE job_id = $1")
            .bind(job)
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected();
        tx.commit().await.map_err(db)?;
        Ok(cleared)
    }

    async fn watermark(&self, job: &str) -> Result<Option<i64>, SyncStoreError> {
        sqlx::query_scalar("SELECT watermark FROM sync_watermarks WHERE job_id = $1")
            .bind(job)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)
    }

    async fn set_watermark(
        &self,
        fence: Fence,
        job: &str,
        watermark: Option<i64>,
    ) -> Result<(), SyncStoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        check_fence(&mut tx, job, fence).await?;
        match watermark {
            Some(w) => sqlx::query(
                "INSERT INTO sync_watermarks (job_id, watermark) VALUES ($1, $2) \
                 ON CONFLICT (job_id) DO UPDATE SET watermark = excluded.watermark",
            )
            .bind(job)
            .bind(w),
            None => sqlx::query("DELETE FROM sync_watermarks WHERE job_id = $1").bind(job),
        }
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)
    }
}

#[async_trait]
impl LogStore for PostgresSync {
    async fn append_logs(&self, rows: Vec<NewLogRow>) -> Result<(), SyncStoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let rows: Vec<LogColumns> = rows.into_iter().map(LogColumns::encode).collect();
        let mut tx = self.pool.begin().await.map_err(db)?;
        for chunk in rows.chunks(CHUNK) {
            let column = |f: fn(&LogColumns) -> &String| -> Vec<&str> {
                chunk.iter().map(|r| f(r).as_str()).collect()
            };
            let optional = |f: fn(&LogColumns) -> &Option<String>| -> Vec<Option<&str>> {
                chunk.iter().map(|r| f(r).as_deref()).collect()
            };
            // A row appended again (a retried batch) is kept once.
            sqlx::query(&format!(
                "INSERT INTO sync_logs ({LOG_COLUMNS}) \
                 SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], \
                 $5::text[], $6::text[], $7::text[], $8::text[], $9::text[]) \
                 ON CONFLICT (id) DO NOTHING"
            ))
            .bind(column(|r| &r.id))
            .bind(column(|r| &r.job_id))
            .bind(column(|r| &r.cycle_id))
            .bind(column(|r| &r.activity))
            .bind(column(|r| &r.action))
            .bind(column(|r| &r.status))
            .bind(optional(|r| &r.source_id))
            .bind(optional(|r| &r.target_id))
            .bind(column(|r| &r.summary))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        tx.commit().await.map_err(db)
    }

    async fn logs(&self, query: &LogQuery) -> Result<Vec<LogRow>, SyncStoreError> {
        let (sql, args) = logs_sql(query, Placeholder::Dollar);
        list(&self.pool, &sql, args, log_from_row).await
    }

    async fn purge_logs_before(&self, before: &str) -> Result<u64, SyncStoreError> {
        Ok(sqlx::query("DELETE FROM sync_logs WHERE activity < $1")
            .bind(before)
            .execute(&self.pool)
            .await
            .map_err(db)?
            .rows_affected())
    }
}

#[async_trait]
impl LeaseStore for PostgresSync {
    async fn acquire_lease(
        &self,
        job: &str,
        worker: &str,
        now: &str,
        until: &str,
    ) -> Result<Option<Fence>, SyncStoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let lease: Option<(String, String, i64)> = sqlx::query_as(
            "SELECT worker, until, fence FROM sync_leases WHERE job_id = $1 \
             FOR UPDATE SKIP LOCKED",
        )
        .bind(job)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        let Some((holder, held_until, fence)) = lease else {
            // No row: either the job does not exist or its lease row is busy.
            let exists: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM sync_jobs WHERE id = $1)")
                    .bind(job)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db)?;
            return if exists {
                Ok(None)
            } else {
                Err(SyncStoreError::JobNotFound(job.to_string()))
            };
        };
        let live = held_until.as_str() > now;
        if live && holder != worker {
            return Ok(None);
        }
        // The same holder keeps its fence; a change of hands draws a new one.
        let fence: i64 = if live {
            fence
        } else {
            sqlx::query_scalar("SELECT nextval('sync_fence')")
                .fetch_one(&mut *tx)
                .await
                .map_err(db)?
        };
        sqlx::query("UPDATE sync_leases SET worker = $2, until = $3, fence = $4 WHERE job_id = $1")
            .bind(job)
            .bind(worker)
            .bind(until)
            .bind(fence)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(Some(Fence(fence)))
    }

    async fn renew_lease(
        &self,
        job: &str,
        worker: &str,
        fence: Fence,
        until: &str,
    ) -> Result<bool, SyncStoreError> {
        let n = sqlx::query(
            "UPDATE sync_leases SET until = $4 \
             WHERE job_id = $1 AND worker = $2 AND fence = $3 AND fence > 0",
        )
        .bind(job)
        .bind(worker)
        .bind(fence.0)
        .bind(until)
        .execute(&self.pool)
        .await
        .map_err(db)?
        .rows_affected();
        Ok(n > 0)
    }

    async fn release_lease(&self, job: &str, fence: Fence) -> Result<(), SyncStoreError> {
        sqlx::query("UPDATE sync_leases SET until = '' WHERE job_id = $1 AND fence = $2")
            .bind(job)
            .bind(fence.0)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use provisio_db::postgres::testing::TestSchema;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn conformance() {
        let Some(schema) = TestSchema::create("provisio_sync_test").await else {
            return;
        };
        let scoped = schema.options();
        // Two processes starting together: migrations are serialised.
        let (a, b) = tokio::join!(
            super::PostgresSync::connect_with(scoped.clone()),
            super::PostgresSync::connect_with(scoped)
        );
        let store = a.expect("connect");
        b.expect("connect concurrently").pool().close().await;

        provisio_engine::state::conformance::run(Arc::new(store.clone())).await;

        store.pool().close().await;
        schema.drop().await;
    }
}
