//! One difference between the model and its backup, and the command a person would type to
//! close it.

use std::fmt;

use crate::backup::Relation;
use crate::juju::Base;
use crate::plan::{Channel, FROM_BACKUP};

/// What a step does, without its application: what the order file's `take` entries match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StepKind {
    /// `juju remove-application`.
    Remove,
    /// `juju deploy`.
    Deploy,
    /// `juju refresh --channel --revision`.
    Refresh,
    /// `juju config` (set and reset).
    Configure,
    /// `juju trust`.
    Trust,
    /// `juju scale-application`.
    Scale,
    /// `juju integrate`.
    Relate,
    /// `juju remove-relation`.
    Unrelate,
    /// `juju consume`.
    Consume,
}

impl StepKind {
    /// Every kind, so the order file can be checked to place each.
    pub const ALL: [StepKind; 9] = [
        StepKind::Remove,
        StepKind::Deploy,
        StepKind::Refresh,
        StepKind::Configure,
        StepKind::Trust,
        StepKind::Scale,
        StepKind::Relate,
        StepKind::Unrelate,
        StepKind::Consume,
    ];

    /// The name the order file uses.
    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::Remove => "remove",
            StepKind::Deploy => "deploy",
            StepKind::Refresh => "refresh",
            StepKind::Configure => "configure",
            StepKind::Trust => "trust",
            StepKind::Scale => "scale",
            StepKind::Relate => "relate",
            StepKind::Unrelate => "unrelate",
            StepKind::Consume => "consume",
        }
    }

    /// Parses the order file's name for a kind.
    pub fn from_name(name: &str) -> Option<Self> {
        StepKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl fmt::Display for StepKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An application as `juju deploy` brings it back.
#[derive(Debug, Clone, PartialEq)]
pub struct Deployment {
    /// Application name.
    pub application: String,
    /// Charm name.
    pub charm: String,
    /// Channel.
    pub channel: Channel,
    /// Exact revision, when the backup recorded one.
    pub revision: Option<u32>,
    /// The OS base it ran on, when the backup recorded one.
    pub base: Option<Base>,
    /// `--trust`.
    pub trust: bool,
    /// Names of the options a user had set (values stay in the backup: they may be secrets).
    pub config: Vec<String>,
    /// Units (Kubernetes replicas).
    pub scale: u32,
}

/// One change that makes the model more like its backup.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// An application the backup does not have.
    Remove {
        /// Application.
        application: String,
        /// Its charm, which decides its phase.
        charm: String,
    },
    /// An application the model does not have (or runs another charm under its name).
    Deploy(Deployment),
    /// An application on another channel or revision than the backup's.
    Refresh {
        /// Application.
        application: String,
        /// Charm.
        charm: String,
        /// The backup's channel.
        channel: Channel,
        /// The backup's revision; `None` when it recorded none (the channel's latest, then).
        revision: Option<u32>,
    },
    /// Options to set to the backup's value, and options a user set since, to reset.
    Configure {
        /// Application.
        application: String,
        /// Charm.
        charm: String,
        /// Names of the options to set (values from the backup).
        set: Vec<String>,
        /// Names of the options to reset to the charm's default.
        reset: Vec<String>,
    },
    /// Trust as the backup has it.
    Trust {
        /// Application.
        application: String,
        /// Charm.
        charm: String,
        /// Trusted in the backup.
        trust: bool,
    },
    /// Scale as the backup has it.
    Scale {
        /// Application.
        application: String,
        /// Charm.
        charm: String,
        /// Units.
        scale: u32,
    },
    /// A relation the model lacks.
    Relate {
        /// The relation.
        relation: Relation,
        /// The charms at its two ends, which decide its phase.
        charms: Vec<String>,
    },
    /// A relation the backup does not have.
    Unrelate {
        /// The relation.
        relation: Relation,
        /// The charms at its two ends.
        charms: Vec<String>,
    },
    /// An offer of another model the backup's relations reach, no longer consumed here.
    Consume {
        /// Its name in this model.
        name: String,
        /// The offer URL.
        offer_url: String,
    },
    /// A difference restore cannot close by itself, and why.
    Unrestorable {
        /// Application.
        application: String,
        /// Why, and what to do instead.
        reason: String,
    },
}

impl Step {
    /// Its kind; `None` for a difference restore cannot close.
    pub fn kind(&self) -> Option<StepKind> {
        Some(match self {
            Step::Remove { .. } => StepKind::Remove,
            Step::Deploy(_) => StepKind::Deploy,
            Step::Refresh { .. } => StepKind::Refresh,
            Step::Configure { .. } => StepKind::Configure,
            Step::Trust { .. } => StepKind::Trust,
            Step::Scale { .. } => StepKind::Scale,
            Step::Relate { .. } => StepKind::Relate,
            Step::Unrelate { .. } => StepKind::Unrelate,
            Step::Consume { .. } => StepKind::Consume,
            Step::Unrestorable { .. } => return None,
        })
    }

