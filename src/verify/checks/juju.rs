//! Juju: the applications, their statuses, relations, config and channels (ckf-ambient.md §5
//! checks 1–5).

use std::collections::{BTreeMap, BTreeSet};

use crate::juju::{Application, Life, Relation};
use crate::plan::{self, Channel, EndpointRef, FactKind, Lookup, Plan};

use super::{Check, Ctx, Judged, Substrate, counted, fail, listed, need, pass};

/// The charm that runs this verification: its own unit is busy running the action.
const SELF_CHARM: &str = "ckf-migrator";

/// Endpoint names that exist only on the sidecar-era side of a relation.
const SIDECAR_ERA_ENDPOINTS: [&str; 4] = [
    "ingress-auth",
    "gateway-info",
    "local-gateway",
    "istio-pilot",
];

/// Charms the plan removes (istio-pilot, istio-gateway, knative-*).
fn legacy_charms(plan: &Plan) -> BTreeSet<&str> {
    plan.phases
        .iter()
        .flat_map(|p| &p.facts)
        .filter_map(|f| match &f.kind {
            FactKind::Absent { role } => plan.roles.get(role).map(|r| r.charm.as_str()),
            _ => None,
        })
        .collect()
}

/// Roles the plan deploys (istio-k8s, istio-beacon-k8s, istio-ingress-k8s).
fn deployed_roles(plan: &Plan) -> BTreeSet<&str> {
    plan.phases
        .iter()
        .flat_map(|p| &p.facts)
        .filter_map(|f| match &f.kind {
            FactKind::Deployed { role, .. } => Some(role.as_str()),
            _ => None,
        })
        .collect()
}

/// No application runs a charm of the sidecar era.
pub(crate) const LEGACY_APPLICATIONS_GONE: Check = Check {
    name: "legacy-applications-gone",
    group: "juju",
    judge: legacy_applications_gone,
};

fn legacy_applications_gone(c: &Ctx) -> Judged {
    let status = need!(c.status());
    let legacy = legacy_charms(c.plan);
    let left: Vec<String> = status
        .applications
        .values()
        .filter(|a| legacy.contains(a.charm.as_str()))
        .map(|a| {
            let dying = if a.life == Life::Alive {
                ""
            } else {
                ", being removed"
            };
            format!("{} (charm {}{dying})", a.name, a.charm)
        })
        .collect();
    if left.is_empty() {
        return pass();
    }
    fail(format!(
        "the model still runs sidecar-era applications {}: remove them (`juju remove-application <name>`, istio-pilot before anything of istio-k8s exists) or re-run migrate-to-ambient",
        listed(&left)
    ))
}

/// The Ambient charms are deployed.
pub(crate) const AMBIENT_APPLICATIONS_PRESENT: Check = Check {
    name: "ambient-applications-present",
    group: "juju",
    judge: ambient_applications_present,
};

fn ambient_applications_present(c: &Ctx) -> Judged {
    let status = need!(c.status());
    let missing: Vec<&str> = deployed_roles(c.plan)
        .into_iter()
        .filter_map(|role| c.plan.roles.get(role))
        .map(|role| role.charm.as_str())
        .filter(|charm| !status.applications.values().any(|a| a.charm == *charm))
        .collect();
    if missing.is_empty() {
        return pass();
    }
    fail(format!(
        "no application runs charm {} in model {}: deploy it (`juju deploy <charm> --channel 2/edge --trust`) or re-run migrate-to-ambient",
        listed(&missing),
        c.ns()
    ))
}

/// istio-k8s's `platform` suits the nodes (`microk8s` on MicroK8s, empty on Canonical K8s).
pub(crate) const ISTIO_PLATFORM_MATCHES_NODES: Check = Check {
    name: "istio-platform-matches-nodes",
    group: "juju",
    judge: istio_platform_matches_nodes,
};

