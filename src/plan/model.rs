//! The plan's domain: phases of desired facts about applications, relations, config and
//! Kubernetes objects.

use std::collections::BTreeMap;
use std::fmt;

use super::ids::{Channel, EndpointRef};
use super::platform::Platform;

/// The migration, as loaded and validated from `plans/*.yaml`.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Plan name, e.g. `ckf-1.11-ambient`.
    pub name: String,
    /// The guide it encodes.
    pub guide: String,
    /// Applications the plan talks about, by role name.
    pub roles: BTreeMap<String, Role>,
    /// Statuses of a half-migrated model that mean "not yet", not "broken".
    pub transient: Vec<TransientStatus>,
    /// Ordered phases.
    pub phases: Vec<Phase>,
}

/// An application the plan talks about. Found in the model by application name, then by charm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// Role name (the application name in the CKF bundle).
    pub name: String,
    /// Charm name.
    pub charm: String,
    /// Track of the CKF 1.11 bundle, checked by preflight; `None` for applications the plan
    /// deploys.
    pub ckf_track: Option<String>,
}

/// A Blocked or Waiting message that a half-migrated model shows on its way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransientStatus {
    /// `blocked` or `waiting`.
    pub status: String,
    /// Prefix of the message.
    pub message_prefix: String,
    /// Charms that show it.
    pub charms: Vec<String>,
}

/// How settled an application must be before a phase is complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Settle {
    /// Every unit active and idle.
    #[default]
    Active,
    /// Units idle; `waiting` and known transient `blocked` statuses are accepted, because the
    /// relations that clear them come in a later phase.
    AllowTransient,
}

/// A step of the migration: facts that are independent of each other.
#[derive(Debug, Clone, PartialEq)]
pub struct Phase {
    /// Short name (`refresh`), shown in status messages.
    pub name: String,
    /// One line for people.
    pub title: String,
    /// Only on this platform.
    pub only_on: Option<Platform>,
    /// How settled its applications must be.
    pub settle: Settle,
    /// Why this phase goes beyond the guide, if it does.
    pub beyond_guide: Option<String>,
    /// The desired facts.
    pub facts: Vec<Fact>,
}

/// One desired fact.
#[derive(Debug, Clone, PartialEq)]
pub struct Fact {
    /// What should be true.
    pub kind: FactKind,
    /// Why this fact goes beyond the guide, if it does.
    pub beyond_guide: Option<String>,
}

/// A kind of workload whose pods can be restarted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WorkloadKind {
    /// apps/v1 Deployment.
    Deployment,
    /// apps/v1 StatefulSet.
    StatefulSet,
    /// apps/v1 DaemonSet.
    DaemonSet,
}

impl WorkloadKind {
    /// The Kubernetes kind.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkloadKind::Deployment => "Deployment",
            WorkloadKind::StatefulSet => "StatefulSet",
            WorkloadKind::DaemonSet => "DaemonSet",
        }
    }

    /// Parses a Kubernetes kind.
    pub fn from_kind(kind: &str) -> Option<Self> {
        match kind {
            "Deployment" => Some(WorkloadKind::Deployment),
            "StatefulSet" => Some(WorkloadKind::StatefulSet),
            "DaemonSet" => Some(WorkloadKind::DaemonSet),
            _ => None,
        }
    }
}

impl fmt::Display for WorkloadKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A namespaced workload.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WorkloadRef {
    /// Kind.
    pub kind: WorkloadKind,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl fmt::Display for WorkloadRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
    }
}

/// An object of the sidecar-era control plane that must be gone before istio-k8s arrives.
/// Objects managed by istio-k8s (label `kubernetes-resource-handler-scope`) are not legacy.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LegacyObject {
    /// A Deployment (the old `istiod`).
    Deployment {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
    },
    /// Any MutatingWebhookConfiguration carrying a webhook of this name (the sidecar injector).
    MutatingWebhook {
        /// Webhook name, e.g. `sidecar-injector.istio.io`.
        webhook: String,
    },
}

impl fmt::Display for LegacyObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LegacyObject::Deployment { namespace, name } => {
                write!(f, "Deployment {namespace}/{name}")
            }
            LegacyObject::MutatingWebhook { webhook } => {
                write!(f, "MutatingWebhookConfiguration with webhook {webhook}")
            }
        }
    }
}

