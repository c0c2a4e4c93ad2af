//! CLI mode: the same engine, run by hand (`migrate-to-ambient`, `verify`, `plan`, `demo`).
//!
//! A front end like [`crate::charm`]: flags become a [`Target`] and engine options; progress
//! goes to stderr as it happens, the result to stdout (`key: value` lines, or verify's table),
//! and the exit code says whether it worked (0 yes, 1 no, 2 bad usage). The parameters are the
//! charm actions' parameters, spelled as flags. There is deliberately no `--password` flag:
//! argv is visible to every user of the machine.

#[cfg(feature = "demo")]
pub mod demo;
pub mod juju_data;
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
use juju_data::{JujuData, Named};

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
    /// Put the model back to a backup migrate-to-ambient took (--dry-run: print the juju
    /// commands that would, change nothing).
    Restore(restore::RestoreArgs),
    /// Run the migration and verify against the built-in CKF twin, on this machine only.
    Demo(DemoArgs),
}

/// Where to work: the Juju controller and model, and the cluster.
///
/// Without flags, the CLI connects as `juju` would: to the current controller and model of the
/// Juju client's data directory (`JUJU_DATA`, else `$XDG_DATA_HOME/juju`, else
/// `~/.local/share/juju`; see [`juju_data`]), with the account `juju` uses there. Each flag
/// replaces what that directory would give, field by field; when every value is given by a flag
/// (or its variable), the directory is not read at all.
///
/// The model: `-m [CONTROLLER:]MODEL` as `juju` takes it (also `JUJU_MODEL`), else the
/// controller's current model, as `juju status` picks it. That is what a CKF operator expects
/// from a tool they run beside `juju`: the model their `juju` commands act on, which after
/// `juju add-model kubeflow` is `kubeflow`, and the run says which one it found. A wrong pick
/// changes nothing: preflight refuses a model that is not CKF 1.11. `kubeflow` is the default
/// only when the model UUID is given (`--model-uuid`) and `-m` is not, as before the Juju client's
/// files were read.
#[derive(Debug, Clone, Default, Args)]
pub struct ConnectionArgs {
    /// The Juju controller: a name from `juju controllers`, or its API address HOST:PORT
    /// (repeat, or separate with commas). Default: the controller of -m, then JUJU_CONTROLLER,
    /// then the current controller; its addresses are its api-endpoints, unless addresses are
    /// given here or in the space-separated JUJU_API_ADDRESSES.
    #[arg(short = 'c', long = "controller", value_name = "NAME|HOST:PORT")]
    pub controllers: Vec<String>,

    /// The model, as juju takes it: `[CONTROLLER:]MODEL`, where MODEL is a name (qualified with
    /// the user who logs in unless written OWNER/NAME) or a model UUID. Its name is also its
    /// Kubernetes namespace. Default: JUJU_MODEL, then the controller's current model.
    #[arg(short = 'm', long, value_name = "[CONTROLLER:]MODEL")]
    pub model: Option<String>,

    /// The model's UUID (`juju show-model kubeflow` shows it as model-uuid). Default: the UUID
    /// the Juju client's models.yaml records for the model.
    #[arg(long, env = "JUJU_MODEL_UUID", value_name = "UUID")]
    pub model_uuid: Option<String>,

    /// The controller's CA certificate, PEM (`juju show-controller` shows it as ca-cert).
    /// Default: the controller's ca-cert in the Juju client's controllers.yaml.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,

    /// The Juju user to log in as; it needs admin access to the model. Default: the user of the
    /// Juju client's account on the controller (accounts.yaml).
    #[arg(long, value_name = "USER")]
    pub username: Option<String>,

    /// A file holding the user's password (one line). Default: the JUJU_PASSWORD variable, then
    /// the password the Juju client's accounts.yaml keeps for that user, if any.
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

    /// How long to wait, and for what.
    #[command(flatten)]
    pub run: RunArgs,
}

/// How a run that changes the model waits: shared by `migrate-to-ambient`, `plan` and `restore`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
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
        ..run_options(&engine.run, dry_run)
    }
}

/// The engine's options for a CLI run that waits as `run` says.
pub fn run_options(run: &RunArgs, dry_run: bool) -> migrate::Options {
    migrate::Options {
        dry_run,
        // Capped at a year, like the action's: `Instant + timeout` must not overflow.
        timeout: Duration::from_secs(run.timeout.min(366 * 24 * 60) * 60),
        poll_interval: Duration::from_secs_f64(run.poll_interval),
        outage_grace: Duration::from_secs_f64(run.outage_grace),
        is_leader: None,
        holder: migrate::holder::cli_holder(),
        ..migrate::Options::default()
    }
}

