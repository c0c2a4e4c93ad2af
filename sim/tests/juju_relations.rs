//! AddRelation / DestroyRelation: endpoint resolution and Juju's exact errors, checked against
//! the endpoints of the charm revision each application runs now.

mod juju_support;

use ckf_sim::model::{Model, ModelEvent};
use juju_support::{Twin, error_of, refresh, settled, wait_event};
use serde_json::json;

fn kfp(model: &Model) {
    model
        .deploy_settled("kfp-api", "kfp-api", "2.15/stable", &[], false)
        .expect("kfp-api");
    model
        .deploy_settled("kfp-viz", "kfp-viz", "2.15/stable", &[], false)
        .expect("kfp-viz");
    model
        .deploy_settled("minio", "minio", "1.10/stable", &[], false)
        .expect("minio");
}

#[tokio::test]
async fn relating_twice_fails_with_jujus_already_exists_text_in_canonical_order() {
    let twin = Twin::start().await;
    kfp(&twin.model);
    twin.model
        .relate_settled("kfp-api:kfp-viz", "kfp-viz:kfp-viz")
        .expect("first");
    let mut client = twin.admin().await;

    let reply = client
        .call(
            "Application",
            22,
            "AddRelation",
            json!({"endpoints": ["kfp-viz:kfp-viz", "kfp-api:kfp-viz"]}),
        )
        .await;

    assert_eq!(
        error_of(&reply),
        (
            r#"cannot add relation "kfp-api:kfp-viz kfp-viz:kfp-viz": relation kfp-api:kfp-viz kfp-viz:kfp-viz"#.into(),
            "already exists".into()
        )
    );
    assert_eq!(reply["response"], json!({}));
}

#[tokio::test]
async fn an_unknown_endpoint_names_the_application_and_endpoint_without_a_code() {
    let twin = Twin::start().await;
    kfp(&twin.model);
    let mut client = twin.admin().await;

    let reply = client
        .call(
            "Application",
            22,
            "AddRelation",
            json!({"endpoints": ["kfp-api:foo", "kfp-viz:kfp-viz"]}),
        )
        .await;

    assert_eq!(
        error_of(&reply),
        (
            r#"application "kfp-api" has no "foo" relation"#.into(),
            String::new()
        )
    );
}

