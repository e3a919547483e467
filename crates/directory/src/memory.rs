//! [`MemoryDirectory`]: every directory port kept in memory, with the contract of the real
//! stores (the conformance suite checks it as it checks SQLite and PostgreSQL). It lets the
//! service, the API and the engine run whole flows in unit tests without a database.
//!
//! One mutex guards the whole directory: each write is one critical section, which makes
//! it atomic and numbers its change records in commit order. Correctness over speed.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::store::{
    AssignmentStore, Change, ChangeLog, ChangeOp, ImportObject, ImportReference, ImportReport,
    ImportResult, ImportStore, IndexSeek, ListQuery, MemberRef, ObjectRef, ObjectStore,
    ObjectUpdate, OrderKey, RawObject, ReferenceKind, ReferenceStore, StoreError, StoredAssignment,
    StoredObject, UpdateFn,
};
use super::{import, schema, DirectoryError, ObjectKind};

/// An in-memory directory store. Clones share the same directory.
#[derive(Clone, Default)]
pub struct MemoryDirectory {
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for MemoryDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryDirectory").finish_non_exhaustive()
    }
}

impl MemoryDirectory {
    /// An empty directory.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every write checks before it changes anything, so a panic (in an update
        // function) leaves the state whole: carry on.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[derive(Clone, Default)]
struct State {
    /// Live and deleted objects, by id.
    objects: BTreeMap<Uuid, StoredObject>,
    /// Group id to its members' ids and kinds.
    members: BTreeMap<Uuid, BTreeMap<Uuid, ObjectKind>>,
    assignments: BTreeMap<Uuid, StoredAssignment>,
    changes: Vec<Change>,
}

fn now() -> String {
    super::timestamp(time::OffsetDateTime::now_utc())
}

/// The key an object is indexed by for `seek`, as the real stores compute it: display
/// names folded by [`schema::collation_key`], other keys lower-cased, `employeeId` exact,
/// and one unique key per kind (a user's `userPrincipalName`, a service principal's
/// `appId`) that both [`IndexSeek::UserPrincipalName`] and [`IndexSeek::AppId`] read.
fn index_key(object: &StoredObject, seek: IndexSeek) -> Option<String> {
    let lower = |name: &str| {
        object
            .data
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_lowercase)
    };
    match seek {
        IndexSeek::Id => Some(object.id.to_string()),
        IndexSeek::UserPrincipalName | IndexSeek::AppId => unique_key(object.kind, &object.data),
        IndexSeek::MailNickname => lower("mailNickname"),
        IndexSeek::DisplayName => object
            .data
            .get("displayName")
            .and_then(Value::as_str)
            .map(schema::collation_key),
        IndexSeek::Mail => lower("mail"),
        IndexSeek::EmployeeId => object
            .data
            .get("employeeId")
            .and_then(Value::as_str)
            .map(str::to_string),
    }
}

/// The key unique among live objects of `kind`: users' `userPrincipalName`, service
/// principals' `appId` (lower-cased); groups have none.
fn unique_key(kind: ObjectKind, data: &Map<String, Value>) -> Option<String> {
    let name = match kind {
        ObjectKind::User => "userPrincipalName",
        ObjectKind::ServicePrincipal => "appId",
        ObjectKind::Group => return None,
    };
    data.get(name)
        .and_then(Value::as_str)
        .map(str::to_lowercase)
}

/// The Graph name of the unique property of `kind`, as [`StoreError::Unique`] reports it.
fn unique_property(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::User => "userPrincipalName",
        ObjectKind::ServicePrincipal => "appId",
        ObjectKind::Group => "id",
    }
}

/// The value a seek compares with: lower-cased unless the key is exact.
fn seek_value(seek: IndexSeek, value: &str) -> String {
    if seek == IndexSeek::DisplayName {
        schema::collation_key(value)
    } else if seek.case_insensitive() {
        value.to_lowercase()
    } else {
        value.to_string()
    }
}

fn is_live(object: &StoredObject) -> bool {
    object.deleted.is_none()
}

