//! `ckf-hook-tool`: every fake Juju hook tool in one executable.
//!
//! A test links `action-get`, `status-set`, … to this binary in a directory on `PATH`; it looks at
//! the name it was called by (argv\[0\]'s basename), runs that tool against the state file named
//! by `CKF_HOOK_TOOLS_STATE` (see `ckf_sim::hooktools`), prints what the tool prints and exits
//! with its code, as Juju's tools do.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use ckf_sim::hooktools::{STATE_ENV, run_with_state_file};

fn main() -> ExitCode {
    let mut argv = std::env::args();
    let called_as = argv.next().unwrap_or_default();
    let tool = Path::new(&called_as)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let args: Vec<String> = argv.collect();
    let Some(state_path) = std::env::var_os(STATE_ENV) else {
        eprintln!("ERROR {STATE_ENV} is not set: ckf-hook-tool needs the path of its state file");
        return ExitCode::from(1);
    };
    match run_with_state_file(Path::new(&state_path), &tool, &args) {
        Ok(outcome) => {
            // A closed pipe on the caller's side is the caller's business; the state is saved.
            let _ = std::io::stdout().write_all(outcome.stdout.as_bytes());
            let _ = std::io::stderr().write_all(outcome.stderr.as_bytes());
            ExitCode::from(u8::try_from(outcome.code).unwrap_or(1))
        }
        Err(err) => {
            eprintln!("ERROR {err}");
            ExitCode::from(1)
        }
    }
}
