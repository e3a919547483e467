//! Resource store of the SCIM server: users and groups of every tenant,
//! persisted in SQLite ([`SqliteStore`]) or PostgreSQL ([`PostgresStore`]).
//!
//! The store keeps the resource JSON as the server normalised it (without
//! `id`/`meta`), extracts the attributes that filters may use into indexed
//! columns, and keeps group membership in a table of its own so that
//! `members` (on groups) and `groups` (on users) always reflect the current
//! state of the referenced resources.
//!
//! Members are kept by id and need not exist (RFC 7644 §3.5.2 does not ask
//! servers to check them, and provisioning flows add a member before creating
//! it): a member that exists in the group's tenant is shown with its display,
//! one that does not is listed with the type it was written with. Members are
//! joined by id on read, so a member created later resolves by itself.

use std::collections::HashSet;

use async_trait::async_trait;
use provisio_scim::error::ScimError;
use serde_json::{Map, Value};

#[cfg(any(test, feature = "test-suite"))]
pub mod conformance;
mod postgres;
mod sqlite;

pub use postgres::{open_postgres, open_postgres_with, PostgresStore};
pub use sqlite::{open_sqlite, SqliteStore};

/// Kind of a stored resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceKind {
    User,
    Group,
}

impl ResourceKind {
    /// The SCIM resource type name, as stored and as used in `members[].type`.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::User => "User",
            ResourceKind::Group => "Group",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "User" => Ok(ResourceKind::User),
            "Group" => Ok(ResourceKind::Group),
            other => Err(StoreError::Backend(format!(
                "unknown resource kind {other:?} in the database"
            ))),
        }
    }
}

/// A resource as read from or written to the store.
#[derive(Debug, Clone)]
pub struct StoredResource {
    pub id: String,
    pub kind: ResourceKind,
    /// The resource JSON without `id`/`meta`. For groups `members` is attached
    /// from the members table when [`ReadOptions::with_members`] is set; for
    /// users the read-only `groups` when [`ReadOptions::with_groups`] is set.
    /// `create` and `replace` return the data as stored, without either;
    /// `create_with` and `update` attach them as their options say.
    pub data: Value,
    /// Starts at 1, +1 on each write; the server turns it into `W/"<version>"`.
    pub version: i64,
    /// RFC 3339 UTC with milliseconds, e.g. `2026-11-28T12:00:00.123Z`.
    pub created: String,
    pub last_modified: String,
    /// Insertion order, stable; the default list order.
    pub seq: i64,
}

/// What to attach on read.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadOptions {
    /// Groups: attach `members: [{value, display, type}]` (`display` only for
    /// members that exist in the tenant).
    pub with_members: bool,
    /// Users: attach `groups: [{value, display, type: "direct"}]`.
    pub with_groups: bool,
}

impl ReadOptions {
    pub const NONE: ReadOptions = ReadOptions {
        with_members: false,
        with_groups: false,
    };
    pub const ALL: ReadOptions = ReadOptions {
        with_members: true,
        with_groups: true,
    };
}

/// Attributes the store indexes.
#[derive(Debug, Clone, PartialEq)]
pub enum IndexedAttr {
    /// Exact.
    Id,
    /// Case-insensitive.
    UserName,
    /// Exact.
    ExternalId,
    /// Case-insensitive.
    DisplayName,
    /// `emails.value`, case-insensitive.
    EmailValue,
}

/// A filter the store answers from its indexes.
#[derive(Debug, Clone, PartialEq)]
pub enum IndexedFilter {
    Eq(IndexedAttr, String),
    /// All must match; an empty list matches everything.
    And(Vec<IndexedFilter>),
    /// Any must match; an empty list matches nothing.
    Or(Vec<IndexedFilter>),
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("resource not found")]
    NotFound,
    #[error("version mismatch: the current version is {current_version}")]
    PreconditionFailed { current_version: i64 },
    #[error("{0} is already taken")]
    Uniqueness(String),
    /// A `members` entry without a string `value` (the entry as JSON).
    #[error("member entry {0} has no \"value\"")]
    InvalidMember(String),
    #[error("store backend error: {0}")]
    Backend(String),
}

/// The change [`ResourceStore::update`] applies: given the current resource
/// (with `members`/`groups` as the update's [`ReadOptions`] say), the new
/// resource data, or `None` when nothing changes, or an error that refuses
/// the change. It runs inside the store's write transaction (on SQLite on the
/// writer thread): it must be quick and must not block.
pub type UpdateFn =
    Box<dyn FnOnce(&StoredResource) -> Result<Option<Value>, ScimError> + Send + 'static>;

