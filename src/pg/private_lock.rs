//! Locks only nspg_guard takes. They are "userlock" tags (the lock tag type PostgreSQL keeps for
//! extensions' own user locks; no SQL function takes one), so no session can take one first and
//! make nspg_guard's own work wait on it, and they stay out of what sessions see as their
//! advisory locks (`pg_locks` shows them as locktype `userlock`). They are held until the
//! transaction ends.

use pgrx::pg_sys;

/// What a private lock serializes; the value is the lock tag's last field.
#[derive(Clone, Copy)]
#[repr(u16)]
pub enum PrivateLock {
    /// One break-glass request of a role at a time (keyed by the role's OID).
    BreakglassRequest = 0x4e01,
    /// One sealer of a database's audit chain at a time, and no purge while it seals (key 0).
    AuditSeal = 0x4e02,
}

/// Waits for `lock` on `key` in the current database, for the rest of the transaction.
pub fn take(lock: PrivateLock, key: u32) {
    let tag = locktag(lock, key);
    unsafe { pg_sys::LockAcquire(&tag, pg_sys::ExclusiveLock as pg_sys::LOCKMODE, false, false) };
}

fn locktag(lock: PrivateLock, key: u32) -> pg_sys::LOCKTAG {
    pg_sys::LOCKTAG {
        locktag_field1: unsafe { pg_sys::MyDatabaseId }.to_u32(),
        locktag_field2: 0,
        locktag_field3: key,
        locktag_field4: lock as u16,
        locktag_type: pg_sys::LockTagType::LOCKTAG_USERLOCK as u8,
        locktag_lockmethodid: pg_sys::USER_LOCKMETHOD as u8,
    }
}
