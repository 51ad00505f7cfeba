//! Which databases have audit rows waiting to be sealed, and each database's anchor, in shared
//! memory. A transaction that wrote audit rows marks its database at commit (with the lowest
//! id it wrote, so that the sealer looks no further back); the writer starts a sealer for each
//! marked database (`sealer.rs`), which takes the mark and seals. The anchor (last sealed
//! seal_seq and row_hash) is cached here; its durable copy is a file (`anchor.rs`).
//!
//! A prepared transaction's rows commit in whichever session runs COMMIT PREPARED, where no
//! callback of ours knows them: before PREPARE its database, xid and lowest id are kept here, and
//! the writer marks the database once that xid is no longer in progress (`settle_prepared`).
//! Only when more are prepared at once than this list holds does a database fall back to the
//! writer's periodic sweep of its whole trail (`unsure`). A mark a sealer took stays recorded
//! until it has sealed (`take`, `done`, `give_back`): no mark is lost to a sealer that stopped.
//!
//! A slot holds nothing that is not also elsewhere once its database is idle (no mark, none
//! taken): an idle slot is reused for another database when the table is full, so any number
//! of databases is sealed. A mark that finds every slot busy is kept in a list of lost marks,
//! per database (`lost`); the writer marks those databases again once slots are free. Only when
//! that list is full too is the lowest id lost kept for all (`lost_low`): every database is
//! marked from there.

use crate::policy::chain::Anchor;
use pgrx::lwlock::PgLwLock;
use pgrx::{pg_guard, pg_shmem_init, pg_sys, PGRXSharedMemory};

/// Databases tracked at once (idle ones give their slot up to others, see the module comment).
const DATABASES: usize = 128;
/// Prepared transactions with audit rows tracked at once (max_prepared_transactions is 0 by
/// default; a cluster using two-phase commit rarely holds more open).
const PREPARED: usize = 256;
/// Databases whose marks found every slot busy, kept each with its own lowest id.
const LOST: usize = 128;

#[derive(Copy, Clone)]
struct Slot {
    database: u32,
    /// Rows committed since the sealer last took the mark, from id `low_id` on.
    pending: bool,
    low_id: i64,
    /// The anchor as cached (`anchored`), read from the file or last stored.
    anchored: bool,
    anchor_seq: i64,
    anchor_hash: [u8; 32],
    /// The chain no longer continues from the anchor (reported once per server start).
    broken: bool,
    /// A prepared transaction's rows were not tracked (the list was full): the writer's periodic
    /// sweep looks at the whole trail, until the server restarts.
    unsure: bool,
    /// The mark a running sealer took and has not finished sealing (`take`, `done`): given back
    /// when that sealer stops without finishing (`give_back`), so no mark is lost to a sealer's
    /// error, crash or a chain it may not seal onto.
    taken: Option<i64>,
    /// The last sealer found nothing it may do here (a broken chain, another version's objects):
    /// the writer starts the next one only after a pause. Its mark stays pending for that retry;
    /// when every other slot is busy, a parked slot is given to another database all the same
    /// (else databases with broken chains, which any CREATEDB role can make by copying one, would
    /// stop sealing everywhere): its database is looked at again on its next commit, an
    /// adoption, or the next server start.
    parked: bool,
}

const FREE: Slot = Slot {
    database: 0,
    pending: false,
    low_id: 0,
    anchored: false,
    anchor_seq: 0,
    anchor_hash: [0; 32],
    broken: false,
    unsure: false,
    taken: None,
    parked: false,
};

/// A prepared transaction that wrote audit rows (database 0: a free entry).
#[derive(Copy, Clone)]
struct Prepared {
    database: u32,
    xid: u32,
    low_id: i64,
}

const NONE_PREPARED: Prepared = Prepared { database: 0, xid: 0, low_id: 0 };

/// A mark that found no slot (database 0: a free entry).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct LostMark {
    pub database: u32,
    pub low_id: i64,
}

const NO_LOST_MARK: LostMark = LostMark { database: 0, low_id: 0 };

#[derive(Copy, Clone)]
pub struct SealState {
    slots: [Slot; DATABASES],
    prepared: [Prepared; PREPARED],
    /// The writer's latch (it starts sealers), 0 while it does not run.
    writer_latch: usize,
    /// Marks that found every slot busy, per database (`mark`, `take_lost`).
    lost: [LostMark; LOST],
    /// The lowest id of such marks when `lost` was full too: every database is marked from there.
    lost_low: Option<i64>,
    /// Marked databases wait for a sealer while all run: a sealer that has sealed leaves at once.
    waiting: bool,
}

