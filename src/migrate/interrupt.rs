//! A request to stop at a safe point, from a signal (SIGINT, SIGTERM) or a test.
//!
//! The front end owns the signal handling and holds the [`Interrupter`]; the engine holds an
//! [`Interrupt`] and looks at it where stopping is safe: before starting changes, while pausing,
//! while observing. Changes already sent are let finish for [`IN_FLIGHT_GRACE`]. Because the
//! engine reconciles from observed state, a run stopped anywhere resumes with the same command.

use std::time::Duration;

use tokio::sync::watch;

/// How long changes already sent may take to finish once a stop is requested; past it they are
/// abandoned (the next run observes whether they took effect).
pub const IN_FLIGHT_GRACE: Duration = Duration::from_secs(5);

/// The sending half: the front end calls [`Interrupter::interrupt`] from its signal handler.
#[derive(Debug)]
pub struct Interrupter(watch::Sender<Option<String>>);

/// The engine's half: whether, and why, a stop was requested. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Interrupt(Option<watch::Receiver<Option<String>>>);

/// A connected pair.
pub fn channel() -> (Interrupter, Interrupt) {
    let (tx, rx) = watch::channel(None);
    (Interrupter(tx), Interrupt(Some(rx)))
}

impl Interrupter {
    /// Requests a stop, naming why (`SIGINT`, `SIGTERM`). Later requests keep the first reason.
    pub fn interrupt(&self, why: impl Into<String>) {
        let why = why.into();
        self.0.send_if_modified(|current| {
            if current.is_none() {
                *current = Some(why);
                true
            } else {
                false
            }
        });
    }
}

impl Interrupt {
    /// One that never fires (benchmarks, nested runs).
    pub fn never() -> Self {
        Interrupt(None)
    }

    /// Why a stop was requested, if it was.
    pub fn reason(&self) -> Option<String> {
        self.0.as_ref().and_then(|rx| rx.borrow().clone())
    }

    /// Resolves when a stop is requested, with its reason; never, if the sender is gone without
    /// requesting one.
    pub async fn requested(&self) -> String {
        let Some(mut rx) = self.0.clone() else {
            return std::future::pending().await;
        };
        loop {
            if let Some(why) = rx.borrow_and_update().clone() {
                return why;
            }
            if rx.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

impl Default for Interrupt {
    fn default() -> Self {
        Interrupt::never()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_reason_is_kept_and_seen_by_every_clone() {
        let (tx, rx) = channel();
        let other = rx.clone();
        assert_eq!(rx.reason(), None);

        tx.interrupt("SIGTERM");
        tx.interrupt("SIGINT");

        assert_eq!(rx.requested().await, "SIGTERM");
        assert_eq!(other.reason().as_deref(), Some("SIGTERM"));
    }

    #[tokio::test(start_paused = true)]
    async fn never_stays_pending() {
        let never = Interrupt::never();
        let waited = tokio::time::timeout(Duration::from_secs(3600), never.requested()).await;
        assert!(waited.is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_interrupter_that_never_fired_is_not_a_stop() {
        let (tx, rx) = channel();
        drop(tx);
        let waited = tokio::time::timeout(Duration::from_secs(60), rx.requested()).await;
        assert!(waited.is_err());
    }
}
