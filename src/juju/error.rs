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
    /// The controller wants a macaroon discharge: a password-only login cannot proceed.
    pub const DISCHARGE_REQUIRED: &str = "macaroon discharge required";
    /// The request was malformed.
    pub const BAD_REQUEST: &str = "bad request";
    /// A value was refused as invalid.
    pub const NOT_VALID: &str = "not valid";
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
    /// The caller asked for something the client can check is wrong before sending it (a channel
    /// Juju would not parse, a controller CA without a certificate).
    #[error("{0}")]
    Invalid(String),
    /// A refresh would move the application to another base: the charm the channel resolves to
    /// does not support the base the application runs on, and the controller would fall back to
    /// one it does (the Go CLI refuses the same way, `cmd/juju/application/refresher/refresher.go`
    /// `baseRefresher.ResolveCharm` at v3.6.11, unless `--force-series`). Nothing was changed.
    #[error(
        "{application} runs on base {base}, but the charm in channel {channel} supports only {}; \
         refreshing would move it to another base, so nothing was changed: pick a channel that \
         supports {base}, or redeploy {application} on a supported base",
        .offered.join(", ")
    )]
    UnsupportedBase {
        /// Application.
        application: String,
        /// The channel asked for.
        channel: String,
        /// Its current base, e.g. `ubuntu@20.04`.
        base: String,
        /// The bases the resolved charm supports, e.g. `ubuntu@22.04` (`no bases` if none).
        offered: Vec<String>,
    },
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
        self.code() == Some(code::UNAUTHORIZED)
            || matches!(self, Error::Login { code: None, .. })
            || (matches!(self, Error::Login { .. })
                && self.code() == Some(code::DISCHARGE_REQUIRED))
    }

    /// The model moved to another controller ([`Error::Redirected`]).
    pub fn is_redirected(&self) -> bool {
        matches!(self, Error::Redirected { .. })
    }

    /// A refresh was refused because the new charm does not support the application's base
    /// ([`Error::UnsupportedBase`]); retrying cannot help.
    pub fn is_unsupported_base(&self) -> bool {
        matches!(self, Error::UnsupportedBase { .. })
    }

    /// The connection dropped while the call was in flight: the controller may or may not have
    /// acted on it.
    pub fn is_disconnected(&self) -> bool {
        matches!(self, Error::Disconnected(_))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn call(code: Option<&str>) -> Error {
        Error::Call {
            facade: "Application".into(),
            method: "AddRelation".into(),
            code: code.map(str::to_owned),
            message: "cannot add relation".into(),
        }
    }

    #[test]
    fn codes_map_to_predicates() {
        assert!(call(Some(code::NOT_FOUND)).is_not_found());
        assert!(call(Some(code::ALREADY_EXISTS)).is_already_exists());
        assert!(call(Some(code::UNAUTHORIZED)).is_unauthorized());
        assert!(call(Some(code::TRY_AGAIN)).is_retryable());
        assert!(call(Some(code::UPGRADE_IN_PROGRESS)).is_retryable());
        let plain = call(None);
        assert!(!plain.is_not_found() && !plain.is_already_exists() && !plain.is_retryable());
    }

    #[test]
    fn transport_failures_are_retryable_and_carry_no_code() {
        let lost = Error::Disconnected("controller closed the connection".into());
        assert!(lost.is_retryable() && lost.is_disconnected());
        assert_eq!(lost.code(), None);
        let timeout = Error::Timeout {
            facade: "Client".into(),
            method: "FullStatus".into(),
            seconds: 5,
        };
        assert!(timeout.is_retryable());
    }

    #[test]
    fn login_refusals_are_unauthorized_but_unknown_models_are_not() {
        let refused = Error::Login {
            message: "invalid entity name or password".into(),
            code: Some(code::UNAUTHORIZED.into()),
        };
        assert!(refused.is_unauthorized());
        assert!(!refused.is_retryable());
        let discharge = Error::Login {
            message: "login with macaroons required".into(),
            code: Some(code::DISCHARGE_REQUIRED.into()),
        };
        assert!(discharge.is_unauthorized());
        let unknown_model = Error::Login {
            message: "unknown model: \"x\"".into(),
            code: Some(code::MODEL_NOT_FOUND.into()),
        };
        assert!(!unknown_model.is_unauthorized());
    }

    #[test]
    fn login_failure_displays_for_a_status_line() {
        let refused = Error::Login {
            message: "invalid entity name or password".into(),
            code: Some(code::UNAUTHORIZED.into()),
        };
        assert_eq!(
            refused.to_string(),
            "login failed: invalid entity name or password"
        );
    }

    #[test]
    fn call_error_displays_juju_text_and_code() {
        assert_eq!(
            call(Some(code::ALREADY_EXISTS)).to_string(),
            "Application.AddRelation: cannot add relation (already exists)"
        );
        assert_eq!(
            call(None).to_string(),
            "Application.AddRelation: cannot add relation"
        );
    }
}
