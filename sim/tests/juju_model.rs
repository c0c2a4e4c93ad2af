//! The model through its library API: status rules per charm, events, fixture errors.

mod juju_support;

use std::time::Duration;

use ckf_sim::model::{AgentStatus, Deploy, Model, ModelConfig, ModelEvent, Timing, WorkloadStatus};
use juju_support::wait_event_within;

const HOUR: Duration = Duration::from_secs(3600);

fn model() -> Model {
    Model::new(ModelConfig {
        timing: Timing::realistic(),
        ..ModelConfig::default()
    })
}

fn status(model: &Model, app: &str) -> (WorkloadStatus, String) {
    let view = model.application(app).expect("app exists");
    (view.status.status, view.status.message)
}

fn blocked(message: &str) -> (WorkloadStatus, String) {
    (WorkloadStatus::Blocked, message.to_string())
}

fn active() -> (WorkloadStatus, String) {
    (WorkloadStatus::Active, String::new())
}

async fn until_settled(events: &mut tokio::sync::broadcast::Receiver<ModelEvent>, app: &str) {
    wait_event_within(
        events,
        HOUR,
        &format!("{app} settled"),
        |e| matches!(e, ModelEvent::Settled { app: a } if a == app),
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn istio_ingress_serves_once_istio_k8s_is_settled() {
    let model = model();
    model
        .deploy_settled(
            "istio-ingress-k8s",
            "istio-ingress-k8s",
            "2/edge",
            &[],
            true,
        )
        .expect("ingress");
    let mut events = model.subscribe();
    let before = status(&model, "istio-ingress-k8s");

    model
        .deploy(&Deploy {
            charm: "istio-k8s".into(),
            channel: Some("2/edge".into()),
            trust: true,
            ..Deploy::default()
        })
        .expect("istio-k8s");
    let while_deploying = status(&model, "istio-ingress-k8s");
    until_settled(&mut events, "istio-k8s").await;

    let not_ready = blocked("Gateway k8s deployment not ready, is istio properly installed?");
    assert_eq!(before, not_ready);
    assert_eq!(while_deploying, not_ready);
    assert_eq!(
        status(&model, "istio-ingress-k8s"),
        (WorkloadStatus::Active, "Serving at 127.0.0.50".to_string())
    );
}

#[test]
fn pvcviewer_blocks_on_service_mesh_without_gateway_metadata() {
    let model = model();
    model
        .deploy_settled(
            "pvcviewer-operator",
            "pvcviewer-operator",
            "1.11/edge",
            &[],
            false,
        )
        .expect("pvc");
    model
        .deploy_settled("istio-beacon-k8s", "istio-beacon-k8s", "2/edge", &[], true)
        .expect("beacon");
    model
        .deploy_settled("istio-k8s", "istio-k8s", "2/edge", &[], true)
        .expect("istio");
    model
        .deploy_settled(
            "istio-ingress-k8s",
            "istio-ingress-k8s",
            "2/edge",
            &[],
            true,
        )
        .expect("ingress");

    model
        .relate_settled(
            "pvcviewer-operator:service-mesh",
            "istio-beacon-k8s:service-mesh",
        )
        .expect("mesh");
    let half = status(&model, "pvcviewer-operator");
    model
        .relate_settled(
            "pvcviewer-operator:gateway-metadata",
            "istio-ingress-k8s:gateway-metadata",
        )
        .expect("gm");

    assert_eq!(
        half,
        blocked("Service mesh relation present without gateway metadata relation")
    );
    assert_eq!(status(&model, "pvcviewer-operator"), active());
}

#[test]
fn jupyter_controller_waits_while_the_gateway_does_not_serve() {
    let model = model();
    model
        .deploy_settled(
            "jupyter-controller",
            "jupyter-controller",
            "1.11/edge",
            &[],
            false,
        )
        .expect("jupyter");
    model
        .deploy_settled(
            "istio-ingress-k8s",
            "istio-ingress-k8s",
            "2/edge",
            &[],
            true,
        )
        .expect("ingress");

    model
        .relate_settled(
            "jupyter-controller:gateway-metadata",
            "istio-ingress-k8s:gateway-metadata",
        )
        .expect("gm");

    assert_eq!(
        status(&model, "jupyter-controller"),
        (
            WorkloadStatus::Waiting,
            // jupyter-controller's own text, without a hyphen (notebook-operators track/1.11)
            "Waiting for gateway metadata relation data".to_string()
        )
    );
}

#[test]
fn a_ui_with_both_ingress_relations_blocks_until_istio_pilot_is_gone() {
    let model = model();
    model
        .deploy_settled("istio-pilot", "istio-pilot", "1.28/stable", &[], true)
        .expect("pilot");
    model
        .deploy_settled(
            "istio-ingress-k8s",
            "istio-ingress-k8s",
            "2/edge",
            &[],
            true,
        )
        .expect("ingress");
    model
        .deploy_settled(
            "kubeflow-dashboard",
            "kubeflow-dashboard",
            "2.0/edge",
            &[],
            false,
        )
        .expect("dash");
    model
        .relate_settled("istio-pilot:ingress", "kubeflow-dashboard:ingress")
        .expect("old");
    model
        .relate_settled(
            "kubeflow-dashboard:istio-ingress-route",
            "istio-ingress-k8s:istio-ingress-route",
        )
        .expect("new");
    let both = status(&model, "kubeflow-dashboard");

    // Outside a runtime, removal settles at once.
    model
        .destroy_application("istio-pilot")
        .expect("remove pilot");

    assert_eq!(both.0, WorkloadStatus::Blocked);
    assert!(
        both.1
            .starts_with("Cannot have both 'istio-ingress-route' and 'ingress' relations"),
        "{}",
        both.1
    );
    assert_eq!(status(&model, "kubeflow-dashboard"), active());
}

#[tokio::test(start_paused = true)]
async fn kserve_asks_for_gateway_info_then_waits_for_gateway_metadata() {
    let model = model();
    model
        .deploy_settled("istio-pilot", "istio-pilot", "1.28/stable", &[], true)
        .expect("pilot");
    model
        .deploy_settled("istio-k8s", "istio-k8s", "2/edge", &[], true)
        .expect("istio");
    model
        .deploy_settled(
            "istio-ingress-k8s",
            "istio-ingress-k8s",
            "2/edge",
            &[],
            true,
        )
        .expect("ingress");
    model
        .deploy_settled(
            "kserve-controller",
            "kserve-controller",
            "0.15/edge",
            &[("deployment-mode", "rawdeployment")],
            true,
        )
        .expect("kserve");
    model
        .relate_settled(
            "istio-pilot:gateway-info",
            "kserve-controller:ingress-gateway",
        )
        .expect("old");
    let mut events = model.subscribe();
    let sidecar = status(&model, "kserve-controller");

    model.destroy_application("istio-pilot").expect("remove");
    wait_event_within(
        &mut events,
        HOUR,
        "pilot gone",
        |e| matches!(e, ModelEvent::Removed { app, .. } if app == "istio-pilot"),
    )
    .await;
    let orphaned = status(&model, "kserve-controller");
    model
        .add_relation(&[
            "kserve-controller:gateway-metadata",
            "istio-ingress-k8s:gateway-metadata",
        ])
        .expect("gm");
    let joining = status(&model, "kserve-controller");
    until_settled(&mut events, "kserve-controller").await;

    assert_eq!(sidecar, active());
    assert_eq!(
        orphaned,
        blocked("Please relate to istio-pilot:gateway-info")
    );
    assert_eq!(
        joining,
        (
            WorkloadStatus::Waiting,
            "Waiting for gateway-metadata relation data".into()
        )
    );
    assert_eq!(status(&model, "kserve-controller"), active());
}

#[test]
fn kserve_blocks_on_both_gateways_and_on_a_bad_mode() {
    let model = model();
    model
        .deploy_settled("istio-pilot", "istio-pilot", "1.28/stable", &[], true)
        .expect("pilot");
    model
        .deploy_settled(
            "istio-ingress-k8s",
            "istio-ingress-k8s",
            "2/edge",
            &[],
            true,
        )
        .expect("ingress");
    model
        .deploy_settled(
            "kserve-controller",
            "kserve-controller",
            "0.15/edge",
            &[("deployment-mode", "sideways")],
            true,
        )
        .expect("kserve");
    model
        .relate_settled(
            "istio-pilot:gateway-info",
            "kserve-controller:ingress-gateway",
        )
        .expect("old");
    let bad_mode = status(&model, "kserve-controller");

    model
        .relate_settled(
            "kserve-controller:gateway-metadata",
            "istio-ingress-k8s:gateway-metadata",
        )
        .expect("gm");

    assert_eq!(
        bad_mode,
        blocked("Please set deployment-mode to either Serverless or RawDeployment")
    );
    assert_eq!(
        status(&model, "kserve-controller"),
        blocked("Both gateway-metadata and ingress-gateway relations are established")
    );
}

#[test]
fn tensorboard_controller_needs_exactly_one_gateway() {
    let model = model();
    model
        .deploy_settled("istio-pilot", "istio-pilot", "1.28/stable", &[], true)
        .expect("pilot");
    model
        .deploy_settled(
            "istio-ingress-k8s",
            "istio-ingress-k8s",
            "2/edge",
            &[],
            true,
        )
        .expect("ingress");
    model
        .deploy_settled(
            "tensorboard-controller",
            "tensorboard-controller",
            "1.11/edge",
            &[],
            false,
        )
        .expect("tb");
    let none = status(&model, "tensorboard-controller");
    model
        .relate_settled(
            "istio-pilot:gateway-info",
            "tensorboard-controller:gateway-info",
        )
        .expect("old");
    let sidecar = status(&model, "tensorboard-controller");

    model
        .relate_settled(
            "tensorboard-controller:gateway-metadata",
            "istio-ingress-k8s:gateway-metadata",
        )
        .expect("new");

    assert_eq!(none, blocked("Missing required gateway relation"));
    assert_eq!(sidecar, active());
    assert_eq!(
        status(&model, "tensorboard-controller"),
        blocked("Cannot relate to both sidecar and ambient gateway simultaneously")
    );
}

#[tokio::test(start_paused = true)]
async fn deploy_emits_deployed_then_settled_and_removal_dying_then_removed() {
    let model = model();
    let mut events = model.subscribe();

    model
        .deploy(&Deploy {
            application: "ingress".into(),
            charm: "istio-ingress-k8s".into(),
            channel: Some("2/edge".into()),
            ..Deploy::default()
        })
        .expect("deploy");
    until_settled(&mut events, "ingress").await;
    model.destroy_application("ingress").expect("destroy");
    let removed = wait_event_within(&mut events, HOUR, "removed", |e| {
        matches!(e, ModelEvent::Removed { .. })
    })
    .await;

    assert_eq!(
        removed,
        ModelEvent::Removed {
            app: "ingress".into(),
            charm: "istio-ingress-k8s".into()
        }
    );
    assert!(model.application("ingress").is_none());
}

#[test]
fn event_order_of_a_deploy_and_removal_outside_a_runtime() {
    let model = model();
    let mut events = model.subscribe();

    model
        .deploy_settled("minio", "minio", "1.10/stable", &[], false)
        .expect("minio");
    model.destroy_application("minio").expect("destroy");

    let mut seen = Vec::new();
    while let Ok(e) = events.try_recv() {
        seen.push(e);
    }
    assert_eq!(
        seen,
        vec![
            ModelEvent::Deployed {
                app: "minio".into(),
                charm: "minio".into(),
                channel: "1.10/stable".into()
            },
            ModelEvent::Settled {
                app: "minio".into()
            },
            ModelEvent::Dying {
                app: "minio".into()
            },
            ModelEvent::Removed {
                app: "minio".into(),
                charm: "minio".into()
            },
        ]
    );
}

#[test]
fn peer_relations_are_created_with_the_application() {
    let model = model();
    let mut events = model.subscribe();

    model
        .deploy_settled("istio-k8s", "istio-k8s", "2/edge", &[], true)
        .expect("istio");

    let rels = model.relations();
    assert_eq!(rels.len(), 1);
    assert_eq!(rels[0].key, "istio-k8s:peers");
    assert!(matches!(events.try_recv(), Ok(ModelEvent::Deployed { .. })));
    assert!(matches!(
        events.try_recv(),
        Ok(ModelEvent::RelationAdded { .. })
    ));
}

#[test]
fn fixtures_refuse_what_juju_refuses() {
    let model = model();

    let no_charm = model
        .deploy_settled("x", "no-such-charm", "stable", &[], false)
        .expect_err("unknown charm");
    let no_channel = model
        .deploy_settled("x", "istio-k8s", "9/edge", &[], false)
        .expect_err("unknown channel");
    let bad_value = model
        .deploy_settled(
            "x",
            "istio-k8s",
            "2/edge",
            &[("hardened-mode", "yes please")],
            false,
        )
        .expect_err("bad bool");
    let no_option = model
        .deploy_settled("x", "istio-k8s", "2/edge", &[("ambient", "true")], false)
        .expect_err("removed option");
    model
        .deploy_settled("x", "istio-k8s", "2/edge", &[], false)
        .expect("deploys");
    let twice = model
        .deploy_settled("x", "istio-k8s", "2/edge", &[], false)
        .expect_err("exists");

    assert!(no_charm.is_not_found());
    assert!(no_channel.is_not_found());
    assert_eq!(
        bad_value.message,
        r#"option "hardened-mode" expected boolean, got "yes please""#
    );
    assert_eq!(no_option.message, r#"unknown option "ambient""#);
    assert!(twice.is_already_exists());
}

#[test]
fn views_read_back_config_trust_resources_and_units() {
    let model = model();

    let view = model
        .deploy_settled(
            "istio-k8s",
            "istio-k8s",
            "2/edge",
            &[("platform", "")],
            true,
        )
        .expect("istio");

    assert_eq!(view.charm, "istio-k8s");
    assert_eq!(view.channel, "2/edge");
    assert_eq!(view.revision, 61);
    assert!(view.trust);
    assert_eq!(
        view.config["platform"],
        serde_json::json!(""),
        "an empty string is a value"
    );
    assert_eq!(view.units.len(), 1);
    assert_eq!(view.units[0].name, "istio-k8s/0");
    assert_eq!(view.units[0].agent.status, AgentStatus::Idle);
    assert!(view.settled);
    let kfp = model
        .deploy_settled("kfp-api", "kfp-api", "2.15/stable", &[], false)
        .expect("kfp");
    assert_eq!(kfp.resources["oci-image"], 902);
}

#[tokio::test]
async fn settled_fixture_changes_complete_at_once_inside_a_runtime() {
    let model = model();
    model
        .deploy_settled("istio-pilot", "istio-pilot", "1.28/stable", &[], true)
        .expect("pilot");
    model
        .deploy_settled(
            "tensorboard-controller",
            "tensorboard-controller",
            "1.10/stable",
            &[],
            false,
        )
        .expect("tb");
    model
        .deploy_settled("minio", "minio", "1.10/stable", &[], false)
        .expect("minio");
    model
        .relate_settled(
            "istio-pilot:gateway-info",
            "tensorboard-controller:gateway-info",
        )
        .expect("relate");
    let mut events = model.subscribe();

    model.remove_settled("istio-pilot").expect("remove");
    let tb = model
        .refresh_settled("tensorboard-controller", "1.11/edge")
        .expect("refresh");
    model
        .configure_settled("minio", &[("trust", "true"), ("port", "9002")])
        .expect("config");

    assert!(model.application("istio-pilot").is_none());
    assert!(
        model
            .relations()
            .iter()
            .all(|r| !r.key.contains("istio-pilot"))
    );
    assert_eq!(tb.revision, 441);
    assert_eq!(tb.channel, "1.11/edge");
    assert_eq!(tb.resources["tensorboard-controller-image"], 238);
    assert!(tb.settled, "no upgrade in progress");
    let minio = model.application("minio").expect("minio");
    assert!(minio.trust);
    assert_eq!(minio.config_strings()["port"], "9002");
    assert!(model.applications().iter().all(|a| a.settled));
    let mut seen = Vec::new();
    while let Ok(e) = events.try_recv() {
        seen.push(e);
    }
    assert!(seen.contains(&ModelEvent::Removed {
        app: "istio-pilot".into(),
        charm: "istio-pilot".into()
    }));
    assert!(seen.contains(&ModelEvent::Refreshed {
        app: "tensorboard-controller".into(),
        charm: "tensorboard-controller".into(),
        channel: "1.11/edge".into(),
        revision: 441
    }));
    assert!(seen.contains(&ModelEvent::TrustChanged {
        app: "minio".into(),
        trust: true
    }));
}
