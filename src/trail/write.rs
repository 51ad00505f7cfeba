//! Writing audit events. Two routes, chosen by what the event is:
//! - **committed actions** (a schema, privilege or role change, a TRUNCATE or DROP, …) are
//!   inserted in the acting transaction, so the row commits or rolls back with the action:
//!   no row claims success for work that rolled back, and a crash loses no committed row;
//! - **asynchronous events** (refusals, logins, overrides) must outlive an aborted transaction:
//!   they are logged at once and queued for the background writer (`queue`, `worker.rs`).
//!
//! On a read-only server or transaction, or where the extension is not installed, the table
//! cannot take the row in-transaction, so the event goes to the server log (and the queue).

use crate::pg::as_guard::as_guard;
use crate::pg::backend::{BackendCell, BackendLocal};
use crate::pg::settings;
use crate::pg::subxact::attempt_quietly;
use crate::pg::text::{existing_role_name, text};
use crate::policy::audit_event::{self, AuditClass, AuditEvent};
use crate::policy::redact;
use crate::trail::queue;
use crate::trail::row;
use pgrx::pg_sys;
use pgrx::spi::Spi;
use std::collections::VecDeque;

/// An event about the current backend: who, from where, when. With access auditing an event
/// is built per audited statement, so what a backend can reuse (names, session id) is.
pub fn event(class: AuditClass, outcome: &str) -> AuditEvent {
    unsafe {
        let port = pg_sys::libpq::be::MyProcPort;
        let (client_addr, client_port) = if port.is_null() {
            (None, None)
        } else {
            let addr = text((*port).remote_host).filter(|h| h != "[local]");
            (addr, text((*port).remote_port).and_then(|p| p.parse().ok()))
        };
        let (user, session_user, _) = crate::pg::backend::users();
        AuditEvent {
            event_time: audit_event::iso_timestamp(crate::pg::backend::now()),
            class: class.as_str().to_string(),
            outcome: outcome.to_string(),
            session_user: role_name(session_user),
            current_user: role_name(user),
            client_addr,
            client_port,
            application_name: text(pg_sys::application_name),
            database: database_name(),
            backend_pid: pg_sys::MyProcPid,
            session_id: Some(session_id()),
            xid: crate::pg::backend::top_transaction_id().map(i64::from),
            ..AuditEvent::default()
        }
    }
}

/// A role's name, remembered until a role changes (pg_authid invalidations move
/// `standing::current_generation`): every event names two.
fn role_name(role: pg_sys::Oid) -> Option<String> {
    let generation = crate::pg::standing::current_generation().0;
    ROLE_NAMES.with(|names| {
        let mut names = names.borrow_mut();
        if names.0 != generation {
            *names = (generation, Recent::new(8));
        }
        if let Some(name) = names.1.get(|oid| *oid == role) {
            return name;
        }
        let name = existing_role_name(role);
        names.1.insert(role, name.clone());
        name
    })
}

/// The last few (key, value) pairs a backend computed, oldest dropped first: a short list, read
/// front to back, is cheaper than the lookups and parses it saves.
struct Recent<K, V> {
    capacity: usize,
    items: VecDeque<(K, V)>,
}

impl<K, V: Clone> Recent<K, V> {
    const fn new(capacity: usize) -> Self {
        Recent { capacity, items: VecDeque::new() }
    }

    /// The value of the first key that `matches` (compared in place: no key is built to look).
    fn get(&self, matches: impl Fn(&K) -> bool) -> Option<V> {
        self.items.iter().find(|(k, _)| matches(k)).map(|(_, value)| value.clone())
    }

    fn insert(&mut self, key: K, value: V) {
        if self.items.len() == self.capacity {
            self.items.pop_front();
        }
        self.items.push_back((key, value));
    }
}

/// This backend's session id (as `%c` in log_line_prefix), made once.
fn session_id() -> String {
    SESSION_ID.with(|id| {
        id.borrow_mut().get_or_insert_with(|| unsafe { audit_event::session_id(pg_sys::MyStartTime, pg_sys::MyProcPid) }).clone()
    })
}

/// This backend's database name, looked up once: a database cannot be renamed while anyone
/// else is connected to it.
fn database_name() -> Option<String> {
    let database = unsafe { pg_sys::MyDatabaseId };
    if let Some(name) = DATABASE.with(|d| d.borrow().as_ref().filter(|(oid, _)| *oid == database).map(|(_, n)| n.clone())) {
        return name;
    }
    let name = text(unsafe { pg_sys::get_database_name(database) });
    DATABASE.with(|d| *d.borrow_mut() = Some((database, name.clone())));
    name
}

static DATABASE: BackendCell<Option<(pg_sys::Oid, Option<String>)>> = BackendCell::new(None);
static ROLE_NAMES: BackendCell<(u64, Recent<pg_sys::Oid, Option<String>>)> = BackendCell::new((0, Recent::new(8)));
static SESSION_ID: BackendCell<Option<String>> = BackendCell::new(None);

