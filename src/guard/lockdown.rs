//! While a role is locked down, what it owns does not run with its rights: its SECURITY
//! DEFINER functions and procedures are refused (42501, audited). PostgreSQL calls `fmgr_hook`
//! at the start of every SECURITY DEFINER call (and of functions with a SET clause); with no
//! lockdown in force the hook reads one atomic counter and returns.

use crate::pg::locked_roles;
use crate::trail::report::deny;
use pgrx::pg_guard;
use pgrx::pg_sys;

static mut PREV_FMGR_HOOK: pg_sys::fmgr_hook_type = None;

/// Installs the hook; from `_PG_init` at preload.
pub unsafe fn install() {
    locked_roles::init();
    PREV_FMGR_HOOK = pg_sys::fmgr_hook;
    pg_sys::fmgr_hook = Some(fmgr_hook);
}

#[pg_guard]
unsafe extern "C-unwind" fn fmgr_hook(event: pg_sys::FmgrHookEventType::Type, flinfo: *mut pg_sys::FmgrInfo, arg: *mut pg_sys::Datum) {
    if event == pg_sys::FmgrHookEventType::FHET_START && locked_roles::any() && !flinfo.is_null() {
        refuse_if_owner_locked((*flinfo).fn_oid);
    }
    if let Some(prev) = PREV_FMGR_HOOK {
        prev(event, flinfo, arg);
    }
}

/// Refuses a SECURITY DEFINER function whose owner is locked down.
unsafe fn refuse_if_owner_locked(function: pg_sys::Oid) {
    let Some((definer, owner)) = crate::pg::syscache::function(function, |p, _| (p.prosecdef, p.proowner)) else { return };
    if definer && locked_roles::is_locked(owner) {
        let owner = crate::pg::text::role_name(owner);
        deny(
            "SECURITY DEFINER CALL",
            format!("nspg_guard: function {} may not run: its owner \"{owner}\" is locked down", crate::pg::text::function_name(function)),
            format!("A SECURITY DEFINER function runs with its owner's rights, which the lockdown of \"{owner}\" suspends."),
            "See nspg_guard.role_lockdowns; an admin lifts the lockdown with nspg_guard.unlock_role() once the incident allows.",
        );
    }
}
