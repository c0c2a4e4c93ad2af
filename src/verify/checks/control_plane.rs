//! The Istio Ambient control plane in the model namespace, Cilium on Canonical Kubernetes, CRDs,
//! webhooks and the sidecar era's leftovers (ckf-ambient.md §5 checks 6–11).

use std::collections::BTreeSet;

use crate::cluster::{ISTIO_K8S_MANAGED_LABEL, WorkloadInfo};

use super::{Check, Ctx, Judged, Substrate, counted, fail, listed, need, pass, read, warn};

fn find<'a>(workloads: &'a [WorkloadInfo], name: &str) -> Option<&'a WorkloadInfo> {
    workloads.iter().find(|w| w.name == name)
}

/// An env value and whether it is `"true"`, for messages.
fn env_true(w: &WorkloadInfo, var: &str) -> Result<(), String> {
    match w.env.get(var).map(String::as_str) {
        Some("true") => Ok(()),
        Some(other) => Err(format!("{var}={other:?}")),
        None => Err(format!("no {var}")),
    }
}

/// istiod runs, ready, with ambient enabled.
pub(crate) const ISTIOD_READY: Check = Check {
    name: "istiod-ready",
    group: "control-plane",
    judge: istiod_ready,
};

fn istiod_ready(c: &Ctx) -> Judged {
    let ns = c.ns();
    let Some(istiod) = find(need!(read(&c.snap.cluster.deployments)), "istiod") else {
        return fail(format!(
            "Deployment {ns}/istiod does not exist: istio-k8s has not installed the control plane; see `juju debug-log --include istio-k8s`"
        ));
    };
    if let Err(env) = env_true(istiod, "PILOT_ENABLE_AMBIENT") {
        return fail(format!(
            "Deployment {ns}/istiod has {env} instead of PILOT_ENABLE_AMBIENT=\"true\": it is not an ambient control plane (a sidecar-era istiod left by istio-pilot?); remove it and let istio-k8s install its own"
        ));
    }
    if !istiod.fully_ready() {
        return fail(format!(
            "Deployment {ns}/istiod is not ready ({}): see `kubectl -n {ns} describe deployment istiod`",
            istiod.counts()
        ));
    }
    pass()
}

fn daemon_set_ready(c: &Ctx, name: &str, env: Option<&str>) -> Judged {
    let ns = c.ns();
    let Some(ds) = find(need!(read(&c.snap.cluster.daemon_sets)), name) else {
        return fail(format!(
            "DaemonSet {ns}/{name} does not exist: istio-k8s has not installed the ambient data plane; see `juju debug-log --include istio-k8s` (platform config?)"
        ));
    };
    if let Some(var) = env
        && let Err(found) = env_true(ds, var)
    {
        return fail(format!(
            "DaemonSet {ns}/{name} has {found} instead of {var}=\"true\": it is not running in ambient mode"
        ));
    }
    if !ds.fully_ready() {
        return fail(format!(
            "DaemonSet {ns}/{name} is not fully ready ({}): see `kubectl -n {ns} describe daemonset {name}`; on a platform mismatch, check istio-k8s's platform config",
            ds.counts()
        ));
    }
    pass()
}

/// ztunnel runs on every node, updated and ready, with HBONE.
pub(crate) const ZTUNNEL_READY: Check = Check {
    name: "ztunnel-ready",
    group: "control-plane",
    judge: |c| daemon_set_ready(c, "ztunnel", Some("ISTIO_META_ENABLE_HBONE")),
};

/// istio-cni runs on every node, updated and ready.
pub(crate) const ISTIO_CNI_READY: Check = Check {
    name: "istio-cni-ready",
    group: "control-plane",
    judge: |c| daemon_set_ready(c, "istio-cni-node", None),
};

/// istio-cni's configuration enables ambient.
pub(crate) const ISTIO_CNI_AMBIENT: Check = Check {
    name: "istio-cni-ambient",
    group: "control-plane",
    judge: istio_cni_ambient,
};

