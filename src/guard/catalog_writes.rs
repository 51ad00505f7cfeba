//! Direct DML on the system catalogs (UPDATE pg_class …, DELETE FROM pg_rewrite …, INSERT INTO
//! pg_depend …, COPY … FROM into one): never silent. Each statement that writes a catalog is an
//! audited `risky` event when it commits; one that changed a row of nspg_guard's objects (any
//! oid column of the row, before or after the change, naming one of them) is refused
//! (policy/trail_objects.rs), whoever runs it and however (a CTE, a function, a prepared
//! statement). The rows are judged after the statement ran, so the rule is by what was
//! changed, not by how the statement was written: nspg_guard's oids are read before it runs,
//! and afterwards the rows this very command inserted or deleted are compared with them.

use crate::pg::backend::BackendCell;
use crate::pg::extension_objects;
use crate::policy::audit_event::AuditClass;
use crate::policy::trail_objects::catalog_write_refusal;
use crate::policy::verdict::Enforcement;
use crate::trail::report;
use crate::trail::write;
use pgrx::pg_sys::{self, Oid};
use std::collections::HashSet;

/// A statement in progress that writes system catalogs.
struct Watched {
    /// The executor's QueryDesc (a COPY has none: null).
    query_desc: *mut pg_sys::QueryDesc,
    /// The command writing the first catalog (UPDATE, DELETE, INSERT, MERGE, COPY).
    command: &'static str,
    catalogs: Vec<Oid>,
    /// nspg_guard's oids as the statement began (None: not installed in this database).
    ours: Option<HashSet<u32>>,
    /// The command id a COPY writes its rows with, taken as it begins (audit rows written
    /// after it, in the same transaction, advance the counter).
    copy_command_id: pg_sys::CommandId,
}

/// Innermost last; an entry whose statement failed is dropped with the next top-level one.
static WATCHED: BackendCell<Vec<Watched>> = BackendCell::new(Vec::new());

/// Is any statement's catalog write being watched? When not, `check_written` has nothing to do.
pub fn watching() -> bool {
    WATCHED.with(|w| !w.borrow().is_empty())
}

/// Is `relid` a system catalog (pg_catalog's own tables; TOAST tables of catalogs included)?
pub fn is_catalog(relid: Oid) -> bool {
    u32::from(relid) < pg_sys::FirstNormalObjectId && crate::pg::backend::is_catalog_relation(relid)
}

/// ExecutorStart (or the start of a COPY FROM, with a null `query_desc`): the statement's
/// `command` writes the catalog `relid`.
///
/// # Safety
/// In a transaction.
pub unsafe fn note_write(query_desc: *mut pg_sys::QueryDesc, command: &'static str, relid: Oid) {
    if crate::pg::nesting::top_level() {
        WATCHED.with(|w| w.borrow_mut().retain(|e| e.query_desc == query_desc));
    }
    let known = WATCHED.with(|w| {
        let mut watched = w.borrow_mut();
        match watched.iter_mut().rev().find(|e| e.query_desc == query_desc) {
            Some(entry) => {
                if !entry.catalogs.contains(&relid) {
                    entry.catalogs.push(relid);
                }
                true
            }
            None => false,
        }
    });
    if !known {
        let ours = extension_objects::installed().map(|ours| extension_objects::all_oids(ours));
        let copy_command_id = pg_sys::GetCurrentCommandId(false);
        WATCHED.with(|w| w.borrow_mut().push(Watched { query_desc, command, catalogs: vec![relid], ours, copy_command_id }));
    }
}

