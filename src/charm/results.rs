//! Action results as `action-set` takes them: flat dotted keys, checked before any call.
//!
//! Juju checks each dot-separated segment of a key against `^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$`
//! and refuses the reserved segments `stdout`, `stdout-encoding`, `stderr` and `stderr-encoding`
//! (reference/charm-runtime.md §2). A refused `action-set` loses every result of that call, so
//! keys are checked here first, as ops does. Nested results are flattened to dotted keys; a key
//! set twice, or set both as a value and as the parent of another key (Juju would silently keep
//! only one), is refused.
//!
//! Values travel on the command line, where Linux allows at most 128 KiB per argument; ops
//! documents results as limited to "around 100KB". A longer value is truncated to
//! [`MAX_VALUE_BYTES`] with a note saying so, rather than failing the whole report.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

/// Longest value sent, in bytes, including the truncation note.
pub const MAX_VALUE_BYTES: usize = 100 * 1024;

/// Segments Juju keeps for the process's own output.
pub const RESERVED_SEGMENTS: &[&str] = &["stdout", "stdout-encoding", "stderr", "stderr-encoding"];

/// A result key Juju would refuse, or that would lose another result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResultKeyError {
    /// A segment is not lowercase letters, digits and inner hyphens.
    #[error(
        "result key {key:?} is invalid: each dot-separated part must start and end with a lowercase letter or digit and contain only lowercase letters, digits and hyphens"
    )]
    Invalid {
        /// The whole key.
        key: String,
    },
    /// A segment is one Juju reserves.
    #[error("result key {key:?} uses {segment:?}, which Juju reserves for the action's own output")]
    Reserved {
        /// The whole key.
        key: String,
        /// The reserved segment.
        segment: String,
    },
    /// The same key twice.
    #[error("result key {key:?} is set twice")]
    Duplicate {
        /// The key.
        key: String,
    },
    /// A key is both a value and the parent of another key (`a=1` and `a.b=2`).
    #[error("result key {key:?} is both a value and the parent of {child:?}")]
    Conflict {
        /// The key that has a value.
        key: String,
        /// A key below it.
        child: String,
    },
}

/// Checks one key (all of its segments).
///
/// # Errors
/// The key is invalid or uses a reserved segment.
pub fn check_key(key: &str) -> Result<(), ResultKeyError> {
    for segment in key.split('.') {
        if !is_valid_segment(segment) {
            return Err(ResultKeyError::Invalid {
                key: key.to_string(),
            });
        }
        if RESERVED_SEGMENTS.contains(&segment) {
            return Err(ResultKeyError::Reserved {
                key: key.to_string(),
                segment: segment.to_string(),
            });
        }
    }
    Ok(())
}

/// Juju's action-name rule: `^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$`.
fn is_valid_segment(segment: &str) -> bool {
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    match segment.as_bytes() {
        [] => false,
        [only] => alnum(only),
        [first, middle @ .., last] => {
            alnum(first) && alnum(last) && middle.iter().all(|b| alnum(b) || *b == b'-')
        }
    }
}

/// Results ready for `action-set`: valid, flat, without duplicates or conflicts, in the order
/// they were added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActionResults {
    entries: Vec<(String, String)>,
    keys: BTreeSet<String>,
}

