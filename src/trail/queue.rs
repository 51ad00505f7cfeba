//! The asynchronous path of the audit trail: events that must outlive the transaction that
//! raised them (refusals, logins, overrides) are appended to a durable queue — files
//! `$PGDATA/nspg_guard/audit_queue.<segment>` — and written by the background writer
//! (`worker.rs`) in transactions of its own, into `nspg_guard.audit_log` of
//! `nspg_guard.audit_database`.
//!
//! No client ever waits on the writer: an append is one `write()` of one line under a lock that
//! only appenders take (the writer reads the files without it), and it does not wait for the
//! disk (the event is already in the server log; README says what an OS crash can take). A
//! stopped or dead writer only makes the files grow, up to `nspg_guard.audit_queue_max_size`;
//! beyond it events stay in the server log only and are counted (`audit_stats()`, lint).
//!
//! Each line carries its length and CRC (`policy::queue_record`): a line torn by a crash is
//! skipped, never misread; each server start (a new shared memory) appends to a new segment,
//! so a torn line can only end a segment. The writer keeps its position in
//! `audit_queue.position`, written before its batch commits together with the batch's
//! transaction id: after a crash the batch counts as written exactly when that transaction
//! committed, so no event is inserted twice or skipped.

use crate::pg::backend::{BackendCell, BackendLocal};
use crate::pg::{settings, state_dir};
use crate::policy::audit_event::{self, AuditEvent};
use crate::policy::queue_record::{self, Position, Progress, Read};
use pgrx::lwlock::PgLwLock;
use pgrx::{pg_guard, pg_shmem_init, pg_sys, PgAtomic, PGRXSharedMemory};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read as _, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

/// A segment takes appends until it holds this much (one event larger than it gets a segment
/// of its own).
const SEGMENT_BYTES: u64 = 16 << 20;
/// How much of a segment the writer reads at a time.
const READ_CHUNK: usize = 1 << 20;
const POSITION_FILE: &str = "audit_queue.position";

/// The appenders' state, under their lock.
#[derive(Copy, Clone, Default)]
pub struct Appender {
    /// The files were looked at since this shared memory was made (the first append does it).
    started: bool,
    /// The segment appended to now, and its length.
    segment: u64,
    offset: u64,
    /// Bytes appended, counting what earlier server runs left in the files.
    appended: u64,
    queued: u64,
    /// Events kept in the server log only: over the size bound, or the file could not be written.
    fallen_back: u64,
    over_max_size: u64,
    /// The writer's latch (a pointer into shared memory), 0 until it runs.
    worker_latch: usize,
}
unsafe impl PGRXSharedMemory for Appender {}

/// The writer's counters: atomics, so that no lock is ever shared between clients and the writer.
#[derive(Default)]
pub struct Drained {
    /// Bytes of the queue the writer is past (written, or skipped as damaged).
    bytes: AtomicU64,
    written: AtomicU64,
    /// Events the writer could not write: damaged lines, events no table takes.
    skipped: AtomicU64,
    /// The writer's position (segment + 1, 0 until it has one) and offset, for `audit_stats()`.
    segment: AtomicU64,
    offset: AtomicU64,
}
unsafe impl PGRXSharedMemory for Drained {}

static APPENDER: PgLwLock<Appender> = unsafe { PgLwLock::new(c"nspg_guard_audit_queue") };
static DRAINED: PgAtomic<Drained> = unsafe { PgAtomic::new(c"nspg_guard_audit_drained") };

/// This backend's open segment, by number.
static OPEN: BackendCell<Option<(u64, File)>> = BackendCell::new(None);
/// The writer's position: what it has committed, and what it last wrote to the position file.
static WRITER: BackendCell<Option<(Position, Position)>> = BackendCell::new(None);
/// When the writer last wrote a settled position file.
static LAST_SETTLE: BackendLocal<Option<std::time::Instant>> = BackendLocal::new(None);

/// Reserves the queue's state in shared memory; from `_PG_init` at preload.
pub fn init() {
    pg_shmem_init!(APPENDER);
    pg_shmem_init!(DRAINED);
}

fn directory() -> PathBuf {
    // every server process runs in the data directory: the relative path names the same place
    state_dir::dir().unwrap_or_else(|_| PathBuf::from("nspg_guard"))
}

fn segment_path(segment: u64) -> PathBuf {
    directory().join(queue_record::segment_name(segment))
}