/// Rows an id-ordered page starts after: all when there is no cursor.
fn after_id(after: Option<Uuid>) -> String {
    after.map(|a| a.to_string()).unwrap_or_default()
}

enum LinkOutcome {
    Done,
    Unresolved,
    Failed(DirectoryError),
}

impl State {
    fn append(
        &mut self,
        kind: ObjectKind,
        id: Uuid,
        op: ChangeOp,
        related: Option<Uuid>,
        at: &str,
    ) {
        let seq = self.changes.last().map_or(0, |c| c.seq) + 1;
        self.changes.push(Change {
            seq,
            kind,
            object_id: id,
            op,
            related_id: related,
            at: at.to_string(),
        });
    }

    /// The object with this id and state, of `kind` when given.
    fn get(&self, kind: Option<ObjectKind>, id: Uuid, deleted: bool) -> Option<&StoredObject> {
        self.objects
            .get(&id)
            .filter(|o| o.deleted.is_some() == deleted && kind.is_none_or(|k| o.kind == k))
    }

    fn live(&self, kind: Option<ObjectKind>, id: Uuid) -> Result<&StoredObject, StoreError> {
        self.get(kind, id, false)
            .ok_or_else(|| StoreError::NotFound(id.to_string()))
    }

    /// Whether a live object other than `except` holds `kind`'s unique key `key`.
    fn unique_taken(&self, kind: ObjectKind, key: Option<&str>, except: Uuid) -> bool {
        let Some(key) = key else { return false };
        self.objects.values().any(|o| {
            o.id != except
                && o.kind == kind
                && is_live(o)
                && unique_key(o.kind, &o.data).as_deref() == Some(key)
        })
    }

    fn insert_object(
        &mut self,
        kind: ObjectKind,
        id: Uuid,
        data: Map<String, Value>,
        manager: Option<Uuid>,
        at: &str,
    ) -> Result<(), StoreError> {
        if self.objects.contains_key(&id) {
            return Err(StoreError::Unique("id".to_string()));
        }
        if self.unique_taken(kind, unique_key(kind, &data).as_deref(), id) {
            return Err(StoreError::Unique(unique_property(kind).to_string()));
        }
        self.objects.insert(
            id,
            StoredObject {
                id,
                kind,
                data,
                manager,
                created: at.to_string(),
                deleted: None,
                version: 1,
            },
        );
        self.append(kind, id, ChangeOp::Created, None, at);
        if manager.is_some() {
            self.append(kind, id, ChangeOp::ManagerChanged, manager, at);
        }
        Ok(())
    }

    /// Replaces the data of live object `id`.
    fn write_data(
        &mut self,
        id: Uuid,
        data: Map<String, Value>,
        at: &str,
    ) -> Result<StoredObject, StoreError> {
        let kind = self.live(None, id)?.kind;
        if self.unique_taken(kind, unique_key(kind, &data).as_deref(), id) {
            return Err(StoreError::Unique(unique_property(kind).to_string()));
        }
        let object = self
            .objects
            .get_mut(&id)
            .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        object.data = data;
        object.version += 1;
        let object = object.clone();
        self.append(kind, id, ChangeOp::Updated, None, at);
        Ok(object)
    }

    fn insert_member(&mut self, group: Uuid, member: MemberRef, at: &str) -> bool {
        let added = self
            .members
            .entry(group)
            .or_default()
            .insert(member.id, member.kind)
            .is_none();
        if added {
            self.append(
                ObjectKind::Group,
                group,
                ChangeOp::MemberAdded,
                Some(member.id),
                at,
            );
        }
        added
    }

    /// Sets a live user's manager; false when the user is not a live user or the manager
    /// is already this one.
    fn update_manager(&mut self, user: Uuid, manager: Option<Uuid>, at: &str) -> bool {
        let Some(object) = self
            .objects
            .get_mut(&user)
            .filter(|o| o.kind == ObjectKind::User && is_live(o) && o.manager != manager)
        else {
            return false;
        };
        object.manager = manager;
        object.version += 1;
        self.append(
            ObjectKind::User,
            user,
            ChangeOp::ManagerChanged,
            manager,
            at,
        );
        true
    }

