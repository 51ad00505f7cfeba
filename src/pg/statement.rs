//! The client statement running now, for refusals and audit rows: its text alone, not the rest
//! of a multi-statement query string, and for a nested statement the client statement that ran
//! it. The hooks note it as each client statement starts (`guard::hooks`); nothing is copied
//! until someone asks.

use crate::pg::backend::{statement_start, BackendLocal};
use pgrx::pg_sys;
use std::ffi::c_char;

/// The client statement running now: its query string, where it starts and how long it is,
/// and the statement start time it was noted at (a pointer is only trusted within that
/// statement: `current_statement`).
static STATEMENT: BackendLocal<(*const c_char, i32, i32, i64)> = BackendLocal::new((std::ptr::null(), 0, 0, 0));

/// Notes the client statement starting now (no copy: only a refusal reads it). nspg_guard's own
/// SQL, run from a hook while a client statement is at depth 0, is not the client's.
pub unsafe fn note_statement(source: *const c_char, pstmt: *mut pg_sys::PlannedStmt) {
    if crate::pg::as_guard::internal() {
        return;
    }
    STATEMENT.set((source, (*pstmt).stmt_location, (*pstmt).stmt_len, statement_start()));
}

/// A client statement's portal can finish in a later protocol message, even while its
/// transaction commits (an extended-protocol portal closed at Sync): it is still the statement
/// a refusal names.
pub unsafe fn note_finishing_statement(source: *const c_char, pstmt: *mut pg_sys::PlannedStmt) {
    let (noted, location, _, _) = STATEMENT.get();
    if crate::pg::nesting::top_level() || (!source.is_null() && source == noted && location == (*pstmt).stmt_location) {
        note_statement(source, pstmt);
    }
}

/// The text of the client statement running now — that statement alone, not the rest of a
/// multi-statement query string; nested statements give the client statement that ran them.
pub fn current_statement() -> Option<String> {
    let (source, location, len, noted_at) = STATEMENT.get();
    unsafe {
        if !source.is_null() && noted_at == statement_start() {
            return Some(text_at(source, location, len));
        }
        // a later protocol message of the same statement (Execute after Bind): the whole text
        // is that one statement
        let whole = pg_sys::debug_query_string;
        (!whole.is_null()).then(|| text_at(whole, 0, 0))
    }
}

/// The text of this one statement within a possibly multi-statement query string.
pub unsafe fn statement_text(query_string: *const c_char, pstmt: *mut pg_sys::PlannedStmt) -> String {
    if query_string.is_null() {
        return String::new();
    }
    text_at(query_string, (*pstmt).stmt_location, (*pstmt).stmt_len)
}

/// `len` bytes of `query_string` from `location` (the rest of it when `len` is 0), trimmed.
unsafe fn text_at(query_string: *const c_char, location: i32, len: i32) -> String {
    let all = std::ffi::CStr::from_ptr(query_string).to_bytes();
    let start = (location.max(0) as usize).min(all.len());
    let end = if len > 0 { start.saturating_add(len as usize).min(all.len()) } else { all.len() };
    String::from_utf8_lossy(&all[start..end]).trim().to_string()
}

/// What identifies the statement running now and the data it sees: the local transaction, the
/// statement's start and the command id. Work a statement repeats over unchanged data (the lint's
/// rules verifying the same chain, analysing the same policies) is keyed by it.
pub fn data_key() -> (u32, i64, u32) {
    unsafe {
        let lxid = if pg_sys::MyProc.is_null() { 0 } else { (*pg_sys::MyProc).lxid };
        (lxid, pg_sys::GetCurrentStatementStartTimestamp(), pg_sys::GetCurrentCommandId(false))
    }
}
