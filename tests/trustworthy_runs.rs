//! The failure path, as the operator sees it: controller outages within and past the grace
//! window, Kubernetes throttling, SIGTERM and SIGINT, a dead Lease holder, a run whose changes
//! are done but whose verify fails. The real binary, in charm and CLI mode, against the twin.

mod common;

use std::time::{Duration, Instant};

use ckf_sim::Twin;
use common::Run;
use common::twin::{Twinned, start};
use serde_json::{Value, json};

/// Upper bound on one CLI run in these tests.
const LIMIT: Duration = Duration::from_secs(240);

fn logs(run: &Run) -> String {
    run.logs().join("\n")
}

/// The Lease's holder, if the Lease exists and is held.
fn lease_holder(t: &Twinned) -> Option<String> {
    t.sim
        .store()
        .get(
            "coordination.k8s.io/v1",
            "Lease",
            Some("kubeflow"),
            "ckf-migrator",
        )
        .and_then(|l| {
            l.pointer("/spec/holderIdentity")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
}

/// Waits (on the twin, not the binary) until `ready` holds, then runs `then`.
fn when(
    t: &Twinned,
    ready: impl Fn(&ckf_sim::model::Model) -> bool + Send + 'static,
    then: impl FnOnce(&ckf_sim::model::Model) + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    let model = t.sim.model().clone();
    tokio::spawn(async move {
        let deadline = Instant::now() + Duration::from_secs(120);
        while !ready(&model) {
            assert!(Instant::now() < deadline, "the trigger never came");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        then(&model);
    })
}

fn istio_k8s_deployed(model: &ckf_sim::model::Model) -> bool {
    model.application("istio-k8s").is_some()
}

// ---------------------------------------------------------------------------------------------
// Controller outages
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_controller_outage_shorter_than_the_grace_window_costs_nothing() {
    let t = start(Twin::ckf_1_11()).await;
    let outage = when(&t, istio_k8s_deployed, |model| {
        model.faults().controller_down_for(Duration::from_secs(2));
    });

    let run = t.migrate().config("outage-grace", json!(60)).run().await;
    outage.await.expect("the outage happened");

    run.assert_succeeded();
    assert_eq!(run.result("result"), Some("migrated"));
    let said = logs(&run);
    let address = t.sim.juju_address();
    assert!(
        said.contains(&format!(
            "lost contact with the Juju controller ({address})"
        )),
        "the loss is told with the address:\n{said}"
    );
    assert!(
        said.contains("Connection refused") || said.contains("connection refused"),
        "the cause is told:\n{said}"
    );
    assert!(
        said.contains(&format!("reconnected to the Juju controller at {address}")),
        "the recovery is told:\n{said}"
    );
    t.assert_schema_clean();
}

#[tokio::test]
async fn a_controller_gone_for_good_ends_the_run_soon_after_the_grace_window() {
    let t = start(Twin::ckf_1_11()).await;
    let went_down = std::sync::Arc::new(std::sync::Mutex::new(None::<Instant>));
    let mark = went_down.clone();
    let outage = when(&t, istio_k8s_deployed, move |model| {
        model.faults().controller_down();
        *mark.lock().expect("lock") = Some(Instant::now());
    });

    let run = t.migrate().config("outage-grace", json!(3)).run().await;
    let ended = Instant::now();
    outage.await.expect("the outage happened");

    assert_eq!(run.result("result"), Some("failed"));
    let since = went_down.lock().expect("lock").expect("it went down");
    assert!(
        ended.duration_since(since) < Duration::from_secs(3 + 10),
        "ended {:?} after the controller went down",
        ended.duration_since(since)
    );
    let failure = run.failure();
    let address = t.sim.juju_address();
    for expected in [
        format!(
            "migration failed at deploy-istio: lost contact with the Juju controller ({address}) at "
        ),
        "Connection refused".to_string(),
        "longer than the grace window of 3 s".to_string(),
        "last error: ".to_string(),
        "nothing is lost".to_string(),
        "re-run `juju run ckf-migrator/0 migrate-to-ambient restart-workloads=true`".to_string(),
    ] {
        assert!(failure.contains(&expected), "lacks {expected:?}: {failure}");
    }
    assert_eq!(lease_holder(&t), None, "the Lease is released");

    t.sim.model().faults().controller_up();
    let rerun = t.migrate().run().await;

    rerun.assert_succeeded();
    assert_eq!(rerun.result("result"), Some("migrated"));
}

#[tokio::test]
async fn kubernetes_throttling_for_a_while_is_ridden_out() {
    let t = start(Twin::ckf_1_11()).await;
    t.sim
        .store()
        .faults()
        .inject(ckf_sim::kube::Fault::too_many_requests().for_duration(Duration::from_secs(3)));

    let run = t.migrate().run().await;

    run.assert_succeeded();
    assert_eq!(run.result("result"), Some("migrated"));
}

// ---------------------------------------------------------------------------------------------
// Interrupts
// ---------------------------------------------------------------------------------------------

/// A run sent `signal` while `phase` runs stops cleanly; an immediate re-run completes.
async fn signalled_in(signal: &'static str, phase: &str, hold: &str) {
    let t = start(Twin::ckf_1_11().timing(0.02)).await;
    t.sim.model().faults().hold_settling(hold);
    let marker = phase.to_string();

    let stopped = t
        .migrate()
        .signal_when(signal, move |state| {
            state.unit_status.message.ends_with(&marker)
        })
        .await;

    assert_eq!(
        stopped.exit_code(),
        Some(0),
        "the charm exits 0 after action-fail"
    );
    assert_eq!(stopped.result("result"), Some("failed"));
    assert_eq!(
        stopped.result("interrupted-by"),
        Some(format!("SIG{signal}").as_str())
    );
    assert_eq!(stopped.result("failed-step"), Some(phase));
    let failure = stopped.failure();
    assert!(
        failure.starts_with(&format!(
            "migration stopped at {phase}: interrupted by SIG{signal} while "
        )),
        "{failure}"
    );
    assert!(
        failure
            .contains("re-run `juju run ckf-migrator/0 migrate-to-ambient restart-workloads=true`"),
        "{failure}"
    );
    assert_eq!(lease_holder(&t), None, "the Lease is released");
    t.sim.model().faults().release_settling();

    let rerun = t.migrate().run().await;

    rerun.assert_succeeded();
    assert_eq!(rerun.result("result"), Some("migrated"));
}

#[tokio::test]
async fn sigterm_while_istio_pilot_is_removed_stops_cleanly() {
    signalled_in("TERM", "remove-istio-pilot", "istio-pilot").await;
}

#[tokio::test]
async fn sigterm_while_istio_deploys_stops_cleanly() {
    signalled_in("TERM", "deploy-istio", "istio-k8s").await;
}

#[tokio::test]
async fn sigint_in_the_middle_of_the_refreshes_stops_cleanly() {
    signalled_in("INT", "refresh", "kfp-ui").await;
}

#[tokio::test]
async fn sigterm_in_the_middle_of_the_refreshes_stops_cleanly() {
    signalled_in("TERM", "refresh", "kfp-ui").await;
}

// ---------------------------------------------------------------------------------------------
// The outcome is what verify proves
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn without_restart_workloads_a_notebook_keeps_its_sidecar_and_the_run_is_incomplete() {
    let t = start(Twin::ckf_1_11()).await;

    let planned = t.migrate_with_defaults().param("dry-run", true).run().await;

    planned.assert_succeeded();
    let warning = planned.result("warnings").unwrap_or_default().to_string();
    assert!(
        warning.contains("admin/my-notebook") && warning.contains("restart-workloads=true"),
        "dry-run warns up front: {warning}"
    );

    let run = t.migrate_with_defaults().run().await;

    assert!(!run.succeeded(), "an incomplete migration fails the action");
    assert_eq!(run.result("result"), Some("incomplete"));
    assert_eq!(run.result("failed-checks"), Some("no-sidecars"));
    let failure = run.failure();
    assert!(failure.starts_with("migration incomplete: "), "{failure}");
    assert!(
        failure.contains("admin/my-notebook"),
        "names the notebook: {failure}"
    );
    assert!(
        failure.contains("run `juju run ckf-migrator/0 migrate-to-ambient restart-workloads=true`"),
        "says what to run: {failure}"
    );
    assert!(
        run.last_status_text()
            .starts_with("blocked: migration incomplete"),
        "{}",
        run.last_status_text()
    );

    let finished = t.migrate().run().await;

    finished.assert_succeeded();
    assert_eq!(finished.result("result"), Some("migrated"));
}

#[tokio::test]
async fn a_unit_in_error_mid_refresh_fails_naming_it_and_a_rerun_after_resolve_completes() {
    let t = start(Twin::ckf_1_11()).await;
    let errored = when(
        &t,
        |model| {
            model
                .application("kfp-api")
                .is_some_and(|a| a.channel == "2.15/edge")
        },
        |model| {
            model
                .faults()
                .unit_error("kfp-api/0", "upgrade-charm")
                .expect("kfp-api/0 exists");
        },
    );

    let run = t.migrate().run().await;
    errored.await.expect("the unit went to error");

    assert_eq!(run.result("result"), Some("failed"));
    let failure = run.failure();
    assert!(failure.contains("kfp-api/0 is in error"), "{failure}");
    assert!(
        failure.contains("upgrade-charm"),
        "names its status: {failure}"
    );
    assert!(
        failure.contains("re-run `juju run ckf-migrator/0 migrate-to-ambient"),
        "{failure}"
    );

    t.sim
        .model()
        .faults()
        .resolve("kfp-api/0")
        .expect("kfp-api/0 exists");
    let rerun = t.migrate().run().await;

    rerun.assert_succeeded();
    assert_eq!(rerun.result("result"), Some("migrated"));
}

// ---------------------------------------------------------------------------------------------
// The CLI
// ---------------------------------------------------------------------------------------------

/// `ckf-migrator ARGS` against the twin, polling fast.
fn cli(t: &Twinned, args: &[&str]) -> tokio::process::Command {
    let mut command = t.cli(args);
    command.args(["--poll-interval", "0.05"]);
    command
}

#[tokio::test]
async fn the_cli_rides_out_a_controller_outage_while_it_waits_on_the_watcher() {
    let t = start(Twin::ckf_1_11().timing(0.02)).await;
    // While the refreshes settle and the run waits on the AllWatcher's deltas.
    let outage = when(
        &t,
        |model| {
            model
                .application("minio")
                .is_some_and(|a| a.channel == "1.10/edge")
        },
        |model| model.faults().controller_down_for(Duration::from_secs(1)),
    );

    let output = tokio::time::timeout(
        LIMIT,
        cli(&t, &["migrate-to-ambient", "--restart-workloads"]).output(),
    )
    .await
    .expect("the CLI ends in time")
    .expect("the CLI runs");
    outage.await.expect("the outage happened");

    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "stderr:\n{stderr}");
    assert!(stdout.contains("result: migrated"), "{stdout}");
    let address = t.sim.juju_address();
    assert!(
        stderr.contains(&format!(
            "lost contact with the Juju controller ({address})"
        )),
        "the loss is told:\n{stderr}"
    );
    assert!(
        stderr.contains(&format!("reconnected to the Juju controller at {address}")),
        "the recovery is told:\n{stderr}"
    );
    assert!(
        t.sim.model().requests().count("Client.WatchAll") >= 2,
        "a new watcher after the outage"
    );
    t.assert_schema_clean();
}

#[tokio::test]
async fn the_cli_stops_on_sigint_releases_the_lease_and_a_rerun_completes() {
    let t = start(Twin::ckf_1_11().timing(0.02)).await;
    t.sim.model().faults().hold_settling("istio-pilot");
    let child = cli(&t, &["migrate-to-ambient", "--restart-workloads"])
        .spawn()
        .expect("start the CLI");
    let pid = child.id().expect("pid");
    let model = t.sim.model().clone();
    let interrupter = tokio::spawn(async move {
        // istio-pilot dying: the run is waiting inside remove-istio-pilot.
        while !model
            .application("istio-pilot")
            .is_some_and(|a| a.life == ckf_sim::model::Life::Dying)
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        common::send_signal("INT", pid);
    });

    let output = tokio::time::timeout(LIMIT, child.wait_with_output())
        .await
        .expect("the CLI stops in time")
        .expect("the CLI runs");
    interrupter.await.expect("interrupted");

    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(130), "stderr:\n{stderr}");
    assert!(stdout.contains("result: failed"), "{stdout}");
    assert!(stdout.contains("interrupted-by: SIGINT"), "{stdout}");
    assert!(
        stderr.contains("SIGINT received: stopping at a safe point"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "re-run `ckf-migrator migrate-to-ambient --restart-workloads` with the same connection flags"
        ),
        "advice in the CLI's syntax:\n{stderr}"
    );
    assert!(
        !stderr.contains("juju run"),
        "no charm syntax in the CLI:\n{stderr}"
    );
    assert_eq!(lease_holder(&t), None, "the Lease is released");
    t.sim.model().faults().release_settling();

    let rerun = tokio::time::timeout(
        LIMIT,
        cli(&t, &["migrate-to-ambient", "--restart-workloads"]).output(),
    )
    .await
    .expect("in time")
    .expect("runs");

    assert!(
        rerun.status.success(),
        "{}",
        String::from_utf8_lossy(&rerun.stderr)
    );
    assert!(String::from_utf8_lossy(&rerun.stdout).contains("result: migrated"));
}

#[tokio::test]
async fn the_cli_takes_over_a_lease_whose_holder_died_on_this_host() {
    let t = start(Twin::ckf_1_11()).await;
    let dead = std::process::Command::new("true")
        .spawn()
        .expect("spawn true");
    let pid = dead.id();
    let mut dead = dead;
    dead.wait().expect("true exits");
    let holder = {
        let me = ckf_migrator::migrate::holder::cli_holder();
        let (prefix, _) = me.rsplit_once(':').expect("cli:user@host:pid");
        format!("{prefix}:{pid}")
    };
    let now = jiff::Timestamp::now().to_string();
    t.sim
        .store()
        .apply(json!({
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": { "name": "ckf-migrator", "namespace": "kubeflow" },
            "spec": { "holderIdentity": holder, "leaseDurationSeconds": 600, "acquireTime": now, "renewTime": now }
        }))
        .expect("lease");

    let run = tokio::time::timeout(
        LIMIT,
        cli(&t, &["migrate-to-ambient", "--restart-workloads"]).output(),
    )
    .await
    .expect("in time")
    .expect("runs");

    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "took over Lease kubeflow/ckf-migrator from {holder}, a process on this host that no longer exists"
        )),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_cli_exits_3_when_the_migration_is_incomplete_and_says_so_in_flags() {
    let t = start(Twin::ckf_1_11()).await;

    let planned = tokio::time::timeout(LIMIT, cli(&t, &["plan"]).output())
        .await
        .expect("in time")
        .expect("runs");
    let plan_err = String::from_utf8_lossy(&planned.stderr);
    assert!(planned.status.success(), "{plan_err}");
    assert!(
        plan_err.contains("admin/my-notebook") && plan_err.contains("--restart-workloads"),
        "plan warns up front, in flags:\n{plan_err}"
    );

    let run = tokio::time::timeout(LIMIT, cli(&t, &["migrate-to-ambient"]).output())
        .await
        .expect("in time")
        .expect("runs");

    let stderr = String::from_utf8_lossy(&run.stderr);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(run.status.code(), Some(3), "{stderr}");
    assert!(stdout.contains("result: incomplete"), "{stdout}");
    assert!(
        stderr.contains(
            "run `ckf-migrator migrate-to-ambient --restart-workloads` with the same connection flags"
        ),
        "{stderr}"
    );
    assert!(
        !stderr.contains("restart-workloads=true"),
        "no charm syntax:\n{stderr}"
    );
}

#[tokio::test]
async fn the_cli_without_cluster_access_is_told_about_its_kubeconfig_not_juju_trust() {
    let t = start(Twin::ckf_1_11().untrusted()).await;

    let run = tokio::time::timeout(LIMIT, cli(&t, &["plan"]).output())
        .await
        .expect("in time")
        .expect("runs");

    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "missing trust: ckf-migrator cannot read cluster-wide objects: use a kubeconfig"
        ),
        "{stderr}"
    );
    assert!(
        !stderr.contains("juju trust"),
        "no charm syntax in the CLI:\n{stderr}"
    );
    assert!(
        stderr.contains(
            "fix this, then run `ckf-migrator migrate-to-ambient --dry-run` with the same connection flags"
        ),
        "{stderr}"
    );
}
