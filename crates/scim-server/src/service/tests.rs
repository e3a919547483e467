//! The member fast path of PATCH against the generic path: for each request, the same
//! answer, the same group afterwards and the same version change.

use std::sync::Arc;

use provisio_scim::patch::parse_patch_request;
use serde_json::{json, Value};

use super::{member_change, patch, patch_generic};
use crate::http::{etag, ApiError, Ctx, IfMatch};
use crate::store::{open_sqlite, ReadOptions, ResourceKind, StoredResource};
use crate::{AppState, ServerConfig};

const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

struct World {
    state: AppState,
    ctx: Ctx,
    u1: String,
    u2: String,
    _dir: tempfile::TempDir,
}

async fn world() -> World {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open_sqlite(dir.path()).await.expect("open");
    let state = AppState::new(Arc::new(store), ServerConfig::default());
    let ctx = Ctx {
        tenant: "differential".to_string(),
        base_url: "http://scim.test/scim/v2".to_string(),
    };
    let mut ids = Vec::new();
    for name in ["u1", "u2"] {
        let body =
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name});
        let user = super::create(&state, &ctx, ResourceKind::User, &body)
            .await
            .expect("user");
        ids.push(user.id);
    }
    World {
        state,
        ctx,
        u2: ids.pop().expect("u2"),
        u1: ids.pop().expect("u1"),
        _dir: dir,
    }
}

impl World {
    /// A group listing u1, an id that is no resource and one in mixed case.
    async fn group(&self, name: &str) -> StoredResource {
        let body = json!({
            "schemas": [GROUP_SCHEMA],
            "displayName": name,
            "members": [{"value": self.u1}, {"value": "ghost"}, {"value": "Case-Id"}],
        });
        super::create(&self.state, &self.ctx, ResourceKind::Group, &body)
            .await
            .expect("group")
    }

    async fn read(&self, id: &str) -> StoredResource {
        self.state
            .store
            .get(&self.ctx.tenant, ResourceKind::Group, id, ReadOptions::ALL)
            .await
            .expect("get")
    }

    /// `template` with `$u1` and `$u2` replaced by the users' ids.
    fn body(&self, template: &str) -> Value {
        let text = template.replace("$u1", &self.u1).replace("$u2", &self.u2);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }
}

/// What a client observes of a group: its display name and members as a sorted list of
/// (value, display, type).
fn observed(group: &StoredResource) -> (Value, Vec<(Value, Value, Value)>) {
    let mut members: Vec<(Value, Value, Value)> = group.data["members"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|m| (m["value"].clone(), m["display"].clone(), m["type"].clone()))
                .collect()
        })
        .unwrap_or_default();
    members.sort_by_key(|m| m.0.to_string());
    (group.data["displayName"].clone(), members)
}

/// The status and detail of an answer, the observed result and the version change.
type Outcome = Result<(Value, Vec<(Value, Value, Value)>), (u16, String)>;

fn outcome(result: Result<StoredResource, ApiError>) -> Outcome {
    result
        .map(|r| observed(&r))
        .map_err(|ApiError(e)| (e.status, e.detail))
}

fn ops(template: &str) -> String {
    format!(
        r#"{{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{template}]}}"#
    )
}

