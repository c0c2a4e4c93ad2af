//! The Juju login the charm uses, read from the `juju-credentials` user secret.
//!
//! Juju gives a charm no client credentials (reference/juju-api.md §7), so the operator creates
//! a user with admin access to the model, stores its name and password in a user secret, grants
//! the secret to this application and points the `juju-credentials` option at it. Here:
//! `config-get` → the secret URI → `secret-get` → `username`, `password`, optional `ca-cert`
//! (default: `cacert` of the unit's `agent.conf`) and optional `api-addresses` (default:
//! `JUJU_API_ADDRESSES`) → [`juju::Credentials`] for the model `JUJU_MODEL_UUID`.
//!
//! Every failure is a [`CredentialsError`] whose `Display` is the fix, with the real secret id
//! and application name in the commands. The password only ever lives in [`juju::Password`].

use std::path::{Path, PathBuf};

use super::context::{JujuContext, split_addresses};
use super::hooktools::{HookToolError, HookTools, Runner, WorkloadStatus};
use super::status;
use crate::juju;

/// The config option that holds the secret URI.
pub const CONFIG_OPTION: &str = "juju-credentials";

/// Why the credentials cannot be had; `Display` says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    /// `juju-credentials` is not set: the charm is not configured yet.
    #[error(
        "juju-credentials is not set: create a Juju user with admin access to this model and give it to the charm: \
         `juju add-user migrator`, `juju change-user-password migrator`, `juju grant migrator admin {model}`, \
         `juju add-secret migrator-credentials username=migrator password=<password>`, \
         `juju grant-secret migrator-credentials {app}`, then `juju config {app} juju-credentials=<the secret URI add-secret printed>`"
    )]
    NotConfigured {
        /// This application.
        app: String,
        /// The model.
        model: String,
    },
    /// `config-get` failed.
    #[error("cannot read the charm's configuration: {0}")]
    Config(HookToolError),
    /// The option holds something that is not a secret URI.
    #[error(
        "juju-credentials must be a secret URI such as secret:d1cf0mnmp25c7f3m9o80, not {value}: run `juju config {app} juju-credentials=<secret URI>`"
    )]
    NotASecretUri {
        /// This application.
        app: String,
        /// What the option holds, as JSON.
        value: String,
    },
    /// The secret is not granted to this application.
    #[error(
        "juju-credentials secret {uri} is not granted to {app}: run `juju grant-secret {uri} {app}`"
    )]
    NotGranted {
        /// The secret URI.
        uri: String,
        /// This application.
        app: String,
    },
    /// The secret does not exist.
    #[error(
        "juju-credentials secret {uri} does not exist: list secrets with `juju secrets`, then run `juju config {app} juju-credentials=<secret URI>`"
    )]
    NotFound {
        /// The secret URI.
        uri: String,
        /// This application.
        app: String,
    },
    /// `secret-get` failed otherwise.
    #[error(
        "juju-credentials secret {uri} cannot be read ({reason}): check `juju show-secret {uri}` and run `juju grant-secret {uri} {app}`"
    )]
    Unreadable {
        /// The secret URI.
        uri: String,
        /// This application.
        app: String,
        /// The tool's message (never the content).
        reason: String,
    },
    /// The secret lacks a required key (or it is empty).
    #[error(
        "juju-credentials secret {uri} has no `{key}`: run `juju update-secret {uri} username=<user> password=<password>`"
    )]
    MissingKey {
        /// The secret URI.
        uri: String,
        /// `username` or `password`.
        key: &'static str,
    },
    /// No usable controller CA.
    #[error(
        "cannot find the controller CA certificate: {reason}: add it to the secret as ca-cert, e.g. \
         `juju update-secret {uri} username=<user> password=<password> ca-cert#file=<ca.pem>` \
         (the CA is `ca-cert` in `juju show-controller`)"
    )]
    CaCert {
        /// The secret URI.
        uri: String,
        /// What was wrong, naming the file or key read.
        reason: String,
    },
    /// No controller address.
    #[error(
        "no Juju controller address: JUJU_API_ADDRESSES is empty; add api-addresses to the secret, e.g. \
         `juju update-secret {uri} username=<user> password=<password> api-addresses=<host:port>`"
    )]
    NoAddresses {
        /// The secret URI.
        uri: String,
    },
}

impl CredentialsError {
    /// The charm is simply not configured yet (not broken).
    pub fn is_not_configured(&self) -> bool {
        matches!(self, CredentialsError::NotConfigured { .. })
    }

    /// The workload status that tells the operator about it: `active` with what to do when not
    /// configured, `blocked` with the fix otherwise.
    pub fn status(&self) -> WorkloadStatus {
        if self.is_not_configured() {
            status::not_configured()
        } else {
            WorkloadStatus::blocked(self.to_string())
        }
    }
}

/// The login and the secret it came from.
#[derive(Debug, Clone)]
pub struct CharmCredentials {
    /// What the Juju client logs in with.
    pub credentials: juju::Credentials,
    /// The `juju-credentials` secret URI, for messages.
    pub secret_uri: String,
}

