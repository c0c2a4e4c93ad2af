//! SetConfigs / Get / CharmConfig / UnsetApplicationsConfig and trust.

mod juju_support;

use ckf_sim::model::ModelEvent;
use juju_support::{Twin, settled, wait_event};
use serde_json::json;

fn deploy(twin: &Twin) {
    twin.model
        .deploy_settled(
            "kserve-controller",
            "kserve-controller",
            "0.15/stable",
            &[("deployment-mode", "serverless")],
            false,
        )
        .expect("kserve");
    twin.model
        .deploy_settled("dex-auth", "dex-auth", "2.41/stable", &[], true)
        .expect("dex");
}

#[tokio::test]
async fn set_configs_answers_per_item_with_jujus_parse_errors() {
    let twin = Twin::start().await;
    deploy(&twin);
    let mut client = twin.admin().await;

    let reply = client
        .ok("Application", 22, "SetConfigs", json!({"Args": [
            {"application": "kserve-controller", "config": {"deployment-mode": "rawdeployment"}, "config-yaml": "", "generation": ""},
            {"application": "dex-auth", "config": {"port": "abc"}, "config-yaml": "", "generation": ""},
            {"application": "dex-auth", "config": {"nope": "x"}, "config-yaml": "", "generation": ""},
            {"application": "missing", "config": {"a": "b"}, "config-yaml": "", "generation": ""},
            {"application": "dex-auth", "config": {"enable-password-db": "maybe"}, "config-yaml": "", "generation": ""}]}))
        .await;

    let results = reply["results"].as_array().expect("results");
    assert_eq!(results[0], json!({}));
    assert_eq!(
        results[1]["error"],
        json!({"message": r#"option "port" expected int, got "abc""#, "code": ""})
    );
    assert_eq!(results[2]["error"]["message"], r#"unknown option "nope""#);
    assert_eq!(
        results[3]["error"],
        json!({"message": r#"application "missing" not found"#, "code": "not found"})
    );
    assert_eq!(
        results[4]["error"]["message"],
        r#"option "enable-password-db" expected boolean, got "maybe""#
    );
    let kserve = twin.model.application("kserve-controller").expect("kserve");
    assert_eq!(kserve.config["deployment-mode"], json!("rawdeployment"));
    assert_eq!(
        twin.model.application("dex-auth").expect("dex").config["port"],
        json!(5556)
    );
}

#[tokio::test]
async fn a_config_change_runs_config_changed_and_emits_an_event() {
    let twin = Twin::start().await;
    deploy(&twin);
    let mut events = twin.model.subscribe();
    twin.model.faults().hold_settling("dex-auth");
    let mut client = twin.admin().await;

    client
        .ok("Application", 22, "SetConfigs", json!({"Args": [
            {"application": "dex-auth", "config": {"static-username": "admin"}, "config-yaml": "", "generation": ""}]}))
        .await;
    let executing = client.status().await;
    let event = wait_event(&mut events, "config changed", |e| {
        matches!(e, ModelEvent::ConfigChanged { .. })
    })
    .await;
    twin.model.faults().release_settling();
    settled(&mut events, "dex-auth").await;

    let agent = &executing["applications"]["dex-auth"]["units"]["dex-auth/0"]["agent-status"];
    assert_eq!(agent["status"], "executing");
    assert_eq!(agent["info"], "running config-changed hook");
    assert_eq!(
        event,
        ModelEvent::ConfigChanged {
            app: "dex-auth".into(),
            key: "static-username".into(),
            value: "admin".into()
        }
    );
}

#[tokio::test]
async fn trust_is_routed_to_application_config() {
    let twin = Twin::start().await;
    deploy(&twin);
    let mut events = twin.model.subscribe();
    let mut client = twin.admin().await;

    let reply = client
        .ok("Application", 22, "SetConfigs", json!({"Args": [
            {"application": "kserve-controller", "config": {"trust": "true"}, "config-yaml": "", "generation": ""}]}))
        .await;
    let event = wait_event(&mut events, "trust changed", |e| {
        matches!(e, ModelEvent::TrustChanged { .. })
    })
    .await;
    let get = client
        .ok(
            "Application",
            22,
            "Get",
            json!({"application": "kserve-controller", "branch": ""}),
        )
        .await;

    assert_eq!(reply["results"][0], json!({}));
    assert_eq!(
        event,
        ModelEvent::TrustChanged {
            app: "kserve-controller".into(),
            trust: true
        }
    );
    let trust = &get["application-config"]["trust"];
    assert_eq!(trust["value"], true);
    assert_eq!(trust["type"], "bool");
    assert_eq!(trust["source"], "user");
}

#[tokio::test]
async fn get_describes_each_option_with_source_value_and_default() {
    let twin = Twin::start().await;
    deploy(&twin);
    let mut client = twin.admin().await;

    let get = client
        .ok(
            "Application",
            22,
            "Get",
            json!({"application": "kserve-controller", "branch": ""}),
        )
        .await;
    let missing = client
        .call(
            "Application",
            22,
            "Get",
            json!({"application": "nope", "branch": ""}),
        )
        .await;

    assert_eq!(get["application"], "kserve-controller");
    assert_eq!(get["charm"], "kserve-controller");
    assert_eq!(get["channel"], "0.15/stable");
    let mode = &get["config"]["deployment-mode"];
    assert_eq!(mode["type"], "string");
    assert_eq!(mode["source"], "user");
    assert_eq!(mode["value"], "serverless");
    assert_eq!(mode["default"], "serverless");
    let images = &get["config"]["custom_images"];
    assert_eq!(images["source"], "default");
    assert_eq!(get["application-config"]["trust"]["value"], false);
    assert_eq!(missing["error-code"], "not found");
}

#[tokio::test]
async fn charm_config_returns_results_per_application() {
    let twin = Twin::start().await;
    deploy(&twin);
    let mut client = twin.admin().await;

    let reply = client
        .ok(
            "Application",
            22,
            "CharmConfig",
            json!({"args": [
            {"application": "dex-auth", "branch": ""}, {"application": "nope", "branch": ""}]}),
        )
        .await;

    assert_eq!(reply["Results"][0]["config"]["port"]["value"], 5556);
    assert_eq!(reply["Results"][1]["error"]["code"], "not found");
}

#[tokio::test]
async fn unset_resets_options_to_their_defaults() {
    let twin = Twin::start().await;
    deploy(&twin);
    let mut client = twin.admin().await;

    let reply = client
        .ok(
            "Application",
            22,
            "UnsetApplicationsConfig",
            json!({"Args": [
            {"application": "kserve-controller", "branch": "", "options": ["deployment-mode"]},
            {"application": "kserve-controller", "branch": "", "options": ["nope"]}]}),
        )
        .await;

    assert_eq!(reply["results"][0], json!({}));
    assert_eq!(
        reply["results"][1]["error"]["message"],
        r#"unknown option "nope""#
    );
    let app = twin.model.application("kserve-controller").expect("app");
    assert!(app.user_config.is_empty());
    assert_eq!(app.config["deployment-mode"], json!("serverless"));
}

#[tokio::test]
async fn config_yaml_is_keyed_by_application_name() {
    let twin = Twin::start().await;
    deploy(&twin);
    let mut client = twin.admin().await;

    let reply = client
        .ok("Application", 22, "SetConfigs", json!({"Args": [
            {"application": "dex-auth", "config": {}, "config-yaml": "dex-auth:\n  port: 5557\n", "generation": ""},
            {"application": "dex-auth", "config": {}, "config-yaml": "other:\n  port: 1\n", "generation": ""}]}))
        .await;

    assert_eq!(reply["results"][0], json!({}));
    assert_eq!(
        reply["results"][1]["error"]["message"],
        r#"no settings found for "dex-auth""#
    );
    assert_eq!(
        twin.model.application("dex-auth").expect("dex").config["port"],
        json!(5557)
    );
}
