//! One read-only pass over the cluster for `verify`: every kind it needs, each listed once —
//! cluster-wide, or in the one namespace where it lives — page by page, and reduced on arrival to
//! the few fields the checks read.
//!
//! The number of requests does not depend on the number of namespaces: there is no per-namespace
//! or per-object request, except a few GETs whose number is bounded by the webhooks and the fixed
//! objects (`kube-system/cilium-config`, the legacy Istio objects). Each listing is its own
//! `Result`, so one unreadable kind fails only the checks that read it.
//!
//! This module knows Kubernetes and nothing of Juju or of what the checks conclude. Start reading
//! at [`Cluster::snapshot`], then [`ClusterSnapshot`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use kube::api::{GetParams, ListParams};
use kube::core::Request;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Deserializer};

use super::objects::{ISTIO_K8S_MANAGED_LABEL, WorkloadKind};
use super::{Cluster, Error, PAGE_SIZE};

/// Page size for CustomResourceDefinitions, whose OpenAPI schemas make each object large.
const CRD_PAGE_SIZE: u32 = 50;

/// Container and init-container names an injected sidecar brings.
const SIDECAR_CONTAINERS: [&str; 3] = ["istio-proxy", "istio-init", "istio-validation"];
/// Annotation the injector sets on every pod it mutates.
const SIDECAR_STATUS_ANNOTATION: &str = "sidecar.istio.io/status";
/// Annotation istio-cni sets on pods it has enrolled in ambient mode.
const AMBIENT_REDIRECTION_ANNOTATION: &str = "ambient.istio.io/redirection";

/// A listing that could not be read. Cheap to clone, so several checks can quote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    /// What was being read (`pods`, `Deployment kubeflow/istiod`, `the model's status`).
    pub what: String,
    /// Why it failed.
    pub cause: String,
    /// The server refused for lack of permission.
    pub forbidden: bool,
}

impl ReadError {
    /// A read failure outside Kubernetes (the Juju side uses it too).
    pub fn new(what: impl Into<String>, cause: impl fmt::Display) -> Self {
        Self {
            what: what.into(),
            cause: cause.to_string(),
            forbidden: false,
        }
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot read {}: {}", self.what, self.cause)?;
        if self.forbidden {
            f.write_str(" (grant the charm cluster access: `juju trust <app> --scope=cluster`)")?;
        }
        Ok(())
    }
}

impl std::error::Error for ReadError {}

impl From<Error> for ReadError {
    fn from(e: Error) -> Self {
        let forbidden = e.is_forbidden();
        let (what, cause) = match &e {
            Error::Api { object, cause, .. } => (object.clone(), super::error::describe(cause)),
            Error::Config(message) => ("the cluster".to_string(), message.clone()),
        };
        Self {
            what,
            cause,
            forbidden,
        }
    }
}

/// What a listing yields.
pub type Read<T> = Result<T, ReadError>;

/// An object's controller (or first owner).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Owner {
    /// Kind (`ReplicaSet`, `StatefulSet`, `Notebook`, …).
    pub kind: String,
    /// Name (same namespace as the owned object).
    pub name: String,
}

/// A pod, reduced on arrival.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodInfo {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Controller.
    pub owner: Option<Owner>,
    /// Carries an istio-proxy sidecar (container, injected init container, or the injector's
    /// status annotation).
    pub sidecar: bool,
    /// istio-cni enrolled it in ambient mode (`ambient.istio.io/redirection=enabled`).
    pub ambient_redirected: bool,
}

/// The Kubernetes kind of a workload.
pub fn kind_name(kind: WorkloadKind) -> &'static str {
    match kind {
        WorkloadKind::Deployment => "Deployment",
        WorkloadKind::StatefulSet => "StatefulSet",
        WorkloadKind::DaemonSet => "DaemonSet",
    }
}

fn plural(kind: WorkloadKind) -> &'static str {
    match kind {
        WorkloadKind::Deployment => "deployments",
        WorkloadKind::StatefulSet => "statefulsets",
        WorkloadKind::DaemonSet => "daemonsets",
    }
}

/// A Deployment, StatefulSet or DaemonSet, reduced on arrival.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkloadInfo {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Controller (a Notebook owns its StatefulSet, an InferenceService its Deployment).
    pub owner: Option<Owner>,
    /// `metadata.generation`.
    pub generation: i64,
    /// `status.observedGeneration`.
    pub observed_generation: i64,
    /// Pods wanted (`spec.replicas`, default 1; a DaemonSet's `desiredNumberScheduled`).
    pub desired: i64,
    /// Pods ready (`readyReplicas`, `numberReady`).
    pub ready: i64,
    /// Pods on the current template (`updatedReplicas`, `updatedNumberScheduled`).
    pub updated: i64,
    /// Pod-template labels.
    pub template_labels: BTreeMap<String, String>,
    /// Literal environment values of every container of the template, by variable.
    pub env: BTreeMap<String, String>,
}

impl WorkloadInfo {
    /// Every wanted pod is ready and runs the current template (and there is at least one).
    pub fn fully_ready(&self) -> bool {
        self.desired > 0
            && self.ready >= self.desired
            && self.updated >= self.desired
            && self.observed_generation >= self.generation
    }

    /// `ready/desired ready, updated/desired updated`, for messages.
    pub fn counts(&self) -> String {
        format!(
            "{}/{} ready, {}/{} updated",
            self.ready, self.desired, self.updated, self.desired
        )
    }
}

/// A Service, reduced on arrival.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceInfo {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// `spec.type` (`ClusterIP`, `LoadBalancer`, …).
    pub service_type: String,
    /// Ports: name (may be empty) and port.
    pub ports: Vec<(String, i32)>,
    /// `status.loadBalancer.ingress[]`: each entry's `ip`, else its `hostname`.
    pub load_balancer: Vec<String>,
}