impl ActionResults {
    /// No results.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one result. Values longer than [`MAX_VALUE_BYTES`] are truncated with a note.
    ///
    /// # Errors
    /// The key is invalid, reserved, already set, or conflicts with a key already set.
    pub fn insert(
        &mut self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<(), ResultKeyError> {
        let key = key.into();
        check_key(&key)?;
        if self.keys.contains(&key) {
            return Err(ResultKeyError::Duplicate { key });
        }
        // A parent of this key already holds a value?
        let mut prefix = String::new();
        for segment in key.split('.') {
            if !prefix.is_empty() && self.keys.contains(&prefix) {
                return Err(ResultKeyError::Conflict {
                    key: prefix,
                    child: key,
                });
            }
            if !prefix.is_empty() {
                prefix.push('.');
            }
            prefix.push_str(segment);
        }
        // This key is already the parent of a key with a value?
        let below = format!("{key}.");
        if let Some(child) = self
            .keys
            .range(below.clone()..)
            .next()
            .filter(|k| k.starts_with(&below))
        {
            return Err(ResultKeyError::Conflict {
                key,
                child: child.clone(),
            });
        }
        self.keys.insert(key.clone());
        self.entries.push((key, truncate(value.into())));
        Ok(())
    }

    /// Results from flat pairs, e.g. `migrate::Report::results()`.
    ///
    /// # Errors
    /// See [`ActionResults::insert`].
    pub fn from_pairs<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> Result<Self, ResultKeyError>
    where
        K: Into<String>,
        V: Into<String>,
    {
        let mut results = Self::new();
        for (key, value) in pairs {
            results.insert(key, value)?;
        }
        Ok(results)
    }

    /// Results from a nested map, flattened to dotted keys. Strings are sent as they are, other
    /// scalars in their JSON spelling (`true`, `3`), `null` as an empty string.
    ///
    /// # Errors
    /// See [`ActionResults::insert`]; an empty map below a key is refused as an invalid key.
    pub fn from_nested(map: &Map<String, Value>) -> Result<Self, ResultKeyError> {
        let mut results = Self::new();
        flatten_into(&mut results, "", map)?;
        Ok(results)
    }

    /// The `(key, value)` pairs in order.
    pub fn entries(&self) -> &[(String, String)] {
        &self.entries
    }

    /// A value by its dotted key.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Whether there are no results.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

fn flatten_into(
    results: &mut ActionResults,
    prefix: &str,
    map: &Map<String, Value>,
) -> Result<(), ResultKeyError> {
    for (key, value) in map {
        let full = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            Value::Object(inner) if inner.is_empty() => {
                return Err(ResultKeyError::Invalid { key: full });
            }
            Value::Object(inner) => flatten_into(results, &full, inner)?,
            Value::String(s) => results.insert(full, s.clone())?,
            Value::Null => results.insert(full, String::new())?,
            other => results.insert(full, other.to_string())?,
        }
    }
    Ok(())
}

fn truncate(value: String) -> String {
    if value.len() <= MAX_VALUE_BYTES {
        return value;
    }
    let note = format!(
        "\n[truncated: {} of {} bytes not shown: action results travel on a command line]",
        value.len() - MAX_VALUE_BYTES,
        value.len()
    );
    let mut cut = MAX_VALUE_BYTES - note.len();
    while !value.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut out = value[..cut].to_string();
    out.push_str(&note);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowercase_digits_hyphens_and_dots_are_accepted() {
        assert_eq!(check_key("verify.checks.istiod-is-ready"), Ok(()));
        assert_eq!(check_key("a1.b-2.3"), Ok(()));
    }

    #[test]
    fn uppercase_underscores_and_edge_hyphens_are_refused() {
        for key in [
            "Result", "dry_run", "-x", "x-", "a..b", ".a", "a.", "", "a b",
        ] {
            assert!(
                matches!(check_key(key), Err(ResultKeyError::Invalid { .. })),
                "{key:?} should be invalid"
            );
        }
    }

    #[test]
    fn reserved_segments_are_refused_at_any_depth() {
        for key in [
            "stdout",
            "x.stderr",
            "stdout-encoding.y",
            "a.stderr-encoding",
        ] {
            assert!(
                matches!(check_key(key), Err(ResultKeyError::Reserved { .. })),
                "{key:?} should be reserved"
            );
        }
        assert_eq!(check_key("stdout-lines"), Ok(()));
    }

    #[test]
    fn nested_results_flatten_to_dotted_keys_in_order() {
        let nested = serde_json::json!({
            "result": "pass",
            "checks": {"istiod-is-ready": "pass", "count": 3, "ok": true},
            "note": null,
        });

        let results =
            ActionResults::from_nested(nested.as_object().expect("object")).expect("valid results");

        assert_eq!(results.get("checks.istiod-is-ready"), Some("pass"));
        assert_eq!(results.get("checks.count"), Some("3"));
        assert_eq!(results.get("checks.ok"), Some("true"));
        assert_eq!(results.get("note"), Some(""));
        assert_eq!(results.entries().len(), 5);
    }

    #[test]
    fn a_dotted_key_and_the_same_nested_key_are_a_duplicate() {
        let nested = serde_json::json!({"a.b": "1", "a": {"b": "2"}});

        let err =
            ActionResults::from_nested(nested.as_object().expect("object")).expect_err("duplicate");

        assert_eq!(err, ResultKeyError::Duplicate { key: "a.b".into() });
    }

    #[test]
    fn a_value_and_a_child_of_it_conflict_in_either_order() {
        let parent_first = ActionResults::from_pairs([("a", "1"), ("a.b", "2")]);
        let child_first = ActionResults::from_pairs([("a.b.c", "2"), ("a.b", "1")]);

        assert_eq!(
            parent_first,
            Err(ResultKeyError::Conflict {
                key: "a".into(),
                child: "a.b".into()
            })
        );
        assert_eq!(
            child_first,
            Err(ResultKeyError::Conflict {
                key: "a.b".into(),
                child: "a.b.c".into()
            })
        );
    }

    #[test]
    fn siblings_sharing_a_prefix_do_not_conflict() {
        let results = ActionResults::from_pairs([("ab", "1"), ("a.b", "2"), ("a-b.c", "3")]);

        assert!(results.is_ok(), "{results:?}");
    }

    #[test]
    fn a_value_over_the_limit_is_truncated_with_a_note() {
        let long = "x".repeat(MAX_VALUE_BYTES * 3);

        let results = ActionResults::from_pairs([("commands", long)]).expect("valid");

        let value = results.get("commands").expect("present");
        assert!(value.len() <= MAX_VALUE_BYTES);
        assert!(
            value.contains("[truncated: "),
            "{}",
            &value[value.len() - 100..]
        );
    }

    #[test]
    fn truncation_cuts_on_a_character_boundary() {
        let long = "é".repeat(MAX_VALUE_BYTES);

        let results = ActionResults::from_pairs([("x", long)]).expect("valid");

        assert!(results.get("x").expect("present").len() <= MAX_VALUE_BYTES);
    }
}
