//! The backup document as it is stored: the YAML under `model.yaml`, field for field.
//!
//! These types are the file format, nothing more: they accept what any ckf-migrator ever wrote
//! and check nothing. [`super::parse`] turns a [`Document`] into the validated
//! [`super::Backup`]. A change of meaning (not an added optional field) needs a new [`FORMAT`].

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, de};

/// The format this ckf-migrator writes, and the newest it reads.
pub const FORMAT: u32 = 1;

/// Backups written before the `format` field existed are format 1: same fields, fewer of them.
fn legacy_format() -> u32 {
    1
}

/// The whole document.
///
/// Compatibility: backups from before `format`, `model-uuid` and `base` existed lack them. An
/// absent `format` is 1; an absent `model-uuid` means the backup's model can only be checked by
/// name; an absent `base` means the status did not report one. Unknown fields are ignored, so an
/// optional field added later does not break this reader.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// Format version ([`FORMAT`]).
    #[serde(default = "legacy_format")]
    pub format: u32,
    /// The model's name (also its namespace).
    pub model: String,
    /// The model's UUID: a model re-created under the same name is another model.
    #[serde(
        rename = "model-uuid",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub model_uuid: Option<String>,
    /// When it was taken, RFC 3339 UTC.
    pub taken: String,
    /// Every application, by name.
    pub applications: BTreeMap<String, ApplicationRecord>,
    /// Every relation, as `app:endpoint app:endpoint` (a peer relation: `app:endpoint`).
    pub relations: Vec<String>,
    /// Applications of other models consumed here through offers, by their name in this model:
    /// the far ends of cross-model relations (COS's, say). Absent in older backups and when there
    /// are none.
    #[serde(
        rename = "remote-applications",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub remote_applications: BTreeMap<String, RemoteApplicationRecord>,
}

/// An application of another model, consumed through an offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteApplicationRecord {
    /// The offer, `[controller:]owner/model.offer`, as `juju consume` takes it.
    #[serde(rename = "offer-url")]
    pub offer_url: String,
}

/// One application as it was.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplicationRecord {
    /// Charm name.
    pub charm: String,
    /// Channel, normalised as Juju reports it (`1.24/stable`, `stable`); empty for a charm
    /// deployed from a file.
    pub channel: String,
    /// Charm revision; absent when Juju reported none.
    pub revision: Option<i64>,
    /// Application config `trust`.
    pub trust: bool,
    /// Options set by a user (`juju config`), not defaults, as `juju config` prints them.
    ///
    /// Values stay YAML values here, not strings, so that a hand-edited value of the wrong shape
    /// is refused by the reader with the option's name instead of by serde with the value in its
    /// message: a value may be a password.
    #[serde(deserialize_with = "options")]
    pub config: BTreeMap<String, serde_yaml::Value>,
    /// Scale (Kubernetes replica count).
    pub scale: i64,
    /// The OS base, when the status reported one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<BaseRecord>,
}

/// Option names only: values may be secrets.
impl fmt::Debug for ApplicationRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApplicationRecord")
            .field("charm", &self.charm)
            .field("channel", &self.channel)
            .field("revision", &self.revision)
            .field("trust", &self.trust)
            .field("config", &self.config.keys().collect::<Vec<_>>())
            .field("scale", &self.scale)
            .field("base", &self.base)
            .finish()
    }
}

/// `config`, read without ever failing on a value: serde's "invalid type" message quotes a
/// string it did not expect, and that string may be a password. Empty (`config:`) is no option.
fn options<'de, D>(deserializer: D) -> Result<BTreeMap<String, serde_yaml::Value>, D::Error>
where
    D: Deserializer<'de>,
{
    match serde_yaml::Value::deserialize(deserializer)? {
        serde_yaml::Value::Null => Ok(BTreeMap::new()),
        serde_yaml::Value::Mapping(options) => options
            .into_iter()
            .map(|(option, value)| match option {
                serde_yaml::Value::String(option) => Ok((option, value)),
                _ => Err(de::Error::custom("an option name is not text")),
            })
            .collect(),
        _ => Err(de::Error::custom(
            "config is not a mapping of option names to values",
        )),
    }
}

/// An OS base, `{name: ubuntu, channel: "22.04"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseRecord {
    /// OS name.
    pub name: String,
    /// OS channel.
    pub channel: String,
}
