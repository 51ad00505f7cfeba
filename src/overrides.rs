//! The deliberate override: `SELECT nspg_guard.allow_destructive('reason')` lets the current
//! transaction run statements the destructive guard would refuse (unbounded UPDATE/DELETE/MERGE,
//! more rows than the limit). Only migration and admin roles may call it; it ends with the
//! transaction, because it remembers the transaction it was granted in, and it covers only
//! statements run as the role that called it (a migration-owned function that calls it does
//! not open the door for its caller's own statements). A grant made in a savepoint that is
//! rolled back is gone with it. Each grant is an `override` audit event.

use crate::ddl_guard::Authority;
use crate::standing;
use pgrx::pg_sys::{self, errcodes::PgSqlErrorCode};
use pgrx::prelude::*;
use crate::audit::AuditClass;
use crate::audit_log;
use crate::backend_local::BackendLocal;
use std::cell::RefCell;

/// The local transaction id the override was granted in (0: none), the (sub)transaction that
/// holds it now, and the role it was granted to.
static GRANTED_IN: BackendLocal<pg_sys::LocalTransactionId> = BackendLocal::new(0);
static HELD_BY: BackendLocal<pg_sys::SubTransactionId> = BackendLocal::new(0);
static GRANTED_TO: BackendLocal<pg_sys::Oid> = BackendLocal::new(pg_sys::Oid::INVALID);

thread_local! {
    static REASON: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Registers the savepoint callback; from `hooks::install`.
pub unsafe fn install() {
    pg_sys::RegisterSubXactCallback(Some(on_subxact), std::ptr::null_mut());
}

/// A released savepoint hands the grant to its parent; a rolled-back one takes it away.
unsafe extern "C-unwind" fn on_subxact(
    event: pg_sys::SubXactEvent::Type,
    subxact: pg_sys::SubTransactionId,
    parent: pg_sys::SubTransactionId,
    _arg: *mut std::ffi::c_void,
) {
    if GRANTED_IN.get() == 0 || HELD_BY.get() != subxact {
        return;
    }
    match event {
        pg_sys::SubXactEvent::SUBXACT_EVENT_COMMIT_SUB => HELD_BY.set(parent),
        pg_sys::SubXactEvent::SUBXACT_EVENT_ABORT_SUB => GRANTED_IN.set(0),
        _ => {}
    }
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
    let granted = GRANTED_IN.get();
    granted != 0 && granted == unsafe { current_transaction() } && GRANTED_TO.get() == unsafe { pg_sys::GetUserId() }
}

/// Lets the current transaction run destructive statements. The reason is mandatory and
/// recorded in the server log with the role that gave it.
#[pg_extern(volatile, parallel_unsafe)]
fn allow_destructive(reason: Option<&str>) -> String {
    let reason = match crate::verdict::validate_reason(reason.unwrap_or("")) {
        Ok(reason) => reason.to_string(),
        Err(e) => crate::report::fail(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("nspg_guard: allow_destructive needs a reason: {e}"),
            "Say why, for example: SELECT nspg_guard.allow_destructive('purge orders of test tenant, ticket OPS-123');",
        ),
    };
    let role = unsafe { pg_sys::GetUserId() };
    let role_name = unsafe { std::ffi::CStr::from_ptr(pg_sys::GetUserNameFromId(role, false)) }.to_string_lossy().into_owned();
    if !standing::of(role).has(Authority::Migration) {
        crate::report::fail(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            format!("nspg_guard: allow_destructive denied for role \"{role_name}\""),
            "Only members of a migration role (nspg_guard.migration_roles) or an admin role (nspg_guard.admin_roles) may allow destructive statements.",
        );
    }
    if unsafe { !pg_sys::IsTransactionBlock() } {
        warning!("nspg_guard: allow_destructive outside a transaction block ends with this statement; use BEGIN first");
    }
    GRANTED_IN.set(unsafe { current_transaction() });
    HELD_BY.set(unsafe { pg_sys::GetCurrentSubTransactionId() });
    GRANTED_TO.set(role);
    REASON.with(|r| *r.borrow_mut() = Some(reason.clone()));
    // Recorded whether or not the transaction commits: the grant itself is the evidence.
    let mut event = audit_log::event(AuditClass::Override, "granted");
    event.command_tag = Some("ALLOW DESTRUCTIVE".into());
    event.object_type = Some("role".into());
    event.object_identity = Some(role_name);
    event.reason = Some(reason);
    audit_log::record_async(event);
    "destructive statements allowed until the end of this transaction".to_string()
}
