//! Mesh enrolment: the applications on the mesh, the profile namespaces, and the sidecars left
//! (ckf-ambient.md §5 checks 18–22).

use std::collections::{BTreeMap, BTreeSet};

use crate::cluster::{
    AuthorizationPolicyInfo, GatewayInfo, Owner, PodInfo, WorkloadKind, condition_true, kind_name,
};

use super::{Check, Ctx, Judged, counted, fail, listed, need, pass, read, warn};

const DATAPLANE_MODE: &str = "istio.io/dataplane-mode";
const USE_WAYPOINT: &str = "istio.io/use-waypoint";
const USE_WAYPOINT_NAMESPACE: &str = "istio.io/use-waypoint-namespace";
const INJECTION: &str = "istio-injection";
const REVISION: &str = "istio.io/rev";
/// The waypoint the profile controller creates in each profile namespace.
const PROFILE_WAYPOINT: &str = "waypoint";

/// Applications related to the beacon's `service-mesh` endpoint.
fn mesh_applications(c: &Ctx, beacon: &str) -> Result<BTreeSet<String>, crate::verify::Verdict> {
    Ok(c.status()?
        .relations
        .iter()
        .filter_map(|r| match r.endpoints.as_slice() {
            [a, b] if b.application == beacon && b.name == "service-mesh" => {
                Some(a.application.clone())
            }
            [a, b] if a.application == beacon && a.name == "service-mesh" => {
                Some(b.application.clone())
            }
            _ => None,
        })
        .collect())
}

/// Each application on the mesh carries the ambient labels and its pods are enrolled.
pub(crate) const MESH_APPLICATIONS_ENROLLED: Check = Check {
    name: "mesh-applications-enrolled",
    group: "mesh",
    judge: mesh_applications_enrolled,
};

fn mesh_applications_enrolled(c: &Ctx) -> Judged {
    let ns = c.ns();
    if !need!(c.has_charm("istio-beacon-k8s")) {
        // Reported by ambient-applications-present.
        return None;
    }
    let beacon = c.app_name("istio-beacon-k8s");
    let apps = need!(mesh_applications(c, &beacon));
    if apps.is_empty() {
        return fail(format!(
            "no application is related to {beacon}:service-mesh, so nothing of Kubeflow is on the mesh: re-run migrate-to-ambient"
        ));
    }
    let config_maps = need!(read(&c.snap.cluster.config_maps));
    let stateful_sets = need!(read(&c.snap.cluster.stateful_sets));
    let pods = need!(read(&c.snap.cluster.pods));
    let expected = [
        (DATAPLANE_MODE, "ambient".to_string()),
        (USE_WAYPOINT, c.beacon_waypoint()),
        (USE_WAYPOINT_NAMESPACE, ns.to_string()),
    ];
    let mut problems = Vec::new();
    for app in &apps {
        let mut mine = Vec::new();
        if !config_maps.contains_key(&format!("juju-service-mesh-{app}-labels")) {
            mine.push(format!("no ConfigMap {ns}/juju-service-mesh-{app}-labels"));
        }
        match stateful_sets.iter().find(|s| &s.name == app) {
            None => mine.push(format!("no StatefulSet {ns}/{app}")),
            Some(sts) => {
                let wrong: Vec<String> = expected
                    .iter()
                    .filter(|(k, v)| sts.template_labels.get(*k) != Some(v))
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                if !wrong.is_empty() {
                    mine.push(format!(
                        "StatefulSet {ns}/{app} pod template lacks {}",
                        wrong.join(", ")
                    ));
                }
            }
        }
        let outside: Vec<&str> = pods
            .iter()
            .filter(|p| {
                p.namespace == ns
                    && p.labels.get("app.kubernetes.io/name") == Some(app)
                    && !p.ambient_redirected
            })
            .map(|p| p.name.as_str())
            .collect();
        if !outside.is_empty() {
            mine.push(format!(
                "pod {} not enrolled by istio-cni (no ambient.istio.io/redirection=enabled)",
                listed(&outside)
            ));
        }
        if !mine.is_empty() {
            problems.push(format!("{app}: {}", mine.join(", ")));
        }
    }
    if problems.is_empty() {
        return pass();
    }
    fail(format!(
        "{} related to {beacon}:service-mesh not on the mesh: {}: see `juju debug-log --include <app>`; removing and re-adding the service-mesh relation relabels it",
        counted(problems.len(), "application", "applications"),
        problems
            .iter()
            .take(6)
            .cloned()
            .collect::<Vec<_>>()
            .join("; ")
    ))
}

