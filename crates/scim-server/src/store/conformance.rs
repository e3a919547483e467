//! Backend-independent conformance suite: what a user of [`ResourceStore`]
//! observes. Every check runs in tenants of its own (random names), so the
//! suite can run repeatedly against the same database.

use async_trait::async_trait;
use provisio_scim::error::ScimError;
use serde_json::{json, Value};

use super::{
    IndexedAttr, IndexedFilter, MemberChange, PostgresStore, ReadOptions, ResourceKind,
    ResourceStore, SqliteStore, StoreError, StoredResource, UpdateError, UpdateFn, UpdateOutcome,
};

use IndexedAttr::*;
use ResourceKind::*;

/// What the suite needs beyond [`ResourceStore`]: creating a resource under
/// a chosen id, so that a group can list a member before it exists.
#[async_trait]
pub trait ConformanceStore: ResourceStore {
    /// Like [`ResourceStore::create`], under `id` instead of a fresh uuid.
    async fn create_with_id(
        &self,
        tenant: &str,
        kind: ResourceKind,
        id: &str,
        data: Value,
    ) -> Result<StoredResource, StoreError>;
}

#[async_trait]
impl ConformanceStore for SqliteStore {
    async fn create_with_id(
        &self,
        tenant: &str,
        kind: ResourceKind,
        id: &str,
        data: Value,
    ) -> Result<StoredResource, StoreError> {
        self.insert(tenant, kind, id.to_string(), data, ReadOptions::NONE)
            .await
    }
}

#[async_trait]
impl ConformanceStore for PostgresStore {
    async fn create_with_id(
        &self,
        tenant: &str,
        kind: ResourceKind,
        id: &str,
        data: Value,
    ) -> Result<StoredResource, StoreError> {
        self.insert(tenant, kind, id.to_string(), data, ReadOptions::NONE)
            .await
    }
}

/// Runs every check against `store`. Panics on the first failure.
pub async fn conformance_suite<S: ConformanceStore>(store: &S) {
    let dyn_store: &dyn ResourceStore = store;
    crud(dyn_store).await;
    preconditions(dyn_store).await;
    concurrent_conditional_writes(dyn_store).await;
    create_with_attaches_references(dyn_store).await;
    updates(dyn_store).await;
    update_results_carry_references(dyn_store).await;
    concurrent_updates_all_land(dyn_store).await;
    user_name_uniqueness(dyn_store).await;
    indexed_filters(dyn_store).await;
    paging(dyn_store).await;
    scan_keyset(dyn_store).await;
    members(dyn_store).await;
    dangling_members(dyn_store).await;
    member_created_later(store).await;
    member_patches(store).await;
    deletion_cascades(dyn_store).await;
    tenant_isolation(dyn_store).await;
    failed_writes_leave_nothing(dyn_store).await;
}

fn tenant(name: &str) -> String {
    format!("{name}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
}

fn eq(attr: IndexedAttr, v: &str) -> IndexedFilter {
    IndexedFilter::Eq(attr, v.to_string())
}

fn user(name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": name,
        "active": true,
    })
}

fn group(name: &str, members: &[&str]) -> Value {
    let members: Vec<Value> = members.iter().map(|m| json!({ "value": m })).collect();
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": name,
        "members": members,
    })
}

/// Groups with members given as (value, type) pairs.
fn typed_group(name: &str, members: &[(&str, &str)]) -> Value {
    let members: Vec<Value> = members
        .iter()
        .map(|(v, t)| json!({ "value": v, "type": t }))
        .collect();
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": name,
        "members": members,
    })
}

fn ids(page: &[StoredResource]) -> Vec<String> {
    page.iter().map(|r| r.id.clone()).collect()
}

fn assert_timestamp(ts: &str) {
    let ok = ts.len() == 24
        && ts.ends_with('Z')
        && ts.as_bytes()[10] == b'T'
        && ts.as_bytes()[19] == b'.'
        && time::OffsetDateTime::parse(ts, &time::format_description::well_known::Rfc3339).is_ok();
    assert!(ok, "not RFC 3339 UTC with milliseconds: {ts}");
}

async fn get(store: &dyn ResourceStore, t: &str, kind: ResourceKind, id: &str) -> StoredResource {
    store
        .get(t, kind, id, ReadOptions::ALL)
        .await
        .unwrap_or_else(|e| panic!("get {kind:?} {id} in {t}: {e}"))
}

async fn list_all(
    store: &dyn ResourceStore,
    t: &str,
    kind: ResourceKind,
    filter: Option<&IndexedFilter>,
) -> Vec<String> {
    let (total, page) = store
        .list(t, kind, filter, 0, 1000, ReadOptions::NONE)
        .await
        .unwrap_or_else(|e| panic!("list {filter:?}: {e}"));
    assert_eq!(total as usize, page.len(), "total vs page for {filter:?}");
    ids(&page)
}

