//! The worker: runs the cycles of active jobs. A job is due when it has never run, when its
//! schedule's interval has passed since its last cycle (Entra's only trigger), or when the
//! directory's change log has moved past the job's watermark and the job's last cycle ended
//! at least `change_delay` ago (provisio's: a change reaches the target within seconds,
//! whatever the interval). Each cycle runs under the job's lease, so one worker at a time
//! runs a job, however many processes share the database.
//!
//! The worker does no IO of its own and keeps no timer: the caller calls [`Worker::run_due`]
//! every second or so (the binary does), and tests call it with a fixed clock.

use std::sync::Arc;

use provisio_directory::Directory;
use uuid::Uuid;

use crate::cycle::{run_cycle, CycleContext, CycleReport, JobConfig};
use crate::model::SynchronizationScheduleState;
use crate::secrets::Secrets;
use crate::state::{Fence, JobRecord};
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
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            id: format!("worker-{}", Uuid::new_v4()),
            lease: time::Duration::minutes(30),
            change_delay: time::Duration::seconds(1),
        }
    }
}

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
    config: WorkerConfig,
}

impl Worker {
    pub fn new(
        synchronization: Synchronization,
        directory: Directory,
        targets: Arc<dyn TargetFactory>,
        config: WorkerConfig,
    ) -> Self {
        Worker {
            synchronization,
            directory,
            targets,
            config,
        }
    }

    /// Runs one cycle of every due job, one after the other; returns what each did.
    pub async fn run_due(&self) -> Result<Vec<(String, JobRun)>, SyncError> {
        let jobs = self.synchronization.store().all_jobs().await?;
        let head = self.directory.watermark().await?;
        let mut runs = Vec::new();
        for record in jobs {
            if self.is_due(&record, head).await? {
                let run = self.run_job(&record).await;
                runs.push((record.id.clone(), run));
            }
        }
        Ok(runs)
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
        let outcome = self.cycle(record, fence).await;
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
        if let Err(error) = self
            .synchronization
            .record_execution(record.service_principal_id, &record.id, &execution)
            .await
        {
            tracing::warn!(message = "Recording a cycle in the job's status failed.", job = %record.id, %error);
        }
        if let Err(error) = store.release_lease(&record.id, fence).await {
            tracing::warn!(message = "Releasing a job's lease failed.", job = %record.id, %error);
        }
        run
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
        let config = JobConfig::from_secrets(&secrets);
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

#[cfg(test)]
mod tests {
    use provisio_directory::{DirectoryConfig, MemoryDirectory, ObjectKind, DEFAULT_ACCESS_ROLE};
    use serde_json::{json, Map, Value};
    use time::macros::datetime;

    use super::*;
    use crate::clock::{Clock, FixedClock};
    use crate::cycle::MemoryTarget;
    use crate::model::{SynchronizationSecret, SynchronizationSecretKeyStringValuePair};
    use crate::secrets::SecretSealer;
    use crate::state::memory::MemorySyncStore;
    use crate::target::TargetKind;

    struct Fixed(MemoryTarget);

    impl TargetFactory for Fixed {
        fn target(&self, secrets: &Secrets) -> Result<Arc<dyn Target>, String> {
            match secrets.base_address() {
                Some(_) => Ok(Arc::new(self.0.clone())),
                None => Err("no BaseAddress".to_string()),
            }
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
        clock: Arc<FixedClock>,
        worker: Worker,
        sp: Uuid,
    }

    async fn world() -> World {
        let directory =
            Directory::new(Arc::new(MemoryDirectory::new()), DirectoryConfig::default());
        let clock = Arc::new(FixedClock::new(datetime!(2026-03-01 08:00 UTC)));
        let sync = Synchronization::new(
            Arc::new(MemorySyncStore::new()),
            directory.clone(),
            clock.clone(),
            SecretSealer::new([7; 32]),
        );
        let target = MemoryTarget::new();
        let worker = Worker::new(
            sync.clone(),
            directory.clone(),
            Arc::new(Fixed(target.clone())),
            WorkerConfig::default(),
        );
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
            let job = self.sync.create_job(self.sp, "scim").await.expect("job").id;
            let secret = |key, value: &str| SynchronizationSecretKeyStringValuePair {
                key,
                value: Some(value.to_string()),
            };
            self.sync
                .put_secrets(
                    self.sp,
                    vec![
                        secret(SynchronizationSecret::BaseAddress, "https://scim.test/v2"),
                        secret(SynchronizationSecret::SecretToken, "t0ken"),
                    ],
                )
                .await
                .expect("secrets");
            self.sync.start(self.sp, &job).await.expect("start");
            job
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
}
