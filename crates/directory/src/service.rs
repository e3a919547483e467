//! Directory operations as the Graph API and the importer use them: validation, reference
//! checks, and the store calls that carry them out.

use std::sync::Arc;

use serde_json::{Map, Value};
use uuid::Uuid;

use super::schema::{self, Mode, ValidateOptions};
use super::store::{
    Cursor, DirectoryStore, ImportObject, ImportReference, ImportReport, ListQuery, MemberRef,
    OrderKey, StoreError, StoredAssignment, StoredObject,
};
use super::{DirectoryError, ObjectKind, DEFAULT_ACCESS_ROLE};

/// Settings of the directory.
#[derive(Debug, Clone)]
pub struct DirectoryConfig {
    /// How long deleted users and groups stay restorable.
    pub deleted_retention: time::Duration,
}

impl Default for DirectoryConfig {
    fn default() -> Self {
        DirectoryConfig {
            deleted_retention: time::Duration::days(30),
        }
    }
}

/// The directory service over a store.
#[derive(Clone)]
pub struct Directory {
    store: Arc<dyn DirectoryStore>,
    config: DirectoryConfig,
}

/// A list request: the store query (seek, order, cursor) plus a predicate for everything
/// the indexes cannot answer.
pub struct ListRequest<'a> {
    pub query: ListQuery,
    pub predicate: Option<&'a (dyn Fn(&StoredObject) -> bool + Sync)>,
    /// How many objects to return at most.
    pub page_size: usize,
}

/// One page of a list.
#[derive(Debug, Clone)]
pub struct ListPage {
    pub objects: Vec<StoredObject>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<Cursor>,
}

/// Objects read per store round trip while a predicate filters them.
const SCAN_BATCH: usize = 1000;

impl Directory {
    pub fn new(store: Arc<dyn DirectoryStore>, config: DirectoryConfig) -> Self {
        Directory { store, config }
    }

    pub fn store(&self) -> &Arc<dyn DirectoryStore> {
        &self.store
    }

    pub fn config(&self) -> &DirectoryConfig {
        &self.config
    }

    pub async fn create(
        &self,
        kind: ObjectKind,
        body: &Map<String, Value>,
    ) -> Result<StoredObject, DirectoryError> {
        let valid = schema::validate(kind, body, Mode::Create, ValidateOptions::default())?;
        let manager = match valid.manager {
            Some(m) => Some(self.live_user(m).await?.id),
            None => None,
        };
        let mut members = Vec::with_capacity(valid.members.len());
        for m in &valid.members {
            members.push(self.member_ref(*m).await?);
        }
        let id = valid.id.unwrap_or_else(super::new_object_id);
        Ok(self
            .store
            .create(kind, id, valid.data, manager, members)
            .await?)
    }

    pub async fn get(&self, kind: ObjectKind, id: &str) -> Result<StoredObject, DirectoryError> {
        let uuid = parse_id(id)?;
        self.store
            .get(kind, uuid, false)
            .await?
            .ok_or_else(|| DirectoryError::not_found(id))
    }

    /// PATCH: the properties in `body` replace the stored ones; `null` clears one.
    pub async fn update(
        &self,
        kind: ObjectKind,
        id: &str,
        body: &Map<String, Value>,
    ) -> Result<StoredObject, DirectoryError> {
        let uuid = parse_id(id)?;
        let valid = schema::validate(kind, body, Mode::Update, ValidateOptions::default())?;
        if let Some(manager) = valid.manager {
            self.set_manager(&uuid.to_string(), &manager.to_string())
                .await?;
        }
        for member in &valid.members {
            self.add_member(&uuid.to_string(), &member.to_string())
                .await?;
        }
        let changes = valid.data;
        let outcome = self
            .store
            .update(
                kind,
                uuid,
                Box::new(move |current| Ok(schema::apply_changes(kind, &current.data, changes))),
            )
            .await
            .map_err(|e| not_found_as(e, id))?;
        Ok(outcome.object)
    }

    pub async fn delete(&self, kind: ObjectKind, id: &str) -> Result<(), DirectoryError> {
        let uuid = parse_id(id)?;
        self.store
            .delete(kind, uuid)
            .await
            .map_err(|e| not_found_as(e, id))
    }

    pub async fn deleted_item(&self, id: &str) -> Result<StoredObject, DirectoryError> {
        let uuid = parse_id(id)?;
        for kind in [ObjectKind::User, ObjectKind::Group] {
            if let Some(o) = self.store.get(kind, uuid, true).await? {
                return Ok(o);
            }
        }
        Err(DirectoryError::not_found(id))
    }

    pub async fn restore(&self, id: &str) -> Result<StoredObject, DirectoryError> {
        let uuid = parse_id(id)?;
        self.store
            .restore(uuid)
            .await
            .map_err(|e| not_found_as(e, id))
    }

    pub async fn purge(&self, id: &str) -> Result<(), DirectoryError> {
        let uuid = parse_id(id)?;
        self.store
            .purge(uuid)
            .await
            .map_err(|e| not_found_as(e, id))
    }

