//! `local_preload_libraries` and `session_preload_libraries` load code into a session as it
//! starts, before any statement a guard could judge. nspg_guard attaches a check to both
//! settings, so a value from anywhere but the server's configuration — the startup packet
//! (PGOPTIONS), ALTER ROLE / DATABASE … SET, SET, set_config() — is refused unless the role is an
//! admin: at connection the login fails (a startup option) or the setting is skipped with a
//! WARNING (a role or database setting), before any library is loaded.

use crate::pg::standing;
use crate::pg::text::role_name;
use crate::policy::ddl_guard::Authority;
use crate::policy::risky::{self, RiskyCommand, SettingSource};
use crate::policy::verdict::Enforcement;
use crate::trail::report;
use pgrx::pg_guard;
use pgrx::pg_sys::{self, GucSource};
use std::ffi::{c_char, c_void, CStr, CString};

/// Attaches the check to both settings (neither has one of its own in PostgreSQL 15); from
/// `_PG_init` in the postmaster, so every backend inherits it.
pub unsafe fn install() {
    let variables = pg_sys::get_guc_variables();
    for i in 0..pg_sys::GetNumConfigOptions() as usize {
        let variable = *variables.add(i);
        if (*variable).vartype != pg_sys::config_type::PGC_STRING {
            continue;
        }
        let check: pg_sys::GucStringCheckHook = match CStr::from_ptr((*variable).name).to_bytes() {
            b"local_preload_libraries" => Some(check_local_preload),
            b"session_preload_libraries" => Some(check_session_preload),
            _ => continue,
        };
        let string = variable as *mut pg_sys::config_string;
        if (*string).check_hook.is_none() {
            (*string).check_hook = check;
        }
    }
}

fn source_of(source: GucSource::Type) -> SettingSource {
    use GucSource::*;
    match source {
        PGC_S_CLIENT => SettingSource::Connection,
        PGC_S_GLOBAL | PGC_S_DATABASE | PGC_S_USER | PGC_S_DATABASE_USER => SettingSource::RoleOrDatabase,
        PGC_S_INTERACTIVE | PGC_S_TEST | PGC_S_SESSION => SettingSource::Session,
        _ => SettingSource::ServerConfiguration,
    }
}

// PostgreSQL's check hooks (one per setting: a hook is not told which setting it checks).
#[pg_guard]
unsafe extern "C-unwind" fn check_local_preload(newval: *mut *mut c_char, _extra: *mut *mut c_void, source: GucSource::Type) -> bool {
    check_preload("local_preload_libraries", newval, source)
}

#[pg_guard]
unsafe extern "C-unwind" fn check_session_preload(newval: *mut *mut c_char, _extra: *mut *mut c_void, source: GucSource::Type) -> bool {
    check_preload("session_preload_libraries", newval, source)
}

/// True keeps the value; false refuses it with the message set here.
unsafe fn check_preload(name: &str, newval: *mut *mut c_char, source: GucSource::Type) -> bool {
    let source = source_of(source);
    let value = if newval.is_null() || (*newval).is_null() { String::new() } else { CStr::from_ptr(*newval).to_string_lossy().into_owned() };
    // the server configuration and clearing need no catalog (the postmaster asks too); parallel
    // workers copy their leader's settings, which were judged there; walsenders load no libraries
    if risky::preload_allowed(source, &value, false) || pg_sys::ParallelWorkerNumber >= 0 || pg_sys::am_walsender {
        return true;
    }
    let enforcement = Enforcement::from(crate::pg::settings::RISKY_GUARD.get());
    if enforcement == Enforcement::Ignore {
        return true;
    }
    let in_transaction = pg_sys::IsTransactionState();
    let role = pg_sys::GetUserId();
    if in_transaction && risky::preload_allowed(source, &value, standing::of(role).has(Authority::Admin)) {
        return true;
    }
    let who = if in_transaction { role_name(role) } else { format!("oid {}", role.to_u32()) };
    let admin_roles = crate::pg::settings::text_of(&crate::pg::settings::ADMIN_ROLES);
    let refusal = risky::refusal(RiskyCommand::PreloadLibraries(name), "SET", &who, &admin_roles);
    if in_transaction {
        report::record(&refusal, enforcement);
    }
    if enforcement == Enforcement::Warn {
        pgrx::warning!("{}", refusal.message);
        return true;
    }
    pg_sys::GUC_check_errcode(refusal.sqlstate as i32);
    pg_sys::GUC_check_errmsg_string = palloc_text(&refusal.message);
    pg_sys::GUC_check_errdetail_string = palloc_text(&refusal.detail);
    pg_sys::GUC_check_errhint_string = palloc_text(&refusal.hint);
    false
}

unsafe fn palloc_text(text: &str) -> *mut c_char {
    let text = CString::new(text.replace('\0', "")).unwrap_or_default();
    pg_sys::pstrdup(text.as_ptr())
}