/// Create, get, replace, delete; versions and timestamps; stripping of
/// id/meta/groups.
pub async fn crud(store: &dyn ResourceStore) {
    let t = tenant("crud");
    let mut data = user("Alice");
    data["id"] = json!("client-chosen");
    data["meta"] = json!({"version": "W/\"9\""});
    data["groups"] = json!([{"value": "x"}]);
    data["name"] = json!({"givenName": "Alice", "familyName": "Liddell"});
    let created = store.create(&t, User, data).await.expect("create");
    assert_eq!(created.kind, User);
    assert_eq!(created.version, 1);
    assert_ne!(created.id, "client-chosen");
    assert!(uuid::Uuid::parse_str(&created.id).is_ok(), "id is a uuid");
    assert_timestamp(&created.created);
    assert_eq!(created.created, created.last_modified);
    for key in ["id", "meta", "groups"] {
        assert!(created.data.get(key).is_none(), "{key} is not stored");
    }
    assert_eq!(created.data["userName"], "Alice");
    let keys: Vec<&String> = created.data.as_object().expect("object").keys().collect();
    assert_eq!(
        keys,
        ["schemas", "userName", "active", "name"],
        "attribute order kept"
    );

    let got = get(store, &t, User, &created.id).await;
    assert_eq!(got.data, created.data);
    assert_eq!(got.version, 1);
    assert_eq!(got.seq, created.seq);
    assert_eq!(got.created, created.created);

    // Wrong kind or unknown id: not found.
    assert!(matches!(
        store.get(&t, Group, &created.id, ReadOptions::ALL).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.get(&t, User, "no-such-id", ReadOptions::ALL).await,
        Err(StoreError::NotFound)
    ));

    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let mut data = user("alice2");
    data["displayName"] = json!("Alice L.");
    let replaced = store
        .replace(&t, User, &created.id, data, None)
        .await
        .expect("replace");
    assert_eq!(replaced.version, 2);
    assert_eq!(replaced.created, created.created);
    assert_eq!(replaced.seq, created.seq);
    assert_timestamp(&replaced.last_modified);
    assert!(replaced.last_modified > created.last_modified);
    let got = get(store, &t, User, &created.id).await;
    assert_eq!(got.version, 2);
    assert_eq!(got.data["userName"], "alice2");
    assert!(got.data.get("name").is_none(), "replace is whole");
    assert_eq!(got.last_modified, replaced.last_modified);

    assert!(matches!(
        store.replace(&t, User, "no-such-id", user("x"), None).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .replace(&t, Group, &created.id, group("x", &[]), None)
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.delete(&t, Group, &created.id, None).await,
        Err(StoreError::NotFound)
    ));
    store
        .delete(&t, User, &created.id, None)
        .await
        .expect("delete");
    assert!(matches!(
        store.get(&t, User, &created.id, ReadOptions::ALL).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.delete(&t, User, &created.id, None).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.count(&t, User).await.expect("count"), 0);

    // Groups keep displayName and an empty/absent members list is fine.
    let g = store
        .create(&t, Group, group("Admins", &[]))
        .await
        .expect("group");
    let got = get(store, &t, Group, &g.id).await;
    assert_eq!(got.data["displayName"], "Admins");
    assert!(
        got.data.get("members").is_none(),
        "no members key when empty"
    );

    // Non-object data is refused.
    assert!(store.create(&t, User, json!([1, 2])).await.is_err());
}

/// expected_version on replace and delete.
pub async fn preconditions(store: &dyn ResourceStore) {
    let t = tenant("pre");
    let u = store.create(&t, User, user("bob")).await.expect("create");
    let r = store
        .replace(&t, User, &u.id, user("bob"), Some(1))
        .await
        .expect("replace v1");
    assert_eq!(r.version, 2);
    match store.replace(&t, User, &u.id, user("bobby"), Some(1)).await {
        Err(StoreError::PreconditionFailed { current_version: 2 }) => {}
        other => panic!("stale replace: {other:?}"),
    }
    assert_eq!(get(store, &t, User, &u.id).await.data["userName"], "bob");
    match store.delete(&t, User, &u.id, Some(1)).await {
        Err(StoreError::PreconditionFailed { current_version: 2 }) => {}
        other => panic!("stale delete: {other:?}"),
    }
    assert_eq!(get(store, &t, User, &u.id).await.version, 2, "still there");
    assert!(matches!(
        store.replace(&t, User, "missing", user("x"), Some(1)).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.delete(&t, User, "missing", Some(1)).await,
        Err(StoreError::NotFound)
    ));
    store
        .replace(&t, User, &u.id, user("bob"), Some(2))
        .await
        .expect("replace v2");
    store
        .delete(&t, User, &u.id, Some(3))
        .await
        .expect("delete v3");
    assert!(matches!(
        store.get(&t, User, &u.id, ReadOptions::NONE).await,
        Err(StoreError::NotFound)
    ));
}

/// Of several replaces conditioned on the same version exactly one wins.
pub async fn concurrent_conditional_writes(store: &dyn ResourceStore) {
    let t = tenant("race");
    let u = store.create(&t, User, user("racer")).await.expect("create");
    let attempts = (0..8).map(|i| {
        let mut d = user("racer");
        d["nickName"] = json!(format!("n{i}"));
        store.replace(&t, User, &u.id, d, Some(1))
    });
    let results = futures::future::join_all(attempts).await;
    let won = results.iter().filter(|r| r.is_ok()).count();
    let lost = results
        .iter()
        .filter(|r| {
            matches!(
                r,
                Err(StoreError::PreconditionFailed { current_version: 2 })
            )
        })
        .count();
    assert_eq!((won, lost), (1, 7), "{results:?}");
    assert_eq!(get(store, &t, User, &u.id).await.version, 2);
}

/// userName is unique per tenant, case-insensitively, on create and replace.
pub async fn user_name_uniqueness(store: &dyn ResourceStore) {
    let t = tenant("uniq");
    let alice = store.create(&t, User, user("Alice")).await.expect("alice");
    for dup in ["Alice", "alice", "ALICE"] {
        match store.create(&t, User, user(dup)).await {
            Err(StoreError::Uniqueness(attr)) => assert_eq!(attr, "userName"),
            other => panic!("duplicate {dup}: {other:?}"),
        }
    }
    assert_eq!(store.count(&t, User).await.expect("count"), 1);
    // Another tenant may use it; a group named like it does not clash.
    store
        .create(&tenant("uniq-other"), User, user("alice"))
        .await
        .expect("other tenant");
    store
        .create(&t, Group, group("alice", &[]))
        .await
        .expect("group");

    let bob = store.create(&t, User, user("bob")).await.expect("bob");
    match store.replace(&t, User, &bob.id, user("ALICE"), None).await {
        Err(StoreError::Uniqueness(attr)) => assert_eq!(attr, "userName"),
        other => panic!("replace onto taken userName: {other:?}"),
    }
    let still = get(store, &t, User, &bob.id).await;
    assert_eq!(
        (still.version, still.data["userName"].clone()),
        (1, json!("bob"))
    );
    // Renaming to itself in another case is fine.
    let r = store
        .replace(&t, User, &alice.id, user("aLiCe"), Some(1))
        .await
        .expect("same name other case");
    assert_eq!(r.data["userName"], "aLiCe");
    // Freed by delete.
    store
        .delete(&t, User, &alice.id, None)
        .await
        .expect("delete");
    store
        .create(&t, User, user("ALICE"))
        .await
        .expect("re-create");
}

/// Every IndexedAttr, case rules, And/Or, kind scoping.
pub async fn indexed_filters(store: &dyn ResourceStore) {
    let t = tenant("filter");
    let mut a = user("Ann");
    a["externalId"] = json!("EXT-1");
    a["displayName"] = json!("Ann Smith");
    a["emails"] = json!([{"value": "Ann@Example.com", "type": "work"}, {"value": "ann@home.org"}]);
    let a = store.create(&t, User, a).await.expect("ann");
    let mut b = user("Ben");
    b["externalId"] = json!("ext-1");
    b["displayName"] = json!("Ben Smith");
    b["emails"] = json!([{"value": "shared@example.com"}, {"value": "SHARED@example.com"}]);
    let b = store.create(&t, User, b).await.expect("ben");
    let mut c = user("Cid");
    c["displayName"] = json!("ann smith");
    c["emails"] = json!([{"value": "shared@EXAMPLE.com"}]);
    let c = store.create(&t, User, c).await.expect("cid");
    let g = store
        .create(&t, Group, group("Ann Smith", &[]))
        .await
        .expect("group");

    let cases: Vec<(IndexedFilter, Vec<&String>)> = vec![
        (eq(Id, &a.id), vec![&a.id]),
        (eq(Id, &a.id.to_uppercase()), vec![]),
        (eq(Id, &g.id), vec![]),
        (eq(UserName, "ann"), vec![&a.id]),
        (eq(UserName, "BEN"), vec![&b.id]),
        (eq(UserName, "nobody"), vec![]),
        (eq(ExternalId, "EXT-1"), vec![&a.id]),
        (eq(ExternalId, "ext-1"), vec![&b.id]),
        (eq(ExternalId, "Ext-1"), vec![]),
        (eq(DisplayName, "ANN SMITH"), vec![&a.id, &c.id]),
        (eq(DisplayName, "ben smith"), vec![&b.id]),
        (eq(EmailValue, "ann@example.COM"), vec![&a.id]),
        (eq(EmailValue, "ANN@HOME.ORG"), vec![&a.id]),
        (eq(EmailValue, "shared@example.com"), vec![&b.id, &c.id]),
        (
            IndexedFilter::And(vec![eq(DisplayName, "ann smith"), eq(UserName, "cid")]),
            vec![&c.id],
        ),
        (
            IndexedFilter::And(vec![
                eq(EmailValue, "shared@example.com"),
                eq(ExternalId, "ext-1"),
            ]),
            vec![&b.id],
        ),
        (
            IndexedFilter::Or(vec![
                eq(UserName, "ann"),
                eq(EmailValue, "shared@example.com"),
            ]),
            vec![&a.id, &b.id, &c.id],
        ),
        (
            IndexedFilter::Or(vec![eq(UserName, "ann"), eq(UserName, "ANN")]),
            vec![&a.id],
        ),
        (
            IndexedFilter::And(vec![
                IndexedFilter::Or(vec![eq(UserName, "ann"), eq(UserName, "ben")]),
                IndexedFilter::Or(vec![eq(ExternalId, "ext-1"), eq(Id, &c.id)]),
            ]),
            vec![&b.id],
        ),
        (IndexedFilter::And(vec![]), vec![&a.id, &b.id, &c.id]),
        (IndexedFilter::Or(vec![]), vec![]),
    ];
    for (filter, want) in cases {
        let got = list_all(store, &t, User, Some(&filter)).await;
        let want: Vec<String> = want.into_iter().cloned().collect();
        assert_eq!(got, want, "users matching {filter:?}");
        let scanned = store
            .scan(&t, User, Some(&filter), 0, 100, ReadOptions::NONE)
            .await
            .expect("scan");
        assert_eq!(ids(&scanned), want, "scan of {filter:?}");
    }
    assert_eq!(
        list_all(store, &t, Group, Some(&eq(DisplayName, "ann SMITH"))).await,
        vec![g.id.clone()]
    );
    assert_eq!(
        list_all(store, &t, Group, Some(&eq(UserName, "ann"))).await,
        Vec::<String>::new()
    );

    // Index columns follow replace.
    let mut a2 = user("Anna");
    a2["emails"] = json!([{"value": "anna@example.com"}]);
    store
        .replace(&t, User, &a.id, a2, None)
        .await
        .expect("replace");
    assert!(list_all(store, &t, User, Some(&eq(UserName, "ann")))
        .await
        .is_empty());
    assert!(list_all(store, &t, User, Some(&eq(ExternalId, "EXT-1")))
        .await
        .is_empty());
    assert!(
        list_all(store, &t, User, Some(&eq(EmailValue, "ann@home.org")))
            .await
            .is_empty()
    );
    assert_eq!(
        list_all(store, &t, User, Some(&eq(EmailValue, "ANNA@example.com"))).await,
        vec![a.id.clone()]
    );
    assert_eq!(
        list_all(store, &t, User, Some(&eq(DisplayName, "ann smith"))).await,
        vec![c.id.clone()]
    );
}

/// offset/limit/total, seq order, count.
pub async fn paging(store: &dyn ResourceStore) {
    let t = tenant("page");
    let mut made = Vec::new();
    for i in 0..7 {
        let mut d = user(&format!("user{i}"));
        d["displayName"] = json!(if i % 2 == 0 { "Even" } else { "Odd" });
        made.push(store.create(&t, User, d).await.expect("create"));
    }
    store
        .create(&t, Group, group("g", &[]))
        .await
        .expect("group");
    let all: Vec<String> = ids(&made);
    let seqs: Vec<i64> = made.iter().map(|r| r.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "seq grows: {seqs:?}");
    assert_eq!(store.count(&t, User).await.expect("count"), 7);
    assert_eq!(store.count(&t, Group).await.expect("count"), 1);
    assert_eq!(store.count(&tenant("empty"), User).await.expect("count"), 0);

    let o = ReadOptions::NONE;
    let (total, page) = store.list(&t, User, None, 0, 3, o).await.expect("p1");
    assert_eq!((total, ids(&page)), (7, all[0..3].to_vec()));
    let (total, page) = store.list(&t, User, None, 3, 3, o).await.expect("p2");
    assert_eq!((total, ids(&page)), (7, all[3..6].to_vec()));
    let (total, page) = store.list(&t, User, None, 6, 3, o).await.expect("p3");
    assert_eq!((total, ids(&page)), (7, all[6..].to_vec()));
    let (total, page) = store
        .list(&t, User, None, 10, 3, o)
        .await
        .expect("past end");
    assert_eq!((total, page.len()), (7, 0));
    let (total, page) = store
        .list(&t, User, None, 0, 0, o)
        .await
        .expect("count only");
    assert_eq!((total, page.len()), (7, 0));
    let (total, page) = store
        .list(&t, User, None, 0, u64::MAX, o)
        .await
        .expect("huge limit");
    assert_eq!((total, ids(&page)), (7, all.clone()));

    let even = eq(DisplayName, "even");
    let (total, page) = store
        .list(&t, User, Some(&even), 1, 2, o)
        .await
        .expect("filtered");
    assert_eq!(total, 4);
    assert_eq!(ids(&page), vec![all[2].clone(), all[4].clone()]);
    let (total, page) = store
        .list(&t, User, Some(&even), 10, 2, o)
        .await
        .expect("filtered past end");
    assert_eq!((total, page.len()), (4, 0));
    let (total, page) = store
        .list(&t, User, Some(&even), 0, 0, o)
        .await
        .expect("filtered count only");
    assert_eq!((total, page.len()), (4, 0));

    // Deleting keeps the order of the rest.
    store.delete(&t, User, &all[1], None).await.expect("delete");
    let (total, page) = store
        .list(&t, User, None, 0, 3, o)
        .await
        .expect("after delete");
    assert_eq!(
        (total, ids(&page)),
        (6, vec![all[0].clone(), all[2].clone(), all[3].clone()])
    );
}

/// Keyset scan: chunks concatenate to the full list in seq order.
pub async fn scan_keyset(store: &dyn ResourceStore) {
    let t = tenant("scan");
    let mut all = Vec::new();
    for i in 0..9 {
        let mut d = user(&format!("s{i}"));
        d["externalId"] = json!(if i % 3 == 0 { "three" } else { "other" });
        all.push(store.create(&t, User, d).await.expect("create"));
    }
    let mut after = 0;
    let mut seen = Vec::new();
    loop {
        let chunk = store
            .scan(&t, User, None, after, 2, ReadOptions::NONE)
            .await
            .expect("scan");
        assert!(chunk.len() <= 2);
        let Some(last) = chunk.last() else { break };
        after = last.seq;
        seen.extend(ids(&chunk));
    }
    assert_eq!(seen, ids(&all));
    let three = eq(ExternalId, "three");
    let chunk = store
        .scan(&t, User, Some(&three), all[0].seq, 10, ReadOptions::NONE)
        .await
        .expect("scan filtered");
    assert_eq!(ids(&chunk), vec![all[3].id.clone(), all[6].id.clone()]);
    let none = store
        .scan(&t, User, None, all[8].seq, 10, ReadOptions::NONE)
        .await
        .expect("scan past end");
    assert!(none.is_empty());
    let zero = store
        .scan(&t, User, None, 0, 0, ReadOptions::NONE)
        .await
        .expect("limit 0");
    assert!(zero.is_empty());
    // A resource written after the cursor shows up on the next call.
    let late = store.create(&t, User, user("late")).await.expect("late");
    let next = store
        .scan(&t, User, None, all[8].seq, 10, ReadOptions::NONE)
        .await
        .expect("scan");
    assert_eq!(ids(&next), vec![late.id]);
}

/// Members: de-duplication, display, type, groups on users.
pub async fn members(store: &dyn ResourceStore) {
    let t = tenant("members");
    let mut u1 = user("u1");
    u1["displayName"] = json!("User One");
    let u1 = store.create(&t, User, u1).await.expect("u1");
    let u2 = store.create(&t, User, user("u2")).await.expect("u2");
    let inner = store
        .create(&t, Group, group("Inner", &[&u2.id]))
        .await
        .expect("inner");
    let mut data = group("Outer", &[&u1.id, &u2.id, &u1.id, &inner.id]);
    data["members"][0]["type"] = json!("User");
    let outer = store.create(&t, Group, data).await.expect("outer");
    assert!(
        outer.data.get("members").is_none(),
        "members are not in stored JSON"
    );

    let plain = store
        .get(&t, Group, &outer.id, ReadOptions::NONE)
        .await
        .expect("get");
    assert!(plain.data.get("members").is_none());
    let full = get(store, &t, Group, &outer.id).await;
    let members = full.data["members"].as_array().expect("members").clone();
    assert_eq!(members.len(), 3, "duplicates collapsed: {members:?}");
    let find = |id: &str| {
        members
            .iter()
            .find(|m| m["value"] == id)
            .unwrap_or_else(|| panic!("member {id} in {members:?}"))
            .clone()
    };
    assert_eq!(
        find(&u1.id),
        json!({"value": u1.id, "display": "User One", "type": "User"})
    );
    assert_eq!(
        find(&u2.id),
        json!({"value": u2.id, "display": "u2", "type": "User"})
    );
    assert_eq!(
        find(&inner.id),
        json!({"value": inner.id, "display": "Inner", "type": "Group"})
    );

    // groups on users: direct memberships only.
    let u2_full = get(store, &t, User, &u2.id).await;
    let mut groups = u2_full.data["groups"].as_array().expect("groups").clone();
    groups.sort_by_key(|g| g["display"].as_str().map(str::to_string));
    assert_eq!(
        groups,
        vec![
            json!({"value": inner.id, "display": "Inner", "type": "direct"}),
            json!({"value": outer.id, "display": "Outer", "type": "direct"}),
        ]
    );
    let u1_groups = get(store, &t, User, &u1.id).await.data["groups"].clone();
    assert_eq!(
        u1_groups,
        json!([{"value": outer.id, "display": "Outer", "type": "direct"}])
    );
    let lonely = store
        .create(&t, User, user("lonely"))
        .await
        .expect("lonely");
    assert!(get(store, &t, User, &lonely.id)
        .await
        .data
        .get("groups")
        .is_none());
    let no_opts = store
        .get(&t, User, &u1.id, ReadOptions::NONE)
        .await
        .expect("get");
    assert!(no_opts.data.get("groups").is_none());

    // Display follows renames of the member and of the group.
    let mut renamed = user("u1");
    renamed["displayName"] = json!("Renamed One");
    store
        .replace(&t, User, &u1.id, renamed, None)
        .await
        .expect("rename");
    let mut inner_renamed = group("Inner Circle", &[&u2.id]);
    inner_renamed["externalId"] = json!("ic");
    store
        .replace(&t, Group, &inner.id, inner_renamed, None)
        .await
        .expect("rename group");
    let full = get(store, &t, Group, &outer.id).await;
    let displays: Vec<&str> = full.data["members"]
        .as_array()
        .expect("members")
        .iter()
        .filter_map(|m| m["display"].as_str())
        .collect();
    assert!(displays.contains(&"Renamed One"), "{displays:?}");
    assert!(displays.contains(&"Inner Circle"), "{displays:?}");
    // Renaming a user does not touch its memberships.
    assert!(get(store, &t, User, &u1.id)
        .await
        .data
        .get("groups")
        .is_some());

    // Replace sets the whole member list; no members key clears it.
    let r = store
        .replace(&t, Group, &outer.id, group("Outer", &[&u2.id]), None)
        .await
        .expect("replace members");
    assert!(r.data.get("members").is_none());
    let full = get(store, &t, Group, &outer.id).await;
    assert_eq!(
        full.data["members"],
        json!([{"value": u2.id, "display": "u2", "type": "User"}])
    );
    assert!(get(store, &t, User, &u1.id)
        .await
        .data
        .get("groups")
        .is_none());
    let mut no_members = group("Outer", &[]);
    no_members
        .as_object_mut()
        .expect("object")
        .remove("members");
    store
        .replace(&t, Group, &outer.id, no_members, None)
        .await
        .expect("clear");
    assert!(get(store, &t, Group, &outer.id)
        .await
        .data
        .get("members")
        .is_none());

    // list and scan attach too.
    let (_, page) = store
        .list(
            &t,
            Group,
            Some(&eq(ExternalId, "ic")),
            0,
            10,
            ReadOptions::ALL,
        )
        .await
        .expect("list");
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].data["members"][0]["value"], json!(u2.id));
    let users = store
        .scan(&t, User, None, 0, 10, ReadOptions::ALL)
        .await
        .expect("scan");
    let with_groups: Vec<&str> = users
        .iter()
        .filter(|u| u.data.get("groups").is_some())
        .filter_map(|u| u.data["userName"].as_str())
        .collect();
    assert_eq!(with_groups, vec!["u2"]);
}

