//! One websocket connection: the JSON-RPC envelope and the order of checks every call passes.
//!
//! A reader loop takes one JSON object per message, spawns a task per request, and a writer task
//! sends replies as they finish (out of order when a call is slow). Order of checks for a call:
//! unknown model → version 0 → Admin (login) → not logged in → controller-only connection →
//! facade/version served → method implemented → schema check of params → write permission →
//! injected failure → run → schema check of the result → injected reply delay.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use futures::{SinkExt, StreamExt};
use serde_json::{Map, Value, json};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::schema::Schema;
use super::{MAX_FRAME_SIZE, allwatcher, application, charms, client, facades, login};
use crate::model::{Access, ApiError, Direction, Model, SchemaViolation, code};

/// What the URL path asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// `/model/<uuid>/api` with this model's uuid.
    Model,
    /// `/model/<uuid>/api` with another uuid.
    UnknownModel(String),
    /// `/api` or `/`.
    Controller,
}

/// Login state of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LoginState {
    Anonymous,
    InProgress,
    User { name: String, access: Access },
}

/// Everything a call on one connection may need.
pub(crate) struct Conn {
    pub model: Model,
    pub route: Route,
    pub login: Mutex<LoginState>,
    pub server_addr: SocketAddr,
    /// AllWatchers started on this connection (their ids are per connection).
    pub watchers: Mutex<allwatcher::Watchers>,
}

impl Conn {
    pub fn login_state(&self) -> LoginState {
        self.login.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn set_login(&self, state: LoginState) {
        *self.login.lock().unwrap_or_else(|e| e.into_inner()) = state;
    }

    fn watchers(&self) -> std::sync::MutexGuard<'_, allwatcher::Watchers> {
        self.watchers.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A decoded request envelope.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub request_id: u64,
    pub facade: String,
    pub version: u32,
    /// The object addressed (a watcher id), empty for facade methods.
    pub id: String,
    pub method: String,
    pub params: Value,
}

impl Call {
    pub fn label(&self) -> String {
        format!("{}.{}", self.facade, self.method)
    }

    pub fn not_implemented(&self) -> ApiError {
        ApiError::new(
            code::NOT_IMPLEMENTED,
            format!(
                "no such request - method {}({}).{} is not implemented",
                self.facade, self.version, self.method
            ),
        )
    }

    pub fn unknown_version(&self) -> ApiError {
        ApiError::new(
            code::NOT_IMPLEMENTED,
            format!(
                "unknown version ({}) of interface {:?}",
                self.version, self.facade
            ),
        )
    }
}

fn route_for(path: &str, uuid: &str) -> Option<Route> {
    match path {
        "/" | "/api" => Some(Route::Controller),
        _ => {
            let rest = path.strip_prefix("/model/")?;
            let (id, tail) = rest.split_once('/')?;
            (tail == "api" && !id.is_empty()).then(|| {
                if id == uuid {
                    Route::Model
                } else {
                    Route::UnknownModel(id.to_string())
                }
            })
        }
    }
}

/// Serves one TCP connection until it closes.
pub(crate) async fn run(
    model: Model,
    acceptor: TlsAcceptor,
    stream: TcpStream,
    server_addr: SocketAddr,
) {
    let tls = match acceptor.accept(stream).await {
        Ok(tls) => tls,
        Err(e) => {
            tracing::debug!("juju twin: TLS handshake failed: {e}");
            return;
        }
    };
    let uuid = model.uuid().to_string();
    let mut route = None;
    // The error type is tungstenite's; its size is not ours to choose.
    #[allow(clippy::result_large_err)]
    let callback = |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
        match route_for(req.uri().path(), &uuid) {
            Some(r) => {
                route = Some(r);
                Ok(resp)
            }
            None => {
                let mut err = ErrorResponse::new(Some("not found".into()));
                *err.status_mut() = StatusCode::NOT_FOUND;
                Err(err)
            }
        }
    };
    let mut config = WebSocketConfig::default();
    config.max_message_size = Some(MAX_FRAME_SIZE);
    config.max_frame_size = Some(MAX_FRAME_SIZE);
    let ws =
        match tokio_tungstenite::accept_hdr_async_with_config(tls, callback, Some(config)).await {
            Ok(ws) => ws,
            Err(e) => {
                tracing::debug!("juju twin: websocket handshake failed: {e}");
                return;
            }
        };
    let Some(route) = route else { return };
    let conn = Arc::new(Conn {
        model,
        route,
        login: Mutex::new(LoginState::Anonymous),
        server_addr,
        watchers: Mutex::new(allwatcher::Watchers::default()),
    });
    let (mut sink, mut stream) = ws.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Value>();
    let writer = tokio::spawn(async move {
        while let Some(reply) = rx.recv().await {
            if sink.send(Message::text(reply.to_string())).await.is_err() {
                return;
            }
        }
        // Completes the close handshake the client started (or starts one).
        let _ = sink.close().await;
    });
    let mut abrupt = false;
    // Request tasks live here so they die with the connection.
    let mut calls = JoinSet::new();
    while let Some(message) = stream.next().await {
        let text = match message {
            Ok(Message::Text(t)) => t.to_string(),
            Ok(Message::Binary(b)) => String::from_utf8_lossy(&b).into_owned(),
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(_) => continue,
        };
        let index = conn.model.count_request();
        if conn.model.shared.faults().take_drop(index) {
            tracing::debug!("juju twin: dropping the connection at request {index} (fault)");
            abrupt = true;
            break;
        }
        let Ok(value) = serde_json::from_str::<Value>(&text) else {
            // Juju's codec gives up on the connection when a message is not JSON.
            break;
        };
        let tx = tx.clone();
        let conn = conn.clone();
        calls.spawn(async move {
            let (reply, twin_bug) = handle(&conn, value).await;
            let _ = tx.send(reply);
            if let Some(bug) = twin_bug {
                // Replied first so the client does not hang; then fail loudly in debug builds.
                if cfg!(debug_assertions) {
                    panic!("juju twin sent a response that breaks the schema: {bug}");
                }
            }
        });
        while calls.try_join_next().is_some() {}
    }
    calls.shutdown().await;
    drop(tx);
    if abrupt {
        // No reply and no close frame: the TCP connection just goes away.
        writer.abort();
    } else if tokio::time::timeout(CLOSE_GRACE, writer).await.is_err() {
        tracing::debug!("juju twin: client did not finish the close handshake");
    }
}

