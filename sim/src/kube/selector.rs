//! Label and field selectors: parsing Kubernetes' string syntax and matching objects.
//!
//! Label selectors follow `k8s.io/apimachinery/pkg/labels`: `=`, `==`, `!=`, `in (..)`,
//! `notin (..)`, `key` (exists), `!key` (does not exist), `>`/`<` (numeric), comma-separated,
//! all required. Field selectors support `=`, `==`, `!=` on the fields the apiserver allows for
//! each resource ([`supported_field`]). Pure functions; no knowledge of storage or HTTP.

use std::collections::BTreeMap;

use serde_json::Value;

/// A parse failure, worded for a 400 `Status` message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SelectorError(pub String);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Op {
    Eq(String),
    NotEq(String),
    In(Vec<String>),
    NotIn(Vec<String>),
    Exists,
    DoesNotExist,
    Gt(i64),
    Lt(i64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Requirement {
    key: String,
    op: Op,
}

/// A parsed label selector; the empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    reqs: Vec<Requirement>,
}

/// Splits on commas that are not inside parentheses.
fn split_top_level(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

fn valid_name_part(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// A label key: optional DNS-subdomain prefix and `/`, then a name part.
pub(crate) fn valid_label_key(key: &str) -> bool {
    match key.split_once('/') {
        Some((prefix, name)) => {
            !prefix.is_empty()
                && prefix.len() <= 253
                && prefix.split('.').all(|p| {
                    !p.is_empty()
                        && p.chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                        && !p.starts_with('-')
                        && !p.ends_with('-')
                })
                && valid_name_part(name)
        }
        None => valid_name_part(key),
    }
}

/// A label value: empty, or a name part.
pub(crate) fn valid_label_value(v: &str) -> bool {
    v.is_empty() || valid_name_part(v)
}

fn parse_value(key: &str, v: &str) -> Result<String, SelectorError> {
    let v = v.trim();
    if valid_label_value(v) {
        Ok(v.to_string())
    } else {
        Err(SelectorError(format!(
            "unable to parse requirement: values[0][{key}]: Invalid value: \"{v}\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        )))
    }
}

fn parse_set(key: &str, rest: &str) -> Result<Vec<String>, SelectorError> {
    let rest = rest.trim();
    let inner = rest
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| {
            SelectorError(format!(
                "unable to parse requirement: found '{rest}', expected: '('"
            ))
        })?;
    let values = inner
        .split(',')
        .map(|v| parse_value(key, v))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(values)
}

impl LabelSelector {
    /// Parses the `labelSelector` query syntax.
    ///
    /// # Errors
    /// A requirement that is not valid Kubernetes selector syntax.
    pub fn parse(s: &str) -> Result<Self, SelectorError> {
        let mut reqs = Vec::new();
        if s.trim().is_empty() {
            return Ok(Self { reqs });
        }
        for part in split_top_level(s) {
            let part = part.trim();
            if part.is_empty() {
                return Err(SelectorError(
                    "unable to parse requirement: found '', expected: identifier".into(),
                ));
            }
            if let Some(key) = part.strip_prefix('!') {
                let key = key.trim();
                if !valid_label_key(key) {
                    return Err(invalid_key(key));
                }
                reqs.push(Requirement {
                    key: key.into(),
                    op: Op::DoesNotExist,
                });
                continue;
            }
            let key_end = part
                .find(|c: char| c.is_whitespace() || "=!<>(".contains(c))
                .unwrap_or(part.len());
            let key = &part[..key_end];
            if !valid_label_key(key) {
                return Err(invalid_key(key));
            }
            let rest = part[key_end..].trim_start();
            let op = if rest.is_empty() {
                Op::Exists
            } else if let Some(v) = rest.strip_prefix("==") {
                Op::Eq(parse_value(key, v)?)
            } else if let Some(v) = rest.strip_prefix("!=") {
                Op::NotEq(parse_value(key, v)?)
            } else if let Some(v) = rest.strip_prefix('=') {
                Op::Eq(parse_value(key, v)?)
            } else if let Some(v) = rest.strip_prefix('>') {
                Op::Gt(parse_int(v)?)
            } else if let Some(v) = rest.strip_prefix('<') {
                Op::Lt(parse_int(v)?)
            } else if let Some(v) = rest.strip_prefix("notin") {
                Op::NotIn(parse_set(key, v)?)
            } else if let Some(v) = rest.strip_prefix("in") {
                Op::In(parse_set(key, v)?)
            } else {
                return Err(SelectorError(format!(
                    "unable to parse requirement: found '{rest}', expected: in, notin, =, ==, !=, gt, lt"
                )));
            };
            reqs.push(Requirement {
                key: key.into(),
                op,
            });
        }
        Ok(Self { reqs })
    }

    /// A selector from the structured form workloads carry (`matchLabels`, `matchExpressions`).
    ///
    /// # Errors
    /// An operator other than In, NotIn, Exists, DoesNotExist.
    pub fn from_object(selector: &Value) -> Result<Self, SelectorError> {
        let mut reqs = Vec::new();
        if let Some(m) = selector.get("matchLabels").and_then(Value::as_object) {
            for (k, v) in m {
                reqs.push(Requirement {
                    key: k.clone(),
                    op: Op::Eq(v.as_str().unwrap_or_default().to_string()),
                });
            }
        }
        for e in selector
            .get("matchExpressions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let key = e
                .get("key")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let values: Vec<String> = e
                .get("values")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect();
            let op = match e.get("operator").and_then(Value::as_str) {
                Some("In") => Op::In(values),
                Some("NotIn") => Op::NotIn(values),
                Some("Exists") => Op::Exists,
                Some("DoesNotExist") => Op::DoesNotExist,
                other => {
                    return Err(SelectorError(format!(
                        "{:?} is not a valid label selector operator",
                        other.unwrap_or("")
                    )));
                }
            };
            reqs.push(Requirement { key, op });
        }
        Ok(Self { reqs })
    }

    /// True if the selector has no requirements.
    pub fn is_empty(&self) -> bool {
        self.reqs.is_empty()
    }

    /// Whether an object with these labels is selected.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.reqs.iter().all(|r| {
            let v = labels.get(&r.key);
            match &r.op {
                Op::Eq(x) => v == Some(x),
                Op::NotEq(x) => v != Some(x),
                Op::In(xs) => v.is_some_and(|v| xs.contains(v)),
                Op::NotIn(xs) => v.is_none_or(|v| !xs.contains(v)),
                Op::Exists => v.is_some(),
                Op::DoesNotExist => v.is_none(),
                Op::Gt(n) => v
                    .and_then(|v| v.parse::<i64>().ok())
                    .is_some_and(|v| v > *n),
                Op::Lt(n) => v
                    .and_then(|v| v.parse::<i64>().ok())
                    .is_some_and(|v| v < *n),
            }
        })
    }
}

fn invalid_key(key: &str) -> SelectorError {
    SelectorError(format!(
        "unable to parse requirement: key: Invalid value: \"{key}\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
    ))
}

fn parse_int(v: &str) -> Result<i64, SelectorError> {
    v.trim().parse().map_err(|_| {
        SelectorError(format!(
            "unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer, got '{}'",
            v.trim()
        ))
    })
}

/// One `field=value` / `field!=value` term.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FieldTerm {
    field: String,
    value: String,
    equal: bool,
}

