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

/// Getters of backend state that cannot raise an error, called directly on the per-statement
/// path (pgrx's bindings enter a guard with sigsetjmp for every call).
mod raw {
    extern "C" {
        pub fn GetUserId() -> pgrx::pg_sys::Oid;
        pub fn GetSessionUserId() -> pgrx::pg_sys::Oid;
        pub fn GetCurrentStatementStartTimestamp() -> pgrx::pg_sys::TimestampTz;
        pub fn stack_is_too_deep() -> bool;
    }
}

/// PostgreSQL's check_stack_depth() (ERROR 54001 when the stack is too deep) for every level of
/// a walk: the cheap test first, the guarded call that raises only when it will.
pub fn check_stack_depth() {
    if unsafe { raw::stack_is_too_deep() } {
        unsafe { pgrx::pg_sys::check_stack_depth() };
    }
}

/// The current and the session user.
pub fn users() -> (pgrx::pg_sys::Oid, pgrx::pg_sys::Oid) {
    unsafe { (raw::GetUserId(), raw::GetSessionUserId()) }
}

/// When the current client message began (PostgreSQL's statement_timestamp()).
pub fn statement_start() -> pgrx::pg_sys::TimestampTz {
    unsafe { raw::GetCurrentStatementStartTimestamp() }
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
