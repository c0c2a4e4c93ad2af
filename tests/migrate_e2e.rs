//! migrate-to-ambient end to end: the real binary as Juju runs it, against the twin.
//!
//! What "migrated" means is read from the guide itself (the twin parses its commands), not from
//! ckf-migrator's plan, so the plan is checked against an independent statement of the target.

mod common;

use std::collections::BTreeSet;

use ckf_sim::Twin;
use ckf_sim::fixtures::guide::{self, Step};
use ckf_sim::model::AppView;
use common::twin::{Twinned, start};
use serde_json::{Value, json};

const LEGACY_CHARMS: [&str; 5] = [
    "istio-pilot",
    "istio-gateway",
    "knative-serving",
    "knative-eventing",
    "knative-operator",
];

fn app(t: &Twinned, name: &str) -> AppView {
    t.sim
        .model()
        .application(name)
        .unwrap_or_else(|| panic!("{name} is in the model"))
}

fn related(t: &Twinned, a: &str, b: &str) -> bool {
    let split = |e: &str| {
        e.split_once(':')
            .map(|(a, e)| (a.to_string(), Some(e.to_string())))
            .unwrap_or((e.to_string(), None))
    };
    let (a_app, a_ep) = split(a);
    let (b_app, b_ep) = split(b);
    t.sim.model().relations().iter().any(|r| {
        let ends: Vec<(String, String)> = r
            .endpoints
            .iter()
            .map(|e| (e.application.clone(), e.name.clone()))
            .collect();
        let matches = |(app, ep): &(String, Option<String>), end: &(String, String)| {
            &end.0 == app && ep.as_ref().is_none_or(|ep| ep == &end.1)
        };
        ends.len() == 2
            && ((matches(&(a_app.clone(), a_ep.clone()), &ends[0])
                && matches(&(b_app.clone(), b_ep.clone()), &ends[1]))
                || (matches(&(a_app.clone(), a_ep.clone()), &ends[1])
                    && matches(&(b_app.clone(), b_ep.clone()), &ends[0])))
    })
}

