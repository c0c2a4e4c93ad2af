//! A restore plan as the engine runs it: the steps turned into the desired facts that the
//! migration's reconcile loop makes true, phase by phase, with the backup's values in them.
//!
//! A step says what differs; its fact says what must hold, so the loop can judge it against
//! every fresh observation, apply it once, and wait until it is so — a re-run after a failure
//! simply finds fewer facts unmet. Every application is named exactly (no lookup by charm: a
//! backup may hold two applications of one charm), and every backed-up config value is marked
//! hidden, so no command the engine reports prints it.

use std::collections::BTreeMap;

use crate::backup::{Application, Backup, Relation};
use crate::plan::model::TransientStatus;
use crate::plan::model::{CharmBase, Pinned};
use crate::plan::{Fact, FactKind, LegacyObject, Phase, Plan, Role, Settle};

use super::{RestorePlan, Step};

/// Name of the plan the engine reports for a restore.
pub const PLAN_NAME: &str = "restore-sidecar";

/// The phase that waits for every application of the backup to be active and idle, and the
/// sidecar control plane to be serving.
const SETTLE_PHASE: &str = "settle";

/// The last phase of a restore to sidecar mode: the pods of the profile namespaces get their
/// sidecars back.
const REINJECT_PHASE: &str = "reinject";

/// The webhook istio-pilot's injector registers (`istioctl install`'s
/// `istio-sidecar-injector`), which must answer before a restarted pod can be injected.
const INJECTOR_WEBHOOK: &str = "sidecar-injector.istio.io";

/// Why a restore plan cannot be run by the engine; each says what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("restore cannot make every change by itself: {}; nothing was changed", .reasons.join("; "))]
pub struct NotRunnable {
    /// One sentence per difference, each with the command to run by hand.
    pub reasons: Vec<String>,
}

/// The facts that make the model equal to `target`, in the phases of `planned`, then the phases
/// that wait for every application of the backup to be active and, for a backup in sidecar
/// mode, bring the sidecars back. Those last phases are there even when the model already equals
/// the backup: a restore stopped while it restarted pods is finished by the next one. `transient`
/// is what the migration plan knows a half-migrated model shows, kept for the messages of its
/// charms.
///
/// # Errors
/// [`NotRunnable`] when the plan holds a difference restore cannot close (a charm deployed from
/// a file, an offer to consume again): the operator closes it by hand first.
pub fn desired(
    planned: &RestorePlan,
    target: &Backup,
    current: &Backup,
    transient: Vec<TransientStatus>,
) -> Result<Plan, NotRunnable> {
    let mut reasons: Vec<String> = planned
        .unrestorable
        .iter()
        .map(ToString::to_string)
        .map(|line| line.trim_start_matches("# ").to_string())
        .collect();
    let mut phases = Vec::new();
    for phase in &planned.phases {
        let mut facts = Vec::new();
        for step in &phase.steps {
            match fact(step, target) {
                Ok(kind) => facts.push(Fact {
                    kind,
                    beyond_guide: None,
                }),
                Err(reason) => reasons.push(reason),
            }
        }
        phases.push(Phase {
            name: phase.name.clone(),
            title: phase.title.clone(),
            only_on: None,
            // An old revision waits or blocks on a relation a later phase brings back; the last
            // phase asks for every application active.
            settle: Settle::Idle,
            beyond_guide: None,
            facts,
        });
    }
    if !reasons.is_empty() {
        return Err(NotRunnable { reasons });
    }
    phases.extend(settle(target));
    Ok(Plan {
        name: PLAN_NAME.into(),
        guide: format!("the backup {}", target.config_map),
        roles: roles(target, current),
        transient,
        phases,
    })
}

