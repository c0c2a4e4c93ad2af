//! Can we talk to the API server at all? One cheap request, classified into the few causes an
//! operator can act on: unreachable, TLS, bad credentials, refused, other.
//!
//! Callers ask once, before many reads: when the answer is no, every read would fail for the same
//! reason, and one sentence naming the address and the cause beats thirty naming neither. What
//! to do about it depends on the front end, so this module says only what happened; the fix is
//! `crate::advice::FrontEnd::access_error_fix`, outside this module, which knows no front end.

use std::fmt;

use super::Cluster;

/// Why the API server could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessCause {
    /// No connection: refused, timed out, no route, unknown host. The words say which.
    Unreachable(String),
    /// The TLS handshake failed, e.g. the server's certificate is not signed by the expected CA.
    Tls(String),
    /// HTTP 401: the server does not accept the credentials (token expired or unknown).
    Unauthorized,
    /// HTTP 403 on a request every authenticated user may make, with the server's message.
    Forbidden(String),
    /// Anything else: a server error, an unexpected answer.
    Other(String),
}

/// The API server at `address` could not be used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessError {
    /// The API server's URL, as configured (in a pod, the `KUBERNETES_SERVICE_HOST` Service address).
    pub address: String,
    /// What went wrong.
    pub cause: AccessCause,
}

impl AccessError {
    /// Nothing answered at the address (refused, timed out, no route).
    pub fn is_unreachable(&self) -> bool {
        matches!(self.cause, AccessCause::Unreachable(_))
    }

    /// The TLS handshake failed.
    pub fn is_tls(&self) -> bool {
        matches!(self.cause, AccessCause::Tls(_))
    }

    /// The server refused the credentials (401) or the request (403).
    pub fn is_refused(&self) -> bool {
        matches!(
            self.cause,
            AccessCause::Unauthorized | AccessCause::Forbidden(_)
        )
    }
}

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let address = &self.address;
        match &self.cause {
            AccessCause::Unreachable(why) => {
                write!(f, "cannot reach the Kubernetes API at {address}: {why}")
            }
            AccessCause::Tls(why) => {
                write!(
                    f,
                    "cannot reach the Kubernetes API at {address}: TLS failed: {why}"
                )
            }
            AccessCause::Unauthorized => write!(
                f,
                "the Kubernetes API at {address} refused the credentials (HTTP 401 Unauthorized)"
            ),
            AccessCause::Forbidden(message) => write!(
                f,
                "the Kubernetes API at {address} refused access: {message} (HTTP 403 Forbidden)"
            ),
            AccessCause::Other(why) => {
                write!(f, "cannot use the Kubernetes API at {address}: {why}")
            }
        }
    }
}

impl std::error::Error for AccessError {}

impl Cluster {
    /// The API server's URL, without a trailing slash.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Asks the API server for its version (`GET /version`): the cheapest request, which every
    /// authenticated user may make (`system:public-info-viewer`), so it tests the address, TLS
    /// and credentials, and nothing about RBAC beyond that.
    ///
    /// A dropped connection or a 5xx is tried again as any read is; a timeout is not, since each
    /// attempt would wait as long again.
    ///
    /// # Errors
    /// The server cannot be reached or refuses the credentials; the [`AccessError`] says which.
    pub async fn check_access(&self) -> Result<(), AccessError> {
        let worth_retrying = |e: &kube::Error| {
            super::error::transient(e)
                && !matches!(classify(e), AccessCause::Unreachable(why) if why == TIMED_OUT)
        };
        super::retrying_when(|| self.client.apiserver_version(), worth_retrying)
            .await
            .map(drop)
            .map_err(|error| {
                tracing::debug!("Kubernetes access check failed: {error}");
                AccessError {
                    address: self.address.clone(),
                    cause: classify(&error),
                }
            })
    }
}

const TIMED_OUT: &str = "timed out";

