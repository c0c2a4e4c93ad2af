//! What happens to a pod when it is created: Istio's sidecar injection and ambient enrolment.
//!
//! Decided from the cluster itself, as in a real cluster: a MutatingWebhookConfiguration with the
//! `sidecar-injector.istio.io` webhook means an injector runs (istio-pilot's, or the one istio-k8s
//! still renders), and it injects into namespaces labelled `istio-injection=enabled`. An
//! `istio-cni-node` DaemonSet means ambient pods get the redirection annotation.

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// What the cluster offers at the moment a pod is created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mesh {
    /// A sidecar injector webhook is configured.
    pub injector: bool,
    /// istio-cni runs (ambient enrolment possible).
    pub ambient_cni: bool,
}

/// Mutates a pod as Istio would, given its namespace's labels.
pub fn admit(pod: &mut Value, namespace_labels: &BTreeMap<String, String>, mesh: Mesh) {
    let pod_label = |key: &str| {
        pod["metadata"]["labels"]
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let opted_out = pod["metadata"]["annotations"]
        .get("sidecar.istio.io/inject")
        .and_then(Value::as_str)
        == Some("false");
    let injected_namespace =
        namespace_labels.get("istio-injection").map(String::as_str) == Some("enabled");
    if mesh.injector && injected_namespace && !opted_out {
        inject_sidecar(pod);
        return;
    }
    let ambient = namespace_labels
        .get("istio.io/dataplane-mode")
        .map(String::as_str)
        == Some("ambient")
        || pod_label("istio.io/dataplane-mode").as_deref() == Some("ambient");
    if mesh.ambient_cni && ambient {
        annotate(pod, "ambient.istio.io/redirection", "enabled");
    }
}

fn annotate(pod: &mut Value, key: &str, value: &str) {
    let metadata = &mut pod["metadata"];
    if !metadata["annotations"].is_object() {
        metadata["annotations"] = json!({});
    }
    metadata["annotations"][key] = json!(value);
}

/// Istio ≥ 1.27 injects the proxy as a native sidecar: an init container with
/// `restartPolicy: Always`, after `istio-init` (ckf-ambient.md §3.3).
fn inject_sidecar(pod: &mut Value) {
    let spec = &mut pod["spec"];
    if !spec["initContainers"].is_array() {
        spec["initContainers"] = json!([]);
    }
    if let Some(inits) = spec["initContainers"].as_array_mut() {
        inits.push(json!({ "name": "istio-init", "image": "sim/proxyv2:1.28" }));
        inits.push(json!({ "name": "istio-proxy", "image": "sim/proxyv2:1.28", "restartPolicy": "Always" }));
    }
    annotate(
        pod,
        "sidecar.istio.io/status",
        r#"{"initContainers":["istio-init","istio-proxy"],"containers":null,"volumes":["istio-envoy","istio-data","istio-podinfo","istio-token","istiod-ca-cert"],"revision":"default"}"#,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod() -> Value {
        json!({ "metadata": { "name": "p", "labels": {} }, "spec": { "containers": [{ "name": "main" }] } })
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn injected_namespaces_get_a_native_sidecar_while_an_injector_runs() {
        let mut p = pod();
        admit(
            &mut p,
            &labels(&[("istio-injection", "enabled")]),
            Mesh {
                injector: true,
                ambient_cni: false,
            },
        );
        assert_eq!(p["spec"]["initContainers"][1]["name"], "istio-proxy");
        assert!(p["metadata"]["annotations"]["sidecar.istio.io/status"].is_string());
    }

    #[test]
    fn without_an_injector_pods_come_up_clean() {
        let mut p = pod();
        admit(
            &mut p,
            &labels(&[("istio-injection", "enabled")]),
            Mesh::default(),
        );
        assert!(p["spec"].get("initContainers").is_none());
    }

    #[test]
    fn ambient_namespaces_get_the_redirection_annotation() {
        let mut p = pod();
        admit(
            &mut p,
            &labels(&[
                ("istio-injection", "disabled"),
                ("istio.io/dataplane-mode", "ambient"),
            ]),
            Mesh {
                injector: true,
                ambient_cni: true,
            },
        );
        assert_eq!(
            p["metadata"]["annotations"]["ambient.istio.io/redirection"],
            "enabled"
        );
        assert!(p["spec"].get("initContainers").is_none());
    }
}
