//! The real kubectl against the twin's API server: what a person or a script would type.

// In a test a failed unwrap is the failure report.
#![allow(clippy::unwrap_used)]

mod kube_support;

use kube_support::*;
use serde_json::{Value, json};

fn lines(out: &str) -> Vec<Vec<String>> {
    out.lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

#[tokio::test]
async fn get_pods_all_namespaces_prints_a_table_like_a_real_cluster() {
    let c = Cluster::start().await;
    c.store.create(deployment("kubeflow", "web", 2)).unwrap();
    c.store
        .create(pod("admin", "notebook-0", json!({"app": "nb"})))
        .unwrap();

    let out = c.kubectl_ok(&["get", "pods", "-A"]).await;

    let rows = lines(&out);
    assert_eq!(
        rows[0],
        ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    );
    assert_eq!(rows.len(), 4, "{out}");
    let nb = rows
        .iter()
        .find(|r| r[1] == "notebook-0")
        .expect("notebook row");
    assert_eq!(nb[0], "admin");
    assert_eq!(nb[2], "1/1");
    assert_eq!(nb[3], "Running");
    assert_eq!(nb[4], "0");
    assert_eq!(rows.iter().filter(|r| r[1].starts_with("web-")).count(), 2);
}

#[tokio::test]
async fn get_nodes_shows_status_roles_and_version() {
    let c = Cluster::start().await;

    let out = c.kubectl_ok(&["get", "nodes"]).await;

    let rows = lines(&out);
    assert_eq!(rows[0], ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]);
    assert_eq!(rows[1][0], "node-1");
    assert_eq!(rows[1][1], "Ready");
    assert_eq!(rows[1][2], "control-plane");
    assert_eq!(rows[1][4], "v1.32.4");
}

#[tokio::test]
async fn get_profiles_works_once_the_crd_exists() {
    let c = Cluster::start().await;
    c.install_profile_crd();
    for name in ["admin", "alice"] {
        c.store
            .create(json!({"apiVersion": "kubeflow.org/v1", "kind": "Profile",
                           "metadata": {"name": name},
                           "spec": {"owner": {"kind": "User", "name": format!("{name}@example.com")}}}))
            .unwrap();
    }

    let out = c.kubectl_ok(&["get", "profiles"]).await;

    let rows = lines(&out);
    assert_eq!(rows[0], ["NAME", "AGE"]);
    let names: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(names, ["admin", "alice"]);
}

#[tokio::test]
async fn get_with_a_label_selector_as_json_lists_only_matching_pods() {
    let c = Cluster::start().await;
    c.store
        .create(pod("admin", "x-1", json!({"app": "x"})))
        .unwrap();
    c.store
        .create(pod("admin", "x-2", json!({"app": "x"})))
        .unwrap();
    c.store
        .create(pod("admin", "y-1", json!({"app": "y"})))
        .unwrap();
    c.store
        .create(pod("kubeflow", "x-3", json!({"app": "x"})))
        .unwrap();

    let out = c
        .kubectl_ok(&["get", "pods", "-n", "admin", "-l", "app=x", "-o", "json"])
        .await;

    let list: Value = serde_json::from_str(&out).expect("kubectl printed JSON");
    assert_eq!(list["kind"], "List");
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["x-1", "x-2"]);
    assert_eq!(list["items"][0]["status"]["phase"], "Running");
}

#[tokio::test]
async fn get_as_yaml_prints_the_object() {
    let c = Cluster::start().await;
    c.store.create(configmap("kubeflow", "settings")).unwrap();

    let out = c
        .kubectl_ok(&[
            "get",
            "configmap",
            "settings",
            "-n",
            "kubeflow",
            "-o",
            "yaml",
        ])
        .await;

    let v: serde_yaml::Value = serde_yaml::from_str(&out).expect("kubectl printed YAML");
    assert_eq!(v["kind"], "ConfigMap");
    assert_eq!(v["metadata"]["name"], "settings");
    assert_eq!(v["data"]["key"], "value");
}

#[tokio::test]
async fn patch_with_a_merge_patch_changes_the_configmap() {
    let c = Cluster::start().await;
    c.store
        .create(configmap("kube-system", "cilium-config"))
        .unwrap();

    let out = c
        .kubectl_ok(&[
            "patch",
            "configmap",
            "cilium-config",
            "-n",
            "kube-system",
            "--type",
            "merge",
            "-p",
            r#"{"data":{"bpf-lb-sock-hostns-only":"true","cni-exclusive":"false"}}"#,
        ])
        .await;

    assert_eq!(out.trim(), "configmap/cilium-config patched");
    let cm = c
        .store
        .get("v1", "ConfigMap", Some("kube-system"), "cilium-config")
        .unwrap();
    assert_eq!(cm["data"]["bpf-lb-sock-hostns-only"], "true");
    assert_eq!(cm["data"]["cni-exclusive"], "false");
    assert_eq!(cm["data"]["key"], "value");
}

#[tokio::test]
async fn patch_with_a_json_patch_changes_the_configmap() {
    let c = Cluster::start().await;
    c.store.create(configmap("kubeflow", "settings")).unwrap();

    c.kubectl_ok(&[
        "patch", "configmap", "settings", "-n", "kubeflow", "--type", "json",
        "-p", r#"[{"op":"replace","path":"/data/key","value":"new"},{"op":"add","path":"/data/other","value":"x"}]"#,
    ])
    .await;

    let cm = c
        .store
        .get("v1", "ConfigMap", Some("kubeflow"), "settings")
        .unwrap();
    assert_eq!(cm["data"], json!({"key": "new", "other": "x"}));
}