/// The segments on disk, by number, with their sizes, in order.
fn segments() -> Vec<(u64, u64)> {
    let mut found: Vec<(u64, u64)> = fs::read_dir(directory())
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter_map(|e| Some((queue_record::segment_of(e.file_name().to_str()?)?, e.metadata().ok()?.len())))
                .collect()
        })
        .unwrap_or_default();
    found.sort_unstable();
    found
}

fn read_progress() -> Progress {
    match state_dir::read(POSITION_FILE) {
        Ok(Some(bytes)) => std::str::from_utf8(&bytes).ok().and_then(Progress::decode).unwrap_or_else(|| {
            pgrx::warning!("nspg_guard: $PGDATA/nspg_guard/{POSITION_FILE} is damaged; the audit queue is read from its first segment");
            Progress::default()
        }),
        _ => Progress::default(),
    }
}

/// First use in this shared memory's life: a new segment after every one on disk (a torn line
/// of a crashed run then ends its segment), and what earlier runs left counted as appended.
fn start(a: &mut Appender) -> io::Result<()> {
    fs::DirBuilder::new().recursive(true).mode(0o700).create(directory())?;
    let found = segments();
    let progress = read_progress();
    let last = found.last().map(|&(s, _)| s).into_iter().chain([progress.done.segment]).chain(progress.in_flight.map(|(to, _)| to.segment)).max();
    a.segment = last.map_or(0, |s| s + 1);
    a.offset = 0;
    a.appended = found.iter().map(|&(_, len)| len).sum();
    a.started = true;
    Ok(())
}

/// Makes sure the queue's files were looked at (the writer, `audit_stats()`).
pub fn open() {
    let mut a = APPENDER.exclusive();
    if !a.started {
        if let Err(e) = start(&mut a) {
            pgrx::warning!("nspg_guard: cannot open the audit queue in {}: {e}", directory().display());
        }
    }
}

/// Appends one serialized event; false (counted as fallen back) if the queue is over its size
/// bound or the file could not be written. Never waits for the writer.
pub fn push(payload: &[u8]) -> bool {
    let line = queue_record::encode(payload);
    let max = (settings::AUDIT_QUEUE_MAX_SIZE.get() as u64).saturating_mul(1024);
    let mut a = APPENDER.exclusive();
    if !a.started && start(&mut a).is_err() {
        a.fallen_back += 1;
        return false;
    }
    let pending = a.appended.saturating_sub(DRAINED.get().bytes.load(Ordering::Acquire));
    if pending + line.len() as u64 > max {
        a.fallen_back += 1;
        a.over_max_size += 1;
        return false;
    }
    if a.offset > 0 && a.offset + line.len() as u64 > SEGMENT_BYTES {
        a.segment += 1;
        a.offset = 0;
    }
    let (segment, offset) = (a.segment, a.offset);
    match append(segment, offset, &line) {
        Ok(()) => {
            a.offset += line.len() as u64;
            a.appended += line.len() as u64;
            a.queued += 1;
            let latch = a.worker_latch;
            drop(a);
            if latch != 0 {
                unsafe { pg_sys::SetLatch(latch as *mut pg_sys::Latch) };
            }
            true
        }
        Err(e) => {
            a.fallen_back += 1;
            drop(a);
            pgrx::warning!("nspg_guard: could not append to the audit queue ({e}); the event is in the server log only");
            false
        }
    }
}

/// Writes `line` at the end of `segment` (which is `offset` long), with this backend's open
/// file; a partial write is cut off again, so the next line starts clean.
fn append(segment: u64, offset: u64, line: &[u8]) -> io::Result<()> {
    OPEN.with(|open| {
        let mut open = open.borrow_mut();
        if open.as_ref().map(|(s, _)| *s) != Some(segment) {
            let file = OpenOptions::new().append(true).create(true).mode(0o600).open(segment_path(segment))?;
            *open = Some((segment, file));
        }
        let Some((_, file)) = open.as_mut() else { return Err(io::ErrorKind::NotFound.into()) };
        file.write_all(line).inspect_err(|_| {
            let _ = file.set_len(offset);
        })
    })
}

/// The writer's latch, which `push` sets; `None` when the writer stops.
pub fn set_writer_latch(latch: Option<*mut pg_sys::Latch>) {
    APPENDER.exclusive().worker_latch = latch.map_or(0, |l| l as usize);
}

/// Counters for `nspg_guard.audit_stats()` (since the server started; `pending_bytes` and the
/// oldest event's age count what earlier runs left too).
pub struct Stats {
    pub queued: u64,
    pub written: u64,
    pub fallen_back: u64,
    pub over_max_size: u64,
    pub pending: u64,
    pub pending_bytes: u64,
    /// The time (PostgreSQL microseconds) of the oldest event not written yet.
    pub oldest_pending: Option<i64>,
}

