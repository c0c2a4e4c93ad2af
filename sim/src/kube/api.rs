//! The Kubernetes REST API over the store: routing a request to a resource and verb, the
//! apiserver's checks (authentication, authorisation, path vs body), and rendering the answer
//! (object, List, Table, PartialObjectMetadata, Status) as kubectl and kube-rs expect it.
//!
//! Input is a transport-neutral [`ApiRequest`] (method, path, query, a few headers, body bytes);
//! output is a [`Reply`]. The HTTP server (`server.rs`) does the I/O. Everything here runs
//! without `.await` while it holds the store lock.
//!
//! Served approximately: server-side apply (`application/apply-patch+yaml`) creates the object
//! if absent and otherwise merges the body like a strategic merge patch, without field
//! ownership; `resourceVersionMatch` is ignored (lists are always current); continue tokens
//! resume after the last key returned, so objects created during pagination may appear.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use futures::Stream;
use hyper::body::Frame;
use serde_json::{Value, json};

use crate::kube::auth::{self, Attributes, Auth};
use crate::kube::discovery;
use crate::kube::error::ApiError;
use crate::kube::patch::PatchType;
use crate::kube::requests::RequestRecord;
use crate::kube::resources::{ResourceDef, split_api_version};
use crate::kube::selector::{FieldSelector, LabelSelector, supported_field};
use crate::kube::store::{Origin, Propagation, Store, Stored, WriteOpts};
use crate::kube::table::{self, IncludeObject};
use crate::kube::watch;

/// A request as the API layer needs it.
pub(crate) struct ApiRequest {
    pub method: String,
    /// Path without query.
    pub path: String,
    /// Raw query string (without `?`).
    pub query: String,
    pub accept: String,
    pub content_type: String,
    pub authorization: Option<String>,
    pub body: Bytes,
}

/// A streaming body (watch).
pub(crate) type EventStream =
    std::pin::Pin<Box<dyn Stream<Item = Result<Frame<Bytes>, Infallible>> + Send>>;

/// The answer.
pub(crate) enum Reply {
    Full {
        status: u16,
        content_type: &'static str,
        body: Bytes,
        retry_after: Option<u32>,
    },
    Stream(EventStream),
}

impl Reply {
    fn json(status: u16, v: &Value) -> Self {
        Reply::Full {
            status,
            content_type: "application/json",
            body: Bytes::from(serde_json::to_vec(v).expect("a Value always serialises")),
            retry_after: None,
        }
    }

    fn error(e: &ApiError) -> Self {
        Reply::Full {
            status: e.code(),
            content_type: "application/json",
            body: Bytes::from(
                serde_json::to_vec(&e.to_status()).expect("a Value always serialises"),
            ),
            retry_after: e.details.retry_after_seconds,
        }
    }

    fn status(&self) -> u16 {
        match self {
            Reply::Full { status, .. } => *status,
            Reply::Stream(_) => 200,
        }
    }
}

/// Decodes `%XX` and `+` in a query component.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses a query string; a repeated key keeps its last value.
pub(crate) fn parse_query(q: &str) -> HashMap<String, String> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(p), String::new()),
        })
        .collect()
}

/// Where a path leads.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    Version,
    Health,
    OpenApi,
    Api,
    Apis,
    Group(String),
    GroupVersion(String, String),
    Resource(ResourcePath),
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct ResourcePath {
    group: String,
    version: String,
    namespace: Option<String>,
    plural: String,
    name: Option<String>,
    sub: Option<String>,
}

fn resource_path(group: &str, version: &str, rest: &[&str]) -> Route {
    let mut parts = rest;
    let mut namespace = None;
    if parts.first() == Some(&"namespaces")
        && parts.len() > 2
        && !matches!(parts[2], "status" | "finalize")
    {
        namespace = Some(parts[1].to_string());
        parts = &parts[2..];
    }
    if parts.is_empty() || parts.len() > 3 {
        return Route::Unknown;
    }
    Route::Resource(ResourcePath {
        group: group.to_string(),
        version: version.to_string(),
        namespace,
        plural: parts[0].to_string(),
        name: parts.get(1).map(|s| s.to_string()),
        sub: parts.get(2).map(|s| s.to_string()),
    })
}

