//! SQLite backend over rusqlite: one file `DIR/scim.db` in WAL mode, opened with the
//! `provisio_db::sqlite` kit: writes group-committed by one writer thread, each in a
//! savepoint of its own; reads on a small pool of `query_only` connections, each store call
//! as one blocking task.
//!
//! `members` and `groups` come with the resources, as a JSON array built by a correlated
//! subquery of the same statement.

use std::panic::{self, AssertUnwindSafe};
use std::path::Path;

use async_trait::async_trait;
use provisio_db::migrate::{Legacy, Migrations};
use provisio_db::sqlite::{Sqlite, SqliteOptions};
use provisio_db::DbError;
use rusqlite::{Connection, OptionalExtension, Row, Statement};
use serde_json::Value;

use super::{
    attach_ref_json, carry_groups, check_version, clamp_i64, distinct, ids_equal_ignoring_case,
    now_timestamp, parse_data, prepare, same_emails, where_clause, IndexedFilter, MemberChange,
    MemberRef, Prepared, ReadOptions, ResourceKind, ResourceStore, SqlArgs, StoreError,
    StoredResource, UpdateError, UpdateFn, UpdateOutcome, RESOURCE_COLUMNS,
};

static MIGRATIONS: Migrations = Migrations {
    component: "scim",
    steps: &[
        include_str!("../../migrations/sqlite/0001_resources.sql"),
        include_str!("../../migrations/sqlite/0002_scim_prefix.sql"),
        include_str!("../../migrations/sqlite/0003_member_type.sql"),
    ],
    legacy: Legacy::UserVersion,
};

fn options() -> SqliteOptions {
    SqliteOptions {
        name: "scim",
        readers: 4,
        reader_cache_kib: 16 * 1024,
        writer_cache_kib: 16 * 1024,
        page_size: None,
        foreign_keys: true,
        // Filters vary the SQL.
        statement_cache: 128,
        batch_max: 256,
        wal_restart_bytes: provisio_db::sqlite::WAL_RESTART_BYTES,
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        if let rusqlite::Error::SqliteFailure(err, msg) = &e {
            if err.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                && msg.as_deref().is_some_and(|m| m.contains("user_name"))
            {
                return StoreError::Uniqueness("userName".to_string());
            }
        }
        StoreError::Backend(e.to_string())
    }
}

impl From<rusqlite::types::FromSqlError> for StoreError {
    fn from(e: rusqlite::types::FromSqlError) -> Self {
        StoreError::Backend(format!("unexpected column value: {e}"))
    }
}

impl From<DbError> for StoreError {
    fn from(e: DbError) -> Self {
        StoreError::Backend(e.to_string())
    }
}

/// Resource store over SQLite (`DIR/scim.db`): writes group-committed by one writer thread,
/// reads on a pool (see `provisio_db::sqlite`). Cheap to clone.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    db: Sqlite,
}

/// Opens (creating if missing) `data_dir/scim.db` and runs the migrations.
pub async fn open_sqlite(data_dir: &Path) -> Result<SqliteStore, StoreError> {
    let db = Sqlite::open(&data_dir.join("scim.db"), options(), &MIGRATIONS).await?;
    Ok(SqliteStore { db })
}

