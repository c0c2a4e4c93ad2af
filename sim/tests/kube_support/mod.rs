//! Shared harness of the kube_* integration tests: a twin API server on 127.0.0.1:0 with a fresh
//! CA, a raw HTTPS client (independent of any Kubernetes client library), and a runner for the
//! real `kubectl`.

#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
pub use ckf_sim::kube::crd;
use ckf_sim::kube::{Access, Auth, ServerHandle, Store, kubeconfig, serve};
use ckf_sim::tls::Authority;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{Value, json};
use tokio_rustls::TlsConnector;

/// Every wait in these tests is bounded by this.
pub const WAIT: Duration = Duration::from_secs(60);

pub const ADMIN_TOKEN: &str = "admin-token";
pub const NS_TOKEN: &str = "kubeflow-token";
pub const NS_USER: &str = "system:serviceaccount:kubeflow:ckf-migrator";

pub struct Cluster {
    pub store: Store,
    pub server: ServerHandle,
    pub ca_pem: String,
    pub dir: tempfile::TempDir,
    connector: TlsConnector,
}

pub struct Reply {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: Value,
}

pub fn node(name: &str, ip: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Node",
           "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "node-role.kubernetes.io/control-plane": ""}},
           "status": {"addresses": [{"type": "InternalIP", "address": ip}],
                      "conditions": [{"type": "Ready", "status": "True"}],
                      "nodeInfo": {"kubeletVersion": "v1.32.4"}}})
}

pub fn namespace(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
}

pub fn deployment(ns: &str, name: &str, replicas: i64) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": name, "namespace": ns},
           "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                    "template": {"metadata": {"labels": {"app": name}},
                                 "spec": {"containers": [{"name": "main", "image": format!("{name}:1.0")}]}}}})
}

pub fn configmap(ns: &str, name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": {"key": "value"}})
}

pub fn pod(ns: &str, name: &str, labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": ns, "labels": labels},
           "spec": {"containers": [{"name": "main", "image": "busybox:1.36"}]}})
}

/// The path of kubectl, or a failure telling how to get it: the kubectl tests must not skip.
pub fn kubectl_path() -> PathBuf {
    let candidates = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    candidates
        .into_iter()
        .map(|d| d.join("kubectl"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "kubectl is not installed: these tests run the real kubectl against the twin; \
                 install Debian's `kubernetes-client` package (apt-get install kubernetes-client)"
            )
        })
}

impl Cluster {
    /// A server with the standard namespaces plus `kubeflow` and `admin`, and two nodes.
    pub async fn start() -> Self {
        let c = Self::empty().await;
        for ns in ["kubeflow", "admin"] {
            c.store.create(namespace(ns)).unwrap();
        }
        c.store.create(node("node-1", "127.0.10.1")).unwrap();
        c.store.create(node("node-2", "127.0.10.2")).unwrap();
        c
    }

