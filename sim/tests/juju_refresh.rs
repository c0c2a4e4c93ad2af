//! The refresh sequence of juju-api.md §5(d): origins, resolve, add, resources, SetCharm.

mod juju_support;

use ckf_sim::model::ModelEvent;
use juju_support::{Twin, error_of, refresh, settled, wait_event};
use serde_json::{Value, json};

fn origin(twin: &Twin, app: &str) -> Value {
    let view = twin.model.application(app).expect("app");
    json!({"source": "charm-hub", "type": "charm", "id": view.charm_id, "hash": view.charm_hash,
           "revision": view.revision, "track": "0.15", "risk": "edge", "architecture": "amd64",
           "base": {"name": "ubuntu", "channel": "22.04"}})
}

#[tokio::test]
async fn refresh_uploads_the_changed_image_and_keeps_the_unchanged_one() {
    let twin = Twin::start().await;
    twin.model
        .deploy_settled(
            "kserve-controller",
            "kserve-controller",
            "0.15/stable",
            &[("deployment-mode", "serverless")],
            true,
        )
        .expect("kserve");
    let mut events = twin.model.subscribe();
    twin.model.faults().hold_settling("kserve-controller");
    let mut client = twin.admin().await;

    let (reply, uploaded) = refresh(&mut client, "kserve-controller", "0.15/edge").await;
    let upgrading = client.status().await;
    twin.model.faults().release_settling();
    let refreshed = wait_event(&mut events, "refreshed", |e| {
        matches!(e, ModelEvent::Refreshed { .. })
    })
    .await;
    settled(&mut events, "kserve-controller").await;
    let done = client.status().await;

    assert_eq!(reply["response"], json!({}), "{reply}");
    assert_eq!(uploaded, vec!["kserve-controller-image".to_string()]);
    let app = twin.model.application("kserve-controller").expect("app");
    assert_eq!(app.resources["kserve-controller-image"], 549);
    assert_eq!(app.resources["kube-rbac-proxy-image"], 131);
    assert_eq!(
        refreshed,
        ModelEvent::Refreshed {
            app: "kserve-controller".into(),
            charm: "kserve-controller".into(),
            channel: "0.15/edge".into(),
            revision: 744
        }
    );
    let unit = &upgrading["applications"]["kserve-controller"]["units"]["kserve-controller/0"];
    assert_eq!(unit["workload-status"]["status"], "maintenance");
    assert_eq!(unit["workload-status"]["info"], "upgrading");
    assert_eq!(unit["agent-status"]["status"], "executing");
    let kserve = &done["applications"]["kserve-controller"];
    assert_eq!(kserve["charm"], "ch:amd64/kserve-controller-744");
    assert_eq!(kserve["charm-rev"], 744);
    assert_eq!(kserve["charm-channel"], "0.15/edge");
    assert_eq!(
        kserve["units"]["kserve-controller/0"]["agent-status"]["status"],
        "idle"
    );
}

#[tokio::test]
async fn a_refresh_keeps_user_config_and_gains_new_options_with_defaults() {
    let twin = Twin::start().await;
    twin.model
        .deploy_settled(
            "kubeflow-profiles",
            "kubeflow-profiles",
            "1.10/stable",
            &[("port", "9090")],
            true,
        )
        .expect("profiles");
    let mut client = twin.admin().await;

    let (reply, uploaded) = refresh(&mut client, "kubeflow-profiles", "2.0/edge").await;

    assert!(reply.get("error").is_none(), "{reply}");
    assert_eq!(uploaded.len(), 2, "both images changed");
    let app = twin.model.application("kubeflow-profiles").expect("app");
    assert_eq!(app.config["port"], json!(9090));
    assert_eq!(app.config["service-mesh-mode"], json!("istio-sidecar"));
}

#[tokio::test]
async fn get_charm_url_origin_describes_the_running_charm() {
    let twin = Twin::start().await;
    twin.model
        .deploy_settled("istio-pilot", "istio-pilot", "1.28/stable", &[], true)
        .expect("pilot");
    let mut client = twin.admin().await;

    let reply = client
        .ok(
            "Application",
            22,
            "GetCharmURLOrigin",
            json!({"application": "istio-pilot", "branch": ""}),
        )
        .await;
    let missing = client
        .ok(
            "Application",
            22,
            "GetCharmURLOrigin",
            json!({"application": "nope", "branch": ""}),
        )
        .await;

    assert_eq!(reply["url"], "ch:amd64/istio-pilot-1412");
    let o = &reply["charm-origin"];
    assert_eq!(o["source"], "charm-hub");
    assert_eq!(o["track"], "1.28");
    assert_eq!(o["risk"], "stable");
    assert_eq!(o["revision"], 1412);
    assert_eq!(o["architecture"], "amd64");
    assert_eq!(o["base"], json!({"name": "ubuntu", "channel": "22.04"}));
    assert_eq!(o["id"].as_str().expect("id").len(), 32);
    assert_eq!(o["hash"].as_str().expect("hash").len(), 64);
    assert_eq!(missing["error"]["code"], "not found");
}

