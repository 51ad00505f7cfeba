//! The roles under lockdown (`api/incident.rs`), in shared memory, for what must know without a
//! catalog or table lookup: the refusal of their SECURITY DEFINER functions
//! (`guard/lockdown.rs`) and the writer's rollback of their prepared transactions.
//!
//! The set follows `nspg_guard.role_lockdowns`: a lockdown or unlock changes it when its
//! transaction commits, and the background writer reloads it from the table at start and every
//! few seconds (shared memory does not survive a restart).

use pgrx::lwlock::PgLwLock;
use pgrx::pg_sys;
use pgrx::{pg_guard, pg_shmem_init, PGRXSharedMemory, PgAtomic};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Roles locked down at once; `lockdown_role()` refuses one more.
pub const CAPACITY: usize = 256;

#[derive(Copy, Clone)]
pub struct Locked {
    count: usize,
    oids: [u32; CAPACITY],
    /// Bumped by every change a transaction commits; a reload from the table that started
    /// before one does not overwrite it.
    generation: u64,
}

impl Default for Locked {
    fn default() -> Self {
        Locked { count: 0, oids: [0; CAPACITY], generation: 0 }
    }
}

unsafe impl PGRXSharedMemory for Locked {}

static LOCKED: PgLwLock<Locked> = unsafe { PgLwLock::new(c"nspg_guard_locked_roles") };
/// How many roles are in `LOCKED` (read without the lock by the hook).
static ANY: PgAtomic<AtomicU32> = unsafe { PgAtomic::new(c"nspg_guard_locked_roles_count") };
/// Bumped after every change of the set: what each session compares at each statement, one
/// atomic read, to look for its login role only after a lockdown (`guard/admin_session.rs`).
static CHANGES: PgAtomic<AtomicU64> = unsafe { PgAtomic::new(c"nspg_guard_locked_roles_changes") };

/// Reserves the set; from `_PG_init` at preload.
pub fn init() {
    pg_shmem_init!(LOCKED);
    pg_shmem_init!(ANY);
    pg_shmem_init!(CHANGES);
}

fn publish(locked: &Locked) {
    ANY.get().store(locked.count as u32, Ordering::Release);
    CHANGES.get().fetch_add(1, Ordering::AcqRel);
}

/// Changes after every change of the set (a lockdown or unlock committed, a reload).
pub fn changes() -> u64 {
    CHANGES.get().load(Ordering::Acquire)
}

/// Adds (`locked`) or removes a role; called once the lockdown or unlock has committed.
pub fn set(role: pg_sys::Oid, locked: bool) {
    let role = role.to_u32();
    let mut set = LOCKED.exclusive();
    let count = set.count;
    let at = set.oids[..count].iter().position(|&o| o == role);
    match (at, locked) {
        (None, true) if count < CAPACITY => {
            set.oids[count] = role;
            set.count += 1;
        }
        (Some(i), false) => {
            set.oids[i] = set.oids[count - 1];
            set.count -= 1;
        }
        _ => {}
    }
    set.generation += 1;
    publish(&set);
}

/// The generation a reload starts from (see `replace`).
pub fn generation() -> u64 {
    LOCKED.share().generation
}

/// Replaces the set with `roles` (the writer's reload from the table), unless a lockdown or
/// unlock committed since `seen`: then the next reload catches up.
pub fn replace(roles: &[pg_sys::Oid], seen: u64) {
    let mut set = LOCKED.exclusive();
    if set.generation != seen {
        return;
    }
    let n = roles.len().min(CAPACITY);
    let roles: Vec<u32> = roles[..n].iter().map(|r| r.to_u32()).collect();
    if set.oids[..set.count] == roles[..] {
        return;
    }
    set.oids[..n].copy_from_slice(&roles);
    set.count = n;
    publish(&set);
}

/// The roles locked down now.
pub fn all() -> Vec<pg_sys::Oid> {
    if !any() {
        return Vec::new();
    }
    let set = LOCKED.share();
    set.oids[..set.count].iter().map(|&o| pg_sys::Oid::from(o)).collect()
}

/// Is `role` locked down? Reads the atomic counter first: nothing else when no lockdown is in force.
pub fn is_locked(role: pg_sys::Oid) -> bool {
    if ANY.get().load(Ordering::Acquire) == 0 {
        return false;
    }
    let role = role.to_u32();
    let set = LOCKED.share();
    set.oids[..set.count].contains(&role)
}

/// Any lockdown in force? (One atomic read.)
pub fn any() -> bool {
    ANY.get().load(Ordering::Acquire) != 0
}
