//! The worker: runs the cycles of active jobs. A job is due when it has never run, when its
//! schedule's interval has passed since its last cycle (Entra's only trigger), or when the
//! directory's change log has moved past the job's watermark and the job's last cycle ended
//! at least `change_delay` ago (provisio's: a change reaches the target within seconds,
//! whatever the interval). Each cycle runs under the job's lease, so one worker at a time
//! runs a job, however many processes share the database. While the cycle runs, the worker
//! renews the lease every third of its length, so a cycle longer than the lease keeps its
//! job; when a renewal finds the lease gone (the process stalled past it and another worker
//! took the job over), the cycle stops there and the job's status says so.
//!
//! Jobs run side by side: [`Worker::run_continuously`] looks for due jobs at every tick and
//! starts each beside the cycles already running (up to `WorkerConfig::max_running_jobs`),
//! so that one job's long cycle (a million users' first cycle takes minutes) never holds
//! back another job's change. The worker does no IO of its own and keeps no timer: the
//! ticks and the renewals wait on injected [`Ticker`]s, the binary's sleeping on its
//! runtime's timer, the tests' ticking by hand; tests also call [`Worker::run_due`] with a
//! fixed clock.

use std::collections::HashSet;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;

use futures::future;
use futures::stream::{FuturesUnordered, StreamExt};
use provisio_directory::Directory;
use uuid::Uuid;

use crate::clock::Ticker;
use crate::cycle::{run_cycle, CycleContext, CycleReport, JobConfig};
use crate::model::SynchronizationScheduleState;
use crate::secrets::Secrets;
use crate::state::{Fence, JobRecord, SyncStoreError};
use crate::synchronization::{
    interval, job_of, log_timestamp, pending_reset, Execution, SyncError, Synchronization,
};
use crate::target::Target;

/// Builds the target a job exports to from its service principal's secrets
/// (`BaseAddress`, `SecretToken`): the SCIM client in the binary, fakes in tests.
pub trait TargetFactory: Send + Sync {
    fn target(&self, secrets: &Secrets) -> Result<Arc<dyn Target>, String>;
}

/// How a worker runs jobs.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// This worker's name in leases (unique per process).
    pub id: String,
    /// How long a lease lasts before another worker may take the job over.
    pub lease: time::Duration,
    /// The least time between the end of a cycle and a cycle started by a change: changes
    /// that come in a burst go out in one cycle.
    pub change_delay: time::Duration,
    /// How full cycles match unlinked objects with the target's accounts.
    pub matching: crate::cycle::MatchingMode,
    /// Most cycles [`Worker::run_continuously`] runs at once; a due job past it starts at a
    /// later tick, when a cycle has ended.
    pub max_running_jobs: usize,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            id: format!("worker-{}", Uuid::new_v4()),
            lease: time::Duration::minutes(30),
            change_delay: time::Duration::seconds(1),
            matching: crate::cycle::MatchingMode::default(),
            max_running_jobs: 4,
        }
    }
}

/// Why a cycle stopped when a renewal of its lease found the lease gone, as the job's status
/// records it.
pub const LEASE_LOST: &str = "the lease on the job passed to another worker";

/// What happened to one due job.
#[derive(Debug)]
pub enum JobRun {
    /// The cycle ran (its report says what it did, failures included).
    Ran(CycleReport),
    /// Another worker holds the job's lease.
    Busy,
    /// The cycle could not run or stopped: the job's status records why.
    Failed(String),
}

/// Runs the cycles of due jobs.
pub struct Worker {
    synchronization: Synchronization,
    directory: Directory,
    targets: Arc<dyn TargetFactory>,
    ticker: Arc<dyn Ticker>,
    config: WorkerConfig,
}

impl Worker {
    pub fn new(
        synchronization: Synchronization,
        directory: Directory,
        targets: Arc<dyn TargetFactory>,
        ticker: Arc<dyn Ticker>,
        config: WorkerConfig,
    ) -> Self {
        Worker {
            synchronization,
            directory,
            targets,
            ticker,
            config,
        }
    }

    /// Runs one cycle of every due job, one after the other; returns what each did.
    pub async fn run_due(&self) -> Result<Vec<(String, JobRun)>, SyncError> {
        let mut runs = Vec::new();
        for record in self.due_jobs().await? {
            let run = self.run_job(&record).await;
            runs.push((record.id.clone(), run));
        }
        Ok(runs)
    }

    /// The jobs due now.
    pub async fn due_jobs(&self) -> Result<Vec<JobRecord>, SyncError> {
        let jobs = self.synchronization.store().all_jobs().await?;
        let head = self.directory.watermark().await?;
        let mut due = Vec::new();
        for record in jobs {
            if self.is_due(&record, head).await? {
                due.push(record);
            }
        }
        Ok(due)
    }

