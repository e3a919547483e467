//! Provisioning in `provisio serve`: the SCIM client as the engine's targets, and the loop
//! that runs due jobs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use provisio_engine::clock::Ticker;
use provisio_engine::secrets::Secrets;
use provisio_engine::target::Target;
use provisio_engine::worker::{JobRun, TargetFactory, Worker};
use provisio_scim_client::config::{split_tenant_url, BearerToken, ScimClientConfig};
use provisio_scim_client::ScimTarget;

/// The SCIM targets of jobs, one client (with its keep-alive pool) per base URL and token.
#[derive(Default)]
pub struct ScimTargets {
    clients: Mutex<HashMap<(String, String), Arc<ScimTarget>>>,
}

impl TargetFactory for ScimTargets {
    fn target(&self, secrets: &Secrets) -> Result<Arc<dyn Target>, String> {
        let tenant_url = secrets
            .base_address()
            .ok_or("the job's secrets have no BaseAddress (the target's SCIM URL)")?;
        let token = secrets.secret_token().unwrap_or_default();
        let key = (tenant_url.to_string(), token.to_string());
        let mut clients = self
            .clients
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(client) = clients.get(&key) {
            return Ok(Arc::clone(client) as Arc<dyn Target>);
        }
        let (base_url, style) = split_tenant_url(tenant_url);
        let mut config = ScimClientConfig::new(base_url, BearerToken::new(token));
        if let Some(style) = style {
            config.patch_style = style;
        }
        let client = Arc::new(ScimTarget::new(&config).map_err(|e| e.to_string())?);
        clients.insert(key, Arc::clone(&client));
        Ok(client as Arc<dyn Target>)
    }
}

/// Waits on the runtime's timer: paces the lease renewals of running cycles.
pub struct RuntimeTicker;

#[async_trait]
impl Ticker for RuntimeTicker {
    async fn wait(&self, period: time::Duration) {
        tokio::time::sleep(period.unsigned_abs()).await;
    }
}

/// Runs due jobs, side by side, looking for them every `tick`, for as long as the process
/// lives.
pub async fn run_worker(worker: Worker, tick: Duration) {
    let every = time::Duration::try_from(tick).unwrap_or(time::Duration::SECOND);
    worker
        .run_continuously(&RuntimeTicker, every, |job, run| match run {
            JobRun::Ran(report) => tracing::info!(
                message = "Cycle done.",
                job = %job,
                full = report.full,
                created = report.created,
                updated = report.updated,
                disabled = report.disabled,
                deleted = report.deleted,
                failed = report.failures.len()
            ),
            JobRun::Busy => {}
            JobRun::Failed(error) => {
                tracing::warn!(message = "Cycle failed.", job = %job, %error)
            }
        })
        .await
}