impl SqliteStore {
    /// Runs `work` on the writer thread; resolves once its batch committed.
    async fn write<R, F>(&self, work: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    {
        self.db.write(work).await
    }

    /// Runs `work` on a read connection, on the blocking pool.
    pub(super) async fn read<R, F>(&self, work: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    {
        self.db.read(work).await
    }
}

// ---------------------------------------------------------------------------
// Reads.
// ---------------------------------------------------------------------------

/// `members` of group `r`, as a JSON array of `[id, kind, display]`: every
/// stored member, with the kind and display of the tenant's resource of that
/// id when it exists, else its stored type. Existing members first, in
/// creation order, then the others by id.
const MEMBERS_OF_GROUP: &str = "(SELECT json_group_array(json_array(m.member_id, \
     x.kind, x.display) ORDER BY x.seq NULLS LAST, m.member_id) \
     FROM scim_members m LEFT JOIN scim_resources x ON x.tenant = $1 AND x.id = m.member_id \
     WHERE m.group_seq = r.seq)";

/// `groups` of user `r`, as a JSON array of `[id, display]`: the tenant's
/// groups that list its id, in creation order.
const GROUPS_OF_USER: &str =
    "(SELECT json_group_array(json_array(g.id, g.display) ORDER BY g.seq) \
     FROM scim_members m JOIN scim_resources g ON g.seq = m.group_seq \
     WHERE m.member_id = r.id AND g.tenant = $1)";

/// Removes id `?1` from every group of tenant `?2`.
const REMOVE_MEMBERSHIPS: &str = "DELETE FROM scim_members WHERE member_id = ?1 \
     AND EXISTS (SELECT 1 FROM scim_resources g WHERE g.seq = scim_members.group_seq AND g.tenant = ?2)";

/// The select list of every resource read: [`RESOURCE_COLUMNS`], the total
/// (or NULL) and the attached references (or NULL).
fn select_list(kind: ResourceKind, opts: ReadOptions, total: &str) -> String {
    let refs = refs_expression(kind, opts).unwrap_or("NULL");
    format!("{RESOURCE_COLUMNS}, {total}, {refs}")
}

/// The references `opts` asks to attach to a resource `r` of `kind`, if any.
fn refs_expression(kind: ResourceKind, opts: ReadOptions) -> Option<&'static str> {
    match kind {
        ResourceKind::Group if opts.with_members => Some(MEMBERS_OF_GROUP),
        ResourceKind::User if opts.with_groups => Some(GROUPS_OF_USER),
        _ => None,
    }
}

const TOTAL_COLUMN: usize = 7;
const REFS_COLUMN: usize = 8;

fn get_sql(kind: ResourceKind, opts: ReadOptions) -> String {
    format!(
        "SELECT {} FROM scim_resources r WHERE r.tenant = $1 AND r.kind = $2 AND r.id = $3",
        select_list(kind, opts, "NULL")
    )
}

/// The page statement of `list`: with a filter, the page and the total of
/// matches (`COUNT(*) OVER ()`, over seqs only) in one statement; without
/// one, the page alone (the count is separate).
fn list_sql(
    kind: ResourceKind,
    filter: Option<&IndexedFilter>,
    opts: ReadOptions,
    args: &mut SqlArgs,
) -> (String, String) {
    let cond = where_clause(filter, args);
    let limit = args.next_placeholder(0);
    let offset = args.next_placeholder(1);
    let sql = if filter.is_some() {
        format!(
            "SELECT {} FROM (SELECT r.seq, COUNT(*) OVER () AS total FROM scim_resources r \
             WHERE {cond} ORDER BY r.seq LIMIT {limit} OFFSET {offset}) p \
             JOIN scim_resources r ON r.seq = p.seq ORDER BY r.seq",
            select_list(kind, opts, "p.total")
        )
    } else {
        format!(
            "SELECT {} FROM scim_resources r WHERE {cond} ORDER BY r.seq LIMIT {limit} OFFSET {offset}",
            select_list(kind, opts, "NULL")
        )
    };
    (sql, cond)
}

/// Binds `$1`..`$N` (the texts) and then the integers, by name: a filter
/// need not use every placeholder.
fn bind(stmt: &mut Statement<'_>, args: &SqlArgs, ints: &[i64]) -> Result<(), StoreError> {
    for (i, text) in args.texts.iter().enumerate() {
        if let Some(idx) = stmt.parameter_index(&format!("${}", i + 1))? {
            stmt.raw_bind_parameter(idx, text.as_str())?;
        }
    }
    for (i, v) in ints.iter().enumerate() {
        let name = format!("${}", args.texts.len() + 1 + i);
        if let Some(idx) = stmt.parameter_index(&name)? {
            stmt.raw_bind_parameter(idx, *v)?;
        }
    }
    Ok(())
}

/// Runs a resource statement: the resources with refs attached, and the
/// total of the first row (if the statement selects one).
fn fetch(
    conn: &Connection,
    sql: &str,
    args: &SqlArgs,
    ints: &[i64],
) -> Result<(Vec<StoredResource>, Option<i64>), StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    bind(&mut stmt, args, ints)?;
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    let mut total = None;
    while let Some(row) = rows.next()? {
        if total.is_none() {
            total = row.get::<_, Option<i64>>(TOTAL_COLUMN)?;
        }
        out.push(resource_from_row(row)?);
    }
    Ok((out, total))
}

