//! The patch formats the apiserver accepts, applied to JSON documents.
//!
//! - JSON merge patch (RFC 7386): `application/merge-patch+json`.
//! - JSON patch (RFC 6902): `application/json-patch+json`.
//! - Strategic merge patch: `application/strategic-merge-patch+json`, merge semantics plus lists
//!   of objects merged by their Kubernetes merge key (`containers` by `name`, `volumeMounts` by
//!   `mountPath`, container `ports` by `containerPort`, …), `$patch: delete|replace`,
//!   `$deleteFromPrimitiveList/<field>` and `$retainKeys`; `$setElementOrder/<field>` is accepted
//!   and ignored (order is not observable through this twin's consumers).
//!
//! Pure functions over `serde_json::Value`; which patch type a resource accepts is the caller's
//! business.

use serde_json::{Map, Value};

/// A patch that cannot be decoded or applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// The body is not a patch of this type (HTTP 400).
    #[error("{0}")]
    Malformed(String),
    /// The patch is well formed but does not apply to the object (HTTP 422).
    #[error("{0}")]
    Inapplicable(String),
}

/// The content types of PATCH requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    /// RFC 7386.
    Merge,
    /// RFC 6902.
    Json,
    /// Kubernetes strategic merge.
    Strategic,
    /// Server-side apply (served approximately, see the module docs of `api`).
    Apply,
}

impl PatchType {
    /// The patch type of a `Content-Type` header value.
    pub fn from_content_type(ct: &str) -> Option<Self> {
        let mt = ct.split(';').next().unwrap_or("").trim();
        match mt {
            "application/merge-patch+json" => Some(Self::Merge),
            "application/json-patch+json" => Some(Self::Json),
            "application/strategic-merge-patch+json" => Some(Self::Strategic),
            "application/apply-patch+yaml" | "application/apply-patch+cbor" => Some(Self::Apply),
            _ => None,
        }
    }
}

/// Applies an RFC 7386 merge patch.
pub fn merge(doc: &mut Value, patch: &Value) {
    json_patch::merge(doc, patch);
}

/// Applies an RFC 6902 JSON patch given as its JSON body.
///
/// # Errors
/// `Malformed` if the body is not a list of operations, `Inapplicable` if an operation fails
/// (missing path, failed `test`).
pub fn json(doc: &mut Value, patch: &Value) -> Result<(), PatchError> {
    let ops: json_patch::Patch = serde_json::from_value(patch.clone())
        .map_err(|e| PatchError::Malformed(format!("invalid JSON patch: {e}")))?;
    json_patch::patch(doc, &ops).map_err(|e| PatchError::Inapplicable(e.to_string()))
}

/// The merge key of a list field, as the Kubernetes API types declare it (`patchMergeKey`).
/// `ports` depends on context: container ports merge by `containerPort`, service ports by `port`.
fn merge_key(field: &str, sample: &[Value]) -> Option<&'static str> {
    Some(match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "env"
        | "imagePullSecrets"
        | "readinessGates" => "name",
        "volumeMounts" => "mountPath",
        "volumeDevices" => "devicePath",
        "conditions" => "type",
        "ownerReferences" => "uid",
        "hostAliases" => "ip",
        "topologySpreadConstraints" => "topologyKey",
        "ports" => {
            if sample.iter().any(|e| e.get("containerPort").is_some()) {
                "containerPort"
            } else {
                "port"
            }
        }
        _ => return None,
    })
}

/// Lists of scalars that merge as sets (`patchStrategy: merge`) instead of being replaced.
fn merges_primitives(field: &str) -> bool {
    field == "finalizers"
}

/// Applies a strategic merge patch.
///
/// # Errors
/// `Malformed` if the patch is not an object or a list element lacks its merge key.
pub fn strategic(doc: &mut Value, patch: &Value) -> Result<(), PatchError> {
    let Value::Object(p) = patch else {
        return Err(PatchError::Malformed(
            "strategic merge patch must be a JSON object".into(),
        ));
    };
    if !doc.is_object() {
        *doc = Value::Object(Map::new());
    }
    if let Value::Object(d) = doc {
        merge_map(d, p)?;
    }
    Ok(())
}

