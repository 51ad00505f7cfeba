//! This backend process: its state for the per-statement path, who it runs as, and whether
//! nspg_guard's hooks are in place in it.
//!
//! PostgreSQL runs a backend's (and a background worker's) code on one thread, so a plain
//! static holds per-process state safely; `thread_local!` in a shared library would pay a
//! `__tls_get_addr` call on every access instead, and register a destructor (a small
//! allocation) on the first access of each value that needs dropping.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicBool, Ordering};

/// A value of this backend process (see the module comment). Only for `Copy` values read and
/// written whole, so no reference into it is ever held across a call.
pub struct BackendLocal<T: Copy>(Cell<T>);

// SAFETY: every backend and worker runs nspg_guard's code on its process's single thread.
unsafe impl<T: Copy> Sync for BackendLocal<T> {}

impl<T: Copy> BackendLocal<T> {
    pub const fn new(value: T) -> Self {
        BackendLocal(Cell::new(value))
    }

    pub fn get(&self) -> T {
        self.0.get()
    }

    pub fn set(&self, value: T) {
        self.0.set(value)
    }

    pub fn replace(&self, value: T) -> T {
        self.0.replace(value)
    }
}

/// A value of this backend process that is not `Copy` (a list, a cache), borrowed through its
/// `RefCell` the way a `thread_local!`'s is, with the same `with`. Never dropped: it lives as
/// long as the process.
pub struct BackendCell<T>(RefCell<T>);

// SAFETY: as for BackendLocal; the RefCell still refuses overlapping mutable borrows.
unsafe impl<T> Sync for BackendCell<T> {}

impl<T> BackendCell<T> {
    pub const fn new(value: T) -> Self {
        BackendCell(RefCell::new(value))
    }

    pub fn with<R>(&self, f: impl FnOnce(&RefCell<T>) -> R) -> R {
        f(&self.0)
    }
}

static HOOKS_ACTIVE: AtomicBool = AtomicBool::new(false);

/// True when the library was preloaded and its hooks are in place in this process.
pub fn hooks_active() -> bool {
    HOOKS_ACTIVE.load(Ordering::Relaxed)
}

/// The hooks are in place (the last step of `_PG_init` at preload; backends inherit it).
pub fn mark_hooks_active() {
    HOOKS_ACTIVE.store(true, Ordering::Relaxed);
}

/// Getters of backend state that cannot raise an error, called directly on the per-statement
/// path (pgrx's bindings enter a guard with sigsetjmp for every call).
mod raw {
    extern "C" {
        pub fn GetUserId() -> pgrx::pg_sys::Oid;
        pub fn GetSessionUserId() -> pgrx::pg_sys::Oid;
        pub fn GetCurrentStatementStartTimestamp() -> pgrx::pg_sys::TimestampTz;
        pub fn GetCurrentTimestamp() -> pgrx::pg_sys::TimestampTz;
        pub fn GetTopTransactionIdIfAny() -> pgrx::pg_sys::TransactionId;
        pub fn stack_is_too_deep() -> bool;
        pub fn InLocalUserIdChange() -> bool;
        pub fn IsCatalogRelationOid(relid: pgrx::pg_sys::Oid) -> bool;
    }
}

/// Is `relid` a system catalog's (PostgreSQL's IsCatalogRelationOid: an oid comparison)?
pub fn is_catalog_relation(relid: pgrx::pg_sys::Oid) -> bool {
    unsafe { raw::IsCatalogRelationOid(relid) }
}

/// PostgreSQL's check_stack_depth() (ERROR 54001 when the stack is too deep) for every level of
/// a walk: the cheap test first, the guarded call that raises only when it will.
pub fn check_stack_depth() {
    if unsafe { raw::stack_is_too_deep() } {
        unsafe { pgrx::pg_sys::check_stack_depth() };
    }
}

/// The current user, the session user, and whether the current user is only lent by a SECURITY
/// DEFINER function (or nspg_guard's own work) running now.
pub fn users() -> (pgrx::pg_sys::Oid, pgrx::pg_sys::Oid, bool) {
    unsafe { (raw::GetUserId(), raw::GetSessionUserId(), raw::InLocalUserIdChange()) }
}

