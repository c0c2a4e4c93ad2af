//! The object store: every Kubernetes object of the twin, with resource versions, ownership,
//! garbage collection and a change feed.
//!
//! Objects are kept as their JSON text plus a small index (labels, owners, a few selectable
//! fields), keyed by resource type (`group/plural`), namespace and name in ordered maps, so a
//! paginated LIST is a range scan and serving it is concatenating stored text. Every write bumps
//! one global resource version, records the change in a bounded history (for watches that resume
//! from a version) and broadcasts it ([`Store::subscribe`]).
//!
//! All state sits behind one mutex that is never held across `.await`. Controllers
//! (`controllers.rs`) run inside the same critical section right after the write that triggered
//! them, so the next request sees their results. The pod admission hook also runs inside it and
//! reads the store through a [`StoreView`]; calling a [`Store`] method from the hook panics with
//! an explanation instead of deadlocking.
//!
//! Two kinds of writer exist: HTTP clients (subject to the apiserver's rules: status only through
//! `/status`, resourceVersion checks) and the twin's own Rust code, which may set status directly
//! and replace without version checks. Start at [`Store`].

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use crate::kube::controllers;
use crate::kube::error::ApiError;
use crate::kube::faults::Faults;
use crate::kube::kubelet::{self, PodStarts};
use crate::kube::patch::{self, PatchError, PatchType};
use crate::kube::requests::RequestLog;
use crate::kube::resources::{Registry, ResourceDef};
use crate::kube::rules;
use crate::kube::selector::{FieldSelector, LabelSelector};

/// How many past changes are kept for watches that resume from a resource version; older
/// versions answer 410 Expired, as after an etcd compaction.
const HISTORY: usize = 10_000;
/// Capacity of the change broadcast; a receiver that falls further behind gets `Lagged`.
const BROADCAST: usize = 16_384;
/// Upper bound on controller steps after one write; reaching it means a controller does not
/// converge, which is a bug in the twin.
const MAX_RECONCILES: usize = 1_000_000;

/// A hook called on every pod creation (by a controller, a POST or the Rust API) before the pod
/// is stored. It may modify the pod (e.g. inject a sidecar) and read the store through the view.
/// It must not call [`Store`] methods: the store is locked while it runs.
pub type PodAdmission = Arc<dyn Fn(&mut Value, &StoreView<'_>) + Send + Sync>;

/// What happened to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// Created.
    Added,
    /// Updated (spec, metadata or status).
    Modified,
    /// Deleted (the object as it was, with the deletion's resource version).
    Deleted,
}

impl ChangeKind {
    /// The watch event type: `ADDED`, `MODIFIED`, `DELETED`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "ADDED",
            ChangeKind::Modified => "MODIFIED",
            ChangeKind::Deleted => "DELETED",
        }
    }
}

/// How deleting an owner treats its dependents (`propagationPolicy`). Deletion is immediate, so
/// Foreground and Background both delete dependents before the call returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Propagation {
    /// Delete dependents (the default).
    #[default]
    Background,
    /// Delete dependents (Kubernetes would delete them before the owner; here it is one step).
    Foreground,
    /// Keep dependents and remove the owner reference from them.
    Orphan,
}

/// An owner reference as the index keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OwnerRef {
    pub uid: String,
    pub kind: String,
    pub name: String,
    pub controller: bool,
}

/// One stored object: its JSON text and what lists, watches and controllers need without
/// parsing it.
#[derive(Debug)]
pub(crate) struct Stored {
    pub raw: Box<str>,
    pub rv: u64,
    pub uid: String,
    pub api_version: String,
    pub kind: Arc<str>,
    pub labels: BTreeMap<String, String>,
    pub owners: Vec<OwnerRef>,
    /// Pods only: `status.phase`, `spec.nodeName`, Ready condition.
    pub phase: Option<String>,
    pub node_name: Option<String>,
    pub ready: bool,
}

impl Stored {
    fn new(obj: &Value, kind: Arc<str>, rv: u64) -> Self {
        let meta = obj.get("metadata");
        let owners = meta
            .and_then(|m| m.get("ownerReferences"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|o| {
                Some(OwnerRef {
                    uid: o.get("uid")?.as_str()?.to_string(),
                    kind: o.get("kind").and_then(Value::as_str)?.to_string(),
                    name: o.get("name").and_then(Value::as_str)?.to_string(),
                    controller: o.get("controller").and_then(Value::as_bool) == Some(true),
                })
            })
            .collect();
        let is_pod = kind.as_ref() == "Pod";
        Stored {
            raw: serde_json::to_string(obj)
                .expect("a serde_json::Value always serialises")
                .into_boxed_str(),
            rv,
            uid: str_at(obj, "/metadata/uid").to_string(),
            api_version: str_at(obj, "/apiVersion").to_string(),
            kind,
            labels: rules::labels_of(meta.and_then(|m| m.get("labels"))),
            owners,
            phase: is_pod.then(|| str_at(obj, "/status/phase").to_string()),
            node_name: is_pod
                .then(|| str_at(obj, "/spec/nodeName").to_string())
                .filter(|n| !n.is_empty()),
            ready: is_pod && pod_is_ready(obj),
        }
    }

    /// The object's `status`, parsed without building the rest of the object.
    pub fn status(&self) -> Option<Value> {
        #[derive(serde::Deserialize)]
        struct StatusOnly {
            status: Option<Value>,
        }
        serde_json::from_str::<StatusOnly>(&self.raw)
            .expect("stored text was serialised from a Value")
            .status
    }

    /// The object as JSON.
    pub fn value(&self) -> Value {
        serde_json::from_str(&self.raw).expect("stored text was serialised from a Value")
    }

    /// The object as JSON, presented in `api_version` (custom resources with several served
    /// versions are stored once and served in each, without conversion).
    pub fn value_as(&self, api_version: &str) -> Value {
        let mut v = self.value();
        if self.api_version != api_version {
            v["apiVersion"] = json!(api_version);
        }
        v
    }

    /// The controlling owner, if any.
    pub fn controller(&self) -> Option<&OwnerRef> {
        self.owners.iter().find(|o| o.controller)
    }

    /// A field as field selectors see it.
    pub fn field(&self, ns: &str, name: &str, field: &str) -> String {
        match field {
            "metadata.name" => name.to_string(),
            "metadata.namespace" => ns.to_string(),
            "status.phase" if self.phase.is_some() => self.phase.clone().unwrap_or_default(),
            "spec.nodeName" if self.kind.as_ref() == "Pod" => {
                self.node_name.clone().unwrap_or_default()
            }
            other => crate::kube::selector::field_value(&self.value(), other),
        }
    }
}

fn str_at<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

/// Whether a pod's Ready condition is True.
pub(crate) fn pod_is_ready(pod: &Value) -> bool {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter().any(|c| {
                c.get("type").and_then(Value::as_str) == Some("Ready")
                    && c.get("status").and_then(Value::as_str) == Some("True")
            })
        })
}

/// A reference to one stored object.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Ref {
    pub res: Arc<str>,
    pub ns: String,
    pub name: String,
}

