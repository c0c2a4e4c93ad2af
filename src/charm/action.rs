//! Actions: read and validate the parameters, read the credentials, run the engine, report.
//!
//! The failure policy is the ecosystem's (reference/charm-runtime.md §6.2): a failed action calls
//! `action-fail` with one sentence (what failed, why, what to do), sets `result=failed` and
//! `error`, and the process exits 0, so Juju keeps the message and the results. A panic is
//! caught and reported the same way ("internal error: …"); no action ends without a message.
//!
//! Progress: the engine's [`migrate::Event`]s are drained from their channel as they come, each
//! sent to `action-log` as one line (streamed by `juju run`) and to the unit log; a phase start
//! also sets `maintenance` with [`migrate::Event::status_message`]. The drain finishes before
//! the final status is set, so a late progress line cannot overwrite it.
//!
//! The engine sits behind [`Engine`] so that this reporting can be tested against a scripted
//! engine; [`LiveEngine`] is the real one (`Session::open` + `migrate::run` / `verify::run`).

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures::FutureExt;
use jiff::Timestamp;
use tokio::sync::mpsc;

use super::context::JujuContext;
use super::credentials::{self, CharmCredentials};
use super::hooktools::{HookTools, Runner, WorkloadStatus};
use super::params::{
    self, MIGRATE_TO_AMBIENT, MigrateParams, RESTORE, RestoreParams, VERIFY, VerifyParams,
};
use super::results::ActionResults;
use super::status;
use crate::restore::{self, PlanError, RestorePlan};
use crate::session::{OpenError, Session, Target};
use crate::{juju, migrate, verify};

/// How long after its own deadline the engine gets before the action gives up on it.
pub const ENGINE_GRACE: Duration = Duration::from_secs(5 * 60);

/// Verify has no deadline parameter; this bounds it.
pub const VERIFY_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// Planning a restore reads the backup, FullStatus and each application's config; this bounds it.
pub const RESTORE_PLAN_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// How long the final progress lines may take to reach `action-log` once the engine is done.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// What the actions run: the migration and the verification over a session to `target`.
pub trait Engine {
    /// Opens a session and runs the migration.
    ///
    /// # Errors
    /// The session could not be opened (login, connection, Kubernetes client).
    fn migrate(
        &self,
        target: Target,
        options: migrate::Options,
        events: migrate::Events,
    ) -> impl Future<Output = Result<migrate::Report, OpenError>>;

    /// Opens a session and runs every check.
    ///
    /// # Errors
    /// The session could not be opened.
    fn verify(
        &self,
        target: Target,
        options: verify::Options,
    ) -> impl Future<Output = Result<verify::Report, OpenError>>;

    /// Opens a session and plans the restore of `backup` (the newest when `None`). Read-only.
    ///
    /// # Errors
    /// The session could not be opened; the inner result is the planning's.
    fn restore_plan(
        &self,
        target: Target,
        backup: Option<String>,
    ) -> impl Future<Output = Result<Result<RestorePlan, PlanError>, OpenError>>;

    /// Opens a session and puts the model back to `backup` (the newest when `None`).
    ///
    /// # Errors
    /// The session could not be opened.
    fn restore(
        &self,
        target: Target,
        options: migrate::Options,
        backup: Option<String>,
        events: migrate::Events,
    ) -> impl Future<Output = Result<migrate::Report, OpenError>>;
}

/// The real engine. `interrupt` is the signal handlers' request to stop (SIGTERM: the pod is
/// being stopped), handed to every migration.
#[derive(Debug, Clone, Default)]
pub struct LiveEngine {
    /// The request to stop at a safe point.
    pub interrupt: migrate::Interrupt,
}

impl Engine for LiveEngine {
    async fn migrate(
        &self,
        target: Target,
        mut options: migrate::Options,
        events: migrate::Events,
    ) -> Result<migrate::Report, OpenError> {
        options.interrupt = self.interrupt.clone();
        let session = Session::open(&target).await?;
        let report = migrate::run(&session, &options, &events).await;
        session.juju.close().await;
        Ok(report)
    }

    async fn verify(
        &self,
        target: Target,
        options: verify::Options,
    ) -> Result<verify::Report, OpenError> {
        let session = Session::open(&target).await?;
        let report = verify::run(&session, &options).await;
        session.juju.close().await;
        Ok(report)
    }

