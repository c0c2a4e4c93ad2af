//! The checks: one small pure function per property, over the [`Snapshot`], in groups.
//!
//! Each check is named as the property it proves (an action-result key segment) and returns a
//! [`Verdict`] whose warn or fail text is one sentence naming the object read and what to do, or
//! `None` when it does not apply (Cilium off Canonical Kubernetes, KServe absent, probes off).
//! Checks never do I/O; the HTTP probes ran while the snapshot was gathered.

mod control_plane;
mod gateways;
mod http;
mod juju;
mod kserve;
mod mesh;

use crate::advice::FrontEnd;
use std::collections::{BTreeMap, BTreeSet};

use crate::cluster::{NamespaceInfo, Read};
use crate::juju::{ApplicationConfig, ModelStatus};
use crate::plan::{Lookup, Observed, Plan};

use super::snapshot::{INGRESS_CHARM, Snapshot, app_running};
use super::{CheckResult, Verdict};

/// A check's judgement: `None` when it does not apply to this model.
pub(crate) type Judged = Option<Verdict>;

/// One check.
pub(crate) struct Check {
    /// The property it proves (`istiod-ready`).
    pub name: &'static str,
    /// Its group (`juju`, `control-plane`, `gateways`, `mesh`, `kserve`, `http`).
    pub group: &'static str,
    /// The judgement.
    pub judge: fn(&Ctx) -> Judged,
}

/// Every check, in report order: by group, then as declared.
pub(crate) const CHECKS: &[Check] = &[
    juju::LEGACY_APPLICATIONS_GONE,
    juju::AMBIENT_APPLICATIONS_PRESENT,
    juju::ISTIO_PLATFORM_MATCHES_NODES,
    juju::APPLICATIONS_ACTIVE,
    juju::INGRESS_SERVING,
    juju::EXPECTED_RELATIONS_PRESENT,
    juju::NO_SIDECAR_RELATIONS,
    juju::PLAN_CONFIG_APPLIED,
    juju::CHANNELS_AS_PLANNED,
    control_plane::ISTIOD_READY,
    control_plane::ZTUNNEL_READY,
    control_plane::ISTIO_CNI_READY,
    control_plane::ISTIO_CNI_AMBIENT,
    control_plane::CILIUM_CONFIGURED,
    control_plane::CILIUM_READY,
    control_plane::CRDS_INSTALLED,
    control_plane::KNATIVE_LEFTOVERS,
    control_plane::WEBHOOK_SERVICES_EXIST,
    control_plane::LEGACY_OBJECTS_GONE,
    gateways::GATEWAY_CLASSES_ACCEPTED,
    gateways::INGRESS_GATEWAY_PROGRAMMED,
    gateways::INGRESS_DEPLOYMENT_READY,
    gateways::INGRESS_SERVICE_HAS_ADDRESS,
    gateways::WAYPOINT_READY,
    gateways::HTTPROUTES_ACCEPTED,
    gateways::EXT_AUTHZ_POLICIES,
    mesh::MESH_APPLICATIONS_ENROLLED,
    mesh::PROFILE_NAMESPACES_AMBIENT,
    mesh::PROFILE_WAYPOINTS_READY,
    mesh::NO_SIDECARS,
    mesh::NO_OTHER_NAMESPACES_INJECTED,
    mesh::NO_L7_SELECTOR_POLICIES,
    kserve::KSERVE_RAW_DEPLOYMENT,
    kserve::NO_SERVERLESS_INFERENCESERVICES,
    kserve::ALLOW_ALL_POLICIES,
    http::DEX_DISCOVERY,
    http::DASHBOARD_REDIRECTS_TO_DEX,
];

/// Runs every check that applies.
pub(crate) fn judge_all(
    snapshot: &Snapshot,
    plan: &Plan,
    front_end: &FrontEnd,
) -> Vec<CheckResult> {
    let mut ctx = Ctx::new(snapshot, plan);
    ctx.front_end = front_end.clone();
    CHECKS
        .iter()
        .filter_map(|check| {
            (check.judge)(&ctx).map(|verdict| CheckResult {
                name: check.name.to_string(),
                group: check.group.to_string(),
                verdict,
            })
        })
        .collect()
}

/// What the checks share: the snapshot, the plan, and what is derived from them once.
pub(crate) struct Ctx<'a> {
    /// What was read.
    pub snap: &'a Snapshot,
    /// The plan, for the expected relations, config values, channels and transient statuses.
    pub plan: &'a Plan,
    /// Juju's status in the plan's terms.
    observed: Option<Observed>,
    /// Whose syntax a fix that runs ckf-migrator is written in.
    pub front_end: FrontEnd,
}

