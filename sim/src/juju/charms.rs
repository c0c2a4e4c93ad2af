//! The Charms and Resources facades: the refresh sequence's resolve, add, info and resource
//! calls (juju-api.md §5(d)), answered from the charm catalog and the model.

use std::hash::{DefaultHasher, Hash, Hasher};

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::application::{Origin, decode};
use crate::model::catalog::revision_not_found_message;
use crate::model::{ApiError, Base, Catalog, Channel, Model, Release, Role, code, parse_charm_url};

/// Runs a Charms method.
pub(crate) fn call_charms(model: &Model, method: &str, params: &Value) -> Result<Value, ApiError> {
    match method {
        "ResolveCharms" => resolve_charms(decode(params)?),
        "CheckCharmPlacement" => check_charm_placement(decode(params)?),
        "AddCharm" => add_charm(model, decode(params)?),
        "CharmInfo" => charm_info(model, decode(params)?),
        "ListCharmResources" => list_charm_resources(model, decode(params)?),
        other => Err(ApiError::plain(format!("no such request {other}"))),
    }
}

/// Runs a Resources method.
pub(crate) fn call_resources(
    model: &Model,
    method: &str,
    params: &Value,
) -> Result<Value, ApiError> {
    match method {
        "ListResources" => list_resources(model, decode(params)?),
        "AddPendingResources" => add_pending_resources(model, decode(params)?),
        other => Err(ApiError::plain(format!("no such request {other}"))),
    }
}

fn error_json(err: &ApiError) -> Value {
    json!({"message": err.message, "code": err.code})
}

/// Go's `base64.StdEncoding`, which is how a `[]byte` goes on the wire.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A SHA-384-sized fingerprint for a resource revision (made up, stable), base64 as on the wire.
fn fingerprint(charm: &str, resource: &str, revision: i64) -> String {
    let mut bytes = Vec::with_capacity(48);
    let mut seed = 0u64;
    while bytes.len() < 48 {
        let mut h = DefaultHasher::new();
        (charm, resource, revision, seed).hash(&mut h);
        bytes.extend_from_slice(&h.finish().to_be_bytes());
        seed += 1;
    }
    base64(&bytes)
}

fn charm_resource(
    release: &Release,
    name: &str,
    kind: &str,
    description: &str,
    revision: i64,
) -> Value {
    json!({
        "name": name,
        "type": kind,
        "path": "",
        "description": description,
        "origin": "store",
        "revision": revision,
        "fingerprint": fingerprint(&release.charm, name, revision),
        "size": 0,
    })
}

/// The Charmhub id and hash an answered origin carries.
struct Identity {
    id: String,
    hash: String,
}

impl Identity {
    /// The ones the request carried: `resolveWithPreferredChannel` keeps "the original values for
    /// ID and Hash, if any were passed in" (`core/charm/repository/charmhub.go` at v3.6.11), so a
    /// resolve without an id answers none.
    fn requested(o: &Origin) -> Self {
        Identity {
            id: o.id.clone(),
            hash: o.hash.clone(),
        }
    }

    /// The revision's own, as `GetDownloadURL` sets them from Charmhub's answer.
    fn of(release: &Release) -> Self {
        Identity {
            id: release.charm_id(),
            hash: release.hash(),
        }
    }
}

fn origin_json(
    o: &Origin,
    release: &Release,
    channel: &Channel,
    base: &Base,
    identity: Identity,
) -> Value {
    let mut out = json!({
        "source": "charm-hub",
        "type": if o.kind.is_empty() { "charm" } else { o.kind.as_str() },
        "id": identity.id,
        "revision": release.revision,
        "risk": channel.risk,
        "architecture": o.architecture,
        "base": {"name": base.name, "channel": base.channel},
    });
    if let Some(track) = &channel.track {
        out["track"] = json!(track);
    }
    if let Some(branch) = &channel.branch {
        out["branch"] = json!(branch);
    }
    if !o.instance_key.is_empty() {
        out["instance-key"] = json!(o.instance_key);
    }
    // `hash` is `omitempty` in `params.CharmOrigin`.
    if !identity.hash.is_empty() {
        out["hash"] = json!(identity.hash);
    }
    if base.is_empty()
        && let Some(m) = out.as_object_mut()
    {
        m.remove("base");
    }
    out
}

