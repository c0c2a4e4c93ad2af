//! Is a fact true? The pure heart of the engine: one fact and an observed state in, one verdict
//! out.
//!
//! A fact is `Done` only when it holds *and* the applications it concerns have settled, so the
//! engine can wait on the same function it diffs with. `Unmet` carries the changes that would make
//! it hold; `Pending` means "true soon, nothing to do"; `Stopped` means the model is in a state the
//! migration never passes through (a unit in error, an unexplained Blocked status).

use std::collections::BTreeMap;

use super::change::{Change, RESTARTED_FOR};
use super::ids::{Channel, EndpointRef};
use super::model::{Fact, FactKind, Phase, Plan, Settle};
use super::observed::{App, Observed, SidecarInventory};
use super::resolve::Resolved;

/// The verdict on one fact.
#[derive(Debug, Clone, PartialEq)]
pub enum FactState {
    /// Holds, and everything it concerns has settled.
    Done,
    /// Does not apply to this model (e.g. the application is not deployed); the text says why.
    Skipped(String),
    /// Does not hold; these changes would make it hold.
    Unmet(Vec<Change>),
    /// Will hold without a further change; the text says what is awaited.
    Pending(String),
    /// The model is broken in a way the migration must not paper over; the text names the
    /// application, its status and what to do.
    Stopped(String),
}

/// What this run has done that a verdict depends on: the revision each refresh moved to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunMemory {
    /// Application → revision the refresh resolved to.
    pub expected_revisions: BTreeMap<String, i64>,
}

/// An application role found in the model.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup<'a> {
    /// Exactly one application plays the role.
    Found(&'a App),
    /// None does.
    Missing,
    /// Several applications run the role's charm.
    Ambiguous(Vec<String>),
}

/// Finds the application playing `role`: by name (when it runs the role's charm), else the single
/// application running the role's charm.
pub fn lookup<'a>(plan: &Plan, observed: &'a Observed, role: &str) -> Lookup<'a> {
    let Some(found) = plan.roles.get(role) else {
        return Lookup::Missing;
    };
    if found.exact {
        return match observed.applications.get(role) {
            Some(app) => Lookup::Found(app),
            None => Lookup::Missing,
        };
    }
    let charm = found.charm.as_str();
    if let Some(app) = observed.applications.get(role).filter(|a| a.charm == charm) {
        return Lookup::Found(app);
    }
    let by_charm: Vec<&App> = observed
        .applications
        .values()
        .filter(|a| a.charm == charm)
        .collect();
    match by_charm.as_slice() {
        [] => Lookup::Missing,
        [app] => Lookup::Found(app),
        many => Lookup::Ambiguous(many.iter().map(|a| a.name.clone()).collect()),
    }
}