/// A parsed field selector; the empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector {
    terms: Vec<FieldTerm>,
}

/// Splits on unescaped commas and unescapes `\,`, `\=`, `\\`.
fn split_escaped(s: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                cur.push('\\');
                cur.push(n);
            }
        } else if c == sep {
            out.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    out.push(cur);
    out
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

impl FieldSelector {
    /// Parses the `fieldSelector` query syntax.
    ///
    /// # Errors
    /// A term without an operator.
    pub fn parse(s: &str) -> Result<Self, SelectorError> {
        let mut terms = Vec::new();
        if s.trim().is_empty() {
            return Ok(Self { terms });
        }
        for part in split_escaped(s, ',') {
            let (field, value, equal) = if let Some((f, v)) = part.split_once("!=") {
                (f, v, false)
            } else if let Some((f, v)) = part.split_once("==") {
                (f, v, true)
            } else if let Some((f, v)) = part.split_once('=') {
                (f, v, true)
            } else {
                return Err(SelectorError(format!(
                    "invalid selector: '{s}'; can't understand '{part}'"
                )));
            };
            terms.push(FieldTerm {
                field: field.trim().to_string(),
                value: unescape(value),
                equal,
            });
        }
        Ok(Self { terms })
    }

    /// True if the selector has no terms.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The fields the selector reads.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.terms.iter().map(|t| t.field.as_str())
    }

    /// The value required by an `=` term on `field`, if there is one (used to narrow a list to
    /// one name or namespace without scanning).
    pub fn required(&self, field: &str) -> Option<&str> {
        self.terms
            .iter()
            .find(|t| t.equal && t.field == field)
            .map(|t| t.value.as_str())
    }

    /// Whether an object is selected; `lookup` gives a field's value ("" if absent).
    pub fn matches(&self, lookup: impl Fn(&str) -> String) -> bool {
        self.terms
            .iter()
            .all(|t| (lookup(&t.field) == t.value) == t.equal)
    }
}