impl Default for SealState {
    fn default() -> Self {
        SealState {
            slots: [FREE; DATABASES],
            prepared: [NONE_PREPARED; PREPARED],
            writer_latch: 0,
            lost: [NO_LOST_MARK; LOST],
            lost_low: None,
            waiting: false,
        }
    }
}

unsafe impl PGRXSharedMemory for SealState {}

static STATE: PgLwLock<SealState> = unsafe { PgLwLock::new(c"nspg_guard_seal_state") };

/// The lowest audit row id the current transaction wrote (None: none).
static TXN_LOW_ID: crate::pg::backend::BackendLocal<Option<i64>> = crate::pg::backend::BackendLocal::new(None);

/// Reserves the state in shared memory; from `_PG_init` at preload.
pub fn init() {
    pg_shmem_init!(STATE);
}

/// The current transaction wrote audit row `id` (row.rs).
pub fn note_row(id: i64) {
    TXN_LOW_ID.set(Some(TXN_LOW_ID.get().map_or(id, |low| low.min(id))));
}

/// Does the transaction end now, having written audit rows? (Else `on_xact` has nothing to do.)
#[inline]
pub fn xact_pending(event: pg_sys::XactEvent::Type) -> bool {
    use pg_sys::XactEvent::*;
    matches!(event, XACT_EVENT_COMMIT | XACT_EVENT_ABORT | XACT_EVENT_PRE_PREPARE | XACT_EVENT_PREPARE) && end_due()
}

/// `xact_pending` as the transaction ends (commit, abort, prepare): has it written audit rows?
#[inline(always)]
pub fn end_due() -> bool {
    TXN_LOW_ID.get().is_some()
}

