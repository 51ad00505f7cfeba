//! Audit-relevant settings and the server's runs: which settings a change of must leave a
//! config event, what changed between two readings, and what the checkpoint in pg_control says
//! about the time between our last recorded stop and this start.
//!
//! The state this works on lives in a file under `$PGDATA/nspg_guard/`, never in a table: rows
//! are writable while the library is absent, and the one thing an unguarded run cannot forge
//! from SQL is the checkpoint its own final shutdown writes after the last SQL has run.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Settings an attacker would change to blind or bypass the audit, by prefix: ours, every
/// logging setting (where NSPG_AUDIT lines go), TLS, syslog.
const WATCHED_PREFIXES: &[&str] = &["nspg_guard.", "log_", "ssl", "syslog_"];

/// Settings by name. Beyond the list: the other preload lists and the library search
/// path and JIT provider (what code every session loads: a library shadowing ours), archiving
/// (where WAL, and so the trail's history, is copied), the hba/ident files (who logs in how),
/// session_replication_role (a cluster-wide `replica` switches triggers and rules off) and
/// allow_system_table_mods (catalog DML).
const WATCHED_NAMES: &[&str] = &[
    "shared_preload_libraries",
    "session_preload_libraries",
    "local_preload_libraries",
    "dynamic_library_path",
    "jit_provider",
    "password_encryption",
    "wal_level",
    "archive_mode",
    "archive_command",
    "archive_library",
    "hba_file",
    "ident_file",
    "session_replication_role",
    "allow_system_table_mods",
];

/// Is a change of setting `name` a config event?
pub fn watched(name: &str) -> bool {
    WATCHED_NAMES.contains(&name) || WATCHED_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// A value as the state file and the trail keep it: a passphrase command may hold the secret
/// itself, so only its length is kept.
pub fn shown(name: &str, value: &str) -> String {
    if name.contains("passphrase") && !value.is_empty() {
        format!("[hidden: {} bytes]", value.len())
    } else {
        value.to_string()
    }
}

/// One setting whose effective value changed (None: the setting did not exist then).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub setting: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// The watched settings that differ between two readings, in name order.
pub fn changes(old: &BTreeMap<String, String>, new: &BTreeMap<String, String>) -> Vec<Change> {
    let mut names: Vec<&String> = old.keys().chain(new.keys()).filter(|n| watched(n)).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|n| old.get(*n) != new.get(*n))
        .map(|n| Change { setting: n.clone(), old: old.get(n).cloned(), new: new.get(n).cloned() })
        .collect()
}

/// A checkpoint as pg_control records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub lsn: u64,
    /// Seconds since the epoch (pg_time_t).
    pub time: i64,
}

/// `0/16B3748`, as PostgreSQL shows an LSN.
pub fn lsn_text(lsn: u64) -> String {
    format!("{:X}/{:X}", lsn >> 32, lsn & 0xFFFF_FFFF)
}

/// The server's run as we last recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "run", rename_all = "snake_case")]
pub enum Run {
    /// Started with the library; `postmaster_start` (microseconds, PostgreSQL's epoch) tells a
    /// restarted writer from a new server start.
    Running { postmaster_start: i64, started_after: Checkpoint },
    /// Stopped cleanly with the library: the postmaster recorded the shutdown checkpoint after
    /// the checkpointer wrote it, when no SQL could run any more.
    Stopped { shutdown_checkpoint: Checkpoint },
}

/// A start after a run nspg_guard did not see, until an admin acknowledges it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnguardedRun {
    pub id: u64,
    pub noticed_at: String,
    pub evidence: serde_json::Value,
}

/// Everything the state file holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigState {
    pub settings: BTreeMap<String, String>,
    pub run: Option<Run>,
    #[serde(default)]
    pub unacknowledged: Vec<UnguardedRun>,
}

/// What came before this start of the writer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreviousRun {
    /// No state file and no trail yet: the first guarded start.
    FirstStart,
    /// The same postmaster as the recorded run (the writer restarted, or a crash restart of the
    /// backends): the library never left.
    SameServer,
    /// Our recorded shutdown checkpoint is the latest one.
    CleanStop,
    /// No clean stop was recorded and this start recovered from a crash (its own
    /// end-of-recovery checkpoint is the latest).
    Crash,
    /// The server ran without nspg_guard since our last record.
    RanWithout(&'static str),
}

impl PreviousRun {
    pub fn as_str(&self) -> &'static str {
        match self {
            PreviousRun::FirstStart => "first_start",
            PreviousRun::SameServer => "same_server",
            PreviousRun::CleanStop => "clean_stop",
            PreviousRun::Crash => "crash",
            PreviousRun::RanWithout(_) => "ran_without_nspg_guard",
        }
    }
}