fn istio_platform_matches_nodes(c: &Ctx) -> Judged {
    let app = match need!(c.role("istio-k8s")) {
        Lookup::Found(app) => app.name.clone(),
        // Reported by ambient-applications-present.
        Lookup::Missing | Lookup::Ambiguous(_) => return None,
    };
    let config = need!(c.config(&app));
    let platform = config
        .options
        .get("platform")
        .map(|v| v.as_config_string())
        .unwrap_or_default();
    let (expected, substrate) = match need!(c.substrate()) {
        Substrate::Microk8s => ("microk8s", "MicroK8s (node label microk8s.io/cluster=true)"),
        Substrate::CanonicalK8s => (
            "",
            "Canonical Kubernetes (node label k8sd.io/role or ConfigMap kube-system/cilium-config)",
        ),
        // Another substrate: the operator chose the value; nothing to contradict it.
        Substrate::Other => return pass(),
    };
    if platform == expected {
        return pass();
    }
    fail(format!(
        "{app} config platform={platform:?} but the nodes are {substrate}: run `juju config {app} platform={expected:?}`"
    ))
}

/// Every application is active and every unit active and idle.
pub(crate) const APPLICATIONS_ACTIVE: Check = Check {
    name: "applications-active",
    group: "juju",
    judge: applications_active,
};

fn unit_problem(
    plan: &Plan,
    app: &Application,
    unit: &str,
    u: &crate::juju::Unit,
) -> Option<String> {
    let workload = &u.workload;
    let agent = &u.agent;
    if workload.current == "error" || agent.current == "error" {
        let status = if workload.current == "error" {
            workload
        } else {
            agent
        };
        return Some(format!(
            "{unit} is in error ({status}): see `juju debug-log --include {unit}`, fix the cause, then `juju resolve {unit}`"
        ));
    }
    if workload.current == "active" && agent.current == "idle" {
        return None;
    }
    if workload.current != "active" {
        let why = if plan::is_transient(plan, &app.charm, &workload.current, &workload.message) {
            "a half-migrated model shows this until the migration's relations and config land: re-run migrate-to-ambient"
        } else if workload.current == "blocked" {
            "fix what the message asks; see `juju debug-log`"
        } else {
            "re-run verify once the model settles"
        };
        return Some(format!("{unit} is {workload} ({why})"));
    }
    Some(format!(
        "{unit} agent is {} (still running a hook: re-run verify once the model settles)",
        agent.current
    ))
}

fn applications_active(c: &Ctx) -> Judged {
    let status = need!(c.status());
    let mut problems = Vec::new();
    for app in status
        .applications
        .values()
        .filter(|a| a.charm != SELF_CHARM)
    {
        let before = problems.len();
        for (name, unit) in &app.units {
            problems.extend(unit_problem(c.plan, app, name, unit));
        }
        if problems.len() == before && app.status.current != "active" {
            problems.push(format!(
                "application {} is {} (check `juju status {}`)",
                app.name, app.status, app.name
            ));
        }
    }
    if problems.is_empty() {
        return pass();
    }
    fail(format!(
        "{} of model {} not active and idle: {}",
        counted(
            problems.len(),
            "application or unit",
            "applications or units"
        ),
        c.ns(),
        problems
            .iter()
            .take(6)
            .cloned()
            .collect::<Vec<_>>()
            .join("; ")
            + &if problems.len() > 6 {
                format!("; and {} more", problems.len() - 6)
            } else {
                String::new()
            }
    ))
}

/// istio-ingress-k8s says it is serving (`Serving at <address>`).
pub(crate) const INGRESS_SERVING: Check = Check {
    name: "ingress-serving",
    group: "juju",
    judge: ingress_serving,
};