    async fn restore_plan(
        &self,
        target: Target,
        backup: Option<String>,
    ) -> Result<Result<RestorePlan, PlanError>, OpenError> {
        let session = Session::open(&target).await?;
        let planned = restore::plan_for(&session, backup.as_deref()).await;
        session.juju.close().await;
        Ok(planned)
    }

    async fn restore(
        &self,
        target: Target,
        mut options: migrate::Options,
        backup: Option<String>,
        events: migrate::Events,
    ) -> Result<migrate::Report, OpenError> {
        options.interrupt = self.interrupt.clone();
        let session = Session::open(&target).await?;
        let report = migrate::restore::run(&session, &options, backup.as_deref(), &events).await;
        session.juju.close().await;
        Ok(report)
    }
}

/// Runs the action `name`. Always ends with results set and, on failure, `action-fail` called.
pub async fn run<R: Runner, E: Engine>(
    ctx: &JujuContext,
    tools: &HookTools<R>,
    name: &str,
    engine: &E,
) {
    let outcome = AssertUnwindSafe(perform(ctx, tools, name, engine))
        .catch_unwind()
        .await;
    if let Err(panic) = outcome {
        let message = panic_message(panic.as_ref());
        tracing::error!("internal error in action {name}: {message}");
        fail(
            tools,
            &format!(
                "internal error: {message}; please report it with the output of `juju debug-log`"
            ),
        )
        .await;
    }
}

/// The text of a panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

async fn perform<R: Runner, E: Engine>(
    ctx: &JujuContext,
    tools: &HookTools<R>,
    name: &str,
    engine: &E,
) {
    let Some(spec) = params::action(name) else {
        fail(
            tools,
            &format!(
                "unknown action {name:?}: this charm handles {}; see `juju actions {}`",
                params::action_names(),
                ctx.app_name()
            ),
        )
        .await;
        return;
    };
    let raw = match tools.action_get().await {
        Ok(raw) => raw,
        Err(e) => {
            fail(tools, &format!("cannot read the action's parameters: {e}")).await;
            return;
        }
    };
    let params = match spec.validate(&raw) {
        Ok(params) => params,
        Err(e) => {
            fail(tools, &e.to_string()).await;
            return;
        }
    };
    let loaded = match credentials::load(tools, ctx).await {
        Ok(loaded) => loaded,
        Err(e) => {
            set_status(tools, &e.status()).await;
            fail(tools, &e.to_string()).await;
            return;
        }
    };
    let target = Target {
        juju: loaded.credentials.clone(),
        cluster: ctx.cluster_source(),
        model_name: ctx.model_name.clone(),
        connect: juju::ConnectOptions::default(),
    };
    match spec.name {
        MIGRATE_TO_AMBIENT => {
            let params = MigrateParams::from_params(&params);
            migrate_to_ambient(ctx, tools, engine, &loaded, target, &params).await;
        }
        VERIFY => {
            let params = VerifyParams::from_params(&params);
            run_verify(ctx, tools, engine, &loaded, target, &params).await;
        }
        RESTORE => {
            let params = RestoreParams::from_params(&params);
            run_restore(ctx, tools, engine, &loaded, target, params).await;
        }
        other => {
            fail(
                tools,
                &format!(
                    "internal error: action {other:?} is declared but not wired; please report it"
                ),
            )
            .await;
        }
    }
}

