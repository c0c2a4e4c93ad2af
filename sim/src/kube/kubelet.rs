//! The kubelet: what a node reports about the pods it runs, and how long a pod takes to start.
//!
//! Every container of the pod spec gets a status, as the kubelet writes them: regular init
//! containers ran to completion, native sidecars (init containers with `restartPolicy: Always`,
//! such as Istio's `istio-proxy`) and regular containers run and are ready. So `kubectl get pods`
//! counts an injected proxy in READY (2/2) and `kubectl describe pod` shows it running.
//!
//! Most pods start at once. Pods that a workload controller creates to roll out a new template
//! start after a delay ([`crate::kube::Store::pace_rollouts`]): they are scheduled with the
//! kubelet's "not started yet" status (`Init:0/N`, or `ContainerCreating` without init
//! containers), and a timer started by `pace_rollouts` makes them Running and Ready when the delay
//! has passed. That is what makes a rollout take time; zero delay (the default) keeps every
//! change synchronous, as unit tests and fixtures want.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::kube::store::{State, Store, WriteOpts, now_rfc3339};

const PODS: &str = "/pods";

/// Pods waiting for their containers to start.
#[derive(Debug, Default)]
pub(crate) struct PodStarts {
    /// How long a pod created by a rollout takes from scheduled to ready; zero starts at once.
    delay: Duration,
    /// Set by a workload controller around the creation of a rollout's pod.
    pub(crate) rollout_pod: bool,
    /// Pods to start: (when, sequence) → (namespace, name, uid). The sequence keeps pods due at
    /// the same instant in creation order, so runs are deterministic.
    due: BTreeMap<(Instant, u64), (String, String, String)>,
    seq: u64,
    /// Wakes the timer task when a new start is queued.
    wake: Arc<Notify>,
}

impl PodStarts {
    /// The delay for the pod being created now, if it must wait.
    fn delay_for_this_pod(&self) -> Option<Duration> {
        (self.rollout_pod && !self.delay.is_zero()).then_some(self.delay)
    }

    fn queue(&mut self, ns: &str, name: &str, uid: &str, delay: Duration) {
        self.seq += 1;
        self.due.insert(
            (Instant::now() + delay, self.seq),
            (ns.to_string(), name.to_string(), uid.to_string()),
        );
        self.wake.notify_one();
    }

    fn next_due(&self) -> Option<Instant> {
        self.due.keys().next().map(|(at, _)| *at)
    }

    fn take_due(&mut self, now: Instant) -> Vec<(String, String, String)> {
        let later = self.due.split_off(&(now, u64::MAX));
        std::mem::replace(&mut self.due, later)
            .into_values()
            .collect()
    }
}

/// Gives a scheduled pod its status: running at once, or not started yet with a timer when a
/// rollout created it and rollouts are paced.
pub(crate) fn start(state: &mut State, pod: &mut Value, host_ip: &str) {
    match state.pod_starts.delay_for_this_pod() {
        Some(delay) => {
            pod["status"] = starting_status(pod, host_ip);
            let meta = &pod["metadata"];
            let s = |k: &str| {
                meta.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            };
            let (ns, name, uid) = (s("namespace"), s("name"), s("uid"));
            state.pod_starts.queue(&ns, &name, &uid, delay);
        }
        None => {
            let pod_ip = state.next_pod_ip();
            pod["status"] = running_status(pod, host_ip, &pod_ip, state);
        }
    }
}

/// Sets the delay of a rollout's pods and returns the timer task's wake-up.
pub(crate) fn pace(state: &mut State, delay: Duration) -> Arc<Notify> {
    state.pod_starts.delay = delay;
    state.pod_starts.wake.clone()
}

