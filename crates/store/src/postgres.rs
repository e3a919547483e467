//! The directory in PostgreSQL, for several workers sharing one database: the SQLite store's
//! schema and statements (see `sqlite.rs`), with row locks where SQLite's single writer
//! serialises read-modify-writes, and a lock that keeps the change log in commit order.
//!
//! Change-log order: `directory_changes.seq` is an identity column, and sequence values are
//! handed out when a transaction asks for them, not when it commits. Two writers A and B could
//! take seq 10 and 11, B commit first, and a reader that has just processed 11 would never ask
//! for 10 again. So every write transaction buffers its change records ([`Tx::change`]) and
//! appends them only at the end ([`Tx::commit`]), after taking a transaction-scoped advisory
//! lock that is released by the commit itself: seq allocation and commit are serialised, and
//! a transaction that gets seq n+1 does so after the one holding n has committed (a committed
//! transaction is visible to new snapshots before its locks are released). Rolled-back
//! transactions leave gaps, which readers (`seq > watermark`) do not mind. The lock is taken
//! after every other statement of the transaction, so its holder never waits for a row lock
//! held by someone waiting for it: no deadlock, and it is held for two short statements.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use async_trait::async_trait;
use provisio_db::migrate::{self, Legacy, Migrations};
use provisio_directory::import::{self, ReferenceChange};
use provisio_directory::schema;
use provisio_directory::{
    AssignmentStore, Change, ChangeLog, ChangeOp, DirectoryError, ImportObject, ImportReference,
    ImportReport, ImportResult, ImportStore, IndexSeek, ListQuery, MemberRef, ObjectKind,
    ObjectRef, ObjectStore, ObjectUpdate, OrderKey, RawObject, ReferenceStore, StoreError,
    StoredAssignment, StoredObject, UpdateFn,
};
use serde_json::{Map, Value};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, Row, Transaction};
use uuid::Uuid;

use crate::{
    assignment_from_columns, change_from_columns, member_ref, now, parse_kind, parse_uuid,
    seek_column, seek_value, sole_manager_links, IndexKeys, ObjectRow, SettingsStore,
    ASSIGNMENT_COLUMNS, JOINED_OBJECT_COLUMNS, OBJECT_COLUMNS,
};

const POOL_SIZE: u32 = 16;
static MIGRATIONS: Migrations = Migrations {
    component: "directory",
    steps: &[
        include_str!("../migrations/postgres/0001_directory.sql"),
        include_str!("../migrations/postgres/0002_directory_prefix.sql"),
    ],
    // The earlier runner kept its own table, whose only version was 1.
    legacy: Legacy::Table {
        table: "directory_migrations",
        condition: "version = 1",
    },
};
/// How many rows one array-bound statement carries.
const CHUNK: usize = 10_000;

/// The directory store over a PostgreSQL pool.
#[derive(Clone, Debug)]
pub struct PostgresDirectory {
    pool: PgPool,
}

fn db_error(e: sqlx::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

impl PostgresDirectory {
    /// Connects to `url` and migrates the database.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options: PgConnectOptions = url
            .parse()
            .map_err(|e| StoreError::Backend(format!("invalid PostgreSQL URL: {e}")))?;
        Self::connect_with(options).await
    }

    /// Like [`PostgresDirectory::connect`] with explicit options (e.g. a `search_path`).
    pub async fn connect_with(options: PgConnectOptions) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Backend(format!("cannot connect to PostgreSQL: {e}")))?;
        migrate::postgres(&pool, &MIGRATIONS)
            .await
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok(PostgresDirectory { pool })
    }

    /// The connection pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(Tx {
            tx: self.pool.begin().await.map_err(db_error)?,
            pending: Vec::new(),
        })
    }
}

/// A change record waiting for the commit.
struct PendingChange {
    kind: ObjectKind,
    id: Uuid,
    op: ChangeOp,
    related: Option<Uuid>,
    at: String,
}

/// A write transaction with the change records it will append when it commits. Dropping it
/// rolls it back.
struct Tx {
    tx: Transaction<'static, Postgres>,
    pending: Vec<PendingChange>,
}

impl Tx {
    fn conn(&mut self) -> &mut PgConnection {
        &mut self.tx
    }

    fn change(
        &mut self,
        kind: ObjectKind,
        id: Uuid,
        op: ChangeOp,
        related: Option<Uuid>,
        at: &str,
    ) {
        self.pending.push(PendingChange {
            kind,
            id,
            op,
            related,
            at: at.to_string(),
        });
    }

    /// Appends the change records in commit order (see the module comment) and commits.
    async fn commit(mut self) -> Result<(), StoreError> {
        if !self.pending.is_empty() {
            // Keyed on the change table's oid, so that stores in other schemas of the same
            // database do not wait for each other. Released by COMMIT (or ROLLBACK).
            sqlx::query("SELECT pg_advisory_xact_lock('directory_changes'::regclass::oid::bigint)")
                .execute(&mut *self.tx)
                .await
                .map_err(db_error)?;
            let pending = std::mem::take(&mut self.pending);
            for chunk in pending.chunks(CHUNK) {
                let mut kinds = Vec::with_capacity(chunk.len());
                let mut ids = Vec::with_capacity(chunk.len());
                let mut ops = Vec::with_capacity(chunk.len());
                let mut related = Vec::with_capacity(chunk.len());
                let mut ats = Vec::with_capacity(chunk.len());
                for c in chunk {
                    kinds.push(c.kind.as_str());
                    ids.push(c.id.to_string());
                    ops.push(c.op.as_str());
                    related.push(c.related.map(|r| r.to_string()));
                    ats.push(c.at.as_str());
                }
                sqlx::query(
                    "INSERT INTO directory_changes (kind, object_id, op, related_id, at) \
                     SELECT kind, object_id, op, related_id, at \
                     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) \
                     WITH ORDINALITY AS c (kind, object_id, op, related_id, at, n) ORDER BY n",
                )
                .bind(kinds)
                .bind(ids)
                .bind(ops)
                .bind(related)
                .bind(ats)
                .execute(&mut *self.tx)
                .await
                .map_err(db_error)?;
            }
        }
        self.tx.commit().await.map_err(db_error)
    }

    async fn rollback(self) -> Result<(), StoreError> {
        self.tx.rollback().await.map_err(db_error)
    }

    /// Runs `sql` (one or more statements without parameters: the simple query protocol).
    async fn exec(&mut self, sql: &str) -> Result<(), StoreError> {
        sqlx::Executor::execute(self.conn(), sql)
            .await
            .map(|_| ())
            .map_err(db_error)
    }
}

fn object_from_row(row: &PgRow) -> Result<StoredObject, StoreError> {
    ObjectRow {
        id: row.try_get(0).map_err(db_error)?,
        kind: row.try_get(1).map_err(db_error)?,
        data: row.try_get(2).map_err(db_error)?,
        manager: row.try_get(3).map_err(db_error)?,
        created: row.try_get(4).map_err(db_error)?,
        deleted: row.try_get(5).map_err(db_error)?,
        version: row.try_get(6).map_err(db_error)?,
    }
    .decode()
}