/// The substrate, as the engine detects it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Substrate {
    /// A node carries `microk8s.io/cluster=true`.
    Microk8s,
    /// A node carries `k8sd.io/role`, or `kube-system/cilium-config` exists.
    CanonicalK8s,
    /// Neither.
    Other,
}

/// Unwraps a `Result<T, Verdict>`, or returns the verdict from the check.
macro_rules! need {
    ($e:expr) => {
        match $e {
            Ok(value) => value,
            Err(verdict) => return Some(verdict),
        }
    };
}
pub(crate) use need;

/// A listing, or the failed verdict naming what could not be read.
pub(crate) fn read<T>(listing: &Read<T>) -> Result<&T, Verdict> {
    listing.as_ref().map_err(|e| Verdict::Fail(e.to_string()))
}

/// A failed verdict.
pub(crate) fn fail(text: impl Into<String>) -> Judged {
    Some(Verdict::Fail(text.into()))
}

/// A warning.
pub(crate) fn warn(text: impl Into<String>) -> Judged {
    Some(Verdict::Warn(text.into()))
}

/// A pass.
pub(crate) fn pass() -> Judged {
    Some(Verdict::Pass)
}

/// Up to `MAX_LISTED` items joined with `, `, then how many more.
pub(crate) fn listed<S: AsRef<str>>(items: &[S]) -> String {
    const MAX_LISTED: usize = 8;
    let shown: Vec<&str> = items.iter().take(MAX_LISTED).map(AsRef::as_ref).collect();
    let mut out = shown.join(", ");
    if items.len() > MAX_LISTED {
        out.push_str(&format!(" and {} more", items.len() - MAX_LISTED));
    }
    out
}