/// Reads the credentials through the hook tools.
///
/// # Errors
/// See [`CredentialsError`]: each variant's message is the fix.
pub async fn load<R: Runner>(
    tools: &HookTools<R>,
    ctx: &JujuContext,
) -> Result<CharmCredentials, CredentialsError> {
    let app = ctx.app_name().to_string();
    let config = tools.config_get().await.map_err(CredentialsError::Config)?;
    let uri = match config.get(CONFIG_OPTION) {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) if s.trim().is_empty() => None,
        Some(serde_json::Value::String(s)) if s.trim().starts_with("secret:") => {
            Some(s.trim().to_string())
        }
        Some(other) => {
            return Err(CredentialsError::NotASecretUri {
                app,
                value: other.to_string(),
            });
        }
    };
    let Some(uri) = uri else {
        return Err(CredentialsError::NotConfigured {
            app,
            model: ctx.model_name.clone(),
        });
    };
    let content = tools.secret_get(&uri).await.map_err(|e| {
        if e.is_permission_denied() {
            CredentialsError::NotGranted {
                uri: uri.clone(),
                app: app.clone(),
            }
        } else if e.is_not_found() {
            CredentialsError::NotFound {
                uri: uri.clone(),
                app: app.clone(),
            }
        } else {
            CredentialsError::Unreadable {
                uri: uri.clone(),
                app: app.clone(),
                reason: e.to_string(),
            }
        }
    })?;
    let required = |key: &'static str| {
        content
            .get(key)
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| CredentialsError::MissingKey {
                uri: uri.clone(),
                key,
            })
    };
    let username = required("username")?.trim().to_string();
    let password = juju::Password::new(required("password")?);
    let ca_cert_pem = match content.get("ca-cert").filter(|v| !v.trim().is_empty()) {
        Some(pem) => {
            check_pem(pem, "the secret's ca-cert").map_err(|reason| CredentialsError::CaCert {
                uri: uri.clone(),
                reason,
            })?
        }
        None => {
            ca_from_agent_conf(&ctx.agent_conf()).map_err(|reason| CredentialsError::CaCert {
                uri: uri.clone(),
                reason,
            })?
        }
    };
    let addresses = match content
        .get("api-addresses")
        .filter(|v| !v.trim().is_empty())
    {
        Some(list) => split_addresses(list),
        None => ctx.api_addresses.clone(),
    };
    if addresses.is_empty() {
        return Err(CredentialsError::NoAddresses { uri });
    }
    Ok(CharmCredentials {
        credentials: juju::Credentials {
            addresses,
            model_uuid: ctx.model_uuid.clone(),
            username,
            password,
            ca_cert_pem,
        },
        secret_uri: uri,
    })
}

fn check_pem(pem: &str, what: &str) -> Result<String, String> {
    if pem.contains("-----BEGIN CERTIFICATE-----") {
        Ok(pem.to_string())
    } else {
        Err(format!("{what} is not a PEM certificate"))
    }
}

/// `cacert` from the unit agent's `agent.conf` (YAML).
fn ca_from_agent_conf(path: &Path) -> Result<String, String> {
    let shown = normalise(path).display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let conf: serde_yaml::Value =
        serde_yaml::from_str(&text).map_err(|e| format!("{shown} is not YAML: {e}"))?;
    let pem = conf
        .get("cacert")
        .and_then(serde_yaml::Value::as_str)
        .ok_or_else(|| format!("{shown} has no cacert"))?;
    check_pem(pem, &format!("cacert in {shown}"))
}

