//! Serde structs exactly as a Juju 3.6 controller sends and expects them.
//!
//! Owns the JSON shape of every request and reply the client uses, written from
//! reference/juju-api.md and `juju-schema/juju-3.6-facades.json`: dash-case keys, the capitalised
//! keys that are real wire keys (`Args`, `Results`, every `DeployFromRepositoryArg` field), flattened
//! embedded structs. Go sends nil slices and maps as `null`, so every list and map decodes from
//! `null` as empty ([`null_as_default`]); unknown keys are ignored on decode, as Go does.
//! It knows nothing of domain types: [`super::client`] converts. Start at [`Envelope`] and
//! [`Reply`], then one section per facade.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// Decodes `null` (and, with `#[serde(default)]`, a missing key) as `T::default()`.
///
/// # Errors
/// Whatever `T`'s own decoding reports.
pub fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

// ---------------------------------------------------------------------------------------------
// Envelope (J:rpc/jsoncodec/codec.go)

/// One request frame. `request-id` is never 0: 0 selects Juju's legacy capitalised format.
#[derive(Serialize)]
pub struct Envelope<'a> {
    /// Non-zero request id.
    #[serde(rename = "request-id")]
    pub request_id: u64,
    /// Facade name.
    #[serde(rename = "type")]
    pub facade: &'a str,
    /// Facade version; must always be sent.
    pub version: u32,
    /// The object addressed (a watcher's id); omitted for facade methods.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub id: &'a str,
    /// Method name.
    pub request: &'a str,
    /// Method parameters (`{}` for none).
    pub params: &'a Value,
}

/// One reply frame. Empty fields are omitted by Juju.
#[derive(Deserialize, Debug, Default)]
pub struct Reply {
    /// The id of the request this answers.
    #[serde(rename = "request-id", default)]
    pub request_id: u64,
    /// Result object (`{}` on error).
    #[serde(default)]
    pub response: Option<Value>,
    /// Error message; empty on success.
    #[serde(default, deserialize_with = "null_as_default")]
    pub error: String,
    /// Error code; may be empty even on error.
    #[serde(rename = "error-code", default, deserialize_with = "null_as_default")]
    pub error_code: String,
    /// Extra error data (`redirection required` carries the new servers here).
    #[serde(rename = "error-info", default)]
    pub error_info: Option<Value>,
}

/// An error inside a result (`{"message","code","info?"}`), as bulk calls report per item.
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
pub struct ErrorObject {
    /// Juju's message.
    #[serde(default, deserialize_with = "null_as_default")]
    pub message: String,
    /// Juju's code; may be empty.
    #[serde(default, deserialize_with = "null_as_default")]
    pub code: String,
    /// Extra data.
    #[serde(default)]
    pub info: Option<Value>,
}

/// `{"error": …}`, one item of `ErrorResults`.
#[derive(Deserialize, Debug, Default)]
pub struct ErrorResult {
    /// The item's error, if any.
    #[serde(default)]
    pub error: Option<ErrorObject>,
}

/// `ErrorResults`: `{"results":[{"error"?}]}`.
#[derive(Deserialize, Debug, Default)]
pub struct ErrorResults {
    /// One result per argument.
    #[serde(default, deserialize_with = "null_as_default")]
    pub results: Vec<ErrorResult>,
}

/// `{"tag": …}`.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
pub struct Entity {
    /// Entity tag, e.g. `application-kfp-api`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tag: String,
}

/// An OS base, e.g. `{"name":"ubuntu","channel":"22.04"}`.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
pub struct Base {
    /// OS name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// OS channel.
    #[serde(default, deserialize_with = "null_as_default")]
    pub channel: String,
}

// ---------------------------------------------------------------------------------------------
// Admin v3 Login (juju-api.md §3)

/// `LoginRequest`. Deliberately no `Debug`: it carries the password.
#[derive(Serialize)]
pub struct LoginRequest<'a> {
    /// `user-<name>`.
    #[serde(rename = "auth-tag")]
    pub auth_tag: String,
    /// The password.
    pub credentials: &'a str,
    /// Always empty for users.
    pub nonce: &'a str,
    /// Always empty: password login only.
    pub macaroons: Vec<Vec<Value>>,
    /// Always empty.
    #[serde(rename = "user-data")]
    pub user_data: &'a str,
    /// The Juju client version we speak; the server does not check it.
    #[serde(rename = "client-version")]
    pub client_version: &'a str,
}

