//! One migration runner for both backends. Each component (`directory`, `scim`) is an
//! ordered list of SQL scripts, script `i` being version `i + 1`; the versions applied are
//! rows of `provisio_migrations (component, version, applied_at)`, so that components
//! sharing a database (PostgreSQL) or not (SQLite, a file each) are tracked alike.
//!
//! Databases written before this table existed are adopted at version 1, from what the
//! earlier runners left (see [`Legacy`]).

use rusqlite::{Connection, OptionalExtension};
use sqlx::PgPool;

use crate::DbError;

/// The migrations of one component on one backend.
#[derive(Debug)]
pub struct Migrations {
    pub component: &'static str,
    /// Script `i` brings the schema to version `i + 1`.
    pub steps: &'static [&'static str],
    /// How to recognise a database migrated to version 1 by the runner before this one.
    pub legacy: Legacy,
}

/// What an earlier runner left in a database it had brought to version 1.
#[derive(Debug)]
pub enum Legacy {
    /// Nothing to recognise: a database without `provisio_migrations` rows is new.
    None,
    /// SQLite: `PRAGMA user_version` is 1 or more.
    UserVersion,
    /// PostgreSQL: table `table` (looked up on the search path) has a row matching
    /// `condition`.
    Table {
        table: &'static str,
        condition: &'static str,
    },
}

impl Migrations {
    fn latest(&self) -> i64 {
        i64::try_from(self.steps.len()).unwrap_or(i64::MAX)
    }

