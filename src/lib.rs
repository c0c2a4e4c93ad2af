//! ckf-migrator migrates Charmed Kubeflow 1.11 from Istio sidecars to Istio Ambient Mesh, from
//! inside the `kubeflow` model, and proves the result.
//!
//! # Layout
//! - [`charm`] and [`cli`]: the two front ends. Juju runs the binary as `dispatch` (charm mode);
//!   a person runs it with arguments (CLI mode). Nothing else imports them.
//! - [`migrate`]: preflight, backup, and the reconcile loop that makes the plan true.
//! - [`backup`]: the model's state before the first change, written and read back as a desired
//!   state for `restore`.
//! - [`verify`]: one small function per check, and the report.
//! - [`plan`]: the migration as data (phases of desired facts) and the pure functions over it:
//!   diff against an observed state, rendering as commands. No I/O.
//! - [`advice`]: commands the operator should run, in the syntax of the front end in use.
//! - [`session`]: both ports, connected; [`observed`]: what they report, in the plan's terms.
//! - [`juju`]: the Juju controller API client (knows Juju, not Kubeflow).
//! - [`cluster`]: the Kubernetes side through kube-rs (knows Kubernetes, not Juju).

pub mod advice;
pub mod backup;
pub mod charm;
pub mod cli;
pub mod cluster;
pub mod juju;
pub mod migrate;
pub mod observed;
pub mod plan;
pub mod restore;
pub mod session;
pub mod verify;
