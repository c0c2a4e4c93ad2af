//! The charm's hooks and verify action against the twin: real logins, real trust, real checks.

mod common;

use ckf_sim::Twin;
use common::twin::start;
use common::{Dispatch, SECRET_URI, throwaway_ca};

#[tokio::test]
async fn config_changed_with_working_credentials_says_ready() {
    let t = start(Twin::ckf_1_11()).await;

    let run = t.unit(Dispatch::hook("config-changed")).run().await;

    assert_eq!(
        run.last_status_text(),
        "active: ready; run migrate-to-ambient"
    );
}

#[tokio::test]
async fn config_changed_with_a_wrong_password_is_blocked_without_showing_it() {
    let t = start(Twin::ckf_1_11()).await;

    let run = t
        .unit(Dispatch::hook("config-changed"))
        .credentials(SECRET_URI, "admin", "wrong-horse-battery")
        .run()
        .await;

    assert_eq!(
        run.last_status_text(),
        format!(
            "blocked: juju-credentials: login failed: invalid entity name or password; run `juju update-secret {SECRET_URI} username=<user> password=<password>` with a model admin's password"
        )
    );
    assert!(!run.everything_said().contains("wrong-horse-battery"));
}

#[tokio::test]
async fn a_controller_ca_that_does_not_match_is_blocked() {
    let t = start(Twin::ckf_1_11()).await;

    let run = t
        .unit(Dispatch::hook("config-changed"))
        .juju_api(&[t.sim.juju_address()], t.sim.model_uuid(), throwaway_ca())
        .run()
        .await;

    let status = run.last_status_text();
    assert!(status.starts_with("blocked: juju-credentials:"), "{status}");
    assert!(
        status.to_lowercase().contains("certificate"),
        "the TLS failure is named: {status}"
    );
}

#[tokio::test]
async fn a_charm_deployed_without_trust_is_blocked_with_the_fix() {
    let t = start(Twin::ckf_1_11().untrusted()).await;

    let run = t.unit(Dispatch::hook("update-status")).run().await;

    assert_eq!(
        run.last_status_text(),
        "blocked: missing trust: run `juju trust ckf-migrator --scope=cluster`"
    );
}

#[tokio::test]
async fn verify_passes_after_the_migration_and_update_status_keeps_the_outcome() {
    let t = start(Twin::ckf_1_11()).await;
    // The notebook and the InferenceService keep their sidecars unless asked.
    let migrated = t.migrate().param("restart-workloads", true).run().await;
    assert_eq!(
        migrated.result("result"),
        Some("migrated"),
        "{}",
        migrated.failure()
    );
    assert_eq!(
        migrated.result("verify.result"),
        Some("pass"),
        "{:?}",
        migrated.results()
    );

    let verify = t
        .verify()
        .status("active", &migrated.last_status().expect("a status").message)
        .run()
        .await;

    assert!(verify.succeeded(), "{}", verify.failure());
    assert_eq!(verify.result("result"), Some("pass"));
    assert_eq!(verify.result("failed"), Some("0"));
    let later = t
        .unit(Dispatch::hook("update-status"))
        .status("active", &verify.last_status().expect("a status").message)
        .run()
        .await;
    let kept = &later.state().unit_status;
    assert!(
        later.statuses().is_empty(),
        "update-status left the status alone: {:?}",
        later.statuses()
    );
    assert!(kept.message.contains("verify passed"), "{kept:?}");
}

#[tokio::test]
async fn verify_on_an_unmigrated_model_fails_naming_the_checks() {
    let t = start(Twin::ckf_1_11()).await;

    let run = t.verify().run().await;

    assert!(!run.succeeded());
    assert_eq!(run.result("result"), Some("fail"));
    let failure = run.failure();
    for check in [
        "legacy-applications-gone",
        "no-sidecars",
        "profile-namespaces-ambient",
    ] {
        assert!(failure.contains(check), "{check} named in: {failure}");
    }
    assert_eq!(t.juju_writes(), 0, "verify writes nothing");
    assert_eq!(t.kube_writes(), 0, "verify writes nothing");
}
