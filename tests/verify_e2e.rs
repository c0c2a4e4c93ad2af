//! verify against the twin: the real Juju client, kube-rs and reqwest talking to ckf-sim on
//! loopback. A migrated twin passes every check; the untouched 1.11 twin and each broken variant
//! fail the check that should, with a message naming the object; verify never writes.

use std::collections::BTreeSet;
use std::time::Duration;

use ckf_migrator::cluster::Source;
use ckf_migrator::juju::{ConnectOptions, Credentials, Password};
use ckf_migrator::session::{Session, Target};
use ckf_migrator::verify::{self, Report, Verdict};
use ckf_sim::{ADMIN_USER, Sim, Twin};
use serde_json::json;

/// Every wait in these tests is bounded by this.
const LIMIT: Duration = Duration::from_secs(60);

/// A running twin and a session on it.
struct Running {
    sim: Sim,
    session: Session,
    _dir: tempfile::TempDir,
}

async fn start(twin: Twin) -> Running {
    let sim = tokio::time::timeout(LIMIT, Sim::start(twin))
        .await
        .expect("the twin starts in time")
        .expect("the twin starts");
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = sim.write_kubeconfig(dir.path()).expect("kubeconfig");
    let target = Target {
        juju: Credentials {
            addresses: vec![sim.juju_address()],
            model_uuid: sim.model_uuid().to_string(),
            username: ADMIN_USER.to_string(),
            password: Password::new(sim.admin_password()),
            ca_cert_pem: sim.juju_ca_pem().to_string(),
        },
        cluster: Source::Kubeconfig(kubeconfig),
        model_name: sim.model_name().to_string(),
        connect: ConnectOptions::default(),
    };
    let session = tokio::time::timeout(LIMIT, Session::open(&target))
        .await
        .expect("the session opens in time")
        .expect("the session opens");
    Running {
        sim,
        session,
        _dir: dir,
    }
}

impl Running {
    async fn verify(&self) -> Report {
        tokio::time::timeout(
            LIMIT,
            verify::run(&self.session, &verify::Options::default()),
        )
        .await
        .expect("verify finishes in time")
    }

    /// Makes the cluster follow a model change now, instead of on the follower's next event.
    fn settle(&self) {
        self.sim.sync();
    }
}

fn verdict<'a>(report: &'a Report, name: &str) -> &'a Verdict {
    &report
        .checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check {name} in\n{}", report.table()))
        .verdict
}

fn failed(report: &Report) -> BTreeSet<&str> {
    report
        .checks
        .iter()
        .filter(|c| matches!(c.verdict, Verdict::Fail(_)))
        .map(|c| c.name.as_str())
        .collect()
}

fn assert_fails_with(report: &Report, name: &str, needles: &[&str]) {
    match verdict(report, name) {
        Verdict::Fail(text) => {
            for needle in needles {
                assert!(text.contains(needle), "{name}: {needle:?} not in {text:?}");
            }
        }
        other => panic!("{name} should fail, got {other}\n{}", report.table()),
    }
}

fn assert_only_failures(report: &Report, expected: &[&str]) {
    let expected: BTreeSet<&str> = expected.iter().copied().collect();
    assert_eq!(failed(report), expected, "\n{}", report.table());
}

#[tokio::test]
async fn a_migrated_twin_passes_every_check() {
    let twin = start(Twin::ckf_1_11().migrated()).await;

    let report = twin.verify().await;

    assert!(!report.failed(), "\n{}", report.table());
    let results: std::collections::BTreeMap<String, String> =
        report.results().into_iter().collect();
    assert_eq!(results["result"], "pass");
    assert_eq!(results["checks.dex-discovery"], "pass");
    assert_eq!(results["checks.no-sidecars"], "pass");
}

