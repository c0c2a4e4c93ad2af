//! The reconcile loop of one phase: observe, judge every fact, apply what is newly unmet, and
//! wait until every fact is done — or a fact says stop, or the deadline passes.
//!
//! A change is applied at most once per run: while the model catches up, its fact reads as still
//! unmet, and that is waited on, not re-applied — unless its request failed transiently (the
//! reply was lost, the port was down): then the next observation decides whether it is still
//! needed. Every request and every pause is bounded by [`Attempts`]: the deadline, the outage
//! grace window, an interrupt. Changes run concurrently up to the run's bound,
//! and changes to the same subject (one application, one relation) never run at the same time.

use std::collections::{BTreeMap, BTreeSet};
use std::pin::pin;
use std::time::Instant;

use futures::stream::{self, StreamExt};

use crate::plan::{
    Change, FactKind, FactState, Needs, Observed, Phase, Resolved, RunMemory, evaluate,
    sidecar_leftovers,
};
use crate::session::Session;

use super::Event;
use super::apply::{ApplyError, Learned, apply, remember};
use super::attempts::{Attempts, Cut, ReadError};
use super::interrupt::IN_FLIGHT_GRACE;
use super::observe::observe;
use super::report::human_duration;

/// Why a phase did not complete: where, and one sentence with the fix (the caller adds the
/// command that resumes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stop {
    pub step: String,
    pub error: String,
    /// The signal that stopped the run, when it was interrupted.
    pub interrupted: Option<String>,
}

impl Stop {
    pub(crate) fn new(step: impl Into<String>, error: impl Into<String>) -> Self {
        Self {
            step: step.into(),
            error: error.into(),
            interrupted: None,
        }
    }

    /// The stop a [`Cut`] calls for at `step`, `doing` what (for the operator).
    pub(crate) fn cut(
        step: impl Into<String>,
        cut: Cut,
        doing: &str,
        timeout_minutes: u64,
    ) -> Self {
        let step = step.into();
        match cut {
            Cut::Interrupted(signal) => Self {
                error: format!(
                    "interrupted by {signal} while {doing}; changes already sent were given {} s to finish and the Lease was released",
                    IN_FLIGHT_GRACE.as_secs()
                ),
                step,
                interrupted: Some(signal),
            },
            Cut::Deadline => Self::new(
                step,
                format!("timed out after {timeout_minutes} min while {doing}"),
            ),
            Cut::Outage(why) => Self::new(step, why),
        }
    }
}

/// The state one run carries from phase to phase.
pub(crate) struct Run<'a, 'r, 'o> {
    pub session: &'a Session,
    pub resolved: &'a Resolved,
    pub attempts: &'r mut Attempts<'o>,
    pub memory: RunMemory,
    /// Every change applied, as commands.
    pub applied: Vec<String>,
    /// Every fact skipped, with the reason.
    pub skipped: BTreeSet<String>,
}

/// Judges every fact of `phase`.
pub(crate) fn judge(
    resolved: &Resolved,
    phase: &Phase,
    observed: &Observed,
    memory: &RunMemory,
) -> Vec<FactState> {
    phase
        .facts
        .iter()
        .map(|fact| evaluate(resolved, phase, fact, observed, memory))
        .collect()
}

/// Each change of a batch as a command, and how applying it went, grouped by subject.
type Applied = Vec<Vec<(String, Result<Option<Learned>, ApplyError>)>>;

/// What one batch of changes came to.
struct Batch {
    /// Changes that could not be made and will not be by waiting.
    failures: Vec<ApplyError>,
    /// Commands whose request failed transiently: to be re-evaluated after a pause.
    unsettled: Vec<String>,
}

