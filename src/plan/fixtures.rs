//! Builders for observed states, so each test's input reads as one line (tests only).

use std::collections::BTreeMap;

use super::*;

/// An application with one active/idle unit, config and trust read.
pub(crate) fn app(name: &str, charm: &str, channel: &str) -> App {
    App {
        name: name.into(),
        charm: charm.into(),
        channel: channel.into(),
        revision: Some(100),
        dying: false,
        units: vec![Unit {
            name: format!("{name}/0"),
            workload: Status::new("active", ""),
            agent: Status::new("idle", ""),
        }],
        config: Some(BTreeMap::new()),
        trust: Some(false),
        user_set: Some(Default::default()),
    }
}

impl App {
    pub(crate) fn workload(mut self, current: &str, message: &str) -> Self {
        for unit in &mut self.units {
            unit.workload = Status::new(current, message);
        }
        self
    }

    pub(crate) fn agent(mut self, current: &str) -> Self {
        for unit in &mut self.units {
            unit.agent = Status::new(current, "");
        }
        self
    }

    pub(crate) fn dying(mut self) -> Self {
        self.dying = true;
        self
    }

    pub(crate) fn config(mut self, key: &str, value: &str) -> Self {
        self.config
            .get_or_insert_with(BTreeMap::new)
            .insert(key.into(), value.into());
        self
    }

    pub(crate) fn trusted(mut self) -> Self {
        self.trust = Some(true);
        self
    }

    pub(crate) fn revision(mut self, revision: i64) -> Self {
        self.revision = Some(revision);
        self
    }
}

impl Observed {
    pub(crate) fn with(mut self, app: App) -> Self {
        self.applications.insert(app.name.clone(), app);
        self
    }

    pub(crate) fn without(mut self, name: &str) -> Self {
        self.applications.remove(name);
        self
    }

    pub(crate) fn related(mut self, a: &str, b: &str) -> Self {
        self.add_relation(a.parse().expect("endpoint"), b.parse().expect("endpoint"));
        self
    }
}

/// The builtin plan bound to MicroK8s and the `kubeflow` model.
pub(crate) fn microk8s() -> Resolved {
    Plan::builtin()
        .expect("builtin plan")
        .resolve(Params {
            model: "kubeflow".into(),
            platform: Platform::Microk8s,
            restart_workloads: false,
        })
        .expect("resolves")
}

/// A CKF 1.11/stable model as the bundle deploys it, with the cluster as the sidecar control plane
/// leaves it.
pub(crate) fn ckf_1_11(plan: &Plan) -> Observed {
    let mut observed = Observed::default();
    for role in plan.roles.values() {
        if let Some(track) = &role.ckf_track {
            observed = observed.with(app(&role.name, &role.charm, &format!("{track}/stable")));
        }
    }
    observed.cluster.legacy = [
        (
            LegacyObject::Deployment {
                namespace: "kubeflow".into(),
                name: "istiod".into(),
            },
            vec!["istiod".into()],
        ),
        (
            LegacyObject::MutatingWebhook {
                webhook: "sidecar-injector.istio.io".into(),
            },
            vec!["istio-sidecar-injector".into()],
        ),
    ]
    .into();
    observed.cluster.namespaces = [
        ("knative-serving".into(), Some("Active".into())),
        ("knative-eventing".into(), Some("Active".into())),
    ]
    .into();
    observed.cluster.profile_namespaces = Some(vec![ProfileNamespace {
        name: "admin".into(),
        labels: [("istio-injection".to_string(), "enabled".to_string())].into(),
    }]);
    observed.cluster.sidecars = Some(SidecarInventory {
        workloads: vec![
            sidecar_workload("ml-pipeline-ui-artifact", WorkloadKind::Deployment, None),
            sidecar_workload(
                "my-notebook",
                WorkloadKind::StatefulSet,
                Some("Notebook admin/my-notebook"),
            ),
        ],
        unrestartable: Vec::new(),
    });
    observed
}

pub(crate) fn sidecar_workload(
    name: &str,
    kind: WorkloadKind,
    controller: Option<&str>,
) -> SidecarWorkload {
    SidecarWorkload {
        workload: WorkloadRef {
            kind,
            namespace: "admin".into(),
            name: name.into(),
        },
        controller: controller.map(str::to_string),
        pods: vec![format!("{name}-0")],
    }
}

/// The state every fact of `resolved` asks for: the target of the migration.
pub(crate) fn migrated(resolved: &Resolved) -> Observed {
    let plan = &resolved.plan;
    let mut observed = Observed::default();
    for phase in &plan.phases {
        for fact in &phase.facts {
            match &fact.kind {
                FactKind::Deployed {
                    role,
                    channel,
                    trust,
                    config,
                    ..
                } => {
                    let mut a = app(role, &plan.roles[role].charm, &channel.to_string());
                    a.trust = Some(*trust);
                    a.config = Some(config.clone());
                    observed = observed.with(a);
                }
                FactKind::Refreshed {
                    role,
                    channel,
                    trust,
                    ..
                } => {
                    let mut a = app(role, &plan.roles[role].charm, &channel.to_string());
                    a.trust = Some(*trust);
                    observed = observed.with(a);
                }
                _ => {}
            }
        }
    }
    for phase in &plan.phases {
        for fact in &phase.facts {
            match &fact.kind {
                FactKind::Related { a, b } => observed.add_relation(a.clone(), b.clone()),
                FactKind::Configured { role, config, .. } => {
                    if let Some(app) = observed.applications.get_mut(role) {
                        app.config
                            .get_or_insert_with(BTreeMap::new)
                            .extend(config.clone());
                    }
                }
                FactKind::LegacyGone(object) => {
                    observed.cluster.legacy.insert(object.clone(), Vec::new());
                }
                FactKind::NamespaceGone { namespace } => {
                    observed.cluster.namespaces.insert(namespace.clone(), None);
                }
                _ => {}
            }
        }
    }
    observed.cluster.profile_namespaces = Some(vec![ProfileNamespace {
        name: "admin".into(),
        labels: [("istio.io/dataplane-mode".to_string(), "ambient".to_string())].into(),
    }]);
    observed.cluster.sidecars = Some(SidecarInventory::default());
    observed
}
