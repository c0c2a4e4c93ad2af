//! The charm catalog: what the twin's "Charmhub" holds, read from `sim/data/charms.yaml`.
//!
//! It owns charms, channels, revisions, resources, config options and endpoints, and nothing of
//! applications or time. Start at [`Catalog::get`] and [`Catalog::release`]; the data file's
//! header says which values come from the reference and which are invented.

use std::collections::BTreeMap;
use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::str::FromStr;
use std::sync::OnceLock;

use serde::Deserialize;

const CATALOG_YAML: &str = include_str!("../../data/charms.yaml");

/// A Charmhub channel `[track/]risk[/branch]`, normalised as Juju does (`latest` dropped).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Channel {
    /// Track, `None` for `latest`.
    pub track: Option<String>,
    /// One of `stable`, `candidate`, `beta`, `edge`.
    pub risk: String,
    /// Optional branch.
    pub branch: Option<String>,
}

const RISKS: [&str; 4] = ["stable", "candidate", "beta", "edge"];

impl FromStr for Channel {
    type Err = String;

    /// Parses `risk`, `track/risk`, `track/risk/branch`, or a bare `track` (meaning stable).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split('/').collect();
        let invalid = || format!("channel {s:?} not valid");
        let (track, risk, branch) = match parts.as_slice() {
            [one] if RISKS.contains(one) => (None, (*one).to_string(), None),
            [one] if !one.is_empty() => (Some((*one).to_string()), "stable".to_string(), None),
            [t, r] if RISKS.contains(r) && !t.is_empty() => {
                (Some((*t).to_string()), (*r).to_string(), None)
            }
            [r, b] if RISKS.contains(r) && !b.is_empty() => {
                (None, (*r).to_string(), Some((*b).to_string()))
            }
            [t, r, b] if RISKS.contains(r) && !t.is_empty() && !b.is_empty() => (
                Some((*t).to_string()),
                (*r).to_string(),
                Some((*b).to_string()),
            ),
            _ => return Err(invalid()),
        };
        let track = track.filter(|t| t != "latest");
        Ok(Channel {
            track,
            risk,
            branch,
        })
    }
}

impl Channel {
    /// Builds a channel from origin fields (`track` may be empty or `latest`).
    pub fn from_parts(track: &str, risk: &str, branch: &str) -> Result<Self, String> {
        if !RISKS.contains(&risk) {
            return Err(format!("risk {risk:?} not valid"));
        }
        let track = (!track.is_empty() && track != "latest").then(|| track.to_string());
        let branch = (!branch.is_empty()).then(|| branch.to_string());
        Ok(Channel {
            track,
            risk: risk.to_string(),
            branch,
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

/// An OS base a charm runs on, `ubuntu@22.04` (Juju's `corebase.Base`; the twin has no risks).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Base {
    /// OS name, `ubuntu`.
    pub name: String,
    /// OS channel, `22.04`.
    pub channel: String,
}

impl Base {
    /// The base every CKF 1.11 charm is built for: `ubuntu@22.04`.
    pub fn jammy() -> Self {
        Base {
            name: "ubuntu".into(),
            channel: "22.04".into(),
        }
    }

    /// Juju's `Base.IsCompatible` (`core/base/base.go` at v3.6.11): same OS and the same channel
    /// track, whatever the risk (`22.04` ≡ `22.04/stable`).
    pub fn is_compatible(&self, other: &Base) -> bool {
        let track = |b: &Base| b.channel.split('/').next().unwrap_or_default().to_string();
        self.name == other.name && track(self) == track(other)
    }

    /// Whether both name and channel are empty (an origin that names no base).
    pub fn is_empty(&self) -> bool {
        self.name.is_empty() && self.channel.is_empty()
    }
}

impl FromStr for Base {
    type Err = String;

    /// Parses `os@channel`, e.g. `ubuntu@22.04`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once('@') {
            Some((name, channel)) if !name.is_empty() && !channel.is_empty() => Ok(Base {
                name: name.to_string(),
                channel: channel.to_string(),
            }),
            _ => Err(format!("base {s:?} not valid: expected os@channel")),
        }
    }
}

impl fmt::Display for Base {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.name, self.channel)
    }
}