#[tokio::test]
async fn patch_with_the_default_strategic_merge_keeps_other_containers() {
    let c = Cluster::start().await;
    c.store.create(deployment("kubeflow", "web", 1)).unwrap();

    c.kubectl_ok(&[
        "patch",
        "deployment",
        "web",
        "-n",
        "kubeflow",
        "-p",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"proxy:1"}]}}}}"#,
    ])
    .await;

    let d = c
        .store
        .get("apps/v1", "Deployment", Some("kubeflow"), "web")
        .unwrap();
    let names: Vec<&str> = d["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["main", "sidecar"]);
}

#[tokio::test]
async fn rollout_restart_replaces_the_pods() {
    let c = Cluster::start().await;
    c.store.create(deployment("kubeflow", "web", 2)).unwrap();
    let before: Vec<String> = c
        .store
        .list("v1", "Pod", Some("kubeflow"), Some("app=web"))
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap().to_string())
        .collect();

    let out = c
        .kubectl_ok(&["rollout", "restart", "deployment", "web", "-n", "kubeflow"])
        .await;
    let status = c
        .kubectl_ok(&[
            "rollout",
            "status",
            "deployment",
            "web",
            "-n",
            "kubeflow",
            "--timeout=30s",
        ])
        .await;
    let pods = c
        .kubectl_ok(&[
            "get", "pods", "-n", "kubeflow", "-l", "app=web", "-o", "name",
        ])
        .await;

    assert_eq!(out.trim(), "deployment.apps/web restarted");
    assert!(status.contains("successfully rolled out"), "{status}");
    let after: Vec<&str> = pods.lines().map(|l| l.trim_start_matches("pod/")).collect();
    assert_eq!(after.len(), 2, "{pods}");
    assert!(
        after.iter().all(|p| !before.iter().any(|b| b == p)),
        "{before:?} -> {after:?}"
    );
}

#[tokio::test]
async fn delete_pod_waits_until_it_is_gone_and_the_replicaset_replaces_it() {
    let c = Cluster::start().await;
    c.store
        .create(deployment("admin", "ml-pipeline-ui-artifact", 1))
        .unwrap();
    let old = c.store.list("v1", "Pod", Some("admin"), None)[0]["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();

    let out = c.kubectl_ok(&["delete", "pod", &old, "-n", "admin"]).await;

    assert_eq!(out.trim(), format!("pod \"{old}\" deleted"));
    let now = c.store.list(
        "v1",
        "Pod",
        Some("admin"),
        Some("app=ml-pipeline-ui-artifact"),
    );
    assert_eq!(now.len(), 1);
    assert_ne!(now[0]["metadata"]["name"], old.as_str());
}

#[tokio::test]
async fn delete_by_label_deletes_every_matching_pod() {
    let c = Cluster::start().await;
    c.store
        .create(pod("admin", "a", json!({"app": "viz"})))
        .unwrap();
    c.store
        .create(pod("admin", "b", json!({"app": "viz"})))
        .unwrap();
    c.store
        .create(pod("admin", "keep", json!({"app": "other"})))
        .unwrap();

    c.kubectl_ok(&["delete", "pod", "-l", "app=viz", "-n", "admin"])
        .await;

    let left: Vec<Value> = c.store.list("v1", "Pod", Some("admin"), None);
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["metadata"]["name"], "keep");
}

#[tokio::test]
async fn a_namespace_limited_token_is_refused_cluster_wide_reads() {
    let c = Cluster::start().await;

    let out = c.kubectl_as(NS_TOKEN, &["get", "nodes"]).await;

    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "nodes is forbidden: User \"{NS_USER}\" cannot list resource \"nodes\" in API group \"\" at the cluster scope"
        )),
        "{stderr}"
    );
}

#[tokio::test]
async fn rollout_restart_of_a_daemonset_replaces_its_pods_and_reports_success() {
    let c = Cluster::start().await;
    let mut ds = deployment("kube-system", "cilium", 1);
    ds["kind"] = json!("DaemonSet");
    c.store.create(ds).unwrap();
    let before: Vec<Value> = c
        .store
        .list("v1", "Pod", Some("kube-system"), Some("app=cilium"));

    c.kubectl_ok(&[
        "-n",
        "kube-system",
        "rollout",
        "restart",
        "daemonset",
        "cilium",
    ])
    .await;
    let status = c
        .kubectl_ok(&[
            "-n",
            "kube-system",
            "rollout",
            "status",
            "daemonset",
            "cilium",
            "--timeout=30s",
        ])
        .await;

    assert!(status.contains("successfully rolled out"), "{status}");
    let after: Vec<Value> = c
        .store
        .list("v1", "Pod", Some("kube-system"), Some("app=cilium"));
    assert_eq!(after.len(), 2, "one per node");
    assert!(after.iter().all(|p| {
        !before
            .iter()
            .any(|b| b["metadata"]["uid"] == p["metadata"]["uid"])
    }));
}

#[tokio::test]
async fn rollout_status_of_a_statefulset_reports_success() {
    let c = Cluster::start().await;
    let mut sts = deployment("kubeflow", "kfp-db", 1);
    sts["kind"] = json!("StatefulSet");
    c.store.create(sts).unwrap();

    let status = c
        .kubectl_ok(&[
            "-n",
            "kubeflow",
            "rollout",
            "status",
            "statefulset",
            "kfp-db",
            "--timeout=30s",
        ])
        .await;

    // The apiserver defaults `rollingUpdate.partition: 0`, which sends kubectl down its
    // "partitioned" branch on real clusters too.
    assert_eq!(
        status.trim(),
        "partitioned roll out complete: 1 new pods have been updated..."
    );
}
