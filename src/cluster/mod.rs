//! The Kubernetes side: reads and writes ckf-migrator needs from the cluster, through kube-rs.
//!
//! This module knows Kubernetes and nothing of Juju. Absence is data: a missing object is `None`,
//! not an error. Every error names the object concerned.

mod access;
mod custom;
mod error;
mod lease;
mod objects;
mod sidecars;
mod snapshot;
mod transport;
mod watch;

pub use access::{AccessCause, AccessError};
pub use custom::{InferenceService, inference_service_resource, profile_resource};
pub use error::{Error, Result};
pub use lease::{LeaseError, LeaseGuard, LeaseHolder};
pub use objects::{FIELD_MANAGER, ISTIO_K8S_MANAGED_LABEL, RolloutStatus, WorkloadKind};
pub use sidecars::{PodSummary, SidecarReport, SidecarWorkload};
pub use snapshot::{
    AuthorizationPolicyInfo, ClusterSnapshot, Condition, GatewayClassInfo, GatewayInfo,
    HttpRouteInfo, InferenceServiceInfo, LegacyIstio, NamespaceInfo, Owner, PodInfo, Read,
    ReadError, RouteParentStatus, RouteRef, ServiceInfo, WebhookConfigInfo, WebhookInfo,
    WorkloadInfo, condition_true, kind_name,
};
pub use watch::{Watched, Watching};

/// Page size for cluster-wide lists: a large cluster is read in bounded chunks.
pub const PAGE_SIZE: u32 = 500;

/// Attempts of one read before its error is reported. kube-rs already retries 429/503/504; this
/// also rides out 500s and dropped connections, which are as transient for an idempotent GET.
const READ_ATTEMPTS: u32 = 4;

/// Runs an idempotent read, trying again after a pause (0.2 s, doubling) when the API server is
/// throttling, failing or unreachable. Writes never go through here.
pub(crate) async fn retrying<T, F, Fut>(read: F) -> std::result::Result<T, kube::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = std::result::Result<T, kube::Error>>,
{
    retrying_when(read, error::transient).await
}

/// [`retrying`], with `worth_retrying` deciding which failures are tried again.
pub(crate) async fn retrying_when<T, F, Fut>(
    mut read: F,
    worth_retrying: impl Fn(&kube::Error) -> bool,
) -> std::result::Result<T, kube::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = std::result::Result<T, kube::Error>>,
{
    let mut pause = std::time::Duration::from_millis(200);
    let mut attempt = 1;
    loop {
        match read().await {
            Err(e) if attempt < READ_ATTEMPTS && worth_retrying(&e) => {
                tracing::debug!("Kubernetes read failed ({e}); trying again in {pause:?}");
                tokio::time::sleep(pause).await;
                pause *= 2;
                attempt += 1;
            }
            other => return other,
        }
    }
}

use std::path::PathBuf;

/// Where the cluster's credentials come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A kubeconfig file (CLI mode, tests, the demo).
    Kubeconfig(PathBuf),
    /// The pod's service account (charm mode: Juju passes `KUBERNETES_SERVICE_HOST`/`PORT`).
    InCluster,
}

/// A connection to the cluster.
#[derive(Clone)]
pub struct Cluster {
    client: kube::Client,
    /// The API server's URL, for messages.
    address: String,
}

impl Cluster {
    /// Builds a client from `source`. Nothing is sent yet.
    ///
    /// # Errors
    /// The kubeconfig cannot be read or parsed, or the in-cluster environment is incomplete.
    pub async fn connect(source: &Source) -> Result<Self> {
        let config = match source {
            Source::Kubeconfig(path) => {
                let kubeconfig = kube::config::Kubeconfig::read_from(path).map_err(|e| {
                    Error::config(format!("cannot read kubeconfig {}: {e}", path.display()))
                })?;
                kube::Config::from_custom_kubeconfig(
                    kubeconfig,
                    &kube::config::KubeConfigOptions::default(),
                )
                .await
                .map_err(|e| Error::config(format!("invalid kubeconfig {}: {e}", path.display())))?
            }
            Source::InCluster => kube::Config::incluster()
                .map_err(|e| Error::config(format!("cannot use the pod's service account: {e}")))?,
        };
        let address = config
            .cluster_url
            .to_string()
            .trim_end_matches('/')
            .to_string();
        let client = transport::client(&config)
            .map_err(|e| Error::config(format!("cannot build the Kubernetes client: {e}")))?;
        Ok(Self { client, address })
    }

    /// The underlying kube-rs client.
    pub fn client(&self) -> &kube::Client {
        &self.client
    }
}
