//! What differs between the model as it is and as its backup has it: the steps, unordered.
//!
//! Both sides are [`Backup`]s: the live model is read the way a backup is taken, so the two are
//! compared field for field with nothing lost in translation.

use std::collections::BTreeSet;

use crate::backup::{Application, Backup, Relation};

use super::step::{Deployment, Step};

/// The steps that make `current` equal to `target`, leaving `keep` alone (ckf-migrator's own
/// application: a restore does not remove, refresh or reconfigure the charm that runs it).
///
/// Peer relations are not compared: Juju creates them with their application.
pub fn diff(target: &Backup, current: &Backup, keep: &BTreeSet<String>) -> Vec<Step> {
    let mut steps = Vec::new();
    for (name, now) in &current.applications {
        if keep.contains(name) {
            continue;
        }
        match target.applications.get(name) {
            None => steps.push(Step::Remove {
                application: name.clone(),
                charm: now.charm.clone(),
            }),
            Some(then) if then.charm != now.charm => {
                steps.push(Step::Remove {
                    application: name.clone(),
                    charm: now.charm.clone(),
                });
                steps.push(deploy(then));
            }
            Some(then) => steps.extend(changes(then, now)),
        }
    }
    for (name, then) in &target.applications {
        if !keep.contains(name) && !current.applications.contains_key(name) {
            steps.push(deploy(then));
        }
    }
    for (name, remote) in &target.remote_applications {
        if !current.remote_applications.contains_key(name) {
            steps.push(Step::Consume {
                name: name.clone(),
                offer_url: remote.offer_url.clone(),
            });
        }
    }
    steps.extend(relations(target, current, keep));
    steps
}

/// An application as the backup has it, deployed.
fn deploy(then: &Application) -> Step {
    let Some(channel) = then.channel.clone() else {
        return local_charm(then);
    };
    Step::Deploy(Deployment {
        application: then.name.clone(),
        charm: then.charm.clone(),
        channel,
        revision: then.revision,
        base: then.base.clone(),
        trust: then.trust,
        config: then.config.options().keys().cloned().collect(),
        scale: then.scale,
    })
}

/// A charm deployed from a file has no channel to go back to.
fn local_charm(then: &Application) -> Step {
    Step::Unrestorable {
        application: then.name.clone(),
        reason: format!(
            "its charm {} was deployed from a local file, which the store cannot serve again; \
             deploy it from that file by hand",
            then.charm
        ),
    }
}

/// The changes to one application present on both sides with the same charm.
fn changes(then: &Application, now: &Application) -> Vec<Step> {
    let mut steps = Vec::new();
    let application = then.name.clone();
    let charm = then.charm.clone();
    let moved =
        then.channel != now.channel || (then.revision.is_some() && then.revision != now.revision);
    if moved {
        match &then.channel {
            Some(channel) => steps.push(Step::Refresh {
                application: application.clone(),
                charm: charm.clone(),
                channel: channel.clone(),
                revision: then.revision,
            }),
            None => steps.push(local_charm(then)),
        }
    }
    let set: Vec<String> = then
        .config
        .options()
        .iter()
        .filter(|(option, value)| now.config.get(option) != Some(value.as_str()))
        .map(|(option, _)| option.clone())
        .collect();
    let reset: Vec<String> = now
        .config
        .options()
        .keys()
        .filter(|option| then.config.get(option).is_none())
        .cloned()
        .collect();
    if !set.is_empty() || !reset.is_empty() {
        steps.push(Step::Configure {
            application: application.clone(),
            charm: charm.clone(),
            set,
            reset,
        });
    }
    if then.trust != now.trust {
        steps.push(Step::Trust {
            application: application.clone(),
            charm: charm.clone(),
            trust: then.trust,
        });
    }
    if then.scale != now.scale {
        steps.push(Step::Scale {
            application,
            charm,
            scale: then.scale,
        });
    }
    steps
}

