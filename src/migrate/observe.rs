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
    let configs = read_configs(session, &config_names(plan, &observed, needs)).await?;
    overlay(&mut observed, &configs);
    observed.cluster = read_cluster(session, needs).await?;
    Ok(observed)
}

/// The applications whose config `needs` asks for, by name.
pub(crate) fn config_names(plan: &Plan, observed: &Observed, needs: &Needs) -> Vec<String> {
    needs
        .app_configs
        .iter()
        .filter_map(|role| match plan::lookup(plan, observed, role) {
            Lookup::Found(app) => Some(app.name.clone()),
            _ => None,
        })
        .collect()
}

/// `Application.Get` of each of `names`, concurrently.
pub(crate) async fn read_configs(
    session: &Session,
    names: &[String],
) -> Result<Vec<juju::ApplicationConfig>, ObserveError> {
    Ok(try_join_all(
        names
            .iter()
            .map(|name| session.juju.application_config(name)),
    )
    .await?)
}

/// Puts what `Application.Get` said over what the status said: the config and trust the status
/// lacks, and the channel as of the later read.
pub(crate) fn overlay<'a>(
    observed: &mut Observed,
    configs: impl IntoIterator<Item = &'a juju::ApplicationConfig>,
) {
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
            app.user_set = Some(
                config
                    .options
                    .iter()
                    .filter(|(_, v)| v.source == "user")
                    .map(|(k, _)| k.clone())
                    .collect(),
            );
            if !config.channel.is_empty() {
                app.channel = config.channel.clone();
            }
        }
    }
}

/// The Kubernetes objects `needs` asks for.
pub(crate) async fn read_cluster(
    session: &Session,
    needs: &Needs,
) -> Result<plan::ClusterState, ObserveError> {
    let mut state = plan::ClusterState::default();
    let cluster = &session.cluster;
    for key in &needs.config_maps {
        let (namespace, name) = key.split_once('/').unwrap_or(("", key));
        let data = cluster.config_map_data(namespace, name).await?;
        state.config_maps.insert(key.clone(), data);
    }
    for workload in &needs.rollouts {
        let rollout = cluster
            .rollout(
                crate::observed::workload_kind(workload.kind),
                &workload.namespace,
                &workload.name,
            )
            .await?;
        state.rollouts.insert(
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
        state.legacy.insert(object.clone(), left);
    }
    for namespace in &needs.namespaces {
        let phase = cluster.namespace_phase(namespace).await?;
        state.namespaces.insert(namespace.clone(), phase);
    }
    if needs.profile_namespaces {
        let profiles: BTreeSet<String> = cluster.profile_names().await?.into_iter().collect();
        let labels = if profiles.is_empty() {
            BTreeMap::new()
        } else {
            cluster.namespace_labels().await?
        };
        state.profile_namespaces = Some(
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
            state.sidecars = Some(inventory(report));
        }
        if needs.missing_sidecars {
            // Only where the label asks for injection: elsewhere no sidecar is missing.
            let injected: BTreeSet<String> = state
                .profile_namespaces
                .iter()
                .flatten()
                .filter(|ns| ns.is_injected())
                .map(|ns| ns.name.clone())
                .collect();
            let report = if injected.is_empty() {
                cluster::SidecarReport::default()
            } else {
                cluster.missing_sidecars_in(&injected).await?
            };
            state.missing_sidecars = Some(inventory(report));
        }
    }
    Ok(state)
}

/// The port's report in the plan's terms.
fn inventory(report: cluster::SidecarReport) -> plan::SidecarInventory {
    plan::SidecarInventory {
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
    }
}

/// What to watch so that a change of anything `needs` reads wakes the phase.
pub(crate) fn watched(needs: &Needs) -> Vec<cluster::Watched> {
    let mut sets = std::collections::BTreeSet::new();
    for key in &needs.config_maps {
        let (namespace, name) = key.split_once('/').unwrap_or(("", key));
        sets.insert(cluster::Watched::config_map(namespace, name));
    }
    for workload in &needs.rollouts {
        sets.insert(cluster::Watched::workload(
            crate::observed::workload_kind(workload.kind),
            &workload.namespace,
            &workload.name,
        ));
    }
    for object in &needs.legacy {
        sets.insert(match object {
            LegacyObject::Deployment { namespace, name } => {
                cluster::Watched::workload(cluster::WorkloadKind::Deployment, namespace, name)
            }
            LegacyObject::MutatingWebhook { .. } => cluster::Watched::mutating_webhooks(),
        });
    }
    if needs.profile_namespaces {
        sets.insert(cluster::Watched::namespaces());
    } else {
        for namespace in &needs.namespaces {
            sets.insert(cluster::Watched::namespace(namespace));
        }
    }
    if needs.sidecars || needs.missing_sidecars {
        sets.insert(cluster::Watched::pods());
    }
    sets.into_iter().collect()
}