impl fmt::Debug for LoginRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginRequest")
            .field("auth_tag", &self.auth_tag)
            .field("credentials", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// `HostPort` with its embedded `Address` flattened, as on the wire.
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
pub struct HostPort {
    /// Host (IP or name).
    #[serde(default, deserialize_with = "null_as_default")]
    pub value: String,
    /// TCP port.
    #[serde(default)]
    pub port: u16,
}

impl HostPort {
    /// `host:port`, with IPv6 hosts in brackets.
    pub fn address(&self) -> String {
        if self.value.contains(':') && !self.value.starts_with('[') {
            format!("[{}]:{}", self.value, self.port)
        } else {
            format!("{}:{}", self.value, self.port)
        }
    }
}

/// `FacadeVersions`.
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
pub struct FacadeVersions {
    /// Facade name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Versions served.
    #[serde(default, deserialize_with = "null_as_default")]
    pub versions: Vec<u32>,
}

/// `AuthUserInfo`.
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
pub struct AuthUserInfo {
    /// `user-<name>`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub identity: String,
    /// Controller access level.
    #[serde(
        rename = "controller-access",
        default,
        deserialize_with = "null_as_default"
    )]
    pub controller_access: String,
    /// Model access level.
    #[serde(rename = "model-access", default, deserialize_with = "null_as_default")]
    pub model_access: String,
}

/// `LoginResult`.
#[derive(Deserialize, Debug, Clone, Default)]
pub struct LoginResult {
    /// `model-<uuid>`.
    #[serde(rename = "model-tag", default, deserialize_with = "null_as_default")]
    pub model_tag: String,
    /// Who we are.
    #[serde(rename = "user-info", default)]
    pub user_info: Option<AuthUserInfo>,
    /// Facades and versions served.
    #[serde(default, deserialize_with = "null_as_default")]
    pub facades: Vec<FacadeVersions>,
    /// e.g. `3.6.11`.
    #[serde(
        rename = "server-version",
        default,
        deserialize_with = "null_as_default"
    )]
    pub server_version: String,
    /// Macaroon flow (legacy form): a password-only client treats it as a refusal.
    #[serde(rename = "discharge-required", default)]
    pub discharge_required: Option<Value>,
    /// Macaroon flow: a password-only client treats it as a refusal.
    #[serde(rename = "bakery-discharge-required", default)]
    pub bakery_discharge_required: Option<Value>,
    /// Why a discharge is required.
    #[serde(
        rename = "discharge-required-error",
        default,
        deserialize_with = "null_as_default"
    )]
    pub discharge_required_error: String,
}

/// `error-info` of a `redirection required` error (`RedirectErrorInfo`).
#[derive(Deserialize, Debug, Clone, Default)]
pub struct RedirectInfo {
    /// Where the model went.
    #[serde(default, deserialize_with = "null_as_default")]
    pub servers: Vec<Vec<HostPort>>,
}

// ---------------------------------------------------------------------------------------------
// Client v8 FullStatus (juju-api.md §5(a))

/// `StatusParams`.
#[derive(Serialize, Debug)]
pub struct StatusParams<'a> {
    /// Empty: everything.
    pub patterns: &'a [&'a str],
}

/// `FullStatus` (only what the client reads).
#[derive(Deserialize, Debug, Default)]
pub struct FullStatus {
    /// The model.
    #[serde(default)]
    pub model: Option<ModelStatusInfo>,
    /// Applications by name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub applications: BTreeMap<String, ApplicationStatus>,
    /// Every relation.
    #[serde(default, deserialize_with = "null_as_default")]
    pub relations: Vec<RelationStatus>,
    /// Applications of other models consumed here through offers (`juju consume`), by the name
    /// they go by in this model: the far end of a cross-model relation.
    #[serde(
        rename = "remote-applications",
        default,
        deserialize_with = "null_as_default"
    )]
    pub remote_applications: BTreeMap<String, RemoteApplicationStatus>,
}

/// `RemoteApplicationStatus` (only what the client reads).
#[derive(Deserialize, Debug, Default)]
pub struct RemoteApplicationStatus {
    /// The offer it was consumed from, `[controller:]owner/model.offer`.
    #[serde(rename = "offer-url", default, deserialize_with = "null_as_default")]
    pub offer_url: String,
}

/// `ModelStatusInfo`.
#[derive(Deserialize, Debug, Default)]
pub struct ModelStatusInfo {
    /// Model name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// `caas` or `iaas`.
    #[serde(rename = "type", default, deserialize_with = "null_as_default")]
    pub model_type: String,
}

/// `DetailedStatus` (only what the client reads).
#[derive(Deserialize, Debug, Default, Clone)]
pub struct DetailedStatus {
    /// `active`, `idle`, …
    #[serde(default, deserialize_with = "null_as_default")]
    pub status: String,
    /// The message.
    #[serde(default, deserialize_with = "null_as_default")]
    pub info: String,
}

