//! Faults on demand: named knobs a test turns to make the controller misbehave.
//!
//! Each knob is data read by the controller (drop a connection, fail a call, delay a reply, the
//! model "moved") or by the model (unit in error, slow settling). Start at [`Faults`].

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Duration;

use super::{ApiError, Model};

/// How many times an injected failure fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Times {
    /// The next matching call only.
    Once,
    /// The next N matching calls.
    N(u32),
    /// Every matching call until cleared.
    Always,
}

/// Where the model "moved" to: Login answers `redirection required` with these details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// The new controller's API address (loopback only).
    pub addr: SocketAddr,
    /// PEM of the new controller's CA.
    pub ca_cert: String,
    /// `controller-<uuid>` of the new controller.
    pub controller_tag: String,
    /// Alias of the new controller.
    pub controller_alias: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub error: ApiError,
    pub remaining: Option<u32>,
}

#[derive(Debug, Default)]
pub(crate) struct FaultState {
    /// Global request index (1-based) at which the receiving connection is dropped.
    pub drop_at: Option<u64>,
    /// `Facade.Method` → injected error.
    pub failures: BTreeMap<String, Failure>,
    /// `Facade.Method` → reply delay.
    pub delays: BTreeMap<String, Duration>,
    /// Multiplier on every settling delay.
    pub slow_global: Option<f64>,
    /// Per-application multiplier on settling delays.
    pub slow_apps: BTreeMap<String, f64>,
    pub redirect: Option<Redirect>,
    /// Applications whose due changes wait for a release.
    pub held: BTreeSet<String>,
    /// Charm → resources Charmhub's `ListCharmResources` leaves out.
    pub omitted_resources: BTreeMap<String, BTreeSet<String>>,
    pub hold_all: bool,
}

/// The fault knobs of one model and its controller. Cheap to clone; changes apply at once to
/// every connection.
#[derive(Clone)]
pub struct Faults {
    pub(crate) model: Model,
}

impl Faults {
    /// Drops the connection that receives the `nth` request from now (1 = the next one), without
    /// replying to it. Counts requests on every connection of this model's controller.
    pub fn drop_connection_at(&self, nth: u64) {
        let nth = nth.max(1);
        let seen = self.model.shared.stats_total();
        self.model.shared.faults().drop_at = Some(seen + nth);
    }

    /// Answers `method` (`"Facade.Method"`, e.g. `"Application.SetCharm"`) with `message` and
    /// `code` (empty for none) instead of running it, `times` times. The failure replaces the
    /// call after the login and schema checks, so the model does not change.
    pub fn fail(&self, method: &str, message: &str, code: &str, times: Times) {
        let remaining = match times {
            Times::Once => Some(1),
            Times::N(n) => Some(n),
            Times::Always => None,
        };
        self.model.shared.faults().failures.insert(
            method.to_string(),
            Failure {
                error: ApiError::new(code, message),
                remaining,
            },
        );
    }

    /// Delays the reply to every call of `method` by `delay` (other calls on the same connection
    /// overtake it, as they do on a real controller).
    pub fn delay_reply(&self, method: &str, delay: Duration) {
        self.model
            .shared
            .faults()
            .delays
            .insert(method.to_string(), delay);
    }

    /// Puts `unit` (`app/N`) in error: workload `error` with `hook failed: "<hook>"`, agent
    /// `error`, until [`Faults::resolve`].
    ///
    /// # Errors
    /// `unit "x" not found` when there is no such unit.
    pub fn unit_error(&self, unit: &str, hook: &str) -> Result<(), ApiError> {
        self.model.set_unit_error(unit, Some(hook.to_string()))
    }

    /// Clears the error of `unit` (`juju resolve`).
    ///
    /// # Errors
    /// `unit "x" not found` when there is no such unit.
    pub fn resolve(&self, unit: &str) -> Result<(), ApiError> {
        self.model.set_unit_error(unit, None)
    }

    /// Charmhub stops listing `resource` of `charm` in `Charms.ListCharmResources` (the charm
    /// still declares it in `CharmInfo`, and `AddPendingResources` still takes it): the case
    /// where the Go CLI upgrades a store resource because the store offers no revision to
    /// compare with (`shouldUpgradeResource`, `cmd/juju/application/utils/utils.go` at v3.6.11).
    pub fn store_omits_resource(&self, charm: &str, resource: &str) {
        self.model
            .shared
            .faults()
            .omitted_resources
            .entry(charm.to_string())
            .or_default()
            .insert(resource.to_string());
    }

