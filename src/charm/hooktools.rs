//! Juju's hook tools: one [`Runner`] trait that runs a tool, and one typed layer
//! ([`HookTools`]) that builds each tool's argv the way ops' `hookcmds` does.
//!
//! The runner is the only thing that starts processes (goops' `CommandRunner`); tests swap in
//! a runner over the stateful fake in `ckf_sim::hooktools`, so argv built here is parsed by code
//! that knows Juju's rules, not by this module. The typed layer knows each tool's flags and
//! output format, and nothing of what the charm does with them.
//!
//! Rules kept here (reference/charm-runtime.md §2): `--format=json` wherever there is output;
//! `--` before every free-text argument, so a message starting with `-` is not read as a flag;
//! the environment is never cleared (the tools need `JUJU_CONTEXT_ID` and the agent socket);
//! a secret's content is only ever read from `secret-get`'s stdout and never appears in argv,
//! in an error or in a log; tools are found on `PATH` by bare name.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::process::Stdio;
use std::sync::Arc;

use serde_json::{Map, Value};
use tokio::io::AsyncWriteExt;

use super::results::ActionResults;

/// Runs one hook tool. The one seam between the charm and Juju's unit agent.
pub trait Runner: Send + Sync + 'static {
    /// Runs `tool` with `args`, feeding `stdin` if given, and returns its stdout.
    ///
    /// # Errors
    /// The tool could not be started, or exited non-zero ([`HookToolError`] keeps its stderr).
    fn run(
        &self,
        tool: &str,
        args: &[String],
        stdin: Option<&[u8]>,
    ) -> impl Future<Output = Result<String, HookToolError>> + Send;
}

/// A hook tool failed. Never carries argv or stdout: either may hold results or secret content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{tool}: {}", self.reason())]
pub struct HookToolError {
    /// The tool, e.g. `secret-get`.
    pub tool: String,
    /// Its exit code; `None` if it could not be started or was killed by a signal.
    pub code: Option<i32>,
    /// What it printed on stderr (or why it could not be started).
    pub stderr: String,
}

impl HookToolError {
    /// The tool's own message, without Juju's `ERROR ` prefix.
    pub fn message(&self) -> &str {
        let text = self.stderr.trim();
        text.strip_prefix("ERROR ").unwrap_or(text)
    }

    fn reason(&self) -> String {
        match (self.message(), self.code) {
            ("", Some(code)) => format!("exited with code {code}"),
            ("", None) => "killed by a signal".to_string(),
            (message, _) => message.to_string(),
        }
    }

    /// Juju says the entity (a secret, a key) does not exist.
    pub fn is_not_found(&self) -> bool {
        self.message().contains("not found")
    }

    /// Juju refused: e.g. a secret that is not granted to this application.
    pub fn is_permission_denied(&self) -> bool {
        self.message().contains("permission denied")
    }
}

/// The real runner: each tool is a process found on `PATH`, run with the inherited environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessRunner;

impl Runner for ProcessRunner {
    async fn run(
        &self,
        tool: &str,
        args: &[String],
        stdin: Option<&[u8]>,
    ) -> Result<String, HookToolError> {
        let error = |code, stderr: String| HookToolError {
            tool: tool.to_string(),
            code,
            stderr,
        };
        let mut command = tokio::process::Command::new(tool);
        command
            .args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command
            .spawn()
            .map_err(|e| error(None, format!("cannot run {tool}: {e}")))?;
        if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(input)
                .await
                .map_err(|e| error(None, format!("cannot write to {tool}'s stdin: {e}")))?;
            // Dropping the pipe closes it, so the tool sees end of input.
        }
        let output = child
            .wait_with_output()
            .await
            .map_err(|e| error(None, format!("cannot wait for {tool}: {e}")))?;
        if !output.status.success() {
            return Err(error(
                output.status.code(),
                String::from_utf8_lossy(&output.stderr).into_owned(),
            ));
        }
        String::from_utf8(output.stdout)
            .map_err(|_| error(Some(0), "printed output that is not UTF-8".to_string()))
    }
}

