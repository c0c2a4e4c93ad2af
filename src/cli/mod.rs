//! CLI mode: the same engine, run by hand (`migrate-to-ambient`, `verify`, `plan`, `demo`).
//!
//! A front end like [`crate::charm`]: flags become a [`Target`] and engine options; progress
//! goes to stderr as it happens, the result to stdout (`key: value` lines, or verify's table),
//! and the exit code says whether it worked (0 yes, 1 no, 2 bad usage). The parameters are the
//! charm actions' parameters, spelled as flags. There is deliberately no `--password` flag:
//! argv is visible to every user of the machine.

#[cfg(feature = "demo")]
pub mod demo;
pub mod progress;
mod restore;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::{Args, Parser, Subcommand};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::plan::Platform;
use crate::session::{Session, Target};
use crate::{cluster, juju, migrate, verify};

/// Migrates Charmed Kubeflow 1.11 from Istio sidecars to Istio Ambient Mesh, and proves it.
///
/// The same binary is the ckf-migrator charm; run by hand it connects to the Juju controller's
/// API and to Kubernetes from wherever you are. Progress goes to stderr, the result to stdout.
#[derive(Debug, Parser)]
#[command(name = "ckf-migrator", version, about, long_about)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,

    /// More detail on stderr (-v: info, -vv: debug).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Migrate the model from Istio sidecars to Istio Ambient Mesh (resumable; safe to re-run).
    MigrateToAmbient(MigrateArgs),
    /// Check that the migration worked (read-only).
    Verify(VerifyArgs),
    /// Print the changes migrate-to-ambient would make, as juju/kubectl commands; change nothing.
    Plan(PlanArgs),
    /// Print the changes that would put the model back to a backup, as juju commands (--dry-run;
    /// this version plans a restore and does not apply it).
    Restore(restore::RestoreArgs),
    /// Run the migration and verify against the built-in CKF twin, on this machine only.
    Demo(DemoArgs),
}

/// Where to work: the Juju controller and model, and the cluster.
#[derive(Debug, Clone, Args)]
pub struct ConnectionArgs {
    /// Juju controller API address, HOST:PORT; repeat or separate with commas. Default: the
    /// space-separated JUJU_API_ADDRESSES (`juju show-controller` lists them under api-endpoints).
    #[arg(long = "controller", value_name = "HOST:PORT")]
    pub controllers: Vec<String>,

    /// The model's UUID (`juju show-model kubeflow` shows it as model-uuid).
    #[arg(long, env = "JUJU_MODEL_UUID", value_name = "UUID")]
    pub model_uuid: Option<String>,

    /// The model's name, which is also its Kubernetes namespace.
    #[arg(long, default_value = "kubeflow", value_name = "NAME")]
    pub model: String,

    /// The controller's CA certificate, PEM (`juju show-controller` shows it as ca-cert).
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,

    /// The Juju user to log in as; it needs admin access to the model.
    #[arg(long, value_name = "USER")]
    pub username: Option<String>,

    /// A file holding the user's password (one line). Default: the JUJU_PASSWORD variable.
    /// There is no --password flag: command lines are visible to every user of the machine.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,

    /// The kubeconfig for the cluster. Default: KUBECONFIG, then the pod's service account
    /// (when run inside Kubernetes).
    #[arg(long, env = "KUBECONFIG", value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
}

/// The migration's options, shared by `migrate-to-ambient` and `plan`.
#[derive(Debug, Clone, Args)]
pub struct EngineArgs {
    /// The Kubernetes platform: auto detects MicroK8s or Canonical Kubernetes from the nodes;
    /// canonical-k8s and none both leave istio-k8s's platform empty.
    #[arg(long, default_value = "auto", value_name = "PLATFORM", value_parser = parse_platform)]
    pub platform: Platform,

    /// Also restart every workload in profile namespaces whose pods still carry a sidecar.
    #[arg(long)]
    pub restart_workloads: bool,

    /// Proceed although Serverless InferenceServices will stop serving (Knative is removed).
    #[arg(long)]
    pub allow_serverless_loss: bool,

