//! KServe: raw deployment as the default, no Serverless InferenceService, the allow-all policies
//! of the controllers (ckf-ambient.md §5 checks 23–25).

use super::{Check, Ctx, Judged, counted, fail, listed, need, pass, read, warn};

/// KServe defaults to RawDeployment and serves through the Gateway API ingress.
pub(crate) const KSERVE_RAW_DEPLOYMENT: Check = Check {
    name: "kserve-raw-deployment",
    group: "kserve",
    judge: kserve_raw_deployment,
};

fn kserve_raw_deployment(c: &Ctx) -> Judged {
    let ns = c.ns();
    let config = need!(read(&c.snap.cluster.config_maps)).get("inferenceservice-config");
    let present = need!(c.has_charm("kserve-controller"));
    let Some(data) = config else {
        if !present {
            // KServe is not part of this deployment.
            return None;
        }
        return fail(format!(
            "ConfigMap {ns}/inferenceservice-config does not exist although kserve-controller is deployed: see `juju debug-log --include kserve-controller`"
        ));
    };
    let json = |key: &str| -> Result<serde_json::Value, String> {
        let text = data.get(key).ok_or_else(|| format!("has no key {key:?}"))?;
        serde_json::from_str(text).map_err(|e| format!("key {key:?} is not JSON ({e})"))
    };
    let mut wrong = Vec::new();
    match json("deploy") {
        Ok(deploy) => {
            let mode = deploy
                .get("defaultDeploymentMode")
                .and_then(|v| v.as_str())
                .unwrap_or("");
            if mode != "RawDeployment" {
                wrong.push(format!(
                    "deploy.defaultDeploymentMode is {mode:?}, not \"RawDeployment\""
                ));
            }
        }
        Err(e) => wrong.push(e),
    }
    let gateway = format!("{ns}/{}", c.ingress_app());
    match json("ingress") {
        Ok(ingress) => {
            if ingress.get("enableGatewayApi").and_then(|v| v.as_bool()) != Some(true) {
                wrong.push("ingress.enableGatewayApi is not true".to_string());
            }
            let current = ingress
                .get("kserveIngressGateway")
                .and_then(|v| v.as_str())
                .unwrap_or("");
            if current != gateway {
                wrong.push(format!(
                    "ingress.kserveIngressGateway is {current:?}, not {gateway:?}"
                ));
            }
        }
        Err(e) => wrong.push(e),
    }
    if wrong.is_empty() {
        return pass();
    }
    fail(format!(
        "ConfigMap {ns}/inferenceservice-config: {}: set `juju config kserve-controller deployment-mode=rawdeployment` and relate kserve-controller:gateway-metadata to {}",
        wrong.join("; "),
        c.ingress_app()
    ))
}

/// No InferenceService is served by Knative.
pub(crate) const NO_SERVERLESS_INFERENCESERVICES: Check = Check {
    name: "no-serverless-inferenceservices",
    group: "kserve",
    judge: no_serverless_inferenceservices,
};

fn no_serverless_inferenceservices(c: &Ctx) -> Judged {
    let serverless: Vec<String> = need!(read(&c.snap.cluster.inference_services))
        .iter()
        .filter(|i| i.is_serverless())
        .map(|i| {
            format!(
                "{}/{} (Ready={})",
                i.namespace,
                i.name,
                i.ready.as_deref().unwrap_or("unknown")
            )
        })
        .collect();
    if serverless.is_empty() {
        return pass();
    }
    fail(format!(
        "{} still Serverless, which needs the removed Knative: {}: export each, delete it and create it again (annotation serving.kserve.io/deploymentMode: RawDeployment, or rely on the new default)",
        counted(
            serverless.len(),
            "InferenceService is",
            "InferenceServices are"
        ),
        listed(&serverless)
    ))
}

/// The controllers' allow-all AuthorizationPolicies exist for the applications that have them.
pub(crate) const ALLOW_ALL_POLICIES: Check = Check {
    name: "allow-all-policies",
    group: "kserve",
    judge: allow_all_policies,
};

