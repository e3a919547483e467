//! Building each request: its method, its path and query relative to the base URL (ids and
//! query values percent-encoded), a readable form of it for errors, and its body, with PATCH
//! operations rendered in the job's dialect.

use provisio_engine::target::{eq_filter, PatchOp, PatchOperation, TargetKind};
use provisio_scim::patch::PATCH_OP_SCHEMA;
use reqwest::Method;
use serde_json::{json, Map, Value};

use crate::config::PatchStyle;

/// One request, ready to send to any base URL.
#[derive(Debug, Clone, PartialEq)]
pub struct ScimRequest {
    pub method: Method,
    /// Path and query relative to the base URL, percent-encoded: `/Users?filter=userName%20eq…`.
    pub target: String,
    /// The same, readable, for errors and logs: `/Users?filter=userName eq "ann"`.
    pub described: String,
    pub body: Option<Value>,
    /// Whether sending it twice does no more than sending it once, so that a failure after
    /// it may have reached the target can be retried.
    pub idempotent: bool,
}

impl ScimRequest {
    fn new(method: Method, path: String, query: &[(&str, String)]) -> Self {
        let mut target = path.clone();
        let mut described = path;
        for (i, (name, value)) in query.iter().enumerate() {
            let sep = if i == 0 { '?' } else { '&' };
            target.push(sep);
            target.push_str(name);
            target.push('=');
            target.push_str(&encode_component(value));
            described.push(sep);
            described.push_str(name);
            described.push('=');
            described.push_str(value);
        }
        let idempotent = method == Method::GET;
        ScimRequest {
            method,
            target,
            described,
            body: None,
            idempotent,
        }
    }

    /// The method's name, as errors carry it.
    pub fn verb(&self) -> &'static str {
        match self.method {
            Method::GET => "GET",
            Method::POST => "POST",
            Method::PUT => "PUT",
            Method::PATCH => "PATCH",
            Method::DELETE => "DELETE",
            // This module builds no other.
            _ => "HTTP",
        }
    }

    fn with_body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters, so that an id or a
/// filter value is one path segment or one query value whatever it holds.
pub fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn collection(kind: TargetKind) -> String {
    format!("/{}", kind.endpoint())
}

fn resource(kind: TargetKind, id: &str) -> String {
    format!("/{}/{}", kind.endpoint(), encode_component(id))
}

/// Entra never reads a group's members back (a target may hold thousands): group reads
/// leave them out.
fn read_projection(kind: TargetKind) -> Vec<(&'static str, String)> {
    match kind {
        TargetKind::Group => vec![("excludedAttributes", "members".to_string())],
        TargetKind::User => Vec::new(),
    }
}

/// `GET /Users?filter=attribute eq "value"`.
pub fn find(kind: TargetKind, attribute: &str, value: &str) -> ScimRequest {
    let mut query = vec![("filter", eq_filter(attribute, value))];
    query.extend(read_projection(kind));
    ScimRequest::new(Method::GET, collection(kind), &query)
}

/// `GET /Users/{id}`.
pub fn get(kind: TargetKind, id: &str) -> ScimRequest {
    let mut req = ScimRequest::new(Method::GET, resource(kind, id), &read_projection(kind));
    // Errors name the id as given, not encoded.
    req.described = format!("/{}/{id}", kind.endpoint());
    if let Some(q) = req.target.split_once('?') {
        req.described.push('?');
        req.described.push_str(q.1);
    }
    req
}

/// `POST /Users` with the resource.
pub fn create(kind: TargetKind, resource: Value) -> ScimRequest {
    ScimRequest::new(Method::POST, collection(kind), &[]).with_body(resource)
}

/// `PATCH /Users/{id}` with the operations in `style`. A group's answer leaves its members
/// out as its reads do (RFC 7644 §3.9 allows the projection on any answer with a resource):
/// the engine does not read them, and a group of 100,000 members would answer with all of
/// them to each PATCH of 100.
pub fn patch(kind: TargetKind, id: &str, ops: &[PatchOperation], style: PatchStyle) -> ScimRequest {
    let mut req = ScimRequest::new(Method::PATCH, resource(kind, id), &read_projection(kind))
        .with_body(render_patch(ops, style));
    req.described = format!("/{}/{id}", kind.endpoint());
    req
}

/// `DELETE /Users/{id}`.
pub fn delete(kind: TargetKind, id: &str) -> ScimRequest {
    let mut req = ScimRequest::new(Method::DELETE, resource(kind, id), &[]);
    req.described = format!("/{}/{id}", kind.endpoint());
    req
}

