//! What the cluster looks like for a given state of the Juju model: the objects each charm creates,
//! as the real charms do (shared/reference/ckf-ambient.md §1–§3, names from §5).
//!
//! Pure: a function from the model's state to the list of objects. The sync loop makes the store
//! match it, so the twin is level-triggered, like the controllers it imitates.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

/// Label on every object the coupling manages: the sync deletes such objects once they are no
/// longer desired, and leaves every other object alone.
pub const MANAGED_BY: &str = "ckf-sim.canonical.com/managed-by";
/// Label istio-k8s's resource handler puts on the control plane it manages.
const HANDLER_SCOPE: &str = "kubernetes-resource-handler-scope";

/// The Juju model, as far as the coupling cares.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelView {
    /// Model name = namespace.
    pub namespace: String,
    /// Applications by name.
    pub apps: BTreeMap<String, AppState>,
    /// Relations as sorted pairs of `app:endpoint`.
    pub relations: BTreeSet<(String, String)>,
}

/// An application, as far as the coupling cares.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AppState {
    /// Charm name.
    pub charm: String,
    /// Its units have settled (active and idle, or any settled status): its workload is running.
    pub settled: bool,
    /// Charm config in effect (values as strings).
    pub config: BTreeMap<String, String>,
    /// Units.
    pub scale: i64,
}

/// What the cluster is, beyond Juju.
#[derive(Debug, Clone, PartialEq)]
pub struct Environment {
    /// Kubeflow profiles (= user namespaces).
    pub profiles: Vec<String>,
    /// Address the ingress LoadBalancer publishes (loopback).
    pub ingress_ip: String,
    /// Port of the ingress HTTP listener on that address.
    pub ingress_port: u16,
    /// Address of the old ingress gateway's LoadBalancer (loopback).
    pub legacy_ingress_ip: String,
}

impl ModelView {
    /// Applications running `charm`.
    fn by_charm<'a>(
        &'a self,
        charm: &'a str,
    ) -> impl Iterator<Item = (&'a String, &'a AppState)> + 'a {
        self.apps.iter().filter(move |(_, a)| a.charm == charm)
    }

    /// The first application running `charm`.
    fn app_of<'a>(&'a self, charm: &'a str) -> Option<(&'a String, &'a AppState)> {
        self.by_charm(charm).next()
    }

    /// Whether an application of `charm` exists and has settled.
    fn running<'a>(&'a self, charm: &'a str) -> Option<&'a String> {
        self.by_charm(charm)
            .find(|(_, a)| a.settled)
            .map(|(n, _)| n)
    }

    /// Applications related through their endpoint `endpoint` to an application of `charm`.
    fn related_to(&self, endpoint: &str, charm: &str) -> Vec<String> {
        let targets: BTreeSet<&String> = self.by_charm(charm).map(|(n, _)| n).collect();
        let mut out = Vec::new();
        for (a, b) in &self.relations {
            for (mine, theirs) in [(a, b), (b, a)] {
                let (Some((app, ep)), Some((other, _))) =
                    (mine.split_once(':'), theirs.split_once(':'))
                else {
                    continue;
                };
                if ep == endpoint && targets.contains(&other.to_string()) {
                    out.push(app.to_string());
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }
}

fn meta(name: &str, namespace: Option<&str>, component: &str, labels: Value) -> Value {
    let mut labels = labels;
    labels[MANAGED_BY] = json!(component);
    let mut m = json!({ "name": name, "labels": labels });
    if let Some(ns) = namespace {
        m["namespace"] = json!(ns);
    }
    m
}

fn deployment(ns: &str, name: &str, component: &str, labels: Value, env: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": meta(name, Some(ns), component, labels),
        "spec": {
            "replicas": 1,
            "selector": { "matchLabels": { "app": name } },
            "template": {
                "metadata": { "labels": { "app": name } },
                "spec": { "containers": [{ "name": "main", "image": format!("sim/{name}"), "env": env }] }
            }
        }
    })
}

fn daemon_set(ns: &str, name: &str, component: &str, labels: Value, env: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": meta(name, Some(ns), component, labels),
        "spec": {
            "selector": { "matchLabels": { "app": name } },
            "template": {
                "metadata": { "labels": { "app": name } },
                "spec": { "containers": [{ "name": "main", "image": format!("sim/{name}"), "env": env }] }
            }
        }
    })
}

fn service(ns: &str, name: &str, component: &str, labels: Value, spec: Value) -> Value {
    json!({ "apiVersion": "v1", "kind": "Service", "metadata": meta(name, Some(ns), component, labels), "spec": spec })
}

