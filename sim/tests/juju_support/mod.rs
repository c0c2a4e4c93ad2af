//! A minimal raw Juju API client for the twin's own tests, written from juju-api.md §2 (not from
//! ckf-migrator): rustls with the twin's CA as the only root, server name `juju-apiserver`,
//! tokio-tungstenite, raw JSON in and out. Every wait has a timeout.

#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use ckf_sim::juju::{ControllerHandle, serve};
use ckf_sim::model::{Access, Model, ModelConfig, ModelEvent, Timing};
use ckf_sim::tls::{Authority, JUJU_DNS_NAMES};
use futures::{SinkExt, StreamExt};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

/// How long any single wait may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(10);

pub const ADMIN: (&str, &str) = ("admin", "s3cret-admin");
pub const READER: (&str, &str) = ("reader", "s3cret-reader");
pub const OUTSIDER: (&str, &str) = ("outsider", "s3cret-outsider");

/// A model with its controller on loopback.
pub struct Twin {
    pub model: Model,
    pub controller: ControllerHandle,
    pub ca_pem: String,
}

impl Twin {
    /// Starts an empty model (fast timing) with users admin (admin), reader (read) and
    /// outsider (no model access).
    pub async fn start() -> Twin {
        Twin::start_with(ModelConfig {
            timing: Timing::fast(),
            ..ModelConfig::default()
        })
        .await
    }

    pub async fn start_with(config: ModelConfig) -> Twin {
        let model = Model::new(config);
        model.add_user(ADMIN.0, ADMIN.1, Access::Admin);
        model.add_user(READER.0, READER.1, Access::Read);
        model.add_user(OUTSIDER.0, OUTSIDER.1, Access::LoginOnly);
        let ca = Authority::generate("ckf-sim test controller CA").expect("CA");
        let leaf = ca.server(JUJU_DNS_NAMES, &[]).expect("leaf");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let controller = serve(model.clone(), listener, leaf.config);
        Twin {
            model,
            controller,
            ca_pem: ca.ca_pem(),
        }
    }

    /// Starts through [`ckf_sim::juju::start`], as other crates would.
    pub async fn start_default() -> Twin {
        let model = Model::new(ModelConfig {
            timing: Timing::fast(),
            ..ModelConfig::default()
        });
        model.add_user(ADMIN.0, ADMIN.1, Access::Admin);
        let started = ckf_sim::juju::start(model.clone())
            .await
            .expect("controller starts");
        Twin {
            model,
            controller: started.handle,
            ca_pem: started.ca_pem,
        }
    }

    /// Connects to `path` (e.g. `/api`) without logging in.
    pub async fn connect_path(&self, path: &str) -> Client {
        Client::connect(
            &format!("wss://{}{}", self.controller.addr(), path),
            &self.ca_pem,
        )
        .await
    }

    /// Connects to the model URL without logging in.
    pub async fn connect(&self) -> Client {
        Client::connect(&self.controller.model_url(), &self.ca_pem).await
    }

    /// Connects to the model URL and logs in as admin.
    pub async fn admin(&self) -> Client {
        let mut client = self.connect().await;
        let reply = client.login(ADMIN.0, ADMIN.1).await;
        assert!(reply.get("error").is_none(), "admin login failed: {reply}");
        client
    }
}

impl Drop for Twin {
    /// Every test also proves the twin answered within Juju's schema.
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let stats = self.model.requests();
            let bugs = stats.response_violations();
            assert!(bugs.is_empty(), "the twin broke the schema: {bugs:?}");
        }
    }
}

type Ws = WebSocketStream<TlsStream<TcpStream>>;

/// One websocket connection speaking raw JSON.
pub struct Client {
    ws: Ws,
    next_id: u64,
    /// Replies read while waiting for another id.
    stash: Vec<Value>,
}

