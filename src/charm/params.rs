//! The actions this charm handles and their parameters: declared once in [`ACTIONS`], which the
//! dispatcher uses to validate `action-get`'s output and `tests/metadata.rs` compares with
//! `actions.yaml`, so the two cannot drift apart.
//!
//! Juju validates parameters against `actions.yaml` when the action is enqueued and inserts the
//! defaults (reference/charm-runtime.md §6.1). Validation here is the second line: it catches a
//! metadata file that drifted from the binary, an older controller, or a hand-made environment,
//! and it turns the loose JSON into typed parameters ([`MigrateParams`], [`VerifyParams`]).
//! This module knows parameter names and rules, not what the engine does with them.

use std::time::Duration;

use serde_json::{Map, Value};

use crate::migrate;
use crate::plan::Platform;
use crate::verify;

/// A parameter's type, default and constraints, as `actions.yaml` declares them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// `type: boolean`.
    Boolean {
        /// `default`.
        default: bool,
    },
    /// `type: integer` with a `minimum`.
    Integer {
        /// `default`.
        default: i64,
        /// `minimum` (inclusive).
        minimum: i64,
    },
    /// `type: string`, any text.
    Text {
        /// `default`.
        default: &'static str,
    },
    /// `type: string` with an `enum`.
    Enum {
        /// `default`.
        default: &'static str,
        /// `enum`: every accepted value.
        values: &'static [&'static str],
    },
}

/// One parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamSpec {
    /// The name as `juju run` takes it (`dry-run`).
    pub name: &'static str,
    /// Type, default and constraints.
    pub kind: ParamKind,
}

/// One action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActionSpec {
    /// The action's name (`migrate-to-ambient`).
    pub name: &'static str,
    /// Its parameters; no other key is accepted (`additionalProperties: false`).
    pub params: &'static [ParamSpec],
}

/// `migrate-to-ambient`.
pub const MIGRATE_TO_AMBIENT: &str = "migrate-to-ambient";
/// `verify`.
pub const VERIFY: &str = "verify";
/// `restore`.
pub const RESTORE: &str = "restore";

/// Every `platform` value, spelled as in `actions.yaml` (and as [`Platform::as_str`]).
pub const PLATFORMS: &[&str] = &[
    "auto",
    "microk8s",
    "canonical-k8s",
    "k3s",
    "k3d",
    "gke",
    "minikube",
    "none",
];

/// Every action the binary handles, with every parameter it accepts.
pub const ACTIONS: &[ActionSpec] = &[
    ActionSpec {
        name: MIGRATE_TO_AMBIENT,
        params: &[
            ParamSpec {
                name: "platform",
                kind: ParamKind::Enum {
                    default: "auto",
                    values: PLATFORMS,
                },
            },
            ParamSpec {
                name: "dry-run",
                kind: ParamKind::Boolean { default: false },
            },
            ParamSpec {
                name: "restart-workloads",
                kind: ParamKind::Boolean { default: false },
            },
            ParamSpec {
                name: "allow-serverless-loss",
                kind: ParamKind::Boolean { default: false },
            },
            ParamSpec {
                name: "timeout",
                kind: ParamKind::Integer {
                    default: 60,
                    minimum: 1,
                },
            },
        ],
    },
    ActionSpec {
        name: VERIFY,
        params: &[ParamSpec {
            name: "http",
            kind: ParamKind::Boolean { default: true },
        }],
    },
    ActionSpec {
        name: RESTORE,
        params: &[
            ParamSpec {
                name: "backup",
                kind: ParamKind::Text { default: "" },
            },
            ParamSpec {
                name: "dry-run",
                kind: ParamKind::Boolean { default: false },
            },
            ParamSpec {
                name: "timeout",
                kind: ParamKind::Integer {
                    default: 60,
                    minimum: 1,
                },
            },
        ],
    },
];

/// The action called `name`, if the binary handles it.
pub fn action(name: &str) -> Option<&'static ActionSpec> {
    ACTIONS.iter().find(|a| a.name == name)
}