async fn migrate_to_ambient<R: Runner, E: Engine>(
    ctx: &JujuContext,
    tools: &HookTools<R>,
    engine: &E,
    loaded: &CharmCredentials,
    target: Target,
    params: &MigrateParams,
) {
    let is_leader = match tools.is_leader().await {
        Ok(leader) => leader,
        Err(e) => {
            fail(
                tools,
                &format!("cannot ask Juju whether this unit is the leader: {e}"),
            )
            .await;
            return;
        }
    };
    let mut options = params.options(ctx.unit_name.clone(), Some(is_leader));
    if let Err(fix) = apply_config(tools, &mut options).await {
        fail(tools, &fix).await;
        return;
    }
    let deadline = options.timeout.saturating_add(ENGINE_GRACE);
    set_status(tools, &status::running(MIGRATE_TO_AMBIENT)).await;

    let (events, rx) = migrate::Events::channel();
    let progress = tokio::spawn(forward_progress(tools.clone(), rx, "migrating"));
    let outcome = tokio::time::timeout(deadline, engine.migrate(target, options, events)).await;
    finish_progress(progress).await;

    match outcome {
        Err(_) => {
            let message = format!(
                "migrate-to-ambient did not stop within {} minutes after its timeout: re-run migrate-to-ambient, it resumes where it stopped",
                ENGINE_GRACE.as_secs() / 60
            );
            set_status(
                tools,
                &status::migration_failed(
                    "timeout",
                    &format!(
                        "the engine did not stop; run `juju run {} migrate-to-ambient` again, it resumes where it stopped",
                        ctx.unit_name
                    ),
                ),
            )
            .await;
            fail(tools, &message).await;
        }
        Ok(Err(open)) => session_failed(tools, &open, loaded).await,
        Ok(Ok(report)) => {
            set_results(tools, report.results()).await;
            match &report.outcome {
                migrate::Outcome::Incomplete { error, .. } => {
                    let message = format!("migration incomplete: {error}");
                    tracing::error!("{message}");
                    set_status(tools, &status::migration_incomplete(&report)).await;
                    if let Err(e) = tools.action_fail(&message).await {
                        tracing::error!("cannot mark the action failed: {e}");
                    }
                }
                migrate::Outcome::Failed { step, error } => {
                    // An interrupt's error already says which signal stopped the run.
                    let message = match &report.interrupted {
                        Some(_) => format!("migration stopped at {step}: {error}"),
                        None => format!("migration failed at {step}: {error}"),
                    };
                    tracing::error!("{message}");
                    set_status(tools, &status::migration_failed(step, error)).await;
                    if let Err(e) = tools.action_fail(&message).await {
                        tracing::error!("cannot mark the action failed: {e}");
                    }
                }
                migrate::Outcome::Planned => {
                    tracing::info!("dry-run: {} changes planned", report.planned.len());
                    set_status(tools, &status::ready()).await;
                }
                migrate::Outcome::Migrated | migrate::Outcome::AlreadyMigrated => {
                    tracing::info!("migrate-to-ambient: {}", report.outcome.as_str());
                    set_status(tools, &status::migrated(Timestamp::now())).await;
                }
                // A migration never ends as a restore.
                migrate::Outcome::Restored | migrate::Outcome::AlreadyRestored => {
                    tracing::error!(
                        "internal error: migrate-to-ambient ended as {}",
                        report.outcome.as_str()
                    );
                    set_status(tools, &status::ready()).await;
                }
            }
        }
    }
}

async fn run_verify<R: Runner, E: Engine>(
    ctx: &JujuContext,
    tools: &HookTools<R>,
    engine: &E,
    loaded: &CharmCredentials,
    target: Target,
    params: &VerifyParams,
) {
    set_status(tools, &status::running(VERIFY)).await;
    let outcome = tokio::time::timeout(
        VERIFY_TIMEOUT,
        engine.verify(target, params.options(ctx.unit_name.as_str())),
    )
    .await;
    match outcome {
        Err(_) => {
            set_status(tools, &status::ready()).await;
            fail(
                tools,
                &format!(
                    "verify did not finish within {} minutes: check the cluster's API server and re-run verify",
                    VERIFY_TIMEOUT.as_secs() / 60
                ),
            )
            .await;
        }
        Ok(Err(open)) => session_failed(tools, &open, loaded).await,
        Ok(Ok(report)) => {
            let summary = report.summary();
            let mut results = report.results();
            let failure = (!summary.failed.is_empty()).then(|| {
                format!(
                    "verify found {} failing check{}: {}; each checks.<name> result says what to do",
                    summary.failed.len(),
                    if summary.failed.len() == 1 { "" } else { "s" },
                    summary.failed.join(", ")
                )
            });
            if let Some(message) = &failure {
                results.push(("error".to_string(), message.clone()));
            }
            set_results(tools, results).await;
            set_status(
                tools,
                &status::verified(Timestamp::now(), summary.failed.len()),
            )
            .await;
            if let Some(message) = failure {
                tracing::warn!("{message}");
                if let Err(e) = tools.action_fail(&message).await {
                    tracing::error!("cannot mark the action failed: {e}");
                }
            }
        }
    }
}

/// Sets what the charm's options `poll-interval` and `outage-grace` say; `Err` with the fix for a
/// value that is not valid.
async fn apply_config<R: Runner>(
    tools: &HookTools<R>,
    options: &mut migrate::Options,
) -> Result<(), String> {
    let config = tools
        .config_get()
        .await
        .map_err(|e| format!("cannot read the charm config: {e}"))?;
    if let Some(interval) = params::poll_interval(&config)? {
        options.poll_interval = interval;
    }
    if let Some(grace) = params::outage_grace(&config)? {
        options.outage_grace = grace;
    }
    Ok(())
}