/// Every application of the backup active and idle; for a backup in sidecar mode also istiod and
/// its injector serving, and then every pod of the profile namespaces with its sidecar again
/// (restarted once the namespaces carry the injection label, so the injector sees them).
fn settle(target: &Backup) -> Vec<Phase> {
    let fact = |kind| Fact {
        kind,
        beyond_guide: None,
    };
    let mut facts: Vec<Fact> = target
        .applications
        .keys()
        .map(|name| fact(FactKind::Settled { role: name.clone() }))
        .collect();
    let sidecar_mode = super::in_sidecar_mode(target);
    if sidecar_mode {
        facts.push(fact(FactKind::Present(LegacyObject::Deployment {
            namespace: target.model.clone(),
            name: "istiod".into(),
        })));
        facts.push(fact(FactKind::Present(LegacyObject::MutatingWebhook {
            webhook: INJECTOR_WEBHOOK.into(),
        })));
    }
    let mut phases = vec![Phase {
        name: SETTLE_PHASE.into(),
        title: "Wait until every application of the backup is active".into(),
        only_on: None,
        settle: Settle::Active,
        beyond_guide: None,
        facts,
    }];
    if sidecar_mode {
        phases.push(Phase {
            name: REINJECT_PHASE.into(),
            title: "Restart the pods of the profile namespaces so they get their sidecars back"
                .into(),
            only_on: None,
            settle: Settle::Active,
            beyond_guide: None,
            facts: vec![fact(FactKind::SidecarsInjected)],
        });
    }
    phases
}

/// Every application on either side, found by its exact name; the backup's charm wins when both
/// sides have one under that name.
fn roles(target: &Backup, current: &Backup) -> BTreeMap<String, Role> {
    current
        .applications
        .values()
        .chain(target.applications.values())
        .map(|app| {
            (
                app.name.clone(),
                Role {
                    name: app.name.clone(),
                    charm: app.charm.clone(),
                    ckf_track: None,
                    exact: true,
                },
            )
        })
        .collect()
}