/// Starts the pods whose delay has passed, until the task is aborted.
pub(crate) async fn run(store: Store, wake: Arc<Notify>) {
    loop {
        // Registered before reading the queue, so a start queued in between is not missed.
        let woken = wake.notified();
        let next = store.lock().pod_starts.next_due();
        match next {
            Some(at) => {
                tokio::select! {
                    () = tokio::time::sleep_until(at) => {}
                    () = woken => continue,
                }
            }
            None => {
                woken.await;
                continue;
            }
        }
        let mut st = store.lock();
        for (ns, name, uid) in st.pod_starts.take_due(Instant::now()) {
            start_now(&mut st, &ns, &name, &uid);
        }
        st.settle();
    }
}

/// The containers of a pod that was waiting come up: Running and Ready.
fn start_now(state: &mut State, ns: &str, name: &str, uid: &str) {
    let Some(pod) = state.get_stored(PODS, ns, name).cloned() else {
        return;
    };
    if pod.uid != uid || pod.phase.as_deref() != Some("Pending") {
        return;
    }
    let mut v = pod.value();
    if crate::kube::controllers::is_frozen(&v) {
        return;
    }
    let host_ip = v
        .pointer("/status/hostIP")
        .and_then(Value::as_str)
        .unwrap_or("127.0.0.1")
        .to_string();
    let pod_ip = state.next_pod_ip();
    let mut status = running_status(&v, &host_ip, &pod_ip, state);
    // The pod started when it was scheduled, not now.
    if let Some(started) = v.pointer("/status/startTime").cloned() {
        status["startTime"] = started;
    }
    v["status"] = status;
    let Some(def) = state.def(PODS) else { return };
    if let Err(e) = state.update(&def, ns, name, v, WriteOpts::TWIN, false) {
        tracing::warn!("ckf-sim kubelet could not start pod {ns}/{name}: {e}");
    }
}

fn specs<'a>(pod: &'a Value, ptr: &str) -> &'a [Value] {
    pod.pointer(ptr)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// A native sidecar: an init container that keeps running (`restartPolicy: Always`).
pub(crate) fn is_restartable(init: &Value) -> bool {
    init.get("restartPolicy").and_then(Value::as_str) == Some("Always")
}

fn container_id(state: &mut State) -> String {
    // containerd IDs are 64 hex digits.
    format!(
        "containerd://{:016x}{:016x}{:016x}{:016x}",
        state.next_rand(),
        state.next_rand(),
        state.next_rand(),
        state.next_rand()
    )
}

fn image_id(image: &str, state: &mut State) -> String {
    let repo = image.rsplit_once(':').map_or(
        image,
        |(repo, tag)| {
            if tag.contains('/') { image } else { repo }
        },
    );
    format!(
        "{repo}@sha256:{:016x}{:016x}{:016x}{:016x}",
        state.next_rand(),
        state.next_rand(),
        state.next_rand(),
        state.next_rand()
    )
}

/// The status of a pod whose containers run: regular init containers completed, native
/// sidecars and containers running, started and ready.
pub(crate) fn running_status(pod: &Value, host_ip: &str, pod_ip: &str, state: &mut State) -> Value {
    let now = now_rfc3339();
    let status_of = |c: &Value, completed: bool, state: &mut State| -> Value {
        let id = container_id(state);
        let image = c.get("image").and_then(Value::as_str).unwrap_or("");
        let st = if completed {
            json!({"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": now, "finishedAt": now, "containerID": id}})
        } else {
            json!({"running": {"startedAt": now}})
        };
        json!({
            "name": c.get("name").cloned().unwrap_or(Value::Null),
            "image": image,
            "imageID": image_id(image, state),
            "containerID": id,
            "ready": !completed,
            "started": !completed,
            "restartCount": 0,
            "state": st,
            "lastState": {},
        })
    };
    let inits: Vec<Value> = specs(pod, "/spec/initContainers")
        .iter()
        .map(|c| status_of(c, !is_restartable(c), state))
        .collect();
    let containers: Vec<Value> = specs(pod, "/spec/containers")
        .iter()
        .map(|c| status_of(c, false, state))
        .collect();
    let cond = |t: &str| json!({"type": t, "status": "True", "lastProbeTime": null, "lastTransitionTime": now});
    let mut status = json!({
        "phase": "Running",
        "conditions": [
            cond("PodReadyToStartContainers"), cond("Initialized"), cond("Ready"),
            cond("ContainersReady"), cond("PodScheduled"),
        ],
        "hostIP": host_ip,
        "hostIPs": [{"ip": host_ip}],
        "podIP": pod_ip,
        "podIPs": [{"ip": pod_ip}],
        "startTime": now,
        "qosClass": "BestEffort",
        "containerStatuses": containers,
    });
    if !inits.is_empty() {
        status["initContainerStatuses"] = json!(inits);
    }
    status
}