    /// The resources of `charm` Charmhub leaves out (see [`Faults::store_omits_resource`]).
    pub(crate) fn omitted_resources(&self, charm: &str) -> BTreeSet<String> {
        self.model
            .shared
            .faults()
            .omitted_resources
            .get(charm)
            .cloned()
            .unwrap_or_default()
    }

    /// Multiplies every settling delay started from now on by `multiplier`.
    pub fn slow_settling(&self, multiplier: f64) {
        self.model.shared.faults().slow_global = Some(multiplier);
    }

    /// Multiplies the settling delays of `app` started from now on by `multiplier`.
    pub fn slow_settling_for(&self, app: &str, multiplier: f64) {
        self.model
            .shared
            .faults()
            .slow_apps
            .insert(app.to_string(), multiplier);
    }

    /// Holds every change of `app` that comes due (deploy stages, removal, upgrade, relation
    /// and config hooks) until [`Faults::release_settling`]: a test can observe a transitional
    /// state (dying, executing) without racing a timer. Timers of relations count against the
    /// first application of the relation key.
    pub fn hold_settling(&self, app: &str) {
        self.model.shared.faults().held.insert(app.to_string());
    }

    /// Holds the settling of every application, like [`Faults::hold_settling`].
    pub fn hold_all_settling(&self) {
        self.model.shared.faults().hold_all = true;
    }

    /// Releases every hold; held changes then complete at once.
    pub fn release_settling(&self) {
        {
            let mut faults = self.model.shared.faults();
            faults.held.clear();
            faults.hold_all = false;
        }
        self.model.shared.released.notify_waiters();
    }

    /// The model "moved": every Login on it answers `redirection required` with `redirect` in
    /// `error-info`, and `Admin.RedirectInfo` returns it.
    ///
    /// # Panics
    /// If `redirect.addr` is not a loopback address (the twin publishes nothing else).
    pub fn model_moved(&self, redirect: Redirect) {
        assert!(
            redirect.addr.ip().is_loopback(),
            "the twin only publishes loopback addresses"
        );
        self.model.shared.faults().redirect = Some(redirect);
    }

    /// Takes the controller down: every connection drops at once and new ones are refused
    /// (the listening socket is closed, so clients see "connection refused"), until
    /// [`Faults::controller_up`]. The model goes on settling meanwhile, as a real one does.
    pub fn controller_down(&self) {
        self.model.shared.down.send_replace(true);
    }

    /// Brings the controller back on the same address.
    pub fn controller_up(&self) {
        self.model.shared.down.send_replace(false);
    }

    /// Takes the controller down for `outage`, then brings it back. Must be called inside a
    /// tokio runtime.
    pub fn controller_down_for(&self, outage: Duration) {
        self.controller_down();
        let faults = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(outage).await;
            faults.controller_up();
        });
    }

    /// Whether the controller is down.
    pub fn is_controller_down(&self) -> bool {
        *self.model.shared.down.borrow()
    }

    /// Turns every knob back to normal (units in error stay in error: use [`Faults::resolve`]).
    pub fn clear(&self) {
        *self.model.shared.faults() = FaultState::default();
        self.model.shared.released.notify_waiters();
        self.controller_up();
    }
}

impl FaultState {
    /// Whether the request with global index `index` must drop its connection.
    pub(crate) fn take_drop(&mut self, index: u64) -> bool {
        if self.drop_at == Some(index) {
            self.drop_at = None;
            return true;
        }
        false
    }

    /// The injected failure for `method`, consuming one use.
    pub(crate) fn take_failure(&mut self, method: &str) -> Option<ApiError> {
        let failure = self.failures.get_mut(method)?;
        let error = failure.error.clone();
        if let Some(n) = failure.remaining.as_mut() {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.failures.remove(method);
            }
        }
        Some(error)
    }

    /// Whether the settling of `app` is held.
    pub(crate) fn holds(&self, app: &str) -> bool {
        self.hold_all || self.held.contains(app)
    }

    /// Combined slow-settling multiplier for `app`.
    pub(crate) fn slowness(&self, app: &str) -> f64 {
        self.slow_global.unwrap_or(1.0) * self.slow_apps.get(app).copied().unwrap_or(1.0)
    }
}
