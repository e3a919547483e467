//! Lists with OData query options: `$filter` pushed to an index when it can be, `$select`,
//! `$orderby`, `$top`, `$count`, and paging through `@odata.nextLink` with an opaque
//! `$skiptoken` that holds the keyset position.

use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use provisio_directory::schema::{self, is_extension_name};
use provisio_directory::{
    Cursor, IndexSeek, ListQuery, ListRequest, ObjectKind, OrderKey, StoredObject,
};
use provisio_odata::{Direction, QueryOptions, Select};
use serde_json::{Map, Value};

use crate::{ApiState, GraphError};

/// Graph's default page size for directory lists.
pub const DEFAULT_PAGE: usize = 100;

/// The base URL of the API version a request came in on: `http://host:port/v1.0`.
pub fn version_base(headers: &HeaderMap, uri: &Uri) -> String {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let version = if uri.path().starts_with("/beta") {
        "beta"
    } else {
        "v1.0"
    };
    format!("http://{host}/{version}")
}

/// Parses the OData options of a request's query string.
pub fn options(uri: &Uri) -> Result<QueryOptions, GraphError> {
    options_except(uri, &[])
}

/// The OData options, leaving out `extra` ones (without `$`) that the caller reads itself,
/// such as `$deltatoken`.
pub fn options_except(uri: &Uri, extra: &[&str]) -> Result<QueryOptions, GraphError> {
    let raw = uri.query().unwrap_or("");
    let pairs = form_urlencoded::parse(raw.as_bytes()).filter(|(k, _)| {
        let bare = k.trim_start_matches('$');
        !extra.iter().any(|e| e.eq_ignore_ascii_case(bare))
    });
    Ok(QueryOptions::parse(pairs)?)
}

fn unknown_property(kind: ObjectKind, name: &str) -> GraphError {
    GraphError::bad_request(format!(
        "Could not find a property named '{name}' on type 'microsoft.graph.{}'.",
        kind.as_str()
    ))
}

/// Checks that every property `$filter`, `$select` and `$orderby` name exists on `kind`.
pub fn check_properties(kind: ObjectKind, options: &QueryOptions) -> Result<(), GraphError> {
    let known = |name: &str| schema::property(kind, name).is_some() || is_extension_name(name);
    if let Some(filter) = &options.filter {
        for path in filter.properties() {
            if let Some(root) = path.root_property() {
                if !known(root) {
                    return Err(unknown_property(kind, root));
                }
            }
        }
    }
    if let Some(select) = &options.select {
        for name in select.properties() {
            if name != "*" && !known(name) {
                return Err(unknown_property(kind, name));
            }
        }
    }
    Ok(())
}

/// The order a list can be sorted in: Graph sorts directory objects by `displayName` (and
/// users also by `userPrincipalName`), one key at a time.
fn order(kind: ObjectKind, options: &QueryOptions) -> Result<(OrderKey, bool), GraphError> {
    let Some(orderby) = &options.orderby else {
        return Ok((OrderKey::Id, false));
    };
    if orderby.items.len() > 1 {
        return Err(GraphError::bad_request(
            "Sorting by more than one property is not supported.",
        ));
    }
    let Some((name, direction)) = orderby.items.first() else {
        return Ok((OrderKey::Id, false));
    };
    let key = if name.eq_ignore_ascii_case("displayName") {
        OrderKey::DisplayName
    } else if name.eq_ignore_ascii_case("userPrincipalName") && kind == ObjectKind::User {
        OrderKey::UserPrincipalName
    } else if name.eq_ignore_ascii_case("id") {
        OrderKey::Id
    } else {
        return Err(GraphError::bad_request(format!(
            "Sorting by '{name}' is not supported: lists sort by displayName{}.",
            if kind == ObjectKind::User {
                " or userPrincipalName"
            } else {
                ""
            }
        )));
    };
    Ok((key, *direction == Direction::Desc))
}