fn resource_from_row(row: &Row<'_>) -> Result<StoredResource, StoreError> {
    let kind = ResourceKind::parse(row.get_ref(2)?.as_str()?)?;
    let mut data = parse_data(row.get_ref(3)?.as_str()?)?;
    if let Some(refs) = row.get_ref(REFS_COLUMN)?.as_str_or_null()? {
        attach_ref_json(&mut data, kind, refs)?;
    }
    Ok(StoredResource {
        seq: row.get(0)?,
        id: row.get(1)?,
        kind,
        data,
        version: row.get(4)?,
        created: row.get(5)?,
        last_modified: row.get(6)?,
    })
}

fn count_sql(cond: &str) -> String {
    format!("SELECT COUNT(*) FROM scim_resources r WHERE {cond}")
}

fn count_matches(conn: &Connection, cond: &str, args: &SqlArgs) -> Result<u64, StoreError> {
    let mut stmt = conn.prepare_cached(&count_sql(cond))?;
    bind(&mut stmt, args, &[])?;
    let mut rows = stmt.raw_query();
    let n: i64 = match rows.next()? {
        Some(row) => row.get(0)?,
        None => 0,
    };
    Ok(u64::try_from(n).unwrap_or(0))
}

fn exec(conn: &Connection, sql: &str) -> Result<(), StoreError> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

/// Runs `f` in one read transaction (one snapshot).
fn in_read_tx<R>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<R, StoreError>,
) -> Result<R, StoreError> {
    exec(conn, "BEGIN")?;
    let result = f(conn);
    // A read transaction has nothing to keep: COMMIT only ends it.
    let end = exec(conn, "COMMIT");
    if end.is_err() && !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    let r = result?;
    end?;
    Ok(r)
}

fn plan_text(
    conn: &Connection,
    sql: &str,
    args: &SqlArgs,
    ints: &[i64],
) -> Result<String, StoreError> {
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
    bind(&mut stmt, args, ints)?;
    let mut rows = stmt.raw_query();
    let mut out = String::new();
    while let Some(row) = rows.next()? {
        // Columns: id, parent, notused, detail.
        out.push_str(row.get_ref(3)?.as_str()?);
        out.push('\n');
    }
    Ok(out)
}

impl SqliteStore {
    /// `EXPLAIN QUERY PLAN` of the page statement `list` runs for `filter`;
    /// for tests that check the indexes answer the filters.
    pub async fn explain_list(
        &self,
        tenant: &str,
        kind: ResourceKind,
        filter: Option<&IndexedFilter>,
    ) -> Result<String, StoreError> {
        let mut args = SqlArgs::new(tenant, kind);
        let (sql, _) = list_sql(kind, filter, ReadOptions::ALL, &mut args);
        self.read(move |conn| plan_text(conn, &sql, &args, &[100, 0]))
            .await
    }

    /// `EXPLAIN QUERY PLAN` of reading a group with its members, a user with
    /// its groups, and of the clean-up when a resource is deleted; for tests
    /// that check they are answered from indexes.
    pub async fn explain_memberships(&self, tenant: &str) -> Result<Vec<String>, StoreError> {
        let tenant = tenant.to_string();
        self.read(move |conn| {
            let mut plans = Vec::new();
            for kind in [ResourceKind::Group, ResourceKind::User] {
                let mut args = SqlArgs::new(&tenant, kind);
                args.push("x".to_string());
                plans.push(plan_text(
                    conn,
                    &get_sql(kind, ReadOptions::ALL),
                    &args,
                    &[],
                )?);
            }
            let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {REMOVE_MEMBERSHIPS}"))?;
            let mut rows = stmt.query(rusqlite::params!["x", tenant])?;
            let mut out = String::new();
            while let Some(row) = rows.next()? {
                out.push_str(row.get_ref(3)?.as_str()?);
                out.push('\n');
            }
            plans.push(out);
            Ok(plans)
        })
        .await
    }

