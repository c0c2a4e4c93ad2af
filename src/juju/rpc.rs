//! Juju's JSON RPC over one websocket: a task owns the socket, callers wait on oneshots.
//!
//! Modelled on jsonrpsee's async client (STYLE.md): one task owns the websocket; callers reach it
//! over a bounded channel, each call with a oneshot for its reply and its own timeout. The task
//! numbers requests from 1 (Juju reads id 0 as its legacy format), keeps a pending map id →
//! reply sender, and matches replies by `request-id` because the controller answers concurrently,
//! out of order. A reply to an id it never sent is a protocol error: logged, and the connection is
//! ended with it as the cause, as jsonrpsee does. When the socket dies every pending and queued
//! call fails with [`Failure::Disconnected`] carrying the cause, which is kept for later callers.
//! A sibling task pings (`Pinger.Ping`) and ends the connection when a ping goes unanswered.
//!
//! It knows the envelope ([`super::wire::Envelope`], [`super::wire::Reply`]) and nothing of
//! facades' meanings or login. Never log `params`: the login request carries the password.
//! Start at [`Rpc::start`] and [`Rpc::call`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

use super::wire::{Envelope, Reply};

/// Calls that may wait in the queue to the socket task before callers feel back-pressure.
const QUEUE_DEPTH: usize = 64;

/// Largest message and frame accepted, in bytes: a CKF model's FullStatus is large, and
/// python-libjuju allows the same.
pub const MAX_MESSAGE_BYTES: usize = 64 << 20;

/// How long a clean close waits for the controller to answer the close frame.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Cause recorded when the client itself closed the connection.
pub const CLOSED_BY_CLIENT: &str = "connection closed by the client";

/// An error the controller sent in the envelope (`error`, `error-code`, `error-info`).
#[derive(Debug, Clone, PartialEq)]
pub struct ServerError {
    /// Juju's message.
    pub message: String,
    /// Juju's code, if any.
    pub code: Option<String>,
    /// `error-info`, if any.
    pub info: Option<Value>,
}

/// Why a call produced no result.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// The controller answered with an error.
    Server(ServerError),
    /// No answer within the call's timeout.
    Timeout(Duration),
    /// The connection is gone; the cause says why.
    Disconnected(Arc<str>),
}

type ReplySender = oneshot::Sender<Result<Value, Failure>>;

enum Command {
    Call {
        target: Target,
        params: Value,
        reply: ReplySender,
    },
}

/// What a request addresses: a facade at a version, the object (a watcher's id; empty for
/// facade methods) and the method.
#[derive(Debug, Clone)]
pub struct Target {
    /// Facade name.
    pub facade: String,
    /// Facade version.
    pub version: u32,
    /// Object id, or empty.
    pub id: String,
    /// Method name.
    pub method: String,
}

impl Target {
    /// A facade method.
    pub fn method(facade: &str, version: u32, method: &str) -> Self {
        Self {
            facade: facade.to_owned(),
            version,
            id: String::new(),
            method: method.to_owned(),
        }
    }

    /// A method of the object `id` (e.g. `AllWatcher.Next` on a watcher).
    pub fn object(facade: &str, version: u32, id: &str, method: &str) -> Self {
        Self {
            id: id.to_owned(),
            ..Self::method(facade, version, method)
        }
    }
}

enum Control {
    /// End the connection; `None` is a clean close by the client.
    End(Option<Arc<str>>),
}

struct Pending {
    reply: ReplySender,
    /// `Facade.Method`, for logs.
    label: String,
}

/// The caller's side of one connection.
pub struct Rpc {
    commands: mpsc::Sender<Command>,
    control: mpsc::UnboundedSender<Control>,
    /// Why the connection ended; set once, by the socket task, before it fails the pending calls.
    ended: Arc<OnceLock<Arc<str>>>,
    task: Mutex<Option<JoinHandle<()>>>,
    pinger: Mutex<Option<JoinHandle<()>>>,
}

