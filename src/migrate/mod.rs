//! migrate-to-ambient: preflight, backup, and the reconcile loop that makes the plan true.
//!
//! The engine never calls a hook tool or prints: it reports progress as [`Event`]s to the sink the
//! front end supplies, and returns a [`Report`]. It reaches the model and the cluster only through
//! the [`Session`]'s two ports.
//!
//! Start reading at [`run`]: preflight (read-only), then either the dry-run's list of commands or
//! the lease, the backup, and one reconcile loop per phase (`reconcile`), then verify.

mod apply;
mod backup;
mod observe;
mod preflight;
mod reconcile;
mod report;

pub use backup::BACKUP_LABEL;
pub use report::{Event, Events, Outcome, Report, human_duration};

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::plan::{FactState, Needs, Params, Plan, Platform, RunMemory};
use crate::session::Session;
use crate::verify;

use reconcile::{Run, Stop, judge};

/// Default bound on changes applied at once inside a phase.
pub const PHASE_CONCURRENCY: usize = 4;

/// Default longest silence while waiting (issue: "90 s with no line while istio-pilot is removed").
pub const HEARTBEAT: Duration = Duration::from_secs(30);

/// Name of the Lease that keeps two migrations from running at once.
pub const LEASE_NAME: &str = "ckf-migrator";

/// What the operator asked for.
#[derive(Debug, Clone)]
pub struct Options {
    /// Kubernetes substrate (`auto` detects it from the nodes).
    pub platform: Platform,
    /// Print the changes, write nothing.
    pub dry_run: bool,
    /// Also restart every workload in profile namespaces whose pods still carry a sidecar.
    pub restart_workloads: bool,
    /// Proceed although Serverless InferenceServices will stop serving.
    pub allow_serverless_loss: bool,
    /// Deadline for the whole run.
    pub timeout: Duration,
    /// Bound on concurrent changes inside a phase.
    pub concurrency: usize,
    /// How often to observe while waiting.
    pub poll_interval: Duration,
    /// Whether this unit is the leader (`None` in CLI mode, where there is no unit).
    pub is_leader: Option<bool>,
    /// Who holds the migration lease (`ckf-migrator/0`, or `cli:user@host:pid`).
    pub holder: String,
    /// How long the lease outlives a holder that stopped renewing it.
    pub lease_duration: Duration,
    /// Run verify at the end of a migration.
    pub verify: bool,
    /// Longest silence while waiting: a [`Event::Waiting`] is repeated at least this often.
    pub heartbeat: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            platform: Platform::Auto,
            dry_run: false,
            restart_workloads: false,
            allow_serverless_loss: false,
            timeout: Duration::from_secs(60 * 60),
            concurrency: PHASE_CONCURRENCY,
            poll_interval: Duration::from_secs(5),
            is_leader: None,
            holder: "ckf-migrator".into(),
            lease_duration: Duration::from_secs(60),
            verify: true,
            heartbeat: HEARTBEAT,
        }
    }
}

