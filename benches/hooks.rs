//! What a hook costs the unit: `update-status` run as Juju runs it, every five minutes for the
//! life of the charm, with the fake hook tools (`ckf-hook-tool`) on `PATH` and the twin's
//! Kubernetes API behind the trust check.
//!
//! Two cases, each run [`RUNS`] times after [`WARMUP`] runs:
//! - **unchanged**: configured, trusted, and the unit already shows the status update-status would
//!   set; nothing to do but look;
//! - **changed**: the unit shows a problem that has since been fixed (a secret granted since the
//!   last hook), so the status must be set.
//!
//! Printed per case: median and p90 wall time from spawn to exit, hook-tool calls per run, and
//! the charm process's peak resident set (`VmHWM`, sampled in separate runs so the sampling does
//! not slow the timed ones). Every run's end state is checked: a fast hook with a wrong status
//! fails the bench.
//!
//! Run with `cargo bench --bench hooks`. Targets for **unchanged**: median ≤ 10 ms, ≤ 3 hook-tool
//! calls, peak ≤ 10 MiB.

mod support;

use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::time::Duration;

use ckf_sim::hooktools::{self, Secret, State, WorkloadStatus};
use ckf_sim::{ADMIN_USER, Sim, Twin};

/// Timed runs per case.
const RUNS: usize = 40;
/// Runs before timing starts (page cache, the twin's first TLS handshakes).
const WARMUP: usize = 3;
/// Runs per case whose peak memory is sampled.
const SAMPLED_RUNS: usize = 10;
/// How long one hook may take before the bench gives up.
const RUN_LIMIT: Duration = Duration::from_secs(60);

const UNIT: &str = "ckf-migrator/0";
const SECRET_ID: &str = "d1cf0mnmp25c7f3m9o80";
const READY: &str = "ready; run migrate-to-ambient";

/// One unit's directories, as the unit agent lays them out.
struct Unit {
    _dir: tempfile::TempDir,
    charm_dir: PathBuf,
    tools_dir: PathBuf,
    state_file: PathBuf,
    kubeconfig: PathBuf,
    juju_address: String,
    model_uuid: String,
}

impl Unit {
    fn new(sim: &Sim, tool: &Path) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let agent_dir = dir.path().join("agents").join("unit-ckf-migrator-0");
        let charm_dir = agent_dir.join("charm");
        let tools_dir = dir.path().join("tools").join("unit-ckf-migrator-0");
        std::fs::create_dir_all(&charm_dir)?;
        std::fs::create_dir_all(&tools_dir)?;
        for name in hooktools::TOOLS {
            std::os::unix::fs::symlink(tool, tools_dir.join(name))?;
        }
        let ca = sim.juju_ca_pem().trim_end().replace('\n', "\n  ");
        std::fs::write(
            agent_dir.join("agent.conf"),
            format!("tag: unit-ckf-migrator-0\ncacert: |\n  {ca}\n"),
        )?;
        let kubeconfig = sim.write_kubeconfig(dir.path())?;
        Ok(Self {
            state_file: dir.path().join("hook-tools-state.json"),
            charm_dir,
            tools_dir,
            kubeconfig,
            juju_address: sim.juju_address(),
            model_uuid: sim.model_uuid().to_string(),
            _dir: dir,
        })
    }

    /// Juju 3.6's hook environment for `hook` (reference/charm-runtime.md §1.3), from nothing.
    fn command(&self, hook: &str) -> std::process::Command {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_ckf-migrator"));
        let charm_dir = self.charm_dir.display().to_string();
        command
            .env_clear()
            .env("JUJU_DISPATCH_PATH", format!("hooks/{hook}"))
            .env("JUJU_HOOK_NAME", hook)
            .env("JUJU_UNIT_NAME", UNIT)
            .env("JUJU_MODEL_NAME", "kubeflow")
            .env("JUJU_MODEL_UUID", &self.model_uuid)
            .env("JUJU_CHARM_DIR", &charm_dir)
            .env("CHARM_DIR", &charm_dir)
            .env("JUJU_VERSION", "3.6.11")
            .env("JUJU_CONTEXT_ID", format!("{UNIT}-{hook}-4021"))
            .env("JUJU_API_ADDRESSES", &self.juju_address)
            .env(
                "PATH",
                format!("{}:/usr/local/bin:/usr/bin:/bin", self.tools_dir.display()),
            )
            .env("LANG", "C.UTF-8")
            .env("KUBECONFIG", &self.kubeconfig)
            .env(hooktools::STATE_ENV, &self.state_file)
            .current_dir(&self.charm_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        command
    }
}

