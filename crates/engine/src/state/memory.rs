//! `MemorySyncStore`: the engine's state in memory, behind one mutex, with the contract of
//! the real stores, so that whole cycles and the synchronization API run in unit tests.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use serde_json::Value;
use uuid::Uuid;

use super::{
    Fence, JobRecord, JobStore, LeaseStore, Link, LinkQuery, LinkStore, LogQuery, LogRow, LogStore,
    NewLogRow, SyncStoreError,
};

#[derive(Debug, Default)]
struct Lease {
    worker: String,
    until: String,
    fence: i64,
}

#[derive(Debug, Default)]
struct State {
    jobs: BTreeMap<String, JobRecord>,
    secrets: BTreeMap<Uuid, Vec<u8>>,
    /// (job, object type, source id) → link.
    links: BTreeMap<(String, String, Uuid), Link>,
    watermarks: BTreeMap<String, i64>,
    /// (activity, id) → row.
    logs: BTreeMap<(String, Uuid), LogRow>,
    leases: BTreeMap<String, Lease>,
    /// The last fence handed out, of any job: fences never repeat, not even for a job made
    /// again under the id of a deleted one, whose former worker may still be writing.
    last_fence: i64,
}

impl State {
    fn check_fence(&self, job: &str, fence: Fence) -> Result<(), SyncStoreError> {
        match self.leases.get(job) {
            Some(lease) if lease.fence == fence.0 => Ok(()),
            _ => Err(SyncStoreError::Fenced(job.to_string())),
        }
    }
}

/// The engine's state in memory. Cheap to clone; clones share the state.
#[derive(Debug, Clone, Default)]
pub struct MemorySyncStore {
    state: Arc<Mutex<State>>,
}

impl MemorySyncStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave a half-made change: every method
        // checks before it writes.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl JobStore for MemorySyncStore {
    async fn create_job(&self, mut job: JobRecord) -> Result<JobRecord, SyncStoreError> {
        let mut s = self.lock();
        if s.jobs.contains_key(&job.id) {
            return Err(SyncStoreError::JobExists(job.id));
        }
        job.version = 1;
        s.jobs.insert(job.id.clone(), job.clone());
        Ok(job)
    }

    async fn job(&self, id: &str) -> Result<Option<JobRecord>, SyncStoreError> {
        Ok(self.lock().jobs.get(id).cloned())
    }

    async fn jobs(&self, service_principal: Uuid) -> Result<Vec<JobRecord>, SyncStoreError> {
        Ok(self
            .lock()
            .jobs
            .values()
            .filter(|j| j.service_principal_id == service_principal)
            .cloned()
            .collect())
    }

    async fn all_jobs(&self) -> Result<Vec<JobRecord>, SyncStoreError> {
        Ok(self.lock().jobs.values().cloned().collect())
    }

    async fn update_job(
        &self,
        id: &str,
        expected: i64,
        job: Value,
        schema: Value,
        fence: Option<Fence>,
    ) -> Result<JobRecord, SyncStoreError> {
        let mut s = self.lock();
        if let Some(fence) = fence {
            s.check_fence(id, fence)?;
        }
        let record = s
            .jobs
            .get_mut(id)
            .ok_or_else(|| SyncStoreError::JobNotFound(id.to_string()))?;
        if record.version != expected {
            return Err(SyncStoreError::VersionConflict {
                job: id.to_string(),
                current: record.version,
            });
        }
        record.job = job;
        record.schema = schema;
        record.version += 1;
        Ok(record.clone())
    }

    async fn delete_job(&self, id: &str) -> Result<bool, SyncStoreError> {
        let mut s = self.lock();
        if s.jobs.remove(id).is_none() {
            return Ok(false);
        }
        s.links.retain(|(job, _, _), _| job != id);
        s.watermarks.remove(id);
        s.logs.retain(|_, row| row.job_id != id);
        s.leases.remove(id);
        Ok(true)
    }

    async fn secrets(&self, service_principal: Uuid) -> Result<Option<Vec<u8>>, SyncStoreError> {
        Ok(self.lock().secrets.get(&service_principal).cloned())
    }

    async fn put_secrets(
        &self,
        service_principal: Uuid,
        sealed: Vec<u8>,
    ) -> Result<(), SyncStoreError> {
        self.lock().secrets.insert(service_principal, sealed);
        Ok(())
    }
}