/// A statement argument.
enum Arg {
    Text(String),
    Texts(Vec<String>),
    Int(i64),
}

async fn query_objects(
    conn: &mut PgConnection,
    sql: &str,
    args: Vec<Arg>,
) -> Result<Vec<StoredObject>, StoreError> {
    let mut q = sqlx::query(sql);
    for a in args {
        q = match a {
            Arg::Text(t) => q.bind(t),
            Arg::Texts(t) => q.bind(t),
            Arg::Int(i) => q.bind(i),
        };
    }
    q.fetch_all(conn)
        .await
        .map_err(db_error)?
        .iter()
        .map(object_from_row)
        .collect()
}

fn limit_arg(limit: usize) -> Arg {
    Arg::Int(i64::try_from(limit).unwrap_or(i64::MAX))
}

/// How a read inside a write transaction locks the row it finds.
#[derive(Clone, Copy)]
enum Lock {
    None,
    /// Read-modify-write: concurrent writers of the object wait.
    Update,
    /// The object must stay (live) until the commit: a reference to it is being written.
    Share,
}

async fn get_object(
    conn: &mut PgConnection,
    kind: Option<ObjectKind>,
    id: Uuid,
    deleted: bool,
    lock: Lock,
) -> Result<Option<StoredObject>, StoreError> {
    let state = if deleted { "IS NOT NULL" } else { "IS NULL" };
    let lock = match lock {
        Lock::None => "",
        Lock::Update => " FOR UPDATE",
        Lock::Share => " FOR SHARE",
    };
    let sql = format!(
        "SELECT {OBJECT_COLUMNS} FROM directory_objects \
         WHERE id = $1 AND deleted {state} AND ($2::text IS NULL OR kind = $2){lock}"
    );
    sqlx::query(&sql)
        .bind(id.to_string())
        .bind(kind.map(ObjectKind::as_str))
        .fetch_optional(conn)
        .await
        .map_err(db_error)?
        .as_ref()
        .map(object_from_row)
        .transpose()
}

/// Inserts a live object and records `created`; `Unique` when the id or its unique key is
/// taken (ON CONFLICT DO NOTHING keeps the transaction usable to tell which).
async fn insert_object(
    t: &mut Tx,
    kind: ObjectKind,
    id: Uuid,
    data: &Map<String, Value>,
    at: &str,
) -> Result<(), StoreError> {
    let keys = IndexKeys::of(kind, data);
    let inserted = sqlx::query(
        "INSERT INTO directory_objects (id, kind, data, manager_id, created, deleted, version, \
         unique_key, nickname_key, display_key, mail_key, employee_id) \
         VALUES ($1, $2, $3, NULL, $4, NULL, 1, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
    )
    .bind(id.to_string())
    .bind(kind.as_str())
    .bind(Value::Object(data.clone()).to_string())
    .bind(at)
    .bind(keys.unique)
    .bind(keys.nickname)
    .bind(keys.display)
    .bind(keys.mail)
    .bind(keys.employee_id)
    .execute(t.conn())
    .await
    .map_err(db_error)?
    .rows_affected();
    if inserted == 0 {
        let id_taken: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM directory_objects WHERE id = $1)")
                .bind(id.to_string())
                .fetch_one(t.conn())
                .await
                .map_err(db_error)?;
        return Err(StoreError::Unique(if id_taken {
            "id".to_string()
        } else {
            IndexKeys::unique_property(kind).to_string()
        }));
    }
    t.change(kind, id, ChangeOp::Created, None, at);
    Ok(())
}

/// Creates `objects` (new ids, keys not found before) with one statement per [`CHUNK`] and
/// records `created` for each; returns the ids created. An object whose id or unique key
/// turned out to be taken is not created and not returned: the caller writes it alone to
/// learn why.
async fn insert_objects(
    t: &mut Tx,
    objects: &[(Uuid, &ImportObject, Option<Uuid>)],
    at: &str,
) -> Result<HashSet<Uuid>, StoreError> {
    let mut created = HashSet::with_capacity(objects.len());
    for chunk in objects.chunks(CHUNK) {
        let mut columns: [Vec<Option<String>>; 9] = Default::default();
        for (id, object, manager) in chunk {
            let keys = IndexKeys::of(object.kind, &object.data);
            let row = [
                Some(id.to_string()),
                Some(object.kind.as_str().to_string()),
                Some(
                    serde_json::to_string(&object.data)
                        .map_err(|e| StoreError::Backend(e.to_string()))?,
                ),
                keys.unique,
                keys.nickname,
                keys.display,
                keys.mail,
                keys.employee_id,
                manager.map(|m| m.to_string()),
            ];
            for (column, value) in columns.iter_mut().zip(row) {
                column.push(value);
            }
        }
        let [ids, kinds, data, unique, nickname, display, mail, employee, managers] = columns;
        let inserted: Vec<String> = sqlx::query_scalar(
            "INSERT INTO directory_objects (id, kind, data, manager_id, created, deleted, version, \
             unique_key, nickname_key, display_key, mail_key, employee_id) \
             SELECT id, kind, data, manager_id, $10, NULL, 1, unique_key, nickname_key, \
             display_key, mail_key, employee_id \
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
             $7::text[], $8::text[], $9::text[]) \
             AS o (id, kind, data, unique_key, nickname_key, display_key, mail_key, employee_id, \
             manager_id) \
             ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(ids)
        .bind(kinds)
        .bind(data)
        .bind(unique)
        .bind(nickname)
        .bind(display)
        .bind(mail)
        .bind(employee)
        .bind(managers)
        .bind(at)
        .fetch_all(t.conn())
        .await
        .map_err(db_error)?;
        for id in inserted {
            created.insert(parse_uuid(&id)?);
        }
    }
    for (id, object, manager) in objects {
        if created.contains(id) {
            t.change(object.kind, *id, ChangeOp::Created, None, at);
            if manager.is_some() {
                t.change(object.kind, *id, ChangeOp::ManagerChanged, *manager, at);
            }
        }
    }
    Ok(created)
}

