//! The Juju calls a restore needs, made by ckf-migrator's client against the twin playing CKF
//! 1.11: refresh to a revision (back from the ambient channels), deploy by revision and base,
//! config reset, scale. Each test reads the model the twin ended with and what its controller
//! was sent, and ends with the twin's schema check.

mod common;

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use ckf_migrator::juju::{Base, Client, ConnectOptions, Credentials, DeploySpec, Error, Password};
use ckf_sim::{ADMIN_USER, Twin};
use common::twin::{Twinned, start};
use serde_json::Value;

/// Longest a single client call or wait may take before the test fails.
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

/// The params of every `method` write the twin received.
fn writes(t: &Twinned, method: &str) -> Vec<Value> {
    t.sim
        .model()
        .requests()
        .writes_of(method)
        .into_iter()
        .cloned()
        .collect()
}

fn calls(t: &Twinned, method: &str) -> u64 {
    t.sim.model().requests().count(method)
}

/// The fixture's admission-webhook (1.10/stable, revision 406) moved to the ambient channel.
fn admission_webhook_on_ambient(t: &Twinned) {
    t.sim
        .model()
        .refresh_settled("admission-webhook", "2.0/edge")
        .expect("refreshed to 2.0/edge");
}

#[tokio::test]
async fn refresh_to_revision_takes_an_ambient_application_back_to_its_1_11_channel_and_revision() {
    let t = start(Twin::ckf_1_11()).await;
    let fixture = t
        .sim
        .model()
        .application("admission-webhook")
        .expect("fixture");
    admission_webhook_on_ambient(&t);
    let juju = client(&t).await;

    let outcome = within(
        "refresh_to_revision",
        juju.refresh_to_revision(
            "admission-webhook",
            &fixture.channel,
            u32::try_from(fixture.revision).expect("revision"),
            true,
        ),
    )
    .await
    .expect("refreshed back");
    let status = within("FullStatus", juju.full_status())
        .await
        .expect("status");

    assert_eq!(
        (fixture.channel.as_str(), fixture.revision),
        ("1.10/stable", 406)
    );
    let app = &status.applications["admission-webhook"];
    assert_eq!(app.channel, "1.10/stable");
    assert_eq!(app.revision, Some(406));
    assert_eq!(outcome.to_url, "ch:amd64/admission-webhook-406");
    assert_eq!(outcome.from_url, "ch:amd64/admission-webhook-520");
    assert_eq!(outcome.resources_upgraded, ["oci-image"]);
    let model_app = t.sim.model().application("admission-webhook").expect("app");
    assert_eq!(
        model_app.resources["oci-image"], 212,
        "the 1.10 image again"
    );
    assert_eq!(
        calls(&t, "Charms.CheckCharmPlacement"),
        1,
        "a revision is a switch"
    );
    let set = writes(&t, "Application.SetCharm");
    assert_eq!(set.len(), 1);
    let origin = &set[0]["charm-origin"];
    assert_eq!(set[0]["charm-url"], "ch:amd64/admission-webhook-406");
    assert_eq!(
        (&origin["track"], &origin["risk"], &origin["revision"]),
        (
            &Value::from("1.10"),
            &Value::from("stable"),
            &Value::from(406)
        )
    );
    assert_eq!(set[0]["config-settings"]["trust"], "true");
    assert_eq!(writes(&t, "Charms.AddCharm").len(), 1);
    t.assert_schema_clean();
}

#[tokio::test]
async fn the_revision_asked_is_installed_even_where_the_channel_holds_another() {
    let t = start(Twin::ckf_1_11()).await;
    admission_webhook_on_ambient(&t);
    let juju = client(&t).await;

    // 2.0/edge holds 520. Resolved with the current origin's id, Charmhub would refresh by id to
    // 520 and nothing would change; without one it installs 406 and records 2.0/edge.
    within(
        "refresh_to_revision",
        juju.refresh_to_revision("admission-webhook", "2.0/edge", 406, false),
    )
    .await
    .expect("refreshed");

    let app = t.sim.model().application("admission-webhook").expect("app");
    assert_eq!((app.channel.as_str(), app.revision), ("2.0/edge", 406));
    t.assert_schema_clean();
}

