//! Fake Juju hook tools that keep state and enforce Juju's rules.
//!
//! A charm talks to its unit agent through small executables on `PATH` (`action-get`,
//! `status-set`, `secret-get`, …). This module is those tools for tests: [`State`] is what a unit
//! agent would hold during one hook or action (params, results, logs, statuses, config, secrets
//! and their grants, leadership), and [`run`] executes one tool invocation against it, parsing
//! argv as Juju's `jujuc` commands do and refusing what they refuse, with Juju's own messages
//! (reference/charm-runtime.md §2, juju `internal/worker/uniter/runner/jujuc`).
//!
//! Two ways in:
//! - in process: [`run`] over a `&mut State` (unit tests of a charm's hook-tool layer);
//! - as processes: the multi-call binary `ckf-hook-tool` (`src/bin/ckf-hook-tool.rs`), linked under
//!   each tool's name, calls [`run_with_state_file`], which locks the JSON file named by
//!   [`STATE_ENV`], loads it, runs the tool and saves it. Tools run as separate processes and may
//!   run concurrently, hence the lock.
//!
//! It knows nothing of ckf-migrator: it is written from Juju's behaviour, so the charm and its
//! fake cannot agree on a mistake. Where Juju's exact text is not known, the message is marked as
//! this fake's own.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The environment variable naming the JSON state file the tool processes share.
pub const STATE_ENV: &str = "CKF_HOOK_TOOLS_STATE";

/// Every tool this fake implements: the names a test links to the `ckf-hook-tool` binary.
pub const TOOLS: &[&str] = &[
    "action-get",
    "action-set",
    "action-log",
    "action-fail",
    "status-set",
    "status-get",
    "juju-log",
    "config-get",
    "secret-get",
    "is-leader",
    "application-version-set",
];

/// Action result keys Juju keeps for itself (`action-set.go` `reservedKeys`).
pub const RESERVED_RESULT_KEYS: &[&str] =
    &["stdout", "stdout-encoding", "stderr", "stderr-encoding"];

/// What the unit agent holds while one hook or action runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// The unit, e.g. `ckf-migrator/0`; its application is what secrets are granted to.
    pub unit: String,
    /// The running action, `None` during a hook.
    pub action: Option<ActionState>,
    /// Charm config as `config-get` reports it: only options that are set or have a default.
    pub config: Map<String, Value>,
    /// Secrets by id (the URI without `secret:`).
    pub secrets: BTreeMap<String, Secret>,
    /// Whether this unit is the leader.
    pub leader: bool,
    /// The last `application-version-set` value.
    pub application_version: Option<String>,
    /// The unit's workload status now (`status-get`).
    pub unit_status: WorkloadStatus,
    /// Every unit status set, in order.
    pub statuses: Vec<WorkloadStatus>,
    /// Every application status set (leader only), in order.
    pub application_statuses: Vec<WorkloadStatus>,
    /// Every `juju-log` line.
    pub juju_log: Vec<LogLine>,
    /// Every invocation, accepted or not: the tool name and its arguments.
    pub calls: Vec<Call>,
}

/// The action being run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ActionState {
    /// Action name.
    pub name: String,
    /// Parameters as `action-get` returns them (Juju has already inserted defaults).
    pub params: Map<String, Value>,
    /// Results, nested by the dots of their keys; every leaf is a string.
    pub results: Map<String, Value>,
    /// `action-log` messages, in order.
    pub logs: Vec<String>,
    /// Whether `action-fail` was called.
    pub failed: bool,
    /// The failure message of the last `action-fail`.
    pub failure: Option<String>,
}

impl ActionState {
    /// A result by its dotted key (`verify.result`), if it is a string leaf.
    pub fn result(&self, key: &str) -> Option<&str> {
        let mut segments = key.split('.');
        let first = segments.next()?;
        let mut value = self.results.get(first)?;
        for segment in segments {
            value = value.as_object()?.get(segment)?;
        }
        value.as_str()
    }
}

