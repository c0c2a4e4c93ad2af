//! AllWatcher deltas, and how each one moves a [`ModelStatus`] on.
//!
//! On the wire a delta is `[kind, "change"|"remove", entity]` (`rpc/params/multiwatcher.go`
//! `Delta.UnmarshalJSON`, Juju v3.6.11), the entity carrying the whole current state of one
//! application, unit or relation. Applying a delta is level-based: the entity replaces what was
//! known of it, so deltas that repeat a state already seen (a watcher re-established after a
//! fresh `FullStatus`) change nothing. The other kinds (machines, charms, annotations, actions…)
//! are skipped: nothing waits on them.

use serde::Deserialize;
use serde_json::Value;

use super::model::{Application, CharmUrl, Life, ModelStatus, Relation, RelationEndpoint, Status};

/// One change of the model.
#[derive(Debug, Clone, PartialEq)]
pub enum Delta {
    /// An application changed or is gone.
    Application {
        /// Gone from the model.
        removed: bool,
        /// Application name.
        name: String,
        /// The charm URL it runs.
        charm_url: String,
        /// Lifecycle.
        life: Life,
        /// Application status.
        status: Status,
    },
    /// A unit changed or is gone.
    Unit {
        /// Gone from the model.
        removed: bool,
        /// `app/N`.
        name: String,
        /// Its application.
        application: String,
        /// Workload status.
        workload: Status,
        /// Agent status.
        agent: Status,
    },
    /// A relation changed or is gone.
    Relation {
        /// Gone from the model.
        removed: bool,
        /// The relation.
        relation: Relation,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct StatusInfo {
    #[serde(default)]
    current: String,
    #[serde(default)]
    message: String,
}

impl From<StatusInfo> for Status {
    fn from(s: StatusInfo) -> Self {
        Status {
            current: s.current,
            message: s.message,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct ApplicationInfo {
    name: String,
    #[serde(default)]
    charm_url: String,
    #[serde(default)]
    life: String,
    status: Option<StatusInfo>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct UnitInfo {
    name: String,
    application: String,
    workload_status: Option<StatusInfo>,
    agent_status: Option<StatusInfo>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RelationInfo {
    key: String,
    #[serde(default)]
    id: i64,
    #[serde(default)]
    endpoints: Vec<EndpointInfo>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct EndpointInfo {
    application_name: String,
    relation: CharmRelation,
}

#[derive(Deserialize)]
struct CharmRelation {
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    interface: String,
}

fn life(text: &str) -> Life {
    match text {
        "dying" => Life::Dying,
        "dead" => Life::Dead,
        _ => Life::Alive,
    }
}

/// Decodes `AllWatcher.Next`'s `deltas`; kinds nothing waits on are dropped.
///
/// # Errors
/// A delta that is not `[kind, operation, entity]`, an unknown operation, or an entity of a
/// known kind without its key fields: the message says which.
pub fn decode(deltas: &[Value]) -> Result<Vec<Delta>, String> {
    deltas
        .iter()
        .filter_map(|d| decode_one(d).transpose())
        .collect()
}

/// What kind of JSON value `v` is, without its content.
fn shape(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array of another length",
        Value::Object(_) => "an object",
    }
}

fn decode_one(delta: &Value) -> Result<Option<Delta>, String> {
    let Some([kind, operation, entity]) = delta.as_array().map(Vec::as_slice) else {
        // Not the delta itself: an entity may carry charm config, passwords included.
        return Err(format!(
            "a delta is not [kind, operation, entity] but {}",
            shape(delta)
        ));
    };
    let removed = match operation.as_str() {
        Some("change") => false,
        Some("remove") => true,
        _ => return Err(format!("unexpected delta operation: {}", shape(operation))),
    };
    let missing = |what: &str| format!("a {what} delta without its fields");
    Ok(Some(match kind.as_str() {
        Some("application") => {
            let info = ApplicationInfo::deserialize(entity)
                .map_err(|e| format!("{}: {e}", missing("application")))?;
            Delta::Application {
                removed,
                name: info.name,
                charm_url: info.charm_url,
                life: life(&info.life),
                status: info.status.map(Status::from).unwrap_or_default(),
            }
        }
        Some("unit") => {
            let info =
                UnitInfo::deserialize(entity).map_err(|e| format!("{}: {e}", missing("unit")))?;
            Delta::Unit {
                removed,
                name: info.name,
                application: info.application,
                workload: info.workload_status.map(Status::from).unwrap_or_default(),
                agent: info.agent_status.map(Status::from).unwrap_or_default(),
            }
        }
        Some("relation") => {
            let info = RelationInfo::deserialize(entity)
                .map_err(|e| format!("{}: {e}", missing("relation")))?;
            let interface = info
                .endpoints
                .first()
                .map(|e| e.relation.interface.clone())
                .unwrap_or_default();
            Delta::Relation {
                removed,
                relation: Relation {
                    id: info.id,
                    key: info.key,
                    interface,
                    endpoints: info
                        .endpoints
                        .into_iter()
                        .map(|e| RelationEndpoint {
                            application: e.application_name,
                            name: e.relation.name,
                            role: e.relation.role,
                        })
                        .collect(),
                },
            }
        }
        _ => return Ok(None),
    }))
}

/// What applying a delta changed that the delta itself cannot tell: the application's channel
/// and config are not in the AllWatcher's entities, so a new application, or one whose charm
/// changed, must be read with `Application.Get` (once: later deltas of the same charm only
/// move its status on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// Nothing more to read.
    Complete,
    /// Read this application's channel and config.
    ReadApplication(String),
}

impl ModelStatus {
    /// The application `name`, added bare if a delta mentions it first.
    fn application_entry(&mut self, name: &str) -> &mut Application {
        self.applications
            .entry(name.to_owned())
            .or_insert_with(|| Application {
                name: name.to_owned(),
                ..Application::default()
            })
    }

    /// Moves the status on by one delta.
    pub fn apply(&mut self, delta: &Delta) -> Applied {
        match delta {
            Delta::Application {
                removed: true,
                name,
                ..
            } => {
                self.applications.remove(name);
                Applied::Complete
            }
            Delta::Application {
                name,
                charm_url,
                life,
                status,
                ..
            } => {
                let app = self.application_entry(name);
                let new_charm = app.charm_url != *charm_url;
                if new_charm {
                    let url = CharmUrl::parse(charm_url).ok();
                    app.charm = url
                        .as_ref()
                        .map_or_else(|| charm_url.clone(), |u| u.name.clone());
                    app.revision = url.and_then(|u| u.revision);
                    app.charm_url = charm_url.clone();
                }
                app.life = *life;
                app.status = status.clone();
                if new_charm {
                    Applied::ReadApplication(name.clone())
                } else {
                    Applied::Complete
                }
            }
            Delta::Unit {
                removed,
                name,
                application,
                workload,
                agent,
            } => {
                if *removed {
                    if let Some(app) = self.applications.get_mut(application) {
                        app.units.remove(name);
                    }
                    return Applied::Complete;
                }
                let app = self.application_entry(application);
                let unit = app.units.entry(name.clone()).or_default();
                unit.workload = workload.clone();
                unit.agent = agent.clone();
                Applied::Complete
            }
            Delta::Relation { removed, relation } => {
                self.relations.retain(|r| r.key != relation.key);
                if !removed {
                    self.relations.push(relation.clone());
                }
                Applied::Complete
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn status(current: &str, message: &str) -> Status {
        Status {
            current: current.into(),
            message: message.into(),
        }
    }

    fn app_delta(op: &str, name: &str, url: &str, life: &str) -> Value {
        json!(["application", op, {
            "model-uuid": "u", "name": name, "exposed": false, "charm-url": url,
            "owner-tag": "user-admin", "life": life, "min-units": 0, "constraints": {},
            "subordinate": false, "workload-version": "",
            "status": {"current": "active", "message": "", "version": ""},
        }])
    }

    #[test]
    fn wire_deltas_decode_and_unknown_kinds_are_skipped() {
        let deltas = decode(&[
            app_delta("change", "dex-auth", "ch:amd64/dex-auth-422", "alive"),
            json!(["unit", "change", {
                "name": "dex-auth/0", "application": "dex-auth",
                "workload-status": {"current": "waiting", "message": "Waiting for relation"},
                "agent-status": {"current": "executing", "message": "running config-changed hook"},
            }]),
            json!(["relation", "remove", {
                "key": "a:x b:y", "id": 7,
                "endpoints": [
                    {"application-name": "a", "relation": {"name": "x", "role": "requirer", "interface": "i"}},
                    {"application-name": "b", "relation": {"name": "y", "role": "provider", "interface": "i"}},
                ],
            }]),
            json!(["annotation", "change", {"tag": "application-a"}]),
        ])
        .expect("valid deltas");
        assert_eq!(deltas.len(), 3);
        assert_eq!(
            deltas[1],
            Delta::Unit {
                removed: false,
                name: "dex-auth/0".into(),
                application: "dex-auth".into(),
                workload: status("waiting", "Waiting for relation"),
                agent: status("executing", "running config-changed hook"),
            }
        );
        let Delta::Relation { removed, relation } = &deltas[2] else {
            panic!("a relation delta");
        };
        assert!(removed);
        assert_eq!(relation.interface, "i");
        assert_eq!(relation.endpoints[1].name, "y");
    }

    #[test]
    fn malformed_deltas_are_refused_with_what_is_wrong() {
        let err = decode(&[json!({"entity": {"config": {"static-password": "s3cret-pw"}}})])
            .expect_err("an object");
        assert!(err.contains("not [kind, operation, entity]"), "{err}");
        assert!(
            !err.contains("s3cret-pw"),
            "the content is not echoed: {err}"
        );
        let err = decode(&[json!(["unit", "update", {}])]).expect_err("bad operation");
        assert!(err.contains("operation"), "{err}");
        let err = decode(&[json!(["unit", "change", {"name": "a/0"}])]).expect_err("no app");
        assert!(err.contains("unit delta"), "{err}");
    }

    #[test]
    fn applying_deltas_follows_an_application_through_refresh_and_removal() {
        let mut model = ModelStatus::default();
        let first =
            decode(&[app_delta("change", "minio", "ch:amd64/minio-10", "alive")]).expect("valid");
        assert_eq!(
            model.apply(&first[0]),
            Applied::ReadApplication("minio".into()),
            "a new application's channel is not in the delta"
        );
        model.applications.get_mut("minio").expect("added").channel = "ckf-1.10/stable".into();
        assert_eq!(
            model.apply(&first[0]),
            Applied::Complete,
            "the same state again"
        );

        let refreshed =
            decode(&[app_delta("change", "minio", "ch:amd64/minio-12", "alive")]).expect("valid");
        assert_eq!(
            model.apply(&refreshed[0]),
            Applied::ReadApplication("minio".into())
        );
        let minio = &model.applications["minio"];
        assert_eq!((minio.charm.as_str(), minio.revision), ("minio", Some(12)));

        let dying =
            decode(&[app_delta("change", "minio", "ch:amd64/minio-12", "dying")]).expect("valid");
        model.apply(&dying[0]);
        assert_eq!(model.applications["minio"].life, Life::Dying);
        let gone =
            decode(&[app_delta("remove", "minio", "ch:amd64/minio-12", "dying")]).expect("valid");
        model.apply(&gone[0]);
        assert!(model.applications.is_empty());
    }

    #[test]
    fn units_and_relations_are_replaced_by_their_latest_state() {
        let mut model = ModelStatus::default();
        let unit = |workload: &str| Delta::Unit {
            removed: false,
            name: "a/0".into(),
            application: "a".into(),
            workload: status(workload, ""),
            agent: status("idle", ""),
        };
        model.apply(&unit("waiting"));
        model.apply(&unit("active"));
        assert_eq!(
            model.applications["a"].units["a/0"].workload.current,
            "active"
        );

        let relation = Relation {
            id: 1,
            key: "a:x b:y".into(),
            ..Relation::default()
        };
        let change = Delta::Relation {
            removed: false,
            relation: relation.clone(),
        };
        model.apply(&change);
        model.apply(&change);
        assert_eq!(model.relations.len(), 1);
        model.apply(&Delta::Relation {
            removed: true,
            relation,
        });
        assert!(model.relations.is_empty());
    }
}
