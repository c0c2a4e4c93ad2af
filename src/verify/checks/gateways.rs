//! Gateways and routing: GatewayClasses, the ingress Gateway with its Deployment and Service, the
//! beacon's waypoint, the ingress routes and the ext-authz policies (ckf-ambient.md §5 checks
//! 12–17).

use crate::cluster::{GatewayInfo, condition_true};

use super::{Check, Ctx, Judged, fail, listed, need, pass, read, warn};
use crate::verify::snapshot::ingress_service_name;

/// Backends the ingress routes to when their applications exist: (application = Service, path).
const EXPECTED_BACKENDS: [(&str, &str); 9] = [
    ("kubeflow-dashboard", "/"),
    ("dex-auth", "/dex/"),
    ("oidc-gatekeeper", "/authservice/"),
    ("jupyter-ui", "/jupyter/"),
    ("katib-ui", "/katib/"),
    ("kfp-ui", "/pipeline/"),
    ("kubeflow-volumes", "/volumes/"),
    ("tensorboards-web-app", "/tensorboards/"),
    ("envoy", "/ml_metadata"),
];

fn gateway<'a>(gateways: &'a [GatewayInfo], ns: &str, name: &str) -> Option<&'a GatewayInfo> {
    gateways
        .iter()
        .find(|g| g.namespace == ns && g.name == name)
}

