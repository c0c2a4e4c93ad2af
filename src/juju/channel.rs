//! Charm channels as Juju parses them, and how a refresh swaps the channel of a charm origin.
//!
//! Owns Juju's channel grammar (`track/risk/branch`, `risk`, `track`, `risk/branch`; juju/charm
//! `channel.go` `ParseChannel` and `Normalize`) and the Go CLI's rule for a refresh's target origin
//! (juju-api.md §5(d) step 2): keep the current origin unchanged and replace only its channel; a
//! channel without a track keeps the current track and branch and sets only the risk; a track
//! `latest` is dropped. It must not know about
//! the wire beyond [`CharmOrigin`]'s fields. Start at [`CharmChannel::parse`] and
//! [`origin_for_channel`].

use std::fmt;

use super::wire::{Base, CharmOrigin};

/// The four risks Charmhub knows, in Juju's order.
pub const RISKS: [&str; 4] = ["stable", "candidate", "beta", "edge"];

/// A charm channel as Juju parses it (`ParseChannel`), before normalisation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CharmChannel {
    /// Track (`1.24`, `latest`), if given.
    pub track: Option<String>,
    /// Risk, if given (`stable`, `candidate`, `beta`, `edge`).
    pub risk: Option<String>,
    /// Branch, if given.
    pub branch: Option<String>,
}

fn is_risk(s: &str) -> bool {
    RISKS.contains(&s)
}

impl CharmChannel {
    /// Parses a channel the way Juju's `ParseChannel` does.
    ///
    /// # Errors
    /// An empty channel, an empty component, a risk that is not `stable`, `candidate`, `beta` or `edge`, or more than
    /// three components; the message names the channel.
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.is_empty() {
            return Err("empty channel not valid".into());
        }
        let parts: Vec<&str> = s.split('/').collect();
        let (track, risk, branch) = match parts.as_slice() {
            [one] if is_risk(one) => (None, Some(*one), None),
            [one] => (Some(*one), None, None),
            [a, b] if is_risk(a) => (None, Some(*a), Some(*b)),
            [a, b] => (Some(*a), Some(*b), None),
            [a, b, c] => (Some(*a), Some(*b), Some(*c)),
            _ => {
                return Err(format!(
                    "channel is malformed and has too many components {s:?}"
                ));
            }
        };
        if let Some(risk) = risk
            && !is_risk(risk)
        {
            return Err(format!("risk in channel {s:?} not valid"));
        }
        if track == Some("") {
            return Err(format!("track in channel {s:?} not valid"));
        }
        if branch == Some("") {
            return Err(format!("branch in channel {s:?} not valid"));
        }
        Ok(Self {
            track: track.map(str::to_owned),
            risk: risk.map(str::to_owned),
            branch: branch.map(str::to_owned),
        })
    }

    /// Juju's `Normalize`: track `latest` dropped, missing risk becomes `stable`.
    pub fn normalize(&self) -> Self {
        Self {
            track: self.track.clone().filter(|t| t != "latest"),
            risk: Some(self.risk.clone().unwrap_or_else(|| "stable".into())),
            branch: self.branch.clone(),
        }
    }
}

impl fmt::Display for CharmChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<&str> = [&self.track, &self.risk, &self.branch]
            .into_iter()
            .filter_map(|p| p.as_deref())
            .collect();
        f.write_str(&parts.join("/"))
    }
}

/// The origin a refresh to `channel` resolves with: `current` unchanged (id, hash, revision,
/// base, architecture, instance key) except its channel, as the Go CLI's
/// `charmHubOriginResolver` does (`cmd/juju/application/refresher/refresher.go` at v3.6.11):
///
/// - a channel without a track (`stable`, `edge`, `edge/fix`) sets only the risk: the current
///   track **and branch** stay (a branch given with a lone risk is ignored, as there), and
///   nothing is normalised;
/// - a channel with a track replaces track, risk and branch with the normalised channel
///   (`latest` ⇒ no track, a missing risk ⇒ `stable`, no branch unless given).
///
/// Why keep `id` and `revision`: with an id the controller asks Charmhub to *refresh by id* and
/// answers the newest revision in the channel; without it, it would reinstall `revision`
/// (python-libjuju's bug, juju/python-libjuju#1083).
pub fn origin_for_channel(current: &CharmOrigin, channel: &CharmChannel) -> CharmOrigin {
    if channel.track.is_none() {
        return CharmOrigin {
            risk: channel.risk.clone().unwrap_or_else(|| current.risk.clone()),
            ..current.clone()
        };
    }
    let wanted = channel.normalize();
    CharmOrigin {
        track: wanted.track,
        risk: wanted.risk.unwrap_or_default(),
        branch: wanted.branch,
        ..current.clone()
    }
}