#[tokio::test]
async fn refresh_to_the_revision_already_running_writes_nothing() {
    let t = start(Twin::ckf_1_11()).await;
    let juju = client(&t).await;

    let outcome = within(
        "refresh_to_revision",
        juju.refresh_to_revision("admission-webhook", "1.10/stable", 406, true),
    )
    .await
    .expect("up to date");

    assert_eq!(outcome.to_url, outcome.from_url);
    assert_eq!(outcome.to_revision, Some(406));
    assert_eq!(
        t.juju_writes(),
        0,
        "the CLI's ErrAlreadyUpToDate path writes nothing"
    );
    t.assert_schema_clean();
}

#[tokio::test]
async fn refresh_to_the_same_revision_on_another_channel_only_moves_the_channel() {
    let t = start(Twin::ckf_1_11()).await;
    t.sim
        .model()
        .refresh_settled("kfp-viz", "2.15/edge")
        .expect("kfp-viz on edge");
    let juju = client(&t).await;

    within(
        "refresh_to_revision",
        juju.refresh_to_revision("kfp-viz", "2.15/beta", 1873, false),
    )
    .await
    .expect("channel moved");

    let app = t.sim.model().application("kfp-viz").expect("kfp-viz");
    assert_eq!((app.channel.as_str(), app.revision), ("2.15/beta", 1873));
    assert!(
        writes(&t, "Charms.AddCharm").is_empty(),
        "same URL: no AddCharm"
    );
    assert_eq!(writes(&t, "Application.SetCharm").len(), 1);
    t.assert_schema_clean();
}

#[tokio::test]
async fn refresh_to_an_unknown_revision_fails_with_jujus_text_and_changes_nothing() {
    let t = start(Twin::ckf_1_11()).await;
    admission_webhook_on_ambient(&t);
    let juju = client(&t).await;
    let before = t.juju_writes();

    let err = within(
        "refresh_to_revision",
        juju.refresh_to_revision("admission-webhook", "1.10/stable", 9999, false),
    )
    .await
    .expect_err("no such revision");

    let Error::Call {
        method, message, ..
    } = &err
    else {
        panic!("expected Juju's refusal, got {err:?}");
    };
    assert_eq!(method, "ResolveCharms");
    assert!(
        message.starts_with(
            "selecting releases: charm or bundle not found for channel \"1.10/stable\", base \
             \"amd64/ubuntu/22.04\"\navailable releases are:"
        ),
        "{message}"
    );
    assert_eq!(t.juju_writes(), before, "nothing written");
    let app = t.sim.model().application("admission-webhook").expect("app");
    assert_eq!((app.channel.as_str(), app.revision), ("2.0/edge", 520));
    t.assert_schema_clean();
}

#[tokio::test]
async fn deploy_with_revision_base_and_units_gives_that_revision_base_and_units() {
    let t = start(Twin::ckf_1_11().without_katib()).await;
    let juju = client(&t).await;
    let spec = DeploySpec {
        application: "katib-controller".into(),
        charm: "katib-controller".into(),
        // 921 is the edge revision: by revision Charmhub installs it whatever the channel, which
        // is only recorded for later refreshes.
        channel: "0.19/stable".into(),
        units: 2,
        revision: Some(921),
        base: Some(Base {
            name: "ubuntu".into(),
            channel: "22.04".into(),
        }),
        ..DeploySpec::default()
    };

    within("deploy", juju.deploy(&spec))
        .await
        .expect("deployed");
    let status = within("FullStatus", juju.full_status())
        .await
        .expect("status");

    let app = &status.applications["katib-controller"];
    assert_eq!(app.revision, Some(921));
    assert_eq!(app.channel, "0.19/stable");
    assert_eq!(
        app.base
            .as_ref()
            .map(|b| (b.name.as_str(), b.channel.as_str())),
        Some(("ubuntu", "22.04"))
    );
    assert_eq!(app.units.len(), 2);
    let sent = writes(&t, "Application.DeployFromRepository");
    assert_eq!(sent[0]["Args"][0]["revision"], 921);
    assert_eq!(
        sent[0]["Args"][0]["base"],
        serde_json::json!({"name": "ubuntu", "channel": "22.04/stable"})
    );
    t.assert_schema_clean();
}

