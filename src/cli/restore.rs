//! `ckf-migrator restore`: the model put back to a backup, or with `--dry-run` the commands that
//! would do it.

use std::process::ExitCode;

use clap::Args;

use crate::{migrate, restore};

use super::{
    ConnectionArgs, RunArgs, interrupt_on_signals, key_values, open, run_options,
    run_with_progress, target,
};

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
    /// nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// How long to wait, and for what.
    #[command(flatten)]
    pub run: RunArgs,
}

/// Restores (or with `--dry-run` plans) and prints the results.
pub(super) async fn run(args: &RestoreArgs) -> anyhow::Result<ExitCode> {
    let resolved = target(&args.connection, &std::env::vars().collect::<Vec<_>>())?;
    if args.dry_run {
        let session = open(&resolved).await?;
        eprintln!("{}", resolved.description);
        let planned = restore::plan_for(&session, args.backup.as_deref()).await;
        session.juju.close().await;
        print!("{}", key_values(&planned?.results()));
        return Ok(ExitCode::SUCCESS);
    }
    let mut options = run_options(&args.run, false);
    options.interrupt = interrupt_on_signals();
    let backup = args.backup.clone();
    run_with_progress(&resolved, "restore", |session, events| async move {
        let report = migrate::restore::run(&session, &options, backup.as_deref(), &events).await;
        (session, report)
    })
    .await
}
