//! verify: prove the migration worked, check by check.
//!
//! One read-only pass gathers a [`Snapshot`] — Juju's status and the config the checks read, every
//! Kubernetes kind listed once (cluster-wide or in its one namespace, paginated, reduced on
//! arrival), and two HTTP probes through the ingress — then each check, a small pure function over
//! the snapshot, returns pass / warn / fail with one sentence naming the object read and what to
//! do. Nothing is ever written: only GET requests and Juju read calls.
//!
//! This module knows what a migrated model looks like (ckf-ambient.md §5); it reaches Juju and
//! Kubernetes only through the session's ports, and HTTP only through [`probe`].
//!
//! Start reading at [`run`], then `checks` (the registry) and its groups: `juju`,
//! `control_plane`, `gateways`, `mesh`, `kserve`, `http`. Check 28 of §5 (logging in through Dex)
//! needs user credentials and is not done.

mod checks;
pub mod probe;
mod report;
mod snapshot;

#[cfg(test)]
mod fixtures;

pub use report::{CheckResult, Report, Summary, Verdict};
pub use snapshot::Snapshot;

use crate::advice::FrontEnd;
use crate::plan::Plan;
use crate::session::Session;

/// What the operator asked for.
#[derive(Debug, Clone)]
pub struct Options {
    /// Also probe Dex and the dashboard through the ingress.
    pub http: bool,
    /// Which front end runs verify: advice is rendered in its syntax.
    pub front_end: FrontEnd,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            http: true,
            front_end: crate::advice::FrontEnd::Cli,
        }
    }
}

/// The check that stands in for all others when the Kubernetes API cannot be used.
pub const KUBERNETES_API_CHECK: &str = "kubernetes-api";

/// Runs every check that applies. Read-only, and never fails as a whole: what cannot be read
/// fails the checks that need it, naming it. If the Kubernetes API cannot be used at all, the
/// report is the one failing check [`KUBERNETES_API_CHECK`] saying why and what to do.
pub async fn run(session: &Session, options: &Options) -> Report {
    let plan = match Plan::builtin() {
        Ok(plan) => plan,
        Err(e) => {
            return Report {
                checks: vec![CheckResult {
                    name: "plan-loaded".into(),
                    group: "juju".into(),
                    verdict: Verdict::Fail(format!("{e}; this binary is broken, report it")),
                }],
            };
        }
    };
    // One cheap request first: when the API server cannot be used, every check that reads the
    // cluster would fail for that one reason, so it is said once, with its fix.
    if let Err(e) = session.cluster.check_access().await {
        return Report {
            checks: vec![CheckResult {
                name: KUBERNETES_API_CHECK.into(),
                group: "cluster".into(),
                verdict: Verdict::Fail(format!("{e}; {}", options.front_end.access_error_fix(&e))),
            }],
        };
    }
    let snapshot = snapshot::gather(session, &plan, options).await;
    judge_for(&snapshot, &plan, &options.front_end)
}

/// Judges a snapshot: the pure half of [`run`], fixes in the CLI's syntax.
pub fn judge(snapshot: &Snapshot, plan: &Plan) -> Report {
    judge_for(snapshot, plan, &FrontEnd::Cli)
}

/// Judges a snapshot, with fixes in `front_end`'s syntax.
pub fn judge_for(snapshot: &Snapshot, plan: &Plan, front_end: &FrontEnd) -> Report {
    Report {
        checks: checks::judge_all(snapshot, plan, front_end),
    }
}
