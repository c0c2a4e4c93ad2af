//! Outages of the Juju controller or the Kubernetes API: noticed, told, survived within a grace
//! window, and turned into one clear sentence past it.
//!
//! The engine reports every transient failure of a port here ([`Outages::failed`]) and every
//! success ([`Outages::succeeded`]). The first failure opens an outage, dated from when the failed
//! request was sent (a request that hung for its whole timeout counts from its start); while the
//! outage lasts less than the grace window the engine pauses and observes again — a write whose
//! reply was lost is re-evaluated from observed state, never blindly repeated or failed. Past the
//! window the run stops, saying what was lost, since when, the last error, and that nothing is
//! lost by re-running later. Pure: time is passed in.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::report::human_duration;

/// Default grace window: how long an unreachable port is waited for before the run stops.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(120);

/// The two ports the engine talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Port {
    /// The Juju controller.
    Juju,
    /// The Kubernetes API server.
    Kubernetes,
}

impl Port {
    fn name(self) -> &'static str {
        match self {
            Port::Juju => "the Juju controller",
            Port::Kubernetes => "the Kubernetes API",
        }
    }
}

/// A port's error that may be an outage.
pub(crate) trait Transient: std::fmt::Display {
    /// Worth observing again after a pause.
    fn is_transient(&self) -> bool;
    /// Which port failed.
    fn port(&self) -> Port;
    /// The ports a request with this error type reaches: its success ends their outages.
    fn ports() -> &'static [Port];
}

impl Transient for crate::juju::Error {
    fn is_transient(&self) -> bool {
        self.is_retryable()
    }
    fn port(&self) -> Port {
        Port::Juju
    }
    fn ports() -> &'static [Port] {
        &[Port::Juju]
    }
}

impl Transient for crate::cluster::Error {
    fn is_transient(&self) -> bool {
        self.is_retryable()
    }
    fn port(&self) -> Port {
        Port::Kubernetes
    }
    fn ports() -> &'static [Port] {
        &[Port::Kubernetes]
    }
}

#[derive(Debug, Clone)]
struct Outage {
    since: Instant,
    at: jiff::Timestamp,
    last_error: String,
    failures: u32,
}

/// What the engine should do after a transient failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Keep going: pause, then observe again. `tell` is a line for the operator when this
    /// failure is news (the first of an outage); later failures are told by the port's own
    /// reconnection events, or not at all.
    Wait {
        /// The warning to show, if any.
        tell: Option<String>,
    },
    /// The grace window has passed: stop with this sentence (without the resume command, which
    /// the caller adds in its front end's syntax).
    GiveUp(String),
}

fn give_up(
    port: Port,
    address: &str,
    outage: &Outage,
    lasted: Duration,
    grace: Duration,
) -> String {
    format!(
        "lost contact with {} ({address}) at {} and it has not answered for {}, longer than the grace window of {}; last error: {}; nothing is lost",
        port.name(),
        outage.at.strftime("%H:%M:%S UTC"),
        human_duration(lasted),
        human_duration(grace),
        outage.last_error,
    )
}

/// The open outages of one run.
#[derive(Debug)]
pub(crate) struct Outages {
    grace: Duration,
    open: BTreeMap<Port, Outage>,
}

impl Outages {
    pub(crate) fn new(grace: Duration) -> Self {
        Self {
            grace,
            open: BTreeMap::new(),
        }
    }

    /// A request to `port` (reaching `address`), sent at `sent`, failed transiently with `error`.
    pub(crate) fn failed(
        &mut self,
        port: Port,
        address: &str,
        sent: Instant,
        error: &str,
        now: Instant,
    ) -> Verdict {
        let grace = self.grace;
        let mut news = false;
        let outage = self.open.entry(port).or_insert_with(|| {
            news = true;
            Outage {
                since: sent,
                at: jiff::Timestamp::now() - now.saturating_duration_since(sent),
                last_error: String::new(),
                failures: 0,
            }
        });
        outage.last_error = error.to_string();
        outage.failures += 1;
        let lasted = now.saturating_duration_since(outage.since);
        if lasted >= grace {
            return Verdict::GiveUp(give_up(port, address, outage, lasted, grace));
        }
        Verdict::Wait {
            tell: news.then(|| {
                format!(
                    "lost contact with {} ({address}): {error}; waiting up to {} for it to come back",
                    port.name(),
                    human_duration(grace.saturating_sub(lasted)),
                )
            }),
        }
    }

    /// The outage of `port` has outlived the grace window at `now` without a new failure (a
    /// request still hanging): the sentence that ends the run, with the last error seen.
    pub(crate) fn expired(&self, port: Port, address: &str, now: Instant) -> Option<String> {
        let outage = self.open.get(&port)?;
        let lasted = now.saturating_duration_since(outage.since);
        (lasted >= self.grace).then(|| give_up(port, address, outage, lasted, self.grace))
    }