fn origin_channel(o: &Origin) -> Result<Channel, ApiError> {
    let risk = if o.risk.is_empty() {
        "stable"
    } else {
        o.risk.as_str()
    };
    Channel::from_parts(&o.track, risk, &o.branch).map_err(ApiError::not_valid)
}

/// The requested origin's channel as Go's `charm.Channel.String` writes it, from the fields as
/// sent (`ConvertParamsOrigin` does not normalise them).
fn go_channel(o: &Origin) -> String {
    let mut path = o.risk.clone();
    if !o.track.is_empty() {
        path = format!("{}/{path}", o.track);
    }
    if !o.branch.is_empty() {
        path = format!("{path}/{}", o.branch);
    }
    path
}

/// The requested origin's `Platform.String()`: architecture, OS and the base's track
/// (`ConvertParamsOrigin` keeps only the track, `core/charm/origin.go` `Platform.String`).
fn platform_string(o: &Origin) -> String {
    let mut path = o.architecture.clone();
    if !o.base.name.is_empty() {
        path = format!("{path}/{}", o.base.name.to_lowercase());
    }
    let track = o.base.channel.split('/').next().unwrap_or_default();
    if !track.is_empty() {
        path = format!("{path}/{track}");
    }
    path
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ResolveArgs {
    resolve: Vec<ResolveArg>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ResolveArg {
    reference: String,
    #[serde(rename = "charm-origin")]
    charm_origin: Origin,
}

/// Resolves a reference and origin to a Charmhub revision. With an origin `id`, Charmhub's
/// refresh-by-id returns the latest revision in the channel; without an id but with a revision,
/// that revision is installed (the libjuju "refresh keeps the old revision" bug).
fn resolve_one(arg: &ResolveArg) -> Result<(Release, Channel), ApiError> {
    let (name, _) = parse_charm_url(&arg.reference)?;
    let o = &arg.charm_origin;
    if o.source != "charm-hub" {
        return Err(ApiError::plain(format!(
            "unknown schema for charm URL {:?}",
            arg.reference
        )));
    }
    if o.architecture.is_empty() {
        return Err(ApiError::not_valid("empty architecture not valid"));
    }
    let channel = origin_channel(o)?;
    let catalog = Catalog::get();
    if !catalog.has_charm(&name) {
        return Err(ApiError::not_found(format!(
            "resolving with preferred channel: charm {name:?} not found"
        )));
    }
    let release = match (o.id.is_empty(), o.revision) {
        // No id and a revision: Charmhub installs that revision, whatever the channel (which is
        // only recorded for later refreshes): `refreshConfig` → `MethodRevision` →
        // `InstallOneFromRevision` (`core/charm/repository/charmhub.go` at v3.6.11).
        (true, Some(rev)) if rev >= 0 => {
            catalog.release_by_revision(&name, rev).ok_or_else(|| {
                ApiError::plain(revision_not_found_message(
                    catalog,
                    &name,
                    &go_channel(o),
                    !o.branch.is_empty(),
                    &platform_string(o),
                ))
            })?
        }
        _ => catalog.release(&name, &channel).ok_or_else(|| {
            ApiError::not_found(crate::model::catalog::not_in_channel_message(
                &name, &channel,
            ))
        })?,
    };
    Ok((release.clone(), channel))
}

fn base_of(o: &Origin) -> Base {
    Base {
        name: o.base.name.clone(),
        channel: o.base.channel.clone(),
    }
}

fn base_json(base: &Base) -> Value {
    json!({"name": base.name, "channel": base.channel})
}

/// The base a resolved origin carries and the `supported-bases` answered, as Juju's
/// `CharmHubRepository.resolveWithPreferredChannel` (`core/charm/repository/charmhub.go` at
/// v3.6.11) makes them: when the release supports the requested base, that base, and as
/// supported bases the requested one (or, resolving by revision, the revision's bases). When it
/// does not, Charmhub answers `invalid-charm-base` with its default bases and Juju retries with
/// the first (`selectNextBases`): the origin moves to that base and the supported bases are the
/// release's. No base asked: the release's default.
fn resolved_base(requested: &Base, release: &Release, by_revision: bool) -> (Base, Vec<Base>) {
    let default = || release.bases.first().cloned().unwrap_or_else(Base::jammy);
    if requested.is_empty() {
        return (default(), release.bases.clone());
    }
    if release.bases.iter().any(|b| b.is_compatible(requested)) {
        let supported = if by_revision {
            release.bases.clone()
        } else {
            vec![requested.clone()]
        };
        return (requested.clone(), supported);
    }
    (default(), release.bases.clone())
}

fn resolve_charms(args: ResolveArgs) -> Result<Value, ApiError> {
    let results: Vec<Value> = args
        .resolve
        .iter()
        .map(|arg| match resolve_one(arg) {
            Ok((release, channel)) => {
                let o = &arg.charm_origin;
                let by_revision = o.id.is_empty() && o.revision.is_some_and(|r| r >= 0);
                let (base, supported) = resolved_base(&base_of(o), &release, by_revision);
                json!({
                    "url": release.url(),
                    "charm-origin": origin_json(o, &release, &channel, &base, Identity::requested(o)),
                    "supported-bases": supported.iter().map(base_json).collect::<Vec<_>>(),
                })
            }
            Err(err) => json!({
                "url": "",
                "charm-origin": {"source": "", "type": "", "id": ""},
                "supported-bases": null,
                "error": error_json(&err),
            }),
        })
        .collect();
    Ok(json!({"Results": results}))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AddCharmArgs {
    url: String,
    #[serde(rename = "charm-origin")]
    charm_origin: Origin,
}

/// The release a charm URL names (by revision, else the origin's channel).
fn release_for_url(url: &str, origin: Option<&Origin>) -> Result<(Release, Channel), ApiError> {
    let (name, revision) = parse_charm_url(url)?;
    let catalog = Catalog::get();
    let channel = origin.map(origin_channel).transpose()?;
    let release = match (revision, &channel) {
        (Some(rev), _) => catalog.release_by_revision(&name, rev),
        (None, Some(ch)) => catalog.release(&name, ch),
        (None, None) => None,
    }
    .ok_or_else(|| ApiError::not_found(format!("charm {url:?} not found")))?
    .clone();
    let channel = channel.unwrap_or_else(|| release.channel.clone());
    Ok((release, channel))
}

fn add_charm(model: &Model, args: AddCharmArgs) -> Result<Value, ApiError> {
    let o = &args.charm_origin;
    if o.source != "charm-hub" {
        return Err(ApiError::plain(format!(
            "unknown schema for charm URL {:?}",
            args.url
        )));
    }
    if o.base.name.is_empty() || o.base.channel.is_empty() {
        return Err(ApiError::bad_request("base required for Charmhub charms"));
    }
    let (release, channel) = release_for_url(&args.url, Some(o))?;
    // `queueAsyncCharmDownload` (`apiserver/facades/client/charms/client.go` at v3.6.11): a charm
    // already in the model is answered through `GetDownloadURL`, which fills in Charmhub's id and
    // hash; a new one with the resolved origin, whose id and hash are the requested ones.
    let identity = if model.has_charm(&release.url()) {
        Identity::of(&release)
    } else {
        Identity::requested(o)
    };
    model.add_charm(&release.url());
    Ok(json!({"charm-origin": origin_json(o, &release, &channel, &base_of(o), identity)}))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PlacementArgs {
    placements: Vec<Placement>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Placement {
    #[serde(rename = "charm-url")]
    charm_url: String,
}

/// `Charms.CheckCharmPlacement` (`apiserver/facades/client/charms/client.go`
/// `checkCharmPlacement` at v3.6.11): a URL that does not parse is that item's error; a non-
/// Charmhub URL, an application that does not exist yet, or one whose units sit on no machine
/// (every unit of a Kubernetes model, the only kind the twin plays) passes: the check only refuses
/// machines of mixed architectures.
fn check_charm_placement(args: PlacementArgs) -> Result<Value, ApiError> {
    let results: Vec<Value> = args
        .placements
        .iter()
        .map(|p| {
            let local = p.charm_url.starts_with("local:");
            match parse_charm_url(&p.charm_url) {
                Err(err) if !local => json!({"error": error_json(&err)}),
                _ => json!({}),
            }
        })
        .collect();
    Ok(json!({"results": results}))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CharmUrlArg {
    url: String,
}

fn relation_meta(release: &Release, role: Role) -> Value {
    let map: Map<String, Value> = release
        .endpoints
        .iter()
        .filter(|e| e.role == role && !e.implicit)
        .map(|e| {
            (
                e.name.clone(),
                json!({
                    "name": e.name,
                    "role": e.role.as_str(),
                    "interface": e.interface,
                    "optional": e.optional,
                    "limit": e.limit,
                    "scope": "global",
                }),
            )
        })
        .collect();
    Value::Object(map)
}

fn charm_info(model: &Model, args: CharmUrlArg) -> Result<Value, ApiError> {
    if !model.has_charm(&args.url) {
        return Err(ApiError::new(
            code::NOT_FOUND,
            format!("charm {:?} not found", args.url),
        ));
    }
    let (release, _) = release_for_url(&args.url, None)?;
    let config: Map<String, Value> = release
        .config
        .values()
        .map(|o| {
            let mut opt = json!({"type": o.kind.as_str(), "description": o.description});
            if let Some(d) = &o.default {
                opt["default"] = d.clone();
            }
            (o.name.clone(), opt)
        })
        .collect();
    let resources: Map<String, Value> = release
        .resources
        .iter()
        .map(|r| {
            (
                r.name.clone(),
                json!({"name": r.name, "type": r.kind, "path": "", "description": r.description}),
            )
        })
        .collect();
    Ok(json!({
        "revision": release.revision,
        "url": release.url(),
        "config": config,
        "meta": {
            "name": release.charm,
            "summary": release.summary,
            "description": release.summary,
            "subordinate": false,
            "provides": relation_meta(&release, Role::Provider),
            "requires": relation_meta(&release, Role::Requirer),
            "peers": relation_meta(&release, Role::Peer),
            "resources": resources,
            "min-juju-version": "3.1.0",
        },
        "manifest": {"bases": release.bases.iter().map(|b| json!({
            "name": b.name, "channel": b.channel, "architectures": ["amd64"],
        })).collect::<Vec<_>>()},
    }))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct UrlAndOrigins {
    entities: Vec<UrlAndOrigin>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct UrlAndOrigin {
    #[serde(rename = "charm-url")]
    charm_url: String,
    #[serde(rename = "charm-origin")]
    charm_origin: Origin,
}

fn list_charm_resources(model: &Model, args: UrlAndOrigins) -> Result<Value, ApiError> {
    let mut results = Vec::new();
    for entity in &args.entities {
        let (release, _) = release_for_url(&entity.charm_url, Some(&entity.charm_origin))?;
        let omitted = model.faults().omitted_resources(&release.charm);
        let list: Vec<Value> = release
            .resources
            .iter()
            .filter(|r| !omitted.contains(&r.name))
            .map(|r| charm_resource(&release, &r.name, &r.kind, &r.description, r.revision))
            .collect();
        results.push(Value::Array(list));
    }
    Ok(json!({"results": results}))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Entities {
    entities: Vec<Entity>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Entity {
    tag: String,
}

fn app_from_tag(tag: &str) -> Result<&str, ApiError> {
    tag.strip_prefix("application-")
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::plain(format!("{tag:?} is not a valid application tag")))
}

fn list_resources(model: &Model, args: Entities) -> Result<Value, ApiError> {
    let results: Vec<Value> = args
        .entities
        .iter()
        .map(|e| match resources_of(model, &e.tag) {
            Ok(v) => v,
            Err(err) => json!({
                "error": error_json(&err),
                "resources": null,
                "charm-store-resources": null,
                "unit-resources": null,
            }),
        })
        .collect();
    Ok(json!({"results": results}))
}

fn resources_of(model: &Model, tag: &str) -> Result<Value, ApiError> {
    let name = app_from_tag(tag)?;
    let app = model
        .application(name)
        .ok_or_else(|| ApiError::application_not_found(name))?;
    let details = model.resource_details(name)?;
    let resources: Vec<Value> = details
        .iter()
        .map(|(rname, revision, id, timestamp)| {
            let spec = app.release.resources.iter().find(|r| &r.name == rname);
            let mut res = charm_resource(
                &app.release,
                rname,
                spec.map_or("oci-image", |s| s.kind.as_str()),
                spec.map_or("", |s| s.description.as_str()),
                *revision,
            );
            res["id"] = json!(id);
            res["pending-id"] = json!("");
            res["application"] = json!(name);
            res["username"] = json!("");
            res["timestamp"] = json!(timestamp.to_string());
            res
        })
        .collect();
    // What Charmhub offers now for the channel the application tracks.
    let channel: Option<Channel> = app.channel.parse().ok();
    let store_release = channel
        .and_then(|ch| Catalog::get().release(&app.charm, &ch))
        .unwrap_or(&app.release);
    let store: Vec<Value> = store_release
        .resources
        .iter()
        .map(|r| charm_resource(store_release, &r.name, &r.kind, &r.description, r.revision))
        .collect();
    let units: Vec<Value> = app
        .units
        .iter()
        .map(|u| {
            json!({
                "tag": format!("unit-{}", u.name.replace('/', "-")),
                "resources": resources,
                "download-progress": null,
            })
        })
        .collect();
    Ok(json!({
        "resources": resources,
        "charm-store-resources": store,
        "unit-resources": units,
    }))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PendingArgs {
    tag: String,
    url: String,
    #[serde(rename = "charm-origin")]
    charm_origin: Option<Origin>,
    resources: Vec<PendingResource>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PendingResource {
    name: String,
    origin: String,
    revision: Option<i64>,
}

fn add_pending_resources(model: &Model, args: PendingArgs) -> Result<Value, ApiError> {
    let outcome = (|| {
        let app = app_from_tag(&args.tag)?;
        if model.application(app).is_none() {
            return Err(ApiError::application_not_found(app));
        }
        let (release, _) = release_for_url(&args.url, args.charm_origin.as_ref())?;
        let mut ids = Vec::new();
        for res in &args.resources {
            let spec = release
                .resources
                .iter()
                .find(|r| r.name == res.name)
                .ok_or_else(|| {
                    ApiError::not_found(format!(
                        "resource {:?} not found in charm {:?}",
                        res.name, args.url
                    ))
                })?;
            let revision = match (res.origin.as_str(), res.revision) {
                ("store", Some(rev)) if rev >= 0 => rev,
                ("store" | "", _) => spec.revision,
                (other, _) if other != "upload" => {
                    return Err(ApiError::bad_request(format!(
                        "unknown resource origin {other:?}"
                    )));
                }
                (_, rev) => rev.unwrap_or(0),
            };
            ids.push(model.add_pending_resource(app, &res.name, revision)?);
        }
        Ok(ids)
    })();
    Ok(match outcome {
        Ok(ids) => json!({"pending-ids": ids}),
        Err(err) => json!({"pending-ids": null, "error": error_json(&err)}),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kfp_viz_edge() -> Release {
        Catalog::get()
            .release("kfp-viz", &"2.15/edge".parse().expect("channel"))
            .expect("kfp-viz 2.15/edge")
            .clone()
    }

    #[test]
    fn a_supported_base_is_kept_and_is_the_only_one_answered() {
        let (base, supported) = resolved_base(&Base::jammy(), &kfp_viz_edge(), false);
        assert_eq!(base, Base::jammy());
        assert_eq!(supported, [Base::jammy()]);
    }

    #[test]
    fn an_unsupported_base_falls_back_to_the_releases_default_as_juju_retries() {
        let focal: Base = "ubuntu@20.04".parse().expect("base");
        let (base, supported) = resolved_base(&focal, &kfp_viz_edge(), false);
        assert_eq!(base, Base::jammy(), "the origin moves to the fallback base");
        assert_eq!(supported, [Base::jammy()]);
    }

    #[test]
    fn base64_matches_gos_std_encoding() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }
}
