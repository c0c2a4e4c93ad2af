//! Advice in the front end's own syntax: the engine says *what* to run again and with which
//! parameter; [`FrontEnd`] says how the operator types it.
//!
//! In charm mode that is `juju run ckf-migrator/0 migrate-to-ambient restart-workloads=true`; in
//! the CLI it is `ckf-migrator migrate-to-ambient --restart-workloads`. The engine never spells a
//! parameter itself, so a message can never send a CLI user to a `juju run` they cannot use, or
//! the reverse.

use std::fmt;

use crate::cluster::AccessError;

/// Which front end the operator is using, and what it needs to render a command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum FrontEnd {
    /// `juju run <unit> <action> key=value`.
    Charm {
        /// The unit that runs the actions, e.g. `ckf-migrator/0`.
        unit: String,
    },
    /// `ckf-migrator <command> --flag value`.
    #[default]
    Cli,
}

/// One parameter of an action (charm) or flag (CLI), e.g. `restart-workloads=true`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param<'a> {
    /// The action parameter's name, which is also the flag's name without `--`.
    pub name: &'a str,
    /// Its value; `true` becomes a bare flag in the CLI.
    pub value: &'a str,
}

/// Shorthand for a [`Param`].
pub fn param<'a>(name: &'a str, value: &'a str) -> Param<'a> {
    Param { name, value }
}

impl FrontEnd {
    /// The application's name (`ckf-migrator` from `ckf-migrator/0`), for `juju trust` and the
    /// like. The CLI has no application; the conventional name is used.
    pub fn application(&self) -> &str {
        match self {
            FrontEnd::Charm { unit } => unit.split('/').next().unwrap_or(unit),
            FrontEnd::Cli => "ckf-migrator",
        }
    }

    /// A parameter as this front end takes it: `restart-workloads=true` or `--restart-workloads`.
    pub fn param(&self, param: Param<'_>) -> String {
        match self {
            FrontEnd::Charm { .. } => format!("{}={}", param.name, param.value),
            FrontEnd::Cli if param.value == "true" => format!("--{}", param.name),
            FrontEnd::Cli => format!("--{} {}", param.name, param.value),
        }
    }

    /// The command that runs `action` (`migrate-to-ambient`, `verify`) with `params`.
    ///
    /// The CLI form says "with the same connection flags": the engine does not know them, and
    /// the operator does.
    pub fn command(&self, action: &str, params: &[Param<'_>]) -> Command {
        let mut line = match self {
            FrontEnd::Charm { unit } => format!("juju run {unit} {action}"),
            FrontEnd::Cli => format!("ckf-migrator {action}"),
        };
        for p in params {
            line.push(' ');
            line.push_str(&self.param(*p));
        }
        Command {
            line,
            same_flags: matches!(self, FrontEnd::Cli),
        }
    }

    /// How to give the migrator access to the cluster: `juju trust` for the charm, the
    /// kubeconfig's user for the CLI.
    pub fn cluster_access_fix(&self) -> String {
        match self {
            FrontEnd::Charm { .. } => {
                format!("run `juju trust {} --scope=cluster`", self.application())
            }
            FrontEnd::Cli => {
                "use a kubeconfig (--kubeconfig or KUBECONFIG) whose user is a cluster admin"
                    .to_string()
            }
        }
    }

    /// How to fix a client that cannot reach the API server or fails its TLS handshake: the
    /// kubeconfig in the CLI; in a pod, whose address and CA Kubernetes provides, the cluster.
    pub fn cluster_connection_fix(&self) -> String {
        match self {
            FrontEnd::Charm { unit } => format!(
                "the pod of {unit} cannot use the cluster's API server: check that the cluster is healthy (`kubectl get --raw /readyz`) and that nothing blocks the pod's traffic to it"
            ),
            FrontEnd::Cli => {
                "check the server address and CA in the kubeconfig (--kubeconfig or KUBECONFIG)"
                    .to_string()
            }
        }
    }

    /// What to do about a failed [`crate::cluster::Cluster::check_access`]: refused credentials
    /// are a matter of access ([`FrontEnd::cluster_access_fix`]); anything else, of where the
    /// client points ([`FrontEnd::cluster_connection_fix`]).
    pub fn access_error_fix(&self, error: &AccessError) -> String {
        if error.is_refused() {
            self.cluster_access_fix()
        } else {
            self.cluster_connection_fix()
        }
    }
}

/// A command for the operator to run, rendered as `` `line` `` (plus "with the same connection
/// flags" in the CLI).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    line: String,
    same_flags: bool,
}

impl Command {
    /// The bare command line.
    pub fn line(&self) -> &str {
        &self.line
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`", self.line)?;
        if self.same_flags {
            f.write_str(" with the same connection flags")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::AccessCause;

    fn charm() -> FrontEnd {
        FrontEnd::Charm {
            unit: "ckf-migrator/0".into(),
        }
    }

    #[test]
    fn a_rerun_is_juju_run_in_charm_mode_and_flags_in_the_cli() {
        let params = [
            param("restart-workloads", "true"),
            param("platform", "canonical-k8s"),
        ];

        assert_eq!(
            charm().command("migrate-to-ambient", &params).to_string(),
            "`juju run ckf-migrator/0 migrate-to-ambient restart-workloads=true platform=canonical-k8s`"
        );
        assert_eq!(
            FrontEnd::Cli
                .command("migrate-to-ambient", &params)
                .to_string(),
            "`ckf-migrator migrate-to-ambient --restart-workloads --platform canonical-k8s` with the same connection flags"
        );
    }

    #[test]
    fn cluster_access_is_trust_for_the_charm_and_the_kubeconfig_for_the_cli() {
        let unit = FrontEnd::Charm {
            unit: "migrator/3".into(),
        };
        assert_eq!(
            unit.cluster_access_fix(),
            "run `juju trust migrator --scope=cluster`"
        );
        assert!(FrontEnd::Cli.cluster_access_fix().contains("--kubeconfig"));
    }

    #[test]
    fn an_unreachable_cluster_is_the_kubeconfig_in_the_cli_and_the_cluster_in_a_pod() {
        let unreachable = AccessError {
            address: "https://127.0.0.1:1".into(),
            cause: AccessCause::Unreachable("connection refused".into()),
        };

        assert_eq!(
            FrontEnd::Cli.access_error_fix(&unreachable),
            "check the server address and CA in the kubeconfig (--kubeconfig or KUBECONFIG)"
        );
        let charm = charm().access_error_fix(&unreachable);
        assert!(charm.contains("pod of ckf-migrator/0"), "{charm}");
        assert!(!charm.contains("kubeconfig"), "{charm}");
    }

    #[test]
    fn refused_credentials_are_a_matter_of_access() {
        let unauthorized = AccessError {
            address: "https://127.0.0.1:1".into(),
            cause: AccessCause::Unauthorized,
        };

        assert_eq!(
            charm().access_error_fix(&unauthorized),
            "run `juju trust ckf-migrator --scope=cluster`"
        );
        assert_eq!(
            FrontEnd::Cli.access_error_fix(&unauthorized),
            FrontEnd::Cli.cluster_access_fix()
        );
    }
}