    /// Purges what has been in deleted items longer than the retention period.
    pub async fn purge_expired(&self, now: time::OffsetDateTime) -> Result<u64, DirectoryError> {
        let before = super::timestamp(now - self.config.deleted_retention);
        Ok(self.store.purge_deleted_before(&before).await?)
    }

    /// One page of objects: reads the store in batches until the page is full or the
    /// objects run out, keeping those the predicate accepts.
    pub async fn list(&self, request: ListRequest<'_>) -> Result<ListPage, DirectoryError> {
        let mut query = request.query;
        let page_size = request.page_size.max(1);
        let mut objects = Vec::with_capacity(page_size.min(SCAN_BATCH));
        loop {
            let want = page_size - objects.len();
            // Without a predicate every row counts: read one more than needed to know whether
            // a next page exists.
            query.limit = match request.predicate {
                None => want + 1,
                Some(_) => SCAN_BATCH.max(want + 1),
            };
            let batch = self.store.list(&query).await?;
            let exhausted = batch.len() < query.limit;
            let mut last = None;
            for object in batch {
                last = Some(cursor_of(&object, query.order));
                if request.predicate.is_none_or(|p| p(&object)) {
                    if objects.len() == page_size {
                        // A further match exists: the page ends at the previous object.
                        let next = objects.last().map(|o| cursor_of(o, query.order));
                        return Ok(ListPage { objects, next });
                    }
                    objects.push(object);
                }
            }
            if exhausted {
                return Ok(ListPage {
                    objects,
                    next: None,
                });
            }
            query.after = last;
        }
    }

    pub async fn count(&self, kind: ObjectKind) -> Result<u64, DirectoryError> {
        Ok(self.store.count(kind, false).await?)
    }

    pub async fn manager(&self, user: &str) -> Result<StoredObject, DirectoryError> {
        let u = self.get(ObjectKind::User, user).await?;
        let missing = || DirectoryError::not_found(user);
        let manager = u.manager.ok_or_else(missing)?;
        self.store
            .get(ObjectKind::User, manager, false)
            .await?
            .ok_or_else(missing)
    }

    pub async fn set_manager(&self, user: &str, manager: &str) -> Result<(), DirectoryError> {
        let u = self.get(ObjectKind::User, user).await?;
        let m = self.live_user(parse_id(manager)?).await?;
        if u.id == m.id {
            return Err(DirectoryError::bad_request(
                "A user cannot be their own manager.",
            ));
        }
        Ok(self.store.set_manager(u.id, Some(m.id)).await?)
    }

    pub async fn remove_manager(&self, user: &str) -> Result<(), DirectoryError> {
        let u = self.get(ObjectKind::User, user).await?;
        if u.manager.is_none() {
            return Err(DirectoryError::not_found(user));
        }
        Ok(self.store.set_manager(u.id, None).await?)
    }