/// `Accepted` and `Programmed` as `Accepted=True, Programmed=False`.
fn condition_summary(g: &GatewayInfo) -> String {
    ["Accepted", "Programmed"]
        .iter()
        .map(|kind| {
            let status = g
                .conditions
                .iter()
                .find(|c| c.kind == *kind)
                .map(|c| {
                    if c.reason.is_empty() {
                        c.status.clone()
                    } else {
                        format!("{} ({})", c.status, c.reason)
                    }
                })
                .unwrap_or_else(|| "unset".into());
            format!("{kind}={status}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The `istio` and `istio-waypoint` GatewayClasses are accepted.
pub(crate) const GATEWAY_CLASSES_ACCEPTED: Check = Check {
    name: "gateway-classes-accepted",
    group: "gateways",
    judge: gateway_classes_accepted,
};

fn gateway_classes_accepted(c: &Ctx) -> Judged {
    let classes = need!(read(&c.snap.cluster.gateway_classes));
    let mut wrong = Vec::new();
    for name in ["istio", "istio-waypoint"] {
        match classes.iter().find(|g| g.name == name) {
            None => wrong.push(format!("GatewayClass {name} does not exist")),
            Some(g) if condition_true(&g.conditions, "Accepted") => {}
            Some(_) => wrong.push(format!("GatewayClass {name} is not Accepted")),
        }
    }
    if wrong.is_empty() {
        return pass();
    }
    fail(format!(
        "{}: istiod creates and accepts them; check that istiod is ready and the Gateway API CRDs are installed",
        wrong.join("; ")
    ))
}

/// The ingress Gateway is accepted, programmed and has an address.
pub(crate) const INGRESS_GATEWAY_PROGRAMMED: Check = Check {
    name: "ingress-gateway-programmed",
    group: "gateways",
    judge: ingress_gateway_programmed,
};

fn ingress_gateway_programmed(c: &Ctx) -> Judged {
    let ns = c.ns();
    let name = c.ingress_app();
    let Some(g) = gateway(need!(read(&c.snap.cluster.gateways)), ns, &name) else {
        return fail(format!(
            "Gateway {ns}/{name} does not exist: {name} creates it once related to istio-k8s (istio-ingress-config); see `juju status {name}`"
        ));
    };
    if g.class != "istio" {
        return fail(format!(
            "Gateway {ns}/{name} has gatewayClassName {:?}, not \"istio\"",
            g.class
        ));
    }
    if !condition_true(&g.conditions, "Accepted") || !condition_true(&g.conditions, "Programmed") {
        return fail(format!(
            "Gateway {ns}/{name} is not ready ({}): see `kubectl -n {ns} describe gateway {name}`",
            condition_summary(g)
        ));
    }
    if g.addresses.is_empty() {
        return fail(format!(
            "Gateway {ns}/{name} has no address (status.addresses is empty): the cluster gives its LoadBalancer Service no IP; enable a load balancer (MetalLB on MicroK8s, `k8s enable load-balancer` on Canonical Kubernetes)"
        ));
    }
    pass()
}

/// The ingress's Deployment is ready.
pub(crate) const INGRESS_DEPLOYMENT_READY: Check = Check {
    name: "ingress-deployment-ready",
    group: "gateways",
    judge: ingress_deployment_ready,
};

fn ingress_deployment_ready(c: &Ctx) -> Judged {
    let ns = c.ns();
    let name = ingress_service_name(&c.ingress_app());
    match need!(read(&c.snap.cluster.deployments))
        .iter()
        .find(|d| d.name == name)
    {
        None => fail(format!(
            "Deployment {ns}/{name} does not exist: istiod's gateway controller creates it for Gateway {ns}/{}; check istiod",
            c.ingress_app()
        )),
        Some(d) if d.fully_ready() => pass(),
        Some(d) => fail(format!(
            "Deployment {ns}/{name} is not ready ({}): see `kubectl -n {ns} describe deployment {name}`",
            d.counts()
        )),
    }
}

/// The ingress's Service is a LoadBalancer with an address.
pub(crate) const INGRESS_SERVICE_HAS_ADDRESS: Check = Check {
    name: "ingress-service-has-address",
    group: "gateways",
    judge: ingress_service_has_address,
};

fn ingress_service_has_address(c: &Ctx) -> Judged {
    let ns = c.ns();
    let name = ingress_service_name(&c.ingress_app());
    let Some(svc) = need!(read(&c.snap.cluster.services))
        .iter()
        .find(|s| s.name == name)
    else {
        return fail(format!(
            "Service {ns}/{name} does not exist: istiod's gateway controller creates it; check istiod and Gateway {ns}/{}",
            c.ingress_app()
        ));
    };
    if svc.service_type != "LoadBalancer" {
        return fail(format!(
            "Service {ns}/{name} is of type {:?}, not LoadBalancer",
            svc.service_type
        ));
    }
    if svc.load_balancer.is_empty() {
        return fail(format!(
            "Service {ns}/{name} has no load-balancer address (status.loadBalancer.ingress is empty): enable a load balancer (MetalLB on MicroK8s, `k8s enable load-balancer` on Canonical Kubernetes)"
        ));
    }
    pass()
}

/// The beacon's waypoint is programmed and its Deployment ready.
pub(crate) const WAYPOINT_READY: Check = Check {
    name: "waypoint-ready",
    group: "gateways",
    judge: waypoint_ready,
};

fn waypoint_ready(c: &Ctx) -> Judged {
    let ns = c.ns();
    let name = c.beacon_waypoint();
    let gateways = need!(read(&c.snap.cluster.gateways));
    // Names over 63 characters are truncated and hashed by the beacon; then find it by class.
    let found = gateway(gateways, ns, &name).or_else(|| {
        (name.len() > 63)
            .then(|| {
                gateways
                    .iter()
                    .find(|g| g.namespace == ns && g.class == "istio-waypoint")
            })
            .flatten()
    });
    let Some(g) = found else {
        return fail(format!(
            "Gateway {ns}/{name} (the beacon's waypoint) does not exist: istio-beacon-k8s creates it; see `juju debug-log --include istio-beacon-k8s`"
        ));
    };
    if g.class != "istio-waypoint" {
        return fail(format!(
            "Gateway {ns}/{} has gatewayClassName {:?}, not \"istio-waypoint\"",
            g.name, g.class
        ));
    }
    if !condition_true(&g.conditions, "Programmed") {
        return fail(format!(
            "Gateway {ns}/{} is not programmed ({}): see `kubectl -n {ns} describe gateway {}`",
            g.name,
            condition_summary(g),
            g.name
        ));
    }
    match need!(read(&c.snap.cluster.deployments))
        .iter()
        .find(|d| d.name == g.name)
    {
        None => fail(format!(
            "Deployment {ns}/{} (the waypoint's proxy) does not exist: istiod creates it for the Gateway; check istiod",
            g.name
        )),
        Some(d) if d.fully_ready() => pass(),
        Some(d) => fail(format!(
            "Deployment {ns}/{} (the waypoint's proxy) is not ready ({})",
            g.name,
            d.counts()
        )),
    }
}

/// The ingress's HTTPRoutes are accepted with resolved references, and route to the UIs.
pub(crate) const HTTPROUTES_ACCEPTED: Check = Check {
    name: "httproutes-accepted",
    group: "gateways",
    judge: httproutes_accepted,
};

fn httproutes_accepted(c: &Ctx) -> Judged {
    let ns = c.ns();
    let ingress = c.ingress_app();
    let routes: Vec<_> = need!(read(&c.snap.cluster.http_routes))
        .iter()
        .filter(|r| {
            r.parents
                .iter()
                .any(|p| p.namespace == ns && p.name == ingress)
        })
        .collect();
    let mut problems = Vec::new();
    for route in &routes {
        let parent = route
            .status
            .iter()
            .find(|s| s.parent.namespace == ns && s.parent.name == ingress);
        let conditions = parent.map(|p| p.conditions.as_slice()).unwrap_or_default();
        let missing: Vec<&str> = ["Accepted", "ResolvedRefs"]
            .into_iter()
            .filter(|kind| !condition_true(conditions, kind))
            .collect();
        if !missing.is_empty() {
            problems.push(format!(
                "HTTPRoute {ns}/{} is not {}",
                route.name,
                missing.join(" or ")
            ));
        }
    }
    let status = c.status().ok();
    let missing_backends: Vec<String> = EXPECTED_BACKENDS
        .iter()
        .filter(|(app, _)| status.is_none_or(|s| s.applications.contains_key(*app)))
        .filter(|(app, _)| {
            !routes
                .iter()
                .any(|r| r.backends.iter().any(|b| b.name == *app))
        })
        .map(|(app, path)| format!("{app} ({path})"))
        .collect();
    if !missing_backends.is_empty() {
        problems.push(format!(
            "no HTTPRoute on Gateway {ns}/{ingress} sends traffic to {}: relate them to {ingress} (istio-ingress-route)",
            listed(&missing_backends)
        ));
    }
    if problems.is_empty() {
        return pass();
    }
    fail(format!(
        "{}; see `kubectl -n {ns} describe httproute`",
        problems.join("; ")
    ))
}

/// The ingress's ext-authz and external-traffic policies exist, and the mesh knows the provider.
pub(crate) const EXT_AUTHZ_POLICIES: Check = Check {
    name: "ext-authz-policies",
    group: "gateways",
    judge: ext_authz_policies,
};

fn ext_authz_policies(c: &Ctx) -> Judged {
    let ns = c.ns();
    let ingress = c.ingress_app();
    let provider = format!("ext_authz-{ingress}");
    let ext_authz = format!("ext-authz-{ingress}");
    let external = format!("{ingress}-{ns}-external-traffic");
    let policies = need!(read(&c.snap.cluster.authorization_policies));
    let here = |name: &str| {
        policies
            .iter()
            .find(|p| p.namespace == ns && p.name == name)
    };
    let mut wrong = Vec::new();
    match here(&ext_authz) {
        None => wrong.push(format!("AuthorizationPolicy {ns}/{ext_authz} does not exist")),
        Some(p) if p.action != "CUSTOM" || p.provider != provider => wrong.push(format!(
            "AuthorizationPolicy {ns}/{ext_authz} has action {:?} and provider {:?} (expected CUSTOM, {provider:?})",
            p.action, p.provider
        )),
        Some(_) => {}
    }
    if here(&external).is_none() {
        wrong.push(format!(
            "AuthorizationPolicy {ns}/{external} does not exist"
        ));
    }
    if !wrong.is_empty() {
        return fail(format!(
            "{}: {ingress} creates them when related to oidc-gatekeeper (forward-auth) and istio-k8s (istio-ingress-config); without them the dashboard is either open or unreachable",
            wrong.join("; ")
        ));
    }
    let mesh = need!(read(&c.snap.cluster.config_maps))
        .get("istio")
        .and_then(|d| d.get("mesh"));
    if !mesh.is_some_and(|m| m.contains(&provider)) {
        return warn(format!(
            "ConfigMap {ns}/istio does not list the extension provider {provider} in data.mesh: istiod may not know the ext-authz provider; check the istio-k8s:istio-ingress-config relation"
        ));
    }
    pass()
}

#[cfg(test)]
mod tests {
    use crate::verify::Verdict;
    use crate::verify::fixtures::{Fixture, cond, named};

    #[test]
    fn waypoint_class_not_accepted_fails() {
        let fx = Fixture::migrated().cluster(|k| {
            let classes = k.gateway_classes.as_mut().expect("listed");
            named(classes, "istio-waypoint", |g| &g.name).conditions =
                vec![cond("Accepted", "False")];
        });

        fx.assert_fails(
            &fx.verdict("gateway-classes-accepted"),
            &["GatewayClass istio-waypoint is not Accepted"],
        );
    }

    #[test]
    fn ingress_gateway_without_address_fails() {
        let fx = Fixture::migrated().cluster(|k| {
            let g = k.gateways.as_mut().expect("listed");
            named(g, "istio-ingress-k8s", |g| &g.name).addresses.clear();
        });

        fx.assert_fails(
            &fx.verdict("ingress-gateway-programmed"),
            &["Gateway kubeflow/istio-ingress-k8s has no address"],
        );
    }

    #[test]
    fn ingress_gateway_not_programmed_fails_with_conditions() {
        let fx = Fixture::migrated().cluster(|k| {
            let g = k.gateways.as_mut().expect("listed");
            let mut programmed = cond("Programmed", "False");
            programmed.reason = "AddressNotAssigned".into();
            named(g, "istio-ingress-k8s", |g| &g.name).conditions =
                vec![cond("Accepted", "True"), programmed];
        });

        fx.assert_fails(
            &fx.verdict("ingress-gateway-programmed"),
            &["Programmed=False (AddressNotAssigned)"],
        );
    }

    #[test]
    fn ingress_deployment_not_ready_fails() {
        let fx = Fixture::migrated().cluster(|k| {
            let d = k.deployments.as_mut().expect("listed");
            named(d, "istio-ingress-k8s-istio", |w| &w.name).ready = 0;
        });

        fx.assert_fails(
            &fx.verdict("ingress-deployment-ready"),
            &["Deployment kubeflow/istio-ingress-k8s-istio is not ready"],
        );
    }

    #[test]
    fn ingress_service_without_address_fails() {
        let fx = Fixture::migrated().cluster(|k| {
            let s = k.services.as_mut().expect("listed");
            named(s, "istio-ingress-k8s-istio", |s| &s.name)
                .load_balancer
                .clear();
        });

        fx.assert_fails(
            &fx.verdict("ingress-service-has-address"),
            &["Service kubeflow/istio-ingress-k8s-istio has no load-balancer address"],
        );
    }

    #[test]
    fn waypoint_not_programmed_fails() {
        let fx = Fixture::migrated().cluster(|k| {
            let g = k.gateways.as_mut().expect("listed");
            named(g, "kubeflow-istio-beacon-k8s-waypoint", |g| &g.name)
                .conditions
                .clear();
        });

        fx.assert_fails(
            &fx.verdict("waypoint-ready"),
            &["Gateway kubeflow/kubeflow-istio-beacon-k8s-waypoint is not programmed (Accepted=unset, Programmed=unset)"],
        );
    }

    #[test]
    fn route_with_unresolved_refs_fails() {
        let fx = Fixture::migrated().cluster(|k| {
            let routes = k.http_routes.as_mut().expect("listed");
            named(routes, "dex-auth-http-80", |r| &r.name).status[0].conditions =
                vec![cond("Accepted", "True"), cond("ResolvedRefs", "False")];
        });

        fx.assert_fails(
            &fx.verdict("httproutes-accepted"),
            &["HTTPRoute kubeflow/dex-auth-http-80 is not ResolvedRefs"],
        );
    }

    #[test]
    fn missing_route_to_an_existing_ui_fails() {
        let fx = Fixture::migrated().cluster(|k| {
            k.http_routes
                .as_mut()
                .expect("listed")
                .retain(|r| r.name != "jupyter-ui-http-80");
        });

        fx.assert_fails(
            &fx.verdict("httproutes-accepted"),
            &["sends traffic to jupyter-ui (/jupyter/)"],
        );
    }

    #[test]
    fn routes_to_absent_uis_are_not_expected() {
        let fx = Fixture::migrated().without_app("katib-ui").cluster(|k| {
            k.http_routes
                .as_mut()
                .expect("listed")
                .retain(|r| r.name != "katib-ui-http-80");
        });

        assert_eq!(fx.verdict("httproutes-accepted"), Some(Verdict::Pass));
    }

    #[test]
    fn missing_ext_authz_policy_fails() {
        let fx = Fixture::migrated().cluster(|k| {
            k.authorization_policies
                .as_mut()
                .expect("listed")
                .retain(|p| p.name != "ext-authz-istio-ingress-k8s");
        });

        fx.assert_fails(
            &fx.verdict("ext-authz-policies"),
            &["AuthorizationPolicy kubeflow/ext-authz-istio-ingress-k8s does not exist"],
        );
    }

    #[test]
    fn mesh_config_without_the_provider_warns() {
        let fx = Fixture::migrated().cluster(|k| {
            k.config_maps.as_mut().expect("listed").remove("istio");
        });

        fx.assert_warns(
            &fx.verdict("ext-authz-policies"),
            &["ConfigMap kubeflow/istio", "ext_authz-istio-ingress-k8s"],
        );
    }
}