/// Sets the managers of `links` (user, manager), one statement per [`CHUNK`], recording
/// `managerChanged` where it changed. A user named twice gets the last manager named.
async fn update_managers(t: &mut Tx, links: Vec<(Uuid, Uuid)>, at: &str) -> Result<(), StoreError> {
    let mut last: HashMap<Uuid, Uuid> = HashMap::with_capacity(links.len());
    let mut order = Vec::with_capacity(links.len());
    for (user, manager) in links {
        if last.insert(user, manager).is_none() {
            order.push(user);
        }
    }
    for chunk in order.chunks(CHUNK) {
        let users: Vec<String> = chunk.iter().map(Uuid::to_string).collect();
        let managers: Vec<String> = chunk.iter().map(|u| last[u].to_string()).collect();
        let changed: Vec<String> = sqlx::query_scalar(
            "UPDATE directory_objects o SET manager_id = v.manager_id, version = o.version + 1 \
             FROM unnest($1::text[], $2::text[]) AS v (id, manager_id) \
             WHERE o.id = v.id AND o.kind = 'user' AND o.deleted IS NULL \
             AND o.manager_id IS DISTINCT FROM v.manager_id RETURNING o.id",
        )
        .bind(users)
        .bind(managers)
        .fetch_all(t.conn())
        .await
        .map_err(db_error)?;
        let changed: HashSet<String> = changed.into_iter().collect();
        for user in chunk {
            if changed.contains(&user.to_string()) {
                t.change(
                    ObjectKind::User,
                    *user,
                    ChangeOp::ManagerChanged,
                    Some(last[user]),
                    at,
                );
            }
        }
    }
    Ok(())
}

/// Adds `members` (group, member), one statement per [`CHUNK`], recording `memberAdded` for
/// those that were not members yet.
async fn insert_members(
    t: &mut Tx,
    members: Vec<(Uuid, MemberRef)>,
    at: &str,
) -> Result<(), StoreError> {
    for chunk in members.chunks(CHUNK) {
        let groups: Vec<String> = chunk.iter().map(|(g, _)| g.to_string()).collect();
        let ids: Vec<String> = chunk.iter().map(|(_, m)| m.id.to_string()).collect();
        let kinds: Vec<&str> = chunk.iter().map(|(_, m)| m.kind.as_str()).collect();
        let added: Vec<(String, String)> = sqlx::query_as(
            "INSERT INTO directory_members (group_id, member_id, member_kind) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) \
             ON CONFLICT DO NOTHING RETURNING group_id, member_id",
        )
        .bind(groups)
        .bind(ids)
        .bind(kinds)
        .fetch_all(t.conn())
        .await
        .map_err(db_error)?;
        // A pair named twice is inserted (and returned) once.
        let mut added: HashSet<(String, String)> = added.into_iter().collect();
        for (group, member) in chunk {
            if added.remove(&(group.to_string(), member.id.to_string())) {
                t.change(
                    ObjectKind::Group,
                    *group,
                    ChangeOp::MemberAdded,
                    Some(member.id),
                    at,
                );
            }
        }
    }
    Ok(())
}

/// Writes new data of a (locked) object and records `updated`.
async fn write_data(
    t: &mut Tx,
    object: &StoredObject,
    data: &Map<String, Value>,
    at: &str,
) -> Result<(), StoreError> {
    let keys = IndexKeys::of(object.kind, data);
    let result = sqlx::query(
        "UPDATE directory_objects SET data = $2, version = version + 1, unique_key = $3, \
         nickname_key = $4, display_key = $5, mail_key = $6, employee_id = $7 WHERE id = $1",
    )
    .bind(object.id.to_string())
    .bind(Value::Object(data.clone()).to_string())
    .bind(keys.unique)
    .bind(keys.nickname)
    .bind(keys.display)
    .bind(keys.mail)
    .bind(keys.employee_id)
    .execute(t.conn())
    .await;
    match result {
        Ok(_) => {
            t.change(object.kind, object.id, ChangeOp::Updated, None, at);
            Ok(())
        }
        Err(e) if unique_violation(&e) => Err(StoreError::Unique(
            IndexKeys::unique_property(object.kind).to_string(),
        )),
        Err(e) => Err(db_error(e)),
    }
}

async fn insert_member(
    t: &mut Tx,
    group: Uuid,
    member: MemberRef,
    at: &str,
) -> Result<bool, StoreError> {
    let added = sqlx::query(
        "INSERT INTO directory_members (group_id, member_id, member_kind) VALUES ($1, $2, $3) \
         ON CONFLICT DO NOTHING",
    )
    .bind(group.to_string())
    .bind(member.id.to_string())
    .bind(member.kind.as_str())
    .execute(t.conn())
    .await
    .map_err(db_error)?
    .rows_affected()
        > 0;
    if added {
        t.change(
            ObjectKind::Group,
            group,
            ChangeOp::MemberAdded,
            Some(member.id),
            at,
        );
    }
    Ok(added)
}

async fn update_manager(
    t: &mut Tx,
    user: Uuid,
    manager: Option<Uuid>,
    at: &str,
) -> Result<bool, StoreError> {
    let changed = sqlx::query(
        "UPDATE directory_objects SET manager_id = $2, version = version + 1 \
         WHERE id = $1 AND kind = 'user' AND deleted IS NULL AND manager_id IS DISTINCT FROM $2",
    )
    .bind(user.to_string())
    .bind(manager.map(|m| m.to_string()))
    .execute(t.conn())
    .await
    .map_err(db_error)?
    .rows_affected()
        > 0;
    if changed {
        t.change(
            ObjectKind::User,
            user,
            ChangeOp::ManagerChanged,
            manager,
            at,
        );
    }
    Ok(changed)
}

/// Removes an object and everything that points at it, recording `purged`.
async fn purge_object(t: &mut Tx, object: &StoredObject, at: &str) -> Result<(), StoreError> {
    let id = object.id.to_string();
    for sql in [
        "DELETE FROM directory_members WHERE group_id = $1 OR member_id = $1",
        "DELETE FROM directory_assignments WHERE principal_id = $1 OR resource_id = $1",
        "UPDATE directory_objects SET manager_id = NULL WHERE manager_id = $1",
        "DELETE FROM directory_objects WHERE id = $1",
    ] {
        sqlx::query(sql)
            .bind(&id)
            .execute(t.conn())
            .await
            .map_err(db_error)?;
    }
    t.change(object.kind, object.id, ChangeOp::Purged, None, at);
    Ok(())
}

fn assignment_from_row(row: &PgRow) -> Result<StoredAssignment, StoreError> {
    let get = |i: usize| -> Result<String, StoreError> { row.try_get(i).map_err(db_error) };
    assignment_from_columns(get)
}

async fn get_assignment(
    conn: &mut PgConnection,
    id: Uuid,
    lock: &str,
) -> Result<Option<StoredAssignment>, StoreError> {
    sqlx::query(&format!(
        "SELECT {ASSIGNMENT_COLUMNS} FROM directory_assignments WHERE id = $1{lock}"
    ))
    .bind(id.to_string())
    .fetch_optional(conn)
    .await
    .map_err(db_error)?
    .as_ref()
    .map(assignment_from_row)
    .transpose()
}

/// How an import finds an object: by id, a user's userPrincipalName or a group's
/// mailNickname (both lower-cased).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum RefKey {
    Id(Uuid),
    Upn(String),
    Nick(String),
}