#[async_trait]
impl LinkStore for MemorySyncStore {
    async fn link(
        &self,
        job: &str,
        object_type: &str,
        source_id: Uuid,
    ) -> Result<Option<Link>, SyncStoreError> {
        let key = (job.to_string(), object_type.to_string(), source_id);
        Ok(self.lock().links.get(&key).cloned())
    }

    async fn link_by_target(
        &self,
        job: &str,
        target_id: &str,
    ) -> Result<Option<Link>, SyncStoreError> {
        Ok(self
            .lock()
            .links
            .values()
            .find(|l| l.job_id == job && l.target_id == target_id)
            .cloned())
    }

    async fn links(&self, job: &str, query: &LinkQuery) -> Result<Vec<Link>, SyncStoreError> {
        let s = self.lock();
        let mut links: Vec<Link> = s
            .links
            .values()
            .filter(|l| l.job_id == job)
            .filter(|l| {
                query
                    .object_type
                    .as_ref()
                    .is_none_or(|t| &l.object_type == t)
            })
            .filter(|l| query.stale.is_none_or(|stale| l.stale.is_some() == stale))
            .filter(|l| query.after.is_none_or(|after| l.source_id > after))
            .cloned()
            .collect();
        links.sort_by(|a, b| (a.source_id, &a.object_type).cmp(&(b.source_id, &b.object_type)));
        links.truncate(query.limit);
        Ok(links)
    }

    async fn put_link(&self, fence: Fence, link: Link) -> Result<(), SyncStoreError> {
        let mut s = self.lock();
        let mut links = std::mem::take(&mut s.links);
        let written = write_link(&s, &mut links, fence, link);
        s.links = links;
        written
    }

    async fn put_links(&self, fence: Fence, links: Vec<Link>) -> Result<(), SyncStoreError> {
        let mut s = self.lock();
        // Written one after the other into a copy, which replaces the links only when every
        // write succeeded: all or nothing, as in a transaction.
        let mut written = s.links.clone();
        for link in links {
            write_link(&s, &mut written, fence, link)?;
        }
        s.links = written;
        Ok(())
    }

    async fn delete_link(
        &self,
        job: &str,
        object_type: &str,
        source_id: Uuid,
    ) -> Result<bool, SyncStoreError> {
        let key = (job.to_string(), object_type.to_string(), source_id);
        Ok(self.lock().links.remove(&key).is_some())
    }

    async fn clear_links(&self, fence: Fence, job: &str) -> Result<u64, SyncStoreError> {
        let mut s = self.lock();
        s.check_fence(job, fence)?;
        let before = s.links.len();
        s.links.retain(|(j, _, _), _| j != job);
        Ok((before - s.links.len()) as u64)
    }

    async fn watermark(&self, job: &str) -> Result<Option<i64>, SyncStoreError> {
        Ok(self.lock().watermarks.get(job).copied())
    }

    async fn set_watermark(
        &self,
        fence: Fence,
        job: &str,
        watermark: Option<i64>,
    ) -> Result<(), SyncStoreError> {
        let mut s = self.lock();
        s.check_fence(job, fence)?;
        match watermark {
            Some(w) => s.watermarks.insert(job.to_string(), w),
            None => s.watermarks.remove(job),
        };
        Ok(())
    }
}

#[async_trait]
impl LogStore for MemorySyncStore {
    async fn append_logs(&self, rows: Vec<NewLogRow>) -> Result<(), SyncStoreError> {
        let rows = rows
            .into_iter()
            .map(|row| {
                Ok(LogRow {
                    summary: row.summary.parse()?,
                    id: row.id,
                    job_id: row.job_id,
                    cycle_id: row.cycle_id,
                    activity: row.activity,
                    action: row.action,
                    status: row.status,
                    source_id: row.source_id,
                    target_id: row.target_id,
                })
            })
            .collect::<Result<Vec<_>, SyncStoreError>>()?;
        let mut s = self.lock();
        for row in rows {
            s.logs.insert((row.activity.clone(), row.id), row);
        }
        Ok(())
    }

