//! restore: the backup as the desired state, reconciled by the loop that runs a migration.
//!
//! The same run as [`super::run`], with the plan read from the backup instead of the built-in
//! file: read the backup and the model and plan the difference ([`crate::restore::read`]),
//! refuse what restore cannot do by itself, take the Lease, save the model's state (what restore
//! replaces is kept as well), then one reconcile loop per phase, each awaiting its effect, with
//! the same deadline, outage grace, interrupt and progress as a migration. A re-run plans again
//! from the model as it is, so it continues where a stopped run ended; on a model equal to its
//! backup it writes nothing.

use std::collections::BTreeSet;
use std::time::Instant;

use crate::advice;
use crate::juju::PinnedCharm;
use crate::plan::{FactState, Needs, Params, Plan, Platform, Resolved, RunMemory};
use crate::restore::{self, PlanError, Step};
use crate::session::Session;

use super::attempts::Attempts;
use super::observe;
use super::reconcile::{Run, Stop, judge};
use super::{Events, Options, Outcome, Report, release, save_state, stopped_with, take_lease};

/// The command that runs the restore again with the same parameters, in the front end's syntax.
pub fn resume_command(options: &Options, backup: Option<&str>) -> advice::Command {
    let mut params = Vec::new();
    if let Some(backup) = backup {
        params.push(advice::param("backup", backup));
    }
    if options.dry_run {
        params.push(advice::param("dry-run", "true"));
    }
    options.front_end.command("restore", &params)
}

/// Puts the model back to the backup `backup` (the newest in sidecar mode when `None`) and says
/// how it went. Never panics on bad input; every failure is an [`Outcome::Failed`] naming the
/// step and the fix.
pub async fn run(
    session: &Session,
    options: &Options,
    backup: Option<&str>,
    events: &Events,
) -> Report {
    let started = Instant::now();
    let mut attempts = Attempts::new(
        options,
        events,
        started,
        session.juju_address(),
        session.kubernetes_address(),
    );
    let watcher = super::tell_connection_events(session, events);
    let report = run_with(session, backup, &mut attempts, started).await;
    watcher.abort();
    match report {
        Ok(report) => report,
        Err(stop) => stopped_with(
            stop,
            &resume_command(options, backup),
            Report::empty(started.elapsed()),
        ),
    }
}

async fn run_with(
    session: &Session,
    backup: Option<&str>,
    attempts: &mut Attempts<'_>,
    started: Instant,
) -> Result<Report, Stop> {
    let options = attempts.options;
    let events = attempts.events;
    events.note("preflight: reading the backup and the model");
    let reading = match attempts.bounded(restore::read(session, backup)).await {
        Ok(Ok(reading)) => reading,
        Ok(Err(e)) => return Ok(refused(&e, started)),
        Err(cut) => {
            return Err(super::cut_stop(
                "preflight",
                cut,
                "reading the backup and the model",
                options,
            ));
        }
    };
    let planned = &reading.plan;
    for passed in &planned.passed_over {
        events.note(format!("preflight: passed over the newer backup {passed}"));
    }
    let name = planned.backup.clone();
    let base = |outcome: Outcome| Report {
        outcome,
        restored_from: Some(name.clone()),
        ..Report::empty(started.elapsed())
    };
    if options.dry_run {
        return Ok(if planned.is_empty() {
            base(Outcome::AlreadyRestored)
        } else {
            Report {
                planned: planned.commands(),
                ..base(Outcome::Planned)
            }
        });
    }
    let transient = Plan::builtin().map(|p| p.transient).unwrap_or_default();
    let plan = match restore::desired(planned, &reading.target, &reading.current, transient) {
        Ok(plan) => plan,
        Err(refusal) => {
            return Ok(Report::failed(
                "preflight",
                refusal.to_string(),
                started.elapsed(),
            ));
        }
    };
    // Bound as the plan file binds a migration; a restore's facts name no variable and no
    // platform.
    let resolved = Resolved {
        plan,
        params: Params {
            model: session.model_name.clone(),
            platform: Platform::Auto,
            restart_workloads: false,
        },
    };
    // One observation judges every fact: a model equal to its backup, settled, with its
    // sidecars back, is already restored, and nothing is written (no Lease, no saved state).
    let everything = Needs::of(&resolved.plan.phases);
    let observed = attempts
        .read(|| observe::observe(session, &resolved.plan, &everything))
        .await
        .map_err(super::read_failed(
            "preflight",
            "observing the model and the cluster",
            options,
        ))?;
    let all_done = resolved.plan.phases.iter().all(|phase| {
        judge(&resolved, phase, &observed, &RunMemory::default())
            .iter()
            .all(|s| matches!(s, FactState::Done | FactState::Skipped(_)))
    });
    if all_done {
        events.note(format!(
            "the model already equals the backup {name}: nothing to do"
        ));
        return Ok(base(Outcome::AlreadyRestored));
    }
    let unserved = match attempts
        .bounded(unserved_revisions(session, &reading))
        .await
    {
        Ok(Ok(unserved)) => unserved,
        Ok(Err(e)) => {
            return Ok(Report::failed(
                "preflight",
                format!(
                    "asking the controller for the backed-up revisions: {e}; nothing was changed: re-run {} once it answers",
                    resume_command(options, backup)
                ),
                started.elapsed(),
            ));
        }
        Err(cut) => {
            return Err(super::cut_stop(
                "preflight",
                cut,
                "asking the store for the backed-up revisions",
                options,
            ));
        }
    };
    if !unserved.is_empty() {
        return Ok(Report::failed(
            "preflight",
            format!(
                "{}; restore from another backup, or bring these applications back by hand; nothing was changed",
                unserved.join("; ")
            ),
            started.elapsed(),
        ));
    }
    events.note(format!(
        "restore: {} steps in {} phases to return to {name}",
        planned.phases.iter().map(|p| p.steps.len()).sum::<usize>(),
        planned.phases.len()
    ));

    let lease = match take_lease(session, attempts).await? {
        Ok(lease) => lease,
        Err(refusal) => return Ok(Report::failed("preflight", refusal, started.elapsed())),
    };
    let done = restore(session, &resolved, attempts).await;
    release(lease).await;
    if let Some(refusal) = done.refusal {
        return Ok(Report::failed("backup", refusal, started.elapsed()));
    }
    let report = Report {
        applied: done.applied,
        skipped: done.skipped,
        backup: done.saved,
        duration: started.elapsed(),
        ..base(Outcome::Restored)
    };
    Ok(match done.stopped {
        Some(stop) => stopped_with(stop, &resume_command(options, backup), report),
        None => report,
    })
}

