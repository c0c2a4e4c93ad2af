//! The REST API on the wire, spoken by a raw HTTPS client: verbs, error bodies, auth,
//! subresources, patches, CRDs and discovery.

// In a test a failed unwrap is the failure report.
#![allow(clippy::unwrap_used)]

mod kube_support;

use kube_support::*;
use serde_json::{Value, json};

const JSON: &str = "application/json";
const MERGE: &str = "application/merge-patch+json";
const STRATEGIC: &str = "application/strategic-merge-patch+json";

fn assert_status(r: &Reply, code: u16, reason: &str) {
    assert_eq!(r.status, code, "body: {}", r.body);
    assert_eq!(r.body["kind"], "Status", "body: {}", r.body);
    assert_eq!(r.body["apiVersion"], "v1");
    assert_eq!(r.body["status"], "Failure");
    assert_eq!(r.body["code"], code);
    assert_eq!(r.body["reason"], reason, "body: {}", r.body);
}

#[tokio::test]
async fn a_missing_object_is_a_404_status_naming_it() {
    let c = Cluster::start().await;

    let r = c
        .get("/apis/apps/v1/namespaces/kubeflow/deployments/istiod")
        .await;

    assert_status(&r, 404, "NotFound");
    assert_eq!(r.body["message"], "deployments.apps \"istiod\" not found");
    assert_eq!(
        r.body["details"],
        json!({"name": "istiod", "group": "apps", "kind": "deployments"})
    );
}

#[tokio::test]
async fn an_unknown_resource_type_is_a_404() {
    let c = Cluster::start().await;

    let r = c
        .get("/apis/networking.istio.io/v1/namespaces/kubeflow/gateways")
        .await;

    assert_status(&r, 404, "NotFound");
}

#[tokio::test]
async fn creating_an_existing_name_is_a_409_already_exists() {
    let c = Cluster::start().await;
    c.store.create(configmap("kubeflow", "a")).unwrap();

    let r = c
        .call(
            Some(ADMIN_TOKEN),
            "POST",
            "/api/v1/namespaces/kubeflow/configmaps",
            JSON,
            Some(configmap("kubeflow", "a")),
        )
        .await;

    assert_status(&r, 409, "AlreadyExists");
    assert_eq!(r.body["message"], "configmaps \"a\" already exists");
}

#[tokio::test]
async fn a_create_returns_201_with_server_fields_set() {
    let c = Cluster::start().await;

    let r = c
        .call(
            Some(ADMIN_TOKEN),
            "POST",
            "/api/v1/namespaces/kubeflow/configmaps",
            JSON,
            Some(json!({"metadata": {"name": "made"}, "data": {"a": "b"}})),
        )
        .await;

    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["kind"], "ConfigMap");
    assert_eq!(r.body["metadata"]["namespace"], "kubeflow");
    assert!(r.body["metadata"]["uid"].is_string());
    assert!(r.body["metadata"]["resourceVersion"].is_string());
}

#[tokio::test]
async fn a_replace_with_a_stale_resource_version_is_a_409_conflict() {
    let c = Cluster::start().await;
    let first = c.store.create(configmap("kubeflow", "lock")).unwrap();
    c.store
        .patch_merge(
            "v1",
            "ConfigMap",
            Some("kubeflow"),
            "lock",
            json!({"data": {"key": "changed"}}),
        )
        .unwrap();

    let mut stale = first.clone();
    stale["data"]["key"] = json!("mine");
    let r = c
        .call(
            Some(ADMIN_TOKEN),
            "PUT",
            "/api/v1/namespaces/kubeflow/configmaps/lock",
            JSON,
            Some(stale),
        )
        .await;

    assert_status(&r, 409, "Conflict");
    assert_eq!(
        r.body["message"],
        "Operation cannot be fulfilled on configmaps \"lock\": the object has been modified; please apply your changes to the latest version and try again"
    );
    let now = c
        .store
        .get("v1", "ConfigMap", Some("kubeflow"), "lock")
        .unwrap();
    assert_eq!(now["data"]["key"], "changed");
}