fn ingress_serving(c: &Ctx) -> Judged {
    let status = need!(c.status());
    let Some(app) = status
        .applications
        .values()
        .find(|a| a.charm == super::INGRESS_CHARM)
    else {
        // Reported by ambient-applications-present.
        return None;
    };
    let leader = app
        .units
        .iter()
        .find(|(_, u)| u.leader)
        .or(app.units.iter().next());
    match leader {
        None => fail(format!(
            "{} has no unit: run `juju status {}` and wait for its unit, or scale it up",
            app.name, app.name
        )),
        Some((_, unit)) if unit.workload.message.starts_with("Serving at ") => pass(),
        Some((name, unit)) => fail(format!(
            "{name} says {} instead of \"Serving at <address>\": without a load-balancer address the gateway metadata is never published (see the ingress Service's status)",
            unit.workload
        )),
    }
}

/// The relations of the plan are present.
pub(crate) const EXPECTED_RELATIONS_PRESENT: Check = Check {
    name: "expected-relations-present",
    group: "juju",
    judge: expected_relations_present,
};

/// The plan's relations resolved against the model, skipping those whose applications are
/// neither in the model nor deployed by the plan (as migrate skips them).
fn expected_relations(c: &Ctx) -> Result<Vec<(EndpointRef, EndpointRef)>, crate::verify::Verdict> {
    let observed = c.observed()?;
    let deployed = deployed_roles(c.plan);
    let mut out = Vec::new();
    'facts: for fact in c.plan.phases.iter().flat_map(|p| &p.facts) {
        let FactKind::Related { a, b } = &fact.kind else {
            continue;
        };
        let mut sides = Vec::new();
        for end in [a, b] {
            match plan::lookup(c.plan, observed, &end.application) {
                Lookup::Found(app) => sides.push(EndpointRef {
                    application: app.name.clone(),
                    endpoint: end.endpoint.clone(),
                }),
                Lookup::Missing if deployed.contains(end.application.as_str()) => {
                    sides.push(end.clone())
                }
                Lookup::Missing => continue 'facts,
                Lookup::Ambiguous(names) => {
                    return Err(crate::verify::Verdict::Fail(format!(
                        "several applications run the charm of {} ({}): verify cannot tell which one is Kubeflow's; check its relations by hand",
                        end.application,
                        names.join(", ")
                    )));
                }
            }
        }
        let b = sides.pop().expect("two sides pushed");
        let a = sides.pop().expect("two sides pushed");
        out.push((a, b));
    }
    // kubeflow-trainer is optional and not in the guide, but Canonical's ambient bundle puts it
    // on the mesh (ckf-ambient.md §5 check 4).
    let beacon = c.app_name("istio-beacon-k8s");
    for app in observed
        .applications
        .values()
        .filter(|a| a.charm == "kubeflow-trainer")
    {
        out.push((
            EndpointRef {
                application: app.name.clone(),
                endpoint: "service-mesh".into(),
            },
            EndpointRef {
                application: beacon.clone(),
                endpoint: "service-mesh".into(),
            },
        ));
    }
    Ok(out)
}

fn expected_relations_present(c: &Ctx) -> Judged {
    let observed = need!(c.observed());
    let missing: Vec<String> = need!(expected_relations(c))
        .into_iter()
        .filter(|(a, b)| !observed.has_relation(a, b))
        .map(|(a, b)| format!("{a} {b}"))
        .collect();
    if missing.is_empty() {
        return pass();
    }
    fail(format!(
        "{} missing from model {}: {}: run `juju integrate <a> <b>` for each, or re-run migrate-to-ambient",
        counted(missing.len(), "relation", "relations"),
        c.ns(),
        listed(&missing)
    ))
}

/// No relation of the sidecar era is left.
pub(crate) const NO_SIDECAR_RELATIONS: Check = Check {
    name: "no-sidecar-relations",
    group: "juju",
    judge: no_sidecar_relations,
};

fn is_sidecar_era(
    relation: &Relation,
    charms: &BTreeMap<&str, &str>,
    legacy: &BTreeSet<&str>,
) -> bool {
    relation.endpoints.len() == 2
        && relation.endpoints.iter().any(|e| {
            SIDECAR_ERA_ENDPOINTS.contains(&e.name.as_str())
                || charms
                    .get(e.application.as_str())
                    .is_some_and(|charm| legacy.contains(charm))
        })
}