/// What [`ResourceStore::update`] did.
#[derive(Debug, Clone)]
pub struct UpdateOutcome {
    /// The resource after the update, with `members`/`groups` attached as the
    /// update's [`ReadOptions`] say (as a `get` with them would return it).
    pub resource: StoredResource,
    /// False when the change returned `None`: nothing was written and the
    /// version is the one read.
    pub changed: bool,
}

/// Why [`ResourceStore::update`] failed. Either way nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The change refused the update.
    #[error("update refused: {0}")]
    Rejected(ScimError),
}

/// A change to the member list of a group, as [`ResourceStore::patch_members`]
/// applies it: adds, then removes. Only the rows it names are read and written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberChange {
    /// Ids to list; an id already listed stays as it is.
    pub add: Vec<String>,
    /// Ids to take off the list, compared exactly.
    pub remove: Vec<String>,
    /// Ids to take off the list together with every listed id that equals them
    /// ignoring letter case: how a `members[value eq "…"]` filter compares, since
    /// `members.value` is not case-exact.
    pub remove_any_case: Vec<String>,
}

impl MemberChange {
    /// What both backends apply, in this order: the ids to add (duplicates dropped), the
    /// ids to remove exactly (`remove`, and the `remove_any_case` ids that equal no other
    /// string ignoring case), and the `remove_any_case` ids left to compare with the group's
    /// member ids ([`ids_equal_ignoring_case`]).
    pub(crate) fn into_parts(self) -> (Vec<String>, Vec<String>, Vec<String>) {
        let (exact, folded): (Vec<String>, Vec<String>) = self
            .remove_any_case
            .into_iter()
            .partition(|id| caseless(id));
        let mut removes = self.remove;
        removes.extend(exact);
        (distinct(self.add), removes, folded)
    }
}

/// Whether `id` equals no other string ignoring letter case: ASCII without letters
/// (digits, punctuation). Such an id is removed by exact match; any other one makes
/// the store compare it with the group's every member id.
fn caseless(id: &str) -> bool {
    id.bytes().all(|b| b.is_ascii() && !b.is_ascii_alphabetic())
}

/// The ids `remove_any_case` asks to remove among `listed`, the group's member ids
/// (Unicode lowercasing, as the filter compares).
pub(crate) fn ids_equal_ignoring_case<'a>(
    wanted: &[String],
    listed: impl IntoIterator<Item = &'a str>,
) -> Vec<String> {
    let wanted: HashSet<String> = wanted.iter().map(|w| w.to_lowercase()).collect();
    listed
        .into_iter()
        .filter(|id| wanted.contains(&id.to_lowercase()))
        .map(str::to_string)
        .collect()
}

/// Ids in first occurrence order, duplicates dropped.
pub(crate) fn distinct(ids: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut seen = HashSet::new();
    ids.into_iter()
        .filter(|id| seen.insert(id.clone()))
        .collect()
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            if db.is_unique_violation() {
                let about_user_name = db.constraint() == Some("scim_resources_tenant_user_name")
                    || db.message().contains("user_name");
                if about_user_name {
                    return StoreError::Uniqueness("userName".to_string());
                }
            }
        }
        StoreError::Backend(e.to_string())
    }
}

