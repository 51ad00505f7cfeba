//! The deliberate override: `SELECT nspg_guard.allow_destructive('reason')` lets the current
//! transaction run statements the destructive guard would refuse (unbounded UPDATE/DELETE/MERGE,
//! more rows than the limit). Only migration and admin roles may call it; it ends with the
//! transaction, because it remembers the transaction it was granted in, and it covers only
//! statements run as the role that called it (a migration-owned function that calls it does
//! not open the door for its caller's own statements). Each grant is an `override` audit event.

use crate::policy::ddl_guard::Authority;
use crate::pg::standing;
use pgrx::pg_sys::{self, errcodes::PgSqlErrorCode};
use pgrx::prelude::*;
use crate::policy::audit_event::AuditClass;
use crate::trail::write;
use std::cell::{Cell, RefCell};

thread_local! {
    /// The local transaction id the override was granted in (0: none), the role it was granted
    /// to, and its reason.
    static GRANTED_IN: Cell<pg_sys::LocalTransactionId> = const { Cell::new(0) };
    static GRANTED_TO: Cell<pg_sys::Oid> = const { Cell::new(pg_sys::Oid::INVALID) };
    static REASON: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// The reason given for the override in force, if any.
pub fn reason() -> Option<String> {
    if active() { REASON.with(|r| r.borrow().clone()) } else { None }
}

unsafe fn current_transaction() -> pg_sys::LocalTransactionId {
    (*pg_sys::MyProc).lxid
}

/// Is an override in force for the current transaction and the role running the statement?
pub fn active() -> bool {
    let granted = GRANTED_IN.with(Cell::get);
    granted != 0 && granted == unsafe { current_transaction() } && GRANTED_TO.with(Cell::get) == unsafe { pg_sys::GetUserId() }
}

/// Lets the current transaction run destructive statements. The reason is mandatory and
/// recorded in the server log with the role that gave it.
#[pg_extern(volatile, parallel_unsafe)]
fn allow_destructive(reason: Option<&str>) -> String {
    let reason = match crate::policy::verdict::validate_reason(reason.unwrap_or("")) {
        Ok(reason) => reason.to_string(),
        Err(e) => crate::pg::errors::fail(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("nspg_guard: allow_destructive needs a reason: {e}"),
            "Say why, for example: SELECT nspg_guard.allow_destructive('purge orders of test tenant, ticket OPS-123');",
        ),
    };
    let role = unsafe { pg_sys::GetUserId() };
    let role_name = crate::pg::text::role_name(role);
    if !standing::of(role).has(Authority::Migration) {
        crate::pg::errors::fail(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            format!("nspg_guard: allow_destructive denied for role \"{role_name}\""),
            "Only members of a migration role (nspg_guard.migration_roles) or an admin role (nspg_guard.admin_roles) may allow destructive statements.",
        );
    }
    if unsafe { !pg_sys::IsTransactionBlock() } {
        warning!("nspg_guard: allow_destructive outside a transaction block ends with this statement; use BEGIN first");
    }
    GRANTED_IN.with(|g| g.set(unsafe { current_transaction() }));
    GRANTED_TO.with(|g| g.set(role));
    REASON.with(|r| *r.borrow_mut() = Some(reason.clone()));
    // Recorded whether or not the transaction commits: the grant itself is the evidence.
    let mut event = write::event(AuditClass::Override, "granted");
    event.command_tag = Some("ALLOW DESTRUCTIVE".into());
    event.object_type = Some("role".into());
    event.object_identity = Some(role_name);
    event.reason = Some(reason);
    write::record_async(event);
    "destructive statements allowed until the end of this transaction".to_string()
}
