//! The way back: `restore` of the migrated CKF 1.11 twin, with realistic settle delays scaled
//! down, against the same two yardsticks as the migration's bench:
//!
//! - the **critical path**: the sum over the restore's phases of the longest single wait in
//!   each, from the facts the restore derives from the backup and the migrated model;
//! - the **serial run**: every one of those changes made after the previous one settled, as a
//!   person typing the dry-run's commands in order would.
//!
//! Also reported: Juju requests (FullStatus included) and writes, Kubernetes requests and the
//! peak memory of the restoring process, all counted from the restore's start.
//!
//! Run with `cargo bench --bench restore`. Target: at most 1.2× the critical path.

mod support;

use std::process::ExitCode;
use std::time::Duration;

use ckf_migrator::plan::Plan;
use ckf_migrator::session::{Session, Target};
use ckf_sim::{ADMIN_USER, Sim, Twin};

/// Realistic seconds × SCALE, as the migration's bench.
const SCALE: f64 = 0.02;
/// The default poll of 5 s, scaled like the delays.
const POLL_SECONDS: f64 = 5.0 * SCALE;
/// Runs measured.
const RUNS: usize = 3;
/// How long one migration or restore may take before the measurement is abandoned.
const RUN_LIMIT: Duration = Duration::from_secs(300);

/// A session on the twin, as the engine opens one.
async fn session(sim: &Sim, dir: &std::path::Path) -> anyhow::Result<Session> {
    let target = Target {
        juju: ckf_migrator::juju::Credentials {
            addresses: vec![sim.juju_address()],
            model_uuid: sim.model_uuid().to_string(),
            username: ADMIN_USER.to_string(),
            password: ckf_migrator::juju::Password::new(sim.admin_password()),
            ca_cert_pem: sim.juju_ca_pem().to_string(),
        },
        cluster: ckf_migrator::cluster::Source::Kubeconfig(sim.write_kubeconfig(dir)?),
        model_name: sim.model_name().to_string(),
        connect: ckf_migrator::juju::ConnectOptions::default(),
    };
    Ok(Session::open(&target).await?)
}

/// The restore's facts, as the engine will run them against the model as it is now.
async fn restore_plan(sim: &Sim, dir: &std::path::Path) -> anyhow::Result<Plan> {
    let session = session(sim, dir).await?;
    let reading = ckf_migrator::restore::read(&session, None).await?;
    session.juju.close().await;
    let transient = Plan::builtin()?.transient;
    Ok(ckf_migrator::restore::desired(
        &reading.plan,
        &reading.target,
        &reading.current,
        transient,
    )?)
}

struct Measured {
    wall: f64,
    critical: f64,
    serial: f64,
    peak_kib: u64,
    full_status: u64,
    juju_requests: u64,
    juju_writes: u64,
    kube_requests: usize,
}

async fn run_once() -> anyhow::Result<Measured> {
    let sim = Sim::start(Twin::ckf_1_11().timing(SCALE)).await?;
    let dir = tempfile::tempdir()?;
    let poll = format!("{POLL_SECONDS}");
    let migrated = tokio::task::block_in_place(|| {
        support::run_cli(
            &sim,
            dir.path(),
            "migrate-to-ambient",
            &["--restart-workloads", "--poll-interval", &poll],
            RUN_LIMIT,
        )
    })?;
    if !migrated.stdout.contains("result: migrated") {
        anyhow::bail!("the migration did not succeed:\n{}", migrated.stderr);
    }
    let plan = restore_plan(&sim, dir.path()).await?;
    let critical = support::critical_path(&plan) * SCALE;
    let serial: f64 = plan
        .phases
        .iter()
        .flat_map(|p| &p.facts)
        .map(|f| support::settle(&plan, &f.kind))
        .sum::<f64>()
        * SCALE;
    let juju_before = sim.model().requests();
    let kube_before = sim.store().requests().count();
    let run = tokio::task::block_in_place(|| {
        support::run_cli(
            &sim,
            dir.path(),
            "restore",
            &["--poll-interval", &poll],
            RUN_LIMIT,
        )
    })?;
    if run.exit != Some(0) || !run.stdout.contains("result: restored") {
        anyhow::bail!(
            "the restore did not succeed (exit {:?}):\n{}\n{}",
            run.exit,
            run.stdout,
            run.stderr
        );
    }
    let juju = sim.model().requests();
    Ok(Measured {
        wall: run.wall.as_secs_f64(),
        critical,
        serial,
        peak_kib: run.peak_kib,
        full_status: juju.count("Client.FullStatus") - juju_before.count("Client.FullStatus"),
        juju_requests: juju.total - juju_before.total,
        juju_writes: juju.writes - juju_before.writes,
        kube_requests: sim.store().requests().count() - kube_before,
    })
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    println!(
        "restore of the migrated ckf-1.11 twin, settle delays x{SCALE}, poll {POLL_SECONDS} s"
    );
    println!(
        "{:>4}  {:>8}  {:>10}  {:>9}  {:>9}  {:>8}  {:>10}  {:>9}  {:>6}  {:>9}  {:>8}",
        "run",
        "wall s",
        "critical s",
        "/critical",
        "serial s",
        "serial/x",
        "FullStatus",
        "juju reqs",
        "writes",
        "kube reqs",
        "peak MB"
    );
    let mut ok = true;
    for i in 1..=RUNS {
        match run_once().await {
            Ok(m) => println!(
                "{i:>4}  {:>8.2}  {:>10.2}  {:>9.2}  {:>9.2}  {:>8.2}  {:>10}  {:>9}  {:>6}  {:>9}  {:>8.1}",
                m.wall,
                m.critical,
                m.wall / m.critical,
                m.serial,
                m.serial / m.wall,
                m.full_status,
                m.juju_requests,
                m.juju_writes,
                m.kube_requests,
                m.peak_kib as f64 / 1024.0
            ),
            Err(e) => {
                eprintln!("run {i}: {e:#}");
                ok = false;
            }
        }
    }
    println!(
        "wall includes the process start, reading the backup and the model, and saving the state"
    );
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