fn no_sidecar_relations(c: &Ctx) -> Judged {
    let status = need!(c.status());
    let legacy = legacy_charms(c.plan);
    let charms: BTreeMap<&str, &str> = status
        .applications
        .values()
        .map(|a| (a.name.as_str(), a.charm.as_str()))
        .collect();
    let left: Vec<String> = status
        .relations
        .iter()
        .filter(|r| is_sidecar_era(r, &charms, &legacy))
        .map(crate::juju::Relation::endpoints_line)
        .collect();
    if left.is_empty() {
        return pass();
    }
    fail(format!(
        "sidecar-era relations left in model {}: {}: remove them (`juju remove-relation <a> <b>`) or remove the old Istio and Knative applications",
        c.ns(),
        listed(&left)
    ))
}

/// The config values of the plan are in effect.
pub(crate) const PLAN_CONFIG_APPLIED: Check = Check {
    name: "plan-config-applied",
    group: "juju",
    judge: plan_config_applied,
};

/// Role → option → value the plan sets, with `${model}` filled in. istio-k8s's
/// `${istio-platform}` depends on the substrate and is judged by istio-platform-matches-nodes.
/// kubeflow-profiles's `istio-gateway-namespace` must name the model (§5 check 5), although its
/// default already does.
fn expected_config(c: &Ctx) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for fact in c.plan.phases.iter().flat_map(|p| &p.facts) {
        let (FactKind::Configured { role, config, .. } | FactKind::Deployed { role, config, .. }) =
            &fact.kind
        else {
            continue;
        };
        for (key, value) in config {
            if value.contains("${istio-platform}") {
                continue;
            }
            out.entry(role.clone())
                .or_default()
                .insert(key.clone(), value.replace("${model}", c.ns()));
        }
    }
    if c.plan.roles.contains_key("kubeflow-profiles") {
        out.entry("kubeflow-profiles".into())
            .or_default()
            .insert("istio-gateway-namespace".into(), c.ns().to_string());
    }
    out
}

fn plan_config_applied(c: &Ctx) -> Judged {
    let mut wrong = Vec::new();
    for (role, values) in expected_config(c) {
        let app = match need!(c.role(&role)) {
            Lookup::Found(app) => app.name.clone(),
            // Absent applications are skipped, as migrate skips them.
            Lookup::Missing => continue,
            Lookup::Ambiguous(names) => {
                wrong.push(format!(
                    "several applications run {role}'s charm ({})",
                    names.join(", ")
                ));
                continue;
            }
        };
        let config = need!(c.config(&app));
        for (key, value) in values {
            let Some(current) = config.options.get(&key).map(|v| v.as_config_string()) else {
                wrong.push(format!(
                    "{app} has no option {key} (its charm revision predates ambient: refresh it first, then `juju config {app} {key}={value}`)"
                ));
                continue;
            };
            // The kserve charm lower-cases deployment-mode before using it.
            let same = if key == "deployment-mode" {
                current.eq_ignore_ascii_case(&value)
            } else {
                current == value
            };
            if !same {
                wrong.push(format!(
                    "{app} {key}={current:?} (expected {value:?}: `juju config {app} {key}={value}`)"
                ));
            }
        }
    }
    if wrong.is_empty() {
        return pass();
    }
    fail(format!(
        "config differs from the plan: {}; or re-run migrate-to-ambient",
        wrong.join("; ")
    ))
}

/// Every application of the plan runs its charm from the plan's channel.
pub(crate) const CHANNELS_AS_PLANNED: Check = Check {
    name: "channels-as-planned",
    group: "juju",
    judge: channels_as_planned,
};

