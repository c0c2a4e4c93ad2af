//! Juju's own API schema (`sim/schema/juju-3.6-facades.json`) and a small JSON-Schema checker for
//! the subset it uses, with the wire quirks of juju-api.md §9.
//!
//! Keywords: `$ref` to `#/definitions`, `type`, `properties`, `additionalProperties`,
//! `patternProperties` (only `.*` occurs), `items`, `format: date-time`. Quirks:
//! - `required` is not enforced (the server never does: missing keys get zero values);
//! - `null` is accepted wherever a value is (Go decodes it to the zero value, and sends nil
//!   slices/maps/pointers as `null`);
//! - an embedded Go struct appears as a property named after its own type (`Address`,
//!   `ErrorResult`, `Entity`, …): its properties are accepted at the parent level and the type
//!   name itself is not a key (except `ApplicationStorageGetResult.Error`, a real key);
//! - `{"type":"object","additionalProperties":true}` is Go's `interface{}`: any JSON value;
//! - `Macaroon` is an empty object schema standing for a macaroon: any object;
//! - `fingerprint` is `[]byte`: a base64 string on the wire (an int array is also accepted);
//! - AllWatcher deltas are `[kind, "change"|"remove", entity]` arrays, not objects.
//!
//! Requests are checked with Go's case-insensitive key matching and normalised to the schema's
//! spelling (so handlers read canonical keys); responses must use the exact keys. Unknown keys
//! where `additionalProperties` is false are violations: Go would silently drop them, which is
//! exactly the client bug this catches.
//!
//! Versions without their own entry use the nearest listed version that is identical for the
//! methods the twin serves (see [`schema_version`]).

use std::sync::OnceLock;

use serde_json::{Map, Value};

const SCHEMA_JSON: &str = include_str!("../../schema/juju-3.6-facades.json");

/// What is wrong and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON path, e.g. `params.applications[0].aplication-tag`.
    pub path: String,
    /// What is wrong, e.g. `unknown key`.
    pub what: String,
}

/// The schema entry version used to check a call of `facade` at `version`, or `None` if the
/// schema file has nothing for that facade.
///
/// | called | checked against | why |
/// |---|---|---|
/// | Application 15–20 | Application 20 (3.6.0) | 19/20 identical for the methods served; 15–18 lack DeployFromRepository, which the twin refuses below 19 |
/// | Application 21, 22 | Application 22 (3.6.11) | 21 differs from 22 only by the storage methods, which the twin does not serve |
/// | Client 6–8 | Client 8 | FullStatus params/result unchanged in the versions 3.6 serves (assumed) |
/// | Charms 5–7 | Charms 7 | ResolveCharms/AddCharm/CharmInfo/ListCharmResources unchanged (assumed) |
/// | Secrets 1–2 | Secrets 2 | not served by the twin |
/// | others | their only version | |
pub fn schema_version(facade: &str, version: u32) -> Option<u32> {
    Some(match (facade, version) {
        ("Application", 15..=20) => 20,
        ("Application", 21..=22) => 22,
        ("Client", 6..=8) => 8,
        ("Charms", 5..=7) => 7,
        ("Secrets", 1..=2) => 2,
        ("Admin", 3) => 3,
        ("AllWatcher", 3) => 3,
        ("ModelConfig", 3) => 3,
        ("Pinger", 1) => 1,
        ("Resources", 3) => 3,
        _ => return None,
    })
}

/// The parsed schema file.
pub struct Schema {
    entries: Vec<Entry>,
}

struct Entry {
    name: String,
    version: u32,
    schema: Value,
}

/// The Params and Result schemas of one method, with the definitions they refer to.
pub struct MethodSchema<'a> {
    params: Option<&'a Value>,
    result: Option<&'a Value>,
    defs: &'a Map<String, Value>,
}

