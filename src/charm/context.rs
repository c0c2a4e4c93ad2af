//! The hook environment, read once into a typed [`JujuContext`].
//!
//! Juju builds the environment of `dispatch` from scratch (reference/charm-runtime.md §1.3):
//! `JUJU_DISPATCH_PATH` names the event (`hooks/<name>` or `actions/<name>`), the other `JUJU_*`
//! variables say which unit, model and controller this is. Everything else in charm mode takes
//! a `&JujuContext` instead of reading the environment again, so tests can build one from a list.
//! This module knows the variables' names and meaning, and nothing of what is done with them.

use std::fmt;
use std::path::PathBuf;

use crate::cluster;

/// What Juju asked the charm to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A hook, by name (`install`, `config-changed`, …).
    Hook(String),
    /// An action.
    Action {
        /// The action's name (`migrate-to-ambient`).
        name: String,
        /// Juju's task id (`JUJU_ACTION_UUID`; in Juju 3 a number such as `"2"`).
        id: Option<String>,
    },
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Hook(name) => write!(f, "hook {name}"),
            Event::Action { name, .. } => write!(f, "action {name}"),
        }
    }
}

/// The environment of one hook or action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JujuContext {
    /// The hook or action.
    pub event: Event,
    /// This unit, e.g. `ckf-migrator/0`.
    pub unit_name: String,
    /// The model's name; on Kubernetes also its namespace.
    pub model_name: String,
    /// The model's UUID.
    pub model_uuid: String,
    /// The charm directory; the unit's `agent.conf` is in its parent.
    pub charm_dir: PathBuf,
    /// Controller API addresses (`host:port`) from `JUJU_API_ADDRESSES`.
    pub api_addresses: Vec<String>,
    /// The agent's version (`JUJU_VERSION`), if given.
    pub juju_version: Option<String>,
    /// A kubeconfig to use instead of the pod's service account (`KUBECONFIG`); see
    /// [`JujuContext::cluster_source`].
    pub kubeconfig: Option<PathBuf>,
}

/// The environment is not one Juju gives a charm.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContextError {
    /// A variable Juju always sets is missing or empty.
    #[error("{0} is not set: this binary runs as a charm only when Juju starts it as dispatch")]
    Missing(&'static str),
    /// `JUJU_DISPATCH_PATH` is neither `hooks/<name>` nor `actions/<name>`.
    #[error("JUJU_DISPATCH_PATH {0:?} is neither hooks/<name> nor actions/<name>")]
    DispatchPath(String),
}

impl JujuContext {
    /// Reads the context from environment variables given as pairs (e.g. `std::env::vars()`).
    ///
    /// # Errors
    /// A variable Juju always sets is missing, or the dispatch path is not a hook or an action.
    pub fn from_vars<I, K, V>(vars: I) -> Result<Self, ContextError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let vars: std::collections::HashMap<String, String> = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        let get = |name: &str| vars.get(name).filter(|v| !v.is_empty()).cloned();
        let require = |name: &'static str| get(name).ok_or(ContextError::Missing(name));

        let dispatch = require("JUJU_DISPATCH_PATH")?;
        let event = match dispatch.split_once('/') {
            Some(("hooks", name)) if !name.is_empty() && !name.contains('/') => {
                Event::Hook(name.to_string())
            }
            Some(("actions", name)) if !name.is_empty() && !name.contains('/') => Event::Action {
                name: name.to_string(),
                id: get("JUJU_ACTION_UUID"),
            },
            _ => return Err(ContextError::DispatchPath(dispatch)),
        };
        let charm_dir = get("JUJU_CHARM_DIR")
            .or_else(|| get("CHARM_DIR"))
            .ok_or(ContextError::Missing("JUJU_CHARM_DIR"))?;
        Ok(Self {
            event,
            unit_name: require("JUJU_UNIT_NAME")?,
            model_name: require("JUJU_MODEL_NAME")?,
            model_uuid: require("JUJU_MODEL_UUID")?,
            charm_dir: PathBuf::from(charm_dir),
            api_addresses: get("JUJU_API_ADDRESSES")
                .map(|a| split_addresses(&a))
                .unwrap_or_default(),
            juju_version: get("JUJU_VERSION"),
            kubeconfig: get("KUBECONFIG").map(PathBuf::from),
        })
    }

    /// The application this unit belongs to (`ckf-migrator` for `ckf-migrator/0`).
    pub fn app_name(&self) -> &str {
        self.unit_name
            .split_once('/')
            .map_or(self.unit_name.as_str(), |(app, _)| app)
    }

    /// The unit agent's `agent.conf` (`$JUJU_CHARM_DIR/../agent.conf`), where the controller CA is.
    pub fn agent_conf(&self) -> PathBuf {
        self.charm_dir.join("..").join("agent.conf")
    }

    /// Where the Kubernetes credentials come from.
    ///
    /// Juju never sets `KUBECONFIG` for a charm (its environment is built from scratch), so in a
    /// real deployment this is the pod's service account, which `--trust` makes cluster admin.
    /// A `KUBECONFIG` in the environment can only have been put there on purpose: by the tests
    /// and the demo, which point the charm at the twin's API server. Honouring it costs nothing in
    /// production and lets the real binary run unchanged against the twin.
    pub fn cluster_source(&self) -> cluster::Source {
        match &self.kubeconfig {
            Some(path) => cluster::Source::Kubeconfig(path.clone()),
            None => cluster::Source::InCluster,
        }
    }
}