/// A user secret as the unit sees it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Secret {
    /// Content of each revision, oldest first; the last is the latest.
    pub revisions: Vec<BTreeMap<String, String>>,
    /// Applications the secret is granted to (`juju grant-secret`).
    pub granted_to: Vec<String>,
    /// The revision this unit has pinned by reading it (index into `revisions`).
    pub pinned: Option<usize>,
}

/// A workload status and its message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkloadStatus {
    /// `active`, `blocked`, `waiting`, `maintenance` (or `unknown` before any is set).
    pub status: String,
    /// The message.
    pub message: String,
}

impl Default for WorkloadStatus {
    fn default() -> Self {
        Self {
            status: "unknown".into(),
            message: String::new(),
        }
    }
}

/// One `juju-log` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    /// `TRACE`, `DEBUG`, `INFO`, `WARNING`, `ERROR` or `CRITICAL`.
    pub level: String,
    /// The message.
    pub message: String,
}

/// One hook-tool invocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    /// Tool name (argv\[0\]'s basename).
    pub tool: String,
    /// The arguments after the tool name.
    pub args: Vec<String>,
}

impl Call {
    /// The whole argv, tool name first.
    pub fn argv(&self) -> Vec<String> {
        std::iter::once(self.tool.clone())
            .chain(self.args.iter().cloned())
            .collect()
    }
}

/// What a tool printed and how it exited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Standard output.
    pub stdout: String,
    /// Standard error (`ERROR <message>` on failure, as Juju's tools print it).
    pub stderr: String,
    /// Exit code: 0, 2 for a usage error (Juju's `Init` failed), 1 for a refused request.
    pub code: i32,
}

impl Outcome {
    fn ok(stdout: impl Into<String>) -> Self {
        Self {
            stdout: stdout.into(),
            stderr: String::new(),
            code: 0,
        }
    }
}

/// Why a tool refused: a usage error (exit 2) or a refused request (exit 1).
enum Refusal {
    Usage(String),
    Failed(String),
}

impl Refusal {
    fn into_outcome(self) -> Outcome {
        let (code, message) = match self {
            Refusal::Usage(m) => (2, m),
            Refusal::Failed(m) => (1, m),
        };
        Outcome {
            stdout: String::new(),
            stderr: format!("ERROR {message}\n"),
            code,
        }
    }
}

type ToolResult = Result<String, Refusal>;

fn usage(message: impl Into<String>) -> Refusal {
    Refusal::Usage(message.into())
}

fn failed(message: impl Into<String>) -> Refusal {
    Refusal::Failed(message.into())
}

/// Runs one tool invocation against `state`. The call is recorded whatever its outcome.
pub fn run(state: &mut State, tool: &str, args: &[String]) -> Outcome {
    state.calls.push(Call {
        tool: tool.to_string(),
        args: args.to_vec(),
    });
    let result = match tool {
        "action-get" => action_get(state, args),
        "action-set" => action_set(state, args),
        "action-log" => action_log(state, args),
        "action-fail" => action_fail(state, args),
        "status-set" => status_set(state, args),
        "status-get" => status_get(state, args),
        "juju-log" => juju_log(state, args),
        "config-get" => config_get(state, args),
        "secret-get" => secret_get(state, args),
        "is-leader" => is_leader(state, args),
        "application-version-set" => application_version_set(state, args),
        // This fake's own wording: a unit's tools directory simply has no such executable.
        other => Err(failed(format!("unknown hook tool {other:?}"))),
    };
    match result {
        Ok(stdout) => Outcome::ok(stdout),
        Err(refusal) => refusal.into_outcome(),
    }
}

/// Errors of the state file itself (not of a tool). The cause is part of the message: these
/// end up on the fake tool's stderr, where no error chain is printed.
#[derive(Debug, thiserror::Error)]
pub enum StateFileError {
    /// The file could not be opened, locked, read or written.
    #[error("hook-tool state file {path}: {error}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        error: std::io::Error,
    },
    /// The file does not hold a valid state.
    #[error("hook-tool state file {path} is not valid: {error}")]
    Invalid {
        /// The file.
        path: String,
        /// The JSON error.
        error: serde_json::Error,
    },
}

