//! A running twin: the Juju controller, the Kubernetes API and the ingress on loopback, one model
//! and one store kept in step by the coupling.
//!
//! [`Sim::start`] brings a [`Twin`] description up; the handle gives addresses, credentials and
//! the state, and stops everything on drop (like mini-redis' server handle).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::coupling::desired::Environment;
use crate::coupling::sync::Coupling;
use crate::fixtures::guide::Step;
use crate::fixtures::{JujuVersion, Twin, cluster};
use crate::ingress::{Ingress, IngressFaults};
use crate::juju::ControllerHandle;
use crate::kube::{self, Access as KubeAccess, Auth, ServerHandle, Store};
use crate::model::{self, Access, ControllerVersion, Model, ModelConfig, Timing};
use crate::tls::Authority;

/// Address the ingress LoadBalancer publishes.
pub const INGRESS_IP: &str = "127.0.0.50";
/// Address the old ingress gateway's LoadBalancer published.
pub const LEGACY_INGRESS_IP: &str = "127.0.0.51";
/// The Juju user the twin creates, with admin access to the model.
pub const ADMIN_USER: &str = "admin";
/// Bearer token with cluster-admin rights (what a trusted charm's service account has).
pub const TRUSTED_TOKEN: &str = "ckf-sim-trusted-token";
/// Bearer token limited to the model's namespace (a charm deployed without `--trust`).
pub const UNTRUSTED_TOKEN: &str = "ckf-sim-untrusted-token";

/// A running twin; everything stops on drop.
pub struct Sim {
    twin: Twin,
    model: Model,
    store: Store,
    coupling: Arc<Coupling>,
    juju: ControllerHandle,
    juju_ca: String,
    kube: ServerHandle,
    kube_ca: String,
    ingress: Ingress,
    admin_password: String,
    follower: JoinHandle<()>,
    /// Starts the pods of rollouts after their delay.
    rollouts: JoinHandle<()>,
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.follower.abort();
        self.rollouts.abort();
    }
}

