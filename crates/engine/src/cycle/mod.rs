//! The provisioning cycle: import from the directory, scope, match, map, diff, export,
//! resolve references, and record links, shadows, log rows and the watermark.
//!
//! [`run_cycle`] runs one cycle of one job under the lease [`Fence`] its worker holds:
//! - **full** when the job has no watermark (first cycle, restart) or the caller says the
//!   schema changed: every object in scope (assignments, or every user and group with
//!   SyncAll), then every linked object not seen (to deprovision what left scope);
//! - **incremental** otherwise: the directory's change log after the watermark, in batches,
//!   so the cost follows the number of changes, never the size of the directory.
//!
//! Choices where Entra's documentation leaves room (see also the tests):
//! - An object processed with nothing to send is logged `skipped` with `RedundantExport`;
//!   objects an incremental cycle does not touch are not logged at all.
//! - The shadow a link keeps is `{"attributes": {...}, "references": {attr: [target ids]}}`:
//!   the mapped attributes and resolved references as last exported. Diffs run against it,
//!   or against the target's resource when there is none yet (just matched).
//! - Attributes are replaced per top-level attribute (extension attributes per
//!   sub-attribute); values that become empty are not removed (Entra exports no nulls).
//! - Leaving scope (unassigned, scoping filter) honours `SkipOutOfScopeDeletions`; a
//!   disabled or soft-deleted user always gets `active=false`; an object without an
//!   `active` mapping (groups) is deleted instead, when the mapping allows `Delete`.
//! - A stale link (full cycles check every linked object against the matching rules) stops
//!   exports for its object until an operator deletes or repairs the link.
//! - Retrying failures: the watermark is not advanced past a batch in which a target call
//!   failed, so the next cycle replays that batch (the objects that succeeded then send
//!   nothing, their shadows being current). A full cycle with such a failure leaves no
//!   watermark, so the next cycle is full again. Data problems (duplicate entries, no
//!   matching value, mapping errors) are logged and do not hold the watermark: fixing them
//!   in the directory is itself a change.
//! - A target that refuses the credentials (401, 403) stops the cycle at once with
//!   [`CycleError::Unauthorized`], after recording the batch's rows and without moving the
//!   watermark: every further call would fail the same way.
//! - Rows and change ids are derived from the caller's cycle id, so that a cycle is
//!   deterministic given its ports.
//!
//! Costs: an incremental cycle reads the changes, the objects they name (an assigned group's
//! change adds its members) and their links, and resolves the references of those objects
//! (a group's through its whole member list). A full cycle keeps the ids it has seen, to
//! find the linked objects it did not reach; it queries the target once per object
//! (matching, or the staleness check of a linked one).

// The target port answers `TargetError` by value; helpers that pass it on keep its shape.
#![allow(clippy::result_large_err)]

pub mod fake_target;
pub mod log;
mod plan;
mod shadow;
pub mod target_index;

use std::collections::hash_map::Entry as MapEntry;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};

use futures::stream::{self, StreamExt, TryStreamExt};
use provisio_directory::{
    ChangeOp, Directory, DirectoryError, ListQuery, ListRequest, ObjectKind, Presence, StoredObject,
};
use provisio_expr::Environment;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;
use uuid::Uuid;

pub use fake_target::MemoryTarget;
use plan::{compile_plans, Plan};
use shadow::{diff, merge, Shadow};
pub use target_index::MatchingMode;
use target_index::TargetIndex;

use crate::clock::Clock;
use crate::mapping::{DesiredReference, Evaluation, MappingError, Operation};
use crate::model::SynchronizationSchema;
use crate::scoping::ScopingError;
use crate::source::{ScopeFacts, ScopeMode, SourceObject};
use crate::state::{
    Fence, Link, LinkOrigin, LinkQuery, LogRow, NewLogRow, Staleness, SyncStore, SyncStoreError,
};
use crate::target::{ErrorClass, PatchOperation, Target, TargetError, TargetObject};
use log::{Action, Entry, Modified, RowContext, Status};

/// How many objects (or change records) a batch holds by default.
pub const DEFAULT_BATCH_SIZE: usize = 500;

/// By default, a group with more members than this is a large group: one at a time is in flight (the
/// others of a batch go on), since each holds several copies of its member list while it is
/// processed (a group of 300,000 members is about 100 MB of them).
pub const LARGE_MEMBERSHIP: usize = 10_000;

/// How many objects of a batch are processed at once by default (the SCIM client's default
/// bound on requests in flight is the same).
pub const DEFAULT_CONCURRENCY: usize = 8;

/// How many member values one PATCH carries by default.
pub const DEFAULT_MEMBERS_PER_REQUEST: usize = 100;

/// The job settings a cycle reads (the API keeps them with the job's secrets).
#[derive(Debug, Clone, PartialEq)]
pub struct JobConfig {
    /// `SyncAll`: every user and group, not only assigned ones.
    pub scope: ScopeMode,
    /// `SkipOutOfScopeDeletions`: objects leaving scope are left alone in the target.
    pub skip_out_of_scope_deletions: bool,
    /// Objects or change records per batch: the unit of crash replay.
    pub batch_size: usize,
    /// Objects of a batch processed at once, so that the target's latency overlaps (the
    /// SCIM client bounds its requests in flight separately).
    pub concurrency: usize,
    /// The most member values one PATCH carries; a larger membership change is sent in
    /// several requests. Targets refuse large bodies (a group of 30,000 members is over a
    /// megabyte), and some cap the changes per request (AWS IAM Identity Center: 100).
    pub members_per_request: usize,
    /// How unlinked objects are matched with the target's accounts in full cycles.
    pub matching: MatchingMode,
    /// Groups with more members than this are processed one at a time (see
    /// [`LARGE_MEMBERSHIP`]).
    pub large_membership: usize,
}

impl JobConfig {
    /// The settings the job's secrets hold (`SyncAll`, `SkipOutOfScopeDeletions`).
    pub fn from_secrets(secrets: &crate::secrets::Secrets) -> Self {
        JobConfig {
            scope: if secrets.sync_all() {
                ScopeMode::SyncAll
            } else {
                ScopeMode::AssignedOnly
            },
            skip_out_of_scope_deletions: secrets.skip_out_of_scope_deletions(),
            ..JobConfig::default()
        }
    }
}

impl Default for JobConfig {
    fn default() -> Self {
        JobConfig {
            scope: ScopeMode::AssignedOnly,
            skip_out_of_scope_deletions: false,
            batch_size: DEFAULT_BATCH_SIZE,
            concurrency: DEFAULT_CONCURRENCY,
            members_per_request: DEFAULT_MEMBERS_PER_REQUEST,
            matching: MatchingMode::default(),
            large_membership: LARGE_MEMBERSHIP,
        }
    }
}

/// Everything one cycle of one job needs.
pub struct CycleContext<'a> {
    pub job_id: &'a str,
    /// The application's service principal in the directory (assignments are to it).
    pub service_principal_id: Uuid,
    pub service_principal_name: &'a str,
    pub schema: &'a SynchronizationSchema,
    pub config: &'a JobConfig,
    /// The lease under which every state write is made.
    pub fence: Fence,
    /// New for every cycle; rows and change ids derive from it.
    pub cycle_id: Uuid,
    /// Run a full cycle even with a watermark (the mappings or scoping changed).
    pub force_full: bool,
    pub directory: &'a Directory,
    pub store: &'a dyn SyncStore,
    pub target: &'a dyn Target,
    pub clock: &'a dyn Clock,
}