fn istio_cni_ambient(c: &Ctx) -> Judged {
    let ns = c.ns();
    let Some(data) = need!(read(&c.snap.cluster.config_maps)).get("istio-cni-config") else {
        return fail(format!(
            "ConfigMap {ns}/istio-cni-config does not exist: istio-k8s has not installed istio-cni"
        ));
    };
    match data.get("AMBIENT_ENABLED").map(String::as_str) {
        Some("true") => pass(),
        other => fail(format!(
            "ConfigMap {ns}/istio-cni-config has AMBIENT_ENABLED={:?}, not \"true\": istio-cni does not redirect pods to ztunnel; check which control plane installed it",
            other.unwrap_or("")
        )),
    }
}

fn on_canonical_k8s(c: &Ctx) -> Result<bool, crate::verify::Verdict> {
    Ok(c.substrate()? == Substrate::CanonicalK8s)
}

/// Cilium is configured for ambient (Canonical Kubernetes only).
pub(crate) const CILIUM_CONFIGURED: Check = Check {
    name: "cilium-configured",
    group: "control-plane",
    judge: cilium_configured,
};

fn cilium_configured(c: &Ctx) -> Judged {
    if !need!(on_canonical_k8s(c)) {
        return None;
    }
    let Some(data) = need!(read(&c.snap.cluster.cilium_config)) else {
        return fail(
            "ConfigMap kube-system/cilium-config does not exist on this Canonical Kubernetes cluster: check `sudo k8s status` and the network feature",
        );
    };
    let get = |k: &str| data.get(k).map(String::as_str).unwrap_or("");
    let mut wrong = Vec::new();
    if get("bpf-lb-sock-hostns-only") != "true" {
        wrong.push(format!(
            "bpf-lb-sock-hostns-only={:?} (needs \"true\")",
            get("bpf-lb-sock-hostns-only")
        ));
    }
    if get("cni-exclusive") != "false" {
        wrong.push(format!(
            "cni-exclusive={:?} (needs \"false\")",
            get("cni-exclusive")
        ));
    }
    if !wrong.is_empty() {
        return fail(format!(
            "ConfigMap kube-system/cilium-config has {}: a k8s-snap refresh can revert these; patch them back and `kubectl -n kube-system rollout restart daemonset cilium`, or re-run migrate-to-ambient",
            wrong.join(", ")
        ));
    }
    if get("enable-bpf-masquerade") == "true" {
        return warn(
            "ConfigMap kube-system/cilium-config has enable-bpf-masquerade=\"true\", which Istio ambient does not support (istio/istio#52902): consider disabling BPF masquerading",
        );
    }
    pass()
}

/// The Cilium DaemonSet is updated and ready (Canonical Kubernetes only).
pub(crate) const CILIUM_READY: Check = Check {
    name: "cilium-ready",
    group: "control-plane",
    judge: cilium_ready,
};

fn cilium_ready(c: &Ctx) -> Judged {
    if !need!(on_canonical_k8s(c)) {
        return None;
    }
    match need!(read(&c.snap.cluster.cilium)) {
        None => fail(
            "DaemonSet kube-system/cilium does not exist on this Canonical Kubernetes cluster: check `sudo k8s status`",
        ),
        Some(ds) if ds.fully_ready() => pass(),
        Some(ds) => fail(format!(
            "DaemonSet kube-system/cilium is not fully ready ({}): wait for its rollout (`kubectl -n kube-system rollout status daemonset cilium`)",
            ds.counts()
        )),
    }
}

/// CRDs ambient needs: Gateway API and Istio security.
const REQUIRED_CRDS: [&str; 4] = [
    "gatewayclasses.gateway.networking.k8s.io",
    "gateways.gateway.networking.k8s.io",
    "httproutes.gateway.networking.k8s.io",
    "authorizationpolicies.security.istio.io",
];

/// The Gateway API and Istio CRDs are installed.
pub(crate) const CRDS_INSTALLED: Check = Check {
    name: "crds-installed",
    group: "control-plane",
    judge: crds_installed,
};

