//! Reading a backup back: finding it, fetching it, and refusing anything that is not a usable
//! backup of this model.
//!
//! [`parse`] is pure: a document and the model's identity in, a [`Backup`] or the one thing that
//! is wrong out. [`read_backup`] adds the cluster: which ConfigMap, and whether it is there.
//!
//! No error here ever carries a config value: a user may have set a password as an option. Errors
//! about config name the application and the option only.

use std::collections::BTreeMap;
use std::fmt;

use crate::cluster;
use crate::juju::{Base, RemoteApplication};
use crate::plan::{Channel, EndpointRef};
use crate::session::Session;

use super::desired::{Application, Backup, Config, ModelIdentity, Relation};
use super::name::{BackupName, newest, newest_first};
use super::record::{ApplicationRecord, BaseRecord, Document, FORMAT, RemoteApplicationRecord};
use super::{BACKUP_LABEL, DATA_KEY};

/// A backup document that is not a usable backup of this model: what is wrong, where, and what
/// to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("refusing backup ConfigMap {namespace}/{config_map}: {problem}; {}", self.fix())]
pub struct InvalidBackup {
    /// The model's namespace, where the ConfigMap is.
    pub namespace: String,
    /// The ConfigMap's name.
    pub config_map: String,
    /// What is wrong (boxed: some problems carry four names, and this travels in `Result`s).
    pub problem: Box<Problem>,
}

impl InvalidBackup {
    /// The backup is of another model.
    pub fn is_foreign(&self) -> bool {
        matches!(*self.problem, Problem::ForeignModel { .. })
    }

    /// What the operator can do, as one clause.
    pub fn fix(&self) -> String {
        let (namespace, config_map) = (&self.namespace, &self.config_map);
        let others = format!(
            "`kubectl get configmap -n {namespace} -l {BACKUP_LABEL}=true` lists the backups"
        );
        match *self.problem {
            Problem::UnknownFormat { .. } => {
                format!(
                    "restore with the ckf-migrator that wrote it, or name another backup ({others})"
                )
            }
            Problem::ForeignModel { .. } => {
                format!("name a backup of model {namespace} ({others})")
            }
            _ => format!(
                "correct it (`kubectl edit configmap -n {namespace} {config_map}`) or name another backup ({others})"
            ),
        }
    }
}

/// What is wrong with a backup document. Each names the field (a YAML path such as
/// `applications.kfp-api.channel`) and never a config value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Not YAML, or not the shape of a backup document; serde's words, which cannot hold a
    /// config value (config is read as plain YAML values and checked here).
    Yaml(String),
    /// A `format` this ckf-migrator does not read (written by a newer one, or edited).
    UnknownFormat {
        /// The value found, as written.
        found: String,
    },
    /// A backup of another model, by name or UUID.
    ForeignModel {
        /// The model the backup is of.
        backup_model: String,
        /// Its UUID, if the backup recorded one.
        backup_uuid: Option<String>,
        /// This model.
        model: String,
        /// This model's UUID.
        uuid: String,
    },
    /// A top-level field or an application's base that does not hold what it must.
    InvalidField {
        /// YAML path.
        field: String,
        /// What is wrong.
        problem: String,
    },
    /// No application at all: restoring it would remove every application of the model.
    NoApplications,
    /// A key of `applications` that Juju would not accept as an application name.
    InvalidApplicationName {
        /// The name, as written.
        application: String,
    },
    /// A charm name Juju would not accept.
    InvalidCharmName {
        /// The application.
        application: String,
        /// The charm name, as written.
        charm: String,
    },
    /// A channel that does not parse (an empty one is a local charm's, and valid).
    InvalidChannel {
        /// The application.
        application: String,
        /// The channel, as written.
        channel: String,
    },
    /// A negative revision, or one too large for any charm.
    InvalidRevision {
        /// The application.
        application: String,
        /// The revision, as written.
        revision: i64,
    },
    /// A negative scale, or one too large to be real.
    InvalidScale {
        /// The application.
        application: String,
        /// The scale, as written.
        scale: i64,
    },
    /// A config option whose name is empty or whose value is not text, a number or a boolean.
    InvalidConfig {
        /// The application.
        application: String,
        /// The option's name (never its value).
        option: String,
        /// What is wrong.
        problem: &'static str,
    },
    /// A relation line that is not `app:endpoint app:endpoint` or, for a peer relation,
    /// `app:endpoint`.
    MalformedRelation {
        /// Position in `relations`, from 0.
        index: usize,
        /// The line.
        line: String,
        /// What is wrong.
        problem: String,
    },
    /// A relation naming an application the backup does not list.
    UnknownRelationApplication {
        /// Position in `relations`, from 0.
        index: usize,
        /// The line.
        line: String,
        /// The application not in `applications`.
        application: String,
    },
    /// A relation listed twice (in either order of its endpoints).
    DuplicateRelation {
        /// Position of the second listing, from 0.
        index: usize,
        /// The line.
        line: String,
        /// Position of the first listing.
        first: usize,
    },
}

