//! `juju refresh APP --channel X [--trust]`, the way the Go CLI v3.6.11 does it (juju-api.md §5(d);
//! `cmd/juju/application/refresh.go` `refreshCommand.Run`, `refresher/refresher.go`,
//! `utils/utils.go`).
//!
//! Owns the refresh sequence: `Application.GetCharmURLOrigin` → the current origin kept whole
//! (id, hash, revision, base, architecture, instance key) with only its channel swapped
//! ([`super::channel::origin_for_channel`]) → `Charms.ResolveCharms` on the current URL without
//! revision → the base check (the application's base must be among the resolved charm's
//! `supported-bases`) → `Charms.AddCharm`, only when the resolved URL differs from the current
//! one → resources (`Charms.CharmInfo`, `Resources.ListResources`, `Charms.ListCharmResources`,
//! `Resources.AddPendingResources` for store resources that are missing, whose revision changed
//! or that the store does not list; never over an upload) → `Application.SetCharm` with the
//! pending resource ids, `channel` = the origin's risk and, for `--trust`, `trust` in
//! `config-settings`.
//!
//! Not as python-libjuju does it: it drops the origin's id and keeps its revision, so the
//! controller reinstalls the old revision. Start at [`Client::refresh`].
//!
//! `juju refresh APP --channel X --revision N` is a switch to the Go CLI, with its own requests:
//! `Charms.CheckCharmPlacement`, then `ResolveCharms` of the URL with revision `N`, a fresh
//! origin without id and `switch-charm`; the rest is the same sequence. See
//! [`Client::refresh_to_revision`].

use std::collections::BTreeMap;
use std::time::Duration;

use super::channel::{
    CharmChannel, go_channel_string, origin_for_channel, origin_for_revision, same_channel,
};
use super::client::{Client, Retry, item_error, single};
use super::error::{Error, Result, code};
use super::login::Facade;
use super::model::{CharmUrl, PinnedCharm, RefreshOutcome};
use super::wire::{self, Base, CharmOrigin, CharmResource, CharmResourceMeta};

/// How often, and after how long a first pause, `GetCharmURLOrigin` is asked again while the
/// application's charm-hub origin has no id yet (its first download has not finished). The
/// pause doubles: about 13 s in all.
const ORIGIN_ATTEMPTS: u32 = 8;
const ORIGIN_FIRST_PAUSE: Duration = Duration::from_millis(100);

/// Where a refresh would go: resolved, base-checked, nothing written yet.
struct Resolved {
    from_url: String,
    current: CharmOrigin,
    url: String,
    origin: CharmOrigin,
}

/// A refresh about to be resolved: where the application is, and what it asks for.
struct Prepared {
    from_url: String,
    current: CharmOrigin,
    /// The charm, without revision.
    reference: String,
    /// The origin the channel asks for.
    target: CharmOrigin,
}

/// Refuses a resolution that would move the application off its base, as the Go CLI does
/// (`cmd/juju/application/refresher/refresher.go` at v3.6.11); otherwise the refresh to make.
fn judge_resolution(
    application: &str,
    channel: &str,
    prepared: Prepared,
    (url, origin, supported): (String, CharmOrigin, Vec<Base>),
) -> Result<Resolved> {
    if let Some(base) = prepared.current.base.as_ref()
        && !base_supported(base, &supported)
    {
        return Err(Error::UnsupportedBase {
            application: application.to_owned(),
            channel: channel.to_owned(),
            base: display_base(base),
            offered: if supported.is_empty() {
                vec!["no bases".to_owned()]
            } else {
                supported.iter().map(display_base).collect()
            },
        });
    }
    Ok(Resolved {
        from_url: prepared.from_url,
        current: prepared.current,
        url,
        origin,
    })
}