fn sidecar_pods(t: &Twinned, namespace: &str, label: &str) -> Vec<String> {
    t.sim
        .store()
        .list("v1", "Pod", Some(namespace), Some(label))
        .into_iter()
        .filter(|p| {
            p.pointer("/metadata/annotations/sidecar.istio.io~1status")
                .is_some()
        })
        .filter_map(|p| {
            p.pointer("/metadata/name")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect()
}

/// Asserts the model and cluster are what the guide (plus what it misses) makes of CKF 1.11.
fn assert_migrated(t: &Twinned) {
    let model = t.sim.model();
    let apps = model.applications();
    let legacy: Vec<&str> = apps
        .iter()
        .filter(|a| LEGACY_CHARMS.contains(&a.charm.as_str()))
        .map(|a| a.name.as_str())
        .collect();
    assert!(legacy.is_empty(), "legacy applications left: {legacy:?}");
    let canonical = t.sim.twin().flavour == ckf_sim::fixtures::Flavour::CanonicalK8s;
    let present: BTreeSet<String> = apps.iter().map(|a| a.name.clone()).collect();
    for step in guide::steps(canonical) {
        match step {
            Step::Deploy {
                charm,
                channel,
                trust,
                config,
            } => {
                let a = app(t, &charm);
                assert_eq!(
                    (a.channel.as_str(), a.trust),
                    (channel.as_str(), trust),
                    "{charm} deployed as the guide says"
                );
                for (k, v) in config {
                    assert_eq!(
                        a.config_strings().get(&k).map(String::as_str),
                        Some(v.as_str()),
                        "{charm} config {k}"
                    );
                }
            }
            Step::Refresh {
                app: name,
                channel,
                trust,
            } if present.contains(&name) => {
                let a = app(t, &name);
                assert_eq!(a.channel, channel, "{name} refreshed");
                if trust {
                    assert!(a.trust, "{name} trusted");
                }
                for resource in &a.release.resources {
                    assert_eq!(
                        a.resources.get(&resource.name),
                        Some(&resource.revision),
                        "{name}: resource {} upgraded",
                        resource.name
                    );
                }
                assert!(
                    a.units
                        .iter()
                        .all(|u| u.workload.status.to_string() == "active"),
                    "{name} active"
                );
            }
            Step::Integrate { a, b } => {
                let apps = [
                    a.split(':').next().unwrap_or(&a),
                    b.split(':').next().unwrap_or(&b),
                ];
                if apps.iter().all(|x| present.contains(*x)) {
                    assert!(related(t, &a, &b), "{a} related to {b}");
                }
            }
            Step::Config {
                app: name,
                key,
                value,
            } if present.contains(&name) => {
                assert_eq!(
                    app(t, &name).config_strings().get(&key),
                    Some(&value),
                    "{name} {key}"
                );
            }
            _ => {}
        }
    }
    assert!(
        related(
            t,
            "pvcviewer-operator:gateway-metadata",
            "istio-ingress-k8s:gateway-metadata"
        ),
        "beyond the guide"
    );
    let blocked: Vec<String> = model
        .applications()
        .iter()
        .filter(|a| {
            a.units
                .iter()
                .any(|u| u.workload.status.to_string() != "active")
        })
        .map(|a| format!("{}: {:?}", a.name, a.units.first().map(|u| &u.workload)))
        .collect();
    assert!(blocked.is_empty(), "every application active: {blocked:?}");
    for ns in t.sim.twin().profile_names() {
        for label in [
            "app=ml-pipeline-ui-artifact",
            "app=ml-pipeline-visualizationserver",
        ] {
            assert!(
                sidecar_pods(t, &ns, label).is_empty(),
                "{label} in {ns} recycled"
            );
        }
    }
    t.assert_schema_clean();
}

#[tokio::test]
async fn ckf_1_11_on_microk8s_migrates_to_the_guides_target() {
    let t = start(Twin::ckf_1_11()).await;

    let run = t.migrate().run().await;

    run.assert_succeeded();
    assert_eq!(run.result("result"), Some("migrated"));
    assert_migrated(&t);
    assert_eq!(
        app(&t, "istio-k8s")
            .config_strings()
            .get("platform")
            .map(String::as_str),
        Some("microk8s")
    );
    let backup = run.result("backup").expect("a backup is named");
    let cm = t
        .sim
        .store()
        .get("v1", "ConfigMap", Some("kubeflow"), backup)
        .expect("the backup ConfigMap exists");
    assert!(
        cm["data"]["model.yaml"]
            .as_str()
            .is_some_and(|y| y.contains("istio-pilot")),
        "the backup holds the old model"
    );
    assert!(
        run.logs()
            .iter()
            .any(|l| l.starts_with("phase 1/9: remove-istio-gateway")),
        "{:?}",
        run.logs()
    );
    assert!(
        run.statuses()
            .iter()
            .any(|s| s.status == "maintenance" && s.message == "migrating: phase 7/9 refresh")
    );
    assert!(
        run.last_status_text().contains("migrated to ambient at"),
        "{}",
        run.last_status_text()
    );
}

#[tokio::test]
async fn ckf_1_11_on_canonical_k8s_configures_cilium_and_an_empty_platform() {
    let t = start(Twin::ckf_1_11().canonical_k8s()).await;

    let run = t.migrate().run().await;

    run.assert_succeeded();
    assert_migrated(&t);
    assert_eq!(
        app(&t, "istio-k8s")
            .config_strings()
            .get("platform")
            .map(String::as_str),
        Some("")
    );
    let cilium = t
        .sim
        .store()
        .get("v1", "ConfigMap", Some("kube-system"), "cilium-config")
        .expect("cilium-config");
    assert_eq!(cilium["data"]["bpf-lb-sock-hostns-only"], "true");
    assert_eq!(cilium["data"]["cni-exclusive"], "false");
    let ds = t
        .sim
        .store()
        .get("apps/v1", "DaemonSet", Some("kube-system"), "cilium")
        .expect("cilium");
    assert!(
        ds.pointer("/spec/template/metadata/annotations/kubectl.kubernetes.io~1restartedAt")
            .is_some(),
        "cilium restarted"
    );
}

#[tokio::test]
async fn optional_components_that_are_absent_are_skipped_and_reported() {
    let t = start(Twin::ckf_1_11().without_katib().without_kserve()).await;

    let run = t.migrate().run().await;

    run.assert_succeeded();
    assert_migrated(&t);
    let skipped = run.result("skipped-facts").unwrap_or_default();
    for missing in ["katib-controller", "katib-ui", "kserve-controller"] {
        assert!(
            skipped.contains(&format!("{missing} is not in the model")),
            "{missing} reported: {skipped}"
        );
    }
    assert!(
        t.sim.model().application("katib-ui").is_none(),
        "nothing invented"
    );
}

#[tokio::test]
async fn a_serverless_inference_service_is_refused_unless_its_loss_is_allowed() {
    let t = start(Twin::ckf_1_11().with_serverless_isvc()).await;

    let refused = t.migrate().run().await;

    assert_eq!(refused.result("result"), Some("failed"));
    assert_eq!(refused.result("failed-step"), Some("preflight"));
    assert!(
        refused.failure().contains("admin/sklearn-iris"),
        "{}",
        refused.failure()
    );
    assert!(
        refused.failure().contains("allow-serverless-loss=true"),
        "{}",
        refused.failure()
    );
    assert_eq!(t.juju_writes(), 0, "nothing changed in Juju");
    assert_eq!(t.kube_writes(), 0, "nothing changed in the cluster");

    let allowed = t.migrate().param("allow-serverless-loss", true).run().await;

    // Every change is made, and verify says honestly what the operator allowed to break.
    assert_migrated(&t);
    assert_eq!(allowed.result("result"), Some("incomplete"));
    assert_eq!(
        allowed.result("failed-checks"),
        Some("no-serverless-inferenceservices")
    );
    assert!(
        allowed.failure().contains("admin/sklearn-iris"),
        "{}",
        allowed.failure()
    );
}

#[tokio::test]
async fn dry_run_lists_the_guides_commands_and_writes_nothing() {
    let t = start(Twin::ckf_1_11()).await;

    let run = t.migrate().param("dry-run", true).run().await;

    run.assert_succeeded();
    assert_eq!(run.result("result"), Some("planned"));
    let commands = run.result("commands").expect("commands");
    for expected in [
        "juju remove-application --no-prompt istio-pilot",
        "juju deploy istio-k8s --trust --channel 2/edge --config platform=microk8s",
        "juju refresh minio --trust --channel 1.10/edge",
        "juju integrate pvcviewer-operator:gateway-metadata istio-ingress-k8s:gateway-metadata",
        "kubectl -n admin rollout restart deployment ml-pipeline-ui-artifact",
    ] {
        assert!(
            commands.lines().any(|l| l == expected),
            "dry-run lacks `{expected}`:\n{commands}"
        );
    }
    assert_eq!(t.juju_writes(), 0);
    assert_eq!(t.kube_writes(), 0, "not even a Lease");
}

#[tokio::test]
async fn a_second_run_on_a_migrated_model_changes_nothing() {
    let t = start(Twin::ckf_1_11()).await;
    t.migrate().run().await.assert_succeeded();
    let (juju, kube) = (t.juju_writes(), t.kube_writes());

    let again = t.migrate().run().await;

    again.assert_succeeded();
    assert_eq!(again.result("result"), Some("already-migrated"));
    assert_eq!(again.result("applied"), Some("0"));
    assert_eq!(
        (t.juju_writes(), t.kube_writes()),
        (juju, kube),
        "a migrated model is not touched"
    );
}

#[tokio::test]
async fn a_unit_in_error_stops_the_run_naming_it() {
    let t = start(Twin::ckf_1_11()).await;
    t.sim
        .model()
        .faults()
        .unit_error("kfp-api/0", "upgrade-charm")
        .expect("kfp-api/0 exists");

    let run = t.migrate().run().await;

    assert_eq!(run.result("result"), Some("failed"));
    assert_eq!(run.result("failed-step"), Some("refresh"));
    assert!(
        run.failure().contains("kfp-api/0 is in error"),
        "{}",
        run.failure()
    );
    assert!(
        run.last_status_text().starts_with("blocked"),
        "{}",
        run.last_status_text()
    );
}

#[tokio::test]
async fn a_second_concurrent_run_refuses() {
    let t = start(Twin::ckf_1_11()).await;
    let now = jiff::Timestamp::now().to_string();
    t.sim
        .store()
        .apply(json!({
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": { "name": "ckf-migrator", "namespace": "kubeflow" },
            "spec": { "holderIdentity": "cli:alice@workstation:4242", "leaseDurationSeconds": 60, "acquireTime": now, "renewTime": now }
        }))
        .expect("lease");

    let run = t.migrate().run().await;

    assert_eq!(run.result("failed-step"), Some("preflight"));
    assert!(
        run.failure().contains("another migration is running"),
        "{}",
        run.failure()
    );
    assert!(
        run.failure().contains("cli:alice@workstation:4242"),
        "{}",
        run.failure()
    );
    assert_eq!(t.juju_writes(), 0);
}

#[tokio::test]
async fn only_the_leader_migrates() {
    let t = start(Twin::ckf_1_11()).await;

    let run = t.migrate().leader(false).run().await;

    assert_eq!(run.result("failed-step"), Some("preflight"));
    assert!(
        run.failure().contains("only the leader unit migrates"),
        "{}",
        run.failure()
    );
    assert_eq!(t.juju_writes(), 0);
}

#[tokio::test]
async fn wrong_credentials_fail_with_a_clear_sentence_and_leak_nothing() {
    let t = start(Twin::ckf_1_11()).await;

    let run = t
        .migrate()
        .credentials(common::SECRET_URI, "admin", "not-the-password-4711")
        .run()
        .await;

    assert!(!run.succeeded());
    assert!(
        run.failure().contains("invalid entity name or password"),
        "{}",
        run.failure()
    );
    assert!(
        !run.everything_said().contains("not-the-password-4711"),
        "the password leaked"
    );
    assert_eq!(t.juju_writes(), 0);
}

#[tokio::test]
async fn the_password_reaches_no_hook_tool_argument_and_no_log() {
    let t = start(Twin::ckf_1_11()).await;

    let run = t.migrate().run().await;

    run.assert_succeeded();
    let password = t.sim.admin_password();
    assert!(
        run.argv_all()
            .iter()
            .flatten()
            .all(|a| !a.contains(password)),
        "password on a command line"
    );
    assert!(
        !run.everything_said().contains(password),
        "password in a log or result"
    );
}

/// A run killed while a phase waits, then run again, ends where an uninterrupted run would.
/// `hold` keeps one application of the phase from settling, so the kill lands inside it.
async fn killed_while(phase: &str, hold: Option<&str>) {
    // Slow enough that a phase lasts longer than the harness's 20 ms look at the unit's status.
    let t = start(Twin::ckf_1_11().timing(0.02)).await;
    if let Some(app) = hold {
        t.sim.model().faults().hold_settling(app);
    }
    let marker = phase.to_string();
    let killed = t
        .migrate()
        .kill_when(move |state| state.unit_status.message.ends_with(&marker))
        .await;
    assert!(
        killed.statuses().iter().any(|s| s.message.ends_with(phase)),
        "killed in {phase}"
    );
    t.sim.model().faults().release_settling();

    let rerun = t.migrate().run().await;

    rerun.assert_succeeded();
    assert_eq!(rerun.result("result"), Some("migrated"));
    assert_migrated(&t);
}

#[tokio::test]
async fn a_run_killed_while_istio_pilot_is_removed_completes_on_rerun() {
    killed_while("remove-istio-pilot", Some("istio-pilot")).await;
}

#[tokio::test]
async fn a_run_killed_while_istio_deploys_completes_on_rerun() {
    killed_while("deploy-istio", Some("istio-k8s")).await;
}

#[tokio::test]
async fn a_run_killed_in_the_middle_of_the_refreshes_completes_on_rerun() {
    killed_while("refresh", Some("kfp-ui")).await;
}

#[tokio::test]
async fn a_run_killed_while_relations_settle_completes_on_rerun() {
    // Every application of this phase was refreshed or deployed before it: none can be held
    // without stopping an earlier phase, so the twin's pace alone keeps the run inside it.
    killed_while("mesh", None).await;
}

#[tokio::test]
async fn a_dropped_juju_connection_is_survived_or_resumed() {
    let t = start(Twin::ckf_1_11()).await;
    t.sim.model().faults().drop_connection_at(60);

    let first = t.migrate().run().await;
    if first.result("result") != Some("migrated") {
        t.migrate().run().await.assert_succeeded();
    }

    assert_migrated(&t);
}

#[tokio::test]
async fn kubernetes_answering_500_for_a_second_is_ridden_out() {
    let t = start(Twin::ckf_1_11()).await;
    t.sim.store().faults().inject(
        ckf_sim::kube::Fault::internal_error().for_duration(std::time::Duration::from_secs(1)),
    );

    let run = t.migrate().run().await;

    run.assert_succeeded();
    assert_eq!(run.result("result"), Some("migrated"));
    assert_migrated(&t);
}
