//! Starts after a run without nspg_guard: listed for the lint (`audit_ran_without_nspg_guard`)
//! until an admin acknowledges them, audited. They are kept in nspg_guard's state file, not in a
//! table (see `trail::config_events`).

use crate::api::support::required_reason;
use crate::pg::errors::fail;
use crate::pg::settings;
use crate::pg::standing;
use crate::pg::text::role_name;
use crate::policy::audit_event::AuditClass;
use crate::trail::report::deny;
use crate::trail::{config_events, write};
use pgrx::pg_sys::{self, errcodes::PgSqlErrorCode};
use pgrx::prelude::*;

extension_sql_file!("../../sql/lint/audit_ran_without_nspg_guard.sql", requires = ["lint_framework", unguarded_runs]);

/// The flagged starts nobody has acknowledged, as a jsonb array of {id, noticed_at, evidence}.
/// Whoever may read the trail may read these (the lint rule reads both).
#[pg_extern(volatile, requires = ["audit_schema"])]
fn unguarded_runs() -> pgrx::JsonB {
    let readable = crate::pg::trail_tables::audit_log_oid()
        .is_some_and(|log| unsafe { pg_sys::pg_class_aclcheck(log, pg_sys::GetUserId(), pg_sys::ACL_SELECT as pg_sys::AclMode) } == pg_sys::AclResult::ACLCHECK_OK);
    if !readable {
        fail(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            format!("nspg_guard: unguarded_runs() denied for role \"{}\"", role_name(unsafe { pg_sys::GetUserId() })),
            "It is for roles that may read nspg_guard.audit_log.",
        );
    }
    let runs = config_events::unacknowledged().unwrap_or_else(|e| {
        fail(PgSqlErrorCode::ERRCODE_IO_ERROR, format!("nspg_guard: could not read nspg_guard's state file: {e}"), "Check $PGDATA/nspg_guard/ on the server.")
    });
    pgrx::JsonB(serde_json::to_value(runs).unwrap_or_default())
}

/// An admin acknowledges every flagged start (after looking into them); returns how many.
/// Audited whatever `nspg_guard.audit` says, with the starts it clears.
#[pg_extern(volatile, requires = ["audit_schema"])]
fn acknowledge_unguarded_runs(reason: Option<&str>) -> i32 {
    if !standing::current_user_is_admin() {
        deny(
            "ACKNOWLEDGE UNGUARDED RUNS",
            format!("nspg_guard: acknowledge_unguarded_runs() denied for role \"{}\"", role_name(unsafe { pg_sys::GetUserId() })),
            format!("Only admin roles (nspg_guard.admin_roles = '{}') and superusers acknowledge a run without nspg_guard.", settings::text_of(&settings::ADMIN_ROLES)),
            "Ask a platform admin.",
        );
    }
    let reason = required_reason(
        reason,
        "acknowledge_unguarded_runs()",
        "Say what you found, e.g. SELECT nspg_guard.acknowledge_unguarded_runs('maintenance restart without the library, CHG-1234; trail verified');",
    );
    let acknowledged = config_events::acknowledge().unwrap_or_else(|e| {
        fail(PgSqlErrorCode::ERRCODE_IO_ERROR, format!("nspg_guard: could not update nspg_guard's state file: {e}"), "Check $PGDATA/nspg_guard/ on the server.")
    });
    let mut e = write::event(AuditClass::Config, "acknowledged");
    e.command_tag = Some("ACKNOWLEDGE UNGUARDED RUNS".into());
    e.reason = Some(reason);
    e.rows = Some(acknowledged.len() as i64);
    e.details = Some(serde_json::json!({ "acknowledged": acknowledged }));
    // the state file changed already, whatever this transaction does: the event must outlive it
    write::record_async(e);
    acknowledged.len() as i32
}
