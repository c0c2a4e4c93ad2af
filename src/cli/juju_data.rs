//! The `juju` client's own files: which controller, model and account `juju` would use here.
//!
//! The CLI needs what `juju status` needs (controller addresses, its CA, a model UUID, a user and
//! a password), and an operator's machine already holds all of it in the Juju client's data
//! directory. This module finds that directory as Juju does ([`data_dir`]), parses its three
//! files ([`Controllers`], [`Models`], [`Accounts`]) and answers the questions `juju` answers
//! with them: the current controller, the model `-m` names, the account's password. It knows
//! nothing of flags or of the engine: `cli::target` decides which gaps the files fill.
//!
//! Parsing is pure (`parse(text, file)`); [`JujuData`] only reads the files. Every error names the
//! file and the key it read, and the command that fixes it.
//!
//! Formats, as Juju 3.6 reads and writes them (juju v3.6.11; nothing here copies Juju's code).
//! Only the keys the CLI uses are read (not the controller's `uuid` nor `last-known-access`):
//! - `controllers.yaml`: `current-controller` and `controllers.<name>.{uuid, api-endpoints,
//!   ca-cert}` (`jujuclient/controllers.go`, `jujuclient/interface.go` `ControllerDetails`);
//! - `models.yaml`: `controllers.<name>.{current-model, models.<owner>/<model>.{uuid, type}}`,
//!   model names qualified by their owner (`jujuclient/models.go`);
//! - `accounts.yaml`: `controllers.<name>.{user, password, last-known-access}`, the password
//!   optional (`jujuclient/accounts.go`, `AccountDetails`);
//! - `cookies/<controller>.json`: the login macaroons of `juju login` (`jujuclient/file.go`
//!   `JujuCookiePath`), which this module only looks for (see [`Error::NoPassword`]).
//!
//! Juju 2 wrote local users as `bob@local`; Juju rewrites those on read (`migrateLocalModelUsers`,
//! `migrateLocalAccountUsers`), and so does this module, in memory only: it never writes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::juju::Password;