impl State {
    /// Reads a state file (no lock: for a test, once the tools have finished).
    ///
    /// # Errors
    /// The file cannot be read or does not hold a state.
    pub fn load(path: &Path) -> Result<State, StateFileError> {
        let text = std::fs::read_to_string(path).map_err(|error| StateFileError::Io {
            path: path.display().to_string(),
            error,
        })?;
        serde_json::from_str(&text).map_err(|error| StateFileError::Invalid {
            path: path.display().to_string(),
            error,
        })
    }

    /// Writes a state file (no lock: for a test, before any tool runs).
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn save(&self, path: &Path) -> Result<(), StateFileError> {
        let text = serde_json::to_string_pretty(self).expect("a State always serialises");
        std::fs::write(path, text).map_err(|error| StateFileError::Io {
            path: path.display().to_string(),
            error,
        })
    }

    /// The workload statuses set, in order (shorthand for tests).
    pub fn last_status(&self) -> Option<&WorkloadStatus> {
        self.statuses.last()
    }
}

/// Runs one tool against the state file at `path`: locks it exclusively, loads, runs, saves.
///
/// # Errors
/// The state file cannot be locked, read, parsed or written.
pub fn run_with_state_file(
    path: &Path,
    tool: &str,
    args: &[String],
) -> Result<Outcome, StateFileError> {
    let io = |error| StateFileError::Io {
        path: path.display().to_string(),
        error,
    };
    // The lock lives beside the state, because the state itself is replaced by a rename: a
    // reader (a test watching the run) then sees the old state or the new one, never half of one.
    let lock_path = path.with_extension("lock");
    let lock: File = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(io)?;
    // Released when `lock` is dropped (closing the descriptor releases the lock).
    lock.lock().map_err(io)?;
    let text = std::fs::read_to_string(path).map_err(io)?;
    let mut state: State =
        serde_json::from_str(&text).map_err(|error| StateFileError::Invalid {
            path: path.display().to_string(),
            error,
        })?;
    let outcome = run(&mut state, tool, args);
    let text = serde_json::to_string_pretty(&state).expect("a State always serialises");
    let staged = path.with_extension("tmp");
    let mut file = File::create(&staged).map_err(io)?;
    file.write_all(text.as_bytes()).map_err(io)?;
    // No fsync: the rename keeps readers from seeing half a state, and a test's state need not
    // survive a power cut. Juju's own hook tools do not write to disk at all, so a sync here
    // would only make every hook look slower than it is.
    std::fs::rename(&staged, path).map_err(io)?;
    Ok(outcome)
}

// ---------------------------------------------------------------------------------------------
// argv parsing as Juju's gnuflag does it: flags may be interspersed with arguments, `--` ends
// flags, `--name=value` or `--name value`, booleans take `=true|false`.

#[derive(Clone, Copy, PartialEq, Eq)]
enum FlagKind {
    Bool,
    Value,
}

struct Parsed {
    flags: BTreeMap<String, String>,
    positional: Vec<String>,
}

impl Parsed {
    fn flag(&self, name: &str) -> Option<&str> {
        self.flags.get(name).map(String::as_str)
    }

    fn bool_flag(&self, name: &str) -> bool {
        matches!(self.flag(name), Some(v) if parse_go_bool(v) == Some(true))
    }
}

