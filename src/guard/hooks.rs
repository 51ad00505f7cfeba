//! FFI glue: installs nspg_guard's hooks and chains to whatever was installed before, so
//! pg_stat_statements, auto_explain and friends keep working whichever loads first. Each hook
//! only decides whether a guard applies and hands the work to the guard's module.
//!
//! Errors raised by the rest of the chain must reach the client exactly as PostgreSQL raised
//! them (CONTEXT, cursor position, constraint and table names). pgrx's guards would re-raise
//! them with only message, detail and hint, so each hook entry point is a plain old frame
//! (no `#[pg_guard]`, nothing to drop) that calls the chain through raw function pointers and
//! runs nspg_guard's own work in separate `#[pg_guard]` functions.

use crate::guard::{executor, utility};
use crate::pg::backend::{exempt, BackendCell, BackendLocal};
use crate::policy::audit_event::AuditClass;
use crate::trail::write;
use crate::pg::nesting;
use crate::pg::statement::{note_finishing_statement, note_statement, statement_text};
use pgrx::pg_guard;
use pgrx::pg_sys;

static mut PREV_PROCESS_UTILITY: pg_sys::ProcessUtility_hook_type = None;
static mut PREV_EXECUTOR_START: pg_sys::ExecutorStart_hook_type = None;
static mut PREV_EXECUTOR_FINISH: pg_sys::ExecutorFinish_hook_type = None;
static mut PREV_POST_PARSE_ANALYZE: pg_sys::post_parse_analyze_hook_type = None;
static mut PREV_OBJECT_ACCESS: pg_sys::object_access_hook_type = None;

/// PostgreSQL's standard implementations, declared here without pgrx's error-converting
/// wrapper (see the module comment).
mod raw {
    use pgrx::pg_sys::*;
    extern "C-unwind" {
        #[allow(clippy::too_many_arguments)]
        pub fn standard_ProcessUtility(
            pstmt: *mut PlannedStmt,
            query_string: *const std::ffi::c_char,
            read_only_tree: bool,
            context: ProcessUtilityContext::Type,
            params: ParamListInfo,
            query_env: *mut QueryEnvironment,
            dest: *mut DestReceiver,
            qc: *mut QueryCompletion,
        );
        pub fn standard_ExecutorStart(query_desc: *mut QueryDesc, eflags: std::ffi::c_int);
        pub fn standard_ExecutorFinish(query_desc: *mut QueryDesc);
    }
}

/// What the ProcessUtility calls in progress do once their statements succeed, innermost
/// last. A call whose statement fails never collects its entry; the next call that collects
/// one below it (or the next top-level statement) discards it.
static PENDING: BackendCell<Vec<utility::AfterSuccess>> = BackendCell::new(Vec::new());

/// How many entries PENDING holds, readable without touching it.
static PENDING_LEN: BackendLocal<usize> = BackendLocal::new(0);

/// `before_utility`'s answer when nothing follows the statement's success.
const NOTHING_PENDING: usize = usize::MAX;

/// Access auditing was on when a statement of this session started: an access audit may wait
/// for its finish (`access::note_finish`). Never cleared: it only keeps the finish guarded.
static ACCESS_NOTED: BackendLocal<bool> = BackendLocal::new(false);

/// Installs the hooks; from `_PG_init`, only while shared_preload_libraries is being processed
/// (a library loaded later, by CREATE EXTENSION or LOAD, would guard one backend at most).
pub unsafe fn install() {
    crate::pg::as_guard::install();
    // before ours: our hooks must run first and see the depth of the statement they judge
    nesting::install(on_top_level_run, on_fastpath_call);
    PREV_PROCESS_UTILITY = pg_sys::ProcessUtility_hook;
    pg_sys::ProcessUtility_hook = Some(process_utility);
    PREV_EXECUTOR_START = pg_sys::ExecutorStart_hook;
    pg_sys::ExecutorStart_hook = Some(executor_start);
    PREV_EXECUTOR_FINISH = pg_sys::ExecutorFinish_hook;
    pg_sys::ExecutorFinish_hook = Some(executor_finish);
    PREV_POST_PARSE_ANALYZE = pg_sys::post_parse_analyze_hook;
    pg_sys::post_parse_analyze_hook = Some(post_parse_analyze);
    PREV_OBJECT_ACCESS = pg_sys::object_access_hook;
    pg_sys::object_access_hook = Some(object_access);
    crate::guard::auth::install();
    crate::guard::log_lines::install();
    pg_sys::RegisterXactCallback(Some(on_xact), std::ptr::null_mut());
}

