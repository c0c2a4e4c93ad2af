//! Errors as a Juju controller reports them: a message and an optional code.
//!
//! The model produces these so the controller can put them on the wire unchanged (top-level in
//! the envelope, or per item in bulk results). It knows nothing of the wire format.

use std::fmt;

/// Juju error codes used by the twin (`rpc/params/apierror.go`).
pub mod code {
    /// `not found`
    pub const NOT_FOUND: &str = "not found";
    /// `already exists`
    pub const ALREADY_EXISTS: &str = "already exists";
    /// `unauthorized access`
    pub const UNAUTHORIZED: &str = "unauthorized access";
    /// `not supported`
    pub const NOT_SUPPORTED: &str = "not supported";
    /// `not implemented`
    pub const NOT_IMPLEMENTED: &str = "not implemented";
    /// `not valid`
    pub const NOT_VALID: &str = "not valid";
    /// `bad request`
    pub const BAD_REQUEST: &str = "bad request";
    /// `model not found`
    pub const MODEL_NOT_FOUND: &str = "model not found";
    /// `redirection required`
    pub const REDIRECTION_REQUIRED: &str = "redirection required";
}

/// An error as the controller reports it: `message`, `code` (empty when Juju sends none) and
/// optional `info`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// The message, exactly as Juju words it.
    pub message: String,
    /// The error code, empty for Juju's plain errors (`no relations found`, …).
    pub code: String,
    /// `error-info` (redirects carry the new servers here).
    pub info: Option<serde_json::Value>,
}

impl ApiError {
    /// An error with a code.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        ApiError {
            message: message.into(),
            code: code.to_string(),
            info: None,
        }
    }

    /// A plain error, which Juju sends without a code.
    pub fn plain(message: impl Into<String>) -> Self {
        Self::new("", message)
    }

    /// `not found`
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(code::NOT_FOUND, message)
    }

    /// `already exists`
    pub fn already_exists(message: impl Into<String>) -> Self {
        Self::new(code::ALREADY_EXISTS, message)
    }

    /// `bad request`
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(code::BAD_REQUEST, message)
    }

    /// `not valid`
    pub fn not_valid(message: impl Into<String>) -> Self {
        Self::new(code::NOT_VALID, message)
    }

    /// `application "x" not found`, code `not found`.
    pub fn application_not_found(app: &str) -> Self {
        Self::not_found(format!("application {app:?} not found"))
    }

    /// `permission denied`, code `unauthorized access`.
    pub fn permission_denied() -> Self {
        Self::new(code::UNAUTHORIZED, "permission denied")
    }

    /// Adds `error-info`.
    pub fn with_info(mut self, info: serde_json::Value) -> Self {
        self.info = Some(info);
        self
    }

    /// Whether the code is `not found`.
    pub fn is_not_found(&self) -> bool {
        self.code == code::NOT_FOUND
    }

    /// Whether the code is `already exists`.
    pub fn is_already_exists(&self) -> bool {
        self.code == code::ALREADY_EXISTS
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ApiError {}
