//! The API server's refusals, as Kubernetes words them.
//!
//! One type, [`ApiError`], is both what the Rust API of the store returns and what the HTTP layer
//! serialises as a `Status` object, so the twin's code and a remote client see the same reason,
//! code and message. Messages copy the apiserver's wording (`pods "x" not found`), because clients
//! and people match on them. This module knows nothing of HTTP or of the store.

use serde_json::{Value, json};

/// Why the server refused, as the `reason` field of a Kubernetes `Status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// 400: the request could not be understood (bad body, kind or namespace mismatch).
    BadRequest,
    /// 401: no or unknown bearer token.
    Unauthorized,
    /// 403: the token's access does not cover the request.
    Forbidden,
    /// 404: no such object, resource type or path.
    NotFound,
    /// 405: the verb is not supported on this path.
    MethodNotAllowed,
    /// 406: the requested representation cannot be produced.
    NotAcceptable,
    /// 409: an object with this name already exists.
    AlreadyExists,
    /// 409: stale `resourceVersion` or failed precondition.
    Conflict,
    /// 410: a watch asked for history the server no longer has.
    Expired,
    /// 415: the body's content type is not accepted for this operation.
    UnsupportedMediaType,
    /// 422: the object fails validation.
    Invalid,
    /// 429: try again later (injected fault).
    TooManyRequests,
    /// 500: the server failed (injected fault).
    InternalError,
}

impl Reason {
    /// The `reason` string Kubernetes puts in a `Status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::BadRequest => "BadRequest",
            Reason::Unauthorized => "Unauthorized",
            Reason::Forbidden => "Forbidden",
            Reason::NotFound => "NotFound",
            Reason::MethodNotAllowed => "MethodNotAllowed",
            Reason::NotAcceptable => "NotAcceptable",
            Reason::AlreadyExists => "AlreadyExists",
            Reason::Conflict => "Conflict",
            Reason::Expired => "Expired",
            Reason::UnsupportedMediaType => "UnsupportedMediaType",
            Reason::Invalid => "Invalid",
            Reason::TooManyRequests => "TooManyRequests",
            Reason::InternalError => "InternalError",
        }
    }

    /// The HTTP status code that goes with the reason.
    pub fn code(self) -> u16 {
        match self {
            Reason::BadRequest => 400,
            Reason::Unauthorized => 401,
            Reason::Forbidden => 403,
            Reason::NotFound => 404,
            Reason::MethodNotAllowed => 405,
            Reason::NotAcceptable => 406,
            Reason::AlreadyExists | Reason::Conflict => 409,
            Reason::Expired => 410,
            Reason::UnsupportedMediaType => 415,
            Reason::Invalid => 422,
            Reason::TooManyRequests => 429,
            Reason::InternalError => 500,
        }
    }
}

/// One field-level cause of an `Invalid` refusal (`details.causes[]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// Kubernetes' cause type, e.g. `FieldValueRequired`, `FieldValueInvalid`.
    pub reason: String,
    /// Human message for the field.
    pub message: String,
    /// JSON path of the field, e.g. `metadata.name`.
    pub field: String,
}

/// `details` of a `Status`: what the refusal is about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Details {
    /// `details.name`: the object concerned, if any.
    pub name: Option<String>,
    /// `details.group`: the API group of the resource ("" for core).
    pub group: Option<String>,
    /// `details.kind`: Kubernetes puts the resource (plural) here for most errors, the Kind for
    /// `Invalid`.
    pub kind: Option<String>,
    /// `details.causes`, for `Invalid`.
    pub causes: Vec<Cause>,
    /// `details.retryAfterSeconds` (also sent as `Retry-After`).
    pub retry_after_seconds: Option<u32>,
}

/// A refusal by the API server: what a client receives as a `Status` with `status: Failure`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    /// Machine-readable reason.
    pub reason: Reason,
    /// Message worded as the apiserver words it.
    pub message: String,
    /// What the refusal is about (boxed: errors travel in `Result`s on hot paths).
    pub details: Box<Details>,
}

