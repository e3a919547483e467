//! Object connections: the links between source objects and target accounts, as Graph's
//! beta `objectConnections` shows them (`MicrosoftDocs/entra-docs`,
//! `docs/identity/app-provisioning/manage-object-connections.md`).
//!
//! Entra's: `objectId` (the id the request used), `sourceAnchor`, `targetAnchor`,
//! `displayName`, `objectTypeName` (lower case, as the page's sample writes `user`); get by
//! one id, looked up as a source id first and then as a target id; delete refused (409)
//! while the job's schedule is `Active`, idempotent otherwise.
//!
//! provisio's, beyond Entra: the provenance of a link (`linkedDateTime`, `linkedBy`:
//! `created`, `matched` with `matchedBy {targetAttribute, sourceAttribute, value}`, or
//! `manual`), its staleness (`stale`, `staleDateTime`, `staleReason`, and
//! `wouldChooseTargetAnchor`, the account the matching rules would choose now), and a
//! paged list (Entra answers 400 to a list).

use serde::Serialize;
use uuid::Uuid;

use super::{SyncError, SyncResult, Synchronization};
use crate::model::SynchronizationScheduleState;
use crate::state::{Link, LinkOrigin, LinkQuery};

/// `matchedBy`: how a matched link was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MatchedBy {
    pub target_attribute: String,
    pub source_attribute: String,
    pub value: String,
}

/// One object connection as the API renders it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectConnection {
    pub object_id: String,
    pub source_anchor: String,
    pub target_anchor: String,
    pub display_name: Option<String>,
    pub object_type_name: String,
    pub linked_date_time: String,
    /// `created`, `matched` or `manual`.
    pub linked_by: &'static str,
    pub matched_by: Option<MatchedBy>,
    pub stale: bool,
    pub stale_date_time: Option<String>,
    pub stale_reason: Option<String>,
    pub would_choose_target_anchor: Option<String>,
}

impl ObjectConnection {
    fn new(object_id: &str, link: Link) -> Self {
        let (linked_by, matched_by) = match link.origin {
            LinkOrigin::Created => ("created", None),
            LinkOrigin::Matched {
                target_attribute,
                source_attribute,
                value,
            } => (
                "matched",
                Some(MatchedBy {
                    target_attribute,
                    source_attribute,
                    value,
                }),
            ),
            LinkOrigin::Manual => ("manual", None),
        };
        let stale = link.stale;
        ObjectConnection {
            object_id: object_id.to_string(),
            source_anchor: link.source_id.to_string(),
            target_anchor: link.target_id,
            display_name: link.display_name,
            object_type_name: link.object_type.to_ascii_lowercase(),
            linked_date_time: link.made,
            linked_by,
            matched_by,
            stale: stale.is_some(),
            stale_date_time: stale.as_ref().map(|s| s.found.clone()),
            stale_reason: stale.as_ref().map(|s| s.reason.clone()),
            would_choose_target_anchor: stale.and_then(|s| s.would_choose),
        }
    }
}

/// Which connections a list returns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConnectionQuery {
    /// `objectTypeName eq '…'`, in any letter case.
    pub object_type: Option<String>,
    /// `stale eq true|false`.
    pub stale: Option<bool>,
    /// Connections after this source anchor (the next link's skip token).
    pub after: Option<Uuid>,
    pub top: usize,
}

/// One page of connections, and where the next starts.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionPage {
    pub connections: Vec<ObjectConnection>,
    pub next: Option<Uuid>,
}

impl Synchronization {
    /// The source object types of the job's schema (`User`, `Group`), as spelled there.
    async fn object_types(&self, sp: Uuid, job: &str) -> SyncResult<Vec<String>> {
        let schema = self.schema(sp, job).await?;
        let mut types: Vec<String> = Vec::new();
        for mapping in schema
            .synchronization_rules
            .iter()
            .flat_map(|r| &r.object_mappings)
        {
            if !types
                .iter()
                .any(|t| t.eq_ignore_ascii_case(&mapping.source_object_name))
            {
                types.push(mapping.source_object_name.clone());
            }
        }
        Ok(types)
    }

    /// The link that holds `object_id`: as a source id first, then as a target id.
    async fn find_link(&self, sp: Uuid, job: &str, object_id: &str) -> SyncResult<Option<Link>> {
        if let Ok(source) = Uuid::try_parse(object_id) {
            for object_type in self.object_types(sp, job).await? {
                if let Some(link) = self.store.link(job, &object_type, source).await? {
                    return Ok(Some(link));
                }
            }
        }
        Ok(self.store.link_by_target(job, object_id).await?)
    }

    /// `GET …/objectConnections('{objectId}')`.
    pub async fn connection(
        &self,
        sp: Uuid,
        job: &str,
        object_id: &str,
    ) -> SyncResult<ObjectConnection> {
        self.job_record(sp, job).await?;
        match self.find_link(sp, job, object_id).await? {
            Some(link) => Ok(ObjectConnection::new(object_id, link)),
            None => Err(SyncError::ConnectionNotFound {
                job: job.to_string(),
                object_id: object_id.to_string(),
            }),
        }
    }

    /// `DELETE …/objectConnections('{objectId}')`: refused while the job is active; done
    /// (or nothing to do) otherwise. The object is matched again at the job's next cycle:
    /// the job's watermark is left for the worker to forget, so that cycle is a full one
    /// and comes as soon as the job runs (Entra leaves it to a provision on demand).
    pub async fn delete_connection(&self, sp: Uuid, job: &str, object_id: &str) -> SyncResult<()> {
        let state = self.job(sp, job).await?.schedule.map(|s| s.state);
        if state == Some(SynchronizationScheduleState::Active) {
            return Err(SyncError::JobActive(job.to_string()));
        }
        if let Some(link) = self.find_link(sp, job, object_id).await? {
            self.store
                .delete_link(job, &link.object_type, link.source_id)
                .await?;
            self.update(sp, job, |stored, _| {
                stored.pending.watermark = true;
                Ok(())
            })
            .await?;
        }
        Ok(())
    }

    /// `GET …/objectConnections` (provisio's): by source anchor, filtered, paged.
    pub async fn connections(
        &self,
        sp: Uuid,
        job: &str,
        query: &ConnectionQuery,
    ) -> SyncResult<ConnectionPage> {
        let object_type = match &query.object_type {
            Some(wanted) => {
                let types = self.object_types(sp, job).await?;
                match types.into_iter().find(|t| t.eq_ignore_ascii_case(wanted)) {
                    Some(t) => Some(t),
                    None => {
                        return Ok(ConnectionPage {
                            connections: Vec::new(),
                            next: None,
                        })
                    }
                }
            }
            None => {
                self.job_record(sp, job).await?;
                None
            }
        };
        // One more than asked tells whether another page follows.
        let links = self
            .store
            .links(
                job,
                &LinkQuery {
                    object_type,
                    stale: query.stale,
                    after: query.after,
                    limit: query.top.saturating_add(1),
                },
            )
            .await?;
        let more = links.len() > query.top;
        let connections: Vec<ObjectConnection> = links
            .into_iter()
            .take(query.top)
            .map(|link| {
                let id = link.source_id.to_string();
                ObjectConnection::new(&id, link)
            })
            .collect();
        let next = if more {
            connections
                .last()
                .and_then(|c| Uuid::try_parse(&c.source_anchor).ok())
        } else {
            None
        };
        Ok(ConnectionPage { connections, next })
    }
}
