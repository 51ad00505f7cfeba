//! Text from PostgreSQL: C strings, role, function and relation names. One helper each, so that every caller reads
//! "not known" the same way.

use pgrx::pg_sys;
use std::ffi::{c_char, CStr};

/// A C string as text; NULL and empty both mean "not known".
pub fn text(p: *const c_char) -> Option<String> {
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()).filter(|s| !s.is_empty())
}

/// A role's name, or None when no role has that oid (an audit row leaves it NULL then).
pub fn existing_role_name(role: pg_sys::Oid) -> Option<String> {
    text(unsafe { pg_sys::GetUserNameFromId(role, true) })
}

/// A role's name for messages; a role that no longer exists shows as its oid.
pub fn role_name(role: pg_sys::Oid) -> String {
    existing_role_name(role).unwrap_or_else(|| format!("oid {}", role.to_u32()))
}

/// A function's name with its argument types, as PostgreSQL writes it (the oid when there is no
/// such function).
pub fn function_name(function: pg_sys::Oid) -> String {
    text(unsafe { pg_sys::format_procedure(function) }).unwrap_or_else(|| function.to_u32().to_string())
}

/// The role of that name, if there is one.
pub fn role_oid(name: &str) -> Option<pg_sys::Oid> {
    let name = std::ffi::CString::new(name).ok()?;
    let oid = unsafe { pg_sys::get_role_oid(name.as_ptr(), true) };
    (oid != pg_sys::InvalidOid).then_some(oid)
}

/// A relation's name, schema-qualified and quoted as PostgreSQL writes it (the oid when there is
/// no such relation).
pub fn relation_name(relation: pg_sys::Oid) -> String {
    let name = unsafe { pg_sys::get_rel_name(relation) };
    let schema = unsafe { pg_sys::get_namespace_name(pg_sys::get_rel_namespace(relation)) };
    if name.is_null() || schema.is_null() {
        return relation.to_u32().to_string();
    }
    text(unsafe { pg_sys::quote_qualified_identifier(schema, name) }).unwrap_or_else(|| relation.to_u32().to_string())
}
