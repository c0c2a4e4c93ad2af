//! Reads and writes of single objects and small collections: nodes, namespaces, ConfigMaps,
//! workloads and their rollouts, webhook configurations.

use std::collections::BTreeMap;

use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Node};
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Resource};
use serde_json::json;

use super::{Cluster, Error, Result};

/// Label istio-k8s puts on every object it manages (its resource handler's scope). Objects of the
/// same name without it belong to the sidecar-era control plane.
pub const ISTIO_K8S_MANAGED_LABEL: &str = "kubernetes-resource-handler-scope";

/// Field manager for ckf-migrator's writes, so `kubectl get --show-managed-fields` names it.
pub const FIELD_MANAGER: &str = "ckf-migrator";

/// A kind of workload whose pods ckf-migrator restarts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WorkloadKind {
    /// apps/v1 Deployment.
    Deployment,
    /// apps/v1 StatefulSet.
    StatefulSet,
    /// apps/v1 DaemonSet.
    DaemonSet,
}

/// A workload's rollout, as its status reports it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RolloutStatus {
    /// Pod-template annotations.
    pub template_annotations: BTreeMap<String, String>,
    /// `metadata.generation`.
    pub generation: i64,
    /// `status.observedGeneration`.
    pub observed_generation: i64,
    /// Pods wanted.
    pub desired: i64,
    /// Pods on the current template.
    pub updated: i64,
    /// Pods ready.
    pub ready: i64,
}

fn labels_of(meta: &kube::api::ObjectMeta) -> BTreeMap<String, String> {
    meta.labels.clone().unwrap_or_default()
}

impl Cluster {
    /// Labels of every node.
    ///
    /// # Errors
    /// Forbidden without cluster-scope read (missing `juju trust`), or the API failing.
    pub async fn node_labels(&self) -> Result<Vec<(String, BTreeMap<String, String>)>> {
        let nodes: Api<Node> = Api::all(self.client.clone());
        let all = ListParams::default();
        let list = super::retrying(|| nodes.list(&all))
            .await
            .map_err(|e| Error::api("list", "nodes", e))?;
        Ok(list
            .items
            .into_iter()
            .map(|n| {
                (
                    n.metadata.name.clone().unwrap_or_default(),
                    labels_of(&n.metadata),
                )
            })
            .collect())
    }

    /// Whether the service account can list nodes: the cheapest proof of cluster-scope trust.
    ///
    /// # Errors
    /// Any failure other than "forbidden".
    pub async fn can_list_nodes(&self) -> Result<bool> {
        // Only whether the list is allowed matters, so the answer is not decoded: on a real
        // cluster one node is several KiB of JSON (mostly its image list), and every
        // update-status asks.
        let nodes = kube::core::Request::new(Node::url_path(&(), None));
        let one = ListParams::default().limit(1);
        let list = || async {
            let request = nodes.list(&one).map_err(kube::Error::BuildRequest)?;
            self.client.request_text(request).await
        };
        match super::retrying(list).await {
            Ok(_) => Ok(true),
            Err(e) => {
                let err = Error::api("list", "nodes", e);
                if err.is_forbidden() {
                    Ok(false)
                } else {
                    Err(err)
                }
            }
        }
    }

    /// A namespace's phase (`Active`, `Terminating`), `None` if it does not exist.
    ///
    /// # Errors
    /// The API failing.
    pub async fn namespace_phase(&self, name: &str) -> Result<Option<String>> {
        let api: Api<Namespace> = Api::all(self.client.clone());
        let ns = super::retrying(|| api.get_opt(name))
            .await
            .map_err(|e| Error::api("get", format!("namespace {name}"), e))?;
        Ok(ns.map(|ns| {
            ns.status
                .and_then(|s| s.phase)
                .unwrap_or_else(|| "Active".into())
        }))
    }

    /// Every namespace with its labels.
    ///
    /// # Errors
    /// The API failing.
    pub async fn namespace_labels(&self) -> Result<BTreeMap<String, BTreeMap<String, String>>> {
        let api: Api<Namespace> = Api::all(self.client.clone());
        let mut out = BTreeMap::new();
        let mut params = ListParams::default().limit(super::PAGE_SIZE);
        loop {
            let page = super::retrying(|| api.list(&params))
                .await
                .map_err(|e| Error::api("list", "namespaces", e))?;
            for ns in page.items {
                out.insert(
                    ns.metadata.name.clone().unwrap_or_default(),
                    labels_of(&ns.metadata),
                );
            }
            match page.metadata.continue_.filter(|c| !c.is_empty()) {
                Some(token) => params = params.continue_token(&token),
                None => return Ok(out),
            }
        }
    }

