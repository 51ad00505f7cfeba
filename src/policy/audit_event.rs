//! Audit events (NS-PG-007 §7): what one row of `nspg_guard.audit_log` says, which classes a
//! site records (`nspg_guard.audit`, pgaudit-style with `-class` subtraction), and the one-line
//! JSON form written to the server log. Pure data and parsing.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Tag that starts every audit line in the server log, for log shippers.
pub const LOG_TAG: &str = "NSPG_AUDIT";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditClass {
    Schema,
    Privilege,
    Role,
    Destructive,
    Denied,
    Login,
    Config,
    Override,
    Access,
    /// LOAD, COPY to/from a server file or program (the risky commands admins may run).
    Risky,
    /// Admin-session enforcement (a session ended at its maximum duration) and the incident
    /// levers (lockdown_role, unlock_role).
    Admin,
    /// Every step of a break-glass request, and each statement run while escalated.
    Breakglass,
}

impl AuditClass {
    pub const ALL: [AuditClass; 12] = [
        AuditClass::Schema,
        AuditClass::Privilege,
        AuditClass::Role,
        AuditClass::Destructive,
        AuditClass::Denied,
        AuditClass::Login,
        AuditClass::Config,
        AuditClass::Override,
        AuditClass::Access,
        AuditClass::Risky,
        AuditClass::Admin,
        AuditClass::Breakglass,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditClass::Schema => "schema",
            AuditClass::Privilege => "privilege",
            AuditClass::Role => "role",
            AuditClass::Destructive => "destructive",
            AuditClass::Denied => "denied",
            AuditClass::Login => "login",
            AuditClass::Config => "config",
            AuditClass::Override => "override",
            AuditClass::Access => "access",
            AuditClass::Risky => "risky",
            AuditClass::Admin => "admin",
            AuditClass::Breakglass => "breakglass",
        }
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ClassListError {
    #[error("unknown audit class \"{0}\"")]
    Unknown(String),
    #[error("entry {0} of the class list is empty")]
    EmptyEntry(usize),
}

/// A set of audit classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AuditClasses(u16);

impl AuditClasses {
    pub const NONE: AuditClasses = AuditClasses(0);

    /// Parses `"all, -access"`, `"schema, role"`, `"none"`. Entries apply left to right; a
    /// leading `-` removes a class (or `-all`).
    pub fn parse(list: &str) -> Result<AuditClasses, ClassListError> {
        let mut set = AuditClasses(0);
        if list.trim().is_empty() {
            return Ok(set);
        }
        for (i, entry) in list.split(',').enumerate() {
            let entry = entry.trim().to_ascii_lowercase();
            let (remove, name) = match entry.strip_prefix('-') {
                Some(name) => (true, name.trim().to_string()),
                None => (false, entry),
            };
            let bits = match name.as_str() {
                "" => return Err(ClassListError::EmptyEntry(i + 1)),
                "all" => AuditClass::ALL.iter().fold(0, |b, c| b | c.bit()),
                "none" => 0,
                _ => AuditClass::ALL
                    .iter()
                    .find(|c| c.as_str() == name)
                    .map(|c| c.bit())
                    .ok_or_else(|| ClassListError::Unknown(name.clone()))?,
            };
            set.0 = if remove { set.0 & !bits } else { set.0 | bits };
        }
        Ok(set)
    }

    pub fn contains(self, class: AuditClass) -> bool {
        self.0 & class.bit() != 0
    }
}

/// Where events go (`nspg_guard.audit_destination`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Destinations {
    pub table: bool,
    pub log: bool,
}

impl Destinations {
    pub fn parse(list: &str) -> Result<Destinations, ClassListError> {
        let mut d = Destinations::default();
        for (i, entry) in list.split(',').enumerate() {
            match entry.trim().to_ascii_lowercase().as_str() {
                "table" => d.table = true,
                "log" => d.log = true,
                "" => return Err(ClassListError::EmptyEntry(i + 1)),
                other => return Err(ClassListError::Unknown(other.to_string())),
            }
        }
        Ok(d)
    }
}

/// One audit event: a row of `nspg_guard.audit_log` without the columns the database fills
/// (id, hashes). Also the payload queued to the background writer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AuditEvent {
    /// ISO 8601 with time zone, when the event happened.
    pub event_time: String,
    pub class: String,
    /// committed, denied, warned, failed, login_ok, login_failed, started, stopped, …
    pub outcome: String,
    pub command_tag: Option<String>,
    pub object_type: Option<String>,
    pub object_identity: Option<String>,
    /// Redacted and cut to `nspg_guard.audit_statement_max_bytes`.
    pub statement: Option<String>,
    pub rows: Option<i64>,
    pub sqlstate: Option<String>,
    pub reason: Option<String>,
    pub session_user: Option<String>,
    pub current_user: Option<String>,
    pub client_addr: Option<String>,
    pub client_port: Option<i32>,
    pub application_name: Option<String>,
    pub database: Option<String>,
    pub backend_pid: i32,
    pub session_id: Option<String>,
    pub xid: Option<i64>,
    pub details: Option<serde_json::Value>,
}

