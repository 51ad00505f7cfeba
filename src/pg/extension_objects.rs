//! Which catalog objects and rows are nspg_guard's own in this database: the extension, its
//! schema, everything in the schema and every object recorded in pg_depend as depending on the
//! extension (its members),
//! and what hangs on its relations (rules, triggers, policies, defaults, constraints). The
//! tamper guard asks this by object identity, not by statement list, so every route to a change
//! meets the same rule. Nothing here runs on the per-statement path of a database without the
//! extension beyond one index look-up of its name.

use crate::pg::backend::BackendLocal;
use crate::pg::trail_tables;
use pgrx::pg_sys::{self, Oid};
use std::collections::HashSet;
use std::ffi::c_char;

const EXTENSION: &std::ffi::CStr = c"nspg_guard";

/// The extension and its schema in this database.
#[derive(Clone, Copy)]
pub struct Ours {
    pub extension: Oid,
    pub schema: Oid,
}

/// The last answer of [`installed`]: (`trail_tables::relation_changes()` it was read at, it);
/// u64::MAX = never read.
static INSTALLED: BackendLocal<(u64, Option<Ours>)> = BackendLocal::new((u64::MAX, None));
/// The local transaction that created or dropped an extension (0: none since the last look).
static EXTENSION_TOUCHED_IN: BackendLocal<pg_sys::LocalTransactionId> = BackendLocal::new(0);

/// An extension is being created or dropped in this transaction (object-access hook): until it
/// ends, [`installed`] reads the catalog each time (the new row is seen only from the next
/// command on, and this transaction's relations may not have been created or dropped yet).
pub fn extension_touched() {
    EXTENSION_TOUCHED_IN.set(unsafe { (*pg_sys::MyProc).lxid });
}

/// nspg_guard in this database, if installed (and a transaction is open to look). pg_extension
/// has no syscache to signal changes, but nspg_guard's script creates the trail's tables and its
/// DROP drops them: the answer is kept while `trail_tables::relation_changes()` stays (another
/// session's CREATE or DROP EXTENSION changes it once it commits), and not kept in a transaction
/// that creates or drops an extension itself.
pub fn installed() -> Option<Ours> {
    unsafe {
        if !pg_sys::IsTransactionState() {
            return None;
        }
        let changes = trail_tables::relation_changes();
        let touched = EXTENSION_TOUCHED_IN.get();
        if touched != 0 && touched != (*pg_sys::MyProc).lxid {
            EXTENSION_TOUCHED_IN.set(0);
        }
        let cacheable = EXTENSION_TOUCHED_IN.get() == 0;
        match INSTALLED.get() {
            (seen, ours) if cacheable && seen == changes => ours,
            _ => {
                let ours = look_up();
                if cacheable {
                    INSTALLED.set((changes, ours));
                }
                ours
            }
        }
    }
}

unsafe fn look_up() -> Option<Ours> {
    unsafe {
        let extension = pg_sys::get_extension_oid(EXTENSION.as_ptr(), true);
        if extension == pg_sys::InvalidOid {
            return None;
        }
        // the control file fixes the schema (relocatable = false, schema = nspg_guard)
        Some(Ours { extension, schema: pg_sys::get_namespace_oid(EXTENSION.as_ptr(), true) })
    }
}

// Catalogs the rule reads rows of (pg15 oids; not all are in pgrx's bindings).
const PG_CLASS: (u32, u32) = (1259, 2662);
const PG_PROC: (u32, u32) = (1255, 2690);
const PG_TYPE: (u32, u32) = (1247, 2703);
const PG_CONSTRAINT: (u32, u32) = (2606, 2667);
const PG_REWRITE: (u32, u32) = (2618, 2692);
const PG_TRIGGER: (u32, u32) = (2620, 2702);
const PG_POLICY: (u32, u32) = (3256, 3257);
const PG_ATTRDEF: (u32, u32) = (2604, 2657);
const PG_STATISTIC_EXT: (u32, u32) = (3381, 3380);
const PG_NAMESPACE: u32 = 2615;
const PG_EXTENSION: u32 = 3079;
const PG_DEPEND: (u32, u32) = (2608, 2674);

