//! How the CLI shows a run's progress: every [`Event`] one line on stderr, stamped with the time
//! since the run started, and on a terminal a live status line below them.
//!
//! [`Progress`] is the state the events add up to (phase, changes, the current wait, warnings);
//! it does no I/O and is tested alone. [`Display`] renders it: plain lines when stderr is not a
//! terminal (CI, pipes, the charm's logs), or, on a terminal, the same lines printed above an
//! [`indicatif`] spinner whose status line ticks so a wait's duration counts up between events.
//! It knows nothing of where the events come from; start reading at [`show`].

use std::io::{self, IsTerminal as _, Write as _};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressFinish, ProgressStyle};
use tokio::sync::mpsc::UnboundedReceiver;

use crate::migrate::{Event, human_duration};

/// How often the live status line is recomputed, so a wait's duration counts up.
const REFRESH: Duration = Duration::from_millis(500);
/// How often the spinner turns.
const SPIN: Duration = Duration::from_millis(120);

/// The phase being run.
#[derive(Debug, Clone, PartialEq)]
pub struct Phase {
    /// 1-based index among the phases that apply.
    pub index: usize,
    /// Number of phases that apply.
    pub total: usize,
    /// Its name, e.g. `remove-istio-pilot`.
    pub name: String,
}

/// What the run is doing right now, as far as the events tell.
#[derive(Debug, Clone, PartialEq)]
pub enum Activity {
    /// Nothing said yet, or a phase just began.
    Idle,
    /// A step outside the phases (preflight, backup, verify), as its note says.
    Note(String),
    /// Changes were just sent; this is the last one.
    Applying(String),
    /// Waiting for facts to be observed true.
    Waiting {
        /// What is awaited.
        pending: String,
        /// How long the engine had been waiting when it said so.
        since: Duration,
        /// When it said so, from the start of the run.
        at: Duration,
    },
}

/// The state a run's events add up to. Pure: fed events with the time they arrived.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// The current phase, once one has started.
    pub phase: Option<Phase>,
    /// Changes started in the current phase.
    pub phase_started: usize,
    /// Changes finished (observed true) in the current phase.
    pub phase_finished: usize,
    /// Changes started in the whole run.
    pub started: usize,
    /// Changes finished in the whole run.
    pub finished: usize,
    /// What is happening now.
    pub activity: Activity,
    /// Every warning, in order.
    pub warnings: Vec<String>,
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress {
    /// Nothing has happened yet.
    pub fn new() -> Self {
        Self {
            phase: None,
            phase_started: 0,
            phase_finished: 0,
            started: 0,
            finished: 0,
            activity: Activity::Idle,
            warnings: Vec::new(),
        }
    }

    /// Adds `event`, which arrived `at` after the run started.
    pub fn observe(&mut self, event: &Event, at: Duration) {
        match event {
            Event::Note(text) => self.activity = Activity::Note(text.clone()),
            Event::PhaseStarted { index, total, name } => {
                self.phase = Some(Phase {
                    index: *index,
                    total: *total,
                    name: name.clone(),
                });
                self.phase_started = 0;
                self.phase_finished = 0;
                self.activity = Activity::Idle;
            }
            Event::ChangeStarted { command } => {
                self.phase_started += 1;
                self.started += 1;
                self.activity = Activity::Applying(command.clone());
            }
            Event::ChangeFinished { .. } => {
                self.phase_finished += 1;
                self.finished += 1;
                // A wait goes on (the engine re-states it if what is awaited changed); an
                // application is over once every change sent has been observed.
                if matches!(self.activity, Activity::Applying(_))
                    && self.phase_finished >= self.phase_started
                {
                    self.activity = Activity::Idle;
                }
            }
            Event::Skipped { .. } => {}
            Event::Waiting { pending, since } => {
                self.activity = Activity::Waiting {
                    pending: pending.clone(),
                    since: *since,
                    at,
                };
            }
            Event::Warning(text) => self.warnings.push(text.clone()),
        }
    }

    /// The current wait at `now` (from the start of the run): what is awaited and for how long,
    /// counting on from the engine's last measurement.
    pub fn wait(&self, now: Duration) -> Option<(&str, Duration)> {
        match &self.activity {
            Activity::Waiting { pending, since, at } => {
                Some((pending.as_str(), *since + now.saturating_sub(*at)))
            }
            _ => None,
        }
    }

    /// The live status line at `now`, e.g.
    /// `phase 3/9 remove-istio-pilot · 2/5 changes · waiting 1 min 05 s for: istio-pilot to be removed`.
    pub fn status_line(&self, now: Duration) -> String {
        let mut parts = Vec::new();
        if let Some(phase) = &self.phase {
            parts.push(format!(
                "phase {}/{} {}",
                phase.index, phase.total, phase.name
            ));
            let mut changes = format!("{}/{} changes", self.phase_finished, self.phase_started);
            if self.started != self.phase_started {
                changes.push_str(&format!(" ({}/{} in all)", self.finished, self.started));
            }
            parts.push(changes);
        }
        match &self.activity {
            Activity::Idle if self.phase.is_none() => parts.push("starting".into()),
            Activity::Idle => {}
            Activity::Note(text) => parts.push(text.clone()),
            Activity::Applying(command) => parts.push(format!("applying: {command}")),
            Activity::Waiting { .. } => {
                if let Some((pending, waited)) = self.wait(now) {
                    parts.push(format!("waiting {} for: {pending}", human_duration(waited)));
                }
            }
        }
        match self.warnings.len() {
            0 => {}
            1 => parts.push("1 warning".into()),
            n => parts.push(format!("{n} warnings")),
        }
        parts.join(" · ")
    }
}

