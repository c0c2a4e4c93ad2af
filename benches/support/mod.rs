//! What the benchmarks need: the built `ckf-migrator` run as a child against a twin served
//! in-process, its wall time and its peak memory; and the fake hook tools' binary.
//!
//! Peak memory is the child's `VmHWM` (the kernel's resident-set high-water mark), sampled from
//! `/proc/<pid>/status` by a [`PeakSampler`]; `getrusage` would need `unsafe` (libc), which the
//! crate forbids. VmHWM only grows, so the last sample is the peak up to one interval before exit.

#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ckf_migrator::plan::{FactKind, Plan};
use ckf_sim::model::{Change, Timing};
use ckf_sim::{ADMIN_USER, Sim};

/// A twin delay at scale 1, in seconds.
pub fn secs(change: Change) -> f64 {
    change.base().as_secs_f64()
}

/// How long the twin takes to settle one fact, in realistic seconds.
pub fn settle(plan: &Plan, kind: &FactKind) -> f64 {
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
        // `--trust` rides in SetCharm's config-settings, as the Go CLI sends it: one settle. A
        // downgrade to an explicit revision is an ordinary refresh.
        FactKind::Refreshed { .. } => secs(Change::Refresh),
        FactKind::Related { .. } => secs(Change::Relate),
        FactKind::Unrelated { .. } => secs(Change::Unrelate),
        FactKind::Configured { .. } | FactKind::Trusted { .. } => secs(Change::Config),
        // The twin's profile workloads have one replica each and restart in parallel: one pod
        // start. (Cilium's DaemonSet rolls node by node; the MicroK8s run has no Cilium.)
        FactKind::SidecarsRecycled { .. } | FactKind::SidecarsInjected => {
            Timing::POD_START.as_secs_f64()
        }
        // Other Kubernetes objects follow the Juju changes at once in the twin; waiting for an
        // application to settle adds nothing to what changed it.
        _ => 0.0,
    }
}

/// Sum over `plan`'s phases of the longest settle in each: the fastest any tool could go in the
/// plan's order.
pub fn critical_path(plan: &Plan) -> f64 {
    plan.phases
        .iter()
        .map(|phase| {
            phase
                .facts
                .iter()
                .map(|f| settle(plan, &f.kind))
                .fold(0.0, f64::max)
        })
        .sum()
}

