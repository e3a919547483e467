//! PostgreSQL backend. Same schema and SQL as SQLite except that lists of
//! ids travel as arrays (`unnest`) instead of JSON (`json_each`).
//!
//! As in SQLite, every read is one statement: `members` and `groups` come
//! with the resources as a JSON array built by a correlated subquery, and a
//! list's total comes with its page. Each statement is a loopback round trip,
//! which costs more than the queries themselves.

use std::time::Duration;

use async_trait::async_trait;
use provisio_db::migrate::{self, Legacy, Migrations};
use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgExecutor, PgPool, PgPoolOptions, PgRow};
use sqlx::Row;

use super::{
    attach_ref_json, carry_groups, check_version, clamp_i64, distinct, ids_equal_ignoring_case,
    now_timestamp, parse_data, prepare, same_emails, where_clause, IndexedFilter, MemberChange,
    MemberRef, Prepared, ReadOptions, ResourceKind, ResourceStore, SqlArgs, StoreError,
    StoredResource, UpdateError, UpdateFn, UpdateOutcome, RESOURCE_COLUMNS,
};

const POOL_SIZE: u32 = 16;

static MIGRATIONS: Migrations = Migrations {
    component: "scim",
    steps: &[
        include_str!("../../migrations/postgres/0001_resources.sql"),
        include_str!("../../migrations/postgres/0002_scim_prefix.sql"),
        include_str!("../../migrations/postgres/0003_member_type.sql"),
    ],
    // The earlier runner was sqlx's, whose only migration was version 1.
    legacy: Legacy::Table {
        table: "_sqlx_migrations",
        condition: "version = 1 AND success",
    },
};

/// Resource store over PostgreSQL.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

/// Connects to `url` (default schema) and runs the migrations, under an
/// advisory lock so that processes that start together do not race.
pub async fn open_postgres(url: &str) -> Result<PostgresStore, StoreError> {
    let options: PgConnectOptions = url
        .parse()
        .map_err(|e| StoreError::Backend(format!("invalid PostgreSQL URL: {e}")))?;
    open_postgres_with(options).await
}

/// Like [`open_postgres`] with explicit options (e.g. a `search_path`).
pub async fn open_postgres_with(options: PgConnectOptions) -> Result<PostgresStore, StoreError> {
    let pool = PgPoolOptions::new()
        .max_connections(POOL_SIZE)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(options)
        .await?;
    migrate::postgres(&pool, &MIGRATIONS).await?;
    Ok(PostgresStore { pool })
}

impl PostgresStore {
    /// The connection pool (tests use it to inspect plans).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

fn resource_from_row(row: &PgRow) -> Result<StoredResource, StoreError> {
    let data: String = row.try_get("data")?;
    let kind = ResourceKind::parse(row.try_get("kind")?)?;
    let mut data = parse_data(&data)?;
    let refs: Option<&str> = row.try_get("refs")?;
    if let Some(refs) = refs {
        attach_ref_json(&mut data, kind, refs)?;
    }
    Ok(StoredResource {
        id: row.try_get("id")?,
        kind,
        data,
        version: row.try_get("version")?,
        created: row.try_get("created")?,
        last_modified: row.try_get("last_modified")?,
        seq: row.try_get("seq")?,
    })
}

/// Removes id `$1` from every group of tenant `$2`.
const REMOVE_MEMBERSHIPS: &str = "DELETE FROM scim_members m WHERE m.member_id = $1 \
     AND EXISTS (SELECT 1 FROM scim_resources g WHERE g.seq = m.group_seq AND g.tenant = $2)";

/// `members` of group `r`, as a JSON array of `[id, kind, display]`: every
/// stored member, with the kind and display of the tenant's (`$1`) resource
/// of that id when it exists, else its stored type. Existing members first,
/// in creation order, then the others by id. NULL when there are none.
const MEMBERS_OF_GROUP: &str = "(SELECT json_agg(json_build_array(m.member_id, \
     x.kind, x.display) ORDER BY x.seq NULLS LAST, m.member_id)::text \
     FROM scim_members m LEFT JOIN scim_resources x ON x.tenant = $1 AND x.id = m.member_id \
     WHERE m.group_seq = r.seq)";

/// `groups` of user `r`, as a JSON array of `[id, display]`: the tenant's
/// (`$1`) groups that list its id, in creation order. NULL when there are none.
const GROUPS_OF_USER: &str =
    "(SELECT json_agg(json_build_array(g.id, g.display) ORDER BY g.seq)::text \
     FROM scim_members m JOIN scim_resources g ON g.seq = m.group_seq \
     WHERE m.member_id = r.id AND g.tenant = $1)";

/// The references `opts` asks to attach to a resource `r` of `kind`, if any.
fn refs_expression(kind: ResourceKind, opts: ReadOptions) -> Option<&'static str> {
    match kind {
        ResourceKind::Group if opts.with_members => Some(MEMBERS_OF_GROUP),
        ResourceKind::User if opts.with_groups => Some(GROUPS_OF_USER),
        _ => None,
    }
}

