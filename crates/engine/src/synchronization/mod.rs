//! The `synchronization` service: what `/servicePrincipals/{id}/synchronization` does, over
//! the engine's state ([`SyncStore`]), the directory (a job belongs to a live service
//! principal), a [`Clock`] and a [`SecretSealer`]. No HTTP: every failure is a [`SyncError`]
//! that says what is wrong, and the API maps each to Graph's status and code.
//!
//! Sources (`microsoftgraph/microsoft-graph-docs-contrib`, `api-reference/beta/api/`):
//! `synchronization-synchronizationjob-get.md` (a new job's schedule and status),
//! `synchronization-synchronizationjob-restart.md` (restart runs a stopped job),
//! `synchronization-synchronizationschema-parseexpression.md`; and `MicrosoftDocs/entra-docs`,
//! `docs/identity/app-provisioning/manage-object-connections.md`.
//!
//! A job's lifecycle, as stored in its JSON:
//! - created: `schedule {interval: P10675199DT2H48M5.4775807S, state: Disabled}`, status
//!   `NotConfigured` while its service principal has no secrets, `NotRun` once it has;
//! - `start`: schedule `Active` at its interval ([`interval::DEFAULT`] unless set), status
//!   `NotRun` until a cycle has run (the cycle runner moves it on), the quarantine lifted;
//! - `pause`: schedule and status `Paused`;
//! - `restart`: the resets of `criteria.resetScope`, then as `start`.
//!
//! Resets that touch what a cycle writes (links, the watermark) are applied at once when no
//! worker holds the job's lease, under a lease of the service's own; otherwise, and for the
//! resets whose state lands with the fault work (escrows, forced deletes), they are recorded
//! in the job's JSON as [`PendingReset`], which the cycle runner applies under its lease
//! before its next cycle. A schema change records a watermark reset the same way, so the
//! next cycle evaluates every object.

use std::sync::Arc;

use provisio_directory::{Directory, DirectoryError, ObjectKind};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::clock::Clock;
use crate::mapping::CompiledObjectMapping;
use crate::model::{
    KeyValuePair, SynchronizationJob, SynchronizationSchedule, SynchronizationScheduleState,
    SynchronizationSchema, SynchronizationSecret, SynchronizationSecretKeyStringValuePair,
    SynchronizationStatus, SynchronizationStatusCode, SynchronizationTemplate,
};
use crate::restart::ResetScope;
use crate::scoping::ScopingFilter;
use crate::secrets::{SealError, SecretSealer, Secrets};
use crate::state::{Fence, JobRecord, SyncStore, SyncStoreError};

mod connections;
mod credentials;
mod expression;
pub mod interval;
mod logs;
mod runs;

pub use logs::log_timestamp;
pub use runs::Execution;

pub use connections::{ConnectionPage, ConnectionQuery, ObjectConnection};
pub use expression::{parse_expression, ParseExpressionRequest, ParseExpressionResponse};

/// Why a synchronization operation failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SyncError {
    /// The service principal does not exist (or the directory failed).
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    #[error("The service principal has no synchronization job '{0}'.")]
    JobNotFound(String),
    #[error("There is no synchronization template '{0}'.")]
    TemplateNotFound(String),
    /// A request body or parameter that cannot be carried out, with the reason.
    #[error("{0}")]
    InvalidRequest(String),
    /// A schema whose object mapping or scoping filter does not compile.
    #[error("The schema is invalid: object mapping '{mapping}': {reason}")]
    InvalidSchema { mapping: String, reason: String },
    #[error(
        "'{0}' is not a synchronization secret key (synchronizationSecret: BaseAddress, \
         SecretToken, SyncAll, SkipOutOfScopeDeletions, SyncNotificationSettings, …)."
    )]
    UnknownSecretKey(String),
    /// The job cannot run before its service principal's secrets name a target.
    #[error(
        "Job '{job}' is not configured: set the secret '{missing}' with PUT \
         /servicePrincipals/{{id}}/synchronization/secrets first."
    )]
    NotConfigured { job: String, missing: &'static str },
    #[error("Job '{0}' is active: pause or disable it before deleting an object connection.")]
    JobActive(String),
    #[error("Job '{job}' has no object connection for '{object_id}'.")]
    ConnectionNotFound { job: String, object_id: String },
    /// Another writer changed the job between read and write, again and again.
    #[error("Job '{0}' is being changed by another request; try again.")]
    Busy(String),
    #[error("The stored secrets cannot be opened: {0}")]
    Sealed(SealError),
    #[error("The synchronization state store failed: {0}")]
    Store(SyncStoreError),
}

