//! Raises a guard's refusal as PostgreSQL sees fit for the guard's mode.

use crate::verdict::{Enforcement, Refusal};
use pgrx::pg_sys::panic::ErrorReport;
use pgrx::PgLogLevel;

/// ERROR (does not return), WARNING, or nothing, per `enforcement`.
pub fn raise(refusal: Refusal, enforcement: Enforcement) {
    let level = match enforcement {
        Enforcement::Refuse => PgLogLevel::ERROR,
        Enforcement::Warn => PgLogLevel::WARNING,
        Enforcement::Ignore => return,
    };
    ErrorReport::new(refusal.sqlstate, refusal.message, "nspg_guard")
        .set_detail(refusal.detail)
        .set_hint(refusal.hint)
        .report(level);
}
