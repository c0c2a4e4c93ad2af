//! The verdict of each check and how the report is shown.

use std::fmt;

/// A check's verdict. Warn and fail carry one sentence naming the object read and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The property holds.
    Pass,
    /// The property holds with a caveat worth the operator's attention.
    Warn(String),
    /// The property does not hold.
    Fail(String),
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Pass => f.write_str("pass"),
            Verdict::Warn(why) => write!(f, "warn: {why}"),
            Verdict::Fail(why) => write!(f, "fail: {why}"),
        }
    }
}

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    /// The property proved, as a result key segment (`istiod-is-ready`).
    pub name: String,
    /// The group it belongs to (`juju`, `control-plane`, `gateways`, `mesh`, `kserve`, `http`;
    /// `cluster` for the access check that replaces them all when the API cannot be used).
    pub group: String,
    /// The verdict.
    pub verdict: Verdict,
}

/// Counts of a verification run, carried into the migration's result.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Checks that passed.
    pub passed: usize,
    /// Checks that passed with a warning.
    pub warnings: usize,
    /// Names of the checks that failed.
    pub failed: Vec<String>,
}

impl Summary {
    /// `pass` or `fail`.
    pub fn result(&self) -> &'static str {
        if self.failed.is_empty() {
            "pass"
        } else {
            "fail"
        }
    }

    /// Result keys under `prefix` (`verify.result`, `verify.passed`, …).
    pub fn results(&self, prefix: &str) -> Vec<(String, String)> {
        let mut out = vec![
            (format!("{prefix}.result"), self.result().to_string()),
            (format!("{prefix}.passed"), self.passed.to_string()),
            (format!("{prefix}.warnings"), self.warnings.to_string()),
            (format!("{prefix}.failed"), self.failed.len().to_string()),
        ];
        if !self.failed.is_empty() {
            out.push((format!("{prefix}.failed-checks"), self.failed.join(", ")));
        }
        out
    }
}

/// The result of `verify`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Every check, in a stable order (by group, then as declared).
    pub checks: Vec<CheckResult>,
}

impl Report {
    /// The counts.
    pub fn summary(&self) -> Summary {
        let mut summary = Summary::default();
        for check in &self.checks {
            match &check.verdict {
                Verdict::Pass => summary.passed += 1,
                Verdict::Warn(_) => {
                    summary.passed += 1;
                    summary.warnings += 1;
                }
                Verdict::Fail(_) => summary.failed.push(check.name.clone()),
            }
        }
        summary
    }

    /// Whether any check failed.
    pub fn failed(&self) -> bool {
        self.checks
            .iter()
            .any(|c| matches!(c.verdict, Verdict::Fail(_)))
    }

    /// Action results: `result`, `passed`, `warnings`, `failed`, and `checks.<name>`.
    pub fn results(&self) -> Vec<(String, String)> {
        let summary = self.summary();
        let mut out = vec![
            ("result".to_string(), summary.result().to_string()),
            ("passed".to_string(), summary.passed.to_string()),
            ("warnings".to_string(), summary.warnings.to_string()),
            ("failed".to_string(), summary.failed.len().to_string()),
        ];
        out.extend(
            self.checks
                .iter()
                .map(|c| (format!("checks.{}", c.name), c.verdict.to_string())),
        );
        out
    }

    /// A plain-text table for the CLI: one row per check.
    pub fn table(&self) -> String {
        let name_width = self
            .checks
            .iter()
            .map(|c| c.name.len())
            .max()
            .unwrap_or(5)
            .max(5);
        let group_width = self
            .checks
            .iter()
            .map(|c| c.group.len())
            .max()
            .unwrap_or(5)
            .max(5);
        let mut out = format!(
            "{:<group_width$}  {:<name_width$}  RESULT\n",
            "GROUP", "CHECK"
        );
        for c in &self.checks {
            out.push_str(&format!(
                "{:<group_width$}  {:<name_width$}  {}\n",
                c.group, c.name, c.verdict
            ));
        }
        let s = self.summary();
        out.push_str(&format!(
            "\n{}: {} passed ({} with warnings), {} failed\n",
            s.result(),
            s.passed,
            s.warnings,
            s.failed.len()
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn report() -> Report {
        let check = |name: &str, group: &str, verdict: Verdict| CheckResult {
            name: name.into(),
            group: group.into(),
            verdict,
        };
        Report {
            checks: vec![
                check("istiod-ready", "control-plane", Verdict::Pass),
                check(
                    "knative-leftovers",
                    "control-plane",
                    Verdict::Warn("namespace knative-serving still exists".into()),
                ),
                check(
                    "no-sidecars",
                    "mesh",
                    Verdict::Fail("1 pod in 1 workload still run istio-proxy sidecars".into()),
                ),
            ],
        }
    }

    #[test]
    fn results_carry_the_counts_and_one_key_per_check() {
        let results: BTreeMap<String, String> = report().results().into_iter().collect();

        assert_eq!(results["result"], "fail");
        assert_eq!(results["passed"], "2");
        assert_eq!(results["warnings"], "1");
        assert_eq!(results["failed"], "1");
        assert_eq!(results["checks.istiod-ready"], "pass");
        assert_eq!(
            results["checks.knative-leftovers"],
            "warn: namespace knative-serving still exists"
        );
        assert!(results["checks.no-sidecars"].starts_with("fail: 1 pod"));
    }

    #[test]
    fn summary_names_the_failed_checks_for_the_migration_result() {
        let summary = report().summary();

        let results: BTreeMap<String, String> = summary.results("verify").into_iter().collect();

        assert_eq!(results["verify.result"], "fail");
        assert_eq!(results["verify.failed-checks"], "no-sidecars");
    }

    #[test]
    fn warnings_alone_pass() {
        let mut report = report();
        report.checks.pop();

        assert!(!report.failed());
        assert_eq!(report.summary().result(), "pass");
    }

    #[test]
    fn table_shows_every_check_and_the_outcome() {
        let table = report().table();

        assert!(table.starts_with("GROUP"), "{table}");
        assert!(
            table.contains("mesh           no-sidecars        fail: 1 pod"),
            "{table}"
        );
        assert!(
            table.ends_with("fail: 2 passed (1 with warnings), 1 failed\n"),
            "{table}"
        );
    }
}
