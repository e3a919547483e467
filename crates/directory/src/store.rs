//! The port the directory is stored through, implemented for SQLite and PostgreSQL by the
//! `store` crate and checked by one conformance suite.
//!
//! Every write appends its change records in the same transaction, and change records are
//! numbered in commit order: a reader that has seen everything up to sequence number `w`
//! (its watermark) and asks for the changes after `w` gets every later change exactly once,
//! in order, even with concurrent writers.

use async_trait::async_trait;
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{DirectoryError, ObjectKind};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StoreError {
    /// The object (by id) does not exist, or is deleted where a live one is needed.
    #[error("{0} not found")]
    NotFound(String),
    /// A unique property is taken by another live object: its Graph name.
    #[error("{0} is already taken")]
    Unique(String),
    /// An update function refused the change.
    #[error("{0}")]
    Rejected(DirectoryError),
    #[error("store backend error: {0}")]
    Backend(String),
}

/// A directory object as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredObject {
    pub id: Uuid,
    pub kind: ObjectKind,
    /// Canonical properties without `id`, `createdDateTime`, `deletedDateTime`.
    pub data: Map<String, Value>,
    /// Users: the manager's id. The manager may since have been deleted.
    pub manager: Option<Uuid>,
    /// `YYYY-MM-DDTHH:MM:SSZ`.
    pub created: String,
    /// Set while the object is in deleted items.
    pub deleted: Option<String>,
    /// +1 on every write.
    pub version: i64,
}

/// A stored object with its properties as the stored JSON text, for lists that render
/// objects without building JSON values for them.
#[derive(Debug, Clone, PartialEq)]
pub struct RawObject {
    pub id: Uuid,
    pub kind: ObjectKind,
    /// [`StoredObject::data`] as JSON text.
    pub data: String,
    pub created: String,
    pub deleted: Option<String>,
}

/// A member of a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct MemberRef {
    pub id: Uuid,
    pub kind: ObjectKind,
}

/// An app role assignment of a user or group to a service principal.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAssignment {
    pub id: Uuid,
    pub principal: MemberRef,
    pub resource_id: Uuid,
    pub app_role_id: Uuid,
    pub created: String,
}

/// What happened to an object, as recorded in the change log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ChangeOp {
    Created,
    Updated,
    /// Sent to deleted items (soft delete).
    Deleted,
    Restored,
    /// Removed for good.
    Purged,
    ManagerChanged,
    MemberAdded,
    MemberRemoved,
    AssignmentAdded,
    AssignmentRemoved,
}

impl ChangeOp {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeOp::Created => "created",
            ChangeOp::Updated => "updated",
            ChangeOp::Deleted => "deleted",
            ChangeOp::Restored => "restored",
            ChangeOp::Purged => "purged",
            ChangeOp::ManagerChanged => "managerChanged",
            ChangeOp::MemberAdded => "memberAdded",
            ChangeOp::MemberRemoved => "memberRemoved",
            ChangeOp::AssignmentAdded => "assignmentAdded",
            ChangeOp::AssignmentRemoved => "assignmentRemoved",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            ChangeOp::Created,
            ChangeOp::Updated,
            ChangeOp::Deleted,
            ChangeOp::Restored,
            ChangeOp::Purged,
            ChangeOp::ManagerChanged,
            ChangeOp::MemberAdded,
            ChangeOp::MemberRemoved,
            ChangeOp::AssignmentAdded,
            ChangeOp::AssignmentRemoved,
        ]
        .into_iter()
        .find(|op| op.as_str() == s)
    }
}

/// One change record.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// Position in the log: strictly increasing in commit order. A watermark is the
    /// sequence number of the last change a reader has processed.
    pub seq: i64,
    pub kind: ObjectKind,
    pub object_id: Uuid,
    pub op: ChangeOp,
    /// The other end of a reference change: the member, the manager (none when removed),
    /// the assigned principal (for assignment changes the object is the service principal).
    pub related_id: Option<Uuid>,
    pub at: String,
}

/// Indexed properties a list can seek on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexSeek {
    Id,
    /// Users (case-insensitive).
    UserPrincipalName,
    /// Users and groups (case-insensitive).
    MailNickname,
    /// Case-insensitive.
    DisplayName,
    /// Case-insensitive.
    Mail,
    /// Users, exact.
    EmployeeId,
    /// Service principals (case-insensitive).
    AppId,
}

