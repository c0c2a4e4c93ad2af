//! Which resource types the server serves: the built-ins and those declared by CRDs.
//!
//! A resource type is identified by group + plural (`apps/deployments`); that is the storage key,
//! independent of the version, as in Kubernetes. Custom resources exist exactly while a
//! `CustomResourceDefinition` object for them is stored: [`Registry::define_crd`] reads the CRD's
//! spec (group, served versions, scope, names, printer columns) and the store calls it on every CRD
//! write. This module knows nothing of storage, HTTP or controllers; start at [`Registry`].

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::{Value, json};

/// An extra column a CRD asks `kubectl get` to show (`additionalPrinterColumns`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PrinterColumn {
    pub name: String,
    pub type_: String,
    pub json_path: String,
    pub priority: i64,
}

/// One resource type as the server serves it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ResourceDef {
    /// `group/plural`, the storage key.
    pub key: Arc<str>,
    pub group: String,
    /// Served versions, most preferred first.
    pub versions: Vec<String>,
    pub kind: Arc<str>,
    pub plural: String,
    pub singular: String,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    pub namespaced: bool,
    /// Has a `/status` subresource: main-resource writes do not touch `status`.
    pub has_status: bool,
    /// Declared by a CRD (custom resources have different rules: no strategic merge patch,
    /// updates need a resourceVersion, generation on every spec change).
    pub custom: bool,
    /// Printer columns per version (CRDs only).
    pub printer_columns: Vec<PrinterColumn>,
}

impl ResourceDef {
    fn builtin(
        group: &str,
        version: &str,
        kind: &str,
        plural: &str,
        namespaced: bool,
        has_status: bool,
        short_names: &[&str],
    ) -> Self {
        let categories = match plural {
            "pods" | "services" | "deployments" | "daemonsets" | "statefulsets" | "replicasets" => {
                vec!["all".to_string()]
            }
            _ => Vec::new(),
        };
        ResourceDef {
            key: storage_key(group, plural),
            group: group.to_string(),
            versions: vec![version.to_string()],
            kind: Arc::from(kind),
            plural: plural.to_string(),
            singular: kind.to_lowercase(),
            short_names: short_names.iter().map(|s| s.to_string()).collect(),
            categories,
            namespaced,
            has_status,
            custom: false,
            printer_columns: Vec::new(),
        }
    }

    /// `apps/v1` or `v1` for the given version.
    pub fn api_version(&self, version: &str) -> String {
        if self.group.is_empty() {
            version.to_string()
        } else {
            format!("{}/{version}", self.group)
        }
    }

    /// The preferred (first served) version's apiVersion.
    pub fn preferred_api_version(&self) -> String {
        self.api_version(self.versions.first().map(String::as_str).unwrap_or("v1"))
    }

    /// Whether `version` is served.
    pub fn serves(&self, version: &str) -> bool {
        self.versions.iter().any(|v| v == version)
    }

    /// `deployments.apps` or `pods`: the name the apiserver uses in messages.
    pub fn qualified(&self) -> String {
        crate::kube::error::qualified(&self.group, &self.plural)
    }
}

/// `group/plural`.
pub(crate) fn storage_key(group: &str, plural: &str) -> Arc<str> {
    Arc::from(format!("{group}/{plural}"))
}

/// Splits `apps/v1` into (`apps`, `v1`) and `v1` into (``, `v1`).
pub(crate) fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.rsplit_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}

