//! The route table: every operation with its method, path and what it answers. The router
//! and the OpenAPI document are both built from it, so the document cannot drift from the
//! handlers.

use axum::extract::{OriginalUri, Path, State};
use axum::http::HeaderMap;
use axum::routing::{delete, get, patch, post, put, MethodRouter};
use axum::Router;
use provisio_directory::ObjectKind;

use crate::body::JsonObject;
use crate::handlers as h;
use crate::ApiState;

/// One operation, as documented.
#[derive(Debug, Clone, Copy)]
pub struct Operation {
    pub method: &'static str,
    /// Relative to the version prefix (`/v1.0`, `/beta`), or absolute for admin routes.
    pub path: &'static str,
    pub summary: &'static str,
    pub tag: &'static str,
    /// Success status.
    pub ok: u16,
    /// Request body schema name (components), if any.
    pub body: Option<&'static str>,
    /// Response body schema name, if any.
    pub returns: Option<&'static str>,
}

const fn op(
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    tag: &'static str,
    ok: u16,
    body: Option<&'static str>,
    returns: Option<&'static str>,
) -> Operation {
    Operation {
        method,
        path,
        summary,
        tag,
        ok,
        body,
        returns,
    }
}

macro_rules! object_routes {
    ($table:ident, $kind:expr, $set:literal, $schema:literal, $tag:literal) => {{
        const KIND: ObjectKind = $kind;
        $table.push((
            op(
                "get",
                concat!("/", $set),
                concat!(
                    "List ",
                    $set,
                    " with $filter, $select, $orderby, $top, $count and paging."
                ),
                $tag,
                200,
                None,
                Some(concat!($schema, "Collection")),
            ),
            get(
                |State(s): State<ApiState>, headers: HeaderMap, OriginalUri(uri): OriginalUri| {
                    h::list_objects(s, KIND, headers, uri)
                },
            ),
        ));
        $table.push((
            op(
                "post",
                concat!("/", $set),
                concat!("Create a ", $schema, "."),
                $tag,
                201,
                Some($schema),
                Some($schema),
            ),
            post(
                |State(s): State<ApiState>,
                 headers: HeaderMap,
                 OriginalUri(uri): OriginalUri,
                 JsonObject(body): JsonObject| {
                    h::create_object(s, KIND, headers, uri, body)
                },
            ),
        ));
        $table.push((
            op(
                "get",
                concat!("/", $set, "/$count"),
                concat!("Count ", $set, " (plain text)."),
                $tag,
                200,
                None,
                None,
            ),
            get(|State(s): State<ApiState>| h::count(s, KIND)),
        ));
        $table.push((
            op(
                "get",
                concat!("/", $set, "/{id}"),
                concat!("Get a ", $schema, " ($select)."),
                $tag,
                200,
                None,
                Some($schema),
            ),
            get(
                |State(s): State<ApiState>,
                 Path(id): Path<String>,
                 headers: HeaderMap,
                 OriginalUri(uri): OriginalUri| {
                    h::get_object(s, KIND, id, headers, uri)
                },
            ),
        ));
        $table.push((
            op(
                "patch",
                concat!("/", $set, "/{id}"),
                concat!("Update a ", $schema, "; null clears a property."),
                $tag,
                204,
                Some($schema),
                None,
            ),
            patch(
                |State(s): State<ApiState>,
                 Path(id): Path<String>,
                 JsonObject(body): JsonObject| h::update_object(s, KIND, id, body),
            ),
        ));
        $table.push((
            op(
                "delete",
                concat!("/", $set, "/{id}"),
                concat!(
                    "Delete a ",
                    $schema,
                    " (users and groups go to deleted items)."
                ),
                $tag,
                204,
                None,
                None,
            ),
            delete(|State(s): State<ApiState>, Path(id): Path<String>| {
                h::delete_object(s, KIND, id)
            }),
        ));
    }};
}