/// The names of every action, for messages.
pub fn action_names() -> String {
    ACTIONS
        .iter()
        .map(|a| a.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A validated parameter value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamValue {
    /// A boolean.
    Bool(bool),
    /// An integer.
    Integer(i64),
    /// A string (one of the enum's values).
    String(String),
}

/// Every parameter of one action, validated, defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    action: &'static ActionSpec,
    values: Vec<(&'static str, ParamValue)>,
}

/// A parameter Juju should have refused, in one sentence with the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    /// A key the action does not declare.
    #[error("{action} has no parameter `{param}`: accepted parameters are {accepted}")]
    Unknown {
        /// The action.
        action: &'static str,
        /// The key given.
        param: String,
        /// The accepted names.
        accepted: String,
    },
    /// The value has the wrong JSON type.
    #[error(
        "parameter `{param}` must be {expected}, got {got}: pass for example {param}={example}"
    )]
    WrongType {
        /// The parameter.
        param: &'static str,
        /// What it must be (`true or false`).
        expected: &'static str,
        /// The value given, as JSON.
        got: String,
        /// A valid value.
        example: String,
    },
    /// A string outside the enum.
    #[error("parameter `{param}` must be one of {}, got {got:?}", .allowed.join(", "))]
    NotAllowed {
        /// The parameter.
        param: &'static str,
        /// The value given.
        got: String,
        /// The accepted values.
        allowed: &'static [&'static str],
    },
    /// An integer below the minimum.
    #[error(
        "parameter `{param}` must be at least {minimum}, got {got}: pass for example {param}={default}"
    )]
    BelowMinimum {
        /// The parameter.
        param: &'static str,
        /// The value given.
        got: i64,
        /// The minimum.
        minimum: i64,
        /// The default, as an example.
        default: i64,
    },
}

/// Every problem found, reported together so one re-run fixes them all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid parameters for {action}: {}", join(.problems))]
pub struct InvalidParams {
    /// The action.
    pub action: &'static str,
    /// Each problem.
    pub problems: Vec<ParamError>,
}

