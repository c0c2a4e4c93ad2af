//! A kubeconfig file for the twin's API server, as kubectl and kube-rs read it.

use base64::Engine;
use serde_json::json;

/// A kubeconfig (YAML) with one cluster, user and context, all named `ckf-sim`: the server URL,
/// the CA certificate (PEM, embedded base64 as `certificate-authority-data`), a bearer token and
/// the context's default namespace.
pub fn kubeconfig(server_url: &str, ca_pem: &str, token: &str, namespace: &str) -> String {
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem.as_bytes());
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "ckf-sim", "cluster": {"server": server_url, "certificate-authority-data": ca}}],
        "users": [{"name": "ckf-sim", "user": {"token": token}}],
        "contexts": [{"name": "ckf-sim", "context": {"cluster": "ckf-sim", "user": "ckf-sim", "namespace": namespace}}],
        "current-context": "ckf-sim",
        "preferences": {},
    });
    serde_yaml::to_string(&config).expect("a JSON value always serialises to YAML")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubeconfig_embeds_the_ca_and_selects_the_context() {
        let text = kubeconfig(
            "https://127.0.0.1:6443",
            "-----BEGIN CERTIFICATE-----\nX\n",
            "tok",
            "kubeflow",
        );

        let v: serde_yaml::Value = serde_yaml::from_str(&text).expect("valid YAML");
        assert_eq!(v["current-context"], "ckf-sim");
        assert_eq!(
            v["clusters"][0]["cluster"]["server"],
            "https://127.0.0.1:6443"
        );
        let ca = v["clusters"][0]["cluster"]["certificate-authority-data"]
            .as_str()
            .expect("ca data");
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(ca)
            .expect("base64");
        assert!(decoded.starts_with(b"-----BEGIN CERTIFICATE-----"));
        assert_eq!(v["contexts"][0]["context"]["namespace"], "kubeflow");
        assert_eq!(v["users"][0]["user"]["token"], "tok");
    }
}