#[tokio::test]
async fn a_replace_with_the_current_resource_version_succeeds() {
    let c = Cluster::start().await;
    let mut cm = c.store.create(configmap("kubeflow", "lock")).unwrap();
    cm["data"]["key"] = json!("mine");

    let r = c
        .call(
            Some(ADMIN_TOKEN),
            "PUT",
            "/api/v1/namespaces/kubeflow/configmaps/lock",
            JSON,
            Some(cm.clone()),
        )
        .await;

    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"]["key"], "mine");
    assert_ne!(
        r.body["metadata"]["resourceVersion"],
        cm["metadata"]["resourceVersion"]
    );
}

#[tokio::test]
async fn a_merge_patch_carrying_a_stale_resource_version_is_a_409() {
    let c = Cluster::start().await;
    let cm = c.store.create(configmap("kubeflow", "lock")).unwrap();
    c.store
        .patch_merge(
            "v1",
            "ConfigMap",
            Some("kubeflow"),
            "lock",
            json!({"data": {"key": "changed"}}),
        )
        .unwrap();

    let r = c
        .call(Some(ADMIN_TOKEN), "PATCH", "/api/v1/namespaces/kubeflow/configmaps/lock", MERGE,
              Some(json!({"metadata": {"resourceVersion": cm["metadata"]["resourceVersion"]}, "data": {"key": "x"}})))
        .await;

    assert_status(&r, 409, "Conflict");
}

#[tokio::test]
async fn an_object_without_a_name_is_a_422_invalid() {
    let c = Cluster::start().await;

    let r = c
        .call(
            Some(ADMIN_TOKEN),
            "POST",
            "/api/v1/namespaces/kubeflow/configmaps",
            JSON,
            Some(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}})),
        )
        .await;

    assert_status(&r, 422, "Invalid");
    assert_eq!(
        r.body["message"],
        "ConfigMap \"\" is invalid: metadata.name: Required value: name or generateName is required"
    );
    assert_eq!(r.body["details"]["causes"][0]["field"], "metadata.name");
}

#[tokio::test]
async fn a_body_of_another_kind_is_a_400_bad_request() {
    let c = Cluster::start().await;

    let r = c
        .call(
            Some(ADMIN_TOKEN),
            "POST",
            "/api/v1/namespaces/kubeflow/configmaps",
            JSON,
            Some(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}})),
        )
        .await;

    assert_status(&r, 400, "BadRequest");
}

#[tokio::test]
async fn a_namespace_limited_token_gets_403_outside_its_namespace() {
    let c = Cluster::start().await;
    c.install_profile_crd();

    let all_pods = c
        .call(Some(NS_TOKEN), "GET", "/api/v1/pods", "", None)
        .await;
    let other_ns = c
        .call(
            Some(NS_TOKEN),
            "GET",
            "/api/v1/namespaces/admin/pods/x",
            "",
            None,
        )
        .await;
    let profiles = c
        .call(
            Some(NS_TOKEN),
            "GET",
            "/apis/kubeflow.org/v1/profiles",
            "",
            None,
        )
        .await;
    let own = c
        .call(
            Some(NS_TOKEN),
            "GET",
            "/api/v1/namespaces/kubeflow/pods",
            "",
            None,
        )
        .await;
    let namespaces = c
        .call(Some(NS_TOKEN), "GET", "/api/v1/namespaces", "", None)
        .await;

    assert_status(&all_pods, 403, "Forbidden");
    assert_eq!(
        all_pods.body["message"],
        format!(
            "pods is forbidden: User \"{NS_USER}\" cannot list resource \"pods\" in API group \"\" at the cluster scope"
        )
    );
    assert_status(&other_ns, 403, "Forbidden");
    assert_eq!(
        other_ns.body["message"],
        format!(
            "pods \"x\" is forbidden: User \"{NS_USER}\" cannot get resource \"pods\" in API group \"\" in the namespace \"admin\""
        )
    );
    assert_status(&profiles, 403, "Forbidden");
    assert_eq!(own.status, 200);
    assert_eq!(namespaces.status, 200);
}

#[tokio::test]
async fn missing_or_unknown_tokens_are_401() {
    let c = Cluster::start().await;

    let none = c.call(None, "GET", "/api/v1/namespaces", "", None).await;
    let bad = c
        .call(Some("not-a-token"), "GET", "/version", "", None)
        .await;

    assert_status(&none, 401, "Unauthorized");
    assert_status(&bad, 401, "Unauthorized");
}