#[tokio::test]
async fn the_untouched_1_11_twin_fails_naming_legacy_apps_sidecars_and_namespaces() {
    let twin = start(Twin::ckf_1_11()).await;

    let report = twin.verify().await;

    assert_fails_with(
        &report,
        "legacy-applications-gone",
        &[
            "istio-pilot (charm istio-pilot)",
            "istio-ingressgateway (charm istio-gateway)",
            "knative-serving",
        ],
    );
    assert_fails_with(
        &report,
        "no-sidecars",
        &[
            "Notebook admin/my-notebook",
            "InferenceService admin/sklearn-iris",
            "Deployment kubeflow-user-example-com/ml-pipeline-ui-artifact",
        ],
    );
    assert_fails_with(
        &report,
        "profile-namespaces-ambient",
        &[
            "admin (istio-injection=enabled",
            "kubeflow-user-example-com (istio-injection=enabled",
        ],
    );
    assert_eq!(
        report
            .results()
            .into_iter()
            .find(|(k, _)| k == "result")
            .map(|(_, v)| v),
        Some("fail".to_string())
    );
}

#[tokio::test]
async fn verify_sends_no_write_to_kubernetes_or_juju() {
    let twin = start(Twin::ckf_1_11().migrated()).await;
    let kube = twin.sim.store().requests();
    kube.reset();
    let juju_writes = twin.sim.model().writes_since_start();

    let report = twin.verify().await;

    assert!(kube.count() > 0, "verify read the cluster");
    assert_eq!(
        kube.mutating(),
        Vec::new(),
        "verify must not write to Kubernetes"
    );
    assert!(
        kube.records().iter().all(|r| r.method == "GET"),
        "only GET requests: {:?}",
        kube.records()
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        twin.sim.model().writes_since_start(),
        juju_writes,
        "verify must not write to Juju"
    );
    assert!(!report.checks.is_empty());
}

#[tokio::test]
async fn a_sidecar_left_on_a_notebook_fails_no_sidecars_naming_the_notebook() {
    let twin = start(Twin::ckf_1_11().migrated()).await;
    twin.sim
        .store()
        .patch_merge(
            "v1",
            "Pod",
            Some("admin"),
            "my-notebook-0",
            json!({ "metadata": { "annotations": { "sidecar.istio.io/status": "{\"initContainers\":[\"istio-init\",\"istio-proxy\"]}" } } }),
        )
        .expect("the notebook pod exists");

    let report = twin.verify().await;

    assert_fails_with(
        &report,
        "no-sidecars",
        &["Notebook admin/my-notebook (StatefulSet my-notebook: my-notebook-0)"],
    );
    assert_only_failures(&report, &["no-sidecars"]);
}

#[tokio::test]
async fn ztunnel_not_ready_fails_ztunnel_ready() {
    let twin = start(Twin::ckf_1_11().migrated()).await;
    let store = twin.sim.store();
    let pod = store
        .list("v1", "Pod", Some("kubeflow"), Some("app=ztunnel"))
        .into_iter()
        .next()
        .expect("a ztunnel pod");
    let name = pod["metadata"]["name"].as_str().expect("named").to_string();
    store
        .set_pod_ready("kubeflow", &name, false)
        .expect("pod exists");

    let report = twin.verify().await;

    assert_fails_with(
        &report,
        "ztunnel-ready",
        &["DaemonSet kubeflow/ztunnel is not fully ready (0/1 ready"],
    );
    assert_only_failures(&report, &["ztunnel-ready"]);
}

#[tokio::test]
async fn cilium_config_reverted_on_canonical_k8s_fails_cilium_configured() {
    let twin = start(Twin::ckf_1_11().canonical_k8s().migrated()).await;
    twin.sim
        .store()
        .patch_merge(
            "v1",
            "ConfigMap",
            Some("kube-system"),
            "cilium-config",
            json!({ "data": { "bpf-lb-sock-hostns-only": "false", "cni-exclusive": "true" } }),
        )
        .expect("cilium-config exists");

    let report = twin.verify().await;

    assert_fails_with(
        &report,
        "cilium-configured",
        &[
            "ConfigMap kube-system/cilium-config",
            "bpf-lb-sock-hostns-only=\"false\"",
            "cni-exclusive=\"true\"",
        ],
    );
    assert_only_failures(&report, &["cilium-configured"]);
}

#[tokio::test]
async fn a_migrated_canonical_k8s_twin_passes_the_cilium_checks() {
    let twin = start(Twin::ckf_1_11().canonical_k8s().migrated()).await;

    let report = twin.verify().await;

    assert!(!report.failed(), "\n{}", report.table());
    assert_eq!(verdict(&report, "cilium-configured"), &Verdict::Pass);
    assert_eq!(verdict(&report, "cilium-ready"), &Verdict::Pass);
}

