//! migrate-to-ambient: preflight, backup, and the reconcile loop that makes the plan true.
//!
//! The engine never calls a hook tool or prints: it reports progress as [`Event`]s to the sink the
//! front end supplies, and returns a [`Report`]. It reaches the model and the cluster only through
//! the [`Session`]'s two ports.
//!
//! Start reading at [`run`]: preflight (read-only), then either the dry-run's list of commands or
//! the lease, the backup, and one reconcile loop per phase (`reconcile`), then verify, whose
//! verdict decides between `migrated` and `incomplete`.
//!
//! Failure is an outcome: every request and every pause goes through `attempts`, which bounds it
//! by the run's deadline, the outage grace window (`outage`) and an [`Interrupt`]; a stop of any
//! kind ends in a report that names where, why and the command that resumes, in the syntax of the
//! front end that runs the engine ([`crate::advice`]).

mod apply;
mod attempts;
pub mod holder;
pub mod interrupt;
mod observe;
mod outage;
mod picture;
mod preflight;
mod reconcile;
mod report;
pub mod restore;
pub mod signals;
mod wake;

pub use crate::backup::BACKUP_LABEL;
pub use interrupt::{Interrupt, Interrupter};
pub use outage::DEFAULT_GRACE as DEFAULT_OUTAGE_GRACE;
pub use report::{Event, Events, Outcome, Report, human_duration};

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::advice::{self, FrontEnd};
use crate::plan::{FactState, Needs, Params, Plan, Platform, RunMemory};
use crate::session::Session;
use crate::verify;

use attempts::{Attempts, Cut, ReadError};
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
    /// Pause before trying again after a failed request; how often to read the model when it
    /// cannot be watched.
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
    /// How long an unreachable Juju controller or Kubernetes API is waited for before the run
    /// stops (it resumes when re-run).
    pub outage_grace: Duration,
    /// A request to stop at a safe point (SIGINT, SIGTERM).
    pub interrupt: Interrupt,
    /// Which front end runs the engine: advice is rendered in its syntax.
    pub front_end: FrontEnd,
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
            outage_grace: outage::DEFAULT_GRACE,
            interrupt: Interrupt::never(),
            front_end: FrontEnd::Cli,
        }
    }
}

/// The command that runs the migration again with the same parameters, in the front end's syntax.
pub fn resume_command(options: &Options) -> advice::Command {
    let platform = options.platform.as_str();
    let mut params = Vec::new();
    if options.platform != Platform::Auto {
        params.push(advice::param("platform", platform));
    }
    if options.restart_workloads {
        params.push(advice::param("restart-workloads", "true"));
    }
    if options.allow_serverless_loss {
        params.push(advice::param("allow-serverless-loss", "true"));
    }
    // A dry-run's advice must not turn into a run that changes the model.
    if options.dry_run {
        params.push(advice::param("dry-run", "true"));
    }
    options.front_end.command("migrate-to-ambient", &params)
}

/// Runs the migration and says how it went. Never panics on bad input; every failure is a
/// [`Outcome::Failed`] naming the step and the fix.
pub async fn run(session: &Session, options: &Options, events: &Events) -> Report {
    let started = Instant::now();
    let plan = match Plan::builtin() {
        Ok(plan) => plan,
        Err(e) => return Report::failed("plan", e.to_string(), started.elapsed()),
    };
    let mut attempts = Attempts::new(
        options,
        events,
        started,
        session.juju_address(),
        session.kubernetes_address(),
    );
    let watcher = tell_connection_events(session, events);
    let report = run_with(session, options, events, &plan, &mut attempts, started).await;
    watcher.abort();
    match report {
        Ok(report) => report,
        Err(stop) => stopped_report(stop, options, Report::empty(started.elapsed())),
    }
}

/// `report` as a run that stopped: where, why, and the command that resumes it.
fn stopped_report(stop: Stop, options: &Options, report: Report) -> Report {
    stopped_with(stop, &resume_command(options), report)
}

/// `report` as a run that stopped, resumed by `resume`.
fn stopped_with(stop: Stop, resume: &advice::Command, mut report: Report) -> Report {
    report.outcome = Outcome::Failed {
        step: stop.step,
        error: format!(
            "{}; nothing is lost: re-run {resume} to continue where this run stopped",
            stop.error.trim_end_matches("; nothing is lost"),
        ),
    };
    report.interrupted = stop.interrupted;
    report
}

