//! Writes an audit event as a row of `nspg_guard.audit_log` through PostgreSQL's table and index
//! API: no SQL, so no name (type, cast, function, operator, table) is resolved at all, no
//! trigger, rule or default runs, and the session's `lastval()` is left alone. It is also the
//! cheapest way in.
//!
//! Row ids come from a counter in shared memory: the current time in microseconds, or one more
//! than the last id handed out or found in the table (`audit_event::next_audit_id`).

use crate::policy::audit_event::{self, AuditEvent};
use pgrx::lwlock::PgLwLock;
use pgrx::pg_sys::{self, errcodes::PgSqlErrorCode};
use pgrx::{pg_guard, pg_shmem_init, PGRXSharedMemory};
use std::cell::Cell;
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

thread_local! {
    /// The highest id in this database's table, read once per session (0: not read yet).
    static FLOOR: Cell<Option<i64>> = const { Cell::new(None) };
}

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
}

fn text(value: &Option<String>) -> Option<pg_sys::Datum> {
    value.as_deref().map(text_datum)
}

fn text_datum(value: &str) -> pg_sys::Datum {
    // text cannot hold NUL bytes
    let clean: std::borrow::Cow<str> = if value.contains('\0') { value.replace('\0', "\u{FFFD}").into() } else { value.into() };
    let len = clean.len().min(i32::MAX as usize / 2) as i32;
    pg_sys::Datum::from(unsafe { pg_sys::cstring_to_text_with_len(clean.as_ptr() as *const _, len) })
}

/// PostgreSQL's own input function, called directly: no catalog lookup.
unsafe fn input(function: unsafe fn(pg_sys::FunctionCallInfo) -> pg_sys::Datum, value: &str) -> Option<pg_sys::Datum> {
    let c = CString::new(value.replace('\0', "")).unwrap_or_default();
    pgrx::fcinfo::direct_function_call_as_datum(function, &[Some(pg_sys::Datum::from(c.as_ptr()))])
}

unsafe fn row_of(e: &AuditEvent, id: i64) -> Row {
    let mut row = Row::new();
    let int8 = |v: i64| pg_sys::Datum::from(v);
    let int4 = |v: i32| pg_sys::Datum::from(v);
    row.set(0, Some(int8(id)));
    let time = audit_event::parse_iso_timestamp(&e.event_time).unwrap_or_else(|| pg_sys::GetCurrentTimestamp());
    row.set(1, Some(int8(time)));
    row.set(2, Some(text_datum(&e.class)));
    row.set(3, Some(text_datum(&e.outcome)));
    row.set(4, text(&e.command_tag));
    row.set(5, text(&e.object_type));
    row.set(6, text(&e.object_identity));
    row.set(7, text(&e.statement));
    row.set(8, e.rows.map(int8));
    row.set(9, text(&e.sqlstate));
    row.set(10, text(&e.reason));
    row.set(11, text(&e.session_user));
    row.set(12, text(&e.current_user));
    // only a real address: with log_hostname the backend knows a host name instead
    let addr = e.client_addr.as_deref().filter(|a| a.parse::<std::net::IpAddr>().is_ok());
    row.set(13, addr.and_then(|a| input(pg_sys::inet_in, a)));
    row.set(14, e.client_port.map(int4));
    row.set(15, text(&e.application_name));
    row.set(16, text(&e.database));
    row.set(17, Some(int4(e.backend_pid)));
    row.set(18, text(&e.session_id));
    row.set(19, e.xid.map(int8));
    let details = e.details.as_ref().and_then(|d| serde_json::to_string(d).ok());
    row.set(20, details.and_then(|d| input(pg_sys::jsonb_in, &d)));
    row
}

fn refuse_shape(why: &str) -> ! {
    crate::pg::errors::fail(
        PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
        format!("nspg_guard: cannot write the audit row: nspg_guard.audit_log {why}"),
        "The audit table was changed around nspg_guard; restore its definition from the extension script.",
    )
}

/// Checks that the table has exactly the columns nspg_guard writes.
unsafe fn check_columns(rel: pg_sys::Relation) {
    let desc = (*rel).rd_att;
    if (*desc).natts as usize != COLUMNS.len() {
        refuse_shape("has other columns than nspg_guard's");
    }
    let attrs = (*desc).attrs.as_slice((*desc).natts as usize);
    for (attr, (name, type_oid)) in attrs.iter().zip(COLUMNS) {
        let actual = std::ffi::CStr::from_ptr(attr.attname.data.as_ptr()).to_bytes();
        if attr.attisdropped || attr.atttypid != type_oid || actual != name.as_bytes() {
            refuse_shape(&format!("column \"{name}\" was changed"));
        }
    }
}

/// Checks that every index can be maintained without running code: plain columns, no
/// predicate, no exclusion constraint, checked immediately.
unsafe fn check_indexes(indexes: pg_sys::CatalogIndexState) {
    for i in 0..(*indexes).ri_NumIndices.max(0) as usize {
        let info = *(*indexes).ri_IndexRelationInfo.add(i);
        let index = *(*indexes).ri_IndexRelationDescs.add(i);
        if !(*info).ii_Expressions.is_null()
            || !(*info).ii_Predicate.is_null()
            || !(*info).ii_ExclusionOps.is_null()
            || !(*(*index).rd_index).indimmediate
        {
            refuse_shape("has an index with expressions, a predicate or deferred checks");
        }
    }
}

/// The next id for a row of table `relid` (see the module comment).
fn next_id(relid: pg_sys::Oid) -> i64 {
    let floor = FLOOR.with(Cell::get).unwrap_or_else(|| {
        let floor = unsafe { highest_id(relid) };
        FLOOR.with(|f| f.set(Some(floor)));
        floor
    });
    let now = unsafe { pg_sys::GetCurrentTimestamp() };
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
    let id = next_id(relid);
    // at commit, the database is marked for its sealer
    crate::trail::sealing_state::note_row(id);
    unsafe {
        let rel = pg_sys::table_open(relid, pg_sys::RowExclusiveLock as _);
        check_columns(rel);
        let indexes = pg_sys::CatalogOpenIndexes(rel);
        check_indexes(indexes);
        let mut row = row_of(event, id);
        let tuple = pg_sys::heap_form_tuple((*rel).rd_att, row.values.as_mut_ptr(), row.nulls.as_mut_ptr());
        pg_sys::CatalogTupleInsertWithInfo(rel, tuple, indexes);
        pg_sys::CatalogCloseIndexes(indexes);
        pg_sys::heap_freetuple(tuple);
        pg_sys::table_close(rel, pg_sys::NoLock as _);
    }
}
