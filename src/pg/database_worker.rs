//! Starting a dynamic background worker of nspg_guard connected to one database (the sealers,
//! the lockdown rollback): the same registration for each, only its name and entry point differ.

use pgrx::bgworkers::{BackgroundWorkerBuilder, BgWorkerStartTime, DynamicBackgroundWorker};
use pgrx::pg_sys;

/// Starts `function` of this library as worker `kind` for `database` (never restarted); with
/// `notify_me`, this process hears when it starts and stops. None when no worker slot is free.
pub fn start(kind: &str, function: &str, database: u32, notify_me: bool) -> Option<DynamicBackgroundWorker> {
    let mut builder = BackgroundWorkerBuilder::new(kind);
    builder = builder
        .set_type(kind)
        .set_function(function)
        .set_library("nspg_guard")
        .set_argument(Some(pg_sys::Datum::from(database)))
        .enable_spi_access()
        .set_start_time(BgWorkerStartTime::RecoveryFinished)
        .set_restart_time(None);
    if notify_me {
        builder = builder.set_notify_pid(unsafe { pg_sys::MyProcPid });
    }
    builder.load_dynamic().ok()
}