/// `ApplicationStatus` (only what the client reads).
#[derive(Deserialize, Debug, Default)]
pub struct ApplicationStatus {
    /// Charm URL.
    #[serde(default, deserialize_with = "null_as_default")]
    pub charm: String,
    /// Charm revision; omitted when 0.
    #[serde(rename = "charm-rev", default)]
    pub charm_rev: Option<i64>,
    /// Normalised channel.
    #[serde(
        rename = "charm-channel",
        default,
        deserialize_with = "null_as_default"
    )]
    pub charm_channel: String,
    /// `""` (alive, usually omitted), `dying`, `dead`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub life: String,
    /// Application status.
    #[serde(default)]
    pub status: Option<DetailedStatus>,
    /// Units by name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub units: BTreeMap<String, UnitStatus>,
    /// Kubernetes scale (Juju's odd key name).
    #[serde(rename = "int", default)]
    pub scale: Option<i64>,
    /// OS base.
    #[serde(default)]
    pub base: Option<Base>,
}

/// `UnitStatus` (only what the client reads).
#[derive(Deserialize, Debug, Default)]
pub struct UnitStatus {
    /// Workload status.
    #[serde(rename = "workload-status", default)]
    pub workload_status: Option<DetailedStatus>,
    /// Agent status.
    #[serde(rename = "agent-status", default)]
    pub agent_status: Option<DetailedStatus>,
    /// Leader flag; omitted when false.
    #[serde(default, deserialize_with = "null_as_default")]
    pub leader: bool,
}

/// `RelationStatus`.
#[derive(Deserialize, Debug, Default)]
pub struct RelationStatus {
    /// Relation id.
    #[serde(default)]
    pub id: i64,
    /// Relation key.
    #[serde(default, deserialize_with = "null_as_default")]
    pub key: String,
    /// Interface.
    #[serde(default, deserialize_with = "null_as_default")]
    pub interface: String,
    /// Endpoints.
    #[serde(default, deserialize_with = "null_as_default")]
    pub endpoints: Vec<EndpointStatus>,
}

/// `EndpointStatus`.
#[derive(Deserialize, Debug, Default)]
pub struct EndpointStatus {
    /// Application name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub application: String,
    /// Endpoint name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// `provider`, `requirer`, `peer`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub role: String,
}

// ---------------------------------------------------------------------------------------------
// Application (juju-api.md §5(b)–(g))

/// `DestroyApplicationsParams`.
#[derive(Serialize, Debug)]
pub struct DestroyApplicationsParams {
    /// One per application.
    pub applications: Vec<DestroyApplicationParams>,
}

/// `DestroyApplicationParams`.
#[derive(Serialize, Debug)]
pub struct DestroyApplicationParams {
    /// `application-<name>`.
    #[serde(rename = "application-tag")]
    pub application_tag: String,
    /// Always serialised (no omitempty in Go).
    pub force: bool,
    /// Destroy the application's storage instead of detaching it.
    #[serde(rename = "destroy-storage")]
    pub destroy_storage: bool,
}

/// `DestroyApplicationResults`.
#[derive(Deserialize, Debug, Default)]
pub struct DestroyApplicationResults {
    /// One per application.
    #[serde(default, deserialize_with = "null_as_default")]
    pub results: Vec<DestroyApplicationResult>,
}

/// `DestroyApplicationResult` (the `info` is not read).
#[derive(Deserialize, Debug, Default)]
pub struct DestroyApplicationResult {
    /// Per-item error.
    #[serde(default)]
    pub error: Option<ErrorObject>,
}

/// `DeployFromRepositoryArgs`: capitalised `Args`.
#[derive(Serialize, Debug)]
pub struct DeployFromRepositoryArgs {
    /// One per application.
    #[serde(rename = "Args")]
    pub args: Vec<DeployFromRepositoryArg>,
}

/// `DeployFromRepositoryArg`. Most keys are Go field names (no json tags), hence capitalised.
#[derive(Serialize, Debug)]
pub struct DeployFromRepositoryArg {
    /// Plain charm name; the server prefixes `ch:`.
    #[serde(rename = "CharmName")]
    pub charm_name: String,
    /// Application name.
    #[serde(rename = "ApplicationName")]
    pub application_name: String,
    /// Storage to attach (none).
    #[serde(rename = "AttachStorage")]
    pub attach_storage: Vec<String>,
    /// OS base (`--base`), its channel with a risk as the CLI sends it (`22.04/stable`); omitted
    /// when not asked (Go: `*Base`, `omitempty`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<Base>,
    /// Channel, e.g. `2/edge`; omitted for the server's default (`stable`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Charm config as YAML keyed by the application name; empty for none.
    #[serde(rename = "ConfigYAML")]
    pub config_yaml: String,
    /// Constraints (none).
    #[serde(rename = "Cons")]
    pub cons: BTreeMap<String, Value>,
    /// Devices (none).
    #[serde(rename = "Devices")]
    pub devices: BTreeMap<String, Value>,
    /// Always false.
    #[serde(rename = "DryRun")]
    pub dry_run: bool,
    /// Units; omitted for Juju's default of 1.
    #[serde(rename = "num-units", skip_serializing_if = "Option::is_none")]
    pub num_units: Option<u32>,
    /// Placement (none).
    #[serde(rename = "Placement")]
    pub placement: Vec<Value>,
    /// Charm revision (`--revision`); omitted for the newest in the channel (Go: `*int`,
    /// `omitempty`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<i64>,
    /// Storage directives (none).
    #[serde(rename = "Storage")]
    pub storage: BTreeMap<String, Value>,
    /// `--trust`.
    #[serde(rename = "Trust")]
    pub trust: bool,
}