impl Problem {
    /// The YAML path of the field concerned.
    pub fn field(&self) -> String {
        match self {
            Problem::Yaml(_) => DATA_KEY.to_string(),
            Problem::UnknownFormat { .. } => "format".into(),
            Problem::ForeignModel { .. } => "model".into(),
            Problem::InvalidField { field, .. } => field.clone(),
            Problem::NoApplications => "applications".into(),
            Problem::InvalidApplicationName { application } => {
                format!("applications.{application}")
            }
            Problem::InvalidCharmName { application, .. } => {
                format!("applications.{application}.charm")
            }
            Problem::InvalidChannel { application, .. } => {
                format!("applications.{application}.channel")
            }
            Problem::InvalidRevision { application, .. } => {
                format!("applications.{application}.revision")
            }
            Problem::InvalidScale { application, .. } => {
                format!("applications.{application}.scale")
            }
            Problem::InvalidConfig {
                application,
                option,
                ..
            } => format!("applications.{application}.config.{option}"),
            Problem::MalformedRelation { index, .. }
            | Problem::UnknownRelationApplication { index, .. }
            | Problem::DuplicateRelation { index, .. } => format!("relations[{index}]"),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let field = self.field();
        match self {
            Problem::Yaml(cause) => write!(f, "{field} is not a backup document: {cause}"),
            Problem::UnknownFormat { found } => write!(
                f,
                "{field} {found} is not one this ckf-migrator reads (it reads format {FORMAT})"
            ),
            Problem::ForeignModel {
                backup_model,
                backup_uuid,
                model,
                uuid,
            } => {
                let theirs = backup_uuid
                    .as_deref()
                    .map_or("UUID not recorded".to_string(), |u| format!("UUID {u}"));
                write!(
                    f,
                    "it is a backup of model {backup_model:?} ({theirs}), not of this model {model:?} (UUID {uuid})"
                )
            }
            Problem::InvalidField { problem, .. } => write!(f, "{field} {problem}"),
            Problem::NoApplications => write!(
                f,
                "{field} lists none; restoring it would remove every application of the model"
            ),
            Problem::InvalidApplicationName { application } => write!(
                f,
                "{field}: {application:?} is not a Juju application name (lowercase letters, digits and hyphens, starting with a letter, no part after a hyphen made of digits only)"
            ),
            Problem::InvalidCharmName { charm, .. } => write!(
                f,
                "{field}: {charm:?} is not a charm name (lowercase letters, digits and hyphens, starting with a letter, no part after a hyphen made of digits only)"
            ),
            Problem::InvalidChannel { channel, .. } => write!(
                f,
                "{field}: {channel:?} is not a channel ([track/]risk[/branch], risk stable, candidate, beta or edge)"
            ),
            Problem::InvalidRevision { revision, .. } if *revision < 0 => {
                write!(f, "{field}: {revision} is negative")
            }
            Problem::InvalidRevision { revision, .. } => {
                write!(f, "{field}: {revision} is too large for a charm revision")
            }
            Problem::InvalidScale { scale, .. } if *scale < 0 => {
                write!(f, "{field}: {scale} is negative")
            }
            Problem::InvalidScale { scale, .. } => {
                write!(f, "{field}: {scale} is too large for a scale")
            }
            Problem::InvalidConfig { problem, .. } => write!(f, "{field}: {problem}"),
            Problem::MalformedRelation { line, problem, .. } => write!(
                f,
                "{field} {line:?} {problem}; a relation is `app:endpoint app:endpoint`, a peer relation `app:endpoint`"
            ),
            Problem::UnknownRelationApplication {
                line, application, ..
            } => write!(
                f,
                "{field} {line:?} names application {application}, which the backup lists neither under applications nor under remote-applications"
            ),
            Problem::DuplicateRelation { line, first, .. } => write!(
                f,
                "{field} {line:?} is the relation relations[{first}] already lists"
            ),
        }
    }
}

/// Why a backup could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// No backup ConfigMap in the namespace.
    #[error(
        "no ckf-migrator backup in namespace {namespace}: migrate-to-ambient backs the model up before its first change, so either it has changed nothing here and there is nothing to go back from, or its backups were deleted (`kubectl get configmap -n {namespace} -l {BACKUP_LABEL}=true` lists them)"
    )]
    NoBackup {
        /// The model's namespace.
        namespace: String,
    },
    /// The backup named does not exist.
    #[error("no backup ConfigMap {name} in namespace {namespace}; {}", existing_clause(.existing))]
    NotFound {
        /// The model's namespace.
        namespace: String,
        /// The name asked for.
        name: String,
        /// The backups that do exist, oldest first.
        existing: Vec<String>,
    },
    /// The ConfigMap exists but holds no backup document.
    #[error(
        "ConfigMap {namespace}/{name} has no {DATA_KEY} key, so it holds no ckf-migrator backup; name another backup (`kubectl get configmap -n {namespace} -l {BACKUP_LABEL}=true` lists them)"
    )]
    NoDocument {
        /// The model's namespace.
        namespace: String,
        /// The ConfigMap.
        name: String,
    },
    /// The document is not a usable backup of this model.
    #[error(transparent)]
    Invalid(#[from] InvalidBackup),
    /// The Kubernetes API failed; its error names the request.
    #[error("reading the backup: {0}")]
    Cluster(cluster::Error),
}

impl ReadError {
    /// There is no backup to read: none at all, or not the one named.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            ReadError::NoBackup { .. } | ReadError::NotFound { .. }
        )
    }

    /// The backup is of another model.
    pub fn is_foreign(&self) -> bool {
        matches!(self, ReadError::Invalid(invalid) if invalid.is_foreign())
    }
}

fn existing_clause(existing: &[String]) -> String {
    if existing.is_empty() {
        "there is no ckf-migrator backup in it".into()
    } else {
        format!("the backups there are: {}", existing.join(", "))
    }
}

/// Reads the backup `name`, or the newest backup when `name` is `None` (or empty, as an action
/// parameter left empty is), from the model's namespace, and checks that it is a usable backup of
/// this model.
///
/// # Errors
/// [`ReadError::NoBackup`], [`ReadError::NotFound`] (with the backups that exist),
/// [`ReadError::NoDocument`], [`ReadError::Invalid`] (see [`parse`]), [`ReadError::Cluster`].
pub async fn read_backup(session: &Session, name: Option<&str>) -> Result<Backup, ReadError> {
    let this = ModelIdentity {
        name: session.model_name.clone(),
        uuid: session.juju.login_info().model_uuid.clone(),
    };
    read_from(&session.cluster, &this, name).await
}