/// Every profile namespace is labelled for ambient and not for injection.
pub(crate) const PROFILE_NAMESPACES_AMBIENT: Check = Check {
    name: "profile-namespaces-ambient",
    group: "mesh",
    judge: profile_namespaces_ambient,
};

fn profile_namespaces_ambient(c: &Ctx) -> Judged {
    let profiles = need!(c.profiles());
    let namespaces = need!(c.namespaces());
    let mut behind = Vec::new();
    for profile in &profiles {
        let Some(ns) = namespaces.get(profile) else {
            behind.push(format!("{profile} (namespace missing)"));
            continue;
        };
        let label = |k: &str| ns.labels.get(k).map(String::as_str);
        let mut wrong = Vec::new();
        if label(INJECTION) == Some("enabled") {
            wrong.push(format!("{INJECTION}=enabled"));
        }
        if label(DATAPLANE_MODE) != Some("ambient") {
            wrong.push(format!("no {DATAPLANE_MODE}=ambient"));
        }
        if label(USE_WAYPOINT) != Some(PROFILE_WAYPOINT) {
            wrong.push(format!("no {USE_WAYPOINT}={PROFILE_WAYPOINT}"));
        }
        if !wrong.is_empty() {
            behind.push(format!("{profile} ({})", wrong.join(", ")));
        }
    }
    if behind.is_empty() {
        return pass();
    }
    fail(format!(
        "{} of {} not in ambient mode: {}: set `juju config kubeflow-profiles service-mesh-mode=istio-ambient` (its controller relabels them) or re-run migrate-to-ambient",
        behind.len(),
        counted(profiles.len(), "profile namespace", "profile namespaces"),
        listed(&behind)
    ))
}

/// Every profile namespace has its waypoint and the policies that let traffic through it.
pub(crate) const PROFILE_WAYPOINTS_READY: Check = Check {
    name: "profile-waypoints-ready",
    group: "mesh",
    judge: profile_waypoints_ready,
};

fn profile_waypoints_ready(c: &Ctx) -> Judged {
    let profiles = need!(c.profiles());
    let gateways: BTreeMap<(&str, &str), &GatewayInfo> = need!(read(&c.snap.cluster.gateways))
        .iter()
        .map(|g| ((g.namespace.as_str(), g.name.as_str()), g))
        .collect();
    let policies: BTreeMap<(&str, &str), &AuthorizationPolicyInfo> =
        need!(read(&c.snap.cluster.authorization_policies))
            .iter()
            .map(|p| ((p.namespace.as_str(), p.name.as_str()), p))
            .collect();
    let target = format!("Gateway/{PROFILE_WAYPOINT}");
    let mut behind = Vec::new();
    for profile in &profiles {
        let mut wrong = Vec::new();
        match gateways.get(&(*profile, PROFILE_WAYPOINT)) {
            None => wrong.push(format!("no Gateway {PROFILE_WAYPOINT}")),
            Some(g) if !condition_true(&g.conditions, "Programmed") => {
                wrong.push(format!("Gateway {PROFILE_WAYPOINT} not programmed"))
            }
            Some(_) => {}
        }
        match policies.get(&(*profile, "ns-owner-access-istio")) {
            None => wrong.push("no AuthorizationPolicy ns-owner-access-istio".to_string()),
            Some(p) if !p.target_refs.contains(&target) => wrong.push(format!(
                "AuthorizationPolicy ns-owner-access-istio not attached to {target}"
            )),
            Some(_) => {}
        }
        if !policies.contains_key(&(*profile, "waypoint-l4-access")) {
            wrong.push("no AuthorizationPolicy waypoint-l4-access".to_string());
        }
        if !wrong.is_empty() {
            behind.push(format!("{profile} ({})", wrong.join(", ")));
        }
    }
    if behind.is_empty() {
        return pass();
    }
    fail(format!(
        "{} of {} without a working waypoint: {}: the profile controller creates them in ambient mode; check kubeflow-profiles (service-mesh-mode=istio-ambient, `juju debug-log --include kubeflow-profiles`)",
        behind.len(),
        counted(profiles.len(), "profile namespace", "profile namespaces"),
        listed(&behind)
    ))
}

