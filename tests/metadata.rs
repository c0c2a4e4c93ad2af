//! The charm's metadata files agree with the binary: every action and parameter the binary
//! handles (`charm::ACTIONS`) is declared in actions.yaml with the same type, default and
//! constraints, and every declared one is handled; charmcraft.yaml and config.yaml say what the
//! design requires.

use std::collections::BTreeSet;
use std::path::Path;

use ckf_migrator::charm::ACTIONS;
use ckf_migrator::charm::params::ParamKind;
use serde_yaml::{Mapping, Value};

fn load(file: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{file} is not YAML: {e}"))
}

fn map<'a>(value: &'a Value, what: &str) -> &'a Mapping {
    value
        .as_mapping()
        .unwrap_or_else(|| panic!("{what} is not a mapping"))
}

fn keys(mapping: &Mapping) -> BTreeSet<String> {
    mapping
        .keys()
        .map(|k| k.as_str().expect("string keys").to_string())
        .collect()
}

#[test]
fn every_handled_action_is_declared_and_every_declared_one_is_handled() {
    let actions = load("actions.yaml");

    let declared = keys(map(&actions, "actions.yaml"));
    let handled: BTreeSet<String> = ACTIONS.iter().map(|a| a.name.to_string()).collect();

    assert_eq!(declared, handled);
}

#[test]
fn every_action_refuses_undeclared_params_and_requires_none() {
    let actions = load("actions.yaml");
    for spec in ACTIONS {
        let action = &actions[spec.name];

        assert_eq!(
            action["additionalProperties"],
            Value::Bool(false),
            "{}: additionalProperties must be false (Juju 3 defaults to true)",
            spec.name
        );
        assert!(
            action.get("required").is_none(),
            "{}: every param has a default",
            spec.name
        );
        assert!(
            action["description"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "{}: needs a description",
            spec.name
        );
    }
}

#[test]
fn every_param_has_the_binarys_type_default_and_constraints() {
    let actions = load("actions.yaml");
    for spec in ACTIONS {
        let params = map(&actions[spec.name]["params"], "params");
        let declared = keys(params);
        let handled: BTreeSet<String> = spec.params.iter().map(|p| p.name.to_string()).collect();
        assert_eq!(declared, handled, "params of {}", spec.name);

        for param in spec.params {
            let yaml = &actions[spec.name]["params"][param.name];
            let what = format!("{}.{}", spec.name, param.name);
            assert!(
                yaml["description"].as_str().is_some_and(|d| !d.is_empty()),
                "{what}: needs a description"
            );
            match param.kind {
                ParamKind::Boolean { default } => {
                    assert_eq!(yaml["type"], Value::from("boolean"), "{what}");
                    assert_eq!(yaml["default"], Value::Bool(default), "{what}");
                }
                ParamKind::Integer { default, minimum } => {
                    assert_eq!(yaml["type"], Value::from("integer"), "{what}");
                    assert_eq!(yaml["default"], Value::from(default), "{what}");
                    assert_eq!(yaml["minimum"], Value::from(minimum), "{what}");
                    assert!(
                        yaml.get("maximum").is_none(),
                        "{what}: no maximum is handled"
                    );
                }
                ParamKind::Text { default } => {
                    assert_eq!(yaml["type"], Value::from("string"), "{what}");
                    assert_eq!(yaml["default"], Value::from(default), "{what}");
                    assert!(yaml.get("enum").is_none(), "{what}: any text is handled");
                }
                ParamKind::Enum { default, values } => {
                    assert_eq!(yaml["type"], Value::from("string"), "{what}");
                    assert_eq!(yaml["default"], Value::from(default), "{what}");
                    let declared: Vec<&str> = yaml["enum"]
                        .as_sequence()
                        .unwrap_or_else(|| panic!("{what}: enum missing"))
                        .iter()
                        .map(|v| v.as_str().expect("string enum"))
                        .collect();
                    assert_eq!(declared, values, "{what}");
                }
            }
        }
    }
}

#[test]
fn charmcraft_yaml_declares_a_container_less_kubernetes_charm_on_noble() {
    let project = load("charmcraft.yaml");

    assert_eq!(project["type"], Value::from("charm"));
    assert_eq!(project["name"], Value::from("ckf-migrator"));
    assert_eq!(project["base"], Value::from("ubuntu@24.04"));
    assert!(map(&project["platforms"], "platforms").contains_key("amd64"));
    let assumes: Vec<&str> = project["assumes"]
        .as_sequence()
        .expect("assumes")
        .iter()
        .map(|v| v.as_str().expect("string"))
        .collect();
    assert_eq!(assumes, vec!["juju >= 3.6", "k8s-api"]);
    assert_eq!(project["charm-user"], Value::from("non-root"));
    for absent in ["containers", "resources", "actions", "config", "bases"] {
        assert!(
            project.get(absent).is_none(),
            "charmcraft.yaml must not have {absent}"
        );
    }
    for present in ["title", "summary", "description", "links"] {
        assert!(
            project.get(present).is_some(),
            "charmcraft.yaml needs {present}"
        );
    }
}

#[test]
fn the_rust_part_installs_this_binary_as_dispatch_without_the_twin() {
    let project = load("charmcraft.yaml");
    let binary = Path::new(env!("CARGO_BIN_EXE_ckf-migrator"))
        .file_name()
        .and_then(|n| n.to_str())
        .expect("binary name");

    let parts = map(&project["parts"], "parts");
    assert_eq!(parts.len(), 1);
    let part = parts.values().next().expect("one part");

    assert_eq!(part["plugin"], Value::from("rust"));
    assert_eq!(part["source"], Value::from("."));
    assert_eq!(part["rust-no-default-features"], Value::Bool(true));
    assert_eq!(
        part["organize"][format!("bin/{binary}").as_str()],
        Value::from("dispatch")
    );
    assert!(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("Cargo.lock")
            .exists(),
        "the rust plugin runs cargo install --locked"
    );
}

#[test]
fn config_yaml_declares_the_credentials_secret_and_how_to_set_it() {
    let config = load("config.yaml");

    let options = map(&config["options"], "options");
    assert_eq!(
        keys(options),
        BTreeSet::from([
            "juju-credentials".to_string(),
            "outage-grace".to_string(),
            "poll-interval".to_string()
        ])
    );
    let grace = &config["options"]["outage-grace"];
    assert_eq!(grace["type"], Value::from("float"));
    assert_eq!(
        grace["default"].as_f64(),
        Some(ckf_migrator::migrate::DEFAULT_OUTAGE_GRACE.as_secs_f64()),
        "the engine's default grace window"
    );
    let poll = &config["options"]["poll-interval"];
    assert_eq!(poll["type"], Value::from("float"));
    assert_eq!(
        poll["default"].as_f64(),
        Some(5.0),
        "the engine's default poll interval"
    );
    let option = &config["options"]["juju-credentials"];
    assert_eq!(option["type"], Value::from("secret"));
    assert!(option.get("default").is_none());
    let description = option["description"].as_str().expect("description");
    for command in [
        "juju add-user",
        "juju grant migrator admin",
        "juju add-secret migrator-credentials username=",
        "juju grant-secret migrator-credentials ckf-migrator",
        "juju config ckf-migrator juju-credentials=",
    ] {
        assert!(
            description.contains(command),
            "config.yaml description lacks `{command}`"
        );
    }
}
