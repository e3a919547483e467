//! The engine's state and the port it is kept behind (`SyncStore`): jobs, the secrets of a
//! service principal (sealed), links from source objects to target accounts with their
//! provenance and the shadow of what was last exported, watermarks, provisioning log rows,
//! and the lease that makes one worker at a time run a job.
//!
//! Contract every implementation keeps (the conformance suite checks it on each):
//! - a job's id is unique; deleting a job deletes everything of it (links, watermark, logs,
//!   lease) in the same transaction;
//! - a link is keyed by (job, object type, source id), and a target id is linked to at most
//!   one source object of a job and type: `put_link` refuses a second one with
//!   [`SyncStoreError::TargetTaken`], naming the source that holds it;
//! - a cycle's writes carry the [`Fence`] of the lease the worker holds; a write whose fence
//!   is no longer the job's (the lease expired and another worker took it) fails with
//!   [`SyncStoreError::Fenced`] and changes nothing;
//! - lists are keyset pages in a stable order (links by source id, log rows by activity time
//!   then id), so that paging while rows are written neither repeats nor skips a row.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

#[cfg(any(test, feature = "test-suite"))]
pub mod conformance;
pub mod memory;

/// Why a state operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyncStoreError {
    #[error("job '{0}' does not exist")]
    JobNotFound(String),
    #[error("job '{0}' exists already")]
    JobExists(String),
    /// An update carried an outdated version of the job.
    #[error("job '{job}' was changed meanwhile (version {current})")]
    VersionConflict { job: String, current: i64 },
    /// The target account is linked to another source object of the same job and type.
    #[error("target '{target_id}' is linked to source object {source_id} already")]
    TargetTaken { target_id: String, source_id: Uuid },
    /// The writer's lease is gone: another worker runs the job now.
    #[error("the lease on job '{0}' is held by another worker")]
    Fenced(String),
    #[error("state store: {0}")]
    Backend(String),
}

/// A job as stored: Graph's `synchronizationJob` JSON (with `schedule`, `status` and
/// settings as the engine maintains them) and its schema, which the store keeps opaque.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRecord {
    /// `scim.<32 hex>`.
    pub id: String,
    pub service_principal_id: Uuid,
    pub template_id: String,
    /// The `synchronizationJob` JSON object without its schema.
    pub job: Value,
    /// The `synchronizationSchema` JSON object.
    pub schema: Value,
    /// Bumped by every update; updates name the version they read.
    pub version: i64,
    pub created: String,
}

/// A source object type as the schema names it (`User`, `Group`).
pub type ObjectType = String;

/// How a link came to be: the account was created for the source object, or an existing
/// one was matched by one of the matching attributes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "origin", rename_all = "camelCase")]
pub enum LinkOrigin {
    Created,
    #[serde(rename_all = "camelCase")]
    Matched {
        /// The target attribute that was queried (`externalId`).
        target_attribute: String,
        /// The source attribute or expression that gave the value (`mailNickname`).
        source_attribute: String,
        value: String,
    },
    /// Written by an operator (a repair).
    Manual,
}

/// A link whose target the current matching rules would no longer choose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Staleness {
    /// When a cycle found the link stale.
    pub found: String,
    /// The account the rules would choose now, if any (none when they find no account or
    /// more than one).
    pub would_choose: Option<String>,
    /// Why, in words (`matched by userName = "ann@contoso.com": 8c1f…`).
    pub reason: String,
}

/// One source object linked to one target account (Entra's connector data store entry).
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    pub job_id: String,
    pub object_type: ObjectType,
    pub source_id: Uuid,
    pub target_id: String,
    /// The source object's display name when the link was last written.
    pub display_name: Option<String>,
    pub origin: LinkOrigin,
    /// When the link was made.
    pub made: String,
    /// The target resource as last exported (what the next cycle diffs against), if any.
    pub shadow: Option<Value>,
    pub stale: Option<Staleness>,
}

/// Which links a list returns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LinkQuery {
    pub object_type: Option<ObjectType>,
    pub stale: Option<bool>,
    /// Links after this source id (keyset paging).
    pub after: Option<Uuid>,
    pub limit: usize,
}