    /// Give up after this many minutes; a later run resumes where this one stopped.
    #[arg(long, default_value_t = 60, value_name = "MINUTES",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,

    /// Seconds to wait for an unreachable Juju controller or Kubernetes API to come back before
    /// stopping (the charm's `outage-grace` option); a later run resumes.
    #[arg(long, default_value_t = 120.0, value_name = "SECONDS", value_parser = parse_outage_grace)]
    pub outage_grace: f64,

    /// Seconds to pause before trying again after a failed request, and between two reads of
    /// the model on a controller without an AllWatcher (the charm's `poll-interval` option).
    #[arg(long, default_value_t = 5.0, value_name = "SECONDS", value_parser = parse_poll_interval)]
    pub poll_interval: f64,
}

fn parse_poll_interval(value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(seconds) if (0.01..=600.0).contains(&seconds) => Ok(seconds),
        _ => Err(format!(
            "{value:?} is not a number of seconds between 0.01 and 600"
        )),
    }
}

fn parse_outage_grace(value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(seconds) if (1.0..=3600.0).contains(&seconds) => Ok(seconds),
        _ => Err(format!(
            "{value:?} is not a number of seconds between 1 and 3600"
        )),
    }
}

fn parse_platform(value: &str) -> Result<Platform, String> {
    value.parse::<Platform>().map_err(|e| e.to_string())
}

/// `migrate-to-ambient`.
#[derive(Debug, Clone, Args)]
pub struct MigrateArgs {
    /// Where to work.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// How to migrate.
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Print the changes instead of making them (same as `plan`).
    #[arg(long)]
    pub dry_run: bool,
}

/// `plan`: migrate-to-ambient with --dry-run.
#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    /// Where to work.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// How the migration would run.
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// `verify`.
#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// Where to work.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Skip the HTTP probes of Dex and the dashboard through the ingress.
    #[arg(long)]
    pub no_http: bool,
}

/// `demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// How much faster than real life the twin settles: 20 turns Juju's minutes of deploys and
    /// refreshes into seconds; 1 is real time.
    #[arg(long, default_value_t = 20.0, value_name = "FACTOR")]
    pub speed: f64,
}

/// Parses arguments and runs the command. Returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(run(cli.command));
    runtime.shutdown_timeout(Duration::from_secs(2));
    code
}

fn init_logging(verbose: u8) {
    let ours = match verbose {
        0 => LevelFilter::WARN,
        1 => LevelFilter::INFO,
        _ => LevelFilter::DEBUG,
    };
    // Other crates' events (kube_client, hyper, tower, rustls, tokio_tungstenite) restate, in
    // their words and once per retry, failures ckf-migrator already reports once in its own: off
    // unless -vv asks for everything. Never TRACE: tungstenite logs frame payloads at TRACE,
    // and one of those frames is the Juju login with its password.
    let theirs = match verbose {
        0 | 1 => LevelFilter::OFF,
        _ => LevelFilter::DEBUG,
    };
    let filter = Targets::new()
        .with_default(theirs)
        .with_target("ckf_migrator", ours);
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                // Above the live progress display, when one is drawn.
                .with_writer(|| progress::LogWriter)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .with_filter(filter),
        )
        .try_init();
}