#[tokio::test]
async fn deploy_of_an_unknown_revision_fails_as_juju_does_and_adds_nothing() {
    let t = start(Twin::ckf_1_11().without_katib()).await;
    let juju = client(&t).await;
    let spec = DeploySpec {
        application: "katib-controller".into(),
        charm: "katib-controller".into(),
        channel: "0.19/stable".into(),
        units: 1,
        revision: Some(4),
        base: Some(Base {
            name: "ubuntu".into(),
            channel: "22.04".into(),
        }),
        ..DeploySpec::default()
    };

    let err = within("deploy", juju.deploy(&spec))
        .await
        .expect_err("no revision 4");

    assert!(
        err.to_string().contains(
            "selecting releases: charm or bundle not found for channel \"0.19/stable\", base \
             \"amd64/ubuntu/22.04/stable\""
        ),
        "{err}"
    );
    assert!(t.sim.model().application("katib-controller").is_none());
    t.assert_schema_clean();
}

#[tokio::test]
async fn unset_config_resets_an_option_to_its_default() {
    let t = start(Twin::ckf_1_11()).await;
    let juju = client(&t).await;
    within(
        "set_config",
        juju.set_config(
            "admission-webhook",
            &BTreeMap::from([("port".to_owned(), "5555".to_owned())]),
        ),
    )
    .await
    .expect("set");
    let set = within("Get", juju.application_config("admission-webhook"))
        .await
        .expect("get");

    within(
        "unset_config",
        juju.unset_config("admission-webhook", &["port".to_owned()]),
    )
    .await
    .expect("reset");
    let reset = within("Get", juju.application_config("admission-webhook"))
        .await
        .expect("get");

    assert_eq!(set.options["port"].source, "user");
    assert_eq!(reset.options["port"].source, "default");
    assert_eq!(reset.options["port"].as_config_string(), "4443");
    t.assert_schema_clean();
}

#[tokio::test]
async fn unset_config_of_nothing_sends_nothing_and_an_unknown_option_is_jujus_error() {
    let t = start(Twin::ckf_1_11()).await;
    let juju = client(&t).await;

    within("unset none", juju.unset_config("admission-webhook", &[]))
        .await
        .expect("nothing to do");
    let sent_for_none = calls(&t, "Application.UnsetApplicationsConfig");
    let err = within(
        "unset unknown",
        juju.unset_config("admission-webhook", &["nope".to_owned()]),
    )
    .await
    .expect_err("unknown option");

    assert_eq!(sent_for_none, 0);
    assert!(err.to_string().contains("unknown option \"nope\""), "{err}");
    t.assert_schema_clean();
}

#[tokio::test]
async fn scale_application_changes_the_unit_count_and_the_statefulset_follows() {
    let t = start(Twin::ckf_1_11()).await;
    let juju = client(&t).await;

    within("scale up", juju.scale_application("kfp-api", 3))
        .await
        .expect("scaled up");
    let up = within("FullStatus", juju.full_status())
        .await
        .expect("status");
    within("scale down", juju.scale_application("kfp-api", 1))
        .await
        .expect("scaled down");
    let down = within("FullStatus", juju.full_status())
        .await
        .expect("status");
    let replicas = within("the StatefulSet follows", async {
        loop {
            let set = t
                .sim
                .store()
                .get("apps/v1", "StatefulSet", Some("kubeflow"), "kfp-api");
            let replicas = set.and_then(|s| s["spec"]["replicas"].as_i64());
            if replicas == Some(1) {
                return replicas;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;

    let kfp = &up.applications["kfp-api"];
    assert_eq!((kfp.units.len(), kfp.scale), (3, 3));
    let kfp = &down.applications["kfp-api"];
    assert_eq!(kfp.units.keys().collect::<Vec<_>>(), ["kfp-api/0"]);
    assert_eq!(replicas, Some(1));
    t.assert_schema_clean();
}

#[tokio::test]
async fn scaling_an_application_that_does_not_exist_is_jujus_error() {
    let t = start(Twin::ckf_1_11()).await;
    let juju = client(&t).await;

    let err = within("scale", juju.scale_application("nope", 2))
        .await
        .expect_err("no such application");

    assert!(
        err.to_string()
            .contains("application \"nope\" does not exist"),
        "{err}"
    );
    t.assert_schema_clean();
}