/// Members that do not exist (unknown ids, ids of another tenant) are
/// accepted and listed with their type and without display; only an entry
/// without a string value fails the write, and then nothing is written.
pub async fn dangling_members(store: &dyn ResourceStore) {
    let t = tenant("dangling");
    let other = tenant("dangling-other");
    let u = store.create(&t, User, user("real")).await.expect("user");
    let foreign = store
        .create(&other, User, user("foreign"))
        .await
        .expect("foreign");

    let mut data = typed_group(
        "Mixed",
        &[
            (&u.id, "Group"),
            ("ghost", "group"),
            ("phantom", "Robot"),
            (&foreign.id, "User"),
        ],
    );
    data["members"]
        .as_array_mut()
        .expect("members")
        .push(json!({"value": "untyped"}));
    data["members"]
        .as_array_mut()
        .expect("members")
        .push(json!({"value": "ghost", "type": "User"}));
    let g = store
        .create(&t, Group, data)
        .await
        .expect("dangling accepted");
    assert!(g.data.get("members").is_none());
    let full = get(store, &t, Group, &g.id).await;
    let members = full.data["members"].as_array().expect("members").clone();
    assert_eq!(members.len(), 5, "duplicates collapsed: {members:?}");
    // The existing member first (in resource order), then the others by id.
    assert_eq!(
        members[0],
        json!({"value": u.id, "display": "real", "type": "User"}),
        "an existing member's kind wins over the client's type"
    );
    let find = |id: &str| {
        members
            .iter()
            .find(|m| m["value"] == id)
            .unwrap_or_else(|| panic!("member {id} in {members:?}"))
            .clone()
    };
    // An id that is no resource of the tenant (yet) gets no type: the server does not
    // assert what the client claimed.
    assert_eq!(
        find("ghost"),
        json!({"value": "ghost"}),
        "duplicates collapsed"
    );
    assert_eq!(find("phantom"), json!({"value": "phantom"}));
    assert_eq!(find("untyped"), json!({"value": "untyped"}));
    assert_eq!(
        find(&foreign.id),
        json!({"value": foreign.id}),
        "another tenant's resource is not shown"
    );
    assert_eq!(
        get(store, &t, User, &u.id).await.data["groups"],
        json!([{"value": g.id, "display": "Mixed", "type": "direct"}])
    );
    assert!(
        get(store, &other, User, &foreign.id)
            .await
            .data
            .get("groups")
            .is_none(),
        "a group of another tenant is not listed"
    );

    // Replace keeps accepting them.
    let r = store
        .replace(&t, Group, &g.id, group("Mixed", &["ghost"]), Some(1))
        .await
        .expect("replace with dangling");
    assert_eq!(r.version, 2);
    assert_eq!(
        get(store, &t, Group, &g.id).await.data["members"],
        json!([{"value": "ghost"}])
    );
    assert!(get(store, &t, User, &u.id)
        .await
        .data
        .get("groups")
        .is_none());

    // A member entry without a string value fails the whole write.
    for bad_member in [
        json!({"display": "no value"}),
        json!({"value": 7}),
        json!({"value": null, "type": "User"}),
        json!("just-a-string"),
    ] {
        let mut bad = group("Bad", &[&u.id, "ghost"]);
        bad["externalId"] = json!("bad-group");
        bad["members"]
            .as_array_mut()
            .expect("members")
            .push(bad_member.clone());
        match store.create(&t, Group, bad.clone()).await {
            Err(StoreError::InvalidMember(entry)) => {
                assert_eq!(entry, bad_member.to_string())
            }
            other => panic!("member {bad_member}: {other:?}"),
        }
        match store.replace(&t, Group, &g.id, bad, None).await {
            Err(StoreError::InvalidMember(_)) => {}
            other => panic!("replace with member {bad_member}: {other:?}"),
        }
    }
    assert_eq!(store.count(&t, Group).await.expect("count"), 1);
    assert!(
        list_all(store, &t, Group, Some(&eq(ExternalId, "bad-group")))
            .await
            .is_empty(),
        "nothing written"
    );
    let after = get(store, &t, Group, &g.id).await;
    assert_eq!(after.version, 2);
    assert_eq!(after.data["members"], json!([{"value": "ghost"}]));
    assert!(get(store, &t, User, &u.id)
        .await
        .data
        .get("groups")
        .is_none());
}

