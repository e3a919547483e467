//! Directory operations as the Graph API and the importer use them: validation, reference
//! checks, and the store calls that carry them out.

use std::sync::Arc;

use serde_json::{Map, Value};
use uuid::Uuid;

use super::schema::{self, Mode, ValidateOptions};
use super::store::{
    Change, Cursor, DirectoryStore, ImportObject, ImportReference, ImportReport, IndexSeek,
    ListQuery, MemberRef, OrderKey, RawObject, StoreError, StoredAssignment, StoredObject,
};
use super::{DirectoryError, ObjectKind, DEFAULT_ACCESS_ROLE};

/// How many member refs one page of [`Directory::member_ref_pages`] reads.
const MEMBER_REFS_PAGE: usize = 5000;

/// A group's member refs, page by page ([`Directory::member_ref_pages`]).
pub struct MemberRefPages<'d> {
    directory: &'d Directory,
    group: Uuid,
    after: Option<Uuid>,
    done: bool,
}

impl MemberRefPages<'_> {
    /// The next page, or `None` once every member was read.
    pub async fn next_page(&mut self) -> Result<Option<Vec<MemberRef>>, DirectoryError> {
        if self.done {
            return Ok(None);
        }
        let page = self
            .directory
            .store
            .member_refs(self.group, self.after, MEMBER_REFS_PAGE)
            .await?;
        self.done = page.len() < MEMBER_REFS_PAGE;
        self.after = page.last().map(|m| m.id);
        Ok(Some(page))
    }
}

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

/// Where an object is: live, in deleted items, or gone (purged, or never was).
#[derive(Debug, Clone, PartialEq)]
pub enum Presence {
    Live(StoredObject),
    Deleted(StoredObject),
    Absent,
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

    pub async fn get(&self, kind: ObjectKind, id: Uuid) -> Result<StoredObject, DirectoryError> {
        self.store
            .get(kind, id, false)
            .await?
            .ok_or_else(|| DirectoryError::not_found(&id.to_string()))
    }

    /// The live object of any kind with this id, if there is one.
    pub async fn find(&self, id: Uuid) -> Result<Option<StoredObject>, DirectoryError> {
        Ok(self.store.get_any(id).await?)
    }

    /// The id of the live object of `kind` whose case-insensitive `key` is `value`.
    pub async fn lookup(
        &self,
        kind: ObjectKind,
        key: IndexSeek,
        value: &str,
    ) -> Result<Option<Uuid>, DirectoryError> {
        Ok(self.store.lookup(kind, key, value).await?)
    }

    /// Whether object `id` of `kind` is live, in deleted items, or gone.
    pub async fn presence(&self, kind: ObjectKind, id: Uuid) -> Result<Presence, DirectoryError> {
        if let Some(object) = self.store.get(kind, id, false).await? {
            return Ok(Presence::Live(object));
        }
        Ok(match self.store.get(kind, id, true).await? {
            Some(object) => Presence::Deleted(object),
            None => Presence::Absent,
        })
    }

    /// PATCH: the properties in `body` replace the stored ones; `null` clears one.
    pub async fn update(
        &self,
        kind: ObjectKind,
        id: Uuid,
        body: &Map<String, Value>,
    ) -> Result<StoredObject, DirectoryError> {
        let valid = schema::validate(kind, body, Mode::Update, ValidateOptions::default())?;
        if let Some(manager) = valid.manager {
            self.set_manager(id, manager).await?;
        }
        for member in &valid.members {
            self.add_member(id, *member).await?;
        }
        let changes = valid.data;
        let outcome = self
            .store
            .update(
                kind,
                id,
                Box::new(move |current| Ok(schema::apply_changes(kind, &current.data, changes))),
            )
            .await
            .map_err(|e| not_found_as(e, id))?;
        Ok(outcome.object)
    }

    pub async fn delete(&self, kind: ObjectKind, id: Uuid) -> Result<(), DirectoryError> {
        self.store
            .delete(kind, id)
            .await
            .map_err(|e| not_found_as(e, id))
    }

