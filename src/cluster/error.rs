//! The Kubernetes port's error type.

/// A failed Kubernetes request, with the object it concerned.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The client could not be configured.
    #[error("{0}")]
    Config(String),
    /// The API server refused or failed a request.
    #[error("{action} {object}: {}", describe(.cause))]
    Api {
        /// What we were doing (`list`, `get`, `patch`, …).
        action: &'static str,
        /// The object or collection, e.g. `DaemonSet kube-system/cilium`.
        object: String,
        /// kube-rs's error. Described in the message rather than chained, so that it is said
        /// once and as the server said it.
        cause: kube::Error,
    },
}

impl Error {
    pub(crate) fn config(message: impl Into<String>) -> Self {
        Error::Config(message.into())
    }

    /// Wraps a kube-rs error with what we were doing and on which object.
    pub fn api(action: &'static str, object: impl Into<String>, cause: kube::Error) -> Self {
        Error::Api {
            action,
            object: object.into(),
            cause,
        }
    }

    /// The HTTP status code the API server answered with, if it answered.
    pub fn status_code(&self) -> Option<u16> {
        match self {
            Error::Api {
                cause: kube::Error::Api(status),
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
            Error::Api { cause, .. } => transient(cause),
            Error::Config(_) => false,
        }
    }
}

/// Throttled, a server error, or no answer: worth another try.
pub(crate) fn transient(e: &kube::Error) -> bool {
    match e {
        kube::Error::Api(status) => status.code == 429 || status.code >= 500,
        kube::Error::HyperError(_) | kube::Error::Service(_) => true,
        _ => false,
    }
}

/// What the server said, in one clause: its message and the HTTP status.
pub(crate) fn describe(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(status) if !status.message.is_empty() => {
            format!("{} (HTTP {})", status.message, status.code)
        }
        kube::Error::Api(status) => format!("{} (HTTP {})", status.reason, status.code),
        // kube-rs says "ServiceError: client error (Connect)"; the reason is at the chain's end.
        other => match super::access::transport_cause(other) {
            Some(cause) => format!("cannot connect to the API server: {cause}"),
            None => other.to_string(),
        },
    }
}

/// Result alias for the Kubernetes port.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16, message: &str) -> kube::Error {
        let mut status = kube::core::Status::failure(message, "InternalError");
        status.code = code;
        kube::Error::Api(Box::new(status))
    }

    #[test]
    fn says_what_the_server_said_once() {
        let e = Error::api("list", "nodes", status(500, "etcd is down"));
        assert_eq!(e.to_string(), "list nodes: etcd is down (HTTP 500)");
        assert!(e.is_retryable());
        assert!(!Error::api("get", "x", status(404, "gone")).is_retryable());
    }

    #[test]
    fn a_failed_connection_says_its_root_cause() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let e = Error::api("list", "nodes", kube::Error::Service(Box::new(refused)));

        assert_eq!(
            e.to_string(),
            "list nodes: cannot connect to the API server: connection refused"
        );
        assert!(e.is_retryable());
    }
}
