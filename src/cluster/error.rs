//! The Kubernetes port's error type.

/// A failed Kubernetes request, with the object it concerned.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The client could not be configured.
    #[error("{0}")]
    Config(String),
    /// The API server refused or failed a request.
    #[error("{action} {object}: {source}")]
    Api {
        /// What we were doing (`list`, `get`, `patch`, …).
        action: &'static str,
        /// The object or collection, e.g. `DaemonSet kube-system/cilium`.
        object: String,
        /// kube-rs's error.
        #[source]
        source: kube::Error,
    },
}

impl Error {
    pub(crate) fn config(message: impl Into<String>) -> Self {
        Error::Config(message.into())
    }

    /// Wraps a kube-rs error with what we were doing and on which object.
    pub fn api(action: &'static str, object: impl Into<String>, source: kube::Error) -> Self {
        Error::Api {
            action,
            object: object.into(),
            source,
        }
    }

    /// The HTTP status code the API server answered with, if it answered.
    pub fn status_code(&self) -> Option<u16> {
        match self {
            Error::Api {
                source: kube::Error::Api(status),
                ..
            } => Some(status.code),
            _ => None,
        }
    }

    /// The server said the object does not exist.
    pub fn is_not_found(&self) -> bool {
        self.status_code() == Some(404)
    }

    /// The server refused for lack of permission (missing `--trust`).
    pub fn is_forbidden(&self) -> bool {
        matches!(self.status_code(), Some(401 | 403))
    }

    /// A write lost a race (stale `resourceVersion`).
    pub fn is_conflict(&self) -> bool {
        self.status_code() == Some(409)
    }

    /// Worth retrying: throttled, a server error, or the connection failed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api {
                source: kube::Error::Api(status),
                ..
            } => status.code == 429 || status.code >= 500,
            Error::Api {
                source: kube::Error::HyperError(_) | kube::Error::Service(_),
                ..
            } => true,
            _ => false,
        }
    }
}

/// Result alias for the Kubernetes port.
pub type Result<T, E = Error> = std::result::Result<T, E>;
