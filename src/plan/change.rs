//! A change the engine makes, and the command a person would type to make it.

use std::collections::BTreeMap;
use std::fmt;

use super::ids::{Channel, EndpointRef};
use super::model::WorkloadRef;

/// Pod-template annotation recording which configuration a restart was made for, so that a
/// re-run does not restart a workload again for the same reason.
pub const RESTARTED_FOR: &str = "ckf-migrator.canonical.com/restarted-for";

/// One change to the model or the cluster.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Merge keys into a ConfigMap's data.
    PatchConfigMap {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// Keys to set.
        data: BTreeMap<String, String>,
    },
    /// Restart a workload's pods by changing its pod template, as `kubectl rollout restart`.
    RolloutRestart {
        /// The workload.
        workload: WorkloadRef,
        /// Extra pod-template annotations to record why (see [`RESTARTED_FOR`]).
        annotations: BTreeMap<String, String>,
    },
    /// `juju remove-application`.
    RemoveApplication {
        /// Application.
        application: String,
    },
    /// `juju deploy`.
    Deploy {
        /// Application name.
        application: String,
        /// Charm.
        charm: String,
        /// Channel.
        channel: Channel,
        /// `--trust`.
        trust: bool,
        /// `--config k=v`.
        config: BTreeMap<String, String>,
    },
    /// `juju refresh --channel`.
    Refresh {
        /// Application.
        application: String,
        /// Channel.
        channel: Channel,
        /// `--trust` as well.
        trust: bool,
    },
    /// `juju config APP k=v …`.
    SetConfig {
        /// Application.
        application: String,
        /// Values.
        values: BTreeMap<String, String>,
    },
    /// `juju trust APP --scope=cluster`.
    SetTrust {
        /// Application.
        application: String,
    },
    /// `juju integrate A B`.
    Relate {
        /// One side (application names resolved).
        a: EndpointRef,
        /// The other side.
        b: EndpointRef,
    },
}

impl Change {
    /// What the change touches: changes with the same subject are applied one after another,
    /// never concurrently.
    pub fn subject(&self) -> String {
        match self {
            Change::PatchConfigMap {
                namespace, name, ..
            } => format!("configmap/{namespace}/{name}"),
            Change::RolloutRestart { workload, .. } => format!("workload/{workload}"),
            Change::RemoveApplication { application }
            | Change::Deploy { application, .. }
            | Change::Refresh { application, .. }
            | Change::SetConfig { application, .. }
            | Change::SetTrust { application } => format!("application/{application}"),
            Change::Relate { a, b } => {
                let (a, b) = super::observed::sorted_pair(a.clone(), b.clone());
                format!("relation/{a} {b}")
            }
        }
    }

    /// Whether this change writes to Juju (as opposed to Kubernetes).
    pub fn is_juju(&self) -> bool {
        !matches!(
            self,
            Change::PatchConfigMap { .. } | Change::RolloutRestart { .. }
        )
    }
}

/// Quotes a word for a POSIX shell when it needs it (`platform=""`).
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

