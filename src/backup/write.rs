//! Writing the backup: the model as it is, before migrate-to-ambient's first change.

use std::collections::BTreeMap;

use futures::stream::{self, StreamExt, TryStreamExt};

use crate::juju::{self, ModelStatus};
use crate::session::Session;

use super::desired::{Backup, ModelIdentity};
use super::name::BackupName;
use super::read::{InvalidBackup, parse};
use super::record::{ApplicationRecord, BaseRecord, Document, FORMAT, RemoteApplicationRecord};
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
    let configs = read_configs(session, status, concurrency).await?;
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

/// Why the live model could not be read as a backup.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// Reading an application's config failed.
    #[error("reading the config of the applications: {0}")]
    Juju(#[from] juju::Error),
    /// The model holds something a backup cannot describe.
    #[error("{0}")]
    Invalid(#[from] InvalidBackup),
}

/// The name a capture goes by in messages: it is no ConfigMap.
pub const LIVE_MODEL: &str = "(the live model)";

/// The model as it is now, read exactly as [`write()`] takes a backup, and written nowhere: what
/// restore compares a backup with, so both sides pass the same reading and the same checks.
///
/// # Errors
/// See [`CaptureError`].
pub async fn capture(
    session: &Session,
    status: &ModelStatus,
    concurrency: usize,
) -> Result<Backup, CaptureError> {
    let configs = read_configs(session, status, concurrency).await?;
    let this = ModelIdentity {
        name: session.model_name.clone(),
        uuid: session.juju.login_info().model_uuid.clone(),
    };
    let document = document(status, &configs, &this.uuid, jiff::Timestamp::now());
    // Through the stored form, so that what is compared is what a backup would hold.
    let yaml = serde_yaml::to_string(&document).map_err(|e| {
        CaptureError::Invalid(InvalidBackup {
            namespace: this.name.clone(),
            config_map: LIVE_MODEL.into(),
            problem: Box::new(super::Problem::Yaml(e.to_string())),
        })
    })?;
    Ok(parse(LIVE_MODEL, &yaml, &this)?)
}

/// Each application's config and trust, read `concurrency` at a time.
async fn read_configs(
    session: &Session,
    status: &ModelStatus,
    concurrency: usize,
) -> Result<BTreeMap<String, juju::ApplicationConfig>, juju::Error> {
    let configs: Vec<juju::ApplicationConfig> = stream::iter(status.applications.keys())
        .map(|name| session.juju.application_config(name))
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await?;
    Ok(configs
        .into_iter()
        .map(|c| (c.application.clone(), c))
        .collect())
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
            .map(juju::Relation::endpoints_line)
            .collect(),
        remote_applications: status
            .remote_applications
            .values()
            .map(|remote| {
                let record = RemoteApplicationRecord {
                    offer_url: remote.offer_url.clone(),
                };
                (remote.name.clone(), record)
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::{ModelIdentity, Relation, parse};
    use crate::juju::{ApplicationConfig, Base, ConfigValue, RelationEndpoint};

    const UUID: &str = "6d3c8f1e-5a2b-4c1d-9e8f-0a1b2c3d4e5f";

    fn app(name: &str, charm: &str, channel: &str, revision: i64) -> juju::Application {
        juju::Application {
            name: name.into(),
            charm: charm.into(),
            channel: channel.into(),
            revision: Some(revision),
            scale: 1,
            base: Some(Base {
                name: "ubuntu".into(),
                channel: "22.04".into(),
            }),
            ..juju::Application::default()
        }
    }

    fn end(application: &str, name: &str, role: &str) -> RelationEndpoint {
        RelationEndpoint {
            application: application.into(),
            name: name.into(),
            role: role.into(),
        }
    }

    fn option(value: serde_json::Value, source: &str) -> ConfigValue {
        ConfigValue {
            value: Some(value),
            source: source.into(),
            option_type: "string".into(),
        }
    }

    fn model() -> (ModelStatus, BTreeMap<String, ApplicationConfig>) {
        let mut status = ModelStatus {
            name: "kubeflow".into(),
            ..ModelStatus::default()
        };
        for a in [
            app("istio-pilot", "istio-pilot", "1.24/stable", 1100),
            app("kfp-api", "kfp-api", "2.5/stable", 1000),
            app("mysql", "mysql-k8s", "8.0/stable", 127),
            // Deployed from a file: Juju reports no channel.
            app("ckf-migrator", "ckf-migrator", "", 3),
        ] {
            status.applications.insert(a.name.clone(), a);
        }
        status.relations = vec![
            juju::Relation {
                endpoints: vec![
                    end("kfp-api", "relational-db", "requirer"),
                    end("mysql", "database", "provider"),
                ],
                ..juju::Relation::default()
            },
            juju::Relation {
                endpoints: vec![end("mysql", "database-peers", "peer")],
                ..juju::Relation::default()
            },
        ];
        let configs = BTreeMap::from([(
            "istio-pilot".to_string(),
            ApplicationConfig {
                application: "istio-pilot".into(),
                trust: true,
                options: BTreeMap::from([
                    (
                        "default-gateway".to_string(),
                        option(serde_json::json!("kubeflow-gateway"), "user"),
                    ),
                    ("replicas".to_string(), option(serde_json::json!(2), "user")),
                    (
                        "image".to_string(),
                        option(serde_json::json!("istio/pilot"), "default"),
                    ),
                ]),
                ..ApplicationConfig::default()
            },
        )]);
        (status, configs)
    }

    #[test]
    fn what_the_writer_writes_the_reader_reads_back() {
        let (status, configs) = model();
        let taken: jiff::Timestamp = "2026-11-25T09:05:03.5Z".parse().expect("time");
        let yaml =
            serde_yaml::to_string(&document(&status, &configs, UUID, taken)).expect("encodes");
        let this = ModelIdentity {
            name: "kubeflow".into(),
            uuid: UUID.into(),
        };

        let backup = parse("ckf-migrator-backup-20261125-090503", &yaml, &this).expect("reads");

        assert_eq!(backup.format, FORMAT);
        assert_eq!(backup.model_uuid.as_deref(), Some(UUID));
        assert_eq!(backup.taken, taken);
        let pilot = &backup.applications["istio-pilot"];
        assert_eq!(
            pilot.channel.as_ref().map(ToString::to_string).as_deref(),
            Some("1.24/stable")
        );
        assert_eq!(pilot.revision, Some(1100));
        assert!(pilot.trust);
        assert_eq!(
            pilot.config.get("default-gateway"),
            Some("kubeflow-gateway")
        );
        assert_eq!(pilot.config.get("replicas"), Some("2"));
        assert_eq!(
            pilot.config.get("image"),
            None,
            "defaults are not backed up"
        );
        assert_eq!(
            pilot.base.as_ref().map(|b| b.channel.as_str()),
            Some("22.04")
        );
        assert_eq!(backup.applications["ckf-migrator"].channel, None);
        assert_eq!(backup.applications["ckf-migrator"].revision, Some(3));
        assert_eq!(backup.applications["mysql"].charm, "mysql-k8s");
        assert!(!backup.applications["mysql"].trust);
        let relations: Vec<String> = backup.relations.iter().map(Relation::to_string).collect();
        assert_eq!(
            relations,
            [
                "kfp-api:relational-db mysql:database",
                "mysql:database-peers"
            ]
        );
        assert!(backup.relations[1].is_peer());
    }

    #[test]
    fn a_cross_model_relation_is_written_with_the_offer_it_reaches() {
        let (mut status, configs) = model();
        status.remote_applications.insert(
            "prometheus".into(),
            juju::RemoteApplication {
                name: "prometheus".into(),
                offer_url: "cos-ctrl:admin/cos.prometheus".into(),
            },
        );
        status.relations.push(juju::Relation {
            endpoints: vec![
                end("kfp-api", "metrics-endpoint", "requirer"),
                end("prometheus", "metrics-endpoint", "provider"),
            ],
            ..juju::Relation::default()
        });
        let taken: jiff::Timestamp = "2026-11-25T09:05:03Z".parse().expect("time");
        let yaml =
            serde_yaml::to_string(&document(&status, &configs, UUID, taken)).expect("encodes");
        let this = ModelIdentity {
            name: "kubeflow".into(),
            uuid: UUID.into(),
        };

        let backup = parse("b", &yaml, &this).expect("a backup with a cross-model relation reads");

        assert_eq!(
            backup.remote_applications["prometheus"].offer_url,
            "cos-ctrl:admin/cos.prometheus"
        );
        assert!(
            backup
                .relations
                .iter()
                .any(|r| r.to_string() == "kfp-api:metrics-endpoint prometheus:metrics-endpoint")
        );
    }

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
