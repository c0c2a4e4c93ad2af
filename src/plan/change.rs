//! A change the engine makes, and the command a person would type to make it.

use std::collections::BTreeMap;
use std::fmt;

use super::ids::{Channel, EndpointRef};
use super::model::{Pinned, WorkloadRef};

/// How a backed-up option value is printed: it may be a password a user set, and commands go to
/// logs and action results. The backup ConfigMap holds the value.
pub const FROM_BACKUP: &str = "<backed-up value>";

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
        /// `--revision`, `--base`, `-n` (a restore's).
        pinned: Option<Pinned>,
        /// Print the config values as [`FROM_BACKUP`].
        hide_values: bool,
    },
    /// `juju refresh --channel [--revision]`.
    Refresh {
        /// Application.
        application: String,
        /// Channel.
        channel: Channel,
        /// `--trust` as well.
        trust: bool,
        /// `--revision`: exactly this one, older or newer.
        revision: Option<u32>,
    },
    /// `juju config APP k=v …`.
    SetConfig {
        /// Application.
        application: String,
        /// Values.
        values: BTreeMap<String, String>,
        /// Print the values as [`FROM_BACKUP`].
        hide_values: bool,
    },
    /// `juju config APP --reset k,…`.
    ResetConfig {
        /// Application.
        application: String,
        /// Options.
        options: Vec<String>,
    },
    /// `juju trust APP --scope=cluster`, or `--remove`.
    SetTrust {
        /// Application.
        application: String,
        /// Grant (else remove).
        trust: bool,
    },
    /// `juju scale-application APP N`.
    Scale {
        /// Application.
        application: String,
        /// Units.
        units: u32,
    },
    /// `juju integrate A B`.
    Relate {
        /// One side (application names resolved).
        a: EndpointRef,
        /// The other side.
        b: EndpointRef,
    },
    /// `juju remove-relation A B`.
    Unrelate {
        /// One side.
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
            | Change::ResetConfig { application, .. }
            | Change::SetTrust { application, .. }
            | Change::Scale { application, .. } => format!("application/{application}"),
            Change::Relate { a, b } | Change::Unrelate { a, b } => {
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

fn key_value(key: &str, value: &str, hide: bool) -> String {
    if hide {
        format!("{key}={FROM_BACKUP}")
    } else if value.is_empty() {
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
                pinned,
                hide_values,
            } => {
                write!(f, "juju deploy {charm}")?;
                if application != charm {
                    write!(f, " {application}")?;
                }
                if *trust {
                    f.write_str(" --trust")?;
                }
                write!(f, " --channel {channel}")?;
                if let Some(pinned) = pinned {
                    if let Some(revision) = pinned.revision {
                        write!(f, " --revision {revision}")?;
                    }
                    if let Some(base) = &pinned.base {
                        // `--base` takes the version without a risk: `ubuntu@22.04`.
                        let version = base.channel.split('/').next().unwrap_or(&base.channel);
                        write!(f, " --base {}@{version}", base.name)?;
                    }
                    if pinned.units != 1 {
                        write!(f, " -n {}", pinned.units)?;
                    }
                }
                for (k, v) in config {
                    write!(f, " --config {}", key_value(k, v, *hide_values))?;
                }
                Ok(())
            }
            Change::Refresh {
                application,
                channel,
                trust,
                revision,
            } => {
                write!(f, "juju refresh {application}")?;
                if *trust {
                    f.write_str(" --trust")?;
                }
                write!(f, " --channel {channel}")?;
                match revision {
                    Some(revision) => write!(f, " --revision {revision}"),
                    None => Ok(()),
                }
            }
            Change::SetConfig {
                application,
                values,
                hide_values,
            } => {
                write!(f, "juju config {application}")?;
                for (k, v) in values {
                    write!(f, " {}", key_value(k, v, *hide_values))?;
                }
                Ok(())
            }
            Change::ResetConfig {
                application,
                options,
            } => write!(f, "juju config {application} --reset {}", options.join(",")),
            Change::SetTrust {
                application,
                trust: true,
            } => write!(f, "juju trust {application} --scope=cluster"),
            Change::SetTrust {
                application,
                trust: false,
            } => write!(f, "juju trust {application} --remove"),
            Change::Scale { application, units } => {
                write!(f, "juju scale-application {application} {units}")
            }
            Change::Relate { a, b } => write!(f, "juju integrate {a} {b}"),
            Change::Unrelate { a, b } => write!(f, "juju remove-relation {a} {b}"),
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
            pinned: None,
            hide_values: false,
        };
        assert_eq!(
            deploy.to_string(),
            r#"juju deploy istio-k8s --trust --channel 2/edge --config platform="""#
        );
        let refresh = Change::Refresh {
            application: "minio".into(),
            channel: ch("1.10/edge"),
            trust: true,
            revision: None,
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
            hide_values: false,
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
            pinned: None,
            hide_values: false,
        };
        assert_eq!(
            deploy.to_string(),
            "juju deploy istio-k8s mesh --channel 2/edge"
        );
    }

    #[test]
    fn a_restore_pins_the_revision_and_never_prints_a_backed_up_value() {
        let deploy = Change::Deploy {
            application: "istio-ingressgateway".into(),
            charm: "istio-gateway".into(),
            channel: ch("1.24/stable"),
            trust: true,
            config: [("kind".to_string(), "ingress".to_string())].into(),
            pinned: Some(Pinned {
                revision: Some(1130),
                base: Some(crate::plan::model::CharmBase {
                    name: "ubuntu".into(),
                    channel: "20.04/stable".into(),
                }),
                units: 2,
            }),
            hide_values: true,
        };
        assert_eq!(
            deploy.to_string(),
            "juju deploy istio-gateway istio-ingressgateway --trust --channel 1.24/stable \
             --revision 1130 --base ubuntu@20.04 -n 2 --config kind=<backed-up value>"
        );
        let config = Change::SetConfig {
            application: "dex-auth".into(),
            values: [("static-password".to_string(), "hunter2".to_string())].into(),
            hide_values: true,
        };
        assert!(!config.to_string().contains("hunter2"));
        let downgrade = Change::Refresh {
            application: "kfp-api".into(),
            channel: ch("2.5/stable"),
            trust: false,
            revision: Some(1000),
        };
        assert_eq!(
            downgrade.to_string(),
            "juju refresh kfp-api --channel 2.5/stable --revision 1000"
        );
        let untrust = Change::SetTrust {
            application: "kfp-api".into(),
            trust: false,
        };
        assert_eq!(untrust.to_string(), "juju trust kfp-api --remove");
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
