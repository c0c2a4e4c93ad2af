//! What a migration run tells its front end: the outcome, progress events, and the result keys.

use std::fmt;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::verify;

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Changes were applied and every fact of the plan holds.
    Migrated,
    /// Every fact already held: nothing was changed.
    AlreadyMigrated,
    /// A restore made the model equal to its backup.
    Restored,
    /// A restore found the model already equal to its backup: nothing was changed.
    AlreadyRestored,
    /// Dry-run: the changes a run would make, nothing written.
    Planned,
    /// Every change of the plan is made, but the final verify fails: the migration is not done.
    Incomplete {
        /// The failing checks' names.
        failed: Vec<String>,
        /// What fails and what to run, in one sentence.
        error: String,
    },
    /// The run stopped. `step` names the phase or check, `error` is one sentence with the fix.
    Failed {
        /// Where it stopped, e.g. `preflight` or `refresh: kfp-api`.
        step: String,
        /// What failed, why, and what to do.
        error: String,
    },
}

impl Outcome {
    /// The `result` key's value.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Migrated => "migrated",
            Outcome::AlreadyMigrated => "already-migrated",
            Outcome::Restored => "restored",
            Outcome::AlreadyRestored => "already-restored",
            Outcome::Planned => "planned",
            Outcome::Incomplete { .. } => "incomplete",
            Outcome::Failed { .. } => "failed",
        }
    }

    /// Whether the run failed or left the migration incomplete.
    pub fn is_failure(&self) -> bool {
        matches!(self, Outcome::Failed { .. } | Outcome::Incomplete { .. })
    }

    /// The sentence that says what went wrong, for a failed or incomplete run.
    pub fn error(&self) -> Option<&str> {
        match self {
            Outcome::Failed { error, .. } | Outcome::Incomplete { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// The result of `migrate-to-ambient`.
#[derive(Debug, Clone)]
pub struct Report {
    /// How it ended.
    pub outcome: Outcome,
    /// The changes applied, as the equivalent commands.
    pub applied: Vec<String>,
    /// Facts skipped, each with its reason (e.g. the application is not in the model).
    pub skipped: Vec<String>,
    /// Dry-run: the changes a run would make, as commands, in order.
    pub planned: Vec<String>,
    /// Wall time of the run.
    pub duration: Duration,
    /// Name of the backup ConfigMap, when one was written.
    pub backup: Option<String>,
    /// The backup a restore returned to.
    pub restored_from: Option<String>,
    /// Summary of the verification run at the end of a migration.
    pub verify: Option<verify::Summary>,
    /// The signal that stopped the run, if one did.
    pub interrupted: Option<String>,
    /// What the operator should know before running for real (dry-run): workloads that will keep
    /// their sidecars, and what to pass.
    pub warnings: Vec<String>,
}

impl Report {
    /// A report for a run that stopped before doing anything.
    pub fn failed(step: impl Into<String>, error: impl Into<String>, duration: Duration) -> Self {
        Self {
            outcome: Outcome::Failed {
                step: step.into(),
                error: error.into(),
            },
            ..Self::empty(duration)
        }
    }

    /// A report with nothing in it yet (outcome `migrated` until set).
    pub fn empty(duration: Duration) -> Self {
        Self {
            outcome: Outcome::Migrated,
            applied: Vec::new(),
            skipped: Vec::new(),
            planned: Vec::new(),
            duration,
            backup: None,
            restored_from: None,
            verify: None,
            interrupted: None,
            warnings: Vec::new(),
        }
    }

    /// Action results as flat `key = value` pairs (dots nest), in a stable order.
    pub fn results(&self) -> Vec<(String, String)> {
        let mut out = vec![
            ("result".to_string(), self.outcome.as_str().to_string()),
            ("applied".to_string(), self.applied.len().to_string()),
            ("skipped".to_string(), self.skipped.len().to_string()),
            (
                "duration-seconds".to_string(),
                self.duration.as_secs().to_string(),
            ),
        ];
        match (&self.restored_from, &self.backup) {
            // A restore's `backup` is the one it returns to; the state it replaced is saved too.
            (Some(restored), saved) => {
                out.push(("backup".into(), restored.clone()));
                if let Some(saved) = saved {
                    out.push(("saved-state".into(), saved.clone()));
                }
            }
            (None, Some(backup)) => out.push(("backup".into(), backup.clone())),
            (None, None) => {}
        }
        if !self.skipped.is_empty() {
            out.push(("skipped-facts".into(), self.skipped.join("\n")));
        }
        if !self.planned.is_empty() {
            out.push(("commands".into(), self.planned.join("\n")));
        }
        if !self.warnings.is_empty() {
            out.push(("warnings".into(), self.warnings.join("\n")));
        }
        match &self.outcome {
            Outcome::Failed { step, error } => {
                out.push(("failed-step".into(), step.clone()));
                out.push(("error".into(), error.clone()));
            }
            Outcome::Incomplete { failed, error } => {
                out.push(("failed-checks".into(), failed.join(",")));
                out.push(("error".into(), error.clone()));
            }
            _ => {}
        }
        if let Some(signal) = &self.interrupted {
            out.push(("interrupted-by".into(), signal.clone()));
        }
        if let Some(summary) = &self.verify {
            out.extend(summary.results("verify"));
        }
        out
    }
}

/// Progress of a run, reported as it happens. The front end decides where it goes
/// (`action-log` and `status-set` in charm mode, stderr in CLI mode).
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A line of progress that is not tied to a fact (preflight findings, backup, lease).
    Note(String),
    /// A phase begins.
    PhaseStarted {
        /// 1-based index among the phases that apply to this model.
        index: usize,
        /// Number of phases that apply.
        total: usize,
        /// Phase name, e.g. `refresh`.
        name: String,
    },
    /// A change starts, shown as its equivalent command.
    ChangeStarted {
        /// The command.
        command: String,
    },
    /// A change was applied and observed true.
    ChangeFinished {
        /// The command.
        command: String,
        /// From start to observed true.
        elapsed: Duration,
    },
    /// A fact was skipped.
    Skipped {
        /// The fact and why.
        reason: String,
    },
    /// Waiting for the phase's facts to be observed true. Emitted when what is awaited changes,
    /// and again at least every [`Options::heartbeat`](super::Options::heartbeat) while it does
    /// not, so a long wait is never silent.
    Waiting {
        /// What is still not true, in short.
        pending: String,
        /// How long the phase has been waiting, measured (not rounded to the poll interval).
        since: Duration,
    },
    /// Something the operator must know about now, though the run goes on: a lost connection,
    /// a reconnection attempt, an interrupt being honoured.
    Warning(String),
}

impl Event {
    /// The workload status message this event calls for, if any, in a run `doing` something
    /// (`migrating`, `restoring`).
    pub fn status_message(&self, doing: &str) -> Option<String> {
        match self {
            Event::PhaseStarted { index, total, name } => {
                Some(format!("{doing}: phase {index}/{total} {name}"))
            }
            _ => None,
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Note(text) => f.write_str(text),
            Event::PhaseStarted { index, total, name } => {
                write!(f, "phase {index}/{total}: {name}")
            }
            Event::ChangeStarted { command } => write!(f, "start: {command}"),
            Event::ChangeFinished { command, elapsed } => {
                write!(f, "done ({:.1} s): {command}", elapsed.as_secs_f64())
            }
            Event::Skipped { reason } => write!(f, "skipped: {reason}"),
            Event::Waiting { pending, since } => {
                write!(f, "waiting ({}) for: {pending}", human_duration(*since))
            }
            Event::Warning(text) => write!(f, "warning: {text}"),
        }
    }
}

/// `42 s`, `3 min 05 s`: whole seconds, as an operator reads a wait.
pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs < 60 {
        format!("{secs} s")
    } else {
        format!("{} min {:02} s", secs / 60, secs % 60)
    }
}

/// Where the engine sends progress. Cloneable; sending never blocks and never fails (a front end
/// that stopped listening just loses the lines).
#[derive(Debug, Clone)]
pub struct Events(Option<mpsc::UnboundedSender<Event>>);

impl Events {
    /// A sink and the receiver the front end drains.
    pub fn channel() -> (Self, mpsc::UnboundedReceiver<Event>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Self(Some(tx)), rx)
    }

    /// A sink that drops everything (benchmarks, nested runs).
    pub fn discard() -> Self {
        Self(None)
    }

    /// Reports an event.
    pub fn emit(&self, event: Event) {
        if let Some(tx) = &self.0 {
            let _ = tx.send(event);
        }
    }

    /// Reports a free-form progress line.
    pub fn note(&self, text: impl Into<String>) {
        self.emit(Event::Note(text.into()));
    }

    /// Reports something that needs the operator's attention while the run goes on.
    pub fn warn(&self, text: impl Into<String>) {
        self.emit(Event::Warning(text.into()));
    }
}