/// Relations to add and to remove. A relation with an end in `keep`, or in an offer consumed
/// since the backup (an integration with another model made later, COS's say), is left as it is:
/// restore puts this model back, not its ties to models it does not own.
fn relations(target: &Backup, current: &Backup, keep: &BTreeSet<String>) -> Vec<Step> {
    let later_offer = |application: &str| {
        current.remote_applications.contains_key(application)
            && !target.remote_applications.contains_key(application)
    };
    let between = |b: &Backup| -> BTreeSet<Relation> {
        b.relations
            .iter()
            .filter(|r| !r.is_peer())
            .filter(|r| {
                r.endpoints()
                    .iter()
                    .all(|e| !keep.contains(&e.application) && !later_offer(&e.application))
            })
            .cloned()
            .collect()
    };
    let (wanted, present) = (between(target), between(current));
    let charms = |b: &Backup, r: &Relation| -> Vec<String> {
        r.endpoints()
            .iter()
            .map(|e| {
                b.applications
                    .get(&e.application)
                    .map_or_else(|| e.application.clone(), |a| a.charm.clone())
            })
            .collect()
    };
    let mut steps: Vec<Step> = present
        .difference(&wanted)
        .map(|r| Step::Unrelate {
            relation: r.clone(),
            charms: charms(current, r),
        })
        .collect();
    steps.extend(wanted.difference(&present).map(|r| Step::Relate {
        relation: r.clone(),
        charms: charms(target, r),
    }));
    steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::restore::fixtures::{app, backup, relation};

    fn shown(steps: &[Step]) -> Vec<String> {
        steps.iter().map(ToString::to_string).collect()
    }

    fn keep_nothing() -> BTreeSet<String> {
        BTreeSet::new()
    }

    #[test]
    fn a_model_equal_to_its_backup_needs_nothing() {
        let b = backup(vec![app("kfp-api", "kfp-api", "2.5/stable", 1000)], vec![]);
        assert!(diff(&b, &b, &keep_nothing()).is_empty());
    }

    #[test]
    fn applications_the_backup_lacks_go_and_those_it_has_come_back_at_their_revision() {
        let target = backup(
            vec![
                app("istio-pilot", "istio-pilot", "1.24/stable", 1100),
                app("kfp-api", "kfp-api", "2.5/stable", 1000),
            ],
            vec![],
        );
        let current = backup(
            vec![
                app("istio-k8s", "istio-k8s", "2/edge", 50),
                app("kfp-api", "kfp-api", "2.15/edge", 1800),
            ],
            vec![],
        );
        assert_eq!(
            shown(&diff(&target, &current, &keep_nothing())),
            [
                "juju remove-application istio-k8s",
                "juju refresh kfp-api --channel 2.5/stable --revision 1000",
                "juju deploy istio-pilot --channel 1.24/stable --revision 1100 --base ubuntu@22.04",
            ]
        );
    }

    #[test]
    fn a_revision_change_on_the_same_channel_is_a_refresh() {
        let target = backup(vec![app("kfp-api", "kfp-api", "2.5/stable", 1000)], vec![]);
        let current = backup(vec![app("kfp-api", "kfp-api", "2.5/stable", 1010)], vec![]);
        assert_eq!(
            shown(&diff(&target, &current, &keep_nothing())),
            ["juju refresh kfp-api --channel 2.5/stable --revision 1000"]
        );
    }

    #[test]
    fn config_set_since_is_reset_and_config_changed_since_is_set_back() {
        let mut then = app("kubeflow-profiles", "kubeflow-profiles", "1.10/stable", 400);
        then.config = [("security-policy".to_string(), "privileged".to_string())]
            .into_iter()
            .collect::<std::collections::BTreeMap<_, _>>()
            .into();
        let mut now = then.clone();
        now.config = [
            ("security-policy".to_string(), "baseline".to_string()),
            ("service-mesh-mode".to_string(), "istio-ambient".to_string()),
        ]
        .into_iter()
        .collect::<std::collections::BTreeMap<_, _>>()
        .into();
        let steps = diff(
            &backup(vec![then], vec![]),
            &backup(vec![now], vec![]),
            &keep_nothing(),
        );
        assert_eq!(
            steps,
            [Step::Configure {
                application: "kubeflow-profiles".into(),
                charm: "kubeflow-profiles".into(),
                set: vec!["security-policy".into()],
                reset: vec!["service-mesh-mode".into()],
            }]
        );
    }

    #[test]
    fn trust_and_scale_go_back_to_the_backups() {
        let mut then = app("minio", "minio", "ckf-1.10/stable", 300);
        then.scale = 2;
        let mut now = then.clone();
        now.trust = true;
        now.scale = 1;
        assert_eq!(
            shown(&diff(
                &backup(vec![then], vec![]),
                &backup(vec![now], vec![]),
                &keep_nothing()
            )),
            [
                "juju trust minio --remove",
                "juju scale-application minio 2"
            ]
        );
    }

    #[test]
    fn relations_are_added_and_removed_but_peers_are_left_to_juju() {
        let apps = || {
            vec![
                app("kfp-api", "kfp-api", "2.5/stable", 1000),
                app("mysql", "mysql-k8s", "8.0/stable", 127),
                app("istio-beacon-k8s", "istio-beacon-k8s", "2/edge", 40),
            ]
        };
        let target = backup(
            apps(),
            vec![
                relation("kfp-api:relational-db mysql:database"),
                relation("mysql:database-peers"),
            ],
        );
        let current = backup(
            apps(),
            vec![relation(
                "kfp-api:service-mesh istio-beacon-k8s:service-mesh",
            )],
        );
        let steps = diff(&target, &current, &keep_nothing());
        assert_eq!(
            shown(&steps),
            [
                "juju remove-relation istio-beacon-k8s:service-mesh kfp-api:service-mesh",
                "juju integrate kfp-api:relational-db mysql:database",
            ]
        );
        assert_eq!(steps[0].charms(), ["istio-beacon-k8s", "kfp-api"]);
        assert_eq!(steps[1].charms(), ["kfp-api", "mysql-k8s"]);
    }

    #[test]
    fn the_charm_that_runs_the_restore_is_left_alone() {
        let target = backup(vec![app("kfp-api", "kfp-api", "2.5/stable", 1000)], vec![]);
        let current = backup(
            vec![
                app("kfp-api", "kfp-api", "2.5/stable", 1000),
                app("ckf-migrator", "ckf-migrator", "latest/edge", 9),
            ],
            vec![],
        );
        let keep = BTreeSet::from(["ckf-migrator".to_string()]);
        assert!(diff(&target, &current, &keep).is_empty());
    }

    #[test]
    fn another_charm_under_the_same_name_is_removed_then_deployed() {
        let target = backup(
            vec![app("dex-auth", "dex-auth", "2.39/stable", 500)],
            vec![],
        );
        let current = backup(vec![app("dex-auth", "dex-k8s", "latest/edge", 3)], vec![]);
        assert_eq!(
            shown(&diff(&target, &current, &keep_nothing())),
            [
                "juju remove-application dex-auth",
                "juju deploy dex-auth --channel 2.39/stable --revision 500 --base ubuntu@22.04",
            ]
        );
    }

    #[test]
    fn an_offer_the_backup_reached_is_consumed_again_and_later_ones_are_left_alone() {
        let apps = || vec![app("kfp-api", "kfp-api", "2.5/stable", 1000)];
        let remote = |name: &str, url: &str| {
            (
                name.to_string(),
                crate::juju::RemoteApplication {
                    name: name.into(),
                    offer_url: url.into(),
                },
            )
        };
        let mut target = backup(
            apps(),
            vec![relation(
                "kfp-api:metrics-endpoint prometheus:metrics-endpoint",
            )],
        );
        target
            .remote_applications
            .extend([remote("prometheus", "cos:admin/cos.prometheus")]);
        let mut current = backup(apps(), vec![relation("kfp-api:logging loki:logging")]);
        current
            .remote_applications
            .extend([remote("loki", "cos:admin/cos.loki")]);

        assert_eq!(
            shown(&diff(&target, &current, &keep_nothing())),
            [
                "juju consume cos:admin/cos.prometheus prometheus",
                "juju integrate kfp-api:metrics-endpoint prometheus:metrics-endpoint",
            ]
        );
    }

    #[test]
    fn a_charm_from_a_local_file_is_named_as_not_restorable() {
        let mut then = app("my-charm", "my-charm", "stable", 1);
        then.channel = None;
        let steps = diff(
            &backup(vec![then], vec![]),
            &backup(vec![], vec![]),
            &keep_nothing(),
        );
        assert_eq!(steps.len(), 1);
        assert!(
            matches!(&steps[0], Step::Unrestorable { application, .. } if application == "my-charm")
        );
        assert!(steps[0].to_string().contains("local file"), "{}", steps[0]);
    }
}