/// `DeployFromRepositoryResults`: capitalised `Results`.
#[derive(Deserialize, Debug, Default)]
pub struct DeployFromRepositoryResults {
    /// One per argument.
    #[serde(rename = "Results", default, deserialize_with = "null_as_default")]
    pub results: Vec<DeployFromRepositoryResult>,
}

/// `DeployFromRepositoryResult`.
#[derive(Deserialize, Debug, Default)]
pub struct DeployFromRepositoryResult {
    /// Every error of the deploy (`null` when none).
    #[serde(rename = "Errors", default, deserialize_with = "null_as_default")]
    pub errors: Vec<ErrorObject>,
    /// What was deployed (zero-valued on error).
    #[serde(rename = "Info", default)]
    pub info: Option<DeployFromRepositoryInfo>,
}

/// `DeployFromRepositoryInfo`.
#[derive(Deserialize, Debug, Default)]
pub struct DeployFromRepositoryInfo {
    /// Charm name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Channel deployed from.
    #[serde(default, deserialize_with = "null_as_default")]
    pub channel: String,
    /// Charm revision deployed.
    #[serde(default)]
    pub revision: i64,
}

/// `ApplicationGet` (`Get`, `GetCharmURLOrigin`).
#[derive(Serialize, Debug)]
pub struct ApplicationGet<'a> {
    /// Application name.
    pub application: &'a str,
    /// Branch; `""` is the master generation.
    pub branch: &'a str,
}

/// `CharmOrigin`: where a charm comes from. `id` is always sent (no omitempty in Go).
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
pub struct CharmOrigin {
    /// `charm-hub` or `local`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub source: String,
    /// `charm` or `bundle`.
    #[serde(rename = "type", default, deserialize_with = "null_as_default")]
    pub kind: String,
    /// Charmhub id; empty until the first download completes.
    #[serde(default, deserialize_with = "null_as_default")]
    pub id: String,
    /// Charmhub hash; set together with `id`.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub hash: String,
    /// Charm revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<i64>,
    /// Channel risk.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub risk: String,
    /// Channel track; absent for `latest`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track: Option<String>,
    /// Channel branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Architecture, e.g. `amd64`.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub architecture: String,
    /// OS base.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<Base>,
    /// Charmhub instance key.
    #[serde(
        rename = "instance-key",
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub instance_key: String,
}

/// `CharmURLOriginResult`.
#[derive(Deserialize, Debug, Default)]
pub struct CharmUrlOriginResult {
    /// Current charm URL.
    #[serde(default, deserialize_with = "null_as_default")]
    pub url: String,
    /// Current origin.
    #[serde(rename = "charm-origin", default)]
    pub charm_origin: Option<CharmOrigin>,
    /// Error, if any.
    #[serde(default)]
    pub error: Option<ErrorObject>,
}

/// `ApplicationSetCharm`.
#[derive(Serialize, Debug)]
pub struct ApplicationSetCharm {
    /// Application name.
    pub application: String,
    /// New charm URL (with revision).
    #[serde(rename = "charm-url")]
    pub charm_url: String,
    /// New origin.
    #[serde(rename = "charm-origin")]
    pub charm_origin: CharmOrigin,
    /// Legacy field: the origin's risk.
    pub channel: String,
    /// Never forced.
    pub force: bool,
    /// Never forced.
    #[serde(rename = "force-base")]
    pub force_base: bool,
    /// Never forced.
    #[serde(rename = "force-units")]
    pub force_units: bool,
    /// `""`: the master generation.
    pub generation: String,
    /// Pending resource ids by resource name; omitted when none.
    #[serde(rename = "resource-ids", skip_serializing_if = "BTreeMap::is_empty")]
    pub resource_ids: BTreeMap<String, String>,
    /// Charm and application settings applied with the new charm (`trust` for `--trust`, as
    /// `utils.ProcessConfig` puts it); omitted when none.
    #[serde(rename = "config-settings", skip_serializing_if = "BTreeMap::is_empty")]
    pub config_settings: BTreeMap<String, String>,
}

