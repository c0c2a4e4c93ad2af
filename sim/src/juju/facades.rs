//! Which facades and versions the controller serves, and which methods the twin implements.
//!
//! The login result lists every facade a real 3.6 controller lists for a model connection,
//! including agent facades a client must ignore (their versions are plausible, not verified:
//! juju-api.md §10 says the exact list was never observed). Only the client-facing subset is
//! implemented; other methods answer `no such request - method X(N).Y is not implemented`.

use crate::model::ControllerVersion;

/// Facades served on a model connection, with their versions.
pub fn model_facades(version: ControllerVersion) -> Vec<(&'static str, Vec<u32>)> {
    let application: Vec<u32> = match version {
        ControllerVersion::V3_6_0 => (15..=20).collect(),
        ControllerVersion::V3_6_11 => (15..=22).collect(),
    };
    vec![
        ("Action", vec![7]),
        ("Agent", vec![3]),
        ("AgentLifeFlag", vec![1]),
        ("AllWatcher", vec![3]),
        ("Annotations", vec![2]),
        ("Application", application),
        ("ApplicationScaler", vec![1]),
        ("Block", vec![2]),
        ("Bundle", vec![8]),
        ("CAASAgent", vec![1, 2]),
        ("CAASApplication", vec![1]),
        ("CAASApplicationProvisioner", vec![1]),
        ("CAASFirewaller", vec![1]),
        ("CAASModelOperator", vec![1]),
        ("CAASUnitProvisioner", vec![2]),
        ("CharmDownloader", vec![1]),
        ("Charms", vec![5, 6, 7]),
        ("Cleaner", vec![2]),
        ("Client", vec![6, 7, 8]),
        ("CredentialValidator", vec![2]),
        ("Deployer", vec![1]),
        ("EntityWatcher", vec![2]),
        ("KeyManager", vec![1]),
        ("LeadershipService", vec![2]),
        ("LifeFlag", vec![1]),
        ("Logger", vec![1]),
        ("MeterStatus", vec![2]),
        ("MigrationFlag", vec![1]),
        ("ModelConfig", vec![3]),
        ("NotifyWatcher", vec![1]),
        ("Payloads", vec![1]),
        ("Pinger", vec![1]),
        ("Resources", vec![3]),
        ("ResourcesHookContext", vec![1]),
        ("RetryStrategy", vec![1]),
        ("Secrets", vec![1, 2]),
        ("SecretsManager", vec![1, 2]),
        ("Spaces", vec![6]),
        ("SSHClient", vec![4]),
        ("Storage", vec![6]),
        ("StringsWatcher", vec![1]),
        ("Subnets", vec![5]),
        ("Uniter", vec![19, 20]),
        ("Upgrader", vec![1]),
    ]
}

/// Facades served on a controller-only connection (`/api`, `/`): controller facades and Pinger
/// (`apiserver/restrict_controller.go`).
pub fn controller_facades() -> Vec<(&'static str, Vec<u32>)> {
    vec![
        ("AllModelWatcher", vec![4]),
        ("Cloud", vec![7]),
        ("Controller", vec![11, 12]),
        ("MigrationTarget", vec![1, 2, 3, 4]),
        ("ModelManager", vec![9, 10]),
        ("Pinger", vec![1]),
        ("UserManager", vec![3]),
    ]
}

/// Whether `facade` may be called on a controller-only connection.
pub fn is_controller_facade(facade: &str) -> bool {
    controller_facades().iter().any(|(name, _)| *name == facade)
}

/// Whether `facades` lists `facade` at `version`.
pub fn serves(facades: &[(&'static str, Vec<u32>)], facade: &str, version: u32) -> bool {
    facades
        .iter()
        .any(|(name, versions)| *name == facade && versions.contains(&version))
}

/// Methods the twin implements, by facade (`version` gates DeployFromRepository, which
/// Application has from 19 on).
pub fn implemented(facade: &str, version: u32, method: &str) -> bool {
    match facade {
        "Pinger" => matches!(method, "Ping" | "Stop"),
        "Client" => matches!(method, "FullStatus" | "WatchAll"),
        "AllWatcher" => matches!(method, "Next" | "Stop"),
        "Application" => match method {
            "DeployFromRepository" => version >= 19,
            "DestroyApplication"
            | "GetCharmURLOrigin"
            | "SetCharm"
            | "AddRelation"
            | "DestroyRelation"
            | "SetConfigs"
            | "Get"
            | "CharmConfig"
            | "UnsetApplicationsConfig"
            | "ScaleApplications" => true,
            _ => false,
        },
        "Charms" => matches!(
            method,
            "ResolveCharms"
                | "AddCharm"
                | "CharmInfo"
                | "ListCharmResources"
                | "CheckCharmPlacement"
        ),
        "Resources" => matches!(method, "AddPendingResources" | "ListResources"),
        _ => false,
    }
}

/// Methods that need model write access (`checkCanWrite` in the facades).
pub fn needs_write(facade: &str, method: &str) -> bool {
    crate::model::WRITE_METHODS.contains(&format!("{facade}.{method}").as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn application_versions_follow_the_controller_version() {
        let old = model_facades(ControllerVersion::V3_6_0);
        let new = model_facades(ControllerVersion::V3_6_11);
        assert!(serves(&old, "Application", 20));
        assert!(!serves(&old, "Application", 21));
        assert!(serves(&new, "Application", 22));
        assert!(serves(&new, "Client", 8));
        assert!(!serves(&new, "Admin", 3), "Admin is not listed after login");
    }

    #[test]
    fn deploy_from_repository_needs_application_19() {
        assert!(!implemented("Application", 18, "DeployFromRepository"));
        assert!(implemented("Application", 19, "DeployFromRepository"));
    }
}