#[tokio::test]
async fn member_patches_answer_as_the_generic_path_does() {
    let w = world().await;
    // (what, operations with $u1/$u2 for the users' ids, whether the fast path takes it)
    let cases: Vec<(&str, &str, bool)> = vec![
        (
            "add a list",
            r#"{"op": "add", "path": "members", "value": [{"value": "$u2"}, {"value": "new-ghost"}]}"#,
            true,
        ),
        (
            "Add capitalised, one object, path in another case",
            r#"{"op": "Add", "path": "Members", "value": {"value": "$u2"}}"#,
            true,
        ),
        (
            "add without a path",
            r#"{"op": "add", "value": {"members": [{"value": "$u2"}]}}"#,
            true,
        ),
        (
            "add without a path, with schemas, key in capitals",
            r#"{"op": "add", "value": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "MEMBERS": [{"value": "$u2"}]}}"#,
            true,
        ),
        (
            "add a member already listed",
            r#"{"op": "add", "path": "members", "value": [{"value": "$u1"}, {"value": "ghost", "display": "Ghost"}]}"#,
            true,
        ),
        (
            "add duplicates in one request",
            r#"{"op": "add", "path": "members", "value": [{"value": "$u2"}, {"value": "$u2"}]}, {"op": "add", "path": "members", "value": {"value": "$u2"}}"#,
            true,
        ),
        (
            "add an id as a plain string",
            r#"{"op": "add", "path": "members", "value": ["$u2"]}"#,
            true,
        ),
        (
            "add with a null $ref and value key in capitals",
            r#"{"op": "Add", "path": "members", "value": [{"$ref": null, "Value": "$u2"}]}"#,
            true,
        ),
        (
            "add nothing: null, empty and display-only items",
            r#"{"op": "add", "path": "members", "value": [null, {}, {"display": "x"}, {"value": null}]}"#,
            true,
        ),
        (
            "add null",
            r#"{"op": "add", "path": "members", "value": null}"#,
            true,
        ),
        (
            "add an id in another case than a member",
            r#"{"op": "add", "path": "members", "value": [{"value": "GHOST"}]}"#,
            true,
        ),
        (
            "remove by filter",
            r#"{"op": "remove", "path": "members[value eq \"$u1\"]"}"#,
            true,
        ),
        (
            "remove by filter ignores case",
            r#"{"op": "remove", "path": "members[value eq \"GHOST\"]"}, {"op": "remove", "path": "members[VALUE eq \"case-id\"]"}"#,
            true,
        ),
        (
            "remove by filter, an absent id",
            r#"{"op": "remove", "path": "members[value eq \"nobody\"]"}"#,
            true,
        ),
        (
            "Remove with a value list, Entra's shape",
            r#"{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": "$u1"}, {"value": "ghost"}]}"#,
            true,
        ),
        (
            "remove with one object",
            r#"{"op": "remove", "path": "members", "value": {"value": "$u1"}}"#,
            true,
        ),
        (
            "remove with a list compares exactly",
            r#"{"op": "remove", "path": "members", "value": [{"value": "GHOST"}, "Case-Id", 7, null, {"display": "x"}]}"#,
            true,
        ),
        (
            "remove with an empty list",
            r#"{"op": "remove", "path": "members", "value": []}"#,
            true,
        ),
        (
            "add one, remove another",
            r#"{"op": "add", "path": "members", "value": [{"value": "$u2"}]}, {"op": "remove", "path": "members[value eq \"$u1\"]"}"#,
            true,
        ),
        (
            "add and remove ids in different case",
            r#"{"op": "add", "path": "members", "value": [{"value": "CASE-ID"}]}, {"op": "remove", "path": "members", "value": [{"value": "case-id"}]}"#,
            true,
        ),
        // The generic path answers these.
        (
            "add then remove an absent id",
            r#"{"op": "add", "path": "members", "value": [{"value": "$u2"}]}, {"op": "remove", "path": "members[value eq \"$u2\"]"}"#,
            false,
        ),
        (
            "remove then add a listed id",
            r#"{"op": "remove", "path": "members[value eq \"$u1\"]"}, {"op": "add", "path": "members", "value": [{"value": "$u1"}]}"#,
            false,
        ),
        (
            "remove by filter and add in another case",
            r#"{"op": "remove", "path": "members[value eq \"ghost\"]"}, {"op": "add", "path": "members", "value": [{"value": "GHOST"}]}"#,
            false,
        ),
        (
            "add with a type",
            r#"{"op": "add", "path": "members", "value": [{"value": "$u1", "type": "Group"}]}"#,
            false,
        ),
        (
            "add with a $ref",
            r#"{"op": "add", "path": "members", "value": [{"value": "$u1", "$ref": "http://x/Users/1"}]}"#,
            false,
        ),
        (
            "add a member without value",
            r#"{"op": "add", "path": "members", "value": [{"type": "User"}]}"#,
            false,
        ),
        (
            "add a member whose value is a number",
            r#"{"op": "add", "path": "members", "value": [{"value": 7}]}"#,
            false,
        ),
        (
            "add a number",
            r#"{"op": "add", "path": "members", "value": [7]}"#,
            false,
        ),
        (
            "add a member with two value keys",
            r#"{"op": "add", "path": "members", "value": [{"value": "a", "VALUE": "b"}]}"#,
            false,
        ),
        (
            "remove all members",
            r#"{"op": "remove", "path": "members"}"#,
            false,
        ),
        (
            "remove with a string value",
            r#"{"op": "remove", "path": "members", "value": "$u1"}"#,
            false,
        ),
        (
            "replace members",
            r#"{"op": "replace", "path": "members", "value": [{"value": "$u2"}]}"#,
            false,
        ),
        (
            "another filter",
            r#"{"op": "remove", "path": "members[display eq \"u1\"]"}"#,
            false,
        ),
        (
            "add with a filter",
            r#"{"op": "add", "path": "members[value eq \"$u2\"]", "value": {"value": "$u2"}}"#,
            false,
        ),
        (
            "another attribute too",
            r#"{"op": "add", "value": {"members": [{"value": "$u2"}], "displayName": "Renamed"}}"#,
            false,
        ),
        (
            "a member sub-attribute",
            r#"{"op": "remove", "path": "members.value"}"#,
            false,
        ),
    ];
    let rt = w.state.resource_type(ResourceKind::Group);
    for (what, template, fast) in cases {
        let body = w.body(&ops(template));
        let parsed = parse_patch_request(&body).unwrap_or_else(|e| panic!("{what}: {e:?}"));
        assert_eq!(
            member_change(rt, &parsed).is_some(),
            fast,
            "{what}: the path taken"
        );

        let a = w.group("Fast").await;
        let b = w.group("Fast").await;
        let via_patch = patch(
            &w.state,
            &w.ctx,
            ResourceKind::Group,
            &a.id,
            &body,
            IfMatch::Absent,
            ReadOptions::ALL,
        )
        .await;
        let via_generic = patch_generic(
            &w.state,
            &w.ctx,
            ResourceKind::Group,
            &b.id,
            &body,
            IfMatch::Absent,
        )
        .await;
        assert_eq!(
            outcome(via_patch),
            outcome(via_generic),
            "{what}: the answer"
        );
        let (a_after, b_after) = (w.read(&a.id).await, w.read(&b.id).await);
        assert_eq!(
            observed(&a_after),
            observed(&b_after),
            "{what}: the group afterwards"
        );
        assert_eq!(
            a_after.version - a.version,
            b_after.version - b.version,
            "{what}: the version change"
        );
    }
}

