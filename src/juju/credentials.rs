//! What it takes to log in to a model, with the password kept out of every print.

use std::fmt;

/// A Juju user's password. `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Wraps a password.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The password itself, for the login request only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

impl fmt::Display for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Where and as whom to log in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// Controller API addresses (`host:port`), tried in order.
    pub addresses: Vec<String>,
    /// Model UUID: the connection goes to `wss://ADDR/model/<uuid>/api`.
    pub model_uuid: String,
    /// Juju user name, without the `user-` prefix.
    pub username: String,
    /// The user's password.
    pub password: Password,
    /// The controller CA in PEM: the only root trusted.
    pub ca_cert_pem: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_never_prints() {
        let creds = Credentials {
            addresses: vec!["127.0.0.1:17070".into()],
            model_uuid: "uuid".into(),
            username: "migrator".into(),
            password: Password::new("hunter2-secret"),
            ca_cert_pem: String::new(),
        };
        let shown = format!("{creds:?} {} {:#?}", creds.password, creds);
        assert!(
            !shown.contains("hunter2-secret"),
            "password leaked: {shown}"
        );
    }
}