    pub async fn deleted_item(&self, id: Uuid) -> Result<StoredObject, DirectoryError> {
        for kind in [ObjectKind::User, ObjectKind::Group] {
            if let Some(o) = self.store.get(kind, id, true).await? {
                return Ok(o);
            }
        }
        Err(DirectoryError::not_found(&id.to_string()))
    }

    pub async fn restore(&self, id: Uuid) -> Result<StoredObject, DirectoryError> {
        self.store
            .restore(id)
            .await
            .map_err(|e| not_found_as(e, id))
    }

    pub async fn purge(&self, id: Uuid) -> Result<(), DirectoryError> {
        self.store.purge(id).await.map_err(|e| not_found_as(e, id))
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

    /// One page of objects with their properties left as the stored JSON text, for lists
    /// that render them without building JSON values: up to `query.limit` objects.
    pub async fn list_raw(&self, query: &ListQuery) -> Result<Vec<RawObject>, DirectoryError> {
        Ok(self.store.list_raw(query).await?)
    }

    pub async fn count(&self, kind: ObjectKind) -> Result<u64, DirectoryError> {
        Ok(self.store.count(kind, false).await?)
    }

    /// How many objects `query` (whatever its order, position and limit) and `predicate`
    /// select: `@odata.count`, whatever the page.
    pub async fn count_matching(
        &self,
        query: &ListQuery,
        predicate: Option<&(dyn Fn(&StoredObject) -> bool + Sync)>,
    ) -> Result<u64, DirectoryError> {
        if predicate.is_none() && query.seek.is_none() && query.prefix.is_none() {
            return Ok(self.store.count(query.kind, query.deleted).await?);
        }
        let mut q = ListQuery {
            after: None,
            order: OrderKey::Id,
            descending: false,
            limit: SCAN_BATCH,
            ..query.clone()
        };
        let mut n = 0u64;
        loop {
            let batch = self.store.list(&q).await?;
            n += batch
                .iter()
                .filter(|o| predicate.is_none_or(|p| p(o)))
                .count() as u64;
            match batch.last() {
                Some(last) if batch.len() == q.limit => {
                    q.after = Some(cursor_of(last, OrderKey::Id))
                }
                _ => return Ok(n),
            }
        }
    }

    /// The sequence number of the last change (0 when there is none).
    pub async fn watermark(&self) -> Result<i64, DirectoryError> {
        Ok(self.store.watermark().await?)
    }

    /// Up to `limit` changes after watermark `after`, in order.
    pub async fn changes_since(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<Change>, DirectoryError> {
        Ok(self.store.changes_since(after, limit).await?)
    }

    pub async fn manager(&self, user: Uuid) -> Result<StoredObject, DirectoryError> {
        let u = self.get(ObjectKind::User, user).await?;
        let missing = || DirectoryError::not_found(&user.to_string());
        let manager = u.manager.ok_or_else(missing)?;
        self.store
            .get(ObjectKind::User, manager, false)
            .await?
            .ok_or_else(missing)
    }

    pub async fn set_manager(&self, user: Uuid, manager: Uuid) -> Result<(), DirectoryError> {
        let u = self.get(ObjectKind::User, user).await?;
        let m = self.live_user(manager).await?;
        if u.id == m.id {
            return Err(DirectoryError::bad_request(
                "A user cannot be their own manager.",
            ));
        }
        Ok(self.store.set_manager(u.id, Some(m.id)).await?)
    }

    pub async fn remove_manager(&self, user: Uuid) -> Result<(), DirectoryError> {
        let u = self.get(ObjectKind::User, user).await?;
        if u.manager.is_none() {
            return Err(DirectoryError::not_found(&user.to_string()));
        }
        Ok(self.store.set_manager(u.id, None).await?)
    }

    pub async fn direct_reports(
        &self,
        user: Uuid,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<StoredObject>, DirectoryError> {
        let u = self.get(ObjectKind::User, user).await?;
        Ok(self.store.direct_reports(u.id, after, limit).await?)
    }

    /// The manager of each of `users` that is a live user with one (see
    /// [`crate::store::ReferenceStore::managers_of`]).
    pub async fn managers_of(&self, users: &[Uuid]) -> Result<Vec<(Uuid, Uuid)>, DirectoryError> {
        Ok(self.store.managers_of(users).await?)
    }

    pub async fn add_member(&self, group: Uuid, member: Uuid) -> Result<(), DirectoryError> {
        let g = self.get(ObjectKind::Group, group).await?;
        let m = self.member_ref(member).await?;
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

    pub async fn remove_member(&self, group: Uuid, member: Uuid) -> Result<(), DirectoryError> {
        let g = self.get(ObjectKind::Group, group).await?;
        if self.store.remove_member(g.id, member).await? {
            Ok(())
        } else {
            Err(DirectoryError::not_found(&member.to_string()))
        }
    }

    pub async fn members(
        &self,
        group: Uuid,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<StoredObject>, DirectoryError> {
        let g = self.get(ObjectKind::Group, group).await?;
        Ok(self.store.members(g.id, after, limit).await?)
    }

    /// The live members of group `group` as ids and kinds, in id order, a page at a time,
    /// for callers that act between pages (the engine takes a large group's turn as soon as
    /// the members read so far are many).
    pub fn member_ref_pages(&self, group: Uuid) -> MemberRefPages<'_> {
        MemberRefPages {
            directory: self,
            group,
            after: None,
            done: false,
        }
    }

    /// Every live member of group `group` as an id and a kind, read page by page: the
    /// members without their objects, for callers that need only who they are.
    pub async fn all_member_refs(&self, group: Uuid) -> Result<Vec<MemberRef>, DirectoryError> {
        let mut out = Vec::new();
        let mut pages = self.member_ref_pages(group);
        while let Some(page) = pages.next_page().await? {
            out.extend(page);
        }
        Ok(out)
    }

    pub async fn member_of(&self, id: Uuid) -> Result<Vec<StoredObject>, DirectoryError> {
        if self.store.get_any(id).await?.is_none() {
            return Err(DirectoryError::not_found(&id.to_string()));
        }
        Ok(self.store.member_of(id).await?)
    }

    /// Assigns `principal` (a user or group) to service principal `resource` in role
    /// `app_role` (the default access role when nil).
    pub async fn assign(
        &self,
        resource: Uuid,
        principal: Uuid,
        role: Uuid,
    ) -> Result<StoredAssignment, DirectoryError> {
        let sp = self.get(ObjectKind::ServicePrincipal, resource).await?;
        let who = self.member_ref(principal).await?;
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

    pub async fn unassign(&self, assignment: Uuid) -> Result<StoredAssignment, DirectoryError> {
        self.store
            .remove_assignment(assignment)
            .await
            .map_err(|e| not_found_as(e, assignment))
    }

    pub async fn get_assignment(
        &self,
        assignment: Uuid,
    ) -> Result<StoredAssignment, DirectoryError> {
        self.store
            .get_assignment(assignment)
            .await?
            .ok_or_else(|| DirectoryError::not_found(&assignment.to_string()))
    }

    /// Assignments to service principal `resource` or of principal `principal`, by id,
    /// after `after`.
    pub async fn assignments(
        &self,
        resource: Option<Uuid>,
        principal: Option<Uuid>,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<StoredAssignment>, DirectoryError> {
        Ok(self
            .store
            .assignments(resource, principal, after, limit)
            .await?)
    }

    /// Writes an import batch: each object alone may fail, then the references are set, in
    /// one transaction.
    pub(crate) async fn import(
        &self,
        objects: Vec<ImportObject>,
        links: Vec<ImportReference>,
        dry_run: bool,
    ) -> Result<ImportReport, DirectoryError> {
        Ok(self.store.import(objects, links, dry_run).await?)
    }

    /// Says that an import has written all its batches (see
    /// [`crate::ImportStore::imported`]).
    pub(crate) async fn imported(&self) -> Result<(), DirectoryError> {
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

fn not_found_as(e: StoreError, id: Uuid) -> DirectoryError {
    match e {
        StoreError::NotFound(_) => DirectoryError::not_found(&id.to_string()),
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
