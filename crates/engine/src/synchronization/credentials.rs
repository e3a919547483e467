//! `validateCredentials`: asks the target, with the saved or the given credentials, for a
//! user whose `userName` is a random GUID, and expects an empty list (Entra's "Test
//! Connection"; `synchronization-synchronizationjob-validatecredentials.md` in
//! `microsoftgraph/microsoft-graph-docs-contrib`: 204 when they are valid).

use uuid::Uuid;

use super::{SyncError, SyncResult, Synchronization};
use crate::model::SynchronizationSecretKeyStringValuePair;
use crate::secrets::Secrets;

impl Synchronization {
    /// Checks credentials against the job's target. With `use_saved`, the saved secrets;
    /// else the given ones, over the saved ones (so a new token can be tried against the
    /// saved `BaseAddress`). A refusal is an `InvalidRequest` that says what the target
    /// answered.
    pub async fn validate_credentials(
        &self,
        sp: Uuid,
        job: &str,
        use_saved: bool,
        credentials: Vec<SynchronizationSecretKeyStringValuePair>,
    ) -> SyncResult<()> {
        self.job_record(sp, job).await?;
        let saved = self.secrets(sp).await?.unwrap_or_default();
        let secrets = if use_saved {
            saved
        } else {
            let mut pairs = saved.pairs().to_vec();
            pairs.extend(credentials);
            Secrets::new(pairs)
        };
        if secrets.base_address().is_none() {
            return Err(SyncError::InvalidRequest(
                "The credentials have no BaseAddress: the target's SCIM URL is needed to test them."
                    .to_string(),
            ));
        }
        let factory = self.targets.as_ref().ok_or_else(|| {
            SyncError::InvalidRequest(
                "This server has no SCIM client to test credentials with.".to_string(),
            )
        })?;
        let target = factory.target(&secrets).map_err(|reason| {
            SyncError::InvalidRequest(format!("The credentials cannot be used: {reason}."))
        })?;
        target.probe().await.map_err(|error| {
            SyncError::InvalidRequest(format!(
                "The target refused the test query with these credentials: {error}."
            ))
        })
    }
}
