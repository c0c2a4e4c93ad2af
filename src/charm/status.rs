//! Every workload status the charm shows, in one place, and which of them a hook may replace.
//!
//! The charm is bundled with CKF, whose operators wait for every unit to be `active`; so a charm
//! that is merely not configured is `active` with a message that says what to do, and `blocked`
//! means something is broken, with the exact fix. Hooks re-derive what they can cheaply; an
//! action's outcome (migrated, failed, verified) is something a hook cannot re-derive, so a hook
//! whose checks pass leaves such a status in place ([`keep_on_ready`]).

use jiff::Timestamp;

use super::hooktools::{CurrentStatus, WorkloadStatus};

/// All good and configured: the charm can run its actions.
pub const READY: &str = "ready; run migrate-to-ambient";

/// Not configured yet: not an error.
pub const NOT_CONFIGURED: &str = "ready; set juju-credentials to run migrate-to-ambient or verify";

const MIGRATED_PREFIX: &str = "migrated to ambient at ";
const MIGRATION_FAILED_PREFIX: &str = "migration failed at ";
const VERIFY_PREFIX: &str = "ready; verify ";
const RESTORED_PREFIX: &str = "restored to backup ";
const RESTORE_FAILED_PREFIX: &str = "restore failed at ";
const LOGIN_FAILED_PREFIX: &str = "juju-credentials: ";

/// `active`: ready to run.
pub fn ready() -> WorkloadStatus {
    WorkloadStatus::active(READY)
}

/// `active`: set `juju-credentials` first.
pub fn not_configured() -> WorkloadStatus {
    WorkloadStatus::active(NOT_CONFIGURED)
}

/// `blocked`: the service account cannot list nodes cluster-wide.
pub fn missing_trust(app: &str) -> WorkloadStatus {
    WorkloadStatus::blocked(format!(
        "missing trust: run `juju trust {app} --scope=cluster`"
    ))
}

/// `blocked`: the Kubernetes API could not be asked.
pub fn cluster_unreachable(error: &str) -> WorkloadStatus {
    WorkloadStatus::blocked(format!("cannot reach the Kubernetes API: {error}"))
}

/// `blocked`: Juju refused the credentials or could not be reached with them. `error` is the
/// Juju client's message (which never contains the password).
pub fn login_failed(error: &str, fix: &str) -> WorkloadStatus {
    WorkloadStatus::blocked(format!("{LOGIN_FAILED_PREFIX}{error}; {fix}"))
}

/// The fix for a failed login with the credentials in `secret_uri`: a command that corrects
/// them, or where to look when the controller could not be reached.
pub fn login_fix(error: &crate::juju::Error, secret_uri: &str) -> String {
    if error.is_unauthorized() {
        format!(
            "run `juju update-secret {secret_uri} username=<user> password=<password>` with a model admin's password"
        )
    } else {
        format!(
            "check api-addresses and ca-cert in secret {secret_uri} against `juju show-controller`"
        )
    }
}

/// `active` after a migration that ended with every fact true.
pub fn migrated(at: Timestamp) -> WorkloadStatus {
    WorkloadStatus::active(format!("{MIGRATED_PREFIX}{}; run verify", utc(at)))
}

/// `blocked` after a migration that stopped.
/// `error` ends with the command that resumes the run.
pub fn migration_failed(step: &str, error: &str) -> WorkloadStatus {
    WorkloadStatus::blocked(format!("{MIGRATION_FAILED_PREFIX}{step}: {error}"))
}

/// `blocked` after a migration whose changes are done but whose verify fails: the failing checks
/// and the command that finishes the job.
pub fn migration_incomplete(report: &crate::migrate::Report) -> WorkloadStatus {
    WorkloadStatus::blocked(format!(
        "migration incomplete: {}",
        report.outcome.error().unwrap_or("verify fails")
    ))
}

/// `active` after a restore that made the model equal to `backup`.
pub fn restored(at: Timestamp, backup: &str) -> WorkloadStatus {
    WorkloadStatus::active(format!("{RESTORED_PREFIX}{backup} at {}", utc(at)))
}

/// `blocked` after a restore that stopped. `error` ends with the command that resumes it.
pub fn restore_failed(step: &str, error: &str) -> WorkloadStatus {
    WorkloadStatus::blocked(format!("{RESTORE_FAILED_PREFIX}{step}: {error}"))
}

