//! `ckf-migrator restore --dry-run`: the way back to a backup, as the commands that take it.
//!
//! Applying them is the restore engine's job, which is not built yet: until it is, restore plans
//! only, and says so when asked for more. The plan is already what an operator needs at 2 a.m.:
//! every difference between the model and its backup, in a safe order, as `juju` commands.

use std::collections::BTreeSet;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;

use crate::backup::{self, Backup, CaptureError};
use crate::restore::{self, Order, RestorePlan};

use super::{ConnectionArgs, key_values, open, target};

/// The charm that runs a restore: never removed, refreshed or reconfigured by one.
const OWN_CHARM: &str = "ckf-migrator";

/// `restore`.
#[derive(Debug, Clone, Args)]
pub struct RestoreArgs {
    /// Where to work.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// The backup ConfigMap to restore. Default: the newest `ckf-migrator-backup-*` in the
    /// model's namespace (`kubectl get configmap -l ckf-migrator.canonical.com/backup=true`
    /// lists them).
    #[arg(long, value_name = "NAME")]
    pub backup: Option<String>,
    /// Print the changes that put the model back to the backup, as juju commands; change
    /// nothing. Required: this version plans a restore and does not apply it.
    #[arg(long)]
    pub dry_run: bool,
}

/// Plans the restore and prints it (`result`, `backup`, `commands`). Changes nothing.
pub(super) async fn run(args: &RestoreArgs) -> anyhow::Result<ExitCode> {
    if !args.dry_run {
        bail!(
            "this version of restore only plans: run `ckf-migrator restore --dry-run` for the commands that put the model back to its backup, and run them in order, each phase once the previous one has settled (`juju status --watch 5s`)"
        );
    }
    let order = Order::builtin().context("the built-in restore order is broken")?;
    let target = target(&args.connection, &std::env::vars().collect::<Vec<_>>())?;
    let session = open(&target).await?;
    let planned = plan(&session, args.backup.as_deref(), &order).await;
    session.juju.close().await;
    let planned = planned?;
    print!("{}", key_values(&results(&planned)));
    Ok(ExitCode::SUCCESS)
}

async fn plan(
    session: &crate::session::Session,
    name: Option<&str>,
    order: &Order,
) -> anyhow::Result<RestorePlan> {
    let wanted = backup::read_backup(session, name).await?;
    let status = session
        .juju
        .full_status()
        .await
        .context("reading the model's status")?;
    let current = backup::capture(session, &status, crate::migrate::PHASE_CONCURRENCY)
        .await
        .map_err(|e| match e {
            CaptureError::Invalid(invalid) => anyhow::anyhow!(
                "the model as it is cannot be compared with a backup: {}",
                invalid.problem
            ),
            CaptureError::Juju(e) => anyhow::anyhow!("reading the model's config: {e}"),
        })?;
    Ok(restore::plan(
        &wanted,
        &current,
        &own_applications(&wanted, &current),
        order,
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

/// The result keys, as `migrate-to-ambient --dry-run` prints its own.
fn results(planned: &RestorePlan) -> Vec<(String, String)> {
    let result = if planned.is_empty() {
        "already-restored"
    } else {
        "planned"
    };
    let mut pairs = vec![
        ("result".to_string(), result.to_string()),
        ("backup".to_string(), planned.backup.clone()),
    ];
    if !planned.is_empty() {
        let mut lines: Vec<String> = planned
            .unrestorable
            .iter()
            .map(ToString::to_string)
            .collect();
        for phase in &planned.phases {
            lines.push(format!("# {}: {}", phase.name, phase.title));
            lines.extend(phase.steps.iter().map(ToString::to_string));
        }
        // key_values prints a one-line value after the key: keep commands a block.
        lines.push(String::new());
        pairs.push(("commands".to_string(), lines.join("\n")));
    }
    pairs
}
