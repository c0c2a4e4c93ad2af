//! What the apiserver checks and fills in on every write, per resource type.
//!
//! Validation refuses what a real apiserver refuses with 422 (names, workload selectors, CRD
//! specs); defaulting fills what a real apiserver fills (a Deployment's strategy, a Pod's restart
//! policy, a Namespace's `kubernetes.io/metadata.name` label) so that clients such as
//! `kubectl rollout status` find the fields they check. Pure functions over JSON; the store calls
//! them and owns allocation of addresses and names.

use serde_json::{Map, Value, json};

use crate::kube::error::ApiError;
use crate::kube::resources::ResourceDef;
use crate::kube::selector::{LabelSelector, valid_label_key, valid_label_value};

/// DNS-1123 subdomain: lowercase alphanumerics, `-` and `.`, at most 253, alphanumeric ends.
pub(crate) fn is_dns_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(is_dns_label_chars)
}

fn is_dns_label_chars(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// DNS-1123 label: a subdomain without dots, at most 63.
pub(crate) fn is_dns_label(s: &str) -> bool {
    is_dns_label_chars(s)
}

/// Refuses an object a real apiserver would refuse with 422.
///
/// # Errors
/// `Invalid` naming the first offending field.
pub(crate) fn validate(def: &ResourceDef, obj: &Value) -> Result<(), ApiError> {
    let kind = def.kind.as_ref();
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    if name.is_empty() {
        return Err(ApiError::required(
            kind,
            &def.group,
            name,
            "metadata.name",
            "name or generateName is required",
        ));
    }
    let label_names = matches!(def.plural.as_str(), "namespaces" | "services");
    if label_names && !is_dns_label(name) {
        return Err(ApiError::invalid_value(
            kind,
            &def.group,
            name,
            "metadata.name",
            name,
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
        ));
    }
    if !label_names && !is_dns_subdomain(name) {
        return Err(ApiError::invalid_value(
            kind,
            &def.group,
            name,
            "metadata.name",
            name,
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
        ));
    }
    if let Some(labels) = obj.pointer("/metadata/labels") {
        let Some(labels) = labels.as_object() else {
            return Err(ApiError::invalid_value(
                kind,
                &def.group,
                name,
                "metadata.labels",
                &labels.to_string(),
                "must be a map of strings",
            ));
        };
        for (k, v) in labels {
            let v_str = v.as_str().unwrap_or_default();
            if !valid_label_key(k) {
                return Err(ApiError::invalid_value(
                    kind,
                    &def.group,
                    name,
                    "metadata.labels",
                    k,
                    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
                ));
            }
            if !v.is_string() || !valid_label_value(v_str) {
                return Err(ApiError::invalid_value(
                    kind,
                    &def.group,
                    name,
                    &format!("metadata.labels.{k}"),
                    &v.to_string(),
                    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
                ));
            }
        }
    }
    match (def.group.as_str(), def.plural.as_str()) {
        ("apps", "deployments" | "replicasets" | "statefulsets" | "daemonsets") => {
            validate_workload(def, obj, name)
        }
        ("", "pods") => {
            let containers = obj.pointer("/spec/containers").and_then(Value::as_array);
            if containers.is_none_or(|c| c.is_empty()) {
                return Err(ApiError::required(
                    kind,
                    &def.group,
                    name,
                    "spec.containers",
                    "",
                ));
            }
            Ok(())
        }
        ("apiextensions.k8s.io", "customresourcedefinitions") => validate_crd(def, obj, name),
        _ => Ok(()),
    }
}

fn validate_workload(def: &ResourceDef, obj: &Value, name: &str) -> Result<(), ApiError> {
    let kind = def.kind.as_ref();
    let Some(selector) = obj.pointer("/spec/selector") else {
        return Err(ApiError::required(
            kind,
            &def.group,
            name,
            "spec.selector",
            "",
        ));
    };
    let sel = LabelSelector::from_object(selector).map_err(|e| {
        ApiError::invalid_value(
            kind,
            &def.group,
            name,
            "spec.selector",
            &selector.to_string(),
            &e.0,
        )
    })?;
    if sel.is_empty() {
        return Err(ApiError::invalid_value(
            kind,
            &def.group,
            name,
            "spec.selector",
            &selector.to_string(),
            "empty selector is invalid for deployment",
        ));
    }
    let labels = labels_of(obj.pointer("/spec/template/metadata/labels"));
    if !sel.matches(&labels) {
        return Err(ApiError::invalid_value(
            kind,
            &def.group,
            name,
            "spec.template.metadata.labels",
            &obj.pointer("/spec/template/metadata/labels")
                .cloned()
                .unwrap_or(Value::Null)
                .to_string(),
            "`selector` does not match template `labels`",
        ));
    }
    let containers = obj
        .pointer("/spec/template/spec/containers")
        .and_then(Value::as_array);
    if containers.is_none_or(|c| c.is_empty()) {
        return Err(ApiError::required(
            kind,
            &def.group,
            name,
            "spec.template.spec.containers",
            "",
        ));
    }
    Ok(())
}

fn validate_crd(def: &ResourceDef, obj: &Value, name: &str) -> Result<(), ApiError> {
    let kind = def.kind.as_ref();
    let spec = obj.get("spec").cloned().unwrap_or(Value::Null);
    let group = spec.get("group").and_then(Value::as_str).unwrap_or("");
    let plural = spec
        .pointer("/names/plural")
        .and_then(Value::as_str)
        .unwrap_or("");
    let crd_kind = spec
        .pointer("/names/kind")
        .and_then(Value::as_str)
        .unwrap_or("");
    for (field, v) in [
        ("spec.group", group),
        ("spec.names.plural", plural),
        ("spec.names.kind", crd_kind),
    ] {
        if v.is_empty() {
            return Err(ApiError::required(kind, &def.group, name, field, ""));
        }
    }
    let expected = format!("{plural}.{group}");
    if name != expected {
        return Err(ApiError::invalid_value(
            kind,
            &def.group,
            name,
            "metadata.name",
            name,
            &format!("must be spec.names.plural+\".\"+spec.group ({expected})"),
        ));
    }
    let served = spec
        .get("versions")
        .and_then(Value::as_array)
        .is_some_and(|vs| {
            vs.iter().any(|v| {
                v.get("name").and_then(Value::as_str).is_some()
                    && v.get("served").and_then(Value::as_bool) != Some(false)
            })
        });
    if !served {
        return Err(ApiError::required(
            kind,
            &def.group,
            name,
            "spec.versions",
            "must have at least one served version",
        ));
    }
    match spec.get("scope").and_then(Value::as_str) {
        Some("Namespaced" | "Cluster") => Ok(()),
        other => Err(ApiError::invalid_value(
            kind,
            &def.group,
            name,
            "spec.scope",
            other.unwrap_or(""),
            "supported values: \"Cluster\", \"Namespaced\"",
        )),
    }
}

/// Labels of a `metadata.labels` value as an ordered map of strings.
pub(crate) fn labels_of(v: Option<&Value>) -> std::collections::BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

fn obj_mut<'a>(v: &'a mut Value, key: &str) -> &'a mut Map<String, Value> {
    if !v.get(key).is_some_and(Value::is_object) {
        v[key] = json!({});
    }
    v[key]
        .as_object_mut()
        .expect("just ensured the key holds an object")
}

