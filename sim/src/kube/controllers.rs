//! Generic Kubernetes behaviour that follows writes: the Deployment, ReplicaSet, StatefulSet and
//! DaemonSet controllers and the scheduler (the kubelet's side is `kubelet.rs`).
//!
//! They run inside the store's critical section, after the write that triggered them
//! ([`on_change`] queues, `State::settle` drains), so a client sees their results in its next
//! request. Every reconcile computes the desired state from the current one and writes only
//! differences, which is what makes the queue drain.
//!
//! Rollouts follow the real controllers' rules: a Deployment surges new pods (`maxSurge`) and
//! scales old ReplicaSets down only while `replicas - maxUnavailable` pods stay ready; a
//! StatefulSet replaces one pod at a time, highest ordinal first, once all are running and ready;
//! a DaemonSet replaces node by node within `maxUnavailable`. The pods a rollout creates start
//! after the store's rollout pace ([`crate::kube::Store::pace_rollouts`], a timer in
//! `kubelet.rs`), so a rollout takes time; without pacing every pod is Running and Ready at once
//! and a rollout completes within the write that started it.
//!
//! Pods are scheduled on a node chosen round-robin among the Node objects that match their
//! `nodeSelector`; with no such node they stay Pending until a Node appears. Pod IPs are loopback
//! (127.1.x.y); the host IP is the node's `InternalIP`.
//!
//! Freezing: an object annotated `ckf-sim/frozen: "true"` is left alone: a frozen workload gets
//! no pods created, deleted or replaced and no status written; a frozen pod is not started by the
//! kubelet (it keeps the status it was created with, Pending if none). Tests use it to hold
//! something in a broken state; [`crate::kube::Store::set_pod_ready`] flips one pod's readiness
//! without freezing anything, and owners' status follows.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::kube::kubelet;
use crate::kube::resources::ResourceDef;
use crate::kube::rules::labels_of;
use crate::kube::selector::LabelSelector;
use crate::kube::store::{
    ChangeKind, Event, Propagation, Ref, State, Stored, WriteOpts, now_rfc3339,
};

/// The annotation that stops controllers (and the kubelet, on pods) from touching an object.
pub const FROZEN_ANNOTATION: &str = "ckf-sim/frozen";

const DEPLOYMENTS: &str = "apps/deployments";
const REPLICASETS: &str = "apps/replicasets";
const STATEFULSETS: &str = "apps/statefulsets";
const DAEMONSETS: &str = "apps/daemonsets";
const PODS: &str = "/pods";
const NODES: &str = "/nodes";

fn owner_key(kind: &str) -> Option<&'static str> {
    match kind {
        "ReplicaSet" => Some(REPLICASETS),
        "StatefulSet" => Some(STATEFULSETS),
        "DaemonSet" => Some(DAEMONSETS),
        "Deployment" => Some(DEPLOYMENTS),
        _ => None,
    }
}

pub(crate) fn is_frozen(v: &Value) -> bool {
    v.pointer("/metadata/annotations")
        .and_then(|a| a.get(FROZEN_ANNOTATION))
        .and_then(Value::as_str)
        == Some("true")
}

/// Queues what must be reconciled after a change.
pub(crate) fn on_change(state: &mut State, ev: &Event) {
    match ev.res.as_ref() {
        DEPLOYMENTS | STATEFULSETS | DAEMONSETS | REPLICASETS => {
            if ev.kind != ChangeKind::Deleted {
                state.enqueue(Ref {
                    res: ev.res.clone(),
                    ns: ev.ns.clone(),
                    name: ev.name.clone(),
                });
            }
            if ev.res.as_ref() == REPLICASETS {
                enqueue_owner(state, ev);
            }
        }
        PODS => enqueue_owner(state, ev),
        NODES => {
            let labels_changed = ev.old.as_ref().is_none_or(|o| o.labels != ev.object.labels);
            if ev.kind != ChangeKind::Modified || labels_changed {
                for (r, _) in state.all_of(DAEMONSETS) {
                    state.enqueue(r);
                }
            }
            if ev.kind == ChangeKind::Added {
                schedule_pending(state);
            }
        }
        _ => {}
    }
}

fn enqueue_owner(state: &mut State, ev: &Event) {
    let owners = match (&ev.old, ev.kind) {
        (Some(old), ChangeKind::Modified) if old.owners != ev.object.owners => {
            [old.controller().cloned(), ev.object.controller().cloned()]
        }
        _ => [ev.object.controller().cloned(), None],
    };
    for o in owners.into_iter().flatten() {
        if let Some(key) = owner_key(&o.kind) {
            state.enqueue(Ref {
                res: Arc::from(key),
                ns: ev.ns.clone(),
                name: o.name.clone(),
            });
        }
    }
}

/// Brings one workload to its desired state.
pub(crate) fn reconcile(state: &mut State, r: &Ref) {
    let Some(obj) = state.get_ref(r).cloned() else {
        return;
    };
    let value = obj.value();
    if is_frozen(&value) {
        return;
    }
    match r.res.as_ref() {
        DEPLOYMENTS => deployment(state, r, &obj, &value),
        REPLICASETS => replicaset(state, r, &obj, &value),
        STATEFULSETS => statefulset(state, r, &obj, &value),
        DAEMONSETS => daemonset(state, r, &obj, &value),
        _ => {}
    }
}

// ---- helpers ------------------------------------------------------------------------------

/// Kubernetes' pod-template-hash: FNV-1a 32 of the template, printed in decimal and mapped onto
/// the name alphabet (`rand.SafeEncodeString`).
pub(crate) fn template_hash(template: &Value) -> String {
    const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let text = serde_json::to_string(template).expect("a Value always serialises");
    let mut h: u32 = 0x811c_9dc5;
    for b in text.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h.to_string()
        .bytes()
        .map(|b| ALPHANUMS[usize::from(b) % ALPHANUMS.len()] as char)
        .collect()
}

fn replicas_of(v: &Value) -> i64 {
    v.pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1)
}

fn owner_ref(kind: &str, stored: &Stored, name: &str) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": kind,
        "name": name,
        "uid": stored.uid,
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

fn owned(state: &State, owner: &Stored, res: &str) -> Vec<(Ref, Arc<Stored>)> {
    state
        .dependents_of(&owner.uid)
        .into_iter()
        .filter(|d| d.res.as_ref() == res)
        .filter_map(|d| {
            let s = state.get_ref(&d)?.clone();
            s.controller()
                .is_some_and(|c| c.uid == owner.uid)
                .then_some((d, s))
        })
        .collect()
}

fn def(state: &State, key: &str) -> Arc<ResourceDef> {
    state
        .def(key)
        .expect("built-in resource types are always registered")
}