#[tokio::test]
async fn status_changes_only_through_the_status_subresource() {
    let c = Cluster::start().await;
    c.store
        .create(crd(
            "gateway.networking.k8s.io",
            &["v1"],
            "Gateway",
            "gateways",
            true,
        ))
        .unwrap();
    c.store
        .create(json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
                       "metadata": {"name": "waypoint", "namespace": "admin"}, "spec": {"gatewayClassName": "istio-waypoint"}}))
        .unwrap();
    let path = "/apis/gateway.networking.k8s.io/v1/namespaces/admin/gateways/waypoint";
    let programmed = json!({"status": {"conditions": [{"type": "Programmed", "status": "True"}]}});

    let main = c
        .call(
            Some(ADMIN_TOKEN),
            "PATCH",
            path,
            MERGE,
            Some(programmed.clone()),
        )
        .await;
    let sub = c
        .call(Some(ADMIN_TOKEN), "PATCH", &format!("{path}/status"), MERGE,
              Some(json!({"status": {"conditions": [{"type": "Programmed", "status": "True"}]}, "spec": {"gatewayClassName": "other"}})))
        .await;

    assert_eq!(main.status, 200);
    assert!(
        main.body.get("status").is_none(),
        "main resource ignored status: {}",
        main.body
    );
    assert_eq!(sub.status, 200, "{}", sub.body);
    assert_eq!(sub.body["status"]["conditions"][0]["type"], "Programmed");
    assert_eq!(
        sub.body["spec"]["gatewayClassName"], "istio-waypoint",
        "status subresource ignored spec"
    );
}

#[tokio::test]
async fn strategic_merge_patch_is_refused_for_custom_resources_with_415() {
    let c = Cluster::start().await;
    c.install_profile_crd();
    c.store
        .create(json!({"apiVersion": "kubeflow.org/v1", "kind": "Profile", "metadata": {"name": "admin"}}))
        .unwrap();

    let r = c
        .call(
            Some(ADMIN_TOKEN),
            "PATCH",
            "/apis/kubeflow.org/v1/profiles/admin",
            STRATEGIC,
            Some(json!({"metadata": {"labels": {"a": "b"}}})),
        )
        .await;

    assert_status(&r, 415, "UnsupportedMediaType");
}

#[tokio::test]
async fn a_custom_resource_update_without_resource_version_is_invalid() {
    let c = Cluster::start().await;
    c.install_profile_crd();
    c.store
        .create(json!({"apiVersion": "kubeflow.org/v1", "kind": "Profile", "metadata": {"name": "admin"}}))
        .unwrap();

    let r = c
        .call(Some(ADMIN_TOKEN), "PUT", "/apis/kubeflow.org/v1/profiles/admin", JSON,
              Some(json!({"apiVersion": "kubeflow.org/v1", "kind": "Profile", "metadata": {"name": "admin"}, "spec": {}})))
        .await;

    assert_status(&r, 422, "Invalid");
}

