//! The running twin as a person sees it through the real kubectl: sidecar pods and rollouts.
//!
//! These tests need `kubectl` on PATH; without it they say so and pass.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ckf_sim::kube::ChangeKind;
use ckf_sim::{Sim, Twin};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(60);

fn kubectl() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("kubectl"))
            .find(|path| path.is_file())
    });
    if found.is_none() {
        eprintln!("skipping: kubectl is not on PATH (install it to check the twin through it)");
    }
    found
}

struct Twinned {
    sim: Sim,
    kubectl: PathBuf,
    _dir: tempfile::TempDir,
    kubeconfig: PathBuf,
}

async fn start(twin: Twin) -> Option<Twinned> {
    let kubectl = kubectl()?;
    let sim = tokio::time::timeout(LIMIT, Sim::start(twin))
        .await
        .expect("twin starts in time")
        .expect("twin starts");
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = sim.write_kubeconfig(dir.path()).expect("kubeconfig");
    Some(Twinned {
        sim,
        kubectl,
        _dir: dir,
        kubeconfig,
    })
}

impl Twinned {
    /// Runs kubectl; returns stdout, failing the test on a non-zero exit.
    async fn kubectl(&self, args: &[&str]) -> String {
        run(&self.kubectl, &self.kubeconfig, args).await
    }
}

async fn run(kubectl: &Path, kubeconfig: &Path, args: &[&str]) -> String {
    let out = tokio::time::timeout(
        LIMIT,
        tokio::process::Command::new(kubectl)
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(args)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("kubectl finishes in time")
    .expect("kubectl runs");
    assert!(
        out.status.success(),
        "kubectl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The row of `name` in kubectl's table output, split on whitespace.
fn row(table: &str, name: &str) -> Vec<String> {
    table
        .lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .find(|cells| cells.first().map(String::as_str) == Some(name))
        .unwrap_or_else(|| panic!("no row {name} in\n{table}"))
}

/// The lines of `kubectl describe` from `from` up to the next container (or section).
fn describe_section<'a>(describe: &'a str, from: &str) -> Vec<&'a str> {
    let mut lines = describe.lines().skip_while(|l| l.trim_end() != from);
    let first = lines.next().into_iter();
    first
        .chain(lines.take_while(|l| l.starts_with("    ") || l.trim().is_empty()))
        .collect()
}

fn field<'a>(section: &[&'a str], name: &str) -> Option<&'a str> {
    section.iter().find_map(|l| {
        l.trim_start()
            .strip_prefix(name)
            .and_then(|rest| rest.strip_prefix(':'))
            .map(str::trim)
    })
}

#[tokio::test]
async fn kubectl_shows_a_sidecar_pod_ready_2_of_2_with_a_running_istio_proxy() {
    let Some(t) = start(Twin::ckf_1_11()).await else {
        return;
    };

    let pods = t
        .kubectl(&["get", "pods", "-n", "admin", "-o", "wide"])
        .await;
    let describe = t
        .kubectl(&["describe", "pod", "-n", "admin", "my-notebook-0"])
        .await;

    let notebook = row(&pods, "my-notebook-0");
    assert_eq!(notebook[1], "2/2", "READY counts the proxy:\n{pods}");
    assert_eq!(notebook[2], "Running", "{pods}");
    assert_eq!(notebook[3], "0", "{pods}");
    assert!(notebook[5].starts_with("127."), "a loopback pod IP: {pods}");
    for line in pods.lines().skip(1) {
        let cells: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(
            (cells[1], cells[2]),
            ("2/2", "Running"),
            "every admin pod has a sidecar:\n{pods}"
        );
    }
    let proxy = describe_section(&describe, "  istio-proxy:");
    assert_eq!(field(&proxy, "State"), Some("Running"), "{describe}");
    assert!(
        field(&proxy, "Started").is_some_and(|s| !s.is_empty()),
        "a start time:\n{describe}"
    );
    assert_eq!(field(&proxy, "Ready"), Some("True"), "{describe}");
    assert!(
        field(&proxy, "Container ID").is_some_and(|id| id.starts_with("containerd://")),
        "{describe}"
    );
    let init = describe_section(&describe, "  istio-init:");
    assert_eq!(field(&init, "State"), Some("Terminated"), "{describe}");
    assert_eq!(field(&init, "Reason"), Some("Completed"), "{describe}");
}