/// One provisioning log row: Graph's `provisioningObjectSummary` JSON, with the columns
/// the log is filtered and paged by. Rows are read with the summary parsed (`LogRow`) and
/// written with it as text ([`NewLogRow`]).
#[derive(Debug, Clone, PartialEq)]
pub struct LogRow<Summary = Value> {
    pub id: Uuid,
    pub job_id: String,
    pub cycle_id: Uuid,
    /// RFC 3339 UTC with milliseconds, so that rows sort as text.
    pub activity: String,
    /// `provisioningAction`: create, update, delete, disable, stageddelete, other.
    pub action: String,
    /// `provisioningStatusInfo/status`: success, warning, failure, skipped.
    pub status: String,
    pub source_id: Option<String>,
    pub target_id: Option<String>,
    pub summary: Summary,
}

/// A log row as the cycle writes it: its summary serialised once, where it is made.
pub type NewLogRow = LogRow<SummaryText>;

/// A `provisioningObjectSummary` as JSON text. A cycle writes a row for every object it
/// processes and the rows are seldom read: the text goes to the store as it is, without a
/// `Value` tree built and serialised on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryText(String);

impl SummaryText {
    /// The summary serialised; fails only for a value serde_json cannot write (a map with
    /// keys that are not strings).
    pub fn of(summary: &impl Serialize) -> Result<Self, serde_json::Error> {
        serde_json::to_string(summary).map(SummaryText)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    /// The summary parsed back.
    pub fn parse(&self) -> Result<Value, SyncStoreError> {
        serde_json::from_str(&self.0)
            .map_err(|e| SyncStoreError::Backend(format!("a log summary does not parse: {e}")))
    }
}

impl LogRow<Value> {
    /// The row as the cycle would write it, for tests that write rows they built.
    pub fn to_new(&self) -> NewLogRow {
        LogRow {
            id: self.id,
            job_id: self.job_id.clone(),
            cycle_id: self.cycle_id,
            activity: self.activity.clone(),
            action: self.action.clone(),
            status: self.status.clone(),
            source_id: self.source_id.clone(),
            target_id: self.target_id.clone(),
            summary: SummaryText(self.summary.to_string()),
        }
    }
}

/// Which log rows a list returns, oldest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogQuery {
    pub job_id: Option<String>,
    pub cycle_id: Option<Uuid>,
    /// `activity >= from`.
    pub from: Option<String>,
    /// `activity < to`.
    pub to: Option<String>,
    pub action: Option<String>,
    pub status: Option<String>,
    pub source_id: Option<String>,
    pub target_id: Option<String>,
    /// Rows after this (activity, id) (keyset paging).
    pub after: Option<(String, Uuid)>,
    pub limit: usize,
}

/// The fencing token of a lease: it grows every time the lease changes hands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Fence(pub i64);

/// Jobs and their schemas.
#[async_trait]
pub trait JobStore: Send + Sync + 'static {
    /// Stores a new job at version 1.
    async fn create_job(&self, job: JobRecord) -> Result<JobRecord, SyncStoreError>;

    async fn job(&self, id: &str) -> Result<Option<JobRecord>, SyncStoreError>;

    /// The jobs of a service principal, by id.
    async fn jobs(&self, service_principal: Uuid) -> Result<Vec<JobRecord>, SyncStoreError>;

    /// Every job, by id (for the scheduler).
    async fn all_jobs(&self) -> Result<Vec<JobRecord>, SyncStoreError>;

    /// Replaces the job's JSON and schema when its version is still `expected`; returns the
    /// record at its new version. A worker's write (its status after a cycle, the resets it
    /// applied) carries its lease's `fence` and is refused with `Fenced` once another worker
    /// holds the job; the API's writes carry none.
    async fn update_job(
        &self,
        id: &str,
        expected: i64,
        job: Value,
        schema: Value,
        fence: Option<Fence>,
    ) -> Result<JobRecord, SyncStoreError>;

    /// Deletes the job with its links, watermark, lease and log rows; false when it did
    /// not exist.
    async fn delete_job(&self, id: &str) -> Result<bool, SyncStoreError>;

    /// The sealed secrets of a service principal (`synchronization/secrets`).
    async fn secrets(&self, service_principal: Uuid) -> Result<Option<Vec<u8>>, SyncStoreError>;

    async fn put_secrets(
        &self,
        service_principal: Uuid,
        sealed: Vec<u8>,
    ) -> Result<(), SyncStoreError>;
}