fn crds_installed(c: &Ctx) -> Judged {
    let crds = need!(read(&c.snap.cluster.crds));
    let missing: Vec<&str> = REQUIRED_CRDS
        .into_iter()
        .filter(|crd| !crds.contains(*crd))
        .collect();
    if missing.is_empty() {
        return pass();
    }
    fail(format!(
        "CustomResourceDefinition {} missing: istio-k8s installs them (if istio-pilot was removed after istio-k8s was deployed, its purge deleted them: remove and redeploy istio-k8s)",
        listed(&missing)
    ))
}

/// Knative left nothing behind that still matters.
pub(crate) const KNATIVE_LEFTOVERS: Check = Check {
    name: "knative-leftovers",
    group: "control-plane",
    judge: knative_leftovers,
};

fn knative_leftovers(c: &Ctx) -> Judged {
    let namespaces = need!(c.namespaces());
    let crds = need!(read(&c.snap.cluster.crds));
    let mut stuck = Vec::new();
    let mut present = Vec::new();
    for name in ["knative-serving", "knative-eventing"] {
        match namespaces.get(name) {
            Some(ns) if ns.phase == "Terminating" => stuck.push(name),
            Some(_) => present.push(name),
            None => {}
        }
    }
    if !stuck.is_empty() {
        return fail(format!(
            "namespace {} stuck Terminating: find what holds it (`kubectl get namespace {} -o yaml`, objects with finalizers) and remove those finalizers",
            listed(&stuck),
            stuck[0]
        ));
    }
    let leftover: Vec<&String> = crds
        .iter()
        .filter(|c| c.ends_with(".knative.dev"))
        .collect();
    let mut notes = Vec::new();
    if !present.is_empty() {
        let (noun, verb) = if present.len() == 1 {
            ("namespace", "exists")
        } else {
            ("namespaces", "exist")
        };
        notes.push(format!("{noun} {} still {verb}", listed(&present)));
    }
    if !leftover.is_empty() {
        let names: Vec<&str> = leftover.iter().map(|s| s.as_str()).collect();
        notes.push(format!(
            "{} left by the Knative operator ({})",
            counted(names.len(), "*.knative.dev CRD", "*.knative.dev CRDs"),
            listed(&names)
        ));
    }
    if notes.is_empty() {
        return pass();
    }
    warn(format!(
        "{}: harmless to ambient, but KServe keeps creating Knative Services for Serverless InferenceServices while they exist; delete them once no Serverless InferenceService is left",
        notes.join("; ")
    ))
}

/// Every webhook calls a Service that exists.
pub(crate) const WEBHOOK_SERVICES_EXIST: Check = Check {
    name: "webhook-services-exist",
    group: "control-plane",
    judge: webhook_services_exist,
};

fn webhook_services_exist(c: &Ctx) -> Judged {
    let configs = need!(read(&c.snap.cluster.webhooks));
    let namespaces = need!(c.namespaces());
    let mut broken = Vec::new();
    let mut unknown = Vec::new();
    for config in configs {
        for hook in &config.webhooks {
            let Some((ns, svc)) = &hook.service else {
                continue;
            };
            let exists = if !namespaces.contains_key(ns.as_str()) {
                broken.push(format!(
                    "{} {} (webhook {}) calls Service {ns}/{svc}, whose namespace is gone",
                    config.kind, config.name, hook.name
                ));
                continue;
            } else if ns == c.ns() {
                need!(read(&c.snap.cluster.services))
                    .iter()
                    .any(|s| &s.name == svc)
            } else {
                match need!(read(&c.snap.cluster.webhook_services)).get(&(ns.clone(), svc.clone()))
                {
                    Some(found) => *found,
                    None => {
                        unknown.push(format!("{ns}/{svc}"));
                        continue;
                    }
                }
            };
            if !exists {
                broken.push(format!(
                    "{} {} (webhook {}) calls Service {ns}/{svc}, which does not exist",
                    config.kind, config.name, hook.name
                ));
            }
        }
    }
    if !broken.is_empty() {
        return fail(format!(
            "{}; such a webhook makes every matching API request fail: delete the configuration (`kubectl delete <kind> <name>`) if its component was removed",
            broken.join("; ")
        ));
    }
    if !unknown.is_empty() {
        return fail(format!(
            "Service {} called by a webhook was not looked up: re-run verify",
            listed(&unknown)
        ));
    }
    pass()
}