impl Sim {
    /// Brings `twin` up on random loopback ports.
    ///
    /// # Errors
    /// A port cannot be bound, a certificate cannot be made, or the fixture is inconsistent (a
    /// bug of the twin).
    pub async fn start(twin: Twin) -> anyhow::Result<Sim> {
        let timing = Timing { scale: twin.timing };
        let model = Model::new(ModelConfig {
            name: twin.model.clone(),
            version: match twin.juju_version {
                JujuVersion::V3_6_0 => ControllerVersion::V3_6_0,
                JujuVersion::V3_6_11 => ControllerVersion::V3_6_11,
            },
            timing,
            ingress_address: INGRESS_IP.into(),
            ..ModelConfig::default()
        });
        let admin_password = format!("ckf-sim-{}", model::new_uuid());
        model.add_user(ADMIN_USER, &admin_password, Access::Admin);

        let ingress_listener = TcpListener::bind((INGRESS_IP, 0)).await?;
        let env = Environment {
            profiles: twin.profile_names(),
            ingress_ip: INGRESS_IP.into(),
            ingress_port: ingress_listener.local_addr()?.port(),
            legacy_ingress_ip: LEGACY_INGRESS_IP.into(),
        };

        let bundle = twin.bundle();
        for (name, app) in &bundle.applications {
            let config: Vec<(&str, &str)> = app
                .config
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            // CKF deploys its charms trusted, except minio (ckf-ambient.md §2.2).
            model
                .deploy_settled(name, &app.charm, &app.channel, &config, name != "minio")
                .map_err(api)?;
        }
        for [a, b] in &bundle.relations {
            model.relate_settled(a, b).map_err(api)?;
        }

        let store = Store::new();
        for (group, versions, kind, plural, namespaced) in cluster::base_crds(&twin) {
            store
                .apply(kube::crd(group, versions, kind, plural, namespaced))
                .map_err(kube_api)?;
        }
        for object in cluster::platform(&twin)
            .into_iter()
            .chain(cluster::profiles(&twin))
        {
            store.apply(object).map_err(kube_api)?;
        }
        let coupling = Coupling::new(model.clone(), store.clone(), env);
        for object in cluster::workloads(&twin) {
            store.apply(object).map_err(kube_api)?;
        }
        for step in twin.steps_done() {
            replay(&model, &store, &twin, &step)?;
            coupling.sync();
        }
        if twin.stage == crate::fixtures::Stage::Migrated {
            // As a complete migration leaves it: every sidecar pod in the profile namespaces
            // recreated (restart-workloads).
            recycle_sidecars(&store, &twin);
        }

        let controller = crate::juju::start(model.clone()).await?;
        let ca = Authority::generate("ckf-sim Kubernetes CA")?;
        let leaf = ca.server(&["127.0.0.1", "localhost"], crate::kube::ALPN)?;
        let auth = Auth::new()
            .with_user(
                TRUSTED_TOKEN,
                &format!("system:serviceaccount:{}:ckf-migrator", twin.model),
                KubeAccess::ClusterAdmin,
            )
            .with_user(
                UNTRUSTED_TOKEN,
                &format!("system:serviceaccount:{}:ckf-migrator", twin.model),
                KubeAccess::Namespace(twin.model.clone()),
            );
        let kube_listener = TcpListener::bind("127.0.0.1:0").await?;
        let kube = kube::serve(store.clone(), kube_listener, leaf.config, auth).await?;
        let ingress = Ingress::serve(ingress_listener, store.clone(), twin.model.clone())?;
        let follower = coupling.follow();
        // From here on rollouts take time; the fixture above was built settled.
        let rollouts = store.pace_rollouts(timing.pod_start());
        Ok(Sim {
            twin,
            model,
            store,
            coupling,
            juju: controller.handle,
            juju_ca: controller.ca_pem,
            kube,
            kube_ca: ca.ca_pem(),
            ingress,
            admin_password,
            follower,
            rollouts,
        })
    }

    /// The description this twin was started from.
    pub fn twin(&self) -> &Twin {
        &self.twin
    }

    /// The Juju model (state, events, faults, request counts).
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The Kubernetes store (objects, faults, request log).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Makes the cluster match the model now, without waiting for the next model event.
    pub fn sync(&self) {
        self.coupling.sync();
    }

    /// The controller's API address, `127.0.0.1:PORT` (what `JUJU_API_ADDRESSES` holds).
    pub fn juju_address(&self) -> String {
        self.juju.api_address()
    }

    /// The controller CA in PEM (agent.conf's `cacert`).
    pub fn juju_ca_pem(&self) -> &str {
        &self.juju_ca
    }

    /// The model's UUID.
    pub fn model_uuid(&self) -> &str {
        self.model.uuid()
    }

    /// The model's name.
    pub fn model_name(&self) -> &str {
        self.model.name()
    }

    /// The admin user's password.
    pub fn admin_password(&self) -> &str {
        &self.admin_password
    }

    /// Adds a Juju user with this access to the model.
    pub fn add_user(&self, name: &str, password: &str, access: Access) {
        self.model.add_user(name, password, access);
    }

    /// The Kubernetes API's URL.
    pub fn kube_url(&self) -> String {
        self.kube.url()
    }

    /// A kubeconfig for the Kubernetes API, as the charm's service account (trusted unless the
    /// twin says otherwise).
    pub fn kubeconfig(&self) -> String {
        let token = if self.twin.untrusted {
            UNTRUSTED_TOKEN
        } else {
            TRUSTED_TOKEN
        };
        kube::kubeconfig(&self.kube.url(), &self.kube_ca, token, &self.twin.model)
    }