/// [`read_backup`] with the cluster and the model's identity given apart.
///
/// # Errors
/// As [`read_backup`].
pub async fn read_from(
    cluster: &cluster::Cluster,
    this: &ModelIdentity,
    name: Option<&str>,
) -> Result<Backup, ReadError> {
    let namespace = &this.name;
    // An action parameter left empty means "the newest", as no name does.
    let name = match name.map(str::trim).filter(|n| !n.is_empty()) {
        // Not an object name: asking the API for it could address another path (`a/b`).
        Some(name) if !is_object_name(name) => {
            return Err(not_found(cluster, namespace, name).await);
        }
        Some(name) => name.to_string(),
        None => {
            let names = backup_names(cluster, namespace).await?;
            newest(names.iter().map(String::as_str))
                .ok_or_else(|| ReadError::NoBackup {
                    namespace: namespace.clone(),
                })?
                .to_string()
        }
    };
    let Some(data) = cluster
        .config_map_data(namespace, &name)
        .await
        .map_err(ReadError::Cluster)?
    else {
        return Err(not_found(cluster, namespace, &name).await);
    };
    let Some(yaml) = data.get(DATA_KEY) else {
        return Err(ReadError::NoDocument {
            namespace: namespace.clone(),
            name,
        });
    };
    Ok(parse(&name, yaml, this)?)
}

/// [`ReadError::NotFound`] for `name`, with the backups that do exist, oldest first.
async fn not_found(cluster: &cluster::Cluster, namespace: &str, name: &str) -> ReadError {
    match backup_names(cluster, namespace).await {
        Ok(mut existing) => {
            existing.sort_by_key(|n| BackupName::parse(n));
            ReadError::NotFound {
                namespace: namespace.to_string(),
                name: name.to_string(),
                existing,
            }
        }
        Err(e) => e,
    }
}