/// Runs the migration and says how it went. Never panics on bad input; every failure is a
/// [`Outcome::Failed`] naming the step and the fix.
pub async fn run(session: &Session, options: &Options, events: &Events) -> Report {
    let started = Instant::now();
    let fail = |step: &str, error: String| Report::failed(step, error, started.elapsed());
    let plan = match Plan::builtin() {
        Ok(plan) => plan,
        Err(e) => return fail("plan", e.to_string()),
    };

    events.note("preflight: checking credentials, model, channels, trust, platform, InferenceServices, lease");
    let status = match session.juju.full_status().await {
        Ok(status) => status,
        Err(e) => return fail("preflight", format!("reading the model: {e}")),
    };
    let findings = preflight::run(session, &plan, options, &status).await;
    for note in &findings.notes {
        events.note(format!("preflight: {note}"));
    }
    let platform = match (findings.failures.is_empty(), findings.platform) {
        (true, Some(platform)) => platform,
        _ => return fail("preflight", findings.failures.join("; ")),
    };
    let resolved = match plan.resolve(Params {
        model: session.model_name.clone(),
        platform,
        restart_workloads: options.restart_workloads,
    }) {
        Ok(resolved) => resolved,
        Err(e) => return fail("plan", e.to_string()),
    };

    let everything = Needs::of(&resolved.plan.phases);
    let observed = match observe::observe(session, &resolved.plan, &everything).await {
        Ok(observed) => observed,
        Err(e) => return fail("observe", format!("{e}; re-run migrate-to-ambient")),
    };
    let total = resolved.plan.phases.len();
    let verdicts: Vec<Vec<FactState>> = resolved
        .plan
        .phases
        .iter()
        .map(|p| judge(&resolved, p, &observed, &RunMemory::default()))
        .collect();
    let skipped: BTreeSet<String> = verdicts
        .iter()
        .flatten()
        .filter_map(|s| match s {
            FactState::Skipped(why) => Some(why.clone()),
            _ => None,
        })
        .collect();

    if options.dry_run {
        let mut planned = Vec::new();
        for ((i, phase), states) in resolved.plan.phases.iter().enumerate().zip(&verdicts) {
            let commands: Vec<String> = states
                .iter()
                .filter_map(|s| match s {
                    FactState::Unmet(changes) => Some(changes.iter().map(|c| c.to_string())),
                    _ => None,
                })
                .flatten()
                .collect();
            if !commands.is_empty() {
                planned.push(format!(
                    "# phase {}/{total} {}: {}",
                    i + 1,
                    phase.name,
                    phase.title
                ));
                planned.extend(commands);
            }
        }
        let outcome = if planned.is_empty() {
            Outcome::AlreadyMigrated
        } else {
            Outcome::Planned
        };
        return Report {
            outcome,
            applied: Vec::new(),
            skipped: skipped.into_iter().collect(),
            planned,
            duration: started.elapsed(),
            backup: None,
            verify: None,
        };
    }

    let all_done = verdicts
        .iter()
        .flatten()
        .all(|s| matches!(s, FactState::Done | FactState::Skipped(_)));
    if all_done {
        events.note("every fact of the plan already holds: nothing to do");
        return Report {
            outcome: Outcome::AlreadyMigrated,
            applied: Vec::new(),
            skipped: skipped.into_iter().collect(),
            planned: Vec::new(),
            duration: started.elapsed(),
            backup: None,
            verify: None,
        };
    }

    let lease = match session
        .cluster
        .acquire_lease(
            &session.model_name,
            LEASE_NAME,
            &options.holder,
            options.lease_duration,
        )
        .await
    {
        Ok(lease) => lease,
        Err(e) => return fail("preflight", e.to_string()),
    };
    let mut report = migrate(session, &resolved, options, events, &verdicts, started).await;
    if let Err(e) = lease.release().await {
        tracing::warn!("{e}; the Lease expires on its own");
    }
    report.duration = started.elapsed();
    report
}

/// The changing part of a run, under the lease.
async fn migrate(
    session: &Session,
    resolved: &crate::plan::Resolved,
    options: &Options,
    events: &Events,
    verdicts: &[Vec<FactState>],
    started: Instant,
) -> Report {
    let mut backup = None;
    let needs_changes = verdicts
        .iter()
        .flatten()
        .any(|s| matches!(s, FactState::Unmet(_)));
    if needs_changes {
        let status = match session.juju.full_status().await {
            Ok(status) => status,
            Err(e) => {
                return Report::failed(
                    "backup",
                    format!("reading the model: {e}; re-run migrate-to-ambient"),
                    started.elapsed(),
                );
            }
        };
        match backup::write(session, &status, options.concurrency).await {
            Ok(name) => {
                events.note(format!(
                    "backup: model state saved in ConfigMap {}/{name}",
                    session.model_name
                ));
                backup = Some(name);
            }
            Err(e) => {
                return Report::failed(
                    "backup",
                    format!("{e}; nothing was changed"),
                    started.elapsed(),
                );
            }
        }
    }

    let mut run = Run {
        session,
        resolved,
        options,
        events,
        // A timeout too large to add means "no deadline" in practice.
        deadline: started
            .checked_add(options.timeout)
            .unwrap_or(started + Duration::from_secs(100 * 365 * 24 * 3600)),
        memory: RunMemory::default(),
        applied: Vec::new(),
        skipped: BTreeSet::new(),
    };
    let total = resolved.plan.phases.len();
    let mut stopped = None;
    for (i, phase) in resolved.plan.phases.iter().enumerate() {
        if let Err(stop) = run.phase(i + 1, total, phase).await {
            stopped = Some(stop);
            break;
        }
    }
    let mut report = Report {
        outcome: match stopped {
            Some(Stop { step, error }) => Outcome::Failed { step, error },
            None => Outcome::Migrated,
        },
        applied: run.applied,
        skipped: run.skipped.into_iter().collect(),
        planned: Vec::new(),
        duration: started.elapsed(),
        backup,
        verify: None,
    };
    if report.outcome == Outcome::Migrated && options.verify {
        events.note("verify: checking the result");
        let verification = verify::run(session, &verify::Options::default()).await;
        let summary = verification.summary();
        events.note(format!(
            "verify: {} ({} passed, {} warnings, {} failed{})",
            summary.result(),
            summary.passed,
            summary.warnings,
            summary.failed.len(),
            if summary.failed.is_empty() {
                String::new()
            } else {
                format!(": {}", summary.failed.join(", "))
            }
        ));
        report.verify = Some(summary);
    }
    report
}
