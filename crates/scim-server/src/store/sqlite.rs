//! SQLite backend: one file `DIR/scim.db` in WAL mode, a single writer
//! connection (writes never contend for the lock, so no SQLITE_BUSY) and a
//! small pool of reader connections.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteRow, SqliteSynchronous,
};
use sqlx::Row;

use super::{
    attach, clamp_i64, now_timestamp, parse_data, prepare, reference, where_clause, MemberRef,
    Prepared, ReadOptions, ResourceKind, ResourceStore, SqlArgs, StoreError, StoredResource,
    RESOURCE_COLUMNS,
};

const READERS: u32 = 4;

fn migrator() -> Migrator {
    Migrator {
        migrations: Cow::Owned(vec![Migration::new(
            1,
            Cow::Borrowed("resources"),
            MigrationType::Simple,
            Cow::Borrowed(include_str!("../../migrations/sqlite/0001_resources.sql")),
            false,
        )]),
        ..Migrator::DEFAULT
    }
}

/// Resource store over SQLite.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pub(super) write: SqlitePool,
    pub(super) read: SqlitePool,
}

/// Opens (creating if missing) `data_dir/scim.db` and runs the migrations.
pub async fn open_sqlite(data_dir: &Path) -> Result<SqliteStore, StoreError> {
    tokio::fs::create_dir_all(data_dir)
        .await
        .map_err(|e| StoreError::Backend(format!("cannot create {}: {e}", data_dir.display())))?;
    let options = SqliteConnectOptions::new()
        .filename(data_dir.join("scim.db"))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        .pragma("cache_size", "-16384")
        .pragma("temp_store", "memory");
    let write = SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(60))
        .connect_with(options.clone())
        .await?;
    migrator().run(&write).await?;
    let read = SqlitePoolOptions::new()
        .max_connections(READERS)
        .acquire_timeout(Duration::from_secs(60))
        .connect_with(options)
        .await?;
    Ok(SqliteStore { write, read })
}

impl SqliteStore {
    /// `EXPLAIN QUERY PLAN` of the page query `list` runs for `filter`; for
    /// tests that check the indexes answer the filters.
    pub async fn explain_list(
        &self,
        tenant: &str,
        kind: ResourceKind,
        filter: Option<&super::IndexedFilter>,
    ) -> Result<String, StoreError> {
        let mut args = SqlArgs::new(tenant, kind);
        let cond = where_clause(filter, &mut args);
        let sql = format!(
            "EXPLAIN QUERY PLAN SELECT {RESOURCE_COLUMNS} FROM resources r WHERE {cond} \
             ORDER BY r.seq LIMIT {} OFFSET {}",
            args.next_placeholder(0),
            args.next_placeholder(1)
        );
        let mut q = sqlx::query(&sql);
        for t in &args.texts {
            q = q.bind(t.as_str());
        }
        let rows = q.bind(100_i64).bind(0_i64).fetch_all(&self.read).await?;
        plan_text(&rows)
    }

    /// `EXPLAIN QUERY PLAN` of the membership queries: members of groups,
    /// groups of users, and the clean-up when a resource is deleted; for
    /// tests that check they are answered from indexes.
    pub async fn explain_memberships(&self, tenant: &str) -> Result<Vec<String>, StoreError> {
        let mut plans = Vec::new();
        for (sql, list) in [
            (MEMBERS_OF_GROUPS, "[1, 2]"),
            (GROUPS_OF_USERS, "[\"a\", \"b\"]"),
        ] {
            let rows = sqlx::query(&format!("EXPLAIN QUERY PLAN {sql}"))
                .bind(list)
                .bind(tenant)
                .fetch_all(&self.read)
                .await?;
            plans.push(plan_text(&rows)?);
        }
        let rows = sqlx::query(&format!("EXPLAIN QUERY PLAN {REMOVE_MEMBERSHIPS}"))
            .bind("a")
            .bind(tenant)
            .fetch_all(&self.read)
            .await?;
        plans.push(plan_text(&rows)?);
        Ok(plans)
    }
}

fn plan_text(rows: &[SqliteRow]) -> Result<String, StoreError> {
    let mut out = String::new();
    for row in rows {
        let detail: String = row.try_get("detail")?;
        out.push_str(&detail);
        out.push('\n');
    }
    Ok(out)
}