/// `restore`: with dry-run, the plan and nothing changed; without, the model put back to the
/// backup, with progress, status and results as `migrate-to-ambient` has them.
async fn run_restore<R: Runner, E: Engine>(
    ctx: &JujuContext,
    tools: &HookTools<R>,
    engine: &E,
    loaded: &CharmCredentials,
    target: Target,
    params: RestoreParams,
) {
    if params.dry_run {
        plan_restore(tools, engine, loaded, target, params).await;
        return;
    }
    let mut options = params.options(ctx.unit_name.clone());
    if let Err(fix) = apply_config(tools, &mut options).await {
        fail(tools, &fix).await;
        return;
    }
    let deadline = options.timeout.saturating_add(ENGINE_GRACE);
    set_status(tools, &status::running(RESTORE)).await;
    let (events, rx) = migrate::Events::channel();
    let progress = tokio::spawn(forward_progress(tools.clone(), rx, "restoring"));
    let outcome = tokio::time::timeout(
        deadline,
        engine.restore(target, options, params.backup.clone(), events),
    )
    .await;
    finish_progress(progress).await;
    match outcome {
        Err(_) => {
            let resume = format!("`juju run {} restore`", ctx.unit_name);
            set_status(
                tools,
                &status::restore_failed(
                    "timeout",
                    &format!(
                        "the engine did not stop; run {resume} again, it resumes where it stopped"
                    ),
                ),
            )
            .await;
            fail(
                tools,
                &format!(
                    "restore did not stop within {} minutes after its timeout: re-run {resume}, it resumes where it stopped",
                    ENGINE_GRACE.as_secs() / 60
                ),
            )
            .await;
        }
        Ok(Err(open)) => session_failed(tools, &open, loaded).await,
        Ok(Ok(report)) => {
            set_results(tools, report.results()).await;
            match &report.outcome {
                migrate::Outcome::Failed { step, error } => {
                    let message = match &report.interrupted {
                        Some(_) => format!("restore stopped at {step}: {error}"),
                        None => format!("restore failed at {step}: {error}"),
                    };
                    tracing::error!("{message}");
                    set_status(tools, &status::restore_failed(step, error)).await;
                    if let Err(e) = tools.action_fail(&message).await {
                        tracing::error!("cannot mark the action failed: {e}");
                    }
                }
                outcome => {
                    tracing::info!("restore: {}", outcome.as_str());
                    let backup = report.restored_from.as_deref().unwrap_or("its backup");
                    set_status(tools, &status::restored(Timestamp::now(), backup)).await;
                }
            }
        }
    }
}

/// `restore dry-run=true`: the plan, read-only.
async fn plan_restore<R: Runner, E: Engine>(
    tools: &HookTools<R>,
    engine: &E,
    loaded: &CharmCredentials,
    target: Target,
    params: RestoreParams,
) {
    let outcome = tokio::time::timeout(
        RESTORE_PLAN_TIMEOUT,
        engine.restore_plan(target, params.backup),
    )
    .await;
    match outcome {
        Err(_) => {
            fail(
                tools,
                &format!(
                    "restore did not finish planning within {} minutes: check the controller and the cluster's API server and re-run it",
                    RESTORE_PLAN_TIMEOUT.as_secs() / 60
                ),
            )
            .await;
        }
        Ok(Err(open)) => session_failed(tools, &open, loaded).await,
        Ok(Ok(Err(e))) => fail(tools, &e.to_string()).await,
        Ok(Ok(Ok(planned))) => {
            tracing::info!(
                "restore dry-run: {} steps planned from {}",
                planned.phases.iter().map(|p| p.steps.len()).sum::<usize>(),
                planned.backup
            );
            set_results(tools, planned.results()).await;
        }
    }
}

/// The session could not be opened: say which side and what to fix.
async fn session_failed<R: Runner>(
    tools: &HookTools<R>,
    open: &OpenError,
    loaded: &CharmCredentials,
) {
    let uri = &loaded.secret_uri;
    match open {
        OpenError::Juju(e) => {
            set_status(
                tools,
                &status::login_failed(&e.to_string(), &status::login_fix(e, uri)),
            )
            .await;
            let fix = if e.is_unauthorized() {
                format!(
                    "check the username and password in the juju-credentials secret (`juju update-secret {uri} username=<user> password=<password>`) and that the user is a model admin (`juju grant <user> admin <model>`)"
                )
            } else {
                format!(
                    "check api-addresses and ca-cert in the juju-credentials secret {uri} (`juju show-controller` shows both)"
                )
            };
            fail(tools, &format!("cannot log in to Juju: {e}; {fix}")).await;
        }
        OpenError::Cluster(e) => {
            set_status(tools, &status::cluster_unreachable(&e.to_string())).await;
            fail(tools, &format!("cannot reach the Kubernetes API: {e}")).await;
        }
    }
}