/// `AddRelation`.
#[derive(Serialize, Debug)]
pub struct AddRelation<'a> {
    /// Two endpoints, `app` or `app:endpoint`.
    pub endpoints: [&'a str; 2],
}

/// `DestroyRelation` by endpoints.
#[derive(Serialize, Debug)]
pub struct DestroyRelation<'a> {
    /// Two endpoints, `app` or `app:endpoint`.
    pub endpoints: [&'a str; 2],
    /// Never forced.
    pub force: bool,
}

/// `ConfigSetArgs`: capitalised `Args`.
#[derive(Serialize, Debug)]
pub struct ConfigSetArgs<'a> {
    /// One per application.
    #[serde(rename = "Args")]
    pub args: Vec<ConfigSet<'a>>,
}

/// `ConfigSet`.
#[derive(Serialize, Debug)]
pub struct ConfigSet<'a> {
    /// Application name.
    pub application: &'a str,
    /// Values as strings; the server parses them by option type.
    pub config: &'a BTreeMap<String, String>,
    /// Unused.
    #[serde(rename = "config-yaml")]
    pub config_yaml: &'a str,
    /// `""`: the master generation.
    pub generation: &'a str,
}

/// `ApplicationConfigUnsetArgs`: capitalised `Args`.
#[derive(Serialize, Debug)]
pub struct ApplicationConfigUnsetArgs<'a> {
    /// One per application.
    #[serde(rename = "Args")]
    pub args: Vec<ApplicationUnset<'a>>,
}

/// `ApplicationUnset`: options reset to their defaults.
#[derive(Serialize, Debug)]
pub struct ApplicationUnset<'a> {
    /// Application name.
    pub application: &'a str,
    /// `""`: the master generation.
    pub branch: &'a str,
    /// Option names.
    pub options: &'a [String],
}

/// `ScaleApplicationsParams` (Application 19–20) and `ScaleApplicationsParamsV2` (21–22): the
/// same keys on the wire while `attach-storage` is empty, which Go omits (`omitempty`), so one
/// struct serves every version the client negotiates.
#[derive(Serialize, Debug)]
pub struct ScaleApplicationsParams {
    /// One per application.
    pub applications: Vec<ScaleApplicationParams>,
}

/// `ScaleApplicationParams` / `ScaleApplicationParamsV2` without `scale-change` (Go omits a zero
/// one) and `attach-storage`.
#[derive(Serialize, Debug)]
pub struct ScaleApplicationParams {
    /// `application-<name>`.
    #[serde(rename = "application-tag")]
    pub application_tag: String,
    /// The number of units wanted.
    pub scale: u32,
    /// `false`, as `juju scale-application` sends it.
    pub force: bool,
}

/// `ScaleApplicationResults`.
#[derive(Deserialize, Debug, Default)]
pub struct ScaleApplicationResults {
    /// One per application.
    #[serde(default, deserialize_with = "null_as_default")]
    pub results: Vec<ScaleApplicationResult>,
}

/// `ScaleApplicationResult`.
#[derive(Deserialize, Debug, Default)]
pub struct ScaleApplicationResult {
    /// The scale set, on success.
    #[serde(default)]
    pub info: Option<ScaleApplicationInfo>,
    /// Per-item error.
    #[serde(default)]
    pub error: Option<ErrorObject>,
}

/// `ScaleApplicationInfo`.
#[derive(Deserialize, Debug, Default)]
pub struct ScaleApplicationInfo {
    /// The scale now wanted.
    #[serde(rename = "num-units", default)]
    pub num_units: i64,
}

/// `ApplicationGetResults` (only what the client reads).
#[derive(Deserialize, Debug, Default)]
pub struct ApplicationGetResults {
    /// Application name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub application: String,
    /// Charm name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub charm: String,
    /// Channel.
    #[serde(default, deserialize_with = "null_as_default")]
    pub channel: String,
    /// Charm config: option name → `{description,type,source,value?,default?}`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub config: BTreeMap<String, Value>,
    /// Application config (`trust`, …), same shape.
    #[serde(
        rename = "application-config",
        default,
        deserialize_with = "null_as_default"
    )]
    pub application_config: BTreeMap<String, Value>,
}

/// One option of `ApplicationGetResults.config` (an `interface{}` map in Go).
#[derive(Deserialize, Debug, Default)]
pub struct ConfigOption {
    /// Option type.
    #[serde(rename = "type", default, deserialize_with = "null_as_default")]
    pub option_type: String,
    /// `default`, `user`, `unset`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub source: String,
    /// Value in effect, if any.
    #[serde(default)]
    pub value: Option<Value>,
    /// Default, if any.
    #[serde(default)]
    pub default: Option<Value>,
}

// ---------------------------------------------------------------------------------------------
// Charms v7 (juju-api.md §5(d))