#[tokio::test]
async fn member_patches_of_missing_or_changed_groups_answer_as_the_generic_path_does() {
    let w = world().await;
    let add = w.body(&ops(
        r#"{"op": "add", "path": "members", "value": [{"value": "$u2"}]}"#,
    ));
    let bad = w.body(&ops(
        r#"{"op": "add", "path": "members", "value": [{"type": "User"}]}"#,
    ));
    let group = w.group("G").await;
    let stale = IfMatch::Version(group.version + 1);
    // (what, group id, body, If-Match, expected status)
    let cases: Vec<(&str, &str, &Value, IfMatch, u16)> = vec![
        (
            "a group that does not exist",
            "no-such-group",
            &add,
            IfMatch::Absent,
            404,
        ),
        ("a user's id", &w.u1, &add, IfMatch::Absent, 404),
        ("a stale If-Match", &group.id, &add, stale, 412),
        (
            "an If-Match that names no version",
            &group.id,
            &add,
            IfMatch::Never,
            412,
        ),
        (
            "an invalid member of a group that does not exist",
            "no-such-group",
            &bad,
            IfMatch::Absent,
            404,
        ),
        ("an invalid member", &group.id, &bad, IfMatch::Absent, 400),
    ];
    for (what, id, body, if_match, status) in cases {
        let fast = patch(
            &w.state,
            &w.ctx,
            ResourceKind::Group,
            id,
            body,
            if_match,
            ReadOptions::ALL,
        )
        .await;
        let generic =
            patch_generic(&w.state, &w.ctx, ResourceKind::Group, id, body, if_match).await;
        let (fast, generic) = (outcome(fast), outcome(generic));
        assert_eq!(fast, generic, "{what}");
        assert_eq!(fast.err().map(|e| e.0), Some(status), "{what}");
    }
    assert_eq!(
        w.read(&group.id).await.version,
        group.version,
        "nothing written"
    );

    // The current version is accepted.
    let current = IfMatch::Version(group.version);
    let done = patch(
        &w.state,
        &w.ctx,
        ResourceKind::Group,
        &group.id,
        &add,
        current,
        ReadOptions::ALL,
    )
    .await
    .expect("current If-Match");
    assert_eq!(done.version, group.version + 1);
}

#[tokio::test]
async fn a_member_patch_attaches_members_only_when_asked() {
    let w = world().await;
    let group = w.group("G").await;
    let add = w.body(&ops(
        r#"{"op": "add", "path": "members", "value": [{"value": "$u2"}]}"#,
    ));
    let without = patch(
        &w.state,
        &w.ctx,
        ResourceKind::Group,
        &group.id,
        &add,
        IfMatch::Absent,
        ReadOptions::NONE,
    )
    .await
    .expect("patch");
    assert!(without.data.get("members").is_none(), "{}", without.data);
    assert_eq!(without.data["displayName"], "G");
    assert_eq!(etag(without.version), etag(group.version + 1));

    let remove = w.body(&ops(
        r#"{"op": "remove", "path": "members[value eq \"ghost\"]"}"#,
    ));
    let with = patch(
        &w.state,
        &w.ctx,
        ResourceKind::Group,
        &group.id,
        &remove,
        IfMatch::Absent,
        ReadOptions::ALL,
    )
    .await
    .expect("patch");
    assert_eq!(observed(&with), observed(&w.read(&group.id).await));
    assert_eq!(
        with.data["members"].as_array().map(Vec::len),
        Some(3),
        "{}",
        with.data
    );
}