/// `GET /Users?startIndex=…&count=…[&attributes=…]`.
pub fn list_page(
    kind: TargetKind,
    start_index: u64,
    count: u64,
    attributes: &[&str],
) -> ScimRequest {
    let mut query = vec![
        ("startIndex", start_index.max(1).to_string()),
        ("count", count.to_string()),
    ];
    if attributes.is_empty() {
        query.extend(read_projection(kind));
    } else {
        query.push(("attributes", attributes.join(",")));
    }
    ScimRequest::new(Method::GET, collection(kind), &query)
}

/// The credential check: users whose `userName` is `guid`, which must be none.
pub fn probe(guid: &str) -> ScimRequest {
    find(TargetKind::User, "userName", guid)
}

/// A PatchOp request body with `ops` in `style`.
pub fn render_patch(ops: &[PatchOperation], style: PatchStyle) -> Value {
    let operations: Vec<Value> = ops.iter().flat_map(|op| render_op(op, style)).collect();
    json!({
        "schemas": [PATCH_OP_SCHEMA],
        "Operations": operations,
    })
}

fn op_name(op: PatchOp, style: PatchStyle) -> &'static str {
    match (style, op) {
        (PatchStyle::Rfc7644, PatchOp::Add) => "add",
        (PatchStyle::Rfc7644, PatchOp::Replace) => "replace",
        (PatchStyle::Rfc7644, PatchOp::Remove) => "remove",
        (PatchStyle::EntraLegacy, PatchOp::Add) => "Add",
        (PatchStyle::EntraLegacy, PatchOp::Replace) => "Replace",
        (PatchStyle::EntraLegacy, PatchOp::Remove) => "Remove",
    }
}

fn operation(op: PatchOp, style: PatchStyle, path: Option<&str>, value: Option<Value>) -> Value {
    let mut out = Map::new();
    out.insert("op".into(), Value::String(op_name(op, style).into()));
    if let Some(path) = path {
        out.insert("path".into(), Value::String(path.into()));
    }
    if let Some(value) = value {
        out.insert("value".into(), value);
    }
    Value::Object(out)
}

fn render_op(op: &PatchOperation, style: PatchStyle) -> Vec<Value> {
    let path = op.path.as_deref();
    match style {
        PatchStyle::Rfc7644 => {
            if op.op == PatchOp::Remove && path.is_some_and(is_members) {
                if let Some(ids) = op.value.as_ref().and_then(member_ids) {
                    return ids
                        .iter()
                        .map(|id| operation(op.op, style, Some(&member_filter(id)), None))
                        .collect();
                }
            }
            vec![operation(op.op, style, path, op.value.clone())]
        }
        PatchStyle::EntraLegacy => {
            if op.op == PatchOp::Remove && op.value.is_none() {
                if let Some(id) = path.and_then(filtered_member) {
                    let value = json!([{ "$ref": null, "value": id }]);
                    return vec![operation(op.op, style, Some("members"), Some(value))];
                }
            }
            let value = op.value.as_ref().map(|v| {
                if path.is_some_and(is_members) {
                    with_null_refs(v)
                } else {
                    booleans_as_strings(v)
                }
            });
            vec![operation(op.op, style, path, value)]
        }
    }
}

fn is_members(path: &str) -> bool {
    path.eq_ignore_ascii_case("members")
}

/// The ids of a member list `[{"value": id}, …]`; `None` when it is anything else.
fn member_ids(value: &Value) -> Option<Vec<String>> {
    value
        .as_array()?
        .iter()
        .map(|m| m.get("value").and_then(Value::as_str).map(str::to_string))
        .collect()
}

/// `members[value eq "<id>"]`.
fn member_filter(id: &str) -> String {
    format!("members[{}]", eq_filter("value", id))
}

/// The id of a `members[value eq "<id>"]` path, unescaped.
fn filtered_member(path: &str) -> Option<String> {
    let (head, rest) = path.split_once('[')?;
    if !is_members(head.trim()) {
        return None;
    }
    let inner = rest.strip_suffix(']')?.trim();
    let (attribute, rest) = inner.split_once(char::is_whitespace)?;
    let (operator, literal) = rest.trim_start().split_once(char::is_whitespace)?;
    if !attribute.eq_ignore_ascii_case("value") || !operator.eq_ignore_ascii_case("eq") {
        return None;
    }
    let quoted = literal.trim().strip_prefix('"')?.strip_suffix('"')?;
    let mut id = String::with_capacity(quoted.len());
    let mut chars = quoted.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => id.push(chars.next()?),
            // An unescaped quote inside: not one string literal.
            '"' => return None,
            c => id.push(c),
        }
    }
    Some(id)
}

