//! What the ports report, in the plan's terms: Juju's status as [`plan::Observed`], and the
//! workload kinds of both sides. Shared by `migrate` and `verify`, so that both find an
//! application's role the same way.

use crate::plan::{self, Observed, WorkloadKind};
use crate::{cluster, juju};

/// Converts Juju's status into the plan's applications and relations.
pub fn from_status(status: &juju::ModelStatus) -> Observed {
    let mut observed = Observed::default();
    for app in status.applications.values() {
        let units = app
            .units
            .iter()
            .map(|(name, unit)| plan::Unit {
                name: name.clone(),
                workload: plan::Status::new(&unit.workload.current, &unit.workload.message),
                agent: plan::Status::new(&unit.agent.current, &unit.agent.message),
            })
            .collect();
        observed.applications.insert(
            app.name.clone(),
            plan::App {
                name: app.name.clone(),
                charm: app.charm.clone(),
                channel: app.channel.clone(),
                revision: app.revision,
                dying: app.life != juju::Life::Alive,
                units,
                config: None,
                trust: None,
                user_set: None,
            },
        );
    }
    for relation in &status.relations {
        if let [a, b] = relation.endpoints.as_slice() {
            observed.add_relation(
                plan::EndpointRef {
                    application: a.application.clone(),
                    endpoint: a.name.clone(),
                },
                plan::EndpointRef {
                    application: b.application.clone(),
                    endpoint: b.name.clone(),
                },
            );
        }
    }
    observed
}

/// The plan's workload kind as the cluster port names it.
pub fn workload_kind(kind: WorkloadKind) -> cluster::WorkloadKind {
    match kind {
        WorkloadKind::Deployment => cluster::WorkloadKind::Deployment,
        WorkloadKind::StatefulSet => cluster::WorkloadKind::StatefulSet,
        WorkloadKind::DaemonSet => cluster::WorkloadKind::DaemonSet,
    }
}

/// The cluster port's workload kind in the plan's terms.
pub fn plan_kind(kind: cluster::WorkloadKind) -> WorkloadKind {
    match kind {
        cluster::WorkloadKind::Deployment => WorkloadKind::Deployment,
        cluster::WorkloadKind::StatefulSet => WorkloadKind::StatefulSet,
        cluster::WorkloadKind::DaemonSet => WorkloadKind::DaemonSet,
    }
}
