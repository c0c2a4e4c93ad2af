//! What the engine saw: the model and the cluster, reduced to what the plan's facts talk about.
//!
//! The engine fills these from the Juju and Kubernetes ports; tests build them as literals.

use std::collections::{BTreeMap, BTreeSet};

use super::ids::EndpointRef;
use super::model::{FactKind, LegacyObject, Phase, WorkloadRef};

/// The observed state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observed {
    /// Applications by name.
    pub applications: BTreeMap<String, App>,
    /// Relations between two applications, each as a sorted pair.
    pub relations: BTreeSet<(EndpointRef, EndpointRef)>,
    /// Kubernetes objects the phases talk about.
    pub cluster: ClusterState,
}

impl Observed {
    /// Records a relation (either order).
    pub fn add_relation(&mut self, a: EndpointRef, b: EndpointRef) {
        self.relations.insert(sorted_pair(a, b));
    }

    /// Whether two endpoints are related (either order).
    pub fn has_relation(&self, a: &EndpointRef, b: &EndpointRef) -> bool {
        self.relations.contains(&sorted_pair(a.clone(), b.clone()))
    }
}

pub(crate) fn sorted_pair(a: EndpointRef, b: EndpointRef) -> (EndpointRef, EndpointRef) {
    if a <= b { (a, b) } else { (b, a) }
}

/// An application as the plan sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct App {
    /// Application name.
    pub name: String,
    /// Charm name.
    pub charm: String,
    /// Channel as Juju reports it.
    pub channel: String,
    /// Charm revision.
    pub revision: Option<i64>,
    /// Being removed.
    pub dying: bool,
    /// Units.
    pub units: Vec<Unit>,
    /// Charm config in effect, when it was read (`juju config APP`): values as strings.
    pub config: Option<BTreeMap<String, String>>,
    /// Application trust, when it was read.
    pub trust: Option<bool>,
    /// The options a user set (`juju config` source `user`), when the config was read.
    pub user_set: Option<BTreeSet<String>>,
}

/// A unit's statuses.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Unit {
    /// Unit name (`app/0`).
    pub name: String,
    /// Workload status.
    pub workload: Status,
    /// Agent status.
    pub agent: Status,
}

/// A status and its message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// `active`, `blocked`, `idle`, …
    pub current: String,
    /// The message.
    pub message: String,
}

impl Status {
    /// A status with a message.
    pub fn new(current: &str, message: &str) -> Self {
        Self {
            current: current.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.message.is_empty() {
            f.write_str(&self.current)
        } else {
            write!(f, "{} \"{}\"", self.current, self.message)
        }
    }
}

/// The Kubernetes side, as far as the phases need it. A missing entry means "not observed".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterState {
    /// ConfigMap data by `namespace/name`; `None` when the ConfigMap does not exist.
    pub config_maps: BTreeMap<String, Option<BTreeMap<String, String>>>,
    /// Workload rollouts; `None` when the workload does not exist.
    pub rollouts: BTreeMap<WorkloadRef, Option<Rollout>>,
    /// Names of sidecar-era objects still present (empty when gone).
    pub legacy: BTreeMap<LegacyObject, Vec<String>>,
    /// Namespaces asked about; `None` when absent, else its phase (`Active`, `Terminating`).
    pub namespaces: BTreeMap<String, Option<String>>,
    /// The namespaces of Kubeflow profiles with their labels.
    pub profile_namespaces: Option<Vec<ProfileNamespace>>,
    /// Workloads in profile namespaces whose pods carry an istio-proxy sidecar.
    pub sidecars: Option<SidecarInventory>,
    /// Workloads in profile namespaces labelled for injection whose pods lack the sidecar the
    /// injector would give them.
    pub missing_sidecars: Option<SidecarInventory>,
}

/// A workload's rollout as its status reports it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rollout {
    /// Annotations of the pod template.
    pub template_annotations: BTreeMap<String, String>,
    /// `metadata.generation`.
    pub generation: i64,
    /// `status.observedGeneration`.
    pub observed_generation: i64,
    /// Pods wanted.
    pub desired: i64,
    /// Pods running the current template.
    pub updated: i64,
    /// Pods ready.
    pub ready: i64,
}

