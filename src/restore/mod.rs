//! restore: the way back. A backup is a desired state; restore makes the model equal to it.
//!
//! This part is pure: [`plan`] takes the backup, the live model read the way a backup is taken,
//! and the order file (`plans/restore-sidecar.yaml`, [`Order`]), and returns the steps in their
//! phases, each printable as the command a person would type. It is what `restore --dry-run`
//! shows, and the list an operator can follow by hand; the engine that applies and awaits each
//! phase, as migrate-to-ambient does, builds on it.
//!
//! - `diff`: what differs, as unordered [`Step`]s;
//! - `order`: the order file and the placing of steps in phases;
//! - `step`: a step and its command. Config values are never printed: a backed-up value may be
//!   a password a user set.

mod diff;
mod order;
mod step;

#[cfg(test)]
mod fixtures;

pub use diff::diff;
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

    /// Every step as its command, in order; what restore cannot do as `# app: why` lines first.
    pub fn commands(&self) -> Vec<String> {
        self.unrestorable
            .iter()
            .chain(self.phases.iter().flat_map(|p| &p.steps))
            .map(ToString::to_string)
            .collect()
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
    }
}