    /// Removes an object and everything that points at it, recording `purged`.
    fn purge_object(&mut self, id: Uuid, at: &str) {
        let Some(object) = self.objects.remove(&id) else {
            return;
        };
        self.members.remove(&id);
        for members in self.members.values_mut() {
            members.remove(&id);
        }
        self.assignments
            .retain(|_, a| a.principal.id != id && a.resource_id != id);
        for other in self.objects.values_mut() {
            if other.manager == Some(id) {
                other.manager = None;
            }
        }
        self.append(object.kind, id, ChangeOp::Purged, None, at);
    }

    fn list(&self, query: &ListQuery) -> Vec<StoredObject> {
        let seek = query.seek.as_ref().map(|(seek, values)| {
            let values: Vec<String> = values
                .iter()
                .map(|v| {
                    if *seek == IndexSeek::Id {
                        v.to_lowercase()
                    } else {
                        seek_value(*seek, v)
                    }
                })
                .collect();
            (*seek, values)
        });
        let prefix = query.prefix.as_ref().map(|(seek, prefix)| {
            let low = seek_value(*seek, prefix);
            // [low, low + U+10FFFF), the range the real stores read from their indexes.
            let high = format!("{low}\u{10FFFF}");
            (*seek, low, high)
        });
        let order_key = |o: &StoredObject| -> Option<String> {
            match query.order {
                OrderKey::Id => Some(o.id.to_string()),
                OrderKey::DisplayName => index_key(o, IndexSeek::DisplayName),
                OrderKey::UserPrincipalName => unique_key(o.kind, &o.data),
            }
        };
        let after = query.after.as_ref().map(|c| {
            let key = if query.order == OrderKey::Id {
                c.id.to_string()
            } else {
                c.key.clone()
            };
            (key, c.id.to_string())
        });
        let mut rows: Vec<(Option<String>, String, &StoredObject)> = self
            .objects
            .values()
            .filter(|o| o.kind == query.kind && o.deleted.is_some() == query.deleted)
            .filter(|o| match &seek {
                None => true,
                Some((seek, values)) => index_key(o, *seek).is_some_and(|k| values.contains(&k)),
            })
            .filter(|o| match &prefix {
                None => true,
                Some((seek, low, high)) => {
                    index_key(o, *seek).is_some_and(|k| k >= *low && k < *high)
                }
            })
            .map(|o| (order_key(o), o.id.to_string(), o))
            .filter(|(key, _, _)| {
                // Live users all have a principal name; the stores' index on it leaves out
                // objects without one.
                !(query.order == OrderKey::UserPrincipalName && !query.deleted && key.is_none())
            })
            .filter(|(key, id, _)| match &after {
                None => true,
                // A missing key compares as SQL's NULL: never after a cursor.
                Some((after_key, after_id)) => key.as_ref().is_some_and(|key| {
                    let here = (key, id);
                    let cursor = (after_key, after_id);
                    if query.descending {
                        here < cursor
                    } else {
                        here > cursor
                    }
                }),
            })
            .collect();
        rows.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        if query.descending {
            rows.reverse();
        }
        rows.into_iter()
            .take(query.limit)
            .map(|(_, _, o)| o.clone())
            .collect()
    }

    /// The live object an import reference names.
    fn resolve(&self, r: &ObjectRef) -> Option<&StoredObject> {
        match r {
            ObjectRef::Id(id) => self.get(None, *id, false),
            ObjectRef::UserPrincipalName(upn) => {
                let key = upn.to_lowercase();
                self.objects.values().find(|o| {
                    o.kind == ObjectKind::User
                        && is_live(o)
                        && unique_key(o.kind, &o.data).as_deref() == Some(key.as_str())
                })
            }
            ObjectRef::MailNickname(nick) => {
                let key = nick.to_lowercase();
                // The first by id, as the stores' `ORDER BY id LIMIT 1`.
                self.objects.values().find(|o| {
                    o.kind == ObjectKind::Group
                        && is_live(o)
                        && index_key(o, IndexSeek::MailNickname).as_deref() == Some(key.as_str())
                })
            }
        }
    }