impl Client {
    /// Refreshes `application` to the newest revision of `channel`, upgrading store resources
    /// as the Go CLI does, as `juju refresh APP --channel CHANNEL [--trust]` does.
    ///
    /// A channel with only a risk (`edge`) keeps the current track and branch. The charm is
    /// added (`AddCharm`) only when the channel resolves to another revision; a channel move
    /// onto the same revision only calls `SetCharm`. With `trust`, `trust=true` goes in
    /// `SetCharm`'s `config-settings`, so the new charm's first hooks already run trusted. When
    /// the charm, the channel and every resource are already current, nothing is written (not
    /// even trust, as with the CLI) and `to_url == from_url`.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a channel Juju would not parse or an application not deployed from
    /// Charmhub; [`Error::UnsupportedBase`] when the charm in `channel` does not support the
    /// application's base (nothing is written); [`Error::Call`] with Juju's text for any refused
    /// step (including per-item errors); a retryable `try again` [`Error::Call`] when the
    /// application's first charm download has not finished; transport errors.
    pub async fn refresh(
        &self,
        application: &str,
        channel: &str,
        trust: bool,
    ) -> Result<RefreshOutcome> {
        let Resolved {
            from_url,
            current,
            url: resolved_url,
            origin: resolved,
        } = self.resolve_refresh(application, channel).await?;
        // refresh.go: `ResolveCharm` answers ErrAlreadyUpToDate when the resolved URL is the
        // current one, and `charmHubRefresher.Refresh` then skips `AddCharmFromURL`; the
        // resolved origin (with the new channel) still goes to SetCharm.
        let charm_changed = resolved_url != from_url;
        let channel_changed = !same_channel(&current, &resolved);
        let (url, origin) = if charm_changed {
            let added = self.add_charm(&resolved_url, resolved).await?;
            (resolved_url, added)
        } else {
            (from_url.clone(), resolved)
        };

        let upgrades = self
            .resources_to_upgrade(application, &url, &origin)
            .await?;
        if !charm_changed && !channel_changed && upgrades.is_empty() {
            // refresh.go returns here without SetCharm, so `--trust` is not applied either.
            tracing::info!("{application} already runs the newest charm of {channel}");
            return Ok(RefreshOutcome {
                to_revision: CharmUrl::parse(&url).ok().and_then(|u| u.revision),
                from_url,
                to_url: url,
                resources_upgraded: Vec::new(),
            });
        }
        self.set_charm(application, &from_url, url, origin, upgrades, trust)
            .await
    }

    /// The end of every refresh: pending resources for `upgrades`, then `Application.SetCharm`
    /// with `origin` (its risk also as the legacy `channel`, as `api/client/application`
    /// `SetCharm` sends it) and, for `--trust`, `trust` in `config-settings`.
    async fn set_charm(
        &self,
        application: &str,
        from_url: &str,
        url: String,
        origin: CharmOrigin,
        upgrades: Vec<CharmResourceMeta>,
        trust: bool,
    ) -> Result<RefreshOutcome> {
        let resource_ids = self
            .add_pending_resources(application, &url, &origin, &upgrades)
            .await?;
        let mut config_settings = BTreeMap::new();
        if trust {
            // utils.ProcessConfig: `--trust` becomes the application setting `trust`.
            config_settings.insert("trust".to_owned(), "true".to_owned());
        }
        let set_charm = wire::ApplicationSetCharm {
            application: application.to_owned(),
            charm_url: url.clone(),
            channel: origin.risk.clone(),
            charm_origin: origin,
            force: false,
            force_base: false,
            force_units: false,
            generation: String::new(),
            resource_ids,
            config_settings,
        };
        let _: serde_json::Value = self
            .call(Facade::Application, "SetCharm", set_charm, Retry::Write)
            .await?;
        tracing::info!("refreshed {application} from {from_url} to {url}");
        Ok(RefreshOutcome {
            to_revision: CharmUrl::parse(&url).ok().and_then(|u| u.revision),
            from_url: from_url.to_owned(),
            to_url: url,
            resources_upgraded: upgrades.into_iter().map(|r| r.name).collect(),
        })
    }

