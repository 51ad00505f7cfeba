//! One unit of the writer's work that may fail without taking the others (or the writer) with
//! it: an internal subtransaction, rolled back on any ERROR, as a PL/pgSQL exception block
//! does. An ERROR that escaped would end the background worker's transaction and the process.

use pgrx::pg_sys;
use pgrx::PgTryBuilder;
use std::panic::AssertUnwindSafe;

/// Runs `work` in a subtransaction; on an ERROR rolls it back, logs a WARNING naming `what`
/// and returns None (what it changed is undone; the next round tries again).
pub fn attempt<R>(what: &str, work: impl FnOnce() -> R) -> Option<R> {
    attempt_quietly(work).map_err(|message| pgrx::warning!("nspg_guard: {what} failed, tried again next round: {message}")).ok()
}

/// `attempt` without the WARNING: the ERROR's message, for a caller that reports it once.
pub fn attempt_quietly<R>(work: impl FnOnce() -> R) -> Result<R, String> {
    let (context, owner) = unsafe { (pg_sys::CurrentMemoryContext, pg_sys::CurrentResourceOwner) };
    unsafe { pg_sys::BeginInternalSubTransaction(std::ptr::null()) };
    let restore = move || unsafe {
        pg_sys::MemoryContextSwitchTo(context);
        pg_sys::CurrentResourceOwner = owner;
    };
    PgTryBuilder::new(AssertUnwindSafe(|| {
        let result = work();
        unsafe { pg_sys::ReleaseCurrentSubTransaction() };
        restore();
        Ok(result)
    }))
    .catch_others(|caught| {
        restore();
        unsafe { pg_sys::RollbackAndReleaseCurrentSubTransaction() };
        restore();
        let message = match &caught {
            pgrx::pg_sys::panic::CaughtError::PostgresError(e) | pgrx::pg_sys::panic::CaughtError::ErrorReport(e) => e.message().to_string(),
            pgrx::pg_sys::panic::CaughtError::RustPanic { ereport, .. } => ereport.message().to_string(),
        };
        Err(message)
    })
    .execute()
}
