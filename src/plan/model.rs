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
    /// Found by its name only, never by its charm: a restore names the exact applications of
    /// its backup, where two applications may run one charm.
    pub exact: bool,
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
    /// Units idle, whatever their workload status short of error: a restore passes through
    /// states no plan lists (an old revision waiting for a relation that comes back later), and
    /// its last phase asks for every application active.
    Idle,
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

/// What a restore pins beyond the channel.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pinned {
    /// Charm revision.
    pub revision: Option<u32>,
    /// The OS base the charm ran on.
    pub base: Option<CharmBase>,
    /// Units.
    pub units: u32,
}

/// An OS base as Juju names it (`ubuntu`, `22.04/stable`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CharmBase {
    /// OS name.
    pub name: String,
    /// Its channel.
    pub channel: String,
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
    /// A sidecar-era object is there (again: a restore brings the sidecar control plane back).
    Present(LegacyObject),
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
        /// Exactly which revision, base and scale (a restore's); `None` for the channel's latest
        /// on Juju's defaults.
        pinned: Option<Pinned>,
        /// The config values come from a backup and are never printed: a user may have set a
        /// password.
        hide_values: bool,
    },
    /// Two endpoints are related.
    Related {
        /// One side.
        a: EndpointRef,
        /// The other side.
        b: EndpointRef,
    },
    /// Two endpoints are not related.
    Unrelated {
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
        /// Exactly this revision (`juju refresh --revision`, a downgrade too); `None` for the
        /// channel's latest.
        revision: Option<u32>,
    },
    /// The application has these config values, and the options in `reset` at their defaults.
    Configured {
        /// Role.
        role: String,
        /// Values.
        config: BTreeMap<String, String>,
        /// Options no user should have set (`juju config APP --reset`).
        reset: Vec<String>,
        /// The values come from a backup and are never printed.
        hide_values: bool,
    },
    /// The application's trust is granted or not.
    Trusted {
        /// Role.
        role: String,
        /// Granted.
        trust: bool,
    },
    /// The application has this many units.
    Scaled {
        /// Role.
        role: String,
        /// Units.
        units: u32,
    },
    /// Every unit of the application has settled as its phase asks.
    Settled {
        /// Role.
        role: String,
    },
    /// The profile namespaces are labelled for ambient by this application's controller.
    ProfileNamespacesAmbient {
        /// Role whose controller relabels them (kubeflow-profiles).
        role: String,
    },
    /// Every profile namespace is labelled for sidecar injection and every pod there that the
    /// injector would give a sidecar has one (a restore restarts the workloads whose pods
    /// lack it).
    SidecarsInjected,
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
            | FactKind::Trusted { role, .. }
            | FactKind::Scaled { role, .. }
            | FactKind::Settled { role }
            | FactKind::ProfileNamespacesAmbient { role } => vec![role.as_str()],
            FactKind::Related { a, b } | FactKind::Unrelated { a, b } => {
                vec![a.application.as_str(), b.application.as_str()]
            }
            FactKind::ConfigMapData { .. }
            | FactKind::RolledOut { .. }
            | FactKind::LegacyGone(_)
            | FactKind::Present(_)
            | FactKind::NamespaceGone { .. }
            | FactKind::SidecarsInjected
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
            FactKind::Present(object) => write!(f, "{object} present"),
            FactKind::SidecarsInjected => {
                f.write_str("every pod in profile namespaces has its sidecar")
            }
            FactKind::NamespaceGone { namespace } => write!(f, "namespace {namespace} gone"),
            FactKind::Deployed { role, channel, .. } => write!(f, "{role} deployed from {channel}"),
            FactKind::Related { a, b } => write!(f, "{a} related to {b}"),
            FactKind::Unrelated { a, b } => write!(f, "{a} not related to {b}"),
            FactKind::Refreshed {
                role,
                channel,
                revision,
                ..
            } => match revision {
                Some(revision) => write!(f, "{role} on {channel} at revision {revision}"),
                None => write!(f, "{role} on {channel}"),
            },
            FactKind::Configured {
                role,
                config,
                reset,
                hide_values,
            } => {
                let mut kv: Vec<String> = config
                    .iter()
                    .map(|(k, v)| {
                        if *hide_values {
                            format!("{k}={}", super::change::FROM_BACKUP)
                        } else {
                            format!("{k}={v}")
                        }
                    })
                    .collect();
                kv.extend(reset.iter().map(|k| format!("{k} at its default")));
                write!(f, "{role} configured with {}", kv.join(", "))
            }
            FactKind::Trusted { role, trust: true } => write!(f, "{role} trusted"),
            FactKind::Trusted { role, trust: false } => write!(f, "{role} not trusted"),
            FactKind::Scaled { role, units } => write!(f, "{role} at {units} units"),
            FactKind::Settled { role } => write!(f, "{role} settled"),
            FactKind::ProfileNamespacesAmbient { .. } => {
                f.write_str("profile namespaces in ambient mode")
            }
            FactKind::SidecarsRecycled { .. } => {
                f.write_str("no sidecar left in profile namespaces")
            }
        }
    }
}