/// Stops at a safe point on SIGINT or SIGTERM, saying so on the progress display.
fn interrupt_on_signals() -> migrate::Interrupt {
    migrate::signals::install(|name| {
        // Through the progress display's writer, so a live status line is not torn.
        let _ = writeln!(
            progress::LogWriter,
            "{name} received: stopping at a safe point (changes in flight may take {} s; Ctrl-C again exits at once)",
            migrate::interrupt::IN_FLIGHT_GRACE.as_secs()
        );
    })
}

/// Runs `engine` with progress on stderr, then prints its results and returns the exit code;
/// `what` names the run in errors (`migration`, `restore`).
async fn run_with_progress<F, Fut>(
    resolved: &Resolved,
    what: &str,
    engine: F,
) -> anyhow::Result<ExitCode>
where
    F: FnOnce(Session, migrate::Events) -> Fut,
    Fut: std::future::Future<Output = (Session, migrate::Report)>,
{
    let session = open(resolved).await?;
    let (events, rx) = migrate::Events::channel();
    let display = progress::Display::for_stderr(Instant::now());
    let progress = tokio::spawn(progress::show(rx, display));
    events.note(&resolved.description);
    let (session, report) = engine(session, events).await;
    session.juju.close().await;
    let _ = tokio::time::timeout(Duration::from_secs(10), progress).await;
    print!("{}", key_values(&report.results()));
    Ok(match &report.outcome {
        migrate::Outcome::Failed { step, error } => match report.interrupted.as_deref() {
            Some(signal) => {
                eprintln!("stopped at {step}: {error}");
                exit_code::interrupted(signal)
            }
            None => {
                eprintln!("error: {what} failed at {step}: {error}");
                ExitCode::from(exit_code::FAILED)
            }
        },
        migrate::Outcome::Incomplete { error, .. } => {
            eprintln!("error: {what} incomplete: {error}");
            ExitCode::from(exit_code::INCOMPLETE)
        }
        _ => ExitCode::SUCCESS,
    })
}

async fn migrate_to_ambient(
    connection: &ConnectionArgs,
    engine: &EngineArgs,
    dry_run: bool,
) -> anyhow::Result<ExitCode> {
    let resolved = target(connection, &std::env::vars().collect::<Vec<_>>())?;
    let mut options = migrate_options(engine, dry_run);
    options.interrupt = interrupt_on_signals();
    run_with_progress(&resolved, "migration", |session, events| async move {
        let report = migrate::run(&session, &options, &events).await;
        (session, report)
    })
    .await
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
    let resolved = target(&args.connection, &std::env::vars().collect::<Vec<_>>())?;
    let session = open(&resolved).await?;
    eprintln!("{}", resolved.description);
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

async fn open(resolved: &Resolved) -> anyhow::Result<Session> {
    let target = &resolved.target;
    Session::open(target).await.map_err(|e| match e {
        crate::session::OpenError::Juju(e) if e.is_unauthorized() => anyhow::anyhow!(
            "cannot log in to Juju as {}: {e}; check the user ({}) and the password ({}), and that the user is a model admin (`juju grant {} admin {}`)",
            target.juju.username,
            resolved.user_from,
            resolved.password_from,
            target.juju.username,
            target.model_name
        ),
        crate::session::OpenError::Juju(e) => anyhow::anyhow!(
            "cannot log in to Juju: {e}; check the controller's addresses ({}) and CA ({}) (`juju show-controller` shows api-endpoints and ca-cert)",
            resolved.addresses_from,
            resolved.ca_from
        ),
        crate::session::OpenError::Cluster(e) => {
            anyhow::anyhow!("cannot reach the Kubernetes API: {e}; check --kubeconfig")
        }
    })
}

/// Where the CLI works, and where each part of it came from, for messages.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The controller, model and cluster.
    pub target: Target,
    /// One line for the operator: which model on which controller, as whom.
    pub description: String,
    /// Where the addresses came from (`--controller`, or a file and key).
    pub addresses_from: String,
    /// Where the CA came from.
    pub ca_from: String,
    /// Where the user name came from.
    pub user_from: String,
    /// Where the password came from (never the password).
    pub password_from: String,
}

