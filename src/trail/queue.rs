//! The asynchronous path of the audit trail: events that must outlive the transaction that
//! raised them (refusals, logins, overrides) are queued in shared memory and written by a
//! background worker in transactions of its own, into `nspg_guard.audit_log` of
//! `nspg_guard.audit_database`. The worker also seals new rows into the hash chain.
//!
//! Every queued event was already written to the server log when it happened, so a full queue,
//! a crash (shared memory does not survive one) or a database without the extension loses no
//! event silently: `audit_stats()` counts what fell back to the log only.

use crate::policy::audit_event::AuditEvent;
use crate::pg::settings;
use pgrx::bgworkers::{BackgroundWorker, BackgroundWorkerBuilder, BgWorkerStartTime, SignalWakeFlags};
use pgrx::lwlock::PgLwLock;
use pgrx::prelude::*;
use pgrx::{pg_shmem_init, pg_sys, PGRXSharedMemory};
use std::time::Duration;

const SLOTS: usize = 512;
/// Room for one serialized event; statements are cut to fit (see `audit_log::QUEUED_STATEMENT_BYTES`).
pub const SLOT_BYTES: usize = 2040;
/// Events the worker writes per transaction.
const BATCH: usize = 256;
/// How often the writer seals looking at the whole table, not just at the rows after the last
/// sealed one (a row whose transaction committed long after later rows is sealed then).
const FULL_SEAL_EVERY: Duration = Duration::from_secs(60);
/// How often the writer looks for expired break-glass grants even when none is known to be due
/// (a grant approved while it was computing the next expiry is caught by this).
const EXPIRY_LOOK_EVERY: Duration = Duration::from_secs(5);

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

/// Reserves the queue in shared memory and registers the writer; from `_PG_init` at preload.
pub fn init() {
    pg_shmem_init!(QUEUE);
    BackgroundWorkerBuilder::new("nspg_guard audit writer")
        .set_type("nspg_guard audit writer")
        .set_function("nspg_guard_audit_writer_main")
        .set_library("nspg_guard")
        .enable_spi_access()
        // the worker writes rows, so it waits for a read-write server (a promoted standby too)
        .set_start_time(BgWorkerStartTime::RecoveryFinished)
        .set_restart_time(Some(Duration::from_secs(1)))
        .load();
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

/// Takes up to `max` events off the queue.
fn pop_batch(max: usize) -> Vec<String> {
    let mut q = QUEUE.exclusive();
    let mut out = Vec::new();
    while q.head < q.tail && out.len() < max {
        let slot = &q.slots[(q.head % SLOTS as u64) as usize];
        out.push(String::from_utf8_lossy(&slot.bytes[..slot.len as usize]).into_owned());
        q.head += 1;
    }
    out
}

#[pg_guard]
#[no_mangle]
pub extern "C-unwind" fn nspg_guard_audit_writer_main(_arg: pg_sys::Datum) {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGHUP | SignalWakeFlags::SIGTERM);
    let database = settings::text_of(&settings::AUDIT_DATABASE);
    BackgroundWorker::connect_worker_to_spi(Some(&database), None);
    QUEUE.exclusive().worker_latch = unsafe { std::ptr::addr_of_mut!((*pg_sys::MyProc).procLatch) } as usize;
    crate::trail::write::record_server_start();
    let mut last_full_seal = std::time::Instant::now();
    let mut last_expiry_look = std::time::Instant::now();
    drain_and_seal(true);
    crate::api::breakglass::expire_due(true);
    while BackgroundWorker::wait_latch(Some(Duration::from_millis(500))) {
        if BackgroundWorker::sighup_received() {
            unsafe { pg_sys::ProcessConfigFile(pg_sys::GucContext::PGC_SIGHUP) };
        }
        let everything = last_full_seal.elapsed() >= FULL_SEAL_EVERY;
        if everything {
            last_full_seal = std::time::Instant::now();
        }
        drain_and_seal(everything);
        // session governance: idle admin sessions past their maximum, expired break-glass grants
        crate::guard::admin_session::end_idle_admin_sessions();
        let look_anyway = last_expiry_look.elapsed() >= EXPIRY_LOOK_EVERY;
        if look_anyway {
            last_expiry_look = std::time::Instant::now();
        }
        crate::api::breakglass::expire_due(look_anyway);
    }
    drain_and_seal(false);
    QUEUE.exclusive().worker_latch = 0;
    crate::trail::write::record_server_stop();
    drain_and_seal(true);
}

/// Writes queued events in batches, then seals whatever was committed since the last round.
fn drain_and_seal(everything: bool) {
    loop {
        let batch = pop_batch(BATCH);
        let n = batch.len() as u64;
        if n == 0 {
            break;
        }
        let written = BackgroundWorker::transaction(move || crate::trail::write::insert_queued(&batch));
        let mut q = QUEUE.exclusive();
        q.written += written;
        q.fallen_back += n - written;
    }
    BackgroundWorker::transaction(move || crate::trail::write::seal(everything));
}

/// Decodes a queued payload.
pub fn decode(payload: &str) -> Option<AuditEvent> {
    serde_json::from_str(payload).ok()
}
