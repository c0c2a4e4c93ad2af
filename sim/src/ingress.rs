//! The ingress gateway's HTTP side: what a browser sees at the LoadBalancer address.
//!
//! Answers are computed from the store at each request, as Envoy's routes follow the Gateway API
//! objects: Dex's discovery document once an HTTPRoute to `dex-auth` is attached to a programmed
//! `istio-ingress-k8s` Gateway, and the dashboard's redirect to `/dex/auth` once the route to the
//! dashboard exists and the ext-authz policy sends unauthenticated requests to oidc-gatekeeper.
//!
//! Before the migration the same address is served by the sidecar-era gateway: istio-gateway's
//! Envoy (its `istio=ingressgateway` workload), programmed by istio-pilot's istiod through the
//! `kubeflow-gateway` Gateway, with istio-pilot's authn filter sending a browser without a session
//! to Dex. The twin publishes one address a browser uses, as MetalLB hands the freed address to
//! the next LoadBalancer: the old gateway answers while its workload and istio-pilot's objects
//! exist, nothing answers once they are gone, and the new gateway from the moment its objects
//! exist. Between the two a browser gets `no healthy upstream`: the outage users feel.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::kube::Store;

/// Knobs for the ingress's faults.
#[derive(Debug, Default)]
pub struct IngressFaults {
    dex_not_found: AtomicBool,
}

impl IngressFaults {
    /// Dex's discovery document answers 404 (Dex misconfigured behind a working gateway).
    pub fn dex_not_found(&self, on: bool) {
        self.dex_not_found.store(on, Ordering::SeqCst);
    }
}

