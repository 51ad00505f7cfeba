//! Shared memory the background worker reads to govern sessions it cannot see into: which
//! backends are admin sessions right now (a login may become admin by SET ROLE, which
//! pg_stat_activity does not show), and when the next break-glass grant expires (so the worker
//! looks at the registry only when one is due).
//!
//! Also what every session compares at each statement, one atomic read each: a generation of
//! role changes (bumped after a commit that changed roles or memberships, so a session rereads
//! its roles even in the middle of a long transaction).

use crate::pg::backend::BackendLocal;
use pgrx::atomics::PgAtomic;
use pgrx::lwlock::PgLwLock;
use pgrx::prelude::*;
use pgrx::{pg_shmem_init, pg_sys, PGRXSharedMemory};
use std::sync::atomic::{AtomicU64, Ordering};

/// Sessions tracked at once (16 bytes each): every governed session fits, since the server does
/// not start with more client connections and walsenders than this (see `init`).
const SLOTS: usize = 8192;
/// `next_expiry` when no grant is active.
pub const NO_EXPIRY: i64 = i64::MAX;

#[derive(Copy, Clone, Default)]
struct Slot {
    /// 0: free.
    pid: i32,
    /// The session's start (PostgreSQL timestamp, microseconds).
    started: i64,
}

#[derive(Copy, Clone)]
pub struct Registry {
    slots: [Slot; SLOTS],
    /// When the worker should next look for expired break-glass grants; 0 = look now.
    next_expiry: i64,
}

impl Default for Registry {
    fn default() -> Self {
        Registry { slots: [Slot::default(); SLOTS], next_expiry: 0 }
    }
}

unsafe impl PGRXSharedMemory for Registry {}

static REGISTRY: PgLwLock<Registry> = unsafe { PgLwLock::new(c"nspg_guard_admin_sessions") };
static ROLES_GENERATION: PgAtomic<AtomicU64> = unsafe { PgAtomic::new(c"nspg_guard_roles_generation") };

static REGISTERED: BackendLocal<bool> = BackendLocal::new(false);
static EXIT_CALLBACK: BackendLocal<bool> = BackendLocal::new(false);

/// Reserves the registry; from `_PG_init` at preload, where max_connections and
/// max_wal_senders are already read from the configuration. A server that could have more
/// governed sessions than the registry has slots does not start: an admin session the writer
/// cannot see would escape its maximum duration.
pub fn init() {
    let sessions = unsafe { pg_sys::MaxConnections + pg_sys::max_wal_senders };
    if sessions as usize > SLOTS {
        crate::pg::errors::fail(
            pgrx::pg_sys::errcodes::PgSqlErrorCode::ERRCODE_CONFIGURATION_LIMIT_EXCEEDED,
            format!("nspg_guard governs at most {SLOTS} sessions, but max_connections + max_wal_senders is {sessions}"),
            "Lower max_connections (a connection pooler serves more clients), or remove nspg_guard from shared_preload_libraries.",
        );
    }
    pg_shmem_init!(REGISTRY);
    pg_shmem_init!(ROLES_GENERATION);
}

#[pg_guard]
unsafe extern "C-unwind" fn forget_at_exit(_code: i32, _arg: pg_sys::Datum) {
    if REGISTERED.get() {
        forget(pg_sys::MyProcPid);
    }
}

/// Records whether this backend is an admin session now.
pub fn set_admin(admin: bool) {
    if REGISTERED.get() == admin {
        return;
    }
    let pid = unsafe { pg_sys::MyProcPid };
    if admin {
        if !EXIT_CALLBACK.replace(true) {
            unsafe { pg_sys::before_shmem_exit(Some(forget_at_exit), pg_sys::Datum::from(0)) };
        }
        let mut registry = REGISTRY.exclusive();
        if let Some(slot) = registry.slots.iter_mut().find(|s| s.pid == 0) {
            *slot = Slot { pid, started: unsafe { pg_sys::MyStartTimestamp } };
        }
    } else {
        forget(pid);
    }
    REGISTERED.set(admin);
}

/// Removes `pid` (its session ended, or stopped being admin, or the worker ended it).
pub fn forget(pid: i32) {
    let mut registry = REGISTRY.exclusive();
    registry.slots.iter_mut().filter(|s| s.pid == pid).for_each(|s| *s = Slot::default());
}

/// Admin sessions that started before `started_before`.
pub fn started_before(started_before: i64) -> Vec<i32> {
    let registry = REGISTRY.share();
    registry.slots.iter().filter(|s| s.pid != 0 && s.started < started_before).map(|s| s.pid).collect()
}

/// A grant now expires at `at`: the worker must look no later than that.
pub fn expiry_at(at: i64) {
    let mut registry = REGISTRY.exclusive();
    registry.next_expiry = registry.next_expiry.min(at);
}

/// Is a break-glass expiry due at `now`?
pub fn expiry_due(now: i64) -> bool {
    REGISTRY.share().next_expiry <= now
}

/// The next expiry the worker knows of, before it looks.
pub fn next_expiry_now() -> i64 {
    REGISTRY.share().next_expiry
}

/// The worker looked: the next expiry is at `at` (NO_EXPIRY for none). `seen` is what it knew
/// before looking: an approval that committed meanwhile (and lowered it) is kept.
pub fn next_expiry(at: i64, seen: i64) {
    let mut registry = REGISTRY.exclusive();
    registry.next_expiry = if registry.next_expiry == seen { at } else { registry.next_expiry.min(at) };
}

/// Changes after every commit that changed roles or memberships (of any session).
pub fn roles_generation() -> u64 {
    ROLES_GENERATION.get().load(Ordering::Acquire)
}

/// A transaction that changed roles or memberships committed.
pub fn roles_changed() {
    ROLES_GENERATION.get().fetch_add(1, Ordering::AcqRel);
}
