//! Discovery documents: `/version`, `/api`, `/api/v1`, `/apis`, `/apis/<group>` and
//! `/apis/<group>/<version>`, computed from the registry at each request so CRDs appear and
//! disappear as they are created and deleted.
//!
//! Only the legacy (unaggregated) documents are served, as `application/json`; kubectl 1.32 asks
//! for aggregated discovery first and falls back when the answer is plain JSON.

use serde_json::{Value, json};

use crate::kube::resources::{Registry, ResourceDef};

/// The Kubernetes version the twin claims.
pub(crate) fn version() -> Value {
    json!({
        "major": "1",
        "minor": "32",
        "gitVersion": "v1.32.4",
        "gitCommit": "59526cd4867447956156ae3a602fcbac5de2c566",
        "gitTreeState": "clean",
        "buildDate": "2025-04-22T16:02:27Z",
        "goVersion": "go1.23.6",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

/// `/api`.
pub(crate) fn core_versions() -> Value {
    json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []})
}

fn group_doc(group: &str, versions: &[String]) -> Value {
    let vs: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
        .collect();
    json!({
        "name": group,
        "versions": vs,
        "preferredVersion": vs.first().cloned().unwrap_or(Value::Null),
    })
}

/// `/apis`.
pub(crate) fn groups(reg: &Registry) -> Value {
    let groups: Vec<Value> = reg
        .groups()
        .iter()
        .map(|(g, vs)| group_doc(g, vs))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/<group>`, or `None` if no type of the group is served.
pub(crate) fn group(reg: &Registry, group: &str) -> Option<Value> {
    let groups = reg.groups();
    let vs = groups.get(group)?;
    let mut doc = group_doc(group, vs);
    doc["kind"] = json!("APIGroup");
    doc["apiVersion"] = json!("v1");
    Some(doc)
}

const VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

fn resource_entries(d: &ResourceDef) -> Vec<Value> {
    let mut main = json!({
        "name": d.plural,
        "singularName": d.singular,
        "namespaced": d.namespaced,
        "kind": d.kind.as_ref(),
        "verbs": VERBS,
    });
    if !d.short_names.is_empty() {
        main["shortNames"] = json!(d.short_names);
    }
    if !d.categories.is_empty() {
        main["categories"] = json!(d.categories);
    }
    let mut out = vec![main];
    if d.has_status {
        out.push(json!({
            "name": format!("{}/status", d.plural),
            "singularName": "",
            "namespaced": d.namespaced,
            "kind": d.kind.as_ref(),
            "verbs": ["get", "patch", "update"],
        }));
    }
    out
}

/// `/api/v1` or `/apis/<group>/<version>`, or `None` if nothing is served there.
pub(crate) fn resources(reg: &Registry, group: &str, version: &str) -> Option<Value> {
    let mut resources: Vec<Value> = reg
        .all()
        .filter(|d| d.group == group && d.serves(version))
        .flat_map(|d| resource_entries(d))
        .collect();
    if resources.is_empty() {
        return None;
    }
    resources.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": gv,
        "resources": resources,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::resources::crd;

    #[test]
    fn core_v1_lists_pods_with_status_subresource_and_short_name() {
        let reg = Registry::builtins();

        let doc = resources(&reg, "", "v1").expect("served");

        let pods = doc["resources"]
            .as_array()
            .expect("resources")
            .iter()
            .find(|r| r["name"] == "pods")
            .expect("pods listed");
        assert_eq!(pods["shortNames"], json!(["po"]));
        assert_eq!(pods["namespaced"], true);
        assert!(
            doc["resources"]
                .as_array()
                .expect("resources")
                .iter()
                .any(|r| r["name"] == "pods/status")
        );
    }

    #[test]
    fn crd_groups_appear_with_preferred_version_first() {
        let mut reg = Registry::builtins();
        reg.define_crd(&crd(
            "security.istio.io",
            &["v1beta1", "v1"],
            "AuthorizationPolicy",
            "authorizationpolicies",
            true,
        ));

        let doc = group(&reg, "security.istio.io").expect("served");

        assert_eq!(doc["preferredVersion"]["version"], "v1");
        assert!(
            groups(&reg)["groups"]
                .as_array()
                .expect("groups")
                .iter()
                .any(|g| g["name"] == "security.istio.io")
        );
        assert!(resources(&reg, "security.istio.io", "v1alpha1").is_none());
    }
}