fn channels_as_planned(c: &Ctx) -> Judged {
    let targets: BTreeMap<&str, &Channel> = c
        .plan
        .phases
        .iter()
        .flat_map(|p| &p.facts)
        .filter_map(|f| match &f.kind {
            FactKind::Refreshed { role, channel, .. }
            | FactKind::Deployed { role, channel, .. } => Some((role.as_str(), channel)),
            _ => None,
        })
        .collect();
    let mut off = Vec::new();
    for (role, channel) in targets {
        let app = match need!(c.role(role)) {
            Lookup::Found(app) => app,
            Lookup::Missing | Lookup::Ambiguous(_) => continue,
        };
        if app.channel.parse::<Channel>().ok().as_ref() != Some(channel) {
            off.push(format!(
                "{} on {} (plan: {channel})",
                app.name,
                if app.channel.is_empty() {
                    "no channel"
                } else {
                    &app.channel
                }
            ));
        }
    }
    if off.is_empty() {
        return pass();
    }
    fail(format!(
        "{} off the plan's channels: {}: run `juju refresh <app> --channel <channel>` or re-run migrate-to-ambient",
        counted(off.len(), "application", "applications"),
        listed(&off)
    ))
}

#[cfg(test)]
mod tests {
    use crate::verify::Verdict;
    use crate::verify::fixtures::Fixture;

    #[test]
    fn legacy_application_found_by_charm_fails_naming_it() {
        let fx = Fixture::migrated().with_app("old-istio", "istio-pilot", "1.28/stable");

        let verdict = fx.verdict("legacy-applications-gone");

        fx.assert_fails(&verdict, &["old-istio (charm istio-pilot)", "remove"]);
    }

    #[test]
    fn missing_beacon_fails_ambient_applications_present() {
        let fx = Fixture::migrated().without_app("istio-beacon-k8s");

        fx.assert_fails(
            &fx.verdict("ambient-applications-present"),
            &["istio-beacon-k8s"],
        );
    }

    #[test]
    fn microk8s_platform_on_canonical_k8s_fails() {
        let fx =
            Fixture::migrated()
                .on_canonical_k8s()
                .with_config("istio-k8s", "platform", "microk8s");

        fx.assert_fails(
            &fx.verdict("istio-platform-matches-nodes"),
            &[
                "platform=\"microk8s\"",
                "Canonical Kubernetes",
                "juju config istio-k8s platform=\"\"",
            ],
        );
    }

    #[test]
    fn unit_in_error_fails_naming_the_unit_and_resolve() {
        let fx = Fixture::migrated().with_unit_status(
            "kfp-api",
            "error",
            "hook failed: \"update-status\"",
            "idle",
        );

        fx.assert_fails(
            &fx.verdict("applications-active"),
            &["kfp-api/0 is in error", "juju resolve kfp-api/0"],
        );
    }

    #[test]
    fn known_blocked_message_is_explained_as_half_migrated() {
        let fx = Fixture::migrated().with_unit_status(
            "kserve-controller",
            "blocked",
            "Please relate to istio-pilot:gateway-info",
            "idle",
        );

        fx.assert_fails(
            &fx.verdict("applications-active"),
            &[
                "kserve-controller/0 is blocked",
                "half-migrated",
                "re-run migrate-to-ambient",
            ],
        );
    }

    #[test]
    fn the_migrator_running_the_action_is_not_judged() {
        let fx = Fixture::migrated()
            .with_app("ckf-migrator", "ckf-migrator", "latest/edge")
            .with_unit_status("ckf-migrator", "maintenance", "verifying", "executing");

        assert_eq!(fx.verdict("applications-active"), Some(Verdict::Pass));
    }

    #[test]
    fn ingress_without_serving_message_fails() {
        let fx = Fixture::migrated().with_unit_status(
            "istio-ingress-k8s",
            "blocked",
            "Gateway load balancer is unable to obtain an IP or hostname from the cluster.",
            "idle",
        );

        fx.assert_fails(
            &fx.verdict("ingress-serving"),
            &["istio-ingress-k8s/0", "Serving at"],
        );
    }