/// One change as recorded and broadcast.
#[derive(Debug)]
pub(crate) struct Event {
    pub kind: ChangeKind,
    pub res: Arc<str>,
    pub ns: String,
    pub name: String,
    pub object: Arc<Stored>,
    /// The object before a modification (watches with selectors need it).
    pub old: Option<Arc<Stored>>,
}

/// A change to one object, as delivered by [`Store::subscribe`].
#[derive(Debug, Clone)]
pub struct Change(pub(crate) Arc<Event>);

impl Change {
    /// Added, modified or deleted.
    pub fn kind(&self) -> ChangeKind {
        self.0.kind
    }

    /// The object's `apiVersion`.
    pub fn api_version(&self) -> &str {
        &self.0.object.api_version
    }

    /// The object's `kind` (`Pod`, `Deployment`, …).
    pub fn object_kind(&self) -> &str {
        &self.0.object.kind
    }

    /// The object's namespace, `None` for cluster-scoped objects.
    pub fn namespace(&self) -> Option<&str> {
        (!self.0.ns.is_empty()).then_some(self.0.ns.as_str())
    }

    /// The object's name.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// The resource version of this change.
    pub fn resource_version(&self) -> u64 {
        self.0.object.rv
    }

    /// The object's labels after the change.
    pub fn labels(&self) -> &BTreeMap<String, String> {
        &self.0.object.labels
    }

    /// The object after the change (for a deletion: as it was when deleted). Parsed on each
    /// call.
    pub fn object(&self) -> Value {
        self.0.object.value()
    }
}

/// Who is writing: HTTP clients follow the apiserver's rules, the twin's code is privileged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// A request over HTTP.
    Client,
    /// The twin's Rust code (fixtures, coupling) or a controller.
    Twin,
}

/// Options of a write.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WriteOpts {
    pub origin: Origin,
    pub dry_run: bool,
}

impl WriteOpts {
    pub const TWIN: WriteOpts = WriteOpts {
        origin: Origin::Twin,
        dry_run: false,
    };
}

/// The objects of one type by (namespace, name); "" is the namespace of cluster-scoped ones.
type Objects = BTreeMap<(String, String), Arc<Stored>>;

/// Everything behind the store's lock.
pub(crate) struct State {
    pub rv: u64,
    pub registry: Registry,
    objects: HashMap<Arc<str>, Objects>,
    /// owner uid → objects that name it in `ownerReferences`.
    dependents: HashMap<String, BTreeSet<Ref>>,
    history: VecDeque<Change>,
    /// Resource version of the newest change no longer in `history`.
    history_floor: u64,
    tx: broadcast::Sender<Change>,
    admission: Option<PodAdmission>,
    rng: u64,
    pod_ips: u32,
    service_ips: u32,
    lb_ips: u32,
    pub(crate) sched_cursor: usize,
    queue: VecDeque<Ref>,
    queued: HashSet<Ref>,
    /// Pods waiting for their containers to start (paced rollouts).
    pub(crate) pod_starts: PodStarts,
}

/// Current time as Kubernetes writes timestamps (RFC 3339, seconds, UTC).
pub(crate) fn now_rfc3339() -> String {
    let now = jiff::Timestamp::now();
    jiff::Timestamp::from_second(now.as_second())
        .unwrap_or(now)
        .to_string()
}

impl State {
    fn new() -> Self {
        let (tx, _) = broadcast::channel(BROADCAST);
        State {
            rv: 0,
            registry: Registry::builtins(),
            objects: HashMap::new(),
            dependents: HashMap::new(),
            history: VecDeque::new(),
            history_floor: 0,
            tx,
            admission: None,
            rng: 0x0c4f_5eed_2024_0001,
            pod_ips: 0,
            service_ips: 0,
            lb_ips: 0,
            sched_cursor: 0,
            queue: VecDeque::new(),
            queued: HashSet::new(),
            pod_starts: PodStarts::default(),
        }
    }

    /// splitmix64: deterministic, so fixtures produce the same names and uids on every run.
    pub(crate) fn next_rand(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn new_uid(&mut self) -> String {
        let a = self.next_rand();
        let b = self.next_rand();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | (b >> 48 & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    }

    /// Five characters from Kubernetes' name alphabet (no vowels, no confusable digits).
    pub(crate) fn random_suffix(&mut self) -> String {
        const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        let mut r = self.next_rand();
        (0..5)
            .map(|_| {
                let c = ALPHANUMS[(r % ALPHANUMS.len() as u64) as usize] as char;
                r /= ALPHANUMS.len() as u64;
                c
            })
            .collect()
    }

    /// Next pod IP: 127.1.0.1, 127.1.0.2, … (loopback only).
    pub(crate) fn next_pod_ip(&mut self) -> String {
        self.pod_ips += 1;
        if self.pod_ips.is_multiple_of(256) {
            self.pod_ips += 1;
        }
        let n = self.pod_ips;
        format!("127.{}.{}.{}", 1 + n / 65_536, (n / 256) % 256, n % 256)
    }

    fn next_service_ip(&mut self) -> String {
        self.service_ips += 1;
        if self.service_ips.is_multiple_of(256) {
            self.service_ips += 1;
        }
        let n = self.service_ips;
        format!("127.96.{}.{}", (n / 256) % 256, n % 256)
    }

    fn next_lb_ip(&mut self) -> String {
        self.lb_ips += 1;
        format!(
            "127.240.{}.{}",
            (self.lb_ips / 250) % 256,
            1 + self.lb_ips % 250
        )
    }

    // ---- reads ----------------------------------------------------------------------------

    pub(crate) fn def(&self, key: &str) -> Option<Arc<ResourceDef>> {
        self.registry.get(key).cloned()
    }

    pub(crate) fn get_stored(&self, res: &str, ns: &str, name: &str) -> Option<&Arc<Stored>> {
        self.objects
            .get(res)?
            .get(&(ns.to_string(), name.to_string()))
    }

    pub(crate) fn get_ref(&self, r: &Ref) -> Option<&Arc<Stored>> {
        self.get_stored(&r.res, &r.ns, &r.name)
    }

    /// Objects of a type in key order, starting after `after`, limited to one namespace if
    /// given.
    pub(crate) fn scan<'a>(
        &'a self,
        res: &str,
        ns: Option<&'a str>,
        after: Option<(String, String)>,
    ) -> impl Iterator<Item = (&'a (String, String), &'a Arc<Stored>)> + 'a {
        let map = self.objects.get(res);
        let start = match (&after, ns) {
            (Some(k), Some(ns)) if k.0.as_str() < ns => {
                Bound::Included((ns.to_string(), String::new()))
            }
            (Some(k), _) => Bound::Excluded(k.clone()),
            (None, Some(ns)) => Bound::Included((ns.to_string(), String::new())),
            (None, None) => Bound::Unbounded,
        };
        map.into_iter()
            .flat_map(move |m| m.range((start.clone(), Bound::Unbounded)))
            .take_while(move |(k, _)| ns.is_none_or(|ns| k.0 == ns))
    }