/// The sidecar era's objects are gone.
pub(crate) const LEGACY_OBJECTS_GONE: Check = Check {
    name: "legacy-objects-gone",
    group: "control-plane",
    judge: legacy_objects_gone,
};

fn legacy_objects_gone(c: &Ctx) -> Judged {
    let ns = c.ns();
    let cluster = &c.snap.cluster;
    let mut left = Vec::new();
    let deployments = need!(read(&cluster.deployments));
    if find(deployments, "istio-ingressgateway-workload").is_some() {
        left.push(format!("Deployment {ns}/istio-ingressgateway-workload"));
    }
    if let Some(istiod) = find(deployments, "istiod")
        && !istiod.labels.contains_key(ISTIO_K8S_MANAGED_LABEL)
    {
        left.push(format!(
            "Deployment {ns}/istiod not managed by istio-k8s (no {ISTIO_K8S_MANAGED_LABEL} label)"
        ));
    }
    if need!(read(&cluster.services))
        .iter()
        .any(|s| s.name == "istio-ingressgateway-workload")
    {
        left.push(format!("Service {ns}/istio-ingressgateway-workload"));
    }
    let injectors: BTreeSet<&str> = need!(read(&cluster.webhooks))
        .iter()
        .filter(|w| w.kind == "MutatingWebhookConfiguration" && !w.managed_by_istio_k8s())
        .filter(|w| {
            w.webhooks
                .iter()
                .any(|h| h.name.ends_with("sidecar-injector.istio.io"))
        })
        .map(|w| w.name.as_str())
        .collect();
    for name in injectors {
        left.push(format!(
            "MutatingWebhookConfiguration {name} (sidecar injector not managed by istio-k8s)"
        ));
    }
    let legacy = need!(read(&cluster.legacy));
    if legacy.kubeflow_gateway {
        left.push(format!("Gateway.networking.istio.io {ns}/kubeflow-gateway"));
    }
    if legacy.authn_filter {
        left.push(format!("EnvoyFilter {ns}/istio-pilot-authn-filter"));
    }
    if left.is_empty() {
        return pass();
    }
    fail(format!(
        "sidecar-era objects left: {}: istio-pilot's removal did not finish (see `juju debug-log --include istio-pilot`); delete them with kubectl",
        listed(&left)
    ))
}

#[cfg(test)]
mod tests {
    use crate::cluster::{NamespaceInfo, WebhookConfigInfo, WebhookInfo};
    use crate::verify::Verdict;
    use crate::verify::fixtures::{Fixture, MODEL, named, unreadable, workload};

    #[test]
    fn istiod_without_ambient_fails() {
        let fx = Fixture::migrated().cluster(|k| {
            let d = k.deployments.as_mut().expect("listed");
            named(d, "istiod", |w| &w.name).env.clear();
        });

        fx.assert_fails(
            &fx.verdict("istiod-ready"),
            &["Deployment kubeflow/istiod", "no PILOT_ENABLE_AMBIENT"],
        );
    }

    #[test]
    fn istiod_not_ready_fails_with_counts() {
        let fx = Fixture::migrated().cluster(|k| {
            let d = k.deployments.as_mut().expect("listed");
            named(d, "istiod", |w| &w.name).ready = 0;
        });

        fx.assert_fails(
            &fx.verdict("istiod-ready"),
            &["kubeflow/istiod is not ready (0/1 ready"],
        );
    }

    #[test]
    fn ztunnel_not_ready_fails() {
        let fx = Fixture::migrated().cluster(|k| {
            let ds = k.daemon_sets.as_mut().expect("listed");
            let z = named(ds, "ztunnel", |w| &w.name);
            z.desired = 3;
            z.ready = 2;
            z.updated = 3;
        });

        fx.assert_fails(
            &fx.verdict("ztunnel-ready"),
            &["DaemonSet kubeflow/ztunnel is not fully ready (2/3 ready, 3/3 updated)"],
        );
    }