/// `[  12.3s]`: time since the run started, measured, to a tenth of a second; wide enough that
/// the lines of an hour-long run stay aligned.
pub fn stamp(elapsed: Duration) -> String {
    format!("[{:>6.1}s]", elapsed.as_secs_f64())
}

/// One plain progress line: the stamp, then the event, e.g. `[  12.3s] phase 3/9: remove-istio-pilot`.
pub fn plain_line(elapsed: Duration, event: &Event) -> String {
    format!("{} {event}", stamp(elapsed))
}

/// The same line for a terminal: a warning's `warning:` in bold yellow.
fn coloured_line(elapsed: Duration, event: &Event) -> String {
    match event {
        Event::Warning(text) => format!("{} \x1b[1;33mwarning:\x1b[0m {text}", stamp(elapsed)),
        _ => plain_line(elapsed, event),
    }
}

/// Whether to draw the live display: only on a terminal that can move its cursor (`TERM` set
/// and not `dumb`), and never in CI, whose logs keep every frame.
pub fn live_wanted(stderr_is_terminal: bool, term: Option<&str>, ci: Option<&str>) -> bool {
    stderr_is_terminal
        && term.is_some_and(|t| !t.is_empty() && t != "dumb")
        && ci.is_none_or(str::is_empty)
}

/// The live bar, if one is drawn, so log lines from `tracing` can be written above it rather
/// than through it. Global because the tracing subscriber is.
static LIVE: Mutex<Option<ProgressBar>> = Mutex::new(None);

fn live_bar() -> Option<ProgressBar> {
    LIVE.lock().ok().and_then(|bar| bar.clone())
}

fn set_live_bar(bar: Option<ProgressBar>) {
    if let Ok(mut live) = LIVE.lock() {
        *live = bar;
    }
}

/// Stderr for `tracing`'s log lines: while a live display is drawn, each line is written with
/// the bar lifted out of the way, so neither garbles the other.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogWriter;

