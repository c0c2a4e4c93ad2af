//! Where the engine works: a logged-in Juju model and a Kubernetes client for the same cluster.
//!
//! Front ends describe the target ([`Target`]); [`Session::open`] connects both ports once, and
//! `migrate` and `verify` run over the open session.

use crate::{cluster, juju};

/// What the front end knows about where to work.
#[derive(Debug, Clone)]
pub struct Target {
    /// Juju login.
    pub juju: juju::Credentials,
    /// Kubernetes credentials.
    pub cluster: cluster::Source,
    /// The model's name, which is also its Kubernetes namespace (`kubeflow`).
    pub model_name: String,
    /// Juju client tuning.
    pub connect: juju::ConnectOptions,
}

/// Both ports, connected.
pub struct Session {
    /// The Juju model.
    pub juju: juju::Client,
    /// The cluster.
    pub cluster: cluster::Cluster,
    /// Model name = namespace.
    pub model_name: String,
}

/// Why a session could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Juju refused or could not be reached.
    #[error(transparent)]
    Juju(#[from] juju::Error),
    /// The Kubernetes client could not be built.
    #[error(transparent)]
    Cluster(#[from] cluster::Error),
}

impl Session {
    /// Where the Juju controller is reached, for messages (the addresses tried, in order).
    pub fn juju_address(&self) -> String {
        self.juju.addresses().join(", ")
    }

    /// Where the Kubernetes API is reached, for messages.
    pub fn kubernetes_address(&self) -> String {
        self.cluster.address().to_string()
    }

    /// Logs in to Juju and builds the Kubernetes client.
    ///
    /// # Errors
    /// Login or connection failures ([`juju::Error`]) and client configuration failures
    /// ([`cluster::Error`]).
    pub async fn open(target: &Target) -> Result<Self, OpenError> {
        let cluster = cluster::Cluster::connect(&target.cluster).await?;
        let juju = juju::Client::connect(&target.juju, target.connect.clone()).await?;
        Ok(Self {
            juju,
            cluster,
            model_name: target.model_name.clone(),
        })
    }
}