#[async_trait]
pub trait ResourceStore: Send + Sync + 'static {
    /// Stores a new resource under a fresh uuid v4 id, version 1.
    async fn create(
        &self,
        tenant: &str,
        kind: ResourceKind,
        data: Value,
    ) -> Result<StoredResource, StoreError> {
        self.create_with(tenant, kind, data, ReadOptions::NONE)
            .await
    }

    /// Like [`create`](Self::create), and attaches `members`/`groups` as
    /// `opts` says, as a `get` with them right after would: in the same
    /// transaction, so the caller needs no second read.
    async fn create_with(
        &self,
        tenant: &str,
        kind: ResourceKind,
        data: Value,
        opts: ReadOptions,
    ) -> Result<StoredResource, StoreError>;

    async fn get(
        &self,
        tenant: &str,
        kind: ResourceKind,
        id: &str,
        opts: ReadOptions,
    ) -> Result<StoredResource, StoreError>;

    /// Replaces the whole resource; keeps `created`, bumps version and
    /// last_modified. `expected_version` makes it conditional.
    async fn replace(
        &self,
        tenant: &str,
        kind: ResourceKind,
        id: &str,
        data: Value,
        expected_version: Option<i64>,
    ) -> Result<StoredResource, StoreError>;

    /// Read-modify-write in one transaction: reads the resource (attaching
    /// `members`/`groups` as `opts` says), checks `expected_version`
    /// (PreconditionFailed), runs `change` on it and writes what it returns
    /// like [`replace`](Self::replace) would (so a group's members become
    /// the `members` it returns: read them with `opts`). Concurrent updates of one
    /// resource serialise: none is lost. `change` returning `None` writes
    /// nothing and keeps the version; an error from it writes nothing and
    /// comes back as [`UpdateError::Rejected`].
    async fn update(
        &self,
        tenant: &str,
        kind: ResourceKind,
        id: &str,
        opts: ReadOptions,
        expected_version: Option<i64>,
        change: UpdateFn,
    ) -> Result<UpdateOutcome, UpdateError>;

    /// Applies `change` to the members of group `id` in one transaction: checks
    /// that the group exists (NotFound) and `expected_version`
    /// (PreconditionFailed), adds and removes member rows, and moves `version`
    /// and `last_modified` only when a row was added or removed (a row added
    /// and removed again counts). Reads and writes only the rows `change`
    /// names (but for `remove_any_case` ids with letters, which are compared
    /// with the group's member ids), so its cost does not grow with the group.
    /// The group comes back with `members` attached as `opts` says.
    async fn patch_members(
        &self,
        tenant: &str,
        id: &str,
        expected_version: Option<i64>,
        change: MemberChange,
        opts: ReadOptions,
    ) -> Result<UpdateOutcome, StoreError>;

    /// Deletes the resource and every membership it takes part in.
    async fn delete(
        &self,
        tenant: &str,
        kind: ResourceKind,
        id: &str,
        expected_version: Option<i64>,
    ) -> Result<(), StoreError>;

    /// Exact page of resources matching `filter` (None = all), in seq order:
    /// (totalResults, page). offset is 0-based.
    async fn list(
        &self,
        tenant: &str,
        kind: ResourceKind,
        filter: Option<&IndexedFilter>,
        offset: u64,
        limit: u64,
        opts: ReadOptions,
    ) -> Result<(u64, Vec<StoredResource>), StoreError>;

    /// Keyset scan for filters the SQL cannot answer: up to `limit` resources
    /// with seq > after_seq (optionally narrowed by `filter`), in seq order.
    async fn scan(
        &self,
        tenant: &str,
        kind: ResourceKind,
        filter: Option<&IndexedFilter>,
        after_seq: i64,
        limit: u64,
        opts: ReadOptions,
    ) -> Result<Vec<StoredResource>, StoreError>;

    async fn count(&self, tenant: &str, kind: ResourceKind) -> Result<u64, StoreError>;
}

// ---------------------------------------------------------------------------
// Shared by both backends.
// ---------------------------------------------------------------------------

/// A resource ready to be written: the JSON to store and the index columns.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub data: Value,
    pub data_text: String,
    pub user_name: Option<String>,
    pub external_id: Option<String>,
    pub display_name: Option<String>,
    pub display: Option<String>,
    pub emails: Vec<String>,
    /// The stored email index rows already are `emails`: a replace leaves
    /// them alone. Set by the caller, false from [`prepare`].
    pub emails_stored: bool,
    /// Groups only: members, duplicates collapsed, first occurrence order.
    pub members: Option<Vec<MemberRef>>,
}

/// A group member as written: an id, which need not name a resource (yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MemberRef {
    pub id: String,
}

/// The `members` of a group as [`MemberRef`]s, duplicates collapsed, in first occurrence
/// order. Only an entry without a string `value` is refused; ids are not checked here (nor
/// anywhere), and a client's `type` is not kept: a member's type is its resource's kind.
fn parse_members(members_json: Option<Value>) -> Result<Vec<MemberRef>, StoreError> {
    let items = match members_json {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        // A single entry, as the server's normalisation accepts one.
        Some(single) => vec![single],
    };
    let mut seen: HashSet<String> = HashSet::new();
    let mut out = Vec::new();
    for item in items {
        let Some(id) = item.get("value").and_then(Value::as_str) else {
            return Err(StoreError::InvalidMember(item.to_string()));
        };
        if seen.insert(id.to_string()) {
            out.push(MemberRef { id: id.to_string() });
        }
    }
    Ok(out)
}

fn str_attr<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    obj.get(key).and_then(Value::as_str)
}

/// The `emails.value`s of a resource as the email index keeps them:
/// lowercased, duplicates dropped, in order.
pub(crate) fn email_index(obj: &Map<String, Value>) -> Vec<String> {
    let mut emails = Vec::new();
    if let Some(Value::Array(items)) = obj.get("emails") {
        let mut seen = HashSet::new();
        for item in items {
            if let Some(v) = item.get("value").and_then(Value::as_str) {
                let v = v.to_lowercase();
                if seen.insert(v.clone()) {
                    emails.push(v);
                }
            }
        }
    }
    emails
}