/// What the changing part of a restore did.
#[derive(Default)]
struct Done {
    /// The state saved before the first change.
    saved: Option<String>,
    /// Why the state could not be saved (then nothing was changed).
    refusal: Option<String>,
    /// Where it stopped, if it did.
    stopped: Option<Stop>,
    /// The changes applied, as commands.
    applied: Vec<String>,
    /// The facts skipped, with why.
    skipped: Vec<String>,
}

/// The changing part, under the Lease: save the state restore replaces, then every phase.
async fn restore(session: &Session, resolved: &Resolved, attempts: &mut Attempts<'_>) -> Done {
    let saved = match save_state(session, attempts).await {
        Ok(Ok(name)) => name,
        Ok(Err(why)) => {
            return Done {
                refusal: Some(why),
                ..Done::default()
            };
        }
        Err(stop) => {
            return Done {
                stopped: Some(stop),
                ..Done::default()
            };
        }
    };
    let mut run = Run {
        session,
        resolved,
        attempts,
        memory: RunMemory::default(),
        applied: Vec::new(),
        skipped: BTreeSet::new(),
        watch: super::wake::ModelWatch::default(),
    };
    let stopped = run.phases().await;
    Done {
        saved: Some(saved),
        refusal: None,
        stopped,
        applied: run.applied,
        skipped: run.skipped.into_iter().collect(),
    }
}

/// Every charm revision the restore deploys or refreshes to that the store no longer serves,
/// each with Juju's answer (which lists the channels and bases there are). Read-only: one bulk
/// `Charms.ResolveCharms`.
///
/// # Errors
/// The controller could not be asked (a transient failure: nothing is known yet).
async fn unserved_revisions(
    session: &Session,
    reading: &restore::Reading,
) -> Result<Vec<String>, crate::juju::Error> {
    let base = |application: &str| {
        reading
            .target
            .applications
            .get(application)
            .and_then(|a| a.base.clone())
    };
    let pinned: Vec<(String, PinnedCharm)> = reading
        .plan
        .phases
        .iter()
        .flat_map(|p| &p.steps)
        .filter_map(|step| match step {
            Step::Deploy(d) => Some((
                d.application.clone(),
                PinnedCharm {
                    charm: d.charm.clone(),
                    channel: d.channel.to_string(),
                    revision: d.revision?,
                    base: d.base.clone(),
                },
            )),
            Step::Refresh {
                application,
                charm,
                channel,
                revision,
            } => Some((
                application.clone(),
                PinnedCharm {
                    charm: charm.clone(),
                    channel: channel.to_string(),
                    revision: (*revision)?,
                    base: base(application),
                },
            )),
            _ => None,
        })
        .collect();
    let charms: Vec<PinnedCharm> = pinned.iter().map(|(_, p)| p.clone()).collect();
    let answers = session.juju.check_revisions(&charms).await;
    let mut unserved = Vec::new();
    for ((application, p), answer) in pinned.iter().zip(answers) {
        match answer {
            Ok(()) => {}
            Err(e) if e.is_retryable() => return Err(e),
            Err(e) => unserved.push(format!(
                "{application}: the store does not serve {} revision {} on {}: {e}",
                p.charm, p.revision, p.channel
            )),
        }
    }
    Ok(unserved)
}

/// A restore that could not be planned: nothing was changed, and the error says what to do.
fn refused(error: &PlanError, started: Instant) -> Report {
    Report::failed(
        "preflight",
        format!("{error}; nothing was changed"),
        started.elapsed(),
    )
}
