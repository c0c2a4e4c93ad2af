//! The order of a restore, as data: `plans/restore-sidecar.yaml`, loaded and checked, and the
//! steps of a difference placed in its phases.

use std::collections::BTreeSet;

use serde::Deserialize;

use super::step::{Step, StepKind};

/// The built-in order file.
pub const BUILTIN: &str = include_str!("../../plans/restore-sidecar.yaml");

/// The phases of a restore, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// Its name, e.g. `restore-sidecar`.
    pub name: String,
    /// Phases, in order.
    pub phases: Vec<OrderPhase>,
}

/// One phase: which steps it takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderPhase {
    /// Short name, shown in progress.
    pub name: String,
    /// One line for people.
    pub title: String,
    /// What it takes.
    pub take: Vec<Take>,
}

/// Steps of one kind, for some charms or all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Take {
    /// The kind.
    pub kind: StepKind,
    /// The charms; `None` takes every step of the kind. A relation step matches when either of
    /// its ends runs one of them.
    pub charms: Option<BTreeSet<String>>,
}

impl Take {
    fn matches(&self, step: &Step) -> bool {
        step.kind() == Some(self.kind)
            && self
                .charms
                .as_ref()
                .is_none_or(|charms| step.charms().iter().any(|c| charms.contains(*c)))
    }
}

