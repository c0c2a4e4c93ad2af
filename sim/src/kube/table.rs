//! Server-side printing: the `meta.k8s.io/v1` `Table` that `kubectl get` asks for
//! (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`).
//!
//! Columns follow the apiserver's printers for the types the twin serves (pods: Name, Ready,
//! Status, Restarts, Age, and IP/Node at priority 1 for `-o wide`; namespaces: Name, Status, Age;
//! nodes: Name, Status, Roles, Age, Version; workloads and services as kubectl shows them);
//! custom resources use their CRD's `additionalPrinterColumns` (simple `.a.b` JSON paths), else
//! Name and Age. Pure functions over JSON.

use serde_json::{Value, json};

use crate::kube::resources::ResourceDef;

/// What each row carries besides its cells (`includeObject`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum IncludeObject {
    /// No object.
    None,
    /// `PartialObjectMetadata` (the default; kubectl reads namespace and labels from it).
    #[default]
    Metadata,
    /// The whole object.
    Object,
}

impl IncludeObject {
    pub fn parse(s: Option<&str>) -> Self {
        match s {
            Some("None") => Self::None,
            Some("Object") => Self::Object,
            _ => Self::Metadata,
        }
    }
}

/// Kubernetes' `duration.HumanDuration`: how `kubectl get` shows ages.
pub(crate) fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".into();
    }
    if seconds < 0 {
        return "0s".into();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{dy}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

fn age(obj: &Value) -> String {
    let Some(ts) = obj
        .pointer("/metadata/creationTimestamp")
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<jiff::Timestamp>().ok())
    else {
        return "<unknown>".into();
    };
    human_duration(jiff::Timestamp::now().as_second() - ts.as_second())
}

fn s<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

fn n(v: &Value, ptr: &str) -> i64 {
    v.pointer(ptr).and_then(Value::as_i64).unwrap_or(0)
}

fn arr<'a>(v: &'a Value, ptr: &str) -> &'a [Value] {
    v.pointer(ptr)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn or_none(x: String) -> String {
    if x.is_empty() { "<none>".into() } else { x }
}

fn column(name: &str, type_: &str, priority: i64, description: &str) -> Value {
    json!({
        "name": name,
        "type": type_,
        "format": if name == "Name" { "name" } else { "" },
        "description": description,
        "priority": priority,
    })
}

const NAME_DESC: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const AGE_DESC: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.";

/// Column definitions and a cell function for a resource type.
fn columns(def: &ResourceDef) -> Vec<Value> {
    let name = column("Name", "string", 0, NAME_DESC);
    let age_col = column("Age", "string", 0, AGE_DESC);
    let c = |n: &str, t: &str, p: i64| column(n, t, p, "");
    match (def.group.as_str(), def.plural.as_str()) {
        ("", "pods") => vec![
            name,
            c("Ready", "string", 0),
            c("Status", "string", 0),
            c("Restarts", "string", 0),
            age_col,
            c("IP", "string", 1),
            c("Node", "string", 1),
            c("Nominated Node", "string", 1),
            c("Readiness Gates", "string", 1),
        ],
        ("", "namespaces") => vec![name, c("Status", "string", 0), age_col],
        ("", "nodes") => vec![
            name,
            c("Status", "string", 0),
            c("Roles", "string", 0),
            age_col,
            c("Version", "string", 0),
            c("Internal-IP", "string", 1),
            c("External-IP", "string", 1),
        ],
        ("", "services") => vec![
            name,
            c("Type", "string", 0),
            c("Cluster-IP", "string", 0),
            c("External-IP", "string", 0),
            c("Port(s)", "string", 0),
            age_col,
            c("Selector", "string", 1),
        ],
        ("", "configmaps") => vec![name, c("Data", "string", 0), age_col],
        ("", "secrets") => vec![
            name,
            c("Type", "string", 0),
            c("Data", "string", 0),
            age_col,
        ],
        ("apps", "deployments") => vec![
            name,
            c("Ready", "string", 0),
            c("Up-to-date", "string", 0),
            c("Available", "string", 0),
            age_col,
            c("Containers", "string", 1),
            c("Images", "string", 1),
            c("Selector", "string", 1),
        ],
        ("apps", "replicasets") => vec![
            name,
            c("Desired", "integer", 0),
            c("Current", "integer", 0),
            c("Ready", "integer", 0),
            age_col,
        ],
        ("apps", "statefulsets") => vec![name, c("Ready", "string", 0), age_col],
        ("apps", "daemonsets") => vec![
            name,
            c("Desired", "integer", 0),
            c("Current", "integer", 0),
            c("Ready", "integer", 0),
            c("Up-to-date", "integer", 0),
            c("Available", "integer", 0),
            c("Node Selector", "string", 0),
            age_col,
        ],
        ("apiextensions.k8s.io", "customresourcedefinitions") => {
            vec![name, c("Created At", "date", 0)]
        }
        _ if def.custom && !def.printer_columns.is_empty() => {
            let mut cols = vec![name];
            for pc in &def.printer_columns {
                cols.push(column(&pc.name, &pc.type_, pc.priority, ""));
            }
            cols
        }
        _ => vec![name, age_col],
    }
}