/// A group written before its member exists shows the member once it is
/// created, and the member lists the group; deleting it leaves the group.
pub async fn member_created_later<S: ConformanceStore>(store: &S) {
    let t = tenant("later");
    let other = tenant("later-other");
    let dyn_store: &dyn ResourceStore = store;
    let later_user = uuid::Uuid::new_v4().to_string();
    let later_group = uuid::Uuid::new_v4().to_string();
    let g = store
        .create(
            &t,
            Group,
            typed_group("Early", &[(&later_user, "Group"), (&later_group, "")]),
        )
        .await
        .expect("group first");
    let by_value = |v: Value| {
        let mut items = v.as_array().cloned().unwrap_or_default();
        items.sort_by_key(|m| m["value"].as_str().map(str::to_string));
        items
    };
    assert_eq!(
        by_value(get(dyn_store, &t, Group, &g.id).await.data["members"].clone()),
        by_value(json!([{"value": later_user}, {"value": later_group}])),
        "not yet resources: no type, whatever the client wrote"
    );

    // The same ids in another tenant resolve nothing here.
    store
        .create_with_id(&other, User, &later_user, user("elsewhere"))
        .await
        .expect("other tenant");
    let still = get(dyn_store, &t, Group, &g.id).await;
    assert!(
        still.data["members"]
            .as_array()
            .expect("members")
            .iter()
            .all(|m| m.get("display").is_none()),
        "{still:?}"
    );
    assert!(get(dyn_store, &other, User, &later_user)
        .await
        .data
        .get("groups")
        .is_none());

    let mut data = user("late");
    data["displayName"] = json!("Late Comer");
    store
        .create_with_id(&t, User, &later_user, data)
        .await
        .expect("user later");
    store
        .create_with_id(&t, Group, &later_group, group("Late Group", &[]))
        .await
        .expect("group later");
    let members = get(dyn_store, &t, Group, &g.id).await.data["members"].clone();
    let mut members = members.as_array().expect("members").clone();
    members.sort_by_key(|m| m["display"].as_str().map(str::to_string));
    assert_eq!(
        members,
        vec![
            json!({"value": later_user, "display": "Late Comer", "type": "User"}),
            json!({"value": later_group, "display": "Late Group", "type": "Group"}),
        ],
        "the resource's kind wins over the type written"
    );
    assert_eq!(
        get(dyn_store, &t, User, &later_user).await.data["groups"],
        json!([{"value": g.id, "display": "Early", "type": "direct"}])
    );
    let (_, page) = store
        .list(
            &t,
            User,
            Some(&eq(Id, &later_user)),
            0,
            10,
            ReadOptions::ALL,
        )
        .await
        .expect("list");
    assert_eq!(page[0].data["groups"][0]["value"], json!(g.id));

    // Deleting it removes the membership here, not the other tenant's user.
    store
        .delete(&t, User, &later_user, None)
        .await
        .expect("delete");
    assert_eq!(
        get(dyn_store, &t, Group, &g.id).await.data["members"],
        json!([{"value": later_group, "display": "Late Group", "type": "Group"}])
    );
    get(dyn_store, &other, User, &later_user).await;
}