impl Schema {
    /// The schema compiled into the crate (parsed once).
    pub fn get() -> &'static Schema {
        static SCHEMA: OnceLock<Schema> = OnceLock::new();
        SCHEMA.get_or_init(|| {
            let list: Vec<Value> = serde_json::from_str(SCHEMA_JSON)
                .expect("sim/schema/juju-3.6-facades.json is valid JSON (checked by tests)");
            let entries = list
                .into_iter()
                .filter_map(|e| {
                    Some(Entry {
                        name: e.get("Name")?.as_str()?.to_string(),
                        version: u32::try_from(e.get("Version")?.as_u64()?).ok()?,
                        schema: e.get("Schema")?.clone(),
                    })
                })
                .collect();
            Schema { entries }
        })
    }

    /// The method's schema at the entry chosen by [`schema_version`], if the file has it.
    pub fn method(&self, facade: &str, version: u32, method: &str) -> Option<MethodSchema<'_>> {
        let entry_version = schema_version(facade, version)?;
        let entry = self
            .entries
            .iter()
            .find(|e| e.name == facade && e.version == entry_version)?;
        let method = entry.schema.get("properties")?.get(method)?;
        let props = method.get("properties");
        let empty: &'static Map<String, Value> = {
            static EMPTY: OnceLock<Map<String, Value>> = OnceLock::new();
            EMPTY.get_or_init(Map::new)
        };
        Some(MethodSchema {
            params: props.and_then(|p| p.get("Params")),
            result: props.and_then(|p| p.get("Result")),
            defs: entry
                .schema
                .get("definitions")
                .and_then(Value::as_object)
                .unwrap_or(empty),
        })
    }

    /// Whether the entry for the facade version lists `method`.
    pub fn has_method(&self, facade: &str, version: u32, method: &str) -> bool {
        self.method(facade, version, method).is_some()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Case-insensitive keys, normalised to the schema's spelling.
    Request,
    /// Exact keys.
    Response,
}

/// An AllWatcher delta as Juju sends it: `[kind, "change"|"remove", entity]`
/// (`rpc/params/multiwatcher.go` `Delta.MarshalJSON`), not the object the schema shows. The
/// entity's keys must be the Go struct's for the kinds the twin knows.
fn check_delta(value: &Value) -> Result<Value, String> {
    let Value::Array(parts) = value else {
        return Err(format!(
            "expected [kind, operation, entity], got {}",
            kind(value)
        ));
    };
    let [
        Value::String(entity_kind),
        Value::String(operation),
        Value::Object(entity),
    ] = parts.as_slice()
    else {
        return Err("expected [kind, \"change\"|\"remove\", entity object]".into());
    };
    if operation != "change" && operation != "remove" {
        return Err(format!("unexpected operation {operation:?}"));
    }
    if let Some(fields) = super::allwatcher::entity_fields(entity_kind)
        && let Some(key) = entity.keys().find(|k| !fields.contains(&k.as_str()))
    {
        return Err(format!("unknown key {key:?} in a {entity_kind} entity"));
    }
    Ok(value.clone())
}

