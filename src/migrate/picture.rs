//! What a phase knows of the model and the cluster while it waits: one consistent read at the
//! start, moved on by the AllWatcher's deltas and by re-reads of what the deltas cannot say.

use std::collections::{BTreeMap, BTreeSet};

use crate::juju::{self, Applied, Delta};
use crate::plan::{ClusterState, Observed};

use super::observe::overlay;

/// The model and the cluster as last observed.
#[derive(Debug, Clone, Default)]
pub(crate) struct Picture {
    /// The model: a `FullStatus`, and every delta since.
    pub status: juju::ModelStatus,
    /// `Application.Get` of the applications read so far (config, trust, channel).
    pub configs: BTreeMap<String, juju::ApplicationConfig>,
    /// The Kubernetes objects the phase reads.
    pub cluster: ClusterState,
    /// Whether deltas moved the status on since it was read whole: a phase that looks done on
    /// deltas alone is confirmed by one more `FullStatus` before it is declared done.
    pub moved: bool,
    /// Applications read after this run wrote to them, whose next new-charm delta (the write's
    /// own echo) needs no read.
    pub read_after_write: BTreeSet<String>,
}

impl Picture {
    /// The picture in the plan's terms.
    pub fn observed(&self) -> Observed {
        let mut observed = crate::observed::from_status(&self.status);
        overlay(&mut observed, self.configs.values());
        observed.cluster = self.cluster.clone();
        observed
    }

    /// A fresh `FullStatus` replaces the status.
    pub fn read_whole(&mut self, status: juju::ModelStatus) {
        self.status = status;
        self.moved = false;
    }

    /// Takes in `Application.Get` answers made right after this run wrote to the applications.
    pub fn read_after_write(&mut self, configs: Vec<juju::ApplicationConfig>) {
        self.read_after_write
            .extend(configs.iter().map(|c| c.application.clone()));
        self.read_configs(configs);
    }

    /// Takes in `Application.Get` answers.
    pub fn read_configs(&mut self, configs: Vec<juju::ApplicationConfig>) {
        for config in configs {
            self.configs.insert(config.application.clone(), config);
        }
    }

    /// Moves the status on by `deltas`; returns the applications whose channel and config must
    /// be read again (new, or running another charm).
    pub fn apply(&mut self, deltas: &[Delta]) -> BTreeSet<String> {
        let mut read = BTreeSet::new();
        for delta in deltas {
            if let Applied::ReadApplication(name) = self.status.apply(delta)
                && !self.read_after_write.remove(&name)
            {
                read.insert(name);
            }
            if let Delta::Application {
                removed: true,
                name,
                ..
            } = delta
            {
                self.configs.remove(name);
                read.remove(name);
            }
        }
        self.moved |= !deltas.is_empty();
        read
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::juju::{ApplicationConfig, Life, Status};

    fn app(name: &str, url: &str) -> Delta {
        Delta::Application {
            removed: false,
            name: name.into(),
            charm_url: url.into(),
            life: Life::Alive,
            status: Status::default(),
        }
    }

    #[test]
    fn a_new_charm_asks_for_a_read_and_the_read_gives_the_channel() {
        let mut picture = Picture::default();
        let read = picture.apply(&[app("istio-k8s", "ch:amd64/istio-k8s-30")]);
        assert_eq!(read, BTreeSet::from(["istio-k8s".to_string()]));
        assert!(picture.moved);
        picture.read_configs(vec![ApplicationConfig {
            application: "istio-k8s".into(),
            charm: "istio-k8s".into(),
            channel: "2/edge".into(),
            trust: true,
            ..ApplicationConfig::default()
        }]);
        let observed = picture.observed();
        let istio = &observed.applications["istio-k8s"];
        assert_eq!(
            (istio.charm.as_str(), istio.channel.as_str(), istio.revision),
            ("istio-k8s", "2/edge", Some(30))
        );
        assert_eq!(istio.trust, Some(true));

        picture.read_whole(picture.status.clone());
        assert!(!picture.moved, "a whole read is the new starting point");
    }

    #[test]
    fn the_echo_of_a_refresh_already_read_back_is_not_read_again() {
        let mut picture = Picture::default();
        picture.apply(&[app("minio", "ch:amd64/minio-10")]);
        picture.read_after_write(vec![ApplicationConfig {
            application: "minio".into(),
            channel: "1.10/edge".into(),
            ..ApplicationConfig::default()
        }]);
        assert!(
            picture
                .apply(&[app("minio", "ch:amd64/minio-12")])
                .is_empty()
        );
        assert_eq!(
            picture.apply(&[app("minio", "ch:amd64/minio-13")]),
            BTreeSet::from(["minio".to_string()]),
            "a later charm change is read"
        );
    }

    #[test]
    fn a_removed_application_forgets_its_config() {
        let mut picture = Picture::default();
        picture.apply(&[app("istio-pilot", "ch:amd64/istio-pilot-1")]);
        picture.read_configs(vec![ApplicationConfig {
            application: "istio-pilot".into(),
            ..ApplicationConfig::default()
        }]);
        let gone = Delta::Application {
            removed: true,
            name: "istio-pilot".into(),
            charm_url: "ch:amd64/istio-pilot-1".into(),
            life: Life::Dying,
            status: Status::default(),
        };
        assert!(picture.apply(&[gone]).is_empty());
        assert!(picture.configs.is_empty());
        assert!(picture.observed().applications.is_empty());
    }
}
