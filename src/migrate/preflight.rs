//! Checks before the first change. Read-only. Every failure is one sentence that says what is
//! wrong and what to do; all failures are reported together, so one run tells the whole story.

use std::collections::BTreeMap;

use crate::advice::{self, FrontEnd};
use crate::juju::ModelStatus;
use crate::plan::{self, Channel, FactKind, Lookup, Plan, Platform};
use crate::session::Session;

use super::{LEASE_NAME, Options};

/// What preflight found.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Findings {
    /// Reasons not to proceed.
    pub failures: Vec<String>,
    /// Things worth telling that do not stop the run.
    pub notes: Vec<String>,
    /// The platform, detected or confirmed (`None` if it could not be decided).
    pub platform: Option<Platform>,
}

/// What the nodes say about the substrate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Substrate {
    /// A node carries `microk8s.io/cluster=true`.
    pub microk8s: bool,
    /// A node carries `k8sd.io/role`, or `kube-system/cilium-config` exists.
    pub canonical_k8s: bool,
}

impl Substrate {
    pub(crate) fn from_nodes(
        nodes: &[(String, BTreeMap<String, String>)],
        cilium_config: bool,
    ) -> Self {
        Substrate {
            microk8s: nodes
                .iter()
                .any(|(_, l)| l.get("microk8s.io/cluster").map(String::as_str) == Some("true")),
            canonical_k8s: cilium_config
                || nodes.iter().any(|(_, l)| l.contains_key("k8sd.io/role")),
        }
    }
}

/// Decides the platform: `auto` from the nodes; an explicit choice must not contradict them.
pub(crate) fn decide_platform(
    asked: Platform,
    seen: Substrate,
    front_end: &FrontEnd,
) -> Result<Platform, String> {
    let pass = |value: &str| front_end.param(advice::param("platform", value));
    let detected = match (seen.microk8s, seen.canonical_k8s) {
        (true, _) => Some(Platform::Microk8s),
        (false, true) => Some(Platform::CanonicalK8s),
        (false, false) => None,
    };
    match (asked, detected) {
        (Platform::Auto, Some(platform)) => Ok(platform),
        (Platform::Auto, None) => Err(format!(
            "the nodes show neither MicroK8s (label microk8s.io/cluster=true) nor Canonical Kubernetes (label k8sd.io/role, ConfigMap kube-system/cilium-config): pass {}",
            pass("<k3s|k3d|gke|minikube|none|microk8s|canonical-k8s>")
        )),
        (asked, Some(detected)) if asked != detected => Err(format!(
            "{} contradicts the nodes, which show {}: pass {} or {}",
            pass(asked.as_str()),
            if detected == Platform::Microk8s {
                "MicroK8s"
            } else {
                "Canonical Kubernetes"
            },
            pass(detected.as_str()),
            pass("auto")
        )),
        (asked, _) => Ok(asked),
    }
}

/// The channel each role should end on, from the plan's refresh and deploy facts.
fn target_channels(plan: &Plan) -> BTreeMap<&str, &Channel> {
    plan.phases
        .iter()
        .flat_map(|p| &p.facts)
        .filter_map(|f| match &f.kind {
            FactKind::Refreshed { role, channel, .. }
            | FactKind::Deployed { role, channel, .. } => Some((role.as_str(), channel)),
            _ => None,
        })
        .collect()
}

/// Applications off the CKF 1.11 channels: neither on the 1.11 bundle's track nor on the plan's
/// target channel.
pub(crate) fn off_channel(plan: &Plan, status: &ModelStatus) -> Vec<String> {
    let observed = crate::observed::from_status(status);
    let targets = target_channels(plan);
    plan.roles
        .values()
        .filter_map(|role| {
            let track = role.ckf_track.as_deref()?;
            let Lookup::Found(app) = plan::lookup(plan, &observed, &role.name) else {
                return None;
            };
            let channel = app.channel.parse::<Channel>().ok();
            let on_track = channel.as_ref().is_some_and(|c| c.track() == Some(track));
            let on_target = channel
                .as_ref()
                .is_some_and(|c| targets.get(role.name.as_str()) == Some(&c));
            (!on_track && !on_target).then(|| {
                format!(
                    "{} on {} (CKF 1.11 has {track}/stable)",
                    app.name, app.channel
                )
            })
        })
        .collect()
}