fn route(path: &str) -> Route {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segs.as_slice() {
        ["version"] => Route::Version,
        ["healthz" | "livez" | "readyz", ..] => Route::Health,
        ["openapi", ..] => Route::OpenApi,
        ["api"] => Route::Api,
        ["api", v] => Route::GroupVersion(String::new(), v.to_string()),
        ["api", v, rest @ ..] => resource_path("", v, rest),
        ["apis"] => Route::Apis,
        ["apis", g] => Route::Group(g.to_string()),
        ["apis", g, v] => Route::GroupVersion(g.to_string(), v.to_string()),
        ["apis", g, v, rest @ ..] => resource_path(g, v, rest),
        _ => Route::Unknown,
    }
}

fn verb_of(method: &str, rp: &ResourcePath, q: &HashMap<String, String>) -> &'static str {
    let watch = q.get("watch").is_some_and(|w| w == "true" || w == "1");
    match (method, rp.name.is_some()) {
        ("GET", true) => "get",
        ("GET", false) if watch => "watch",
        ("GET", false) => "list",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "deletecollection",
        _ => "unknown",
    }
}

fn is_write(verb: &str) -> bool {
    matches!(
        verb,
        "create" | "update" | "patch" | "delete" | "deletecollection"
    )
}

/// Serves one request; returns the reply and its log record.
pub(crate) fn handle(store: &Store, auth: &Auth, req: ApiRequest) -> (Reply, RequestRecord) {
    let q = parse_query(&req.query);
    let r = route(&req.path);
    let (verb, resource, group, namespace) = match &r {
        Route::Resource(rp) => (
            verb_of(&req.method, rp, &q).to_string(),
            Some(match &rp.sub {
                Some(s) => format!("{}/{s}", rp.plural),
                None => rp.plural.clone(),
            }),
            Some(rp.group.clone()),
            rp.namespace.clone(),
        ),
        _ => (req.method.to_lowercase(), None, None, None),
    };
    let dry_run = q.get("dryRun").is_some_and(|d| d == "All")
        || (verb == "delete" || verb == "deletecollection")
            && serde_json::from_slice::<Value>(&req.body)
                .ok()
                .and_then(|b| b.get("dryRun").cloned())
                .is_some_and(|d| d.as_array().is_some_and(|a| !a.is_empty()));
    let mut record = RequestRecord {
        method: req.method.clone(),
        path: if req.query.is_empty() {
            req.path.clone()
        } else {
            format!("{}?{}", req.path, req.query)
        },
        verb: verb.clone(),
        resource,
        group,
        namespace,
        status: 0,
        mutating: is_write(&verb) && !dry_run,
    };
    let reply = serve_authenticated(store, auth, &req, &q, r, &verb, dry_run)
        .unwrap_or_else(|e| Reply::error(&e));
    record.status = reply.status();
    (reply, record)
}

