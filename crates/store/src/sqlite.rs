//! The directory in an embedded SQLite database (`directory.db` in the data directory),
//! opened with the `provisio_db::sqlite` kit: one writer thread (SQLite has one writer
//! anyway, and that makes the change log's sequence numbers follow commit order), a few
//! `query_only` connections for reads.

use std::collections::HashMap;
use std::path::Path;

use async_trait::async_trait;
use provisio_db::migrate::{Legacy, Migrations};
use provisio_db::sqlite::{Sqlite, SqliteOptions};
use provisio_db::DbError;
use provisio_directory::import::{self, ReferenceChange};
use provisio_directory::schema;
use provisio_directory::{
    AssignmentStore, Change, ChangeLog, ChangeOp, DirectoryError, ImportObject, ImportReference,
    ImportReport, ImportResult, ImportStore, IndexSeek, ListQuery, MemberRef, ObjectKind,
    ObjectRef, ObjectStore, ObjectUpdate, OrderKey, RawObject, ReferenceStore, StoreError,
    StoredAssignment, StoredObject, UpdateFn,
};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::{
    assignment_from_columns, change_from_columns, member_ref, now, parse_kind, parse_uuid,
    seek_column, seek_value, sole_manager_links, IndexKeys, ObjectRow, SettingsStore,
    ASSIGNMENT_COLUMNS, JOINED_OBJECT_COLUMNS, OBJECT_COLUMNS,
};

static MIGRATIONS: Migrations = Migrations {
    component: "directory",
    steps: &[
        include_str!("../migrations/sqlite/0001_directory.sql"),
        include_str!("../migrations/sqlite/0002_directory_prefix.sql"),
    ],
    legacy: Legacy::UserVersion,
};

fn options() -> SqliteOptions {
    SqliteOptions {
        name: "directory",
        readers: 4,
        reader_cache_kib: 32_000,
        // The writer's index pages are the hot set of an import: a larger cache than the
        // readers' keeps them in memory.
        writer_cache_kib: 65_536,
        // 8 KiB pages (only a new database gets them): its B-trees are a level shallower
        // than with 4 KiB, which made inserts of users, with their seven index entries, 15 to
        // 30 % faster in a measurement with this schema.
        page_size: Some(8192),
        foreign_keys: false,
        statement_cache: 128,
        batch_max: 256,
        wal_restart_bytes: provisio_db::sqlite::WAL_RESTART_BYTES,
    }
}

#[derive(Clone, Debug)]
pub struct SqliteDirectory {
    db: Sqlite,
}