/// The one transaction callback, entered for every event of every transaction: a plain frame
/// that reads the per-backend flags of the parts with work at this event (each part's
/// `xact_pending`, true whenever it has work, is their union) and leaves at once when none has
/// any. One dispatch on the event for all parts: this runs twice in every transaction. A part
/// that comes to act at another event changes both its `xact_pending` and this match.
unsafe extern "C-unwind" fn on_xact(event: pg_sys::XactEvent::Type, _arg: *mut std::ffi::c_void) {
    use crate::guard::{admin_session, auth};
    use crate::trail::{database_events, seal, sealing_state};
    use pg_sys::XactEvent::*;
    let due = match event {
        XACT_EVENT_PRE_COMMIT => seal::xact_pending() || admin_session::pre_commit_due() || auth::pre_commit_due(),
        XACT_EVENT_COMMIT => {
            seal::xact_pending() || admin_session::end_due() || sealing_state::end_due() || auth::commit_due() || database_events::end_due()
        }
        XACT_EVENT_ABORT | XACT_EVENT_PREPARE => {
            seal::xact_pending() || admin_session::end_due() || sealing_state::end_due() || database_events::end_due()
        }
        XACT_EVENT_PRE_PREPARE => sealing_state::end_due(),
        // no part acts at the other events (seal::on_xact ignores them)
        _ => false,
    };
    if due {
        xact_parts(event);
    }
}

/// The parts whose flags say they have work (each asked again as its turn comes: an earlier part
/// may have changed them), in the order PostgreSQL called them when each was a callback of its
/// own (the last registered first): the admin session's (caps and escalation checks before
/// commit, terminations and registry changes after), the seal's (the chain's head as the
/// transaction leaves it), the sealing state's (marks the database of committed audit rows), the
/// login's, the database events' (a created or dropped database's sealing state). Out of line,
/// so that `on_xact` needs no frame to leave.
#[inline(never)]
unsafe fn xact_parts(event: pg_sys::XactEvent::Type) {
    if crate::guard::admin_session::xact_pending(event) {
        crate::guard::admin_session::on_xact(event);
    }
    if crate::trail::seal::xact_pending() {
        crate::trail::seal::on_xact(event);
    }
    if crate::trail::sealing_state::xact_pending(event) {
        crate::trail::sealing_state::on_xact(event);
    }
    if crate::guard::auth::xact_pending(event) {
        crate::guard::auth::on_xact(event);
    }
    if crate::trail::database_events::xact_pending(event) {
        crate::trail::database_events::on_xact(event);
    }
}