/// The role of a relation endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// `provides` in metadata, `provider` on the wire.
    Provider,
    /// `requires` in metadata, `requirer` on the wire.
    Requirer,
    /// `peers` in metadata, `peer` on the wire.
    Peer,
}

impl Role {
    /// The wire spelling (`provider`, `requirer`, `peer`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Provider => "provider",
            Role::Requirer => "requirer",
            Role::Peer => "peer",
        }
    }

    /// The role an endpoint must have to relate to this one.
    pub fn counterpart(self) -> Role {
        match self {
            Role::Provider => Role::Requirer,
            Role::Requirer => Role::Provider,
            Role::Peer => Role::Peer,
        }
    }
}

/// A relation endpoint declared by a charm revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointSpec {
    /// Endpoint name, e.g. `service-mesh`.
    pub name: String,
    /// Provider, requirer or peer.
    pub role: Role,
    /// Interface name, e.g. `service_mesh`.
    pub interface: String,
    /// Maximum number of relations (0 = unlimited).
    pub limit: i64,
    /// Whether the charm works without it.
    pub optional: bool,
    /// `juju-info`, which every charm provides implicitly.
    pub implicit: bool,
}

/// Type of a charm config option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionType {
    /// `string`
    String,
    /// `int`
    Int,
    /// `float`
    Float,
    /// `boolean`
    Boolean,
}

impl OptionType {
    /// The charm config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            OptionType::String => "string",
            OptionType::Int => "int",
            OptionType::Float => "float",
            OptionType::Boolean => "boolean",
        }
    }

    /// Parses a value given as a string the way Juju's `ParseSettingsStrings` does.
    ///
    /// # Errors
    /// `option "x" expected int, got "abc"` when the string does not parse.
    pub fn parse(self, option: &str, raw: &str) -> Result<serde_json::Value, String> {
        let fail = || format!("option {option:?} expected {}, got {raw:?}", self.as_str());
        match self {
            OptionType::String => Ok(serde_json::Value::String(raw.to_string())),
            OptionType::Int => raw
                .parse::<i64>()
                .map(serde_json::Value::from)
                .map_err(|_| fail()),
            OptionType::Float => raw
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(serde_json::Value::Number)
                .ok_or_else(fail),
            OptionType::Boolean => parse_go_bool(raw)
                .map(serde_json::Value::Bool)
                .ok_or_else(fail),
        }
    }

    /// Checks a value already typed (from YAML) against the option type.
    ///
    /// # Errors
    /// `option "x" expected int, got true` when the type does not match.
    pub fn coerce(
        self,
        option: &str,
        value: &serde_json::Value,
    ) -> Result<serde_json::Value, String> {
        if let serde_json::Value::String(s) = value {
            return self.parse(option, s);
        }
        let ok = match self {
            OptionType::String => false,
            OptionType::Int => value.as_i64().is_some(),
            OptionType::Float => value.is_number(),
            OptionType::Boolean => value.is_boolean(),
        };
        if ok {
            Ok(value.clone())
        } else {
            Err(format!(
                "option {option:?} expected {}, got {value}",
                self.as_str()
            ))
        }
    }
}

