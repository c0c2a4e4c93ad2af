//! The CLI's progress as an operator sees it: the real `ckf-migrator migrate-to-ambient` run
//! against the twin, once with stderr piped (plain stamped lines, no escapes) and once on a
//! pseudo-terminal made by util-linux `script` (the live status line, cleared before the result).

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use ckf_sim::{ADMIN_USER, Sim, Twin};

/// Every wait in these tests is bounded by this.
const LIMIT: Duration = Duration::from_secs(120);

/// A running twin and the files the CLI's flags point at.
struct Running {
    sim: Sim,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
}

async fn start(twin: Twin) -> Running {
    let sim = tokio::time::timeout(LIMIT, Sim::start(twin))
        .await
        .expect("the twin starts in time")
        .expect("the twin starts");
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = sim.write_kubeconfig(dir.path()).expect("kubeconfig");
    std::fs::write(dir.path().join("ca.pem"), sim.juju_ca_pem()).expect("ca");
    std::fs::write(dir.path().join("password"), sim.admin_password()).expect("password");
    Running {
        sim,
        dir,
        kubeconfig,
    }
}

impl Running {
    /// `ckf-migrator migrate-to-ambient` against the twin, polling fast, as argv.
    fn migrate_argv(&self) -> Vec<String> {
        let path = |p: &Path| p.display().to_string();
        vec![
            env!("CARGO_BIN_EXE_ckf-migrator").to_string(),
            "migrate-to-ambient".into(),
            // The twin's notebook keeps its sidecar otherwise, and the run ends `incomplete`.
            "--restart-workloads".into(),
            "--controller".into(),
            self.sim.juju_address(),
            "--model-uuid".into(),
            self.sim.model_uuid().to_string(),
            "--model".into(),
            self.sim.model_name().to_string(),
            "--ca-cert".into(),
            path(&self.dir.path().join("ca.pem")),
            "--username".into(),
            ADMIN_USER.into(),
            "--password-file".into(),
            path(&self.dir.path().join("password")),
            "--kubeconfig".into(),
            path(&self.kubeconfig),
            "--poll-interval".into(),
            "0.02".into(),
        ]
    }
}

async fn finished(run: impl Future<Output = std::io::Result<Output>>) -> Output {
    tokio::time::timeout(LIMIT, run)
        .await
        .expect("the CLI finishes in time")
        .expect("the CLI runs")
}

/// The seconds of a line's `[  12.3s] ` stamp, if it starts with one.
fn stamp_of(line: &str) -> Option<f64> {
    let rest = line.strip_prefix('[')?;
    let (inside, after) = rest.split_once("s] ")?;
    if inside.len() != 6 || after.is_empty() {
        return None;
    }
    let (whole, tenth) = inside.trim_start().split_once('.')?;
    if tenth.len() != 1 || whole.is_empty() {
        return None;
    }
    inside.trim_start().parse().ok()
}

#[test]
fn the_stamp_parser_rejects_what_is_not_a_stamp() {
    assert_eq!(stamp_of("[  12.3s] phase 3/9: x"), Some(12.3));
    assert_eq!(stamp_of("[12.3s] phase"), None, "unaligned");
    assert_eq!(stamp_of("[  12.34s] x"), None);
    assert_eq!(stamp_of("phase 3/9: x"), None);
    assert_eq!(stamp_of("[  12.3s] "), None, "a stamp and nothing else");
}

