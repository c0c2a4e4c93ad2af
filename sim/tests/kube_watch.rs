//! Watches on the wire: the event stream kubectl and kube-rs watchers consume.

// In a test a failed unwrap is the failure report.
#![allow(clippy::unwrap_used)]

mod kube_support;

use kube_support::*;
use serde_json::json;

#[tokio::test]
async fn a_watch_from_a_list_version_delivers_added_modified_deleted() {
    let c = Cluster::start().await;
    let list = c.get("/api/v1/namespaces/kubeflow/configmaps").await;
    let rv = list.body["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    let mut w = c
        .watch(&format!("/api/v1/namespaces/kubeflow/configmaps?watch=1&resourceVersion={rv}&allowWatchBookmarks=true"))
        .await;

    c.store.create(configmap("kubeflow", "a")).unwrap();
    c.store
        .patch_merge(
            "v1",
            "ConfigMap",
            Some("kubeflow"),
            "a",
            json!({"data": {"key": "2"}}),
        )
        .unwrap();
    c.store.create(configmap("admin", "elsewhere")).unwrap();
    c.store.delete("v1", "ConfigMap", Some("kubeflow"), "a");

    let added = w.next().await.unwrap();
    let modified = w.next().await.unwrap();
    let deleted = w.next().await.unwrap();
    assert_eq!(added["type"], "ADDED");
    assert_eq!(added["object"]["metadata"]["name"], "a");
    assert_eq!(modified["type"], "MODIFIED");
    assert_eq!(modified["object"]["data"]["key"], "2");
    assert_eq!(deleted["type"], "DELETED");
    assert_eq!(
        deleted["object"]["metadata"]["name"], "a",
        "the other namespace is not watched"
    );
    let del_rv: u64 = deleted["object"]["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let mod_rv: u64 = modified["object"]["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        del_rv > mod_rv,
        "a deletion has its own, newer resource version"
    );
}

#[tokio::test]
async fn a_watch_without_version_starts_with_the_current_objects() {
    let c = Cluster::start().await;
    c.store.create(configmap("kubeflow", "existing")).unwrap();
    let mut w = c
        .watch("/api/v1/namespaces/kubeflow/configmaps?watch=true")
        .await;

    let first = w.next().await.unwrap();
    c.store.create(configmap("kubeflow", "new")).unwrap();
    let second = w.next().await.unwrap();

    assert_eq!(first["type"], "ADDED");
    assert_eq!(first["object"]["metadata"]["name"], "existing");
    assert_eq!(second["object"]["metadata"]["name"], "new");
}

#[tokio::test]
async fn a_watch_resumes_from_a_past_version_with_the_changes_since() {
    let c = Cluster::start().await;
    let rv = c.store.resource_version();
    c.store.create(configmap("kubeflow", "missed-1")).unwrap();
    c.store.create(configmap("kubeflow", "missed-2")).unwrap();

    let mut w = c
        .watch(&format!(
            "/api/v1/namespaces/kubeflow/configmaps?watch=true&resourceVersion={rv}"
        ))
        .await;

    assert_eq!(
        w.next().await.unwrap()["object"]["metadata"]["name"],
        "missed-1"
    );
    assert_eq!(
        w.next().await.unwrap()["object"]["metadata"]["name"],
        "missed-2"
    );
}

#[tokio::test]
async fn a_watch_from_a_compacted_version_gets_a_410_error_event() {
    let c = Cluster::start().await;
    let rv = c.store.resource_version();
    for i in 0..10_050 {
        c.store
            .create(configmap("kubeflow", &format!("cm-{i}")))
            .unwrap();
    }

    let mut w = c
        .watch(&format!(
            "/api/v1/namespaces/kubeflow/configmaps?watch=true&resourceVersion={rv}"
        ))
        .await;

    let ev = w.next().await.unwrap();
    assert_eq!(ev["type"], "ERROR");
    assert_eq!(ev["object"]["code"], 410);
    assert_eq!(ev["object"]["reason"], "Expired");
    assert!(w.next().await.is_none(), "the stream ends after the error");
}

#[tokio::test]
async fn a_watch_with_a_label_selector_sees_objects_enter_and_leave_it() {
    let c = Cluster::start().await;
    c.store
        .create(pod("admin", "p", json!({"app": "x"})))
        .unwrap();
    let rv = c.store.resource_version();
    let mut w = c
        .watch(&format!("/api/v1/namespaces/admin/pods?watch=true&labelSelector=mesh%3Dsidecar&resourceVersion={rv}"))
        .await;

    c.store
        .patch_merge(
            "v1",
            "Pod",
            Some("admin"),
            "p",
            json!({"metadata": {"labels": {"mesh": "sidecar"}}}),
        )
        .unwrap();
    c.store
        .patch_merge(
            "v1",
            "Pod",
            Some("admin"),
            "p",
            json!({"metadata": {"labels": {"mesh": "ambient"}}}),
        )
        .unwrap();

    assert_eq!(w.next().await.unwrap()["type"], "ADDED");
    assert_eq!(w.next().await.unwrap()["type"], "DELETED");
}

#[tokio::test]
async fn a_watch_with_a_name_field_selector_sees_only_that_object() {
    let c = Cluster::start().await;
    let rv = c.store.resource_version();
    let mut w = c
        .watch(&format!("/apis/apps/v1/namespaces/kubeflow/deployments?watch=true&fieldSelector=metadata.name%3Dweb&resourceVersion={rv}"))
        .await;

    c.store.create(deployment("kubeflow", "other", 1)).unwrap();
    c.store.create(deployment("kubeflow", "web", 1)).unwrap();

    let ev = w.next().await.unwrap();
    assert_eq!(ev["type"], "ADDED");
    assert_eq!(ev["object"]["metadata"]["name"], "web");
}

#[tokio::test]
async fn streaming_list_sends_current_objects_then_a_bookmark() {
    let c = Cluster::start().await;
    c.store.create(configmap("kubeflow", "a")).unwrap();

    let mut w = c
        .watch("/api/v1/namespaces/kubeflow/configmaps?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true")
        .await;

    assert_eq!(w.next().await.unwrap()["object"]["metadata"]["name"], "a");
    let bookmark = w.next().await.unwrap();
    assert_eq!(bookmark["type"], "BOOKMARK");
    assert_eq!(
        bookmark["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
}

#[tokio::test]
async fn a_watch_ends_after_its_timeout() {
    let c = Cluster::start().await;
    let rv = c.store.resource_version();

    let mut w = c
        .watch(&format!("/api/v1/namespaces/kubeflow/configmaps?watch=true&resourceVersion={rv}&timeoutSeconds=1"))
        .await;

    assert!(w.next().await.is_none());
}
