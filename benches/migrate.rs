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
//! And what users feel: how long the dashboard is unreachable. A task probes the twin's ingress
//! every [`PROBE_INTERVAL`] during the run, as `verify`'s HTTP probe does (`GET /` without a
//! session, no redirect followed); a good answer is the redirect to Dex's login. The old gateway
//! answers until it is removed, the new one once istio-ingress-k8s is up with its routes and
//! ext-authz policy. Downtime is the sum of the stretches from a bad answer to the next good one
//! (to the end of the run if none): precise to one probe interval.
//!
//! Run with `cargo bench --bench migrate`. Targets: at most 1.2× the critical path, at least 3×
//! faster than serial.

mod support;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use ckf_migrator::plan::{Params, Plan, Platform};
use ckf_sim::fixtures::guide::{self, Step};
use ckf_sim::model::{Change, Timing};
use ckf_sim::{Sim, Twin};
use support::secs;

/// Realistic seconds × SCALE: 0.02 makes the ~5 min critical path ~6 s.
const SCALE: f64 = 0.02;
/// The default poll of 5 s, scaled like the delays.
const POLL_SECONDS: f64 = 5.0 * SCALE;
/// Runs measured.
const RUNS: usize = 3;
/// How long one migration may take before the measurement is abandoned.
const RUN_LIMIT: Duration = Duration::from_secs(300);
/// How often the ingress is probed during a run.
const PROBE_INTERVAL: Duration = Duration::from_millis(15);

/// The plan bound to the twin (MicroK8s), its critical path.
fn critical_path(plan: &Plan) -> f64 {
    let resolved = plan
        .resolve(Params {
            model: "kubeflow".into(),
            platform: Platform::Microk8s,
            restart_workloads: true,
        })
        .expect("the builtin plan resolves for MicroK8s");
    support::critical_path(&resolved.plan)
}

/// Every command of the guide, each after the previous one settled.
fn serial_guide() -> f64 {
    guide::steps(false)
        .iter()
        .map(|step| match step {
            Step::Remove { app } if app == "istio-pilot" => secs(Change::RemovePurge),
            Step::Remove { .. } => secs(Change::Remove),
            Step::Deploy { .. } => secs(Change::Allocate) + secs(Change::Install),
            Step::Refresh { .. } => secs(Change::Refresh),
            Step::Integrate { .. } => secs(Change::Relate),
            Step::Config { .. } => secs(Change::Config),
            // Deleted pods come back after a pod start (the twin's profile workloads: one each).
            Step::DeletePods { .. } => Timing::POD_START.as_secs_f64(),
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
    ingress: Downtime,
}

/// What the ingress probe saw during one run.
struct Downtime {
    /// Total time without the redirect to Dex, from the first bad answer on.
    down: Duration,
    /// Whether the last probe got the redirect again.
    back: bool,
    /// Probes made.
    probes: usize,
}

/// One probe: `GET /` without a session; good if it is the redirect to Dex's login.
async fn probe_once(client: &reqwest::Client, url: &str) -> bool {
    match client.get(url).send().await {
        Ok(response) => {
            response.status() == reqwest::StatusCode::FOUND
                && response
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .is_some_and(|l| l.contains("/dex/auth"))
        }
        Err(_) => false,
    }
}

/// Probes `url` every [`PROBE_INTERVAL`] until `stop` fires; each answer timestamped.
async fn probe_ingress(
    url: String,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) -> anyhow::Result<Vec<(Instant, bool)>> {
    let client = ckf_migrator::verify::probe::client()?;
    let mut ticks = tokio::time::interval(PROBE_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut seen = Vec::new();
    loop {
        tokio::select! {
            _ = &mut stop => return Ok(seen),
            _ = ticks.tick() => {
                let good = probe_once(&client, &url).await;
                seen.push((Instant::now(), good));
            }
        }
    }
}

/// Sums the stretches from each bad answer to the next good one (or the last probe).
fn downtime(seen: &[(Instant, bool)]) -> Downtime {
    let mut down = Duration::ZERO;
    let mut bad_since: Option<Instant> = None;
    for &(at, good) in seen {
        match (good, bad_since) {
            (false, None) => bad_since = Some(at),
            (true, Some(since)) => {
                down += at - since;
                bad_since = None;
            }
            _ => {}
        }
    }
    if let (Some(since), Some(&(last, _))) = (bad_since, seen.last()) {
        down += last - since;
    }
    Downtime {
        down,
        back: seen.last().is_some_and(|&(_, good)| good),
        probes: seen.len(),
    }
}

async fn run_once() -> anyhow::Result<Measured> {
    let sim = Sim::start(Twin::ckf_1_11().timing(SCALE)).await?;
    let dir = tempfile::tempdir()?;
    let poll = format!("{POLL_SECONDS}");
    let (stop_probe, stopped) = tokio::sync::oneshot::channel();
    let probe = tokio::spawn(probe_ingress(format!("{}/", sim.ingress_url()), stopped));
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
    });
    let _ = stop_probe.send(());
    let seen = probe.await??;
    let run = run?;
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
        ingress: downtime(&seen),
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
        "{:>4}  {:>8}  {:>9}  {:>9}  {:>10}  {:>9}  {:>6}  {:>9}  {:>8}  {:>14}  {:>11}  {:>6}",
        "run",
        "wall s",
        "/critical",
        "serial/x",
        "FullStatus",
        "juju reqs",
        "writes",
        "kube reqs",
        "peak MB",
        "ingress down s",
        "real down s",
        "down %"
    );
    let mut ok = true;
    for i in 1..=RUNS {
        match run_once().await {
            Ok(m) => {
                let wall = m.wall.as_secs_f64();
                let down = m.ingress.down.as_secs_f64();
                println!(
                    "{i:>4}  {wall:>8.2}  {:>9.2}  {:>9.2}  {:>10}  {:>9}  {:>6}  {:>9}  {:>8.1}  {:>14.2}  {:>11.0}  {:>6.1}",
                    wall / critical,
                    serial / wall,
                    m.full_status,
                    m.juju_requests,
                    m.juju_writes,
                    m.kube_requests,
                    m.peak_kib as f64 / 1024.0,
                    down,
                    down / SCALE,
                    100.0 * down / wall
                );
                if !m.ingress.back {
                    eprintln!(
                        "run {i}: the ingress did not answer the redirect to Dex at the end ({} probes)",
                        m.ingress.probes
                    );
                    ok = false;
                }
            }
            Err(e) => {
                eprintln!("run {i}: {e:#}");
                ok = false;
            }
        }
    }
    println!("wall includes the process start, preflight, the backup and the final verify");
    println!(
        "ingress down: no redirect to Dex through the ingress (probed every {} ms), from the old \
         gateway's removal to the new one's first good answer; real = / {SCALE}",
        PROBE_INTERVAL.as_millis()
    );
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