#[tokio::test]
async fn deleting_a_crd_deletes_its_objects_and_endpoints() {
    let c = Cluster::start().await;
    c.install_profile_crd();
    c.store
        .create(json!({"apiVersion": "kubeflow.org/v1", "kind": "Profile", "metadata": {"name": "admin"}}))
        .unwrap();
    assert_eq!(
        c.get("/apis/kubeflow.org/v1/profiles/admin").await.status,
        200
    );

    let del = c
        .call(
            Some(ADMIN_TOKEN),
            "DELETE",
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/profiles.kubeflow.org",
            JSON,
            None,
        )
        .await;

    assert_eq!(del.status, 200, "{}", del.body);
    assert_eq!(
        c.get("/apis/kubeflow.org/v1/profiles/admin").await.status,
        404
    );
    assert_eq!(c.get("/apis/kubeflow.org/v1/profiles").await.status, 404);
    assert_eq!(c.get("/apis/kubeflow.org/v1").await.status, 404);
    let groups = c.get("/apis").await.body;
    assert!(
        !groups["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["name"] == "kubeflow.org")
    );
    assert!(
        c.store
            .get("kubeflow.org/v1", "Profile", None, "admin")
            .is_none()
    );
}

#[tokio::test]
async fn discovery_lists_builtin_and_crd_groups() {
    let c = Cluster::start().await;
    c.store
        .create(crd(
            "serving.kserve.io",
            &["v1beta1"],
            "InferenceService",
            "inferenceservices",
            true,
        ))
        .unwrap();

    let api = c.get("/api").await.body;
    let apis = c.get("/apis").await.body;
    let kserve = c.get("/apis/serving.kserve.io/v1beta1").await.body;
    let version = c.get("/version").await.body;

    assert_eq!(api["versions"], json!(["v1"]));
    let groups: Vec<&str> = apis["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert!(
        groups.contains(&"apps") && groups.contains(&"serving.kserve.io"),
        "{groups:?}"
    );
    assert_eq!(kserve["resources"][0]["kind"], "InferenceService");
    assert_eq!(kserve["resources"][0]["namespaced"], true);
    assert_eq!(version["minor"], "32");
}

#[tokio::test]
async fn the_openapi_documents_are_not_served() {
    let c = Cluster::start().await;

    assert_eq!(c.get("/openapi/v2").await.status, 404);
    assert_eq!(c.get("/openapi/v3").await.status, 404);
}

#[tokio::test]
async fn a_pod_list_asked_as_table_renders_kubectl_columns() {
    let c = Cluster::start().await;
    c.store
        .create(pod("admin", "p", json!({"app": "x"})))
        .unwrap();

    let r = c
        .call_accept(
            Some(ADMIN_TOKEN),
            "GET",
            "/api/v1/namespaces/admin/pods",
            "",
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
            None,
        )
        .await;

    assert_eq!(r.body["kind"], "Table");
    assert_eq!(r.body["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(r.body["rows"][0]["cells"][0], "p");
    assert_eq!(r.body["rows"][0]["cells"][2], "Running");
}

#[tokio::test]
async fn delete_with_orphan_propagation_keeps_the_replicaset() {
    let c = Cluster::start().await;
    c.store
        .create(deployment("kubeflow", "training-operator", 1))
        .unwrap();

    let r = c
        .call(
            Some(ADMIN_TOKEN),
            "DELETE",
            "/apis/apps/v1/namespaces/kubeflow/deployments/training-operator",
            JSON,
            Some(
                json!({"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Orphan"}),
            ),
        )
        .await;

    assert_eq!(r.status, 200);
    assert_eq!(r.body["status"], "Success");
    let rss = c
        .store
        .list("apps/v1", "ReplicaSet", Some("kubeflow"), None);
    assert_eq!(rss.len(), 1);
    assert!(rss[0]["metadata"].get("ownerReferences").is_none());
    assert_eq!(c.store.list("v1", "Pod", Some("kubeflow"), None).len(), 1);
}

#[tokio::test]
async fn delete_with_background_propagation_removes_the_whole_tree() {
    let c = Cluster::start().await;
    c.store
        .create(deployment("kubeflow", "training-operator", 2))
        .unwrap();

    let r = c
        .call(
            Some(ADMIN_TOKEN),
            "DELETE",
            "/apis/apps/v1/namespaces/kubeflow/deployments/training-operator",
            JSON,
            Some(json!({"propagationPolicy": "Background"})),
        )
        .await;

    assert_eq!(r.status, 200);
    assert!(
        c.store
            .list("apps/v1", "ReplicaSet", Some("kubeflow"), None)
            .is_empty()
    );
    assert!(c.store.list("v1", "Pod", Some("kubeflow"), None).is_empty());
}

#[tokio::test]
async fn delete_with_a_mismatched_uid_precondition_is_a_409() {
    let c = Cluster::start().await;
    c.store.create(configmap("kubeflow", "a")).unwrap();

    let r = c
        .call(
            Some(ADMIN_TOKEN),
            "DELETE",
            "/api/v1/namespaces/kubeflow/configmaps/a",
            JSON,
            Some(json!({"preconditions": {"uid": "00000000-0000-4000-8000-000000000000"}})),
        )
        .await;

    assert_status(&r, 409, "Conflict");
    assert!(
        c.store
            .get("v1", "ConfigMap", Some("kubeflow"), "a")
            .is_some()
    );
}

#[tokio::test]
async fn deletecollection_removes_only_selected_objects() {
    let c = Cluster::start().await;
    c.store
        .create(pod("admin", "a", json!({"app": "viz"})))
        .unwrap();
    c.store
        .create(pod("admin", "b", json!({"app": "viz"})))
        .unwrap();
    c.store
        .create(pod("admin", "c", json!({"app": "ui"})))
        .unwrap();

    let r = c
        .call(
            Some(ADMIN_TOKEN),
            "DELETE",
            "/api/v1/namespaces/admin/pods?labelSelector=app%3Dviz",
            "",
            None,
        )
        .await;

    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["items"].as_array().unwrap().len(), 2);
    let left: Vec<Value> = c.store.list("v1", "Pod", Some("admin"), None);
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["metadata"]["name"], "c");
}

#[tokio::test]
async fn a_dry_run_patch_changes_nothing_and_is_not_counted_as_mutating() {
    let c = Cluster::start().await;
    c.store.create(configmap("kubeflow", "a")).unwrap();
    c.store.requests().reset();

    let r = c
        .call(
            Some(ADMIN_TOKEN),
            "PATCH",
            "/api/v1/namespaces/kubeflow/configmaps/a?dryRun=All",
            MERGE,
            Some(json!({"data": {"key": "dry"}})),
        )
        .await;

    assert_eq!(r.status, 200);
    assert_eq!(r.body["data"]["key"], "dry");
    assert_eq!(
        c.store
            .get("v1", "ConfigMap", Some("kubeflow"), "a")
            .unwrap()["data"]["key"],
        "value"
    );
    assert_eq!(c.store.requests().mutating_count(), 0);
}

#[tokio::test]
async fn list_field_selectors_filter_by_phase_and_node() {
    let c = Cluster::start().await;
    c.store.create(deployment("kubeflow", "web", 4)).unwrap();

    let on_node1 = c
        .get("/api/v1/namespaces/kubeflow/pods?fieldSelector=spec.nodeName%3Dnode-1")
        .await;
    let running = c
        .get("/api/v1/pods?fieldSelector=status.phase%3DRunning%2Cmetadata.namespace%3Dkubeflow")
        .await;
    let bad = c.get("/api/v1/pods?fieldSelector=spec.bogus%3Dx").await;

    assert_eq!(on_node1.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(running.body["items"].as_array().unwrap().len(), 4);
    assert_status(&bad, 400, "BadRequest");
}

#[tokio::test]
async fn label_selectors_with_set_operators_filter_lists() {
    let c = Cluster::start().await;
    for (name, labels) in [
        ("a", json!({"app": "x", "tier": "web"})),
        ("b", json!({"app": "y"})),
        ("c", json!({"app": "z", "istio.io/rev": "default"})),
    ] {
        c.store.create(pod("admin", name, labels)).unwrap();
    }

    let names = |r: Reply| -> Vec<String> {
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["metadata"]["name"].as_str().unwrap().to_string())
            .collect()
    };

    assert_eq!(
        names(
            c.get("/api/v1/namespaces/admin/pods?labelSelector=app%20in%20(x,z)")
                .await
        ),
        ["a", "c"]
    );
    assert_eq!(
        names(
            c.get("/api/v1/namespaces/admin/pods?labelSelector=app%20notin%20(x),!istio.io/rev")
                .await
        ),
        ["b"]
    );
    assert_eq!(
        names(
            c.get("/api/v1/namespaces/admin/pods?labelSelector=tier")
                .await
        ),
        ["a"]
    );
    assert_eq!(
        names(
            c.get("/api/v1/namespaces/admin/pods?labelSelector=app!%3Dx")
                .await
        ),
        ["b", "c"]
    );
}

#[tokio::test]
async fn server_side_apply_creates_then_merges() {
    let c = Cluster::start().await;
    let path = "/api/v1/namespaces/kubeflow/configmaps/applied?fieldManager=test";
    let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  a: \"1\"\n";

    let created = c.call_raw(path, "application/apply-patch+yaml", yaml).await;
    let merged = c
        .call_raw(
            path,
            "application/apply-patch+yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  b: \"2\"\n",
        )
        .await;

    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(merged.status, 200, "{}", merged.body);
    assert_eq!(merged.body["data"], json!({"a": "1", "b": "2"}));
}