/// Sends the engine's progress to `action-log`, the unit log, and (phase starts) the status.
async fn forward_progress<R: Runner>(
    tools: HookTools<R>,
    mut rx: mpsc::UnboundedReceiver<migrate::Event>,
    doing: &'static str,
) {
    while let Some(event) = rx.recv().await {
        let line = event.to_string().replace('\n', " ");
        tracing::info!("{line}");
        if let Err(e) = tools.action_log(&line).await {
            tracing::warn!("cannot send progress to action-log: {e}");
        }
        if let Some(message) = event.status_message(doing) {
            set_status(&tools, &WorkloadStatus::maintenance(message)).await;
        }
    }
}

async fn finish_progress(progress: tokio::task::JoinHandle<()>) {
    match tokio::time::timeout(DRAIN_TIMEOUT, progress).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!("progress reporting stopped: {e}"),
        // The engine left a clone of its event sink alive (e.g. in a task it did not join).
        Err(_) => tracing::warn!("progress reporting did not finish; later lines are dropped"),
    }
}

async fn set_results<R: Runner>(tools: &HookTools<R>, pairs: Vec<(String, String)>) {
    match ActionResults::from_pairs(pairs) {
        Ok(results) => {
            if let Err(e) = tools.action_set(&results).await {
                tracing::error!("cannot set the action's results: {e}");
            }
        }
        Err(e) => {
            // A bug in a report's keys; the run itself may have worked, so say both.
            tracing::error!("the report has an invalid result key: {e}");
            fail(
                tools,
                &format!(
                    "internal error: the report has an invalid result key ({e}); please report it"
                ),
            )
            .await;
        }
    }
}

async fn set_status<R: Runner>(tools: &HookTools<R>, status: &WorkloadStatus) {
    if let Err(e) = tools.status_set(status).await {
        tracing::error!("cannot set the workload status to {status}: {e}");
    }
}