    /// Objects that name `uid` as an owner.
    pub(crate) fn dependents_of(&self, uid: &str) -> Vec<Ref> {
        self.dependents
            .get(uid)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// All objects of a type (any namespace).
    pub(crate) fn all_of(&self, res: &str) -> Vec<(Ref, Arc<Stored>)> {
        let Some((key, map)) = self.objects.get_key_value(res) else {
            return Vec::new();
        };
        map.iter()
            .map(|((ns, name), s)| {
                (
                    Ref {
                        res: key.clone(),
                        ns: ns.clone(),
                        name: name.clone(),
                    },
                    s.clone(),
                )
            })
            .collect()
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.tx.subscribe()
    }

    /// Changes after resource version `since`, or the oldest version still known if `since` is
    /// older than the kept history.
    pub(crate) fn history_since(&self, since: u64) -> Result<Vec<Change>, u64> {
        if since < self.history_floor {
            return Err(self.history_floor);
        }
        let start = self.history.partition_point(|c| c.0.object.rv <= since);
        Ok(self.history.range(start..).cloned().collect())
    }

    fn namespace_exists(&self, ns: &str) -> bool {
        self.get_stored("/namespaces", "", ns).is_some()
    }

    fn def_for(&self, obj: &Value) -> Result<Arc<ResourceDef>, ApiError> {
        let api_version = str_at(obj, "/apiVersion");
        let kind = str_at(obj, "/kind");
        self.registry
            .by_kind(api_version, kind)
            .cloned()
            .ok_or_else(|| ApiError::not_found_kind(api_version, kind))
    }

    // ---- writes ---------------------------------------------------------------------------

    /// Records a write: bumps the resource version, stores the text, maintains the owner index,
    /// appends to history, broadcasts and queues controllers.
    fn put(
        &mut self,
        def: &ResourceDef,
        ns: &str,
        mut obj: Value,
        kind: ChangeKind,
    ) -> Arc<Stored> {
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        let name = str_at(&obj, "/metadata/name").to_string();
        let stored = Arc::new(Stored::new(&obj, def.kind.clone(), self.rv));
        let r = Ref {
            res: def.key.clone(),
            ns: ns.to_string(),
            name: name.clone(),
        };
        let old = self
            .objects
            .entry(def.key.clone())
            .or_default()
            .insert((ns.to_string(), name.clone()), stored.clone());
        if let Some(o) = &old {
            self.unindex_owners(&r, o);
        }
        for o in &stored.owners {
            self.dependents
                .entry(o.uid.clone())
                .or_default()
                .insert(r.clone());
        }
        self.record(Event {
            kind,
            res: def.key.clone(),
            ns: ns.to_string(),
            name,
            object: stored.clone(),
            old,
        });
        stored
    }

    fn unindex_owners(&mut self, r: &Ref, s: &Stored) {
        for o in &s.owners {
            if let Some(set) = self.dependents.get_mut(&o.uid) {
                set.remove(r);
                if set.is_empty() {
                    self.dependents.remove(&o.uid);
                }
            }
        }
    }

    fn record(&mut self, ev: Event) {
        let change = Change(Arc::new(ev));
        controllers::on_change(self, &change.0);
        if self.history.len() >= HISTORY
            && let Some(old) = self.history.pop_front()
        {
            self.history_floor = old.0.object.rv;
        }
        self.history.push_back(change.clone());
        // No receivers is not an error: nobody is watching.
        let _ = self.tx.send(change);
    }

    pub(crate) fn enqueue(&mut self, r: Ref) {
        if self.queued.insert(r.clone()) {
            self.queue.push_back(r);
        }
    }

    /// Runs controllers until nothing is queued.
    pub(crate) fn settle(&mut self) {
        let mut steps = 0;
        while let Some(r) = self.queue.pop_front() {
            self.queued.remove(&r);
            controllers::reconcile(self, &r);
            steps += 1;
            if steps >= MAX_RECONCILES {
                tracing::error!(
                    "ckf-sim controllers did not converge after {steps} steps; dropping the queue"
                );
                self.queue.clear();
                self.queued.clear();
                break;
            }
        }
    }

    /// Creates an object of type `def` in `ns` ("" for cluster-scoped).
    pub(crate) fn create(
        &mut self,
        def: &Arc<ResourceDef>,
        mut obj: Value,
        opts: WriteOpts,
    ) -> Result<Arc<Stored>, ApiError> {
        if !obj.is_object() {
            return Err(ApiError::bad_request("the body must be a JSON object"));
        }
        if !obj.get("metadata").is_some_and(Value::is_object) {
            obj["metadata"] = json!({});
        }
        obj["apiVersion"] = json!(
            obj.get("apiVersion")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| def.preferred_api_version())
        );
        obj["kind"] = json!(def.kind.as_ref());
        let ns = if def.namespaced {
            let ns = str_at(&obj, "/metadata/namespace");
            let ns = if ns.is_empty() { "default" } else { ns }.to_string();
            obj["metadata"]["namespace"] = json!(ns);
            ns
        } else {
            if let Some(m) = obj["metadata"].as_object_mut() {
                m.remove("namespace");
            }
            String::new()
        };
        if str_at(&obj, "/metadata/name").is_empty() {
            let gen_name = str_at(&obj, "/metadata/generateName").to_string();
            if !gen_name.is_empty() {
                let mut name = format!("{gen_name}{}", self.random_suffix());
                while self.get_stored(&def.key, &ns, &name).is_some() {
                    name = format!("{gen_name}{}", self.random_suffix());
                }
                obj["metadata"]["name"] = json!(name);
            }
        }
        let rv_given = obj
            .pointer("/metadata/resourceVersion")
            .is_some_and(|v| v.as_str().is_some_and(|s| !s.is_empty()));
        if rv_given && opts.origin == Origin::Client {
            return Err(ApiError::internal(
                "resourceVersion should not be set on objects to be created",
            ));
        }
        if let Some(m) = obj["metadata"].as_object_mut() {
            for k in [
                "resourceVersion",
                "uid",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "managedFields",
                "selfLink",
            ] {
                m.remove(k);
            }
        }
        rules::validate(def, &obj)?;
        let name = str_at(&obj, "/metadata/name").to_string();
        if def.namespaced && !self.namespace_exists(&ns) {
            return Err(ApiError::not_found("", "namespaces", &ns));
        }
        if self.get_stored(&def.key, &ns, &name).is_some() {
            return Err(ApiError::already_exists(&def.group, &def.plural, &name));
        }
        // The apiserver resets status on create, except for nodes: the kubelet registers its
        // node with addresses and conditions in one POST.
        let keeps_status = def.group.is_empty() && def.plural == "nodes";
        if opts.origin == Origin::Client
            && def.has_status
            && !keeps_status
            && let Some(m) = obj.as_object_mut()
        {
            m.remove("status");
        }
        let uid = self.new_uid();
        let now = now_rfc3339();
        obj["metadata"]["uid"] = json!(uid);
        obj["metadata"]["creationTimestamp"] = json!(now);
        if obj.get("spec").is_some() || def.custom {
            obj["metadata"]["generation"] = json!(1);
        }
        rules::apply_defaults(def, &mut obj);
        self.type_specific_create(def, &mut obj, &now);
        if opts.dry_run {
            return Ok(Arc::new(Stored::new(&obj, def.kind.clone(), 0)));
        }
        let stored = self.put(def, &ns, obj, ChangeKind::Added);
        self.after_create(def, &ns, &name, &stored);
        Ok(stored)
    }