/// Go's `strconv.ParseBool`.
pub fn parse_go_bool(raw: &str) -> Option<bool> {
    match raw {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// A charm config option.
#[derive(Debug, Clone, PartialEq)]
pub struct OptionSpec {
    /// Option name.
    pub name: String,
    /// Its type.
    pub kind: OptionType,
    /// Default value (`None` when the charm declares none).
    pub default: Option<serde_json::Value>,
    /// Description shown by `juju config`.
    pub description: String,
}

/// A resource declared by a charm revision, with the revision Charmhub serves in the channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceSpec {
    /// Resource name, e.g. `oci-image`.
    pub name: String,
    /// Resource type, `oci-image` for every Kubernetes charm here.
    pub kind: String,
    /// Description from metadata.
    pub description: String,
    /// Resource revision in this channel.
    pub revision: i64,
}

/// One charm revision as released to one channel.
#[derive(Debug, Clone, PartialEq)]
pub struct Release {
    /// Charm name.
    pub charm: String,
    /// Channel it is released to (normalised).
    pub channel: Channel,
    /// Charm revision.
    pub revision: i64,
    /// Summary from metadata.
    pub summary: String,
    /// Resources with the revisions this channel serves.
    pub resources: Vec<ResourceSpec>,
    /// Endpoints (the implicit `juju-info` included).
    pub endpoints: Vec<EndpointSpec>,
    /// Config options by name.
    pub config: BTreeMap<String, OptionSpec>,
    /// Bases this revision supports, in Charmhub's order (the first is the default).
    pub bases: Vec<Base>,
}

impl Release {
    /// The endpoint called `name`, if the revision declares it.
    pub fn endpoint(&self, name: &str) -> Option<&EndpointSpec> {
        self.endpoints.iter().find(|e| e.name == name)
    }

    /// Charm URL as a 3.6 controller writes it for charms it deployed.
    pub fn url(&self) -> String {
        format!("ch:amd64/{}-{}", self.charm, self.revision)
    }

    /// A Charmhub-style charm id: stable per charm, 32 alphanumerics (invented).
    pub fn charm_id(&self) -> String {
        charm_id(&self.charm)
    }

    /// A sha256-looking hash of this revision's archive (invented, stable).
    pub fn hash(&self) -> String {
        let mut out = String::with_capacity(64);
        let mut seed = 0u64;
        while out.len() < 64 {
            let mut h = DefaultHasher::new();
            (&self.charm, self.revision, seed).hash(&mut h);
            out.push_str(&format!("{:016x}", h.finish()));
            seed += 1;
        }
        out.truncate(64);
        out
    }
}

/// A Charmhub-style charm id for `charm` (stable, invented).
pub fn charm_id(charm: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(32);
    let mut seed = 0u64;
    while out.len() < 32 {
        let mut h = DefaultHasher::new();
        (charm, seed).hash(&mut h);
        let mut v = h.finish();
        for _ in 0..8 {
            out.push(ALPHABET[(v % ALPHABET.len() as u64) as usize] as char);
            v /= ALPHABET.len() as u64;
        }
        seed += 1;
    }
    out.truncate(32);
    out
}

/// Every charm the twin's Charmhub knows.
#[derive(Debug)]
pub struct Catalog {
    releases: BTreeMap<String, Vec<Release>>,
}

impl Catalog {
    /// The catalog parsed from `sim/data/charms.yaml` (parsed once; the file is compiled in, so a
    /// broken file fails every test at once).
    pub fn get() -> &'static Catalog {
        static CATALOG: OnceLock<Catalog> = OnceLock::new();
        CATALOG.get_or_init(|| {
            Catalog::parse(CATALOG_YAML).expect("sim/data/charms.yaml is valid (checked by tests)")
        })
    }

    /// Parses a catalog file.
    ///
    /// # Errors
    /// Malformed YAML, an unknown endpoint role, option type or channel, or a channel missing a
    /// resource revision.
    pub fn parse(yaml: &str) -> Result<Catalog, String> {
        let file: FileDoc = serde_yaml::from_str(yaml).map_err(|e| e.to_string())?;
        let mut releases = BTreeMap::new();
        for (name, charm) in file.charms {
            let mut list = Vec::new();
            for (channel, rel) in &charm.channels {
                list.push(build_release(&name, &charm, channel, rel)?);
            }
            releases.insert(name, list);
        }
        Ok(Catalog { releases })
    }

    /// Whether Charmhub knows the charm at all.
    pub fn has_charm(&self, charm: &str) -> bool {
        self.releases.contains_key(charm)
    }

    /// Names of every charm.
    pub fn charms(&self) -> impl Iterator<Item = &str> {
        self.releases.keys().map(String::as_str)
    }

    /// The release of `charm` in `channel`, if any.
    pub fn release(&self, charm: &str, channel: &Channel) -> Option<&Release> {
        self.releases
            .get(charm)?
            .iter()
            .find(|r| &r.channel == channel)
    }

    /// The release carrying `revision` of `charm` (the first channel it is in).
    pub fn release_by_revision(&self, charm: &str, revision: i64) -> Option<&Release> {
        self.releases
            .get(charm)?
            .iter()
            .find(|r| r.revision == revision)
    }

    /// Every release of `charm`.
    pub fn releases(&self, charm: &str) -> &[Release] {
        self.releases.get(charm).map(Vec::as_slice).unwrap_or(&[])
    }
}

