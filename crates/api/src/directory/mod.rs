//! The source directory's part of the API: users, groups, service principals, their
//! references and app role assignments, deleted items, delta queries under `/v1.0` and
//! `/beta`, and the import and change log endpoints under `/admin/directory`.

use axum::extract::{OriginalUri, Path, State};
use axum::http::HeaderMap;
use axum::routing::{delete, get, patch, post, put};
use provisio_directory::ObjectKind;

use crate::body::JsonObject;
use crate::routes::{op, Route, RouteTable};
use crate::ApiState;

mod assignments;
mod casts;
mod changes;
mod deleted_items;
mod delta;
mod import;
mod json_pages;
mod manager;
mod members;
mod objects;
pub(crate) mod query;
mod relationships;

/// The directory's route table.
pub fn routes() -> RouteTable {
    RouteTable {
        graph: graph_routes(),
        admin: admin_routes(),
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
                    objects::list_objects(s, KIND, headers, uri)
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
                    objects::create_object(s, KIND, headers, uri, body)
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
            get(|State(s): State<ApiState>| objects::count(s, KIND)),
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
                    objects::get_object(s, KIND, id, headers, uri)
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
                 JsonObject(body): JsonObject| {
                    objects::update_object(s, KIND, id, body)
                },
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
                objects::delete_object(s, KIND, id)
            }),
        ));
    }};
}

/// The directory's operations under `/v1.0` and `/beta`, with their handlers.
fn graph_routes() -> Vec<Route> {
    let mut t: Vec<Route> = Vec::new();
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
                    delta::delta(s, ObjectKind::User, headers, uri)
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
                    delta::delta(s, ObjectKind::Group, headers, uri)
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
            get(manager::get_manager),
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
            get(manager::get_manager_ref),
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
            put(manager::set_manager),
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
            delete(manager::remove_manager),
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
            get(manager::direct_reports),
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
            get(members::member_of),
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
            get(assignments::user_assignments),
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
            post(assignments::add_user_assignment),
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
            delete(assignments::remove_assignment),
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
            get(members::members),
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
            post(members::add_member),
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
            delete(members::remove_member),
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
            get(members::member_of),
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
            get(assignments::assigned_to),
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
            post(assignments::add_assigned_to),
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
            delete(assignments::remove_assignment),
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
                    deleted_items::deleted_list(s, ObjectKind::User, headers, uri)
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
                    deleted_items::deleted_list(s, ObjectKind::Group, headers, uri)
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
            get(deleted_items::deleted_get),
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
            delete(deleted_items::deleted_purge),
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
            post(deleted_items::deleted_restore),
        ),
    ]);
    for cast in CASTS {
        let Cast {
            related, kind, tag, ..
        } = *cast;
        t.push((
            op(
                "get",
                cast.path,
                cast.summary,
                tag,
                200,
                None,
                Some(cast.schema),
            ),
            get(
                move |State(s): State<ApiState>,
                      Path(id): Path<String>,
                      headers: HeaderMap,
                      OriginalUri(uri): OriginalUri| {
                    casts::list(s, related, id, kind, headers, uri)
                },
            ),
        ));
        t.push((
            op(
                "get",
                cast.count_path,
                cast.count_summary,
                tag,
                200,
                None,
                None,
            ),
            get(
                move |State(s): State<ApiState>,
                      Path(id): Path<String>,
                      OriginalUri(uri): OriginalUri| {
                    casts::count(s, related, id, kind, uri)
                },
            ),
        ));
    }
    t
}

/// The directory's operations outside Graph's namespace.
/// One relationship read through a type cast, and its `/$count`.
#[derive(Clone, Copy)]
struct Cast {
    path: &'static str,
    count_path: &'static str,
    summary: &'static str,
    count_summary: &'static str,
    tag: &'static str,
    schema: &'static str,
    related: casts::Related,
    kind: ObjectKind,
}

const CASTS: &[Cast] = &[
    Cast {
        path: "/groups/{id}/members/microsoft.graph.user",
        count_path: "/groups/{id}/members/microsoft.graph.user/$count",
        summary: "List a group's direct members that are users ($filter, $select, $count, $top).",
        count_summary: "Count a group's direct members that are users (plain text).",
        tag: "groups",
        schema: "userCollection",
        related: casts::Related::Members,
        kind: ObjectKind::User,
    },
    Cast {
        path: "/groups/{id}/members/microsoft.graph.group",
        count_path: "/groups/{id}/members/microsoft.graph.group/$count",
        summary: "List a group's direct members that are groups ($filter, $select, $count, $top).",
        count_summary: "Count a group's direct members that are groups (plain text).",
        tag: "groups",
        schema: "groupCollection",
        related: casts::Related::Members,
        kind: ObjectKind::Group,
    },
    Cast {
        path: "/users/{id}/memberOf/microsoft.graph.group",
        count_path: "/users/{id}/memberOf/microsoft.graph.group/$count",
        summary: "List the groups a user is a direct member of ($filter, $select, $count, $top).",
        count_summary: "Count the groups a user is a direct member of (plain text).",
        tag: "users",
        schema: "groupCollection",
        related: casts::Related::MemberOf,
        kind: ObjectKind::Group,
    },
    Cast {
        path: "/groups/{id}/memberOf/microsoft.graph.group",
        count_path: "/groups/{id}/memberOf/microsoft.graph.group/$count",
        summary: "List the groups a group is a direct member of ($filter, $select, $count, $top).",
        count_summary: "Count the groups a group is a direct member of (plain text).",
        tag: "groups",
        schema: "groupCollection",
        related: casts::Related::MemberOf,
        kind: ObjectKind::Group,
    },
];

fn admin_routes() -> Vec<Route> {
    vec![
        (
            op("post", "/admin/directory/import", "Import users and groups (upsert) with their manager and member references, streamed as JSON Lines (?type=user|group for records without @odata.type, ?dryRun=true to validate without writing).", "admin", 200, Some("importStream"), Some("importResponse")),
            post(import::import),
        ),
        (
            op("get", "/admin/directory/changes", "Read the change log after a watermark (?after=SEQ&top=N).", "admin", 200, None, Some("changeCollection")),
            get(changes::changes),
        ),
    ]
}
