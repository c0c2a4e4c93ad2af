//! restore: the way back. A backup is a desired state; restore makes the model equal to it.
//!
//! [`plan`] is pure: it takes the backup, the live model read the way a backup is taken, and the
//! order file (`plans/restore-sidecar.yaml`, [`Order`]), and returns the steps in their phases,
//! each printable as the command a person would type. [`plan_for`] reads both sides from a
//! session and calls it. That is what `restore` with dry-run shows, and the list an operator can
//! follow by hand; the engine that applies and awaits each phase, as migrate-to-ambient does,
//! is still to be built on it.
//!
//! - `diff`: what differs, as unordered [`Step`]s;
//! - `order`: the order file and the placing of steps in phases;
//! - `step`: a step and its command. Config values are never printed: a backed-up value may be
//!   a password a user set;
//! - `live`: the reading, against a session.

mod desired;
mod diff;
mod live;
mod order;
mod step;

#[cfg(test)]
mod fixtures;

pub use desired::{NotRunnable, PLAN_NAME, desired};
pub use diff::diff;
pub use live::{OWN_CHARM, PlanError, Reading, in_sidecar_mode, plan_for, read};
pub use order::{BUILTIN, InvalidOrder, Order, OrderPhase, Take};
pub use step::{Deployment, Step, StepKind};

use std::collections::BTreeSet;

use crate::backup::Backup;

/// What a restore would do, phase by phase.
#[derive(Debug, Clone, PartialEq)]
pub struct RestorePlan {
    /// The backup it restores (its ConfigMap's name).
    pub backup: String,
    /// The phases with something to do, in order.
    pub phases: Vec<PlannedPhase>,
    /// Differences restore cannot close by itself, each saying why and what to do.
    pub unrestorable: Vec<Step>,
    /// Newer backups not chosen, each with why (taken mid-migration, say).
    pub passed_over: Vec<String>,
}

/// One phase of a restore plan.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedPhase {
    /// Short name.
    pub name: String,
    /// One line for people.
    pub title: String,
    /// Its steps.
    pub steps: Vec<Step>,
}

impl RestorePlan {
    /// Whether the model already equals the backup (as far as restore can tell).
    pub fn is_empty(&self) -> bool {
        self.phases.is_empty() && self.unrestorable.is_empty()
    }

    /// Every step as its command, in order, each phase headed by a `# name: title` line; what
    /// restore cannot do, as `# app: why` lines, first.
    pub fn commands(&self) -> Vec<String> {
        let mut lines: Vec<String> = self.unrestorable.iter().map(ToString::to_string).collect();
        for phase in &self.phases {
            lines.push(format!("# {}: {}", phase.name, phase.title));
            lines.extend(phase.steps.iter().map(ToString::to_string));
        }
        lines
    }

    /// The result keys both front ends show: `result` (`planned`, or `already-restored` when
    /// the model equals the backup), `backup`, and `commands` when there is anything to do.
    pub fn results(&self) -> Vec<(String, String)> {
        let result = if self.is_empty() {
            "already-restored"
        } else {
            "planned"
        };
        let mut pairs = vec![
            ("result".to_string(), result.to_string()),
            ("backup".to_string(), self.backup.clone()),
        ];
        if !self.passed_over.is_empty() {
            pairs.push(("passed-over".to_string(), self.passed_over.join("\n")));
        }
        if !self.is_empty() {
            pairs.push(("commands".to_string(), self.commands().join("\n")));
        }
        pairs
    }
}

/// The plan that makes `current` equal to `target`, in `order`, leaving the applications in
/// `keep` (the charm running the restore) alone.
pub fn plan(
    target: &Backup,
    current: &Backup,
    keep: &BTreeSet<String>,
    order: &Order,
) -> RestorePlan {
    let (placed, apart) = order.place(diff(target, current, keep));
    RestorePlan {
        backup: target.config_map.clone(),
        phases: placed
            .into_iter()
            .map(|(phase, steps)| PlannedPhase {
                name: phase.name.clone(),
                title: phase.title.clone(),
                steps,
            })
            .collect(),
        unrestorable: apart,
        passed_over: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{app, backup};
    use super::*;

    #[test]
    fn a_backup_is_in_sidecar_mode_with_istio_pilot_and_without_istio_k8s() {
        let pilot = || app("istio-pilot", "istio-pilot", "1.24/stable", 1100);
        let istio = || app("istio-k8s", "istio-k8s", "2/edge", 50);
        assert!(in_sidecar_mode(&backup(vec![pilot()], vec![])));
        assert!(!in_sidecar_mode(&backup(vec![pilot(), istio()], vec![])));
        assert!(!in_sidecar_mode(&backup(vec![istio()], vec![])));
    }

    #[test]
    fn backups_passed_over_are_listed_before_the_commands() {
        let mut planned = plan(
            &backup(vec![app("kfp-api", "kfp-api", "2.5/stable", 1000)], vec![]),
            &backup(vec![app("kfp-api", "kfp-api", "2.15/edge", 1800)], vec![]),
            &BTreeSet::new(),
            &Order::builtin().expect("valid"),
        );
        planned.passed_over = vec!["ckf-migrator-backup-20261203-080000 (mid-migration)".into()];
        let keys: Vec<String> = planned.results().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["result", "backup", "passed-over", "commands"]);
    }
}
