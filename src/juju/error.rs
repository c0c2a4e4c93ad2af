//! The Juju port's error type.
//!
//! Callers branch on kinds (`is_not_found`, `is_retryable`), never on message text. Juju's own
//! message and code are kept verbatim so the user sees what the controller said.

use std::sync::Arc;

/// A Juju error code as the controller sends it (`not found`, `already exists`, …).
pub mod code {
    /// An entity does not exist.
    pub const NOT_FOUND: &str = "not found";
    /// The entity already exists (also: a relation that is already there).
    pub const ALREADY_EXISTS: &str = "already exists";
    /// Wrong password, unknown user, or no access.
    pub const UNAUTHORIZED: &str = "unauthorized access";
    /// Not supported by this controller or model type.
    pub const NOT_SUPPORTED: &str = "not supported";
    /// Unknown facade, version or method.
    pub const NOT_IMPLEMENTED: &str = "not implemented";
    /// The model lives on another controller.
    pub const REDIRECTION_REQUIRED: &str = "redirection required";
    /// `juju disable-command` is in effect.
    pub const OPERATION_BLOCKED: &str = "operation is blocked";
    /// Transient: retry later.
    pub const TRY_AGAIN: &str = "try again";
    /// The controller is upgrading.
    pub const UPGRADE_IN_PROGRESS: &str = "upgrade in progress";
    /// Unknown model UUID.
    pub const MODEL_NOT_FOUND: &str = "model not found";
}

/// Everything that can go wrong talking to a Juju controller.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// No address could be reached (TCP, TLS or websocket handshake); one entry per address tried.
    #[error("cannot connect to the Juju controller: {}", .attempts.join("; "))]
    Connect {
        /// `address: reason` for each address tried.
        attempts: Vec<String>,
    },
    /// Login was refused; `message` is Juju's text (never contains the password).
    #[error("login failed: {message}")]
    Login {
        /// Juju's message, e.g. `invalid entity name or password`.
        message: String,
        /// Juju's error code, e.g. `unauthorized access`.
        code: Option<String>,
    },
    /// The model has moved to another controller.
    #[error("the model has moved to another controller: connect to {}", .addresses.join(", "))]
    Redirected {
        /// Addresses the controller names.
        addresses: Vec<String>,
    },
    /// The controller does not offer a facade version this client supports.
    #[error(
        "the controller does not offer facade {facade} in a version this client supports ({supported}); offered: {offered}"
    )]
    FacadeMissing {
        /// Facade name.
        facade: String,
        /// Versions this client supports, e.g. `19-22`.
        supported: String,
        /// Versions the controller listed.
        offered: String,
    },
    /// The controller answered with an error (top-level or per item).
    #[error("{facade}.{method}: {message}{}", .code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Call {
        /// Facade name.
        facade: String,
        /// Method name.
        method: String,
        /// Juju's error code, if any.
        code: Option<String>,
        /// Juju's message.
        message: String,
    },
    /// No reply within the call's timeout.
    #[error("{facade}.{method}: no reply within {seconds} s")]
    Timeout {
        /// Facade name.
        facade: String,
        /// Method name.
        method: String,
        /// The timeout.
        seconds: u64,
    },
    /// The connection dropped; calls in flight fail with this and may be retried.
    #[error("connection to the Juju controller lost: {0}")]
    Disconnected(Arc<str>),
    /// The controller's answer could not be decoded.
    #[error("{facade}.{method}: cannot decode the controller's answer: {message}")]
    Decode {
        /// Facade name.
        facade: String,
        /// Method name.
        method: String,
        /// What was wrong.
        message: String,
    },
}

impl Error {
    /// Juju's error code, for call and login errors.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Call { code, .. } | Error::Login { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// The entity does not exist.
    pub fn is_not_found(&self) -> bool {
        self.code() == Some(code::NOT_FOUND)
    }

    /// The entity (or relation) already exists.
    pub fn is_already_exists(&self) -> bool {
        self.code() == Some(code::ALREADY_EXISTS)
    }

    /// Credentials or permissions were refused.
    pub fn is_unauthorized(&self) -> bool {
        self.code() == Some(code::UNAUTHORIZED) || matches!(self, Error::Login { .. })
    }

    /// Worth retrying after a pause: the connection dropped, a call timed out, or Juju asked to
    /// try again.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::Disconnected(_) | Error::Timeout { .. } | Error::Connect { .. }
        ) || matches!(
            self.code(),
            Some(code::TRY_AGAIN | code::UPGRADE_IN_PROGRESS)
        )
    }
}

/// Result alias for the Juju port.
pub type Result<T, E = Error> = std::result::Result<T, E>;