    /// Writes [`Sim::kubeconfig`] into `dir` and returns the file's path. It carries a bearer
    /// token, so it is readable by this user only (mode 0600), as kubectl keeps its own.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn write_kubeconfig(&self, dir: &Path) -> std::io::Result<PathBuf> {
        use std::io::Write;
        let path = dir.join("kubeconfig");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&path)?;
        #[cfg(unix)]
        file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
        file.write_all(self.kubeconfig().as_bytes())?;
        Ok(path)
    }

    /// The ingress's URL, as its LoadBalancer Service publishes it.
    pub fn ingress_url(&self) -> String {
        format!("http://{}", self.ingress.addr())
    }

    /// The ingress's fault knobs.
    pub fn ingress_faults(&self) -> &IngressFaults {
        self.ingress.faults()
    }
}

fn api(e: model::ApiError) -> anyhow::Error {
    anyhow::anyhow!("twin fixture: {}", e.message)
}

fn kube_api(e: kube::ApiError) -> anyhow::Error {
    anyhow::anyhow!("twin fixture: {e:?}")
}

/// Runs one command of the guide against the twin, settled at once.
fn replay(model: &Model, store: &Store, twin: &Twin, step: &Step) -> anyhow::Result<()> {
    match step {
        Step::PatchCiliumConfig { key, value } => {
            store
                .patch_merge(
                    "v1",
                    "ConfigMap",
                    Some("kube-system"),
                    "cilium-config",
                    json!({ "data": { key: value } }),
                )
                .map_err(kube_api)?;
        }
        Step::RestartCilium => restart(store, "DaemonSet", "kube-system", "cilium")?,
        Step::Remove { app } => model.remove_settled(app).map_err(api)?,
        Step::Deploy {
            charm,
            channel,
            trust,
            config,
        } => {
            let config: Vec<(&str, &str)> = config
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            model
                .deploy_settled(charm, charm, channel, &config, *trust)
                .map_err(api)?;
        }
        Step::Integrate { a, b } => {
            model.relate_settled(a, b).map_err(api)?;
        }
        Step::Refresh {
            app,
            channel,
            trust,
        } => {
            model.refresh_settled(app, channel).map_err(api)?;
            if *trust {
                model
                    .configure_settled(app, &[("trust", "true")])
                    .map_err(api)?;
            }
        }
        Step::Config { app, key, value } => {
            model.configure_settled(app, &[(key, value)]).map_err(api)?
        }
        Step::DeletePods { app_label } => {
            for namespace in twin.profile_names() {
                for pod in store.list(
                    "v1",
                    "Pod",
                    Some(&namespace),
                    Some(&format!("app={app_label}")),
                ) {
                    if let Some(name) = pod.pointer("/metadata/name").and_then(Value::as_str) {
                        store.delete("v1", "Pod", Some(&namespace), name);
                    }
                }
            }
        }
    }
    Ok(())
}

/// `kubectl rollout restart`: a new pod-template annotation.
fn restart(store: &Store, kind: &str, namespace: &str, name: &str) -> anyhow::Result<()> {
    let patch = json!({ "spec": { "template": { "metadata": { "annotations": {
        "kubectl.kubernetes.io/restartedAt": jiff::Timestamp::now().to_string()
    } } } } });
    store
        .patch_merge("apps/v1", kind, Some(namespace), name, patch)
        .map_err(kube_api)?;
    Ok(())
}

/// Deletes every pod with a sidecar in the profile namespaces; their controllers recreate them.
fn recycle_sidecars(store: &Store, twin: &Twin) {
    for namespace in twin.profile_names() {
        for pod in store.list("v1", "Pod", Some(&namespace), None) {
            let sidecar = pod
                .pointer("/metadata/annotations/sidecar.istio.io~1status")
                .is_some();
            if let (true, Some(name)) = (
                sidecar,
                pod.pointer("/metadata/name").and_then(Value::as_str),
            ) {
                store.delete("v1", "Pod", Some(&namespace), name);
            }
        }
    }
}
