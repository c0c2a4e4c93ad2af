//! What the Juju port returns: the model as Juju reports it, in plain domain types.
//!
//! Wire structs (serde renames, `null` lists, capitalised keys) stay in [`super::wire`]; these types
//! are what the rest of ckf-migrator sees. They know Juju, not Kubeflow.

use std::collections::BTreeMap;
use std::fmt;

/// The model as `Client.FullStatus` reports it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelStatus {
    /// Model name (on Kubernetes, also the namespace).
    pub name: String,
    /// `caas` for a Kubernetes model.
    pub model_type: String,
    /// Applications by name.
    pub applications: BTreeMap<String, Application>,
    /// Every relation of the model.
    pub relations: Vec<Relation>,
}

/// Lifecycle of a Juju entity. Juju omits `life` for alive entities.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Life {
    /// Alive (Juju sends an empty string or omits the field).
    #[default]
    Alive,
    /// Being removed.
    Dying,
    /// Removed, about to disappear.
    Dead,
}

/// An application in the model.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Application {
    /// Application name.
    pub name: String,
    /// Charm name, parsed from the charm URL (`ch:amd64/istio-pilot-1234` → `istio-pilot`).
    pub charm: String,
    /// The charm URL as Juju reports it.
    pub charm_url: String,
    /// Normalised channel (`1.28/stable`, or `stable` for the `latest` track).
    pub channel: String,
    /// Charm revision, when Juju reports one.
    pub revision: Option<i64>,
    /// Lifecycle.
    pub life: Life,
    /// Application status.
    pub status: Status,
    /// Units by name (`app/0`).
    pub units: BTreeMap<String, Unit>,
    /// Scale (Kubernetes replica count).
    pub scale: i64,
}

/// A unit's workload and agent status.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Unit {
    /// Workload status (`active`, `blocked`, `waiting`, `maintenance`, `error`, `unknown`).
    pub workload: Status,
    /// Agent status (`idle`, `executing`, `allocating`, `error`, `lost`, …).
    pub agent: Status,
    /// Whether this unit is the leader.
    pub leader: bool,
}

/// A status value and its message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// The status (`active`, `blocked`, `idle`, …).
    pub current: String,
    /// The message shown beside it.
    pub message: String,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() {
            f.write_str(&self.current)
        } else {
            write!(f, "{}: {}", self.current, self.message)
        }
    }
}

/// A relation between two endpoints (peer relations have one).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Relation {
    /// Juju's relation id.
    pub id: i64,
    /// Juju's key, e.g. `kfp-api:kfp-viz kfp-viz:kfp-viz`.
    pub key: String,
    /// Interface name.
    pub interface: String,
    /// The endpoints.
    pub endpoints: Vec<RelationEndpoint>,
}

/// One side of a relation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RelationEndpoint {
    /// Application name.
    pub application: String,
    /// Endpoint name.
    pub name: String,
    /// `provider`, `requirer` or `peer`.
    pub role: String,
}

/// An application's configuration as `Application.Get` reports it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApplicationConfig {
    /// Application name.
    pub application: String,
    /// Charm name.
    pub charm: String,
    /// Channel.
    pub channel: String,
    /// Charm config options by name: the value in effect (user-set or default), `None` when unset
    /// without default.
    pub options: BTreeMap<String, ConfigValue>,
    /// Application config `trust`.
    pub trust: bool,
}

/// A config option's value and where it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigValue {
    /// The value in effect, as JSON (string, number, bool); `None` if unset without a default.
    pub value: Option<serde_json::Value>,
    /// `default`, `user` or `unset`.
    pub source: String,
    /// The option type (`string`, `int`, `boolean`, `float`, `secret`).
    pub option_type: String,
}

impl ConfigValue {
    /// The value as `juju config` would print it (`true`, `5`, `text`); empty when unset.
    pub fn as_config_string(&self) -> String {
        match &self.value {
            None | Some(serde_json::Value::Null) => String::new(),
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        }
    }
}

/// What to deploy with `DeployFromRepository`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeploySpec {
    /// Application name.
    pub application: String,
    /// Charm name on Charmhub.
    pub charm: String,
    /// Channel, e.g. `2/edge`.
    pub channel: String,
    /// Number of units.
    pub units: u32,
    /// Charm config (strings, as `juju deploy --config` takes them).
    pub config: BTreeMap<String, String>,
    /// Grant trust (`--trust`).
    pub trust: bool,
}

/// What a refresh did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RefreshOutcome {
    /// Charm URL before.
    pub from_url: String,
    /// Charm URL the application now points at.
    pub to_url: String,
    /// Revision the application now points at.
    pub to_revision: Option<i64>,
    /// Names of resources that were upgraded (e.g. `oci-image`).
    pub resources_upgraded: Vec<String>,
}