impl Rpc {
    /// Spawns the task that owns `ws`.
    pub fn start<S>(ws: WebSocketStream<S>) -> Self
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (commands, command_rx) = mpsc::channel(QUEUE_DEPTH);
        let (control, control_rx) = mpsc::unbounded_channel();
        let ended = Arc::new(OnceLock::new());
        let task = tokio::spawn(run(ws, command_rx, control_rx, ended.clone()));
        Self {
            commands,
            control,
            ended,
            task: Mutex::new(Some(task)),
            pinger: Mutex::new(None),
        }
    }

    /// Sends one request and waits for its reply, at most `timeout` (queueing included).
    ///
    /// # Errors
    /// [`Failure::Server`] when the controller refuses, [`Failure::Timeout`], or
    /// [`Failure::Disconnected`] with the connection's cause.
    pub async fn call(
        &self,
        facade: &str,
        version: u32,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<Value, Failure> {
        self.send(Target::method(facade, version, method), params, timeout)
            .await
    }

    /// Sends one request to `target` and waits for its reply, at most `timeout`.
    ///
    /// # Errors
    /// As [`Rpc::call`].
    pub async fn send(
        &self,
        target: Target,
        params: Value,
        timeout: Duration,
    ) -> Result<Value, Failure> {
        call_on(&self.commands, &self.ended, target, params, timeout).await
    }

    /// Whether the connection is still up.
    pub fn is_open(&self) -> bool {
        self.ended.get().is_none() && !self.commands.is_closed()
    }

    /// Why the connection ended, once it has.
    pub fn end_cause(&self) -> Option<Arc<str>> {
        self.ended.get().cloned()
    }

    /// Starts pinging with `Pinger.Ping` at `version` every `interval`; a ping without an answer
    /// within `timeout` (or refused) ends the connection, so the next call reconnects.
    pub fn start_pinger(&self, version: u32, interval: Duration, timeout: Duration) {
        let commands = self.commands.downgrade();
        let control = self.control.downgrade();
        let ended = self.ended.clone();
        let pinger = tokio::spawn(async move {
            let start = tokio::time::Instant::now() + interval;
            let mut ticks = tokio::time::interval_at(start, interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                // A weak sender: the pinger alone must not keep the connection open.
                let Some(commands) = commands.upgrade() else {
                    return;
                };
                let outcome = call_on(
                    &commands,
                    &ended,
                    Target::method("Pinger", version, "Ping"),
                    Value::Object(Default::default()),
                    timeout,
                )
                .await;
                drop(commands);
                let cause = match outcome {
                    Ok(_) => continue,
                    Err(Failure::Disconnected(_)) => return,
                    Err(Failure::Timeout(t)) => {
                        format!("no answer to Pinger.Ping within {} s", t.as_secs())
                    }
                    Err(Failure::Server(e)) => format!("Pinger.Ping refused: {}", e.message),
                };
                tracing::warn!("{cause}; closing the connection");
                if let Some(control) = control.upgrade() {
                    let _ = control.send(Control::End(Some(cause.into())));
                }
                return;
            }
        });
        let previous = self
            .pinger
            .lock()
            .expect("pinger lock is never held across a panic")
            .replace(pinger);
        if let Some(previous) = previous {
            previous.abort();
        }
    }

    /// Closes the websocket cleanly and waits for the socket task to finish.
    pub async fn close(&self) {
        let _ = self.control.send(Control::End(None));
        let task = self
            .task
            .lock()
            .expect("task lock is never held across a panic")
            .take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

impl Drop for Rpc {
    fn drop(&mut self) {
        // The socket task sees its channels close and closes the websocket itself.
        if let Ok(mut pinger) = self.pinger.lock()
            && let Some(pinger) = pinger.take()
        {
            pinger.abort();
        }
    }
}

async fn call_on(
    commands: &mpsc::Sender<Command>,
    ended: &OnceLock<Arc<str>>,
    target: Target,
    params: Value,
    timeout: Duration,
) -> Result<Value, Failure> {
    let cause = || {
        Failure::Disconnected(
            ended
                .get()
                .cloned()
                .unwrap_or_else(|| "the connection task ended".into()),
        )
    };
    let (reply, answer) = oneshot::channel();
    let command = Command::Call {
        target,
        params,
        reply,
    };
    let exchange = async {
        commands.send(command).await.map_err(|_| cause())?;
        answer.await.map_err(|_| cause())?
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .unwrap_or(Err(Failure::Timeout(timeout)))
}

async fn run<S>(
    mut ws: WebSocketStream<S>,
    mut commands: mpsc::Receiver<Command>,
    mut control: mpsc::UnboundedReceiver<Control>,
    ended: Arc<OnceLock<Arc<str>>>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut pending: HashMap<u64, Pending> = HashMap::new();
    let mut next_id: u64 = 1;
    let cause: Arc<str> = loop {
        tokio::select! {
            // Control first: an abort must win over a busy socket.
            biased;
            end = control.recv() => {
                match end {
                    Some(Control::End(Some(cause))) => {
                        let _ = ws.close(None).await;
                        break cause;
                    }
                    Some(Control::End(None)) | None => {
                        close_cleanly(&mut ws).await;
                        break CLOSED_BY_CLIENT.into();
                    }
                }
            }
            message = ws.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    if let Err(cause) = deliver(text.as_str(), &mut pending) {
                        tracing::error!("{cause}");
                        let _ = ws.close(None).await;
                        break cause.into();
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    let reason = frame
                        .map(|f| f.reason.to_string())
                        .filter(|r| !r.is_empty())
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default();
                    break format!("the controller closed the connection{reason}").into();
                }
                Some(Ok(Message::Binary(_))) => {
                    let cause = "protocol error: binary frame from the controller";
                    tracing::error!("{cause}");
                    let _ = ws.close(None).await;
                    break cause.into();
                }
                // tungstenite answers pings itself.
                Some(Ok(_)) => {}
                Some(Err(e)) => break format!("websocket error: {e}").into(),
                None => break "the controller closed the connection".into(),
            },
            command = commands.recv() => match command {
                Some(Command::Call { target, params, reply }) => {
                    let Target { facade, version, id: object, method } = target;
                    let id = next_id;
                    next_id = next_id.wrapping_add(1).max(1);
                    let envelope = Envelope {
                        request_id: id,
                        facade: &facade,
                        version,
                        id: &object,
                        request: &method,
                        params: &params,
                    };
                    let text = match serde_json::to_string(&envelope) {
                        Ok(text) => text,
                        Err(e) => {
                            let _ = reply.send(Err(Failure::Disconnected(
                                format!("cannot encode {facade}.{method}: {e}").into(),
                            )));
                            continue;
                        }
                    };
                    tracing::trace!(id, "request {facade}({version}).{method}");
                    pending.insert(id, Pending { reply, label: format!("{facade}.{method}") });
                    if let Err(e) = ws.send(Message::text(text)).await {
                        break format!("cannot send to the controller: {e}").into();
                    }
                }
                None => {
                    close_cleanly(&mut ws).await;
                    break CLOSED_BY_CLIENT.into();
                }
            },
        }
    };
    if &*cause != CLOSED_BY_CLIENT {
        tracing::debug!("juju connection ended: {cause}");
    }
    let _ = ended.set(cause.clone());
    commands.close();
    control.close();
    for (_, call) in pending.drain() {
        let _ = call.reply.send(Err(Failure::Disconnected(cause.clone())));
    }
    while let Ok(Command::Call { reply, .. }) = commands.try_recv() {
        let _ = reply.send(Err(Failure::Disconnected(cause.clone())));
    }
}

/// Sends a close frame and waits, briefly, for the controller's answer, which completes the
/// websocket close handshake.
async fn close_cleanly<S>(ws: &mut WebSocketStream<S>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    if ws.close(None).await.is_err() {
        return;
    }
    let _ = tokio::time::timeout(CLOSE_GRACE, async {
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
}

/// Hands one reply frame to its caller.
///
/// # Errors
/// A frame that is not a reply, or a reply to an id that was never sent (or already answered):
/// a protocol error that ends the connection.
fn deliver(text: &str, pending: &mut HashMap<u64, Pending>) -> Result<(), String> {
    let reply: Reply = serde_json::from_str(text)
        .map_err(|e| format!("protocol error: undecodable frame from the controller: {e}"))?;
    if reply.request_id == 0 {
        return Err("protocol error: reply without a request id".into());
    }
    let Some(call) = pending.remove(&reply.request_id) else {
        return Err(format!(
            "protocol error: reply to unknown request id {}",
            reply.request_id
        ));
    };
    let outcome = if reply.error.is_empty() && reply.error_code.is_empty() {
        Ok(reply
            .response
            .unwrap_or_else(|| Value::Object(Default::default())))
    } else {
        let code = Some(reply.error_code).filter(|c| !c.is_empty());
        let message = if reply.error.is_empty() {
            code.clone().unwrap_or_default()
        } else {
            reply.error
        };
        Err(Failure::Server(ServerError {
            message,
            code,
            info: reply.error_info,
        }))
    };
    tracing::trace!(id = reply.request_id, "reply to {}", call.label);
    if call.reply.send(outcome).is_err() {
        tracing::debug!(
            id = reply.request_id,
            "reply to {} arrived after its caller gave up",
            call.label
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tokio::io::DuplexStream;
    use tokio_tungstenite::tungstenite::protocol::Role;

    const WAIT: Duration = Duration::from_secs(5);

    /// A controller end of an in-memory websocket, driven by the test.
    struct Peer {
        ws: WebSocketStream<DuplexStream>,
    }

    impl Peer {
        async fn next_request(&mut self) -> Value {
            self.next_request_within(WAIT).await
        }

        async fn next_request_within(&mut self, wait: Duration) -> Value {
            let message = tokio::time::timeout(wait, self.ws.next())
                .await
                .expect("a request within the wait")
                .expect("socket open")
                .expect("readable");
            serde_json::from_str(message.to_text().expect("text frame")).expect("json")
        }

        async fn send(&mut self, value: Value) {
            self.ws
                .send(Message::text(value.to_string()))
                .await
                .expect("peer sends");
        }
    }

    async fn pair() -> (Rpc, Peer) {
        let (client, server) = tokio::io::duplex(1 << 20);
        let client = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
        let server = WebSocketStream::from_raw_socket(server, Role::Server, None).await;
        (Rpc::start(client), Peer { ws: server })
    }

    fn empty() -> Value {
        json!({})
    }

    #[tokio::test]
    async fn request_ids_start_at_one_and_increase() {
        let (rpc, mut peer) = pair().await;
        let first = tokio::spawn(async move {
            let a = rpc.call("Client", 8, "FullStatus", empty(), WAIT).await;
            let b = rpc.call("Client", 8, "FullStatus", empty(), WAIT).await;
            (a, b)
        });
        let one = peer.next_request().await;
        assert_eq!(one["request-id"], 1);
        assert_eq!(one["type"], "Client");
        assert_eq!(one["version"], 8);
        assert_eq!(one["request"], "FullStatus");
        peer.send(json!({"request-id": 1, "response": {"n": 1}}))
            .await;
        let two = peer.next_request().await;
        assert_eq!(two["request-id"], 2);
        peer.send(json!({"request-id": 2, "response": {"n": 2}}))
            .await;
        let (a, b) = tokio::time::timeout(WAIT, first)
            .await
            .expect("calls finish")
            .expect("task");
        assert_eq!(a, Ok(json!({"n": 1})));
        assert_eq!(b, Ok(json!({"n": 2})));
    }

    #[tokio::test]
    async fn out_of_order_replies_reach_their_callers() {
        let (rpc, mut peer) = pair().await;
        let rpc = Arc::new(rpc);
        let (a, b) = (rpc.clone(), rpc.clone());
        let slow =
            tokio::spawn(async move { a.call("Client", 8, "FullStatus", empty(), WAIT).await });
        let first = peer.next_request().await;
        let fast =
            tokio::spawn(async move { b.call("Application", 20, "Get", empty(), WAIT).await });
        let second = peer.next_request().await;
        peer.send(json!({"request-id": second["request-id"], "response": {"who": "get"}}))
            .await;
        peer.send(json!({"request-id": first["request-id"], "response": {"who": "status"}}))
            .await;
        let fast = tokio::time::timeout(WAIT, fast)
            .await
            .expect("done")
            .expect("task");
        let slow = tokio::time::timeout(WAIT, slow)
            .await
            .expect("done")
            .expect("task");
        assert_eq!(fast, Ok(json!({"who": "get"})));
        assert_eq!(slow, Ok(json!({"who": "status"})));
    }

    #[tokio::test]
    async fn error_envelope_becomes_a_server_failure_with_code_and_info() {
        let (rpc, mut peer) = pair().await;
        let call =
            tokio::spawn(async move { rpc.call("Application", 20, "Get", empty(), WAIT).await });
        let request = peer.next_request().await;
        peer.send(json!({"request-id": request["request-id"], "response": {},
            "error": "application \"nope\" not found", "error-code": "not found",
            "error-info": {"k": "v"}}))
            .await;
        let outcome = tokio::time::timeout(WAIT, call)
            .await
            .expect("done")
            .expect("task");
        assert_eq!(
            outcome,
            Err(Failure::Server(ServerError {
                message: "application \"nope\" not found".into(),
                code: Some("not found".into()),
                info: Some(json!({"k": "v"})),
            }))
        );
    }

    #[tokio::test]
    async fn reply_to_an_unknown_id_ends_the_connection_with_that_cause() {
        let (rpc, mut peer) = pair().await;
        let rpc = Arc::new(rpc);
        let caller = rpc.clone();
        let call =
            tokio::spawn(
                async move { caller.call("Client", 8, "FullStatus", empty(), WAIT).await },
            );
        let _ = peer.next_request().await;
        peer.send(json!({"request-id": 999, "response": {}})).await;
        let outcome = tokio::time::timeout(WAIT, call)
            .await
            .expect("done")
            .expect("task");
        let Err(Failure::Disconnected(cause)) = outcome else {
            panic!("expected a disconnection, got {outcome:?}");
        };
        assert!(cause.contains("unknown request id 999"), "{cause}");
        assert!(!rpc.is_open());
        assert_eq!(rpc.end_cause().as_deref(), Some(&*cause));
    }

    #[tokio::test]
    async fn socket_death_fails_every_pending_call_and_later_calls_with_the_cause() {
        let (rpc, mut peer) = pair().await;
        let rpc = Arc::new(rpc);
        let (a, b) = (rpc.clone(), rpc.clone());
        let one =
            tokio::spawn(async move { a.call("Client", 8, "FullStatus", empty(), WAIT).await });
        let two =
            tokio::spawn(async move { b.call("Application", 20, "Get", empty(), WAIT).await });
        let _ = peer.next_request().await;
        let _ = peer.next_request().await;
        drop(peer);
        for call in [one, two] {
            let outcome = tokio::time::timeout(WAIT, call)
                .await
                .expect("done")
                .expect("task");
            assert!(
                matches!(outcome, Err(Failure::Disconnected(_))),
                "{outcome:?}"
            );
        }
        let later = rpc.call("Client", 8, "FullStatus", empty(), WAIT).await;
        assert!(matches!(later, Err(Failure::Disconnected(_))), "{later:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn unanswered_call_times_out() {
        let (rpc, mut peer) = pair().await;
        let call = tokio::spawn(async move {
            rpc.call("Client", 8, "FullStatus", empty(), Duration::from_secs(3))
                .await
        });
        let _ = peer.next_request().await;
        let outcome = tokio::time::timeout(WAIT, call)
            .await
            .expect("done")
            .expect("task");
        assert_eq!(outcome, Err(Failure::Timeout(Duration::from_secs(3))));
    }

    #[tokio::test]
    async fn late_reply_after_a_timeout_is_not_a_protocol_error() {
        let (rpc, mut peer) = pair().await;
        let timed_out = rpc
            .call("Client", 8, "FullStatus", empty(), Duration::from_millis(1))
            .await;
        assert!(matches!(timed_out, Err(Failure::Timeout(_))));
        let late = peer.next_request().await;
        peer.send(json!({"request-id": late["request-id"], "response": {}}))
            .await;
        let rpc = Arc::new(rpc);
        let caller = rpc.clone();
        let next =
            tokio::spawn(
                async move { caller.call("Client", 8, "FullStatus", empty(), WAIT).await },
            );
        let request = peer.next_request().await;
        peer.send(json!({"request-id": request["request-id"], "response": {"ok": true}}))
            .await;
        let outcome = tokio::time::timeout(WAIT, next)
            .await
            .expect("done")
            .expect("task");
        assert_eq!(outcome, Ok(json!({"ok": true})));
        assert!(rpc.is_open());
    }

    #[tokio::test(start_paused = true)]
    async fn pinger_pings_and_an_unanswered_ping_ends_the_connection() {
        // Paused time: waits must outlast the ping interval, or they would fire first.
        const LONG: Duration = Duration::from_secs(3600);
        let (rpc, mut peer) = pair().await;
        rpc.start_pinger(1, Duration::from_secs(60), Duration::from_secs(30));
        let ping = peer.next_request_within(LONG).await;
        assert_eq!(ping["type"], "Pinger");
        assert_eq!(ping["version"], 1);
        assert_eq!(ping["request"], "Ping");
        assert_eq!(ping["params"], json!({}));
        peer.send(json!({"request-id": ping["request-id"], "response": {}}))
            .await;
        let rpc = Arc::new(rpc);
        let caller = rpc.clone();
        let call =
            tokio::spawn(
                async move { caller.call("Client", 8, "FullStatus", empty(), LONG).await },
            );
        let status = peer.next_request_within(LONG).await;
        assert_eq!(status["request"], "FullStatus");
        let outcome = tokio::time::timeout(LONG, call)
            .await
            .expect("done")
            .expect("task");
        let Err(Failure::Disconnected(cause)) = outcome else {
            panic!("expected a disconnection, got {outcome:?}");
        };
        assert!(cause.contains("Pinger.Ping"), "{cause}");
    }

    #[tokio::test]
    async fn close_sends_a_close_frame_and_fails_later_calls() {
        let (rpc, mut peer) = pair().await;
        // The peer reads on: tungstenite answers the close frame, completing the handshake.
        let peer_saw = tokio::spawn(async move {
            let mut frames = Vec::new();
            while let Some(Ok(frame)) = peer.ws.next().await {
                frames.push(frame);
            }
            frames
        });

        tokio::time::timeout(WAIT, rpc.close())
            .await
            .expect("closes");

        let frames = tokio::time::timeout(WAIT, peer_saw)
            .await
            .expect("peer done")
            .expect("task");
        assert!(
            matches!(frames.as_slice(), [Message::Close(_)]),
            "{frames:?}"
        );
        let later = rpc.call("Client", 8, "FullStatus", empty(), WAIT).await;
        assert_eq!(later, Err(Failure::Disconnected(CLOSED_BY_CLIENT.into())));
    }

    #[tokio::test]
    async fn dropping_the_rpc_closes_the_socket() {
        let (rpc, mut peer) = pair().await;
        drop(rpc);
        let frame = tokio::time::timeout(WAIT, peer.ws.next())
            .await
            .expect("a frame");
        assert!(matches!(frame, Some(Ok(Message::Close(_)))), "{frame:?}");
    }
}
