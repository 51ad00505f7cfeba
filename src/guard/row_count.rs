//! The blast-radius counter behind `nspg_guard.max_rows_per_statement`: every row a client
//! statement updates or deletes, at every nesting level — its own, its writable CTEs', the
//! conflict path of `INSERT … ON CONFLICT DO UPDATE`, and what triggers, rules and foreign-key
//! actions change (they run as nested executor runs) — per table, for the message.
//!
//! PostgreSQL counts the rows of a statement's own ModifyTable node (es_processed, MERGE's
//! counters): those are added when the statement finishes (`count_primary`). Writable CTEs' nodes
//! and upserts (whose conflict path is counted only into instrumentation) are counted as they run:
//! after ExecutorStart their node function is wrapped (`watch`); the wrapper lets a CTE's node
//! count into es_processed for the length of its call and takes the count back out. The counter starts
//! at zero with each client statement and each transaction (a procedure that commits its
//! batches starts afresh), and a rolled-back savepoint takes its rows back out. Rows changed
//! under `allow_destructive()` are covered by it and not counted.

use crate::guard::overrides;
use crate::pg::backend::{BackendCell, BackendLocal};
use crate::pg::objects;
use crate::policy::destructive::Changed;
use pgrx::pg_sys::{self, CmdType, NodeTag};
use pgrx::PgList;
use std::sync::atomic::{AtomicBool, Ordering};