#[tokio::test]
async fn istio_pilot_still_present_fails_legacy_applications_gone() {
    let twin = start(Twin::ckf_1_11().migrated()).await;
    twin.sim
        .model()
        .deploy_settled("istio-pilot", "istio-pilot", "1.28/stable", &[], true)
        .expect("deploy istio-pilot");
    twin.settle();

    let report = twin.verify().await;

    assert_fails_with(
        &report,
        "legacy-applications-gone",
        &["istio-pilot (charm istio-pilot)"],
    );
}

#[tokio::test]
async fn a_missing_relation_fails_expected_relations_present() {
    let twin = start(Twin::ckf_1_11().migrated()).await;
    let model = twin.sim.model();
    model
        .destroy_relation(&ckf_sim::model::RelationTarget::Endpoints(vec![
            "kfp-api:kfp-api-grpc".into(),
            "kfp-schedwf:kfp-api-grpc".into(),
        ]))
        .expect("the relation exists");
    let gone = async {
        let mut events = model.subscribe();
        while model.relations().iter().any(|r| {
            format!("{r:?}").contains("kfp-schedwf") && format!("{r:?}").contains("kfp-api-grpc")
        }) {
            let _ = events.recv().await;
        }
    };
    tokio::time::timeout(LIMIT, gone)
        .await
        .expect("the relation goes in time");
    twin.settle();

    let report = twin.verify().await;

    assert_fails_with(
        &report,
        "expected-relations-present",
        &["kfp-api:kfp-api-grpc kfp-schedwf:kfp-api-grpc"],
    );
}

#[tokio::test]
async fn profiles_back_in_sidecar_mode_fail_the_profile_checks() {
    let twin = start(Twin::ckf_1_11().migrated()).await;
    twin.sim
        .model()
        .configure_settled(
            "kubeflow-profiles",
            &[("service-mesh-mode", "istio-sidecar")],
        )
        .expect("configure kubeflow-profiles");
    twin.settle();

    let report = twin.verify().await;

    assert_fails_with(
        &report,
        "profile-namespaces-ambient",
        &["admin (istio-injection=enabled"],
    );
    assert_fails_with(
        &report,
        "profile-waypoints-ready",
        &["admin (no Gateway waypoint"],
    );
    assert_fails_with(
        &report,
        "plan-config-applied",
        &["kubeflow-profiles service-mesh-mode=\"istio-sidecar\""],
    );
}

#[tokio::test]
async fn a_serverless_inference_service_fails_naming_it() {
    let twin = start(Twin::ckf_1_11().with_serverless_isvc().migrated()).await;

    let report = twin.verify().await;

    assert_fails_with(
        &report,
        "no-serverless-inferenceservices",
        &["admin/sklearn-iris"],
    );
    assert_only_failures(&report, &["no-serverless-inferenceservices"]);
}

#[tokio::test]
async fn the_ingress_without_an_address_fails_the_gateway_and_http_checks() {
    let twin = start(Twin::ckf_1_11().migrated()).await;
    let store = twin.sim.store();
    store
        .update_status(
            "v1",
            "Service",
            Some("kubeflow"),
            "istio-ingress-k8s-istio",
            json!({ "loadBalancer": {} }),
        )
        .expect("the ingress Service exists");

    let report = twin.verify().await;

    assert_fails_with(
        &report,
        "ingress-service-has-address",
        &["Service kubeflow/istio-ingress-k8s-istio has no load-balancer address"],
    );
    assert_fails_with(
        &report,
        "dex-discovery",
        &["was not sent", "has no load-balancer address"],
    );
    assert_only_failures(
        &report,
        &[
            "ingress-service-has-address",
            "dex-discovery",
            "dashboard-redirects-to-dex",
        ],
    );
}

#[tokio::test]
async fn dex_discovery_404_fails_dex_discovery() {
    let twin = start(Twin::ckf_1_11().migrated()).await;
    twin.sim.ingress_faults().dex_not_found(true);

    let report = twin.verify().await;

    assert_fails_with(
        &report,
        "dex-discovery",
        &["/dex/.well-known/openid-configuration answered 404"],
    );
    assert_only_failures(&report, &["dex-discovery"]);
}