/// Why the Juju client's files could not answer. Each message names the file and key, and the
/// fix.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Neither `JUJU_DATA`, `XDG_DATA_HOME` nor `HOME` is set.
    #[error(
        "no {needed} given, and no Juju client data to take it from (JUJU_DATA, XDG_DATA_HOME and HOME are all unset): pass {needed}, or set JUJU_DATA to the directory `juju` uses"
    )]
    NoDataDir {
        /// The flags that were not given, as `--a, --b`.
        needed: String,
    },
    /// A file that is needed does not exist.
    #[error("`{file}` does not exist: {fix}")]
    Missing {
        /// The file, as shown to the user.
        file: String,
        /// What to do instead.
        fix: String,
    },
    /// A file could not be read.
    #[error("cannot read `{file}`: {reason}")]
    Unreadable {
        /// The file.
        file: String,
        /// The I/O error, as text.
        reason: String,
    },
    /// A file is not YAML of the expected shape.
    #[error(
        "`{file}` is not a valid Juju {what} file ({reason}); fix it, or move it away and run `juju {regenerate}`"
    )]
    Malformed {
        /// The file.
        file: String,
        /// `controllers`, `models` or `accounts`.
        what: &'static str,
        /// Where parsing failed (and, except in accounts.yaml, why).
        reason: String,
        /// The juju command that writes the file again.
        regenerate: &'static str,
    },
    /// `controllers.yaml` has no controllers at all.
    #[error(
        "`{file}` lists no controllers under `controllers`: `juju bootstrap` or `juju register` adds one; or pass --controller HOST:PORT and the other connection flags"
    )]
    NoControllers {
        /// controllers.yaml.
        file: String,
    },
    /// No controller was named and `current-controller` is empty.
    #[error(
        "`{file}` has no `current-controller`: pass -c NAME or -m NAME:MODEL, or run `juju switch NAME` (controllers here: {known})"
    )]
    NoCurrentController {
        /// controllers.yaml.
        file: String,
        /// The controllers the file lists.
        known: String,
    },
    /// The controller named is not in `controllers.yaml`.
    #[error(
        "`{file}` has no controller `{name}` under `controllers` (named by {named_by}); controllers here: {known}; `juju controllers` lists them{address_hint}"
    )]
    UnknownController {
        /// controllers.yaml.
        file: String,
        /// The name asked for.
        name: String,
        /// Where the name came from (`-c`, `-m`, `JUJU_CONTROLLER`, …).
        named_by: String,
        /// The controllers the file lists.
        known: String,
        /// A reminder that `--controller` also takes an address, when the name came from it.
        address_hint: &'static str,
    },
    /// Two places name different controllers.
    #[error("{first} names controller `{a}` but {second} names `{b}`: name one controller")]
    ControllerConflict {
        /// Where `a` came from.
        first: String,
        /// One controller.
        a: String,
        /// Where `b` came from.
        second: String,
        /// The other.
        b: String,
    },
    /// The controller has no `api-endpoints`.
    #[error(
        "`{file}`: controller `{controller}` has no `api-endpoints`; pass --controller HOST:PORT (`juju show-controller {controller}` lists them)"
    )]
    NoEndpoints {
        /// controllers.yaml.
        file: String,
        /// The controller.
        controller: String,
    },
    /// The controller has no `ca-cert` (a controller with a publicly signed certificate).
    #[error(
        "`{file}`: controller `{controller}` has no `ca-cert`; pass --ca-cert FILE with the CA that signed its certificate"
    )]
    NoCaCert {
        /// controllers.yaml.
        file: String,
        /// The controller.
        controller: String,
    },
    /// The controller's `ca-cert` is not PEM.
    #[error(
        "`{file}`: controller `{controller}` has a `ca-cert` that is not a PEM certificate; pass --ca-cert FILE (save ca-cert from `juju show-controller {controller}`)"
    )]
    NotPem {
        /// controllers.yaml.
        file: String,
        /// The controller.
        controller: String,
    },
    /// The model is not a Kubernetes model.
    #[error(
        "`{file}`: model `{model}` of controller `{controller}` has type `{kind}`, not `caas`: ckf-migrator works on the Kubernetes model that holds Charmed Kubeflow; pass -m with that model"
    )]
    NotKubernetes {
        /// models.yaml.
        file: String,
        /// The controller.
        controller: String,
        /// The model, `owner/name`.
        model: String,
        /// Its `type`.
        kind: String,
    },
    /// `models.yaml` has no entry for the controller.
    #[error(
        "`{file}` has no models for controller `{controller}` under `controllers`; `juju models -c {controller}` lists them and records them here, or pass --model-uuid UUID"
    )]
    NoModels {
        /// models.yaml.
        file: String,
        /// The controller.
        controller: String,
    },
    /// No model was named and the controller has no `current-model`.
    #[error(
        "`{file}`: controller `{controller}` has no `current-model`; pass -m MODEL (models here: {known}) or run `juju switch {controller}:MODEL`"
    )]
    NoCurrentModel {
        /// models.yaml.
        file: String,
        /// The controller.
        controller: String,
        /// The models the file lists for it.
        known: String,
    },
    /// The model named is not among the controller's models.
    #[error(
        "`{file}`: controller `{controller}` has no model `{model}` under `models`{qualified}{similar}; `juju models -c {controller}` lists them and refreshes this file"
    )]
    UnknownModel {
        /// models.yaml.
        file: String,
        /// The controller.
        controller: String,
        /// The model asked for, qualified by its owner.
        model: String,
        /// How an unqualified name was qualified, when it was.
        qualified: String,
        /// Models of the same name with another owner, as a hint.
        similar: String,
    },
    /// `accounts.yaml` has no account for the controller.
    #[error(
        "`{file}` has no account for controller `{controller}` under `controllers`; pass --username USER and --password-file FILE"
    )]
    NoAccount {
        /// accounts.yaml.
        file: String,
        /// The controller.
        controller: String,
    },
    /// The account holds no `password`.
    ///
    /// `juju bootstrap` stores the admin's password here; `juju login`, `juju register` and
    /// `juju change-user-password` (of one's own password) leave none, and `juju` logs in with
    /// the macaroons of its cookie jar instead (`cmd/juju/user/login.go`,
    /// `cmd/juju/user/change_password.go`, which wipes the stored password). ckf-migrator does
    /// not use those macaroons: they expire after 24 hours, after which `juju` discharges new
    /// ones interactively, which a migration that runs unattended cannot do.
    #[error(
        "`{file}`: the account `{user}` of controller `{controller}` has no `password`{why}; pass --password-file FILE (the password of `{user}`, one line) or set JUJU_PASSWORD"
    )]
    NoPassword {
        /// accounts.yaml.
        file: String,
        /// The controller.
        controller: String,
        /// The account's user.
        user: String,
        /// What `juju` does instead: the cookie jar it uses, or that there is none.
        why: String,
    },
    /// `--username` names another user than the account's, whose password this file lacks.
    #[error(
        "`{file}`: the account of controller `{controller}` is `{account_user}`, not `{user}` (--username); pass the password of `{user}` with --password-file FILE or JUJU_PASSWORD"
    )]
    OtherUser {
        /// accounts.yaml.
        file: String,
        /// The controller.
        controller: String,
        /// The account's user.
        account_user: String,
        /// The user asked for.
        user: String,
    },
}

/// The value of the variable `name` in `env`; an empty value counts as unset, as Juju's
/// `os.Getenv(..) != ""` tests take it.
pub fn env_value<'a>(env: &'a [(String, String)], name: &str) -> Option<&'a str> {
    env.iter()
        .find(|(k, v)| k == name && !v.is_empty())
        .map(|(_, v)| v.as_str())
}

/// Where the Juju client keeps its files, as `juju` finds it: `JUJU_DATA` if set, else
/// `$XDG_DATA_HOME/juju`, else `$HOME/.local/share/juju` (`juju/osenv/home.go`
/// `JujuXDGDataHomeDir` on Linux; an empty variable counts as unset, as Go's `os.Getenv`
/// comparisons do). `None` when all three are unset (Go would then use a relative path; we
/// refuse instead).
pub fn data_dir(env: &[(String, String)]) -> Option<PathBuf> {
    let var = |name: &str| env_value(env, name).map(PathBuf::from);
    var("JUJU_DATA")
        .or_else(|| var("XDG_DATA_HOME").map(|d| d.join("juju")))
        .or_else(|| var("HOME").map(|h| h.join(".local").join("share").join("juju")))
}

