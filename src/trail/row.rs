//! Writes an audit event as a row of `nspg_guard.audit_log` through PostgreSQL's table and index
//! API (`pg::table_insert`): no SQL, and the session's `lastval()` is left alone.
//!
//! Row ids come from a counter in shared memory: the current time in microseconds, or one more
//! than the last id handed out or found in the table (`audit_event::next_audit_id`).

use crate::pg::backend::BackendLocal;
use crate::pg::table_insert::Inserter;
use crate::policy::audit_event::{self, AuditEvent};
use pgrx::lwlock::PgLwLock;
use pgrx::pg_sys;
use pgrx::{pg_guard, pg_shmem_init, PGRXSharedMemory};
use std::borrow::Cow;
use std::ffi::CString;

/// The columns of nspg_guard.audit_log, in order, with their types: a table of any other shape
/// is not written (it was changed around the guard).
const COLUMNS: [(&str, pg_sys::Oid); 21] = [
    ("id", pg_sys::INT8OID),
    ("event_time", pg_sys::TIMESTAMPTZOID),
    ("class", pg_sys::TEXTOID),
    ("outcome", pg_sys::TEXTOID),
    ("command_tag", pg_sys::TEXTOID),
    ("object_type", pg_sys::TEXTOID),
    ("object_identity", pg_sys::TEXTOID),
    ("statement", pg_sys::TEXTOID),
    ("rows", pg_sys::INT8OID),
    ("sqlstate", pg_sys::TEXTOID),
    ("reason", pg_sys::TEXTOID),
    ("session_user", pg_sys::TEXTOID),
    ("current_user", pg_sys::TEXTOID),
    ("client_addr", pg_sys::INETOID),
    ("client_port", pg_sys::INT4OID),
    ("application_name", pg_sys::TEXTOID),
    ("database", pg_sys::TEXTOID),
    ("backend_pid", pg_sys::INT4OID),
    ("session_id", pg_sys::TEXTOID),
    ("xid", pg_sys::INT8OID),
    ("details", pg_sys::JSONBOID),
];

#[derive(Copy, Clone, Default)]
pub struct LastId(i64);
unsafe impl PGRXSharedMemory for LastId {}

static LAST_ID: PgLwLock<LastId> = unsafe { PgLwLock::new(c"nspg_guard_audit_id") };

/// The highest id in this database's table, read once per session (0: not read yet).
static FLOOR: BackendLocal<Option<i64>> = BackendLocal::new(None);

/// Reserves the id counter in shared memory; from `_PG_init` at preload.
pub fn init() {
    pg_shmem_init!(LAST_ID);
}

/// One datum per column, or NULL.
struct Row {
    values: [pg_sys::Datum; 21],
    nulls: [bool; 21],
}

impl Row {
    fn new() -> Row {
        Row { values: [pg_sys::Datum::from(0); 21], nulls: [true; 21] }
    }
    fn set(&mut self, column: usize, value: Option<pg_sys::Datum>) {
        if let Some(value) = value {
            self.values[column] = value;
            self.nulls[column] = false;
        }
    }

    /// Sets the text columns, as varlenas in one palloc'd block: one call into PostgreSQL per row,
    /// not one per column (each call passes pgrx's error guard). Text cannot hold NUL bytes.
    fn set_texts(&mut self, texts: &[(usize, Option<&str>)]) {
        let texts: Vec<(usize, Cow<str>)> = texts
            .iter()
            .filter_map(|&(column, text)| text.map(|t| (column, if t.contains('\0') { t.replace('\0', "\u{FFFD}").into() } else { t.into() })))
            .collect();
        // a varlena's 4-byte header, its bytes, padding to the next 4-byte boundary
        let len = |text: &str| text.len().min(MAX_TEXT_BYTES);
        let size = |text: &str| (pg_sys::VARHDRSZ + len(text) + 3) & !3;
        let total: usize = texts.iter().map(|(_, t)| size(t)).sum();
        if total == 0 {
            return;
        }
        unsafe {
            let block = pg_sys::palloc(total) as *mut u8;
            let mut at = 0;
            for (column, text) in &texts {
                let varlena = block.add(at);
                pgrx::set_varsize_4b(varlena as *mut pg_sys::varlena, (pg_sys::VARHDRSZ + len(text)) as i32);
                std::ptr::copy_nonoverlapping(text.as_ptr(), varlena.add(pg_sys::VARHDRSZ), len(text));
                self.set(*column, Some(pg_sys::Datum::from(varlena)));
                at += size(text);
            }
        }
    }
}

/// The most a text column takes (a statement is cut far below it, at audit_statement_max_bytes).
const MAX_TEXT_BYTES: usize = 1 << 29;