/// Judges the time since our last record from the latest checkpoint (`found`), this postmaster's
/// start (`postmaster_start` in PostgreSQL microseconds, `postmaster_start_secs` in Unix
/// seconds) and whether a trail already exists (a trail with no state file: the file was
/// removed while we were absent).
pub fn previous_run(recorded: Option<&Run>, found: Checkpoint, postmaster_start: i64, postmaster_start_secs: i64, trail_exists: bool) -> PreviousRun {
    match recorded {
        None if trail_exists => PreviousRun::RanWithout("the trail exists but nspg_guard's state file does not"),
        None => PreviousRun::FirstStart,
        Some(Run::Running { postmaster_start: recorded_start, .. }) if *recorded_start == postmaster_start => PreviousRun::SameServer,
        Some(Run::Stopped { shutdown_checkpoint }) if *shutdown_checkpoint == found => PreviousRun::CleanStop,
        Some(Run::Stopped { .. }) => PreviousRun::RanWithout("the latest checkpoint is not the shutdown checkpoint recorded at our last stop"),
        // a crash recovered by this start ends with a checkpoint of this start; an older one
        // was written by a run we did not see (it recovered, or stopped cleanly, without us)
        Some(Run::Running { .. }) if found.time >= postmaster_start_secs => PreviousRun::Crash,
        Some(Run::Running { .. }) => PreviousRun::RanWithout("no clean stop was recorded and the latest checkpoint was written before this start, by a run without nspg_guard"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn watched_settings() {
        for name in ["nspg_guard.audit", "log_statement", "log_destination", "ssl", "ssl_ciphers", "shared_preload_libraries", "wal_level", "password_encryption", "session_preload_libraries", "archive_command", "syslog_ident"] {
            assert!(watched(name), "{name}");
        }
        for name in ["work_mem", "search_path", "application_name", "lock_timeout"] {
            assert!(!watched(name), "{name}");
        }
    }

    #[test]
    fn changes_name_old_and_new_values() {
        let old = map(&[("nspg_guard.audit", "all"), ("work_mem", "4MB"), ("log_connections", "on")]);
        let new = map(&[("nspg_guard.audit", "none"), ("work_mem", "8MB"), ("ssl", "on"), ("log_connections", "on")]);
        assert_eq!(
            changes(&old, &new),
            vec![
                Change { setting: "nspg_guard.audit".into(), old: Some("all".into()), new: Some("none".into()) },
                Change { setting: "ssl".into(), old: None, new: Some("on".into()) },
            ]
        );
        assert!(changes(&new, &new).is_empty());
    }

    #[test]
    fn passphrases_are_not_kept() {
        assert_eq!(shown("ssl_passphrase_command", "echo secret"), "[hidden: 11 bytes]");
        assert_eq!(shown("ssl_ciphers", "HIGH"), "HIGH");
    }

    #[test]
    fn lsns_as_postgres_shows_them() {
        assert_eq!(lsn_text(0x1_016B_3748), "1/16B3748");
        assert_eq!(lsn_text(0x16B3748), "0/16B3748");
    }

    #[test]
    fn previous_runs() {
        let c = |lsn, time| Checkpoint { lsn, time };
        let start = 1_000_000_i64; // microseconds since 2000
        let start_secs = 946_684_801_i64;
        assert_eq!(previous_run(None, c(1, 0), start, start_secs, false), PreviousRun::FirstStart);
        assert!(matches!(previous_run(None, c(1, 0), start, start_secs, true), PreviousRun::RanWithout(_)));
        let stopped = Run::Stopped { shutdown_checkpoint: c(100, 5) };
        assert_eq!(previous_run(Some(&stopped), c(100, 5), start, start_secs, true), PreviousRun::CleanStop);
        assert!(matches!(previous_run(Some(&stopped), c(300, 6), start, start_secs, true), PreviousRun::RanWithout(_)));
        let running = Run::Running { postmaster_start: start - 1, started_after: c(100, 5) };
        assert_eq!(previous_run(Some(&running), c(300, start_secs + 2), start, start_secs, true), PreviousRun::Crash);
        assert!(matches!(previous_run(Some(&running), c(300, start_secs - 60), start, start_secs, true), PreviousRun::RanWithout(_)));
        let this_server = Run::Running { postmaster_start: start, started_after: c(100, 5) };
        assert_eq!(previous_run(Some(&this_server), c(900, 0), start, start_secs, true), PreviousRun::SameServer);
    }

    #[test]
    fn state_round_trips() {
        let state = ConfigState {
            settings: map(&[("ssl", "on")]),
            run: Some(Run::Stopped { shutdown_checkpoint: Checkpoint { lsn: 7, time: 8 } }),
            unacknowledged: vec![UnguardedRun { id: 1, noticed_at: "t".into(), evidence: serde_json::json!({"a": 1}) }],
        };
        let text = serde_json::to_string(&state).expect("serializes");
        assert_eq!(serde_json::from_str::<ConfigState>(&text).expect("parses"), state);
    }
}
