//! Login outcomes, facade version sets and call routing, driven over the real TLS websocket.

mod juju_support;

use std::net::SocketAddr;

use ckf_sim::model::{ControllerVersion, ModelConfig, Redirect, Timing};
use juju_support::{ADMIN, OUTSIDER, READER, Twin, error_of};
use serde_json::{Value, json};

fn versions(login: &Value, facade: &str) -> Vec<u64> {
    login["response"]["facades"]
        .as_array()
        .expect("facades list")
        .iter()
        .find(|f| f["name"] == facade)
        .map(|f| {
            f["versions"]
                .as_array()
                .expect("versions")
                .iter()
                .filter_map(Value::as_u64)
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn login_succeeds_with_a_full_login_result() {
    let twin = Twin::start().await;
    let mut client = twin.connect().await;

    let reply = client.login(ADMIN.0, ADMIN.1).await;

    let result = &reply["response"];
    assert!(reply.get("error").is_none(), "{reply}");
    assert_eq!(result["model-tag"], format!("model-{}", twin.model.uuid()));
    assert!(
        result["controller-tag"]
            .as_str()
            .expect("tag")
            .starts_with("controller-")
    );
    assert_eq!(result["server-version"], "3.6.11");
    assert_eq!(result["user-info"]["identity"], "user-admin");
    assert_eq!(result["user-info"]["model-access"], "admin");
    let server = &result["servers"][0][0];
    assert_eq!(server["value"], "127.0.0.1");
    assert_eq!(server["port"], twin.controller.addr().port());
    assert_eq!(server["type"], "ipv4");
    assert!(server.get("Address").is_none(), "HostPort is flattened");
}

#[tokio::test]
async fn facade_versions_are_those_of_3_6_11() {
    let twin = Twin::start().await;
    let mut client = twin.connect().await;

    let reply = client.login(ADMIN.0, ADMIN.1).await;

    assert_eq!(
        versions(&reply, "Application"),
        (15..=22).collect::<Vec<_>>()
    );
    assert_eq!(versions(&reply, "Client"), vec![6, 7, 8]);
    assert_eq!(versions(&reply, "Charms"), vec![5, 6, 7]);
    assert_eq!(versions(&reply, "Resources"), vec![3]);
    assert_eq!(versions(&reply, "Pinger"), vec![1]);
    assert_eq!(versions(&reply, "AllWatcher"), vec![3]);
    assert_eq!(versions(&reply, "ModelConfig"), vec![3]);
    assert_eq!(versions(&reply, "Secrets"), vec![1, 2]);
    assert_eq!(
        versions(&reply, "Uniter"),
        vec![19, 20],
        "agent facades are listed too"
    );
    assert!(
        versions(&reply, "Admin").is_empty(),
        "Admin is never listed"
    );
}

#[tokio::test]
async fn a_3_6_0_controller_serves_application_up_to_20() {
    let twin = Twin::start_with(ModelConfig {
        version: ControllerVersion::V3_6_0,
        timing: Timing::fast(),
        ..ModelConfig::default()
    })
    .await;
    let mut client = twin.connect().await;

    let reply = client.login(ADMIN.0, ADMIN.1).await;
    let v22 = client
        .call(
            "Application",
            22,
            "Get",
            json!({"application": "x", "branch": ""}),
        )
        .await;

    assert_eq!(reply["response"]["server-version"], "3.6.0");
    assert_eq!(
        versions(&reply, "Application"),
        (15..=20).collect::<Vec<_>>()
    );
    assert_eq!(
        error_of(&v22),
        (
            r#"unknown version (22) of interface "Application""#.into(),
            "not implemented".into()
        )
    );
}

#[tokio::test]
async fn a_wrong_password_or_unknown_user_is_unauthorized() {
    let twin = Twin::start().await;

    let wrong = twin.connect().await.login(ADMIN.0, "nope").await;
    let unknown = twin.connect().await.login("nobody", "whatever").await;

    let expected = (
        "invalid entity name or password".to_string(),
        "unauthorized access".to_string(),
    );
    assert_eq!(error_of(&wrong), expected);
    assert_eq!(error_of(&unknown), expected);
    assert_eq!(wrong["response"], json!({}));
    assert!(
        !wrong.to_string().contains("nope"),
        "the password is never echoed"
    );
}

#[tokio::test]
async fn a_user_without_model_access_is_denied() {
    let twin = Twin::start().await;

    let reply = twin.connect().await.login(OUTSIDER.0, OUTSIDER.1).await;

    assert_eq!(
        error_of(&reply),
        ("permission denied".into(), "unauthorized access".into())
    );
}

#[tokio::test]
async fn empty_credentials_get_the_bakery_discharge_form_not_an_error() {
    let twin = Twin::start().await;

    let reply = twin.connect().await.login(ADMIN.0, "").await;

    assert!(reply.get("error").is_none(), "{reply}");
    let result = &reply["response"];
    assert!(result["bakery-discharge-required"].is_object());
    assert!(result["discharge-required-error"].is_string());
    assert!(result.get("user-info").is_none());
}

#[tokio::test]
async fn admin_versions_other_than_3_are_not_supported() {
    let twin = Twin::start().await;
    let mut client = twin.connect().await;

    let reply = client
        .call(
            "Admin",
            2,
            "Login",
            json!({"auth-tag": "user-admin", "credentials": ADMIN.1}),
        )
        .await;

    assert_eq!(
        error_of(&reply),
        (
            "this version of Juju does not support login from old clients".into(),
            "not supported".into()
        )
    );
}

#[tokio::test]
async fn a_second_login_is_refused() {
    let twin = Twin::start().await;
    let mut client = twin.admin().await;

    let reply = client.login(ADMIN.0, ADMIN.1).await;

    assert_eq!(error_of(&reply).0, "already logged in");
}

#[tokio::test]
async fn calls_before_login_fail_as_unknown_versions() {
    let twin = Twin::start().await;
    let mut client = twin.connect().await;

    let reply = client
        .call("Client", 8, "FullStatus", json!({"patterns": []}))
        .await;

    assert_eq!(
        error_of(&reply),
        (
            r#"unknown version (8) of interface "Client""#.into(),
            "not implemented".into()
        )
    );
}

#[tokio::test]
async fn an_unknown_model_uuid_fails_every_call() {
    let twin = Twin::start().await;
    let mut client = twin
        .connect_path("/model/00000000-0000-4000-8000-000000000000/api")
        .await;

    let login = client.login(ADMIN.0, ADMIN.1).await;
    let ping = client.call("Pinger", 1, "Ping", json!({})).await;

    let expected = (
        r#"unknown model: "00000000-0000-4000-8000-000000000000""#.to_string(),
        "model not found".to_string(),
    );
    assert_eq!(error_of(&login), expected);
    assert_eq!(error_of(&ping), expected);
}

#[tokio::test]
async fn a_controller_only_login_refuses_model_facades() {
    let twin = Twin::start().await;
    let mut client = twin.connect_path("/api").await;

    let login = client.login(ADMIN.0, ADMIN.1).await;
    let status = client
        .call("Client", 8, "FullStatus", json!({"patterns": []}))
        .await;
    let ping = client.call("Pinger", 1, "Ping", json!({})).await;

    assert!(login.get("error").is_none(), "{login}");
    assert!(login["response"].get("model-tag").is_none());
    assert_eq!(
        error_of(&status),
        (
            r#"facade "Client" not supported for controller API connection"#.into(),
            "not supported".into()
        )
    );
    assert_eq!(ping["response"], json!({}));
}

#[tokio::test]
async fn the_root_path_is_a_controller_login_too() {
    let twin = Twin::start().await;
    let mut client = twin.connect_path("/").await;

    let login = client.login(OUTSIDER.0, OUTSIDER.1).await;

    assert!(
        login.get("error").is_none(),
        "no model access needed: {login}"
    );
}

#[tokio::test]
async fn a_moved_model_answers_redirection_required_with_servers() {
    let twin = Twin::start().await;
    let target: SocketAddr = "127.0.0.2:17070".parse().expect("addr");
    twin.model.faults().model_moved(Redirect {
        addr: target,
        ca_cert: "-----BEGIN CERTIFICATE-----\nnew\n-----END CERTIFICATE-----\n".into(),
        controller_tag: "controller-5e3a1f2b-0000-4000-8000-000000000001".into(),
        controller_alias: "elsewhere".into(),
    });

    let reply = twin.connect().await.login(ADMIN.0, ADMIN.1).await;

    assert_eq!(
        error_of(&reply),
        ("redirection required".into(), "redirection required".into())
    );
    let info = &reply["error-info"];
    assert_eq!(info["servers"][0][0]["value"], "127.0.0.2");
    assert_eq!(info["servers"][0][0]["port"], 17070);
    assert_eq!(info["controller-alias"], "elsewhere");
    assert!(
        info["ca-cert"]
            .as_str()
            .expect("ca")
            .contains("BEGIN CERTIFICATE")
    );
}

#[tokio::test]
async fn redirect_info_on_a_plain_controller_is_not_redirected() {
    let twin = Twin::start().await;
    let mut client = twin.connect().await;

    let reply = client.call("Admin", 3, "RedirectInfo", json!({})).await;

    assert_eq!(error_of(&reply), ("not redirected".into(), String::new()));
}

#[tokio::test]
async fn unknown_facades_versions_and_methods_fail_as_juju_words_them() {
    let twin = Twin::start().await;
    let mut client = twin.admin().await;

    let no_version = client.call("Client", 0, "FullStatus", json!({})).await;
    let unknown_facade = client.call("Foo", 5, "Bar", json!({})).await;
    let unknown_version = client.call("Client", 5, "FullStatus", json!({})).await;
    let unknown_method = client.call("Client", 8, "Nope", json!({})).await;
    let unserved_method = client.call("Application", 22, "AddUnits", json!({})).await;
    let old_deploy = client
        .call(
            "Application",
            18,
            "DeployFromRepository",
            json!({"Args": []}),
        )
        .await;

    assert_eq!(
        error_of(&no_version),
        (
            r#"unknown object type "Client""#.into(),
            "not implemented".into()
        )
    );
    assert_eq!(
        error_of(&unknown_facade),
        (
            r#"unknown version (5) of interface "Foo""#.into(),
            "not implemented".into()
        )
    );
    assert_eq!(
        error_of(&unknown_version),
        (
            r#"unknown version (5) of interface "Client""#.into(),
            "not implemented".into()
        )
    );
    assert_eq!(
        error_of(&unknown_method),
        (
            "no such request - method Client(8).Nope is not implemented".into(),
            "not implemented".into()
        )
    );
    assert_eq!(
        error_of(&unserved_method),
        (
            "no such request - method Application(22).AddUnits is not implemented".into(),
            "not implemented".into()
        )
    );
    assert_eq!(
        error_of(&old_deploy).0,
        "no such request - method Application(18).DeployFromRepository is not implemented"
    );
}

#[tokio::test]
async fn a_read_only_user_cannot_write() {
    let twin = Twin::start().await;
    let mut client = twin.connect().await;
    assert!(
        client
            .login(READER.0, READER.1)
            .await
            .get("error")
            .is_none()
    );

    let status = client
        .call("Client", 8, "FullStatus", json!({"patterns": []}))
        .await;
    let write = client
        .call(
            "Application",
            22,
            "AddRelation",
            json!({"endpoints": ["a", "b"]}),
        )
        .await;

    assert!(status.get("error").is_none(), "{status}");
    assert_eq!(
        error_of(&write),
        ("permission denied".into(), "unauthorized access".into())
    );
}

#[tokio::test]
async fn ping_answers_an_empty_response() {
    let twin = Twin::start().await;
    let mut client = twin.admin().await;

    let reply = client.call("Pinger", 1, "Ping", json!({})).await;

    assert_eq!(
        reply,
        json!({"request-id": reply["request-id"], "response": {}})
    );
}

#[tokio::test]
async fn messages_larger_than_tungstenites_default_frame_are_accepted() {
    let twin = Twin::start().await;
    let mut client = twin.admin().await;
    // 20 MiB: above tungstenite's 16 MiB default frame limit, below Juju's 64 MiB.
    let big = "x".repeat(20 << 20);

    let reply = client
        .call("Pinger", 1, "Ping", json!({"padding": big}))
        .await;

    assert_eq!(reply["response"], json!({}));
}

#[tokio::test]
async fn start_serves_on_loopback_with_its_own_ca() {
    let twin = Twin::start_default().await;
    let mut client = twin.connect().await;

    let reply = client.login(ADMIN.0, ADMIN.1).await;

    assert!(twin.controller.addr().ip().is_loopback());
    assert!(reply.get("error").is_none(), "{reply}");
}

#[tokio::test]
async fn a_client_close_is_answered_and_the_connection_ends() {
    let twin = Twin::start().await;
    let mut client = twin.admin().await;

    client.close().await;
    let after = client.recv().await;

    assert_eq!(after, None);
}