    /// A ConfigMap's data, `None` if it does not exist.
    ///
    /// # Errors
    /// The API failing.
    pub async fn config_map_data(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<BTreeMap<String, String>>> {
        let cm: Option<ConfigMap> = self
            .get_in(namespace, name, &format!("ConfigMap {namespace}/{name}"))
            .await?;
        Ok(cm.map(|cm| cm.data.unwrap_or_default()))
    }

    /// Names of the ConfigMaps in `namespace` whose labels match `label_selector`
    /// (`kubectl get configmap -n <namespace> -l <label_selector>`), without their data.
    ///
    /// # Errors
    /// The API failing.
    pub async fn config_map_names(
        &self,
        namespace: &str,
        label_selector: &str,
    ) -> Result<Vec<String>> {
        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), namespace);
        let mut names = Vec::new();
        let mut params = ListParams::default()
            .labels(label_selector)
            .limit(super::PAGE_SIZE);
        loop {
            let page = super::retrying(|| api.list_metadata(&params))
                .await
                .map_err(|e| {
                    Error::api(
                        "list",
                        format!("ConfigMaps in {namespace} labelled {label_selector}"),
                        e,
                    )
                })?;
            names.extend(page.items.into_iter().filter_map(|cm| cm.metadata.name));
            match page.metadata.continue_.filter(|c| !c.is_empty()) {
                Some(token) => params = params.continue_token(&token),
                None => return Ok(names),
            }
        }
    }

    /// Merges keys into a ConfigMap's data (`kubectl patch --type merge`).
    ///
    /// # Errors
    /// The ConfigMap does not exist, or the API failing.
    pub async fn patch_config_map_data(
        &self,
        namespace: &str,
        name: &str,
        data: &BTreeMap<String, String>,
    ) -> Result<()> {
        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), namespace);
        api.patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({ "data": data })),
        )
        .await
        .map_err(|e| Error::api("patch", format!("ConfigMap {namespace}/{name}"), e))?;
        Ok(())
    }

    /// Creates a ConfigMap.
    ///
    /// # Errors
    /// It exists already (`is_conflict`), or the API failing.
    pub async fn create_config_map(
        &self,
        namespace: &str,
        name: &str,
        labels: BTreeMap<String, String>,
        data: BTreeMap<String, String>,
    ) -> Result<()> {
        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), namespace);
        let mut cm = ConfigMap {
            data: Some(data),
            ..ConfigMap::default()
        };
        cm.metadata.name = Some(name.into());
        cm.metadata.labels = Some(labels);
        api.create(
            &PostParams {
                field_manager: Some(FIELD_MANAGER.into()),
                ..PostParams::default()
            },
            &cm,
        )
        .await
        .map_err(|e| Error::api("create", format!("ConfigMap {namespace}/{name}"), e))?;
        Ok(())
    }

    /// A workload's rollout, `None` if it does not exist.
    ///
    /// # Errors
    /// The API failing.
    pub async fn rollout(
        &self,
        kind: WorkloadKind,
        namespace: &str,
        name: &str,
    ) -> Result<Option<RolloutStatus>> {
        let object = format!("{kind:?} {namespace}/{name}");
        Ok(match kind {
            WorkloadKind::Deployment => self
                .get_in::<Deployment>(namespace, name, &object)
                .await?
                .map(|d| {
                    let (spec, s) = (d.spec.unwrap_or_default(), d.status.unwrap_or_default());
                    rollout_status(
                        &d.metadata,
                        &spec.template,
                        spec.replicas.unwrap_or(1),
                        s.updated_replicas,
                        s.ready_replicas,
                        s.observed_generation,
                    )
                }),
            WorkloadKind::StatefulSet => self
                .get_in::<StatefulSet>(namespace, name, &object)
                .await?
                .map(|d| {
                    let (spec, s) = (d.spec.unwrap_or_default(), d.status.unwrap_or_default());
                    rollout_status(
                        &d.metadata,
                        &spec.template,
                        spec.replicas.unwrap_or(1),
                        s.updated_replicas,
                        s.ready_replicas,
                        s.observed_generation,
                    )
                }),
            WorkloadKind::DaemonSet => self
                .get_in::<DaemonSet>(namespace, name, &object)
                .await?
                .map(|d| {
                    let (spec, s) = (d.spec.unwrap_or_default(), d.status.unwrap_or_default());
                    rollout_status(
                        &d.metadata,
                        &spec.template,
                        s.desired_number_scheduled,
                        s.updated_number_scheduled,
                        Some(s.number_ready),
                        s.observed_generation,
                    )
                }),
        })
    }

    /// A namespaced object, `None` if it does not exist.
    async fn get_in<K>(&self, namespace: &str, name: &str, object: &str) -> Result<Option<K>>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
    {
        let api: Api<K> = Api::namespaced(self.client.clone(), namespace);
        super::retrying(|| api.get_opt(name))
            .await
            .map_err(|e| Error::api("get", object, e))
    }

    /// Restarts a workload's pods the way `kubectl rollout restart` does: a new
    /// `kubectl.kubernetes.io/restartedAt` pod-template annotation, plus `extra` annotations.
    ///
    /// # Errors
    /// The workload does not exist, or the API failing.
    pub async fn rollout_restart(
        &self,
        kind: WorkloadKind,
        namespace: &str,
        name: &str,
        extra: &BTreeMap<String, String>,
    ) -> Result<()> {
        let mut annotations = extra.clone();
        annotations.insert(
            "kubectl.kubernetes.io/restartedAt".into(),
            jiff::Timestamp::now().to_string(),
        );
        let patch = Patch::Merge(
            json!({ "spec": { "template": { "metadata": { "annotations": annotations } } } }),
        );
        let params = PatchParams {
            field_manager: Some(FIELD_MANAGER.into()),
            ..PatchParams::default()
        };
        let object = format!("{kind:?} {namespace}/{name}");
        let client = self.client.clone();
        match kind {
            WorkloadKind::Deployment => Api::<Deployment>::namespaced(client, namespace)
                .patch(name, &params, &patch)
                .await
                .map(drop),
            WorkloadKind::StatefulSet => Api::<StatefulSet>::namespaced(client, namespace)
                .patch(name, &params, &patch)
                .await
                .map(drop),
            WorkloadKind::DaemonSet => Api::<DaemonSet>::namespaced(client, namespace)
                .patch(name, &params, &patch)
                .await
                .map(drop),
        }
        .map_err(|e| Error::api("restart", object, e))
    }

    /// Whether a Deployment of the sidecar-era control plane is there: present and not managed by
    /// istio-k8s.
    ///
    /// # Errors
    /// The API failing.
    pub async fn legacy_deployment(&self, namespace: &str, name: &str) -> Result<bool> {
        let d: Option<Deployment> = self
            .get_in(namespace, name, &format!("Deployment {namespace}/{name}"))
            .await?;
        Ok(d.is_some_and(|d| !labels_of(d.meta()).contains_key(ISTIO_K8S_MANAGED_LABEL)))
    }

    /// Names of MutatingWebhookConfigurations carrying a webhook named `webhook` that istio-k8s
    /// does not manage.
    ///
    /// # Errors
    /// The API failing (forbidden without trust).
    pub async fn legacy_mutating_webhooks(&self, webhook: &str) -> Result<Vec<String>> {
        let api: Api<MutatingWebhookConfiguration> = Api::all(self.client.clone());
        let all = ListParams::default();
        let list = super::retrying(|| api.list(&all))
            .await
            .map_err(|e| Error::api("list", "mutatingwebhookconfigurations", e))?;
        Ok(list
            .items
            .into_iter()
            .filter(|c| !labels_of(&c.metadata).contains_key(ISTIO_K8S_MANAGED_LABEL))
            .filter(|c| c.webhooks.iter().flatten().any(|w| w.name == webhook))
            .filter_map(|c| c.metadata.name)
            .collect())
    }
}

/// A rollout from a workload's generation, pod template and status counters.
fn rollout_status(
    meta: &kube::api::ObjectMeta,
    template: &k8s_openapi::api::core::v1::PodTemplateSpec,
    desired: i32,
    updated: Option<i32>,
    ready: Option<i32>,
    observed_generation: Option<i64>,
) -> RolloutStatus {
    RolloutStatus {
        template_annotations: template_annotations(Some(template)),
        generation: meta.generation.unwrap_or(0),
        observed_generation: observed_generation.unwrap_or(0),
        desired: desired.into(),
        updated: updated.unwrap_or(0).into(),
        ready: ready.unwrap_or(0).into(),
    }
}

fn template_annotations(
    template: Option<&k8s_openapi::api::core::v1::PodTemplateSpec>,
) -> BTreeMap<String, String> {
    template
        .and_then(|t| t.metadata.as_ref())
        .and_then(|m| m.annotations.clone())
        .unwrap_or_default()
}