    /// The charms it touches: one, or the two ends of a relation.
    pub fn charms(&self) -> Vec<&str> {
        match self {
            Step::Remove { charm, .. }
            | Step::Refresh { charm, .. }
            | Step::Configure { charm, .. }
            | Step::Trust { charm, .. }
            | Step::Scale { charm, .. } => vec![charm.as_str()],
            Step::Deploy(d) => vec![d.charm.as_str()],
            Step::Relate { charms, .. } | Step::Unrelate { charms, .. } => {
                charms.iter().map(String::as_str).collect()
            }
            Step::Consume { .. } | Step::Unrestorable { .. } => Vec::new(),
        }
    }
}

/// The command a person would type; option values are shown as `<backed-up value>`.
impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Remove { application, .. } => {
                write!(f, "juju remove-application {application}")
            }
            Step::Deploy(d) => {
                write!(f, "juju deploy {}", d.charm)?;
                if d.application != d.charm {
                    write!(f, " {}", d.application)?;
                }
                write!(f, " --channel {}", d.channel)?;
                if let Some(revision) = d.revision {
                    write!(f, " --revision {revision}")?;
                }
                if let Some(base) = &d.base {
                    write!(f, " --base {}@{}", base.name, base_version(&base.channel))?;
                }
                if d.scale != 1 {
                    write!(f, " -n {}", d.scale)?;
                }
                if d.trust {
                    f.write_str(" --trust")?;
                }
                for option in &d.config {
                    write!(f, " --config {option}={FROM_BACKUP}")?;
                }
                Ok(())
            }
            Step::Refresh {
                application,
                channel,
                revision,
                ..
            } => {
                write!(f, "juju refresh {application} --channel {channel}")?;
                match revision {
                    Some(revision) => write!(f, " --revision {revision}"),
                    None => Ok(()),
                }
            }
            Step::Configure {
                application,
                set,
                reset,
                ..
            } => {
                // One command sets some keys and resets others (`juju config --help`).
                write!(f, "juju config {application}")?;
                for option in set {
                    write!(f, " {option}={FROM_BACKUP}")?;
                }
                if !reset.is_empty() {
                    write!(f, " --reset {}", reset.join(","))?;
                }
                Ok(())
            }
            Step::Trust {
                application, trust, ..
            } => {
                if *trust {
                    write!(f, "juju trust {application} --scope=cluster")
                } else {
                    write!(f, "juju trust {application} --remove")
                }
            }
            Step::Scale {
                application, scale, ..
            } => write!(f, "juju scale-application {application} {scale}"),
            Step::Relate { relation, .. } => write!(f, "juju integrate {relation}"),
            Step::Unrelate { relation, .. } => write!(f, "juju remove-relation {relation}"),
            Step::Consume { name, offer_url } => write!(f, "juju consume {offer_url} {name}"),
            Step::Unrestorable {
                application,
                reason,
            } => write!(f, "# {application}: {reason}"),
        }
    }
}

/// `22.04/stable` → `22.04`: `--base` takes the version without a risk.
fn base_version(channel: &str) -> &str {
    channel.split('/').next().unwrap_or(channel)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(s: &str) -> Channel {
        s.parse().expect("channel")
    }

    #[test]
    fn a_deploy_reads_as_the_command_with_every_backed_up_setting() {
        let step = Step::Deploy(Deployment {
            application: "istio-ingressgateway".into(),
            charm: "istio-gateway".into(),
            channel: channel("1.24/stable"),
            revision: Some(1130),
            base: Some(Base {
                name: "ubuntu".into(),
                channel: "20.04/stable".into(),
            }),
            trust: true,
            config: vec!["kind".into()],
            scale: 1,
        });
        assert_eq!(
            step.to_string(),
            "juju deploy istio-gateway istio-ingressgateway --channel 1.24/stable --revision 1130 \
             --base ubuntu@20.04 --trust --config kind=<backed-up value>"
        );
    }

    #[test]
    fn config_values_are_never_printed() {
        let step = Step::Configure {
            application: "kubeflow-profiles".into(),
            charm: "kubeflow-profiles".into(),
            set: vec!["admin-password".into()],
            reset: vec![
                "istio-gateway-service-account".into(),
                "service-mesh-mode".into(),
            ],
        };
        assert_eq!(
            step.to_string(),
            "juju config kubeflow-profiles admin-password=<backed-up value> \
             --reset istio-gateway-service-account,service-mesh-mode"
        );
    }

    #[test]
    fn a_refresh_names_the_exact_revision() {
        let step = Step::Refresh {
            application: "kfp-api".into(),
            charm: "kfp-api".into(),
            channel: channel("2.5/stable"),
            revision: Some(1000),
        };
        assert_eq!(
            step.to_string(),
            "juju refresh kfp-api --channel 2.5/stable --revision 1000"
        );
    }

    #[test]
    fn every_kind_has_a_name_that_parses_back() {
        for kind in StepKind::ALL {
            assert_eq!(StepKind::from_name(kind.as_str()), Some(kind));
        }
        assert_eq!(StepKind::from_name("upgrade"), None);
    }
}