    /// [`State::resolve`], remembered for the rest of the batch as the stores do.
    fn resolve_ref(
        &self,
        r: &ObjectRef,
        known: &mut HashMap<ObjectRef, (Uuid, ObjectKind)>,
    ) -> Option<(Uuid, ObjectKind)> {
        if let Some(found) = known.get(r) {
            return Some(*found);
        }
        let found = self.resolve(r).map(|o| (o.id, o.kind))?;
        known.insert(r.clone(), found);
        Some(found)
    }

    fn import_object(
        &mut self,
        object: ImportObject,
        manager: Option<Uuid>,
        at: &str,
    ) -> Result<ImportResult, StoreError> {
        let existing = match object.key() {
            Some(ObjectRef::Id(id)) => {
                if self.get(None, id, true).is_some() {
                    return Ok(ImportResult::Failed(import::in_deleted_items(id)));
                }
                self.get(None, id, false)
            }
            Some(key) => self.resolve(&key),
            None => None,
        };
        match existing.map(|o| (o.id, o.kind, o.data.clone())) {
            Some((id, kind, _)) if kind != object.kind => Ok(ImportResult::Failed(
                import::wrong_kind(id, kind, object.kind),
            )),
            Some((id, kind, current)) => {
                let Some(data) = schema::apply_changes(kind, &current, object.data) else {
                    return Ok(ImportResult::Unchanged(id));
                };
                self.write_data(id, data, at)?;
                Ok(ImportResult::Updated(id))
            }
            None => {
                let id = object.id.unwrap_or_else(super::new_object_id);
                self.insert_object(object.kind, id, object.data, manager, at)?;
                Ok(ImportResult::Created(id))
            }
        }
    }

    fn import_link(
        &mut self,
        link: &ImportReference,
        at: &str,
        known: &mut HashMap<ObjectRef, (Uuid, ObjectKind)>,
    ) -> LinkOutcome {
        let from = self.resolve_ref(&link.from, known);
        let to = self.resolve_ref(&link.to, known);
        let (Some((from, from_kind)), Some((to, to_kind))) = (from, to) else {
            return LinkOutcome::Unresolved;
        };
        if from == to {
            return LinkOutcome::Failed(DirectoryError::bad_request(
                "An object cannot reference itself.",
            ));
        }
        match link.kind {
            ReferenceKind::Manager => {
                if from_kind != ObjectKind::User || to_kind != ObjectKind::User {
                    return LinkOutcome::Failed(DirectoryError::bad_request(
                        "A manager links a user to a user.",
                    ));
                }
                self.update_manager(from, Some(to), at);
            }
            ReferenceKind::Member => {
                if from_kind != ObjectKind::Group || to_kind == ObjectKind::ServicePrincipal {
                    return LinkOutcome::Failed(DirectoryError::bad_request(
                        "Members are users or groups added to a group.",
                    ));
                }
                self.insert_member(
                    from,
                    MemberRef {
                        id: to,
                        kind: to_kind,
                    },
                    at,
                );
            }
        }
        LinkOutcome::Done
    }