pub(crate) fn db_error(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// The kit's errors in the directory's error type.
struct KitError(StoreError);

impl From<DbError> for KitError {
    fn from(e: DbError) -> Self {
        KitError(StoreError::Backend(e.to_string()))
    }
}

impl From<StoreError> for KitError {
    fn from(e: StoreError) -> Self {
        KitError(e)
    }
}

impl SqliteDirectory {
    /// Opens (creating) `data_dir/directory.db` and migrates it.
    pub async fn open(data_dir: &Path) -> Result<Self, StoreError> {
        let db = Sqlite::open(&data_dir.join("directory.db"), options(), &MIGRATIONS)
            .await
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok(SqliteDirectory { db })
    }

    /// Runs `work` in a write transaction of its own (a savepoint of the writer's group
    /// commit); rolls back on error, or when `work` asks by returning `Ok((r, false))`.
    /// One writer thread: the change log's sequence numbers follow commit order.
    async fn write<R, F>(&self, work: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<(R, bool), StoreError> + Send + 'static,
    {
        self.db
            .write_or_roll_back(move |conn| work(conn).map_err(KitError))
            .await
            .map_err(|KitError(e)| e)
    }

    /// A point lookup, run in the calling task when a reader is idle (see
    /// `SqliteDb::read_point`).
    pub(crate) async fn read_point<R, F>(&self, work: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    {
        self.db
            .read_point(move |conn| work(conn).map_err(KitError))
            .await
            .map_err(|KitError(e)| e)
    }

    pub(crate) async fn read<R, F>(&self, work: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    {
        self.db
            .read(move |conn| work(conn).map_err(KitError))
            .await
            .map_err(|KitError(e)| e)
    }
}

fn object_from_row(row: &Row<'_>) -> Result<StoredObject, StoreError> {
    ObjectRow {
        id: row.get(0).map_err(db_error)?,
        kind: row.get(1).map_err(db_error)?,
        data: row.get(2).map_err(db_error)?,
        manager: row.get(3).map_err(db_error)?,
        created: row.get(4).map_err(db_error)?,
        deleted: row.get(5).map_err(db_error)?,
        version: row.get(6).map_err(db_error)?,
    }
    .decode()
}

fn query_objects(
    conn: &Connection,
    sql: &str,
    args: &[&dyn rusqlite::ToSql],
) -> Result<Vec<StoredObject>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(db_error)?;
    let mut rows = stmt.query(args).map_err(db_error)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(db_error)? {
        out.push(object_from_row(row)?);
    }
    Ok(out)
}

fn get_object(
    conn: &Connection,
    kind: Option<ObjectKind>,
    id: Uuid,
    deleted: bool,
) -> Result<Option<StoredObject>, StoreError> {
    let state = if deleted { "IS NOT NULL" } else { "IS NULL" };
    let sql = format!(
        "SELECT {OBJECT_COLUMNS} FROM directory_objects WHERE id = ?1 AND deleted {state} AND (?2 IS NULL OR kind = ?2)"
    );
    Ok(query_objects(
        conn,
        &sql,
        &[&id.to_string(), &kind.map(ObjectKind::as_str)],
    )?
    .into_iter()
    .next())
}

fn append_change(
    conn: &Connection,
    kind: ObjectKind,
    id: Uuid,
    op: ChangeOp,
    related: Option<Uuid>,
    at: &str,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO directory_changes (kind, object_id, op, related_id, at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .map_err(db_error)?
    .execute(params![
        kind.as_str(),
        id.to_string(),
        op.as_str(),
        related.map(|r| r.to_string()),
        at
    ])
    .map_err(db_error)?;
    Ok(())
}

fn unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.code == rusqlite::ErrorCode::ConstraintViolation)
}

fn insert_object(
    conn: &Connection,
    kind: ObjectKind,
    id: Uuid,
    data: &Map<String, Value>,
    manager: Option<Uuid>,
    at: &str,
) -> Result<(), StoreError> {
    let keys = IndexKeys::of(kind, data);
    let json = serde_json::to_string(data).map_err(|e| StoreError::Backend(e.to_string()))?;
    let result = conn
        .prepare_cached(
            "INSERT INTO directory_objects (id, kind, data, manager_id, created, deleted, version, \
             unique_key, nickname_key, display_key, mail_key, employee_id) \
             VALUES (?1, ?2, ?3, ?4, ?5, NULL, 1, ?6, ?7, ?8, ?9, ?10)",
        )
        .map_err(db_error)?
        .execute(params![
            id.to_string(),
            kind.as_str(),
            json,
            manager.map(|m| m.to_string()),
            at,
            keys.unique,
            keys.nickname,
            keys.display,
            keys.mail,
            keys.employee_id
        ]);
    match result {
        Ok(_) => {}
        Err(e) if unique_violation(&e) => {
            let id_taken: bool = conn
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM directory_objects WHERE id = ?1)",
                    [id.to_string()],
                    |r| r.get(0),
                )
                .map_err(db_error)?;
            return Err(StoreError::Unique(if id_taken {
                "id".to_string()
            } else {
                IndexKeys::unique_property(kind).to_string()
            }));
        }
        Err(e) => return Err(db_error(e)),
    }
    append_change(conn, kind, id, ChangeOp::Created, None, at)?;
    if manager.is_some() {
        append_change(conn, kind, id, ChangeOp::ManagerChanged, manager, at)?;
    }
    Ok(())
}

fn write_data(
    conn: &Connection,
    object: &StoredObject,
    data: &Map<String, Value>,
    at: &str,
) -> Result<(), StoreError> {
    let keys = IndexKeys::of(object.kind, data);
    let result = conn
        .prepare_cached(
            "UPDATE directory_objects SET data = ?2, version = version + 1, unique_key = ?3, \
             nickname_key = ?4, display_key = ?5, mail_key = ?6, employee_id = ?7 WHERE id = ?1",
        )
        .map_err(db_error)?
        .execute(params![
            object.id.to_string(),
            serde_json::to_string(data).map_err(|e| StoreError::Backend(e.to_string()))?,
            keys.unique,
            keys.nickname,
            keys.display,
            keys.mail,
            keys.employee_id
        ]);
    match result {
        Ok(_) => append_change(conn, object.kind, object.id, ChangeOp::Updated, None, at),
        Err(e) if unique_violation(&e) => Err(StoreError::Unique(
            IndexKeys::unique_property(object.kind).to_string(),
        )),
        Err(e) => Err(db_error(e)),
    }
}

fn insert_member(
    conn: &Connection,
    group: Uuid,
    member: MemberRef,
    at: &str,
) -> Result<bool, StoreError> {
    let added = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO directory_members (group_id, member_id, member_kind) VALUES (?1, ?2, ?3)",
        )
        .map_err(db_error)?
        .execute(params![
            group.to_string(),
            member.id.to_string(),
            member.kind.as_str()
        ])
        .map_err(db_error)?
        > 0;
    if added {
        append_change(
            conn,
            ObjectKind::Group,
            group,
            ChangeOp::MemberAdded,
            Some(member.id),
            at,
        )?;
    }
    Ok(added)
}

fn update_manager(
    conn: &Connection,
    user: Uuid,
    manager: Option<Uuid>,
    at: &str,
) -> Result<bool, StoreError> {
    let changed = conn
        .prepare_cached(
            "UPDATE directory_objects SET manager_id = ?2, version = version + 1 \
             WHERE id = ?1 AND kind = 'user' AND deleted IS NULL AND manager_id IS NOT ?2",
        )
        .map_err(db_error)?
        .execute(params![user.to_string(), manager.map(|m| m.to_string())])
        .map_err(db_error)?
        > 0;
    if changed {
        append_change(
            conn,
            ObjectKind::User,
            user,
            ChangeOp::ManagerChanged,
            manager,
            at,
        )?;
    }
    Ok(changed)
}

