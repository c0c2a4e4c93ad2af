//! Statuses as the real charms and Juju show them, computed from the model state.
//!
//! One small rule per charm decides the workload status of a settled unit (ckf-ambient.md §1.3,
//! §2.3); the life cycle (allocating, installing, busy, dying, hook error) decides the rest.
//! Application status is derived from its units as Juju does (the most severe wins).
//!
//! | charm | rule |
//! |---|---|
//! | istio-ingress-k8s | `Serving at <ingress address>` once an istio-k8s app is alive and settled; before: Blocked "Gateway k8s deployment not ready, is istio properly installed?" |
//! | pvcviewer-operator, jupyter-controller | Blocked "Service mesh relation present without gateway metadata relation" with service-mesh and no gateway-metadata; gateway-metadata waiting rule |
//! | UIs (kubeflow-dashboard, katib-ui, jupyter-ui, kfp-ui, kubeflow-volumes, tensorboards-web-app) | Blocked "Cannot have both 'istio-ingress-route' and 'ingress' relations at the same time." when both exist |
//! | tensorboard-controller | both gateway-info and gateway-metadata: Blocked "Cannot relate to both sidecar and ambient gateway simultaneously"; neither: Blocked "Missing required gateway relation"; gateway-metadata waiting rule |
//! | kserve-controller | both: Blocked "Both gateway-metadata and ingress-gateway relations are established"; bad deployment-mode: Blocked "Please set deployment-mode to either Serverless or RawDeployment"; neither: Blocked "Please relate to istio-pilot:gateway-info"; gateway-metadata waiting rule |
//! | everything else | Active, empty message |
//!
//! Gateway-metadata waiting rule: while the gateway-metadata relation is joining, or its provider
//! is not yet `Serving`, the consumer is Waiting "Waiting for gateway-metadata relation data"
//! (kserve-controller) or "Waiting for gateway metadata relation data" (jupyter-controller,
//! tensorboard-controller, pvcviewer-operator: no hyphen); istio-ingress-k8s publishes the data
//! only once it serves.
//!
//! Every text is the charm's own, read from its source on the branch of its target channel:
//! canonical/notebook-operators track/1.11 (jupyter-controller, jupyter-ui),
//! canonical/pvcviewer-operator track/1.11 (`src/components/service_mesh_component.py`),
//! canonical/kubeflow-tensorboards-operator main (tensorboard-controller, tensorboards-web-app),
//! canonical/kserve-operators track/0.15, canonical/kubeflow-dashboard-operator track/2.0,
//! canonical/katib-operators track/0.19, canonical/kfp-operators track/2.15,
//! canonical/kubeflow-volumes-operator track/1.11, canonical/istio-ingress-k8s-operator track/2.

use std::fmt;

use super::state::{ActivityKind, App, Life, Phase, State};

/// Workload status of a unit or application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WorkloadStatus {
    /// `active`
    Active,
    /// `blocked`
    Blocked,
    /// `waiting`
    Waiting,
    /// `maintenance`
    Maintenance,
    /// `error`
    Error,
    /// `terminated`
    Terminated,
    /// `unknown`
    Unknown,
}

impl WorkloadStatus {
    /// Wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkloadStatus::Active => "active",
            WorkloadStatus::Blocked => "blocked",
            WorkloadStatus::Waiting => "waiting",
            WorkloadStatus::Maintenance => "maintenance",
            WorkloadStatus::Error => "error",
            WorkloadStatus::Terminated => "terminated",
            WorkloadStatus::Unknown => "unknown",
        }
    }

    /// Juju's severity order for deriving an application's status from its units
    /// (`core/status` DeriveStatus).
    fn severity(self) -> u8 {
        match self {
            WorkloadStatus::Error => 100,
            WorkloadStatus::Blocked => 90,
            WorkloadStatus::Waiting => 80,
            WorkloadStatus::Maintenance => 70,
            WorkloadStatus::Terminated => 60,
            WorkloadStatus::Active => 50,
            WorkloadStatus::Unknown => 40,
        }
    }
}