/// `pods` or `deployments.apps`: how the apiserver names a resource in messages.
pub(crate) fn qualified(group: &str, plural: &str) -> String {
    if group.is_empty() {
        plural.to_string()
    } else {
        format!("{plural}.{group}")
    }
}

impl ApiError {
    fn bare(reason: Reason, message: impl Into<String>) -> Self {
        ApiError {
            reason,
            message: message.into(),
            details: Box::default(),
        }
    }

    fn about(mut self, group: &str, plural: &str, name: &str) -> Self {
        if !name.is_empty() {
            self.details.name = Some(name.to_string());
        }
        self.details.group = Some(group.to_string());
        self.details.kind = Some(plural.to_string());
        self
    }

    /// `pods "x" not found`.
    pub fn not_found(group: &str, plural: &str, name: &str) -> Self {
        Self::bare(
            Reason::NotFound,
            format!("{} \"{name}\" not found", qualified(group, plural)),
        )
        .about(group, plural, name)
    }

    /// A path or resource type the server does not serve.
    pub fn no_such_resource() -> Self {
        Self::bare(
            Reason::NotFound,
            "the server could not find the requested resource",
        )
    }

    /// `pods "x" already exists`.
    pub fn already_exists(group: &str, plural: &str, name: &str) -> Self {
        Self::bare(
            Reason::AlreadyExists,
            format!("{} \"{name}\" already exists", qualified(group, plural)),
        )
        .about(group, plural, name)
    }

    /// The optimistic-concurrency conflict on a stale `resourceVersion`.
    pub fn conflict(group: &str, plural: &str, name: &str) -> Self {
        Self::conflict_because(
            group,
            plural,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    /// A conflict with a specific explanation (failed preconditions).
    pub fn conflict_because(group: &str, plural: &str, name: &str, why: &str) -> Self {
        Self::bare(
            Reason::Conflict,
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": {why}",
                qualified(group, plural)
            ),
        )
        .about(group, plural, name)
    }

    /// `Pod "x" is invalid: <field>: <detail>` with one cause.
    pub fn invalid(kind: &str, group: &str, name: &str, cause: Cause) -> Self {
        let mut e = Self::bare(
            Reason::Invalid,
            format!(
                "{kind} \"{name}\" is invalid: {}: {}",
                cause.field, cause.message
            ),
        );
        e.details.name = Some(name.to_string());
        e.details.group = Some(group.to_string());
        e.details.kind = Some(kind.to_string());
        e.details.causes.push(cause);
        e
    }

    /// A field that must be set and is not.
    pub fn required(kind: &str, group: &str, name: &str, field: &str, detail: &str) -> Self {
        Self::invalid(
            kind,
            group,
            name,
            Cause {
                reason: "FieldValueRequired".into(),
                message: format!("Required value: {detail}"),
                field: field.into(),
            },
        )
    }

    /// A field whose value is not allowed.
    pub fn invalid_value(
        kind: &str,
        group: &str,
        name: &str,
        field: &str,
        value: &str,
        detail: &str,
    ) -> Self {
        Self::invalid(
            kind,
            group,
            name,
            Cause {
                reason: "FieldValueInvalid".into(),
                message: format!("Invalid value: \"{value}\": {detail}"),
                field: field.into(),
            },
        )
    }

    /// 422 with a free message (a patch that cannot be applied).
    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::bare(Reason::Invalid, message)
    }

