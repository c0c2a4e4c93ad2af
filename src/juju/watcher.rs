//! The AllWatcher: the model's changes as they happen, which is how Juju's own tools wait
//! (`juju wait-for`, python-libjuju's model; juju-api.md §5(h)).
//!
//! `Client.WatchAll` starts a watcher on the current connection; `AllWatcher.Next` (addressed to
//! the watcher's id) blocks until something changed and returns [`Delta`]s, the first call
//! returning the whole model; `AllWatcher.Stop` ends it. A watcher lives and dies with its
//! connection: when the connection drops, `next` fails with the connection's retryable error and
//! the caller starts a new watcher (which reconnects) and re-reads the model, since deltas sent
//! in between are lost.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

use super::client::{Client, Connection, failure_error};
use super::delta::{self, Delta};
use super::error::{Error, Result};
use super::login::Facade;
use super::rpc::Target;

/// `Next` waits as long as the model is quiet: a dead connection is noticed by the pinger,
/// which ends it and so fails the call; this bound only keeps a lost reply from waiting forever.
const NEXT_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// A started AllWatcher, bound to the connection it was started on.
pub struct AllWatcher {
    connection: Arc<Connection>,
    version: u32,
    id: String,
    call_timeout: Duration,
}

impl std::fmt::Debug for AllWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AllWatcher")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct WatcherId {
    #[serde(rename = "watcher-id")]
    watcher_id: String,
}

#[derive(Deserialize)]
struct NextResults {
    #[serde(default)]
    deltas: Vec<Value>,
}

impl Client {
    /// Starts an AllWatcher (`Client.WatchAll`), reconnecting first if the connection dropped.
    ///
    /// # Errors
    /// [`Error::FacadeMissing`] when the controller does not serve AllWatcher 3 (the caller then
    /// polls), and the transport's and the call's errors.
    pub async fn watch_all(&self) -> Result<AllWatcher> {
        let connection = self.connection().await?;
        let Some(version) = connection.facades.optional(Facade::AllWatcher) else {
            return Err(Error::FacadeMissing {
                facade: Facade::AllWatcher.name().into(),
                supported: "3".into(),
                offered: "none".into(),
            });
        };
        let client_version = connection.facades.version(Facade::Client);
        let answer = connection
            .rpc
            .send(
                Target::method(Facade::Client.name(), client_version, "WatchAll"),
                json!({}),
                self.call_timeout(),
            )
            .await
            .map_err(|f| failure_error(Facade::Client, "WatchAll", f))?;
        let id: WatcherId = decode(Facade::Client, "WatchAll", answer)?;
        Ok(AllWatcher {
            connection,
            version,
            id: id.watcher_id,
            call_timeout: self.call_timeout(),
        })
    }
}

impl AllWatcher {
    /// The next changes; waits until there are some. The first call returns the whole model.
    ///
    /// # Errors
    /// [`Error::Disconnected`] when the connection dropped (start a new watcher), a call error
    /// (`watcher was stopped`, `unknown watcher id`), or [`Error::Decode`] for deltas that are
    /// not Juju's.
    pub async fn next(&self) -> Result<Vec<Delta>> {
        let answer = self
            .connection
            .rpc
            .send(
                Target::object(Facade::AllWatcher.name(), self.version, &self.id, "Next"),
                json!({}),
                NEXT_TIMEOUT,
            )
            .await
            .map_err(|f| failure_error(Facade::AllWatcher, "Next", f))?;
        let results: NextResults = decode(Facade::AllWatcher, "Next", answer)?;
        delta::decode(&results.deltas).map_err(|message| Error::Decode {
            facade: Facade::AllWatcher.name().into(),
            method: "Next".into(),
            message,
        })
    }

    /// Ends the watcher. Best effort: a watcher whose connection is gone is gone too.
    pub async fn stop(&self) {
        let stop = Target::object(Facade::AllWatcher.name(), self.version, &self.id, "Stop");
        if let Err(e) = self
            .connection
            .rpc
            .send(stop, json!({}), self.call_timeout)
            .await
        {
            tracing::debug!("stopping AllWatcher {}: {e:?}", self.id);
        }
    }
}

fn decode<T: serde::de::DeserializeOwned>(facade: Facade, method: &str, value: Value) -> Result<T> {
    serde_json::from_value(value).map_err(|e| Error::Decode {
        facade: facade.name().into(),
        method: method.into(),
        message: e.to_string(),
    })
}
