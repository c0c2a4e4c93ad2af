//! The HTTPS transport of the API server: TLS (rustls), HTTP/2 or HTTP/1.1 as ALPN settles it
//! (hyper), one task per connection, request bodies in, [`api`](super::api) replies out, every
//! request logged. kube-apiserver offers both, `h2` first, and client-go (kubectl) takes HTTP/2,
//! multiplexing its requests and watches over one connection.
//!
//! [`serve`] takes an already bound listener, like mini-redis' `server::run`, and returns a
//! [`ServerHandle`]; dropping the handle stops accepting and aborts open connections (watches
//! included).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, Limited, StreamBody};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

use crate::kube::api::{self, ApiRequest, Reply};
use crate::kube::auth::Auth;
use crate::kube::error::ApiError;
use crate::kube::requests::Protocol;
use crate::kube::store::Store;

/// Largest request body accepted (a big CRD is ~1 MiB; etcd's limit is 1.5 MiB).
const MAX_BODY: usize = 8 * 1024 * 1024;
/// A client that does not finish the TLS handshake in this time is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

type Body = UnsyncBoxBody<Bytes, Infallible>;

/// A running API server. Dropping it stops the server.
#[derive(Debug)]
pub struct ServerHandle {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl ServerHandle {
    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://<addr>`, the `server` of a kubeconfig.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// Stops the server and waits until its tasks are gone.
    pub async fn shutdown(mut self) {
        self.task.abort();
        // An aborted task's join result carries nothing of interest; Drop aborts again,
        // harmlessly.
        let _ = (&mut self.task).await;
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The protocols the API server offers by ALPN, in kube-apiserver's order.
pub const ALPN: &[&[u8]] = &[b"h2", b"http/1.1"];

/// Serves the Kubernetes API of `store` over HTTPS on `listener` until the handle is dropped.
/// `tls` should come from `tls::Authority::server(&["127.0.0.1", "localhost"], ALPN)` with
/// [`ALPN`], as kube-apiserver offers.
///
/// # Errors
/// Only if the listener has no local address.
pub async fn serve(
    store: Store,
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    auth: Auth,
) -> std::io::Result<ServerHandle> {
    let addr = listener.local_addr()?;
    let acceptor = TlsAcceptor::from(tls);
    let auth = Arc::new(auth);
    let task = tokio::spawn(accept_loop(store, listener, acceptor, auth));
    Ok(ServerHandle { addr, task })
}

async fn accept_loop(store: Store, listener: TcpListener, acceptor: TlsAcceptor, auth: Arc<Auth>) {
    // Connection tasks live in the set so that aborting this task aborts them all.
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => {
                    conns.spawn(connection(store.clone(), tcp, acceptor.clone(), auth.clone()));
                }
                Err(e) => {
                    tracing::warn!("ckf-sim kube API: accept failed: {e}");
                    // Out of file descriptors and the like: back off instead of spinning.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

async fn connection(
    store: Store,
    tcp: tokio::net::TcpStream,
    acceptor: TlsAcceptor,
    auth: Arc<Auth>,
) {
    let _ = tcp.set_nodelay(true);
    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tracing::debug!("ckf-sim kube API: TLS handshake failed: {e}");
            return;
        }
        Err(_) => return,
    };
    // The protocol ALPN settled on; a client that offered none gets HTTP/1.1.
    let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
    store
        .requests()
        .connected(if h2 { Protocol::Http2 } else { Protocol::Http1 });
    let service = service_fn(move |req: Request<Incoming>| {
        let store = store.clone();
        let auth = auth.clone();
        async move { Ok::<_, Infallible>(respond(&store, &auth, req).await) }
    });
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    let served = if h2 {
        builder
            .http2_only()
            .serve_connection(TokioIo::new(tls), service)
            .await
    } else {
        builder
            .http1_only()
            .serve_connection(TokioIo::new(tls), service)
            .await
    };
    if let Err(e) = served {
        tracing::debug!("ckf-sim kube API: connection ended: {e}");
    }
}

fn full(status: u16, content_type: &str, body: Bytes, retry_after: Option<u32>) -> Response<Body> {
    let mut b = Response::builder()
        .status(status)
        .header("Content-Type", content_type)
        .header("Cache-Control", "no-cache, private");
    if let Some(s) = retry_after {
        b = b.header("Retry-After", s.to_string());
    }
    b.body(Full::new(body).boxed_unsync())
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new()).boxed_unsync()))
}

async fn respond(store: &Store, auth: &Auth, req: Request<Incoming>) -> Response<Body> {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let accept = header("accept").unwrap_or_default();
    let content_type = header("content-type").unwrap_or_default();
    let authorization = header("authorization");
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            let err = ApiError::bad_request(format!("reading the request body failed: {e}"));
            let body = serde_json::to_vec(&err.to_status()).expect("a Value always serialises");
            return full(400, "application/json", Bytes::from(body), None);
        }
    };
    let (reply, record) = api::handle(
        store,
        auth,
        ApiRequest {
            method,
            path,
            query,
            accept,
            content_type,
            authorization,
            body,
        },
    );
    store.requests().record(record);
    match reply {
        Reply::Full {
            status,
            content_type,
            body,
            retry_after,
        } => full(status, content_type, body, retry_after),
        Reply::Stream(stream) => Response::builder()
            .status(200)
            .header("Content-Type", "application/json")
            .header("Cache-Control", "no-cache, private")
            .body(StreamBody::new(stream).boxed_unsync())
            .unwrap_or_else(|_| Response::new(Full::new(Bytes::new()).boxed_unsync())),
    }
}