#[tokio::test]
async fn the_origin_id_is_empty_until_the_deploy_download_finished() {
    let twin = Twin::start().await;
    twin.model.faults().hold_settling("istio-k8s");
    let mut client = twin.admin().await;
    client
        .ok(
            "Application",
            22,
            "DeployFromRepository",
            json!({"Args": [{"CharmName": "istio-k8s", "channel": "2/edge", "Trust": true}]}),
        )
        .await;

    let reply = client
        .ok(
            "Application",
            22,
            "GetCharmURLOrigin",
            json!({"application": "istio-k8s", "branch": ""}),
        )
        .await;

    assert_eq!(reply["charm-origin"]["id"], "");
    assert!(reply["charm-origin"].get("hash").is_none());
}

#[tokio::test]
async fn resolve_charms_checks_schema_and_architecture_per_item() {
    let twin = Twin::start().await;
    twin.model
        .deploy_settled(
            "kserve-controller",
            "kserve-controller",
            "0.15/stable",
            &[],
            true,
        )
        .expect("kserve");
    let mut client = twin.admin().await;
    let mut no_arch = origin(&twin, "kserve-controller");
    no_arch["architecture"] = json!("");

    let reply = client
        .ok("Charms", 7, "ResolveCharms", json!({"resolve": [
            {"reference": "ch:amd64/kserve-controller", "charm-origin": origin(&twin, "kserve-controller")},
            {"reference": "cs:kserve-controller", "charm-origin": origin(&twin, "kserve-controller")},
            {"reference": "ch:amd64/kserve-controller", "charm-origin": no_arch}]}))
        .await;

    let results = reply["Results"].as_array().expect("results");
    assert_eq!(results[0]["url"], "ch:amd64/kserve-controller-744");
    assert_eq!(results[0]["charm-origin"]["track"], "0.15");
    assert_eq!(results[0]["charm-origin"]["risk"], "edge");
    assert_eq!(results[0]["charm-origin"]["revision"], 744);
    assert_eq!(
        results[1]["error"]["message"],
        r#"unknown schema for charm URL "cs:kserve-controller""#
    );
    assert_eq!(
        results[2]["error"],
        json!({"message": "empty architecture not valid", "code": "not valid"})
    );
}

#[tokio::test]
async fn an_origin_without_id_but_with_a_revision_resolves_to_that_revision() {
    let twin = Twin::start().await;
    twin.model
        .deploy_settled(
            "kserve-controller",
            "kserve-controller",
            "0.15/stable",
            &[],
            true,
        )
        .expect("kserve");
    let mut client = twin.admin().await;
    let mut libjuju_style = origin(&twin, "kserve-controller");
    libjuju_style["id"] = json!("");
    libjuju_style["hash"] = json!("");

    let reply = client
        .ok(
            "Charms",
            7,
            "ResolveCharms",
            json!({"resolve": [
            {"reference": "ch:amd64/kserve-controller", "charm-origin": libjuju_style}]}),
        )
        .await;

    assert_eq!(
        reply["Results"][0]["url"], "ch:amd64/kserve-controller-701",
        "python-libjuju#1083"
    );
}

#[tokio::test]
async fn add_charm_requires_a_base() {
    let twin = Twin::start().await;
    let mut client = twin.admin().await;
    let mut o = json!({"source": "charm-hub", "type": "charm", "id": "", "risk": "edge", "track": "2", "architecture": "amd64"});

    let no_base = client
        .call(
            "Charms",
            7,
            "AddCharm",
            json!({"url": "ch:amd64/istio-k8s-61", "charm-origin": o, "force": false}),
        )
        .await;
    o["source"] = json!("local");
    let local = client
        .call(
            "Charms",
            7,
            "AddCharm",
            json!({"url": "local:istio-k8s-61", "charm-origin": o, "force": false}),
        )
        .await;

    assert_eq!(
        error_of(&no_base),
        (
            "base required for Charmhub charms".into(),
            "bad request".into()
        )
    );
    assert_eq!(
        error_of(&local).0,
        r#"unknown schema for charm URL "local:istio-k8s-61""#
    );
}

