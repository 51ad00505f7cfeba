//! A bounded lock wait for the incident levers and `breakglass_end()`: they take locks a user's
//! session can hold (the requester's pg_auth_members row, by an open REVOKE), and an admin's
//! lever must not wait on the very session it acts against.

use crate::pg::errors::fail;
use pgrx::pg_sys::{self, errcodes::PgSqlErrorCode};
use pgrx::PgTryBuilder;
use std::panic::AssertUnwindSafe;

/// The longest a lever waits for a lock (milliseconds), and as the setting's text.
const LEVER_LOCK_TIMEOUT_MS: i32 = 2000;
const LEVER_LOCK_TIMEOUT: &std::ffi::CStr = c"2000ms";

/// Runs `work` with lock_timeout at most `LEVER_LOCK_TIMEOUT_MS`, in a GUC nest level of its
/// own (the caller's setting is back afterwards, and on an ERROR the transaction's abort undoes
/// it). When a lock is not granted in time (55P03), `meanwhile` does what needs no lock (ends
/// the sessions, one of which holds it) and the lever fails with 55P03 and `hint`: the caller
/// runs it again; nothing of `work` is left done.
pub fn bounded<R>(what: &str, hint: &str, work: impl FnOnce() -> R, meanwhile: impl FnOnce()) -> R {
    let level = unsafe { pg_sys::NewGUCNestLevel() };
    let current = unsafe { pg_sys::LockTimeout };
    if current == 0 || current > LEVER_LOCK_TIMEOUT_MS {
        unsafe {
            pg_sys::set_config_option(
                c"lock_timeout".as_ptr(),
                LEVER_LOCK_TIMEOUT.as_ptr(),
                pg_sys::GucContext::PGC_USERSET,
                pg_sys::GucSource::PGC_S_SESSION,
                pg_sys::GucAction::GUC_ACTION_SAVE,
                true,
                0,
                false,
            )
        };
    }
    let meanwhile = std::cell::Cell::new(Some(meanwhile));
    let meanwhile = AssertUnwindSafe(&meanwhile);
    PgTryBuilder::new(AssertUnwindSafe(|| {
        let result = work();
        unsafe { pg_sys::AtEOXact_GUC(true, level) };
        result
    }))
    .catch_when(PgSqlErrorCode::ERRCODE_LOCK_NOT_AVAILABLE, |caught| {
        if let Some(meanwhile) = meanwhile.take() {
            meanwhile();
        }
        let cause = match &caught {
            pg_sys::panic::CaughtError::PostgresError(e) | pg_sys::panic::CaughtError::ErrorReport(e) => e.message().to_string(),
            pg_sys::panic::CaughtError::RustPanic { ereport, .. } => ereport.message().to_string(),
        };
        fail(PgSqlErrorCode::ERRCODE_LOCK_NOT_AVAILABLE, format!("nspg_guard: {what} did not get a lock within {LEVER_LOCK_TIMEOUT_MS} ms: {cause}"), hint)
    })
    .execute()
}