    fn type_specific_create(&mut self, def: &ResourceDef, obj: &mut Value, now: &str) {
        match (def.group.as_str(), def.plural.as_str()) {
            ("", "pods") => {
                let hook = self.admission.clone();
                if let Some(h) = hook {
                    let view = StoreView { state: self };
                    h(obj, &view);
                }
                controllers::start_pod(self, obj);
            }
            ("", "services") => {
                let headless =
                    obj.pointer("/spec/clusterIP").and_then(Value::as_str) == Some("None");
                if !headless && str_at(obj, "/spec/clusterIP").is_empty() {
                    let ip = self.next_service_ip();
                    obj["spec"]["clusterIP"] = json!(ip);
                    obj["spec"]["clusterIPs"] = json!([ip]);
                }
                if str_at(obj, "/spec/type") == "LoadBalancer"
                    && obj.pointer("/status/loadBalancer/ingress").is_none()
                {
                    let ip = self.next_lb_ip();
                    obj["status"] =
                        json!({"loadBalancer": {"ingress": [{"ip": ip, "ipMode": "VIP"}]}});
                } else if obj.get("status").is_none() {
                    obj["status"] = json!({"loadBalancer": {}});
                }
            }
            ("apiextensions.k8s.io", "customresourcedefinitions") => {
                obj["status"] = rules::crd_status(obj, now);
            }
            _ => {}
        }
    }

    fn after_create(&mut self, def: &ResourceDef, ns: &str, name: &str, stored: &Arc<Stored>) {
        match (def.group.as_str(), def.plural.as_str()) {
            ("", "namespaces") => {
                // Kubernetes' service-account controller gives every namespace a `default`
                // ServiceAccount.
                if let Some(sa) = self.def("/serviceaccounts") {
                    let _ = self.create(
                        &sa,
                        json!({"apiVersion": "v1", "kind": "ServiceAccount",
                               "metadata": {"name": "default", "namespace": name}}),
                        WriteOpts::TWIN,
                    );
                }
            }
            ("apiextensions.k8s.io", "customresourcedefinitions") => {
                self.registry.define_crd(&stored.value());
            }
            _ => {}
        }
        let _ = ns;
    }

