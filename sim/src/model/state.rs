//! The model's state and the rules every change must pass, as Juju's state layer enforces them.
//!
//! Operations take `&mut State` and record what must happen next (events, timers) in
//! [`Effects`]; [`super::Model`] applies those after releasing the lock, so no lock is held
//! while anything else runs. Nothing here knows the wire format or tokio.

use jiff::Timestamp;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

use super::catalog::{
    Base, Catalog, Channel, EndpointSpec, Release, Role, not_in_channel_message,
    revision_not_found_message,
};
use super::timing::Change;
use super::{Access, ApiError, ModelEvent};

/// Life of an application or relation as Juju shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Life {
    /// Normal.
    Alive,
    /// Being removed.
    Dying,
}

/// Where an application is in its life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Units allocating (pod scheduling, agent download).
    Allocating,
    /// Install hook running.
    Installing,
    /// Deployed; may still be busy with activities.
    Ready,
    /// Removal in progress.
    Dying,
}

/// A short piece of work that makes an application's agents `executing`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ActivityKind {
    /// upgrade-charm after a refresh.
    Refresh,
    /// relation-joined/changed hooks on the named endpoint.
    Relate { relation: u64, endpoint: String },
    /// relation-departed/broken hooks on the named endpoint.
    Unrelate { endpoint: String },
    /// config-changed.
    Config,
}

#[derive(Debug, Clone)]
pub(crate) struct Activity {
    pub id: u64,
    pub kind: ActivityKind,
}

#[derive(Debug, Clone)]
pub(crate) struct Unit {
    pub number: u32,
    pub error_hook: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct AppResource {
    pub revision: i64,
    pub id: String,
    pub timestamp: Timestamp,
}

#[derive(Debug, Clone)]
pub(crate) struct App {
    /// Unique per deployment, so timers of a removed incarnation do nothing to a new one.
    pub uid: u64,
    pub name: String,
    pub release: Release,
    pub channel: Channel,
    pub life: Life,
    pub phase: Phase,
    pub busy: Vec<Activity>,
    /// Values set by the user (absent = default).
    pub user_config: BTreeMap<String, Value>,
    pub trust: bool,
    pub units: Vec<Unit>,
    pub resources: BTreeMap<String, AppResource>,
    /// The base the application runs on (its charm origin's platform).
    pub base: Base,
    /// Whether the charm download finished (origin id/hash known).
    pub downloaded: bool,
    pub instance_key: String,
    pub since: Timestamp,
}

impl App {
    /// Deployed, alive and not busy: what "settled" means for events and status.
    pub fn settled(&self) -> bool {
        self.phase == Phase::Ready && self.busy.is_empty() && self.life == Life::Alive
    }

    /// Effective value of every option with a value (user value, else default).
    pub fn effective_config(&self) -> BTreeMap<String, Value> {
        self.release
            .config
            .values()
            .filter_map(|opt| {
                self.user_config
                    .get(&opt.name)
                    .or(opt.default.as_ref())
                    .map(|v| (opt.name.clone(), v.clone()))
            })
            .collect()
    }