fn join(problems: &[ParamError]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

fn json_kind(value: &Value) -> String {
    match value {
        Value::String(s) => format!("the string {s:?}"),
        Value::Null => "null".to_string(),
        other => other.to_string(),
    }
}

impl ActionSpec {
    /// The parameter called `name`.
    pub fn param(&self, name: &str) -> Option<&'static ParamSpec> {
        self.params.iter().find(|p| p.name == name)
    }

    /// Validates `action-get`'s output: no unknown keys, each value of its declared type and
    /// within its constraints; missing keys take their declared default.
    ///
    /// # Errors
    /// Every problem found, each naming the parameter and what to pass instead.
    pub fn validate(&'static self, raw: &Map<String, Value>) -> Result<Params, InvalidParams> {
        let mut problems = Vec::new();
        for key in raw.keys() {
            if self.param(key).is_none() {
                problems.push(ParamError::Unknown {
                    action: self.name,
                    param: key.clone(),
                    accepted: self
                        .params
                        .iter()
                        .map(|p| p.name)
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        }
        let mut values = Vec::new();
        for spec in self.params {
            match raw.get(spec.name) {
                None => values.push((spec.name, spec.default())),
                Some(value) => match spec.check(value) {
                    Ok(v) => values.push((spec.name, v)),
                    Err(e) => problems.push(e),
                },
            }
        }
        if problems.is_empty() {
            Ok(Params {
                action: self,
                values,
            })
        } else {
            Err(InvalidParams {
                action: self.name,
                problems,
            })
        }
    }
}

impl ParamSpec {
    /// The declared default.
    pub fn default(&self) -> ParamValue {
        match self.kind {
            ParamKind::Boolean { default } => ParamValue::Bool(default),
            ParamKind::Integer { default, .. } => ParamValue::Integer(default),
            ParamKind::Text { default } | ParamKind::Enum { default, .. } => {
                ParamValue::String(default.to_string())
            }
        }
    }

    fn check(&self, value: &Value) -> Result<ParamValue, ParamError> {
        match self.kind {
            ParamKind::Boolean { default } => {
                value
                    .as_bool()
                    .map(ParamValue::Bool)
                    .ok_or_else(|| ParamError::WrongType {
                        param: self.name,
                        expected: "true or false",
                        got: json_kind(value),
                        example: (!default).to_string(),
                    })
            }
            ParamKind::Integer { default, minimum } => {
                // JSON Schema's `integer` also admits 60.0.
                let n = value.as_i64().or_else(|| {
                    value
                        .as_f64()
                        .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                        .map(|f| f as i64)
                });
                let n = n.ok_or_else(|| ParamError::WrongType {
                    param: self.name,
                    expected: "a whole number",
                    got: json_kind(value),
                    example: default.to_string(),
                })?;
                if n < minimum {
                    return Err(ParamError::BelowMinimum {
                        param: self.name,
                        got: n,
                        minimum,
                        default,
                    });
                }
                Ok(ParamValue::Integer(n))
            }
            ParamKind::Text { .. } => value
                .as_str()
                .map(|s| ParamValue::String(s.to_string()))
                .ok_or_else(|| ParamError::WrongType {
                    param: self.name,
                    expected: "a string",
                    got: json_kind(value),
                    example: "NAME".to_string(),
                }),
            ParamKind::Enum { default, values } => {
                let s = value.as_str().ok_or_else(|| ParamError::WrongType {
                    param: self.name,
                    expected: "a string",
                    got: json_kind(value),
                    example: default.to_string(),
                })?;
                if values.contains(&s) {
                    Ok(ParamValue::String(s.to_string()))
                } else {
                    Err(ParamError::NotAllowed {
                        param: self.name,
                        got: s.to_string(),
                        allowed: values,
                    })
                }
            }
        }
    }
}

impl Params {
    /// The action these belong to.
    pub fn action(&self) -> &'static ActionSpec {
        self.action
    }

    fn value(&self, name: &str) -> &ParamValue {
        self.values
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
            .expect("validate() fills every declared parameter")
    }

    fn bool(&self, name: &str) -> bool {
        match self.value(name) {
            ParamValue::Bool(b) => *b,
            other => unreachable!("{name} is declared boolean, validated as {other:?}"),
        }
    }

    fn integer(&self, name: &str) -> i64 {
        match self.value(name) {
            ParamValue::Integer(n) => *n,
            other => unreachable!("{name} is declared integer, validated as {other:?}"),
        }
    }

    fn string(&self, name: &str) -> &str {
        match self.value(name) {
            ParamValue::String(s) => s,
            other => unreachable!("{name} is declared string, validated as {other:?}"),
        }
    }
}

/// The longest deadline handed to the engine: one year.
pub const MAX_TIMEOUT_MINUTES: u64 = 366 * 24 * 60;

/// A deadline in minutes as a duration, capped at [`MAX_TIMEOUT_MINUTES`].
pub fn timeout_from_minutes(minutes: u64) -> Duration {
    Duration::from_secs(minutes.min(MAX_TIMEOUT_MINUTES) * 60)
}

/// `restore`'s parameters, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreParams {
    /// `backup`: the ConfigMap to restore; `None` (left empty) for the newest.
    pub backup: Option<String>,
    /// `dry-run`.
    pub dry_run: bool,
    /// `timeout`, in minutes (at least 1).
    pub timeout_minutes: u64,
}

impl RestoreParams {
    /// Reads validated parameters of `restore`.
    pub fn from_params(params: &Params) -> Self {
        debug_assert_eq!(params.action().name, RESTORE);
        let backup = params.string("backup").trim();
        Self {
            backup: (!backup.is_empty()).then(|| backup.to_string()),
            dry_run: params.bool("dry-run"),
            timeout_minutes: u64::try_from(params.integer("timeout"))
                .expect("timeout was validated to be at least 1"),
        }
    }

    /// The engine's options; `holder` names who holds the Lease (this unit).
    pub fn options(&self, holder: impl Into<String>) -> migrate::Options {
        let holder = holder.into();
        migrate::Options {
            dry_run: self.dry_run,
            timeout: timeout_from_minutes(self.timeout_minutes),
            front_end: crate::advice::FrontEnd::Charm {
                unit: holder.clone(),
            },
            holder,
            ..migrate::Options::default()
        }
    }
}

/// `migrate-to-ambient`'s parameters, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrateParams {
    /// `platform`.
    pub platform: Platform,
    /// `dry-run`.
    pub dry_run: bool,
    /// `restart-workloads`.
    pub restart_workloads: bool,
    /// `allow-serverless-loss`.
    pub allow_serverless_loss: bool,
    /// `timeout`, in minutes (at least 1).
    pub timeout_minutes: u64,
}

impl MigrateParams {
    /// Reads validated parameters of `migrate-to-ambient`.
    pub fn from_params(params: &Params) -> Self {
        debug_assert_eq!(params.action().name, MIGRATE_TO_AMBIENT);
        Self {
            platform: params
                .string("platform")
                .parse()
                .expect("the platform enum matches Platform::ALL (tested)"),
            dry_run: params.bool("dry-run"),
            restart_workloads: params.bool("restart-workloads"),
            allow_serverless_loss: params.bool("allow-serverless-loss"),
            timeout_minutes: u64::try_from(params.integer("timeout"))
                .expect("timeout was validated to be at least 1"),
        }
    }