#[tokio::test]
async fn charm_info_needs_the_charm_added_and_lists_meta_resources() {
    let twin = Twin::start().await;
    let mut client = twin.admin().await;
    let o = json!({"source": "charm-hub", "type": "charm", "id": "", "risk": "edge", "track": "0.15",
                   "architecture": "amd64", "base": {"name": "ubuntu", "channel": "22.04"}});

    let before = client
        .call(
            "Charms",
            7,
            "CharmInfo",
            json!({"url": "ch:amd64/kserve-controller-744"}),
        )
        .await;
    client
        .ok(
            "Charms",
            7,
            "AddCharm",
            json!({"url": "ch:amd64/kserve-controller-744", "charm-origin": o, "force": false}),
        )
        .await;
    let info = client
        .ok(
            "Charms",
            7,
            "CharmInfo",
            json!({"url": "ch:amd64/kserve-controller-744"}),
        )
        .await;

    assert_eq!(
        error_of(&before),
        (
            r#"charm "ch:amd64/kserve-controller-744" not found"#.into(),
            "not found".into()
        )
    );
    let resources = info["meta"]["resources"].as_object().expect("resources");
    assert!(resources.contains_key("kserve-controller-image"));
    assert!(resources.contains_key("kube-rbac-proxy-image"));
    assert_eq!(
        info["meta"]["requires"]["gateway-metadata"]["interface"],
        "gateway_metadata"
    );
    assert_eq!(info["config"]["deployment-mode"]["default"], "serverless");
}

#[tokio::test]
async fn set_charm_validates_the_origin() {
    let twin = Twin::start().await;
    twin.model
        .deploy_settled("istio-k8s", "istio-k8s", "2/stable", &[], true)
        .expect("istio-k8s");
    let mut client = twin.admin().await;
    let set = |origin: Value| {
        json!({"application": "istio-k8s", "charm-url": "ch:amd64/istio-k8s-61",
        "charm-origin": origin, "channel": "edge", "force": false, "force-base": false, "force-units": false, "generation": ""})
    };

    let no_origin = client
        .call(
            "Application",
            22,
            "SetCharm",
            json!({"application": "istio-k8s", "charm-url": "ch:amd64/istio-k8s-61"}),
        )
        .await;
    let half = client
        .call(
            "Application",
            22,
            "SetCharm",
            set(json!({"source": "charm-hub", "type": "charm", "id": "abc", "hash": ""})),
        )
        .await;
    let bad_source = client
        .call(
            "Application",
            22,
            "SetCharm",
            set(json!({"source": "charm-store", "type": "charm", "id": ""})),
        )
        .await;
    let not_added = client.call("Application", 22, "SetCharm", set(json!({"source": "charm-hub", "type": "charm", "id": "", "track": "2", "risk": "edge"}))).await;

    assert_eq!(
        error_of(&no_origin),
        ("charm origin source required".into(), "bad request".into())
    );
    assert_eq!(
        error_of(&half),
        ("programming error, both CharmOrigin ID and Hash must be set or neither. See CharmHubRepository GetDownloadURL.".into(), "bad request".into())
    );
    assert_eq!(
        error_of(&bad_source),
        (
            r#""charm-store" not a valid charm origin source"#.into(),
            "bad request".into()
        )
    );
    assert_eq!(
        error_of(&not_added),
        (
            r#"charm "ch:amd64/istio-k8s-61" not found"#.into(),
            "not found".into()
        )
    );
    assert_eq!(
        twin.model.application("istio-k8s").expect("app").revision,
        55
    );
}

#[tokio::test]
async fn list_resources_shows_current_and_store_revisions() {
    let twin = Twin::start().await;
    twin.model
        .deploy_settled("kfp-api", "kfp-api", "2.15/stable", &[], false)
        .expect("kfp-api");
    let mut client = twin.admin().await;

    let reply = client
        .ok(
            "Resources",
            3,
            "ListResources",
            json!({"entities": [{"tag": "application-kfp-api"}, {"tag": "application-nope"}]}),
        )
        .await;

    let ok = &reply["results"][0];
    assert_eq!(ok["resources"][0]["name"], "oci-image");
    assert_eq!(ok["resources"][0]["revision"], 902);
    assert_eq!(ok["resources"][0]["application"], "kfp-api");
    assert!(
        ok["resources"][0]["fingerprint"].is_string(),
        "[]byte is base64"
    );
    assert_eq!(ok["charm-store-resources"][0]["revision"], 902);
    assert_eq!(ok["unit-resources"][0]["tag"], "unit-kfp-api-0");
    assert_eq!(reply["results"][1]["error"]["code"], "not found");
}
