//! `ckf-migrator restore --dry-run`: the way back to a backup, as the commands that take it.
//!
//! Applying them is the restore engine's job, which is not built yet: until it is, restore plans
//! only, and says so when asked for more. The plan is already what an operator needs at 2 a.m.:
//! every difference between the model and its backup, in a safe order, as `juju` commands.

use std::process::ExitCode;

use anyhow::bail;
use clap::Args;

use crate::restore;

use super::{ConnectionArgs, key_values, open, target};

/// `restore`.
#[derive(Debug, Clone, Args)]
pub struct RestoreArgs {
    /// Where to work.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// The backup ConfigMap to restore. Default: the newest `ckf-migrator-backup-*` that shows
    /// the model in sidecar mode (a migration resumed after a failure also backs up the
    /// half-migrated model; newer backups are listed under passed-over).
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
    let resolved = target(&args.connection, &std::env::vars().collect::<Vec<_>>())?;
    let session = open(&resolved).await?;
    eprintln!("{}", resolved.description);
    let planned = restore::plan_for(&session, args.backup.as_deref()).await;
    session.juju.close().await;
    print!("{}", key_values(&planned?.results()));
    Ok(ExitCode::SUCCESS)
}
