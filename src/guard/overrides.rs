//! The deliberate override: `SELECT nspg_guard.allow_destructive('reason')` (api/destructive.rs)
//! lets the current transaction run statements the destructive guard would refuse (unbounded UPDATE/DELETE/MERGE,
//! more rows than the limit). Only migration and admin roles may call it; it ends with the
//! transaction, because it remembers the transaction it was granted in, and it covers only
//! statements run as the role that called it (a migration-owned function that calls it does
//! not open the door for its caller's own statements). Each grant is an `override` audit event.

use pgrx::pg_sys;
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

/// Grants the override to `role` for the current transaction (`allow_destructive()`, which
/// checked the role and the reason).
pub fn grant(role: pg_sys::Oid, reason: String) {
    GRANTED_IN.with(|g| g.set(unsafe { current_transaction() }));
    GRANTED_TO.with(|g| g.set(role));
    REASON.with(|r| *r.borrow_mut() = Some(reason));
}