    /// A server over a store with only what `Store::new` creates.
    pub async fn empty() -> Self {
        let ca = Authority::generate("ckf-sim kube test CA").unwrap();
        let leaf = ca
            .server(&["127.0.0.1", "localhost"], ckf_sim::kube::ALPN)
            .unwrap();
        let store = Store::new();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let auth = Auth::new()
            .with_token(ADMIN_TOKEN, Access::ClusterAdmin)
            .with_user(NS_TOKEN, NS_USER, Access::Namespace("kubeflow".into()));
        let server = serve(store.clone(), listener, leaf.config, auth)
            .await
            .unwrap();
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_slice(ca.ca_pem().as_bytes()).unwrap())
            .unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        Cluster {
            store,
            server,
            ca_pem: ca.ca_pem(),
            dir: tempfile::tempdir().unwrap(),
            connector: TlsConnector::from(Arc::new(config)),
        }
    }

    pub fn install_profile_crd(&self) {
        self.store
            .create(crd("kubeflow.org", &["v1"], "Profile", "profiles", false))
            .unwrap();
    }

    async fn send(
        &self,
        token: Option<&str>,
        method: &str,
        path: &str,
        content_type: &str,
        accept: &str,
        body: Vec<u8>,
    ) -> hyper::Response<hyper::body::Incoming> {
        let tcp = tokio::net::TcpStream::connect(self.server.addr())
            .await
            .unwrap();
        let name = ServerName::try_from("127.0.0.1").unwrap();
        let tls = self.connector.connect(name, tcp).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .unwrap();
        tokio::spawn(conn);
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("Host", self.server.addr().to_string())
            .header("Accept", accept);
        if !content_type.is_empty() {
            req = req.header("Content-Type", content_type);
        }
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        sender
            .send_request(req.body(Full::new(Bytes::from(body))).unwrap())
            .await
            .unwrap()
    }

    /// One request with a full body; the JSON reply (Null if not JSON).
    pub async fn call(
        &self,
        token: Option<&str>,
        method: &str,
        path: &str,
        content_type: &str,
        body: Option<Value>,
    ) -> Reply {
        self.call_accept(token, method, path, content_type, "application/json", body)
            .await
    }

    pub async fn call_accept(
        &self,
        token: Option<&str>,
        method: &str,
        path: &str,
        content_type: &str,
        accept: &str,
        body: Option<Value>,
    ) -> Reply {
        let bytes = body
            .map(|b| serde_json::to_vec(&b).unwrap())
            .unwrap_or_default();
        let fut = async {
            let resp = self
                .send(token, method, path, content_type, accept, bytes)
                .await;
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            Reply {
                status,
                headers,
                body: serde_json::from_slice(&body).unwrap_or(Value::Null),
            }
        };
        tokio::time::timeout(WAIT, fut)
            .await
            .unwrap_or_else(|_| panic!("{method} {path} did not answer within {WAIT:?}"))
    }

    /// PATCH as cluster admin with a text body (YAML for server-side apply).
    pub async fn call_raw(&self, path: &str, content_type: &str, body: &str) -> Reply {
        let fut = async {
            let resp = self
                .send(
                    Some(ADMIN_TOKEN),
                    "PATCH",
                    path,
                    content_type,
                    "application/json",
                    body.as_bytes().to_vec(),
                )
                .await;
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            Reply {
                status,
                headers,
                body: serde_json::from_slice(&body).unwrap_or(Value::Null),
            }
        };
        tokio::time::timeout(WAIT, fut)
            .await
            .expect("PATCH answered in time")
    }

    /// GET as cluster admin.
    pub async fn get(&self, path: &str) -> Reply {
        self.call(Some(ADMIN_TOKEN), "GET", path, "", None).await
    }

    /// Opens a watch; returns a reader of its events.
    pub async fn watch(&self, path: &str) -> Watch {
        let resp = tokio::time::timeout(
            WAIT,
            self.send(
                Some(ADMIN_TOKEN),
                "GET",
                path,
                "",
                "application/json",
                Vec::new(),
            ),
        )
        .await
        .expect("watch request answered");
        assert_eq!(resp.status().as_u16(), 200, "watch {path}");
        Watch {
            body: resp.into_body(),
            buf: Vec::new(),
        }
    }

    /// Writes a kubeconfig for `token` and returns its path.
    pub fn kubeconfig_file(&self, token: &str) -> PathBuf {
        let path = self.dir.path().join(format!("kubeconfig-{token}"));
        std::fs::write(
            &path,
            kubeconfig(&self.server.url(), &self.ca_pem, token, "default"),
        )
        .unwrap();
        path
    }

    /// Runs kubectl as cluster admin with its own config and cache.
    pub async fn kubectl(&self, args: &[&str]) -> Output {
        self.kubectl_as(ADMIN_TOKEN, args).await
    }

    pub async fn kubectl_as(&self, token: &str, args: &[&str]) -> Output {
        let config = self.kubeconfig_file(token);
        let cache = self.dir.path().join("kube-cache");
        let mut cmd = tokio::process::Command::new(kubectl_path());
        cmd.arg("--kubeconfig")
            .arg(&config)
            .arg("--cache-dir")
            .arg(&cache)
            .args(args)
            .env("HOME", self.dir.path())
            .env_remove("KUBECONFIG")
            .kill_on_drop(true);
        tokio::time::timeout(WAIT, cmd.output())
            .await
            .unwrap_or_else(|_| panic!("kubectl {args:?} did not finish within {WAIT:?}"))
            .expect("kubectl runs")
    }

    /// Runs kubectl and returns stdout, failing the test with stderr if it fails.
    pub async fn kubectl_ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args).await;
        assert!(
            out.status.success(),
            "kubectl {args:?} failed ({}):\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

pub struct Watch {
    body: hyper::body::Incoming,
    buf: Vec<u8>,
}

impl Watch {
    /// The next event, or None when the server ends the stream.
    pub async fn next(&mut self) -> Option<Value> {
        let fut = async {
            loop {
                if let Some(i) = self.buf.iter().position(|b| *b == b'\n') {
                    let line: Vec<u8> = self.buf.drain(..=i).collect();
                    return Some(serde_json::from_slice(&line).expect("an event is one JSON line"));
                }
                match self.body.frame().await {
                    Some(Ok(f)) => {
                        if let Some(d) = f.data_ref() {
                            self.buf.extend_from_slice(d);
                        }
                    }
                    _ => return None,
                }
            }
        };
        tokio::time::timeout(WAIT, fut)
            .await
            .expect("a watch event arrives in time")
    }
}