/// Juju's message when a charm/channel pair is not on Charmhub (wording invented after Charmhub's
/// refresh errors; the reference is silent).
pub fn not_in_channel_message(charm: &str, channel: &Channel) -> String {
    format!(
        "selecting releases: charm {charm:?} not found for channel {:?}, base \"amd64/ubuntu/22.04/stable\"",
        channel.to_string()
    )
}

/// Juju's error for a revision Charmhub does not have. Asked by revision (no origin id),
/// Charmhub answers `revision-not-found` with every release of the charm, and Juju turns that into
/// `selecting releases: charm or bundle not found for channel <C>, base <platform>` followed by
/// one suggestion per channel (`core/charm/repository/charmhub.go` at v3.6.11:
/// `retryResolveWithPreferredChannel`, `handleRevisionNotFound`, `composeSuggestions`; the exact
/// shape is pinned by `TestResolveRevisionNotFoundError` in `charmhub_test.go`). The error has no
/// code (`errSelection` maps to none).
///
/// `channel` is the requested origin's channel as Go's `charm.Channel.String` writes it, and
/// `platform` its `Platform.String()` (`amd64/ubuntu/22.04`, or `amd64` without a base). Go
/// lists the channels in map order; the twin sorts them so that tests can compare.
pub fn revision_not_found_message(
    catalog: &Catalog,
    charm: &str,
    channel: &str,
    branch: bool,
    platform: &str,
) -> String {
    let releases = catalog.releases(charm);
    if releases.is_empty() {
        return "selecting releases: no releases available".to_string();
    }
    if branch {
        return format!(
            "selecting releases: ambiguous arch and series with channel {channel:?}, specify \
             both arch and series along with channel"
        );
    }
    let mut by_channel: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for release in releases {
        // A risk-only channel is written with `latest/`, as composeSuggestions does.
        let name = match &release.channel.track {
            Some(_) => release.channel.to_string(),
            None => format!("latest/{}", release.channel),
        };
        by_channel
            .entry(name)
            .or_default()
            .extend(release.bases.iter().map(Base::to_string));
    }
    let suggestions: Vec<String> = by_channel
        .iter()
        .map(|(ch, bases)| format!("channel {ch:?}: available bases are: {}", bases.join(", ")))
        .collect();
    format!(
        "selecting releases: charm or bundle not found for channel {channel:?}, base \
         {platform:?}\navailable releases are:\n  {}",
        suggestions.join("\n  ")
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    charms: BTreeMap<String, CharmDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CharmDoc {
    #[serde(default)]
    summary: String,
    #[serde(default)]
    resources: BTreeMap<String, ResourceDoc>,
    #[serde(default)]
    endpoints: BTreeMap<String, String>,
    #[serde(default)]
    config: BTreeMap<String, OptionDoc>,
    channels: BTreeMap<String, ChannelDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResourceDoc {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    description: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OptionDoc {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    default: Option<serde_yaml::Value>,
    #[serde(default)]
    description: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChannelDoc {
    revision: i64,
    #[serde(default)]
    resources: BTreeMap<String, i64>,
    #[serde(default)]
    mesh: bool,
    #[serde(default)]
    endpoints: BTreeMap<String, String>,
    #[serde(default)]
    config: BTreeMap<String, OptionDoc>,
    #[serde(default)]
    bases: Vec<String>,
}

fn build_release(
    name: &str,
    charm: &CharmDoc,
    channel: &str,
    doc: &ChannelDoc,
) -> Result<Release, String> {
    let channel = Channel::from_str(channel).map_err(|e| format!("{name}: {e}"))?;
    let mut resources = Vec::new();
    for (rname, rdoc) in &charm.resources {
        let revision = *doc
            .resources
            .get(rname)
            .ok_or_else(|| format!("{name} {channel}: no revision for resource {rname}"))?;
        resources.push(ResourceSpec {
            name: rname.clone(),
            kind: rdoc.kind.clone(),
            description: rdoc.description.clone(),
            revision,
        });
    }
    if let Some(extra) = doc
        .resources
        .keys()
        .find(|k| !charm.resources.contains_key(*k))
    {
        return Err(format!("{name} {channel}: undeclared resource {extra}"));
    }
    let mut endpoints = Vec::new();
    for (ename, spec) in charm.endpoints.iter().chain(doc.endpoints.iter()) {
        endpoints.push(parse_endpoint(ename, spec).map_err(|e| format!("{name}: {e}"))?);
    }
    if doc.mesh {
        for (ename, spec) in [
            ("service-mesh", "requires service_mesh limit=1"),
            ("require-cmr-mesh", "requires cross_model_mesh"),
            ("provide-cmr-mesh", "provides cross_model_mesh"),
        ] {
            endpoints.push(parse_endpoint(ename, spec)?);
        }
    }
    endpoints.push(EndpointSpec {
        name: "juju-info".into(),
        role: Role::Provider,
        interface: "juju-info".into(),
        limit: 0,
        optional: false,
        implicit: true,
    });
    let mut config = BTreeMap::new();
    for (oname, odoc) in charm.config.iter().chain(doc.config.iter()) {
        config.insert(
            oname.clone(),
            parse_option(oname, odoc).map_err(|e| format!("{name}: {e}"))?,
        );
    }
    let bases = if doc.bases.is_empty() {
        vec![Base::jammy()]
    } else {
        doc.bases
            .iter()
            .map(|b| b.parse().map_err(|e| format!("{name} {channel}: {e}")))
            .collect::<Result<_, String>>()?
    };
    Ok(Release {
        charm: name.to_string(),
        channel,
        revision: doc.revision,
        summary: charm.summary.clone(),
        resources,
        endpoints,
        config,
        bases,
    })
}

fn parse_endpoint(name: &str, spec: &str) -> Result<EndpointSpec, String> {
    let mut words = spec.split_whitespace();
    let role = match words.next() {
        Some("provides") => Role::Provider,
        Some("requires") => Role::Requirer,
        Some("peer") => Role::Peer,
        other => return Err(format!("endpoint {name}: unknown role {other:?}")),
    };
    let interface = words
        .next()
        .ok_or_else(|| format!("endpoint {name}: no interface"))?
        .to_string();
    let mut limit = if role == Role::Requirer { 1 } else { 0 };
    let mut optional = false;
    for word in words {
        if let Some(n) = word.strip_prefix("limit=") {
            limit = n
                .parse()
                .map_err(|_| format!("endpoint {name}: bad limit"))?;
        } else if word == "optional" {
            optional = true;
        } else {
            return Err(format!("endpoint {name}: unknown flag {word}"));
        }
    }
    // Juju's charm metadata: a requirer without an explicit limit may relate once.
    Ok(EndpointSpec {
        name: name.to_string(),
        role,
        interface,
        limit,
        optional,
        implicit: false,
    })
}

fn parse_option(name: &str, doc: &OptionDoc) -> Result<OptionSpec, String> {
    let kind = match doc.kind.as_str() {
        "string" => OptionType::String,
        "int" => OptionType::Int,
        "float" => OptionType::Float,
        "boolean" => OptionType::Boolean,
        other => return Err(format!("option {name}: unknown type {other}")),
    };
    let default = match &doc.default {
        None | Some(serde_yaml::Value::Null) => None,
        Some(v) => {
            let json = serde_json::to_value(v).map_err(|e| e.to_string())?;
            Some(kind.coerce(name, &json)?)
        }
    };
    Ok(OptionSpec {
        name: name.to_string(),
        kind,
        default,
        description: doc.description.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ch(s: &str) -> Channel {
        s.parse().expect("valid channel")
    }

    #[test]
    fn the_data_file_parses() {
        let catalog = Catalog::parse(CATALOG_YAML).expect("catalog parses");
        assert!(catalog.has_charm("istio-k8s"));
    }

    #[test]
    fn channels_normalise_like_juju() {
        assert_eq!(ch("latest/stable").to_string(), "stable");
        assert_eq!(ch("stable").to_string(), "stable");
        assert_eq!(ch("2.0/edge").to_string(), "2.0/edge");
        assert_eq!(ch("1.10").to_string(), "1.10/stable");
        assert!("2.0/nightly".parse::<Channel>().is_err());
    }

    #[test]
    fn admission_webhook_gains_service_mesh_only_on_2_0_edge() {
        let catalog = Catalog::get();
        let old = catalog
            .release("admission-webhook", &ch("1.10/stable"))
            .expect("1.10/stable");
        let new = catalog
            .release("admission-webhook", &ch("2.0/edge"))
            .expect("2.0/edge");
        assert!(old.endpoint("service-mesh").is_none());
        assert_eq!(
            new.endpoint("service-mesh").map(|e| e.interface.as_str()),
            Some("service_mesh")
        );
    }

    #[test]
    fn kfp_api_edge_provides_kfp_api_grpc() {
        let rel = Catalog::get()
            .release("kfp-api", &ch("2.15/edge"))
            .expect("kfp-api 2.15/edge");
        let ep = rel.endpoint("kfp-api-grpc").expect("kfp-api-grpc");
        assert_eq!(ep.role, Role::Provider);
    }

    #[test]
    fn kubeflow_profiles_options_differ_between_tracks() {
        let catalog = Catalog::get();
        let old = catalog
            .release("kubeflow-profiles", &ch("1.10/stable"))
            .expect("1.10");
        let new = catalog
            .release("kubeflow-profiles", &ch("2.0/edge"))
            .expect("2.0");
        assert!(!old.config.contains_key("service-mesh-mode"));
        assert_eq!(
            new.config["service-mesh-mode"].default,
            Some(serde_json::json!("istio-sidecar"))
        );
        assert!(new.config.contains_key("istio-gateway-service-account"));
    }

    #[test]
    fn option_strings_parse_by_type_with_jujus_message() {
        assert_eq!(
            OptionType::Int.parse("port", "abc"),
            Err(r#"option "port" expected int, got "abc""#.to_string())
        );
        assert_eq!(
            OptionType::Boolean.parse("x", "True"),
            Ok(serde_json::json!(true))
        );
    }

    #[test]
    fn releases_support_jammy_unless_the_data_says_otherwise() {
        let catalog = Catalog::parse(
            "charms:\n  c:\n    channels:\n      1/stable: {revision: 1}\n      2/edge: {revision: 2, bases: [ubuntu@24.04]}\n",
        )
        .expect("parses");
        let old = catalog.release("c", &ch("1/stable")).expect("1/stable");
        let new = catalog.release("c", &ch("2/edge")).expect("2/edge");
        assert_eq!(old.bases, [Base::jammy()]);
        assert_eq!(new.bases, ["ubuntu@24.04".parse::<Base>().expect("base")]);
        assert!(!Base::jammy().is_compatible(&new.bases[0]));
        assert!(Base::jammy().is_compatible(&"ubuntu@22.04/stable".parse().expect("base")));
    }

    #[test]
    fn an_unknown_revision_is_reported_with_every_channel_as_juju_suggests_them() {
        let message = revision_not_found_message(
            Catalog::get(),
            "admission-webhook",
            "1.10/stable",
            false,
            "amd64/ubuntu/22.04",
        );
        assert_eq!(
            message,
            "selecting releases: charm or bundle not found for channel \"1.10/stable\", base \
             \"amd64/ubuntu/22.04\"\navailable releases are:\n  \
             channel \"1.10/stable\": available bases are: ubuntu@22.04\n  \
             channel \"2.0/edge\": available bases are: ubuntu@22.04"
        );
        let risk_only =
            Catalog::parse("charms:\n  c:\n    channels:\n      stable: {revision: 1}\n")
                .expect("parses");
        assert!(
            revision_not_found_message(&risk_only, "c", "stable", false, "amd64")
                .contains("channel \"latest/stable\": available bases are: ubuntu@22.04"),
        );
    }

    #[test]
    fn ids_and_hashes_are_stable_and_shaped() {
        let rel = Catalog::get()
            .release("istio-k8s", &ch("2/edge"))
            .expect("istio-k8s");
        assert_eq!(rel.charm_id().len(), 32);
        assert_eq!(rel.hash().len(), 64);
        assert_eq!(rel.charm_id(), charm_id("istio-k8s"));
    }
}