    /// The value of `PRAGMA name` on the write connection (`write`) or a
    /// read connection; for tests.
    pub async fn pragma(&self, name: &str, write: bool) -> Result<String, StoreError> {
        let sql = format!("PRAGMA {name}");
        let query = move |conn: &Connection| -> Result<String, StoreError> {
            Ok(conn
                .query_row(&sql, [], |r| r.get::<_, rusqlite::types::Value>(0))
                .map(|v| match v {
                    rusqlite::types::Value::Integer(i) => i.to_string(),
                    rusqlite::types::Value::Text(t) => t,
                    other => format!("{other:?}"),
                })?)
        };
        if write {
            self.write(query).await
        } else {
            self.read(query).await
        }
    }
}

// ---------------------------------------------------------------------------
// Writes (run on the writer thread).
// ---------------------------------------------------------------------------

/// Writes the email index rows of resource `seq`.
fn write_emails(conn: &Connection, tenant: &str, seq: i64, p: &Prepared) -> Result<(), StoreError> {
    if p.emails.is_empty() {
        return Ok(());
    }
    let mut stmt = conn.prepare_cached(
        "INSERT INTO scim_emails (resource_seq, tenant, value) VALUES (?1, ?2, ?3)",
    )?;
    for value in &p.emails {
        stmt.execute(rusqlite::params![seq, tenant, value])?;
    }
    Ok(())
}

/// Writes the member rows of group `seq`. Ids need not exist: a member is
/// joined to the group's tenant's resources when read.
fn write_members(conn: &Connection, seq: i64, members: &[MemberRef]) -> Result<(), StoreError> {
    if members.is_empty() {
        return Ok(());
    }
    let mut stmt =
        conn.prepare_cached("INSERT INTO scim_members (group_seq, member_id) VALUES (?1, ?2)")?;
    for m in members {
        stmt.execute(rusqlite::params![seq, m.id])?;
    }
    Ok(())
}

/// Adds, then removes the member rows of group `seq` that `change` names; returns how
/// many rows it added and removed.
fn apply_member_change(
    conn: &Connection,
    seq: i64,
    change: MemberChange,
) -> Result<usize, StoreError> {
    let mut rows = 0;
    let mut insert = conn.prepare_cached(
        "INSERT INTO scim_members (group_seq, member_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
    )?;
    let (add, mut removes, folded) = change.into_parts();
    for id in add {
        rows += insert.execute(rusqlite::params![seq, id])?;
    }
    if !folded.is_empty() {
        // Ids are kept as written, so a case-insensitive match has no index to use.
        let mut listed =
            conn.prepare_cached("SELECT member_id FROM scim_members WHERE group_seq = ?1")?;
        let listed = listed
            .query_map([seq], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        removes.extend(ids_equal_ignoring_case(
            &folded,
            listed.iter().map(String::as_str),
        ));
    }
    let mut delete =
        conn.prepare_cached("DELETE FROM scim_members WHERE group_seq = ?1 AND member_id = ?2")?;
    for id in distinct(removes) {
        rows += delete.execute(rusqlite::params![seq, id])?;
    }
    Ok(rows)
}

/// NotFound or PreconditionFailed for a conditional write that matched no row.
fn write_miss(
    conn: &Connection,
    tenant: &str,
    kind: ResourceKind,
    id: &str,
) -> Result<StoreError, StoreError> {
    let v: Option<i64> = conn
        .prepare_cached(
            "SELECT version FROM scim_resources WHERE tenant = ?1 AND kind = ?2 AND id = ?3",
        )?
        .query_row(rusqlite::params![tenant, kind.as_str(), id], |r| r.get(0))
        .optional()?;
    Ok(match v {
        Some(current_version) => StoreError::PreconditionFailed { current_version },
        None => StoreError::NotFound,
    })
}

/// Replaces resource `id` with `p` (the body of `replace`); `expected_version`
/// makes it conditional.
fn replace_row(
    conn: &Connection,
    tenant: &str,
    kind: ResourceKind,
    id: String,
    p: Prepared,
    now: String,
    expected_version: Option<i64>,
) -> Result<StoredResource, StoreError> {
    let row = conn
        .prepare_cached(
            "UPDATE scim_resources SET data = ?1, version = version + 1, last_modified = ?2, \
             user_name = ?3, external_id = ?4, display_name = ?5, display = ?6 \
             WHERE tenant = ?7 AND kind = ?8 AND id = ?9 AND (?10 IS NULL OR version = ?10) \
             RETURNING seq, version, created",
        )?
        .query_row(
            rusqlite::params![
                p.data_text,
                now,
                p.user_name,
                p.external_id,
                p.display_name,
                p.display,
                tenant,
                kind.as_str(),
                id,
                expected_version
            ],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                ))
            },
        )
        .optional()?;
    let Some((seq, version, created)) = row else {
        return Err(write_miss(conn, tenant, kind, &id)?);
    };
    if !p.emails_stored {
        conn.prepare_cached("DELETE FROM scim_emails WHERE resource_seq = ?1")?
            .execute([seq])?;
        write_emails(conn, tenant, seq, &p)?;
    }
    if let Some(members) = &p.members {
        conn.prepare_cached("DELETE FROM scim_members WHERE group_seq = ?1")?
            .execute([seq])?;
        write_members(conn, seq, members)?;
    }
    Ok(StoredResource {
        id,
        kind,
        data: p.data,
        version,
        created,
        last_modified: now,
        seq,
    })
}