    /// Refreshes `application` to `revision` of its charm and makes it follow `channel` from
    /// then on, as `juju refresh APP --channel CHANNEL --revision REVISION [--trust]` does at
    /// v3.6.11; a downgrade is the same refresh.
    ///
    /// The requests, in the Go CLI's order (`cmd/juju/application/refresh.go`
    /// `refreshCommand.Run`, `refresher/refresher.go`): `Application.GetCharmURLOrigin`;
    /// `Charms.CheckCharmPlacement` of the current URL with `revision` (a revision makes the
    /// refresh a switch); `Charms.ResolveCharms` of that URL with `switch-charm` and a fresh
    /// origin (`channel::origin_for_revision`: the revision, the channel, the current
    /// platform, no id), on which the controller installs that revision and records the channel;
    /// the base check; `Charms.AddCharm` only when the resolved URL is not the current one; the
    /// resources, as [`Client::refresh`] reviews them; `Application.SetCharm` with the resolved
    /// (or added) origin, so that the application's channel becomes `channel` and its revision
    /// `revision`, and `trust` in `config-settings` when asked. When the application already
    /// runs `revision` on `channel` and no resource changed, nothing is written (the CLI's
    /// `ErrAlreadyUpToDate`), not even trust, and `to_url == from_url`.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a channel Juju would not parse or an application not deployed from
    /// Charmhub; [`Error::Call`] with Juju's text for a revision Charmhub does not have
    /// (`selecting releases: charm or bundle not found for channel …`) or any other refused step
    /// (nothing is written before `AddCharm`); [`Error::UnsupportedBase`] when that revision does
    /// not support the application's base (nothing is written); a retryable `try again`
    /// [`Error::Call`] while the application's first charm download has not finished;
    /// transport errors.
    pub async fn refresh_to_revision(
        &self,
        application: &str,
        channel: &str,
        revision: u32,
        trust: bool,
    ) -> Result<RefreshOutcome> {
        let wanted = CharmChannel::parse(channel)
            .map_err(|e| Error::Invalid(format!("refreshing {application}: {e}")))?;
        let (from_url, current) = self.charm_url_origin(application).await?;
        if current.source != "charm-hub" {
            return Err(Error::Invalid(format!(
                "refreshing {application}: it runs a {} charm ({from_url}); only Charmhub \
                 charms have revisions to refresh to",
                current.source
            )));
        }
        // refresh.go: `newRef = oldURL.WithRevision(c.Revision)`.
        let reference = CharmUrl {
            revision: Some(i64::from(revision)),
            ..CharmUrl::parse(&from_url)
                .map_err(|e| decode(Facade::Application, "GetCharmURLOrigin", e))?
        }
        .to_string();
        self.check_charm_placement(application, &reference).await?;
        let prepared = Prepared {
            from_url,
            target: origin_for_revision(&current, &wanted, revision),
            current,
            reference,
        };
        let Resolved {
            from_url,
            current,
            url: resolved_url,
            origin: resolved,
        } = self
            .resolve_prepared(application, channel, prepared, true)
            .await?;

        // `baseRefresher.ResolveCharm`: the resolved URL equal to the current one is
        // ErrAlreadyUpToDate, and `charmHubRefresher.Refresh` then skips `AddCharmFromURL`.
        let charm_changed = resolved_url != from_url;
        let (url, origin) = if charm_changed {
            let added = self.add_charm(&resolved_url, resolved).await?;
            (resolved_url, added)
        } else {
            (from_url.clone(), resolved)
        };
        let upgrades = self
            .resources_to_upgrade(application, &url, &origin)
            .await?;
        // refresh.go, ErrAlreadyUpToDate: stop unless the channel string the user gave differs
        // from the current origin's (a current origin without a risk has no channel: stop) or a
        // resource is to be upgraded.
        let current_channel = (!current.risk.is_empty()).then(|| {
            go_channel_string(
                current.track.as_deref(),
                &current.risk,
                current.branch.as_deref(),
            )
        });
        let asked_channel = go_channel_string(
            wanted.track.as_deref(),
            wanted.risk.as_deref().unwrap_or_default(),
            wanted.branch.as_deref(),
        );
        let nothing_to_do = match &current_channel {
            None => true,
            Some(now) => upgrades.is_empty() && *now == asked_channel,
        };
        if !charm_changed && nothing_to_do {
            tracing::info!("{application} already runs revision {revision} of {channel}");
            return Ok(RefreshOutcome {
                to_revision: CharmUrl::parse(&url).ok().and_then(|u| u.revision),
                from_url,
                to_url: url,
                resources_upgraded: Vec::new(),
            });
        }
        self.set_charm(application, &from_url, url, origin, upgrades, trust)
            .await
    }

