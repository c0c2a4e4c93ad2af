//! `ckf-sim`: serve a CKF twin until stopped, so a person can point ckf-migrator's CLI or kubectl
//! at it. `ckf-sim --help` lists the flags.
//!
//! It writes the files a client needs (kubeconfig, Juju CA, password) into a private directory
//! and prints the commands that use them; the directory goes away when the twin stops, on Ctrl-C
//! (SIGINT), SIGTERM or SIGHUP alike.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use ckf_sim::{ADMIN_USER, Sim, Twin};

const HELP: &str = "\
ckf-sim: a twin of a Charmed Kubeflow 1.11 deployment, served on loopback until stopped: a Juju
controller (websocket API), a Kubernetes API server (HTTPS, for kubectl) and the ingress. It
prints the kubectl and ckf-migrator commands that reach it; stop it with Ctrl-C.

Usage: ckf-sim [OPTIONS]

How far the migration has gone (default: CKF 1.11 in sidecar mode, untouched):
      --migrated         fully migrated to Istio Ambient, every sidecar pod recycled
      --half-migrated    halfway through the guide: old Istio and Knative removed, new Istio
                         deployed, about half of the charms refreshed and related

The deployment:
      --canonical-k8s    on Canonical Kubernetes (Cilium, kube-system/cilium-config) instead
                         of MicroK8s
      --without-katib    without Katib (katib-controller, katib-db-manager, katib-ui, katib-db)
      --without-kserve   without KServe (no kserve-controller, no InferenceService CRD)
      --serverless-isvc  the profile's InferenceService is Serverless (served by Knative)
      --large            1,000 profile namespaces with 20 pods each (20,000 pods)
      --untrusted        ckf-migrator was deployed without --trust: its Kubernetes token only
                         reaches the model's namespace
      --juju-3.6.0       play a Juju 3.6.0 controller (Application facade up to 20) instead of
                         3.6.11

Running it:
      --speed FACTOR     how many times faster than real time changes settle (default 20).
                         At 1 a juju deploy takes 60 s, a refresh 30 s, and a pod of a
                         `kubectl rollout restart` 5 s to start
      --dir DIR          write the client files into DIR (created if missing) instead of a new
                         private temporary directory; the files are removed on exit either way
  -h, --help             print this help and exit
";

struct Args {
    twin: Twin,
    dir: Option<PathBuf>,
}

/// What the command line asks for.
enum Command {
    Serve(Args),
    Help,
}

fn parse(args: impl Iterator<Item = String>) -> Result<Command, String> {
    // Realistic delays, 20 times faster: what the demo uses.
    let mut twin = Twin::ckf_1_11().timing(0.05);
    let mut dir = None;
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--migrated" => twin = twin.migrated(),
            "--half-migrated" => twin = twin.half_migrated(),
            "--canonical-k8s" => twin = twin.canonical_k8s(),
            "--without-katib" => twin = twin.without_katib(),
            "--without-kserve" => twin = twin.without_kserve(),
            "--serverless-isvc" => twin = twin.with_serverless_isvc(),
            "--large" => twin = twin.large(),
            "--untrusted" => twin = twin.untrusted(),
            "--juju-3.6.0" => twin = twin.juju_3_6_0(),
            "--speed" => {
                let value = args
                    .next()
                    .ok_or("--speed needs a factor, e.g. --speed 20")?;
                match value.parse::<f64>() {
                    Ok(speed) if speed.is_finite() && speed > 0.0 => {
                        twin = twin.timing(1.0 / speed)
                    }
                    _ => return Err(format!("--speed must be a positive number, got {value:?}")),
                }
            }
            "--dir" => dir = Some(PathBuf::from(args.next().ok_or("--dir needs a directory")?)),
            "-h" | "--help" => return Ok(Command::Help),
            other => {
                return Err(format!(
                    "unknown argument {other:?}; `ckf-sim --help` lists the flags"
                ));
            }
        }
    }
    Ok(Command::Serve(Args { twin, dir }))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(Command::Serve(args)) => args,
        Ok(Command::Help) => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("ckf-sim: {message}");
            return ExitCode::from(2);
        }
    };
    match serve(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ckf-sim: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: Args) -> anyhow::Result<()> {
    // Signal handlers first: a signal that arrives while the twin starts still stops it cleanly.
    let stop = stop_signal()?;
    let sim = Sim::start(args.twin).await?;
    let files = match &args.dir {
        Some(dir) => Files::in_dir(dir)?,
        None => Files::private_temp_dir()?,
    };
    let kubeconfig = files.write("kubeconfig", sim.kubeconfig().as_bytes(), true)?;
    let ca = files.write("juju-ca.pem", sim.juju_ca_pem().as_bytes(), false)?;
    let password = files.write("juju-password", sim.admin_password().as_bytes(), true)?;
    let connection = format!(
        "--controller {} --model-uuid {} --ca-cert {} --username {ADMIN_USER} --password-file {} --kubeconfig {}",
        sim.juju_address(),
        sim.model_uuid(),
        ca.display(),
        password.display(),
        kubeconfig.display()
    );
    let migrator = migrator_command();
    println!(
        "ckf-sim: a CKF 1.11 twin is serving ({} applications)",
        sim.model().applications().len()
    );
    println!(
        "  Juju controller  wss://{}/model/{}/api (user {ADMIN_USER})",
        sim.juju_address(),
        sim.model_uuid()
    );
    println!("  Kubernetes API   {}", sim.kube_url());
    println!("  ingress          {}", sim.ingress_url());
    println!("  files            {}", files.dir.display());
    println!();
    println!(
        "  kubectl --kubeconfig {} get pods -A",
        kubeconfig.display()
    );
    if migrator.starts_with("cargo ") {
        println!("  (ckf-migrator is not built next to ckf-sim; run these from its source tree)");
    }
    for command in ["plan", "migrate-to-ambient", "verify"] {
        println!("  {migrator} {command} {connection}");
    }
    println!();
    println!("Press Ctrl-C to stop.");
    let signal = stop.await;
    drop(sim);
    let dir = files.dir.clone();
    drop(files);
    println!(
        "ckf-sim: stopped ({signal}); removed the files in {}",
        dir.display()
    );
    Ok(())
}

