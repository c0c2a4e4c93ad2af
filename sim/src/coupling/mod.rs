//! The twin behaves like the cluster under Juju: deploying, removing, relating and configuring
//! charms makes the Kubernetes objects those charms make appear and disappear.
//!
//! - [`desired`]: pure — the objects each charm creates, from the model's state;
//! - [`admission`]: pure — what Istio does to a pod when it is created;
//! - [`sync`]: the loop that makes the store match the model after every model event.

pub mod admission;
pub mod desired;
pub mod sync;