/// `ResolveCharmsWithChannel`.
#[derive(Serialize, Debug)]
pub struct ResolveCharmsWithChannel {
    /// One per charm.
    pub resolve: Vec<ResolveCharmWithChannel>,
}

/// `ResolveCharmWithChannel`.
#[derive(Serialize, Debug)]
pub struct ResolveCharmWithChannel {
    /// Charm URL: without revision for a channel refresh, with it for a revision refresh.
    pub reference: String,
    /// Origin with the wanted channel.
    #[serde(rename = "charm-origin")]
    pub charm_origin: CharmOrigin,
    /// `true` only for a switch, which `--revision` is to the Go CLI: the controller then
    /// skips its check that the origin's source matches the URL's schema.
    #[serde(rename = "switch-charm")]
    pub switch_charm: bool,
}

/// `ApplicationCharmPlacements` (`Charms.CheckCharmPlacement`).
#[derive(Serialize, Debug)]
pub struct ApplicationCharmPlacements {
    /// One per application.
    pub placements: Vec<ApplicationCharmPlacement>,
}

/// `ApplicationCharmPlacement`.
#[derive(Serialize, Debug)]
pub struct ApplicationCharmPlacement {
    /// Application name.
    pub application: String,
    /// The charm URL it would switch to.
    #[serde(rename = "charm-url")]
    pub charm_url: String,
}

/// `ResolveCharmWithChannelResults`: capitalised `Results`.
#[derive(Deserialize, Debug, Default)]
pub struct ResolveCharmWithChannelResults {
    /// One per charm.
    #[serde(rename = "Results", default, deserialize_with = "null_as_default")]
    pub results: Vec<ResolveCharmWithChannelResult>,
}

/// `ResolveCharmWithChannelResult`.
#[derive(Deserialize, Debug, Default)]
pub struct ResolveCharmWithChannelResult {
    /// Resolved URL, with revision.
    #[serde(default, deserialize_with = "null_as_default")]
    pub url: String,
    /// Resolved origin.
    #[serde(rename = "charm-origin", default)]
    pub charm_origin: Option<CharmOrigin>,
    /// The bases the resolved charm can run on, as the controller reports them (Charms v7+
    /// always sends them; `null` when Go's slice is nil).
    #[serde(
        rename = "supported-bases",
        default,
        deserialize_with = "null_as_default"
    )]
    pub supported_bases: Vec<Base>,
    /// Per-item error.
    #[serde(default)]
    pub error: Option<ErrorObject>,
}

/// `AddCharmWithOrigin`.
#[derive(Serialize, Debug)]
pub struct AddCharmWithOrigin {
    /// Resolved URL.
    pub url: String,
    /// Resolved origin.
    #[serde(rename = "charm-origin")]
    pub charm_origin: CharmOrigin,
    /// Never forced.
    pub force: bool,
}

/// `CharmOriginResult`.
#[derive(Deserialize, Debug, Default)]
pub struct CharmOriginResult {
    /// The origin as the controller recorded it.
    #[serde(rename = "charm-origin", default)]
    pub charm_origin: Option<CharmOrigin>,
    /// Error, if any.
    #[serde(default)]
    pub error: Option<ErrorObject>,
}

/// `CharmURL`.
#[derive(Serialize, Debug)]
pub struct CharmUrlParam<'a> {
    /// Charm URL.
    pub url: &'a str,
}

/// `Charm` (only the resources of its metadata are read).
#[derive(Deserialize, Debug, Default)]
pub struct CharmInfo {
    /// Charm metadata.
    #[serde(default)]
    pub meta: Option<CharmMeta>,
}

/// `CharmMeta` (only resources).
#[derive(Deserialize, Debug, Default)]
pub struct CharmMeta {
    /// Resources declared by the charm.
    #[serde(default, deserialize_with = "null_as_default")]
    pub resources: BTreeMap<String, CharmResourceMeta>,
}

/// `CharmResourceMeta`.
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
pub struct CharmResourceMeta {
    /// Resource name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// `oci-image` or `file`.
    #[serde(rename = "type", default, deserialize_with = "null_as_default")]
    pub kind: String,
    /// Path.
    #[serde(default, deserialize_with = "null_as_default")]
    pub path: String,
    /// Description.
    #[serde(default, deserialize_with = "null_as_default")]
    pub description: String,
}

/// `CharmURLAndOrigins`.
#[derive(Serialize, Debug)]
pub struct CharmUrlAndOrigins {
    /// One per charm.
    pub entities: Vec<CharmUrlAndOrigin>,
}

/// `CharmURLAndOrigin`.
#[derive(Serialize, Debug)]
pub struct CharmUrlAndOrigin {
    /// Charm URL.
    #[serde(rename = "charm-url")]
    pub charm_url: String,
    /// Origin.
    #[serde(rename = "charm-origin")]
    pub charm_origin: CharmOrigin,
}

