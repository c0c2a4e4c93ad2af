//! The logged-in client: typed calls named after the Juju methods, and reconnection.
//!
//! Owns the port the engine sees. Each typed call builds its [`wire`] request, sends it at the
//! facade version negotiated at login, turns per-item errors of bulk results into
//! [`Error::Call`] (none dropped) and converts the answer to [`super::model`] types.
//!
//! Reconnection: when the connection drops, calls in flight fail with a retryable
//! [`Error::Disconnected`]; the next call reconnects and logs in again (re-negotiating facade
//! versions). After a failed attempt, calls fail at once with its error until a backoff has
//! passed: the client never sleeps on a caller's behalf, so the caller's own deadline rules
//! (see [`ConnectionEvent`] for telling the operator). Reads that change nothing
//! (`FullStatus`, `Get`, `GetCharmURLOrigin`, `CharmInfo`, `ListResources`, `ListCharmResources`,
//! `ResolveCharms`, `CheckCharmPlacement`) are retried once on a fresh connection when the drop hit them; writes never
//! are, because the controller may have acted on them: the caller observes and decides.
//! Timeouts are not retried either: a slow controller is not helped by more load.
//!
//! The refresh sequence lives in `refresh.rs`. Start at [`Client::connect`].

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::{Mutex, broadcast};
use tokio::time::Instant;

use super::connect;
use super::credentials::Credentials;
use super::error::{Error, Result};
use super::login::{self, Facade, Facades, LoginInfo};
use super::model::{
    Application, ApplicationConfig, Base, CharmUrl, ConfigValue, DeploySpec, Life, ModelStatus,
    Relation, RelationEndpoint, RemoteApplication, Status, Unit,
};
use super::rpc::{Failure, Rpc};
use super::wire;

/// Longest wait between two reconnection attempts: short, so that a controller that comes back
/// is used again within seconds.
const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(10);

/// Connection events kept for a slow listener.
const CONNECTION_EVENTS: usize = 64;

/// The Go client's ping timeout (`api/apiclient.go` `pingTimeout`).
const PING_TIMEOUT: Duration = Duration::from_secs(30);

/// Connection tuning.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Per-call timeout (queueing, sending and waiting for the reply).
    pub call_timeout: Duration,
    /// Interval between `Pinger.Ping` calls.
    pub ping_interval: Duration,
    /// Per-address bound on TCP connect, TLS and websocket handshakes.
    pub connect_timeout: Duration,
    /// Wait after the first failed reconnection attempt; doubles per failure, up to 10 s.
    pub reconnect_delay: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            call_timeout: Duration::from_secs(120),
            ping_interval: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(30),
            reconnect_delay: Duration::from_secs(1),
        }
    }
}

/// One logged-in websocket.
pub(super) struct Connection {
    pub(super) rpc: Rpc,
    pub(super) facades: Facades,
    login: LoginInfo,
}

/// The current connection, and the backoff state of reconnection.
struct Slot {
    current: Option<Arc<Connection>>,
    failures: u32,
    retry_at: Option<Instant>,
    /// The failed attempt's error, returned to callers until `retry_at`.
    last_error: Option<Error>,
}

/// A logged-in connection to one model, reconnecting on demand. Calls may run concurrently.
pub struct Client {
    credentials: Credentials,
    options: ConnectOptions,
    tls: Arc<ClientConfig>,
    first_login: LoginInfo,
    /// A tokio mutex: reconnecting awaits while holding it, so concurrent callers share one
    /// reconnection instead of racing.
    slot: Mutex<Slot>,
    /// Where [`ConnectionEvent`]s go.
    events: broadcast::Sender<ConnectionEvent>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("addresses", &self.credentials.addresses)
            .field("model_uuid", &self.credentials.model_uuid)
            .field("user", &self.credentials.username)
            .finish_non_exhaustive()
    }
}

/// Whether a call may be repeated on a fresh connection after a drop.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Retry {
    /// Changes nothing: repeat once.
    Read,
    /// May have been applied: never repeat.
    Write,
}

impl Client {
    /// Connects to the first reachable address, logs in and negotiates facade versions.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a CA without a certificate, a bad model UUID or no address;
    /// [`Error::Connect`] when no address answers; [`Error::Login`] when refused (Juju's message,
    /// never the password); [`Error::Redirected`]; [`Error::FacadeMissing`]; [`Error::Timeout`].
    pub async fn connect(credentials: &Credentials, options: ConnectOptions) -> Result<Client> {
        connect::check_model_uuid(&credentials.model_uuid)?;
        let tls = connect::tls_config(&credentials.ca_cert_pem)?;
        let connection = establish(credentials, &options, &tls).await?;
        Ok(Client {
            credentials: credentials.clone(),
            first_login: connection.login.clone(),
            options,
            tls,
            slot: Mutex::new(Slot {
                current: Some(Arc::new(connection)),
                failures: 0,
                retry_at: None,
                last_error: None,
            }),
            events: broadcast::channel(CONNECTION_EVENTS).0,
        })
    }