/// Sorts a kube-rs error into an [`AccessCause`].
pub(crate) fn classify(e: &kube::Error) -> AccessCause {
    match e {
        kube::Error::Api(status) if status.code == 401 => AccessCause::Unauthorized,
        kube::Error::Api(status) if status.code == 403 => {
            AccessCause::Forbidden(if status.message.is_empty() {
                status.reason.clone()
            } else {
                status.message.clone()
            })
        }
        kube::Error::Api(_) => AccessCause::Other(super::error::describe(e)),
        other => match transport_cause(other) {
            Some(Transport::Io(why)) => AccessCause::Unreachable(why),
            Some(Transport::Tls(why)) => AccessCause::Tls(why),
            None => AccessCause::Other(root_message(other)),
        },
    }
}

/// What failed under HTTP, in plain words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Transport {
    /// The socket: "connection refused", "timed out", ….
    Io(String),
    /// The TLS handshake: "certificate verify failed: …".
    Tls(String),
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Transport::Io(why) => f.write_str(why),
            Transport::Tls(why) => write!(f, "TLS failed: {why}"),
        }
    }
}

/// Walks the `source()` chain for the socket's or TLS's error.
///
/// `io::Error::source` skips the error it wraps (it returns the wrapped error's own source), and
/// hyper's connectors wrap rustls errors in `io::Error`, so the walk looks inside each
/// `io::Error` with `get_ref` as well.
pub(crate) fn transport_cause(e: &(dyn std::error::Error + 'static)) -> Option<Transport> {
    let mut io_words = None;
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = current {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return Some(Transport::Tls(tls_words(tls)));
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            io_words = Some(io_words_of(io));
            if let Some(inner) = io.get_ref() {
                current = Some(inner);
                continue;
            }
        }
        current = err.source();
    }
    io_words.map(Transport::Io)
}

/// The last error in the chain, which says what actually happened.
fn root_message(e: &(dyn std::error::Error + 'static)) -> String {
    let mut root = e;
    while let Some(next) = root.source() {
        root = next;
    }
    root.to_string()
}

fn io_words_of(e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::ConnectionRefused => "connection refused".into(),
        ErrorKind::TimedOut => TIMED_OUT.into(),
        ErrorKind::ConnectionReset => "connection reset by the server".into(),
        ErrorKind::ConnectionAborted => "connection aborted".into(),
        ErrorKind::HostUnreachable => "no route to host".into(),
        ErrorKind::NetworkUnreachable => "network unreachable".into(),
        ErrorKind::AddrNotAvailable => "address not available".into(),
        ErrorKind::UnexpectedEof => "the server closed the connection".into(),
        _ => {
            // "Name or service not known (os error -2)" → "name or service not known".
            let text = e.to_string();
            let text = match text.rfind(" (os error") {
                Some(at) => &text[..at],
                None => &text,
            };
            let mut chars = text.chars();
            match chars.next() {
                Some(first) => first.to_lowercase().chain(chars).collect(),
                None => format!("{:?}", e.kind()).to_lowercase(),
            }
        }
    }
}