/// Pod metadata and spec from a template, plus extra labels.
fn pod_from_template(
    template: &Value,
    ns: &str,
    name: &str,
    generate_name: Option<&str>,
    owner: Value,
    extra_labels: &[(&str, String)],
) -> Value {
    let mut meta = template
        .get("metadata")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    meta.remove("creationTimestamp");
    meta.insert("name".into(), json!(name));
    meta.insert("namespace".into(), json!(ns));
    if let Some(g) = generate_name {
        meta.insert("generateName".into(), json!(g));
    }
    let labels = meta.entry("labels").or_insert_with(|| json!({}));
    if let Some(l) = labels.as_object_mut() {
        for (k, v) in extra_labels {
            l.insert((*k).to_string(), json!(v));
        }
    }
    meta.insert("ownerReferences".into(), json!([owner]));
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": Value::Object(meta),
        "spec": template.get("spec").cloned().unwrap_or_else(|| json!({})),
    })
}

/// Creates a pod for a workload; `rollout`: it rolls out a new template, so it starts at the
/// rollout's pace ([`crate::kube::Store::pace_rollouts`]).
fn create_pod(state: &mut State, pod: Value, rollout: bool) {
    let pods = def(state, PODS);
    state.pod_starts.rollout_pod = rollout;
    let created = state.create(&pods, pod, WriteOpts::TWIN);
    state.pod_starts.rollout_pod = false;
    if let Err(e) = created {
        tracing::warn!("ckf-sim controller could not create a pod: {e}");
    }
}

fn delete_pod(state: &mut State, r: &Ref) {
    state.remove(r, Propagation::Background);
}

fn unique_pod_name(state: &mut State, ns: &str, prefix: &str) -> String {
    loop {
        let name = format!("{prefix}-{}", state.random_suffix());
        if state.get_stored(PODS, ns, &name).is_none() {
            return name;
        }
    }
}

/// Writes `status` if it differs from the stored one.
fn write_status(state: &mut State, r: &Ref, status: Value) {
    let Some(d) = state.def(&r.res) else { return };
    if let Err(e) = state.update(
        &d,
        &r.ns,
        &r.name,
        json!({"status": status}),
        WriteOpts::TWIN,
        true,
    ) {
        tracing::warn!(
            "ckf-sim controller could not write status of {}: {e}",
            r.name
        );
    }
}

/// A condition, keeping the old transition time when its status did not change (so a
/// reconcile that changes nothing writes nothing).
fn condition(old: &Value, type_: &str, status: &str, reason: &str, message: &str) -> Value {
    let prev = old
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|cs| {
            cs.iter()
                .find(|c| c.get("type").and_then(Value::as_str) == Some(type_))
        });
    let same = prev.is_some_and(|p| {
        p.get("status").and_then(Value::as_str) == Some(status)
            && p.get("reason").and_then(Value::as_str) == Some(reason)
            && p.get("message").and_then(Value::as_str) == Some(message)
    });
    let now = now_rfc3339();
    let transition = prev
        .filter(|p| p.get("status").and_then(Value::as_str) == Some(status))
        .and_then(|p| p.get("lastTransitionTime").cloned())
        .unwrap_or_else(|| json!(now));
    let update = if same {
        prev.and_then(|p| p.get("lastUpdateTime").cloned())
            .unwrap_or_else(|| json!(now))
    } else {
        json!(now)
    };
    json!({
        "type": type_, "status": status, "reason": reason, "message": message,
        "lastTransitionTime": transition, "lastUpdateTime": update,
    })
}

fn generation(v: &Value) -> i64 {
    v.pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(1)
}

fn percent_or_int(v: Option<&Value>, total: i64, round_up: bool, default_pct: i64) -> i64 {
    match v {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
        Some(Value::String(s)) if s.ends_with('%') => {
            let p: i64 = s.trim_end_matches('%').parse().unwrap_or(default_pct);
            if round_up {
                (total * p + 99) / 100
            } else {
                total * p / 100
            }
        }
        _ => {
            if round_up {
                (total * default_pct + 99) / 100
            } else {
                total * default_pct / 100
            }
        }
    }
}

// ---- Deployment ----------------------------------------------------------------------------