/// May `role` log in (pg_authid.rolcanlogin, from the syscache)? A role that is gone may not.
pub fn can_login(role: pgrx::pg_sys::Oid) -> bool {
    crate::pg::syscache::role(role, |r| r.rolcanlogin).unwrap_or(false)
}

/// When the current client message began (PostgreSQL's statement_timestamp()).
pub fn statement_start() -> pgrx::pg_sys::TimestampTz {
    unsafe { raw::GetCurrentStatementStartTimestamp() }
}

/// The time now (PostgreSQL's clock_timestamp()); read on every audit event, so called without
/// pgrx's error guard: it cannot raise.
pub fn now() -> pgrx::pg_sys::TimestampTz {
    unsafe { raw::GetCurrentTimestamp() }
}

/// The top-level transaction's id, if it has one yet (it cannot raise either).
pub fn top_transaction_id() -> Option<u32> {
    let xid = unsafe { raw::GetTopTransactionIdIfAny() }.into_inner();
    (xid != 0).then_some(xid)
}

/// The backends of pg_stat_activity (alias `a`) that a person's credentials run: client
/// backends and walsenders — one with `replication=database` runs SQL, and a physical one
/// streams the whole cluster (lockdown ends it; the writer's rounds see only governed ones).
pub const SESSION_BACKENDS: &str =
    "a.backend_type OPERATOR(pg_catalog.=) ANY (ARRAY['client backend', 'walsender']::pg_catalog.text[])";

/// The sessions of `role` other than this one (`SESSION_BACKENDS`).
pub fn sessions_of(role: pgrx::pg_sys::Oid) -> Vec<i32> {
    let query = format!(
        "SELECT a.pid FROM pg_catalog.pg_stat_activity a
          WHERE a.usesysid OPERATOR(pg_catalog.=) $1 AND {SESSION_BACKENDS} AND a.pid OPERATOR(pg_catalog.<>) pg_catalog.pg_backend_pid()"
    );
    pgrx::spi::Spi::connect(|client| {
        client
            .select(&query, None, &[role.into()])?
            .map(|row| row.get::<i32>(1))
            .collect::<Result<Vec<_>, _>>()
            .map(|pids| pids.into_iter().flatten().collect())
    })
    .unwrap_or_else(|e: pgrx::spi::Error| pgrx::error!("nspg_guard: could not list the sessions of a role: {e}"))
}

extern "C" {
    fn kill(pid: i32, signal: i32) -> i32;
}

/// SIGTERM, as pg_terminate_backend() sends (15 on every platform PostgreSQL runs on).
const SIGTERM: i32 = 15;

/// Ends backends the way pg_terminate_backend() does; the policy, not the caller's privileges,
/// decided that they go.
pub fn terminate(pids: &[i32]) {
    for &pid in pids {
        unsafe { kill(pid, SIGTERM) };
    }
}

/// Statements the guards never judge: extension scripts (the CREATE/ALTER EXTENSION that runs
/// them was judged), pg_upgrade's binary-upgrade mode, parallel workers (their leader was),
/// and logical replication apply (it replays changes the publisher already judged).
pub unsafe fn exempt() -> bool {
    use pgrx::pg_sys;
    pg_sys::creating_extension || pg_sys::IsBinaryUpgrade || pg_sys::ParallelWorkerNumber >= 0 || logical_worker()
}

static LOGICAL_WORKER: BackendLocal<Option<bool>> = BackendLocal::new(None);

/// Whether this process applies logical replication; asked once, it cannot change.
unsafe fn logical_worker() -> bool {
    match LOGICAL_WORKER.get() {
        Some(known) => known,
        None => ask_logical_worker(),
    }
}

/// The first ask, out of line: `exempt()` runs several times per statement and stays small.
#[cold]
#[inline(never)]
unsafe fn ask_logical_worker() -> bool {
    let known = pgrx::pg_sys::IsLogicalWorker();
    LOGICAL_WORKER.set(Some(known));
    known
}