impl Client {
    pub async fn connect(url: &str, ca_pem: &str) -> Client {
        let ca = CertificateDer::from_pem_slice(ca_pem.as_bytes()).expect("CA PEM");
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca).expect("root");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocols")
            .with_root_certificates(roots)
            .with_no_client_auth();
        let authority = url
            .strip_prefix("wss://")
            .and_then(|rest| rest.split('/').next())
            .expect("wss URL");
        let tcp = tokio::time::timeout(WAIT, TcpStream::connect(authority))
            .await
            .expect("connect in time")
            .expect("connect");
        let tls = TlsConnector::from(Arc::new(config))
            .connect(ServerName::try_from("juju-apiserver").expect("name"), tcp)
            .await
            .expect("TLS handshake with server name juju-apiserver");
        let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::client_async(url, tls))
            .await
            .expect("websocket in time")
            .expect("websocket handshake");
        Client {
            ws,
            next_id: 0,
            stash: Vec::new(),
        }
    }

    /// Sends a raw message.
    pub async fn send_raw(&mut self, message: Value) {
        self.ws
            .send(Message::text(message.to_string()))
            .await
            .expect("send");
    }

    /// Sends a request and returns its id.
    pub async fn send(&mut self, facade: &str, version: u32, method: &str, params: Value) -> u64 {
        self.next_id += 1;
        let id = self.next_id;
        self.send_raw(json!({
            "request-id": id, "type": facade, "version": version, "request": method, "params": params,
        }))
        .await;
        id
    }

    /// The next message from the server; `None` if the connection closed.
    pub async fn recv(&mut self) -> Option<Value> {
        if !self.stash.is_empty() {
            return Some(self.stash.remove(0));
        }
        loop {
            let next = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("a reply (or a close) in time");
            match next {
                Some(Ok(Message::Text(t))) => {
                    return Some(serde_json::from_str(&t).expect("reply is JSON"));
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => continue,
            }
        }
    }

    /// Waits for the reply with `id` (other replies are kept for later).
    pub async fn reply(&mut self, id: u64) -> Value {
        if let Some(pos) = self.stash.iter().position(|r| r["request-id"] == id) {
            return self.stash.remove(pos);
        }
        loop {
            let next = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("a reply in time");
            let value: Value = match next {
                Some(Ok(Message::Text(t))) => serde_json::from_str(&t).expect("reply is JSON"),
                Some(Ok(_)) => continue,
                other => panic!("connection ended while waiting for reply {id}: {other:?}"),
            };
            if value["request-id"] == id {
                return value;
            }
            self.stash.push(value);
        }
    }

    /// Sends a request and waits for its reply envelope.
    pub async fn call(&mut self, facade: &str, version: u32, method: &str, params: Value) -> Value {
        let id = self.send(facade, version, method, params).await;
        self.reply(id).await
    }

    /// Like [`Client::call`] but returns `response`, failing the test on an error.
    pub async fn ok(&mut self, facade: &str, version: u32, method: &str, params: Value) -> Value {
        let reply = self.call(facade, version, method, params).await;
        assert!(
            reply.get("error").is_none(),
            "{facade}({version}).{method} failed: {reply}"
        );
        reply["response"].clone()
    }

    /// Starts the close handshake.
    pub async fn close(&mut self) {
        self.ws.close(None).await.expect("close frame sent");
    }

    /// Admin.Login with a password.
    pub async fn login(&mut self, user: &str, password: &str) -> Value {
        self.call(
            "Admin",
            3,
            "Login",
            json!({"auth-tag": format!("user-{user}"), "credentials": password, "nonce": "",
                   "macaroons": [], "user-data": "", "client-version": "3.6.11"}),
        )
        .await
    }

    /// Client.FullStatus with no patterns.
    pub async fn status(&mut self) -> Value {
        self.ok("Client", 8, "FullStatus", json!({"patterns": []}))
            .await
    }
}

/// Waits for the first event matching `pred`.
pub async fn wait_event(
    rx: &mut broadcast::Receiver<ModelEvent>,
    what: &str,
    pred: impl Fn(&ModelEvent) -> bool,
) -> ModelEvent {
    wait_event_within(rx, WAIT, what, pred).await
}