/// Deleting a user or group removes its memberships.
pub async fn deletion_cascades(store: &dyn ResourceStore) {
    let t = tenant("cascade");
    let u1 = store.create(&t, User, user("c1")).await.expect("u1");
    let u2 = store.create(&t, User, user("c2")).await.expect("u2");
    let inner = store
        .create(&t, Group, group("Inner", &[&u1.id]))
        .await
        .expect("inner");
    let outer = store
        .create(&t, Group, group("Outer", &[&u1.id, &u2.id, &inner.id]))
        .await
        .expect("outer");

    store
        .delete(&t, User, &u1.id, None)
        .await
        .expect("delete u1");
    let outer_now = get(store, &t, Group, &outer.id).await;
    let values: Vec<&str> = outer_now.data["members"]
        .as_array()
        .expect("members")
        .iter()
        .filter_map(|m| m["value"].as_str())
        .collect();
    assert_eq!(values.len(), 2);
    assert!(values.contains(&u2.id.as_str()) && values.contains(&inner.id.as_str()));
    assert!(get(store, &t, Group, &inner.id)
        .await
        .data
        .get("members")
        .is_none());

    // Deleting a group removes its own member rows and its membership in others.
    store
        .replace(&t, Group, &inner.id, group("Inner", &[&u2.id]), None)
        .await
        .expect("refill inner");
    assert_eq!(
        get(store, &t, User, &u2.id).await.data["groups"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    store
        .delete(&t, Group, &inner.id, None)
        .await
        .expect("delete inner");
    assert_eq!(
        get(store, &t, User, &u2.id).await.data["groups"],
        json!([{"value": outer.id, "display": "Outer", "type": "direct"}])
    );
    assert_eq!(
        get(store, &t, Group, &outer.id).await.data["members"],
        json!([{"value": u2.id, "display": "c2", "type": "User"}])
    );
    store
        .delete(&t, Group, &outer.id, None)
        .await
        .expect("delete outer");
    assert!(get(store, &t, User, &u2.id)
        .await
        .data
        .get("groups")
        .is_none());
    // The user can still be deleted and re-used as a member elsewhere.
    let g = store
        .create(&t, Group, group("Again", &[&u2.id]))
        .await
        .expect("again");
    assert_eq!(
        get(store, &t, Group, &g.id).await.data["members"][0]["value"],
        json!(u2.id)
    );
}

/// Tenants never see each other's resources.
pub async fn tenant_isolation(store: &dyn ResourceStore) {
    let a = tenant("iso-a");
    let b = tenant("iso-b");
    let mut d = user("same");
    d["externalId"] = json!("e");
    d["emails"] = json!([{"value": "same@example.com"}]);
    let ua = store.create(&a, User, d.clone()).await.expect("a");
    let ub = store.create(&b, User, d).await.expect("b");
    assert_ne!(ua.id, ub.id);
    let ga = store
        .create(&a, Group, group("G", &[&ua.id]))
        .await
        .expect("ga");

    assert!(matches!(
        store.get(&b, User, &ua.id, ReadOptions::ALL).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.replace(&b, User, &ua.id, user("x"), None).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.delete(&b, User, &ua.id, None).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.delete(&b, Group, &ga.id, Some(1)).await,
        Err(StoreError::NotFound)
    ));
    for f in [
        eq(Id, &ua.id),
        eq(UserName, "same"),
        eq(ExternalId, "e"),
        eq(EmailValue, "same@example.com"),
    ] {
        assert_eq!(
            list_all(store, &b, User, Some(&f)).await.len(),
            usize::from(f != eq(Id, &ua.id))
        );
        assert!(!list_all(store, &b, User, Some(&f)).await.contains(&ua.id));
    }
    assert_eq!(list_all(store, &b, User, None).await, vec![ub.id.clone()]);
    assert_eq!(store.count(&b, Group).await.expect("count"), 0);
    assert!(get(store, &b, User, &ub.id)
        .await
        .data
        .get("groups")
        .is_none());
    let scanned = store
        .scan(&b, User, None, 0, 100, ReadOptions::ALL)
        .await
        .expect("scan");
    assert_eq!(ids(&scanned), vec![ub.id.clone()]);
    assert_eq!(get(store, &a, User, &ua.id).await.data["userName"], "same");

    // A group of b listing a's ids: neither display nor kind come from a,
    // and a's user does not list b's group.
    let gb = store
        .create(&b, Group, group("GB", &[&ua.id, &ga.id, &ub.id]))
        .await
        .expect("gb");
    let members = get(store, &b, Group, &gb.id).await.data["members"].clone();
    assert_eq!(
        members[0],
        json!({"value": ub.id, "display": "same", "type": "User"})
    );
    let mut rest = members.as_array().expect("members")[1..].to_vec();
    rest.sort_by_key(|m| m["value"].as_str().map(str::to_string));
    let mut want = vec![json!({"value": ua.id}), json!({"value": ga.id})];
    want.sort_by_key(|m| m["value"].as_str().map(str::to_string));
    assert_eq!(rest, want);
    assert_eq!(
        get(store, &a, User, &ua.id).await.data["groups"],
        json!([{"value": ga.id, "display": "G", "type": "direct"}])
    );
    assert_eq!(
        get(store, &b, User, &ub.id).await.data["groups"],
        json!([{"value": gb.id, "display": "GB", "type": "direct"}])
    );
    // Deleting a's user leaves b's group alone (and the other way round).
    store
        .delete(&a, User, &ua.id, None)
        .await
        .expect("delete ua");
    assert_eq!(get(store, &b, Group, &gb.id).await.data["members"], members);
    assert!(get(store, &a, Group, &ga.id)
        .await
        .data
        .get("members")
        .is_none());
    store
        .delete(&b, User, &ub.id, None)
        .await
        .expect("delete ub");
    assert_eq!(
        get(store, &b, Group, &gb.id).await.data["members"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
}

/// A write that fails (uniqueness) leaves no index rows behind.
pub async fn failed_writes_leave_nothing(store: &dyn ResourceStore) {
    let t = tenant("atomic");
    store.create(&t, User, user("taken")).await.expect("taken");
    let mut d = user("TAKEN");
    d["emails"] = json!([{"value": "ghost@example.com"}]);
    d["externalId"] = json!("ghost");
    assert!(matches!(
        store.create(&t, User, d).await,
        Err(StoreError::Uniqueness(_))
    ));
    assert!(
        list_all(store, &t, User, Some(&eq(EmailValue, "ghost@example.com")))
            .await
            .is_empty()
    );
    assert!(list_all(store, &t, User, Some(&eq(ExternalId, "ghost")))
        .await
        .is_empty());
    assert_eq!(store.count(&t, User).await.expect("count"), 1);

    let other = store.create(&t, User, user("other")).await.expect("other");
    let mut d = user("taken");
    d["emails"] = json!([{"value": "ghost2@example.com"}]);
    assert!(matches!(
        store.replace(&t, User, &other.id, d, None).await,
        Err(StoreError::Uniqueness(_))
    ));
    assert!(
        list_all(store, &t, User, Some(&eq(EmailValue, "ghost2@example.com")))
            .await
            .is_empty()
    );
    assert_eq!(get(store, &t, User, &other.id).await.version, 1);
}

/// An update that sets `key` to `value` on the resource data.
fn set(key: &'static str, value: Value) -> UpdateFn {
    Box::new(move |current: &StoredResource| {
        let mut data = current.data.clone();
        data[key] = value;
        Ok(Some(data))
    })
}

async fn update(
    store: &dyn ResourceStore,
    t: &str,
    kind: ResourceKind,
    id: &str,
    expected_version: Option<i64>,
    change: UpdateFn,
) -> Result<UpdateOutcome, UpdateError> {
    store
        .update(t, kind, id, ReadOptions::ALL, expected_version, change)
        .await
}

/// update: applies and bumps the version, `None` keeps it, a rejected or
/// failing change writes nothing, expected_version, NotFound.
pub async fn updates(store: &dyn ResourceStore) {
    let t = tenant("update");
    let mut d = user("upd");
    d["emails"] = json!([{"value": "old@example.com"}]);
    let u = store.create(&t, User, d).await.expect("create");

    // Applies: the change sees the current resource, the result is what get shows.
    let change: UpdateFn = Box::new(|current: &StoredResource| {
        assert_eq!(current.version, 1);
        assert_eq!(current.data["userName"], "upd");
        let mut data = current.data.clone();
        data["nickName"] = json!("u");
        data["emails"] = json!([{"value": "new@example.com"}]);
        Ok(Some(data))
    });
    let out = update(store, &t, User, &u.id, None, change)
        .await
        .expect("update");
    assert!(out.changed);
    assert_eq!(out.resource.version, 2);
    assert_eq!(out.resource.id, u.id);
    assert_eq!(out.resource.created, u.created);
    assert_timestamp(&out.resource.last_modified);
    let now = get(store, &t, User, &u.id).await;
    assert_eq!(now.version, 2);
    assert_eq!(now.data, out.resource.data);
    assert_eq!(now.data["nickName"], "u");
    assert_eq!(now.last_modified, out.resource.last_modified);
    assert!(
        list_all(store, &t, User, Some(&eq(EmailValue, "old@example.com")))
            .await
            .is_empty(),
        "the email index follows the update"
    );
    assert_eq!(
        list_all(store, &t, User, Some(&eq(EmailValue, "NEW@example.com"))).await,
        vec![u.id.clone()]
    );

    // None: nothing written, the version kept, the current resource returned.
    let out = update(store, &t, User, &u.id, Some(2), Box::new(|_| Ok(None)))
        .await
        .expect("no-op update");
    assert!(!out.changed);
    assert_eq!(out.resource.version, 2);
    assert_eq!(out.resource.data, now.data);
    assert_eq!(out.resource.last_modified, now.last_modified);
    assert_eq!(get(store, &t, User, &u.id).await.version, 2);

    // Rejected: the closure's error comes back, nothing is written.
    let reject: UpdateFn = Box::new(|_| Err(ScimError::mutability("no")));
    match update(store, &t, User, &u.id, None, reject).await {
        Err(UpdateError::Rejected(e)) => assert_eq!(e, ScimError::mutability("no")),
        other => panic!("rejected update: {other:?}"),
    }
    let after = get(store, &t, User, &u.id).await;
    assert_eq!((after.version, &after.data), (2, &now.data));

    // A change the store refuses (userName taken) writes nothing either.
    store.create(&t, User, user("taken")).await.expect("taken");
    let clash: UpdateFn = Box::new(|current: &StoredResource| {
        let mut data = current.data.clone();
        data["userName"] = json!("TAKEN");
        data["emails"] = json!([{"value": "ghost@example.com"}]);
        Ok(Some(data))
    });
    match update(store, &t, User, &u.id, None, clash).await {
        Err(UpdateError::Store(StoreError::Uniqueness(_))) => {}
        other => panic!("clashing update: {other:?}"),
    }
    let after = get(store, &t, User, &u.id).await;
    assert_eq!((after.version, &after.data), (2, &now.data));
    assert!(
        list_all(store, &t, User, Some(&eq(EmailValue, "ghost@example.com")))
            .await
            .is_empty()
    );

    // expected_version: a mismatch fails before the change runs.
    let never: UpdateFn = Box::new(|_| panic!("the change ran despite a version mismatch"));
    match update(store, &t, User, &u.id, Some(1), never).await {
        Err(UpdateError::Store(StoreError::PreconditionFailed { current_version: 2 })) => {}
        other => panic!("stale update: {other:?}"),
    }
    assert_eq!(get(store, &t, User, &u.id).await.version, 2);
    let out = update(store, &t, User, &u.id, Some(2), set("title", json!("t")))
        .await
        .expect("update v2");
    assert_eq!(out.resource.version, 3);
    assert_eq!(
        list_all(store, &t, User, Some(&eq(EmailValue, "new@example.com"))).await,
        vec![u.id.clone()],
        "an update that keeps the emails keeps their index"
    );

    // NotFound, also of a resource of the other kind or tenant.
    for (tn, kind, id) in [
        (t.as_str(), User, "missing"),
        (t.as_str(), Group, u.id.as_str()),
        ("other-tenant", User, u.id.as_str()),
    ] {
        let never: UpdateFn = Box::new(|_| panic!("the change ran on a missing resource"));
        match update(store, tn, kind, id, None, never).await {
            Err(UpdateError::Store(StoreError::NotFound)) => {}
            other => panic!("update of missing {kind:?} {id} in {tn}: {other:?}"),
        }
    }
}

/// update returns `members`/`groups` as a get with the same options would.
pub async fn update_results_carry_references(store: &dyn ResourceStore) {
    let t = tenant("update-refs");
    let u = store.create(&t, User, user("member")).await.expect("user");
    let g = store
        .create(&t, Group, group("team", &[&u.id]))
        .await
        .expect("group");

    // A user's groups come with it.
    let out = update(store, &t, User, &u.id, None, set("title", json!("x")))
        .await
        .expect("user update");
    let fresh = get(store, &t, User, &u.id).await;
    assert_eq!(out.resource.data, fresh.data);
    assert_eq!(out.resource.data["groups"][0]["value"], g.id.as_str());
    assert_eq!(out.resource.data["groups"][0]["display"], "team");

    // The change sees a group's members; the result shows them as they now
    // resolve (the group lists itself, under its new display).
    let (uid, gid) = (u.id.clone(), g.id.clone());
    let change: UpdateFn = Box::new(move |current: &StoredResource| {
        assert_eq!(current.data["members"][0]["value"], uid.as_str());
        let mut data = current.data.clone();
        data["displayName"] = json!("renamed");
        data["members"] = json!([{"value": uid}, {"value": gid, "type": "Group"}]);
        Ok(Some(data))
    });
    let out = update(store, &t, Group, &g.id, None, change)
        .await
        .expect("group update");
    let fresh = get(store, &t, Group, &g.id).await;
    assert_eq!(out.resource.data, fresh.data);
    assert_eq!(out.resource.version, fresh.version);
    let members = out.resource.data["members"].as_array().cloned();
    assert_eq!(members.map(|m| m.len()), Some(2));
    assert_eq!(out.resource.data["members"][0]["display"], "member");
    assert_eq!(out.resource.data["members"][1]["display"], "renamed");
    assert_eq!(out.resource.data["members"][1]["type"], "Group");

    // Without the options, nothing is attached (and a user's groups stay).
    let out = store
        .update(&t, User, &u.id, ReadOptions::NONE, None, set("x", json!(1)))
        .await
        .expect("bare update");
    assert!(out.resource.data.get("groups").is_none());
    assert_eq!(
        get(store, &t, User, &u.id).await.data["groups"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "groups kept"
    );
}

/// Concurrent updates of one resource serialise: every one of them lands.
pub async fn concurrent_updates_all_land(store: &dyn ResourceStore) {
    let t = tenant("update-race");
    let u = store.create(&t, User, user("busy")).await.expect("create");
    const N: usize = 50;
    let attempts = (0..N).map(|i| {
        let change: UpdateFn = Box::new(move |current: &StoredResource| {
            let mut data = current.data.clone();
            let mut emails = data["emails"].as_array().cloned().unwrap_or_default();
            emails.push(json!({ "value": format!("e{i}@example.com") }));
            data["emails"] = Value::Array(emails);
            Ok(Some(data))
        });
        update(store, &t, User, &u.id, None, change)
    });
    let results = futures::future::join_all(attempts).await;
    let mut versions: Vec<i64> = results
        .iter()
        .map(|r| match r {
            Ok(out) => out.resource.version,
            Err(e) => panic!("concurrent update failed: {e:?}"),
        })
        .collect();
    versions.sort_unstable();
    let expected: Vec<i64> = (2..=1 + N as i64).collect();
    assert_eq!(versions, expected, "each update saw the one before");
    let now = get(store, &t, User, &u.id).await;
    assert_eq!(now.version, 1 + N as i64);
    assert_eq!(
        now.data["emails"].as_array().map(Vec::len),
        Some(N),
        "no update lost"
    );
    for i in [0, N / 2, N - 1] {
        assert_eq!(
            list_all(
                store,
                &t,
                User,
                Some(&eq(EmailValue, &format!("e{i}@example.com")))
            )
            .await,
            vec![u.id.clone()]
        );
    }
}

/// create_with returns `members`/`groups` as a get with the same options would.
pub async fn create_with_attaches_references(store: &dyn ResourceStore) {
    let t = tenant("create-with");
    let u = store
        .create_with(&t, User, user("first"), ReadOptions::ALL)
        .await
        .expect("user");
    assert_eq!(u.version, 1);
    assert_eq!(u.data, get(store, &t, User, &u.id).await.data);
    assert!(u.data.get("groups").is_none(), "in no group yet");

    let g = store
        .create_with(
            &t,
            Group,
            typed_group("team", &[(&u.id, "User"), ("ghost", "Group")]),
            ReadOptions::ALL,
        )
        .await
        .expect("group");
    let fresh = get(store, &t, Group, &g.id).await;
    assert_eq!(g.data, fresh.data);
    assert_eq!((g.version, &g.created), (fresh.version, &fresh.created));
    assert_eq!(g.data["members"][0]["display"], "first");
    assert_eq!(
        g.data["members"][1],
        json!({"value": "ghost"}),
        "no resource, no type"
    );

    let bare = store
        .create_with(&t, Group, group("bare", &[&u.id]), ReadOptions::NONE)
        .await
        .expect("bare group");
    assert!(bare.data.get("members").is_none());
    assert_eq!(
        get(store, &t, Group, &bare.id).await.data["members"][0]["value"],
        u.id.as_str()
    );
}

/// The members of a group as `(value, display, type)`, sorted by value.
fn member_rows(group: &StoredResource) -> Vec<(String, Option<String>, Option<String>)> {
    let text = |m: &Value, key: &str| m.get(key).and_then(Value::as_str).map(str::to_string);
    let mut rows: Vec<_> = group
        .data
        .get("members")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|m| {
                    (
                        text(m, "value").unwrap_or_default(),
                        text(m, "display"),
                        text(m, "type"),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    rows.sort();
    rows
}

fn ids_of(group: &StoredResource) -> Vec<String> {
    member_rows(group)
        .into_iter()
        .map(|(id, _, _)| id)
        .collect()
}

fn strings(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|id| id.to_string()).collect()
}

/// patch_members: adds and removes only what it names, moves the version only
/// when a row changes, compares `remove_any_case` ignoring letter case, checks
/// existence and the expected version, and attaches members as asked.
pub async fn member_patches<S: ConformanceStore>(store: &S) {
    let t = tenant("member-patch");
    let u1 = store.create(&t, User, user("u1")).await.expect("u1");
    let u2 = store.create(&t, User, user("u2")).await.expect("u2");
    let sub = store
        .create(&t, Group, group("Sub", &[]))
        .await
        .expect("sub");
    let g = store
        .create(&t, Group, group("Patched", &[&u1.id]))
        .await
        .expect("group");
    let patch = |change: MemberChange, expected: Option<i64>, opts: ReadOptions| {
        store.patch_members(&t, &g.id, expected, change, opts)
    };
    let adds = |ids: &[&str]| MemberChange {
        add: strings(ids),
        ..MemberChange::default()
    };
    let removes = |ids: &[&str]| MemberChange {
        remove: strings(ids),
        ..MemberChange::default()
    };

    // (what, change, whether a row changes, the member ids after)
    let sorted = |mut ids: Vec<&str>| {
        ids.sort_unstable();
        strings(&ids)
    };
    let steps: Vec<(&str, MemberChange, bool, Vec<String>)> = vec![
        (
            "adds a user, a group and an id that is no resource",
            adds(&[&u2.id, &sub.id, "ghost", "ghost"]),
            true,
            sorted(vec![&u1.id, &u2.id, &sub.id, "ghost"]),
        ),
        (
            "adding members again changes nothing",
            adds(&[&u1.id, "ghost"]),
            false,
            sorted(vec![&u1.id, &u2.id, &sub.id, "ghost"]),
        ),
        (
            "removing an id that is not listed changes nothing",
            removes(&["nobody"]),
            false,
            sorted(vec![&u1.id, &u2.id, &sub.id, "ghost"]),
        ),
        (
            "removes by exact id",
            removes(&[&u2.id, "GHOST"]),
            true,
            sorted(vec![&u1.id, &sub.id, "ghost"]),
        ),
        (
            "adds and removes in one change",
            MemberChange {
                add: strings(&["Mixed", "mixed", "MIXED-not", "42"]),
                remove: strings(&[&sub.id]),
                remove_any_case: Vec::new(),
            },
            true,
            sorted(vec![&u1.id, "ghost", "Mixed", "mixed", "MIXED-not", "42"]),
        ),
        (
            "remove_any_case takes every id equal ignoring case",
            MemberChange {
                remove_any_case: strings(&["mIXED", "42", "Ghost"]),
                ..MemberChange::default()
            },
            true,
            sorted(vec![&u1.id, "MIXED-not"]),
        ),
    ];
    let mut version = g.version;
    for (what, change, changed, after) in steps {
        let out = patch(change, None, ReadOptions::ALL)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(out.changed, changed, "{what}");
        let expected_version = if changed { version + 1 } else { version };
        assert_eq!(out.resource.version, expected_version, "{what}");
        version = expected_version;
        assert_eq!(ids_of(&out.resource), after, "{what}: the result");
        let read = get(store, &t, Group, &g.id).await;
        assert_eq!(read.version, version, "{what}: the stored version");
        assert_eq!(
            member_rows(&read),
            member_rows(&out.resource),
            "{what}: the result is what get shows"
        );
        assert_eq!(read.data["displayName"], "Patched", "{what}");
    }

    // Types and displays come from the resources the ids name.
    let out = patch(adds(&[&u2.id, &sub.id]), None, ReadOptions::ALL)
        .await
        .expect("types");
    let rows = member_rows(&out.resource);
    let row = |id: &str| rows.iter().find(|r| r.0 == id).cloned();
    assert_eq!(
        row(&u2.id),
        Some((u2.id.clone(), Some("u2".into()), Some("User".into())))
    );
    assert_eq!(
        row(&sub.id),
        Some((sub.id.clone(), Some("Sub".into()), Some("Group".into())))
    );
    assert_eq!(row("MIXED-not"), Some(("MIXED-not".into(), None, None)));
    assert!(out.changed);
    version += 1;
    let u2_groups = get(store, &t, User, &u2.id).await.data["groups"].clone();
    assert_eq!(
        u2_groups,
        json!([{"value": g.id, "display": "Patched", "type": "direct"}]),
        "the user sees the group"
    );

    // Without members asked for, none are attached.
    let out = patch(removes(&[&sub.id]), None, ReadOptions::NONE)
        .await
        .expect("no members attached");
    assert!(out.resource.data.get("members").is_none());
    assert_eq!(out.resource.data["displayName"], "Patched");
    version += 1;
    assert_eq!(out.resource.version, version);

    // The expected version: a stale one is refused and writes nothing.
    match patch(adds(&["late"]), Some(version - 1), ReadOptions::ALL).await {
        Err(StoreError::PreconditionFailed { current_version }) => {
            assert_eq!(current_version, version)
        }
        other => panic!("stale version: {other:?}"),
    }
    let read = get(store, &t, Group, &g.id).await;
    assert_eq!(read.version, version);
    assert!(!ids_of(&read).contains(&"late".to_string()));
    let out = patch(adds(&["late"]), Some(version), ReadOptions::ALL)
        .await
        .expect("current version");
    assert_eq!(out.resource.version, version + 1);

    // Concurrent member changes of one group all land, each a version of its own.
    let before = get(store, &t, Group, &g.id).await.version;
    let (t_ref, g_id) = (t.as_str(), g.id.as_str());
    let writers = (0..16).map(|i| {
        let id = format!("concurrent-{i}");
        async move {
            store
                .patch_members(t_ref, g_id, None, adds(&[id.as_str()]), ReadOptions::NONE)
                .await
        }
    });
    for result in futures::future::join_all(writers).await {
        assert!(result.expect("concurrent patch").changed);
    }
    let read = get(store, &t, Group, &g.id).await;
    assert_eq!(read.version, before + 16);
    let landed = ids_of(&read)
        .iter()
        .filter(|id| id.starts_with("concurrent-"))
        .count();
    assert_eq!(landed, 16);

    // Only groups of the tenant.
    for (what, tenant, id) in [
        ("unknown id", t.as_str(), "no-such-group"),
        ("a user", t.as_str(), u1.id.as_str()),
        ("another tenant", "member-patch-other", g.id.as_str()),
    ] {
        let result = store
            .patch_members(tenant, id, None, adds(&["x"]), ReadOptions::ALL)
            .await;
        assert!(
            matches!(result, Err(StoreError::NotFound)),
            "{what}: {result:?}"
        );
    }
    assert!(get(store, &t, User, &u1.id)
        .await
        .data
        .get("members")
        .is_none());
}