/// `active` after verify: the charm is fine whatever the checks found; the message says what
/// they found.
pub fn verified(at: Timestamp, failed_checks: usize) -> WorkloadStatus {
    if failed_checks == 0 {
        WorkloadStatus::active(format!("{VERIFY_PREFIX}passed at {}", utc(at)))
    } else {
        WorkloadStatus::active(format!(
            "{VERIFY_PREFIX}found {failed_checks} failing check{} at {}; see the verify action's results",
            if failed_checks == 1 { "" } else { "s" },
            utc(at)
        ))
    }
}

/// `maintenance` while an action runs.
pub fn running(action: &str) -> WorkloadStatus {
    WorkloadStatus::maintenance(format!("running {action}"))
}

/// `blocked` after a panic in a hook: a bug, reported rather than retried forever.
pub fn internal_error(hook: &str, message: &str) -> WorkloadStatus {
    WorkloadStatus::blocked(format!(
        "internal error in the {hook} hook: {message}; please report it"
    ))
}

fn utc(at: Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

/// How deep a hook looked before deciding the unit is ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// Trust and a readable secret, no Juju login (install, update-status, leader-elected).
    Cheap,
    /// Also logged in to Juju with the credentials.
    Login,
}

/// Whether a hook whose checks all passed should leave `current` as it is instead of setting
/// [`ready`]: an action's outcome stays until the next action; a login failure stays until a
/// hook that logs in says otherwise.
pub fn keep_on_ready(current: &CurrentStatus, depth: Depth) -> bool {
    let message = current.message.as_str();
    let action_outcome = (current.status == "active"
        && (message.starts_with(MIGRATED_PREFIX)
            || message.starts_with(VERIFY_PREFIX)
            || message.starts_with(RESTORED_PREFIX)))
        || (current.status == "blocked"
            && (message.starts_with(MIGRATION_FAILED_PREFIX)
                || message.starts_with(RESTORE_FAILED_PREFIX)));
    let login_failure = current.status == "blocked" && message.starts_with(LOGIN_FAILED_PREFIX);
    action_outcome || (depth == Depth::Cheap && login_failure)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::charm::hooktools::StatusKind;

    fn current(status: &WorkloadStatus) -> CurrentStatus {
        CurrentStatus {
            status: status.kind.as_str().to_string(),
            message: status.message.clone(),
        }
    }

    #[test]
    fn the_migrated_status_names_the_utc_time() {
        let at: Timestamp = "2026-05-01T10:20:30Z".parse().expect("timestamp");

        let status = migrated(at);

        assert_eq!(status.kind, StatusKind::Active);
        assert_eq!(
            status.message,
            "migrated to ambient at 2026-05-01 10:20 UTC; run verify"
        );
    }

    #[test]
    fn action_outcomes_survive_any_hook() {
        let at = Timestamp::UNIX_EPOCH;
        for status in [
            migrated(at),
            migration_failed("refresh: kfp-api", "boom"),
            verified(at, 0),
            verified(at, 2),
            restored(at, "ckf-migrator-backup-20261203-072902"),
            restore_failed("refresh", "boom"),
        ] {
            assert!(keep_on_ready(&current(&status), Depth::Cheap), "{status}");
            assert!(keep_on_ready(&current(&status), Depth::Login), "{status}");
        }
    }

    #[test]
    fn a_login_failure_survives_only_hooks_that_do_not_log_in() {
        let status = login_failed(
            "login failed: invalid entity name or password",
            "run `juju update-secret secret:x username=<user> password=<password>`",
        );

        assert!(keep_on_ready(&current(&status), Depth::Cheap));
        assert!(!keep_on_ready(&current(&status), Depth::Login));
    }

    #[test]
    fn a_refused_login_says_which_command_fixes_the_secret() {
        let refused = crate::juju::Error::Login {
            message: "invalid entity name or password".into(),
            code: Some(crate::juju::code::UNAUTHORIZED.into()),
        };
        let unreachable = crate::juju::Error::Connect {
            attempts: vec!["127.0.0.1:17070: connection refused".into()],
        };

        assert_eq!(
            login_fix(&refused, "secret:abc"),
            "run `juju update-secret secret:abc username=<user> password=<password>` with a model admin's password"
        );
        assert!(login_fix(&unreachable, "secret:abc").contains("api-addresses"));
    }

    #[test]
    fn problems_a_cheap_check_can_see_are_replaced() {
        for status in [
            missing_trust("ckf-migrator"),
            not_configured(),
            ready(),
            running("verify"),
            WorkloadStatus::blocked("juju-credentials secret secret:x cannot be read"),
        ] {
            assert!(!keep_on_ready(&current(&status), Depth::Cheap), "{status}");
        }
        assert!(!keep_on_ready(&CurrentStatus::default(), Depth::Cheap));
    }
}
