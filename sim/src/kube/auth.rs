//! Who may do what: bearer tokens mapped to a user and an access level, and the authorisation
//! decision with Kubernetes RBAC's wording.
//!
//! Two access levels model what the migrator meets: cluster-admin (a kubeconfig) and
//! namespace-limited (a charm's service account with a Role in its model's namespace, plus read
//! access to namespaces). Tokens never appear in `Debug` output or errors.

use std::collections::HashMap;

use crate::kube::error::ApiError;

/// What a token may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// Everything.
    ClusterAdmin,
    /// Any verb on namespaced resources in this namespace, plus get/list/watch of namespaces.
    Namespace(String),
}

#[derive(Clone)]
pub(crate) struct Principal {
    pub user: String,
    pub access: Access,
}

/// Token → (user, access). Built by the caller of `serve`.
#[derive(Clone, Default)]
pub struct Auth {
    tokens: HashMap<String, Principal>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Tokens are credentials: show who has access, never the tokens.
        f.debug_list()
            .entries(
                self.tokens
                    .values()
                    .map(|p| format!("{} ({:?})", p.user, p.access)),
            )
            .finish()
    }
}

impl Auth {
    /// No tokens: every request is 401.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a token with a default user name: `admin` for cluster-admin,
    /// `system:serviceaccount:<ns>:default` for namespace access.
    pub fn with_token(self, token: &str, access: Access) -> Self {
        let user = match &access {
            Access::ClusterAdmin => "admin".to_string(),
            Access::Namespace(ns) => format!("system:serviceaccount:{ns}:default"),
        };
        self.with_user(token, &user, access)
    }

    /// Adds a token for a named user (the name appears in 403 messages).
    pub fn with_user(mut self, token: &str, user: &str, access: Access) -> Self {
        self.tokens.insert(
            token.to_string(),
            Principal {
                user: user.to_string(),
                access,
            },
        );
        self
    }

    /// The principal of an `Authorization` header value.
    pub(crate) fn authenticate(&self, header: Option<&str>) -> Option<&Principal> {
        let token = header?.strip_prefix("Bearer ")?.trim();
        self.tokens.get(token)
    }
}

/// What a resource request asks for, as the authoriser sees it.
pub(crate) struct Attributes<'a> {
    pub verb: &'a str,
    pub group: &'a str,
    pub plural: &'a str,
    pub subresource: Option<&'a str>,
    pub name: Option<&'a str>,
    /// Namespace of the request path; `None` at the cluster scope.
    pub namespace: Option<&'a str>,
}

/// Decides a resource request.
///
/// # Errors
/// `Forbidden` with RBAC's message.
pub(crate) fn authorize(p: &Principal, a: &Attributes<'_>) -> Result<(), ApiError> {
    let allowed = match &p.access {
        Access::ClusterAdmin => true,
        Access::Namespace(ns) => {
            a.namespace == Some(ns.as_str())
                || (a.group.is_empty()
                    && a.plural == "namespaces"
                    && a.subresource.is_none()
                    && matches!(a.verb, "get" | "list" | "watch"))
        }
    };
    if allowed {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            &p.user,
            a.verb,
            a.group,
            a.plural,
            a.subresource,
            a.name,
            a.namespace,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs<'a>(verb: &'a str, plural: &'a str, ns: Option<&'a str>) -> Attributes<'a> {
        Attributes {
            verb,
            group: "",
            plural,
            subresource: None,
            name: None,
            namespace: ns,
        }
    }

    #[test]
    fn namespace_access_covers_its_namespace_and_reading_namespaces_only() {
        let auth = Auth::new().with_user(
            "t",
            "system:serviceaccount:kubeflow:ckf-migrator",
            Access::Namespace("kubeflow".into()),
        );
        let p = auth.authenticate(Some("Bearer t")).expect("known token");

        assert!(authorize(p, &attrs("delete", "pods", Some("kubeflow"))).is_ok());
        assert!(authorize(p, &attrs("list", "namespaces", None)).is_ok());
        assert!(authorize(p, &attrs("create", "namespaces", None)).is_err());
        assert!(authorize(p, &attrs("list", "pods", Some("admin"))).is_err());
        let e = authorize(p, &attrs("list", "pods", None)).expect_err("cluster-wide list");
        assert_eq!(
            e.message,
            "pods is forbidden: User \"system:serviceaccount:kubeflow:ckf-migrator\" cannot list resource \"pods\" in API group \"\" at the cluster scope"
        );
    }

    #[test]
    fn unknown_or_malformed_tokens_do_not_authenticate() {
        let auth = Auth::new().with_token("good", Access::ClusterAdmin);

        assert!(auth.authenticate(Some("Bearer bad")).is_none());
        assert!(auth.authenticate(Some("Basic good")).is_none());
        assert!(auth.authenticate(None).is_none());
    }

    #[test]
    fn debug_output_does_not_show_tokens() {
        let auth = Auth::new().with_token("s3cr3t-token", Access::ClusterAdmin);

        assert!(!format!("{auth:?}").contains("s3cr3t-token"));
    }
}