/// Why a cycle stopped before its end (target failures do not stop it: they are logged).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CycleError {
    #[error(transparent)]
    Store(#[from] SyncStoreError),
    #[error("directory: {0}")]
    Directory(#[from] DirectoryError),
    #[error(transparent)]
    Mapping(#[from] MappingError),
    #[error(transparent)]
    Scoping(#[from] ScopingError),
    #[error("the schema has no synchronization rule")]
    NoRule,
    /// The target refused the credentials (401 or 403): the cycle stopped at the first such
    /// answer, since every further call would fail the same way.
    #[error("the target refused the credentials: {0}")]
    Unauthorized(TargetError),
}

/// An object the cycle could not provision.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectFailure {
    pub object_type: String,
    pub source_id: Uuid,
    pub error_code: String,
    pub reason: String,
    /// Whether the next cycle retries it (a target call failed).
    pub retried: bool,
}

/// What one cycle did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CycleReport {
    pub cycle_id: Uuid,
    pub full: bool,
    /// The watermark the cycle started from and the one it left.
    pub watermark_before: Option<i64>,
    pub watermark_after: Option<i64>,
    pub created: u64,
    /// PATCHes of attributes or of references (members, manager).
    pub updated: u64,
    pub disabled: u64,
    pub deleted: u64,
    /// Objects processed with nothing to send (`RedundantExport`).
    pub redundant: u64,
    /// Other skips: out of scope, stale links, SkipOutOfScopeDeletions.
    pub skipped: u64,
    /// Links found stale in this cycle.
    pub stale: u64,
    pub failures: Vec<ObjectFailure>,
}

/// Runs one cycle of the job (see the module documentation).
pub async fn run_cycle(ctx: &CycleContext<'_>) -> Result<CycleReport, CycleError> {
    let watermark = ctx.store.watermark(ctx.job_id).await?;
    let full = watermark.is_none() || ctx.force_full;
    // A job's first cycle starts without links: then every link is one the cycle makes and
    // remembers, and looking up any other (each new object, each manager) needs no read.
    let unlinked = ctx
        .store
        .links(
            ctx.job_id,
            &LinkQuery {
                limit: 1,
                ..LinkQuery::default()
            },
        )
        .await?
        .is_empty();
    let runner = Runner::new(ctx, full, unlinked)?;
    let ran = match watermark {
        Some(from) if !full => runner.incremental(from).await,
        _ => runner.full().await,
    };
    // The rows of the last batch, and of one that stopped the cycle, are written however
    // it ended.
    let logged = runner.write_logs(runner.take_rows()).await;
    ran?;
    logged?;
    let mut report = runner.into_report();
    report.watermark_before = watermark;
    report.watermark_after = ctx.store.watermark(ctx.job_id).await?;
    Ok(report)
}

/// The expression environment of a cycle: the clock's time and a seeded generator.
struct CycleEnvironment {
    now: OffsetDateTime,
    state: AtomicU64,
}

impl Environment for CycleEnvironment {
    fn now(&self) -> OffsetDateTime {
        self.now
    }

    fn random(&self) -> u64 {
        // SplitMix64: reproducible for a given cycle id.
        let state = self
            .state
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// What processing one object led to.
#[derive(Debug, Default)]
struct Outcome {
    /// The object is linked and in scope: its references are to be resolved.
    resolve_references: bool,
    /// The object was just linked (created or matched): references to it may now resolve.
    newly_linked: bool,
    /// The source object as this batch read it, so that resolving its references does not
    /// read it (and a group's members) again.
    source: Option<SourceObject>,
    /// The object's link as the cycle last wrote or read it, for the same reason.
    link: Option<Link>,
}

struct Runner<'c, 'a> {
    ctx: &'c CycleContext<'a>,
    full: bool,
    plans: Vec<Plan>,
    env: CycleEnvironment,
    /// The cycle's time as its log rows and links record it (`log::activity_time`),
    /// written once rather than for every row.
    activity: String,
    /// What the objects processed so far led to. The objects of a batch are processed
    /// concurrently (up to `JobConfig::concurrency`) within the cycle's one task, so the
    /// lock is never contended across threads and never held across an await.
    progress: Mutex<Progress>,
    /// Source id → target id of the links this cycle has read or written. The worker holds
    /// the job's lease, so no one else writes its links meanwhile (an operator deletes one
    /// only while the job is not running).
    targets: Mutex<HashMap<Uuid, String>>,
    /// The job had no link when the cycle started, so `targets` holds every link there is
    /// (the lease keeps every other writer out): a source id not in it has none.
    unlinked_at_start: bool,
    /// Full cycles: source id of an object not linked yet → the objects whose references
    /// name it, to resolve again once it is linked.
    unresolved: Mutex<HashMap<Uuid, Vec<(ObjectKind, Uuid)>>>,
    /// Full cycles in the assigned-only scope: the users the assignment walk found in scope
    /// (assigned directly, or direct members of an assigned security group), so that
    /// processing them need not ask the directory again.
    assigned_users: OnceLock<HashSet<Uuid>>,
    /// Link writes queued until the end of the current phase of the batch, and their
    /// targets (target id → source id), which matching must see as taken.
    staged: Mutex<Vec<Link>>,
    staged_targets: Mutex<HashMap<String, Uuid>>,
    /// Full cycles: the target's accounts by matching attribute, when read in pages.
    indexes: Mutex<HashMap<ObjectKind, TargetIndex>>,
    /// Held by the large group in flight (see [`LARGE_MEMBERSHIP`]).
    large: futures::lock::Mutex<()>,
    /// Whether a new user whose manager has no account yet waits for it (the first pass
    /// over a full cycle's users; see [`Runner::process_postponed`]).
    postponing: AtomicBool,
    /// The users that wait, with their managers.
    postponed: Mutex<Vec<(Uuid, Uuid)>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing here is left half-updated by a panic in a way that matters more than the panic.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The mutable part of a cycle.
#[derive(Default)]
struct Progress {
    rows: Vec<NewLogRow>,
    row_counter: u128,
    /// A target call failed in the current batch.
    batch_failed: bool,
    /// A target call failed in this cycle.
    cycle_failed: bool,
    /// The target refused the credentials: every further call would fail the same way.
    refused: Option<TargetError>,
    /// Objects created in this cycle: their first references are part of the create.
    created: HashSet<(ObjectKind, Uuid)>,
    report: CycleReport,
}

fn error_code(error: &TargetError) -> &'static str {
    match error.class {
        ErrorClass::Conflict => "EntryConflict",
        ErrorClass::NotFound => "InvalidAnchor",
        ErrorClass::Unauthorized => "Unauthorized",
        ErrorClass::Rejected => "UnprocessableEntity",
        ErrorClass::Incompatible => "SystemForCrossDomainIdentityManagementServiceIncompatible",
        ErrorClass::Transient => match error.status {
            Some(429) => "TooManyRequests",
            Some(_) => "InternalServerError",
            None => "Timeout",
        },
    }
}

fn security_enabled(group: &StoredObject) -> bool {
    group.data.get("securityEnabled") == Some(&Value::Bool(true))
}

impl<'c, 'a> Runner<'c, 'a> {
    fn new(ctx: &'c CycleContext<'a>, full: bool, unlinked: bool) -> Result<Self, CycleError> {
        let now = ctx.clock.now();
        Ok(Runner {
            ctx,
            full,
            plans: compile_plans(ctx.schema)?,
            env: CycleEnvironment {
                now,
                state: AtomicU64::new(ctx.cycle_id.as_u64_pair().0),
            },
            activity: log::activity_time(now),
            progress: Mutex::new(Progress {
                report: CycleReport {
                    cycle_id: ctx.cycle_id,
                    full,
                    ..CycleReport::default()
                },
                ..Progress::default()
            }),
            targets: Mutex::new(HashMap::new()),
            unlinked_at_start: unlinked,
            unresolved: Mutex::new(HashMap::new()),
            assigned_users: OnceLock::new(),
            staged: Mutex::new(Vec::new()),
            staged_targets: Mutex::new(HashMap::new()),
            indexes: Mutex::new(HashMap::new()),
            large: futures::lock::Mutex::new(()),
            postponing: AtomicBool::new(full),
            postponed: Mutex::new(Vec::new()),
        })
    }

    fn progress(&self) -> MutexGuard<'_, Progress> {
        lock(&self.progress)
    }

    fn into_report(self) -> CycleReport {
        self.progress
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .report
    }

    fn refused(&self) -> bool {
        self.progress().refused.is_some()
    }

    fn plan(&self, kind: ObjectKind) -> Option<&Plan> {
        self.plans.iter().find(|p| p.kind == kind)
    }

    fn dir(&self) -> &Directory {
        self.ctx.directory
    }

    // ---- cycles -------------------------------------------------------------------------

    async fn full(&self) -> Result<(), CycleError> {
        let start = self.dir().watermark().await?;
        let batch = self.ctx.config.batch_size.max(1);
        let mut seen: HashSet<(ObjectKind, Uuid)> = HashSet::new();
        let mut users: Vec<Uuid> = Vec::new();
        let mut groups: Vec<Uuid> = Vec::new();
        match self.ctx.config.scope {
            ScopeMode::SyncAll => {
                for kind in [ObjectKind::User, ObjectKind::Group] {
                    self.index_target(kind, self.dir().count(kind).await?).await;
                    let mut query = ListQuery::all(kind, batch);
                    loop {
                        let page = self
                            .dir()
                            .list(ListRequest {
                                query: query.clone(),
                                predicate: None,
                                page_size: batch,
                            })
                            .await?;
                        let ids = page
                            .objects
                            .iter()
                            .map(|o| (kind, o.id))
                            .collect::<Vec<_>>();
                        seen.extend(ids.iter().copied());
                        self.process_first_pass(ids).await?;
                        match page.next {
                            Some(next) => query.after = Some(next),
                            None => break,
                        }
                    }
                    if kind == ObjectKind::User {
                        self.process_postponed(batch).await?;
                    }
                }
            }
            ScopeMode::AssignedOnly => {
                // Principals first (ids only), so that users are provisioned before the
                // groups that list them.
                let mut after = None;
                loop {
                    let page = self
                        .dir()
                        .assignments(Some(self.ctx.service_principal_id), None, after, batch)
                        .await?;
                    for assignment in &page {
                        let principal = assignment.principal;
                        match principal.kind {
                            ObjectKind::User => {
                                if seen.insert((ObjectKind::User, principal.id)) {
                                    users.push(principal.id);
                                }
                            }
                            ObjectKind::Group => {
                                if seen.insert((ObjectKind::Group, principal.id)) {
                                    groups.push(principal.id);
                                }
                                // Only a security group's members are in scope through it.
                                let brings_members = match self.dir().find(principal.id).await? {
                                    Some(group) => {
                                        group.deleted.is_none() && security_enabled(&group)
                                    }
                                    None => false,
                                };
                                if !brings_members {
                                    continue;
                                }
                                for member in self.dir().all_member_refs(principal.id).await? {
                                    if member.kind == ObjectKind::User
                                        && seen.insert((ObjectKind::User, member.id))
                                    {
                                        users.push(member.id);
                                    }
                                }
                            }
                            ObjectKind::ServicePrincipal => {}
                        }
                    }
                    if page.len() < batch {
                        break;
                    }
                    after = page.last().map(|a| a.id);
                }
                // What the walk saw is the scope as of its start; a change since is in the
                // change log, for the next cycle.
                let _ = self.assigned_users.set(users.iter().copied().collect());
                self.index_target(ObjectKind::User, users.len() as u64)
                    .await;
                self.index_target(ObjectKind::Group, groups.len() as u64)
                    .await;
                for chunk in users.chunks(batch) {
                    let ids = chunk.iter().map(|id| (ObjectKind::User, *id)).collect();
                    self.process_first_pass(ids).await?;
                }
                self.process_postponed(batch).await?;
                for chunk in groups.chunks(batch) {
                    let ids = chunk.iter().map(|id| (ObjectKind::Group, *id)).collect();
                    self.process_batch(ids).await?;
                }
            }
        }
        // Linked objects not reached above have left scope (or the directory). A job that
        // started the cycle without links has only those the cycle made, every one of an
        // object reached above: there is nothing to look for (at 30,000 users the pass read
        // 60 pages of links to find none, 3% of the cycle).
        let leaving_kinds: &[ObjectKind] = if self.unlinked_at_start {
            &[]
        } else {
            &[ObjectKind::User, ObjectKind::Group]
        };
        for &plan_kind in leaving_kinds {
            let Some(object_type) = self.plan(plan_kind).map(|p| p.object_type.clone()) else {
                continue;
            };
            let mut after = None;
            loop {
                let links = self
                    .ctx
                    .store
                    .links(
                        self.ctx.job_id,
                        &LinkQuery {
                            object_type: Some(object_type.clone()),
                            stale: None,
                            after,
                            limit: batch,
                        },
                    )
                    .await?;
                let ids: Vec<(ObjectKind, Uuid)> = links
                    .iter()
                    .map(|l| (plan_kind, l.source_id))
                    .filter(|key| !seen.contains(key))
                    .collect();
                self.process_batch(ids).await?;
                if links.len() < batch {
                    break;
                }
                after = links.last().map(|l| l.source_id);
            }
        }
        let watermark = (!self.progress().cycle_failed).then_some(start);
        self.ctx
            .store
            .set_watermark(self.ctx.fence, self.ctx.job_id, watermark)
            .await?;
        Ok(())
    }

    async fn incremental(&self, from: i64) -> Result<(), CycleError> {
        let batch = self.ctx.config.batch_size.max(1);
        let mut cursor = from;
        // The watermark stays before the first batch with a failed export.
        let mut hold: Option<i64> = None;
        loop {
            let changes = self.dir().changes_since(cursor, batch).await?;
            let (Some(first), Some(last)) = (changes.first(), changes.last()) else {
                break;
            };
            let (first_seq, last_seq) = (first.seq, last.seq);
            // Each object once, in the order of its first change. A set beside the list: the
            // assignment of a group brings all its members at once.
            let mut items: Vec<(ObjectKind, Uuid)> = Vec::new();
            let mut queued: HashSet<(ObjectKind, Uuid)> = HashSet::new();
            let mut push = |items: &mut Vec<(ObjectKind, Uuid)>, key: (ObjectKind, Uuid)| {
                if queued.insert(key) {
                    items.push(key);
                }
            };
            for change in &changes {
                match change.op {
                    ChangeOp::MemberAdded | ChangeOp::MemberRemoved => {
                        push(&mut items, (change.kind, change.object_id));
                        if let Some(member) = change.related_id {
                            if let Some(object) = self.dir().find(member).await? {
                                push(&mut items, (object.kind, member));
                            }
                        }
                    }
                    ChangeOp::AssignmentAdded | ChangeOp::AssignmentRemoved => {
                        if change.object_id != self.ctx.service_principal_id {
                            continue;
                        }
                        let Some(principal) = change.related_id else {
                            continue;
                        };
                        let Some(object) = self.dir().find(principal).await? else {
                            continue;
                        };
                        push(&mut items, (object.kind, principal));
                        if object.kind == ObjectKind::Group {
                            for member in self.dir().all_member_refs(principal).await? {
                                push(&mut items, (member.kind, member.id));
                            }
                        }
                    }
                    // An assigned group that changes (deleted, restored, no longer a security
                    // group) changes the scope of its members, who have no change of their own.
                    ChangeOp::Updated | ChangeOp::Deleted | ChangeOp::Restored
                        if change.kind == ObjectKind::Group =>
                    {
                        push(&mut items, (change.kind, change.object_id));
                        let assigned = !self
                            .dir()
                            .assignments(
                                Some(self.ctx.service_principal_id),
                                Some(change.object_id),
                                None,
                                1,
                            )
                            .await?
                            .is_empty();
                        if assigned {
                            for member in self.dir().all_member_refs(change.object_id).await? {
                                if member.kind == ObjectKind::User {
                                    push(&mut items, (member.kind, member.id));
                                }
                            }
                        }
                    }
                    _ => push(&mut items, (change.kind, change.object_id)),
                }
            }
            // Users before groups, so that members resolve when their group is processed.
            items.sort_by_key(|(kind, _)| *kind != ObjectKind::User);
            self.progress().batch_failed = false;
            self.process_batch(items).await?;
            if self.progress().batch_failed && hold.is_none() {
                hold = Some(first_seq - 1);
            }
            cursor = last_seq;
            self.ctx
                .store
                .set_watermark(
                    self.ctx.fence,
                    self.ctx.job_id,
                    Some(hold.unwrap_or(cursor)),
                )
                .await?;
        }
        Ok(())
    }

    /// Processes a batch of objects, resolves the references that are due, and records the
    /// batch's log rows (links are written as each object is exported).
    ///
    /// Up to `JobConfig::concurrency` objects are in flight at once, in three phases with a
    /// barrier between them: every object is reconciled (matched, created, updated), then
    /// the linked objects that refer to the newly linked ones are found, then references are
    /// resolved, so that a reference never looks for a link an unfinished create is about to
    /// make. Results are taken in the batch's order, so that the references due come out in
    /// the same order as with one object at a time.
    async fn process_batch(&self, items: Vec<(ObjectKind, Uuid)>) -> Result<(), CycleError> {
        let width = self.ctx.config.concurrency.max(1);
        // Unordered: a slow request must not hold back the start of the next object, so
        // that `width` requests stay in flight (what comes back is keyed, not ordered).
        // The futures are built into vectors before they are streamed: a stream that maps
        // with a closure returning a future over `&self` trips the compiler's proof that the
        // cycle's future is `Send` (rust-lang/rust#102211).
        let reconciles: Vec<_> = items
            .into_iter()
            .map(|key| self.reconcile_key(key))
            .collect();
        // The previous batch's log rows are written while this batch's objects go out: the
        // target is not kept waiting for the engine's own bookkeeping.
        let previous_rows = self.take_rows();
        let (outcomes, logged): (Result<Vec<Reconciled>, CycleError>, _) = futures::join!(
            stream::iter(reconciles)
                .buffer_unordered(width)
                .try_collect(),
            self.write_logs(previous_rows)
        );
        logged?;
        // Whatever happened, what was exported is recorded.
        self.flush_links().await?;
        let outcomes = outcomes?;
        let lookups: Vec<_> = outcomes
            .iter()
            .filter(|(_, outcome)| outcome.newly_linked)
            .map(|(key, _)| self.referrers_of_new(key.0, key.1))
            .collect();
        let referrers: Vec<Vec<(ObjectKind, Uuid)>> =
            stream::iter(lookups).buffered(width).try_collect().await?;
        // (kind, id) → the source object and link when this batch has read them already.
        let mut due: Vec<DueReferences> = Vec::new();
        let mut index: HashMap<(ObjectKind, Uuid), usize> = HashMap::new();
        let mut referrers = referrers.into_iter();
        for (key, outcome) in outcomes {
            if outcome.resolve_references {
                match index.get(&key) {
                    Some(&at) => {
                        due[at].1 = outcome.source;
                        due[at].2 = outcome.link;
                    }
                    None => {
                        index.insert(key, due.len());
                        due.push((key, outcome.source, outcome.link));
                    }
                }
            }
            if outcome.newly_linked {
                for referrer in referrers.next().unwrap_or_default() {
                    if let MapEntry::Vacant(slot) = index.entry(referrer) {
                        slot.insert(due.len());
                        due.push((referrer, None, None));
                    }
                }
            }
        }
        let resolutions: Vec<_> = due
            .into_iter()
            .map(|(key, source, link)| self.resolve_key(key, source, link))
            .collect();
        let resolved = stream::iter(resolutions)
            .buffer_unordered(width)
            .try_collect::<Vec<()>>()
            .await;
        self.flush_links().await?;
        resolved?;
        // This batch's rows go out with the next batch, or at the end of the cycle.
        let refused = self.progress().refused.take();
        if let Some(error) = refused {
            // The rows say what failed; the watermark stays where it was.
            return Err(CycleError::Unauthorized(error));
        }
        Ok(())
    }

    /// The log rows not written yet.
    fn take_rows(&self) -> Vec<NewLogRow> {
        std::mem::take(&mut self.progress().rows)
    }

    async fn write_logs(&self, rows: Vec<NewLogRow>) -> Result<(), CycleError> {
        if !rows.is_empty() {
            self.ctx.store.append_logs(rows).await?;
        }
        Ok(())
    }

    async fn reconcile_key(
        &self,
        key: (ObjectKind, Uuid),
    ) -> Result<((ObjectKind, Uuid), Outcome), CycleError> {
        if self.refused() {
            return Ok((key, Outcome::default()));
        }
        Ok((key, self.reconcile(key.0, key.1).await?))
    }

    async fn resolve_key(
        &self,
        (kind, id): (ObjectKind, Uuid),
        source: Option<SourceObject>,
        link: Option<Link>,
    ) -> Result<(), CycleError> {
        if self.refused() {
            return Ok(());
        }
        self.resolve_references(kind, id, source, link).await
    }

    /// The objects to resolve again now that `id` is linked: in a full cycle those that
    /// found it unlinked earlier in the cycle, otherwise those the directory says refer to it.
    async fn referrers_of_new(
        &self,
        kind: ObjectKind,
        id: Uuid,
    ) -> Result<Vec<(ObjectKind, Uuid)>, CycleError> {
        if self.full {
            return Ok(lock(&self.unresolved).remove(&id).unwrap_or_default());
        }
        self.referrers(kind, id).await
    }

    /// The target's accounts whose `attribute` equals `value`: from the index read at the
    /// start of a full cycle when it holds the attribute (ids only, `resource` null), else
    /// by a filter query.
    async fn find_accounts(
        &self,
        plan_index: usize,
        attribute: &str,
        value: &str,
    ) -> Result<Vec<TargetObject>, TargetError> {
        let plan = &self.plans[plan_index];
        if let Some(ids) = lock(&self.indexes)
            .get(&plan.kind)
            .and_then(|index| index.find(attribute, value))
        {
            return Ok(ids
                .into_iter()
                .map(|id| TargetObject {
                    id,
                    resource: Value::Null,
                })
                .collect());
        }
        self.ctx
            .target
            .find(plan.target_kind, attribute, value)
            .await
    }

    /// Reads the target's accounts for matching when the job's mode asks for it (see
    /// [`target_index`]); `in_scope` is how many objects of the plan's kind the full cycle
    /// is about to process, each of which would otherwise send at least one query.
    async fn index_target(&self, kind: ObjectKind, in_scope: u64) {
        let Some(plan) = self.plan(kind) else {
            return;
        };
        if in_scope == 0 {
            return;
        }
        let attributes: Vec<String> = plan.matching_sources.keys().cloned().collect();
        if attributes.is_empty() || !attributes.iter().all(|a| target_index::indexable(a)) {
            return;
        }
        let wanted = match self.ctx.config.matching {
            MatchingMode::Query => false,
            MatchingMode::Pages => true,
            MatchingMode::Auto => match self
                .ctx
                .target
                .list_page(plan.target_kind, 1, 1, &["id"])
                .await
            {
                Ok(page) => target_index::prefer_pages(page.total, in_scope),
                Err(_) => false,
            },
        };
        if !wanted {
            return;
        }
        match TargetIndex::read(self.ctx.target, plan.target_kind, &attributes).await {
            Ok(index) => {
                lock(&self.indexes).insert(kind, index);
            }
            // Matching falls back to queries, which report the target's trouble per object.
            Err(error) => tracing::warn!(
                message = "Reading the target's accounts for matching failed; matching by queries instead.",
                job = %self.ctx.job_id,
                %error
            ),
        }
    }

    /// Linked objects whose references name `id`: its direct reports and the groups it is a
    /// direct member of.
    async fn referrers(
        &self,
        kind: ObjectKind,
        id: Uuid,
    ) -> Result<Vec<(ObjectKind, Uuid)>, CycleError> {
        let mut out = Vec::new();
        if kind == ObjectKind::User {
            let mut after = None;
            loop {
                let reports = self.dir().direct_reports(id, after, 1000).await?;
                for report in &reports {
                    if self.link(ObjectKind::User, report.id).await?.is_some() {
                        out.push((ObjectKind::User, report.id));
                    }
                }
                if reports.len() < 1000 {
                    break;
                }
                after = reports.last().map(|r| r.id);
            }
        }
        for group in self.dir().member_of(id).await? {
            if group.kind == ObjectKind::Group
                && self.link(ObjectKind::Group, group.id).await?.is_some()
            {
                out.push((ObjectKind::Group, group.id));
            }
        }
        Ok(out)
    }

    async fn link(&self, kind: ObjectKind, id: Uuid) -> Result<Option<Link>, CycleError> {
        let Some(plan) = self.plan(kind) else {
            return Ok(None);
        };
        if self.unlinked_at_start && !lock(&self.targets).contains_key(&id) {
            return Ok(None);
        }
        let link = self
            .ctx
            .store
            .link(self.ctx.job_id, &plan.object_type, id)
            .await?;
        if let Some(link) = &link {
            self.remember_target(link);
        }
        Ok(link)
    }

    /// Writes a link under the cycle's fence and remembers its target id.
    async fn put_link(&self, link: Link) -> Result<(), SyncStoreError> {
        self.ctx
            .store
            .put_link(self.ctx.fence, link.clone())
            .await?;
        self.remember_target(&link);
        Ok(())
    }

    /// Queues a link write for the end of the batch's phase (see [`Runner::flush_links`]):
    /// links of created accounts and shadows after an export. Losing them in a crash costs
    /// no duplicate: the next cycle matches before it creates, and re-sends what the shadow
    /// does not show.
    fn stage_link(&self, link: Link) {
        self.remember_target(&link);
        lock(&self.staged_targets).insert(link.target_id.clone(), link.source_id);
        lock(&self.staged).push(link);
    }

    /// Writes the queued links in one transaction.
    async fn flush_links(&self) -> Result<(), CycleError> {
        let links = std::mem::take(&mut *lock(&self.staged));
        lock(&self.staged_targets).clear();
        if !links.is_empty() {
            self.ctx.store.put_links(self.ctx.fence, links).await?;
        }
        Ok(())
    }

    fn remember_target(&self, link: &Link) {
        lock(&self.targets).insert(link.source_id, link.target_id.clone());
    }

    fn forget_target(&self, source_id: Uuid) {
        lock(&self.targets).remove(&source_id);
    }

    /// The target id of the account linked to a source user or group, for references
    /// (manager, members): from the links this cycle has read or written, else the store.
    async fn target_of(&self, source_id: Uuid) -> Result<Option<String>, CycleError> {
        if let Some(target) = lock(&self.targets).get(&source_id) {
            return Ok(Some(target.clone()));
        }
        if self.unlinked_at_start {
            return Ok(None);
        }
        for kind in [ObjectKind::User, ObjectKind::Group] {
            if let Some(link) = self.link(kind, source_id).await? {
                return Ok(Some(link.target_id));
            }
        }
        Ok(None)
    }

    // ---- one object ---------------------------------------------------------------------

    /// The source object with its references as ids, as the mapping reads it, and for a
    /// large group its turn (see [`Runner::large_turn`]): taken as soon as the member list
    /// read so far is large, so that large groups waiting for their turn do not each hold
    /// their whole list meanwhile.
    async fn load_source(
        &self,
        object: &StoredObject,
    ) -> Result<(SourceObject, Option<futures::lock::MutexGuard<'_, ()>>), CycleError> {
        let mut graph = object.to_graph();
        let mut turn = None;
        match object.kind {
            ObjectKind::User => {
                if let Some(manager) = object.manager {
                    graph.insert("manager".into(), Value::String(manager.to_string()));
                }
            }
            ObjectKind::Group if object.deleted.is_none() => {
                let mut members = Vec::new();
                let mut pages = self.dir().member_ref_pages(object.id);
                while let Some(page) = pages.next_page().await? {
                    members.extend(page.iter().map(|m| Value::String(m.id.to_string())));
                    if turn.is_none() && members.len() > self.ctx.config.large_membership {
                        turn = Some(self.large.lock().await);
                    }
                }
                graph.insert("members".into(), Value::Array(members));
            }
            _ => {}
        }
        let source = SourceObject::from_graph_owned(object.kind, Value::Object(graph))
            .map_err(|e| CycleError::Directory(DirectoryError::internal(e.to_string())))?;
        Ok((source, turn))
    }

    async fn is_assigned(&self, object: &StoredObject) -> Result<bool, CycleError> {
        let sp = Some(self.ctx.service_principal_id);
        let direct = !self
            .dir()
            .assignments(sp, Some(object.id), None, 1)
            .await?
            .is_empty();
        match object.kind {
            ObjectKind::Group => Ok(direct && security_enabled(object)),
            ObjectKind::User if direct => Ok(true),
            ObjectKind::User => {
                for group in self.dir().member_of(object.id).await? {
                    if group.kind == ObjectKind::Group
                        && security_enabled(&group)
                        && !self
                            .dir()
                            .assignments(sp, Some(group.id), None, 1)
                            .await?
                            .is_empty()
                    {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            ObjectKind::ServicePrincipal => Ok(false),
        }
    }

    async fn reconcile(&self, kind: ObjectKind, id: Uuid) -> Result<Outcome, CycleError> {
        let Some(plan_index) = self.plans.iter().position(|p| p.kind == kind) else {
            return Ok(Outcome::default());
        };
        let link = self.link(kind, id).await?;
        let (object, deleted) = match self.dir().presence(kind, id).await? {
            Presence::Live(object) => (object, false),
            Presence::Deleted(object) => (object, true),
            Presence::Absent => {
                if let Some(link) = link {
                    self.hard_delete(plan_index, id, None, link).await?;
                }
                return Ok(Outcome::default());
            }
        };
        // Before the object is loaded: in a new directory most users wait for their manager
        // in the first pass, and are loaded (mapped, scoped) once, when their turn comes.
        if link.is_none() && !deleted {
            if let Some(manager) = self.manager_to_wait_for(plan_index, &object).await? {
                lock(&self.postponed).push((id, manager));
                return Ok(Outcome::default());
            }
        }
        let (mut source, _large_turn) = self.load_source(&object).await?;
        let plan = &self.plans[plan_index];
        let passes_scoping_filter = plan.scoping.matches(&source);
        let assigned = match self.ctx.config.scope {
            ScopeMode::SyncAll => true,
            ScopeMode::AssignedOnly if deleted => false,
            ScopeMode::AssignedOnly
                if kind == ObjectKind::User
                    && self
                        .assigned_users
                        .get()
                        .is_some_and(|users| users.contains(&id)) =>
            {
                true
            }
            ScopeMode::AssignedOnly => self.is_assigned(&object).await?,
        };
        let facts = ScopeFacts {
            mode: self.ctx.config.scope,
            assigned,
            deleted,
            passes_scoping_filter,
        };
        source.set_scope(&facts);
        let disabled = kind == ObjectKind::User
            && object.data.get("accountEnabled") == Some(&Value::Bool(false));
        if !facts.in_scope() || disabled {
            let Some(link) = link else {
                let why = if disabled {
                    "the account is disabled"
                } else {
                    "the object is not assigned or fails the scoping filter"
                };
                self.skip(plan_index, &source, None, "NotEffectivelyEntitled", why);
                return Ok(Outcome::default());
            };
            // Leaving scope is what SkipOutOfScopeDeletions covers; a disabled or deleted
            // account is still disabled in the target.
            let left_scope = !deleted && !disabled;
            self.deprovision(plan_index, &source, link, left_scope)
                .await?;
            return Ok(Outcome::default());
        }
        let mut outcome = match link {
            Some(link) if link.stale.is_some() => {
                self.skip(
                    plan_index,
                    &source,
                    Some(&link.target_id),
                    "StaleLink",
                    "the link is stale: the matching rules choose another account; repair or delete the link",
                );
                Outcome::default()
            }
            Some(link) => {
                if self.full && self.check_staleness(plan_index, &source, &link).await? {
                    return Ok(Outcome::default());
                }
                self.update(plan_index, &source, link).await?
            }
            None => self.match_or_create(plan_index, &source).await?,
        };
        // The source and link go on to the reference phase, unless it is a large group: the
        // batch would hold every large group's member list (and shadow) until then; that
        // phase reads them again.
        if self.is_large(&source) {
            outcome.link = None;
        } else if outcome.resolve_references {
            outcome.source = Some(source);
        }
        Ok(outcome)
    }

    /// The manager a new user waits for, in the first pass over a full cycle's users: one
    /// the cycle will process (in scope as far as the walk knows) that has no account yet.
    /// Created after its manager, the user's POST carries the manager: one request, where
    /// a POST and a PATCH would be two.
    async fn manager_to_wait_for(
        &self,
        plan_index: usize,
        object: &StoredObject,
    ) -> Result<Option<Uuid>, CycleError> {
        if object.kind != ObjectKind::User || !self.postpones(plan_index) {
            return Ok(None);
        }
        let Some(manager) = object.manager else {
            return Ok(None);
        };
        if !self.will_be_processed(manager) || self.target_of(manager).await?.is_some() {
            return Ok(None);
        }
        Ok(Some(manager))
    }

    /// Whether new users of the plan wait for their managers now: in the first pass over a
    /// full cycle's users, when the mapping has a single-valued reference (`manager`).
    fn postpones(&self, plan_index: usize) -> bool {
        self.postponing.load(Ordering::Relaxed)
            && self.plans[plan_index]
                .references
                .iter()
                .any(|(_, multivalued)| !multivalued)
    }

    /// Whether the cycle will process `user`, as far as its walk knows.
    fn will_be_processed(&self, user: Uuid) -> bool {
        match self.ctx.config.scope {
            ScopeMode::SyncAll => true,
            ScopeMode::AssignedOnly => self
                .assigned_users
                .get()
                .is_some_and(|users| users.contains(&user)),
        }
    }

    /// [`Runner::manager_to_wait_for`] for a whole batch of a job's first cycle, from one
    /// read of the batch's managers instead of a read of each user: in a new directory
    /// almost every user waits in the first pass, and would otherwise be read once to be
    /// postponed and again when its turn comes. Returns the objects to process now. (With
    /// links already there, whether a user has one takes a read each: `reconcile` decides.)
    async fn postpone_waiting(
        &self,
        ids: Vec<(ObjectKind, Uuid)>,
    ) -> Result<Vec<(ObjectKind, Uuid)>, CycleError> {
        let Some(plan_index) = self.plans.iter().position(|p| p.kind == ObjectKind::User) else {
            return Ok(ids);
        };
        if !self.unlinked_at_start || !self.postpones(plan_index) {
            return Ok(ids);
        }
        let users: Vec<Uuid> = ids
            .iter()
            .filter(|(kind, _)| *kind == ObjectKind::User)
            .map(|(_, id)| *id)
            .collect();
        let managers: HashMap<Uuid, Uuid> =
            self.dir().managers_of(&users).await?.into_iter().collect();
        let mut now = Vec::with_capacity(ids.len());
        let mut waiting = Vec::new();
        {
            // Every link there is, the job having started the cycle without any.
            let linked = lock(&self.targets);
            for (kind, id) in ids {
                let waits_for = managers.get(&id).copied().filter(|manager| {
                    kind == ObjectKind::User
                        && !linked.contains_key(&id)
                        && !linked.contains_key(manager)
                        && self.will_be_processed(*manager)
                });
                match waits_for {
                    Some(manager) => waiting.push((id, manager)),
                    None => now.push((kind, id)),
                }
            }
        }
        lock(&self.postponed).extend(waiting);
        Ok(now)
    }

    /// Processes a batch of the first pass over a full cycle's objects, except the users
    /// that wait for their managers (see [`Runner::postpone_waiting`]).
    async fn process_first_pass(&self, ids: Vec<(ObjectKind, Uuid)>) -> Result<(), CycleError> {
        let ids = self.postpone_waiting(ids).await?;
        if ids.is_empty() {
            return Ok(());
        }
        self.process_batch(ids).await
    }

    /// Processes the users the first pass postponed (see [`Runner::manager_to_wait_for`]),
    /// managers before their reports, and postpones no more.
    async fn process_postponed(&self, batch: usize) -> Result<(), CycleError> {
        self.postponing.store(false, Ordering::Relaxed);
        let postponed = std::mem::take(&mut *lock(&self.postponed));
        for wave in manager_waves(&postponed) {
            for chunk in wave.chunks(batch) {
                let ids = chunk.iter().map(|id| (ObjectKind::User, *id)).collect();
                self.process_batch(ids).await?;
            }
        }
        Ok(())
    }

    /// Waits for the turn of a large group (see [`LARGE_MEMBERSHIP`]); the turn lasts as
    /// long as the returned guard. Other objects do not wait.
    async fn large_turn(&self, source: &SourceObject) -> Option<futures::lock::MutexGuard<'_, ()>> {
        if self.is_large(source) {
            Some(self.large.lock().await)
        } else {
            None
        }
    }

    /// A group with more members than the job's `large_membership`.
    fn is_large(&self, source: &SourceObject) -> bool {
        source.member_count() > self.ctx.config.large_membership
    }

    fn evaluate(
        &self,
        plan_index: usize,
        source: &SourceObject,
        operation: Operation,
    ) -> Option<Evaluation> {
        let plan = &self.plans[plan_index];
        match plan.mapping.evaluate(source, operation, &self.env) {
            Ok(evaluation) => Some(evaluation),
            Err(error) => {
                let entry = Entry::new(
                    Action::Other,
                    Status::Failure,
                    ("EntrySynchronizationError", "processing", error.to_string()),
                )
                .error("MappingError", error.to_string());
                self.fail(plan_index, source, entry, false);
                None
            }
        }
    }

    async fn match_or_create(
        &self,
        plan_index: usize,
        source: &SourceObject,
    ) -> Result<Outcome, CycleError> {
        let Some(evaluation) = self.evaluate(plan_index, source, Operation::Create) else {
            return Ok(Outcome::default());
        };
        if evaluation.matching.is_empty() {
            self.skip(
                plan_index,
                source,
                None,
                "ImportSkipped",
                "the object has no value for any matching attribute",
            );
            return Ok(Outcome::default());
        }
        let (target_kind, object_type) = {
            let plan = &self.plans[plan_index];
            (plan.target_kind, plan.object_type.clone())
        };
        for matching in &evaluation.matching {
            let found = match self
                .find_accounts(plan_index, &matching.target_attribute, &matching.value)
                .await
            {
                Ok(found) => found,
                Err(error) => {
                    self.target_failure(plan_index, source, None, Action::Other, &error);
                    return Ok(Outcome::default());
                }
            };
            if found.len() > 1 {
                let ids: Vec<&str> = found.iter().map(|o| o.id.as_str()).collect();
                let entry = Entry::new(
                    Action::Other,
                    Status::Failure,
                    (
                        "EntrySynchronizationMatching",
                        "matching",
                        format!(
                            "{} eq \"{}\" finds {} accounts",
                            matching.target_attribute,
                            matching.value,
                            found.len()
                        ),
                    ),
                )
                .error(
                    "DuplicateTargetEntries",
                    format!(
                        "more than one account in the target has {} \"{}\": {}",
                        matching.target_attribute,
                        matching.value,
                        ids.join(", ")
                    ),
                );
                self.fail(plan_index, source, entry, false);
                return Ok(Outcome::default());
            }
            let Some(account) = found.into_iter().next() else {
                continue;
            };
            let source_id = self.source_uuid(source);
            let staged_holder = lock(&self.staged_targets)
                .get(&account.id)
                .copied()
                .filter(|holder| *holder != source_id);
            let taken = match staged_holder {
                Some(holder) => Some(holder),
                None => self
                    .ctx
                    .store
                    .link_by_target(self.ctx.job_id, &account.id)
                    .await?
                    .filter(|l| l.object_type == object_type && l.source_id != source_id)
                    .map(|l| l.source_id),
            };
            if let Some(holder) = taken {
                let entry = Entry::new(
                    Action::Other,
                    Status::Failure,
                    (
                        "EntrySynchronizationMatching",
                        "matching",
                        format!("account {} is linked to {} already", account.id, holder),
                    ),
                )
                .error(
                    "DuplicateSourceEntries",
                    format!(
                        "{} \"{}\" matches account {}, which source object {} holds already",
                        matching.target_attribute, matching.value, account.id, holder
                    ),
                )
                .target(Some(&account.id));
                self.fail(plan_index, source, entry, false);
                return Ok(Outcome::default());
            }
            // A match makes the link before anything is exported to the account.
            let source_attribute = self.plans[plan_index]
                .matching_sources
                .get(&matching.target_attribute.to_ascii_lowercase())
                .cloned()
                .unwrap_or_default();
            let link = Link {
                job_id: self.ctx.job_id.to_string(),
                object_type: object_type.clone(),
                source_id: self.source_uuid(source),
                target_id: account.id.clone(),
                display_name: display_name(source),
                origin: LinkOrigin::Matched {
                    target_attribute: matching.target_attribute.clone(),
                    source_attribute,
                    value: matching.value.clone(),
                },
                made: self.activity.clone(),
                shadow: None,
                stale: None,
            };
            match self.put_link(link.clone()).await {
                Ok(()) => {}
                // Another source object took the account meanwhile (or holds it under an
                // object type the lookup above did not return).
                Err(SyncStoreError::TargetTaken { source_id, .. }) => {
                    let entry = Entry::new(
                        Action::Other,
                        Status::Failure,
                        (
                            "EntrySynchronizationMatching",
                            "matching",
                            format!("account {} is linked to {source_id} already", account.id),
                        ),
                    )
                    .error(
                        "DuplicateSourceEntries",
                        format!(
                            "account {} is held by source object {source_id}",
                            account.id
                        ),
                    )
                    .target(Some(&account.id));
                    self.fail(plan_index, source, entry, false);
                    return Ok(Outcome::default());
                }
                Err(other) => return Err(other.into()),
            }
            // An account found in the index carries only its id: the update reads it first.
            let mut outcome = match account.resource.as_object() {
                Some(resource) => {
                    let base = resource.clone();
                    self.export_update(plan_index, source, link, base).await?
                }
                None => self.update(plan_index, source, link).await?,
            };
            outcome.newly_linked = true;
            return Ok(outcome);
        }
        if !self.plans[plan_index].flow_types.add {
            self.skip(
                plan_index,
                source,
                None,
                "EntrySynchronizationSkipped",
                "the mapping does not allow Add",
            );
            return Ok(Outcome::default());
        }
        let mut body = evaluation.desired.post_body(&object_type);
        let (known, resolve_later) = self
            .references_known_at_create(plan_index, &evaluation)
            .await?;
        let mut carried = BTreeMap::new();
        if let Value::Object(fields) = &mut body {
            for (attribute, target_id) in known {
                let placed = self.plans[plan_index]
                    .mapping
                    .place_reference(fields, &attribute, &target_id);
                if placed.is_ok() {
                    carried.insert(attribute, vec![target_id]);
                }
            }
        }
        match self.ctx.target.create(target_kind, body).await {
            Ok(created) => {
                let mut modified = diff(&evaluation.desired.attributes, &Map::new()).1;
                modified.extend(carried.iter().map(|(attribute, ids)| Modified {
                    name: attribute.clone(),
                    old: None,
                    new: ids.first().map(|id| json!(id)),
                }));
                let shadow = Shadow {
                    attributes: evaluation.desired.attributes.clone(),
                    references: carried,
                };
                let link = Link {
                    job_id: self.ctx.job_id.to_string(),
                    object_type,
                    source_id: self.source_uuid(source),
                    target_id: created.id.clone(),
                    display_name: display_name(source),
                    origin: LinkOrigin::Created,
                    made: self.activity.clone(),
                    shadow: Some(shadow.into_json()),
                    stale: None,
                };
                self.stage_link(link.clone());
                if let Some(index) = lock(&self.indexes).get_mut(&self.plans[plan_index].kind) {
                    index.add(&created.id, &created.resource);
                }
                self.progress()
                    .created
                    .insert((self.plans[plan_index].kind, self.source_uuid(source)));
                let entry = Entry::new(
                    Action::Create,
                    Status::Success,
                    (
                        "EntryExportAdd",
                        "export",
                        format!("created account {}", created.id),
                    ),
                )
                .target(Some(&created.id))
                .modified(modified);
                self.progress().report.created += 1;
                self.log(plan_index, source, entry);
                Ok(Outcome {
                    resolve_references: resolve_later,
                    newly_linked: true,
                    source: None,
                    link: Some(link),
                })
            }
            Err(error) => {
                self.target_failure(plan_index, source, None, Action::Create, &error);
                Ok(Outcome::default())
            }
        }
    }

    /// The single-valued references of a new object (its manager) whose accounts exist
    /// already, as (target attribute, account id), so that the create carries them and needs
    /// no PATCH after it; and whether some reference is left for the resolve phase: one whose
    /// account is not linked yet, or a multi-valued one (a group's members go in PATCHes of
    /// bounded size after the create, as Entra sends them).
    async fn references_known_at_create(
        &self,
        plan_index: usize,
        evaluation: &Evaluation,
    ) -> Result<(Vec<(String, String)>, bool), CycleError> {
        let mut known = Vec::new();
        let mut resolve_later = false;
        for (attribute, multivalued) in &self.plans[plan_index].references {
            let wanted: Vec<&String> = wanted_ids(evaluation, attribute).collect();
            if wanted.is_empty() {
                continue;
            }
            if *multivalued {
                resolve_later = true;
                continue;
            }
            let mut resolved = Vec::new();
            let mut missing = false;
            for source_id in wanted {
                let target = match Uuid::parse_str(source_id) {
                    Ok(source_id) => self.target_of(source_id).await?,
                    Err(_) => None,
                };
                match target {
                    Some(target) => resolved.push(target),
                    None => missing = true,
                }
            }
            resolved.sort();
            match resolved.into_iter().next() {
                Some(first) if !missing => known.push((attribute.clone(), first)),
                // Left to the resolve phase, which notes who waits for the account.
                _ => resolve_later = true,
            }
        }
        Ok((known, resolve_later))
    }

    /// In a full cycle, checks a link against the current matching rules; marks it stale
    /// (and returns true) when they choose another account, or several.
    async fn check_staleness(
        &self,
        plan_index: usize,
        source: &SourceObject,
        link: &Link,
    ) -> Result<bool, CycleError> {
        let Some(evaluation) = self.evaluate(plan_index, source, Operation::Update) else {
            return Ok(false);
        };
        for matching in &evaluation.matching {
            let found = match self
                .find_accounts(plan_index, &matching.target_attribute, &matching.value)
                .await
            {
                Ok(found) => found,
                // The export that follows reports the target's trouble.
                Err(_) => return Ok(false),
            };
            let would_choose = match found.as_slice() {
                [] => continue,
                [one] if one.id == link.target_id => return Ok(false),
                [one] => Some(one.id.clone()),
                _ => None,
            };
            let reason = format!(
                "matched by {} = \"{}\": {}",
                matching.target_attribute,
                matching.value,
                match &would_choose {
                    Some(id) => id.clone(),
                    None => format!("{} accounts", found.len()),
                }
            );
            let mut stale = link.clone();
            stale.stale = Some(Staleness {
                found: self.activity.clone(),
                would_choose: would_choose.clone(),
                reason: reason.clone(),
            });
            self.put_link(stale).await?;
            self.progress().report.stale += 1;
            let entry = Entry::new(
                Action::Other,
                Status::Skipped,
                ("EntrySynchronizationMatching", "matching", reason.clone()),
            )
            .error(
                "StaleLink",
                format!(
                    "linked to {}, but the matching rules now choose {reason}",
                    link.target_id
                ),
            )
            .target(Some(&link.target_id));
            self.progress().report.skipped += 1;
            self.log(plan_index, source, entry);
            return Ok(true);
        }
        Ok(false)
    }

    async fn update(
        &self,
        plan_index: usize,
        source: &SourceObject,
        link: Link,
    ) -> Result<Outcome, CycleError> {
        let base = match Shadow::read_attributes(link.shadow.as_ref()) {
            Some(attributes) => attributes,
            None => match self
                .ctx
                .target
                .get(self.plans[plan_index].target_kind, &link.target_id)
                .await
            {
                Ok(Some(account)) => account.resource.as_object().cloned().unwrap_or_default(),
                Ok(None) => {
                    let error = TargetError::answered(
                        "GET",
                        format!(
                            "/{}/{}",
                            self.plans[plan_index].target_kind.endpoint(),
                            link.target_id
                        ),
                        404,
                    );
                    self.target_failure(
                        plan_index,
                        source,
                        Some(&link.target_id),
                        Action::Update,
                        &error,
                    );
                    return Ok(Outcome::default());
                }
                Err(error) => {
                    self.target_failure(
                        plan_index,
                        source,
                        Some(&link.target_id),
                        Action::Update,
                        &error,
                    );
                    return Ok(Outcome::default());
                }
            },
        };
        self.export_update(plan_index, source, link, base).await
    }

    /// Sends what `base` lacks of the desired resource, then records the shadow.
    async fn export_update(
        &self,
        plan_index: usize,
        source: &SourceObject,
        mut link: Link,
        base: Map<String, Value>,
    ) -> Result<Outcome, CycleError> {
        let Some(evaluation) = self.evaluate(plan_index, source, Operation::Update) else {
            return Ok(Outcome::default());
        };
        let linked = |link: Link| Outcome {
            resolve_references: true,
            newly_linked: false,
            source: None,
            link: Some(link),
        };
        let (ops, modified) = diff(&evaluation.desired.attributes, &base);
        if ops.is_empty() {
            if link.shadow.is_none() {
                let shadow = Shadow {
                    attributes: evaluation.desired.attributes.clone(),
                    ..Shadow::default()
                };
                link.shadow = Some(shadow.into_json());
                self.stage_link(link.clone());
            }
            self.redundant(plan_index, source, &link.target_id);
            return Ok(linked(link));
        }
        if !self.plans[plan_index].flow_types.update {
            self.skip(
                plan_index,
                source,
                Some(&link.target_id),
                "EntrySynchronizationSkipped",
                "the mapping does not allow Update",
            );
            return Ok(linked(link));
        }
        let target_kind = self.plans[plan_index].target_kind;
        match self
            .ctx
            .target
            .patch(target_kind, &link.target_id, &ops)
            .await
        {
            Ok(_) => {
                let had_shadow = link.shadow.is_some();
                // A group's shadow holds its member list: moved, not copied.
                let mut shadow = Shadow::take(link.shadow.take()).unwrap_or_default();
                if !had_shadow {
                    shadow.attributes = base;
                }
                merge(&mut shadow.attributes, &evaluation.desired.attributes);
                link.shadow = Some(shadow.into_json());
                link.display_name = display_name(source);
                self.stage_link(link.clone());
                let entry = Entry::new(
                    Action::Update,
                    Status::Success,
                    (
                        "EntryExportUpdate",
                        "export",
                        format!("updated account {}", link.target_id),
                    ),
                )
                .target(Some(&link.target_id))
                .modified(modified);
                self.progress().report.updated += 1;
                self.log(plan_index, source, entry);
                Ok(linked(link))
            }
            Err(error) => {
                self.target_failure(
                    plan_index,
                    source,
                    Some(&link.target_id),
                    Action::Update,
                    &error,
                );
                Ok(Outcome::default())
            }
        }
    }

    /// The object left scope, was disabled or soft deleted: `active=false`, or a delete
    /// when the mapping has no `active`.
    async fn deprovision(
        &self,
        plan_index: usize,
        source: &SourceObject,
        mut link: Link,
        left_scope: bool,
    ) -> Result<(), CycleError> {
        if left_scope && self.ctx.config.skip_out_of_scope_deletions {
            self.skip(
                plan_index,
                source,
                Some(&link.target_id),
                "SkipOutOfScopeDeletions",
                "the object left scope and the job skips out-of-scope deletions",
            );
            return Ok(());
        }
        let Some(evaluation) = self.evaluate(plan_index, source, Operation::Update) else {
            return Ok(());
        };
        let active = evaluation
            .desired
            .attributes
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("active"))
            .map(|(k, v)| (k.clone(), v.clone()));
        let Some((active_key, active_value)) = active else {
            return self
                .hard_delete(plan_index, self.source_uuid(source), Some(source), link)
                .await;
        };
        // A group's shadow holds its member list: moved, not copied.
        let mut shadow = Shadow::take(link.shadow.take()).unwrap_or_default();
        let mut desired = Map::new();
        desired.insert(active_key, active_value);
        let (ops, modified) = diff(&desired, &shadow.attributes);
        if ops.is_empty() {
            self.redundant(plan_index, source, &link.target_id);
            return Ok(());
        }
        if !self.plans[plan_index].flow_types.update {
            self.skip(
                plan_index,
                source,
                Some(&link.target_id),
                "EntrySynchronizationSkipped",
                "the mapping does not allow Update",
            );
            return Ok(());
        }
        let target_kind = self.plans[plan_index].target_kind;
        match self
            .ctx
            .target
            .patch(target_kind, &link.target_id, &ops)
            .await
        {
            Ok(_) => {
                merge(&mut shadow.attributes, &desired);
                link.shadow = Some(shadow.into_json());
                let target_id = link.target_id.clone();
                self.stage_link(link);
                let entry = Entry::new(
                    Action::Disable,
                    Status::Success,
                    (
                        "EntryExportUpdate",
                        "export",
                        format!("disabled account {target_id}"),
                    ),
                )
                .target(Some(&target_id))
                .modified(modified);
                self.progress().report.disabled += 1;
                self.log(plan_index, source, entry);
            }
            Err(error) => self.target_failure(
                plan_index,
                source,
                Some(&link.target_id),
                Action::Disable,
                &error,
            ),
        }
        Ok(())
    }

    /// The object is gone from the directory (or must go from the target): `DELETE`, then
    /// the link goes.
    async fn hard_delete(
        &self,
        plan_index: usize,
        source_id: Uuid,
        source: Option<&SourceObject>,
        link: Link,
    ) -> Result<(), CycleError> {
        let subject = Subject {
            id: source_id,
            display_name: source.and_then(display_name).or(link.display_name.clone()),
        };
        if !self.plans[plan_index].flow_types.delete {
            let entry = Entry::new(
                Action::Other,
                Status::Skipped,
                (
                    "EntrySynchronizationSkip",
                    "processing",
                    "the mapping does not allow Delete".to_string(),
                ),
            )
            .error(
                "EntrySynchronizationSkipped",
                "the mapping does not allow Delete",
            )
            .target(Some(&link.target_id));
            self.progress().report.skipped += 1;
            self.push_row(plan_index, &subject, entry);
            return Ok(());
        }
        let target_kind = self.plans[plan_index].target_kind;
        match self.ctx.target.delete(target_kind, &link.target_id).await {
            // Already gone is what a delete wants.
            Ok(())
            | Err(TargetError {
                class: ErrorClass::NotFound,
                ..
            }) => {
                self.ctx
                    .store
                    .delete_link(self.ctx.job_id, &link.object_type, link.source_id)
                    .await?;
                self.forget_target(link.source_id);
                let entry = Entry::new(
                    Action::Delete,
                    Status::Success,
                    (
                        "EntryExportDelete",
                        "export",
                        format!("deleted account {}", link.target_id),
                    ),
                )
                .target(Some(&link.target_id));
                self.progress().report.deleted += 1;
                self.push_row(plan_index, &subject, entry);
            }
            Err(error) => self.subject_target_failure(
                plan_index,
                &subject,
                Some(&link.target_id),
                Action::Delete,
                &error,
            ),
        }
        Ok(())
    }

    /// Turns the source's reference ids into target ids through links and sends the
    /// member and manager changes since the shadow.
    async fn resolve_references(
        &self,
        kind: ObjectKind,
        id: Uuid,
        source: Option<SourceObject>,
        link: Option<Link>,
    ) -> Result<(), CycleError> {
        let Some(plan_index) = self.plans.iter().position(|p| p.kind == kind) else {
            return Ok(());
        };
        let plan = &self.plans[plan_index];
        // Filling in a new object's references completes its creation; later changes to
        // them are updates.
        let allowed = plan.flow_types.update || self.progress().created.contains(&(kind, id));
        if plan.references.is_empty() || !allowed {
            return Ok(());
        }
        let link = match link {
            Some(link) => Some(link),
            None => self.link(kind, id).await?,
        };
        let Some(mut link) = link else {
            return Ok(());
        };
        if link.stale.is_some() {
            return Ok(());
        }
        let (source, _large_turn) = match source {
            Some(source) => {
                let turn = self.large_turn(&source).await;
                (source, turn)
            }
            None => {
                let Presence::Live(object) = self.dir().presence(kind, id).await? else {
                    return Ok(());
                };
                self.load_source(&object).await?
            }
        };
        let Some(mut evaluation) = self.evaluate(plan_index, &source, Operation::Update) else {
            return Ok(());
        };
        // From here on the source is only who the log rows are about: a group's member list
        // is not kept through its PATCHes.
        let subject = Subject::of(&source);
        drop(source);
        let mut shadow = Shadow::take(link.shadow.take()).unwrap_or_default();
        // Whether the shadow's references differ from what is resolved now (it is rewritten
        // even when nothing is sent).
        let mut changed = false;
        let mut states: Vec<ReferenceState> = Vec::new();
        for (attribute, multivalued) in self.plans[plan_index].references.clone() {
            // The wanted ids move out of the evaluation: each is dropped once resolved.
            let (wanted, rest): (Vec<DesiredReference>, Vec<DesiredReference>) =
                std::mem::take(&mut evaluation.desired.references)
                    .into_iter()
                    .partition(|r| r.target_attribute.eq_ignore_ascii_case(&attribute));
            evaluation.desired.references = rest;
            let mut resolved = Vec::new();
            for source_id in wanted.into_iter().flat_map(|r| r.source_ids) {
                let Ok(source_id) = Uuid::parse_str(&source_id) else {
                    continue;
                };
                match self.target_of(source_id).await? {
                    Some(target) => resolved.push(target),
                    // In a full cycle every linked object in scope is processed, so the
                    // referrer is due again when (if) the object it names gets linked later
                    // in the cycle: no need to look referrers up as each object is linked.
                    None if self.full => lock(&self.unresolved)
                        .entry(source_id)
                        .or_default()
                        .push((kind, id)),
                    None => {}
                }
            }
            resolved.sort();
            resolved.dedup();
            let shadowed = shadow.references.remove(&attribute);
            changed |= shadowed.is_none();
            let shadowed = shadowed.unwrap_or_default();
            // An account this job deleted is gone from the target's references too: the
            // shadow forgets it without a request.
            let mut before = Vec::with_capacity(shadowed.len());
            if !shadowed.is_empty() {
                // Sets, not list scans: a group's lists may hold 100,000s of ids.
                let resolved_set: HashSet<&str> = resolved.iter().map(String::as_str).collect();
                for target_id in shadowed {
                    if resolved_set.contains(target_id.as_str())
                        || self
                            .ctx
                            .store
                            .link_by_target(self.ctx.job_id, &target_id)
                            .await?
                            .is_some()
                    {
                        before.push(target_id);
                    } else {
                        changed = true;
                    }
                }
            }
            changed |= before != resolved;
            states.push(ReferenceState {
                attribute,
                multivalued,
                before,
                resolved,
            });
        }
        drop(evaluation);
        // References the mapping no longer has are dropped from the shadow.
        changed |= !shadow.references.is_empty();
        // Single-valued references (manager) go in the first request; member changes are
        // split so that no request carries more than `members_per_request` values (targets
        // refuse large bodies, some cap the changes in one PATCH).
        let mut single: Vec<SingleChange<'_>> = Vec::new();
        let mut member_changes: Vec<MemberChange<'_>> = Vec::new();
        let mut modified = Vec::new();
        for (state_index, state) in states.iter().enumerate() {
            if state.multivalued {
                let (add, remove) = state.member_delta();
                if !add.is_empty() || !remove.is_empty() {
                    modified.push(log::member_change(&state.attribute, &remove, &add));
                    member_changes.push(MemberChange {
                        state: state_index,
                        add,
                        remove,
                    });
                }
            } else if state.resolved.first() != state.before.first() {
                let value = state.resolved.first().map(String::as_str);
                single.push(SingleChange {
                    state: state_index,
                    value,
                });
                modified.push(Modified {
                    name: state.attribute.clone(),
                    old: state.before.first().map(|t| json!(t)),
                    new: value.map(|t| json!(t)),
                });
            }
        }
        let requests = reference_requests(
            single.len(),
            &member_changes,
            self.ctx.config.members_per_request.max(1),
        );
        if requests.is_empty() {
            if changed {
                shadow.references = states.into_iter().map(ReferenceState::resolved).collect();
                link.shadow = Some(shadow.into_json());
                self.stage_link(link);
            }
            return Ok(());
        }
        let target_kind = self.plans[plan_index].target_kind;
        let target_id = link.target_id.clone();
        for request in &requests {
            // Each PATCH's operations are built when it is sent, not all up front.
            let ops = request.operations(&states, &single, &member_changes);
            if let Err(error) = self.ctx.target.patch(target_kind, &target_id, &ops).await {
                // The requests that went through are recorded, so that the retry sends only
                // the rest.
                if request.index > 0 {
                    shadow.references = applied(
                        &states,
                        &single,
                        &member_changes,
                        &requests[..request.index],
                    );
                    link.shadow = Some(shadow.into_json());
                    self.stage_link(link);
                }
                self.subject_target_failure(
                    plan_index,
                    &subject,
                    Some(&target_id),
                    Action::Update,
                    &error,
                );
                return Ok(());
            }
        }
        drop(requests);
        shadow.references = states.into_iter().map(ReferenceState::resolved).collect();
        link.shadow = Some(shadow.into_json());
        self.stage_link(link);
        let entry = Entry::new(
            Action::Update,
            Status::Success,
            (
                "EntryReferenceResolution",
                "referenceResolution",
                format!("updated the references of account {target_id}"),
            ),
        )
        .target(Some(&target_id))
        .modified(modified);
        self.progress().report.updated += 1;
        self.push_row(plan_index, &subject, entry);
        Ok(())
    }

    // ---- log rows -----------------------------------------------------------------------

    fn source_uuid(&self, source: &SourceObject) -> Uuid {
        Uuid::parse_str(source.id()).unwrap_or_default()
    }

    fn redundant(&self, plan_index: usize, source: &SourceObject, target_id: &str) {
        let entry = Entry::new(
            Action::Other,
            Status::Skipped,
            (
                "EntrySynchronizationSkip",
                "export",
                "the account already holds the desired values".to_string(),
            ),
        )
        .error(
            "RedundantExport",
            "the account already holds the desired values",
        )
        .target(Some(target_id));
        self.progress().report.redundant += 1;
        self.log(plan_index, source, entry);
    }

    fn skip(
        &self,
        plan_index: usize,
        source: &SourceObject,
        target_id: Option<&str>,
        code: &str,
        reason: &str,
    ) {
        let entry = Entry::new(
            Action::Other,
            Status::Skipped,
            ("EntrySynchronizationSkip", "scoping", reason.to_string()),
        )
        .error(code, reason)
        .target(target_id);
        self.progress().report.skipped += 1;
        self.log(plan_index, source, entry);
    }

    fn target_failure(
        &self,
        plan_index: usize,
        source: &SourceObject,
        target_id: Option<&str>,
        action: Action,
        error: &TargetError,
    ) {
        self.subject_target_failure(plan_index, &Subject::of(source), target_id, action, error);
    }

    /// A failed target call about `subject`: noted for the batch and the cycle, reported,
    /// and logged with the target's answer.
    fn subject_target_failure(
        &self,
        plan_index: usize,
        subject: &Subject,
        target_id: Option<&str>,
        action: Action,
        error: &TargetError,
    ) {
        self.note_target_failure(error);
        let entry = target_error_entry(action, error).target(target_id);
        self.record_failure(plan_index, subject, &entry, true);
        self.push_row(plan_index, subject, entry);
    }

    fn note_target_failure(&self, error: &TargetError) {
        let mut progress = self.progress();
        progress.batch_failed = true;
        progress.cycle_failed = true;
        if error.class == ErrorClass::Unauthorized && progress.refused.is_none() {
            progress.refused = Some(error.clone());
        }
    }

    fn fail(&self, plan_index: usize, source: &SourceObject, entry: Entry, retried: bool) {
        let subject = Subject::of(source);
        self.record_failure(plan_index, &subject, &entry, retried);
        self.push_row(plan_index, &subject, entry);
    }

    fn record_failure(&self, plan_index: usize, subject: &Subject, entry: &Entry, retried: bool) {
        let (code, reason) = entry.error.clone().unwrap_or_default();
        self.progress().report.failures.push(ObjectFailure {
            object_type: self.plans[plan_index].object_type.clone(),
            source_id: subject.id,
            error_code: code,
            reason,
            retried,
        });
    }

    fn log(&self, plan_index: usize, source: &SourceObject, entry: Entry) {
        self.push_row(plan_index, &Subject::of(source), entry);
    }

    fn push_row(&self, plan_index: usize, subject: &Subject, entry: Entry) {
        let counter = {
            let mut progress = self.progress();
            progress.row_counter += 1;
            progress.row_counter
        };
        // Row ids follow the cycle id, so rows sort in the order they were written.
        let id = Uuid::from_u128(self.ctx.cycle_id.as_u128().wrapping_add(counter));
        let change_id = Uuid::from_u128(self.ctx.cycle_id.as_u128() ^ subject.id.as_u128());
        let plan = &self.plans[plan_index];
        let redacted = |name: &str| plan.is_redacted(name);
        let context = RowContext {
            id,
            job_id: self.ctx.job_id,
            cycle_id: self.ctx.cycle_id,
            change_id,
            activity: &self.activity,
            object_type: &plan.object_type,
            source_id: subject.id,
            source_display_name: subject.display_name.as_deref(),
            service_principal: (
                self.ctx.service_principal_id,
                self.ctx.service_principal_name,
            ),
            redacted: &redacted,
        };
        let summary = log::summary(&context, &entry);
        self.progress().rows.push(LogRow {
            id,
            job_id: self.ctx.job_id.to_string(),
            cycle_id: self.ctx.cycle_id,
            activity: self.activity.clone(),
            action: entry.action.as_str().to_string(),
            status: entry.status.as_str().to_string(),
            source_id: Some(subject.id.to_string()),
            target_id: entry.target_id.clone(),
            summary,
        });
    }
}

/// The postponed `(user, manager)` pairs in waves, each user in a wave after its manager's
/// (a manager not postponed is in none), in the order they were postponed within a wave.
/// A manager loop (A reports to B, B to A) is cut where the walk meets it. O(users): each
/// user's depth is worked out once, walking up the chain iteratively (chains may be long).
fn manager_waves(postponed: &[(Uuid, Uuid)]) -> Vec<Vec<Uuid>> {
    let position: HashMap<Uuid, usize> = postponed
        .iter()
        .enumerate()
        .map(|(at, (user, _))| (*user, at))
        .collect();
    let manager_at: Vec<Option<usize>> = postponed
        .iter()
        .map(|(_, manager)| position.get(manager).copied())
        .collect();
    drop(position);
    let mut depth: Vec<Option<usize>> = vec![None; postponed.len()];
    let mut path: Vec<usize> = Vec::new();
    let mut on_path: HashSet<usize> = HashSet::new();
    for start in 0..postponed.len() {
        if depth[start].is_some() {
            continue;
        }
        path.clear();
        on_path.clear();
        let mut current = start;
        path.push(current);
        on_path.insert(current);
        let base = loop {
            match manager_at[current] {
                Some(manager) => match depth[manager] {
                    Some(known) => break known + 1,
                    None if on_path.insert(manager) => {
                        path.push(manager);
                        current = manager;
                    }
                    // A loop: the walk's top is cut from its manager.
                    None => break 0,
                },
                None => break 0,
            }
        };
        for (above, at) in path.iter().rev().enumerate() {
            depth[*at] = Some(base + above);
        }
    }
    let mut waves: Vec<Vec<Uuid>> = Vec::new();
    for ((user, _), depth) in postponed.iter().zip(depth) {
        let depth = depth.unwrap_or(0);
        if waves.len() <= depth {
            waves.resize_with(depth + 1, Vec::new);
        }
        waves[depth].push(*user);
    }
    waves
}

/// One reference attribute of an object whose references are being resolved.
#[derive(Debug, Clone, PartialEq, Default)]
struct ReferenceState {
    attribute: String,
    multivalued: bool,
    /// What the target holds, as far as the shadow knows (accounts deleted since left out).
    before: Vec<String>,
    /// The target ids the mapping wants now, sorted and without duplicates.
    resolved: Vec<String>,
}

impl ReferenceState {
    fn resolved(self) -> (String, Vec<String>) {
        (self.attribute, self.resolved)
    }

    /// The ids to add (in `resolved`'s order) and to remove (in `before`'s), borrowed.
    fn member_delta(&self) -> (Vec<&str>, Vec<&str>) {
        if self.before.is_empty() {
            return (
                self.resolved.iter().map(String::as_str).collect(),
                Vec::new(),
            );
        }
        (
            missing_from(&self.resolved, &self.before),
            missing_from(&self.before, &self.resolved),
        )
    }
}

/// The ids of `ids` that `other` lacks, in `ids`' order: a set of `other`, not a scan of it
/// per id (a group's lists may hold 100,000s of ids).
fn missing_from<'s>(ids: &'s [String], other: &[String]) -> Vec<&'s str> {
    let other: HashSet<&str> = other.iter().map(String::as_str).collect();
    ids.iter()
        .map(String::as_str)
        .filter(|id| !other.contains(id))
        .collect()
}

/// A single-valued reference (manager) set (`Some`) or removed (`None`).
#[derive(Debug, Clone, PartialEq)]
struct SingleChange<'s> {
    /// Index of the attribute's [`ReferenceState`].
    state: usize,
    value: Option<&'s str>,
}