fn condition_true(p: &Value, type_: &str) -> bool {
    arr(p, "/status/conditions").iter().any(|c| {
        c.get("type").and_then(Value::as_str) == Some(type_)
            && c.get("status").and_then(Value::as_str) == Some("True")
    })
}

fn last_terminated(c: &Value) -> Option<jiff::Timestamp> {
    c.pointer("/lastState/terminated/finishedAt")
        .and_then(Value::as_str)
        .and_then(|t| t.parse().ok())
}

/// Ready, Status and Restarts as the apiserver's pod printer computes them (`printPod` in
/// `pkg/printers/internalversion`): native sidecars (init containers with `restartPolicy:
/// Always`) count in READY once started, init progress shows as `Init:i/n`, a waiting or
/// terminated container's reason wins over the phase, a deleted pod is `Terminating`.
fn pod_summary(p: &Value) -> (String, String, String) {
    let inits = arr(p, "/spec/initContainers");
    let restartable = |name: &str| {
        inits.iter().any(|c| {
            c.get("name").and_then(Value::as_str) == Some(name)
                && c.get("restartPolicy").and_then(Value::as_str) == Some("Always")
        })
    };
    let total = arr(p, "/spec/containers").len()
        + inits
            .iter()
            .filter(|c| c.get("restartPolicy").and_then(Value::as_str) == Some("Always"))
            .count();
    let mut ready = 0usize;
    let mut restarts = 0i64;
    let mut sidecar_restarts = 0i64;
    let mut last_restart: Option<jiff::Timestamp> = None;
    let mut last_sidecar_restart: Option<jiff::Timestamp> = None;
    let phase = s(p, "/status/phase");
    let mut reason = match s(p, "/status/reason") {
        "" => phase.to_string(),
        r => r.to_string(),
    };
    if arr(p, "/status/conditions").iter().any(|c| {
        c.get("type").and_then(Value::as_str) == Some("PodScheduled")
            && c.get("reason").and_then(Value::as_str) == Some("SchedulingGated")
    }) {
        reason = "SchedulingGated".into();
    }
    let mut initializing = false;
    for (i, c) in arr(p, "/status/initContainerStatuses").iter().enumerate() {
        let name = c.get("name").and_then(Value::as_str).unwrap_or("");
        let count = c.get("restartCount").and_then(Value::as_i64).unwrap_or(0);
        restarts += count;
        last_restart = last_restart.max(last_terminated(c));
        if restartable(name) {
            sidecar_restarts += count;
            last_sidecar_restart = last_sidecar_restart.max(last_terminated(c));
        }
        let terminated = c.pointer("/state/terminated");
        let exit = terminated
            .and_then(|t| t.get("exitCode"))
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let waiting = c
            .pointer("/state/waiting/reason")
            .and_then(Value::as_str)
            .unwrap_or("");
        if terminated.is_some() && exit == 0 {
            continue;
        }
        if restartable(name) && c.get("started").and_then(Value::as_bool) == Some(true) {
            if c.get("ready").and_then(Value::as_bool) == Some(true) {
                ready += 1;
            }
            continue;
        }
        reason = if let Some(t) = terminated {
            match t.get("reason").and_then(Value::as_str).unwrap_or("") {
                "" => match t.get("signal").and_then(Value::as_i64).unwrap_or(0) {
                    0 => format!("Init:ExitCode:{exit}"),
                    sig => format!("Init:Signal:{sig}"),
                },
                r => format!("Init:{r}"),
            }
        } else if !waiting.is_empty() && waiting != "PodInitializing" {
            format!("Init:{waiting}")
        } else {
            format!("Init:{i}/{}", inits.len())
        };
        initializing = true;
        break;
    }
    if !initializing || condition_true(p, "Initialized") {
        restarts = sidecar_restarts;
        last_restart = last_sidecar_restart;
        let mut has_running = false;
        for c in arr(p, "/status/containerStatuses").iter().rev() {
            restarts += c.get("restartCount").and_then(Value::as_i64).unwrap_or(0);
            last_restart = last_restart.max(last_terminated(c));
            let waiting = c
                .pointer("/state/waiting/reason")
                .and_then(Value::as_str)
                .unwrap_or("");
            let terminated = c.pointer("/state/terminated");
            if !waiting.is_empty() {
                reason = waiting.to_string();
            } else if let Some(t) = terminated {
                reason = match t.get("reason").and_then(Value::as_str).unwrap_or("") {
                    "" => match t.get("signal").and_then(Value::as_i64).unwrap_or(0) {
                        0 => format!(
                            "ExitCode:{}",
                            t.get("exitCode").and_then(Value::as_i64).unwrap_or(0)
                        ),
                        sig => format!("Signal:{sig}"),
                    },
                    r => r.to_string(),
                };
            } else if c.get("ready").and_then(Value::as_bool) == Some(true)
                && c.pointer("/state/running").is_some()
            {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            reason = if condition_true(p, "Ready") {
                "Running".into()
            } else {
                "NotReady".into()
            };
        }
    }
    let terminal = matches!(phase, "Succeeded" | "Failed");
    if p.pointer("/metadata/deletionTimestamp").is_some() {
        if s(p, "/status/reason") == "NodeLost" {
            reason = "Unknown".into();
        } else if !terminal {
            reason = "Terminating".into();
        }
    }
    let restarts = match last_restart {
        Some(t) if restarts != 0 => format!(
            "{restarts} ({} ago)",
            human_duration(jiff::Timestamp::now().as_second() - t.as_second())
        ),
        _ => restarts.to_string(),
    };
    (format!("{ready}/{total}"), reason, restarts)
}

fn pod_cells(p: &Value) -> Vec<Value> {
    let (ready, status, restarts) = pod_summary(p);
    let gates = arr(p, "/spec/readinessGates");
    let gates_true = gates
        .iter()
        .filter(|g| {
            g.get("conditionType")
                .and_then(Value::as_str)
                .is_some_and(|t| condition_true(p, t))
        })
        .count();
    let ip = arr(p, "/status/podIPs")
        .first()
        .and_then(|i| i.get("ip"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    vec![
        json!(s(p, "/metadata/name")),
        json!(ready),
        json!(status),
        json!(restarts),
        json!(age(p)),
        json!(or_none(ip)),
        json!(or_none(s(p, "/spec/nodeName").to_string())),
        json!(or_none(s(p, "/status/nominatedNodeName").to_string())),
        json!(if gates.is_empty() {
            "<none>".to_string()
        } else {
            format!("{gates_true}/{}", gates.len())
        }),
    ]
}

fn node_cells(nd: &Value) -> Vec<Value> {
    let ready = arr(nd, "/status/conditions").iter().any(|c| {
        c.get("type").and_then(Value::as_str) == Some("Ready")
            && c.get("status").and_then(Value::as_str) == Some("True")
    });
    let mut status = if ready { "Ready" } else { "NotReady" }.to_string();
    if nd.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true) {
        status.push_str(",SchedulingDisabled");
    }
    let mut roles: Vec<String> = nd
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| {
            if let Some(r) = k.strip_prefix("node-role.kubernetes.io/") {
                Some(r.to_string())
            } else if k == "kubernetes.io/role" {
                v.as_str().map(str::to_string)
            } else {
                None
            }
        })
        .filter(|r| !r.is_empty())
        .collect();
    roles.sort();
    let addr = |t: &str| -> String {
        arr(nd, "/status/addresses")
            .iter()
            .find(|a| a.get("type").and_then(Value::as_str) == Some(t))
            .and_then(|a| a.get("address").and_then(Value::as_str))
            .unwrap_or("<none>")
            .to_string()
    };
    vec![
        json!(s(nd, "/metadata/name")),
        json!(status),
        json!(or_none(roles.join(","))),
        json!(age(nd)),
        json!(s(nd, "/status/nodeInfo/kubeletVersion")),
        json!(addr("InternalIP")),
        json!(addr("ExternalIP")),
    ]
}

fn selector_string(v: Option<&Value>) -> String {
    let Some(m) = v.and_then(Value::as_object) else {
        return "<none>".into();
    };
    or_none(
        m.iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
            .collect::<Vec<_>>()
            .join(","),
    )
}

fn service_cells(svc: &Value) -> Vec<Value> {
    let ports: Vec<String> = arr(svc, "/spec/ports")
        .iter()
        .map(|p| {
            let port = p.get("port").and_then(Value::as_i64).unwrap_or(0);
            let proto = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
            match p.get("nodePort").and_then(Value::as_i64) {
                Some(np) => format!("{port}:{np}/{proto}"),
                None => format!("{port}/{proto}"),
            }
        })
        .collect();
    let external: Vec<&str> = arr(svc, "/status/loadBalancer/ingress")
        .iter()
        .filter_map(|i| i.get("ip").and_then(Value::as_str))
        .collect();
    let external = if external.is_empty() {
        if s(svc, "/spec/type") == "LoadBalancer" {
            "<pending>".to_string()
        } else {
            "<none>".to_string()
        }
    } else {
        external.join(",")
    };
    vec![
        json!(s(svc, "/metadata/name")),
        json!(s(svc, "/spec/type")),
        json!(or_none(s(svc, "/spec/clusterIP").to_string())),
        json!(external),
        json!(or_none(ports.join(","))),
        json!(age(svc)),
        json!(selector_string(svc.pointer("/spec/selector"))),
    ]
}

/// Evaluates the simple JSON paths printer columns use (`.status.phase`, `.spec.x[0].y`).
fn json_path(v: &Value, path: &str) -> Value {
    let mut cur = v;
    for part in path.trim_start_matches('.').split('.') {
        if part.is_empty() {
            continue;
        }
        let (key, index) = match part.split_once('[') {
            Some((k, rest)) => (k, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        cur = match cur.get(key) {
            Some(x) => x,
            None => return Value::Null,
        };
        if let Some(i) = index {
            cur = match cur.get(i) {
                Some(x) => x,
                None => return Value::Null,
            };
        }
    }
    cur.clone()
}

fn cells(def: &ResourceDef, o: &Value) -> Vec<Value> {
    let name = json!(s(o, "/metadata/name"));
    match (def.group.as_str(), def.plural.as_str()) {
        ("", "pods") => pod_cells(o),
        ("", "namespaces") => vec![
            name,
            json!(or_none(s(o, "/status/phase").to_string())),
            json!(age(o)),
        ],
        ("", "nodes") => node_cells(o),
        ("", "services") => service_cells(o),
        ("", "configmaps") => {
            let data = o
                .get("data")
                .and_then(Value::as_object)
                .map_or(0, |m| m.len())
                + o.get("binaryData")
                    .and_then(Value::as_object)
                    .map_or(0, |m| m.len());
            vec![name, json!(data.to_string()), json!(age(o))]
        }
        ("", "secrets") => {
            let data = o
                .get("data")
                .and_then(Value::as_object)
                .map_or(0, |m| m.len());
            vec![
                name,
                json!(s(o, "/type")),
                json!(data.to_string()),
                json!(age(o)),
            ]
        }
        ("apps", "deployments") => {
            let containers = arr(o, "/spec/template/spec/containers");
            let join = |key: &str| {
                containers
                    .iter()
                    .filter_map(|c| c.get(key).and_then(Value::as_str))
                    .collect::<Vec<_>>()
                    .join(",")
            };
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    n(o, "/status/readyReplicas"),
                    n(o, "/spec/replicas")
                )),
                json!(n(o, "/status/updatedReplicas").to_string()),
                json!(n(o, "/status/availableReplicas").to_string()),
                json!(age(o)),
                json!(join("name")),
                json!(join("image")),
                json!(selector_string(o.pointer("/spec/selector/matchLabels"))),
            ]
        }
        ("apps", "replicasets") => vec![
            name,
            json!(n(o, "/spec/replicas")),
            json!(n(o, "/status/replicas")),
            json!(n(o, "/status/readyReplicas")),
            json!(age(o)),
        ],
        ("apps", "statefulsets") => vec![
            name,
            json!(format!(
                "{}/{}",
                n(o, "/status/readyReplicas"),
                n(o, "/spec/replicas")
            )),
            json!(age(o)),
        ],
        ("apps", "daemonsets") => vec![
            name,
            json!(n(o, "/status/desiredNumberScheduled")),
            json!(n(o, "/status/currentNumberScheduled")),
            json!(n(o, "/status/numberReady")),
            json!(n(o, "/status/updatedNumberScheduled")),
            json!(n(o, "/status/numberAvailable")),
            json!(selector_string(
                o.pointer("/spec/template/spec/nodeSelector")
            )),
            json!(age(o)),
        ],
        ("apiextensions.k8s.io", "customresourcedefinitions") => {
            vec![name, json!(s(o, "/metadata/creationTimestamp"))]
        }
        _ if def.custom && !def.printer_columns.is_empty() => {
            let mut out = vec![name];
            for pc in &def.printer_columns {
                out.push(json_path(o, &pc.json_path));
            }
            out
        }
        _ => vec![name, json!(age(o))],
    }
}

