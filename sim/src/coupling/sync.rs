//! Making the store match the model: the level-triggered loop between the Juju twin and the
//! Kubernetes twin.
//!
//! After every model event (and once at start) [`Coupling::sync`] computes the desired objects
//! from the model's state and creates, updates or deletes the objects it manages. Objects it did
//! not create (fixtures, what ckf-migrator or kubectl write) are never touched, and a managed
//! object is only rewritten when a field the coupling sets differs, so resource versions do not
//! churn and pods are only replaced when a pod template really changes.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::Value;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use super::admission::{Mesh, admit};
use super::desired::{AppState, Environment, ModelView, desired, desired_crds};
use crate::kube::{self, Store};
use crate::model::{Life, Model, ModelEvent};

/// `apiVersion`, `kind`, namespace, name.
type Key = (String, String, String, String);

fn key_of(obj: &Value) -> Key {
    let s = |p: &str| {
        obj.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    (
        s("/apiVersion"),
        s("/kind"),
        s("/metadata/namespace"),
        s("/metadata/name"),
    )
}

/// Whether every field of `desired` has the same value in `current` (objects compared key by key,
/// everything else exactly).
fn holds(desired: &Value, current: &Value) -> bool {
    match (desired, current) {
        (Value::Object(d), Value::Object(c)) => d
            .iter()
            .all(|(k, v)| c.get(k).is_some_and(|cv| holds(v, cv))),
        (d, c) => d == c,
    }
}

/// The link between one model and one store.
pub struct Coupling {
    model: Model,
    store: Store,
    env: Environment,
    state: Mutex<SyncState>,
}

#[derive(Default)]
struct SyncState {
    /// Objects this coupling created and still manages.
    managed: BTreeSet<Key>,
    /// Applications whose workload has come up once: an application that runs a relation hook
    /// (executing) keeps its workload running.
    came_up: BTreeSet<String>,
}

impl Coupling {
    /// Links `model` to `store`, installs Istio's pod admission into the store, and syncs once.
    pub fn new(model: Model, store: Store, env: Environment) -> Arc<Self> {
        let namespace = model.name().to_string();
        store.set_pod_admission(Arc::new(
            move |pod: &mut Value, view: &kube::StoreView<'_>| {
                let pod_namespace = pod
                    .pointer("/metadata/namespace")
                    .and_then(Value::as_str)
                    .unwrap_or("default")
                    .to_string();
                let labels = view.namespace_labels(&pod_namespace).unwrap_or_default();
                let injector = view
                    .list(
                        "admissionregistration.k8s.io/v1",
                        "MutatingWebhookConfiguration",
                        None,
                        None,
                    )
                    .iter()
                    .any(|c| {
                        c["webhooks"].as_array().is_some_and(|w| {
                            w.iter().any(|w| w["name"] == "sidecar-injector.istio.io")
                        })
                    });
                let ambient_cni = view
                    .get("apps/v1", "DaemonSet", Some(&namespace), "istio-cni-node")
                    .is_some();
                admit(
                    pod,
                    &labels,
                    Mesh {
                        injector,
                        ambient_cni,
                    },
                );
            },
        ));
        let coupling = Arc::new(Coupling {
            model,
            store,
            env,
            state: Mutex::new(SyncState::default()),
        });
        coupling.sync();
        coupling
    }

    /// Follows the model's events until the returned task is aborted.
    pub fn follow(self: &Arc<Self>) -> JoinHandle<()> {
        let mut events = self.model.subscribe();
        let coupling = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(
                        ModelEvent::Settled { .. }
                        | ModelEvent::Removed { .. }
                        | ModelEvent::Dying { .. },
                    )
                    | Ok(ModelEvent::Deployed { .. } | ModelEvent::Refreshed { .. })
                    | Ok(ModelEvent::RelationAdded { .. } | ModelEvent::RelationRemoved { .. })
                    | Ok(ModelEvent::ConfigChanged { .. } | ModelEvent::TrustChanged { .. })
                    | Ok(ModelEvent::Scaled { .. })
                    | Err(broadcast::error::RecvError::Lagged(_)) => coupling.sync(),
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        })
    }

    /// The model as the coupling sees it.
    fn view(&self, state: &mut SyncState) -> ModelView {
        let apps = self.model.applications();
        let present: BTreeSet<String> = apps.iter().map(|a| a.name.clone()).collect();
        state.came_up.retain(|a| present.contains(a));
        let mut view = ModelView {
            namespace: self.model.name().to_string(),
            ..ModelView::default()
        };
        for app in apps {
            if app.settled {
                state.came_up.insert(app.name.clone());
            }
            view.apps.insert(
                app.name.clone(),
                AppState {
                    charm: app.charm.clone(),
                    settled: state.came_up.contains(&app.name) && app.life == Life::Alive,
                    config: app.config_strings(),
                    scale: app.units.len() as i64,
                },
            );
        }
        for relation in self.model.relations() {
            if let [a, b] = relation.endpoints.as_slice() {
                let a = format!("{}:{}", a.application, a.name);
                let b = format!("{}:{}", b.application, b.name);
                view.relations.insert(if a <= b { (a, b) } else { (b, a) });
            }
        }
        view
    }

    /// Makes the store match the model now.
    pub fn sync(&self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let view = self.view(&mut state);
        let mut wanted: BTreeMap<Key, Value> = BTreeMap::new();
        for crd in desired_crds(&view) {
            let mut obj = kube::crd(
                crd.group,
                crd.versions,
                crd.kind,
                crd.plural,
                crd.namespaced,
            );
            obj["metadata"]["labels"] = serde_json::json!({ super::desired::MANAGED_BY: "crds" });
            wanted.insert(key_of(&obj), obj);
        }
        for obj in desired(&view, &self.env) {
            wanted.insert(key_of(&obj), obj);
        }
        // Delete first: a namespace or CRD going away takes its objects with it, before anything
        // new is created in their place.
        let stale: Vec<Key> = state
            .managed
            .iter()
            .filter(|k| !wanted.contains_key(*k))
            .cloned()
            .collect();
        for key in stale {
            let (api_version, kind, namespace, name) = &key;
            let ns = (!namespace.is_empty()).then_some(namespace.as_str());
            self.store.delete(api_version, kind, ns, name);
            state.managed.remove(&key);
        }
        // CRDs before the custom resources they serve; namespaces before what lives in them.
        let rank = |k: &Key| match k.1.as_str() {
            "CustomResourceDefinition" => 0,
            "Namespace" => 1,
            _ => 2,
        };
        let mut order: Vec<(&Key, &Value)> = wanted.iter().collect();
        order.sort_by_key(|(k, _)| rank(k));
        for (key, obj) in order {
            let (api_version, kind, namespace, name) = key;
            let ns = (!namespace.is_empty()).then_some(namespace.as_str());
            let current = self.store.get(api_version, kind, ns, name);
            if current.as_ref().is_some_and(|c| holds(obj, c)) {
                state.managed.insert(key.clone());
                continue;
            }
            match self.store.apply(obj.clone()) {
                Ok(_) => {
                    state.managed.insert(key.clone());
                }
                Err(e) => tracing::warn!("coupling: cannot store {kind} {namespace}/{name}: {e:?}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn holds_compares_only_what_is_desired() {
        let current = json!({ "metadata": { "name": "a", "resourceVersion": "7", "labels": { "x": "1", "y": "2" } }, "spec": { "n": 1 } });
        assert!(holds(
            &json!({ "metadata": { "name": "a", "labels": { "x": "1" } }, "spec": { "n": 1 } }),
            &current
        ));
        assert!(!holds(
            &json!({ "metadata": { "labels": { "x": "2" } } }),
            &current
        ));
        assert!(!holds(&json!({ "spec": { "n": 1, "m": 2 } }), &current));
    }
}