impl io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // All of `buf` in one go: a partial write would let the bar redraw inside a log line.
        match live_bar() {
            Some(bar) => bar.suspend(|| io::stderr().write_all(buf))?,
            None => io::stderr().write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

/// Where the lines go.
enum Output {
    /// One line per event, nothing else (tests capture it).
    Plain(Box<dyn io::Write + Send>),
    /// Lines above a spinner with the status line; warnings in colour unless `NO_COLOR` is set.
    Live { bar: ProgressBar, colour: bool },
}

/// Renders events for the operator: plain lines, or lines above a live status line.
pub struct Display {
    started: Instant,
    progress: Progress,
    output: Output,
}

impl Display {
    /// The display stderr calls for: live on a terminal (see [`live_wanted`]), plain otherwise.
    /// `started` is when the run began; every stamp counts from it.
    pub fn for_stderr(started: Instant) -> Self {
        let live = live_wanted(
            io::stderr().is_terminal(),
            std::env::var("TERM").ok().as_deref(),
            std::env::var("CI").ok().as_deref(),
        );
        if live {
            let no_colour = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
            Self::live(started, !no_colour)
        } else {
            Self::plain(started, Box::new(io::stderr()))
        }
    }

    /// Plain lines to `out`.
    pub fn plain(started: Instant, out: Box<dyn io::Write + Send>) -> Self {
        Self {
            started,
            progress: Progress::new(),
            output: Output::Plain(out),
        }
    }

    fn live(started: Instant, colour: bool) -> Self {
        let style = ProgressStyle::with_template("{spinner} {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
            .with_style(style)
            // Dropped without `finish` (a panic, an abort): the bar still leaves the screen.
            .with_finish(ProgressFinish::AndClear);
        let progress = Progress::new();
        bar.set_message(progress.status_line(Duration::ZERO));
        bar.enable_steady_tick(SPIN);
        set_live_bar(Some(bar.clone()));
        Self {
            started,
            progress,
            output: Output::Live { bar, colour },
        }
    }

    /// Whether the live status line is drawn.
    pub fn is_live(&self) -> bool {
        matches!(self.output, Output::Live { .. })
    }

    /// What the events so far add up to.
    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// Shows one event: its stamped line, and the status line updated.
    pub fn event(&mut self, event: &Event) {
        let now = self.started.elapsed();
        self.progress.observe(event, now);
        match &mut self.output {
            Output::Plain(out) => {
                // Stderr gone (a closed pipe): the run goes on; its result still reaches stdout.
                let _ = writeln!(out, "{}", plain_line(now, event));
            }
            Output::Live { bar, colour } => {
                bar.println(if *colour {
                    coloured_line(now, event)
                } else {
                    plain_line(now, event)
                });
                bar.set_message(self.progress.status_line(now));
            }
        }
    }

    /// Recomputes the status line, so a wait's duration counts up between events.
    pub fn refresh(&self) {
        if let Output::Live { bar, .. } = &self.output {
            bar.set_message(self.progress.status_line(self.started.elapsed()));
        }
    }

    /// Ends the display: the live bar is cleared, so what follows starts on a clean line.
    pub fn finish(self) {
        match self.output {
            Output::Plain(mut out) => {
                let _ = out.flush();
            }
            Output::Live { bar, .. } => {
                set_live_bar(None);
                bar.finish_and_clear();
            }
        }
    }
}

/// Shows every event from `events` until the engine drops its sender, then finishes the
/// display. Await it before printing the result, so the result is not drawn over.
pub async fn show(mut events: UnboundedReceiver<Event>, mut display: Display) {
    let mut refresh = tokio::time::interval(REFRESH);
    refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let live = display.is_live();
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Some(event) => display.event(&event),
                None => break,
            },
            _ = refresh.tick(), if live => display.refresh(),
        }
    }
    display.finish();
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    fn phase(index: usize, name: &str) -> Event {
        Event::PhaseStarted {
            index,
            total: 9,
            name: name.into(),
        }
    }

    fn start(command: &str) -> Event {
        Event::ChangeStarted {
            command: command.into(),
        }
    }

    fn finish(command: &str) -> Event {
        Event::ChangeFinished {
            command: command.into(),
            elapsed: secs(2.0),
        }
    }

    fn waiting(pending: &str, since: f64) -> Event {
        Event::Waiting {
            pending: pending.into(),
            since: secs(since),
        }
    }

    fn fed(events: &[(f64, Event)]) -> Progress {
        let mut progress = Progress::new();
        for (at, event) in events {
            progress.observe(event, secs(*at));
        }
        progress
    }

    #[test]
    fn changes_are_counted_per_phase_and_in_all() {
        let progress = fed(&[
            (1.0, phase(1, "remove-istio-gateway")),
            (1.1, start("juju remove-application istio-ingressgateway")),
            (3.0, finish("juju remove-application istio-ingressgateway")),
            (3.1, phase(2, "refresh")),
            (3.2, start("juju refresh kfp-api")),
            (3.2, start("juju refresh kfp-ui")),
            (5.0, finish("juju refresh kfp-api")),
        ]);

        assert_eq!(
            progress.phase,
            Some(Phase {
                index: 2,
                total: 9,
                name: "refresh".into()
            })
        );
        assert_eq!((progress.phase_finished, progress.phase_started), (1, 2));
        assert_eq!((progress.finished, progress.started), (2, 3));
        assert_eq!(
            progress.activity,
            Activity::Applying("juju refresh kfp-ui".into()),
            "one change is still being applied"
        );
    }

    #[test]
    fn a_wait_counts_on_from_the_engines_measurement() {
        let progress = fed(&[
            (10.0, phase(3, "remove-istio-pilot")),
            (40.0, waiting("istio-pilot to be removed", 30.0)),
        ]);

        assert_eq!(
            progress.wait(secs(75.0)),
            Some(("istio-pilot to be removed", secs(65.0)))
        );
        assert_eq!(
            progress.wait(secs(30.0)).map(|(_, d)| d),
            Some(secs(30.0)),
            "a clock read before the event does not shorten the wait"
        );
    }

    #[test]
    fn the_status_line_names_phase_changes_and_wait() {
        let progress = fed(&[
            (0.5, phase(3, "remove-istio-pilot")),
            (0.6, start("a")),
            (0.6, start("b")),
            (0.6, start("c")),
            (0.6, start("d")),
            (0.6, start("e")),
            (2.0, finish("a")),
            (3.0, finish("b")),
            (5.0, waiting("istio-pilot to be removed", 4.0)),
        ]);

        assert_eq!(
            progress.status_line(secs(66.0)),
            "phase 3/9 remove-istio-pilot · 2/5 changes · waiting 1 min 05 s for: istio-pilot to be removed"
        );
    }

    #[test]
    fn the_status_line_counts_the_whole_run_once_a_phase_has_passed() {
        let progress = fed(&[
            (0.0, phase(1, "remove-istio-gateway")),
            (0.1, start("a")),
            (1.0, finish("a")),
            (1.1, phase(2, "refresh")),
            (1.2, start("b")),
        ]);

        assert_eq!(
            progress.status_line(secs(1.3)),
            "phase 2/9 refresh · 0/1 changes (1/2 in all) · applying: b"
        );
    }

    #[test]
    fn a_new_phase_ends_the_previous_wait() {
        let progress = fed(&[
            (0.0, phase(1, "remove-istio-gateway")),
            (1.0, waiting("istio-ingressgateway to be removed", 1.0)),
            (2.0, phase(2, "refresh")),
        ]);

        assert_eq!(progress.wait(secs(3.0)), None);
        assert_eq!(
            progress.status_line(secs(3.0)),
            "phase 2/9 refresh · 0/0 changes"
        );
    }

    #[test]
    fn a_finished_change_keeps_the_wait_for_the_others() {
        let progress = fed(&[
            (0.0, phase(7, "refresh")),
            (0.1, start("a")),
            (0.1, start("b")),
            (1.0, waiting("a to take effect; b to take effect", 0.5)),
            (2.0, finish("a")),
        ]);

        assert!(progress.wait(secs(2.0)).is_some(), "{progress:?}");
    }

    #[test]
    fn applying_ends_when_every_change_sent_is_observed() {
        let progress = fed(&[(0.0, phase(1, "x")), (0.1, start("a")), (0.5, finish("a"))]);

        assert_eq!(progress.activity, Activity::Idle);
    }

    #[test]
    fn before_any_phase_the_status_line_shows_the_last_note_and_warnings() {
        let progress = fed(&[
            (0.0, Event::Note("preflight: checking credentials".into())),
            (
                0.2,
                Event::Warning("lost the controller; reconnecting".into()),
            ),
            (0.3, Event::Warning("reconnected".into())),
        ]);

        assert_eq!(
            progress.status_line(secs(0.4)),
            "preflight: checking credentials · 2 warnings"
        );
        assert_eq!(progress.warnings.len(), 2);
        assert_eq!(Progress::new().status_line(Duration::ZERO), "starting");
    }

    #[test]
    fn stamps_are_measured_to_a_tenth_and_aligned() {
        assert_eq!(stamp(secs(0.04)), "[   0.0s]");
        assert_eq!(stamp(secs(12.34)), "[  12.3s]");
        assert_eq!(stamp(secs(12.36)), "[  12.4s]");
        assert_eq!(
            stamp(secs(3599.96)),
            "[3600.0s]",
            "an hour still fits the width"
        );
    }

    #[test]
    fn every_event_kind_becomes_one_stamped_line() {
        let at = secs(12.3);
        let cases = [
            (
                Event::Note("backup: saved".into()),
                "[  12.3s] backup: saved",
            ),
            (
                phase(3, "remove-istio-pilot"),
                "[  12.3s] phase 3/9: remove-istio-pilot",
            ),
            (
                start("juju remove-application istio-pilot"),
                "[  12.3s] start: juju remove-application istio-pilot",
            ),
            (
                finish("juju remove-application istio-pilot"),
                "[  12.3s] done (2.0 s): juju remove-application istio-pilot",
            ),
            (
                Event::Skipped {
                    reason: "kserve-controller: not in the model".into(),
                },
                "[  12.3s] skipped: kserve-controller: not in the model",
            ),
            (
                waiting("istio-pilot to be removed", 65.4),
                "[  12.3s] waiting (1 min 05 s) for: istio-pilot to be removed",
            ),
            (
                Event::Warning("lost the controller".into()),
                "[  12.3s] warning: lost the controller",
            ),
        ];

        for (event, line) in cases {
            assert_eq!(plain_line(at, &event), line);
        }
    }

    #[test]
    fn only_a_terminal_warning_is_coloured() {
        let warning = Event::Warning("lost the controller".into());

        assert_eq!(
            coloured_line(secs(1.0), &warning),
            "[   1.0s] \x1b[1;33mwarning:\x1b[0m lost the controller"
        );
        assert!(!plain_line(secs(1.0), &warning).contains('\x1b'));
        assert_eq!(
            coloured_line(secs(1.0), &Event::Note("n".into())),
            plain_line(secs(1.0), &Event::Note("n".into()))
        );
    }

    #[test]
    fn the_live_display_is_only_for_an_interactive_terminal() {
        assert!(live_wanted(true, Some("xterm-256color"), None));
        assert!(!live_wanted(false, Some("xterm-256color"), None), "a pipe");
        assert!(!live_wanted(true, Some("dumb"), None));
        assert!(
            !live_wanted(true, None, None),
            "no TERM: cursor moves unknown"
        );
        assert!(
            !live_wanted(true, Some("xterm"), Some("true")),
            "CI keeps every frame"
        );
        assert!(live_wanted(true, Some("xterm"), Some("")));
    }

    /// A writer the test can read back.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().expect("not poisoned").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn the_plain_display_writes_one_stamped_line_per_event_and_nothing_else() {
        let out = Captured::default();
        let display = Display::plain(Instant::now(), Box::new(out.clone()));
        let (events, rx) = crate::migrate::Events::channel();
        events.note("preflight: checking");
        events.emit(phase(1, "remove-istio-gateway"));
        events.emit(waiting("istio-ingressgateway to be removed", 30.0));
        events.warn("lost the controller");
        drop(events);

        tokio::time::timeout(Duration::from_secs(10), show(rx, display))
            .await
            .expect("the display ends when the events do");

        let text = String::from_utf8(out.0.lock().expect("not poisoned").clone()).expect("utf-8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        for line in &lines {
            assert!(
                line.starts_with("[   0.") && line[..10].ends_with("s] "),
                "{line:?}"
            );
        }
        assert!(lines[2].ends_with("waiting (30 s) for: istio-ingressgateway to be removed"));
        assert!(lines[3].ends_with("] warning: lost the controller"));
        assert!(
            !text.contains('\x1b'),
            "no escapes in plain output: {text:?}"
        );
    }
}