/// Removes an object and everything that points at it, recording `purged`.
fn purge_object(conn: &Connection, object: &StoredObject, at: &str) -> Result<(), StoreError> {
    let id = object.id.to_string();
    for sql in [
        "DELETE FROM directory_members WHERE group_id = ?1 OR member_id = ?1",
        "DELETE FROM directory_assignments WHERE principal_id = ?1 OR resource_id = ?1",
        "UPDATE directory_objects SET manager_id = NULL WHERE manager_id = ?1",
        "DELETE FROM directory_objects WHERE id = ?1",
    ] {
        conn.prepare_cached(sql)
            .map_err(db_error)?
            .execute([&id])
            .map_err(db_error)?;
    }
    append_change(conn, object.kind, object.id, ChangeOp::Purged, None, at)
}

fn assignment_from_row(row: &Row<'_>) -> Result<StoredAssignment, StoreError> {
    let get = |i: usize| -> Result<String, StoreError> { row.get(i).map_err(db_error) };
    assignment_from_columns(get)
}

/// The live object an import reference names.
fn resolve(conn: &Connection, r: &ObjectRef) -> Result<Option<StoredObject>, StoreError> {
    const BY_UPN: &str =
        "SELECT id, kind, data, manager_id, created, deleted, version FROM directory_objects \
        WHERE kind = 'user' AND unique_key = ?1 AND deleted IS NULL";
    const BY_NICKNAME: &str =
        "SELECT id, kind, data, manager_id, created, deleted, version FROM directory_objects \
        WHERE kind = 'group' AND nickname_key = ?1 AND deleted IS NULL ORDER BY id LIMIT 1";
    let (sql, arg) = match r {
        ObjectRef::Id(id) => return get_object(conn, None, *id, false),
        ObjectRef::UserPrincipalName(upn) => (BY_UPN, upn.to_lowercase()),
        ObjectRef::MailNickname(nick) => (BY_NICKNAME, nick.to_lowercase()),
    };
    Ok(query_objects(conn, sql, &[&arg])?.into_iter().next())
}