/// Applications the plan refreshes whose target channel's charm does not support the base they
/// run on: failures (nothing may change); and notes for refreshes that could not be checked.
///
/// Juju would resolve such a refresh to another base and move the application there; the Go
/// CLI refuses it unless `--force-series` (`cmd/juju/application/refresher/refresher.go` at
/// v3.6.11), and so does the engine, here before the first change rather than halfway through.
async fn unsupported_bases(
    session: &Session,
    plan: &Plan,
    status: &ModelStatus,
) -> (Vec<String>, Vec<String>) {
    let observed = crate::observed::from_status(status);
    let refreshes: Vec<(String, String)> = target_channels(plan)
        .into_iter()
        .filter_map(|(role, channel)| {
            let Lookup::Found(app) = plan::lookup(plan, &observed, role) else {
                return None;
            };
            let already = app.channel.parse::<Channel>().ok().as_ref() == Some(channel);
            (!already && !app.dying).then(|| (app.name.clone(), channel.to_string()))
        })
        .collect();
    let outcomes = session.juju.check_refreshes(&refreshes).await;
    let mut failures = Vec::new();
    let mut notes = Vec::new();
    for ((app, channel), outcome) in refreshes.into_iter().zip(outcomes) {
        match outcome {
            Ok(()) => {}
            Err(e) if e.is_unsupported_base() => failures.push(e.to_string()),
            Err(e) => notes.push(format!(
                "could not check that {app} can be refreshed to {channel} (the refresh will say): {e}"
            )),
        }
    }
    failures.sort();
    notes.sort();
    (failures, notes)
}