    /// Writes an import batch as the stores do: objects first, in order (a new user whose
    /// only manager link names an existing user is created with it), then the links.
    fn import(
        &mut self,
        objects: Vec<ImportObject>,
        links: Vec<ImportReference>,
    ) -> Result<ImportReport, StoreError> {
        let at = now();
        let mut report = ImportReport::default();
        let mut known = HashMap::new();
        let manager_links = sole_manager_links(&links);
        let mut done = vec![false; links.len()];
        for object in objects {
            let link = object.key().and_then(|r| manager_links.get(&r).copied());
            let manager = match link {
                Some(i) => match self.resolve_ref(&links[i].to, &mut known) {
                    Some((m, ObjectKind::User)) => Some((i, m)),
                    _ => None,
                },
                None => None,
            };
            let result = self.import_object(object, manager.map(|(_, m)| m), &at);
            report.objects.push(match result {
                Ok(ImportResult::Created(id)) => {
                    if let Some((i, m)) = manager {
                        done[i] = m != id;
                    }
                    ImportResult::Created(id)
                }
                Ok(r) => r,
                Err(StoreError::Backend(e)) => return Err(StoreError::Backend(e)),
                Err(e) => ImportResult::Failed(e.into()),
            });
        }
        for (link, done) in links.into_iter().zip(done) {
            if done {
                continue;
            }
            match self.import_link(&link, &at, &mut known) {
                LinkOutcome::Done => {}
                LinkOutcome::Unresolved => report.unresolved.push(link),
                LinkOutcome::Failed(e) => report.failed_references.push((link, e)),
            }
        }
        Ok(report)
    }
}

/// The manager links of an import batch by the user they start from, for users the batch
/// names exactly one manager for (with several, the links must apply one after the other).
fn sole_manager_links(links: &[ImportReference]) -> HashMap<ObjectRef, usize> {
    let mut sole = HashMap::new();
    let mut several = std::collections::HashSet::new();
    for (i, link) in links.iter().enumerate() {
        if link.kind == ReferenceKind::Manager && sole.insert(link.from.clone(), i).is_some() {
            several.insert(link.from.clone());
        }
    }
    sole.retain(|from, _| !several.contains(from));
    sole
}

#[async_trait]
impl ObjectStore for MemoryDirectory {
    async fn create(
        &self,
        kind: ObjectKind,
        id: Uuid,
        data: Map<String, Value>,
        manager: Option<Uuid>,
        members: Vec<MemberRef>,
    ) -> Result<StoredObject, StoreError> {
        let mut state = self.lock();
        let at = now();
        state.insert_object(kind, id, data, manager, &at)?;
        for member in members {
            state.insert_member(id, member, &at);
        }
        state.live(Some(kind), id).cloned()
    }

    async fn get(
        &self,
        kind: ObjectKind,
        id: Uuid,
        deleted: bool,
    ) -> Result<Option<StoredObject>, StoreError> {
        Ok(self.lock().get(Some(kind), id, deleted).cloned())
    }

    async fn get_any(&self, id: Uuid) -> Result<Option<StoredObject>, StoreError> {
        Ok(self.lock().get(None, id, false).cloned())
    }

    async fn update(
        &self,
        kind: ObjectKind,
        id: Uuid,
        change: UpdateFn,
    ) -> Result<ObjectUpdate, StoreError> {
        let mut state = self.lock();
        let current = state.live(Some(kind), id)?.clone();
        match change(&current).map_err(StoreError::Rejected)? {
            None => Ok(ObjectUpdate {
                object: current,
                changed: false,
            }),
            Some(data) => Ok(ObjectUpdate {
                object: state.write_data(id, data, &now())?,
                changed: true,
            }),
        }
    }

    async fn delete(&self, kind: ObjectKind, id: Uuid) -> Result<(), StoreError> {
        let mut state = self.lock();
        state.live(Some(kind), id)?;
        let at = now();
        if kind.soft_deletes() {
            if let Some(object) = state.objects.get_mut(&id) {
                object.deleted = Some(at.clone());
                object.version += 1;
            }
            state.append(kind, id, ChangeOp::Deleted, None, &at);
        } else {
            state.purge_object(id, &at);
        }
        Ok(())
    }

    async fn restore(&self, id: Uuid) -> Result<StoredObject, StoreError> {
        let mut state = self.lock();
        let object = state
            .get(None, id, true)
            .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        let kind = object.kind;
        if state.unique_taken(kind, unique_key(kind, &object.data).as_deref(), id) {
            return Err(StoreError::Unique(unique_property(kind).to_string()));
        }
        let object = state
            .objects
            .get_mut(&id)
            .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        object.deleted = None;
        object.version += 1;
        let object = object.clone();
        state.append(kind, id, ChangeOp::Restored, None, &now());
        Ok(object)
    }

