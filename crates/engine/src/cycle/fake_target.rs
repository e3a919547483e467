//! `MemoryTarget`: a SCIM application in memory, implementing the [`Target`] port faithfully
//! enough for whole cycles to run against it in unit tests.
//!
//! It assigns ids (`1`, `2`, … per process of one target, shared by users and groups),
//! answers matching queries with case-insensitive `eq` on any attribute path (`userName`,
//! `externalId`, `displayName`, `emails[type eq "work"].value`), applies PATCH through
//! `provisio-scim`'s PATCH module (as the built-in SCIM server does), answers 409 to a second
//! user with the same `userName` (in any letter case) and 404 to unknown ids. Every request
//! is logged (method, path, body) for tests to assert on, and failures can be injected: the
//! next N requests that match a predicate answer with a chosen status.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use provisio_scim::filter::Filter;
use provisio_scim::patch::{apply_patch, parse_patch_request, PATCH_OP_SCHEMA};
use provisio_scim::resource::normalize;
use provisio_scim::schema::ResourceType;
use serde_json::{json, Map, Value};

use crate::target::{
    eq_filter, ErrorClass, Page, PatchOp, PatchOperation, Target, TargetError, TargetKind,
    TargetObject,
};

/// One request as the target received it.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// `GET`, `POST`, `PATCH`, `DELETE`.
    pub method: &'static str,
    /// Relative to the base URL: `/Users/3`, `/Users?filter=userName eq "ann@x"`.
    pub path: String,
    /// The JSON body of a POST or PATCH.
    pub body: Option<Value>,
}

impl Request {
    /// Whether the request changes the target (POST, PATCH, DELETE).
    pub fn is_write(&self) -> bool {
        self.method != "GET"
    }
}

type Predicate = Box<dyn Fn(&Request) -> bool + Send>;

struct Failure {
    matches: Predicate,
    status: u16,
    remaining: usize,
}

#[derive(Default)]
struct State {
    next_id: u64,
    /// (kind, id) → the stored resource, in canonical form with `id` and `meta`.
    objects: BTreeMap<(Kind, String), Value>,
    /// Lower-cased userName → the user holding it.
    user_names: BTreeMap<String, String>,
    requests: Vec<Request>,
    failures: Vec<Failure>,
    /// How many times each call gives way to other futures before it acts, as a remote
    /// target's latency would (0: calls complete at once).
    yields: usize,
    /// Calls under way now, and the most seen at once.
    in_flight: usize,
    max_in_flight: usize,
}

/// A call under way: counted in `in_flight` until dropped.
struct Call<'a>(&'a MemoryTarget);

impl Drop for Call<'_> {
    fn drop(&mut self) {
        self.0.lock().in_flight -= 1;
    }
}

/// A future that is pending once (waking itself), so that other futures polled by the same
/// task (a `buffered` stream) run meanwhile.
struct YieldOnce(bool);

impl std::future::Future for YieldOnce {
    type Output = ();

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.0 {
            return std::task::Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}

/// `TargetKind` is not `Ord`; the store sorts users before groups, each by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    User,
    Group,
}

impl From<TargetKind> for Kind {
    fn from(kind: TargetKind) -> Self {
        match kind {
            TargetKind::User => Kind::User,
            TargetKind::Group => Kind::Group,
        }
    }
}

/// A SCIM application in memory. Cheap to clone; clones share the state.
#[derive(Clone, Default)]
pub struct MemoryTarget {
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for MemoryTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryTarget").finish_non_exhaustive()
    }
}

impl MemoryTarget {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every method checks before it writes, so a poisoned lock holds consistent state.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Stores an account as if it had been there before provisioning started, without
    /// logging a request; returns its id.
    pub fn seed(&self, kind: TargetKind, resource: Value) -> Result<String, TargetError> {
        let mut state = self.lock();
        state.insert(kind, &resource, "POST")
    }

    /// The stored resource, if any.
    pub fn object(&self, kind: TargetKind, id: &str) -> Option<Value> {
        self.lock()
            .objects
            .get(&(kind.into(), id.to_string()))
            .cloned()
    }

