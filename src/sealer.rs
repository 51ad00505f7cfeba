//! The sealers ("nspg_guard sealer"): dynamic background workers, one per database with rows
//! to seal, at most `MAX_SEALERS` at a time, started by the writer (`worker.rs`) for each
//! database a commit marked (`trail::sealing_state`), and for every database once at server
//! start (rows left unsealed before it). A prepared transaction's database is marked once the
//! transaction has ended (`settle_prepared`). A sealer seals its database in batches, one
//! transaction each (`trail::seal`), and exits once nothing is marked for a while.

use crate::pg::as_guard::as_guard;
use crate::pg::backend::BackendCell;
use crate::pg::database_worker;
use crate::pg::syscache;
use crate::pg::subxact::attempt;
use crate::trail::anchor;
use crate::trail::database_events;
use crate::trail::seal::{self, Outcome};
use crate::trail::sealing_state;
use pgrx::bgworkers::{BackgroundWorker, DynamicBackgroundWorker, SignalWakeFlags};
use pgrx::prelude::*;
use std::time::Duration;

/// Sealers running at once (each holds a worker slot: max_worker_processes).
const MAX_SEALERS: usize = 4;
/// A sealer with nothing marked this long exits (well within the 5 s DROP DATABASE waits for
/// other connections to the database to end).
const IDLE_EXIT: Duration = Duration::from_secs(1);
/// A sealer's round: each costs a transaction, a few planned queries and a synced anchor file,
/// so under steady load rows are sealed in batches of this many milliseconds' commits.
const ROUND: Duration = Duration::from_millis(500);
/// How often the writer sweeps a database whose prepared rows were not tracked (`sweep`).
pub const SWEEP_EVERY: Duration = Duration::from_secs(60);
/// The shortest time between two sealers started for one database (a sealer with work stays at
/// least `IDLE_EXIT` after it, so this holds back only sealers that exit at once).
const RESTART_PAUSE: Duration = Duration::from_secs(1);
/// The same while the last sealer found nothing it may do there (a broken chain, another
/// version's objects): the next only looks whether that changed (the chain was put back, say).
const PARKED_PAUSE: Duration = Duration::from_secs(10);

/// The writer's sealers: (database oid, handle).
static RUNNING: BackendCell<Vec<(u32, DynamicBackgroundWorker)>> = BackendCell::new(Vec::new());
/// When the writer last started a sealer for each database (kept for `PARKED_PAUSE`).
static STARTED: BackendCell<Vec<(u32, std::time::Instant)>> = BackendCell::new(Vec::new());

/// The writer marks every database that takes connections (at start), so that rows left
/// unsealed are sealed; a database without the extension is forgotten by its sealer. Templates
/// are left alone: a sealer connected to one would make CREATE DATABASE from it wait.
/// Transactions still prepared from before the start are tracked from their database's first
/// row (their lowest id was in the memory of the server that stopped).
pub fn mark_all_databases() {
    let ((databases, closed), prepared) = BackgroundWorker::transaction(|| {
        attempt("listing databases to seal", || {
            as_guard(|| {
                Spi::connect(|client| {
                    let databases = list_databases(client)?;
                    let rows = client.select(
                        "SELECT d.oid, p.transaction::pg_catalog.text FROM pg_catalog.pg_prepared_xacts p
                           JOIN pg_catalog.pg_database d ON d.datname OPERATOR(pg_catalog.=) p.database",
                        None,
                        &[],
                    )?;
                    let prepared = rows
                        .into_iter()
                        .map(|r| Ok((r.get::<pg_sys::Oid>(1)?.map_or(0, |o| o.to_u32()), r.get::<String>(2)?.and_then(|x| x.parse::<u32>().ok()))))
                        .collect::<Result<Vec<(u32, Option<u32>)>, pgrx::spi::SpiError>>()?;
                    Ok::<_, pgrx::spi::SpiError>((databases, prepared))
                })
            })
        })
        .and_then(Result::ok)
        .unwrap_or_default()
    });
    for (database, xid) in prepared {
        if let Some(xid) = xid {
            sealing_state::note_prepared(database, xid, 0);
        }
    }
    for database in databases {
        sealing_state::mark(database, 0);
    }
    // the others may hold rows left unsealed too: looked at whole once they may be sealed
    for database in closed {
        note_closed(database, 0);
    }
    forget_dropped_anchors();
}