impl RefKey {
    fn of(r: &ObjectRef) -> Self {
        match r {
            ObjectRef::Id(id) => RefKey::Id(*id),
            ObjectRef::UserPrincipalName(upn) => RefKey::Upn(upn.to_lowercase()),
            ObjectRef::MailNickname(nick) => RefKey::Nick(nick.to_lowercase()),
        }
    }

    /// The keys that find `data` of `kind` under `id`.
    fn all_of(kind: ObjectKind, id: Uuid, data: &Map<String, Value>) -> Vec<RefKey> {
        let keys = IndexKeys::of(kind, data);
        let mut out = vec![RefKey::Id(id)];
        match kind {
            ObjectKind::User => out.extend(keys.unique.map(RefKey::Upn)),
            ObjectKind::Group => out.extend(keys.nickname.map(RefKey::Nick)),
            ObjectKind::ServicePrincipal => {}
        }
        out
    }
}

/// What `keys` find, in as few statements as the chunking allows: by id any object, live or
/// deleted; by userPrincipalName the live user; by mailNickname the live group with the
/// smallest id (as SQLite's `resolve`).
async fn fetch_refs(
    conn: &mut PgConnection,
    keys: Vec<RefKey>,
) -> Result<HashMap<RefKey, StoredObject>, StoreError> {
    let (mut ids, mut upns, mut nicks) = (HashSet::new(), HashSet::new(), HashSet::new());
    for k in keys {
        match k {
            RefKey::Id(id) => ids.insert(id.to_string()),
            RefKey::Upn(s) => upns.insert(s),
            RefKey::Nick(s) => nicks.insert(s),
        };
    }
    let mut found = HashMap::new();
    #[derive(Clone, Copy)]
    enum By {
        Id,
        Upn,
        Nick,
    }
    // Joined with the unnested keys rather than `= ANY($1)`: with thousands of keys and a
    // table whose statistics lag behind an import, the planner chose a sequential scan that
    // compared every row with every key (seconds per batch at 100,000 users).
    for (by, values, sql) in [
        (
            By::Id,
            ids,
            format!(
                "SELECT {JOINED_OBJECT_COLUMNS} FROM unnest($1::text[]) AS k (key) \
                 JOIN directory_objects o ON o.id = k.key"
            ),
        ),
        (
            By::Upn,
            upns,
            format!(
                "SELECT {JOINED_OBJECT_COLUMNS} FROM unnest($1::text[]) AS k (key) \
                 JOIN directory_objects o ON o.kind = 'user' AND o.unique_key = k.key \
                 AND o.deleted IS NULL"
            ),
        ),
        (
            By::Nick,
            nicks,
            format!(
                "SELECT DISTINCT ON (o.nickname_key) {JOINED_OBJECT_COLUMNS} FROM unnest($1::text[]) AS k (key) \
                 JOIN directory_objects o ON o.kind = 'group' AND o.nickname_key = k.key \
                 AND o.deleted IS NULL ORDER BY o.nickname_key, o.id"
            ),
        ),
    ] {
        let values: Vec<String> = values.into_iter().collect();
        for chunk in values.chunks(CHUNK) {
            for object in query_objects(conn, &sql, vec![Arg::Texts(chunk.to_vec())]).await? {
                // The stored keys are computed from the data the same way.
                let keys = IndexKeys::of(object.kind, &object.data);
                let key = match by {
                    By::Id => RefKey::Id(object.id),
                    By::Upn => RefKey::Upn(keys.unique.unwrap_or_default()),
                    By::Nick => RefKey::Nick(keys.nickname.unwrap_or_default()),
                };
                found.insert(key, object);
            }
        }
    }
    Ok(found)
}

/// The objects an import batch names, read in bulk when it starts. A key that an earlier
/// object of the batch may have changed (it created or updated an object found, or once
/// found, by that key) is read again inside the transaction.
struct Known {
    found: HashMap<RefKey, StoredObject>,
    touched: HashSet<RefKey>,
}

impl Known {
    async fn get(&self, t: &mut Tx, key: &RefKey) -> Result<Option<StoredObject>, StoreError> {
        if self.touched.contains(key) {
            Ok(fetch_refs(t.conn(), vec![key.clone()]).await?.remove(key))
        } else {
            Ok(self.found.get(key).cloned())
        }
    }

    fn touch(&mut self, kind: ObjectKind, id: Uuid, data: &Map<String, Value>) {
        self.touched.extend(RefKey::all_of(kind, id, data));
    }
}

/// The key an imported object is matched by.
fn import_key(object: &ImportObject) -> Option<RefKey> {
    object.key().as_ref().map(RefKey::of)
}

async fn import_object(
    t: &mut Tx,
    known: &mut Known,
    object: ImportObject,
    at: &str,
) -> Result<ImportResult, StoreError> {
    let existing = match import_key(&object) {
        Some(key) => known.get(t, &key).await?,
        None => None,
    };
    match existing {
        Some(deleted) if deleted.deleted.is_some() => {
            Ok(ImportResult::Failed(import::in_deleted_items(deleted.id)))
        }
        Some(current) if current.kind != object.kind => Ok(ImportResult::Failed(
            import::wrong_kind(current.id, current.kind, object.kind),
        )),
        Some(current) => {
            let changes = object.data;
            let Some(data) = schema::apply_changes(current.kind, &current.data, changes) else {
                return Ok(ImportResult::Unchanged(current.id));
            };
            // The row lock of a read-modify-write: the bulk read took none.
            get_object(t.conn(), None, current.id, false, Lock::Update).await?;
            known.touch(current.kind, current.id, &current.data);
            known.touch(current.kind, current.id, &data);
            // The one statement of an import that can fail (a unique key taken): a savepoint
            // keeps the batch's transaction usable when it does.
            t.exec("SAVEPOINT item").await?;
            match write_data(t, &current, &data, at).await {
                Ok(()) => {
                    t.exec("RELEASE SAVEPOINT item").await?;
                    Ok(ImportResult::Updated(current.id))
                }
                Err(e) => {
                    t.exec("ROLLBACK TO SAVEPOINT item; RELEASE SAVEPOINT item")
                        .await?;
                    Err(e)
                }
            }
        }
        None => {
            let id = object.id.unwrap_or_else(provisio_directory::new_object_id);
            known.touch(object.kind, id, &object.data);
            insert_object(t, object.kind, id, &object.data, at).await?;
            Ok(ImportResult::Created(id))
        }
    }
}

/// An object of an import batch that its key did not find.
struct NewObject {
    /// Its place in the batch.
    index: usize,
    id: Uuid,
    object: ImportObject,
    /// Its manager link (index in the batch's links) and the manager's id, when known.
    manager: Option<(usize, Uuid)>,
}