/// Whether the email index rows of `current` already are those of `p`, so
/// an update need not rewrite them.
pub(crate) fn same_emails(current: &StoredResource, p: &Prepared) -> bool {
    current
        .data
        .as_object()
        .is_some_and(|obj| email_index(obj) == p.emails)
}

/// Normalises `data` for storage and extracts the index columns.
pub(crate) fn prepare(kind: ResourceKind, data: Value) -> Result<Prepared, StoreError> {
    let Value::Object(mut obj) = data else {
        return Err(StoreError::Backend(
            "resource data must be a JSON object".to_string(),
        ));
    };
    obj.remove("id");
    obj.remove("meta");
    // Read-only / kept in the members table, never in the stored JSON.
    obj.remove("groups");
    let members_json = obj.remove("members");

    let members = match kind {
        ResourceKind::User => None,
        ResourceKind::Group => Some(parse_members(members_json)?),
    };

    let user_name = match kind {
        ResourceKind::User => str_attr(&obj, "userName").map(str::to_lowercase),
        ResourceKind::Group => None,
    };
    let external_id = str_attr(&obj, "externalId").map(str::to_string);
    let display_name_raw = str_attr(&obj, "displayName");
    let display_name = display_name_raw.map(str::to_lowercase);
    let display = display_name_raw
        .or_else(|| match kind {
            ResourceKind::User => str_attr(&obj, "userName"),
            ResourceKind::Group => None,
        })
        .map(str::to_string);

    let emails = email_index(&obj);

    let data = Value::Object(obj);
    let data_text = serde_json::to_string(&data)
        .map_err(|e| StoreError::Backend(format!("cannot serialise resource: {e}")))?;
    Ok(Prepared {
        data,
        data_text,
        user_name,
        external_id,
        display_name,
        display,
        emails,
        emails_stored: false,
        members,
    })
}

const TIMESTAMP: &[time::format_description::FormatItem<'static>] = time::macros::format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
);

/// Current time, RFC 3339 UTC with milliseconds.
pub(crate) fn now_timestamp() -> Result<String, StoreError> {
    time::OffsetDateTime::now_utc()
        .format(TIMESTAMP)
        .map_err(|e| StoreError::Backend(format!("cannot format timestamp: {e}")))
}

pub(crate) fn parse_data(text: &str) -> Result<Value, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Backend(format!("stored resource is not valid JSON: {e}")))
}

pub(crate) fn clamp_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// SQL text and its text arguments. Placeholders are `$N`, which both
/// PostgreSQL and SQLite (through sqlx) understand. `$1` is the tenant and
/// `$2` the kind.
pub(crate) struct SqlArgs {
    pub texts: Vec<String>,
}

impl SqlArgs {
    pub fn new(tenant: &str, kind: ResourceKind) -> Self {
        SqlArgs {
            texts: vec![tenant.to_string(), kind.as_str().to_string()],
        }
    }

    /// Adds an argument and returns its placeholder.
    pub fn push(&mut self, v: String) -> String {
        self.texts.push(v);
        format!("${}", self.texts.len())
    }

    /// Placeholder the next pushed argument will get (for non-text arguments
    /// bound after the texts).
    pub fn next_placeholder(&self, skip: usize) -> String {
        format!("${}", self.texts.len() + 1 + skip)
    }
}

/// Condition on `resources r` for `filter`. Each leaf (and an empty And)
/// carries the tenant and kind itself, so the whole condition implies them
/// (an empty Or is false) and every branch of an OR is answerable from one
/// index.
pub(crate) fn filter_sql(filter: &IndexedFilter, args: &mut SqlArgs) -> String {
    match filter {
        IndexedFilter::Eq(attr, value) => {
            let cond = match attr {
                IndexedAttr::Id => format!("r.id = {}", args.push(value.clone())),
                IndexedAttr::UserName => {
                    format!("r.user_name = {}", args.push(value.to_lowercase()))
                }
                IndexedAttr::ExternalId => {
                    format!("r.external_id = {}", args.push(value.clone()))
                }
                IndexedAttr::DisplayName => {
                    format!("r.display_name = {}", args.push(value.to_lowercase()))
                }
                IndexedAttr::EmailValue => format!(
                    "r.seq IN (SELECT e.resource_seq FROM scim_emails e WHERE e.tenant = $1 AND e.value = {})",
                    args.push(value.to_lowercase())
                ),
            };
            format!("(r.tenant = $1 AND r.kind = $2 AND {cond})")
        }
        IndexedFilter::And(items) if items.is_empty() => {
            "(r.tenant = $1 AND r.kind = $2)".to_string()
        }
        IndexedFilter::Or(items) if items.is_empty() => "(1 = 0)".to_string(),
        IndexedFilter::And(items) => join(items, " AND ", args),
        IndexedFilter::Or(items) if items.len() == 1 => filter_sql(&items[0], args),
        // A union of per-branch index lookups. A plain `a OR b` leaves the
        // choice to the planner, and SQLite without statistics prefers a
        // range over the tenant's whole (tenant, kind, seq) index.
        IndexedFilter::Or(items) => {
            let parts: Vec<String> = items
                .iter()
                .map(|f| {
                    format!(
                        "SELECT r.seq FROM scim_resources r WHERE {}",
                        filter_sql(f, args)
                    )
                })
                .collect();
            format!("r.seq IN ({})", parts.join(" UNION ALL "))
        }
    }
}

