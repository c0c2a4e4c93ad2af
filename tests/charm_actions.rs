//! Actions, run as Juju runs them: the real binary as `dispatch`, fake hook tools on `PATH`.
//!
//! Without the twin, every action here stops before the engine does any work (parameters,
//! credentials, or the login); the twin-backed runs belong to the end-to-end tests.

mod common;

use common::kube::NodeListApi;
use common::{Dispatch, SECRET_URI, refused_address, throwaway_ca};
use serde_json::json;

/// Juju inserts the schema's defaults before the charm runs.
fn migrate() -> Dispatch {
    Dispatch::action("migrate-to-ambient")
        .param("platform", "auto")
        .param("dry-run", false)
        .param("restart-workloads", false)
        .param("allow-serverless-loss", false)
        .param("timeout", 60)
}

fn verify() -> Dispatch {
    Dispatch::action("verify").param("http", true)
}

#[tokio::test]
async fn an_unknown_action_fails_naming_the_actions_it_handles() {
    let run = Dispatch::action("backup").run().await;

    assert_eq!(
        run.exit_code(),
        Some(0),
        "failed actions exit 0: {}",
        run.stderr()
    );
    assert!(!run.succeeded());
    assert_eq!(
        run.failure(),
        "unknown action \"backup\": this charm handles migrate-to-ambient, verify, restore; see `juju actions ckf-migrator`"
    );
    assert_eq!(run.result("result"), Some("failed"));
    assert_eq!(run.result("error").map(str::to_string), Some(run.failure()));
}

#[tokio::test]
async fn migrate_without_credentials_fails_with_the_commands_that_set_them() {
    let run = migrate().run().await;

    assert_eq!(run.exit_code(), Some(0));
    let failure = run.failure();
    assert!(
        failure.starts_with("juju-credentials is not set: "),
        "{failure}"
    );
    for command in [
        "`juju add-user migrator`",
        "`juju grant migrator admin kubeflow`",
        "`juju add-secret migrator-credentials username=migrator password=<password>`",
        "`juju grant-secret migrator-credentials ckf-migrator`",
        "`juju config ckf-migrator juju-credentials=",
    ] {
        assert!(failure.contains(command), "missing {command} in: {failure}");
    }
    assert_eq!(run.result("result"), Some("failed"));
    assert_eq!(
        run.last_status_text(),
        "active: ready; set juju-credentials to run migrate-to-ambient or verify"
    );
}

#[tokio::test]
async fn verify_without_credentials_fails_with_the_same_instructions() {
    let run = verify().run().await;

    assert!(!run.succeeded());
    assert!(
        run.failure().starts_with("juju-credentials is not set: "),
        "{}",
        run.failure()
    );
}

#[tokio::test]
async fn an_action_with_an_ungranted_secret_fails_with_grant_secret() {
    let run = verify()
        .config("juju-credentials", SECRET_URI)
        .secret_not_granted(SECRET_URI, &[("username", "u"), ("password", "p")])
        .run()
        .await;

    assert_eq!(
        run.failure(),
        format!(
            "juju-credentials secret {SECRET_URI} is not granted to ckf-migrator: run `juju grant-secret {SECRET_URI} ckf-migrator`"
        )
    );
    assert_eq!(
        run.last_status().map(|s| s.status.as_str()),
        Some("blocked")
    );
}

#[tokio::test]
async fn bad_params_fail_naming_the_param_and_the_fix() {
    let cases = [
        (
            "platfrom",
            json!("microk8s"),
            "migrate-to-ambient has no parameter `platfrom`: accepted parameters are platform, dry-run, restart-workloads, allow-serverless-loss, timeout",
        ),
        (
            "dry-run",
            json!("yes"),
            "parameter `dry-run` must be true or false, got the string \"yes\": pass for example dry-run=true",
        ),
        (
            "platform",
            json!("eks"),
            "parameter `platform` must be one of auto, microk8s, canonical-k8s, k3s, k3d, gke, minikube, none, got \"eks\"",
        ),
        (
            "timeout",
            json!(0),
            "parameter `timeout` must be at least 1, got 0: pass for example timeout=60",
        ),
        (
            "timeout",
            json!(2.5),
            "parameter `timeout` must be a whole number, got 2.5: pass for example timeout=60",
        ),
    ];
    for (param, value, problem) in cases {
        let run = migrate().param(param, value.clone()).run().await;

        assert_eq!(
            run.failure(),
            format!("invalid parameters for migrate-to-ambient: {problem}"),
            "{param}={value}"
        );
        assert_eq!(run.result("result"), Some("failed"), "{param}={value}");
        assert!(
            !run.argv_all().iter().any(|argv| argv[0] == "secret-get"),
            "bad params stop before the credentials are read"
        );
    }
}

#[tokio::test]
async fn verify_refuses_a_non_boolean_http() {
    let run = Dispatch::action("verify").param("http", "no").run().await;

    assert_eq!(
        run.failure(),
        "invalid parameters for verify: parameter `http` must be true or false, got the string \"no\": pass for example http=false"
    );
}

#[tokio::test]
async fn migrate_with_an_unreachable_controller_fails_with_the_connection_error() {
    let api = NodeListApi::start(true).await;
    let password = "correct-horse-battery-staple";

    let run = migrate()
        .credentials(SECRET_URI, "migrator", password)
        .juju_api(&[refused_address()], common::MODEL_UUID, throwaway_ca())
        .kubeconfig(api.kubeconfig())
        .leader(true)
        .run()
        .await;

    assert_eq!(run.exit_code(), Some(0), "{}", run.stderr());
    let failure = run.failure();
    assert!(
        failure.starts_with("cannot log in to Juju: cannot connect to the Juju controller"),
        "{failure}"
    );
    assert!(
        failure.contains(&format!("juju-credentials secret {SECRET_URI}")),
        "{failure}"
    );
    assert_eq!(run.result("result"), Some("failed"));
    let last = run.last_status().expect("a status");
    assert_eq!(last.status, "blocked");
    assert!(
        last.message
            .starts_with("juju-credentials: cannot connect to the Juju controller"),
        "{}",
        last.message
    );
    assert!(
        run.argv_all()
            .contains(&vec!["is-leader".to_string(), "--format=json".to_string()]),
        "the leadership is asked before the engine runs"
    );
    assert!(
        !run.everything_said().contains(password),
        "the password leaked:\n{}",
        run.everything_said()
    );
}

#[tokio::test]
async fn verify_with_an_unreachable_controller_fails_with_the_connection_error() {
    let api = NodeListApi::start(true).await;

    let run = verify()
        .param("http", false)
        .credentials(SECRET_URI, "migrator", "pw")
        .kubeconfig(api.kubeconfig())
        .run()
        .await;

    assert!(
        run.failure()
            .starts_with("cannot log in to Juju: cannot connect to the Juju controller"),
        "{}",
        run.failure()
    );
    let statuses: Vec<String> = run
        .statuses()
        .iter()
        .map(|s| format!("{}: {}", s.status, s.message))
        .collect();
    assert_eq!(statuses[0], "maintenance: running verify");
}

#[tokio::test]
async fn a_failed_action_is_also_in_the_unit_log() {
    let run = Dispatch::action("backup").run().await;

    assert!(
        run.juju_log()
            .iter()
            .any(|l| l.level == "ERROR" && l.message.starts_with("unknown action \"backup\"")),
        "{:?}",
        run.juju_log()
    );
}
