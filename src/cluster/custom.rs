//! Custom resources ckf-migrator reads: Kubeflow Profiles and KServe InferenceServices.
//!
//! When the CRD is not installed, the answer is "there are none", not an error.

use kube::Api;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind, ListParams};

use super::{Cluster, Error, PAGE_SIZE, Result};

fn resource(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

/// `kubeflow.org/v1 Profile` (cluster-scoped; each names a user namespace).
pub fn profile_resource() -> ApiResource {
    resource("kubeflow.org", "v1", "Profile", "profiles")
}

/// `serving.kserve.io/v1beta1 InferenceService`.
pub fn inference_service_resource() -> ApiResource {
    resource(
        "serving.kserve.io",
        "v1beta1",
        "InferenceService",
        "inferenceservices",
    )
}

/// An InferenceService's identity and how it is served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InferenceService {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// The effective deployment mode: `status.deploymentMode`, else the
    /// `serving.kserve.io/deploymentMode` annotation (KServe's own order).
    pub mode: Option<String>,
}

impl InferenceService {
    /// Served by Knative: it stops serving when Knative is removed.
    pub fn is_serverless(&self) -> bool {
        self.mode
            .as_deref()
            .is_some_and(|m| m.eq_ignore_ascii_case("serverless"))
    }
}

impl Cluster {
    /// Lists every object of a custom resource cluster-wide, page by page; empty if the CRD is
    /// not installed.
    ///
    /// # Errors
    /// The API failing, other than "not found".
    pub async fn list_custom(&self, resource: &ApiResource) -> Result<Vec<DynamicObject>> {
        let api: Api<DynamicObject> = Api::all_with(self.client.clone(), resource);
        let mut params = ListParams::default().limit(PAGE_SIZE);
        let mut out = Vec::new();
        loop {
            match super::retrying(|| api.list(&params)).await {
                Ok(page) => {
                    out.extend(page.items);
                    match page.metadata.continue_.filter(|c| !c.is_empty()) {
                        Some(token) => params = params.continue_token(&token),
                        None => return Ok(out),
                    }
                }
                Err(e) => {
                    let err =
                        Error::api("list", format!("{}.{}", resource.plural, resource.group), e);
                    return if err.is_not_found() {
                        Ok(Vec::new())
                    } else {
                        Err(err)
                    };
                }
            }
        }
    }

    /// Names of the Kubeflow profiles, which are also their namespaces' names.
    ///
    /// # Errors
    /// The API failing.
    pub async fn profile_names(&self) -> Result<Vec<String>> {
        let profiles = self.list_custom(&profile_resource()).await?;
        Ok(profiles
            .into_iter()
            .filter_map(|p| p.metadata.name)
            .collect())
    }

    /// Every InferenceService in the cluster.
    ///
    /// # Errors
    /// The API failing.
    pub async fn inference_services(&self) -> Result<Vec<InferenceService>> {
        let objects = self.list_custom(&inference_service_resource()).await?;
        Ok(objects
            .into_iter()
            .map(|o| {
                let annotation = o
                    .metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get("serving.kserve.io/deploymentMode"))
                    .cloned();
                let status = o
                    .data
                    .pointer("/status/deploymentMode")
                    .and_then(|v| v.as_str())
                    .map(str::to_string);
                InferenceService {
                    namespace: o.metadata.namespace.unwrap_or_default(),
                    name: o.metadata.name.unwrap_or_default(),
                    mode: status.or(annotation),
                }
            })
            .collect())
    }
}