/// The end of a transaction that wrote audit rows (`xact_pending`, from the guard's transaction
/// callback): at commit, marks its database; before PREPARE, keeps it for `settle_prepared`.
#[inline]
pub unsafe fn on_xact(event: pg_sys::XactEvent::Type) {
    use pg_sys::XactEvent::*;
    if event == XACT_EVENT_PRE_PREPARE {
        // before any later callback can fail the PREPARE after it took effect; a PREPARE that
        // fails after this only leaves an entry whose xid has ended: one needless mark
        if let Some(low) = TXN_LOW_ID.get() {
            note_prepared_here(low);
        }
        return;
    }
    let Some(low) = TXN_LOW_ID.replace(None) else { return };
    if event == XACT_EVENT_COMMIT {
        mark_committed(low);
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn mark_committed(low: i64) {
    mark(pg_sys::MyDatabaseId.to_u32(), low);
}


/// PrepareTransaction has assigned the xid before XACT_EVENT_PRE_PREPARE.
#[pg_guard]
unsafe extern "C-unwind" fn note_prepared_here(low: i64) {
    note_prepared(pg_sys::MyDatabaseId.to_u32(), pg_sys::GetTopTransactionIdIfAny().into_inner(), low);
}

/// Has prepared (or preparing) transaction `xid` ended?
fn ended(xid: u32) -> bool {
    unsafe { !pg_sys::TransactionIdIsInProgress(pg_sys::TransactionId::from(xid)) }
}

/// A prepared transaction (`xid`, in `database`) holds audit rows from id `low_id` on. When the
/// list is full, entries whose transaction has ended are settled first; only when it is still
/// full is the database swept whole instead.
pub fn note_prepared(database: u32, xid: u32, low_id: i64) {
    if !available() {
        return;
    }
    if !try_note_prepared(database, xid, low_id) {
        settle_prepared();
        if !try_note_prepared(database, xid, low_id) {
            if let Some(slot) = slot_of(&mut STATE.exclusive(), database) {
                slot.unsure = true;
            }
        }
    }
}

/// Adds the entry unless the list is full (false then).
fn try_note_prepared(database: u32, xid: u32, low_id: i64) -> bool {
    let mut state = STATE.exclusive();
    if state.prepared.iter().any(|p| p.database == database && p.xid == xid) {
        return true;
    }
    match state.prepared.iter_mut().find(|p| p.database == 0) {
        Some(free) => {
            *free = Prepared { database, xid, low_id };
            true
        }
        None => false,
    }
}

/// Does any prepared transaction with audit rows wait to end? (Else `settle_prepared` has nothing to do.)
pub fn any_prepared() -> bool {
    available() && STATE.share().prepared.iter().any(|p| p.database != 0)
}

/// The writer's round: marks the database of each tracked prepared transaction that has ended
/// (committed or rolled back), and forgets it.
pub fn settle_prepared() {
    if !available() {
        return;
    }
    // judged outside our lock (`ended` takes PostgreSQL's own); an entry already removed by
    // another settler is not marked twice
    let tracked: Vec<Prepared> = STATE.share().prepared.iter().filter(|p| p.database != 0).copied().collect();
    for p in tracked.into_iter().filter(|p| ended(p.xid)) {
        let removed = {
            let mut state = STATE.exclusive();
            let entry = state.prepared.iter_mut().find(|e| e.database == p.database && e.xid == p.xid);
            entry.map(|e| *e = NONE_PREPARED).is_some()
        };
        if removed {
            mark(p.database, p.low_id);
        }
    }
}

/// The slot of `database`: its own, else a free one, else an idle one taken over, else a parked
/// one's whose sealer has stopped (see `Slot::parked`).
fn slot_of(state: &mut SealState, database: u32) -> Option<&mut Slot> {
    let index = state
        .slots
        .iter()
        .position(|s| s.database == database)
        .or_else(|| state.slots.iter().position(|s| s.database == 0))
        .or_else(|| state.slots.iter().position(Slot::idle))
        .or_else(|| state.slots.iter().position(|s| s.parked && s.taken.is_none()))?;
    let slot = &mut state.slots[index];
    if slot.database != database {
        *slot = Slot { database, ..FREE };
    }
    Some(slot)
}

impl Slot {
    /// Nothing to seal here and nothing being sealed: the slot holds only what is kept
    /// elsewhere too (the anchor is in its file).
    fn idle(&self) -> bool {
        !self.pending && self.taken.is_none() && !self.unsure
    }
}

/// The state exists only when the library was preloaded; a backend that loaded it later (a
/// function call with the library absent from shared_preload_libraries) has no anchor cache
/// and marks nothing.
fn available() -> bool {
    crate::pg::backend::hooks_active()
}

/// Rows from id `low_id` on are committed and unsealed in `database`: wakes the writer.
pub fn mark(database: u32, low_id: i64) {
    if !try_mark(database, low_id) {
        // every slot busy: the writer marks the database again once one is free
        lost(database, low_id);
    }
}

/// A mark of `database` from id `low_id` on found no slot: see `take_lost`.
pub fn lost(database: u32, low_id: i64) {
    if available() {
        note_lost(&mut STATE.exclusive(), database, low_id);
    }
}

/// Marks from id `low_id` on of databases not known one by one were lost (the list was full,
/// or their recovery failed before it knew them): every database is marked from there.
pub fn lost_everywhere(low_id: i64) {
    if available() {
        let mut state = STATE.exclusive();
        state.lost_low = Some(state.lost_low.map_or(low_id, |l| l.min(low_id)));
    }
}

/// Keeps a lost mark: in the database's entry, else a free one, else in `lost_low` for all.
fn note_lost(state: &mut SealState, database: u32, low_id: i64) {
    let entry = match state.lost.iter().position(|l| l.database == database) {
        Some(i) => Some(i),
        None => state.lost.iter().position(|l| l.database == 0),
    };
    match entry {
        Some(i) => {
            let kept = state.lost[i];
            let low = if kept.database == database { kept.low_id.min(low_id) } else { low_id };
            state.lost[i] = LostMark { database, low_id: low };
        }
        None => state.lost_low = Some(state.lost_low.map_or(low_id, |l| l.min(low_id))),
    }
}

/// The lost marks, emptied: per database, and the lowest id lost for all.
fn take_lost_from(state: &mut SealState) -> (Vec<LostMark>, Option<i64>) {
    let marks = state.lost.iter().filter(|l| l.database != 0).copied().collect();
    state.lost = [NO_LOST_MARK; LOST];
    (marks, state.lost_low.take())
}

/// `mark`, unless every slot is busy (false then, and nothing is recorded).
pub fn try_mark(database: u32, low_id: i64) -> bool {
    if !available() {
        return true;
    }
    let latch = {
        let mut state = STATE.exclusive();
        let Some(slot) = slot_of(&mut state, database) else { return false };
        let was = slot.pending;
        slot.low_id = if was { slot.low_id.min(low_id) } else { low_id };
        slot.pending = true;
        if was {
            return true;
        }
        state.writer_latch
    };
    if latch != 0 {
        unsafe { pg_sys::SetLatch(latch as *mut pg_sys::Latch) };
    }
    true
}

/// The marks lost to a full table since last asked: per database, and the lowest id lost for
/// all (the writer marks every database from there).
pub fn take_lost() -> (Vec<LostMark>, Option<i64>) {
    if !available() {
        return (Vec::new(), None);
    }
    take_lost_from(&mut STATE.exclusive())
}

/// Do marked databases wait for a sealer (`set_waiting`)? A sealer that has sealed leaves then.
pub fn others_waiting() -> bool {
    STATE.share().waiting
}

/// The writer's round found marked databases it could start no sealer for (all run).
pub fn set_waiting(waiting: bool) {
    if STATE.share().waiting != waiting {
        STATE.exclusive().waiting = waiting;
    }
}

/// The writer's latch, which a first mark sets; None when the writer stops.
pub fn set_writer_latch(latch: Option<*mut pg_sys::Latch>) {
    STATE.exclusive().writer_latch = latch.map_or(0, |l| l as usize);
}

/// Databases with a mark (the writer starts their sealers).
pub fn pending() -> Vec<u32> {
    STATE.share().slots.iter().filter(|s| s.database != 0 && s.pending).map(|s| s.database).collect()
}

/// Every database with a slot (the writer frees those of dropped databases).
pub fn tracked() -> Vec<u32> {
    STATE.share().slots.iter().filter(|s| s.database != 0).map(|s| s.database).collect()
}

/// `database` was dropped, or may not be sealed now (`sealer::sealable`): its slot and prepared
/// entries are freed, its mark with them. Returns the lowest id that mark (or a prepared
/// transaction there) asked to look from, if any.
pub fn drop_database(database: u32) -> Option<i64> {
    if !available() {
        return None;
    }
    let mut state = STATE.exclusive();
    let mut low: Option<i64> = None;
    let mut lower = |id: i64| low = Some(low.map_or(id, |l| l.min(id)));
    for slot in state.slots.iter_mut().filter(|s| s.database == database) {
        if slot.pending {
            lower(slot.low_id);
        }
        if let Some(taken) = slot.taken {
            lower(taken);
        }
        if slot.unsure {
            lower(0);
        }
        *slot = FREE;
    }
    for entry in state.prepared.iter_mut().filter(|p| p.database == database) {
        lower(entry.low_id);
        *entry = NONE_PREPARED;
    }
    low
}

/// Databases with prepared rows not tracked, for the writer's periodic sweep.
pub fn unsure() -> Vec<u32> {
    STATE.share().slots.iter().filter(|s| s.database != 0 && s.unsure).map(|s| s.database).collect()
}

/// The sealer takes its database's mark: the lowest id to look from, if marked. The mark stays
/// taken until the sealer says it is `done` with it.
pub fn take(database: u32) -> Option<i64> {
    let mut state = STATE.exclusive();
    let slot = state.slots.iter_mut().find(|s| s.database == database && s.pending)?;
    slot.pending = false;
    slot.taken = Some(slot.taken.map_or(slot.low_id, |t| t.min(slot.low_id)));
    Some(slot.low_id)
}

/// The sealer sealed everything its taken mark asked for.
pub fn done(database: u32) {
    let mut state = STATE.exclusive();
    if let Some(slot) = state.slots.iter_mut().find(|s| s.database == database) {
        slot.taken = None;
        slot.parked = false;
    }
}

/// The sealer stops with nothing it may do here: the writer waits before it starts another.
pub fn park(database: u32) {
    let mut state = STATE.exclusive();
    if let Some(slot) = state.slots.iter_mut().find(|s| s.database == database) {
        slot.parked = true;
    }
}

/// Is `database` parked (see `park`)?
pub fn is_parked(database: u32) -> bool {
    STATE.share().slots.iter().any(|s| s.database == database && s.parked)
}

/// A mark taken and not done becomes a mark again: from the sealer when a batch failed, from
/// the writer when a sealer stopped.
pub fn give_back(database: u32) {
    let taken = {
        let mut state = STATE.exclusive();
        state.slots.iter_mut().find(|s| s.database == database).and_then(|slot| slot.taken.take())
    };
    if let Some(low) = taken {
        mark(database, low);
    }
}

/// `database` has no trail (no extension): stop tracking it until it marks itself again.
pub fn forget(database: u32) {
    let mut state = STATE.exclusive();
    if let Some(slot) = state.slots.iter_mut().find(|s| s.database == database && !s.pending) {
        *slot = FREE;
    }
}

/// The cached anchor of `database` (None: not read from its file since the server started).
pub fn cached_anchor(database: u32) -> Option<Anchor> {
    if !available() {
        return None;
    }
    let state = STATE.share();
    let slot = state.slots.iter().find(|s| s.database == database && s.anchored)?;
    let row_hash = if slot.anchor_seq == 0 { Vec::new() } else { slot.anchor_hash.to_vec() };
    Some(Anchor { seal_seq: slot.anchor_seq, row_hash })
}

pub fn cache_anchor(database: u32, anchor: &Anchor) {
    if !available() {
        return;
    }
    let mut state = STATE.exclusive();
    if let Some(slot) = slot_of(&mut state, database) {
        slot.anchored = true;
        slot.anchor_seq = anchor.seal_seq;
        slot.anchor_hash = [0; 32];
        let n = anchor.row_hash.len().min(32);
        slot.anchor_hash[..n].copy_from_slice(&anchor.row_hash[..n]);
    }
}

/// Records that `database`'s chain is broken; true if it was not known before (report it then).
pub fn set_broken(database: u32, broken: bool) -> bool {
    if !available() {
        return broken;
    }
    let mut state = STATE.exclusive();
    let Some(slot) = slot_of(&mut state, database) else { return broken };
    let was = slot.broken;
    slot.broken = broken;
    if !broken {
        // the chain is sound again (continues from its anchor, or adopted): no pause
        slot.parked = false;
    }
    broken && !was
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table whose every slot holds a database (1..=DATABASES), each as `each` leaves it.
    fn full(each: impl Fn(usize, &mut Slot)) -> SealState {
        let mut state = SealState::default();
        for (i, slot) in state.slots.iter_mut().enumerate() {
            *slot = Slot { database: i as u32 + 1, ..FREE };
            each(i, slot);
        }
        state
    }

    #[test]
    fn a_database_keeps_its_slot_and_a_new_one_takes_a_free_slot() {
        let mut state = SealState::default();
        if let Some(slot) = slot_of(&mut state, 7) {
            slot.pending = true;
        }
        assert!(slot_of(&mut state, 7).is_some_and(|s| s.pending), "its own slot, as it was");
        assert!(slot_of(&mut state, 8).is_some_and(|s| s.database == 8 && !s.pending));
        assert_eq!(state.slots.iter().filter(|s| s.database != 0).count(), 2);
    }

    #[test]
    fn a_full_table_gives_an_idle_slot_to_a_new_database() {
        // all busy but slot 60, which only caches an anchor
        let mut state = full(|i, s| match i {
            60 => s.anchored = true,
            _ => s.pending = true,
        });
        let slot = slot_of(&mut state, 1000).map(|s| (s.database, s.anchored, s.pending));
        assert_eq!(slot, Some((1000, false, false)), "the idle slot, cleared");
        assert_eq!(state.slots[60].database, 1000);
        state.slots[60].pending = true;
        assert!(slot_of(&mut state, 1001).is_none(), "none idle left");
    }

    #[test]
    fn with_none_idle_a_parked_slot_is_given_up_unless_its_sealer_runs() {
        // all pending; 7 parked with its sealer still running, 8 parked with it stopped
        let mut state = full(|i, s| {
            s.pending = true;
            s.parked = i == 7 || i == 8;
            s.taken = (i == 7).then_some(1);
        });
        assert!(slot_of(&mut state, 1000).is_some());
        assert_eq!(state.slots[8].database, 1000, "the parked slot whose sealer stopped");
        assert_eq!(state.slots[7].database, 8, "not the one whose sealer runs");
    }

    #[test]
    fn a_lost_mark_is_kept_for_its_database_and_only_an_overflow_for_all() {
        let mut state = SealState::default();
        note_lost(&mut state, 7, 500);
        note_lost(&mut state, 7, 300);
        note_lost(&mut state, 7, 400);
        note_lost(&mut state, 8, 0);
        for database in 100..100 + LOST as u32 - 2 {
            note_lost(&mut state, database, 900);
        }
        assert_eq!(state.lost_low, None, "the list holds them all");
        note_lost(&mut state, 9, 600);
        note_lost(&mut state, 10, 700);
        note_lost(&mut state, 7, 200);
        assert_eq!(state.lost_low, Some(600), "the list is full: the lowest of the rest, for all");
        let (marks, low) = take_lost_from(&mut state);
        assert_eq!(marks.len(), LOST);
        assert!(marks.contains(&LostMark { database: 7, low_id: 200 }), "one entry, its lowest id");
        assert!(marks.contains(&LostMark { database: 8, low_id: 0 }));
        assert_eq!(low, Some(600));
        assert_eq!(take_lost_from(&mut state), (Vec::new(), None), "taken: emptied");
    }

    #[test]
    fn a_slot_with_a_mark_pending_taken_or_unsure_is_never_given_up() {
        let mut state = full(|i, s| match i % 3 {
            0 => s.pending = true,
            1 => s.taken = Some(5),
            _ => s.unsure = true,
        });
        assert!(slot_of(&mut state, 1000).is_none());
        assert!(state.slots.iter().all(|s| s.database != 1000));
    }
}
