//! The running twin: fixtures, coupling between the Juju model and the cluster, the ingress.

use std::time::Duration;

use ckf_sim::{Sim, Twin};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(30);

async fn start(twin: Twin) -> Sim {
    tokio::time::timeout(LIMIT, Sim::start(twin))
        .await
        .expect("twin starts in time")
        .expect("twin starts")
}

fn has_sidecar(pod: &Value) -> bool {
    pod.pointer("/metadata/annotations/sidecar.istio.io~1status")
        .is_some()
}

async fn get(url: &str) -> (u16, Option<String>) {
    let url = url.strip_prefix("http://").expect("http url");
    let (host, path) = url
        .split_once('/')
        .map(|(h, p)| (h, format!("/{p}")))
        .unwrap_or((url, "/".into()));
    let mut stream = tokio::net::TcpStream::connect(host)
        .await
        .expect("connect to the ingress");
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let location = response
        .lines()
        .find_map(|l| {
            l.strip_prefix("location: ")
                .or_else(|| l.strip_prefix("Location: "))
        })
        .map(str::to_string);
    (status, location)
}

#[tokio::test]
async fn a_ckf_1_11_twin_runs_the_sidecar_control_plane() {
    let sim = start(Twin::ckf_1_11()).await;

    let store = sim.store();
    let istiod = store
        .get("apps/v1", "Deployment", Some("kubeflow"), "istiod")
        .expect("the old istiod");
    assert!(
        istiod
            .pointer("/metadata/labels/kubernetes-resource-handler-scope")
            .is_none()
    );
    let pods = store.list(
        "v1",
        "Pod",
        Some("admin"),
        Some("app=ml-pipeline-ui-artifact"),
    );
    assert_eq!(pods.len(), 1);
    assert!(
        has_sidecar(&pods[0]),
        "profile pods carry sidecars: {}",
        pods[0]
    );
    assert_eq!(sim.model().applications().len(), 37);
    assert!(
        store
            .get("v1", "Namespace", None, "knative-serving")
            .is_some()
    );
}

#[tokio::test]
async fn a_migrated_twin_runs_ambient_and_serves_the_login() {
    let sim = start(Twin::ckf_1_11().migrated()).await;

    let store = sim.store();
    let istiod = store
        .get("apps/v1", "Deployment", Some("kubeflow"), "istiod")
        .expect("the new istiod");
    assert_eq!(
        istiod
            .pointer("/metadata/labels/kubernetes-resource-handler-scope")
            .and_then(Value::as_str),
        Some("control-plane")
    );
    assert!(
        store
            .get("v1", "Namespace", None, "knative-serving")
            .is_none()
    );
    for ns in ["admin", "kubeflow-user-example-com"] {
        let pods = store.list("v1", "Pod", Some(ns), None);
        assert!(!pods.is_empty());
        assert!(
            pods.iter().all(|p| !has_sidecar(p)),
            "no sidecar left in {ns}"
        );
        let labels =
            store.get("v1", "Namespace", None, ns).expect("namespace")["metadata"]["labels"]
                .clone();
        assert_eq!(labels["istio.io/dataplane-mode"], "ambient");
    }
    let apps = sim.model().applications();
    let blocked: Vec<String> = apps
        .iter()
        .filter(|a| {
            a.units
                .iter()
                .any(|u| u.workload.status.to_string() != "active")
        })
        .map(|a| a.name.clone())
        .collect();
    assert!(blocked.is_empty(), "every application active: {blocked:?}");

    let (status, _) = get(&format!(
        "{}/dex/.well-known/openid-configuration",
        sim.ingress_url()
    ))
    .await;
    assert_eq!(status, 200);
    let (status, location) = get(&format!("{}/", sim.ingress_url())).await;
    assert_eq!(status, 302);
    assert!(location.is_some_and(|l| l.contains("/dex/auth")));
}

#[tokio::test]
async fn a_ckf_1_11_twin_answers_through_the_sidecar_era_gateway() {
    let sim = start(Twin::ckf_1_11()).await;
    let (status, location) = get(&format!("{}/", sim.ingress_url())).await;
    assert_eq!(status, 302);
    assert!(location.is_some_and(|l| l.contains("/dex/auth")));
}

#[tokio::test]
async fn once_the_old_gateway_is_removed_nothing_answers_until_the_new_one_is_ready() {
    let removed = ckf_sim::fixtures::guide::steps(false)
        .iter()
        .position(|step| {
            matches!(step, ckf_sim::fixtures::guide::Step::Remove { app } if app == "istio-ingressgateway")
        })
        .expect("the guide removes the old gateway");
    let sim = start(Twin::ckf_1_11().through_step(removed + 1)).await;
    let (status, _) = get(&format!("{}/", sim.ingress_url())).await;
    assert_eq!(status, 503);
}

#[tokio::test]
async fn the_knative_operator_takes_its_crds_and_leaves_the_api_crds() {
    let sim = start(Twin::ckf_1_11().migrated()).await;

    let crd = |name: &str| {
        sim.store().get(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            None,
            name,
        )
    };
    assert!(crd("knativeservings.operator.knative.dev").is_none());
    assert!(crd("knativeeventings.operator.knative.dev").is_none());
    assert!(
        crd("services.serving.knative.dev").is_some(),
        "the operator never deletes the API CRDs"
    );
}