/// Every operation under `/v1.0` and `/beta`, with its handler.
fn graph_table() -> Vec<(Operation, MethodRouter<ApiState>)> {
    let mut t: Vec<(Operation, MethodRouter<ApiState>)> = Vec::new();
    object_routes!(t, ObjectKind::User, "users", "user", "users");
    object_routes!(t, ObjectKind::Group, "groups", "group", "groups");
    object_routes!(
        t,
        ObjectKind::ServicePrincipal,
        "servicePrincipals",
        "servicePrincipal",
        "servicePrincipals"
    );
    t.extend([
        (
            op(
                "get",
                "/users/delta",
                "Track changes to users: a full round, then changes since its deltaLink.",
                "users",
                200,
                None,
                Some("userCollection"),
            ),
            get(
                |State(s): State<ApiState>, headers: HeaderMap, OriginalUri(uri): OriginalUri| {
                    crate::delta::delta(s, ObjectKind::User, headers, uri)
                },
            ),
        ),
        (
            op(
                "get",
                "/groups/delta",
                "Track changes to groups and their members (members@delta).",
                "groups",
                200,
                None,
                Some("groupCollection"),
            ),
            get(
                |State(s): State<ApiState>, headers: HeaderMap, OriginalUri(uri): OriginalUri| {
                    crate::delta::delta(s, ObjectKind::Group, headers, uri)
                },
            ),
        ),
        (
            op(
                "get",
                "/users/{id}/manager",
                "Get a user's manager.",
                "users",
                200,
                None,
                Some("user"),
            ),
            get(h::get_manager),
        ),
        (
            op(
                "get",
                "/users/{id}/manager/$ref",
                "Get a reference to a user's manager.",
                "users",
                200,
                None,
                Some("reference"),
            ),
            get(h::get_manager_ref),
        ),
        (
            op(
                "put",
                "/users/{id}/manager/$ref",
                "Set a user's manager.",
                "users",
                204,
                Some("reference"),
                None,
            ),
            put(h::set_manager),
        ),
        (
            op(
                "delete",
                "/users/{id}/manager/$ref",
                "Remove a user's manager.",
                "users",
                204,
                None,
                None,
            ),
            delete(h::remove_manager),
        ),
        (
            op(
                "get",
                "/users/{id}/directReports",
                "List a user's direct reports.",
                "users",
                200,
                None,
                Some("directoryObjectCollection"),
            ),
            get(h::direct_reports),
        ),
        (
            op(
                "get",
                "/users/{id}/memberOf",
                "List the groups a user is a direct member of.",
                "users",
                200,
                None,
                Some("directoryObjectCollection"),
            ),
            get(h::member_of),
        ),
        (
            op(
                "get",
                "/users/{id}/appRoleAssignments",
                "List a user's app role assignments.",
                "users",
                200,
                None,
                Some("appRoleAssignmentCollection"),
            ),
            get(h::user_assignments),
        ),
        (
            op(
                "post",
                "/users/{id}/appRoleAssignments",
                "Assign a user to an application.",
                "users",
                201,
                Some("appRoleAssignment"),
                Some("appRoleAssignment"),
            ),
            post(h::add_user_assignment),
        ),
        (
            op(
                "delete",
                "/users/{id}/appRoleAssignments/{assignmentId}",
                "Remove an app role assignment of a user.",
                "users",
                204,
                None,
                None,
            ),
            delete(h::remove_assignment),
        ),
        (
            op(
                "get",
                "/groups/{id}/members",
                "List a group's direct members.",
                "groups",
                200,
                None,
                Some("directoryObjectCollection"),
            ),
            get(h::members),
        ),
        (
            op(
                "post",
                "/groups/{id}/members/$ref",
                "Add a member (user or group) to a group.",
                "groups",
                204,
                Some("reference"),
                None,
            ),
            post(h::add_member),
        ),
        (
            op(
                "delete",
                "/groups/{id}/members/{memberId}/$ref",
                "Remove a member from a group.",
                "groups",
                204,
                None,
                None,
            ),
            delete(h::remove_member),
        ),
        (
            op(
                "get",
                "/groups/{id}/memberOf",
                "List the groups a group is a direct member of.",
                "groups",
                200,
                None,
                Some("directoryObjectCollection"),
            ),
            get(h::member_of),
        ),
        (
            op(
                "get",
                "/servicePrincipals/{id}/appRoleAssignedTo",
                "List the users and groups assigned to an application.",
                "servicePrincipals",
                200,
                None,
                Some("appRoleAssignmentCollection"),
            ),
            get(h::assigned_to),
        ),
        (
            op(
                "post",
                "/servicePrincipals/{id}/appRoleAssignedTo",
                "Assign a user or group to an application.",
                "servicePrincipals",
                201,
                Some("appRoleAssignment"),
                Some("appRoleAssignment"),
            ),
            post(h::add_assigned_to),
        ),
        (
            op(
                "delete",
                "/servicePrincipals/{id}/appRoleAssignedTo/{assignmentId}",
                "Remove an assignment from an application.",
                "servicePrincipals",
                204,
                None,
                None,
            ),
            delete(h::remove_assignment),
        ),
        (
            op(
                "get",
                "/directory/deletedItems/microsoft.graph.user",
                "List deleted users.",
                "deletedItems",
                200,
                None,
                Some("userCollection"),
            ),
            get(
                |State(s): State<ApiState>, headers: HeaderMap, OriginalUri(uri): OriginalUri| {
                    h::deleted_list(s, ObjectKind::User, headers, uri)
                },
            ),
        ),
        (
            op(
                "get",
                "/directory/deletedItems/microsoft.graph.group",
                "List deleted groups.",
                "deletedItems",
                200,
                None,
                Some("groupCollection"),
            ),
            get(
                |State(s): State<ApiState>, headers: HeaderMap, OriginalUri(uri): OriginalUri| {
                    h::deleted_list(s, ObjectKind::Group, headers, uri)
                },
            ),
        ),
        (
            op(
                "get",
                "/directory/deletedItems/{id}",
                "Get a deleted user or group.",
                "deletedItems",
                200,
                None,
                Some("directoryObject"),
            ),
            get(h::deleted_get),
        ),
        (
            op(
                "delete",
                "/directory/deletedItems/{id}",
                "Purge a deleted user or group for good.",
                "deletedItems",
                204,
                None,
                None,
            ),
            delete(h::deleted_purge),
        ),
        (
            op(
                "post",
                "/directory/deletedItems/{id}/restore",
                "Restore a deleted user or group.",
                "deletedItems",
                200,
                None,
                Some("directoryObject"),
            ),
            post(h::deleted_restore),
        ),
        (
            op(
                "post",
                "/$batch",
                "JSON batching: up to 20 requests in one.",
                "batch",
                200,
                Some("batchRequest"),
                Some("batchResponse"),
            ),
            post(crate::batch::batch),
        ),
    ]);
    t
}