/// The id and kind of the live object an import reference names, without reading its
/// data; remembered for the rest of the batch (a live object stays live within it).
fn resolve_ref(
    conn: &Connection,
    r: &ObjectRef,
    known: &mut HashMap<ObjectRef, (Uuid, ObjectKind)>,
) -> Result<Option<(Uuid, ObjectKind)>, StoreError> {
    if let Some(found) = known.get(r) {
        return Ok(Some(*found));
    }
    let (sql, arg) = match r {
        ObjectRef::Id(id) => (
            "SELECT id, kind FROM directory_objects WHERE id = ?1 AND deleted IS NULL",
            id.to_string(),
        ),
        ObjectRef::UserPrincipalName(upn) => (
            "SELECT id, kind FROM directory_objects WHERE kind = 'user' AND unique_key = ?1 AND deleted IS NULL",
            upn.to_lowercase(),
        ),
        ObjectRef::MailNickname(nick) => (
            "SELECT id, kind FROM directory_objects WHERE kind = 'group' AND nickname_key = ?1 \
             AND deleted IS NULL ORDER BY id LIMIT 1",
            nick.to_lowercase(),
        ),
    };
    let row: Option<(String, String)> = conn
        .prepare_cached(sql)
        .map_err(db_error)?
        .query_row([arg], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()
        .map_err(db_error)?;
    let Some((id, kind)) = row else {
        return Ok(None);
    };
    let found = (parse_uuid(&id)?, parse_kind(&kind)?);
    known.insert(r.clone(), found);
    Ok(Some(found))
}

/// Imports one object. `manager` is its manager when a link of the batch names one that
/// exists already: a new user is then inserted with it in one statement.
fn import_object(
    conn: &Connection,
    object: ImportObject,
    manager: Option<Uuid>,
    at: &str,
) -> Result<ImportResult, StoreError> {
    let existing = match object.key() {
        Some(ObjectRef::Id(id)) => {
            if let Some(deleted) = get_object(conn, None, id, true)? {
                return Ok(ImportResult::Failed(import::in_deleted_items(deleted.id)));
            }
            get_object(conn, None, id, false)?
        }
        Some(key) => resolve(conn, &key)?,
        None => None,
    };
    match existing {
        Some(current) if current.kind != object.kind => Ok(ImportResult::Failed(
            import::wrong_kind(current.id, current.kind, object.kind),
        )),
        Some(current) => {
            let changes = object.data;
            let Some(data) = schema::apply_changes(current.kind, &current.data, changes) else {
                return Ok(ImportResult::Unchanged(current.id));
            };
            write_data(conn, &current, &data, at)?;
            Ok(ImportResult::Updated(current.id))
        }
        None => {
            let id = object.id.unwrap_or_else(provisio_directory::new_object_id);
            insert_object(conn, object.kind, id, &object.data, manager, at)?;
            Ok(ImportResult::Created(id))
        }
    }
}

enum LinkOutcome {
    Done,
    Unresolved,
    Failed(DirectoryError),
}

fn import_link(
    conn: &Connection,
    link: &ImportReference,
    at: &str,
    known: &mut HashMap<ObjectRef, (Uuid, ObjectKind)>,
) -> Result<LinkOutcome, StoreError> {
    let from = resolve_ref(conn, &link.from, known)?;
    let to = resolve_ref(conn, &link.to, known)?;
    let (Some((from, from_kind)), Some((to, to_kind))) = (from, to) else {
        return Ok(LinkOutcome::Unresolved);
    };
    match import::check_reference(link.kind, (from, from_kind), (to, to_kind)) {
        Ok(ReferenceChange::Manager { user, manager }) => {
            update_manager(conn, user, Some(manager), at)?;
        }
        Ok(ReferenceChange::Member { group, member }) => {
            insert_member(conn, group, member, at)?;
        }
        Err(e) => return Ok(LinkOutcome::Failed(e)),
    }
    Ok(LinkOutcome::Done)
}

fn list_sql(query: &ListQuery) -> (String, Vec<String>) {
    let mut conds = vec!["kind = ?1".to_string()];
    let mut args = vec![query.kind.as_str().to_string()];
    conds.push(if query.deleted {
        "deleted IS NOT NULL".to_string()
    } else {
        "deleted IS NULL".to_string()
    });
    if let Some((seek, values)) = &query.seek {
        let column = seek_column(*seek);
        let mut marks = Vec::with_capacity(values.len());
        for v in values {
            args.push(if *seek == IndexSeek::Id {
                v.to_lowercase()
            } else {
                seek_value(*seek, v)
            });
            marks.push(format!("?{}", args.len()));
        }
        if marks.is_empty() {
            conds.push("0".to_string());
        } else {
            conds.push(format!("{column} IN ({})", marks.join(", ")));
        }
    }
    if let Some((seek, prefix)) = &query.prefix {
        let column = seek_column(*seek);
        let low = crate::seek_value(*seek, prefix);
        // [low, low + U+10FFFF): every string starting with `low`, as an index range.
        args.push(low.clone());
        let a = args.len();
        args.push(format!("{low}\u{10FFFF}"));
        conds.push(format!("{column} >= ?{a} AND {column} < ?{}", a + 1));
    }
    let key = match query.order {
        OrderKey::Id => "id",
        // Every object has a display name and every user a user principal name (both are
        // required), so the keys are never NULL and the indexes can serve the order.
        OrderKey::DisplayName => "display_key",
        OrderKey::UserPrincipalName => "unique_key",
    };
    if query.order == OrderKey::UserPrincipalName && !query.deleted {
        // Lets the partial unique index on live user principal names serve the order.
        conds.push("unique_key IS NOT NULL".to_string());
    }
    let (cmp, dir) = if query.descending {
        ("<", "DESC")
    } else {
        (">", "ASC")
    };
    if let Some(after) = &query.after {
        if query.order == OrderKey::Id {
            args.push(after.id.to_string());
            conds.push(format!("id {cmp} ?{}", args.len()));
        } else {
            args.push(after.key.clone());
            let k = args.len();
            args.push(after.id.to_string());
            conds.push(format!("({key}, id) {cmp} (?{k}, ?{})", k + 1));
        }
    }
    let order = if query.order == OrderKey::Id {
        format!("id {dir}")
    } else {
        format!("{key} {dir}, id {dir}")
    };
    (
        format!(
            "SELECT {OBJECT_COLUMNS} FROM directory_objects WHERE {} ORDER BY {order} LIMIT {}",
            conds.join(" AND "),
            query.limit
        ),
        args,
    )
}

#[async_trait]
impl ObjectStore for SqliteDirectory {
    async fn create(
        &self,
        kind: ObjectKind,
        id: Uuid,
        data: Map<String, Value>,
        manager: Option<Uuid>,
        members: Vec<MemberRef>,
    ) -> Result<StoredObject, StoreError> {
        self.write(move |conn| {
            let at = now();
            insert_object(conn, kind, id, &data, manager, &at)?;
            for m in members {
                insert_member(conn, id, m, &at)?;
            }
            let object = get_object(conn, Some(kind), id, false)?
                .ok_or_else(|| StoreError::Backend("created object vanished".to_string()))?;
            Ok((object, true))
        })
        .await
    }

    async fn get(
        &self,
        kind: ObjectKind,
        id: Uuid,
        deleted: bool,
    ) -> Result<Option<StoredObject>, StoreError> {
        self.read_point(move |conn| get_object(conn, Some(kind), id, deleted))
            .await
    }

    async fn get_any(&self, id: Uuid) -> Result<Option<StoredObject>, StoreError> {
        self.read_point(move |conn| get_object(conn, None, id, false))
            .await
    }

    async fn update(
        &self,
        kind: ObjectKind,
        id: Uuid,
        change: UpdateFn,
    ) -> Result<ObjectUpdate, StoreError> {
        self.write(move |conn| {
            let current = get_object(conn, Some(kind), id, false)?
                .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
            match change(&current).map_err(StoreError::Rejected)? {
                None => Ok((
                    ObjectUpdate {
                        object: current,
                        changed: false,
                    },
                    false,
                )),
                Some(data) => {
                    write_data(conn, &current, &data, &now())?;
                    let object = get_object(conn, Some(kind), id, false)?
                        .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
                    Ok((
                        ObjectUpdate {
                            object,
                            changed: true,
                        },
                        true,
                    ))
                }
            }
        })
        .await
    }

    async fn delete(&self, kind: ObjectKind, id: Uuid) -> Result<(), StoreError> {
        self.write(move |conn| {
            let object = get_object(conn, Some(kind), id, false)?
                .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
            let at = now();
            if kind.soft_deletes() {
                conn.prepare_cached(
                    "UPDATE directory_objects SET deleted = ?2, version = version + 1 WHERE id = ?1",
                )
                .map_err(db_error)?
                .execute(params![id.to_string(), at])
                .map_err(db_error)?;
                append_change(conn, kind, id, ChangeOp::Deleted, None, &at)?;
            } else {
                purge_object(conn, &object, &at)?;
            }
            Ok(((), true))
        })
        .await
    }

    async fn restore(&self, id: Uuid) -> Result<StoredObject, StoreError> {
        self.write(move |conn| {
            let object = get_object(conn, None, id, true)?
                .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
            let result = conn
                .prepare_cached(
                    "UPDATE directory_objects SET deleted = NULL, version = version + 1 WHERE id = ?1",
                )
                .map_err(db_error)?
                .execute([id.to_string()]);
            match result {
                Ok(_) => {}
                Err(e) if unique_violation(&e) => {
                    return Err(StoreError::Unique(
                        IndexKeys::unique_property(object.kind).to_string(),
                    ))
                }
                Err(e) => return Err(db_error(e)),
            }
            append_change(conn, object.kind, id, ChangeOp::Restored, None, &now())?;
            let object = get_object(conn, None, id, false)?
                .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
            Ok((object, true))
        })
        .await
    }

    async fn purge(&self, id: Uuid) -> Result<(), StoreError> {
        self.write(move |conn| {
            let object = get_object(conn, None, id, true)?
                .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
            purge_object(conn, &object, &now())?;
            Ok(((), true))
        })
        .await
    }

    async fn purge_deleted_before(&self, before: &str) -> Result<u64, StoreError> {
        let before = before.to_string();
        self.write(move |conn| {
            let expired = query_objects(
                conn,
                &format!("SELECT {OBJECT_COLUMNS} FROM directory_objects WHERE deleted IS NOT NULL AND deleted < ?1"),
                &[&before],
            )?;
            let at = now();
            for object in &expired {
                purge_object(conn, object, &at)?;
            }
            Ok((expired.len() as u64, true))
        })
        .await
    }

    async fn list(&self, query: &ListQuery) -> Result<Vec<StoredObject>, StoreError> {
        let (sql, args) = list_sql(query);
        self.read(move |conn| {
            let refs: Vec<&dyn rusqlite::ToSql> =
                args.iter().map(|a| a as &dyn rusqlite::ToSql).collect();
            query_objects(conn, &sql, &refs)
        })
        .await
    }

    async fn list_raw(&self, query: &ListQuery) -> Result<Vec<RawObject>, StoreError> {
        let (sql, args) = list_sql(query);
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(&sql).map_err(db_error)?;
            let mut rows = stmt
                .query(rusqlite::params_from_iter(args.iter()))
                .map_err(db_error)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(db_error)? {
                let id: String = row.get(0).map_err(db_error)?;
                let kind: String = row.get(1).map_err(db_error)?;
                out.push(RawObject {
                    id: parse_uuid(&id)?,
                    kind: parse_kind(&kind)?,
                    data: row.get(2).map_err(db_error)?,
                    created: row.get(4).map_err(db_error)?,
                    deleted: row.get(5).map_err(db_error)?,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn count(&self, kind: ObjectKind, deleted: bool) -> Result<u64, StoreError> {
        self.read(move |conn| {
            let state = if deleted { "IS NOT NULL" } else { "IS NULL" };
            conn.query_row(
                &format!(
                    "SELECT COUNT(*) FROM directory_objects WHERE kind = ?1 AND deleted {state}"
                ),
                [kind.as_str()],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(db_error)
        })
        .await
    }

    async fn lookup(
        &self,
        kind: ObjectKind,
        key: IndexSeek,
        value: &str,
    ) -> Result<Option<Uuid>, StoreError> {
        let value = seek_value(key, value);
        self.read(move |conn| {
            let sql = format!(
                "SELECT id FROM directory_objects WHERE kind = ?1 AND {} = ?2 AND deleted IS NULL ORDER BY id LIMIT 1",
                seek_column(key)
            );
            let id: Option<String> = conn
                .query_row(&sql, [kind.as_str(), &value], |r| r.get(0))
                .optional()
                .map_err(db_error)?;
            id.as_deref().map(parse_uuid).transpose()
        })
        .await
    }
}

#[async_trait]
impl ReferenceStore for SqliteDirectory {
    async fn set_manager(&self, user: Uuid, manager: Option<Uuid>) -> Result<(), StoreError> {
        self.write(move |conn| {
            if get_object(conn, Some(ObjectKind::User), user, false)?.is_none() {
                return Err(StoreError::NotFound(user.to_string()));
            }
            if let Some(m) = manager {
                if get_object(conn, Some(ObjectKind::User), m, false)?.is_none() {
                    return Err(StoreError::NotFound(m.to_string()));
                }
            }
            update_manager(conn, user, manager, &now())?;
            Ok(((), true))
        })
        .await
    }

    async fn direct_reports(
        &self,
        manager: Uuid,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<StoredObject>, StoreError> {
        self.read(move |conn| {
            query_objects(
                conn,
                &format!(
                    "SELECT {OBJECT_COLUMNS} FROM directory_objects WHERE manager_id = ?1 AND deleted IS NULL \
                     AND id > ?2 ORDER BY id LIMIT {limit}"
                ),
                &[&manager.to_string(), &after.map(|a| a.to_string()).unwrap_or_default()],
            )
        })
        .await
    }

    async fn managers_of(&self, users: &[Uuid]) -> Result<Vec<(Uuid, Uuid)>, StoreError> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        // One statement for the lot: the ids go in as one JSON array.
        let ids = Value::Array(
            users
                .iter()
                .map(|id| Value::String(id.to_string()))
                .collect(),
        )
        .to_string();
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT id, manager_id FROM directory_objects \
                     WHERE id IN (SELECT value FROM json_each(?1)) AND kind = ?2 \
                     AND deleted IS NULL AND manager_id IS NOT NULL",
                )
                .map_err(db_error)?;
            let mut rows = stmt
                .query(rusqlite::params![ids, ObjectKind::User.as_str()])
                .map_err(db_error)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(db_error)? {
                let user: String = row.get(0).map_err(db_error)?;
                let manager: String = row.get(1).map_err(db_error)?;
                out.push((parse_uuid(&user)?, parse_uuid(&manager)?));
            }
            Ok(out)
        })
        .await
    }

    async fn add_member(&self, group: Uuid, member: MemberRef) -> Result<bool, StoreError> {
        self.write(move |conn| {
            if get_object(conn, Some(ObjectKind::Group), group, false)?.is_none() {
                return Err(StoreError::NotFound(group.to_string()));
            }
            if get_object(conn, Some(member.kind), member.id, false)?.is_none() {
                return Err(StoreError::NotFound(member.id.to_string()));
            }
            let added = insert_member(conn, group, member, &now())?;
            Ok((added, added))
        })
        .await
    }

    async fn remove_member(&self, group: Uuid, member: Uuid) -> Result<bool, StoreError> {
        self.write(move |conn| {
            let removed = conn
                .prepare_cached(
                    "DELETE FROM directory_members WHERE group_id = ?1 AND member_id = ?2",
                )
                .map_err(db_error)?
                .execute([group.to_string(), member.to_string()])
                .map_err(db_error)?
                > 0;
            if removed {
                append_change(
                    conn,
                    ObjectKind::Group,
                    group,
                    ChangeOp::MemberRemoved,
                    Some(member),
                    &now(),
                )?;
            }
            Ok((removed, removed))
        })
        .await
    }

    async fn members(
        &self,
        group: Uuid,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<StoredObject>, StoreError> {
        self.read(move |conn| {
            query_objects(
                conn,
                &format!(
                    "SELECT {JOINED_OBJECT_COLUMNS} \
                     FROM directory_members m JOIN directory_objects o ON o.id = m.member_id \
                     WHERE m.group_id = ?1 AND o.deleted IS NULL AND m.member_id > ?2 \
                     ORDER BY m.member_id LIMIT {limit}"
                ),
                &[
                    &group.to_string(),
                    &after.map(|a| a.to_string()).unwrap_or_default(),
                ],
            )
        })
        .await
    }

    async fn member_refs(
        &self,
        group: Uuid,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<MemberRef>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT m.member_id, o.kind \
                     FROM directory_members m JOIN directory_objects o ON o.id = m.member_id \
                     WHERE m.group_id = ?1 AND o.deleted IS NULL AND m.member_id > ?2 \
                     ORDER BY m.member_id LIMIT {limit}"
                ))
                .map_err(db_error)?;
            let mut rows = stmt
                .query(rusqlite::params![
                    group.to_string(),
                    after.map(|a| a.to_string()).unwrap_or_default()
                ])
                .map_err(db_error)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(db_error)? {
                let id: String = row.get(0).map_err(db_error)?;
                let kind: String = row.get(1).map_err(db_error)?;
                out.push(member_ref(&id, &kind)?);
            }
            Ok(out)
        })
        .await
    }

    async fn member_of(&self, member: Uuid) -> Result<Vec<StoredObject>, StoreError> {
        self.read(move |conn| {
            query_objects(
                conn,
                &format!(
                    "SELECT {JOINED_OBJECT_COLUMNS} \
                     FROM directory_members m JOIN directory_objects o ON o.id = m.group_id \
                     WHERE m.member_id = ?1 AND o.deleted IS NULL ORDER BY o.id"
                ),
                &[&member.to_string()],
            )
        })
        .await
    }
}