/// Removes `$`-directives from a value that is inserted as-is.
fn clean(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !k.starts_with('$'))
                .map(|(k, v)| (k.clone(), clean(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(
            a.iter()
                .filter(|e| !is_directive_element(e))
                .map(clean)
                .collect(),
        ),
        other => other.clone(),
    }
}

fn is_directive_element(e: &Value) -> bool {
    e.as_object()
        .is_some_and(|m| m.len() == 1 && m.get("$patch").is_some())
}

fn merge_map(doc: &mut Map<String, Value>, patch: &Map<String, Value>) -> Result<(), PatchError> {
    match patch.get("$patch").and_then(Value::as_str) {
        Some("replace") => {
            *doc = match clean(&Value::Object(patch.clone())) {
                Value::Object(m) => m,
                _ => Map::new(),
            };
            return Ok(());
        }
        Some("delete") => {
            doc.clear();
            return Ok(());
        }
        Some("merge") | None => {}
        Some(other) => {
            return Err(PatchError::Malformed(format!(
                "unknown patch type: {other}"
            )));
        }
    }
    for (k, v) in patch {
        if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(list)), Value::Array(remove)) = (doc.get_mut(field), v) {
                list.retain(|e| !remove.contains(e));
            }
            continue;
        }
        if k.starts_with('$') {
            continue;
        }
        match v {
            Value::Null => {
                doc.remove(k);
            }
            Value::Object(pm) => {
                if pm.get("$patch").and_then(Value::as_str) == Some("delete") {
                    doc.remove(k);
                    continue;
                }
                match doc.get_mut(k) {
                    Some(Value::Object(dm)) => merge_map(dm, pm)?,
                    _ => {
                        doc.insert(k.clone(), clean(v));
                    }
                }
            }
            Value::Array(pa) => {
                let merged = match doc.get(k) {
                    Some(Value::Array(da)) => merge_list(k, da, pa)?,
                    _ => clean(v),
                };
                doc.insert(k.clone(), merged);
            }
            other => {
                doc.insert(k.clone(), other.clone());
            }
        }
    }
    if let Some(Value::Array(keep)) = patch.get("$retainKeys") {
        doc.retain(|k, _| keep.iter().any(|r| r.as_str() == Some(k)));
    }
    Ok(())
}