/// PostgreSQL's own input function, called directly: no catalog lookup.
unsafe fn input(function: unsafe fn(pg_sys::FunctionCallInfo) -> pg_sys::Datum, value: &str) -> Option<pg_sys::Datum> {
    let c = CString::new(value.replace('\0', "")).unwrap_or_default();
    pgrx::fcinfo::direct_function_call_as_datum(function, &[Some(pg_sys::Datum::from(c.as_ptr()))])
}

/// The event's time in microseconds since 2000 (now, if it does not read as a time).
fn event_time(e: &AuditEvent) -> i64 {
    audit_event::parse_iso_timestamp(&e.event_time).unwrap_or_else(crate::pg::backend::now)
}

unsafe fn row_of(e: &AuditEvent, id: i64, time: i64) -> Row {
    let mut row = Row::new();
    let int8 = |v: i64| pg_sys::Datum::from(v);
    let int4 = |v: i32| pg_sys::Datum::from(v);
    row.set(0, Some(int8(id)));
    row.set(1, Some(int8(time)));
    fn text(value: &Option<String>) -> Option<&str> {
        value.as_deref()
    }
    row.set_texts(&[
        (2, Some(&e.class)),
        (3, Some(&e.outcome)),
        (4, text(&e.command_tag)),
        (5, text(&e.object_type)),
        (6, text(&e.object_identity)),
        (7, text(&e.statement)),
        (9, text(&e.sqlstate)),
        (10, text(&e.reason)),
        (11, text(&e.session_user)),
        (12, text(&e.current_user)),
        (15, text(&e.application_name)),
        (16, text(&e.database)),
        (18, text(&e.session_id)),
    ]);
    row.set(8, e.rows.map(int8));
    // only a real address: with log_hostname the backend knows a host name instead
    let addr = e.client_addr.as_deref().filter(|a| a.parse::<std::net::IpAddr>().is_ok());
    row.set(13, addr.and_then(|a| input(pg_sys::inet_in, a)));
    row.set(14, e.client_port.map(int4));
    row.set(17, Some(int4(e.backend_pid)));
    row.set(19, e.xid.map(int8));
    let details = e.details.as_ref().and_then(|d| serde_json::to_string(d).ok());
    row.set(20, details.and_then(|d| input(pg_sys::jsonb_in, &d)));
    row
}

/// The next id for a row of table `relid` (see the module comment).
/// Never below the event's time either (`event_time`, in microseconds), even if the clock went
/// back since: a time range is read through the key (`audit_id_at()`).
fn next_id(relid: pg_sys::Oid, event_time: i64) -> i64 {
    let floor = FLOOR.get().unwrap_or_else(|| {
        let floor = unsafe { highest_id(relid) };
        FLOOR.set(Some(floor));
        floor
    });
    let now = crate::pg::backend::now().max(event_time);
    let mut last = LAST_ID.exclusive();
    last.0 = audit_event::next_audit_id(last.0, floor, now);
    last.0
}

/// The highest id stored in `relid`, through its primary key index, read backwards.
unsafe fn highest_id(relid: pg_sys::Oid) -> i64 {
    let rel = pg_sys::table_open(relid, pg_sys::AccessShareLock as _);
    let index_oid = pg_sys::RelationGetPrimaryKeyIndex(rel);
    let mut highest = 0;
    if index_oid != pg_sys::InvalidOid {
        let index = pg_sys::index_open(index_oid, pg_sys::AccessShareLock as _);
        // a utility statement (SET) runs without an active snapshot: take the latest
        let snapshot = pg_sys::GetLatestSnapshot();
        let scan = pg_sys::index_beginscan(rel, index, snapshot, 0, 0);
        pg_sys::index_rescan(scan, std::ptr::null_mut(), 0, std::ptr::null_mut(), 0);
        let slot = pg_sys::table_slot_create(rel, std::ptr::null_mut());
        if pg_sys::index_getnext_slot(scan, pg_sys::ScanDirection::BackwardScanDirection, slot) {
            let mut is_null = true;
            let datum = pg_sys::slot_getattr(slot, 1, &mut is_null);
            if !is_null {
                highest = datum.value() as i64;
            }
        }
        pg_sys::ExecDropSingleTupleTableSlot(slot);
        pg_sys::index_endscan(scan);
        pg_sys::index_close(index, pg_sys::AccessShareLock as _);
    }
    pg_sys::table_close(rel, pg_sys::AccessShareLock as _);
    highest
}

/// Inserts `event` into the audit table `relid`, in the current transaction.
pub fn insert(relid: pg_sys::Oid, event: &AuditEvent) {
    let time = event_time(event);
    let id = next_id(relid, time);
    // at commit, the database is marked for its sealer
    crate::trail::sealing_state::note_row(id);
    unsafe {
        let table = Inserter::open(relid, "nspg_guard.audit_log", &COLUMNS);
        let mut row = row_of(event, id, time);
        table.insert(&mut row.values, &mut row.nulls);
        table.close();
    }
}
