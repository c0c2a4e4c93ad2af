//! The whole migration guide (reference/migrate-ambient-guide.txt) replayed over raw JSON against
//! a CKF 1.11/stable model: the catalog must carry every channel and endpoint the guide uses,
//! and the end state must look as the reference says it does (including the guide's
//! pvcviewer-operator gap).

mod juju_support;

use juju_support::{Client, Twin, ckf_1_11, quiet, refresh};
use serde_json::json;

async fn remove(client: &mut Client, app: &str) {
    let reply = client
        .ok("Application", 22, "DestroyApplication", json!({"applications": [
            {"application-tag": format!("application-{app}"), "force": false, "destroy-storage": true}]}))
        .await;
    assert!(
        reply["results"][0].get("error").is_none(),
        "remove {app}: {reply}"
    );
}

async fn deploy(client: &mut Client, charm: &str, config_yaml: &str) {
    let reply = client
        .ok("Application", 22, "DeployFromRepository", json!({"Args": [{"CharmName": charm,
            "ApplicationName": charm, "channel": "2/edge", "num-units": 1, "ConfigYAML": config_yaml,
            "Trust": true}]}))
        .await;
    assert_eq!(
        reply["Results"][0]["Errors"],
        json!(null),
        "deploy {charm}: {reply}"
    );
}

async fn integrate(client: &mut Client, a: &str, b: &str) {
    let reply = client
        .call(
            "Application",
            22,
            "AddRelation",
            json!({"endpoints": [a, b]}),
        )
        .await;
    assert!(reply.get("error").is_none(), "integrate {a} {b}: {reply}");
}

async fn config(client: &mut Client, app: &str, key: &str, value: &str) {
    let reply = client
        .ok(
            "Application",
            22,
            "SetConfigs",
            json!({"Args": [{"application": app,
            "config": {key: value}, "config-yaml": "", "generation": ""}]}),
        )
        .await;
    assert_eq!(reply["results"][0], json!({}), "config {app}: {reply}");
}

async fn upgrade(client: &mut Client, app: &str, channel: &str) {
    let (reply, _) = refresh(client, app, channel).await;
    assert!(reply.get("error").is_none(), "refresh {app}: {reply}");
}

const MESH: &str = "istio-beacon-k8s:service-mesh";
const ROUTE: &str = "istio-ingress-k8s:istio-ingress-route";
const UNAUTH: &str = "istio-ingress-k8s:istio-ingress-route-unauthenticated";
const GM: &str = "istio-ingress-k8s:gateway-metadata";

