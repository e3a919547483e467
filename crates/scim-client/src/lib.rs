//! The outbound SCIM 2.0 client behind the engine's [`Target`] port, split like a sink:
//!
//! - [`config`]: where the target is, its token (never printed), timeouts, concurrency,
//!   retries, and the job's PATCH dialect ([`PatchStyle`]).
//! - [`request`]: each request built as the target expects it (encoded ids, quoted filter
//!   values, PATCH operations rendered in the dialect), with no IO.
//! - [`service`]: sending (keep-alive pool, bounded concurrency, `Retry-After`) and reading
//!   answers into resources and pages, classifying what fails.
//! - [`ScimTarget`]: the three put together as a [`Target`].

use async_trait::async_trait;
use provisio_engine::target::{
    ErrorClass, Page, PatchOperation, Target, TargetError, TargetKind, TargetObject,
};
use serde_json::Value;

pub mod config;
pub mod request;
pub mod service;

pub use config::{
    split_tenant_url, BearerToken, ConfigError, PatchStyle, RetryPolicy, ScimClientConfig,
};
use service::ScimService;

/// A SCIM endpoint as a [`Target`]; one per job, cheap to clone (clones share the
/// connection pool and the concurrency bound).
#[derive(Debug, Clone)]
pub struct ScimTarget {
    service: ScimService,
    patch_style: PatchStyle,
}

impl ScimTarget {
    pub fn new(config: &ScimClientConfig) -> Result<Self, ConfigError> {
        Ok(ScimTarget {
            service: ScimService::new(config)?,
            patch_style: config.patch_style,
        })
    }
}

#[async_trait]
impl Target for ScimTarget {
    async fn find(
        &self,
        kind: TargetKind,
        attribute: &str,
        value: &str,
    ) -> Result<Vec<TargetObject>, TargetError> {
        let req = request::find(kind, attribute, value);
        let answer = self.service.send(&req).await?;
        Ok(service::parse_list(&req, &answer)?.objects)
    }

    async fn get(&self, kind: TargetKind, id: &str) -> Result<Option<TargetObject>, TargetError> {
        let req = request::get(kind, id);
        match self.service.send(&req).await {
            Ok(answer) => service::parse_resource(&req, &answer).map(Some),
            Err(e) if e.class == ErrorClass::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn create(&self, kind: TargetKind, resource: Value) -> Result<TargetObject, TargetError> {
        let req = request::create(kind, resource);
        let answer = self.service.send(&req).await?;
        service::parse_resource(&req, &answer)
    }

    async fn patch(
        &self,
        kind: TargetKind,
        id: &str,
        ops: &[PatchOperation],
    ) -> Result<Option<TargetObject>, TargetError> {
        if ops.is_empty() {
            return Ok(None);
        }
        let req = request::patch(kind, id, ops, self.patch_style);
        let answer = self.service.send(&req).await?;
        service::parse_optional_resource(&req, &answer)
    }

    async fn delete(&self, kind: TargetKind, id: &str) -> Result<(), TargetError> {
        let req = request::delete(kind, id);
        self.service.send(&req).await.map(|_| ())
    }

    async fn list_page(
        &self,
        kind: TargetKind,
        start_index: u64,
        count: u64,
        attributes: &[&str],
    ) -> Result<Page, TargetError> {
        let req = request::list_page(kind, start_index, count, attributes);
        let answer = self.service.send(&req).await?;
        service::parse_list(&req, &answer)
    }

    async fn probe(&self) -> Result<(), TargetError> {
        let guid = uuid::Uuid::new_v4().to_string();
        let req = request::probe(&guid);
        let answer = self.service.send(&req).await?;
        let page = service::parse_list(&req, &answer)?;
        if page.objects.is_empty() && page.total == 0 {
            return Ok(());
        }
        let mut error = TargetError::answered(req.verb(), &req.described, answer.status)
            .with_detail(format!(
            "a query for a random userName found {} objects: the target seems to ignore filters",
            page.total.max(page.objects.len() as u64)
        ));
        error.class = ErrorClass::Incompatible;
        Err(error)
    }
}