/// A workload status the charm may set (`status-set` refuses `error` and `unknown`, so they are
/// not representable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadStatus {
    /// Which status.
    pub kind: StatusKind,
    /// The message shown beside it in `juju status`.
    pub message: String,
}

/// The statuses `status-set` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusKind {
    /// Working as intended.
    Active,
    /// Needs a person: the message says what to do.
    Blocked,
    /// Waiting for something outside the charm.
    Waiting,
    /// Busy with something of its own.
    Maintenance,
}

impl StatusKind {
    /// The spelling `status-set` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusKind::Active => "active",
            StatusKind::Blocked => "blocked",
            StatusKind::Waiting => "waiting",
            StatusKind::Maintenance => "maintenance",
        }
    }
}

impl WorkloadStatus {
    /// `active` with a message.
    pub fn active(message: impl Into<String>) -> Self {
        Self {
            kind: StatusKind::Active,
            message: message.into(),
        }
    }

    /// `blocked` with a message that says what to do.
    pub fn blocked(message: impl Into<String>) -> Self {
        Self {
            kind: StatusKind::Blocked,
            message: message.into(),
        }
    }

    /// `maintenance` with a message.
    pub fn maintenance(message: impl Into<String>) -> Self {
        Self {
            kind: StatusKind::Maintenance,
            message: message.into(),
        }
    }
}

impl fmt::Display for WorkloadStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.as_str(), self.message)
    }
}

/// The unit's status as `status-get` reports it: any status Juju knows, including `unknown`.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Deserialize)]
pub struct CurrentStatus {
    /// `active`, `blocked`, `waiting`, `maintenance`, `error` or `unknown`.
    pub status: String,
    /// Its message.
    #[serde(default)]
    pub message: String,
}

impl CurrentStatus {
    /// Whether the unit already shows `status`, so setting it would change nothing.
    pub fn shows(&self, status: &WorkloadStatus) -> bool {
        self.status == status.kind.as_str() && self.message == status.message
    }
}

/// `juju-log` levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// `TRACE`.
    Trace,
    /// `DEBUG`.
    Debug,
    /// `INFO`.
    Info,
    /// `WARNING`.
    Warning,
    /// `ERROR`.
    Error,
}

impl LogLevel {
    /// The spelling `juju-log --log-level` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Trace => "TRACE",
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Warning => "WARNING",
            LogLevel::Error => "ERROR",
        }
    }
}

/// The content of a secret. `Debug` shows the keys only.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SecretContent(BTreeMap<String, String>);

impl SecretContent {
    /// A key's value.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }
}