/// The store query for `options`: an index seek or prefix from the filter when it has
/// one, the order, and the position of `$skiptoken`.
pub fn store_query(
    kind: ObjectKind,
    options: &QueryOptions,
    deleted: bool,
) -> Result<ListQuery, GraphError> {
    let (order, descending) = order(kind, options)?;
    let indexes = IndexSeek::for_kind(kind);
    let names: Vec<&str> = indexes.iter().map(|i| i.property()).collect();
    let by_name = |name: &str| indexes.iter().copied().find(|i| i.property() == name);
    let mut query = ListQuery {
        kind,
        seek: None,
        prefix: None,
        order,
        descending,
        after: None,
        limit: DEFAULT_PAGE,
        deleted,
    };
    if let Some(filter) = &options.filter {
        if let Some((name, values)) = filter.equality_on(&names) {
            query.seek = by_name(&name).map(|i| (i, values));
        } else if let Some((name, prefix)) = filter.prefix_on(&names) {
            if let Some(i) = by_name(&name).filter(|i| i.case_insensitive() && *i != IndexSeek::Id)
            {
                query.prefix = Some((i, prefix));
            }
        }
    }
    if let Some(token) = &options.skiptoken {
        query.after = Some(decode_skiptoken(token)?);
    }
    Ok(query)
}

pub fn encode_skiptoken(cursor: &Cursor) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("{}\n{}", cursor.id, cursor.key))
}

pub fn decode_skiptoken(token: &str) -> Result<Cursor, GraphError> {
    let invalid = || GraphError::bad_request(format!("Invalid $skiptoken '{token}'."));
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let (id, key) = text.split_once('\n').ok_or_else(invalid)?;
    Ok(Cursor {
        key: key.to_string(),
        id: uuid::Uuid::try_parse(id).map_err(|_| invalid())?,
    })
}

/// The object as returned: `$select`ed properties, or Graph's default set for the kind
/// (absent ones as `null`).
pub fn render(object: &StoredObject, select: Option<&Select>) -> Map<String, Value> {
    match select {
        Some(s) if !s.is_all() => provisio_odata::select::project(&object.to_graph(), s),
        Some(_) => object.to_graph(),
        None => {
            let mut out = Map::new();
            for p in schema::properties(object.kind) {
                if p.default_select {
                    let v = match p.name {
                        "id" => Value::String(object.id.to_string()),
                        "createdDateTime" => Value::String(object.created.clone()),
                        name => object.data.get(name).cloned().unwrap_or(Value::Null),
                    };
                    out.insert(p.name.to_string(), v);
                }
            }
            if let Some(d) = &object.deleted {
                out.insert("deletedDateTime".to_string(), Value::String(d.clone()));
            }
            out
        }
    }
}

/// `…/$metadata#users` or `…/$metadata#users(id,displayName)`.
pub fn context(base: &str, set: &str, select: Option<&Select>) -> String {
    match select {
        Some(s) if !s.is_all() => {
            let names: Vec<&str> = s.properties().collect();
            format!("{base}/$metadata#{set}({})", names.join(","))
        }
        _ => format!("{base}/$metadata#{set}"),
    }
}

