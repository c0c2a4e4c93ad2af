//! Hooks, run as Juju runs them: the real binary as `dispatch`, fake hook tools on `PATH`.

mod common;

use common::kube::NodeListApi;
use common::{Dispatch, SECRET_URI, refused_address, throwaway_ca};

const READY: &str = "ready; run migrate-to-ambient";
const NOT_CONFIGURED: &str = "ready; set juju-credentials to run migrate-to-ambient or verify";

#[tokio::test]
async fn install_without_credentials_is_active_and_says_to_set_them() {
    let api = NodeListApi::start(true).await;

    let run = Dispatch::hook("install")
        .kubeconfig(api.kubeconfig())
        .run()
        .await;

    assert_eq!(run.exit_code(), Some(0), "{}", run.stderr());
    assert_eq!(run.last_status_text(), format!("active: {NOT_CONFIGURED}"));
    assert_eq!(
        run.state().application_version.as_deref(),
        Some(env!("CARGO_PKG_VERSION"))
    );
}

#[tokio::test]
async fn install_lists_one_node_to_check_trust() {
    let api = NodeListApi::start(true).await;

    Dispatch::hook("install")
        .kubeconfig(api.kubeconfig())
        .run()
        .await;

    assert_eq!(
        api.requests(),
        vec!["GET /api/v1/nodes?&limit=1".to_string()]
    );
}

#[tokio::test]
async fn a_hook_without_trust_is_blocked_with_the_juju_trust_command() {
    let api = NodeListApi::start(false).await;

    let run = Dispatch::hook("install")
        .credentials(SECRET_URI, "migrator", "pw")
        .kubeconfig(api.kubeconfig())
        .run()
        .await;

    assert_eq!(run.exit_code(), Some(0));
    assert_eq!(
        run.last_status_text(),
        "blocked: missing trust: run `juju trust ckf-migrator --scope=cluster`"
    );
}

#[tokio::test]
async fn a_hook_outside_a_cluster_says_the_kubernetes_api_cannot_be_reached() {
    let run = Dispatch::hook("update-status").run().await;

    assert_eq!(run.exit_code(), Some(0));
    let status = run.last_status().expect("a status");
    assert_eq!(status.status, "blocked");
    assert!(
        status
            .message
            .starts_with("cannot reach the Kubernetes API: cannot use the pod's service account"),
        "{}",
        status.message
    );
}

#[tokio::test]
async fn config_changed_with_an_ungranted_secret_is_blocked_with_grant_secret() {
    let api = NodeListApi::start(true).await;

    let run = Dispatch::hook("config-changed")
        .config("juju-credentials", SECRET_URI)
        .secret_not_granted(SECRET_URI, &[("username", "migrator"), ("password", "pw")])
        .kubeconfig(api.kubeconfig())
        .run()
        .await;

    assert_eq!(run.exit_code(), Some(0));
    assert_eq!(
        run.last_status_text(),
        format!(
            "blocked: juju-credentials secret {SECRET_URI} is not granted to ckf-migrator: run `juju grant-secret {SECRET_URI} ckf-migrator`"
        )
    );
}

#[tokio::test]
async fn config_changed_with_a_secret_that_does_not_exist_says_so() {
    let api = NodeListApi::start(true).await;

    let run = Dispatch::hook("config-changed")
        .config("juju-credentials", SECRET_URI)
        .kubeconfig(api.kubeconfig())
        .run()
        .await;

    let status = run.last_status().expect("a status");
    assert_eq!(status.status, "blocked");
    assert!(
        status.message.starts_with(&format!(
            "juju-credentials secret {SECRET_URI} does not exist: list secrets with `juju secrets`"
        )),
        "{}",
        status.message
    );
}

