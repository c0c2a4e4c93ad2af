//! The harness pointed at a running twin: the unit's credentials secret holds the twin's admin
//! user, `agent.conf` its controller CA, `JUJU_API_ADDRESSES` its controller, `KUBECONFIG` its
//! Kubernetes API.

#![allow(dead_code)]

use std::time::Duration;

use ckf_sim::{ADMIN_USER, Sim, Twin};
use serde_json::json;

use super::{Dispatch, SECRET_URI};

/// How long a twin may take to start.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running twin and a directory for its kubeconfig.
pub struct Twinned {
    /// The twin.
    pub sim: Sim,
    dir: tempfile::TempDir,
}

/// Starts `twin`.
pub async fn start(twin: Twin) -> Twinned {
    let sim = tokio::time::timeout(START_TIMEOUT, Sim::start(twin))
        .await
        .expect("the twin starts in time")
        .expect("the twin starts");
    let dir = tempfile::tempdir().expect("temp dir");
    Twinned { sim, dir }
}

impl Twinned {
    /// `dispatch` as the twin's leader unit would run it, logged in as the twin's admin, polling
    /// fast.
    pub fn unit(&self, dispatch: Dispatch) -> Dispatch {
        let kubeconfig = self
            .sim
            .write_kubeconfig(self.dir.path())
            .expect("write kubeconfig");
        dispatch
            .leader(true)
            .credentials(SECRET_URI, ADMIN_USER, self.sim.admin_password())
            .config("poll-interval", json!(0.02))
            .juju_api(
                &[self.sim.juju_address()],
                self.sim.model_uuid(),
                self.sim.juju_ca_pem(),
            )
            .kubeconfig(kubeconfig)
    }

    /// `migrate-to-ambient restart-workloads=true`, as Juju enqueues it. The twin's first profile
    /// has a notebook: without `restart-workloads` it keeps its sidecar and the run is honestly
    /// `incomplete` (see [`Twinned::migrate_with_defaults`]).
    pub fn migrate(&self) -> Dispatch {
        self.migrate_with_defaults()
            .param("restart-workloads", true)
    }

    /// `migrate-to-ambient` with the schema's defaults.
    pub fn migrate_with_defaults(&self) -> Dispatch {
        self.unit(
            Dispatch::action("migrate-to-ambient")
                .param("platform", "auto")
                .param("dry-run", false)
                .param("restart-workloads", false)
                .param("allow-serverless-loss", false)
                .param("timeout", 60),
        )
    }

    /// `verify` with the schema's defaults.
    pub fn verify(&self) -> Dispatch {
        self.unit(Dispatch::action("verify").param("http", true))
    }

    /// Juju writes since the twin started.
    pub fn juju_writes(&self) -> u64 {
        self.sim.model().writes_since_start()
    }

    /// Kubernetes requests that changed something.
    pub fn kube_writes(&self) -> usize {
        self.sim.store().requests().mutating_count()
    }

    /// Asserts the controller saw no request or response that breaks Juju's schema.
    pub fn assert_schema_clean(&self) {
        let violations = self.sim.model().requests().violations;
        assert!(violations.is_empty(), "schema violations: {violations:#?}");
    }
}
