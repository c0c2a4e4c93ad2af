//! How long the engine keeps trying: the run's deadline, the outage grace window, interrupts and
//! the pause between observations — in one place, so that no wait, retry or reconnection can
//! outlive any of them.
//!
//! Every request the engine makes goes through [`Attempts::bounded`], which races it against an
//! interrupt and the earliest of the deadline and the open outage's grace limit. Transient
//! failures go to [`Attempts::transient`], which opens or extends an outage and says whether to
//! wait or give up. [`Attempts::pause`] sleeps until the next observation, never past a limit,
//! and wakes at once on an interrupt.

use std::future::Future;
use std::time::{Duration, Instant};

use super::outage::{Outages, Port, Transient, Verdict};
use super::{Events, Options};

/// Why a bounded request did not complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cut {
    /// A stop was requested (the signal's name).
    Interrupted(String),
    /// The run's deadline passed.
    Deadline,
    /// An open outage ran out of grace: the sentence saying so.
    Outage(String),
}

/// Why [`Attempts::read`] gave up.
#[derive(Debug)]
pub(crate) enum ReadError<E> {
    /// The port answered with an error that waiting does not cure.
    Failed(E),
    /// An interrupt, the deadline or an outage's grace limit.
    Cut(Cut),
}

/// The run's limits and the state of its outages.
pub(crate) struct Attempts<'a> {
    pub options: &'a Options,
    pub events: &'a Events,
    pub deadline: Instant,
    outages: Outages,
    /// Where each port is reached, for messages.
    juju_address: String,
    kubernetes_address: String,
}

impl<'a> Attempts<'a> {
    pub(crate) fn new(
        options: &'a Options,
        events: &'a Events,
        started: Instant,
        juju_address: String,
        kubernetes_address: String,
    ) -> Self {
        Self {
            options,
            events,
            // A timeout too large to add means "no deadline" in practice.
            deadline: started
                .checked_add(options.timeout)
                .unwrap_or(started + Duration::from_secs(100 * 365 * 24 * 3600)),
            outages: Outages::new(options.outage_grace),
            juju_address,
            kubernetes_address,
        }
    }

    fn address(&self, port: Port) -> &str {
        match port {
            Port::Juju => &self.juju_address,
            Port::Kubernetes => &self.kubernetes_address,
        }
    }

    /// The earliest moment anything must stop waiting.
    fn limit(&self) -> Instant {
        self.outages
            .deadline()
            .map_or(self.deadline, |o| o.min(self.deadline))
    }

    /// Runs `request` unless an interrupt, the deadline or an outage's grace limit comes first.
    pub(crate) async fn bounded<T>(&mut self, request: impl Future<Output = T>) -> Result<T, Cut> {
        if let Some(why) = self.options.interrupt.reason() {
            return Err(Cut::Interrupted(why));
        }
        let limit = self.limit();
        tokio::select! {
            done = request => Ok(done),
            why = self.options.interrupt.requested() => Err(Cut::Interrupted(why)),
            () = tokio::time::sleep_until(limit.into()) => Err(self.expired()),
        }
    }

    /// What passed at [`Attempts::limit`]: an outage's grace or the deadline.
    pub(crate) fn expired(&mut self) -> Cut {
        let now = Instant::now();
        if let Some((port, _)) = self.outages.oldest() {
            let address = self.address(port).to_string();
            if let Some(why) = self.outages.expired(port, &address, now) {
                return Cut::Outage(why);
            }
        }
        Cut::Deadline
    }

    /// A request to `port`, sent at `sent`, failed transiently: tells the operator when this is
    /// news, and says whether to keep waiting (`Ok`) or give up (`Err` with the sentence).
    pub(crate) fn transient(&mut self, port: Port, sent: Instant, error: &str) -> Result<(), Cut> {
        let address = self.address(port).to_string();
        match self
            .outages
            .failed(port, &address, sent, error, Instant::now())
        {
            Verdict::Wait { tell } => {
                if let Some(line) = tell {
                    self.events.warn(line);
                }
                Ok(())
            }
            Verdict::GiveUp(why) => Err(Cut::Outage(why)),
        }
    }

    /// A request to `port` succeeded: an outage of it is over.
    pub(crate) fn succeeded(&mut self, port: Port) {
        if let Some(line) = self.outages.succeeded(port, Instant::now()) {
            self.events.warn(line);
        }
    }

    /// Waits until the next observation: the poll interval, shortened by the heartbeat, the
    /// deadline and an outage's grace limit; cut short by an interrupt.
    pub(crate) async fn pause(&self) {
        let left = self.limit().saturating_duration_since(Instant::now());
        let nap = self
            .options
            .poll_interval
            .min(self.options.heartbeat)
            .min(left)
            .max(Duration::from_millis(1));
        tokio::select! {
            () = tokio::time::sleep(nap) => {}
            _ = self.options.interrupt.requested() => {}
        }
    }

    /// Runs a read until it succeeds, riding out transient failures within the grace window.
    ///
    /// # Errors
    /// The read's lasting error, or why waiting for it was cut short.
    pub(crate) async fn read<T, E, F, Fut>(&mut self, mut request: F) -> Result<T, ReadError<E>>
    where
        E: Transient,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        loop {
            let sent = Instant::now();
            match self.bounded(request()).await {
                Ok(Ok(value)) => {
                    for port in E::ports() {
                        self.succeeded(*port);
                    }
                    return Ok(value);
                }
                Ok(Err(e)) if e.is_transient() => {
                    self.transient(e.port(), sent, &e.to_string())
                        .map_err(ReadError::Cut)?;
                    self.pause().await;
                }
                Ok(Err(e)) => return Err(ReadError::Failed(e)),
                Err(cut) => return Err(ReadError::Cut(cut)),
            }
        }
    }

    /// Whether the run's deadline has passed.
    pub(crate) fn past_deadline(&self) -> bool {
        Instant::now() >= self.deadline
    }
}
