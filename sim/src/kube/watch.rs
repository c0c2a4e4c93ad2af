//! Watches: a stream of newline-delimited JSON events
//! `{"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":{...}}` for one resource type,
//! optionally one namespace and selectors.
//!
//! Starting point, as the apiserver does it: no resourceVersion (or "0") sends the current
//! objects as synthetic ADDED events first; a resourceVersion replays the kept history after it,
//! or sends one ERROR event with a 410 Expired `Status` if that history is gone (clients relist);
//! `sendInitialEvents=true` sends the current objects then a BOOKMARK marked
//! `k8s.io/initial-events-end`. Live changes then come from the store's broadcast; a receiver
//! that lags behind it gets the same 410 ERROR and the stream ends. With selectors, an object
//! moving out of the selection is sent as DELETED and one moving in as ADDED.
//!
//! The subscription is taken under the store lock together with the snapshot or history, so no
//! change falls between them; the stream itself never touches the lock.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;
use hyper::body::Frame;
use serde_json::json;
use tokio::sync::broadcast;
use tokio::time::Instant;

use crate::kube::error::ApiError;
use crate::kube::resources::ResourceDef;
use crate::kube::selector::{FieldSelector, LabelSelector};
use crate::kube::store::{Change, ChangeKind, Store, Stored};

/// What a watch selects.
pub(crate) struct Filter {
    pub def: Arc<ResourceDef>,
    pub api_version: String,
    pub namespace: Option<String>,
    pub labels: LabelSelector,
    pub fields: FieldSelector,
}

impl Filter {
    fn selects(&self, ns: &str, name: &str, s: &Stored) -> bool {
        self.labels.matches(&s.labels) && self.fields.matches(|f| s.field(ns, name, f))
    }

    /// The event type to send for a change, if any.
    fn classify(&self, c: &Change) -> Option<&'static str> {
        let ev = &c.0;
        if ev.res != self.def.key {
            return None;
        }
        if self.namespace.as_deref().is_some_and(|ns| ns != ev.ns) {
            return None;
        }
        let now = self.selects(&ev.ns, &ev.name, &ev.object);
        match ev.kind {
            ChangeKind::Added => now.then_some("ADDED"),
            ChangeKind::Deleted => now.then_some("DELETED"),
            ChangeKind::Modified => {
                let before = ev
                    .old
                    .as_ref()
                    .is_some_and(|o| self.selects(&ev.ns, &ev.name, o));
                match (before, now) {
                    (true, true) => Some("MODIFIED"),
                    (false, true) => Some("ADDED"),
                    (true, false) => Some("DELETED"),
                    (false, false) => None,
                }
            }
        }
    }

    fn encode(&self, type_: &str, s: &Stored) -> Bytes {
        let mut out = Vec::with_capacity(s.raw.len() + 32);
        out.extend_from_slice(b"{\"type\":\"");
        out.extend_from_slice(type_.as_bytes());
        out.extend_from_slice(b"\",\"object\":");
        if s.api_version == self.api_version {
            out.extend_from_slice(s.raw.as_bytes());
        } else {
            let v = s.value_as(&self.api_version);
            out.extend_from_slice(
                serde_json::to_string(&v)
                    .expect("a Value always serialises")
                    .as_bytes(),
            );
        }
        out.extend_from_slice(b"}\n");
        Bytes::from(out)
    }
}

fn error_event(e: &ApiError) -> Bytes {
    let mut line = serde_json::to_vec(&json!({"type": "ERROR", "object": e.to_status()}))
        .expect("a Value always serialises");
    line.push(b'\n');
    Bytes::from(line)
}

/// Parameters of a watch request.
pub(crate) struct WatchParams {
    pub resource_version: Option<String>,
    pub send_initial_events: bool,
    pub timeout: Duration,
}

struct Running {
    filter: Filter,
    rx: Option<broadcast::Receiver<Change>>,
    pending: VecDeque<Bytes>,
    /// Changes up to this version were already sent (from the snapshot or history).
    sent_up_to: u64,
    deadline: Instant,
}

/// Starts a watch: the events to send first and the live subscription, taken atomically.
///
/// # Errors
/// `BadRequest` for a resourceVersion that is not a number.
pub(crate) fn start(
    store: &Store,
    filter: Filter,
    params: WatchParams,
) -> Result<impl Stream<Item = Result<Frame<Bytes>, Infallible>> + Send + use<>, ApiError> {
    let st = store.lock();
    let rx = st.subscribe();
    let mut pending = VecDeque::new();
    let rv_param = params
        .resource_version
        .as_deref()
        .filter(|v| !v.is_empty() && *v != "0");
    let mut alive = true;
    let sent_up_to = match rv_param {
        Some(v) if !params.send_initial_events => {
            let since: u64 = v
                .parse()
                .map_err(|_| ApiError::bad_request(format!("invalid resource version: {v}")))?;
            match st.history_since(since) {
                Ok(changes) => {
                    for c in &changes {
                        if let Some(t) = filter.classify(c) {
                            pending.push_back(filter.encode(t, &c.0.object));
                        }
                    }
                    st.rv.max(since)
                }
                Err(oldest) => {
                    pending.push_back(error_event(&ApiError::expired(since, oldest)));
                    alive = false;
                    st.rv
                }
            }
        }
        _ => {
            for ((ns, name), s) in st.scan(&filter.def.key, filter.namespace.as_deref(), None) {
                if filter.selects(ns, name, s) {
                    pending.push_back(filter.encode("ADDED", s));
                }
            }
            if params.send_initial_events {
                let bookmark = json!({
                    "type": "BOOKMARK",
                    "object": {
                        "kind": filter.def.kind.as_ref(),
                        "apiVersion": filter.api_version,
                        "metadata": {
                            "resourceVersion": st.rv.to_string(),
                            "annotations": {"k8s.io/initial-events-end": "true"},
                        },
                    },
                });
                let mut line = serde_json::to_vec(&bookmark).expect("a Value always serialises");
                line.push(b'\n');
                pending.push_back(Bytes::from(line));
            }
            st.rv
        }
    };
    drop(st);
    let running = Running {
        filter,
        rx: alive.then_some(rx),
        pending,
        sent_up_to,
        deadline: Instant::now() + params.timeout,
    };
    Ok(futures::stream::unfold(running, next_frame))
}

async fn next_frame(mut w: Running) -> Option<(Result<Frame<Bytes>, Infallible>, Running)> {
    loop {
        if let Some(b) = w.pending.pop_front() {
            return Some((Ok(Frame::data(b)), w));
        }
        let rx = w.rx.as_mut()?;
        let received = tokio::select! {
            r = rx.recv() => r,
            () = tokio::time::sleep_until(w.deadline) => return None,
        };
        match received {
            Ok(c) => {
                if c.resource_version() <= w.sent_up_to {
                    continue;
                }
                if let Some(t) = w.filter.classify(&c) {
                    let b = w.filter.encode(t, &c.0.object);
                    return Some((Ok(Frame::data(b)), w));
                }
            }
            Err(broadcast::error::RecvError::Lagged(_)) => {
                w.rx = None;
                let e = ApiError::expired(w.sent_up_to, w.sent_up_to);
                return Some((Ok(Frame::data(error_event(&e))), w));
            }
            Err(broadcast::error::RecvError::Closed) => return None,
        }
    }
}