/// Every database, as (those a sealer may connect to, the others): the same test as
/// `syscache::database_sealable`, in SQL.
fn list_databases(client: &pgrx::spi::SpiClient<'_>) -> Result<(Vec<u32>, Vec<u32>), pgrx::spi::SpiError> {
    let rows = client.select(
        "SELECT oid, datallowconn AND NOT datistemplate AND datconnlimit OPERATOR(pg_catalog.<>) -2 FROM pg_catalog.pg_database",
        None,
        &[],
    )?;
    let mut listed = (Vec::new(), Vec::new());
    for row in rows {
        let database = row.get::<pg_sys::Oid>(1)?.map_or(0, |o| o.to_u32());
        if row.get::<bool>(2)?.unwrap_or(false) { &mut listed.0 } else { &mut listed.1 }.push(database);
    }
    Ok(listed)
}

/// Databases the writer may not seal now (templates, those closed to connections, invalid ones),
/// each with the lowest id it was marked from: marked again once they may be sealed, however
/// that came (ALTER DATABASE, prepared or not, an UPDATE of pg_database). The writer's own.
static CLOSED: BackendCell<Vec<(u32, i64)>> = BackendCell::new(Vec::new());
/// How often the writer looks whether one of them was opened.
const REOPEN_LOOK: Duration = Duration::from_secs(2);
static LAST_REOPEN_LOOK: BackendCell<Option<std::time::Instant>> = BackendCell::new(None);

/// The writer's round (every `REOPEN_LOOK`): marks the closed databases that may be sealed now,
/// and forgets the dropped ones.
pub fn look_for_reopened() {
    let due = LAST_REOPEN_LOOK.with(|l| {
        let mut l = l.borrow_mut();
        let due = l.is_none_or(|at| at.elapsed() >= REOPEN_LOOK);
        if due {
            *l = Some(std::time::Instant::now());
        }
        due
    });
    if !due || CLOSED.with(|c| c.borrow().is_empty()) {
        return;
    }
    let closed = CLOSED.with(|c| std::mem::take(&mut *c.borrow_mut()));
    let looked: Vec<(u32, i64, Option<bool>)> =
        BackgroundWorker::transaction(|| closed.into_iter().map(|(d, low)| (d, low, syscache::database_sealable(pg_sys::Oid::from(d)))).collect());
    for (database, low, state) in looked {
        match state {
            Some(true) => sealing_state::mark(database, low),
            Some(false) => note_closed(database, low),
            None => {}
        }
    }
}

/// `database` may not be sealed now; rows from id `low` on wait for it to be opened.
fn note_closed(database: u32, low: i64) {
    CLOSED.with(|c| {
        let mut c = c.borrow_mut();
        match c.iter_mut().find(|(d, _)| *d == database) {
            Some(entry) => entry.1 = entry.1.min(low),
            None => c.push((database, low)),
        }
    });
}

/// Marks lost to a full slot table for databases not known one by one
/// (`sealing_state::take_lost`) being given again: every database from the lowest lost id, as
/// slots free up. The writer's own.
static RECOVERING: BackendCell<Option<(i64, Vec<u32>)>> = BackendCell::new(None);

/// The writer's round: marks lost because every database's slot was busy are given again,
/// as many as find a slot now, the rest in later rounds, once sealers have freed some. Each
/// database's own, from its own lowest id; when more databases lost marks than that list holds,
/// every database from the lowest id lost (whose marks they were is not known).
pub fn recover_lost_marks() {
    let (marks, lost_everywhere) = sealing_state::take_lost();
    for mark in marks {
        // lost again while the table is still full: kept for a later round
        sealing_state::mark(mark.database, mark.low_id);
    }
    if let Some(low) = lost_everywhere {
        let listed =
            BackgroundWorker::transaction(|| attempt("listing databases to seal", || as_guard(|| Spi::connect(list_databases))).and_then(Result::ok));
        let Some((databases, closed)) = listed else {
            // tried again next round
            sealing_state::lost_everywhere(low);
            return;
        };
        // a lost mark may have been a closed database's: sealed once it is opened
        for database in closed {
            note_closed(database, low);
        }
        RECOVERING.with(|r| {
            let mut r = r.borrow_mut();
            let low = r.as_ref().map_or(low, |(l, _)| low.min(*l));
            *r = Some((low, databases));
        });
    }
    RECOVERING.with(|r| {
        let mut r = r.borrow_mut();
        if let Some((low, databases)) = r.as_mut() {
            let placed = databases.iter().take_while(|&&database| sealing_state::try_mark(database, *low)).count();
            databases.drain(..placed);
            if databases.is_empty() {
                *r = None;
            }
        }
    });
}

