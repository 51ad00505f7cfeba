//! FFI glue: installs nspg_guard's hooks and chains to whatever was installed before, so
//! pg_stat_statements, auto_explain and friends keep working whichever loads first. Each hook
//! only decides whether a guard applies and hands the work to the guard's module.

use crate::{executor, utility};
use pgrx::pg_guard;
use pgrx::pg_sys;
use std::sync::atomic::{AtomicBool, Ordering};

static mut PREV_PROCESS_UTILITY: pg_sys::ProcessUtility_hook_type = None;
static mut PREV_EXECUTOR_START: pg_sys::ExecutorStart_hook_type = None;
static mut PREV_EXECUTOR_FINISH: pg_sys::ExecutorFinish_hook_type = None;
static HOOKS_ACTIVE: AtomicBool = AtomicBool::new(false);

/// True when the library was preloaded and its hooks are in place in this process.
pub fn active() -> bool {
    HOOKS_ACTIVE.load(Ordering::Relaxed)
}

/// Installs the hooks. Only meaningful while shared_preload_libraries is being processed:
/// a library loaded later (by CREATE EXTENSION or LOAD) would guard one backend at most.
pub unsafe fn install() {
    if !pg_sys::process_shared_preload_libraries_in_progress {
        return;
    }
    PREV_PROCESS_UTILITY = pg_sys::ProcessUtility_hook;
    pg_sys::ProcessUtility_hook = Some(process_utility);
    PREV_EXECUTOR_START = pg_sys::ExecutorStart_hook;
    pg_sys::ExecutorStart_hook = Some(executor_start);
    PREV_EXECUTOR_FINISH = pg_sys::ExecutorFinish_hook;
    pg_sys::ExecutorFinish_hook = Some(executor_finish);
    crate::auth::install();
    crate::audit_queue::init();
    HOOKS_ACTIVE.store(true, Ordering::Relaxed);
}

/// Statements the guards never judge: extension scripts (the CREATE/ALTER EXTENSION that runs
/// them was judged), pg_upgrade's binary-upgrade mode, parallel workers (their leader was),
/// and logical replication apply (it replays changes the publisher already judged).
unsafe fn exempt() -> bool {
    pg_sys::creating_extension
        || pg_sys::IsBinaryUpgrade
        || pg_sys::ParallelWorkerNumber >= 0
        || pg_sys::IsLogicalWorker()
}

#[pg_guard]
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
    // Sub-commands (CREATE SCHEMA's elements, a table's index) belong to a statement judged already.
    let judged = context != pg_sys::ProcessUtilityContext::PROCESS_UTILITY_SUBCOMMAND && !exempt();
    let after_success = judged.then(|| utility::check((*pstmt).utilityStmt, &statement_text(query_string, pstmt)));
    match PREV_PROCESS_UTILITY {
        Some(prev) => pg_sys::ffi::pg_guard_ffi_boundary(|| {
            prev(pstmt, query_string, read_only_tree, context, params, query_env, dest, qc)
        }),
        None => pg_sys::standard_ProcessUtility(pstmt, query_string, read_only_tree, context, params, query_env, dest, qc),
    }
    if let Some(after) = after_success {
        utility::after_success(after);
    }
}

/// The text of this one statement within a possibly multi-statement query string.
unsafe fn statement_text(query_string: *const std::ffi::c_char, pstmt: *mut pg_sys::PlannedStmt) -> String {
    if query_string.is_null() {
        return String::new();
    }
    let all = std::ffi::CStr::from_ptr(query_string).to_string_lossy();
    let start = (*pstmt).stmt_location.max(0) as usize;
    let end = match (*pstmt).stmt_len {
        len if len > 0 => start + len as usize,
        _ => all.len(),
    };
    all.get(start..end.min(all.len())).unwrap_or(&all).trim().to_string()
}

#[pg_guard]
unsafe extern "C-unwind" fn executor_start(query_desc: *mut pg_sys::QueryDesc, eflags: i32) {
    if !exempt() {
        executor::check_start(query_desc, eflags);
    }
    match PREV_EXECUTOR_START {
        Some(prev) => pg_sys::ffi::pg_guard_ffi_boundary(|| prev(query_desc, eflags)),
        None => pg_sys::standard_ExecutorStart(query_desc, eflags),
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn executor_finish(query_desc: *mut pg_sys::QueryDesc) {
    match PREV_EXECUTOR_FINISH {
        Some(prev) => pg_sys::ffi::pg_guard_ffi_boundary(|| prev(query_desc)),
        None => pg_sys::standard_ExecutorFinish(query_desc),
    }
    if !exempt() {
        executor::check_finish(query_desc);
    }
}
