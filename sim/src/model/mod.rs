//! The Juju model `kubeflow`: applications, units, relations, config, resources, the charm
//! catalog, and how each change settles in time.
//!
//! [`Model`] is a cheap `Clone` handle around one synchronised state. Its methods are plain sync
//! calls (fixtures, tests and the controller all use them); changes that take time in Juju
//! (deploy, remove, refresh, relate, config) schedule tokio timers and settle later, emitting
//! [`ModelEvent`]s as they happen. It knows nothing of websockets or JSON-RPC: the controller in
//! [`crate::juju`] renders this state on the wire.
//!
//! Where to start: [`Model::new`], then [`Model::deploy_settled`] / [`Model::relate_settled`] for
//! fixtures, [`Model::applications`] to read state back, [`Model::subscribe`] for events, and
//! [`Model::faults`] to misbehave. Status rules live in `status.rs`, the rules every change must
//! pass in `state.rs`, catalog data in `sim/data/charms.yaml`.

pub mod catalog;
mod error;
mod faults;
mod state;
mod stats;
mod status;
mod timing;

use std::collections::BTreeMap;
use std::fmt;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use jiff::Timestamp;
use serde_json::Value;
use tokio::sync::broadcast;

pub use catalog::{Base, Catalog, Channel, EndpointSpec, OptionType, Release, Role};
pub use error::{ApiError, code};
pub use faults::{Faults, Redirect, Times};
pub use state::{Deploy, Life, Refresh, RelationTarget, parse_charm_url};
pub use stats::{Direction, RequestStats, SchemaViolation, WRITE_METHODS};
pub use status::{AgentStatus, WorkloadStatus};
pub use timing::{Change, Timing};

use faults::FaultState;
use state::{Effects, State, Timer, User};

/// A model user's access level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    /// Controller login only, no access to the model (`permission denied` on a model login).
    LoginOnly,
    /// `read`
    Read,
    /// `write`
    Write,
    /// `admin`
    Admin,
}

impl Access {
    /// Wire spelling of the model access (`""` for none).
    pub fn as_str(self) -> &'static str {
        match self {
            Access::LoginOnly => "",
            Access::Read => "read",
            Access::Write => "write",
            Access::Admin => "admin",
        }
    }

    /// Whether the user may change the model.
    pub fn can_write(self) -> bool {
        self >= Access::Write
    }
}

/// The Juju version the controller claims, which decides the facade versions it serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControllerVersion {
    /// 3.6.0 – 3.6.9: Application 15–20.
    V3_6_0,
    /// 3.6.10 – 3.6.11: Application 15–22.
    V3_6_11,
}

impl ControllerVersion {
    /// `server-version` in the login result.
    pub fn as_str(self) -> &'static str {
        match self {
            ControllerVersion::V3_6_0 => "3.6.0",
            ControllerVersion::V3_6_11 => "3.6.11",
        }
    }
}

/// How a model is set up.
#[derive(Debug, Clone)]
pub struct ModelConfig {
    /// Model name, `kubeflow`.
    pub name: String,
    /// Model UUID.
    pub uuid: String,
    /// Controller UUID.
    pub controller_uuid: String,
    /// Version the controller claims.
    pub version: ControllerVersion,
    /// Settling speed.
    pub timing: Timing,
    /// Load-balancer address istio-ingress-k8s reports (`Serving at <address>`); loopback.
    pub ingress_address: String,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            name: "kubeflow".into(),
            uuid: new_uuid(),
            controller_uuid: new_uuid(),
            version: ControllerVersion::V3_6_11,
            timing: Timing::default(),
            ingress_address: "127.0.0.50".into(),
        }
    }
}

