//! PLACEHOLDER — replaced by the Juju client implementation (issue 3).
//!
//! The signatures below are the contract the engine builds against.
#![allow(missing_docs, unused_variables)]

use std::collections::BTreeMap;
use std::time::Duration;

use super::{
    ApplicationConfig, Credentials, DeploySpec, Error, ModelStatus, RefreshOutcome, Result,
};

/// Connection tuning.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Per-call timeout.
    pub call_timeout: Duration,
    /// Interval between `Pinger.Ping` calls.
    pub ping_interval: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            call_timeout: Duration::from_secs(120),
            ping_interval: Duration::from_secs(60),
        }
    }
}

/// What login told us.
#[derive(Debug, Clone, Default)]
pub struct LoginInfo {
    pub user: String,
    pub model_uuid: String,
    pub model_access: String,
    pub controller_access: String,
    pub server_version: String,
    pub facades: BTreeMap<String, u32>,
}

/// A logged-in connection to one model.
pub struct Client {}

impl Client {
    pub async fn connect(credentials: &Credentials, options: ConnectOptions) -> Result<Client> {
        Err(Error::Connect {
            attempts: vec!["not implemented".into()],
        })
    }
    pub fn login_info(&self) -> &LoginInfo {
        unimplemented!()
    }
    pub async fn full_status(&self) -> Result<ModelStatus> {
        unimplemented!()
    }
    pub async fn destroy_application(
        &self,
        application: &str,
        destroy_storage: bool,
    ) -> Result<()> {
        unimplemented!()
    }
    pub async fn deploy(&self, spec: &DeploySpec) -> Result<()> {
        unimplemented!()
    }
    pub async fn refresh(&self, application: &str, channel: &str) -> Result<RefreshOutcome> {
        unimplemented!()
    }
    /// Returns `true` if the relation was added, `false` if it was already there.
    pub async fn add_relation(&self, a: &str, b: &str) -> Result<bool> {
        unimplemented!()
    }
    pub async fn set_config(
        &self,
        application: &str,
        settings: &BTreeMap<String, String>,
    ) -> Result<()> {
        unimplemented!()
    }
    pub async fn application_config(&self, application: &str) -> Result<ApplicationConfig> {
        unimplemented!()
    }
    pub async fn close(self) {}
}
