//! Test builders: a snapshot of a model migrated exactly as the plan says, on MicroK8s, with two
//! profiles (`alice`, `bob`), and small chainable changes that break one thing each.
//!
//! Built from the plan itself (applications, channels, relations), so the fixture follows the
//! plan when the plan changes. Compiled for tests only.

use std::collections::BTreeMap;

use crate::cluster::{
    AuthorizationPolicyInfo, ClusterSnapshot, Condition, GatewayClassInfo, GatewayInfo,
    HttpRouteInfo, InferenceServiceInfo, LegacyIstio, NamespaceInfo, Owner, PodInfo, ReadError,
    RouteParentStatus, RouteRef, ServiceInfo, WebhookConfigInfo, WebhookInfo, WorkloadInfo,
};
use crate::juju::{
    Application, ApplicationConfig, ConfigValue, Life, ModelStatus, Relation, RelationEndpoint,
    Status, Unit,
};
use crate::plan::{FactKind, Plan};

use super::Verdict;
use super::checks::{CHECKS, Ctx, Judged};
use super::probe::{HttpAnswer, HttpProbes, ProbeOutcome};
use super::snapshot::Snapshot;

pub(crate) const MODEL: &str = "kubeflow";
pub(crate) const PROFILES: [&str; 2] = ["alice", "bob"];
pub(crate) const MANAGED: &str = "kubernetes-resource-handler-scope";
pub(crate) const INGRESS_ADDRESS: &str = "127.0.0.1";

/// A snapshot and the plan it is judged against.
pub(crate) struct Fixture {
    pub snapshot: Snapshot,
    pub plan: Plan,
}

fn s(x: &str) -> String {
    x.to_string()
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (s(k), s(v))).collect()
}

pub(crate) fn cond(kind: &str, status: &str) -> Condition {
    Condition {
        kind: s(kind),
        status: s(status),
        reason: String::new(),
        message: String::new(),
    }
}

fn active_unit(message: &str) -> Unit {
    Unit {
        workload: Status {
            current: s("active"),
            message: s(message),
        },
        agent: Status {
            current: s("idle"),
            message: String::new(),
        },
        leader: true,
    }
}

pub(crate) fn application(name: &str, charm: &str, channel: &str) -> Application {
    let message = if charm == "istio-ingress-k8s" {
        format!("Serving at {INGRESS_ADDRESS}")
    } else {
        String::new()
    };
    Application {
        name: s(name),
        charm: s(charm),
        charm_url: format!("ch:amd64/{charm}-100"),
        channel: s(channel),
        revision: Some(100),
        life: Life::Alive,
        status: Status {
            current: s("active"),
            message: String::new(),
        },
        units: [(format!("{name}/0"), active_unit(&message))].into(),
        scale: 1,
        base: None,
    }
}

pub(crate) fn relation(a: &str, b: &str) -> Relation {
    let end = |e: &str| {
        let (application, name) = e.split_once(':').expect("app:endpoint");
        RelationEndpoint {
            application: s(application),
            name: s(name),
            role: s("requirer"),
        }
    };
    Relation {
        id: 0,
        key: format!("{a} {b}"),
        interface: String::new(),
        endpoints: vec![end(a), end(b)],
    }
}

pub(crate) fn config(app: &str, charm: &str, values: &[(&str, &str)]) -> ApplicationConfig {
    ApplicationConfig {
        application: s(app),
        charm: s(charm),
        channel: String::new(),
        options: values
            .iter()
            .map(|(k, v)| {
                (
                    s(k),
                    ConfigValue {
                        value: Some(serde_json::Value::String(s(v))),
                        source: s("user"),
                        option_type: s("string"),
                    },
                )
            })
            .collect(),
        trust: true,
    }
}

pub(crate) fn workload(name: &str, namespace: &str, ready: i64) -> WorkloadInfo {
    WorkloadInfo {
        namespace: s(namespace),
        name: s(name),
        labels: BTreeMap::new(),
        owner: None,
        generation: 1,
        observed_generation: 1,
        desired: 1,
        ready,
        updated: 1,
        template_labels: BTreeMap::new(),
        env: BTreeMap::new(),
    }
}