fn deployment(state: &mut State, r: &Ref, obj: &Arc<Stored>, d: &Value) {
    let replicas = replicas_of(d);
    let template = d.pointer("/spec/template").cloned().unwrap_or(json!({}));
    let hash = template_hash(&template);
    let rs_name = format!("{}-{hash}", r.name);
    let paused = d.pointer("/spec/paused").and_then(Value::as_bool) == Some(true);
    // Each owned ReplicaSet parsed once: (ref, parsed, revision).
    let rss: Vec<(Ref, Value, i64)> = owned(state, obj, REPLICASETS)
        .into_iter()
        .map(|(rr, s)| {
            let v = s.value();
            let rev = v
                .pointer("/metadata/annotations/deployment.kubernetes.io~1revision")
                .and_then(Value::as_str)
                .and_then(|x| x.parse().ok())
                .unwrap_or(0);
            (rr, v, rev)
        })
        .collect();
    let max_rev = rss.iter().map(|(_, _, rev)| *rev).max().unwrap_or(0);
    let rs_def = def(state, REPLICASETS);
    if !paused {
        let spec_of = |name: &str| {
            rss.iter()
                .find(|(rr, _, _)| rr.name == name)
                .map_or(0, |(_, v, _)| replicas_of(v))
        };
        let old_total: i64 = rss
            .iter()
            .filter(|(rr, _, _)| rr.name != rs_name)
            .map(|(_, v, _)| replicas_of(v))
            .sum();
        let new_now = spec_of(&rs_name);
        let (surge, max_unavailable) = rolling_limits(d, replicas);
        let new_replicas = new_replica_count(replicas, new_now, old_total, surge);
        match rss.iter().find(|(rr, _, _)| rr.name == rs_name) {
            Some((rr, current, rev)) => {
                let mut rs = current.clone();
                let mut changed = false;
                if replicas_of(&rs) != new_replicas {
                    rs["spec"]["replicas"] = json!(new_replicas);
                    changed = true;
                }
                // Rolling back to an older template makes its ReplicaSet the newest revision.
                if *rev < max_rev {
                    rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] =
                        json!((max_rev + 1).to_string());
                    changed = true;
                }
                if changed {
                    let _ = state.update(&rs_def, &rr.ns, &rr.name, rs, WriteOpts::TWIN, false);
                }
            }
            None => {
                let mut labels = labels_of(template.pointer("/metadata/labels"));
                labels.insert("pod-template-hash".into(), hash.clone());
                let mut rs_template = template.clone();
                rs_template["metadata"]["labels"] = json!(labels);
                let mut selector = d.pointer("/spec/selector").cloned().unwrap_or(json!({}));
                selector["matchLabels"]["pod-template-hash"] = json!(hash);
                let rs = json!({
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "metadata": {
                        "name": rs_name,
                        "namespace": r.ns,
                        "labels": labels,
                        "annotations": {
                            "deployment.kubernetes.io/revision": (max_rev + 1).to_string(),
                            "deployment.kubernetes.io/desired-replicas": replicas.to_string(),
                        },
                        "ownerReferences": [owner_ref("Deployment", obj, &r.name)],
                    },
                    "spec": {"replicas": new_replicas, "selector": selector, "template": rs_template},
                });
                if let Err(e) = state.create(&rs_def, rs, WriteOpts::TWIN) {
                    tracing::warn!("ckf-sim deployment controller: {e}");
                }
            }
        }
        scale_down_old(state, obj, &rs_name, replicas, max_unavailable);
        let limit = d
            .pointer("/spec/revisionHistoryLimit")
            .and_then(Value::as_i64)
            .unwrap_or(10);
        let mut old: Vec<(i64, Ref)> = rss
            .iter()
            .filter(|(rr, _, _)| rr.name != rs_name)
            .map(|(rr, _, rev)| (*rev, rr.clone()))
            .collect();
        old.sort();
        let excess = old
            .len()
            .saturating_sub(usize::try_from(limit).unwrap_or(0));
        for (_, rr) in old.into_iter().take(excess) {
            state.remove(&rr, Propagation::Background);
        }
    }
    // Status from the pods that exist now; the ReplicaSets' own reconciles re-queue this one.
    let rss = owned(state, obj, REPLICASETS);
    let (mut total, mut ready, mut updated, mut updated_ready) = (0i64, 0i64, 0i64, 0i64);
    for (rr, s) in &rss {
        for (_, p) in owned(state, s, PODS) {
            total += 1;
            let is_new = rr.name == rs_name;
            if p.ready {
                ready += 1;
            }
            if is_new {
                updated += 1;
                if p.ready {
                    updated_ready += 1;
                }
            }
        }
    }
    let max_unavailable = percent_or_int(
        d.pointer("/spec/strategy/rollingUpdate/maxUnavailable"),
        replicas,
        false,
        25,
    );
    let available_ok = ready >= replicas - max_unavailable;
    let complete = updated == replicas && total == replicas && updated_ready == replicas;
    let mut status = json!({
        "observedGeneration": generation(d),
        "replicas": total,
        "updatedReplicas": updated,
        "readyReplicas": ready,
        "availableReplicas": ready,
        "conditions": [
            if available_ok {
                condition(d, "Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
            } else {
                condition(d, "Available", "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.")
            },
            if complete {
                condition(d, "Progressing", "True", "NewReplicaSetAvailable", &format!("ReplicaSet \"{rs_name}\" has successfully progressed."))
            } else {
                condition(d, "Progressing", "True", "ReplicaSetUpdated", &format!("ReplicaSet \"{rs_name}\" is progressing."))
            },
        ],
    });
    let unavailable = total.max(replicas) - ready;
    if unavailable > 0 {
        status["unavailableReplicas"] = json!(unavailable);
    }
    strip_zero(
        &mut status,
        &[
            "readyReplicas",
            "availableReplicas",
            "updatedReplicas",
            "replicas",
        ],
    );
    write_status(state, r, status);
}

/// Kubernetes omits zero counters (`omitempty`); clients treat absent as zero.
fn strip_zero(status: &mut Value, keys: &[&str]) {
    if let Some(m) = status.as_object_mut() {
        for k in keys {
            if m.get(*k).and_then(Value::as_i64) == Some(0) {
                m.remove(*k);
            }
        }
    }
}

/// `maxSurge` (rounded up) and `maxUnavailable` (rounded down) of a Deployment's rolling
/// update, 25% each by default; `Recreate` allows no surge and takes every pod down.
fn rolling_limits(d: &Value, replicas: i64) -> (i64, i64) {
    if d.pointer("/spec/strategy/type").and_then(Value::as_str) == Some("Recreate") {
        return (0, replicas);
    }
    let surge = percent_or_int(
        d.pointer("/spec/strategy/rollingUpdate/maxSurge"),
        replicas,
        true,
        25,
    );
    let unavailable = percent_or_int(
        d.pointer("/spec/strategy/rollingUpdate/maxUnavailable"),
        replicas,
        false,
        25,
    );
    // The apiserver refuses both at zero; the controller then allows one unavailable pod.
    if surge == 0 && unavailable == 0 {
        (0, 1)
    } else {
        (surge, unavailable)
    }
}

/// The new ReplicaSet's size (the Deployment controller's `reconcileNewReplicaSet`): straight to
/// `replicas` when there is nothing to roll from, else up by what `maxSurge` leaves room for.
fn new_replica_count(replicas: i64, new_now: i64, old_total: i64, surge: i64) -> i64 {
    if old_total == 0 || new_now >= replicas {
        return replicas;
    }
    let room = replicas + surge - (old_total + new_now);
    new_now + room.clamp(0, replicas - new_now)
}

/// Scales old ReplicaSets down as far as availability allows (`reconcileOldReplicaSets`): first
/// their pods that are not ready, then ready ones while more than `replicas - maxUnavailable`
/// pods stay available. The new ReplicaSet's pods must be ready before old ones go, which is what
/// makes a rollout take as long as its pods take to start.
fn scale_down_old(
    state: &mut State,
    owner: &Stored,
    new_name: &str,
    replicas: i64,
    max_unavailable: i64,
) {
    let rs_def = def(state, REPLICASETS);
    // (ref, value, spec replicas, ready pods), oldest revision first.
    let mut sets: Vec<(Ref, Value, i64, i64)> = owned(state, owner, REPLICASETS)
        .into_iter()
        .map(|(rr, s)| {
            let ready = owned(state, &s, PODS)
                .iter()
                .filter(|(_, p)| p.ready)
                .count();
            let v = s.value();
            let spec = replicas_of(&v);
            (rr, v, spec, i64::try_from(ready).unwrap_or(0))
        })
        .collect();
    sets.sort_by_key(|(_, v, _, _)| revision_of(v));
    let (new, old): (Vec<_>, Vec<_>) = sets.into_iter().partition(|(rr, ..)| rr.name == new_name);
    let old_total: i64 = old.iter().map(|(_, _, spec, _)| spec).sum();
    if old_total == 0 {
        return;
    }
    let (new_spec, new_ready) = new
        .first()
        .map_or((0, 0), |(_, _, spec, ready)| (*spec, *ready));
    let min_available = replicas - max_unavailable;
    let new_unavailable = (new_spec - new_ready).max(0);
    let mut budget = old_total + new_spec - min_available - new_unavailable;
    if budget <= 0 {
        return;
    }
    let mut target: Vec<i64> = old.iter().map(|(_, _, spec, _)| *spec).collect();
    // Unready old pods first: they serve nothing.
    for (i, (_, _, spec, ready)) in old.iter().enumerate() {
        let unhealthy = (spec - ready.min(spec)).min(budget);
        target[i] -= unhealthy;
        budget -= unhealthy;
    }
    let available: i64 = new_ready
        + old
            .iter()
            .map(|(_, _, spec, ready)| *ready.min(spec))
            .sum::<i64>();
    let mut down = (available - min_available).max(0);
    for (i, t) in target.iter_mut().enumerate() {
        let ready_left = old[i].3.min(*t);
        let cut = ready_left.min(down);
        *t -= cut;
        down -= cut;
    }
    for ((rr, v, spec, _), t) in old.into_iter().zip(target) {
        if t != spec {
            let mut rs = v;
            rs["spec"]["replicas"] = json!(t.max(0));
            let _ = state.update(&rs_def, &rr.ns, &rr.name, rs, WriteOpts::TWIN, false);
        }
    }
}