/// Splits a list of `host:port` addresses separated by spaces and/or commas.
pub fn split_addresses(list: &str) -> Vec<String> {
    list.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            ("JUJU_UNIT_NAME", "ckf-migrator/0"),
            ("JUJU_MODEL_NAME", "kubeflow"),
            ("JUJU_MODEL_UUID", "6d3c8f1e-0000-4000-8000-000000000001"),
            (
                "JUJU_CHARM_DIR",
                "/var/lib/juju/agents/unit-ckf-migrator-0/charm",
            ),
            ("JUJU_API_ADDRESSES", "127.0.0.1:17070 127.0.0.2:17070"),
        ]
    }

    #[test]
    fn a_hook_path_is_a_hook() {
        let mut vars = base();
        vars.push(("JUJU_DISPATCH_PATH", "hooks/config-changed"));

        let ctx = JujuContext::from_vars(vars).expect("valid context");

        assert_eq!(ctx.event, Event::Hook("config-changed".into()));
        assert_eq!(ctx.app_name(), "ckf-migrator");
        assert_eq!(
            ctx.api_addresses,
            vec!["127.0.0.1:17070", "127.0.0.2:17070"]
        );
        assert_eq!(ctx.cluster_source(), cluster::Source::InCluster);
    }

    #[test]
    fn an_action_path_is_an_action_with_its_task_id() {
        let mut vars = base();
        vars.push(("JUJU_DISPATCH_PATH", "actions/verify"));
        vars.push(("JUJU_ACTION_UUID", "7"));

        let ctx = JujuContext::from_vars(vars).expect("valid context");

        assert_eq!(
            ctx.event,
            Event::Action {
                name: "verify".into(),
                id: Some("7".into())
            }
        );
    }

    #[test]
    fn a_missing_unit_name_is_refused() {
        let mut vars = base();
        vars.retain(|(k, _)| *k != "JUJU_UNIT_NAME");
        vars.push(("JUJU_DISPATCH_PATH", "hooks/install"));

        let err = JujuContext::from_vars(vars).expect_err("unit name missing");

        assert_eq!(err, ContextError::Missing("JUJU_UNIT_NAME"));
    }

    #[test]
    fn a_dispatch_path_outside_hooks_and_actions_is_refused() {
        let mut vars = base();
        vars.push(("JUJU_DISPATCH_PATH", "elsewhere/install"));

        let err = JujuContext::from_vars(vars).expect_err("bad path");

        assert!(matches!(err, ContextError::DispatchPath(_)));
    }

    #[test]
    fn kubeconfig_in_the_environment_wins_over_the_service_account() {
        let mut vars = base();
        vars.push(("JUJU_DISPATCH_PATH", "hooks/install"));
        vars.push(("KUBECONFIG", "/tmp/twin.kubeconfig"));

        let ctx = JujuContext::from_vars(vars).expect("valid context");

        assert_eq!(
            ctx.cluster_source(),
            cluster::Source::Kubeconfig("/tmp/twin.kubeconfig".into())
        );
    }

    #[test]
    fn addresses_split_on_spaces_and_commas() {
        assert_eq!(
            split_addresses(" 127.0.0.1:17070,127.0.0.2:17070  127.0.0.3:17070 "),
            vec!["127.0.0.1:17070", "127.0.0.2:17070", "127.0.0.3:17070"]
        );
    }
}