/// Kubernetes' version priority: GA before beta before alpha, higher numbers first, anything
/// that is not a Kubernetes version last in lexical order.
pub(crate) fn version_priority(a: &str, b: &str) -> std::cmp::Ordering {
    fn parse(v: &str) -> Option<(u32, u8, u32)> {
        let rest = v.strip_prefix('v')?;
        let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        let major: u32 = digits.parse().ok()?;
        let tail = &rest[digits.len()..];
        if tail.is_empty() {
            return Some((major, 3, 0));
        }
        let (stage, num) = if let Some(n) = tail.strip_prefix("beta") {
            (2, n)
        } else if let Some(n) = tail.strip_prefix("alpha") {
            (1, n)
        } else {
            return None;
        };
        Some((major, stage, num.parse().ok()?))
    }
    match (parse(a), parse(b)) {
        (Some((ma, sa, na)), Some((mb, sb, nb))) => {
            // Higher stage, then higher major, then higher minor number sort first.
            sb.cmp(&sa).then(mb.cmp(&ma)).then(nb.cmp(&na))
        }
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

/// The resource types currently served.
#[derive(Debug, Clone)]
pub(crate) struct Registry {
    defs: BTreeMap<Arc<str>, Arc<ResourceDef>>,
    by_kind: HashMap<(String, String), Arc<str>>,
}

impl Registry {
    /// The built-in types of the twin's cluster.
    pub fn builtins() -> Self {
        let mut r = Registry {
            defs: BTreeMap::new(),
            by_kind: HashMap::new(),
        };
        let b = ResourceDef::builtin;
        for def in [
            b("", "v1", "Namespace", "namespaces", false, true, &["ns"]),
            b("", "v1", "Node", "nodes", false, true, &["no"]),
            b("", "v1", "Pod", "pods", true, true, &["po"]),
            b("", "v1", "ConfigMap", "configmaps", true, false, &["cm"]),
            b("", "v1", "Service", "services", true, true, &["svc"]),
            b(
                "",
                "v1",
                "ServiceAccount",
                "serviceaccounts",
                true,
                false,
                &["sa"],
            ),
            b("", "v1", "Secret", "secrets", true, false, &[]),
            b("", "v1", "Event", "events", true, false, &["ev"]),
            b(
                "apps",
                "v1",
                "Deployment",
                "deployments",
                true,
                true,
                &["deploy"],
            ),
            b("apps", "v1", "DaemonSet", "daemonsets", true, true, &["ds"]),
            b(
                "apps",
                "v1",
                "StatefulSet",
                "statefulsets",
                true,
                true,
                &["sts"],
            ),
            b(
                "apps",
                "v1",
                "ReplicaSet",
                "replicasets",
                true,
                true,
                &["rs"],
            ),
            b(
                "coordination.k8s.io",
                "v1",
                "Lease",
                "leases",
                true,
                false,
                &[],
            ),
            b(
                "admissionregistration.k8s.io",
                "v1",
                "MutatingWebhookConfiguration",
                "mutatingwebhookconfigurations",
                false,
                false,
                &[],
            ),
            b(
                "admissionregistration.k8s.io",
                "v1",
                "ValidatingWebhookConfiguration",
                "validatingwebhookconfigurations",
                false,
                false,
                &[],
            ),
            b(
                "apiextensions.k8s.io",
                "v1",
                "CustomResourceDefinition",
                "customresourcedefinitions",
                false,
                true,
                &["crd", "crds"],
            ),
        ] {
            r.insert(def);
        }
        r
    }

    fn insert(&mut self, def: ResourceDef) {
        self.by_kind
            .insert((def.group.clone(), def.kind.to_string()), def.key.clone());
        self.defs.insert(def.key.clone(), Arc::new(def));
    }

    /// The type stored under `key`.
    pub fn get(&self, key: &str) -> Option<&Arc<ResourceDef>> {
        self.defs.get(key)
    }

    /// The type for a URL path (group, version, plural), if that version is served.
    pub fn by_path(&self, group: &str, version: &str, plural: &str) -> Option<&Arc<ResourceDef>> {
        self.defs
            .get(format!("{group}/{plural}").as_str())
            .filter(|d| d.serves(version))
    }

    /// The type of an object with this apiVersion and kind, if that version is served.
    pub fn by_kind(&self, api_version: &str, kind: &str) -> Option<&Arc<ResourceDef>> {
        let (group, version) = split_api_version(api_version);
        self.by_kind
            .get(&(group.to_string(), kind.to_string()))
            .and_then(|k| self.defs.get(k))
            .filter(|d| d.serves(version))
    }

    /// All served types.
    pub fn all(&self) -> impl Iterator<Item = &Arc<ResourceDef>> {
        self.defs.values()
    }

    /// Adds or replaces the type a CRD object declares; returns its storage key. A CRD whose
    /// spec cannot be read declares nothing (validation refuses such objects before this).
    pub fn define_crd(&mut self, crd: &Value) -> Option<Arc<str>> {
        let def = crd_def(crd)?;
        let key = def.key.clone();
        if let Some(old) = self.defs.get(&key)
            && old.kind != def.kind
        {
            self.by_kind
                .remove(&(old.group.clone(), old.kind.to_string()));
        }
        self.insert(def);
        Some(key)
    }

    /// Removes the type a CRD declared; returns its key if it was served.
    pub fn undefine_crd(&mut self, crd: &Value) -> Option<Arc<str>> {
        let def = crd_def(crd)?;
        let old = self.defs.get(&def.key)?;
        if !old.custom {
            return None;
        }
        self.by_kind
            .remove(&(old.group.clone(), old.kind.to_string()));
        self.defs.remove(&def.key);
        Some(def.key)
    }

    /// Groups with their served versions (most preferred first), core group excluded.
    pub fn groups(&self) -> BTreeMap<String, Vec<String>> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for d in self.defs.values() {
            if d.group.is_empty() {
                continue;
            }
            let vs = out.entry(d.group.clone()).or_default();
            for v in &d.versions {
                if !vs.contains(v) {
                    vs.push(v.clone());
                }
            }
        }
        for vs in out.values_mut() {
            vs.sort_by(|a, b| version_priority(a, b));
        }
        out
    }
}

/// Reads the type a CRD object declares, or None if its spec lacks the essentials.
fn crd_def(crd: &Value) -> Option<ResourceDef> {
    let spec = crd.get("spec")?;
    let group = spec.get("group")?.as_str()?.to_string();
    let names = spec.get("names")?;
    let plural = names.get("plural")?.as_str()?.to_string();
    let kind = names.get("kind")?.as_str()?.to_string();
    let singular = names
        .get("singular")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| kind.to_lowercase());
    let str_list = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let short_names = str_list(names.get("shortNames"));
    let categories = str_list(names.get("categories"));
    let namespaced = spec.get("scope").and_then(Value::as_str) != Some("Cluster");
    let mut versions: Vec<String> = Vec::new();
    let mut has_status = false;
    let mut printer_columns = Vec::new();
    for v in spec.get("versions")?.as_array()? {
        if v.get("served").and_then(Value::as_bool) == Some(false) {
            continue;
        }
        let Some(name) = v.get("name").and_then(Value::as_str) else {
            continue;
        };
        versions.push(name.to_string());
        if v.pointer("/subresources/status").is_some() {
            has_status = true;
        }
        if printer_columns.is_empty() {
            for c in v
                .get("additionalPrinterColumns")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let (Some(n), Some(p)) = (
                    c.get("name").and_then(Value::as_str),
                    c.get("jsonPath").and_then(Value::as_str),
                ) else {
                    continue;
                };
                printer_columns.push(PrinterColumn {
                    name: n.to_string(),
                    type_: c
                        .get("type")
                        .and_then(Value::as_str)
                        .unwrap_or("string")
                        .to_string(),
                    json_path: p.to_string(),
                    priority: c.get("priority").and_then(Value::as_i64).unwrap_or(0),
                });
            }
        }
    }
    if versions.is_empty() {
        return None;
    }
    versions.sort_by(|a, b| version_priority(a, b));
    Some(ResourceDef {
        key: storage_key(&group, &plural),
        group,
        versions,
        kind: Arc::from(kind),
        plural,
        singular,
        short_names,
        categories,
        namespaced,
        has_status,
        custom: true,
        printer_columns,
    })
}