/// Runs a parsed command.
pub async fn run(command: Command) -> ExitCode {
    let outcome = match command {
        Command::MigrateToAmbient(args) => {
            migrate_to_ambient(&args.connection, &args.engine, args.dry_run).await
        }
        Command::Plan(args) => migrate_to_ambient(&args.connection, &args.engine, true).await,
        Command::Verify(args) => run_verify(&args).await.map(|passed| {
            if passed {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }),
        Command::Restore(args) => restore::run(&args).await,
        Command::Demo(args) => return demo_command(&args).await,
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(feature = "demo")]
async fn demo_command(args: &DemoArgs) -> ExitCode {
    demo::run(args).await
}

#[cfg(not(feature = "demo"))]
async fn demo_command(_args: &DemoArgs) -> ExitCode {
    eprintln!(
        "error: this build has no demo: it was built without the `demo` feature (the charm build leaves the twin out); use `cargo run --release -- demo`"
    );
    ExitCode::FAILURE
}

/// The engine's options for a CLI run.
pub fn migrate_options(engine: &EngineArgs, dry_run: bool) -> migrate::Options {
    migrate::Options {
        platform: engine.platform,
        dry_run,
        restart_workloads: engine.restart_workloads,
        allow_serverless_loss: engine.allow_serverless_loss,
        // Capped at a year, like the action's: `Instant + timeout` must not overflow.
        timeout: Duration::from_secs(engine.timeout.min(366 * 24 * 60) * 60),
        poll_interval: Duration::from_secs_f64(engine.poll_interval),
        outage_grace: Duration::from_secs_f64(engine.outage_grace),
        is_leader: None,
        holder: migrate::holder::cli_holder(),
        ..migrate::Options::default()
    }
}

async fn migrate_to_ambient(
    connection: &ConnectionArgs,
    engine: &EngineArgs,
    dry_run: bool,
) -> anyhow::Result<ExitCode> {
    let target = target(connection, &std::env::vars().collect::<Vec<_>>())?;
    let mut options = migrate_options(engine, dry_run);
    options.interrupt = migrate::signals::install(|name| {
        // Through the progress display's writer, so a live status line is not torn.
        let _ = writeln!(
            progress::LogWriter,
            "{name} received: stopping at a safe point (changes in flight may take {} s; Ctrl-C again exits at once)",
            migrate::interrupt::IN_FLIGHT_GRACE.as_secs()
        );
    });
    let session = open(&target).await?;
    let (events, rx) = migrate::Events::channel();
    let display = progress::Display::for_stderr(Instant::now());
    let progress = tokio::spawn(progress::show(rx, display));
    let report = migrate::run(&session, &options, &events).await;
    session.juju.close().await;
    drop(events);
    let _ = tokio::time::timeout(Duration::from_secs(10), progress).await;
    print!("{}", key_values(&report.results()));
    Ok(match &report.outcome {
        migrate::Outcome::Failed { step, error } => match report.interrupted.as_deref() {
            Some(signal) => {
                eprintln!("stopped at {step}: {error}");
                exit_code::interrupted(signal)
            }
            None => {
                eprintln!("error: migration failed at {step}: {error}");
                ExitCode::from(exit_code::FAILED)
            }
        },
        migrate::Outcome::Incomplete { error, .. } => {
            eprintln!("error: migration incomplete: {error}");
            ExitCode::from(exit_code::INCOMPLETE)
        }
        _ => ExitCode::SUCCESS,
    })
}

/// The CLI's exit codes (README, "The command line").
pub mod exit_code {
    use std::process::ExitCode;

    /// The run failed (or verify found failing checks). Bad usage is 2, as clap exits.
    pub const FAILED: u8 = 1;
    /// Every change is made but the final verify fails: the migration is not finished.
    pub const INCOMPLETE: u8 = 3;

    /// 128 + the signal's number, as shells report a process a signal stopped.
    pub fn interrupted(signal: &str) -> ExitCode {
        ExitCode::from(match signal {
            "SIGTERM" => 143,
            _ => 130,
        })
    }
}

async fn run_verify(args: &VerifyArgs) -> anyhow::Result<bool> {
    let target = target(&args.connection, &std::env::vars().collect::<Vec<_>>())?;
    let session = open(&target).await?;
    let report = verify::run(
        &session,
        &verify::Options {
            http: !args.no_http,
            front_end: crate::advice::FrontEnd::Cli,
        },
    )
    .await;
    session.juju.close().await;
    print!("{}", report.table());
    Ok(!report.failed())
}

async fn open(target: &Target) -> anyhow::Result<Session> {
    Session::open(target).await.map_err(|e| match e {
        crate::session::OpenError::Juju(e) if e.is_unauthorized() => anyhow::anyhow!(
            "cannot log in to Juju as {}: {e}; check --username and the password, and that the user is a model admin (`juju grant {} admin {}`)",
            target.juju.username,
            target.juju.username,
            target.model_name
        ),
        crate::session::OpenError::Juju(e) => anyhow::anyhow!(
            "cannot log in to Juju: {e}; check --controller and --ca-cert (`juju show-controller` shows api-endpoints and ca-cert)"
        ),
        crate::session::OpenError::Cluster(e) => {
            anyhow::anyhow!("cannot reach the Kubernetes API: {e}; check --kubeconfig")
        }
    })
}

/// Builds the target from flags and the environment (`env` is passed in so tests need not touch
/// the process environment).
///
/// # Errors
/// A required value is missing or a file cannot be read; the message says which flag to pass.
pub fn target(connection: &ConnectionArgs, env: &[(String, String)]) -> anyhow::Result<Target> {
    let var = |name: &str| {
        env.iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.clone())
    };
    let mut addresses: Vec<String> = connection
        .controllers
        .iter()
        .flat_map(|c| split_addresses(c))
        .collect();
    if addresses.is_empty() {
        addresses = var("JUJU_API_ADDRESSES")
            .map(|a| split_addresses(&a))
            .unwrap_or_default();
    }
    if addresses.is_empty() {
        bail!(
            "no Juju controller address: pass --controller HOST:PORT or set JUJU_API_ADDRESSES (`juju show-controller` lists api-endpoints)"
        );
    }
    let Some(model_uuid) = connection.model_uuid.clone().filter(|u| !u.is_empty()) else {
        bail!(
            "no model UUID: pass --model-uuid or set JUJU_MODEL_UUID (`juju show-model {}` shows model-uuid)",
            connection.model
        );
    };
    let Some(username) = connection.username.clone().filter(|u| !u.is_empty()) else {
        bail!("no Juju user: pass --username (a user with admin access to the model)");
    };
    let password = match &connection.password_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read --password-file {}", path.display()))?;
            let line = text.lines().next().unwrap_or_default().to_string();
            if line.is_empty() {
                bail!("--password-file {} is empty", path.display());
            }
            line
        }
        None => match var("JUJU_PASSWORD") {
            Some(password) => password,
            None => bail!(
                "no password: pass --password-file FILE or set JUJU_PASSWORD (there is no --password flag: command lines are visible to everyone)"
            ),
        },
    };
    let Some(ca_path) = &connection.ca_cert else {
        bail!(
            "no controller CA: pass --ca-cert FILE (save ca-cert from `juju show-controller` to a file)"
        );
    };
    let ca_cert_pem = std::fs::read_to_string(ca_path)
        .with_context(|| format!("cannot read --ca-cert {}", ca_path.display()))?;
    if !ca_cert_pem.contains("-----BEGIN CERTIFICATE-----") {
        bail!("--ca-cert {} is not a PEM certificate", ca_path.display());
    }
    let cluster = match &connection.kubeconfig {
        Some(path) => cluster::Source::Kubeconfig(path.clone()),
        None => cluster::Source::InCluster,
    };
    Ok(Target {
        juju: juju::Credentials {
            addresses,
            model_uuid,
            username,
            password: juju::Password::new(password),
            ca_cert_pem,
        },
        cluster,
        model_name: connection.model.clone(),
        connect: juju::ConnectOptions::default(),
    })
}