/// A random version-4 UUID.
pub fn new_uuid() -> String {
    let mut bytes = [0u8; 16];
    for chunk in bytes.chunks_mut(8) {
        let mut h = RandomState::new().build_hasher();
        h.write_u128(Timestamp::now().as_nanosecond() as u128);
        chunk.copy_from_slice(&h.finish().to_le_bytes());
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Something that happened in the model, at the moment it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelEvent {
    /// An application was added (units not yet up).
    Deployed {
        /// Application name.
        app: String,
        /// Charm name.
        charm: String,
        /// Normalised channel.
        channel: String,
    },
    /// An application's units returned to their settled status (after deploy, refresh,
    /// relation or config changes): emitted each time it becomes idle again.
    Settled {
        /// Application name.
        app: String,
    },
    /// Removal started.
    Dying {
        /// Application name.
        app: String,
    },
    /// The application is gone.
    Removed {
        /// Application name.
        app: String,
        /// Charm it ran.
        charm: String,
    },
    /// The application now runs another charm revision (units upgrading).
    Refreshed {
        /// Application name.
        app: String,
        /// Charm name.
        charm: String,
        /// Normalised channel.
        channel: String,
        /// New revision.
        revision: i64,
    },
    /// A relation was added (peer relations included).
    RelationAdded {
        /// Relation id.
        id: u64,
        /// Juju's relation key.
        key: String,
        /// (application, endpoint) of each side.
        endpoints: Vec<(String, String)>,
    },
    /// A relation is gone.
    RelationRemoved {
        /// Relation id.
        id: u64,
        /// Juju's relation key.
        key: String,
    },
    /// A charm config value changed (effective value after the change; defaults included).
    ConfigChanged {
        /// Application name.
        app: String,
        /// Option name.
        key: String,
        /// New effective value as a string (`""` when unset without default).
        value: String,
    },
    /// The application's scale changed (`ScaleApplications`): units were added or removed.
    Scaled {
        /// Application name.
        app: String,
        /// Units wanted now.
        scale: i64,
    },
    /// Application trust changed.
    TrustChanged {
        /// Application name.
        app: String,
        /// New trust.
        trust: bool,
    },
}

/// A status with its message and when it last changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusView<S> {
    /// The status.
    pub status: S,
    /// Its message (empty when none).
    pub message: String,
    /// When the application last changed.
    pub since: Timestamp,
}

/// One unit as `juju status` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitView {
    /// `app/N`.
    pub name: String,
    /// Whether it is the leader (the lowest-numbered unit).
    pub leader: bool,
    /// Workload status.
    pub workload: StatusView<WorkloadStatus>,
    /// Agent status.
    pub agent: StatusView<AgentStatus>,
}

/// One application, read back from the model.
#[derive(Debug, Clone, PartialEq)]
pub struct AppView {
    /// Application name.
    pub name: String,
    /// Charm name.
    pub charm: String,
    /// Normalised channel it tracks.
    pub channel: String,
    /// Charm revision.
    pub revision: i64,
    /// Charm URL, `ch:amd64/<charm>-<rev>`.
    pub charm_url: String,
    /// Alive or dying.
    pub life: Life,
    /// Application status (derived from the units).
    pub status: StatusView<WorkloadStatus>,
    /// Units.
    pub units: Vec<UnitView>,
    /// Effective config (user value or default) of every option that has a value.
    pub config: BTreeMap<String, Value>,
    /// Options the user set.
    pub user_config: BTreeMap<String, Value>,
    /// Application trust.
    pub trust: bool,
    /// Resource name → resource revision in use.
    pub resources: BTreeMap<String, i64>,
    /// Deployed, alive and idle.
    pub settled: bool,
    /// Endpoint → remote applications (peer relations list the application itself).
    pub relations: BTreeMap<String, Vec<String>>,
    /// The charm revision's catalog data (endpoints, options, resources).
    pub release: Release,
    /// Charmhub id of the charm (empty until the deploy's download finished).
    pub charm_id: String,
    /// Hash of the charm archive (empty until the download finished).
    pub charm_hash: String,
    /// Charm origin instance key.
    pub instance_key: String,
    /// The base it runs on (its charm origin's platform), `ubuntu@22.04` unless a fixture or a
    /// refresh moved it.
    pub base: Base,
}

/// One side of a relation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationEndpoint {
    /// Application.
    pub application: String,
    /// Endpoint name.
    pub name: String,
    /// Role of the endpoint.
    pub role: Role,
    /// Interface.
    pub interface: String,
    /// Limit from metadata.
    pub limit: i64,
    /// Optional from metadata.
    pub optional: bool,
}

