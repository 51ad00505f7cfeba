//! SQL functions of the audit trail (the table and the chain functions are in sql/audit.sql).

use crate::ddl_guard::Authority;
use crate::{audit_log, audit_queue, standing};
use pgrx::pg_sys::{self, errcodes::PgSqlErrorCode, panic::ErrorReport};
use pgrx::prelude::*;
use pgrx::PgLogLevel;

extension_sql_file!("../sql/audit.sql", name = "audit_schema");

/// Events queued for the background writer, written by it, and kept in the server log only
/// (queue full, or no audit table in `nspg_guard.audit_database`); `pending` are still queued.
#[pg_extern(volatile)]
fn audit_stats() -> TableIterator<'static, (name!(queued, i64), name!(written, i64), name!(fallen_back, i64), name!(pending, i64))> {
    let s = audit_queue::stats();
    TableIterator::once((s.queued as i64, s.written as i64, s.fallen_back as i64, s.pending as i64))
}

pub fn require_admin(what: &str) {
    if !standing::of(unsafe { pg_sys::GetUserId() }).has(Authority::Admin) {
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
    audit_log::purge()
}

/// Seals committed rows into the hash chain now, instead of waiting for the writer.
#[pg_extern(volatile, requires = ["audit_schema"])]
fn audit_seal() -> i64 {
    require_admin("audit_seal()");
    audit_log::seal()
}