    /// Replaces an object. `require_rv`: a client update must carry the current
    /// resourceVersion (custom resources); `status_only`: only the status is taken from `new`.
    pub(crate) fn update(
        &mut self,
        def: &Arc<ResourceDef>,
        ns: &str,
        name: &str,
        mut new: Value,
        opts: WriteOpts,
        status_only: bool,
    ) -> Result<Arc<Stored>, ApiError> {
        let Some(existing) = self.get_stored(&def.key, ns, name).cloned() else {
            return Err(ApiError::not_found(&def.group, &def.plural, name));
        };
        if !new.is_object() {
            return Err(ApiError::bad_request("the body must be a JSON object"));
        }
        let given_rv = str_at(&new, "/metadata/resourceVersion").to_string();
        if !given_rv.is_empty() && given_rv != existing.rv.to_string() {
            return Err(ApiError::conflict(&def.group, &def.plural, name));
        }
        let given_uid = str_at(&new, "/metadata/uid");
        if !given_uid.is_empty() && given_uid != existing.uid {
            return Err(ApiError::conflict_because(
                &def.group,
                &def.plural,
                name,
                &format!(
                    "Precondition failed: UID in precondition: {given_uid}, UID in object meta: {}",
                    existing.uid
                ),
            ));
        }
        if given_rv.is_empty() && opts.origin == Origin::Client && def.custom && !status_only {
            return Err(ApiError::invalid_value(
                &def.kind,
                &def.group,
                name,
                "metadata.resourceVersion",
                "0x0",
                "must be specified for an update",
            ));
        }
        if status_only {
            // Only the status is compared and replaced, so the rest is never cloned.
            let new_status = new.get_mut("status").map(Value::take);
            if existing.status() == new_status {
                return Ok(existing);
            }
            let mut obj = existing.value();
            match new_status {
                Some(s) => obj["status"] = s,
                None => {
                    if let Some(m) = obj.as_object_mut() {
                        m.remove("status");
                    }
                }
            }
            if opts.dry_run {
                return Ok(Arc::new(Stored::new(&obj, def.kind.clone(), existing.rv)));
            }
            return Ok(self.put(def, ns, obj, ChangeKind::Modified));
        }
        let old = existing.value();
        let mut obj = {
            if !new.get("metadata").is_some_and(Value::is_object) {
                new["metadata"] = json!({});
            }
            let keep_status = (opts.origin == Origin::Client && def.has_status)
                || (opts.origin == Origin::Twin && new.get("status").is_none());
            if keep_status {
                match old.get("status") {
                    Some(s) => new["status"] = s.clone(),
                    None => {
                        if let Some(m) = new.as_object_mut() {
                            m.remove("status");
                        }
                    }
                }
            }
            new["apiVersion"] = json!(
                new.get("apiVersion")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| existing.api_version.clone())
            );
            new["kind"] = json!(def.kind.as_ref());
            new["metadata"]["name"] = json!(name);
            if def.namespaced {
                new["metadata"]["namespace"] = json!(ns);
            }
            for k in ["uid", "creationTimestamp", "generation"] {
                match old["metadata"].get(k) {
                    Some(v) => new["metadata"][k] = v.clone(),
                    None => {
                        if let Some(m) = new["metadata"].as_object_mut() {
                            m.remove(k);
                        }
                    }
                }
            }
            if let Some(m) = new["metadata"].as_object_mut() {
                m.remove("managedFields");
            }
            rules::validate(def, &new)?;
            rules::apply_defaults(def, &mut new);
            new
        };
        obj["metadata"]["resourceVersion"] = json!(existing.rv.to_string());
        if spec_changed(&old, &obj) {
            if let Some(g) = old.pointer("/metadata/generation").and_then(Value::as_i64) {
                obj["metadata"]["generation"] = json!(g + 1);
            } else if obj.get("spec").is_some() {
                obj["metadata"]["generation"] = json!(1);
            }
            // The apiextensions controller re-accepts the names of a changed CRD.
            if def.group == "apiextensions.k8s.io" && opts.origin == Origin::Client {
                obj["status"] = rules::crd_status(&obj, &now_rfc3339());
            }
        }
        if obj == old {
            // Kubernetes does not write (nor bump the version) when nothing changed.
            return Ok(existing);
        }
        if opts.dry_run {
            return Ok(Arc::new(Stored::new(&obj, def.kind.clone(), existing.rv)));
        }
        let stored = self.put(def, ns, obj, ChangeKind::Modified);
        if def.group == "apiextensions.k8s.io" {
            self.registry.define_crd(&stored.value());
        }
        Ok(stored)
    }

    /// Applies a patch of `ptype` to an object and stores the result.
    pub(crate) fn patch(
        &mut self,
        def: &Arc<ResourceDef>,
        ns: &str,
        name: &str,
        (ptype, body): (PatchType, &Value),
        opts: WriteOpts,
        status_only: bool,
    ) -> Result<Arc<Stored>, ApiError> {
        let Some(existing) = self.get_stored(&def.key, ns, name).cloned() else {
            return Err(ApiError::not_found(&def.group, &def.plural, name));
        };
        let mut doc = existing.value();
        match ptype {
            PatchType::Merge => patch::merge(&mut doc, body),
            PatchType::Json => patch::json(&mut doc, body).map_err(patch_error)?,
            PatchType::Strategic | PatchType::Apply => {
                if def.custom {
                    patch::merge(&mut doc, body);
                } else {
                    patch::strategic(&mut doc, body).map_err(patch_error)?;
                }
            }
        }
        if str_at(&doc, "/metadata/name") != name {
            return Err(ApiError::invalid_value(
                &def.kind,
                &def.group,
                name,
                "metadata.name",
                str_at(&doc, "/metadata/name"),
                "field is immutable",
            ));
        }
        if def.namespaced && str_at(&doc, "/metadata/namespace") != ns {
            return Err(ApiError::invalid_value(
                &def.kind,
                &def.group,
                name,
                "metadata.namespace",
                str_at(&doc, "/metadata/namespace"),
                "field is immutable",
            ));
        }
        self.update(def, ns, name, doc, opts, status_only)
    }

    /// Deletes an object and, per `propagation`, its dependents.
    pub(crate) fn delete(
        &mut self,
        def: &Arc<ResourceDef>,
        ns: &str,
        name: &str,
        propagation: Propagation,
        preconditions: (Option<&str>, Option<&str>),
        dry_run: bool,
    ) -> Result<Arc<Stored>, ApiError> {
        let Some(existing) = self.get_stored(&def.key, ns, name).cloned() else {
            return Err(ApiError::not_found(&def.group, &def.plural, name));
        };
        if let Some(uid) = preconditions.0
            && uid != existing.uid
        {
            return Err(ApiError::conflict_because(
                &def.group,
                &def.plural,
                name,
                &format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                    existing.uid
                ),
            ));
        }
        if let Some(rv) = preconditions.1
            && rv != existing.rv.to_string()
        {
            return Err(ApiError::conflict_because(
                &def.group,
                &def.plural,
                name,
                &format!(
                    "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                    existing.rv
                ),
            ));
        }
        if dry_run {
            return Ok(existing);
        }
        let r = Ref {
            res: def.key.clone(),
            ns: ns.to_string(),
            name: name.to_string(),
        };
        self.remove(&r, propagation)
            .ok_or_else(|| ApiError::not_found(&def.group, &def.plural, name))
    }

    /// Removes one object with garbage collection; returns it as deleted.
    pub(crate) fn remove(&mut self, r: &Ref, propagation: Propagation) -> Option<Arc<Stored>> {
        let def = self.def(&r.res);
        let stored = self
            .objects
            .get_mut(&r.res)?
            .remove(&(r.ns.clone(), r.name.clone()))?;
        self.unindex_owners(r, &stored);
        self.rv += 1;
        let mut last = stored.value();
        last["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        let gone = Arc::new(Stored::new(&last, stored.kind.clone(), self.rv));
        self.record(Event {
            kind: ChangeKind::Deleted,
            res: r.res.clone(),
            ns: r.ns.clone(),
            name: r.name.clone(),
            object: gone.clone(),
            old: None,
        });
        match r.res.as_ref() {
            "apiextensions.k8s.io/customresourcedefinitions" => {
                if let Some(key) = self.registry.undefine_crd(&last) {
                    // Deleting a CRD deletes every object of its type.
                    for (dep, _) in self.all_of(&key) {
                        self.remove(&dep, Propagation::Background);
                    }
                    self.objects.remove(&key);
                }
            }
            "/namespaces" => {
                // The namespace controller deletes everything in a deleted namespace.
                let keys: Vec<Arc<str>> = self
                    .registry
                    .all()
                    .filter(|d| d.namespaced)
                    .map(|d| d.key.clone())
                    .collect();
                for key in keys {
                    let refs: Vec<Ref> = self
                        .scan(&key, Some(&r.name), None)
                        .map(|((ns, name), _)| Ref {
                            res: key.clone(),
                            ns: ns.clone(),
                            name: name.clone(),
                        })
                        .collect();
                    for dep in refs {
                        self.remove(&dep, Propagation::Background);
                    }
                }
            }
            _ => {}
        }
        let deps = self.dependents.remove(&stored.uid).unwrap_or_default();
        for dep in deps {
            match propagation {
                Propagation::Orphan => self.orphan(&dep, &stored.uid),
                Propagation::Background | Propagation::Foreground => {
                    self.remove(&dep, Propagation::Background);
                }
            }
        }
        let _ = def;
        Some(gone)
    }

    fn orphan(&mut self, r: &Ref, owner_uid: &str) {
        let Some(def) = self.def(&r.res) else { return };
        let Some(s) = self.get_ref(r).cloned() else {
            return;
        };
        let mut v = s.value();
        if let Some(refs) = v
            .pointer_mut("/metadata/ownerReferences")
            .and_then(Value::as_array_mut)
        {
            refs.retain(|o| o.get("uid").and_then(Value::as_str) != Some(owner_uid));
            if refs.is_empty()
                && let Some(m) = v["metadata"].as_object_mut()
            {
                m.remove("ownerReferences");
            }
        }
        let _ = self.update(&def, &r.ns, &r.name, v, WriteOpts::TWIN, false);
    }

    /// Deletes every object of a type matching the selectors (deletecollection).
    pub(crate) fn delete_collection(
        &mut self,
        def: &Arc<ResourceDef>,
        ns: Option<&str>,
        labels: &LabelSelector,
        fields: &FieldSelector,
        propagation: Propagation,
        dry_run: bool,
    ) -> Vec<Arc<Stored>> {
        let matching: Vec<Ref> = self
            .scan(&def.key, ns, None)
            .filter(|((ons, oname), s)| {
                labels.matches(&s.labels) && fields.matches(|f| s.field(ons, oname, f))
            })
            .map(|((ons, oname), _)| Ref {
                res: def.key.clone(),
                ns: ons.clone(),
                name: oname.clone(),
            })
            .collect();
        if dry_run {
            return matching
                .iter()
                .filter_map(|r| self.get_ref(r).cloned())
                .collect();
        }
        matching
            .iter()
            .filter_map(|r| self.remove(r, propagation))
            .collect()
    }
}

fn patch_error(e: PatchError) -> ApiError {
    match e {
        PatchError::Malformed(m) => ApiError::bad_request(m),
        PatchError::Inapplicable(m) => ApiError::unprocessable(m),
    }
}