pub fn stats() -> Stats {
    open();
    let a = *APPENDER.share();
    let d = DRAINED.get();
    let (written, skipped) = (d.written.load(Ordering::Acquire), d.skipped.load(Ordering::Acquire));
    let pending_bytes = a.appended.saturating_sub(d.bytes.load(Ordering::Acquire));
    let oldest_pending = if pending_bytes == 0 {
        None
    } else {
        let position = match d.segment.load(Ordering::Acquire) {
            0 => read_progress().done,
            s => Position { segment: s - 1, offset: d.offset.load(Ordering::Acquire) },
        };
        read_from(position, 1)
            .events
            .first()
            .and_then(|payload| decode(payload))
            .and_then(|e| audit_event::parse_iso_timestamp(&e.event_time))
    };
    Stats {
        queued: a.queued,
        written,
        fallen_back: a.fallen_back + skipped,
        over_max_size: a.over_max_size,
        pending: a.queued.saturating_sub(written + skipped),
        pending_bytes,
        oldest_pending,
    }
}

/// Bytes appended so far (`audit_flush()` waits until the writer is past them).
pub fn appended() -> u64 {
    APPENDER.share().appended
}

/// Bytes the writer is past.
pub fn drained() -> u64 {
    DRAINED.get().bytes.load(Ordering::Acquire)
}

/// Events read from the queue, and where the queue continues after them.
pub struct Batch {
    pub events: Vec<String>,
    from: Position,
    to: Position,
    /// Bytes between `from` and `to` (skipped damage included).
    bytes: u64,
    damaged: u64,
}

/// Reads up to `max` events from `from` on. Damaged lines and a torn tail of a segment that
/// has a later one are skipped (with a WARNING: their events are in the server log only).
fn read_from(from: Position, max: usize) -> Batch {
    let mut batch = Batch { events: Vec::new(), from, to: from, bytes: 0, damaged: 0 };
    let found = segments();
    let mut i = found.iter().position(|&(s, _)| s >= from.segment);
    while let Some(index) = i {
        let (segment, _) = found[index];
        if segment != batch.to.segment {
            batch.to = Position { segment, offset: 0 };
        }
        let has_later = index + 1 < found.len();
        match read_segment(&mut batch, max) {
            Ok(true) if has_later && batch.events.len() < max => i = Some(index + 1),
            Ok(_) => break,
            // removed by the writer meanwhile (a reader of `audit_stats()`): nothing to say
            Err(e) if e.kind() == io::ErrorKind::NotFound => break,
            Err(e) => {
                pgrx::warning!("nspg_guard: cannot read {}: {e}", segment_path(segment).display());
                break;
            }
        }
    }
    batch
}

/// Reads events from `batch.to` in its segment until `max`; true when the segment was read to
/// its end (a torn tail of it is skipped then when a later segment exists: see `read_from`).
fn read_segment(batch: &mut Batch, max: usize) -> io::Result<bool> {
    let mut file = File::open(segment_path(batch.to.segment))?;
    file.seek(SeekFrom::Start(batch.to.offset))?;
    let mut buffer = Vec::new();
    let mut used = 0;
    let mut at_eof = false;
    while batch.events.len() < max {
        match queue_record::decode(&buffer[used..]) {
            Read::Event { json, len } => {
                batch.events.push(String::from_utf8_lossy(json).into_owned());
                used += len;
                advance(batch, len);
            }
            Read::Damaged { len } => {
                used += len;
                advance(batch, len);
                batch.damaged += 1;
            }
            Read::Incomplete if at_eof => {
                let rest = buffer.len() - used;
                // the segment is finished when a later one exists: its incomplete tail is torn
                let torn = rest > 0 && segments().iter().any(|&(s, _)| s > batch.to.segment);
                if torn {
                    advance(batch, rest);
                    batch.damaged += 1;
                }
                return Ok(rest == 0 || torn);
            }
            Read::Incomplete => {
                buffer.drain(..used);
                used = 0;
                let before = buffer.len();
                (&mut file).take(READ_CHUNK as u64).read_to_end(&mut buffer)?;
                at_eof = buffer.len() - before < READ_CHUNK;
            }
        }
    }
    Ok(false)
}

fn advance(batch: &mut Batch, len: usize) {
    batch.to.offset += len as u64;
    batch.bytes += len as u64;
}