/// The origin a refresh to `revision` of `channel` resolves with, as the Go CLI builds it for
/// `juju refresh APP --channel C --revision N`: a revision makes the refresh a switch
/// (`cmd/juju/application/refresh.go`: `Switch: ... || c.Revision != -1`), and a switch takes
/// `stdOriginResolver`, i.e. `utils.MakeOrigin(ch, N, channel, platform)`
/// (`cmd/juju/application/refresher/refresher.go`, `cmd/juju/application/utils/origin.go` at
/// v3.6.11). So this is a fresh origin, not the current one edited:
///
/// - no id, hash, type or instance key: without an id the controller installs `revision`
///   (`core/charm/repository/charmhub.go` `refreshConfig`: no id and a revision is
///   `MethodRevision`);
/// - the channel exactly as parsed, not normalised (`charm.ParseChannel` in `refreshCommand.Run`);
/// - the current platform: its architecture (`amd64` when empty) and its base, whose channel is
///   the current track with the risk `stable` (`corebase.ParseBase` normalises `22.04`), the
///   legacy `kubernetes` base read as `ubuntu@20.04`.
pub fn origin_for_revision(
    current: &CharmOrigin,
    channel: &CharmChannel,
    revision: u32,
) -> CharmOrigin {
    let architecture = if current.architecture.is_empty() {
        // `arch.DefaultArchitecture`.
        "amd64".to_owned()
    } else {
        current.architecture.clone()
    };
    // `CoreCharmOrigin` keeps only the track of the base's channel as the platform channel.
    let (mut os, mut track) = current
        .base
        .as_ref()
        .map(|b| {
            let track = b.channel.split('/').next().unwrap_or_default();
            (b.name.to_lowercase(), track.to_owned())
        })
        .unwrap_or_default();
    if os == "kubernetes" || track == "kubernetes" {
        // `corebase.LegacyKubernetesBase()`.
        os = "ubuntu".to_owned();
        track = "20.04".to_owned();
    }
    let base = (!os.is_empty() && !track.is_empty()).then(|| Base {
        name: os,
        channel: format!("{track}/stable"),
    });
    CharmOrigin {
        source: "charm-hub".to_owned(),
        kind: String::new(),
        id: String::new(),
        hash: String::new(),
        revision: Some(i64::from(revision)),
        risk: channel.risk.clone().unwrap_or_default(),
        track: channel.track.clone(),
        branch: channel.branch.clone(),
        architecture,
        base,
        instance_key: String::new(),
    }
}

/// A channel as Go's `charm.Channel.String` writes it: `risk`, `track/risk`, then `/branch`
/// (so a lone track prints as `track/`). The Go CLI compares these strings to decide whether an
/// up-to-date refresh still moves the channel.
pub fn go_channel_string(track: Option<&str>, risk: &str, branch: Option<&str>) -> String {
    let mut path = risk.to_owned();
    if let Some(track) = track.filter(|t| !t.is_empty()) {
        path = format!("{track}/{path}");
    }
    if let Some(branch) = branch.filter(|b| !b.is_empty()) {
        path = format!("{path}/{branch}");
    }
    path
}