    /// 400 with a message.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::bare(Reason::BadRequest, message)
    }

    /// 401.
    pub fn unauthorized() -> Self {
        Self::bare(Reason::Unauthorized, "Unauthorized")
    }

    /// 403 worded as the RBAC authorizer words it.
    pub fn forbidden(
        user: &str,
        verb: &str,
        group: &str,
        plural: &str,
        subresource: Option<&str>,
        name: Option<&str>,
        namespace: Option<&str>,
    ) -> Self {
        let subject = match name {
            Some(n) => format!("{} \"{n}\"", qualified(group, plural)),
            None => qualified(group, plural),
        };
        let resource = match subresource {
            Some(s) => format!("{plural}/{s}"),
            None => plural.to_string(),
        };
        let scope = match namespace {
            Some(ns) => format!("in the namespace \"{ns}\""),
            None => "at the cluster scope".to_string(),
        };
        Self::bare(
            Reason::Forbidden,
            format!(
                "{subject} is forbidden: User \"{user}\" cannot {verb} resource \"{resource}\" in API group \"{group}\" {scope}"
            ),
        )
        .about(group, plural, name.unwrap_or(""))
    }

    /// 405.
    pub fn method_not_allowed() -> Self {
        Self::bare(
            Reason::MethodNotAllowed,
            "the server does not allow this method on the requested resource",
        )
    }

    /// 415 for a patch type the resource does not accept.
    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::bare(
            Reason::UnsupportedMediaType,
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml (got {content_type})"
            ),
        )
    }

    /// 410 for a watch from a resource version older than the kept history.
    pub fn expired(requested: u64, oldest: u64) -> Self {
        Self::bare(
            Reason::Expired,
            format!("too old resource version: {requested} ({oldest})"),
        )
    }

    /// 429 with `Retry-After: 1`.
    pub fn too_many_requests() -> Self {
        let mut e = Self::bare(
            Reason::TooManyRequests,
            "Too many requests, please try again later.",
        );
        e.details.retry_after_seconds = Some(1);
        e
    }

    /// 500.
    pub fn internal(message: &str) -> Self {
        Self::bare(
            Reason::InternalError,
            format!("Internal error occurred: {message}"),
        )
    }

    /// The HTTP status code.
    pub fn code(&self) -> u16 {
        self.reason.code()
    }

    /// The object or resource does not exist.
    pub fn is_not_found(&self) -> bool {
        self.reason == Reason::NotFound
    }

    /// A create found the name taken.
    pub fn is_already_exists(&self) -> bool {
        self.reason == Reason::AlreadyExists
    }

    /// A write lost an optimistic-concurrency race or a precondition.
    pub fn is_conflict(&self) -> bool {
        self.reason == Reason::Conflict
    }

    /// The object failed validation.
    pub fn is_invalid(&self) -> bool {
        self.reason == Reason::Invalid
    }

    /// The caller's access does not allow the request.
    pub fn is_forbidden(&self) -> bool {
        self.reason == Reason::Forbidden
    }

    /// The `Status` object a Kubernetes client expects in the response body.
    pub fn to_status(&self) -> Value {
        let mut details = serde_json::Map::new();
        let d = &self.details;
        if let Some(n) = &d.name {
            details.insert("name".into(), json!(n));
        }
        if let Some(g) = &d.group
            && !g.is_empty()
        {
            details.insert("group".into(), json!(g));
        }
        if let Some(k) = &d.kind {
            details.insert("kind".into(), json!(k));
        }
        if !d.causes.is_empty() {
            details.insert(
                "causes".into(),
                Value::Array(
                    d.causes
                        .iter()
                        .map(
                            |c| json!({"reason": c.reason, "message": c.message, "field": c.field}),
                        )
                        .collect(),
                ),
            );
        }
        if let Some(s) = d.retry_after_seconds {
            details.insert("retryAfterSeconds".into(), json!(s));
        }
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason.as_str(),
            "code": self.code(),
        });
        if !details.is_empty() {
            status["details"] = Value::Object(details);
        }
        status
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_status_names_the_object_like_kubernetes() {
        let status = ApiError::not_found("apps", "deployments", "istiod").to_status();

        assert_eq!(status["message"], "deployments.apps \"istiod\" not found");
        assert_eq!(status["reason"], "NotFound");
        assert_eq!(status["code"], 404);
        assert_eq!(status["details"]["kind"], "deployments");
        assert_eq!(status["details"]["group"], "apps");
    }

    #[test]
    fn forbidden_message_matches_the_rbac_wording_at_cluster_scope() {
        let e = ApiError::forbidden(
            "system:serviceaccount:kubeflow:ckf-migrator",
            "list",
            "",
            "nodes",
            None,
            None,
            None,
        );

        assert_eq!(
            e.message,
            "nodes is forbidden: User \"system:serviceaccount:kubeflow:ckf-migrator\" cannot list resource \"nodes\" in API group \"\" at the cluster scope"
        );
        assert_eq!(e.code(), 403);
    }
}