/// Creates a run of new objects of an import batch with [`insert_objects`], marking the
/// manager links written with them as `done`; one whose id or unique key was taken
/// meanwhile is written alone, which says why it fails (its manager link stays to do).
async fn create_run(
    t: &mut Tx,
    known: &mut Known,
    run: Vec<NewObject>,
    results: &mut [Option<ImportResult>],
    done: &mut [bool],
    at: &str,
) -> Result<(), StoreError> {
    if run.is_empty() {
        return Ok(());
    }
    let batch: Vec<(Uuid, &ImportObject, Option<Uuid>)> = run
        .iter()
        .map(|n| (n.id, &n.object, n.manager.map(|(_, m)| m)))
        .collect();
    let created = insert_objects(t, &batch, at).await?;
    for NewObject {
        index,
        id,
        object,
        manager,
    } in run
    {
        results[index] = Some(if created.contains(&id) {
            if let Some((link, _)) = manager {
                done[link] = true;
            }
            ImportResult::Created(id)
        } else {
            match import_object(t, known, object, at).await {
                Ok(r) => r,
                Err(StoreError::Backend(e)) => return Err(StoreError::Backend(e)),
                Err(e) => ImportResult::Failed(e.into()),
            }
        });
    }
    Ok(())
}

enum LinkOutcome {
    /// (user, manager)
    Manager(Uuid, Uuid),
    /// (group, member)
    Member(Uuid, MemberRef),
    Unresolved,
    Failed(DirectoryError),
}

/// What one link sets, if it can; `ends` holds what the links' references resolve to
/// (links do not change what a reference resolves to, so they are resolved once, after the
/// objects).
fn check_link(ends: &HashMap<RefKey, StoredObject>, link: &ImportReference) -> LinkOutcome {
    let live = |r: &ObjectRef| {
        ends.get(&RefKey::of(r))
            .filter(|o| o.deleted.is_none())
            .map(|o| (o.id, o.kind))
    };
    let (Some((from, from_kind)), Some((to, to_kind))) = (live(&link.from), live(&link.to)) else {
        return LinkOutcome::Unresolved;
    };
    match import::check_reference(link.kind, (from, from_kind), (to, to_kind)) {
        Ok(ReferenceChange::Manager { user, manager }) => LinkOutcome::Manager(user, manager),
        Ok(ReferenceChange::Member { group, member }) => LinkOutcome::Member(group, member),
        Err(e) => LinkOutcome::Failed(e),
    }
}

fn list_sql(query: &ListQuery) -> (String, Vec<Arg>) {
    let mut conds = vec!["kind = $1".to_string()];
    let mut args = vec![Arg::Text(query.kind.as_str().to_string())];
    conds.push(if query.deleted {
        "deleted IS NOT NULL".to_string()
    } else {
        "deleted IS NULL".to_string()
    });
    if let Some((seek, values)) = &query.seek {
        let column = seek_column(*seek);
        if values.is_empty() {
            conds.push("FALSE".to_string());
        } else {
            args.push(Arg::Texts(
                values
                    .iter()
                    .map(|v| {
                        if *seek == IndexSeek::Id {
                            v.to_lowercase()
                        } else {
                            seek_value(*seek, v)
                        }
                    })
                    .collect(),
            ));
            conds.push(format!("{column} = ANY(${})", args.len()));
        }
    }
    if let Some((seek, prefix)) = &query.prefix {
        let column = seek_column(*seek);
        let low = crate::seek_value(*seek, prefix);
        // [low, low + U+10FFFF): every string starting with `low`, as an index range (the
        // columns are COLLATE "C": byte order).
        args.push(Arg::Text(low.clone()));
        let a = args.len();
        args.push(Arg::Text(format!("{low}\u{10FFFF}")));
        conds.push(format!("{column} >= ${a} AND {column} < ${}", a + 1));
    }
    let key = match query.order {
        OrderKey::Id => "id",
        // Never NULL: display names and user principal names are required.
        OrderKey::DisplayName => "display_key",
        OrderKey::UserPrincipalName => "unique_key",
    };
    let (cmp, dir) = if query.descending {
        ("<", "DESC")
    } else {
        (">", "ASC")
    };
    if let Some(after) = &query.after {
        if query.order == OrderKey::Id {
            args.push(Arg::Text(after.id.to_string()));
            conds.push(format!("id {cmp} ${}", args.len()));
        } else {
            args.push(Arg::Text(after.key.clone()));
            let k = args.len();
            args.push(Arg::Text(after.id.to_string()));
            conds.push(format!("({key}, id) {cmp} (${k}, ${})", k + 1));
        }
    }
    let order = if query.order == OrderKey::Id {
        format!("id {dir}")
    } else {
        format!("{key} {dir}, id {dir}")
    };
    args.push(limit_arg(query.limit));
    (
        format!(
            "SELECT {OBJECT_COLUMNS} FROM directory_objects WHERE {} ORDER BY {order} LIMIT ${}",
            conds.join(" AND "),
            args.len()
        ),
        args,
    )
}

#[async_trait]
impl ObjectStore for PostgresDirectory {
    async fn create(
        &self,
        kind: ObjectKind,
        id: Uuid,
        data: Map<String, Value>,
        manager: Option<Uuid>,
        members: Vec<MemberRef>,
    ) -> Result<StoredObject, StoreError> {
        let mut t = self.begin().await?;
        let at = now();
        insert_object(&mut t, kind, id, &data, &at).await?;
        if let Some(m) = manager {
            update_manager(&mut t, id, Some(m), &at).await?;
        }
        for m in members {
            insert_member(&mut t, id, m, &at).await?;
        }
        let object = get_object(t.conn(), Some(kind), id, false, Lock::None)
            .await?
            .ok_or_else(|| StoreError::Backend("created object vanished".to_string()))?;
        t.commit().await?;
        Ok(object)
    }

