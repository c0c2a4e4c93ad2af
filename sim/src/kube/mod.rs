//! The twin's Kubernetes API server: an object store with the apiserver's rules and the
//! workload controllers, served over HTTPS to kubectl and kube-rs.
//!
//! This module owns "what a Kubernetes cluster does with objects": resource versions, owners and
//! garbage collection, selectors, pagination, patches, watches, discovery, tables, RBAC-like
//! authorisation, and Deployment/ReplicaSet/StatefulSet/DaemonSet behaviour. It knows nothing of
//! Juju, Kubeflow or Istio: the rest of the twin makes objects appear through the [`Store`]'s
//! Rust API and the pod admission hook ([`Store::set_pod_admission`]).
//!
//! # Where to start
//! - [`Store`] (`store.rs`): the objects and the Rust API; everything else reads or writes
//!   through it.
//! - [`serve`] (`server.rs` → `api.rs`): HTTPS, routing, verbs, content negotiation.
//! - `controllers.rs`: what follows a write (pods for workloads, rollouts, scheduling); objects
//!   annotated [`FROZEN_ANNOTATION`]` = "true"` are left alone.
//! - `kubelet.rs`: pod and container statuses, and the timer that paces rollouts
//!   ([`Store::pace_rollouts`]).
//! - [`Faults`], [`RequestLog`]: knobs and observations for tests and benchmarks.
//!
//! # Example
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use ckf_sim::kube::{Access, Auth, Store, kubeconfig, serve};
//! let ca = ckf_sim::tls::Authority::generate("ckf-sim CA")?;
//! let leaf = ca.server(&["127.0.0.1", "localhost"], ckf_sim::kube::ALPN)?;
//! let store = Store::new();
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let auth = Auth::new().with_token("admin-token", Access::ClusterAdmin);
//! let server = serve(store.clone(), listener, leaf.config, auth).await?;
//! let config = kubeconfig(&server.url(), &ca.ca_pem(), "admin-token", "default");
//! # let _ = config; Ok(()) }
//! ```

mod api;
mod auth;
mod controllers;
mod discovery;
mod error;
mod faults;
mod kubeconfig;
mod kubelet;
mod patch;
mod requests;
mod resources;
mod rules;
mod selector;
mod server;
mod store;
mod table;
mod watch;

pub use auth::{Access, Auth};
pub use controllers::FROZEN_ANNOTATION;
pub use error::{ApiError, Cause, Reason};
pub use faults::{Fault, FaultKind, Faults};
pub use kubeconfig::kubeconfig;
pub use patch::{PatchError, PatchType};
pub use requests::{Protocol, RequestLog, RequestRecord};
pub use resources::crd;
pub use selector::{FieldSelector, LabelSelector, SelectorError};
pub use server::{ALPN, ServerHandle, serve};
pub use store::{Change, ChangeKind, PodAdmission, Propagation, Store, StoreView};
