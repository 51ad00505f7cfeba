//! How deep the current statement is nested (csrc/nesting.c counts it, as pg_stat_statements
//! does): 0 for a client's own statement on every protocol path — a simple query, each
//! statement of a multi-statement string, Bind/Execute of the extended protocol, each message
//! of a pipeline — and more inside functions, DO, procedures, triggers and utility statements
//! that run others. A client's statement runs in a portal: what runs at depth 0 outside one is
//! PostgreSQL planning or committing (deferred triggers), not the client's statement.
//!
//! The C side also calls back at each run of a client statement's portal (every Execute message),
//! at each planning at depth 0 (planning in a Bind message runs functions before any portal), and
//! at each fastpath function call (the protocol's 'F' message), which no other hook sees.

extern "C" {
    static mut nspg_guard_on_top_level_run: Option<unsafe extern "C-unwind" fn()>;
    static mut nspg_guard_on_fastpath_call: Option<unsafe extern "C-unwind" fn(pgrx::pg_sys::Oid)>;
    fn nspg_guard_install_nesting();
    fn nspg_guard_arm_statement_timeout();
    static nspg_guard_nesting: std::ffi::c_int;
}

/// Is the statement starting now one of the client's own (not nested in another)? The C side's
/// nspg_guard_top_level(), read here without a call: depth 0, in a portal.
#[inline]
pub fn top_level() -> bool {
    unsafe { nspg_guard_nesting == 0 && !pgrx::pg_sys::ActivePortal.is_null() }
}

/// Installs the counting hooks, before nspg_guard's own so that those run first, with what to
/// call at each run of a client statement and at each fastpath function call.
pub unsafe fn install(
    on_top_level_run: unsafe extern "C-unwind" fn(),
    on_fastpath_call: unsafe extern "C-unwind" fn(pgrx::pg_sys::Oid),
) {
    nspg_guard_install_nesting();
    nspg_guard_on_top_level_run = Some(on_top_level_run);
    nspg_guard_on_fastpath_call = Some(on_fastpath_call);
}

/// Starts the statement timer when `statement_timeout` was raised to a value only after the
/// statement began (PostgreSQL arms it when a statement starts): see `admin_session`.
pub fn arm_statement_timeout() {
    unsafe { nspg_guard_arm_statement_timeout() }
}
