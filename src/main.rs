//! Chooses the mode: Juju sets `JUJU_DISPATCH_PATH` when it runs the binary as the charm's
//! `dispatch`; otherwise it is the CLI.

use std::process::ExitCode;

fn main() -> ExitCode {
    if std::env::var_os("JUJU_DISPATCH_PATH").is_some() {
        ckf_migrator::charm::main()
    } else {
        ckf_migrator::cli::main()
    }
}