impl Run<'_, '_, '_> {
    fn skip(&mut self, reason: String) {
        if self.skipped.insert(reason.clone()) {
            self.attempts.events.emit(Event::Skipped { reason });
        }
    }

    fn timeout_minutes(&self) -> u64 {
        self.attempts.options.timeout.as_secs() / 60
    }

    /// Runs one phase to completion.
    pub(crate) async fn phase(
        &mut self,
        index: usize,
        total: usize,
        phase: &Phase,
    ) -> Result<(), Stop> {
        self.attempts.events.emit(Event::PhaseStarted {
            index,
            total,
            name: phase.name.clone(),
        });
        let step = phase.name.clone();
        let needs = Needs::of([phase]);
        let mut applied: BTreeSet<String> = BTreeSet::new();
        let mut running: BTreeMap<usize, (Instant, Vec<String>)> = BTreeMap::new();
        let mut last_pending = String::new();
        let mut waiting_since: Option<Instant> = None;
        let mut last_said = Instant::now();
        loop {
            let doing = if last_pending.is_empty() {
                format!("observing phase {index}/{total} {}", phase.name)
            } else {
                format!("waiting for {last_pending}")
            };
            let (session, plan) = (self.session, &self.resolved.plan);
            let observed = match self.attempts.read(|| observe(session, plan, &needs)).await {
                Ok(observed) => observed,
                Err(ReadError::Failed(e)) => return Err(Stop::new(&step, e.to_string())),
                Err(ReadError::Cut(cut)) => {
                    return Err(Stop::cut(&step, cut, &doing, self.timeout_minutes()));
                }
            };
            let states = judge(self.resolved, phase, &observed, &self.memory);

            if let Some(FactState::Stopped(why)) =
                states.iter().find(|s| matches!(s, FactState::Stopped(_)))
            {
                return Err(Stop::new(&step, why.clone()));
            }
            for (i, state) in states.iter().enumerate() {
                match state {
                    FactState::Skipped(reason) => self.skip(reason.clone()),
                    FactState::Done => {
                        if let Some((started, commands)) = running.remove(&i) {
                            for command in commands {
                                self.attempts.events.emit(Event::ChangeFinished {
                                    command,
                                    elapsed: started.elapsed(),
                                });
                            }
                        }
                    }
                    _ => {}
                }
            }

            let batch: Vec<(usize, Change)> = states
                .iter()
                .enumerate()
                .filter_map(|(i, s)| match s {
                    FactState::Unmet(changes) => Some(changes.iter().map(move |c| (i, c.clone()))),
                    _ => None,
                })
                .flatten()
                .filter(|(_, c)| !applied.contains(&c.to_string()))
                .collect();
            if !batch.is_empty() {
                if let Some(signal) = self.attempts.options.interrupt.reason() {
                    return Err(Stop::cut(
                        &step,
                        Cut::Interrupted(signal),
                        &format!(
                            "about to start new changes in phase {index}/{total} {}",
                            phase.name
                        ),
                        self.timeout_minutes(),
                    ));
                }
                for (i, change) in &batch {
                    let command = change.to_string();
                    applied.insert(command.clone());
                    running
                        .entry(*i)
                        .or_insert_with(|| (Instant::now(), Vec::new()))
                        .1
                        .push(command);
                }
                let outcome = self
                    .apply_all(batch.into_iter().map(|(_, c)| c).collect(), &step)
                    .await?;
                if let Some(first) = outcome.failures.first() {
                    let more = outcome.failures.len() - 1;
                    let fix = first
                        .fix(&self.attempts.options.front_end)
                        .map(|f| format!("; {f}"))
                        .unwrap_or_default();
                    let others = if more > 0 {
                        format!(
                            " (and {more} more failed change{})",
                            if more == 1 { "" } else { "s" }
                        )
                    } else {
                        String::new()
                    };
                    return Err(Stop::new(&step, format!("{first}{others}{fix}")));
                }
                if !outcome.unsettled.is_empty() {
                    // The request may or may not have been acted on: forget that it was sent, so
                    // the next observation decides whether it is still needed.
                    for command in &outcome.unsettled {
                        applied.remove(command);
                    }
                    self.attempts.pause().await;
                }
                continue;
            }

            if states
                .iter()
                .all(|s| matches!(s, FactState::Done | FactState::Skipped(_)))
            {
                self.report_leftovers(phase, &observed);
                return Ok(());
            }
            let pending = pending_summary(&states);
            let since = *waiting_since.get_or_insert_with(Instant::now);
            if pending != last_pending || last_said.elapsed() >= self.attempts.options.heartbeat {
                self.attempts.events.emit(Event::Waiting {
                    pending: pending.clone(),
                    since: since.elapsed(),
                });
                last_pending = pending.clone();
                last_said = Instant::now();
            }
            if self.attempts.past_deadline() {
                return Err(Stop::new(
                    &step,
                    format!(
                        "timed out after {} min waiting ({}) for {pending}",
                        self.timeout_minutes(),
                        human_duration(since.elapsed())
                    ),
                ));
            }
            self.attempts.pause().await;
        }
    }

    /// Applies changes: at most `concurrency` subjects at once, each subject's changes in order.
    /// Every result is collected. An interrupt lets the requests in flight finish for
    /// [`IN_FLIGHT_GRACE`]; the deadline or an outage's limit abandons them (the next run
    /// observes whether they took effect).
    async fn apply_all(&mut self, changes: Vec<Change>, step: &str) -> Result<Batch, Stop> {
        let mut by_subject: BTreeMap<String, Vec<Change>> = BTreeMap::new();
        for change in changes {
            self.attempts.events.emit(Event::ChangeStarted {
                command: change.to_string(),
            });
            by_subject.entry(change.subject()).or_default().push(change);
        }
        let session = self.session;
        let requests = stream::iter(by_subject.into_values())
            .map(|group| async move {
                let mut out = Vec::new();
                for change in group {
                    let result = apply(session, &change).await;
                    let failed = result.is_err();
                    out.push((change.to_string(), result));
                    if failed {
                        break;
                    }
                }
                out
            })
            .buffer_unordered(self.attempts.options.concurrency.max(1))
            .collect::<Applied>();
        let mut requests = pin!(requests);
        let sent = Instant::now();
        let doing = "changes were being applied";
        let results = match self.attempts.bounded(&mut requests).await {
            Ok(results) => results,
            Err(Cut::Interrupted(signal)) => {
                self.attempts.events.warn(format!(
                    "{signal} received: letting the changes in flight finish (up to {} s)",
                    IN_FLIGHT_GRACE.as_secs()
                ));
                if let Ok(results) = tokio::time::timeout(IN_FLIGHT_GRACE, &mut requests).await {
                    self.record(results, sent, step)?;
                }
                return Err(Stop::cut(
                    step,
                    Cut::Interrupted(signal),
                    doing,
                    self.timeout_minutes(),
                ));
            }
            Err(cut) => return Err(Stop::cut(step, cut, doing, self.timeout_minutes())),
        };
        self.record(results, sent, step)
    }

    /// Takes in the results of a batch: what was applied, what failed, what to re-evaluate.
    fn record(&mut self, results: Applied, sent: Instant, step: &str) -> Result<Batch, Stop> {
        let mut batch = Batch {
            failures: Vec::new(),
            unsettled: Vec::new(),
        };
        for (command, result) in results.into_iter().flatten() {
            match result {
                Ok(learned) => {
                    remember(&mut self.memory, learned);
                    self.applied.push(command);
                }
                Err(e) if e.source.is_transient() => {
                    let port = e.source.port();
                    if let Err(cut) = self.attempts.transient(port, sent, &e.to_string()) {
                        return Err(Stop::cut(
                            step,
                            cut,
                            &format!("applying {command}"),
                            self.timeout_minutes(),
                        ));
                    }
                    batch.unsettled.push(command);
                }
                Err(e) => batch.failures.push(e),
            }
        }
        Ok(batch)
    }

    fn report_leftovers(&mut self, phase: &Phase, observed: &Observed) {
        for fact in &phase.facts {
            if let (FactKind::SidecarsRecycled { workloads }, Some(inventory)) =
                (&fact.kind, &observed.cluster.sidecars)
            {
                let mut with_restart = self.attempts.options.clone();
                with_restart.restart_workloads = true;
                let fix = super::resume_command(&with_restart);
                for line in sidecar_leftovers(self.resolved, workloads, inventory) {
                    self.skip(format!("{line}: restart it, or run {fix}"));
                }
            }
        }
    }
}

/// What a phase still waits for, in one line.
fn pending_summary(states: &[FactState]) -> String {
    let items: Vec<String> = states
        .iter()
        .filter_map(|s| match s {
            FactState::Pending(what) => Some(what.clone()),
            FactState::Unmet(changes) => Some(format!(
                "{} to take effect",
                changes
                    .iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            _ => None,
        })
        .collect();
    // Several facts can wait on the same unit (an application in many relations): say it once.
    let mut seen = BTreeSet::new();
    let items: Vec<String> = items
        .into_iter()
        .filter(|i| seen.insert(i.clone()))
        .collect();
    const SHOWN: usize = 6;
    if items.len() > SHOWN {
        format!(
            "{} (and {} more)",
            items[..SHOWN].join("; "),
            items.len() - SHOWN
        )
    } else {
        items.join("; ")
    }
}