impl Rollout {
    /// Every pod runs the current template and is ready.
    pub fn complete(&self) -> bool {
        self.observed_generation >= self.generation
            && self.updated >= self.desired
            && self.ready >= self.desired
    }
}

/// A profile's namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileNamespace {
    /// Name.
    pub name: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
}

impl ProfileNamespace {
    /// Labelled for sidecar injection.
    pub fn is_injected(&self) -> bool {
        self.labels.get("istio-injection").map(String::as_str) == Some("enabled")
    }

    /// Labelled for ambient and not for sidecar injection.
    pub fn is_ambient(&self) -> bool {
        self.labels
            .get("istio.io/dataplane-mode")
            .map(String::as_str)
            == Some("ambient")
            && self.labels.get("istio-injection").map(String::as_str) != Some("enabled")
    }
}

/// Where the sidecars are.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SidecarInventory {
    /// Restartable workloads with sidecar pods.
    pub workloads: Vec<SidecarWorkload>,
    /// Pods with sidecars whose owner cannot be restarted (`namespace/pod: why`).
    pub unrestartable: Vec<String>,
}

/// A restartable workload with pods that still carry an istio-proxy sidecar.
#[derive(Debug, Clone, PartialEq)]
pub struct SidecarWorkload {
    /// The workload to restart.
    pub workload: WorkloadRef,
    /// What controls it, when something does (`Notebook admin/my-notebook`).
    pub controller: Option<String>,
    /// Names of the pods with sidecars.
    pub pods: Vec<String>,
}

/// What the engine has to observe for a set of phases, beyond `FullStatus`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Needs {
    /// Roles whose config and trust must be read.
    pub app_configs: BTreeSet<String>,
    /// ConfigMaps (`namespace/name`).
    pub config_maps: BTreeSet<String>,
    /// Workload rollouts.
    pub rollouts: BTreeSet<WorkloadRef>,
    /// Sidecar-era objects.
    pub legacy: BTreeSet<LegacyObject>,
    /// Namespaces.
    pub namespaces: BTreeSet<String>,
    /// Profile namespaces and their labels.
    pub profile_namespaces: bool,
    /// Sidecar inventory of the profile namespaces.
    pub sidecars: bool,
    /// Pods of the profile namespaces that lack their sidecar.
    pub missing_sidecars: bool,
}

impl Needs {
    /// What these phases need observed.
    pub fn of<'a>(phases: impl IntoIterator<Item = &'a Phase>) -> Self {
        let mut needs = Needs::default();
        for fact in phases.into_iter().flat_map(|p| &p.facts) {
            match &fact.kind {
                FactKind::ConfigMapData {
                    namespace, name, ..
                } => {
                    needs.config_maps.insert(format!("{namespace}/{name}"));
                }
                FactKind::RolledOut {
                    workload,
                    config_map,
                } => {
                    needs.rollouts.insert(workload.clone());
                    needs.config_maps.insert(config_map.clone());
                }
                FactKind::LegacyGone(object) | FactKind::Present(object) => {
                    needs.legacy.insert(object.clone());
                }
                FactKind::SidecarsInjected => {
                    needs.profile_namespaces = true;
                    needs.missing_sidecars = true;
                }
                FactKind::NamespaceGone { namespace } => {
                    needs.namespaces.insert(namespace.clone());
                }
                FactKind::Deployed { role, .. }
                | FactKind::Configured { role, .. }
                | FactKind::Trusted { role, .. } => {
                    needs.app_configs.insert(role.clone());
                }
                FactKind::Refreshed {
                    role, trust: true, ..
                } => {
                    needs.app_configs.insert(role.clone());
                }
                FactKind::ProfileNamespacesAmbient { .. } => needs.profile_namespaces = true,
                FactKind::SidecarsRecycled { .. } => {
                    needs.profile_namespaces = true;
                    needs.sidecars = true;
                }
                FactKind::Absent { .. }
                | FactKind::Related { .. }
                | FactKind::Unrelated { .. }
                | FactKind::Refreshed { .. }
                | FactKind::Scaled { .. }
                | FactKind::Settled { .. } => {}
            }
        }
        needs
    }
}