fn allow_all_policies(c: &Ctx) -> Judged {
    let ns = c.ns();
    let status = need!(c.status());
    let policies = need!(read(&c.snap.cluster.authorization_policies));
    let missing_for = |charm: &str| -> Option<String> {
        let app = status.applications.values().find(|a| a.charm == charm)?;
        let name = format!("{}-allow-all", app.name);
        (!policies.iter().any(|p| p.namespace == ns && p.name == name))
            .then(|| format!("{ns}/{name}"))
    };
    if let Some(missing) = missing_for("kserve-controller") {
        return fail(format!(
            "AuthorizationPolicy {missing} does not exist: KServe's webhooks and controller are unreachable through the mesh; check kserve-controller's service-mesh and gateway-metadata relations"
        ));
    }
    // ckf-ambient.md §2.3 says these charms create the same policy; whether each uses the shared
    // helper is not confirmed, hence only a warning.
    let others: Vec<String> = [
        "kfp-profile-controller",
        "pvcviewer-operator",
        "training-operator",
    ]
    .into_iter()
    .filter_map(missing_for)
    .collect();
    if others.is_empty() {
        return pass();
    }
    let verb = if others.len() == 1 {
        "does not exist"
    } else {
        "do not exist"
    };
    warn(format!(
        "AuthorizationPolicy {} {verb}: check those applications' service-mesh relations",
        listed(&others)
    ))
}

#[cfg(test)]
mod tests {
    use crate::cluster::InferenceServiceInfo;
    use crate::verify::Verdict;
    use crate::verify::fixtures::Fixture;

    #[test]
    fn serverless_default_fails() {
        let fx = Fixture::migrated().cluster(|k| {
            let cm = k.config_maps.as_mut().expect("listed");
            cm.get_mut("inferenceservice-config")
                .expect("present")
                .insert(
                    "deploy".into(),
                    r#"{"defaultDeploymentMode": "Serverless"}"#.into(),
                );
        });

        fx.assert_fails(
            &fx.verdict("kserve-raw-deployment"),
            &[
                "ConfigMap kubeflow/inferenceservice-config",
                "\"Serverless\", not \"RawDeployment\"",
            ],
        );
    }

    #[test]
    fn kserve_checks_do_not_apply_without_kserve() {
        let fx = Fixture::migrated()
            .without_app("kserve-controller")
            .cluster(|k| {
                k.config_maps
                    .as_mut()
                    .expect("listed")
                    .remove("inferenceservice-config");
            });

        assert_eq!(fx.verdict("kserve-raw-deployment"), None);
    }

    #[test]
    fn serverless_inference_service_fails_naming_it() {
        let fx = Fixture::migrated().cluster(|k| {
            k.inference_services
                .as_mut()
                .expect("listed")
                .push(InferenceServiceInfo {
                    namespace: "bob".into(),
                    name: "flowers".into(),
                    mode: Some("Serverless".into()),
                    ready: Some("False".into()),
                });
        });

        fx.assert_fails(
            &fx.verdict("no-serverless-inferenceservices"),
            &[
                "1 InferenceService is still Serverless",
                "bob/flowers (Ready=False)",
            ],
        );
    }

    #[test]
    fn missing_kserve_allow_all_fails() {
        let fx = Fixture::migrated().cluster(|k| {
            k.authorization_policies
                .as_mut()
                .expect("listed")
                .retain(|p| p.name != "kserve-controller-allow-all");
        });

        fx.assert_fails(
            &fx.verdict("allow-all-policies"),
            &["kubeflow/kserve-controller-allow-all"],
        );
    }

    #[test]
    fn missing_training_operator_allow_all_warns() {
        let fx = Fixture::migrated().cluster(|k| {
            k.authorization_policies
                .as_mut()
                .expect("listed")
                .retain(|p| p.name != "training-operator-allow-all");
        });

        fx.assert_warns(
            &fx.verdict("allow-all-policies"),
            &["kubeflow/training-operator-allow-all"],
        );
    }

    #[test]
    fn allow_all_of_an_absent_application_is_not_expected() {
        let fx = Fixture::migrated()
            .without_app("training-operator")
            .cluster(|k| {
                k.authorization_policies
                    .as_mut()
                    .expect("listed")
                    .retain(|p| p.name != "training-operator-allow-all");
            });

        assert_eq!(fx.verdict("allow-all-policies"), Some(Verdict::Pass));
    }
}
