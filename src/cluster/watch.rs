//! Watches that say "something changed": the objects a waiting phase depends on, watched from
//! the moment they were last read, so no change between the read and the watch is lost.
//!
//! Each [`Watched`] set lists once (limit 1, to learn the collection's resourceVersion) and
//! then watches from that version, as client-go's reflector does. Events only signal: the
//! reader re-reads what it needs (level-based), so a watch that ends is resumed from the last
//! version seen, and one the server no longer can resume (410 Gone) or that failed is listed and
//! watched again — and signalled, since changes may have passed meanwhile
//! (<https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes>).

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod};
use kube::api::{ApiResource, DynamicObject, ListParams, WatchEvent, WatchParams};
use kube::{Api, Resource};
use tokio::sync::Notify;
use tokio::task::JoinSet;

use super::{Cluster, Error, Result, WorkloadKind, error};

/// How long one watch request stays open before it is renewed from the last version seen:
/// kube-rs's default for `WatchParams::timeout`, and below the minutes an API server itself may
/// end a watch after (`--min-request-timeout`, randomised).
const WATCH_SECONDS: u32 = 290;

/// Longest pause before a failed watch is tried again.
const MAX_RETRY: Duration = Duration::from_secs(10);

/// One set of objects to watch: a kind, optionally one namespace and one name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Watched {
    kind: &'static str,
    namespace: Option<String>,
    name: Option<String>,
}

impl Watched {
    /// One ConfigMap.
    pub fn config_map(namespace: &str, name: &str) -> Self {
        Self::one("ConfigMap", Some(namespace), name)
    }

    /// One workload.
    pub fn workload(kind: WorkloadKind, namespace: &str, name: &str) -> Self {
        let kind = match kind {
            WorkloadKind::Deployment => "Deployment",
            WorkloadKind::StatefulSet => "StatefulSet",
            WorkloadKind::DaemonSet => "DaemonSet",
        };
        Self::one(kind, Some(namespace), name)
    }

    /// One namespace.
    pub fn namespace(name: &str) -> Self {
        Self::one("Namespace", None, name)
    }

    /// Every namespace (labels, phases).
    pub fn namespaces() -> Self {
        Self::all("Namespace")
    }

    /// Every mutating webhook configuration.
    pub fn mutating_webhooks() -> Self {
        Self::all("MutatingWebhookConfiguration")
    }

    /// Every pod of the cluster (sidecars come and go with them).
    pub fn pods() -> Self {
        Self::all("Pod")
    }

    fn one(kind: &'static str, namespace: Option<&str>, name: &str) -> Self {
        Self {
            kind,
            namespace: namespace.map(str::to_owned),
            name: Some(name.to_owned()),
        }
    }

    fn all(kind: &'static str) -> Self {
        Self {
            kind,
            namespace: None,
            name: None,
        }
    }

    fn resource(&self) -> ApiResource {
        fn of<K: Resource<DynamicType = ()>>() -> ApiResource {
            ApiResource::erase::<K>(&())
        }
        match self.kind {
            "ConfigMap" => of::<ConfigMap>(),
            "Deployment" => of::<Deployment>(),
            "StatefulSet" => of::<StatefulSet>(),
            "DaemonSet" => of::<DaemonSet>(),
            "Namespace" => of::<Namespace>(),
            "MutatingWebhookConfiguration" => of::<MutatingWebhookConfiguration>(),
            _ => of::<Pod>(),
        }
    }

    fn api(&self, client: &kube::Client) -> Api<DynamicObject> {
        let resource = self.resource();
        match &self.namespace {
            Some(namespace) => Api::namespaced_with(client.clone(), namespace, &resource),
            None => Api::all_with(client.clone(), &resource),
        }
    }

    fn fields(&self) -> Option<String> {
        self.name
            .as_ref()
            .map(|name| format!("metadata.name={name}"))
    }

    fn describe(&self) -> String {
        let mut out = self.kind.to_owned();
        if let Some(namespace) = &self.namespace {
            out.push_str(&format!(" in {namespace}"));
        }
        if let Some(name) = &self.name {
            out.push_str(&format!(" {name}"));
        }
        out
    }
}

/// Running watches; they stop when this is dropped.
#[derive(Debug)]
pub struct Watching {
    /// Dropping the set aborts the watches.
    _tasks: JoinSet<()>,
}

impl Watching {
    /// Watches nothing.
    pub fn none() -> Self {
        Self {
            _tasks: JoinSet::new(),
        }
    }
}

impl Cluster {
    /// Starts watching `sets`, waking `changed` on every change of any of them. Returns once
    /// each is anchored at the current resourceVersion: a read made after this returns misses
    /// nothing.
    ///
    /// # Errors
    /// The first list that fails (forbidden, unreachable): the caller reads the same objects
    /// anyway and reports that error in its own terms.
    pub async fn watch(&self, sets: &[Watched], changed: Arc<Notify>) -> Result<Watching> {
        let mut tasks = JoinSet::new();
        for set in sets {
            let api = set.api(&self.client);
            let version = anchor(&api, set).await?;
            tasks.spawn(follow(api, set.clone(), version, changed.clone()));
        }
        Ok(Watching { _tasks: tasks })
    }
}

/// The collection's current resourceVersion.
async fn anchor(api: &Api<DynamicObject>, set: &Watched) -> Result<String> {
    let mut params = ListParams::default().limit(1);
    if let Some(fields) = set.fields() {
        params = params.fields(&fields);
    }
    let list = super::retrying(|| api.list_metadata(&params))
        .await
        .map_err(|e| Error::api("watch", set.describe(), e))?;
    Ok(list.metadata.resource_version.unwrap_or_default())
}

/// Follows one watch for ever: resumes it when the server ends it, re-anchors it when it cannot
/// be resumed, and signals every change.
async fn follow(api: Api<DynamicObject>, set: Watched, mut version: String, changed: Arc<Notify>) {
    let mut params = WatchParams::default().timeout(WATCH_SECONDS);
    if let Some(fields) = set.fields() {
        params = params.fields(&fields);
    }
    let mut retry = Duration::from_millis(200);
    loop {
        match watch_once(&api, &params, &mut version, &changed).await {
            Ok(()) => retry = Duration::from_millis(200),
            Err(why) => {
                tracing::debug!("watch of {} ended ({why}); watching again", set.describe());
                tokio::time::sleep(retry).await;
                retry = (retry * 2).min(MAX_RETRY);
                match anchor(&api, &set).await {
                    Ok(fresh) => {
                        version = fresh;
                        // Changes may have passed while nothing watched.
                        changed.notify_one();
                    }
                    Err(e) => tracing::debug!("{e}"),
                }
            }
        }
    }
}

/// One watch request until the server ends it (`Ok`) or it cannot go on (`Err`: re-anchor).
async fn watch_once(
    api: &Api<DynamicObject>,
    params: &WatchParams,
    version: &mut String,
    changed: &Notify,
) -> std::result::Result<(), String> {
    let stream = api
        .watch(params, version)
        .await
        .map_err(|e| error::describe(&e))?;
    let mut stream = std::pin::pin!(stream);
    while let Some(event) = stream.next().await {
        match event.map_err(|e| error::describe(&e))? {
            WatchEvent::Added(o) | WatchEvent::Modified(o) | WatchEvent::Deleted(o) => {
                if let Some(v) = o.metadata.resource_version {
                    *version = v;
                }
                changed.notify_one();
            }
            WatchEvent::Bookmark(b) => *version = b.metadata.resource_version,
            WatchEvent::Error(status) => {
                return Err(format!("{} (HTTP {})", status.message, status.code));
            }
        }
    }
    Ok(())
}
