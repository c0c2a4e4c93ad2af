//! The backup as a desired state: what `restore` makes the model equal to.
//!
//! Every value here has been checked by [`super::parse`]: names follow Juju's rules, channels
//! parse, numbers are in range, relations name applications of the backup. Nothing here is I/O.

use std::collections::BTreeMap;
use std::fmt;

use crate::juju::{Base, RemoteApplication};
use crate::plan::{Channel, EndpointRef};

/// The model a session works on, to tell its backups from another model's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelIdentity {
    /// Model name (also its namespace).
    pub name: String,
    /// Model UUID.
    pub uuid: String,
}

/// A validated backup of one model.
#[derive(Debug, Clone, PartialEq)]
pub struct Backup {
    /// The ConfigMap it was read from, in the model's namespace.
    pub config_map: String,
    /// The document's format (absent in old backups, which are format 1).
    pub format: u32,
    /// The model it was taken of (always this model: a foreign backup is refused).
    pub model: String,
    /// That model's UUID; `None` in backups written before it was recorded.
    pub model_uuid: Option<String>,
    /// When it was taken.
    pub taken: jiff::Timestamp,
    /// Every application of the model, by name.
    pub applications: BTreeMap<String, Application>,
    /// Every relation of the model, in the backup's order, none twice.
    pub relations: Vec<Relation>,
    /// Applications of other models consumed here through offers, by their name in this model
    /// (the far ends of cross-model relations).
    pub remote_applications: BTreeMap<String, RemoteApplication>,
}

/// One application as it was before the migration.
#[derive(Debug, Clone, PartialEq)]
pub struct Application {
    /// Application name.
    pub name: String,
    /// Charm name on Charmhub.
    pub charm: String,
    /// The channel it tracked; `None` for a charm deployed from a file (`juju deploy
    /// ./x.charm`), which Juju reports with no channel and the store cannot serve again.
    pub channel: Option<Channel>,
    /// The charm revision it ran; `None` when Juju reported none (restore then has only the
    /// channel to go by).
    pub revision: Option<u32>,
    /// Application config `trust`.
    pub trust: bool,
    /// The options a user had set; every other option was at its default.
    pub config: Config,
    /// Scale (Kubernetes replica count).
    pub scale: u32,
    /// The OS base its charm ran on; `None` in backups written before it was recorded.
    pub base: Option<Base>,
}

/// The options a user set on an application, as `juju config` prints them.
///
/// `Debug` shows option names only: a value may be a password a user set.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Config(BTreeMap<String, String>);

impl Config {
    /// The options, by name.
    pub fn options(&self) -> &BTreeMap<String, String> {
        &self.0
    }

    /// One option's value, if a user set it.
    pub fn get(&self, option: &str) -> Option<&str> {
        self.0.get(option).map(String::as_str)
    }

    /// Whether no option was set by a user.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<BTreeMap<String, String>> for Config {
    fn from(options: BTreeMap<String, String>) -> Self {
        Self(options)
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// A relation of the backed-up model.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Relation {
    /// A peer relation: one application with itself, over one endpoint. Charms declare these
    /// (`peers:` in metadata) and Juju creates them with the application: no `juju integrate`
    /// makes one, so they describe the model but are nothing to add.
    Peer(EndpointRef),
    /// A relation between two applications, endpoints in a fixed (sorted) order so that
    /// `a:x b:y` and `b:y a:x` are the same relation.
    Between(EndpointRef, EndpointRef),
}

impl Relation {
    /// A relation between two endpoints, in the fixed order.
    pub fn between(a: EndpointRef, b: EndpointRef) -> Self {
        if a <= b {
            Relation::Between(a, b)
        } else {
            Relation::Between(b, a)
        }
    }

    /// Its endpoints: one for a peer relation, two otherwise.
    pub fn endpoints(&self) -> Vec<&EndpointRef> {
        match self {
            Relation::Peer(e) => vec![e],
            Relation::Between(a, b) => vec![a, b],
        }
    }

    /// Whether it is a peer relation.
    pub fn is_peer(&self) -> bool {
        matches!(self, Relation::Peer(_))
    }
}

/// As the backup writes it: `app:ep app:ep`, or `app:ep` for a peer relation.
impl fmt::Display for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Relation::Peer(e) => write!(f, "{e}"),
            Relation::Between(a, b) => write!(f, "{a} {b}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(s: &str) -> EndpointRef {
        s.parse().expect("endpoint")
    }

    #[test]
    fn a_relation_is_the_same_from_either_end() {
        let one = Relation::between(ep("kfp-api:kfp-viz"), ep("kfp-viz:kfp-viz"));
        let other = Relation::between(ep("kfp-viz:kfp-viz"), ep("kfp-api:kfp-viz"));
        assert_eq!(one, other);
        assert_eq!(one.to_string(), "kfp-api:kfp-viz kfp-viz:kfp-viz");
    }

    #[test]
    fn config_debug_shows_option_names_not_values() {
        let config = Config::from(BTreeMap::from([(
            "admin-password".to_string(),
            "hunter2".to_string(),
        )]));
        let shown = format!("{config:?}");
        assert!(shown.contains("admin-password"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
