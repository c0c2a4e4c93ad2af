//! How requests reach the API server: one HTTP/2 connection, as client-go keeps.
//!
//! kube-rs builds an HTTP/1.1-only client for rustls, so every watch holds a TCP + TLS connection
//! of its own for as long as it runs, and each phase, which starts its own watches, pays new
//! handshakes before its first read (about 30 connections a migration). client-go negotiates
//! HTTP/2 by ALPN and multiplexes every request and watch of a process over one connection;
//! kube-apiserver serves HTTP/2 unless started with `--disable-http2-serving` (default false, in
//! its command-line reference), and HTTP/1.1 to clients that do not offer `h2`. This is the same
//! stack as kube-rs's own (base URI, server retries, auth, extra headers; the TLS config from the
//! kubeconfig or service account), with both protocols offered.
//!
//! A silently dead connection would stall every stream at once, so the connection is pinged when
//! idle, as client-go does (`k8s.io/apimachinery/pkg/util/net/http.go`: a ping after 30 s
//! without a frame, the connection closed if no answer within 15 s).
//!
//! A server that answers pings but never a request is bounded too. kube-rs bounds each read of
//! its HTTP/1.1 socket by `read_timeout`, which with one request per connection bounds each
//! request; on a shared HTTP/2 connection, kept busy by pings, only a bound per request can. So
//! each attempt gets `read_timeout` (kube-rs's default 295 s) to connect and answer with its
//! headers. A watch answers with its headers at once and streams after, so it is not cut.

use std::time::Duration;

use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use kube::client::ConfigExt;
use kube::client::retry::RetryPolicy;
use tower::{BoxError, ServiceBuilder, retry::RetryLayer, timeout::TimeoutLayer};

/// client-go's `readIdleTimeout`: ping a connection that has carried no frame for this long.
const PING_AFTER_IDLE: Duration = Duration::from_secs(30);
/// client-go's `pingTimeout`: close the connection if the ping is not answered in this time.
const PING_TIMEOUT: Duration = Duration::from_secs(15);

/// A kube-rs client for `config` that speaks HTTP/2 where the server offers it.
///
/// A kubeconfig with a `proxy-url` gets kube-rs's own client, which knows proxies (or says
/// which it does not support), rather than a connection that silently bypasses the proxy.
///
/// # Errors
/// The TLS identity or CA in `config` cannot be used, or its auth cannot be set up.
pub(super) fn client(config: &kube::Config) -> Result<kube::Client, kube::Error> {
    if config.proxy_url.is_some() {
        return kube::Client::try_from(config.clone());
    }
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(config.connect_timeout);
    http.set_nodelay(true);
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config.rustls_client_config()?)
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(http);
    let hyper = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
        .timer(TokioTimer::new())
        .pool_timer(TokioTimer::new())
        .http2_keep_alive_interval(PING_AFTER_IDLE)
        .http2_keep_alive_timeout(PING_TIMEOUT)
        .http2_keep_alive_while_idle(true)
        .build(https);
    let service = ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(
            config
                .default_retry
                .then(|| RetryLayer::new(RetryPolicy::server_retry())),
        )
        .option_layer(config.read_timeout.map(TimeoutLayer::new))
        .option_layer(config.auth_layer()?)
        .layer(config.extra_headers_layer()?)
        .map_err(BoxError::from)
        .service(hyper);
    Ok(kube::Client::new(service, config.default_namespace.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ckf_sim::kube::{Access, Auth, Protocol, Store, kubeconfig, serve};
    use ckf_sim::tls::Authority;

    /// Lists namespaces twice through a client of this module against a twin API server that
    /// offers `alpn`; returns the protocols of the connections the server accepted.
    async fn connections_for(alpn: &[&[u8]]) -> Vec<Protocol> {
        let ca = Authority::generate("transport test CA").expect("CA");
        let leaf = ca.server(&["127.0.0.1", "localhost"], alpn).expect("leaf");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let store = Store::new();
        let auth = Auth::new().with_token("admin-token", Access::ClusterAdmin);
        let server = serve(store.clone(), listener, leaf.config, auth)
            .await
            .expect("serve");
        let text = kubeconfig(&server.url(), &ca.ca_pem(), "admin-token", "default");
        let parsed: kube::config::Kubeconfig = serde_yaml::from_str(&text).expect("kubeconfig");
        let config = kube::Config::from_custom_kubeconfig(parsed, &Default::default())
            .await
            .expect("config");
        let client = client(&config).expect("client");
        let namespaces: kube::Api<k8s_openapi::api::core::v1::Namespace> = kube::Api::all(client);
        for _ in 0..2 {
            namespaces
                .list(&Default::default())
                .await
                .expect("the list is answered");
        }
        store.requests().connections()
    }

    #[tokio::test]
    async fn a_server_offering_http2_gets_one_multiplexed_connection() {
        assert_eq!(
            connections_for(ckf_sim::kube::ALPN).await,
            [Protocol::Http2]
        );
    }

    #[tokio::test]
    async fn a_server_offering_only_http1_is_still_reached() {
        assert_eq!(connections_for(&[b"http/1.1"]).await, [Protocol::Http1]);
    }

    #[tokio::test]
    async fn a_server_that_never_answers_fails_the_request_after_the_read_timeout() {
        // Accepts connections and says nothing: not even the TLS handshake completes.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let silent = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let mut config =
            kube::Config::new(format!("https://{address}").parse().expect("cluster URL"));
        config.accept_invalid_certs = true;
        config.read_timeout = Some(Duration::from_millis(300));
        config.default_retry = false;
        let namespaces: kube::Api<k8s_openapi::api::core::v1::Namespace> =
            kube::Api::all(client(&config).expect("client"));

        let answer = tokio::time::timeout(
            Duration::from_secs(10),
            namespaces.list(&Default::default()),
        )
        .await
        .expect("the read timeout ends the request, not the test's bound");

        assert!(answer.is_err(), "a silent server cannot have answered");
        silent.abort();
    }
}