/// Marks the action failed with one sentence, and `result=failed`, `error=<sentence>`.
async fn fail<R: Runner>(tools: &HookTools<R>, message: &str) {
    tracing::error!("{message}");
    let mut results = ActionResults::new();
    results
        .insert("result", "failed")
        .expect("`result` is a valid key");
    results
        .insert("error", message)
        .expect("`error` is a valid key");
    if let Err(e) = tools.action_set(&results).await {
        tracing::error!("cannot set the action's results: {e}");
    }
    if let Err(e) = tools.action_fail(message).await {
        tracing::error!("cannot mark the action failed: {e}");
        // Juju logs stderr; it is the last place the message can go.
        eprintln!("action failed: {message}");
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    use ckf_sim::hooktools::{ActionState, Secret, State};
    use serde_json::{Value, json};

    use super::*;
    use crate::charm::context::Event;
    use crate::charm::hooktools::fake::{FakeRunner, tools};
    use crate::verify::{CheckResult, Verdict};

    const URI: &str = "secret:d1cf0mnmp25c7f3m9o80";
    const PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

    /// An engine that plays a script: events to emit, then a report (or a panic).
    #[derive(Default)]
    struct Scripted {
        events: Vec<migrate::Event>,
        migrate: Option<migrate::Report>,
        verify: Option<verify::Report>,
        login_error: Option<juju::Error>,
        panic: Option<&'static str>,
        seen: Mutex<Vec<(Target, migrate::Options)>>,
        restored_from: Mutex<Vec<Option<String>>>,
    }

    impl Engine for Scripted {
        async fn migrate(
            &self,
            target: Target,
            options: migrate::Options,
            events: migrate::Events,
        ) -> Result<migrate::Report, OpenError> {
            self.seen.lock().expect("lock").push((target, options));
            if let Some(e) = &self.login_error {
                return Err(OpenError::Juju(e.clone()));
            }
            if let Some(message) = self.panic {
                panic!("{message}");
            }
            for event in &self.events {
                events.emit(event.clone());
            }
            Ok(self.migrate.clone().expect("scripted migrate report"))
        }

        async fn verify(
            &self,
            _target: Target,
            _options: verify::Options,
        ) -> Result<verify::Report, OpenError> {
            Ok(self.verify.clone().expect("scripted verify report"))
        }

        async fn restore_plan(
            &self,
            _target: Target,
            _backup: Option<String>,
        ) -> Result<Result<RestorePlan, PlanError>, OpenError> {
            panic!("no test plans a restore through the scripted engine")
        }

        async fn restore(
            &self,
            target: Target,
            options: migrate::Options,
            backup: Option<String>,
            events: migrate::Events,
        ) -> Result<migrate::Report, OpenError> {
            self.restored_from.lock().expect("lock").push(backup);
            // The same script as a migration: events, then the report.
            self.migrate(target, options, events).await
        }
    }

    fn ctx(action: &str) -> JujuContext {
        JujuContext {
            event: Event::Action {
                name: action.into(),
                id: Some("1".into()),
            },
            unit_name: "ckf-migrator/0".into(),
            model_name: "kubeflow".into(),
            model_uuid: "6d3c8f1e-0000-4000-8000-000000000001".into(),
            charm_dir: "/nonexistent/charm".into(),
            api_addresses: vec!["127.0.0.1:17070".into()],
            juju_version: None,
            kubeconfig: None,
        }
    }

    fn state(action: &str, params: Value) -> State {
        let mut state = State {
            unit: "ckf-migrator/0".into(),
            leader: true,
            action: Some(ActionState {
                name: action.into(),
                params: params.as_object().expect("object").clone(),
                ..ActionState::default()
            }),
            ..State::default()
        };
        state
            .config
            .insert("juju-credentials".into(), Value::String(URI.into()));
        state.secrets.insert(
            "d1cf0mnmp25c7f3m9o80".into(),
            Secret {
                revisions: vec![BTreeMap::from([
                    ("username".to_string(), "migrator".to_string()),
                    ("password".to_string(), "pw-secret-1".to_string()),
                    ("ca-cert".to_string(), PEM.to_string()),
                ])],
                granted_to: vec!["ckf-migrator".into()],
                pinned: None,
            },
        );
        state
    }

    async fn act(action: &str, params: Value, engine: &Scripted) -> State {
        let tools: HookTools<FakeRunner> = tools(state(action, params));
        tokio::time::timeout(
            Duration::from_secs(30),
            run(&ctx(action), &tools, action, engine),
        )
        .await
        .expect("the action finishes");
        tools.runner().state()
    }

    fn report(outcome: migrate::Outcome) -> migrate::Report {
        let mut report = migrate::Report::failed("x", "y", Duration::from_secs(42));
        report.outcome = outcome;
        report
    }

    #[tokio::test]
    async fn a_migration_streams_progress_and_ends_active_with_the_time() {
        let engine = Scripted {
            events: vec![
                migrate::Event::PhaseStarted {
                    index: 1,
                    total: 2,
                    name: "remove-sidecar-istio".into(),
                },
                migrate::Event::Note("backup written".into()),
            ],
            migrate: Some(report(migrate::Outcome::Migrated)),
            ..Scripted::default()
        };

        let state = act(MIGRATE_TO_AMBIENT, json!({"platform": "microk8s"}), &engine).await;

        let action = state.action.as_ref().expect("action");
        assert!(!action.failed, "{:?}", action.failure);
        assert_eq!(
            action.logs,
            vec!["phase 1/2: remove-sidecar-istio", "backup written"]
        );
        assert_eq!(action.result("result"), Some("migrated"));
        assert_eq!(action.result("duration-seconds"), Some("42"));
        let statuses: Vec<String> = state
            .statuses
            .iter()
            .map(|s| format!("{}: {}", s.status, s.message))
            .collect();
        assert_eq!(statuses[0], "maintenance: running migrate-to-ambient");
        assert_eq!(
            statuses[1],
            "maintenance: migrating: phase 1/2 remove-sidecar-istio"
        );
        let last = state.last_status().expect("final status");
        assert_eq!(last.status, "active");
        assert!(
            last.message.starts_with("migrated to ambient at "),
            "{}",
            last.message
        );
        assert!(
            last.message.ends_with(" UTC; run verify"),
            "{}",
            last.message
        );
    }

    #[tokio::test]
    async fn the_engine_gets_the_params_the_leadership_and_the_unit_as_holder() {
        let engine = Scripted {
            migrate: Some(report(migrate::Outcome::Planned)),
            ..Scripted::default()
        };

        act(
            MIGRATE_TO_AMBIENT,
            json!({"platform": "k3s", "dry-run": true, "timeout": 7, "restart-workloads": true}),
            &engine,
        )
        .await;

        let seen = engine.seen.lock().expect("lock");
        let (target, options) = &seen[0];
        assert_eq!(options.platform, crate::plan::Platform::K3s);
        assert!(options.dry_run && options.restart_workloads && !options.allow_serverless_loss);
        assert_eq!(options.timeout, Duration::from_secs(7 * 60));
        assert_eq!(options.is_leader, Some(true));
        assert_eq!(options.holder, "ckf-migrator/0");
        assert_eq!(target.model_name, "kubeflow");
        assert_eq!(target.juju.username, "migrator");
        assert_eq!(target.cluster, crate::cluster::Source::InCluster);
    }

    #[tokio::test]
    async fn a_failed_migration_fails_the_action_and_blocks_with_the_step() {
        let engine = Scripted {
            migrate: Some(report(migrate::Outcome::Failed {
                step: "refresh: kfp-api".into(),
                error: "controller refused (operation is blocked); run `juju enable-command all`"
                    .into(),
            })),
            ..Scripted::default()
        };

        let state = act(MIGRATE_TO_AMBIENT, json!({}), &engine).await;

        let action = state.action.as_ref().expect("action");
        assert!(action.failed);
        assert_eq!(
            action.failure.as_deref(),
            Some(
                "migration failed at refresh: kfp-api: controller refused (operation is blocked); run `juju enable-command all`"
            )
        );
        assert_eq!(action.result("result"), Some("failed"));
        assert_eq!(action.result("failed-step"), Some("refresh: kfp-api"));
        let last = state.last_status().expect("status");
        assert_eq!(last.status, "blocked");
        assert!(
            last.message
                .starts_with("migration failed at refresh: kfp-api: "),
            "{}",
            last.message
        );
        assert!(
            last.message.ends_with("run `juju enable-command all`"),
            "the engine's fix is the status's last word: {}",
            last.message
        );
    }

    #[tokio::test]
    async fn a_dry_run_ends_ready() {
        let mut planned = report(migrate::Outcome::Planned);
        planned.planned = vec!["juju remove-application istio-pilot".into()];
        let engine = Scripted {
            migrate: Some(planned),
            ..Scripted::default()
        };

        let state = act(MIGRATE_TO_AMBIENT, json!({"dry-run": true}), &engine).await;

        let action = state.action.as_ref().expect("action");
        assert_eq!(action.result("result"), Some("planned"));
        assert_eq!(
            action.result("commands"),
            Some("juju remove-application istio-pilot")
        );
        assert_eq!(state.last_status().expect("status").message, status::READY);
    }

    #[tokio::test]
    async fn a_panic_in_the_engine_fails_the_action_with_a_message() {
        let engine = Scripted {
            panic: Some("index out of bounds"),
            ..Scripted::default()
        };

        let state = act(MIGRATE_TO_AMBIENT, json!({}), &engine).await;

        let action = state.action.as_ref().expect("action");
        assert!(action.failed);
        let failure = action.failure.as_deref().expect("message");
        assert!(
            failure.starts_with("internal error: index out of bounds"),
            "{failure}"
        );
        assert_eq!(action.result("result"), Some("failed"));
        assert_eq!(action.result("error"), Some(failure));
    }

    #[tokio::test]
    async fn a_refused_login_blocks_and_says_how_to_fix_the_secret() {
        let engine = Scripted {
            login_error: Some(juju::Error::Login {
                message: "invalid entity name or password".into(),
                code: Some("unauthorized access".into()),
            }),
            ..Scripted::default()
        };

        let state = act(MIGRATE_TO_AMBIENT, json!({}), &engine).await;

        let action = state.action.as_ref().expect("action");
        let failure = action.failure.as_deref().expect("failed");
        assert!(
            failure.starts_with(
                "cannot log in to Juju: login failed: invalid entity name or password; "
            ),
            "{failure}"
        );
        assert!(
            failure.contains(&format!("juju update-secret {URI}")),
            "{failure}"
        );
        assert_eq!(
            state.last_status().expect("status").message,
            format!(
                "juju-credentials: login failed: invalid entity name or password; run `juju update-secret {URI} username=<user> password=<password>` with a model admin's password"
            )
        );
        let everything = serde_json::to_string(&state).expect("json");
        let leaks = everything.matches("pw-secret-1").count();
        assert_eq!(leaks, 1, "the password is only in the fixture's secret");
    }

    #[tokio::test]
    async fn a_failing_verify_fails_the_action_naming_the_checks() {
        let engine = Scripted {
            verify: Some(verify::Report {
                checks: vec![
                    CheckResult {
                        name: "istiod-is-ready".into(),
                        group: "control-plane".into(),
                        verdict: Verdict::Pass,
                    },
                    CheckResult {
                        name: "no-sidecars-left".into(),
                        group: "mesh".into(),
                        verdict: Verdict::Fail("2 pods in kubeflow still carry istio-proxy".into()),
                    },
                ],
            }),
            ..Scripted::default()
        };

        let state = act(VERIFY, json!({"http": false}), &engine).await;

        let action = state.action.as_ref().expect("action");
        assert!(action.failed);
        assert_eq!(
            action.failure.as_deref(),
            Some(
                "verify found 1 failing check: no-sidecars-left; each checks.<name> result says what to do"
            )
        );
        assert_eq!(action.result("checks.istiod-is-ready"), Some("pass"));
        assert_eq!(action.result("result"), Some("fail"));
        let last = state.last_status().expect("status");
        assert_eq!(last.status, "active");
        assert!(
            last.message
                .starts_with("ready; verify found 1 failing check at "),
            "{}",
            last.message
        );
    }

    #[tokio::test]
    async fn a_passing_verify_succeeds() {
        let engine = Scripted {
            verify: Some(verify::Report {
                checks: vec![CheckResult {
                    name: "istiod-is-ready".into(),
                    group: "control-plane".into(),
                    verdict: Verdict::Pass,
                }],
            }),
            ..Scripted::default()
        };

        let state = act(VERIFY, json!({}), &engine).await;

        let action = state.action.as_ref().expect("action");
        assert!(!action.failed, "{:?}", action.failure);
        assert_eq!(action.result("result"), Some("pass"));
        assert!(
            state
                .last_status()
                .expect("status")
                .message
                .starts_with("ready; verify passed at ")
        );
    }

    #[tokio::test]
    async fn a_restore_passes_its_backup_and_deadline_and_ends_active_naming_the_backup() {
        let mut restored = report(migrate::Outcome::Restored);
        restored.restored_from = Some("ckf-migrator-backup-20261203-072902".into());
        let engine = Scripted {
            migrate: Some(restored),
            ..Scripted::default()
        };

        let state = act(
            RESTORE,
            json!({"backup": "ckf-migrator-backup-20261203-072902", "timeout": 5}),
            &engine,
        )
        .await;

        let action = state.action.as_ref().expect("action");
        assert!(!action.failed, "{:?}", action.failure);
        assert_eq!(action.result("result"), Some("restored"));
        assert_eq!(
            action.result("backup"),
            Some("ckf-migrator-backup-20261203-072902")
        );
        let seen = engine.seen.lock().expect("lock");
        let (_, options) = seen.first().expect("the engine ran");
        assert_eq!(options.timeout, Duration::from_secs(5 * 60));
        assert_eq!(options.holder, "ckf-migrator/0");
        assert!(!options.dry_run);
        assert_eq!(
            *engine.restored_from.lock().expect("lock"),
            [Some("ckf-migrator-backup-20261203-072902".to_string())]
        );
        let last = state.statuses.last().expect("a status");
        assert_eq!(last.status, "active");
        assert!(
            last.message
                .starts_with("restored to backup ckf-migrator-backup-20261203-072902 at "),
            "{}",
            last.message
        );
    }

    #[tokio::test]
    async fn a_failed_restore_fails_the_action_and_blocks_with_the_command_that_resumes() {
        let engine = Scripted {
            migrate: Some(migrate::Report::failed(
                "refresh",
                "kfp-api is in error; nothing is lost: re-run `juju run ckf-migrator/0 restore` to continue",
                Duration::from_secs(3),
            )),
            ..Scripted::default()
        };

        let state = act(RESTORE, json!({}), &engine).await;

        let action = state.action.as_ref().expect("action");
        assert!(action.failed);
        assert_eq!(action.result("failed-step"), Some("refresh"));
        let last = state.statuses.last().expect("a status");
        assert_eq!(last.status, "blocked");
        assert!(
            last.message.starts_with("restore failed at refresh: "),
            "{}",
            last.message
        );
        assert!(last.message.contains("juju run ckf-migrator/0 restore"));
    }
}
