//! verify at scale: the built `ckf-migrator verify` run as a child process against a migrated
//! twin served in this process, on the large fixture (1,000 profile namespaces, 20,000 pods) and,
//! for comparison, on one tenth of it.
//!
//! Measures what the brief targets: Kubernetes requests (the twin's request log), Juju calls, wall
//! time of the child, and its peak memory. Targets: requests independent of the namespace count,
//! under 5 s, under 100 MB.
//!
//! Peak memory is the child's `VmHWM` (the kernel's resident-set high-water mark) from
//! `/proc/<pid>/status`, sampled every 2 ms until it exits: the crate forbids `unsafe`, so no
//! `wait4`/`getrusage` through libc. VmHWM only grows, so the last sample is the peak up to at most
//! 2 ms before exit.
//!
//! Run with `cargo bench --bench verify` (prints a table; exits non-zero only if the measurement
//! itself fails).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ckf_sim::{ADMIN_USER, Sim, Twin};

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

/// `VmHWM` of a process, in KiB.
fn peak_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn write(dir: &Path, name: &str, content: &str) -> std::io::Result<std::path::PathBuf> {
    let path = dir.join(name);
    std::fs::write(&path, content)?;
    Ok(path)
}

/// Runs `ckf-migrator verify` once against `sim`.
fn run_once(sim: &Sim, dir: &Path) -> anyhow::Result<Measured> {
    let kubeconfig = sim.write_kubeconfig(dir)?;
    let ca = write(dir, "ca.pem", sim.juju_ca_pem())?;
    let password = write(dir, "password", sim.admin_password())?;
    let kube = sim.store().requests();
    kube.reset();
    let juju_before = sim.model().requests();

    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ckf-migrator"))
        .arg("verify")
        .args(["--controller", &sim.juju_address()])
        .args(["--model-uuid", sim.model_uuid()])
        .args(["--model", sim.model_name()])
        .arg("--ca-cert")
        .arg(&ca)
        .args(["--username", ADMIN_USER])
        .arg("--password-file")
        .arg(&password)
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .env_remove("JUJU_DISPATCH_PATH")
        .env_remove("KUBECONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let pid = child.id();
    let peak = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (Arc::clone(&peak), Arc::clone(&done));
        std::thread::spawn(move || {
            while !done.load(Ordering::SeqCst) {
                if let Some(kib) = peak_kib(pid) {
                    peak.fetch_max(kib, Ordering::SeqCst);
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };
    let mut stdout = String::new();
    if let Some(mut out) = child.stdout.take() {
        out.read_to_string(&mut stdout)?;
    }
    let mut stderr = String::new();
    if let Some(mut err) = child.stderr.take() {
        err.read_to_string(&mut stderr)?;
    }
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > RUN_LIMIT {
            child.kill()?;
            anyhow::bail!("verify did not finish within {RUN_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    let wall = started.elapsed();
    done.store(true, Ordering::SeqCst);
    let _ = sampler.join();
    if !stderr.trim().is_empty() {
        eprintln!("verify's stderr: {}", stderr.trim());
    }

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
        wall,
        peak_kib: peak.load(Ordering::SeqCst),
        kube_requests: kube.count(),
        kube_by_verb,
        mutating: kube.mutating_count(),
        juju_calls: juju_after.total - juju_before.total,
        juju_writes: juju_after.writes - juju_before.writes,
        exit: status.code(),
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