impl IndexSeek {
    /// The Graph property it indexes.
    pub fn property(self) -> &'static str {
        match self {
            IndexSeek::Id => "id",
            IndexSeek::UserPrincipalName => "userPrincipalName",
            IndexSeek::MailNickname => "mailNickname",
            IndexSeek::DisplayName => "displayName",
            IndexSeek::Mail => "mail",
            IndexSeek::EmployeeId => "employeeId",
            IndexSeek::AppId => "appId",
        }
    }

    /// The indexes each kind has.
    pub fn for_kind(kind: ObjectKind) -> &'static [IndexSeek] {
        match kind {
            ObjectKind::User => &[
                IndexSeek::Id,
                IndexSeek::UserPrincipalName,
                IndexSeek::MailNickname,
                IndexSeek::DisplayName,
                IndexSeek::Mail,
                IndexSeek::EmployeeId,
            ],
            ObjectKind::Group => &[
                IndexSeek::Id,
                IndexSeek::MailNickname,
                IndexSeek::DisplayName,
                IndexSeek::Mail,
            ],
            ObjectKind::ServicePrincipal => {
                &[IndexSeek::Id, IndexSeek::DisplayName, IndexSeek::AppId]
            }
        }
    }

    /// Whether the stored key is the lower-cased value (else exact).
    pub fn case_insensitive(self) -> bool {
        !matches!(self, IndexSeek::EmployeeId)
    }
}

/// Order of a list: keyset paging on (key, id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrderKey {
    /// Creation order is not stable across stores; ids are.
    #[default]
    Id,
    /// Case-insensitive.
    DisplayName,
    /// Case-insensitive.
    UserPrincipalName,
}

/// Where a page starts: after this (key, id). For [`OrderKey::Id`] the key is the id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub key: String,
    pub id: Uuid,
}

/// A list request the store answers from its indexes. The caller applies any further
/// filter to what comes back.
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    pub kind: ObjectKind,
    /// Only objects whose `seek` key equals one of the values (case as [`IndexSeek`] says;
    /// the store lower-cases case-insensitive ones).
    pub seek: Option<(IndexSeek, Vec<String>)>,
    /// Only objects whose key starts with this prefix (case-insensitive).
    pub prefix: Option<(IndexSeek, String)>,
    pub order: OrderKey,
    pub descending: bool,
    pub after: Option<Cursor>,
    pub limit: usize,
    /// List deleted items instead of live objects.
    pub deleted: bool,
}

impl ListQuery {
    pub fn all(kind: ObjectKind, limit: usize) -> Self {
        ListQuery {
            kind,
            seek: None,
            prefix: None,
            order: OrderKey::Id,
            descending: false,
            after: None,
            limit,
            deleted: false,
        }
    }
}

/// The change an update makes, computed from the stored object inside the store's
/// transaction: new data (complete, canonical), or `None` when nothing changes.
pub type UpdateFn =
    Box<dyn FnOnce(&StoredObject) -> Result<Option<Map<String, Value>>, DirectoryError> + Send>;

/// What an update did.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectUpdate {
    pub object: StoredObject,
    pub changed: bool,
}

/// How an import names another object: by id, or by a user's `userPrincipalName` or a
/// group's `mailNickname` (case-insensitive).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ObjectRef {
    Id(Uuid),
    UserPrincipalName(String),
    MailNickname(String),
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ObjectRef::Id(id) => write!(f, "{id}"),
            ObjectRef::UserPrincipalName(s) | ObjectRef::MailNickname(s) => f.write_str(s),
        }
    }
}

/// An object to write in an import batch.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportObject {
    /// Line (or record) number in the caller's file, echoed in outcomes.
    pub line: u64,
    pub kind: ObjectKind,
    /// `Some` when the caller gave an id: created with it, or updates it.
    pub id: Option<Uuid>,
    /// Validated and canonical (as for a create).
    pub data: Map<String, Value>,
}

impl ImportObject {
    /// What an import matches this object by: its id when the record gives one, else a
    /// user's `userPrincipalName` or a group's `mailNickname` (validation fills both in).
    /// Service principals are not imported and have none.
    pub fn key(&self) -> Option<ObjectRef> {
        match self.id {
            Some(id) => Some(ObjectRef::Id(id)),
            None => self.key_property(),
        }
    }