    pub async fn direct_reports(
        &self,
        user: &str,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<StoredObject>, DirectoryError> {
        let u = self.get(ObjectKind::User, user).await?;
        Ok(self.store.direct_reports(u.id, after, limit).await?)
    }

    pub async fn add_member(&self, group: &str, member: &str) -> Result<(), DirectoryError> {
        let g = self.get(ObjectKind::Group, group).await?;
        let m = self.member_ref(parse_id(member)?).await?;
        if m.id == g.id {
            return Err(DirectoryError::bad_request(
                "A group cannot be a member of itself.",
            ));
        }
        if self.store.add_member(g.id, m).await? {
            Ok(())
        } else {
            Err(DirectoryError::conflict(
                "One or more added object references already exist for the following modified properties: 'members'.",
            ))
        }
    }

    pub async fn remove_member(&self, group: &str, member: &str) -> Result<(), DirectoryError> {
        let g = self.get(ObjectKind::Group, group).await?;
        let m = parse_id(member)?;
        if self.store.remove_member(g.id, m).await? {
            Ok(())
        } else {
            Err(DirectoryError::not_found(member))
        }
    }

    pub async fn members(
        &self,
        group: &str,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<StoredObject>, DirectoryError> {
        let g = self.get(ObjectKind::Group, group).await?;
        Ok(self.store.members(g.id, after, limit).await?)
    }

    pub async fn member_of(&self, id: &str) -> Result<Vec<StoredObject>, DirectoryError> {
        let uuid = parse_id(id)?;
        if self.store.get_any(uuid).await?.is_none() {
            return Err(DirectoryError::not_found(id));
        }
        Ok(self.store.member_of(uuid).await?)
    }

    /// Assigns `principal` (a user or group) to service principal `resource` in role
    /// `app_role` (the default access role when nil).
    pub async fn assign(
        &self,
        resource: &str,
        principal: &str,
        app_role: &str,
    ) -> Result<StoredAssignment, DirectoryError> {
        let sp = self.get(ObjectKind::ServicePrincipal, resource).await?;
        let who = self.member_ref(parse_id(principal)?).await?;
        let role = Uuid::try_parse(app_role).map_err(|_| {
            DirectoryError::bad_request(format!(
                "Invalid value specified for property 'appRoleId': '{app_role}' is not a GUID."
            ))
        })?;
        if role != DEFAULT_ACCESS_ROLE && !declares_role(&sp, role) {
            return Err(DirectoryError::bad_request(format!(
                "Permission being assigned was not found on application '{}': it declares no app role with id {role}.",
                sp.id
            )));
        }
        let existing = self
            .store
            .assignments(Some(sp.id), Some(who.id), None, 1000)
            .await?;
        if existing.iter().any(|a| a.app_role_id == role) {
            return Err(DirectoryError::conflict(
                "Permission being assigned already exists on the object.",
            ));
        }
        let assignment = StoredAssignment {
            id: Uuid::new_v4(),
            principal: who,
            resource_id: sp.id,
            app_role_id: role,
            created: super::timestamp(time::OffsetDateTime::now_utc()),
        };
        self.store.add_assignment(assignment.clone()).await?;
        Ok(assignment)
    }

    pub async fn unassign(&self, assignment: &str) -> Result<StoredAssignment, DirectoryError> {
        let uuid = parse_id(assignment)?;
        self.store
            .remove_assignment(uuid)
            .await
            .map_err(|e| not_found_as(e, assignment))
    }

    pub async fn get_assignment(
        &self,
        assignment: &str,
    ) -> Result<StoredAssignment, DirectoryError> {
        let uuid = parse_id(assignment)?;
        self.store
            .get_assignment(uuid)
            .await?
            .ok_or_else(|| DirectoryError::not_found(assignment))
    }

    /// Imports a batch: objects are validated here (a bad one fails alone), then written
    /// with their links in one transaction.
    pub async fn import(
        &self,
        objects: Vec<ImportObject>,
        links: Vec<ImportReference>,
        dry_run: bool,
    ) -> Result<ImportReport, DirectoryError> {
        Ok(self.store.import(objects, links, dry_run).await?)
    }

    /// Says that an import has written all its batches (see [`DirectoryStore::imported`]).
    pub async fn imported(&self) -> Result<(), DirectoryError> {
        Ok(self.store.imported().await?)
    }

    async fn live_user(&self, id: Uuid) -> Result<StoredObject, DirectoryError> {
        self.store
            .get(ObjectKind::User, id, false)
            .await?
            .ok_or_else(|| DirectoryError::not_found(&id.to_string()))
    }

    /// A live user or group, as a member or principal.
    async fn member_ref(&self, id: Uuid) -> Result<MemberRef, DirectoryError> {
        match self.store.get_any(id).await? {
            Some(o) if matches!(o.kind, ObjectKind::User | ObjectKind::Group) => {
                Ok(MemberRef { id, kind: o.kind })
            }
            Some(_) => Err(DirectoryError::bad_request(format!(
                "Object '{id}' is not a user or a group."
            ))),
            None => Err(DirectoryError::not_found(&id.to_string())),
        }
    }
}

fn declares_role(sp: &StoredObject, role: Uuid) -> bool {
    let wanted = role.to_string();
    sp.data
        .get("appRoles")
        .and_then(Value::as_array)
        .is_some_and(|roles| {
            roles
                .iter()
                .any(|r| r.get("id").and_then(Value::as_str) == Some(wanted.as_str()))
        })
}

/// Ids in paths are GUIDs; anything else cannot name an object.
pub fn parse_id(id: &str) -> Result<Uuid, DirectoryError> {
    Uuid::try_parse(id)
        .map_err(|_| DirectoryError::bad_request(format!("Invalid object identifier '{id}'.")))
}

fn not_found_as(e: StoreError, id: &str) -> DirectoryError {
    match e {
        StoreError::NotFound(_) => DirectoryError::not_found(id),
        other => other.into(),
    }
}

/// The keyset position of `object` in a list ordered by `order`.
pub fn cursor_of(object: &StoredObject, order: OrderKey) -> Cursor {
    let key = match order {
        OrderKey::Id => object.id.to_string(),
        OrderKey::DisplayName => sort_key(&object.data, "displayName"),
        OrderKey::UserPrincipalName => sort_key(&object.data, "userPrincipalName"),
    };
    Cursor { key, id: object.id }
}

/// The stored sort key of a property: lower-cased, empty when absent.
pub fn sort_key(data: &Map<String, Value>, name: &str) -> String {
    schema::index_key(data, name).unwrap_or_default()
}

impl StoredObject {
    /// The object as Graph returns it: `id`, its properties, `createdDateTime` (and
    /// `deletedDateTime` in deleted items), before any `$select`.
    pub fn to_graph(&self) -> Map<String, Value> {
        let mut out = Map::with_capacity(self.data.len() + 3);
        out.insert("id".to_string(), Value::String(self.id.to_string()));
        for (k, v) in &self.data {
            out.insert(k.clone(), v.clone());
        }
        if matches!(
            self.kind,
            ObjectKind::User | ObjectKind::Group | ObjectKind::ServicePrincipal
        ) {
            out.insert(
                "createdDateTime".to_string(),
                Value::String(self.created.clone()),
            );
        }
        if let Some(d) = &self.deleted {
            out.insert("deletedDateTime".to_string(), Value::String(d.clone()));
        }
        out
    }
}