impl SqliteStore {
    /// Stores a new resource under `id` (create's body; the conformance suite
    /// also uses it to create a resource whose id a group already lists).
    pub(super) async fn insert(
        &self,
        tenant: &str,
        kind: ResourceKind,
        id: String,
        data: Value,
        opts: ReadOptions,
    ) -> Result<StoredResource, StoreError> {
        let p = prepare(kind, data)?;
        let now = now_timestamp()?;
        // Only the references: the data is the one just written.
        let refs_sql = refs_expression(kind, opts)
            .map(|refs| format!("SELECT {refs} FROM scim_resources r WHERE r.seq = $3"));
        let args = SqlArgs::new(tenant, kind);
        let tenant = tenant.to_string();
        self.write(move |conn| {
            let seq: i64 = conn
                .prepare_cached(
                    "INSERT INTO scim_resources (tenant, kind, id, data, version, created, \
                     last_modified, user_name, external_id, display_name, display) \
                     VALUES (?1, ?2, ?3, ?4, 1, ?5, ?5, ?6, ?7, ?8, ?9) RETURNING seq",
                )?
                .query_row(
                    rusqlite::params![
                        tenant,
                        kind.as_str(),
                        id,
                        p.data_text,
                        now,
                        p.user_name,
                        p.external_id,
                        p.display_name,
                        p.display
                    ],
                    |r| r.get(0),
                )?;
            write_emails(conn, &tenant, seq, &p)?;
            if let Some(members) = &p.members {
                write_members(conn, seq, members)?;
            }
            let mut data = p.data;
            if let Some(sql) = &refs_sql {
                let mut stmt = conn.prepare_cached(sql)?;
                bind(&mut stmt, &args, &[seq])?;
                let mut rows = stmt.raw_query();
                if let Some(row) = rows.next()? {
                    if let Some(refs) = row.get_ref(0)?.as_str_or_null()? {
                        attach_ref_json(&mut data, kind, refs)?;
                    }
                }
            }
            Ok(StoredResource {
                id,
                kind,
                data,
                version: 1,
                created: now.clone(),
                last_modified: now,
                seq,
            })
        })
        .await
    }
}

#[async_trait]
impl ResourceStore for SqliteStore {
    async fn create_with(
        &self,
        tenant: &str,
        kind: ResourceKind,
        data: Value,
        opts: ReadOptions,
    ) -> Result<StoredResource, StoreError> {
        let id = uuid::Uuid::new_v4().to_string();
        self.insert(tenant, kind, id, data, opts).await
    }

