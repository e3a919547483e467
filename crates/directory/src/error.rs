//! Directory errors, one variant per Microsoft Graph error code the API answers with.

use super::store::StoreError;

/// Microsoft Graph's error codes, as they appear in `error.code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// 400: the request is malformed or names an unknown property, or a value is invalid.
    BadRequest,
    /// 404: the object does not exist (or is deleted).
    ResourceNotFound,
    /// 400: a unique property (`userPrincipalName`, …) is taken, or a reference already
    /// exists. Graph answers 400 `Request_BadRequest` for the first and for members already
    /// present ("One or more added object references already exist").
    Conflict,
    /// 500: the store failed.
    ServiceError,
}

impl ErrorCode {
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::BadRequest | ErrorCode::Conflict => 400,
            ErrorCode::ResourceNotFound => 404,
            ErrorCode::ServiceError => 500,
        }
    }

    /// Graph's `error.code`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest | ErrorCode::Conflict => "Request_BadRequest",
            ErrorCode::ResourceNotFound => "Request_ResourceNotFound",
            ErrorCode::ServiceError => "Service_InternalServerError",
        }
    }
}

/// Why a directory operation failed. The message is the one the API returns.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct DirectoryError {
    pub code: ErrorCode,
    pub message: String,
}

impl DirectoryError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        DirectoryError {
            code: ErrorCode::BadRequest,
            message: message.into(),
        }
    }

    pub fn not_found(id: &str) -> Self {
        DirectoryError {
            code: ErrorCode::ResourceNotFound,
            message: format!(
                "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
            ),
        }
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        DirectoryError {
            code: ErrorCode::Conflict,
            message: message.into(),
        }
    }

    pub fn internal(message: impl Into<String>) -> Self {
        DirectoryError {
            code: ErrorCode::ServiceError,
            message: message.into(),
        }
    }
}

impl From<StoreError> for DirectoryError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(id) => DirectoryError::not_found(&id),
            StoreError::Unique(property) => DirectoryError::conflict(format!(
                "Another object with the same value for property {property} already exists."
            )),
            StoreError::Rejected(e) => e,
            StoreError::Backend(message) => DirectoryError::internal(message),
        }
    }
}