    #[test]
    fn ztunnel_without_hbone_fails() {
        let fx = Fixture::migrated().cluster(|k| {
            let ds = k.daemon_sets.as_mut().expect("listed");
            named(ds, "ztunnel", |w| &w.name)
                .env
                .insert("ISTIO_META_ENABLE_HBONE".into(), "false".into());
        });

        fx.assert_fails(
            &fx.verdict("ztunnel-ready"),
            &["ISTIO_META_ENABLE_HBONE=\"false\""],
        );
    }

    #[test]
    fn missing_istio_cni_fails() {
        let fx = Fixture::migrated().cluster(|k| {
            k.daemon_sets
                .as_mut()
                .expect("listed")
                .retain(|w| w.name != "istio-cni-node");
        });

        fx.assert_fails(
            &fx.verdict("istio-cni-ready"),
            &["DaemonSet kubeflow/istio-cni-node does not exist"],
        );
    }

    #[test]
    fn istio_cni_config_without_ambient_fails() {
        let fx = Fixture::migrated().cluster(|k| {
            let cms = k.config_maps.as_mut().expect("listed");
            cms.get_mut("istio-cni-config")
                .expect("present")
                .remove("AMBIENT_ENABLED");
        });

        fx.assert_fails(
            &fx.verdict("istio-cni-ambient"),
            &["ConfigMap kubeflow/istio-cni-config has AMBIENT_ENABLED=\"\""],
        );
    }

    #[test]
    fn cilium_checks_do_not_apply_on_microk8s() {
        let fx = Fixture::migrated();

        assert_eq!(fx.verdict("cilium-configured"), None);
        assert_eq!(fx.verdict("cilium-ready"), None);
    }

    #[test]
    fn cilium_config_reverted_on_canonical_k8s_fails() {
        let fx = Fixture::migrated().on_canonical_k8s().cluster(|k| {
            let data = k
                .cilium_config
                .as_mut()
                .expect("read")
                .as_mut()
                .expect("present");
            data.insert("bpf-lb-sock-hostns-only".into(), "false".into());
        });

        fx.assert_fails(
            &fx.verdict("cilium-configured"),
            &[
                "kube-system/cilium-config",
                "bpf-lb-sock-hostns-only=\"false\"",
                "rollout restart daemonset cilium",
            ],
        );
    }

    #[test]
    fn cilium_configured_as_the_guide_says_passes_on_canonical_k8s() {
        let fx = Fixture::migrated().on_canonical_k8s();

        assert_eq!(fx.verdict("cilium-configured"), Some(Verdict::Pass));
        assert_eq!(fx.verdict("cilium-ready"), Some(Verdict::Pass));
    }

    #[test]
    fn bpf_masquerade_warns() {
        let fx = Fixture::migrated().on_canonical_k8s().cluster(|k| {
            let data = k
                .cilium_config
                .as_mut()
                .expect("read")
                .as_mut()
                .expect("present");
            data.insert("enable-bpf-masquerade".into(), "true".into());
        });

        fx.assert_warns(&fx.verdict("cilium-configured"), &["enable-bpf-masquerade"]);
    }

    #[test]
    fn cilium_rolling_out_fails_cilium_ready() {
        let fx = Fixture::migrated().on_canonical_k8s().cluster(|k| {
            let ds = k.cilium.as_mut().expect("read").as_mut().expect("present");
            ds.updated = 1;
        });

        fx.assert_fails(
            &fx.verdict("cilium-ready"),
            &["DaemonSet kube-system/cilium", "1/3 updated"],
        );
    }

    #[test]
    fn missing_gateway_api_crd_fails() {
        let fx = Fixture::migrated().cluster(|k| {
            k.crds
                .as_mut()
                .expect("listed")
                .remove("httproutes.gateway.networking.k8s.io");
        });

        fx.assert_fails(
            &fx.verdict("crds-installed"),
            &["httproutes.gateway.networking.k8s.io missing"],
        );
    }

    #[test]
    fn knative_crds_left_behind_warn() {
        let fx = Fixture::migrated().cluster(|k| {
            k.crds
                .as_mut()
                .expect("listed")
                .insert("services.serving.knative.dev".into());
        });

        fx.assert_warns(
            &fx.verdict("knative-leftovers"),
            &["services.serving.knative.dev"],
        );
    }

