//! Raises a guard's refusal as the guard's mode says, and records it in the audit trail
//! (class `denied`) first: the statement's transaction is about to abort, so the event takes
//! the asynchronous route.

use crate::policy::audit_event::AuditClass;
use crate::trail::write;
use crate::policy::verdict::{Enforcement, Refusal};
use pgrx::pg_sys::{errcodes::PgSqlErrorCode, panic::ErrorReport};
use pgrx::PgLogLevel;

/// Raises a plain ERROR with a HINT: a bad argument or a wrong state, not a policy refusal
/// (those go through `raise`, which audits them).
pub fn fail(code: PgSqlErrorCode, message: String, hint: &str) -> ! {
    ErrorReport::new(code, message, "nspg_guard").set_hint(hint).report(PgLogLevel::ERROR);
    unreachable!("an ERROR report does not return")
}

/// ERROR (does not return), WARNING, or nothing, per `enforcement`.
pub fn raise(refusal: Refusal, enforcement: Enforcement) {
    let level = match enforcement {
        Enforcement::Refuse => PgLogLevel::ERROR,
        Enforcement::Warn => PgLogLevel::WARNING,
        Enforcement::Ignore => return,
    };
    if write::audited(AuditClass::Denied) {
        audit(&refusal, enforcement);
    }
    ErrorReport::new(refusal.sqlstate, refusal.message, "nspg_guard")
        .set_detail(refusal.detail)
        .set_hint(refusal.hint)
        .report(level);
}

fn audit(refusal: &Refusal, enforcement: Enforcement) {
    let outcome = if enforcement == Enforcement::Refuse { "denied" } else { "warned" };
    let mut event = write::event(AuditClass::Denied, outcome);
    event.command_tag = Some(refusal.command.clone());
    event.object_identity = refusal.object.clone();
    event.sqlstate = Some(sqlstate_text(refusal.sqlstate as i32));
    event.reason = Some(refusal.message.clone());
    event.statement = crate::guard::hooks::current_statement();
    event.details = Some(serde_json::json!({ "detail": refusal.detail, "hint": refusal.hint }));
    write::record_async(event);
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