pub(crate) fn pod(namespace: &str, name: &str, owner: Option<(&str, &str)>) -> PodInfo {
    PodInfo {
        namespace: s(namespace),
        name: s(name),
        labels: BTreeMap::new(),
        owner: owner.map(|(kind, name)| Owner {
            kind: s(kind),
            name: s(name),
        }),
        sidecar: false,
        ambient_redirected: false,
    }
}

pub(crate) fn gateway(
    namespace: &str,
    name: &str,
    class: &str,
    address: Option<&str>,
) -> GatewayInfo {
    GatewayInfo {
        namespace: s(namespace),
        name: s(name),
        labels: BTreeMap::new(),
        class: s(class),
        conditions: vec![cond("Accepted", "True"), cond("Programmed", "True")],
        addresses: address.into_iter().map(s).collect(),
    }
}

pub(crate) fn policy(namespace: &str, name: &str) -> AuthorizationPolicyInfo {
    AuthorizationPolicyInfo {
        namespace: s(namespace),
        name: s(name),
        action: String::new(),
        provider: String::new(),
        has_selector: false,
        target_refs: Vec::new(),
        l7: false,
    }
}

pub(crate) fn ambient_namespace(name: &str) -> NamespaceInfo {
    NamespaceInfo {
        name: s(name),
        labels: map(&[
            ("istio-injection", "disabled"),
            ("istio.io/dataplane-mode", "ambient"),
            ("istio.io/use-waypoint", "waypoint"),
            ("istio.io/use-waypoint-namespace", name),
            ("app.kubernetes.io/part-of", "kubeflow-profile"),
        ]),
        phase: s("Active"),
    }
}

/// The ingress routes of a migrated model: backend Service and path.
pub(crate) const ROUTES: [(&str, &str); 9] = [
    ("kubeflow-dashboard", "/"),
    ("dex-auth", "/dex/"),
    ("oidc-gatekeeper", "/authservice/"),
    ("jupyter-ui", "/jupyter/"),
    ("katib-ui", "/katib/"),
    ("kfp-ui", "/pipeline/"),
    ("kubeflow-volumes", "/volumes/"),
    ("tensorboards-web-app", "/tensorboards/"),
    ("envoy", "/ml_metadata"),
];

pub(crate) fn route(service: &str, path: &str) -> HttpRouteInfo {
    let parent = RouteRef {
        kind: String::new(),
        namespace: s(MODEL),
        name: s("istio-ingress-k8s"),
    };
    HttpRouteInfo {
        namespace: s(MODEL),
        name: format!("{service}-http-80"),
        labels: map(&[(MANAGED, "istio-ingress")]),
        parents: vec![parent.clone()],
        paths: vec![s(path)],
        backends: vec![RouteRef {
            kind: String::new(),
            namespace: s(MODEL),
            name: s(service),
        }],
        status: vec![RouteParentStatus {
            parent,
            conditions: vec![cond("Accepted", "True"), cond("ResolvedRefs", "True")],
        }],
    }
}

fn mesh_labels() -> BTreeMap<String, String> {
    map(&[
        ("istio.io/dataplane-mode", "ambient"),
        (
            "istio.io/use-waypoint",
            "kubeflow-istio-beacon-k8s-waypoint",
        ),
        ("istio.io/use-waypoint-namespace", MODEL),
    ])
}

fn migrated_status(plan: &Plan) -> ModelStatus {
    let mut targets: BTreeMap<&str, String> = BTreeMap::new();
    let mut absent = Vec::new();
    let mut relations = Vec::new();
    for fact in plan.phases.iter().flat_map(|p| &p.facts) {
        match &fact.kind {
            FactKind::Refreshed { role, channel, .. }
            | FactKind::Deployed { role, channel, .. } => {
                targets.insert(role, channel.to_string());
            }
            FactKind::Absent { role } => absent.push(role.as_str()),
            FactKind::Related { a, b } => relations.push(relation(&a.to_string(), &b.to_string())),
            _ => {}
        }
    }
    let mut applications: BTreeMap<String, Application> = plan
        .roles
        .values()
        .filter(|r| !absent.contains(&r.name.as_str()))
        .map(|r| {
            let channel = targets.get(r.name.as_str()).cloned().unwrap_or_default();
            (r.name.clone(), application(&r.name, &r.charm, &channel))
        })
        .collect();
    // Applications the guide leaves alone.
    for (name, charm, channel) in [
        ("argo-controller", "argo-controller", "3.7/stable"),
        ("kfp-db", "mysql-k8s", "8.0/stable"),
    ] {
        applications.insert(s(name), application(name, charm, channel));
    }
    ModelStatus {
        name: s(MODEL),
        model_type: s("caas"),
        applications,
        relations,
        ..ModelStatus::default()
    }
}