    /// Runs due jobs for as long as it is polled: after every `every` on `tick`, each due job
    /// that is not running yet starts beside the cycles that are, up to
    /// `WorkerConfig::max_running_jobs`; `report` hears how each cycle ended. All of them run
    /// in the caller's task, as the objects of one cycle do.
    ///
    /// Nothing here is awaited without driving the running cycles alongside (see
    /// [`alongside`]): a cycle's pending read may already hold one of the store's read
    /// permits, handed over while it waits, and a look for due jobs that waited for a
    /// permit while the cycles stood still would wait for ever. (It did: a million-user
    /// cycle and the whole API stopped.)
    pub async fn run_continuously(
        &self,
        tick: &dyn Ticker,
        every: time::Duration,
        mut report: impl FnMut(&str, JobRun),
    ) {
        let mut running = Running {
            cycles: FuturesUnordered::new(),
            ids: HashSet::new(),
        };
        loop {
            let looking = self.due_jobs();
            let mut looking = pin!(looking);
            let due = loop {
                if let Some(due) = alongside(looking.as_mut(), &mut running, &mut report).await {
                    break due;
                }
            };
            match due {
                Ok(due) => {
                    for record in due {
                        if running.cycles.len() >= self.config.max_running_jobs.max(1) {
                            break;
                        }
                        if !running.ids.insert(record.id.clone()) {
                            continue;
                        }
                        running.cycles.push(async move {
                            let run = self.run_job(&record).await;
                            (record.id, run)
                        });
                    }
                }
                Err(error) => tracing::warn!(message = "Listing due jobs failed.", %error),
            }
            // A job whose cycle ended is due again on a change `change_delay` later: the
            // next look comes then, rather than up to a tick after. (At most the running
            // cycles can end before that look, so this cannot put it off for long.)
            let mut next_tick = tick.wait(every);
            while alongside(&mut next_tick, &mut running, &mut report)
                .await
                .is_none()
            {
                next_tick = tick.wait(self.config.change_delay);
            }
        }
    }

    /// Whether the job should run now, the directory's change log being at `head`.
    async fn is_due(&self, record: &JobRecord, head: i64) -> Result<bool, SyncError> {
        let job = job_of(record)?;
        let Some(schedule) = job.schedule else {
            return Ok(false);
        };
        if schedule.state != SynchronizationScheduleState::Active {
            return Ok(false);
        }
        let last_ended = job
            .status
            .and_then(|s| s.last_execution)
            .and_then(|e| e.time_ended)
            .and_then(|t| {
                time::OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339).ok()
            });
        let Some(last_ended) = last_ended else {
            return Ok(true);
        };
        // A restart or a schema change left resets to apply: run them now.
        if !pending_reset(record).is_empty() {
            return Ok(true);
        }
        let now = self.synchronization.clock().now();
        let every = interval::parse(&schedule.interval).unwrap_or(time::Duration::minutes(40));
        if now - last_ended >= every {
            return Ok(true);
        }
        let watermark = self.synchronization.store().watermark(&record.id).await?;
        let behind = watermark.is_none_or(|w| w < head);
        Ok(behind && now - last_ended >= self.config.change_delay)
    }

    /// Runs one cycle of the job under its lease and records the outcome in its status.
    pub async fn run_job(&self, record: &JobRecord) -> JobRun {
        let store = self.synchronization.store();
        let clock = self.synchronization.clock();
        let now = clock.now();
        let lease = store
            .acquire_lease(
                &record.id,
                &self.config.id,
                &provisio_directory::timestamp(now),
                &provisio_directory::timestamp(now + self.config.lease),
            )
            .await;
        let fence = match lease {
            Ok(Some(fence)) => fence,
            Ok(None) => return JobRun::Busy,
            Err(error) => return JobRun::Failed(error.to_string()),
        };
        let began = log_timestamp(now);
        let outcome =
            match first_of(self.cycle(record, fence), self.keep_lease(record, fence)).await {
                Either::First(outcome) => outcome,
                // The cycle is dropped at the call it was waiting on: its next fenced write would
                // fail anyway, and until then it would only send the target what the worker now
                // holding the job sends too.
                Either::Second(LeaseLost) => Err(LEASE_LOST.to_string()),
            };
        let ended = log_timestamp(clock.now());
        let (run, execution) = match outcome {
            Ok(report) => {
                let execution = Execution {
                    cycle_id: report.cycle_id,
                    began,
                    ended,
                    imported: i64::try_from(
                        report.created
                            + report.updated
                            + report.disabled
                            + report.deleted
                            + report.redundant
                            + report.skipped,
                    )
                    .unwrap_or(i64::MAX),
                    exported: i64::try_from(
                        report.created + report.updated + report.disabled + report.deleted,
                    )
                    .unwrap_or(i64::MAX),
                    failed: i64::try_from(report.failures.len()).unwrap_or(i64::MAX),
                    error: None,
                };
                (JobRun::Ran(report), execution)
            }
            Err(message) => {
                let execution = Execution {
                    cycle_id: Uuid::new_v4(),
                    began,
                    ended,
                    imported: 0,
                    exported: 0,
                    failed: 0,
                    error: Some(message.clone()),
                };
                (JobRun::Failed(message), execution)
            }
        };
        // Fenced: a cycle whose lease passed to another worker leaves the status to it (its
        // own stop is in this process's log), so a late write cannot hide the new holder's.
        match self
            .synchronization
            .record_execution(record.service_principal_id, &record.id, fence, &execution)
            .await
        {
            Ok(()) => {}
            Err(SyncError::Store(SyncStoreError::Fenced(_))) => {
                tracing::warn!(message = "The job's status is left to the worker that now holds its lease.", job = %record.id, outcome = ?execution.error);
            }
            Err(error) => {
                tracing::warn!(message = "Recording a cycle in the job's status failed.", job = %record.id, %error);
            }
        }
        if let Err(error) = store.release_lease(&record.id, fence).await {
            tracing::warn!(message = "Releasing a job's lease failed.", job = %record.id, %error);
        }
        run
    }

    /// Renews the job's lease every third of its length; returns only when a renewal finds
    /// it held by another worker. A renewal that fails (the store unreachable) is tried again
    /// at the next tick: the lease may well outlast the outage, and the fenced writes refuse
    /// the cycle's work if it does not.
    async fn keep_lease(&self, record: &JobRecord, fence: Fence) -> LeaseLost {
        let store = self.synchronization.store();
        let clock = self.synchronization.clock();
        // A second at least, so that a lease configured too short cannot make the renewals
        // hammer the store.
        let period: time::Duration = std::cmp::max(self.config.lease / 3, time::Duration::SECOND);
        loop {
            self.ticker.wait(period).await;
            let until = provisio_directory::timestamp(clock.now() + self.config.lease);
            match store
                .renew_lease(&record.id, &self.config.id, fence, &until)
                .await
            {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!(message = "The job's lease passed to another worker: its cycle stops.", job = %record.id);
                    return LeaseLost;
                }
                Err(error) => {
                    tracing::warn!(message = "Renewing a job's lease failed.", job = %record.id, %error)
                }
            }
        }
    }

    /// The cycle itself: pending resets, the job's settings and target, then `run_cycle`.
    async fn cycle(&self, record: &JobRecord, fence: Fence) -> Result<CycleReport, String> {
        let sp = record.service_principal_id;
        let reset = self
            .synchronization
            .take_pending_reset(sp, &record.id, fence)
            .await
            .map_err(|e| e.to_string())?;
        let schema = self
            .synchronization
            .schema_of(record)
            .map_err(|e| e.to_string())?;
        let secrets = self
            .synchronization
            .secrets(sp)
            .await
            .map_err(|e| e.to_string())?
            .unwrap_or_default();
        let target = self.targets.target(&secrets)?;
        let config = JobConfig {
            matching: self.config.matching,
            ..JobConfig::from_secrets(&secrets)
        };
        let name = self
            .directory
            .get(provisio_directory::ObjectKind::ServicePrincipal, sp)
            .await
            .ok()
            .and_then(|o| {
                o.data
                    .get("displayName")
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
            })
            .unwrap_or_default();
        let clock = self.synchronization.clock();
        let context = CycleContext {
            job_id: &record.id,
            service_principal_id: sp,
            service_principal_name: &name,
            schema: &schema,
            config: &config,
            fence,
            cycle_id: Uuid::new_v4(),
            force_full: reset.watermark || reset.connector_data_store,
            directory: &self.directory,
            store: self.synchronization.store().as_ref(),
            target: target.as_ref(),
            clock: clock.as_ref(),
        };
        run_cycle(&context).await.map_err(|e| e.to_string())
    }
}

