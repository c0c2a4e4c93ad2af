//! The Juju controller: TLS websocket, JSON-RPC envelope, login, facades, and the schema check of
//! every request and response.
//!
//! It speaks juju-api.md §2–§9 on loopback and answers from a [`Model`]; it holds no state of its
//! own beyond each connection's login. It must not know Kubeflow: statuses and rules come from
//! the model. Start at [`start`] (fresh CA, random loopback port) or [`serve`]; `conn.rs` holds the envelope and the order of checks every call
//! goes through, `login.rs` the Admin facade, `client.rs`, `application.rs` and `charms.rs` the
//! methods, `schema.rs` the validator.

mod allwatcher;
mod application;
mod charms;
mod client;
mod conn;
pub mod facades;
mod login;
pub mod schema;

use std::net::SocketAddr;
use std::sync::Arc;

use rustls::ServerConfig;
use tokio::net::TcpListener;
use tokio::task::{AbortHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

use crate::model::Model;

/// Largest websocket message or frame accepted or sent: 64 MiB, as libjuju allows.
pub const MAX_FRAME_SIZE: usize = 64 << 20;

/// A running controller. Dropping it stops the server and closes every connection.
pub struct ControllerHandle {
    addr: SocketAddr,
    model_uuid: String,
    task: AbortHandle,
}

impl ControllerHandle {
    /// The address the controller listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `wss://127.0.0.1:<port>/model/<uuid>/api`, the model login URL.
    pub fn model_url(&self) -> String {
        format!("wss://{}/model/{}/api", self.addr, self.model_uuid)
    }

    /// `wss://127.0.0.1:<port>/api`, the controller-only login URL.
    pub fn controller_url(&self) -> String {
        format!("wss://{}/api", self.addr)
    }

    /// `host:port` as `JUJU_API_ADDRESSES` carries it.
    pub fn api_address(&self) -> String {
        self.addr.to_string()
    }
}

impl Drop for ControllerHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A controller started by [`start`]: its handle and the CA a client must trust.
pub struct Controller {
    /// The running server (stops on drop).
    pub handle: ControllerHandle,
    /// PEM of the CA that signed the server certificate (the client's only root).
    pub ca_pem: String,
}

/// Starts a controller for `model` on `127.0.0.1:<random port>` with a fresh CA and a leaf for
/// [`crate::tls::JUJU_DNS_NAMES`]; clients connect with server name `juju-apiserver`.
///
/// # Errors
/// Certificate generation or binding the loopback port failed.
pub async fn start(model: Model) -> anyhow::Result<Controller> {
    let ca = crate::tls::Authority::generate("ckf-sim Juju controller CA")?;
    let leaf = ca.server(crate::tls::JUJU_DNS_NAMES, &[])?;
    let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
    Ok(Controller {
        handle: serve(model, listener, leaf.config),
        ca_pem: ca.ca_pem(),
    })
}

/// Serves the controller for `model` on an already bound `listener` with `tls` (build it with
/// `tls::Authority::server(tls::JUJU_DNS_NAMES, &[])`). Must be called inside a tokio runtime.
///
/// Routes: `/model/<uuid>/api` (an unknown uuid makes every call fail `unknown model`),
/// `/api` and `/` (controller-only login). Each request runs in its own task, so replies can
/// come back out of order.
pub fn serve(model: Model, listener: TcpListener, tls: Arc<ServerConfig>) -> ControllerHandle {
    let local = listener
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
    // The twin publishes loopback addresses only; a wildcard bind is advertised as 127.0.0.1.
    let addr = if local.ip().is_loopback() {
        local
    } else {
        SocketAddr::from(([127, 0, 0, 1], local.port()))
    };
    let model_uuid = model.uuid().to_string();
    let acceptor = TlsAcceptor::from(tls);
    let task = tokio::spawn(async move {
        // Connections live in this set: aborting the accept loop drops it and aborts them all.
        let mut connections = JoinSet::new();
        let mut listener = Some(listener);
        let mut down = model.shared.down.subscribe();
        loop {
            let is_down = *down.borrow_and_update();
            if is_down {
                // A controller that is down closes its socket: clients get "connection refused".
                if listener.take().is_some() {
                    connections.abort_all();
                    tracing::debug!("juju twin: controller down (fault)");
                }
                if down.changed().await.is_err() {
                    return;
                }
                continue;
            }
            let Some(bound) = &listener else {
                match TcpListener::bind(local).await {
                    Ok(rebound) => listener = Some(rebound),
                    Err(e) => {
                        tracing::warn!("juju twin: cannot listen on {local} again: {e}");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    }
                }
                continue;
            };
            let (stream, _) = tokio::select! {
                accepted = bound.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        tracing::warn!("juju twin: accept failed: {e}");
                        continue;
                    }
                },
                _ = down.changed() => continue,
            };
            // Go's net package sets TCP_NODELAY on every connection; without it small replies
            // wait for Nagle's delayed ACK and every exchange costs tens of milliseconds.
            if let Err(e) = stream.set_nodelay(true) {
                tracing::warn!("juju twin: cannot set TCP_NODELAY: {e}");
            }
            let model = model.clone();
            let acceptor = acceptor.clone();
            connections.spawn(conn::run(model, acceptor, stream, addr));
            while connections.try_join_next().is_some() {}
        }
    });
    ControllerHandle {
        addr,
        model_uuid,
        task: task.abort_handle(),
    }
}