/// Runs every check. `plan` is the unbound plan (the platform is decided here).
pub(crate) async fn run(
    session: &Session,
    plan: &Plan,
    options: &Options,
    status: &ModelStatus,
) -> Findings {
    let mut findings = Findings::default();
    let info = session.juju.login_info();
    let model = &session.model_name;

    if !matches!(info.model_access.as_str(), "write" | "admin") {
        let sentence = format!(
            "Juju user {} has {} access to model {model}: grant it with `juju grant {} admin {model}`",
            info.user,
            if info.model_access.is_empty() {
                "no"
            } else {
                &info.model_access
            },
            info.user
        );
        if options.dry_run {
            findings.notes.push(format!(
                "{sentence} before a real run (a dry-run only reads)"
            ));
        } else {
            findings.failures.push(sentence);
        }
    }
    if &status.name != model {
        findings.failures.push(format!(
            "the credentials log in to model {:?}, but ckf-migrator works on model {model:?}: use the UUID of the {model} model",
            status.name
        ));
    }
    if options.is_leader == Some(false) {
        findings.failures.push(
            "only the leader unit migrates: run `juju run ckf-migrator/leader migrate-to-ambient`"
                .into(),
        );
    }

    let off = off_channel(plan, status);
    if !off.is_empty() {
        findings.failures.push(format!(
            "these applications are not on CKF 1.11 channels: {}; upgrade to CKF 1.11/stable first (see the guide \"Upgrade from 1.10 to 1.11\")",
            off.join(", ")
        ));
    }

    let (refusals, unchecked) = unsupported_bases(session, plan, status).await;
    findings.failures.extend(refusals);
    findings.notes.extend(unchecked);

    // Every check below reads the cluster: if the API server cannot be used, they would all fail
    // for that one reason, so it is said once, with the address, the cause and the fix.
    let cluster = &session.cluster;
    if let Err(e) = cluster.check_access().await {
        findings
            .failures
            .push(format!("{e}; {}", options.front_end.access_error_fix(&e)));
        return findings;
    }
    match cluster.can_list_nodes().await {
        Ok(true) => match cluster.node_labels().await {
            Ok(nodes) => {
                let cilium = cluster
                    .config_map_data("kube-system", "cilium-config")
                    .await
                    .map(|d| d.is_some())
                    .unwrap_or(false);
                match decide_platform(
                    options.platform,
                    Substrate::from_nodes(&nodes, cilium),
                    &options.front_end,
                ) {
                    Ok(platform) => {
                        if options.platform == Platform::Auto {
                            findings
                                .notes
                                .push(format!("platform: detected {platform} from the nodes"));
                        }
                        findings.platform = Some(platform);
                    }
                    Err(sentence) => findings.failures.push(sentence),
                }
            }
            Err(e) => findings
                .failures
                .push(format!("cannot read the nodes: {e}")),
        },
        Ok(false) => findings.failures.push(format!(
            "missing trust: ckf-migrator cannot read cluster-wide objects: {}",
            options.front_end.cluster_access_fix()
        )),
        Err(e) => findings
            .failures
            .push(format!("cannot list the nodes: {e}")),
    }

    let knative_serving_present = matches!(
        plan::lookup(
            plan,
            &crate::observed::from_status(status),
            "knative-serving"
        ),
        Lookup::Found(_)
    );
    match cluster.inference_services().await {
        Ok(services) => {
            let serverless: Vec<String> = services
                .iter()
                .filter(|s| s.is_serverless())
                .map(|s| format!("{}/{}", s.namespace, s.name))
                .collect();
            if !serverless.is_empty() && knative_serving_present {
                let list = serverless.join(", ");
                if options.allow_serverless_loss {
                    findings.notes.push(format!(
                        "these Serverless InferenceServices will stop serving when Knative is removed (allowed by allow-serverless-loss): {list}"
                    ));
                } else {
                    findings.failures.push(format!(
                        "these Serverless InferenceServices stop serving when Knative is removed: {list}; export them and re-create them in RawDeployment mode after the migration, or pass {}",
                        options
                            .front_end
                            .param(advice::param("allow-serverless-loss", "true"))
                    ));
                }
            }
        }
        Err(e) => findings
            .failures
            .push(format!("cannot list InferenceServices: {e}")),
    }

    match cluster.lease_holder(model, LEASE_NAME).await {
        Ok(Some(holder)) if super::holder::is_gone(&holder.holder, &options.holder) => {
            findings.notes.push(format!(
                "Lease {model}/{LEASE_NAME} is held by {}, a process on this host that no longer exists: taking it over",
                holder.holder
            ));
        }
        Ok(Some(holder)) if holder.holder != options.holder => findings.failures.push(format!(
            "another migration is running (Lease {model}/{LEASE_NAME} held by {}, expiring in {} s unless renewed): wait for it to finish",
            holder.holder, holder.expires_in_secs
        )),
        Ok(_) => {}
        Err(e) => findings.failures.push(format!("cannot read Lease {model}/{LEASE_NAME}: {e}")),
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn charm() -> FrontEnd {
        FrontEnd::Charm {
            unit: "ckf-migrator/0".into(),
        }
    }

    const MICROK8S: Substrate = Substrate {
        microk8s: true,
        canonical_k8s: false,
    };
    const CANONICAL: Substrate = Substrate {
        microk8s: false,
        canonical_k8s: true,
    };
    const UNKNOWN: Substrate = Substrate {
        microk8s: false,
        canonical_k8s: false,
    };

    #[test]
    fn auto_detects_microk8s_and_canonical_k8s() {
        assert_eq!(
            decide_platform(Platform::Auto, MICROK8S, &charm()),
            Ok(Platform::Microk8s)
        );
        assert_eq!(
            decide_platform(Platform::Auto, CANONICAL, &charm()),
            Ok(Platform::CanonicalK8s)
        );
    }

    #[test]
    fn auto_on_an_unknown_substrate_asks_for_the_platform() {
        let err = decide_platform(Platform::Auto, UNKNOWN, &charm()).unwrap_err();
        assert!(err.contains("pass platform="), "{err}");
    }

    #[test]
    fn an_explicit_platform_contradicting_the_nodes_stops() {
        let err = decide_platform(Platform::Microk8s, CANONICAL, &charm()).unwrap_err();
        assert_eq!(
            err,
            "platform=microk8s contradicts the nodes, which show Canonical Kubernetes: pass platform=canonical-k8s or platform=auto"
        );
        assert!(decide_platform(Platform::K3s, MICROK8S, &charm()).is_err());
        assert!(
            decide_platform(Platform::None, CANONICAL, &charm()).is_err(),
            "none would skip the Cilium settings Canonical K8s needs"
        );
    }

    #[test]
    fn an_explicit_platform_the_nodes_cannot_confirm_is_trusted() {
        assert_eq!(
            decide_platform(Platform::Gke, UNKNOWN, &charm()),
            Ok(Platform::Gke)
        );
        assert_eq!(
            decide_platform(Platform::Microk8s, MICROK8S, &charm()),
            Ok(Platform::Microk8s)
        );
    }

    #[test]
    fn substrate_comes_from_node_labels_or_the_cilium_config() {
        let node = |k: &str, v: &str| {
            vec![(
                "n".to_string(),
                BTreeMap::from([(k.to_string(), v.to_string())]),
            )]
        };
        assert_eq!(
            Substrate::from_nodes(&node("microk8s.io/cluster", "true"), false),
            MICROK8S
        );
        assert_eq!(
            Substrate::from_nodes(&node("k8sd.io/role", "control-plane"), false),
            CANONICAL
        );
        assert_eq!(
            Substrate::from_nodes(&node("kubernetes.io/os", "linux"), true),
            CANONICAL
        );
        assert_eq!(
            Substrate::from_nodes(&node("kubernetes.io/os", "linux"), false),
            UNKNOWN
        );
    }

    fn status_with(apps: &[(&str, &str, &str)]) -> ModelStatus {
        let mut status = ModelStatus {
            name: "kubeflow".into(),
            ..ModelStatus::default()
        };
        for (name, charm, channel) in apps {
            status.applications.insert(
                name.to_string(),
                crate::juju::Application {
                    name: name.to_string(),
                    charm: charm.to_string(),
                    channel: channel.to_string(),
                    ..Default::default()
                },
            );
        }
        status
    }

    #[test]
    fn applications_off_the_ckf_1_11_channels_are_listed() {
        let plan = Plan::builtin().expect("valid");
        let status = status_with(&[
            ("kfp-api", "kfp-api", "2.15/stable"),
            ("kfp-ui", "kfp-ui", "2.15/edge"),
            ("kubeflow-dashboard", "kubeflow-dashboard", "2.0/edge"),
            ("jupyter-ui", "jupyter-ui", "1.9/stable"),
            ("dex-auth", "dex-auth", "2.39/stable"),
        ]);
        assert_eq!(
            off_channel(&plan, &status),
            [
                "dex-auth on 2.39/stable (CKF 1.11 has 2.41/stable)",
                "jupyter-ui on 1.9/stable (CKF 1.11 has 1.10/stable)"
            ]
        );
    }
}