    /// What the first login told us. After a reconnection, see [`Client::current_login`].
    pub fn login_info(&self) -> &LoginInfo {
        &self.first_login
    }

    /// What the login of the current connection told us (facade versions are negotiated again
    /// on every reconnection), or `None` while disconnected.
    pub async fn current_login(&self) -> Option<LoginInfo> {
        let slot = self.slot.lock().await;
        slot.current
            .as_ref()
            .filter(|c| c.rpc.is_open())
            .map(|c| c.login.clone())
    }

    /// `Client.FullStatus` of the whole model.
    ///
    /// # Errors
    /// Transport and call errors; [`Error::Decode`] for an answer that is not a FullStatus.
    pub async fn full_status(&self) -> Result<ModelStatus> {
        let status: wire::FullStatus = self
            .call(
                Facade::Client,
                "FullStatus",
                wire::StatusParams { patterns: &[] },
                Retry::Read,
            )
            .await?;
        Ok(model_status(status))
    }

    /// `Application.DestroyApplication`: marks the application dying and returns; it is gone when
    /// [`Client::full_status`] no longer lists it. Storage is detached and kept unless
    /// `destroy_storage`.
    ///
    /// # Errors
    /// [`Error::Call`] with Juju's per-item error (`not found` for an unknown application), and
    /// transport errors.
    pub async fn destroy_application(
        &self,
        application: &str,
        destroy_storage: bool,
    ) -> Result<()> {
        const METHOD: &str = "DestroyApplication";
        let params = wire::DestroyApplicationsParams {
            applications: vec![wire::DestroyApplicationParams {
                application_tag: format!("application-{application}"),
                force: false,
                destroy_storage,
            }],
        };
        let results: wire::DestroyApplicationResults = self
            .call(Facade::Application, METHOD, params, Retry::Write)
            .await?;
        let result = single(Facade::Application, METHOD, results.results)?;
        match result.error {
            Some(e) => Err(item_error(Facade::Application, METHOD, e)),
            None => Ok(()),
        }
    }

    /// `Application.DeployFromRepository`: resolves the charm, adds its store resources and the
    /// application in one call. Returns once the application exists; units come later.
    ///
    /// # Errors
    /// [`Error::Call`] for each error Juju lists (`already exists` while an application of that
    /// name exists or is still dying; all messages kept), and transport errors.
    pub async fn deploy(&self, spec: &DeploySpec) -> Result<()> {
        const METHOD: &str = "DeployFromRepository";
        let params = wire::DeployFromRepositoryArgs {
            args: vec![deploy_arg(spec)?],
        };
        let results: wire::DeployFromRepositoryResults = self
            .call(Facade::Application, METHOD, params, Retry::Write)
            .await?;
        let result = single(Facade::Application, METHOD, results.results)?;
        if !result.errors.is_empty() {
            return Err(joined_errors(Facade::Application, METHOD, result.errors));
        }
        let info = result.info.unwrap_or_default();
        tracing::info!(
            "deployed {} from {} {} revision {}",
            spec.application,
            info.name,
            info.channel,
            info.revision
        );
        Ok(())
    }