/// Builds a query string that keeps `$`, `,`, `(`, `)`, `'` and `/` readable as Graph's own
/// links do, and percent-encodes the rest that a query value cannot carry.
pub fn query_string<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    fn push(out: &mut String, text: &str) {
        for b in text.bytes() {
            if b.is_ascii_alphanumeric() || b"$-_.~,()'/:@!*".contains(&b) {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    let mut out = String::new();
    for (k, v) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        push(&mut out, k);
        out.push('=');
        push(&mut out, v);
    }
    out
}

/// A query string with the request's options and a new `$skiptoken`.
pub fn next_link(base: &str, path: &str, uri: &Uri, skiptoken: &str) -> String {
    let kept: Vec<(String, String)> = form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .filter(|(k, _)| !k.trim_start_matches('$').eq_ignore_ascii_case("skiptoken"))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let pairs = kept
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain([("$skiptoken", skiptoken)]);
    format!("{base}/{path}?{}", query_string(pairs))
}

/// Answers a list request of `kind` (live or deleted objects).
pub async fn list(
    state: &ApiState,
    kind: ObjectKind,
    deleted: bool,
    headers: &HeaderMap,
    uri: &Uri,
    set: &str,
) -> Result<Response, GraphError> {
    let options = options(uri)?;
    check_properties(kind, &options)?;
    if options.search.is_some() {
        return Err(GraphError::bad_request(
            "$search is not supported; use $filter with startsWith.",
        ));
    }
    let base = version_base(headers, uri);
    let mut query = store_query(kind, &options, deleted)?;
    let page_size = options.top.map(|t| t as usize).unwrap_or(DEFAULT_PAGE);
    let filter = options.filter.clone();
    // Objects are matched in their Graph form (with `id` and timestamps).
    let predicate =
        move |o: &StoredObject| filter.as_ref().is_none_or(|f| f.matches(&o.to_graph()));
    let needs_predicate = options.filter.is_some();
    let count = if options.count {
        Some(
            state
                .directory
                .count_matching(&query, needs_predicate.then_some(&predicate))
                .await?,
        )
    } else {
        None
    };
    if options.filter.is_none() {
        return list_unfiltered(state, query, page_size, count, &options, &base, set, uri).await;
    }
    query.limit = page_size;
    let page = state
        .directory
        .list(ListRequest {
            query: query.clone(),
            predicate: needs_predicate
                .then_some(&predicate as &(dyn Fn(&StoredObject) -> bool + Sync)),
            page_size,
        })
        .await?;
    let mut out = Map::new();
    out.insert(
        "@odata.context".to_string(),
        Value::String(context(&base, set, options.select.as_ref())),
    );
    if let Some(n) = count {
        out.insert("@odata.count".to_string(), Value::from(n));
    }
    if let Some(next) = &page.next {
        out.insert(
            "@odata.nextLink".to_string(),
            Value::String(next_link(
                &base,
                relative_path(uri),
                uri,
                &encode_skiptoken(next),
            )),
        );
    }
    let values: Vec<Value> = page
        .objects
        .iter()
        .map(|o| Value::Object(render(o, options.select.as_ref())))
        .collect();
    out.insert("value".to_string(), Value::Array(values));
    Ok(axum::Json(Value::Object(out)).into_response())
}

/// The path of a request below its version: `users` for `/v1.0/users`.
pub fn relative_path(uri: &Uri) -> &str {
    uri.path().splitn(3, '/').nth(2).unwrap_or("")
}

/// A list page without a filter: one store read, rendered from the stored JSON text.
#[allow(clippy::too_many_arguments)]
async fn list_unfiltered(
    state: &ApiState,
    mut query: ListQuery,
    page_size: usize,
    count: Option<u64>,
    options: &QueryOptions,
    base: &str,
    set: &str,
    uri: &Uri,
) -> Result<Response, GraphError> {
    query.limit = page_size + 1;
    let mut rows = state.directory.list_raw(&query).await?;
    let next = if rows.len() > page_size {
        rows.truncate(page_size);
        rows.last()
            .map(|r| super::json_pages::cursor(r, query.order))
    } else {
        None
    };
    let select = options.select.as_ref();
    let mut body =
        String::with_capacity(rows.iter().map(|r| r.data.len() + 64).sum::<usize>() + 256);
    body.push_str("{\"@odata.context\":");
    body.push_str(&Value::String(context(base, set, select)).to_string());
    if let Some(n) = count {
        body.push_str(&format!(",\"@odata.count\":{n}"));
    }
    if let Some(next) = &next {
        let link = next_link(base, relative_path(uri), uri, &encode_skiptoken(next));
        body.push_str(",\"@odata.nextLink\":");
        body.push_str(&Value::String(link).to_string());
    }
    body.push_str(",\"value\":[");
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        if !super::json_pages::write_object(&mut body, row, select) {
            let object = super::json_pages::parse(row).ok_or_else(|| {
                GraphError::from(provisio_directory::DirectoryError::internal(format!(
                    "stored object {} is not JSON",
                    row.id
                )))
            })?;
            body.push_str(&Value::Object(render(&object, select)).to_string());
        }
    }
    body.push_str("]}");
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response())
}
