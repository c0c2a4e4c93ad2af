//! Writing the backup: the model as it is, before migrate-to-ambient's first change.

use std::collections::BTreeMap;

use futures::stream::{self, StreamExt, TryStreamExt};

use crate::juju::{self, ModelStatus};
use crate::session::Session;

use super::name::BackupName;
use super::record::{ApplicationRecord, BaseRecord, Document, FORMAT};
use super::{BACKUP_LABEL, DATA_KEY, MANAGED_BY_LABEL};

/// Names tried for one backup: the second's name, then `-1` to `-4`.
const NAME_ATTEMPTS: u32 = 5;

/// Why the backup could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
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

/// Reads each application's config and writes the backup of `status`. Returns the ConfigMap's
/// name.
///
/// # Errors
/// See [`WriteError`]; a backup is never half-written (one ConfigMap, created whole).
pub async fn write(
    session: &Session,
    status: &ModelStatus,
    concurrency: usize,
) -> Result<String, WriteError> {
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
    let backup = document(status, &configs, &session.juju.login_info().model_uuid, now);
    let yaml = serde_yaml::to_string(&backup)?;
    let labels = BTreeMap::from([
        (MANAGED_BY_LABEL.to_string(), "ckf-migrator".to_string()),
        (BACKUP_LABEL.to_string(), "true".to_string()),
    ]);
    let first = BackupName::at(now);
    // Two runs in the same second (a retry) must not collide.
    for attempt in 0..NAME_ATTEMPTS {
        let name = first.retry(attempt).to_string();
        let data = BTreeMap::from([(DATA_KEY.to_string(), yaml.clone())]);
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
    Err(WriteError::Cluster(crate::cluster::Error::Config(format!(
        "ConfigMaps {first}[-1..{}] all exist already",
        NAME_ATTEMPTS - 1
    ))))
}

/// The document for `status`, with each application's config and trust from `configs`.
fn document(
    status: &ModelStatus,
    configs: &BTreeMap<String, juju::ApplicationConfig>,
    model_uuid: &str,
    taken: jiff::Timestamp,
) -> Document {
    Document {
        format: FORMAT,
        model: status.name.clone(),
        model_uuid: Some(model_uuid.to_string()),
        taken: taken.to_string(),
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
                                .map(|(k, v)| {
                                    (k.clone(), serde_yaml::Value::String(v.as_config_string()))
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                    scale: app.scale,
                    base: app.base.as_ref().map(|b| BaseRecord {
                        name: b.name.clone(),
                        channel: b.channel.clone(),
                    }),
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::juju::Base;

    #[test]
    fn new_backups_say_their_format_model_uuid_and_bases() {
        let mut status = ModelStatus {
            name: "kubeflow".into(),
            ..ModelStatus::default()
        };
        status.applications.insert(
            "kfp-api".into(),
            juju::Application {
                name: "kfp-api".into(),
                charm: "kfp-api".into(),
                channel: "2.5/stable".into(),
                revision: Some(1000),
                scale: 1,
                base: Some(Base {
                    name: "ubuntu".into(),
                    channel: "22.04".into(),
                }),
                ..juju::Application::default()
            },
        );
        let taken: jiff::Timestamp = "2026-11-25T09:05:03Z".parse().expect("time");

        let yaml = serde_yaml::to_string(&document(&status, &BTreeMap::new(), "u-1", taken))
            .expect("encodes");

        assert!(
            yaml.starts_with("format: 1\nmodel: kubeflow\nmodel-uuid: u-1\n"),
            "{yaml}"
        );
        assert!(
            yaml.contains("    base:\n      name: ubuntu\n      channel: '22.04'\n"),
            "{yaml}"
        );
    }
}
