//! The migration as data: phases of desired facts, and the pure functions over them.
//!
//! This module performs no I/O and imports no other ckf-migrator module (like kube-core). It loads
//! and validates a plan ([`Plan::builtin`]), binds it to a run ([`Plan::resolve`]), judges each
//! fact against an observed state ([`evaluate`]) and renders what is missing as the commands a
//! person would type ([`Change`]'s `Display`).
//!
//! Start reading at `plans/ckf-1.11-ambient.yaml`, then [`model`], then [`evaluate()`].

mod change;
mod evaluate;
mod ids;
mod load;
pub mod model;
mod observed;
mod platform;
mod resolve;

#[cfg(test)]
mod fixtures;

pub use change::{Change, FROM_BACKUP, RESTARTED_FOR};
pub use evaluate::{
    FactState, Lookup, RunMemory, evaluate, is_transient, lookup, sidecar_leftovers,
};
pub use ids::{Channel, EndpointRef, InvalidChannel, InvalidEndpoint};
pub use load::{BUILTIN, InvalidPlan};
pub use model::{
    Fact, FactKind, LegacyObject, Phase, Plan, Role, Settle, WorkloadKind, WorkloadRef,
};
pub use observed::{
    App, ClusterState, Needs, Observed, ProfileNamespace, Rollout, SidecarInventory,
    SidecarWorkload, Status, Unit,
};
pub use platform::{Platform, UnknownPlatform};
pub use resolve::{Params, Resolved};