/// Evaluates one fact of `phase` against the observed state.
pub fn evaluate(
    resolved: &Resolved,
    phase: &Phase,
    fact: &Fact,
    observed: &Observed,
    memory: &RunMemory,
) -> FactState {
    let plan = &resolved.plan;
    match &fact.kind {
        FactKind::ConfigMapData {
            namespace,
            name,
            data,
        } => {
            let key = format!("{namespace}/{name}");
            match observed.cluster.config_maps.get(&key) {
                None => FactState::Pending(format!("ConfigMap {key} not observed")),
                Some(None) => FactState::Stopped(format!(
                    "ConfigMap {key} does not exist; is this cluster really running the platform chosen? Check the `platform` parameter"
                )),
                Some(Some(current)) if holds(current, data) => FactState::Done,
                Some(Some(_)) => FactState::Unmet(vec![Change::PatchConfigMap {
                    namespace: namespace.clone(),
                    name: name.clone(),
                    data: data.clone(),
                }]),
            }
        }
        FactKind::RolledOut {
            workload,
            config_map,
        } => {
            let desired = desired_config_map(plan, config_map);
            let tag = restart_tag(config_map, &desired);
            match (
                observed.cluster.config_maps.get(config_map),
                observed.cluster.rollouts.get(workload),
            ) {
                (None, _) | (_, None) => FactState::Pending(format!("{workload} not observed")),
                (_, Some(None)) => FactState::Stopped(format!("{workload} does not exist")),
                (Some(data), Some(Some(rollout))) => {
                    let configured = data.as_ref().is_some_and(|d| holds(d, &desired));
                    if rollout.template_annotations.get(RESTARTED_FOR) == Some(&tag) {
                        if rollout.complete() {
                            FactState::Done
                        } else {
                            FactState::Pending(format!(
                                "{workload} rolling out ({}/{} updated, {}/{} ready)",
                                rollout.updated, rollout.desired, rollout.ready, rollout.desired
                            ))
                        }
                    } else if !configured {
                        FactState::Pending(format!(
                            "ConfigMap {config_map} to hold the new settings before {workload} restarts"
                        ))
                    } else {
                        FactState::Unmet(vec![Change::RolloutRestart {
                            workload: workload.clone(),
                            annotations: [(RESTARTED_FOR.to_string(), tag)].into(),
                        }])
                    }
                }
            }
        }
        FactKind::Absent { role } => match lookup(plan, observed, role) {
            Lookup::Missing => FactState::Done,
            Lookup::Ambiguous(names) => ambiguous(plan, role, &names),
            Lookup::Found(app) if app.dying => match unit_in_error(app) {
                Some(stop) => FactState::Stopped(format!(
                    "{stop}; a unit in error blocks its removal: fix the cause and run `juju resolve {}`",
                    app.units
                        .first()
                        .map(|u| u.name.as_str())
                        .unwrap_or(&app.name)
                )),
                None => FactState::Pending(format!("{} being removed", app.name)),
            },
            Lookup::Found(app) => FactState::Unmet(vec![Change::RemoveApplication {
                application: app.name.clone(),
            }]),
        },
        FactKind::LegacyGone(object) => match observed.cluster.legacy.get(object) {
            None => FactState::Pending(format!("{object} not observed")),
            Some(left) if left.is_empty() => FactState::Done,
            Some(left) => FactState::Pending(format!(
                "{object} to be purged (still there: {})",
                left.join(", ")
            )),
        },
        FactKind::Present(object) => match observed.cluster.legacy.get(object) {
            None => FactState::Pending(format!("{object} not observed")),
            Some(there) if there.is_empty() => FactState::Pending(format!("{object} to appear")),
            Some(_) => FactState::Done,
        },
        FactKind::SidecarsInjected => sidecars_injected(observed),
        FactKind::NamespaceGone { namespace } => match observed.cluster.namespaces.get(namespace) {
            None => FactState::Pending(format!("namespace {namespace} not observed")),
            Some(None) => FactState::Done,
            Some(Some(phase)) => FactState::Pending(format!(
                "namespace {namespace} to be deleted (it is {phase})"
            )),
        },
        FactKind::Deployed {
            role,
            channel,
            trust,
            config,
            pinned,
            hide_values,
        } => match lookup(plan, observed, role) {
            Lookup::Ambiguous(names) => ambiguous(plan, role, &names),
            Lookup::Missing => FactState::Unmet(vec![Change::Deploy {
                application: role.clone(),
                charm: plan
                    .roles
                    .get(role)
                    .map(|r| r.charm.clone())
                    .unwrap_or_else(|| role.clone()),
                channel: channel.clone(),
                trust: *trust,
                config: config.clone(),
                pinned: pinned.clone(),
                hide_values: *hide_values,
            }]),
            Lookup::Found(app) if app.dying => FactState::Pending(format!(
                "the old {} to be removed before it is deployed again",
                app.name
            )),
            Lookup::Found(app) => {
                let mut changes = Vec::new();
                let untrusted = *trust && app.trust == Some(false);
                let revision = pinned.as_ref().and_then(|p| p.revision);
                let refresh = !same_channel(&app.channel, channel) || !at_revision(app, revision);
                if refresh {
                    // Trust rides on the refresh (`juju refresh --trust`), so the new charm's
                    // first hooks already run trusted.
                    changes.push(Change::Refresh {
                        application: app.name.clone(),
                        channel: channel.clone(),
                        trust: untrusted,
                        revision,
                    });
                }
                changes.extend(config_change(app, config, *hide_values));
                if untrusted && !refresh {
                    changes.push(Change::SetTrust {
                        application: app.name.clone(),
                        trust: true,
                    });
                }
                if changes.is_empty() {
                    settled(plan, phase.settle, app, memory)
                } else {
                    FactState::Unmet(changes)
                }
            }
        },
        FactKind::Refreshed {
            role,
            channel,
            trust,
            revision,
        } => match lookup(plan, observed, role) {
            Lookup::Missing => FactState::Skipped(format!(
                "refresh {role} to {channel}: {role} is not in the model"
            )),
            Lookup::Ambiguous(names) => ambiguous(plan, role, &names),
            Lookup::Found(app)
                if !same_channel(&app.channel, channel) || !at_revision(app, *revision) =>
            {
                FactState::Unmet(vec![Change::Refresh {
                    application: app.name.clone(),
                    channel: channel.clone(),
                    // Not sent again to an application already trusted (unknown counts as
                    // not trusted: granting twice is harmless).
                    trust: *trust && app.trust != Some(true),
                    revision: *revision,
                }])
            }
            Lookup::Found(app) if *trust && app.trust == Some(false) => {
                FactState::Unmet(vec![Change::SetTrust {
                    application: app.name.clone(),
                    trust: true,
                }])
            }
            Lookup::Found(app) => settled(plan, phase.settle, app, memory),
        },
        FactKind::Configured {
            role,
            config,
            reset,
            hide_values,
        } => match lookup(plan, observed, role) {
            Lookup::Missing => {
                FactState::Skipped(format!("configure {role}: {role} is not in the model"))
            }
            Lookup::Ambiguous(names) => ambiguous(plan, role, &names),
            Lookup::Found(app) if app.config.is_none() => {
                FactState::Pending(format!("config of {} not observed", app.name))
            }
            Lookup::Found(app) => {
                let mut changes: Vec<Change> = config_change(app, config, *hide_values)
                    .into_iter()
                    .collect();
                changes.extend(reset_change(app, reset));
                if changes.is_empty() {
                    settled(plan, phase.settle, app, memory)
                } else {
                    FactState::Unmet(changes)
                }
            }
        },
        FactKind::Trusted { role, trust } => match lookup(plan, observed, role) {
            Lookup::Missing => {
                FactState::Skipped(format!("trust {role}: {role} is not in the model"))
            }
            Lookup::Ambiguous(names) => ambiguous(plan, role, &names),
            Lookup::Found(app) => match app.trust {
                None => FactState::Pending(format!("trust of {} not observed", app.name)),
                Some(now) if now != *trust => FactState::Unmet(vec![Change::SetTrust {
                    application: app.name.clone(),
                    trust: *trust,
                }]),
                Some(_) => settled(plan, phase.settle, app, memory),
            },
        },
        FactKind::Scaled { role, units } => match lookup(plan, observed, role) {
            Lookup::Missing => {
                FactState::Skipped(format!("scale {role}: {role} is not in the model"))
            }
            Lookup::Ambiguous(names) => ambiguous(plan, role, &names),
            Lookup::Found(app) if app.units.len() != *units as usize => {
                // Asked once; while Kubernetes adds or removes the pods the count moves towards
                // it, and the change is not made again in this run.
                FactState::Unmet(vec![Change::Scale {
                    application: app.name.clone(),
                    units: *units,
                }])
            }
            Lookup::Found(app) => settled(plan, phase.settle, app, memory),
        },
        FactKind::Settled { role } => match lookup(plan, observed, role) {
            Lookup::Missing => FactState::Pending(format!("{role} to appear in the model")),
            Lookup::Ambiguous(names) => ambiguous(plan, role, &names),
            Lookup::Found(app) => settled(plan, phase.settle, app, memory),
        },
        FactKind::Related { a, b } => related(resolved, phase, a, b, observed, memory),
        FactKind::Unrelated { a, b } => unrelated(plan, a, b, observed),
        FactKind::ProfileNamespacesAmbient { role } => match lookup(plan, observed, role) {
            Lookup::Missing => {
                FactState::Skipped(format!("profile namespaces: {role} is not in the model"))
            }
            Lookup::Ambiguous(names) => ambiguous(plan, role, &names),
            Lookup::Found(_) => match &observed.cluster.profile_namespaces {
                None => FactState::Pending("profile namespaces not observed".into()),
                Some(namespaces) => {
                    let behind: Vec<&str> = namespaces
                        .iter()
                        .filter(|ns| !ns.is_ambient())
                        .map(|ns| ns.name.as_str())
                        .collect();
                    if behind.is_empty() {
                        FactState::Done
                    } else {
                        FactState::Pending(format!(
                            "{role} to switch profile namespaces to ambient: {}",
                            behind.join(", ")
                        ))
                    }
                }
            },
        },
        FactKind::SidecarsRecycled { workloads } => match &observed.cluster.sidecars {
            None => FactState::Pending("sidecars not observed".into()),
            Some(inventory) => {
                let changes: Vec<Change> = inventory
                    .workloads
                    .iter()
                    .filter(|w| {
                        resolved.params.restart_workloads || workloads.contains(&w.workload.name)
                    })
                    .map(|w| Change::RolloutRestart {
                        workload: w.workload.clone(),
                        annotations: BTreeMap::new(),
                    })
                    .collect();
                if changes.is_empty() {
                    FactState::Done
                } else {
                    FactState::Unmet(changes)
                }
            }
        },
    }
}

