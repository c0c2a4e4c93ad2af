//! `restore` against the twin: after a real migration, the model goes back to exactly the CKF 1.11
//! deployment it was (applications, charms, channels, revisions, config, trust, scale, relations),
//! a second restore changes nothing, and a migration works again afterwards.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use ckf_sim::Twin;
use ckf_sim::model::Life;
use common::Dispatch;
use common::twin::{Twinned, start};
use serde_json::Value;

/// One application as the comparison sees it: everything a backup holds.
#[derive(Debug, Clone, PartialEq)]
struct Shape {
    charm: String,
    channel: String,
    revision: i64,
    user_config: BTreeMap<String, Value>,
    trust: bool,
    units: usize,
}

/// The model as a backup describes it: applications, and every live relation as its key.
fn model_shape(t: &Twinned) -> (BTreeMap<String, Shape>, BTreeSet<String>) {
    let model = t.sim.model();
    let apps = model
        .applications()
        .into_iter()
        .map(|a| {
            (
                a.name.clone(),
                Shape {
                    charm: a.charm,
                    channel: a.channel,
                    revision: a.revision,
                    user_config: a.user_config,
                    trust: a.trust,
                    units: a.units.len(),
                },
            )
        })
        .collect();
    let relations = model
        .relations()
        .into_iter()
        .filter(|r| r.life == Life::Alive)
        .map(|r| r.key)
        .collect();
    (apps, relations)
}

/// `restore` as Juju enqueues it, for `backup` (empty: the default).
fn restore(t: &Twinned, backup: &str) -> Dispatch {
    t.unit(
        Dispatch::action("restore")
            .param("backup", backup)
            .param("dry-run", false)
            .param("timeout", 60),
    )
}