    async fn get(
        &self,
        kind: ObjectKind,
        id: Uuid,
        deleted: bool,
    ) -> Result<Option<StoredObject>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(db_error)?;
        get_object(&mut conn, Some(kind), id, deleted, Lock::None).await
    }

    async fn get_any(&self, id: Uuid) -> Result<Option<StoredObject>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(db_error)?;
        get_object(&mut conn, None, id, false, Lock::None).await
    }

    async fn update(
        &self,
        kind: ObjectKind,
        id: Uuid,
        change: UpdateFn,
    ) -> Result<ObjectUpdate, StoreError> {
        let mut t = self.begin().await?;
        // FOR UPDATE: concurrent updates of the object wait, then read what this one wrote.
        let current = get_object(t.conn(), Some(kind), id, false, Lock::Update)
            .await?
            .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        match change(&current).map_err(StoreError::Rejected)? {
            None => {
                t.rollback().await?;
                Ok(ObjectUpdate {
                    object: current,
                    changed: false,
                })
            }
            Some(data) => {
                write_data(&mut t, &current, &data, &now()).await?;
                let object = get_object(t.conn(), Some(kind), id, false, Lock::None)
                    .await?
                    .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
                t.commit().await?;
                Ok(ObjectUpdate {
                    object,
                    changed: true,
                })
            }
        }
    }

    async fn delete(&self, kind: ObjectKind, id: Uuid) -> Result<(), StoreError> {
        let mut t = self.begin().await?;
        let object = get_object(t.conn(), Some(kind), id, false, Lock::Update)
            .await?
            .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        let at = now();
        if kind.soft_deletes() {
            sqlx::query(
                "UPDATE directory_objects SET deleted = $2, version = version + 1 WHERE id = $1",
            )
            .bind(id.to_string())
            .bind(&at)
            .execute(t.conn())
            .await
            .map_err(db_error)?;
            t.change(kind, id, ChangeOp::Deleted, None, &at);
        } else {
            purge_object(&mut t, &object, &at).await?;
        }
        t.commit().await
    }

    async fn restore(&self, id: Uuid) -> Result<StoredObject, StoreError> {
        let mut t = self.begin().await?;
        let object = get_object(t.conn(), None, id, true, Lock::Update)
            .await?
            .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        let result = sqlx::query(
            "UPDATE directory_objects SET deleted = NULL, version = version + 1 WHERE id = $1",
        )
        .bind(id.to_string())
        .execute(t.conn())
        .await;
        match result {
            Ok(_) => {}
            Err(e) if unique_violation(&e) => {
                return Err(StoreError::Unique(
                    IndexKeys::unique_property(object.kind).to_string(),
                ))
            }
            Err(e) => return Err(db_error(e)),
        }
        t.change(object.kind, id, ChangeOp::Restored, None, &now());
        let object = get_object(t.conn(), None, id, false, Lock::None)
            .await?
            .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        t.commit().await?;
        Ok(object)
    }

    async fn purge(&self, id: Uuid) -> Result<(), StoreError> {
        let mut t = self.begin().await?;
        let object = get_object(t.conn(), None, id, true, Lock::Update)
            .await?
            .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        purge_object(&mut t, &object, &now()).await?;
        t.commit().await
    }

    async fn purge_deleted_before(&self, before: &str) -> Result<u64, StoreError> {
        let mut t = self.begin().await?;
        let expired = query_objects(
            t.conn(),
            &format!(
                "SELECT {OBJECT_COLUMNS} FROM directory_objects \
                 WHERE deleted IS NOT NULL AND deleted < $1 ORDER BY id FOR UPDATE"
            ),
            vec![Arg::Text(before.to_string())],
        )
        .await?;
        let at = now();
        for object in &expired {
            purge_object(&mut t, object, &at).await?;
        }
        t.commit().await?;
        Ok(expired.len() as u64)
    }

    async fn list(&self, query: &ListQuery) -> Result<Vec<StoredObject>, StoreError> {
        let (sql, args) = list_sql(query);
        let mut conn = self.pool.acquire().await.map_err(db_error)?;
        query_objects(&mut conn, &sql, args).await
    }

    async fn list_raw(&self, query: &ListQuery) -> Result<Vec<RawObject>, StoreError> {
        let (sql, args) = list_sql(query);
        let mut q = sqlx::query(&sql);
        for a in args {
            q = match a {
                Arg::Text(t) => q.bind(t),
                Arg::Texts(t) => q.bind(t),
                Arg::Int(i) => q.bind(i),
            };
        }
        let rows = q.fetch_all(&self.pool).await.map_err(db_error)?;
        rows.iter()
            .map(|row| {
                let id: String = row.try_get(0).map_err(db_error)?;
                let kind: String = row.try_get(1).map_err(db_error)?;
                Ok(RawObject {
                    id: parse_uuid(&id)?,
                    kind: parse_kind(&kind)?,
                    data: row.try_get(2).map_err(db_error)?,
                    created: row.try_get(4).map_err(db_error)?,
                    deleted: row.try_get(5).map_err(db_error)?,
                })
            })
            .collect()
    }

    async fn count(&self, kind: ObjectKind, deleted: bool) -> Result<u64, StoreError> {
        let state = if deleted { "IS NOT NULL" } else { "IS NULL" };
        let n: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM directory_objects WHERE kind = $1 AND deleted {state}"
        ))
        .bind(kind.as_str())
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn lookup(
        &self,
        kind: ObjectKind,
        key: IndexSeek,
        value: &str,
    ) -> Result<Option<Uuid>, StoreError> {
        let sql = format!(
            "SELECT id FROM directory_objects WHERE kind = $1 AND {} = $2 AND deleted IS NULL \
             ORDER BY id LIMIT 1",
            seek_column(key)
        );
        let id: Option<String> = sqlx::query_scalar(&sql)
            .bind(kind.as_str())
            .bind(seek_value(key, value))
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        id.as_deref().map(parse_uuid).transpose()
    }
}

#[async_trait]
impl ReferenceStore for PostgresDirectory {
    async fn set_manager(&self, user: Uuid, manager: Option<Uuid>) -> Result<(), StoreError> {
        let mut t = self.begin().await?;
        if get_object(t.conn(), Some(ObjectKind::User), user, false, Lock::Update)
            .await?
            .is_none()
        {
            return Err(StoreError::NotFound(user.to_string()));
        }
        if let Some(m) = manager {
            if get_object(t.conn(), Some(ObjectKind::User), m, false, Lock::Share)
                .await?
                .is_none()
            {
                return Err(StoreError::NotFound(m.to_string()));
            }
        }
        update_manager(&mut t, user, manager, &now()).await?;
        t.commit().await
    }

