//! The Juju controller API client, for Juju 3.6.
//!
//! The charm container has no `juju` CLI, so ckf-migrator drives Juju over the controller API:
//! a TLS websocket carrying one JSON object per text frame (reference/juju-api.md). This module
//! knows Juju and nothing of Kubeflow, plans or migrations.
//!
//! Start reading at [`Client`]: [`Client::connect`] logs in and negotiates facade versions; each
//! typed call is named after the Juju method it sends. Layers, lowest first:
//! - `connect`: TCP, TLS (controller CA only, server name `juju-apiserver`), websocket handshake;
//! - `rpc`: the socket task, request ids, the pending-reply map, pings, timeouts;
//! - `wire`: serde structs exactly as Juju sends them;
//! - `login`: `Admin.Login` and facade version negotiation;
//! - `channel`: Juju's channel grammar and the refresh's origin swap;
//! - [`model`]: the domain types callers see;
//! - `client`: typed calls and reconnection; `refresh`: the refresh sequence of the Go CLI.

mod channel;
mod client;
mod connect;
mod credentials;
pub mod delta;
mod error;
mod login;
pub mod model;
mod refresh;
mod rpc;
mod watcher;
mod wire;

pub use channel::CharmChannel;
pub use client::{Client, ConnectOptions, ConnectionEvent};
pub use credentials::{Credentials, Password};
pub use delta::{Applied, Delta};
pub use error::{Error, Result, code};
pub use login::LoginInfo;
pub use model::*;
pub use watcher::AllWatcher;