    /// Effective value of one option as a string (empty if unset).
    pub fn config_string(&self, key: &str) -> String {
        match self.effective_config().get(key) {
            Some(Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
            None => String::new(),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct RelEnd {
    pub app: String,
    pub spec: EndpointSpec,
}

impl RelEnd {
    fn label(&self) -> String {
        format!("{}:{}", self.app, self.spec.name)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Relation {
    pub id: u64,
    pub key: String,
    pub endpoints: Vec<RelEnd>,
    pub life: Life,
    pub joining: bool,
    pub since: Timestamp,
}

impl Relation {
    pub fn involves(&self, app: &str) -> bool {
        self.endpoints.iter().any(|e| e.app == app)
    }

    pub fn end_of(&self, app: &str) -> Option<&RelEnd> {
        self.endpoints.iter().find(|e| e.app == app)
    }

    pub fn interface(&self) -> &str {
        self.endpoints
            .first()
            .map(|e| e.spec.interface.as_str())
            .unwrap_or("")
    }
}

#[derive(Clone)]
pub(crate) struct User {
    pub password: String,
    pub access: Access,
}

impl std::fmt::Debug for User {
    /// Passwords never appear in Debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("password", &"<redacted>")
            .field("access", &self.access)
            .finish()
    }
}

#[derive(Debug, Clone)]
pub(crate) struct PendingResource {
    pub app: String,
    pub name: String,
    pub revision: i64,
}

/// What happens after a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timer {
    DeployAllocated { uid: u64 },
    DeployInstalled { uid: u64 },
    ActivityDone { uid: u64, id: u64 },
    Removed { uid: u64 },
    RelationJoined { id: u64 },
    RelationGone { id: u64 },
}

/// Events and timers produced by an operation, applied by the model once the lock is released.
#[derive(Debug, Default)]
pub(crate) struct Effects {
    pub events: Vec<ModelEvent>,
    /// Timers with base delays not yet scaled: (change, app whose faults apply, timer).
    pub pending: Vec<(Change, String, Timer)>,
}

impl Effects {
    fn after(&mut self, change: Change, app: &str, timer: Timer) {
        self.pending.push((change, app.to_string(), timer));
    }
}

/// A deployment request (DeployFromRepository, `deploy_settled`).
#[derive(Debug, Clone, Default)]
pub struct Deploy {
    /// Application name (defaults to the charm name when empty).
    pub application: String,
    /// Charm name on Charmhub.
    pub charm: String,
    /// Channel; `None` = `stable`.
    pub channel: Option<String>,
    /// Specific revision (`--revision`): installed whatever channel it was released to, the
    /// channel only recorded for later refreshes, as Charmhub's install by revision does.
    pub revision: Option<i64>,
    /// Requested base (`--base`); `None` takes the release's first (its default).
    pub base: Option<Base>,
    /// Number of units (0 is taken as 1).
    pub num_units: u32,
    /// Config values: strings are parsed by option type, other JSON values checked against it.
    /// The key `trust` sets application trust.
    pub config: BTreeMap<String, Value>,
    /// `--trust`.
    pub trust: bool,
}

/// A refresh request (the end of the SetCharm sequence).
#[derive(Debug, Clone, Default)]
pub struct Refresh {
    /// Application to refresh.
    pub application: String,
    /// Charm URL with revision, e.g. `ch:amd64/istio-k8s-61`.
    pub charm_url: String,
    /// Channel the application tracks from now on; `None` keeps the current one.
    pub channel: Option<Channel>,
    /// Resource name → pending id from AddPendingResources.
    pub resource_ids: BTreeMap<String, String>,
    /// Config changes applied with the refresh (strings parsed by the new charm's types; the
    /// application setting `trust` sets trust, as `--trust` does).
    pub config: BTreeMap<String, String>,
    /// The base of the new charm origin; `None` keeps the current one. Juju stores the origin it
    /// is given: for a Kubernetes sidecar charm nothing checks it against the charm's bases
    /// (`state/application.go` `validateSetCharmConfig` at v3.6.11 checks only v1 and machine
    /// charms), so a refresh resolved to a fallback base moves the application there.
    pub base: Option<Base>,
}

/// Which relation to destroy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelationTarget {
    /// By endpoints, as `juju remove-relation a:x b:y`.
    Endpoints(Vec<String>),
    /// By relation id.
    Id(u64),
}

#[derive(Debug, Default)]
pub(crate) struct State {
    pub apps: BTreeMap<String, App>,
    pub relations: BTreeMap<u64, Relation>,
    pub next_relation_id: u64,
    pub next_uid: u64,
    pub unit_sequence: BTreeMap<String, u32>,
    pub users: BTreeMap<String, User>,
    pub charms_added: BTreeSet<String>,
    pub pending: BTreeMap<String, PendingResource>,
}

/// A base channel as `corebase.ParseChannelNormalize` writes it: a missing risk is `stable`
/// (`core/base/channel.go` at v3.6.11).
fn normalised_base_channel(channel: &str) -> String {
    if channel.contains('/') || channel == "kubernetes" {
        channel.to_string()
    } else {
        format!("{channel}/stable")
    }
}

/// Parses `ch:amd64/name-12`, `ch:amd64/jammy/name-12`, `ch:name` into (name, revision).
///
/// # Errors
/// `unknown schema for charm URL "cs:x"` when the schema is not `ch`.
pub fn parse_charm_url(url: &str) -> Result<(String, Option<i64>), ApiError> {
    let rest = match url.split_once(':') {
        Some(("ch", rest)) => rest,
        _ => {
            return Err(ApiError::plain(format!(
                "unknown schema for charm URL {url:?}"
            )));
        }
    };
    let last = rest.rsplit('/').next().unwrap_or(rest);
    if last.is_empty() {
        return Err(ApiError::plain(format!("cannot parse charm URL {url:?}")));
    }
    if let Some((name, rev)) = last.rsplit_once('-')
        && !rev.is_empty()
        && rev.bytes().all(|b| b.is_ascii_digit())
        && let Ok(rev) = rev.parse::<i64>()
    {
        return Ok((name.to_string(), Some(rev)));
    }
    Ok((last.to_string(), None))
}

impl State {
    fn uid(&mut self) -> u64 {
        self.next_uid += 1;
        self.next_uid
    }

    pub fn app(&self, name: &str) -> Result<&App, ApiError> {
        self.apps
            .get(name)
            .ok_or_else(|| ApiError::application_not_found(name))
    }

    pub fn app_mut(&mut self, name: &str) -> Result<&mut App, ApiError> {
        self.apps
            .get_mut(name)
            .ok_or_else(|| ApiError::application_not_found(name))
    }

    /// Relations of `app` that are alive.
    pub fn relations_of(&self, app: &str) -> impl Iterator<Item = &Relation> {
        self.relations
            .values()
            .filter(move |r| r.involves(app) && r.life == Life::Alive)
    }

    /// Whether `app` has an alive relation on `endpoint`.
    pub fn related_on(&self, app: &str, endpoint: &str) -> bool {
        self.relation_on(app, endpoint).is_some()
    }

    /// The first alive relation of `app` on `endpoint`.
    pub fn relation_on(&self, app: &str, endpoint: &str) -> Option<&Relation> {
        self.relations_of(app)
            .find(|r| r.end_of(app).is_some_and(|e| e.spec.name == endpoint))
    }

    /// The other application of a two-sided relation.
    pub fn remote_of<'a>(&'a self, rel: &'a Relation, app: &str) -> Option<&'a App> {
        let other = rel.endpoints.iter().find(|e| e.app != app)?;
        self.apps.get(&other.app)
    }

    /// An alive application running `charm`.
    pub fn app_by_charm(&self, charm: &str) -> Option<&App> {
        self.apps
            .values()
            .find(|a| a.release.charm == charm && a.life == Life::Alive)
    }

    pub fn deploy(
        &mut self,
        req: &Deploy,
        settled: bool,
        fx: &mut Effects,
    ) -> Result<String, ApiError> {
        let name = if req.application.is_empty() {
            req.charm.clone()
        } else {
            req.application.clone()
        };
        let catalog = Catalog::get();
        let channel: Channel = req
            .channel
            .as_deref()
            .unwrap_or("stable")
            .parse()
            .map_err(ApiError::not_valid)?;
        if !catalog.has_charm(&req.charm) {
            return Err(ApiError::not_found(format!(
                "resolving with preferred channel: charm {:?} not found",
                req.charm
            )));
        }
        // `deployFromRepositoryValidator.createOrigin`/`deducePlatform`
        // (`apiserver/facades/client/application/deployrepository.go` at v3.6.11): the platform
        // is `amd64` plus the requested base with its normalised channel (`22.04/stable`); the
        // twin's model sets no default-base, so without `--base` it is `amd64` alone.
        let platform = match &req.base {
            Some(b) => format!("amd64/{}/{}", b.name, normalised_base_channel(&b.channel)),
            None => "amd64".to_string(),
        };
        let release = match req.revision {
            // `ResolveForDeploy` with a revision and no id installs that revision
            // (`core/charm/repository/charmhub.go` `refreshConfig`, `MethodRevision`).
            Some(rev) => catalog
                .release_by_revision(&req.charm, rev)
                .ok_or_else(|| {
                    ApiError::plain(revision_not_found_message(
                        catalog,
                        &req.charm,
                        &channel.to_string(),
                        channel.branch.is_some(),
                        &platform,
                    ))
                })?,
            None => catalog
                .release(&req.charm, &channel)
                .ok_or_else(|| ApiError::not_found(not_in_channel_message(&req.charm, &channel)))?,
        }
        .clone();
        // `resolveCharm`'s base selection (`core/charm/baseselector.go` `userRequested` at
        // v3.6.11): a requested base must be one the charm supports; the origin keeps its track.
        let base = match &req.base {
            None => release.bases.first().cloned().unwrap_or_else(Base::jammy),
            Some(wanted) if release.bases.iter().any(|b| b.is_compatible(wanted)) => Base {
                name: wanted.name.clone(),
                channel: wanted
                    .channel
                    .split('/')
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            },
            Some(wanted) => {
                let supported: Vec<String> = release.bases.iter().map(Base::to_string).collect();
                return Err(ApiError::plain(format!(
                    "base \"{}@{}\" is not supported, supported bases are: {}",
                    wanted.name,
                    normalised_base_channel(&wanted.channel),
                    supported.join(", ")
                )));
            }
        };
        if self.apps.contains_key(&name) {
            return Err(ApiError::already_exists(format!(
                "cannot add application {name:?}: application already exists"
            )));
        }
        let mut user_config = BTreeMap::new();
        let mut trust = req.trust;
        for (key, value) in &req.config {
            if key == "trust" {
                trust = parse_trust(value)?;
                continue;
            }
            let opt = release
                .config
                .get(key)
                .ok_or_else(|| ApiError::plain(format!("unknown option {key:?}")))?;
            let v = opt.kind.coerce(key, value).map_err(ApiError::plain)?;
            user_config.insert(key.clone(), v);
        }
        let now = Timestamp::now();
        let uid = self.uid();
        let seq = self.unit_sequence.entry(name.clone()).or_insert(0);
        let mut units = Vec::new();
        for _ in 0..req.num_units.max(1) {
            units.push(Unit {
                number: *seq,
                error_hook: None,
            });
            *seq += 1;
        }
        let resources = release
            .resources
            .iter()
            .map(|r| {
                (
                    r.name.clone(),
                    AppResource {
                        revision: r.revision,
                        id: format!("{name}/{}", r.name),
                        timestamp: now,
                    },
                )
            })
            .collect();
        self.charms_added.insert(release.url());
        let app = App {
            uid,
            name: name.clone(),
            channel: channel.clone(),
            life: Life::Alive,
            phase: if settled {
                Phase::Ready
            } else {
                Phase::Allocating
            },
            busy: Vec::new(),
            user_config,
            trust,
            units,
            resources,
            base,
            downloaded: settled,
            instance_key: instance_key(&name, uid),
            since: now,
            release,
        };
        fx.events.push(ModelEvent::Deployed {
            app: name.clone(),
            charm: app.release.charm.clone(),
            channel: channel.to_string(),
        });
        let peers: Vec<EndpointSpec> = app
            .release
            .endpoints
            .iter()
            .filter(|e| e.role == Role::Peer)
            .cloned()
            .collect();
        self.apps.insert(name.clone(), app);
        // Juju creates peer relations itself when the application is added.
        for spec in peers {
            self.insert_relation(
                vec![RelEnd {
                    app: name.clone(),
                    spec,
                }],
                false,
                fx,
            );
        }
        if settled {
            fx.events.push(ModelEvent::Settled { app: name.clone() });
        } else {
            fx.after(Change::Allocate, &name, Timer::DeployAllocated { uid });
        }
        Ok(name)
    }

    pub fn destroy_application(
        &mut self,
        name: &str,
        fx: &mut Effects,
    ) -> Result<Vec<String>, ApiError> {
        let app = self.app_mut(name)?;
        let units: Vec<String> = app
            .units
            .iter()
            .map(|u| format!("unit-{}-{}", app.name, u.number))
            .collect();
        if app.life == Life::Dying {
            return Ok(units);
        }
        app.life = Life::Dying;
        app.phase = Phase::Dying;
        app.busy.clear();
        app.since = Timestamp::now();
        let uid = app.uid;
        let change = if app.release.charm == "istio-pilot" {
            Change::RemovePurge
        } else {
            Change::Remove
        };
        for rel in self.relations.values_mut().filter(|r| r.involves(name)) {
            rel.life = Life::Dying;
        }
        fx.events.push(ModelEvent::Dying {
            app: name.to_string(),
        });
        fx.after(change, name, Timer::Removed { uid });
        Ok(units)
    }

    pub fn refresh(&mut self, req: &Refresh, fx: &mut Effects) -> Result<(), ApiError> {
        let (charm, revision) = parse_charm_url(&req.charm_url)?;
        let app = self.app(&req.application)?;
        if app.life != Life::Alive {
            return Err(ApiError::plain(format!(
                "cannot upgrade application {:?} to charm {:?}: application is not alive",
                app.name, req.charm_url
            )));
        }
        if !self.charms_added.contains(&req.charm_url) {
            return Err(ApiError::not_found(format!(
                "charm {:?} not found",
                req.charm_url
            )));
        }
        if charm != app.release.charm {
            return Err(ApiError::plain(format!(
                "cannot upgrade application {:?} to charm {:?}: cannot change an application's charm",
                app.name, req.charm_url
            )));
        }
        let catalog = Catalog::get();
        let release = revision
            .and_then(|rev| catalog.release_by_revision(&charm, rev))
            .ok_or_else(|| ApiError::not_found(format!("charm {:?} not found", req.charm_url)))?
            .clone();
        // Juju refuses an upgrade that would leave a relation without its endpoint.
        for rel in self.relations.values().filter(|r| r.involves(&app.name)) {
            for end in rel.endpoints.iter().filter(|e| e.app == app.name) {
                let keeps = release
                    .endpoint(&end.spec.name)
                    .is_some_and(|e| e.interface == end.spec.interface && e.role == end.spec.role);
                if !keeps {
                    return Err(ApiError::plain(format!(
                        "cannot upgrade application {:?} to charm {:?}: would break relation {:?}",
                        app.name, req.charm_url, rel.key
                    )));
                }
            }
        }
        let mut new_resources = BTreeMap::new();
        let now = Timestamp::now();
        for spec in &release.resources {
            let res = if let Some(pending_id) = req.resource_ids.get(&spec.name) {
                let pending = self.pending.get(pending_id).ok_or_else(|| {
                    ApiError::not_found(format!("pending resource {pending_id:?} not found"))
                })?;
                if pending.app != app.name || pending.name != spec.name {
                    return Err(ApiError::bad_request(format!(
                        "pending resource {pending_id:?} is not {:?} of application {:?}",
                        spec.name, app.name
                    )));
                }
                AppResource {
                    revision: pending.revision,
                    id: format!("{}/{}", app.name, spec.name),
                    timestamp: now,
                }
            } else if let Some(existing) = app.resources.get(&spec.name) {
                existing.clone()
            } else {
                AppResource {
                    revision: spec.revision,
                    id: format!("{}/{}", app.name, spec.name),
                    timestamp: now,
                }
            };
            new_resources.insert(spec.name.clone(), res);
        }
        let mut user_config: BTreeMap<String, Value> = app
            .user_config
            .iter()
            .filter(|(k, _)| release.config.contains_key(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut trust = app.trust;
        for (key, raw) in &req.config {
            // An application setting, split from the charm's as `parseCharmSettings` does.
            if key == "trust" {
                trust = parse_trust(&Value::String(raw.clone()))?;
                continue;
            }
            let opt = release
                .config
                .get(key)
                .ok_or_else(|| ApiError::plain(format!("unknown option {key:?}")))?;
            user_config.insert(
                key.clone(),
                opt.kind.parse(key, raw).map_err(ApiError::plain)?,
            );
        }
        for id in req.resource_ids.values() {
            self.pending.remove(id);
        }
        let activity = self.uid();
        let app = self.app_mut(&req.application)?;
        app.channel = req.channel.clone().unwrap_or_else(|| app.channel.clone());
        app.release = release;
        app.resources = new_resources;
        app.user_config = user_config;
        if let Some(base) = &req.base {
            app.base = base.clone();
        }
        let trust_changed = app.trust != trust;
        app.trust = trust;
        app.since = now;
        app.busy.push(Activity {
            id: activity,
            kind: ActivityKind::Refresh,
        });
        let uid = app.uid;
        fx.events.push(ModelEvent::Refreshed {
            app: app.name.clone(),
            charm: app.release.charm.clone(),
            channel: app.channel.to_string(),
            revision: app.release.revision,
        });
        // SetCharm applies application settings after the charm (`applicationSetCharm`).
        if trust_changed {
            fx.events.push(ModelEvent::TrustChanged {
                app: app.name.clone(),
                trust,
            });
        }
        let name = app.name.clone();
        fx.after(
            Change::Refresh,
            &name,
            Timer::ActivityDone { uid, id: activity },
        );
        Ok(())
    }

    /// Juju's `InferEndpoints`: resolves `app` / `app:endpoint` names to the relation they mean.
    pub fn infer_endpoints(&self, names: &[&str]) -> Result<Vec<RelEnd>, ApiError> {
        let mut candidates: Vec<Vec<RelEnd>> = Vec::new();
        match names {
            [one] => {
                for ep in self.endpoints(one, |e| e.role == Role::Peer)? {
                    candidates.push(vec![ep]);
                }
            }
            [a, b] => {
                let eps1 = self.endpoints(a, |e| e.role != Role::Peer)?;
                let eps2 = self.endpoints(b, |e| e.role != Role::Peer)?;
                for e1 in &eps1 {
                    for e2 in &eps2 {
                        if can_relate(e1, e2) {
                            candidates.push(vec![e1.clone(), e2.clone()]);
                        }
                    }
                }
            }
            _ => {
                return Err(ApiError::plain(format!(
                    "cannot relate {} endpoints",
                    names.len()
                )));
            }
        }
        match candidates.len() {
            0 => return Err(ApiError::plain("no relations found")),
            1 => return Ok(candidates.remove(0)),
            _ => {}
        }
        let filtered: Vec<&Vec<RelEnd>> = candidates
            .iter()
            .filter(|c| c.iter().all(|e| !e.spec.implicit))
            .collect();
        if let [only] = filtered.as_slice() {
            return Ok((*only).clone());
        }
        let mut keys: Vec<String> = candidates
            .iter()
            .map(|c| format!("{:?}", relation_key(c)))
            .collect();
        keys.sort();
        Err(ApiError::plain(format!(
            "ambiguous relation: {:?} could refer to {}",
            names.join(" "),
            keys.join("; ")
        )))
    }

    fn endpoints(
        &self,
        name: &str,
        filter: impl Fn(&EndpointSpec) -> bool,
    ) -> Result<Vec<RelEnd>, ApiError> {
        let (app_name, rel_name) = match name.find(':') {
            None => (name, ""),
            Some(i) if i != 0 && i != name.len() - 1 => (&name[..i], &name[i + 1..]),
            Some(_) => return Err(ApiError::plain(format!("invalid endpoint {name:?}"))),
        };
        let app = self.app(app_name)?;
        let specs: Vec<&EndpointSpec> = if rel_name.is_empty() {
            app.release.endpoints.iter().collect()
        } else {
            vec![app.release.endpoint(rel_name).ok_or_else(|| {
                ApiError::plain(format!(
                    "application {app_name:?} has no {rel_name:?} relation"
                ))
            })?]
        };
        Ok(specs
            .into_iter()
            .filter(|s| filter(s))
            .map(|s| RelEnd {
                app: app_name.to_string(),
                spec: s.clone(),
            })
            .collect())
    }

    pub fn add_relation(
        &mut self,
        names: &[&str],
        settled: bool,
        fx: &mut Effects,
    ) -> Result<u64, ApiError> {
        let ends = self.infer_endpoints(names)?;
        let key = relation_key(&ends);
        for end in &ends {
            let app = self.app(&end.app)?;
            if app.life != Life::Alive {
                return Err(ApiError::plain(format!(
                    "cannot add relation {key:?}: application {:?} is not alive",
                    end.app
                )));
            }
        }
        if let Some(existing) = self.relations.values().find(|r| r.key == key) {
            let message = match existing.life {
                Life::Alive => format!("cannot add relation {key:?}: relation {key}"),
                Life::Dying => {
                    format!(
                        "cannot add relation {key:?}: relation {key} is dying, but not yet removed"
                    )
                }
            };
            return Err(ApiError::already_exists(message));
        }
        Ok(self.insert_relation(ends, !settled, fx))
    }

    fn insert_relation(&mut self, mut ends: Vec<RelEnd>, joining: bool, fx: &mut Effects) -> u64 {
        sort_ends(&mut ends);
        self.next_relation_id += 1;
        let id = self.next_relation_id;
        let key = relation_key(&ends);
        let now = Timestamp::now();
        fx.events.push(ModelEvent::RelationAdded {
            id,
            key: key.clone(),
            endpoints: ends
                .iter()
                .map(|e| (e.app.clone(), e.spec.name.clone()))
                .collect(),
        });
        if joining {
            for end in &ends {
                let activity = self.uid();
                if let Some(app) = self.apps.get_mut(&end.app) {
                    app.busy.push(Activity {
                        id: activity,
                        kind: ActivityKind::Relate {
                            relation: id,
                            endpoint: end.spec.name.clone(),
                        },
                    });
                    app.since = now;
                }
            }
            let app = ends.first().map(|e| e.app.clone()).unwrap_or_default();
            fx.after(Change::Relate, &app, Timer::RelationJoined { id });
        }
        self.relations.insert(
            id,
            Relation {
                id,
                key,
                endpoints: ends,
                life: Life::Alive,
                joining,
                since: now,
            },
        );
        id
    }

    pub fn destroy_relation(
        &mut self,
        target: &RelationTarget,
        fx: &mut Effects,
    ) -> Result<(), ApiError> {
        let id = match target {
            RelationTarget::Id(id) => {
                if !self.relations.contains_key(id) {
                    return Err(ApiError::not_found(format!("relation {id} not found")));
                }
                *id
            }
            RelationTarget::Endpoints(names) => {
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                let ends = self.infer_endpoints(&names)?;
                let key = relation_key(&ends);
                self.relations
                    .values()
                    .find(|r| r.key == key)
                    .map(|r| r.id)
                    .ok_or_else(|| ApiError::not_found(format!("relation {key:?} not found")))?
            }
        };
        let rel = self
            .relations
            .get_mut(&id)
            .expect("relation id checked just above");
        if rel.life == Life::Dying {
            return Ok(());
        }
        rel.life = Life::Dying;
        let app = rel
            .endpoints
            .first()
            .map(|e| e.app.clone())
            .unwrap_or_default();
        fx.after(Change::Unrelate, &app, Timer::RelationGone { id });
        Ok(())
    }

    /// Applies `SetConfigs` for one application: all values or none.
    pub fn set_config(
        &mut self,
        app_name: &str,
        values: &BTreeMap<String, Value>,
        fx: &mut Effects,
    ) -> Result<(), ApiError> {
        let app = self.app(app_name)?;
        let mut config = app.user_config.clone();
        let mut trust = app.trust;
        for (key, value) in values {
            if key == "trust" {
                trust = parse_trust(value)?;
                continue;
            }
            let opt = app
                .release
                .config
                .get(key)
                .ok_or_else(|| ApiError::plain(format!("unknown option {key:?}")))?;
            config.insert(
                key.clone(),
                opt.kind.coerce(key, value).map_err(ApiError::plain)?,
            );
        }
        self.commit_config(app_name, config, trust, fx)
    }

    /// Sets the number of units of `name`, as `Application.SetScale` does on a Kubernetes model
    /// (`state/application.go` at v3.6.11); `change` instead adds or removes units
    /// (`ChangeScale`). Returns the new scale.
    ///
    /// Juju records the desired scale and its provisioner then starts or stops pods (the highest
    /// ordinals first, as a StatefulSet does). The twin adds or removes the units at once and
    /// emits [`ModelEvent::Scaled`], so that the Kubernetes side follows; new units of a settled
    /// application show settled at once, where Juju's would allocate first.
    pub fn scale(
        &mut self,
        name: &str,
        scale: Option<i64>,
        change: i64,
        fx: &mut Effects,
    ) -> Result<i64, ApiError> {
        let app = self.app(name)?;
        let current = app.units.len() as i64;
        let target = match scale {
            Some(n) => n,
            None => current + change,
        };
        if scale.is_none() && target < 0 {
            return Err(ApiError::not_valid(
                "cannot remove more units than currently exist not valid",
            ));
        }
        if app.life != Life::Alive {
            return Err(ApiError::plain(format!(
                "cannot set scale for application {name:?} to {target}: application is not alive"
            )));
        }
        let target_units = usize::try_from(target)
            .map_err(|_| ApiError::not_valid(format!("application scale {target} not valid")))?;
        let seq = self.unit_sequence.entry(name.to_string()).or_insert(0);
        let mut added = Vec::new();
        while current as usize + added.len() < target_units {
            added.push(Unit {
                number: *seq,
                error_hook: None,
            });
            *seq += 1;
        }
        let app = self.app_mut(name)?;
        app.units.extend(added);
        app.units.sort_by_key(|u| u.number);
        app.units.truncate(target_units);
        app.since = Timestamp::now();
        fx.events.push(ModelEvent::Scaled {
            app: name.to_string(),
            scale: target,
        });
        Ok(target)
    }

    /// Applies `UnsetApplicationsConfig` for one application.
    pub fn unset_config(
        &mut self,
        app_name: &str,
        keys: &[String],
        fx: &mut Effects,
    ) -> Result<(), ApiError> {
        let app = self.app(app_name)?;
        let mut config = app.user_config.clone();
        let mut trust = app.trust;
        for key in keys {
            if key == "trust" {
                trust = false;
            } else if app.release.config.contains_key(key) {
                config.remove(key);
            } else {
                return Err(ApiError::plain(format!("unknown option {key:?}")));
            }
        }
        self.commit_config(app_name, config, trust, fx)
    }

    fn commit_config(
        &mut self,
        app_name: &str,
        config: BTreeMap<String, Value>,
        trust: bool,
        fx: &mut Effects,
    ) -> Result<(), ApiError> {
        let activity = self.uid();
        let app = self.app_mut(app_name)?;
        let before = app.effective_config();
        let trust_before = app.trust;
        app.user_config = config;
        app.trust = trust;
        let after = app.effective_config();
        let mut changed = false;
        for key in before.keys().chain(after.keys()).collect::<BTreeSet<_>>() {
            if before.get(key) != after.get(key) {
                changed = true;
                fx.events.push(ModelEvent::ConfigChanged {
                    app: app.name.clone(),
                    key: key.clone(),
                    value: app.config_string(key),
                });
            }
        }
        if trust != trust_before {
            changed = true;
            fx.events.push(ModelEvent::TrustChanged {
                app: app.name.clone(),
                trust,
            });
        }
        // Juju runs config-changed only when a value really changed.
        if changed && app.life == Life::Alive {
            app.busy.push(Activity {
                id: activity,
                kind: ActivityKind::Config,
            });
            app.since = Timestamp::now();
            let uid = app.uid;
            fx.after(
                Change::Config,
                app_name,
                Timer::ActivityDone { uid, id: activity },
            );
        }
        Ok(())
    }

    /// Runs a timer. Stale timers (the application was removed and maybe re-deployed) do nothing.
    pub fn fire(&mut self, timer: Timer, fx: &mut Effects) {
        let settled_before: BTreeSet<String> = self
            .apps
            .values()
            .filter(|a| a.settled())
            .map(|a| a.name.clone())
            .collect();
        let now = Timestamp::now();
        match timer {
            Timer::DeployAllocated { uid } => {
                if let Some(app) = self.apps.values_mut().find(|a| a.uid == uid)
                    && app.phase == Phase::Allocating
                {
                    app.phase = Phase::Installing;
                    app.downloaded = true;
                    app.since = now;
                    let name = app.name.clone();
                    fx.after(Change::Install, &name, Timer::DeployInstalled { uid });
                }
            }
            Timer::DeployInstalled { uid } => {
                if let Some(app) = self.apps.values_mut().find(|a| a.uid == uid)
                    && app.phase == Phase::Installing
                {
                    app.phase = Phase::Ready;
                    app.since = now;
                }
            }
            Timer::ActivityDone { uid, id } => {
                if let Some(app) = self.apps.values_mut().find(|a| a.uid == uid) {
                    app.busy.retain(|a| a.id != id);
                    app.since = now;
                }
            }
            Timer::Removed { uid } => {
                let Some(name) = self
                    .apps
                    .values()
                    .find(|a| a.uid == uid && a.life == Life::Dying)
                    .map(|a| a.name.clone())
                else {
                    return;
                };
                let app = self.apps.remove(&name).expect("found just above");
                self.pending.retain(|_, p| p.app != name);
                let gone: Vec<u64> = self
                    .relations
                    .values()
                    .filter(|r| r.involves(&name))
                    .map(|r| r.id)
                    .collect();
                for id in gone {
                    self.remove_relation(id, fx);
                }
                fx.events.push(ModelEvent::Removed {
                    app: name,
                    charm: app.release.charm,
                });
            }
            Timer::RelationJoined { id } => {
                if let Some(rel) = self.relations.get_mut(&id) {
                    rel.joining = false;
                    rel.since = now;
                }
                for app in self.apps.values_mut() {
                    app.busy.retain(|a| {
                        !matches!(&a.kind, ActivityKind::Relate { relation, .. } if *relation == id)
                    });
                }
            }
            Timer::RelationGone { id } => self.remove_relation(id, fx),
        }
        for app in self.apps.values() {
            if app.settled() && !settled_before.contains(&app.name) {
                fx.events.push(ModelEvent::Settled {
                    app: app.name.clone(),
                });
            }
        }
    }

    /// Removes a relation; the applications left on it run their departed hooks.
    fn remove_relation(&mut self, id: u64, fx: &mut Effects) {
        let Some(rel) = self.relations.remove(&id) else {
            return;
        };
        for end in &rel.endpoints {
            let activity = self.uid();
            if let Some(app) = self.apps.get_mut(&end.app)
                && app.life == Life::Alive
            {
                app.busy.retain(|a| {
                    !matches!(&a.kind, ActivityKind::Relate { relation, .. } if *relation == id)
                });
                app.busy.push(Activity {
                    id: activity,
                    kind: ActivityKind::Unrelate {
                        endpoint: end.spec.name.clone(),
                    },
                });
                app.since = Timestamp::now();
                let uid = app.uid;
                let name = app.name.clone();
                fx.after(
                    Change::Unrelate,
                    &name,
                    Timer::ActivityDone { uid, id: activity },
                );
            }
        }
        fx.events
            .push(ModelEvent::RelationRemoved { id, key: rel.key });
    }

    pub fn add_pending_resource(
        &mut self,
        app: &str,
        name: &str,
        revision: i64,
    ) -> Result<String, ApiError> {
        self.app(app)?;
        let id = format!("{:08x}-pending-{}", self.uid(), name);
        self.pending.insert(
            id.clone(),
            PendingResource {
                app: app.to_string(),
                name: name.to_string(),
                revision,
            },
        );
        Ok(id)
    }
}

fn parse_trust(value: &Value) -> Result<bool, ApiError> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) => super::catalog::parse_go_bool(s)
            .ok_or_else(|| ApiError::plain(format!("trust: expected bool, got string({s:?})"))),
        other => Err(ApiError::plain(format!(
            "trust: expected bool, got {other}"
        ))),
    }
}

fn can_relate(a: &RelEnd, b: &RelEnd) -> bool {
    a.app != b.app
        && a.spec.interface == b.spec.interface
        && a.spec.role != Role::Peer
        && a.spec.role.counterpart() == b.spec.role
}

/// Juju's endpoint order (`state/relation.go` epSlice): requirer, provider, peer; ties by
/// `app:endpoint`.
fn sort_ends(ends: &mut [RelEnd]) {
    let order = |r: Role| match r {
        Role::Requirer => 0,
        Role::Provider => 1,
        Role::Peer => 2,
    };
    ends.sort_by(|a, b| {
        order(a.spec.role)
            .cmp(&order(b.spec.role))
            .then_with(|| a.label().cmp(&b.label()))
    });
}

/// Juju's relation key: the endpoints in canonical order, joined by a space.
pub(crate) fn relation_key(ends: &[RelEnd]) -> String {
    let mut sorted = ends.to_vec();
    sort_ends(&mut sorted);
    sorted
        .iter()
        .map(RelEnd::label)
        .collect::<Vec<_>>()
        .join(" ")
}

fn instance_key(name: &str, uid: u64) -> String {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut h = DefaultHasher::new();
    (name, uid, "instance-key").hash(&mut h);
    let a = h.finish();
    uid.hash(&mut h);
    let b = h.finish();
    format!("{a:016x}{b:06x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_stay_out_of_debug_output() {
        let user = User {
            password: "hunter2".into(),
            access: Access::Admin,
        };
        assert!(!format!("{user:?}").contains("hunter2"));
    }

    #[test]
    fn charm_urls_parse_with_and_without_revision_and_series() {
        assert_eq!(
            parse_charm_url("ch:amd64/istio-pilot-1234").expect("parses"),
            ("istio-pilot".to_string(), Some(1234))
        );
        assert_eq!(
            parse_charm_url("ch:amd64/jammy/kfp-api-12").expect("parses"),
            ("kfp-api".to_string(), Some(12))
        );
        assert_eq!(
            parse_charm_url("ch:amd64/istio-k8s").expect("parses"),
            ("istio-k8s".to_string(), None)
        );
        assert_eq!(
            parse_charm_url("cs:foo").expect_err("cs refused").message,
            r#"unknown schema for charm URL "cs:foo""#
        );
    }
}