    #[test]
    fn missing_relation_fails_naming_both_endpoints() {
        let fx = Fixture::migrated().without_relation(
            "pvcviewer-operator:gateway-metadata",
            "istio-ingress-k8s:gateway-metadata",
        );

        fx.assert_fails(
            &fx.verdict("expected-relations-present"),
            &[
                "pvcviewer-operator:gateway-metadata istio-ingress-k8s:gateway-metadata",
                "juju integrate",
            ],
        );
    }

    #[test]
    fn relations_of_absent_applications_are_not_expected() {
        let fx = Fixture::migrated()
            .without_app("katib-ui")
            .without_app("katib-controller");

        assert_eq!(
            fx.verdict("expected-relations-present"),
            Some(Verdict::Pass)
        );
    }

    #[test]
    fn sidecar_era_relation_fails() {
        let fx = Fixture::migrated()
            .with_app("istio-pilot", "istio-pilot", "1.28/stable")
            .with_relation("dex-auth:ingress", "istio-pilot:ingress");

        fx.assert_fails(
            &fx.verdict("no-sidecar-relations"),
            &["dex-auth:ingress istio-pilot:ingress", "remove-relation"],
        );
    }

    #[test]
    fn ipa_ingress_relation_to_the_new_ingress_is_not_sidecar_era() {
        let fx = Fixture::migrated()
            .with_app("mlflow-server", "mlflow-server", "2.22/stable")
            .with_relation("mlflow-server:ingress", "istio-ingress-k8s:ingress");

        assert_eq!(fx.verdict("no-sidecar-relations"), Some(Verdict::Pass));
    }

    #[test]
    fn serverless_deployment_mode_fails_plan_config() {
        let fx =
            Fixture::migrated().with_config("kserve-controller", "deployment-mode", "serverless");

        fx.assert_fails(
            &fx.verdict("plan-config-applied"),
            &[
                "kserve-controller deployment-mode=\"serverless\"",
                "juju config kserve-controller deployment-mode=rawdeployment",
            ],
        );
    }

    #[test]
    fn deployment_mode_is_compared_without_case() {
        let fx = Fixture::migrated().with_config(
            "kserve-controller",
            "deployment-mode",
            "RawDeployment",
        );

        assert_eq!(fx.verdict("plan-config-applied"), Some(Verdict::Pass));
    }

    #[test]
    fn sidecar_mode_profiles_fail_plan_config() {
        let fx = Fixture::migrated().with_config(
            "kubeflow-profiles",
            "service-mesh-mode",
            "istio-sidecar",
        );

        fx.assert_fails(
            &fx.verdict("plan-config-applied"),
            &["kubeflow-profiles service-mesh-mode"],
        );
    }

    #[test]
    fn option_missing_from_an_old_revision_says_refresh_first() {
        let mut fx = Fixture::migrated();
        if let Some(Ok(config)) = fx.snapshot.configs.get_mut("kubeflow-profiles") {
            config.options.remove("service-mesh-mode");
        }

        fx.assert_fails(
            &fx.verdict("plan-config-applied"),
            &[
                "kubeflow-profiles has no option service-mesh-mode",
                "refresh it first",
            ],
        );
    }

    #[test]
    fn unreadable_config_fails_naming_it() {
        let fx = Fixture::migrated().with_unreadable_config("kubeflow-profiles");

        fx.assert_fails(
            &fx.verdict("plan-config-applied"),
            &["cannot read the config of kubeflow-profiles"],
        );
    }

    #[test]
    fn application_on_its_old_channel_fails() {
        let fx = Fixture::migrated().with_channel("kfp-api", "2.15/stable");

        fx.assert_fails(
            &fx.verdict("channels-as-planned"),
            &["kfp-api on 2.15/stable (plan: 2.15/edge)"],
        );
    }
}
