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

    /// The real binary in CLI mode with `args`, connected to the twin as an operator would be:
    /// every connection flag, the admin's password in a file, the twin's kubeconfig.
    pub fn cli(&self, args: &[&str]) -> tokio::process::Command {
        let kubeconfig = self
            .sim
            .write_kubeconfig(self.dir.path())
            .expect("write kubeconfig");
        self.cli_with_kubeconfig(args, &kubeconfig)
    }

    /// [`Twinned::cli`] with another kubeconfig (an unreachable or refused cluster).
    pub fn cli_with_kubeconfig(
        &self,
        args: &[&str],
        kubeconfig: &std::path::Path,
    ) -> tokio::process::Command {
        let ca = self.dir.path().join("ca.pem");
        std::fs::write(&ca, self.sim.juju_ca_pem()).expect("ca");
        let password = self.dir.path().join("password");
        std::fs::write(&password, self.sim.admin_password()).expect("password");
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_ckf-migrator"));
        command
            .args(args)
            .args(["--controller", &self.sim.juju_address()])
            .args(["--model-uuid", self.sim.model_uuid()])
            .args(["--model", self.sim.model_name()])
            .arg("--ca-cert")
            .arg(&ca)
            .args(["--username", ADMIN_USER])
            .arg("--password-file")
            .arg(&password)
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .env_remove("JUJU_DISPATCH_PATH")
            .env_remove("KUBECONFIG")
            .env_remove("RUST_LOG")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        command
    }

    /// A session on the twin, as the engine opens one, logged in as the twin's admin.
    pub async fn session(&self) -> ckf_migrator::session::Session {
        let kubeconfig = self
            .sim
            .write_kubeconfig(self.dir.path())
            .expect("write kubeconfig");
        let target = ckf_migrator::session::Target {
            juju: ckf_migrator::juju::Credentials {
                addresses: vec![self.sim.juju_address()],
                model_uuid: self.sim.model_uuid().to_string(),
                username: ADMIN_USER.to_string(),
                password: ckf_migrator::juju::Password::new(self.sim.admin_password()),
                ca_cert_pem: self.sim.juju_ca_pem().to_string(),
            },
            cluster: ckf_migrator::cluster::Source::Kubeconfig(kubeconfig),
            model_name: self.sim.model_name().to_string(),
            connect: ckf_migrator::juju::ConnectOptions::default(),
        };
        tokio::time::timeout(START_TIMEOUT, ckf_migrator::session::Session::open(&target))
            .await
            .expect("the session opens in time")
            .expect("the session opens")
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