/// Whether anything but metadata and status changed (what bumps `metadata.generation`).
fn spec_changed(old: &Value, new: &Value) -> bool {
    let (Some(o), Some(n)) = (old.as_object(), new.as_object()) else {
        return old != new;
    };
    // Maps iterate in key order, so comparing the filtered entries pairwise is exact.
    let skip = |(k, _): &(&String, &Value)| k.as_str() != "metadata" && k.as_str() != "status";
    !o.iter().filter(skip).eq(n.iter().filter(skip))
}

impl ApiError {
    /// The answer for an object whose apiVersion/kind the server does not serve.
    pub(crate) fn not_found_kind(api_version: &str, kind: &str) -> Self {
        let mut e = ApiError::no_such_resource();
        e.message = format!(
            "the server could not find the requested resource (no kind \"{kind}\" is served in version \"{api_version}\")"
        );
        e
    }
}

/// Read access to the store from inside its critical section (the pod admission hook).
pub struct StoreView<'a> {
    state: &'a State,
}

impl StoreView<'_> {
    /// An object by apiVersion, kind, namespace (None for cluster-scoped) and name.
    pub fn get(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        let def = self.state.registry.by_kind(api_version, kind)?;
        let ns = if def.namespaced { namespace? } else { "" };
        self.state
            .get_stored(&def.key, ns, name)
            .map(|s| s.value_as(api_version))
    }

    /// Objects of a type, in one namespace or all, optionally filtered by a label selector.
    ///
    /// # Panics
    /// If `label_selector` does not parse: it is the calling code's literal, so that is a bug.
    pub fn list(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        label_selector: Option<&str>,
    ) -> Vec<Value> {
        let sel = parse_selector_literal(label_selector);
        let Some(def) = self.state.registry.by_kind(api_version, kind) else {
            return Vec::new();
        };
        let ns = if def.namespaced { namespace } else { None };
        self.state
            .scan(&def.key, ns, None)
            .filter(|(_, s)| sel.matches(&s.labels))
            .map(|(_, s)| s.value_as(api_version))
            .collect()
    }

    /// Labels of a namespace, `None` if it does not exist (what an injector checks).
    pub fn namespace_labels(&self, namespace: &str) -> Option<BTreeMap<String, String>> {
        self.state
            .get_stored("/namespaces", "", namespace)
            .map(|s| s.labels.clone())
    }
}

fn parse_selector_literal(s: Option<&str>) -> LabelSelector {
    match s {
        None => LabelSelector::default(),
        Some(s) => match LabelSelector::parse(s) {
            Ok(sel) => sel,
            Err(e) => panic!("invalid label selector {s:?} passed to the ckf-sim store: {e}"),
        },
    }
}

thread_local! {
    /// Set while this thread holds the store lock, to turn re-entrant calls (a pod admission
    /// hook calling `Store` methods) into a clear panic instead of a deadlock.
    static HOLDS_STORE_LOCK: Cell<bool> = const { Cell::new(false) };
}

/// The store lock, held; clears the re-entrancy flag when dropped.
pub(crate) struct Locked<'a> {
    guard: MutexGuard<'a, State>,
}

impl std::ops::Deref for Locked<'_> {
    type Target = State;
    fn deref(&self) -> &State {
        &self.guard
    }
}

impl std::ops::DerefMut for Locked<'_> {
    fn deref_mut(&mut self) -> &mut State {
        &mut self.guard
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        HOLDS_STORE_LOCK.with(|f| f.set(false));
    }
}

struct Inner {
    state: Mutex<State>,
    requests: RequestLog,
    faults: Faults,
}

/// The twin's Kubernetes object store. Cheap to clone; all clones share one state.
///
/// The Rust API here is the twin's own hand: unlike an HTTP client it may set `status` directly
/// (`create`, `apply`, `patch_merge`, `update_status`) and `apply` replaces without a
/// resourceVersion check. Workload controllers and garbage collection run before each call
/// returns.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