    /// A request to `port` succeeded: closes its outage, returning a line for the operator if
    /// there was one.
    pub(crate) fn succeeded(&mut self, port: Port, now: Instant) -> Option<String> {
        let outage = self.open.remove(&port)?;
        Some(format!(
            "{} answers again after {}; carrying on",
            port.name(),
            human_duration(now.saturating_duration_since(outage.since)),
        ))
    }

    /// The port whose outage is the oldest, and since when.
    pub(crate) fn oldest(&self) -> Option<(Port, Instant)> {
        self.open
            .iter()
            .map(|(port, o)| (*port, o.since))
            .min_by_key(|(_, since)| *since)
    }

    /// When the oldest open outage runs out of grace: no wait should go past it.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.open.values().map(|o| o.since + self.grace).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADDRESS: &str = "127.0.0.1:17070";

    #[test]
    fn the_first_failure_is_told_once_with_the_address_and_the_window() {
        let mut outages = Outages::new(Duration::from_secs(120));
        let t0 = Instant::now();

        let first = outages.failed(Port::Juju, ADDRESS, t0, "connection refused", t0);
        let second = outages.failed(
            Port::Juju,
            ADDRESS,
            t0 + Duration::from_secs(5),
            "connection refused",
            t0 + Duration::from_secs(5),
        );

        let Verdict::Wait { tell: Some(line) } = first else {
            panic!("{first:?}")
        };
        assert!(
            line.contains("the Juju controller (127.0.0.1:17070)"),
            "{line}"
        );
        assert!(line.contains("connection refused"), "{line}");
        assert!(line.contains("2 min 00 s"), "{line}");
        assert_eq!(second, Verdict::Wait { tell: None });
    }

    #[test]
    fn past_the_window_it_gives_up_naming_what_since_when_and_the_last_error() {
        let mut outages = Outages::new(Duration::from_secs(120));
        let t0 = Instant::now();
        outages.failed(
            Port::Kubernetes,
            "https://127.0.0.1:6443",
            t0,
            "refused",
            t0,
        );

        let verdict = outages.failed(
            Port::Kubernetes,
            "https://127.0.0.1:6443",
            t0 + Duration::from_secs(60),
            "TLS handshake eof",
            t0 + Duration::from_secs(121),
        );

        let Verdict::GiveUp(sentence) = verdict else {
            panic!("{verdict:?}")
        };
        assert!(
            sentence.contains("the Kubernetes API (https://127.0.0.1:6443)"),
            "{sentence}"
        );
        assert!(sentence.contains("2 min 01 s"), "{sentence}");
        assert!(
            sentence.contains("last error: TLS handshake eof"),
            "{sentence}"
        );
        assert!(sentence.contains("nothing is lost"), "{sentence}");
    }

    #[test]
    fn an_outage_counts_from_when_the_failed_request_was_sent() {
        let mut outages = Outages::new(Duration::from_secs(120));
        let t0 = Instant::now();

        // A call that hung for its whole 120 s timeout: the window is already used up.
        let verdict = outages.failed(
            Port::Juju,
            ADDRESS,
            t0,
            "no reply within 120 s",
            t0 + Duration::from_secs(120),
        );

        assert!(matches!(verdict, Verdict::GiveUp(_)), "{verdict:?}");
    }

    #[test]
    fn a_hanging_request_past_the_window_ends_with_the_last_error_seen() {
        let mut outages = Outages::new(Duration::from_secs(120));
        let t0 = Instant::now();
        outages.failed(Port::Juju, ADDRESS, t0, "connection refused", t0);

        assert_eq!(
            outages.expired(Port::Juju, ADDRESS, t0 + Duration::from_secs(119)),
            None
        );
        let sentence = outages
            .expired(Port::Juju, ADDRESS, t0 + Duration::from_secs(120))
            .expect("past the window");

        assert!(
            sentence.contains("last error: connection refused"),
            "{sentence}"
        );
    }

    #[test]
    fn success_closes_the_outage_and_says_so_once() {
        let mut outages = Outages::new(Duration::from_secs(120));
        let t0 = Instant::now();
        outages.failed(Port::Juju, ADDRESS, t0, "refused", t0);
        assert_eq!(outages.deadline(), Some(t0 + Duration::from_secs(120)));

        let back = outages.succeeded(Port::Juju, t0 + Duration::from_secs(42));

        assert_eq!(
            back.as_deref(),
            Some("the Juju controller answers again after 42 s; carrying on")
        );
        assert_eq!(outages.succeeded(Port::Juju, t0), None);
        assert_eq!(outages.deadline(), None);
    }

    #[test]
    fn ports_have_separate_outages() {
        let mut outages = Outages::new(Duration::from_secs(120));
        let t0 = Instant::now();
        outages.failed(Port::Juju, ADDRESS, t0, "refused", t0);

        let k8s = outages.failed(
            Port::Kubernetes,
            "https://127.0.0.1:6443",
            t0 + Duration::from_secs(100),
            "503",
            t0 + Duration::from_secs(100),
        );

        assert!(matches!(k8s, Verdict::Wait { tell: Some(_) }));
        assert_eq!(outages.deadline(), Some(t0 + Duration::from_secs(120)));
    }
}