impl AuditEvent {
    /// The server-log form: the tag, then the event as one line of JSON.
    pub fn log_line(&self) -> String {
        format!("{LOG_TAG} {}", serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}")))
    }
}

/// PostgreSQL's own session id (`%c` in log_line_prefix): start time and pid in hex, so audit
/// rows join with server-log lines.
pub fn session_id(start_time_secs: i64, pid: i32) -> String {
    format!("{start_time_secs:x}.{pid:x}")
}

/// Settings whose change is a `config` event: nspg_guard's own, logging, what gets loaded and
/// from where, password hashing, row security, activity tracking (what the writer and the
/// fastpath watch see of a session), triggers and rules switched off (session_replication_role)
/// and catalog DML allowed — the session-settable ones of `config_watch`'s list among them (a
/// superuser may GRANT SET ON PARAMETER to anyone).
/// Asked for every SET of a session, so the first letter picks the few names to compare.
pub fn is_audit_relevant_setting(name: &[u8]) -> bool {
    let starts = |prefix: &[u8]| name.len() >= prefix.len() && name[..prefix.len()].eq_ignore_ascii_case(prefix);
    let is = |other: &[u8]| name.eq_ignore_ascii_case(other);
    match name.first().map(u8::to_ascii_lowercase) {
        Some(b'a') => is(b"allow_system_table_mods"),
        Some(b'd') => is(b"dynamic_library_path"),
        Some(b'j') => is(b"jit_provider"),
        Some(b'l') => starts(b"log_") || is(b"local_preload_libraries") || is(b"logging_collector"),
        Some(b'n') => starts(b"nspg_guard."),
        Some(b'p') => starts(b"pgaudit.") || is(b"password_encryption"),
        Some(b'r') => is(b"row_security"),
        Some(b's') => {
            starts(b"ssl")
                || is(b"shared_preload_libraries")
                || is(b"session_preload_libraries")
                || is(b"session_replication_role")
        }
        Some(b't') => is(b"track_activities"),
        _ => false,
    }
}

/// PostgreSQL's TimestampTz (microseconds since 2000-01-01 00:00 UTC) as ISO 8601 in UTC.
pub fn iso_timestamp(pg_micros: i64) -> String {
    const PG_EPOCH_DAYS: i64 = 10_957; // 1970-01-01 → 2000-01-01
    let secs = pg_micros.div_euclid(1_000_000);
    let micros = pg_micros.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400) + PG_EPOCH_DAYS;
    let sod = secs.rem_euclid(86_400);
    // civil-from-days (Howard Hinnant's algorithm), proleptic Gregorian calendar
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    if !(0..=9_999).contains(&year) {
        return format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{micros:06}Z", sod / 3_600, sod % 3_600 / 60, sod % 60);
    }
    // written digit by digit: every audit event has one, and the formatting machinery costs more
    // than the rest of this function
    let mut out = *b"0000-00-00T00:00:00.000000Z";
    let mut put = |at: usize, width: usize, mut value: i64| {
        for i in (at..at + width).rev() {
            out[i] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, 4, year);
    put(5, 2, month);
    put(8, 2, day);
    put(11, 2, sod / 3_600);
    put(14, 2, sod % 3_600 / 60);
    put(17, 2, sod % 60);
    put(20, 6, micros);
    out.iter().map(|&b| b as char).collect()
}

/// The inverse of `iso_timestamp`: `YYYY-MM-DDTHH:MM:SS.ffffffZ` back to PostgreSQL's
/// TimestampTz. None for anything else (a queued event is only ever in that form).
pub fn parse_iso_timestamp(text: &str) -> Option<i64> {
    const PG_EPOCH_DAYS: i64 = 10_957;
    let b = text.as_bytes();
    if b.len() != 27 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' || b[19] != b'.' || b[26] != b'Z' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        b[range].iter().try_fold(0i64, |n, &c| c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0')))
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second, micros) = (num(11..13)?, num(14..16)?, num(17..19)?, num(20..26)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    // days-from-civil (Howard Hinnant's algorithm), the inverse of iso_timestamp's
    let y = year - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468 - PG_EPOCH_DAYS;
    Some(((days * 86_400 + hour * 3_600 + minute * 60 + second) * 1_000_000) + micros)
}

