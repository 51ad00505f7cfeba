//! SQL functions of the audit trail (the table and the chain functions are in sql/audit.sql).

use crate::trail::write;
use crate::trail::queue;
use crate::pg::standing;
use pgrx::pg_sys::{self, errcodes::PgSqlErrorCode, panic::ErrorReport};
use pgrx::prelude::*;
use pgrx::PgLogLevel;

extension_sql_file!("../../sql/audit.sql", name = "audit_schema");
// the lint rules (sql/lint/) that call functions of this module
extension_sql_file!("../../sql/lint/audit_classes_incomplete.sql", requires = ["lint_framework", audit_classes_active]);
extension_sql_file!("../../sql/lint/audit_events_fell_back.sql", requires = ["lint_framework", audit_stats]);

/// Events queued for the background writer, written by it, and kept in the server log only
/// (queue full, or no audit table in `nspg_guard.audit_database`); `pending` are still queued.
#[pg_extern(volatile)]
fn audit_stats() -> TableIterator<'static, (name!(queued, i64), name!(written, i64), name!(fallen_back, i64), name!(pending, i64))> {
    let s = queue::stats();
    TableIterator::once((s.queued as i64, s.written as i64, s.fallen_back as i64, s.pending as i64))
}

/// The audit classes in force (nspg_guard.audit after `all` and `-class` are applied).
#[pg_extern(stable)]
fn audit_classes_active() -> Vec<String> {
    crate::policy::audit_event::AuditClass::ALL
        .iter()
        .filter(|c| crate::pg::settings::audit_classes().contains(**c))
        .map(|c| c.as_str().to_string())
        .collect()
}

pub fn require_admin(what: &str) {
    if !standing::current_user_is_admin() {
        ErrorReport::new(PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE, format!("nspg_guard: {what} is for admins"), "nspg_guard")
            .set_hint("Run it as a superuser or a member of an admin role (nspg_guard.admin_roles).")
            .report(PgLogLevel::ERROR);
    }
}

/// Removes audit rows older than `nspg_guard.audit_retention` (the only way rows leave);
/// leaves a row that says how many went. Returns that number.
#[pg_extern(volatile, requires = ["audit_schema"])]
fn audit_purge() -> i64 {
    require_admin("audit_purge()");
    write::purge()
}

/// Seals committed rows into the hash chain now, instead of waiting for the writer.
#[pg_extern(volatile, requires = ["audit_schema"])]
fn audit_seal() -> i64 {
    require_admin("audit_seal()");
    write::seal(true)
}

/// Waits until every event queued so far has been written by the background writer (or has
/// fallen back to the log), at most `timeout_ms`; then seals. Returns how many are still
/// outstanding (0 when done). For scripts and tests that read the trail right after acting.
#[pg_extern(volatile, requires = ["audit_schema"])]
fn audit_flush(timeout_ms: default!(i32, 10000)) -> i64 {
    let target = queue::stats().queued;
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(timeout_ms.max(0) as u64);
    loop {
        let s = queue::stats();
        let outstanding = target.saturating_sub(s.written + s.fallen_back);
        if outstanding == 0 || std::time::Instant::now() >= deadline {
            if outstanding == 0 && standing::current_user_is_admin() {
                write::seal(false);
            }
            return outstanding as i64;
        }
        unsafe {
            pg_sys::pg_usleep(10_000);
            pg_sys::check_for_interrupts!();
        }
    }
}