    /// Every stored resource of `kind`, by id.
    pub fn objects(&self, kind: TargetKind) -> Vec<Value> {
        let kind = Kind::from(kind);
        self.lock()
            .objects
            .iter()
            .filter(|((k, _), _)| *k == kind)
            .map(|(_, resource)| resource.clone())
            .collect()
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<Request> {
        self.lock().requests.clone()
    }

    /// The requests received so far that change the target.
    pub fn writes(&self) -> Vec<Request> {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.is_write())
            .cloned()
            .collect()
    }

    /// Makes every later call give way `yields` times before it acts, so that calls of a
    /// concurrent caller overlap as they would over a network.
    pub fn set_latency(&self, yields: usize) {
        self.lock().yields = yields;
    }

    /// The most calls that were under way at once.
    pub fn max_in_flight(&self) -> usize {
        self.lock().max_in_flight
    }

    /// Starts counting [`max_in_flight`](Self::max_in_flight) again.
    pub fn reset_max_in_flight(&self) {
        self.lock().max_in_flight = 0;
    }

    async fn call(&self) -> Call<'_> {
        let yields = {
            let mut state = self.lock();
            state.in_flight += 1;
            state.max_in_flight = state.max_in_flight.max(state.in_flight);
            state.yields
        };
        let call = Call(self);
        for _ in 0..yields {
            YieldOnce(false).await;
        }
        call
    }

    /// Forgets the request log (the objects stay).
    pub fn clear_requests(&self) {
        self.lock().requests.clear();
    }

    /// The next `count` requests that `matches` accepts answer `status` and change nothing.
    pub fn fail_next(
        &self,
        count: usize,
        status: u16,
        matches: impl Fn(&Request) -> bool + Send + 'static,
    ) {
        self.lock().failures.push(Failure {
            matches: Box::new(matches),
            status,
            remaining: count,
        });
    }

    /// Logs the request and answers an injected failure when one applies.
    fn receive(&self, state: &mut State, request: Request) -> Result<(), TargetError> {
        let failure = state
            .failures
            .iter_mut()
            .find(|f| f.remaining > 0 && (f.matches)(&request));
        let outcome = match failure {
            Some(failure) => {
                failure.remaining -= 1;
                Err(
                    TargetError::answered(request.method, &request.path, failure.status)
                        .with_detail("injected failure"),
                )
            }
            None => Ok(()),
        };
        state.requests.push(request);
        outcome
    }
}

fn resource_type(kind: TargetKind) -> ResourceType {
    match kind {
        TargetKind::User => ResourceType::user(Vec::new()),
        TargetKind::Group => ResourceType::group(Vec::new()),
    }
}

fn scim_error(
    method: &'static str,
    path: &str,
    error: provisio_scim::error::ScimError,
) -> TargetError {
    let mut out = TargetError::answered(method, path, error.status).with_detail(error.detail);
    out.scim_type = error.scim_type.map(|t| t.as_str().to_string());
    out
}

fn user_name(resource: &Map<String, Value>) -> Option<String> {
    resource
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case("userName"))
        .and_then(|(_, value)| value.as_str())
        .map(str::to_lowercase)
}

impl State {
    /// Normalises and stores a new resource, refusing a taken `userName`.
    fn insert(
        &mut self,
        kind: TargetKind,
        resource: &Value,
        method: &'static str,
    ) -> Result<String, TargetError> {
        let path = format!("/{}", kind.endpoint());
        let mut data =
            normalize(&resource_type(kind), resource).map_err(|e| scim_error(method, &path, e))?;
        self.check_unique(kind, None, &data, method, &path)?;
        self.next_id += 1;
        let id = self.next_id.to_string();
        data.insert("id".to_string(), Value::String(id.clone()));
        data.insert(
            "meta".to_string(),
            json!({ "resourceType": if kind == TargetKind::User { "User" } else { "Group" } }),
        );
        self.put(kind, &id, data);
        Ok(id)
    }

    /// Stores (or replaces) a resource and keeps the userName index in step.
    fn put(&mut self, kind: TargetKind, id: &str, data: Map<String, Value>) {
        self.remove(kind, id);
        if kind == TargetKind::User {
            if let Some(name) = user_name(&data) {
                self.user_names.insert(name, id.to_string());
            }
        }
        self.objects
            .insert((kind.into(), id.to_string()), Value::Object(data));
    }

