//! The engine's state ([`provisio_engine::state::SyncStore`]) on both backends: [`SqliteSync`]
//! in `sync.db`, a file of its own, and [`PostgresSync`] in the directory's database. Both
//! keep the same tables (`sync_*`, the `sync` component's migrations), store JSON as the
//! text the engine wrote and ids as text, and check a write's fence in the transaction of
//! the write. What they share is here: the columns, their encoding, and the list queries.

use std::fmt::Display;

use provisio_engine::state::{
    JobRecord, Link, LinkQuery, LogQuery, LogRow, NewLogRow, SyncStoreError,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;

mod postgres;
mod sqlite;

pub use postgres::PostgresSync;
pub use sqlite::SqliteSync;

pub(crate) fn backend(e: impl Display) -> SyncStoreError {
    SyncStoreError::Backend(e.to_string())
}

fn to_json<T: Serialize>(value: &T) -> Result<String, SyncStoreError> {
    serde_json::to_string(value).map_err(backend)
}

fn from_json<T: DeserializeOwned>(what: &str, text: &str) -> Result<T, SyncStoreError> {
    serde_json::from_str(text).map_err(|e| backend(format!("stored {what} is not valid: {e}")))
}

fn parse_uuid(what: &str, text: &str) -> Result<Uuid, SyncStoreError> {
    Uuid::try_parse(text).map_err(|e| backend(format!("stored {what} {text:?}: {e}")))
}

/// Rows asked for by a `usize` limit, as SQL's `LIMIT` takes it.
fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(crate) const JOB_COLUMNS: &str =
    "id, service_principal_id, template_id, job, schema, version, created";

/// A job as stored, in [`JOB_COLUMNS`] order.
pub(crate) struct JobColumns {
    pub id: String,
    pub service_principal_id: String,
    pub template_id: String,
    pub job: String,
    pub schema: String,
    pub version: i64,
    pub created: String,
}

impl JobColumns {
    fn encode(job: &JobRecord) -> Result<Self, SyncStoreError> {
        Ok(JobColumns {
            id: job.id.clone(),
            service_principal_id: job.service_principal_id.to_string(),
            template_id: job.template_id.clone(),
            job: to_json(&job.job)?,
            schema: to_json(&job.schema)?,
            version: job.version,
            created: job.created.clone(),
        })
    }

    fn decode(self) -> Result<JobRecord, SyncStoreError> {
        Ok(JobRecord {
            service_principal_id: parse_uuid("service principal id", &self.service_principal_id)?,
            job: from_json("job", &self.job)?,
            schema: from_json("schema", &self.schema)?,
            id: self.id,
            template_id: self.template_id,
            version: self.version,
            created: self.created,
        })
    }
}

pub(crate) const LINK_COLUMNS: &str =
    "job_id, object_type, source_id, target_id, display_name, origin, made, shadow, stale";

/// What an insert of a link (values in [`LINK_COLUMNS`] order) does when the source already
/// has one: the same on both backends.
pub(crate) const LINK_UPSERT: &str = "ON CONFLICT (job_id, object_type, source_id) DO UPDATE SET \
     target_id = excluded.target_id, display_name = excluded.display_name, \
     origin = excluded.origin, made = excluded.made, shadow = excluded.shadow, \
     stale = excluded.stale";

/// A link as stored, in [`LINK_COLUMNS`] order.
pub(crate) struct LinkColumns {
    pub job_id: String,
    pub object_type: String,
    pub source_id: String,
    pub target_id: String,
    pub display_name: Option<String>,
    pub origin: String,
    pub made: String,
    pub shadow: Option<String>,
    pub stale: Option<String>,
}

impl LinkColumns {
    fn encode(link: &Link) -> Result<Self, SyncStoreError> {
        Ok(LinkColumns {
            job_id: link.job_id.clone(),
            object_type: link.object_type.clone(),
            source_id: link.source_id.to_string(),
            target_id: link.target_id.clone(),
            display_name: link.display_name.clone(),
            origin: to_json(&link.origin)?,
            made: link.made.clone(),
            shadow: link.shadow.as_ref().map(to_json).transpose()?,
            stale: link.stale.as_ref().map(to_json).transpose()?,
        })
    }

    fn decode(self) -> Result<Link, SyncStoreError> {
        Ok(Link {
            source_id: parse_uuid("source id", &self.source_id)?,
            origin: from_json("link origin", &self.origin)?,
            shadow: self
                .shadow
                .as_deref()
                .map(|s| from_json("shadow", s))
                .transpose()?,
            stale: self
                .stale
                .as_deref()
                .map(|s| from_json("staleness", s))
                .transpose()?,
            job_id: self.job_id,
            object_type: self.object_type,
            target_id: self.target_id,
            display_name: self.display_name,
            made: self.made,
        })
    }
}

pub(crate) const LOG_COLUMNS: &str =
    "id, job_id, cycle_id, activity, action, status, source_id, target_id, summary";

/// A log row as stored, in [`LOG_COLUMNS`] order.
pub(crate) struct LogColumns {
    pub id: String,
    pub job_id: String,
    pub cycle_id: String,
    pub activity: String,
    pub action: String,
    pub status: String,
    pub source_id: Option<String>,
    pub target_id: Option<String>,
    pub summary: String,
}

impl LogColumns {
    fn encode(row: NewLogRow) -> Self {
        LogColumns {
            id: row.id.to_string(),
            job_id: row.job_id,
            cycle_id: row.cycle_id.to_string(),
            activity: row.activity,
            action: row.action,
            status: row.status,
            source_id: row.source_id,
            target_id: row.target_id,
            summary: row.summary.into_string(),
        }
    }

    fn decode(self) -> Result<LogRow, SyncStoreError> {
        Ok(LogRow {
            id: parse_uuid("log row id", &self.id)?,
            cycle_id: parse_uuid("cycle id", &self.cycle_id)?,
            summary: from_json("log summary", &self.summary)?,
            job_id: self.job_id,
            activity: self.activity,
            action: self.action,
            status: self.status,
            source_id: self.source_id,
            target_id: self.target_id,
        })
    }
}

/// A bound parameter of a list query.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    Text(String),
    Int(i64),
}

