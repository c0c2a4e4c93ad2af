//! ckf-migrator's Juju client against the Juju controller of ckf-sim, over real TLS websockets.
//!
//! The twin checks every request against Juju 3.6's own schema (`juju-3.6-facades.json`, for the
//! facade version called) and refuses what does not validate; every test ends by asserting it
//! recorded no violation, so a wrong key or type in the client fails here. The twin is written
//! from the reference, not from the client's types. Every wait has a timeout.

use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ckf_migrator::juju::{
    Client, ConnectOptions, Credentials, DeploySpec, Error, Life, Password, code,
};
use ckf_sim::juju::{ControllerHandle, start};
use ckf_sim::model::{Access, ControllerVersion, Model, ModelConfig, Redirect, Timing};
use ckf_sim::tls::Authority;

/// Longest any single wait may take before the test fails.
const WAIT: Duration = Duration::from_secs(20);

const ADMIN: (&str, &str) = ("migrator", "hunter2-Adm1n-pw");
const OUTSIDER: (&str, &str) = ("outsider", "s3cret-outsider");

/// Fails the test with `what` if `future` does not finish within [`WAIT`].
async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, future)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}

/// A model with its controller on loopback.
struct Twin {
    model: Model,
    controller: ControllerHandle,
    ca_pem: String,
}

impl Twin {
    /// A 3.6.11 controller with fast settling.
    async fn start() -> Twin {
        Twin::start_version(ControllerVersion::V3_6_11).await
    }

    async fn start_version(version: ControllerVersion) -> Twin {
        let model = Model::new(ModelConfig {
            version,
            timing: Timing::fast(),
            ..ModelConfig::default()
        });
        model.add_user(ADMIN.0, ADMIN.1, Access::Admin);
        model.add_user(OUTSIDER.0, OUTSIDER.1, Access::LoginOnly);
        let started = start(model.clone()).await.expect("controller starts");
        Twin {
            model,
            controller: started.handle,
            ca_pem: started.ca_pem,
        }
    }

    fn credentials(&self, user: &str, password: &str) -> Credentials {
        Credentials {
            addresses: vec![self.controller.api_address()],
            model_uuid: self.model.uuid().to_owned(),
            username: user.to_owned(),
            password: Password::new(password),
            ca_cert_pem: self.ca_pem.clone(),
        }
    }

    async fn login(&self, user: &str, password: &str) -> Result<Client, Error> {
        within(
            "connect and log in",
            Client::connect(&self.credentials(user, password), options()),
        )
        .await
    }

    async fn admin(&self) -> Client {
        self.login(ADMIN.0, ADMIN.1).await.expect("admin logs in")
    }

    /// Deploys a fixture application, already settled.
    fn settled(&self, app: &str, channel: &str) {
        self.model
            .deploy_settled(app, app, channel, &[], false)
            .expect("fixture deploy");
    }

    fn count(&self, method: &str) -> u64 {
        self.model.requests().count(method)
    }

    /// The twin validated every request it received against Juju's schema.
    fn assert_schema_clean(&self) {
        let stats = self.model.requests();
        let violations: Vec<String> = stats.violations.iter().map(|v| v.to_string()).collect();
        assert!(violations.is_empty(), "schema violations: {violations:#?}");
    }
}

fn options() -> ConnectOptions {
    ConnectOptions {
        call_timeout: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(5),
        reconnect_delay: Duration::from_millis(50),
        ..ConnectOptions::default()
    }
}

/// An address nothing listens on (bound, then released).
fn closed_address() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").to_string()
}

