//! Who holds the migration Lease, and whether that holder is known to be dead.
//!
//! A CLI run holds it as `cli:<user>@<host>:<pid>`. When a run is killed (Ctrl-C before this
//! version, `kill -9`, a crash) its Lease outlives it until it expires; a new run on the same host
//! can see that the process is gone and take over at once instead of waiting for the expiry. A
//! holder on another host, or a unit (`ckf-migrator/0`), cannot be checked from here and is
//! respected until its Lease expires (the same unit's own takeover is the Lease's rule).

use std::path::Path;

/// This process's identity as a CLI holder: `cli:<user>@<host>:<pid>`.
pub fn cli_holder() -> String {
    format!(
        "cli:{}@{}:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown-user".into()),
        hostname(),
        std::process::id()
    )
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown-host".into())
}

/// A CLI holder's host and process id.
fn parse(holder: &str) -> Option<(&str, u32)> {
    let rest = holder.strip_prefix("cli:")?;
    let (user_host, pid) = rest.rsplit_once(':')?;
    let (_, host) = user_host.rsplit_once('@')?;
    Some((host, pid.parse().ok()?))
}

/// Whether `holder` is a CLI process on the same host as `me` that no longer runs.
pub fn is_gone(holder: &str, me: &str) -> bool {
    is_gone_with(holder, me, |pid| {
        Path::new("/proc").join(pid.to_string()).exists()
    })
}

fn is_gone_with(holder: &str, me: &str, alive: impl Fn(u32) -> bool) -> bool {
    match (parse(holder), parse(me)) {
        // Without /proc nothing can be known: treat the holder as alive.
        (Some((host, pid)), Some((my_host, _))) => {
            host == my_host && Path::new("/proc/self").exists() && !alive(pid)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dead_process_on_this_host_is_gone() {
        let me = "cli:alice@box:100";
        assert!(is_gone_with("cli:bob@box:4242", me, |_| false));
        assert!(!is_gone_with("cli:bob@box:4242", me, |_| true));
    }

    #[test]
    fn another_host_or_a_unit_is_never_presumed_gone() {
        let me = "cli:alice@box:100";
        assert!(!is_gone_with("cli:alice@other:4242", me, |_| false));
        assert!(!is_gone_with("ckf-migrator/0", me, |_| false));
        assert!(!is_gone_with(
            "cli:alice@box:4242",
            "ckf-migrator/0",
            |_| false
        ));
        assert!(!is_gone_with("cli:alice@box:notapid", me, |_| false));
    }

    #[test]
    fn this_process_is_alive() {
        let me = cli_holder();
        assert!(!is_gone(&me, &me));
    }
}