#[tokio::test]
async fn piped_progress_is_one_stamped_line_per_event_without_escapes() {
    let twin = start(Twin::ckf_1_11()).await;
    let argv = twin.migrate_argv();

    let output = finished(
        tokio::process::Command::new(&argv[0])
            .args(&argv[1..])
            // A terminal type alone does not make a pipe a terminal.
            .env("TERM", "xterm-256color")
            .env_remove("CI")
            .env_remove("JUJU_DISPATCH_PATH")
            .output(),
    )
    .await;

    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("result: migrated"), "{stdout}");
    assert!(
        !stderr.contains('\x1b') && !stderr.contains('\r'),
        "no escapes or redraws on a pipe: {stderr:?}"
    );
    let lines: Vec<&str> = stderr.lines().collect();
    let mut last = 0.0;
    for line in &lines {
        let Some(at) = stamp_of(line) else {
            panic!("a line without an elapsed stamp: {line:?}\n{stderr}");
        };
        assert!(at >= last, "stamps go forward: {line:?}\n{stderr}");
        last = at;
    }
    for expected in [
        "] preflight: ",
        "] phase 1/9: ",
        "] start: juju ",
        "] done (",
    ] {
        assert!(
            lines.iter().any(|l| l.contains(expected)),
            "no {expected:?} line\n{stderr}"
        );
    }
    let phases = lines.iter().filter(|l| l.contains("] phase ")).count();
    assert_eq!(phases, 9, "one line per phase\n{stderr}");
}

/// What a terminal shows on the row where byte `at` of `screen` is written, before it: a small
/// emulation of carriage return, erase-line (`ESC [ 2 K`) and overwriting; other escapes are
/// skipped.
fn row_before(screen: &str, at: usize) -> String {
    let start = screen[..at].rfind('\n').map_or(0, |i| i + 1);
    let mut row: Vec<char> = Vec::new();
    let mut col = 0;
    let mut chars = screen[start..at].chars();
    while let Some(c) = chars.next() {
        match c {
            '\r' => col = 0,
            '\x1b' => {
                if chars.next() != Some('[') {
                    continue;
                }
                let mut params = String::new();
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        if c == 'K' && params == "2" {
                            row.clear();
                        }
                        break;
                    }
                    params.push(c);
                }
            }
            c => {
                while row.len() < col {
                    row.push(' ');
                }
                if col < row.len() {
                    row[col] = c;
                } else {
                    row.push(c);
                }
                col += 1;
            }
        }
    }
    row.into_iter().collect::<String>().trim().to_string()
}

#[test]
fn the_row_emulation_sees_a_bar_left_on_screen() {
    let cleared = "[ 1.0s] x\n\u{2819} phase 9/9 \u{b7} 1/1 changes\r\x1b[2Kresult: migrated\n";
    let left = "[ 1.0s] x\n\u{2819} phase 9/9 \u{b7} 1/1 changesresult: migrated\n";

    assert_eq!(row_before(cleared, cleared.find("result").expect("r")), "");
    assert_eq!(
        row_before(left, left.find("result").expect("r")),
        "\u{2819} phase 9/9 \u{b7} 1/1 changes"
    );
}

/// `script` from util-linux, which runs a command on a pseudo-terminal.
fn script() -> Option<PathBuf> {
    ["/usr/bin/script", "/bin/script"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// `argv` as one `sh -c` string.
fn shell_words(argv: &[String]) -> String {
    argv.iter()
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test]
async fn on_a_terminal_a_live_status_line_runs_below_the_log_and_is_cleared_before_the_result() {
    let Some(script) = script() else {
        // Not ignored: without util-linux there is no pseudo-terminal to test on.
        eprintln!("skipped: util-linux `script` is not installed");
        return;
    };
    let twin = start(Twin::ckf_1_11()).await;
    let argv = twin.migrate_argv();

    let output = finished(
        tokio::process::Command::new(script)
            .args(["-qfec", &shell_words(&argv), "/dev/null"])
            .env("TERM", "xterm-256color")
            .env_remove("CI")
            .env_remove("NO_COLOR")
            .env_remove("JUJU_DISPATCH_PATH")
            .output(),
    )
    .await;

    let screen = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{screen}");
    // `phase 1/9 remove-istio-gateway · 0/1 changes · …`: ` · ` is only in the status line.
    assert!(
        screen.contains(" · ") && screen.contains(" changes"),
        "the live status line was drawn: {screen:?}"
    );
    let result = screen.find("result: migrated").expect("the result");
    assert_eq!(
        row_before(&screen, result),
        "",
        "the status line is cleared before the result is printed: {screen:?}"
    );
    for expected in ["] phase 1/9: ", "] done ("] {
        assert!(
            screen.contains(expected),
            "the log lines are kept above the bar: no {expected:?} in {screen:?}"
        );
    }
}
