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

/// Why a restore could not be planned; each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The backup is missing, unreadable, or not one of this model.
    #[error(transparent)]
    Backup(#[from] ReadError),
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

/// The plan that puts the model of `session` back to the backup `name` (the newest when
/// `None`), in the built-in order. Changes nothing.
///
/// # Errors
/// See [`PlanError`].
pub async fn plan_for(session: &Session, name: Option<&str>) -> Result<RestorePlan, PlanError> {
    let order = Order::builtin()?;
    let wanted = backup::read_backup(session, name).await?;
    let status = session.juju.full_status().await?;
    let current = backup::capture(session, &status, READ_CONCURRENCY)
        .await
        .map_err(|e| match e {
            CaptureError::Invalid(invalid) => PlanError::Live(invalid.problem.to_string()),
            CaptureError::Juju(e) => PlanError::Juju(e),
        })?;
    Ok(plan(
        &wanted,
        &current,
        &own_applications(&wanted, &current),
        &order,
    ))
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