    async fn purge(&self, id: Uuid) -> Result<(), StoreError> {
        let mut state = self.lock();
        state
            .get(None, id, true)
            .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        state.purge_object(id, &now());
        Ok(())
    }

    async fn purge_deleted_before(&self, before: &str) -> Result<u64, StoreError> {
        let mut state = self.lock();
        let expired: Vec<Uuid> = state
            .objects
            .values()
            .filter(|o| o.deleted.as_deref().is_some_and(|d| d < before))
            .map(|o| o.id)
            .collect();
        let at = now();
        for id in &expired {
            state.purge_object(*id, &at);
        }
        Ok(expired.len() as u64)
    }

    async fn list(&self, query: &ListQuery) -> Result<Vec<StoredObject>, StoreError> {
        Ok(self.lock().list(query))
    }

    async fn list_raw(&self, query: &ListQuery) -> Result<Vec<RawObject>, StoreError> {
        let objects = self.lock().list(query);
        objects
            .into_iter()
            .map(|o| {
                Ok(RawObject {
                    id: o.id,
                    kind: o.kind,
                    data: serde_json::to_string(&o.data)
                        .map_err(|e| StoreError::Backend(e.to_string()))?,
                    created: o.created,
                    deleted: o.deleted,
                })
            })
            .collect()
    }

    async fn count(&self, kind: ObjectKind, deleted: bool) -> Result<u64, StoreError> {
        let state = self.lock();
        Ok(state
            .objects
            .values()
            .filter(|o| o.kind == kind && o.deleted.is_some() == deleted)
            .count() as u64)
    }

    async fn lookup(
        &self,
        kind: ObjectKind,
        key: IndexSeek,
        value: &str,
    ) -> Result<Option<Uuid>, StoreError> {
        let value = seek_value(key, value);
        let state = self.lock();
        Ok(state
            .objects
            .values()
            .find(|o| {
                o.kind == kind && is_live(o) && index_key(o, key).as_deref() == Some(value.as_str())
            })
            .map(|o| o.id))
    }
}

#[async_trait]
impl ReferenceStore for MemoryDirectory {
    async fn set_manager(&self, user: Uuid, manager: Option<Uuid>) -> Result<(), StoreError> {
        let mut state = self.lock();
        state.live(Some(ObjectKind::User), user)?;
        if let Some(m) = manager {
            state.live(Some(ObjectKind::User), m)?;
        }
        state.update_manager(user, manager, &now());
        Ok(())
    }

    async fn managers_of(&self, users: &[Uuid]) -> Result<Vec<(Uuid, Uuid)>, StoreError> {
        let state = self.lock();
        Ok(users
            .iter()
            .filter_map(|id| state.objects.get(id))
            .filter(|o| o.kind == ObjectKind::User && is_live(o))
            .filter_map(|o| Some((o.id, o.manager?)))
            .collect())
    }

