//! The migration of CKF 1.11 on the twin, with realistic settle delays scaled down, against two
//! yardsticks:
//!
//! - the **critical path**: the sum over phases of the longest single wait in that phase, i.e. the
//!   fastest any tool could go while keeping the guide's order where it matters;
//! - the **serial guide**: every command of the guide run after the previous one has settled, as a
//!   careful person typing the guide would.
//!
//! Both come from the twin's base delays (`ckf_sim::model::Change::base`), the plan's facts and
//! the guide's commands. Also reported: Juju requests (FullStatus polls included), Kubernetes
//! requests and the peak memory of the migrating process (`support`).
//!
//! Run with `cargo bench --bench migrate`. Targets: at most 1.2× the critical path, at least 3×
//! faster than serial.

mod support;

use std::process::ExitCode;
use std::time::Duration;

use ckf_migrator::plan::{FactKind, Params, Plan, Platform};
use ckf_sim::fixtures::guide::{self, Step};
use ckf_sim::model::Change;
use ckf_sim::{Sim, Twin};

/// Realistic seconds × SCALE: 0.02 makes the ~5 min critical path ~6 s.
const SCALE: f64 = 0.02;
/// The default poll of 5 s, scaled like the delays.
const POLL_SECONDS: f64 = 5.0 * SCALE;
/// Runs measured.
const RUNS: usize = 3;
/// How long one migration may take before the measurement is abandoned.
const RUN_LIMIT: Duration = Duration::from_secs(300);

fn secs(change: Change) -> f64 {
    change.base().as_secs_f64()
}

/// How long the twin takes to settle one fact, in realistic seconds.
fn settle(plan: &Plan, kind: &FactKind) -> f64 {
    match kind {
        FactKind::Absent { role }
            if plan
                .roles
                .get(role)
                .is_some_and(|r| r.charm == "istio-pilot") =>
        {
            secs(Change::RemovePurge)
        }
        FactKind::Absent { .. } => secs(Change::Remove),
        FactKind::Deployed { .. } => secs(Change::Allocate) + secs(Change::Install),
        FactKind::Refreshed { trust: true, .. } => secs(Change::Refresh) + secs(Change::Config),
        FactKind::Refreshed { .. } => secs(Change::Refresh),
        FactKind::Related { .. } => secs(Change::Relate),
        FactKind::Configured { .. } => secs(Change::Config),
        // Kubernetes objects and waits on them follow the Juju changes at once in the twin.
        _ => 0.0,
    }
}

/// Sum over the phases that apply of the longest settle in each.
fn critical_path(plan: &Plan) -> f64 {
    let resolved = plan
        .resolve(Params {
            model: "kubeflow".into(),
            platform: Platform::Microk8s,
            restart_workloads: false,
        })
        .expect("the builtin plan resolves for MicroK8s");
    resolved
        .plan
        .phases
        .iter()
        .map(|phase| {
            phase
                .facts
                .iter()
                .map(|f| settle(&resolved.plan, &f.kind))
                .fold(0.0, f64::max)
        })
        .sum()
}

/// Every command of the guide, each after the previous one settled.
fn serial_guide() -> f64 {
    guide::steps(false)
        .iter()
        .map(|step| match step {
            Step::Remove { app } if app == "istio-pilot" => secs(Change::RemovePurge),
            Step::Remove { .. } => secs(Change::Remove),
            Step::Deploy { .. } => secs(Change::Allocate) + secs(Change::Install),
            Step::Refresh { trust: true, .. } => secs(Change::Refresh) + secs(Change::Config),
            Step::Refresh { .. } => secs(Change::Refresh),
            Step::Integrate { .. } => secs(Change::Relate),
            Step::Config { .. } => secs(Change::Config),
            _ => 0.0,
        })
        .sum()
}

struct Measured {
    wall: Duration,
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
    let run = tokio::task::block_in_place(|| {
        support::run_cli(
            &sim,
            dir.path(),
            "migrate-to-ambient",
            // The twin's notebook keeps its sidecar otherwise, and the run ends `incomplete`.
            &[
                "--platform",
                "auto",
                "--restart-workloads",
                "--poll-interval",
                &poll,
            ],
            RUN_LIMIT,
        )
    })?;
    if run.exit != Some(0) || !run.stdout.contains("result: migrated") {
        anyhow::bail!(
            "the migration did not succeed (exit {:?}):\n{}\n{}",
            run.exit,
            run.stdout,
            run.stderr
        );
    }
    let juju = sim.model().requests();
    Ok(Measured {
        wall: run.wall,
        peak_kib: run.peak_kib,
        full_status: juju.count("Client.FullStatus"),
        juju_requests: juju.total,
        juju_writes: juju.writes,
        kube_requests: sim.store().requests().count(),
    })
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let plan = Plan::builtin().expect("the builtin plan loads");
    let critical = critical_path(&plan) * SCALE;
    let serial = serial_guide() * SCALE;
    println!(
        "migrate-to-ambient on ckf-1.11 (MicroK8s), settle delays x{SCALE}, poll {POLL_SECONDS} s"
    );
    println!(
        "critical path {critical:.2} s, serial guide {serial:.2} s (realistic: {:.0} s and {:.0} s)",
        critical / SCALE,
        serial / SCALE
    );
    println!(
        "{:>4}  {:>8}  {:>9}  {:>9}  {:>10}  {:>9}  {:>6}  {:>9}  {:>8}",
        "run",
        "wall s",
        "/critical",
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
            Ok(m) => {
                let wall = m.wall.as_secs_f64();
                println!(
                    "{i:>4}  {wall:>8.2}  {:>9.2}  {:>9.2}  {:>10}  {:>9}  {:>6}  {:>9}  {:>8.1}",
                    wall / critical,
                    serial / wall,
                    m.full_status,
                    m.juju_requests,
                    m.juju_writes,
                    m.kube_requests,
                    m.peak_kib as f64 / 1024.0
                );
            }
            Err(e) => {
                eprintln!("run {i}: {e:#}");
                ok = false;
            }
        }
    }
    println!("wall includes the process start, preflight, the backup and the final verify");
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
