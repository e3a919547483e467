//! Bulk messages (RFC 7644 §3.7): parsing a BulkRequest, `bulkId` references, and the
//! BulkResponse. Running the operations is the server's job.

use serde_json::{json, Map, Value};

use crate::error::{Result, ScimError};
use crate::resource::find_key;

pub const BULK_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
pub const BULK_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkMethod {
    Post,
    Put,
    Patch,
    Delete,
}

impl BulkMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            BulkMethod::Post => "POST",
            BulkMethod::Put => "PUT",
            BulkMethod::Patch => "PATCH",
            BulkMethod::Delete => "DELETE",
        }
    }
}

/// One operation of a BulkRequest.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkOperation {
    pub method: BulkMethod,
    pub bulk_id: Option<String>,
    pub version: Option<String>,
    /// Relative path: `/Users`, `/Groups/{id}` (the id may be `bulkId:x`).
    pub path: String,
    pub data: Option<Value>,
}

/// A parsed BulkRequest.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkRequest {
    pub fail_on_errors: Option<u64>,
    pub operations: Vec<BulkOperation>,
}

/// Parses a BulkRequest body; `max_operations` is the advertised limit (413 `tooMany` past it).
pub fn parse_bulk_request(body: &Value, max_operations: usize) -> Result<BulkRequest> {
    let obj = body
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("the bulk request must be a JSON object"))?;
    let field = |k: &str| find_key(obj, k).and_then(|k| obj.get(&k));
    if let Some(schemas) = field("schemas") {
        let ok = schemas.as_array().is_some_and(|s| {
            s.iter().any(|x| {
                x.as_str()
                    .is_some_and(|u| u.eq_ignore_ascii_case(BULK_REQUEST_SCHEMA))
            })
        });
        if !ok {
            return Err(ScimError::invalid_syntax(format!(
                "\"schemas\" must contain \"{BULK_REQUEST_SCHEMA}\""
            )));
        }
    }
    let fail_on_errors = match field("failOnErrors") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_u64().filter(|n| *n > 0).ok_or_else(|| {
            ScimError::invalid_value("\"failOnErrors\" must be a positive integer")
        })?),
    };
    let ops = field("Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| ScimError::invalid_syntax("\"Operations\" must be a list"))?;
    if ops.len() > max_operations {
        return Err(ScimError::new(
            413,
            Some(crate::error::ScimType::TooMany),
            format!(
                "the bulk request has {} operations; the maximum is {max_operations}",
                ops.len()
            ),
        ));
    }
    let mut operations = Vec::with_capacity(ops.len());
    let mut seen_ids: Vec<&str> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let at = |msg: String| ScimError::invalid_syntax(format!("operation {}: {msg}", i + 1));
        let o = op
            .as_object()
            .ok_or_else(|| at("must be an object".into()))?;
        let f = |k: &str| find_key(o, k).and_then(|k| o.get(&k));
        let method = match f("method")
            .and_then(Value::as_str)
            .map(str::to_ascii_uppercase)
            .as_deref()
        {
            Some("POST") => BulkMethod::Post,
            Some("PUT") => BulkMethod::Put,
            Some("PATCH") => BulkMethod::Patch,
            Some("DELETE") => BulkMethod::Delete,
            Some(m) => return Err(at(format!("unsupported method \"{m}\""))),
            None => return Err(at("\"method\" is missing".into())),
        };
        let bulk_id = f("bulkId").and_then(Value::as_str).map(str::to_string);
        if method == BulkMethod::Post && bulk_id.is_none() {
            return Err(at("a POST needs a \"bulkId\"".into()));
        }
        if let Some(id) = f("bulkId").and_then(Value::as_str) {
            if seen_ids.contains(&id) {
                return Err(at(format!("bulkId \"{id}\" is used twice")));
            }
            seen_ids.push(id);
        }
        let path = f("path")
            .and_then(Value::as_str)
            .filter(|p| p.starts_with('/'))
            .ok_or_else(|| at("\"path\" must be a path such as /Users or /Users/{id}".into()))?
            .to_string();
        let data = f("data").cloned().filter(|d| !d.is_null());
        if method != BulkMethod::Delete && data.is_none() {
            return Err(at(format!("{} needs \"data\"", method.as_str())));
        }
        operations.push(BulkOperation {
            method,
            bulk_id,
            version: f("version").and_then(Value::as_str).map(str::to_string),
            path,
            data,
        });
    }
    Ok(BulkRequest {
        fail_on_errors,
        operations,
    })
}

/// The `bulkId`s a value refers to (`"bulkId:qwerty"` anywhere in it).
pub fn referenced_bulk_ids(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => {
            if let Some(id) = s.strip_prefix("bulkId:") {
                if !out.iter().any(|x| x == id) {
                    out.push(id.to_string());
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| referenced_bulk_ids(i, out)),
        Value::Object(o) => o.values().for_each(|i| referenced_bulk_ids(i, out)),
        _ => {}
    }
}

/// Replaces `"bulkId:x"` strings by the id that operation `x` created.
pub fn substitute_bulk_ids(v: &mut Value, resolve: &dyn Fn(&str) -> Option<String>) {
    match v {
        Value::String(s) => {
            if let Some(id) = s.strip_prefix("bulkId:").and_then(resolve) {
                *s = id;
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|i| substitute_bulk_ids(i, resolve)),
        Value::Object(o) => o.values_mut().for_each(|i| substitute_bulk_ids(i, resolve)),
        _ => {}
    }
}

/// The result of one bulk operation.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkOperationResult {
    pub method: BulkMethod,
    pub bulk_id: Option<String>,
    pub version: Option<String>,
    pub location: Option<String>,
    pub status: u16,
    /// The error body of a failed operation.
    pub response: Option<Value>,
}

/// A BulkResponse message.
pub fn bulk_response(results: &[BulkOperationResult]) -> Value {
    let ops: Vec<Value> = results
        .iter()
        .map(|r| {
            let mut m = Map::new();
            m.insert("method".into(), json!(r.method.as_str()));
            if let Some(b) = &r.bulk_id {
                m.insert("bulkId".into(), json!(b));
            }
            if let Some(v) = &r.version {
                m.insert("version".into(), json!(v));
            }
            if let Some(l) = &r.location {
                m.insert("location".into(), json!(l));
            }
            m.insert("status".into(), json!(r.status.to_string()));
            if let Some(resp) = &r.response {
                m.insert("response".into(), resp.clone());
            }
            Value::Object(m)
        })
        .collect();
    json!({ "schemas": [BULK_RESPONSE_SCHEMA], "Operations": ops })
}