    #[test]
    fn knative_namespace_stuck_terminating_fails() {
        let fx = Fixture::migrated().cluster(|k| {
            k.namespaces.as_mut().expect("listed").push(NamespaceInfo {
                name: "knative-serving".into(),
                labels: Default::default(),
                phase: "Terminating".into(),
            });
        });

        fx.assert_fails(
            &fx.verdict("knative-leftovers"),
            &["namespace knative-serving stuck Terminating"],
        );
    }

    fn knative_webhook(namespace: &str) -> WebhookConfigInfo {
        WebhookConfigInfo {
            kind: "ValidatingWebhookConfiguration".into(),
            name: "validation.webhook.serving.knative.dev".into(),
            labels: Default::default(),
            webhooks: vec![WebhookInfo {
                name: "validation.webhook.serving.knative.dev".into(),
                service: Some((namespace.into(), "webhook".into())),
            }],
        }
    }

    #[test]
    fn webhook_into_a_deleted_namespace_fails() {
        let fx = Fixture::migrated().cluster(|k| {
            k.webhooks
                .as_mut()
                .expect("listed")
                .push(knative_webhook("knative-serving"));
        });

        fx.assert_fails(
            &fx.verdict("webhook-services-exist"),
            &[
                "ValidatingWebhookConfiguration validation.webhook.serving.knative.dev",
                "knative-serving/webhook, whose namespace is gone",
            ],
        );
    }

    #[test]
    fn webhook_to_a_deleted_service_fails() {
        let fx = Fixture::migrated().cluster(|k| {
            k.services
                .as_mut()
                .expect("listed")
                .retain(|s| s.name != "kserve-webhook-server-service");
        });

        fx.assert_fails(
            &fx.verdict("webhook-services-exist"),
            &["Service kubeflow/kserve-webhook-server-service, which does not exist"],
        );
    }

    #[test]
    fn webhook_to_a_deleted_service_elsewhere_fails() {
        let fx = Fixture::migrated().cluster(|k| {
            k.namespaces.as_mut().expect("listed").push(NamespaceInfo {
                name: "knative-serving".into(),
                labels: Default::default(),
                phase: "Active".into(),
            });
            k.webhooks
                .as_mut()
                .expect("listed")
                .push(knative_webhook("knative-serving"));
            k.webhook_services = Ok([(("knative-serving".into(), "webhook".into()), false)].into());
        });

        fx.assert_fails(
            &fx.verdict("webhook-services-exist"),
            &["knative-serving/webhook, which does not exist"],
        );
    }

    #[test]
    fn legacy_ingress_gateway_and_unmanaged_istiod_fail() {
        let fx = Fixture::migrated().cluster(|k| {
            let d = k.deployments.as_mut().expect("listed");
            named(d, "istiod", |w| &w.name).labels.clear();
            d.push(workload("istio-ingressgateway-workload", MODEL, 1));
            k.legacy.as_mut().expect("read").kubeflow_gateway = true;
        });

        fx.assert_fails(
            &fx.verdict("legacy-objects-gone"),
            &[
                "Deployment kubeflow/istio-ingressgateway-workload",
                "Deployment kubeflow/istiod not managed by istio-k8s",
                "Gateway.networking.istio.io kubeflow/kubeflow-gateway",
            ],
        );
    }

    #[test]
    fn unreadable_daemon_sets_fail_only_their_checks() {
        let fx = Fixture::migrated()
            .cluster(|k| k.daemon_sets = Err(unreadable("daemonsets.apps in kubeflow")));

        fx.assert_fails(
            &fx.verdict("ztunnel-ready"),
            &["cannot read daemonsets.apps in kubeflow", "juju trust"],
        );
        fx.assert_fails(
            &fx.verdict("istio-cni-ready"),
            &["cannot read daemonsets.apps in kubeflow"],
        );
        assert_eq!(fx.verdict("istiod-ready"), Some(Verdict::Pass));
    }
}
