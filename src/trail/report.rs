//! Raises a guard's refusal as the guard's mode says, and records it in the audit trail
//! (class `denied`) first: the statement's transaction is about to abort, so the event takes
//! the asynchronous route.

use crate::pg::errors::sqlstate_text;
use crate::policy::audit_event::AuditClass;
use crate::policy::verdict::{Enforcement, Refusal};
use crate::trail::write;
use pgrx::PgLogLevel;
use pgrx::pg_sys::{errcodes::PgSqlErrorCode, panic::ErrorReport};

/// Raises a policy refusal (42501), audited as class denied.
pub fn deny(command: &str, message: String, detail: String, hint: &str) -> ! {
    let refusal = Refusal {
        sqlstate: PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
        message,
        detail,
        hint: hint.to_string(),
        command: command.to_string(),
        object: None,
    };
    raise(refusal, Enforcement::Refuse);
    unreachable!("a refusal raises an ERROR")
}

/// ERROR (does not return), WARNING, or nothing, per `enforcement`.
pub fn raise(refusal: Refusal, enforcement: Enforcement) {
    raise_naming(refusal, None, enforcement)
}

/// `raise`, for a refusal whose object has a known type (`table`, `schema`, …): the audit row
/// names it as committed actions' rows do.
pub fn raise_naming(refusal: Refusal, object_type: Option<&str>, enforcement: Enforcement) {
    let level = match enforcement {
        Enforcement::Refuse => PgLogLevel::ERROR,
        Enforcement::Warn => PgLogLevel::WARNING,
        Enforcement::Ignore => return,
    };
    if write::audited(AuditClass::Denied) {
        audit(&refusal, object_type, enforcement);
    }
    ErrorReport::new(refusal.sqlstate, refusal.message, "nspg_guard")
        .set_detail(refusal.detail)
        .set_hint(refusal.hint)
        .report(level);
}

/// Records a refusal that PostgreSQL raises itself (a setting's check hook may not raise).
pub fn record(refusal: &Refusal, enforcement: Enforcement) {
    if write::audited(AuditClass::Denied) {
        audit(refusal, None, enforcement);
    }
}

fn audit(refusal: &Refusal, object_type: Option<&str>, enforcement: Enforcement) {
    let outcome = if enforcement == Enforcement::Refuse { "denied" } else { "warned" };
    let mut event = write::event(AuditClass::Denied, outcome);
    event.command_tag = Some(refusal.command.clone());
    event.object_type = refusal.object.as_ref().and(object_type.map(str::to_string));
    event.object_identity = refusal.object.clone();
    event.sqlstate = Some(sqlstate_text(refusal.sqlstate as i32));
    event.reason = Some(refusal.message.clone());
    event.statement = crate::pg::statement::current_statement();
    event.details = Some(serde_json::json!({ "detail": refusal.detail, "hint": refusal.hint }));
    write::record_async(event);
}
