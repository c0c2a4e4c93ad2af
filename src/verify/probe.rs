//! The HTTP port: two GETs through the ingress, the way a browser without a session makes them.
//!
//! It connects only to the address the ingress Service publishes, follows no redirect (the
//! redirect is what is checked), ignores proxy settings from the environment, and gives up after
//! short timeouts. What the answers mean is for the checks; this module only records them.
//!
//! TLS: reqwest is built without a crypto provider (`rustls-no-provider`); the client gets a
//! rustls `ClientConfig` built on the ring provider explicitly, so nothing process-wide is
//! installed. The probes use plain `http://` (the ingress's `http-80` listener).

use std::sync::Arc;
use std::time::Duration;

/// Connect timeout of a probe.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Whole-request timeout of a probe.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Bytes of an answer's body kept.
const BODY_LIMIT: usize = 64 * 1024;

/// Dex's OpenID discovery document, served through the ingress without authentication.
pub const DEX_DISCOVERY_PATH: &str = "/dex/.well-known/openid-configuration";
/// The dashboard, which redirects a browser without a session to Dex.
pub const ROOT_PATH: &str = "/";

/// An HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpAnswer {
    /// Status code.
    pub status: u16,
    /// The `Location` header, if any.
    pub location: Option<String>,
    /// The body, cut at 64 KiB, lossily decoded as UTF-8.
    pub body: String,
}

/// What one probe saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// The server answered.
    Answered(HttpAnswer),
    /// No answer: connection refused, timeout, reset. The text says which.
    Failed(String),
    /// Not attempted; the text says why (no address to probe).
    NotRun(String),
}

/// Both probes and the base URL they used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpProbes {
    /// `http://<address>:<port>`, or why there is none.
    pub base: Result<String, String>,
    /// `GET /dex/.well-known/openid-configuration`.
    pub discovery: ProbeOutcome,
    /// `GET /` without cookies.
    pub root: ProbeOutcome,
}

/// Why the probe client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// rustls refused the protocol versions.
    #[error("cannot configure TLS for the HTTP probes: {0}")]
    Tls(#[from] rustls::Error),
    /// reqwest refused the configuration.
    #[error("cannot build the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// The probe client: no redirects, no proxy, short timeouts, rustls on ring.
///
/// # Errors
/// [`ProbeError`] if TLS or the client cannot be configured.
pub fn client() -> Result<reqwest::Client, ProbeError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    // The probes speak plain HTTP; TLS is configured only because the client requires a backend,
    // so no root is trusted and an https URL would fail rather than trust anything.
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .build()?)
}

async fn get(client: &reqwest::Client, url: &str) -> ProbeOutcome {
    let mut response = match client.get(url).send().await {
        Ok(response) => response,
        Err(e) => return ProbeOutcome::Failed(describe(&e)),
    };
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = BODY_LIMIT.saturating_sub(body.len());
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if body.len() >= BODY_LIMIT {
                    break;
                }
            }
            Ok(None) => break,
            Err(e) => return ProbeOutcome::Failed(describe(&e)),
        }
    }
    ProbeOutcome::Answered(HttpAnswer {
        status,
        location,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// One line for a reqwest failure, with its innermost cause (reqwest's own text is generic).
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    let mut root = None;
    while let Some(s) = source {
        root = Some(s.to_string());
        source = s.source();
    }
    match root {
        Some(root) => format!("{kind}: {root}"),
        None => kind.to_string(),
    }
}

/// Runs both probes concurrently against `base`; when there is no base, neither runs.
pub async fn probe(base: Result<String, String>) -> HttpProbes {
    let url = match &base {
        Ok(url) => url.clone(),
        Err(why) => {
            return HttpProbes {
                discovery: ProbeOutcome::NotRun(why.clone()),
                root: ProbeOutcome::NotRun(why.clone()),
                base,
            };
        }
    };
    let client = match client() {
        Ok(client) => client,
        Err(e) => {
            return HttpProbes {
                discovery: ProbeOutcome::Failed(e.to_string()),
                root: ProbeOutcome::Failed(e.to_string()),
                base,
            };
        }
    };
    let discovery_url = format!("{url}{DEX_DISCOVERY_PATH}");
    let root_url = format!("{url}{ROOT_PATH}");
    let (discovery, root) = tokio::join!(get(&client, &discovery_url), get(&client, &root_url));
    HttpProbes {
        base,
        discovery,
        root,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    const WAIT: Duration = Duration::from_secs(10);

    /// A tiny HTTP/1.1 server on loopback: Dex's discovery document under `/dex/`, a redirect to
    /// Dex's login everywhere else, one connection per request.
    async fn ingress() -> String {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("address");
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buf[..n]),
                        }
                    }
                    let text = String::from_utf8_lossy(&request);
                    let response = if text.starts_with("GET /dex/") {
                        let body = r#"{"issuer": "http://dex-auth.kubeflow.svc:5556/dex"}"#;
                        format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                            body.len()
                        )
                    } else {
                        "HTTP/1.1 302 Found\r\nlocation: /dex/auth?client_id=authservice-oidc\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_string()
                    };
                    let _ = socket.write_all(response.as_bytes()).await;
                });
            }
        });
        format!("http://{addr}")
    }

    #[test]
    fn the_probe_client_builds_with_the_ring_provider() {
        assert!(client().is_ok());
    }

    #[tokio::test]
    async fn probes_record_answers_and_do_not_follow_the_redirect() {
        let base = ingress().await;

        let probes = tokio::time::timeout(WAIT, probe(Ok(base.clone())))
            .await
            .expect("probes finish within their own timeouts");

        assert_eq!(probes.base, Ok(base));
        match &probes.discovery {
            ProbeOutcome::Answered(a) => {
                assert_eq!(a.status, 200);
                assert!(a.body.contains("issuer"), "{}", a.body);
            }
            other => panic!("discovery: {other:?}"),
        }
        match &probes.root {
            ProbeOutcome::Answered(a) => {
                assert_eq!(a.status, 302);
                assert_eq!(
                    a.location.as_deref(),
                    Some("/dex/auth?client_id=authservice-oidc")
                );
            }
            other => panic!("root: {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_closed_port_is_a_failed_probe() {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("address");
        drop(listener);

        let probes = tokio::time::timeout(WAIT, probe(Ok(format!("http://{addr}"))))
            .await
            .expect("probes finish within their own timeouts");

        assert!(
            matches!(&probes.root, ProbeOutcome::Failed(why) if why.starts_with("connection failed")),
            "{:?}",
            probes.root
        );
    }

    #[tokio::test]
    async fn without_a_base_nothing_is_sent() {
        let probes = probe(Err("Service kubeflow/x has no load-balancer address".into())).await;

        assert_eq!(
            probes.discovery,
            ProbeOutcome::NotRun("Service kubeflow/x has no load-balancer address".into())
        );
    }
}