fn merge_list(field: &str, doc: &[Value], patch: &[Value]) -> Result<Value, PatchError> {
    if patch
        .iter()
        .any(|e| e.get("$patch").and_then(Value::as_str) == Some("replace"))
    {
        return Ok(clean(&Value::Array(patch.to_vec())));
    }
    if merges_primitives(field) {
        let mut out = doc.to_vec();
        for e in patch {
            if !out.contains(e) {
                out.push(e.clone());
            }
        }
        return Ok(Value::Array(out));
    }
    let Some(key) = merge_key(field, patch) else {
        return Ok(clean(&Value::Array(patch.to_vec())));
    };
    let mut out = doc.to_vec();
    for e in patch {
        let Value::Object(pm) = e else {
            return Err(PatchError::Malformed(format!(
                "{field}: list elements must be objects to merge by {key}"
            )));
        };
        let Some(id) = pm.get(key) else {
            return Err(PatchError::Malformed(format!(
                "map: {} does not contain declared merge key: {key}",
                Value::Object(pm.clone())
            )));
        };
        let pos = out.iter().position(|d| d.get(key) == Some(id));
        if pm.get("$patch").and_then(Value::as_str) == Some("delete") {
            if let Some(i) = pos {
                out.remove(i);
            }
            continue;
        }
        match pos {
            Some(i) => {
                if let Value::Object(dm) = &mut out[i] {
                    merge_map(dm, pm)?;
                }
            }
            None => out.push(clean(e)),
        }
    }
    Ok(Value::Array(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod() -> Value {
        json!({
            "metadata": {"name": "p", "labels": {"app": "x", "old": "y"}, "finalizers": ["a"]},
            "spec": {"containers": [
                {"name": "main", "image": "img:1", "env": [{"name": "A", "value": "1"}],
                 "ports": [{"containerPort": 80, "name": "http"}]},
                {"name": "istio-proxy", "image": "proxy:1"}
            ]}
        })
    }

    #[test]
    fn merge_patch_sets_and_removes_keys() {
        let mut doc = json!({"data": {"a": "1", "b": "2"}});

        merge(&mut doc, &json!({"data": {"a": null, "c": "3"}}));

        assert_eq!(doc, json!({"data": {"b": "2", "c": "3"}}));
    }

    #[test]
    fn json_patch_applies_operations_and_refuses_a_failed_test() {
        let mut doc = json!({"data": {"a": "1"}});

        json(
            &mut doc,
            &json!([{"op": "add", "path": "/data/b", "value": "2"}]),
        )
        .expect("applies");
        let failed = json(
            &mut doc,
            &json!([{"op": "test", "path": "/data/a", "value": "9"}]),
        );

        assert_eq!(doc, json!({"data": {"a": "1", "b": "2"}}));
        assert!(matches!(failed, Err(PatchError::Inapplicable(_))));
    }

    #[test]
    fn json_patch_body_that_is_not_a_list_is_malformed() {
        let mut doc = json!({});

        let r = json(&mut doc, &json!({"op": "add"}));

        assert!(matches!(r, Err(PatchError::Malformed(_))));
    }

    #[test]
    fn strategic_merge_merges_containers_by_name() {
        let mut doc = pod();

        strategic(
            &mut doc,
            &json!({"spec": {"containers": [{"name": "main", "image": "img:2"}]}}),
        )
        .expect("applies");

        let cs = doc["spec"]["containers"].as_array().expect("containers");
        assert_eq!(cs.len(), 2, "the sidecar is kept, not replaced");
        assert_eq!(cs[0]["image"], "img:2");
        assert_eq!(cs[0]["env"][0]["value"], "1", "untouched fields survive");
    }

    #[test]
    fn strategic_merge_deletes_a_list_element_with_patch_delete() {
        let mut doc = pod();

        strategic(
            &mut doc,
            &json!({"spec": {"containers": [{"name": "istio-proxy", "$patch": "delete"}]}}),
        )
        .expect("applies");

        let names: Vec<&str> = doc["spec"]["containers"]
            .as_array()
            .expect("containers")
            .iter()
            .filter_map(|c| c["name"].as_str())
            .collect();
        assert_eq!(names, ["main"]);
    }

    #[test]
    fn strategic_merge_merges_env_and_ports_by_their_keys() {
        let mut doc = pod();

        strategic(
            &mut doc,
            &json!({"spec": {"containers": [{"name": "main",
                "env": [{"name": "B", "value": "2"}, {"name": "A", "value": "9"}],
                "ports": [{"containerPort": 80, "protocol": "TCP"}]}]}}),
        )
        .expect("applies");

        let main = &doc["spec"]["containers"][0];
        assert_eq!(
            main["env"],
            json!([{"name": "A", "value": "9"}, {"name": "B", "value": "2"}])
        );
        assert_eq!(
            main["ports"],
            json!([{"containerPort": 80, "name": "http", "protocol": "TCP"}])
        );
    }

    #[test]
    fn strategic_merge_replaces_lists_without_merge_key_and_unions_finalizers() {
        let mut doc = json!({"metadata": {"finalizers": ["a"]}, "spec": {"args": ["x", "y"]}});

        strategic(
            &mut doc,
            &json!({"metadata": {"finalizers": ["b"]}, "spec": {"args": ["z"]}}),
        )
        .expect("applies");

        assert_eq!(doc["metadata"]["finalizers"], json!(["a", "b"]));
        assert_eq!(doc["spec"]["args"], json!(["z"]));
    }

    #[test]
    fn strategic_merge_null_removes_a_key_and_patch_replace_replaces_a_map() {
        let mut doc = pod();

        strategic(
            &mut doc,
            &json!({"metadata": {"labels": {"$patch": "replace", "new": "z"}, "finalizers": null}}),
        )
        .expect("applies");

        assert_eq!(doc["metadata"]["labels"], json!({"new": "z"}));
        assert!(doc["metadata"].get("finalizers").is_none());
    }

    #[test]
    fn strategic_merge_refuses_an_element_without_its_merge_key() {
        let mut doc = pod();

        let r = strategic(&mut doc, &json!({"spec": {"containers": [{"image": "x"}]}}));

        assert!(matches!(r, Err(PatchError::Malformed(_))));
    }

    #[test]
    fn strategic_merge_honours_delete_from_primitive_list_and_ignores_set_element_order() {
        let mut doc = json!({"metadata": {"finalizers": ["a", "b"]}});

        strategic(
            &mut doc,
            &json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"], "$setElementOrder/finalizers": ["b"]}}),
        )
        .expect("applies");

        assert_eq!(doc, json!({"metadata": {"finalizers": ["b"]}}));
    }

    #[test]
    fn patch_types_come_from_content_type() {
        assert_eq!(
            PatchType::from_content_type("application/merge-patch+json; charset=utf-8"),
            Some(PatchType::Merge)
        );
        assert_eq!(
            PatchType::from_content_type("application/strategic-merge-patch+json"),
            Some(PatchType::Strategic)
        );
        assert_eq!(PatchType::from_content_type("application/json"), None);
    }
}
