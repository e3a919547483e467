//! Microsoft Graph's error body, answered for every failure:
//! `{"error": {"code", "message", "innerError": {"date", "request-id", "client-request-id"}}}`.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use provisio_directory::{DirectoryError, ErrorCode};
use serde_json::json;

#[derive(Debug, Clone, PartialEq)]
pub struct GraphError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl GraphError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        GraphError {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        GraphError::new(StatusCode::BAD_REQUEST, "Request_BadRequest", message)
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        GraphError::new(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            message,
        )
    }

    pub fn malformed_json() -> Self {
        GraphError::bad_request(
            "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
        )
    }

    pub fn unknown_segment(segment: &str) -> Self {
        GraphError::new(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!("Resource not found for the segment '{segment}'."),
        )
    }
}

impl From<DirectoryError> for GraphError {
    fn from(e: DirectoryError) -> Self {
        if e.code == ErrorCode::ServiceError {
            tracing::error!(message = "Directory store failed.", error = %e.message);
            return GraphError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                e.code.as_str(),
                "The service could not complete the request.",
            );
        }
        GraphError {
            status: StatusCode::from_u16(e.code.http_status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code: e.code.as_str(),
            message: e.message,
        }
    }
}

impl From<provisio_odata::Error> for GraphError {
    fn from(e: provisio_odata::Error) -> Self {
        GraphError::bad_request(e.to_string())
    }
}

impl From<provisio_odata::ParseError> for GraphError {
    fn from(e: provisio_odata::ParseError) -> Self {
        GraphError::bad_request(e.to_string())
    }
}

/// The request id of the request being answered, set by the request-id middleware so that
/// error bodies can quote it.
#[derive(Debug, Clone)]
pub struct RequestId {
    pub id: String,
    pub client: Option<String>,
}

tokio::task_local! {
    pub static REQUEST_ID: RequestId;
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let (request_id, client) = REQUEST_ID
            .try_with(|r| (r.id.clone(), r.client.clone()))
            .unwrap_or_else(|_| (uuid::Uuid::new_v4().to_string(), None));
        let now = time::OffsetDateTime::now_utc();
        let mut inner = json!({
            "date": provisio_directory::timestamp(now),
            "request-id": request_id,
        });
        if let Some(c) = client {
            inner["client-request-id"] = json!(c);
        }
        let body =
            json!({"error": {"code": self.code, "message": self.message, "innerError": inner}});
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                "www-authenticate",
                HeaderValue::from_static("Bearer realm=\"provisio\""),
            );
        }
        response
    }
}