/// The periodic sweep: a database with prepared rows not tracked is looked at whole once more,
/// and the slots and anchor files of dropped databases are freed (else they would fill the
/// table, and a later database given the same oid would find an anchor not its own).
pub fn sweep() {
    for database in sealing_state::unsure() {
        sealing_state::mark(database, 0);
    }
    sealable(sealing_state::tracked());
    forget_dropped_anchors();
}

/// Removes the anchor files of databases that no longer exist.
fn forget_dropped_anchors() {
    let Ok(anchored) = anchor::databases() else { return };
    let dropped: Vec<u32> =
        BackgroundWorker::transaction(|| anchored.into_iter().filter(|&d| syscache::database_sealable(pg_sys::Oid::from(d)).is_none()).collect());
    for database in dropped {
        anchor::forget(database);
    }
}

/// Those of `databases` a sealer may connect to now. The others lose their state: a dropped
/// one its anchor file too; one that takes no connections, is invalid or is a template (never
/// sealed: its copies seal the rows they get) is kept in `CLOSED` until it is opened. A sealer
/// could not connect there, or would hold up CREATE DATABASE from the template; and a kept
/// mark would hold its slot for good.
fn sealable(databases: Vec<u32>) -> Vec<u32> {
    if databases.is_empty() {
        return databases;
    }
    let looked: Vec<(u32, Option<bool>)> =
        BackgroundWorker::transaction(|| databases.into_iter().map(|d| (d, syscache::database_sealable(pg_sys::Oid::from(d)))).collect());
    let mut sealable = Vec::new();
    for (database, state) in looked {
        match state {
            Some(true) => sealable.push(database),
            Some(false) => {
                if let Some(low) = sealing_state::drop_database(database) {
                    note_closed(database, low);
                }
            }
            None => database_events::forget(database),
        }
    }
    sealable
}

/// The writer's round: the database of each prepared transaction that wrote audit rows and has
/// ended since (COMMIT or ROLLBACK PREPARED, in any session) is marked for its sealer.
pub fn settle_prepared() {
    if !sealing_state::any_prepared() {
        return;
    }
    BackgroundWorker::transaction(sealing_state::settle_prepared);
}

/// The writer's round: starts sealers for marked databases that have none running, the one that
/// waited longest first. A database gets a new sealer at most once a second, and every 10 s
/// while it is parked: a sealer that finds nothing it may do (a broken chain, another version's
/// objects) exits at once, and every commit would otherwise start the next one — a process per
/// commit. When marked databases wait while all sealers run, a sealer leaves as soon as it has
/// sealed (`sealing_state::set_waiting`) instead of staying for more of its own.
pub fn launch() {
    RUNNING.with(|running| {
        let mut running = running.borrow_mut();
        running.retain(|(database, handle)| {
            let stopped = matches!(handle.pid(), Err(pgrx::bgworkers::BackgroundWorkerStatus::Stopped));
            if stopped {
                // a mark it took and did not finish (an error, a crash, a chain it may not seal onto)
                sealing_state::give_back(*database);
            }
            !stopped
        });
        STARTED.with(|started| {
            let mut started = started.borrow_mut();
            started.retain(|(_, at)| at.elapsed() < PARKED_PAUSE);
            let last_start = |database: u32| started.iter().find(|(d, _)| *d == database).map(|(_, at)| *at);
            let mut due: Vec<u32> = sealing_state::pending()
                .into_iter()
                .filter(|database| !running.iter().any(|(d, _)| d == database))
                .filter(|&database| {
                    let pause = if sealing_state::is_parked(database) { PARKED_PAUSE } else { RESTART_PAUSE };
                    // else the mark stays: a later round starts it
                    last_start(database).is_none_or(|at| at.elapsed() >= pause)
                })
                .collect();
            // never started (within the pause kept) first, then the longest ago: a database
            // marked in every round does not keep the others waiting
            due.sort_by_key(|&database| last_start(database));
            // a database dropped with its mark pending would get a sealer that cannot connect, every second
            let due = sealable(due);
            let mut waiting = 0;
            for database in due {
                if running.len() >= MAX_SEALERS {
                    waiting += 1;
                    continue;
                }
                let started_now = database_worker::start("nspg_guard sealer", "nspg_guard_audit_sealer_main", database, true);
                match started_now {
                    Some(handle) => {
                        running.push((database, handle));
                        started.retain(|(d, _)| *d != database);
                        started.push((database, std::time::Instant::now()));
                    }
                    // no free worker slot: the mark stays, the next round tries again
                    None => {
                        waiting += 1;
                        no_worker_slot();
                    }
                }
            }
            sealing_state::set_waiting(waiting > 0);
        })
    });
}