/// One relation, read back from the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationView {
    /// Relation id.
    pub id: u64,
    /// Juju's key (`req:ep prov:ep`).
    pub key: String,
    /// Interface.
    pub interface: String,
    /// Endpoints in key order.
    pub endpoints: Vec<RelationEndpoint>,
    /// Alive or dying.
    pub life: Life,
    /// False while the relation hooks still run (`joining`).
    pub joined: bool,
    /// When it last changed.
    pub since: Timestamp,
}

impl AppView {
    /// Effective config as strings, as `juju config` prints them (strings unquoted, other
    /// values in their JSON form).
    pub fn config_strings(&self) -> BTreeMap<String, String> {
        self.config
            .iter()
            .map(|(k, v)| {
                let text = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), text)
            })
            .collect()
    }
}

impl RelationView {
    /// Whether the relation connects `app:endpoint` (either side).
    pub fn connects(&self, app: &str, endpoint: &str) -> bool {
        self.endpoints
            .iter()
            .any(|e| e.application == app && e.name == endpoint)
    }
}

pub(crate) struct Shared {
    pub config: ModelConfig,
    state: Mutex<State>,
    events: broadcast::Sender<ModelEvent>,
    stats: Mutex<RequestStats>,
    faults: Mutex<FaultState>,
    /// Woken when held settling is released.
    pub released: tokio::sync::Notify,
    /// `true` while the controller is down (every connection dropped, new ones refused).
    pub down: tokio::sync::watch::Sender<bool>,
    /// Counts the changes applied to the state, so that watchers wake on each.
    changed: tokio::sync::watch::Sender<u64>,
}

impl Shared {
    pub(crate) fn faults(&self) -> MutexGuard<'_, FaultState> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn stats(&self) -> MutexGuard<'_, RequestStats> {
        self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn stats_total(&self) -> u64 {
        self.stats().total
    }
}

/// The Juju model. Cheap to clone; all clones share one state.
#[derive(Clone)]
pub struct Model {
    pub(crate) shared: Arc<Shared>,
}

impl fmt::Debug for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Model")
            .field("name", &self.shared.config.name)
            .field("uuid", &self.shared.config.uuid)
            .finish_non_exhaustive()
    }
}

impl Model {
    /// An empty model.
    pub fn new(config: ModelConfig) -> Self {
        let (events, _) = broadcast::channel(4096);
        Model {
            shared: Arc::new(Shared {
                config,
                state: Mutex::new(State::default()),
                events,
                stats: Mutex::new(RequestStats::default()),
                faults: Mutex::new(FaultState::default()),
                released: tokio::sync::Notify::new(),
                down: tokio::sync::watch::Sender::new(false),
                changed: tokio::sync::watch::Sender::new(0),
            }),
        }
    }

    /// The model's configuration.
    pub fn config(&self) -> &ModelConfig {
        &self.shared.config
    }

    /// Model name.
    pub fn name(&self) -> &str {
        &self.shared.config.name
    }

