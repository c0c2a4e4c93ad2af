//! PLACEHOLDER — the lead replaces this file: `ckf-migrator demo` runs the migration and verify
//! against the built-in CKF twin (ckf-sim) on loopback.
//!
//! Contract: `cli::run` calls [`run`] with the parsed flags, inside the CLI's tokio runtime, and
//! returns its exit code. Compiled only with the `demo` feature (the default; the charm build
//! leaves it out).

use std::process::ExitCode;

use super::DemoArgs;

/// Runs the demo. Placeholder: says so and fails.
pub async fn run(_args: &DemoArgs) -> ExitCode {
    eprintln!("the demo twin is not wired yet");
    ExitCode::FAILURE
}
