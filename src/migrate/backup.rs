//! A record of the model before the first change: what a person needs to put it back by hand.
//!
//! Applications (charm, channel, revision, the config a user set, trust) and every relation, as
//! YAML in a ConfigMap `ckf-migrator-backup-<UTC time>` in the model's namespace.

use std::collections::BTreeMap;

use futures::stream::{self, StreamExt, TryStreamExt};
use serde::Serialize;

use crate::juju::{self, ModelStatus};
use crate::session::Session;

/// Label on every backup ConfigMap, to list them with `kubectl get cm -l`.
pub const BACKUP_LABEL: &str = "ckf-migrator.canonical.com/backup";

#[derive(Debug, Serialize, PartialEq)]
struct Backup {
    model: String,
    taken: String,
    applications: BTreeMap<String, ApplicationRecord>,
    relations: Vec<String>,
}

#[derive(Debug, Serialize, PartialEq)]
struct ApplicationRecord {
    charm: String,
    channel: String,
    revision: Option<i64>,
    trust: bool,
    /// Options set by a user (`juju config`), not defaults.
    config: BTreeMap<String, String>,
    scale: i64,
}

/// Why the backup could not be written.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BackupError {
    /// Reading an application's config failed.
    #[error("reading the config of the applications: {0}")]
    Juju(#[from] juju::Error),
    /// Writing the ConfigMap failed.
    #[error("writing the backup ConfigMap: {0}")]
    Cluster(#[from] crate::cluster::Error),
    /// Serialising failed (does not happen with these types).
    #[error("encoding the backup: {0}")]
    Encode(#[from] serde_yaml::Error),
}

/// The backup ConfigMap's name for a moment: lowercase, as object names must be.
pub(crate) fn name_at(time: jiff::Timestamp) -> String {
    format!("ckf-migrator-backup-{}", time.strftime("%Y%m%d-%H%M%S"))
}

/// Reads the model and writes the backup. Returns the ConfigMap's name.
pub(crate) async fn write(
    session: &Session,
    status: &ModelStatus,
    concurrency: usize,
) -> Result<String, BackupError> {
    let configs: Vec<juju::ApplicationConfig> = stream::iter(status.applications.keys())
        .map(|name| session.juju.application_config(name))
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await?;
    let configs: BTreeMap<String, juju::ApplicationConfig> = configs
        .into_iter()
        .map(|c| (c.application.clone(), c))
        .collect();
    let now = jiff::Timestamp::now();
    let backup = Backup {
        model: status.name.clone(),
        taken: now.to_string(),
        applications: status
            .applications
            .values()
            .map(|app| {
                let config = configs.get(&app.name);
                let record = ApplicationRecord {
                    charm: app.charm.clone(),
                    channel: app.channel.clone(),
                    revision: app.revision,
                    trust: config.is_some_and(|c| c.trust),
                    config: config
                        .map(|c| {
                            c.options
                                .iter()
                                .filter(|(_, v)| v.source == "user")
                                .map(|(k, v)| (k.clone(), v.as_config_string()))
                                .collect()
                        })
                        .unwrap_or_default(),
                    scale: app.scale,
                };
                (app.name.clone(), record)
            })
            .collect(),
        relations: status
            .relations
            .iter()
            .map(|r| {
                r.endpoints
                    .iter()
                    .map(|e| format!("{}:{}", e.application, e.name))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect(),
    };
    let yaml = serde_yaml::to_string(&backup)?;
    let labels = BTreeMap::from([
        (
            "app.kubernetes.io/managed-by".to_string(),
            "ckf-migrator".to_string(),
        ),
        (BACKUP_LABEL.to_string(), "true".to_string()),
    ]);
    let base = name_at(now);
    // Two runs in the same second (a retry) must not collide.
    for attempt in 0..5 {
        let name = if attempt == 0 {
            base.clone()
        } else {
            format!("{base}-{attempt}")
        };
        let data = BTreeMap::from([("model.yaml".to_string(), yaml.clone())]);
        match session
            .cluster
            .create_config_map(&session.model_name, &name, labels.clone(), data)
            .await
        {
            Ok(()) => return Ok(name),
            Err(e) if e.is_conflict() => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(BackupError::Cluster(crate::cluster::Error::Config(
        format!("ConfigMaps {base}[-1..4] all exist already"),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_names_are_valid_object_names_ordered_by_time() {
        let t: jiff::Timestamp = "2026-11-25T09:05:03Z".parse().expect("time");
        assert_eq!(name_at(t), "ckf-migrator-backup-20261125-090503");
    }
}