#[tokio::test]
async fn a_migrated_twin_shows_pods_without_sidecars_as_1_of_1() {
    let Some(t) = start(Twin::ckf_1_11().migrated()).await else {
        return;
    };

    let pods = t.kubectl(&["get", "pods", "-n", "admin"]).await;

    let notebook = row(&pods, "my-notebook-0");
    assert_eq!(
        (notebook[1].as_str(), notebook[2].as_str()),
        ("1/1", "Running")
    );
}

/// (replicas, updatedReplicas, readyReplicas) of a workload's status.
fn counts(status: &Value) -> (i64, i64, i64) {
    let n = |k: &str| status.get(k).and_then(Value::as_i64).unwrap_or(0);
    (n("replicas"), n("updatedReplicas"), n("readyReplicas"))
}

#[tokio::test]
async fn a_rollout_restart_takes_a_pod_start_per_pod_and_rollout_status_waits_for_it() {
    // A pod of a rollout starts in 5 s × 0.1 = 0.5 s.
    let Some(t) = start(Twin::ckf_1_11().timing(0.1)).await else {
        return;
    };
    let pod_start = Duration::from_millis(500);
    let store = t.sim.store();
    let old = store.list(
        "v1",
        "Pod",
        Some("admin"),
        Some("app=ml-pipeline-ui-artifact"),
    );
    let mut changes = store.subscribe();
    let began = Instant::now();

    let restarted = t
        .kubectl(&[
            "-n",
            "admin",
            "rollout",
            "restart",
            "deployment",
            "ml-pipeline-ui-artifact",
        ])
        .await;
    let status = t
        .kubectl(&[
            "-n",
            "admin",
            "rollout",
            "status",
            "deployment",
            "ml-pipeline-ui-artifact",
            "--timeout=60s",
        ])
        .await;
    let took = began.elapsed();

    assert_eq!(
        restarted.trim(),
        "deployment.apps/ml-pipeline-ui-artifact restarted"
    );
    assert!(
        status.contains("deployment \"ml-pipeline-ui-artifact\" successfully rolled out"),
        "{status}"
    );
    assert!(
        took >= pod_start,
        "a rollout waits for its new pod to start: {took:?}"
    );
    let mut seen = Vec::new();
    while let Ok(change) = changes.try_recv() {
        if change.kind() == ChangeKind::Modified
            && change.object_kind() == "Deployment"
            && change.name() == "ml-pipeline-ui-artifact"
        {
            let c = counts(&change.object()["status"]);
            if seen.last() != Some(&c) {
                seen.push(c);
            }
        }
    }
    assert!(
        seen.contains(&(2, 1, 1)),
        "the new pod surged while the old one served: {seen:?}"
    );
    assert_eq!(seen.last(), Some(&(1, 1, 1)), "{seen:?}");
    let now = store.list(
        "v1",
        "Pod",
        Some("admin"),
        Some("app=ml-pipeline-ui-artifact"),
    );
    assert_eq!(now.len(), 1);
    assert_ne!(now[0]["metadata"]["uid"], old[0]["metadata"]["uid"]);
}

#[tokio::test]
async fn a_statefulset_rollout_shows_the_new_pod_initializing_then_completes() {
    // 1 s for the new pod: ample time to see it initializing.
    let Some(t) = start(Twin::ckf_1_11().timing(0.2)).await else {
        return;
    };

    t.kubectl(&[
        "-n",
        "admin",
        "rollout",
        "restart",
        "statefulset",
        "my-notebook",
    ])
    .await;
    let during = t
        .sim
        .store()
        .get("v1", "Pod", Some("admin"), "my-notebook-0");
    let status = t
        .kubectl(&[
            "-n",
            "admin",
            "rollout",
            "status",
            "statefulset",
            "my-notebook",
            "--timeout=60s",
        ])
        .await;
    let after = t.kubectl(&["get", "pods", "-n", "admin"]).await;

    let during = during.expect("the replacement exists while it starts");
    assert_eq!(
        during["status"]["phase"], "Pending",
        "not started yet: {during}"
    );
    assert_eq!(
        status.lines().last(),
        Some("partitioned roll out complete: 1 new pods have been updated..."),
        "{status}"
    );
    let notebook = row(&after, "my-notebook-0");
    assert_eq!(
        (notebook[1].as_str(), notebook[2].as_str()),
        ("2/2", "Running")
    );
    let sts = t
        .sim
        .store()
        .get("apps/v1", "StatefulSet", Some("admin"), "my-notebook")
        .expect("the notebook");
    assert_eq!(sts["status"]["updatedReplicas"], 1);
    assert_eq!(
        sts["status"]["currentRevision"],
        sts["status"]["updateRevision"]
    );
}
