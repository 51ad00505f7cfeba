//! PostgreSQL errors that are not policy refusals (those go through `trail::report`, which
//! audits them): a plain ERROR with a HINT, and SQLSTATEs as text.

use pgrx::PgLogLevel;
use pgrx::pg_sys::{errcodes::PgSqlErrorCode, panic::ErrorReport};

/// Raises a plain ERROR with a HINT: a bad argument or a wrong state, not a policy refusal
/// (those go through `trail::report::raise`, which audits them).
pub fn fail(code: PgSqlErrorCode, message: String, hint: &str) -> ! {
    ErrorReport::new(code, message, "nspg_guard").set_hint(hint).report(PgLogLevel::ERROR);
    unreachable!("an ERROR report does not return")
}

/// An encoded SQLSTATE (PostgreSQL's MAKE_SQLSTATE, six bits per character) as its five characters.
pub fn sqlstate_text(code: i32) -> String {
    (0..5).map(|i| (((code >> (6 * i)) & 0x3F) as u8 + b'0') as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pgrx::pg_sys::errcodes::PgSqlErrorCode;

    #[test]
    fn sqlstates_decode() {
        assert_eq!(sqlstate_text(PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE as i32), "42501");
        assert_eq!(sqlstate_text(PgSqlErrorCode::ERRCODE_INVALID_PASSWORD as i32), "28P01");
    }
}