/// The Juju client's data directory, read on demand.
#[derive(Debug, Clone)]
pub struct JujuData {
    /// The directory.
    dir: PathBuf,
    /// `$HOME`, to show paths below it as `~/…`, as the user thinks of them.
    home: Option<PathBuf>,
}

impl JujuData {
    /// The directory `juju` would use in this environment.
    ///
    /// # Errors
    /// [`Error::NoDataDir`] when none of `JUJU_DATA`, `XDG_DATA_HOME`, `HOME` is set; `needed`
    /// names the flags that would have made the directory unnecessary.
    pub fn locate(env: &[(String, String)], needed: &str) -> Result<Self, Error> {
        let dir = data_dir(env).ok_or_else(|| Error::NoDataDir {
            needed: needed.to_string(),
        })?;
        let home = env_value(env, "HOME").map(PathBuf::from);
        Ok(Self { dir, home })
    }

    /// A file of the directory as the user would write it (`~/.local/share/juju/models.yaml`).
    pub fn shown(&self, name: &str) -> String {
        show_path(&self.dir.join(name), self.home.as_deref())
    }

    /// `controllers.yaml`.
    ///
    /// # Errors
    /// Missing, unreadable or malformed; `needed` names the flags that would have made the
    /// file unnecessary, for the fix.
    pub fn controllers(&self, needed: &str) -> Result<Controllers, Error> {
        let file = self.shown("controllers.yaml");
        match self.read("controllers.yaml", &file)? {
            Some(text) => Controllers::parse(&text, file),
            None => Err(Error::Missing {
                file,
                fix: format!(
                    "no Juju controller is known here: run `juju bootstrap` or `juju register`, set JUJU_DATA to the directory `juju` uses, or pass {needed}"
                ),
            }),
        }
    }

    /// `models.yaml`.
    ///
    /// # Errors
    /// Missing, unreadable or malformed; `controller` names the controller in the fix.
    pub fn models(&self, controller: &str) -> Result<Models, Error> {
        let file = self.shown("models.yaml");
        match self.read("models.yaml", &file)? {
            Some(text) => Models::parse(&text, file),
            None => Err(Error::Missing {
                file,
                fix: format!(
                    "`juju models -c {controller}` records the controller's models there; or pass --model-uuid UUID"
                ),
            }),
        }
    }

    /// `accounts.yaml`.
    ///
    /// # Errors
    /// Missing, unreadable or malformed (without the parser's words, which could quote a
    /// password).
    pub fn accounts(&self) -> Result<Accounts, Error> {
        let file = self.shown("accounts.yaml");
        match self.read("accounts.yaml", &file)? {
            Some(text) => Accounts::parse(&text, file),
            None => Err(Error::Missing {
                file,
                fix: "no Juju account is known here: pass --username USER and --password-file FILE"
                    .into(),
            }),
        }
    }

    /// The cookie jar where `juju` keeps the controller's login macaroons, if there is one.
    pub fn cookie_jar(&self, controller: &str) -> Option<String> {
        let path = self.dir.join("cookies").join(format!("{controller}.json"));
        path.is_file()
            .then(|| show_path(&path, self.home.as_deref()))
    }

    fn read(&self, name: &str, file: &str) -> Result<Option<String>, Error> {
        match std::fs::read_to_string(self.dir.join(name)) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::Unreadable {
                file: file.to_string(),
                reason: e.to_string(),
            }),
        }
    }
}

fn show_path(path: &Path, home: Option<&Path>) -> String {
    match home.and_then(|h| path.strip_prefix(h).ok()) {
        Some(rest) => format!("~/{}", rest.display()),
        None => path.display().to_string(),
    }
}

/// Parses YAML that may be empty (Go's YAML reads an empty file as the zero value; serde does
/// not).
fn parse_yaml<T: serde::de::DeserializeOwned + Default>(
    text: &str,
) -> Result<T, serde_yaml::Error> {
    let meaningful = text
        .lines()
        .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#') && l.trim() != "---");
    if !meaningful {
        return Ok(T::default());
    }
    // `~` or `null` for a whole file is the zero value too.
    Ok(serde_yaml::from_str::<Option<T>>(text)?.unwrap_or_default())
}

fn where_in(e: &serde_yaml::Error) -> String {
    match e.location() {
        Some(at) => format!("at line {}, column {}", at.line(), at.column()),
        None => "not YAML".into(),
    }
}

/// `user@local` was Juju 2's spelling of a local user; Juju 3 reads it as `user`.
fn local_user(user: &str) -> &str {
    user.strip_suffix("@local").unwrap_or(user)
}

fn listed<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let names: Vec<&str> = names.map(String::as_str).collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// Where a controller or model name came from, for messages and for Juju's precedence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    /// The name.
    pub name: String,
    /// Who named it: `-c`, `-m`, `JUJU_MODEL`, `JUJU_CONTROLLER`.
    pub by: String,
}

