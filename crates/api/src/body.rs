//! Request bodies: JSON objects of bounded size, refused in Graph's error shape.

use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde_json::{Map, Value};

use crate::GraphError;

/// A JSON object body of at most [`crate::MAX_BODY_BYTES`].
pub struct JsonObject(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = GraphError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let value = read_json(req, crate::MAX_BODY_BYTES).await?;
        match value {
            Value::Object(map) => Ok(JsonObject(map)),
            _ => Err(GraphError::malformed_json()),
        }
    }
}

/// Reads a JSON body of at most `limit` bytes.
pub async fn read_json(req: Request, limit: usize) -> Result<Value, GraphError> {
    let bytes = axum::body::to_bytes(req.into_body(), limit)
        .await
        .map_err(|_| too_large(limit))?;
    serde_json::from_slice(&bytes).map_err(|_| GraphError::malformed_json())
}

pub fn too_large(limit: usize) -> GraphError {
    GraphError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "Request_EntityTooLarge",
        format!("The request body is larger than the limit of {limit} bytes."),
    )
}