    /// Checks, without writing, that each application can be refreshed to its channel: the
    /// channel parses, the application follows Charmhub, the channel resolves, and the charm
    /// there supports the application's base. Preflight asks this before the first change, with
    /// one `ResolveCharms` for all of them (the call is a bulk one).
    ///
    /// Returns one outcome per refresh, in order; as [`Client::refresh`] before its first write.
    pub async fn check_refreshes(&self, refreshes: &[(String, String)]) -> Vec<Result<()>> {
        let prepared = futures::future::join_all(
            refreshes
                .iter()
                .map(|(application, channel)| self.prepare_refresh(application, channel)),
        )
        .await;
        let wanted: Vec<(String, CharmOrigin)> = prepared
            .iter()
            .flatten()
            .map(|p| (p.reference.clone(), p.target.clone()))
            .collect();
        let mut answers = match self.resolve_charms(wanted, false).await {
            Ok(answers) => answers.into_iter(),
            Err(e) => return refreshes.iter().map(|_| Err(e.clone())).collect(),
        };
        prepared
            .into_iter()
            .zip(refreshes)
            .map(|(prepared, (application, channel))| {
                let prepared = prepared?;
                let answer = answers.next().unwrap_or_else(|| {
                    Err(decode(
                        Facade::Charms,
                        "ResolveCharms",
                        "fewer results than charms asked".into(),
                    ))
                })?;
                judge_resolution(application, channel, prepared, answer).map(|_| ())
            })
            .collect()
    }

    /// Whether the store still serves each charm at its revision on its base: one bulk
    /// `Charms.ResolveCharms` by revision (an origin without id, as `juju refresh --revision`
    /// and `juju deploy --revision` build it: `utils.MakeOrigin`), read-only. Each answer is
    /// `Ok` or Juju's error for that charm (a revision the store no longer serves is
    /// Charmhub's `charm or bundle not found …` with the releases there are,
    /// `core/charm/repository/charmhub.go` `handleRevisionNotFound` at v3.6.11). What a
    /// restore asks before its first write.
    pub async fn check_revisions(&self, wanted: &[PinnedCharm]) -> Vec<Result<()>> {
        let mut asked = Vec::new();
        let mut answers: Vec<Option<Result<()>>> = Vec::new();
        for pinned in wanted {
            match CharmChannel::parse(&pinned.channel) {
                Ok(channel) => {
                    let current = CharmOrigin {
                        base: pinned.base.as_ref().map(|b| Base {
                            name: b.name.clone(),
                            channel: b.channel.clone(),
                        }),
                        ..CharmOrigin::default()
                    };
                    let reference = CharmUrl {
                        schema: "ch".to_owned(),
                        prefix: Vec::new(),
                        name: pinned.charm.clone(),
                        revision: Some(i64::from(pinned.revision)),
                    };
                    asked.push((
                        reference.to_string(),
                        origin_for_revision(&current, &channel, pinned.revision),
                    ));
                    answers.push(None);
                }
                Err(e) => answers.push(Some(Err(Error::Invalid(format!(
                    "{} at revision {}: {e}",
                    pinned.charm, pinned.revision
                ))))),
            }
        }
        let mut resolved = match self.resolve_charms(asked, true).await {
            Ok(resolved) => resolved.into_iter(),
            Err(e) => return wanted.iter().map(|_| Err(e.clone())).collect(),
        };
        answers
            .into_iter()
            .map(|answer| {
                answer.unwrap_or_else(|| {
                    resolved
                        .next()
                        .unwrap_or_else(|| {
                            Err(decode(
                                Facade::Charms,
                                "ResolveCharms",
                                "fewer results than charms asked".into(),
                            ))
                        })
                        .map(|_| ())
                })
            })
            .collect()
    }

    /// The read-only half of a refresh: origin, resolve, base check.
    async fn resolve_refresh(&self, application: &str, channel: &str) -> Result<Resolved> {
        let prepared = self.prepare_refresh(application, channel).await?;
        self.resolve_prepared(application, channel, prepared, false)
            .await
    }