    async fn direct_reports(
        &self,
        manager: Uuid,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<StoredObject>, StoreError> {
        let after = after_id(after);
        let state = self.lock();
        Ok(state
            .objects
            .values()
            .filter(|o| o.manager == Some(manager) && is_live(o) && o.id.to_string() > after)
            .take(limit)
            .cloned()
            .collect())
    }

    async fn add_member(&self, group: Uuid, member: MemberRef) -> Result<bool, StoreError> {
        let mut state = self.lock();
        state.live(Some(ObjectKind::Group), group)?;
        state.live(Some(member.kind), member.id)?;
        Ok(state.insert_member(group, member, &now()))
    }

    async fn remove_member(&self, group: Uuid, member: Uuid) -> Result<bool, StoreError> {
        let mut state = self.lock();
        let removed = state
            .members
            .get_mut(&group)
            .is_some_and(|members| members.remove(&member).is_some());
        if removed {
            state.append(
                ObjectKind::Group,
                group,
                ChangeOp::MemberRemoved,
                Some(member),
                &now(),
            );
        }
        Ok(removed)
    }

    async fn members(
        &self,
        group: Uuid,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<StoredObject>, StoreError> {
        let after = after_id(after);
        let state = self.lock();
        let Some(members) = state.members.get(&group) else {
            return Ok(Vec::new());
        };
        Ok(members
            .keys()
            .filter(|id| id.to_string() > after)
            .filter_map(|id| state.get(None, *id, false))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn member_refs(
        &self,
        group: Uuid,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<MemberRef>, StoreError> {
        Ok(self
            .members(group, after, limit)
            .await?
            .into_iter()
            .map(|o| MemberRef {
                id: o.id,
                kind: o.kind,
            })
            .collect())
    }

    async fn member_of(&self, member: Uuid) -> Result<Vec<StoredObject>, StoreError> {
        let state = self.lock();
        Ok(state
            .members
            .iter()
            .filter(|(_, members)| members.contains_key(&member))
            .filter_map(|(group, _)| state.get(None, *group, false))
            .cloned()
            .collect())
    }
}

#[async_trait]
impl AssignmentStore for MemoryDirectory {
    async fn add_assignment(&self, assignment: StoredAssignment) -> Result<(), StoreError> {
        let mut state = self.lock();
        state.live(Some(ObjectKind::ServicePrincipal), assignment.resource_id)?;
        state.live(Some(assignment.principal.kind), assignment.principal.id)?;
        if state.assignments.contains_key(&assignment.id) {
            return Err(StoreError::Backend(format!(
                "assignment {} exists already",
                assignment.id
            )));
        }
        let (resource, principal) = (assignment.resource_id, assignment.principal.id);
        state.assignments.insert(assignment.id, assignment);
        state.append(
            ObjectKind::ServicePrincipal,
            resource,
            ChangeOp::AssignmentAdded,
            Some(principal),
            &now(),
        );
        Ok(())
    }

    async fn remove_assignment(&self, id: Uuid) -> Result<StoredAssignment, StoreError> {
        let mut state = self.lock();
        let assignment = state
            .assignments
            .remove(&id)
            .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        state.append(
            ObjectKind::ServicePrincipal,
            assignment.resource_id,
            ChangeOp::AssignmentRemoved,
            Some(assignment.principal.id),
            &now(),
        );
        Ok(assignment)
    }

    async fn get_assignment(&self, id: Uuid) -> Result<Option<StoredAssignment>, StoreError> {
        Ok(self.lock().assignments.get(&id).cloned())
    }

    async fn assignments(
        &self,
        resource: Option<Uuid>,
        principal: Option<Uuid>,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<StoredAssignment>, StoreError> {
        let after = after_id(after);
        let state = self.lock();
        Ok(state
            .assignments
            .values()
            .filter(|a| resource.is_none_or(|r| a.resource_id == r))
            .filter(|a| principal.is_none_or(|p| a.principal.id == p))
            .filter(|a| a.id.to_string() > after)
            .take(limit)
            .cloned()
            .collect())
    }
}

#[async_trait]
impl ImportStore for MemoryDirectory {
    async fn import(
        &self,
        objects: Vec<ImportObject>,
        links: Vec<ImportReference>,
        dry_run: bool,
    ) -> Result<ImportReport, StoreError> {
        let mut state = self.lock();
        if dry_run {
            // The stores roll the transaction back: work on a copy and drop it.
            return state.clone().import(objects, links);
        }
        state.import(objects, links)
    }
}

#[async_trait]
impl ChangeLog for MemoryDirectory {
    async fn watermark(&self) -> Result<i64, StoreError> {
        Ok(self.lock().changes.last().map_or(0, |c| c.seq))
    }

    async fn changes_since(&self, watermark: i64, limit: usize) -> Result<Vec<Change>, StoreError> {
        let state = self.lock();
        let start = state.changes.partition_point(|c| c.seq <= watermark);
        Ok(state.changes[start..].iter().take(limit).cloned().collect())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::MemoryDirectory;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn conformance() {
        crate::conformance::run(Arc::new(MemoryDirectory::new())).await;
    }
}
