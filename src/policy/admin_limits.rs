//! Admin session limits (NS-PG-007 §2.2 "admin access is time-bounded", §8.3 "apply safe
//! timeouts to admin sessions too"). Pure: which timeout must be capped, whether a session has
//! outlived its allowance, and how durations read in messages.

/// A PostgreSQL timeout that admin sessions have capped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timeout {
    Statement,
    IdleInTransaction,
    IdleSession,
}

impl Timeout {
    pub const ALL: [Timeout; 3] = [Timeout::Statement, Timeout::IdleInTransaction, Timeout::IdleSession];

    /// The PostgreSQL setting.
    pub fn setting(self) -> &'static str {
        match self {
            Timeout::Statement => "statement_timeout",
            Timeout::IdleInTransaction => "idle_in_transaction_session_timeout",
            Timeout::IdleSession => "idle_session_timeout",
        }
    }

    /// The nspg_guard setting that caps it.
    pub fn cap_setting(self) -> &'static str {
        match self {
            Timeout::Statement => "nspg_guard.admin_statement_timeout",
            Timeout::IdleInTransaction => "nspg_guard.admin_idle_in_transaction_timeout",
            Timeout::IdleSession => "nspg_guard.admin_idle_session_timeout",
        }
    }
}

/// The value a timeout must take when `current_ms` exceeds `cap_ms`. In both, 0 means "no
/// limit": a session timeout of 0 exceeds every cap, a cap of 0 caps nothing.
pub fn capped(current_ms: i32, cap_ms: i32) -> Option<i32> {
    (cap_ms > 0 && (current_ms <= 0 || current_ms > cap_ms)).then_some(cap_ms)
}

/// Has a session that started at `started_us` outlived `max_s` at `now_us` (both PostgreSQL
/// timestamps in microseconds)? A maximum of 0 means no limit.
pub fn past_max_duration(started_us: i64, now_us: i64, max_s: i32) -> bool {
    max_s > 0 && now_us.saturating_sub(started_us) > i64::from(max_s) * 1_000_000
}

/// What an admin session is doing, as the writer sees it from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    Idle,
    IdleInTransaction,
    /// A walsender streaming WAL or changes: it runs no SQL while it streams, and its next
    /// statement after the stream is checked like any other.
    Replicating,
    /// Running a statement, or any other state (a Parse/Bind without Sync, a fastpath call).
    Other,
}

/// The limits the writer holds admin sessions to from outside: the maximum duration whatever
/// the session does, and the idle caps in case a session's own timers were switched off by a
/// route no hook sees (a fastpath call, planning in a Bind message).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_duration_s: i32,
    pub idle_session_ms: i32,
    pub idle_in_transaction_ms: i32,
}

/// Why the writer ends an admin session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriterEnd {
    /// Older than `admin_session_max_duration` (a running statement is cancelled with it).
    MaxDuration,
    /// Idle longer than the cap of this timeout.
    Timeout(Timeout),
}

/// Why the writer ends an admin session, if it must: older than the maximum duration — idle,
/// in a transaction or running a statement: the maximum bounds power, not idleness — or idle
/// (in a transaction or not) longer than its cap. Times in microseconds; a limit of 0 is no
/// limit.
pub fn writer_end(activity: Activity, started_us: i64, state_since_us: i64, now_us: i64, limits: Limits) -> Option<WriterEnd> {
    let idle_longer_than = |ms: i32| ms > 0 && now_us.saturating_sub(state_since_us) > i64::from(ms) * 1_000;
    match activity {
        Activity::Replicating => None,
        _ if past_max_duration(started_us, now_us, limits.max_duration_s) => Some(WriterEnd::MaxDuration),
        Activity::Idle if idle_longer_than(limits.idle_session_ms) => Some(WriterEnd::Timeout(Timeout::IdleSession)),
        Activity::IdleInTransaction if idle_longer_than(limits.idle_in_transaction_ms) => {
            Some(WriterEnd::Timeout(Timeout::IdleInTransaction))
        }
        _ => None,
    }
}