#[tokio::test]
async fn config_changed_with_a_secret_missing_password_is_blocked_with_update_secret() {
    let api = NodeListApi::start(true).await;

    let run = Dispatch::hook("config-changed")
        .config("juju-credentials", SECRET_URI)
        .secret(SECRET_URI, &[("username", "migrator")])
        .kubeconfig(api.kubeconfig())
        .run()
        .await;

    assert_eq!(
        run.last_status_text(),
        format!(
            "blocked: juju-credentials secret {SECRET_URI} has no `password`: run `juju update-secret {SECRET_URI} username=<user> password=<password>`"
        )
    );
}

#[tokio::test]
async fn config_changed_reads_the_latest_secret_revision() {
    let api = NodeListApi::start(true).await;

    let run = Dispatch::hook("config-changed")
        .credentials(SECRET_URI, "migrator", "pw")
        .kubeconfig(api.kubeconfig())
        .run()
        .await;

    assert!(
        run.argv_all().contains(&vec![
            "secret-get".to_string(),
            SECRET_URI.to_string(),
            "--format=json".to_string(),
            "--refresh".to_string()
        ]),
        "{:?}",
        run.argv_all()
    );
}

#[tokio::test]
async fn config_changed_with_an_unreachable_controller_is_blocked_with_the_connection_error() {
    let api = NodeListApi::start(true).await;
    let password = "correct-horse-battery-staple";

    let run = Dispatch::hook("config-changed")
        .credentials(SECRET_URI, "migrator", password)
        .juju_api(&[refused_address()], common::MODEL_UUID, throwaway_ca())
        .kubeconfig(api.kubeconfig())
        .run()
        .await;

    assert_eq!(run.exit_code(), Some(0));
    let status = run.last_status().expect("a status");
    assert_eq!(status.status, "blocked");
    assert!(
        status
            .message
            .starts_with("juju-credentials: cannot connect to the Juju controller"),
        "{}",
        status.message
    );
    assert!(
        !run.everything_said().contains(password),
        "the password leaked:\n{}",
        run.everything_said()
    );
}

#[tokio::test]
async fn update_status_does_not_log_in() {
    let api = NodeListApi::start(true).await;

    // The controller address refuses connections: a login attempt would block the unit.
    let run = Dispatch::hook("update-status")
        .credentials(SECRET_URI, "migrator", "pw")
        .kubeconfig(api.kubeconfig())
        .run()
        .await;

    assert_eq!(run.last_status_text(), format!("active: {READY}"));
}

#[tokio::test]
async fn update_status_keeps_an_action_outcome() {
    let api = NodeListApi::start(true).await;

    let run = Dispatch::hook("update-status")
        .credentials(SECRET_URI, "migrator", "pw")
        .status(
            "active",
            "migrated to ambient at 2026-05-01 10:20 UTC; run verify",
        )
        .kubeconfig(api.kubeconfig())
        .run()
        .await;

    assert!(run.statuses().is_empty(), "{:?}", run.statuses());
}

#[tokio::test]
async fn update_status_keeps_a_login_failure_it_cannot_recheck() {
    let api = NodeListApi::start(true).await;

    let run = Dispatch::hook("update-status")
        .credentials(SECRET_URI, "migrator", "pw")
        .status(
            "blocked",
            "juju-credentials: login failed: invalid entity name or password",
        )
        .kubeconfig(api.kubeconfig())
        .run()
        .await;

    assert!(run.statuses().is_empty(), "{:?}", run.statuses());
}

#[tokio::test]
async fn update_status_notices_a_secret_granted_since_the_last_hook() {
    let api = NodeListApi::start(true).await;

    // `juju grant-secret` fires no hook: update-status is the first to see the grant.
    let run = Dispatch::hook("update-status")
        .credentials(SECRET_URI, "migrator", "pw")
        .status(
            "blocked",
            &format!("juju-credentials secret {SECRET_URI} is not granted to ckf-migrator: run `juju grant-secret {SECRET_URI} ckf-migrator`"),
        )
        .kubeconfig(api.kubeconfig())
        .run()
        .await;

    assert_eq!(run.last_status_text(), format!("active: {READY}"));
}