fn revision_of(rs: &Value) -> i64 {
    rs.pointer("/metadata/annotations/deployment.kubernetes.io~1revision")
        .and_then(Value::as_str)
        .and_then(|x| x.parse().ok())
        .unwrap_or(0)
}

// ---- ReplicaSet ----------------------------------------------------------------------------

fn replicaset(state: &mut State, r: &Ref, obj: &Arc<Stored>, rs: &Value) {
    let replicas = replicas_of(rs);
    let template = rs.pointer("/spec/template").cloned().unwrap_or(json!({}));
    let pods = owned(state, obj, PODS);
    let have = i64::try_from(pods.len()).unwrap_or(i64::MAX);
    if have < replicas {
        let rollout = rolling_from_a_sibling(state, obj, &r.name);
        for _ in have..replicas {
            let name = unique_pod_name(state, &r.ns, &r.name);
            let pod = pod_from_template(
                &template,
                &r.ns,
                &name,
                Some(&format!("{}-", r.name)),
                owner_ref("ReplicaSet", obj, &r.name),
                &[],
            );
            create_pod(state, pod, rollout);
        }
    } else if have > replicas {
        // Not-ready pods go first, then the newest, as the ReplicaSet controller prefers.
        let mut victims = pods.clone();
        victims.sort_by(|(_, a), (_, b)| a.ready.cmp(&b.ready).then(b.rv.cmp(&a.rv)));
        for (pr, _) in victims
            .into_iter()
            .take(usize::try_from(have - replicas).unwrap_or(0))
        {
            delete_pod(state, &pr);
        }
    }
    let pods = owned(state, obj, PODS);
    let ready = pods.iter().filter(|(_, p)| p.ready).count();
    let mut status = json!({
        "replicas": pods.len(),
        "fullyLabeledReplicas": pods.len(),
        "readyReplicas": ready,
        "availableReplicas": ready,
        "observedGeneration": generation(rs),
    });
    strip_zero(
        &mut status,
        &["readyReplicas", "availableReplicas", "fullyLabeledReplicas"],
    );
    write_status(state, r, status);
}

/// Whether another ReplicaSet of the same Deployment still wants pods: this one's pods are then
/// a rollout's, and start at the rollout's pace.
fn rolling_from_a_sibling(state: &State, rs: &Stored, name: &str) -> bool {
    let Some(deployment) = rs.controller().filter(|c| c.kind == "Deployment") else {
        return false;
    };
    state
        .dependents_of(&deployment.uid)
        .into_iter()
        .filter(|d| d.res.as_ref() == REPLICASETS && d.name != name)
        .filter_map(|d| state.get_ref(&d).cloned())
        .any(|s| replicas_of(&s.value()) > 0)
}

// ---- StatefulSet ---------------------------------------------------------------------------

fn statefulset(state: &mut State, r: &Ref, obj: &Arc<Stored>, sts: &Value) {
    let replicas = replicas_of(sts);
    let template = sts.pointer("/spec/template").cloned().unwrap_or(json!({}));
    let revision = format!("{}-{}", r.name, template_hash(&template));
    let on_delete = sts
        .pointer("/spec/updateStrategy/type")
        .and_then(Value::as_str)
        == Some("OnDelete");
    let service = sts
        .pointer("/spec/serviceName")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let pods: BTreeMap<String, (Ref, Arc<Stored>)> = owned(state, obj, PODS)
        .into_iter()
        .map(|(pr, p)| (pr.name.clone(), (pr, p)))
        .collect();
    for (name, (pr, _)) in &pods {
        let ordinal = name
            .rsplit_once('-')
            .and_then(|(_, o)| o.parse::<i64>().ok())
            .unwrap_or(i64::MAX);
        if ordinal >= replicas {
            delete_pod(state, pr);
        }
    }
    // A template change is rolling out until every pod runs it; pods created meanwhile are the
    // rollout's and start at its pace.
    let rolling = sts
        .pointer("/status/currentRevision")
        .and_then(Value::as_str)
        .is_some_and(|current| current != revision);
    // Missing ordinals are created in order, each once the ones before it are running and
    // ready (`podManagementPolicy: OrderedReady`).
    let mut all_ready = true;
    for i in 0..replicas {
        let name = format!("{}-{i}", r.name);
        if let Some((_, p)) = pods.get(&name) {
            if !p.ready {
                all_ready = false;
                break;
            }
            continue;
        }
        if state.get_stored(PODS, &r.ns, &name).is_some() {
            // A pod of that name not owned by this StatefulSet blocks the ordinal.
            all_ready = false;
            continue;
        }
        let mut pod = pod_from_template(
            &template,
            &r.ns,
            &name,
            None,
            owner_ref("StatefulSet", obj, &r.name),
            &[
                ("controller-revision-hash", revision.clone()),
                ("statefulset.kubernetes.io/pod-name", name.clone()),
                ("apps.kubernetes.io/pod-index", i.to_string()),
            ],
        );
        pod["spec"]["hostname"] = json!(name);
        if !service.is_empty() {
            pod["spec"]["subdomain"] = json!(service);
        }
        create_pod(state, pod, rolling);
        if !state
            .get_stored(PODS, &r.ns, &name)
            .is_some_and(|p| p.ready)
        {
            all_ready = false;
            break;
        }
    }
    // Rolling update: once every pod runs and is ready, the highest ordinal still on the old
    // template is deleted; its replacement is created when the deletion comes back here.
    if all_ready && !on_delete {
        let stale = (0..replicas).rev().find_map(|i| {
            pods.get(&format!("{}-{i}", r.name))
                .filter(|(_, p)| p.labels.get("controller-revision-hash") != Some(&revision))
        });
        if let Some((pr, _)) = stale {
            delete_pod(state, pr);
        }
    }
    let pods = owned(state, obj, PODS);
    let ready = pods.iter().filter(|(_, p)| p.ready).count();
    let updated = pods
        .iter()
        .filter(|(_, p)| p.labels.get("controller-revision-hash") == Some(&revision))
        .count();
    let all_updated = i64::try_from(updated).unwrap_or(0) == replicas;
    let current_revision = if all_updated {
        revision.clone()
    } else {
        sts.pointer("/status/currentRevision")
            .and_then(Value::as_str)
            .unwrap_or(&revision)
            .to_string()
    };
    let current = pods
        .iter()
        .filter(|(_, p)| p.labels.get("controller-revision-hash") == Some(&current_revision))
        .count();
    let mut status = json!({
        "observedGeneration": generation(sts),
        "replicas": pods.len(),
        "readyReplicas": ready,
        "currentReplicas": current,
        "updatedReplicas": updated,
        "availableReplicas": ready,
        "currentRevision": current_revision,
        "updateRevision": revision,
        "collisionCount": 0,
    });
    strip_zero(
        &mut status,
        &["readyReplicas", "currentReplicas", "updatedReplicas"],
    );
    write_status(state, r, status);
}