/// `CharmResourcesResults`: one list of resources per entity.
#[derive(Deserialize, Debug, Default)]
pub struct CharmResourcesResults {
    /// Per entity, per resource.
    #[serde(default, deserialize_with = "null_as_default")]
    pub results: Vec<Vec<CharmResourceResult>>,
}

/// `CharmResourceResult`: `CharmResource` and `ErrorResult` flattened.
#[derive(Deserialize, Debug, Default)]
pub struct CharmResourceResult {
    /// The resource.
    #[serde(flatten)]
    pub resource: CharmResource,
    /// Per-item error.
    #[serde(default)]
    pub error: Option<ErrorObject>,
}

/// `CharmResource`. `fingerprint` is a base64 string on the wire (the schema says int array).
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
pub struct CharmResource {
    /// Resource name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// `oci-image` or `file`.
    #[serde(rename = "type", default, deserialize_with = "null_as_default")]
    pub kind: String,
    /// Path.
    #[serde(default, deserialize_with = "null_as_default")]
    pub path: String,
    /// Description.
    #[serde(default, deserialize_with = "null_as_default")]
    pub description: String,
    /// `store` or `upload`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub origin: String,
    /// Resource revision (`-1`: let the store pick).
    #[serde(default)]
    pub revision: i64,
    /// Size in bytes.
    #[serde(default)]
    pub size: i64,
}

// ---------------------------------------------------------------------------------------------
// Resources v3

/// `ListResourcesArgs`.
#[derive(Serialize, Debug)]
pub struct ListResourcesArgs {
    /// Application tags.
    pub entities: Vec<Entity>,
}

/// `ResourcesResults`.
#[derive(Deserialize, Debug, Default)]
pub struct ResourcesResults {
    /// One per application.
    #[serde(default, deserialize_with = "null_as_default")]
    pub results: Vec<ResourcesResult>,
}

/// `ResourcesResult`, `ErrorResult` flattened.
#[derive(Deserialize, Debug, Default)]
pub struct ResourcesResult {
    /// The application's resources.
    #[serde(default, deserialize_with = "null_as_default")]
    pub resources: Vec<Resource>,
    /// Per-item error.
    #[serde(default)]
    pub error: Option<ErrorObject>,
}

/// `Resource`, `CharmResource` flattened (only what the client reads).
#[derive(Deserialize, Debug, Default, Clone)]
pub struct Resource {
    /// Resource name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// `store` or `upload`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub origin: String,
    /// Resource revision.
    #[serde(default)]
    pub revision: i64,
}

/// `AddPendingResourcesArgsV2`: `Entity` flattened to `tag`. `macaroon` is omitted (Go reads a
/// missing key as nil, the same as the `null` the Go client sends).
#[derive(Serialize, Debug)]
pub struct AddPendingResourcesArgs {
    /// `application-<name>`.
    pub tag: String,
    /// Charm URL the resources belong to.
    pub url: String,
    /// Its origin.
    #[serde(rename = "charm-origin")]
    pub charm_origin: CharmOrigin,
    /// Resources to add.
    pub resources: Vec<CharmResource>,
}

/// `AddPendingResourcesResult`, `ErrorResult` flattened.
#[derive(Deserialize, Debug, Default)]
pub struct AddPendingResourcesResult {
    /// One id per resource, in order.
    #[serde(rename = "pending-ids", default, deserialize_with = "null_as_default")]
    pub pending_ids: Vec<String>,
    /// Error, if any.
    #[serde(default)]
    pub error: Option<ErrorObject>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn full_status_decodes_with_null_lists_and_maps() {
        let raw = json!({
            "model": {"name": "kubeflow", "type": "caas"},
            "machines": null, "remote-applications": null, "offers": null, "branches": null,
            "applications": {
                "kfp-api": {
                    "charm": "ch:amd64/kfp-api-1000", "charm-channel": "2.5/stable",
                    "relations": null, "subordinate-to": null, "endpoint-bindings": null,
                    "units": null, "status": {"status": "active", "info": "", "data": null},
                    "meter-statuses": null, "int": 1, "unknown-future-key": {"x": 1}
                }
            },
            "relations": null
        });
        let status: FullStatus = serde_json::from_value(raw).expect("decodes");
        let app = &status.applications["kfp-api"];
        assert!(app.units.is_empty());
        assert_eq!(app.charm_rev, None);
        assert_eq!(app.scale, Some(1));
        assert!(status.relations.is_empty());
        assert!(status.remote_applications.is_empty());
    }

