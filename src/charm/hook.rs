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

use super::checks;
use super::context::JujuContext;
use super::credentials;
use super::hooktools::{HookTools, Runner, WorkloadStatus};
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
    let status = match assess(ctx, tools, depth).await {
        Err(problem) => Some(problem),
        Ok(()) => match tools.status_get().await {
            Ok(current) if status::keep_on_ready(&current, depth) => {
                tracing::info!(
                    "checks pass; keeping the status \"{}: {}\"",
                    current.status,
                    current.message
                );
                None
            }
            Ok(_) => Some(status::ready()),
            Err(e) => {
                tracing::warn!("cannot read the current status: {e}");
                Some(status::ready())
            }
        },
    };
    if let Some(status) = status {
        tracing::info!("{hook}: {status}");
        if let Err(e) = tools.status_set(&status).await {
            tracing::error!("cannot set the workload status to {status}: {e}");
        }
    }
}

/// The checks, most serious first. `Ok(())` means everything this depth looks at is fine.
async fn assess<R: Runner>(
    ctx: &JujuContext,
    tools: &HookTools<R>,
    depth: Depth,
) -> Result<(), WorkloadStatus> {
    // Missing trust is broken (blocked); missing credentials is merely "not configured"
    // (active), so trust is looked at first.
    checks::trust(&ctx.cluster_source(), ctx.app_name()).await?;
    let loaded = credentials::load(tools, ctx).await.map_err(|e| {
        if !e.is_not_configured() {
            tracing::warn!("{e}");
        }
        e.status()
    })?;
    if depth == Depth::Login {
        checks::login(&loaded.credentials, &loaded.secret_uri).await?;
    }
    Ok(())
}
