//! What a worker that runs a job's cycles asks of the service: the resets a restart or a
//! schema change left for it, applied under its lease, and the job's status after a cycle
//! (Graph's `synchronizationStatus`: `lastExecution`, `lastSuccessfulExecution`,
//! `lastSuccessfulExecutionWithExports`, steady state, `countSuccessiveCompleteFailures`).

use uuid::Uuid;

use super::{schema_of, status_mut, stored, PendingReset, SyncResult, Synchronization};
use crate::model::{
    SynchronizationError, SynchronizationSchema, SynchronizationStatusCode,
    SynchronizationTaskExecution, SynchronizationTaskExecutionResult,
};
use crate::state::{Fence, JobRecord};

/// How one cycle ended, as the status records it.
#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    pub cycle_id: Uuid,
    pub began: String,
    pub ended: String,
    /// Objects read from the directory (or change records, for an incremental cycle).
    pub imported: i64,
    /// Objects written to the target.
    pub exported: i64,
    /// Objects that failed.
    pub failed: i64,
    /// Why the whole cycle failed, when it did.
    pub error: Option<String>,
}

impl Synchronization {
    /// The schema a job's cycles run with.
    pub fn schema_of(&self, record: &JobRecord) -> SyncResult<SynchronizationSchema> {
        schema_of(record)
    }

    /// Applies the resets left on the job under the worker's lease (links forgotten, the
    /// watermark forgotten) and takes them off the job; returns what was applied, so the
    /// worker knows the next cycle must be a full one.
    pub async fn take_pending_reset(
        &self,
        sp: Uuid,
        job: &str,
        fence: Fence,
    ) -> SyncResult<PendingReset> {
        let record = self.job_record(sp, job).await?;
        let pending = stored(&record)?.pending;
        if pending.is_empty() {
            return Ok(pending);
        }
        if pending.connector_data_store {
            self.store.clear_links(fence, job).await?;
        }
        if pending.watermark {
            self.store.set_watermark(fence, job, None).await?;
        }
        // Escrows and held deletes: the engine keeps neither yet, so there is nothing to
        // drop or release; the flags are cleared with the others.
        self.update_fenced(sp, job, Some(fence), |stored, _| {
            stored.pending = PendingReset::default();
            Ok(())
        })
        .await?;
        Ok(pending)
    }

    /// Records a cycle's outcome in the job's status, under the lease the cycle ran with:
    /// once another worker holds the job, its status is that worker's to write.
    pub async fn record_execution(
        &self,
        sp: Uuid,
        job: &str,
        fence: Fence,
        execution: &Execution,
    ) -> SyncResult<()> {
        let state = match (&execution.error, execution.failed) {
            (Some(_), _) => SynchronizationTaskExecutionResult::Failed,
            (None, 0) => SynchronizationTaskExecutionResult::Succeeded,
            (None, _) => SynchronizationTaskExecutionResult::EntryLevelErrors,
        };
        let task = SynchronizationTaskExecution {
            activity_identifier: Some(execution.cycle_id.to_string()),
            count_entitled: 0,
            count_entitled_for_provisioning: 0,
            count_escrowed: execution.failed,
            count_escrowed_raw: execution.failed,
            count_exported: execution.exported,
            count_exports: execution.exported + execution.failed,
            count_imported: execution.imported,
            count_imported_deltas: 0,
            count_imported_reference_deltas: 0,
            error: execution
                .error
                .as_ref()
                .map(|message| SynchronizationError {
                    code: "CycleFailed".to_string(),
                    message: message.clone(),
                    tenant_actionable: true,
                }),
            state: Some(state.clone()),
            time_began: Some(execution.began.clone()),
            time_ended: Some(execution.ended.clone()),
        };
        self.update_fenced(sp, job, Some(fence), |stored, _| {
            let status = status_mut(&mut stored.job);
            status.last_execution = Some(task.clone());
            match state {
                SynchronizationTaskExecutionResult::Failed => {
                    status.count_successive_complete_failures += 1;
                }
                _ => status.count_successive_complete_failures = 0,
            }
            if state == SynchronizationTaskExecutionResult::Succeeded {
                status.last_successful_execution = Some(task.clone());
                if execution.exported > 0 {
                    status.last_successful_execution_with_exports = Some(task.clone());
                } else {
                    // Nothing left to change: the steady state Graph reports.
                    if status
                        .steady_state_first_achieved_time
                        .as_deref()
                        .is_none_or(|t| t.starts_with("0001-"))
                    {
                        status.steady_state_first_achieved_time = Some(execution.ended.clone());
                    }
                    status.steady_state_last_achieved_time = Some(execution.ended.clone());
                }
            }
            if status.code == SynchronizationStatusCode::NotRun {
                status.code = SynchronizationStatusCode::Active;
            }
            Ok(())
        })
        .await?;
        Ok(())
    }
}
