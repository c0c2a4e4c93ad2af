//! Refresh as the Go `juju` CLI v3.6.11 does it, end to end: the real binary (and, where the
//! plan cannot express the case, the real Juju client) against the twin, whose controller
//! resolves, falls back and stores as Juju's does.
//!
//! Each test reads what the twin's controller was sent (`RequestStats::writes_of`) and the
//! model it ended with.

mod common;

use std::future::Future;
use std::time::Duration;

use ckf_migrator::juju::{Client, ConnectOptions, Credentials, Error, Password};
use ckf_sim::{ADMIN_USER, Twin};
use common::twin::{Twinned, start};
use serde_json::Value;

/// Longest a single client call may take before the test fails.
const WAIT: Duration = Duration::from_secs(30);

async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, future)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}

/// ckf-migrator's Juju client, logged in to the twin as its admin.
async fn client(t: &Twinned) -> Client {
    let credentials = Credentials {
        addresses: vec![t.sim.juju_address()],
        model_uuid: t.sim.model_uuid().to_owned(),
        username: ADMIN_USER.to_owned(),
        password: Password::new(t.sim.admin_password()),
        ca_cert_pem: t.sim.juju_ca_pem().to_owned(),
    };
    within(
        "connect",
        Client::connect(&credentials, ConnectOptions::default()),
    )
    .await
    .expect("logged in to the twin")
}

/// The params of every `method` write the twin received about `app`.
fn writes_about(t: &Twinned, method: &str, app: &str) -> Vec<Value> {
    let tag = format!("application-{app}");
    t.sim
        .model()
        .requests()
        .writes_of(method)
        .into_iter()
        .filter(|params| {
            params.get("application").and_then(Value::as_str) == Some(app)
                || params.get("tag").and_then(Value::as_str) == Some(tag.as_str())
                || params
                    .get("url")
                    .and_then(Value::as_str)
                    .is_some_and(|u| u.contains(&format!("/{app}-")))
                || params
                    .get("Args")
                    .and_then(Value::as_array)
                    .is_some_and(|a| {
                        a.iter()
                            .any(|x| x.get("application").and_then(Value::as_str) == Some(app))
                    })
        })
        .cloned()
        .collect()
}

#[tokio::test]
async fn a_channel_whose_charm_does_not_support_the_base_is_refused_in_preflight_and_nothing_changes()
 {
    let t = start(Twin::ckf_1_11()).await;
    t.sim
        .model()
        .set_base_settled("kfp-viz", "ubuntu@20.04")
        .expect("kfp-viz on focal");

    let run = t.migrate().run().await;

    assert_eq!(run.result("result"), Some("failed"));
    assert_eq!(run.result("failed-step"), Some("preflight"));
    let failure = run.failure();
    for said in [
        "kfp-viz",
        "ubuntu@20.04",
        "ubuntu@22.04",
        "2.15/edge",
        "nothing was changed",
    ] {
        assert!(failure.contains(said), "failure lacks {said:?}: {failure}");
    }
    assert_eq!(t.juju_writes(), 0, "a refused migration writes nothing");
    let kfp_viz = t.sim.model().application("kfp-viz").expect("kfp-viz");
    assert_eq!(kfp_viz.base.to_string(), "ubuntu@20.04");
    assert_eq!(kfp_viz.channel, "2.15/stable");
    t.assert_schema_clean();
}

#[tokio::test]
async fn the_client_refuses_a_refresh_off_the_base_before_any_write() {
    let t = start(Twin::ckf_1_11()).await;
    t.sim
        .model()
        .set_base_settled("kfp-viz", "ubuntu@20.04")
        .expect("kfp-viz on focal");
    let juju = client(&t).await;

    let err = within("refresh", juju.refresh("kfp-viz", "2.15/edge", true))
        .await
        .expect_err("refused");

    assert!(err.is_unsupported_base(), "{err:?}");
    assert!(!err.is_retryable(), "a base mismatch is no outage: {err}");
    let Error::UnsupportedBase { base, offered, .. } = &err else {
        unreachable!("checked above");
    };
    assert_eq!(base, "ubuntu@20.04");
    assert_eq!(offered, &["ubuntu@22.04"]);
    assert_eq!(t.juju_writes(), 0, "not even AddCharm");
    assert_eq!(
        t.sim
            .model()
            .application("kfp-viz")
            .expect("kfp-viz")
            .base
            .to_string(),
        "ubuntu@20.04"
    );
    t.assert_schema_clean();
}

