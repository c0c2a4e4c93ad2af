//! A stand-in Kubernetes API that answers one question: may this service account list nodes?
//!
//! Hooks check trust by listing one node (`GET /api/v1/nodes?limit=1`). Until the twin's
//! Kubernetes API (ckf-sim `kube`) is wired into these tests, this server plays the one rule that
//! matters for that check, as Juju's RBAC makes it (reference/charm-runtime.md §4): with trust the
//! list succeeds, without it the API server answers 403 Forbidden with Kubernetes' own `Status`.
//! Every other path is 404. It speaks plain HTTP/1.1 on 127.0.0.1 (kube-rs accepts `http://`
//! servers) and records each request line.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The stand-in API server; stops when dropped.
pub struct NodeListApi {
    kubeconfig: PathBuf,
    requests: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl NodeListApi {
    /// Starts a server whose service account is trusted (may list nodes) or not.
    pub async fn start(trusted: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("local addr");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, trusted, Arc::clone(&seen)));
            }
        });
        let dir = tempfile::tempdir().expect("temp dir");
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(
            &kubeconfig,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: stand-in\n  cluster:\n    server: http://{address}\n\
                 users:\n- name: ckf-migrator\n  user:\n    token: stand-in-token\n\
                 contexts:\n- name: stand-in\n  context:\n    cluster: stand-in\n    user: ckf-migrator\n    namespace: kubeflow\n\
                 current-context: stand-in\n"
            ),
        )
        .expect("write kubeconfig");
        Self {
            kubeconfig,
            requests,
            task,
            _dir: dir,
        }
    }

    /// A kubeconfig pointing at this server.
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// Request lines received, e.g. `GET /api/v1/nodes?limit=1`.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("requests lock").clone()
    }
}

impl Drop for NodeListApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(mut stream: TcpStream, trusted: bool, seen: Arc<Mutex<Vec<String>>>) {
    let mut buffer = Vec::new();
    loop {
        // Read one request head; GETs carry no body.
        let head_end = loop {
            if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
        buffer.drain(..head_end);
        let request_line = head.lines().next().unwrap_or_default().to_string();
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_string();
        let target = parts.next().unwrap_or_default().to_string();
        seen.lock()
            .expect("requests lock")
            .push(format!("{method} {target}"));
        let path = target.split('?').next().unwrap_or_default();
        let (code, reason, body) = match (method.as_str(), path, trusted) {
            ("GET", "/api/v1/nodes", true) => (200, "OK", NODE_LIST.to_string()),
            ("GET", "/api/v1/nodes", false) => (403, "Forbidden", FORBIDDEN.to_string()),
            _ => (
                404,
                "Not Found",
                format!(
                    r#"{{"kind":"Status","apiVersion":"v1","metadata":{{}},"status":"Failure","message":"the server could not find the requested resource ({method} {path})","reason":"NotFound","code":404}}"#
                ),
            ),
        };
        let response = format!(
            "HTTP/1.1 {code} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if stream.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

const NODE_LIST: &str = r#"{"kind":"NodeList","apiVersion":"v1","metadata":{"resourceVersion":"4021","continue":"eyJ2IjoibWV0YSJ9"},"items":[{"metadata":{"name":"node-0","labels":{"kubernetes.io/hostname":"node-0","microk8s.io/cluster":"true"}}}]}"#;

const FORBIDDEN: &str = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"nodes is forbidden: User \"system:serviceaccount:kubeflow:ckf-migrator\" cannot list resource \"nodes\" in API group \"\" at the cluster scope","reason":"Forbidden","details":{"kind":"nodes"},"code":403}"#;