/// How long a closing connection may take to flush its close frame.
const CLOSE_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// Handles one message: returns the reply envelope and, if the twin broke the schema, what.
async fn handle(conn: &Conn, value: Value) -> (Value, Option<SchemaViolation>) {
    let call = match decode(&value) {
        Ok(call) => call,
        Err((request_id, path, what)) => {
            let violation = SchemaViolation {
                direction: Direction::Request,
                facade: String::new(),
                version: 0,
                method: String::new(),
                path: path.clone(),
                what: what.clone(),
            };
            conn.model.record_violation(violation);
            let err =
                ApiError::bad_request(format!("bad request: schema violation: {path}: {what}"));
            return (envelope(request_id, Err(err)), None);
        }
    };
    conn.model.count_call(&call.label(), &call.params);
    let (result, twin_bug) = dispatch(conn, &call).await;
    let delay = conn
        .model
        .shared
        .faults()
        .delays
        .get(&call.label())
        .copied();
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    (envelope(call.request_id, result), twin_bug)
}

/// Reads the envelope (juju-api.md §2.1). Unknown keys and a zero request-id are client bugs.
fn decode(value: &Value) -> Result<Call, (u64, String, String)> {
    let Value::Object(map) = value else {
        return Err((0, "message".into(), "expected object".into()));
    };
    let request_id = map.get("request-id").and_then(Value::as_u64).unwrap_or(0);
    for key in map.keys() {
        if !matches!(
            key.as_str(),
            "request-id" | "type" | "version" | "id" | "request" | "params"
        ) {
            return Err((request_id, key.clone(), "unknown key".into()));
        }
    }
    if request_id == 0 {
        return Err((
            0,
            "request-id".into(),
            "must be a non-zero integer (0 selects Juju's legacy v0 format)".into(),
        ));
    }
    let text = |key: &str| -> Result<String, (u64, String, String)> {
        match map.get(key) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err((request_id, key.into(), "expected string".into())),
        }
    };
    let version = match map.get("version") {
        None | Some(Value::Null) => 0,
        Some(v) => v.as_u64().and_then(|v| u32::try_from(v).ok()).ok_or((
            request_id,
            "version".into(),
            "expected integer".into(),
        ))?,
    };
    let params = match map.get("params") {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(p) => p.clone(),
    };
    Ok(Call {
        request_id,
        facade: text("type")?,
        version,
        id: text("id")?,
        method: text("request")?,
        params,
    })
}

fn envelope(request_id: u64, result: Result<Value, ApiError>) -> Value {
    match result {
        Ok(response) => json!({"request-id": request_id, "response": response}),
        Err(err) => {
            let mut out = json!({"request-id": request_id, "error": err.message, "response": {}});
            if !err.code.is_empty() {
                out["error-code"] = Value::String(err.code);
            }
            if let Some(info) = err.info {
                out["error-info"] = info;
            }
            out
        }
    }
}

