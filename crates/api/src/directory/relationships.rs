//! What the relationship handlers share: objects of mixed kinds reached through a
//! reference, lists paged by id, and the ids in `$ref` bodies.

use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use provisio_directory::schema::id_from_reference;
use provisio_directory::{ObjectKind, StoredObject};
use serde_json::{Map, Value};

use super::query::{self, version_base};
use crate::{ApiResult, GraphError};

/// A directory object of any kind, as Graph returns one reached through a reference or from
/// deleted items: `$metadata#directoryObjects/$entity` and the object's `@odata.type`.
pub(super) fn directory_object(
    base: &str,
    kind: ObjectKind,
    properties: Map<String, Value>,
) -> Response {
    let mut m = Map::with_capacity(properties.len() + 2);
    m.insert(
        "@odata.context".to_string(),
        Value::String(format!("{base}/$metadata#directoryObjects/$entity")),
    );
    m.insert(
        "@odata.type".to_string(),
        Value::String(kind.odata_type().to_string()),
    );
    m.extend(properties);
    Json(Value::Object(m)).into_response()
}

/// Renders objects of mixed kinds (members, memberOf) with their `@odata.type`.
pub(super) fn directory_objects(
    base: &str,
    objects: &[StoredObject],
    next: Option<String>,
) -> Value {
    let values: Vec<Value> = objects
        .iter()
        .map(|o| {
            let mut m = Map::new();
            m.insert(
                "@odata.type".to_string(),
                Value::String(o.kind.odata_type().to_string()),
            );
            m.extend(query::render(o, None));
            Value::Object(m)
        })
        .collect();
    let mut out = Map::new();
    out.insert(
        "@odata.context".to_string(),
        Value::String(format!("{base}/$metadata#directoryObjects")),
    );
    if let Some(n) = next {
        out.insert("@odata.nextLink".to_string(), Value::String(n));
    }
    out.insert("value".to_string(), Value::Array(values));
    Value::Object(out)
}

/// `$top` and `$skiptoken` of a reference list paged by id.
pub(super) fn id_paging(uri: &axum::http::Uri) -> Result<(usize, Option<uuid::Uuid>), GraphError> {
    let options = query::options(uri)?;
    if options.filter.is_some() || options.orderby.is_some() {
        return Err(GraphError::bad_request(
            "$filter and $orderby are not supported on this relationship.",
        ));
    }
    let after = options
        .skiptoken
        .as_deref()
        .map(query::decode_skiptoken)
        .transpose()?
        .map(|c| c.id);
    Ok((
        options.top.map_or(query::DEFAULT_PAGE, |t| t as usize),
        after,
    ))
}

/// The `@odata.nextLink` of a list paged by id: present when the page is full, starting
/// after its last id.
pub(super) fn id_next_link(
    base: &str,
    uri: &axum::http::Uri,
    last: Option<uuid::Uuid>,
    len: usize,
    top: usize,
) -> Option<String> {
    let last = last.filter(|_| len == top)?;
    let token = query::encode_skiptoken(&provisio_directory::Cursor {
        key: last.to_string(),
        id: last,
    });
    Some(query::next_link(
        base,
        query::relative_path(uri),
        uri,
        &token,
    ))
}

/// A relationship listed page by page in id order (members, direct reports): `fetch` reads
/// the page after an id.
pub(super) async fn id_paged_objects<F, Fut>(
    headers: &HeaderMap,
    uri: &axum::http::Uri,
    fetch: F,
) -> ApiResult
where
    F: FnOnce(Option<uuid::Uuid>, usize) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<StoredObject>, GraphError>>,
{
    let (top, after) = id_paging(uri)?;
    let objects = fetch(after, top).await?;
    let base = version_base(headers, uri);
    let next = id_next_link(&base, uri, objects.last().map(|o| o.id), objects.len(), top);
    Ok(Json(directory_objects(&base, &objects, next)).into_response())
}

/// The id in a `$ref` body: `{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/{id}"}`.
pub(super) fn reference_id(body: &Map<String, Value>) -> Result<uuid::Uuid, GraphError> {
    let url = body
        .get("@odata.id")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            GraphError::bad_request(
                "A reference body needs \"@odata.id\": the URL or id of the object.",
            )
        })?;
    id_from_reference(url)
        .ok_or_else(|| GraphError::bad_request(format!("Invalid object identifier '{url}'.")))
}
