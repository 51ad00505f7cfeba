//! The deliberate override: `SELECT nspg_guard.allow_destructive('reason')` (api/destructive.rs)
//! lets the current transaction run statements the destructive guard would refuse (unbounded
//! UPDATE/DELETE/MERGE, more rows than the limit). Only migration and admin roles may call it; it
//! ends with the transaction, because it remembers the transaction it was granted in, and it
//! covers only statements run as the role that called it (a migration-owned function that calls
//! it does not open the door for its caller's own statements). A grant made in a savepoint that
//! is rolled back is gone with it. Each grant is an `override` audit event.

use crate::pg::backend::{BackendCell, BackendLocal};
use pgrx::pg_sys;

/// The local transaction id the override was granted in (0: none), the (sub)transaction that
/// holds it now, and the role it was granted to.
static GRANTED_IN: BackendLocal<pg_sys::LocalTransactionId> = BackendLocal::new(0);
static HELD_BY: BackendLocal<pg_sys::SubTransactionId> = BackendLocal::new(0);
static GRANTED_TO: BackendLocal<pg_sys::Oid> = BackendLocal::new(pg_sys::Oid::INVALID);

static REASON: BackendCell<Option<String>> = BackendCell::new(None);

/// Registers the savepoint callback; from `_PG_init` at preload.
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

/// Has this session never been granted an override? (Then none is in force.) One read.
pub fn never_granted() -> bool {
    GRANTED_IN.get() == 0
}

/// Is an override in force for the current transaction and the role running the statement?
pub fn active() -> bool {
    let granted = GRANTED_IN.get();
    granted != 0 && granted == unsafe { current_transaction() } && GRANTED_TO.get() == unsafe { pg_sys::GetUserId() }
}

/// Grants the override to `role` for the current transaction, held by the current
/// (sub)transaction (`allow_destructive()`, which checked the role and the reason).
pub fn grant(role: pg_sys::Oid, reason: String) {
    GRANTED_IN.set(unsafe { current_transaction() });
    HELD_BY.set(unsafe { pg_sys::GetCurrentSubTransactionId() });
    GRANTED_TO.set(role);
    REASON.with(|r| *r.borrow_mut() = Some(reason));
}