/// The select list of every resource read: [`RESOURCE_COLUMNS`], `total`
/// (the total of a list, or NULL) and `refs` (the attached references, or
/// NULL).
fn select_list(kind: ResourceKind, opts: ReadOptions, total: &str) -> String {
    let refs = refs_expression(kind, opts).unwrap_or("NULL::text");
    format!("{RESOURCE_COLUMNS}, {total} AS total, {refs} AS refs")
}

const NO_TOTAL: &str = "NULL::bigint";

/// Resource `$3` of kind `$2` of tenant `$1`. The kind is a check on the row
/// (`|| ''` keeps it out of index conditions): until `resources` has been
/// analyzed, the planner otherwise prefers a `(tenant, kind, …)` index and
/// filters the tenant's every resource by id, over the unique `(tenant, id)`.
const ONE_RESOURCE: &str = "r.tenant = $1 AND r.id = $3 AND r.kind || '' = $2";

/// Reads resource `$3` with what `opts` asks for.
fn get_sql(kind: ResourceKind, opts: ReadOptions) -> String {
    format!(
        "SELECT {} FROM scim_resources r WHERE {ONE_RESOURCE}",
        select_list(kind, opts, NO_TOTAL)
    )
}

/// The page statement of `list`, with the total of matches in every row.
/// With a filter, `COUNT(*) OVER ()` over the matching seqs; without one, the
/// tenant's count of `kind` (an uncorrelated subquery, run once). Both come
/// from the statement's snapshot.
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
            select_list(
                kind,
                opts,
                "(SELECT COUNT(*) FROM scim_resources c WHERE c.tenant = $1 AND c.kind = $2)"
            )
        )
    };
    (sql, cond)
}

/// Runs a resource statement (`args`' texts, then `ints`): the resources
/// with their references, and the total of the first row.
async fn fetch<'e>(
    ex: impl PgExecutor<'e>,
    sql: &str,
    args: &SqlArgs,
    ints: &[i64],
) -> Result<(Vec<StoredResource>, Option<i64>), StoreError> {
    let mut q = sqlx::query(sql);
    for t in &args.texts {
        q = q.bind(t.as_str());
    }
    for i in ints {
        q = q.bind(*i);
    }
    let rows = q.fetch_all(ex).await?;
    let mut total = None;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        if total.is_none() {
            total = row.try_get("total")?;
        }
        out.push(resource_from_row(row)?);
    }
    Ok((out, total))
}