    /// Model UUID.
    pub fn uuid(&self) -> &str {
        &self.shared.config.uuid
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves a state that was valid before the operation
        // (operations validate before they mutate), so keep serving it.
        self.shared.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the state, then applies its effects with the lock released.
    fn mutate<R>(&self, f: impl FnOnce(&mut State, &mut Effects) -> R) -> R {
        let mut fx = Effects::default();
        let result = {
            let mut state = self.lock();
            f(&mut state, &mut fx)
        };
        self.apply(fx);
        result
    }

    /// Runs `f` and completes every change it started at once, timers included (fixtures).
    fn mutate_instant<R>(&self, f: impl FnOnce(&mut State, &mut Effects) -> R) -> R {
        let mut fx = Effects::default();
        let result = {
            let mut state = self.lock();
            let result = f(&mut state, &mut fx);
            // Firing a timer may start the next stage; the chains are finite.
            while !fx.pending.is_empty() {
                let (_, _, timer) = fx.pending.remove(0);
                state.fire(timer, &mut fx);
            }
            result
        };
        self.apply(fx);
        result
    }

    fn apply(&self, mut fx: Effects) {
        // Every mutation passes here: the AllWatcher re-reads the state and sends what differs.
        self.shared.changed.send_modify(|n| *n = n.wrapping_add(1));
        for event in fx.events.drain(..) {
            // No subscriber is fine: events are a notification, not a queue.
            let _ = self.shared.events.send(event);
        }
        let timing = self.shared.config.timing;
        let timers: Vec<(Duration, String, Timer)> = {
            let faults = self.shared.faults();
            fx.pending
                .drain(..)
                .map(|(change, app, timer)| {
                    (
                        timing.scaled(change.base(), faults.slowness(&app)),
                        app,
                        timer,
                    )
                })
                .collect()
        };
        for (delay, app, timer) in timers {
            match tokio::runtime::Handle::try_current() {
                Ok(handle) => {
                    let model = self.clone();
                    handle.spawn(async move {
                        tokio::time::sleep(delay).await;
                        model.wait_until_released(&app).await;
                        model.fire(timer);
                    });
                }
                // Outside a runtime (a sync fixture), settle at once.
                Err(_) => self.fire(timer),
            }
        }
    }

    /// Waits while a fault holds the settling of `app`.
    async fn wait_until_released(&self, app: &str) {
        loop {
            // Created before the check so a release in between is not lost.
            let released = self.shared.released.notified();
            if !self.shared.faults().holds(app) {
                return;
            }
            released.await;
        }
    }

    fn fire(&self, timer: Timer) {
        self.mutate(|state, fx| state.fire(timer, fx));
    }

    /// Adds a user with a password and model access.
    pub fn add_user(&self, name: &str, password: &str, access: Access) {
        self.lock().users.insert(
            name.to_string(),
            User {
                password: password.to_string(),
                access,
            },
        );
    }

    /// Checks a password login; `None` when the user is unknown or the password wrong.
    pub(crate) fn authenticate(&self, name: &str, password: &str) -> Option<Access> {
        let state = self.lock();
        let user = state.users.get(name)?;
        (user.password == password).then_some(user.access)
    }

    /// Fixture: deploys `app` already settled (active/idle, no timers), with `config` given as
    /// strings (parsed by option type) and `trust`.
    ///
    /// # Errors
    /// Unknown charm or channel, unknown option, bad value, or an existing application.
    pub fn deploy_settled(
        &self,
        app: &str,
        charm: &str,
        channel: &str,
        config: &[(&str, &str)],
        trust: bool,
    ) -> Result<AppView, ApiError> {
        let req = Deploy {
            application: app.to_string(),
            charm: charm.to_string(),
            channel: Some(channel.to_string()),
            revision: None,
            base: None,
            num_units: 1,
            config: config
                .iter()
                .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
                .collect(),
            trust,
        };
        let name = self.mutate(|state, fx| state.deploy(&req, true, fx))?;
        Ok(self
            .application(&name)
            .expect("the application was just deployed"))
    }

    /// Fixture: `app` runs on `base` (`ubuntu@20.04`), as an application deployed on an older
    /// base would. Changes nothing else and emits nothing (the base is not in the AllWatcher's
    /// application delta).
    ///
    /// # Errors
    /// Unknown application, or a base that is not `os@channel`.
    pub fn set_base_settled(&self, app: &str, base: &str) -> Result<(), ApiError> {
        let base: Base = base.parse().map_err(ApiError::not_valid)?;
        self.mutate_instant(|state, _| {
            state.app_mut(app)?.base = base;
            Ok(())
        })
    }

    /// Fixture: relates `a` and `b` (`app:endpoint` or bare `app`) already joined.
    ///
    /// # Errors
    /// As [`Model::add_relation`].
    pub fn relate_settled(&self, a: &str, b: &str) -> Result<RelationView, ApiError> {
        let id = self.mutate(|state, fx| state.add_relation(&[a, b], true, fx))?;
        Ok(self.relation(id).expect("the relation was just added"))
    }

    /// Fixture: removes `app` at once (its relations go with it; the far sides do not stay
    /// busy). Emits Dying, RelationRemoved and Removed.
    ///
    /// # Errors
    /// `application "x" not found` (`not found`).
    pub fn remove_settled(&self, app: &str) -> Result<(), ApiError> {
        self.mutate_instant(|state, fx| state.destroy_application(app, fx).map(|_| ()))
    }

    /// Fixture: refreshes `app` to the catalog release of `channel` at once, upgrading every
    /// resource whose store revision differs (as `juju refresh` does). Emits Refreshed and
    /// Settled.
    ///
    /// # Errors
    /// Unknown application or channel, or a relation the new revision could not keep.
    pub fn refresh_settled(&self, app: &str, channel: &str) -> Result<AppView, ApiError> {
        let channel: Channel = channel.parse().map_err(ApiError::not_valid)?;
        self.mutate_instant(|state, fx| {
            let current = state.app(app)?;
            let release = Catalog::get()
                .release(&current.release.charm, &channel)
                .ok_or_else(|| {
                    ApiError::not_found(catalog::not_in_channel_message(
                        &current.release.charm,
                        &channel,
                    ))
                })?
                .clone();
            let changed: Vec<(String, i64)> = release
                .resources
                .iter()
                .filter(|r| current.resources.get(&r.name).map(|c| c.revision) != Some(r.revision))
                .map(|r| (r.name.clone(), r.revision))
                .collect();
            let mut resource_ids = BTreeMap::new();
            for (name, revision) in changed {
                let id = state.add_pending_resource(app, &name, revision)?;
                resource_ids.insert(name, id);
            }
            state.charms_added.insert(release.url());
            state.refresh(
                &Refresh {
                    application: app.to_string(),
                    charm_url: release.url(),
                    channel: Some(channel.clone()),
                    resource_ids,
                    config: BTreeMap::new(),
                    base: None,
                },
                fx,
            )
        })?;
        Ok(self
            .application(app)
            .expect("the application was just refreshed"))
    }

    /// Fixture: sets config values (strings parsed by option type; `trust` sets trust) at once.
    /// Emits ConfigChanged / TrustChanged for real changes.
    ///
    /// # Errors
    /// As [`Model::set_config`].
    pub fn configure_settled(&self, app: &str, values: &[(&str, &str)]) -> Result<(), ApiError> {
        let values: BTreeMap<String, Value> = values
            .iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect();
        self.mutate_instant(|state, fx| state.set_config(app, &values, fx))
    }

    /// Deploys an application that settles over time (allocating → installing → active/idle),
    /// as DeployFromRepository does.
    ///
    /// # Errors
    /// Unknown charm or channel (`not found`), unknown option or bad value (plain), an existing
    /// application, alive or dying (`already exists`).
    pub fn deploy(&self, req: &Deploy) -> Result<AppView, ApiError> {
        let name = self.mutate(|state, fx| state.deploy(req, false, fx))?;
        Ok(self
            .application(&name)
            .expect("the application was just deployed"))
    }

    /// Starts removing an application (dying now, gone after the removal delay). Returns the
    /// tags of the units destroyed.
    ///
    /// # Errors
    /// `application "x" not found` (`not found`).
    pub fn destroy_application(&self, app: &str) -> Result<Vec<String>, ApiError> {
        self.mutate(|state, fx| state.destroy_application(app, fx))
    }

    /// Switches an application to another charm revision (the end of the refresh sequence);
    /// units then upgrade for a while.
    ///
    /// # Errors
    /// Unknown application, charm not added to the model, another charm name, a relation the new
    /// revision could not keep, an unknown pending resource.
    pub fn refresh(&self, req: &Refresh) -> Result<(), ApiError> {
        self.mutate(|state, fx| state.refresh(req, fx))
    }

    /// Adds a relation between `app:endpoint` or bare `app` names, resolved as Juju does.
    ///
    /// # Errors
    /// Juju's messages: `application "x" not found`, `application "x" has no "y" relation`,
    /// `no relations found`, `ambiguous relation: …`, `cannot relate 3 endpoints`, and
    /// `cannot add relation "<key>": relation <key>` (`already exists`).
    pub fn add_relation(&self, endpoints: &[&str]) -> Result<RelationView, ApiError> {
        let id = self.mutate(|state, fx| state.add_relation(endpoints, false, fx))?;
        Ok(self.relation(id).expect("the relation was just added"))
    }

    /// Starts removing a relation (dying now, gone after a short delay).
    ///
    /// # Errors
    /// Unknown relation or application, or endpoint resolution errors.
    pub fn destroy_relation(&self, target: &RelationTarget) -> Result<(), ApiError> {
        self.mutate(|state, fx| state.destroy_relation(target, fx))
    }

    /// Sets config values (strings are parsed by option type; `trust` sets application trust).
    ///
    /// # Errors
    /// `application "x" not found`, `unknown option "x"`, `option "x" expected int, got "y"`.
    pub fn set_config(&self, app: &str, values: &BTreeMap<String, Value>) -> Result<(), ApiError> {
        self.mutate(|state, fx| state.set_config(app, values, fx))
    }

    /// Scales `app` to `scale` units, or by `change` units when `scale` is `None`
    /// (`Application.ScaleApplications`). Returns the new scale.
    ///
    /// # Errors
    /// `application "x" not found`, a dying application, removing more units than exist.
    pub fn scale(&self, app: &str, scale: Option<i64>, change: i64) -> Result<i64, ApiError> {
        self.mutate(|state, fx| state.scale(app, scale, change, fx))
    }

    /// Resets options to their defaults (`trust` to false).
    ///
    /// # Errors
    /// `application "x" not found`, `unknown option "x"`.
    pub fn unset_config(&self, app: &str, keys: &[String]) -> Result<(), ApiError> {
        self.mutate(|state, fx| state.unset_config(app, keys, fx))
    }

    /// Records that a charm URL was added to the model (AddCharm, deploy).
    pub fn add_charm(&self, url: &str) {
        self.lock().charms_added.insert(url.to_string());
    }

    /// Whether a charm URL was added to the model.
    pub fn has_charm(&self, url: &str) -> bool {
        self.lock().charms_added.contains(url)
    }

    /// Registers a pending resource for `app` and returns its pending id.
    ///
    /// # Errors
    /// `application "x" not found`.
    pub fn add_pending_resource(
        &self,
        app: &str,
        name: &str,
        revision: i64,
    ) -> Result<String, ApiError> {
        self.lock().add_pending_resource(app, name, revision)
    }

    /// Every application, by name.
    pub fn applications(&self) -> Vec<AppView> {
        let state = self.lock();
        state.apps.values().map(|a| self.view(&state, a)).collect()
    }

    /// One application.
    pub fn application(&self, name: &str) -> Option<AppView> {
        let state = self.lock();
        state.apps.get(name).map(|a| self.view(&state, a))
    }

    /// Every relation, by id (dying ones included; peer relations included).
    pub fn relations(&self) -> Vec<RelationView> {
        let state = self.lock();
        state.relations.values().map(relation_view).collect()
    }

    fn relation(&self, id: u64) -> Option<RelationView> {
        self.lock().relations.get(&id).map(relation_view)
    }

    /// Wakes on every change of the state (the value is a counter; read the state itself).
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.shared.changed.subscribe()
    }