    /// Every reference that names this object: its id when given, and its key property.
    pub fn names(&self) -> Vec<ObjectRef> {
        self.id
            .map(ObjectRef::Id)
            .into_iter()
            .chain(self.key_property())
            .collect()
    }

    fn key_property(&self) -> Option<ObjectRef> {
        let (property, reference): (&str, fn(String) -> ObjectRef) = match self.kind {
            ObjectKind::User => ("userPrincipalName", ObjectRef::UserPrincipalName),
            ObjectKind::Group => ("mailNickname", ObjectRef::MailNickname),
            ObjectKind::ServicePrincipal => return None,
        };
        let value = self.data.get(property).and_then(Value::as_str)?;
        Some(reference(value.to_string()))
    }
}

/// A reference an import sets: `from`'s manager, or a member of group `from`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReference {
    pub line: u64,
    pub from: ObjectRef,
    pub kind: ReferenceKind,
    pub to: ObjectRef,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ReferenceKind {
    /// `from` is a user, `to` its manager (a user).
    Manager,
    /// `from` is a group, `to` a user or group added to it (never removed by an import).
    Member,
}

/// What happened to one imported object.
#[derive(Debug, Clone, PartialEq)]
pub enum ImportResult {
    Created(Uuid),
    Updated(Uuid),
    Unchanged(Uuid),
    Failed(DirectoryError),
}

/// What an import batch did.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ImportReport {
    /// One per object, in order.
    pub objects: Vec<ImportResult>,
    /// Links whose ends do not exist (yet): the caller may send them again later, after
    /// the objects they name have been imported.
    pub unresolved: Vec<ImportReference>,
    /// Links that were refused (a cycle of managers, a group containing itself, an end of
    /// the wrong kind), with the reason.
    pub failed_references: Vec<(ImportReference, DirectoryError)>,
}

/// Directory objects: create, read, update, soft delete, restore, purge, list and count.
#[async_trait]
pub trait ObjectStore: Send + Sync + 'static {
    /// Creates a live object with a new id (or `id`); appends `created`.
    /// Fails with [`StoreError::Unique`] when a unique key is taken by a live object and
    /// with `Unique("id")` when the id exists (live or deleted).
    async fn create(
        &self,
        kind: ObjectKind,
        id: Uuid,
        data: Map<String, Value>,
        manager: Option<Uuid>,
        members: Vec<MemberRef>,
    ) -> Result<StoredObject, StoreError>;

    /// The object, live or (with `deleted`) in deleted items.
    async fn get(
        &self,
        kind: ObjectKind,
        id: Uuid,
        deleted: bool,
    ) -> Result<Option<StoredObject>, StoreError>;

    /// The live object of any kind with this id.
    async fn get_any(&self, id: Uuid) -> Result<Option<StoredObject>, StoreError>;

    /// Read-modify-write of a live object in one transaction; appends `updated` when it
    /// changed.
    async fn update(
        &self,
        kind: ObjectKind,
        id: Uuid,
        change: UpdateFn,
    ) -> Result<ObjectUpdate, StoreError>;

    /// Users and groups go to deleted items (`deleted`); service principals are removed
    /// with their assignments (`purged`).
    async fn delete(&self, kind: ObjectKind, id: Uuid) -> Result<(), StoreError>;

    /// Brings a deleted object back (`restored`). Fails with `Unique` when its unique key
    /// has been taken meanwhile.
    async fn restore(&self, id: Uuid) -> Result<StoredObject, StoreError>;

    /// Removes a deleted object for good, with its memberships, manager links and
    /// assignments (`purged`).
    async fn purge(&self, id: Uuid) -> Result<(), StoreError>;

    /// Purges every object deleted before `before` (a stored timestamp); returns how many.
    async fn purge_deleted_before(&self, before: &str) -> Result<u64, StoreError>;

    async fn list(&self, query: &ListQuery) -> Result<Vec<StoredObject>, StoreError>;

    /// [`DirectoryStore::list`] with the data left as stored JSON text.
    async fn list_raw(&self, query: &ListQuery) -> Result<Vec<RawObject>, StoreError>;

    /// Live objects of `kind` (or deleted ones).
    async fn count(&self, kind: ObjectKind, deleted: bool) -> Result<u64, StoreError>;

    /// The id of the live object whose case-insensitive key matches `value`.
    async fn lookup(
        &self,
        kind: ObjectKind,
        key: IndexSeek,
        value: &str,
    ) -> Result<Option<Uuid>, StoreError>;
}