/// Runs the checks and the method; returns the result and any response schema violation.
async fn dispatch(conn: &Conn, call: &Call) -> (Result<Value, ApiError>, Option<SchemaViolation>) {
    if let Route::UnknownModel(uuid) = &conn.route {
        return (
            Err(ApiError::new(
                code::MODEL_NOT_FOUND,
                format!("unknown model: {uuid:?}"),
            )),
            None,
        );
    }
    if call.version == 0 {
        return (
            Err(ApiError::new(
                code::NOT_IMPLEMENTED,
                format!("unknown object type {:?}", call.facade),
            )),
            None,
        );
    }
    let result = route_call(conn, call).await;
    let bug = match &result {
        Ok(value) => Schema::get()
            .method(&call.facade, call.version, &call.method)
            .and_then(|schema| schema.check_result(value).err())
            .map(|v| SchemaViolation {
                direction: Direction::Response,
                facade: call.facade.clone(),
                version: call.version,
                method: call.method.clone(),
                path: v.path,
                what: v.what,
            }),
        Err(_) => None,
    };
    if let Some(bug) = &bug {
        tracing::error!("juju twin: {bug}");
        conn.model.record_violation(bug.clone());
        return (
            Err(ApiError::plain(format!(
                "twin bug: response breaks the schema: {bug}"
            ))),
            Some(bug.clone()),
        );
    }
    (result, bug)
}

/// Checks the params against the schema, recording and refusing a violation; returns them with
/// keys in the schema's spelling.
pub(crate) fn checked_params(conn: &Conn, call: &Call) -> Result<Value, ApiError> {
    let Some(schema) = Schema::get().method(&call.facade, call.version, &call.method) else {
        return Ok(call.params.clone());
    };
    schema.check_params(&call.params).map_err(|v| {
        let err = ApiError::bad_request(format!(
            "bad request: schema violation: {}: {}",
            v.path, v.what
        ));
        conn.model.record_violation(SchemaViolation {
            direction: Direction::Request,
            facade: call.facade.clone(),
            version: call.version,
            method: call.method.clone(),
            path: v.path,
            what: v.what,
        });
        err
    })
}

async fn route_call(conn: &Conn, call: &Call) -> Result<Value, ApiError> {
    if call.facade == "Admin" {
        return login::admin(conn, call);
    }
    let LoginState::User { access, .. } = conn.login_state() else {
        return Err(call.unknown_version());
    };
    let served = match conn.route {
        Route::Controller => {
            if !facades::is_controller_facade(&call.facade) {
                return Err(ApiError::new(
                    code::NOT_SUPPORTED,
                    format!(
                        "facade {:?} not supported for controller API connection",
                        call.facade
                    ),
                ));
            }
            facades::controller_facades()
        }
        _ => facades::model_facades(conn.model.config().version),
    };
    if !facades::serves(&served, &call.facade, call.version) {
        return Err(call.unknown_version());
    }
    if !facades::implemented(&call.facade, call.version, &call.method)
        || (conn.route == Route::Controller && call.facade != "Pinger")
    {
        return Err(call.not_implemented());
    }
    let params = checked_params(conn, call)?;
    if facades::needs_write(&call.facade, &call.method) && !access.can_write() {
        return Err(ApiError::permission_denied());
    }
    let injected = conn.model.shared.faults().take_failure(&call.label());
    if let Some(err) = injected {
        return Err(err);
    }
    let model = &conn.model;
    match call.facade.as_str() {
        "Pinger" => Ok(json!({})),
        "Client" if call.method == "WatchAll" => Ok(conn.watchers().start()),
        "AllWatcher" if call.method == "Stop" => conn.watchers().stop(&call.id),
        "AllWatcher" => {
            let watcher = conn.watchers().watcher(&call.id)?;
            watcher.next(model).await
        }
        "Client" => client::call(model, &call.method, &params),
        "Application" => application::call(model, &call.method, &params),
        "Charms" => charms::call_charms(model, &call.method, &params),
        "Resources" => charms::call_resources(model, &call.method, &params),
        _ => Err(call.not_implemented()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_route_like_the_api_server() {
        assert_eq!(route_for("/model/abc/api", "abc"), Some(Route::Model));
        assert_eq!(
            route_for("/model/other/api", "abc"),
            Some(Route::UnknownModel("other".into()))
        );
        assert_eq!(route_for("/api", "abc"), Some(Route::Controller));
        assert_eq!(route_for("/", "abc"), Some(Route::Controller));
        assert_eq!(route_for("/model/abc/log", "abc"), None);
    }

    #[test]
    fn errors_carry_an_empty_response_and_omit_empty_fields() {
        let reply = envelope(3, Err(ApiError::plain("no relations found")));
        assert_eq!(
            reply,
            json!({"request-id": 3, "error": "no relations found", "response": {}})
        );
    }

    #[test]
    fn a_zero_request_id_is_refused() {
        let err =
            decode(&json!({"request-id": 0, "type": "Pinger", "version": 1, "request": "Ping"}))
                .expect_err("zero id");
        assert_eq!(err.1, "request-id");
    }
}
