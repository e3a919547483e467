//! The OpenAPI 3.0 document, generated from the route table (`routes`) and the property
//! tables of the directory model, so that it always describes what the server does.
//! `openapi.json` at the repository root is a committed copy; a test and CI fail when they
//! differ.

use provisio_directory::schema::{self, PropertyType};
use provisio_directory::ObjectKind;
use serde_json::{json, Map, Value};

use crate::routes::{operations, Operation};

fn property_schema(ty: PropertyType) -> Value {
    match ty {
        PropertyType::String => json!({"type": "string", "nullable": true}),
        PropertyType::Boolean => json!({"type": "boolean", "nullable": true}),
        PropertyType::DateTime => {
            json!({"type": "string", "format": "date-time", "nullable": true})
        }
        PropertyType::Guid => json!({"type": "string", "format": "uuid"}),
        PropertyType::StringCollection => json!({"type": "array", "items": {"type": "string"}}),
        PropertyType::AppRoles => {
            json!({"type": "array", "items": {"$ref": "#/components/schemas/appRole"}})
        }
    }
}

fn object_schema(kind: ObjectKind) -> Value {
    let mut props = Map::new();
    for p in schema::properties(kind) {
        let mut s = property_schema(p.ty);
        if p.access == schema::Access::ReadOnly {
            s["readOnly"] = Value::Bool(true);
        }
        if p.ty == PropertyType::String {
            s["maxLength"] = Value::from(p.max_len);
        }
        props.insert(p.name.to_string(), s);
    }
    let mut out = json!({"type": "object", "properties": props});
    if matches!(kind, ObjectKind::User | ObjectKind::Group) {
        out["additionalProperties"] = json!({
            "description": "Directory extension attributes named extension_<appId without dashes>_<name>."
        });
    }
    out
}

fn collection(item: &str) -> Value {
    json!({"type": "object", "properties": {
        "@odata.context": {"type": "string"},
        "@odata.count": {"type": "integer"},
        "@odata.nextLink": {"type": "string"},
        "@odata.deltaLink": {"type": "string"},
        "value": {"type": "array", "items": {"$ref": format!("#/components/schemas/{item}")}}
    }})
}