fn serve_authenticated(
    store: &Store,
    auth: &Auth,
    req: &ApiRequest,
    q: &HashMap<String, String>,
    r: Route,
    verb: &str,
    dry_run: bool,
) -> Result<Reply, ApiError> {
    let principal = auth
        .authenticate(req.authorization.as_deref())
        .ok_or_else(ApiError::unauthorized)?;
    if let Some(e) = store.faults().check(&req.path, verb) {
        return Err(e);
    }
    let get_only = |reply: Value| -> Result<Reply, ApiError> {
        if req.method == "GET" {
            Ok(Reply::json(200, &reply))
        } else {
            Err(ApiError::method_not_allowed())
        }
    };
    match r {
        Route::Version => get_only(discovery::version()),
        Route::Health => Ok(Reply::Full {
            status: 200,
            content_type: "text/plain",
            body: Bytes::from_static(b"ok"),
            retry_after: None,
        }),
        Route::OpenApi | Route::Unknown => Err(ApiError::no_such_resource()),
        Route::Api => get_only(discovery::core_versions()),
        Route::Apis => {
            let doc = discovery::groups(&store.lock().registry);
            get_only(doc)
        }
        Route::Group(g) => {
            let doc = discovery::group(&store.lock().registry, &g);
            get_only(doc.ok_or_else(ApiError::no_such_resource)?)
        }
        Route::GroupVersion(g, v) => {
            let doc = discovery::resources(&store.lock().registry, &g, &v);
            get_only(doc.ok_or_else(ApiError::no_such_resource)?)
        }
        Route::Resource(rp) => {
            let def = store
                .lock()
                .registry
                .by_path(&rp.group, &rp.version, &rp.plural)
                .cloned()
                .ok_or_else(ApiError::no_such_resource)?;
            let scope_ok = if def.namespaced {
                rp.namespace.is_some() || rp.name.is_none()
            } else {
                rp.namespace.is_none()
            };
            let sub_ok = match rp.sub.as_deref() {
                None => true,
                Some("status") => def.has_status,
                Some(_) => false,
            };
            if !scope_ok || !sub_ok {
                return Err(ApiError::no_such_resource());
            }
            // For the namespaces resource the apiserver's namespace attribute is the name.
            let authz_ns = if def.group.is_empty() && def.plural == "namespaces" {
                rp.name.as_deref()
            } else {
                rp.namespace.as_deref()
            };
            auth::authorize(
                principal,
                &Attributes {
                    verb,
                    group: &def.group,
                    plural: &def.plural,
                    subresource: rp.sub.as_deref(),
                    name: rp.name.as_deref(),
                    namespace: authz_ns,
                },
            )?;
            let ctx = Ctx {
                store,
                def,
                rp,
                q,
                req,
                dry_run,
            };
            match verb {
                "get" => ctx.get(),
                "list" => ctx.list(),
                "watch" => ctx.watch(),
                "create" => ctx.create(),
                "update" => ctx.update(),
                "patch" => ctx.patch(),
                "delete" => ctx.delete(),
                "deletecollection" => ctx.delete_collection(),
                _ => Err(ApiError::method_not_allowed()),
            }
        }
    }
}

/// What a client asked to receive.
#[derive(Debug, PartialEq, Eq)]
enum Wanted {
    Json,
    Table(&'static str),
    Metadata,
}

fn wanted(accept: &str) -> Wanted {
    for range in accept.split(',') {
        let params: Vec<&str> = range.split(';').map(str::trim).collect();
        let media = params.first().copied().unwrap_or("");
        let has = |p: &str| params.iter().any(|x| x.replace(' ', "") == p);
        if media == "application/json" && has("g=meta.k8s.io") {
            if has("as=Table") {
                return if has("v=v1beta1") {
                    Wanted::Table("meta.k8s.io/v1beta1")
                } else {
                    Wanted::Table("meta.k8s.io/v1")
                };
            }
            if has("as=PartialObjectMetadata") || has("as=PartialObjectMetadataList") {
                return Wanted::Metadata;
            }
        }
        if media == "application/json" || media == "*/*" || media.is_empty() {
            return Wanted::Json;
        }
    }
    Wanted::Json
}

struct Ctx<'a> {
    store: &'a Store,
    def: Arc<ResourceDef>,
    rp: ResourcePath,
    q: &'a HashMap<String, String>,
    req: &'a ApiRequest,
    dry_run: bool,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct ContinueToken {
    v: String,
    rv: u64,
    ns: String,
    name: String,
}

fn encode_continue(rv: u64, key: &(String, String)) -> String {
    let t = ContinueToken {
        v: "ckf-sim/v1".into(),
        rv,
        ns: key.0.clone(),
        name: key.1.clone(),
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(&t).expect("a token always serialises"))
}

fn decode_continue(s: &str) -> Result<ContinueToken, ApiError> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|e| ApiError::bad_request(format!("continue key is not valid: {e}")))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request(format!("continue key is not valid: {e}")))
}

