//! The Juju controller API client, for Juju 3.6.
//!
//! The charm container has no `juju` CLI, so ckf-migrator drives Juju over the controller API:
//! a TLS websocket carrying one JSON object per text frame (reference/juju-api.md). This module
//! knows Juju and nothing of Kubeflow, plans or migrations.
//!
//! Start reading at [`Client`]: [`Client::connect`] logs in and negotiates facade versions; each
//! typed call is named after the Juju method it sends. Layers, lowest first:
//! - `rpc`: the socket task, request ids, the pending-reply map, pings, timeouts;
//! - `wire`: serde structs exactly as Juju sends them;
//! - [`model`]: the domain types callers see;
//! - `client`: login, facade versions, typed calls, reconnection.

mod client;
mod credentials;
mod error;
pub mod model;

pub use client::{Client, ConnectOptions, LoginInfo};
pub use credentials::{Credentials, Password};
pub use error::{Error, Result, code};
pub use model::*;
