//! One row of a catalog through PostgreSQL's syscache: looked up, read, released. No SQL, no
//! name resolution; what the hooks use on a statement's path.

use pgrx::pg_sys;

/// Reads the fixed part of the row `key` of `cache` as `T` (the catalog's `FormData_…`) with
/// `read`, or None when there is no such row. `read` gets the tuple too, for the columns past
/// the fixed part (`SysCacheGetAttr`).
///
/// # Safety
/// `T` is the fixed-part struct of the catalog `cache` reads.
pub unsafe fn row<T, R>(cache: pg_sys::SysCacheIdentifier::Type, key: pg_sys::Datum, read: impl FnOnce(&T, pg_sys::HeapTuple) -> R) -> Option<R> {
    let tuple = pg_sys::SearchSysCache1(cache as i32, key);
    if tuple.is_null() {
        return None;
    }
    // an ERROR raised inside `read` leaves the reference to the abort, which releases it
    let result = read(&*pg_sys::heap_tuple_get_struct::<T>(tuple), tuple);
    pg_sys::ReleaseSysCache(tuple);
    Some(result)
}

/// pg_proc's row of `function`.
pub fn function<R>(function: pg_sys::Oid, read: impl FnOnce(&pg_sys::FormData_pg_proc, pg_sys::HeapTuple) -> R) -> Option<R> {
    unsafe { row(pg_sys::SysCacheIdentifier::PROCOID, pg_sys::Datum::from(function), read) }
}

/// pg_authid's row of `role`.
pub fn role<R>(role: pg_sys::Oid, read: impl FnOnce(&pg_sys::FormData_pg_authid) -> R) -> Option<R> {
    unsafe { row(pg_sys::SysCacheIdentifier::AUTHOID, pg_sys::Datum::from(role), |r, _| read(r)) }
}

/// pg_class's row of `relation`.
pub fn relation<R>(relation: pg_sys::Oid, read: impl FnOnce(&pg_sys::FormData_pg_class) -> R) -> Option<R> {
    unsafe { row(pg_sys::SysCacheIdentifier::RELOID, pg_sys::Datum::from(relation), |r, _| read(r)) }
}

/// The owner of database `database` (None: there is no such database).
pub fn database_owner(database: pg_sys::Oid) -> Option<pg_sys::Oid> {
    unsafe { row(pg_sys::SysCacheIdentifier::DATABASEOID, pg_sys::Datum::from(database), |d: &pg_sys::FormData_pg_database, _| d.datdba) }
}

/// Is database `database` one a sealer may connect to: it takes connections, is no template and
/// is valid (pg_database's `datallowconn`, `datistemplate`; `datconnlimit` -2 marks one a DROP
/// DATABASE was interrupted in, from PostgreSQL 15.4)? None: there is no such database.
pub fn database_sealable(database: pg_sys::Oid) -> Option<bool> {
    unsafe {
        row(pg_sys::SysCacheIdentifier::DATABASEOID, pg_sys::Datum::from(database), |d: &pg_sys::FormData_pg_database, _| {
            d.datallowconn && !d.datistemplate && d.datconnlimit != -2
        })
    }
}
