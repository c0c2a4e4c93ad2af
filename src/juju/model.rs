//! What the Juju port returns: the model as Juju reports it, in plain domain types.
//!
//! Wire structs (serde renames, `null` lists, capitalised keys) stay in `wire`; these types
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
    /// Applications of other models consumed through offers, by their name in this model.
    pub remote_applications: BTreeMap<String, RemoteApplication>,
}

/// An application of another model, consumed here through an offer (`juju consume`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoteApplication {
    /// Its name in this model.
    pub name: String,
    /// The offer, `[controller:]owner/model.offer`.
    pub offer_url: String,
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
    /// Charm name, parsed from the charm URL (`ch:amd64/istio-pilot-1234` → `istio-pilot`;
    /// see [`CharmUrl`]).
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
    /// The OS base its charm runs on, as `FullStatus` reports it; `None` when Juju sent none.
    /// Only `FullStatus` sets it: the AllWatcher's deltas leave it as it was.
    pub base: Option<Base>,
}

/// An OS base (`ubuntu` at `22.04`), as Juju reports an application's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Base {
    /// OS name, e.g. `ubuntu`.
    pub name: String,
    /// OS channel: `22.04`, or with a risk, `22.04/stable`.
    pub channel: String,
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

impl Relation {
    /// The endpoints as `juju integrate` names them, `application:endpoint`, space-separated in
    /// the status's order: `kfp-api:kfp-viz kfp-viz:kfp-viz` (one for a peer relation).
    pub fn endpoints_line(&self) -> String {
        self.endpoints
            .iter()
            .map(|e| format!("{}:{}", e.application, e.name))
            .collect::<Vec<_>>()
            .join(" ")
    }
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
    /// Number of units; 0 leaves it to Juju's default (1).
    pub units: u32,
    /// Charm config (strings, as `juju deploy --config` takes them).
    pub config: BTreeMap<String, String>,
    /// Grant trust (`--trust`).
    pub trust: bool,
    /// A specific charm revision (`--revision N`); `None` takes the newest in `channel`. Juju
    /// needs a channel with it, for the refreshes that follow.
    pub revision: Option<u32>,
    /// The OS base to deploy on (`--base ubuntu@22.04`); `None` leaves it to the charm's
    /// default. A channel without a risk (`22.04`) means `22.04/stable`, as the CLI parses it.
    pub base: Option<Base>,
}

/// A charm at an exact revision, as a restore asks the store for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedCharm {
    /// Charm name on Charmhub.
    pub charm: String,
    /// Channel it tracks.
    pub channel: String,
    /// Revision.
    pub revision: u32,
    /// The OS base it runs on; `None` leaves it to the store.
    pub base: Option<Base>,
}

/// What a refresh did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RefreshOutcome {
    /// Charm URL before.
    pub from_url: String,
    /// Charm URL the application now points at (equal to `from_url` when the charm was already
    /// the newest in the channel).
    pub to_url: String,
    /// Revision the application now points at.
    pub to_revision: Option<i64>,
    /// Names of resources that were upgraded (e.g. `oci-image`).
    pub resources_upgraded: Vec<String>,
}

/// A charm URL as Juju writes it: `ch:amd64/istio-pilot-1234`, `ch:amd64/jammy/istio-pilot-1234`
/// (older deployments carry the series), `ch:istio-pilot`, `local:jammy/my-charm-3`.
///
/// Charm names are lowercase words joined by `-`, each word holding a letter, so a trailing
/// `-<digits>` is always the revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CharmUrl {
    /// `ch`, `local` (or the legacy `cs`).
    pub schema: String,
    /// Path segments before the name (`amd64`, `amd64/jammy`, `jammy`), as written.
    pub prefix: Vec<String>,
    /// Charm name.
    pub name: String,
    /// Revision, when the URL carries one.
    pub revision: Option<i64>,
}