/// Done when every profile namespace is labelled for injection and no pod there lacks its
/// sidecar; until then, the workloads to restart (once the labels are there, so the restarted
/// pods are injected).
fn sidecars_injected(observed: &Observed) -> FactState {
    let (Some(namespaces), Some(missing)) = (
        &observed.cluster.profile_namespaces,
        &observed.cluster.missing_sidecars,
    ) else {
        return FactState::Pending("profile namespaces not observed".into());
    };
    let unlabelled: Vec<&str> = namespaces
        .iter()
        .filter(|ns| !ns.is_injected())
        .map(|ns| ns.name.as_str())
        .collect();
    if !unlabelled.is_empty() {
        return FactState::Pending(format!(
            "kubeflow-profiles to label profile namespaces for sidecar injection: {}",
            unlabelled.join(", ")
        ));
    }
    if missing.workloads.is_empty() {
        return FactState::Done;
    }
    FactState::Unmet(
        missing
            .workloads
            .iter()
            .map(|w| Change::RolloutRestart {
                workload: w.workload.clone(),
                annotations: BTreeMap::new(),
            })
            .collect(),
    )
}

/// Sidecars this run leaves alone, each with what to do about it.
pub fn sidecar_leftovers(
    resolved: &Resolved,
    workloads: &[String],
    inventory: &SidecarInventory,
) -> Vec<String> {
    let mut out: Vec<String> = inventory
        .workloads
        .iter()
        .filter(|w| !resolved.params.restart_workloads && !workloads.contains(&w.workload.name))
        .map(|w| {
            let what = match &w.controller {
                Some(controller) => format!("{controller} ({})", w.workload),
                None => w.workload.to_string(),
            };
            format!(
                "{what} still runs istio-proxy sidecars in {}",
                w.pods.join(", ")
            )
        })
        .collect();
    out.extend(
        inventory
            .unrestartable
            .iter()
            .map(|p| format!("pod {p} still runs an istio-proxy sidecar and has no owner to restart: recreate it by hand")),
    );
    out
}

fn related(
    resolved: &Resolved,
    phase: &Phase,
    a: &EndpointRef,
    b: &EndpointRef,
    observed: &Observed,
    memory: &RunMemory,
) -> FactState {
    let plan = &resolved.plan;
    let deployed = resolved.deployed_roles();
    let mut sides = Vec::new();
    for end in [a, b] {
        match lookup(plan, observed, &end.application) {
            Lookup::Found(app) => sides.push((
                EndpointRef {
                    application: app.name.clone(),
                    endpoint: end.endpoint.clone(),
                },
                Some(app),
            )),
            Lookup::Ambiguous(names) => return ambiguous(plan, &end.application, &names),
            Lookup::Missing if deployed.contains(end.application.as_str()) => {
                sides.push((end.clone(), None))
            }
            Lookup::Missing => {
                return FactState::Skipped(format!(
                    "integrate {a} {b}: {} is not in the model",
                    end.application
                ));
            }
        }
    }
    let (a, app_a) = sides.remove(0);
    let (b, app_b) = sides.remove(0);
    if !observed.has_relation(&a, &b) {
        return FactState::Unmet(vec![Change::Relate { a, b }]);
    }
    for app in [app_a, app_b].into_iter().flatten() {
        match settled(plan, phase.settle, app, memory) {
            FactState::Done => {}
            other => return other,
        }
    }
    FactState::Done
}

/// Done when the application's units have settled, given what this run expects of it.
fn settled(plan: &Plan, settle: Settle, app: &App, memory: &RunMemory) -> FactState {
    if let Some(expected) = memory.expected_revisions.get(&app.name)
        && app.revision != Some(*expected)
    {
        return FactState::Pending(format!("{} to move to revision {expected}", app.name));
    }
    if app.units.is_empty() {
        return FactState::Pending(format!("{} units to appear", app.name));
    }
    if let Some(stop) = unit_in_error(app) {
        return FactState::Stopped(format!(
            "{stop}: see `juju debug-log --include {}` and fix the cause",
            app.name
        ));
    }
    for unit in &app.units {
        let workload = &unit.workload;
        let transient = is_transient(plan, &app.charm, &workload.current, &workload.message);
        match workload.current.as_str() {
            "blocked" if !transient && settle != Settle::Idle => {
                return FactState::Stopped(format!(
                    "{} is blocked with {:?}, which the migration never passes through: fix it",
                    unit.name, workload.message
                ));
            }
            "active" => {}
            "blocked" | "waiting" if settle == Settle::AllowTransient => {}
            "blocked" | "waiting" | "maintenance" if settle == Settle::Idle => {}
            _ => return FactState::Pending(format!("{} ({})", unit.name, workload)),
        }
        if unit.agent.current != "idle" {
            return FactState::Pending(format!("{} (agent {})", unit.name, unit.agent.current));
        }
    }
    FactState::Done
}

fn unit_in_error(app: &App) -> Option<String> {
    app.units
        .iter()
        .find(|u| u.workload.current == "error" || u.agent.current == "error")
        .map(|u| {
            let status = if u.workload.current == "error" {
                &u.workload
            } else {
                &u.agent
            };
            format!("{} is in error ({status})", u.name)
        })
}

/// Whether a status is one a half-migrated model shows on its way.
pub fn is_transient(plan: &Plan, charm: &str, status: &str, message: &str) -> bool {
    plan.transient.iter().any(|t| {
        t.status == status
            && message.starts_with(&t.message_prefix)
            && t.charms.iter().any(|c| c == charm)
    })
}

fn ambiguous(plan: &Plan, role: &str, names: &[String]) -> FactState {
    let charm = plan
        .roles
        .get(role)
        .map(|r| r.charm.as_str())
        .unwrap_or(role);
    FactState::Stopped(format!(
        "several applications run charm {charm} ({}): the plan cannot tell which one is Kubeflow's {role}; migrate by hand",
        names.join(", ")
    ))
}