/// Where an object of class `class_id` names its schema or its relation: (catalog, oid index,
/// column number, whether the column is a relation rather than a schema).
fn locator(class_id: u32) -> Option<((u32, u32), i32, bool)> {
    Some(match class_id {
        1259 => (PG_CLASS, 3, false),
        1255 => (PG_PROC, 3, false),
        1247 => (PG_TYPE, 3, false),
        2606 => (PG_CONSTRAINT, 3, false),
        2618 => (PG_REWRITE, 3, true),
        2620 => (PG_TRIGGER, 2, true),
        3256 => (PG_POLICY, 3, true),
        2604 => (PG_ATTRDEF, 2, true),
        3381 => (PG_STATISTIC_EXT, 2, true),
        _ => return None,
    })
}

/// If the object (`class_id`, `object_id`) is nspg_guard's — or is attached to one of its
/// relations — what it is, for messages ("nspg_guard.audit_log", "schema nspg_guard", …).
/// Reads the object's row both as this command sees it (a row created or changed just now)
/// and as the statement began (a row moved out of the schema just now).
///
/// # Safety
/// In a transaction; `ours` is this database's.
pub unsafe fn owned_by_us(ours: Ours, class_id: Oid, object_id: Oid) -> Option<String> {
    let class = u32::from(class_id);
    if u32::from(object_id) < pg_sys::FirstNormalObjectId {
        return None;
    }
    if class == PG_NAMESPACE && object_id == ours.schema {
        return Some("schema nspg_guard".into());
    }
    if class == PG_EXTENSION && object_id == ours.extension {
        return Some("extension nspg_guard".into());
    }
    if let Some((catalog, column, is_relation)) = locator(class) {
        for snapshot in [std::ptr::addr_of_mut!(pg_sys::SnapshotSelfData), std::ptr::null_mut()] {
            let Some(named) = oid_column(catalog, object_id, column, snapshot) else { continue };
            if is_relation {
                if let Some(what) = relation_is_ours(ours, named) {
                    return Some(what);
                }
            } else if named == ours.schema {
                return Some(object_name(class_id, object_id).unwrap_or_else(|| "a new object in schema nspg_guard".into()));
            }
        }
    }
    (pg_sys::getExtensionOfObject(class_id, object_id) == ours.extension)
        .then(|| object_name(class_id, object_id).unwrap_or_else(|| "a member of extension nspg_guard".into()))
}

/// The relation `relid` as a name, if it is nspg_guard's (in its schema or a member of it).
///
/// # Safety
/// In a transaction; `ours` is this database's.
pub unsafe fn relation_is_ours(ours: Ours, relid: Oid) -> Option<String> {
    let ours_by_schema = pg_sys::get_rel_namespace(relid) == ours.schema && ours.schema != pg_sys::InvalidOid;
    (ours_by_schema || pg_sys::getExtensionOfObject(pg_sys::RelationRelationId, relid) == ours.extension)
        .then(|| crate::pg::objects::relation_name(relid))
}

/// PostgreSQL's description of the object ("function nspg_guard.status()"); None for one
/// created by the current command, which the description's look-up cannot see yet.
unsafe fn object_name(class_id: Oid, object_id: Oid) -> Option<String> {
    let address = pg_sys::ObjectAddress { classId: class_id, objectId: object_id, objectSubId: 0 };
    crate::pg::text::text(pg_sys::getObjectDescription(&address, true) as *const c_char)
}

/// Column `column` (an oid) of the catalog row with oid `object_id`, read under `snapshot`
/// (null: the catalog snapshot).
unsafe fn oid_column(catalog: (u32, u32), object_id: Oid, column: i32, snapshot: pg_sys::Snapshot) -> Option<Oid> {
    let mut value = None;
    scan(catalog.0, Some(catalog.1), &[(1, object_id)], snapshot, |tuple, descriptor| value = oid_at(tuple, column, descriptor));
    value
}

unsafe fn oid_at(tuple: pg_sys::HeapTuple, column: i32, descriptor: pg_sys::TupleDesc) -> Option<Oid> {
    let mut is_null = false;
    let datum = pg_sys::heap_getattr(tuple, column, descriptor, &mut is_null);
    (!is_null).then(|| Oid::from(datum.value() as u32))
}

