//! Runs the real `ckf-migrator` binary the way Juju runs a charm's `dispatch`.
//!
//! [`Dispatch`] builds one hook or action: the environment of reference/charm-runtime.md §1.3
//! from scratch (as Juju does: nothing of the test's environment leaks in), a charm directory with
//! the unit agent's `agent.conf` beside it, and a directory on `PATH` whose tool names
//! (`action-get`, `status-set`, …) are symlinks to `ckf-hook-tool`, the stateful fake hook tools
//! of `ckf_sim::hooktools`. The fake's state (config, secrets, params, leadership) is arranged by
//! the builder; after the run, [`Run`] reads what the charm did: statuses, results, logs, the
//! failure message, and the argv of every tool call.
//!
//! ```ignore
//! let run = Dispatch::action("verify").param("http", false).credentials(URI, "migrator", "pw")
//!     .juju_api(&sim.juju_addresses(), &sim.model_uuid(), &sim.ca_pem())
//!     .kubeconfig(sim.kubeconfig()).run().await;
//! assert!(run.succeeded(), "action failed: {}", run.failure());
//! ```
#![allow(dead_code)] // each test binary uses part of the harness

pub mod kube;
pub mod twin;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use ckf_sim::hooktools::{self, ActionState, LogLine, Secret, State, WorkloadStatus};
use serde_json::{Map, Value};

/// The unit the harness pretends to be.
pub const UNIT: &str = "ckf-migrator/0";
/// Its model.
pub const MODEL: &str = "kubeflow";
/// The model UUID used unless [`Dispatch::juju_api`] says otherwise.
pub const MODEL_UUID: &str = "6d3c8f1e-5a2b-4c1d-9e8f-0a1b2c3d4e5f";
/// A secret URI for tests.
pub const SECRET_URI: &str = "secret:d1cf0mnmp25c7f3m9o80";

/// How long one dispatch may run before the test fails.
const RUN_TIMEOUT: Duration = Duration::from_secs(180);
/// How long building `ckf-hook-tool` may take.
const BUILD_TIMEOUT: Duration = Duration::from_secs(1200);

enum Kind {
    Hook,
    Action,
}

/// When to kill a run, judged on the unit's recorded state.
type KillCondition = Box<dyn Fn(&State) -> bool + Send>;

/// One hook or action to run, and the unit's state before it.
pub struct Dispatch {
    kind: Kind,
    name: String,
    state: State,
    api_addresses: Vec<String>,
    model_uuid: String,
    ca_pem: Option<String>,
    agent_conf: bool,
    kubeconfig: Option<PathBuf>,
    env: Vec<(String, String)>,
    timeout: Duration,
}

impl Dispatch {
    fn new(kind: Kind, name: &str) -> Self {
        let action = matches!(kind, Kind::Action).then(|| ActionState {
            name: name.to_string(),
            ..ActionState::default()
        });
        Self {
            kind,
            name: name.to_string(),
            state: State {
                unit: UNIT.into(),
                action,
                ..State::default()
            },
            api_addresses: vec![refused_address()],
            model_uuid: MODEL_UUID.into(),
            ca_pem: None,
            agent_conf: true,
            kubeconfig: None,
            env: Vec::new(),
            timeout: RUN_TIMEOUT,
        }
    }

    /// A hook (`JUJU_DISPATCH_PATH=hooks/<name>`).
    pub fn hook(name: &str) -> Self {
        Self::new(Kind::Hook, name)
    }

    /// An action (`JUJU_DISPATCH_PATH=actions/<name>`), with no params until [`Dispatch::param`].
    /// Juju inserts the schema's defaults before the charm runs; tests that want that set them.
    pub fn action(name: &str) -> Self {
        Self::new(Kind::Action, name)
    }

    /// An action parameter as `action-get` will return it.
    pub fn param(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.state
            .action
            .as_mut()
            .expect("param() is for actions")
            .params
            .insert(key.to_string(), value.into());
        self
    }

    /// A config option as `config-get` will return it.
    pub fn config(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.state.config.insert(key.to_string(), value.into());
        self
    }