    /// The run's deadline, at most [`MAX_TIMEOUT_MINUTES`]: a larger value means "no deadline"
    /// to a person, and keeps `Instant + timeout` from overflowing.
    pub fn timeout(&self) -> Duration {
        timeout_from_minutes(self.timeout_minutes)
    }

    /// The engine's options. `holder` names who holds the migration lease; `is_leader` is `None`
    /// where there is no unit (CLI).
    pub fn options(&self, holder: impl Into<String>, is_leader: Option<bool>) -> migrate::Options {
        let holder = holder.into();
        migrate::Options {
            platform: self.platform,
            dry_run: self.dry_run,
            restart_workloads: self.restart_workloads,
            allow_serverless_loss: self.allow_serverless_loss,
            timeout: self.timeout(),
            is_leader,
            front_end: crate::advice::FrontEnd::Charm {
                unit: holder.clone(),
            },
            holder,
            ..migrate::Options::default()
        }
    }
}

/// The `outage-grace` config option: seconds an unreachable port is waited for.
pub const OUTAGE_GRACE_OPTION: &str = "outage-grace";

/// Reads `outage-grace` from the charm config; absent means the default.
///
/// # Errors
/// The value is not a number of seconds in 1..=3600; the message says how to fix it.
pub fn outage_grace(config: &Map<String, Value>) -> Result<Option<std::time::Duration>, String> {
    match config.get(OUTAGE_GRACE_OPTION) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => match value.as_f64() {
            Some(seconds) if (1.0..=3600.0).contains(&seconds) => {
                Ok(Some(std::time::Duration::from_secs_f64(seconds)))
            }
            _ => Err(format!(
                "config {OUTAGE_GRACE_OPTION} must be a number of seconds between 1 and 3600: run `juju config ckf-migrator {OUTAGE_GRACE_OPTION}=120`"
            )),
        },
    }
}

/// The `poll-interval` config option: seconds between two observations while the engine waits.
pub const POLL_INTERVAL_OPTION: &str = "poll-interval";

/// Reads `poll-interval` from the charm config (`config-get`); absent means the default.
///
/// # Errors
/// The value is not a number of seconds in 0.01..=600; the message says how to fix it.
pub fn poll_interval(config: &Map<String, Value>) -> Result<Option<std::time::Duration>, String> {
    let fix = || {
        format!(
            "config {POLL_INTERVAL_OPTION} must be a number of seconds between 0.01 and 600: run `juju config ckf-migrator {POLL_INTERVAL_OPTION}=5`"
        )
    };
    match config.get(POLL_INTERVAL_OPTION) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => match value.as_f64() {
            Some(seconds) if (0.01..=600.0).contains(&seconds) => {
                Ok(Some(std::time::Duration::from_secs_f64(seconds)))
            }
            _ => Err(fix()),
        },
    }
}

/// `verify`'s parameters, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyParams {
    /// `http`.
    pub http: bool,
}

impl VerifyParams {
    /// Reads validated parameters of `verify`.
    pub fn from_params(params: &Params) -> Self {
        debug_assert_eq!(params.action().name, VERIFY);
        Self {
            http: params.bool("http"),
        }
    }

