//! `tracing` → `juju-log`: events logged anywhere in the binary reach the unit log
//! (`juju debug-log`) at the matching level.
//!
//! A [`tracing_subscriber::Layer`] formats each event and sends it over a channel to one task
//! that calls `juju-log` in order; logging never blocks and never calls a process itself.
//! [`Forwarder::flush`] waits until every line sent so far has been written, and must be
//! awaited before the process exits: Juju closes the hook-tool server when `dispatch` exits, so a
//! line not yet written by then is lost. A line `juju-log` refuses goes to stderr instead,
//! which Juju also logs (at WARNING).
//!
//! Every line costs a hook-tool process, and `update-status` runs every five minutes for the life
//! of the unit, so a hook with nothing to say says nothing: the line naming the binary and the
//! event is a [`Forwarder::header`], written only in front of the first line that follows it.

use std::fmt::{self, Write as _};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tracing::field::{Field, Visit};
use tracing::{Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::{Context, SubscriberExt};

use super::hooktools::{HookTools, LogLevel, Runner};

enum Message {
    Line(LogLevel, String),
    Header(String),
    Flush(oneshot::Sender<()>),
}

/// The layer: formats events and hands them to the forwarding task.
pub struct JujuLogLayer {
    tx: mpsc::UnboundedSender<Message>,
}

/// The forwarding task's handle.
pub struct Forwarder {
    tx: mpsc::UnboundedSender<Message>,
}

/// Maps a `tracing` level to `juju-log`'s.
pub fn juju_level(level: &Level) -> LogLevel {
    match *level {
        Level::ERROR => LogLevel::Error,
        Level::WARN => LogLevel::Warning,
        Level::INFO => LogLevel::Info,
        Level::DEBUG => LogLevel::Debug,
        Level::TRACE => LogLevel::Trace,
    }
}

/// Starts the forwarding task on the current runtime and returns the layer that feeds it.
pub fn layer<R: Runner>(tools: HookTools<R>) -> (JujuLogLayer, Forwarder) {
    let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
    tokio::spawn(async move {
        let mut header: Option<String> = None;
        while let Some(message) = rx.recv().await {
            match message {
                Message::Line(level, text) => {
                    if let Some(header) = header.take() {
                        write(&tools, LogLevel::Info, &header).await;
                    }
                    write(&tools, level, &text).await;
                }
                Message::Header(text) => header = Some(text),
                Message::Flush(done) => {
                    let _ = done.send(());
                }
            }
        }
    });
    (JujuLogLayer { tx: tx.clone() }, Forwarder { tx })
}

async fn write<R: Runner>(tools: &HookTools<R>, level: LogLevel, text: &str) {
    if let Err(e) = tools.juju_log(level, text).await {
        // Not through tracing: that would come straight back here.
        eprintln!("{} {text} (juju-log failed: {e})", level.as_str());
    }
}

/// Which events are forwarded: this crate's from INFO up, and nobody else's. Other crates'
/// events (kube_client, hyper, tower, rustls, tokio_tungstenite) restate, once per retry and in
/// their words, failures ckf-migrator reports once in its own (an action result, a status), so
/// forwarding them would bury the one clear line. Every line also costs a process, and a unit
/// logs at INFO by default.
///
/// Should they ever be let through, never at TRACE: tungstenite logs frame payloads at TRACE,
/// and one of those frames is the Juju login with its password.
pub fn filter() -> Targets {
    Targets::new()
        .with_default(LevelFilter::OFF)
        .with_target("ckf_migrator", LevelFilter::INFO)
}

/// Installs the layer as the process's subscriber. Call once, inside the runtime.
pub fn install<R: Runner>(tools: HookTools<R>) -> Forwarder {
    let (layer, forwarder) = layer(tools);
    let subscriber = tracing_subscriber::registry().with(layer.with_filter(filter()));
    // Only fails if a subscriber is already set, in which case that one keeps working.
    let _ = tracing::subscriber::set_global_default(subscriber);
    forwarder
}

impl Forwarder {
    /// Sets the line written, at INFO, in front of the next line logged; it replaces a header not
    /// yet written. If nothing is logged after it, it is never written.
    pub fn header(&self, text: impl Into<String>) {
        let _ = self.tx.send(Message::Header(text.into()));
    }

    /// Waits until every line sent before this call has been handed to `juju-log`, or `limit`
    /// passes.
    pub async fn flush(&self, limit: Duration) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Message::Flush(done)).is_ok() {
            let _ = tokio::time::timeout(limit, wait).await;
        }
    }
}