impl Named {
    /// `name`, named by `by`.
    pub fn new(name: impl Into<String>, by: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            by: by.into(),
        }
    }
}

/// `controllers.yaml`.
#[derive(Debug, Clone, Default)]
pub struct Controllers {
    file: String,
    current: Option<String>,
    controllers: BTreeMap<String, Controller>,
}

/// One controller of `controllers.yaml`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Controller {
    /// `api-endpoints`: `host:port`, the addresses last seen.
    #[serde(default, rename = "api-endpoints")]
    pub api_endpoints: Vec<String>,
    /// `ca-cert`, PEM; empty for a controller with a publicly signed certificate.
    #[serde(default, rename = "ca-cert")]
    pub ca_cert: String,
}

#[derive(Default, Deserialize)]
struct ControllersYaml {
    #[serde(default)]
    controllers: BTreeMap<String, Controller>,
    #[serde(default, rename = "current-controller")]
    current_controller: Option<String>,
}

impl Controllers {
    /// Parses `controllers.yaml`; `file` is how messages name it.
    ///
    /// # Errors
    /// [`Error::Malformed`].
    pub fn parse(text: &str, file: String) -> Result<Self, Error> {
        let parsed: ControllersYaml = parse_yaml(text).map_err(|e| Error::Malformed {
            file: file.clone(),
            what: "controllers",
            reason: e.to_string(),
            regenerate: "controllers",
        })?;
        Ok(Self {
            file,
            current: parsed.current_controller.filter(|c| !c.is_empty()),
            controllers: parsed.controllers,
        })
    }

    /// The controller `juju` would use: the one named, else `current-controller`. Juju refuses
    /// a name it does not know, even when the name came from a flag
    /// (`cmd/modelcmd/controller.go` `DetermineCurrentController`).
    ///
    /// # Errors
    /// No controllers, no current controller, or an unknown name.
    pub fn select(&self, named: Option<&Named>) -> Result<(&str, &Controller), Error> {
        if self.controllers.is_empty() {
            return Err(Error::NoControllers {
                file: self.file.clone(),
            });
        }
        let named = match named {
            Some(named) => named.clone(),
            None => match &self.current {
                Some(current) => Named::new(current.clone(), "`current-controller`"),
                None => {
                    return Err(Error::NoCurrentController {
                        file: self.file.clone(),
                        known: listed(self.controllers.keys()),
                    });
                }
            },
        };
        match self.controllers.get_key_value(&named.name) {
            Some((name, controller)) => Ok((name.as_str(), controller)),
            None => Err(Error::UnknownController {
                file: self.file.clone(),
                address_hint: if named.by.contains("--controller") {
                    " (--controller takes a controller name or HOST:PORT)"
                } else {
                    ""
                },
                name: named.name,
                named_by: named.by,
                known: listed(self.controllers.keys()),
            }),
        }
    }

    /// `api-endpoints` of `controller`.
    ///
    /// # Errors
    /// [`Error::NoEndpoints`] when the list is empty.
    pub fn endpoints(&self, name: &str, controller: &Controller) -> Result<Vec<String>, Error> {
        let endpoints: Vec<String> = controller
            .api_endpoints
            .iter()
            .filter(|e| !e.trim().is_empty())
            .cloned()
            .collect();
        if endpoints.is_empty() {
            return Err(Error::NoEndpoints {
                file: self.file.clone(),
                controller: name.to_string(),
            });
        }
        Ok(endpoints)
    }

    /// `ca-cert` of `controller`.
    ///
    /// # Errors
    /// [`Error::NoCaCert`] when it is empty, [`Error::NotPem`] when it is not PEM.
    pub fn ca_cert(&self, name: &str, controller: &Controller) -> Result<String, Error> {
        if controller.ca_cert.trim().is_empty() {
            return Err(Error::NoCaCert {
                file: self.file.clone(),
                controller: name.to_string(),
            });
        }
        if !controller.ca_cert.contains("-----BEGIN CERTIFICATE-----") {
            return Err(Error::NotPem {
                file: self.file.clone(),
                controller: name.to_string(),
            });
        }
        Ok(controller.ca_cert.clone())
    }

    /// How messages name the file.
    pub fn file(&self) -> &str {
        &self.file
    }
}