    /// `ResolveCharms` of one prepared refresh, then the base check.
    async fn resolve_prepared(
        &self,
        application: &str,
        channel: &str,
        prepared: Prepared,
        switch_charm: bool,
    ) -> Result<Resolved> {
        let answer = self
            .resolve_charms(
                vec![(prepared.reference.clone(), prepared.target.clone())],
                switch_charm,
            )
            .await?
            .pop()
            .unwrap_or_else(|| Err(decode(Facade::Charms, "ResolveCharms", "no result".into())))?;
        judge_resolution(application, channel, prepared, answer)
    }

    /// `Charms.CheckCharmPlacement` of `url` for `application`, which the Go CLI asks before
    /// every switch (`charmHubRefresher.Allowed`, `cmd/juju/application/refresher/refresher.go`
    /// at v3.6.11). A controller that does not support the check is no refusal, as there;
    /// `--force` is never given, so any other error is.
    async fn check_charm_placement(&self, application: &str, url: &str) -> Result<()> {
        const METHOD: &str = "CheckCharmPlacement";
        let params = wire::ApplicationCharmPlacements {
            placements: vec![wire::ApplicationCharmPlacement {
                application: application.to_owned(),
                charm_url: url.to_owned(),
            }],
        };
        let results: wire::ErrorResults = self
            .call(Facade::Charms, METHOD, params, Retry::Read)
            .await?;
        let result = single(Facade::Charms, METHOD, results.results)?;
        match result.error {
            Some(e) if e.code == code::NOT_SUPPORTED => Ok(()),
            Some(e) => Err(item_error(Facade::Charms, METHOD, e)),
            None => Ok(()),
        }
    }

    /// What to resolve for a refresh of `application` to `channel`: its charm and the origin
    /// the channel asks for.
    async fn prepare_refresh(&self, application: &str, channel: &str) -> Result<Prepared> {
        let wanted = CharmChannel::parse(channel)
            .map_err(|e| Error::Invalid(format!("refreshing {application}: {e}")))?;
        let (from_url, current) = self.charm_url_origin(application).await?;
        if current.source != "charm-hub" {
            return Err(Error::Invalid(format!(
                "refreshing {application}: it runs a {} charm ({from_url}); only Charmhub \
                 charms follow a channel",
                current.source
            )));
        }
        let reference = CharmUrl::parse(&from_url)
            .map_err(|e| decode(Facade::Application, "GetCharmURLOrigin", e))?
            .without_revision();
        let target = origin_for_channel(&current, &wanted);
        Ok(Prepared {
            from_url,
            current,
            reference,
            target,
        })
    }