    /// `Application.AddRelation` between two endpoints (`app` or `app:endpoint`). Returns `true`
    /// if the relation was added, `false` if it was already there (Juju's `already exists`).
    ///
    /// # Errors
    /// [`Error::Call`] with Juju's text: `application "x" has no "y" relation`,
    /// `no relations found`, `ambiguous relation: …`, `not found`; transport errors.
    pub async fn add_relation(&self, a: &str, b: &str) -> Result<bool> {
        let added: Result<Value> = self
            .call(
                Facade::Application,
                "AddRelation",
                wire::AddRelation { endpoints: [a, b] },
                Retry::Write,
            )
            .await;
        match added {
            Ok(_) => Ok(true),
            Err(e) if e.is_already_exists() => {
                tracing::info!("relation {a} {b} already there");
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// `Application.DestroyRelation` between two endpoints. Returns `true` if a relation was
    /// removed (it goes dying first), `false` if there was none (`not found`).
    ///
    /// # Errors
    /// [`Error::Call`] with Juju's text, and transport errors.
    pub async fn destroy_relation(&self, a: &str, b: &str) -> Result<bool> {
        let destroyed: Result<Value> = self
            .call(
                Facade::Application,
                "DestroyRelation",
                wire::DestroyRelation {
                    endpoints: [a, b],
                    force: false,
                },
                Retry::Write,
            )
            .await;
        match destroyed {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// `Application.SetConfigs` (what `juju config APP k=v` sends). Values are strings, parsed by
    /// option type on the controller; `trust` and other application-level keys are routed to
    /// application config there. An empty map sends nothing.
    ///
    /// # Errors
    /// [`Error::Call`] with Juju's per-item error (unknown option, value of the wrong type), and
    /// transport errors.
    pub async fn set_config(
        &self,
        application: &str,
        settings: &BTreeMap<String, String>,
    ) -> Result<()> {
        const METHOD: &str = "SetConfigs";
        if settings.is_empty() {
            return Ok(());
        }
        let params = wire::ConfigSetArgs {
            args: vec![wire::ConfigSet {
                application,
                config: settings,
                config_yaml: "",
                generation: "",
            }],
        };
        let results: wire::ErrorResults = self
            .call(Facade::Application, METHOD, params, Retry::Write)
            .await?;
        let result = single(Facade::Application, METHOD, results.results)?;
        match result.error {
            Some(e) => Err(item_error(Facade::Application, METHOD, e)),
            None => Ok(()),
        }
    }

    /// `Application.UnsetApplicationsConfig` (what `juju config APP --reset a,b` sends): each
    /// option goes back to the charm's default (`trust` to `false`). An empty list sends
    /// nothing.
    ///
    /// # Errors
    /// [`Error::Call`] with Juju's per-item error (an unknown application or option), and
    /// transport errors.
    pub async fn unset_config(&self, application: &str, options: &[String]) -> Result<()> {
        const METHOD: &str = "UnsetApplicationsConfig";
        if options.is_empty() {
            return Ok(());
        }
        let params = wire::ApplicationConfigUnsetArgs {
            args: vec![wire::ApplicationUnset {
                application,
                branch: "",
                options,
            }],
        };
        let results: wire::ErrorResults = self
            .call(Facade::Application, METHOD, params, Retry::Write)
            .await?;
        let result = single(Facade::Application, METHOD, results.results)?;
        match result.error {
            Some(e) => Err(item_error(Facade::Application, METHOD, e)),
            None => Ok(()),
        }
    }

    /// `Application.ScaleApplications` to `units` units, as `juju scale-application APP N`
    /// sends it (`api/client/application/client.go` `ScaleApplication` at v3.6.11: `scale`,
    /// `force` false, no `scale-change`). Returns once Juju recorded the scale; units come and
    /// go afterwards, as [`Client::full_status`] shows.
    ///
    /// # Errors
    /// [`Error::Call`] with Juju's text (`application "x" does not exist`, a dying
    /// application), and transport errors.
    pub async fn scale_application(&self, application: &str, units: u32) -> Result<()> {
        const METHOD: &str = "ScaleApplications";
        let params = scale_params(application, units);
        let results: wire::ScaleApplicationResults = self
            .call(Facade::Application, METHOD, params, Retry::Write)
            .await?;
        let result = single(Facade::Application, METHOD, results.results)?;
        if let Some(e) = result.error {
            return Err(item_error(Facade::Application, METHOD, e));
        }
        tracing::info!(
            "scaled {application} to {} units",
            result.info.map_or(i64::from(units), |i| i.num_units)
        );
        Ok(())
    }

    /// Grants or revokes trust, as `juju trust APP [--remove]` does: `SetConfigs` with `trust`.
    ///
    /// # Errors
    /// As [`Client::set_config`].
    pub async fn set_trust(&self, application: &str, trust: bool) -> Result<()> {
        let settings = BTreeMap::from([("trust".to_owned(), trust.to_string())]);
        self.set_config(application, &settings).await
    }

    /// `Application.Get`: charm config (value in effect, source, type) and the application's
    /// `trust`.
    ///
    /// # Errors
    /// [`Error::Call`] (`not found` for an unknown application), transport errors,
    /// [`Error::Decode`].
    pub async fn application_config(&self, application: &str) -> Result<ApplicationConfig> {
        let got: wire::ApplicationGetResults = self
            .call(
                Facade::Application,
                "Get",
                wire::ApplicationGet {
                    application,
                    branch: "",
                },
                Retry::Read,
            )
            .await?;
        application_config(got)
    }

    /// Closes the connection cleanly.
    pub async fn close(self) {
        let current = self.slot.lock().await.current.take();
        if let Some(connection) = current {
            connection.rpc.close().await;
        }
    }

    /// Sends one call at the negotiated version and decodes its answer.
    pub(super) async fn call<P: Serialize, R: DeserializeOwned>(
        &self,
        facade: Facade,
        method: &'static str,
        params: P,
        retry: Retry,
    ) -> Result<R> {
        let params = serde_json::to_value(params).map_err(|e| Error::Decode {
            facade: facade.name().into(),
            method: method.into(),
            message: format!("cannot encode the request: {e}"),
        })?;
        let mut connection = self.connection().await?;
        let mut retried = false;
        loop {
            let outcome = connection
                .rpc
                .call(
                    facade.name(),
                    connection.facades.version(facade),
                    method,
                    params.clone(),
                    self.options.call_timeout,
                )
                .await;
            match outcome {
                Ok(value) => {
                    return serde_json::from_value(value).map_err(|e| Error::Decode {
                        facade: facade.name().into(),
                        method: method.into(),
                        message: e.to_string(),
                    });
                }
                Err(Failure::Disconnected(cause)) if retry == Retry::Read && !retried => {
                    tracing::debug!(
                        "{}.{method} lost with the connection ({cause}); retrying once",
                        facade.name()
                    );
                    retried = true;
                    connection = self.connection().await?;
                }
                Err(failure) => return Err(failure_error(facade, method, failure)),
            }
        }
    }

    /// The live connection, reconnecting (and logging in again) if it dropped.
    ///
    /// Never sleeps: while a failed attempt's backoff runs, callers get that attempt's error at
    /// once and decide themselves when to call again (the engine's pause is bounded by its
    /// deadline). The lock is held only while one reconnection is attempted — bounded by the
    /// connect and call timeouts — so concurrent callers share that attempt instead of racing.
    pub(super) async fn connection(&self) -> Result<Arc<Connection>> {
        let mut slot = self.slot.lock().await;
        if let Some(current) = &slot.current {
            if current.rpc.is_open() {
                return Ok(current.clone());
            }
            let cause = current
                .rpc
                .end_cause()
                .as_deref()
                .unwrap_or("unknown cause")
                .to_string();
            tracing::warn!("connection to the Juju controller lost ({cause}); reconnecting");
            self.announce(ConnectionEvent::Lost {
                address: current.login.address.clone(),
                cause,
            });
            slot.current = None;
        }
        if let (Some(at), Some(error)) = (slot.retry_at, &slot.last_error)
            && Instant::now() < at
        {
            return Err(error.clone());
        }
        match establish(&self.credentials, &self.options, &self.tls).await {
            Ok(connection) => {
                let connection = Arc::new(connection);
                if slot.failures > 0 || slot.last_error.is_some() {
                    self.announce(ConnectionEvent::Restored {
                        address: connection.login.address.clone(),
                        attempts: slot.failures.saturating_add(1),
                    });
                }
                slot.current = Some(connection.clone());
                slot.failures = 0;
                slot.retry_at = None;
                slot.last_error = None;
                Ok(connection)
            }
            Err(e) => {
                slot.failures = slot.failures.saturating_add(1);
                let delay = backoff(self.options.reconnect_delay, slot.failures);
                slot.retry_at = Some(Instant::now() + delay);
                slot.last_error = Some(e.clone());
                tracing::warn!(
                    "reconnecting to the Juju controller failed ({e}); next attempt in {} s",
                    delay.as_secs_f64()
                );
                self.announce(ConnectionEvent::AttemptFailed {
                    attempt: slot.failures,
                    error: e.to_string(),
                    next_in: delay,
                });
                Err(e)
            }
        }
    }

    /// Tells whoever listens (nobody is fine) what happened to the connection.
    fn announce(&self, event: ConnectionEvent) {
        let _ = self.events.send(event);
    }

    /// Losses of the connection and reconnection attempts, as they happen. Events sent before
    /// subscribing are not seen; a slow listener loses the oldest (the channel is bounded).
    pub fn connection_events(&self) -> broadcast::Receiver<ConnectionEvent> {
        self.events.subscribe()
    }

    /// The per-call timeout.
    pub(super) fn call_timeout(&self) -> Duration {
        self.options.call_timeout
    }

    /// The controller addresses this client tries, in order.
    pub fn addresses(&self) -> &[String] {
        &self.credentials.addresses
    }
}

/// What happened to the connection to the controller: for the operator's eyes, since a lost
/// connection otherwise shows only as a run that makes no progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionEvent {
    /// The connection dropped (noticed by the next call).
    Lost {
        /// The address it was connected to.
        address: String,
        /// Why, as the transport said.
        cause: String,
    },
    /// A reconnection attempt failed; the next one is not made before `next_in`.
    AttemptFailed {
        /// Failed attempts in a row.
        attempt: u32,
        /// Every address tried and what each said.
        error: String,
        /// Backoff before the next attempt.
        next_in: Duration,
    },
    /// Logged in again after a loss.
    Restored {
        /// The address now connected.
        address: String,
        /// Attempts it took.
        attempts: u32,
    },
}

/// Opens, logs in and starts pinging.
async fn establish(
    credentials: &Credentials,
    options: &ConnectOptions,
    tls: &Arc<ClientConfig>,
) -> Result<Connection> {
    let (socket, address) = connect::open(
        &credentials.addresses,
        &credentials.model_uuid,
        tls,
        options.connect_timeout,
    )
    .await?;
    let rpc = Rpc::start(socket);
    let (mut login, facades) = match login::login(&rpc, credentials, options.call_timeout).await {
        Ok(logged_in) => logged_in,
        Err(e) => {
            rpc.close().await;
            return Err(e);
        }
    };
    login.address = address;
    rpc.start_pinger(
        facades.version(Facade::Pinger),
        options.ping_interval,
        options.call_timeout.min(PING_TIMEOUT),
    );
    tracing::info!(
        "logged in to model {} at {} as {} (Juju {}, Application facade v{})",
        login.model_uuid,
        login.address,
        login.user,
        login.server_version,
        facades.version(Facade::Application)
    );
    Ok(Connection {
        rpc,
        facades,
        login,
    })
}

/// `delay × 2^(failures-1)`, capped.
fn backoff(delay: Duration, failures: u32) -> Duration {
    let factor = 2u32.saturating_pow(failures.saturating_sub(1));
    delay
        .saturating_mul(factor)
        .min(MAX_RECONNECT_DELAY.max(delay))
}

pub(super) fn failure_error(facade: Facade, method: &str, failure: Failure) -> Error {
    match failure {
        Failure::Server(e) => Error::Call {
            facade: facade.name().into(),
            method: method.into(),
            code: e.code,
            message: e.message,
        },
        Failure::Timeout(t) => Error::Timeout {
            facade: facade.name().into(),
            method: method.into(),
            seconds: t.as_secs(),
        },
        Failure::Disconnected(cause) => Error::Disconnected(cause),
    }
}

/// A per-item error of a bulk result, as [`Error::Call`].
pub(super) fn item_error(facade: Facade, method: &str, e: wire::ErrorObject) -> Error {
    Error::Call {
        facade: facade.name().into(),
        method: method.into(),
        code: Some(e.code).filter(|c| !c.is_empty()),
        message: e.message,
    }
}

/// Several per-item errors as one [`Error::Call`]: every message kept, the first code.
fn joined_errors(facade: Facade, method: &str, errors: Vec<wire::ErrorObject>) -> Error {
    let code = errors
        .iter()
        .map(|e| e.code.clone())
        .find(|c| !c.is_empty());
    let message = errors
        .into_iter()
        .map(|e| e.message)
        .collect::<Vec<_>>()
        .join("; ");
    Error::Call {
        facade: facade.name().into(),
        method: method.into(),
        code,
        message,
    }
}

/// The one result of a bulk call made with one argument.
pub(super) fn single<T>(facade: Facade, method: &str, results: Vec<T>) -> Result<T> {
    let count = results.len();
    let mut results = results.into_iter();
    match (results.next(), count) {
        (Some(result), 1) => Ok(result),
        _ => Err(Error::Decode {
            facade: facade.name().into(),
            method: method.into(),
            message: format!("expected 1 result, got {count}"),
        }),
    }
}

/// The one-application `ScaleApplications` request. Application 19–20 take
/// `ScaleApplicationsParams`, 21–22 `ScaleApplicationsParamsV2`; without `attach-storage` both
/// are the same JSON, which is what the Go client sends at either version.
fn scale_params(application: &str, units: u32) -> wire::ScaleApplicationsParams {
    wire::ScaleApplicationsParams {
        applications: vec![wire::ScaleApplicationParams {
            application_tag: format!("application-{application}"),
            scale: units,
            force: false,
        }],
    }
}

fn deploy_arg(spec: &DeploySpec) -> Result<wire::DeployFromRepositoryArg> {
    let config_yaml = if spec.config.is_empty() {
        String::new()
    } else {
        // Keyed by the application name, as the server expects; values stay strings, as
        // `juju deploy --config k=v` sends them.
        let keyed = BTreeMap::from([(spec.application.as_str(), &spec.config)]);
        serde_yaml::to_string(&keyed).map_err(|e| {
            Error::Invalid(format!(
                "config of {} cannot be written as YAML: {e}",
                spec.application
            ))
        })?
    };
    // `cmd/juju/application/deployer/deployer.go` (v3.6.11) refuses a revision without a channel
    // before it sends anything: the channel is what later refreshes follow.
    if spec.revision.is_some() && spec.channel.is_empty() {
        return Err(Error::Invalid(format!(
            "deploying {}: specifying a revision requires a channel for future upgrades",
            spec.application
        )));
    }
    Ok(wire::DeployFromRepositoryArg {
        charm_name: spec.charm.clone(),
        application_name: spec.application.clone(),
        attach_storage: Vec::new(),
        base: spec.base.as_ref().map(deploy_base),
        channel: Some(spec.channel.clone()).filter(|c| !c.is_empty()),
        config_yaml,
        cons: BTreeMap::new(),
        devices: BTreeMap::new(),
        dry_run: false,
        num_units: Some(spec.units).filter(|n| *n > 0),
        placement: Vec::new(),
        revision: spec.revision.map(i64::from),
        storage: BTreeMap::new(),
        trust: spec.trust,
    })
}

/// A base as `juju deploy --base ubuntu@22.04` sends it: the CLI parses the flag with
/// `corebase.ParseBaseFromString`, which normalises the channel (a missing risk becomes
/// `stable`, except for the legacy `kubernetes` track), and the API client writes
/// `Channel.String()`, `22.04/stable` (`core/base/channel.go`, `api/client/application/client.go`
/// `paramsFromDeployFromRepositoryArg` at v3.6.11).
fn deploy_base(base: &Base) -> wire::Base {
    let channel = if base.channel.contains('/') || base.channel == "kubernetes" {
        base.channel.clone()
    } else {
        format!("{}/stable", base.channel)
    };
    wire::Base {
        name: base.name.clone(),
        channel,
    }
}

fn to_status(detailed: Option<wire::DetailedStatus>) -> Status {
    let detailed = detailed.unwrap_or_default();
    Status {
        current: detailed.status,
        message: detailed.info,
    }
}

fn life(life: &str) -> Life {
    match life {
        "dying" => Life::Dying,
        "dead" => Life::Dead,
        _ => Life::Alive,
    }
}

/// FullStatus as the domain sees it.
fn model_status(status: wire::FullStatus) -> ModelStatus {
    let model = status.model.unwrap_or_default();
    let applications = status
        .applications
        .into_iter()
        .map(|(name, app)| {
            let url = CharmUrl::parse(&app.charm).ok();
            let application = Application {
                name: name.clone(),
                charm: url
                    .as_ref()
                    .map(|u| u.name.clone())
                    .unwrap_or_else(|| app.charm.clone()),
                revision: app.charm_rev.or(url.and_then(|u| u.revision)),
                charm_url: app.charm,
                channel: app.charm_channel,
                life: life(&app.life),
                status: to_status(app.status),
                units: app
                    .units
                    .into_iter()
                    .map(|(unit, u)| {
                        let unit_status = Unit {
                            workload: to_status(u.workload_status),
                            agent: to_status(u.agent_status),
                            leader: u.leader,
                        };
                        (unit, unit_status)
                    })
                    .collect(),
                scale: app.scale.unwrap_or_default(),
                base: app.base.filter(|b| !b.name.is_empty()).map(|b| Base {
                    name: b.name,
                    channel: b.channel,
                }),
            };
            (name, application)
        })
        .collect();
    let relations = status
        .relations
        .into_iter()
        .map(|r| Relation {
            id: r.id,
            key: r.key,
            interface: r.interface,
            endpoints: r
                .endpoints
                .into_iter()
                .map(|e| RelationEndpoint {
                    application: e.application,
                    name: e.name,
                    role: e.role,
                })
                .collect(),
        })
        .collect();
    let remote_applications = status
        .remote_applications
        .into_iter()
        .map(|(name, remote)| {
            let remote = RemoteApplication {
                name: name.clone(),
                offer_url: remote.offer_url,
            };
            (name, remote)
        })
        .collect();
    ModelStatus {
        name: model.name,
        model_type: model.model_type,
        applications,
        relations,
        remote_applications,
    }
}

fn decode_error(method: &str, message: String) -> Error {
    Error::Decode {
        facade: Facade::Application.name().into(),
        method: method.into(),
        message,
    }
}

/// `Get`'s answer as the domain sees it.
fn application_config(got: wire::ApplicationGetResults) -> Result<ApplicationConfig> {
    let mut options = BTreeMap::new();
    for (name, raw) in got.config {
        let option: wire::ConfigOption = serde_json::from_value(raw)
            .map_err(|e| decode_error("Get", format!("config option {name:?}: {e}")))?;
        options.insert(
            name,
            ConfigValue {
                value: option.value.or(option.default).filter(|v| !v.is_null()),
                source: option.source,
                option_type: option.option_type,
            },
        );
    }
    let trust = match got.application_config.get("trust") {
        None => false,
        Some(raw) => {
            let option: wire::ConfigOption = serde_json::from_value(raw.clone())
                .map_err(|e| decode_error("Get", format!("application config \"trust\": {e}")))?;
            match option.value.or(option.default) {
                Some(Value::Bool(b)) => b,
                Some(Value::String(s)) => s.parse().unwrap_or(false),
                _ => false,
            }
        }
    };
    Ok(ApplicationConfig {
        application: got.application,
        charm: got.charm,
        channel: got.channel,
        options,
        trust,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn full_status_converts_charm_name_revision_life_units_and_relations() {
        let raw: wire::FullStatus = serde_json::from_value(json!({
            "model": {"name": "kubeflow", "type": "caas"},
            "applications": {
                "istio-pilot": {
                    "charm": "ch:amd64/jammy/istio-pilot-1100", "charm-channel": "1.24/stable",
                    "life": "dying", "int": 1,
                    "base": {"name": "ubuntu", "channel": "22.04/stable"},
                    "status": {"status": "active", "info": ""},
                    "units": {"istio-pilot/0": {
                        "workload-status": {"status": "maintenance", "info": "removing"},
                        "agent-status": {"status": "executing", "info": "running stop hook"},
                        "leader": true}}
                },
                "kfp-api": {"charm": "ch:amd64/kfp-api-1000", "charm-rev": 1000,
                            "charm-channel": "2.5/stable", "units": null, "int": 2}
            },
            "relations": [{"id": 3, "key": "kfp-api:kfp-viz kfp-viz:kfp-viz",
                "interface": "k8s-service", "scope": "global",
                "endpoints": [{"application": "kfp-api", "name": "kfp-viz", "role": "requirer",
                               "subordinate": false}],
                "status": {"status": "joined"}}]
        }))
        .expect("decodes");
        let status = model_status(raw);
        assert_eq!(status.name, "kubeflow");
        assert_eq!(status.model_type, "caas");
        let pilot = &status.applications["istio-pilot"];
        assert_eq!(pilot.charm, "istio-pilot");
        assert_eq!(pilot.revision, Some(1100));
        assert_eq!(pilot.life, Life::Dying);
        assert_eq!(
            pilot.base,
            Some(Base {
                name: "ubuntu".into(),
                channel: "22.04/stable".into()
            })
        );
        let unit = &pilot.units["istio-pilot/0"];
        assert_eq!(unit.workload.to_string(), "maintenance: removing");
        assert_eq!(unit.agent.current, "executing");
        assert!(unit.leader);
        let api = &status.applications["kfp-api"];
        assert_eq!(
            (api.charm.as_str(), api.revision, api.scale),
            ("kfp-api", Some(1000), 2)
        );
        assert_eq!(api.life, Life::Alive);
        assert_eq!(api.base, None, "no base reported, none invented");
        assert_eq!(status.relations[0].endpoints[0].role, "requirer");
    }

    #[test]
    fn get_reports_value_in_effect_and_trust() {
        let raw: wire::ApplicationGetResults = serde_json::from_value(json!({
            "application": "kserve-controller", "charm": "kserve-controller",
            "channel": "0.15/stable", "base": {"name": "ubuntu", "channel": "22.04"},
            "constraints": {},
            "config": {
                "deployment-mode": {"description": "d", "type": "string", "source": "default",
                                    "default": "serverless", "value": "serverless"},
                "custom-images": {"description": "d", "type": "string", "source": "unset"},
                "replicas": {"type": "int", "source": "user", "value": 3, "default": 1}
            },
            "application-config": {"trust": {"description": "t", "type": "bool",
                                             "source": "user", "value": true, "default": false}},
            "endpoint-bindings": null
        }))
        .expect("decodes");
        let config = application_config(raw).expect("converts");
        assert!(config.trust);
        assert_eq!(config.channel, "0.15/stable");
        assert_eq!(
            config.options["deployment-mode"].as_config_string(),
            "serverless"
        );
        assert_eq!(config.options["custom-images"].value, None);
        assert_eq!(config.options["replicas"].as_config_string(), "3");
        assert_eq!(config.options["replicas"].source, "user");
    }

    #[test]
    fn trust_defaults_to_false_when_not_reported() {
        let raw: wire::ApplicationGetResults =
            serde_json::from_value(json!({"application": "x", "application-config": null}))
                .expect("decodes");
        assert!(!application_config(raw).expect("converts").trust);
    }

    #[test]
    fn deploy_config_yaml_is_keyed_by_application_and_keeps_strings() {
        let spec = DeploySpec {
            application: "istio-ingress-k8s".into(),
            charm: "istio-ingress-k8s".into(),
            channel: "2/edge".into(),
            units: 1,
            config: BTreeMap::from([
                ("hardened-mode".to_owned(), "true".to_owned()),
                ("platform".to_owned(), "microk8s".to_owned()),
            ]),
            trust: true,
            revision: None,
            base: None,
        };
        let arg = deploy_arg(&spec).expect("builds");
        let parsed: BTreeMap<String, BTreeMap<String, serde_yaml::Value>> =
            serde_yaml::from_str(&arg.config_yaml).expect("yaml");
        assert_eq!(
            parsed["istio-ingress-k8s"]["hardened-mode"],
            serde_yaml::Value::String("true".into())
        );
        assert_eq!(
            parsed["istio-ingress-k8s"]["platform"],
            serde_yaml::Value::String("microk8s".into())
        );
        assert!(arg.trust);
        assert_eq!(arg.num_units, Some(1));
    }

    #[test]
    fn deploy_without_config_sends_empty_yaml_and_zero_units_means_default() {
        let spec = DeploySpec {
            application: "istio-k8s".into(),
            charm: "istio-k8s".into(),
            channel: "2/edge".into(),
            ..DeploySpec::default()
        };
        let arg = deploy_arg(&spec).expect("builds");
        assert_eq!(arg.config_yaml, "");
        assert_eq!(arg.num_units, None);
    }

    #[test]
    fn deploy_sends_revision_and_base_as_the_cli_does() {
        let spec = DeploySpec {
            application: "jupyter-ui".into(),
            charm: "jupyter-ui".into(),
            channel: "1.10/stable".into(),
            units: 2,
            revision: Some(1004),
            base: Some(Base {
                name: "ubuntu".into(),
                channel: "22.04".into(),
            }),
            ..DeploySpec::default()
        };
        let wire = serde_json::to_value(deploy_arg(&spec).expect("builds")).expect("json");
        assert_eq!(wire["revision"], 1004);
        assert_eq!(
            wire["base"],
            serde_json::json!({"name": "ubuntu", "channel": "22.04/stable"})
        );
        assert_eq!(wire["channel"], "1.10/stable");
        assert_eq!(wire["num-units"], 2);
    }

    #[test]
    fn deploy_without_revision_or_base_omits_both_keys() {
        let spec = DeploySpec {
            application: "istio-k8s".into(),
            charm: "istio-k8s".into(),
            channel: "2/edge".into(),
            ..DeploySpec::default()
        };
        let wire = serde_json::to_value(deploy_arg(&spec).expect("builds")).expect("json");
        assert!(wire.get("revision").is_none(), "{wire}");
        assert!(wire.get("base").is_none(), "{wire}");
    }

    #[test]
    fn a_revision_without_a_channel_is_refused_before_sending() {
        let spec = DeploySpec {
            application: "istio-k8s".into(),
            charm: "istio-k8s".into(),
            revision: Some(61),
            ..DeploySpec::default()
        };
        let err = deploy_arg(&spec).expect_err("refused");
        assert!(matches!(err, Error::Invalid(_)), "{err:?}");
        assert!(err.to_string().contains("requires a channel"), "{err}");
    }

    #[test]
    fn a_base_with_a_risk_is_sent_as_given() {
        let edge = Base {
            name: "ubuntu".into(),
            channel: "24.04/edge".into(),
        };
        assert_eq!(deploy_base(&edge).channel, "24.04/edge");
    }

    #[test]
    fn scale_sends_tag_scale_and_force_only() {
        let wire = serde_json::to_value(scale_params("kfp-api", 3)).expect("json");
        assert_eq!(
            wire,
            serde_json::json!({"applications": [
                {"application-tag": "application-kfp-api", "scale": 3, "force": false}]})
        );
    }

    #[test]
    fn several_deploy_errors_keep_every_message() {
        let err = joined_errors(
            Facade::Application,
            "DeployFromRepository",
            vec![
                wire::ErrorObject {
                    message: "charm not found".into(),
                    code: String::new(),
                    info: None,
                },
                wire::ErrorObject {
                    message: "application already exists".into(),
                    code: "already exists".into(),
                    info: None,
                },
            ],
        );
        assert!(err.is_already_exists());
        assert_eq!(
            err.to_string(),
            "Application.DeployFromRepository: charm not found; application already exists \
             (already exists)"
        );
    }

    #[test]
    fn per_item_error_keeps_message_and_code() {
        let err = item_error(
            Facade::Application,
            "DestroyApplication",
            wire::ErrorObject {
                message: "application \"nope\" not found".into(),
                code: "not found".into(),
                info: None,
            },
        );
        assert!(err.is_not_found());
        assert!(err.to_string().contains("application \"nope\" not found"));
        let uncoded = item_error(
            Facade::Application,
            "SetConfigs",
            wire::ErrorObject {
                message: "unknown option \"nope\"".into(),
                code: String::new(),
                info: None,
            },
        );
        assert_eq!(uncoded.code(), None);
    }

    #[test]
    fn a_bulk_answer_with_the_wrong_number_of_results_is_a_decode_error() {
        let err = single::<()>(Facade::Application, "SetConfigs", vec![]).expect_err("empty");
        assert!(matches!(err, Error::Decode { .. }), "{err:?}");
        assert!(single(Facade::Application, "SetConfigs", vec![(), ()]).is_err());
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let second = Duration::from_secs(1);
        assert_eq!(backoff(second, 1), second);
        assert_eq!(backoff(second, 2), 2 * second);
        assert_eq!(backoff(second, 3), 4 * second);
        assert_eq!(backoff(second, 20), MAX_RECONNECT_DELAY);
    }
}