/// What should be true.
#[derive(Debug, Clone, PartialEq)]
pub enum FactKind {
    /// A ConfigMap holds these data keys.
    ConfigMapData {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// Keys and values.
        data: BTreeMap<String, String>,
    },
    /// A workload has been restarted since a ConfigMap took its desired values, and every pod
    /// runs the new template.
    RolledOut {
        /// The workload.
        workload: WorkloadRef,
        /// `namespace/name` of the ConfigMap whose desired data the restart is for.
        config_map: String,
    },
    /// The application is not in the model.
    Absent {
        /// Role.
        role: String,
    },
    /// A sidecar-era object is gone.
    LegacyGone(LegacyObject),
    /// A namespace is gone.
    NamespaceGone {
        /// Namespace.
        namespace: String,
    },
    /// The application is deployed from its charm at a channel, with config and trust.
    Deployed {
        /// Role (= application name when deployed).
        role: String,
        /// Channel.
        channel: Channel,
        /// `--trust`.
        trust: bool,
        /// Charm config.
        config: BTreeMap<String, String>,
    },
    /// Two endpoints are related.
    Related {
        /// One side.
        a: EndpointRef,
        /// The other side.
        b: EndpointRef,
    },
    /// The application runs its charm from this channel.
    Refreshed {
        /// Role.
        role: String,
        /// Channel.
        channel: Channel,
        /// `juju refresh --trust`.
        trust: bool,
    },
    /// The application has these config values.
    Configured {
        /// Role.
        role: String,
        /// Values.
        config: BTreeMap<String, String>,
    },
    /// The profile namespaces are labelled for ambient by this application's controller.
    ProfileNamespacesAmbient {
        /// Role whose controller relabels them (kubeflow-profiles).
        role: String,
    },
    /// No pod with an istio-proxy sidecar is left in these workloads of the profile namespaces
    /// (or in any workload there, with `restart-workloads`).
    SidecarsRecycled {
        /// Names of the workloads always recycled.
        workloads: Vec<String>,
    },
}

impl FactKind {
    /// The roles this fact is about.
    pub fn roles(&self) -> Vec<&str> {
        match self {
            FactKind::Absent { role }
            | FactKind::Deployed { role, .. }
            | FactKind::Refreshed { role, .. }
            | FactKind::Configured { role, .. }
            | FactKind::ProfileNamespacesAmbient { role } => vec![role.as_str()],
            FactKind::Related { a, b } => vec![a.application.as_str(), b.application.as_str()],
            FactKind::ConfigMapData { .. }
            | FactKind::RolledOut { .. }
            | FactKind::LegacyGone(_)
            | FactKind::NamespaceGone { .. }
            | FactKind::SidecarsRecycled { .. } => Vec::new(),
        }
    }
}

impl fmt::Display for FactKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FactKind::ConfigMapData {
                namespace,
                name,
                data,
            } => {
                let keys: Vec<String> = data.iter().map(|(k, v)| format!("{k}={v}")).collect();
                write!(f, "ConfigMap {namespace}/{name} has {}", keys.join(", "))
            }
            FactKind::RolledOut {
                workload,
                config_map,
            } => {
                write!(f, "{workload} restarted for ConfigMap {config_map}")
            }
            FactKind::Absent { role } => write!(f, "{role} removed"),
            FactKind::LegacyGone(object) => write!(f, "{object} gone"),
            FactKind::NamespaceGone { namespace } => write!(f, "namespace {namespace} gone"),
            FactKind::Deployed { role, channel, .. } => write!(f, "{role} deployed from {channel}"),
            FactKind::Related { a, b } => write!(f, "{a} related to {b}"),
            FactKind::Refreshed { role, channel, .. } => write!(f, "{role} on {channel}"),
            FactKind::Configured { role, config } => {
                let kv: Vec<String> = config.iter().map(|(k, v)| format!("{k}={v}")).collect();
                write!(f, "{role} configured with {}", kv.join(", "))
            }
            FactKind::ProfileNamespacesAmbient { .. } => {
                f.write_str("profile namespaces in ambient mode")
            }
            FactKind::SidecarsRecycled { .. } => {
                f.write_str("no sidecar left in profile namespaces")
            }
        }
    }
}