/// Links, their shadows, and the watermark: what a cycle reads and writes.
#[async_trait]
pub trait LinkStore: Send + Sync + 'static {
    async fn link(
        &self,
        job: &str,
        object_type: &str,
        source_id: Uuid,
    ) -> Result<Option<Link>, SyncStoreError>;

    /// The link that holds a target account, of any object type.
    async fn link_by_target(
        &self,
        job: &str,
        target_id: &str,
    ) -> Result<Option<Link>, SyncStoreError>;

    async fn links(&self, job: &str, query: &LinkQuery) -> Result<Vec<Link>, SyncStoreError>;

    /// Writes (inserts or replaces) a link under the writer's lease.
    async fn put_link(&self, fence: Fence, link: Link) -> Result<(), SyncStoreError>;

    /// Writes several links under the writer's lease in one transaction: all of them, or
    /// none when one fails (a target another source holds, a lost lease).
    async fn put_links(&self, fence: Fence, links: Vec<Link>) -> Result<(), SyncStoreError>;

    /// Removes one link; false when there was none. An operator's repair: needs no lease,
    /// and the API refuses it while the job is active.
    async fn delete_link(
        &self,
        job: &str,
        object_type: &str,
        source_id: Uuid,
    ) -> Result<bool, SyncStoreError>;

    /// Removes every link of a job (restart with `ConnectorDataStore` or `Full`); returns
    /// how many. Done under the job's lease, with its fence.
    async fn clear_links(&self, fence: Fence, job: &str) -> Result<u64, SyncStoreError>;

    /// The directory change-log watermark the job's next incremental cycle starts from
    /// (none before the first full cycle has finished).
    async fn watermark(&self, job: &str) -> Result<Option<i64>, SyncStoreError>;

    /// Moves the watermark under the writer's lease; `None` forgets it (the next cycle is
    /// a full one).
    async fn set_watermark(
        &self,
        fence: Fence,
        job: &str,
        watermark: Option<i64>,
    ) -> Result<(), SyncStoreError>;
}

/// Provisioning log rows.
#[async_trait]
pub trait LogStore: Send + Sync + 'static {
    async fn append_logs(&self, rows: Vec<NewLogRow>) -> Result<(), SyncStoreError>;

    async fn logs(&self, query: &LogQuery) -> Result<Vec<LogRow>, SyncStoreError>;

    /// Deletes rows older than `before`; returns how many.
    async fn purge_logs_before(&self, before: &str) -> Result<u64, SyncStoreError>;
}

/// Leases: one worker runs a job at a time.
#[async_trait]
pub trait LeaseStore: Send + Sync + 'static {
    /// Takes the job's lease for `worker` until `until` when it is free, expired at `now`,
    /// or already this worker's; returns the fence the worker's writes carry (a new one
    /// whenever the lease changes hands), or `None` when another worker holds it.
    async fn acquire_lease(
        &self,
        job: &str,
        worker: &str,
        now: &str,
        until: &str,
    ) -> Result<Option<Fence>, SyncStoreError>;

    /// Extends a lease the worker holds with `fence`; false when it is no longer its own.
    async fn renew_lease(
        &self,
        job: &str,
        worker: &str,
        fence: Fence,
        until: &str,
    ) -> Result<bool, SyncStoreError>;

    /// Gives the lease up (it expires at once; the fence stays, so a later holder gets a
    /// greater one).
    async fn release_lease(&self, job: &str, fence: Fence) -> Result<(), SyncStoreError>;
}

/// Every capability of the engine's state store.
pub trait SyncStore: JobStore + LinkStore + LogStore + LeaseStore {}

impl<T> SyncStore for T where T: JobStore + LinkStore + LogStore + LeaseStore {}