/// Redacts and cuts statement text for storage: the Rust rules, and the literals the server's
/// parser finds secret where it can run (`sql_scan`). Text the redactor cannot finish (nested
/// past its limits) is not kept: a marker with its length stands in for it.
fn redacted_statement(sql: &str, max_bytes: usize) -> String {
    let standard_strings = unsafe { pg_sys::standard_conforming_strings };
    let matches = |(s, m, text): &(bool, usize, String)| *s == standard_strings && *m == max_bytes && text == sql;
    if let Some(redacted) = REDACTED.with(|r| r.borrow().get(matches)) {
        return redacted;
    }
    let found = crate::pg::sql_scan::secret_literals(sql);
    let redacted = match redact::redact_also(sql, standard_strings, &found) {
        Ok(redacted) => redact::truncate(&redacted, max_bytes),
        Err(why) => redact::unredacted_marker(sql.len(), why),
    };
    REDACTED.with(|r| r.borrow_mut().insert((standard_strings, max_bytes, sql.to_string()), redacted.clone()));
    redacted
}

/// The last 16 statements redacted, keyed by all a redaction depends on
/// (standard_conforming_strings, the size limit, the text): a prepared statement audited on
/// every run is lexed and parsed once, not once per row.
static REDACTED: BackendCell<Recent<(bool, usize, String), String>> = BackendCell::new(Recent::new(16));

/// Stores `sql` in the event, redacted and cut to `max_bytes`; a statement longer than that
/// leaves its length in `details.statement_bytes`: the text is cut, never the event.
fn store_statement(event: &mut AuditEvent, sql: &str, max_bytes: usize) {
    event.statement = Some(redacted_statement(sql, max_bytes));
    if sql.len() > max_bytes {
        if let Some(details) = event.details.get_or_insert_with(|| serde_json::json!({})).as_object_mut() {
            details.insert("statement_bytes".into(), sql.len().into());
        }
    }
}

/// Redacts and cuts the statement of an event (as its row and line keep it).
fn redact_for_row(event: &mut AuditEvent) {
    if let Some(sql) = event.statement.take() {
        store_statement(event, &sql, settings::AUDIT_STATEMENT_MAX_BYTES.get() as usize);
    }
}

fn log_line(event: &AuditEvent) {
    crate::pg::audit_line::log(&event.log_line());
}

/// Can the acting transaction take the row? Not on a standby or in a read-only transaction,
/// not where the extension (its table) is absent, and not without the library preloaded (row
/// ids come from its shared memory).
fn table_writable() -> bool {
    let read_write = unsafe { !pg_sys::RecoveryInProgress() && !pg_sys::XactReadOnly };
    read_write && crate::pg::backend::hooks_active() && crate::pg::trail_tables::audit_log_oid().is_some()
}

/// Records a committed action, in the acting transaction.
pub fn record_committed(mut event: AuditEvent) {
    let destinations = settings::audit_destinations();
    redact_for_row(&mut event);
    let to_table = destinations.table && table_writable();
    if destinations.log || !to_table {
        log_line(&event);
    }
    if to_table {
        insert(event);
    }
}

/// Logs `event` now, before its statement runs: a COPY to a server file or a program acts at
/// once, so its trace must not depend on the transaction committing (its row still does: see
/// `record_committed_logged_ahead`).
pub fn log_ahead(event: &AuditEvent) {
    let mut event = event.clone();
    redact_for_row(&mut event);
    log_line(&event);
}

/// The row of an event `log_ahead` logged, in the acting transaction.
pub fn record_committed_logged_ahead(mut event: AuditEvent) {
    redact_for_row(&mut event);
    if settings::audit_destinations().table && table_writable() {
        insert(event);
    }
}

/// Records an event that must survive the acting transaction: logged now, queued for the
/// writer (never waited for: `queue`).
pub fn record_async(mut event: AuditEvent) {
    redact_for_row(&mut event);
    log_line(&event);
    queue_only(&event);
}

/// Queues an event without logging it (the caller has put it in the log another way).
pub fn queue_only(event: &AuditEvent) {
    if queue_writable() {
        if let Ok(payload) = serde_json::to_vec(event) {
            queue::push(&payload);
        }
    }
}

/// The table is a destination and a writer can drain the queue: not on a standby, where no
/// writer runs and the log is the destination.
fn queue_writable() -> bool {
    settings::audit_destinations().table && unsafe { !pg_sys::RecoveryInProgress() }
}

