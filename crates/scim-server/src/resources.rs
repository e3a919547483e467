//! The `/Users`, `/Groups` and `/.search` endpoints.

use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use provisio_scim::error::ScimError;
use provisio_scim::list::{list_response, ListQuery, RawListParams};
use provisio_scim::projection::Projection;
use serde::Deserialize;
use serde_json::Value;

use crate::http::{
    etag, if_match, if_none_match_hits, no_content, path_param, prefers_minimal, scim_json,
    ApiError, ApiResult, Ctx, JsonBody,
};
use crate::store::{ReadOptions, ResourceKind, StoredResource};
use crate::{query, service, AppState};

/// The `{id}` segment of a resource URL.
pub struct ResourceId(pub String);

impl FromRequestParts<AppState> for ResourceId {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        path_param(parts, state, "id")
            .await?
            .map(ResourceId)
            .ok_or_else(|| ApiError(ScimError::not_found("unknown path")))
    }
}

/// Query parameters of list and single-resource reads.
#[derive(Debug, Default, Deserialize)]
pub struct ListParams {
    filter: Option<String>,
    #[serde(rename = "sortBy")]
    sort_by: Option<String>,
    #[serde(rename = "sortOrder")]
    sort_order: Option<String>,
    #[serde(rename = "startIndex")]
    start_index: Option<String>,
    count: Option<String>,
    attributes: Option<String>,
    #[serde(rename = "excludedAttributes")]
    excluded_attributes: Option<String>,
}

impl ListParams {
    fn raw(self) -> RawListParams {
        RawListParams {
            filter: self.filter,
            sort_by: self.sort_by,
            sort_order: self.sort_order,
            start_index: self.start_index,
            count: self.count,
            attributes: self.attributes,
            excluded_attributes: self.excluded_attributes,
        }
    }
    fn projection(&self) -> ApiResult<Projection> {
        Ok(Projection::parse(
            self.attributes.as_deref(),
            self.excluded_attributes.as_deref(),
        )?)
    }
}

type Params = Result<Query<ListParams>, axum::extract::rejection::QueryRejection>;

fn params(p: Params) -> ApiResult<ListParams> {
    p.map(|Query(p)| p)
        .map_err(|e| ApiError(ScimError::invalid_value(format!("bad query string: {e}"))))
}

fn resource_response(
    state: &AppState,
    ctx: &Ctx,
    status: StatusCode,
    stored: &StoredResource,
    projection: &Projection,
) -> Response {
    let body = service::render(state, ctx, stored, projection);
    let mut resp = scim_json(status, &body);
    let headers = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag(stored.version)) {
        headers.insert(header::ETAG, v);
    }
    if status == StatusCode::CREATED {
        if let Ok(v) = HeaderValue::from_str(&service::location(ctx, stored.kind, &stored.id)) {
            headers.insert(header::LOCATION, v);
        }
    }
    resp
}

async fn list(state: AppState, ctx: Ctx, kind: ResourceKind, q: ListQuery) -> ApiResult<Response> {
    let page = query::run(&state, &ctx, kind, &q).await?;
    let resources = page
        .resources
        .iter()
        .map(|r| service::render(&state, &ctx, r, &q.projection))
        .collect();
    Ok(scim_json(
        StatusCode::OK,
        &list_response(page.total, q.start_index, resources),
    ))
}

async fn get_one(
    state: AppState,
    ctx: Ctx,
    kind: ResourceKind,
    id: String,
    headers: HeaderMap,
    p: ListParams,
) -> ApiResult<Response> {
    let projection = p.projection()?;
    let opts = projected_reads(&state, kind, &projection);
    let stored = state.store.get(&ctx.tenant, kind, &id, opts).await?;
    if if_none_match_hits(&headers, stored.version) {
        let mut r = StatusCode::NOT_MODIFIED.into_response();
        if let Ok(v) = HeaderValue::from_str(&etag(stored.version)) {
            r.headers_mut().insert(header::ETAG, v);
        }
        return Ok(r);
    }
    Ok(resource_response(
        &state,
        &ctx,
        StatusCode::OK,
        &stored,
        &projection,
    ))
}

/// The computed attributes (a group's members, a user's groups) that `projection` keeps.
fn projected_reads(state: &AppState, kind: ResourceKind, projection: &Projection) -> ReadOptions {
    let rt = state.resource_type(kind);
    ReadOptions {
        with_members: kind == ResourceKind::Group && !projection.omits(rt, "members"),
        with_groups: kind == ResourceKind::User && !projection.omits(rt, "groups"),
    }
}

/// The computed attributes the response to a write shows, as [`written`] decides: none
/// when the client asked for no body, else those the projection keeps. A write asks its
/// store for these only, so that a member PATCH answered without members never reads them.
/// A projection that does not parse asks for all: `written` refuses it as before.
fn response_reads(
    state: &AppState,
    kind: ResourceKind,
    headers: &HeaderMap,
    p: &ListParams,
) -> ReadOptions {
    if prefers_minimal(headers) {
        return ReadOptions::NONE;
    }
    match p.projection() {
        Ok(projection) => projected_reads(state, kind, &projection),
        Err(_) => ReadOptions::ALL,
    }
}

