//! Relationships read through an OData type cast: `groups/{id}/members/microsoft.graph.user`
//! (and `…group`), `users/{id}/memberOf/microsoft.graph.group`, `groups/{id}/memberOf/…`,
//! with `$filter`, `$select`, `$count`, `$top` and paging, and their `/$count`.
//!
//! As Graph answers them (`api-reference/v1.0/api/group-list-members.md` in
//! `microsoftgraph/microsoft-graph-docs-contrib`, examples 3 and 4): the context is the cast
//! type's entity set (`$metadata#users(displayName,id)`), the values carry no
//! `@odata.type`, and `/$count` is a plain-text number.

use axum::http::{header, HeaderMap, Uri};
use axum::response::IntoResponse;
use axum::Json;
use provisio_directory::{Cursor, ObjectKind, StoredObject};
use provisio_odata::query::QueryOptions;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::query::{self, version_base};
use crate::ids::PathId;
use crate::{ApiResult, ApiState, GraphError};

/// Which relationship is read.
#[derive(Debug, Clone, Copy)]
pub enum Related {
    /// A group's direct members.
    Members,
    /// The groups an object is a direct member of.
    MemberOf,
}

/// Members are read in id order, this many at a time.
const CHUNK: usize = 500;

/// Matching objects of one cast relationship, visited in id order after `after`.
struct Scan<'a> {
    state: &'a ApiState,
    related: Related,
    owner: &'a PathId,
    kind: ObjectKind,
    options: &'a QueryOptions,
}

impl Scan<'_> {
    fn matches(&self, object: &StoredObject) -> bool {
        object.kind == self.kind
            && self
                .options
                .filter
                .as_ref()
                .is_none_or(|f| f.matches(&object.to_graph()))
    }

    /// Up to `limit` matching objects after `after`, and whether more match (`limit` is
    /// `usize::MAX` to count them all).
    async fn read(
        &self,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<(Vec<StoredObject>, u64, bool), GraphError> {
        let mut page = Vec::new();
        let mut matched = 0u64;
        let mut cursor = after;
        loop {
            let chunk = self.chunk(cursor).await?;
            let last_chunk = chunk.len() < CHUNK;
            cursor = chunk.last().map(|o| o.id).or(cursor);
            for object in chunk {
                if !self.matches(&object) {
                    continue;
                }
                if page.len() == limit {
                    return Ok((page, matched, true));
                }
                matched += 1;
                if limit != usize::MAX {
                    page.push(object);
                }
            }
            if last_chunk {
                return Ok((page, matched, false));
            }
        }
    }

    async fn chunk(&self, after: Option<Uuid>) -> Result<Vec<StoredObject>, GraphError> {
        let owner = self.owner;
        match self.related {
            Related::Members => (self.state.directory.members(owner.uuid, after, CHUNK).await)
                .map_err(|e| owner.graph_error(e)),
            Related::MemberOf => {
                let mut groups = (self.state.directory.member_of(owner.uuid).await)
                    .map_err(|e| owner.graph_error(e))?;
                groups.sort_by_key(|g| g.id);
                groups.retain(|g| after.is_none_or(|a| g.id > a));
                Ok(groups)
            }
        }
    }
}

fn cast_options(kind: ObjectKind, uri: &Uri) -> Result<QueryOptions, GraphError> {
    let options = query::options(uri)?;
    query::check_properties(kind, &options)?;
    if options.orderby.is_some() || options.search.is_some() {
        return Err(GraphError::bad_request(
            "$orderby and $search are not supported on this relationship; it is listed by id.",
        ));
    }
    Ok(options)
}

/// `GET …/members/microsoft.graph.user` and the like.
pub async fn list(
    state: ApiState,
    related: Related,
    owner: String,
    kind: ObjectKind,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult {
    let owner = PathId::parse(&owner)?;
    let options = cast_options(kind, &uri)?;
    let scan = Scan {
        state: &state,
        related,
        owner: &owner,
        kind,
        options: &options,
    };
    let after = options
        .skiptoken
        .as_deref()
        .map(query::decode_skiptoken)
        .transpose()?
        .map(|c| c.id);
    let top = options.top.map_or(query::DEFAULT_PAGE, |t| t as usize);
    let (page, _, more) = scan.read(after, top).await?;
    let count = if options.count {
        Some(scan.read(None, usize::MAX).await?.1)
    } else {
        None
    };
    let base = version_base(&headers, &uri);
    let mut out = Map::new();
    out.insert(
        "@odata.context".to_string(),
        Value::String(query::context(
            &base,
            kind.entity_set(),
            options.select.as_ref(),
        )),
    );
    if let Some(n) = count {
        out.insert("@odata.count".to_string(), Value::from(n));
    }
    if let (true, Some(last)) = (more, page.last()) {
        let token = query::encode_skiptoken(&Cursor {
            key: last.id.to_string(),
            id: last.id,
        });
        out.insert(
            "@odata.nextLink".to_string(),
            Value::String(query::next_link(
                &base,
                query::relative_path(&uri),
                &uri,
                &token,
            )),
        );
    }
    let values = page
        .iter()
        .map(|o| Value::Object(query::render(o, options.select.as_ref())))
        .collect();
    out.insert("value".to_string(), Value::Array(values));
    Ok(Json(Value::Object(out)).into_response())
}

/// `GET …/members/microsoft.graph.user/$count`: the number as plain text.
pub async fn count(
    state: ApiState,
    related: Related,
    owner: String,
    kind: ObjectKind,
    uri: Uri,
) -> ApiResult {
    let owner = PathId::parse(&owner)?;
    let options = cast_options(kind, &uri)?;
    let scan = Scan {
        state: &state,
        related,
        owner: &owner,
        kind,
        options: &options,
    };
    let (_, n, _) = scan.read(None, usize::MAX).await?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        n.to_string(),
    )
        .into_response())
}
