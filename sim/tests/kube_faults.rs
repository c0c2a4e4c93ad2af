//! Faults on demand and the request log, as tests and benchmarks use them.

// In a test a failed unwrap is the failure report.
#![allow(clippy::unwrap_used)]

mod kube_support;

use std::time::Duration;

use ckf_sim::kube::Fault;
use kube_support::*;
use serde_json::json;

#[tokio::test]
async fn the_next_n_matching_requests_get_429_with_retry_after() {
    let c = Cluster::start().await;
    c.store.faults().inject(
        Fault::too_many_requests()
            .times(2)
            .verb("list")
            .path_prefix("/api/v1/namespaces/kubeflow"),
    );

    let first = c.get("/api/v1/namespaces/kubeflow/pods").await;
    let other = c.get("/api/v1/namespaces/admin/pods").await;
    let second = c.get("/api/v1/namespaces/kubeflow/pods").await;
    let third = c.get("/api/v1/namespaces/kubeflow/pods").await;

    assert_eq!(first.status, 429);
    assert_eq!(first.headers.get("retry-after").unwrap(), "1");
    assert_eq!(first.body["reason"], "TooManyRequests");
    assert_eq!(other.status, 200);
    assert_eq!(second.status, 429);
    assert_eq!(third.status, 200);
}

#[tokio::test]
async fn a_timed_fault_answers_500_until_cleared() {
    let c = Cluster::start().await;
    c.store
        .faults()
        .inject(Fault::internal_error().for_duration(Duration::from_secs(3600)));

    let a = c.get("/api/v1/namespaces").await;
    let b = c.get("/apis/apps/v1/deployments").await;
    c.store.faults().clear();
    let after = c.get("/api/v1/namespaces").await;

    assert_eq!(a.status, 500);
    assert_eq!(a.body["reason"], "InternalError");
    assert_eq!(b.status, 500);
    assert_eq!(after.status, 200);
}

#[tokio::test]
async fn the_request_log_counts_reads_and_writes() {
    let c = Cluster::start().await;
    c.store.create(configmap("kubeflow", "a")).unwrap();
    c.store.requests().reset();

    c.get("/api/v1/namespaces/kubeflow/configmaps").await;
    c.get("/api/v1/namespaces/kubeflow/configmaps/a").await;
    c.call(
        Some(ADMIN_TOKEN),
        "PATCH",
        "/api/v1/namespaces/kubeflow/configmaps/a",
        "application/merge-patch+json",
        Some(json!({"data": {"k": "v"}})),
    )
    .await;
    c.call(
        Some(ADMIN_TOKEN),
        "DELETE",
        "/api/v1/namespaces/kubeflow/configmaps/missing",
        "application/json",
        None,
    )
    .await;

    let log = c.store.requests();
    assert_eq!(log.count(), 4);
    assert_eq!(
        log.mutating_count(),
        2,
        "a failed write still counts as an attempt"
    );
    assert_eq!(log.count_of("list", "configmaps"), 1);
    assert_eq!(log.count_of("get", "configmaps"), 1);
    let writes = log.mutating();
    assert_eq!(writes[0].verb, "patch");
    assert_eq!(writes[0].status, 200);
    assert_eq!(writes[1].verb, "delete");
    assert_eq!(writes[1].status, 404);
}

#[tokio::test]
async fn kubectl_get_sends_no_mutating_request() {
    let c = Cluster::start().await;
    c.store.create(deployment("kubeflow", "web", 2)).unwrap();
    c.store.requests().reset();

    c.kubectl_ok(&["get", "pods,deployments", "-A"]).await;

    let log = c.store.requests();
    assert!(log.count() >= 2);
    assert_eq!(log.mutating_count(), 0, "{:?}", log.mutating());
}