/// Restartable thing that owns sidecar pods, for messages.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Restart {
    /// What the user recognises: `Notebook alice/nb`, `Deployment alice/ml-pipeline-ui-artifact`.
    top: String,
    /// The workload under it, when `top` is its controller: `StatefulSet nb`.
    via: Option<String>,
    /// The exact command that recycles its pods, when there is one.
    command: Option<String>,
}

/// Where a sidecar pod belongs: its workload (the Deployment behind a ReplicaSet, found by the
/// `pod-template-hash` suffix), and that workload's controller when known.
fn restart_of(
    pod: &PodInfo,
    owners: &BTreeMap<(WorkloadKind, &str, &str), Option<&Owner>>,
) -> Restart {
    let ns = &pod.namespace;
    let Some(owner) = &pod.owner else {
        return Restart {
            top: format!("Pod {ns}/{} (no owner: delete and recreate it)", pod.name),
            via: None,
            command: None,
        };
    };
    let workload = match owner.kind.as_str() {
        "ReplicaSet" => pod
            .labels
            .get("pod-template-hash")
            .and_then(|hash| owner.name.strip_suffix(&format!("-{hash}")))
            .map(|d| (WorkloadKind::Deployment, d.to_string())),
        "StatefulSet" => Some((WorkloadKind::StatefulSet, owner.name.clone())),
        "DaemonSet" => Some((WorkloadKind::DaemonSet, owner.name.clone())),
        _ => None,
    };
    let Some((kind, name)) = workload else {
        return Restart {
            top: format!("{} {ns}/{}", owner.kind, owner.name),
            via: None,
            command: None,
        };
    };
    let command = Some(format!(
        "kubectl -n {ns} rollout restart {} {name}",
        kind_name(kind).to_lowercase()
    ));
    match owners
        .get(&(kind, ns.as_str(), name.as_str()))
        .copied()
        .flatten()
    {
        Some(controller) => Restart {
            top: format!("{} {ns}/{}", controller.kind, controller.name),
            via: Some(format!("{} {name}", kind_name(kind))),
            command,
        },
        None => Restart {
            top: format!("{} {ns}/{name}", kind_name(kind)),
            via: None,
            command,
        },
    }
}

/// No pod of the model namespace or a profile namespace runs an istio-proxy sidecar.
pub(crate) const NO_SIDECARS: Check = Check {
    name: "no-sidecars",
    group: "mesh",
    judge: no_sidecars,
};