/// A namespace, reduced on arrival.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NamespaceInfo {
    /// Name.
    pub name: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// `status.phase` (`Active`, `Terminating`).
    pub phase: String,
}

/// A `metav1.Condition`, reduced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Condition {
    /// `type`.
    pub kind: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// `reason`.
    pub reason: String,
    /// `message`.
    pub message: String,
}

/// Whether `conditions` has `kind` with status `True`.
pub fn condition_true(conditions: &[Condition], kind: &str) -> bool {
    conditions
        .iter()
        .any(|c| c.kind == kind && c.status == "True")
}

/// `gateway.networking.k8s.io/v1 GatewayClass`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GatewayClassInfo {
    /// Name.
    pub name: String,
    /// `status.conditions`.
    pub conditions: Vec<Condition>,
}

/// `gateway.networking.k8s.io/v1 Gateway`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GatewayInfo {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// `spec.gatewayClassName`.
    pub class: String,
    /// `status.conditions`.
    pub conditions: Vec<Condition>,
    /// `status.addresses[].value`.
    pub addresses: Vec<String>,
}

/// A `parentRef` or `backendRef`: the namespace is the route's when not given.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct RouteRef {
    /// Kind (`Gateway`, `Service`); empty when not given (the default for the field).
    pub kind: String,
    /// Namespace, resolved against the route's.
    pub namespace: String,
    /// Name.
    pub name: String,
}

/// One parent's status on a route.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteParentStatus {
    /// The parent.
    pub parent: RouteRef,
    /// Its conditions.
    pub conditions: Vec<Condition>,
}

/// `gateway.networking.k8s.io/v1 HTTPRoute`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpRouteInfo {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// `spec.parentRefs`.
    pub parents: Vec<RouteRef>,
    /// Path values of every rule's matches.
    pub paths: Vec<String>,
    /// Every rule's `backendRefs`.
    pub backends: Vec<RouteRef>,
    /// `status.parents`.
    pub status: Vec<RouteParentStatus>,
}

/// `security.istio.io/v1 AuthorizationPolicy`, reduced to what the checks judge.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizationPolicyInfo {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// `spec.action` (empty means ALLOW).
    pub action: String,
    /// `spec.provider.name` (CUSTOM policies).
    pub provider: String,
    /// `spec.selector` is set.
    pub has_selector: bool,
    /// `spec.targetRefs` (and the older `spec.targetRef`), as `Kind/name`.
    pub target_refs: Vec<String>,
    /// A rule uses L7 attributes (`to[].operation` paths, methods or hosts, or a `when` key on
    /// `request.*`), which ztunnel cannot enforce.
    pub l7: bool,
}

/// A webhook of a Mutating- or ValidatingWebhookConfiguration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookInfo {
    /// `webhooks[].name`.
    pub name: String,
    /// `clientConfig.service` as (namespace, name), when the webhook calls a Service.
    pub service: Option<(String, String)>,
}

/// A Mutating- or ValidatingWebhookConfiguration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookConfigInfo {
    /// `MutatingWebhookConfiguration` or `ValidatingWebhookConfiguration`.
    pub kind: String,
    /// Name.
    pub name: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Its webhooks.
    pub webhooks: Vec<WebhookInfo>,
}

impl WebhookConfigInfo {
    /// Managed by istio-k8s (its resource handler's scope label).
    pub fn managed_by_istio_k8s(&self) -> bool {
        self.labels.contains_key(ISTIO_K8S_MANAGED_LABEL)
    }
}

/// `serving.kserve.io/v1beta1 InferenceService`, reduced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InferenceServiceInfo {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// `status.deploymentMode`, else the `serving.kserve.io/deploymentMode` annotation (KServe's
    /// own order).
    pub mode: Option<String>,
    /// The `Ready` condition's status, if reported.
    pub ready: Option<String>,
}

impl InferenceServiceInfo {
    /// Served by Knative.
    pub fn is_serverless(&self) -> bool {
        self.mode
            .as_deref()
            .is_some_and(|m| m.eq_ignore_ascii_case("serverless"))
    }
}

/// Objects of the sidecar-era control plane, by whether they exist.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LegacyIstio {
    /// `networking.istio.io/v1 Gateway <ns>/kubeflow-gateway` exists.
    pub kubeflow_gateway: bool,
    /// `networking.istio.io/v1alpha3 EnvoyFilter <ns>/istio-pilot-authn-filter` exists.
    pub authn_filter: bool,
}