impl From<SyncStoreError> for SyncError {
    fn from(e: SyncStoreError) -> Self {
        match e {
            SyncStoreError::JobNotFound(job) => SyncError::JobNotFound(job),
            SyncStoreError::VersionConflict { job, .. } => SyncError::Busy(job),
            other => SyncError::Store(other),
        }
    }
}

pub type SyncResult<T> = Result<T, SyncError>;

/// Resets a restart or a schema change asked for that the cycle runner has yet to apply
/// under its lease (stored in the job's JSON as `provisioPendingReset`, never rendered).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingReset {
    /// Clear every link of the job.
    #[serde(default)]
    pub connector_data_store: bool,
    /// Forget the watermark: the next cycle evaluates every object.
    #[serde(default)]
    pub watermark: bool,
    /// Drop the job's escrows (queued failures and their retry counts).
    #[serde(default)]
    pub escrows: bool,
    /// Carry out the deletes accidental-deletion prevention holds back.
    #[serde(default)]
    pub force_deletes: bool,
}

impl PendingReset {
    pub fn is_empty(&self) -> bool {
        *self == PendingReset::default()
    }
}

/// The job JSON as stored: Graph's `synchronizationJob` plus provisio's pending resets.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredJob {
    #[serde(flatten)]
    job: SynchronizationJob,
    #[serde(
        default,
        rename = "provisioPendingReset",
        skip_serializing_if = "PendingReset::is_empty"
    )]
    pending: PendingReset,
}