/// Builds the target from flags, the environment and, for what they leave out, the Juju
/// client's files ([`ConnectionArgs`] says which wins; `env` is passed in so tests need not
/// touch the process environment).
///
/// # Errors
/// A required value is missing, a file cannot be read, or the Juju client's files do not hold
/// it; the message names the flag to pass or the file and key read, and the fix.
pub fn target(connection: &ConnectionArgs, env: &[(String, String)]) -> anyhow::Result<Resolved> {
    let var = |name: &str| juju_data::env_value(env, name).map(str::to_string);

    // `--controller` takes a name or addresses: a controller name cannot hold `:`, which
    // `juju -m CONTROLLER:MODEL` splits on (`cmd/modelcmd/modelcommand.go` `SplitModelName`),
    // and an address always does (HOST:PORT).
    let mut addresses = Vec::new();
    let mut controller_names: Vec<String> = Vec::new();
    for value in &connection.controllers {
        if value.contains(':') {
            addresses.extend(split_addresses(value));
        } else if !value.trim().is_empty() && !controller_names.contains(&value.trim().into()) {
            controller_names.push(value.trim().to_string());
        }
    }
    if let [a, b, ..] = controller_names.as_slice() {
        bail!("--controller names two controllers, `{a}` and `{b}`: name one");
    }
    let mut addresses_from = "--controller".to_string();
    if addresses.is_empty() {
        addresses = var("JUJU_API_ADDRESSES")
            .map(|a| split_addresses(&a))
            .unwrap_or_default();
        addresses_from = "JUJU_API_ADDRESSES".into();
    }

    let model_arg = match connection.model.as_deref().filter(|m| !m.is_empty()) {
        Some(model) => Some(Named::new(model, "-m")),
        None => var("JUJU_MODEL").map(|m| Named::new(m, "JUJU_MODEL")),
    };
    let (model_controller, model_id) = match &model_arg {
        Some(arg) => match arg.name.split_once(':') {
            Some((controller, model)) => (
                Some(Named::new(controller, format!("{} {}", arg.by, arg.name))),
                Some(model.to_string()).filter(|m| !m.is_empty()),
            ),
            None => (None, Some(arg.name.clone())),
        },
        None => (None, None),
    };

    let mut model_uuid = connection.model_uuid.clone().filter(|u| !u.is_empty());
    let mut username = connection.username.clone().filter(|u| !u.is_empty());
    let mut user_from = "--username".to_string();
    let (mut password, mut password_from) = match &connection.password_file {
        Some(path) => (Some(password_file(path)?), "--password-file".to_string()),
        None => (
            var("JUJU_PASSWORD").map(juju::Password::new),
            "JUJU_PASSWORD".to_string(),
        ),
    };
    let mut ca_cert_pem = match &connection.ca_cert {
        Some(path) => Some(ca_file(path)?),
        None => None,
    };
    let mut ca_from = "--ca-cert".to_string();

    let missing: Vec<&str> = [
        (addresses.is_empty(), "--controller"),
        (model_uuid.is_none(), "--model-uuid"),
        (ca_cert_pem.is_none(), "--ca-cert"),
        (username.is_none(), "--username"),
        (password.is_none(), "--password-file"),
    ]
    .into_iter()
    .filter_map(|(absent, flag)| absent.then_some(flag))
    .collect();

    let mut model_label = model_id
        .as_deref()
        .map_or("kubeflow", juju_data::bare_model_name)
        .to_string();
    let mut model_name = model_label.clone();
    let mut model_note = String::new();
    if !missing.is_empty() {
        let needed = missing.join(", ");
        let data = JujuData::locate(env, &needed)?;
        let controllers = data.controllers(&needed)?;
        let named = chosen_controller(
            controller_names.first().map(String::as_str),
            model_controller,
            env,
        )?;
        let (controller_name, controller) = controllers.select(named.as_ref())?;
        let key = |key: &str| {
            format!(
                "`{}` controller `{controller_name}` `{key}`",
                controllers.file()
            )
        };
        if addresses.is_empty() {
            addresses = controllers.endpoints(controller_name, controller)?;
            addresses_from = key("api-endpoints");
        }
        if ca_cert_pem.is_none() {
            ca_cert_pem = Some(controllers.ca_cert(controller_name, controller)?);
            ca_from = key("ca-cert");
        }
        if username.is_none() || password.is_none() {
            let accounts = data.accounts()?;
            let user = match username.take() {
                Some(user) => user,
                None => {
                    user_from = format!(
                        "`{}` controller `{controller_name}` `user`",
                        accounts.file()
                    );
                    accounts.account(controller_name)?.user.clone()
                }
            };
            if password.is_none() {
                let jar = data.cookie_jar(controller_name);
                password = Some(accounts.password(controller_name, &user, jar.as_deref())?);
                password_from = format!(
                    "`{}` controller `{controller_name}` `password`",
                    accounts.file()
                );
            }
            username = Some(user);
        }
        if model_uuid.is_none() {
            let models = data.models(controller_name)?;
            let user = username.as_deref().unwrap_or_default();
            let model = models.find_kubernetes(controller_name, model_id.as_deref(), user)?;
            if model_id.is_none() {
                model_note = format!(", the current model in `{}`", data.shown("models.yaml"));
            }
            model_uuid = Some(model.uuid.clone());
            model_name = model.name().to_string();
            model_label = format!("{controller_name}:{}", model.qualified);
        } else {
            model_label = format!("{controller_name}:{model_label}");
        }
    }

    // Each value missing above was filled from the files or returned as an error.
    let (Some(model_uuid), Some(username), Some(password), Some(ca_cert_pem)) =
        (model_uuid, username, password, ca_cert_pem)
    else {
        bail!("internal error: a connection value is neither given nor found");
    };
    if addresses.is_empty() {
        bail!("internal error: no controller address is given nor found");
    }
    let cluster = match &connection.kubeconfig {
        Some(path) => cluster::Source::Kubeconfig(path.clone()),
        None => cluster::Source::InCluster,
    };
    Ok(Resolved {
        description: format!(
            "juju: model {model_label} ({model_uuid}{model_note}) at {}, as {username}",
            addresses.join(", ")
        ),
        target: Target {
            juju: juju::Credentials {
                addresses,
                model_uuid,
                username,
                password,
                ca_cert_pem,
            },
            cluster,
            model_name,
            connect: juju::ConnectOptions::default(),
        },
        addresses_from,
        ca_from,
        user_from,
        password_from,
    })
}