impl CharmUrl {
    /// Parses a charm URL; a URL without a schema is a Charmhub one, as in Juju.
    ///
    /// # Errors
    /// An empty name; the message names the URL.
    pub fn parse(url: &str) -> Result<Self, String> {
        let (schema, path) = url.split_once(':').unwrap_or(("ch", url));
        let mut segments: Vec<&str> = path.split('/').collect();
        let last = segments.pop().unwrap_or_default();
        let (name, revision) = match last.rsplit_once('-') {
            Some((name, rev)) if !rev.is_empty() && rev.bytes().all(|b| b.is_ascii_digit()) => {
                (name, rev.parse::<i64>().ok())
            }
            _ => (last, None),
        };
        if name.is_empty() || segments.iter().any(|s| s.is_empty()) {
            return Err(format!("cannot parse charm URL {url:?}"));
        }
        Ok(Self {
            schema: schema.to_owned(),
            prefix: segments.into_iter().map(str::to_owned).collect(),
            name: name.to_owned(),
            revision,
        })
    }

    /// The same URL without its revision (`ch:amd64/istio-pilot`), what `ResolveCharms` takes.
    pub fn without_revision(&self) -> String {
        Self {
            revision: None,
            ..self.clone()
        }
        .to_string()
    }
}

impl fmt::Display for CharmUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.schema)?;
        for segment in &self.prefix {
            write!(f, "{segment}/")?;
        }
        f.write_str(&self.name)?;
        if let Some(revision) = self.revision {
            write!(f, "-{revision}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charm_url_without_series_gives_name_and_revision() {
        let url = CharmUrl::parse("ch:amd64/istio-pilot-1234").expect("parses");
        assert_eq!(url.name, "istio-pilot");
        assert_eq!(url.revision, Some(1234));
        assert_eq!(url.prefix, ["amd64"]);
    }

    #[test]
    fn charm_url_with_series_gives_name_and_revision() {
        let url = CharmUrl::parse("ch:amd64/jammy/kfp-api-12").expect("parses");
        assert_eq!(url.name, "kfp-api");
        assert_eq!(url.revision, Some(12));
        assert_eq!(url.without_revision(), "ch:amd64/jammy/kfp-api");
    }

    #[test]
    fn local_charm_url_parses() {
        let url = CharmUrl::parse("local:ckf-migrator-3").expect("parses");
        assert_eq!(url.schema, "local");
        assert_eq!(url.name, "ckf-migrator");
        assert_eq!(url.revision, Some(3));
        let with_series = CharmUrl::parse("local:jammy/ckf-migrator-0").expect("parses");
        assert_eq!(with_series.name, "ckf-migrator");
        assert_eq!(with_series.revision, Some(0));
    }

    #[test]
    fn name_ending_in_a_word_has_no_revision() {
        let url = CharmUrl::parse("ch:amd64/mysql-k8s").expect("parses");
        assert_eq!(url.name, "mysql-k8s");
        assert_eq!(url.revision, None);
        let k8s_rev = CharmUrl::parse("ch:amd64/istio-k8s-7").expect("parses");
        assert_eq!(k8s_rev.name, "istio-k8s");
        assert_eq!(k8s_rev.revision, Some(7));
    }

    #[test]
    fn url_round_trips_and_drops_revision_on_request() {
        let url = CharmUrl::parse("ch:amd64/istio-pilot-1234").expect("parses");
        assert_eq!(url.to_string(), "ch:amd64/istio-pilot-1234");
        assert_eq!(url.without_revision(), "ch:amd64/istio-pilot");
    }

    #[test]
    fn bare_name_is_a_charmhub_url() {
        let url = CharmUrl::parse("dex-auth").expect("parses");
        assert_eq!(url.schema, "ch");
        assert_eq!(url.name, "dex-auth");
    }

    #[test]
    fn empty_name_is_refused() {
        assert!(CharmUrl::parse("ch:amd64/").is_err());
        assert!(CharmUrl::parse("").is_err());
    }

    #[test]
    fn config_value_prints_like_juju_config() {
        let v = |value| ConfigValue {
            value,
            source: "user".into(),
            option_type: "string".into(),
        };
        assert_eq!(
            v(Some(serde_json::json!("text"))).as_config_string(),
            "text"
        );
        assert_eq!(v(Some(serde_json::json!(true))).as_config_string(), "true");
        assert_eq!(v(Some(serde_json::json!(5))).as_config_string(), "5");
        assert_eq!(v(None).as_config_string(), "");
    }
}
