//! What a waiting phase wakes on: the run's AllWatcher, feeding the model's deltas through a
//! channel, and a signal from the Kubernetes watches of the phase.
//!
//! One AllWatcher serves the whole run. When its connection drops it is started again (with a
//! fresh picture, since deltas were lost); when the controller does not serve it, the run polls
//! `FullStatus` instead, as it did before there were watchers.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::juju::{self, AllWatcher, Delta};

/// Delta batches that may wait for the phase to take them.
const QUEUE: usize = 256;

/// How long stopping the watcher at the end of the run may take.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// What woke a waiting phase.
#[derive(Debug)]
pub(crate) enum Wake {
    /// The model changed.
    Deltas(Vec<Delta>),
    /// The AllWatcher stopped with this error: start another, or poll.
    WatcherLost(juju::Error),
    /// A watched Kubernetes object changed.
    Cluster,
    /// The poll interval passed (no watcher for that side).
    Poll,
    /// Nothing happened for a heartbeat.
    Quiet,
}

/// How the run learns of the model's changes.
#[derive(Debug, Default)]
pub(crate) enum ModelWatch {
    /// No watcher yet (or the last one was lost): start one at the next phase.
    #[default]
    Idle,
    /// An AllWatcher feeds deltas.
    Watching(Watcher),
    /// The controller has no AllWatcher: poll `FullStatus`.
    Polling,
}

/// A running AllWatcher and the task reading it.
#[derive(Debug)]
pub(crate) struct Watcher {
    watcher: Arc<AllWatcher>,
    news: mpsc::Receiver<Result<Vec<Delta>, juju::Error>>,
    /// The error that ended the watcher, when deltas came just before it.
    lost: Option<juju::Error>,
    task: JoinHandle<()>,
}

impl Watcher {
    /// Starts reading `watcher` in the background.
    pub fn start(watcher: AllWatcher) -> Self {
        let watcher = Arc::new(watcher);
        let (tx, news) = mpsc::channel(QUEUE);
        let reading = watcher.clone();
        let task = tokio::spawn(async move {
            loop {
                let next = reading.next().await;
                let failed = next.is_err();
                if tx.send(next).await.is_err() || failed {
                    return;
                }
            }
        });
        Self {
            watcher,
            news,
            lost: None,
            task,
        }
    }

    /// Drops the deltas received so far: a whole read is about to supersede them.
    pub fn discard_queued(&mut self) -> Option<juju::Error> {
        while let Ok(news) = self.news.try_recv() {
            if let Err(e) = news {
                return Some(e);
            }
        }
        None
    }

    /// The next news: deltas (with every batch already queued behind them), or the error that
    /// ended the watcher.
    pub async fn next(&mut self) -> Wake {
        if let Some(e) = self.lost.take() {
            return Wake::WatcherLost(e);
        }
        match self.news.recv().await {
            Some(Ok(mut deltas)) => {
                while let Ok(more) = self.news.try_recv() {
                    match more {
                        Ok(more) => deltas.extend(more),
                        // The deltas first; the loss is the next wake.
                        Err(e) => {
                            self.lost = Some(e);
                            break;
                        }
                    }
                }
                Wake::Deltas(deltas)
            }
            Some(Err(e)) => Wake::WatcherLost(e),
            None => Wake::WatcherLost(juju::Error::Disconnected("the AllWatcher ended".into())),
        }
    }

    /// Stops the watcher (best effort, briefly).
    pub async fn stop(self) {
        self.task.abort();
        let _ = tokio::time::timeout(STOP_GRACE, self.watcher.stop()).await;
    }
}
