//! The two things a hook checks beyond the secret: that the pod's service account was trusted
//! (it can list nodes cluster-wide) and that the credentials log in to Juju.
//!
//! Each check returns the `blocked` status that explains a failure, with the fix. Both talk to
//! the outside world, so both are bounded by a timeout: a hook must not hang.

use std::time::Duration;

use super::hooktools::WorkloadStatus;
use super::status;
use crate::{cluster, juju};

/// How long a hook waits for the Kubernetes API.
pub const CLUSTER_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a hook waits for a Juju login.
pub const LOGIN_TIMEOUT: Duration = Duration::from_secs(60);

/// Checks that the charm may act cluster-wide: lists at most one node with the pod's service
/// account (or the kubeconfig in charm-mode tests). Without `--trust` Juju's ClusterRole only
/// allows reading namespaces, so the list is refused with 403 (reference/charm-runtime.md §4).
///
/// # Errors
/// `blocked` "missing trust" on 401/403; `blocked` "cannot reach the Kubernetes API" otherwise.
pub async fn trust(source: &cluster::Source, app: &str) -> Result<(), WorkloadStatus> {
    let cluster = tokio::time::timeout(CLUSTER_TIMEOUT, cluster::Cluster::connect(source))
        .await
        .map_err(|_| status::cluster_unreachable("no answer within 30 s"))?
        .map_err(|e| status::cluster_unreachable(&e.to_string()))?;
    let listed = tokio::time::timeout(CLUSTER_TIMEOUT, cluster.can_list_nodes())
        .await
        .map_err(|_| status::cluster_unreachable("listing nodes: no answer within 30 s"))?;
    match listed {
        Ok(true) => Ok(()),
        Ok(false) => Err(status::missing_trust(app)),
        Err(e) => Err(status::cluster_unreachable(&e.to_string())),
    }
}

/// Logs in to Juju with `credentials` and logs out again.
///
/// # Errors
/// `blocked` "juju-credentials: <the Juju client's error>", e.g. `login failed: invalid entity
/// name or password` (the client's messages never contain the password).
pub async fn login(
    credentials: &juju::Credentials,
    secret_uri: &str,
) -> Result<(), WorkloadStatus> {
    let options = juju::ConnectOptions {
        call_timeout: Duration::from_secs(30),
        ..juju::ConnectOptions::default()
    };
    match tokio::time::timeout(LOGIN_TIMEOUT, juju::Client::connect(credentials, options)).await {
        Ok(Ok(client)) => {
            client.close().await;
            Ok(())
        }
        Ok(Err(e)) => Err(status::login_failed(
            &e.to_string(),
            &status::login_fix(&e, secret_uri),
        )),
        Err(_) => Err(status::login_failed(
            "no answer from the Juju controller within 60 s",
            &format!("check api-addresses in secret {secret_uri} against `juju show-controller`"),
        )),
    }
}
