//! The Application facade: deploy, remove, refresh (GetCharmURLOrigin, SetCharm), relations and
//! config, answered from the model with Juju's messages and result shapes.
//!
//! Params arrive already checked and normalised to the schema's key spelling, so the structs
//! below use Juju's exact keys; every field defaults (Go decodes missing keys as zero values).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::model::{
    ApiError, AppView, Catalog, Channel, Deploy, Model, Refresh, RelationTarget, parse_charm_url,
};

/// Runs an Application method.
pub(crate) fn call(model: &Model, method: &str, params: &Value) -> Result<Value, ApiError> {
    match method {
        "DestroyApplication" => destroy_application(model, decode(params)?),
        "DeployFromRepository" => deploy_from_repository(model, decode(params)?),
        "GetCharmURLOrigin" => get_charm_url_origin(model, decode(params)?),
        "SetCharm" => set_charm(model, decode(params)?),
        "AddRelation" => add_relation(model, decode(params)?),
        "DestroyRelation" => destroy_relation(model, decode(params)?),
        "SetConfigs" => set_configs(model, decode(params)?),
        "UnsetApplicationsConfig" => unset_config(model, decode(params)?),
        "ScaleApplications" => scale_applications(model, decode(params)?),
        "Get" => get(model, decode(params)?),
        "CharmConfig" => charm_config(model, decode(params)?),
        other => Err(ApiError::plain(format!("no such request {other}"))),
    }
}

/// Decodes checked params; a type the schema allowed but serde refuses is a bad request.
pub(crate) fn decode<T: for<'de> Deserialize<'de>>(params: &Value) -> Result<T, ApiError> {
    serde_json::from_value(strip_nulls(params))
        .map_err(|e| ApiError::bad_request(format!("bad request: {e}")))
}

/// Go decodes `null` into the zero value; serde defaults only missing keys, so drop nulls.
fn strip_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), strip_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip_nulls).collect()),
        other => other.clone(),
    }
}

fn error_json(err: &ApiError) -> Value {
    let mut out = json!({"message": err.message, "code": err.code});
    if let Some(info) = &err.info {
        out["info"] = info.clone();
    }
    out
}