impl MethodSchema<'_> {
    /// Checks request params and returns them with keys in the schema's spelling.
    ///
    /// # Errors
    /// The first violation found.
    pub fn check_params(&self, params: &Value) -> Result<Value, Violation> {
        match self.params {
            Some(schema) => self.check(params, schema, "params", Mode::Request),
            // No Params: Go ignores whatever is sent.
            None => Ok(params.clone()),
        }
    }

    /// Checks a response.
    ///
    /// # Errors
    /// The first violation found.
    pub fn check_result(&self, result: &Value) -> Result<(), Violation> {
        match self.result {
            Some(schema) => self
                .check(result, schema, "response", Mode::Response)
                .map(|_| ()),
            None => match result {
                Value::Object(m) if m.is_empty() => Ok(()),
                _ => Err(Violation {
                    path: "response".into(),
                    what: "method has no result, expected {}".into(),
                }),
            },
        }
    }

    fn resolve<'s>(&'s self, schema: &'s Value) -> Result<(&'s Value, Option<&'s str>), String> {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let name = r
                    .strip_prefix("#/definitions/")
                    .ok_or_else(|| format!("unsupported $ref {r}"))?;
                let def = self
                    .defs
                    .get(name)
                    .ok_or_else(|| format!("unknown definition {name}"))?;
                Ok((def, Some(name)))
            }
            None => Ok((schema, None)),
        }
    }

    fn check(
        &self,
        value: &Value,
        schema: &Value,
        path: &str,
        mode: Mode,
    ) -> Result<Value, Violation> {
        let fail = |what: String| Violation {
            path: path.to_string(),
            what,
        };
        let (schema, def_name) = self.resolve(schema).map_err(fail)?;
        if value.is_null() {
            return Ok(Value::Null);
        }
        if def_name == Some("Macaroon") {
            return match value {
                Value::Object(_) => Ok(value.clone()),
                other => Err(fail(format!(
                    "expected macaroon object, got {}",
                    kind(other)
                ))),
            };
        }
        if def_name == Some("Delta") {
            return check_delta(value).map_err(fail);
        }
        if is_interface(schema) {
            return Ok(value.clone());
        }
        match schema.get("type").and_then(Value::as_str) {
            Some("object") => self.check_object(value, schema, def_name, path, mode),
            Some("array") => {
                let Value::Array(items) = value else {
                    return Err(fail(format!("expected array, got {}", kind(value))));
                };
                let item_schema = schema.get("items");
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let item_path = format!("{path}[{i}]");
                    out.push(match item_schema {
                        Some(s) => self.check(item, s, &item_path, mode)?,
                        None => item.clone(),
                    });
                }
                Ok(Value::Array(out))
            }
            Some("string") => match value {
                Value::String(s) => {
                    if schema.get("format").and_then(Value::as_str) == Some("date-time")
                        && s.parse::<jiff::Timestamp>().is_err()
                    {
                        return Err(fail(format!("expected RFC 3339 date-time, got {s:?}")));
                    }
                    Ok(value.clone())
                }
                other => Err(fail(format!("expected string, got {}", kind(other)))),
            },
            Some("integer") => {
                if value.is_i64() || value.is_u64() {
                    Ok(value.clone())
                } else {
                    Err(fail(format!("expected integer, got {}", kind(value))))
                }
            }
            Some("boolean") => match value {
                Value::Bool(_) => Ok(value.clone()),
                other => Err(fail(format!("expected boolean, got {}", kind(other)))),
            },
            Some("number") => match value {
                Value::Number(_) => Ok(value.clone()),
                other => Err(fail(format!("expected number, got {}", kind(other)))),
            },
            Some(other) => Err(fail(format!("unsupported schema type {other}"))),
            None => Ok(value.clone()),
        }
    }

    fn check_object(
        &self,
        value: &Value,
        schema: &Value,
        def_name: Option<&str>,
        path: &str,
        mode: Mode,
    ) -> Result<Value, Violation> {
        let Value::Object(map) = value else {
            return Err(Violation {
                path: path.to_string(),
                what: format!("expected object, got {}", kind(value)),
            });
        };
        let mut props: Vec<(&str, &Value)> = Vec::new();
        self.collect_properties(schema, def_name, &mut props, 0);
        let pattern = schema
            .get("patternProperties")
            .and_then(Value::as_object)
            .and_then(|p| p.get(".*"));
        let closed = schema.get("additionalProperties") == Some(&Value::Bool(false));
        let mut out = Map::new();
        for (key, v) in map {
            let exact = props.iter().find(|(name, _)| *name == key.as_str());
            let found = match (exact, mode) {
                (Some(p), _) => Some(*p),
                (None, Mode::Request) => props
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(key))
                    .copied(),
                (None, Mode::Response) => None,
            };
            let child_path = format!("{path}.{key}");
            if let Some((name, prop_schema)) = found {
                let checked = if name == "fingerprint" && (v.is_string() || v.is_null()) {
                    v.clone()
                } else {
                    self.check(v, prop_schema, &child_path, mode)?
                };
                out.insert(name.to_string(), checked);
            } else if let Some(p) = pattern {
                out.insert(key.clone(), self.check(v, p, &child_path, mode)?);
            } else if closed {
                return Err(Violation {
                    path: child_path,
                    what: "unknown key".into(),
                });
            } else {
                out.insert(key.clone(), v.clone());
            }
        }
        Ok(Value::Object(out))
    }

    /// The keys an object accepts: its properties, with embedded structs flattened.
    fn collect_properties<'s>(
        &'s self,
        schema: &'s Value,
        def_name: Option<&str>,
        out: &mut Vec<(&'s str, &'s Value)>,
        depth: usize,
    ) {
        let Some(props) = schema.get("properties").and_then(Value::as_object) else {
            return;
        };
        for (name, prop) in props {
            let embedded = prop
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/definitions/"))
                .is_some_and(|r| r == name)
                && !(def_name == Some("ApplicationStorageGetResult") && name == "Error");
            if embedded && depth < 8 {
                if let Some(def) = self.defs.get(name) {
                    self.collect_properties(def, Some(name), out, depth + 1);
                }
            } else if !out.iter().any(|(n, _)| n == name) {
                out.push((name.as_str(), prop));
            }
        }
    }
}

