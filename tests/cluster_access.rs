//! One clear error per cause: when the Kubernetes API cannot be used, the real binary says so
//! once — the address, the cause in plain words, the fix in the front end's syntax — instead of
//! failing every check on the same cause, and the libraries' own logs stay out of stderr and
//! `juju-log`.
//!
//! Juju is the twin's controller throughout; only the kubeconfig is broken: pointed at a closed
//! port on 127.0.0.1, or carrying a token the twin's API server does not know.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use ckf_sim::{TRUSTED_TOKEN, Twin};
use common::refused_address;
use common::twin::{Twinned, start};

/// Every run in these tests is bounded by this.
const LIMIT: Duration = Duration::from_secs(60);

/// The twin's kubeconfig pointed at `127.0.0.1:<closed port>`; returns it and that address.
fn unreachable_kubeconfig(t: &Twinned, dir: &Path) -> (PathBuf, String) {
    let address = refused_address();
    let text = t
        .sim
        .kubeconfig()
        .replace(&t.sim.kube_url(), &format!("https://{address}"));
    assert!(text.contains(&address), "the server URL was replaced");
    let path = dir.join("kubeconfig-unreachable");
    std::fs::write(&path, text).expect("write kubeconfig");
    (path, address)
}

/// The twin's kubeconfig with a token its API server does not know (401).
fn revoked_token_kubeconfig(t: &Twinned, dir: &Path) -> PathBuf {
    let text = t.sim.kubeconfig().replace(TRUSTED_TOKEN, "revoked-token");
    assert!(text.contains("revoked-token"), "the token was replaced");
    let path = dir.join("kubeconfig-revoked");
    std::fs::write(&path, text).expect("write kubeconfig");
    path
}

/// The `checks.*` results of a verify action, as (name, verdict).
fn check_results(run: &common::Run) -> Vec<(String, String)> {
    run.results()
        .get("checks")
        .and_then(|c| c.as_object())
        .map(|checks| {
            checks
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// What reached `juju-log` and stderr.
fn logs(run: &common::Run) -> String {
    let mut all: String = run
        .juju_log()
        .iter()
        .map(|l| format!("{} {}\n", l.level, l.message))
        .collect();
    all.push_str(run.stderr());
    all
}

/// No line from kube-rs, hyper, tower, rustls or tungstenite.
fn assert_no_library_logs(text: &str) {
    for library in ["kube_client", "hyper", "tower", "rustls", "tungstenite"] {
        assert!(
            !text.contains(library),
            "{library} logged where the operator reads:\n{text}"
        );
    }
}

#[tokio::test]
async fn cli_verify_with_an_unreachable_cluster_prints_one_row_naming_the_address_and_cause() {
    let t = start(Twin::ckf_1_11().migrated()).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let (kubeconfig, address) = unreachable_kubeconfig(&t, dir.path());

    let run = t.cli_with_kubeconfig(&["verify"], &kubeconfig).output();
    let output = tokio::time::timeout(LIMIT, run)
        .await
        .expect("the CLI finishes in time")
        .expect("the CLI runs");

    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "verify must fail\n{stdout}");
    let rows: Vec<&str> = stdout
        .lines()
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect();
    assert_eq!(rows.len(), 1, "one row, not one per check:\n{stdout}");
    let row = rows[0];
    assert!(row.starts_with("cluster"), "{row}");
    assert!(row.contains("kubernetes-api"), "{row}");
    assert!(
        row.contains(&format!(
            "fail: cannot reach the Kubernetes API at https://{address}: connection refused; check the server address and CA in the kubeconfig (--kubeconfig or KUBECONFIG)"
        )),
        "{row}"
    );
    assert_no_library_logs(&stderr);
    assert!(
        stderr.lines().count() <= 2,
        "stderr should be short:\n{stderr}"
    );
}

#[tokio::test]
async fn charm_verify_with_an_unreachable_cluster_fails_one_check_with_the_pods_fix() {
    let t = start(Twin::ckf_1_11().migrated()).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let (kubeconfig, address) = unreachable_kubeconfig(&t, dir.path());

    let run = t.verify().kubeconfig(&kubeconfig).run().await;

    assert!(!run.succeeded(), "verify must fail");
    let checks = check_results(&run);
    assert_eq!(checks.len(), 1, "one check, not one per check: {checks:#?}");
    let (name, verdict) = &checks[0];
    assert_eq!(name, "kubernetes-api");
    assert!(
        verdict.starts_with(&format!(
            "fail: cannot reach the Kubernetes API at https://{address}: connection refused; the pod of ckf-migrator/0 cannot use the cluster's API server"
        )),
        "{verdict}"
    );
    assert!(!verdict.contains("kubeconfig"), "{verdict}");
    assert_eq!(run.result("failed"), Some("1"));
    assert!(
        run.failure().contains("kubernetes-api"),
        "{}",
        run.failure()
    );
    let logs = logs(&run);
    assert!(
        !logs.contains("ServiceError") && !logs.contains("client error (Connect)"),
        "the logs repeat the failure in kube-rs's words:\n{logs}"
    );
    assert_no_library_logs(&run.everything_said());
    assert_eq!(t.juju_writes(), 0, "verify never writes");
}

#[tokio::test]
async fn charm_verify_with_a_token_the_api_refuses_names_401_and_trust() {
    let t = start(Twin::ckf_1_11().migrated()).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = revoked_token_kubeconfig(&t, dir.path());

    let run = t.verify().kubeconfig(&kubeconfig).run().await;

    assert!(!run.succeeded(), "verify must fail");
    let checks = check_results(&run);
    assert_eq!(checks.len(), 1, "one check: {checks:#?}");
    let (name, verdict) = &checks[0];
    assert_eq!(name, "kubernetes-api");
    assert_eq!(
        verdict,
        &format!(
            "fail: the Kubernetes API at {} refused the credentials (HTTP 401 Unauthorized); run `juju trust ckf-migrator --scope=cluster`",
            t.sim.kube_url().trim_end_matches('/')
        )
    );
    assert_no_library_logs(&run.everything_said());
}

#[tokio::test]
async fn charm_migrate_with_an_unreachable_cluster_fails_at_preflight_once_and_writes_nothing() {
    let t = start(Twin::ckf_1_11()).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let (kubeconfig, address) = unreachable_kubeconfig(&t, dir.path());

    let run = t.migrate().kubeconfig(&kubeconfig).run().await;

    assert!(!run.succeeded(), "the migration must not proceed");
    let failure = run.failure();
    assert!(
        failure.starts_with(&format!(
            "migration failed at preflight: cannot reach the Kubernetes API at https://{address}: connection refused; the pod of ckf-migrator/0"
        )),
        "{failure}"
    );
    assert_eq!(
        failure.matches("connection").count(),
        1,
        "one sentence for the one cause, not one per cluster check: {failure}"
    );
    assert!(!failure.contains("ServiceError"), "{failure}");
    assert_eq!(
        t.juju_writes(),
        0,
        "nothing may change before preflight passes"
    );
    assert_no_library_logs(&run.everything_said());
    t.assert_schema_clean();
}