    /// A user secret granted to the application.
    pub fn secret(self, uri: &str, content: &[(&str, &str)]) -> Self {
        self.secret_with_grant(uri, content, true)
    }

    /// A user secret that exists but is not granted to the application.
    pub fn secret_not_granted(self, uri: &str, content: &[(&str, &str)]) -> Self {
        self.secret_with_grant(uri, content, false)
    }

    fn secret_with_grant(mut self, uri: &str, content: &[(&str, &str)], granted: bool) -> Self {
        let id = uri.strip_prefix("secret:").unwrap_or(uri).to_string();
        let content: BTreeMap<String, String> = content
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.state.secrets.insert(
            id,
            Secret {
                revisions: vec![content],
                granted_to: if granted {
                    vec![app_of(UNIT).to_string()]
                } else {
                    Vec::new()
                },
                pinned: None,
            },
        );
        self
    }

    /// `juju-credentials` pointing at a granted secret with this username and password.
    pub fn credentials(self, uri: &str, username: &str, password: &str) -> Self {
        self.config("juju-credentials", uri)
            .secret(uri, &[("username", username), ("password", password)])
    }

    /// Whether the unit is the leader (`is-leader`).
    pub fn leader(mut self, leader: bool) -> Self {
        self.state.leader = leader;
        self
    }

    /// The unit's workload status before the run (`status-get`).
    pub fn status(mut self, status: &str, message: &str) -> Self {
        self.state.unit_status = WorkloadStatus {
            status: status.into(),
            message: message.into(),
        };
        self
    }

    /// The controller: `JUJU_API_ADDRESSES`, `JUJU_MODEL_UUID`, and the CA in `agent.conf`.
    /// Default: an address on 127.0.0.1 that refuses connections, and a throwaway CA.
    pub fn juju_api(mut self, addresses: &[String], model_uuid: &str, ca_pem: &str) -> Self {
        self.api_addresses = addresses.to_vec();
        self.model_uuid = model_uuid.into();
        self.ca_pem = Some(ca_pem.into());
        self
    }

    /// Write no `agent.conf` beside the charm directory.
    pub fn without_agent_conf(mut self) -> Self {
        self.agent_conf = false;
        self
    }

    /// `KUBECONFIG` for the charm (default: none, so the charm tries the pod's service account).
    pub fn kubeconfig(mut self, path: impl AsRef<Path>) -> Self {
        self.kubeconfig = Some(path.as_ref().to_path_buf());
        self
    }

    /// Any other variable, added to (or replacing one of) Juju's.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// How long the run may take.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Runs the binary once and collects what it did.
    pub async fn run(self) -> Run {
        self.run_inner(None, None).await
    }

    /// Runs the binary and sends it `signal` (`TERM` or `INT`, as `kill -s` names them) as soon
    /// as the unit's recorded state satisfies `when`, then waits for it to stop by itself.
    pub async fn signal_when(
        self,
        signal: &'static str,
        when: impl Fn(&State) -> bool + Send + 'static,
    ) -> Run {
        self.run_inner(Some(Box::new(when)), Some(signal)).await
    }

    /// Runs the binary and kills it (SIGKILL, as a pod eviction would) as soon as the unit's
    /// recorded state satisfies `kill`. Fails the test if the run ends first.
    pub async fn kill_when(self, kill: impl Fn(&State) -> bool + Send + 'static) -> Run {
        let run = self.run_inner(Some(Box::new(kill)), None).await;
        assert_eq!(
            run.code, None,
            "the run ended before it could be killed: {}",
            run.stderr
        );
        run
    }

