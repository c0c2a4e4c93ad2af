//! The Client facade: FullStatus rendered from the model, shaped as Juju 3.6 sends it.
//!
//! Go nil slices and maps become `null` (the top-level relations list when empty, subordinate-to,
//! opened-ports, subordinates, an application's relations map without relations); maps Juju
//! builds with `make` are `{}` (machines, offers, remote-applications, branches). Fields without
//! `omitempty` are always present (`life: ""` for an alive application).

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use crate::model::{ApiError, AppView, Life, Model, RelationView};

/// Runs a Client method.
pub(crate) fn call(model: &Model, method: &str, params: &Value) -> Result<Value, ApiError> {
    match method {
        "FullStatus" => Ok(full_status(model, params)),
        other => Err(ApiError::plain(format!("no such request {other}"))),
    }
}

fn detailed(status: &str, info: &str, since: Timestamp, kind: &str, life: &str) -> Value {
    json!({
        "status": status,
        "info": info,
        "data": {},
        "since": since.to_string(),
        "kind": kind,
        "version": "",
        "life": life,
    })
}

fn life_str(life: Life) -> &'static str {
    match life {
        Life::Alive => "",
        Life::Dying => "dying",
    }
}

/// Whether `app` matches a status pattern: application name, unit name, or a `*` glob of either.
fn matches(app: &AppView, pattern: &str) -> bool {
    let glob = |text: &str| glob_match(pattern, text);
    glob(&app.name) || app.units.iter().any(|u| glob(&u.name))
}

fn glob_match(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => {
            text.starts_with(head)
                && (head.len()..=text.len())
                    .any(|i| text.is_char_boundary(i) && glob_match(tail, &text[i..]))
        }
    }
}

fn full_status(model: &Model, params: &Value) -> Value {
    let patterns: Vec<String> = params
        .get("patterns")
        .and_then(Value::as_array)
        .map(|p| {
            p.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let apps: Vec<AppView> = model
        .applications()
        .into_iter()
        .filter(|a| patterns.is_empty() || patterns.iter().any(|p| matches(a, p)))
        .collect();
    let names: Vec<&str> = apps.iter().map(|a| a.name.as_str()).collect();
    let relations: Vec<RelationView> = model
        .relations()
        .into_iter()
        .filter(|r| {
            r.endpoints
                .iter()
                .any(|e| names.contains(&e.application.as_str()))
        })
        .collect();
    let config = model.config();
    let now = Timestamp::now();
    let mut applications = Map::new();
    for app in &apps {
        applications.insert(app.name.clone(), application_status(app));
    }
    let relations_json = if relations.is_empty() {
        Value::Null
    } else {
        Value::Array(relations.iter().map(relation_status).collect())
    };
    json!({
        "model": {
            "name": config.name,
            "type": "caas",
            "cloud-tag": "cloud-microk8s",
            "region": "localhost",
            "version": config.version.as_str(),
            "available-version": "",
            "model-status": detailed("available", "", now, "model", ""),
            "meter-status": {"color": "", "message": ""},
            "sla": "unsupported",
        },
        "machines": {},
        "applications": applications,
        "remote-applications": {},
        "offers": {},
        "relations": relations_json,
        "controller-timestamp": now.to_string(),
        "branches": {},
    })
}

fn application_status(app: &AppView) -> Value {
    let mut units = Map::new();
    for unit in &app.units {
        let mut u = json!({
            "agent-status": detailed(
                unit.agent.status.as_str(), &unit.agent.message, unit.agent.since, "agent", ""),
            "workload-status": detailed(
                unit.workload.status.as_str(), &unit.workload.message, unit.workload.since, "workload", ""),
            "workload-version": "",
            "machine": "",
            "opened-ports": null,
            "public-address": "",
            "charm": "",
            "subordinates": null,
            "provider-id": unit.name.replace('/', "-"),
        });
        if unit.leader {
            u["leader"] = Value::Bool(true);
        }
        units.insert(unit.name.clone(), u);
    }
    let relations: Map<String, Value> = app
        .relations
        .iter()
        .map(|(endpoint, remotes)| (endpoint.clone(), json!(remotes)))
        .collect();
    let mut bindings = Map::new();
    bindings.insert(String::new(), json!("alpha"));
    for ep in app.release.endpoints.iter().filter(|e| !e.implicit) {
        bindings.insert(ep.name.clone(), json!("alpha"));
    }
    let mut out = json!({
        "charm": app.charm_url,
        "charm-version": "",
        "charm-profile": "",
        "charm-channel": app.channel,
        "base": {"name": app.base.name, "channel": app.base.channel},
        "exposed": false,
        "life": life_str(app.life),
        "relations": if relations.is_empty() { Value::Null } else { Value::Object(relations) },
        "can-upgrade-to": "",
        "subordinate-to": null,
        "units": if units.is_empty() { Value::Null } else { Value::Object(units) },
        "meter-statuses": null,
        "status": detailed(app.status.status.as_str(), &app.status.message, app.status.since, "application", life_str(app.life)),
        "workload-version": "",
        "endpoint-bindings": bindings,
        "public-address": "",
        "provider-id": format!("{}-provider-id", app.name),
    });
    if app.revision != 0 {
        out["charm-rev"] = json!(app.revision);
    }
    if !app.units.is_empty() {
        out["int"] = json!(app.units.len());
    }
    out
}

fn relation_status(rel: &RelationView) -> Value {
    let endpoints: Vec<Value> = rel
        .endpoints
        .iter()
        .map(|e| {
            json!({
                "application": e.application,
                "name": e.name,
                "role": e.role.as_str(),
                "subordinate": false,
            })
        })
        .collect();
    let status = if rel.joined { "joined" } else { "joining" };
    json!({
        "id": rel.id,
        "key": rel.key,
        "interface": rel.interface,
        "scope": "global",
        "endpoints": endpoints,
        "status": detailed(status, "", rel.since, "relation", life_str(rel.life)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_glob_like_juju_status() {
        assert!(glob_match("kfp-*", "kfp-api"));
        assert!(glob_match("*", "anything"));
        assert!(glob_match("istio-k8s", "istio-k8s"));
        assert!(!glob_match("istio-k8s", "istio-k8s-x"));
        assert!(glob_match("*-k8s", "istio-k8s"));
        assert!(!glob_match("kfp-*", "kserve"));
    }
}
