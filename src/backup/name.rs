//! The backup ConfigMap's name: `ckf-migrator-backup-<UTC YYYYmmdd-HHMMSS>[-N]`.
//!
//! The name carries the time the backup was taken, so the newest backup is found from names
//! alone; `-N` (1 to 4) marks a retry within the same second, which is newer than the name
//! without it.

use std::fmt;

/// What every backup ConfigMap's name starts with.
pub const NAME_PREFIX: &str = "ckf-migrator-backup-";

/// A backup ConfigMap's name, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct BackupName {
    /// When it was taken (UTC, to the second). First field: names order by time first.
    taken: jiff::civil::DateTime,
    /// 0 for the first backup in that second, `N` for the name ending in `-N`.
    retry: u32,
}

impl BackupName {
    /// The name of the first backup taken at `time`.
    pub fn at(time: jiff::Timestamp) -> Self {
        let taken = time.to_zoned(jiff::tz::TimeZone::UTC).datetime();
        Self {
            taken: taken.with().subsec_nanosecond(0).build().unwrap_or(taken),
            retry: 0,
        }
    }

    /// The same second's `retry`-th name (`-N`).
    pub fn retry(self, retry: u32) -> Self {
        Self { retry, ..self }
    }

    /// Parses a ConfigMap name; `None` if it is not a backup's.
    pub fn parse(name: &str) -> Option<Self> {
        let rest = name.strip_prefix(NAME_PREFIX)?;
        let (stamp, retry) = match rest.len() {
            15 => (rest, 0),
            n if n > 16 && rest.as_bytes()[15] == b'-' => {
                let digits = &rest[16..];
                if !digits.bytes().all(|b| b.is_ascii_digit()) || digits.starts_with('0') {
                    return None;
                }
                (&rest[..15], digits.parse().ok()?)
            }
            _ => return None,
        };
        // strptime accepts fewer digits than the width; the writer always writes all of them.
        if !stamp.bytes().enumerate().all(|(i, b)| {
            if i == 8 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        }) {
            return None;
        }
        let taken = jiff::civil::DateTime::strptime("%Y%m%d-%H%M%S", stamp).ok()?;
        Some(Self { taken, retry })
    }
}

impl fmt::Display for BackupName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{NAME_PREFIX}{}", self.taken.strftime("%Y%m%d-%H%M%S"))?;
        if self.retry > 0 {
            write!(f, "-{}", self.retry)?;
        }
        Ok(())
    }
}

/// The newest backup among ConfigMap names, by the time in the name and then the retry number.
/// Names that are not a backup's are ignored: the label that found them is only a hint.
pub fn newest<'a>(names: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    names
        .into_iter()
        .filter_map(|name| BackupName::parse(name).map(|parsed| (parsed, name)))
        .max_by_key(|(parsed, _)| *parsed)
        .map(|(_, name)| name)
}

/// Backup names among ConfigMap names, newest first; names that are not a backup's are left out.
pub fn newest_first<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut backups: Vec<(BackupName, &str)> = names
        .into_iter()
        .filter_map(|name| BackupName::parse(name).map(|parsed| (parsed, name)))
        .collect();
    backups.sort_by_key(|(parsed, _)| std::cmp::Reverse(*parsed));
    backups.into_iter().map(|(_, name)| name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> jiff::Timestamp {
        s.parse().expect("time")
    }

    #[test]
    fn names_are_valid_object_names_of_the_utc_second() {
        let name = BackupName::at(at("2026-11-25T09:05:03.75Z"));
        assert_eq!(name.to_string(), "ckf-migrator-backup-20261125-090503");
        assert_eq!(
            name.retry(2).to_string(),
            "ckf-migrator-backup-20261125-090503-2"
        );
    }

    #[test]
    fn names_parse_back() {
        for name in [
            "ckf-migrator-backup-20261125-090503",
            "ckf-migrator-backup-20261125-090503-4",
            "ckf-migrator-backup-20261125-090503-12",
        ] {
            let parsed = BackupName::parse(name).expect(name);
            assert_eq!(parsed.to_string(), name);
        }
    }

    #[test]
    fn other_names_are_not_backups() {
        for name in [
            "ckf-migrator-backup",
            "ckf-migrator-backup-",
            "ckf-migrator-backup-2026112-090503",
            "ckf-migrator-backup-20261125-0905031",
            "ckf-migrator-backup-20261125-090503-",
            "ckf-migrator-backup-20261125-090503-x",
            "ckf-migrator-backup-20261125-090503-01",
            "ckf-migrator-backup-20261325-090503",
            "ckf-migrator-backup-2026112a-090503",
            "ckf-migrator-backup-+2026112-090503",
            "my-backup-20261125-090503",
            "kube-root-ca.crt",
        ] {
            assert_eq!(BackupName::parse(name), None, "{name}");
        }
    }

    #[test]
    fn the_newest_is_picked_by_the_time_in_the_name() {
        let names = [
            "ckf-migrator-backup-20261125-090503",
            "ckf-migrator-backup-20270101-000000",
            "ckf-migrator-backup-20261231-235959",
        ];
        assert_eq!(newest(names), Some("ckf-migrator-backup-20270101-000000"));
    }

    #[test]
    fn a_retry_in_the_same_second_is_newer_than_the_first_try() {
        let names = [
            "ckf-migrator-backup-20261125-090503-2",
            "ckf-migrator-backup-20261125-090503",
            "ckf-migrator-backup-20261125-090503-1",
            "ckf-migrator-backup-20261125-090502-4",
        ];
        assert_eq!(newest(names), Some("ckf-migrator-backup-20261125-090503-2"));
    }

    #[test]
    fn retries_order_as_numbers_not_text() {
        let names = [
            "ckf-migrator-backup-20261125-090503-9",
            "ckf-migrator-backup-20261125-090503-10",
        ];
        assert_eq!(
            newest(names),
            Some("ckf-migrator-backup-20261125-090503-10")
        );
    }

    #[test]
    fn names_that_are_not_backups_are_never_picked() {
        assert_eq!(
            newest(["kube-root-ca.crt", "ckf-migrator-backup-latest"]),
            None
        );
        assert_eq!(newest([]), None);
        assert_eq!(
            newest([
                "ckf-migrator-backup-99999999-999999",
                "ckf-migrator-backup-20261125-090503"
            ]),
            Some("ckf-migrator-backup-20261125-090503")
        );
    }

    #[test]
    fn newest_first_orders_by_time_then_retry_and_drops_other_names() {
        let names = [
            "ckf-migrator-backup-20261125-090503",
            "ckf-migrator-backup-20261126-010000",
            "something-else",
            "ckf-migrator-backup-20261125-090503-1",
        ];
        assert_eq!(
            newest_first(names),
            [
                "ckf-migrator-backup-20261126-010000",
                "ckf-migrator-backup-20261125-090503-1",
                "ckf-migrator-backup-20261125-090503",
            ]
        );
    }
}