/// A Kubernetes object name (DNS subdomain): lowercase letters, digits, `-` and `.`, at most 253.
fn is_object_name(name: &str) -> bool {
    name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// Names of the ConfigMaps labelled as backups in `namespace`.
/// The backups of the model of `session`, newest first (by the time in their names).
///
/// # Errors
/// [`ReadError::Cluster`] when the ConfigMaps cannot be listed.
pub async fn list(session: &Session) -> Result<Vec<String>, ReadError> {
    let names = backup_names(&session.cluster, &session.model_name).await?;
    Ok(newest_first(names.iter().map(String::as_str))
        .into_iter()
        .map(str::to_string)
        .collect())
}

async fn backup_names(
    cluster: &cluster::Cluster,
    namespace: &str,
) -> Result<Vec<String>, ReadError> {
    cluster
        .config_map_names(namespace, &format!("{BACKUP_LABEL}=true"))
        .await
        .map_err(ReadError::Cluster)
}

/// Parses and checks the backup document `yaml` from ConfigMap `config_map` against the model
/// `this`.
///
/// Checks, in order: YAML and the document's shape; `format` (absent = 1); that the backup is of
/// this model (`model`, and `model-uuid` when recorded: old backups are checked by name only);
/// `model-uuid` and `taken`; at least one application; per application its name, charm name,
/// channel, revision, scale, base and config; per relation its shape (two `app:endpoint` of two
/// applications, or one for a peer relation), that its applications are in the backup, and that
/// it is not listed twice.
///
/// # Errors
/// The first [`Problem`] found, as an [`InvalidBackup`].
pub fn parse(config_map: &str, yaml: &str, this: &ModelIdentity) -> Result<Backup, InvalidBackup> {
    validate(config_map, yaml, this).map_err(|problem| InvalidBackup {
        namespace: this.name.clone(),
        config_map: config_map.to_string(),
        problem: Box::new(problem),
    })
}

fn validate(config_map: &str, yaml: &str, this: &ModelIdentity) -> Result<Backup, Problem> {
    let document = document(yaml)?;
    if document.model_uuid.as_deref() == Some("") {
        return Err(Problem::InvalidField {
            field: "model-uuid".into(),
            problem: "is empty".into(),
        });
    }
    let same_uuid = document.model_uuid.as_ref().is_none_or(|u| *u == this.uuid);
    if document.model != this.name || !same_uuid {
        return Err(Problem::ForeignModel {
            backup_model: document.model,
            backup_uuid: document.model_uuid,
            model: this.name.clone(),
            uuid: this.uuid.clone(),
        });
    }
    let taken = document
        .taken
        .parse::<jiff::Timestamp>()
        .map_err(|_| Problem::InvalidField {
            field: "taken".into(),
            problem: format!("{:?} is not an RFC 3339 time", document.taken),
        })?;
    if document.applications.is_empty() {
        return Err(Problem::NoApplications);
    }
    let applications = document
        .applications
        .into_iter()
        .map(|(name, record)| Ok((name.clone(), application(name, record)?)))
        .collect::<Result<BTreeMap<_, _>, Problem>>()?;
    let remote_applications = document
        .remote_applications
        .into_iter()
        .map(|(name, record)| {
            Ok((
                name.clone(),
                remote_application(name, record, &applications)?,
            ))
        })
        .collect::<Result<BTreeMap<_, _>, Problem>>()?;
    let relations = relations(&document.relations, &applications, &remote_applications)?;
    Ok(Backup {
        config_map: config_map.to_string(),
        format: document.format,
        model: document.model,
        model_uuid: document.model_uuid,
        taken,
        applications,
        relations,
        remote_applications,
    })
}

/// A consumed offer: a name Juju accepts, not also a local application's, and an offer URL.
fn remote_application(
    name: String,
    record: RemoteApplicationRecord,
    applications: &BTreeMap<String, Application>,
) -> Result<RemoteApplication, Problem> {
    let invalid = |problem: String| Problem::InvalidField {
        field: format!("remote-applications.{name}"),
        problem,
    };
    if !is_application_name(&name) {
        return Err(invalid("is not a Juju application name".into()));
    }
    if applications.contains_key(&name) {
        return Err(invalid(
            "is also under applications; a name is either local or consumed".into(),
        ));
    }
    // `[controller:][owner/]model.offer`, what `juju consume` takes (core/crossmodel/offerurl.go).
    let url = record.offer_url.trim();
    let path = match url.split_once(':') {
        Some((controller, path)) if !controller.contains(['/', '.']) => path,
        _ => url,
    };
    let model_offer = path.split_once('/').map_or(path, |(_, rest)| rest);
    let well_formed = model_offer.split_once('.').is_some_and(|(model, offer)| {
        !model.is_empty() && !offer.is_empty() && !model.contains('/')
    });
    if !well_formed {
        return Err(invalid(format!(
            "has offer-url {url:?}, which is not [controller:][owner/]model.offer"
        )));
    }
    Ok(RemoteApplication {
        name,
        offer_url: url.to_string(),
    })
}

/// The document, once its format is known to be one this reader understands: a newer format
/// may have another shape, so its version is checked before the shape.
fn document(yaml: &str) -> Result<Document, Problem> {
    // A scalar document would be echoed whole by serde's "invalid type" message.
    let value: serde_yaml::Value =
        serde_yaml::from_str(yaml).map_err(|e| Problem::Yaml(e.to_string()))?;
    if !value.is_mapping() {
        return Err(Problem::Yaml(
            "it is empty or not a mapping of fields".into(),
        ));
    }
    match value.get("format") {
        None => {}
        Some(serde_yaml::Value::Number(n)) if n.as_u64() == Some(u64::from(FORMAT)) => {}
        Some(other) => {
            return Err(Problem::UnknownFormat {
                found: match other {
                    serde_yaml::Value::Number(n) => n.to_string(),
                    serde_yaml::Value::String(s) => format!("{s:?}"),
                    _ => "(not a number)".into(),
                },
            });
        }
    }
    // From the text again, not the value: serde_yaml's errors then carry the path and line.
    serde_yaml::from_str(yaml).map_err(|e| Problem::Yaml(e.to_string()))
}

fn application(name: String, record: ApplicationRecord) -> Result<Application, Problem> {
    if !is_application_name(&name) {
        return Err(Problem::InvalidApplicationName { application: name });
    }
    if !is_application_name(&record.charm) {
        return Err(Problem::InvalidCharmName {
            application: name,
            charm: record.charm,
        });
    }
    // A local charm has no channel: ckf-migrator itself, deployed from a file, is in every
    // model it backs up, so refusing it would refuse every such backup.
    let channel = if record.channel.is_empty() {
        None
    } else {
        let Ok(channel) = record.channel.parse::<Channel>() else {
            return Err(Problem::InvalidChannel {
                application: name,
                channel: record.channel,
            });
        };
        Some(channel)
    };
    let revision = match record.revision {
        None => None,
        Some(revision) => match u32::try_from(revision) {
            Ok(revision) => Some(revision),
            Err(_) => {
                return Err(Problem::InvalidRevision {
                    application: name,
                    revision,
                });
            }
        },
    };
    let Ok(scale) = u32::try_from(record.scale) else {
        return Err(Problem::InvalidScale {
            application: name,
            scale: record.scale,
        });
    };
    let base = record
        .base
        .map(|base| check_base(&name, base))
        .transpose()?;
    let config = config(&name, record.config)?;
    Ok(Application {
        name,
        charm: record.charm,
        channel,
        revision,
        trust: record.trust,
        config,
        scale,
        base,
    })
}

fn check_base(application: &str, base: BaseRecord) -> Result<Base, Problem> {
    let invalid = |problem: String| Problem::InvalidField {
        field: format!("applications.{application}.base"),
        problem,
    };
    if base.name.is_empty()
        || !base
            .name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        return Err(invalid(format!(
            "name {:?} is not an OS name such as ubuntu",
            base.name
        )));
    }
    // `22.04` from the status of some controllers, `22.04/stable` from others.
    if base.channel.split('/').any(|part| {
        part.is_empty()
            || !part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    }) {
        return Err(invalid(format!(
            "channel {:?} is not an OS channel such as 22.04",
            base.channel
        )));
    }
    Ok(Base {
        name: base.name,
        channel: base.channel,
    })
}

/// The options as `juju config` takes them. Numbers and booleans (a hand edit without quotes)
/// mean the same as their text; anything else is refused by name.
fn config(
    application: &str,
    options: BTreeMap<String, serde_yaml::Value>,
) -> Result<Config, Problem> {
    options
        .into_iter()
        .map(|(option, value)| {
            let invalid = |option: String, problem| Problem::InvalidConfig {
                application: application.to_string(),
                option,
                problem,
            };
            if option.trim().is_empty() {
                return Err(invalid(option, "the option has no name"));
            }
            let text = match value {
                serde_yaml::Value::String(s) => s,
                serde_yaml::Value::Bool(b) => b.to_string(),
                serde_yaml::Value::Number(n) => n.to_string(),
                _ => {
                    return Err(invalid(
                        option,
                        "the value is not text, a number or a boolean",
                    ));
                }
            };
            Ok((option, text))
        })
        .collect::<Result<BTreeMap<_, _>, _>>()
        .map(Config::from)
}