/// The running ingress; stops on drop.
pub struct Ingress {
    addr: SocketAddr,
    faults: Arc<IngressFaults>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Ingress {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Ingress {
    /// Serves on an already-bound listener (the LoadBalancer address, on loopback).
    pub fn serve(listener: TcpListener, store: Store, namespace: String) -> std::io::Result<Self> {
        let addr = listener.local_addr()?;
        let faults = Arc::new(IngressFaults::default());
        let shared = Arc::new((store, namespace, Arc::clone(&faults)));
        let task = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let shared = Arc::clone(&shared);
                connections.spawn(async move {
                    let service = service_fn(move |req: Request<Incoming>| {
                        let shared = Arc::clone(&shared);
                        async move { Ok::<_, Infallible>(answer(&shared.0, &shared.1, &shared.2, &req)) }
                    });
                    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
                while connections.try_join_next().is_some() {}
            }
        });
        Ok(Ingress { addr, faults, task })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its fault knobs.
    pub fn faults(&self) -> &IngressFaults {
        &self.faults
    }
}

fn reply(status: StatusCode, content_type: &str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    if let Ok(value) = content_type.parse() {
        response
            .headers_mut()
            .insert(hyper::header::CONTENT_TYPE, value);
    }
    response
}

fn programmed(gateway: &Value) -> bool {
    gateway["status"]["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["type"] == "Programmed" && c["status"] == "True")
    })
}

fn routes_to(routes: &[Value], backend: &str) -> bool {
    routes.iter().any(|r| {
        r["spec"]["rules"].as_array().is_some_and(|rules| {
            rules.iter().any(|rule| {
                rule["backendRefs"]
                    .as_array()
                    .is_some_and(|b| b.iter().any(|b| b["name"] == backend))
            })
        })
    })
}

/// Whether the sidecar-era gateway serves: istio-gateway's Envoy runs and istio-pilot's
/// `kubeflow-gateway` programs it (both go with their charms; the Istio CRDs go with istio-pilot).
/// `Some(true)` when istio-pilot's authn filter sends unauthenticated requests to oidc-gatekeeper.
fn legacy_gateway(store: &Store, namespace: &str) -> Option<bool> {
    let envoy = !store
        .list(
            "apps/v1",
            "Deployment",
            Some(namespace),
            Some("istio=ingressgateway"),
        )
        .is_empty();
    let routed = store
        .get(
            "networking.istio.io/v1",
            "Gateway",
            Some(namespace),
            "kubeflow-gateway",
        )
        .is_some();
    (envoy && routed).then(|| {
        store
            .get(
                "networking.istio.io/v1alpha3",
                "EnvoyFilter",
                Some(namespace),
                "istio-pilot-authn-filter",
            )
            .is_some()
    })
}

/// What the sidecar-era gateway answers: the same pages as the new one, through its own routes.
fn legacy_answer(authn: bool, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path();
    if path.starts_with("/dex/") {
        return dex(req, path);
    }
    if authn && req.headers().get(hyper::header::COOKIE).is_none() {
        return redirect_to_dex();
    }
    dashboard()
}

fn redirect_to_dex() -> Response<Full<Bytes>> {
    let mut response = reply(StatusCode::FOUND, "text/html", String::new());
    let location = "/dex/auth?client_id=authservice-oidc&redirect_uri=%2Fauthservice%2Foidc%2Fcallback&response_type=code&scope=openid+profile+email+groups&state=sim";
    if let Ok(value) = location.parse() {
        response
            .headers_mut()
            .insert(hyper::header::LOCATION, value);
    }
    response
}

fn dashboard() -> Response<Full<Bytes>> {
    reply(
        StatusCode::OK,
        "text/html",
        "<html><title>Kubeflow Central Dashboard</title></html>".into(),
    )
}

/// Dex's pages, reached through a route to `dex-auth`.
fn dex(req: &Request<Incoming>, path: &str) -> Response<Full<Bytes>> {
    let host = req
        .headers()
        .get(hyper::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.50");
    match path {
        "/dex/.well-known/openid-configuration" => {
            let issuer = format!("http://{host}/dex");
            let doc = json!({
                "issuer": issuer,
                "authorization_endpoint": format!("{issuer}/auth"),
                "token_endpoint": format!("{issuer}/token"),
                "jwks_uri": format!("{issuer}/keys"),
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
            });
            reply(StatusCode::OK, "application/json", doc.to_string())
        }
        "/dex/auth" => reply(
            StatusCode::OK,
            "text/html",
            "<html><title>dex</title>Log in to Your Account</html>".into(),
        ),
        _ => reply(StatusCode::NOT_FOUND, "text/plain", String::new()),
    }
}

fn answer(
    store: &Store,
    namespace: &str,
    faults: &IngressFaults,
    req: &Request<Incoming>,
) -> Response<Full<Bytes>> {
    let gateway = store.get(
        "gateway.networking.k8s.io/v1",
        "Gateway",
        Some(namespace),
        "istio-ingress-k8s",
    );
    if !gateway.as_ref().is_some_and(programmed) {
        return match legacy_gateway(store, namespace) {
            Some(authn) => legacy_answer(authn, req),
            None => reply(
                StatusCode::SERVICE_UNAVAILABLE,
                "text/plain",
                "no healthy upstream".into(),
            ),
        };
    }
    let routes = store.list(
        "gateway.networking.k8s.io/v1",
        "HTTPRoute",
        Some(namespace),
        None,
    );
    let not_found = || reply(StatusCode::NOT_FOUND, "text/plain", String::new());
    let path = req.uri().path();
    if path.starts_with("/dex/") {
        if !routes_to(&routes, "dex-auth") || faults.dex_not_found.load(Ordering::SeqCst) {
            return not_found();
        }
        return dex(req, path);
    }
    if !routes_to(&routes, "kubeflow-dashboard") {
        return not_found();
    }
    let ext_authz = store.get(
        "security.istio.io/v1",
        "AuthorizationPolicy",
        Some(namespace),
        "ext-authz-istio-ingress-k8s",
    );
    let cookie = req.headers().get(hyper::header::COOKIE).is_some();
    if ext_authz.is_some() && !cookie {
        return redirect_to_dex();
    }
    dashboard()
}
