//! The background writer ("nspg_guard audit writer"), one per cluster, connected to
//! `nspg_guard.audit_database`. Every half second, or when a backend queues an event, it
//! drains the queue into `nspg_guard.audit_log` and starts sealers for databases with rows
//! to seal (`sealer.rs`); it records each server start and clean stop; and it governs sessions no
//! statement of theirs will: admin sessions past their maximum duration or idle past their caps, and
//! break-glass grants that ran out.

use crate::api::{breakglass, incident};
use crate::guard::admin_session;
use crate::pg::admin_registry;
use crate::pg::as_guard::as_guard;
use crate::pg::backend::BackendCell;
use crate::pg::backend;
use crate::pg::database_worker;
use crate::pg::locked_roles;
use crate::pg::settings;
use crate::pg::subxact::{attempt, attempt_quietly};
use crate::pg::trail_tables::{audit_log_oid, breakglass_registry_exists};
use crate::policy::admin_limits;
use crate::policy::audit_event::AuditClass;
use crate::sealer;
use crate::trail::{config_events, queue, sealing_state, write};
use pgrx::bgworkers::{BackgroundWorker, BackgroundWorkerBuilder, BgWorkerStartTime, SignalWakeFlags};
use pgrx::prelude::*;
use pgrx::spi::Spi;
use std::time::Duration;

/// Expired grants the writer could not close yet and has reported (once each).
static HELD_EXPIRIES: BackendCell<Vec<i64>> = BackendCell::new(Vec::new());

/// Events the writer writes per transaction (each batch syncs the queue's position file once).
const BATCH: usize = 1000;
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
    write::mark_writer();
    bound_lock_waits();
    BackgroundWorker::transaction(|| queue::writer_start(committed));
    queue::set_writer_latch(Some(unsafe { std::ptr::addr_of_mut!((*pg_sys::MyProc).procLatch) }));
    sealing_state::set_writer_latch(Some(unsafe { std::ptr::addr_of_mut!((*pg_sys::MyProc).procLatch) }));
    record_server_start();
    let mut last_sweep = std::time::Instant::now();
    let mut last_expiry_look = std::time::Instant::now();
    drain();
    sealer::mark_all_databases();
    sealer::recover_lost_marks();
    sealer::launch();
    expire_grants(true);
    govern_lockdowns(true);
    while BackgroundWorker::wait_latch(Some(Duration::from_millis(500))) {
        if BackgroundWorker::sighup_received() {
            unsafe { pg_sys::ProcessConfigFile(pg_sys::GucContext::PGC_SIGHUP) };
            BackgroundWorker::transaction(config_events::at_reload);
        }
        drain();
        if last_sweep.elapsed() >= sealer::SWEEP_EVERY {
            last_sweep = std::time::Instant::now();
            sealer::sweep();
        }
        sealer::settle_prepared();
        sealer::look_for_reopened();
        sealer::recover_lost_marks();
        sealer::launch();
        // session governance: idle admin sessions past their limits, expired break-glass grants
        end_idle_admin_sessions();
        let look_anyway = last_expiry_look.elapsed() >= EXPIRY_LOOK_EVERY;
        if look_anyway {
            last_expiry_look = std::time::Instant::now();
        }
        expire_grants(look_anyway);
        govern_lockdowns(look_anyway);
    }
    drain();
    queue::set_writer_latch(None);
    sealing_state::set_writer_latch(None);
    record_server_stop();
    drain();
    queue::settle(true);
}

/// Writes queued events in batches (their commits mark the database for its sealer).
/// While a session holds a lock on the log (LOCK TABLE), or a batch cannot be written now,
/// nothing is waited for: the events stay queued until a later round.
fn drain() {
    loop {
        let batch = queue::next_batch(BATCH);
        if batch.is_empty() {
            break;
        }
        let outcome = BackgroundWorker::transaction(|| {
            if write::log_held() {
                return None;
            }
            let outcome = write::insert_queued(&batch.events);
            if outcome.is_some() {
                batch.prepare_commit();
            }
            outcome
        });
        let Some((written, skipped)) = outcome else { break };
        batch.committed(written, skipped);
    }
    queue::settle(false);
}

/// Did transaction `xid` commit? Unknown (too old for the commit log, or from the future after
/// a reset) counts as not: the batch is inserted again rather than lost.
fn committed(xid: u32) -> bool {
    let xid = pg_sys::TransactionId::from(xid);
    attempt_quietly(|| unsafe {
        let cache = pg_sys::ShmemVariableCache;
        pg_sys::TransactionIdIsNormal(xid)
            && !pg_sys::TransactionIdPrecedes(xid, (*cache).oldestClogXid)
            && pg_sys::TransactionIdPrecedes(xid, pg_sys::ReadNextTransactionId())
            && pg_sys::TransactionIdDidCommit(xid)
    })
    .unwrap_or(false)
}

