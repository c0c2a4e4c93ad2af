//! The request log: every HTTP request the API server answered, for tests ("verify sent no
//! mutating request") and benchmarks (request counts).
//!
//! A record holds the method, path with query, Kubernetes verb, resource, namespace, status code
//! and whether the request was a write that is not a dry run. Never bodies or headers: tokens
//! and secrets stay out of the log. Knows nothing of HTTP or the store.

use std::sync::{Arc, Mutex};

/// One answered request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    /// HTTP method.
    pub method: String,
    /// Path and query as received.
    pub path: String,
    /// Kubernetes verb (`get`, `list`, `watch`, `create`, `update`, `patch`, `delete`,
    /// `deletecollection`), or the lowercased method for non-resource paths.
    pub verb: String,
    /// Resource (plural, with `/subresource` if any), `None` for discovery and other paths.
    pub resource: Option<String>,
    /// API group of the resource ("" for core).
    pub group: Option<String>,
    /// Namespace in the path, if any.
    pub namespace: Option<String>,
    /// Status code answered.
    pub status: u16,
    /// A write verb that was not a dry run (counted whether it succeeded or not).
    pub mutating: bool,
}

/// The protocol a client connection settled on by ALPN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// HTTP/1.1: one request at a time; a watch holds the connection.
    Http1,
    /// HTTP/2: requests and watches multiplexed.
    Http2,
}

/// The log of a store's servers. Cheap to clone; clones share the log.
#[derive(Debug, Clone, Default)]
pub struct RequestLog {
    records: Arc<Mutex<Vec<RequestRecord>>>,
    connections: Arc<Mutex<Vec<Protocol>>>,
}

impl RequestLog {
    fn records_mut(&self) -> std::sync::MutexGuard<'_, Vec<RequestRecord>> {
        // Nothing panics while holding this lock; a poisoned log is still a correct log.
        self.records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn record(&self, r: RequestRecord) {
        self.records_mut().push(r);
    }

    pub(crate) fn connected(&self, protocol: Protocol) {
        self.connections
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(protocol);
    }

    /// The protocol of every connection accepted (TLS handshake done) since start or the last
    /// [`reset`](Self::reset), in order: how many connections a client needed.
    pub fn connections(&self) -> Vec<Protocol> {
        self.connections
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Number of requests since start or the last [`reset`](Self::reset).
    pub fn count(&self) -> usize {
        self.records_mut().len()
    }

    /// Number of mutating requests.
    pub fn mutating_count(&self) -> usize {
        self.records_mut().iter().filter(|r| r.mutating).count()
    }

    /// Number of requests with this verb on this resource (plural, e.g. `pods`,
    /// `deployments/status`).
    pub fn count_of(&self, verb: &str, resource: &str) -> usize {
        self.records_mut()
            .iter()
            .filter(|r| r.verb == verb && r.resource.as_deref() == Some(resource))
            .count()
    }

    /// A copy of every record, oldest first.
    pub fn records(&self) -> Vec<RequestRecord> {
        self.records_mut().clone()
    }

    /// The mutating records, oldest first.
    pub fn mutating(&self) -> Vec<RequestRecord> {
        self.records_mut()
            .iter()
            .filter(|r| r.mutating)
            .cloned()
            .collect()
    }

    /// Forgets every record.
    pub fn reset(&self) {
        self.records_mut().clear();
        self.connections
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(verb: &str, resource: &str, mutating: bool) -> RequestRecord {
        RequestRecord {
            method: "GET".into(),
            path: "/".into(),
            verb: verb.into(),
            resource: Some(resource.into()),
            group: Some(String::new()),
            namespace: None,
            status: 200,
            mutating,
        }
    }

    #[test]
    fn counts_by_verb_and_resource_and_resets() {
        let log = RequestLog::default();
        log.record(rec("list", "pods", false));
        log.record(rec("patch", "pods", true));
        log.record(rec("list", "pods", false));

        assert_eq!(log.count(), 3);
        assert_eq!(log.mutating_count(), 1);
        assert_eq!(log.count_of("list", "pods"), 2);

        log.reset();

        assert_eq!(log.count(), 0);
    }
}