fn components() -> Value {
    let error = json!({"type": "object", "properties": {"error": {"type": "object", "properties": {
        "code": {"type": "string"}, "message": {"type": "string"},
        "innerError": {"type": "object", "properties": {
            "date": {"type": "string", "format": "date-time"},
            "request-id": {"type": "string"}, "client-request-id": {"type": "string"}}}}}}});
    let mut out = json!({
        "securitySchemes": {"adminToken": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "user": object_schema(ObjectKind::User),
            "group": object_schema(ObjectKind::Group),
            "servicePrincipal": object_schema(ObjectKind::ServicePrincipal),
            "directoryObject": {"type": "object", "properties": {"@odata.type": {"type": "string"}, "id": {"type": "string", "format": "uuid"}}},
            "appRole": {"type": "object", "properties": {
                "id": {"type": "string", "format": "uuid"}, "allowedMemberTypes": {"type": "array", "items": {"type": "string"}},
                "description": {"type": "string"}, "displayName": {"type": "string"}, "value": {"type": "string"}, "isEnabled": {"type": "boolean"}}},
            "appRoleAssignment": {"type": "object", "properties": {
                "id": {"type": "string", "format": "uuid", "readOnly": true}, "appRoleId": {"type": "string", "format": "uuid"},
                "principalId": {"type": "string", "format": "uuid"}, "resourceId": {"type": "string", "format": "uuid"},
                "principalType": {"type": "string", "readOnly": true}, "principalDisplayName": {"type": "string", "readOnly": true},
                "resourceDisplayName": {"type": "string", "readOnly": true}, "createdDateTime": {"type": "string", "format": "date-time", "readOnly": true}}},
            "reference": {"type": "object", "required": ["@odata.id"], "properties": {"@odata.id": {"type": "string"}}},
            "userCollection": collection("user"),
            "groupCollection": collection("group"),
            "servicePrincipalCollection": collection("servicePrincipal"),
            "directoryObjectCollection": collection("directoryObject"),
            "appRoleAssignmentCollection": collection("appRoleAssignment"),
            "batchRequest": {"type": "object", "properties": {"requests": {"type": "array", "maxItems": crate::batch::MAX_REQUESTS, "items": {"type": "object", "properties": {
                "id": {"type": "string"}, "method": {"type": "string"}, "url": {"type": "string"},
                "headers": {"type": "object"}, "body": {}, "dependsOn": {"type": "array", "items": {"type": "string"}}}}}}},
            "batchResponse": {"type": "object", "properties": {"responses": {"type": "array", "items": {"type": "object", "properties": {
                "id": {"type": "string"}, "status": {"type": "integer"}, "headers": {"type": "object"}, "body": {}}}}}},
            "importResponse": {"type": "object", "properties": {
                "dryRun": {"type": "boolean"}, "created": {"type": "integer"}, "updated": {"type": "integer"},
                "unchanged": {"type": "integer"}, "failed": {"type": "integer", "description": "Records refused."},
                "records": {"type": "integer", "description": "Records read (blank lines are not records)."},
                "notFound": {"type": "integer", "description": "Manager and member references naming no object."},
                "errors": {"type": "array", "description": "The first 1,000 error lines by line number.", "items": {"type": "object", "properties": {"line": {"type": "integer"}, "message": {"type": "string"}}}},
                "errorsOmitted": {"type": "integer", "description": "Error lines counted but not listed."}}},
            "changeCollection": {"type": "object", "properties": {"watermark": {"type": "integer"}, "value": {"type": "array", "items": {"type": "object", "properties": {
                "seq": {"type": "integer"}, "kind": {"type": "string"}, "objectId": {"type": "string", "format": "uuid"},
                "op": {"type": "string"}, "relatedId": {"type": "string", "format": "uuid", "nullable": true}, "at": {"type": "string", "format": "date-time"}}}}}},
            "error": error,
        }
    });
    if let Some(schemas) = out["schemas"].as_object_mut() {
        schemas.extend(synchronization_schemas());
    }
    out
}