fn mesh_apps(status: &ModelStatus) -> Vec<String> {
    status
        .relations
        .iter()
        .filter_map(|r| match r.endpoints.as_slice() {
            [a, b] if b.application == "istio-beacon-k8s" && b.name == "service-mesh" => {
                Some(a.application.clone())
            }
            [a, b] if a.application == "istio-beacon-k8s" && a.name == "service-mesh" => {
                Some(b.application.clone())
            }
            _ => None,
        })
        .collect()
}

fn migrated_cluster(status: &ModelStatus) -> ClusterSnapshot {
    let mesh = mesh_apps(status);
    let mut config_maps: BTreeMap<String, BTreeMap<String, String>> = [
        (
            s("istio-cni-config"),
            map(&[
                ("AMBIENT_ENABLED", "true"),
                ("AMBIENT_RECONCILE_POD_RULES_ON_STARTUP", "true"),
            ]),
        ),
        (
            s("inferenceservice-config"),
            map(&[
                ("deploy", r#"{"defaultDeploymentMode": "RawDeployment"}"#),
                (
                    "ingress",
                    r#"{"enableGatewayApi": true, "kserveIngressGateway": "kubeflow/istio-ingress-k8s", "ingressGateway": "kubeflow/istio-ingress-k8s", "ingressClassName": "istio"}"#,
                ),
            ]),
        ),
        (
            s("istio"),
            map(&[(
                "mesh",
                "accessLogFile: /dev/stdout\nextensionProviders:\n- name: ext_authz-istio-ingress-k8s\n  envoyExtAuthzHttp:\n    service: oidc-gatekeeper.kubeflow.svc.cluster.local\n",
            )]),
        ),
    ]
    .into();
    for app in &mesh {
        config_maps.insert(
            format!("juju-service-mesh-{app}-labels"),
            map(&[("labels", r#"{"istio.io/dataplane-mode": "ambient"}"#)]),
        );
    }

    let mut istiod = workload("istiod", MODEL, 1);
    istiod.labels = map(&[(MANAGED, "control-plane")]);
    istiod.env = map(&[("PILOT_ENABLE_AMBIENT", "true")]);
    let mut ztunnel = workload("ztunnel", MODEL, 1);
    ztunnel.env = map(&[("ISTIO_META_ENABLE_HBONE", "true")]);
    let cni = workload("istio-cni-node", MODEL, 1);

    let stateful_sets = mesh
        .iter()
        .map(|app| {
            let mut sts = workload(app, MODEL, 1);
            sts.template_labels = mesh_labels();
            sts.template_labels
                .insert(s("app.kubernetes.io/name"), app.clone());
            sts
        })
        .collect();
    let pods = mesh
        .iter()
        .map(|app| {
            let mut p = pod(MODEL, &format!("{app}-0"), Some(("StatefulSet", app)));
            p.labels = map(&[("app.kubernetes.io/name", app)]);
            p.ambient_redirected = true;
            p
        })
        .collect();

    let mut services: Vec<ServiceInfo> = [
        "istiod",
        "kubeflow-istio-beacon-k8s-waypoint",
        "kserve-webhook-server-service",
        "admission-webhook",
    ]
    .iter()
    .map(|name| ServiceInfo {
        namespace: s(MODEL),
        name: s(name),
        service_type: s("ClusterIP"),
        ports: vec![(s("https"), 443)],
        load_balancer: Vec::new(),
    })
    .collect();
    services.push(ServiceInfo {
        namespace: s(MODEL),
        name: s("istio-ingress-k8s-istio"),
        service_type: s("LoadBalancer"),
        ports: vec![(s("status-port"), 15021), (s("http-80"), 80)],
        load_balancer: vec![s(INGRESS_ADDRESS)],
    });

    let webhook =
        |kind: &str, name: &str, hook: &str, svc: &str, managed: bool| WebhookConfigInfo {
            kind: s(kind),
            name: s(name),
            labels: if managed {
                map(&[(MANAGED, "control-plane")])
            } else {
                BTreeMap::new()
            },
            webhooks: vec![WebhookInfo {
                name: s(hook),
                service: Some((s(MODEL), s(svc))),
            }],
        };

    let mut gateways = vec![
        gateway(MODEL, "istio-ingress-k8s", "istio", Some(INGRESS_ADDRESS)),
        gateway(
            MODEL,
            "kubeflow-istio-beacon-k8s-waypoint",
            "istio-waypoint",
            None,
        ),
    ];
    let mut policies = vec![
        AuthorizationPolicyInfo {
            action: s("CUSTOM"),
            provider: s("ext_authz-istio-ingress-k8s"),
            target_refs: vec![s("Gateway/istio-ingress-k8s")],
            ..policy(MODEL, "ext-authz-istio-ingress-k8s")
        },
        AuthorizationPolicyInfo {
            target_refs: vec![s("Gateway/istio-ingress-k8s")],
            ..policy(MODEL, "istio-ingress-k8s-kubeflow-external-traffic")
        },
    ];
    for app in [
        "kserve-controller",
        "kfp-profile-controller",
        "pvcviewer-operator",
        "training-operator",
    ] {
        policies.push(AuthorizationPolicyInfo {
            has_selector: true,
            ..policy(MODEL, &format!("{app}-allow-all"))
        });
    }
    let mut namespaces: Vec<NamespaceInfo> = [MODEL, "kube-system", "default"]
        .iter()
        .map(|n| NamespaceInfo {
            name: s(n),
            labels: BTreeMap::new(),
            phase: s("Active"),
        })
        .collect();
    for profile in PROFILES {
        namespaces.push(ambient_namespace(profile));
        gateways.push(gateway(profile, "waypoint", "istio-waypoint", None));
        policies.push(AuthorizationPolicyInfo {
            target_refs: vec![s("Gateway/waypoint")],
            ..policy(profile, "ns-owner-access-istio")
        });
        policies.push(policy(profile, "waypoint-l4-access"));
    }

    ClusterSnapshot {
        namespace: s(MODEL),
        nodes: Ok(vec![map(&[
            ("microk8s.io/cluster", "true"),
            ("kubernetes.io/hostname", "node-1"),
        ])]),
        namespaces: Ok(namespaces),
        config_maps: Ok(config_maps),
        cilium_config: Ok(None),
        deployments: Ok(vec![
            istiod,
            workload("istio-ingress-k8s-istio", MODEL, 1),
            workload("kubeflow-istio-beacon-k8s-waypoint", MODEL, 1),
        ]),
        stateful_sets: Ok(stateful_sets),
        daemon_sets: Ok(vec![ztunnel, cni]),
        cilium: Ok(None),
        services: Ok(services),
        webhook_services: Ok(BTreeMap::new()),
        pods: Ok(pods),
        workload_owners: Ok(BTreeMap::new()),
        crds: Ok([
            "gatewayclasses.gateway.networking.k8s.io",
            "gateways.gateway.networking.k8s.io",
            "httproutes.gateway.networking.k8s.io",
            "grpcroutes.gateway.networking.k8s.io",
            "referencegrants.gateway.networking.k8s.io",
            "authorizationpolicies.security.istio.io",
            "peerauthentications.security.istio.io",
            "profiles.kubeflow.org",
            "notebooks.kubeflow.org",
            "inferenceservices.serving.kserve.io",
        ]
        .into_iter()
        .map(s)
        .collect()),
        webhooks: Ok(vec![
            webhook(
                "MutatingWebhookConfiguration",
                "istio-sidecar-injector-kubeflow",
                "sidecar-injector.istio.io",
                "istiod",
                true,
            ),
            webhook(
                "ValidatingWebhookConfiguration",
                "istio-validator-kubeflow",
                "rev.validation.istio.io",
                "istiod",
                true,
            ),
            webhook(
                "ValidatingWebhookConfiguration",
                "inferenceservice.serving.kserve.io",
                "inferenceservice.kserve-webhook-server.validator",
                "kserve-webhook-server-service",
                false,
            ),
            webhook(
                "MutatingWebhookConfiguration",
                "admission-webhook",
                "admission-webhook.kubeflow.org",
                "admission-webhook",
                false,
            ),
        ]),
        gateway_classes: Ok(["istio", "istio-waypoint"]
            .iter()
            .map(|n| GatewayClassInfo {
                name: s(n),
                conditions: vec![cond("Accepted", "True")],
            })
            .collect()),
        gateways: Ok(gateways),
        http_routes: Ok(ROUTES.iter().map(|(svc, path)| route(svc, path)).collect()),
        authorization_policies: Ok(policies),
        profiles: Ok(PROFILES.iter().map(|p| s(p)).collect()),
        inference_services: Ok(vec![InferenceServiceInfo {
            namespace: s("alice"),
            name: s("sklearn-iris"),
            mode: Some(s("RawDeployment")),
            ready: Some(s("True")),
        }]),
        legacy: Ok(LegacyIstio::default()),
    }
}

pub(crate) fn answer(status: u16, location: Option<&str>, body: &str) -> ProbeOutcome {
    ProbeOutcome::Answered(HttpAnswer {
        status,
        location: location.map(s),
        body: s(body),
    })
}

impl Fixture {
    /// A model migrated as the plan says, on MicroK8s.
    pub(crate) fn migrated() -> Self {
        let plan = Plan::builtin().expect("the shipped plan is valid");
        let status = migrated_status(&plan);
        let cluster = migrated_cluster(&status);
        let configs = [
            config("istio-k8s", "istio-k8s", &[("platform", "microk8s")]),
            config(
                "kserve-controller",
                "kserve-controller",
                &[("deployment-mode", "rawdeployment")],
            ),
            config(
                "kubeflow-profiles",
                "kubeflow-profiles",
                &[
                    ("service-mesh-mode", "istio-ambient"),
                    ("istio-gateway-service-account", "istio-ingress-k8s-istio"),
                    ("istio-gateway-namespace", MODEL),
                ],
            ),
        ]
        .into_iter()
        .map(|c| (c.application.clone(), Ok(c)))
        .collect();
        let http = HttpProbes {
            base: Ok(format!("http://{INGRESS_ADDRESS}:80")),
            discovery: answer(
                200,
                None,
                r#"{"issuer": "http://dex-auth.kubeflow.svc:5556/dex", "authorization_endpoint": "http://dex-auth.kubeflow.svc:5556/dex/auth"}"#,
            ),
            root: answer(
                302,
                Some("/dex/auth?client_id=authservice-oidc&state=x"),
                "",
            ),
        };
        Fixture {
            snapshot: Snapshot {
                model: s(MODEL),
                status: Ok(status),
                configs,
                cluster,
                http: Some(http),
            },
            plan,
        }
    }

    /// The verdict of the check `name` (`None` when it does not apply).
    pub(crate) fn verdict(&self, name: &str) -> Judged {
        let check = CHECKS
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no check named {name}"));
        (check.judge)(&Ctx::new(&self.snapshot, &self.plan))
    }

    /// Asserts a failure whose text contains every needle.
    pub(crate) fn assert_fails(&self, verdict: &Judged, needles: &[&str]) {
        match verdict {
            Some(Verdict::Fail(text)) => {
                for needle in needles {
                    assert!(text.contains(needle), "{needle:?} not in {text:?}");
                }
            }
            other => panic!("expected a failure containing {needles:?}, got {other:?}"),
        }
    }

    /// Asserts a warning whose text contains every needle.
    pub(crate) fn assert_warns(&self, verdict: &Judged, needles: &[&str]) {
        match verdict {
            Some(Verdict::Warn(text)) => {
                for needle in needles {
                    assert!(text.contains(needle), "{needle:?} not in {text:?}");
                }
            }
            other => panic!("expected a warning containing {needles:?}, got {other:?}"),
        }
    }

    fn status_mut(&mut self) -> &mut ModelStatus {
        self.snapshot.status.as_mut().expect("status readable")
    }

    fn app_mut(&mut self, app: &str) -> &mut Application {
        self.status_mut()
            .applications
            .get_mut(app)
            .unwrap_or_else(|| panic!("no application {app}"))
    }

    /// Adds an application.
    pub(crate) fn with_app(mut self, name: &str, charm: &str, channel: &str) -> Self {
        self.status_mut()
            .applications
            .insert(s(name), application(name, charm, channel));
        self
    }

    /// Removes an application and its relations, as `juju remove-application` would.
    pub(crate) fn without_app(mut self, name: &str) -> Self {
        let status = self.status_mut();
        status.applications.remove(name);
        status
            .relations
            .retain(|r| r.endpoints.iter().all(|e| e.application != name));
        self.snapshot.configs.remove(name);
        self
    }

    /// Sets one config value of an application.
    pub(crate) fn with_config(mut self, app: &str, key: &str, value: &str) -> Self {
        let entry = self
            .snapshot
            .configs
            .entry(s(app))
            .or_insert_with(|| Ok(config(app, app, &[])));
        let config = entry.as_mut().expect("config readable");
        config.options.insert(
            s(key),
            ConfigValue {
                value: Some(serde_json::Value::String(s(value))),
                source: s("user"),
                option_type: s("string"),
            },
        );
        self
    }

    /// Makes an application's config unreadable.
    pub(crate) fn with_unreadable_config(mut self, app: &str) -> Self {
        self.snapshot.configs.insert(
            s(app),
            Err(ReadError::new(
                format!("the config of {app} (Application.Get)"),
                "connection to the Juju controller lost",
            )),
        );
        self
    }

    /// Sets the first unit's statuses (and the application's to match).
    pub(crate) fn with_unit_status(
        mut self,
        app: &str,
        workload: &str,
        message: &str,
        agent: &str,
    ) -> Self {
        let application = self.app_mut(app);
        application.status = Status {
            current: s(workload),
            message: s(message),
        };
        let unit = application
            .units
            .values_mut()
            .next()
            .expect("the fixture gives every application a unit");
        unit.workload = Status {
            current: s(workload),
            message: s(message),
        };
        unit.agent = Status {
            current: s(agent),
            message: String::new(),
        };
        self
    }

    /// Sets an application's channel.
    pub(crate) fn with_channel(mut self, app: &str, channel: &str) -> Self {
        self.app_mut(app).channel = s(channel);
        self
    }

    /// Adds a relation.
    pub(crate) fn with_relation(mut self, a: &str, b: &str) -> Self {
        self.status_mut().relations.push(relation(a, b));
        self
    }

    /// Removes a relation, in either order.
    pub(crate) fn without_relation(mut self, a: &str, b: &str) -> Self {
        let wanted = |r: &Relation| {
            let ends: Vec<String> = r
                .endpoints
                .iter()
                .map(|e| format!("{}:{}", e.application, e.name))
                .collect();
            ends.contains(&s(a)) && ends.contains(&s(b))
        };
        let status = self.status_mut();
        let before = status.relations.len();
        status.relations.retain(|r| !wanted(r));
        assert!(status.relations.len() < before, "no relation {a} {b}");
        self
    }

    /// Changes the cluster side.
    pub(crate) fn cluster(mut self, change: impl FnOnce(&mut ClusterSnapshot)) -> Self {
        change(&mut self.snapshot.cluster);
        self
    }

    /// Changes the HTTP probes.
    pub(crate) fn http(mut self, change: impl FnOnce(&mut HttpProbes)) -> Self {
        change(self.snapshot.http.as_mut().expect("probes ran"));
        self
    }

    /// The same model on Canonical Kubernetes: k8sd node labels, Cilium configured as the guide
    /// says and ready, istio-k8s `platform=""`.
    pub(crate) fn on_canonical_k8s(self) -> Self {
        self.with_config("istio-k8s", "platform", "").cluster(|k| {
            k.nodes = Ok(vec![map(&[("k8sd.io/role", "control-plane")])]);
            k.cilium_config = Ok(Some(map(&[
                ("bpf-lb-sock-hostns-only", "true"),
                ("cni-exclusive", "false"),
                ("enable-bpf-masquerade", "false"),
            ])));
            let mut cilium = workload("cilium", "kube-system", 1);
            cilium.desired = 3;
            cilium.ready = 3;
            cilium.updated = 3;
            k.cilium = Ok(Some(cilium));
        })
    }
}

/// A failed read, for unreadable-kind tests.
pub(crate) fn unreadable(what: &str) -> ReadError {
    ReadError {
        what: s(what),
        cause: s("403 Forbidden"),
        forbidden: true,
    }
}

/// Finds a named object in a listing.
pub(crate) fn named<'a, T>(items: &'a mut [T], name: &str, key: impl Fn(&T) -> &str) -> &'a mut T {
    items
        .iter_mut()
        .find(|i| key(i) == name)
        .unwrap_or_else(|| panic!("no {name}"))
}
