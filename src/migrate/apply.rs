//! Making one change through the right port, once.
//!
//! There is no retry loop here: a transient failure (connection lost, 429/5xx, `try again`) goes
//! back to the reconcile loop, which counts it against the outage grace window, pauses within the
//! run's deadline, observes again, and applies the change again only if the fact is still unmet —
//! a write whose reply was lost may well have been made.

use crate::cluster;
use crate::juju::{self, DeploySpec};
use crate::plan::{Change, RunMemory};
use crate::session::Session;

use crate::observed::workload_kind;

use super::outage::Port;

/// A failed request to one of the two ports.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PortError {
    /// Juju refused or failed.
    #[error(transparent)]
    Juju(#[from] juju::Error),
    /// Kubernetes refused or failed.
    #[error(transparent)]
    Cluster(#[from] cluster::Error),
}

impl PortError {
    /// Worth observing again after a pause: the port may come back.
    pub(crate) fn is_transient(&self) -> bool {
        match self {
            PortError::Juju(e) => e.is_retryable(),
            PortError::Cluster(e) => e.is_retryable(),
        }
    }

    /// Which port failed.
    pub(crate) fn port(&self) -> Port {
        match self {
            PortError::Juju(_) => Port::Juju,
            PortError::Cluster(_) => Port::Kubernetes,
        }
    }
}

/// A change that could not be made: the change as a command, and why.
#[derive(Debug, thiserror::Error)]
#[error("{command}: {source}")]
pub(crate) struct ApplyError {
    /// The change, as a command.
    pub command: String,
    /// The port's error.
    pub source: PortError,
}

impl ApplyError {
    /// What to do about it, before "then re-run": empty when re-running is the whole fix.
    pub(crate) fn fix(&self, front_end: &crate::advice::FrontEnd) -> Option<String> {
        match &self.source {
            PortError::Juju(e) => match e.code() {
                Some(juju::code::OPERATION_BLOCKED) => Some("run `juju enable-command all`".into()),
                Some(juju::code::UNAUTHORIZED) => Some(
                    "give the Juju user admin access to the model (`juju grant <user> admin <model>`)".into(),
                ),
                _ => None,
            },
            PortError::Cluster(e) if e.is_forbidden() => Some(front_end.cluster_access_fix()),
            PortError::Cluster(_) => None,
        }
    }
}

/// What applying a change taught the run: the revision a refresh resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Learned {
    pub application: String,
    pub revision: i64,
}

/// Makes `change`, once.
pub(crate) async fn apply(
    session: &Session,
    change: &Change,
) -> Result<Option<Learned>, ApplyError> {
    apply_once(session, change)
        .await
        .map_err(|source| ApplyError {
            command: change.to_string(),
            source,
        })
}

async fn apply_once(session: &Session, change: &Change) -> Result<Option<Learned>, PortError> {
    let juju = &session.juju;
    match change {
        Change::PatchConfigMap {
            namespace,
            name,
            data,
        } => {
            session
                .cluster
                .patch_config_map_data(namespace, name, data)
                .await
                .map_err(PortError::Cluster)?;
        }
        Change::RolloutRestart {
            workload,
            annotations,
        } => {
            session
                .cluster
                .rollout_restart(
                    workload_kind(workload.kind),
                    &workload.namespace,
                    &workload.name,
                    annotations,
                )
                .await
                .map_err(PortError::Cluster)?;
        }
        Change::RemoveApplication { application } => {
            match juju.destroy_application(application, false).await {
                // Gone already: a retry after a lost reply, or someone else removed it.
                Err(e) if e.is_not_found() => {}
                other => other.map_err(PortError::Juju)?,
            }
        }
        Change::Deploy {
            application,
            charm,
            channel,
            trust,
            config,
            pinned,
            hide_values: _,
        } => {
            let spec = DeploySpec {
                application: application.clone(),
                charm: charm.clone(),
                channel: channel.to_string(),
                units: pinned.as_ref().map_or(1, |p| p.units),
                config: config.clone(),
                trust: *trust,
                revision: pinned.as_ref().and_then(|p| p.revision),
                base: pinned
                    .as_ref()
                    .and_then(|p| p.base.as_ref())
                    .map(|b| juju::Base {
                        name: b.name.clone(),
                        channel: b.channel.clone(),
                    }),
            };
            match juju.deploy(&spec).await {
                // A retry after a lost reply: the first attempt went through. Its config and
                // trust are checked by the next observation.
                Err(e) if e.is_already_exists() => {}
                other => other.map_err(PortError::Juju)?,
            }
        }
        Change::Refresh {
            application,
            channel,
            trust: with_trust,
            revision,
        } => {
            // Trust goes with SetCharm, so the new charm's first hooks already run trusted. If
            // the refresh finds nothing to change it grants nothing (as `juju refresh --trust`
            // does); the next observation then asks for `juju trust` on its own.
            let channel = channel.to_string();
            let outcome = match revision {
                Some(revision) => {
                    juju.refresh_to_revision(application, &channel, *revision, *with_trust)
                        .await
                }
                None => juju.refresh(application, &channel, *with_trust).await,
            }
            .map_err(PortError::Juju)?;
            return Ok(outcome.to_revision.map(|revision| Learned {
                application: application.clone(),
                revision,
            }));
        }
        Change::SetConfig {
            application,
            values,
            ..
        } => juju
            .set_config(application, values)
            .await
            .map_err(PortError::Juju)?,
        Change::ResetConfig {
            application,
            options,
        } => juju
            .unset_config(application, options)
            .await
            .map_err(PortError::Juju)?,
        Change::SetTrust { application, trust } => juju
            .set_trust(application, *trust)
            .await
            .map_err(PortError::Juju)?,
        Change::Scale { application, units } => juju
            .scale_application(application, *units)
            .await
            .map_err(PortError::Juju)?,
        Change::Relate { a, b } => {
            juju.add_relation(&a.to_string(), &b.to_string())
                .await
                .map_err(PortError::Juju)?;
        }
        Change::Unrelate { a, b } => {
            // `false`: already gone (a retry after a lost reply).
            juju.destroy_relation(&a.to_string(), &b.to_string())
                .await
                .map_err(PortError::Juju)?;
        }
    }
    Ok(None)
}

/// Records what a change taught the run (the revision a refresh resolved to).
pub(crate) fn remember(memory: &mut RunMemory, learned: Option<Learned>) {
    if let Some(Learned {
        application,
        revision,
    }) = learned
    {
        memory.expected_revisions.insert(application, revision);
    }
}