/// Whether two origins are on the same channel (track, risk, branch; `latest` ≡ no track).
pub fn same_channel(a: &CharmOrigin, b: &CharmOrigin) -> bool {
    let track = |o: &CharmOrigin| o.track.clone().filter(|t| t != "latest");
    track(a) == track(b) && a.risk == b.risk && a.branch == b.branch
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::juju::wire::Base;

    fn current() -> CharmOrigin {
        CharmOrigin {
            source: "charm-hub".into(),
            kind: "charm".into(),
            id: "pilot-id".into(),
            hash: "pilot-hash".into(),
            revision: Some(1100),
            risk: "stable".into(),
            track: Some("1.24".into()),
            branch: None,
            architecture: "amd64".into(),
            base: Some(Base {
                name: "ubuntu".into(),
                channel: "22.04".into(),
            }),
            instance_key: "key".into(),
        }
    }

    fn parse(s: &str) -> CharmChannel {
        CharmChannel::parse(s).expect("valid channel")
    }

    #[test]
    fn track_and_risk_parse_into_both() {
        assert_eq!(
            parse("1.24/stable"),
            CharmChannel {
                track: Some("1.24".into()),
                risk: Some("stable".into()),
                branch: None
            }
        );
    }

    #[test]
    fn a_lone_risk_is_a_risk_and_a_lone_word_is_a_track() {
        assert_eq!(parse("edge").risk.as_deref(), Some("edge"));
        assert_eq!(parse("edge").track, None);
        assert_eq!(parse("2").track.as_deref(), Some("2"));
        assert_eq!(parse("2").risk, None);
    }

    #[test]
    fn risk_with_branch_has_no_track() {
        let ch = parse("edge/fix-1");
        assert_eq!(ch.track, None);
        assert_eq!(ch.risk.as_deref(), Some("edge"));
        assert_eq!(ch.branch.as_deref(), Some("fix-1"));
    }

    #[test]
    fn three_components_are_track_risk_branch() {
        let ch = parse("2.0/edge/pr-7");
        assert_eq!(ch.to_string(), "2.0/edge/pr-7");
        assert_eq!(ch.branch.as_deref(), Some("pr-7"));
    }

    #[test]
    fn malformed_channels_are_refused_with_their_text() {
        for bad in ["", "1/2/3/4", "1.24/unstable", "/edge", "edge/"] {
            let err = CharmChannel::parse(bad).expect_err(bad);
            assert!(
                bad.is_empty() || err.contains(bad),
                "{bad:?} → {err}, should name the channel"
            );
        }
    }

    #[test]
    fn normalize_drops_latest_and_defaults_risk_to_stable() {
        assert_eq!(parse("latest/edge").normalize().to_string(), "edge");
        assert_eq!(parse("2").normalize().to_string(), "2/stable");
    }

    #[test]
    fn refresh_origin_keeps_identity_and_swaps_track_and_risk() {
        let origin = origin_for_channel(&current(), &parse("2/edge"));
        assert_eq!(origin.track.as_deref(), Some("2"));
        assert_eq!(origin.risk, "edge");
        assert_eq!(origin.id, "pilot-id");
        assert_eq!(origin.hash, "pilot-hash");
        assert_eq!(origin.revision, Some(1100));
        assert_eq!(origin.instance_key, "key");
        assert_eq!(origin.architecture, "amd64");
        assert_eq!(origin.base, current().base);
    }

    #[test]
    fn refresh_to_a_risk_only_channel_keeps_the_current_track() {
        let origin = origin_for_channel(&current(), &parse("candidate"));
        assert_eq!(origin.track.as_deref(), Some("1.24"));
        assert_eq!(origin.risk, "candidate");
    }

    #[test]
    fn refresh_to_latest_drops_the_track() {
        let origin = origin_for_channel(&current(), &parse("latest/edge"));
        assert_eq!(origin.track, None);
        assert_eq!(origin.risk, "edge");
    }

    #[test]
    fn refresh_to_a_track_only_channel_means_its_stable_risk() {
        let origin = origin_for_channel(&current(), &parse("2"));
        assert_eq!(origin.track.as_deref(), Some("2"));
        assert_eq!(origin.risk, "stable");
    }

    #[test]
    fn a_risk_only_channel_keeps_the_current_track_and_branch() {
        let on_branch = CharmOrigin {
            branch: Some("hotfix".into()),
            ..current()
        };
        let origin = origin_for_channel(&on_branch, &parse("stable"));
        assert_eq!(origin.track.as_deref(), Some("1.24"));
        assert_eq!(origin.risk, "stable");
        assert_eq!(origin.branch.as_deref(), Some("hotfix"));
        let edge = origin_for_channel(&on_branch, &parse("edge"));
        assert_eq!(
            (
                edge.track.as_deref(),
                edge.risk.as_str(),
                edge.branch.as_deref()
            ),
            (Some("1.24"), "edge", Some("hotfix"))
        );
    }

    #[test]
    fn a_risk_only_channel_ignores_its_branch_as_the_go_cli_does() {
        let origin = origin_for_channel(&current(), &parse("edge/fix-1"));
        assert_eq!(origin.track.as_deref(), Some("1.24"));
        assert_eq!(origin.risk, "edge");
        assert_eq!(origin.branch, None);
    }

    #[test]
    fn a_risk_only_channel_keeps_a_latest_track_unnormalised() {
        let on_latest = CharmOrigin {
            track: Some("latest".into()),
            ..current()
        };
        let origin = origin_for_channel(&on_latest, &parse("candidate"));
        assert_eq!(origin.track.as_deref(), Some("latest"));
        assert_eq!(origin.risk, "candidate");
    }

    #[test]
    fn a_channel_with_a_track_takes_its_own_branch_or_none() {
        let on_branch = CharmOrigin {
            branch: Some("old".into()),
            ..current()
        };
        assert_eq!(
            origin_for_channel(&on_branch, &parse("1.24/edge/new"))
                .branch
                .as_deref(),
            Some("new")
        );
        assert_eq!(
            origin_for_channel(&on_branch, &parse("1.24/edge")).branch,
            None
        );
    }

    #[test]
    fn same_channel_treats_latest_as_no_track() {
        let a = CharmOrigin {
            track: Some("latest".into()),
            ..current()
        };
        let b = CharmOrigin {
            track: None,
            ..current()
        };
        assert!(same_channel(&a, &b));
        assert!(!same_channel(&current(), &b));
    }

    #[test]
    fn a_revision_origin_is_fresh_with_the_revision_channel_and_current_platform() {
        let o = origin_for_revision(&current(), &parse("1.10/stable"), 406);
        assert_eq!(o.revision, Some(406));
        assert_eq!(
            (o.track.as_deref(), o.risk.as_str(), o.branch.as_deref()),
            (Some("1.10"), "stable", None)
        );
        assert_eq!(
            (o.id.as_str(), o.hash.as_str()),
            ("", ""),
            "no id: install by revision"
        );
        assert_eq!((o.kind.as_str(), o.instance_key.as_str()), ("", ""));
        assert_eq!(o.source, "charm-hub");
        assert_eq!(o.architecture, "amd64");
        assert_eq!(
            o.base,
            Some(Base {
                name: "ubuntu".into(),
                channel: "22.04/stable".into()
            })
        );
    }

    #[test]
    fn a_revision_origin_keeps_the_channel_as_parsed_and_defaults_the_architecture() {
        let bare = CharmOrigin {
            architecture: String::new(),
            base: Some(Base {
                name: "Ubuntu".into(),
                channel: "20.04/edge".into(),
            }),
            ..current()
        };
        let o = origin_for_revision(&bare, &parse("latest/edge"), 7);
        assert_eq!(o.track.as_deref(), Some("latest"), "not normalised");
        assert_eq!(o.architecture, "amd64");
        assert_eq!(
            o.base.map(|b| (b.name, b.channel)),
            Some(("ubuntu".into(), "20.04/stable".into()))
        );
        let lone_track = origin_for_revision(&current(), &parse("1.10"), 1);
        assert_eq!(lone_track.risk, "", "MakeOrigin sends the risk as parsed");
    }

    #[test]
    fn a_legacy_kubernetes_base_becomes_focal_and_no_base_stays_none() {
        let legacy = CharmOrigin {
            base: Some(Base {
                name: "kubernetes".into(),
                channel: "kubernetes".into(),
            }),
            ..current()
        };
        assert_eq!(
            origin_for_revision(&legacy, &parse("1/stable"), 1).base,
            Some(Base {
                name: "ubuntu".into(),
                channel: "20.04/stable".into()
            })
        );
        let none = CharmOrigin {
            base: None,
            ..current()
        };
        assert_eq!(origin_for_revision(&none, &parse("1/stable"), 1).base, None);
    }

    #[test]
    fn channels_print_as_gos_charm_channel_string() {
        assert_eq!(
            go_channel_string(Some("1.10"), "stable", None),
            "1.10/stable"
        );
        assert_eq!(go_channel_string(None, "edge", Some("fix")), "edge/fix");
        assert_eq!(go_channel_string(Some("1.10"), "", None), "1.10/");
    }
}
