//! Storage plumbing shared by provisio's stores, and nothing about what they store:
//!
//! - [`sqlite`]: a database file with one writer thread that commits queued writes in groups,
//!   a pool of read connections and a thread that checkpoints the WAL;
//! - [`migrate`]: one migration runner for SQLite and PostgreSQL, versions kept per
//!   component in `provisio_migrations`;
//! - `postgres::testing` (feature `testing`): a throw-away schema per test.
//!
//! Functions that run a caller's closure are generic over the caller's error type
//! (`E: From<DbError>`), so that each store keeps its own error enum.

pub mod migrate;
pub mod postgres;
pub mod sqlite;

/// What went wrong in the plumbing itself (not in a caller's closure).
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("{context}: {source}")]
    Sqlite {
        context: String,
        source: rusqlite::Error,
    },
    #[error("{context}: {source}")]
    Postgres {
        context: String,
        source: sqlx::Error,
    },
    #[error("{component} migration {version} failed: {message}")]
    Migration {
        component: &'static str,
        version: i64,
        message: String,
    },
    /// The database is newer than this program (a later version migrated it).
    #[error("the {component} schema is at version {found}; this provisio knows up to {known}")]
    TooNew {
        component: &'static str,
        found: i64,
        known: i64,
    },
    #[error("{0}")]
    Unavailable(String),
}

impl DbError {
    pub(crate) fn sqlite(context: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> Self {
        let context = context.into();
        move |source| DbError::Sqlite { context, source }
    }

    pub(crate) fn postgres(context: impl Into<String>) -> impl FnOnce(sqlx::Error) -> Self {
        let context = context.into();
        move |source| DbError::Postgres { context, source }
    }
}