/// Forwards the Juju client's connection events to the operator while the run lasts.
fn tell_connection_events(session: &Session, events: &Events) -> tokio::task::JoinHandle<()> {
    use crate::juju::ConnectionEvent;
    let mut rx = session.juju.connection_events();
    let events = events.clone();
    tokio::spawn(async move {
        while let Ok(event) = rx.recv().await {
            events.warn(match event {
                ConnectionEvent::Lost { address, cause } => {
                    format!(
                        "connection to the Juju controller at {address} lost: {cause}; reconnecting"
                    )
                }
                ConnectionEvent::AttemptFailed {
                    attempt,
                    error,
                    next_in,
                } => format!(
                    "reconnection attempt {attempt} failed: {error}; next attempt in {:.0} s",
                    next_in.as_secs_f64().ceil()
                ),
                ConnectionEvent::Restored { address, attempts } => {
                    format!("reconnected to the Juju controller at {address} (attempt {attempts})")
                }
            });
        }
    })
}

fn cut_stop(step: &str, cut: Cut, doing: &str, options: &Options) -> Stop {
    Stop::cut(step, cut, doing, options.timeout.as_secs() / 60)
}

/// The stop for a read that gave up at `step` while `doing` something.
fn read_failed<'o, E: std::fmt::Display>(
    step: &'o str,
    doing: &'o str,
    options: &'o Options,
) -> impl Fn(ReadError<E>) -> Stop + 'o {
    move |e| match e {
        ReadError::Failed(e) => Stop::new(step, format!("{doing}: {e}")),
        ReadError::Cut(cut) => cut_stop(step, cut, doing, options),
    }
}

async fn run_with(
    session: &Session,
    options: &Options,
    events: &Events,
    plan: &Plan,
    attempts: &mut Attempts<'_>,
    started: Instant,
) -> Result<Report, Stop> {
    events.note("preflight: checking credentials, model, channels, trust, platform, InferenceServices, lease");
    let status = attempts
        .read(|| session.juju.full_status())
        .await
        .map_err(read_failed("preflight", "reading the model", options))?;
    let findings = attempts
        .bounded(preflight::run(session, plan, options, &status))
        .await
        .map_err(|cut| cut_stop("preflight", cut, "running the preflight checks", options))?;
    for note in &findings.notes {
        events.note(format!("preflight: {note}"));
    }
    let platform = match (findings.failures.is_empty(), findings.platform) {
        (true, Some(platform)) => platform,
        _ => {
            return Ok(Report::failed(
                "preflight",
                format!(
                    "{}; nothing was changed: fix this, then run {}",
                    findings.failures.join("; "),
                    resume_command(options)
                ),
                started.elapsed(),
            ));
        }
    };
    let resolved = match plan.resolve(Params {
        model: session.model_name.clone(),
        platform,
        restart_workloads: options.restart_workloads,
    }) {
        Ok(resolved) => resolved,
        Err(e) => return Ok(Report::failed("plan", e.to_string(), started.elapsed())),
    };

    let everything = Needs::of(&resolved.plan.phases);
    let observed = attempts
        .read(|| observe::observe(session, &resolved.plan, &everything))
        .await
        .map_err(read_failed(
            "observe",
            "observing the model and the cluster",
            options,
        ))?;
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
    let leftovers = sidecar_warnings(&resolved, &observed, options);

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
        for warning in &leftovers {
            events.warn(warning.clone());
        }
        let outcome = if planned.is_empty() {
            Outcome::AlreadyMigrated
        } else {
            Outcome::Planned
        };
        return Ok(Report {
            outcome,
            skipped: skipped.into_iter().collect(),
            planned,
            warnings: leftovers,
            ..Report::empty(started.elapsed())
        });
    }

    let all_done = verdicts
        .iter()
        .flatten()
        .all(|s| matches!(s, FactState::Done | FactState::Skipped(_)));
    if all_done {
        events.note("every fact of the plan already holds: nothing to do");
        let mut report = Report {
            skipped: skipped.into_iter().collect(),
            ..Report::empty(started.elapsed())
        };
        (report.outcome, report.verify) =
            proven(session, attempts, Outcome::AlreadyMigrated).await?;
        return Ok(report);
    }

    let lease = match take_lease(session, attempts).await? {
        Ok(lease) => lease,
        Err(refusal) => return Ok(Report::failed("preflight", refusal, started.elapsed())),
    };
    let outcome = migrate(session, &resolved, attempts, &verdicts, started).await;
    release(lease).await;
    let mut report = outcome?;
    report.duration = started.elapsed();
    Ok(report)
}