// ---- DaemonSet -----------------------------------------------------------------------------

fn node_matches(node: &Stored, selector: Option<&Map<String, Value>>) -> bool {
    selector.is_none_or(|sel| {
        sel.iter()
            .all(|(k, v)| node.labels.get(k).map(String::as_str) == v.as_str())
    })
}

fn daemonset(state: &mut State, r: &Ref, obj: &Arc<Stored>, ds: &Value) {
    let template = ds.pointer("/spec/template").cloned().unwrap_or(json!({}));
    let hash = template_hash(&template);
    let on_delete = ds
        .pointer("/spec/updateStrategy/type")
        .and_then(Value::as_str)
        == Some("OnDelete");
    let node_selector = template
        .pointer("/spec/nodeSelector")
        .and_then(Value::as_object)
        .cloned();
    let nodes: Vec<String> = state
        .all_of(NODES)
        .into_iter()
        .filter(|(_, n)| node_matches(n, node_selector.as_ref()))
        .map(|(nr, _)| nr.name)
        .collect();
    let mut by_node: BTreeMap<String, Vec<(Ref, Arc<Stored>)>> = BTreeMap::new();
    for (pr, p) in owned(state, obj, PODS) {
        by_node
            .entry(p.node_name.clone().unwrap_or_default())
            .or_default()
            .push((pr, p));
    }
    for (node, pods) in &by_node {
        if !nodes.contains(node) {
            for (pr, _) in pods {
                delete_pod(state, pr);
            }
        }
    }
    let generation_s = generation(ds).to_string();
    // Rolling update: at most `maxUnavailable` nodes (default 1) without a ready pod, so pods
    // are replaced node by node, each once the previous replacement is ready.
    let max_unavailable = percent_or_int(
        ds.pointer("/spec/updateStrategy/rollingUpdate/maxUnavailable")
            .or(Some(&json!(1))),
        i64::try_from(nodes.len()).unwrap_or(i64::MAX),
        true,
        0,
    )
    .max(1);
    let mut unavailable = i64::try_from(
        nodes
            .iter()
            .filter(|n| {
                by_node
                    .get(*n)
                    .and_then(|pods| pods.first())
                    .is_none_or(|(_, p)| !p.ready)
            })
            .count(),
    )
    .unwrap_or(0);
    for node in &nodes {
        let mut pods = by_node.get(node).cloned().unwrap_or_default();
        for (pr, _) in pods.iter().skip(1) {
            delete_pod(state, pr);
        }
        pods.truncate(1);
        let mut rollout = false;
        if let Some((pr, p)) = pods.first() {
            let stale = p.labels.get("controller-revision-hash") != Some(&hash);
            if !stale || on_delete {
                continue;
            }
            if p.ready {
                if unavailable >= max_unavailable {
                    continue;
                }
                unavailable += 1;
            }
            delete_pod(state, pr);
            rollout = true;
        }
        let name = unique_pod_name(state, &r.ns, &r.name);
        let mut pod = pod_from_template(
            &template,
            &r.ns,
            &name,
            Some(&format!("{}-", r.name)),
            owner_ref("DaemonSet", obj, &r.name),
            &[
                ("controller-revision-hash", hash.clone()),
                ("pod-template-generation", generation_s.clone()),
            ],
        );
        pod["spec"]["nodeName"] = json!(node);
        create_pod(state, pod, rollout);
    }
    let pods = owned(state, obj, PODS);
    let scheduled = pods
        .iter()
        .filter(|(_, p)| p.node_name.as_ref().is_some_and(|n| nodes.contains(n)))
        .count();
    let ready = pods.iter().filter(|(_, p)| p.ready).count();
    let updated = pods
        .iter()
        .filter(|(_, p)| p.labels.get("controller-revision-hash") == Some(&hash))
        .count();
    let mut status = json!({
        "observedGeneration": generation(ds),
        "desiredNumberScheduled": nodes.len(),
        "currentNumberScheduled": scheduled,
        "numberMisscheduled": 0,
        "numberReady": ready,
        "updatedNumberScheduled": updated,
        "numberAvailable": ready,
    });
    let unavailable = nodes.len().saturating_sub(ready);
    if unavailable > 0 {
        status["numberUnavailable"] = json!(unavailable);
    }
    strip_zero(&mut status, &["numberAvailable", "updatedNumberScheduled"]);
    write_status(state, r, status);
}

// ---- scheduler and kubelet -------------------------------------------------------------------

/// Picks a node for a pod: round-robin over nodes matching its `nodeSelector` that are not
/// cordoned.
fn pick_node(state: &mut State, pod: &Value) -> Option<(String, String)> {
    let selector = pod
        .pointer("/spec/nodeSelector")
        .and_then(Value::as_object)
        .cloned();
    let candidates: Vec<(String, Value)> = state
        .all_of(NODES)
        .into_iter()
        .filter(|(_, n)| node_matches(n, selector.as_ref()))
        .map(|(r, n)| (r.name, n.value()))
        .filter(|(_, n)| n.pointer("/spec/unschedulable").and_then(Value::as_bool) != Some(true))
        .collect();
    if candidates.is_empty() {
        return None;
    }
    let i = state.sched_cursor % candidates.len();
    state.sched_cursor = state.sched_cursor.wrapping_add(1);
    let (name, node) = &candidates[i];
    Some((name.clone(), node_ip(node)))
}

