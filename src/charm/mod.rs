//! Charm mode: Juju runs this binary as `dispatch`; `JUJU_DISPATCH_PATH` says which hook or action.

/// Runs the hook or action named by `JUJU_DISPATCH_PATH`. Returns the process exit code.
pub fn main() -> std::process::ExitCode {
    std::process::ExitCode::SUCCESS
}