impl fmt::Display for WorkloadStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Status of a unit agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AgentStatus {
    /// `allocating`
    Allocating,
    /// `executing`
    Executing,
    /// `idle`
    Idle,
    /// `error`
    Error,
}

impl AgentStatus {
    /// Wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AgentStatus::Allocating => "allocating",
            AgentStatus::Executing => "executing",
            AgentStatus::Idle => "idle",
            AgentStatus::Error => "error",
        }
    }
}

impl fmt::Display for AgentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Computed statuses of one unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UnitStatuses {
    pub workload: WorkloadStatus,
    pub workload_message: String,
    pub agent: AgentStatus,
    pub agent_message: String,
}

/// kserve-controller's wait (`charms/kserve-controller/src/charm.py`, kserve-operators track/0.15).
const GATEWAY_METADATA_WAIT_KSERVE: &str = "Waiting for gateway-metadata relation data";
/// The wait of jupyter-controller, tensorboard-controller and pvcviewer-operator (no hyphen).
const GATEWAY_METADATA_WAIT: &str = "Waiting for gateway metadata relation data";

/// Statuses of unit `index` (position in `app.units`) of `app`.
pub(crate) fn unit_statuses(state: &State, app: &App, index: usize, ingress: &str) -> UnitStatuses {
    let unit = &app.units[index];
    if let Some(hook) = &unit.error_hook {
        let message = format!("hook failed: {hook:?}");
        return UnitStatuses {
            workload: WorkloadStatus::Error,
            workload_message: message.clone(),
            agent: AgentStatus::Error,
            agent_message: message,
        };
    }
    let (workload, workload_message) = match app.phase {
        Phase::Allocating => {
            return UnitStatuses {
                workload: WorkloadStatus::Waiting,
                workload_message: "installing agent".into(),
                agent: AgentStatus::Allocating,
                agent_message: String::new(),
            };
        }
        Phase::Installing => {
            return UnitStatuses {
                workload: WorkloadStatus::Maintenance,
                workload_message: "installing charm software".into(),
                agent: AgentStatus::Executing,
                agent_message: "running install hook".into(),
            };
        }
        Phase::Dying => {
            return UnitStatuses {
                workload: WorkloadStatus::Maintenance,
                workload_message: "stopping charm software".into(),
                agent: AgentStatus::Executing,
                agent_message: "running stop hook".into(),
            };
        }
        Phase::Ready => charm_rule(state, app, index, ingress),
    };
    match app.busy.first().map(|a| &a.kind) {
        None => UnitStatuses {
            workload,
            workload_message,
            agent: AgentStatus::Idle,
            agent_message: String::new(),
        },
        Some(ActivityKind::Refresh) => UnitStatuses {
            workload: WorkloadStatus::Maintenance,
            workload_message: "upgrading".into(),
            agent: AgentStatus::Executing,
            agent_message: "running upgrade-charm hook".into(),
        },
        Some(kind) => {
            let hook = match kind {
                ActivityKind::Relate { endpoint, .. } => format!("{endpoint}-relation-changed"),
                ActivityKind::Unrelate { endpoint } => format!("{endpoint}-relation-departed"),
                _ => "config-changed".to_string(),
            };
            UnitStatuses {
                workload,
                workload_message,
                agent: AgentStatus::Executing,
                agent_message: format!("running {hook} hook"),
            }
        }
    }
}

/// Application status: the most severe unit workload status, with that unit's message.
pub(crate) fn app_status(units: &[UnitStatuses]) -> (WorkloadStatus, String) {
    units
        .iter()
        .max_by_key(|u| u.workload.severity())
        .map(|u| (u.workload, u.workload_message.clone()))
        .unwrap_or((WorkloadStatus::Waiting, "waiting for units".into()))
}

