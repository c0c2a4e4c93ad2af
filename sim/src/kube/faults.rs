//! Faults on demand: make the API server answer 429 or 500 for the next N matching requests or
//! for a while.
//!
//! A test arms a [`Fault`] through [`Faults::inject`]; the HTTP layer asks [`Faults::check`]
//! before serving each request (after authentication, where Kubernetes' priority and fairness
//! filter would answer 429). Matching is by path prefix and Kubernetes verb (`get`, `list`,
//! `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`). Knows nothing of HTTP.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::kube::error::ApiError;

/// What a fault answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// 429 TooManyRequests with `Retry-After: 1`.
    TooManyRequests,
    /// 500 InternalError.
    InternalError,
}

/// One armed fault: which requests it hits and for how long.
#[derive(Debug, Clone)]
pub struct Fault {
    kind: FaultKind,
    remaining: Option<u32>,
    until: Option<Instant>,
    duration: Option<Duration>,
    path_prefix: Option<String>,
    verb: Option<String>,
}

impl Fault {
    /// A fault answering 429; by default it hits the next request only.
    pub fn too_many_requests() -> Self {
        Self::new(FaultKind::TooManyRequests)
    }

    /// A fault answering 500; by default it hits the next request only.
    pub fn internal_error() -> Self {
        Self::new(FaultKind::InternalError)
    }

    fn new(kind: FaultKind) -> Self {
        Fault {
            kind,
            remaining: Some(1),
            until: None,
            duration: None,
            path_prefix: None,
            verb: None,
        }
    }

    /// Hit the next `n` matching requests.
    pub fn times(mut self, n: u32) -> Self {
        self.remaining = Some(n);
        self.duration = None;
        self
    }

    /// Hit every matching request for `d` from when the fault is injected.
    pub fn for_duration(mut self, d: Duration) -> Self {
        self.remaining = None;
        self.duration = Some(d);
        self
    }

    /// Only requests whose path starts with `prefix` (e.g. `/apis/apps/v1/namespaces/kubeflow`).
    pub fn path_prefix(mut self, prefix: &str) -> Self {
        self.path_prefix = Some(prefix.to_string());
        self
    }

    /// Only requests with this Kubernetes verb (`list`, `patch`, …).
    pub fn verb(mut self, verb: &str) -> Self {
        self.verb = Some(verb.to_string());
        self
    }

    fn matches(&self, path: &str, verb: &str) -> bool {
        self.path_prefix
            .as_deref()
            .is_none_or(|p| path.starts_with(p))
            && self.verb.as_deref().is_none_or(|v| v == verb)
    }

    fn expired(&self, now: Instant) -> bool {
        self.remaining == Some(0) || self.until.is_some_and(|u| now >= u)
    }
}

/// The armed faults of a store's servers. Cheap to clone; clones share the faults.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    armed: Arc<Mutex<Vec<Fault>>>,
}

impl Faults {
    fn armed(&self) -> std::sync::MutexGuard<'_, Vec<Fault>> {
        // Nothing can panic while this lock is held, but never let poisoning hide a fault.
        self.armed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Arms a fault. Faults are checked in the order injected; the first match answers.
    pub fn inject(&self, mut fault: Fault) {
        if let Some(d) = fault.duration {
            fault.until = Some(Instant::now() + d);
        }
        self.armed().push(fault);
    }

    /// Disarms every fault.
    pub fn clear(&self) {
        self.armed().clear();
    }

    /// Whether any fault is still armed.
    pub fn is_armed(&self) -> bool {
        let now = Instant::now();
        self.armed().iter().any(|f| !f.expired(now))
    }

    /// The error to answer a request with, if a fault hits it (consuming one of its uses).
    pub fn check(&self, path: &str, verb: &str) -> Option<ApiError> {
        let now = Instant::now();
        let mut armed = self.armed();
        armed.retain(|f| !f.expired(now));
        let f = armed.iter_mut().find(|f| f.matches(path, verb))?;
        if let Some(n) = &mut f.remaining {
            *n -= 1;
        }
        Some(match f.kind {
            FaultKind::TooManyRequests => ApiError::too_many_requests(),
            FaultKind::InternalError => ApiError::internal("injected fault"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_counted_fault_hits_exactly_n_matching_requests() {
        let faults = Faults::default();
        faults.inject(Fault::too_many_requests().times(2).verb("list"));

        let hits: Vec<bool> = ["list", "get", "list", "list"]
            .iter()
            .map(|v| faults.check("/api/v1/pods", v).is_some())
            .collect();

        assert_eq!(hits, [true, false, true, false]);
    }

    #[test]
    fn a_path_prefix_limits_the_fault() {
        let faults = Faults::default();
        faults.inject(Fault::internal_error().times(5).path_prefix("/apis/apps"));

        assert!(faults.check("/api/v1/pods", "list").is_none());
        let e = faults
            .check("/apis/apps/v1/deployments", "list")
            .expect("hit");
        assert_eq!(e.code(), 500);
    }

    #[tokio::test(start_paused = true)]
    async fn a_timed_fault_stops_after_its_duration() {
        let faults = Faults::default();
        faults.inject(Fault::too_many_requests().for_duration(Duration::from_secs(5)));
        assert!(faults.check("/api", "get").is_some());
        assert!(faults.check("/api", "get").is_some());

        tokio::time::advance(Duration::from_secs(6)).await;

        assert!(faults.check("/api", "get").is_none());
        assert!(!faults.is_armed());
    }
}
