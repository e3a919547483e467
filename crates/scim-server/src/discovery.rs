//! Discovery endpoints (RFC 7644 §4): `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use provisio_scim::error::ScimError;
use provisio_scim::list::list_response;
use provisio_scim::schema::{Schema, SERVICE_PROVIDER_CONFIG_SCHEMA};
use serde_json::{json, Value};

use crate::http::{scim_json, ApiError, ApiResult, Ctx};
use crate::resources::ResourceId;
use crate::AppState;

pub async fn service_provider_config(State(state): State<AppState>, ctx: Ctx) -> Response {
    let c = &state.config;
    scim_json(
        StatusCode::OK,
        &json!({
            "schemas": [SERVICE_PROVIDER_CONFIG_SCHEMA],
            "documentationUri": "https://datatracker.ietf.org/doc/html/rfc7644",
            "patch": { "supported": true },
            "bulk": {
                "supported": true,
                "maxOperations": c.bulk_max_operations,
                "maxPayloadSize": c.max_body_bytes,
            },
            "filter": { "supported": true, "maxResults": c.max_results },
            "changePassword": { "supported": false },
            "sort": { "supported": true },
            "etag": { "supported": true },
            "authenticationSchemes": [{
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "Authentication with a bearer token in the Authorization header",
                "specUri": "https://www.rfc-editor.org/info/rfc6750",
                "primary": true,
            }],
            "meta": {
                "resourceType": "ServiceProviderConfig",
                "location": format!("{}/ServiceProviderConfig", ctx.base_url),
            },
        }),
    )
}

fn all_schemas(state: &AppState) -> Vec<&Schema> {
    let mut out = vec![&state.users.schema, &state.groups.schema];
    for (s, _) in state
        .users
        .extensions
        .iter()
        .chain(&state.groups.extensions)
    {
        if !out.iter().any(|x| x.id == s.id) {
            out.push(s);
        }
    }
    out
}

pub async fn schemas(State(state): State<AppState>, ctx: Ctx) -> Response {
    let items: Vec<Value> = all_schemas(&state)
        .into_iter()
        .map(|s| s.to_json(&ctx.base_url))
        .collect();
    scim_json(StatusCode::OK, &list_response(items.len() as u64, 1, items))
}

pub async fn schema(
    State(state): State<AppState>,
    ctx: Ctx,
    ResourceId(id): ResourceId,
) -> ApiResult<Response> {
    all_schemas(&state)
        .into_iter()
        .find(|s| s.id.eq_ignore_ascii_case(&id))
        .map(|s| scim_json(StatusCode::OK, &s.to_json(&ctx.base_url)))
        .ok_or_else(|| ApiError(ScimError::not_found(format!("no schema \"{id}\""))))
}

pub async fn resource_types(State(state): State<AppState>, ctx: Ctx) -> Response {
    let items = vec![
        state.users.to_json(&ctx.base_url),
        state.groups.to_json(&ctx.base_url),
    ];
    scim_json(StatusCode::OK, &list_response(2, 1, items))
}

pub async fn resource_type(
    State(state): State<AppState>,
    ctx: Ctx,
    ResourceId(id): ResourceId,
) -> ApiResult<Response> {
    [&state.users, &state.groups]
        .into_iter()
        .find(|rt| rt.id.eq_ignore_ascii_case(&id))
        .map(|rt| scim_json(StatusCode::OK, &rt.to_json(&ctx.base_url)))
        .ok_or_else(|| ApiError(ScimError::not_found(format!("no resource type \"{id}\""))))
}
