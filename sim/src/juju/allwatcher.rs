//! The AllWatcher: `Client.WatchAll` starts one, `AllWatcher.Next` blocks until the model changed
//! and returns the deltas, `AllWatcher.Stop` ends it.
//!
//! As Juju's multiwatcher does (`state/allwatcher.go`, `core/multiwatcher`): the first `Next`
//! returns every entity; each later one returns the entities that changed since the previous
//! `Next`, each in full, and a `remove` delta (with the last entity sent) for each one that is
//! gone. Deltas are `[kind, "change"|"remove", entity]` arrays (`rpc/params/multiwatcher.go`,
//! `Delta.MarshalJSON`), with the entity fields of `ApplicationInfo`, `UnitInfo` and
//! `RelationInfo` at v3.6.11. A watcher belongs to its connection: ids are per connection, and
//! it dies with it. The twin sends applications, units and relations: the kinds a client waiting
//! on a model needs (machines do not exist on Kubernetes models; charms, annotations, actions and
//! the rest are not modelled).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::model::{ApiError, AppView, Life, Model, RelationView, StatusView, code};

/// The watchers of one connection.
#[derive(Default)]
pub(crate) struct Watchers {
    next_id: u64,
    by_id: HashMap<String, Arc<Watcher>>,
}

/// One watcher: what it last sent, by (kind, id).
pub(crate) struct Watcher {
    sent: Mutex<Option<BTreeMap<(&'static str, String), Value>>>,
    stopped: Notify,
    is_stopped: Mutex<bool>,
}

impl Watchers {
    /// `Client.WatchAll`: a new watcher; its first `Next` returns the whole model.
    pub fn start(&mut self) -> Value {
        self.next_id += 1;
        let id = self.next_id.to_string();
        self.by_id.insert(
            id.clone(),
            Arc::new(Watcher {
                sent: Mutex::new(None),
                stopped: Notify::new(),
                is_stopped: Mutex::new(false),
            }),
        );
        json!({ "watcher-id": id })
    }

    fn get(&self, id: &str) -> Result<Arc<Watcher>, ApiError> {
        self.by_id
            .get(id)
            .cloned()
            .ok_or_else(|| ApiError::new(code::NOT_FOUND, "unknown watcher id"))
    }

    /// `AllWatcher.Stop`: a `Next` in flight fails with `watcher was stopped`; the id is gone.
    pub fn stop(&mut self, id: &str) -> Result<Value, ApiError> {
        let watcher = self.get(id)?;
        self.by_id.remove(id);
        *lock(&watcher.is_stopped) = true;
        watcher.stopped.notify_waiters();
        Ok(json!({}))
    }

