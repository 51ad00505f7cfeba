//! The background writer ("nspg_guard audit writer"), one per cluster, connected to
//! `nspg_guard.audit_database`. Every half second, or when a backend queues an event, it
//! drains the queue into `nspg_guard.audit_log` and seals new rows into the hash chain
//! (`trail/`); it records each server start and clean stop; and it governs sessions no
//! statement of theirs will: admin sessions past their maximum duration or idle past their caps, and
//! break-glass grants that ran out.

use crate::api::breakglass;
use crate::guard::admin_session;
use crate::pg::admin_registry;
use crate::pg::as_guard::as_guard;
use crate::pg::backend;
use crate::pg::settings;
use crate::pg::trail_tables::{audit_log_oid, breakglass_registry_exists};
use crate::policy::admin_limits;
use crate::policy::audit_event::AuditClass;
use crate::trail::{queue, write};
use pgrx::bgworkers::{BackgroundWorker, BackgroundWorkerBuilder, BgWorkerStartTime, SignalWakeFlags};
use pgrx::prelude::*;
use pgrx::spi::Spi;
use std::time::Duration;

/// Events the writer writes per transaction.
const BATCH: usize = 256;
/// How often the writer seals looking at the whole table, not just at the rows after the last
/// sealed one (a row whose transaction committed long after later rows is sealed then).
const FULL_SEAL_EVERY: Duration = Duration::from_secs(60);
/// How often the writer looks for expired break-glass grants even when none is known to be due
/// (a grant approved while it was computing the next expiry is caught by this).
const EXPIRY_LOOK_EVERY: Duration = Duration::from_secs(5);

/// Registers the writer; from `_PG_init` at preload, after the queue it drains.
pub fn register() {
    BackgroundWorkerBuilder::new("nspg_guard audit writer")
        .set_type("nspg_guard audit writer")
        .set_function("nspg_guard_audit_writer_main")
        .set_library("nspg_guard")
        .enable_spi_access()
        // the worker writes rows, so it waits for a read-write server (a promoted standby too)
        .set_start_time(BgWorkerStartTime::RecoveryFinished)
        .set_restart_time(Some(Duration::from_secs(1)))
        .load();
}

#[pg_guard]
#[no_mangle]
pub extern "C-unwind" fn nspg_guard_audit_writer_main(_arg: pg_sys::Datum) {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGHUP | SignalWakeFlags::SIGTERM);
    let database = settings::text_of(&settings::AUDIT_DATABASE);
    BackgroundWorker::connect_worker_to_spi(Some(&database), None);
    queue::set_writer_latch(Some(unsafe { std::ptr::addr_of_mut!((*pg_sys::MyProc).procLatch) }));
    record_server_start();
    let mut last_full_seal = std::time::Instant::now();
    let mut last_expiry_look = std::time::Instant::now();
    drain_and_seal(true);
    expire_grants(true);
    while BackgroundWorker::wait_latch(Some(Duration::from_millis(500))) {
        if BackgroundWorker::sighup_received() {
            unsafe { pg_sys::ProcessConfigFile(pg_sys::GucContext::PGC_SIGHUP) };
        }
        let everything = last_full_seal.elapsed() >= FULL_SEAL_EVERY;
        if everything {
            last_full_seal = std::time::Instant::now();
        }
        drain_and_seal(everything);
        // session governance: idle admin sessions past their limits, expired break-glass grants
        end_idle_admin_sessions();
        let look_anyway = last_expiry_look.elapsed() >= EXPIRY_LOOK_EVERY;
        if look_anyway {
            last_expiry_look = std::time::Instant::now();
        }
        expire_grants(look_anyway);
    }
    drain_and_seal(false);
    queue::set_writer_latch(None);
    record_server_stop();
    drain_and_seal(true);
}

/// Writes queued events in batches, then seals whatever was committed since the last round.
fn drain_and_seal(everything: bool) {
    loop {
        let batch = queue::pop_batch(BATCH);
        let n = batch.len() as u64;
        if n == 0 {
            break;
        }
        let written = BackgroundWorker::transaction(move || write::insert_queued(&batch));
        queue::count_written(n, written);
    }
    BackgroundWorker::transaction(move || write::seal(everything));
}

/// Each server start is a `config` event, with what is loaded and enough of pg_control to
/// notice that the server ran in between without nspg_guard (see README).
fn record_server_start() {
    BackgroundWorker::transaction(|| {
        if audit_log_oid().is_none() {
            return;
        }
        let details = as_guard(|| Spi::get_one::<pgrx::JsonB>("SELECT nspg_guard._server_start_details()"));
        let mut e = write::event(AuditClass::Config, "started");
        e.command_tag = Some("SERVER START".into());
        e.details = details.ok().flatten().map(|j| j.0);
        write::record_always(e);
    });
}

/// A clean stop, with the WAL position, for the next start to compare.
fn record_server_stop() {
    BackgroundWorker::transaction(|| {
        if audit_log_oid().is_none() {
            return;
        }
        let lsn = as_guard(|| Spi::get_one::<String>("SELECT pg_catalog.pg_current_wal_insert_lsn()::pg_catalog.text")).ok().flatten();
        let mut e = write::event(AuditClass::Config, "stopped");
        e.command_tag = Some("SERVER STOP".into());
        e.details = Some(serde_json::json!({ "wal_lsn": lsn }));
        write::record_always(e);
    });
}