/// Every oid that names one of nspg_guard's objects: the extension, its schema, the relations,
/// functions and types in the schema (with the relations' row types and TOAST tables) and the
/// extension's members. Read before a statement that writes a system catalog, to tell
/// afterwards whether a row it changed was one of ours.
///
/// # Safety
/// In a transaction.
pub unsafe fn all_oids(ours: Ours) -> HashSet<u32> {
    let mut oids: HashSet<u32> = [ours.extension, ours.schema].into_iter().map(u32::from).collect();
    let mut take = |tuple: pg_sys::HeapTuple, descriptor: pg_sys::TupleDesc, columns: &[i32]| {
        for &column in columns {
            if let Some(oid) = oid_at(tuple, column, descriptor) {
                oids.insert(u32::from(oid));
            }
        }
    };
    if ours.schema != pg_sys::InvalidOid {
        // pg_class: oid, reltype (4), reltoastrelid (13); pg_proc, pg_type: oid
        scan(PG_CLASS.0, None, &[(3, ours.schema)], std::ptr::null_mut(), |t, d| take(t, d, &[1, 4, 13]));
        scan(PG_PROC.0, None, &[(3, ours.schema)], std::ptr::null_mut(), |t, d| take(t, d, &[1]));
        scan(PG_TYPE.0, None, &[(3, ours.schema)], std::ptr::null_mut(), |t, d| take(t, d, &[1]));
    }
    // pg_depend rows (refclassid, refobjid) = the extension: its members, wherever they live
    let extension_class = Oid::from(PG_EXTENSION);
    scan(PG_DEPEND.0, Some(PG_DEPEND.1), &[(4, extension_class), (5, ours.extension)], std::ptr::null_mut(), |t, d| take(t, d, &[2]));
    oids.remove(&0);
    oids
}

/// Calls `each` for every row of `catalog` whose oid columns equal the keys' values ((column,
/// value); through `index` when given, whose leading columns they must be), under `snapshot`
/// (null: the catalog snapshot).
unsafe fn scan(catalog: u32, index: Option<u32>, keys: &[(i16, Oid)], snapshot: pg_sys::Snapshot, mut each: impl FnMut(pg_sys::HeapTuple, pg_sys::TupleDesc)) {
    let relation = pg_sys::table_open(Oid::from(catalog), pg_sys::AccessShareLock as _);
    let mut scan_keys: Vec<pg_sys::ScanKeyData> = keys
        .iter()
        .map(|&(column, value)| {
            let mut key = pg_sys::ScanKeyData::default();
            pg_sys::ScanKeyInit(&mut key, column, pg_sys::BTEqualStrategyNumber as _, pg_sys::F_OIDEQ.into(), pg_sys::Datum::from(value));
            key
        })
        .collect();
    let scan = pg_sys::systable_beginscan(
        relation,
        Oid::from(index.unwrap_or(0)),
        index.is_some(),
        snapshot,
        scan_keys.len() as i32,
        scan_keys.as_mut_ptr(),
    );
    loop {
        let tuple = pg_sys::systable_getnext(scan);
        if tuple.is_null() {
            break;
        }
        each(tuple, (*relation).rd_att);
    }
    pg_sys::systable_endscan(scan);
    pg_sys::table_close(relation, pg_sys::AccessShareLock as _);
}

/// The roles owning one of nspg_guard's objects: the extension, its schema, the relations,
/// functions and types in the schema (what DROP OWNED / REASSIGN OWNED of them would reach).
///
/// # Safety
/// In a transaction.
pub unsafe fn owners(ours: Ours) -> HashSet<u32> {
    let mut roles = HashSet::new();
    let mut take = |tuple: pg_sys::HeapTuple, descriptor: pg_sys::TupleDesc, column: i32| {
        if let Some(role) = oid_at(tuple, column, descriptor) {
            roles.insert(u32::from(role));
        }
    };
    let none = std::ptr::null_mut();
    scan(PG_EXTENSION, Some(3080), &[(1, ours.extension)], none, |t, d| take(t, d, 3));
    if ours.schema != pg_sys::InvalidOid {
        scan(PG_NAMESPACE, Some(2685), &[(1, ours.schema)], none, |t, d| take(t, d, 3));
        scan(PG_CLASS.0, None, &[(3, ours.schema)], none, |t, d| take(t, d, 6));
        scan(PG_PROC.0, None, &[(3, ours.schema)], none, |t, d| take(t, d, 4));
        scan(PG_TYPE.0, None, &[(3, ours.schema)], none, |t, d| take(t, d, 4));
    }
    roles
}