/// References between objects: a user's manager and a group's members.
#[async_trait]
pub trait ReferenceStore: Send + Sync + 'static {
    /// Sets or removes a user's manager (`managerChanged` on the user).
    async fn set_manager(&self, user: Uuid, manager: Option<Uuid>) -> Result<(), StoreError>;

    /// Live users whose manager is `manager`, by id, after `after`.
    async fn direct_reports(
        &self,
        manager: Uuid,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<StoredObject>, StoreError>;

    /// The manager of each of `users` that is a live user with one, as `(user, manager)`, in
    /// no particular order: what a caller ordering users by their managers needs, without
    /// reading (and parsing) the users themselves.
    async fn managers_of(&self, users: &[Uuid]) -> Result<Vec<(Uuid, Uuid)>, StoreError>;

    /// Adds a live member to a live group (`memberAdded` on the group). Returns false when
    /// it was a member already.
    async fn add_member(&self, group: Uuid, member: MemberRef) -> Result<bool, StoreError>;

    /// Removes a member (`memberRemoved`). Returns false when it was not a member.
    async fn remove_member(&self, group: Uuid, member: Uuid) -> Result<bool, StoreError>;

    /// Live members of a group, by id, after `after`.
    async fn members(
        &self,
        group: Uuid,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<StoredObject>, StoreError>;

    /// Live members of a group as ids and kinds, by id, after `after`: what [`members`](Self::members)
    /// lists without reading the objects, for callers that need only who the members are
    /// (a group of 300,000 members is 300,000 whole objects otherwise).
    async fn member_refs(
        &self,
        group: Uuid,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<MemberRef>, StoreError>;

    /// Live groups that `member` is a direct member of.
    async fn member_of(&self, member: Uuid) -> Result<Vec<StoredObject>, StoreError>;
}

/// App role assignments of users and groups to service principals.
#[async_trait]
pub trait AssignmentStore: Send + Sync + 'static {
    /// Assigns a principal to a service principal (`assignmentAdded` on the service
    /// principal, related to the principal).
    async fn add_assignment(&self, assignment: StoredAssignment) -> Result<(), StoreError>;

    async fn remove_assignment(&self, id: Uuid) -> Result<StoredAssignment, StoreError>;

    async fn get_assignment(&self, id: Uuid) -> Result<Option<StoredAssignment>, StoreError>;

    /// Assignments to a service principal (`resource`) or of a principal, by id.
    async fn assignments(
        &self,
        resource: Option<Uuid>,
        principal: Option<Uuid>,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<StoredAssignment>, StoreError>;
}

/// Bulk writes of import batches.
#[async_trait]
pub trait ImportStore: Send + Sync + 'static {
    /// Writes an import batch in one transaction: each object is created, updated or left
    /// alone (matched by id, else by its unique key: a user's `userPrincipalName`, a group's
    /// `mailNickname`), then the links are set; a failed object or link does not stop the
    /// others. With `dry_run` the transaction is rolled back.
    async fn import(
        &self,
        objects: Vec<ImportObject>,
        links: Vec<ImportReference>,
        dry_run: bool,
    ) -> Result<ImportReport, StoreError>;

    /// Called once an import has written all its batches: a store whose query planner
    /// keeps statistics refreshes them, so that the first queries after a bulk load do not
    /// plan for the table as it was before.
    async fn imported(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// The change log that delta queries and provisioning cycles read from a watermark.
#[async_trait]
pub trait ChangeLog: Send + Sync + 'static {
    /// The sequence number of the last change (0 when there is none).
    async fn watermark(&self) -> Result<i64, StoreError>;

    /// Up to `limit` changes after `watermark`, in order.
    async fn changes_since(&self, watermark: i64, limit: usize) -> Result<Vec<Change>, StoreError>;
}

/// The directory port: every capability a directory store has. The write contract every
/// implementation keeps: each write appends its change records in the same transaction,
/// numbered in commit order, so a reader at watermark `w` sees every later change once.
pub trait DirectoryStore:
    ObjectStore + ReferenceStore + AssignmentStore + ImportStore + ChangeLog
{
}

impl<T> DirectoryStore for T where
    T: ObjectStore + ReferenceStore + AssignmentStore + ImportStore + ChangeLog
{
}
