//! Reading the live state into the plan's terms: one `FullStatus`, plus the config and the
//! Kubernetes objects the phases at hand talk about.

use std::collections::{BTreeMap, BTreeSet};

use futures::future::try_join_all;

use crate::plan::{self, LegacyObject, Lookup, Needs, Observed, Plan, ProfileNamespace};
use crate::session::Session;

use super::outage::{Port, Transient};
use crate::{cluster, juju};

/// A failed read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ObserveError {
    /// Juju failed.
    #[error("reading the model: {0}")]
    Juju(#[from] juju::Error),
    /// Kubernetes failed.
    #[error("reading the cluster: {0}")]
    Cluster(#[from] cluster::Error),
}

impl ObserveError {
    /// Worth another try at the next poll.
    pub(crate) fn is_retryable(&self) -> bool {
        match self {
            ObserveError::Juju(e) => e.is_retryable(),
            ObserveError::Cluster(e) => e.is_retryable(),
        }
    }
}

impl Transient for ObserveError {
    fn is_transient(&self) -> bool {
        self.is_retryable()
    }
    fn port(&self) -> Port {
        match self {
            ObserveError::Juju(_) => Port::Juju,
            ObserveError::Cluster(_) => Port::Kubernetes,
        }
    }
    fn ports() -> &'static [Port] {
        &[Port::Juju, Port::Kubernetes]
    }
}

/// Observes what `needs` asks for.
pub(crate) async fn observe(
    session: &Session,
    plan: &Plan,
    needs: &Needs,
) -> Result<Observed, ObserveError> {
    let status = session.juju.full_status().await?;
    let mut observed = crate::observed::from_status(&status);

    let names: Vec<String> = needs
        .app_configs
        .iter()
        .filter_map(|role| match plan::lookup(plan, &observed, role) {
            Lookup::Found(app) => Some(app.name.clone()),
            _ => None,
        })
        .collect();
    let configs = try_join_all(
        names
            .iter()
            .map(|name| session.juju.application_config(name)),
    )
    .await?;
    for config in configs {
        if let Some(app) = observed.applications.get_mut(&config.application) {
            app.config = Some(
                config
                    .options
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_config_string()))
                    .collect(),
            );
            app.trust = Some(config.trust);
        }
    }

    let cluster = &session.cluster;
    for key in &needs.config_maps {
        let (namespace, name) = key.split_once('/').unwrap_or(("", key));
        let data = cluster.config_map_data(namespace, name).await?;
        observed.cluster.config_maps.insert(key.clone(), data);
    }
    for workload in &needs.rollouts {
        let rollout = cluster
            .rollout(
                crate::observed::workload_kind(workload.kind),
                &workload.namespace,
                &workload.name,
            )
            .await?;
        observed.cluster.rollouts.insert(
            workload.clone(),
            rollout.map(|r| plan::Rollout {
                template_annotations: r.template_annotations,
                generation: r.generation,
                observed_generation: r.observed_generation,
                desired: r.desired,
                updated: r.updated,
                ready: r.ready,
            }),
        );
    }
    for object in &needs.legacy {
        let left = match object {
            LegacyObject::Deployment { namespace, name } => {
                if cluster.legacy_deployment(namespace, name).await? {
                    vec![name.clone()]
                } else {
                    Vec::new()
                }
            }
            LegacyObject::MutatingWebhook { webhook } => {
                cluster.legacy_mutating_webhooks(webhook).await?
            }
        };
        observed.cluster.legacy.insert(object.clone(), left);
    }
    for namespace in &needs.namespaces {
        let phase = cluster.namespace_phase(namespace).await?;
        observed.cluster.namespaces.insert(namespace.clone(), phase);
    }
    if needs.profile_namespaces {
        let profiles: BTreeSet<String> = cluster.profile_names().await?.into_iter().collect();
        let labels = if profiles.is_empty() {
            BTreeMap::new()
        } else {
            cluster.namespace_labels().await?
        };
        observed.cluster.profile_namespaces = Some(
            profiles
                .iter()
                .filter_map(|name| {
                    labels.get(name).map(|l| ProfileNamespace {
                        name: name.clone(),
                        labels: l.clone(),
                    })
                })
                .collect(),
        );
        if needs.sidecars {
            let report = if profiles.is_empty() {
                cluster::SidecarReport::default()
            } else {
                cluster.sidecars_in(&profiles).await?
            };
            observed.cluster.sidecars = Some(plan::SidecarInventory {
                workloads: report
                    .workloads
                    .into_iter()
                    .map(|w| plan::SidecarWorkload {
                        workload: plan::WorkloadRef {
                            kind: crate::observed::plan_kind(w.kind),
                            namespace: w.namespace,
                            name: w.name,
                        },
                        controller: w.controller,
                        pods: w.pods,
                    })
                    .collect(),
                unrestartable: report.unrestartable,
            });
        }
    }
    Ok(observed)
}