/// `charm/../agent.conf` shown as `agent.conf` beside the charm dir, without touching the disk.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir if out.file_name().is_some() => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use ckf_sim::hooktools::{Secret, State};

    use super::*;
    use crate::charm::context::Event;
    use crate::charm::hooktools::fake::tools;

    const URI: &str = "secret:d1cf0mnmp25c7f3m9o80";
    const ID: &str = "d1cf0mnmp25c7f3m9o80";
    const PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

    fn ctx(charm_dir: PathBuf) -> JujuContext {
        JujuContext {
            event: Event::Hook("config-changed".into()),
            unit_name: "ckf-migrator/0".into(),
            model_name: "kubeflow".into(),
            model_uuid: "6d3c8f1e-0000-4000-8000-000000000001".into(),
            charm_dir,
            api_addresses: vec!["127.0.0.1:17070".into()],
            juju_version: Some("3.6.11".into()),
            kubeconfig: None,
        }
    }

    fn state(content: &[(&str, &str)], granted: bool) -> State {
        let mut state = State {
            unit: "ckf-migrator/0".into(),
            ..State::default()
        };
        state
            .config
            .insert(CONFIG_OPTION.into(), serde_json::Value::String(URI.into()));
        state.secrets.insert(
            ID.into(),
            Secret {
                revisions: vec![
                    content
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect::<BTreeMap<_, _>>(),
                ],
                granted_to: if granted {
                    vec!["ckf-migrator".into()]
                } else {
                    vec![]
                },
                pinned: None,
            },
        );
        state
    }

    fn charm_dir_with_agent_conf() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let charm = dir.path().join("charm");
        std::fs::create_dir(&charm).expect("charm dir");
        std::fs::write(
            dir.path().join("agent.conf"),
            format!(
                "tag: unit-ckf-migrator-0\ncacert: |\n  {}",
                PEM.replace('\n', "\n  ")
            ),
        )
        .expect("agent.conf");
        (dir, charm)
    }

    #[tokio::test]
    async fn a_complete_secret_gives_credentials_with_the_agent_ca() {
        let (_dir, charm) = charm_dir_with_agent_conf();
        let tools = tools(state(
            &[("username", "migrator"), ("password", "pw-1")],
            true,
        ));

        let loaded = load(&tools, &ctx(charm)).await.expect("credentials");

        let creds = loaded.credentials;
        assert_eq!(creds.username, "migrator");
        assert_eq!(creds.password.expose(), "pw-1");
        assert_eq!(creds.addresses, vec!["127.0.0.1:17070"]);
        assert_eq!(creds.model_uuid, "6d3c8f1e-0000-4000-8000-000000000001");
        assert!(creds.ca_cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert_eq!(loaded.secret_uri, URI);
    }

    #[tokio::test]
    async fn the_secret_may_override_ca_and_addresses() {
        let tools = tools(state(
            &[
                ("username", "migrator"),
                ("password", "pw-1"),
                ("ca-cert", PEM),
                ("api-addresses", "127.0.0.5:17070,127.0.0.6:17070"),
            ],
            true,
        ));

        let creds = load(&tools, &ctx(PathBuf::from("/nonexistent/charm")))
            .await
            .expect("credentials")
            .credentials;

        assert_eq!(creds.ca_cert_pem, PEM);
        assert_eq!(creds.addresses, vec!["127.0.0.5:17070", "127.0.0.6:17070"]);
    }

    #[tokio::test]
    async fn no_option_means_not_configured_with_the_commands_to_run() {
        let mut state = state(&[], true);
        state.config.clear();
        let tools = tools(state);

        let err = load(&tools, &ctx(PathBuf::from("/x")))
            .await
            .expect_err("not set");

        assert!(err.is_not_configured());
        assert_eq!(err.status(), status::not_configured());
        let text = err.to_string();
        assert!(
            text.contains("`juju grant migrator admin kubeflow`"),
            "{text}"
        );
        assert!(
            text.contains("`juju grant-secret migrator-credentials ckf-migrator`"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn an_ungranted_secret_says_to_grant_it() {
        let tools = tools(state(&[("username", "u"), ("password", "p")], false));

        let err = load(&tools, &ctx(PathBuf::from("/x")))
            .await
            .expect_err("not granted");

        assert_eq!(
            err.to_string(),
            format!(
                "juju-credentials secret {URI} is not granted to ckf-migrator: run `juju grant-secret {URI} ckf-migrator`"
            )
        );
        assert_eq!(
            err.status().kind,
            crate::charm::hooktools::StatusKind::Blocked
        );
    }

    #[tokio::test]
    async fn a_missing_password_names_the_key_and_update_secret() {
        let tools = tools(state(&[("username", "migrator")], true));

        let err = load(&tools, &ctx(PathBuf::from("/x")))
            .await
            .expect_err("no password");

        assert_eq!(
            err,
            CredentialsError::MissingKey {
                uri: URI.into(),
                key: "password"
            }
        );
        assert!(err.to_string().contains(&format!(
            "`juju update-secret {URI} username=<user> password=<password>`"
        )));
    }

    #[tokio::test]
    async fn a_missing_agent_conf_asks_for_ca_cert_in_the_secret() {
        let tools = tools(state(&[("username", "u"), ("password", "p")], true));

        let err = load(&tools, &ctx(PathBuf::from("/nonexistent/charm")))
            .await
            .expect_err("no CA");

        let text = err.to_string();
        assert!(
            text.contains("cannot read /nonexistent/agent.conf"),
            "{text}"
        );
        assert!(text.contains("ca-cert#file=<ca.pem>"), "{text}");
    }

    #[tokio::test]
    async fn no_error_text_contains_the_password() {
        let tools = tools(state(
            &[
                ("username", "u"),
                ("password", "hunter2-pw"),
                ("ca-cert", "junk"),
            ],
            true,
        ));

        let err = load(&tools, &ctx(PathBuf::from("/x")))
            .await
            .expect_err("bad CA");

        assert!(!format!("{err} {err:?}").contains("hunter2-pw"));
    }

    #[test]
    fn no_credentials_problem_reads_as_a_login_failure() {
        // status::keep_on_ready keeps "juju-credentials: …" across cheap hooks; a problem a
        // cheap hook can see again must not look like that.
        let errors = [
            CredentialsError::NotGranted {
                uri: URI.into(),
                app: "a".into(),
            },
            CredentialsError::NotFound {
                uri: URI.into(),
                app: "a".into(),
            },
            CredentialsError::MissingKey {
                uri: URI.into(),
                key: "password",
            },
            CredentialsError::NoAddresses { uri: URI.into() },
        ];
        for err in errors {
            assert!(!err.to_string().starts_with("juju-credentials: "), "{err}");
        }
    }
}