fn tls_words(e: &rustls::Error) -> String {
    match e {
        rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer) => {
            "certificate verify failed: the server's certificate is not signed by the configured CA"
                .into()
        }
        rustls::Error::InvalidCertificate(cert) => format!("certificate verify failed: {cert}"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ckf_sim::kube::{Access, Auth, Store, kubeconfig, serve};
    use ckf_sim::tls::Authority;

    use super::*;
    use crate::cluster::Source;

    const LIMIT: Duration = Duration::from_secs(30);

    /// A running API server (the twin's) and a directory for kubeconfigs.
    struct Server {
        url: String,
        ca: Authority,
        dir: tempfile::TempDir,
        _handle: ckf_sim::kube::ServerHandle,
    }

    async fn server() -> Server {
        let ca = Authority::generate("access test CA").expect("CA");
        let leaf = ca
            .server(&["127.0.0.1", "localhost"], ckf_sim::kube::ALPN)
            .expect("leaf");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let auth = Auth::new()
            .with_token("admin-token", Access::ClusterAdmin)
            .with_token("ns-token", Access::Namespace("kubeflow".into()));
        let handle = serve(Store::new(), listener, leaf.config, auth)
            .await
            .expect("serve");
        Server {
            url: handle.url(),
            ca,
            dir: tempfile::tempdir().expect("temp dir"),
            _handle: handle,
        }
    }

    impl Server {
        async fn check(&self, url: &str, ca_pem: &str, token: &str) -> Result<(), AccessError> {
            let path = self.dir.path().join(format!("kubeconfig-{token}"));
            std::fs::write(&path, kubeconfig(url, ca_pem, token, "kubeflow")).expect("write");
            let cluster = Cluster::connect(&Source::Kubeconfig(path))
                .await
                .expect("client builds");
            tokio::time::timeout(LIMIT, cluster.check_access())
                .await
                .expect("the check finishes in time")
        }
    }

    fn closed_port_url() -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        drop(listener);
        format!("https://127.0.0.1:{port}")
    }

    #[tokio::test]
    async fn a_valid_token_passes_even_without_cluster_wide_rights() {
        let s = server().await;
        let ca = s.ca.ca_pem();

        assert_eq!(s.check(&s.url, &ca, "admin-token").await, Ok(()));
        assert_eq!(
            s.check(&s.url, &ca, "ns-token").await,
            Ok(()),
            "an untrusted service account can still reach the API; trust is checked per read"
        );
    }

    #[tokio::test]
    async fn a_closed_port_is_unreachable_connection_refused_naming_the_address() {
        let s = server().await;
        let url = closed_port_url();

        let err = s
            .check(&url, &s.ca.ca_pem(), "admin-token")
            .await
            .unwrap_err();

        assert_eq!(
            err.cause,
            AccessCause::Unreachable("connection refused".into())
        );
        assert!(err.is_unreachable() && !err.is_refused());
        assert_eq!(
            err.to_string(),
            format!("cannot reach the Kubernetes API at {url}: connection refused")
        );
    }

    #[tokio::test]
    async fn an_unknown_token_is_unauthorized() {
        let s = server().await;

        let err = s
            .check(&s.url, &s.ca.ca_pem(), "stale-token")
            .await
            .unwrap_err();

        assert_eq!(err.cause, AccessCause::Unauthorized);
        assert!(err.is_refused());
        assert!(err.to_string().contains("HTTP 401 Unauthorized"), "{err}");
    }

    #[tokio::test]
    async fn a_certificate_from_another_ca_is_a_tls_failure() {
        let s = server().await;
        let other = Authority::generate("someone else").expect("CA");

        let err = s
            .check(&s.url, &other.ca_pem(), "admin-token")
            .await
            .unwrap_err();

        assert!(err.is_tls(), "{err:?}");
        assert!(
            err.to_string()
                .contains("certificate verify failed: the server's certificate is not signed"),
            "{err}"
        );
    }

    #[test]
    fn a_forbidden_version_keeps_the_servers_message() {
        let mut status = kube::core::Status::failure(
            "forbidden: User \"x\" cannot get path \"/version\"",
            "Forbidden",
        );
        status.code = 403;

        let cause = classify(&kube::Error::Api(Box::new(status)));

        assert_eq!(
            cause,
            AccessCause::Forbidden("forbidden: User \"x\" cannot get path \"/version\"".into())
        );
    }

    #[test]
    fn io_errors_are_said_in_plain_words() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let wrapped: Box<dyn std::error::Error + Send + Sync> = Box::new(refused);
        let e = kube::Error::Service(wrapped);
        assert_eq!(
            classify(&e),
            AccessCause::Unreachable("connection refused".into())
        );

        let dns = std::io::Error::other("Name or service not known (os error -2)");
        assert_eq!(io_words_of(&dns), "name or service not known");
    }
}