#[async_trait]
impl AssignmentStore for SqliteDirectory {
    async fn add_assignment(&self, a: StoredAssignment) -> Result<(), StoreError> {
        self.write(move |conn| {
            if get_object(
                conn,
                Some(ObjectKind::ServicePrincipal),
                a.resource_id,
                false,
            )?
            .is_none()
            {
                return Err(StoreError::NotFound(a.resource_id.to_string()));
            }
            if get_object(conn, Some(a.principal.kind), a.principal.id, false)?.is_none() {
                return Err(StoreError::NotFound(a.principal.id.to_string()));
            }
            conn.prepare_cached(&format!(
                "INSERT INTO directory_assignments ({ASSIGNMENT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
            ))
            .map_err(db_error)?
            .execute(params![
                a.id.to_string(),
                a.principal.id.to_string(),
                a.principal.kind.as_str(),
                a.resource_id.to_string(),
                a.app_role_id.to_string(),
                a.created
            ])
            .map_err(db_error)?;
            append_change(
                conn,
                ObjectKind::ServicePrincipal,
                a.resource_id,
                ChangeOp::AssignmentAdded,
                Some(a.principal.id),
                &now(),
            )?;
            Ok(((), true))
        })
        .await
    }

    async fn remove_assignment(&self, id: Uuid) -> Result<StoredAssignment, StoreError> {
        self.write(move |conn| {
            let a = conn
                .query_row(
                    &format!(
                        "SELECT {ASSIGNMENT_COLUMNS} FROM directory_assignments WHERE id = ?1"
                    ),
                    [id.to_string()],
                    |row| Ok(assignment_from_row(row)),
                )
                .optional()
                .map_err(db_error)?
                .transpose()?
                .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
            conn.execute(
                "DELETE FROM directory_assignments WHERE id = ?1",
                [id.to_string()],
            )
            .map_err(db_error)?;
            append_change(
                conn,
                ObjectKind::ServicePrincipal,
                a.resource_id,
                ChangeOp::AssignmentRemoved,
                Some(a.principal.id),
                &now(),
            )?;
            Ok((a, true))
        })
        .await
    }

