//! One migration at a time: a `coordination.k8s.io/v1` Lease in the model namespace.
//!
//! The holder renews it while running and releases it on exit; if the holder dies, the Lease
//! expires after its duration and the next run takes over. A run by the same holder (the same
//! unit: Juju runs one action at a time per unit, so a previous holder of that name is dead)
//! takes over at once, and so does a run whose caller knows the holder is dead (the CLI checks for
//! a process on its own host).

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;
use tokio::task::JoinHandle;

use super::objects::FIELD_MANAGER;
use super::{Cluster, Error, Result};

/// Who holds a Lease and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseHolder {
    /// `holderIdentity`.
    pub holder: String,
    /// Seconds until it expires if not renewed (0 when expired).
    pub expires_in_secs: i64,
}

/// Why the Lease could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// Someone else holds it.
    #[error("another migration is running (Lease {namespace}/{name} held by {}; it expires in {} s unless renewed)", .holder.holder, .holder.expires_in_secs)]
    Held {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// The holder.
        holder: LeaseHolder,
    },
    /// The API failed.
    #[error(transparent)]
    Api(#[from] Error),
}

/// A held Lease; renewed in the background until [`LeaseGuard::release`] or drop.
pub struct LeaseGuard {
    api: Api<Lease>,
    name: String,
    holder: String,
    renewer: JoinHandle<()>,
    taken_from: Option<String>,
}

impl LeaseGuard {
    /// The live holder this Lease was taken from because the caller said it was gone.
    pub fn taken_from(&self) -> Option<&str> {
        self.taken_from.as_deref()
    }
}

impl Drop for LeaseGuard {
    fn drop(&mut self) {
        self.renewer.abort();
    }
}

fn now() -> MicroTime {
    MicroTime(jiff::Timestamp::now())
}

fn holder_of(lease: &Lease) -> Option<LeaseHolder> {
    let spec = lease.spec.as_ref()?;
    let holder = spec.holder_identity.clone().filter(|h| !h.is_empty())?;
    let duration = i64::from(spec.lease_duration_seconds.unwrap_or(0));
    let renewed = spec
        .renew_time
        .as_ref()
        .or(spec.acquire_time.as_ref())
        .map(|t| t.0.as_second())
        .unwrap_or(0);
    let expires_in_secs = (renewed + duration - jiff::Timestamp::now().as_second()).max(0);
    Some(LeaseHolder {
        holder,
        expires_in_secs,
    })
}

impl Cluster {
    /// The Lease's live holder, if any (an expired or released Lease has none).
    ///
    /// # Errors
    /// The API failing.
    pub async fn lease_holder(&self, namespace: &str, name: &str) -> Result<Option<LeaseHolder>> {
        let api: Api<Lease> = Api::namespaced(self.client.clone(), namespace);
        let lease = super::retrying(|| api.get_opt(name))
            .await
            .map_err(|e| Error::api("get", format!("Lease {namespace}/{name}"), e))?;
        Ok(lease
            .as_ref()
            .and_then(holder_of)
            .filter(|h| h.expires_in_secs > 0))
    }

    /// Takes the Lease for `holder`, renewing it every third of `duration` until released. An
    /// unexpired Lease is taken over when its holder is `holder` itself or `gone(holder)` says
    /// that holder no longer exists.
    ///
    /// # Errors
    /// [`LeaseError::Held`] if another live holder has it; [`LeaseError::Api`] otherwise.
    pub async fn acquire_lease(
        &self,
        namespace: &str,
        name: &str,
        holder: &str,
        duration: Duration,
        gone: impl Fn(&str) -> bool,
    ) -> Result<LeaseGuard, LeaseError> {
        let mut taken_from = None;
        let api: Api<Lease> = Api::namespaced(self.client.clone(), namespace);
        let object = format!("Lease {namespace}/{name}");
        let seconds = i32::try_from(duration.as_secs().max(1)).unwrap_or(i32::MAX);
        let spec = |transitions: i32| LeaseSpec {
            holder_identity: Some(holder.to_string()),
            lease_duration_seconds: Some(seconds),
            acquire_time: Some(now()),
            renew_time: Some(now()),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        };
        let params = PostParams {
            field_manager: Some(FIELD_MANAGER.into()),
            ..PostParams::default()
        };
        let held = |h: LeaseHolder| LeaseError::Held {
            namespace: namespace.into(),
            name: name.into(),
            holder: h,
        };
        match super::retrying(|| api.get_opt(name))
            .await
            .map_err(|e| Error::api("get", &object, e))?
        {
            None => {
                let mut lease = Lease {
                    spec: Some(spec(0)),
                    ..Lease::default()
                };
                lease.metadata.name = Some(name.into());
                if let Err(e) = api.create(&params, &lease).await {
                    let err = Error::api("create", &object, e);
                    // Lost a race with another run creating it at the same moment.
                    return Err(if err.is_conflict() {
                        held(LeaseHolder {
                            holder: "another run".into(),
                            expires_in_secs: i64::from(seconds),
                        })
                    } else {
                        err.into()
                    });
                }
            }
            Some(mut lease) => {
                if let Some(current) =
                    holder_of(&lease).filter(|h| h.expires_in_secs > 0 && h.holder != holder)
                {
                    if !gone(&current.holder) {
                        return Err(held(current));
                    }
                    taken_from = Some(current.holder);
                }
                let transitions = lease
                    .spec
                    .as_ref()
                    .and_then(|s| s.lease_transitions)
                    .unwrap_or(0)
                    + 1;
                lease.spec = Some(spec(transitions));
                // The resourceVersion read above makes this a compare-and-swap: a concurrent taker
                // gets 409 Conflict.
                if let Err(e) = api.replace(name, &params, &lease).await {
                    let err = Error::api("take over", &object, e);
                    return Err(if err.is_conflict() {
                        held(LeaseHolder {
                            holder: "another run".into(),
                            expires_in_secs: i64::from(seconds),
                        })
                    } else {
                        err.into()
                    });
                }
            }
        }
        let renewer = tokio::spawn(renew(api.clone(), name.to_string(), duration / 3));
        Ok(LeaseGuard {
            api,
            name: name.into(),
            holder: holder.into(),
            renewer,
            taken_from,
        })
    }
}

async fn renew(api: Api<Lease>, name: String, every: Duration) {
    let mut tick = tokio::time::interval(every.max(Duration::from_millis(100)));
    tick.tick().await;
    loop {
        tick.tick().await;
        let patch = Patch::Merge(json!({ "spec": { "renewTime": now() } }));
        if let Err(e) = api.patch(&name, &PatchParams::default(), &patch).await {
            tracing::warn!("cannot renew Lease {name}: {e}");
        }
    }
}

impl LeaseGuard {
    /// Stops renewing and gives the Lease up, if still ours.
    ///
    /// # Errors
    /// The API failing; the Lease then expires on its own.
    pub async fn release(self) -> Result<()> {
        self.renewer.abort();
        let object = format!("Lease {}", self.name);
        let Some(mut lease) = super::retrying(|| self.api.get_opt(&self.name))
            .await
            .map_err(|e| Error::api("get", &object, e))?
        else {
            return Ok(());
        };
        if lease
            .spec
            .as_ref()
            .and_then(|s| s.holder_identity.as_deref())
            != Some(self.holder.as_str())
        {
            return Ok(());
        }
        if let Some(spec) = lease.spec.as_mut() {
            spec.holder_identity = None;
            spec.renew_time = None;
        }
        self.api
            .replace(&self.name, &PostParams::default(), &lease)
            .await
            .map_err(|e| Error::api("release", object, e))?;
        Ok(())
    }
}