fn no_sidecars(c: &Ctx) -> Judged {
    let ns = c.ns();
    let profiles = need!(c.profiles());
    let pods = need!(read(&c.snap.cluster.pods));
    let sidecars: Vec<&PodInfo> = pods
        .iter()
        .filter(|p| p.sidecar && (p.namespace == ns || profiles.contains(p.namespace.as_str())))
        .collect();
    if sidecars.is_empty() {
        return pass();
    }
    // Controllers of the workloads, from the model namespace's listings and, for the other
    // namespaces, the cluster-wide owner listing. Without them the workload itself is named.
    let mut owners: BTreeMap<(WorkloadKind, &str, &str), Option<&Owner>> = BTreeMap::new();
    if let Ok(all) = &c.snap.cluster.workload_owners {
        for ((kind, namespace, name), owner) in all {
            owners.insert((*kind, namespace.as_str(), name.as_str()), owner.as_ref());
        }
    }
    for (kind, listing) in [
        (WorkloadKind::Deployment, &c.snap.cluster.deployments),
        (WorkloadKind::StatefulSet, &c.snap.cluster.stateful_sets),
    ] {
        for w in listing.iter().flatten() {
            owners.insert(
                (kind, w.namespace.as_str(), w.name.as_str()),
                w.owner.as_ref(),
            );
        }
    }
    let mut groups: BTreeMap<Restart, Vec<&str>> = BTreeMap::new();
    for pod in &sidecars {
        groups
            .entry(restart_of(pod, &owners))
            .or_default()
            .push(pod.name.as_str());
    }
    let described: Vec<String> = groups
        .iter()
        .map(|(restart, pods)| {
            let pods = if pods.len() <= 3 {
                pods.join(", ")
            } else {
                counted(pods.len(), "pod", "pods")
            };
            match &restart.via {
                Some(via) => format!("{} ({via}: {pods})", restart.top),
                None => format!("{} ({pods})", restart.top),
            }
        })
        .collect();
    let commands: Vec<String> = groups
        .keys()
        .filter_map(|r| r.command.as_ref())
        .map(|c| format!("`{c}`"))
        .collect();
    let rerun = c.front_end.command(
        "migrate-to-ambient",
        &[crate::advice::param("restart-workloads", "true")],
    );
    fail(format!(
        "{} in {} still run istio-proxy sidecars, bypassing ambient: {}: restart {} ({}) or run {rerun}",
        counted(sidecars.len(), "pod", "pods"),
        counted(groups.len(), "workload", "workloads"),
        described.join("; "),
        if groups.len() == 1 { "it" } else { "them" },
        commands.join(", ")
    ))
}

/// No other namespace is still labelled for sidecar injection.
pub(crate) const NO_OTHER_NAMESPACES_INJECTED: Check = Check {
    name: "no-other-namespaces-injected",
    group: "mesh",
    judge: no_other_namespaces_injected,
};

fn no_other_namespaces_injected(c: &Ctx) -> Judged {
    let profiles = need!(c.profiles());
    let namespaces = need!(c.namespaces());
    let injected: Vec<String> = namespaces
        .values()
        .filter(|n| !profiles.contains(n.name.as_str()))
        .filter_map(|n| {
            if n.labels.get(INJECTION).map(String::as_str) == Some("enabled") {
                Some(format!("{} ({INJECTION}=enabled)", n.name))
            } else {
                n.labels
                    .get(REVISION)
                    .map(|rev| format!("{} ({REVISION}={rev})", n.name))
            }
        })
        .collect();
    if injected.is_empty() {
        return pass();
    }
    warn(format!(
        "namespace {} still labelled for sidecar injection: istio-k8s's istiod still injects sidecars there; remove the label (`kubectl label namespace <name> {INJECTION}-`) and restart its pods, or label it {DATAPLANE_MODE}=ambient",
        listed(&injected)
    ))
}

/// No selector-based AuthorizationPolicy with L7 rules is left in profile namespaces.
pub(crate) const NO_L7_SELECTOR_POLICIES: Check = Check {
    name: "no-l7-selector-policies",
    group: "mesh",
    judge: no_l7_selector_policies,
};