fn holds(current: &BTreeMap<String, String>, desired: &BTreeMap<String, String>) -> bool {
    desired.iter().all(|(k, v)| current.get(k) == Some(v))
}

fn same_channel(observed: &str, desired: &Channel) -> bool {
    observed.parse::<Channel>().is_ok_and(|c| &c == desired)
}

/// Runs `revision`, when one is asked for.
fn at_revision(app: &App, revision: Option<u32>) -> bool {
    revision.is_none_or(|revision| app.revision == Some(i64::from(revision)))
}

/// Options a user set that should be at their defaults.
fn reset_change(app: &App, reset: &[String]) -> Option<Change> {
    let user_set = app.user_set.as_ref()?;
    let options: Vec<String> = reset
        .iter()
        .filter(|option| user_set.contains(*option))
        .cloned()
        .collect();
    (!options.is_empty()).then(|| Change::ResetConfig {
        application: app.name.clone(),
        options,
    })
}

/// Done when no relation joins the two endpoints (a dying one still counts: it is awaited).
fn unrelated(plan: &Plan, a: &EndpointRef, b: &EndpointRef, observed: &Observed) -> FactState {
    let mut ends = Vec::new();
    for end in [a, b] {
        match lookup(plan, observed, &end.application) {
            Lookup::Found(app) => ends.push(EndpointRef {
                application: app.name.clone(),
                endpoint: end.endpoint.clone(),
            }),
            // Gone with its application.
            Lookup::Missing => return FactState::Done,
            Lookup::Ambiguous(names) => return ambiguous(plan, &end.application, &names),
        }
    }
    let (a, b) = (ends.remove(0), ends.remove(0));
    if observed.has_relation(&a, &b) {
        FactState::Unmet(vec![Change::Unrelate { a, b }])
    } else {
        FactState::Done
    }
}

