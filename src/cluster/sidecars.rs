//! Where the istio-proxy sidecars are: pods listed cluster-wide in pages and reduced on arrival
//! to what matters (namespace, name, owner, sidecar or not), so memory does not grow with the
//! size of the pods' specs.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::Api;
use kube::api::ListParams;
use serde::Deserialize;

use super::objects::WorkloadKind;
use super::{Cluster, Error, PAGE_SIZE, Result};

/// Container and init-container names an injected sidecar brings.
const SIDECAR_INIT_CONTAINERS: [&str; 3] = ["istio-proxy", "istio-init", "istio-validation"];
/// Annotation the injector sets on every pod it mutates.
const SIDECAR_STATUS_ANNOTATION: &str = "sidecar.istio.io/status";
/// Label (or annotation) with which a pod opts out of injection.
const INJECT_KEY: &str = "sidecar.istio.io/inject";

/// A pod, reduced to what the sidecar inventory needs.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct PodSummary {
    /// Metadata (name, namespace, labels, annotations, owners).
    pub metadata: ObjectMeta,
    #[serde(default)]
    spec: Option<PodSpecNames>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct PodSpecNames {
    #[serde(default)]
    containers: Vec<Named>,
    #[serde(default)]
    init_containers: Vec<Named>,
}

#[derive(Debug, Clone, Deserialize, Default)]
struct Named {
    name: String,
}

impl k8s_openapi::Resource for PodSummary {
    const API_VERSION: &'static str = "v1";
    const GROUP: &'static str = "";
    const KIND: &'static str = "Pod";
    const VERSION: &'static str = "v1";
    const URL_PATH_SEGMENT: &'static str = "pods";
    type Scope = k8s_openapi::NamespaceResourceScope;
}

impl k8s_openapi::Metadata for PodSummary {
    type Ty = ObjectMeta;
    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn metadata_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

impl PodSummary {
    /// Whether the pod carries an istio-proxy sidecar: the container, one of the init containers
    /// the injector adds (native sidecars are init containers since Istio 1.27), or the
    /// injector's status annotation.
    pub fn has_sidecar(&self) -> bool {
        let spec = self.spec.as_ref();
        spec.is_some_and(|s| s.containers.iter().any(|c| c.name == "istio-proxy"))
            || spec.is_some_and(|s| {
                s.init_containers
                    .iter()
                    .any(|c| SIDECAR_INIT_CONTAINERS.contains(&c.name.as_str()))
            })
            || self
                .metadata
                .annotations
                .as_ref()
                .is_some_and(|a| a.contains_key(SIDECAR_STATUS_ANNOTATION))
    }

    /// Whether the pod asks not to be injected, by label or annotation: Istio reads both
    /// (istio.io, "Installing the Sidecar", Controlling the injection policy).
    pub fn opted_out(&self) -> bool {
        let says_no = |map: Option<&BTreeMap<String, String>>| {
            map.and_then(|m| m.get(INJECT_KEY))
                .is_some_and(|v| v == "false")
        };
        says_no(self.metadata.labels.as_ref()) || says_no(self.metadata.annotations.as_ref())
    }

    fn controller(&self) -> Option<&OwnerReference> {
        controller_of(&self.metadata)
    }
}

fn controller_of(meta: &ObjectMeta) -> Option<&OwnerReference> {
    let owners = meta.owner_references.as_deref()?;
    owners
        .iter()
        .find(|o| o.controller == Some(true))
        .or(owners.first())
}

/// A restartable workload whose pods carry sidecars.
#[derive(Debug, Clone, PartialEq)]
pub struct SidecarWorkload {
    /// Kind.
    pub kind: WorkloadKind,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// What controls the workload (`Notebook admin/my-notebook`), if anything.
    pub controller: Option<String>,
    /// Pods with sidecars.
    pub pods: Vec<String>,
}

/// Sidecar pods in a set of namespaces, grouped by what restarts them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SidecarReport {
    /// Restartable workloads.
    pub workloads: Vec<SidecarWorkload>,
    /// `namespace/pod: why it cannot be restarted`.
    pub unrestartable: Vec<String>,
}