fn key_value(key: &str, value: &str) -> String {
    if value.is_empty() {
        // The guide's spelling for an empty value.
        format!("{key}=\"\"")
    } else {
        shell_word(&format!("{key}={value}"))
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::PatchConfigMap {
                namespace,
                name,
                data,
            } => {
                let patch = serde_json::json!({ "data": data });
                write!(
                    f,
                    "kubectl -n {namespace} patch configmap {name} --type merge --patch {}",
                    shell_word(&patch.to_string())
                )
            }
            Change::RolloutRestart { workload, .. } => write!(
                f,
                "kubectl -n {} rollout restart {} {}",
                workload.namespace,
                workload.kind.as_str().to_ascii_lowercase(),
                workload.name
            ),
            Change::RemoveApplication { application } => {
                write!(f, "juju remove-application --no-prompt {application}")
            }
            Change::Deploy {
                application,
                charm,
                channel,
                trust,
                config,
            } => {
                write!(f, "juju deploy {charm}")?;
                if application != charm {
                    write!(f, " {application}")?;
                }
                if *trust {
                    f.write_str(" --trust")?;
                }
                write!(f, " --channel {channel}")?;
                for (k, v) in config {
                    write!(f, " --config {}", key_value(k, v))?;
                }
                Ok(())
            }
            Change::Refresh {
                application,
                channel,
                trust,
            } => {
                write!(f, "juju refresh {application}")?;
                if *trust {
                    f.write_str(" --trust")?;
                }
                write!(f, " --channel {channel}")
            }
            Change::SetConfig {
                application,
                values,
            } => {
                write!(f, "juju config {application}")?;
                for (k, v) in values {
                    write!(f, " {}", key_value(k, v))?;
                }
                Ok(())
            }
            Change::SetTrust { application } => {
                write!(f, "juju trust {application} --scope=cluster")
            }
            Change::Relate { a, b } => write!(f, "juju integrate {a} {b}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::model::WorkloadKind;

    fn ch(s: &str) -> Channel {
        s.parse().expect("valid channel")
    }

    #[test]
    fn renders_the_guides_commands() {
        let deploy = Change::Deploy {
            application: "istio-k8s".into(),
            charm: "istio-k8s".into(),
            channel: ch("2/edge"),
            trust: true,
            config: [("platform".to_string(), String::new())].into(),
        };
        assert_eq!(
            deploy.to_string(),
            r#"juju deploy istio-k8s --trust --channel 2/edge --config platform="""#
        );
        let refresh = Change::Refresh {
            application: "minio".into(),
            channel: ch("1.10/edge"),
            trust: true,
        };
        assert_eq!(
            refresh.to_string(),
            "juju refresh minio --trust --channel 1.10/edge"
        );
        let relate = Change::Relate {
            a: "kfp-api:kfp-api-grpc".parse().expect("ok"),
            b: "kfp-schedwf:kfp-api-grpc".parse().expect("ok"),
        };
        assert_eq!(
            relate.to_string(),
            "juju integrate kfp-api:kfp-api-grpc kfp-schedwf:kfp-api-grpc"
        );
        let remove = Change::RemoveApplication {
            application: "istio-pilot".into(),
        };
        assert_eq!(
            remove.to_string(),
            "juju remove-application --no-prompt istio-pilot"
        );
        let config = Change::SetConfig {
            application: "kserve-controller".into(),
            values: [("deployment-mode".to_string(), "rawdeployment".to_string())].into(),
        };
        assert_eq!(
            config.to_string(),
            "juju config kserve-controller deployment-mode=rawdeployment"
        );
    }

    #[test]
    fn renders_the_kubectl_commands() {
        let patch = Change::PatchConfigMap {
            namespace: "kube-system".into(),
            name: "cilium-config".into(),
            data: [("cni-exclusive".to_string(), "false".to_string())].into(),
        };
        assert_eq!(
            patch.to_string(),
            r#"kubectl -n kube-system patch configmap cilium-config --type merge --patch '{"data":{"cni-exclusive":"false"}}'"#
        );
        let restart = Change::RolloutRestart {
            workload: WorkloadRef {
                kind: WorkloadKind::DaemonSet,
                namespace: "kube-system".into(),
                name: "cilium".into(),
            },
            annotations: BTreeMap::new(),
        };
        assert_eq!(
            restart.to_string(),
            "kubectl -n kube-system rollout restart daemonset cilium"
        );
    }

    #[test]
    fn a_deploy_under_another_name_names_both() {
        let deploy = Change::Deploy {
            application: "mesh".into(),
            charm: "istio-k8s".into(),
            channel: ch("2/edge"),
            trust: false,
            config: BTreeMap::new(),
        };
        assert_eq!(
            deploy.to_string(),
            "juju deploy istio-k8s mesh --channel 2/edge"
        );
    }

    #[test]
    fn relations_have_one_subject_whatever_the_order() {
        let a: EndpointRef = "a:x".parse().expect("ok");
        let b: EndpointRef = "b:y".parse().expect("ok");
        let ab = Change::Relate {
            a: a.clone(),
            b: b.clone(),
        };
        let ba = Change::Relate { a: b, b: a };
        assert_eq!(ab.subject(), ba.subject());
    }
}