fn default_field(m: &mut Map<String, Value>, key: &str, value: Value) {
    if m.get(key).is_none_or(Value::is_null) {
        m.insert(key.to_string(), value);
    }
}

/// Fills the defaults a real apiserver fills, on create and on update.
pub(crate) fn apply_defaults(def: &ResourceDef, obj: &mut Value) {
    match (def.group.as_str(), def.plural.as_str()) {
        ("", "namespaces") => {
            let name = obj
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let meta = obj_mut(obj, "metadata");
            let labels = meta.entry("labels").or_insert_with(|| json!({}));
            if let Some(l) = labels.as_object_mut() {
                l.insert("kubernetes.io/metadata.name".into(), json!(name));
            }
            let spec = obj_mut(obj, "spec");
            default_field(spec, "finalizers", json!(["kubernetes"]));
            let status = obj_mut(obj, "status");
            default_field(status, "phase", json!("Active"));
        }
        ("", "pods") => {
            let spec = obj_mut(obj, "spec");
            pod_spec_defaults(spec);
        }
        ("", "services") => {
            let spec = obj_mut(obj, "spec");
            default_field(spec, "type", json!("ClusterIP"));
            default_field(spec, "sessionAffinity", json!("None"));
            if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
                for p in ports.iter_mut().filter_map(Value::as_object_mut) {
                    default_field(p, "protocol", json!("TCP"));
                    if let Some(port) = p.get("port").cloned() {
                        default_field(p, "targetPort", port);
                    }
                }
            }
        }
        ("apps", "deployments") => {
            let spec = obj_mut(obj, "spec");
            default_field(spec, "replicas", json!(1));
            default_field(spec, "revisionHistoryLimit", json!(10));
            default_field(spec, "progressDeadlineSeconds", json!(600));
            default_field(
                spec,
                "strategy",
                json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}),
            );
            template_defaults(spec);
        }
        ("apps", "replicasets") => {
            let spec = obj_mut(obj, "spec");
            default_field(spec, "replicas", json!(1));
            template_defaults(spec);
        }
        ("apps", "statefulsets") => {
            let spec = obj_mut(obj, "spec");
            default_field(spec, "replicas", json!(1));
            default_field(spec, "podManagementPolicy", json!("OrderedReady"));
            default_field(spec, "revisionHistoryLimit", json!(10));
            default_field(
                spec,
                "updateStrategy",
                json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}),
            );
            template_defaults(spec);
        }
        ("apps", "daemonsets") => {
            let spec = obj_mut(obj, "spec");
            default_field(spec, "revisionHistoryLimit", json!(10));
            default_field(
                spec,
                "updateStrategy",
                json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}),
            );
            template_defaults(spec);
        }
        _ => {}
    }
}