/// The member changes of one multi-valued reference attribute.
#[derive(Debug, Clone, PartialEq)]
struct MemberChange<'s> {
    /// Index of the attribute's [`ReferenceState`].
    state: usize,
    add: Vec<&'s str>,
    remove: Vec<&'s str>,
}

/// Member values of one PATCH operation: `add` or `remove` of `values` of a change.
#[derive(Debug, Clone, PartialEq)]
struct MemberPiece {
    /// Index of the [`MemberChange`].
    change: usize,
    adding: bool,
    values: std::ops::Range<usize>,
}

/// One PATCH of a reference resolution, as ranges of the changes: its operations are built
/// only when it is sent.
#[derive(Debug, Clone, PartialEq)]
struct ReferenceRequest {
    /// 0 for the first request of the object, the one that carries the single-valued changes.
    index: usize,
    members: Vec<MemberPiece>,
}

impl ReferenceRequest {
    fn operations(
        &self,
        states: &[ReferenceState],
        single: &[SingleChange<'_>],
        changes: &[MemberChange<'_>],
    ) -> Vec<PatchOperation> {
        let mut ops = Vec::new();
        if self.index == 0 {
            for change in single {
                let attribute = states[change.state].attribute.clone();
                ops.push(match change.value {
                    Some(target) => PatchOperation::replace(attribute, json!({ "value": target })),
                    None => PatchOperation::remove(attribute),
                });
            }
        }
        for piece in &self.members {
            let change = &changes[piece.change];
            ops.push(if piece.adding {
                PatchOperation::add_members(change.add[piece.values.clone()].iter().copied())
            } else {
                PatchOperation::remove_members(change.remove[piece.values.clone()].iter().copied())
            });
        }
        ops
    }
}

/// The source ids the mapping's evaluation names for reference attribute `attribute`.
fn wanted_ids<'e>(
    evaluation: &'e Evaluation,
    attribute: &'e str,
) -> impl Iterator<Item = &'e String> + 'e {
    evaluation
        .desired
        .references
        .iter()
        .filter(move |r| r.target_attribute.eq_ignore_ascii_case(attribute))
        .flat_map(|r| r.source_ids.iter())
}

/// Splits reference changes into PATCH requests carrying at most `per_request` member
/// values each (the `single` single-valued changes ride with the first): removals first,
/// so that a target with a cap on a group's size never sees the group above its final size.
fn reference_requests(
    single: usize,
    changes: &[MemberChange<'_>],
    per_request: usize,
) -> Vec<ReferenceRequest> {
    let mut requests: Vec<ReferenceRequest> = Vec::new();
    let mut current = ReferenceRequest {
        index: 0,
        members: Vec::new(),
    };
    let mut room = per_request;
    // Each change's removals, then each change's additions, in chunks of `per_request`.
    let chunks = |adding: bool| {
        changes.iter().enumerate().flat_map(move |(at, change)| {
            let len = if adding {
                change.add.len()
            } else {
                change.remove.len()
            };
            (0..len)
                .step_by(per_request)
                .map(move |start| (at, adding, start..(start + per_request).min(len)))
        })
    };
    for (change, adding, mut values) in chunks(false).chain(chunks(true)) {
        while !values.is_empty() {
            if room == 0 {
                let next = ReferenceRequest {
                    index: current.index + 1,
                    members: Vec::new(),
                };
                requests.push(std::mem::replace(&mut current, next));
                room = per_request;
            }
            let split = values.start + values.len().min(room);
            room -= split - values.start;
            current.members.push(MemberPiece {
                change,
                adding,
                values: values.start..split,
            });
            values.start = split;
        }
    }
    if single > 0 || !current.members.is_empty() {
        requests.push(current);
    }
    requests
}

/// The references the target holds once `sent` (the first requests) went through.
fn applied(
    states: &[ReferenceState],
    single: &[SingleChange<'_>],
    changes: &[MemberChange<'_>],
    sent: &[ReferenceRequest],
) -> BTreeMap<String, Vec<String>> {
    // Each change's removals and additions go out in order: what went through is a prefix.
    let mut removed = vec![0; changes.len()];
    let mut added = vec![0; changes.len()];
    for piece in sent.iter().flat_map(|r| &r.members) {
        let done = if piece.adding {
            &mut added
        } else {
            &mut removed
        };
        done[piece.change] = piece.values.end;
    }
    let mut applied = BTreeMap::new();
    for (at, state) in states.iter().enumerate() {
        let mut ids = state.before.clone();
        if !sent.is_empty() {
            if let Some(change) = single.iter().find(|c| c.state == at) {
                ids = change.value.iter().map(|t| t.to_string()).collect();
            }
        }
        if let Some((c, change)) = changes.iter().enumerate().find(|(_, c)| c.state == at) {
            let gone: HashSet<&str> = change.remove[..removed[c]].iter().copied().collect();
            ids.retain(|t| !gone.contains(t.as_str()));
            ids.extend(change.add[..added[c]].iter().map(|t| t.to_string()));
        }
        applied.insert(state.attribute.clone(), ids);
    }
    applied
}

/// An object of a batch and what reconciling it led to.
type Reconciled = ((ObjectKind, Uuid), Outcome);

/// An object whose references are to be resolved, with its source object and link when
/// the batch has them already.
type DueReferences = ((ObjectKind, Uuid), Option<SourceObject>, Option<Link>);

/// Who a log row is about.
struct Subject {
    id: Uuid,
    display_name: Option<String>,
}

impl Subject {
    fn of(source: &SourceObject) -> Subject {
        Subject {
            id: Uuid::parse_str(source.id()).unwrap_or_default(),
            display_name: display_name(source),
        }
    }
}

fn display_name(source: &SourceObject) -> Option<String> {
    source
        .get("displayName")
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn target_error_entry(action: Action, error: &TargetError) -> Entry {
    let step = match action {
        Action::Create => "EntryExportAdd",
        Action::Delete => "EntryExportDelete",
        _ => "EntryExportUpdate",
    };
    let mut entry = Entry::new(action, Status::Failure, (step, "export", error.to_string()))
        .error(error_code(error), error.to_string());
    if let Some(detail) = &error.detail {
        entry = entry.details(detail.clone());
    }
    entry
}

#[cfg(test)]
mod tests;