fn insert(e: AuditEvent) {
    if let Some(relid) = crate::pg::trail_tables::audit_log_oid() {
        if WRITER.get() && !lock_at_once(relid) {
            // the writer never waits on a lock a session can hold (an owner's LOCK TABLE): the
            // queue keeps the event for a later round
            log_line(&e);
            queue_only(&e);
            return;
        }
        row::insert(relid, &e);
    }
}

/// Set in the background writer, which never waits on a lock a session can hold.
static WRITER: BackendLocal<bool> = BackendLocal::new(false);

/// This process is the background writer (`worker.rs`).
pub fn mark_writer() {
    WRITER.set(true);
}

/// Takes the lock the writer's inserts and sealing need on `relid` if no session holds a
/// conflicting one; false (and nothing waited for) otherwise.
fn lock_at_once(relid: pg_sys::Oid) -> bool {
    unsafe { pg_sys::ConditionalLockRelationOid(relid, pg_sys::RowExclusiveLock as _) }
}

/// Does a session hold a lock on the log that the writer would have to wait for? (Without a
/// table, nothing waits: queued events fall back to the log only, as ever.)
pub fn log_held() -> bool {
    crate::pg::trail_tables::audit_log_oid().is_some_and(|relid| !lock_at_once(relid))
}

/// The writer's side, in the transaction of a batch read from the queue (after `log_held()`):
/// inserts its events. Returns how many it wrote and how many it gave up on; None when none
/// could be written now (a lock wait timed out, the table was changed): the batch stays queued
/// and is tried again next round. An event given up on — undecodable, no table to take it, or
/// failing alone while the events after it go in — is in the server log only, and counted.
pub fn insert_queued(batch: &[String]) -> Option<(u64, u64)> {
    let events: Vec<AuditEvent> = batch.iter().filter_map(|p| queue::decode(p)).collect();
    let undecodable = (batch.len() - events.len()) as u64;
    let Some(relid) = crate::pg::trail_tables::audit_log_oid() else {
        // no table here: the server log is the trail
        return Some((0, batch.len() as u64));
    };
    if attempt_quietly(|| events.iter().for_each(|e| row::insert(relid, e))).is_ok() {
        return Some((events.len() as u64, undecodable));
    }
    // one by one; when the first two fail alone, nothing can be written now (each attempt may
    // have waited for a lock: don't try a thousand)
    let (mut written, mut failed) = (0u64, Vec::new());
    for event in &events {
        match attempt_quietly(|| row::insert(relid, event)) {
            Ok(()) => written += 1,
            Err(message) => failed.push(message),
        }
        if written == 0 && failed.len() == 2 {
            break;
        }
    }
    if written == 0 {
        pgrx::warning!("nspg_guard: writing queued audit events failed, tried again next round: {}", failed.first().map_or("", String::as_str));
        return None;
    }
    for message in &failed {
        pgrx::warning!("nspg_guard: a queued audit event cannot be written ({message}); it is in the server log only");
    }
    Some((written, undecodable + failed.len() as u64))
}

/// Purges rows older than the retention, leaving a row that says so and lets
/// `audit_verify()` accept the cut in the chain.
pub fn purge() -> i64 {
    let retention_seconds = settings::AUDIT_RETENTION.get();
    // no sealer works meanwhile, and the anchored row stays (the sealer checks it)
    crate::pg::private_lock::take(crate::pg::private_lock::PrivateLock::AuditSeal, 0);
    let anchored = match crate::trail::anchor::load() {
        Ok(anchor) => anchor.map_or(i64::MAX, |a| a.seal_seq),
        Err(_) => 0,
    };
    let outcome = as_guard(|| {
        Spi::get_one_with_args::<pgrx::JsonB>(
            "SELECT nspg_guard._purge_older_than(pg_catalog.make_interval(secs => $1), $2)",
            &[f64::from(retention_seconds).into(), anchored.into()],
        )
    })
    .unwrap_or_else(|e| pgrx::error!("nspg_guard: audit purge failed: {e}"))
    .map(|j| j.0)
    .unwrap_or_default();
    let purged = outcome.get("purged").and_then(serde_json::Value::as_i64).unwrap_or(0);
    let mut e = event(AuditClass::Config, "committed");
    e.command_tag = Some("AUDIT PURGE".into());
    e.rows = Some(purged);
    let mut details = outcome;
    if let Some(map) = details.as_object_mut() {
        map.insert("retention_seconds".into(), retention_seconds.into());
    }
    e.details = Some(details);
    // the purge row must exist whatever the audit settings say
    log_line(&e);
    if table_writable() {
        insert(e);
    }
    purged
}

/// Records an event that must exist whatever the audit settings say (the writer's server start
/// and stop rows): logged, and inserted in the current transaction.
pub fn record_always(event: AuditEvent) {
    log_line(&event);
    insert(event);
}

/// Is `class` being audited (`nspg_guard.audit`)?
pub fn audited(class: AuditClass) -> bool {
    settings::audit_classes().contains(class)
}