impl fmt::Debug for SecretContent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretContent")
            .field("keys", &self.0.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Linux refuses a single argv string over 128 KiB; ops splits `juju-log` messages here.
pub const MAX_LOG_LINE_LEN: usize = 131_071;

/// How many bytes of `key=value` arguments one `action-set` call carries before the next call
/// starts: well under Linux's total argv + environment limit (a quarter of the stack limit,
/// 2 MiB by default).
const ACTION_SET_BATCH_BYTES: usize = 512 * 1024;

/// The typed hook tools, over any [`Runner`]. Cheap to clone.
#[derive(Debug)]
pub struct HookTools<R> {
    runner: Arc<R>,
}

impl<R> Clone for HookTools<R> {
    fn clone(&self) -> Self {
        Self {
            runner: Arc::clone(&self.runner),
        }
    }
}

fn owned(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

fn decode<T: serde::de::DeserializeOwned>(tool: &str, stdout: &str) -> Result<T, HookToolError> {
    // The output itself is not quoted in the error: it may be secret content.
    serde_json::from_str(stdout).map_err(|e| HookToolError {
        tool: tool.to_string(),
        code: Some(0),
        stderr: format!("printed output that is not the expected JSON ({e})"),
    })
}

impl<R: Runner> HookTools<R> {
    /// Wraps a runner.
    pub fn new(runner: R) -> Self {
        Self {
            runner: Arc::new(runner),
        }
    }

    /// The runner underneath.
    pub fn runner(&self) -> &R {
        &self.runner
    }

    async fn run(&self, tool: &str, args: Vec<String>) -> Result<String, HookToolError> {
        self.runner.run(tool, &args, None).await
    }

    /// `action-get --format=json`: every parameter of the running action (with Juju's defaults).
    ///
    /// # Errors
    /// Not in an action, or the tool failed.
    pub async fn action_get(&self) -> Result<Map<String, Value>, HookToolError> {
        let out = self.run("action-get", owned(&["--format=json"])).await?;
        // Juju prints `null` rather than `{}` for an action without parameters on some versions.
        let value: Value = decode("action-get", &out)?;
        match value {
            Value::Null => Ok(Map::new()),
            Value::Object(map) => Ok(map),
            _ => Err(HookToolError {
                tool: "action-get".into(),
                code: Some(0),
                stderr: "printed something other than a JSON object".into(),
            }),
        }
    }

    /// `action-set key=value …`: the results, already validated and flattened by
    /// [`ActionResults`]. Large result sets are sent in several calls; Juju merges them.
    ///
    /// # Errors
    /// Not in an action, or the tool refused.
    pub async fn action_set(&self, results: &ActionResults) -> Result<(), HookToolError> {
        let mut batch: Vec<String> = Vec::new();
        let mut size = 0;
        for (key, value) in results.entries() {
            let arg = format!("{key}={value}");
            if !batch.is_empty() && size + arg.len() > ACTION_SET_BATCH_BYTES {
                self.run("action-set", std::mem::take(&mut batch)).await?;
                size = 0;
            }
            size += arg.len();
            batch.push(arg);
        }
        if !batch.is_empty() {
            self.run("action-set", batch).await?;
        }
        Ok(())
    }

    /// `action-log -- <message>`: streamed to `juju run` at once.
    ///
    /// # Errors
    /// Not in an action, or the tool failed.
    pub async fn action_log(&self, message: &str) -> Result<(), HookToolError> {
        self.run("action-log", owned(&["--", message]))
            .await
            .map(drop)
    }

    /// `action-fail -- <message>`: marks the action failed. The process goes on.
    ///
    /// # Errors
    /// Not in an action, or the tool failed.
    pub async fn action_fail(&self, message: &str) -> Result<(), HookToolError> {
        self.run("action-fail", owned(&["--", message]))
            .await
            .map(drop)
    }

    /// `status-set <status> -- <message>`: the unit's workload status, effective at once.
    ///
    /// # Errors
    /// The tool failed.
    pub async fn status_set(&self, status: &WorkloadStatus) -> Result<(), HookToolError> {
        self.run(
            "status-set",
            owned(&[status.kind.as_str(), "--", &status.message]),
        )
        .await
        .map(drop)
    }

    /// `status-get --include-data --format=json`: the unit's workload status now.
    ///
    /// # Errors
    /// The tool failed.
    pub async fn status_get(&self) -> Result<CurrentStatus, HookToolError> {
        let out = self
            .run("status-get", owned(&["--include-data", "--format=json"]))
            .await?;
        decode("status-get", &out)
    }

    /// `juju-log --log-level <LEVEL> -- <message>`, split into several calls when the message is
    /// longer than one argument may be.
    ///
    /// # Errors
    /// The tool failed.
    pub async fn juju_log(&self, level: LogLevel, message: &str) -> Result<(), HookToolError> {
        for chunk in chunks(message, MAX_LOG_LINE_LEN) {
            self.run(
                "juju-log",
                owned(&["--log-level", level.as_str(), "--", chunk]),
            )
            .await?;
        }
        Ok(())
    }

    /// `config-get --format=json`: options that are set or have a default.
    ///
    /// # Errors
    /// The tool failed.
    pub async fn config_get(&self) -> Result<Map<String, Value>, HookToolError> {
        let out = self.run("config-get", owned(&["--format=json"])).await?;
        let value: Value = decode("config-get", &out)?;
        match value {
            Value::Null => Ok(Map::new()),
            Value::Object(map) => Ok(map),
            _ => Err(HookToolError {
                tool: "config-get".into(),
                code: Some(0),
                stderr: "printed something other than a JSON object".into(),
            }),
        }
    }

    /// `secret-get <uri> --format=json --refresh`: the latest revision of a secret.
    ///
    /// Always `--refresh`: this charm wants the credentials the operator set last, and pins
    /// nothing (without it a unit keeps reading the revision it read first).
    ///
    /// # Errors
    /// The secret does not exist, is not granted to this application, or the tool failed.
    pub async fn secret_get(&self, uri: &str) -> Result<SecretContent, HookToolError> {
        let out = self
            .run("secret-get", owned(&[uri, "--format=json", "--refresh"]))
            .await?;
        let content: BTreeMap<String, String> = decode("secret-get", &out)?;
        Ok(SecretContent(content))
    }

    /// `is-leader --format=json`.
    ///
    /// # Errors
    /// The tool failed.
    pub async fn is_leader(&self) -> Result<bool, HookToolError> {
        let out = self.run("is-leader", owned(&["--format=json"])).await?;
        decode("is-leader", &out)
    }

    /// `application-version-set -- <version>`: the Version column of `juju status`.
    ///
    /// # Errors
    /// The tool failed.
    pub async fn application_version_set(&self, version: &str) -> Result<(), HookToolError> {
        self.run("application-version-set", owned(&["--", version]))
            .await
            .map(drop)
    }
}

/// Splits `text` into pieces of at most `max` bytes, on character boundaries.
fn chunks(text: &str, max: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while rest.len() > max {
        let mut cut = max;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (head, tail) = rest.split_at(cut);
        out.push(head);
        rest = tail;
    }
    out.push(rest);
    out
}

#[cfg(test)]
pub(crate) mod fake {
    //! A [`Runner`] over the stateful fake hook tools of `ckf_sim`, in process.

    use std::sync::Mutex;

    use ckf_sim::hooktools::{self, State};

    use super::{HookToolError, HookTools, Runner};

    /// The fake tools' state behind a lock; each call runs to completion under it.
    #[derive(Default)]
    pub struct FakeRunner(pub Mutex<State>);

    impl FakeRunner {
        /// A copy of the state now.
        pub fn state(&self) -> State {
            self.0.lock().expect("fake state lock").clone()
        }
    }

    impl Runner for FakeRunner {
        async fn run(
            &self,
            tool: &str,
            args: &[String],
            _stdin: Option<&[u8]>,
        ) -> Result<String, HookToolError> {
            let outcome = {
                let mut state = self.0.lock().expect("fake state lock");
                hooktools::run(&mut state, tool, args)
            };
            if outcome.code == 0 {
                Ok(outcome.stdout)
            } else {
                Err(HookToolError {
                    tool: tool.to_string(),
                    code: Some(outcome.code),
                    stderr: outcome.stderr,
                })
            }
        }
    }

    /// Hook tools over a fake holding `state`.
    pub fn tools(state: State) -> HookTools<FakeRunner> {
        HookTools::new(FakeRunner(Mutex::new(state)))
    }
}

#[cfg(test)]
mod tests {
    use ckf_sim::hooktools::{ActionState, Secret, State};

    use super::fake::tools;
    use super::*;

    fn in_action() -> State {
        State {
            unit: "ckf-migrator/0".into(),
            action: Some(ActionState {
                name: "verify".into(),
                ..ActionState::default()
            }),
            ..State::default()
        }
    }

    #[tokio::test]
    async fn messages_starting_with_a_dash_are_not_read_as_flags() {
        let tools = tools(in_action());

        tools.action_log("--help me").await.expect("action-log");
        tools
            .status_set(&WorkloadStatus::blocked("-x is wrong"))
            .await
            .expect("status-set");

        let state = tools.runner().state();
        assert_eq!(state.action.expect("in action").logs, vec!["--help me"]);
        assert_eq!(state.statuses[0].message, "-x is wrong");
    }

    #[tokio::test]
    async fn juju_log_splits_a_message_longer_than_one_argument() {
        let tools = tools(State::default());
        let long = "é".repeat(MAX_LOG_LINE_LEN);

        tools
            .juju_log(LogLevel::Warning, &long)
            .await
            .expect("juju-log");

        let state = tools.runner().state();
        assert!(state.juju_log.len() > 1);
        assert!(state.juju_log.iter().all(|l| l.level == "WARNING"));
        let joined: String = state.juju_log.iter().map(|l| l.message.as_str()).collect();
        assert_eq!(joined, long);
    }

    #[tokio::test]
    async fn secret_content_comes_from_stdout_and_never_from_argv() {
        let mut state = State {
            unit: "ckf-migrator/0".into(),
            ..State::default()
        };
        state.secrets.insert(
            "d1cf0mnmp25c7f3m9o80".into(),
            Secret {
                revisions: vec![BTreeMap::from([
                    ("username".to_string(), "migrator".to_string()),
                    ("password".to_string(), "s3cret-pw".to_string()),
                ])],
                granted_to: vec!["ckf-migrator".into()],
                pinned: None,
            },
        );
        let tools = tools(state);

        let content = tools
            .secret_get("secret:d1cf0mnmp25c7f3m9o80")
            .await
            .expect("granted secret");

        assert_eq!(content.get("password"), Some("s3cret-pw"));
        assert!(!format!("{content:?}").contains("s3cret-pw"));
        let calls = tools.runner().state().calls;
        assert!(
            calls
                .iter()
                .all(|c| !c.args.iter().any(|a| a.contains("s3cret-pw")))
        );
    }

    #[tokio::test]
    async fn an_ungranted_secret_is_permission_denied() {
        let mut state = State {
            unit: "ckf-migrator/0".into(),
            ..State::default()
        };
        state.secrets.insert(
            "d1cf0mnmp25c7f3m9o80".into(),
            Secret {
                revisions: vec![BTreeMap::new()],
                ..Secret::default()
            },
        );
        let tools = tools(state);

        let err = tools
            .secret_get("secret:d1cf0mnmp25c7f3m9o80")
            .await
            .expect_err("not granted");

        assert!(err.is_permission_denied(), "{err}");
        assert_eq!(err.to_string(), "secret-get: permission denied");
    }

    #[tokio::test]
    async fn action_tools_outside_an_action_fail_with_jujus_message() {
        let tools = tools(State::default());

        let err = tools.action_fail("boom").await.expect_err("not an action");

        assert_eq!(err.message(), "not running an action");
        assert_eq!(err.code, Some(1));
    }

    #[tokio::test]
    async fn leadership_and_config_are_read_as_json() {
        let mut state = State {
            leader: true,
            ..State::default()
        };
        state.config.insert(
            "juju-credentials".into(),
            Value::String("secret:abc".into()),
        );
        let tools = tools(state);

        assert!(tools.is_leader().await.expect("is-leader"));
        let config = tools.config_get().await.expect("config-get");
        assert_eq!(config["juju-credentials"], "secret:abc");
    }

    #[tokio::test]
    async fn the_process_runner_reports_a_missing_tool_with_its_name() {
        let err = ProcessRunner
            .run("ckf-no-such-hook-tool", &[], None)
            .await
            .expect_err("no such tool");

        assert_eq!(err.tool, "ckf-no-such-hook-tool");
        assert_eq!(err.code, None);
        assert!(
            err.to_string()
                .starts_with("ckf-no-such-hook-tool: cannot run"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn the_process_runner_returns_stdout_and_feeds_stdin() {
        let out = ProcessRunner
            .run("cat", &[], Some(b"fed through stdin"))
            .await
            .expect("cat runs");

        assert_eq!(out, "fed through stdin");
    }

    #[tokio::test]
    async fn the_process_runner_keeps_stderr_and_the_exit_code() {
        let err = ProcessRunner
            .run(
                "sh",
                &[
                    "-c".to_string(),
                    "echo 'ERROR nope' >&2; exit 3".to_string(),
                ],
                None,
            )
            .await
            .expect_err("exit 3");

        assert_eq!(err.code, Some(3));
        assert_eq!(err.message(), "nope");
    }
}
