//! `ckf-migrator demo`: the real migration and verify, run against the built-in CKF twin.
//!
//! The twin (ckf-sim) serves a Juju controller, a Kubernetes API and the ingress on loopback, as a
//! CKF 1.11 deployment in sidecar mode would. The demo points the same engine and the same clients
//! a real run uses at it, so what scrolls by is exactly what an operator would see.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use ckf_sim::{ADMIN_USER, Sim, Twin};

use super::{DemoArgs, key_values, progress};
use crate::session::{Session, Target};
use crate::{cluster, juju, migrate, verify};

/// Runs the demo.
pub async fn run(args: &DemoArgs) -> ExitCode {
    match demo(args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn demo(args: &DemoArgs) -> anyhow::Result<bool> {
    if !(args.speed.is_finite() && args.speed > 0.0) {
        anyhow::bail!("--speed must be a positive number, got {}", args.speed);
    }
    let twin = Twin::ckf_1_11().timing(1.0 / args.speed);
    eprintln!(
        "Starting a twin of Charmed Kubeflow 1.11 on MicroK8s in Istio sidecar mode ({} applications, profiles {}), settling {}x faster than real life...",
        twin.bundle().applications.len(),
        twin.profile_names().join(", "),
        args.speed
    );
    let sim = Sim::start(twin).await?;
    let dir = std::env::temp_dir().join(format!("ckf-migrator-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let kubeconfig = sim.write_kubeconfig(&dir)?;
    eprintln!(
        "  Juju controller  wss://{}/model/{}/api\n  Kubernetes API   {}\n  ingress          {}\n",
        sim.juju_address(),
        sim.model_uuid(),
        sim.kube_url(),
        sim.ingress_url()
    );

    let target = Target {
        juju: juju::Credentials {
            addresses: vec![sim.juju_address()],
            model_uuid: sim.model_uuid().to_string(),
            username: ADMIN_USER.into(),
            password: juju::Password::new(sim.admin_password()),
            ca_cert_pem: sim.juju_ca_pem().to_string(),
        },
        cluster: cluster::Source::Kubeconfig(kubeconfig),
        model_name: sim.model_name().to_string(),
        connect: juju::ConnectOptions::default(),
    };
    let result = run_against(&sim, &target, args).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn run_against(sim: &Sim, target: &Target, args: &DemoArgs) -> anyhow::Result<bool> {
    let session = Session::open(target).await?;
    let options = migrate::Options {
        holder: "ckf-migrator-demo".into(),
        // The twin's first profile runs a notebook and an InferenceService with sidecars: recycle
        // them too, so the run ends fully on ambient.
        restart_workloads: true,
        // Observe often: the twin settles in a fraction of real time.
        poll_interval: Duration::from_secs_f64((2.0 / args.speed).clamp(0.02, 5.0)),
        ..migrate::Options::default()
    };
    eprintln!("$ ckf-migrator migrate-to-ambient --platform auto --restart-workloads");
    let (events, rx) = migrate::Events::channel();
    let display = progress::Display::for_stderr(Instant::now());
    let progress = tokio::spawn(progress::show(rx, display));
    let report = migrate::run(&session, &options, &events).await;
    drop(events);
    let _ = tokio::time::timeout(Duration::from_secs(5), progress).await;
    println!("{}", key_values(&report.results()));
    if let migrate::Outcome::Failed { step, error } = &report.outcome {
        eprintln!("error: migration failed at {step}: {error}");
        session.juju.close().await;
        return Ok(false);
    }

    eprintln!("$ ckf-migrator verify");
    let verification = verify::run(&session, &verify::Options::default()).await;
    println!("{}", verification.table());
    let stats = sim.model().requests();
    eprintln!(
        "The twin's controller answered {} Juju requests ({} of them changes) and its Kubernetes API {} requests; the migration took {:.1} s.",
        stats.total,
        stats.writes,
        sim.store().requests().count(),
        report.duration.as_secs_f64()
    );
    session.juju.close().await;
    Ok(!verification.failed())
}
