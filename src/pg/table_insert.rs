//! Inserting rows of nspg_guard's own tables (the audit log, its chain) through PostgreSQL's table
//! and index API: no SQL, so no name (type, cast, function, operator, table) is resolved, no
//! trigger, rule or default runs, and no plan is built — the cheapest way in, on every audited
//! statement's path. The table's shape is checked first: one changed around the guard is not
//! written.

use pgrx::pg_sys::{self, errcodes::PgSqlErrorCode};

/// A table opened for inserts, its columns and indexes checked.
pub struct Inserter {
    rel: pg_sys::Relation,
    indexes: pg_sys::CatalogIndexState,
}

impl Inserter {
    /// Opens `relid` (named `table` in errors) with RowExclusiveLock; raises unless it has exactly
    /// `columns` (name and type, in order) and only indexes that can be maintained without
    /// running code.
    ///
    /// # Safety
    /// In a transaction; `relid` is a table.
    pub unsafe fn open(relid: pg_sys::Oid, table: &str, columns: &[(&str, pg_sys::Oid)]) -> Inserter {
        let rel = pg_sys::table_open(relid, pg_sys::RowExclusiveLock as _);
        // heap tuples go only into a plain heap table
        if (*(*rel).rd_rel).relkind as u8 != pg_sys::RELKIND_RELATION || (*(*rel).rd_rel).relam != pg_sys::HEAP_TABLE_AM_OID {
            refuse_shape(table, "is no longer a plain heap table");
        }
        check_columns(rel, table, columns);
        let indexes = pg_sys::CatalogOpenIndexes(rel);
        check_indexes(indexes, table);
        Inserter { rel, indexes }
    }

    /// Inserts one row, in the current transaction; `values` and `nulls` have one entry per column.
    ///
    /// # Safety
    /// Each non-null value is a valid datum of its column's type.
    pub unsafe fn insert(&self, values: &mut [pg_sys::Datum], nulls: &mut [bool]) {
        let tuple = pg_sys::heap_form_tuple((*self.rel).rd_att, values.as_mut_ptr(), nulls.as_mut_ptr());
        pg_sys::CatalogTupleInsertWithInfo(self.rel, tuple, self.indexes);
        pg_sys::heap_freetuple(tuple);
    }

    /// Closes the table, keeping its lock to the end of the transaction.
    pub fn close(self) {
        unsafe {
            pg_sys::CatalogCloseIndexes(self.indexes);
            pg_sys::table_close(self.rel, pg_sys::NoLock as _);
        }
    }
}

fn refuse_shape(table: &str, why: &str) -> ! {
    crate::pg::errors::fail(
        PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
        format!("nspg_guard: cannot write to {table}: it {why}"),
        "The audit table was changed around nspg_guard; restore its definition from the extension script.",
    )
}

/// Checks that the table has exactly `columns`.
unsafe fn check_columns(rel: pg_sys::Relation, table: &str, columns: &[(&str, pg_sys::Oid)]) {
    let desc = (*rel).rd_att;
    if (*desc).natts as usize != columns.len() {
        refuse_shape(table, "has other columns than nspg_guard's");
    }
    let attrs = (*desc).attrs.as_slice((*desc).natts as usize);
    for (attr, &(name, type_oid)) in attrs.iter().zip(columns) {
        let actual = std::ffi::CStr::from_ptr(attr.attname.data.as_ptr()).to_bytes();
        if attr.attisdropped || attr.atttypid != type_oid || actual != name.as_bytes() {
            refuse_shape(table, &format!("has column \"{name}\" changed"));
        }
    }
}

/// Checks that every index can be maintained without running code of anyone's: b-tree or BRIN
/// indexes of plain columns with built-in operator families, no predicate, no exclusion
/// constraint, checked immediately. (Opening them has already folded any expression or predicate: a table changed
/// that way was changed by a superuser while the library was absent, which the unguarded-run
/// record shows.)
unsafe fn check_indexes(indexes: pg_sys::CatalogIndexState, table: &str) {
    for i in 0..(*indexes).ri_NumIndices.max(0) as usize {
        let info = *(*indexes).ri_IndexRelationInfo.add(i);
        let index = *(*indexes).ri_IndexRelationDescs.add(i);
        let keys = (*info).ii_NumIndexKeyAttrs.max(0) as usize;
        let families = std::slice::from_raw_parts((*index).rd_opfamily, keys);
        if !(*info).ii_Expressions.is_null()
            || !(*info).ii_Predicate.is_null()
            || !(*info).ii_ExclusionOps.is_null()
            || !(*(*index).rd_index).indimmediate
            // b-tree, or BRIN (0.3.0's index on the log's event_time, until the update drops it)
            || ![pg_sys::BTREE_AM_OID, pg_sys::BRIN_AM_OID].contains(&(*(*index).rd_rel).relam)
            || families.iter().any(|&family| family.to_u32() >= pg_sys::FirstNormalObjectId)
        {
            refuse_shape(table, "has an index that is not a plain b-tree or BRIN index of built-in operators");
        }
    }
}
