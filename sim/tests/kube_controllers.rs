//! Workload controllers seen from an HTTP client: what kubectl and the migrator observe after
//! their requests.

// In a test a failed unwrap is the failure report.
#![allow(clippy::unwrap_used)]

mod kube_support;

use kube_support::*;
use serde_json::{Value, json};

fn names(r: &Reply) -> Vec<String> {
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_restart_patch_replaces_every_pod_before_the_response() {
    let c = Cluster::start().await;
    c.store
        .create(deployment("kubeflow", "kfp-api", 3))
        .unwrap();
    let before = names(
        &c.get("/api/v1/namespaces/kubeflow/pods?labelSelector=app%3Dkfp-api")
            .await,
    );

    let r = c
        .call(Some(ADMIN_TOKEN), "PATCH", "/apis/apps/v1/namespaces/kubeflow/deployments/kfp-api?fieldManager=kubectl-rollout",
              "application/strategic-merge-patch+json",
              Some(json!({"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "2026-01-01T00:00:00Z"}}}}})))
        .await;
    let after = names(
        &c.get("/api/v1/namespaces/kubeflow/pods?labelSelector=app%3Dkfp-api")
            .await,
    );
    let d = c
        .get("/apis/apps/v1/namespaces/kubeflow/deployments/kfp-api")
        .await
        .body;

    assert_eq!(r.status, 200);
    assert_eq!(after.len(), 3);
    assert!(after.iter().all(|p| !before.contains(p)));
    assert_eq!(d["metadata"]["generation"], 2);
    assert_eq!(d["status"]["observedGeneration"], 2);
    assert_eq!(d["status"]["updatedReplicas"], 3);
    assert_eq!(d["status"]["readyReplicas"], 3);
}

#[tokio::test]
async fn deleting_a_statefulset_pod_recreates_it_with_the_same_name() {
    let c = Cluster::start().await;
    let mut sts = deployment("kubeflow", "katib-db", 1);
    sts["kind"] = json!("StatefulSet");
    c.store.create(sts).unwrap();
    let old_uid = c
        .get("/api/v1/namespaces/kubeflow/pods/katib-db-0")
        .await
        .body["metadata"]["uid"]
        .clone();

    let del = c
        .call(
            Some(ADMIN_TOKEN),
            "DELETE",
            "/api/v1/namespaces/kubeflow/pods/katib-db-0",
            "application/json",
            None,
        )
        .await;
    let new = c.get("/api/v1/namespaces/kubeflow/pods/katib-db-0").await;

    assert_eq!(del.status, 200);
    assert_eq!(del.body["kind"], "Pod", "a pod delete answers with the pod");
    assert_eq!(new.status, 200);
    assert_ne!(new.body["metadata"]["uid"], old_uid);
}

#[tokio::test]
async fn recreated_pods_go_through_the_admission_hook() {
    let c = Cluster::start().await;
    c.store
        .create(deployment("admin", "ml-pipeline-visualizationserver", 1))
        .unwrap();
    let old = names(&c.get("/api/v1/namespaces/admin/pods").await)[0].clone();
    c.store.set_pod_admission(std::sync::Arc::new(
        |pod: &mut Value, _view: &ckf_sim::kube::StoreView<'_>| {
            pod["metadata"]["annotations"]["sidecar.istio.io/status"] =
                json!("{\"containers\":[\"istio-proxy\"]}");
            if let Some(cs) = pod["spec"]["containers"].as_array_mut() {
                cs.push(json!({"name": "istio-proxy", "image": "istio/proxyv2:1.28"}));
            }
        },
    ));

    c.call(
        Some(ADMIN_TOKEN),
        "DELETE",
        &format!("/api/v1/namespaces/admin/pods/{old}"),
        "application/json",
        None,
    )
    .await;

    let pods = c.get("/api/v1/namespaces/admin/pods").await.body;
    let containers = &pods["items"][0]["spec"]["containers"];
    assert_eq!(containers[1]["name"], "istio-proxy");
    assert_eq!(
        pods["items"][0]["status"]["containerStatuses"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn a_daemonset_gets_a_pod_on_each_new_node_and_loses_it_with_the_node() {
    let c = Cluster::start().await;
    let mut ds = deployment("kube-system", "cilium", 1);
    ds["kind"] = json!("DaemonSet");
    c.store.create(ds).unwrap();

    let created = c
        .call(
            Some(ADMIN_TOKEN),
            "POST",
            "/api/v1/nodes",
            "application/json",
            Some(node("node-3", "127.0.10.3")),
        )
        .await;
    let three = c.get("/api/v1/namespaces/kube-system/pods?labelSelector=app%3Dcilium&fieldSelector=spec.nodeName%3Dnode-3").await;
    c.call(
        Some(ADMIN_TOKEN),
        "DELETE",
        "/api/v1/nodes/node-1",
        "application/json",
        None,
    )
    .await;
    let after = c
        .get("/api/v1/namespaces/kube-system/pods?labelSelector=app%3Dcilium")
        .await;
    let ds = c
        .get("/apis/apps/v1/namespaces/kube-system/daemonsets/cilium")
        .await
        .body;

    assert_eq!(created.status, 201);
    assert_eq!(three.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(three.body["items"][0]["status"]["hostIP"], "127.0.10.3");
    let nodes: Vec<&str> = after.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["spec"]["nodeName"].as_str().unwrap())
        .collect();
    assert_eq!(nodes.len(), 2);
    assert!(!nodes.contains(&"node-1"));
    assert_eq!(ds["status"]["desiredNumberScheduled"], 2);
    assert_eq!(ds["status"]["numberReady"], 2);
}

#[tokio::test]
async fn a_frozen_daemonset_keeps_the_status_the_twin_gives_it() {
    let c = Cluster::start().await;
    let mut ds = deployment("istio-system", "ztunnel", 1);
    ds["kind"] = json!("DaemonSet");
    c.store.create(namespace("istio-system")).unwrap();
    c.store.create(ds).unwrap();

    c.store
        .patch_merge(
            "apps/v1",
            "DaemonSet",
            Some("istio-system"),
            "ztunnel",
            json!({"metadata": {"annotations": {ckf_sim::kube::FROZEN_ANNOTATION: "true"}},
                            "status": {"numberReady": 0, "numberUnavailable": 2}}),
        )
        .unwrap();
    let pod = names(&c.get("/api/v1/namespaces/istio-system/pods").await)[0].clone();
    c.call(
        Some(ADMIN_TOKEN),
        "DELETE",
        &format!("/api/v1/namespaces/istio-system/pods/{pod}"),
        "application/json",
        None,
    )
    .await;

    let ds = c
        .get("/apis/apps/v1/namespaces/istio-system/daemonsets/ztunnel")
        .await
        .body;
    assert_eq!(ds["status"]["numberReady"], 0);
    assert_eq!(ds["status"]["numberUnavailable"], 2);
    assert_eq!(
        c.get("/api/v1/namespaces/istio-system/pods").await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "the deleted pod is not replaced while frozen"
    );
}

#[tokio::test]
async fn a_pod_posted_by_a_client_starts_running_on_a_node() {
    let c = Cluster::start().await;

    let r = c
        .call(
            Some(ADMIN_TOKEN),
            "POST",
            "/api/v1/namespaces/admin/pods",
            "application/json",
            Some(
                json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                          "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]},
                          "status": {"phase": "Failed"}}),
            ),
        )
        .await;

    assert_eq!(r.status, 201);
    assert_eq!(
        r.body["status"]["phase"], "Running",
        "a client cannot set status on create"
    );
    assert!(
        r.body["spec"]["nodeName"]
            .as_str()
            .unwrap()
            .starts_with("node-")
    );
    assert!(
        r.body["status"]["podIP"]
            .as_str()
            .unwrap()
            .starts_with("127.1.")
    );
}