#[tokio::test]
async fn resolution_errors_are_worded_as_juju_words_them() {
    let twin = Twin::start().await;
    kfp(&twin.model);
    twin.model
        .deploy_settled(
            "kubeflow-dashboard",
            "kubeflow-dashboard",
            "2.0/edge",
            &[],
            false,
        )
        .expect("dashboard");
    twin.model
        .deploy_settled(
            "istio-ingress-k8s",
            "istio-ingress-k8s",
            "2/edge",
            &[],
            true,
        )
        .expect("ingress");
    let mut client = twin.admin().await;

    let missing = client
        .call(
            "Application",
            22,
            "AddRelation",
            json!({"endpoints": ["nope", "kfp-viz"]}),
        )
        .await;
    let none = client
        .call(
            "Application",
            22,
            "AddRelation",
            json!({"endpoints": ["kfp-viz", "minio"]}),
        )
        .await;
    let three = client
        .call(
            "Application",
            22,
            "AddRelation",
            json!({"endpoints": ["a", "b", "c"]}),
        )
        .await;
    let ambiguous = client
        .call(
            "Application",
            22,
            "AddRelation",
            json!({"endpoints": ["kubeflow-dashboard", "istio-ingress-k8s"]}),
        )
        .await;

    assert_eq!(
        error_of(&missing),
        (r#"application "nope" not found"#.into(), "not found".into())
    );
    assert_eq!(
        error_of(&none),
        ("no relations found".into(), String::new())
    );
    assert_eq!(
        error_of(&three),
        ("cannot relate 3 endpoints".into(), String::new())
    );
    assert_eq!(
        error_of(&ambiguous).0,
        concat!(
            r#"ambiguous relation: "kubeflow-dashboard istio-ingress-k8s" could refer to "#,
            r#""kubeflow-dashboard:ingress istio-ingress-k8s:ingress"; "#,
            r#""kubeflow-dashboard:ingress istio-ingress-k8s:ingress-unauthenticated"; "#,
            r#""kubeflow-dashboard:istio-ingress-route istio-ingress-k8s:istio-ingress-route"; "#,
            r#""kubeflow-dashboard:istio-ingress-route istio-ingress-k8s:istio-ingress-route-unauthenticated""#
        )
    );
}

#[tokio::test]
async fn bare_application_names_resolve_to_the_one_matching_pair() {
    let twin = Twin::start().await;
    twin.model
        .deploy_settled("istio-k8s", "istio-k8s", "2/edge", &[], true)
        .expect("istio-k8s");
    twin.model
        .deploy_settled(
            "istio-ingress-k8s",
            "istio-ingress-k8s",
            "2/edge",
            &[],
            true,
        )
        .expect("ingress");
    let mut client = twin.admin().await;

    let reply = client
        .ok(
            "Application",
            22,
            "AddRelation",
            json!({"endpoints": ["istio-ingress-k8s", "istio-k8s"]}),
        )
        .await;

    assert_eq!(
        reply["endpoints"]["istio-k8s"],
        json!({"name": "istio-ingress-config", "role": "requirer", "interface": "istio_ingress_config",
               "optional": false, "limit": 1, "scope": "global"})
    );
    assert_eq!(reply["endpoints"]["istio-ingress-k8s"]["role"], "provider");
    let keys: Vec<String> = twin
        .model
        .relations()
        .iter()
        .map(|r| r.key.clone())
        .collect();
    assert!(
        keys.contains(
            &"istio-k8s:istio-ingress-config istio-ingress-k8s:istio-ingress-config".to_string()
        ),
        "{keys:?}"
    );
}

#[tokio::test]
async fn an_endpoint_missing_in_the_current_revision_is_refused_until_refresh() {
    let twin = Twin::start().await;
    twin.model
        .deploy_settled(
            "admission-webhook",
            "admission-webhook",
            "1.10/stable",
            &[],
            false,
        )
        .expect("webhook");
    twin.model
        .deploy_settled("istio-beacon-k8s", "istio-beacon-k8s", "2/edge", &[], true)
        .expect("beacon");
    let mut events = twin.model.subscribe();
    let mut client = twin.admin().await;
    let relate =
        json!({"endpoints": ["admission-webhook:service-mesh", "istio-beacon-k8s:service-mesh"]});

    let before = client
        .call("Application", 22, "AddRelation", relate.clone())
        .await;
    let (set_charm, _) = refresh(&mut client, "admission-webhook", "2.0/edge").await;
    settled(&mut events, "admission-webhook").await;
    let after = client.call("Application", 22, "AddRelation", relate).await;

    assert_eq!(
        error_of(&before),
        (
            r#"application "admission-webhook" has no "service-mesh" relation"#.into(),
            String::new()
        )
    );
    assert_eq!(set_charm["response"], json!({}), "{set_charm}");
    assert!(after.get("error").is_none(), "{after}");
    assert_eq!(
        after["response"]["endpoints"]["admission-webhook"]["interface"],
        "service_mesh"
    );
}

#[tokio::test]
async fn a_relation_still_dying_cannot_be_added_again() {
    let twin = Twin::start().await;
    kfp(&twin.model);
    twin.model
        .relate_settled("kfp-api:object-storage", "minio:object-storage")
        .expect("relate");
    twin.model.faults().hold_settling("kfp-api");
    let mut client = twin.admin().await;

    let destroy = client
        .call(
            "Application",
            22,
            "DestroyRelation",
            json!({"endpoints": ["kfp-api:object-storage", "minio:object-storage"]}),
        )
        .await;
    let again = client
        .call(
            "Application",
            22,
            "AddRelation",
            json!({"endpoints": ["minio", "kfp-api:object-storage"]}),
        )
        .await;

    assert_eq!(destroy["response"], json!({}), "{destroy}");
    assert_eq!(
        error_of(&again),
        (
            r#"cannot add relation "kfp-api:object-storage minio:object-storage": relation kfp-api:object-storage minio:object-storage is dying, but not yet removed"#.into(),
            "already exists".into()
        )
    );
}

#[tokio::test]
async fn a_destroyed_relation_disappears_and_can_be_added_again() {
    let twin = Twin::start().await;
    kfp(&twin.model);
    let rel = twin
        .model
        .relate_settled("kfp-api:object-storage", "minio:object-storage")
        .expect("relate");
    let mut events = twin.model.subscribe();
    let mut client = twin.admin().await;

    client
        .ok(
            "Application",
            22,
            "DestroyRelation",
            json!({"relation-id": rel.id}),
        )
        .await;
    wait_event(
        &mut events,
        "relation removed",
        |e| matches!(e, ModelEvent::RelationRemoved { id, .. } if *id == rel.id),
    )
    .await;
    let again = client
        .call(
            "Application",
            22,
            "AddRelation",
            json!({"endpoints": ["kfp-api:object-storage", "minio:object-storage"]}),
        )
        .await;

    assert!(again.get("error").is_none(), "{again}");
}

#[tokio::test]
async fn a_new_relation_joins_with_both_agents_executing_then_settles() {
    let twin = Twin::start().await;
    kfp(&twin.model);
    let mut events = twin.model.subscribe();
    twin.model.faults().hold_settling("kfp-api");
    let mut client = twin.admin().await;

    client
        .ok(
            "Application",
            22,
            "AddRelation",
            json!({"endpoints": ["kfp-api", "kfp-viz"]}),
        )
        .await;
    let joining = client.status().await;
    twin.model.faults().release_settling();
    settled(&mut events, "kfp-viz").await;
    let joined = client.status().await;

    let rel = |s: &serde_json::Value| {
        s["relations"]
            .as_array()
            .expect("relations")
            .iter()
            .find(|r| r["key"] == "kfp-api:kfp-viz kfp-viz:kfp-viz")
            .cloned()
            .expect("relation")
    };
    assert_eq!(rel(&joining)["status"]["status"], "joining");
    for app in ["kfp-api", "kfp-viz"] {
        let unit = &joining["applications"][app]["units"][format!("{app}/0")];
        assert_eq!(unit["agent-status"]["status"], "executing", "{app}");
        assert_eq!(
            unit["agent-status"]["info"],
            "running kfp-viz-relation-changed hook"
        );
    }
    assert_eq!(rel(&joined)["status"]["status"], "joined");
    assert_eq!(
        joined["applications"]["kfp-viz"]["units"]["kfp-viz/0"]["agent-status"]["status"],
        "idle"
    );
}

#[tokio::test]
async fn a_refresh_that_would_break_a_relation_is_refused() {
    let twin = Twin::start().await;
    twin.model
        .deploy_settled(
            "admission-webhook",
            "admission-webhook",
            "2.0/edge",
            &[],
            false,
        )
        .expect("webhook");
    twin.model
        .deploy_settled("istio-beacon-k8s", "istio-beacon-k8s", "2/edge", &[], true)
        .expect("beacon");
    twin.model
        .relate_settled(
            "admission-webhook:service-mesh",
            "istio-beacon-k8s:service-mesh",
        )
        .expect("relate");
    let mut client = twin.admin().await;

    let (reply, _) = refresh(&mut client, "admission-webhook", "1.10/stable").await;

    assert_eq!(
        error_of(&reply).0,
        r#"cannot upgrade application "admission-webhook" to charm "ch:amd64/admission-webhook-406": would break relation "admission-webhook:service-mesh istio-beacon-k8s:service-mesh""#
    );
    assert_eq!(
        twin.model
            .application("admission-webhook")
            .expect("app")
            .revision,
        520
    );
}