/// Why an order file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("restore order {file}: {problem}")]
pub struct InvalidOrder {
    /// The file.
    pub file: String,
    /// What is wrong, and where.
    pub problem: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    name: String,
    phases: Vec<PhaseFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PhaseFile {
    name: String,
    title: String,
    take: Vec<TakeFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TakeFile {
    kind: String,
    #[serde(default)]
    charms: Option<Vec<String>>,
}

impl Order {
    /// The order shipped in the binary.
    ///
    /// # Errors
    /// Only if the embedded file is broken, which a unit test rules out.
    pub fn builtin() -> Result<Self, InvalidOrder> {
        Order::from_yaml("plans/restore-sidecar.yaml", BUILTIN)
    }

    /// Loads an order file and refuses one that could drop a step or cannot be followed.
    ///
    /// # Errors
    /// Unparseable YAML, an unknown kind, a phase without a name or steps, two phases of one name,
    /// a `take` that an earlier one of the same kind already takes entirely, or a kind of step
    /// that no phase takes for every charm.
    pub fn from_yaml(file: &str, yaml: &str) -> Result<Self, InvalidOrder> {
        let refuse = |problem: String| InvalidOrder {
            file: file.to_string(),
            problem,
        };
        let parsed: File = serde_yaml::from_str(yaml).map_err(|e| refuse(e.to_string()))?;
        let mut names = BTreeSet::new();
        let mut everything_of = BTreeSet::new();
        let mut phases = Vec::new();
        for (index, phase) in parsed.phases.into_iter().enumerate() {
            let at = format!("phases[{index}]");
            if phase.name.is_empty() || phase.title.is_empty() {
                return Err(refuse(format!("{at} needs a name and a title")));
            }
            if !names.insert(phase.name.clone()) {
                return Err(refuse(format!("{at}: a second phase named {}", phase.name)));
            }
            if phase.take.is_empty() {
                return Err(refuse(format!("{at} ({}) takes nothing", phase.name)));
            }
            let mut take = Vec::new();
            for (t, entry) in phase.take.into_iter().enumerate() {
                let Some(kind) = StepKind::from_name(&entry.kind) else {
                    let known: Vec<&str> = StepKind::ALL.iter().map(|k| k.as_str()).collect();
                    return Err(refuse(format!(
                        "{at}.take[{t}]: unknown kind {:?} (one of {})",
                        entry.kind,
                        known.join(", ")
                    )));
                };
                if everything_of.contains(&kind) {
                    return Err(refuse(format!(
                        "{at}.take[{t}]: every {kind} step is already taken by an earlier phase, so this takes nothing"
                    )));
                }
                let charms = match entry.charms {
                    None => {
                        everything_of.insert(kind);
                        None
                    }
                    Some(charms) if charms.is_empty() => {
                        return Err(refuse(format!(
                            "{at}.take[{t}]: an empty charm list takes nothing (leave `charms` out to take every {kind} step)"
                        )));
                    }
                    Some(charms) => Some(charms.into_iter().collect()),
                };
                take.push(Take { kind, charms });
            }
            phases.push(OrderPhase {
                name: phase.name,
                title: phase.title,
                take,
            });
        }
        let untaken: Vec<&str> = StepKind::ALL
            .iter()
            .filter(|k| !everything_of.contains(k))
            .map(|k| k.as_str())
            .collect();
        if !untaken.is_empty() {
            return Err(refuse(format!(
                "no phase takes every step of kind {}: add `{{ kind: {} }}` without charms to a phase, or a step could be dropped",
                untaken.join(", "),
                untaken[0]
            )));
        }
        Ok(Order {
            name: parsed.name,
            phases,
        })
    }

    /// Places each step in the first phase that takes it. Phases that take none are left out;
    /// steps no kind describes (what restore cannot do) come back apart.
    pub fn place(&self, steps: Vec<Step>) -> (Vec<(&OrderPhase, Vec<Step>)>, Vec<Step>) {
        let mut placed: Vec<(&OrderPhase, Vec<Step>)> =
            self.phases.iter().map(|p| (p, Vec::new())).collect();
        let mut apart = Vec::new();
        for step in steps {
            let phase = placed
                .iter_mut()
                .find(|(phase, _)| phase.take.iter().any(|t| t.matches(&step)));
            match phase {
                Some((_, steps)) => steps.push(step),
                None => apart.push(step),
            }
        }
        placed.retain(|(_, steps)| !steps.is_empty());
        (placed, apart)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::Relation;

    fn remove(app: &str, charm: &str) -> Step {
        Step::Remove {
            application: app.into(),
            charm: charm.into(),
        }
    }

    #[test]
    fn the_builtin_order_loads() {
        let order = Order::builtin().expect("valid");
        assert_eq!(order.name, "restore-sidecar");
        assert_eq!(order.phases[0].name, "leave-ambient");
    }

    #[test]
    fn ambient_charms_go_before_istio_k8s_and_others_last() {
        let order = Order::builtin().expect("valid");
        let (placed, apart) = order.place(vec![
            remove("my-app", "my-app"),
            remove("istio-k8s", "istio-k8s"),
            remove("istio-beacon-k8s", "istio-beacon-k8s"),
        ]);
        let phases: Vec<(&str, Vec<String>)> = placed
            .iter()
            .map(|(p, s)| (p.name.as_str(), s.iter().map(ToString::to_string).collect()))
            .collect();
        assert_eq!(
            phases,
            [
                (
                    "remove-ambient-ingress",
                    vec!["juju remove-application istio-beacon-k8s".to_string()]
                ),
                (
                    "remove-istio-k8s",
                    vec!["juju remove-application istio-k8s".to_string()]
                ),
                (
                    "remove-others",
                    vec!["juju remove-application my-app".to_string()]
                ),
            ]
        );
        assert!(apart.is_empty());
    }

    #[test]
    fn every_relation_the_backup_lacks_leaves_first_and_those_it_has_come_last() {
        // The older revisions lack the endpoints the migration added: Juju refuses a refresh
        // that would break a relation still using one.
        let order = Order::builtin().expect("valid");
        let relation = || {
            Relation::between(
                "kfp-api:kfp-api-grpc".parse().expect("endpoint"),
                "kfp-schedwf:kfp-api-grpc".parse().expect("endpoint"),
            )
        };
        let charms = || vec!["kfp-api".to_string(), "kfp-schedwf".to_string()];
        let gone = Step::Unrelate {
            relation: relation(),
            charms: charms(),
        };
        let back = Step::Relate {
            relation: relation(),
            charms: charms(),
        };
        let refresh = Step::Refresh {
            application: "kfp-api".into(),
            charm: "kfp-api".into(),
            channel: "2.5/stable".parse().expect("channel"),
            revision: Some(1000),
        };
        let (placed, _) = order.place(vec![back, refresh, gone]);
        let names: Vec<&str> = placed.iter().map(|(p, _)| p.name.as_str()).collect();
        assert_eq!(names, ["leave-ambient", "refresh", "relations"]);
    }

    #[test]
    fn an_order_that_could_drop_a_step_is_refused_naming_the_kind() {
        let yaml =
            "name: x\nphases:\n  - name: a\n    title: A\n    take:\n      - { kind: remove }\n";
        let err = Order::from_yaml("x.yaml", yaml).expect_err("refused");
        assert!(
            err.problem
                .contains("no phase takes every step of kind deploy"),
            "{err}"
        );
    }

    #[test]
    fn an_unknown_kind_is_refused_with_the_known_ones() {
        let yaml =
            "name: x\nphases:\n  - name: a\n    title: A\n    take:\n      - { kind: upgrade }\n";
        let err = Order::from_yaml("x.yaml", yaml).expect_err("refused");
        assert!(
            err.to_string()
                .contains("phases[0].take[0]: unknown kind \"upgrade\""),
            "{err}"
        );
        assert!(err.problem.contains("remove, deploy"), "{err}");
    }

    #[test]
    fn a_take_that_can_never_match_is_refused() {
        let mut yaml = String::from("name: x\nphases:\n  - name: a\n    title: A\n    take:\n");
        for kind in StepKind::ALL {
            yaml.push_str(&format!("      - {{ kind: {kind} }}\n"));
        }
        yaml.push_str(
            "  - name: b\n    title: B\n    take:\n      - { kind: remove, charms: [istio-k8s] }\n",
        );
        let err = Order::from_yaml("x.yaml", &yaml).expect_err("refused");
        assert!(err.problem.contains("phases[1].take[0]"), "{err}");
    }
}