    /// `signal`: `None` kills (SIGKILL); a name sends that signal instead.
    async fn run_inner(self, kill: Option<KillCondition>, signal: Option<&'static str>) -> Run {
        let tool = hook_tool().await;
        let dir = tempfile::tempdir().expect("temp dir");
        let agent_dir = dir.path().join("agents").join("unit-ckf-migrator-0");
        let charm_dir = agent_dir.join("charm");
        let tools_dir = dir.path().join("tools").join("unit-ckf-migrator-0");
        std::fs::create_dir_all(&charm_dir).expect("charm dir");
        std::fs::create_dir_all(&tools_dir).expect("tools dir");
        std::fs::write(charm_dir.join("metadata.yaml"), "name: ckf-migrator\n")
            .expect("metadata.yaml");
        for name in hooktools::TOOLS {
            std::os::unix::fs::symlink(&tool, tools_dir.join(name)).expect("tool symlink");
        }
        if self.agent_conf {
            let ca = self
                .ca_pem
                .clone()
                .unwrap_or_else(|| throwaway_ca().to_string());
            std::fs::write(
                agent_dir.join("agent.conf"),
                agent_conf(&ca, &self.api_addresses),
            )
            .expect("agent.conf");
        }
        let state_file = dir.path().join("hook-tools-state.json");
        self.state
            .save(&state_file)
            .expect("write the fake's state");

        let env = self.environment(&charm_dir, &tools_dir, &state_file);
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_ckf-migrator"))
            .env_clear()
            .envs(env)
            .current_dir(&charm_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start ckf-migrator");
        if let Some(kill) = kill {
            let watch = async {
                loop {
                    // The tools rewrite the file under a lock; a torn read is retried.
                    if State::load(&state_file).is_ok_and(|state| kill(&state)) {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            };
            let raced = tokio::time::timeout(self.timeout, async {
                tokio::select! {
                    () = watch => match (signal, child.id()) {
                        (Some(signal), Some(pid)) => send_signal(signal, pid),
                        _ => child.start_kill().expect("kill ckf-migrator"),
                    },
                    status = child.wait() => {
                        status.expect("wait for ckf-migrator");
                    }
                }
            })
            .await;
            if raced.is_err() {
                panic!(
                    "{} {} reached neither the kill condition nor its end within {:?}",
                    self.kind_word(),
                    self.name,
                    self.timeout
                );
            }
        }
        let output = tokio::time::timeout(self.timeout, child.wait_with_output())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "{} {} did not finish within {:?}",
                    self.kind_word(),
                    self.name,
                    self.timeout
                )
            })
            .expect("wait for ckf-migrator");
        let state = State::load(&state_file).expect("read the fake's state");
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            state,
            is_action: matches!(self.kind, Kind::Action),
            _dir: dir,
        }
    }

    fn kind_word(&self) -> &'static str {
        match self.kind {
            Kind::Hook => "hook",
            Kind::Action => "action",
        }
    }

    /// Juju 3.6's hook environment (charm-runtime.md §1.3), built from nothing.
    fn environment(
        &self,
        charm_dir: &Path,
        tools_dir: &Path,
        state_file: &Path,
    ) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = Vec::new();
        let mut set = |k: &str, v: &str| env.push((k.to_string(), v.to_string()));
        let (location, hook_name) = match self.kind {
            Kind::Hook => ("hooks", self.name.as_str()),
            Kind::Action => ("actions", ""),
        };
        set("JUJU_DISPATCH_PATH", &format!("{location}/{}", self.name));
        set("JUJU_HOOK_NAME", hook_name);
        set("JUJU_UNIT_NAME", UNIT);
        set("JUJU_MODEL_NAME", MODEL);
        set("JUJU_MODEL_UUID", &self.model_uuid);
        set("JUJU_CHARM_DIR", &charm_dir.display().to_string());
        set("CHARM_DIR", &charm_dir.display().to_string());
        set("JUJU_VERSION", "3.6.11");
        set("JUJU_CONTEXT_ID", &format!("{UNIT}-{}-4021", self.name));
        set(
            "JUJU_AGENT_SOCKET_ADDRESS",
            "@/var/lib/juju/agents/unit-ckf-migrator-0/agent.socket",
        );
        set("JUJU_AGENT_SOCKET_NETWORK", "unix");
        set("JUJU_API_ADDRESSES", &self.api_addresses.join(" "));
        for empty in [
            "JUJU_MACHINE_ID",
            "JUJU_PRINCIPAL_UNIT",
            "JUJU_AVAILABILITY_ZONE",
            "CLOUD_API_VERSION",
            "JUJU_CHARM_HTTP_PROXY",
            "JUJU_CHARM_HTTPS_PROXY",
            "JUJU_CHARM_FTP_PROXY",
            "JUJU_CHARM_NO_PROXY",
        ] {
            set(empty, "");
        }
        set("JUJU_SLA", "unsupported");
        set(
            "PATH",
            &format!(
                "{}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                tools_dir.display()
            ),
        );
        set("APT_LISTCHANGES_FRONTEND", "none");
        set("DEBIAN_FRONTEND", "noninteractive");
        set("LANG", "C.UTF-8");
        set("TERM", "tmux-256color");
        if matches!(self.kind, Kind::Action) {
            set("JUJU_ACTION_NAME", &self.name);
            set("JUJU_ACTION_UUID", "1");
            set("JUJU_ACTION_TAG", "action-1");
        }
        if let Some(kubeconfig) = &self.kubeconfig {
            set("KUBECONFIG", &kubeconfig.display().to_string());
        }
        set(hooktools::STATE_ENV, &state_file.display().to_string());
        for (k, v) in &self.env {
            env.retain(|(key, _)| key != k);
            env.push((k.clone(), v.clone()));
        }
        env
    }
}