fn relations(
    lines: &[String],
    applications: &BTreeMap<String, Application>,
    remote_applications: &BTreeMap<String, RemoteApplication>,
) -> Result<Vec<Relation>, Problem> {
    let mut first_seen: BTreeMap<Relation, usize> = BTreeMap::new();
    let mut relations = Vec::with_capacity(lines.len());
    for (index, line) in lines.iter().enumerate() {
        let malformed = |problem: String| Problem::MalformedRelation {
            index,
            line: line.clone(),
            problem,
        };
        let endpoints = line
            .split_whitespace()
            .map(|part| endpoint(part).map_err(&malformed))
            .collect::<Result<Vec<_>, _>>()?;
        let relation = match <[EndpointRef; 2]>::try_from(endpoints) {
            Ok([a, b]) if a.application == b.application => {
                return Err(malformed(format!(
                    "relates {} to itself, which Juju does not (a peer relation is one app:endpoint)",
                    a.application
                )));
            }
            Ok([a, b]) => Relation::between(a, b),
            // FullStatus reports a peer relation with its one endpoint (role `peer`), and the
            // writer joins a relation's endpoints, so a peer relation is written `app:ep`.
            Err(mut one) if one.len() == 1 => Relation::Peer(one.remove(0)),
            Err(other) => {
                return Err(malformed(format!("has {} parts", other.len())));
            }
        };
        if let Some(missing) = relation.endpoints().into_iter().find(|e| {
            !applications.contains_key(&e.application)
                && !remote_applications.contains_key(&e.application)
        }) {
            return Err(Problem::UnknownRelationApplication {
                index,
                line: line.clone(),
                application: missing.application.clone(),
            });
        }
        if let Some(&first) = first_seen.get(&relation) {
            return Err(Problem::DuplicateRelation {
                index,
                line: line.clone(),
                first,
            });
        }
        first_seen.insert(relation.clone(), index);
        relations.push(relation);
    }
    Ok(relations)
}

/// `application:endpoint`, by Juju's rules for both names.
fn endpoint(part: &str) -> Result<EndpointRef, String> {
    let Some((application, endpoint)) = part.split_once(':') else {
        return Err(format!("has {part:?}, which is not application:endpoint"));
    };
    if !is_application_name(application) {
        return Err(format!(
            "has {application:?}, which is not a Juju application name"
        ));
    }
    if !is_endpoint_name(endpoint) {
        return Err(format!("has {endpoint:?}, which is not an endpoint name"));
    }
    Ok(EndpointRef {
        application: application.to_string(),
        endpoint: endpoint.to_string(),
    })
}

