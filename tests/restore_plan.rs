//! `ckf-migrator restore --dry-run` against the twin: after a real migration, the way back to the
//! backup it took, as commands in a safe order; nothing written; no config value printed.

mod common;

use std::time::Duration;

use ckf_migrator::backup;
use ckf_sim::Twin;
use common::Dispatch;
use common::twin::{Twinned, start};

/// Every CLI run in these tests is bounded by this.
const LIMIT: Duration = Duration::from_secs(120);

struct Output {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

async fn cli(t: &Twinned, args: &[&str]) -> Output {
    let output = tokio::time::timeout(LIMIT, t.cli(args).output())
        .await
        .expect("the CLI ends in time")
        .expect("the CLI runs");
    Output {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The lines of the `commands:` block.
fn commands(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .skip_while(|l| *l != "commands:")
        .skip(1)
        .map(|l| l.trim().to_string())
        .collect()
}

/// Index of the first line starting with `prefix`, or a failure that shows them all.
fn at(lines: &[String], prefix: &str) -> usize {
    lines
        .iter()
        .position(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting with {prefix:?} in:\n{}", lines.join("\n")))
}

/// Backs the twin's model up as it is now, as migrate-to-ambient would; returns the ConfigMap.
async fn back_up(t: &Twinned) -> String {
    let session = t.session().await;
    let status = session.juju.full_status().await.expect("status");
    backup::write(&session, &status, 4)
        .await
        .expect("backup written")
}

/// The charm's `restore` action with dry-run, for `backup` (empty: the default).
async fn restore_action(t: &Twinned, backup: &str) -> common::Run {
    t.unit(
        Dispatch::action("restore")
            .param("backup", backup)
            .param("dry-run", true),
    )
    .run()
    .await
}

#[tokio::test]
async fn after_a_migration_the_plan_goes_back_to_the_backup_in_a_safe_order_and_writes_nothing() {
    let t = start(Twin::ckf_1_11()).await;
    // `option=value` as a command would carry it (values alone, like `kubeflow`, are also names).
    let settings: Vec<String> = t
        .sim
        .model()
        .applications()
        .into_iter()
        .flat_map(|a| a.user_config.into_iter())
        .map(|(option, value)| match value {
            serde_json::Value::String(s) => format!("{option}={s}"),
            other => format!("{option}={other}"),
        })
        .collect();
    assert!(
        !settings.is_empty(),
        "the twin has user config, so the test covers its values"
    );
    let run = t.migrate().run().await;
    run.assert_succeeded();
    let written = run.result("backup").expect("a backup is named").to_string();
    let (juju_writes, kube_writes) = (t.juju_writes(), t.kube_writes());

    let out = cli(&t, &["restore", "--dry-run"]).await;

    assert_eq!(out.code, Some(0), "stderr: {}", out.stderr);
    assert!(
        out.stdout.starts_with("result: planned\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!("backup: {written}\n")),
        "{}",
        out.stdout
    );
    let lines = commands(&out.stdout);
    let leave = at(&lines, "# leave-ambient:");
    let unrelate_beacon = at(&lines, "juju remove-relation istio-beacon-k8s:service-mesh");
    let reset_profiles = at(&lines, "juju config kubeflow-profiles --reset");
    let remove_ingress = at(&lines, "juju remove-application istio-ingress-k8s");
    let remove_istio = at(&lines, "juju remove-application istio-k8s");
    let deploy_pilot = at(&lines, "juju deploy istio-pilot ");
    let refresh_kfp = at(
        &lines,
        "juju refresh kfp-api --channel 2.15/stable --revision ",
    );
    let deploy_operator = at(&lines, "juju deploy knative-operator ");
    let deploy_serving = at(&lines, "juju deploy knative-serving ");
    let relate = at(&lines, "juju integrate ");
    assert!(leave < unrelate_beacon && unrelate_beacon < remove_ingress);
    assert!(
        reset_profiles < remove_ingress,
        "the mesh config goes while the charm knows it"
    );
    assert!(remove_ingress < remove_istio && remove_istio < deploy_pilot);
    assert!(deploy_pilot < refresh_kfp && refresh_kfp < deploy_operator);
    assert!(deploy_operator < deploy_serving && deploy_serving < relate);
    assert!(
        lines[reset_profiles].contains("service-mesh-mode"),
        "{}",
        lines[reset_profiles]
    );
    assert!(
        lines[deploy_pilot].contains(" --revision ") && lines[deploy_pilot].contains(" --trust"),
        "istio-pilot comes back at its revision, trusted: {}",
        lines[deploy_pilot]
    );
    assert!(
        !lines.iter().any(|l| l.contains("ckf-migrator")),
        "the charm running the restore is left alone"
    );
    for setting in &settings {
        assert!(
            !out.stdout.contains(setting.as_str()) && !out.stderr.contains(setting.as_str()),
            "a backed-up config value was printed: {}",
            setting.split('=').next().unwrap_or_default()
        );
    }
    assert_eq!(
        t.juju_writes(),
        juju_writes,
        "restore --dry-run changes nothing in Juju"
    );
    assert_eq!(t.kube_writes(), kube_writes, "nor in Kubernetes");

    // The charm's action plans the same, in its results.
    let action = restore_action(&t, "").await;
    action.assert_succeeded();
    assert_eq!(action.result("result"), Some("planned"));
    assert_eq!(action.result("backup"), Some(written.as_str()));
    let from_action: Vec<String> = action
        .result("commands")
        .expect("commands")
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(from_action, lines, "the action and the CLI plan alike");
    assert_eq!(
        t.juju_writes(),
        juju_writes,
        "the action changes nothing either"
    );
    assert_eq!(t.kube_writes(), kube_writes);
    t.assert_schema_clean();
}

#[tokio::test]
async fn the_action_names_the_backups_there_are_when_the_one_asked_for_is_missing() {
    let t = start(Twin::ckf_1_11()).await;
    let name = back_up(&t).await;

    let run = restore_action(&t, "ckf-migrator-backup-20000101-000000").await;

    assert!(!run.succeeded());
    assert_eq!(run.result("result"), Some("failed"));
    let error = run.result("error").unwrap_or_default();
    assert!(
        error.contains("no backup ConfigMap ckf-migrator-backup-20000101-000000")
            && error.contains(&name),
        "{error}"
    );
}

#[tokio::test]
async fn a_model_equal_to_its_backup_is_already_restored() {
    let t = start(Twin::ckf_1_11()).await;
    let name = back_up(&t).await;
    let writes = t.juju_writes();

    let out = cli(&t, &["restore", "--dry-run", "--backup", &name]).await;

    assert_eq!(out.code, Some(0), "stderr: {}", out.stderr);
    assert_eq!(
        out.stdout,
        format!("result: already-restored\nbackup: {name}\n")
    );
    assert_eq!(t.juju_writes(), writes);
}

#[tokio::test]
async fn without_a_backup_restore_and_its_dry_run_refuse_and_change_nothing() {
    let t = start(Twin::ckf_1_11()).await;

    let none = cli(&t, &["restore", "--dry-run"]).await;
    assert_eq!(none.code, Some(1));
    assert!(
        none.stderr
            .contains("no ckf-migrator backup in namespace kubeflow"),
        "{}",
        none.stderr
    );

    let applied = cli(&t, &["restore"]).await;
    assert_eq!(applied.code, Some(1));
    assert!(
        applied.stdout.contains("failed-step: preflight")
            && applied
                .stderr
                .contains("no ckf-migrator backup in namespace kubeflow")
            && applied.stderr.contains("nothing was changed"),
        "{}\n{}",
        applied.stdout,
        applied.stderr
    );
    assert_eq!(t.juju_writes(), 0);
    assert_eq!(t.kube_writes(), 0);
}

#[tokio::test]
async fn by_default_the_newest_backup_in_sidecar_mode_is_restored_and_newer_ones_are_named() {
    let t = start(Twin::ckf_1_11()).await;
    let run = t.migrate().run().await;
    run.assert_succeeded();
    let before = run.result("backup").expect("a backup is named").to_string();
    // A backup of the migrated model, as a resumed migration would take of a half-migrated one.
    let after = back_up(&t).await;

    let out = cli(&t, &["restore", "--dry-run"]).await;

    assert_eq!(out.code, Some(0), "stderr: {}", out.stderr);
    assert!(
        out.stdout.contains(&format!("backup: {before}\n")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!(
            "passed-over: {after} (taken after the migration began"
        )),
        "{}",
        out.stdout
    );

    // Named, it is restored as asked: the model already equals it.
    let named = cli(&t, &["restore", "--dry-run", "--backup", &after]).await;
    assert_eq!(named.code, Some(0), "stderr: {}", named.stderr);
    assert!(
        named.stdout.starts_with("result: already-restored\n"),
        "{}",
        named.stdout
    );
}

#[tokio::test]
async fn without_a_backup_in_sidecar_mode_restore_asks_for_one_by_name() {
    let t = start(Twin::ckf_1_11().migrated()).await;
    let name = back_up(&t).await;

    let out = cli(&t, &["restore", "--dry-run"]).await;

    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr
            .contains("no backup of this model shows it in sidecar mode")
            && out.stderr.contains(&name)
            && out.stderr.contains("--backup NAME"),
        "{}",
        out.stderr
    );
}
