//! ckf-sim: a twin of a Charmed Kubeflow 1.11 deployment that speaks the real Juju controller and
//! Kubernetes wire protocols on loopback.
//!
//! No Juju controller or Kubernetes cluster runs on the machines this project is built on, and a
//! mock that answers whatever the caller expects proves nothing. The twin keeps state and enforces
//! the rules of the real thing, so ckf-migrator's real clients (websocket + TLS for Juju, kube-rs
//! for Kubernetes) and real `kubectl` can talk to it.
//!
//! It is written from `shared/reference/` and Juju's own API schema, never from ckf-migrator's
//! types: this crate depends on nothing in ckf-migrator, so a wrong field name cannot be agreed on
//! by both sides.
//!
//! # Layout
//! - [`tls`]: the twin's CA and server certificates.
//! - [`kube`]: a Kubernetes API server: an object store with resource versions, label and field
//!   selectors, pagination, patches, watch, discovery, and the workload controllers
//!   (Deployment → ReplicaSet → Pod, StatefulSet, DaemonSet).
//! - [`model`]: the Juju model: applications, units, relations, config, the charm catalog, and
//!   how each change settles in time.
//! - [`fixtures`]: which deployment the twin plays ([`fixtures::Twin`]).
//! - [`coupling`]: what the charms do to the cluster, from the model's state.
//! - [`juju`]: the Juju controller: TLS websocket, JSON-RPC envelope, login, facades, and the
//!   schema check of every request and response.
//! - [`ingress`]: what a browser sees at the ingress's address (Dex, the dashboard's login redirect).
//! - [`hooktools`]: fake Juju hook tools (one multi-call binary) that keep state, for charm tests.
//! - [`Sim`]: all of it running: `Sim::start(Twin::ckf_1_11()).await`.

pub mod coupling;
pub mod fixtures;
pub mod hooktools;
pub mod ingress;
pub mod juju;
pub mod kube;
pub mod model;
pub mod tls;
mod twin;

pub use fixtures::Twin;
pub use twin::{ADMIN_USER, INGRESS_IP, Sim, TRUSTED_TOKEN, UNTRUSTED_TOKEN};