/// The writer starts (or restarts): where it had got to, after any crash (see the module
/// comment), and what is before that counted as drained. In a transaction (`committed` looks
/// up a transaction's commit status).
pub fn writer_start(committed: impl FnOnce(u32) -> bool) {
    let progress = read_progress();
    let done = match progress.in_flight {
        Some((to, xid)) if committed(xid) => to,
        _ => progress.done,
    };
    {
        // under the appenders' lock (once per writer start) the files match `appended` exactly
        let mut a = APPENDER.exclusive();
        if !a.started {
            if let Err(e) = start(&mut a) {
                pgrx::warning!("nspg_guard: cannot open the audit queue in {}: {e}", directory().display());
            }
        }
        let found = segments();
        let on_disk: u64 = found.iter().filter(|&&(s, _)| s >= done.segment).map(|&(_, len)| len).sum();
        let before = if found.iter().any(|&(s, _)| s == done.segment) { done.offset } else { 0 };
        DRAINED.get().bytes.store(a.appended.saturating_sub(on_disk.saturating_sub(before)), Ordering::Release);
    }
    WRITER.with(|w| *w.borrow_mut() = Some((done, progress.done)));
    publish(done);
}

fn publish(position: Position) {
    let d = DRAINED.get();
    d.segment.store(position.segment + 1, Ordering::Release);
    d.offset.store(position.offset, Ordering::Release);
}

/// The next events for the writer (empty when it is up to date).
pub fn next_batch(max: usize) -> Batch {
    let from = WRITER.with(|w| w.borrow().map(|(done, _)| done)).unwrap_or_default();
    read_from(from, max)
}

impl Batch {
    /// Nothing new: no event, nothing skipped.
    pub fn is_empty(&self) -> bool {
        self.bytes == 0
    }

    /// Just before the batch's transaction commits: the position file says where the batch ends
    /// and which transaction inserts it. Raises an ERROR (the batch is tried again) if the file
    /// cannot be written.
    pub fn prepare_commit(&self) {
        let xid = unsafe { pg_sys::GetTopTransactionId() }.into_inner();
        let progress = Progress { done: self.from, in_flight: Some((self.to, xid)) };
        if let Err(e) = write_progress(&progress) {
            pgrx::error!("nspg_guard: cannot write the audit queue's position: {e}");
        }
    }

    /// The batch's transaction committed: `written` of its events are in the table, `skipped`
    /// more could not be written by any table.
    pub fn committed(&self, written: u64, skipped: u64) {
        let d = DRAINED.get();
        d.bytes.fetch_add(self.bytes, Ordering::AcqRel);
        d.written.fetch_add(written, Ordering::AcqRel);
        d.skipped.fetch_add(skipped + self.damaged, Ordering::AcqRel);
        if self.damaged > 0 {
            pgrx::warning!("nspg_guard: {} damaged line(s) of the audit queue skipped before segment {:x} offset {}: those events are in the server log only", self.damaged, self.to.segment, self.to.offset);
        }
        WRITER.with(|w| {
            if let Some((done, _)) = w.borrow_mut().as_mut() {
                *done = self.to;
            }
        });
        publish(self.to);
    }
}

/// After a round: the position file says where the writer is with no batch in flight, and the
/// segments before it are removed. Not after every round (each write syncs the disk): when a
/// segment is finished, every 10 s, and when `now` (the writer stops) — the transaction id of
/// the last batch only has to be looked up while the commit log still has it.
pub fn settle(now: bool) {
    const EVERY: std::time::Duration = std::time::Duration::from_secs(10);
    let Some((done, saved)) = WRITER.with(|w| *w.borrow()) else { return };
    if done == saved {
        return;
    }
    let due = now || done.segment != saved.segment || LAST_SETTLE.get().is_none_or(|t| t.elapsed() >= EVERY);
    if !due {
        return;
    }
    LAST_SETTLE.set(Some(std::time::Instant::now()));
    if let Err(e) = write_progress(&Progress { done, in_flight: None }) {
        pgrx::warning!("nspg_guard: cannot write the audit queue's position: {e}");
        return;
    }
    WRITER.with(|w| *w.borrow_mut() = Some((done, done)));
    for (segment, _) in segments().into_iter().filter(|&(s, _)| s < done.segment) {
        if let Err(e) = fs::remove_file(segment_path(segment)) {
            pgrx::warning!("nspg_guard: cannot remove {}: {e}", segment_path(segment).display());
        }
    }
}

/// Replaces the position file durably (`state_dir::write`).
fn write_progress(progress: &Progress) -> io::Result<()> {
    state_dir::write(POSITION_FILE, progress.encode().as_bytes())
}

/// Decodes a queued payload.
pub fn decode(payload: &str) -> Option<AuditEvent> {
    serde_json::from_str(payload).ok()
}
