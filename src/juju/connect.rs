//! Opening the TLS websocket to a model: `wss://ADDR/model/<uuid>/api`.
//!
//! Owns how the client reaches the controller (juju-api.md §2): each address tried in turn, each
//! attempt bounded by the connect timeout; rustls with the ring provider, the controller CA as the
//! only root and server name `juju-apiserver` (what the Go client checks, whatever IP it dials);
//! the websocket handshake over our own TLS stream, with frames up to 64 MiB. It knows nothing of
//! requests or login. Start at [`open`].

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::error::{Error, Result};
use super::rpc::MAX_MESSAGE_BYTES;

/// The name a Juju controller's certificate is checked against, whatever address is dialled.
pub const SERVER_NAME: &str = "juju-apiserver";

/// The websocket over TLS over TCP.
pub type Socket = WebSocketStream<TlsStream<TcpStream>>;

/// A rustls client configuration that trusts only the controller CA.
///
/// # Errors
/// [`Error::Invalid`] when the PEM holds no certificate or one rustls refuses as a root.
pub fn tls_config(ca_pem: &str) -> Result<Arc<ClientConfig>> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        let cert = cert.map_err(|e| Error::Invalid(format!("controller CA certificate: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| Error::Invalid(format!("controller CA certificate: {e}")))?;
    }
    if roots.is_empty() {
        return Err(Error::Invalid(
            "controller CA certificate: no PEM certificate found".into(),
        ));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Invalid(format!("TLS set-up: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Checks that a model UUID can go into the URL path as is.
///
/// # Errors
/// [`Error::Invalid`] for an empty UUID or one with characters other than hex digits and `-`.
pub fn check_model_uuid(uuid: &str) -> Result<()> {
    if uuid.is_empty() || !uuid.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
        return Err(Error::Invalid(format!("model UUID {uuid:?} not valid")));
    }
    Ok(())
}

/// Opens the model's API socket at the first address that answers.
///
/// # Errors
/// [`Error::Invalid`] when there is no address; [`Error::Connect`] listing every address tried
/// with what failed there (TCP, TLS, websocket handshake, or the timeout).
pub async fn open(
    addresses: &[String],
    model_uuid: &str,
    tls: &Arc<ClientConfig>,
    timeout: Duration,
) -> Result<(Socket, String)> {
    if addresses.is_empty() {
        return Err(Error::Invalid(
            "no Juju controller API address given".into(),
        ));
    }
    let mut attempts = Vec::with_capacity(addresses.len());
    for address in addresses {
        match tokio::time::timeout(timeout, open_one(address, model_uuid, tls)).await {
            Ok(Ok(socket)) => return Ok((socket, address.clone())),
            Ok(Err(reason)) => attempts.push(format!("{address}: {reason}")),
            Err(_) => attempts.push(format!(
                "{address}: no answer within {} s",
                timeout.as_secs_f64()
            )),
        }
        tracing::debug!(
            "{}",
            attempts.last().map(String::as_str).unwrap_or_default()
        );
    }
    Err(Error::Connect { attempts })
}

async fn open_one(
    address: &str,
    model_uuid: &str,
    tls: &Arc<ClientConfig>,
) -> std::result::Result<Socket, String> {
    let tcp = TcpStream::connect(address)
        .await
        .map_err(|e| format!("tcp: {e}"))?;
    let _ = tcp.set_nodelay(true);
    let name = ServerName::try_from(SERVER_NAME).expect("juju-apiserver is a valid DNS name");
    let stream = TlsConnector::from(tls.clone())
        .connect(name, tcp)
        .await
        .map_err(|e| format!("tls: {e}"))?;
    let url = format!("wss://{address}/model/{model_uuid}/api");
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_MESSAGE_BYTES));
    let (socket, _response) =
        tokio_tungstenite::client_async_with_config(url.as_str(), stream, Some(config))
            .await
            .map_err(|e| format!("websocket: {e}"))?;
    Ok(socket)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_without_a_certificate_is_refused() {
        let err = tls_config("not a certificate").expect_err("no PEM");
        assert!(matches!(err, Error::Invalid(_)), "{err:?}");
        assert!(err.to_string().contains("controller CA"), "{err}");
    }

    #[test]
    fn model_uuid_must_be_hex_and_dashes() {
        assert!(check_model_uuid("0b5d6f5e-1111-4222-8333-444455556666").is_ok());
        assert!(check_model_uuid("").is_err());
        assert!(check_model_uuid("../api").is_err());
    }

    #[tokio::test]
    async fn no_address_is_an_invalid_configuration() {
        let err = open(&[], "abc", &empty_config(), Duration::from_secs(1))
            .await
            .expect_err("nothing to dial");
        assert!(matches!(err, Error::Invalid(_)), "{err:?}");
    }

    #[tokio::test]
    async fn every_unreachable_address_is_reported() {
        // Bind then drop: the ports are (almost certainly) closed now.
        let closed = |_: u8| {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            listener.local_addr().expect("addr").to_string()
        };
        let addresses = vec![closed(0), closed(1)];
        let err = open(&addresses, "abc", &empty_config(), Duration::from_secs(5))
            .await
            .expect_err("nothing listens");
        let Error::Connect { attempts } = &err else {
            panic!("expected Connect, got {err:?}");
        };
        assert_eq!(attempts.len(), 2);
        assert!(attempts[0].starts_with(&addresses[0]), "{attempts:?}");
        assert!(attempts[1].starts_with(&addresses[1]), "{attempts:?}");
        assert!(err.is_retryable());
    }

    /// A one-shot TLS websocket server with the twin's CA that sends `payload` in one frame.
    async fn server_sending(payload: String) -> (String, String) {
        use futures::SinkExt;
        use tokio_tungstenite::tungstenite::Message;

        let ca = ckf_sim::tls::Authority::generate("connect test CA").expect("CA");
        let leaf = ca.server(ckf_sim::tls::JUJU_DNS_NAMES, &[]).expect("leaf");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address").to_string();
        let acceptor = tokio_rustls::TlsAcceptor::from(leaf.config);
        tokio::spawn(async move {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let config = WebSocketConfig::default()
                .max_message_size(None)
                .max_frame_size(None);
            let Ok(mut ws) = tokio_tungstenite::accept_async_with_config(tls, Some(config)).await
            else {
                return;
            };
            let _ = ws.send(Message::text(payload)).await;
            // Keep the socket open until the client goes.
            let _ = futures::StreamExt::next(&mut ws).await;
        });
        (address, ca.ca_pem())
    }

    #[tokio::test]
    async fn a_frame_larger_than_tungstenites_default_limit_is_received() {
        use futures::StreamExt;

        let big = "x".repeat(20 << 20);
        let (address, ca) = server_sending(big.clone()).await;
        let tls = tls_config(&ca).expect("CA");

        let (mut socket, used) = open(
            std::slice::from_ref(&address),
            "abc",
            &tls,
            Duration::from_secs(10),
        )
        .await
        .expect("TLS with server name juju-apiserver and the CA as only root");
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a frame in time")
            .expect("open")
            .expect("a 20 MiB frame is within the 64 MiB limit");

        assert_eq!(used, address);
        assert_eq!(message.into_text().expect("text").len(), big.len());
    }

    #[tokio::test]
    async fn an_address_that_never_completes_the_handshake_times_out() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address").to_string();
        // Accepts TCP, then says nothing: the TLS handshake never completes.
        let _silent = tokio::spawn(async move {
            let held = listener.accept().await;
            std::future::pending::<()>().await;
            drop(held);
        });

        let err = open(
            &[address],
            "abc",
            &empty_config(),
            Duration::from_millis(200),
        )
        .await
        .expect_err("times out");

        let Error::Connect { attempts } = &err else {
            panic!("expected Connect, got {err:?}");
        };
        assert!(
            attempts[0].contains("no answer within 0.2 s"),
            "{attempts:?}"
        );
    }

    fn empty_config() -> Arc<ClientConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        Arc::new(
            ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .expect("ring supports the defaults")
                .with_root_certificates(RootCertStore::empty())
                .with_no_client_auth(),
        )
    }
}