/// What one run did.
pub struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    state: State,
    is_action: bool,
    _dir: tempfile::TempDir,
}

impl Run {
    /// The process's exit code (`None` if killed by a signal).
    pub fn exit_code(&self) -> Option<i32> {
        self.code
    }

    /// Exited 0 and, for an action, did not call `action-fail`.
    pub fn succeeded(&self) -> bool {
        self.code == Some(0) && !self.action().is_some_and(|a| a.failed)
    }

    /// Fails the test, saying why, unless the run [`Run::succeeded`].
    pub fn assert_succeeded(&self) {
        assert!(
            self.succeeded(),
            "action failed: {}\nstderr: {}",
            self.failure(),
            self.stderr()
        );
    }

    /// Why it did not succeed: the `action-fail` message, or the exit code and stderr; empty if
    /// it succeeded.
    pub fn failure(&self) -> String {
        if let Some(message) = self.action().and_then(|a| a.failure.clone()) {
            return message;
        }
        if self.code != Some(0) {
            return format!("exit code {:?}; stderr: {}", self.code, self.stderr);
        }
        String::new()
    }

    /// An action result by dotted key.
    pub fn result(&self, key: &str) -> Option<&str> {
        self.action().and_then(|a| a.result(key))
    }

    /// Every action result, nested.
    pub fn results(&self) -> Map<String, Value> {
        self.action().map(|a| a.results.clone()).unwrap_or_default()
    }

    /// `action-log` lines.
    pub fn logs(&self) -> &[String] {
        self.action().map(|a| a.logs.as_slice()).unwrap_or_default()
    }

    /// Every workload status set, in order.
    pub fn statuses(&self) -> &[WorkloadStatus] {
        &self.state.statuses
    }

    /// The last workload status set.
    pub fn last_status(&self) -> Option<&WorkloadStatus> {
        self.state.statuses.last()
    }

    /// The last status as `status: message`, or `(none)`.
    pub fn last_status_text(&self) -> String {
        self.last_status()
            .map(|s| format!("{}: {}", s.status, s.message))
            .unwrap_or_else(|| "(none)".into())
    }

    /// `juju-log` lines.
    pub fn juju_log(&self) -> &[LogLine] {
        &self.state.juju_log
    }

    /// The argv of every hook-tool call, tool name first.
    pub fn argv_all(&self) -> Vec<Vec<String>> {
        self.state.calls.iter().map(|c| c.argv()).collect()
    }

    /// The fake's whole state after the run.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The binary's stdout.
    pub fn stdout(&self) -> &str {
        &self.stdout
    }

    /// The binary's stderr.
    pub fn stderr(&self) -> &str {
        &self.stderr
    }