#[tokio::test]
async fn update_status_with_nothing_to_change_runs_at_most_three_hook_tools_and_logs_nothing() {
    let api = NodeListApi::start(true).await;

    // Every five minutes, for the life of the unit: each hook tool is a process.
    let run = Dispatch::hook("update-status")
        .credentials(SECRET_URI, "migrator", "pw")
        .status("active", READY)
        .kubeconfig(api.kubeconfig())
        .run()
        .await;

    assert_eq!(run.exit_code(), Some(0), "{}", run.stderr());
    assert!(run.argv_all().len() <= 3, "{:?}", run.argv_all());
    assert!(run.statuses().is_empty(), "{:?}", run.statuses());
    assert!(run.juju_log().is_empty(), "{:?}", run.juju_log());
    assert_eq!(run.state().unit_status.message, READY);
}

#[tokio::test]
async fn update_status_that_finds_trust_gone_sets_blocked_and_says_so_in_the_unit_log() {
    let api = NodeListApi::start(false).await;

    let run = Dispatch::hook("update-status")
        .credentials(SECRET_URI, "migrator", "pw")
        .status("active", READY)
        .kubeconfig(api.kubeconfig())
        .run()
        .await;

    let blocked = "blocked: missing trust: run `juju trust ckf-migrator --scope=cluster`";
    assert_eq!(run.last_status_text(), blocked);
    let lines: Vec<(&str, &str)> = run
        .juju_log()
        .iter()
        .map(|l| (l.level.as_str(), l.message.as_str()))
        .collect();
    assert_eq!(
        lines,
        vec![
            (
                "INFO",
                format!(
                    "ckf-migrator {} running hook update-status on ckf-migrator/0",
                    env!("CARGO_PKG_VERSION")
                )
                .as_str()
            ),
            ("WARNING", format!("update-status: {blocked}").as_str()),
        ]
    );
}

#[tokio::test]
async fn update_status_keeps_an_unchanged_problem_without_setting_it_again() {
    let api = NodeListApi::start(false).await;

    let run = Dispatch::hook("update-status")
        .credentials(SECRET_URI, "migrator", "pw")
        .status(
            "blocked",
            "missing trust: run `juju trust ckf-migrator --scope=cluster`",
        )
        .kubeconfig(api.kubeconfig())
        .run()
        .await;

    assert!(run.statuses().is_empty(), "{:?}", run.statuses());
    assert_eq!(run.state().unit_status.status, "blocked");
}

#[tokio::test]
async fn an_unknown_hook_exits_zero_and_changes_nothing() {
    let run = Dispatch::hook("ingress-relation-changed").run().await;

    assert_eq!(run.exit_code(), Some(0), "{}", run.stderr());
    assert!(run.statuses().is_empty());
    assert!(
        run.argv_all().iter().all(|argv| argv[0] == "juju-log"),
        "only logging: {:?}",
        run.argv_all()
    );
}

#[tokio::test]
async fn stop_does_nothing() {
    let run = Dispatch::hook("stop").run().await;

    assert_eq!(run.exit_code(), Some(0));
    assert!(run.statuses().is_empty());
}

#[tokio::test]
async fn tracing_reaches_juju_log_at_info() {
    let api = NodeListApi::start(true).await;

    let run = Dispatch::hook("install")
        .kubeconfig(api.kubeconfig())
        .run()
        .await;

    let line = format!(
        "ckf-migrator {} running hook install on ckf-migrator/0",
        env!("CARGO_PKG_VERSION")
    );
    assert!(
        run.juju_log()
            .iter()
            .any(|l| l.level == "INFO" && l.message == line),
        "{:?}",
        run.juju_log()
    );
}

#[tokio::test]
async fn a_hand_run_without_jujus_environment_exits_non_zero_with_the_reason() {
    let run = Dispatch::hook("install")
        .env("JUJU_UNIT_NAME", "")
        .run()
        .await;

    assert_eq!(run.exit_code(), Some(1));
    assert!(
        run.stderr().contains("JUJU_UNIT_NAME is not set"),
        "{}",
        run.stderr()
    );
}