/// Go's `interface{}`: an object schema that allows anything and names nothing.
fn is_interface(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("object")
        && schema.get("additionalProperties") == Some(&Value::Bool(true))
        && schema.get("properties").is_none()
        && schema.get("patternProperties").is_none()
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn destroy() -> MethodSchema<'static> {
        Schema::get()
            .method("Application", 20, "DestroyApplication")
            .expect("DestroyApplication in Application 20")
    }

    #[test]
    fn every_entry_of_the_file_is_loaded() {
        let schema = Schema::get();
        assert_eq!(schema.entries.len(), 10);
        assert!(schema.has_method("Application", 22, "GetApplicationStorage"));
        assert!(schema.has_method("Application", 15, "DeployFromRepository"));
    }

    #[test]
    fn a_misspelled_key_is_an_unknown_key() {
        let err = destroy()
            .check_params(&json!({"applications":[{"aplication-tag":"application-x"}]}))
            .expect_err("misspelling refused");
        assert_eq!(err.path, "params.applications[0].aplication-tag");
        assert_eq!(err.what, "unknown key");
    }

    #[test]
    fn request_keys_match_case_insensitively_and_are_normalised() {
        let out = destroy()
            .check_params(
                &json!({"Applications":[{"Application-Tag":"application-x","force":false}]}),
            )
            .expect("Go matches keys case-insensitively");
        assert_eq!(
            out,
            json!({"applications":[{"application-tag":"application-x","force":false}]})
        );
    }

    #[test]
    fn response_keys_must_match_exactly() {
        let err = destroy()
            .check_result(&json!({"Results": []}))
            .expect_err("exact keys in responses");
        assert_eq!(err.what, "unknown key");
    }

    #[test]
    fn null_is_accepted_for_lists_and_maps_and_types_are_checked() {
        let s = destroy();
        s.check_params(&json!({"applications": null}))
            .expect("null list");
        let err = s
            .check_params(&json!({"applications":[{"application-tag":"x","force":"no"}]}))
            .expect_err("string for boolean");
        assert_eq!(err.what, "expected boolean, got string");
    }

    #[test]
    fn embedded_structs_are_flattened() {
        let s = Schema::get()
            .method("Resources", 3, "AddPendingResources")
            .expect("AddPendingResources");
        s.check_params(&json!({"tag":"application-x","url":"ch:amd64/x-1","resources":[
            {"name":"oci-image","type":"oci-image","path":"","origin":"store","revision":-1,"fingerprint":null,"size":0}]}))
            .expect("flattened Entity tag");
        let err = s
            .check_params(&json!({"Entity":{"tag":"application-x"}}))
            .expect_err("the embedded type name is not a key");
        assert_eq!(err.path, "params.Entity");
        s.check_result(&json!({"pending-ids":["a"], "error": null}))
            .expect("flattened ErrorResult");
    }

    #[test]
    fn fingerprints_are_base64_strings_and_interface_values_are_anything() {
        let s = Schema::get()
            .method("Charms", 7, "ListCharmResources")
            .expect("ListCharmResources");
        s.check_result(
            &json!({"results":[[{"name":"oci-image","type":"oci-image","path":"",
            "origin":"store","revision":3,"fingerprint":"AAEC","size":0}]]}),
        )
        .expect("base64 fingerprint");
        let get = Schema::get().method("Application", 22, "Get").expect("Get");
        get.check_result(&json!({"application":"a","charm":"c","config":{"port":{"value":8080}},
            "application-config":{"trust":{"value":false}},"constraints":{},"base":{"name":"ubuntu","channel":"22.04"},"channel":"stable"}))
            .expect("interface{} values");
    }

    #[test]
    fn macaroons_are_any_object() {
        let login = Schema::get().method("Admin", 3, "Login").expect("Login");
        login
            .check_result(
                &json!({"bakery-discharge-required":{"c":[{"i":"x"}],"l":"juju"},
                "discharge-required-error":"verification failed: no macaroons"}),
            )
            .expect("macaroon object");
    }

    #[test]
    fn versions_without_entries_map_to_the_nearest_identical_one() {
        assert_eq!(schema_version("Application", 19), Some(20));
        assert_eq!(schema_version("Application", 21), Some(22));
        assert_eq!(schema_version("Client", 6), Some(8));
        assert_eq!(schema_version("Nope", 1), None);
    }
}