fn no_l7_selector_policies(c: &Ctx) -> Judged {
    let profiles = need!(c.profiles());
    let found: Vec<String> = need!(read(&c.snap.cluster.authorization_policies))
        .iter()
        .filter(|p| profiles.contains(p.namespace.as_str()))
        .filter(|p| p.has_selector && p.l7 && p.target_refs.is_empty())
        .map(|p| format!("{}/{}", p.namespace, p.name))
        .collect();
    if found.is_empty() {
        return pass();
    }
    warn(format!(
        "AuthorizationPolicy {} selects workloads with L7 rules and no targetRefs: ztunnel cannot enforce L7 and denies all traffic to them; attach them to the namespace's waypoint (targetRefs Gateway waypoint) or delete them",
        listed(&found)
    ))
}

#[cfg(test)]
mod tests {
    use crate::cluster::{AuthorizationPolicyInfo, NamespaceInfo, Owner, WorkloadKind};
    use crate::verify::Verdict;
    use crate::verify::fixtures::{Fixture, named, pod, policy};

    fn sidecar(
        namespace: &str,
        name: &str,
        owner: Option<(&str, &str)>,
    ) -> crate::cluster::PodInfo {
        let mut p = pod(namespace, name, owner);
        p.sidecar = true;
        p
    }

    #[test]
    fn mesh_application_without_labels_fails() {
        let fx = Fixture::migrated().cluster(|k| {
            let sts = k.stateful_sets.as_mut().expect("listed");
            named(sts, "kfp-api", |w| &w.name)
                .template_labels
                .remove("istio.io/dataplane-mode");
        });

        fx.assert_fails(
            &fx.verdict("mesh-applications-enrolled"),
            &["kfp-api: StatefulSet kubeflow/kfp-api pod template lacks istio.io/dataplane-mode=ambient"],
        );
    }

    #[test]
    fn mesh_application_pod_not_redirected_fails() {
        let fx = Fixture::migrated().cluster(|k| {
            let pods = k.pods.as_mut().expect("listed");
            named(pods, "dex-auth-0", |p| &p.name).ambient_redirected = false;
        });

        fx.assert_fails(
            &fx.verdict("mesh-applications-enrolled"),
            &["pod dex-auth-0 not enrolled by istio-cni"],
        );
    }

    #[test]
    fn sidecar_mode_profile_fails_naming_it() {
        let fx = Fixture::migrated().cluster(|k| {
            let ns = k.namespaces.as_mut().expect("listed");
            named(ns, "bob", |n| &n.name).labels =
                [("istio-injection".to_string(), "enabled".to_string())].into();
        });

        fx.assert_fails(
            &fx.verdict("profile-namespaces-ambient"),
            &[
                "1 of 2 profile namespaces",
                "bob (istio-injection=enabled, no istio.io/dataplane-mode=ambient",
            ],
        );
    }

    #[test]
    fn profile_without_waypoint_fails() {
        let fx = Fixture::migrated().cluster(|k| {
            k.gateways
                .as_mut()
                .expect("listed")
                .retain(|g| !(g.namespace == "alice" && g.name == "waypoint"));
        });

        fx.assert_fails(
            &fx.verdict("profile-waypoints-ready"),
            &["alice (no Gateway waypoint)"],
        );
    }

    #[test]
    fn owner_policy_not_on_the_waypoint_fails() {
        let fx = Fixture::migrated().cluster(|k| {
            let policies = k.authorization_policies.as_mut().expect("listed");
            policies
                .iter_mut()
                .find(|p| p.namespace == "bob" && p.name == "ns-owner-access-istio")
                .expect("present")
                .target_refs
                .clear();
        });

        fx.assert_fails(
            &fx.verdict("profile-waypoints-ready"),
            &["bob (AuthorizationPolicy ns-owner-access-istio not attached to Gateway/waypoint)"],
        );
    }