/// Any lock the writer still has to wait for (a catalog row a session is changing, a table it
/// locked) is waited for this long at most; the unit of work that waited fails alone (see
/// `subxact::attempt`) and is tried again next round.
fn bound_lock_waits() {
    unsafe {
        pg_sys::SetConfigOption(c"lock_timeout".as_ptr(), c"1s".as_ptr(), pg_sys::GucContext::PGC_SUSET, pg_sys::GucSource::PGC_S_OVERRIDE);
    }
}

/// Each server start is a `config` event, with what is loaded and what ran since our last
/// recorded stop, judged from pg_control and our state file (`trail::config_events`).
fn record_server_start() {
    BackgroundWorker::transaction(|| {
        let trail_exists = audit_log_oid().is_some();
        let (library, sql) = versions();
        if trail_exists && sql.as_deref() != Some(library) {
            pgrx::warning!(
                "nspg_guard: library {library} runs with the SQL objects of version {} in this database; run ALTER EXTENSION nspg_guard UPDATE",
                sql.as_deref().unwrap_or("unknown")
            );
        }
        let versions = [("library_version", library.into()), ("extension_version", sql.into())];
        config_events::at_start(trail_exists, &versions);
    });
}

/// This library's version, and the version of the extension's SQL objects in this database.
/// A new library runs with the previous version's objects until ALTER EXTENSION … UPDATE (its
/// guards never wait for that; tests/shell/upgrade.sh holds it to this): the start row and a
/// WARNING say so meanwhile.
fn versions() -> (&'static str, Option<String>) {
    (env!("CARGO_PKG_VERSION"), crate::pg::trail_tables::extension_version())
}

/// A clean stop as the trail shows it; the state the next start is judged by is recorded by the
/// postmaster after the shutdown checkpoint (`config_events::install_stop_record`).
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

/// The writer's round of break-glass expiry: closes the grants that ran out, each in a
/// subtransaction of its own (one that fails is retried next round and stops no other), then
/// ends the requesters' sessions. A grant whose row a session holds is skipped, not waited for,
/// and its requester's sessions are ended meanwhile. Looks when a known expiry is due, and
/// every few seconds anyway; then also lets requests lapse that nobody decided within
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
        let mut pids = close_due(breakglass::Due::Expiry);
        // an emergency request nobody decided within the longest grant is stale: it lapses
        if look_anyway {
            pids.extend(close_due(breakglass::Due::Lapse));
        }
        // a failed look leaves the next expiry unknown: the look every few seconds finds it
        let next = attempt("looking up the next break-glass expiry", breakglass::next_expiry).flatten();
        admin_registry::next_expiry(next.unwrap_or(admin_registry::NO_EXPIRY), seen);
        pids
    });
    backend::terminate(&pids);
}

/// The writer's round of lockdowns: reloads the set of locked-down roles from the registry
/// every few seconds (shared memory starts empty after a restart), and rolls back their
/// prepared transactions: here, each in a transaction of its own; in another database, through
/// a short-lived worker connected to it (a prepared transaction is finished where it was made).
fn govern_lockdowns(look_anyway: bool) {
    if look_anyway {
        let seen = locked_roles::generation();
        BackgroundWorker::transaction(|| {
            if breakglass_registry_exists() {
                if let Some(roles) = attempt("reloading the locked-down roles", incident::locked_down) {
                    locked_roles::replace(&roles, seen);
                }
            }
        });
    }
    if !locked_roles::any() {
        return;
    }
    if look_anyway {
        end_late_logins();
    }
    let here = unsafe { pg_sys::MyDatabaseId };
    let mut elsewhere: Vec<u32> = roll_back_prepared_here().iter().map(|&d| d.to_u32()).filter(|&d| d != here.to_u32()).collect();
    elsewhere.sort_unstable();
    elsewhere.dedup();
    if look_anyway {
        for database in elsewhere {
            let started = database_worker::start("nspg_guard lockdown rollback", "nspg_guard_lockdown_rollback_main", database, false);
            if started.is_none() {
                pgrx::warning!("nspg_guard: could not start a worker to roll back prepared transactions of locked-down roles in database {database}; tried again in a few seconds");
            }
        }
    }
}