/// Rows changed per (table, command), in the order first seen.
type Rows = Vec<(pg_sys::Oid, &'static str, u64)>;

/// The count of the client statement running now, valid in the transaction it was made in (a
/// procedure that commits its batches starts afresh with each).
struct Count {
    lxid: pg_sys::LocalTransactionId,
    rows: Rows,
    warned: bool,
}

static COUNT: BackendCell<Count> = BackendCell::new(Count { lxid: 0, rows: Vec::new(), warned: false });
/// The rows counted as each open savepoint (or exception block) started, innermost last.
static SAVED: BackendCell<Vec<(pg_sys::LocalTransactionId, pg_sys::SubTransactionId, Rows)>> = BackendCell::new(Vec::new());

/// Whether anything is counted (or warned) since the last reset: lets `reset` and the savepoint
/// callback leave at once on the usual path. A backend is one thread.
static ANY: AtomicBool = AtomicBool::new(false);

/// PostgreSQL's ModifyTable node function, which the wrapper calls (the same for every node).
static EXEC_MODIFY_TABLE: BackendLocal<pg_sys::ExecProcNodeMtd> = BackendLocal::new(None);

/// Registers the savepoint callback; from `_PG_init` at preload.
pub unsafe fn install() {
    pg_sys::RegisterSubXactCallback(Some(on_subxact), std::ptr::null_mut());
}

fn current_transaction() -> pg_sys::LocalTransactionId {
    unsafe { (*pg_sys::MyProc).lxid }
}

/// The count of this transaction (an older one's is dropped first).
fn with_count<T>(f: impl FnOnce(&mut Count) -> T) -> T {
    let now = current_transaction();
    COUNT.with(|c| {
        let mut c = c.borrow_mut();
        if c.lxid != now {
            c.lxid = now;
            c.rows.clear();
            c.warned = false;
        }
        f(&mut c)
    })
}

/// A client statement's query starts (at depth 0): the first of its portal starts the count
/// afresh; the others a rule added to it (run in the same portal) go on counting.
///
/// # Safety
/// `pstmt` is the statement starting now.
pub unsafe fn statement_starts(pstmt: *mut pg_sys::PlannedStmt) {
    let portal = pg_sys::ActivePortal;
    if !portal.is_null() {
        let stmts = (*portal).stmts;
        if !stmts.is_null() && (*stmts).length > 1 && (*(*stmts).elements).ptr_value as *mut pg_sys::PlannedStmt != pstmt {
            return;
        }
    }
    reset();
}

/// A client statement starts: nothing counted yet.
pub fn reset() {
    if ANY.swap(false, Ordering::Relaxed) {
        COUNT.with(|c| {
            let mut c = c.borrow_mut();
            c.rows.clear();
            c.warned = false;
        });
    }
}

/// Has anything been counted (or warned) since the client statement began? When not, no limit
/// can be passed.
pub fn counting() -> bool {
    ANY.load(Ordering::Relaxed)
}

/// Is this the statement's first warning? (Notes that it was given.)
pub fn first_warning() -> bool {
    ANY.store(true, Ordering::Relaxed);
    with_count(|c| !std::mem::replace(&mut c.warned, true))
}

unsafe extern "C-unwind" fn on_subxact(
    event: pg_sys::SubXactEvent::Type,
    subxact: pg_sys::SubTransactionId,
    _parent: pg_sys::SubTransactionId,
    _arg: *mut std::ffi::c_void,
) {
    use pg_sys::SubXactEvent::*;
    if !ANY.load(Ordering::Relaxed) {
        return;
    }
    let now = current_transaction();
    match event {
        SUBXACT_EVENT_START_SUB => {
            let rows = with_count(|c| c.rows.clone());
            SAVED.with(|s| s.borrow_mut().push((now, subxact, rows)));
        }
        SUBXACT_EVENT_COMMIT_SUB | SUBXACT_EVENT_ABORT_SUB => {
            let saved = SAVED.with(|s| {
                let mut s = s.borrow_mut();
                s.retain(|(lxid, _, _)| *lxid == now);
                let at = s.iter().rposition(|(_, id, _)| *id == subxact)?;
                let saved = s.drain(at..).next().map(|(_, _, rows)| rows);
                saved
            });
            if event == SUBXACT_EVENT_ABORT_SUB {
                // no snapshot: nothing was counted when it started
                let rows = saved.unwrap_or_default();
                with_count(|c| c.rows = rows);
            }
        }
        _ => {}
    }
}

/// Rows counted so far in this client statement.
pub fn total() -> u64 {
    if !ANY.load(Ordering::Relaxed) {
        return 0;
    }
    with_count(|c| c.rows.iter().map(|(_, _, rows)| rows).sum())
}

/// The counted rows per table, named (for a refusal).
pub fn changed() -> Vec<Changed> {
    let rows = with_count(|c| c.rows.clone());
    rows.into_iter()
        .map(|(relid, command, rows)| Changed { command, relation: unsafe { objects::relation_name(relid) }, rows })
        .collect()
}

/// After ExecutorStart: wraps the node function of each ModifyTable that can change existing
/// rows — the statement's own and its writable CTEs'.
///
/// # Safety
/// `query_desc` has been through ExecutorStart.
pub unsafe fn watch(query_desc: *mut pg_sys::QueryDesc) {
    let estate = (*query_desc).estate;
    if estate.is_null() {
        return;
    }
    let top = (*query_desc).planstate;
    let aux = PgList::<pg_sys::PlanState>::from_pg((*estate).es_auxmodifytables).iter_ptr().collect::<Vec<_>>();
    for node in std::iter::once(top).chain(aux) {
        if node.is_null() || (*node).type_ != NodeTag::T_ModifyTableState {
            continue;
        }
        let mt = node as *mut pg_sys::ModifyTableState;
        let upsert = (*mt).operation == CmdType::CMD_INSERT && is_upsert(mt);
        // the statement's own UPDATE/DELETE/MERGE is counted when it finishes (`count_primary`)
        if !upsert && ((*mt).operation == CmdType::CMD_INSERT || (*mt).canSetTag) {
            continue;
        }
        if EXEC_MODIFY_TABLE.get().is_none() {
            EXEC_MODIFY_TABLE.set((*node).ExecProcNodeReal);
        }
        // Another extension's node function is left alone (its rows go uncounted).
        let address = |f: pg_sys::ExecProcNodeMtd| f.map(|f| f as usize);
        if address((*node).ExecProcNodeReal) != address(EXEC_MODIFY_TABLE.get()) {
            continue;
        }
        if upsert && (*node).instrument.is_null() {
            // The conflict path counts its rows only into instrumentation (ntuples2): rows only,
            // no timing, in the query's memory.
            let old = pg_sys::MemoryContextSwitchTo((*estate).es_query_cxt);
            (*node).instrument = pg_sys::InstrAlloc(1, pg_sys::InstrumentOption::INSTRUMENT_ROWS as i32, false);
            pg_sys::MemoryContextSwitchTo(old);
        }
        (*node).ExecProcNodeReal = Some(counted_modify_table);
    }
}

unsafe fn is_upsert(mt: *mut pg_sys::ModifyTableState) -> bool {
    let plan = (*mt).ps.plan as *mut pg_sys::ModifyTable;
    !plan.is_null() && (*plan).onConflictAction == pg_sys::OnConflictAction::ONCONFLICT_UPDATE
}

/// Conflict-path updates so far: handled conflicts less those DO UPDATE … WHERE skipped.
unsafe fn conflict_updates(node: *mut pg_sys::PlanState) -> f64 {
    let i = (*node).instrument;
    if i.is_null() { 0.0 } else { (*i).ntuples2 - (*i).nfiltered1 }
}

/// The wrapped node function: a plain frame (errors pass through it untouched), the count
/// recorded by a guarded function after the node returns.
unsafe extern "C-unwind" fn counted_modify_table(node: *mut pg_sys::PlanState) -> *mut pg_sys::TupleTableSlot {
    let mt = node as *mut pg_sys::ModifyTableState;
    let estate = (*node).state;
    let primary = (*mt).canSetTag;
    let processed_before = (*estate).es_processed;
    let merged_before = (*mt).mt_merge_updated + (*mt).mt_merge_deleted;
    let conflicts_before = conflict_updates(node);
    (*mt).canSetTag = true;
    let slot = match EXEC_MODIFY_TABLE.get() {
        Some(exec) => exec(node),
        None => std::ptr::null_mut(),
    };
    let processed = (*estate).es_processed - processed_before;
    if !primary {
        (*mt).canSetTag = false;
        (*estate).es_processed = processed_before;
    }
    let rows = match (*mt).operation {
        CmdType::CMD_UPDATE | CmdType::CMD_DELETE => processed,
        CmdType::CMD_MERGE => ((*mt).mt_merge_updated + (*mt).mt_merge_deleted - merged_before) as u64,
        _ => (conflict_updates(node) - conflicts_before) as u64,
    };
    if rows > 0 {
        record(mt, rows);
    }
    slot
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn record(mt: *mut pg_sys::ModifyTableState, rows: u64) {
    add(mt, rows);
}

/// ExecutorFinish: the rows of the statement's own UPDATE, DELETE or MERGE node, which
/// PostgreSQL counted itself (es_processed; MERGE's inserts apart).
///
/// # Safety
/// `query_desc` has run.
pub unsafe fn count_primary(query_desc: *mut pg_sys::QueryDesc) {
    let node = (*query_desc).planstate;
    if node.is_null() || (*node).type_ != NodeTag::T_ModifyTableState {
        return;
    }
    let mt = node as *mut pg_sys::ModifyTableState;
    if !(*mt).canSetTag {
        return; // wrapped and counted as it ran
    }
    let rows = match (*mt).operation {
        CmdType::CMD_UPDATE | CmdType::CMD_DELETE => (*(*query_desc).estate).es_processed,
        CmdType::CMD_MERGE => ((*mt).mt_merge_updated + (*mt).mt_merge_deleted) as u64,
        _ => return,
    };
    if rows > 0 {
        add(mt, rows);
    }
}

/// Adds a node's rows to the count, unless `allow_destructive()` covers them.
unsafe fn add(mt: *mut pg_sys::ModifyTableState, rows: u64) {
    if overrides::active() {
        return;
    }
    let command = match (*mt).operation {
        CmdType::CMD_UPDATE => "UPDATE",
        CmdType::CMD_DELETE => "DELETE",
        CmdType::CMD_MERGE => "MERGE",
        _ => "INSERT … ON CONFLICT DO UPDATE",
    };
    let info = if (*mt).rootResultRelInfo.is_null() { (*mt).resultRelInfo } else { (*mt).rootResultRelInfo };
    let relid = if info.is_null() || (*info).ri_RelationDesc.is_null() {
        pg_sys::InvalidOid
    } else {
        (*(*info).ri_RelationDesc).rd_id
    };
    ANY.store(true, Ordering::Relaxed);
    with_count(|c| match c.rows.iter_mut().find(|(r, cmd, _)| *r == relid && *cmd == command) {
        Some(entry) => entry.2 += rows,
        None => c.rows.push((relid, command, rows)),
    });
}
