//! Making one change through the right port, with retries for what is worth retrying.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::cluster;
use crate::juju::{self, DeploySpec};
use crate::plan::{Change, RunMemory};
use crate::session::Session;

use crate::observed::workload_kind;

/// How many times a change is tried when the failure is transient (connection lost, 429/5xx,
/// `try again`).
const ATTEMPTS: u32 = 5;

/// A change that could not be made.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApplyError {
    /// Juju refused or failed.
    #[error("{command}: {source}{}", fix_for_juju(.source))]
    Juju {
        /// The change, as a command.
        command: String,
        /// Juju's error.
        source: juju::Error,
    },
    /// Kubernetes refused or failed.
    #[error("{command}: {source}{}", fix_for_cluster(.source))]
    Cluster {
        /// The change, as a command.
        command: String,
        /// The API error.
        source: cluster::Error,
    },
}

fn fix_for_juju(e: &juju::Error) -> &'static str {
    match e.code() {
        Some(juju::code::OPERATION_BLOCKED) => {
            "; run `juju enable-command all`, then re-run migrate-to-ambient"
        }
        Some(juju::code::UNAUTHORIZED) => {
            "; give the juju-credentials user admin access to the model, then re-run migrate-to-ambient"
        }
        _ if e.is_retryable() => {
            "; the controller could not be reached reliably: re-run migrate-to-ambient to continue"
        }
        _ => "; fix the cause, then re-run migrate-to-ambient to continue",
    }
}

fn fix_for_cluster(e: &cluster::Error) -> &'static str {
    if e.is_forbidden() {
        "; run `juju trust ckf-migrator --scope=cluster`, then re-run migrate-to-ambient"
    } else {
        "; fix the cause, then re-run migrate-to-ambient to continue"
    }
}

enum Failure {
    Juju(juju::Error),
    Cluster(cluster::Error),
}

impl Failure {
    fn is_retryable(&self) -> bool {
        match self {
            Failure::Juju(e) => e.is_retryable(),
            Failure::Cluster(e) => e.is_retryable(),
        }
    }
}

/// What applying a change taught the run: the revision a refresh resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Learned {
    pub application: String,
    pub revision: i64,
}

/// Makes `change`, retrying transient failures with a growing pause.
pub(crate) async fn apply(
    session: &Session,
    change: &Change,
    pause: Duration,
) -> Result<Option<Learned>, ApplyError> {
    let mut wait = pause;
    let mut attempt = 1;
    loop {
        match apply_once(session, change).await {
            Ok(revision) => return Ok(revision),
            Err(failure) if failure.is_retryable() && attempt < ATTEMPTS => {
                let reason = match &failure {
                    Failure::Juju(e) => e.to_string(),
                    Failure::Cluster(e) => e.to_string(),
                };
                tracing::warn!(
                    "{change}: {reason}; retrying in {:.1} s",
                    wait.as_secs_f64()
                );
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(30));
                attempt += 1;
            }
            Err(Failure::Juju(source)) => {
                return Err(ApplyError::Juju {
                    command: change.to_string(),
                    source,
                });
            }
            Err(Failure::Cluster(source)) => {
                return Err(ApplyError::Cluster {
                    command: change.to_string(),
                    source,
                });
            }
        }
    }
}

async fn apply_once(session: &Session, change: &Change) -> Result<Option<Learned>, Failure> {
    let juju = &session.juju;
    let trust = || BTreeMap::from([("trust".to_string(), "true".to_string())]);
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
                .map_err(Failure::Cluster)?;
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
                .map_err(Failure::Cluster)?;
        }
        Change::RemoveApplication { application } => {
            match juju.destroy_application(application, false).await {
                // Gone already: a retry after a lost reply, or someone else removed it.
                Err(e) if e.is_not_found() => {}
                other => other.map_err(Failure::Juju)?,
            }
        }
        Change::Deploy {
            application,
            charm,
            channel,
            trust,
            config,
        } => {
            let spec = DeploySpec {
                application: application.clone(),
                charm: charm.clone(),
                channel: channel.to_string(),
                units: 1,
                config: config.clone(),
                trust: *trust,
            };
            match juju.deploy(&spec).await {
                // A retry after a lost reply: the first attempt went through. Its config and
                // trust are checked by the next observation.
                Err(e) if e.is_already_exists() => {}
                other => other.map_err(Failure::Juju)?,
            }
        }
        Change::Refresh {
            application,
            channel,
            trust: with_trust,
        } => {
            let outcome = juju
                .refresh(application, &channel.to_string())
                .await
                .map_err(Failure::Juju)?;
            if *with_trust {
                juju.set_config(application, &trust())
                    .await
                    .map_err(Failure::Juju)?;
            }
            return Ok(outcome.to_revision.map(|revision| Learned {
                application: application.clone(),
                revision,
            }));
        }
        Change::SetConfig {
            application,
            values,
        } => juju
            .set_config(application, values)
            .await
            .map_err(Failure::Juju)?,
        Change::SetTrust { application } => juju
            .set_config(application, &trust())
            .await
            .map_err(Failure::Juju)?,
        Change::Relate { a, b } => {
            juju.add_relation(&a.to_string(), &b.to_string())
                .await
                .map_err(Failure::Juju)?;
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
