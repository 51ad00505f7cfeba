//! Result rows of an SPI query read as deformed datums: each tuple is taken apart once
//! (`heap_deform_tuple`) instead of once per column, and values are read in place, without a
//! copy or pgrx's per-value guard. For the trail's sealer and verifier, which read every audit
//! row's 21 columns.

use pgrx::pg_sys;
use std::ffi::CString;

/// One result row; its values are valid while the row is being looked at.
pub struct Row<'a> {
    values: &'a [pg_sys::Datum],
    nulls: &'a [bool],
    /// Detoasted copies made for this row, freed when the next row is read.
    copies: std::cell::RefCell<Vec<*mut pg_sys::varlena>>,
}

impl Row<'_> {
    fn datum(&self, column: usize) -> Option<pg_sys::Datum> {
        (column < self.values.len() && !self.nulls[column]).then(|| self.values[column])
    }

    /// An int8 (or timestamptz) column.
    pub fn int8(&self, column: usize) -> Option<i64> {
        self.datum(column).map(|d| d.value() as i64)
    }

    pub fn int4(&self, column: usize) -> Option<i32> {
        self.datum(column).map(|d| d.value() as i32)
    }

    pub fn boolean(&self, column: usize) -> Option<bool> {
        self.datum(column).map(|d| d.value() != 0)
    }

    /// A varlena column's bytes (text as stored: the server's encoding; bytea as is).
    pub fn bytes(&self, column: usize) -> Option<&[u8]> {
        let datum = self.datum(column)?;
        unsafe {
            let stored = datum.cast_mut_ptr::<pg_sys::varlena>();
            // pg_detoast_datum_packed's own test, read here: most values are stored plain (short
            // or 4-byte header), and the call would enter pgrx's guard for each of them
            let plain = if pgrx::varlena::varatt_is_4b_c(stored) || pgrx::varlena::varatt_is_1b_e(stored) {
                let plain = pg_sys::pg_detoast_datum_packed(stored);
                self.copies.borrow_mut().push(plain);
                plain
            } else {
                stored
            };
            Some(pgrx::varlena::varlena_to_byte_slice(plain))
        }
    }
}

impl Drop for Row<'_> {
    fn drop(&mut self) {
        for copy in self.copies.borrow_mut().drain(..) {
            unsafe { pg_sys::pfree(copy.cast()) };
        }
    }
}

/// Runs `query` (nspg_guard's own) with int8 parameters `args` (read-write: it takes a new snapshot) and hands
/// each result row to `each` until it returns false; returns how many rows were handed over.
/// The caller is connected to SPI (`Spi::connect_mut`).
///
/// # Safety
/// Runs inside an SPI connection; `query` is valid SQL whose parameters are all int8.
pub unsafe fn for_each(query: &str, args: &[i64], mut each: impl FnMut(&Row) -> bool) -> usize {
    let Ok(query) = CString::new(query) else {
        pgrx::error!("nspg_guard: a trail query holds a NUL byte");
    };
    let mut types: Vec<pg_sys::Oid> = vec![pg_sys::INT8OID; args.len()];
    let mut values: Vec<pg_sys::Datum> = args.iter().map(|&a| pg_sys::Datum::from(a)).collect();
    let code = pg_sys::SPI_execute_with_args(
        query.as_ptr(),
        args.len() as i32,
        types.as_mut_ptr(),
        values.as_mut_ptr(),
        std::ptr::null(),
        false,
        0,
    );
    if code < 0 {
        pgrx::error!("nspg_guard: reading the audit trail failed: SPI error {code}");
    }
    let table = pg_sys::SPI_tuptable;
    if table.is_null() {
        return 0;
    }
    let desc = (*table).tupdesc;
    let columns = (*desc).natts as usize;
    let (mut row_values, mut row_nulls) = (vec![pg_sys::Datum::from(0); columns], vec![true; columns]);
    let count = pg_sys::SPI_processed as usize;
    for i in 0..count {
        let tuple = *(*table).vals.add(i);
        pg_sys::heap_deform_tuple(tuple, desc, row_values.as_mut_ptr(), row_nulls.as_mut_ptr());
        let row = Row { values: &row_values, nulls: &row_nulls, copies: Default::default() };
        if !each(&row) {
            return i + 1;
        }
    }
    count
}