/// Each run of a client statement's portal, and each planning of a statement at depth 0 (in a
/// Bind message planning runs before any portal), called from csrc/nesting.c: a plain frame that
/// leaves at once for a session with nothing to hold.
unsafe extern "C-unwind" fn on_top_level_run() {
    if !crate::guard::admin_session::quiet() {
        before_top_level_run();
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn before_top_level_run() {
    if !exempt() {
        crate::guard::admin_session::before_run();
    }
}

/// A fastpath function call (the protocol's 'F' message) is a client statement of its own.
#[pg_guard]
unsafe extern "C-unwind" fn on_fastpath_call(function: pg_sys::Oid) {
    crate::guard::row_count::reset();
    if !exempt() {
        crate::guard::admin_session::before_statement(true, || {
            ("FASTPATH FUNCTION CALL".to_string(), format!("fastpath call of {}", crate::pg::text::function_name(function)))
        });
    }
}

#[allow(clippy::too_many_arguments)]
unsafe extern "C-unwind" fn process_utility(
    pstmt: *mut pg_sys::PlannedStmt,
    query_string: *const std::ffi::c_char,
    read_only_tree: bool,
    context: pg_sys::ProcessUtilityContext::Type,
    params: pg_sys::ParamListInfo,
    query_env: *mut pg_sys::QueryEnvironment,
    dest: *mut pg_sys::DestReceiver,
    qc: *mut pg_sys::QueryCompletion,
) {
    let top_level = nesting::top_level();
    let pending = if inert_and_quiet(pstmt, context) {
        note_inert_utility(pstmt, query_string, context, top_level)
    } else {
        before_utility(pstmt, query_string, context, top_level)
    };
    match PREV_PROCESS_UTILITY {
        Some(prev) => prev(pstmt, query_string, read_only_tree, context, params, query_env, dest, qc),
        None => raw::standard_ProcessUtility(pstmt, query_string, read_only_tree, context, params, query_env, dest, qc),
    }
    if pending != NOTHING_PENDING {
        after_utility(pending, if qc.is_null() { 0 } else { (*qc).nprocessed });
    } else if top_level && !crate::guard::admin_session::quiet() {
        after_top_level_utility();
    }
}

/// Transaction control, SHOW, cursors, PREPARE/EXECUTE, LISTEN…, SET of a setting no rule
/// watches, EXPLAIN of a query, ANALYZE (`utility::inert_when_quiet`) in a quiet session:
/// `before_utility` would judge nothing and file nothing. Field reads and cached flags.
unsafe fn inert_and_quiet(pstmt: *mut pg_sys::PlannedStmt, context: pg_sys::ProcessUtilityContext::Type) -> bool {
    context != pg_sys::ProcessUtilityContext::PROCESS_UTILITY_SUBCOMMAND
        && utility::inert_when_quiet((*pstmt).utilityStmt)
        && crate::guard::admin_session::quiet()
}

/// `before_utility` for an inert statement of a quiet session, in a plain frame: notes the client
/// statement and drops what earlier failed statements left pending.
unsafe fn note_inert_utility(
    pstmt: *mut pg_sys::PlannedStmt,
    query_string: *const std::ffi::c_char,
    context: pg_sys::ProcessUtilityContext::Type,
    top_level: bool,
) -> usize {
    if top_level {
        note_statement(query_string, pstmt);
        crate::guard::row_count::statement_starts(pstmt);
    }
    if context == pg_sys::ProcessUtilityContext::PROCESS_UTILITY_TOPLEVEL && PENDING_LEN.get() != 0 {
        PENDING.with(|p| p.borrow_mut().clear());
        PENDING_LEN.set(0);
    }
    NOTHING_PENDING
}

/// Judges the statement (raises if refused) and files what follows its success; returns where
/// to collect it, or NOTHING_PENDING.
#[pg_guard]
unsafe extern "C-unwind" fn before_utility(
    pstmt: *mut pg_sys::PlannedStmt,
    query_string: *const std::ffi::c_char,
    context: pg_sys::ProcessUtilityContext::Type,
    top_level: bool,
) -> usize {
    let judged = context != pg_sys::ProcessUtilityContext::PROCESS_UTILITY_SUBCOMMAND && !exempt();
    if top_level {
        note_statement(query_string, pstmt);
        crate::guard::row_count::statement_starts(pstmt);
    }
    if judged {
        crate::guard::admin_session::before_statement(top_level, || {
            (utility::command_tag((*pstmt).utilityStmt), statement_text(query_string, pstmt))
        });
    }
    let after = if judged { utility::check((*pstmt).utilityStmt, || statement_text(query_string, pstmt)) } else { None };
    if PENDING_LEN.get() == 0 && after.is_none() {
        return NOTHING_PENDING;
    }
    PENDING.with(|p| {
        let mut pending = p.borrow_mut();
        if context == pg_sys::ProcessUtilityContext::PROCESS_UTILITY_TOPLEVEL && !pending.is_empty() {
            pending.clear();
        }
        let at = match after {
            Some(after) => {
                pending.push(after);
                pending.len() - 1
            }
            None => NOTHING_PENDING,
        };
        PENDING_LEN.set(pending.len());
        at
    })
}

/// A client's own utility statement ended: the admin caps hold whatever it changed (a DO block
/// may have assigned set_config() in PL/pgSQL, which reaches neither hook).
#[pg_guard]
unsafe extern "C-unwind" fn after_top_level_utility() {
    if !exempt() {
        crate::guard::admin_session::after_statement(false);
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn after_utility(at: usize, rows: u64) {
    let after = PENDING.with(|p| {
        let mut pending = p.borrow_mut();
        let after = (at < pending.len()).then(|| pending.swap_remove(at));
        pending.truncate(at);
        PENDING_LEN.set(pending.len());
        after
    });
    if let Some(after) = after {
        utility::after_success(after, rows);
    }
}

unsafe extern "C-unwind" fn executor_start(query_desc: *mut pg_sys::QueryDesc, eflags: i32) {
    if !nothing_to_check_at_start(query_desc, eflags) {
        check_executor_start(query_desc, eflags);
    }
    match PREV_EXECUTOR_START {
        Some(prev) => prev(query_desc, eflags),
        None => raw::standard_ExecutorStart(query_desc, eflags),
    }
    if executor::may_change_rows((*query_desc).plannedstmt) {
        after_executor_start(query_desc, eflags);
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn after_executor_start(query_desc: *mut pg_sys::QueryDesc, eflags: i32) {
    if !exempt() {
        executor::watch(query_desc, eflags);
    }
}

unsafe extern "C-unwind" fn post_parse_analyze(
    pstate: *mut pg_sys::ParseState,
    query: *mut pg_sys::Query,
    jstate: *mut pg_sys::JumbleState,
) {
    if let Some(prev) = PREV_POST_PARSE_ANALYZE {
        prev(pstate, query, jstate);
    }
    // a plain SELECT, INSERT or utility statement leaves here (EXPLAIN and CREATE TABLE AS
    // carry a statement of their own)
    use pg_sys::CmdType::*;
    let judged = match (*query).commandType {
        CMD_UPDATE | CMD_DELETE | CMD_MERGE => !crate::guard::destructive::obviously_bounded(query),
        CMD_UTILITY => crate::guard::destructive::carries_changes((*query).utilityStmt),
        _ => (*query).hasModifyingCTE,
    };
    if judged {
        judge_analyzed(query);
    }
}

/// Marks the statement's unbounded UPDATE/DELETE/MERGE as written, whatever the guard's mode
/// (the mark is judged when the statement runs, perhaps much later from a cached plan).
#[pg_guard]
unsafe extern "C-unwind" fn judge_analyzed(query: *mut pg_sys::Query) {
    if !pg_sys::IsBinaryUpgrade {
        crate::guard::destructive::judge_analyzed(query);
    }
}

/// A plain SELECT (no data-modifying CTE) or an EXPLAIN without ANALYZE, in a quiet session with
/// access auditing off: `check_executor_start` would only note the client statement, so that is
/// done here, in a plain frame, and nothing else. Field reads and cached flags only.
unsafe fn nothing_to_check_at_start(query_desc: *mut pg_sys::QueryDesc, eflags: i32) -> bool {
    let stmt = (*query_desc).plannedstmt;
    let plain = eflags & pg_sys::EXEC_FLAG_EXPLAIN_ONLY as i32 != 0
        || (plain_select(stmt) && !write::audited(AuditClass::Access));
    if !plain || !crate::guard::admin_session::quiet() {
        return false;
    }
    note_client_statement((*query_desc).sourceText, stmt);
    true
}

/// A SELECT without data-modifying CTEs: it changes no rows itself.
unsafe fn plain_select(stmt: *mut pg_sys::PlannedStmt) -> bool {
    (*stmt).commandType == pg_sys::CmdType::CMD_SELECT && !(*stmt).hasModifyingCTE
}

/// A client statement (not a nested one) starts: note it, and start its row count afresh.
unsafe fn note_client_statement(source: *const std::ffi::c_char, pstmt: *mut pg_sys::PlannedStmt) -> bool {
    let top_level = nesting::top_level();
    if top_level {
        note_statement(source, pstmt);
        crate::guard::row_count::statement_starts(pstmt);
    }
    top_level
}

#[pg_guard]
unsafe extern "C-unwind" fn check_executor_start(query_desc: *mut pg_sys::QueryDesc, eflags: i32) {
    let (source, pstmt) = ((*query_desc).sourceText, (*query_desc).plannedstmt);
    let top_level = note_client_statement(source, pstmt);
    if write::audited(AuditClass::Access) {
        ACCESS_NOTED.set(true);
    }
    if !exempt() {
        crate::guard::admin_session::before_statement(top_level, || {
            (command_of(query_desc), statement_text(source, pstmt))
        });
        executor::check_start(query_desc, eflags);
    }
}

unsafe extern "C-unwind" fn executor_finish(query_desc: *mut pg_sys::QueryDesc) {
    match PREV_EXECUTOR_FINISH {
        Some(prev) => prev(query_desc),
        None => raw::standard_ExecutorFinish(query_desc),
    }
    if !finish_without_guard(query_desc) {
        check_executor_finish(query_desc);
    }
}

/// `check_executor_finish` in a plain frame when it can neither raise nor record: a quiet session
/// with no access audit pending and no catalog write watched, and either a plain SELECT with no
/// rows counted, or no row limit (`max_rows_per_statement` 0) and no override ever granted — then
/// only the statement's rows are counted (field reads and the count's own list).
unsafe fn finish_without_guard(query_desc: *mut pg_sys::QueryDesc) -> bool {
    let stmt = (*query_desc).plannedstmt;
    if ACCESS_NOTED.get() || crate::guard::catalog_writes::watching() || !crate::guard::admin_session::quiet() {
        return false;
    }
    if plain_select(stmt) && !crate::guard::row_count::counting() {
        note_finishing_statement((*query_desc).sourceText, stmt);
        return true;
    }
    if crate::pg::settings::MAX_ROWS_PER_STATEMENT.get() > 0 || !crate::guard::overrides::never_granted() {
        return false;
    }
    note_finishing_statement((*query_desc).sourceText, stmt);
    if !exempt() {
        crate::guard::row_count::count_primary(query_desc);
    }
    true
}

#[pg_guard]
unsafe extern "C-unwind" fn check_executor_finish(query_desc: *mut pg_sys::QueryDesc) {
    note_finishing_statement((*query_desc).sourceText, (*query_desc).plannedstmt);
    if !exempt() {
        executor::check_finish(query_desc);
        crate::guard::admin_session::after_statement(false);
    }
}

/// Every object PostgreSQL creates, alters, drops or truncates, every function about to be called
/// (the file-function fence) and every schema search (which leaves at once): a plain frame that
/// chains first (sepgsql may be there).
unsafe extern "C-unwind" fn object_access(
    access: pg_sys::ObjectAccessType::Type,
    class_id: pg_sys::Oid,
    object_id: pg_sys::Oid,
    sub_id: std::ffi::c_int,
    arg: *mut std::ffi::c_void,
) {
    if let Some(prev) = PREV_OBJECT_ACCESS {
        prev(access, class_id, object_id, sub_id, arg);
    }
    use pg_sys::ObjectAccessType::*;
    match access {
        OAT_FUNCTION_EXECUTE => crate::guard::file_functions::function_execute(object_id),
        OAT_POST_CREATE | OAT_POST_ALTER | OAT_DROP | OAT_TRUNCATE => {
            if access != OAT_POST_ALTER && access != OAT_TRUNCATE && class_id == pg_sys::ExtensionRelationId {
                crate::pg::extension_objects::extension_touched();
            }
            judge_object_access(access, class_id, object_id, arg)
        }
        _ => {}
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn judge_object_access(
    access: pg_sys::ObjectAccessType::Type,
    class_id: pg_sys::Oid,
    object_id: pg_sys::Oid,
    arg: *mut std::ffi::c_void,
) {
    crate::guard::tamper::check_object_access(access, class_id, object_id, arg);
}

unsafe fn command_of(query_desc: *mut pg_sys::QueryDesc) -> String {
    use pg_sys::CmdType::*;
    match (*query_desc).operation {
        CMD_SELECT => "SELECT",
        CMD_INSERT => "INSERT",
        CMD_UPDATE => "UPDATE",
        CMD_DELETE => "DELETE",
        CMD_MERGE => "MERGE",
        _ => "STATEMENT",
    }
    .to_string()
}