async fn count_matches<'e>(
    ex: impl PgExecutor<'e>,
    cond: &str,
    args: &SqlArgs,
) -> Result<u64, StoreError> {
    let sql = format!("SELECT COUNT(*) FROM scim_resources r WHERE {cond}");
    let mut q = sqlx::query_scalar(&sql);
    for t in &args.texts {
        q = q.bind(t.as_str());
    }
    let n: i64 = q.fetch_one(ex).await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Attaches to `r` (of `tenant`) the references `opts` asks for, as they
/// are now: one statement, for the reads that follow a write or a lock.
async fn attach_refs(
    conn: &mut PgConnection,
    tenant: &str,
    r: &mut StoredResource,
    opts: ReadOptions,
) -> Result<(), StoreError> {
    let Some(refs) = refs_expression(r.kind, opts) else {
        return Ok(());
    };
    let sql = format!("SELECT {refs} FROM scim_resources r WHERE r.seq = $2");
    let found: Option<String> = sqlx::query_scalar(&sql)
        .bind(tenant)
        .bind(r.seq)
        .fetch_one(&mut *conn)
        .await?;
    if let Some(found) = found {
        attach_ref_json(&mut r.data, r.kind, &found)?;
    }
    Ok(())
}

/// Writes the email index rows of a resource.
async fn write_emails(
    conn: &mut PgConnection,
    tenant: &str,
    seq: i64,
    p: &Prepared,
) -> Result<(), StoreError> {
    if p.emails.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO scim_emails (resource_seq, tenant, value) SELECT $1, $2, unnest($3::text[])",
    )
    .bind(seq)
    .bind(tenant)
    .bind(&p.emails[..])
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Writes the member rows of group `seq`. Ids need not exist: a member is
/// joined to the group's tenant's resources when read.
async fn write_members(
    conn: &mut PgConnection,
    seq: i64,
    members: &[MemberRef],
) -> Result<(), StoreError> {
    if members.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = members.iter().map(|m| m.id.as_str()).collect();
    sqlx::query(
        "INSERT INTO scim_members (group_seq, member_id) \
         SELECT $1, u.id FROM unnest($2::text[]) AS u(id)",
    )
    .bind(seq)
    .bind(&ids[..])
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Adds, then removes the member rows of group `seq` that `change` names; returns how
/// many rows it added and removed.
async fn apply_member_change(
    conn: &mut PgConnection,
    seq: i64,
    change: MemberChange,
) -> Result<u64, StoreError> {
    let mut rows = 0;
    let (add, mut removes, folded) = change.into_parts();
    if !add.is_empty() {
        rows += sqlx::query(
            "INSERT INTO scim_members (group_seq, member_id) \
             SELECT $1, u.id FROM unnest($2::text[]) AS u(id) ON CONFLICT DO NOTHING",
        )
        .bind(seq)
        .bind(&add[..])
        .execute(&mut *conn)
        .await?
        .rows_affected();
    }
    if !folded.is_empty() {
        // Ids are kept as written, so a case-insensitive match has no index to use.
        let listed: Vec<String> =
            sqlx::query_scalar("SELECT member_id FROM scim_members WHERE group_seq = $1")
                .bind(seq)
                .fetch_all(&mut *conn)
                .await?;
        removes.extend(ids_equal_ignoring_case(
            &folded,
            listed.iter().map(String::as_str),
        ));
    }
    let removes = distinct(removes);
    if !removes.is_empty() {
        rows += sqlx::query(
            "DELETE FROM scim_members WHERE group_seq = $1 AND member_id = ANY($2::text[])",
        )
        .bind(seq)
        .bind(&removes[..])
        .execute(&mut *conn)
        .await?
        .rows_affected();
    }
    Ok(rows)
}

/// Version of `id`, for telling NotFound from PreconditionFailed.
async fn current_version(
    conn: &mut PgConnection,
    tenant: &str,
    kind: ResourceKind,
    id: &str,
) -> Result<StoreError, StoreError> {
    let v: Option<i64> = sqlx::query_scalar(
        "SELECT version FROM scim_resources WHERE tenant = $1 AND kind = $2 AND id = $3",
    )
    .bind(tenant)
    .bind(kind.as_str())
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(match v {
        Some(current_version) => StoreError::PreconditionFailed { current_version },
        None => StoreError::NotFound,
    })
}

/// Replaces resource `id` with `p` (the body of `replace`); `expected_version`
/// makes it conditional.
async fn replace_row(
    conn: &mut PgConnection,
    tenant: &str,
    kind: ResourceKind,
    id: &str,
    p: Prepared,
    now: String,
    expected_version: Option<i64>,
) -> Result<StoredResource, StoreError> {
    let row = sqlx::query(
        "UPDATE scim_resources SET data = $1, version = version + 1, last_modified = $2, \
         user_name = $3, external_id = $4, display_name = $5, display = $6 \
         WHERE tenant = $7 AND kind = $8 AND id = $9 AND ($10::bigint IS NULL OR version = $10) \
         RETURNING seq, version, created",
    )
    .bind(&p.data_text)
    .bind(&now)
    .bind(&p.user_name)
    .bind(&p.external_id)
    .bind(&p.display_name)
    .bind(&p.display)
    .bind(tenant)
    .bind(kind.as_str())
    .bind(id)
    .bind(expected_version)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Err(current_version(conn, tenant, kind, id).await?);
    };
    let seq: i64 = row.try_get("seq")?;
    let version: i64 = row.try_get("version")?;
    let created: String = row.try_get("created")?;
    if !p.emails_stored {
        sqlx::query("DELETE FROM scim_emails WHERE resource_seq = $1")
            .bind(seq)
            .execute(&mut *conn)
            .await?;
        write_emails(conn, tenant, seq, &p).await?;
    }
    if let Some(members) = &p.members {
        sqlx::query("DELETE FROM scim_members WHERE group_seq = $1")
            .bind(seq)
            .execute(&mut *conn)
            .await?;
        write_members(conn, seq, members).await?;
    }
    Ok(StoredResource {
        id: id.to_string(),
        kind,
        data: p.data,
        version,
        created,
        last_modified: now,
        seq,
    })
}

impl PostgresStore {
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
        let mut tx = self.pool.begin().await?;
        let seq: i64 = sqlx::query_scalar(
            "INSERT INTO scim_resources (tenant, kind, id, data, version, created, last_modified, \
             user_name, external_id, display_name, display) \
             VALUES ($1, $2, $3, $4, 1, $5, $5, $6, $7, $8, $9) RETURNING seq",
        )
        .bind(tenant)
        .bind(kind.as_str())
        .bind(&id)
        .bind(&p.data_text)
        .bind(&now)
        .bind(&p.user_name)
        .bind(&p.external_id)
        .bind(&p.display_name)
        .bind(&p.display)
        .fetch_one(&mut *tx)
        .await?;
        write_emails(&mut tx, tenant, seq, &p).await?;
        if let Some(members) = &p.members {
            write_members(&mut tx, seq, members).await?;
        }
        let mut created = StoredResource {
            id,
            kind,
            data: p.data,
            version: 1,
            created: now.clone(),
            last_modified: now,
            seq,
        };
        attach_refs(&mut tx, tenant, &mut created, opts).await?;
        tx.commit().await?;
        Ok(created)
    }
}

