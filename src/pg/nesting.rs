//! How deep the current statement is nested (csrc/nesting.c counts it, as pg_stat_statements
//! does): 0 for a client's own statement on every protocol path — a simple query, each
//! statement of a multi-statement string, Bind/Execute of the extended protocol, each message
//! of a pipeline — and more inside functions, DO, procedures, triggers and utility statements
//! that run others.

extern "C" {
    static nspg_guard_nesting: std::ffi::c_int;
    fn nspg_guard_install_nesting();
    fn nspg_guard_arm_statement_timeout();
}

/// The current statement's depth (see the module comment).
pub fn depth() -> i32 {
    unsafe { nspg_guard_nesting }
}

/// Is the statement starting now one of the client's own (not nested in another)?
pub fn top_level() -> bool {
    depth() == 0
}

/// Installs the counting hooks; before nspg_guard's own, so that those run first.
pub unsafe fn install() {
    nspg_guard_install_nesting();
}

/// Starts the statement timer when `statement_timeout` was raised to a value only after the
/// statement began (PostgreSQL arms it when a statement starts): see `admin_session`.
pub fn arm_statement_timeout() {
    unsafe { nspg_guard_arm_statement_timeout() }
}
