//! Loading a plan from YAML and refusing anything that does not make sense, with the place named.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::ids::{Channel, EndpointRef, is_name};
use super::model::{
    Fact, FactKind, LegacyObject, Phase, Plan, Role, Settle, TransientStatus, WorkloadKind,
    WorkloadRef,
};
use super::platform::Platform;

/// The plan shipped in the binary: Canonical's guide for CKF 1.11.
pub const BUILTIN: &str = include_str!("../../plans/ckf-1.11-ambient.yaml");

/// A plan that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid plan: {place}: {problem}")]
pub struct InvalidPlan {
    /// Where (`phase refresh, fact 3`).
    pub place: String,
    /// What is wrong.
    pub problem: String,
}

fn invalid(place: impl Into<String>, problem: impl Into<String>) -> InvalidPlan {
    InvalidPlan {
        place: place.into(),
        problem: problem.into(),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct PlanFile {
    name: String,
    guide: String,
    applications: BTreeMap<String, RoleFile>,
    #[serde(default)]
    transient: Vec<TransientFile>,
    phases: Vec<PhaseFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleFile {
    charm: String,
    #[serde(rename = "ckf-1.11")]
    ckf_track: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TransientFile {
    status: String,
    message: String,
    charms: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct PhaseFile {
    name: String,
    title: String,
    #[serde(default)]
    when: Option<WhenFile>,
    #[serde(default)]
    settle: Option<String>,
    #[serde(default)]
    beyond_guide: Option<String>,
    facts: Vec<serde_yaml::Mapping>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WhenFile {
    platform: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigMapFile {
    namespace: String,
    name: String,
    data: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct RolledOutFile {
    kind: String,
    namespace: String,
    name: String,
    for_config_map: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LegacyFile {
    kind: String,
    namespace: Option<String>,
    name: Option<String>,
    webhook: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeployedFile {
    application: String,
    channel: String,
    #[serde(default)]
    trust: bool,
    #[serde(default)]
    config: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RefreshedFile {
    application: String,
    channel: String,
    #[serde(default)]
    trust: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfiguredFile {
    application: String,
    config: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecycleFile {
    workloads: Vec<String>,
}

impl Plan {
    /// The plan shipped in the binary.
    ///
    /// # Errors
    /// Only if the embedded file is broken, which a unit test rules out.
    pub fn builtin() -> Result<Plan, InvalidPlan> {
        Plan::from_yaml(BUILTIN)
    }

    /// Parses and validates a plan.
    ///
    /// # Errors
    /// [`InvalidPlan`] naming the phase and fact at fault.
    pub fn from_yaml(text: &str) -> Result<Plan, InvalidPlan> {
        let file: PlanFile =
            serde_yaml::from_str(text).map_err(|e| invalid("plan file", e.to_string()))?;
        let mut roles = BTreeMap::new();
        for (name, role) in file.applications {
            if !is_name(&name) || !is_name(&role.charm) {
                return Err(invalid(
                    format!("application {name}"),
                    "names are lowercase letters, digits and hyphens",
                ));
            }
            roles.insert(
                name.clone(),
                Role {
                    name,
                    charm: role.charm,
                    ckf_track: role.ckf_track,
                    exact: false,
                },
            );
        }
        let transient = file
            .transient
            .into_iter()
            .map(|t| {
                if !matches!(t.status.as_str(), "blocked" | "waiting") {
                    return Err(invalid(
                        "transient",
                        format!("status {:?} is neither blocked nor waiting", t.status),
                    ));
                }
                Ok(TransientStatus {
                    status: t.status,
                    message_prefix: t.message,
                    charms: t.charms,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut phases = Vec::new();
        let mut names = BTreeSet::new();
        for phase in file.phases {
            if !names.insert(phase.name.clone()) {
                return Err(invalid(
                    format!("phase {}", phase.name),
                    "phase names must be unique",
                ));
            }
            phases.push(load_phase(phase, &roles)?);
        }
        if phases.is_empty() {
            return Err(invalid("phases", "a plan needs at least one phase"));
        }
        let plan = Plan {
            name: file.name,
            guide: file.guide,
            roles,
            transient,
            phases,
        };
        check_deploys(&plan)?;
        Ok(plan)
    }
}

fn load_phase(phase: PhaseFile, roles: &BTreeMap<String, Role>) -> Result<Phase, InvalidPlan> {
    let place = format!("phase {}", phase.name);
    let only_on = match phase.when {
        None => None,
        Some(when) => Some(
            when.platform
                .parse::<Platform>()
                .map_err(|e| invalid(&place, e.to_string()))?,
        ),
    };
    let settle = match phase.settle.as_deref() {
        None | Some("active") => Settle::Active,
        Some("allow-transient") => Settle::AllowTransient,
        Some(other) => {
            return Err(invalid(
                &place,
                format!("settle {other:?}: use active or allow-transient"),
            ));
        }
    };
    let facts = phase
        .facts
        .into_iter()
        .enumerate()
        .map(|(i, fact)| {
            load_fact(fact, roles)
                .map_err(|problem| invalid(format!("{place}, fact {}", i + 1), problem))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if facts.is_empty() {
        return Err(invalid(&place, "a phase needs at least one fact"));
    }
    Ok(Phase {
        name: phase.name,
        title: phase.title,
        only_on,
        settle,
        beyond_guide: phase.beyond_guide,
        facts,
    })
}

fn load_fact(mut map: serde_yaml::Mapping, roles: &BTreeMap<String, Role>) -> Result<Fact, String> {
    let beyond_guide = match map.remove("beyond-guide") {
        None => None,
        Some(serde_yaml::Value::String(why)) => Some(why),
        Some(_) => return Err("beyond-guide must be text".into()),
    };
    let mut entries = map.into_iter();
    let (key, value) = match (entries.next(), entries.next()) {
        (Some(entry), None) => entry,
        _ => return Err("a fact is one kind (absent, deployed, refreshed, related, …) plus an optional beyond-guide".into()),
    };
    let key = key
        .as_str()
        .ok_or("a fact's kind must be text")?
        .to_string();
    let kind = fact_kind(&key, value, roles)?;
    Ok(Fact { kind, beyond_guide })
}

fn parse<T: serde::de::DeserializeOwned>(
    kind: &str,
    value: serde_yaml::Value,
) -> Result<T, String> {
    serde_yaml::from_value(value).map_err(|e| format!("{kind}: {e}"))
}

fn role(name: &str, roles: &BTreeMap<String, Role>) -> Result<String, String> {
    if roles.contains_key(name) {
        Ok(name.to_string())
    } else {
        Err(format!(
            "application {name:?} is not declared under `applications`"
        ))
    }
}

fn channel(text: &str) -> Result<Channel, String> {
    text.parse::<Channel>().map_err(|e| e.to_string())
}

fn fact_kind(
    key: &str,
    value: serde_yaml::Value,
    roles: &BTreeMap<String, Role>,
) -> Result<FactKind, String> {
    Ok(match key {
        "config-map" => {
            let f: ConfigMapFile = parse(key, value)?;
            FactKind::ConfigMapData {
                namespace: f.namespace,
                name: f.name,
                data: f.data,
            }
        }
        "rolled-out" => {
            let f: RolledOutFile = parse(key, value)?;
            let kind = WorkloadKind::from_kind(&f.kind).ok_or_else(|| {
                format!(
                    "rolled-out: kind {:?} is not Deployment, StatefulSet or DaemonSet",
                    f.kind
                )
            })?;
            if !f.for_config_map.contains('/') {
                return Err("rolled-out: for-config-map is namespace/name".into());
            }
            FactKind::RolledOut {
                workload: WorkloadRef {
                    kind,
                    namespace: f.namespace,
                    name: f.name,
                },
                config_map: f.for_config_map,
            }
        }
        "absent" => FactKind::Absent {
            role: role(&parse::<String>(key, value)?, roles)?,
        },
        "legacy-gone" => {
            let f: LegacyFile = parse(key, value)?;
            FactKind::LegacyGone(match (f.kind.as_str(), f.namespace, f.name, f.webhook) {
                ("Deployment", Some(namespace), Some(name), None) => LegacyObject::Deployment { namespace, name },
                ("MutatingWebhookConfiguration", None, None, Some(webhook)) => LegacyObject::MutatingWebhook { webhook },
                _ => return Err("legacy-gone: a Deployment with namespace and name, or a MutatingWebhookConfiguration with webhook".into()),
            })
        }
        "namespace-gone" => FactKind::NamespaceGone {
            namespace: parse(key, value)?,
        },
        "deployed" => {
            let f: DeployedFile = parse(key, value)?;
            FactKind::Deployed {
                role: role(&f.application, roles)?,
                channel: channel(&f.channel)?,
                trust: f.trust,
                config: f.config,
                pinned: None,
                hide_values: false,
            }
        }
        "related" => {
            let [a, b]: [String; 2] = parse(key, value)?;
            let a: EndpointRef = a
                .parse()
                .map_err(|e: super::ids::InvalidEndpoint| e.to_string())?;
            let b: EndpointRef = b
                .parse()
                .map_err(|e: super::ids::InvalidEndpoint| e.to_string())?;
            role(&a.application, roles)?;
            role(&b.application, roles)?;
            FactKind::Related { a, b }
        }
        "refreshed" => {
            let f: RefreshedFile = parse(key, value)?;
            FactKind::Refreshed {
                role: role(&f.application, roles)?,
                channel: channel(&f.channel)?,
                trust: f.trust,
                revision: None,
            }
        }
        "configured" => {
            let f: ConfiguredFile = parse(key, value)?;
            if f.config.is_empty() {
                return Err("configured: config is empty".into());
            }
            FactKind::Configured {
                role: role(&f.application, roles)?,
                config: f.config,
                reset: Vec::new(),
                hide_values: false,
            }
        }
        "profile-namespaces-ambient" => FactKind::ProfileNamespacesAmbient {
            role: role(&parse::<String>(key, value)?, roles)?,
        },
        "sidecars-recycled" => {
            let f: RecycleFile = parse(key, value)?;
            FactKind::SidecarsRecycled {
                workloads: f.workloads,
            }
        }
        other => return Err(format!("unknown fact kind {other:?}")),
    })
}

/// A role deployed by the plan must not be expected on a CKF 1.11 track, and must be deployed
/// once.
fn check_deploys(plan: &Plan) -> Result<(), InvalidPlan> {
    let mut deployed = BTreeSet::new();
    for phase in &plan.phases {
        for fact in &phase.facts {
            if let FactKind::Deployed { role, .. } = &fact.kind {
                if !deployed.insert(role.clone()) {
                    return Err(invalid(
                        format!("phase {}", phase.name),
                        format!("{role} is deployed twice"),
                    ));
                }
                if plan.roles.get(role).is_some_and(|r| r.ckf_track.is_some()) {
                    return Err(invalid(
                        format!("application {role}"),
                        "an application the plan deploys has no ckf-1.11 track",
                    ));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_plan_loads_with_every_step_of_the_guide() {
        let plan = Plan::builtin().expect("the shipped plan is valid");
        let count = |pred: &dyn Fn(&FactKind) -> bool| {
            plan.phases
                .iter()
                .flat_map(|p| &p.facts)
                .filter(|f| pred(&f.kind))
                .count()
        };
        assert_eq!(
            count(&|k| matches!(k, FactKind::Refreshed { .. })),
            24,
            "refreshes of the guide"
        );
        assert_eq!(
            count(&|k| matches!(k, FactKind::Deployed { .. })),
            3,
            "istio-k8s, beacon, ingress"
        );
        assert_eq!(
            count(&|k| matches!(k, FactKind::Absent { .. })),
            5,
            "istio-gateway, istio-pilot, 3 knative"
        );
        // 40 integrations of the guide plus pvcviewer's gateway-metadata.
        assert_eq!(count(&|k| matches!(k, FactKind::Related { .. })), 41);
    }

    #[test]
    fn beyond_guide_facts_say_why() {
        let plan = Plan::builtin().expect("valid");
        let beyond: Vec<&Fact> = plan
            .phases
            .iter()
            .flat_map(|p| &p.facts)
            .filter(|f| f.beyond_guide.is_some())
            .collect();
        assert!(beyond.iter().any(|f| {
            f.kind
                .to_string()
                .contains("pvcviewer-operator:gateway-metadata")
        }));
        assert!(
            beyond
                .iter()
                .all(|f| f.beyond_guide.as_deref().is_some_and(|why| why.len() > 20))
        );
    }

    #[test]
    fn only_the_cilium_phase_is_platform_specific() {
        let plan = Plan::builtin().expect("valid");
        let specific: Vec<&str> = plan
            .phases
            .iter()
            .filter(|p| p.only_on.is_some())
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(specific, ["cilium"]);
        assert_eq!(plan.phases[0].only_on, Some(Platform::CanonicalK8s));
    }

    fn with_fact(fact: &str) -> String {
        format!(
            "name: t\nguide: g\napplications:\n  a: {{ charm: a }}\n  b: {{ charm: b, ckf-1.11: \"1.0\" }}\nphases:\n  - name: p\n    title: t\n    facts:\n      - {fact}\n"
        )
    }

    #[test]
    fn a_fact_naming_an_undeclared_application_is_refused_with_its_place() {
        let err = Plan::from_yaml(&with_fact("absent: nope")).unwrap_err();
        assert_eq!(err.place, "phase p, fact 1");
        assert!(err.problem.contains("\"nope\" is not declared"), "{err}");
    }

    #[test]
    fn bad_channels_endpoints_and_kinds_are_refused() {
        for (fact, expect) in [
            (
                "refreshed: { application: b, channel: 2.0/nightly }",
                "invalid channel",
            ),
            ("related: [a, b:x]", "invalid endpoint"),
            ("teleported: a", "unknown fact kind"),
            (
                "{ absent: a, deployed: { application: a, channel: edge } }",
                "one kind",
            ),
            (
                "deployed: { application: b, channel: edge }",
                "no ckf-1.11 track",
            ),
        ] {
            let err = Plan::from_yaml(&with_fact(fact)).unwrap_err();
            assert!(err.to_string().contains(expect), "{fact}: {err}");
        }
    }
}