fn parse_go_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// `spec` maps each flag name (without dashes) to its kind; aliases are listed separately and
/// stored under the canonical name.
fn parse_args(
    args: &[String],
    spec: &[(&str, FlagKind)],
    aliases: &[(&str, &str)],
) -> Result<Parsed, Refusal> {
    let mut flags = BTreeMap::new();
    let mut positional = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == "--" {
            positional.extend(iter.by_ref().cloned());
            break;
        }
        let Some(body) = arg
            .strip_prefix("--")
            .or_else(|| arg.strip_prefix('-'))
            .filter(|body| !body.is_empty())
        else {
            // A plain argument, or `-` (stdin by convention).
            positional.push(arg.clone());
            continue;
        };
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        let canonical = aliases
            .iter()
            .find(|(alias, _)| *alias == name)
            .map(|(_, target)| *target)
            .unwrap_or(name);
        let Some((_, kind)) = spec.iter().find(|(n, _)| *n == canonical) else {
            return Err(usage(format!("flag provided but not defined: {arg}")));
        };
        let value = match (kind, inline) {
            (FlagKind::Bool, None) => "true".to_string(),
            (FlagKind::Bool, Some(v)) => {
                if parse_go_bool(&v).is_none() {
                    return Err(usage(format!("invalid boolean value {v:?} for flag {arg}")));
                }
                v
            }
            (FlagKind::Value, Some(v)) => v,
            (FlagKind::Value, None) => match iter.next() {
                Some(v) => v.clone(),
                None => return Err(usage(format!("flag needs an argument: {arg}"))),
            },
        };
        flags.insert(canonical.to_string(), value);
    }
    Ok(Parsed { flags, positional })
}

/// Go's `%q` of a `[]string`, as `cmd.CheckEmpty` prints unexpected arguments.
fn go_quoted_list(args: &[String]) -> String {
    let items: Vec<String> = args
        .iter()
        .map(|a| serde_json::to_string(a).expect("a string always serialises"))
        .collect();
    format!("[{}]", items.join(" "))
}

fn check_empty(args: &[String]) -> Result<(), Refusal> {
    if args.is_empty() {
        Ok(())
    } else {
        Err(usage(format!(
            "unrecognized args: {}",
            go_quoted_list(args)
        )))
    }
}

/// Output formats of tools with `--format` (`cmd.Output`): `smart` prints strings raw and
/// booleans as `True`/`False`; `yaml`; `json`.
fn format_output(parsed: &Parsed, default: &str, value: &Value) -> ToolResult {
    let format = parsed.flag("format").unwrap_or(default);
    match format {
        "json" => Ok(format!(
            "{}\n",
            serde_json::to_string(value).expect("a JSON value always serialises")
        )),
        "yaml" => serde_yaml::to_string(value).map_err(|e| failed(e.to_string())),
        "smart" => Ok(match value {
            Value::Bool(true) => "True\n".to_string(),
            Value::Bool(false) => "False\n".to_string(),
            Value::String(s) => format!("{s}\n"),
            Value::Null => String::new(),
            other => serde_yaml::to_string(other).map_err(|e| failed(e.to_string()))?,
        }),
        other => Err(usage(format!(
            "invalid value {other:?} for flag --format: unknown format {other:?}"
        ))),
    }
}

fn in_action(state: &mut State) -> Result<&mut ActionState, Refusal> {
    state
        .action
        .as_mut()
        .ok_or_else(|| failed("not running an action"))
}

// ---------------------------------------------------------------------------------------------
// The tools.

fn action_get(state: &mut State, args: &[String]) -> ToolResult {
    let parsed = parse_args(args, &[("format", FlagKind::Value)], &[])?;
    if parsed.positional.len() > 1 {
        check_empty(&parsed.positional[1..])?;
    }
    let action = in_action(state)?;
    let value = match parsed.positional.first() {
        None => Value::Object(action.params.clone()),
        Some(key) => {
            let mut value = Value::Object(action.params.clone());
            for segment in key.split('.') {
                value = match value {
                    Value::Object(mut map) => map.remove(segment).unwrap_or(Value::Null),
                    _ => Value::Null,
                };
            }
            value
        }
    };
    format_output(&parsed, "smart", &value)
}

/// `charm.GetActionNameRule()`: `^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$`.
pub fn is_valid_key_segment(segment: &str) -> bool {
    let bytes = segment.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    match bytes {
        [] => false,
        [only] => alnum(only),
        [first, middle @ .., last] => {
            alnum(first) && alnum(last) && middle.iter().all(|b| alnum(b) || *b == b'-')
        }
    }
}