/// Routes outside Graph's namespace.
fn admin_table() -> Vec<(Operation, MethodRouter<ApiState>)> {
    vec![
        (
            op("post", "/admin/directory/import", "Import users and groups (upsert) with their manager and member references, streamed as JSON Lines (?type=user|group for records without @odata.type, ?dryRun=true to validate without writing).", "admin", 200, Some("importStream"), Some("importResponse")),
            post(crate::import::import),
        ),
        (
            op("get", "/admin/directory/changes", "Read the change log after a watermark (?after=SEQ&top=N).", "admin", 200, None, Some("changeCollection")),
            get(crate::import::changes),
        ),
    ]
}

fn build(table: Vec<(Operation, MethodRouter<ApiState>)>) -> Router<ApiState> {
    table
        .into_iter()
        .fold(Router::new(), |router, (op, handler)| {
            router.route(op.path, handler)
        })
}

pub fn graph_router() -> Router<ApiState> {
    build(graph_table())
}

pub fn admin_router() -> Router<ApiState> {
    build(admin_table())
}

/// The documented operations: Graph ones (relative to a version) and admin ones.
pub fn operations() -> (Vec<Operation>, Vec<Operation>) {
    (
        graph_table().into_iter().map(|(o, _)| o).collect(),
        admin_table().into_iter().map(|(o, _)| o).collect(),
    )
}