    async fn managers_of(&self, users: &[Uuid]) -> Result<Vec<(Uuid, Uuid)>, StoreError> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = users.iter().map(Uuid::to_string).collect();
        let mut conn = self.pool.acquire().await.map_err(db_error)?;
        // Joined with the unnested ids rather than `= ANY($1)`, as `fetch_refs` does: there
        // `ANY` met a planner that chose a sequential scan while the table's statistics lagged
        // behind an import, and a job's first cycle often comes right after one.
        let rows = sqlx::query(
            "SELECT o.id, o.manager_id FROM unnest($1::text[]) AS k (key) \
             JOIN directory_objects o ON o.id = k.key \
             WHERE o.kind = $2 AND o.deleted IS NULL AND o.manager_id IS NOT NULL",
        )
        .bind(ids)
        .bind(ObjectKind::User.as_str())
        .fetch_all(&mut *conn)
        .await
        .map_err(db_error)?;
        rows.iter()
            .map(|row| {
                let user: String = row.try_get(0).map_err(db_error)?;
                let manager: String = row.try_get(1).map_err(db_error)?;
                Ok((parse_uuid(&user)?, parse_uuid(&manager)?))
            })
            .collect()
    }

    async fn direct_reports(
        &self,
        manager: Uuid,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<StoredObject>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(db_error)?;
        query_objects(
            &mut conn,
            &format!(
                "SELECT {OBJECT_COLUMNS} FROM directory_objects \
                 WHERE manager_id = $1 AND deleted IS NULL AND id > $2 ORDER BY id LIMIT $3"
            ),
            vec![
                Arg::Text(manager.to_string()),
                Arg::Text(after.map(|a| a.to_string()).unwrap_or_default()),
                limit_arg(limit),
            ],
        )
        .await
    }

    async fn add_member(&self, group: Uuid, member: MemberRef) -> Result<bool, StoreError> {
        let mut t = self.begin().await?;
        if get_object(t.conn(), Some(ObjectKind::Group), group, false, Lock::Share)
            .await?
            .is_none()
        {
            return Err(StoreError::NotFound(group.to_string()));
        }
        if get_object(t.conn(), Some(member.kind), member.id, false, Lock::Share)
            .await?
            .is_none()
        {
            return Err(StoreError::NotFound(member.id.to_string()));
        }
        let added = insert_member(&mut t, group, member, &now()).await?;
        t.commit().await?;
        Ok(added)
    }

    async fn remove_member(&self, group: Uuid, member: Uuid) -> Result<bool, StoreError> {
        let mut t = self.begin().await?;
        let removed =
            sqlx::query("DELETE FROM directory_members WHERE group_id = $1 AND member_id = $2")
                .bind(group.to_string())
                .bind(member.to_string())
                .execute(t.conn())
                .await
                .map_err(db_error)?
                .rows_affected()
                > 0;
        if removed {
            t.change(
                ObjectKind::Group,
                group,
                ChangeOp::MemberRemoved,
                Some(member),
                &now(),
            );
        }
        t.commit().await?;
        Ok(removed)
    }

    async fn members(
        &self,
        group: Uuid,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<StoredObject>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(db_error)?;
        query_objects(
            &mut conn,
            &format!(
                "SELECT {JOINED_OBJECT_COLUMNS} \
                 FROM directory_members m JOIN directory_objects o ON o.id = m.member_id \
                 WHERE m.group_id = $1 AND o.deleted IS NULL AND m.member_id > $2 \
                 ORDER BY m.member_id LIMIT $3"
            ),
            vec![
                Arg::Text(group.to_string()),
                Arg::Text(after.map(|a| a.to_string()).unwrap_or_default()),
                limit_arg(limit),
            ],
        )
        .await
    }

    async fn member_refs(
        &self,
        group: Uuid,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<MemberRef>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(db_error)?;
        let rows = sqlx::query(
            "SELECT m.member_id, o.kind \
             FROM directory_members m JOIN directory_objects o ON o.id = m.member_id \
             WHERE m.group_id = $1 AND o.deleted IS NULL AND m.member_id > $2 \
             ORDER BY m.member_id LIMIT $3",
        )
        .bind(group.to_string())
        .bind(after.map(|a| a.to_string()).unwrap_or_default())
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&mut *conn)
        .await
        .map_err(db_error)?;
        rows.iter()
            .map(|row| {
                let id: String = row.try_get(0).map_err(db_error)?;
                let kind: String = row.try_get(1).map_err(db_error)?;
                member_ref(&id, &kind)
            })
            .collect()
    }

    async fn member_of(&self, member: Uuid) -> Result<Vec<StoredObject>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(db_error)?;
        query_objects(
            &mut conn,
            &format!(
                "SELECT {JOINED_OBJECT_COLUMNS} \
                 FROM directory_members m JOIN directory_objects o ON o.id = m.group_id \
                 WHERE m.member_id = $1 AND o.deleted IS NULL ORDER BY o.id"
            ),
            vec![Arg::Text(member.to_string())],
        )
        .await
    }
}

#[async_trait]
impl AssignmentStore for PostgresDirectory {
    async fn add_assignment(&self, a: StoredAssignment) -> Result<(), StoreError> {
        let mut t = self.begin().await?;
        let sp = Some(ObjectKind::ServicePrincipal);
        if get_object(t.conn(), sp, a.resource_id, false, Lock::Share)
            .await?
            .is_none()
        {
            return Err(StoreError::NotFound(a.resource_id.to_string()));
        }
        let principal = Some(a.principal.kind);
        if get_object(t.conn(), principal, a.principal.id, false, Lock::Share)
            .await?
            .is_none()
        {
            return Err(StoreError::NotFound(a.principal.id.to_string()));
        }
        sqlx::query(&format!(
            "INSERT INTO directory_assignments ({ASSIGNMENT_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6)"
        ))
        .bind(a.id.to_string())
        .bind(a.principal.id.to_string())
        .bind(a.principal.kind.as_str())
        .bind(a.resource_id.to_string())
        .bind(a.app_role_id.to_string())
        .bind(&a.created)
        .execute(t.conn())
        .await
        .map_err(db_error)?;
        t.change(
            ObjectKind::ServicePrincipal,
            a.resource_id,
            ChangeOp::AssignmentAdded,
            Some(a.principal.id),
            &now(),
        );
        t.commit().await
    }

    async fn remove_assignment(&self, id: Uuid) -> Result<StoredAssignment, StoreError> {
        let mut t = self.begin().await?;
        let a = get_assignment(t.conn(), id, " FOR UPDATE")
            .await?
            .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        sqlx::query("DELETE FROM directory_assignments WHERE id = $1")
            .bind(id.to_string())
            .execute(t.conn())
            .await
            .map_err(db_error)?;
        t.change(
            ObjectKind::ServicePrincipal,
            a.resource_id,
            ChangeOp::AssignmentRemoved,
            Some(a.principal.id),
            &now(),
        );
        t.commit().await?;
        Ok(a)
    }

    async fn get_assignment(&self, id: Uuid) -> Result<Option<StoredAssignment>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(db_error)?;
        get_assignment(&mut conn, id, "").await
    }

    async fn assignments(
        &self,
        resource: Option<Uuid>,
        principal: Option<Uuid>,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<StoredAssignment>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let sql =
            crate::assignments_sql(resource.is_some(), principal.is_some(), |n| format!("${n}"));
        let mut query = sqlx::query(&sql).bind(after.map(|a| a.to_string()).unwrap_or_default());
        for id in [resource, principal].into_iter().flatten() {
            query = query.bind(id.to_string());
        }
        query
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?
            .iter()
            .map(assignment_from_row)
            .collect()
    }
}

