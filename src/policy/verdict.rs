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
    #[error("the reason is {0} characters long: say it in at most {MAX_REASON_CHARS}")]
    TooLong(usize),
    #[error("the reason contains a control, invisible or direction-changing character (U+{0:04X}): write plain text")]
    NotPlainText(u32),
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
/// Room for a sentence or two with a ticket reference; evidence, not a document.
pub const MAX_REASON_CHARS: usize = 500;

/// Characters that would forge or hide text where the reason is shown (break-glass usages, audit
/// rows, log lines): control characters (newlines included), zero-width and other invisible
/// characters, bidirectional overrides, and the line and paragraph separators (U+2028, U+2029),
/// which start a new line in many viewers. Ordinary spaces (U+00A0, U+3000) are text.
pub fn hides_or_forges(c: char) -> bool {
    c.is_control()
        || matches!(c as u32,
            0x00AD | 0x034F | 0x061C | 0x115F | 0x1160 | 0x17B4 | 0x17B5 | 0x180B..=0x180F
            | 0x200B..=0x200F | 0x2028 | 0x2029 | 0x202A..=0x202E | 0x2060..=0x206F | 0x2800 | 0x3164
            | 0xFE00..=0xFE0F | 0xFEFF | 0xFFA0 | 0xFFF0..=0xFFFB | 0x1D173..=0x1D17A | 0xE0000..=0xE0FFF)
}

/// A reason is recorded as evidence (an override, a break-glass request, a lockdown, a review),
/// so it must say something, in plain text: at least a few words that have letters or digits in
/// them, no more than a few sentences, nothing that hides or rewrites what is displayed.
pub fn validate_reason(reason: &str) -> Result<&str, ReasonError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(ReasonError::Empty);
    }
    if let Some(c) = reason.chars().find(|&c| hides_or_forges(c)) {
        return Err(ReasonError::NotPlainText(c as u32));
    }
    let length = reason.chars().count();
    if length > MAX_REASON_CHARS {
        return Err(ReasonError::TooLong(length));
    }
    let words = reason.split_whitespace().filter(|word| word.chars().any(char::is_alphanumeric)).count();
    if words < MIN_REASON_WORDS {
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
        assert_eq!(validate_reason("réparer les commandes"), Ok("réparer les commandes"));
    }

    #[test]
    fn reasons_are_plain_bounded_text() {
        assert!(matches!(validate_reason("- - - ! ? ."), Err(ReasonError::TooShort(_))), "words need letters");
        assert!(matches!(validate_reason("a \u{200B} \u{200B} b"), Err(ReasonError::NotPlainText(0x200B))), "zero-width words");
        assert!(matches!(validate_reason("fix orders \u{202E}txet"), Err(ReasonError::NotPlainText(0x202E))), "right-to-left override");
        assert!(matches!(validate_reason("fix the orders\n2026-01-01 | approved | alice"), Err(ReasonError::NotPlainText(0x0A))), "forged line");
        assert!(matches!(validate_reason("fix \u{7} bell now"), Err(ReasonError::NotPlainText(7))));
        for separator in ['\u{2028}', '\u{2029}', '\u{2800}', '\u{1D173}'] {
            let reason = format!("fix the orders{separator}2026-01-01 approved by alice");
            assert_eq!(validate_reason(&reason), Err(ReasonError::NotPlainText(separator as u32)), "{:X}", separator as u32);
        }
        assert!(validate_reason("restaurer les commandes\u{00A0}: incident\u{3000}ouvert").is_ok(), "spaces are text");
        let long = "word ".repeat(200);
        assert_eq!(validate_reason(&long), Err(ReasonError::TooLong(999)));
        assert!(validate_reason(&"w ".repeat(250)).is_ok(), "500 characters with spaces trimmed is fine");
    }

    #[test]
    fn sentences() {
        assert_eq!(sentence("only a superuser may"), "Only a superuser may.");
        assert_eq!(sentence("done."), "Done.");
        assert_eq!(sentence(""), "");
    }
}