/// A renewal found the job's lease held by another worker.
struct LeaseLost;

enum Either<A, B> {
    First(A),
    Second(B),
}

/// Polls both futures in the caller's task (the engine spawns nothing) until one ends; the
/// other is dropped. `first` is polled first, so a cycle that ends with its last renewal
/// counts as ended.
async fn first_of<A, B>(
    first: impl Future<Output = A>,
    second: impl Future<Output = B>,
) -> Either<A, B> {
    let mut first = pin!(first);
    let mut second = pin!(second);
    poll_fn(|cx| {
        if let Poll::Ready(a) = first.as_mut().poll(cx) {
            return Poll::Ready(Either::First(a));
        }
        second.as_mut().poll(cx).map(Either::Second)
    })
    .await
}

/// The cycles [`Worker::run_continuously`] is running, and their jobs' ids.
struct Running<F> {
    cycles: FuturesUnordered<F>,
    ids: HashSet<String>,
}

/// Awaits `until` while driving the running cycles: its value once it is ready, or `None`
/// as soon as a cycle ended (reported, and its job no longer running) before that.
async fn alongside<T, F>(
    until: impl Future<Output = T> + Unpin,
    running: &mut Running<F>,
    report: &mut impl FnMut(&str, JobRun),
) -> Option<T>
where
    F: Future<Output = (String, JobRun)>,
{
    if running.cycles.is_empty() {
        return Some(until.await);
    }
    match future::select(until, running.cycles.next()).await {
        future::Either::Left((value, _)) => Some(value),
        future::Either::Right((ended, _)) => {
            if let Some((id, run)) = ended {
                running.ids.remove(&id);
                report(&id, run);
            }
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use provisio_directory::{
        AssignmentStore, Change, ChangeLog, DirectoryConfig, DirectoryStore, ImportObject,
        ImportReference, ImportReport, ImportStore, IndexSeek, ListQuery, MemberRef,
        MemoryDirectory, ObjectKind, ObjectStore, ObjectUpdate, RawObject, ReferenceStore,
        StoreError, StoredAssignment, StoredObject, UpdateFn, DEFAULT_ACCESS_ROLE,
    };
    use serde_json::{json, Map, Value};
    use time::macros::datetime;

    use async_trait::async_trait;
    use tokio::sync::{watch, Semaphore};

    use super::*;
    use crate::clock::{Clock, FixedClock};
    use crate::cycle::MemoryTarget;
    use crate::model::{SynchronizationSecret, SynchronizationSecretKeyStringValuePair};
    use crate::secrets::SecretSealer;
    use crate::state::memory::MemorySyncStore;
    use crate::target::{Page, PatchOperation, TargetError, TargetKind, TargetObject};

    /// The gated target, except for the BaseAddress [`OTHER_TARGET`]: a plain one.
    struct Fixed(Arc<GatedTarget>, MemoryTarget);

    /// The BaseAddress of a second app's target.
    const OTHER_TARGET: &str = "https://other.test/v2";

    impl TargetFactory for Fixed {
        fn target(&self, secrets: &Secrets) -> Result<Arc<dyn Target>, String> {
            match secrets.base_address() {
                Some(OTHER_TARGET) => Ok(Arc::new(self.1.clone())),
                Some(_) => Ok(self.0.clone()),
                None => Err("no BaseAddress".to_string()),
            }
        }
    }

    /// A memory target whose creates wait while its gate is closed, so that a test can hold
    /// a cycle in the middle for as long as it likes.
    struct GatedTarget {
        inner: MemoryTarget,
        open: watch::Sender<bool>,
        /// Creates that reached the gate.
        arrived: watch::Sender<usize>,
    }

    impl GatedTarget {
        fn new(inner: MemoryTarget) -> Self {
            GatedTarget {
                inner,
                open: watch::Sender::new(true),
                arrived: watch::Sender::new(0),
            }
        }

        async fn until_a_create_waits(&self) {
            until_one(&self.arrived).await;
        }
    }

    #[async_trait]
    impl Target for GatedTarget {
        async fn find(
            &self,
            kind: TargetKind,
            attribute: &str,
            value: &str,
        ) -> Result<Vec<TargetObject>, TargetError> {
            self.inner.find(kind, attribute, value).await
        }
        async fn get(
            &self,
            kind: TargetKind,
            id: &str,
        ) -> Result<Option<TargetObject>, TargetError> {
            self.inner.get(kind, id).await
        }
        async fn create(
            &self,
            kind: TargetKind,
            resource: Value,
        ) -> Result<TargetObject, TargetError> {
            let mut open = self.open.subscribe();
            self.arrived.send_modify(|n| *n += 1);
            open.wait_for(|open| *open).await.expect("gate alive");
            self.inner.create(kind, resource).await
        }
        async fn patch(
            &self,
            kind: TargetKind,
            id: &str,
            ops: &[PatchOperation],
        ) -> Result<Option<TargetObject>, TargetError> {
            self.inner.patch(kind, id, ops).await
        }
        async fn delete(&self, kind: TargetKind, id: &str) -> Result<(), TargetError> {
            self.inner.delete(kind, id).await
        }
        async fn list_page(
            &self,
            kind: TargetKind,
            start_index: u64,
            count: u64,
            attributes: &[&str],
        ) -> Result<Page, TargetError> {
            self.inner
                .list_page(kind, start_index, count, attributes)
                .await
        }
        async fn probe(&self) -> Result<(), TargetError> {
            self.inner.probe().await
        }
    }

    /// A ticker that lets one wait through per tick, and counts the waits begun.
    struct ManualTicker {
        ticks: Semaphore,
        waits: watch::Sender<usize>,
    }

    impl ManualTicker {
        fn new() -> Self {
            ManualTicker {
                ticks: Semaphore::new(0),
                waits: watch::Sender::new(0),
            }
        }

        fn tick(&self) {
            self.ticks.add_permits(1);
        }

        /// Returns once `n` waits have begun (the renewal loop is waiting for its n-th tick).
        async fn until_waits(&self, n: usize) {
            let mut waits = self.waits.subscribe();
            waits.wait_for(|w| *w >= n).await.expect("ticker alive");
        }
    }

    #[async_trait]
    impl Ticker for ManualTicker {
        async fn wait(&self, _period: time::Duration) {
            self.waits.send_modify(|n| *n += 1);
            if let Ok(permit) = self.ticks.acquire().await {
                permit.forget();
            }
        }
    }

    /// Returns once `counter` has counted one.
    async fn until_one(counter: &watch::Sender<usize>) {
        let mut count = counter.subscribe();
        count.wait_for(|n| *n > 0).await.expect("counter alive");
    }

    /// A memory directory that reads the way the SQLite one does: each read of an object or
    /// of the change log's head takes one of a fixed number of read permits (here one) and
    /// holds it across its await. While `held` is set, an object read stops there, permit
    /// in hand, until it is cleared: the moment a tick can come in.
    struct PermitDirectory {
        inner: MemoryDirectory,
        permits: Semaphore,
        held: watch::Sender<bool>,
        /// Object reads that stopped with the permit.
        holding: watch::Sender<usize>,
    }

    impl PermitDirectory {
        fn new() -> Self {
            PermitDirectory {
                inner: MemoryDirectory::new(),
                permits: Semaphore::new(1),
                held: watch::Sender::new(false),
                holding: watch::Sender::new(0),
            }
        }

        async fn read<T>(&self, stop: bool, read: impl Future<Output = T>) -> T {
            let _permit = self.permits.acquire().await.expect("permits open");
            if stop && *self.held.borrow() {
                let mut held = self.held.subscribe();
                self.holding.send_modify(|n| *n += 1);
                held.wait_for(|held| !*held).await.expect("directory alive");
            }
            read.await
        }

        async fn until_a_read_holds_the_permit(&self) {
            until_one(&self.holding).await;
        }
    }

    #[async_trait]
    impl ObjectStore for PermitDirectory {
        async fn create(
            &self,
            kind: ObjectKind,
            id: Uuid,
            data: Map<String, Value>,
            manager: Option<Uuid>,
            members: Vec<MemberRef>,
        ) -> Result<StoredObject, StoreError> {
            self.inner.create(kind, id, data, manager, members).await
        }
        async fn get(
            &self,
            kind: ObjectKind,
            id: Uuid,
            deleted: bool,
        ) -> Result<Option<StoredObject>, StoreError> {
            self.read(true, self.inner.get(kind, id, deleted)).await
        }
        async fn get_any(&self, id: Uuid) -> Result<Option<StoredObject>, StoreError> {
            self.read(true, self.inner.get_any(id)).await
        }
        async fn update(
            &self,
            kind: ObjectKind,
            id: Uuid,
            change: UpdateFn,
        ) -> Result<ObjectUpdate, StoreError> {
            self.inner.update(kind, id, change).await
        }
        async fn delete(&self, kind: ObjectKind, id: Uuid) -> Result<(), StoreError> {
            self.inner.delete(kind, id).await
        }
        async fn restore(&self, id: Uuid) -> Result<StoredObject, StoreError> {
            self.inner.restore(id).await
        }
        async fn purge(&self, id: Uuid) -> Result<(), StoreError> {
            self.inner.purge(id).await
        }
        async fn purge_deleted_before(&self, before: &str) -> Result<u64, StoreError> {
            self.inner.purge_deleted_before(before).await
        }
        async fn list(&self, query: &ListQuery) -> Result<Vec<StoredObject>, StoreError> {
            self.inner.list(query).await
        }
        async fn list_raw(&self, query: &ListQuery) -> Result<Vec<RawObject>, StoreError> {
            self.inner.list_raw(query).await
        }
        async fn count(&self, kind: ObjectKind, deleted: bool) -> Result<u64, StoreError> {
            self.inner.count(kind, deleted).await
        }
        async fn lookup(
            &self,
            kind: ObjectKind,
            key: IndexSeek,
            value: &str,
        ) -> Result<Option<Uuid>, StoreError> {
            self.inner.lookup(kind, key, value).await
        }
    }

    #[async_trait]
    impl ReferenceStore for PermitDirectory {
        async fn set_manager(&self, user: Uuid, manager: Option<Uuid>) -> Result<(), StoreError> {
            self.inner.set_manager(user, manager).await
        }
        async fn direct_reports(
            &self,
            manager: Uuid,
            after: Option<Uuid>,
            limit: usize,
        ) -> Result<Vec<StoredObject>, StoreError> {
            self.inner.direct_reports(manager, after, limit).await
        }
        async fn managers_of(&self, users: &[Uuid]) -> Result<Vec<(Uuid, Uuid)>, StoreError> {
            self.inner.managers_of(users).await
        }
        async fn add_member(&self, group: Uuid, member: MemberRef) -> Result<bool, StoreError> {
            self.inner.add_member(group, member).await
        }
        async fn remove_member(&self, group: Uuid, member: Uuid) -> Result<bool, StoreError> {
            self.inner.remove_member(group, member).await
        }
        async fn members(
            &self,
            group: Uuid,
            after: Option<Uuid>,
            limit: usize,
        ) -> Result<Vec<StoredObject>, StoreError> {
            self.inner.members(group, after, limit).await
        }
        async fn member_refs(
            &self,
            group: Uuid,
            after: Option<Uuid>,
            limit: usize,
        ) -> Result<Vec<MemberRef>, StoreError> {
            self.inner.member_refs(group, after, limit).await
        }
        async fn member_of(&self, member: Uuid) -> Result<Vec<StoredObject>, StoreError> {
            self.inner.member_of(member).await
        }
    }

    #[async_trait]
    impl AssignmentStore for PermitDirectory {
        async fn add_assignment(&self, assignment: StoredAssignment) -> Result<(), StoreError> {
            self.inner.add_assignment(assignment).await
        }
        async fn remove_assignment(&self, id: Uuid) -> Result<StoredAssignment, StoreError> {
            self.inner.remove_assignment(id).await
        }
        async fn get_assignment(&self, id: Uuid) -> Result<Option<StoredAssignment>, StoreError> {
            self.inner.get_assignment(id).await
        }
        async fn assignments(
            &self,
            resource: Option<Uuid>,
            principal: Option<Uuid>,
            after: Option<Uuid>,
            limit: usize,
        ) -> Result<Vec<StoredAssignment>, StoreError> {
            self.inner
                .assignments(resource, principal, after, limit)
                .await
        }
    }

    #[async_trait]
    impl ImportStore for PermitDirectory {
        async fn import(
            &self,
            objects: Vec<ImportObject>,
            links: Vec<ImportReference>,
            dry_run: bool,
        ) -> Result<ImportReport, StoreError> {
            self.inner.import(objects, links, dry_run).await
        }
    }

    #[async_trait]
    impl ChangeLog for PermitDirectory {
        async fn watermark(&self) -> Result<i64, StoreError> {
            self.read(false, self.inner.watermark()).await
        }
        async fn changes_since(
            &self,
            watermark: i64,
            limit: usize,
        ) -> Result<Vec<Change>, StoreError> {
            self.inner.changes_since(watermark, limit).await
        }
    }

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    struct World {
        directory: Directory,
        sync: Synchronization,
        target: MemoryTarget,
        /// The target of [`OTHER_TARGET`].
        other_target: MemoryTarget,
        gate: Arc<GatedTarget>,
        ticker: Arc<ManualTicker>,
        clock: Arc<FixedClock>,
        worker: Arc<Worker>,
        sp: Uuid,
    }

    async fn world() -> World {
        world_on(Arc::new(MemoryDirectory::new())).await
    }

    /// A world whose directory keeps its objects in `store`.
    async fn world_on(store: Arc<dyn DirectoryStore>) -> World {
        let directory = Directory::new(store, DirectoryConfig::default());
        let clock = Arc::new(FixedClock::new(datetime!(2026-03-01 08:00 UTC)));
        let sync = Synchronization::new(
            Arc::new(MemorySyncStore::new()),
            directory.clone(),
            clock.clone(),
            SecretSealer::new([7; 32]),
        );
        let target = MemoryTarget::new();
        let gate = Arc::new(GatedTarget::new(target.clone()));
        let other_target = MemoryTarget::new();
        let ticker = Arc::new(ManualTicker::new());
        let worker = Arc::new(Worker::new(
            sync.clone(),
            directory.clone(),
            Arc::new(Fixed(gate.clone(), other_target.clone())),
            ticker.clone(),
            WorkerConfig::default(),
        ));
        let sp = directory
            .create(
                ObjectKind::ServicePrincipal,
                &object(json!({"displayName": "App"})),
            )
            .await
            .expect("service principal")
            .id;
        World {
            directory,
            sync,
            target,
            other_target,
            gate,
            ticker,
            clock,
            worker,
            sp,
        }
    }

    impl World {
        async fn user(&self, login: &str) -> Uuid {
            let user = self
                .directory
                .create(
                    ObjectKind::User,
                    &object(json!({
                        "userPrincipalName": format!("{login}@contoso.test"),
                        "displayName": login,
                        "mailNickname": login,
                        "accountEnabled": true
                    })),
                )
                .await
                .expect("user");
            self.directory
                .assign(self.sp, user.id, DEFAULT_ACCESS_ROLE)
                .await
                .expect("assign");
            user.id
        }

        /// A job from the `scim` template with a target, started, as an admin makes one.
        async fn started_job(&self) -> String {
            self.started_job_of(self.sp, "https://scim.test/v2").await
        }

        /// A started job of the app `sp`, exporting to `base_address`.
        async fn started_job_of(&self, sp: Uuid, base_address: &str) -> String {
            let job = self.sync.create_job(sp, "scim").await.expect("job").id;
            let secret = |key, value: &str| SynchronizationSecretKeyStringValuePair {
                key,
                value: Some(value.to_string()),
            };
            self.sync
                .put_secrets(
                    sp,
                    vec![
                        secret(SynchronizationSecret::BaseAddress, base_address),
                        secret(SynchronizationSecret::SecretToken, "t0ken"),
                    ],
                )
                .await
                .expect("secrets");
            self.sync.start(sp, &job).await.expect("start");
            job
        }

        /// Starts the worker's loop on a ticker of its own: what `run_continuously` reports
        /// comes out of the receiver (see [`next_ended`]).
        fn run_continuously(
            &self,
        ) -> (
            Arc<ManualTicker>,
            tokio::sync::mpsc::UnboundedReceiver<(String, JobRun)>,
        ) {
            let loop_ticks = Arc::new(ManualTicker::new());
            let (ended_tx, ended) = tokio::sync::mpsc::unbounded_channel();
            let worker = Arc::clone(&self.worker);
            let ticks = Arc::clone(&loop_ticks);
            tokio::spawn(async move {
                worker
                    .run_continuously(ticks.as_ref(), time::Duration::SECOND, move |job, run| {
                        let _ = ended_tx.send((job.to_string(), run));
                    })
                    .await
            });
            (loop_ticks, ended)
        }

        async fn ran(&self) -> Vec<String> {
            let runs = self.worker.run_due().await.expect("run due jobs");
            runs.into_iter()
                .map(|(job, run)| match run {
                    JobRun::Ran(report) => {
                        assert!(report.failures.is_empty(), "{job}: {:?}", report.failures);
                        job
                    }
                    other => panic!("{job}: {other:?}"),
                })
                .collect()
        }

        fn user_names(&self) -> Vec<String> {
            let mut names: Vec<String> = self
                .target
                .objects(TargetKind::User)
                .iter()
                .filter_map(|u| u["userName"].as_str().map(str::to_string))
                .collect();
            names.sort();
            names
        }
    }

    /// Waits for what `run_continuously` reports next. The minute is a guard against a hang
    /// (a cycle that never ends), not a measure of speed.
    async fn next_ended(
        ended: &mut tokio::sync::mpsc::UnboundedReceiver<(String, JobRun)>,
    ) -> (String, JobRun) {
        tokio::time::timeout(std::time::Duration::from_secs(60), ended.recv())
            .await
            .expect("a cycle ended within the guard's minute")
            .expect("the worker is running")
    }

    #[tokio::test]
    async fn a_job_s_long_cycle_does_not_hold_back_another_job() {
        let w = world().await;
        let ann = w.user("ann").await;
        let slow = w.started_job().await;
        // The first job's target takes its time: its cycle waits there.
        w.gate.open.send_replace(false);
        let (loop_ticks, mut ended) = w.run_continuously();
        w.gate.until_a_create_waits().await;

        // Meanwhile a second app is assigned Ann and its job is started.
        let other_sp = w
            .directory
            .create(
                ObjectKind::ServicePrincipal,
                &object(json!({"displayName": "Other app"})),
            )
            .await
            .expect("service principal")
            .id;
        w.directory
            .assign(other_sp, ann, DEFAULT_ACCESS_ROLE)
            .await
            .expect("assign");
        let other = w.started_job_of(other_sp, OTHER_TARGET).await;
        loop_ticks.tick();
        let (job, run) = next_ended(&mut ended).await;
        assert_eq!(job, other, "the second job ran while the first still waits");
        assert!(
            matches!(run, JobRun::Ran(ref r) if r.created == 1),
            "{run:?}"
        );
        let names: Vec<Value> = w
            .other_target
            .objects(TargetKind::User)
            .iter()
            .map(|u| u["userName"].clone())
            .collect();
        assert_eq!(names, [json!("ann@contoso.test")]);
        assert!(
            w.user_names().is_empty(),
            "the first job's create still waits"
        );

        // Once its target answers, the first job's cycle ends too.
        w.gate.open.send_replace(true);
        let (job, run) = next_ended(&mut ended).await;
        assert_eq!(job, slow);
        assert!(
            matches!(run, JobRun::Ran(ref r) if r.created == 1),
            "{run:?}"
        );
        assert_eq!(w.user_names(), ["ann@contoso.test"]);
    }

    /// The million-user stop, small: a tick comes while the running cycle's read holds the
    /// directory's only read permit. The look for due jobs that follows needs a permit too;
    /// if it waited without driving the cycle, neither would ever go on.
    #[tokio::test]
    async fn a_tick_during_a_cycle_s_read_does_not_stop_the_worker() {
        let directory = Arc::new(PermitDirectory::new());
        let w = world_on(directory.clone()).await;
        w.user("ann").await;
        let job = w.started_job().await;
        directory.held.send_replace(true);
        let (loop_ticks, mut ended) = w.run_continuously();
        directory.until_a_read_holds_the_permit().await;
        // The loop waits for its next tick, the cycle for its read.
        loop_ticks.until_waits(1).await;
        loop_ticks.tick();
        // Let the loop take the tick and ask for the directory's head, then free the read.
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        directory.held.send_replace(false);

        let (ended_job, run) = next_ended(&mut ended).await;
        assert_eq!(ended_job, job);
        assert!(
            matches!(run, JobRun::Ran(ref r) if r.created == 1),
            "{run:?}"
        );
        assert_eq!(w.user_names(), ["ann@contoso.test"]);
    }

    #[tokio::test]
    async fn a_started_job_runs_at_once_then_on_changes_and_at_its_interval() {
        let w = world().await;
        w.user("ann").await;
        let job = w.started_job().await;
        assert_eq!(w.ran().await, [job.as_str()], "a job that never ran is due");
        assert_eq!(w.user_names(), ["ann@contoso.test"]);
        let status = job_of(&w.sync.job_record(w.sp, &job).await.expect("job"))
            .expect("job")
            .status
            .expect("status");
        let last = status.last_execution.expect("last execution");
        assert_eq!(
            last.state,
            Some(crate::model::SynchronizationTaskExecutionResult::Succeeded)
        );
        assert_eq!(last.count_exported, 1);
        assert!(status.last_successful_execution_with_exports.is_some());

        // A change is picked up once the change delay has passed since the last cycle,
        // whatever the interval.
        w.user("bob").await;
        assert!(
            w.ran().await.is_empty(),
            "within the change delay of the last cycle"
        );
        w.clock.advance(time::Duration::seconds(1));
        assert_eq!(w.ran().await, [job.as_str()]);

        // Nothing changed and the interval has not passed: not due.
        w.clock.advance(time::Duration::seconds(5));
        assert!(w.ran().await.is_empty());
        assert_eq!(w.user_names(), ["ann@contoso.test", "bob@contoso.test"]);
        w.target.clear_requests();

        // With nothing changed, the interval (40 minutes by default) still runs a cycle,
        // which sends nothing: the steady state.
        w.clock.advance(time::Duration::minutes(41));
        assert_eq!(w.ran().await, [job.as_str()]);
        assert!(w.target.writes().is_empty(), "{:?}", w.target.writes());
        let status = job_of(&w.sync.job_record(w.sp, &job).await.expect("job"))
            .expect("job")
            .status
            .expect("status");
        assert!(status.steady_state_last_achieved_time.is_some());

        // Paused jobs do not run.
        w.sync.pause(w.sp, &job).await.expect("pause");
        w.user("cyd").await;
        w.clock.advance(time::Duration::hours(2));
        assert!(w.ran().await.is_empty());
    }

    #[tokio::test]
    async fn a_full_restart_forgets_links_and_runs_a_full_cycle_that_matches_again() {
        let w = world().await;
        w.user("ann").await;
        let job = w.started_job().await;
        assert_eq!(w.ran().await, [job.as_str()]);
        let store = w.sync.store();
        assert_eq!(
            store
                .links(
                    &job,
                    &crate::state::LinkQuery {
                        limit: 10,
                        ..Default::default()
                    }
                )
                .await
                .expect("links")
                .len(),
            1
        );
        // A cycle holds the lease while it runs, so the restart leaves its resets to the
        // worker; take the lease as a running cycle would.
        let now = provisio_directory::timestamp(w.clock.now());
        let later = provisio_directory::timestamp(w.clock.now() + time::Duration::minutes(5));
        let fence = store
            .acquire_lease(&job, "another", &now, &later)
            .await
            .expect("lease")
            .expect("free");
        w.sync
            .restart(w.sp, &job, Some("Full"))
            .await
            .expect("restart");
        store.release_lease(&job, fence).await.expect("release");
        w.target.clear_requests();
        assert_eq!(w.ran().await, [job.as_str()], "a restarted job is due");
        let links = store
            .links(
                &job,
                &crate::state::LinkQuery {
                    limit: 10,
                    ..Default::default()
                },
            )
            .await
            .expect("links");
        assert_eq!(links.len(), 1);
        assert!(
            matches!(links[0].origin, crate::state::LinkOrigin::Matched { .. }),
            "re-linked by matching, not created: {:?}",
            links[0].origin
        );
        assert_eq!(w.user_names(), ["ann@contoso.test"], "no duplicate account");
    }

    #[tokio::test]
    async fn a_job_without_a_reachable_target_records_the_failure_in_its_status() {
        let w = world().await;
        w.user("ann").await;
        let job = w.started_job().await;
        // The secrets lose their BaseAddress behind the service's back.
        w.sync
            .store()
            .put_secrets(w.sp, Vec::new())
            .await
            .expect("secrets");
        let runs = w.worker.run_due().await.expect("run");
        assert!(
            matches!(runs.as_slice(), [(_, JobRun::Failed(_))]),
            "{runs:?}"
        );
        let status = job_of(&w.sync.job_record(w.sp, &job).await.expect("job"))
            .expect("job")
            .status
            .expect("status");
        assert_eq!(status.count_successive_complete_failures, 1);
        let last = status.last_execution.expect("last execution");
        assert_eq!(
            last.state,
            Some(crate::model::SynchronizationTaskExecutionResult::Failed)
        );
        assert!(last.error.is_some_and(|e| !e.message.is_empty()));
    }

    impl World {
        /// Starts the job's cycle in a task of its own, its first create held at the gate,
        /// and returns once the cycle waits there with its lease renewals waiting for a tick.
        async fn cycle_held_at_the_gate(&self, job: &str) -> tokio::task::JoinHandle<JobRun> {
            self.gate.open.send_replace(false);
            let record = self.sync.job_record(self.sp, job).await.expect("job");
            let worker = self.worker.clone();
            let run = tokio::spawn(async move { worker.run_job(&record).await });
            self.gate.until_a_create_waits().await;
            self.ticker.until_waits(1).await;
            run
        }

        /// Whether another worker could take the job's lease now.
        async fn another_worker_takes(&self, job: &str, worker: &str) -> bool {
            self.lease_for(job, worker).await.is_some()
        }

        /// Another worker's 30-minute lease on the job from now, when it is free.
        async fn lease_for(&self, job: &str, worker: &str) -> Option<Fence> {
            let now = self.clock.now();
            self.sync
                .store()
                .acquire_lease(
                    job,
                    worker,
                    &provisio_directory::timestamp(now),
                    &provisio_directory::timestamp(now + time::Duration::minutes(30)),
                )
                .await
                .expect("lease")
        }

        async fn last_execution(&self, job: &str) -> crate::model::SynchronizationTaskExecution {
            job_of(&self.sync.job_record(self.sp, job).await.expect("job"))
                .expect("job")
                .status
                .expect("status")
                .last_execution
                .expect("last execution")
        }
    }

    #[tokio::test]
    async fn a_cycle_longer_than_the_lease_keeps_its_job_by_renewing_the_lease() {
        let w = world().await;
        w.user("ann").await;
        let job = w.started_job().await;
        let run = w.cycle_held_at_the_gate(&job).await;

        // An hour passes in the cycle (twice the 30-minute lease), a renewal every 20 minutes.
        for renewal in 1..=3 {
            w.clock.advance(time::Duration::minutes(20));
            w.ticker.tick();
            w.ticker.until_waits(renewal + 1).await;
        }
        assert!(
            !w.another_worker_takes(&job, "another").await,
            "the lease was renewed past its first 30 minutes"
        );

        w.gate.open.send_replace(true);
        let run = run.await.expect("the cycle's task");
        assert!(matches!(run, JobRun::Ran(_)), "{run:?}");
        assert_eq!(w.user_names(), ["ann@contoso.test"]);
        assert_eq!(
            w.last_execution(&job).await.state,
            Some(crate::model::SynchronizationTaskExecutionResult::Succeeded)
        );
        assert!(
            w.another_worker_takes(&job, "another").await,
            "the lease is released when the cycle ends"
        );
    }

    #[tokio::test]
    async fn a_cycle_whose_lease_passed_to_another_worker_stops_and_leaves_the_status_to_it() {
        let w = world().await;
        w.user("ann").await;
        let job = w.started_job().await;
        let run = w.cycle_held_at_the_gate(&job).await;

        // The process stalls past the lease (no renewal ran) and another worker takes the job,
        // runs a cycle of its own and records it.
        w.clock.advance(time::Duration::minutes(31));
        let now = w.clock.now();
        let fence = w
            .lease_for(&job, "another")
            .await
            .expect("the stalled worker's lease expired");
        let theirs = Execution {
            cycle_id: Uuid::new_v4(),
            began: log_timestamp(now),
            ended: log_timestamp(now),
            imported: 1,
            exported: 1,
            failed: 0,
            error: None,
        };
        w.sync
            .record_execution(w.sp, &job, fence, &theirs)
            .await
            .expect("the new holder records its cycle");
        w.ticker.tick();

        let run = run.await.expect("the cycle's task");
        assert!(
            matches!(&run, JobRun::Failed(message) if message == LEASE_LOST),
            "{run:?}"
        );
        assert!(
            w.user_names().is_empty(),
            "the held create was dropped with the cycle"
        );
        let last = w.last_execution(&job).await;
        assert_eq!(
            (last.activity_identifier, last.state, last.error),
            (
                Some(theirs.cycle_id.to_string()),
                Some(crate::model::SynchronizationTaskExecutionResult::Succeeded),
                None
            ),
            "the stopped cycle's late status write is refused: the status stays the new holder's"
        );
        assert!(
            !w.another_worker_takes(&job, "a third").await,
            "the stopped cycle leaves the other worker's lease alone"
        );
    }
}