fn app_from_tag(tag: &str) -> Result<&str, ApiError> {
    tag.strip_prefix("application-")
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::plain(format!("{tag:?} is not a valid application tag")))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DestroyArgs {
    applications: Vec<DestroyArg>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DestroyArg {
    #[serde(rename = "application-tag")]
    tag: String,
    #[serde(rename = "dry-run")]
    dry_run: bool,
}

fn destroy_application(model: &Model, args: DestroyArgs) -> Result<Value, ApiError> {
    let results: Vec<Value> = args
        .applications
        .iter()
        .map(|arg| {
            let outcome = app_from_tag(&arg.tag).and_then(|name| {
                if arg.dry_run {
                    let app = model
                        .application(name)
                        .ok_or_else(|| ApiError::application_not_found(name))?;
                    Ok(app
                        .units
                        .iter()
                        .map(|u| format!("unit-{}", u.name.replace('/', "-")))
                        .collect())
                } else {
                    model.destroy_application(name)
                }
            });
            match outcome {
                Ok(units) => {
                    let units: Vec<Value> = units.iter().map(|t| json!({"tag": t})).collect();
                    json!({"info": {"destroyed-units": units}})
                }
                Err(err) => json!({"error": error_json(&err)}),
            }
        })
        .collect();
    Ok(json!({"results": results}))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DfrArgs {
    #[serde(rename = "Args")]
    args: Vec<DfrArg>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DfrArg {
    #[serde(rename = "CharmName")]
    charm_name: String,
    #[serde(rename = "ApplicationName")]
    application_name: String,
    #[serde(rename = "ConfigYAML")]
    config_yaml: String,
    #[serde(rename = "Trust")]
    trust: bool,
    #[serde(rename = "DryRun")]
    dry_run: bool,
    channel: String,
    revision: Option<i64>,
    base: Option<Base>,
    #[serde(rename = "num-units")]
    num_units: Option<u32>,
}

/// Parses `ConfigYAML`: a map keyed by the application name with the settings under it.
fn config_from_yaml(yaml: &str, key: &str) -> Result<BTreeMap<String, Value>, ApiError> {
    if yaml.trim().is_empty() {
        return Ok(BTreeMap::new());
    }
    let all: BTreeMap<String, Option<BTreeMap<String, serde_yaml::Value>>> =
        serde_yaml::from_str(yaml)
            .map_err(|e| ApiError::plain(format!("cannot parse settings data: {e}")))?;
    let settings = all
        .get(key)
        .ok_or_else(|| ApiError::plain(format!("no settings found for {key:?}")))?;
    let mut out = BTreeMap::new();
    for (k, v) in settings.iter().flatten() {
        let v = serde_json::to_value(v).map_err(|e| ApiError::plain(e.to_string()))?;
        // Empty strings and nulls mean "not set" in ParseSettingsYAML.
        if v.is_null() || v == Value::String(String::new()) {
            continue;
        }
        out.insert(k.clone(), v);
    }
    Ok(out)
}

fn deploy_from_repository(model: &Model, args: DfrArgs) -> Result<Value, ApiError> {
    let results: Vec<Value> = args
        .args
        .iter()
        .map(|arg| {
            let name = if arg.application_name.is_empty() {
                arg.charm_name.clone()
            } else {
                arg.application_name.clone()
            };
            let outcome = config_from_yaml(&arg.config_yaml, &name).and_then(|config| {
                let req = Deploy {
                    application: name.clone(),
                    charm: arg.charm_name.clone(),
                    channel: (!arg.channel.is_empty()).then(|| arg.channel.clone()),
                    revision: arg.revision,
                    base: arg.base.as_ref().map(|b| crate::model::Base {
                        name: b.name.clone(),
                        channel: b.channel.clone(),
                    }),
                    num_units: arg.num_units.unwrap_or(1),
                    config,
                    trust: arg.trust,
                };
                if arg.dry_run {
                    let channel: Channel = req
                        .channel
                        .as_deref()
                        .unwrap_or("stable")
                        .parse()
                        .map_err(ApiError::not_valid)?;
                    let catalog = Catalog::get();
                    let rel = match req.revision {
                        Some(rev) => catalog.release_by_revision(&req.charm, rev),
                        None => catalog.release(&req.charm, &channel),
                    }
                    .ok_or_else(|| {
                        ApiError::not_found(format!("charm {:?} not found", req.charm))
                    })?;
                    let base = rel
                        .bases
                        .first()
                        .cloned()
                        .unwrap_or_else(crate::model::Base::jammy);
                    Ok((rel.charm.clone(), channel.to_string(), rel.revision, base))
                } else {
                    model
                        .deploy(&req)
                        .map(|app| (app.charm, app.channel, app.revision, app.base))
                }
            });
            match outcome {
                // `DeployFromRepositoryAPI.DeployFromRepository`: the info's base is the resolved
                // origin's platform, its channel the track (`deployrepository.go` at v3.6.11).
                Ok((charm, channel, revision, base)) => json!({
                    "Errors": null,
                    "Info": {
                        "architecture": "amd64",
                        "base": {"name": base.name, "channel": base.channel},
                        "channel": channel,
                        "name": charm,
                        "revision": revision,
                    },
                    "PendingResourceUploads": null,
                }),
                Err(err) => json!({
                    "Errors": [error_json(&err)],
                    "Info": {"architecture": "", "channel": "", "name": "", "revision": 0},
                    "PendingResourceUploads": null,
                }),
            }
        })
        .collect();
    Ok(json!({"Results": results}))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AppGet {
    application: String,
}

/// The charm origin of an application, as GetCharmURLOrigin returns it.
pub(crate) fn origin_of(app: &AppView) -> Value {
    let channel: Channel = app
        .channel
        .parse()
        .unwrap_or_else(|_| app.release.channel.clone());
    let mut origin = json!({
        "source": "charm-hub",
        "type": "charm",
        "id": app.charm_id,
        "hash": app.charm_hash,
        "revision": app.revision,
        "risk": channel.risk,
        "architecture": "amd64",
        "base": {"name": app.base.name, "channel": app.base.channel},
        "instance-key": app.instance_key,
    });
    if let Some(track) = &channel.track {
        origin["track"] = json!(track);
    }
    if let Some(branch) = &channel.branch {
        origin["branch"] = json!(branch);
    }
    if app.charm_hash.is_empty()
        && let Some(o) = origin.as_object_mut()
    {
        o.remove("hash");
    }
    origin
}

fn get_charm_url_origin(model: &Model, args: AppGet) -> Result<Value, ApiError> {
    match model.application(&args.application) {
        Some(app) => Ok(json!({"url": app.charm_url, "charm-origin": origin_of(&app)})),
        None => Ok(json!({
            "url": "",
            "charm-origin": {"source": "", "type": "", "id": ""},
            "error": error_json(&ApiError::application_not_found(&args.application)),
        })),
    }
}

#[derive(Deserialize, Default, Debug)]
#[serde(default)]
pub(crate) struct Origin {
    pub source: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    pub hash: String,
    pub revision: Option<i64>,
    pub track: String,
    pub risk: String,
    pub branch: String,
    pub architecture: String,
    pub base: Base,
    #[serde(rename = "instance-key")]
    pub instance_key: String,
}

#[derive(Deserialize, Default, Debug)]
#[serde(default)]
pub(crate) struct Base {
    pub name: String,
    pub channel: String,
}

/// Juju's `ValidateCharmOrigin` (`apiserver/common/charms.go`).
fn validate_origin(origin: Option<&Origin>) -> Result<(), ApiError> {
    let Some(o) = origin else {
        return Err(ApiError::bad_request("charm origin source required"));
    };
    match o.source.as_str() {
        "charm-hub" => {
            if o.id.is_empty() != o.hash.is_empty() {
                return Err(ApiError::bad_request(
                    "programming error, both CharmOrigin ID and Hash must be set or neither. See CharmHubRepository GetDownloadURL.",
                ));
            }
            Ok(())
        }
        "local" => Ok(()),
        other => Err(ApiError::bad_request(format!(
            "{other:?} not a valid charm origin source"
        ))),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SetCharmArgs {
    application: String,
    #[serde(rename = "charm-url")]
    charm_url: String,
    #[serde(rename = "charm-origin")]
    charm_origin: Option<Origin>,
    channel: String,
    #[serde(rename = "config-settings")]
    config_settings: BTreeMap<String, String>,
    #[serde(rename = "resource-ids")]
    resource_ids: BTreeMap<String, String>,
}

fn set_charm(model: &Model, args: SetCharmArgs) -> Result<Value, ApiError> {
    validate_origin(args.charm_origin.as_ref())?;
    if model.application(&args.application).is_none() {
        return Err(ApiError::application_not_found(&args.application));
    }
    let origin = args.charm_origin.unwrap_or_default();
    let risk = if origin.risk.is_empty() {
        args.channel.clone()
    } else {
        origin.risk.clone()
    };
    let channel = if risk.is_empty() {
        None
    } else {
        Some(
            Channel::from_parts(&origin.track, &risk, &origin.branch)
                .map_err(ApiError::not_valid)?,
        )
    };
    parse_charm_url(&args.charm_url)?;
    // The origin's base is stored as given: Juju checks it against the charm's bases only for
    // v1 and machine charms (`state/application.go` `validateSetCharmConfig` at v3.6.11), never
    // for a Kubernetes sidecar charm such as every charm of CKF.
    let base = (!origin.base.name.is_empty() && !origin.base.channel.is_empty()).then(|| {
        crate::model::Base {
            name: origin.base.name.clone(),
            channel: origin.base.channel.clone(),
        }
    });
    model.refresh(&Refresh {
        application: args.application,
        charm_url: args.charm_url,
        channel,
        resource_ids: args.resource_ids,
        config: args.config_settings,
        base,
    })?;
    Ok(json!({}))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AddRelationArgs {
    endpoints: Vec<String>,
}

fn add_relation(model: &Model, args: AddRelationArgs) -> Result<Value, ApiError> {
    let names: Vec<&str> = args.endpoints.iter().map(String::as_str).collect();
    let rel = model.add_relation(&names)?;
    let mut endpoints = Map::new();
    for ep in &rel.endpoints {
        endpoints.insert(
            ep.application.clone(),
            json!({
                "name": ep.name,
                "role": ep.role.as_str(),
                "interface": ep.interface,
                "optional": ep.optional,
                "limit": ep.limit,
                "scope": "global",
            }),
        );
    }
    Ok(json!({"endpoints": endpoints}))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DestroyRelationArgs {
    endpoints: Vec<String>,
    #[serde(rename = "relation-id")]
    relation_id: u64,
}

fn destroy_relation(model: &Model, args: DestroyRelationArgs) -> Result<Value, ApiError> {
    let target = if args.endpoints.is_empty() {
        RelationTarget::Id(args.relation_id)
    } else {
        RelationTarget::Endpoints(args.endpoints)
    };
    model.destroy_relation(&target)?;
    Ok(json!({}))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ConfigSetArgs {
    #[serde(rename = "Args")]
    args: Vec<ConfigSet>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ConfigSet {
    application: String,
    config: BTreeMap<String, String>,
    #[serde(rename = "config-yaml")]
    config_yaml: String,
}

fn set_configs(model: &Model, args: ConfigSetArgs) -> Result<Value, ApiError> {
    let results: Vec<Value> = args
        .args
        .iter()
        .map(|arg| {
            let outcome =
                config_from_yaml(&arg.config_yaml, &arg.application).and_then(|mut values| {
                    for (k, v) in &arg.config {
                        values.insert(k.clone(), Value::String(v.clone()));
                    }
                    model.set_config(&arg.application, &values)
                });
            match outcome {
                Ok(()) => json!({}),
                Err(err) => json!({"error": error_json(&err)}),
            }
        })
        .collect();
    Ok(json!({"results": results}))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct UnsetArgs {
    #[serde(rename = "Args")]
    args: Vec<Unset>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Unset {
    application: String,
    options: Vec<String>,
}

fn unset_config(model: &Model, args: UnsetArgs) -> Result<Value, ApiError> {
    let results: Vec<Value> = args
        .args
        .iter()
        .map(
            |arg| match model.unset_config(&arg.application, &arg.options) {
                Ok(()) => json!({}),
                Err(err) => json!({"error": error_json(&err)}),
            },
        )
        .collect();
    Ok(json!({"results": results}))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ScaleArgs {
    applications: Vec<ScaleArg>,
}

/// `ScaleApplicationParams` (Application 20) or `ScaleApplicationParamsV2` (21, 22); the schema
/// check has already refused `attach-storage` at 20.
#[derive(Deserialize, Default)]
#[serde(default)]
struct ScaleArg {
    #[serde(rename = "application-tag")]
    application_tag: String,
    scale: i64,
    #[serde(rename = "scale-change")]
    scale_change: i64,
    #[serde(rename = "attach-storage")]
    attach_storage: Vec<String>,
}

/// `Application.ScaleApplications` (`apiserver/facades/client/application/application.go`
/// `APIBase.ScaleApplications` at v3.6.11), per item: `scale < 0 not valid`, `requesting both
/// scale and scale-change not valid`, `application "x" does not exist` (no code), then
/// `ChangeScale` or `SetScale`; the answer's `num-units` is the scale set.
fn scale_applications(model: &Model, args: ScaleArgs) -> Result<Value, ApiError> {
    let results: Vec<Value> = args
        .applications
        .iter()
        .map(|arg| {
            let outcome = (|| {
                if arg.scale < 0 && arg.scale_change == 0 {
                    return Err(ApiError::not_valid("scale < 0 not valid"));
                }
                if arg.scale != 0 && arg.scale_change != 0 {
                    return Err(ApiError::not_valid(
                        "requesting both scale and scale-change not valid",
                    ));
                }
                let name = app_from_tag(&arg.application_tag)?;
                if model.application(name).is_none() {
                    return Err(ApiError::plain(format!(
                        "application {name:?} does not exist"
                    )));
                }
                if !arg.attach_storage.is_empty() {
                    // The twin models no storage, so no storage id can be attached.
                    return Err(ApiError::not_found(format!(
                        "storage {:?} not found",
                        arg.attach_storage[0]
                    )));
                }
                if arg.scale_change != 0 {
                    model.scale(name, None, arg.scale_change)
                } else {
                    model.scale(name, Some(arg.scale), 0)
                }
            })();
            match outcome {
                Ok(scale) => json!({"info": {"num-units": scale}}),
                Err(err) => json!({"error": error_json(&err)}),
            }
        })
        .collect();
    Ok(json!({"results": results}))
}

/// Charm config as Get and CharmConfig show it (`apiserver/.../application/get.go`).
fn describe_config(app: &AppView) -> Value {
    let mut out = Map::new();
    for opt in app.release.config.values() {
        let mut entry = json!({
            "description": opt.description,
            "type": opt.kind.as_str(),
        });
        let user = app.user_config.get(&opt.name);
        entry["source"] = json!(match (user, &opt.default) {
            (Some(_), _) => "user",
            (None, Some(_)) => "default",
            (None, None) => "unset",
        });
        if let Some(default) = &opt.default {
            entry["default"] = default.clone();
        }
        if let Some(value) = user.or(opt.default.as_ref()) {
            entry["value"] = value.clone();
        }
        out.insert(opt.name.clone(), entry);
    }
    Value::Object(out)
}

fn get(model: &Model, args: AppGet) -> Result<Value, ApiError> {
    let app = model
        .application(&args.application)
        .ok_or_else(|| ApiError::application_not_found(&args.application))?;
    let mut bindings = Map::new();
    bindings.insert(String::new(), json!("alpha"));
    for ep in app.release.endpoints.iter().filter(|e| !e.implicit) {
        bindings.insert(ep.name.clone(), json!("alpha"));
    }
    Ok(json!({
        "application": app.name,
        "charm": app.charm,
        "config": describe_config(&app),
        "application-config": {
            "trust": {
                "default": false,
                "description": "Does this application have access to trusted credentials",
                "source": if app.trust { "user" } else { "default" },
                "type": "bool",
                "value": app.trust,
            }
        },
        "constraints": {},
        "base": {"name": app.base.name, "channel": app.base.channel},
        "channel": app.channel,
        "endpoint-bindings": bindings,
    }))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AppGetArgs {
    args: Vec<AppGet>,
}

fn charm_config(model: &Model, args: AppGetArgs) -> Result<Value, ApiError> {
    let results: Vec<Value> = args
        .args
        .iter()
        .map(|arg| match model.application(&arg.application) {
            Some(app) => json!({"config": describe_config(&app)}),
            None => json!({
                "config": null,
                "error": error_json(&ApiError::application_not_found(&arg.application)),
            }),
        })
        .collect();
    Ok(json!({"Results": results}))
}