/// Whether the apiserver accepts `field` in a field selector for this resource.
pub(crate) fn supported_field(group: &str, plural: &str, field: &str) -> bool {
    if field == "metadata.name" || field == "metadata.namespace" {
        return true;
    }
    match (group, plural) {
        ("", "pods") => matches!(
            field,
            "spec.nodeName"
                | "spec.restartPolicy"
                | "spec.schedulerName"
                | "spec.serviceAccountName"
                | "spec.hostNetwork"
                | "status.phase"
                | "status.podIP"
                | "status.nominatedNodeName"
        ),
        ("", "events") => {
            field.starts_with("involvedObject.")
                || matches!(field, "reason" | "reportingComponent" | "source" | "type")
        }
        ("", "secrets") => field == "type",
        ("", "namespaces") => field == "status.phase",
        ("", "nodes") => field == "spec.unschedulable",
        ("apps", "replicasets") => field == "status.replicas",
        _ => false,
    }
}

/// Reads a dotted field path from an object as the field selector sees it (strings as-is,
/// booleans and numbers printed, absent as "").
pub(crate) fn field_value(obj: &Value, field: &str) -> String {
    let mut cur = obj;
    for part in field.split('.') {
        match cur.get(part) {
            Some(v) => cur = v,
            None => return String::new(),
        }
    }
    match cur {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn sel(s: &str) -> LabelSelector {
        LabelSelector::parse(s).expect("selector parses")
    }

    #[test]
    fn equality_and_inequality_select_by_value() {
        let l = labels(&[("app", "x"), ("tier", "web")]);

        assert!(sel("app=x").matches(&l));
        assert!(sel("app==x,tier=web").matches(&l));
        assert!(!sel("app!=x").matches(&l));
        assert!(sel("other!=y").matches(&l));
    }

    #[test]
    fn set_operators_select_members_and_non_members() {
        let l = labels(&[("env", "prod")]);

        assert!(sel("env in (prod, staging)").matches(&l));
        assert!(!sel("env notin (prod,staging)").matches(&l));
        assert!(sel("zone notin (a)").matches(&l));
        assert!(!sel("zone in (a)").matches(&l));
    }

    #[test]
    fn existence_operators_test_the_key_only() {
        let l = labels(&[("istio-injection", "enabled")]);

        assert!(sel("istio-injection").matches(&l));
        assert!(!sel("!istio-injection").matches(&l));
        assert!(sel("!istio.io/dataplane-mode").matches(&l));
        assert!(sel("istio-injection,!istio.io/rev").matches(&l));
    }

    #[test]
    fn empty_selector_matches_everything() {
        assert!(sel("").matches(&labels(&[])));
    }

    #[test]
    fn malformed_selectors_are_refused() {
        assert!(LabelSelector::parse("app in prod").is_err());
        assert!(LabelSelector::parse("app=x y").is_err());
        assert!(LabelSelector::parse("-bad=x").is_err());
        assert!(LabelSelector::parse("a,,b").is_err());
    }

    #[test]
    fn structured_selector_matches_like_the_string_form() {
        let s = LabelSelector::from_object(&serde_json::json!({
            "matchLabels": {"app": "x"},
            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["web"]}]
        }))
        .expect("valid selector");

        assert!(s.matches(&labels(&[("app", "x"), ("tier", "web")])));
        assert!(!s.matches(&labels(&[("app", "x")])));
    }

    #[test]
    fn field_selector_compares_fields_with_both_operators() {
        let pod = serde_json::json!({"metadata": {"name": "a"}, "status": {"phase": "Running"}});
        let f = FieldSelector::parse("metadata.name=a,status.phase!=Pending").expect("parses");

        assert!(f.matches(|k| field_value(&pod, k)));
        assert!(
            !FieldSelector::parse("status.phase==Pending")
                .expect("parses")
                .matches(|k| field_value(&pod, k))
        );
    }

    #[test]
    fn field_selector_unescapes_values_and_rejects_terms_without_operator() {
        let f = FieldSelector::parse(r"metadata.name=a\,b").expect("parses");

        assert_eq!(f.required("metadata.name"), Some("a,b"));
        assert!(FieldSelector::parse("metadata.name").is_err());
    }

    #[test]
    fn only_fields_the_apiserver_indexes_are_supported() {
        assert!(supported_field("", "pods", "spec.nodeName"));
        assert!(supported_field("apps", "deployments", "metadata.name"));
        assert!(!supported_field("apps", "deployments", "spec.replicas"));
    }
}
