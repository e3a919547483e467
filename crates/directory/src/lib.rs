//! The source directory: users, groups, service principals and app role assignments, with
//! Microsoft Graph's attribute names, soft delete, and a change log that incremental
//! provisioning cycles read from a watermark.
//!
//! This crate does no IO of its own: it validates and shapes directory objects, and it
//! orchestrates reads and writes through its ports ([`DirectoryStore`] and the capability
//! traits it is made of), which the `store` crate implements for SQLite and PostgreSQL and
//! [`MemoryDirectory`] implements in memory for tests.

#[cfg(any(test, feature = "test-suite"))]
pub mod conformance;
mod error;
pub mod import;
mod memory;
pub mod schema;
mod service;
mod store;

pub use error::{DirectoryError, ErrorCode};
pub use memory::MemoryDirectory;
pub use service::{cursor_of, sort_key};
pub use service::{Directory, DirectoryConfig, ListPage, ListRequest, MemberRefPages, Presence};
pub use store::{
    AssignmentStore, Change, ChangeLog, ChangeOp, Cursor, DirectoryStore, ImportObject,
    ImportReference, ImportReport, ImportResult, ImportStore, IndexSeek, ListQuery, MemberRef,
    ObjectRef, ObjectStore, ObjectUpdate, OrderKey, RawObject, ReferenceKind, ReferenceStore,
    StoreError, StoredAssignment, StoredObject, UpdateFn,
};

use serde::Serialize;

/// The kinds of directory objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum ObjectKind {
    User,
    Group,
    ServicePrincipal,
}

impl ObjectKind {
    /// As stored, and as used in change records.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::User => "user",
            ObjectKind::Group => "group",
            ObjectKind::ServicePrincipal => "servicePrincipal",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "user" => Some(ObjectKind::User),
            "group" => Some(ObjectKind::Group),
            "servicePrincipal" => Some(ObjectKind::ServicePrincipal),
            _ => None,
        }
    }

    /// Graph's type name: `microsoft.graph.user`.
    pub fn odata_type(self) -> &'static str {
        match self {
            ObjectKind::User => "#microsoft.graph.user",
            ObjectKind::Group => "#microsoft.graph.group",
            ObjectKind::ServicePrincipal => "#microsoft.graph.servicePrincipal",
        }
    }

    /// The entity set: `users`, `groups`, `servicePrincipals`.
    pub fn entity_set(self) -> &'static str {
        match self {
            ObjectKind::User => "users",
            ObjectKind::Group => "groups",
            ObjectKind::ServicePrincipal => "servicePrincipals",
        }
    }

    /// The name Graph uses in messages: `User`, `Group`, `ServicePrincipal`.
    pub fn display_name(self) -> &'static str {
        match self {
            ObjectKind::User => "User",
            ObjectKind::Group => "Group",
            ObjectKind::ServicePrincipal => "ServicePrincipal",
        }
    }

    /// Whether deleting sends the object to deleted items (users and groups) rather than
    /// removing it at once.
    pub fn soft_deletes(self) -> bool {
        matches!(self, ObjectKind::User | ObjectKind::Group)
    }
}

/// A new object id: a version 7 UUID, whose leading timestamp makes ids of objects created
/// together sort together, so that inserting many objects appends to the id indexes
/// instead of touching a random page of each for every object.
pub fn new_object_id() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}

/// The app role id Entra uses for "Default Access" on applications that declare no roles.
pub const DEFAULT_ACCESS_ROLE: uuid::Uuid = uuid::Uuid::nil();

/// Current time, truncated to milliseconds, as RFC 3339 with a `Z`: the form every stored
/// timestamp has, so that they sort as strings.
pub fn timestamp(at: time::OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}