/// Resolves with the name of the first stop signal: SIGINT (Ctrl-C), SIGTERM or SIGHUP.
fn stop_signal() -> std::io::Result<impl std::future::Future<Output = &'static str>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        let mut hangup = signal(SignalKind::hangup())?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => "SIGINT",
                _ = terminate.recv() => "SIGTERM",
                _ = hangup.recv() => "SIGHUP",
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            // Without a handler the process would die without cleaning up; an error here only
            // means no Ctrl-C can be received, so stop then too.
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        })
    }
}

/// How to run ckf-migrator: the binary built next to this one (same cargo profile), else through
/// cargo from the source tree.
fn migrator_command() -> String {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(migrator_file_name())))
        .filter(|path| path.is_file());
    match beside {
        Some(path) => path.display().to_string(),
        None => "cargo run --release --".to_string(),
    }
}

fn migrator_file_name() -> String {
    format!("ckf-migrator{}", std::env::consts::EXE_SUFFIX)
}

/// The client files, removed on drop: the whole directory when ckf-sim made it, else only the
/// files it wrote.
struct Files {
    dir: PathBuf,
    /// ckf-sim created `dir`, so it removes it.
    owns_dir: bool,
    written: std::cell::RefCell<Vec<PathBuf>>,
}

impl Files {
    /// A new directory under the system's temporary directory, readable by this user only.
    fn private_temp_dir() -> std::io::Result<Files> {
        let base = std::env::temp_dir();
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        for attempt in 0..100u32 {
            let dir = base.join(format!(
                "ckf-sim-{}-{:08x}",
                std::process::id(),
                stamp.wrapping_add(attempt)
            ));
            match private_dir(&dir, false) {
                Ok(()) => {
                    return Ok(Files {
                        dir,
                        owns_dir: true,
                        written: Default::default(),
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(std::io::Error::other(format!(
            "could not create a new directory under {}",
            base.display()
        )))
    }

    /// `dir`, created (private, with its parents) if it does not exist.
    fn in_dir(dir: &Path) -> std::io::Result<Files> {
        let owns_dir = !dir.is_dir();
        if owns_dir {
            private_dir(dir, true)?;
        }
        Ok(Files {
            dir: dir.to_path_buf(),
            owns_dir,
            written: Default::default(),
        })
    }

    /// Writes `name`; `secret`: readable by this user only (mode 0600), as kubectl and juju keep
    /// credentials.
    fn write(&self, name: &str, contents: &[u8], secret: bool) -> std::io::Result<PathBuf> {
        use std::io::Write;
        let path = self.dir.join(name);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(if secret { 0o600 } else { 0o644 });
        }
        let mut file = options.open(&path)?;
        self.written.borrow_mut().push(path.clone());
        // The mode above applies only to a new file; an old one keeps its own.
        #[cfg(unix)]
        if secret {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        file.write_all(contents)?;
        Ok(path)
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        if self.owns_dir {
            if let Err(e) = std::fs::remove_dir_all(&self.dir) {
                eprintln!("ckf-sim: could not remove {}: {e}", self.dir.display());
            }
        } else {
            for path in self.written.borrow().iter() {
                if let Err(e) = std::fs::remove_file(path) {
                    eprintln!("ckf-sim: could not remove {}: {e}", path.display());
                }
            }
        }
    }
}

/// Creates `dir` (and its parents if `parents`), accessible by this user only.
fn private_dir(dir: &Path, parents: bool) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(parents);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Command, String> {
        parse(list.iter().map(|s| s.to_string()))
    }

    #[test]
    fn flags_choose_the_fixture() {
        let Ok(Command::Serve(parsed)) = args(&["--migrated", "--canonical-k8s", "--speed", "100"])
        else {
            panic!("valid flags")
        };
        assert_eq!(
            parsed.twin,
            Twin::ckf_1_11().migrated().canonical_k8s().timing(0.01)
        );
    }

    #[test]
    fn help_is_a_request_not_an_error() {
        assert!(matches!(args(&["--help"]), Ok(Command::Help)));
        assert!(matches!(args(&["--migrated", "-h"]), Ok(Command::Help)));
    }

    #[test]
    fn bad_flags_say_what_is_wrong() {
        assert!(
            args(&["--speed", "0"])
                .err()
                .is_some_and(|e| e.contains("positive number"))
        );
        assert!(
            args(&["--fast"])
                .err()
                .is_some_and(|e| e.contains("unknown argument \"--fast\""))
        );
    }

    #[test]
    fn the_help_lists_every_flag_the_parser_accepts() {
        let source = include_str!("ckf-sim.rs");
        let accepted: Vec<&str> = source
            .lines()
            .filter_map(|l| l.trim().strip_prefix('"'))
            .filter_map(|l| l.split_once("\" =>").map(|(flag, _)| flag))
            .flat_map(|f| f.split("\" | \""))
            .filter(|f| f.starts_with('-'))
            .collect();
        assert!(accepted.len() >= 12, "{accepted:?}");
        for flag in accepted {
            assert!(HELP.contains(flag), "--help does not explain {flag}");
        }
    }
}