/// Waits for the first event matching `pred`, at most `within` (virtual time in paused tests).
pub async fn wait_event_within(
    rx: &mut broadcast::Receiver<ModelEvent>,
    within: Duration,
    what: &str,
    pred: impl Fn(&ModelEvent) -> bool,
) -> ModelEvent {
    tokio::time::timeout(within, async {
        loop {
            match rx.recv().await {
                Ok(e) if pred(&e) => return e,
                Ok(_) => continue,
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(e) => panic!("event stream ended: {e}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// Waits until `app` settles.
pub async fn settled(rx: &mut broadcast::Receiver<ModelEvent>, app: &str) {
    wait_event(
        rx,
        &format!("{app} to settle"),
        |e| matches!(e, ModelEvent::Settled { app: a } if a == app),
    )
    .await;
}

/// The error text and code of a reply envelope.
pub fn error_of(reply: &Value) -> (String, String) {
    (
        reply["error"].as_str().unwrap_or_default().to_string(),
        reply["error-code"].as_str().unwrap_or_default().to_string(),
    )
}

/// `juju refresh APP --channel CHANNEL` as the Go CLI does it (juju-api.md §5(d)), raw JSON:
/// GetCharmURLOrigin → ResolveCharms → AddCharm → CharmInfo → ListResources →
/// ListCharmResources → AddPendingResources (changed resources only) → SetCharm.
/// Returns the SetCharm reply envelope and the names of the resources uploaded.
pub async fn refresh(client: &mut Client, app: &str, channel: &str) -> (Value, Vec<String>) {
    let current = client
        .ok(
            "Application",
            22,
            "GetCharmURLOrigin",
            json!({"application": app, "branch": ""}),
        )
        .await;
    let url = current["url"].as_str().expect("url").to_string();
    let mut origin = current["charm-origin"].clone();
    match channel.split_once('/') {
        Some((track, risk)) => {
            origin["track"] = json!(track);
            origin["risk"] = json!(risk);
        }
        // No track: keep the old one, set only the risk.
        None => origin["risk"] = json!(channel),
    }
    let reference = match url.rsplit_once('-') {
        Some((head, rev)) if rev.bytes().all(|b| b.is_ascii_digit()) => head.to_string(),
        _ => url.clone(),
    };
    let resolved = client
        .ok(
            "Charms",
            7,
            "ResolveCharms",
            json!({"resolve": [
            {"reference": reference, "charm-origin": origin, "switch-charm": false}]}),
        )
        .await["Results"][0]
        .clone();
    assert!(
        resolved.get("error").is_none(),
        "resolve failed: {resolved}"
    );
    let new_url = resolved["url"].as_str().expect("resolved url").to_string();
    let added = client
        .ok(
            "Charms",
            7,
            "AddCharm",
            json!({"url": new_url, "charm-origin": resolved["charm-origin"], "force": false}),
        )
        .await["charm-origin"]
        .clone();
    let info = client
        .ok("Charms", 7, "CharmInfo", json!({"url": new_url}))
        .await;
    let declared = info["meta"]["resources"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let current = client
        .ok(
            "Resources",
            3,
            "ListResources",
            json!({"entities": [{"tag": format!("application-{app}")}]}),
        )
        .await["results"][0]["resources"]
        .clone();
    let available = client
        .ok(
            "Charms",
            7,
            "ListCharmResources",
            json!({"entities": [{"charm-url": new_url, "charm-origin": added}]}),
        )
        .await["results"][0]
        .clone();
    let mut uploads = Vec::new();
    for res in available.as_array().cloned().unwrap_or_default() {
        let name = res["name"].as_str().expect("name");
        assert!(declared.contains_key(name), "CharmInfo declares {name}");
        let now = current
            .as_array()
            .and_then(|c| c.iter().find(|r| r["name"] == name))
            .map(|r| r["revision"].clone());
        if now.as_ref() != Some(&res["revision"]) {
            uploads.push(
                json!({"name": name, "type": res["type"], "path": res["path"],
                "description": res["description"], "origin": "store", "revision": -1,
                "fingerprint": null, "size": 0}),
            );
        }
    }
    let mut resource_ids = serde_json::Map::new();
    let names: Vec<String> = uploads
        .iter()
        .map(|u| u["name"].as_str().expect("name").to_string())
        .collect();
    if !uploads.is_empty() {
        let pending = client
            .ok(
                "Resources",
                3,
                "AddPendingResources",
                json!({"tag": format!("application-{app}"),
                "url": new_url, "charm-origin": added, "macaroon": null, "resources": uploads}),
            )
            .await;
        assert!(pending.get("error").is_none(), "pending failed: {pending}");
        for (name, id) in names
            .iter()
            .zip(pending["pending-ids"].as_array().expect("ids"))
        {
            resource_ids.insert(name.clone(), id.clone());
        }
    }
    let reply = client
        .call(
            "Application",
            22,
            "SetCharm",
            json!({"application": app, "charm-url": new_url,
            "charm-origin": added, "channel": added["risk"], "force": false, "force-base": false,
            "force-units": false, "generation": "", "resource-ids": resource_ids}),
        )
        .await;
    (reply, names)
}

/// (application, charm, channel, config, trust) of one bundle application.
pub type BundleApp = (
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
    bool,
);

/// The CKF 1.11/stable bundle (ckf-ambient.md §2.2).
pub const CKF_1_11: &[BundleApp] = &[
    (
        "admission-webhook",
        "admission-webhook",
        "1.10/stable",
        &[],
        true,
    ),
    (
        "argo-controller",
        "argo-controller",
        "3.7/stable",
        &[],
        true,
    ),
    ("dex-auth", "dex-auth", "2.41/stable", &[], true),
    ("envoy", "envoy", "2.4/stable", &[], false),
    (
        "istio-ingressgateway",
        "istio-gateway",
        "1.28/stable",
        &[("kind", "ingress")],
        true,
    ),
    (
        "istio-pilot",
        "istio-pilot",
        "1.28/stable",
        &[("default-gateway", "kubeflow-gateway")],
        true,
    ),
    (
        "jupyter-controller",
        "jupyter-controller",
        "1.10/stable",
        &[],
        true,
    ),
    ("jupyter-ui", "jupyter-ui", "1.10/stable", &[], true),
    (
        "katib-controller",
        "katib-controller",
        "0.19/stable",
        &[],
        true,
    ),
    ("katib-db", "mysql-k8s", "8.0/stable", &[], true),
    (
        "katib-db-manager",
        "katib-db-manager",
        "0.19/stable",
        &[],
        true,
    ),
    ("katib-ui", "katib-ui", "0.19/stable", &[], true),
    ("kfp-api", "kfp-api", "2.15/stable", &[], true),
    ("kfp-db", "mysql-k8s", "8.0/stable", &[], true),
    (
        "kfp-metadata-writer",
        "kfp-metadata-writer",
        "2.15/stable",
        &[],
        true,
    ),
    (
        "kfp-persistence",
        "kfp-persistence",
        "2.15/stable",
        &[],
        true,
    ),
    (
        "kfp-profile-controller",
        "kfp-profile-controller",
        "2.15/stable",
        &[],
        true,
    ),
    ("kfp-schedwf", "kfp-schedwf", "2.15/stable", &[], true),
    ("kfp-ui", "kfp-ui", "2.15/stable", &[], true),
    ("kfp-viewer", "kfp-viewer", "2.15/stable", &[], true),
    ("kfp-viz", "kfp-viz", "2.15/stable", &[], true),
    (
        "knative-eventing",
        "knative-eventing",
        "1.16/stable",
        &[("namespace", "knative-eventing")],
        true,
    ),
    (
        "knative-operator",
        "knative-operator",
        "1.16/stable",
        &[],
        true,
    ),
    (
        "knative-serving",
        "knative-serving",
        "1.16/stable",
        &[
            ("namespace", "knative-serving"),
            ("istio.gateway.name", "kubeflow-gateway"),
            ("istio.gateway.namespace", "kubeflow"),
        ],
        true,
    ),
    (
        "kserve-controller",
        "kserve-controller",
        "0.15/stable",
        &[("deployment-mode", "serverless")],
        true,
    ),
    (
        "kubeflow-dashboard",
        "kubeflow-dashboard",
        "1.10/stable",
        &[],
        true,
    ),
    (
        "kubeflow-profiles",
        "kubeflow-profiles",
        "1.10/stable",
        &[],
        true,
    ),
    ("kubeflow-roles", "kubeflow-roles", "1.10/stable", &[], true),
    (
        "kubeflow-volumes",
        "kubeflow-volumes",
        "1.10/stable",
        &[],
        true,
    ),
    (
        "metacontroller-operator",
        "metacontroller-operator",
        "4.11/stable",
        &[],
        true,
    ),
    ("minio", "minio", "1.10/stable", &[], false),
    ("mlmd", "mlmd", "ckf-1.10/stable", &[], true),
    (
        "oidc-gatekeeper",
        "oidc-gatekeeper",
        "ckf-1.10/stable",
        &[],
        true,
    ),
    (
        "pvcviewer-operator",
        "pvcviewer-operator",
        "1.10/stable",
        &[],
        true,
    ),
    (
        "tensorboard-controller",
        "tensorboard-controller",
        "1.10/stable",
        &[],
        true,
    ),
    (
        "tensorboards-web-app",
        "tensorboards-web-app",
        "1.10/stable",
        &[],
        true,
    ),
    (
        "training-operator",
        "training-operator",
        "1.9/stable",
        &[],
        true,
    ),
];

/// The bundle's relations as remembered from bundle-kubeflow (not read from the 1.11 file).
pub const CKF_1_11_RELATIONS: &[(&str, &str)] = &[
    ("argo-controller:object-storage", "minio:object-storage"),
    (
        "dex-auth:dex-oidc-config",
        "oidc-gatekeeper:dex-oidc-config",
    ),
    ("dex-auth:oidc-client", "oidc-gatekeeper:oidc-client"),
    ("istio-pilot:ingress", "dex-auth:ingress"),
    ("istio-pilot:ingress", "envoy:ingress"),
    ("istio-pilot:ingress", "jupyter-ui:ingress"),
    ("istio-pilot:ingress", "katib-ui:ingress"),
    ("istio-pilot:ingress", "kfp-ui:ingress"),
    ("istio-pilot:ingress", "kubeflow-dashboard:ingress"),
    ("istio-pilot:ingress", "kubeflow-volumes:ingress"),
    ("istio-pilot:ingress", "oidc-gatekeeper:ingress"),
    ("istio-pilot:ingress", "tensorboards-web-app:ingress"),
    ("istio-pilot:ingress-auth", "oidc-gatekeeper:ingress-auth"),
    (
        "istio-pilot:istio-pilot",
        "istio-ingressgateway:istio-pilot",
    ),
    (
        "istio-pilot:gateway-info",
        "tensorboard-controller:gateway-info",
    ),
    (
        "istio-pilot:gateway-info",
        "kserve-controller:ingress-gateway",
    ),
    ("katib-db-manager:relational-db", "katib-db:database"),
    ("kfp-api:relational-db", "kfp-db:database"),
    ("kfp-api:kfp-api", "kfp-persistence:kfp-api"),
    ("kfp-api:kfp-api", "kfp-ui:kfp-api"),
    ("kfp-api:kfp-viz", "kfp-viz:kfp-viz"),
    ("kfp-api:object-storage", "minio:object-storage"),
    (
        "kfp-profile-controller:object-storage",
        "minio:object-storage",
    ),
    ("kfp-ui:object-storage", "minio:object-storage"),
    (
        "kserve-controller:local-gateway",
        "knative-serving:local-gateway",
    ),
    (
        "kubeflow-profiles:kubeflow-profiles",
        "kubeflow-dashboard:kubeflow-profiles",
    ),
    ("kubeflow-dashboard:links", "jupyter-ui:dashboard-links"),
    ("kubeflow-dashboard:links", "katib-ui:dashboard-links"),
    ("kubeflow-dashboard:links", "kfp-ui:dashboard-links"),
    (
        "kubeflow-dashboard:links",
        "kubeflow-volumes:dashboard-links",
    ),
    (
        "kubeflow-dashboard:links",
        "tensorboards-web-app:dashboard-links",
    ),
    ("mlmd:grpc", "envoy:grpc"),
    ("mlmd:grpc", "kfp-metadata-writer:grpc"),
];

/// Deploys the 1.11/stable bundle, settled.
pub fn ckf_1_11(model: &Model) {
    for (app, charm, channel, config, trust) in CKF_1_11 {
        model
            .deploy_settled(app, charm, channel, config, *trust)
            .unwrap_or_else(|e| panic!("deploy {app}: {e}"));
    }
    for (a, b) in CKF_1_11_RELATIONS {
        model
            .relate_settled(a, b)
            .unwrap_or_else(|e| panic!("relate {a} {b}: {e}"));
    }
}

/// Waits until every application is settled and no application or relation is dying.
pub async fn quiet(model: &Model, rx: &mut broadcast::Receiver<ModelEvent>) {
    tokio::time::timeout(WAIT, async {
        loop {
            let busy = model.applications().iter().any(|a| !a.settled)
                || model
                    .relations()
                    .iter()
                    .any(|r| !r.joined || r.life != ckf_sim::model::Life::Alive);
            if !busy {
                return;
            }
            // Anything that changes settling comes with an event.
            let _ = rx.recv().await;
        }
    })
    .await
    .expect("the model to settle in time");
}
