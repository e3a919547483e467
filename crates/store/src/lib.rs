//! Storage of the source directory: [`SqliteDirectory`] (embedded, the default) and
//! [`PostgresDirectory`] (several workers), both implementing
//! [`provisio_directory::DirectoryStore`] and checked by the directory's conformance suite
//! (`provisio_directory::conformance`); and of the engine's state: [`SqliteSync`] and
//! [`PostgresSync`], implementing [`provisio_engine::state::SyncStore`] and checked by the
//! engine's (`provisio_engine::state::conformance`).

use std::path::Path;
use std::sync::Arc;

use provisio_directory::{
    Change, ChangeOp, DirectoryStore, IndexSeek, MemberRef, ObjectKind, StoreError,
    StoredAssignment, StoredObject,
};
use provisio_engine::state::SyncStore;
use serde_json::{Map, Value};
use uuid::Uuid;

mod postgres;
#[cfg(test)]
mod previous_version;
mod sqlite;
mod sync;

pub use postgres::PostgresDirectory;
pub use sqlite::SqliteDirectory;
pub use sync::{PostgresSync, SqliteSync};

/// Opens the stores: PostgreSQL when `database_url` is given (the directory and the
/// engine's state in that one database), else SQLite in `data_dir`: `directory.db`, and
/// `sync.db` beside it, with a writer of its own. Runs the migrations.
pub async fn open(data_dir: &Path, database_url: Option<&str>) -> Result<Stores, StoreError> {
    let sync_error = |e: provisio_engine::state::SyncStoreError| StoreError::Backend(e.to_string());
    Ok(match database_url {
        Some(url) => Stores::of(
            PostgresDirectory::connect(url).await?,
            PostgresSync::connect(url).await.map_err(sync_error)?,
        ),
        None => Stores::of(
            SqliteDirectory::open(data_dir).await?,
            SqliteSync::open(data_dir).await.map_err(sync_error)?,
        ),
    })
}

/// Every port of one opened database, each as the trait object its users need.
#[derive(Clone)]
pub struct Stores {
    pub directory: Arc<dyn DirectoryStore>,
    pub settings: Arc<dyn SettingsStore>,
    /// The engine's state: jobs, links, watermarks, provisioning logs, leases.
    pub sync: Arc<dyn SyncStore>,
}

impl Stores {
    pub fn of<S, Y>(store: S, sync: Y) -> Self
    where
        S: DirectoryStore + SettingsStore + Clone,
        Y: SyncStore,
    {
        Stores {
            directory: Arc::new(store.clone()),
            settings: Arc::new(store),
            sync: Arc::new(sync),
        }
    }
}

/// Small persisted settings of the server, such as the admin token's hash. Not part of the
/// directory: no change record, no Graph object.
#[async_trait::async_trait]
pub trait SettingsStore: Send + Sync + 'static {
    async fn setting(&self, name: &str) -> Result<Option<String>, StoreError>;

    async fn set_setting(&self, name: &str, value: &str) -> Result<(), StoreError>;
}

/// The lower-cased keys an object is indexed by.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct IndexKeys {
    /// Users: userPrincipalName; service principals: appId. Unique among live objects.
    pub unique: Option<String>,
    pub nickname: Option<String>,
    pub display: Option<String>,
    pub mail: Option<String>,
    /// Exact.
    pub employee_id: Option<String>,
}

impl IndexKeys {
    pub fn of(kind: ObjectKind, data: &Map<String, Value>) -> Self {
        let lower = |name: &str| {
            data.get(name)
                .and_then(Value::as_str)
                .map(str::to_lowercase)
        };
        IndexKeys {
            unique: match kind {
                ObjectKind::User => lower("userPrincipalName"),
                ObjectKind::ServicePrincipal => lower("appId"),
                ObjectKind::Group => None,
            },
            nickname: lower("mailNickname"),
            display: data
                .get("displayName")
                .and_then(Value::as_str)
                .map(provisio_directory::schema::collation_key),
            mail: lower("mail"),
            employee_id: data
                .get("employeeId")
                .and_then(Value::as_str)
                .map(str::to_string),
        }
    }

    /// The Graph name of the unique property of `kind`, for error messages.
    pub fn unique_property(kind: ObjectKind) -> &'static str {
        match kind {
            ObjectKind::User => "userPrincipalName",
            ObjectKind::ServicePrincipal => "appId",
            ObjectKind::Group => "id",
        }
    }
}

/// The column a seek reads.
pub(crate) fn seek_column(seek: IndexSeek) -> &'static str {
    match seek {
        IndexSeek::Id => "id",
        IndexSeek::UserPrincipalName | IndexSeek::AppId => "unique_key",
        IndexSeek::MailNickname => "nickname_key",
        IndexSeek::DisplayName => "display_key",
        IndexSeek::Mail => "mail_key",
        IndexSeek::EmployeeId => "employee_id",
    }
}

/// The value a seek compares with: lower-cased unless the key is exact.
pub(crate) fn seek_value(seek: IndexSeek, value: &str) -> String {
    if seek == IndexSeek::DisplayName {
        provisio_directory::schema::collation_key(value)
    } else if seek.case_insensitive() {
        value.to_lowercase()
    } else {
        value.to_string()
    }
}

pub(crate) fn now() -> String {
    provisio_directory::timestamp(time::OffsetDateTime::now_utc())
}

