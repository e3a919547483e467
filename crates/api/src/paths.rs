//! Request paths as Graph clients write them, brought to the form the route table knows,
//! before routing:
//!
//! - empty segments collapse (`/v1.0//users`: Microsoft's SDKs send one when the base URL
//!   ends with a slash);
//! - a function call without parameters is its name (`/users/delta()` → `/users/delta`:
//!   the form the SDKs send for delta queries);
//! - type casts with the `graph.` alias take the full namespace (`/members/graph.user` →
//!   `/members/microsoft.graph.user`: the generated SDKs use the alias);
//! - an entity addressed by key in parentheses, as the object connections API is
//!   (`/objectConnections('8c1f…')` → `/objectConnections/8c1f…`; quotes may be
//!   percent-encoded, and the key stays as written otherwise);
//! - a user addressed by `userPrincipalName` instead of id (`/users/ann@contoso.com/manager`)
//!   is addressed by its id, as Graph allows everywhere a user id goes.
//!
//! It also names the segment of an unknown path that no route knows, as Graph does.

use axum::extract::{OriginalUri, Request, State};
use axum::http::Uri;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use provisio_directory::{DirectoryError, IndexSeek, ObjectKind};

use crate::{ApiState, GraphError};

/// Middleware: rewrites the request's path (and the `OriginalUri` the handlers read links
/// from) before the routes see it. Runs on a router whose only route is the fallback that
/// holds the real routes, so that it comes before their routing.
pub async fn normalise(State(state): State<ApiState>, mut req: Request, next: Next) -> Response {
    match normalise_request(&state, &mut req).await {
        Ok(()) => next.run(req).await,
        Err(error) => error.into_response(),
    }
}

/// Rewrites `req`'s path in place; fails with Graph's error when a userPrincipalName in
/// the path names no user.
pub async fn normalise_request(state: &ApiState, req: &mut Request) -> Result<(), GraphError> {
    let Some(path) = canonical_path(state, req.uri().path()).await? else {
        return Ok(());
    };
    let path_and_query = match req.uri().query() {
        Some(query) => format!("{path}?{query}"),
        None => path,
    };
    let mut parts = req.uri().clone().into_parts();
    parts.path_and_query = Some(
        path_and_query
            .parse()
            .map_err(|_| GraphError::bad_request("Invalid request URL."))?,
    );
    let uri =
        Uri::from_parts(parts).map_err(|_| GraphError::bad_request("Invalid request URL."))?;
    req.extensions_mut().insert(OriginalUri(uri.clone()));
    *req.uri_mut() = uri;
    Ok(())
}

/// The Graph path in canonical form, or `None` when it is already (or is no Graph path).
async fn canonical_path(state: &ApiState, path: &str) -> Result<Option<String>, GraphError> {
    let mut segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if !matches!(segments.first().map(String::as_str), Some("v1.0" | "beta")) {
        return Ok(None);
    }
    for segment in segments.iter_mut().skip(1) {
        if let Some(name) = segment.strip_suffix("()") {
            *segment = name.to_string();
        }
        if let Some(cast) = segment.strip_prefix("graph.") {
            *segment = format!("microsoft.graph.{cast}");
        }
    }
    let segments: Vec<String> = segments
        .into_iter()
        .flat_map(|segment| match key_segment(&segment) {
            Some((set, key)) => vec![set.to_string(), key.to_string()],
            None => vec![segment],
        })
        .collect();
    let mut segments = segments;
    if segments.get(1).map(String::as_str) == Some("users") {
        if let Some(user) = segments.get_mut(2) {
            if let Some(id) = user_id_for(state, user).await? {
                *user = id;
            }
        }
    }
    let rewritten = format!("/{}", segments.join("/"));
    Ok((rewritten != path).then_some(rewritten))
}

/// `objectConnections('key')` as the set and the key (its quotes, plain or
/// percent-encoded, removed).
fn key_segment(segment: &str) -> Option<(&str, &str)> {
    let (set, rest) = segment.split_once('(')?;
    if set != "objectConnections" {
        return None;
    }
    let inner = rest.strip_suffix(')')?;
    let unquoted = ["'", "%27"].iter().find_map(|quote| {
        inner
            .strip_prefix(quote)
            .and_then(|k| k.strip_suffix(quote))
    });
    Some((set, unquoted.unwrap_or(inner)))
}

/// The id of the user a path segment names by userPrincipalName; `None` when the segment
/// is an id (valid or not: the handler answers for it) or a route's own word.
async fn user_id_for(state: &ApiState, segment: &str) -> Result<Option<String>, GraphError> {
    let decoded = percent_decode(segment);
    if !decoded.contains('@') {
        return Ok(None);
    }
    let found = state
        .directory
        .lookup(ObjectKind::User, IndexSeek::UserPrincipalName, &decoded)
        .await?;
    match found {
        Some(id) => Ok(Some(id.to_string())),
        None => Err(DirectoryError::not_found(&decoded).into()),
    }
}

/// Percent-decodes a path segment (an invalid escape is kept as written).
fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                let value = hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0);
                out.push(u8::try_from(value).unwrap_or(b'?'));
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The first segment of `path` (below the version) that no route's path has at that
/// place, given the routes' paths (`/users/{id}/manager`, …); `{…}` matches any segment.
pub fn unknown_segment<'a>(path: &'a str, routes: &[&str]) -> &'a str {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let known = routes
        .iter()
        .map(|route| {
            let template: Vec<&str> = route.split('/').filter(|s| !s.is_empty()).collect();
            template
                .iter()
                .zip(&segments)
                .take_while(|(t, s)| t.starts_with('{') || t == s)
                .count()
        })
        .max()
        .unwrap_or(0);
    segments
        .get(known)
        .or(segments.last())
        .copied()
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_segments_are_named() {
        let routes = [
            "/users",
            "/users/{id}",
            "/users/{id}/manager",
            "/users/delta",
            "/groups/{id}/members/microsoft.graph.user",
        ];
        let cases = [
            ("robots", "robots"),
            ("users/abc/friends", "friends"),
            ("users/abc/manager/boss/x", "boss"),
            (
                "groups/g/members/microsoft.graph.robot",
                "microsoft.graph.robot",
            ),
            ("groups/g/owners", "owners"),
            ("", ""),
        ];
        for (path, expected) in cases {
            assert_eq!(unknown_segment(path, &routes), expected, "{path}");
        }
    }

    #[test]
    fn keys_in_parentheses_become_segments() {
        let cases = [
            (
                "objectConnections('abc')",
                Some(("objectConnections", "abc")),
            ),
            (
                "objectConnections(%27701984%27)",
                Some(("objectConnections", "701984")),
            ),
            ("objectConnections(abc)", Some(("objectConnections", "abc"))),
            ("objectConnections('')", Some(("objectConnections", ""))),
            ("users('abc')", None),
            ("objectConnections", None),
            ("objectConnections('abc'", None),
        ];
        for (segment, expected) in cases {
            assert_eq!(key_segment(segment), expected, "{segment}");
        }
    }

    #[test]
    fn percent_escapes_decode() {
        let cases = [
            ("ann%40contoso.com", "ann@contoso.com"),
            ("ann@contoso.com", "ann@contoso.com"),
            ("a%2", "a%2"),
            ("%zz", "%zz"),
            ("%C3%A9", "é"),
        ];
        for (segment, expected) in cases {
            assert_eq!(percent_decode(segment), expected, "{segment}");
        }
    }
}
