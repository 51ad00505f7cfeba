//! The asynchronous path of the audit trail: events that must outlive the transaction that
//! raised them (refusals, logins, overrides) are queued in shared memory and written by the
//! background writer (`worker.rs`) in transactions of its own, into `nspg_guard.audit_log` of
//! `nspg_guard.audit_database`.
//!
//! Every queued event was already written to the server log when it happened, so a full queue,
//! a crash (shared memory does not survive one) or a database without the extension loses no
//! event silently: `audit_stats()` counts what fell back to the log only.

use crate::policy::audit_event::AuditEvent;
use pgrx::lwlock::PgLwLock;
use pgrx::{pg_guard, pg_shmem_init, pg_sys, PGRXSharedMemory};
use std::time::Duration;

const SLOTS: usize = 512;
/// Room for one serialized event; statements are cut to fit (see `write::QUEUED_STATEMENT_BYTES`).
pub const SLOT_BYTES: usize = 2040;

#[derive(Copy, Clone)]
struct Slot {
    len: u16,
    bytes: [u8; SLOT_BYTES],
}

#[derive(Copy, Clone)]
pub struct Queue {
    /// Next slot to read / next slot to write, as ever-growing counters (index = n % SLOTS).
    head: u64,
    tail: u64,
    slots: [Slot; SLOTS],
    queued: u64,
    written: u64,
    fallen_back: u64,
    /// The worker's latch (a pointer into shared memory), 0 until it runs.
    worker_latch: usize,
}

unsafe impl PGRXSharedMemory for Queue {}

impl Default for Queue {
    fn default() -> Self {
        Queue {
            head: 0,
            tail: 0,
            slots: [Slot { len: 0, bytes: [0; SLOT_BYTES] }; SLOTS],
            queued: 0,
            written: 0,
            fallen_back: 0,
            worker_latch: 0,
        }
    }
}

static QUEUE: PgLwLock<Queue> = unsafe { PgLwLock::new(c"nspg_guard_audit_queue") };

/// Reserves the queue in shared memory; from `_PG_init` at preload.
pub fn init() {
    pg_shmem_init!(QUEUE);
}

/// Counters for `nspg_guard.audit_stats()`.
pub struct Stats {
    pub queued: u64,
    pub written: u64,
    pub fallen_back: u64,
    pub pending: u64,
}

pub fn stats() -> Stats {
    let q = QUEUE.share();
    Stats { queued: q.queued, written: q.written, fallen_back: q.fallen_back, pending: q.tail - q.head }
}

/// Queues one serialized event. When the queue is full, waits up to `wait` for the worker to
/// make room; returns false (and counts a fallback) if it could not.
pub fn push(payload: &[u8], wait: Duration) -> bool {
    if payload.len() > SLOT_BYTES {
        QUEUE.exclusive().fallen_back += 1;
        return false;
    }
    let deadline = std::time::Instant::now() + wait;
    loop {
        let latch = {
            let mut q = QUEUE.exclusive();
            if q.tail - q.head < SLOTS as u64 {
                let index = (q.tail % SLOTS as u64) as usize;
                q.slots[index].len = payload.len() as u16;
                q.slots[index].bytes[..payload.len()].copy_from_slice(payload);
                q.tail += 1;
                q.queued += 1;
                let latch = q.worker_latch;
                drop(q);
                wake(latch);
                return true;
            }
            q.worker_latch
        };
        wake(latch);
        if std::time::Instant::now() >= deadline {
            QUEUE.exclusive().fallen_back += 1;
            return false;
        }
        unsafe { pg_sys::pg_usleep(5_000) };
    }
}

fn wake(latch: usize) {
    if latch != 0 {
        unsafe { pg_sys::SetLatch(latch as *mut pg_sys::Latch) };
    }
}

/// The writer's latch, which `push` sets; `None` when the writer stops.
pub fn set_writer_latch(latch: Option<*mut pg_sys::Latch>) {
    QUEUE.exclusive().worker_latch = latch.map_or(0, |l| l as usize);
}

/// Takes up to `max` events off the queue (the writer).
pub fn pop_batch(max: usize) -> Vec<String> {
    let mut q = QUEUE.exclusive();
    let mut out = Vec::new();
    while q.head < q.tail && out.len() < max {
        let slot = &q.slots[(q.head % SLOTS as u64) as usize];
        out.push(String::from_utf8_lossy(&slot.bytes[..slot.len as usize]).into_owned());
        q.head += 1;
    }
    out
}

/// The writer wrote `written` of the `taken` events it popped; the rest fell back to the log only.
pub fn count_written(taken: u64, written: u64) {
    let mut q = QUEUE.exclusive();
    q.written += written;
    q.fallen_back += taken - written;
}

/// Decodes a queued payload.
pub fn decode(payload: &str) -> Option<AuditEvent> {
    serde_json::from_str(payload).ok()
}