    fn remove(&mut self, kind: TargetKind, id: &str) -> Option<Value> {
        let removed = self.objects.remove(&(kind.into(), id.to_string()))?;
        if let Some(name) = removed.as_object().and_then(user_name) {
            if self.user_names.get(&name).map(String::as_str) == Some(id) {
                self.user_names.remove(&name);
            }
        }
        Some(removed)
    }

    fn check_unique(
        &self,
        kind: TargetKind,
        id: Option<&str>,
        data: &Map<String, Value>,
        method: &'static str,
        path: &str,
    ) -> Result<(), TargetError> {
        if kind != TargetKind::User {
            return Ok(());
        }
        let Some(name) = user_name(data) else {
            return Ok(());
        };
        let taken = self
            .user_names
            .get(&name)
            .is_some_and(|holder| Some(holder.as_str()) != id);
        if taken {
            return Err(TargetError::answered(method, path, 409)
                .with_scim_type("uniqueness")
                .with_detail(format!("userName \"{name}\" is taken")));
        }
        Ok(())
    }
}

/// The PatchOp message an engine operation list becomes on the wire.
pub fn patch_body(ops: &[PatchOperation]) -> Value {
    let operations: Vec<Value> = ops
        .iter()
        .map(|op| {
            let mut out = Map::new();
            let verb = match op.op {
                PatchOp::Add => "add",
                PatchOp::Replace => "replace",
                PatchOp::Remove => "remove",
            };
            out.insert("op".to_string(), Value::from(verb));
            if let Some(path) = &op.path {
                out.insert("path".to_string(), Value::from(path.as_str()));
            }
            if let Some(value) = &op.value {
                out.insert("value".to_string(), value.clone());
            }
            Value::Object(out)
        })
        .collect();
    json!({ "schemas": [PATCH_OP_SCHEMA], "Operations": operations })
}

#[async_trait]
impl Target for MemoryTarget {
    async fn find(
        &self,
        kind: TargetKind,
        attribute: &str,
        value: &str,
    ) -> Result<Vec<TargetObject>, TargetError> {
        let _call = self.call().await;
        let filter_text = eq_filter(attribute, value);
        let path = format!("/{}?filter={filter_text}", kind.endpoint());
        let mut state = self.lock();
        self.receive(
            &mut state,
            Request {
                method: "GET",
                path: path.clone(),
                body: None,
            },
        )?;
        let filter = Filter::parse(&filter_text).map_err(|e| {
            TargetError::answered("GET", &path, 400)
                .with_scim_type("invalidFilter")
                .with_detail(e.to_string())
        })?;
        let wanted = Kind::from(kind);
        // The usual matching query answers from the index, as a real target would.
        if kind == TargetKind::User && attribute.eq_ignore_ascii_case("userName") {
            let holder = state.user_names.get(&value.to_lowercase());
            return Ok(holder
                .and_then(|id| {
                    let resource = state.objects.get(&(wanted, id.clone()))?;
                    Some(TargetObject {
                        id: id.clone(),
                        resource: resource.clone(),
                    })
                })
                .into_iter()
                .collect());
        }
        Ok(state
            .objects
            .iter()
            .filter(|((k, _), _)| *k == wanted)
            .filter(|(_, resource)| {
                filter.matches(resource, &provisio_scim::filter::CaseInsensitive)
            })
            .map(|((_, id), resource)| TargetObject {
                id: id.clone(),
                resource: resource.clone(),
            })
            .collect())
    }

    async fn get(&self, kind: TargetKind, id: &str) -> Result<Option<TargetObject>, TargetError> {
        let _call = self.call().await;
        let path = format!("/{}/{id}", kind.endpoint());
        let mut state = self.lock();
        self.receive(
            &mut state,
            Request {
                method: "GET",
                path,
                body: None,
            },
        )?;
        Ok(state
            .objects
            .get(&(kind.into(), id.to_string()))
            .map(|resource| TargetObject {
                id: id.to_string(),
                resource: resource.clone(),
            }))
    }