/// Splits `host:port` addresses separated by commas and/or spaces (the flag takes commas,
/// `JUJU_API_ADDRESSES` spaces).
fn split_addresses(list: &str) -> Vec<String> {
    list.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect()
}

/// Results as `key: value` lines; a value with several lines is indented below its key.
pub fn key_values(pairs: &[(String, String)]) -> String {
    let mut out = String::new();
    for (key, value) in pairs {
        if value.contains('\n') {
            out.push_str(key);
            out.push_str(":\n");
            for line in value.lines() {
                out.push_str("  ");
                out.push_str(line);
                out.push('\n');
            }
        } else {
            out.push_str(&format!("{key}: {value}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("ckf-migrator").chain(args.iter().copied()))
    }

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn migrate_flags_mirror_the_action_params() {
        let cli = parse(&[
            "migrate-to-ambient",
            "--platform",
            "canonical-k8s",
            "--dry-run",
            "--restart-workloads",
            "--allow-serverless-loss",
            "--timeout",
            "15",
        ])
        .expect("valid");

        let Command::MigrateToAmbient(args) = cli.command else {
            panic!("wrong command");
        };
        let options = migrate_options(&args.engine, args.dry_run);
        assert_eq!(options.platform, Platform::CanonicalK8s);
        assert!(options.dry_run && options.restart_workloads && options.allow_serverless_loss);
        assert_eq!(options.timeout, Duration::from_secs(15 * 60));
        assert_eq!(options.is_leader, None);
        assert!(options.holder.starts_with("cli:"), "{}", options.holder);
    }

    #[test]
    fn an_unknown_platform_is_a_usage_error_naming_the_choices() {
        let err = parse(&["plan", "--platform", "eks"]).expect_err("bad platform");

        assert!(err.to_string().contains("canonical-k8s"), "{err}");
    }

    #[test]
    fn a_zero_timeout_is_refused() {
        assert!(parse(&["migrate-to-ambient", "--timeout", "0"]).is_err());
    }

    #[test]
    fn there_is_no_password_flag() {
        assert!(parse(&["verify", "--password", "x"]).is_err());
    }

    #[test]
    fn controllers_may_repeat_or_be_comma_separated() {
        let cli = parse(&[
            "verify",
            "--controller",
            "127.0.0.1:17070,127.0.0.2:17070",
            "--controller",
            "127.0.0.3:17070",
            "--model-uuid",
            "u",
            "--username",
            "migrator",
            "--no-http",
        ])
        .expect("valid");
        let Command::Verify(args) = cli.command else {
            panic!("wrong command");
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let ca = dir.path().join("ca.pem");
        std::fs::write(
            &ca,
            "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n",
        )
        .expect("write");
        let mut connection = args.connection.clone();
        connection.ca_cert = Some(ca);

        let target = target(&connection, &[("JUJU_PASSWORD".into(), "pw".into())]).expect("target");

        assert_eq!(
            target.juju.addresses,
            vec!["127.0.0.1:17070", "127.0.0.2:17070", "127.0.0.3:17070"]
        );
        assert_eq!(target.juju.password.expose(), "pw");
        assert_eq!(target.model_name, "kubeflow");
        assert!(args.no_http);
    }

    #[test]
    fn addresses_default_to_juju_api_addresses() {
        let connection = ConnectionArgs {
            controllers: vec![],
            model_uuid: None,
            model: "kubeflow".into(),
            ca_cert: None,
            username: None,
            password_file: None,
            kubeconfig: None,
        };

        let err = target(
            &connection,
            &[("JUJU_API_ADDRESSES".into(), "127.0.0.1:17070".into())],
        )
        .expect_err("no uuid");

        assert!(
            err.to_string()
                .starts_with("no model UUID: pass --model-uuid"),
            "{err}"
        );
    }

    #[test]
    fn a_missing_password_says_there_is_no_password_flag() {
        let connection = ConnectionArgs {
            controllers: vec!["127.0.0.1:17070".into()],
            model_uuid: Some("u".into()),
            model: "kubeflow".into(),
            ca_cert: None,
            username: Some("migrator".into()),
            password_file: None,
            kubeconfig: None,
        };

        let err = target(&connection, &[]).expect_err("no password");

        assert!(err.to_string().contains("--password-file"), "{err}");
    }

    #[test]
    fn multi_line_values_are_indented_under_their_key() {
        let text = key_values(&[
            ("result".into(), "planned".into()),
            ("commands".into(), "juju a\njuju b".into()),
        ]);

        assert_eq!(text, "result: planned\ncommands:\n  juju a\n  juju b\n");
    }
}