    /// The watcher `id`.
    pub fn watcher(&self, id: &str) -> Result<Arc<Watcher>, ApiError> {
        self.get(id)
    }
}

impl Watcher {
    /// `AllWatcher.Next`: waits until the model differs from what this watcher last sent, and
    /// returns the deltas.
    pub async fn next(&self, model: &Model) -> Result<Value, ApiError> {
        let mut changes = model.changes();
        loop {
            let stopped = self.stopped.notified();
            if *lock(&self.is_stopped) {
                return Err(stopped_error());
            }
            changes.borrow_and_update();
            let now = entities(model);
            let deltas = {
                let mut sent = lock(&self.sent);
                let deltas = diff(sent.as_ref(), &now);
                *sent = Some(now);
                deltas
            };
            if !deltas.is_empty() {
                return Ok(json!({ "deltas": deltas }));
            }
            tokio::select! {
                changed = changes.changed() => {
                    if changed.is_err() {
                        return Err(stopped_error());
                    }
                }
                () = stopped => return Err(stopped_error()),
            }
        }
    }
}

fn stopped_error() -> ApiError {
    ApiError::plain("watcher was stopped")
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The deltas from `before` (nothing sent yet: `None`) to `now`: changed entities first
/// (applications, units, relations, so a client can place each unit and relation), then
/// removals in the reverse order.
fn diff(
    before: Option<&BTreeMap<(&'static str, String), Value>>,
    now: &BTreeMap<(&'static str, String), Value>,
) -> Vec<Value> {
    let mut deltas = Vec::new();
    for kind in ["application", "unit", "relation"] {
        for ((k, id), entity) in now.iter().filter(|((k, _), _)| *k == kind) {
            let same = before
                .and_then(|b| b.get(&(*k, id.clone())))
                .is_some_and(|old| old == entity);
            if !same {
                deltas.push(json!([kind, "change", entity]));
            }
        }
    }
    if let Some(before) = before {
        for kind in ["relation", "unit", "application"] {
            for ((k, id), entity) in before.iter().filter(|((k, _), _)| *k == kind) {
                if !now.contains_key(&(*k, id.clone())) {
                    deltas.push(json!([kind, "remove", entity]));
                }
            }
        }
    }
    deltas
}

/// Every entity of the model as the AllWatcher renders it.
fn entities(model: &Model) -> BTreeMap<(&'static str, String), Value> {
    let uuid = model.uuid();
    let mut out = BTreeMap::new();
    for app in model.applications() {
        for unit in &app.units {
            out.insert(("unit", unit.name.clone()), unit_info(uuid, &app, unit));
        }
        out.insert(
            ("application", app.name.clone()),
            application_info(uuid, &app),
        );
    }
    for relation in model.relations() {
        out.insert(
            ("relation", relation.key.clone()),
            relation_info(uuid, &relation),
        );
    }
    out
}

fn life(life: Life) -> &'static str {
    match life {
        Life::Alive => "alive",
        Life::Dying => "dying",
    }
}

/// `StatusInfo`: `since` is a pointer with `omitempty`, `err` and `data` are omitted when empty.
fn status_info(status: &str, message: &str, since: Timestamp) -> Value {
    json!({
        "current": status,
        "message": message,
        "since": since.to_string(),
        "version": "",
    })
}

fn status_of<S: Copy>(view: &StatusView<S>, name: impl Fn(S) -> &'static str) -> Value {
    status_info(name(view.status), &view.message, view.since)
}

/// `ApplicationInfo`; `config` holds the charm settings the user set (`omitempty`).
fn application_info(uuid: &str, app: &AppView) -> Value {
    let mut info = json!({
        "model-uuid": uuid,
        "name": app.name,
        "exposed": false,
        "charm-url": app.charm_url,
        "owner-tag": "user-admin",
        "life": life(app.life),
        "min-units": 0,
        "constraints": {},
        "subordinate": false,
        "status": status_of(&app.status, |s| s.as_str()),
        "workload-version": "",
    });
    if !app.user_config.is_empty() {
        info["config"] = json!(app.user_config);
    }
    info
}

/// `UnitInfo` of a Kubernetes unit: no machine, no ports.
fn unit_info(uuid: &str, app: &AppView, unit: &crate::model::UnitView) -> Value {
    json!({
        "model-uuid": uuid,
        "name": unit.name,
        "application": app.name,
        "base": format!("{}@{}", app.base.name, app.base.channel),
        "charm-url": app.charm_url,
        "life": life(app.life),
        "public-address": "",
        "private-address": "",
        "machine-id": "",
        "ports": [],
        "port-ranges": [],
        "principal": "",
        "subordinate": false,
        "workload-status": status_of(&unit.workload, |s| s.as_str()),
        "agent-status": status_of(&unit.agent, |s| s.as_str()),
    })
}

/// `RelationInfo` with each endpoint's `CharmRelation`.
fn relation_info(uuid: &str, relation: &RelationView) -> Value {
    let endpoints: Vec<Value> = relation
        .endpoints
        .iter()
        .map(|e| {
            json!({
                "application-name": e.application,
                "relation": {
                    "name": e.name,
                    "role": e.role.as_str(),
                    "interface": e.interface,
                    "optional": e.optional,
                    "limit": e.limit,
                    "scope": "global",
                },
            })
        })
        .collect();
    json!({
        "model-uuid": uuid,
        "key": relation.key,
        "id": relation.id,
        "endpoints": endpoints,
    })
}

/// The fields of each entity kind the twin sends, as `rpc/params/multiwatcher.go` (v3.6.11)
/// names them: the schema only says "object", so the twin checks its own deltas against these.
pub(crate) fn entity_fields(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "application" => &[
            "model-uuid",
            "name",
            "exposed",
            "charm-url",
            "owner-tag",
            "life",
            "min-units",
            "constraints",
            "config",
            "subordinate",
            "status",
            "workload-version",
        ],
        "unit" => &[
            "model-uuid",
            "name",
            "application",
            "base",
            "charm-url",
            "life",
            "public-address",
            "private-address",
            "machine-id",
            "ports",
            "port-ranges",
            "principal",
            "subordinate",
            "workload-status",
            "agent-status",
        ],
        "relation" => &["model-uuid", "key", "id", "endpoints"],
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(items: &[(&'static str, &str, Value)]) -> BTreeMap<(&'static str, String), Value> {
        items
            .iter()
            .map(|(k, id, v)| ((*k, id.to_string()), v.clone()))
            .collect()
    }

    #[test]
    fn the_first_next_sends_everything_then_only_what_changed() {
        let first = map(&[
            ("application", "a", json!({"name": "a", "life": "alive"})),
            ("unit", "a/0", json!({"name": "a/0"})),
        ]);
        let all = diff(None, &first);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0][0], "application");
        assert!(diff(Some(&first), &first).is_empty());

        let second = map(&[
            ("application", "a", json!({"name": "a", "life": "dying"})),
            ("unit", "a/0", json!({"name": "a/0"})),
        ]);
        assert_eq!(
            diff(Some(&first), &second),
            vec![json!(["application", "change", {"name": "a", "life": "dying"}])]
        );
    }

    #[test]
    fn a_gone_entity_is_removed_with_its_last_state() {
        let before = map(&[
            ("application", "a", json!({"name": "a"})),
            ("unit", "a/0", json!({"name": "a/0"})),
            ("relation", "a:x b:y", json!({"key": "a:x b:y"})),
        ]);
        let deltas = diff(Some(&before), &BTreeMap::new());
        let kinds: Vec<(&str, &str)> = deltas
            .iter()
            .map(|d| (d[0].as_str().unwrap(), d[1].as_str().unwrap()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("relation", "remove"),
                ("unit", "remove"),
                ("application", "remove")
            ]
        );
        assert_eq!(deltas[2][2], json!({"name": "a"}));
    }
}