/// Entra's member items: `{"$ref": null, "value": id}`, with the item's own `$ref` kept.
fn with_null_refs(value: &Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| match item {
                    Value::Object(fields) if !fields.contains_key("$ref") => {
                        let mut out = Map::new();
                        out.insert("$ref".into(), Value::Null);
                        out.extend(fields.iter().map(|(k, v)| (k.clone(), v.clone())));
                        Value::Object(out)
                    }
                    other => other.clone(),
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Entra writes every boolean as `"True"` or `"False"`, inside complex values too.
fn booleans_as_strings(value: &Value) -> Value {
    match value {
        Value::Bool(true) => Value::String("True".into()),
        Value::Bool(false) => Value::String("False".into()),
        Value::Array(items) => Value::Array(items.iter().map(booleans_as_strings).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), booleans_as_strings(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_encode_ids_and_filter_values() {
        // (request, method, target sent, described in errors)
        let cases = [
            (
                find(TargetKind::User, "userName", "ann@x.example"),
                Method::GET,
                "/Users?filter=userName%20eq%20%22ann%40x.example%22",
                r#"/Users?filter=userName eq "ann@x.example""#,
            ),
            (
                find(TargetKind::User, "userName", r#"a"b\c&d=e+f"#),
                Method::GET,
                "/Users?filter=userName%20eq%20%22a%5C%22b%5C%5Cc%26d%3De%2Bf%22",
                r#"/Users?filter=userName eq "a\"b\\c&d=e+f""#,
            ),
            (
                find(TargetKind::User, r#"emails[type eq "work"].value"#, "ann@x"),
                Method::GET,
                "/Users?filter=emails%5Btype%20eq%20%22work%22%5D.value%20eq%20%22ann%40x%22",
                r#"/Users?filter=emails[type eq "work"].value eq "ann@x""#,
            ),
            (
                find(TargetKind::Group, "displayName", "Sales & Ops"),
                Method::GET,
                "/Groups?filter=displayName%20eq%20%22Sales%20%26%20Ops%22&excludedAttributes=members",
                r#"/Groups?filter=displayName eq "Sales & Ops"&excludedAttributes=members"#,
            ),
            (
                get(TargetKind::User, "a/b c?d"),
                Method::GET,
                "/Users/a%2Fb%20c%3Fd",
                "/Users/a/b c?d",
            ),
            (
                get(TargetKind::Group, "g1"),
                Method::GET,
                "/Groups/g1?excludedAttributes=members",
                "/Groups/g1?excludedAttributes=members",
            ),
            (
                get(TargetKind::User, "Zoë"),
                Method::GET,
                "/Users/Zo%C3%AB",
                "/Users/Zoë",
            ),
            (
                delete(TargetKind::User, "42"),
                Method::DELETE,
                "/Users/42",
                "/Users/42",
            ),
            (
                patch(TargetKind::Group, "#1", &[], PatchStyle::Rfc7644),
                Method::PATCH,
                "/Groups/%231?excludedAttributes=members",
                "/Groups/#1",
            ),
            (
                patch(TargetKind::User, "#1", &[], PatchStyle::Rfc7644),
                Method::PATCH,
                "/Users/%231",
                "/Users/#1",
            ),
            (
                create(TargetKind::User, json!({})),
                Method::POST,
                "/Users",
                "/Users",
            ),
            (
                list_page(TargetKind::User, 101, 50, &[]),
                Method::GET,
                "/Users?startIndex=101&count=50",
                "/Users?startIndex=101&count=50",
            ),
            (
                list_page(TargetKind::User, 0, 10, &["userName", "externalId"]),
                Method::GET,
                "/Users?startIndex=1&count=10&attributes=userName%2CexternalId",
                "/Users?startIndex=1&count=10&attributes=userName,externalId",
            ),
            (
                list_page(TargetKind::Group, 1, 10, &[]),
                Method::GET,
                "/Groups?startIndex=1&count=10&excludedAttributes=members",
                "/Groups?startIndex=1&count=10&excludedAttributes=members",
            ),
        ];
        for (req, method, target, described) in cases {
            assert_eq!(req.method, method, "{described}");
            assert_eq!(req.target, target, "{described}");
            assert_eq!(req.described, described);
        }
    }

    #[test]
    fn only_reads_count_as_idempotent() {
        assert!(get(TargetKind::User, "1").idempotent);
        assert!(find(TargetKind::User, "userName", "a").idempotent);
        assert!(!create(TargetKind::User, json!({})).idempotent);
        assert!(!patch(TargetKind::User, "1", &[], PatchStyle::Rfc7644).idempotent);
        assert!(!delete(TargetKind::User, "1").idempotent);
    }

    #[test]
    fn patches_render_in_each_style() {
        let work_email = r#"emails[type eq "work"].value"#;
        // (operations, RFC 7644 rendering, Entra's legacy rendering)
        let cases: Vec<(Vec<PatchOperation>, Value, Value)> = vec![
            (
                vec![PatchOperation::replace("active", json!(false))],
                json!([{"op": "replace", "path": "active", "value": false}]),
                json!([{"op": "Replace", "path": "active", "value": "False"}]),
            ),
            (
                vec![
                    PatchOperation::replace(work_email, json!("ann@x")),
                    PatchOperation::add("nickName", json!("Babs")),
                ],
                json!([
                    {"op": "replace", "path": work_email, "value": "ann@x"},
                    {"op": "add", "path": "nickName", "value": "Babs"}
                ]),
                json!([
                    {"op": "Replace", "path": work_email, "value": "ann@x"},
                    {"op": "Add", "path": "nickName", "value": "Babs"}
                ]),
            ),
            (
                vec![PatchOperation {
                    op: PatchOp::Replace,
                    path: None,
                    value: Some(json!({"active": true, "name.givenName": "Ann"})),
                }],
                json!([{"op": "replace", "value": {"active": true, "name.givenName": "Ann"}}]),
                json!([{"op": "Replace", "value": {"active": "True", "name.givenName": "Ann"}}]),
            ),
            (
                vec![PatchOperation::add(
                    "emails",
                    json!([{"type": "work", "primary": true, "value": "a@x"}]),
                )],
                json!([{"op": "add", "path": "emails",
                        "value": [{"type": "work", "primary": true, "value": "a@x"}]}]),
                json!([{"op": "Add", "path": "emails",
                        "value": [{"type": "work", "primary": "True", "value": "a@x"}]}]),
            ),
            (
                vec![PatchOperation::remove_members(["u1", r#"u"2"#])],
                json!([
                    {"op": "remove", "path": r#"members[value eq "u1"]"#},
                    {"op": "remove", "path": r#"members[value eq "u\"2"]"#}
                ]),
                json!([{"op": "Remove", "path": "members",
                        "value": [{"$ref": null, "value": "u1"}, {"$ref": null, "value": r#"u"2"#}]}]),
            ),
            (
                vec![PatchOperation::remove(r#"members[value eq "u\"3"]"#)],
                json!([{"op": "remove", "path": r#"members[value eq "u\"3"]"#}]),
                json!([{"op": "Remove", "path": "members",
                        "value": [{"$ref": null, "value": r#"u"3"#}]}]),
            ),
            (
                vec![PatchOperation::add_members(["u1"])],
                json!([{"op": "add", "path": "members", "value": [{"value": "u1"}]}]),
                json!([{"op": "Add", "path": "members",
                        "value": [{"$ref": null, "value": "u1"}]}]),
            ),
            (
                // Removing every member is written the same way in both dialects.
                vec![PatchOperation::remove("members")],
                json!([{"op": "remove", "path": "members"}]),
                json!([{"op": "Remove", "path": "members"}]),
            ),
            (
                vec![PatchOperation::remove("title")],
                json!([{"op": "remove", "path": "title"}]),
                json!([{"op": "Remove", "path": "title"}]),
            ),
        ];
        for (ops, rfc, legacy) in cases {
            for (style, expected) in [
                (PatchStyle::Rfc7644, rfc),
                (PatchStyle::EntraLegacy, legacy),
            ] {
                let body = render_patch(&ops, style);
                assert_eq!(body["schemas"], json!([PATCH_OP_SCHEMA]));
                assert_eq!(body["Operations"], expected, "{style:?} {ops:?}");
            }
        }
    }

    #[test]
    fn only_a_plain_member_filter_is_read_as_one_member() {
        let cases = [
            (r#"members[value eq "a"]"#, Some("a")),
            (r#"Members[Value EQ "a b"]"#, Some("a b")),
            (r#"members[value eq "a\\b"]"#, Some(r"a\b")),
            (r#"members[display eq "a"]"#, None),
            (r#"members[value ne "a"]"#, None),
            (r#"members[value eq "a" or value eq "b"]"#, None),
            (r#"emails[value eq "a"]"#, None),
            ("members", None),
        ];
        for (path, expected) in cases {
            assert_eq!(filtered_member(path).as_deref(), expected, "{path}");
        }
    }
}
