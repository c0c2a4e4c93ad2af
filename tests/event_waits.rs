//! Waiting on events: phases wake on the AllWatcher's deltas and on Kubernetes watch events,
//! read the model whole only to start and to confirm, start a new watcher when the old one's
//! connection drops, and fall back to polling when the controller serves no AllWatcher. The real
//! binary in charm mode against the twin.

mod common;

use std::time::{Duration, Instant};

use ckf_sim::Twin;
use ckf_sim::kube::Protocol;
use ckf_sim::model::Times;
use common::twin::{Twinned, start};

/// Phases of the built-in plan.
const PHASES: u64 = 9;

/// Whole reads outside the phases: preflight's, the backup's and verify's.
const OUTSIDE_PHASES: u64 = 3;

fn count(t: &Twinned, method: &str) -> u64 {
    t.sim.model().requests().count(method)
}

#[tokio::test]
async fn a_migration_reads_the_model_whole_at_most_twice_a_phase() {
    let t = start(Twin::ckf_1_11()).await;

    let run = t.migrate().run().await;

    run.assert_succeeded();
    assert_eq!(run.result("result"), Some("migrated"));
    let whole = count(&t, "Client.FullStatus");
    assert!(
        whole <= 2 * PHASES + OUTSIDE_PHASES,
        "{whole} FullStatus calls for {PHASES} phases"
    );
    assert_eq!(count(&t, "Client.WatchAll"), 1, "one watcher for the run");
    assert!(
        count(&t, "AllWatcher.Next") > PHASES,
        "waits were on deltas"
    );
    assert_eq!(
        count(&t, "AllWatcher.Stop"),
        1,
        "the watcher is stopped at the end"
    );
    t.assert_schema_clean();
}

#[tokio::test]
async fn a_watcher_lost_mid_phase_is_replaced_and_the_phase_completes() {
    let t = start(Twin::ckf_1_11()).await;
    let model = t.sim.model().clone();
    // While the refreshes settle, drop every connection (the blocking Next among them).
    let drop = tokio::spawn(async move {
        let deadline = Instant::now() + Duration::from_secs(120);
        while model
            .application("minio")
            .is_none_or(|a| a.channel != "1.10/edge")
        {
            assert!(Instant::now() < deadline, "the refresh never came");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        model
            .faults()
            .controller_down_for(Duration::from_millis(300));
    });

    let run = t.migrate().run().await;
    drop.await.expect("the connections were dropped");

    run.assert_succeeded();
    assert_eq!(run.result("result"), Some("migrated"));
    assert!(
        count(&t, "Client.WatchAll") >= 2,
        "a new watcher after the drop"
    );
    t.assert_schema_clean();
}

#[tokio::test]
async fn without_an_allwatcher_the_run_polls_and_still_migrates() {
    let t = start(Twin::ckf_1_11()).await;
    t.sim.model().faults().fail(
        "Client.WatchAll",
        "no such request - method Client(8).WatchAll is not implemented",
        "not implemented",
        Times::Always,
    );

    let run = t.migrate().run().await;

    run.assert_succeeded();
    assert_eq!(run.result("result"), Some("migrated"));
    assert_eq!(count(&t, "AllWatcher.Next"), 0);
    assert!(
        count(&t, "Client.FullStatus") > 2 * PHASES + OUTSIDE_PHASES,
        "waits polled FullStatus"
    );
    t.assert_schema_clean();
}

#[tokio::test]
async fn every_kubernetes_read_and_watch_of_a_run_shares_one_http2_connection() {
    let t = start(Twin::ckf_1_11()).await;

    let run = t.migrate().run().await;

    run.assert_succeeded();
    let kube = t.sim.store().requests();
    let watches = kube.records().iter().filter(|r| r.verb == "watch").count();
    assert!(
        watches >= 2,
        "the phases watched the cluster ({watches} watches)"
    );
    // Over HTTP/1.1 every watch holds a connection of its own, and each phase opens new ones.
    assert_eq!(
        kube.connections(),
        vec![Protocol::Http2],
        "one connection, HTTP/2, as client-go keeps"
    );
}
