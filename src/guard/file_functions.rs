//! The risky fence on functions that read, list or write server files, on every call path.
//!
//! PostgreSQL announces each function it is about to call (`object_access_hook`,
//! OAT_FUNCTION_EXECUTE) when the executor sets up an expression — a query, PL/pgSQL, a SQL
//! function (inlined or not), a view, a DEFAULT, a CHECK, a trigger's statements, a prepared
//! statement, plan-time folding — and at CALL and at a fastpath call. What PostgreSQL calls
//! without announcing (trigger functions, type input/output, operator-class support) must have
//! signatures none of these functions has. A function that is not in the set costs a match over
//! constants (built-in) or one lookup in a per-backend map (the rest).

use crate::pg::backend::BackendCell;
use crate::pg::settings;
use crate::pg::standing;
use crate::pg::text::{function_name, role_name};
use crate::policy::audit_event::AuditClass;
use crate::policy::ddl_guard::Authority;
use crate::policy::risky::{self, Implementation, RiskyCommand};
use crate::policy::verdict::Enforcement;
use crate::trail::{report, write};
use pgrx::pg_guard;
use pgrx::pg_sys;
use std::collections::BTreeMap;
use std::ffi::CStr;

/// pg_language's fixed oids (pg_language.dat) for `internal` and `c`.
const INTERNAL_LANGUAGE: pg_sys::Oid = pg_sys::Oid::from_u32(12);
const C_LANGUAGE: pg_sys::Oid = pg_sys::Oid::from_u32(13);

/// Functions that are not built in, judged once each; emptied when pg_proc changes.
static JUDGED: BackendCell<BTreeMap<u32, bool>> = BackendCell::new(BTreeMap::new());

/// Registers the callback that forgets judged functions; from `_PG_init` at preload. The
/// announcements come through the guards' one object-access hook.
pub unsafe fn install() {
    pg_sys::CacheRegisterSyscacheCallback(
        pg_sys::SysCacheIdentifier::PROCOID as i32,
        Some(on_function_catalog_change),
        pg_sys::Datum::from(0),
    );
}

#[pg_guard]
unsafe extern "C-unwind" fn on_function_catalog_change(_arg: pg_sys::Datum, _cacheid: i32, _hash: u32) {
    JUDGED.with(|j| j.borrow_mut().clear());
}

/// A function is about to be called (from the object-access hook's plain frame, after the rest of
/// the chain): a constant match for built-in functions; only a function in the set, or one not
/// built in, goes further.
///
/// # Safety
/// Called from the object-access hook for OAT_FUNCTION_EXECUTE.
pub unsafe fn function_execute(object_id: pg_sys::Oid) {
    let oid = object_id.to_u32();
    if oid < pg_sys::FirstNormalObjectId {
        if risky::builtin_server_file_function(oid) {
            check_function(object_id);
        }
    } else if JUDGED.with(|j| j.borrow().get(&object_id.to_u32()).copied()) != Some(false) {
        check_other_function(object_id);
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn check_other_function(function: pg_sys::Oid) {
    let reaches_files = match JUDGED.with(|j| j.borrow().get(&function.to_u32()).copied()) {
        Some(known) => known,
        None => {
            let judged = risky::server_file_implementation(implementation(function).as_ref().map_or(
                Implementation::Other,
                |(language, library)| match (*language, library) {
                    (l, Some(symbol)) if l == INTERNAL_LANGUAGE => {
                        let builtin = pg_sys::fmgr_internal_function(symbol.as_ptr());
                        Implementation::Internal((builtin != pg_sys::InvalidOid).then(|| builtin.to_u32()))
                    }
                    (l, Some(library)) if l == C_LANGUAGE => {
                        Implementation::C { library: library.to_str().unwrap_or_default() }
                    }
                    _ => Implementation::Other,
                },
            ));
            JUDGED.with(|j| j.borrow_mut().insert(function.to_u32(), judged));
            judged
        }
    };
    if reaches_files {
        check_function(function);
    }
}

/// The function's language and what it says about the implementation: the symbol (prosrc) of an
/// internal function, the library (probin) of a C one.
unsafe fn implementation(function: pg_sys::Oid) -> Option<(pg_sys::Oid, Option<std::ffi::CString>)> {
    crate::pg::syscache::function(function, |proc, tuple| {
        let language = proc.prolang;
        let column = if language == INTERNAL_LANGUAGE { pg_sys::Anum_pg_proc_prosrc } else { pg_sys::Anum_pg_proc_probin };
        let mut is_null = false;
        let datum = pg_sys::SysCacheGetAttr(pg_sys::SysCacheIdentifier::PROCOID as i32, tuple, column as _, &mut is_null);
        let detail = (!is_null).then(|| CStr::from_ptr(pg_sys::text_to_cstring(datum.cast_mut_ptr())).to_owned());
        (language, detail)
    })
}

/// A function that reaches server files is about to run: for an admin it is audited, anyone
/// else is refused.
#[pg_guard]
unsafe extern "C-unwind" fn check_function(function: pg_sys::Oid) {
    let enforcement = Enforcement::from(settings::RISKY_GUARD.get());
    if enforcement == Enforcement::Ignore || crate::pg::backend::exempt() {
        return;
    }
    let role = pg_sys::GetUserId();
    let name = function_name(function);
    if standing::of(role).has(Authority::Admin) {
        if write::audited(AuditClass::Risky) {
            let mut event = write::event(AuditClass::Risky, "granted");
            event.command_tag = Some("FUNCTION CALL".to_string());
            event.object_type = Some("function".to_string());
            event.object_identity = Some(name);
            event.statement = crate::pg::statement::current_statement();
            // The file is read or written at once, whatever the transaction does later.
            write::record_async(event);
        }
        return;
    }
    let admin_roles = settings::text_of(&settings::ADMIN_ROLES);
    report::raise(
        risky::refusal(RiskyCommand::ServerFileFunction(&name), "FUNCTION CALL", &role_name(role), &admin_roles),
        enforcement,
    );
}