#[tokio::test]
async fn a_store_resource_charmhub_does_not_list_is_upgraded() {
    let t = start(Twin::ckf_1_11()).await;
    // katib-controller's oci-image is the same revision on 0.19/stable and 0.19/edge, so it is
    // upgraded only because the store no longer lists it.
    t.sim
        .model()
        .faults()
        .store_omits_resource("katib-controller", "oci-image");

    let run = t.migrate().run().await;

    run.assert_succeeded();
    let pending = writes_about(&t, "Resources.AddPendingResources", "katib-controller");
    assert_eq!(pending.len(), 1, "{pending:#?}");
    let names: Vec<&str> = pending[0]["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(names, ["oci-image"]);
    let set_charm = writes_about(&t, "Application.SetCharm", "katib-controller");
    assert!(
        set_charm
            .iter()
            .any(|p| p["resource-ids"].get("oci-image").is_some()),
        "SetCharm carries the pending oci-image: {set_charm:#?}"
    );
    // training-operator's unchanged oci-image, listed by the store, is kept.
    assert!(writes_about(&t, "Resources.AddPendingResources", "training-operator").is_empty());
    t.assert_schema_clean();
}

#[tokio::test]
async fn trust_goes_inside_set_charm_and_no_separate_trust_is_sent() {
    // minio is deployed without trust; the plan refreshes it with --trust.
    let t = start(Twin::ckf_1_11()).await;

    let run = t.migrate().run().await;

    run.assert_succeeded();
    let set_charm = writes_about(&t, "Application.SetCharm", "minio");
    assert_eq!(set_charm.len(), 1, "{set_charm:#?}");
    assert_eq!(
        set_charm[0]["config-settings"]["trust"].as_str(),
        Some("true"),
        "trust rides on SetCharm: {:#?}",
        set_charm[0]
    );
    assert!(
        writes_about(&t, "Application.SetConfigs", "minio").is_empty(),
        "no separate `juju trust minio`"
    );
    assert!(t.sim.model().application("minio").expect("minio").trust);
    t.assert_schema_clean();
}

#[tokio::test]
async fn an_application_already_trusted_is_refreshed_without_trust() {
    let t = start(Twin::ckf_1_11()).await;
    t.sim
        .model()
        .configure_settled("minio", &[("trust", "true")])
        .expect("minio trusted");

    let run = t.migrate().run().await;

    run.assert_succeeded();
    let set_charm = writes_about(&t, "Application.SetCharm", "minio");
    assert_eq!(set_charm.len(), 1, "{set_charm:#?}");
    assert!(
        set_charm[0].get("config-settings").is_none(),
        "nothing to change, nothing sent: {:#?}",
        set_charm[0]
    );
    assert!(writes_about(&t, "Application.SetConfigs", "minio").is_empty());
    assert!(t.sim.model().application("minio").expect("minio").trust);
    t.assert_schema_clean();
}

#[tokio::test]
async fn a_dry_run_shows_one_refresh_with_trust() {
    let t = start(Twin::ckf_1_11()).await;

    let run = t.migrate().param("dry-run", true).run().await;

    run.assert_succeeded();
    let commands = run.result("commands").expect("commands");
    let minio: Vec<&str> = commands
        .lines()
        .filter(|l| l.starts_with("juju refresh minio") || l.starts_with("juju trust minio"))
        .collect();
    assert_eq!(
        minio,
        ["juju refresh minio --trust --channel 1.10/edge"],
        "{commands}"
    );
}

#[tokio::test]
async fn a_risk_only_channel_keeps_the_track() {
    let t = start(Twin::ckf_1_11()).await;
    let juju = client(&t).await;

    let outcome = within("refresh", juju.refresh("kfp-api", "edge", false))
        .await
        .expect("refreshed");

    let kfp_api = t.sim.model().application("kfp-api").expect("kfp-api");
    assert_eq!(kfp_api.channel, "2.15/edge");
    assert_ne!(outcome.to_url, outcome.from_url);
    let set_charm = writes_about(&t, "Application.SetCharm", "kfp-api");
    let origin = &set_charm[0]["charm-origin"];
    assert_eq!(
        (origin["track"].as_str(), origin["risk"].as_str()),
        (Some("2.15"), Some("edge"))
    );
    t.assert_schema_clean();
}

#[tokio::test]
async fn a_channel_move_onto_the_same_revision_adds_no_charm() {
    let t = start(Twin::ckf_1_11()).await;
    // 2.15/beta carries the same revision as 2.15/edge, the plan's channel for kfp-viz.
    let on_beta = t
        .sim
        .model()
        .refresh_settled("kfp-viz", "2.15/beta")
        .expect("kfp-viz on beta");

    let run = t.migrate().run().await;

    run.assert_succeeded();
    assert!(
        writes_about(&t, "Charms.AddCharm", "kfp-viz").is_empty(),
        "the revision is unchanged: no AddCharm"
    );
    let set_charm = writes_about(&t, "Application.SetCharm", "kfp-viz");
    assert_eq!(set_charm.len(), 1, "SetCharm still moves the channel");
    assert_eq!(set_charm[0]["charm-url"], on_beta.charm_url.as_str());
    let kfp_viz = t.sim.model().application("kfp-viz").expect("kfp-viz");
    assert_eq!(kfp_viz.channel, "2.15/edge");
    assert_eq!(kfp_viz.revision, on_beta.revision);
    t.assert_schema_clean();
}