/// The controller `juju` would pick, before `current-controller`: the one `-m CONTROLLER:MODEL`
/// names, else `-c`, else `JUJU_MODEL`'s or `JUJU_CONTROLLER` (which must agree, as in
/// `cmd/modelcmd/controller.go` `DetermineCurrentController`). `None`: the current controller.
fn chosen_controller(
    flag: Option<&str>,
    from_model: Option<Named>,
    env: &[(String, String)],
) -> Result<Option<Named>, juju_data::Error> {
    let var = |name: &str| juju_data::env_value(env, name).map(str::to_string);
    let flag = flag.map(|name| Named::new(name, format!("-c/--controller {name}")));
    if let Some(from_model) = from_model {
        if let Some(flag) = flag.filter(|f| f.name != from_model.name) {
            return Err(juju_data::Error::ControllerConflict {
                first: flag.by,
                a: flag.name,
                second: from_model.by,
                b: from_model.name,
            });
        }
        return Ok(Some(from_model));
    }
    if flag.is_some() {
        return Ok(flag);
    }
    let env_model = var("JUJU_MODEL")
        .and_then(|m| m.split_once(':').map(|(c, _)| c.to_string()))
        .filter(|c| !c.is_empty())
        .map(|c| Named::new(c, "JUJU_MODEL"));
    let env_controller = var("JUJU_CONTROLLER").map(|c| Named::new(c, "JUJU_CONTROLLER"));
    match (env_model, env_controller) {
        (Some(m), Some(c)) if m.name != c.name => Err(juju_data::Error::ControllerConflict {
            first: m.by,
            a: m.name,
            second: c.by,
            b: c.name,
        }),
        (Some(m), _) => Ok(Some(m)),
        (None, c) => Ok(c),
    }
}

/// The first line of `--password-file`.
fn password_file(path: &std::path::Path) -> anyhow::Result<juju::Password> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read --password-file {}", path.display()))?;
    let line = text.lines().next().unwrap_or_default().to_string();
    if line.is_empty() {
        bail!("--password-file {} is empty", path.display());
    }
    Ok(juju::Password::new(line))
}