/// The status the kubelet reports for a scheduled pod whose containers are not created yet:
/// every container waiting (`PodInitializing` when there are init containers, else
/// `ContainerCreating`).
pub(crate) fn starting_status(pod: &Value, host_ip: &str) -> Value {
    let now = now_rfc3339();
    let inits = specs(pod, "/spec/initContainers");
    let reason = if inits.is_empty() {
        "ContainerCreating"
    } else {
        "PodInitializing"
    };
    let waiting = |c: &Value| {
        json!({
            "name": c.get("name").cloned().unwrap_or(Value::Null),
            "image": c.get("image").and_then(Value::as_str).unwrap_or(""),
            "imageID": "",
            "ready": false,
            "started": false,
            "restartCount": 0,
            "state": {"waiting": {"reason": reason}},
            "lastState": {},
        })
    };
    let cond = |t: &str, ok: bool, reason: Option<&str>| {
        let mut c = json!({"type": t, "status": if ok { "True" } else { "False" }, "lastProbeTime": null, "lastTransitionTime": now});
        if let Some(r) = reason {
            c["reason"] = json!(r);
        }
        c
    };
    let containers: Vec<Value> = specs(pod, "/spec/containers").iter().map(waiting).collect();
    let mut status = json!({
        "phase": "Pending",
        "conditions": [
            cond("PodReadyToStartContainers", false, None),
            cond("Initialized", inits.is_empty(), (!inits.is_empty()).then_some("ContainersNotInitialized")),
            cond("Ready", false, Some("ContainersNotReady")),
            cond("ContainersReady", false, Some("ContainersNotReady")),
            cond("PodScheduled", true, None),
        ],
        "hostIP": host_ip,
        "hostIPs": [{"ip": host_ip}],
        "startTime": now,
        "qosClass": "BestEffort",
        "containerStatuses": containers,
    });
    if !inits.is_empty() {
        status["initContainerStatuses"] = json!(inits.iter().map(waiting).collect::<Vec<_>>());
    }
    status
}

/// A pod's status with readiness set to `ready`, as a readiness probe of its containers would
/// leave it (init containers, native sidecars included, keep theirs).
pub(crate) fn with_readiness(pod: &Value, ready: bool) -> Value {
    let mut status = pod.get("status").cloned().unwrap_or_else(|| json!({}));
    let s = if ready { "True" } else { "False" };
    let now = now_rfc3339();
    let mut conditions: Vec<Value> = status
        .get("conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for t in ["Ready", "ContainersReady"] {
        match conditions
            .iter_mut()
            .find(|c| c.get("type").and_then(Value::as_str) == Some(t))
        {
            Some(c) => {
                if c.get("status").and_then(Value::as_str) != Some(s) {
                    c["status"] = json!(s);
                    c["lastTransitionTime"] = json!(now);
                }
                if ready {
                    if let Some(m) = c.as_object_mut() {
                        m.remove("reason");
                    }
                } else {
                    c["reason"] = json!("ContainersNotReady");
                }
            }
            None => conditions.push(
                json!({"type": t, "status": s, "lastProbeTime": null, "lastTransitionTime": now}),
            ),
        }
    }
    status["conditions"] = json!(conditions);
    if let Some(cs) = status
        .get_mut("containerStatuses")
        .and_then(Value::as_array_mut)
    {
        for c in cs {
            c["ready"] = json!(ready);
        }
    }
    status
}