fn config_map(ns: &str, name: &str, component: &str, labels: Value, data: Value) -> Value {
    json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(name, Some(ns), component, labels), "data": data })
}

fn conditions(types: &[&str]) -> Value {
    Value::Array(
        types
            .iter()
            .map(|t| json!({ "type": t, "status": "True", "reason": t, "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z" }))
            .collect(),
    )
}

fn authorization_policy(ns: &str, name: &str, component: &str, spec: Value) -> Value {
    json!({
        "apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
        "metadata": meta(name, Some(ns), component, json!({})), "spec": spec
    })
}

fn env_vars(pairs: &[(&str, &str)]) -> Value {
    Value::Array(
        pairs
            .iter()
            .map(|(k, v)| json!({ "name": k, "value": v }))
            .collect(),
    )
}

/// CRDs: (group, versions, kind, plural, namespaced).
pub const ISTIO_CRDS: &[(&str, &[&str], &str, &str, bool)] = &[
    (
        "security.istio.io",
        &["v1", "v1beta1"],
        "AuthorizationPolicy",
        "authorizationpolicies",
        true,
    ),
    (
        "security.istio.io",
        &["v1", "v1beta1"],
        "PeerAuthentication",
        "peerauthentications",
        true,
    ),
    (
        "networking.istio.io",
        &["v1", "v1alpha3"],
        "Gateway",
        "gateways",
        true,
    ),
    (
        "networking.istio.io",
        &["v1", "v1alpha3"],
        "VirtualService",
        "virtualservices",
        true,
    ),
    (
        "networking.istio.io",
        &["v1", "v1alpha3"],
        "DestinationRule",
        "destinationrules",
        true,
    ),
    (
        "networking.istio.io",
        &["v1alpha3"],
        "EnvoyFilter",
        "envoyfilters",
        true,
    ),
];

/// Gateway API CRDs istio-k8s installs (v1.2.0, standard channel).
pub const GATEWAY_API_CRDS: &[(&str, &[&str], &str, &str, bool)] = &[
    (
        "gateway.networking.k8s.io",
        &["v1"],
        "GatewayClass",
        "gatewayclasses",
        false,
    ),
    (
        "gateway.networking.k8s.io",
        &["v1"],
        "Gateway",
        "gateways",
        true,
    ),
    (
        "gateway.networking.k8s.io",
        &["v1"],
        "HTTPRoute",
        "httproutes",
        true,
    ),
    (
        "gateway.networking.k8s.io",
        &["v1"],
        "GRPCRoute",
        "grpcroutes",
        true,
    ),
    (
        "gateway.networking.k8s.io",
        &["v1beta1"],
        "ReferenceGrant",
        "referencegrants",
        true,
    ),
];

/// Path prefix each UI is served at through the ingress.
fn route_prefix(app: &str) -> &'static str {
    match app {
        "kubeflow-dashboard" => "/",
        "dex-auth" => "/dex/",
        "oidc-gatekeeper" => "/authservice/",
        "jupyter-ui" => "/jupyter/",
        "katib-ui" => "/katib/",
        "kfp-ui" => "/pipeline/",
        "kubeflow-volumes" => "/volumes/",
        "tensorboards-web-app" => "/tensorboards/",
        "envoy" => "/ml_metadata",
        _ => "/",
    }
}

/// The Knative operator's own CRDs: its remove hook deletes its manifests, these included
/// (ckf-ambient.md §3.2).
pub const KNATIVE_OPERATOR_CRDS: &[(&str, &[&str], &str, &str, bool)] = &[
    (
        "operator.knative.dev",
        &["v1beta1"],
        "KnativeServing",
        "knativeservings",
        true,
    ),
    (
        "operator.knative.dev",
        &["v1beta1"],
        "KnativeEventing",
        "knativeeventings",
        true,
    ),
];

/// A CRD the coupling needs, in the shape the store's CRD helper builds.
#[derive(Debug, Clone, PartialEq)]
pub struct CrdSpec {
    /// API group.
    pub group: &'static str,
    /// Served versions (the first is the storage version).
    pub versions: &'static [&'static str],
    /// Kind.
    pub kind: &'static str,
    /// Plural.
    pub plural: &'static str,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
}