/// Milliseconds as PostgreSQL shows a time setting: the largest unit that divides evenly.
pub fn show_ms(ms: i64) -> String {
    if ms <= 0 {
        return "0 (no limit)".to_string();
    }
    const UNITS: [(i64, &str); 4] = [(86_400_000, "d"), (3_600_000, "h"), (60_000, "min"), (1_000, "s")];
    UNITS
        .iter()
        .find(|(size, _)| ms % size == 0)
        .map(|(size, unit)| format!("{}{unit}", ms / size))
        .unwrap_or_else(|| format!("{ms}ms"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_writer_ends_idle_admin_sessions_past_their_caps() {
        let limits = Limits { max_duration_s: 3_600, idle_session_ms: 900_000, idle_in_transaction_ms: 60_000 };
        let (start, now) = (0, 10 * 60 * 1_000_000);
        assert_eq!(writer_end(Activity::Idle, start, now - 1_000_000, now, limits), None);
        assert_eq!(writer_end(Activity::Idle, start, 0, 16 * 60 * 1_000_000, limits), Some(WriterEnd::Timeout(Timeout::IdleSession)));
        assert_eq!(writer_end(Activity::IdleInTransaction, start, now - 61_000_000, now, limits), Some(WriterEnd::Timeout(Timeout::IdleInTransaction)));
        assert_eq!(writer_end(Activity::IdleInTransaction, start, now - 59_000_000, now, limits), None);
        assert_eq!(writer_end(Activity::Other, start, 0, now, limits), None, "a running statement has no idle cap");
        let no_limits = Limits { max_duration_s: 0, idle_session_ms: 0, idle_in_transaction_ms: 0 };
        assert_eq!(writer_end(Activity::Idle, start, 0, i64::MAX, no_limits), None);
    }

    #[test]
    fn the_maximum_duration_ends_an_admin_session_whatever_it_does() {
        let limits = Limits { max_duration_s: 3_600, idle_session_ms: 0, idle_in_transaction_ms: 0 };
        let past_max = 3_601 * 1_000_000;
        for activity in [Activity::Idle, Activity::IdleInTransaction, Activity::Other] {
            assert_eq!(writer_end(activity, 0, past_max - 1, past_max, limits), Some(WriterEnd::MaxDuration), "{activity:?}");
            assert_eq!(writer_end(activity, 0, 0, 3_599 * 1_000_000, limits), None, "{activity:?} younger than the maximum");
        }
        assert_eq!(writer_end(Activity::Replicating, 0, 0, i64::MAX, limits), None, "a stream runs no SQL");
    }

    #[test]
    fn timeouts_above_the_cap_or_unlimited_are_capped() {
        assert_eq!(capped(0, 300_000), Some(300_000));
        assert_eq!(capped(-1, 300_000), Some(300_000));
        assert_eq!(capped(600_000, 300_000), Some(300_000));
        assert_eq!(capped(300_000, 300_000), None);
        assert_eq!(capped(1_000, 300_000), None);
        assert_eq!(capped(0, 0), None);
        assert_eq!(capped(9_999_999, 0), None);
    }

    #[test]
    fn maximum_duration() {
        let hour = 3_600_000_000_i64;
        assert!(!past_max_duration(0, 8 * hour, 8 * 3600));
        assert!(past_max_duration(0, 8 * hour + 1, 8 * 3600));
        assert!(!past_max_duration(0, 100 * hour, 0));
        assert!(!past_max_duration(i64::MIN, i64::MAX, 0));
        assert!(past_max_duration(i64::MIN, i64::MAX, 1));
    }

    #[test]
    fn durations_read_like_settings() {
        assert_eq!(show_ms(300_000), "5min");
        assert_eq!(show_ms(60_000), "1min");
        assert_eq!(show_ms(28_800_000), "8h");
        assert_eq!(show_ms(90_000), "90s");
        assert_eq!(show_ms(1_500), "1500ms");
        assert_eq!(show_ms(172_800_000), "2d");
        assert_eq!(show_ms(0), "0 (no limit)");
    }

    #[test]
    fn settings_named() {
        assert_eq!(Timeout::IdleSession.setting(), "idle_session_timeout");
        assert_eq!(Timeout::Statement.cap_setting(), "nspg_guard.admin_statement_timeout");
    }
}