fn resource_from_row(row: &SqliteRow) -> Result<StoredResource, StoreError> {
    let data: String = row.try_get("data")?;
    let kind: String = row.try_get("kind")?;
    Ok(StoredResource {
        id: row.try_get("id")?,
        kind: ResourceKind::parse(&kind)?,
        data: parse_data(&data)?,
        version: row.try_get("version")?,
        created: row.try_get("created")?,
        last_modified: row.try_get("last_modified")?,
        seq: row.try_get("seq")?,
    })
}

fn seqs_json(seqs: &[i64]) -> Result<String, StoreError> {
    serde_json::to_string(seqs).map_err(|e| StoreError::Backend(e.to_string()))
}

/// Members of the groups whose seqs are in JSON array `$1`, in tenant `$2`:
/// every stored member, with the display and kind of the resource of that id
/// when it exists in the tenant, else its stored type.
const MEMBERS_OF_GROUPS: &str = "SELECT m.group_seq AS owner, m.member_id AS id, \
     COALESCE(r.kind, m.member_type) AS kind, r.display \
     FROM json_each($1) j \
     JOIN members m ON m.group_seq = j.value \
     LEFT JOIN resources r ON r.tenant = $2 AND r.id = m.member_id \
     ORDER BY m.group_seq, r.seq NULLS LAST, m.member_id";

/// Groups of tenant `$2` that list the ids in JSON array `$1` as members.
const GROUPS_OF_USERS: &str = "SELECT m.member_id AS owner, g.id, g.display \
     FROM json_each($1) j \
     JOIN members m ON m.member_id = j.value \
     JOIN resources g ON g.seq = m.group_seq \
     WHERE g.tenant = $2 \
     ORDER BY m.member_id, g.seq";

/// Removes id `$1` from every group of tenant `$2`.
const REMOVE_MEMBERSHIPS: &str = "DELETE FROM members WHERE member_id = $1 \
     AND EXISTS (SELECT 1 FROM resources g WHERE g.seq = members.group_seq AND g.tenant = $2)";

/// Attaches `members` (groups) and `groups` (users) as `opts` asks. All
/// `resources` are of `tenant`.
async fn attach_refs(
    conn: &mut SqliteConnection,
    tenant: &str,
    resources: &mut [StoredResource],
    opts: ReadOptions,
) -> Result<(), StoreError> {
    let groups: Vec<i64> = resources
        .iter()
        .filter(|r| r.kind == ResourceKind::Group && opts.with_members)
        .map(|r| r.seq)
        .collect();
    let users: HashMap<&str, i64> = resources
        .iter()
        .filter(|r| r.kind == ResourceKind::User && opts.with_groups)
        .map(|r| (r.id.as_str(), r.seq))
        .collect();
    let mut refs: HashMap<i64, Vec<Value>> = HashMap::new();
    if !groups.is_empty() {
        let rows = sqlx::query(MEMBERS_OF_GROUPS)
            .bind(seqs_json(&groups)?)
            .bind(tenant)
            .fetch_all(&mut *conn)
            .await?;
        for row in rows {
            let kind: String = row.try_get("kind")?;
            refs.entry(row.try_get("owner")?)
                .or_default()
                .push(reference(
                    row.try_get("id")?,
                    row.try_get("display")?,
                    &kind,
                ));
        }
    }
    if !users.is_empty() {
        let ids: Vec<&str> = users.keys().copied().collect();
        let ids = serde_json::to_string(&ids).map_err(|e| StoreError::Backend(e.to_string()))?;
        let rows = sqlx::query(GROUPS_OF_USERS)
            .bind(ids)
            .bind(tenant)
            .fetch_all(&mut *conn)
            .await?;
        for row in rows {
            let owner: String = row.try_get("owner")?;
            let Some(&seq) = users.get(owner.as_str()) else {
                continue;
            };
            refs.entry(seq).or_default().push(reference(
                row.try_get("id")?,
                row.try_get("display")?,
                "direct",
            ));
        }
    }
    for r in resources.iter_mut() {
        if let Some(items) = refs.remove(&r.seq) {
            let key = match r.kind {
                ResourceKind::Group => "members",
                ResourceKind::User => "groups",
            };
            attach(&mut r.data, key, items);
        }
    }
    Ok(())
}