#[tokio::test]
async fn the_guide_migrates_a_ckf_1_11_model_to_ambient() {
    let twin = Twin::start().await;
    ckf_1_11(&twin.model);
    let mut events = twin.model.subscribe();
    let mut c = twin.admin().await;

    for app in [
        "istio-ingressgateway",
        "istio-pilot",
        "knative-serving",
        "knative-eventing",
        "knative-operator",
    ] {
        remove(&mut c, app).await;
    }
    quiet(&twin.model, &mut events).await;
    deploy(&mut c, "istio-k8s", "istio-k8s:\n  platform: microk8s\n").await;
    deploy(&mut c, "istio-beacon-k8s", "").await;
    deploy(&mut c, "istio-ingress-k8s", "").await;
    integrate(&mut c, "istio-ingress-k8s", "istio-k8s").await;
    let steps: &[(&str, &str, &[&str])] = &[
        ("admission-webhook", "2.0/edge", &["service-mesh"]),
        ("katib-controller", "0.19/edge", &["service-mesh"]),
        (
            "katib-ui",
            "0.19/edge",
            &["service-mesh", "istio-ingress-route"],
        ),
        ("training-operator", "1.9/edge", &["service-mesh"]),
        (
            "kserve-controller",
            "0.15/edge",
            &["service-mesh", "gateway-metadata"],
        ),
        (
            "dex-auth",
            "2.41/edge",
            &["service-mesh", "istio-ingress-route-unauthenticated"],
        ),
        (
            "oidc-gatekeeper",
            "ckf-1.10/edge",
            &[
                "service-mesh",
                "forward-auth",
                "istio-ingress-route-unauthenticated",
            ],
        ),
        (
            "envoy",
            "2.4/edge",
            &["service-mesh", "istio-ingress-route"],
        ),
        (
            "jupyter-controller",
            "1.11/edge",
            &["service-mesh", "gateway-metadata"],
        ),
        (
            "jupyter-ui",
            "1.11/edge",
            &["service-mesh", "istio-ingress-route"],
        ),
        ("kfp-api", "2.15/edge", &["service-mesh"]),
        ("kfp-persistence", "2.15/edge", &["service-mesh"]),
        ("kfp-profile-controller", "2.15/edge", &["service-mesh"]),
        ("kfp-schedwf", "2.15/edge", &["service-mesh"]),
        (
            "kfp-ui",
            "2.15/edge",
            &["service-mesh", "istio-ingress-route"],
        ),
        ("kfp-viz", "2.15/edge", &["service-mesh"]),
        ("minio", "1.10/edge", &["service-mesh"]),
        (
            "kubeflow-dashboard",
            "2.0/edge",
            &["service-mesh", "istio-ingress-route"],
        ),
        ("kubeflow-profiles", "2.0/edge", &["service-mesh"]),
        (
            "kubeflow-volumes",
            "1.11/edge",
            &["service-mesh", "istio-ingress-route"],
        ),
        ("pvcviewer-operator", "1.11/edge", &["service-mesh"]),
        (
            "tensorboard-controller",
            "1.11/edge",
            &["service-mesh", "gateway-metadata"],
        ),
        (
            "tensorboards-web-app",
            "1.11/edge",
            &["service-mesh", "istio-ingress-route"],
        ),
        ("metacontroller-operator", "4.11/edge", &["service-mesh"]),
    ];
    for (app, channel, endpoints) in steps {
        upgrade(&mut c, app, channel).await;
        for endpoint in *endpoints {
            let other = match *endpoint {
                "service-mesh" => MESH,
                "istio-ingress-route" => ROUTE,
                "istio-ingress-route-unauthenticated" => UNAUTH,
                "gateway-metadata" => GM,
                "forward-auth" => "istio-ingress-k8s:forward-auth",
                other => panic!("unexpected endpoint {other}"),
            };
            integrate(&mut c, &format!("{app}:{endpoint}"), other).await;
        }
        match *app {
            "kserve-controller" => config(&mut c, app, "deployment-mode", "rawdeployment").await,
            "minio" => config(&mut c, app, "trust", "true").await,
            "kubeflow-profiles" => {
                config(&mut c, app, "service-mesh-mode", "istio-ambient").await;
                config(
                    &mut c,
                    app,
                    "istio-gateway-service-account",
                    "istio-ingress-k8s-istio",
                )
                .await;
            }
            "kfp-viz" => {
                integrate(
                    &mut c,
                    "kfp-api:kfp-api-grpc",
                    "kfp-persistence:kfp-api-grpc",
                )
                .await;
                integrate(&mut c, "kfp-api:kfp-api-grpc", "kfp-schedwf:kfp-api-grpc").await;
            }
            _ => {}
        }
    }
    quiet(&twin.model, &mut events).await;
    let status = c.status().await;

    let apps = status["applications"].as_object().expect("apps");
    for gone in [
        "istio-pilot",
        "istio-ingressgateway",
        "knative-serving",
        "knative-eventing",
        "knative-operator",
    ] {
        assert!(!apps.contains_key(gone), "{gone} removed");
    }
    assert_eq!(
        apps["istio-ingress-k8s"]["units"]["istio-ingress-k8s/0"]["workload-status"]["info"],
        "Serving at 127.0.0.50"
    );
    // The guide's gap (ckf-ambient.md §2.1): pvcviewer-operator needs gateway-metadata too.
    assert_eq!(apps["pvcviewer-operator"]["status"]["status"], "blocked");
    let not_active: Vec<&String> = apps
        .iter()
        .filter(|(name, app)| {
            app["status"]["status"] != "active" && name.as_str() != "pvcviewer-operator"
        })
        .map(|(name, _)| name)
        .collect();
    assert!(not_active.is_empty(), "not active: {not_active:?}");
    assert_eq!(apps["kserve-controller"]["charm-channel"], "0.15/edge");
    let profiles = twin
        .model
        .application("kubeflow-profiles")
        .expect("profiles");
    assert_eq!(profiles.config["service-mesh-mode"], json!("istio-ambient"));
    assert!(twin.model.application("minio").expect("minio").trust);
    let leftovers: Vec<String> = twin
        .model
        .relations()
        .iter()
        .filter(|r| {
            ["ingress", "gateway-info", "ingress-auth", "local-gateway"]
                .iter()
                .any(|e| r.key.contains(&format!(":{e} ")) || r.key.ends_with(&format!(":{e}")))
        })
        .map(|r| r.key.clone())
        .collect();
    assert!(
        leftovers.is_empty(),
        "sidecar-era relations left: {leftovers:?}"
    );

    integrate(&mut c, "pvcviewer-operator:gateway-metadata", GM).await;
    quiet(&twin.model, &mut events).await;
    assert_eq!(
        c.status().await["applications"]["pvcviewer-operator"]["status"]["status"],
        "active"
    );
}