    async fn create(&self, kind: TargetKind, resource: Value) -> Result<TargetObject, TargetError> {
        let _call = self.call().await;
        let mut state = self.lock();
        self.receive(
            &mut state,
            Request {
                method: "POST",
                path: format!("/{}", kind.endpoint()),
                body: Some(resource.clone()),
            },
        )?;
        let id = state.insert(kind, &resource, "POST")?;
        let stored = state
            .objects
            .get(&(kind.into(), id.clone()))
            .cloned()
            .unwrap_or_default();
        Ok(TargetObject {
            id,
            resource: stored,
        })
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
        let _call = self.call().await;
        let path = format!("/{}/{id}", kind.endpoint());
        let body = patch_body(ops);
        let mut state = self.lock();
        self.receive(
            &mut state,
            Request {
                method: "PATCH",
                path: path.clone(),
                body: Some(body.clone()),
            },
        )?;
        let key = (Kind::from(kind), id.to_string());
        let Some(current) = state.objects.get(&key).and_then(Value::as_object) else {
            return Err(TargetError::answered("PATCH", &path, 404));
        };
        let rt = resource_type(kind);
        let parsed = parse_patch_request(&body).map_err(|e| scim_error("PATCH", &path, e))?;
        let mut patched =
            apply_patch(&rt, current, &parsed, &rt).map_err(|e| scim_error("PATCH", &path, e))?;
        state.check_unique(kind, Some(id), &patched, "PATCH", &path)?;
        for key in ["id", "meta"] {
            if let Some(value) = current.get(key).cloned() {
                patched.insert(key.to_string(), value);
            }
        }
        state.put(kind, id, patched.clone());
        Ok(Some(TargetObject {
            id: id.to_string(),
            resource: Value::Object(patched),
        }))
    }

    async fn delete(&self, kind: TargetKind, id: &str) -> Result<(), TargetError> {
        let _call = self.call().await;
        let path = format!("/{}/{id}", kind.endpoint());
        let mut state = self.lock();
        self.receive(
            &mut state,
            Request {
                method: "DELETE",
                path: path.clone(),
                body: None,
            },
        )?;
        match state.remove(kind, id) {
            Some(_) => {
                // A deleted account leaves the groups it was a member of.
                for ((k, _), group) in state.objects.iter_mut() {
                    if *k != Kind::Group {
                        continue;
                    }
                    if let Some(Value::Array(members)) = group.get_mut("members") {
                        members.retain(|m| m.get("value").and_then(Value::as_str) != Some(id));
                    }
                }
                Ok(())
            }
            None => Err(TargetError::answered("DELETE", &path, 404)),
        }
    }

    async fn list_page(
        &self,
        kind: TargetKind,
        start_index: u64,
        count: u64,
        _attributes: &[&str],
    ) -> Result<Page, TargetError> {
        let _call = self.call().await;
        let path = format!(
            "/{}?startIndex={start_index}&count={count}",
            kind.endpoint()
        );
        let mut state = self.lock();
        self.receive(
            &mut state,
            Request {
                method: "GET",
                path,
                body: None,
            },
        )?;
        let wanted = Kind::from(kind);
        let all: Vec<TargetObject> = state
            .objects
            .iter()
            .filter(|((k, _), _)| *k == wanted)
            .map(|((_, id), resource)| TargetObject {
                id: id.clone(),
                resource: resource.clone(),
            })
            .collect();
        let total = all.len() as u64;
        let skip = usize::try_from(start_index.saturating_sub(1)).unwrap_or(usize::MAX);
        let take = usize::try_from(count).unwrap_or(usize::MAX);
        Ok(Page {
            objects: all.into_iter().skip(skip).take(take).collect(),
            total,
        })
    }

    async fn probe(&self) -> Result<(), TargetError> {
        let found = self
            .find(
                TargetKind::User,
                "userName",
                "00000000-0000-0000-0000-000000000000",
            )
            .await?;
        if found.is_empty() {
            Ok(())
        } else {
            Err(TargetError::new(ErrorClass::Incompatible, "GET", "/Users")
                .with_detail("a query for a random userName found accounts"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str) -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": name,
            "externalId": name.split('@').next(),
            "active": true,
            "emails": [{"type": "work", "value": name, "primary": true}],
        })
    }