/// The PEM of `--ca-cert`.
fn ca_file(path: &std::path::Path) -> anyhow::Result<String> {
    let pem = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read --ca-cert {}", path.display()))?;
    if !pem.contains("-----BEGIN CERTIFICATE-----") {
        bail!("--ca-cert {} is not a PEM certificate", path.display());
    }
    Ok(pem)
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

    const PEM: &str = "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n";

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
        std::fs::write(&ca, PEM).expect("write");
        let mut connection = args.connection.clone();
        connection.ca_cert = Some(ca);

        let resolved =
            target(&connection, &[("JUJU_PASSWORD".into(), "pw".into())]).expect("target");

        assert_eq!(
            resolved.target.juju.addresses,
            vec!["127.0.0.1:17070", "127.0.0.2:17070", "127.0.0.3:17070"]
        );
        assert_eq!(resolved.target.juju.password.expose(), "pw");
        assert_eq!(resolved.target.model_name, "kubeflow");
        assert!(args.no_http);
    }

    #[test]
    fn the_old_model_flag_still_names_the_namespace() {
        let cli = parse(&["plan", "--model", "ckf"]).expect("valid");
        let Command::Plan(args) = cli.command else {
            panic!("wrong command");
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, PEM).expect("write");
        let connection = ConnectionArgs {
            controllers: vec!["127.0.0.1:17070".into()],
            model_uuid: Some("u".into()),
            ca_cert: Some(ca),
            username: Some("admin".into()),
            ..args.connection
        };

        let resolved =
            target(&connection, &[("JUJU_PASSWORD".into(), "pw".into())]).expect("target");

        assert_eq!(resolved.target.model_name, "ckf");
    }

    #[test]
    fn with_every_flag_the_juju_client_files_are_not_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, PEM).expect("write");
        std::fs::write(dir.path().join("controllers.yaml"), "controllers: [").expect("write");
        let connection = ConnectionArgs {
            controllers: vec!["127.0.0.1:17070".into()],
            model_uuid: Some("u".into()),
            ca_cert: Some(ca),
            username: Some("admin".into()),
            ..ConnectionArgs::default()
        };
        let env = [
            ("JUJU_DATA".into(), dir.path().display().to_string()),
            ("JUJU_PASSWORD".into(), "pw".into()),
        ];

        let resolved = target(&connection, &env).expect("no file needed");

        assert_eq!(resolved.target.juju.model_uuid, "u");
        assert_eq!(resolved.password_from, "JUJU_PASSWORD");
    }

    #[test]
    fn without_flags_or_a_juju_data_dir_the_missing_flags_are_named() {
        let err = target(
            &ConnectionArgs::default(),
            &[("JUJU_API_ADDRESSES".into(), "127.0.0.1:17070".into())],
        )
        .expect_err("nothing to read");

        let text = err.to_string();
        assert!(
            text.starts_with(
                "no --model-uuid, --ca-cert, --username, --password-file given, and no Juju client data"
            ),
            "{text}"
        );
        assert!(text.contains("set JUJU_DATA"), "{text}");
    }

    /// A Juju client data dir with a controller `ckf` holding `admin/kubeflow` and `admin/cos`
    /// (current), and a controller `lab` with no account.
    fn juju_data(accounts: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("controllers.yaml"),
            "controllers:\n  ckf:\n    uuid: c\n    api-endpoints: ['127.0.0.1:17070']\n    ca-cert: |\n      -----BEGIN CERTIFICATE-----\n      x\n      -----END CERTIFICATE-----\n  lab:\n    api-endpoints: ['127.0.0.9:17070']\n    ca-cert: \"-----BEGIN CERTIFICATE-----\\nx\"\ncurrent-controller: ckf\n",
        )
        .expect("write");
        std::fs::write(
            dir.path().join("models.yaml"),
            "controllers:\n  ckf:\n    models:\n      admin/kubeflow: {uuid: 0b5d6f5e-1111-4222-8333-444455556666, type: caas}\n      admin/cos: {uuid: 1c5d6f5e-1111-4222-8333-444455556666, type: caas}\n    current-model: admin/cos\n",
        )
        .expect("write");
        std::fs::write(dir.path().join("accounts.yaml"), accounts).expect("write");
        dir
    }

    fn data_env(dir: &tempfile::TempDir) -> Vec<(String, String)> {
        vec![("JUJU_DATA".into(), dir.path().display().to_string())]
    }

    const ADMIN_WITH_PASSWORD: &str = "controllers:\n  ckf:\n    user: admin\n    password: s3cret-pw\n    last-known-access: superuser\n";

    #[test]
    fn without_flags_the_current_controller_model_and_account_are_used() {
        let dir = juju_data(ADMIN_WITH_PASSWORD);

        let resolved = target(&ConnectionArgs::default(), &data_env(&dir)).expect("target");

        let juju = &resolved.target.juju;
        assert_eq!(juju.addresses, vec!["127.0.0.1:17070"]);
        assert_eq!(juju.model_uuid, "1c5d6f5e-1111-4222-8333-444455556666");
        assert_eq!(juju.username, "admin");
        assert_eq!(juju.password.expose(), "s3cret-pw");
        assert!(
            juju.ca_cert_pem
                .starts_with("-----BEGIN CERTIFICATE-----\nx\n")
        );
        assert_eq!(resolved.target.model_name, "cos");
        assert!(
            resolved.description.starts_with(
                "juju: model ckf:admin/cos (1c5d6f5e-1111-4222-8333-444455556666, the current model in "
            ),
            "{}",
            resolved.description
        );
        assert!(!format!("{resolved:?}").contains("s3cret-pw"));
    }

    #[test]
    fn a_model_flag_is_resolved_as_juju_resolves_it() {
        let dir = juju_data(ADMIN_WITH_PASSWORD);
        for model in ["kubeflow", "admin/kubeflow", "ckf:kubeflow", "0b5d6f5e-11"] {
            let connection = ConnectionArgs {
                model: Some(model.into()),
                ..ConnectionArgs::default()
            };

            let resolved = target(&connection, &data_env(&dir)).expect(model);

            assert_eq!(
                resolved.target.juju.model_uuid, "0b5d6f5e-1111-4222-8333-444455556666",
                "{model}"
            );
            assert_eq!(resolved.target.model_name, "kubeflow", "{model}");
        }
    }

    #[test]
    fn flags_win_over_the_juju_client_files_field_by_field() {
        let dir = juju_data(ADMIN_WITH_PASSWORD);
        let password = dir.path().join("pw");
        std::fs::write(&password, "from-file\n").expect("write");
        let connection = ConnectionArgs {
            controllers: vec!["127.0.0.5:17070".into()],
            model: Some("kubeflow".into()),
            password_file: Some(password),
            ..ConnectionArgs::default()
        };

        let resolved = target(&connection, &data_env(&dir)).expect("target");

        assert_eq!(resolved.target.juju.addresses, vec!["127.0.0.5:17070"]);
        assert_eq!(resolved.target.juju.password.expose(), "from-file");
        assert_eq!(resolved.target.juju.username, "admin", "from accounts.yaml");
        assert!(
            resolved.ca_from.contains("`ca-cert`"),
            "{}",
            resolved.ca_from
        );
    }

    #[test]
    fn the_controller_flag_takes_a_name_and_conflicts_are_refused() {
        let dir = juju_data(ADMIN_WITH_PASSWORD);
        let by_name = ConnectionArgs {
            controllers: vec!["lab".into()],
            ..ConnectionArgs::default()
        };
        let conflicting = ConnectionArgs {
            controllers: vec!["lab".into()],
            model: Some("ckf:kubeflow".into()),
            ..ConnectionArgs::default()
        };

        let lab = target(&by_name, &data_env(&dir)).expect_err("lab has no account");
        let conflict = target(&conflicting, &data_env(&dir)).expect_err("conflict");

        assert!(
            lab.to_string().contains("no account for controller `lab`"),
            "{lab}"
        );
        assert!(
            conflict.to_string().contains(
                "-c/--controller lab names controller `lab` but -m ckf:kubeflow names `ckf`"
            ),
            "{conflict}"
        );
    }

    #[test]
    fn juju_model_and_juju_controller_are_honoured_and_must_agree() {
        let dir = juju_data(ADMIN_WITH_PASSWORD);
        let mut env = data_env(&dir);
        env.push(("JUJU_MODEL".into(), "ckf:kubeflow".into()));

        let resolved = target(&ConnectionArgs::default(), &env).expect("JUJU_MODEL");
        env.push(("JUJU_CONTROLLER".into(), "lab".into()));
        let with_flag = ConnectionArgs {
            model: Some("kubeflow".into()),
            ..ConnectionArgs::default()
        };
        let conflict = target(&with_flag, &env).expect_err("conflict");

        assert_eq!(resolved.target.model_name, "kubeflow");
        assert_eq!(
            conflict.to_string(),
            "JUJU_MODEL names controller `ckf` but JUJU_CONTROLLER names `lab`: name one controller"
        );
    }

    #[test]
    fn a_missing_password_says_there_is_no_password_flag() {
        let connection = ConnectionArgs {
            controllers: vec!["127.0.0.1:17070".into()],
            model_uuid: Some("u".into()),
            username: Some("migrator".into()),
            ..ConnectionArgs::default()
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