/// Names of the profile namespaces whose label says sidecar injection is on.
fn injected_namespaces(t: &Twinned) -> Vec<String> {
    t.sim
        .store()
        .list("v1", "Namespace", None, Some("istio-injection=enabled"))
        .into_iter()
        .filter_map(|ns| {
            ns.pointer("/metadata/name")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect()
}

/// Pods of the namespaces labelled for injection that lack the sidecar (`namespace/pod`).
fn pods_without_sidecar(t: &Twinned) -> Vec<String> {
    injected_namespaces(t)
        .iter()
        .flat_map(|ns| t.sim.store().list("v1", "Pod", Some(ns), None))
        .filter(|p| {
            p.pointer("/metadata/annotations/sidecar.istio.io~1status")
                .is_none()
        })
        .filter_map(|p| {
            let name = p.pointer("/metadata/name")?.as_str()?;
            let ns = p.pointer("/metadata/namespace")?.as_str()?;
            Some(format!("{ns}/{name}"))
        })
        .collect()
}

/// Takes the sidecar out of one pod of a namespace labelled for injection, as if it had been
/// recreated while no injector ran; returns `namespace/pod`.
fn strip_sidecar(t: &Twinned) -> String {
    let store = t.sim.store();
    let pod = injected_namespaces(t)
        .iter()
        .flat_map(|ns| store.list("v1", "Pod", Some(ns), None))
        .next()
        .expect("a pod in a profile namespace");
    let ns = pod["metadata"]["namespace"]
        .as_str()
        .expect("namespace")
        .to_string();
    let name = pod["metadata"]["name"].as_str().expect("name").to_string();
    let containers: Vec<Value> = pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["name"] != "istio-proxy")
        .cloned()
        .collect();
    store
        .patch_merge(
            "v1",
            "Pod",
            Some(&ns),
            &name,
            serde_json::json!({
                "metadata": {"annotations": {"sidecar.istio.io/status": null}},
                "spec": {"initContainers": [], "containers": containers},
            }),
        )
        .expect("pod patched");
    assert_eq!(pods_without_sidecar(t), [format!("{ns}/{name}")]);
    format!("{ns}/{name}")
}

#[tokio::test]
async fn after_a_migration_restore_returns_the_model_to_its_backup_exactly_and_migrate_works_again()
{
    let t = start(Twin::ckf_1_11()).await;
    let before = model_shape(&t);
    let injected_before = injected_namespaces(&t);
    assert!(!injected_before.is_empty(), "the fixture injects sidecars");
    let migrated = t.migrate().run().await;
    migrated.assert_succeeded();
    let backup = migrated.result("backup").expect("a backup").to_string();
    assert_ne!(model_shape(&t), before, "the migration changed the model");

    let run = restore(&t, "").run().await;

    run.assert_succeeded();
    assert_eq!(run.result("result"), Some("restored"));
    assert_eq!(run.result("backup"), Some(backup.as_str()));
    let saved = run
        .result("saved-state")
        .expect("the replaced state is saved");
    assert!(saved.starts_with("ckf-migrator-backup-") && saved != backup);
    let (apps, relations) = model_shape(&t);
    for (name, then) in &before.0 {
        assert_eq!(apps.get(name), Some(then), "{name} is back as it was");
    }
    assert_eq!(
        apps.keys().collect::<Vec<_>>(),
        before.0.keys().collect::<Vec<_>>(),
        "the same applications, no more"
    );
    assert_eq!(relations, before.1, "the same relations");
    assert_eq!(
        injected_namespaces(&t),
        injected_before,
        "profile namespaces labelled for injection again"
    );
    assert_eq!(
        pods_without_sidecar(&t),
        Vec::<String>::new(),
        "their pods recreated with sidecars"
    );
    // Every change was reported as a command without a backed-up value in it.
    let applied: u64 = run
        .result("applied")
        .and_then(|n| n.parse().ok())
        .expect("applied");
    assert!(applied > 0);

    // A second restore finds nothing to do and writes nothing.
    let (juju_writes, kube_writes) = (t.juju_writes(), t.kube_writes());
    let again = restore(&t, &backup).run().await;
    again.assert_succeeded();
    assert_eq!(again.result("result"), Some("already-restored"));
    assert_eq!(t.juju_writes(), juju_writes, "no Juju write");
    assert_eq!(t.kube_writes(), kube_writes, "no Kubernetes write");

    // A model equal to its backup whose pods have not all got their sidecar back (a restore
    // stopped while it restarted them) is not already restored: the next restore finishes it.
    let stripped = strip_sidecar(&t);
    let finished = restore(&t, &backup).run().await;
    finished.assert_succeeded();
    assert_eq!(finished.result("result"), Some("restored"), "{stripped}");
    assert_eq!(pods_without_sidecar(&t), Vec::<String>::new());

    // And the way forward is open again.
    let forward = t.migrate().run().await;
    forward.assert_succeeded();
    assert_eq!(forward.result("result"), Some("migrated"));
    t.assert_schema_clean();
}

/// A migration killed (SIGKILL, as a pod eviction) while `phase` runs leaves a half-migrated
/// model; restore takes it back to exactly the CKF 1.11 deployment it was.
async fn restore_after_a_migration_killed_in(phase: &str) {
    let t = start(Twin::ckf_1_11().timing(0.02)).await;
    let before = model_shape(&t);
    let marker = phase.to_string();
    t.migrate()
        .kill_when(move |state| state.unit_status.message.ends_with(&marker))
        .await;
    assert_ne!(model_shape(&t), before, "the migration changed something");

    let run = restore(&t, "").run().await;

    run.assert_succeeded();
    assert_eq!(run.result("result"), Some("restored"));
    assert_eq!(model_shape(&t), before, "back as it was");
    t.assert_schema_clean();
}

#[tokio::test]
async fn restore_after_a_migration_killed_while_istio_pilot_is_removed() {
    restore_after_a_migration_killed_in("remove-istio-pilot").await;
}

#[tokio::test]
async fn restore_after_a_migration_killed_while_istio_deploys() {
    restore_after_a_migration_killed_in("deploy-istio").await;
}

#[tokio::test]
async fn restore_after_a_migration_killed_in_the_refreshes() {
    restore_after_a_migration_killed_in("refresh").await;
}

#[tokio::test]
async fn restore_after_a_migration_killed_while_the_charms_join_the_mesh() {
    restore_after_a_migration_killed_in("mesh").await;
}

#[tokio::test]
async fn a_restore_stopped_by_sigterm_resumes_where_it_stopped() {
    let t = start(Twin::ckf_1_11().timing(0.02)).await;
    let before = model_shape(&t);
    t.migrate().run().await.assert_succeeded();

    let stopped = restore(&t, "")
        .signal_when("TERM", |state| {
            state.unit_status.message.starts_with("restoring: ")
                && state.unit_status.message.ends_with(" refresh")
        })
        .await;

    assert_eq!(stopped.result("result"), Some("failed"));
    assert_eq!(stopped.result("interrupted-by"), Some("SIGTERM"));
    let failure = stopped.failure();
    assert!(
        failure.starts_with("restore stopped at refresh: interrupted by SIGTERM while ")
            && failure.contains("re-run `juju run ckf-migrator/0 restore`"),
        "{failure}"
    );
    let resumed = restore(&t, "").run().await;
    resumed.assert_succeeded();
    assert_eq!(resumed.result("result"), Some("restored"));
    assert_eq!(model_shape(&t), before);
}

#[tokio::test]
async fn a_revision_the_store_no_longer_serves_is_refused_naming_it_and_nothing_changes() {
    let t = start(Twin::ckf_1_11()).await;
    let migrated = t.migrate().run().await;
    migrated.assert_succeeded();
    let backup = migrated.result("backup").expect("a backup").to_string();
    // The backup as a store that has since dropped kfp-api's revision would leave it.
    let store = t.sim.store();
    let config_map = store
        .get("v1", "ConfigMap", Some("kubeflow"), &backup)
        .expect("the backup");
    let text = config_map["data"][ckf_migrator::backup::DATA_KEY]
        .as_str()
        .expect("the document");
    let mut document: serde_yaml::Value = serde_yaml::from_str(text).expect("yaml");
    document["applications"]["kfp-api"]["revision"] = serde_yaml::Value::from(9999);
    store
        .patch_merge(
            "v1",
            "ConfigMap",
            Some("kubeflow"),
            &backup,
            serde_json::json!({"data": {
                ckf_migrator::backup::DATA_KEY: serde_yaml::to_string(&document).expect("yaml")
            }}),
        )
        .expect("backup edited");
    let (juju_writes, kube_writes) = (t.juju_writes(), t.kube_writes());

    let run = restore(&t, &backup).run().await;

    assert!(!run.succeeded());
    assert_eq!(run.result("failed-step"), Some("preflight"));
    let error = run.result("error").unwrap_or_default();
    assert!(
        error.contains("kfp-api: the store does not serve kfp-api revision 9999 on ")
            && error.contains("charm or bundle not found")
            && error.ends_with("nothing was changed"),
        "{error}"
    );
    assert_eq!(t.juju_writes(), juju_writes, "no Juju write");
    assert_eq!(t.kube_writes(), kube_writes, "no Kubernetes write");
    t.assert_schema_clean();
}