    #[test]
    fn a_consumed_offer_decodes_with_its_url() {
        let raw = json!({
            "remote-applications": {
                "prometheus": {
                    "offer-url": "cos:admin/cos.prometheus", "offer-name": "prometheus",
                    "endpoints": [{"name": "receive-remote-write", "role": "provider",
                                   "interface": "prometheus_remote_write", "limit": 0}],
                    "life": "", "relations": {"receive-remote-write": ["opentelemetry-collector"]},
                    "status": {"status": "active", "info": "", "data": null}
                }
            }
        });
        let status: FullStatus = serde_json::from_value(raw).expect("decodes");
        assert_eq!(
            status.remote_applications["prometheus"].offer_url,
            "cos:admin/cos.prometheus"
        );
    }

    #[test]
    fn null_application_map_is_empty() {
        let status: FullStatus =
            serde_json::from_value(json!({"applications": null})).expect("decodes");
        assert!(status.applications.is_empty());
    }

    #[test]
    fn deploy_result_with_null_errors_is_success() {
        let raw = json!({"Results": [{"Errors": null, "Info": {"architecture": "amd64",
            "base": {"name": "ubuntu", "channel": "22.04"}, "channel": "1.24/stable",
            "name": "istio-pilot", "revision": 1234}, "PendingResourceUploads": null}]});
        let results: DeployFromRepositoryResults = serde_json::from_value(raw).expect("decodes");
        assert!(results.results[0].errors.is_empty());
        assert_eq!(
            results.results[0].info.as_ref().map(|i| i.revision),
            Some(1234)
        );
    }

    #[test]
    fn charm_resource_result_reads_flattened_fields_and_base64_fingerprint() {
        let raw = json!({"results": [[{"name": "oci-image", "type": "oci-image", "path": "",
            "description": "", "origin": "store", "revision": 7,
            "fingerprint": "3q2+7w==", "size": 0}]]});
        let results: CharmResourcesResults = serde_json::from_value(raw).expect("decodes");
        assert_eq!(results.results[0][0].resource.revision, 7);
        assert!(results.results[0][0].error.is_none());
    }

    #[test]
    fn charm_origin_always_sends_id_and_omits_empty_optional_keys() {
        let origin = CharmOrigin {
            source: "charm-hub".into(),
            kind: "charm".into(),
            risk: "stable".into(),
            ..CharmOrigin::default()
        };
        let value = serde_json::to_value(&origin).expect("encodes");
        assert_eq!(
            value,
            json!({"source": "charm-hub", "type": "charm", "id": "", "risk": "stable"})
        );
    }

    #[test]
    fn deploy_from_repository_uses_go_field_names() {
        let arg = DeployFromRepositoryArg {
            charm_name: "istio-k8s".into(),
            application_name: "istio-k8s".into(),
            attach_storage: vec![],
            base: Some(Base {
                name: "ubuntu".into(),
                channel: "22.04/stable".into(),
            }),
            channel: Some("2/edge".into()),
            config_yaml: String::new(),
            cons: BTreeMap::new(),
            devices: BTreeMap::new(),
            dry_run: false,
            num_units: Some(1),
            placement: vec![],
            revision: Some(61),
            storage: BTreeMap::new(),
            trust: true,
        };
        let value =
            serde_json::to_value(DeployFromRepositoryArgs { args: vec![arg] }).expect("encodes");
        let keys: Vec<&str> = value["Args"][0]
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "ApplicationName",
                "AttachStorage",
                "CharmName",
                "ConfigYAML",
                "Cons",
                "Devices",
                "DryRun",
                "Placement",
                "Storage",
                "Trust",
                "base",
                "channel",
                "num-units",
                "revision"
            ]
        );
    }

    #[test]
    fn login_request_debug_hides_the_password() {
        let request = LoginRequest {
            auth_tag: "user-migrator".into(),
            credentials: "hunter2-secret",
            nonce: "",
            macaroons: vec![],
            user_data: "",
            client_version: "3.6.11",
        };
        assert!(!format!("{request:?}").contains("hunter2-secret"));
    }

    #[test]
    fn reply_with_error_keeps_message_and_code() {
        let reply: Reply = serde_json::from_value(json!({"request-id": 3,
            "error": "application \"nope\" not found", "error-code": "not found", "response": {}}))
        .expect("decodes");
        assert_eq!(reply.request_id, 3);
        assert_eq!(reply.error_code, "not found");
    }

    #[test]
    fn host_port_flattens_to_an_address() {
        let hp: HostPort = serde_json::from_value(json!({"value": "127.0.0.1", "type": "ipv4",
            "scope": "local-cloud", "port": 17070}))
        .expect("decodes");
        assert_eq!(hp.address(), "127.0.0.1:17070");
        let v6 = HostPort {
            value: "::1".into(),
            port: 17070,
        };
        assert_eq!(v6.address(), "[::1]:17070");
    }
}