/// `models.yaml`.
#[derive(Debug, Clone, Default)]
pub struct Models {
    file: String,
    controllers: BTreeMap<String, ControllerModels>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct ControllerModels {
    #[serde(default)]
    models: BTreeMap<String, ModelDetails>,
    #[serde(default, rename = "current-model")]
    current_model: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct ModelDetails {
    #[serde(default)]
    uuid: String,
    #[serde(default, rename = "type")]
    kind: String,
}

#[derive(Default, Deserialize)]
struct ModelsYaml {
    #[serde(default)]
    controllers: BTreeMap<String, ControllerModels>,
}

/// A model found in `models.yaml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Model {
    /// `owner/name`, as `models.yaml` keys it.
    pub qualified: String,
    /// Its UUID.
    pub uuid: String,
    /// `caas` (Kubernetes) or `iaas` (machines).
    pub kind: String,
}

impl Model {
    /// The name without its owner: on Kubernetes, the model's namespace.
    pub fn name(&self) -> &str {
        bare_model_name(&self.qualified)
    }
}

/// `admin/kubeflow` → `kubeflow`; `kubeflow` → `kubeflow`.
pub fn bare_model_name(model: &str) -> &str {
    model.rsplit_once('/').map_or(model, |(_, name)| name)
}

/// `owner/name` with Juju 2's `owner@local` made `owner`; `None` for an unqualified name.
fn normalise_qualified(model: &str) -> Option<String> {
    let (owner, name) = model.split_once('/')?;
    Some(format!("{}/{name}", local_user(owner)))
}

impl Models {
    /// Parses `models.yaml`; `file` is how messages name it.
    ///
    /// # Errors
    /// [`Error::Malformed`].
    pub fn parse(text: &str, file: String) -> Result<Self, Error> {
        let parsed: ModelsYaml = parse_yaml(text).map_err(|e| Error::Malformed {
            file: file.clone(),
            what: "models",
            reason: e.to_string(),
            regenerate: "models",
        })?;
        let controllers = parsed
            .controllers
            .into_iter()
            .map(|(controller, mut models)| {
                models.models = models
                    .models
                    .into_iter()
                    .map(|(name, details)| (normalise_qualified(&name).unwrap_or(name), details))
                    .collect();
                models.current_model = models
                    .current_model
                    .filter(|m| !m.is_empty())
                    .map(|m| normalise_qualified(&m).unwrap_or(m));
                (controller, models)
            })
            .collect();
        Ok(Self { file, controllers })
    }

    /// [`Models::find`], refusing a model `models.yaml` records as not a Kubernetes (`caas`)
    /// model. A model without a recorded type is taken as it is: preflight checks it anyway.
    ///
    /// # Errors
    /// As [`Models::find`], and [`Error::NotKubernetes`].
    pub fn find_kubernetes(
        &self,
        controller: &str,
        model: Option<&str>,
        user: &str,
    ) -> Result<Model, Error> {
        let found = self.find(controller, model, user)?;
        if !found.kind.is_empty() && found.kind != "caas" {
            return Err(Error::NotKubernetes {
                file: self.file.clone(),
                controller: controller.to_string(),
                model: found.qualified,
                kind: found.kind,
            });
        }
        Ok(found)
    }

    /// The model `juju -m <model>` would use on `controller`, or the controller's
    /// `current-model` when `model` is `None`.
    ///
    /// An unqualified name is qualified with the user who logs in (`user`), as `juju` does
    /// (`cmd/modelcmd/clientstore.go` `QualifiedModelName`); a name that matches no model but
    /// is at least six characters long is tried as a prefix of a model UUID
    /// (`cmd/modelcmd/modelcommand.go` `modelFromStore`). Unlike `juju`, an unknown model is not
    /// looked up on the controller: the error says which command refreshes the file.
    ///
    /// # Errors
    /// No models for the controller, no current model, or an unknown model.
    pub fn find(&self, controller: &str, model: Option<&str>, user: &str) -> Result<Model, Error> {
        let Some(models) = self.controllers.get(controller) else {
            return Err(Error::NoModels {
                file: self.file.clone(),
                controller: controller.to_string(),
            });
        };
        let (wanted, qualified_note) = match model {
            Some(model) => match normalise_qualified(model) {
                Some(qualified) => (qualified, String::new()),
                None => (
                    format!("{user}/{model}"),
                    format!(" (`{model}` qualified with the user `{user}`, as juju does)"),
                ),
            },
            None => match &models.current_model {
                Some(current) => (current.clone(), " (its `current-model`)".to_string()),
                None => {
                    return Err(Error::NoCurrentModel {
                        file: self.file.clone(),
                        controller: controller.to_string(),
                        known: listed(models.models.keys()),
                    });
                }
            },
        };
        if let Some(details) = models.models.get(&wanted) {
            return Ok(Model {
                qualified: wanted,
                uuid: details.uuid.clone(),
                kind: details.kind.clone(),
            });
        }
        let by_uuid = model.filter(|m| m.len() > 5).and_then(|prefix| {
            models
                .models
                .iter()
                .find(|(_, d)| !d.uuid.is_empty() && d.uuid.starts_with(prefix))
        });
        if let Some((name, details)) = by_uuid {
            return Ok(Model {
                qualified: name.clone(),
                uuid: details.uuid.clone(),
                kind: details.kind.clone(),
            });
        }
        let same_name: Vec<&String> = models
            .models
            .keys()
            .filter(|k| bare_model_name(k) == bare_model_name(&wanted))
            .collect();
        Err(Error::UnknownModel {
            file: self.file.clone(),
            controller: controller.to_string(),
            similar: if same_name.is_empty() {
                String::new()
            } else {
                format!("; did you mean -m {}", listed(same_name.into_iter()))
            },
            model: wanted,
            qualified: qualified_note,
        })
    }
}

/// `accounts.yaml`.
#[derive(Debug, Clone, Default)]
pub struct Accounts {
    file: String,
    accounts: BTreeMap<String, Account>,
}

/// One controller's account. `Debug` shows no password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// `user`.
    pub user: String,
    /// `password`, when `juju` keeps one.
    pub password: Option<Password>,
}