impl Cluster {
    /// Lists pods cluster-wide, page by page, keeping only those `keep` accepts.
    ///
    /// # Errors
    /// The API failing on any page.
    pub async fn pods_where(&self, keep: impl Fn(&PodSummary) -> bool) -> Result<Vec<PodSummary>> {
        let api: Api<PodSummary> = Api::all(self.client.clone());
        let mut params = ListParams::default().limit(PAGE_SIZE);
        let mut out = Vec::new();
        loop {
            let page = super::retrying(|| api.list(&params))
                .await
                .map_err(|e| Error::api("list", "pods", e))?;
            out.extend(page.items.into_iter().filter(|p| keep(p)));
            match page.metadata.continue_.filter(|c| !c.is_empty()) {
                Some(token) => params = params.continue_token(&token),
                None => return Ok(out),
            }
        }
    }

    /// Pods with sidecars in `namespaces`, grouped by the Deployment, StatefulSet or DaemonSet that
    /// restarts them.
    ///
    /// # Errors
    /// The API failing.
    pub async fn sidecars_in(&self, namespaces: &BTreeSet<String>) -> Result<SidecarReport> {
        self.workloads_of(namespaces, PodSummary::has_sidecar).await
    }

    /// Pods in `namespaces` without a sidecar that the injector would give one (not opted out
    /// with `sidecar.istio.io/inject: "false"`), grouped as [`Cluster::sidecars_in`] groups
    /// them: what a restore restarts once the namespaces are labelled for injection again.
    ///
    /// # Errors
    /// The API failing.
    pub async fn missing_sidecars_in(
        &self,
        namespaces: &BTreeSet<String>,
    ) -> Result<SidecarReport> {
        self.workloads_of(namespaces, |p| !p.has_sidecar() && !p.opted_out())
            .await
    }

    /// Pods in `namespaces` that `keep` accepts, grouped by the workload that restarts them.
    async fn workloads_of(
        &self,
        namespaces: &BTreeSet<String>,
        keep: impl Fn(&PodSummary) -> bool,
    ) -> Result<SidecarReport> {
        let pods = self
            .pods_where(|p| {
                keep(p)
                    && p.metadata
                        .namespace
                        .as_ref()
                        .is_some_and(|ns| namespaces.contains(ns))
            })
            .await?;
        let mut workloads: BTreeMap<(WorkloadKind, String, String), Vec<String>> = BTreeMap::new();
        let mut unrestartable = Vec::new();
        // Many pods share a ReplicaSet: look each up once.
        let mut deployments: BTreeMap<(String, String), Option<String>> = BTreeMap::new();
        for pod in &pods {
            let namespace = pod.metadata.namespace.clone().unwrap_or_default();
            let name = pod.metadata.name.clone().unwrap_or_default();
            let owner = match pod.controller() {
                None => {
                    unrestartable.push(format!("{namespace}/{name}: no owner"));
                    continue;
                }
                Some(owner) => owner,
            };
            let workload = match owner.kind.as_str() {
                "ReplicaSet" => {
                    let key = (namespace.clone(), owner.name.clone());
                    if !deployments.contains_key(&key) {
                        let deployment = self.replica_set_owner(&namespace, &owner.name).await?;
                        deployments.insert(key.clone(), deployment);
                    }
                    match deployments.get(&key).cloned().flatten() {
                        Some(deployment) => (WorkloadKind::Deployment, deployment),
                        None => {
                            unrestartable.push(format!(
                                "{namespace}/{name}: ReplicaSet {} has no Deployment",
                                owner.name
                            ));
                            continue;
                        }
                    }
                }
                "StatefulSet" => (WorkloadKind::StatefulSet, owner.name.clone()),
                "DaemonSet" => (WorkloadKind::DaemonSet, owner.name.clone()),
                other => {
                    unrestartable.push(format!(
                        "{namespace}/{name}: owned by {other} {}",
                        owner.name
                    ));
                    continue;
                }
            };
            workloads
                .entry((workload.0, namespace, workload.1))
                .or_default()
                .push(name);
        }
        let mut report = SidecarReport {
            workloads: Vec::new(),
            unrestartable,
        };
        for ((kind, namespace, name), pods) in workloads {
            let controller = self.workload_controller(kind, &namespace, &name).await?;
            report.workloads.push(SidecarWorkload {
                kind,
                namespace,
                name,
                controller,
                pods,
            });
        }
        Ok(report)
    }