/// The synchronization area's bodies: Graph's types, described by name (their properties
/// are Microsoft's, `api-reference/beta/resources/synchronization-*.md`), with provisio's
/// additions spelled out.
fn synchronization_schemas() -> Map<String, Value> {
    let graph_type = |name: &str| json!({"type": "object", "description": format!("Microsoft Graph's {name}, property for property."), "additionalProperties": true});
    let mut out = Map::new();
    for name in [
        "synchronizationTemplate",
        "synchronizationJob",
        "synchronizationSchema",
        "attributeMappingFunctionSchema",
        "filterOperatorSchema",
        "provisioningObjectSummary",
    ] {
        out.insert(name.to_string(), graph_type(name));
        out.insert(format!("{name}Collection"), collection(name));
    }
    out.insert("synchronizationJobRestart".into(), json!({"type": "object", "properties": {"criteria": {"type": "object", "properties": {
        "resetScope": {"type": "string", "description": "Comma-separated: None, ConnectorDataStore, Escrows, Watermark, QuarantineState, Full, ForceDeletes; empty is Escrows, Watermark, QuarantineState."}}}}}));
    out.insert("validateCredentials".into(), json!({"type": "object", "properties": {
        "useSavedCredentials": {"type": "boolean", "description": "Test the saved secrets; else the given credentials (over the saved ones)."},
        "credentials": {"type": "array", "items": {"type": "object", "properties": {"key": {"type": "string"}, "value": {"type": "string", "writeOnly": true}}}},
        "templateId": {"type": "string"}}}));
    out.insert("synchronizationSecrets".into(), json!({"type": "object", "required": ["value"], "properties": {"value": {"type": "array", "items": {"type": "object", "properties": {
        "key": {"type": "string", "description": "A synchronizationSecret: BaseAddress, SecretToken, SyncAll, SkipOutOfScopeDeletions, …"},
        "value": {"type": "string", "writeOnly": true}}}}}}));
    out.insert("parseExpressionRequest".into(), json!({"type": "object", "required": ["expression"], "properties": {
        "expression": {"type": "string"},
        "testInputObject": {"type": "object", "properties": {"definition": {"type": "object", "nullable": true}, "properties": {"type": "array", "items": {"type": "object", "properties": {"key": {"type": "string"}, "value": {}}}}}},
        "targetAttributeDefinition": {"type": "object", "nullable": true}}}));
    out.insert("parseExpressionResponse".into(), json!({"type": "object", "properties": {
        "error": {"type": "object", "nullable": true, "properties": {"code": {"type": "string"}, "message": {"type": "string"}}},
        "evaluationSucceeded": {"type": "boolean"},
        "evaluationResult": {"type": "array", "nullable": true, "items": {"type": "string"}},
        "parsedExpression": {"type": "object", "nullable": true, "description": "An attributeMappingSource."},
        "parsingSucceeded": {"type": "boolean"}}}));
    out.insert("objectConnection".into(), json!({"type": "object", "properties": {
        "objectId": {"type": "string", "description": "Entra's: the id the request named."},
        "sourceAnchor": {"type": "string", "description": "Entra's: the source object's id."},
        "targetAnchor": {"type": "string", "description": "Entra's: the target account's id."},
        "displayName": {"type": "string", "nullable": true, "description": "Entra's."},
        "objectTypeName": {"type": "string", "description": "Entra's: user or group."},
        "linkedDateTime": {"type": "string", "format": "date-time", "description": "provisio's: when the link was made."},
        "linkedBy": {"type": "string", "enum": ["created", "matched", "manual"], "description": "provisio's: how the link was made."},
        "matchedBy": {"type": "object", "nullable": true, "description": "provisio's: the matching attribute pair and value of a matched link.", "properties": {
            "targetAttribute": {"type": "string"}, "sourceAttribute": {"type": "string"}, "value": {"type": "string"}}},
        "stale": {"type": "boolean", "description": "provisio's: the matching rules would no longer choose this account."},
        "staleDateTime": {"type": "string", "format": "date-time", "nullable": true, "description": "provisio's."},
        "staleReason": {"type": "string", "nullable": true, "description": "provisio's."},
        "wouldChooseTargetAnchor": {"type": "string", "nullable": true, "description": "provisio's: the account the rules would choose now."}}}));
    out.insert(
        "objectConnectionCollection".into(),
        collection("objectConnection"),
    );
    out
}