/// The file's shape. No `Debug`: it holds the password before it is wrapped.
#[derive(Default, Deserialize)]
struct AccountsYaml {
    #[serde(default)]
    controllers: BTreeMap<String, AccountYaml>,
}

#[derive(Default, Deserialize)]
struct AccountYaml {
    #[serde(default)]
    user: String,
    #[serde(default)]
    password: String,
}

impl Accounts {
    /// Parses `accounts.yaml`; `file` is how messages name it.
    ///
    /// # Errors
    /// [`Error::Malformed`], saying where but not what the parser saw: its words could quote a
    /// password.
    pub fn parse(text: &str, file: String) -> Result<Self, Error> {
        let parsed: AccountsYaml = parse_yaml(text).map_err(|e| Error::Malformed {
            file: file.clone(),
            what: "accounts",
            reason: where_in(&e),
            regenerate: "login",
        })?;
        let accounts = parsed
            .controllers
            .into_iter()
            .map(|(controller, a)| {
                (
                    controller,
                    Account {
                        user: local_user(&a.user).to_string(),
                        password: (!a.password.is_empty()).then(|| Password::new(a.password)),
                    },
                )
            })
            .collect();
        Ok(Self { file, accounts })
    }

    /// The account `juju` uses on `controller`.
    ///
    /// # Errors
    /// [`Error::NoAccount`] when there is none (or it names no user).
    pub fn account(&self, controller: &str) -> Result<&Account, Error> {
        self.accounts
            .get(controller)
            .filter(|a| !a.user.is_empty())
            .ok_or_else(|| Error::NoAccount {
                file: self.file.clone(),
                controller: controller.to_string(),
            })
    }

    /// The password of `user` on `controller`, if this file holds it.
    ///
    /// # Errors
    /// [`Error::OtherUser`] when the account is another user's; [`Error::NoPassword`] when it
    /// holds no password (`cookie_jar` says whether `juju` logs in with macaroons instead).
    pub fn password(
        &self,
        controller: &str,
        user: &str,
        cookie_jar: Option<&str>,
    ) -> Result<Password, Error> {
        let account = self.account(controller)?;
        if account.user != user {
            return Err(Error::OtherUser {
                file: self.file.clone(),
                controller: controller.to_string(),
                account_user: account.user.clone(),
                user: user.to_string(),
            });
        }
        match &account.password {
            Some(password) => Ok(password.clone()),
            None => Err(Error::NoPassword {
                file: self.file.clone(),
                controller: controller.to_string(),
                user: user.to_string(),
                why: match cookie_jar {
                    Some(jar) => format!(
                        ": `juju login` left a login macaroon in `{jar}` instead, which expires within a day and which ckf-migrator does not use"
                    ),
                    None => " (juju keeps one only for the admin `juju bootstrap` created), nor is there a login macaroon for it".to_string(),
                },
            }),
        }
    }