/// When the writer last said that no background worker slot was free for a sealer.
static NO_SLOT_SAID: BackendCell<Option<std::time::Instant>> = BackendCell::new(None);
const NO_SLOT_SAY_EVERY: Duration = Duration::from_secs(60);

/// Sealers come from the same max_worker_processes pool as parallel query workers, which any
/// role can fill: say so in the log (once a minute), with what to set.
fn no_worker_slot() {
    NO_SLOT_SAID.with(|said| {
        let mut said = said.borrow_mut();
        if said.is_none_or(|at| at.elapsed() >= NO_SLOT_SAY_EVERY) {
            *said = Some(std::time::Instant::now());
            pgrx::warning!(
                "nspg_guard: no background worker slot is free for an audit sealer, rows wait to be sealed: keep \
                 max_parallel_workers at least {} below max_worker_processes (the writer, {MAX_SEALERS} sealers and the \
                 logical replication launcher), more if other extensions start workers",
                MAX_SEALERS + 2
            );
        }
    });
}

#[pg_guard]
#[no_mangle]
pub extern "C-unwind" fn nspg_guard_audit_sealer_main(arg: pg_sys::Datum) {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGHUP | SignalWakeFlags::SIGTERM);
    let database = arg.value() as u32;
    BackgroundWorker::connect_worker_to_spi_by_oid(Some(pg_sys::Oid::from(database)), None);
    unsafe {
        // a session's LOCK TABLE on the trail delays sealing, it does not stall the sealer
        pg_sys::SetConfigOption(c"lock_timeout".as_ptr(), c"1s".as_ptr(), pg_sys::GucContext::PGC_SUSET, pg_sys::GucSource::PGC_S_OVERRIDE);
        // a database's default isolation (ALTER DATABASE … SET) would give each batch one
        // snapshot, and seal_batch seals nothing in such a transaction
        pg_sys::SetConfigOption(
            c"default_transaction_isolation".as_ptr(),
            c"read committed".as_ptr(),
            pg_sys::GucContext::PGC_SUSET,
            pg_sys::GucSource::PGC_S_OVERRIDE,
        );
    }
    let mut idle_since = std::time::Instant::now();
    loop {
        if let Some(low) = sealing_state::take(database) {
            match seal_from(database, low) {
                Some(true) => {
                    sealing_state::done(database);
                    // other databases wait for a sealer: give this one's place up now
                    if sealing_state::others_waiting() {
                        return;
                    }
                    idle_since = std::time::Instant::now();
                }
                // nothing this sealer may do: the writer gives its mark back once it stopped
                Some(false) => {
                    sealing_state::park(database);
                    return;
                }
                None => {
                    // failed (a lock wait ran out): the rows stay marked for a later try
                    sealing_state::give_back(database);
                    std::thread::sleep(Duration::from_millis(500));
                }
            }
        } else if idle_since.elapsed() >= IDLE_EXIT {
            return;
        }
        if !BackgroundWorker::wait_latch(Some(ROUND)) {
            return;
        }
    }
}

/// Seals `database` from id `low` on, a batch per transaction: Some(true) when done, Some(false)
/// when there is nothing this sealer can do, None when a batch failed.
fn seal_from(database: u32, mut low: i64) -> Option<bool> {
    loop {
        let outcome = BackgroundWorker::transaction(|| attempt("sealing the audit trail", || seal::seal_batch(low, seal::BATCH)))?;
        match outcome {
            Outcome::NoTrail => {
                sealing_state::forget(database);
                return Some(false);
            }
            Outcome::Broken | Outcome::OtherVersion => return Some(false),
            Outcome::Sealed { next_low, more, .. } => {
                low = next_low;
                if !more {
                    return Some(true);
                }
            }
        }
    }
}
