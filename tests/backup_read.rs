//! The backup read back over the twin's Kubernetes API: what migrate-to-ambient writes before its
//! first change is the model as the twin had it (taken from the twin's own state, not from
//! ckf-migrator's), and a backup of another model is refused.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use ckf_migrator::backup::{self, BACKUP_LABEL, Backup, DATA_KEY, ReadError, Relation};
use ckf_migrator::plan::EndpointRef;
use ckf_migrator::session::Session;
use ckf_sim::Twin;
use common::twin::start;
use serde_json::Value;

/// Every wait in these tests is bounded by this.
const LIMIT: Duration = Duration::from_secs(60);

async fn read(session: &Session, name: Option<&str>) -> Result<Backup, ReadError> {
    tokio::time::timeout(LIMIT, backup::read_backup(session, name))
        .await
        .expect("the backup is read in time")
}

/// Charm, channel, revision, trust, scale, base and user config of one application.
type Facts = (
    String,
    String,
    Option<u32>,
    bool,
    u32,
    Option<(String, String)>,
    BTreeMap<String, String>,
);

/// A config value as `juju config` prints it.
fn config_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[tokio::test]
async fn the_backup_migrate_takes_reads_back_as_the_model_before_it() {
    let t = start(Twin::ckf_1_11()).await;
    let before: BTreeMap<String, Facts> = t
        .sim
        .model()
        .applications()
        .into_iter()
        .map(|a| {
            let facts = (
                a.charm,
                a.channel,
                Some(u32::try_from(a.revision).expect("revision fits")),
                a.trust,
                u32::try_from(a.units.len()).expect("scale fits"),
                Some((a.base.name, a.base.channel)),
                a.user_config
                    .iter()
                    .map(|(k, v)| (k.clone(), config_text(v)))
                    .collect(),
            );
            (a.name, facts)
        })
        .collect();
    let relations_before: BTreeSet<Relation> = t
        .sim
        .model()
        .relations()
        .into_iter()
        .map(|r| {
            let mut ends = r.endpoints.into_iter().map(|e| EndpointRef {
                application: e.application,
                endpoint: e.name,
            });
            let first = ends.next().expect("a relation has an endpoint");
            match ends.next() {
                Some(second) => Relation::between(first, second),
                None => Relation::Peer(first),
            }
        })
        .collect();
    assert!(
        relations_before.iter().any(Relation::is_peer),
        "the twin has a peer relation, so the test covers one"
    );
    assert!(
        before.values().any(|f| f.3) && before.values().any(|f| !f.6.is_empty()),
        "the twin has trusted applications and user config, so the test covers them"
    );

    let run = t.migrate().run().await;
    run.assert_succeeded();
    let written = run.result("backup").expect("a backup is named").to_string();
    let session = t.session().await;
    let backup = read(&session, None).await.expect("the newest backup reads");

    assert_eq!(
        backup.config_map, written,
        "the newest backup is the one just written"
    );
    assert_eq!(backup.model, t.sim.model_name());
    assert_eq!(backup.model_uuid.as_deref(), Some(t.sim.model_uuid()));
    let after: BTreeMap<String, Facts> = backup
        .applications
        .values()
        .map(|a| {
            let facts = (
                a.charm.clone(),
                a.channel
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                a.revision,
                a.trust,
                a.scale,
                a.base.as_ref().map(|b| (b.name.clone(), b.channel.clone())),
                a.config.options().clone(),
            );
            (a.name.clone(), facts)
        })
        .collect();
    assert_eq!(after, before, "every application as the twin had it");
    let relations_after: BTreeSet<Relation> = backup.relations.iter().cloned().collect();
    assert_eq!(relations_after, relations_before, "every relation");
    assert_eq!(backup.relations.len(), relations_before.len(), "none twice");

    let named = read(&session, Some(&written))
        .await
        .expect("the named backup reads");
    assert_eq!(named, backup);
}

#[tokio::test]
async fn a_backup_of_another_model_is_refused_naming_both_models() {
    let t = start(Twin::ckf_1_11()).await;
    let run = t.migrate().run().await;
    run.assert_succeeded();
    let written = run.result("backup").expect("a backup is named").to_string();
    let session = t.session().await;
    let namespace = t.sim.model_name();
    let data = session
        .cluster
        .config_map_data(namespace, &written)
        .await
        .expect("read the backup ConfigMap")
        .expect("the backup ConfigMap exists");
    let yaml = data[DATA_KEY].replacen(
        &format!("\nmodel: {namespace}\n"),
        "\nmodel: kubeflow-staging\n",
        1,
    );
    assert!(yaml.contains("model: kubeflow-staging"), "{yaml}");
    // Newer than the real backup, as a copy from another cluster made later would be.
    let foreign = "ckf-migrator-backup-20991231-235959";
    session
        .cluster
        .create_config_map(
            namespace,
            foreign,
            BTreeMap::from([(BACKUP_LABEL.to_string(), "true".to_string())]),
            BTreeMap::from([(DATA_KEY.to_string(), yaml)]),
        )
        .await
        .expect("create the foreign backup");

    let newest = read(&session, None).await.expect_err("refused");
    let named = read(&session, Some(foreign)).await.expect_err("refused");

    for err in [&newest, &named] {
        assert!(err.is_foreign(), "{err}");
        let message = err.to_string();
        assert!(
            message.contains(foreign)
                && message.contains("\"kubeflow-staging\"")
                && message.contains(&format!("\"{namespace}\"")),
            "{message}"
        );
    }
    let real = read(&session, Some(&written))
        .await
        .expect("the real one still reads");
    assert_eq!(real.model, namespace);
}

#[tokio::test]
async fn without_a_backup_reading_says_restore_needs_one_and_a_missing_name_lists_the_others() {
    let t = start(Twin::ckf_1_11()).await;
    let session = t.session().await;

    let none = read(&session, None).await.expect_err("no backup yet");
    let missing = read(&session, Some("ckf-migrator-backup-20000101-000000"))
        .await
        .expect_err("no such backup");

    assert!(matches!(none, ReadError::NoBackup { .. }), "{none}");
    let empty = read(&session, Some("")).await.expect_err("no backup yet");
    assert!(
        matches!(empty, ReadError::NoBackup { .. }),
        "an empty name is the newest: {empty}"
    );
    let path = read(&session, Some("../secrets/x"))
        .await
        .expect_err("not a name");
    assert!(path.is_not_found(), "{path}");
    assert_eq!(
        none.to_string(),
        "no ckf-migrator backup in namespace kubeflow: migrate-to-ambient backs the model up before its first change, so either it has changed nothing here and there is nothing to go back from, or its backups were deleted (`kubectl get configmap -n kubeflow -l ckf-migrator.canonical.com/backup=true` lists them)"
    );
    assert!(missing.is_not_found(), "{missing}");
    assert!(
        missing
            .to_string()
            .ends_with("there is no ckf-migrator backup in it"),
        "{missing}"
    );
}