    /// How messages name the file.
    pub fn file(&self) -> &str {
        &self.file
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONTROLLERS: &str = r#"
controllers:
  ckf:
    uuid: 7c1e2d3f-aaaa-4bbb-8ccc-ddddeeeeffff
    api-endpoints: ['127.0.0.1:17070', '127.0.0.2:17070']
    ca-cert: |
      -----BEGIN CERTIFICATE-----
      MIIB
      -----END CERTIFICATE-----
    cloud: microk8s
    region: localhost
    type: kubernetes
    agent-version: 3.6.11
    controller-machine-count: 1
    active-controller-machine-count: 1
  lab:
    uuid: 11111111-2222-4333-8444-555555555555
    api-endpoints: ['127.0.0.3:17070']
    ca-cert: ""
current-controller: ckf
"#;

    const MODELS: &str = r#"
controllers:
  ckf:
    models:
      admin/controller:
        uuid: 0b5d6f5e-0000-4000-8000-000000000000
        type: caas
      admin/kubeflow:
        uuid: 0b5d6f5e-1111-4222-8333-444455556666
        type: caas
        branch: master
      bob@local/kubeflow:
        uuid: 9f9f9f9f-1111-4222-8333-444455556666
        type: caas
    current-model: admin/kubeflow
  lab:
    models:
      admin/cos:
        uuid: 22222222-1111-4222-8333-444455556666
        type: caas
"#;

    const ACCOUNTS: &str = r#"
controllers:
  ckf:
    user: admin
    password: hunter2-secret
    last-known-access: superuser
  lab:
    user: bob@local
    last-known-access: login
"#;

    fn controllers() -> Controllers {
        Controllers::parse(CONTROLLERS, "~/.local/share/juju/controllers.yaml".into())
            .expect("valid")
    }

    fn models() -> Models {
        Models::parse(MODELS, "~/.local/share/juju/models.yaml".into()).expect("valid")
    }

    fn accounts() -> Accounts {
        Accounts::parse(ACCOUNTS, "~/.local/share/juju/accounts.yaml".into()).expect("valid")
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_data_dir_is_juju_data_then_xdg_data_home_then_home() {
        let all = env(&[
            ("JUJU_DATA", "/srv/juju"),
            ("XDG_DATA_HOME", "/home/op/.data"),
            ("HOME", "/home/op"),
        ]);

        assert_eq!(data_dir(&all), Some(PathBuf::from("/srv/juju")));
        assert_eq!(
            data_dir(&all[1..]),
            Some(PathBuf::from("/home/op/.data/juju"))
        );
        assert_eq!(
            data_dir(&all[2..]),
            Some(PathBuf::from("/home/op/.local/share/juju"))
        );
        assert_eq!(
            data_dir(&env(&[("JUJU_DATA", ""), ("HOME", "/h")])),
            Some(PathBuf::from("/h/.local/share/juju"))
        );
        assert_eq!(data_dir(&[]), None);
    }

    #[test]
    fn files_below_home_are_shown_with_a_tilde() {
        let data = JujuData::locate(&env(&[("HOME", "/home/op")]), "--x").expect("located");

        assert_eq!(data.shown("models.yaml"), "~/.local/share/juju/models.yaml");
    }

    #[test]
    fn the_current_controller_is_the_default() {
        let file = controllers();

        let (name, controller) = file.select(None).expect("current");

        assert_eq!(name, "ckf");
        assert_eq!(
            file.endpoints(name, controller).expect("endpoints"),
            vec!["127.0.0.1:17070", "127.0.0.2:17070"]
        );
        assert!(
            file.ca_cert(name, controller)
                .expect("ca")
                .starts_with("-----BEGIN CERTIFICATE-----\nMIIB")
        );
    }

    #[test]
    fn an_unknown_controller_names_the_file_the_key_and_the_known_ones() {
        let err = controllers()
            .select(Some(&Named::new("prod", "--controller prod")))
            .expect_err("unknown");

        let text = err.to_string();
        assert!(text.starts_with("`~/.local/share/juju/controllers.yaml` has no controller `prod` under `controllers`"), "{text}");
        assert!(text.contains("controllers here: ckf, lab"), "{text}");
        assert!(text.contains("`juju controllers`"), "{text}");
        assert!(text.contains("HOST:PORT"), "{text}");
    }

    #[test]
    fn no_current_controller_asks_for_one() {
        let file = Controllers::parse(
            "controllers:\n  ckf:\n    api-endpoints: ['127.0.0.1:17070']\n",
            "c.yaml".into(),
        )
        .expect("valid");

        let err = file.select(None).expect_err("none current");

        assert!(
            err.to_string()
                .contains("no `current-controller`: pass -c NAME"),
            "{err}"
        );
    }

    #[test]
    fn an_empty_file_lists_no_controllers() {
        for text in ["", "\n# nothing\n", "---\n", "~\n"] {
            let file = Controllers::parse(text, "c.yaml".into()).expect("empty is valid");

            let err = file.select(None).expect_err("no controllers");

            assert!(
                err.to_string().contains("lists no controllers"),
                "{text:?}: {err}"
            );
        }
    }

    #[test]
    fn a_controller_without_a_ca_cert_asks_for_one() {
        let file = controllers();
        let (name, controller) = file
            .select(Some(&Named::new("lab", "-c lab")))
            .expect("lab");

        let err = file.ca_cert(name, controller).expect_err("no ca");

        assert!(
            err.to_string()
                .contains("controller `lab` has no `ca-cert`; pass --ca-cert FILE"),
            "{err}"
        );
    }

    #[test]
    fn a_ca_cert_that_is_not_pem_is_refused() {
        let file = Controllers::parse(
            "controllers:\n  ckf:\n    api-endpoints: ['127.0.0.1:17070']\n    ca-cert: x\n",
            "c.yaml".into(),
        )
        .expect("valid");
        let (name, controller) = file.select(Some(&Named::new("ckf", "-c"))).expect("ckf");

        let err = file.ca_cert(name, controller).expect_err("not pem");

        assert!(matches!(err, Error::NotPem { .. }), "{err}");
    }

    #[test]
    fn malformed_yaml_names_the_file_and_where() {
        let err = Controllers::parse("controllers: [\n", "~/c.yaml".into()).expect_err("bad");

        let text = err.to_string();
        assert!(
            text.starts_with("`~/c.yaml` is not a valid Juju controllers file ("),
            "{text}"
        );
        assert!(text.contains("line"), "{text}");
    }

    #[test]
    fn a_wrong_shape_is_malformed_too() {
        let err = Controllers::parse(
            "controllers:\n  ckf:\n    api-endpoints: 5\n",
            "c.yaml".into(),
        )
        .expect_err("bad");

        assert!(
            matches!(
                err,
                Error::Malformed {
                    what: "controllers",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn a_machine_model_is_refused_naming_its_type() {
        let machines = Models::parse(
            "controllers:\n  ckf:\n    models:\n      admin/default:\n        uuid: 33333333-1111-4222-8333-444455556666\n        type: iaas\n",
            "~/.local/share/juju/models.yaml".into(),
        )
        .expect("parses");

        let err = machines
            .find_kubernetes("ckf", Some("default"), "admin")
            .expect_err("refused");

        let text = err.to_string();
        assert!(
            text.contains("model `admin/default` of controller `ckf` has type `iaas`")
                && text.contains("~/.local/share/juju/models.yaml"),
            "{text}"
        );
        assert!(
            models()
                .find_kubernetes("ckf", Some("kubeflow"), "admin")
                .is_ok(),
            "a caas model is taken"
        );
    }

    #[test]
    fn an_unqualified_model_is_qualified_with_the_user() {
        let model = models()
            .find("ckf", Some("kubeflow"), "admin")
            .expect("found");

        assert_eq!(model.qualified, "admin/kubeflow");
        assert_eq!(model.uuid, "0b5d6f5e-1111-4222-8333-444455556666");
        assert_eq!(model.kind, "caas");
        assert_eq!(model.name(), "kubeflow");
    }

    #[test]
    fn a_qualified_model_is_taken_as_is_and_juju_2_local_owners_are_read_as_juju_3_does() {
        let file = models();

        assert_eq!(
            file.find("ckf", Some("bob/kubeflow"), "admin")
                .expect("bob's")
                .uuid,
            "9f9f9f9f-1111-4222-8333-444455556666"
        );
        assert_eq!(
            file.find("ckf", Some("bob@local/kubeflow"), "admin")
                .expect("bob's")
                .qualified,
            "bob/kubeflow"
        );
    }

    #[test]
    fn no_model_named_means_the_current_model() {
        let model = models().find("ckf", None, "admin").expect("current");

        assert_eq!(model.qualified, "admin/kubeflow");
    }

    #[test]
    fn a_model_uuid_prefix_finds_the_model() {
        let model = models()
            .find("ckf", Some("9f9f9f9f-11"), "admin")
            .expect("by uuid");

        assert_eq!(model.qualified, "bob/kubeflow");
    }

    #[test]
    fn an_unknown_model_names_the_file_the_key_and_the_command_that_lists_models() {
        let err = models()
            .find("ckf", Some("kubeflow"), "migrator")
            .expect_err("unknown");

        let text = err.to_string();
        assert!(
            text.starts_with("`~/.local/share/juju/models.yaml`: controller `ckf` has no model `migrator/kubeflow` under `models`"),
            "{text}"
        );
        assert!(
            text.contains("qualified with the user `migrator`"),
            "{text}"
        );
        assert!(
            text.contains("did you mean -m admin/kubeflow, bob/kubeflow"),
            "{text}"
        );
        assert!(text.contains("`juju models -c ckf` lists them"), "{text}");
    }

    #[test]
    fn a_controller_without_models_or_current_model_says_what_to_run() {
        let file = models();

        let none = file.find("prod", None, "admin").expect_err("no models");
        let no_current = file.find("lab", None, "admin").expect_err("no current");

        assert!(
            none.to_string().contains(
                "no models for controller `prod` under `controllers`; `juju models -c prod`"
            ),
            "{none}"
        );
        assert!(
            no_current.to_string().contains(
                "controller `lab` has no `current-model`; pass -m MODEL (models here: admin/cos)"
            ),
            "{no_current}"
        );
    }

    #[test]
    fn the_accounts_password_is_wrapped_and_never_printed() {
        let file = accounts();

        let password = file.password("ckf", "admin", None).expect("password");

        assert_eq!(password.expose(), "hunter2-secret");
        assert!(!format!("{file:?}").contains("hunter2-secret"));
        assert_eq!(
            file.account("lab").expect("lab").user,
            "bob",
            "@local dropped"
        );
    }

    #[test]
    fn no_password_without_cookies_says_what_to_pass() {
        let err = accounts()
            .password("lab", "bob", None)
            .expect_err("no password");

        let text = err.to_string();
        assert!(
            text.starts_with("`~/.local/share/juju/accounts.yaml`: the account `bob` of controller `lab` has no `password`"),
            "{text}"
        );
        assert!(text.contains("pass --password-file FILE"), "{text}");
        assert!(text.contains("JUJU_PASSWORD"), "{text}");
    }

    #[test]
    fn no_password_with_cookies_names_the_jar_ckf_migrator_does_not_use() {
        let err = accounts()
            .password("lab", "bob", Some("~/.local/share/juju/cookies/lab.json"))
            .expect_err("no password");

        let text = err.to_string();
        assert!(
            text.contains("login macaroon in `~/.local/share/juju/cookies/lab.json`"),
            "{text}"
        );
        assert!(text.contains("pass --password-file FILE"), "{text}");
    }

    #[test]
    fn the_password_of_the_account_is_not_lent_to_another_user() {
        let err = accounts()
            .password("ckf", "migrator", None)
            .expect_err("other user");

        assert!(
            err.to_string().contains("is `admin`, not `migrator`"),
            "{err}"
        );
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn a_malformed_accounts_file_does_not_quote_what_it_read() {
        let err = Accounts::parse("controllers:\n  ckf: hunter2-secret\n", "a.yaml".into())
            .expect_err("bad");

        let text = err.to_string();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("at line 2"), "{text}");
    }

    #[test]
    fn a_missing_account_says_what_to_pass() {
        let err = accounts().account("prod").expect_err("none");

        assert!(err.to_string().contains("no account for controller `prod` under `controllers`; pass --username USER and --password-file FILE"), "{err}");
    }
}
