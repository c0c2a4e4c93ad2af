//! FullStatus shape, deploy → settle, removal dying → gone, and the scale knob.

mod juju_support;

use std::time::Duration;

use ckf_sim::juju::schema::Schema;
use ckf_sim::model::{Deploy, Model, ModelConfig, ModelEvent, Timing};
use juju_support::{Twin, error_of, settled, wait_event, wait_event_within};

/// Virtual-time bound for paused tests: far beyond any base delay.
const HOUR: Duration = Duration::from_secs(3600);
use serde_json::json;

fn assert_valid_full_status(status: &serde_json::Value) {
    Schema::get()
        .method("Client", 8, "FullStatus")
        .expect("FullStatus schema")
        .check_result(status)
        .expect("FullStatus matches Juju's schema");
}

#[tokio::test]
async fn full_status_of_a_settled_app_has_jujus_shape() {
    let twin = Twin::start().await;
    twin.model
        .deploy_settled(
            "istio-pilot",
            "istio-pilot",
            "1.28/stable",
            &[("default-gateway", "kubeflow-gateway")],
            true,
        )
        .expect("istio-pilot");
    twin.model
        .deploy_settled(
            "istio-ingressgateway",
            "istio-gateway",
            "1.28/stable",
            &[("kind", "ingress")],
            true,
        )
        .expect("gateway");
    twin.model
        .relate_settled(
            "istio-pilot:istio-pilot",
            "istio-ingressgateway:istio-pilot",
        )
        .expect("relate");
    let mut client = twin.admin().await;

    let status = client.status().await;

    assert_valid_full_status(&status);
    assert_eq!(status["model"]["name"], "kubeflow");
    assert_eq!(status["model"]["type"], "caas");
    let pilot = &status["applications"]["istio-pilot"];
    assert_eq!(pilot["charm"], "ch:amd64/istio-pilot-1412");
    assert_eq!(pilot["charm-rev"], 1412);
    assert_eq!(pilot["charm-channel"], "1.28/stable");
    assert_eq!(pilot["life"], "");
    assert_eq!(pilot["int"], 1);
    assert_eq!(pilot["status"]["status"], "active");
    let unit = &pilot["units"]["istio-pilot/0"];
    assert_eq!(unit["workload-status"]["status"], "active");
    assert_eq!(unit["agent-status"]["status"], "idle");
    assert_eq!(unit["leader"], true);
    assert_eq!(
        pilot["relations"]["istio-pilot"],
        json!(["istio-ingressgateway"])
    );
    assert_eq!(
        pilot["relations"]["peers"],
        json!(["istio-pilot"]),
        "peer relation"
    );
    assert_eq!(pilot["subordinate-to"], json!(null), "Go nil slice");
    let rel = status["relations"]
        .as_array()
        .expect("relations")
        .iter()
        .find(|r| r["interface"] == "k8s-service")
        .expect("k8s-service relation");
    assert_eq!(
        rel["key"],
        "istio-ingressgateway:istio-pilot istio-pilot:istio-pilot"
    );
    assert_eq!(rel["scope"], "global");
    assert_eq!(rel["endpoints"][0]["role"], "requirer");
    assert_eq!(rel["endpoints"][1]["role"], "provider");
    assert_eq!(rel["status"]["status"], "joined");
}

#[tokio::test]
async fn an_empty_model_sends_null_relations() {
    let twin = Twin::start().await;
    let mut client = twin.admin().await;

    let status = client.status().await;

    assert_valid_full_status(&status);
    assert_eq!(status["relations"], json!(null));
    assert_eq!(status["applications"], json!({}));
    assert_eq!(status["machines"], json!({}));
}

#[tokio::test]
async fn patterns_limit_full_status_to_matching_applications() {
    let twin = Twin::start().await;
    for (app, charm) in [
        ("kfp-api", "kfp-api"),
        ("kfp-viz", "kfp-viz"),
        ("minio", "minio"),
    ] {
        let channel = if charm == "minio" {
            "1.10/stable"
        } else {
            "2.15/stable"
        };
        twin.model
            .deploy_settled(app, charm, channel, &[], false)
            .expect("deploy");
    }
    let mut client = twin.admin().await;

    let status = client
        .ok("Client", 8, "FullStatus", json!({"patterns": ["kfp-*"]}))
        .await;

    let apps = status["applications"].as_object().expect("apps");
    assert_eq!(apps.keys().collect::<Vec<_>>(), vec!["kfp-api", "kfp-viz"]);
}

