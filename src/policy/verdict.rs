//! What every guard returns: allow, or a refusal that the guard's mode turns into an ERROR,
//! a WARNING, or nothing. Pure data; `report.rs` raises it.

use pgrx::pg_sys::errcodes::PgSqlErrorCode;
use pgrx::PostgresGucEnum;
use thiserror::Error;

/// The mode of one guard (`nspg_guard.ddl_guard`, `nspg_guard.destructive_guard`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PostgresGucEnum)]
pub enum GuardMode {
    #[name = c"off"]
    Off,
    #[name = c"warn"]
    Warn,
    #[name = c"enforce"]
    Enforce,
}

impl GuardMode {
    pub fn as_str(self) -> &'static str {
        match self {
            GuardMode::Off => "off",
            GuardMode::Warn => "warn",
            GuardMode::Enforce => "enforce",
        }
    }
}

/// A refusal, worded for the person who ran the statement: what was refused and why
/// (message, detail) and the way out (hint); plus what the audit row names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub sqlstate: PgSqlErrorCode,
    pub message: String,
    pub detail: String,
    pub hint: String,
    /// The command refused, as a command tag (`ALTER TABLE`, `DELETE`).
    pub command: String,
    /// What it would have touched, when known (`orders.scratch`).
    pub object: Option<String>,
}

/// What happens to a refused statement under a guard's mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enforcement {
    /// Raise an ERROR: the statement does not run.
    Refuse,
    /// Raise a WARNING with the same text: the statement runs.
    Warn,
    /// Say nothing: the guard is off.
    Ignore,
}

impl From<GuardMode> for Enforcement {
    fn from(mode: GuardMode) -> Self {
        match mode {
            GuardMode::Enforce => Enforcement::Refuse,
            GuardMode::Warn => Enforcement::Warn,
            GuardMode::Off => Enforcement::Ignore,
        }
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ReasonError {
    #[error("the reason is empty")]
    Empty,
    #[error("the reason \"{0}\" is too short: say in at least {MIN_REASON_WORDS} words why")]
    TooShort(String),
}

/// An error's text as a sentence of a DETAIL: capitalized, with a full stop.
pub fn sentence(text: impl std::fmt::Display) -> String {
    let text = text.to_string();
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str().trim_end_matches('.')),
        None => text,
    }
}

pub const MIN_REASON_WORDS: usize = 3;

/// A reason is recorded as evidence (an override, a break-glass request, a lockdown, a review),
/// so it must say something.
pub fn validate_reason(reason: &str) -> Result<&str, ReasonError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(ReasonError::Empty);
    }
    if reason.split_whitespace().count() < MIN_REASON_WORDS {
        return Err(ReasonError::TooShort(reason.to_string()));
    }
    Ok(reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons() {
        assert_eq!(validate_reason("  "), Err(ReasonError::Empty));
        assert!(matches!(validate_reason("cleanup"), Err(ReasonError::TooShort(_))));
        assert_eq!(validate_reason(" purge test rows INC-42 "), Ok("purge test rows INC-42"));
    }

    #[test]
    fn sentences() {
        assert_eq!(sentence("only a superuser may"), "Only a superuser may.");
        assert_eq!(sentence("done."), "Done.");
        assert_eq!(sentence(""), "");
    }
}