    async fn logs(&self, query: &LogQuery) -> Result<Vec<LogRow>, SyncStoreError> {
        let s = self.lock();
        let matches = |r: &LogRow| {
            query.job_id.as_ref().is_none_or(|v| &r.job_id == v)
                && query.cycle_id.is_none_or(|v| r.cycle_id == v)
                && query.from.as_ref().is_none_or(|v| &r.activity >= v)
                && query.to.as_ref().is_none_or(|v| &r.activity < v)
                && query.action.as_ref().is_none_or(|v| &r.action == v)
                && query.status.as_ref().is_none_or(|v| &r.status == v)
                && query
                    .source_id
                    .as_ref()
                    .is_none_or(|v| r.source_id.as_ref() == Some(v))
                && query
                    .target_id
                    .as_ref()
                    .is_none_or(|v| r.target_id.as_ref() == Some(v))
        };
        Ok(s.logs
            .iter()
            .filter(|(key, _)| query.after.as_ref().is_none_or(|after| *key > after))
            .map(|(_, row)| row)
            .filter(|row| matches(row))
            .take(query.limit)
            .cloned()
            .collect())
    }

    async fn purge_logs_before(&self, before: &str) -> Result<u64, SyncStoreError> {
        let mut s = self.lock();
        let n = s.logs.len();
        s.logs
            .retain(|(activity, _), _| activity.as_str() >= before);
        Ok((n - s.logs.len()) as u64)
    }
}

#[async_trait]
impl LeaseStore for MemorySyncStore {
    async fn acquire_lease(
        &self,
        job: &str,
        worker: &str,
        now: &str,
        until: &str,
    ) -> Result<Option<Fence>, SyncStoreError> {
        let mut s = self.lock();
        if !s.jobs.contains_key(job) {
            return Err(SyncStoreError::JobNotFound(job.to_string()));
        }
        let next_fence = s.last_fence + 1;
        let lease = s.leases.entry(job.to_string()).or_default();
        if lease.worker == worker && lease.until.as_str() > now {
            lease.until = until.to_string();
            return Ok(Some(Fence(lease.fence)));
        }
        if lease.until.as_str() > now {
            return Ok(None);
        }
        lease.worker = worker.to_string();
        lease.until = until.to_string();
        lease.fence = next_fence;
        s.last_fence = next_fence;
        Ok(Some(Fence(next_fence)))
    }

    async fn renew_lease(
        &self,
        job: &str,
        worker: &str,
        fence: Fence,
        until: &str,
    ) -> Result<bool, SyncStoreError> {
        let mut s = self.lock();
        match s.leases.get_mut(job) {
            Some(lease) if lease.worker == worker && lease.fence == fence.0 => {
                lease.until = until.to_string();
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn release_lease(&self, job: &str, fence: Fence) -> Result<(), SyncStoreError> {
        let mut s = self.lock();
        if let Some(lease) = s.leases.get_mut(job) {
            if lease.fence == fence.0 {
                lease.until = String::new();
            }
        }
        Ok(())
    }
}

/// Writes one link into `links` under the job's fence, refusing a target another source of
/// the job holds.
fn write_link(
    s: &State,
    links: &mut BTreeMap<(String, String, Uuid), Link>,
    fence: Fence,
    link: Link,
) -> Result<(), SyncStoreError> {
    s.check_fence(&link.job_id, fence)?;
    if !s.jobs.contains_key(&link.job_id) {
        return Err(SyncStoreError::JobNotFound(link.job_id));
    }
    let holder = links.values().find(|l| {
        l.job_id == link.job_id
            && l.object_type == link.object_type
            && l.target_id == link.target_id
            && l.source_id != link.source_id
    });
    if let Some(holder) = holder {
        return Err(SyncStoreError::TargetTaken {
            target_id: link.target_id,
            source_id: holder.source_id,
        });
    }
    let key = (
        link.job_id.clone(),
        link.object_type.clone(),
        link.source_id,
    );
    links.insert(key, link);
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn conformance() {
        crate::state::conformance::run(Arc::new(super::MemorySyncStore::new())).await;
    }
}