    async fn get_assignment(&self, id: Uuid) -> Result<Option<StoredAssignment>, StoreError> {
        self.read(move |conn| {
            conn.query_row(
                &format!("SELECT {ASSIGNMENT_COLUMNS} FROM directory_assignments WHERE id = ?1"),
                [id.to_string()],
                |row| Ok(assignment_from_row(row)),
            )
            .optional()
            .map_err(db_error)?
            .transpose()
        })
        .await
    }

    async fn assignments(
        &self,
        resource: Option<Uuid>,
        principal: Option<Uuid>,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<StoredAssignment>, StoreError> {
        self.read(move |conn| {
            let (sql, args) = assignments_query(resource, principal, after, limit);
            let mut stmt = conn.prepare_cached(&sql).map_err(db_error)?;
            let mut rows = stmt
                .query(rusqlite::params_from_iter(args.iter()))
                .map_err(db_error)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(db_error)? {
                out.push(assignment_from_row(row)?);
            }
            Ok(out)
        })
        .await
    }
}

/// [`crate::assignments_sql`] with SQLite's placeholders, and its arguments.
fn assignments_query(
    resource: Option<Uuid>,
    principal: Option<Uuid>,
    after: Option<Uuid>,
    limit: usize,
) -> (String, Vec<rusqlite::types::Value>) {
    use rusqlite::types::Value as Sql;
    let sql = crate::assignments_sql(resource.is_some(), principal.is_some(), |n| format!("?{n}"));
    let mut args = vec![Sql::Text(after.map(|a| a.to_string()).unwrap_or_default())];
    args.extend(resource.map(|r| Sql::Text(r.to_string())));
    args.extend(principal.map(|p| Sql::Text(p.to_string())));
    args.push(Sql::Integer(i64::try_from(limit).unwrap_or(i64::MAX)));
    (sql, args)
}

#[async_trait]
impl ImportStore for SqliteDirectory {
    async fn import(
        &self,
        objects: Vec<ImportObject>,
        links: Vec<ImportReference>,
        dry_run: bool,
    ) -> Result<ImportReport, StoreError> {
        self.write(move |conn| {
            let at = now();
            let mut report = ImportReport::default();
            // No savepoints: every object and link is written by single statements that
            // SQLite applies or refuses whole, so a failed one leaves nothing behind.
            let mut known = HashMap::new();
            // The manager link of a new user is written with the user's row (one statement
            // instead of an insert and an update) when the manager exists already, unless
            // the batch names several managers for the user: links then apply in order.
            let manager_links = sole_manager_links(&links);
            let mut done = vec![false; links.len()];
            for object in objects {
                let link = object.key().and_then(|r| manager_links.get(&r).copied());
                let manager = match link {
                    Some(i) => match resolve_ref(conn, &links[i].to, &mut known)? {
                        Some((m, ObjectKind::User)) => Some((i, m)),
                        _ => None,
                    },
                    None => None,
                };
                let result = import_object(conn, object, manager.map(|(_, m)| m), &at);
                report.objects.push(match result {
                    Ok(ImportResult::Created(id)) => {
                        if let Some((i, m)) = manager {
                            done[i] = m != id;
                        }
                        ImportResult::Created(id)
                    }
                    Ok(r) => r,
                    Err(StoreError::Backend(e)) => return Err(StoreError::Backend(e)),
                    Err(e) => ImportResult::Failed(e.into()),
                });
            }
            for (link, done) in links.into_iter().zip(done) {
                if done {
                    continue;
                }
                match import_link(conn, &link, &at, &mut known)? {
                    LinkOutcome::Done => {}
                    LinkOutcome::Unresolved => report.unresolved.push(link),
                    LinkOutcome::Failed(e) => report.failed_references.push((link, e)),
                }
            }
            Ok((report, !dry_run))
        })
        .await
    }
}

#[async_trait]
impl ChangeLog for SqliteDirectory {
    async fn watermark(&self) -> Result<i64, StoreError> {
        self.read(|conn| {
            conn.query_row(
                "SELECT COALESCE(MAX(seq), 0) FROM directory_changes",
                [],
                |r| r.get(0),
            )
            .map_err(db_error)
        })
        .await
    }