fn node_ip(node: &Value) -> String {
    node.pointer("/status/addresses")
        .and_then(Value::as_array)
        .and_then(|a| {
            a.iter()
                .find(|x| x.get("type").and_then(Value::as_str) == Some("InternalIP"))
        })
        .and_then(|x| x.get("address").and_then(Value::as_str))
        .unwrap_or("127.0.0.1")
        .to_string()
}

/// Schedules and starts a pod being created, unless it is frozen or already has a status.
pub(crate) fn start_pod(state: &mut State, pod: &mut Value) {
    let has_phase = pod
        .pointer("/status/phase")
        .and_then(Value::as_str)
        .is_some_and(|p| !p.is_empty());
    if is_frozen(pod) {
        if !has_phase {
            pod["status"] = json!({"phase": "Pending", "qosClass": "BestEffort"});
        }
        return;
    }
    if has_phase {
        return;
    }
    let bound = pod
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .map(str::to_string);
    let placement = match bound {
        Some(node) => {
            let ip = state
                .get_stored(NODES, "", &node)
                .map(|n| node_ip(&n.value()))
                .unwrap_or_else(|| "127.0.0.1".to_string());
            Some((node, ip))
        }
        None => pick_node(state, pod),
    };
    match placement {
        Some((node, host_ip)) => {
            pod["spec"]["nodeName"] = json!(node);
            kubelet::start(state, pod, &host_ip);
        }
        None => {
            let nodes = state.all_of(NODES).len();
            pod["status"] = json!({
                "phase": "Pending",
                "qosClass": "BestEffort",
                "conditions": [{
                    "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                    "message": format!("0/{nodes} nodes are available: {nodes} node(s) didn't match Pod's node affinity/selector."),
                    "lastTransitionTime": now_rfc3339(), "lastProbeTime": null,
                }],
            });
        }
    }
}

/// When a node appears, pods waiting for one are scheduled and started.
fn schedule_pending(state: &mut State) {
    let pending: Vec<(Ref, Arc<Stored>)> = state
        .all_of(PODS)
        .into_iter()
        .filter(|(_, p)| p.node_name.is_none() && p.phase.as_deref() == Some("Pending"))
        .collect();
    let pods = def(state, PODS);
    for (r, p) in pending {
        let mut v = p.value();
        if is_frozen(&v) {
            continue;
        }
        if let Some(m) = v.as_object_mut() {
            m.remove("status");
        }
        start_pod(state, &mut v);
        if v.pointer("/status/phase").and_then(Value::as_str) == Some("Running") {
            let _ = state.update(&pods, &r.ns, &r.name, v, WriteOpts::TWIN, false);
        }
    }
}