    /// The engine's options, for the action run by `unit`.
    pub fn options(&self, unit: &str) -> verify::Options {
        verify::Options {
            http: self.http,
            front_end: crate::advice::FrontEnd::Charm {
                unit: unit.to_string(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn poll_interval_comes_from_config_within_bounds() {
        assert_eq!(poll_interval(&map(json!({}))), Ok(None));
        assert_eq!(
            poll_interval(&map(json!({"poll-interval": 0.5}))),
            Ok(Some(std::time::Duration::from_millis(500)))
        );
        for bad in [json!(0), json!(601), json!("fast")] {
            let err = poll_interval(&map(json!({ "poll-interval": bad }))).unwrap_err();
            assert!(
                err.contains("juju config ckf-migrator poll-interval=5"),
                "{err}"
            );
        }
    }

    fn migrate_spec() -> &'static ActionSpec {
        action(MIGRATE_TO_AMBIENT).expect("declared")
    }

    fn map(value: Value) -> Map<String, Value> {
        value.as_object().expect("object").clone()
    }

    #[test]
    fn the_platform_enum_is_every_platform_the_engine_knows() {
        let engine: Vec<&str> = Platform::ALL.iter().map(|p| p.as_str()).collect();

        assert_eq!(PLATFORMS, engine.as_slice());
    }

    #[test]
    fn defaults_fill_missing_parameters() {
        let params = migrate_spec().validate(&Map::new()).expect("valid");

        let typed = MigrateParams::from_params(&params);

        assert_eq!(
            typed,
            MigrateParams {
                platform: Platform::Auto,
                dry_run: false,
                restart_workloads: false,
                allow_serverless_loss: false,
                timeout_minutes: 60,
            }
        );
        assert_eq!(typed.timeout(), Duration::from_secs(3600));
    }

    #[test]
    fn given_values_are_typed() {
        let raw = map(json!({"platform": "canonical-k8s", "dry-run": true, "timeout": 5}));

        let typed = MigrateParams::from_params(&migrate_spec().validate(&raw).expect("valid"));

        assert_eq!(typed.platform, Platform::CanonicalK8s);
        assert!(typed.dry_run);
        assert_eq!(typed.timeout_minutes, 5);
    }

    #[test]
    fn an_unknown_key_is_refused_with_the_accepted_names() {
        let raw = map(json!({"platfrom": "microk8s"}));

        let err = migrate_spec().validate(&raw).expect_err("unknown key");

        assert_eq!(
            err.to_string(),
            "invalid parameters for migrate-to-ambient: migrate-to-ambient has no parameter `platfrom`: accepted parameters are platform, dry-run, restart-workloads, allow-serverless-loss, timeout"
        );
    }

    #[test]
    fn a_string_for_a_boolean_is_refused() {
        let raw = map(json!({"dry-run": "yes"}));

        let err = migrate_spec().validate(&raw).expect_err("wrong type");

        assert_eq!(
            err.problems,
            vec![ParamError::WrongType {
                param: "dry-run",
                expected: "true or false",
                got: "the string \"yes\"".into(),
                example: "true".into(),
            }]
        );
    }

    #[test]
    fn a_platform_outside_the_enum_is_refused_with_the_choices() {
        let raw = map(json!({"platform": "eks"}));

        let err = migrate_spec().validate(&raw).expect_err("not allowed");

        assert!(
            err.to_string().contains(
                "parameter `platform` must be one of auto, microk8s, canonical-k8s, k3s, k3d, gke, minikube, none, got \"eks\""
            ),
            "{err}"
        );
    }

    #[test]
    fn a_timeout_below_one_minute_is_refused() {
        let raw = map(json!({"timeout": 0}));

        let err = migrate_spec().validate(&raw).expect_err("below minimum");

        assert_eq!(
            err.problems,
            vec![ParamError::BelowMinimum {
                param: "timeout",
                got: 0,
                minimum: 1,
                default: 60
            }]
        );
    }

    #[test]
    fn a_fractional_timeout_is_refused_and_a_whole_float_accepted() {
        let spec = migrate_spec();

        let fractional = spec.validate(&map(json!({"timeout": 1.5})));
        let whole = spec.validate(&map(json!({"timeout": 30.0})));

        assert!(matches!(
            fractional.expect_err("fractional").problems[0],
            ParamError::WrongType {
                param: "timeout",
                ..
            }
        ));
        assert_eq!(
            MigrateParams::from_params(&whole.expect("whole")).timeout_minutes,
            30
        );
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let raw = map(json!({"timeout": "soon", "dry-run": 1, "extra": true}));

        let err = migrate_spec().validate(&raw).expect_err("three problems");

        assert_eq!(err.problems.len(), 3, "{err}");
    }

    #[test]
    fn verify_takes_http() {
        let spec = action(VERIFY).expect("declared");

        let off =
            VerifyParams::from_params(&spec.validate(&map(json!({"http": false}))).expect("valid"));
        let default = VerifyParams::from_params(&spec.validate(&Map::new()).expect("valid"));

        assert!(!off.http);
        assert!(default.http);
    }

    #[test]
    fn a_huge_timeout_is_capped_so_a_deadline_cannot_overflow() {
        let raw = map(json!({"timeout": i64::MAX}));

        let typed = MigrateParams::from_params(&migrate_spec().validate(&raw).expect("valid"));

        assert_eq!(
            typed.timeout(),
            Duration::from_secs(MAX_TIMEOUT_MINUTES * 60)
        );
        assert!(
            std::time::Instant::now()
                .checked_add(typed.timeout())
                .is_some()
        );
    }
}