#[tokio::test]
async fn deploy_from_repository_settles_through_allocating_to_active() {
    let twin = Twin::start().await;
    let mut events = twin.model.subscribe();
    twin.model.faults().hold_settling("istio-k8s");
    let mut client = twin.admin().await;

    let reply = client
        .ok("Application", 22, "DeployFromRepository", json!({"Args": [{
            "CharmName": "istio-k8s", "ApplicationName": "istio-k8s", "channel": "2/edge",
            "num-units": 1, "ConfigYAML": "istio-k8s:\n  platform: microk8s\n", "Trust": true,
            "AttachStorage": [], "Cons": {}, "Devices": {}, "DryRun": false, "Placement": [], "Storage": {}}]}))
        .await;
    let during = client.status().await;
    twin.model.faults().release_settling();
    settled(&mut events, "istio-k8s").await;
    let after = client.status().await;

    let result = &reply["Results"][0];
    assert_eq!(result["Errors"], json!(null));
    assert_eq!(result["Info"]["name"], "istio-k8s");
    assert_eq!(result["Info"]["channel"], "2/edge");
    assert_eq!(result["Info"]["revision"], 61);
    assert_eq!(result["PendingResourceUploads"], json!(null));
    assert_valid_full_status(&during);
    let unit = &during["applications"]["istio-k8s"]["units"]["istio-k8s/0"];
    assert_eq!(unit["agent-status"]["status"], "allocating");
    assert_eq!(unit["workload-status"]["status"], "waiting");
    let unit = &after["applications"]["istio-k8s"]["units"]["istio-k8s/0"];
    assert_eq!(unit["agent-status"]["status"], "idle");
    assert_eq!(unit["workload-status"]["status"], "active");
    let app = twin.model.application("istio-k8s").expect("app");
    assert!(app.trust);
    assert_eq!(app.config["platform"], json!("microk8s"));
}

#[tokio::test]
async fn removal_is_observed_dying_then_gone() {
    let twin = Twin::start().await;
    twin.model
        .deploy_settled("kfp-viz", "kfp-viz", "2.15/stable", &[], false)
        .expect("kfp-viz");
    twin.model
        .deploy_settled("kfp-api", "kfp-api", "2.15/stable", &[], false)
        .expect("kfp-api");
    twin.model
        .relate_settled("kfp-api:kfp-viz", "kfp-viz:kfp-viz")
        .expect("relate");
    let mut events = twin.model.subscribe();
    twin.model.faults().hold_settling("kfp-viz");
    let mut client = twin.admin().await;

    let reply = client
        .ok(
            "Application",
            22,
            "DestroyApplication",
            json!({"applications": [
            {"application-tag": "application-kfp-viz", "force": false, "destroy-storage": true},
            {"application-tag": "application-nope", "force": false}]}),
        )
        .await;
    let dying = client.status().await;
    twin.model.faults().release_settling();
    wait_event(
        &mut events,
        "kfp-viz removed",
        |e| matches!(e, ModelEvent::Removed { app, .. } if app == "kfp-viz"),
    )
    .await;
    let gone = client.status().await;

    assert_eq!(
        reply["results"][0]["info"]["destroyed-units"],
        json!([{"tag": "unit-kfp-viz-0"}])
    );
    assert_eq!(
        reply["results"][1]["error"],
        json!({"message": "application \"nope\" not found", "code": "not found"})
    );
    assert_valid_full_status(&dying);
    assert_eq!(dying["applications"]["kfp-viz"]["life"], "dying");
    assert!(gone["applications"].get("kfp-viz").is_none());
    assert!(
        gone["relations"]
            .to_string()
            .find("kfp-viz:kfp-viz")
            .is_none()
    );
    assert_eq!(
        gone["applications"]["kfp-api"]["relations"].get("kfp-viz"),
        None
    );
}

