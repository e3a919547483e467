//! The route table: every operation with its method, path and what it answers, gathered
//! from each area of the API (the directory, …). The router and the OpenAPI document are
//! both built from it, so the document cannot drift from the handlers.

use axum::routing::{post, MethodRouter};
use axum::Router;

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

pub const fn op(
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

/// An operation and its handler.
pub type Route = (Operation, MethodRouter<ApiState>);

/// An area's operations: Graph ones (relative to a version) and admin ones.
#[derive(Default)]
pub struct RouteTable {
    pub graph: Vec<Route>,
    pub admin: Vec<Route>,
}

impl RouteTable {
    fn merge(&mut self, other: RouteTable) {
        self.graph.extend(other.graph);
        self.admin.extend(other.admin);
    }
}

/// Every operation of the API: each area's, then JSON batching.
fn table() -> RouteTable {
    let mut table = RouteTable::default();
    table.merge(crate::directory::routes());
    table.merge(crate::synchronization::routes());
    table.merge(crate::audit_logs::routes());
    table.graph.push((
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
    ));
    table
}

fn build(table: Vec<Route>) -> Router<ApiState> {
    table
        .into_iter()
        .fold(Router::new(), |router, (op, handler)| {
            router.route(op.path, handler)
        })
}

pub fn graph_router() -> Router<ApiState> {
    build(table().graph)
}

pub fn admin_router() -> Router<ApiState> {
    build(table().admin)
}

/// The documented operations: Graph ones (relative to a version) and admin ones.
pub fn operations() -> (Vec<Operation>, Vec<Operation>) {
    let table = table();
    (
        table.graph.into_iter().map(|(o, _)| o).collect(),
        table.admin.into_iter().map(|(o, _)| o).collect(),
    )
}