    async fn get(
        &self,
        tenant: &str,
        kind: ResourceKind,
        id: &str,
        opts: ReadOptions,
    ) -> Result<StoredResource, StoreError> {
        let mut args = SqlArgs::new(tenant, kind);
        args.push(id.to_string());
        let sql = get_sql(kind, opts);
        let (mut found, _) = self.read(move |conn| fetch(conn, &sql, &args, &[])).await?;
        found.pop().ok_or(StoreError::NotFound)
    }

    async fn replace(
        &self,
        tenant: &str,
        kind: ResourceKind,
        id: &str,
        data: Value,
        expected_version: Option<i64>,
    ) -> Result<StoredResource, StoreError> {
        let p = prepare(kind, data)?;
        let now = now_timestamp()?;
        let tenant = tenant.to_string();
        let id = id.to_string();
        self.write(move |conn| replace_row(conn, &tenant, kind, id, p, now, expected_version))
            .await
    }

    async fn update(
        &self,
        tenant: &str,
        kind: ResourceKind,
        id: &str,
        opts: ReadOptions,
        expected_version: Option<i64>,
        change: UpdateFn,
    ) -> Result<UpdateOutcome, UpdateError> {
        let mut args = SqlArgs::new(tenant, kind);
        args.push(id.to_string());
        let sql = get_sql(kind, opts);
        let now = now_timestamp()?;
        let tenant = tenant.to_string();
        let id = id.to_string();
        // The read goes through the write connection, inside the job's
        // savepoint: nothing else writes between the read and the write.
        let outcome = self
            .write(move |conn| {
                let (mut found, _) = fetch(conn, &sql, &args, &[])?;
                let current = check_version(found.pop(), expected_version)?;
                // A panic must not take the writer thread down with it.
                let changed = panic::catch_unwind(AssertUnwindSafe(|| change(&current)))
                    .map_err(|_| StoreError::Backend("the update function panicked".to_string()))?;
                let new = match changed {
                    Err(rejected) => return Ok(Err(rejected)),
                    Ok(None) => {
                        return Ok(Ok(UpdateOutcome {
                            resource: current,
                            changed: false,
                        }))
                    }
                    Ok(Some(new)) => new,
                };
                let mut p = prepare(kind, new)?;
                p.emails_stored = same_emails(&current, &p);
                let version = Some(current.version);
                let mut written = replace_row(conn, &tenant, kind, id, p, now, version)?;
                if kind == ResourceKind::Group && opts.with_members {
                    // Members as they now resolve (the group's own display
                    // may have changed, and it may list itself).
                    let (mut fresh, _) = fetch(conn, &sql, &args, &[])?;
                    written = fresh.pop().ok_or(StoreError::NotFound)?;
                } else if opts.with_groups {
                    carry_groups(&current, &mut written);
                }
                Ok(Ok(UpdateOutcome {
                    resource: written,
                    changed: true,
                }))
            })
            .await?;
        outcome.map_err(UpdateError::Rejected)
    }

