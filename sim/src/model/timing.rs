//! How long each change takes to settle, and the one knob that scales them all.
//!
//! Base delays are realistic seconds for a CKF model on MicroK8s (chosen, not measured): tests
//! multiply them by ~0.001, the demo by ~0.05. Only durations live here, not what settles.

use std::time::Duration;

/// Settling speed of the twin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    /// Multiplier applied to every base delay: 1.0 = real time, 0.001 = milliseconds.
    pub scale: f64,
}

impl Default for Timing {
    fn default() -> Self {
        Timing { scale: 1.0 }
    }
}

impl Timing {
    /// Real-time delays.
    pub fn realistic() -> Self {
        Timing { scale: 1.0 }
    }

    /// Delays in milliseconds, for tests.
    pub fn fast() -> Self {
        Timing { scale: 0.001 }
    }

    /// A pod that a Kubernetes rollout creates (`kubectl rollout restart`, a new pod template):
    /// 5 s from scheduled to running and ready (image cached, readiness probe passing). A rollout
    /// takes about this per pod: Deployments surge one new pod and delete an old one once it is
    /// ready, StatefulSets and DaemonSets replace one pod at a time.
    pub const POD_START: Duration = Duration::from_secs(5);

    /// [`Timing::POD_START`], scaled.
    pub fn pod_start(&self) -> Duration {
        self.scaled(Self::POD_START, 1.0)
    }

    /// Applies the scale and an extra multiplier (the slow-settling fault) to a base delay.
    pub(crate) fn scaled(&self, base: Duration, extra: f64) -> Duration {
        let factor = (self.scale * extra).max(0.0);
        Duration::from_secs_f64(base.as_secs_f64() * factor)
    }
}

/// A kind of change, each with its base delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// `juju deploy`, first stage: 24 s of units allocating (pod scheduled, agent downloaded).
    Allocate,
    /// `juju deploy`, second stage: 36 s of install hook; 60 s in all to active/idle.
    Install,
    /// `juju remove-application`: 30 s from dying to gone.
    Remove,
    /// Removing `istio-pilot`: 90 s, its remove hook runs `istioctl uninstall --purge`.
    RemovePurge,
    /// `juju refresh`: 30 s of upgrade-charm.
    Refresh,
    /// `juju integrate`: 5 s of relation hooks on both sides.
    Relate,
    /// `juju remove-relation` or the far side of a removed application: 5 s.
    Unrelate,
    /// `juju config` / `juju trust`: 5 s of config-changed.
    Config,
}

impl Change {
    /// Base delay at scale 1.0.
    pub fn base(self) -> Duration {
        Duration::from_secs(match self {
            Change::Allocate => 24,
            Change::Install => 36,
            Change::Remove => 30,
            Change::RemovePurge => 90,
            Change::Refresh => 30,
            Change::Relate | Change::Unrelate | Change::Config => 5,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scale_knob_multiplies_base_delays() {
        let t = Timing { scale: 0.001 };
        assert_eq!(
            t.scaled(Change::Allocate.base(), 1.0),
            Duration::from_millis(24)
        );
        assert_eq!(
            t.scaled(Change::Remove.base(), 2.0),
            Duration::from_millis(60)
        );
    }
}