#[async_trait]
impl ResourceStore for PostgresStore {
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
        let (mut found, _) = fetch(&self.pool, &get_sql(kind, opts), &args, &[]).await?;
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
        let mut tx = self.pool.begin().await?;
        let written = replace_row(&mut tx, tenant, kind, id, p, now, expected_version).await?;
        tx.commit().await?;
        Ok(written)
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
        let now = now_timestamp()?;
        let mut args = SqlArgs::new(tenant, kind);
        args.push(id.to_string());
        // The row lock makes concurrent updates of the resource wait for
        // each other; each then reads what the previous one committed. The
        // references are read by a statement of their own, after the lock: a
        // statement that waited for the lock sees the locked row as
        // committed, but the other tables as of its start.
        let sql = format!(
            "SELECT {} FROM scim_resources r WHERE {ONE_RESOURCE} FOR UPDATE",
            select_list(kind, ReadOptions::NONE, NO_TOTAL)
        );
        // Dropping the transaction on any early return rolls it back.
        let mut tx = self.pool.begin().await.map_err(StoreError::from)?;
        let (mut found, _) = fetch(&mut *tx, &sql, &args, &[]).await?;
        let mut current = check_version(found.pop(), expected_version)?;
        attach_refs(&mut tx, tenant, &mut current, opts).await?;
        let new = match change(&current) {
            Err(rejected) => return Err(UpdateError::Rejected(rejected)),
            Ok(None) => {
                tx.commit().await.map_err(StoreError::from)?;
                return Ok(UpdateOutcome {
                    resource: current,
                    changed: false,
                });
            }
            Ok(Some(new)) => new,
        };
        let mut p = prepare(kind, new)?;
        p.emails_stored = same_emails(&current, &p);
        let version = Some(current.version);
        let mut written = replace_row(&mut tx, tenant, kind, id, p, now, version).await?;
        if kind == ResourceKind::Group && opts.with_members {
            // Members as they now resolve (the group's own display may have
            // changed, and it may list itself).
            attach_refs(&mut tx, tenant, &mut written, opts).await?;
        } else if opts.with_groups {
            carry_groups(&current, &mut written);
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(UpdateOutcome {
            resource: written,
            changed: true,
        })
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
        let now = now_timestamp()?;
        let mut args = SqlArgs::new(tenant, kind);
        args.push(id.to_string());
        // The row lock serialises this with every other write of the group,
        // as in `update`.
        let lock = format!(
            "SELECT r.seq, r.version FROM scim_resources r WHERE {ONE_RESOURCE} FOR UPDATE"
        );
        // Dropping the transaction on any early return rolls it back.
        let mut tx = self.pool.begin().await?;
        let (seq, version): (i64, i64) = sqlx::query_as(&lock)
            .bind(tenant)
            .bind(kind.as_str())
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        if expected_version.is_some_and(|v| v != version) {
            return Err(StoreError::PreconditionFailed {
                current_version: version,
            });
        }
        let changed = apply_member_change(&mut tx, seq, change).await? > 0;
        if changed {
            sqlx::query(
                "UPDATE scim_resources SET version = version + 1, last_modified = $1 WHERE seq = $2",
            )
            .bind(&now)
            .bind(seq)
            .execute(&mut *tx)
            .await?;
        }
        let (mut found, _) = fetch(&mut *tx, &get_sql(kind, opts), &args, &[]).await?;
        let resource = found.pop().ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(UpdateOutcome { resource, changed })
    }