    /// Events from now on. A receiver that lags loses the oldest events (broadcast semantics).
    pub fn subscribe(&self) -> broadcast::Receiver<ModelEvent> {
        self.shared.events.subscribe()
    }

    /// What the controller was asked so far.
    pub fn requests(&self) -> RequestStats {
        self.shared.stats().clone()
    }

    /// Write requests (see [`WRITE_METHODS`]) received since the model was created.
    pub fn writes_since_start(&self) -> u64 {
        self.shared.stats().writes
    }

    /// The fault knobs.
    pub fn faults(&self) -> Faults {
        Faults {
            model: self.clone(),
        }
    }

    /// Counts one arriving request and returns its global index (1-based).
    pub(crate) fn count_request(&self) -> u64 {
        let mut stats = self.shared.stats();
        stats.total += 1;
        stats.total
    }

    /// Counts a call of `Facade.Method` (and a write if it is one, keeping its params).
    pub(crate) fn count_call(&self, method: &str, params: &Value) {
        let mut stats = self.shared.stats();
        *stats.by_method.entry(method.to_string()).or_insert(0) += 1;
        if WRITE_METHODS.contains(&method) {
            stats.writes += 1;
            stats.written.push((method.to_string(), params.clone()));
        }
    }

    pub(crate) fn record_violation(&self, violation: SchemaViolation) {
        self.shared.stats().violations.push(violation);
    }

