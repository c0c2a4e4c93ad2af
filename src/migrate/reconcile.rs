//! The reconcile loop of one phase: observe, judge every fact, apply what is newly unmet, and
//! wait until every fact is done — or a fact says stop, or the deadline passes.
//!
//! A change is applied at most once per run: while the model catches up, its fact reads as still
//! unmet, and that is waited on, not re-applied. Changes run concurrently up to the run's bound,
//! and changes to the same subject (one application, one relation) never run at the same time.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};

use crate::plan::{
    Change, FactKind, FactState, Needs, Observed, Phase, Resolved, RunMemory, evaluate,
    sidecar_leftovers,
};
use crate::session::Session;

use super::apply::{Learned, apply, remember};
use super::observe::observe;
use super::{Event, Events, Options};

/// Why a phase did not complete: where, and one sentence with the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stop {
    pub step: String,
    pub error: String,
}

/// The state one run carries from phase to phase.
pub(crate) struct Run<'a> {
    pub session: &'a Session,
    pub resolved: &'a Resolved,
    pub options: &'a Options,
    pub events: &'a Events,
    pub deadline: Instant,
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

impl Run<'_> {
    fn skip(&mut self, reason: String) {
        if self.skipped.insert(reason.clone()) {
            self.events.emit(Event::Skipped { reason });
        }
    }

    /// Runs one phase to completion.
    pub(crate) async fn phase(
        &mut self,
        index: usize,
        total: usize,
        phase: &Phase,
    ) -> Result<(), Stop> {
        self.events.emit(Event::PhaseStarted {
            index,
            total,
            name: phase.name.clone(),
        });
        let stop = |error: String| Stop {
            step: phase.name.clone(),
            error,
        };
        let needs = Needs::of([phase]);
        let mut applied: BTreeSet<String> = BTreeSet::new();
        let mut running: BTreeMap<usize, (Instant, Vec<String>)> = BTreeMap::new();
        let mut last_pending = String::new();
        let mut waiting_since: Option<Instant> = None;
        let mut last_said = Instant::now();
        loop {
            let observed = match observe(self.session, &self.resolved.plan, &needs).await {
                Ok(observed) => observed,
                Err(e) if e.is_retryable() && Instant::now() < self.deadline => {
                    tracing::warn!("{e}; trying again");
                    self.pause().await;
                    continue;
                }
                Err(e) => return Err(stop(format!("{e}; re-run migrate-to-ambient to continue"))),
            };
            let states = judge(self.resolved, phase, &observed, &self.memory);

            if let Some(FactState::Stopped(why)) =
                states.iter().find(|s| matches!(s, FactState::Stopped(_)))
            {
                return Err(stop(why.clone()));
            }
            for (i, state) in states.iter().enumerate() {
                match state {
                    FactState::Skipped(reason) => self.skip(reason.clone()),
                    FactState::Done => {
                        if let Some((started, commands)) = running.remove(&i) {
                            for command in commands {
                                self.events.emit(Event::ChangeFinished {
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
                for (i, change) in &batch {
                    let command = change.to_string();
                    applied.insert(command.clone());
                    running
                        .entry(*i)
                        .or_insert_with(|| (Instant::now(), Vec::new()))
                        .1
                        .push(command);
                }
                self.apply_all(batch.into_iter().map(|(_, c)| c).collect())
                    .await
                    .map_err(stop)?;
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
            if pending != last_pending || last_said.elapsed() >= self.options.heartbeat {
                self.events.emit(Event::Waiting {
                    pending: pending.clone(),
                    since: since.elapsed(),
                });
                last_pending = pending.clone();
                last_said = Instant::now();
            }
            if Instant::now() >= self.deadline {
                return Err(stop(format!(
                    "timed out after {} min waiting for {pending}; re-run migrate-to-ambient to continue where this run stopped",
                    self.options.timeout.as_secs() / 60
                )));
            }
            self.pause().await;
        }
    }

    async fn pause(&self) {
        let left = self.deadline.saturating_duration_since(Instant::now());
        tokio::time::sleep(
            self.options
                .poll_interval
                .min(self.options.heartbeat)
                .min(left)
                .max(Duration::from_millis(1)),
        )
        .await;
    }

    /// Applies changes: at most `concurrency` subjects at once, each subject's changes in order.
    /// Every result is collected before returning; the first failure is reported.
    async fn apply_all(&mut self, changes: Vec<Change>) -> Result<(), String> {
        let mut by_subject: BTreeMap<String, Vec<Change>> = BTreeMap::new();
        for change in changes {
            self.events.emit(Event::ChangeStarted {
                command: change.to_string(),
            });
            by_subject.entry(change.subject()).or_default().push(change);
        }
        let session = self.session;
        let pause = self.options.poll_interval;
        type Applied = (String, Result<Option<Learned>, String>);
        let results: Vec<Vec<Applied>> = stream::iter(by_subject.into_values())
            .map(|group| async move {
                let mut out = Vec::new();
                for change in group {
                    let result = apply(session, &change, pause)
                        .await
                        .map_err(|e| e.to_string());
                    let failed = result.is_err();
                    out.push((change.to_string(), result));
                    if failed {
                        break;
                    }
                }
                out
            })
            .buffer_unordered(self.options.concurrency.max(1))
            .collect()
            .await;
        let mut failures = Vec::new();
        for (command, result) in results.into_iter().flatten() {
            match result {
                Ok(learned) => {
                    remember(&mut self.memory, learned);
                    self.applied.push(command);
                }
                Err(error) => failures.push(error),
            }
        }
        match failures.len() {
            0 => Ok(()),
            1 => Err(failures.remove(0)),
            n => Err(format!(
                "{} (and {} more failed changes)",
                failures.remove(0),
                n - 1
            )),
        }
    }

    fn report_leftovers(&mut self, phase: &Phase, observed: &Observed) {
        for fact in &phase.facts {
            if let (FactKind::SidecarsRecycled { workloads }, Some(inventory)) =
                (&fact.kind, &observed.cluster.sidecars)
            {
                for line in sidecar_leftovers(self.resolved, workloads, inventory) {
                    self.skip(line);
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