/// Takes the Lease that keeps two runs from changing the model at once; `Ok(Err(why))` when
/// another live run holds it (nothing was changed).
async fn take_lease(
    session: &Session,
    attempts: &mut Attempts<'_>,
) -> Result<Result<crate::cluster::LeaseGuard, String>, Stop> {
    let options = attempts.options;
    let lease = match attempts
        .bounded(session.cluster.acquire_lease(
            &session.model_name,
            LEASE_NAME,
            &options.holder,
            options.lease_duration,
            |holder| holder::is_gone(holder, &options.holder),
        ))
        .await
    {
        Ok(Ok(lease)) => lease,
        Ok(Err(e)) => return Ok(Err(format!("{e}; nothing was changed"))),
        Err(cut) => return Err(cut_stop("preflight", cut, "taking the Lease", options)),
    };
    if let Some(previous) = lease.taken_from() {
        attempts.events.warn(format!(
            "took over Lease {}/{LEASE_NAME} from {previous}, a process on this host that no longer exists",
            session.model_name
        ));
    }
    Ok(Ok(lease))
}

/// Gives the Lease back. Bounded: a Kubernetes API that is gone must not keep an interrupted
/// run alive; the Lease then expires on its own.
async fn release(lease: crate::cluster::LeaseGuard) {
    match tokio::time::timeout(interrupt::IN_FLIGHT_GRACE, lease.release()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!("{e}; the Lease expires on its own"),
        Err(_) => tracing::warn!("releasing the Lease timed out; it expires on its own"),
    }
}

/// Saves the model's state in a backup ConfigMap before the first change; `Ok(Err(why))` when
/// it could not be (nothing was changed).
async fn save_state(
    session: &Session,
    attempts: &mut Attempts<'_>,
) -> Result<Result<String, String>, Stop> {
    let options = attempts.options;
    let status = match attempts.read(|| session.juju.full_status()).await {
        Ok(status) => status,
        Err(ReadError::Failed(e)) => {
            return Ok(Err(format!("reading the model: {e}; nothing was changed")));
        }
        Err(ReadError::Cut(cut)) => {
            return Err(cut_stop(
                "backup",
                cut,
                "reading the model for the backup",
                options,
            ));
        }
    };
    match attempts
        .bounded(crate::backup::write(session, &status, options.concurrency))
        .await
    {
        Ok(Ok(name)) => {
            attempts.events.note(format!(
                "backup: model state saved in ConfigMap {}/{name}",
                session.model_name
            ));
            Ok(Ok(name))
        }
        Ok(Err(e)) => Ok(Err(format!("{e}; nothing was changed"))),
        Err(cut) => Err(cut_stop("backup", cut, "writing the backup", options)),
    }
}

/// Workloads in profile namespaces that will keep their sidecars after this run, and what to
/// pass so they do not: said before the first change, so that `incomplete` is no surprise.
fn sidecar_warnings(
    resolved: &crate::plan::Resolved,
    observed: &crate::plan::Observed,
    options: &Options,
) -> Vec<String> {
    if options.restart_workloads {
        return Vec::new();
    }
    let Some(inventory) = &observed.cluster.sidecars else {
        return Vec::new();
    };
    let leftovers: Vec<String> = resolved
        .plan
        .phases
        .iter()
        .flat_map(|p| &p.facts)
        .filter_map(|f| match &f.kind {
            crate::plan::FactKind::SidecarsRecycled { workloads } => Some(workloads),
            _ => None,
        })
        .flat_map(|workloads| crate::plan::sidecar_leftovers(resolved, workloads, inventory))
        .collect();
    if leftovers.is_empty() {
        return Vec::new();
    }
    let mut with_restart = options.clone();
    with_restart.restart_workloads = true;
    with_restart.dry_run = false;
    vec![format!(
        "{} workload{} will keep {} istio-proxy sidecar{} after this run and verify will fail no-sidecars: {}; to restart them as part of the migration run {}",
        leftovers.len(),
        if leftovers.len() == 1 { "" } else { "s" },
        if leftovers.len() == 1 { "its" } else { "their" },
        if leftovers.len() == 1 { "" } else { "s" },
        leftovers.join("; "),
        resume_command(&with_restart)
    )]
}