#[tokio::test]
async fn redeploying_a_dying_application_already_exists() {
    let twin = Twin::start().await;
    twin.model
        .deploy_settled("istio-pilot", "istio-pilot", "1.28/stable", &[], true)
        .expect("istio-pilot");
    twin.model.faults().hold_settling("istio-pilot");
    twin.model
        .destroy_application("istio-pilot")
        .expect("destroy");
    let mut client = twin.admin().await;

    let reply = client
        .ok("Application", 22, "DeployFromRepository", json!({"Args": [{
            "CharmName": "istio-pilot", "ApplicationName": "istio-pilot", "channel": "1.28/stable"}]}))
        .await;

    assert_eq!(
        reply["Results"][0]["Errors"],
        json!([{"message": "cannot add application \"istio-pilot\": application already exists", "code": "already exists"}])
    );
}

#[tokio::test]
async fn an_unknown_charm_or_channel_is_an_error_in_errors() {
    let twin = Twin::start().await;
    let mut client = twin.admin().await;

    let reply = client
        .ok(
            "Application",
            20,
            "DeployFromRepository",
            json!({"Args": [
            {"CharmName": "no-such-charm", "channel": "stable"},
            {"CharmName": "admission-webhook", "channel": "9.9/stable"}]}),
        )
        .await;

    assert_eq!(reply["Results"][0]["Errors"][0]["code"], "not found");
    assert_eq!(reply["Results"][1]["Errors"][0]["code"], "not found");
    assert!(twin.model.applications().is_empty());
}

#[tokio::test(start_paused = true)]
async fn deploy_settles_after_sixty_seconds_times_the_scale() {
    let model = Model::new(ModelConfig {
        timing: Timing { scale: 0.5 },
        ..ModelConfig::default()
    });
    let mut events = model.subscribe();
    let start = tokio::time::Instant::now();

    model
        .deploy(&Deploy {
            charm: "istio-beacon-k8s".into(),
            channel: Some("2/edge".into()),
            ..Deploy::default()
        })
        .expect("deploy");
    wait_event_within(
        &mut events,
        HOUR,
        "istio-beacon-k8s settled",
        |e| matches!(e, ModelEvent::Settled { app } if app == "istio-beacon-k8s"),
    )
    .await;

    assert_eq!(
        start.elapsed(),
        Duration::from_secs(30),
        "60 s base × 0.5 (virtual time)"
    );
}

#[tokio::test(start_paused = true)]
async fn istio_pilot_removal_takes_longer_because_of_the_purge() {
    let model = Model::new(ModelConfig {
        timing: Timing::realistic(),
        ..ModelConfig::default()
    });
    model
        .deploy_settled("istio-pilot", "istio-pilot", "1.28/stable", &[], true)
        .expect("pilot");
    model
        .deploy_settled("kfp-viz", "kfp-viz", "2.15/stable", &[], false)
        .expect("viz");
    let mut events = model.subscribe();
    let start = tokio::time::Instant::now();

    model.destroy_application("kfp-viz").expect("destroy viz");
    model
        .destroy_application("istio-pilot")
        .expect("destroy pilot");
    wait_event_within(
        &mut events,
        HOUR,
        "kfp-viz removed",
        |e| matches!(e, ModelEvent::Removed { app, .. } if app == "kfp-viz"),
    )
    .await;
    let viz = start.elapsed();
    wait_event_within(
        &mut events,
        HOUR,
        "istio-pilot removed",
        |e| matches!(e, ModelEvent::Removed { app, .. } if app == "istio-pilot"),
    )
    .await;

    assert_eq!(viz, Duration::from_secs(30));
    assert_eq!(start.elapsed(), Duration::from_secs(90));
}

#[tokio::test]
async fn every_response_of_these_tests_matched_the_schema() {
    let twin = Twin::start().await;
    twin.model
        .deploy_settled("minio", "minio", "1.10/stable", &[], false)
        .expect("minio");
    let mut client = twin.admin().await;

    client.status().await;
    let bad = client
        .call("Client", 8, "FullStatus", json!({"patterns": "kfp-*"}))
        .await;

    assert_eq!(error_of(&bad).1, "bad request");
    assert!(twin.model.requests().response_violations().is_empty());
}
