//! What the SQL functions share: the admin check of the admin-only functions, the registry's
//! database check, and running SPI as nspg_guard itself.

use crate::pg::errors::fail;
use crate::pg::settings;
use crate::pg::standing;
use crate::pg::text::text;
use crate::policy::verdict::validate_reason;
use pgrx::PgLogLevel;
use pgrx::pg_sys::{self, errcodes::PgSqlErrorCode, panic::ErrorReport};
use pgrx::spi::{Spi, SpiClient, SpiResult};
use std::ffi::{CStr, CString};

/// Refuses (a plain ERROR, not audited) a caller that is neither an admin nor a superuser.
pub fn require_admin(what: &str) {
    if !standing::current_user_is_admin() {
        ErrorReport::new(PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE, format!("nspg_guard: {what} is for admins"), "nspg_guard")
            .set_hint("Run it as a superuser or a member of an admin role (nspg_guard.admin_roles).")
            .report(PgLogLevel::ERROR);
    }
}

/// The registries live in the audit database (one per cluster, like the grants they track), and
/// their expiry needs the writer: both need the library preloaded.
pub fn require_registry(function: &str) {
    if !crate::pg::backend::hooks_active() {
        fail(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("nspg_guard: {function} needs nspg_guard in shared_preload_libraries"),
            "Add nspg_guard to shared_preload_libraries and restart the server.",
        );
    }
    let here = text(unsafe { pg_sys::get_database_name(pg_sys::MyDatabaseId) }).unwrap_or_default();
    let registry = settings::text_of(&settings::AUDIT_DATABASE);
    if here != registry {
        fail(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("nspg_guard: {function} runs in database \"{registry}\", not \"{here}\""),
            &format!("Role grants are cluster-wide, so the break-glass and lockdown registries are kept in one database (nspg_guard.audit_database): connect to \"{registry}\"."),
        );
    }
}

/// The reason a function records as evidence (an override, a break-glass decision or review, a
/// lockdown), trimmed; a missing or too short one is a plain ERROR (22023) with `hint`.
pub fn required_reason(reason: Option<&str>, function: &str, hint: &str) -> String {
    validate_reason(reason.unwrap_or("")).map(str::to_string).unwrap_or_else(|e| {
        fail(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, format!("nspg_guard: {function} needs a reason: {e}"), hint)
    })
}

/// Runs SPI work as nspg_guard itself (the registries refuse everyone else's writes).
pub fn spi<T>(work: impl FnOnce(&mut SpiClient<'_>) -> SpiResult<T>) -> T {
    crate::pg::as_guard::as_guard(|| Spi::connect_mut(work)).unwrap_or_else(|e| pgrx::error!("nspg_guard: registry access failed: {e}"))
}

/// The first column of the first row, None when there is no row.
pub trait FirstValue {
    fn first_value<T: pgrx::FromDatum + pgrx::IntoDatum>(self) -> SpiResult<Option<T>>;
}

impl FirstValue for pgrx::spi::SpiTupleTable<'_> {
    fn first_value<T: pgrx::FromDatum + pgrx::IntoDatum>(self) -> SpiResult<Option<T>> {
        if self.is_empty() { Ok(None) } else { self.first().get_one::<T>() }
    }
}

/// Runs one statement that returns nothing of interest, as nspg_guard itself.
pub fn run(sql: &str, args: &[pgrx::datum::DatumWithOid<'_>]) {
    spi(|client| client.update(sql, None, args).map(|_| ()))
}

/// `name` quoted as an identifier where it needs it (PostgreSQL's quote_identifier).
pub fn quote_ident(name: &str) -> String {
    let name = CString::new(name).unwrap_or_default();
    unsafe { CStr::from_ptr(pg_sys::quote_identifier(name.as_ptr())) }.to_string_lossy().into_owned()
}
