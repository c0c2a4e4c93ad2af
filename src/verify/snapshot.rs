//! Everything the checks read, gathered once before any check runs: Juju's status and the config
//! of the applications whose values are checked, the cluster's listings, and the two HTTP probes.
//!
//! Gathering never fails as a whole: each part is its own `Result`, so an unreadable kind fails
//! only the checks that read it, and the message names what could not be read.

use std::collections::BTreeMap;

use futures::future::join_all;

use crate::cluster::{ClusterSnapshot, Read, ReadError, ServiceInfo};
use crate::juju::{ApplicationConfig, ModelStatus};
use crate::plan::{self, FactKind, Lookup, Plan};
use crate::session::Session;

use super::Options;
use super::probe::{self, HttpProbes};

/// Charm of the ingress whose Service the probes go through.
pub(crate) const INGRESS_CHARM: &str = "istio-ingress-k8s";

/// What verify read.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Model name, which is also its namespace.
    pub model: String,
    /// `Client.FullStatus`.
    pub status: Read<ModelStatus>,
    /// Config of the applications whose values are checked, by application name.
    pub configs: BTreeMap<String, Read<ApplicationConfig>>,
    /// The cluster's listings.
    pub cluster: ClusterSnapshot,
    /// The HTTP probes through the ingress; `None` when `http=false`.
    pub http: Option<HttpProbes>,
}

/// Roles whose config the plan sets (`configured` and `deployed` facts).
pub(crate) fn configured_roles(plan: &Plan) -> Vec<&str> {
    let mut roles: Vec<&str> = plan
        .phases
        .iter()
        .flat_map(|p| &p.facts)
        .filter_map(|f| match &f.kind {
            FactKind::Configured { role, config, .. } | FactKind::Deployed { role, config, .. }
                if !config.is_empty() =>
            {
                Some(role.as_str())
            }
            _ => None,
        })
        .collect();
    roles.sort_unstable();
    roles.dedup();
    roles
}

/// The application running `charm`, by name; `default` when there is none (or several).
pub(crate) fn app_running(status: Option<&ModelStatus>, charm: &str, default: &str) -> String {
    let Some(status) = status else {
        return default.to_string();
    };
    let mut apps = status.applications.values().filter(|a| a.charm == charm);
    match (apps.next(), apps.next()) {
        (Some(app), None) => app.name.clone(),
        _ => default.to_string(),
    }
}

/// The Service istio's gateway controller creates for the ingress (`<app>-istio`).
pub(crate) fn ingress_service_name(ingress_app: &str) -> String {
    format!("{ingress_app}-istio")
}

/// `http://<load balancer address>:<http port>` from the ingress Service, or why there is none.
pub(crate) fn ingress_base_url(
    services: &Read<Vec<ServiceInfo>>,
    namespace: &str,
    service: &str,
) -> Result<String, String> {
    let services = services.as_ref().map_err(ToString::to_string)?;
    let found = services
        .iter()
        .find(|s| s.name == service)
        .ok_or_else(|| format!("Service {namespace}/{service} does not exist"))?;
    let address = found.load_balancer.first().ok_or_else(|| {
        format!(
            "Service {namespace}/{service} has no load-balancer address (status.loadBalancer.ingress is empty)"
        )
    })?;
    let port = found
        .ports
        .iter()
        .find(|(name, _)| name.starts_with("http") && !name.starts_with("https"))
        .map(|(_, port)| *port)
        .unwrap_or(80);
    let host = if address.contains(':') {
        format!("[{address}]")
    } else {
        address.clone()
    };
    Ok(format!("http://{host}:{port}"))
}

/// Reads everything, concurrently: Juju (status, then the configs it names) alongside every
/// Kubernetes listing; then, if asked, the HTTP probes through the address the ingress Service
/// publishes.
pub(crate) async fn gather(session: &Session, plan: &Plan, options: &Options) -> Snapshot {
    let model = session.model_name.as_str();
    let juju = async {
        let status = session
            .juju
            .full_status()
            .await
            .map_err(|e| ReadError::new("the model's status (Client.FullStatus)", e));
        let names: Vec<String> = match &status {
            Ok(status) => {
                let observed = crate::observed::from_status(status);
                configured_roles(plan)
                    .into_iter()
                    .filter_map(|role| match plan::lookup(plan, &observed, role) {
                        Lookup::Found(app) => Some(app.name.clone()),
                        _ => None,
                    })
                    .collect()
            }
            Err(_) => Vec::new(),
        };
        let configs = join_all(names.into_iter().map(|name| async move {
            let config =
                session.juju.application_config(&name).await.map_err(|e| {
                    ReadError::new(format!("the config of {name} (Application.Get)"), e)
                });
            (name, config)
        }))
        .await;
        (status, configs.into_iter().collect())
    };
    let ((status, configs), cluster) = tokio::join!(juju, session.cluster.snapshot(model));
    let http = if options.http {
        let ingress = app_running(status.as_ref().ok(), INGRESS_CHARM, INGRESS_CHARM);
        let base = ingress_base_url(&cluster.services, model, &ingress_service_name(&ingress));
        Some(probe::probe(base).await)
    } else {
        None
    };
    Snapshot {
        model: model.to_string(),
        status,
        configs,
        cluster,
        http,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(ports: &[(&str, i32)], lb: &[&str]) -> Read<Vec<ServiceInfo>> {
        Ok(vec![ServiceInfo {
            namespace: "kubeflow".into(),
            name: "istio-ingress-k8s-istio".into(),
            service_type: "LoadBalancer".into(),
            ports: ports.iter().map(|(n, p)| (n.to_string(), *p)).collect(),
            load_balancer: lb.iter().map(|s| s.to_string()).collect(),
        }])
    }

    #[test]
    fn base_url_uses_the_http_port_not_https() {
        let services = service(&[("https-443", 443), ("http-80", 8080)], &["127.0.0.7"]);
        assert_eq!(
            ingress_base_url(&services, "kubeflow", "istio-ingress-k8s-istio"),
            Ok("http://127.0.0.7:8080".into())
        );
    }

    #[test]
    fn base_url_defaults_to_port_80_and_brackets_ipv6() {
        let services = service(&[("status", 15021)], &["::1"]);
        assert_eq!(
            ingress_base_url(&services, "kubeflow", "istio-ingress-k8s-istio"),
            Ok("http://[::1]:80".into())
        );
    }

    #[test]
    fn base_url_without_an_address_names_the_service() {
        let services = service(&[("http-80", 80)], &[]);
        let err = ingress_base_url(&services, "kubeflow", "istio-ingress-k8s-istio").unwrap_err();
        assert!(
            err.contains("Service kubeflow/istio-ingress-k8s-istio has no load-balancer address"),
            "{err}"
        );
    }

    #[test]
    fn the_plan_configures_istio_k8s_kserve_and_profiles() {
        let plan = Plan::builtin().expect("valid plan");
        assert_eq!(
            configured_roles(&plan),
            ["istio-k8s", "kserve-controller", "kubeflow-profiles"]
        );
    }
}
