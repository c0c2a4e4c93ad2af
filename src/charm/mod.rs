//! Charm mode: Juju runs this binary as the charm's `dispatch`; `JUJU_DISPATCH_PATH` says which
//! hook or action (reference/charm-runtime.md §1).
//!
//! This module is a front end: it turns Juju's environment and hook tools into calls to the
//! engine (`migrate`, `verify`) and the engine's answers into statuses, results and logs. It
//! knows nothing of how a migration is done.
//!
//! # Layout
//! - [`context`]: the environment, read once into a [`JujuContext`]. Start here.
//! - [`hooktools`]: the one [`Runner`] trait, its process implementation, and the typed layer
//!   [`HookTools`] that builds each tool's argv.
//! - [`hook`]: hooks — checks (trust, secret, login) and the workload status.
//! - [`action`]: actions — parameters, credentials, the engine, results, failure policy.
//! - [`params`]: [`ACTIONS`], every action and parameter the binary handles, and validation.
//! - [`credentials`]: the `juju-credentials` secret → a Juju login.
//! - [`results`]: `action-set` key rules and flattening.
//! - [`status`]: every status message, and which ones a hook leaves in place.
//! - [`checks`]: trust (list nodes) and login, each bounded by a timeout.
//! - [`logging`]: `tracing` → `juju-log`.

pub mod action;
pub mod checks;
pub mod context;
pub mod credentials;
pub mod hook;
pub mod hooktools;
pub mod logging;
pub mod params;
pub mod results;
pub mod status;

use std::panic::AssertUnwindSafe;
use std::process::ExitCode;
use std::time::Duration;

use futures::FutureExt;

pub use action::{Engine, LiveEngine};
pub use context::{Event, JujuContext};
pub use hooktools::{HookToolError, HookTools, ProcessRunner, Runner};
pub use params::ACTIONS;

/// How long the last log lines may take to reach `juju-log` before the process exits.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs the hook or action named by `JUJU_DISPATCH_PATH`, with the real hook tools and engine.
/// Builds the one tokio runtime of charm mode.
///
/// Exits 0 whenever Juju's environment is sane: hooks report through the workload status and
/// actions through `action-fail` (a non-zero exit would replace the action's message with
/// `exit status 1` and put a hook in error).
pub fn main() -> ExitCode {
    let vars = std::env::vars_os().map(|(k, v)| {
        (
            k.to_string_lossy().into_owned(),
            v.to_string_lossy().into_owned(),
        )
    });
    let ctx = match JujuContext::from_vars(vars) {
        Ok(ctx) => ctx,
        Err(e) => {
            eprintln!("ckf-migrator: {e}");
            return ExitCode::FAILURE;
        }
    };
    // A hook waits on a few hook tools and one Kubernetes request; worker threads would only add
    // their start-up (and a read of the cgroup's CPU quota) to every update-status. An action
    // runs the engine for minutes and decodes large replies, so it keeps the worker pool, where
    // one busy task cannot hold up the Juju client's pings.
    let mut builder = match ctx.event {
        Event::Hook(_) => tokio::runtime::Builder::new_current_thread(),
        Event::Action { .. } => tokio::runtime::Builder::new_multi_thread(),
    };
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("ckf-migrator: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(async {
        // Only actions run long enough to be worth stopping cleanly; a hook is let die.
        let engine = LiveEngine {
            interrupt: match ctx.event {
                Event::Action { .. } => crate::migrate::signals::install(|name| {
                    tracing::warn!("{name} received: stopping at a safe point");
                }),
                Event::Hook(_) => crate::migrate::Interrupt::never(),
            },
        };
        dispatch(ctx, HookTools::new(ProcessRunner), engine).await
    });
    // Do not wait for background work (idle HTTP connections, pings) beyond a moment: Juju is
    // waiting for this process.
    runtime.shutdown_timeout(Duration::from_secs(2));
    code
}

/// Runs one event with the given hook tools and engine, forwarding `tracing` to `juju-log`.
pub async fn dispatch<R: Runner, E: Engine>(
    ctx: JujuContext,
    tools: HookTools<R>,
    engine: E,
) -> ExitCode {
    let logs = logging::install(tools.clone());
    let started = format!(
        "ckf-migrator {} running {} on {}",
        env!("CARGO_PKG_VERSION"),
        ctx.event,
        ctx.unit_name
    );
    match &ctx.event {
        // Juju logs every hook it runs; this line is worth a process only in front of another.
        Event::Hook(_) => logs.header(started),
        Event::Action { .. } => tracing::info!("{started}"),
    }
    match &ctx.event {
        Event::Hook(name) => {
            let outcome = AssertUnwindSafe(hook::run(&ctx, &tools, name))
                .catch_unwind()
                .await;
            if let Err(panic) = outcome {
                let message = action::panic_message(panic.as_ref());
                tracing::error!("internal error in the {name} hook: {message}");
                let status = status::internal_error(name, &message);
                if let Err(e) = tools.status_set(&status).await {
                    eprintln!("ckf-migrator: cannot set status {status}: {e}");
                }
            }
        }
        Event::Action { name, .. } => action::run(&ctx, &tools, name, &engine).await,
    }
    logs.flush(FLUSH_TIMEOUT).await;
    ExitCode::SUCCESS
}