impl Store {
    /// An empty cluster with the namespaces every cluster has (`default`, `kube-system`,
    /// `kube-public`, `kube-node-lease`) and no nodes.
    pub fn new() -> Self {
        let store = Store {
            inner: Arc::new(Inner {
                state: Mutex::new(State::new()),
                requests: RequestLog::default(),
                faults: Faults::default(),
            }),
        };
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            store
                .create(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}))
                .expect("a fresh store accepts the standard namespaces");
        }
        store
    }

    pub(crate) fn lock(&self) -> Locked<'_> {
        if HOLDS_STORE_LOCK.with(Cell::get) {
            panic!(
                "ckf-sim Store method called while the store is locked on this thread \
                 (from a pod admission hook?); read through the StoreView passed to the hook"
            );
        }
        // A panic in a hook poisons the mutex; the state is still usable for a test twin and
        // refusing every later call would only hide the original panic.
        let guard = self
            .inner
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        HOLDS_STORE_LOCK.with(|f| f.set(true));
        Locked { guard }
    }

    /// Creates an object; its type comes from `apiVersion` and `kind`. A missing namespace of a
    /// namespaced object means `default`. A `status` in `obj` is kept; a pod without one is
    /// scheduled and started (Running, Ready).
    ///
    /// # Errors
    /// `NotFound` for an unserved type or a missing namespace, `AlreadyExists`, `Invalid`.
    pub fn create(&self, obj: Value) -> Result<Value, ApiError> {
        let mut st = self.lock();
        let def = st.def_for(&obj)?;
        let stored = st.create(&def, obj, WriteOpts::TWIN)?;
        st.settle();
        Ok(stored.value())
    }

    /// Creates the object, or replaces it if it exists (no resourceVersion check; an absent
    /// `status` keeps the current one).
    ///
    /// # Errors
    /// As [`Store::create`], except `AlreadyExists`.
    pub fn apply(&self, obj: Value) -> Result<Value, ApiError> {
        let mut st = self.lock();
        let def = st.def_for(&obj)?;
        let ns = if def.namespaced {
            let ns = str_at(&obj, "/metadata/namespace");
            if ns.is_empty() { "default" } else { ns }.to_string()
        } else {
            String::new()
        };
        let name = str_at(&obj, "/metadata/name").to_string();
        let stored = if st.get_stored(&def.key, &ns, &name).is_some() {
            let mut obj = obj;
            if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
                m.remove("resourceVersion");
            }
            st.update(&def, &ns, &name, obj, WriteOpts::TWIN, false)?
        } else {
            st.create(&def, obj, WriteOpts::TWIN)?
        };
        st.settle();
        Ok(stored.value())
    }

    /// An object, or `None` if it (or its type) does not exist.
    pub fn get(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        let st = self.lock();
        StoreView { state: &st }.get(api_version, kind, namespace, name)
    }

    /// Objects of a type, in one namespace or all (`None`), filtered by a label selector.
    /// Unknown types give an empty list. Each returned object is parsed from its stored text:
    /// listing all 20,000 pods of the large fixture takes hundreds of milliseconds and ~500 MB
    /// transiently, so prefer a namespace, a selector or [`Store::count`].
    ///
    /// # Panics
    /// If `label_selector` does not parse: it is the calling code's literal, so that is a bug.
    pub fn list(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        label_selector: Option<&str>,
    ) -> Vec<Value> {
        let st = self.lock();
        StoreView { state: &st }.list(api_version, kind, namespace, label_selector)
    }

    /// How many objects of a type match, without parsing them (cheap at any scale).
    ///
    /// # Panics
    /// If `label_selector` does not parse: it is the calling code's literal, so that is a bug.
    pub fn count(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        label_selector: Option<&str>,
    ) -> usize {
        let sel = parse_selector_literal(label_selector);
        let st = self.lock();
        let Some(def) = st.registry.by_kind(api_version, kind).cloned() else {
            return 0;
        };
        let ns = if def.namespaced { namespace } else { None };
        st.scan(&def.key, ns, None)
            .filter(|(_, s)| sel.matches(&s.labels))
            .count()
    }

    /// Runs `f` with a consistent read view of the whole store.
    pub fn view<R>(&self, f: impl FnOnce(&StoreView<'_>) -> R) -> R {
        let st = self.lock();
        f(&StoreView { state: &st })
    }

    /// Applies a JSON merge patch (RFC 7386) to an object, status included.
    ///
    /// # Errors
    /// `NotFound`, or `Invalid` if the result fails validation.
    pub fn patch_merge(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
        patch: Value,
    ) -> Result<Value, ApiError> {
        let mut st = self.lock();
        let (def, ns) = st.locate(api_version, kind, namespace)?;
        let stored = st.patch(
            &def,
            &ns,
            name,
            (PatchType::Merge, &patch),
            WriteOpts::TWIN,
            false,
        )?;
        st.settle();
        Ok(stored.value())
    }

    /// Replaces an object's `status` (what a controller or kubelet would write).
    ///
    /// # Errors
    /// `NotFound`.
    pub fn update_status(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
        status: Value,
    ) -> Result<Value, ApiError> {
        let mut st = self.lock();
        let (def, ns) = st.locate(api_version, kind, namespace)?;
        let stored = st.update(
            &def,
            &ns,
            name,
            json!({"status": status}),
            WriteOpts::TWIN,
            true,
        )?;
        st.settle();
        Ok(stored.value())
    }

    /// Marks a pod ready or not ready (its Ready and ContainersReady conditions and every
    /// container's `ready`), as a failing readiness probe would. Owners' status follows.
    ///
    /// # Errors
    /// `NotFound`.
    pub fn set_pod_ready(
        &self,
        namespace: &str,
        name: &str,
        ready: bool,
    ) -> Result<Value, ApiError> {
        let mut st = self.lock();
        let (def, ns) = st.locate("v1", "Pod", Some(namespace))?;
        let Some(pod) = st.get_stored(&def.key, &ns, name).cloned() else {
            return Err(ApiError::not_found("", "pods", name));
        };
        let status = kubelet::with_readiness(&pod.value(), ready);
        let stored = st.update(
            &def,
            &ns,
            name,
            json!({"status": status}),
            WriteOpts::TWIN,
            true,
        )?;
        st.settle();
        Ok(stored.value())
    }

    /// Deletes an object and its dependents; returns it, or `None` if it did not exist.
    pub fn delete(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        self.delete_with(api_version, kind, namespace, name, Propagation::Background)
    }

    /// Deletes an object with an explicit propagation policy.
    pub fn delete_with(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
        propagation: Propagation,
    ) -> Option<Value> {
        let mut st = self.lock();
        let (def, ns) = st.locate(api_version, kind, namespace).ok()?;
        let gone = st
            .delete(&def, &ns, name, propagation, (None, None), false)
            .ok()?;
        st.settle();
        Some(gone.value())
    }

    /// A receiver of every later change. Slow receivers lose the oldest changes
    /// (`RecvError::Lagged`) once 16,384 are pending.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.lock().subscribe()
    }

    /// Installs the pod admission hook (replacing any previous one).
    pub fn set_pod_admission(&self, hook: PodAdmission) {
        self.lock().admission = Some(hook);
    }

    /// Paces rollouts: a pod that a workload controller creates to roll out a new pod template
    /// becomes Running and Ready `delay` after it is scheduled (until then `kubectl get pods`
    /// shows it initializing), so a `kubectl rollout restart` replaces pods step by step over
    /// time, as a real cluster does. The returned task starts those pods; abort it to stop
    /// pacing (pods still waiting then stay waiting). Without this call, or with zero delay,
    /// every pod starts at once.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn pace_rollouts(&self, delay: Duration) -> JoinHandle<()> {
        let wake = kubelet::pace(&mut self.lock(), delay);
        tokio::spawn(kubelet::run(self.clone(), wake))
    }

    /// Removes the pod admission hook.
    pub fn clear_pod_admission(&self) {
        self.lock().admission = None;
    }

    /// The current (latest) resource version.
    pub fn resource_version(&self) -> u64 {
        self.lock().rv
    }

    /// The log of HTTP requests served from this store.
    pub fn requests(&self) -> RequestLog {
        self.inner.requests.clone()
    }

    /// The fault injection knobs of servers serving this store.
    pub fn faults(&self) -> Faults {
        self.inner.faults.clone()
    }
}