/// juju/names `ApplicationSnippet`: `[a-z][a-z0-9]*(-[a-z0-9]*[a-z][a-z0-9]*)*`. A part after a
/// hyphen needs a letter because Juju reads a trailing `-<digits>` as a unit number or revision.
/// Charm names follow the same rule (juju/charm `IsValidName`).
pub(crate) fn is_application_name(s: &str) -> bool {
    let mut parts = s.split('-');
    let first_ok = parts.next().is_some_and(|first| {
        first.starts_with(|c: char| c.is_ascii_lowercase())
            && first
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    });
    first_ok
        && parts.all(|part| {
            part.bytes().any(|b| b.is_ascii_lowercase())
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// juju/names `RelationSnippet`: `[a-z][a-z0-9]*([_-][a-z0-9]+)*`.
fn is_endpoint_name(s: &str) -> bool {
    let mut parts = s.split(['-', '_']);
    let first_ok = parts.next().is_some_and(|first| {
        first.starts_with(|c: char| c.is_ascii_lowercase())
            && first
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    });
    first_ok
        && parts.all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAME: &str = "ckf-migrator-backup-20261125-090503";
    const UUID: &str = "6d3c8f1e-5a2b-4c1d-9e8f-0a1b2c3d4e5f";
    const SECRET: &str = "s3cr3t-hunter2";

    fn this() -> ModelIdentity {
        ModelIdentity {
            name: "kubeflow".into(),
            uuid: UUID.into(),
        }
    }

    /// A backup as the writer writes it, with a password a user set.
    fn valid() -> String {
        format!(
            r#"format: 1
model: kubeflow
model-uuid: {UUID}
taken: 2026-11-25T09:05:03.123Z
applications:
  istio-pilot:
    charm: istio-pilot
    channel: 1.24/stable
    revision: 1100
    trust: true
    config:
      default-gateway: kubeflow-gateway
    scale: 1
    base:
      name: ubuntu
      channel: '22.04'
  kfp-db:
    charm: mysql-k8s
    channel: 8.0/stable
    revision: 127
    trust: false
    config:
      admin-password: {SECRET}
    scale: 1
  kfp-api:
    charm: kfp-api
    channel: 2.5/stable
    revision: null
    trust: false
    config: {{}}
    scale: 0
relations:
- kfp-api:relational-db kfp-db:database
- kfp-db:database-peers
"#
        )
    }

    fn edited(from: &str, to: &str) -> String {
        let yaml = valid();
        assert!(yaml.contains(from), "fixture has {from:?}");
        yaml.replacen(from, to, 1)
    }

    fn problem(yaml: &str) -> Problem {
        *parse(NAME, yaml, &this())
            .expect_err("the backup is refused")
            .problem
    }

    fn with_relations(lines: &[&str]) -> String {
        let (head, _) = valid()
            .split_once("relations:\n")
            .map(|(h, r)| (h.to_string(), r.to_string()))
            .expect("fixture has relations");
        let mut yaml = format!("{head}relations:\n");
        for line in lines {
            // Double-quoted, as `a:b c:` would otherwise be a YAML mapping.
            yaml.push_str(&format!("- {line:?}\n"));
        }
        if lines.is_empty() {
            yaml = format!("{head}relations: []\n");
        }
        yaml
    }

    #[test]
    fn a_valid_backup_reads_as_typed_data() {
        let backup = parse(NAME, &valid(), &this()).expect("valid");

        assert_eq!(backup.config_map, NAME);
        assert_eq!(backup.model, "kubeflow");
        let pilot = &backup.applications["istio-pilot"];
        assert_eq!(pilot.channel, Some("1.24/stable".parse().expect("channel")));
        assert_eq!(
            (pilot.revision, pilot.scale, pilot.trust),
            (Some(1100), 1, true)
        );
        assert_eq!(pilot.base.as_ref().map(|b| b.name.as_str()), Some("ubuntu"));
        assert_eq!(backup.applications["kfp-api"].revision, None);
        assert_eq!(backup.applications["kfp-api"].scale, 0);
        assert_eq!(
            backup.applications["kfp-db"].config.get("admin-password"),
            Some(SECRET)
        );
        assert_eq!(backup.relations.len(), 2);
    }

    #[test]
    fn a_backup_from_before_format_uuid_and_base_reads_as_format_1_checked_by_name() {
        let old = valid()
            .replace("format: 1\n", "")
            .replace(&format!("model-uuid: {UUID}\n"), "")
            .replace(
                "    base:\n      name: ubuntu\n      channel: '22.04'\n",
                "",
            );

        let backup = parse(NAME, &old, &this()).expect("old backups still read");

        assert_eq!(backup.format, 1);
        assert_eq!(backup.model_uuid, None);
        assert_eq!(backup.applications["istio-pilot"].base, None);
    }

    #[test]
    fn text_that_is_not_yaml_is_refused() {
        assert!(matches!(problem("model: [kubeflow\n"), Problem::Yaml(_)));
        assert!(matches!(problem(""), Problem::Yaml(_)));
    }

    #[test]
    fn a_document_without_a_required_field_is_refused_naming_it() {
        let p = problem(&edited("    scale: 0\n", ""));
        let Problem::Yaml(message) = &p else {
            panic!("{p:?}")
        };
        assert!(message.contains("scale"), "{message}");
    }

    #[test]
    fn an_unknown_format_is_refused_before_its_shape_is_read() {
        let newer = "format: 2\nmodel: kubeflow\nsomething: else\n";
        assert_eq!(problem(newer), Problem::UnknownFormat { found: "2".into() });
        assert_eq!(
            problem(&edited("format: 1", "format: one")),
            Problem::UnknownFormat {
                found: "\"one\"".into()
            }
        );
        assert!(matches!(
            problem(&edited("format: 1", "format: 0")),
            Problem::UnknownFormat { .. }
        ));
    }

    #[test]
    fn a_backup_of_another_model_is_refused_naming_both() {
        let other = problem(&edited("model: kubeflow", "model: kubeflow-staging"));
        assert_eq!(
            other,
            Problem::ForeignModel {
                backup_model: "kubeflow-staging".into(),
                backup_uuid: Some(UUID.into()),
                model: "kubeflow".into(),
                uuid: UUID.into(),
            }
        );
        let message = other.to_string();
        assert!(
            message.contains("kubeflow-staging") && message.contains("\"kubeflow\""),
            "{message}"
        );
    }

    #[test]
    fn a_backup_of_a_model_recreated_under_the_same_name_is_foreign() {
        let recreated = "0b5d6f5e-1111-4222-8333-444455556666";
        let err = parse(NAME, &edited(UUID, recreated), &this()).expect_err("refused");
        assert!(err.is_foreign());
        assert!(err.to_string().contains(recreated), "{err}");
    }

    #[test]
    fn an_empty_model_uuid_is_refused() {
        assert!(matches!(
            problem(&edited(&format!("model-uuid: {UUID}"), "model-uuid: ''")),
            Problem::InvalidField { field, .. } if field == "model-uuid"
        ));
    }

    #[test]
    fn a_taken_time_that_does_not_parse_is_refused() {
        assert!(matches!(
            problem(&edited("2026-11-25T09:05:03.123Z", "yesterday")),
            Problem::InvalidField { field, .. } if field == "taken"
        ));
    }

    #[test]
    fn a_backup_without_applications_is_refused() {
        let empty = format!(
            "model: kubeflow\nmodel-uuid: {UUID}\ntaken: 2026-11-25T09:05:03Z\napplications: {{}}\nrelations: []\n"
        );
        assert_eq!(problem(&empty), Problem::NoApplications);
    }

    #[test]
    fn application_names_follow_jujus_rules() {
        for name in ["a", "kfp-api", "istio-k8s", "k8s", "a1-b2c", "x-2fa"] {
            assert!(is_application_name(name), "{name} is valid");
        }
        for name in [
            "",
            "Kfp-api",
            "kfp_api",
            "1kfp",
            "-kfp",
            "kfp-",
            "kfp--api",
            "kfp-api-2",
            "kfp-2",
            "kfp.api",
            "kfp api",
        ] {
            assert!(!is_application_name(name), "{name:?} is not valid");
        }
    }

    #[test]
    fn an_invalid_application_name_is_refused() {
        assert_eq!(
            problem(&edited("  kfp-api:\n", "  kfp-api-2:\n")),
            Problem::InvalidApplicationName {
                application: "kfp-api-2".into()
            }
        );
        assert_eq!(
            problem(&edited("  kfp-api:\n", "  '':\n")),
            Problem::InvalidApplicationName {
                application: String::new()
            }
        );
    }

    #[test]
    fn an_invalid_charm_name_is_refused() {
        assert_eq!(
            problem(&edited("charm: kfp-api", "charm: Kfp_API")),
            Problem::InvalidCharmName {
                application: "kfp-api".into(),
                charm: "Kfp_API".into()
            }
        );
        assert!(matches!(
            problem(&edited("charm: kfp-api", "charm: ''")),
            Problem::InvalidCharmName { .. }
        ));
    }

    #[test]
    fn a_channel_that_does_not_parse_is_refused() {
        for bad in ["2.5/nightly", "a/stable/b/c", "2.5//stable", "' '"] {
            let p = problem(&edited("channel: 2.5/stable", &format!("channel: {bad}")));
            assert!(
                matches!(&p, Problem::InvalidChannel { application, .. } if application == "kfp-api"),
                "{bad}: {p:?}"
            );
            assert_eq!(p.field(), "applications.kfp-api.channel");
        }
    }

    #[test]
    fn a_local_charm_has_no_channel() {
        let local = edited("channel: 2.5/stable", "channel: ''");
        let backup = parse(NAME, &local, &this()).expect("valid");
        assert_eq!(backup.applications["kfp-api"].channel, None);
    }

    #[test]
    fn a_negative_revision_is_refused() {
        let p = problem(&edited("revision: 1100", "revision: -1"));
        assert_eq!(
            p,
            Problem::InvalidRevision {
                application: "istio-pilot".into(),
                revision: -1
            }
        );
        assert_eq!(
            p.to_string(),
            "applications.istio-pilot.revision: -1 is negative"
        );
    }

    #[test]
    fn a_negative_scale_is_refused() {
        assert_eq!(
            problem(&edited("scale: 0", "scale: -2")),
            Problem::InvalidScale {
                application: "kfp-api".into(),
                scale: -2
            }
        );
    }

    #[test]
    fn a_malformed_base_is_refused() {
        assert!(matches!(
            problem(&edited("channel: '22.04'", "channel: ''")),
            Problem::InvalidField { field, .. } if field == "applications.istio-pilot.base"
        ));
        assert!(matches!(
            problem(&edited("name: ubuntu", "name: Ubuntu Linux")),
            Problem::InvalidField { field, .. } if field == "applications.istio-pilot.base"
        ));
    }

    #[test]
    fn unquoted_numbers_and_booleans_in_config_mean_their_text() {
        let yaml = edited(
            "default-gateway: kubeflow-gateway",
            "default-gateway: kubeflow-gateway\n      replicas: 2\n      debug: true",
        );
        let backup = parse(NAME, &yaml, &this()).expect("valid");
        let config = &backup.applications["istio-pilot"].config;
        assert_eq!(config.get("replicas"), Some("2"));
        assert_eq!(config.get("debug"), Some("true"));
    }

    #[test]
    fn a_config_value_of_the_wrong_shape_is_refused_without_echoing_it() {
        for bad in [
            format!("admin-password: [{SECRET}]"),
            format!("admin-password: {{v: {SECRET}}}"),
            format!("admin-password: !secret {SECRET}"),
            "admin-password: null".to_string(),
        ] {
            let yaml = edited(&format!("admin-password: {SECRET}"), &bad);
            let err = parse(NAME, &yaml, &this()).expect_err("refused");
            assert_eq!(
                *err.problem,
                Problem::InvalidConfig {
                    application: "kfp-db".into(),
                    option: "admin-password".into(),
                    problem: "the value is not text, a number or a boolean"
                },
                "{bad}"
            );
            assert!(!err.to_string().contains(SECRET), "{err}");
            assert!(!format!("{err:?}").contains(SECRET), "{err:?}");
        }
    }

    #[test]
    fn a_config_that_is_not_a_mapping_is_refused_without_echoing_it() {
        let yaml = edited(
            &format!("config:\n      admin-password: {SECRET}"),
            &format!("config: admin-password={SECRET}"),
        );
        let err = parse(NAME, &yaml, &this()).expect_err("refused");
        assert!(matches!(*err.problem, Problem::Yaml(_)), "{err:?}");
        assert!(!err.to_string().contains(SECRET), "{err}");
    }

    #[test]
    fn an_option_without_a_name_is_refused() {
        assert!(matches!(
            problem(&edited("admin-password:", "'':")),
            Problem::InvalidConfig { option, .. } if option.is_empty()
        ));
    }

    #[test]
    fn no_error_or_debug_output_of_a_backup_holds_a_config_value() {
        let backup = parse(NAME, &valid(), &this()).expect("valid");
        assert!(!format!("{backup:?}").contains(SECRET));
        // Every refusal of the fixture with a secret in it, one per rule that reads config's app.
        for yaml in [
            edited("charm: mysql-k8s", "charm: MySQL"),
            edited("channel: 8.0/stable", "channel: 8.0/nightly"),
            edited("revision: 127", "revision: -127"),
            edited("model: kubeflow", "model: other"),
        ] {
            let err = parse(NAME, &yaml, &this()).expect_err("refused");
            assert!(!err.to_string().contains(SECRET), "{err}");
        }
    }

    #[test]
    fn a_relation_of_two_endpoints_or_one_peer_endpoint_is_accepted() {
        let backup = parse(
            NAME,
            &with_relations(&[
                "kfp-api:relational-db kfp-db:database",
                "kfp-db:database_peers",
            ]),
            &this(),
        )
        .expect("valid");
        assert!(!backup.relations[0].is_peer());
        assert!(backup.relations[1].is_peer());
        assert_eq!(backup.relations[1].to_string(), "kfp-db:database_peers");
    }

    #[test]
    fn a_relation_line_of_the_wrong_shape_is_refused() {
        for (line, index) in [
            ("kfp-api:relational-db kfp-db:database istio-pilot:x", 0),
            ("kfp-api kfp-db", 0),
            ("kfp-api:relational-db kfp-db:", 0),
            ("kfp-api:relational-db kfp-db:data:base", 0),
            ("kfp-api:Relational kfp-db:database", 0),
            ("kfp-api:relational-db kfp-api:other", 0),
            ("", 0),
        ] {
            let p = problem(&with_relations(&[line]));
            assert!(
                matches!(&p, Problem::MalformedRelation { index: i, .. } if *i == index),
                "{line}: {p:?}"
            );
            assert_eq!(p.field(), "relations[0]");
        }
    }

    #[test]
    fn a_relation_to_an_application_the_backup_lacks_is_refused() {
        assert_eq!(
            problem(&with_relations(&[
                "kfp-db:database-peers",
                "kfp-api:kfp-viz kfp-viz:kfp-viz"
            ])),
            Problem::UnknownRelationApplication {
                index: 1,
                line: "kfp-api:kfp-viz kfp-viz:kfp-viz".into(),
                application: "kfp-viz".into()
            }
        );
        assert!(matches!(
            problem(&with_relations(&["kfp-viz:peers"])),
            Problem::UnknownRelationApplication { .. }
        ));
    }

    #[test]
    fn a_cross_model_relation_reads_with_its_consumed_offer() {
        let yaml = format!(
            "{}- kfp-api:metrics-endpoint prometheus:metrics-endpoint\nremote-applications:\n  prometheus:\n    offer-url: cos-ctrl:admin/cos.prometheus\n",
            valid()
        );
        let backup = parse("ckf-migrator-backup-20261125-090503", &yaml, &this()).expect("reads");
        assert_eq!(
            backup.remote_applications["prometheus"].offer_url,
            "cos-ctrl:admin/cos.prometheus"
        );
        assert_eq!(backup.relations.len(), 3);
    }

    #[test]
    fn a_consumed_offer_without_a_usable_url_or_shadowing_an_application_is_refused() {
        for (name, url, says) in [
            (
                "prometheus",
                "prometheus",
                "is not [controller:][owner/]model.offer",
            ),
            (
                "prometheus",
                "admin/cos.",
                "is not [controller:][owner/]model.offer",
            ),
            ("kfp-db", "admin/cos.mysql", "is also under applications"),
            (
                "Prometheus",
                "admin/cos.prometheus",
                "is not a Juju application name",
            ),
        ] {
            let yaml = format!(
                "{}remote-applications:\n  {name}:\n    offer-url: {url}\n",
                valid()
            );
            let found = problem(&yaml);
            assert_eq!(found.field(), format!("remote-applications.{name}"));
            assert!(found.to_string().contains(says), "{found}");
        }
        // Without the owner, as `juju consume cos.prometheus` accepts it.
        let yaml = format!(
            "{}remote-applications:\n  prometheus:\n    offer-url: cos.prometheus\n",
            valid()
        );
        assert!(parse("b", &yaml, &this()).is_ok());
    }

    #[test]
    fn a_relation_listed_twice_in_either_order_is_refused() {
        assert_eq!(
            problem(&with_relations(&[
                "kfp-api:relational-db kfp-db:database",
                "kfp-db:database-peers",
                "kfp-db:database kfp-api:relational-db",
            ])),
            Problem::DuplicateRelation {
                index: 2,
                line: "kfp-db:database kfp-api:relational-db".into(),
                first: 0
            }
        );
        assert!(matches!(
            problem(&with_relations(&[
                "kfp-db:database-peers",
                "kfp-db:database-peers"
            ])),
            Problem::DuplicateRelation { .. }
        ));
    }

    #[test]
    fn endpoint_names_follow_jujus_rules() {
        for name in [
            "ingress",
            "relational-db",
            "database_peers",
            "k8s-service-info",
            "a1",
        ] {
            assert!(is_endpoint_name(name), "{name} is valid");
        }
        for name in ["", "Ingress", "1db", "db-", "db__x", "-db", "db:x"] {
            assert!(!is_endpoint_name(name), "{name:?} is not valid");
        }
    }

    #[test]
    fn the_message_names_the_config_map_the_field_the_fault_and_the_fix() {
        let err = parse(
            NAME,
            &edited("channel: 2.5/stable", "channel: 2.5/nightly"),
            &this(),
        )
        .expect_err("refused");
        assert_eq!(
            err.to_string(),
            format!(
                "refusing backup ConfigMap kubeflow/{NAME}: applications.kfp-api.channel: \"2.5/nightly\" is not a channel ([track/]risk[/branch], risk stable, candidate, beta or edge); correct it (`kubectl edit configmap -n kubeflow {NAME}`) or name another backup (`kubectl get configmap -n kubeflow -l ckf-migrator.canonical.com/backup=true` lists the backups)"
            )
        );
    }

    #[test]
    fn a_foreign_backup_says_to_name_one_of_this_model() {
        let err =
            parse(NAME, &edited("model: kubeflow", "model: other"), &this()).expect_err("refused");
        assert!(
            err.fix().starts_with("name a backup of model kubeflow"),
            "{}",
            err.fix()
        );
    }

    #[test]
    fn only_object_names_are_asked_for() {
        assert!(is_object_name(NAME));
        assert!(is_object_name("kube-root-ca.crt"));
        for bad in ["", "a/b", "../x", "Backup", "-x", "x-", "a b"] {
            assert!(!is_object_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn finding_errors_say_what_to_do() {
        let none = ReadError::NoBackup {
            namespace: "kubeflow".into(),
        };
        assert_eq!(
            none.to_string(),
            "no ckf-migrator backup in namespace kubeflow: migrate-to-ambient backs the model up before its first change, so either it has changed nothing here and there is nothing to go back from, or its backups were deleted (`kubectl get configmap -n kubeflow -l ckf-migrator.canonical.com/backup=true` lists them)"
        );
        assert!(none.is_not_found());
        let missing = ReadError::NotFound {
            namespace: "kubeflow".into(),
            name: "ckf-migrator-backup-20261203-072902".into(),
            existing: vec![NAME.into()],
        };
        assert_eq!(
            missing.to_string(),
            format!(
                "no backup ConfigMap ckf-migrator-backup-20261203-072902 in namespace kubeflow; the backups there are: {NAME}"
            )
        );
        let no_document = ReadError::NoDocument {
            namespace: "kubeflow".into(),
            name: "kube-root-ca.crt".into(),
        };
        assert!(
            no_document
                .to_string()
                .starts_with("ConfigMap kubeflow/kube-root-ca.crt has no model.yaml key"),
            "{no_document}"
        );
    }
}