/// Polls `check` until it holds, at most [`WAIT`].
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    within(what, async {
        while !check().await {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Login

#[tokio::test]
async fn login_reports_user_model_version_and_negotiated_facades() {
    let twin = Twin::start().await;

    let client = twin.admin().await;

    let info = client.login_info();
    assert_eq!(info.user, ADMIN.0);
    assert_eq!(info.model_uuid, twin.model.uuid());
    assert_eq!(info.model_access, "admin");
    assert_eq!(info.server_version, "3.6.11");
    assert_eq!(info.address, twin.controller.api_address());
    let expected: BTreeMap<String, u32> = [
        ("AllWatcher", 3),
        ("Application", 22),
        ("Charms", 7),
        ("Client", 8),
        ("Pinger", 1),
        ("Resources", 3),
    ]
    .into_iter()
    .map(|(f, v)| (f.to_owned(), v))
    .collect();
    assert_eq!(info.facades, expected);
    client.close().await;
    twin.assert_schema_clean();
}

#[tokio::test]
async fn a_3_6_0_controller_is_driven_with_application_20() {
    let twin = Twin::start_version(ControllerVersion::V3_6_0).await;
    twin.settled("kfp-viz", "2.15/stable");

    let client = twin.admin().await;
    let config = within("Application.Get", client.application_config("kfp-viz")).await;

    assert_eq!(client.login_info().facades["Application"], 20);
    assert_eq!(client.login_info().server_version, "3.6.0");
    let config = config.expect("Get at version 20 is served by 3.6.0");
    assert_eq!(config.charm, "kfp-viz");
    twin.assert_schema_clean();
}

#[tokio::test]
async fn wrong_password_is_refused_with_jujus_message() {
    let twin = Twin::start().await;

    let err = twin
        .login(ADMIN.0, "not-the-password")
        .await
        .expect_err("refused");

    assert_eq!(
        err.to_string(),
        "login failed: invalid entity name or password"
    );
    assert_eq!(err.code(), Some(code::UNAUTHORIZED));
    assert!(err.is_unauthorized());
    assert!(!err.is_retryable());
    twin.assert_schema_clean();
}

#[tokio::test]
async fn unknown_user_is_refused_like_a_wrong_password() {
    let twin = Twin::start().await;

    let err = twin.login("nobody", "whatever").await.expect_err("refused");

    assert_eq!(
        err.to_string(),
        "login failed: invalid entity name or password"
    );
    assert!(err.is_unauthorized());
    twin.assert_schema_clean();
}

#[tokio::test]
async fn user_without_model_access_is_refused_permission_denied() {
    let twin = Twin::start().await;

    let err = twin
        .login(OUTSIDER.0, OUTSIDER.1)
        .await
        .expect_err("refused");

    assert_eq!(err.to_string(), "login failed: permission denied");
    assert_eq!(err.code(), Some(code::UNAUTHORIZED));
    twin.assert_schema_clean();
}

#[tokio::test]
async fn empty_password_gets_a_discharge_request_which_is_a_failed_login() {
    let twin = Twin::start().await;

    let err = twin.login(ADMIN.0, "").await.expect_err("refused");

    assert!(matches!(err, Error::Login { .. }), "{err:?}");
    assert_eq!(err.code(), Some(code::DISCHARGE_REQUIRED));
    assert!(err.to_string().starts_with("login failed: "), "{err}");
    assert!(err.is_unauthorized());
    twin.assert_schema_clean();
}

#[tokio::test]
async fn unknown_model_is_refused_with_model_not_found() {
    let twin = Twin::start().await;
    let mut credentials = twin.credentials(ADMIN.0, ADMIN.1);
    credentials.model_uuid = "0b5d6f5e-1111-4222-8333-444455556666".into();

    let err = within("login", Client::connect(&credentials, options()))
        .await
        .expect_err("no such model");

    assert_eq!(err.code(), Some(code::MODEL_NOT_FOUND));
    assert!(
        err.to_string()
            .contains("unknown model: \"0b5d6f5e-1111-4222-8333-444455556666\""),
        "{err}"
    );
    assert!(!err.is_unauthorized());
    twin.assert_schema_clean();
}

#[tokio::test]
async fn moved_model_reports_the_addresses_the_controller_names() {
    let twin = Twin::start().await;
    let elsewhere: SocketAddr = closed_address().parse().expect("address");
    twin.model.faults().model_moved(Redirect {
        addr: elsewhere,
        ca_cert: twin.ca_pem.clone(),
        controller_tag: "controller-7c1e2d3f-aaaa-4bbb-8ccc-ddddeeeeffff".into(),
        controller_alias: "elsewhere".into(),
    });

    let err = twin.login(ADMIN.0, ADMIN.1).await.expect_err("redirected");

    let Error::Redirected { addresses } = &err else {
        panic!("expected Redirected, got {err:?}");
    };
    assert_eq!(addresses, &[elsewhere.to_string()]);
    assert!(err.is_redirected());
    twin.assert_schema_clean();
}

#[tokio::test]
async fn a_controller_signed_by_another_ca_is_not_trusted() {
    let twin = Twin::start().await;
    let mut credentials = twin.credentials(ADMIN.0, ADMIN.1);
    credentials.ca_cert_pem = Authority::generate("some other CA").expect("CA").ca_pem();

    let err = within("connect", Client::connect(&credentials, options()))
        .await
        .expect_err("untrusted");

    let Error::Connect { attempts } = &err else {
        panic!("expected Connect, got {err:?}");
    };
    assert_eq!(attempts.len(), 1);
    assert!(attempts[0].contains("tls"), "{attempts:?}");
    assert_eq!(
        twin.model.requests().total,
        0,
        "nothing reached the controller"
    );
}

#[tokio::test]
async fn each_address_is_tried_in_turn() {
    let twin = Twin::start().await;
    let mut credentials = twin.credentials(ADMIN.0, ADMIN.1);
    let dead = closed_address();
    credentials.addresses = vec![dead, twin.controller.api_address()];

    let client = within("connect", Client::connect(&credentials, options()))
        .await
        .expect("second address answers");

    assert_eq!(client.login_info().address, twin.controller.api_address());
    twin.assert_schema_clean();
}

#[tokio::test]
async fn no_address_answering_lists_every_attempt() {
    let credentials = Credentials {
        addresses: vec![closed_address(), closed_address()],
        model_uuid: "0b5d6f5e-1111-4222-8333-444455556666".into(),
        username: ADMIN.0.into(),
        password: Password::new(ADMIN.1),
        ca_cert_pem: Authority::generate("CA").expect("CA").ca_pem(),
    };

    let err = within("connect", Client::connect(&credentials, options()))
        .await
        .expect_err("nothing listens");

    let Error::Connect { attempts } = &err else {
        panic!("expected Connect, got {err:?}");
    };
    assert_eq!(attempts.len(), 2);
    assert!(err.is_retryable());
}

/// Collects everything a `tracing` subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("not poisoned")).into_owned()
    }
}

// A current-thread runtime: the thread-local subscriber sees every task, the twin's included.
#[tokio::test(flavor = "current_thread")]
async fn the_password_never_appears_in_logs_errors_or_debug_output() {
    let twin = Twin::start().await;
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let client = twin.admin().await;
    let _ = within("status", client.full_status()).await;
    twin.model.faults().drop_connection_at(1);
    let _ = within("status across a drop", client.full_status()).await;
    let refused = twin
        .login(ADMIN.0, "hunter2-Wrong-pw")
        .await
        .expect_err("refused");
    let shown = format!(
        "{client:?} {refused} {refused:?} {:?} {:?}",
        twin.credentials(ADMIN.0, ADMIN.1),
        client.login_info()
    );
    client.close().await;

    let logged = logs.text();
    assert!(logged.contains("logged in"), "the capture works: {logged}");
    for secret in [ADMIN.1, "hunter2-Wrong-pw"] {
        assert!(!logged.contains(secret), "password in the logs");
        assert!(
            !shown.contains(secret),
            "password in errors or Debug: {shown}"
        );
    }
    twin.assert_schema_clean();
}

// ---------------------------------------------------------------------------------------------
// Transport: drops, reconnection, concurrency, pings

#[tokio::test]
async fn a_write_in_flight_when_the_connection_drops_fails_retryably_and_the_next_call_reconnects()
{
    let twin = Twin::start().await;
    twin.settled("kserve-controller", "0.15/stable");
    let client = twin.admin().await;
    twin.model.faults().drop_connection_at(1);
    let settings = BTreeMap::from([("deployment-mode".to_owned(), "rawdeployment".to_owned())]);

    let lost = within(
        "SetConfigs",
        client.set_config("kserve-controller", &settings),
    )
    .await;

    let err = lost.expect_err("the connection dropped under the call");
    assert!(err.is_disconnected() && err.is_retryable(), "{err:?}");
    let retried = within(
        "SetConfigs again",
        client.set_config("kserve-controller", &settings),
    )
    .await;
    retried.expect("the next call reconnects and succeeds");
    assert_eq!(twin.count("Admin.Login"), 2, "logged in again");
    let config = twin
        .model
        .application("kserve-controller")
        .expect("deployed")
        .config;
    assert_eq!(config["deployment-mode"], "rawdeployment");
    let current = client.current_login().await.expect("connected");
    assert_eq!(
        current.facades["Application"], 22,
        "facades negotiated again"
    );
    twin.assert_schema_clean();
}

#[tokio::test]
async fn a_read_interrupted_by_a_drop_is_retried_on_a_new_connection() {
    let twin = Twin::start().await;
    twin.settled("kfp-viz", "2.15/stable");
    let client = twin.admin().await;
    twin.model.faults().drop_connection_at(1);

    let status = within("FullStatus", client.full_status()).await;

    let status = status.expect("the read is retried after reconnecting");
    assert!(status.applications.contains_key("kfp-viz"));
    assert_eq!(twin.count("Admin.Login"), 2);
    // Login, FullStatus (dropped unanswered, counted in the total only), Login, FullStatus.
    assert_eq!(twin.model.requests().total, 4);
    assert_eq!(twin.count("Client.FullStatus"), 1);
    twin.assert_schema_clean();
}

#[tokio::test]
async fn a_controller_that_stays_down_fails_calls_with_a_retryable_error() {
    let twin = Twin::start().await;
    let client = twin.admin().await;
    let Twin {
        model, controller, ..
    } = twin;
    drop(controller);

    let first = within("FullStatus", client.full_status()).await;
    let second = within("FullStatus again", client.full_status()).await;

    for outcome in [first, second] {
        let err = outcome.expect_err("the controller is gone");
        assert!(err.is_retryable(), "{err:?}");
    }
    assert!(client.current_login().await.is_none());
    assert!(model.requests().violations.is_empty());
}

#[tokio::test]
async fn concurrent_calls_get_their_own_replies_when_they_come_back_out_of_order() {
    let twin = Twin::start().await;
    twin.settled("dex-auth", "2.41/stable");
    let client = twin.admin().await;
    twin.model
        .faults()
        .delay_reply("Client.FullStatus", Duration::from_secs(2));
    let (done, mut finished) = tokio::sync::mpsc::unbounded_channel();

    let slow = async {
        let status = client.full_status().await;
        let _ = done.send("FullStatus");
        status
    };
    let fast = async {
        let config = client.application_config("dex-auth").await;
        let _ = done.send("Get");
        config
    };
    let (status, config) = within("both calls", async { tokio::join!(slow, fast) }).await;

    let order = [finished.recv().await, finished.recv().await];
    assert_eq!(
        order,
        [Some("Get"), Some("FullStatus")],
        "Get overtook FullStatus"
    );
    assert!(
        status
            .expect("status")
            .applications
            .contains_key("dex-auth")
    );
    assert_eq!(config.expect("config").application, "dex-auth");
    assert_eq!(twin.count("Admin.Login"), 1, "one connection carried both");
    twin.assert_schema_clean();
}

#[tokio::test]
async fn pings_go_out_on_the_interval() {
    let twin = Twin::start().await;
    let credentials = twin.credentials(ADMIN.0, ADMIN.1);
    let client = within(
        "connect",
        Client::connect(
            &credentials,
            ConnectOptions {
                ping_interval: Duration::from_millis(20),
                ..options()
            },
        ),
    )
    .await
    .expect("logs in");

    eventually("two pings", async || twin.count("Pinger.Ping") >= 2).await;

    assert!(
        client.current_login().await.is_some(),
        "pings were answered"
    );
    twin.assert_schema_clean();
}

// ---------------------------------------------------------------------------------------------
// Status, removal, deploy

#[tokio::test]
async fn full_status_shows_charm_channel_revision_units_and_relations() {
    let twin = Twin::start().await;
    twin.settled("kfp-api", "2.15/stable");
    twin.settled("kfp-viz", "2.15/stable");
    twin.model
        .relate_settled("kfp-api:kfp-viz", "kfp-viz:kfp-viz")
        .expect("fixture relation");
    let client = twin.admin().await;

    let status = within("FullStatus", client.full_status())
        .await
        .expect("status");

    assert_eq!(status.name, "kubeflow");
    assert_eq!(status.model_type, "caas");
    let api = &status.applications["kfp-api"];
    let expected = twin.model.application("kfp-api").expect("deployed");
    assert_eq!(api.charm, "kfp-api");
    assert_eq!(api.charm_url, expected.charm_url);
    assert_eq!(api.revision, Some(expected.revision));
    assert_eq!(api.channel, "2.15/stable");
    assert_eq!(api.life, Life::Alive);
    let unit = &api.units["kfp-api/0"];
    assert_eq!(unit.workload.current, "active");
    assert_eq!(unit.agent.current, "idle");
    assert!(unit.leader);
    let relation = status
        .relations
        .iter()
        .find(|r| r.interface == "k8s-service")
        .expect("the kfp-viz relation");
    let mut sides: Vec<(&str, &str, &str)> = relation
        .endpoints
        .iter()
        .map(|e| (e.application.as_str(), e.name.as_str(), e.role.as_str()))
        .collect();
    sides.sort();
    assert_eq!(
        sides,
        [
            ("kfp-api", "kfp-viz", "requirer"),
            ("kfp-viz", "kfp-viz", "provider")
        ]
    );
    twin.assert_schema_clean();
}

#[tokio::test]
async fn removal_is_observed_dying_then_gone() {
    let twin = Twin::start().await;
    twin.settled("kfp-viz", "2.15/stable");
    let client = twin.admin().await;
    twin.model.faults().hold_settling("kfp-viz");

    within(
        "DestroyApplication",
        client.destroy_application("kfp-viz", false),
    )
    .await
    .expect("removal starts");
    let dying = within("FullStatus", client.full_status())
        .await
        .expect("status");
    twin.model.faults().release_settling();

    assert_eq!(dying.applications["kfp-viz"].life, Life::Dying);
    eventually("kfp-viz gone", async || {
        client
            .full_status()
            .await
            .is_ok_and(|s| !s.applications.contains_key("kfp-viz"))
    })
    .await;
    twin.assert_schema_clean();
}

#[tokio::test]
async fn removing_an_unknown_application_is_not_found() {
    let twin = Twin::start().await;
    let client = twin.admin().await;

    let err = within(
        "DestroyApplication",
        client.destroy_application("nope", false),
    )
    .await
    .expect_err("no such application");

    assert!(err.is_not_found(), "{err:?}");
    assert!(
        err.to_string().contains("application \"nope\" not found"),
        "{err}"
    );
    twin.assert_schema_clean();
}

#[tokio::test]
async fn deploy_creates_the_application_with_config_and_trust() {
    let twin = Twin::start().await;
    let client = twin.admin().await;
    let spec = DeploySpec {
        application: "istio-ingress-k8s".into(),
        charm: "istio-ingress-k8s".into(),
        channel: "2/edge".into(),
        units: 1,
        config: BTreeMap::new(),
        trust: true,
        revision: None,
        base: None,
    };

    within("DeployFromRepository", client.deploy(&spec))
        .await
        .expect("deployed");

    let app = twin.model.application("istio-ingress-k8s").expect("exists");
    assert_eq!(app.charm, "istio-ingress-k8s");
    assert_eq!(app.channel, "2/edge");
    assert!(app.trust);
    twin.assert_schema_clean();
}

#[tokio::test]
async fn deploy_passes_config_as_yaml_keyed_by_the_application() {
    let twin = Twin::start().await;
    let client = twin.admin().await;
    let spec = DeploySpec {
        application: "kserve-controller".into(),
        charm: "kserve-controller".into(),
        channel: "0.15/edge".into(),
        units: 1,
        config: BTreeMap::from([("deployment-mode".to_owned(), "rawdeployment".to_owned())]),
        trust: true,
        revision: None,
        base: None,
    };

    within("DeployFromRepository", client.deploy(&spec))
        .await
        .expect("deployed");

    let app = twin.model.application("kserve-controller").expect("exists");
    assert_eq!(app.user_config["deployment-mode"], "rawdeployment");
    twin.assert_schema_clean();
}

#[tokio::test]
async fn deploying_over_an_existing_application_is_already_exists() {
    let twin = Twin::start().await;
    twin.settled("istio-k8s", "2/edge");
    let client = twin.admin().await;
    let spec = DeploySpec {
        application: "istio-k8s".into(),
        charm: "istio-k8s".into(),
        channel: "2/edge".into(),
        units: 1,
        ..DeploySpec::default()
    };

    let err = within("DeployFromRepository", client.deploy(&spec))
        .await
        .expect_err("exists");

    assert!(err.is_already_exists(), "{err:?}");
    twin.assert_schema_clean();
}

// ---------------------------------------------------------------------------------------------
// Relations

#[tokio::test]
async fn adding_a_relation_that_exists_is_success_reported_as_already_there() {
    let twin = Twin::start().await;
    twin.settled("kfp-api", "2.15/stable");
    twin.settled("kfp-viz", "2.15/stable");
    let client = twin.admin().await;

    let first = within(
        "AddRelation",
        client.add_relation("kfp-api:kfp-viz", "kfp-viz:kfp-viz"),
    )
    .await;
    let second = within(
        "AddRelation again",
        client.add_relation("kfp-viz:kfp-viz", "kfp-api:kfp-viz"),
    )
    .await;

    assert!(first.expect("added"), "the first call adds it");
    assert!(
        !second.expect("already there is success"),
        "the second call finds it there"
    );
    let relations: Vec<_> = twin
        .model
        .relations()
        .into_iter()
        .filter(|r| r.connects("kfp-api", "kfp-viz"))
        .collect();
    assert_eq!(relations.len(), 1);
    twin.assert_schema_clean();
}

#[tokio::test]
async fn relating_an_unknown_endpoint_surfaces_jujus_text() {
    let twin = Twin::start().await;
    twin.settled("kfp-api", "2.15/stable");
    twin.settled("kfp-viz", "2.15/stable");
    let client = twin.admin().await;

    let err = within(
        "AddRelation",
        client.add_relation("kfp-api:foo", "kfp-viz:kfp-viz"),
    )
    .await
    .expect_err("no such endpoint");

    let Error::Call { message, code, .. } = &err else {
        panic!("expected a call error, got {err:?}");
    };
    assert_eq!(message, "application \"kfp-api\" has no \"foo\" relation");
    assert_eq!(code, &None);
    twin.assert_schema_clean();
}

#[tokio::test]
async fn destroying_a_relation_removes_it_and_a_missing_one_is_reported() {
    let twin = Twin::start().await;
    twin.settled("kfp-api", "2.15/stable");
    twin.settled("kfp-viz", "2.15/stable");
    twin.model
        .relate_settled("kfp-api:kfp-viz", "kfp-viz:kfp-viz")
        .expect("fixture relation");
    let client = twin.admin().await;

    let removed = within(
        "DestroyRelation",
        client.destroy_relation("kfp-api:kfp-viz", "kfp-viz:kfp-viz"),
    )
    .await;

    assert!(removed.expect("removed"), "a relation was removed");
    eventually("relation gone", async || {
        twin.model
            .relations()
            .iter()
            .all(|r| !r.connects("kfp-api", "kfp-viz"))
    })
    .await;
    let again = within(
        "DestroyRelation again",
        client.destroy_relation("kfp-api:kfp-viz", "kfp-viz:kfp-viz"),
    )
    .await;
    assert!(!again.expect("nothing to remove"), "nothing left to remove");
    twin.assert_schema_clean();
}

// ---------------------------------------------------------------------------------------------
// Config and trust

#[tokio::test]
async fn config_and_trust_set_are_read_back_through_get() {
    let twin = Twin::start().await;
    twin.settled("kserve-controller", "0.15/stable");
    let client = twin.admin().await;
    let settings = BTreeMap::from([("deployment-mode".to_owned(), "rawdeployment".to_owned())]);

    within(
        "SetConfigs",
        client.set_config("kserve-controller", &settings),
    )
    .await
    .expect("set");
    within("trust", client.set_trust("kserve-controller", true))
        .await
        .expect("trusted");
    let config = within("Get", client.application_config("kserve-controller"))
        .await
        .expect("read");

    assert!(config.trust);
    let mode = &config.options["deployment-mode"];
    assert_eq!(mode.as_config_string(), "rawdeployment");
    assert_eq!(mode.source, "user");
    assert_eq!(mode.option_type, "string");
    assert_eq!(config.channel, "0.15/stable");
    assert!(
        twin.model
            .application("kserve-controller")
            .expect("app")
            .trust
    );
    twin.assert_schema_clean();
}

#[tokio::test]
async fn get_reports_defaults_and_no_trust_on_a_fresh_application() {
    let twin = Twin::start().await;
    twin.settled("kserve-controller", "0.15/stable");
    let client = twin.admin().await;

    let config = within("Get", client.application_config("kserve-controller"))
        .await
        .expect("read");

    assert!(!config.trust);
    assert_eq!(config.charm, "kserve-controller");
    let mode = &config.options["deployment-mode"];
    assert_eq!(mode.as_config_string(), "serverless");
    assert_eq!(mode.source, "default");
    twin.assert_schema_clean();
}

#[tokio::test]
async fn a_config_value_of_the_wrong_type_is_refused_with_jujus_text() {
    let twin = Twin::start().await;
    twin.settled("kfp-api", "2.15/stable");
    let client = twin.admin().await;
    let settings = BTreeMap::from([("http-port".to_owned(), "not-a-number".to_owned())]);

    let err = within("SetConfigs", client.set_config("kfp-api", &settings))
        .await
        .expect_err("refused");

    let Error::Call {
        method, message, ..
    } = &err
    else {
        panic!("expected a call error, got {err:?}");
    };
    assert_eq!(method, "SetConfigs");
    assert!(message.contains("http-port"), "{message}");
    twin.assert_schema_clean();
}

// ---------------------------------------------------------------------------------------------
// Refresh

#[tokio::test]
async fn refresh_upgrades_a_changed_oci_image_and_keeps_an_unchanged_one() {
    let twin = Twin::start().await;
    twin.settled("kserve-controller", "0.15/stable");
    let before = twin.model.application("kserve-controller").expect("app");
    let client = twin.admin().await;

    let outcome = within(
        "refresh",
        client.refresh("kserve-controller", "0.15/edge", false),
    )
    .await
    .expect("refreshed");

    let after = twin.model.application("kserve-controller").expect("app");
    assert_eq!(outcome.from_url, before.charm_url);
    assert_eq!(outcome.to_url, after.charm_url);
    assert_ne!(outcome.to_url, outcome.from_url);
    assert_eq!(outcome.to_revision, Some(after.revision));
    assert_eq!(outcome.resources_upgraded, ["kserve-controller-image"]);
    assert_eq!(after.channel, "0.15/edge");
    assert_ne!(
        after.resources["kserve-controller-image"],
        before.resources["kserve-controller-image"]
    );
    assert_eq!(
        after.resources["kube-rbac-proxy-image"],
        before.resources["kube-rbac-proxy-image"]
    );
    assert_eq!(twin.count("Resources.AddPendingResources"), 1);
    twin.assert_schema_clean();
}

#[tokio::test]
async fn refresh_to_a_risk_only_channel_keeps_the_track_and_upgrades_oci_image() {
    let twin = Twin::start().await;
    twin.settled("kfp-api", "2.15/stable");
    let before = twin.model.application("kfp-api").expect("app");
    let client = twin.admin().await;

    let outcome = within("refresh", client.refresh("kfp-api", "edge", false))
        .await
        .expect("refreshed");

    let after = twin.model.application("kfp-api").expect("app");
    assert_eq!(after.channel, "2.15/edge");
    assert!(after.revision > before.revision);
    assert_eq!(outcome.resources_upgraded, ["oci-image"]);
    assert_ne!(after.resources["oci-image"], before.resources["oci-image"]);
    twin.assert_schema_clean();
}

#[tokio::test]
async fn refresh_with_an_unchanged_oci_image_adds_no_pending_resource() {
    let twin = Twin::start().await;
    twin.settled("kfp-viz", "2.15/stable");
    let before = twin.model.application("kfp-viz").expect("app");
    let client = twin.admin().await;

    let outcome = within("refresh", client.refresh("kfp-viz", "2.15/edge", false))
        .await
        .expect("refreshed");

    let after = twin.model.application("kfp-viz").expect("app");
    assert!(outcome.resources_upgraded.is_empty());
    assert!(after.revision > before.revision);
    assert_eq!(after.resources["oci-image"], before.resources["oci-image"]);
    assert_eq!(twin.count("Resources.AddPendingResources"), 0);
    assert_eq!(twin.count("Application.SetCharm"), 1);
    twin.assert_schema_clean();
}

#[tokio::test]
async fn refresh_to_the_current_channel_writes_nothing() {
    let twin = Twin::start().await;
    twin.settled("kfp-viz", "2.15/stable");
    let client = twin.admin().await;
    let writes = twin.model.writes_since_start();

    let outcome = within("refresh", client.refresh("kfp-viz", "2.15/stable", false))
        .await
        .expect("nothing to do");

    assert_eq!(outcome.to_url, outcome.from_url);
    assert!(outcome.resources_upgraded.is_empty());
    assert_eq!(twin.model.writes_since_start(), writes, "no write sent");
    twin.assert_schema_clean();
}

#[tokio::test]
async fn refresh_to_a_malformed_channel_is_refused_before_sending() {
    let twin = Twin::start().await;
    twin.settled("kfp-viz", "2.15/stable");
    let client = twin.admin().await;
    let sent = twin.model.requests().total;

    let err = within("refresh", client.refresh("kfp-viz", "2.15/unstable", false))
        .await
        .expect_err("bad channel");

    assert!(matches!(err, Error::Invalid(_)), "{err:?}");
    assert!(err.to_string().contains("2.15/unstable"), "{err}");
    assert_eq!(twin.model.requests().total, sent);
    twin.assert_schema_clean();
}

#[tokio::test]
async fn refresh_of_an_unknown_application_surfaces_not_found() {
    let twin = Twin::start().await;
    let client = twin.admin().await;

    let err = within("refresh", client.refresh("nope", "2/edge", false))
        .await
        .expect_err("no such application");

    assert!(err.is_not_found(), "{err:?}");
    twin.assert_schema_clean();
}

// ---------------------------------------------------------------------------------------------
// AllWatcher

#[tokio::test]
async fn the_allwatcher_sends_the_whole_model_first_then_each_change() {
    use ckf_migrator::juju::Delta;
    let twin = Twin::start().await;
    twin.settled("kfp-viz", "2.15/stable");
    let client = twin.admin().await;
    let watcher = within("WatchAll", client.watch_all())
        .await
        .expect("a watcher");

    let first = within("first Next", watcher.next()).await.expect("deltas");
    assert!(
        first.iter().any(|d| matches!(d,
            Delta::Application { name, removed: false, charm_url, .. }
                if name == "kfp-viz" && charm_url.contains("kfp-viz"))),
        "the whole model first: {first:?}"
    );
    assert!(
        first
            .iter()
            .any(|d| matches!(d, Delta::Unit { name, .. } if name == "kfp-viz/0"))
    );

    twin.model.faults().hold_settling("kfp-viz");
    within(
        "DestroyApplication",
        client.destroy_application("kfp-viz", false),
    )
    .await
    .expect("removal starts");
    let dying = within("Next after removal", watcher.next())
        .await
        .expect("deltas");
    assert!(
        dying.iter().any(|d| matches!(d,
            Delta::Application { name, life: Life::Dying, removed: false, .. } if name == "kfp-viz")),
        "{dying:?}"
    );
    twin.model.faults().release_settling();
    let mut gone = false;
    while !gone {
        let deltas = within("Next until removed", watcher.next())
            .await
            .expect("deltas");
        gone = deltas.iter().any(
            |d| matches!(d, Delta::Application { name, removed: true, .. } if name == "kfp-viz"),
        );
    }
    within("Stop", watcher.stop()).await;
    assert_eq!(twin.count("AllWatcher.Stop"), 1);
    twin.assert_schema_clean();
}

#[tokio::test]
async fn a_watcher_dies_with_its_connection_and_a_new_one_starts_on_the_next() {
    let twin = Twin::start().await;
    twin.settled("kfp-viz", "2.15/stable");
    let client = twin.admin().await;
    let watcher = within("WatchAll", client.watch_all())
        .await
        .expect("a watcher");
    within("first Next", watcher.next())
        .await
        .expect("the model");

    twin.model.faults().drop_connection_at(1);
    let lost = within("Next on a dropped connection", watcher.next()).await;
    let err = lost.expect_err("the connection dropped under Next");
    assert!(err.is_retryable(), "{err:?}");

    let again = within("WatchAll again", client.watch_all())
        .await
        .expect("a new watcher on a new connection");
    let first = within("first Next", again.next()).await.expect("deltas");
    assert!(
        !first.is_empty(),
        "a new watcher starts with the whole model"
    );
    assert_eq!(twin.count("Admin.Login"), 2);
    twin.assert_schema_clean();
}

#[tokio::test]
async fn a_stopped_watcher_is_unknown() {
    let twin = Twin::start().await;
    let client = twin.admin().await;
    let watcher = within("WatchAll", client.watch_all())
        .await
        .expect("a watcher");
    within("Stop", watcher.stop()).await;
    let err = within("Next after Stop", watcher.next())
        .await
        .expect_err("stopped");
    assert!(err.is_not_found(), "{err:?}");
    assert!(err.to_string().contains("unknown watcher id"), "{err}");
}