fn action_set(state: &mut State, args: &[String]) -> ToolResult {
    let parsed = parse_args(args, &[], &[])?;
    let mut updates = Vec::new();
    for arg in &parsed.positional {
        let Some((key, value)) = arg.split_once('=') else {
            return Err(usage(format!(
                "argument {} must be of the form key...=value",
                serde_json::to_string(arg).expect("a string always serialises")
            )));
        };
        let segments: Vec<&str> = key.split('.').collect();
        for segment in &segments {
            if !is_valid_key_segment(segment) {
                return Err(usage(format!(
                    "key {} must start and end with lowercase alphanumeric, and contain only lowercase alphanumeric, hyphens and periods",
                    serde_json::to_string(segment).expect("a string always serialises")
                )));
            }
            if RESERVED_RESULT_KEYS.contains(segment) {
                return Err(usage(format!(
                    "cannot set reserved action key \"{segment}\""
                )));
            }
        }
        updates.push((
            segments.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            value.to_string(),
        ));
    }
    let action = in_action(state)?;
    for (keys, value) in updates {
        insert_nested(&mut action.results, &keys, value);
    }
    Ok(String::new())
}

/// Juju's `addValueToMap`: intermediate keys become maps, replacing a string that was there.
fn insert_nested(target: &mut Map<String, Value>, keys: &[String], value: String) {
    let Some((last, parents)) = keys.split_last() else {
        return;
    };
    let mut current = target;
    for key in parents {
        let entry = current
            .entry(key.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        current = entry
            .as_object_mut()
            .expect("the entry was just made an object");
    }
    current.insert(last.clone(), Value::String(value));
}

fn action_log(state: &mut State, args: &[String]) -> ToolResult {
    let parsed = parse_args(args, &[], &[])?;
    if parsed.positional.is_empty() {
        return Err(usage("no message specified"));
    }
    let message = parsed.positional.join(" ");
    in_action(state)?.logs.push(message);
    Ok(String::new())
}

fn action_fail(state: &mut State, args: &[String]) -> ToolResult {
    let parsed = parse_args(args, &[], &[])?;
    let message = match parsed.positional.split_first() {
        None => "action failed without reason given, check action for errors".to_string(),
        Some((first, rest)) => {
            check_empty(rest)?;
            first.clone()
        }
    };
    let action = in_action(state)?;
    action.failure = Some(message);
    action.failed = true;
    Ok(String::new())
}

const SETTABLE_STATUSES: &[&str] = &["maintenance", "blocked", "waiting", "active"];

fn status_set(state: &mut State, args: &[String]) -> ToolResult {
    let parsed = parse_args(args, &[("application", FlagKind::Bool)], &[])?;
    let Some((status, rest)) = parsed.positional.split_first() else {
        return Err(usage("invalid args, require <status> [message]"));
    };
    if !SETTABLE_STATUSES.contains(&status.as_str()) {
        return Err(usage(format!(
            "invalid status {}, expected one of [{}]",
            serde_json::to_string(status).expect("a string always serialises"),
            SETTABLE_STATUSES.join(" ")
        )));
    }
    let message = match rest.split_first() {
        None => String::new(),
        Some((message, extra)) => {
            check_empty(extra)?;
            message.clone()
        }
    };
    let entry = WorkloadStatus {
        status: status.clone(),
        message,
    };
    if parsed.bool_flag("application") {
        if !state.leader {
            // This fake's own wording for Juju's leadership check.
            return Err(failed("this unit is not the leader"));
        }
        state.application_statuses.push(entry);
    } else {
        state.unit_status = entry.clone();
        state.statuses.push(entry);
    }
    Ok(String::new())
}

fn status_get(state: &mut State, args: &[String]) -> ToolResult {
    let parsed = parse_args(
        args,
        &[
            ("format", FlagKind::Value),
            ("include-data", FlagKind::Bool),
            ("application", FlagKind::Bool),
        ],
        &[],
    )?;
    check_empty(&parsed.positional)?;
    if parsed.bool_flag("application") {
        return Err(failed("application status is not kept by this fake"));
    }
    let status = &state.unit_status;
    let value = if parsed.bool_flag("include-data") {
        serde_json::json!({
            "status": status.status,
            "message": status.message,
            "status-data": {},
        })
    } else {
        Value::String(status.status.clone())
    };
    format_output(&parsed, "smart", &value)
}

const LOG_LEVELS: &[&str] = &["TRACE", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"];

fn juju_log(state: &mut State, args: &[String]) -> ToolResult {
    let parsed = parse_args(
        args,
        &[
            ("debug", FlagKind::Bool),
            ("log-level", FlagKind::Value),
            ("format", FlagKind::Value),
        ],
        &[("l", "log-level")],
    )?;
    if parsed.positional.is_empty() {
        return Err(usage("no message specified"));
    }
    let level = if parsed.bool_flag("debug") {
        "DEBUG".to_string()
    } else {
        let asked = parsed
            .flag("log-level")
            .unwrap_or("INFO")
            .to_ascii_uppercase();
        let asked = if asked == "WARN" {
            "WARNING".to_string()
        } else {
            asked
        };
        // Juju logs a warning and uses INFO for a level it does not know.
        if LOG_LEVELS.contains(&asked.as_str()) {
            asked
        } else {
            "INFO".to_string()
        }
    };
    state.juju_log.push(LogLine {
        level,
        message: parsed.positional.join(" "),
    });
    Ok(String::new())
}

fn config_get(state: &mut State, args: &[String]) -> ToolResult {
    let parsed = parse_args(
        args,
        &[("format", FlagKind::Value), ("all", FlagKind::Bool)],
        &[("a", "all")],
    )?;
    let all = parsed.bool_flag("all");
    let value = match parsed.positional.split_first() {
        None => Value::Object(state.config.clone()),
        Some((key, rest)) => {
            check_empty(rest)?;
            if all {
                return Err(usage("cannot use argument --all together with key"));
            }
            state.config.get(key).cloned().unwrap_or(Value::Null)
        }
    };
    format_output(&parsed, "smart", &value)
}

/// The id of a secret URI (`secret:ID` or a bare id), or `None` if it is not one.
fn secret_id(uri: &str) -> Option<&str> {
    let id = uri.strip_prefix("secret:").unwrap_or(uri);
    let id = id.rsplit('/').next().unwrap_or(id);
    (!id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric())).then_some(id)
}

fn application_of(unit: &str) -> &str {
    unit.split('/').next().unwrap_or(unit)
}

fn secret_get(state: &mut State, args: &[String]) -> ToolResult {
    let parsed = parse_args(
        args,
        &[
            ("format", FlagKind::Value),
            ("label", FlagKind::Value),
            ("peek", FlagKind::Bool),
            ("refresh", FlagKind::Bool),
        ],
        &[],
    )?;
    let mut positional = parsed.positional.iter();
    let uri = positional.next();
    let id = match uri {
        Some(uri) => Some(secret_id(uri).ok_or_else(|| {
            usage(format!(
                "secret URI {} not valid",
                serde_json::to_string(uri).expect("a string always serialises")
            ))
        })?),
        None => None,
    };
    if id.is_none() && parsed.flag("label").is_none() {
        return Err(usage("require either a secret URI or label"));
    }
    let (peek, refresh) = (parsed.bool_flag("peek"), parsed.bool_flag("refresh"));
    if peek && refresh {
        return Err(usage("specify one of --peek or --refresh but not both"));
    }
    let key = positional.next().cloned();
    check_empty(&positional.cloned().collect::<Vec<_>>())?;
    let Some(id) = id else {
        return Err(failed(
            "secret labels are not kept by this fake: use the URI",
        ));
    };
    let application = application_of(&state.unit).to_string();
    let Some(secret) = state.secrets.get_mut(id) else {
        return Err(failed(format!("secret {id:?} not found")));
    };
    if !secret.granted_to.contains(&application) {
        return Err(failed("permission denied"));
    }
    let Some(latest) = secret.revisions.len().checked_sub(1) else {
        return Err(failed(format!("secret {id:?} not found")));
    };
    let revision = if peek {
        latest
    } else if refresh || secret.pinned.is_none() {
        secret.pinned = Some(latest);
        latest
    } else {
        secret.pinned.unwrap_or(latest)
    };
    let content = &secret.revisions[revision];
    let value = match key {
        None => serde_json::to_value(content).expect("a string map always serialises"),
        Some(key) => match content.get(&key) {
            Some(v) => Value::String(v.clone()),
            None => return Err(failed(format!("secret key {key:?} not found"))),
        },
    };
    format_output(&parsed, "yaml", &value)
}

fn is_leader(state: &mut State, args: &[String]) -> ToolResult {
    let parsed = parse_args(args, &[("format", FlagKind::Value)], &[])?;
    check_empty(&parsed.positional)?;
    format_output(&parsed, "smart", &Value::Bool(state.leader))
}

fn application_version_set(state: &mut State, args: &[String]) -> ToolResult {
    let parsed = parse_args(args, &[], &[])?;
    let Some((version, rest)) = parsed.positional.split_first() else {
        return Err(usage("no version specified"));
    };
    check_empty(rest)?;
    state.application_version = Some(version.clone());
    Ok(String::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

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

    #[test]
    fn action_set_nests_dotted_keys_as_strings() {
        let mut state = in_action();

        let out = run(
            &mut state,
            "action-set",
            &args(&["a.b=1", "a.c=x=y", "d=2"]),
        );

        assert_eq!(out.code, 0, "{}", out.stderr);
        let action = state.action.expect("still in the action");
        assert_eq!(action.result("a.b"), Some("1"));
        assert_eq!(action.result("a.c"), Some("x=y"));
        assert_eq!(action.result("d"), Some("2"));
    }

    #[test]
    fn action_set_refuses_uppercase_and_reserved_keys_with_juju_messages() {
        let mut state = in_action();

        let bad = run(&mut state, "action-set", &args(&["Foo=1"]));
        let reserved = run(&mut state, "action-set", &args(&["x.stdout=1"]));

        assert_eq!(bad.code, 2);
        assert!(
            bad.stderr
                .contains("key \"Foo\" must start and end with lowercase alphanumeric"),
            "{}",
            bad.stderr
        );
        assert_eq!(reserved.code, 2);
        assert!(
            reserved
                .stderr
                .contains("cannot set reserved action key \"stdout\""),
            "{}",
            reserved.stderr
        );
        assert!(state.action.expect("in action").results.is_empty());
    }

    #[test]
    fn action_tools_outside_an_action_fail() {
        let mut state = State::default();

        let out = run(&mut state, "action-log", &args(&["--", "hello"]));

        assert_eq!(out.code, 1);
        assert_eq!(out.stderr, "ERROR not running an action\n");
    }

    #[test]
    fn action_fail_takes_one_message_only() {
        let mut state = in_action();

        let two = run(&mut state, "action-fail", &args(&["one", "two"]));
        let one = run(
            &mut state,
            "action-fail",
            &args(&["--", "-starts with a dash"]),
        );

        assert_eq!(two.code, 2);
        assert!(
            two.stderr.contains("unrecognized args: [\"two\"]"),
            "{}",
            two.stderr
        );
        assert_eq!(one.code, 0);
        let action = state.action.expect("in action");
        assert!(action.failed);
        assert_eq!(action.failure.as_deref(), Some("-starts with a dash"));
    }

    #[test]
    fn status_set_refuses_error_and_unknown() {
        let mut state = State::default();

        let error = run(&mut state, "status-set", &args(&["error", "--", "x"]));
        let unknown = run(&mut state, "status-set", &args(&["unknown"]));

        assert_eq!(error.code, 2);
        assert!(
            error.stderr.contains(
                "invalid status \"error\", expected one of [maintenance blocked waiting active]"
            ),
            "{}",
            error.stderr
        );
        assert_eq!(unknown.code, 2);
        assert!(state.statuses.is_empty());
    }

    #[test]
    fn status_get_reports_the_last_status_set() {
        let mut state = State::default();
        run(
            &mut state,
            "status-set",
            &args(&["blocked", "--", "fix me"]),
        );

        let out = run(
            &mut state,
            "status-get",
            &args(&["--include-data", "--format=json"]),
        );

        let value: Value = serde_json::from_str(&out.stdout).expect("json");
        assert_eq!(value["status"], "blocked");
        assert_eq!(value["message"], "fix me");
    }

    #[test]
    fn juju_log_keeps_levels_and_falls_back_to_info() {
        let mut state = State::default();

        run(
            &mut state,
            "juju-log",
            &args(&["--log-level", "WARNING", "--", "careful"]),
        );
        run(
            &mut state,
            "juju-log",
            &args(&["-l", "nonsense", "--", "what"]),
        );

        assert_eq!(state.juju_log[0].level, "WARNING");
        assert_eq!(state.juju_log[1].level, "INFO");
        assert_eq!(state.juju_log[1].message, "what");
    }

    #[test]
    fn secret_get_refuses_an_ungranted_secret_and_pins_revisions() {
        let mut state = State {
            unit: "ckf-migrator/0".into(),
            ..State::default()
        };
        state.secrets.insert(
            "abc123".into(),
            Secret {
                revisions: vec![BTreeMap::from([("k".to_string(), "v1".to_string())])],
                granted_to: vec![],
                pinned: None,
            },
        );

        let denied = run(
            &mut state,
            "secret-get",
            &args(&["secret:abc123", "--format=json"]),
        );
        state
            .secrets
            .get_mut("abc123")
            .expect("secret")
            .granted_to
            .push("ckf-migrator".into());
        let first = run(
            &mut state,
            "secret-get",
            &args(&["secret:abc123", "--format=json"]),
        );
        state
            .secrets
            .get_mut("abc123")
            .expect("secret")
            .revisions
            .push(BTreeMap::from([("k".to_string(), "v2".to_string())]));
        let pinned = run(
            &mut state,
            "secret-get",
            &args(&["secret:abc123", "--format=json"]),
        );
        let refreshed = run(
            &mut state,
            "secret-get",
            &args(&["secret:abc123", "--format=json", "--refresh"]),
        );

        assert_eq!(denied.code, 1);
        assert_eq!(denied.stderr, "ERROR permission denied\n");
        assert_eq!(first.stdout, "{\"k\":\"v1\"}\n");
        assert_eq!(pinned.stdout, "{\"k\":\"v1\"}\n");
        assert_eq!(refreshed.stdout, "{\"k\":\"v2\"}\n");
    }

    #[test]
    fn unknown_tools_are_refused_and_every_call_is_recorded() {
        let mut state = State::default();

        let out = run(&mut state, "relation-get", &args(&["x"]));

        assert_eq!(out.code, 1);
        assert_eq!(state.calls[0].argv(), args(&["relation-get", "x"]));
    }

    #[test]
    fn is_leader_prints_json_booleans() {
        let mut state = State {
            leader: true,
            ..State::default()
        };

        let out = run(&mut state, "is-leader", &args(&["--format=json"]));

        assert_eq!(out.stdout, "true\n");
    }

    #[test]
    fn state_file_round_trips_through_a_locked_run() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.json");
        in_action().save(&path).expect("save");

        let out = run_with_state_file(&path, "action-log", &args(&["--", "hi"])).expect("run");

        assert_eq!(out.code, 0);
        let state = State::load(&path).expect("load");
        assert_eq!(
            state.action.expect("in action").logs,
            vec!["hi".to_string()]
        );
    }

    #[test]
    fn concurrent_tools_lose_no_update() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.json");
        in_action().save(&path).expect("save");

        let threads: Vec<_> = (0..16)
            .map(|i| {
                let path = path.clone();
                std::thread::spawn(move || {
                    run_with_state_file(&path, "action-set", &args(&[&format!("k{i}=v")]))
                        .expect("run")
                })
            })
            .collect();
        for thread in threads {
            assert_eq!(thread.join().expect("thread").code, 0);
        }

        let state = State::load(&path).expect("load");
        assert_eq!(state.action.expect("in action").results.len(), 16);
        assert_eq!(state.calls.len(), 16);
    }
}
