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
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use tokio::sync::Notify;

use crate::cluster::Watching;
use crate::plan::{
    Change, FactKind, FactState, Needs, Observed, Phase, Resolved, RunMemory, evaluate,
    sidecar_leftovers,
};
use crate::session::Session;

use super::Event;
use super::apply::{ApplyError, Learned, apply, remember};
use super::attempts::{Attempts, Cut, ReadError};
use super::interrupt::IN_FLIGHT_GRACE;
use super::observe::{self, ObserveError};
use super::picture::Picture;
use super::report::human_duration;
use super::wake::{ModelWatch, Wake, Watcher};

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
    /// How the model's changes reach the run.
    pub watch: ModelWatch,
}

/// How long starting a phase's Kubernetes watches may take before the phase polls instead
/// (within the run's deadline).
const WATCH_SETUP: Duration = Duration::from_secs(10);

/// The application a Juju change writes, whose config, trust or channel must be read back.
fn written_application(change: &Change) -> Option<String> {
    match change {
        Change::Deploy { application, .. }
        | Change::Refresh { application, .. }
        | Change::SetConfig { application, .. }
        | Change::ResetConfig { application, .. }
        | Change::SetTrust { application, .. } => Some(application.clone()),
        _ => None,
    }
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
    /// Runs every phase of the plan in order, then stops watching the model; the stop, if one
    /// phase did not complete.
    pub(crate) async fn phases(&mut self) -> Option<Stop> {
        let resolved = self.resolved;
        let total = resolved.plan.phases.len();
        let mut stopped = None;
        for (i, phase) in resolved.plan.phases.iter().enumerate() {
            if let Err(stop) = self.phase(i + 1, total, phase).await {
                stopped = Some(stop);
                break;
            }
        }
        if let super::wake::ModelWatch::Watching(watcher) = std::mem::take(&mut self.watch) {
            watcher.stop().await;
        }
        stopped
    }

    fn skip(&mut self, reason: String) {
        if self.skipped.insert(reason.clone()) {
            self.attempts.events.emit(Event::Skipped { reason });
        }
    }

    fn timeout_minutes(&self) -> u64 {
        self.attempts.options.timeout.as_secs() / 60
    }

    /// Runs one phase to completion: one whole read, then a judgement after every change that
    /// could matter — a delta of the model, an event of a watched Kubernetes object — until
    /// every fact is done, one fails, or the run must stop.
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
        let changed = Arc::new(Notify::new());
        // Anchored before the first read, so that no change after it is missed; held (and the
        // watches running) until the phase ends.
        let watching = self.watch_cluster(&needs, &changed).await;
        let poll_cluster = watching.is_none() && !observe::watched(&needs).is_empty();
        let mut picture = self
            .look(
                &step,
                &needs,
                &format!("observing phase {index}/{total} {}", phase.name),
            )
            .await?;
        let mut applied: BTreeSet<String> = BTreeSet::new();
        let mut running: BTreeMap<usize, (Instant, Vec<String>)> = BTreeMap::new();
        let mut last_pending = String::new();
        let mut waiting_since: Option<Instant> = None;
        let mut last_said = Instant::now();
        loop {
            let observed = picture.observed();
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
                let changes: Vec<Change> = batch.into_iter().map(|(_, c)| c).collect();
                let outcome = self.apply_all(changes.clone(), &step).await?;
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
                let doing = format!("observing phase {index}/{total} {}", phase.name);
                if !outcome.unsettled.is_empty() || matches!(self.watch, ModelWatch::Polling) {
                    // The request may or may not have been acted on: forget that it was sent, so
                    // a fresh read decides whether it is still needed.
                    for command in &outcome.unsettled {
                        applied.remove(command);
                    }
                    if !outcome.unsettled.is_empty() {
                        self.attempts.pause().await;
                    }
                    picture = self.look(&step, &needs, &doing).await?;
                } else {
                    // Deltas do not carry config, trust or channel: read what was just written.
                    let written: BTreeSet<String> =
                        changes.iter().filter_map(written_application).collect();
                    self.read_applications(&mut picture, written, &step, &doing, true)
                        .await?;
                }
                continue;
            }

            if states
                .iter()
                .all(|s| matches!(s, FactState::Done | FactState::Skipped(_)))
            {
                if picture.moved {
                    // Done on deltas: confirm on one consistent read before moving on.
                    let session = self.session;
                    let status = self
                        .attempts
                        .read(|| session.juju.full_status())
                        .await
                        .map_err(|e| self.read_stop(&step, e, "confirming the phase"))?;
                    picture.read_whole(status);
                    continue;
                }
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
            let minutes = self.timeout_minutes();
            let timed_out = || {
                Stop::new(
                    &step,
                    format!(
                        "timed out after {minutes} min waiting ({}) for {pending}",
                        human_duration(since.elapsed())
                    ),
                )
            };
            if self.attempts.past_deadline() {
                return Err(timed_out());
            }
            let quiet = self
                .attempts
                .options
                .heartbeat
                .saturating_sub(last_said.elapsed());
            let wake = match self.wake(&changed, poll_cluster, quiet).await {
                Ok(wake) => wake,
                Err(Cut::Deadline) => return Err(timed_out()),
                Err(cut) => {
                    return Err(Stop::cut(
                        &step,
                        cut,
                        &format!("waiting for {pending}"),
                        self.timeout_minutes(),
                    ));
                }
            };
            let doing = format!("waiting for {pending}");
            match wake {
                Wake::Deltas(deltas) => {
                    let read = picture.apply(&deltas);
                    self.read_applications(&mut picture, read, &step, &doing, false)
                        .await?;
                }
                Wake::WatcherLost(e) => {
                    self.watcher_lost(e);
                    picture = self.look(&step, &needs, &doing).await?;
                }
                Wake::Poll if matches!(self.watch, ModelWatch::Polling) => {
                    picture = self.look(&step, &needs, &doing).await?;
                }
                Wake::Cluster | Wake::Poll => {
                    let session = self.session;
                    picture.cluster = self
                        .attempts
                        .read(|| observe::read_cluster(session, &needs))
                        .await
                        .map_err(|e| self.read_stop(&step, e, &doing))?;
                }
                Wake::Quiet => {}
            }
        }
    }

    /// Starts the Kubernetes watches of `needs`; `None` when they cannot be (the phase then
    /// reads the cluster at the poll interval, and the reads report the cause).
    async fn watch_cluster(&mut self, needs: &Needs, changed: &Arc<Notify>) -> Option<Watching> {
        let sets = observe::watched(needs);
        if sets.is_empty() {
            return Some(Watching::none());
        }
        let cluster = &self.session.cluster;
        // Bounded like every other request: a slow API server gets WATCH_SETUP, and neither the
        // deadline nor an interrupt waits for it (the phase's first read then says why).
        let setup = tokio::time::timeout(WATCH_SETUP, cluster.watch(&sets, changed.clone()));
        match self.attempts.bounded(setup).await {
            Ok(Ok(Ok(watching))) => Some(watching),
            Ok(Ok(Err(e))) => {
                tracing::debug!("cannot watch the cluster ({e}); polling it instead");
                None
            }
            Ok(Err(_)) => {
                tracing::debug!("watching the cluster took too long; polling it instead");
                None
            }
            Err(_) => None,
        }
    }

    /// Makes sure the model is watched (or polled), drops the deltas a whole read supersedes,
    /// and reads the whole picture `needs` asks for.
    async fn look(&mut self, step: &str, needs: &Needs, doing: &str) -> Result<Picture, Stop> {
        loop {
            if matches!(self.watch, ModelWatch::Idle) {
                let session = self.session;
                match self.attempts.read(|| session.juju.watch_all()).await {
                    Ok(watcher) => self.watch = ModelWatch::Watching(Watcher::start(watcher)),
                    Err(ReadError::Failed(e)) => {
                        tracing::info!(
                            "the controller does not serve the AllWatcher ({e}); waiting by polling FullStatus"
                        );
                        self.watch = ModelWatch::Polling;
                    }
                    Err(ReadError::Cut(cut)) => {
                        return Err(Stop::cut(step, cut, doing, self.timeout_minutes()));
                    }
                }
            }
            if let ModelWatch::Watching(watcher) = &mut self.watch
                && let Some(e) = watcher.discard_queued()
            {
                self.watcher_lost(e);
                continue;
            }
            break;
        }
        let (session, plan) = (self.session, &self.resolved.plan);
        let picture = self
            .attempts
            .read(|| async {
                let status = session.juju.full_status().await?;
                let names =
                    observe::config_names(plan, &crate::observed::from_status(&status), needs);
                let configs = observe::read_configs(session, &names).await?;
                let cluster = observe::read_cluster(session, needs).await?;
                Ok::<_, ObserveError>((status, configs, cluster))
            })
            .await;
        let (status, configs, cluster) = picture.map_err(|e| self.read_stop(step, e, doing))?;
        let mut picture = Picture {
            cluster,
            ..Picture::default()
        };
        picture.read_whole(status);
        picture.read_configs(configs);
        Ok(picture)
    }

    /// Reads `names` with `Application.Get` into the picture (`after_write`: just after this
    /// run wrote to them); an application gone meanwhile is left to its removal delta.
    async fn read_applications(
        &mut self,
        picture: &mut Picture,
        names: BTreeSet<String>,
        step: &str,
        doing: &str,
        after_write: bool,
    ) -> Result<(), Stop> {
        if names.is_empty() {
            return Ok(());
        }
        let session = self.session;
        let names: Vec<String> = names.into_iter().collect();
        let configs = self
            .attempts
            .read(|| async {
                let reads = names.iter().map(|name| async move {
                    match session.juju.application_config(name).await {
                        Err(e) if e.is_not_found() => Ok(None),
                        other => other.map(Some),
                    }
                });
                futures::future::try_join_all(reads).await
            })
            .await
            .map_err(|e| self.read_stop(step, e, doing))?;
        let configs = configs.into_iter().flatten().collect();
        if after_write {
            picture.read_after_write(configs);
        } else {
            picture.read_configs(configs);
        }
        Ok(())
    }

    /// The AllWatcher stopped: a lost connection calls for a new watcher (and a whole read);
    /// anything else means this controller cannot be watched, so the run polls.
    fn watcher_lost(&mut self, error: crate::juju::Error) {
        let before = std::mem::take(&mut self.watch);
        if let ModelWatch::Watching(watcher) = before {
            tokio::spawn(watcher.stop());
        }
        if error.is_retryable() {
            tracing::debug!("the AllWatcher was lost ({error}); starting another");
            self.watch = ModelWatch::Idle;
        } else {
            tracing::info!("the AllWatcher failed ({error}); waiting by polling FullStatus");
            self.watch = ModelWatch::Polling;
        }
    }

    /// Waits for the next thing worth a judgement, at most `quiet` (for the heartbeat); bounded
    /// by the deadline, an outage's grace and an interrupt.
    async fn wake(
        &mut self,
        changed: &Notify,
        poll_cluster: bool,
        quiet: Duration,
    ) -> Result<Wake, Cut> {
        let poll = self.attempts.options.poll_interval;
        let Run {
            attempts, watch, ..
        } = self;
        let polling = poll_cluster || matches!(watch, ModelWatch::Polling);
        let model = async {
            match watch {
                ModelWatch::Watching(watcher) => watcher.next().await,
                _ => std::future::pending().await,
            }
        };
        attempts
            .bounded(async {
                tokio::select! {
                    wake = model => wake,
                    () = changed.notified() => Wake::Cluster,
                    () = tokio::time::sleep(poll), if polling => Wake::Poll,
                    () = tokio::time::sleep(quiet.max(Duration::from_millis(1))) => Wake::Quiet,
                }
            })
            .await
    }

    fn read_stop<E: std::fmt::Display>(
        &self,
        step: &str,
        error: ReadError<E>,
        doing: &str,
    ) -> Stop {
        match error {
            ReadError::Failed(e) => Stop::new(step, e.to_string()),
            ReadError::Cut(cut) => Stop::cut(step, cut, doing, self.timeout_minutes()),
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
