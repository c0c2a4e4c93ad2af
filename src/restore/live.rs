//! Planning a restore against the live model: read the backup, read the model the way a backup
//! is taken, and compare. Reads only.

use std::collections::BTreeSet;

use crate::backup::{self, Backup, CaptureError, ReadError};
use crate::session::Session;

use super::{InvalidOrder, Order, RestorePlan, plan};

/// The charm that runs a restore: never removed, refreshed or reconfigured by one.
pub const OWN_CHARM: &str = "ckf-migrator";

/// How many applications' config are read at once.
const READ_CONCURRENCY: usize = 4;

/// The charm of the sidecar-era control plane, present in a backup of the model before the
/// migration.
const SIDECAR_CONTROL_PLANE: &str = "istio-pilot";

/// The charm of the ambient control plane, absent from a backup of the model before the
/// migration.
const AMBIENT_CONTROL_PLANE: &str = "istio-k8s";

/// Why a restore could not be planned; each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The backup is missing, unreadable, or not one of this model.
    #[error(transparent)]
    Backup(#[from] ReadError),
    /// No backup shows the model in sidecar mode, and none was named.
    #[error(
        "no backup of this model shows it in sidecar mode (istio-pilot deployed, istio-k8s not): {}; name the one to restore with backup=NAME (CLI: --backup NAME)",
        .skipped.join("; ")
    )]
    NoSidecarBackup {
        /// Each backup there is, and why it is not one.
        skipped: Vec<String>,
    },
    /// Reading the model from Juju failed.
    #[error("reading the model from Juju: {0}; re-run once the controller answers")]
    Juju(#[from] crate::juju::Error),
    /// The model holds something a backup cannot describe.
    #[error("the model as it is cannot be compared with a backup: {0}")]
    Live(String),
    /// The built-in order file is broken (a bug: a unit test loads it).
    #[error("internal error: {0}; please report it")]
    Order(#[from] InvalidOrder),
}

/// The plan that puts the model of `session` back to the backup `name`, in the built-in order.
/// Changes nothing.
///
/// Without a name, the backup is the newest that shows the model in sidecar mode: a migration
/// resumed after a failure takes a backup of the half-migrated model, and a restore to that would
/// keep it half-migrated. The newer backups passed over are listed in the plan.
///
/// # Errors
/// See [`PlanError`].
pub async fn plan_for(session: &Session, name: Option<&str>) -> Result<RestorePlan, PlanError> {
    Ok(read(session, name).await?.plan)
}

/// A restore plan with both sides it was made from.
#[derive(Debug, Clone)]
pub struct Reading {
    /// What to do.
    pub plan: RestorePlan,
    /// The backup: the desired state.
    pub target: Backup,
    /// The model as it is, read the way a backup is taken.
    pub current: Backup,
}

/// Reads the backup `name` (the newest in sidecar mode when `None`) and the model, and plans.
/// Changes nothing.
///
/// # Errors
/// See [`PlanError`].
pub async fn read(session: &Session, name: Option<&str>) -> Result<Reading, PlanError> {
    let order = Order::builtin()?;
    let (wanted, passed_over) = match name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(name) => (backup::read_backup(session, Some(name)).await?, Vec::new()),
        None => newest_in_sidecar_mode(session).await?,
    };
    let status = session.juju.full_status().await?;
    let current = backup::capture(session, &status, READ_CONCURRENCY)
        .await
        .map_err(|e| match e {
            CaptureError::Invalid(invalid) => PlanError::Live(invalid.problem.to_string()),
            CaptureError::Juju(e) => PlanError::Juju(e),
        })?;
    let mut planned = plan(
        &wanted,
        &current,
        &own_applications(&wanted, &current),
        &order,
    );
    planned.passed_over = passed_over;
    Ok(Reading {
        plan: planned,
        target: wanted,
        current,
    })
}

/// Whether `backup` shows the model before the migration.
pub fn in_sidecar_mode(backup: &Backup) -> bool {
    let has = |charm: &str| backup.applications.values().any(|a| a.charm == charm);
    has(SIDECAR_CONTROL_PLANE) && !has(AMBIENT_CONTROL_PLANE)
}

/// The newest backup in sidecar mode, and each newer one with why it was passed over.
async fn newest_in_sidecar_mode(session: &Session) -> Result<(Backup, Vec<String>), PlanError> {
    let names = backup::list(session).await?;
    if names.is_empty() {
        return Err(ReadError::NoBackup {
            namespace: session.model_name.clone(),
        }
        .into());
    }
    let mut passed_over = Vec::new();
    for name in names {
        match backup::read_backup(session, Some(&name)).await {
            Ok(backup) if in_sidecar_mode(&backup) => return Ok((backup, passed_over)),
            Ok(_) => passed_over.push(format!(
                "{name} (taken after the migration began: it has no {SIDECAR_CONTROL_PLANE}, or has {AMBIENT_CONTROL_PLANE})"
            )),
            Err(ReadError::Invalid(invalid)) => {
                passed_over.push(format!("{name} (unusable: {})", invalid.problem));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(PlanError::NoSidecarBackup {
        skipped: passed_over,
    })
}

/// Applications running ckf-migrator, on either side: the one running this is among them.
fn own_applications(wanted: &Backup, current: &Backup) -> BTreeSet<String> {
    wanted
        .applications
        .values()
        .chain(current.applications.values())
        .filter(|a| a.charm == OWN_CHARM)
        .map(|a| a.name.clone())
        .collect()
}