/// A Table of `objects` with the given list metadata (`resourceVersion`, `continue`).
pub(crate) fn table(
    def: &ResourceDef,
    objects: &[Value],
    list_meta: Value,
    include: IncludeObject,
    api_version: &str,
) -> Value {
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| {
            let mut row = json!({"cells": cells(def, o)});
            match include {
                IncludeObject::None => {}
                IncludeObject::Metadata => {
                    row["object"] = json!({
                        "kind": "PartialObjectMetadata",
                        "apiVersion": "meta.k8s.io/v1",
                        "metadata": o.get("metadata").cloned().unwrap_or(json!({})),
                    });
                }
                IncludeObject::Object => row["object"] = o.clone(),
            }
            row
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": api_version,
        "metadata": list_meta,
        "columnDefinitions": columns(def),
        "rows": rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::resources::{Registry, crd};

    fn def(api_version: &str, kind: &str) -> ResourceDef {
        (**Registry::builtins()
            .by_kind(api_version, kind)
            .expect("built-in"))
        .clone()
    }

    #[test]
    fn human_duration_matches_kubectl() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(119), "119s");
        assert_eq!(human_duration(125), "2m5s");
        assert_eq!(human_duration(600), "10m");
        assert_eq!(human_duration(3 * 3600 + 120), "3h2m");
        assert_eq!(human_duration(30 * 3600), "30h");
        assert_eq!(human_duration(3 * 86_400 + 3600), "3d1h");
        assert_eq!(human_duration(100 * 86_400), "100d");
        assert_eq!(human_duration(-5), "<invalid>");
    }

    #[test]
    fn pod_rows_show_ready_status_and_restarts() {
        let pod = json!({
            "metadata": {"name": "p", "namespace": "admin", "creationTimestamp": "2020-01-01T00:00:00Z"},
            "spec": {"containers": [{"name": "a"}, {"name": "b"}], "nodeName": "n1"},
            "status": {"phase": "Running", "podIP": "127.1.0.9", "podIPs": [{"ip": "127.1.0.9"}], "containerStatuses": [
                {"name": "a", "ready": true, "restartCount": 1, "state": {"running": {}}},
                {"name": "b", "ready": false, "restartCount": 2, "state": {"running": {}}}]}
        });

        let t = table(
            &def("v1", "Pod"),
            &[pod],
            json!({}),
            IncludeObject::Metadata,
            "meta.k8s.io/v1",
        );

        let names: Vec<&str> = t["columnDefinitions"]
            .as_array()
            .expect("columns")
            .iter()
            .filter(|c| c["priority"] == 0)
            .filter_map(|c| c["name"].as_str())
            .collect();
        assert_eq!(names, ["Name", "Ready", "Status", "Restarts", "Age"]);
        let cells = &t["rows"][0]["cells"];
        assert_eq!(cells[0], "p");
        assert_eq!(cells[1], "1/2");
        assert_eq!(cells[2], "Running");
        assert_eq!(cells[3], "3");
        assert_eq!(cells[5], "127.1.0.9");
        assert_eq!(t["rows"][0]["object"]["metadata"]["namespace"], "admin");
        assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
    }

    fn running(name: &str) -> Value {
        json!({"name": name, "ready": true, "started": true, "restartCount": 0, "state": {"running": {"startedAt": "2020-01-01T00:00:00Z"}}})
    }

    fn sidecar_pod() -> Value {
        json!({
            "metadata": {"name": "nb-0"},
            "spec": {
                "initContainers": [{"name": "istio-init"}, {"name": "istio-proxy", "restartPolicy": "Always"}],
                "containers": [{"name": "nb"}],
            },
            "status": {"phase": "Running", "conditions": [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"}]},
        })
    }

    #[test]
    fn a_native_sidecar_counts_in_ready_once_started() {
        let mut pod = sidecar_pod();
        pod["status"]["initContainerStatuses"] = json!([
            {"name": "istio-init", "ready": false, "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
            running("istio-proxy"),
        ]);
        pod["status"]["containerStatuses"] = json!([running("nb")]);

        assert_eq!(
            pod_summary(&pod),
            ("2/2".into(), "Running".into(), "0".into())
        );
    }

    #[test]
    fn a_pod_whose_init_containers_have_not_run_shows_init_progress() {
        let mut pod = sidecar_pod();
        let waiting = |n: &str| json!({"name": n, "ready": false, "started": false, "restartCount": 0, "state": {"waiting": {"reason": "PodInitializing"}}});
        pod["status"] = json!({"phase": "Pending",
            "conditions": [{"type": "Initialized", "status": "False"}],
            "initContainerStatuses": [waiting("istio-init"), waiting("istio-proxy")],
            "containerStatuses": [waiting("nb")]});

        assert_eq!(
            pod_summary(&pod),
            ("0/2".into(), "Init:0/2".into(), "0".into())
        );
    }

    #[test]
    fn a_classic_sidecar_container_counts_like_any_container() {
        let pod = json!({
            "metadata": {"name": "web"},
            "spec": {"containers": [{"name": "web"}, {"name": "istio-proxy"}]},
            "status": {"phase": "Running", "containerStatuses": [running("istio-proxy"), running("web")]},
        });

        assert_eq!(pod_summary(&pod).0, "2/2");
    }

    #[test]
    fn a_deleted_running_pod_is_terminating() {
        let mut pod = sidecar_pod();
        pod["metadata"]["deletionTimestamp"] = json!("2020-01-01T00:00:00Z");

        assert_eq!(pod_summary(&pod).1, "Terminating");
    }

    #[test]
    fn namespace_rows_show_the_phase() {
        let ns = json!({"metadata": {"name": "admin"}, "status": {"phase": "Active"}});

        let t = table(
            &def("v1", "Namespace"),
            &[ns],
            json!({}),
            IncludeObject::None,
            "meta.k8s.io/v1",
        );

        assert_eq!(t["rows"][0]["cells"][1], "Active");
        assert!(t["rows"][0].get("object").is_none());
    }

    #[test]
    fn custom_resources_use_printer_columns_or_name_and_age() {
        let mut reg = Registry::builtins();
        let mut c = crd(
            "gateway.networking.k8s.io",
            &["v1"],
            "Gateway",
            "gateways",
            true,
        );
        c["spec"]["versions"][0]["additionalPrinterColumns"] = json!([
            {"name": "Class", "type": "string", "jsonPath": ".spec.gatewayClassName"},
            {"name": "Programmed", "type": "string", "jsonPath": ".status.conditions[1].status"}]);
        reg.define_crd(&c);
        reg.define_crd(&crd("kubeflow.org", &["v1"], "Profile", "profiles", false));
        let gw = json!({"metadata": {"name": "g"}, "spec": {"gatewayClassName": "istio"},
                        "status": {"conditions": [{"type": "Accepted", "status": "True"}, {"type": "Programmed", "status": "True"}]}});

        let gt = table(
            reg.by_kind("gateway.networking.k8s.io/v1", "Gateway")
                .expect("gw"),
            &[gw],
            json!({}),
            IncludeObject::None,
            "meta.k8s.io/v1",
        );
        let pt = table(
            reg.by_kind("kubeflow.org/v1", "Profile").expect("profile"),
            &[json!({"metadata": {"name": "admin"}})],
            json!({}),
            IncludeObject::None,
            "meta.k8s.io/v1",
        );

        assert_eq!(gt["rows"][0]["cells"], json!(["g", "istio", "True"]));
        assert_eq!(pt["columnDefinitions"][1]["name"], "Age");
    }
}
