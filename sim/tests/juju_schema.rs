//! Every request is checked against Juju's schema: violations are refused and recorded.

mod juju_support;

use ckf_sim::model::Direction;
use juju_support::{Twin, error_of};
use serde_json::json;

#[tokio::test]
async fn a_misspelled_key_is_refused_and_recorded() {
    let twin = Twin::start().await;
    twin.model
        .deploy_settled("kfp-viz", "kfp-viz", "2.15/stable", &[], false)
        .expect("kfp-viz");
    let mut client = twin.admin().await;

    let reply = client
        .call(
            "Application",
            22,
            "DestroyApplication",
            json!({"applications": [
            {"aplication-tag": "application-kfp-viz", "force": false}]}),
        )
        .await;

    assert_eq!(
        error_of(&reply),
        (
            "bad request: schema violation: params.applications[0].aplication-tag: unknown key"
                .into(),
            "bad request".into()
        )
    );
    let stats = twin.model.requests();
    let violations = stats.request_violations();
    assert_eq!(violations.len(), 1);
    assert_eq!(violations[0].direction, Direction::Request);
    assert_eq!(violations[0].facade, "Application");
    assert_eq!(violations[0].version, 22);
    assert_eq!(violations[0].method, "DestroyApplication");
    assert_eq!(violations[0].path, "params.applications[0].aplication-tag");
    assert!(
        twin.model.application("kfp-viz").expect("still there").life == ckf_sim::model::Life::Alive
    );
}

#[tokio::test]
async fn a_lowercase_args_key_on_deploy_from_repository_is_refused() {
    let twin = Twin::start().await;
    let mut client = twin.admin().await;

    let reply = client
        .call(
            "Application",
            22,
            "DeployFromRepository",
            json!({"args": [{"charm-name": "istio-k8s"}]}),
        )
        .await;

    // Go matches "args" to Args case-insensitively, but "charm-name" is not CharmName.
    assert_eq!(
        error_of(&reply).0,
        "bad request: schema violation: params.args[0].charm-name: unknown key"
    );
    assert!(twin.model.applications().is_empty());
}

#[tokio::test]
async fn a_wrong_type_is_refused() {
    let twin = Twin::start().await;
    let mut client = twin.admin().await;

    let reply = client
        .call(
            "Application",
            22,
            "AddRelation",
            json!({"endpoints": "kfp-api kfp-viz"}),
        )
        .await;

    assert_eq!(
        error_of(&reply).0,
        "bad request: schema violation: params.endpoints: expected array, got string"
    );
}

#[tokio::test]
async fn keys_differing_only_in_case_are_accepted_like_go_does() {
    let twin = Twin::start().await;
    twin.model
        .deploy_settled("kfp-viz", "kfp-viz", "2.15/stable", &[], false)
        .expect("kfp-viz");
    let mut client = twin.admin().await;

    let reply = client
        .call(
            "Application",
            22,
            "DestroyApplication",
            json!({"Applications": [
            {"Application-Tag": "application-kfp-viz", "Force": false}]}),
        )
        .await;

    assert!(reply.get("error").is_none(), "{reply}");
    assert!(twin.model.requests().violations.is_empty());
}

#[tokio::test]
async fn envelope_mistakes_are_refused() {
    let twin = Twin::start().await;
    let mut client = twin.admin().await;

    client
        .send_raw(json!({"request-id": 0, "type": "Pinger", "version": 1, "request": "Ping"}))
        .await;
    let zero = client.recv().await.expect("reply");
    client.send_raw(json!({"request-id": 9, "type": "Pinger", "version": 1, "request": "Ping", "param": {}})).await;
    let unknown = client.recv().await.expect("reply");

    assert_eq!(error_of(&zero).1, "bad request");
    assert_eq!(
        error_of(&unknown),
        (
            "bad request: schema violation: param: unknown key".into(),
            "bad request".into()
        )
    );
    assert_eq!(unknown["request-id"], 9);
    assert_eq!(twin.model.requests().request_violations().len(), 2);
}

#[tokio::test]
async fn a_login_with_a_misspelled_key_is_refused() {
    let twin = Twin::start().await;
    let mut client = twin.connect().await;

    let reply = client
        .call(
            "Admin",
            3,
            "Login",
            json!({"auth-tag": "user-admin", "credential": "x"}),
        )
        .await;

    assert_eq!(
        error_of(&reply).0,
        "bad request: schema violation: params.credential: unknown key"
    );
}

#[tokio::test]
async fn requests_and_writes_are_counted() {
    let twin = Twin::start().await;
    let mut client = twin.admin().await;

    client.status().await;
    client.status().await;
    client
        .call(
            "Application",
            22,
            "AddRelation",
            json!({"endpoints": ["a", "b"]}),
        )
        .await;

    let stats = twin.model.requests();
    assert_eq!(stats.count("Admin.Login"), 1);
    assert_eq!(stats.count("Client.FullStatus"), 2);
    assert_eq!(stats.count("Application.AddRelation"), 1);
    assert_eq!(
        twin.model.writes_since_start(),
        1,
        "a failed write still counts"
    );
}