impl<S: Subscriber> Layer<S> for JujuLogLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let metadata = event.metadata();
        let mut text = Line::default();
        event.record(&mut text);
        let mut line = text.finish();
        if !metadata.target().starts_with("ckf_migrator") {
            line = format!("{}: {line}", metadata.target());
        }
        let _ = self
            .tx
            .send(Message::Line(juju_level(metadata.level()), line));
    }
}

/// An event as one line: the message, then `name=value` for each other field.
#[derive(Default)]
struct Line {
    message: String,
    fields: String,
}

impl Line {
    fn finish(self) -> String {
        match (self.message.is_empty(), self.fields.is_empty()) {
            (_, true) => self.message,
            (true, false) => self.fields,
            (false, false) => format!("{} {}", self.message, self.fields),
        }
    }

    fn field(&mut self, name: &str, value: fmt::Arguments<'_>) {
        if !self.fields.is_empty() {
            self.fields.push(' ');
        }
        let _ = write!(self.fields, "{name}={value}");
    }
}

impl Visit for Line {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_string();
        } else {
            self.field(field.name(), format_args!("{value:?}"));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        } else {
            self.field(field.name(), format_args!("{value:?}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use ckf_sim::hooktools::State;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;
    use crate::charm::hooktools::fake::{FakeRunner, tools};

    /// The unit log's lines so far, as (level, message).
    fn logged(tools: &HookTools<FakeRunner>) -> Vec<(String, String)> {
        tools
            .runner()
            .state()
            .juju_log
            .into_iter()
            .map(|l| (l.level, l.message))
            .collect()
    }

    #[tokio::test]
    async fn events_reach_juju_log_at_their_level_once_flushed() {
        let tools = tools(State::default());
        let (layer, forwarder) = layer(tools.clone());
        let subscriber = tracing_subscriber::registry().with(layer.with_filter(filter()));

        tracing::subscriber::with_default(subscriber, || {
            tracing::error!(phase = "refresh", "refresh failed");
            tracing::warn!("slow");
            tracing::info!("started");
            tracing::debug!("not forwarded: below INFO");
            tracing::error!(target: "kube_client", "not forwarded: a dependency's error");
            tracing::warn!(target: "hyper_util", "not forwarded: a dependency's warning");
        });
        forwarder.flush(Duration::from_secs(10)).await;

        let lines = logged(&tools);
        assert_eq!(
            lines,
            vec![
                ("ERROR".into(), "refresh failed phase=\"refresh\"".into()),
                ("WARNING".into(), "slow".into()),
                ("INFO".into(), "started".into()),
            ]
        );
    }

    #[tokio::test]
    async fn a_header_is_written_only_in_front_of_a_line() {
        let tools = tools(State::default());
        let (layer, forwarder) = layer(tools.clone());
        let subscriber = tracing_subscriber::registry().with(layer.with_filter(filter()));

        forwarder.header("running hook a");
        forwarder.flush(Duration::from_secs(10)).await;
        let silent = tools.runner().state().calls.len();
        forwarder.header("running hook b");
        tracing::subscriber::with_default(subscriber, || tracing::warn!("something happened"));
        forwarder.flush(Duration::from_secs(10)).await;

        assert_eq!(silent, 0, "a header alone costs no juju-log");
        let lines = logged(&tools);
        assert_eq!(
            lines,
            vec![
                ("INFO".into(), "running hook b".into()),
                ("WARNING".into(), "something happened".into()),
            ]
        );
    }
}
