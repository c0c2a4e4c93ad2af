//! `Admin` v3 `Login` with a user's password, and facade version negotiation.
//!
//! Owns what a login means (juju-api.md §3): the request (`user-<name>`, password, empty nonce,
//! macaroons and user data), the outcomes (refusal, discharge required = refusal for a password
//! client, `redirection required` with the new addresses), and which version of each facade the
//! client speaks: the highest in (client-supported ∩ controller-listed). It knows the envelope only
//! through [`Rpc`]; typed calls live in [`super::client`]. Start at [`login`].

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use super::credentials::Credentials;
use super::error::{Error, Result, code};
use super::rpc::{Failure, Rpc, ServerError};
use super::wire::{FacadeVersions, LoginRequest, LoginResult, RedirectInfo};

/// The Juju client version announced at login (the server does not check it); the wire formats
/// here are those of Juju 3.6.11's client.
pub const CLIENT_VERSION: &str = "3.6.11";

/// A facade this client uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Facade {
    /// Deltas of the model (`Client.WatchAll` starts a watcher). Optional: without it, waits
    /// poll `FullStatus`.
    AllWatcher,
    /// Deploy, remove, refresh, relate, configure.
    Application,
    /// Charm resolution and metadata.
    Charms,
    /// `FullStatus`.
    Client,
    /// Keepalive.
    Pinger,
    /// Charm resources.
    Resources,
}

impl Facade {
    /// Every facade the client needs; login fails if one is missing.
    pub const ALL: [Facade; 5] = [
        Facade::Application,
        Facade::Charms,
        Facade::Client,
        Facade::Pinger,
        Facade::Resources,
    ];

    /// Facades used when the controller serves them.
    pub const OPTIONAL: [Facade; 1] = [Facade::AllWatcher];

    /// The facade's name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Facade::AllWatcher => "AllWatcher",
            Facade::Application => "Application",
            Facade::Charms => "Charms",
            Facade::Client => "Client",
            Facade::Pinger => "Pinger",
            Facade::Resources => "Resources",
        }
    }

    /// Versions this client speaks, ascending. Application 19–22 are identical for every method
    /// used here (22 adds storage methods, 21 changes ScaleApplications).
    pub fn supported(self) -> &'static [u32] {
        match self {
            Facade::AllWatcher => &[3],
            Facade::Application => &[19, 20, 21, 22],
            Facade::Charms => &[7],
            Facade::Client => &[8],
            Facade::Pinger => &[1],
            Facade::Resources => &[3],
        }
    }
}

/// The version of each facade negotiated at login.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Facades(BTreeMap<Facade, u32>);

impl Facades {
    /// The negotiated version of `facade`.
    pub fn version(&self, facade: Facade) -> u32 {
        // Negotiation fails unless every facade of Facade::ALL has a version.
        self.0.get(&facade).copied().unwrap_or_default()
    }

    /// The negotiated version of an optional facade, if the controller serves one this client
    /// speaks.
    pub fn optional(&self, facade: Facade) -> Option<u32> {
        self.0.get(&facade).copied()
    }

    /// Facade name → version, for [`LoginInfo`].
    pub fn by_name(&self) -> BTreeMap<String, u32> {
        self.0
            .iter()
            .map(|(facade, version)| (facade.name().to_owned(), *version))
            .collect()
    }
}

/// What login told us.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoginInfo {
    /// The user logged in, without `user-`.
    pub user: String,
    /// The model's UUID, from the login's model tag.
    pub model_uuid: String,
    /// `read`, `write` or `admin`.
    pub model_access: String,
    /// `login`, `superuser`, …
    pub controller_access: String,
    /// The controller's version, e.g. `3.6.11`.
    pub server_version: String,
    /// Negotiated version of each facade the client uses, by facade name.
    pub facades: BTreeMap<String, u32>,
    /// The address this connection went to.
    pub address: String,
}

