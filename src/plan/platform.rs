//! The Kubernetes substrate, which decides istio-k8s's `platform` config and the Cilium phase.

use std::fmt;
use std::str::FromStr;

/// The `platform` action parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Platform {
    /// Detect from the nodes (MicroK8s or Canonical Kubernetes).
    Auto,
    /// MicroK8s.
    Microk8s,
    /// Canonical Kubernetes (k8s-snap, Cilium): istio-k8s `platform=""`, Cilium configured.
    CanonicalK8s,
    /// K3s.
    K3s,
    /// k3d.
    K3d,
    /// Google Kubernetes Engine.
    Gke,
    /// minikube.
    Minikube,
    /// A substrate that needs no platform value (e.g. EKS): istio-k8s `platform=""`.
    None,
}

impl Platform {
    /// Every accepted value, as spelled in `actions.yaml`.
    pub const ALL: [Platform; 8] = [
        Platform::Auto,
        Platform::Microk8s,
        Platform::CanonicalK8s,
        Platform::K3s,
        Platform::K3d,
        Platform::Gke,
        Platform::Minikube,
        Platform::None,
    ];

    /// The parameter spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Auto => "auto",
            Platform::Microk8s => "microk8s",
            Platform::CanonicalK8s => "canonical-k8s",
            Platform::K3s => "k3s",
            Platform::K3d => "k3d",
            Platform::Gke => "gke",
            Platform::Minikube => "minikube",
            Platform::None => "none",
        }
    }

    /// istio-k8s's `platform` config value. Canonical K8s and `none` leave it empty: the guide's
    /// `platform=""`, which cannot be passed through `juju run`'s YAML parsing, hence the names.
    /// `None` for `auto`, which must be resolved first.
    pub fn istio_value(self) -> Option<&'static str> {
        match self {
            Platform::Auto => None,
            Platform::CanonicalK8s | Platform::None => Some(""),
            other => Some(other.as_str()),
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown platform name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown platform {0:?}: use one of auto, microk8s, canonical-k8s, k3s, k3d, gke, minikube, none"
)]
pub struct UnknownPlatform(pub String);

impl FromStr for Platform {
    type Err = UnknownPlatform;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Platform::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownPlatform(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_platform_round_trips() {
        for p in Platform::ALL {
            assert_eq!(p.as_str().parse::<Platform>(), Ok(p));
        }
    }

    #[test]
    fn canonical_k8s_and_none_mean_an_empty_istio_platform() {
        assert_eq!(Platform::CanonicalK8s.istio_value(), Some(""));
        assert_eq!(Platform::None.istio_value(), Some(""));
        assert_eq!(Platform::Microk8s.istio_value(), Some("microk8s"));
        assert_eq!(Platform::Auto.istio_value(), None);
    }

    #[test]
    fn unknown_platform_names_the_choices() {
        let err = "eks".parse::<Platform>().unwrap_err();
        assert!(err.to_string().contains("canonical-k8s"), "{err}");
    }
}