/// Ends the sessions of locked-down roles that can no longer log in, audited: a login that
/// landed while the lockdown's transaction was open and has sent nothing since (its next
/// statement would end it), or a physical walsender, which runs no statement to check at.
fn end_late_logins() {
    let ended = BackgroundWorker::transaction(|| {
        attempt("ending late logins of locked-down roles", || {
            let roles: Vec<pg_sys::Oid> = locked_roles::all().into_iter().filter(|&r| !backend::can_login(r)).collect();
            let ended: Vec<(pg_sys::Oid, Vec<i32>)> = roles.into_iter().map(|r| (r, as_guard(|| backend::sessions_of(r)))).filter(|(_, pids)| !pids.is_empty()).collect();
            for (role, pids) in &ended {
                if write::audited(AuditClass::Admin) {
                    let mut event = write::event(AuditClass::Admin, "session_ended");
                    event.command_tag = Some("SESSION END".into());
                    event.object_type = Some("role".into());
                    event.object_identity = Some(crate::pg::text::role_name(*role));
                    event.reason = Some("a session of a locked-down role that logged in while the lockdown was being made".into());
                    event.details = Some(serde_json::json!({ "sessions_ended": pids, "ended_by": "nspg_guard audit writer" }));
                    write::record_committed(event);
                }
            }
            ended.into_iter().flat_map(|(_, pids)| pids).collect::<Vec<i32>>()
        })
    })
    .unwrap_or_default();
    backend::terminate(&ended);
}

/// The short-lived worker of `govern_lockdowns`: rolls back, in the database it is started
/// for, the prepared transactions of locked-down roles, audited there, and exits.
#[pg_guard]
#[no_mangle]
pub extern "C-unwind" fn nspg_guard_lockdown_rollback_main(arg: pg_sys::Datum) {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGTERM);
    BackgroundWorker::connect_worker_to_spi_by_oid(Some(pg_sys::Oid::from(arg.value() as u32)), None);
    write::mark_writer();
    bound_lock_waits();
    roll_back_prepared_here();
}

/// Rolls back the prepared transactions of locked-down roles made in this database, each in a
/// transaction of its own; returns the databases of all of them.
fn roll_back_prepared_here() -> Vec<pg_sys::Oid> {
    let prepared = BackgroundWorker::transaction(|| attempt("listing prepared transactions of locked-down roles", incident::prepared_of_locked)).unwrap_or_default();
    let databases = prepared.iter().map(|p| p.database).collect();
    let here = unsafe { pg_sys::MyDatabaseId };
    for p in prepared.into_iter().filter(|p| p.database == here) {
        BackgroundWorker::transaction(|| attempt(&format!("rolling back prepared transaction \"{}\"", p.gid), || incident::roll_back_prepared(&p)));
    }
    databases
}

/// Closes the requests `due` now, one subtransaction each; returns the sessions to end. A grant
/// that ran out but cannot be closed yet (a session holds its row, or a lock its REVOKE needs:
/// lock_timeout) keeps its requester out: its membership is revoked without the row when it can
/// be, and the requester's sessions are ended every round until it closes — which also ends a
/// holder that is one of them. Reported once per request.
fn close_due(due: breakglass::Due) -> Vec<i32> {
    let mut pids = Vec::new();
    for request in attempt("listing due break-glass requests", || breakglass::due(due)).unwrap_or_default() {
        let id = request.id;
        let blocked = match attempt_quietly(|| breakglass::close_due(id, due)) {
            Ok(breakglass::Closing::Closed(ended)) => {
                pids.extend(ended);
                None
            }
            Ok(breakglass::Closing::NotDue) => None,
            Ok(breakglass::Closing::Held) => Some("a session holds its row".to_string()),
            Err(message) => Some(message),
        };
        let Some(blocked) = blocked else {
            HELD_EXPIRIES.with(|h| h.borrow_mut().retain(|&held| held != id));
            continue;
        };
        if !matches!(due, breakglass::Due::Expiry) {
            pgrx::warning!("nspg_guard: closing break-glass request {id} failed, tried again next round: {blocked}");
            continue;
        }
        if HELD_EXPIRIES.with(|h| !h.borrow().contains(&id)) {
            pgrx::warning!("nspg_guard: break-glass request {id} ran out but cannot be closed yet ({blocked}); its requester's sessions are ended every round until it expires");
            if attempt("auditing a held break-glass expiry", || breakglass::record_expiry_held(&request, &blocked)).is_some() {
                HELD_EXPIRIES.with(|h| h.borrow_mut().push(id));
            }
        }
        // the registry row can wait; the power cannot (a REVOKE needs no lock on the row)
        attempt("revoking a held break-glass grant that ran out", || as_guard(|| breakglass::revoke_ran_out(id)));
        pids.extend(attempt("listing a requester's sessions", || as_guard(|| backend::sessions_of(request.requester_oid))).unwrap_or_default());
    }
    pids
}
