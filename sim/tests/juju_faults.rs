//! Every fault knob, and replies out of order.

mod juju_support;

use std::time::Duration;

use ckf_sim::model::{Deploy, Model, ModelConfig, ModelEvent, Times, Timing};
use juju_support::{Twin, error_of, wait_event_within};
use serde_json::json;

#[tokio::test]
async fn the_connection_drops_at_the_nth_request_without_a_reply() {
    let twin = Twin::start().await;
    let mut client = twin.admin().await;
    twin.model.faults().drop_connection_at(2);

    let first = client.call("Pinger", 1, "Ping", json!({})).await;
    client.send("Pinger", 1, "Ping", json!({})).await;
    let second = client.recv().await;

    assert_eq!(first["response"], json!({}));
    assert_eq!(second, None, "the connection closed without replying");
    assert_eq!(twin.model.requests().total, 3, "login, ping, dropped ping");
    let mut again = twin.admin().await;
    assert_eq!(
        again.call("Pinger", 1, "Ping", json!({})).await["response"],
        json!({}),
        "one-shot"
    );
}

#[tokio::test]
async fn a_named_method_fails_once_then_works() {
    let twin = Twin::start().await;
    twin.model
        .deploy_settled("kfp-api", "kfp-api", "2.15/stable", &[], false)
        .expect("kfp-api");
    twin.model.faults().fail(
        "Client.FullStatus",
        "try again later",
        "try again",
        Times::Once,
    );
    let mut client = twin.admin().await;

    let first = client
        .call("Client", 8, "FullStatus", json!({"patterns": []}))
        .await;
    let second = client
        .call("Client", 8, "FullStatus", json!({"patterns": []}))
        .await;

    assert_eq!(
        error_of(&first),
        ("try again later".into(), "try again".into())
    );
    assert!(second.get("error").is_none(), "{second}");
}

#[tokio::test]
async fn a_named_method_fails_n_times_or_always() {
    let twin = Twin::start().await;
    twin.model
        .deploy_settled("kfp-api", "kfp-api", "2.15/stable", &[], false)
        .expect("kfp-api");
    twin.model.faults().fail(
        "Application.DestroyApplication",
        "operation is blocked",
        "operation is blocked",
        Times::N(2),
    );
    twin.model
        .faults()
        .fail("Pinger.Ping", "down", "", Times::Always);
    let mut client = twin.admin().await;
    let destroy =
        json!({"applications": [{"application-tag": "application-kfp-api", "force": false}]});

    let mut outcomes = Vec::new();
    for _ in 0..3 {
        outcomes.push(
            error_of(
                &client
                    .call("Application", 22, "DestroyApplication", destroy.clone())
                    .await,
            )
            .1,
        );
    }
    let pings: Vec<String> = [
        client.call("Pinger", 1, "Ping", json!({})).await,
        client.call("Pinger", 1, "Ping", json!({})).await,
    ]
    .iter()
    .map(|r| error_of(r).0)
    .collect();

    assert_eq!(
        outcomes,
        vec!["operation is blocked", "operation is blocked", ""]
    );
    assert_eq!(pings, vec!["down", "down"]);
}

#[tokio::test]
async fn a_unit_in_error_shows_the_failed_hook_until_resolved() {
    let twin = Twin::start().await;
    twin.model
        .deploy_settled("kfp-api", "kfp-api", "2.15/stable", &[], false)
        .expect("kfp-api");
    let mut client = twin.admin().await;

    twin.model
        .faults()
        .unit_error("kfp-api/0", "config-changed")
        .expect("unit exists");
    let broken = client.status().await;
    twin.model
        .faults()
        .resolve("kfp-api/0")
        .expect("unit exists");
    let fixed = client.status().await;

    let app = &broken["applications"]["kfp-api"];
    let unit = &app["units"]["kfp-api/0"];
    assert_eq!(unit["workload-status"]["status"], "error");
    assert_eq!(
        unit["workload-status"]["info"],
        r#"hook failed: "config-changed""#
    );
    assert_eq!(unit["agent-status"]["status"], "error");
    assert_eq!(app["status"]["status"], "error");
    assert_eq!(
        fixed["applications"]["kfp-api"]["status"]["status"],
        "active"
    );
    assert!(
        twin.model
            .faults()
            .unit_error("kfp-api/7", "install")
            .is_err()
    );
}

#[tokio::test(start_paused = true)]
async fn slow_settling_multiplies_delays_per_application_and_globally() {
    let model = Model::new(ModelConfig {
        timing: Timing::realistic(),
        ..ModelConfig::default()
    });
    model.faults().slow_settling_for("istio-k8s", 3.0);
    model.faults().slow_settling(2.0);
    let mut events = model.subscribe();
    let start = tokio::time::Instant::now();
    let deploy = |charm: &str| Deploy {
        charm: charm.into(),
        channel: Some("2/edge".into()),
        ..Deploy::default()
    };

    model.deploy(&deploy("istio-beacon-k8s")).expect("beacon");
    model.deploy(&deploy("istio-k8s")).expect("istio-k8s");
    let hour = Duration::from_secs(3600);
    wait_event_within(
        &mut events,
        hour,
        "beacon settled",
        |e| matches!(e, ModelEvent::Settled { app } if app == "istio-beacon-k8s"),
    )
    .await;
    let beacon = start.elapsed();
    wait_event_within(
        &mut events,
        hour,
        "istio-k8s settled",
        |e| matches!(e, ModelEvent::Settled { app } if app == "istio-k8s"),
    )
    .await;

    assert_eq!(beacon, Duration::from_secs(120), "60 s × 2");
    assert_eq!(start.elapsed(), Duration::from_secs(360), "60 s × 2 × 3");
}

#[tokio::test]
async fn a_delayed_reply_is_overtaken_by_later_calls() {
    let twin = Twin::start().await;
    twin.model
        .faults()
        .delay_reply("Client.FullStatus", Duration::from_secs(2));
    let mut client = twin.admin().await;

    let slow = client
        .send("Client", 8, "FullStatus", json!({"patterns": []}))
        .await;
    let fast = client.send("Pinger", 1, "Ping", json!({})).await;
    let first = client.recv().await.expect("a reply");
    let second = client.recv().await.expect("a reply");

    assert_eq!(first["request-id"], fast);
    assert_eq!(second["request-id"], slow);
    assert!(second["response"]["applications"].is_object());
}

#[tokio::test]
async fn clear_turns_every_knob_back() {
    let twin = Twin::start().await;
    twin.model
        .faults()
        .fail("Pinger.Ping", "down", "", Times::Always);
    twin.model.faults().drop_connection_at(3);
    let mut client = twin.admin().await;

    twin.model.faults().clear();
    let first = client.call("Pinger", 1, "Ping", json!({})).await;
    let second = client.call("Pinger", 1, "Ping", json!({})).await;

    assert_eq!(first["response"], json!({}));
    assert_eq!(second["response"], json!({}));
}
