//! What the controller was asked: counts per `Facade.Method`, writes, schema violations.
//!
//! Tests read these to prove a client did (or did not) touch the model and spoke the schema.

use std::collections::BTreeMap;
use std::fmt;

/// Methods that change the model (counted in [`RequestStats::writes`]).
pub const WRITE_METHODS: &[&str] = &[
    "Application.DeployFromRepository",
    "Application.Deploy",
    "Application.DestroyApplication",
    "Application.SetCharm",
    "Charms.AddCharm",
    "Resources.AddPendingResources",
    "Application.AddRelation",
    "Application.DestroyRelation",
    "Application.SetConfigs",
    "Application.UnsetApplicationsConfig",
    "Application.ScaleApplications",
];

/// Which way a message that broke the schema was going.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Sent by the client: a client bug, refused with `bad request`.
    Request,
    /// Sent by the twin: a twin bug.
    Response,
}

/// A message that does not match Juju's schema for the facade version called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaViolation {
    /// Request or response.
    pub direction: Direction,
    /// Facade name.
    pub facade: String,
    /// Facade version called.
    pub version: u32,
    /// Method name.
    pub method: String,
    /// JSON path of the offending value, e.g. `params.applications[0].aplication-tag`.
    pub path: String,
    /// What is wrong, e.g. `unknown key`.
    pub what: String,
}

impl fmt::Display for SchemaViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dir = match self.direction {
            Direction::Request => "request",
            Direction::Response => "response",
        };
        write!(
            f,
            "{dir} {}({}).{}: {}: {}",
            self.facade, self.version, self.method, self.path, self.what
        )
    }
}

/// A snapshot of what the controller was asked since the model was created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestStats {
    /// Requests by `Facade.Method` (every request that named a facade, whatever its outcome).
    pub by_method: BTreeMap<String, u64>,
    /// Every request received, including ones dropped by a fault.
    pub total: u64,
    /// Requests to the methods in [`WRITE_METHODS`], whatever their outcome.
    pub writes: u64,
    /// Schema violations, requests and responses.
    pub violations: Vec<SchemaViolation>,
    /// Every write (`Facade.Method`, params as received), in arrival order: what a test reads
    /// to pin the shape of a write (SetCharm's `config-settings`).
    pub written: Vec<(String, serde_json::Value)>,
}

impl RequestStats {
    /// How many times `method` (`Facade.Method`) was called.
    pub fn count(&self, method: &str) -> u64 {
        self.by_method.get(method).copied().unwrap_or(0)
    }

    /// The params of every call of `method` (a write), in arrival order.
    pub fn writes_of(&self, method: &str) -> Vec<&serde_json::Value> {
        self.written
            .iter()
            .filter(|(m, _)| m == method)
            .map(|(_, p)| p)
            .collect()
    }

    /// Violations in requests (client bugs).
    pub fn request_violations(&self) -> Vec<&SchemaViolation> {
        self.violations
            .iter()
            .filter(|v| v.direction == Direction::Request)
            .collect()
    }

    /// Violations in responses (twin bugs).
    pub fn response_violations(&self) -> Vec<&SchemaViolation> {
        self.violations
            .iter()
            .filter(|v| v.direction == Direction::Response)
            .collect()
    }
}