    async fn changes_since(&self, watermark: i64, limit: usize) -> Result<Vec<Change>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT seq, kind, object_id, op, related_id, at FROM directory_changes \
                     WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                )
                .map_err(db_error)?;
            let mut rows = stmt
                .query(params![watermark, limit as i64])
                .map_err(db_error)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(db_error)? {
                let kind: String = row.get(1).map_err(db_error)?;
                let object: String = row.get(2).map_err(db_error)?;
                let op: String = row.get(3).map_err(db_error)?;
                let related: Option<String> = row.get(4).map_err(db_error)?;
                out.push(change_from_columns(
                    row.get(0).map_err(db_error)?,
                    &kind,
                    &object,
                    &op,
                    related.as_deref(),
                    row.get(5).map_err(db_error)?,
                )?);
            }
            Ok(out)
        })
        .await
    }
}

#[async_trait]
impl SettingsStore for SqliteDirectory {
    async fn setting(&self, name: &str) -> Result<Option<String>, StoreError> {
        let name = name.to_string();
        self.read(move |conn| {
            conn.query_row(
                "SELECT value FROM directory_settings WHERE name = ?1",
                [name],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_error)
        })
        .await
    }

    async fn set_setting(&self, name: &str, value: &str) -> Result<(), StoreError> {
        let (name, value) = (name.to_string(), value.to_string());
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO directory_settings (name, value) VALUES (?1, ?2) \
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                [name, value],
            )
            .map_err(db_error)?;
            Ok(((), true))
        })
        .await
    }
}