    #[test]
    fn notebook_sidecar_is_named_by_its_notebook() {
        let fx = Fixture::migrated().cluster(|k| {
            k.pods.as_mut().expect("listed").push(sidecar(
                "alice",
                "nb-0",
                Some(("StatefulSet", "nb")),
            ));
            k.workload_owners = Ok([(
                (
                    WorkloadKind::StatefulSet,
                    "alice".to_string(),
                    "nb".to_string(),
                ),
                Some(Owner {
                    kind: "Notebook".into(),
                    name: "nb".into(),
                }),
            )]
            .into());
        });

        fx.assert_fails(
            &fx.verdict("no-sidecars"),
            &[
                "1 pod in 1 workload",
                "Notebook alice/nb (StatefulSet nb: nb-0)",
                "restart it (`kubectl -n alice rollout restart statefulset nb`)",
                "or run `ckf-migrator migrate-to-ambient --restart-workloads`",
            ],
        );
    }

    #[test]
    fn deployment_sidecars_are_grouped_by_deployment() {
        let fx = Fixture::migrated().cluster(|k| {
            let pods = k.pods.as_mut().expect("listed");
            for name in [
                "ml-pipeline-ui-artifact-5d9c8-a",
                "ml-pipeline-ui-artifact-5d9c8-b",
            ] {
                let mut p = sidecar(
                    "bob",
                    name,
                    Some(("ReplicaSet", "ml-pipeline-ui-artifact-5d9c8")),
                );
                p.labels.insert("pod-template-hash".into(), "5d9c8".into());
                pods.push(p);
            }
        });

        fx.assert_fails(
            &fx.verdict("no-sidecars"),
            &["2 pods in 1 workload", "Deployment bob/ml-pipeline-ui-artifact (ml-pipeline-ui-artifact-5d9c8-a, ml-pipeline-ui-artifact-5d9c8-b)"],
        );
    }

    #[test]
    fn inference_service_sidecar_is_named_by_its_inference_service() {
        let fx = Fixture::migrated().cluster(|k| {
            let mut p = sidecar(
                "alice",
                "iris-predictor-7f-x",
                Some(("ReplicaSet", "iris-predictor-7f")),
            );
            p.labels.insert("pod-template-hash".into(), "7f".into());
            k.pods.as_mut().expect("listed").push(p);
            k.workload_owners = Ok([(
                (
                    WorkloadKind::Deployment,
                    "alice".to_string(),
                    "iris-predictor".to_string(),
                ),
                Some(Owner {
                    kind: "InferenceService".into(),
                    name: "iris".into(),
                }),
            )]
            .into());
        });

        fx.assert_fails(
            &fx.verdict("no-sidecars"),
            &["InferenceService alice/iris (Deployment iris-predictor: iris-predictor-7f-x)"],
        );
    }

    #[test]
    fn sidecars_outside_profiles_and_model_are_not_judged_here() {
        let fx = Fixture::migrated().cluster(|k| {
            k.pods
                .as_mut()
                .expect("listed")
                .push(sidecar("default", "legacy-app-0", None));
        });

        assert_eq!(fx.verdict("no-sidecars"), Some(Verdict::Pass));
    }

    #[test]
    fn other_injected_namespace_warns() {
        let fx = Fixture::migrated().cluster(|k| {
            let ns = k.namespaces.as_mut().expect("listed");
            ns.push(NamespaceInfo {
                name: "team-x".into(),
                labels: [("istio-injection".to_string(), "enabled".to_string())].into(),
                phase: "Active".into(),
            });
        });

        fx.assert_warns(
            &fx.verdict("no-other-namespaces-injected"),
            &["team-x (istio-injection=enabled)"],
        );
    }

    #[test]
    fn l7_selector_policy_in_a_profile_warns() {
        let fx = Fixture::migrated().cluster(|k| {
            k.authorization_policies
                .as_mut()
                .expect("listed")
                .push(AuthorizationPolicyInfo {
                    has_selector: true,
                    l7: true,
                    ..policy("alice", "allow-get-only")
                });
        });

        fx.assert_warns(
            &fx.verdict("no-l7-selector-policies"),
            &["alice/allow-get-only", "denies all traffic"],
        );
    }
}