/// Everything `verify` reads from the cluster.
#[derive(Debug, Clone)]
pub struct ClusterSnapshot {
    /// The model namespace the snapshot centres on.
    pub namespace: String,
    /// Labels of every node.
    pub nodes: Read<Vec<BTreeMap<String, String>>>,
    /// Every namespace.
    pub namespaces: Read<Vec<NamespaceInfo>>,
    /// ConfigMaps of the model namespace: name → data.
    pub config_maps: Read<BTreeMap<String, BTreeMap<String, String>>>,
    /// `kube-system/cilium-config` data, `None` when absent.
    pub cilium_config: Read<Option<BTreeMap<String, String>>>,
    /// Deployments of the model namespace.
    pub deployments: Read<Vec<WorkloadInfo>>,
    /// StatefulSets of the model namespace.
    pub stateful_sets: Read<Vec<WorkloadInfo>>,
    /// DaemonSets of the model namespace.
    pub daemon_sets: Read<Vec<WorkloadInfo>>,
    /// `kube-system/cilium` DaemonSet, `None` when absent.
    pub cilium: Read<Option<WorkloadInfo>>,
    /// Services of the model namespace.
    pub services: Read<Vec<ServiceInfo>>,
    /// Services outside the model namespace that webhooks call: (namespace, name) → exists.
    pub webhook_services: Read<BTreeMap<(String, String), bool>>,
    /// Pods of the model namespace, and pods anywhere that carry a sidecar.
    pub pods: Read<Vec<PodInfo>>,
    /// Controllers of the Deployments and StatefulSets whose pods carry sidecars outside the model
    /// namespace: (kind, namespace, name) → owner. Listed only when there are such pods.
    pub workload_owners: Read<BTreeMap<(WorkloadKind, String, String), Option<Owner>>>,
    /// Names of every CustomResourceDefinition.
    pub crds: Read<BTreeSet<String>>,
    /// Every Mutating- and ValidatingWebhookConfiguration.
    pub webhooks: Read<Vec<WebhookConfigInfo>>,
    /// Every GatewayClass.
    pub gateway_classes: Read<Vec<GatewayClassInfo>>,
    /// Every Gateway, cluster-wide.
    pub gateways: Read<Vec<GatewayInfo>>,
    /// HTTPRoutes of the model namespace.
    pub http_routes: Read<Vec<HttpRouteInfo>>,
    /// Every AuthorizationPolicy, cluster-wide.
    pub authorization_policies: Read<Vec<AuthorizationPolicyInfo>>,
    /// Names of the Kubeflow Profiles.
    pub profiles: Read<Vec<String>>,
    /// Every InferenceService.
    pub inference_services: Read<Vec<InferenceServiceInfo>>,
    /// Sidecar-era Istio objects.
    pub legacy: Read<LegacyIstio>,
}

// ---------------------------------------------------------------------------------------------
// Wire shapes: only the fields read; serde skips the rest without allocating. Go's nil lists and
// maps arrive as `null`, hence `nullable`.

fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Meta {
    #[serde(deserialize_with = "nullable")]
    name: String,
    #[serde(deserialize_with = "nullable")]
    namespace: String,
    #[serde(deserialize_with = "nullable")]
    labels: BTreeMap<String, String>,
    #[serde(deserialize_with = "nullable")]
    annotations: BTreeMap<String, String>,
    #[serde(deserialize_with = "nullable")]
    owner_references: Vec<RawOwner>,
    #[serde(deserialize_with = "nullable")]
    generation: i64,
}