    #[tokio::test]
    async fn finds_by_eq_in_any_letter_case() {
        let target = MemoryTarget::new();
        let ann = target
            .create(TargetKind::User, user("ann@x"))
            .await
            .unwrap();
        target
            .create(TargetKind::User, user("bob@x"))
            .await
            .unwrap();
        let cases = [
            ("userName", "ANN@x", vec![ann.id.clone()]),
            ("externalId", "Ann", vec![ann.id.clone()]),
            (
                "emails[type eq \"work\"].value",
                "ann@X",
                vec![ann.id.clone()],
            ),
            ("emails.value", "ann@x", vec![ann.id.clone()]),
            ("userName", "carol@x", vec![]),
        ];
        for (attribute, value, expected) in cases {
            let found: Vec<String> = target
                .find(TargetKind::User, attribute, value)
                .await
                .unwrap()
                .into_iter()
                .map(|o| o.id)
                .collect();
            assert_eq!(found, expected, "{attribute} eq {value}");
        }
    }

    #[tokio::test]
    async fn refuses_duplicate_user_names_and_unknown_ids() {
        let target = MemoryTarget::new();
        target
            .create(TargetKind::User, user("ann@x"))
            .await
            .unwrap();
        let duplicate = target
            .create(TargetKind::User, user("ANN@x"))
            .await
            .unwrap_err();
        assert_eq!(duplicate.status, Some(409));
        assert_eq!(duplicate.class, ErrorClass::Conflict);
        let missing = target
            .patch(
                TargetKind::User,
                "99",
                &[PatchOperation::replace("active", json!(false))],
            )
            .await
            .unwrap_err();
        assert_eq!(missing.status, Some(404));
        assert_eq!(
            target
                .delete(TargetKind::User, "99")
                .await
                .unwrap_err()
                .status,
            Some(404)
        );
        assert_eq!(target.get(TargetKind::User, "99").await.unwrap(), None);
    }

    #[tokio::test]
    async fn applies_patches_and_member_deltas() {
        let target = MemoryTarget::new();
        let ann = target
            .create(TargetKind::User, user("ann@x"))
            .await
            .unwrap();
        let bob = target
            .create(TargetKind::User, user("bob@x"))
            .await
            .unwrap();
        target
            .patch(
                TargetKind::User,
                &ann.id,
                &[
                    PatchOperation::replace("active", json!(false)),
                    PatchOperation::replace(
                        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
                        json!({"value": bob.id}),
                    ),
                ],
            )
            .await
            .unwrap();
        let stored = target.object(TargetKind::User, &ann.id).unwrap();
        assert_eq!(stored["active"], json!(false));
        assert_eq!(
            stored["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"]
                ["value"],
            json!(bob.id)
        );

        let group = target
            .create(
                TargetKind::Group,
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "G"}),
            )
            .await
            .unwrap();
        let members = |target: &MemoryTarget| -> Vec<String> {
            let g = target.object(TargetKind::Group, &group.id).unwrap();
            g.get("members")
                .and_then(Value::as_array)
                .map(|m| {
                    m.iter()
                        .filter_map(|m| m["value"].as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        let add = PatchOperation::add_members([ann.id.clone(), bob.id.clone()]);
        target
            .patch(TargetKind::Group, &group.id, &[add])
            .await
            .unwrap();
        assert_eq!(members(&target), vec![ann.id.clone(), bob.id.clone()]);
        let remove = PatchOperation::remove_members([ann.id.clone()]);
        target
            .patch(TargetKind::Group, &group.id, &[remove])
            .await
            .unwrap();
        assert_eq!(members(&target), vec![bob.id.clone()]);
    }

    #[tokio::test]
    async fn logs_requests_and_fails_on_demand() {
        let target = MemoryTarget::new();
        target.fail_next(2, 503, |r| r.method == "POST");
        for _ in 0..2 {
            let error = target
                .create(TargetKind::User, user("ann@x"))
                .await
                .unwrap_err();
            assert_eq!(error.status, Some(503));
            assert!(error.class.is_transient());
        }
        let ann = target
            .create(TargetKind::User, user("ann@x"))
            .await
            .unwrap();
        target.delete(TargetKind::User, &ann.id).await.unwrap();
        let log: Vec<(String, String)> = target
            .requests()
            .into_iter()
            .map(|r| (r.method.to_string(), r.path))
            .collect();
        let expected: Vec<(String, String)> = [
            ("POST", "/Users"),
            ("POST", "/Users"),
            ("POST", "/Users"),
            ("DELETE", "/Users/1"),
        ]
        .into_iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
        assert_eq!(log, expected);
        assert!(target.objects(TargetKind::User).is_empty());
    }
}
