//! HTTP through the ingress, as a browser without a session sees it (ckf-ambient.md §5 checks
//! 26–27). The requests were made while gathering; these functions judge the answers.

use crate::verify::probe::{DEX_DISCOVERY_PATH, HttpAnswer, ProbeOutcome, ROOT_PATH};

use super::{Check, Ctx, Judged, fail, pass};

/// `GET <base><path>` for messages.
fn request(c: &Ctx, path: &str) -> String {
    match c.snap.http.as_ref().map(|h| &h.base) {
        Some(Ok(base)) => format!("GET {base}{path}"),
        _ => format!("GET {path}"),
    }
}

/// The answer, or the failed verdict for a probe that got none.
fn answered<'a>(c: &Ctx, outcome: &'a ProbeOutcome, path: &str) -> Result<&'a HttpAnswer, Judged> {
    match outcome {
        ProbeOutcome::Answered(answer) => Ok(answer),
        ProbeOutcome::NotRun(why) => Err(fail(format!("{} was not sent: {why}", request(c, path)))),
        ProbeOutcome::Failed(why) => Err(fail(format!(
            "{} got no answer ({why}): the ingress gateway or the load balancer is broken; check Deployment {}/{}-istio and its Service",
            request(c, path),
            c.ns(),
            c.ingress_app()
        ))),
    }
}

/// Dex's discovery document is served through the ingress.
pub(crate) const DEX_DISCOVERY: Check = Check {
    name: "dex-discovery",
    group: "http",
    judge: dex_discovery,
};

fn dex_discovery(c: &Ctx) -> Judged {
    let probes = c.snap.http.as_ref()?;
    let answer = match answered(c, &probes.discovery, DEX_DISCOVERY_PATH) {
        Ok(answer) => answer,
        Err(judged) => return judged,
    };
    let req = request(c, DEX_DISCOVERY_PATH);
    if answer.status != 200 {
        return fail(format!(
            "{req} answered {} instead of 200: the /dex/ route or dex-auth is broken; check dex-auth's istio-ingress-route-unauthenticated relation and `juju status dex-auth`",
            answer.status
        ));
    }
    let document: serde_json::Value = match serde_json::from_str(&answer.body) {
        Ok(document) => document,
        Err(_) => {
            return fail(format!(
                "{req} answered 200 but not with JSON: something other than Dex serves /dex/"
            ));
        }
    };
    let has = |key: &str| document.get(key).and_then(|v| v.as_str()).is_some();
    let missing: Vec<&str> = ["issuer", "authorization_endpoint"]
        .into_iter()
        .filter(|k| !has(k))
        .collect();
    if !missing.is_empty() {
        return fail(format!(
            "{req} answered a document without {}: Dex is misconfigured; check dex-auth's config",
            missing.join(" or ")
        ));
    }
    pass()
}

/// The dashboard sends a browser without a session to Dex's login.
pub(crate) const DASHBOARD_REDIRECTS_TO_DEX: Check = Check {
    name: "dashboard-redirects-to-dex",
    group: "http",
    judge: dashboard_redirects_to_dex,
};

fn dashboard_redirects_to_dex(c: &Ctx) -> Judged {
    let probes = c.snap.http.as_ref()?;
    let answer = match answered(c, &probes.root, ROOT_PATH) {
        Ok(answer) => answer,
        Err(judged) => return judged,
    };
    let req = request(c, ROOT_PATH);
    let location = answer.location.as_deref().unwrap_or("");
    match answer.status {
        300..=399 if location.contains("/dex/auth") => pass(),
        300..=399 => fail(format!(
            "{req} redirected to {location:?}, not to /dex/auth: check oidc-gatekeeper's config (OIDC_AUTH_URL)"
        )),
        403 => fail(format!(
            "{req} answered 403: ext-authz or forward-auth is broken; check the oidc-gatekeeper:forward-auth relation and AuthorizationPolicy {}/ext-authz-{}",
            c.ns(),
            c.ingress_app()
        )),
        200 => fail(format!(
            "{req} answered 200 without a session: the dashboard is open to anyone; check AuthorizationPolicy {}/ext-authz-{}",
            c.ns(),
            c.ingress_app()
        )),
        other => fail(format!(
            "{req} answered {other} instead of a redirect to /dex/auth: check the ingress routes and oidc-gatekeeper"
        )),
    }
}

#[cfg(test)]
mod tests {
    use crate::verify::fixtures::{Fixture, answer};
    use crate::verify::probe::ProbeOutcome;

    #[test]
    fn dex_discovery_404_fails_naming_the_url() {
        let fx = Fixture::migrated().http(|h| h.discovery = answer(404, None, "not found"));

        fx.assert_fails(
            &fx.verdict("dex-discovery"),
            &["GET http://127.0.0.1:80/dex/.well-known/openid-configuration answered 404"],
        );
    }

    #[test]
    fn discovery_without_issuer_fails() {
        let fx =
            Fixture::migrated().http(|h| h.discovery = answer(200, None, r#"{"jwks_uri": "x"}"#));

        fx.assert_fails(&fx.verdict("dex-discovery"), &["without issuer"]);
    }

    #[test]
    fn no_address_means_no_probe_and_says_why() {
        let fx = Fixture::migrated().http(|h| {
            let why =
                "Service kubeflow/istio-ingress-k8s-istio has no load-balancer address".to_string();
            h.base = Err(why.clone());
            h.discovery = ProbeOutcome::NotRun(why.clone());
            h.root = ProbeOutcome::NotRun(why);
        });

        fx.assert_fails(
            &fx.verdict("dex-discovery"),
            &["was not sent", "has no load-balancer address"],
        );
        fx.assert_fails(&fx.verdict("dashboard-redirects-to-dex"), &["was not sent"]);
    }

    #[test]
    fn forbidden_dashboard_points_at_ext_authz() {
        let fx = Fixture::migrated().http(|h| h.root = answer(403, None, "RBAC: access denied"));

        fx.assert_fails(
            &fx.verdict("dashboard-redirects-to-dex"),
            &["answered 403", "ext-authz-istio-ingress-k8s"],
        );
    }

    #[test]
    fn open_dashboard_fails() {
        let fx = Fixture::migrated().http(|h| h.root = answer(200, None, "<html>"));

        fx.assert_fails(
            &fx.verdict("dashboard-redirects-to-dex"),
            &["open to anyone"],
        );
    }

    #[test]
    fn connection_refused_blames_the_gateway() {
        let fx = Fixture::migrated().http(|h| {
            h.root = ProbeOutcome::Failed("connection failed: Connection refused".into())
        });

        fx.assert_fails(
            &fx.verdict("dashboard-redirects-to-dex"),
            &["got no answer", "Connection refused"],
        );
    }

    #[test]
    fn http_checks_do_not_apply_when_turned_off() {
        let mut fx = Fixture::migrated();
        fx.snapshot.http = None;

        assert_eq!(fx.verdict("dex-discovery"), None);
        assert_eq!(fx.verdict("dashboard-redirects-to-dex"), None);
    }
}