/// The CRDs that should exist for this model state.
pub fn desired_crds(model: &ModelView) -> Vec<CrdSpec> {
    let spec = |c: &(
        &'static str,
        &'static [&'static str],
        &'static str,
        &'static str,
        bool,
    )| CrdSpec {
        group: c.0,
        versions: c.1,
        kind: c.2,
        plural: c.3,
        namespaced: c.4,
    };
    let mut out = Vec::new();
    // istio-pilot installed the Istio CRDs; its removal purges them. istio-k8s installs them anew,
    // with the Gateway API CRDs.
    if model.app_of("istio-pilot").is_some() || model.running("istio-k8s").is_some() {
        out.extend(ISTIO_CRDS.iter().map(spec));
    }
    if model.running("istio-k8s").is_some() {
        out.extend(GATEWAY_API_CRDS.iter().map(spec));
    }
    if model.app_of("knative-operator").is_some() {
        out.extend(KNATIVE_OPERATOR_CRDS.iter().map(spec));
    }
    out
}

/// Every object the coupling manages for this model state (CRDs aside, see [`desired_crds`]).
pub fn desired(model: &ModelView, env: &Environment) -> Vec<Value> {
    let ns = model.namespace.as_str();
    let mut out = Vec::new();
    let mesh_labels = |waypoint: &str| {
        json!({
            "istio.io/dataplane-mode": "ambient",
            "istio.io/use-waypoint": waypoint,
            "istio.io/use-waypoint-namespace": ns,
        })
    };
    let beacon = model.running("istio-beacon-k8s").cloned();
    let istio = model.running("istio-k8s").cloned();
    let waypoint = beacon.as_ref().map(|b| format!("{ns}-{b}-waypoint"));
    let meshed: BTreeSet<String> = if istio.is_some() && beacon.is_some() {
        model
            .related_to("service-mesh", "istio-beacon-k8s")
            .into_iter()
            .collect()
    } else {
        BTreeSet::new()
    };

    // Every charm runs in a StatefulSet named after its application, with a Service.
    for (name, app) in &model.apps {
        let mut pod_labels = json!({ "app.kubernetes.io/name": name });
        if let (true, Some(w)) = (meshed.contains(name), &waypoint) {
            for (k, v) in mesh_labels(w).as_object().into_iter().flatten() {
                pod_labels[k] = v.clone();
            }
        }
        out.push(json!({
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": meta(name, Some(ns), "juju", json!({ "app.kubernetes.io/managed-by": "juju", "app.kubernetes.io/name": name })),
            "spec": {
                "replicas": app.scale.max(0),
                "serviceName": format!("{name}-endpoints"),
                "selector": { "matchLabels": { "app.kubernetes.io/name": name } },
                "template": {
                    "metadata": { "labels": pod_labels },
                    "spec": {
                        "serviceAccountName": name,
                        "initContainers": [{ "name": "charm-init", "image": "sim/jujud" }],
                        "containers": [{ "name": "charm", "image": "sim/charm-base:ubuntu-24.04" }]
                    }
                }
            }
        }));
        let svc_labels = if meshed.contains(name) {
            mesh_labels(waypoint.as_deref().unwrap_or_default())
        } else {
            json!({})
        };
        out.push(service(ns, name, "juju", svc_labels, json!({ "selector": { "app.kubernetes.io/name": name }, "ports": [{ "name": "placeholder", "port": 65535 }] })));
        if meshed.contains(name) {
            let labels = mesh_labels(waypoint.as_deref().unwrap_or_default()).to_string();
            out.push(config_map(
                ns,
                &format!("juju-service-mesh-{name}-labels"),
                "istio-beacon-k8s",
                json!({}),
                json!({ "labels": labels }),
            ));
        }
    }

    // The sidecar-era control plane, installed by istio-pilot with `istioctl install` in the model
    // namespace; gone with it (its remove hook runs `istioctl uninstall --purge`).
    if model.app_of("istio-pilot").is_some() {
        let labels = json!({ "app": "istiod", "istio.io/rev": "default", "operator.istio.io/component": "Pilot" });
        out.push(deployment(
            ns,
            "istiod",
            "istio-pilot",
            labels.clone(),
            env_vars(&[("PILOT_ENABLE_AMBIENT", "false")]),
        ));
        out.push(service(ns, "istiod", "istio-pilot", labels, json!({ "selector": { "app": "istiod" }, "ports": [{ "name": "https-webhook", "port": 443 }] })));
        out.push(json!({
            "apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
            "metadata": meta("istio-sidecar-injector", None, "istio-pilot", json!({ "app": "sidecar-injector" })),
            "webhooks": [{
                "name": "sidecar-injector.istio.io",
                "clientConfig": { "service": { "name": "istiod", "namespace": ns, "path": "/inject", "port": 443 } },
                "namespaceSelector": { "matchLabels": { "istio-injection": "enabled" } },
                "admissionReviewVersions": ["v1"], "sideEffects": "None", "failurePolicy": "Fail"
            }]
        }));
        out.push(json!({
            "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
            "metadata": meta(&format!("istio-validator-{ns}"), None, "istio-pilot", json!({ "app": "istiod" })),
            "webhooks": [{
                "name": "rev.validation.istio.io",
                "clientConfig": { "service": { "name": "istiod", "namespace": ns, "path": "/validate", "port": 443 } },
                "admissionReviewVersions": ["v1"], "sideEffects": "None", "failurePolicy": "Ignore"
            }]
        }));
        out.push(json!({
            "apiVersion": "networking.istio.io/v1", "kind": "Gateway",
            "metadata": meta("kubeflow-gateway", Some(ns), "istio-pilot", json!({})),
            "spec": { "selector": { "istio": "ingressgateway" }, "servers": [{ "hosts": ["*"], "port": { "name": "http", "number": 80, "protocol": "HTTP" } }] }
        }));
        out.push(json!({
            "apiVersion": "networking.istio.io/v1alpha3", "kind": "EnvoyFilter",
            "metadata": meta("istio-pilot-authn-filter", Some(ns), "istio-pilot", json!({})),
            "spec": { "workloadSelector": { "labels": { "istio": "ingressgateway" } } }
        }));
    }
    if let Some((name, _)) = model.app_of("istio-gateway") {
        let workload = format!("{name}-workload");
        out.push(deployment(
            ns,
            &workload,
            "istio-gateway",
            json!({ "istio": "ingressgateway" }),
            json!([]),
        ));
        out.push(json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": meta(&workload, Some(ns), "istio-gateway", json!({ "istio": "ingressgateway" })),
            "spec": { "type": "LoadBalancer", "selector": { "app": workload }, "ports": [{ "name": "http2", "port": 80 }] },
            "status": { "loadBalancer": { "ingress": [{ "ip": env.legacy_ingress_ip }] } }
        }));
    }

    // Knative: each charm owns its namespace and deletes it on removal.
    if model.app_of("knative-serving").is_some() {
        out.push(json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": meta("knative-serving", None, "knative-serving", json!({})) }));
        out.push(deployment(
            "knative-serving",
            "webhook",
            "knative-serving",
            json!({ "app": "webhook" }),
            json!([]),
        ));
        out.push(service(
            "knative-serving",
            "webhook",
            "knative-serving",
            json!({}),
            json!({ "selector": { "app": "webhook" }, "ports": [{ "port": 443 }] }),
        ));
        out.push(json!({
            "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
            "metadata": meta("validation.webhook.serving.knative.dev", None, "knative-serving", json!({})),
            "webhooks": [{
                "name": "validation.webhook.serving.knative.dev",
                "clientConfig": { "service": { "name": "webhook", "namespace": "knative-serving", "port": 443 } },
                "admissionReviewVersions": ["v1"], "sideEffects": "None", "failurePolicy": "Fail"
            }]
        }));
    }
    if model.app_of("knative-eventing").is_some() {
        out.push(json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": meta("knative-eventing", None, "knative-eventing", json!({})) }));
        out.push(deployment(
            "knative-eventing",
            "eventing-controller",
            "knative-eventing",
            json!({}),
            json!([]),
        ));
    }

    // The ambient control plane of istio-k8s, in the model namespace.
    if istio.is_some() {
        let scope = |s: &str| json!({ HANDLER_SCOPE: s, "app.kubernetes.io/instance": format!("istio-k8s-{ns}") });
        out.push(deployment(
            ns,
            "istiod",
            "istio-k8s",
            scope("control-plane"),
            env_vars(&[("PILOT_ENABLE_AMBIENT", "true")]),
        ));
        out.push(service(ns, "istiod", "istio-k8s", scope("control-plane"), json!({ "selector": { "app": "istiod" }, "ports": [{ "name": "https-webhook", "port": 443 }] })));
        out.push(daemon_set(
            ns,
            "ztunnel",
            "istio-k8s",
            scope("control-plane"),
            env_vars(&[("ISTIO_META_ENABLE_HBONE", "true")]),
        ));
        out.push(daemon_set(
            ns,
            "istio-cni-node",
            "istio-k8s",
            scope("control-plane"),
            json!([]),
        ));
        out.push(config_map(
            ns,
            "istio-cni-config",
            "istio-k8s",
            scope("control-plane"),
            json!({ "AMBIENT_ENABLED": "true", "AMBIENT_RECONCILE_POD_RULES_ON_STARTUP": "true" }),
        ));
        let ingresses: Vec<String> = model.related_to("istio-ingress-config", "istio-k8s");
        let providers: Vec<String> = ingresses
            .iter()
            .map(|i| format!("- name: ext_authz-{i}\n  envoyExtAuthzHttp:\n    service: {i}-istio.{ns}.svc.cluster.local\n    port: 80\n"))
            .collect();
        out.push(config_map(
            ns,
            "istio",
            "istio-k8s",
            scope("control-plane"),
            json!({ "mesh": format!("accessLogFile: /dev/stdout\nextensionProviders:\n{}", providers.join("")) }),
        ));
        // istio-k8s still renders the sidecar injector (ckf-ambient.md §1.1).
        out.push(json!({
            "apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
            "metadata": meta(&format!("istio-sidecar-injector-{ns}"), None, "istio-k8s", scope("control-plane")),
            "webhooks": [{
                "name": "sidecar-injector.istio.io",
                "clientConfig": { "service": { "name": "istiod", "namespace": ns, "path": "/inject", "port": 443 } },
                "namespaceSelector": { "matchLabels": { "istio-injection": "enabled" } },
                "admissionReviewVersions": ["v1"], "sideEffects": "None", "failurePolicy": "Fail"
            }]
        }));
        for class in ["istio", "istio-waypoint"] {
            out.push(json!({
                "apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass",
                "metadata": meta(class, None, "istio-k8s", json!({})),
                "spec": { "controllerName": "istio.io/gateway-controller" },
                "status": { "conditions": conditions(&["Accepted"]) }
            }));
        }
    }

    // istio-beacon-k8s: the model's waypoint.
    if let (Some(_), Some(w)) = (&istio, &waypoint) {
        out.push(json!({
            "apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
            "metadata": meta(w, Some(ns), "istio-beacon-k8s", json!({ "istio.io/waypoint-for": "service" })),
            "spec": { "gatewayClassName": "istio-waypoint", "listeners": [{ "name": "mesh", "port": 15008, "protocol": "HBONE" }] },
            "status": { "conditions": conditions(&["Accepted", "Programmed"]), "addresses": [{ "type": "Hostname", "value": format!("{w}.{ns}.svc.cluster.local") }] }
        }));
        out.push(deployment(
            ns,
            w,
            "istio-beacon-k8s",
            json!({ "gateway.istio.io/managed": "istio.io-mesh-controller" }),
            json!([]),
        ));
    }

    // istio-ingress-k8s: the Gateway, what Istio's gateway controller makes of it, the routes and
    // the policies.
    if let (Some(_), Some(ingress)) = (&istio, model.running("istio-ingress-k8s")) {
        let managed = format!("{ingress}-istio");
        out.push(json!({
            "apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
            "metadata": meta(ingress, Some(ns), "istio-ingress-k8s", json!({})),
            "spec": { "gatewayClassName": "istio", "listeners": [{ "name": "http-80", "port": 80, "protocol": "HTTP", "allowedRoutes": { "namespaces": { "from": "All" } } }] },
            "status": { "conditions": conditions(&["Accepted", "Programmed"]), "addresses": [{ "type": "IPAddress", "value": env.ingress_ip }] }
        }));
        out.push(deployment(
            ns,
            &managed,
            "istio-ingress-k8s",
            json!({ "gateway.networking.k8s.io/gateway-name": ingress }),
            json!([]),
        ));
        out.push(json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": meta(&managed, Some(ns), "istio-ingress-k8s", json!({ "gateway.networking.k8s.io/gateway-name": ingress })),
            "spec": { "type": "LoadBalancer", "selector": { "app": managed }, "ports": [{ "name": "http-80", "port": env.ingress_port, "targetPort": 80 }] },
            "status": { "loadBalancer": { "ingress": [{ "ip": env.ingress_ip }] } }
        }));
        out.push(json!({ "apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(&managed, Some(ns), "istio-ingress-k8s", json!({})) }));
        out.push(authorization_policy(
            ns,
            &format!("{ingress}-{ns}-external-traffic"),
            "istio-ingress-k8s",
            json!({ "action": "ALLOW", "targetRefs": [{ "group": "gateway.networking.k8s.io", "kind": "Gateway", "name": ingress }], "rules": [{ "from": [{ "source": { "ipBlocks": ["0.0.0.0/0"] } }] }] }),
        ));
        if !model
            .related_to("forward-auth", "istio-ingress-k8s")
            .is_empty()
        {
            out.push(authorization_policy(
                ns,
                &format!("ext-authz-{ingress}"),
                "istio-ingress-k8s",
                json!({
                    "action": "CUSTOM",
                    "provider": { "name": format!("ext_authz-{ingress}") },
                    "targetRefs": [{ "group": "gateway.networking.k8s.io", "kind": "Gateway", "name": ingress }],
                    "rules": [{ "to": [{ "operation": { "notPaths": ["/dex/*", "/authservice/*"] } }] }]
                }),
            ));
        }
        let mut routed: Vec<String> = model.related_to("istio-ingress-route", "istio-ingress-k8s");
        routed.extend(model.related_to("istio-ingress-route-unauthenticated", "istio-ingress-k8s"));
        routed.sort();
        routed.dedup();
        for app in routed {
            out.push(json!({
                "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
                "metadata": meta(&format!("{app}-http-80-{ingress}"), Some(ns), "istio-ingress-k8s", json!({ HANDLER_SCOPE: "istio-ingress" })),
                "spec": {
                    "parentRefs": [{ "name": ingress, "namespace": ns, "sectionName": "http-80" }],
                    "rules": [{ "matches": [{ "path": { "type": "PathPrefix", "value": route_prefix(&app) } }], "backendRefs": [{ "name": app, "port": 8080 }] }]
                },
                "status": { "parents": [{
                    "parentRef": { "name": ingress, "namespace": ns, "sectionName": "http-80" },
                    "controllerName": "istio.io/gateway-controller",
                    "conditions": conditions(&["Accepted", "ResolvedRefs"])
                }] }
            }));
            out.push(authorization_policy(
                ns,
                &format!("{app}-{ingress}-{ns}-l4"),
                "istio-ingress-k8s",
                json!({ "action": "ALLOW", "selector": { "matchLabels": { "app.kubernetes.io/name": app } },
                        "rules": [{ "from": [{ "source": { "principals": [format!("cluster.local/ns/{ns}/sa/{managed}")] } }] }] }),
            ));
        }
    }

    // Charms that open their workload to everything once on ambient (chisme's allow-all).
    if istio.is_some() {
        let with_gateway_metadata = model.related_to("gateway-metadata", "istio-ingress-k8s");
        for (charm, needs_gateway_metadata) in [
            ("kserve-controller", true),
            ("pvcviewer-operator", true),
            ("kfp-profile-controller", false),
            ("training-operator", false),
        ] {
            for (name, _) in model.by_charm(charm) {
                let on = meshed.contains(name)
                    && (!needs_gateway_metadata || with_gateway_metadata.contains(name));
                if on {
                    out.push(authorization_policy(
                        ns,
                        &format!("{name}-allow-all"),
                        charm,
                        json!({ "action": "ALLOW", "selector": { "matchLabels": { "app.kubernetes.io/name": name } }, "rules": [{}] }),
                    ));
                }
            }
        }
    }

    // KServe's configuration: the deployment mode, and the Gateway API once gateway-metadata is in.
    if let Some((name, kserve)) = model.app_of("kserve-controller") {
        let raw = kserve
            .config
            .get("deployment-mode")
            .is_some_and(|m| m.eq_ignore_ascii_case("rawdeployment"));
        let gateway = istio.is_some()
            && model
                .related_to("gateway-metadata", "istio-ingress-k8s")
                .contains(name);
        let ingress = if gateway {
            json!({ "enableGatewayApi": true, "kserveIngressGateway": format!("{ns}/istio-ingress-k8s"), "ingressGateway": format!("{ns}/istio-ingress-k8s"), "ingressClassName": "istio" })
        } else {
            json!({ "ingressGateway": format!("{ns}/kubeflow-gateway"), "ingressClassName": "istio" })
        };
        out.push(config_map(
            ns,
            "inferenceservice-config",
            "kserve-controller",
            json!({}),
            json!({
                "deploy": json!({ "defaultDeploymentMode": if raw { "RawDeployment" } else { "Serverless" } }).to_string(),
                "ingress": ingress.to_string(),
            }),
        ));
    }

    // kubeflow-profiles: the profile namespaces, their labels, and in ambient mode their waypoint
    // and policies ([PROF], [PCTL] in ckf-ambient.md §2.4).
    if let Some((_, profiles)) = model.app_of("kubeflow-profiles") {
        let ambient = istio.is_some()
            && profiles.config.get("service-mesh-mode").map(String::as_str)
                == Some("istio-ambient");
        let gateway_sa = profiles
            .config
            .get("istio-gateway-service-account")
            .cloned()
            .unwrap_or_else(|| "istio-ingressgateway-workload-service-account".into());
        let istio_crds = model.app_of("istio-pilot").is_some() || istio.is_some();
        for profile in &env.profiles {
            let mut labels = json!({
                "app.kubernetes.io/part-of": "kubeflow-profile",
                "katib.kubeflow.org/metrics-collector-injection": "enabled",
                "pipelines.kubeflow.org/enabled": "true",
                "serving.kubeflow.org/inferenceservice": "enabled",
                "user.kubeflow.org/enabled": "true",
                "pod-security.kubernetes.io/enforce": "baseline",
            });
            if ambient {
                for (k, v) in [
                    ("istio-injection", "disabled"),
                    ("istio.io/dataplane-mode", "ambient"),
                    ("istio.io/use-waypoint", "waypoint"),
                    ("istio.io/use-waypoint-namespace", profile.as_str()),
                    ("istio.io/ingress-use-waypoint", "true"),
                ] {
                    labels[k] = json!(v);
                }
            } else {
                labels["istio-injection"] = json!("enabled");
            }
            let mut namespace = json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": meta(profile, None, "kubeflow-profiles", labels) });
            namespace["metadata"]["annotations"] =
                json!({ "owner": format!("{profile}@example.com") });
            out.push(namespace);
            let principal = format!("cluster.local/ns/{ns}/sa/{gateway_sa}");
            if ambient {
                out.push(json!({
                    "apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
                    "metadata": meta("waypoint", Some(profile), "kubeflow-profiles", json!({ "gateway.istio.io/managed": "Istio" })),
                    "spec": { "gatewayClassName": "istio-waypoint", "listeners": [{ "name": "mesh", "port": 15008, "protocol": "HBONE" }] },
                    "status": { "conditions": conditions(&["Accepted", "Programmed"]) }
                }));
                out.push(deployment(
                    profile,
                    "waypoint",
                    "kubeflow-profiles",
                    json!({ "gateway.istio.io/managed": "Istio" }),
                    json!([]),
                ));
                out.push(authorization_policy(
                    profile,
                    "ns-owner-access-istio",
                    "kubeflow-profiles",
                    json!({
                        "action": "ALLOW",
                        "targetRefs": [{ "group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "waypoint" }],
                        "rules": [
                            { "from": [{ "source": { "principals": [principal, format!("cluster.local/ns/{ns}/sa/kfp-ui")] } }],
                              "when": [{ "key": "request.headers[kubeflow-userid]", "values": [format!("{profile}@example.com")] }] },
                            { "from": [{ "source": { "namespaces": [profile] } }] }
                        ]
                    }),
                ));
                out.push(authorization_policy(
                    profile,
                    "waypoint-l4-access",
                    "kubeflow-profiles",
                    json!({ "action": "ALLOW", "rules": [{ "from": [{ "source": { "principals": [format!("cluster.local/ns/{profile}/sa/waypoint")] } }] }] }),
                ));
            } else if istio_crds {
                // Sidecar mode: the same policy, enforced by the sidecars through a selector-free
                // namespace-wide rule with L7 conditions.
                out.push(authorization_policy(
                    profile,
                    "ns-owner-access-istio",
                    "kubeflow-profiles",
                    json!({
                        "action": "ALLOW",
                        "rules": [
                            { "from": [{ "source": { "principals": [principal] } }],
                              "when": [{ "key": "request.headers[kubeflow-userid]", "values": [format!("{profile}@example.com")] }] },
                            { "from": [{ "source": { "namespaces": [profile] } }] }
                        ]
                    }),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(charm: &str) -> AppState {
        AppState {
            charm: charm.into(),
            settled: true,
            config: BTreeMap::new(),
            scale: 1,
        }
    }

    fn env() -> Environment {
        Environment {
            profiles: vec!["admin".into()],
            ingress_ip: "127.0.0.50".into(),
            ingress_port: 8080,
            legacy_ingress_ip: "127.0.0.51".into(),
        }
    }

    fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> Option<&'a Value> {
        objects
            .iter()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
    }

    fn model(apps: &[(&str, &str)], relations: &[(&str, &str)]) -> ModelView {
        ModelView {
            namespace: "kubeflow".into(),
            apps: apps.iter().map(|(n, c)| (n.to_string(), app(c))).collect(),
            relations: relations
                .iter()
                .map(|(a, b)| {
                    if a < b {
                        (a.to_string(), b.to_string())
                    } else {
                        (b.to_string(), a.to_string())
                    }
                })
                .collect(),
        }
    }

    #[test]
    fn istio_pilot_means_the_legacy_istiod_and_its_injector() {
        let objects = desired(&model(&[("istio-pilot", "istio-pilot")], &[]), &env());
        let istiod = find(&objects, "Deployment", "istiod").expect("istiod");
        assert!(
            istiod["metadata"]["labels"].get(HANDLER_SCOPE).is_none(),
            "legacy istiod is not istio-k8s's"
        );
        assert!(
            find(
                &objects,
                "MutatingWebhookConfiguration",
                "istio-sidecar-injector"
            )
            .is_some()
        );
        assert!(
            desired_crds(&model(&[("istio-pilot", "istio-pilot")], &[]))
                .iter()
                .any(|c| c.plural == "authorizationpolicies")
        );
    }

    #[test]
    fn istio_k8s_brings_the_ambient_control_plane_once_settled() {
        let mut m = model(&[("istio-k8s", "istio-k8s")], &[]);
        let objects = desired(&m, &env());
        assert_eq!(
            find(&objects, "Deployment", "istiod").expect("istiod")["metadata"]["labels"]
                [HANDLER_SCOPE],
            "control-plane"
        );
        assert!(find(&objects, "DaemonSet", "ztunnel").is_some());
        assert_eq!(
            find(&objects, "ConfigMap", "istio-cni-config").expect("cni config")["data"]["AMBIENT_ENABLED"],
            "true"
        );
        m.apps.get_mut("istio-k8s").expect("app").settled = false;
        assert!(
            find(&desired(&m, &env()), "DaemonSet", "ztunnel").is_none(),
            "nothing before the charm settles"
        );
    }

    #[test]
    fn a_service_mesh_relation_labels_the_apps_pods_for_ambient() {
        let m = model(
            &[
                ("istio-k8s", "istio-k8s"),
                ("istio-beacon-k8s", "istio-beacon-k8s"),
                ("kfp-api", "kfp-api"),
            ],
            &[("kfp-api:service-mesh", "istio-beacon-k8s:service-mesh")],
        );
        let objects = desired(&m, &env());
        let sts = find(&objects, "StatefulSet", "kfp-api").expect("sts");
        assert_eq!(
            sts["spec"]["template"]["metadata"]["labels"]["istio.io/dataplane-mode"],
            "ambient"
        );
        assert_eq!(
            sts["spec"]["template"]["metadata"]["labels"]["istio.io/use-waypoint"],
            "kubeflow-istio-beacon-k8s-waypoint"
        );
        assert!(find(&objects, "ConfigMap", "juju-service-mesh-kfp-api-labels").is_some());
        assert!(find(&objects, "Gateway", "kubeflow-istio-beacon-k8s-waypoint").is_some());
    }

    #[test]
    fn profiles_in_ambient_mode_relabel_namespaces_and_create_waypoints() {
        let mut m = model(
            &[
                ("istio-k8s", "istio-k8s"),
                ("kubeflow-profiles", "kubeflow-profiles"),
            ],
            &[],
        );
        let before = desired(&m, &env());
        assert_eq!(
            find(&before, "Namespace", "admin").expect("ns")["metadata"]["labels"]["istio-injection"],
            "enabled"
        );
        m.apps
            .get_mut("kubeflow-profiles")
            .expect("app")
            .config
            .insert("service-mesh-mode".into(), "istio-ambient".into());
        let after = desired(&m, &env());
        let labels = &find(&after, "Namespace", "admin").expect("ns")["metadata"]["labels"];
        assert_eq!(labels["istio-injection"], "disabled");
        assert_eq!(labels["istio.io/dataplane-mode"], "ambient");
        assert!(after.iter().any(|o| o["kind"] == "Gateway"
            && o["metadata"]["namespace"] == "admin"
            && o["metadata"]["name"] == "waypoint"));
    }

    #[test]
    fn the_ingress_publishes_its_address_and_routes() {
        let m = model(
            &[
                ("istio-k8s", "istio-k8s"),
                ("istio-ingress-k8s", "istio-ingress-k8s"),
                ("dex-auth", "dex-auth"),
                ("oidc-gatekeeper", "oidc-gatekeeper"),
            ],
            &[
                (
                    "dex-auth:istio-ingress-route-unauthenticated",
                    "istio-ingress-k8s:istio-ingress-route-unauthenticated",
                ),
                (
                    "oidc-gatekeeper:forward-auth",
                    "istio-ingress-k8s:forward-auth",
                ),
            ],
        );
        let objects = desired(&m, &env());
        let svc = find(&objects, "Service", "istio-ingress-k8s-istio").expect("service");
        assert_eq!(
            svc["status"]["loadBalancer"]["ingress"][0]["ip"],
            "127.0.0.50"
        );
        assert!(find(&objects, "HTTPRoute", "dex-auth-http-80-istio-ingress-k8s").is_some());
        assert_eq!(
            find(
                &objects,
                "AuthorizationPolicy",
                "ext-authz-istio-ingress-k8s"
            )
            .expect("ext-authz")["spec"]["action"],
            "CUSTOM"
        );
    }
}