    async fn replica_set_owner(&self, namespace: &str, name: &str) -> Result<Option<String>> {
        let api: Api<ReplicaSet> = Api::namespaced(self.client.clone(), namespace);
        let rs = super::retrying(|| api.get_opt(name))
            .await
            .map_err(|e| Error::api("get", format!("ReplicaSet {namespace}/{name}"), e))?;
        Ok(rs.and_then(|rs| {
            controller_of(&rs.metadata)
                .filter(|o| o.kind == "Deployment")
                .map(|o| o.name.clone())
        }))
    }

    /// What controls a workload (a Notebook's StatefulSet, an InferenceService's Deployment), as
    /// `Kind namespace/name`.
    async fn workload_controller(
        &self,
        kind: WorkloadKind,
        namespace: &str,
        name: &str,
    ) -> Result<Option<String>> {
        let object = format!("{kind:?} {namespace}/{name}");
        let client = self.client.clone();
        let meta = match kind {
            WorkloadKind::StatefulSet => {
                let api = Api::<StatefulSet>::namespaced(client, namespace);
                super::retrying(|| api.get_opt(name))
                    .await
                    .map(|o| o.map(|o| o.metadata))
            }
            WorkloadKind::Deployment => {
                let api = Api::<Deployment>::namespaced(client, namespace);
                super::retrying(|| api.get_opt(name))
                    .await
                    .map(|o| o.map(|o| o.metadata))
            }
            WorkloadKind::DaemonSet => return Ok(None),
        }
        .map_err(|e| Error::api("get", object, e))?;
        Ok(meta
            .and_then(|m| controller_of(&m).map(|o| format!("{} {namespace}/{}", o.kind, o.name))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(json: serde_json::Value) -> PodSummary {
        serde_json::from_value(json).expect("pod summary")
    }

    #[test]
    fn sidecars_are_found_as_containers_native_init_containers_or_by_annotation() {
        assert!(pod(serde_json::json!({"metadata": {"name": "a"}, "spec": {"containers": [{"name": "main"}, {"name": "istio-proxy"}]}})).has_sidecar());
        assert!(pod(serde_json::json!({"metadata": {"name": "b"}, "spec": {"containers": [{"name": "main"}], "initContainers": [{"name": "istio-proxy"}]}})).has_sidecar());
        assert!(pod(serde_json::json!({"metadata": {"name": "c", "annotations": {"sidecar.istio.io/status": "{}"}}, "spec": {"containers": [{"name": "main"}]}})).has_sidecar());
        assert!(!pod(serde_json::json!({"metadata": {"name": "d", "annotations": {"ambient.istio.io/redirection": "enabled"}}, "spec": {"containers": [{"name": "main"}]}})).has_sidecar());
    }

    #[test]
    fn a_pod_opts_out_of_injection_by_label_or_annotation() {
        assert!(pod(serde_json::json!({"metadata": {"name": "a", "labels": {"sidecar.istio.io/inject": "false"}}})).opted_out());
        assert!(pod(serde_json::json!({"metadata": {"name": "b", "annotations": {"sidecar.istio.io/inject": "false"}}})).opted_out());
        assert!(!pod(serde_json::json!({"metadata": {"name": "c", "labels": {"sidecar.istio.io/inject": "true"}}})).opted_out());
        assert!(!pod(serde_json::json!({"metadata": {"name": "d"}})).opted_out());
    }
}