fn join(items: &[IndexedFilter], sep: &str, args: &mut SqlArgs) -> String {
    let parts: Vec<String> = items.iter().map(|f| filter_sql(f, args)).collect();
    format!("({})", parts.join(sep))
}

/// `WHERE` clause (without the keyword) for a tenant/kind and optional filter.
pub(crate) fn where_clause(filter: Option<&IndexedFilter>, args: &mut SqlArgs) -> String {
    match filter {
        None => "r.tenant = $1 AND r.kind = $2".to_string(),
        // No outer `tenant = $1 AND kind = $2`: SQLite would answer it with a
        // range over the tenant's (tenant, kind, seq) index instead of using
        // one index per OR branch. The filter implies both (see filter_sql).
        Some(f) => filter_sql(f, args),
    }
}

pub(crate) const RESOURCE_COLUMNS: &str =
    "r.seq, r.id, r.kind, r.data, r.version, r.created, r.last_modified";

/// A `members[]` or `groups[]` entry.
pub(crate) fn reference(id: String, display: Option<String>, ty: Option<&str>) -> Value {
    let mut m = Map::new();
    m.insert("value".to_string(), Value::String(id));
    if let Some(d) = display {
        m.insert("display".to_string(), Value::String(d));
    }
    if let Some(ty) = ty {
        m.insert("type".to_string(), Value::String(ty.to_string()));
    }
    Value::Object(m)
}

/// NotFound for a missing resource, PreconditionFailed when its version is
/// not `expected`: the start of [`ResourceStore::update`].
pub(crate) fn check_version(
    found: Option<StoredResource>,
    expected: Option<i64>,
) -> Result<StoredResource, StoreError> {
    let current = found.ok_or(StoreError::NotFound)?;
    match expected {
        Some(v) if v != current.version => Err(StoreError::PreconditionFailed {
            current_version: current.version,
        }),
        _ => Ok(current),
    }
}

/// Copies the computed `groups` of user `read` to `written`, the same user
/// after a write (a user's write does not change the groups it is in).
pub(crate) fn carry_groups(read: &StoredResource, written: &mut StoredResource) {
    if let (Some(groups), Some(data)) = (read.data.get("groups"), written.data.as_object_mut()) {
        data.insert("groups".to_string(), groups.clone());
    }
}

/// Sets `key` on the resource data when `items` is non-empty.
pub(crate) fn attach(data: &mut Value, key: &str, items: Vec<Value>) {
    if items.is_empty() {
        return;
    }
    if let Value::Object(m) = data {
        m.insert(key.to_string(), Value::Array(items));
    }
}

/// Attaches `refs`, the JSON array the backends' reference subqueries build:
/// `[id, type, display]` per member of a group, `[id, display]` per group of
/// a user.
pub(crate) fn attach_ref_json(
    data: &mut Value,
    kind: ResourceKind,
    refs: &str,
) -> Result<(), StoreError> {
    let bad = |e: serde_json::Error| StoreError::Backend(format!("bad reference list: {e}"));
    match kind {
        ResourceKind::Group => {
            // The type is the member resource's kind, or none while no resource of the
            // tenant has the member's id: the server does not assert what it does not know.
            let items: Vec<(String, Option<String>, Option<String>)> =
                serde_json::from_str(refs).map_err(bad)?;
            let items = items
                .into_iter()
                .map(|(id, ty, display)| reference(id, display, ty.as_deref()))
                .collect();
            attach(data, "members", items);
        }
        ResourceKind::User => {
            let items: Vec<(String, Option<String>)> = serde_json::from_str(refs).map_err(bad)?;
            let items = items
                .into_iter()
                .map(|(id, display)| reference(id, display, Some("direct")))
                .collect();
            attach(data, "groups", items);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