    /// `Application.GetCharmURLOrigin`, asked again briefly while a charm-hub origin has no id.
    async fn charm_url_origin(&self, application: &str) -> Result<(String, CharmOrigin)> {
        const METHOD: &str = "GetCharmURLOrigin";
        let mut pause = ORIGIN_FIRST_PAUSE;
        for attempt in 1..=ORIGIN_ATTEMPTS {
            let result: wire::CharmUrlOriginResult = self
                .call(
                    Facade::Application,
                    METHOD,
                    wire::ApplicationGet {
                        application,
                        branch: "",
                    },
                    Retry::Read,
                )
                .await?;
            if let Some(e) = result.error {
                return Err(item_error(Facade::Application, METHOD, e));
            }
            let origin = result.charm_origin.ok_or_else(|| {
                decode(
                    Facade::Application,
                    METHOD,
                    "answer without charm-origin".into(),
                )
            })?;
            if origin.source != "charm-hub" || !origin.id.is_empty() {
                return Ok((result.url, origin));
            }
            if attempt < ORIGIN_ATTEMPTS {
                tracing::debug!("{application}: charm download not finished; asking again");
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
        }
        Err(Error::Call {
            facade: Facade::Application.name().into(),
            method: METHOD.into(),
            code: Some(code::TRY_AGAIN.into()),
            message: format!(
                "charm-hub origin of {application} has an empty id: its charm download has not \
                 finished"
            ),
        })
    }

    /// `Charms.ResolveCharms` of each (charm reference, wanted origin), in one call: each
    /// answer is the URL, the origin and the bases the charm there supports, or that item's
    /// error.
    async fn resolve_charms(
        &self,
        wanted: Vec<(String, CharmOrigin)>,
        switch_charm: bool,
    ) -> Result<Vec<Result<(String, CharmOrigin, Vec<Base>)>>> {
        const METHOD: &str = "ResolveCharms";
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let asked = wanted.len();
        let params = wire::ResolveCharmsWithChannel {
            resolve: wanted
                .into_iter()
                .map(|(reference, origin)| wire::ResolveCharmWithChannel {
                    reference,
                    charm_origin: origin,
                    switch_charm,
                })
                .collect(),
        };
        let results: wire::ResolveCharmWithChannelResults = self
            .call(Facade::Charms, METHOD, params, Retry::Read)
            .await?;
        if results.results.len() != asked {
            return Err(decode(
                Facade::Charms,
                METHOD,
                format!("{} results for {asked} charms", results.results.len()),
            ));
        }
        Ok(results
            .results
            .into_iter()
            .map(|result| {
                if let Some(e) = result.error {
                    return Err(item_error(Facade::Charms, METHOD, e));
                }
                let origin = result.charm_origin.ok_or_else(|| {
                    decode(Facade::Charms, METHOD, "answer without charm-origin".into())
                })?;
                if result.url.is_empty() {
                    return Err(decode(Facade::Charms, METHOD, "answer without url".into()));
                }
                Ok((result.url, origin, result.supported_bases))
            })
            .collect())
    }

    /// `Charms.AddCharm`; returns the origin the controller recorded.
    async fn add_charm(&self, url: &str, origin: CharmOrigin) -> Result<CharmOrigin> {
        const METHOD: &str = "AddCharm";
        let params = wire::AddCharmWithOrigin {
            url: url.to_owned(),
            charm_origin: origin.clone(),
            force: false,
        };
        let result: wire::CharmOriginResult = self
            .call(Facade::Charms, METHOD, params, Retry::Write)
            .await?;
        if let Some(e) = result.error {
            return Err(item_error(Facade::Charms, METHOD, e));
        }
        Ok(result.charm_origin.unwrap_or(origin))
    }

    /// The resources of the charm at `url` that the refresh must add as pending.
    async fn resources_to_upgrade(
        &self,
        application: &str,
        url: &str,
        origin: &CharmOrigin,
    ) -> Result<Vec<CharmResourceMeta>> {
        let info: wire::CharmInfo = self
            .call(
                Facade::Charms,
                "CharmInfo",
                wire::CharmUrlParam { url },
                Retry::Read,
            )
            .await?;
        let declared = info.meta.map(|m| m.resources).unwrap_or_default();
        if declared.is_empty() {
            return Ok(Vec::new());
        }

        const LIST: &str = "ListResources";
        let listed: wire::ResourcesResults = self
            .call(
                Facade::Resources,
                LIST,
                wire::ListResourcesArgs {
                    entities: vec![wire::Entity {
                        tag: format!("application-{application}"),
                    }],
                },
                Retry::Read,
            )
            .await?;
        let listed = single(Facade::Resources, LIST, listed.results)?;
        if let Some(e) = listed.error {
            return Err(item_error(Facade::Resources, LIST, e));
        }

        const STORE: &str = "ListCharmResources";
        let store: wire::CharmResourcesResults = self
            .call(
                Facade::Charms,
                STORE,
                wire::CharmUrlAndOrigins {
                    entities: vec![wire::CharmUrlAndOrigin {
                        charm_url: url.to_owned(),
                        charm_origin: origin.clone(),
                    }],
                },
                Retry::Read,
            )
            .await?;
        let store = single(Facade::Charms, STORE, store.results)?;
        let mut available = Vec::with_capacity(store.len());
        for item in store {
            if let Some(e) = item.error {
                return Err(item_error(Facade::Charms, STORE, e));
            }
            available.push(item.resource);
        }
        Ok(select_upgrades(&declared, &listed.resources, &available))
    }

    /// `Resources.AddPendingResources` for store resources; resource name → pending id.
    async fn add_pending_resources(
        &self,
        application: &str,
        url: &str,
        origin: &CharmOrigin,
        upgrades: &[CharmResourceMeta],
    ) -> Result<BTreeMap<String, String>> {
        const METHOD: &str = "AddPendingResources";
        if upgrades.is_empty() {
            return Ok(BTreeMap::new());
        }
        let params = wire::AddPendingResourcesArgs {
            tag: format!("application-{application}"),
            url: url.to_owned(),
            charm_origin: origin.clone(),
            resources: upgrades.iter().map(store_resource).collect(),
        };
        let result: wire::AddPendingResourcesResult = self
            .call(Facade::Resources, METHOD, params, Retry::Write)
            .await?;
        if let Some(e) = result.error {
            return Err(item_error(Facade::Resources, METHOD, e));
        }
        if result.pending_ids.len() != upgrades.len() {
            return Err(decode(
                Facade::Resources,
                METHOD,
                format!(
                    "{} pending ids for {} resources",
                    result.pending_ids.len(),
                    upgrades.len()
                ),
            ));
        }
        Ok(upgrades
            .iter()
            .map(|r| r.name.clone())
            .zip(result.pending_ids)
            .collect())
    }
}

fn decode(facade: Facade, method: &str, message: String) -> Error {
    Error::Decode {
        facade: facade.name().into(),
        method: method.into(),
        message,
    }
}

/// A store resource to add as pending; revision -1 lets the controller take the revision that
/// goes with the charm's channel.
fn store_resource(meta: &CharmResourceMeta) -> CharmResource {
    CharmResource {
        name: meta.name.clone(),
        kind: meta.kind.clone(),
        path: meta.path.clone(),
        description: meta.description.clone(),
        origin: "store".into(),
        revision: -1,
        size: 0,
    }
}

/// Whether `current` is among `supported`, as `corecharm.BaseForCharm` decides
/// (`core/charm/computedbase.go` at v3.6.11): an empty base or an empty list passes; otherwise a
/// supported base must have the same OS and the same channel track (`22.04` matches
/// `22.04/stable`: `Base.IsCompatible` in `core/base/base.go` ignores the risk).
fn base_supported(current: &Base, supported: &[Base]) -> bool {
    let track = |b: &Base| b.channel.split('/').next().unwrap_or_default().to_owned();
    if (current.name.is_empty() && current.channel.is_empty()) || supported.is_empty() {
        return true;
    }
    supported
        .iter()
        .any(|s| s.name == current.name && track(s) == track(current))
}

/// A base as the Go CLI prints it (`Base.DisplayString`): `ubuntu@22.04`, the risk only when
/// it is not `stable`.
fn display_base(base: &Base) -> String {
    let channel = base
        .channel
        .strip_suffix("/stable")
        .unwrap_or(&base.channel);
    if base.name == "kubernetes" {
        return base.name.clone();
    }
    format!("{}@{channel}", base.name)
}

/// The Go CLI's `shouldUpgradeResource` (`cmd/juju/application/utils/utils.go` at v3.6.11) over
/// every resource the new charm declares, with no `--resource` given: upgrade one the
/// application lacks; keep one the user uploaded; keep a store resource only when the store
/// lists it at the same revision; upgrade every other (a changed revision, or one the store
/// does not list). In name order.
pub fn select_upgrades(
    declared: &BTreeMap<String, CharmResourceMeta>,
    current: &[wire::Resource],
    store: &[CharmResource],
) -> Vec<CharmResourceMeta> {
    declared
        .iter()
        .filter(|(name, _)| {
            let Some(now) = current.iter().find(|r| &r.name == *name) else {
                return true;
            };
            if now.origin == "upload" {
                return false;
            }
            !store
                .iter()
                .any(|s| &s.name == *name && s.revision == now.revision)
        })
        .map(|(name, meta)| CharmResourceMeta {
            name: name.clone(),
            ..meta.clone()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(name: &str) -> (String, CharmResourceMeta) {
        (
            name.to_owned(),
            CharmResourceMeta {
                name: name.to_owned(),
                kind: "oci-image".into(),
                path: String::new(),
                description: format!("{name} image"),
            },
        )
    }

    fn current(name: &str, origin: &str, revision: i64) -> wire::Resource {
        wire::Resource {
            name: name.into(),
            origin: origin.into(),
            revision,
        }
    }

    fn store(name: &str, revision: i64) -> CharmResource {
        CharmResource {
            name: name.into(),
            kind: "oci-image".into(),
            origin: "store".into(),
            revision,
            ..CharmResource::default()
        }
    }

    fn names(selected: Vec<CharmResourceMeta>) -> Vec<String> {
        selected.into_iter().map(|r| r.name).collect()
    }

    #[test]
    fn a_changed_store_revision_is_upgraded_and_an_unchanged_one_kept() {
        let declared = BTreeMap::from([meta("oci-image"), meta("proxy-image")]);
        let selected = select_upgrades(
            &declared,
            &[
                current("oci-image", "store", 4),
                current("proxy-image", "store", 2),
            ],
            &[store("oci-image", 5), store("proxy-image", 2)],
        );
        assert_eq!(names(selected), ["oci-image"]);
    }

    #[test]
    fn a_resource_the_application_lacks_is_added() {
        let declared = BTreeMap::from([meta("oci-image"), meta("new-image")]);
        let selected = select_upgrades(
            &declared,
            &[current("oci-image", "store", 4)],
            &[store("oci-image", 4), store("new-image", 1)],
        );
        assert_eq!(names(selected), ["new-image"]);
    }

    #[test]
    fn an_uploaded_resource_is_never_replaced() {
        let declared = BTreeMap::from([meta("oci-image")]);
        let selected = select_upgrades(
            &declared,
            &[current("oci-image", "upload", 0)],
            &[store("oci-image", 9)],
        );
        assert!(selected.is_empty());
    }

    #[test]
    fn a_store_resource_the_store_does_not_list_is_upgraded() {
        let declared = BTreeMap::from([meta("oci-image"), meta("proxy-image")]);
        let selected = select_upgrades(
            &declared,
            &[
                current("oci-image", "store", 4),
                current("proxy-image", "store", 2),
            ],
            &[store("oci-image", 4)],
        );
        assert_eq!(names(selected), ["proxy-image"]);
    }

    #[test]
    fn an_uploaded_resource_the_store_does_not_list_is_kept() {
        let declared = BTreeMap::from([meta("oci-image")]);
        let selected = select_upgrades(&declared, &[current("oci-image", "upload", 0)], &[]);
        assert!(selected.is_empty());
    }

    fn base(name: &str, channel: &str) -> Base {
        Base {
            name: name.into(),
            channel: channel.into(),
        }
    }

    #[test]
    fn a_base_is_supported_by_os_and_track_ignoring_the_risk() {
        let jammy = base("ubuntu", "22.04");
        assert!(base_supported(&jammy, &[base("ubuntu", "22.04/stable")]));
        assert!(base_supported(
            &base("ubuntu", "22.04/stable"),
            &[base("ubuntu", "24.04"), jammy.clone()]
        ));
        assert!(!base_supported(&jammy, &[base("ubuntu", "24.04")]));
        assert!(!base_supported(&jammy, &[base("centos", "22.04")]));
    }

    #[test]
    fn an_empty_base_or_an_empty_list_passes_as_in_base_for_charm() {
        assert!(base_supported(&Base::default(), &[base("ubuntu", "24.04")]));
        assert!(base_supported(&base("ubuntu", "20.04"), &[]));
    }

    #[test]
    fn bases_display_as_the_go_cli_prints_them() {
        assert_eq!(display_base(&base("ubuntu", "22.04")), "ubuntu@22.04");
        assert_eq!(
            display_base(&base("ubuntu", "22.04/stable")),
            "ubuntu@22.04"
        );
        assert_eq!(
            display_base(&base("ubuntu", "24.04/edge")),
            "ubuntu@24.04/edge"
        );
    }

    #[test]
    fn store_resource_asks_for_the_channel_revision() {
        let (_, m) = meta("oci-image");
        let r = store_resource(&m);
        assert_eq!((r.origin.as_str(), r.revision, r.size), ("store", -1, 0));
        assert_eq!(r.kind, "oci-image");
    }
}