/// The unit before the hook: credentials configured and granted, showing `status`.
fn state_before(status: (&str, &str)) -> State {
    let mut state = State {
        unit: UNIT.into(),
        ..State::default()
    };
    state.config.insert(
        "juju-credentials".into(),
        format!("secret:{SECRET_ID}").into(),
    );
    state.secrets.insert(
        SECRET_ID.into(),
        Secret {
            revisions: vec![
                [
                    ("username".to_string(), ADMIN_USER.to_string()),
                    (
                        "password".to_string(),
                        "unused-by-update-status".to_string(),
                    ),
                ]
                .into(),
            ],
            granted_to: vec!["ckf-migrator".into()],
            pinned: None,
        },
    );
    state.unit_status = WorkloadStatus {
        status: status.0.into(),
        message: status.1.into(),
    };
    state
}

struct Case {
    name: &'static str,
    before: (&'static str, &'static str),
}

const CASES: &[Case] = &[
    Case {
        name: "unchanged",
        before: ("active", READY),
    },
    Case {
        name: "changed",
        before: (
            "blocked",
            "juju-credentials secret secret:d1cf0mnmp25c7f3m9o80 is not granted to ckf-migrator: run `juju grant-secret secret:d1cf0mnmp25c7f3m9o80 ckf-migrator`",
        ),
    },
];

struct Measured {
    wall: Vec<Duration>,
    calls: Vec<usize>,
    tools: String,
    peaks: Vec<support::Peaks>,
}

/// One update-status; returns its wall time and the unit's state after it.
fn run_once(
    unit: &Unit,
    case: &Case,
    sample: bool,
) -> anyhow::Result<(Duration, support::Peaks, State)> {
    state_before(case.before).save(&unit.state_file)?;
    let run = support::run_child(&mut unit.command("update-status"), RUN_LIMIT, sample)?;
    if run.exit != Some(0) {
        anyhow::bail!("update-status exited with {:?}", run.exit);
    }
    let state = State::load(&unit.state_file)?;
    if state.unit_status.status != "active" || state.unit_status.message != READY {
        anyhow::bail!(
            "{}: update-status left the status {}: {} (calls: {:?})",
            case.name,
            state.unit_status.status,
            state.unit_status.message,
            state.calls.iter().map(|c| c.argv()).collect::<Vec<_>>()
        );
    }
    Ok((run.wall, run.peaks, state))
}

fn measure(unit: &Unit, case: &Case) -> anyhow::Result<Measured> {
    for _ in 0..WARMUP {
        run_once(unit, case, false)?;
    }
    let mut m = Measured {
        wall: Vec::new(),
        calls: Vec::new(),
        tools: String::new(),
        peaks: Vec::new(),
    };
    for _ in 0..RUNS {
        let (wall, _, state) = run_once(unit, case, false)?;
        m.wall.push(wall);
        m.calls.push(state.calls.len());
        m.tools = state
            .calls
            .iter()
            .map(|c| c.tool.as_str())
            .collect::<Vec<_>>()
            .join(" ");
    }
    for _ in 0..SAMPLED_RUNS {
        let (_, peaks, _) = run_once(unit, case, true)?;
        m.peaks.push(peaks);
    }
    Ok(m)
}

fn quantile<T: Copy + Ord>(values: &[T], q: f64) -> T {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let index = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[index]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    match bench().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hooks bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn bench() -> anyhow::Result<()> {
    let tool = support::hook_tool()?;
    let sim = Sim::start(Twin::ckf_1_11()).await?;
    let unit = Unit::new(&sim, &tool)?;
    println!(
        "update-status with fake hook tools and the twin's Kubernetes API; {RUNS} timed runs, \
         {SAMPLED_RUNS} sampled for memory"
    );
    println!(
        "{:>10}  {:>9}  {:>9}  {:>10}  {:>8}  {:>13}  tools",
        "case", "median ms", "p90 ms", "tool calls", "peak MiB", "anon/file MiB"
    );
    for case in CASES {
        let m = tokio::task::block_in_place(|| measure(&unit, case))?;
        let (lo, hi) = (
            m.calls.iter().min().copied().unwrap_or(0),
            m.calls.iter().max().copied().unwrap_or(0),
        );
        let calls = if lo == hi {
            lo.to_string()
        } else {
            format!("{lo}-{hi}")
        };
        let mib = |kib: u64| kib as f64 / 1024.0;
        let max = |f: fn(&support::Peaks) -> u64| m.peaks.iter().map(f).max().unwrap_or(0);
        println!(
            "{:>10}  {:>9.2}  {:>9.2}  {:>10}  {:>8.1}  {:>13}  {}",
            case.name,
            ms(quantile(&m.wall, 0.5)),
            ms(quantile(&m.wall, 0.9)),
            calls,
            mib(max(|p| p.hwm)),
            format!("{:.1}/{:.1}", mib(max(|p| p.anon)), mib(max(|p| p.file))),
            m.tools
        );
    }
    println!(
        "peak: the largest VmHWM of the charm process (hook tools not included); anon/file: its \
         largest RssAnon and RssFile sampled (heap and stacks / the binary's pages)"
    );
    Ok(())
}