    fn set_unit_error(&self, unit: &str, hook: Option<String>) -> Result<(), ApiError> {
        let not_found = || ApiError::not_found(format!("unit {unit:?} not found"));
        let (app, number) = unit.split_once('/').ok_or_else(not_found)?;
        let number: u32 = number.parse().map_err(|_| not_found())?;
        self.mutate(|state, _| {
            let app = state.apps.get_mut(app).ok_or_else(not_found)?;
            let unit = app
                .units
                .iter_mut()
                .find(|u| u.number == number)
                .ok_or_else(not_found)?;
            unit.error_hook = hook;
            app.since = Timestamp::now();
            Ok(())
        })
    }

    fn view(&self, state: &State, app: &state::App) -> AppView {
        let ingress = &self.shared.config.ingress_address;
        let statuses: Vec<status::UnitStatuses> = (0..app.units.len())
            .map(|i| status::unit_statuses(state, app, i, ingress))
            .collect();
        let (app_status, app_message) = status::app_status(&statuses);
        let units = app
            .units
            .iter()
            .zip(&statuses)
            .enumerate()
            .map(|(i, (unit, st))| UnitView {
                name: format!("{}/{}", app.name, unit.number),
                leader: i == 0,
                workload: StatusView {
                    status: st.workload,
                    message: st.workload_message.clone(),
                    since: app.since,
                },
                agent: StatusView {
                    status: st.agent,
                    message: st.agent_message.clone(),
                    since: app.since,
                },
            })
            .collect();
        let mut relations: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for rel in state.relations.values().filter(|r| r.involves(&app.name)) {
            let Some(end) = rel.end_of(&app.name) else {
                continue;
            };
            let remotes = relations.entry(end.spec.name.clone()).or_default();
            if rel.endpoints.len() == 1 {
                remotes.push(app.name.clone());
            }
            for other in rel.endpoints.iter().filter(|e| e.app != app.name) {
                remotes.push(other.app.clone());
            }
        }
        for remotes in relations.values_mut() {
            remotes.sort();
            remotes.dedup();
        }
        AppView {
            name: app.name.clone(),
            charm: app.release.charm.clone(),
            channel: app.channel.to_string(),
            revision: app.release.revision,
            charm_url: app.release.url(),
            life: app.life,
            status: StatusView {
                status: app_status,
                message: app_message,
                since: app.since,
            },
            units,
            config: app.effective_config(),
            user_config: app.user_config.clone(),
            trust: app.trust,
            resources: app
                .resources
                .iter()
                .map(|(k, v)| (k.clone(), v.revision))
                .collect(),
            settled: app.settled(),
            relations,
            charm_id: if app.downloaded {
                app.release.charm_id()
            } else {
                String::new()
            },
            charm_hash: if app.downloaded {
                app.release.hash()
            } else {
                String::new()
            },
            instance_key: app.instance_key.clone(),
            base: app.base.clone(),
            release: app.release.clone(),
        }
    }

    /// Resource details of an application for `Resources.ListResources`:
    /// (name, revision, id, timestamp).
    pub(crate) fn resource_details(
        &self,
        app: &str,
    ) -> Result<Vec<(String, i64, String, Timestamp)>, ApiError> {
        let state = self.lock();
        let app = state.app(app)?;
        Ok(app
            .resources
            .iter()
            .map(|(name, r)| (name.clone(), r.revision, r.id.clone(), r.timestamp))
            .collect())
    }
}

fn relation_view(rel: &state::Relation) -> RelationView {
    RelationView {
        id: rel.id,
        key: rel.key.clone(),
        interface: rel.interface().to_string(),
        endpoints: rel
            .endpoints
            .iter()
            .map(|e| RelationEndpoint {
                application: e.app.clone(),
                name: e.spec.name.clone(),
                role: e.spec.role,
                interface: e.spec.interface.clone(),
                limit: e.spec.limit,
                optional: e.spec.optional,
            })
            .collect(),
        life: rel.life,
        joined: !rel.joining,
        since: rel.since,
    }
}