/// A minimal `CustomResourceDefinition` for fixtures: every version served, the first one
/// stored, a schema that keeps unknown fields, and a `/status` subresource. Add `shortNames`,
/// `categories` or `additionalPrinterColumns` to the returned value before storing it if a test
/// needs them.
pub fn crd(group: &str, versions: &[&str], kind: &str, plural: &str, namespaced: bool) -> Value {
    let versions: Vec<Value> = versions
        .iter()
        .enumerate()
        .map(|(i, v)| {
            json!({
                "name": v,
                "served": true,
                "storage": i == 0,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
                "subresources": {"status": {}},
            })
        })
        .collect();
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{plural}.{group}")},
        "spec": {
            "group": group,
            "names": {
                "kind": kind,
                "listKind": format!("{kind}List"),
                "plural": plural,
                "singular": kind.to_lowercase(),
            },
            "scope": if namespaced { "Namespaced" } else { "Cluster" },
            "versions": versions,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_priority_puts_ga_before_beta_before_alpha() {
        let mut vs = vec!["v1alpha1", "v1beta1", "v2", "v1", "v1beta2", "foo"];

        vs.sort_by(|a, b| version_priority(a, b));

        assert_eq!(vs, ["v2", "v1", "v1beta2", "v1beta1", "v1alpha1", "foo"]);
    }

    #[test]
    fn a_crd_declares_a_cluster_scoped_type_with_its_names() {
        let mut reg = Registry::builtins();

        let key = reg.define_crd(&crd("kubeflow.org", &["v1"], "Profile", "profiles", false));

        assert_eq!(key.as_deref(), Some("kubeflow.org/profiles"));
        let def = reg
            .by_kind("kubeflow.org/v1", "Profile")
            .expect("profile served");
        assert!(!def.namespaced);
        assert!(def.custom);
        assert_eq!(def.singular, "profile");
        assert!(reg.by_path("kubeflow.org", "v1beta1", "profiles").is_none());
    }

    #[test]
    fn undefining_a_crd_stops_serving_its_type() {
        let mut reg = Registry::builtins();
        let c = crd(
            "gateway.networking.k8s.io",
            &["v1"],
            "Gateway",
            "gateways",
            true,
        );
        reg.define_crd(&c);

        reg.undefine_crd(&c);

        assert!(
            reg.by_kind("gateway.networking.k8s.io/v1", "Gateway")
                .is_none()
        );
        assert!(!reg.groups().contains_key("gateway.networking.k8s.io"));
    }
}