impl Meta {
    fn owner(&self) -> Option<Owner> {
        self.owner_references
            .iter()
            .find(|o| o.controller == Some(true))
            .or(self.owner_references.first())
            .map(|o| Owner {
                kind: o.kind.clone(),
                name: o.name.clone(),
            })
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawOwner {
    #[serde(deserialize_with = "nullable")]
    kind: String,
    #[serde(deserialize_with = "nullable")]
    name: String,
    controller: Option<bool>,
}

#[derive(Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
struct Page<T> {
    #[serde(default = "Vec::new", deserialize_with = "nullable")]
    items: Vec<T>,
    #[serde(default)]
    metadata: PageMeta,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PageMeta {
    #[serde(rename = "continue")]
    next: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Named {
    #[serde(deserialize_with = "nullable")]
    name: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawPod {
    metadata: Meta,
    spec: RawPodSpec,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawPodSpec {
    #[serde(deserialize_with = "nullable")]
    containers: Vec<Named>,
    #[serde(deserialize_with = "nullable")]
    init_containers: Vec<Named>,
}

impl RawPod {
    fn into_info(self) -> PodInfo {
        let sidecar = self.spec.containers.iter().any(|c| c.name == "istio-proxy")
            || self
                .spec
                .init_containers
                .iter()
                .any(|c| SIDECAR_CONTAINERS.contains(&c.name.as_str()))
            || self
                .metadata
                .annotations
                .contains_key(SIDECAR_STATUS_ANNOTATION);
        let ambient_redirected = self
            .metadata
            .annotations
            .get(AMBIENT_REDIRECTION_ANNOTATION)
            .is_some_and(|v| v == "enabled");
        let owner = self.metadata.owner();
        PodInfo {
            namespace: self.metadata.namespace,
            name: self.metadata.name,
            labels: self.metadata.labels,
            owner,
            sidecar,
            ambient_redirected,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawWorkload {
    metadata: Meta,
    spec: RawWorkloadSpec,
    #[serde(deserialize_with = "nullable")]
    status: RawWorkloadStatus,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawWorkloadSpec {
    replicas: Option<i64>,
    template: RawTemplate,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawTemplate {
    metadata: Meta,
    spec: RawTemplateSpec,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawTemplateSpec {
    #[serde(deserialize_with = "nullable")]
    containers: Vec<RawContainer>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawContainer {
    #[serde(deserialize_with = "nullable")]
    env: Vec<RawEnv>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawEnv {
    #[serde(deserialize_with = "nullable")]
    name: String,
    value: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawWorkloadStatus {
    observed_generation: Option<i64>,
    ready_replicas: Option<i64>,
    updated_replicas: Option<i64>,
    desired_number_scheduled: Option<i64>,
    number_ready: Option<i64>,
    updated_number_scheduled: Option<i64>,
}

impl RawWorkload {
    fn into_info(self, kind: WorkloadKind) -> WorkloadInfo {
        let s = &self.status;
        let (desired, ready, updated) = match kind {
            WorkloadKind::DaemonSet => (
                s.desired_number_scheduled.unwrap_or(0),
                s.number_ready.unwrap_or(0),
                s.updated_number_scheduled.unwrap_or(0),
            ),
            WorkloadKind::Deployment | WorkloadKind::StatefulSet => (
                self.spec.replicas.unwrap_or(1),
                s.ready_replicas.unwrap_or(0),
                s.updated_replicas.unwrap_or(0),
            ),
        };
        let observed_generation = s.observed_generation.unwrap_or(0);
        let owner = self.metadata.owner();
        let env = self
            .spec
            .template
            .spec
            .containers
            .into_iter()
            .flat_map(|c| c.env)
            .filter_map(|e| e.value.map(|v| (e.name, v)))
            .collect();
        WorkloadInfo {
            namespace: self.metadata.namespace,
            name: self.metadata.name,
            labels: self.metadata.labels,
            owner,
            generation: self.metadata.generation,
            observed_generation,
            desired,
            ready,
            updated,
            template_labels: self.spec.template.metadata.labels,
            env,
        }
    }
}

/// Only what ownership needs, for the cluster-wide workload listing.
#[derive(Deserialize, Default)]
#[serde(default)]
struct RawOwned {
    metadata: Meta,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawService {
    metadata: Meta,
    spec: RawServiceSpec,
    status: RawServiceStatus,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawServiceSpec {
    #[serde(rename = "type", deserialize_with = "nullable")]
    service_type: String,
    #[serde(deserialize_with = "nullable")]
    ports: Vec<RawPort>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawPort {
    #[serde(deserialize_with = "nullable")]
    name: String,
    port: i32,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawServiceStatus {
    load_balancer: RawLoadBalancer,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawLoadBalancer {
    #[serde(deserialize_with = "nullable")]
    ingress: Vec<RawLbIngress>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawLbIngress {
    ip: Option<String>,
    hostname: Option<String>,
}

impl RawService {
    fn into_info(self) -> ServiceInfo {
        ServiceInfo {
            namespace: self.metadata.namespace,
            name: self.metadata.name,
            service_type: self.spec.service_type,
            ports: self
                .spec
                .ports
                .into_iter()
                .map(|p| (p.name, p.port))
                .collect(),
            load_balancer: self
                .status
                .load_balancer
                .ingress
                .into_iter()
                .filter_map(|i| {
                    i.ip.filter(|s| !s.is_empty())
                        .or(i.hostname.filter(|s| !s.is_empty()))
                })
                .collect(),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawNamespace {
    metadata: Meta,
    status: RawPhase,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawPhase {
    phase: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawConfigMap {
    metadata: Meta,
    #[serde(deserialize_with = "nullable")]
    data: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawNameOnly {
    metadata: Meta,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawCondition {
    #[serde(rename = "type", deserialize_with = "nullable")]
    kind: String,
    #[serde(deserialize_with = "nullable")]
    status: String,
    #[serde(deserialize_with = "nullable")]
    reason: String,
    #[serde(deserialize_with = "nullable")]
    message: String,
}

fn conditions(raw: Vec<RawCondition>) -> Vec<Condition> {
    raw.into_iter()
        .map(|c| Condition {
            kind: c.kind,
            status: c.status,
            reason: c.reason,
            message: c.message,
        })
        .collect()
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawConditions {
    #[serde(deserialize_with = "nullable")]
    conditions: Vec<RawCondition>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawGatewayClass {
    metadata: Meta,
    #[serde(deserialize_with = "nullable")]
    status: RawConditions,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawGateway {
    metadata: Meta,
    spec: RawGatewaySpec,
    #[serde(deserialize_with = "nullable")]
    status: RawGatewayStatus,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawGatewaySpec {
    #[serde(deserialize_with = "nullable")]
    gateway_class_name: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawGatewayStatus {
    #[serde(deserialize_with = "nullable")]
    conditions: Vec<RawCondition>,
    #[serde(deserialize_with = "nullable")]
    addresses: Vec<RawAddress>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawAddress {
    #[serde(deserialize_with = "nullable")]
    value: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawRoute {
    metadata: Meta,
    spec: RawRouteSpec,
    #[serde(deserialize_with = "nullable")]
    status: RawRouteStatus,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawRouteSpec {
    #[serde(deserialize_with = "nullable")]
    parent_refs: Vec<RawRef>,
    #[serde(deserialize_with = "nullable")]
    rules: Vec<RawRule>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawRef {
    #[serde(deserialize_with = "nullable")]
    kind: String,
    namespace: Option<String>,
    #[serde(deserialize_with = "nullable")]
    name: String,
}

impl RawRef {
    fn resolve(self, namespace: &str) -> RouteRef {
        RouteRef {
            kind: self.kind,
            namespace: self
                .namespace
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| namespace.to_string()),
            name: self.name,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawRule {
    #[serde(deserialize_with = "nullable")]
    matches: Vec<RawMatch>,
    #[serde(deserialize_with = "nullable")]
    backend_refs: Vec<RawRef>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawMatch {
    path: Option<RawPathMatch>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawPathMatch {
    value: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawRouteStatus {
    #[serde(deserialize_with = "nullable")]
    parents: Vec<RawParentStatus>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawParentStatus {
    parent_ref: RawRef,
    #[serde(deserialize_with = "nullable")]
    conditions: Vec<RawCondition>,
}

impl RawRoute {
    fn into_info(self) -> HttpRouteInfo {
        let ns = self.metadata.namespace.clone();
        let mut paths = Vec::new();
        let mut backends = Vec::new();
        for rule in self.spec.rules {
            paths.extend(
                rule.matches
                    .into_iter()
                    .filter_map(|m| m.path.and_then(|p| p.value)),
            );
            backends.extend(rule.backend_refs.into_iter().map(|b| b.resolve(&ns)));
        }
        HttpRouteInfo {
            parents: self
                .spec
                .parent_refs
                .into_iter()
                .map(|p| p.resolve(&ns))
                .collect(),
            paths,
            backends,
            status: self
                .status
                .parents
                .into_iter()
                .map(|p| RouteParentStatus {
                    parent: p.parent_ref.resolve(&ns),
                    conditions: conditions(p.conditions),
                })
                .collect(),
            namespace: ns,
            name: self.metadata.name,
            labels: self.metadata.labels,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawPolicy {
    metadata: Meta,
    spec: RawPolicySpec,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawPolicySpec {
    #[serde(deserialize_with = "nullable")]
    action: String,
    provider: Option<Named>,
    selector: Option<IgnoredAny>,
    #[serde(deserialize_with = "nullable")]
    target_refs: Vec<RawRef>,
    target_ref: Option<RawRef>,
    #[serde(deserialize_with = "nullable")]
    rules: Vec<RawPolicyRule>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawPolicyRule {
    #[serde(deserialize_with = "nullable")]
    to: Vec<RawTo>,
    #[serde(deserialize_with = "nullable")]
    when: Vec<RawWhen>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawTo {
    operation: Option<RawOperation>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawOperation {
    #[serde(deserialize_with = "nullable")]
    paths: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    not_paths: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    methods: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    not_methods: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    hosts: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    not_hosts: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawWhen {
    #[serde(deserialize_with = "nullable")]
    key: String,
}

impl RawPolicy {
    fn into_info(self) -> AuthorizationPolicyInfo {
        let spec = self.spec;
        let l7 = spec.rules.iter().any(|r| {
            r.to.iter().filter_map(|t| t.operation.as_ref()).any(|o| {
                !(o.paths.is_empty()
                    && o.not_paths.is_empty()
                    && o.methods.is_empty()
                    && o.not_methods.is_empty()
                    && o.hosts.is_empty()
                    && o.not_hosts.is_empty())
            }) || r.when.iter().any(|w| w.key.starts_with("request."))
        });
        let target_refs = spec
            .target_refs
            .into_iter()
            .chain(spec.target_ref)
            .map(|r| format!("{}/{}", r.kind, r.name))
            .collect();
        AuthorizationPolicyInfo {
            namespace: self.metadata.namespace,
            name: self.metadata.name,
            action: spec.action,
            provider: spec.provider.map(|p| p.name).unwrap_or_default(),
            has_selector: spec.selector.is_some(),
            target_refs,
            l7,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawWebhookConfig {
    metadata: Meta,
    #[serde(deserialize_with = "nullable")]
    webhooks: Vec<RawWebhook>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawWebhook {
    #[serde(deserialize_with = "nullable")]
    name: String,
    client_config: RawClientConfig,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawClientConfig {
    service: Option<RawServiceRef>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawServiceRef {
    #[serde(deserialize_with = "nullable")]
    namespace: String,
    #[serde(deserialize_with = "nullable")]
    name: String,
}

impl RawWebhookConfig {
    fn into_info(self, kind: &str) -> WebhookConfigInfo {
        WebhookConfigInfo {
            kind: kind.to_string(),
            name: self.metadata.name,
            labels: self.metadata.labels,
            webhooks: self
                .webhooks
                .into_iter()
                .map(|w| WebhookInfo {
                    name: w.name,
                    service: w.client_config.service.map(|s| (s.namespace, s.name)),
                })
                .collect(),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawInferenceService {
    metadata: Meta,
    #[serde(deserialize_with = "nullable")]
    status: RawIsvcStatus,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawIsvcStatus {
    deployment_mode: Option<String>,
    #[serde(deserialize_with = "nullable")]
    conditions: Vec<RawCondition>,
}

impl RawInferenceService {
    fn into_info(self) -> InferenceServiceInfo {
        let annotation = self
            .metadata
            .annotations
            .get("serving.kserve.io/deploymentMode")
            .cloned();
        InferenceServiceInfo {
            mode: self
                .status
                .deployment_mode
                .filter(|m| !m.is_empty())
                .or(annotation),
            ready: self
                .status
                .conditions
                .into_iter()
                .find(|c| c.kind == "Ready")
                .map(|c| c.status),
            namespace: self.metadata.namespace,
            name: self.metadata.name,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Requests.

/// Where a collection lives: `/api/v1/pods`, `/apis/apps/v1/namespaces/kubeflow/deployments`.
fn collection(group_version: &str, namespace: Option<&str>, plural: &str) -> String {
    let root = if group_version.contains('/') {
        format!("/apis/{group_version}")
    } else {
        format!("/api/{group_version}")
    };
    match namespace {
        Some(ns) => format!("{root}/namespaces/{ns}/{plural}"),
        None => format!("{root}/{plural}"),
    }
}

/// What a listing is called in errors: `pods`, `deployments in kubeflow`.
fn described(plural: &str, group_version: &str, namespace: Option<&str>) -> String {
    let group = group_version.rsplit_once('/').map(|(g, _)| g);
    let kind = match group {
        Some(g) => format!("{plural}.{g}"),
        None => plural.to_string(),
    };
    match namespace {
        Some(ns) => format!("{kind} in {ns}"),
        None => kind,
    }
}

/// How a listing treats a resource type the server does not serve (its CRD is not installed).
#[derive(Clone, Copy, PartialEq, Eq)]
enum IfUnserved {
    /// There are none.
    Empty,
    /// It is an error.
    Fail,
}

impl Cluster {
    /// Lists a collection page by page, reducing each item on arrival with `reduce` (which may
    /// drop it).
    async fn list_reduced<T, U>(
        &self,
        group_version: &str,
        namespace: Option<&str>,
        plural: &str,
        page_size: u32,
        if_unserved: IfUnserved,
        mut reduce: impl FnMut(T) -> Option<U>,
    ) -> Result<Vec<U>, ReadError>
    where
        T: DeserializeOwned,
    {
        let what = described(plural, group_version, namespace);
        let request = Request::new(collection(group_version, namespace, plural));
        let mut params = ListParams::default().limit(page_size);
        let mut out = Vec::new();
        loop {
            let fetched = super::retrying(|| async {
                let http = request.list(&params).map_err(kube::Error::BuildRequest)?;
                self.client.request::<Page<T>>(http).await
            })
            .await;
            let page: Page<T> = match fetched {
                Ok(page) => page,
                Err(e) => {
                    let err = Error::api("list", &what, e);
                    if err.is_not_found() && if_unserved == IfUnserved::Empty {
                        return Ok(Vec::new());
                    }
                    return Err(err.into());
                }
            };
            out.extend(page.items.into_iter().filter_map(&mut reduce));
            match page.metadata.next.filter(|c| !c.is_empty()) {
                Some(token) => params = params.continue_token(&token),
                None => return Ok(out),
            }
        }
    }

    /// Gets one object, `None` when it (or its resource type) does not exist.
    async fn get_reduced<T: DeserializeOwned>(
        &self,
        group_version: &str,
        namespace: Option<&str>,
        plural: &str,
        kind: &str,
        name: &str,
    ) -> Result<Option<T>, ReadError> {
        let what = match namespace {
            Some(ns) => format!("{kind} {ns}/{name}"),
            None => format!("{kind} {name}"),
        };
        let request = Request::new(collection(group_version, namespace, plural));
        let fetched = super::retrying(|| async {
            let http = request
                .get(name, &GetParams::default())
                .map_err(kube::Error::BuildRequest)?;
            self.client.request::<T>(http).await
        })
        .await;
        match fetched {
            Ok(object) => Ok(Some(object)),
            Err(e) => {
                let err = Error::api("get", &what, e);
                if err.is_not_found() {
                    Ok(None)
                } else {
                    Err(err.into())
                }
            }
        }
    }

    async fn workloads(&self, namespace: &str, kind: WorkloadKind) -> Read<Vec<WorkloadInfo>> {
        self.list_reduced(
            "apps/v1",
            Some(namespace),
            plural(kind),
            PAGE_SIZE,
            IfUnserved::Fail,
            |w: RawWorkload| Some(w.into_info(kind)),
        )
        .await
    }

    async fn owners_of(
        &self,
        kind: WorkloadKind,
    ) -> Read<Vec<((WorkloadKind, String, String), Option<Owner>)>> {
        self.list_reduced(
            "apps/v1",
            None,
            plural(kind),
            PAGE_SIZE,
            IfUnserved::Fail,
            |w: RawOwned| {
                let owner = w.metadata.owner();
                Some(((kind, w.metadata.namespace, w.metadata.name), owner))
            },
        )
        .await
    }

    async fn pods_for_verify(&self, namespace: &str) -> Read<Vec<PodInfo>> {
        self.list_reduced(
            "v1",
            None,
            "pods",
            PAGE_SIZE,
            IfUnserved::Fail,
            |p: RawPod| {
                let keep = p.metadata.namespace == namespace
                    || p.metadata
                        .annotations
                        .contains_key(SIDECAR_STATUS_ANNOTATION)
                    || p.spec.containers.iter().any(|c| c.name == "istio-proxy")
                    || p.spec
                        .init_containers
                        .iter()
                        .any(|c| SIDECAR_CONTAINERS.contains(&c.name.as_str()));
                keep.then(|| p.into_info())
            },
        )
        .await
    }

    async fn webhook_configs(&self) -> Read<Vec<WebhookConfigInfo>> {
        let (mutating, validating) = tokio::join!(
            self.list_reduced(
                "admissionregistration.k8s.io/v1",
                None,
                "mutatingwebhookconfigurations",
                PAGE_SIZE,
                IfUnserved::Fail,
                |w: RawWebhookConfig| Some(w.into_info("MutatingWebhookConfiguration")),
            ),
            self.list_reduced(
                "admissionregistration.k8s.io/v1",
                None,
                "validatingwebhookconfigurations",
                PAGE_SIZE,
                IfUnserved::Fail,
                |w: RawWebhookConfig| Some(w.into_info("ValidatingWebhookConfiguration")),
            ),
        );
        let mut all = mutating?;
        all.extend(validating?);
        Ok(all)
    }

    async fn legacy_istio(&self, namespace: &str) -> Read<LegacyIstio> {
        let (gateway, filter) = tokio::join!(
            self.get_reduced::<IgnoredAny>(
                "networking.istio.io/v1",
                Some(namespace),
                "gateways",
                "Gateway.networking.istio.io",
                "kubeflow-gateway",
            ),
            self.get_reduced::<IgnoredAny>(
                "networking.istio.io/v1alpha3",
                Some(namespace),
                "envoyfilters",
                "EnvoyFilter",
                "istio-pilot-authn-filter",
            ),
        );
        Ok(LegacyIstio {
            kubeflow_gateway: gateway?.is_some(),
            authn_filter: filter?.is_some(),
        })
    }

    /// Reads everything `verify` needs, centred on the model namespace `namespace`. Read-only:
    /// only GET requests. Never fails as a whole; each listing carries its own error.
    ///
    /// Two rounds: every listing at once, then what only the first round can name — the Services
    /// that webhooks outside the model namespace call, and, when pods outside it carry
    /// sidecars, the owners of Deployments and StatefulSets cluster-wide (one listing each).
    pub async fn snapshot(&self, namespace: &str) -> ClusterSnapshot {
        let ns = Some(namespace);
        let (
            nodes,
            namespaces,
            config_maps,
            cilium_config,
            deployments,
            stateful_sets,
            daemon_sets,
            cilium,
            services,
            pods,
            crds,
            webhooks,
            gateway_classes,
            gateways,
            http_routes,
            authorization_policies,
            profiles,
            inference_services,
            legacy,
        ) = tokio::join!(
            self.list_reduced(
                "v1",
                None,
                "nodes",
                PAGE_SIZE,
                IfUnserved::Fail,
                |n: RawNameOnly| { Some(n.metadata.labels) }
            ),
            self.list_reduced(
                "v1",
                None,
                "namespaces",
                PAGE_SIZE,
                IfUnserved::Fail,
                |n: RawNamespace| Some(NamespaceInfo {
                    name: n.metadata.name,
                    labels: n.metadata.labels,
                    phase: n.status.phase.unwrap_or_else(|| "Active".into()),
                }),
            ),
            self.list_reduced(
                "v1",
                ns,
                "configmaps",
                PAGE_SIZE,
                IfUnserved::Fail,
                |c: RawConfigMap| { Some((c.metadata.name, c.data)) }
            ),
            self.get_reduced::<RawConfigMap>(
                "v1",
                Some("kube-system"),
                "configmaps",
                "ConfigMap",
                "cilium-config"
            ),
            self.workloads(namespace, WorkloadKind::Deployment),
            self.workloads(namespace, WorkloadKind::StatefulSet),
            self.workloads(namespace, WorkloadKind::DaemonSet),
            self.get_reduced::<RawWorkload>(
                "apps/v1",
                Some("kube-system"),
                "daemonsets",
                "DaemonSet",
                "cilium"
            ),
            self.list_reduced(
                "v1",
                ns,
                "services",
                PAGE_SIZE,
                IfUnserved::Fail,
                |s: RawService| { Some(s.into_info()) }
            ),
            self.pods_for_verify(namespace),
            self.list_reduced(
                "apiextensions.k8s.io/v1",
                None,
                "customresourcedefinitions",
                CRD_PAGE_SIZE,
                IfUnserved::Fail,
                |c: RawNameOnly| Some(c.metadata.name),
            ),
            self.webhook_configs(),
            self.list_reduced(
                "gateway.networking.k8s.io/v1",
                None,
                "gatewayclasses",
                PAGE_SIZE,
                IfUnserved::Empty,
                |g: RawGatewayClass| Some(GatewayClassInfo {
                    name: g.metadata.name,
                    conditions: conditions(g.status.conditions),
                }),
            ),
            self.list_reduced(
                "gateway.networking.k8s.io/v1",
                None,
                "gateways",
                PAGE_SIZE,
                IfUnserved::Empty,
                |g: RawGateway| Some(GatewayInfo {
                    namespace: g.metadata.namespace,
                    name: g.metadata.name,
                    labels: g.metadata.labels,
                    class: g.spec.gateway_class_name,
                    conditions: conditions(g.status.conditions),
                    addresses: g
                        .status
                        .addresses
                        .into_iter()
                        .map(|a| a.value)
                        .filter(|v| !v.is_empty())
                        .collect(),
                }),
            ),
            self.list_reduced(
                "gateway.networking.k8s.io/v1",
                ns,
                "httproutes",
                PAGE_SIZE,
                IfUnserved::Empty,
                |r: RawRoute| Some(r.into_info()),
            ),
            self.list_reduced(
                "security.istio.io/v1",
                None,
                "authorizationpolicies",
                PAGE_SIZE,
                IfUnserved::Empty,
                |p: RawPolicy| Some(p.into_info()),
            ),
            self.list_reduced(
                "kubeflow.org/v1",
                None,
                "profiles",
                PAGE_SIZE,
                IfUnserved::Empty,
                |p: RawNameOnly| Some(p.metadata.name),
            ),
            self.list_reduced(
                "serving.kserve.io/v1beta1",
                None,
                "inferenceservices",
                PAGE_SIZE,
                IfUnserved::Empty,
                |i: RawInferenceService| Some(i.into_info()),
            ),
            self.legacy_istio(namespace),
        );

        // Services of the model namespace are listed already; one in a namespace that is gone
        // is gone too. The rest are looked up one by one: a handful, bounded by the webhooks.
        let existing_namespaces: Option<BTreeSet<&str>> = namespaces
            .as_ref()
            .ok()
            .map(|n| n.iter().map(|n| n.name.as_str()).collect());
        let webhook_targets: BTreeSet<(String, String)> = webhooks
            .as_ref()
            .map(|configs| {
                configs
                    .iter()
                    .flat_map(|c| &c.webhooks)
                    .filter_map(|w| w.service.clone())
                    .filter(|(ns, _)| {
                        ns != namespace
                            && existing_namespaces
                                .as_ref()
                                .is_none_or(|all| all.contains(ns.as_str()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let needs_owners = pods.as_ref().is_ok_and(|pods| {
            pods.iter().any(|p| {
                p.sidecar
                    && p.namespace != namespace
                    && p.owner
                        .as_ref()
                        .is_some_and(|o| o.kind == "ReplicaSet" || o.kind == "StatefulSet")
            })
        });

        let lookups = futures::future::join_all(webhook_targets.into_iter().map(|(ns, name)| {
            let this = self.clone();
            async move {
                let found = this
                    .get_reduced::<IgnoredAny>("v1", Some(&ns), "services", "Service", &name)
                    .await;
                ((ns, name), found.map(|f| f.is_some()))
            }
        }));
        let owners = async {
            if !needs_owners {
                return Ok(Vec::new());
            }
            let (deployments, stateful_sets) = tokio::join!(
                self.owners_of(WorkloadKind::Deployment),
                self.owners_of(WorkloadKind::StatefulSet)
            );
            let mut all = deployments?;
            all.extend(stateful_sets?);
            Ok(all)
        };
        let (lookups, owners) = tokio::join!(lookups, owners);
        let webhook_services = lookups
            .into_iter()
            .map(|(key, found)| found.map(|f| (key, f)))
            .collect::<Result<BTreeMap<_, _>, ReadError>>();
        let webhook_services = match (&webhooks, webhook_services) {
            (Err(e), _) => Err(e.clone()),
            (Ok(_), result) => result,
        };
        let workload_owners = owners.map(|o| o.into_iter().collect());

        ClusterSnapshot {
            namespace: namespace.to_string(),
            nodes,
            namespaces,
            config_maps: config_maps.map(|c| c.into_iter().collect()),
            cilium_config: cilium_config.map(|c| c.map(|c| c.data)),
            deployments,
            stateful_sets,
            daemon_sets,
            cilium: cilium.map(|c| c.map(|c| c.into_info(WorkloadKind::DaemonSet))),
            services,
            webhook_services,
            pods,
            workload_owners,
            crds: crds.map(|c| c.into_iter().collect()),
            webhooks,
            gateway_classes,
            gateways,
            http_routes,
            authorization_policies,
            profiles,
            inference_services,
            legacy,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(json: serde_json::Value) -> PodInfo {
        serde_json::from_value::<RawPod>(json)
            .expect("pod")
            .into_info()
    }

    #[test]
    fn pods_are_reduced_to_owner_and_sidecar_flags() {
        let p = pod(serde_json::json!({
            "metadata": {
                "name": "nb-0", "namespace": "alice",
                "labels": {"notebook-name": "nb"},
                "annotations": {"sidecar.istio.io/status": "{}"},
                "ownerReferences": [{"kind": "StatefulSet", "name": "nb", "controller": true, "apiVersion": "apps/v1", "uid": "x"}],
                "managedFields": [{"manager": "kubelet"}]
            },
            "spec": {"containers": [{"name": "main", "image": "x"}], "initContainers": null}
        }));
        assert!(p.sidecar);
        assert!(!p.ambient_redirected);
        assert_eq!(
            p.owner,
            Some(Owner {
                kind: "StatefulSet".into(),
                name: "nb".into()
            })
        );
    }

    #[test]
    fn native_sidecars_and_ambient_pods_are_told_apart() {
        let native = pod(serde_json::json!({
            "metadata": {"name": "a", "namespace": "x"},
            "spec": {"containers": [{"name": "main"}], "initContainers": [{"name": "istio-proxy"}]}
        }));
        let ambient = pod(serde_json::json!({
            "metadata": {"name": "b", "namespace": "x", "annotations": {"ambient.istio.io/redirection": "enabled"}},
            "spec": {"containers": [{"name": "main"}]}
        }));
        assert!(native.sidecar);
        assert!(!ambient.sidecar);
        assert!(ambient.ambient_redirected);
    }

    #[test]
    fn daemon_sets_count_scheduled_pods_and_keep_literal_env() {
        let ds: RawWorkload = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "ztunnel", "namespace": "kubeflow", "generation": 2},
            "spec": {"template": {"spec": {"containers": [{"name": "istio-proxy", "env": [
                {"name": "ISTIO_META_ENABLE_HBONE", "value": "true"},
                {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
            ]}]}}},
            "status": {"desiredNumberScheduled": 3, "numberReady": 3, "updatedNumberScheduled": 2, "observedGeneration": 2}
        }))
        .expect("daemonset");
        let info = ds.into_info(WorkloadKind::DaemonSet);
        assert_eq!((info.desired, info.ready, info.updated), (3, 3, 2));
        assert!(!info.fully_ready());
        assert_eq!(
            info.env.get("ISTIO_META_ENABLE_HBONE").map(String::as_str),
            Some("true")
        );
        assert!(!info.env.contains_key("POD_NAME"));
    }

    #[test]
    fn l7_rules_are_recognised_in_selector_policies() {
        let policy: RawPolicy = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p", "namespace": "alice"},
            "spec": {"selector": {"matchLabels": {"app": "x"}}, "rules": [{"to": [{"operation": {"methods": ["GET"]}}]}]}
        }))
        .expect("policy");
        let info = policy.into_info();
        assert!(info.has_selector && info.l7 && info.target_refs.is_empty());
        let l4: RawPolicy = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "q", "namespace": "alice"},
            "spec": {"targetRefs": [{"kind": "Gateway", "group": "gateway.networking.k8s.io", "name": "waypoint"}],
                     "rules": [{"from": [{"source": {"principals": ["a"]}}]}]}
        }))
        .expect("policy");
        let info = l4.into_info();
        assert!(!info.has_selector && !info.l7);
        assert_eq!(info.target_refs, ["Gateway/waypoint"]);
    }

    #[test]
    fn route_refs_default_to_the_route_namespace() {
        let route: RawRoute = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "r", "namespace": "kubeflow"},
            "spec": {"parentRefs": [{"name": "istio-ingress-k8s", "sectionName": "http-80"}],
                     "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/dex/"}}],
                                "backendRefs": [{"name": "dex-auth", "port": 5556}]}]},
            "status": {"parents": [{"parentRef": {"name": "istio-ingress-k8s"}, "controllerName": "istio.io/gateway-controller",
                                    "conditions": [{"type": "Accepted", "status": "True"}]}]}
        }))
        .expect("route");
        let info = route.into_info();
        assert_eq!(info.parents[0].namespace, "kubeflow");
        assert_eq!(info.backends[0].name, "dex-auth");
        assert_eq!(info.paths, ["/dex/"]);
        assert!(condition_true(&info.status[0].conditions, "Accepted"));
    }

    #[test]
    fn null_lists_from_go_are_empty() {
        let page: Page<RawNameOnly> =
            serde_json::from_value(serde_json::json!({"items": null, "metadata": {}}))
                .expect("page");
        assert!(page.items.is_empty());
        assert!(page.metadata.next.is_none());
    }

    #[test]
    fn collection_paths_follow_the_api_layout() {
        assert_eq!(collection("v1", None, "pods"), "/api/v1/pods");
        assert_eq!(
            collection("apps/v1", Some("kubeflow"), "deployments"),
            "/apis/apps/v1/namespaces/kubeflow/deployments"
        );
        assert_eq!(
            described("gateways", "gateway.networking.k8s.io/v1", None),
            "gateways.gateway.networking.k8s.io"
        );
    }
}