fn operation(op: &Operation) -> Value {
    let mut parameters = Vec::new();
    let mut rest = op.path;
    while let Some(start) = rest.find('{') {
        let Some(end) = rest[start..].find('}') else {
            break;
        };
        let name = &rest[start + 1..start + end];
        parameters.push(
            json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}),
        );
        rest = &rest[start + end..];
    }
    if op.returns == Some("objectConnectionCollection") {
        for (name, description) in [
            (
                "$filter",
                "stale eq true|false, objectTypeName eq '<type>', joined by and.",
            ),
            ("$top", "Page size, 1 to 999 (100 by default)."),
            ("$skiptoken", "Position, from @odata.nextLink."),
        ] {
            parameters.push(json!({"name": name, "in": "query", "required": false, "description": description, "schema": {"type": "string"}}));
        }
    } else if op.returns == Some("provisioningObjectSummaryCollection") {
        for (name, description) in [
            (
                "$filter",
                "eq on jobId, cycleId, provisioningAction, provisioningStatusInfo/status, sourceIdentity/id, targetIdentity/id; ge, gt, le, lt on activityDateTime; joined by and.",
            ),
            ("$select", "Comma-separated properties to return."),
            ("$top", "Page size, 1 to 999 (100 by default)."),
            ("$skiptoken", "Position, from @odata.nextLink."),
        ] {
            parameters.push(json!({"name": name, "in": "query", "required": false, "description": description, "schema": {"type": "string"}}));
        }
    } else if op.method == "get"
        && op.tag != "synchronization"
        && op.returns.is_some_and(|r| r.ends_with("Collection"))
    {
        for (name, description) in [
            ("$filter", "OData filter: eq, ne, gt, ge, lt, le, in, startsWith, endsWith, contains, and, or, not, any/all."),
            ("$select", "Comma-separated properties to return."),
            ("$orderby", "displayName (or userPrincipalName for users), asc or desc."),
            ("$top", "Page size, 1 to 999."),
            ("$count", "true to add @odata.count."),
            ("$skiptoken", "Opaque position, from @odata.nextLink."),
        ] {
            parameters.push(json!({"name": name, "in": "query", "required": false, "description": description, "schema": {"type": "string"}}));
        }
    }
    let request_body = match op.body {
        // One record per line: a Graph user or group object, plus `manager` (a
        // userPrincipalName or id) for users and `members` for groups.
        Some("importStream") => {
            for (name, description) in [
                (
                    "type",
                    "user (the default) or group: the kind of records without @odata.type.",
                ),
                (
                    "dryRun",
                    "true to validate every line and reference without writing.",
                ),
            ] {
                parameters.push(json!({"name": name, "in": "query", "required": false, "description": description, "schema": {"type": "string"}}));
            }
            Some(
                json!({"required": true, "content": {"application/x-ndjson": {"schema": {"type": "string", "description": "JSON Lines: one Graph user or group object per line, with manager (userPrincipalName or id) for users and members (userPrincipalNames, group mailNicknames or ids) for groups."}}}}),
            )
        }
        Some(body) => Some(
            json!({"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{body}")}}}}),
        ),
        None => None,
    };
    let mut responses = Map::new();
    let ok = match op.returns {
        Some(schema) => {
            json!({"description": "Success.", "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
        }
        None => json!({"description": "Success."}),
    };
    responses.insert(op.ok.to_string(), ok);
    let mut errors = vec!["400", "401", "404"];
    if op.tag == "synchronization" {
        errors.extend(["409", "501"]);
    }
    for status in errors {
        responses.insert(status.to_string(), json!({"description": "Graph error.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/error"}}}}));
    }
    let mut out = json!({
        "summary": op.summary,
        "tags": [op.tag],
        "operationId": format!("{}{}", op.method, op.path.replace(['/', '{', '}', '$', '.'], "_")),
        "parameters": parameters,
        "responses": responses,
    });
    if let Some(body) = request_body {
        out["requestBody"] = body;
    }
    out
}

/// The OpenAPI document.
pub fn document() -> Value {
    let (graph, admin) = operations();
    let mut paths = Map::new();
    let mut add = |path: String, op: &Operation| {
        let entry = paths.entry(path).or_insert_with(|| json!({}));
        entry[op.method] = operation(op);
    };
    for version in ["/v1.0", "/beta"] {
        for op in &graph {
            add(format!("{version}{}", op.path), op);
        }
    }
    for op in &admin {
        add(op.path.to_string(), op);
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "provisio API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Microsoft Graph-compatible directory and synchronization API of provisio (under /v1.0 and /beta), and its admin endpoints. Every request needs Authorization: Bearer <admin token>; errors use Graph's error body."
        },
        "security": [{"adminToken": []}],
        "paths": paths,
        "components": components(),
    })
}

/// The document as committed: pretty-printed with a final newline.
pub fn document_text() -> String {
    let mut text = serde_json::to_string_pretty(&document()).unwrap_or_default();
    text.push('\n');
    text
}
