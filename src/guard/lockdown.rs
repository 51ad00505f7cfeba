//! While a role is locked down, what it owns does not run with its rights: its SECURITY
//! DEFINER functions and procedures are refused, and so is a query that reads or writes through
//! a view it owns (42501, audited). PostgreSQL calls `fmgr_hook` at the start of every SECURITY
//! DEFINER call (and of functions with a SET clause), and `ExecutorCheckPerms_hook` on every
//! query's permission check, where a relation reached through a view is checked as the view's
//! owner (`RangeTblEntry.checkAsUser`); with no lockdown in force both hooks read one atomic
//! counter and return.

use crate::pg::locked_roles;
use crate::trail::report::deny;
use pgrx::pg_guard;
use pgrx::pg_sys;

static mut PREV_FMGR_HOOK: pg_sys::fmgr_hook_type = None;
static mut PREV_CHECK_PERMS: pg_sys::ExecutorCheckPerms_hook_type = None;

/// Installs the hook; from `_PG_init` at preload.
pub unsafe fn install() {
    locked_roles::init();
    PREV_FMGR_HOOK = pg_sys::fmgr_hook;
    pg_sys::fmgr_hook = Some(fmgr_hook);
    PREV_CHECK_PERMS = pg_sys::ExecutorCheckPerms_hook;
    pg_sys::ExecutorCheckPerms_hook = Some(check_perms);
}

/// Every query's permission check: a plain frame (no guard, nothing to drop, as the hooks in
/// hooks.rs) that goes on to the chain at once while no lockdown is in force.
unsafe extern "C-unwind" fn check_perms(range_table: *mut pg_sys::List, ereport_on_violation: bool) -> bool {
    if locked_roles::any() && !crate::pg::as_guard::internal() && !allowed_under_lockdown(range_table, ereport_on_violation) {
        return false;
    }
    match PREV_CHECK_PERMS {
        Some(prev) => prev(range_table, ereport_on_violation),
        None => true,
    }
}

/// False (or the refusal) when the query reaches a relation as a locked-down role.
#[pg_guard]
unsafe extern "C-unwind" fn allowed_under_lockdown(range_table: *mut pg_sys::List, ereport_on_violation: bool) -> bool {
    let Some((relation, owner)) = reached_as_locked(range_table) else { return true };
    // a caller that only asks (foreign-key checks) takes its slower path
    if !ereport_on_violation {
        return false;
    }
    let owner = crate::pg::text::role_name(owner);
    let relation = crate::pg::text::relation_name(relation);
    deny(
        "VIEW ACCESS",
        format!("nspg_guard: {relation} may not be reached through a view of \"{owner}\": that role is locked down"),
        format!("A view reads its relations with its owner's rights, which the lockdown of \"{owner}\" suspends."),
        "See nspg_guard.role_lockdowns; an admin lifts the lockdown with nspg_guard.unlock_role() once the incident allows. Roles with their own grants query the relation directly.",
    )
}

/// The first relation of a query that is checked as a locked-down role (reached through a view
/// it owns), with that role.
unsafe fn reached_as_locked(range_table: *mut pg_sys::List) -> Option<(pg_sys::Oid, pg_sys::Oid)> {
    pgrx::PgList::<pg_sys::RangeTblEntry>::from_pg(range_table).iter_ptr().find_map(|rte| {
        // a view's own placeholder entries carry its owner too, but ask for nothing
        let as_user = (*rte).checkAsUser;
        ((*rte).requiredPerms != 0 && as_user != pg_sys::InvalidOid && locked_roles::is_locked(as_user)).then(|| ((*rte).relid, as_user))
    })
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