/// Writes the email index rows of a resource.
async fn write_emails(
    conn: &mut SqliteConnection,
    tenant: &str,
    seq: i64,
    p: &Prepared,
) -> Result<(), StoreError> {
    if p.emails.is_empty() {
        return Ok(());
    }
    let values =
        serde_json::to_string(&p.emails).map_err(|e| StoreError::Backend(e.to_string()))?;
    sqlx::query(
        "INSERT INTO emails (resource_seq, tenant, value) SELECT $1, $2, j.value FROM json_each($3) j",
    )
    .bind(seq)
    .bind(tenant)
    .bind(values)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Writes the member rows of group `seq`. Ids need not exist; each row's
/// type is the kind of the tenant's resource with that id, if any, else the
/// member's fallback type.
async fn write_members(
    conn: &mut SqliteConnection,
    tenant: &str,
    seq: i64,
    members: &[MemberRef],
) -> Result<(), StoreError> {
    if members.is_empty() {
        return Ok(());
    }
    let pairs: Vec<(&str, &str)> = members
        .iter()
        .map(|m| (m.id.as_str(), m.fallback_kind.as_str()))
        .collect();
    let pairs = serde_json::to_string(&pairs).map_err(|e| StoreError::Backend(e.to_string()))?;
    sqlx::query(
        "INSERT INTO members (group_seq, member_id, member_type) \
         SELECT $1, p.id, COALESCE(r.kind, p.fallback) \
         FROM (SELECT json_extract(j.value, '$[0]') AS id, json_extract(j.value, '$[1]') AS fallback \
               FROM json_each($2) j) p \
         LEFT JOIN resources r ON r.tenant = $3 AND r.id = p.id",
    )
    .bind(seq)
    .bind(pairs)
    .bind(tenant)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Version of `id`, for telling NotFound from PreconditionFailed.
async fn current_version(
    conn: &mut SqliteConnection,
    tenant: &str,
    kind: ResourceKind,
    id: &str,
) -> Result<StoreError, StoreError> {
    let v: Option<i64> = sqlx::query_scalar(
        "SELECT version FROM resources WHERE tenant = $1 AND kind = $2 AND id = $3",
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

impl SqliteStore {
    /// Stores a new resource under `id` (create's body; the conformance suite
    /// also uses it to create a resource whose id a group already lists).
    pub(super) async fn insert(
        &self,
        tenant: &str,
        kind: ResourceKind,
        id: String,
        data: Value,
    ) -> Result<StoredResource, StoreError> {
        let p = prepare(kind, data)?;
        let now = now_timestamp()?;
        let mut tx = self.write.begin().await?;
        let seq: i64 = sqlx::query_scalar(
            "INSERT INTO resources (tenant, kind, id, data, version, created, last_modified, \
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
            write_members(&mut tx, tenant, seq, members).await?;
        }
        tx.commit().await?;
        Ok(StoredResource {
            id,
            kind,
            data: p.data,
            version: 1,
            created: now.clone(),
            last_modified: now,
            seq,
        })
    }
}

impl SqliteStore {
    async fn fetch_page(
        conn: &mut SqliteConnection,
        tenant: &str,
        sql: &str,
        args: &SqlArgs,
        ints: &[i64],
        opts: ReadOptions,
    ) -> Result<Vec<StoredResource>, StoreError> {
        let mut q = sqlx::query(sql);
        for t in &args.texts {
            q = q.bind(t.as_str());
        }
        for i in ints {
            q = q.bind(*i);
        }
        let rows = q.fetch_all(&mut *conn).await?;
        let mut out = rows
            .iter()
            .map(resource_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        if opts.with_members || opts.with_groups {
            attach_refs(conn, tenant, &mut out, opts).await?;
        }
        Ok(out)
    }
}

#[async_trait]
impl ResourceStore for SqliteStore {
    async fn create(
        &self,
        tenant: &str,
        kind: ResourceKind,
        data: Value,
    ) -> Result<StoredResource, StoreError> {
        let id = uuid::Uuid::new_v4().to_string();
        self.insert(tenant, kind, id, data).await
    }

    async fn get(
        &self,
        tenant: &str,
        kind: ResourceKind,
        id: &str,
        opts: ReadOptions,
    ) -> Result<StoredResource, StoreError> {
        let mut conn = self.read.acquire().await?;
        let sql = format!(
            "SELECT {RESOURCE_COLUMNS} FROM resources r WHERE r.tenant = $1 AND r.kind = $2 AND r.id = $3"
        );
        let mut args = SqlArgs::new(tenant, kind);
        args.push(id.to_string());
        let mut page = Self::fetch_page(&mut conn, tenant, &sql, &args, &[], opts).await?;
        page.pop().ok_or(StoreError::NotFound)
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
        let mut tx = self.write.begin().await?;
        let row = sqlx::query(
            "UPDATE resources SET data = $1, version = version + 1, last_modified = $2, \
             user_name = $3, external_id = $4, display_name = $5, display = $6 \
             WHERE tenant = $7 AND kind = $8 AND id = $9 AND ($10 IS NULL OR version = $10) \
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
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Err(current_version(&mut tx, tenant, kind, id).await?);
        };
        let seq: i64 = row.try_get("seq")?;
        let version: i64 = row.try_get("version")?;
        let created: String = row.try_get("created")?;
        sqlx::query("DELETE FROM emails WHERE resource_seq = $1")
            .bind(seq)
            .execute(&mut *tx)
            .await?;
        write_emails(&mut tx, tenant, seq, &p).await?;
        if let Some(members) = &p.members {
            sqlx::query("DELETE FROM members WHERE group_seq = $1")
                .bind(seq)
                .execute(&mut *tx)
                .await?;
            write_members(&mut tx, tenant, seq, members).await?;
        }
        tx.commit().await?;
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

    async fn delete(
        &self,
        tenant: &str,
        kind: ResourceKind,
        id: &str,
        expected_version: Option<i64>,
    ) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        // Its emails, and its own member rows if it is a group, go with it:
        // ON DELETE CASCADE.
        let done = sqlx::query(
            "DELETE FROM resources WHERE tenant = $1 AND kind = $2 AND id = $3 \
             AND ($4 IS NULL OR version = $4)",
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
        filter: Option<&super::IndexedFilter>,
        offset: u64,
        limit: u64,
        opts: ReadOptions,
    ) -> Result<(u64, Vec<StoredResource>), StoreError> {
        let mut args = SqlArgs::new(tenant, kind);
        let cond = where_clause(filter, &mut args);
        // One read transaction: total and page come from the same snapshot.
        let mut tx = self.read.begin().await?;
        let count_sql = format!("SELECT COUNT(*) FROM resources r WHERE {cond}");
        let mut q = sqlx::query_scalar(&count_sql);
        for t in &args.texts {
            q = q.bind(t.as_str());
        }
        let total: i64 = q.fetch_one(&mut *tx).await?;
        let page = if limit == 0 || offset >= u64::try_from(total).unwrap_or(0) {
            Vec::new()
        } else {
            let sql = format!(
                "SELECT {RESOURCE_COLUMNS} FROM resources r WHERE {cond} ORDER BY r.seq LIMIT {} OFFSET {}",
                args.next_placeholder(0),
                args.next_placeholder(1)
            );
            Self::fetch_page(
                &mut tx,
                tenant,
                &sql,
                &args,
                &[clamp_i64(limit), clamp_i64(offset)],
                opts,
            )
            .await?
        };
        tx.commit().await?;
        Ok((u64::try_from(total).unwrap_or(0), page))
    }

    async fn scan(
        &self,
        tenant: &str,
        kind: ResourceKind,
        filter: Option<&super::IndexedFilter>,
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
            "SELECT {RESOURCE_COLUMNS} FROM resources r WHERE {cond} AND r.seq > {} ORDER BY r.seq LIMIT {}",
            args.next_placeholder(0),
            args.next_placeholder(1)
        );
        let mut tx = self.read.begin().await?;
        let page = Self::fetch_page(
            &mut tx,
            tenant,
            &sql,
            &args,
            &[after_seq, clamp_i64(limit)],
            opts,
        )
        .await?;
        tx.commit().await?;
        Ok(page)
    }

    async fn count(&self, tenant: &str, kind: ResourceKind) -> Result<u64, StoreError> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM resources WHERE tenant = $1 AND kind = $2")
                .bind(tenant)
                .bind(kind.as_str())
                .fetch_one(&self.read)
                .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