/// After the statement ran (ExecutorFinish, or a COPY's success): refuses it if it changed a row
/// of nspg_guard's objects, else records the `risky` event (in its transaction).
///
/// # Safety
/// `query_desc` is the one given to `note_write` (null for a COPY), still valid; `statement`
/// gives the statement's text.
pub unsafe fn check_written(query_desc: *mut pg_sys::QueryDesc, rows: u64, statement: impl Fn() -> Option<String>) {
    let Some(watched) = WATCHED.with(|w| {
        let mut watched = w.borrow_mut();
        let at = watched.iter().rposition(|e| e.query_desc == query_desc)?;
        Some(watched.remove(at))
    }) else {
        return;
    };
    let command_id = if query_desc.is_null() {
        watched.copy_command_id
    } else {
        (*(*query_desc).estate).es_output_cid
    };
    let names: Vec<String> = watched.catalogs.iter().map(|&c| crate::pg::objects::relation_name(c)).collect();
    if let Some(ours) = &watched.ours {
        if let Some(at) = watched.catalogs.iter().position(|&c| changed_ours(c, command_id, ours)) {
            report::raise(catalog_write_refusal(watched.command, &names[at]), Enforcement::Refuse);
        }
    }
    if !write::audited(AuditClass::Risky) {
        return;
    }
    let mut event = write::event(AuditClass::Risky, "committed");
    event.command_tag = Some(watched.command.to_string());
    event.object_type = Some("system catalog".into());
    event.object_identity = Some(names.join(", "));
    event.rows = Some(rows as i64);
    event.statement = statement();
    event.details = Some(serde_json::json!({ "catalog_dml": true }));
    write::record_committed(event);
}

/// Did command `command_id` insert or delete (update: both) a row of `catalog` any of whose oid
/// columns names one of `ours`?
unsafe fn changed_ours(catalog: Oid, command_id: pg_sys::CommandId, ours: &HashSet<u32>) -> bool {
    let relation = pg_sys::table_open(catalog, pg_sys::AccessShareLock as _);
    let descriptor = (*relation).rd_att;
    let oid_columns: Vec<i32> = (0..(*descriptor).natts as usize)
        .filter_map(|i| {
            let attribute = (*descriptor).attrs.as_ptr().add(i);
            let oid_like = [pg_sys::OIDOID, pg_sys::REGCLASSOID, pg_sys::REGPROCOID, pg_sys::REGTYPEOID, pg_sys::REGNAMESPACEOID];
            (!(*attribute).attisdropped && oid_like.contains(&(*attribute).atttypid)).then_some(i as i32 + 1)
        })
        .collect();
    let scan = pg_sys::table_beginscan(relation, std::ptr::addr_of_mut!(pg_sys::SnapshotAnyData), 0, std::ptr::null_mut());
    let mut found = false;
    loop {
        let tuple = pg_sys::heap_getnext(scan, pg_sys::ScanDirection::ForwardScanDirection);
        if tuple.is_null() {
            break;
        }
        if !changed_by(tuple, command_id) {
            continue;
        }

        found = oid_columns.iter().any(|&column| {
            let mut is_null = false;
            let datum = pg_sys::heap_getattr(tuple, column, descriptor, &mut is_null);
            !is_null && ours.contains(&(datum.value() as u32))
        });
        if found {
            break;
        }
    }
    pg_sys::table_endscan(scan);
    pg_sys::table_close(relation, pg_sys::AccessShareLock as _);
    found
}

/// Was this row version inserted, or deleted (not merely locked), by this transaction's
/// command `command_id`?
unsafe fn changed_by(tuple: pg_sys::HeapTuple, command_id: pg_sys::CommandId) -> bool {
    let header = (*tuple).t_data;
    let infomask = (*header).t_infomask as u32;
    let xmin = pg_sys::HeapTupleHeaderGetRawXmin(header);
    if infomask & pg_sys::HEAP_XMIN_INVALID == 0
        && pg_sys::TransactionIdIsCurrentTransactionId(xmin)
        && pg_sys::HeapTupleHeaderGetCmin(header) == command_id
    {
        return true;
    }
    let lock_only = infomask & pg_sys::HEAP_XMAX_LOCK_ONLY != 0
        || infomask & (pg_sys::HEAP_XMAX_IS_MULTI | pg_sys::HEAP_LOCK_MASK) == pg_sys::HEAP_XMAX_EXCL_LOCK;
    let xmax = (*header).t_choice.t_heap.t_xmax;
    infomask & (pg_sys::HEAP_XMAX_INVALID | pg_sys::HEAP_XMAX_IS_MULTI) == 0
        && !lock_only
        && pg_sys::TransactionIdIsCurrentTransactionId(xmax)
        && pg_sys::HeapTupleHeaderGetCmax(header) == command_id
}