    async fn patch_members(
        &self,
        tenant: &str,
        id: &str,
        expected_version: Option<i64>,
        change: MemberChange,
        opts: ReadOptions,
    ) -> Result<UpdateOutcome, StoreError> {
        let kind = ResourceKind::Group;
        let mut args = SqlArgs::new(tenant, kind);
        args.push(id.to_string());
        let sql = get_sql(kind, opts);
        let now = now_timestamp()?;
        let tenant = tenant.to_string();
        let id = id.to_string();
        // On the writer thread, inside the job's savepoint: nothing else
        // writes between the version check and the write.
        self.write(move |conn| {
            let (seq, version): (i64, i64) = conn
                .prepare_cached(
                    "SELECT seq, version FROM scim_resources \
                     WHERE tenant = ?1 AND kind = ?2 AND id = ?3",
                )?
                .query_row(rusqlite::params![tenant, kind.as_str(), id], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()?
                .ok_or(StoreError::NotFound)?;
            if expected_version.is_some_and(|v| v != version) {
                return Err(StoreError::PreconditionFailed {
                    current_version: version,
                });
            }
            let changed = apply_member_change(conn, seq, change)? > 0;
            if changed {
                conn.prepare_cached(
                    "UPDATE scim_resources SET version = version + 1, last_modified = ?1 \
                     WHERE seq = ?2",
                )?
                .execute(rusqlite::params![now, seq])?;
            }
            let (mut found, _) = fetch(conn, &sql, &args, &[])?;
            let resource = found.pop().ok_or(StoreError::NotFound)?;
            Ok(UpdateOutcome { resource, changed })
        })
        .await
    }

    async fn delete(
        &self,
        tenant: &str,
        kind: ResourceKind,
        id: &str,
        expected_version: Option<i64>,
    ) -> Result<(), StoreError> {
        let tenant = tenant.to_string();
        let id = id.to_string();
        self.write(move |conn| {
            // Its emails, and its own member rows if it is a group, go with
            // it: ON DELETE CASCADE.
            let done = conn
                .prepare_cached(
                    "DELETE FROM scim_resources WHERE tenant = ?1 AND kind = ?2 AND id = ?3 \
                     AND (?4 IS NULL OR version = ?4)",
                )?
                .execute(rusqlite::params![
                    tenant,
                    kind.as_str(),
                    id,
                    expected_version
                ])?;
            if done == 0 {
                return Err(write_miss(conn, &tenant, kind, &id)?);
            }
            // Members are kept by id, without a foreign key: leave the groups.
            conn.prepare_cached(REMOVE_MEMBERSHIPS)?
                .execute(rusqlite::params![id, tenant])?;
            Ok(())
        })
        .await
    }

    async fn list(
        &self,
        tenant: &str,
        kind: ResourceKind,
        filter: Option<&IndexedFilter>,
        offset: u64,
        limit: u64,
        opts: ReadOptions,
    ) -> Result<(u64, Vec<StoredResource>), StoreError> {
        let mut args = SqlArgs::new(tenant, kind);
        let (sql, cond) = list_sql(kind, filter, opts, &mut args);
        let ints = [clamp_i64(limit), clamp_i64(offset)];
        let filtered = filter.is_some();
        self.read(move |conn| {
            // One read transaction: total and page come from one snapshot.
            in_read_tx(conn, |conn| {
                if !filtered {
                    let total = count_matches(conn, &cond, &args)?;
                    if limit == 0 || offset >= total {
                        return Ok((total, Vec::new()));
                    }
                    let (page, _) = fetch(conn, &sql, &args, &ints)?;
                    return Ok((total, page));
                }
                let (page, total) = fetch(conn, &sql, &args, &ints)?;
                match total {
                    Some(total) => Ok((u64::try_from(total).unwrap_or(0), page)),
                    // No row: past the end (or limit 0); the total still counts.
                    None => Ok((count_matches(conn, &cond, &args)?, page)),
                }
            })
        })
        .await
    }

    async fn scan(
        &self,
        tenant: &str,
        kind: ResourceKind,
        filter: Option<&IndexedFilter>,
        after_seq: i64,
        limit: u64,
        opts: ReadOptions,
    ) -> Result<Vec<StoredResource>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut args = SqlArgs::new(tenant, kind);
        let cond = where_clause(filter, &mut args);
        let sql = format!(
            "SELECT {} FROM scim_resources r WHERE {cond} AND r.seq > {} ORDER BY r.seq LIMIT {}",
            select_list(kind, opts, "NULL"),
            args.next_placeholder(0),
            args.next_placeholder(1)
        );
        let ints = [after_seq, clamp_i64(limit)];
        let (page, _) = self
            .read(move |conn| fetch(conn, &sql, &args, &ints))
            .await?;
        Ok(page)
    }

    async fn count(&self, tenant: &str, kind: ResourceKind) -> Result<u64, StoreError> {
        let args = SqlArgs::new(tenant, kind);
        self.read(move |conn| count_matches(conn, "r.tenant = $1 AND r.kind = $2", &args))
            .await
    }
}