/// The writer's round: ends admin sessions past the maximum duration whatever they are doing
/// (a running statement, a DO loop that commits, a Parse/Bind without Sync: the maximum bounds
/// power, not idleness), and admin sessions idle longer than their caps (their own timers can
/// have been switched off by a route no hook sees), audited.
fn end_idle_admin_sessions() {
    let limits = admin_limits::Limits {
        max_duration_s: settings::ADMIN_SESSION_MAX_DURATION.get(),
        idle_session_ms: settings::ADMIN_IDLE_SESSION_TIMEOUT.get(),
        idle_in_transaction_ms: settings::ADMIN_IDLE_IN_TRANSACTION_TIMEOUT.get(),
    };
    if limits.max_duration_s <= 0 && limits.idle_session_ms <= 0 && limits.idle_in_transaction_ms <= 0 {
        return;
    }
    let candidates = admin_registry::started_before(i64::MAX);
    if candidates.is_empty() {
        return;
    }
    BackgroundWorker::transaction(|| {
        let now = unsafe { pg_sys::GetCurrentTimestamp() };
        let query = format!(
            "SELECT a.pid, a.usename::pg_catalog.text, a.client_addr::pg_catalog.text, a.client_port, a.application_name,
                    a.datname::pg_catalog.text, a.backend_start::pg_catalog.text, a.state, a.backend_start, a.state_change,
                    EXISTS (SELECT FROM pg_catalog.pg_stat_replication r
                             WHERE r.pid OPERATOR(pg_catalog.=) a.pid AND r.state OPERATOR(pg_catalog.<>) 'startup')
               FROM pg_catalog.pg_stat_activity a
              WHERE a.pid OPERATOR(pg_catalog.=) ANY($1) AND {}",
            backend::SESSION_BACKENDS
        );
        let ended = as_guard(|| Spi::connect(|client| {
            let rows = client.select(&query, None, &[candidates.clone().into()])?;
            let mut ended = Vec::new();
            for row in rows {
                let state = row.get::<String>(8)?;
                let activity = match state.as_deref() {
                    _ if row.get::<bool>(11)? == Some(true) => admin_limits::Activity::Replicating,
                    Some("idle") => admin_limits::Activity::Idle,
                    Some("idle in transaction" | "idle in transaction (aborted)") => admin_limits::Activity::IdleInTransaction,
                    _ => admin_limits::Activity::Other,
                };
                let micros = |t: Option<pgrx::datum::TimestampWithTimeZone>| t.map_or(now, |t| t.into_inner());
                let (started, since) = (micros(row.get(9)?), micros(row.get(10)?));
                let Some(why) = admin_limits::writer_end(activity, started, since, now, limits) else { continue };
                let pid = row.get::<i32>(1)?.unwrap_or(0);
                let mut event = write::event(AuditClass::Admin, "session_ended");
                event.command_tag = Some("SESSION END".into());
                event.reason = Some(match why {
                    admin_limits::WriterEnd::MaxDuration => format!(
                        "admin session older than nspg_guard.admin_session_max_duration ({})",
                        admin_limits::show_ms(i64::from(limits.max_duration_s) * 1000)
                    ),
                    admin_limits::WriterEnd::Timeout(timeout) => format!(
                        "admin session idle longer than {} allows ({})",
                        timeout.cap_setting(),
                        admin_limits::show_ms(i64::from(admin_session::cap_ms(timeout)))
                    ),
                });
                event.session_user = row.get::<String>(2)?;
                event.current_user = None;
                event.client_addr = row.get::<String>(3)?;
                event.client_port = row.get::<i32>(4)?;
                event.application_name = row.get::<String>(5)?;
                event.database = row.get::<String>(6)?;
                event.backend_pid = pid;
                event.details = Some(serde_json::json!({
                    "session_started": row.get::<String>(7)?,
                    "state": state,
                    "ended_by": "nspg_guard audit writer"
                }));
                ended.push((pid, event));
            }
            Ok::<_, pgrx::spi::Error>(ended)
        }))
        .unwrap_or_else(|e| {
            pgrx::warning!("nspg_guard: could not look for admin sessions to end: {e}");
            Vec::new()
        });
        for (pid, event) in ended {
            if write::audited(AuditClass::Admin) {
                write::record_committed(event);
            }
            backend::terminate(&[pid]);
            admin_registry::forget(pid);
        }
    });
}

/// The writer's round of break-glass expiry: closes the grants that ran out (in a transaction of
/// its own), then ends the requesters' sessions. Looks when a known expiry is due, and every
/// few seconds anyway; then also lets requests lapse that nobody decided within
/// `breakglass_max_duration`.
fn expire_grants(look_anyway: bool) {
    let now = unsafe { pg_sys::GetCurrentTimestamp() };
    if !look_anyway && !admin_registry::expiry_due(now) {
        return;
    }
    let seen = admin_registry::next_expiry_now();
    let pids = BackgroundWorker::transaction(|| {
        if !breakglass_registry_exists() {
            admin_registry::next_expiry(admin_registry::NO_EXPIRY, seen);
            return Vec::new();
        }
        let pids = breakglass::expire_ran_out();
        // an emergency request nobody decided within the longest grant is stale: it lapses
        if look_anyway {
            breakglass::lapse_undecided();
        }
        admin_registry::next_expiry(breakglass::next_expiry().unwrap_or(admin_registry::NO_EXPIRY), seen);
        pids
    });
    backend::terminate(&pids);
}