pub(crate) fn parse_uuid(s: &str) -> Result<Uuid, StoreError> {
    Uuid::try_parse(s).map_err(|e| StoreError::Backend(format!("stored id {s:?}: {e}")))
}

pub(crate) fn parse_kind(kind: &str) -> Result<ObjectKind, StoreError> {
    ObjectKind::parse(kind)
        .ok_or_else(|| StoreError::Backend(format!("unknown object kind {kind:?}")))
}

/// A member row as both stores select it: the member's id and its object's kind.
pub(crate) fn member_ref(id: &str, kind: &str) -> Result<MemberRef, StoreError> {
    Ok(MemberRef {
        id: parse_uuid(id)?,
        kind: parse_kind(kind)?,
    })
}

/// The columns of an assignment, in this order, as both stores select them.
/// The columns an object is read from, in the order [`ObjectRow`] takes them.
pub(crate) const OBJECT_COLUMNS: &str = "id, kind, data, manager_id, created, deleted, version";
/// [`OBJECT_COLUMNS`] of the objects table aliased `o` in a join.
pub(crate) const JOINED_OBJECT_COLUMNS: &str =
    "o.id, o.kind, o.data, o.manager_id, o.created, o.deleted, o.version";

/// An object's [`OBJECT_COLUMNS`] as either database returns them.
pub(crate) struct ObjectRow {
    pub id: String,
    pub kind: String,
    pub data: String,
    pub manager: Option<String>,
    pub created: String,
    pub deleted: Option<String>,
    pub version: i64,
}

impl ObjectRow {
    pub fn decode(self) -> Result<StoredObject, StoreError> {
        let id = self.id;
        Ok(StoredObject {
            id: parse_uuid(&id)?,
            kind: parse_kind(&self.kind)?,
            data: serde_json::from_str(&self.data)
                .map_err(|e| StoreError::Backend(format!("stored object {id} is not JSON: {e}")))?,
            manager: self.manager.as_deref().map(parse_uuid).transpose()?,
            created: self.created,
            deleted: self.deleted,
            version: self.version,
        })
    }
}

pub(crate) const ASSIGNMENT_COLUMNS: &str =
    "id, principal_id, principal_kind, resource_id, app_role_id, created";

/// The assignments query with only the filters given, so that the planners walk the
/// `(resource_id, id)` or `(principal_id, id)` index (a `(? IS NULL OR column = ?)` filter
/// kept SQLite on the primary key: assigning N objects, each checked first, cost O(N²)).
/// Parameters, numbered by `placeholder`: `after`, then the resource and the principal when
/// given, then the limit.
pub(crate) fn assignments_sql(
    resource: bool,
    principal: bool,
    placeholder: impl Fn(usize) -> String,
) -> String {
    let mut sql = format!(
        "SELECT {ASSIGNMENT_COLUMNS} FROM directory_assignments WHERE id > {}",
        placeholder(1)
    );
    let mut n = 1;
    for (given, column) in [(resource, "resource_id"), (principal, "principal_id")] {
        if given {
            n += 1;
            sql.push_str(&format!(" AND {column} = {}", placeholder(n)));
        }
    }
    sql.push_str(&format!(" ORDER BY id LIMIT {}", placeholder(n + 1)));
    sql
}

/// An assignment from its [`ASSIGNMENT_COLUMNS`], read as text by `get`.
pub(crate) fn assignment_from_columns(
    get: impl Fn(usize) -> Result<String, StoreError>,
) -> Result<StoredAssignment, StoreError> {
    let kind = get(2)?;
    Ok(StoredAssignment {
        id: parse_uuid(&get(0)?)?,
        principal: MemberRef {
            id: parse_uuid(&get(1)?)?,
            kind: ObjectKind::parse(&kind)
                .ok_or_else(|| StoreError::Backend(format!("unknown principal kind {kind:?}")))?,
        },
        resource_id: parse_uuid(&get(3)?)?,
        app_role_id: parse_uuid(&get(4)?)?,
        created: get(5)?,
    })
}

/// A change record from its stored columns.
pub(crate) fn change_from_columns(
    seq: i64,
    kind: &str,
    object: &str,
    op: &str,
    related: Option<&str>,
    at: String,
) -> Result<Change, StoreError> {
    Ok(Change {
        seq,
        kind: ObjectKind::parse(kind).ok_or_else(|| {
            StoreError::Backend(format!("unknown kind {kind:?} in the change log"))
        })?,
        object_id: parse_uuid(object)?,
        op: ChangeOp::parse(op)
            .ok_or_else(|| StoreError::Backend(format!("unknown op {op:?} in the change log")))?,
        related_id: related.map(parse_uuid).transpose()?,
        at,
    })
}

/// The manager links of an import batch by the user they start from, for users the batch
/// names exactly one manager for (with several, the links must apply one after the other).
pub(crate) fn sole_manager_links(
    links: &[provisio_directory::ImportReference],
) -> std::collections::HashMap<provisio_directory::ObjectRef, usize> {
    use provisio_directory::ReferenceKind;
    let mut sole = std::collections::HashMap::new();
    let mut several = std::collections::HashSet::new();
    for (i, link) in links.iter().enumerate() {
        if link.kind == ReferenceKind::Manager && sole.insert(link.from.clone(), i).is_some() {
            several.insert(link.from.clone());
        }
    }
    sole.retain(|from, _| !several.contains(from));
    sole
}