/// The resets recorded on a stored job that the cycle runner must apply before its next
/// cycle (none when the JSON has none).
pub fn pending_reset(record: &JobRecord) -> PendingReset {
    record
        .job
        .get("provisioPendingReset")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

/// Graph's `synchronizationJob` of a stored job (the stored JSON without provisio's own
/// bookkeeping).
pub fn job_of(record: &JobRecord) -> SyncResult<SynchronizationJob> {
    stored(record).map(|s| s.job)
}

fn stored(record: &JobRecord) -> SyncResult<StoredJob> {
    serde_json::from_value(record.job.clone()).map_err(|e| {
        SyncError::Store(SyncStoreError::Backend(format!(
            "job '{}' holds JSON that is not a synchronizationJob: {e}",
            record.id
        )))
    })
}

/// `steadyStateFirstAchievedTime` and friends before the moment comes (the job-get page).
const NEVER_TIME: &str = "0001-01-01T00:00:00Z";
/// The lease the service holds while it applies a reset itself.
const SERVICE_WORKER: &str = "synchronization-api";
/// How many times a job update is retried when a cycle wrote the job meanwhile.
const UPDATE_ATTEMPTS: usize = 5;

/// The synchronization API's operations.
#[derive(Clone)]
pub struct Synchronization {
    store: Arc<dyn SyncStore>,
    directory: Directory,
    clock: Arc<dyn Clock>,
    sealer: SecretSealer,
    /// The targets `validateCredentials` asks (the SCIM client in the binary).
    targets: Option<Arc<dyn crate::worker::TargetFactory>>,
}

impl Synchronization {
    pub fn new(
        store: Arc<dyn SyncStore>,
        directory: Directory,
        clock: Arc<dyn Clock>,
        sealer: SecretSealer,
    ) -> Self {
        Synchronization {
            store,
            directory,
            clock,
            sealer,
            targets: None,
        }
    }

    /// The service with the targets `validateCredentials` tests credentials against.
    pub fn with_targets(mut self, targets: Arc<dyn crate::worker::TargetFactory>) -> Self {
        self.targets = Some(targets);
        self
    }

    /// The state store, for the cycle runner and tests.
    pub fn store(&self) -> &Arc<dyn SyncStore> {
        &self.store
    }

    fn now(&self) -> String {
        provisio_directory::timestamp(self.clock.now())
    }

    /// The clock the service reads time from.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Fails unless `id` is a live service principal.
    async fn service_principal(&self, id: Uuid) -> SyncResult<()> {
        self.directory.get(ObjectKind::ServicePrincipal, id).await?;
        Ok(())
    }

    /// Every template (`GET …/synchronization/templates`).
    pub async fn templates(&self, sp: Uuid) -> SyncResult<Vec<SynchronizationTemplate>> {
        self.service_principal(sp).await?;
        Ok(crate::template::templates())
    }

    pub async fn template(&self, sp: Uuid, id: &str) -> SyncResult<SynchronizationTemplate> {
        self.service_principal(sp).await?;
        crate::template::template(id).ok_or_else(|| SyncError::TemplateNotFound(id.to_string()))
    }

    /// Creates a job from a template (`POST …/jobs {"templateId": "scim"}`).
    pub async fn create_job(&self, sp: Uuid, template_id: &str) -> SyncResult<SynchronizationJob> {
        self.service_principal(sp).await?;
        let template = crate::template::template(template_id).ok_or_else(|| {
            SyncError::InvalidRequest(format!(
                "There is no synchronization template '{template_id}'; GET \
                 /servicePrincipals/{{id}}/synchronization/templates lists them."
            ))
        })?;
        let configured = self.store.secrets(sp).await?.is_some();
        let id = format!("{}.{}", template.factory_tag, Uuid::new_v4().simple());
        let job = SynchronizationJob {
            id: id.clone(),
            template_id: template.id.clone(),
            schedule: Some(SynchronizationSchedule {
                expiration: None,
                interval: interval::NEVER.to_string(),
                state: SynchronizationScheduleState::Disabled,
            }),
            status: Some(new_status(if configured {
                SynchronizationStatusCode::NotRun
            } else {
                SynchronizationStatusCode::NotConfigured
            })),
            synchronization_job_settings: vec![KeyValuePair {
                name: "QuarantineTooManyDeletesThreshold".to_string(),
                value: Some("500".to_string()),
            }],
        };
        let mut schema = template.schema.unwrap_or_default();
        schema.version = Some("1".to_string());
        let record = JobRecord {
            id,
            service_principal_id: sp,
            template_id: template.id,
            job: to_json(&StoredJob {
                job,
                pending: PendingReset::default(),
            }),
            schema: to_json(&schema),
            version: 0,
            created: self.now(),
        };
        let record = self.store.create_job(record).await?;
        job_of(&record)
    }

    pub async fn jobs(&self, sp: Uuid) -> SyncResult<Vec<SynchronizationJob>> {
        self.service_principal(sp).await?;
        self.store.jobs(sp).await?.iter().map(job_of).collect()
    }

    /// The stored record of one of `sp`'s jobs.
    pub async fn job_record(&self, sp: Uuid, job: &str) -> SyncResult<JobRecord> {
        self.service_principal(sp).await?;
        match self.store.job(job).await? {
            Some(record) if record.service_principal_id == sp => Ok(record),
            _ => Err(SyncError::JobNotFound(job.to_string())),
        }
    }

    pub async fn job(&self, sp: Uuid, job: &str) -> SyncResult<SynchronizationJob> {
        job_of(&self.job_record(sp, job).await?)
    }

    /// Deletes the job and all its state (links, watermark, logs, lease).
    pub async fn delete_job(&self, sp: Uuid, job: &str) -> SyncResult<()> {
        self.job_record(sp, job).await?;
        if !self.store.delete_job(job).await? {
            return Err(SyncError::JobNotFound(job.to_string()));
        }
        Ok(())
    }

    /// Reads the job, applies `change` to its JSON and schema, and writes it back at the
    /// version read, again if a cycle wrote the job in between.
    async fn update<F>(&self, sp: Uuid, job: &str, change: F) -> SyncResult<JobRecord>
    where
        F: FnMut(&mut StoredJob, &mut SynchronizationSchema) -> SyncResult<()>,
    {
        self.update_fenced(sp, job, None, change).await
    }

    /// [`Self::update`] for a worker: the write is refused (`Fenced`) once the job's lease
    /// has passed to another worker, so a stopped cycle cannot overwrite what the new holder
    /// recorded.
    async fn update_fenced<F>(
        &self,
        sp: Uuid,
        job: &str,
        fence: Option<Fence>,
        mut change: F,
    ) -> SyncResult<JobRecord>
    where
        F: FnMut(&mut StoredJob, &mut SynchronizationSchema) -> SyncResult<()>,
    {
        for _ in 0..UPDATE_ATTEMPTS {
            let record = self.job_record(sp, job).await?;
            let mut stored_job = stored(&record)?;
            let mut schema = schema_of(&record)?;
            change(&mut stored_job, &mut schema)?;
            match self
                .store
                .update_job(
                    job,
                    record.version,
                    to_json(&stored_job),
                    to_json(&schema),
                    fence,
                )
                .await
            {
                Err(SyncStoreError::VersionConflict { .. }) => continue,
                other => return Ok(other?),
            }
        }
        Err(SyncError::Busy(job.to_string()))
    }

    /// `start`: the job runs at its interval; a quarantine is lifted.
    pub async fn start(&self, sp: Uuid, job: &str) -> SyncResult<()> {
        self.require_target(sp, job).await?;
        self.update(sp, job, |stored, _| {
            activate(&mut stored.job);
            Ok(())
        })
        .await?;
        Ok(())
    }

    /// `pause`: no cycle runs until `start`; the job's state is kept.
    pub async fn pause(&self, sp: Uuid, job: &str) -> SyncResult<()> {
        self.update(sp, job, |stored, _| {
            let schedule = schedule_mut(&mut stored.job);
            schedule.state = SynchronizationScheduleState::Paused;
            status_mut(&mut stored.job).code = SynchronizationStatusCode::Paused;
            Ok(())
        })
        .await?;
        Ok(())
    }

    /// `restart` with `criteria.resetScope`: clears what the scope names, then runs the job.
    pub async fn restart(&self, sp: Uuid, job: &str, reset_scope: Option<&str>) -> SyncResult<()> {
        let scope =
            ResetScope::parse(reset_scope).map_err(|e| SyncError::InvalidRequest(e.to_string()))?;
        self.require_target(sp, job).await?;
        let mut pending = PendingReset {
            connector_data_store: scope.forgets_links(),
            watermark: scope.watermark,
            escrows: scope.escrows,
            force_deletes: scope.force_deletes,
        };
        self.apply_now(job, &mut pending).await?;
        self.update(sp, job, |stored, _| {
            merge(&mut stored.pending, pending);
            if scope.quarantine_state {
                status_mut(&mut stored.job).quarantine = None;
            }
            activate(&mut stored.job);
            Ok(())
        })
        .await?;
        Ok(())
    }

    /// Applies the link and watermark resets of `pending` now when no worker holds the
    /// job's lease, and takes them off `pending`; leaves them for the runner otherwise.
    async fn apply_now(&self, job: &str, pending: &mut PendingReset) -> SyncResult<()> {
        if !pending.connector_data_store && !pending.watermark {
            return Ok(());
        }
        let now = self.clock.now();
        let until = now + time::Duration::MINUTE;
        let Some(fence) = self
            .store
            .acquire_lease(
                job,
                SERVICE_WORKER,
                &provisio_directory::timestamp(now),
                &provisio_directory::timestamp(until),
            )
            .await?
        else {
            return Ok(());
        };
        let result = async {
            if pending.connector_data_store {
                self.store.clear_links(fence, job).await?;
                pending.connector_data_store = false;
            }
            if pending.watermark {
                self.store.set_watermark(fence, job, None).await?;
                pending.watermark = false;
            }
            Ok::<(), SyncStoreError>(())
        }
        .await;
        self.store.release_lease(job, fence).await?;
        Ok(result?)
    }

    /// Fails unless the job's service principal has secrets that name a target.
    async fn require_target(&self, sp: Uuid, job: &str) -> SyncResult<()> {
        self.job_record(sp, job).await?;
        let secrets = self.secrets(sp).await?.unwrap_or_default();
        if secrets.base_address().is_none() {
            return Err(SyncError::NotConfigured {
                job: job.to_string(),
                missing: "BaseAddress",
            });
        }
        Ok(())
    }

    /// `PATCH …/jobs/{id}` (beyond Entra, whose schedule is read-only): sets
    /// `schedule.interval`, an ISO 8601 duration of at least [`interval::MINIMUM`]. Nothing
    /// else of a job is writable.
    pub async fn update_job(&self, sp: Uuid, job: &str, patch: &Value) -> SyncResult<()> {
        let object = patch.as_object().ok_or_else(|| {
            SyncError::InvalidRequest("The body must be a synchronizationJob object.".into())
        })?;
        if let Some(name) = object.keys().find(|k| k.as_str() != "schedule") {
            return Err(SyncError::InvalidRequest(format!(
                "Property '{name}' of a synchronizationJob cannot be changed; only \
                 schedule.interval can."
            )));
        }
        let Some(schedule) = object.get("schedule") else {
            return Ok(());
        };
        let schedule = schedule.as_object().ok_or_else(|| {
            SyncError::InvalidRequest("'schedule' must be an object with 'interval'.".into())
        })?;
        if let Some(name) = schedule.keys().find(|k| k.as_str() != "interval") {
            return Err(SyncError::InvalidRequest(format!(
                "Property 'schedule.{name}' cannot be changed (start and pause set the \
                 state); only schedule.interval can."
            )));
        }
        let Some(value) = schedule.get("interval") else {
            return Ok(());
        };
        let text = value.as_str().ok_or_else(|| {
            SyncError::InvalidRequest("'schedule.interval' must be an ISO 8601 duration.".into())
        })?;
        interval::validate(text)
            .map_err(|e| SyncError::InvalidRequest(format!("schedule.interval: {e}.")))?;
        self.update(sp, job, |stored, _| {
            schedule_mut(&mut stored.job).interval = text.to_string();
            Ok(())
        })
        .await?;
        Ok(())
    }

    pub async fn schema(&self, sp: Uuid, job: &str) -> SyncResult<SynchronizationSchema> {
        schema_of(&self.job_record(sp, job).await?)
    }

    /// `PUT …/schema`: replaces the schema when every object mapping and scoping filter
    /// compiles; bumps its version; the next cycle evaluates every object.
    pub async fn put_schema(
        &self,
        sp: Uuid,
        job: &str,
        mut schema: SynchronizationSchema,
    ) -> SyncResult<()> {
        validate_schema(&schema)?;
        let mut pending = PendingReset {
            watermark: true,
            ..PendingReset::default()
        };
        self.job_record(sp, job).await?;
        self.apply_now(job, &mut pending).await?;
        self.update(sp, job, |stored, current| {
            let version = current
                .version
                .as_deref()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
            schema.version = Some((version + 1).to_string());
            *current = schema.clone();
            merge(&mut stored.pending, pending);
            Ok(())
        })
        .await?;
        Ok(())
    }

    /// `PUT …/synchronization/secrets`: replaces the service principal's secrets. Jobs that
    /// waited for them (`NotConfigured`) become `NotRun`.
    pub async fn put_secrets(
        &self,
        sp: Uuid,
        pairs: Vec<SynchronizationSecretKeyStringValuePair>,
    ) -> SyncResult<()> {
        self.service_principal(sp).await?;
        if let Some(pair) = pairs
            .iter()
            .find(|p| matches!(p.key, SynchronizationSecret::Other(_)))
        {
            return Err(SyncError::UnknownSecretKey(pair.key.as_str().to_string()));
        }
        let sealed = self.sealer.seal(sp, &Secrets::new(pairs));
        self.store.put_secrets(sp, sealed).await?;
        for record in self.store.jobs(sp).await? {
            let waiting = job_of(&record)?
                .status
                .is_some_and(|s| s.code == SynchronizationStatusCode::NotConfigured);
            if waiting {
                self.update(sp, &record.id, |stored, _| {
                    let status = status_mut(&mut stored.job);
                    if status.code == SynchronizationStatusCode::NotConfigured {
                        status.code = SynchronizationStatusCode::NotRun;
                    }
                    Ok(())
                })
                .await?;
            }
        }
        Ok(())
    }

    /// `POST …/schema/parseExpression`, with the service's clock for `Now()`.
    pub async fn parse_expression(
        &self,
        sp: Uuid,
        job: &str,
        request: &ParseExpressionRequest,
    ) -> SyncResult<ParseExpressionResponse> {
        self.job_record(sp, job).await?;
        Ok(parse_expression(request, self.clock.now()))
    }

    /// The service principal's secrets in the clear, for the engine (never for a response).
    pub async fn secrets(&self, sp: Uuid) -> SyncResult<Option<Secrets>> {
        match self.store.secrets(sp).await? {
            Some(sealed) => self
                .sealer
                .open(sp, &sealed)
                .map(Some)
                .map_err(SyncError::Sealed),
            None => Ok(None),
        }
    }
}

/// `GET …/schema/functions`: the expression functions as Graph lists them.
pub fn function_schemas() -> Value {
    provisio_expr::function_schemas_json()
}

fn to_json<T: Serialize>(value: &T) -> Value {
    // The wire types serialise to JSON objects without fail: their maps have string keys.
    serde_json::to_value(value).unwrap_or_else(|_| json!({}))
}

fn schema_of(record: &JobRecord) -> SyncResult<SynchronizationSchema> {
    serde_json::from_value(record.schema.clone()).map_err(|e| {
        SyncError::Store(SyncStoreError::Backend(format!(
            "job '{}' holds a schema that does not read: {e}",
            record.id
        )))
    })
}

fn new_status(code: SynchronizationStatusCode) -> SynchronizationStatus {
    SynchronizationStatus {
        code,
        count_successive_complete_failures: 0,
        escrows_pruned: false,
        last_execution: None,
        last_successful_execution: None,
        last_successful_execution_with_exports: None,
        progress: Vec::new(),
        quarantine: None,
        steady_state_first_achieved_time: Some(NEVER_TIME.to_string()),
        steady_state_last_achieved_time: Some(NEVER_TIME.to_string()),
        synchronized_entry_count_by_type: Vec::new(),
        troubleshooting_url: None,
    }
}

fn schedule_mut(job: &mut SynchronizationJob) -> &mut SynchronizationSchedule {
    job.schedule.get_or_insert_with(|| SynchronizationSchedule {
        expiration: None,
        interval: interval::NEVER.to_string(),
        state: SynchronizationScheduleState::Disabled,
    })
}

fn status_mut(job: &mut SynchronizationJob) -> &mut SynchronizationStatus {
    job.status
        .get_or_insert_with(|| new_status(SynchronizationStatusCode::NotRun))
}

/// Schedules the job: `Active` at its interval, the quarantine lifted; the status says
/// whether a cycle has run yet.
fn activate(job: &mut SynchronizationJob) {
    let schedule = schedule_mut(job);
    schedule.state = SynchronizationScheduleState::Active;
    if schedule.interval == interval::NEVER {
        schedule.interval = interval::DEFAULT.to_string();
    }
    let status = status_mut(job);
    status.quarantine = None;
    status.code = if status.last_execution.is_some() {
        SynchronizationStatusCode::Active
    } else {
        SynchronizationStatusCode::NotRun
    };
}

fn merge(into: &mut PendingReset, more: PendingReset) {
    into.connector_data_store |= more.connector_data_store;
    into.watermark |= more.watermark;
    into.escrows |= more.escrows;
    into.force_deletes |= more.force_deletes;
}

/// Every object mapping of every rule compiles against the schema's object definitions,
/// and every scoping filter compiles; the first one that does not is named.
pub fn validate_schema(schema: &SynchronizationSchema) -> SyncResult<()> {
    for rule in &schema.synchronization_rules {
        for mapping in &rule.object_mappings {
            let name = mapping.name.clone().unwrap_or_else(|| {
                format!(
                    "{} to {}",
                    mapping.source_object_name, mapping.target_object_name
                )
            });
            let invalid = |reason: String| SyncError::InvalidSchema {
                mapping: name.clone(),
                reason,
            };
            CompiledObjectMapping::compile_in(schema, rule, mapping)
                .map_err(|e| invalid(e.to_string()))?;
            if let Some(scope) = &mapping.scope {
                ScopingFilter::compile(scope).map_err(|e| invalid(e.to_string()))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