fn describe_versions(versions: &[u32]) -> String {
    match versions {
        [] => "none".into(),
        [one] => one.to_string(),
        [first, .., last] if (*last - *first) as usize + 1 == versions.len() => {
            format!("{first}-{last}")
        }
        many => many
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// Picks, for each facade the client uses, the highest version both sides speak.
///
/// # Errors
/// [`Error::FacadeMissing`] naming the first facade with no common version.
pub fn negotiate(offered: &[FacadeVersions]) -> Result<Facades> {
    let mut chosen = BTreeMap::new();
    for facade in Facade::ALL {
        let served: Vec<u32> = offered
            .iter()
            .filter(|f| f.name == facade.name())
            .flat_map(|f| f.versions.iter().copied())
            .collect();
        let best = facade
            .supported()
            .iter()
            .copied()
            .filter(|v| served.contains(v))
            .max();
        let Some(best) = best else {
            let mut served = served;
            served.sort_unstable();
            served.dedup();
            return Err(Error::FacadeMissing {
                facade: facade.name().into(),
                supported: describe_versions(facade.supported()),
                offered: describe_versions(&served),
            });
        };
        chosen.insert(facade, best);
    }
    for facade in Facade::OPTIONAL {
        let best = offered
            .iter()
            .filter(|f| f.name == facade.name())
            .flat_map(|f| f.versions.iter().copied())
            .filter(|v| facade.supported().contains(v))
            .max();
        if let Some(best) = best {
            chosen.insert(facade, best);
        }
    }
    Ok(Facades(chosen))
}

/// Logs in as `credentials.username` and negotiates facade versions.
///
/// # Errors
/// [`Error::Login`] when refused (Juju's message and code; a discharge-required answer too),
/// [`Error::Redirected`] when the model moved, [`Error::FacadeMissing`], and the transport's
/// [`Error::Timeout`] / [`Error::Disconnected`].
pub async fn login(
    rpc: &Rpc,
    credentials: &Credentials,
    timeout: Duration,
) -> Result<(LoginInfo, Facades)> {
    let request = LoginRequest {
        auth_tag: format!("user-{}", credentials.username),
        credentials: credentials.password.expose(),
        nonce: "",
        macaroons: Vec::new(),
        user_data: "",
        client_version: CLIENT_VERSION,
    };
    let params = serde_json::to_value(&request).map_err(|e| Error::Decode {
        facade: "Admin".into(),
        method: "Login".into(),
        message: format!("cannot encode the login request: {e}"),
    })?;
    drop(request);
    let outcome = rpc.call("Admin", 3, "Login", params, timeout).await;
    let reply = match outcome {
        Ok(reply) => reply,
        Err(Failure::Server(e)) if e.code.as_deref() == Some(code::REDIRECTION_REQUIRED) => {
            return Err(redirected(rpc, e, timeout).await);
        }
        Err(Failure::Server(ServerError { message, code, .. })) => {
            return Err(Error::Login { message, code });
        }
        Err(Failure::Timeout(t)) => {
            return Err(Error::Timeout {
                facade: "Admin".into(),
                method: "Login".into(),
                seconds: t.as_secs(),
            });
        }
        Err(Failure::Disconnected(cause)) => return Err(Error::Disconnected(cause)),
    };
    let result: LoginResult = serde_json::from_value(reply).map_err(|e| Error::Decode {
        facade: "Admin".into(),
        method: "Login".into(),
        message: e.to_string(),
    })?;
    interpret(&result, &credentials.username)
}

/// Turns a successful `LoginResult` into what the client keeps, refusing the macaroon flow.
///
/// # Errors
/// [`Error::Login`] with code `macaroon discharge required` when the controller asks for a
/// discharge; [`Error::FacadeMissing`].
pub fn interpret(result: &LoginResult, username: &str) -> Result<(LoginInfo, Facades)> {
    if result.discharge_required.is_some()
        || result.bakery_discharge_required.is_some()
        || !result.discharge_required_error.is_empty()
    {
        let message = if result.discharge_required_error.is_empty() {
            "the controller asked for a macaroon discharge; this client logs in with a password only"
                .to_owned()
        } else {
            result.discharge_required_error.clone()
        };
        return Err(Error::Login {
            message,
            code: Some(code::DISCHARGE_REQUIRED.into()),
        });
    }
    let facades = negotiate(&result.facades)?;
    let user_info = result.user_info.clone().unwrap_or_default();
    let user = user_info
        .identity
        .strip_prefix("user-")
        .map(str::to_owned)
        .unwrap_or_else(|| username.to_owned());
    let info = LoginInfo {
        user,
        model_uuid: result
            .model_tag
            .strip_prefix("model-")
            .unwrap_or(&result.model_tag)
            .to_owned(),
        model_access: user_info.model_access,
        controller_access: user_info.controller_access,
        server_version: result.server_version.clone(),
        facades: facades.by_name(),
        address: String::new(),
    };
    Ok((info, facades))
}

/// The addresses a `redirection required` refusal names: from its `error-info`, or, when the
/// controller left that out (JAAS), from `Admin.RedirectInfo`. Neither is followed.
async fn redirected(rpc: &Rpc, refusal: ServerError, timeout: Duration) -> Error {
    let info = match refusal.info {
        Some(info) => Some(info),
        None => rpc
            .call(
                "Admin",
                3,
                "RedirectInfo",
                Value::Object(Default::default()),
                timeout,
            )
            .await
            .ok(),
    };
    let servers = info
        .and_then(|info| serde_json::from_value::<RedirectInfo>(info).ok())
        .map(|info| info.servers)
        .unwrap_or_default();
    let mut addresses: Vec<String> = Vec::new();
    for address in servers.iter().flatten().map(|hp| hp.address()) {
        if !addresses.contains(&address) {
            addresses.push(address);
        }
    }
    Error::Redirected { addresses }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn offered(pairs: &[(&str, &[u32])]) -> Vec<FacadeVersions> {
        pairs
            .iter()
            .map(|(name, versions)| FacadeVersions {
                name: (*name).into(),
                versions: versions.to_vec(),
            })
            .collect()
    }

    fn controller(application: &[u32]) -> Vec<FacadeVersions> {
        offered(&[
            ("Application", application),
            ("Charms", &[5, 6, 7]),
            ("Client", &[6, 7, 8]),
            ("Pinger", &[1]),
            ("Resources", &[3]),
            ("Uniter", &[19]),
        ])
    }

    #[test]
    fn negotiation_takes_the_highest_common_version() {
        let facades = negotiate(&controller(&[15, 16, 17, 18, 19, 20, 21, 22])).expect("ok");
        assert_eq!(facades.version(Facade::Application), 22);
        assert_eq!(facades.version(Facade::Client), 8);
        assert_eq!(facades.version(Facade::Charms), 7);
        assert_eq!(facades.version(Facade::Resources), 3);
        assert_eq!(facades.version(Facade::Pinger), 1);
    }

    #[test]
    fn a_3_6_0_controller_gets_application_20() {
        let facades = negotiate(&controller(&[15, 16, 17, 18, 19, 20])).expect("ok");
        assert_eq!(facades.version(Facade::Application), 20);
    }

    #[test]
    fn a_missing_facade_is_named_with_both_version_sets() {
        let err = negotiate(&controller(&[15, 16, 17, 18])).expect_err("too old");
        assert_eq!(
            err.to_string(),
            "the controller does not offer facade Application in a version this client \
             supports (19-22); offered: 15-18"
        );
        let none = negotiate(&offered(&[("Application", &[22])])).expect_err("no Charms");
        assert!(
            matches!(&none, Error::FacadeMissing { facade, offered, .. }
                if facade == "Charms" && offered == "none"),
            "{none:?}"
        );
    }

    fn result(value: serde_json::Value) -> LoginResult {
        serde_json::from_value(value).expect("decodes")
    }

    #[test]
    fn successful_login_yields_user_model_and_versions() {
        let r = result(json!({
            "servers": [[{"value": "127.0.0.1", "type": "ipv4", "scope": "local-cloud", "port": 17070}]],
            "model-tag": "model-0b5d6f5e-1111-4222-8333-444455556666",
            "controller-tag": "controller-7c1e2d3f-aaaa-4bbb-8ccc-ddddeeeeffff",
            "user-info": {"display-name": "", "identity": "user-migrator",
                          "controller-access": "login", "model-access": "admin"},
            "facades": [{"name": "Application", "versions": [15, 16, 17, 18, 19, 20, 21, 22]},
                        {"name": "Client", "versions": [6, 7, 8]},
                        {"name": "Charms", "versions": [5, 6, 7]},
                        {"name": "Pinger", "versions": [1]},
                        {"name": "Resources", "versions": [3]}],
            "server-version": "3.6.11"
        }));
        let (info, _) = interpret(&r, "migrator").expect("logged in");
        assert_eq!(info.user, "migrator");
        assert_eq!(info.model_uuid, "0b5d6f5e-1111-4222-8333-444455556666");
        assert_eq!(info.model_access, "admin");
        assert_eq!(info.server_version, "3.6.11");
        assert_eq!(info.facades.get("Application"), Some(&22));
    }

    #[test]
    fn discharge_required_is_a_failed_login() {
        let r = result(json!({"bakery-discharge-required": {"c": "x"},
            "discharge-required-error": "login with macaroons required"}));
        let err = interpret(&r, "migrator").expect_err("refused");
        assert_eq!(
            err.to_string(),
            "login failed: login with macaroons required"
        );
        assert!(err.is_unauthorized());
    }

    #[test]
    fn describe_versions_reads_naturally() {
        assert_eq!(describe_versions(&[19, 20, 21, 22]), "19-22");
        assert_eq!(describe_versions(&[8]), "8");
        assert_eq!(describe_versions(&[17, 19, 20]), "17, 19, 20");
        assert_eq!(describe_versions(&[]), "none");
    }
}