    async fn delete(
        &self,
        tenant: &str,
        kind: ResourceKind,
        id: &str,
        expected_version: Option<i64>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        // Its emails, and its own member rows if it is a group, go with it:
        // ON DELETE CASCADE.
        let done = sqlx::query(
            "DELETE FROM scim_resources WHERE tenant = $1 AND kind = $2 AND id = $3 \
             AND ($4::bigint IS NULL OR version = $4)",
        )
        .bind(tenant)
        .bind(kind.as_str())
        .bind(id)
        .bind(expected_version)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(current_version(&mut tx, tenant, kind, id).await?);
        }
        // Members are kept by id, without a foreign key: leave the groups.
        sqlx::query(REMOVE_MEMBERSHIPS)
            .bind(id)
            .bind(tenant)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
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
        if limit == 0 {
            return Ok((count_matches(&self.pool, &cond, &args).await?, Vec::new()));
        }
        let ints = [clamp_i64(limit), clamp_i64(offset)];
        // One statement: page and total come from the same snapshot.
        let (page, total) = fetch(&self.pool, &sql, &args, &ints).await?;
        if let Some(total) = total {
            return Ok((u64::try_from(total).unwrap_or(0), page));
        }
        // No row: past the end. Count, and read the page again if rows came
        // in meanwhile, in one read transaction (one snapshot).
        let mut tx = self.pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
        let total = count_matches(&mut *tx, &cond, &args).await?;
        let page = if offset >= total {
            Vec::new()
        } else {
            fetch(&mut *tx, &sql, &args, &ints).await?.0
        };
        tx.commit().await?;
        Ok((total, page))
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
            select_list(kind, opts, NO_TOTAL),
            args.next_placeholder(0),
            args.next_placeholder(1)
        );
        let (page, _) = fetch(&self.pool, &sql, &args, &[after_seq, clamp_i64(limit)]).await?;
        Ok(page)
    }

    async fn count(&self, tenant: &str, kind: ResourceKind) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM scim_resources WHERE tenant = $1 AND kind = $2",
        )
        .bind(tenant)
        .bind(kind.as_str())
        .fetch_one(&self.pool)
        .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