/// The response to a write. `carries` says which computed attributes `stored` already has
/// (as a `get` with those options would show them); the others the response needs are
/// re-read, so that it shows what GET would.
async fn written(
    state: &AppState,
    ctx: &Ctx,
    status: StatusCode,
    stored: StoredResource,
    carries: ReadOptions,
    headers: &HeaderMap,
    p: ListParams,
) -> ApiResult<Response> {
    if prefers_minimal(headers) {
        let mut r = no_content();
        if let Ok(v) = HeaderValue::from_str(&etag(stored.version)) {
            r.headers_mut().insert(header::ETAG, v);
        }
        return Ok(r);
    }
    let projection = p.projection()?;
    let opts = projected_reads(state, stored.kind, &projection);
    let needs_read =
        (opts.with_members && !carries.with_members) || (opts.with_groups && !carries.with_groups);
    let fresh = if needs_read {
        match state
            .store
            .get(&ctx.tenant, stored.kind, &stored.id, opts)
            .await
        {
            Ok(f) if f.version == stored.version => f,
            _ => stored,
        }
    } else {
        stored
    };
    Ok(resource_response(state, ctx, status, &fresh, &projection))
}

macro_rules! resource_handlers {
    ($kind:expr, $list:ident, $search:ident, $create:ident, $get:ident, $replace:ident, $patch:ident, $delete:ident) => {
        pub async fn $list(
            State(state): State<AppState>,
            ctx: Ctx,
            p: Params,
        ) -> ApiResult<Response> {
            let q = params(p)?.raw().parse()?;
            list(state, ctx, $kind, q).await
        }
        pub async fn $search(
            State(state): State<AppState>,
            ctx: Ctx,
            JsonBody(body): JsonBody,
        ) -> ApiResult<Response> {
            let q = RawListParams::from_search_request(&body)?.parse()?;
            list(state, ctx, $kind, q).await
        }
        pub async fn $create(
            State(state): State<AppState>,
            ctx: Ctx,
            headers: HeaderMap,
            p: Params,
            JsonBody(body): JsonBody,
        ) -> ApiResult<Response> {
            let p = params(p)?;
            let stored = service::create(&state, &ctx, $kind, &body).await?;
            let carries = service::write_read_options();
            written(
                &state,
                &ctx,
                StatusCode::CREATED,
                stored,
                carries,
                &headers,
                p,
            )
            .await
        }
        pub async fn $get(
            State(state): State<AppState>,
            ctx: Ctx,
            ResourceId(id): ResourceId,
            headers: HeaderMap,
            p: Params,
        ) -> ApiResult<Response> {
            get_one(state, ctx, $kind, id, headers, params(p)?).await
        }
        pub async fn $replace(
            State(state): State<AppState>,
            ctx: Ctx,
            ResourceId(id): ResourceId,
            headers: HeaderMap,
            p: Params,
            JsonBody(body): JsonBody,
        ) -> ApiResult<Response> {
            let p = params(p)?;
            let stored =
                service::replace(&state, &ctx, $kind, &id, &body, if_match(&headers)).await?;
            let carries = service::write_read_options();
            written(&state, &ctx, StatusCode::OK, stored, carries, &headers, p).await
        }
        pub async fn $patch(
            State(state): State<AppState>,
            ctx: Ctx,
            ResourceId(id): ResourceId,
            headers: HeaderMap,
            p: Params,
            JsonBody(body): JsonBody,
        ) -> ApiResult<Response> {
            let p = params(p)?;
            // The result carries at least these (a generic PATCH carries all).
            let carries = response_reads(&state, $kind, &headers, &p);
            let stored =
                service::patch(&state, &ctx, $kind, &id, &body, if_match(&headers), carries)
                    .await?;
            written(&state, &ctx, StatusCode::OK, stored, carries, &headers, p).await
        }
        pub async fn $delete(
            State(state): State<AppState>,
            ctx: Ctx,
            ResourceId(id): ResourceId,
            headers: HeaderMap,
        ) -> ApiResult<Response> {
            service::delete(&state, &ctx, $kind, &id, if_match(&headers)).await?;
            Ok(no_content())
        }
    };
}

resource_handlers!(
    ResourceKind::User,
    list_users,
    search_users,
    create_user,
    get_user,
    replace_user,
    patch_user,
    delete_user
);
resource_handlers!(
    ResourceKind::Group,
    list_groups,
    search_groups,
    create_group,
    get_group,
    replace_group,
    patch_group,
    delete_group
);

/// `POST /.search` at the root: Users, then Groups, paged as one list (RFC 7644 §3.4.3).
pub async fn search_all(
    State(state): State<AppState>,
    ctx: Ctx,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let q = RawListParams::from_search_request(&body)?.parse()?;
    if q.sort_by.is_some() {
        return Err(ApiError(ScimError::invalid_value(
            "sortBy is not supported across resource types; search /Users or /Groups",
        )));
    }
    let count = q
        .count
        .unwrap_or(state.config.default_count)
        .min(state.config.max_results);
    let wanted = q.start_index.saturating_sub(1) + count;
    // Users first: ask for enough of them to fill the page, then the rest from Groups.
    let users_q = ListQuery {
        count: Some(wanted.min(state.config.max_results)),
        start_index: 1,
        ..q.clone()
    };
    let users = query::run(&state, &ctx, ResourceKind::User, &users_q).await?;
    let offset = q.start_index.saturating_sub(1);
    let mut page: Vec<Value> = users
        .resources
        .iter()
        .skip(offset as usize)
        .take(count as usize)
        .map(|r| service::render(&state, &ctx, r, &q.projection))
        .collect();
    let groups_offset = offset.saturating_sub(users.total);
    let groups_q = ListQuery {
        start_index: groups_offset + 1,
        count: Some(count - page.len() as u64),
        ..q.clone()
    };
    let groups = query::run(&state, &ctx, ResourceKind::Group, &groups_q).await?;
    page.extend(
        groups
            .resources
            .iter()
            .map(|r| service::render(&state, &ctx, r, &q.projection)),
    );
    Ok(scim_json(
        StatusCode::OK,
        &list_response(users.total + groups.total, q.start_index, page),
    ))
}
