//! Builders for backups, so each test's input reads as one line (tests only).

use std::collections::BTreeMap;

use crate::backup::{Application, Backup, Config, Relation};
use crate::juju::Base;

/// An application on a channel and revision, trusted not, scale 1, on ubuntu 22.04.
pub fn app(name: &str, charm: &str, channel: &str, revision: u32) -> Application {
    Application {
        name: name.into(),
        charm: charm.into(),
        channel: Some(channel.parse().expect("channel")),
        revision: Some(revision),
        trust: false,
        config: Config::default(),
        scale: 1,
        base: Some(Base {
            name: "ubuntu".into(),
            channel: "22.04".into(),
        }),
    }
}

/// A relation from its backup line: `a:x b:y`, or `a:x` for a peer relation.
pub fn relation(line: &str) -> Relation {
    let ends: Vec<crate::plan::EndpointRef> = line
        .split_whitespace()
        .map(|e| e.parse().expect("endpoint"))
        .collect();
    match ends.as_slice() {
        [peer] => Relation::Peer(peer.clone()),
        [a, b] => Relation::between(a.clone(), b.clone()),
        _ => panic!("a relation has one or two ends: {line}"),
    }
}

/// A backup of model `kubeflow` holding these applications and relations.
pub fn backup(applications: Vec<Application>, relations: Vec<Relation>) -> Backup {
    Backup {
        config_map: "ckf-migrator-backup-20261203-072902".into(),
        format: 1,
        model: "kubeflow".into(),
        model_uuid: Some("6d3c8f1e-5a2b-4c1d-9e8f-0a1b2c3d4e5f".into()),
        taken: "2026-12-03T07:29:02Z".parse().expect("time"),
        applications: applications
            .into_iter()
            .map(|a| (a.name.clone(), a))
            .collect::<BTreeMap<_, _>>(),
        relations,
        remote_applications: BTreeMap::new(),
    }
}
