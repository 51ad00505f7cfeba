//! PostgreSQL Lists read in place, for the per-statement path: no allocation and no guarded call
//! per element (pgrx's `PgList` reads each element through a C shim).

use pgrx::pg_sys;

/// The length of a List (0 for NIL).
///
/// # Safety
/// `list` is NIL or a valid List.
pub unsafe fn len(list: *mut pg_sys::List) -> usize {
    if list.is_null() { 0 } else { (*list).length as usize }
}

/// Element `n` of a pointer List, if it has one (PostgreSQL's list_nth).
///
/// # Safety
/// `list` is NIL or a valid pointer List whose elements are `T`s.
pub unsafe fn nth<T>(list: *mut pg_sys::List, n: usize) -> Option<*mut T> {
    (n < len(list)).then(|| (*(*list).elements.add(n)).ptr_value as *mut T)
}

/// The elements of a pointer List.
///
/// # Safety
/// `list` is NIL or a valid pointer List whose elements are `T`s, unchanged while iterated.
pub unsafe fn ptrs<T>(list: *mut pg_sys::List) -> impl Iterator<Item = *mut T> {
    (0..len(list)).map(move |i| (*(*list).elements.add(i)).ptr_value as *mut T)
}

/// The elements of an integer List.
///
/// # Safety
/// `list` is NIL or a valid integer List, unchanged while iterated.
pub unsafe fn ints(list: *mut pg_sys::List) -> impl Iterator<Item = i32> {
    (0..len(list)).map(move |i| (*(*list).elements.add(i)).int_value)
}