#[async_trait]
impl ImportStore for PostgresDirectory {
    async fn import(
        &self,
        objects: Vec<ImportObject>,
        links: Vec<ImportReference>,
        dry_run: bool,
    ) -> Result<ImportReport, StoreError> {
        let mut t = self.begin().await?;
        // Imports run one at a time, as on SQLite: two concurrent batches that both carry a
        // part of one group would each miss the other's uncommitted create (groups have no
        // unique key to stop them) and make two groups. Other writes are not held up.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('provisio directory import'))")
            .execute(t.conn())
            .await
            .map_err(db_error)?;
        // Plan each statement for its own arrays and for the table as it is now. A generic
        // plan, cached after a few batches while the table was small, joined every key
        // with a scan of the whole table once the import had grown it (15–29 s a batch at
        // 30,000 users, seen with log_min_duration_statement).
        t.exec("SET LOCAL plan_cache_mode = force_custom_plan")
            .await?;
        let at = now();
        let mut report = ImportReport::default();
        // A user's manager is written with its row when the manager is known as the user is
        // created (an UPDATE afterwards would write a second version of the row and of its
        // eight index entries), unless the batch names several managers for the user: links
        // then apply in order.
        let manager_links: HashMap<RefKey, usize> = sole_manager_links(&links)
            .into_iter()
            .map(|(from, i)| (RefKey::of(&from), i))
            .collect();
        let mut done = vec![false; links.len()];
        let keys: Vec<RefKey> = objects
            .iter()
            .filter_map(import_key)
            .chain(manager_links.values().map(|i| RefKey::of(&links[*i].to)))
            .collect();
        let mut known = Known {
            found: fetch_refs(t.conn(), keys).await?,
            touched: HashSet::new(),
        };
        // New objects of this batch, by every key that finds them.
        let mut new_objects: HashMap<RefKey, (Uuid, ObjectKind)> = HashMap::new();
        // A failed object writes nothing: creates insert with ON CONFLICT DO NOTHING (no
        // error to abort the transaction) and updates run in a savepoint (`import_object`).
        // A backend error ends the import.
        //
        // Runs of new objects (their key found nothing and no earlier object of the batch
        // touched it) are created with one statement; the others go one by one, in order.
        let mut results: Vec<Option<ImportResult>> = Vec::with_capacity(objects.len());
        let mut run: Vec<NewObject> = Vec::new();
        for object in objects {
            let new = match import_key(&object) {
                Some(key) => !known.touched.contains(&key) && !known.found.contains_key(&key),
                None => true,
            };
            if new {
                let id = object.id.unwrap_or_else(provisio_directory::new_object_id);
                known.touch(object.kind, id, &object.data);
                let own_keys = RefKey::all_of(object.kind, id, &object.data);
                let manager = if object.kind == ObjectKind::User {
                    own_keys
                        .iter()
                        .find_map(|k| manager_links.get(k))
                        .and_then(|i| {
                            let to = RefKey::of(&links[*i].to);
                            let found = match new_objects.get(&to) {
                                Some(found) => Some(*found),
                                None if known.touched.contains(&to) => None,
                                None => known
                                    .found
                                    .get(&to)
                                    .filter(|o| o.deleted.is_none())
                                    .map(|o| (o.id, o.kind)),
                            };
                            match found {
                                Some((m, ObjectKind::User)) if m != id => Some((*i, m)),
                                _ => None,
                            }
                        })
                } else {
                    None
                };
                for key in own_keys {
                    new_objects.insert(key, (id, object.kind));
                }
                run.push(NewObject {
                    index: results.len(),
                    id,
                    object,
                    manager,
                });
                results.push(None);
                continue;
            }
            create_run(
                &mut t,
                &mut known,
                std::mem::take(&mut run),
                &mut results,
                &mut done,
                &at,
            )
            .await?;
            results.push(Some(
                match import_object(&mut t, &mut known, object, &at).await {
                    Ok(r) => r,
                    Err(StoreError::Backend(e)) => return Err(StoreError::Backend(e)),
                    Err(e) => ImportResult::Failed(e.into()),
                },
            ));
        }
        create_run(&mut t, &mut known, run, &mut results, &mut done, &at).await?;
        report.objects = results
            .into_iter()
            .map(|r| r.ok_or_else(|| StoreError::Backend("an import result is missing".into())))
            .collect::<Result<_, _>>()?;
        // Links: any store error fails the whole import (as in SQLite, where the savepoint
        // around a link only matters to the error that ends the transaction), so they need
        // no savepoint of their own. They are checked one by one, then written in bulk.
        let keys: Vec<RefKey> = links
            .iter()
            .flat_map(|l| [RefKey::of(&l.from), RefKey::of(&l.to)])
            .collect();
        let ends = fetch_refs(t.conn(), keys).await?;
        let (mut managers, mut members) = (Vec::new(), Vec::new());
        for (link, done) in links.into_iter().zip(done) {
            if done {
                continue;
            }
            match check_link(&ends, &link) {
                LinkOutcome::Manager(user, manager) => managers.push((user, manager)),
                LinkOutcome::Member(group, member) => members.push((group, member)),
                LinkOutcome::Unresolved => report.unresolved.push(link),
                LinkOutcome::Failed(e) => report.failed_references.push((link, e)),
            }
        }
        update_managers(&mut t, managers, &at).await?;
        insert_members(&mut t, members, &at).await?;
        if dry_run {
            t.rollback().await?;
        } else {
            t.commit().await?;
        }
        Ok(report)
    }

    async fn imported(&self) -> Result<(), StoreError> {
        // Autovacuum would analyze the grown tables a minute or so later; until then the
        // planner sees the tables as they were (measured: listing 100,000 users right after
        // importing them ran at 8,800 users/s instead of 57,000).
        sqlx::query("ANALYZE directory_objects, directory_members, directory_changes")
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(())
    }
}

#[async_trait]
impl ChangeLog for PostgresDirectory {
    async fn watermark(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0)::bigint FROM directory_changes")
            .fetch_one(&self.pool)
            .await
            .map_err(db_error)
    }

    async fn changes_since(&self, watermark: i64, limit: usize) -> Result<Vec<Change>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, kind, object_id, op, related_id, at FROM directory_changes \
             WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(watermark)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let kind: String = row.try_get(1).map_err(db_error)?;
            let object: String = row.try_get(2).map_err(db_error)?;
            let op: String = row.try_get(3).map_err(db_error)?;
            let related: Option<String> = row.try_get(4).map_err(db_error)?;
            out.push(change_from_columns(
                row.try_get(0).map_err(db_error)?,
                &kind,
                &object,
                &op,
                related.as_deref(),
                row.try_get(5).map_err(db_error)?,
            )?);
        }
        Ok(out)
    }
}

#[async_trait]
impl SettingsStore for PostgresDirectory {
    async fn setting(&self, name: &str) -> Result<Option<String>, StoreError> {
        sqlx::query_scalar("SELECT value FROM directory_settings WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)
    }

    async fn set_setting(&self, name: &str, value: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO directory_settings (name, value) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
        )
        .bind(name)
        .bind(value)
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(db_error)
    }
}

#[cfg(test)]
mod tests {

    use provisio_db::postgres::testing::TestSchema;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn conformance() {
        let Some(schema) = TestSchema::create("provisio_directory_test").await else {
            return;
        };
        let scoped = schema.options();
        // Two processes starting together: migrations are serialised.
        let (a, b) = tokio::join!(
            super::PostgresDirectory::connect_with(scoped.clone()),
            super::PostgresDirectory::connect_with(scoped)
        );
        let store = a.expect("connect");
        b.expect("connect concurrently").pool().close().await;

        provisio_directory::conformance::run(std::sync::Arc::new(store.clone())).await;

        store.pool().close().await;
        schema.drop().await;
    }
}