/// Numbered placeholders: `?1` (SQLite) or `$1` (PostgreSQL).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Placeholder {
    Question,
    Dollar,
}

/// Builds a `WHERE` clause one condition at a time, numbering the parameters.
struct Conditions {
    style: Placeholder,
    sql: Vec<String>,
    args: Vec<Arg>,
}

impl Conditions {
    fn new(style: Placeholder) -> Self {
        Conditions {
            style,
            sql: Vec::new(),
            args: Vec::new(),
        }
    }

    /// The placeholder of a new parameter `arg`.
    fn bind(&mut self, arg: Arg) -> String {
        self.args.push(arg);
        let n = self.args.len();
        match self.style {
            Placeholder::Question => format!("?{n}"),
            Placeholder::Dollar => format!("${n}"),
        }
    }

    /// `column = <arg>` when `value` is given.
    fn equal(&mut self, column: &str, value: Option<String>) {
        if let Some(value) = value {
            let p = self.bind(Arg::Text(value));
            self.sql.push(format!("{column} = {p}"));
        }
    }

    fn raw(&mut self, condition: String) {
        self.sql.push(condition);
    }

    fn finish(mut self, select: &str, order: &str, limit: usize) -> (String, Vec<Arg>) {
        let where_clause = if self.sql.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.sql.join(" AND "))
        };
        let p = self.bind(Arg::Int(self::limit(limit)));
        (
            format!("{select}{where_clause} ORDER BY {order} LIMIT {p}"),
            self.args,
        )
    }
}

/// A page of a job's links in source id order: only the conditions asked for, so that
/// the planner picks the index that answers them (the primary key for one object type,
/// `sync_links_stale` for stale links, `sync_links_by_source` otherwise).
pub(crate) fn links_sql(job: &str, query: &LinkQuery, style: Placeholder) -> (String, Vec<Arg>) {
    let mut c = Conditions::new(style);
    c.equal("job_id", Some(job.to_string()));
    c.equal("object_type", query.object_type.clone());
    match query.stale {
        Some(true) => c.raw("stale IS NOT NULL".to_string()),
        Some(false) => c.raw("stale IS NULL".to_string()),
        None => {}
    }
    if let Some(after) = query.after {
        let p = c.bind(Arg::Text(after.to_string()));
        c.raw(format!("source_id > {p}"));
    }
    c.finish(
        &format!("SELECT {LINK_COLUMNS} FROM sync_links"),
        "source_id, object_type",
        query.limit,
    )
}

/// A page of log rows, oldest first, with only the conditions asked for.
pub(crate) fn logs_sql(query: &LogQuery, style: Placeholder) -> (String, Vec<Arg>) {
    let mut c = Conditions::new(style);
    c.equal("job_id", query.job_id.clone());
    c.equal("cycle_id", query.cycle_id.map(|id| id.to_string()));
    c.equal("action", query.action.clone());
    c.equal("status", query.status.clone());
    c.equal("source_id", query.source_id.clone());
    c.equal("target_id", query.target_id.clone());
    if let Some(from) = &query.from {
        let p = c.bind(Arg::Text(from.clone()));
        c.raw(format!("activity >= {p}"));
    }
    if let Some(to) = &query.to {
        let p = c.bind(Arg::Text(to.clone()));
        c.raw(format!("activity < {p}"));
    }
    if let Some((activity, id)) = &query.after {
        let a = c.bind(Arg::Text(activity.clone()));
        let i = c.bind(Arg::Text(id.to_string()));
        c.raw(format!("(activity, id) > ({a}, {i})"));
    }
    c.finish(
        &format!("SELECT {LOG_COLUMNS} FROM sync_logs"),
        "activity, id",
        query.limit,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_queries_carry_only_the_conditions_asked_for() {
        let after = Uuid::nil();
        let cases = [
            (
                LinkQuery {
                    limit: 5,
                    ..LinkQuery::default()
                },
                Placeholder::Question,
                " WHERE job_id = ?1 ORDER BY source_id, object_type LIMIT ?2",
                vec![Arg::Text("j".into()), Arg::Int(5)],
            ),
            (
                LinkQuery {
                    object_type: Some("User".into()),
                    stale: Some(false),
                    after: Some(after),
                    limit: 2,
                },
                Placeholder::Dollar,
                " WHERE job_id = $1 AND object_type = $2 AND stale IS NULL AND source_id > $3 \
                 ORDER BY source_id, object_type LIMIT $4",
                vec![
                    Arg::Text("j".into()),
                    Arg::Text("User".into()),
                    Arg::Text(after.to_string()),
                    Arg::Int(2),
                ],
            ),
        ];
        for (query, style, tail, args) in cases {
            let (sql, got) = links_sql("j", &query, style);
            assert!(sql.ends_with(tail), "{sql}");
            assert_eq!(got, args);
        }
    }
}