/// One run of the CLI.
pub struct CliRun {
    /// From spawn to exit.
    pub wall: Duration,
    /// Peak resident set, KiB.
    pub peak_kib: u64,
    /// Exit code.
    pub exit: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// A `/proc/<pid>/status` field in KiB (`VmHWM`, `RssAnon`, …).
fn status_kib(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// `VmHWM` of a process, in KiB.
fn peak_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status_kib(&status, "VmHWM")
}

fn write(dir: &Path, name: &str, content: &str) -> std::io::Result<PathBuf> {
    let path = dir.join(name);
    std::fs::write(&path, content)?;
    Ok(path)
}

/// Runs `ckf-migrator <command> <args>` against `sim`, logged in as its admin.
///
/// # Errors
/// The child cannot start, or it runs longer than `limit` (it is then killed).
pub fn run_cli(
    sim: &Sim,
    dir: &Path,
    command: &str,
    args: &[&str],
    limit: Duration,
) -> anyhow::Result<CliRun> {
    let kubeconfig = sim.write_kubeconfig(dir)?;
    let ca = write(dir, "ca.pem", sim.juju_ca_pem())?;
    let password = write(dir, "password", sim.admin_password())?;
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ckf-migrator"))
        .arg(command)
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
        .args(args)
        .env_remove("JUJU_DISPATCH_PATH")
        .env_remove("KUBECONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let sampler = PeakSampler::start(child.id(), Duration::from_millis(2));
    // Drain both pipes on their own threads so a chatty child never blocks on a full pipe.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_string(&mut text);
            }
            text
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > limit {
            child.kill()?;
            anyhow::bail!("ckf-migrator {command} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    let wall = started.elapsed();
    Ok(CliRun {
        wall,
        peak_kib: sampler.stop(),
        exit: status.code(),
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// Samples a process's `VmHWM` on a thread until stopped; also the largest anonymous and
/// file-backed resident sets seen (`RssAnon`, `RssFile`: heap and stacks vs. the binary's pages).
pub struct PeakSampler {
    peak: Arc<AtomicU64>,
    anon: Arc<AtomicU64>,
    file: Arc<AtomicU64>,
    done: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

/// What a [`PeakSampler`] saw, KiB.
#[derive(Debug, Clone, Copy, Default)]
pub struct Peaks {
    /// `VmHWM`.
    pub hwm: u64,
    /// Largest `RssAnon` sampled.
    pub anon: u64,
    /// Largest `RssFile` sampled.
    pub file: u64,
}

impl PeakSampler {
    /// Starts sampling `pid` every `interval`.
    pub fn start(pid: u32, interval: Duration) -> Self {
        let peak = Arc::new(AtomicU64::new(0));
        let anon = Arc::new(AtomicU64::new(0));
        let file = Arc::new(AtomicU64::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let thread = {
            let (peak, anon, file, done) = (
                Arc::clone(&peak),
                Arc::clone(&anon),
                Arc::clone(&file),
                Arc::clone(&done),
            );
            std::thread::spawn(move || {
                while !done.load(Ordering::SeqCst) {
                    if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
                        for (field, max) in
                            [("VmHWM", &peak), ("RssAnon", &anon), ("RssFile", &file)]
                        {
                            if let Some(kib) = status_kib(&status, field) {
                                max.fetch_max(kib, Ordering::SeqCst);
                            }
                        }
                    }
                    std::thread::sleep(interval);
                }
            })
        };
        Self {
            peak,
            anon,
            file,
            done,
            thread,
        }
    }

    /// Stops sampling and returns the peak seen, KiB (0 if the process was never seen).
    pub fn stop(self) -> u64 {
        self.stop_all().hwm
    }

    /// Stops sampling and returns everything seen.
    pub fn stop_all(self) -> Peaks {
        self.done.store(true, Ordering::SeqCst);
        let _ = self.thread.join();
        Peaks {
            hwm: self.peak.load(Ordering::SeqCst),
            anon: self.anon.load(Ordering::SeqCst),
            file: self.file.load(Ordering::SeqCst),
        }
    }
}

/// One run of a short-lived child.
pub struct ChildRun {
    /// From spawn to exit.
    pub wall: Duration,
    /// Peak memory, KiB; zeros unless sampled.
    pub peaks: Peaks,
    /// Exit code.
    pub exit: Option<i32>,
}

/// Spawns `command` and waits for it, sampling its peak memory every 100 µs if `sample` (which
/// costs the child some CPU on a small machine, so timed runs leave it off).
///
/// # Errors
/// The child cannot start, or it runs longer than `limit` (it is then killed).
pub fn run_child(command: &mut Command, limit: Duration, sample: bool) -> anyhow::Result<ChildRun> {
    let started = Instant::now();
    let mut child = command.spawn()?;
    let sampler = sample.then(|| PeakSampler::start(child.id(), Duration::from_micros(100)));
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > limit {
            child.kill()?;
            anyhow::bail!("the child did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_micros(100));
    };
    let wall = started.elapsed();
    Ok(ChildRun {
        wall,
        peaks: sampler.map(PeakSampler::stop_all).unwrap_or_default(),
        exit: status.code(),
    })
}

/// The `ckf-hook-tool` binary (the fake hook tools): next to `ckf-migrator` in the same target
/// directory, built there first if it is not (`cargo bench` builds only this crate's binaries).
///
/// # Errors
/// It is not built and building it failed.
pub fn hook_tool() -> anyhow::Result<PathBuf> {
    let migrator = Path::new(env!("CARGO_BIN_EXE_ckf-migrator"));
    let profile_dir = migrator
        .parent()
        .ok_or_else(|| anyhow::anyhow!("{} has no directory", migrator.display()))?;
    let tool = profile_dir.join("ckf-hook-tool");
    if tool.exists() {
        return Ok(tool);
    }
    let target_dir = profile_dir
        .parent()
        .ok_or_else(|| anyhow::anyhow!("{} has no parent", profile_dir.display()))?;
    let mut args: Vec<String> = vec![
        "build".into(),
        "-p".into(),
        "ckf-sim".into(),
        "--bin".into(),
        "ckf-hook-tool".into(),
        "--target-dir".into(),
        target_dir.display().to_string(),
    ];
    match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => {}
        Some("release") => args.push("--release".into()),
        Some(other) => args.extend(["--profile".to_string(), other.to_string()]),
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(&cargo)
        .args(&args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .status()?;
    if !status.success() || !tool.exists() {
        anyhow::bail!("building ckf-hook-tool failed: {cargo} {}", args.join(" "));
    }
    Ok(tool)
}
