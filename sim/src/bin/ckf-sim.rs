//! `ckf-sim`: serve a CKF twin until stopped, so a person can point ckf-migrator's CLI or kubectl
//! at it.
//!
//! ```text
//! ckf-sim [--migrated | --half-migrated] [--canonical-k8s] [--without-katib] [--without-kserve]
//!         [--serverless-isvc] [--large] [--untrusted] [--juju-3.6.0] [--speed FACTOR] [--dir DIR]
//! ```
//!
//! It writes the files a client needs into `--dir` (default: a new directory under the system's
//! temporary directory) and prints the commands that use them.

use std::path::PathBuf;
use std::process::ExitCode;

use ckf_sim::{ADMIN_USER, Sim, Twin};

const USAGE: &str = "usage: ckf-sim [--migrated | --half-migrated] [--canonical-k8s] [--without-katib] [--without-kserve] [--serverless-isvc] [--large] [--untrusted] [--juju-3.6.0] [--speed FACTOR] [--dir DIR]";

struct Args {
    twin: Twin,
    dir: Option<PathBuf>,
}

fn parse(args: impl Iterator<Item = String>) -> Result<Args, String> {
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
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(Args { twin, dir })
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::FAILURE;
        }
    };
    match serve(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: Args) -> anyhow::Result<()> {
    let sim = Sim::start(args.twin).await?;
    let dir = match args.dir {
        Some(dir) => dir,
        None => std::env::temp_dir().join(format!("ckf-sim-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir)?;
    let kubeconfig = sim.write_kubeconfig(&dir)?;
    let ca = dir.join("juju-ca.pem");
    std::fs::write(&ca, sim.juju_ca_pem())?;
    let password = dir.join("juju-password");
    std::fs::write(&password, sim.admin_password())?;
    let connection = format!(
        "--controller {} --model-uuid {} --ca-cert {} --username {ADMIN_USER} --password-file {} --kubeconfig {}",
        sim.juju_address(),
        sim.model_uuid(),
        ca.display(),
        password.display(),
        kubeconfig.display()
    );
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
    println!("  files            {}", dir.display());
    println!();
    println!(
        "  kubectl --kubeconfig {} get pods -A",
        kubeconfig.display()
    );
    println!("  ckf-migrator plan {connection}");
    println!("  ckf-migrator migrate-to-ambient {connection}");
    println!("  ckf-migrator verify {connection}");
    println!();
    println!("Press Ctrl-C to stop.");
    tokio::signal::ctrl_c().await?;
    drop(sim);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Args, String> {
        parse(list.iter().map(|s| s.to_string()))
    }

    #[test]
    fn flags_choose_the_fixture() {
        let parsed = args(&["--migrated", "--canonical-k8s", "--speed", "100"]).expect("valid");
        assert_eq!(
            parsed.twin,
            Twin::ckf_1_11().migrated().canonical_k8s().timing(0.01)
        );
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
}
