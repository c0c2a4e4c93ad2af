//! verify at scale: the built `ckf-migrator verify` run as a child process against a migrated
//! twin served in this process, on the large fixture (1,000 profile namespaces, 20,000 pods) and,
//! for comparison, on one tenth of it.
//!
//! Measures what the brief targets: Kubernetes requests (the twin's request log), Juju calls, wall
//! time of the child, and its peak memory. Targets: requests independent of the namespace count,
//! under 5 s, under 100 MB.
//!
//! Peak memory: see `support` (the child's `VmHWM`).
//!
//! Run with `cargo bench --bench verify` (prints a table; exits non-zero only if the measurement
//! itself fails).

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use ckf_sim::{Sim, Twin};

/// How long the twin may take to come up.
const START_LIMIT: Duration = Duration::from_secs(600);
/// How long one verify may take before the measurement is abandoned.
const RUN_LIMIT: Duration = Duration::from_secs(120);
/// Runs per fixture (the first one also pays for cold caches); the table shows each.
const RUNS: usize = 3;

/// What one run measured.
struct Measured {
    wall: Duration,
    peak_kib: u64,
    kube_requests: usize,
    kube_by_verb: BTreeMap<String, usize>,
    mutating: usize,
    juju_calls: u64,
    juju_writes: u64,
    exit: Option<i32>,
    failed_checks: Vec<String>,
}

/// Runs `ckf-migrator verify` once against `sim`.
fn run_once(sim: &Sim, dir: &Path) -> anyhow::Result<Measured> {
    let kube = sim.store().requests();
    kube.reset();
    let juju_before = sim.model().requests();
    let run = support::run_cli(sim, dir, "verify", &[], RUN_LIMIT)?;
    if !run.stderr.trim().is_empty() {
        eprintln!("verify's stderr: {}", run.stderr.trim());
    }
    let stdout = run.stdout;

    let mut kube_by_verb: BTreeMap<String, usize> = BTreeMap::new();
    for r in kube.records() {
        let key = format!(
            "{} {}",
            r.verb,
            r.resource.unwrap_or_else(|| r.path.clone())
        );
        *kube_by_verb.entry(key).or_default() += 1;
    }
    let juju_after = sim.model().requests();
    let failed_checks = stdout
        .lines()
        .filter(|l| l.contains("  fail: "))
        .filter_map(|l| l.split_whitespace().nth(1).map(str::to_string))
        .collect();
    Ok(Measured {
        wall: run.wall,
        peak_kib: run.peak_kib,
        kube_requests: kube.count(),
        kube_by_verb,
        mutating: kube.mutating_count(),
        juju_calls: juju_after.total - juju_before.total,
        juju_writes: juju_after.writes - juju_before.writes,
        exit: run.exit,
        failed_checks,
    })
}

fn count_pods(sim: &Sim) -> usize {
    sim.store().list("v1", "Pod", None, None).len()
}

async fn fixture(name: &str, twin: Twin) -> anyhow::Result<Vec<String>> {
    let profiles = twin.profiles;
    let started = Instant::now();
    let sim = tokio::time::timeout(START_LIMIT, Sim::start(twin)).await??;
    let pods = count_pods(&sim);
    let namespaces = sim.store().list("v1", "Namespace", None, None).len();
    println!(
        "{name}: {profiles} profiles, {namespaces} namespaces, {pods} pods (twin up in {:.1} s)",
        started.elapsed().as_secs_f64()
    );
    let dir = tempfile::tempdir()?;
    let mut lines = Vec::new();
    for run in 1..=RUNS {
        let sim_ref = &sim;
        let dir_path = dir.path().to_path_buf();
        // The child blocks this thread while the twin keeps serving on the runtime's others.
        let m = tokio::task::block_in_place(|| run_once(sim_ref, &dir_path))?;
        println!(
            "  run {run}: {:>6.0} ms  peak {:>6.1} MB  kube requests {:>3} (writes {})  juju calls {} (writes {})  exit {:?}{}",
            m.wall.as_secs_f64() * 1000.0,
            m.peak_kib as f64 / 1024.0,
            m.kube_requests,
            m.mutating,
            m.juju_calls,
            m.juju_writes,
            m.exit,
            if m.failed_checks.is_empty() {
                String::new()
            } else {
                format!("  failed: {}", m.failed_checks.join(", "))
            }
        );
        if run == 1 {
            let by: Vec<String> = m
                .kube_by_verb
                .iter()
                .map(|(k, v)| format!("{k}×{v}"))
                .collect();
            println!("  requests: {}", by.join(", "));
        }
        lines.push(format!(
            "{name}\t{profiles}\t{pods}\t{}\t{:.0}\t{:.1}",
            m.kube_requests,
            m.wall.as_secs_f64() * 1000.0,
            m.peak_kib as f64 / 1024.0
        ));
    }
    Ok(lines)
}

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let mut table = Vec::new();
        let mut tenth = Twin::ckf_1_11().large().migrated();
        tenth.profiles = 100;
        table.extend(fixture("tenth", tenth).await?);
        table.extend(fixture("large", Twin::ckf_1_11().large().migrated()).await?);
        anyhow::Ok(table)
    });
    match result {
        Ok(table) => {
            println!("\nfixture\tprofiles\tpods\tkube-requests\twall-ms\tpeak-MB");
            for line in table {
                println!("{line}");
            }
            println!("targets: wall < 5000 ms, peak < 100 MB, no per-namespace requests");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("benchmark failed: {e:#}");
            ExitCode::FAILURE
        }
    }
}