/// The fact a step makes true, with the backup's values; `Err` with what to do by hand.
fn fact(step: &Step, target: &Backup) -> Result<FactKind, String> {
    let backed_up = |application: &str| -> Result<&Application, String> {
        target.applications.get(application).ok_or_else(|| {
            format!("internal error: {application} is not in the backup; please report it")
        })
    };
    Ok(match step {
        Step::Remove { application, .. } => FactKind::Absent {
            role: application.clone(),
        },
        Step::Deploy(deployment) => {
            let then = backed_up(&deployment.application)?;
            FactKind::Deployed {
                role: deployment.application.clone(),
                channel: deployment.channel.clone(),
                trust: deployment.trust,
                config: then.config.options().clone(),
                pinned: Some(Pinned {
                    revision: deployment.revision,
                    base: deployment.base.as_ref().map(|b| CharmBase {
                        name: b.name.clone(),
                        channel: b.channel.clone(),
                    }),
                    units: deployment.scale,
                }),
                hide_values: true,
            }
        }
        Step::Refresh {
            application,
            channel,
            revision,
            ..
        } => FactKind::Refreshed {
            role: application.clone(),
            channel: channel.clone(),
            // Trust is a step of its own, in the same phase.
            trust: false,
            revision: *revision,
        },
        Step::Configure {
            application,
            set,
            reset,
            ..
        } => {
            let then = backed_up(application)?;
            let options = then.config.options();
            FactKind::Configured {
                role: application.clone(),
                config: set
                    .iter()
                    .filter_map(|k| options.get(k).map(|v| (k.clone(), v.clone())))
                    .collect(),
                reset: reset.clone(),
                hide_values: true,
            }
        }
        Step::Trust {
            application, trust, ..
        } => FactKind::Trusted {
            role: application.clone(),
            trust: *trust,
        },
        Step::Scale {
            application, scale, ..
        } => FactKind::Scaled {
            role: application.clone(),
            units: *scale,
        },
        Step::Relate { relation, .. } => match relation {
            Relation::Between(a, b) => FactKind::Related {
                a: a.clone(),
                b: b.clone(),
            },
            Relation::Peer(_) => {
                return Err(format!(
                    "internal error: peer relation {relation} planned; please report it"
                ));
            }
        },
        Step::Unrelate { relation, .. } => match relation {
            Relation::Between(a, b) => FactKind::Unrelated {
                a: a.clone(),
                b: b.clone(),
            },
            Relation::Peer(_) => {
                return Err(format!(
                    "internal error: peer relation {relation} planned; please report it"
                ));
            }
        },
        Step::Consume { .. } => {
            return Err(format!(
                "the offer behind a cross-model relation is no longer consumed: run `{step}`, then re-run restore"
            ));
        }
        Step::Unrestorable {
            application,
            reason,
        } => return Err(format!("{application}: {reason}")),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::super::fixtures::{app, backup};
    use super::super::{Order, plan};
    use super::*;

    fn restore_plan(target: &Backup, current: &Backup) -> RestorePlan {
        plan(
            target,
            current,
            &BTreeSet::new(),
            &Order::builtin().expect("valid"),
        )
    }

    #[test]
    fn each_step_becomes_its_fact_and_a_last_phase_waits_for_every_application() {
        let mut then = app("kfp-api", "kfp-api", "2.5/stable", 1000);
        then.config = BTreeMap::from([("log-level".to_string(), "secret-ish".to_string())]).into();
        let target = backup(
            vec![then, app("istio-pilot", "istio-pilot", "1.24/stable", 1100)],
            vec![],
        );
        let current = backup(
            vec![
                app("kfp-api", "kfp-api", "2.15/edge", 1800),
                app("istio-k8s", "istio-k8s", "2/edge", 50),
            ],
            vec![],
        );
        let planned = restore_plan(&target, &current);
        let desired = desired(&planned, &target, &current, Vec::new()).expect("runnable");
        let names: Vec<&str> = desired.phases.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "remove-istio-k8s",
                "deploy-istio",
                "refresh",
                "configure",
                "settle",
                "reinject"
            ]
        );
        let kinds: Vec<&FactKind> = desired
            .phases
            .iter()
            .flat_map(|p| &p.facts)
            .map(|f| &f.kind)
            .collect();
        assert!(kinds.iter().any(|k| matches!(k,
            FactKind::Refreshed { role, revision: Some(1000), .. } if role == "kfp-api")));
        assert!(kinds.iter().any(|k| matches!(k,
            FactKind::Deployed { role, pinned: Some(Pinned { revision: Some(1100), .. }), hide_values: true, .. }
                if role == "istio-pilot")));
        assert!(kinds.iter().any(|k| matches!(k,
            FactKind::Configured { config, hide_values: true, .. }
                if config.get("log-level").map(String::as_str) == Some("secret-ish"))));
        let settle = &desired.phases[4];
        assert_eq!(settle.settle, Settle::Active);
        let awaited: Vec<String> = settle.facts.iter().map(|f| f.kind.to_string()).collect();
        assert_eq!(
            awaited,
            [
                "istio-pilot settled",
                "kfp-api settled",
                "Deployment kubeflow/istiod present",
                "MutatingWebhookConfiguration with webhook sidecar-injector.istio.io present"
            ]
        );
        assert_eq!(desired.phases[5].facts[0].kind, FactKind::SidecarsInjected);
        assert!(desired.roles.values().all(|r| r.exact));
        // No printed form of a fact or its change shows a backed-up value.
        for kind in kinds {
            assert!(!kind.to_string().contains("secret-ish"), "{kind}");
        }
    }

    #[test]
    fn a_model_equal_to_its_backup_still_checks_it_settled_with_its_sidecars() {
        let target = backup(
            vec![app("istio-pilot", "istio-pilot", "1.24/stable", 1100)],
            vec![],
        );
        let planned = restore_plan(&target, &target);
        assert!(planned.is_empty());
        let desired = desired(&planned, &target, &target, Vec::new()).expect("runnable");
        let names: Vec<&str> = desired.phases.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["settle", "reinject"]);
    }

    #[test]
    fn a_local_charm_is_refused_with_what_to_do() {
        let mut local = app("my-charm", "my-charm", "stable", 3);
        local.channel = None;
        let target = backup(vec![local], vec![]);
        let current = backup(vec![], vec![]);
        let planned = restore_plan(&target, &current);
        let refused = desired(&planned, &target, &current, Vec::new()).expect_err("refused");
        assert!(refused.to_string().contains("local file"), "{refused}");
        assert!(
            refused.to_string().ends_with("nothing was changed"),
            "{refused}"
        );
    }
}