#[tokio::test]
async fn a_namespace_still_injected_warns() {
    let twin = start(Twin::ckf_1_11().migrated()).await;
    twin.sim
        .store()
        .apply(json!({
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": { "name": "team-a", "labels": { "istio-injection": "enabled" } }
        }))
        .expect("create the namespace");

    let report = twin.verify().await;

    match verdict(&report, "no-other-namespaces-injected") {
        Verdict::Warn(text) => assert!(text.contains("team-a (istio-injection=enabled)"), "{text}"),
        other => panic!("expected a warning, got {other}"),
    }
    assert!(
        !report.failed(),
        "a warning alone passes\n{}",
        report.table()
    );
}

#[tokio::test]
async fn a_webhook_to_a_deleted_service_fails_webhook_services_exist() {
    let twin = start(Twin::ckf_1_11().migrated()).await;
    twin.sim
        .store()
        .apply(json!({
            "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
            "metadata": { "name": "validation.webhook.serving.knative.dev" },
            "webhooks": [{
                "name": "validation.webhook.serving.knative.dev",
                "clientConfig": { "service": { "name": "webhook", "namespace": "knative-serving", "port": 443 } },
                "admissionReviewVersions": ["v1"], "sideEffects": "None", "failurePolicy": "Fail"
            }]
        }))
        .expect("create the webhook");

    let report = twin.verify().await;

    assert_fails_with(
        &report,
        "webhook-services-exist",
        &[
            "ValidatingWebhookConfiguration validation.webhook.serving.knative.dev",
            "knative-serving/webhook, whose namespace is gone",
        ],
    );
    assert_only_failures(&report, &["webhook-services-exist"]);
}

#[tokio::test]
async fn a_unit_in_error_fails_applications_active() {
    let twin = start(Twin::ckf_1_11().migrated()).await;
    twin.sim
        .model()
        .faults()
        .unit_error("kfp-viz/0", "update-status")
        .expect("the unit exists");

    let report = twin.verify().await;

    assert_fails_with(
        &report,
        "applications-active",
        &["kfp-viz/0 is in error", "juju resolve kfp-viz/0"],
    );
    assert_only_failures(&report, &["applications-active"]);
}

#[tokio::test]
async fn unreadable_cluster_scope_fails_the_checks_that_need_it_and_names_trust() {
    let twin = start(Twin::ckf_1_11().migrated().untrusted()).await;

    let report = twin.verify().await;

    assert_fails_with(
        &report,
        "no-sidecars",
        &[
            "cannot read profiles.kubeflow.org: profiles.kubeflow.org is forbidden",
            "(HTTP 403)",
            "juju trust",
        ],
    );
    assert_eq!(
        verdict(&report, "istiod-ready"),
        &Verdict::Pass,
        "\n{}",
        report.table()
    );
}

#[tokio::test]
async fn the_cli_prints_the_table_and_exits_non_zero_on_failure() {
    let twin = start(Twin::ckf_1_11()).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = twin.sim.write_kubeconfig(dir.path()).expect("kubeconfig");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, twin.sim.juju_ca_pem()).expect("ca");
    let password = dir.path().join("password");
    std::fs::write(&password, twin.sim.admin_password()).expect("password");

    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_ckf-migrator"))
        .arg("verify")
        .args(["--controller", &twin.sim.juju_address()])
        .args(["--model-uuid", twin.sim.model_uuid()])
        .args(["--model", twin.sim.model_name()])
        .arg("--ca-cert")
        .arg(&ca)
        .args(["--username", ADMIN_USER])
        .arg("--password-file")
        .arg(&password)
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .env_remove("JUJU_DISPATCH_PATH")
        .output();
    let output = tokio::time::timeout(LIMIT, run)
        .await
        .expect("the CLI finishes in time")
        .expect("the CLI runs");

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        !output.status.success(),
        "verify of a sidecar model must fail\n{stdout}"
    );
    assert!(stdout.contains("legacy-applications-gone"), "{stdout}");
    assert!(
        stdout.contains("fail: the model still runs sidecar-era applications"),
        "{stdout}"
    );
}