impl Ctx<'_> {
    fn ns(&self) -> &str {
        self.rp.namespace.as_deref().unwrap_or("")
    }

    fn name(&self) -> &str {
        self.rp.name.as_deref().unwrap_or("")
    }

    fn api_version(&self) -> String {
        self.def.api_version(&self.rp.version)
    }

    fn opts(&self) -> WriteOpts {
        WriteOpts {
            origin: Origin::Client,
            dry_run: self.dry_run,
        }
    }

    fn status_only(&self) -> bool {
        self.rp.sub.as_deref() == Some("status")
    }

    fn object_reply(&self, code: u16, s: &Stored) -> Reply {
        let v = s.value_as(&self.api_version());
        match wanted(&self.req.accept) {
            Wanted::Json => Reply::json(code, &v),
            Wanted::Metadata => Reply::json(
                code,
                &json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                         "metadata": v.get("metadata").cloned().unwrap_or(json!({}))}),
            ),
            Wanted::Table(tv) => Reply::json(
                code,
                &table::table(
                    &self.def,
                    &[v],
                    json!({"resourceVersion": s.rv.to_string()}),
                    IncludeObject::parse(self.q.get("includeObject").map(String::as_str)),
                    tv,
                ),
            ),
        }
    }

    fn selectors(&self) -> Result<(LabelSelector, FieldSelector), ApiError> {
        let labels = LabelSelector::parse(self.q.get("labelSelector").map_or("", String::as_str))
            .map_err(|e| ApiError::bad_request(e.0))?;
        let fields = FieldSelector::parse(self.q.get("fieldSelector").map_or("", String::as_str))
            .map_err(|e| ApiError::bad_request(e.0))?;
        for f in fields.fields() {
            if !supported_field(&self.def.group, &self.def.plural, f) {
                return Err(ApiError::bad_request(format!(
                    "field label not supported: {f}"
                )));
            }
        }
        Ok((labels, fields))
    }

    fn body(&self) -> Result<Value, ApiError> {
        if self.req.content_type.contains("yaml") {
            serde_yaml::from_slice(&self.req.body)
                .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))
        } else if self.req.content_type.contains("protobuf")
            || self.req.content_type.contains("cbor")
        {
            Err(ApiError::unsupported_media_type(&self.req.content_type))
        } else {
            serde_json::from_slice(&self.req.body).map_err(|e| {
                ApiError::bad_request(format!(
                    "the object provided is unrecognized (must be of type {}): {e}",
                    self.def.kind
                ))
            })
        }
    }

    /// The checks the apiserver makes on a body against the URL.
    fn check_body(&self, obj: &Value, expect_name: bool) -> Result<(), ApiError> {
        if !obj.is_object() {
            return Err(ApiError::bad_request(format!(
                "the object provided is unrecognized (must be of type {})",
                self.def.kind
            )));
        }
        let expected = self.api_version();
        if let Some(av) = obj.get("apiVersion").and_then(Value::as_str) {
            let (g, _) = split_api_version(av);
            if g != self.def.group || !self.def.serves(split_api_version(av).1) {
                return Err(ApiError::bad_request(format!(
                    "the API version in the data ({av}) does not match the expected API version ({expected})"
                )));
            }
        }
        if let Some(k) = obj.get("kind").and_then(Value::as_str)
            && k != self.def.kind.as_ref()
        {
            return Err(ApiError::bad_request(format!(
                "{} in version \"{}\" cannot be handled as a {k}: no kind \"{k}\" is registered for the resource {}",
                self.def.kind,
                self.rp.version,
                self.def.qualified()
            )));
        }
        if let Some(ns) = obj.pointer("/metadata/namespace").and_then(Value::as_str)
            && self.def.namespaced
            && !ns.is_empty()
            && ns != self.ns()
        {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        if expect_name {
            let body_name = obj
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("");
            if body_name != self.name() {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({body_name}) does not match the name on the URL ({})",
                    self.name()
                )));
            }
        }
        Ok(())
    }

    fn with_namespace(&self, mut obj: Value) -> Value {
        if self.def.namespaced {
            if !obj.get("metadata").is_some_and(Value::is_object) {
                obj["metadata"] = json!({});
            }
            obj["metadata"]["namespace"] = json!(self.ns());
        }
        obj
    }

    fn get(&self) -> Result<Reply, ApiError> {
        let st = self.store.lock();
        let s = st
            .get_stored(&self.def.key, self.ns(), self.name())
            .cloned()
            .ok_or_else(|| ApiError::not_found(&self.def.group, &self.def.plural, self.name()))?;
        drop(st);
        Ok(self.object_reply(200, &s))
    }

    fn list(&self) -> Result<Reply, ApiError> {
        let (labels, fields) = self.selectors()?;
        let limit = self
            .q
            .get("limit")
            .and_then(|l| l.parse::<usize>().ok())
            .filter(|l| *l > 0);
        let token = match self.q.get("continue").filter(|c| !c.is_empty()) {
            Some(c) => Some(decode_continue(c)?),
            None => None,
        };
        let ns = self.rp.namespace.as_deref();
        let name_only = fields.required("metadata.name").map(str::to_string);
        let st = self.store.lock();
        let list_rv = token.as_ref().map_or(st.rv, |t| t.rv);
        let after = token.map(|t| (t.ns, t.name));
        let mut items: Vec<Arc<Stored>> = Vec::new();
        let mut next: Option<(String, String)> = None;
        if let Some(name) = &name_only {
            // A name selector (kubectl wait, rollout status) needs no scan in one namespace.
            if let Some(ns) = ns
                && let Some(s) = st.get_stored(&self.def.key, ns, name)
                && labels.matches(&s.labels)
                && fields.matches(|f| s.field(ns, name, f))
            {
                items.push(s.clone());
            }
        }
        if name_only.is_none() || ns.is_none() {
            let mut it = st.scan(&self.def.key, ns, after).peekable();
            while let Some((key, s)) = it.next() {
                if !(labels.matches(&s.labels) && fields.matches(|f| s.field(&key.0, &key.1, f))) {
                    continue;
                }
                items.push(s.clone());
                if limit.is_some_and(|l| items.len() >= l) {
                    if it.peek().is_some() {
                        next = Some(key.clone());
                    }
                    break;
                }
            }
        }
        drop(st);
        let mut meta = json!({"resourceVersion": list_rv.to_string()});
        if let Some(k) = &next {
            meta["continue"] = json!(encode_continue(list_rv, k));
        }
        let api_version = self.api_version();
        match wanted(&self.req.accept) {
            Wanted::Table(tv) => {
                let objs: Vec<Value> = items.iter().map(|s| s.value_as(&api_version)).collect();
                Ok(Reply::json(
                    200,
                    &table::table(
                        &self.def,
                        &objs,
                        meta,
                        IncludeObject::parse(self.q.get("includeObject").map(String::as_str)),
                        tv,
                    ),
                ))
            }
            Wanted::Metadata => {
                let objs: Vec<Value> = items
                    .iter()
                    .map(|s| {
                        let v = s.value();
                        json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                               "metadata": v.get("metadata").cloned().unwrap_or(json!({}))})
                    })
                    .collect();
                Ok(Reply::json(
                    200,
                    &json!({"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
                            "metadata": meta, "items": objs}),
                ))
            }
            Wanted::Json => {
                // Serving a list is concatenating stored text: no parse unless the requested
                // version differs from the stored one.
                let mut out =
                    Vec::with_capacity(items.iter().map(|s| s.raw.len() + 1).sum::<usize>() + 128);
                let head = json!({"kind": format!("{}List", self.def.kind), "apiVersion": api_version, "metadata": meta});
                let head = serde_json::to_string(&head).expect("a Value always serialises");
                out.extend_from_slice(&head.as_bytes()[..head.len() - 1]);
                out.extend_from_slice(b",\"items\":[");
                for (i, s) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    if s.api_version == api_version {
                        out.extend_from_slice(s.raw.as_bytes());
                    } else {
                        out.extend_from_slice(
                            serde_json::to_string(&s.value_as(&api_version))
                                .expect("a Value always serialises")
                                .as_bytes(),
                        );
                    }
                }
                out.extend_from_slice(b"]}");
                Ok(Reply::Full {
                    status: 200,
                    content_type: "application/json",
                    body: Bytes::from(out),
                    retry_after: None,
                })
            }
        }
    }

    fn watch(&self) -> Result<Reply, ApiError> {
        let (labels, fields) = self.selectors()?;
        let timeout = self
            .q
            .get("timeoutSeconds")
            .and_then(|t| t.parse::<u64>().ok())
            .unwrap_or(1800);
        let stream = watch::start(
            self.store,
            watch::Filter {
                def: self.def.clone(),
                api_version: self.api_version(),
                namespace: self.rp.namespace.clone(),
                labels,
                fields,
            },
            watch::WatchParams {
                resource_version: self.q.get("resourceVersion").cloned(),
                send_initial_events: self.q.get("sendInitialEvents").is_some_and(|v| v == "true"),
                timeout: Duration::from_secs(timeout),
            },
        )?;
        Ok(Reply::Stream(Box::pin(stream)))
    }

    fn create(&self) -> Result<Reply, ApiError> {
        if self.rp.name.is_some() {
            return Err(ApiError::method_not_allowed());
        }
        let obj = self.body()?;
        self.check_body(&obj, false)?;
        let obj = self.with_namespace(obj);
        let mut st = self.store.lock();
        let s = st.create(&self.def, obj, self.opts())?;
        st.settle();
        drop(st);
        Ok(self.object_reply(201, &s))
    }

    fn update(&self) -> Result<Reply, ApiError> {
        if self.rp.name.is_none() {
            return Err(ApiError::method_not_allowed());
        }
        let obj = self.body()?;
        self.check_body(&obj, true)?;
        let obj = self.with_namespace(obj);
        let mut st = self.store.lock();
        let s = st.update(
            &self.def,
            self.ns(),
            self.name(),
            obj,
            self.opts(),
            self.status_only(),
        )?;
        st.settle();
        drop(st);
        Ok(self.object_reply(200, &s))
    }

    fn patch(&self) -> Result<Reply, ApiError> {
        let ptype = PatchType::from_content_type(&self.req.content_type)
            .ok_or_else(|| ApiError::unsupported_media_type(&self.req.content_type))?;
        if ptype == PatchType::Strategic && self.def.custom {
            return Err(ApiError::unsupported_media_type(&self.req.content_type));
        }
        let body: Value = if ptype == PatchType::Apply {
            if self.q.get("fieldManager").is_none_or(String::is_empty) {
                return Err(ApiError::unprocessable(
                    "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
                ));
            }
            serde_yaml::from_slice(&self.req.body)
                .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?
        } else {
            serde_json::from_slice(&self.req.body)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?
        };
        let mut st = self.store.lock();
        let exists = st
            .get_stored(&self.def.key, self.ns(), self.name())
            .is_some();
        let (code, s) = if ptype == PatchType::Apply && !exists && !self.status_only() {
            self.check_body(&body, true)?;
            let obj = self.with_namespace(body);
            (201, st.create(&self.def, obj, self.opts())?)
        } else {
            (
                200,
                st.patch(
                    &self.def,
                    self.ns(),
                    self.name(),
                    (ptype, &body),
                    self.opts(),
                    self.status_only(),
                )?,
            )
        };
        st.settle();
        drop(st);
        Ok(self.object_reply(code, &s))
    }

    fn delete_options(&self) -> Result<(Propagation, Option<String>, Option<String>), ApiError> {
        let body: Value = if self.req.body.iter().all(u8::is_ascii_whitespace) {
            json!({})
        } else {
            serde_json::from_slice(&self.req.body)
                .map_err(|e| ApiError::bad_request(format!("error decoding DeleteOptions: {e}")))?
        };
        let policy = body
            .get("propagationPolicy")
            .and_then(Value::as_str)
            .or_else(|| self.q.get("propagationPolicy").map(String::as_str));
        let propagation = match policy {
            Some("Orphan") => Propagation::Orphan,
            Some("Foreground") => Propagation::Foreground,
            Some("Background") | None => {
                if body.get("orphanDependents").and_then(Value::as_bool) == Some(true) {
                    Propagation::Orphan
                } else {
                    Propagation::Background
                }
            }
            Some(other) => {
                return Err(ApiError::unprocessable(format!(
                    "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: \"{other}\": supported values: \"Foreground\", \"Background\", \"Orphan\""
                )));
            }
        };
        let uid = body
            .pointer("/preconditions/uid")
            .and_then(Value::as_str)
            .map(str::to_string);
        let rv = body
            .pointer("/preconditions/resourceVersion")
            .and_then(Value::as_str)
            .map(str::to_string);
        Ok((propagation, uid, rv))
    }

    fn delete(&self) -> Result<Reply, ApiError> {
        if self.rp.sub.is_some() {
            return Err(ApiError::method_not_allowed());
        }
        let (propagation, uid, rv) = self.delete_options()?;
        let mut st = self.store.lock();
        let s = st.delete(
            &self.def,
            self.ns(),
            self.name(),
            propagation,
            (uid.as_deref(), rv.as_deref()),
            self.dry_run,
        )?;
        st.settle();
        drop(st);
        // Pods, namespaces and custom resources answer with the object, other types with a
        // Success Status, as their apiserver storage does.
        let returns_object = self.def.custom
            || (self.def.group.is_empty()
                && matches!(self.def.plural.as_str(), "pods" | "namespaces"))
            || self.def.plural == "customresourcedefinitions";
        if returns_object {
            return Ok(self.object_reply(200, &s));
        }
        let mut details = json!({"name": self.name(), "kind": self.def.plural, "uid": s.uid});
        if !self.def.group.is_empty() {
            details["group"] = json!(self.def.group);
        }
        Ok(Reply::json(
            200,
            &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}),
        ))
    }

    fn delete_collection(&self) -> Result<Reply, ApiError> {
        let (labels, fields) = self.selectors()?;
        let (propagation, _, _) = self.delete_options()?;
        let mut st = self.store.lock();
        let gone = st.delete_collection(
            &self.def,
            self.rp.namespace.as_deref(),
            &labels,
            &fields,
            propagation,
            self.dry_run,
        );
        st.settle();
        let rv = st.rv;
        drop(st);
        let api_version = self.api_version();
        let items: Vec<Value> = gone.iter().map(|s| s.value_as(&api_version)).collect();
        Ok(Reply::json(
            200,
            &json!({"kind": format!("{}List", self.def.kind), "apiVersion": api_version,
                    "metadata": {"resourceVersion": rv.to_string()}, "items": items}),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_namespaced_cluster_and_subresource_paths() {
        assert_eq!(
            route("/api/v1/namespaces/admin/pods/p/status"),
            Route::Resource(ResourcePath {
                group: String::new(),
                version: "v1".into(),
                namespace: Some("admin".into()),
                plural: "pods".into(),
                name: Some("p".into()),
                sub: Some("status".into()),
            })
        );
        assert_eq!(
            route("/api/v1/namespaces/admin"),
            Route::Resource(ResourcePath {
                group: String::new(),
                version: "v1".into(),
                namespace: None,
                plural: "namespaces".into(),
                name: Some("admin".into()),
                sub: None,
            })
        );
        assert!(matches!(
            route("/api/v1/namespaces/admin/status"),
            Route::Resource(ResourcePath { sub: Some(_), .. })
        ));
        assert_eq!(
            route("/apis/apps/v1"),
            Route::GroupVersion("apps".into(), "v1".into())
        );
        assert_eq!(
            route("/apis/kubeflow.org"),
            Route::Group("kubeflow.org".into())
        );
        assert_eq!(route("/nope"), Route::Unknown);
    }

    #[test]
    fn query_values_are_percent_decoded() {
        let q = parse_query("labelSelector=app%3Dx%2Ctier+in+%28a%29&limit=500&watch");

        assert_eq!(q["labelSelector"], "app=x,tier in (a)");
        assert_eq!(q["limit"], "500");
        assert_eq!(q["watch"], "");
    }

    #[test]
    fn kubectl_table_accept_header_asks_for_a_v1_table() {
        let accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

        assert_eq!(wanted(accept), Wanted::Table("meta.k8s.io/v1"));
        assert_eq!(wanted("application/json"), Wanted::Json);
        assert_eq!(
            wanted("application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"),
            Wanted::Metadata
        );
    }

    #[test]
    fn continue_tokens_round_trip_and_garbage_is_refused() {
        let t = encode_continue(42, &("admin".into(), "pod-7".into()));

        let back = decode_continue(&t).expect("valid");

        assert_eq!(
            (back.rv, back.ns.as_str(), back.name.as_str()),
            (42, "admin", "pod-7")
        );
        assert!(decode_continue("!!!").is_err());
    }
}