/// `1 pod`, `3 pods`.
pub(crate) fn counted(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(snap: &'a Snapshot, plan: &'a Plan) -> Self {
        Self {
            snap,
            plan,
            observed: snap.status.as_ref().ok().map(crate::observed::from_status),
            front_end: FrontEnd::default(),
        }
    }

    /// The model namespace.
    pub(crate) fn ns(&self) -> &str {
        &self.snap.model
    }

    /// Juju's status, or the failed verdict.
    pub(crate) fn status(&self) -> Result<&'a ModelStatus, Verdict> {
        read(&self.snap.status)
    }

    /// Juju's status in the plan's terms, or the failed verdict.
    pub(crate) fn observed(&self) -> Result<&Observed, Verdict> {
        match &self.observed {
            Some(observed) => Ok(observed),
            None => Err(self
                .status()
                .err()
                .unwrap_or(Verdict::Fail("cannot read the model's status".into()))),
        }
    }

    /// The application playing a role of the plan, found as `migrate` finds it.
    pub(crate) fn role(&self, role: &str) -> Result<Lookup<'_>, Verdict> {
        Ok(crate::plan::lookup(self.plan, self.observed()?, role))
    }

    /// The application running `charm` (the charm's name when none or several do).
    pub(crate) fn app_name(&self, charm: &str) -> String {
        app_running(self.snap.status.as_ref().ok(), charm, charm)
    }

    /// The ingress application's name (`istio-ingress-k8s`).
    pub(crate) fn ingress_app(&self) -> String {
        self.app_name(INGRESS_CHARM)
    }

    /// The beacon's waypoint in the model namespace: `<model>-<beacon app>-waypoint`.
    pub(crate) fn beacon_waypoint(&self) -> String {
        format!(
            "{}-{}-waypoint",
            self.ns(),
            self.app_name("istio-beacon-k8s")
        )
    }

    /// Whether any application runs `charm`.
    pub(crate) fn has_charm(&self, charm: &str) -> Result<bool, Verdict> {
        Ok(self
            .status()?
            .applications
            .values()
            .any(|a| a.charm == charm))
    }

    /// An application's config, or the failed verdict.
    pub(crate) fn config(&self, app: &str) -> Result<&'a ApplicationConfig, Verdict> {
        match self.snap.configs.get(app) {
            Some(config) => read(config),
            None => Err(Verdict::Fail(format!("the config of {app} was not read"))),
        }
    }

    /// The substrate, from the nodes and `kube-system/cilium-config`.
    pub(crate) fn substrate(&self) -> Result<Substrate, Verdict> {
        let cilium = matches!(self.snap.cluster.cilium_config, Ok(Some(_)));
        match &self.snap.cluster.nodes {
            Ok(nodes) => {
                if nodes
                    .iter()
                    .any(|l| l.get("microk8s.io/cluster").map(String::as_str) == Some("true"))
                {
                    Ok(Substrate::Microk8s)
                } else if cilium || nodes.iter().any(|l| l.contains_key("k8sd.io/role")) {
                    Ok(Substrate::CanonicalK8s)
                } else {
                    Ok(Substrate::Other)
                }
            }
            Err(_) if cilium => Ok(Substrate::CanonicalK8s),
            Err(e) => Err(Verdict::Fail(e.to_string())),
        }
    }

    /// Namespaces by name.
    pub(crate) fn namespaces(&self) -> Result<BTreeMap<&'a str, &'a NamespaceInfo>, Verdict> {
        Ok(read(&self.snap.cluster.namespaces)?
            .iter()
            .map(|n| (n.name.as_str(), n))
            .collect())
    }

    /// The profile namespaces: the names of the Kubeflow Profiles.
    pub(crate) fn profiles(&self) -> Result<BTreeSet<&'a str>, Verdict> {
        Ok(read(&self.snap.cluster.profiles)?
            .iter()
            .map(String::as_str)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::fixtures::{Fixture, unreadable};

    #[test]
    fn check_names_are_result_key_segments_and_unique() {
        let mut seen = BTreeSet::new();
        for check in CHECKS {
            assert!(
                check
                    .name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{} is not a key segment",
                check.name
            );
            assert!(seen.insert(check.name), "{} twice", check.name);
        }
    }

    #[test]
    fn checks_are_ordered_by_group() {
        let order = [
            "juju",
            "control-plane",
            "gateways",
            "mesh",
            "kserve",
            "http",
        ];
        let ranks: Vec<usize> = CHECKS
            .iter()
            .map(|c| {
                order
                    .iter()
                    .position(|g| *g == c.group)
                    .expect("known group")
            })
            .collect();
        assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "{ranks:?}");
    }

    #[test]
    fn every_check_passes_on_a_migrated_model() {
        let fx = Fixture::migrated();

        let results = judge_all(&fx.snapshot, &fx.plan, &FrontEnd::default());

        let not_passed: Vec<String> = results
            .iter()
            .filter(|r| r.verdict != Verdict::Pass)
            .map(|r| format!("{}: {}", r.name, r.verdict))
            .collect();
        assert!(not_passed.is_empty(), "{not_passed:#?}");
        let cilium = ["cilium-configured", "cilium-ready"];
        assert_eq!(
            results.len(),
            CHECKS.len() - cilium.len(),
            "every check but Cilium's applies on MicroK8s"
        );
    }

    fn failed(fx: &Fixture) -> Vec<String> {
        judge_all(&fx.snapshot, &fx.plan, &FrontEnd::default())
            .into_iter()
            .filter(|r| matches!(r.verdict, Verdict::Fail(_)))
            .map(|r| r.name)
            .collect()
    }

    #[test]
    fn unreadable_pods_fail_only_the_checks_that_read_pods() {
        let fx = Fixture::migrated().cluster(|k| k.pods = Err(unreadable("pods")));

        assert_eq!(failed(&fx), ["mesh-applications-enrolled", "no-sidecars"]);
    }

    #[test]
    fn unreadable_juju_status_fails_the_juju_checks_and_leaves_the_cluster_checks() {
        let mut fx = Fixture::migrated();
        fx.snapshot.status = Err(crate::cluster::ReadError::new(
            "the model's status (Client.FullStatus)",
            "connection to the Juju controller lost",
        ));

        let results = judge_all(&fx.snapshot, &fx.plan, &FrontEnd::default());

        let juju: Vec<&CheckResult> = results.iter().filter(|r| r.group == "juju").collect();
        assert!(!juju.is_empty());
        for r in juju {
            assert!(
                matches!(&r.verdict, Verdict::Fail(t) if t.contains("cannot read the model's status")),
                "{}: {}",
                r.name,
                r.verdict
            );
        }
        let ztunnel = results.iter().find(|r| r.name == "ztunnel-ready");
        assert_eq!(ztunnel.map(|r| &r.verdict), Some(&Verdict::Pass));
    }

    #[test]
    fn lists_are_cut_after_eight_items() {
        let items: Vec<String> = (1..=10).map(|i| format!("ns{i}")).collect();
        assert_eq!(
            listed(&items),
            "ns1, ns2, ns3, ns4, ns5, ns6, ns7, ns8 and 2 more"
        );
    }
}
