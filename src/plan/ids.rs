//! Identifiers of the plan, parsed once at the edge so that a bad channel or endpoint cannot reach
//! the engine.

use std::fmt;
use std::str::FromStr;

/// A charm channel: `[track/]risk[/branch]`, e.g. `2.0/edge`, `ckf-1.10/edge`, `stable`.
///
/// Juju reports channels normalised: the `latest` track is dropped (`latest/stable` → `stable`).
/// Two channels are equal when they are equal after that normalisation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Channel {
    track: Option<String>,
    risk: String,
    branch: Option<String>,
}

const RISKS: [&str; 4] = ["stable", "candidate", "beta", "edge"];

/// A channel that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid channel {0:?}: expected [track/]risk[/branch] with risk stable, candidate, beta or edge"
)]
pub struct InvalidChannel(pub String);

impl Channel {
    /// The track, `None` for `latest`.
    pub fn track(&self) -> Option<&str> {
        self.track.as_deref()
    }

    /// The risk.
    pub fn risk(&self) -> &str {
        &self.risk
    }
}

impl FromStr for Channel {
    type Err = InvalidChannel;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidChannel(s.to_string());
        let parts: Vec<&str> = s.split('/').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(invalid());
        }
        let (track, risk, branch) = match parts.as_slice() {
            [risk] if RISKS.contains(risk) => (None, *risk, None),
            [track, risk] if RISKS.contains(risk) => (Some(*track), *risk, None),
            [risk, branch] if RISKS.contains(risk) => (None, *risk, Some(*branch)),
            [track, risk, branch] if RISKS.contains(risk) => (Some(*track), *risk, Some(*branch)),
            _ => return Err(invalid()),
        };
        Ok(Channel {
            track: track.filter(|t| *t != "latest").map(str::to_string),
            risk: risk.to_string(),
            branch: branch.map(str::to_string),
        })
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(track) = &self.track {
            write!(f, "{track}/")?;
        }
        f.write_str(&self.risk)?;
        if let Some(branch) = &self.branch {
            write!(f, "/{branch}")?;
        }
        Ok(())
    }
}

/// `application:endpoint`, as `juju integrate` takes it. The application part is a role of the
/// plan until it is resolved against the model.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EndpointRef {
    /// Application (role) name.
    pub application: String,
    /// Endpoint name.
    pub endpoint: String,
}

/// An endpoint reference that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid endpoint {0:?}: expected application:endpoint")]
pub struct InvalidEndpoint(pub String);

impl FromStr for EndpointRef {
    type Err = InvalidEndpoint;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once(':') {
            Some((app, endpoint))
                if is_name(app) && is_name(endpoint) && !endpoint.contains(':') =>
            {
                Ok(EndpointRef {
                    application: app.to_string(),
                    endpoint: endpoint.to_string(),
                })
            }
            _ => Err(InvalidEndpoint(s.to_string())),
        }
    }
}

impl fmt::Display for EndpointRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.application, self.endpoint)
    }
}

/// Juju application and endpoint names: lowercase letters, digits and hyphens.
pub(crate) fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ch(s: &str) -> Channel {
        s.parse().expect("valid channel")
    }

    #[test]
    fn channels_parse_with_track_risk_and_branch() {
        assert_eq!(ch("2.0/edge").track(), Some("2.0"));
        assert_eq!(ch("2.0/edge").risk(), "edge");
        assert_eq!(ch("ckf-1.10/edge").track(), Some("ckf-1.10"));
        assert_eq!(ch("edge").track(), None);
        assert_eq!(ch("1.28/stable/hotfix").to_string(), "1.28/stable/hotfix");
        assert_eq!(ch("stable/hotfix").to_string(), "stable/hotfix");
    }

    #[test]
    fn latest_track_is_dropped_as_juju_normalises_it() {
        assert_eq!(ch("latest/stable"), ch("stable"));
        assert_eq!(ch("latest/edge").to_string(), "edge");
    }

    #[test]
    fn bad_channels_are_refused() {
        for bad in ["", "2.0/", "2.0/nightly", "a/b/c/d", "/edge", "2.0//edge"] {
            assert!(bad.parse::<Channel>().is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn endpoints_parse_and_print() {
        let e: EndpointRef = "kfp-api:kfp-api-grpc".parse().expect("valid");
        assert_eq!(e.application, "kfp-api");
        assert_eq!(e.endpoint, "kfp-api-grpc");
        assert_eq!(e.to_string(), "kfp-api:kfp-api-grpc");
        for bad in ["kfp-api", ":x", "x:", "A:b", "a:b:c", "a b:c"] {
            assert!(
                bad.parse::<EndpointRef>().is_err(),
                "{bad:?} should not parse"
            );
        }
    }
}