impl State {
    /// The type and effective namespace for a Rust API call.
    fn locate(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
    ) -> Result<(Arc<ResourceDef>, String), ApiError> {
        let def = self
            .registry
            .by_kind(api_version, kind)
            .cloned()
            .ok_or_else(|| ApiError::not_found_kind(api_version, kind))?;
        let ns = if def.namespaced {
            namespace.unwrap_or("default").to_string()
        } else {
            String::new()
        };
        Ok((def, ns))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::resources::crd;

    fn cm(ns: &str, name: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": {"k": "v"}})
    }

    #[test]
    fn create_sets_server_metadata() {
        let store = Store::new();

        let obj = store.create(cm("default", "a")).expect("created");

        assert!(!obj["metadata"]["uid"].as_str().unwrap_or("").is_empty());
        assert!(obj["metadata"]["creationTimestamp"].is_string());
        assert_eq!(
            obj["metadata"]["resourceVersion"],
            json!(store.resource_version().to_string())
        );
    }

    #[test]
    fn count_matches_list_length_without_parsing() {
        let store = Store::new();
        store.create(cm("default", "a")).expect("created");
        let mut b = cm("default", "b");
        b["metadata"]["labels"] = json!({"app": "x"});
        store.create(b).expect("created");

        assert_eq!(store.count("v1", "ConfigMap", Some("default"), None), 2);
        assert_eq!(store.count("v1", "ConfigMap", None, Some("app=x")), 1);
        assert_eq!(store.count("v1", "Nope", None, None), 0);
    }

    #[test]
    fn create_of_an_existing_name_is_already_exists() {
        let store = Store::new();
        store.create(cm("default", "a")).expect("created");

        let err = store.create(cm("default", "a")).expect_err("refused");

        assert!(err.is_already_exists());
        assert_eq!(err.message, "configmaps \"a\" already exists");
    }

    #[test]
    fn create_in_a_missing_namespace_is_not_found() {
        let store = Store::new();

        let err = store.create(cm("nowhere", "a")).expect_err("refused");

        assert!(err.is_not_found());
        assert_eq!(err.message, "namespaces \"nowhere\" not found");
    }

    #[test]
    fn every_namespace_gets_a_default_service_account() {
        let store = Store::new();

        store
            .create(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "admin"}}))
            .expect("created");

        assert!(
            store
                .get("v1", "ServiceAccount", Some("admin"), "default")
                .is_some()
        );
    }

    #[test]
    fn generation_is_bumped_only_when_spec_changes() {
        let store = Store::new();
        store
            .create(json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "default"}, "spec": {"ports": [{"port": 80}]}}))
            .expect("created");

        let labelled = store
            .patch_merge(
                "v1",
                "Service",
                Some("default"),
                "s",
                json!({"metadata": {"labels": {"a": "b"}}}),
            )
            .expect("patched");
        let respecced = store
            .patch_merge(
                "v1",
                "Service",
                Some("default"),
                "s",
                json!({"spec": {"ports": [{"port": 81}]}}),
            )
            .expect("patched");

        assert_eq!(labelled["metadata"]["generation"], 1);
        assert_eq!(respecced["metadata"]["generation"], 2);
    }

    #[test]
    fn a_no_op_patch_does_not_bump_the_resource_version() {
        let store = Store::new();
        let before = store.create(cm("default", "a")).expect("created");

        let after = store
            .patch_merge(
                "v1",
                "ConfigMap",
                Some("default"),
                "a",
                json!({"data": {"k": "v"}}),
            )
            .expect("patched");

        assert_eq!(
            before["metadata"]["resourceVersion"],
            after["metadata"]["resourceVersion"]
        );
    }

    #[test]
    fn deleting_an_owner_deletes_its_dependents_in_cascade() {
        let store = Store::new();
        let owner = store.create(cm("default", "owner")).expect("created");
        let mut dep = cm("default", "dep");
        dep["metadata"]["ownerReferences"] = json!([{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner["metadata"]["uid"]}]);
        let dep = store.create(dep).expect("created");
        let mut dep2 = cm("default", "dep2");
        dep2["metadata"]["ownerReferences"] = json!([{"apiVersion": "v1", "kind": "ConfigMap", "name": "dep", "uid": dep["metadata"]["uid"]}]);
        store.create(dep2).expect("created");

        store.delete("v1", "ConfigMap", Some("default"), "owner");

        assert!(
            store
                .get("v1", "ConfigMap", Some("default"), "dep")
                .is_none()
        );
        assert!(
            store
                .get("v1", "ConfigMap", Some("default"), "dep2")
                .is_none()
        );
    }

    #[test]
    fn orphan_propagation_keeps_dependents_without_the_owner_reference() {
        let store = Store::new();
        let owner = store.create(cm("default", "owner")).expect("created");
        let mut dep = cm("default", "dep");
        dep["metadata"]["ownerReferences"] = json!([{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner["metadata"]["uid"]}]);
        store.create(dep).expect("created");

        store.delete_with(
            "v1",
            "ConfigMap",
            Some("default"),
            "owner",
            Propagation::Orphan,
        );

        let dep = store
            .get("v1", "ConfigMap", Some("default"), "dep")
            .expect("kept");
        assert!(dep["metadata"].get("ownerReferences").is_none());
    }

    #[test]
    fn deleting_a_namespace_deletes_its_objects() {
        let store = Store::new();
        store
            .create(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "gone"}}))
            .expect("created");
        store.create(cm("gone", "a")).expect("created");

        store.delete("v1", "Namespace", None, "gone");

        assert!(store.list("v1", "ConfigMap", Some("gone"), None).is_empty());
    }

    #[test]
    fn custom_resources_exist_only_while_their_crd_does() {
        let store = Store::new();
        store
            .create(crd("kubeflow.org", &["v1"], "Profile", "profiles", false))
            .expect("crd created");
        store
            .create(json!({"apiVersion": "kubeflow.org/v1", "kind": "Profile", "metadata": {"name": "admin"}, "spec": {}}))
            .expect("profile created");

        store.delete(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            None,
            "profiles.kubeflow.org",
        );

        assert!(
            store
                .get("kubeflow.org/v1", "Profile", None, "admin")
                .is_none()
        );
        let err = store
            .create(json!({"apiVersion": "kubeflow.org/v1", "kind": "Profile", "metadata": {"name": "admin"}}))
            .expect_err("type gone");
        assert!(err.is_not_found());
    }

    #[test]
    fn subscribers_see_added_modified_and_deleted() {
        let store = Store::new();
        let mut rx = store.subscribe();

        store.create(cm("default", "a")).expect("created");
        store
            .patch_merge(
                "v1",
                "ConfigMap",
                Some("default"),
                "a",
                json!({"data": {"k": "w"}}),
            )
            .expect("patched");
        store.delete("v1", "ConfigMap", Some("default"), "a");

        let kinds: Vec<ChangeKind> = std::iter::from_fn(|| rx.try_recv().ok())
            .filter(|c| c.object_kind() == "ConfigMap")
            .map(|c| c.kind())
            .collect();
        assert_eq!(
            kinds,
            [ChangeKind::Added, ChangeKind::Modified, ChangeKind::Deleted]
        );
    }

    #[test]
    fn the_admission_hook_sees_the_store_and_changes_the_pod() {
        let store = Store::new();
        store
            .patch_merge(
                "v1",
                "Namespace",
                None,
                "default",
                json!({"metadata": {"labels": {"istio-injection": "enabled"}}}),
            )
            .expect("labelled");
        store.set_pod_admission(Arc::new(|pod: &mut Value, view: &StoreView<'_>| {
            let ns = pod["metadata"]["namespace"]
                .as_str()
                .unwrap_or("")
                .to_string();
            let inject = view
                .namespace_labels(&ns)
                .is_some_and(|l| l.get("istio-injection").map(String::as_str) == Some("enabled"));
            if inject && let Some(cs) = pod["spec"]["containers"].as_array_mut() {
                cs.push(json!({"name": "istio-proxy", "image": "proxyv2"}));
            }
        }));

        let pod = store
            .create(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"}, "spec": {"containers": [{"name": "main", "image": "x:1"}]}}))
            .expect("created");

        assert_eq!(pod["spec"]["containers"][1]["name"], "istio-proxy");
    }

    #[test]
    #[should_panic(expected = "StoreView")]
    fn a_hook_calling_the_store_panics_instead_of_deadlocking() {
        let store = Store::new();
        let inner = store.clone();
        store.set_pod_admission(Arc::new(move |_pod: &mut Value, _view: &StoreView<'_>| {
            let _ = inner.get("v1", "Namespace", None, "default");
        }));

        let _ = store.create(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "main"}]}}));
    }

    #[test]
    fn history_returns_changes_after_a_version_and_refuses_compacted_ones() {
        let store = Store::new();
        let rv = store.resource_version();
        store.create(cm("default", "a")).expect("created");

        let st = store.lock();
        let since = st.history_since(rv).expect("within history");

        assert_eq!(since.len(), 1);
        assert_eq!(since[0].name(), "a");
    }
}
