//! Binding a plan to one run: the model's name, the platform, the operator's choices.

use std::collections::{BTreeMap, BTreeSet};

use super::load::InvalidPlan;
use super::model::{FactKind, LegacyObject, Plan};
use super::platform::Platform;

/// What a run decides about the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    /// Model name, which is also its namespace.
    pub model: String,
    /// The substrate, already detected (never [`Platform::Auto`]).
    pub platform: Platform,
    /// Restart every workload with sidecars in profile namespaces, not only the guide's two.
    pub restart_workloads: bool,
}

/// A plan bound to a run: phases that do not apply are dropped and `${…}` variables filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// The plan with only the phases that apply.
    pub plan: Plan,
    /// The run's choices.
    pub params: Params,
}

impl Resolved {
    /// Roles the plan deploys.
    pub fn deployed_roles(&self) -> BTreeSet<&str> {
        self.plan
            .phases
            .iter()
            .flat_map(|p| &p.facts)
            .filter_map(|f| match &f.kind {
                FactKind::Deployed { role, .. } => Some(role.as_str()),
                _ => None,
            })
            .collect()
    }
}

impl Plan {
    /// Binds the plan to a run.
    ///
    /// # Errors
    /// The platform is still `auto`, or a fact uses an unknown `${variable}`.
    pub fn resolve(&self, params: Params) -> Result<Resolved, InvalidPlan> {
        let istio_platform = params.platform.istio_value().ok_or_else(|| InvalidPlan {
            place: "platform".into(),
            problem: "auto must be resolved from the nodes before the plan is bound".into(),
        })?;
        let vars: BTreeMap<&str, &str> = [
            ("model", params.model.as_str()),
            ("istio-platform", istio_platform),
        ]
        .into();
        let mut plan = self.clone();
        plan.phases
            .retain(|phase| phase.only_on.is_none_or(|p| p == params.platform));
        for phase in &mut plan.phases {
            let place = format!("phase {}", phase.name);
            for fact in &mut phase.facts {
                substitute(&mut fact.kind, &vars).map_err(|problem| InvalidPlan {
                    place: place.clone(),
                    problem,
                })?;
            }
        }
        Ok(Resolved { plan, params })
    }
}

fn substitute(kind: &mut FactKind, vars: &BTreeMap<&str, &str>) -> Result<(), String> {
    let one = |s: &mut String| -> Result<(), String> {
        *s = fill(s, vars)?;
        Ok(())
    };
    let map = |m: &mut BTreeMap<String, String>| -> Result<(), String> {
        for value in m.values_mut() {
            *value = fill(value, vars)?;
        }
        Ok(())
    };
    match kind {
        FactKind::ConfigMapData {
            namespace,
            name,
            data,
        } => {
            one(namespace)?;
            one(name)?;
            map(data)?;
        }
        FactKind::RolledOut {
            workload,
            config_map,
        } => {
            one(&mut workload.namespace)?;
            one(config_map)?;
        }
        FactKind::LegacyGone(LegacyObject::Deployment { namespace, .. })
        | FactKind::Present(LegacyObject::Deployment { namespace, .. }) => one(namespace)?,
        FactKind::NamespaceGone { namespace } => one(namespace)?,
        // A backup's values are literal: `${` in a value a user set is not a variable.
        FactKind::Deployed {
            config,
            hide_values: false,
            ..
        }
        | FactKind::Configured {
            config,
            hide_values: false,
            ..
        } => map(config)?,
        FactKind::Deployed { .. }
        | FactKind::Configured { .. }
        | FactKind::LegacyGone(LegacyObject::MutatingWebhook { .. })
        | FactKind::Present(LegacyObject::MutatingWebhook { .. })
        | FactKind::SidecarsInjected
        | FactKind::Absent { .. }
        | FactKind::Related { .. }
        | FactKind::Unrelated { .. }
        | FactKind::Refreshed { .. }
        | FactKind::Trusted { .. }
        | FactKind::Scaled { .. }
        | FactKind::Settled { .. }
        | FactKind::ProfileNamespacesAmbient { .. }
        | FactKind::SidecarsRecycled { .. } => {}
    }
    Ok(())
}

/// Replaces every `${name}` in `text`.
fn fill(text: &str, vars: &BTreeMap<&str, &str>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("unclosed variable in {text:?}"))?;
        let name = &after[..end];
        let value = vars
            .get(name)
            .ok_or_else(|| format!("unknown variable ${{{name}}} in {text:?}"))?;
        out.push_str(value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(platform: Platform) -> Params {
        Params {
            model: "kubeflow".into(),
            platform,
            restart_workloads: false,
        }
    }

    fn istio_platform(resolved: &Resolved) -> String {
        resolved
            .plan
            .phases
            .iter()
            .flat_map(|p| &p.facts)
            .find_map(|f| match &f.kind {
                FactKind::Deployed { role, config, .. } if role == "istio-k8s" => {
                    config.get("platform").cloned()
                }
                _ => None,
            })
            .expect("istio-k8s is deployed with a platform")
    }

    #[test]
    fn microk8s_skips_cilium_and_sets_the_platform() {
        let resolved = Plan::builtin()
            .expect("valid")
            .resolve(params(Platform::Microk8s))
            .expect("resolves");
        assert!(resolved.plan.phases.iter().all(|p| p.name != "cilium"));
        assert_eq!(istio_platform(&resolved), "microk8s");
    }

    #[test]
    fn canonical_k8s_configures_cilium_and_leaves_the_platform_empty() {
        let resolved = Plan::builtin()
            .expect("valid")
            .resolve(params(Platform::CanonicalK8s))
            .expect("resolves");
        assert_eq!(resolved.plan.phases[0].name, "cilium");
        assert_eq!(istio_platform(&resolved), "");
    }

    #[test]
    fn the_model_name_fills_namespaces() {
        let mut p = params(Platform::Microk8s);
        p.model = "ml".into();
        let resolved = Plan::builtin()
            .expect("valid")
            .resolve(p)
            .expect("resolves");
        let istiod = resolved
            .plan
            .phases
            .iter()
            .flat_map(|p| &p.facts)
            .find_map(|f| match &f.kind {
                FactKind::LegacyGone(LegacyObject::Deployment { namespace, name }) => {
                    Some((namespace.clone(), name.clone()))
                }
                _ => None,
            });
        assert_eq!(istiod, Some(("ml".to_string(), "istiod".to_string())));
    }

    #[test]
    fn auto_must_be_resolved_first() {
        let err = Plan::builtin()
            .expect("valid")
            .resolve(params(Platform::Auto))
            .unwrap_err();
        assert!(err.problem.contains("resolved from the nodes"), "{err}");
    }

    #[test]
    fn unknown_variables_are_refused() {
        let vars = BTreeMap::from([("model", "kubeflow")]);
        assert_eq!(fill("${model}-x", &vars).as_deref(), Ok("kubeflow-x"));
        assert!(
            fill("${nope}", &vars)
                .unwrap_err()
                .contains("unknown variable")
        );
        assert!(fill("${model", &vars).unwrap_err().contains("unclosed"));
    }
}
