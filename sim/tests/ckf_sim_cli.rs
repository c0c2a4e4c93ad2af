//! The `ckf-sim` executable: its help, the files it writes and how it cleans up when stopped.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_ckf-sim");
const LIMIT: Duration = Duration::from_secs(60);

/// Every flag ckf-sim accepts.
const FLAGS: [&str; 13] = [
    "--migrated",
    "--half-migrated",
    "--canonical-k8s",
    "--without-katib",
    "--without-kserve",
    "--serverless-isvc",
    "--large",
    "--untrusted",
    "--juju-3.6.0",
    "--speed",
    "--dir",
    "--help",
    "-h",
];

#[test]
fn help_explains_every_flag_and_exits_0() {
    let out = Command::new(BIN)
        .arg("--help")
        .output()
        .expect("ckf-sim runs");

    assert!(out.status.success(), "exit {:?}", out.status.code());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in FLAGS {
        let line = help
            .lines()
            .find(|l| l.split([' ', ',']).any(|word| word == flag))
            .unwrap_or_else(|| panic!("--help does not list {flag}:\n{help}"));
        let explained = line.trim_start().trim_start_matches(flag).trim();
        assert!(
            explained.split_whitespace().count() >= 2,
            "{flag} is listed without an explanation: {line:?}"
        );
    }
    assert!(out.stderr.is_empty());
}

#[test]
fn an_unknown_flag_is_refused_with_a_pointer_to_help() {
    let out = Command::new(BIN)
        .arg("--fast")
        .output()
        .expect("ckf-sim runs");

    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown argument \"--fast\""), "{err}");
    assert!(err.contains("ckf-sim --help"), "{err}");
}

/// A running ckf-sim and what its banner said.
struct Running {
    child: Child,
    banner: Vec<String>,
    dir: PathBuf,
}

impl Running {
    fn start(extra: &[&str]) -> Running {
        let mut child = Command::new(BIN)
            .args(["--speed", "1000"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("ckf-sim starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + LIMIT;
        let mut banner = Vec::new();
        while !banner
            .iter()
            .any(|l: &String| l.starts_with("Press Ctrl-C"))
        {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => banner.push(line),
                Err(e) => {
                    let _ = child.kill();
                    panic!("no banner from ckf-sim ({e}); so far: {banner:?}");
                }
            }
        }
        let dir = banner
            .iter()
            .find_map(|l| l.trim().strip_prefix("files"))
            .map(|d| PathBuf::from(d.trim()))
            .expect("the banner names the files' directory");
        Running { child, banner, dir }
    }

    /// Sends `signal` (e.g. "INT") and waits for the exit.
    fn stop_with(mut self, signal: &str) -> std::process::ExitStatus {
        let sent = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(sent.success());
        let deadline = Instant::now() + LIMIT;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("ckf-sim did not stop on SIG{signal}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // A test that failed half-way must not leave a twin running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[cfg(unix)]
#[test]
fn credentials_are_private_and_sigint_removes_the_directory() {
    let twin = Running::start(&[]);
    let dir = twin.dir.clone();

    let modes = (
        mode(&dir),
        mode(&dir.join("juju-password")),
        mode(&dir.join("kubeconfig")),
    );
    let status = twin.stop_with("INT");

    assert_eq!(modes, (0o700, 0o600, 0o600), "dir, password, kubeconfig");
    assert!(status.success(), "{status:?}");
    assert!(!dir.exists(), "{} is left behind", dir.display());
}

#[cfg(unix)]
#[test]
fn sigterm_removes_the_directory_too() {
    let twin = Running::start(&[]);
    let dir = twin.dir.clone();

    let status = twin.stop_with("TERM");

    assert!(status.success(), "{status:?}");
    assert!(!dir.exists(), "{} is left behind", dir.display());
}

#[cfg(unix)]
#[test]
fn a_given_directory_is_kept_but_the_files_go() {
    let parent = tempfile::tempdir().expect("temp dir");
    std::fs::write(parent.path().join("notes"), "mine").expect("a file of the user's");
    let twin = Running::start(&["--dir", &parent.path().display().to_string()]);

    let password = mode(&parent.path().join("juju-password"));
    let status = twin.stop_with("INT");

    assert_eq!(password, 0o600);
    assert!(status.success(), "{status:?}");
    let left: Vec<String> = std::fs::read_dir(parent.path())
        .expect("the directory stays")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    assert_eq!(left, ["notes"]);
}

#[cfg(unix)]
#[test]
fn the_banner_names_a_migrator_command_that_exists() {
    let twin = Running::start(&[]);

    let plan = twin
        .banner
        .iter()
        .find(|l| l.contains(" plan --controller "))
        .cloned()
        .expect("a plan command");
    twin.stop_with("INT");

    let program = plan.trim().split(" plan ").next().unwrap_or_default();
    if program != "cargo run --release --" {
        let path = PathBuf::from(program);
        assert!(path.is_absolute(), "{plan}");
        assert!(path.is_file(), "{plan}");
        assert_eq!(
            path.file_name().and_then(|n| n.to_str()),
            Some("ckf-migrator")
        );
    }
}