    /// The scripts after `current`, with their versions.
    fn pending(&self, current: i64) -> impl Iterator<Item = (i64, &'static str)> + '_ {
        (1_i64..)
            .zip(self.steps.iter().copied())
            .filter(move |(version, _)| *version > current)
    }

    fn too_new(&self, current: i64) -> Result<(), DbError> {
        if current > self.latest() {
            return Err(DbError::TooNew {
                component: self.component,
                found: current,
                known: self.latest(),
            });
        }
        Ok(())
    }
}

const SQLITE_TABLE: &str = "CREATE TABLE IF NOT EXISTS provisio_migrations (\
     component TEXT NOT NULL, version INTEGER NOT NULL, applied_at TEXT NOT NULL, \
     PRIMARY KEY (component, version))";
const SQLITE_NOW: &str = "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')";

/// Brings the SQLite database of `conn` to the latest version of `m`, under `BEGIN
/// IMMEDIATE` so that two processes opening a new database migrate one after the other.
pub fn sqlite(conn: &Connection, m: &Migrations) -> Result<(), DbError> {
    let failed = |context: &str| DbError::sqlite(format!("migrating {}: {context}", m.component));
    conn.execute_batch("BEGIN IMMEDIATE")
        .map_err(failed("BEGIN"))?;
    let result = (|| -> Result<(), DbError> {
        conn.execute_batch(SQLITE_TABLE)
            .map_err(failed("provisio_migrations"))?;
        let recorded: Option<i64> = conn
            .query_row(
                "SELECT MAX(version) FROM provisio_migrations WHERE component = ?1",
                [m.component],
                |r| r.get(0),
            )
            .optional()
            .map_err(failed("reading the version"))?
            .flatten();
        let current = match recorded {
            Some(version) => version,
            None => {
                let adopted = match m.legacy {
                    Legacy::UserVersion => {
                        let user_version: i64 = conn
                            .query_row("PRAGMA user_version", [], |r| r.get(0))
                            .map_err(failed("user_version"))?;
                        user_version >= 1
                    }
                    Legacy::None | Legacy::Table { .. } => false,
                };
                if adopted {
                    record_sqlite(conn, m, 1)?;
                    1
                } else {
                    0
                }
            }
        };
        m.too_new(current)?;
        for (version, sql) in m.pending(current) {
            conn.execute_batch(sql).map_err(|e| DbError::Migration {
                component: m.component,
                version,
                message: e.to_string(),
            })?;
            record_sqlite(conn, m, version)?;
        }
        // Kept up to date for earlier provisio binaries, which read only this: at 1 or more
        // they do not create their tables again beside the renamed ones, and fail loudly.
        conn.execute_batch(&format!("PRAGMA user_version = {}", m.latest()))
            .map_err(failed("user_version"))?;
        Ok(())
    })();
    match result {
        Ok(()) => conn.execute_batch("COMMIT").map_err(failed("COMMIT")),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

fn record_sqlite(conn: &Connection, m: &Migrations, version: i64) -> Result<(), DbError> {
    conn.execute(
        &format!(
            "INSERT INTO provisio_migrations (component, version, applied_at) \
             VALUES (?1, ?2, {SQLITE_NOW})"
        ),
        rusqlite::params![m.component, version],
    )
    .map(|_| ())
    .map_err(DbError::sqlite(format!(
        "migrating {}: recording version {version}",
        m.component
    )))
}

/// Advisory lock key serialising every component's migrations ("provisio" in ASCII): they
/// share `provisio_migrations`, whose concurrent `CREATE TABLE IF NOT EXISTS` could fail.
const POSTGRES_LOCK: i64 = 0x7072_6f76_6973_696f;
const POSTGRES_TABLE: &str = "CREATE TABLE IF NOT EXISTS provisio_migrations (\
     component TEXT NOT NULL, version BIGINT NOT NULL, applied_at TEXT NOT NULL, \
     PRIMARY KEY (component, version))";

/// Brings the PostgreSQL database (the schema first on the search path) to the latest
/// version of `m`, in one transaction holding a transaction-scoped advisory lock, so that
/// processes starting together migrate one after the other.
pub async fn postgres(pool: &PgPool, m: &Migrations) -> Result<(), DbError> {
    let failed = |context: &str| DbError::postgres(format!("migrating {}: {context}", m.component));
    let mut tx = pool.begin().await.map_err(failed("BEGIN"))?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(POSTGRES_LOCK)
        .execute(&mut *tx)
        .await
        .map_err(failed("advisory lock"))?;
    sqlx::raw_sql(POSTGRES_TABLE)
        .execute(&mut *tx)
        .await
        .map_err(failed("provisio_migrations"))?;
    let recorded: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version) FROM provisio_migrations WHERE component = $1")
            .bind(m.component)
            .fetch_one(&mut *tx)
            .await
            .map_err(failed("reading the version"))?;
    let current = match (recorded, &m.legacy) {
        (Some(version), _) => version,
        (None, Legacy::Table { table, condition }) => {
            let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
                .bind(*table)
                .fetch_one(&mut *tx)
                .await
                .map_err(failed("looking for the earlier bookkeeping"))?;
            let adopted = exists && {
                let sql = format!("SELECT EXISTS (SELECT 1 FROM {table} WHERE {condition})");
                sqlx::query_scalar::<_, bool>(&sql)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(failed("reading the earlier bookkeeping"))?
            };
            if adopted {
                record_postgres(&mut tx, m, 1).await?;
                1
            } else {
                0
            }
        }
        (None, Legacy::None | Legacy::UserVersion) => 0,
    };
    m.too_new(current)?;
    for (version, sql) in m.pending(current) {
        sqlx::raw_sql(sql)
            .execute(&mut *tx)
            .await
            .map_err(|e| DbError::Migration {
                component: m.component,
                version,
                message: e.to_string(),
            })?;
        record_postgres(&mut tx, m, version).await?;
    }
    tx.commit().await.map_err(failed("COMMIT"))
}

async fn record_postgres(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    m: &Migrations,
    version: i64,
) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO provisio_migrations (component, version, applied_at) \
         VALUES ($1, $2, to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'))",
    )
    .bind(m.component)
    .bind(version)
    .execute(&mut **tx)
    .await
    .map(|_| ())
    .map_err(DbError::postgres(format!(
        "migrating {}: recording version {version}",
        m.component
    )))
}