/// Selector of a workload, for callers that list its pods by label.
#[allow(dead_code)]
pub(crate) fn workload_selector(v: &Value) -> LabelSelector {
    v.pointer("/spec/selector")
        .and_then(|s| LabelSelector::from_object(s).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::Store;

    fn node(name: &str, ip: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
               "status": {"addresses": [{"type": "InternalIP", "address": ip}],
                          "conditions": [{"type": "Ready", "status": "True"}]}})
    }

    fn deployment(name: &str, replicas: i64) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": name, "namespace": "default"},
               "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                        "template": {"metadata": {"labels": {"app": name}},
                                     "spec": {"containers": [{"name": "main", "image": "img:1"}]}}}})
    }

    fn pods(store: &Store, selector: &str) -> Vec<Value> {
        store.list("v1", "Pod", Some("default"), Some(selector))
    }

    fn names(pods: &[Value]) -> Vec<String> {
        pods.iter()
            .filter_map(|p| p["metadata"]["name"].as_str().map(str::to_string))
            .collect()
    }

    #[test]
    fn template_hash_is_stable_and_uses_the_safe_alphabet() {
        let t = json!({"metadata": {"labels": {"app": "x"}}});

        let h = template_hash(&t);

        assert_eq!(h, template_hash(&t.clone()));
        assert!(h.chars().all(|c| "bcdfghjklmnpqrstvwxz2456789".contains(c)));
        assert_ne!(
            h,
            template_hash(&json!({"metadata": {"labels": {"app": "y"}}}))
        );
    }

    #[test]
    fn a_deployment_gets_a_replicaset_and_running_ready_pods() {
        let store = Store::new();
        store.create(node("n1", "127.0.10.1")).expect("node");

        store.create(deployment("web", 2)).expect("deployment");

        let ps = pods(&store, "app=web");
        assert_eq!(ps.len(), 2);
        let rs_name = ps[0]["metadata"]["ownerReferences"][0]["name"]
            .as_str()
            .unwrap_or("")
            .to_string();
        assert!(rs_name.starts_with("web-"));
        assert!(
            names(&ps)
                .iter()
                .all(|n| n.starts_with(&format!("{rs_name}-")) && n.len() == rs_name.len() + 6)
        );
        assert_eq!(ps[0]["status"]["phase"], "Running");
        assert_eq!(ps[0]["status"]["hostIP"], "127.0.10.1");
        assert!(
            ps[0]["status"]["podIP"]
                .as_str()
                .unwrap_or("")
                .starts_with("127.1.")
        );
        assert!(ps[0]["metadata"]["labels"]["pod-template-hash"].is_string());
        let d = store
            .get("apps/v1", "Deployment", Some("default"), "web")
            .expect("deployment");
        assert_eq!(d["status"]["readyReplicas"], 2);
        assert_eq!(d["status"]["updatedReplicas"], 2);
        assert_eq!(d["status"]["availableReplicas"], 2);
        assert_eq!(d["status"]["observedGeneration"], 1);
    }

    #[test]
    fn a_template_change_replaces_the_pods_with_a_new_replicaset() {
        let store = Store::new();
        store.create(node("n1", "127.0.10.1")).expect("node");
        store.create(deployment("web", 2)).expect("deployment");
        let before = names(&pods(&store, "app=web"));

        store
            .patch_merge("apps/v1", "Deployment", Some("default"), "web",
                json!({"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "now"}}}}}))
            .expect("patched");

        let after = names(&pods(&store, "app=web"));
        assert_eq!(after.len(), 2);
        assert!(
            after.iter().all(|n| !before.contains(n)),
            "{before:?} vs {after:?}"
        );
        let rss = store.list("apps/v1", "ReplicaSet", Some("default"), None);
        assert_eq!(rss.len(), 2);
        assert!(rss.iter().any(|rs| rs["spec"]["replicas"] == 0));
        let d = store
            .get("apps/v1", "Deployment", Some("default"), "web")
            .expect("deployment");
        assert_eq!(d["status"]["observedGeneration"], 2);
        assert_eq!(
            d["status"]["conditions"][1]["reason"],
            "NewReplicaSetAvailable"
        );
    }

    #[test]
    fn a_deleted_owned_pod_is_recreated() {
        let store = Store::new();
        store.create(node("n1", "127.0.10.1")).expect("node");
        store.create(deployment("web", 1)).expect("deployment");
        let old = names(&pods(&store, "app=web"));

        store.delete("v1", "Pod", Some("default"), &old[0]);

        let new = names(&pods(&store, "app=web"));
        assert_eq!(new.len(), 1);
        assert_ne!(new, old);
    }

    #[test]
    fn without_nodes_pods_stay_pending_until_a_node_appears() {
        let store = Store::new();
        store.create(deployment("web", 1)).expect("deployment");
        assert_eq!(pods(&store, "app=web")[0]["status"]["phase"], "Pending");

        store.create(node("n1", "127.0.10.1")).expect("node");

        let p = &pods(&store, "app=web")[0];
        assert_eq!(p["status"]["phase"], "Running");
        assert_eq!(p["spec"]["nodeName"], "n1");
        let d = store
            .get("apps/v1", "Deployment", Some("default"), "web")
            .expect("deployment");
        assert_eq!(d["status"]["readyReplicas"], 1);
    }

    #[test]
    fn a_statefulset_gets_ordinal_pods_recreated_on_template_change() {
        let store = Store::new();
        store.create(node("n1", "127.0.10.1")).expect("node");
        let mut sts = deployment("db", 2);
        sts["kind"] = json!("StatefulSet");
        store.create(sts).expect("statefulset");
        let first = pods(&store, "app=db");
        assert_eq!(names(&first), ["db-0", "db-1"]);

        store
            .patch_merge("apps/v1", "StatefulSet", Some("default"), "db",
                json!({"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "img:2"}]}}}}))
            .expect("patched");

        let second = pods(&store, "app=db");
        assert_eq!(names(&second), ["db-0", "db-1"]);
        assert_ne!(first[0]["metadata"]["uid"], second[0]["metadata"]["uid"]);
        let s = store
            .get("apps/v1", "StatefulSet", Some("default"), "db")
            .expect("sts");
        assert_eq!(
            s["status"]["currentRevision"],
            s["status"]["updateRevision"]
        );
        assert_eq!(s["status"]["readyReplicas"], 2);
    }

    #[test]
    fn a_daemonset_follows_the_nodes() {
        let store = Store::new();
        store.create(node("n1", "127.0.10.1")).expect("node");
        let mut ds = deployment("ztunnel", 1);
        ds["kind"] = json!("DaemonSet");
        store.create(ds).expect("daemonset");
        assert_eq!(pods(&store, "app=ztunnel").len(), 1);

        store.create(node("n2", "127.0.10.2")).expect("node");
        let two = pods(&store, "app=ztunnel");
        store.delete("v1", "Node", None, "n1");
        let one = pods(&store, "app=ztunnel");

        assert_eq!(two.len(), 2);
        assert_eq!(one.len(), 1);
        assert_eq!(one[0]["spec"]["nodeName"], "n2");
        let ds = store
            .get("apps/v1", "DaemonSet", Some("default"), "ztunnel")
            .expect("ds");
        assert_eq!(ds["status"]["desiredNumberScheduled"], 1);
        assert_eq!(ds["status"]["numberReady"], 1);
    }

    #[test]
    fn an_unready_pod_shows_in_its_daemonset_status() {
        let store = Store::new();
        store.create(node("n1", "127.0.10.1")).expect("node");
        let mut ds = deployment("ztunnel", 1);
        ds["kind"] = json!("DaemonSet");
        store.create(ds).expect("daemonset");
        let pod = names(&pods(&store, "app=ztunnel"))[0].clone();

        store.set_pod_ready("default", &pod, false).expect("set");

        let ds = store
            .get("apps/v1", "DaemonSet", Some("default"), "ztunnel")
            .expect("ds");
        assert_eq!(ds["status"]["numberReady"], 0);
        assert_eq!(ds["status"]["numberUnavailable"], 1);
    }

    #[test]
    fn a_frozen_deployment_is_not_reconciled() {
        let store = Store::new();
        store.create(node("n1", "127.0.10.1")).expect("node");
        let mut d = deployment("web", 1);
        d["metadata"]["annotations"] = json!({FROZEN_ANNOTATION: "true"});

        store.create(d).expect("deployment");

        assert!(pods(&store, "app=web").is_empty());
        assert!(
            store
                .list("apps/v1", "ReplicaSet", Some("default"), None)
                .is_empty()
        );
    }

    #[test]
    fn deleting_a_deployment_deletes_its_replicasets_and_pods() {
        let store = Store::new();
        store.create(node("n1", "127.0.10.1")).expect("node");
        store.create(deployment("web", 3)).expect("deployment");

        store.delete("apps/v1", "Deployment", Some("default"), "web");

        assert!(pods(&store, "app=web").is_empty());
        assert!(
            store
                .list("apps/v1", "ReplicaSet", Some("default"), None)
                .is_empty()
        );
    }

    #[test]
    fn scaling_down_removes_pods() {
        let store = Store::new();
        store.create(node("n1", "127.0.10.1")).expect("node");
        store.create(deployment("web", 3)).expect("deployment");

        store
            .patch_merge(
                "apps/v1",
                "Deployment",
                Some("default"),
                "web",
                json!({"spec": {"replicas": 1}}),
            )
            .expect("patched");

        assert_eq!(pods(&store, "app=web").len(), 1);
    }

    // ---- paced rollouts (virtual time) --------------------------------------------------------

    const POD_START: std::time::Duration = std::time::Duration::from_secs(5);

    /// Lets virtual time pass: the kubelet's timers due by then fire first.
    async fn after(d: std::time::Duration) {
        tokio::time::sleep(d + std::time::Duration::from_millis(1)).await;
    }

    fn restart(store: &Store, kind: &str, name: &str) {
        store
            .patch_merge("apps/v1", kind, Some("default"), name,
                json!({"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "now"}}}}}))
            .expect("patched");
    }

    fn uids(pods: &[Value]) -> Vec<String> {
        pods.iter()
            .filter_map(|p| p["metadata"]["uid"].as_str().map(str::to_string))
            .collect()
    }

    fn ready_count(pods: &[Value]) -> usize {
        pods.iter()
            .filter(|p| crate::kube::store::pod_is_ready(p))
            .count()
    }

    #[tokio::test(start_paused = true)]
    async fn a_paced_deployment_rollout_surges_and_deletes_old_pods_once_new_ones_are_ready() {
        let store = Store::new();
        store.create(node("n1", "127.0.10.1")).expect("node");
        store.create(deployment("web", 2)).expect("deployment");
        let old = uids(&pods(&store, "app=web"));
        let _kubelet = store.pace_rollouts(POD_START);

        restart(&store, "Deployment", "web");
        let started = pods(&store, "app=web");
        let d0 = store
            .get("apps/v1", "Deployment", Some("default"), "web")
            .expect("d");
        after(POD_START).await;
        let halfway = pods(&store, "app=web");
        after(POD_START).await;
        let done = pods(&store, "app=web");
        let d2 = store
            .get("apps/v1", "Deployment", Some("default"), "web")
            .expect("d");

        assert_eq!(
            (started.len(), ready_count(&started)),
            (3, 2),
            "one new pod surges, starting"
        );
        assert_eq!(d0["status"]["updatedReplicas"], 1);
        assert_eq!(d0["status"]["readyReplicas"], 2);
        assert_eq!(d0["status"]["observedGeneration"], 2);
        let starting = started
            .iter()
            .find(|p| !crate::kube::store::pod_is_ready(p))
            .expect("starting pod");
        assert_eq!(starting["status"]["phase"], "Pending");
        assert_eq!(
            halfway.len(),
            3,
            "one old pod left, a second new one starting"
        );
        assert_eq!(uids(&halfway).iter().filter(|u| old.contains(u)).count(), 1);
        assert_eq!((done.len(), ready_count(&done)), (2, 2));
        assert!(uids(&done).iter().all(|u| !old.contains(u)));
        assert_eq!(d2["status"]["updatedReplicas"], 2);
        assert_eq!(d2["status"]["readyReplicas"], 2);
        assert!(d2["status"].get("unavailableReplicas").is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_paced_statefulset_rollout_replaces_one_pod_at_a_time_highest_ordinal_first() {
        let store = Store::new();
        store.create(node("n1", "127.0.10.1")).expect("node");
        let mut sts = deployment("db", 3);
        sts["kind"] = json!("StatefulSet");
        store.create(sts).expect("statefulset");
        let uid_of = |store: &Store, name: &str| {
            store
                .get("v1", "Pod", Some("default"), name)
                .map(|p| p["metadata"]["uid"].clone())
        };
        let first: Vec<_> = ["db-0", "db-1", "db-2"]
            .iter()
            .map(|n| uid_of(&store, n))
            .collect();
        let _kubelet = store.pace_rollouts(POD_START);

        restart(&store, "StatefulSet", "db");
        let mut replaced = Vec::new();
        for _ in 0..3 {
            let now: Vec<_> = ["db-0", "db-1", "db-2"]
                .iter()
                .map(|n| uid_of(&store, n))
                .collect();
            replaced.push(now.iter().zip(&first).filter(|(a, b)| a != b).count());
            after(POD_START).await;
        }
        let s = store
            .get("apps/v1", "StatefulSet", Some("default"), "db")
            .expect("sts");
        let last: Vec<_> = ["db-0", "db-1", "db-2"]
            .iter()
            .map(|n| uid_of(&store, n))
            .collect();

        assert_eq!(replaced, [1, 2, 3], "one more pod replaced every pod start");
        assert!(last.iter().zip(&first).all(|(a, b)| a != b));
        assert_eq!(s["status"]["updatedReplicas"], 3);
        assert_eq!(s["status"]["readyReplicas"], 3);
        assert_eq!(
            s["status"]["currentRevision"],
            s["status"]["updateRevision"]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_paced_statefulset_rollout_starts_with_the_highest_ordinal() {
        let store = Store::new();
        store.create(node("n1", "127.0.10.1")).expect("node");
        let mut sts = deployment("db", 2);
        sts["kind"] = json!("StatefulSet");
        store.create(sts).expect("statefulset");
        let _kubelet = store.pace_rollouts(POD_START);

        restart(&store, "StatefulSet", "db");

        let db1 = store
            .get("v1", "Pod", Some("default"), "db-1")
            .expect("db-1");
        let db0 = store
            .get("v1", "Pod", Some("default"), "db-0")
            .expect("db-0");
        assert_eq!(db1["status"]["phase"], "Pending", "db-1 is replaced first");
        assert_eq!(db0["status"]["phase"], "Running");
        let s = store
            .get("apps/v1", "StatefulSet", Some("default"), "db")
            .expect("sts");
        assert_eq!(s["status"]["updatedReplicas"], 1);
        assert_eq!(s["status"]["readyReplicas"], 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_paced_daemonset_rollout_goes_node_by_node() {
        let store = Store::new();
        store.create(node("n1", "127.0.10.1")).expect("node");
        store.create(node("n2", "127.0.10.2")).expect("node");
        let mut ds = deployment("cilium", 1);
        ds["kind"] = json!("DaemonSet");
        store.create(ds).expect("daemonset");
        let old = uids(&pods(&store, "app=cilium"));
        let _kubelet = store.pace_rollouts(POD_START);

        restart(&store, "DaemonSet", "cilium");
        let first = pods(&store, "app=cilium");
        after(POD_START).await;
        let second = pods(&store, "app=cilium");
        after(POD_START).await;
        let done = pods(&store, "app=cilium");

        let new = |ps: &[Value]| uids(ps).iter().filter(|u| !old.contains(u)).count();
        assert_eq!((new(&first), ready_count(&first)), (1, 1));
        assert_eq!((new(&second), ready_count(&second)), (2, 1));
        assert_eq!((new(&done), ready_count(&done)), (2, 2));
    }

    #[test]
    fn native_sidecars_run_and_are_ready_like_containers() {
        let store = Store::new();
        store.create(node("n1", "127.0.10.1")).expect("node");
        let mut d = deployment("web", 1);
        d["spec"]["template"]["spec"]["initContainers"] = json!([
            {"name": "istio-init", "image": "proxyv2:1.28"},
            {"name": "istio-proxy", "image": "proxyv2:1.28", "restartPolicy": "Always"}]);
        store.create(d).expect("deployment");

        let p = &pods(&store, "app=web")[0];

        let inits = p["status"]["initContainerStatuses"]
            .as_array()
            .expect("init statuses");
        assert_eq!(inits.len(), 2);
        assert_eq!(inits[0]["state"]["terminated"]["reason"], "Completed");
        assert_eq!(inits[0]["ready"], false);
        assert!(inits[1]["state"]["running"]["startedAt"].is_string());
        assert_eq!(inits[1]["ready"], true);
        assert_eq!(inits[1]["started"], true);
        assert_eq!(p["status"]["containerStatuses"][0]["ready"], true);
    }
}