/// Whether `app` is istio-ingress-k8s and serves (used for gateway-metadata data).
fn ingress_serving(state: &State, app: &App) -> bool {
    app.release.charm == "istio-ingress-k8s"
        && app.phase == Phase::Ready
        && app.life == Life::Alive
        && state.app_by_charm("istio-k8s").is_some_and(App::settled)
}

fn active() -> (WorkloadStatus, String) {
    (WorkloadStatus::Active, String::new())
}

fn blocked(message: &str) -> (WorkloadStatus, String) {
    (WorkloadStatus::Blocked, message.to_string())
}

/// Waiting while gateway-metadata data has not arrived; `None` when it has (or no relation).
fn gateway_metadata_wait(state: &State, app: &App) -> Option<(WorkloadStatus, String)> {
    let rel = state.relation_on(&app.name, "gateway-metadata")?;
    let provider_serves = state
        .remote_of(rel, &app.name)
        .is_some_and(|p| ingress_serving(state, p));
    let message = if app.release.charm == "kserve-controller" {
        GATEWAY_METADATA_WAIT_KSERVE
    } else {
        GATEWAY_METADATA_WAIT
    };
    (rel.joining || !provider_serves).then(|| (WorkloadStatus::Waiting, message.to_string()))
}

/// The per-charm rules of the module table.
fn charm_rule(state: &State, app: &App, index: usize, ingress: &str) -> (WorkloadStatus, String) {
    let on = |endpoint: &str| state.related_on(&app.name, endpoint);
    let leader = index == 0;
    match app.release.charm.as_str() {
        "istio-k8s" | "istio-beacon-k8s" if !leader => (
            WorkloadStatus::Active,
            "Backup unit; standing by for leader takeover".into(),
        ),
        "istio-ingress-k8s" => {
            if !leader {
                (
                    WorkloadStatus::Active,
                    "Backup unit; standing by for leader takeover".into(),
                )
            } else if ingress_serving(state, app) {
                (WorkloadStatus::Active, format!("Serving at {ingress}"))
            } else {
                blocked("Gateway k8s deployment not ready, is istio properly installed?")
            }
        }
        "pvcviewer-operator" | "jupyter-controller" => {
            if on("service-mesh") && !on("gateway-metadata") {
                blocked("Service mesh relation present without gateway metadata relation")
            } else {
                gateway_metadata_wait(state, app).unwrap_or_else(active)
            }
        }
        "tensorboard-controller" => match (on("gateway-info"), on("gateway-metadata")) {
            (true, true) => {
                blocked("Cannot relate to both sidecar and ambient gateway simultaneously")
            }
            (false, false) => blocked("Missing required gateway relation"),
            (false, true) => gateway_metadata_wait(state, app).unwrap_or_else(active),
            (true, false) => active(),
        },
        "kserve-controller" => {
            let mode = app.config_string("deployment-mode").to_lowercase();
            if on("ingress-gateway") && on("gateway-metadata") {
                blocked("Both gateway-metadata and ingress-gateway relations are established")
            } else if mode != "serverless" && mode != "rawdeployment" {
                blocked("Please set deployment-mode to either Serverless or RawDeployment")
            } else if on("gateway-metadata") {
                gateway_metadata_wait(state, app).unwrap_or_else(active)
            } else if on("ingress-gateway") {
                active()
            } else {
                blocked("Please relate to istio-pilot:gateway-info")
            }
        }
        charm => match both_ingress_message(charm) {
            Some(message) if on("istio-ingress-route") && on("ingress") => blocked(message),
            _ => active(),
        },
    }
}

/// The UI charms' message when related to both the sidecar `ingress` and the ambient
/// `istio-ingress-route`: the same text in all six charms' sources.
fn both_ingress_message(charm: &str) -> Option<&'static str> {
    matches!(
        charm,
        "kubeflow-dashboard"
            | "katib-ui"
            | "jupyter-ui"
            | "kubeflow-volumes"
            | "tensorboards-web-app"
            | "kfp-ui"
    )
    .then_some("Cannot have both 'istio-ingress-route' and 'ingress' relations at the same time.")
}