fn config_change(
    app: &App,
    desired: &BTreeMap<String, String>,
    hide_values: bool,
) -> Option<Change> {
    let current = app.config.as_ref();
    let values: BTreeMap<String, String> = desired
        .iter()
        .filter(|(k, v)| current.and_then(|c| c.get(*k)) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    (!values.is_empty()).then(|| Change::SetConfig {
        application: app.name.clone(),
        values,
        hide_values,
    })
}

/// The desired data of a ConfigMap fact of the plan (empty if the plan has none).
fn desired_config_map(plan: &Plan, key: &str) -> BTreeMap<String, String> {
    plan.phases
        .iter()
        .flat_map(|p| &p.facts)
        .find_map(|f| match &f.kind {
            FactKind::ConfigMapData {
                namespace,
                name,
                data,
            } if format!("{namespace}/{name}") == key => Some(data.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

/// The value of [`RESTARTED_FOR`]: which ConfigMap settings a restart rolled out.
fn restart_tag(config_map: &str, data: &BTreeMap<String, String>) -> String {
    let settings: Vec<String> = data.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{config_map}:{}", settings.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::fixtures::{app, ckf_1_11, microk8s, migrated, sidecar_workload};
    use crate::plan::{LegacyObject, Params, Platform, Rollout, WorkloadKind, WorkloadRef};

    /// The verdict on the first fact of `phase` for which `pick` returns true.
    fn verdict(
        resolved: &Resolved,
        observed: &Observed,
        phase: &str,
        pick: impl Fn(&FactKind) -> bool,
    ) -> FactState {
        verdict_with(resolved, observed, &RunMemory::default(), phase, pick)
    }

    fn verdict_with(
        resolved: &Resolved,
        observed: &Observed,
        memory: &RunMemory,
        phase: &str,
        pick: impl Fn(&FactKind) -> bool,
    ) -> FactState {
        let phase = resolved
            .plan
            .phases
            .iter()
            .find(|p| p.name == phase)
            .expect("phase exists");
        let fact = phase
            .facts
            .iter()
            .find(|f| pick(&f.kind))
            .expect("fact exists");
        evaluate(resolved, phase, fact, observed, memory)
    }

    fn refresh_of(app: &'static str) -> impl Fn(&FactKind) -> bool {
        move |k| matches!(k, FactKind::Refreshed { role, .. } if role == app)
    }

    fn relation_of(a: &'static str) -> impl Fn(&FactKind) -> bool {
        move |k| matches!(k, FactKind::Related { a: x, .. } if x.to_string() == a)
    }

    #[test]
    fn every_fact_is_done_on_a_migrated_model() {
        let resolved = microk8s();
        let observed = migrated(&resolved);
        for phase in &resolved.plan.phases {
            for fact in &phase.facts {
                let state = evaluate(&resolved, phase, fact, &observed, &RunMemory::default());
                assert_eq!(state, FactState::Done, "{}: {}", phase.name, fact.kind);
            }
        }
    }

    #[test]
    fn a_ckf_1_11_model_needs_the_guides_commands() {
        let resolved = microk8s();
        let observed = ckf_1_11(&resolved.plan);
        let unmet = |state: FactState| match state {
            FactState::Unmet(changes) => changes.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
            other => panic!("expected unmet, got {other:?}"),
        };
        assert_eq!(
            unmet(verdict(
                &resolved,
                &observed,
                "remove-istio-pilot",
                |k| matches!(k, FactKind::Absent { .. })
            )),
            ["juju remove-application --no-prompt istio-pilot"]
        );
        assert_eq!(
            unmet(verdict(
                &resolved,
                &observed,
                "deploy-istio",
                |k| matches!(k, FactKind::Deployed { role, .. } if role == "istio-k8s")
            )),
            ["juju deploy istio-k8s --trust --channel 2/edge --config platform=microk8s"]
        );
        assert_eq!(
            unmet(verdict(
                &resolved,
                &observed,
                "refresh",
                refresh_of("minio")
            )),
            ["juju refresh minio --trust --channel 1.10/edge"]
        );
        assert_eq!(
            unmet(verdict(
                &resolved,
                &observed,
                "mesh",
                relation_of("kfp-api:kfp-api-grpc")
            )),
            ["juju integrate kfp-api:kfp-api-grpc kfp-persistence:kfp-api-grpc"]
        );
        assert_eq!(
            verdict(&resolved, &observed, "remove-istio-pilot", |k| matches!(
                k,
                FactKind::LegacyGone(LegacyObject::Deployment { .. })
            )),
            FactState::Pending(
                "Deployment kubeflow/istiod to be purged (still there: istiod)".into()
            )
        );
    }

    #[test]
    fn applications_are_found_by_charm_when_renamed() {
        let resolved = microk8s();
        let observed = Observed::default().with(app("ingress-gw", "istio-gateway", "1.28/stable"));
        assert_eq!(
            verdict(&resolved, &observed, "remove-istio-gateway", |_| true),
            FactState::Unmet(vec![Change::RemoveApplication {
                application: "ingress-gw".into()
            }])
        );
    }

    #[test]
    fn facts_about_missing_applications_are_skipped_with_the_reason() {
        let resolved = microk8s();
        let observed = ckf_1_11(&resolved.plan).without("katib-controller");
        assert_eq!(
            verdict(
                &resolved,
                &observed,
                "refresh",
                refresh_of("katib-controller")
            ),
            FactState::Skipped(
                "refresh katib-controller to 0.19/edge: katib-controller is not in the model"
                    .into()
            )
        );
        assert!(matches!(
            verdict(&resolved, &observed, "mesh", relation_of("katib-controller:service-mesh")),
            FactState::Skipped(why) if why.contains("katib-controller is not in the model")
        ));
    }

    #[test]
    fn relations_to_applications_the_plan_deploys_are_planned_before_they_exist() {
        let resolved = microk8s();
        let observed = ckf_1_11(&resolved.plan);
        assert!(matches!(
            verdict(&resolved, &observed, "mesh", relation_of("dex-auth:service-mesh")),
            FactState::Unmet(changes) if changes[0].to_string() == "juju integrate dex-auth:service-mesh istio-beacon-k8s:service-mesh"
        ));
    }

    #[test]
    fn a_dying_application_is_awaited_unless_a_unit_is_in_error() {
        let resolved = microk8s();
        let dying =
            Observed::default().with(app("istio-pilot", "istio-pilot", "1.28/stable").dying());
        assert_eq!(
            verdict(&resolved, &dying, "remove-istio-pilot", |k| matches!(
                k,
                FactKind::Absent { .. }
            )),
            FactState::Pending("istio-pilot being removed".into())
        );
        let stuck = Observed::default().with(
            app("istio-pilot", "istio-pilot", "1.28/stable")
                .dying()
                .workload("error", "hook failed: \"remove\""),
        );
        assert!(matches!(
            verdict(&resolved, &stuck, "remove-istio-pilot", |k| matches!(k, FactKind::Absent { .. })),
            FactState::Stopped(why) if why.contains("istio-pilot/0 is in error") && why.contains("juju resolve istio-pilot/0")
        ));
    }

    #[test]
    fn an_unexplained_blocked_status_stops_the_run_naming_the_unit() {
        let resolved = microk8s();
        let observed = Observed::default()
            .with(app("kfp-api", "kfp-api", "2.15/edge").workload("blocked", "database gone"));
        assert!(matches!(
            verdict(&resolved, &observed, "refresh", refresh_of("kfp-api")),
            FactState::Stopped(why) if why.contains("kfp-api/0 is blocked with \"database gone\"")
        ));
    }

    #[test]
    fn gateway_metadata_waits_are_transient_in_each_charms_own_spelling() {
        let plan = microk8s().plan;
        let waiting = |charm: &str, message: &str| is_transient(&plan, charm, "waiting", message);
        assert!(waiting(
            "kserve-controller",
            "Waiting for gateway-metadata relation data"
        ));
        for charm in [
            "jupyter-controller",
            "tensorboard-controller",
            "pvcviewer-operator",
        ] {
            assert!(
                waiting(charm, "Waiting for gateway metadata relation data"),
                "{charm}"
            );
            assert!(
                !waiting(charm, "Waiting for gateway-metadata relation data"),
                "{charm}"
            );
        }
    }

    #[test]
    fn known_transient_statuses_pass_where_allowed_and_wait_elsewhere() {
        let resolved = microk8s();
        let observed = Observed::default()
            .with(
                app("pvcviewer-operator", "pvcviewer-operator", "1.11/edge").workload(
                    "blocked",
                    "Service mesh relation present without gateway metadata relation",
                ),
            )
            .with(app("istio-beacon-k8s", "istio-beacon-k8s", "2/edge"))
            .related(
                "pvcviewer-operator:service-mesh",
                "istio-beacon-k8s:service-mesh",
            );
        assert_eq!(
            verdict(
                &resolved,
                &observed,
                "refresh",
                refresh_of("pvcviewer-operator")
            ),
            FactState::Done
        );
        assert!(matches!(
            verdict(&resolved, &observed, "mesh", relation_of("pvcviewer-operator:service-mesh")),
            FactState::Pending(why) if why.starts_with("pvcviewer-operator/0 (blocked")
        ));
    }

    #[test]
    fn a_unit_in_error_stops_the_run() {
        let resolved = microk8s();
        let observed = Observed::default().with(
            app("dex-auth", "dex-auth", "2.41/edge")
                .workload("error", "hook failed: \"upgrade-charm\""),
        );
        assert!(matches!(
            verdict(&resolved, &observed, "refresh", refresh_of("dex-auth")),
            FactState::Stopped(why) if why.contains("dex-auth/0 is in error") && why.contains("juju debug-log")
        ));
    }

    #[test]
    fn a_refresh_is_done_only_at_the_expected_revision_with_idle_units() {
        let resolved = microk8s();
        let memory = RunMemory {
            expected_revisions: [("kfp-ui".to_string(), 200)].into(),
        };
        let old = Observed::default().with(app("kfp-ui", "kfp-ui", "2.15/edge").revision(100));
        assert!(matches!(
            verdict_with(&resolved, &old, &memory, "refresh", refresh_of("kfp-ui")),
            FactState::Pending(why) if why.contains("revision 200")
        ));
        let busy = Observed::default().with(
            app("kfp-ui", "kfp-ui", "2.15/edge")
                .revision(200)
                .agent("executing"),
        );
        assert!(matches!(
            verdict_with(&resolved, &busy, &memory, "refresh", refresh_of("kfp-ui")),
            FactState::Pending(_)
        ));
        let done = Observed::default().with(app("kfp-ui", "kfp-ui", "2.15/edge").revision(200));
        assert_eq!(
            verdict_with(&resolved, &done, &memory, "refresh", refresh_of("kfp-ui")),
            FactState::Done
        );
    }

    #[test]
    fn a_deployed_application_with_other_config_or_no_trust_is_corrected() {
        let resolved = microk8s();
        let observed = Observed::default()
            .with(app("istio-k8s", "istio-k8s", "2/edge").config("platform", ""));
        let changes = match verdict(
            &resolved,
            &observed,
            "deploy-istio",
            |k| matches!(k, FactKind::Deployed { role, .. } if role == "istio-k8s"),
        ) {
            FactState::Unmet(changes) => changes.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
            other => panic!("expected unmet, got {other:?}"),
        };
        assert_eq!(
            changes,
            [
                "juju config istio-k8s platform=microk8s",
                "juju trust istio-k8s --scope=cluster"
            ]
        );
    }

    #[test]
    fn trust_is_granted_on_refresh_facts_that_ask_for_it() {
        let resolved = microk8s();
        let observed = Observed::default().with(app("minio", "minio", "1.10/edge"));
        assert_eq!(
            verdict(&resolved, &observed, "refresh", refresh_of("minio")),
            FactState::Unmet(vec![Change::SetTrust {
                application: "minio".into(),
                trust: true,
            }])
        );
        let trusted = Observed::default().with(app("minio", "minio", "1.10/edge").trusted());
        assert_eq!(
            verdict(&resolved, &trusted, "refresh", refresh_of("minio")),
            FactState::Done
        );
    }

    #[test]
    fn a_deployed_application_on_another_channel_is_refreshed_with_trust_in_one_change() {
        let resolved = microk8s();
        let observed = Observed::default()
            .with(app("istio-k8s", "istio-k8s", "2/stable").config("platform", "microk8s"));
        assert_eq!(
            verdict(
                &resolved,
                &observed,
                "deploy-istio",
                |k| matches!(k, FactKind::Deployed { role, .. } if role == "istio-k8s"),
            ),
            FactState::Unmet(vec![Change::Refresh {
                application: "istio-k8s".into(),
                channel: "2/edge".parse().expect("channel"),
                trust: true,
                revision: None,
            }])
        );
    }

    #[test]
    fn a_refresh_of_an_application_already_trusted_does_not_grant_trust_again() {
        let resolved = microk8s();
        let trusted = Observed::default().with(app("minio", "minio", "1.10/stable").trusted());
        let FactState::Unmet(changes) =
            verdict(&resolved, &trusted, "refresh", refresh_of("minio"))
        else {
            panic!("minio must be refreshed");
        };
        assert_eq!(
            changes.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["juju refresh minio --channel 1.10/edge"]
        );
    }

    #[test]
    fn cilium_restarts_only_after_its_config_holds_and_only_once() {
        let resolved = Plan::builtin()
            .expect("valid")
            .resolve(Params {
                model: "kubeflow".into(),
                platform: Platform::CanonicalK8s,
                restart_workloads: false,
            })
            .expect("resolves");
        let cilium = WorkloadRef {
            kind: WorkloadKind::DaemonSet,
            namespace: "kube-system".into(),
            name: "cilium".into(),
        };
        let rolled = |o: &Observed| {
            verdict(&resolved, o, "cilium", |k| {
                matches!(k, FactKind::RolledOut { .. })
            })
        };
        let mut observed = Observed::default();
        observed.cluster.config_maps.insert(
            "kube-system/cilium-config".into(),
            Some([("cni-exclusive".to_string(), "true".to_string())].into()),
        );
        observed.cluster.rollouts.insert(
            cilium.clone(),
            Some(Rollout {
                desired: 1,
                updated: 1,
                ready: 1,
                ..Rollout::default()
            }),
        );
        assert!(
            matches!(rolled(&observed), FactState::Pending(why) if why.contains("to hold the new settings"))
        );

        let configured: BTreeMap<String, String> = [
            ("bpf-lb-sock-hostns-only", "true"),
            ("cni-exclusive", "false"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .into();
        observed
            .cluster
            .config_maps
            .insert("kube-system/cilium-config".into(), Some(configured));
        let tag = match rolled(&observed) {
            FactState::Unmet(changes) => match &changes[0] {
                Change::RolloutRestart { annotations, .. } => annotations[RESTARTED_FOR].clone(),
                other => panic!("expected a restart, got {other}"),
            },
            other => panic!("expected a restart, got {other:?}"),
        };
        assert_eq!(
            tag,
            "kube-system/cilium-config:bpf-lb-sock-hostns-only=true,cni-exclusive=false"
        );

        let rollout = Rollout {
            template_annotations: [(RESTARTED_FOR.to_string(), tag)].into(),
            generation: 2,
            observed_generation: 2,
            desired: 3,
            updated: 1,
            ready: 3,
        };
        observed
            .cluster
            .rollouts
            .insert(cilium.clone(), Some(rollout.clone()));
        assert!(
            matches!(rolled(&observed), FactState::Pending(why) if why.contains("1/3 updated"))
        );
        observed.cluster.rollouts.insert(
            cilium,
            Some(Rollout {
                updated: 3,
                ..rollout
            }),
        );
        assert_eq!(rolled(&observed), FactState::Done);
    }

    #[test]
    fn only_the_guides_workloads_are_recycled_unless_asked() {
        let resolved = microk8s();
        let observed = ckf_1_11(&resolved.plan);
        let recycled = |r: &Resolved| verdict(r, &observed, "recycle-sidecars", |_| true);
        assert!(
            matches!(recycled(&resolved), FactState::Unmet(c) if c.len() == 1 && c[0].to_string() == "kubectl -n admin rollout restart deployment ml-pipeline-ui-artifact")
        );
        let FactKind::SidecarsRecycled { workloads } =
            &resolved.plan.phases.last().expect("phases").facts[0].kind
        else {
            panic!("last phase recycles sidecars")
        };
        let inventory = observed.cluster.sidecars.clone().expect("observed");
        let left = sidecar_leftovers(&resolved, workloads, &inventory);
        assert_eq!(left.len(), 1);
        assert!(left[0].starts_with("Notebook admin/my-notebook (StatefulSet admin/my-notebook) still runs istio-proxy sidecars"), "{}", left[0]);

        let mut all = resolved.clone();
        all.params.restart_workloads = true;
        assert!(matches!(recycled(&all), FactState::Unmet(c) if c.len() == 2));
        assert!(sidecar_leftovers(&all, workloads, &inventory).is_empty());
    }

    #[test]
    fn profile_namespaces_are_awaited_until_ambient() {
        let resolved = microk8s();
        let observed = ckf_1_11(&resolved.plan);
        assert!(matches!(
            verdict(&resolved, &observed, "mesh", |k| matches!(k, FactKind::ProfileNamespacesAmbient { .. })),
            FactState::Pending(why) if why.ends_with(": admin")
        ));
    }

    #[test]
    fn two_applications_running_the_same_charm_stop_the_run() {
        let resolved = microk8s();
        let observed = Observed::default()
            .with(app("minio-a", "minio", "1.10/stable"))
            .with(app("minio-b", "minio", "1.10/stable"));
        assert!(matches!(
            verdict(&resolved, &observed, "refresh", refresh_of("minio")),
            FactState::Stopped(why) if why.contains("minio-a, minio-b")
        ));
    }

    #[test]
    fn a_missing_workload_sidecar_list_is_just_done() {
        let resolved = microk8s();
        let mut observed = Observed::default();
        observed.cluster.sidecars = Some(SidecarInventory {
            workloads: vec![sidecar_workload("x", WorkloadKind::Deployment, None)],
            unrestartable: vec![],
        });
        assert_eq!(
            verdict(&resolved, &observed, "recycle-sidecars", |_| true),
            FactState::Done
        );
    }
}

/// The plan against the guide itself: every `juju` command of the guide is what the plan does to
/// a CKF 1.11 model, and the plan does nothing else to Juju but what it marks beyond the guide.
#[cfg(test)]
mod guide_tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::plan::fixtures::{ckf_1_11, microk8s};

    const GUIDE: &str = include_str!("../../plans/migrate-ambient-guide.txt");

    /// The guide's Juju commands, as the MicroK8s reader types them, one setting per line.
    fn guide_commands() -> BTreeSet<String> {
        GUIDE
            .lines()
            // The extraction of the web page glues some commands to the prose before them.
            .filter_map(|l| l.find("juju ").map(|start| l[start..].trim()))
            .filter(|l| *l != "juju status")
            // The deploy of istio-k8s is given once per platform; this is the MicroK8s run.
            .filter(|l| !l.contains("platform=\"\"") && !l.contains("<appropriate-value>"))
            .map(|l| match l {
                // Juju infers these endpoints; the plan names them.
                "juju integrate istio-ingress-k8s istio-k8s" => {
                    "juju integrate istio-ingress-k8s:istio-ingress-config istio-k8s:istio-ingress-config".to_string()
                }
                "juju integrate envoy:service-mesh istio-beacon-k8s" => {
                    "juju integrate envoy:service-mesh istio-beacon-k8s:service-mesh".to_string()
                }
                other => other.to_string(),
            })
            .collect()
    }

    /// What the plan does to Juju on a CKF 1.11 model, split to one setting per `juju config`.
    fn plan_commands() -> (BTreeSet<String>, BTreeSet<String>) {
        let resolved = microk8s();
        let observed = ckf_1_11(&resolved.plan);
        let (mut all, mut beyond) = (BTreeSet::new(), BTreeSet::new());
        for phase in &resolved.plan.phases {
            for fact in &phase.facts {
                if let FactState::Unmet(changes) =
                    evaluate(&resolved, phase, fact, &observed, &RunMemory::default())
                {
                    for change in changes.into_iter().filter(Change::is_juju) {
                        let lines = match &change {
                            Change::SetConfig {
                                application,
                                values,
                                ..
                            } => values
                                .iter()
                                .map(|(k, v)| format!("juju config {application} {k}={v}"))
                                .collect(),
                            other => vec![other.to_string()],
                        };
                        if fact.beyond_guide.is_some() {
                            beyond.extend(lines.iter().cloned());
                        }
                        all.extend(lines);
                    }
                }
            }
        }
        (all, beyond)
    }

    #[test]
    fn the_plan_runs_every_juju_command_of_the_guide() {
        let (plan, _) = plan_commands();
        let missing: Vec<_> = guide_commands().difference(&plan).cloned().collect();
        assert!(
            missing.is_empty(),
            "the plan misses these commands of the guide: {missing:#?}"
        );
    }

    #[test]
    fn whatever_the_plan_adds_to_the_guide_is_marked_beyond_it() {
        let (plan, beyond) = plan_commands();
        let added: BTreeSet<_> = plan.difference(&guide_commands()).cloned().collect();
        assert_eq!(
            added, beyond,
            "commands not in the guide must come from beyond-guide facts"
        );
        assert_eq!(
            added.into_iter().collect::<Vec<_>>(),
            [
                "juju integrate pvcviewer-operator:gateway-metadata istio-ingress-k8s:gateway-metadata"
            ]
        );
    }
}

/// The facts a restore adds: exact names, pinned revisions, reset options, trust removed, scale,
/// relations removed, and sidecars back.
#[cfg(test)]
mod restore_tests {
    use super::*;
    use crate::plan::fixtures::app;
    use crate::plan::{Params, Platform, WorkloadKind, WorkloadRef};

    /// One phase of `facts` over exactly named applications, as a restore builds it.
    fn restore_phase(settle: Settle, facts: Vec<FactKind>, apps: &[(&str, &str)]) -> Resolved {
        let roles = apps
            .iter()
            .map(|(name, charm)| {
                (
                    name.to_string(),
                    crate::plan::Role {
                        name: name.to_string(),
                        charm: charm.to_string(),
                        ckf_track: None,
                        exact: true,
                    },
                )
            })
            .collect();
        Resolved {
            plan: Plan {
                name: "restore-sidecar".into(),
                guide: "a backup".into(),
                roles,
                transient: Vec::new(),
                phases: vec![Phase {
                    name: "restore".into(),
                    title: "t".into(),
                    only_on: None,
                    settle,
                    beyond_guide: None,
                    facts: facts
                        .into_iter()
                        .map(|kind| Fact {
                            kind,
                            beyond_guide: None,
                        })
                        .collect(),
                }],
            },
            params: Params {
                model: "kubeflow".into(),
                platform: Platform::Microk8s,
                restart_workloads: false,
            },
        }
    }

    fn only(resolved: &Resolved, observed: &Observed) -> FactState {
        let phase = &resolved.plan.phases[0];
        evaluate(
            resolved,
            phase,
            &phase.facts[0],
            observed,
            &RunMemory::default(),
        )
    }

    #[test]
    fn an_exact_role_is_never_found_by_its_charm() {
        let resolved = restore_phase(
            Settle::Idle,
            vec![FactKind::Absent {
                role: "istio-ingressgateway".into(),
            }],
            &[("istio-ingressgateway", "istio-gateway")],
        );
        let other =
            Observed::default().with(app("istio-egressgateway", "istio-gateway", "1.24/stable"));
        assert_eq!(only(&resolved, &other), FactState::Done);
    }

    #[test]
    fn a_pinned_revision_is_refreshed_to_even_on_the_same_channel() {
        let resolved = restore_phase(
            Settle::Idle,
            vec![FactKind::Refreshed {
                role: "kfp-api".into(),
                channel: "2.5/stable".parse().expect("channel"),
                trust: false,
                revision: Some(1000),
            }],
            &[("kfp-api", "kfp-api")],
        );
        let newer =
            Observed::default().with(app("kfp-api", "kfp-api", "2.5/stable").revision(1100));
        assert_eq!(
            only(&resolved, &newer),
            FactState::Unmet(vec![Change::Refresh {
                application: "kfp-api".into(),
                channel: "2.5/stable".parse().expect("channel"),
                trust: false,
                revision: Some(1000),
            }])
        );
        let there =
            Observed::default().with(app("kfp-api", "kfp-api", "2.5/stable").revision(1000));
        assert_eq!(only(&resolved, &there), FactState::Done);
    }

    #[test]
    fn options_a_user_set_are_reset_and_hidden_values_set() {
        let resolved = restore_phase(
            Settle::Idle,
            vec![FactKind::Configured {
                role: "kubeflow-profiles".into(),
                config: [("admin".to_string(), "secret-ish".to_string())].into(),
                reset: vec!["service-mesh-mode".into(), "never-set".into()],
                hide_values: true,
            }],
            &[("kubeflow-profiles", "kubeflow-profiles")],
        );
        let mut profiles = app("kubeflow-profiles", "kubeflow-profiles", "1.11/stable")
            .config("service-mesh-mode", "istio-ambient");
        profiles.user_set = Some(["service-mesh-mode".to_string()].into());
        let state = only(&resolved, &Observed::default().with(profiles.clone()));
        let FactState::Unmet(changes) = &state else {
            panic!("unmet: {state:?}");
        };
        assert_eq!(
            changes[1],
            Change::ResetConfig {
                application: "kubeflow-profiles".into(),
                options: vec!["service-mesh-mode".into()],
            }
        );
        assert!(
            !changes[0].to_string().contains("secret-ish"),
            "{}",
            changes[0]
        );
        profiles = profiles.config("admin", "secret-ish");
        profiles.user_set = Some(["admin".to_string()].into());
        assert_eq!(
            only(&resolved, &Observed::default().with(profiles)),
            FactState::Done
        );
    }

    #[test]
    fn trust_is_removed_scale_set_and_a_relation_removed_as_the_backup_has_them() {
        let apps = [
            ("kfp-api", "kfp-api"),
            ("istio-beacon-k8s", "istio-beacon-k8s"),
        ];
        let trusted = Observed::default().with(app("kfp-api", "kfp-api", "2.5/stable").trusted());
        let untrust = restore_phase(
            Settle::Idle,
            vec![FactKind::Trusted {
                role: "kfp-api".into(),
                trust: false,
            }],
            &apps,
        );
        assert_eq!(
            only(&untrust, &trusted),
            FactState::Unmet(vec![Change::SetTrust {
                application: "kfp-api".into(),
                trust: false,
            }])
        );
        let scale = restore_phase(
            Settle::Idle,
            vec![FactKind::Scaled {
                role: "kfp-api".into(),
                units: 2,
            }],
            &apps,
        );
        assert_eq!(
            only(&scale, &trusted),
            FactState::Unmet(vec![Change::Scale {
                application: "kfp-api".into(),
                units: 2,
            }])
        );
        let unrelate = restore_phase(
            Settle::Idle,
            vec![FactKind::Unrelated {
                a: "istio-beacon-k8s:service-mesh".parse().expect("endpoint"),
                b: "kfp-api:service-mesh".parse().expect("endpoint"),
            }],
            &apps,
        );
        let related = trusted
            .clone()
            .with(app("istio-beacon-k8s", "istio-beacon-k8s", "2/edge"))
            .related("istio-beacon-k8s:service-mesh", "kfp-api:service-mesh");
        assert!(
            matches!(only(&unrelate, &related), FactState::Unmet(c) if matches!(c[0], Change::Unrelate { .. }))
        );
        assert_eq!(
            only(&unrelate, &trusted),
            FactState::Done,
            "gone with the beacon"
        );
    }

    #[test]
    fn a_restore_phase_waits_through_any_blocked_status_but_the_last_asks_for_active() {
        let blocked = Observed::default().with(
            app("kfp-api", "kfp-api", "2.5/stable").workload("blocked", "Missing relation: mysql"),
        );
        let settled = |settle| {
            restore_phase(
                settle,
                vec![FactKind::Settled {
                    role: "kfp-api".into(),
                }],
                &[("kfp-api", "kfp-api")],
            )
        };
        assert_eq!(only(&settled(Settle::Idle), &blocked), FactState::Done);
        assert!(matches!(
            only(&settled(Settle::Active), &blocked),
            FactState::Stopped(_)
        ));
    }

    #[test]
    fn sidecars_come_back_once_the_namespaces_are_labelled_for_injection() {
        let resolved = restore_phase(Settle::Active, vec![FactKind::SidecarsInjected], &[]);
        let workload = crate::plan::SidecarWorkload {
            workload: WorkloadRef {
                kind: WorkloadKind::StatefulSet,
                namespace: "admin".into(),
                name: "nb".into(),
            },
            controller: None,
            pods: vec!["nb-0".into()],
        };
        let mut observed = Observed::default();
        observed.cluster.profile_namespaces = Some(vec![crate::plan::ProfileNamespace {
            name: "admin".into(),
            labels: [("istio-injection".to_string(), "disabled".to_string())].into(),
        }]);
        observed.cluster.missing_sidecars = Some(SidecarInventory {
            workloads: vec![workload.clone()],
            unrestartable: Vec::new(),
        });
        assert!(matches!(only(&resolved, &observed), FactState::Pending(p) if p.contains("admin")));
        observed.cluster.profile_namespaces = Some(vec![crate::plan::ProfileNamespace {
            name: "admin".into(),
            labels: [("istio-injection".to_string(), "enabled".to_string())].into(),
        }]);
        assert_eq!(
            only(&resolved, &observed),
            FactState::Unmet(vec![Change::RolloutRestart {
                workload: workload.workload.clone(),
                annotations: BTreeMap::new(),
            }])
        );
        observed.cluster.missing_sidecars = Some(SidecarInventory::default());
        assert_eq!(only(&resolved, &observed), FactState::Done);
    }
}
