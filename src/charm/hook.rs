//! Hooks: look at what can be checked, set a truthful workload status, exit 0.
//!
//! Which hooks look how deep:
//! - `start`, `config-changed`, `secret-changed`, `upgrade-charm`: trust, the secret, and a Juju
//!   login with it. These are the hooks that follow an operator's change (`juju config`,
//!   `juju trust` fires `config-changed`, `juju update-secret` fires `secret-changed`).
//! - `install`, `update-status`, `leader-elected`, `leader-settings-changed`,
//!   `post-series-upgrade`: trust and the secret only, no login. `update-status` runs every five
//!   minutes and must stay cheap; it still matters, because `juju grant-secret` fires no hook,
//!   so it is how a fixed grant is noticed.
//! - every other hook (`stop`, `remove`, relation hooks, …): nothing to check; exit 0 and leave
//!   the status alone.
//!
//! When every check passes, a status that records an action's outcome (or, for a hook that does
//! not log in, a login failure) is left in place: see [`status::keep_on_ready`].
//!
//! What a hook costs: the checks and `status-get` run at once; `status-set` and its log line only
//! when the status changes. So an `update-status` with nothing to change runs three hook tools
//! (`config-get`, `secret-get`, `status-get`; two when not configured) and logs nothing. The
//! hook tools are started before the Kubernetes client is set up: `config-get` → `secret-get` is
//! the longest chain, and the client's set-up (kubeconfig, TLS configuration) is work the
//! process can do while the tools run.

use super::checks;
use super::context::JujuContext;
use super::credentials;
use super::hooktools::{HookTools, Runner, StatusKind, WorkloadStatus};
use super::status::{self, Depth};

/// How deep `hook` looks, or `None` if it has nothing to check.
pub fn depth(hook: &str) -> Option<Depth> {
    match hook {
        "start" | "config-changed" | "secret-changed" | "upgrade-charm" => Some(Depth::Login),
        "install"
        | "update-status"
        | "leader-elected"
        | "leader-settings-changed"
        | "post-series-upgrade" => Some(Depth::Cheap),
        _ => None,
    }
}

/// Runs one hook. Never fails: problems become the workload status, and tool failures are
/// logged (Juju keeps a hook's stderr in the unit log).
pub async fn run<R: Runner>(ctx: &JujuContext, tools: &HookTools<R>, hook: &str) {
    let Some(depth) = depth(hook) else {
        tracing::debug!("nothing to check in the {hook} hook");
        return;
    };
    if matches!(hook, "install" | "start" | "upgrade-charm")
        && let Err(e) = tools
            .application_version_set(env!("CARGO_PKG_VERSION"))
            .await
    {
        tracing::warn!("cannot set the application version: {e}");
    }
    // Independent reads: the credentials (config-get, then secret-get), the status the unit
    // shows now, and trust (the Kubernetes API). `join!` polls in this order, so both tools are
    // running before the first poll of the trust check builds the Kubernetes client.
    let source = ctx.cluster_source();
    let (loaded, current, trusted) = tokio::join!(
        credentials::load(tools, ctx),
        tools.status_get(),
        checks::trust(&source, ctx.app_name())
    );
    let assessed = assess(trusted, loaded, depth).await;
    let current = current
        .inspect_err(|e| tracing::warn!("cannot read the current status: {e}"))
        .ok();
    let wanted = match assessed {
        Err(problem) => problem,
        Ok(()) => match &current {
            Some(current) if status::keep_on_ready(current, depth) => {
                tracing::debug!(
                    "checks pass; keeping the status \"{}: {}\"",
                    current.status,
                    current.message
                );
                return;
            }
            _ => status::ready(),
        },
    };
    if current.as_ref().is_some_and(|c| c.shows(&wanted)) {
        tracing::debug!("{hook}: {wanted} (unchanged)");
        return;
    }
    // The unit log says why the status changed; a status that stays the same says nothing.
    if wanted.kind == StatusKind::Blocked {
        tracing::warn!("{hook}: {wanted}");
    } else {
        tracing::info!("{hook}: {wanted}");
    }
    if let Err(e) = tools.status_set(&wanted).await {
        tracing::error!("cannot set the workload status to {wanted}: {e}");
    }
}

/// The checks' verdict, most serious first, and for [`Depth::Login`] a login with the
/// credentials. `Ok(())` means everything this depth looks at is fine.
///
/// Missing trust is broken (blocked); missing credentials is merely "not configured" (active), so
/// trust is judged first. A problem is logged with the status it leads to, when that status
/// changes.
async fn assess(
    trusted: Result<(), WorkloadStatus>,
    loaded: Result<credentials::CharmCredentials, credentials::CredentialsError>,
    depth: Depth,
) -> Result<(), WorkloadStatus> {
    trusted?;
    let loaded = loaded.map_err(|e| e.status())?;
    if depth == Depth::Login {
        checks::login(&loaded.credentials, &loaded.secret_uri).await?;
    }
    Ok(())
}