/// The changing part of a run, under the lease.
async fn migrate(
    session: &Session,
    resolved: &crate::plan::Resolved,
    attempts: &mut Attempts<'_>,
    verdicts: &[Vec<FactState>],
    started: Instant,
) -> Result<Report, Stop> {
    let options = attempts.options;
    let mut backup = None;
    let needs_changes = verdicts
        .iter()
        .flatten()
        .any(|s| matches!(s, FactState::Unmet(_)));
    if needs_changes {
        match save_state(session, attempts).await? {
            Ok(name) => backup = Some(name),
            Err(why) => return Ok(Report::failed("backup", why, started.elapsed())),
        }
    }

    let mut run = Run {
        session,
        resolved,
        attempts,
        memory: RunMemory::default(),
        applied: Vec::new(),
        skipped: BTreeSet::new(),
        watch: wake::ModelWatch::default(),
    };
    let stopped = run.phases().await;
    let mut report = Report {
        applied: run.applied,
        skipped: run.skipped.into_iter().collect(),
        backup,
        ..Report::empty(started.elapsed())
    };
    if let Some(stop) = stopped {
        // Keep what was applied and the backup's name in the failure report.
        return Ok(stopped_report(stop, options, report));
    }
    (report.outcome, report.verify) = proven(session, attempts, Outcome::Migrated).await?;
    Ok(report)
}

/// `done` if verify proves it (or verify is off), [`Outcome::Incomplete`] if it does not.
async fn proven(
    session: &Session,
    attempts: &mut Attempts<'_>,
    done: Outcome,
) -> Result<(Outcome, Option<verify::Summary>), Stop> {
    let options = attempts.options;
    if !options.verify {
        return Ok((done, None));
    }
    attempts.events.note("verify: checking the result");
    let verification = match attempts
        .bounded(verify::run(
            session,
            &verify::Options {
                front_end: options.front_end.clone(),
                ..verify::Options::default()
            },
        ))
        .await
    {
        Ok(verification) => verification,
        Err(cut) => return Err(cut_stop("verify", cut, "verifying the result", options)),
    };
    let summary = verification.summary();
    attempts.events.note(format!(
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
    let outcome = if summary.failed.is_empty() {
        done
    } else {
        incomplete(&verification, options)
    };
    Ok((outcome, Some(summary)))
}

/// Every change is made but verify fails: which checks, why, and what to run.
fn incomplete(verification: &verify::Report, options: &Options) -> Outcome {
    let failing: Vec<(String, String)> = verification
        .checks
        .iter()
        .filter_map(|c| match &c.verdict {
            verify::Verdict::Fail(why) => Some((c.name.clone(), why.clone())),
            _ => None,
        })
        .collect();
    let mut error = format!(
        "every change of the plan is made, but verify fails {} check{}: {}",
        failing.len(),
        if failing.len() == 1 { "" } else { "s" },
        failing
            .iter()
            .map(|(name, why)| format!("{name}: {why}"))
            .collect::<Vec<_>>()
            .join("; ")
    );
    if !options.restart_workloads && failing.iter().any(|(name, _)| name == "no-sidecars") {
        let mut with_restart = options.clone();
        with_restart.restart_workloads = true;
        let command = resume_command(&with_restart);
        // verify's own fix names the plain command; say it again only if this run's differs.
        if !error.contains(&command.to_string()) {
            error.push_str(&format!(
                "; run {command} to restart the workloads that keep sidecars"
            ));
        }
    }
    Outcome::Incomplete {
        failed: failing.into_iter().map(|(name, _)| name).collect(),
        error,
    }
}