    /// Everything the charm said anywhere a person or Juju could see it: argv of every tool call,
    /// statuses, results, action logs, juju-log lines, stdout and stderr. For leak checks.
    pub fn everything_said(&self) -> String {
        let mut all = String::new();
        for argv in self.argv_all() {
            all.push_str(&argv.join(" "));
            all.push('\n');
        }
        for s in self.statuses() {
            all.push_str(&format!("{} {}\n", s.status, s.message));
        }
        all.push_str(&Value::Object(self.results()).to_string());
        for l in self.logs() {
            all.push_str(l);
            all.push('\n');
        }
        for l in self.juju_log() {
            all.push_str(&l.message);
            all.push('\n');
        }
        all.push_str(&self.stdout);
        all.push_str(&self.stderr);
        all
    }

    fn action(&self) -> Option<&ActionState> {
        if self.is_action {
            self.state.action.as_ref()
        } else {
            None
        }
    }
}

fn app_of(unit: &str) -> &str {
    unit.split('/').next().unwrap_or(unit)
}

/// `agent.conf` as a unit agent writes it (the keys the charm reads; others for realism).
fn agent_conf(ca_pem: &str, addresses: &[String]) -> String {
    let indented = ca_pem.trim_end().replace('\n', "\n  ");
    let addresses: String = addresses.iter().map(|a| format!("- {a}\n")).collect();
    format!(
        "# format 2.0\ntag: unit-ckf-migrator-0\ndatadir: /var/lib/juju\nupgradedToVersion: 3.6.11\n\
         apiaddresses:\n{addresses}cacert: |\n  {indented}\n"
    )
}

/// A CA that no server uses: for runs that never reach a controller.
pub fn throwaway_ca() -> &'static str {
    static CA: OnceLock<String> = OnceLock::new();
    CA.get_or_init(|| {
        ckf_sim::tls::Authority::generate("ckf-migrator test CA")
            .expect("generate a CA")
            .ca_pem()
    })
}

/// An address on 127.0.0.1 with nothing listening: connections are refused.
pub fn refused_address() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let port = listener.local_addr().expect("local addr").port();
    drop(listener);
    format!("127.0.0.1:{port}")
}

/// The `ckf-hook-tool` binary: next to `ckf-migrator` in the same target directory, built there
/// first if `cargo test` did not build it (e.g. `cargo test -p ckf-migrator`). Cargo releases its
/// build lock before it runs tests, so building from a test does not deadlock.
pub async fn hook_tool() -> PathBuf {
    static TOOL: tokio::sync::OnceCell<PathBuf> = tokio::sync::OnceCell::const_new();
    TOOL.get_or_init(find_or_build_hook_tool).await.clone()
}

async fn find_or_build_hook_tool() -> PathBuf {
    let migrator = Path::new(env!("CARGO_BIN_EXE_ckf-migrator"));
    let profile_dir = migrator.parent().expect("the binary is in a directory");
    let tool = profile_dir.join("ckf-hook-tool");
    if tool.exists() {
        return tool;
    }
    let target_dir = profile_dir
        .parent()
        .expect("the profile directory is in a target directory");
    let mut args = vec![
        "build".to_string(),
        "-p".into(),
        "ckf-sim".into(),
        "--bin".into(),
        "ckf-hook-tool".into(),
        "--target-dir".into(),
        target_dir.display().to_string(),
    ];
    match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => {}
        Some("release") => args.push("--release".into()),
        Some(other) => {
            args.push("--profile".into());
            args.push(other.into());
        }
        None => {}
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let build = tokio::process::Command::new(&cargo)
        .args(&args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(BUILD_TIMEOUT, build)
        .await
        .expect("building ckf-hook-tool took too long")
        .expect("run cargo to build ckf-hook-tool");
    assert!(
        output.status.success() && tool.exists(),
        "ckf-hook-tool is not built and building it failed; run the README's test command \
         (`cargo test --workspace`), which builds it.\n{cargo} {}\n{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    tool
}

/// Sends `signal` (`TERM`, `INT`) to process `pid` with kill(1).
pub fn send_signal(signal: &str, pid: u32) {
    let sent = std::process::Command::new("kill")
        .args(["-s", signal, &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success(), "kill -s {signal} {pid}");
}
