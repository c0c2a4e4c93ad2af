//! The Admin facade (v3): Login with every outcome of juju-api.md §3, and RedirectInfo.
//!
//! Passwords are compared and never logged, echoed or stored in errors.

use serde_json::{Value, json};

use super::conn::{Call, Conn, LoginState, Route, checked_params};
use super::facades;
use crate::model::{Access, ApiError, code};

/// Handles a call to the Admin facade.
pub(crate) fn admin(conn: &Conn, call: &Call) -> Result<Value, ApiError> {
    if call.version != 3 {
        return Err(ApiError::new(
            code::NOT_SUPPORTED,
            "this version of Juju does not support login from old clients",
        ));
    }
    match call.method.as_str() {
        "Login" => {
            let params = checked_params(conn, call)?;
            login(conn, &params)
        }
        "RedirectInfo" => match conn.model.shared.faults().redirect.clone() {
            Some(redirect) => Ok(json!({
                "servers": [[host_port(&redirect.addr)]],
                "ca-cert": redirect.ca_cert,
            })),
            None => Err(ApiError::plain("not redirected")),
        },
        _ => Err(call.not_implemented()),
    }
}

fn host_port(addr: &std::net::SocketAddr) -> Value {
    json!({
        "value": addr.ip().to_string(),
        "type": if addr.is_ipv4() { "ipv4" } else { "ipv6" },
        "scope": "local-machine",
        "port": addr.port(),
    })
}

fn login(conn: &Conn, params: &Value) -> Result<Value, ApiError> {
    {
        let mut state = conn.login.lock().unwrap_or_else(|e| e.into_inner());
        if *state != LoginState::Anonymous {
            return Err(ApiError::plain("already logged in"));
        }
        *state = LoginState::InProgress;
    }
    let outcome = authenticate(conn, params);
    match &outcome {
        Ok(Some((name, access))) => conn.set_login(LoginState::User {
            name: name.clone(),
            access: *access,
        }),
        _ => conn.set_login(LoginState::Anonymous),
    }
    match outcome {
        Ok(Some((name, access))) => Ok(login_result(conn, &name, access)),
        Ok(None) => Ok(discharge_required(conn)),
        Err(err) => Err(err),
    }
}

/// `Ok(None)` means "no password: macaroon flow", which is a result, not an error.
fn authenticate(conn: &Conn, params: &Value) -> Result<Option<(String, Access)>, ApiError> {
    let invalid = || ApiError::new(code::UNAUTHORIZED, "invalid entity name or password");
    let tag = params.get("auth-tag").and_then(Value::as_str).unwrap_or("");
    let password = params
        .get("credentials")
        .and_then(Value::as_str)
        .unwrap_or("");
    let Some(name) = tag.strip_prefix("user-") else {
        return Err(invalid());
    };
    if password.is_empty() {
        return Ok(None);
    }
    let access = conn
        .model
        .authenticate(name, password)
        .ok_or_else(invalid)?;
    if conn.route == Route::Model {
        if access == Access::LoginOnly {
            return Err(ApiError::permission_denied());
        }
        if let Some(redirect) = conn.model.shared.faults().redirect.clone() {
            return Err(
                ApiError::new(code::REDIRECTION_REQUIRED, "redirection required").with_info(
                    json!({
                        "servers": [[host_port(&redirect.addr)]],
                        "ca-cert": redirect.ca_cert,
                        "controller-tag": redirect.controller_tag,
                        "controller-alias": redirect.controller_alias,
                    }),
                ),
            );
        }
    }
    Ok(Some((name.to_string(), access)))
}

fn login_result(conn: &Conn, name: &str, access: Access) -> Value {
    let config = conn.model.config();
    let list = match conn.route {
        Route::Model => facades::model_facades(config.version),
        _ => facades::controller_facades(),
    };
    let facades: Vec<Value> = list
        .into_iter()
        .map(|(name, versions)| json!({"name": name, "versions": versions}))
        .collect();
    let mut user_info = json!({
        "display-name": "",
        "identity": format!("user-{name}"),
        "controller-access": if access == Access::Admin { "superuser" } else { "login" },
        "model-access": "",
    });
    let mut result = json!({
        "servers": [[host_port(&conn.server_addr)]],
        "controller-tag": format!("controller-{}", config.controller_uuid),
        "facades": facades,
        "server-version": config.version.as_str(),
    });
    if conn.route == Route::Model {
        user_info["model-access"] = Value::String(access.as_str().to_string());
        result["model-tag"] = Value::String(format!("model-{}", config.uuid));
    }
    result["user-info"] = user_info;
    result
}

/// The bakery form a local user without a password gets: a macaroon to discharge, not an error.
/// The macaroon is shaped like a bakery v2 JSON macaroon; its content is made up.
fn discharge_required(conn: &Conn) -> Value {
    let location = format!("https://{}/auth", conn.server_addr);
    json!({
        "discharge-required": {
            "caveats": [{"cid": "time-before 2099-01-01T00:00:00Z"}],
            "location": "juju model",
            "identifier": "AwoQsim-login-macaroon",
            "signature": "6a5b0e1b4c3d2e1f00112233445566778899aabbccddeeff0011223344556677",
        },
        "bakery-discharge-required": {
            "c": [
                {"i": "time-before 2099-01-01T00:00:00Z"},
                {"i64": "AwoQc2ltLXRoaXJkLXBhcnR5", "v64": "c2ltLXZlcmlmaWNhdGlvbi1pZA", "l": location},
            ],
            "l": "juju model",
            "i64": "AwoQc2ltLWxvZ2luLW1hY2Fyb29u",
            "s64": "altOG0w9Lh8AESIzRFVmd4iZqrvM3e7_ABEiM0RVZnc",
        },
        "discharge-required-error": "verification failed: no macaroons",
    })
}