/// The id of the next audit row: after every id handed out (`last`), after every id already in
/// the table (`floor`), and otherwise the current time in microseconds, so that ids keep
/// growing across restarts without a sequence (whose nextval would change the session's
/// lastval()).
pub fn next_audit_id(last: i64, floor: i64, now_micros: i64) -> i64 {
    last.max(floor).saturating_add(1).max(now_micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_timestamps_read_back() {
        for micros in [0, -1, 849_229_323_000_004, 131_328_000_000_000, 1_000_000_000_000_000] {
            assert_eq!(parse_iso_timestamp(&iso_timestamp(micros)), Some(micros), "{micros}");
        }
        for bad in ["", "2026-11-29 01:02:03.000004Z", "2026-13-29T01:02:03.000004Z", "2026-11-29T01:02:03.00000xZ", "2026-11-29T01:02:03.000004+"] {
            assert_eq!(parse_iso_timestamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn audit_ids_grow() {
        assert_eq!(next_audit_id(0, 0, 500), 500);
        assert_eq!(next_audit_id(500, 0, 500), 501, "two rows in the same microsecond");
        assert_eq!(next_audit_id(10, 900, 500), 901, "rows already stored are never reused (clock set back)");
        assert_eq!(next_audit_id(i64::MAX, 0, 5), i64::MAX);
    }

    #[test]
    fn relevant_settings() {
        for name in ["nspg_guard.ddl_guard", "track_activities", "LOG_STATEMENT", "log_min_duration_statement", "pgaudit.log", "ssl_min_protocol_version", "shared_preload_libraries"] {
            assert!(is_audit_relevant_setting(name.as_bytes()), "{name}");
        }
        for name in ["work_mem", "search_path", "statement_timeout", "application_name"] {
            assert!(!is_audit_relevant_setting(name.as_bytes()), "{name}");
        }
        // every prefix and name, in any case; not a shorter prefix, a longer name or one of
        // the same length and first letter
        for name in [
            "NSPG_GUARD.audit", "Log_Connections", "log_", "PGAUDIT.role", "pgaudit.", "SSL", "ssl_ciphers",
            "Shared_Preload_Libraries", "session_preload_libraries", "LOCAL_preload_libraries",
            "password_Encryption", "logging_collector", "ROW_SECURITY", "track_Activities",
            "session_replication_role", "Allow_System_Table_Mods", "dynamic_library_path", "jit_provider",
        ] {
            assert!(is_audit_relevant_setting(name.as_bytes()), "{name}");
        }
        for name in [
            "", "n", "nspg_guard", "nspg_guardx.a", "log", "logx", "lo_compat_privileges", "pgaudit", "pg_stat_x",
            "ss", "shared_buffers", "session_replication_rolex", "local_preload_librariesx", "password_encryptio",
            "allow_in_place_tablespaces", "dynamic_shared_memory_type", "jit", "jit_above_cost",
            "logging_collectorx", "row_securitY_x", "track_activity_query_size", "track_activities_", "role",
            "session_authorization", "statement_timeout", "transaction_isolation", "xlog_", "_log_x",
        ] {
            assert!(!is_audit_relevant_setting(name.as_bytes()), "{name}");
        }
    }

    #[test]
    fn iso_timestamps() {
        assert_eq!(iso_timestamp(0), "2000-01-01T00:00:00.000000Z");
        assert_eq!(iso_timestamp(-1), "1999-12-31T23:59:59.999999Z");
        // 2026-11-29 01:02:03.000004 UTC
        assert_eq!(iso_timestamp(849_229_323_000_004), "2026-11-29T01:02:03.000004Z");
        assert_eq!(iso_timestamp(131_328_000_000_000), "2004-02-29T00:00:00.000000Z");
    }

    #[test]
    fn class_lists() {
        let all_but_access = AuditClasses::parse("all, -access").expect("valid");
        assert!(all_but_access.contains(AuditClass::Schema) && all_but_access.contains(AuditClass::Login));
        assert!(!all_but_access.contains(AuditClass::Access));
        let some = AuditClasses::parse(" Schema ,role").expect("valid");
        assert!(some.contains(AuditClass::Role) && !some.contains(AuditClass::Denied));
        assert_eq!(AuditClasses::parse("none"), Ok(AuditClasses(0)));
        assert_eq!(AuditClasses::parse(""), Ok(AuditClasses(0)));
        assert!(!AuditClasses::parse("all,-all,login").expect("valid").contains(AuditClass::Schema));
        assert_eq!(AuditClasses::parse("schema,bogus"), Err(ClassListError::Unknown("bogus".into())));
        assert_eq!(AuditClasses::parse("schema,,role"), Err(ClassListError::EmptyEntry(2)));
    }

    #[test]
    fn destinations() {
        assert_eq!(Destinations::parse("table"), Ok(Destinations { table: true, log: false }));
        assert_eq!(Destinations::parse("table, log"), Ok(Destinations { table: true, log: true }));
        assert!(Destinations::parse("syslog").is_err());
        assert!(Destinations::parse("").is_err());
    }

    #[test]
    fn log_line_is_tagged_json() {
        let e = AuditEvent { class: "denied".into(), outcome: "denied".into(), backend_pid: 42, ..Default::default() };
        let line = e.log_line();
        assert!(line.starts_with("NSPG_AUDIT {"));
        let back: AuditEvent = serde_json::from_str(&line["NSPG_AUDIT ".len()..]).expect("json");
        assert_eq!(back, e);
        assert!(!line.contains('\n'));
    }

    #[test]
    fn session_ids_match_postgres() {
        assert_eq!(session_id(0x5f3a_0001, 0x1a2b), "5f3a0001.1a2b");
    }
}