#[cfg(test)]
mod tests {

    /// Ordered pages walk an index: none sorts the whole directory to return a page.
    #[tokio::test]
    async fn ordered_pages_use_an_index() {
        use provisio_directory::{Cursor, ListQuery, ObjectKind, OrderKey};
        let dir = tempfile::tempdir().expect("temp dir");
        let store = super::SqliteDirectory::open(dir.path())
            .await
            .expect("open");
        let after = Some(Cursor {
            key: "m".into(),
            id: uuid::Uuid::nil(),
        });
        for order in [
            OrderKey::Id,
            OrderKey::DisplayName,
            OrderKey::UserPrincipalName,
        ] {
            for descending in [false, true] {
                for after in [None, after.clone()] {
                    let query = ListQuery {
                        order,
                        descending,
                        after,
                        ..ListQuery::all(ObjectKind::User, 100)
                    };
                    let (sql, args) = super::list_sql(&query);
                    let plan = store
                        .read(move |conn| {
                            let mut stmt = conn
                                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                                .map_err(super::db_error)?;
                            let rows = stmt
                                .query_map(rusqlite::params_from_iter(args.iter()), |r| {
                                    r.get::<_, String>(3)
                                })
                                .map_err(super::db_error)?;
                            rows.collect::<Result<Vec<_>, _>>().map_err(super::db_error)
                        })
                        .await
                        .expect("plan");
                    let plan = plan.join(" / ");
                    assert!(plan.contains("USING"), "{query:?}: {plan}");
                    assert!(
                        !plan.contains("TEMP B-TREE FOR ORDER BY"),
                        "{query:?} sorts everything: {plan}"
                    );
                }
            }
        }
    }

    #[tokio::test]
    async fn assignment_lookups_walk_their_index() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = super::SqliteDirectory::open(dir.path())
            .await
            .expect("open");
        let id = Some(uuid::Uuid::nil());
        // (resource, principal, the index the plan must name)
        let cases = [
            (id, None, "directory_assignments_by_resource"),
            (None, id, "directory_assignments_by_principal"),
            (id, id, "directory_assignments_by_"),
        ];
        for (resource, principal, index) in cases {
            let (sql, args) = super::assignments_query(resource, principal, None, 10);
            let plan = store
                .read(move |conn| {
                    let mut stmt = conn
                        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                        .map_err(super::db_error)?;
                    let rows = stmt
                        .query_map(rusqlite::params_from_iter(args.iter()), |r| {
                            r.get::<_, String>(3)
                        })
                        .map_err(super::db_error)?;
                    rows.collect::<Result<Vec<_>, _>>().map_err(super::db_error)
                })
                .await
                .expect("plan")
                .join(" / ");
            assert!(plan.contains(index), "{resource:?} {principal:?}: {plan}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn conformance() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = super::SqliteDirectory::open(dir.path())
            .await
            .expect("open");
        provisio_directory::conformance::run(std::sync::Arc::new(store)).await;
    }
}