fn template_defaults(spec: &mut Map<String, Value>) {
    if let Some(tspec) = spec
        .get_mut("template")
        .and_then(|t| t.get_mut("spec"))
        .and_then(Value::as_object_mut)
    {
        pod_spec_defaults(tspec);
    }
}

fn pod_spec_defaults(spec: &mut Map<String, Value>) {
    default_field(spec, "restartPolicy", json!("Always"));
    default_field(spec, "dnsPolicy", json!("ClusterFirst"));
    default_field(spec, "schedulerName", json!("default-scheduler"));
    default_field(spec, "terminationGracePeriodSeconds", json!(30));
    default_field(spec, "securityContext", json!({}));
    let sa = spec
        .get("serviceAccountName")
        .and_then(Value::as_str)
        .or_else(|| spec.get("serviceAccount").and_then(Value::as_str))
        .unwrap_or("default")
        .to_string();
    default_field(spec, "serviceAccountName", json!(sa));
    for list in ["containers", "initContainers"] {
        if let Some(cs) = spec.get_mut(list).and_then(Value::as_array_mut) {
            for c in cs.iter_mut().filter_map(Value::as_object_mut) {
                default_field(c, "terminationMessagePath", json!("/dev/termination-log"));
                default_field(c, "terminationMessagePolicy", json!("File"));
                let policy = if c
                    .get("image")
                    .and_then(Value::as_str)
                    .is_some_and(|i| i.ends_with(":latest") || !i.contains(':'))
                {
                    "Always"
                } else {
                    "IfNotPresent"
                };
                default_field(c, "imagePullPolicy", json!(policy));
                default_field(c, "resources", json!({}));
                if let Some(ports) = c.get_mut("ports").and_then(Value::as_array_mut) {
                    for p in ports.iter_mut().filter_map(Value::as_object_mut) {
                        default_field(p, "protocol", json!("TCP"));
                    }
                }
            }
        }
    }
}

/// CRD status as the apiextensions controller sets it once names are accepted.
pub(crate) fn crd_status(obj: &Value, now: &str) -> Value {
    let names = obj
        .pointer("/spec/names")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let stored: Vec<Value> = obj
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .filter_map(|v| v.get("name").cloned())
        .collect();
    json!({
        "acceptedNames": names,
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
             "message": "no conflicts found", "lastTransitionTime": now},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
             "message": "the initial names have been accepted", "lastTransitionTime": now},
        ],
        "storedVersions": stored,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::resources::Registry;

    fn def(api_version: &str, kind: &str) -> ResourceDef {
        (**Registry::builtins()
            .by_kind(api_version, kind)
            .expect("built-in type"))
        .clone()
    }

    #[test]
    fn a_deployment_whose_selector_misses_its_template_is_invalid() {
        let d = json!({"metadata": {"name": "d"}, "spec": {
            "selector": {"matchLabels": {"app": "a"}},
            "template": {"metadata": {"labels": {"app": "b"}}, "spec": {"containers": [{"name": "c"}]}}}});

        let err = validate(&def("apps/v1", "Deployment"), &d).expect_err("refused");

        assert!(err.is_invalid());
        assert_eq!(err.details.causes[0].field, "spec.template.metadata.labels");
    }

    #[test]
    fn uppercase_names_are_invalid() {
        let cm = json!({"metadata": {"name": "Foo"}});

        let err = validate(&def("v1", "ConfigMap"), &cm).expect_err("refused");

        assert!(
            err.message
                .starts_with("ConfigMap \"Foo\" is invalid: metadata.name")
        );
    }

    #[test]
    fn deployment_defaults_include_a_rolling_update_strategy() {
        let mut d = json!({"metadata": {"name": "d"}, "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "x:1"}]}}}});

        apply_defaults(&def("apps/v1", "Deployment"), &mut d);

        assert_eq!(d["spec"]["strategy"]["type"], "RollingUpdate");
        assert_eq!(d["spec"]["replicas"], 1);
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"],
            "IfNotPresent"
        );
    }

    #[test]
    fn namespaces_get_their_name_label_and_active_phase() {
        let mut ns = json!({"metadata": {"name": "admin"}});

        apply_defaults(&def("v1", "Namespace"), &mut ns);

        assert_eq!(
            ns["metadata"]["labels"]["kubernetes.io/metadata.name"],
            "admin"
        );
        assert_eq!(ns["status"]["phase"], "Active");
    }
}
