//! The current role's standing (superuser / admin / migration), looked up in the catalogs once
//! and cached for the session. The cache is dropped when pg_authid or pg_auth_members change
//! (syscache invalidation, which also covers other sessions' GRANT/REVOKE) or when a role-set
//! setting changes, so a repeated statement costs no catalog access.

use crate::pg::backend::{BackendCell, BackendLocal};
use crate::pg::settings::{self, RoleSet};
use crate::policy::ddl_guard::Standing;
use pgrx::pg_sys;

/// Few roles are active in one session (login role, a SET ROLE or two): a short list beats a map.
const MAX_CACHED_ROLES: usize = 8;

static CACHE: BackendCell<Vec<(pg_sys::Oid, Standing)>> = BackendCell::new(Vec::new());
/// (catalog changes, role-set changes) the cache was filled at.
static CACHE_GENERATION: BackendLocal<(u64, u64)> = BackendLocal::new((0, 0));

static CATALOG_CHANGES: BackendLocal<u64> = BackendLocal::new(0);

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn on_role_catalog_change(_arg: pg_sys::Datum, _cacheid: i32, _hash: u32) {
    CATALOG_CHANGES.set(CATALOG_CHANGES.get().wrapping_add(1));
}

/// Registers the invalidation callbacks; called once from `_PG_init`.
pub fn register_invalidation() {
    unsafe {
        for cache in [pg_sys::SysCacheIdentifier::AUTHOID, pg_sys::SysCacheIdentifier::AUTHMEMROLEMEM] {
            pg_sys::CacheRegisterSyscacheCallback(cache as i32, Some(on_role_catalog_change), pg_sys::Datum::from(0));
        }
    }
}

/// Changes whenever a cached standing may have become stale; callers caching decisions derived
/// from standings key them by it.
pub fn current_generation() -> (u64, u64) {
    (CATALOG_CHANGES.get(), settings::role_sets_generation())
}

/// The standing of `role`, from the cache when it is fresh.
pub fn of(role: pg_sys::Oid) -> Standing {
    let generation = current_generation();
    if CACHE_GENERATION.get() != generation {
        CACHE.with(|c| c.borrow_mut().clear());
        CACHE_GENERATION.set(generation);
    }
    if let Some(found) = CACHE.with(|c| c.borrow().iter().find(|(oid, _)| *oid == role).map(|(_, s)| *s)) {
        return found;
    }
    let standing = unsafe { look_up(role, |m, r| pg_sys::has_privs_of_role(m, r)) };
    CACHE.with(|c| {
        let mut cache = c.borrow_mut();
        if cache.len() >= MAX_CACHED_ROLES {
            cache.remove(0);
        }
        cache.push((role, standing));
    });
    standing
}

/// Is the current role an admin (or a superuser)? What the admin-only functions ask.
pub fn current_user_is_admin() -> bool {
    of(unsafe { pg_sys::GetUserId() }).has(crate::policy::ddl_guard::Authority::Admin)
}

/// The standing `role` reaches by membership, INHERIT or not (a NOINHERIT member becomes the
/// role with SET ROLE): who a lever must protect, not what the role may do now. Not cached
/// (the incident levers ask, not the per-statement path).
pub fn by_membership(role: pg_sys::Oid) -> Standing {
    unsafe { look_up(role, |m, r| pg_sys::is_member_of_role_nosuper(m, r)) }
}

/// Scans pg_authid for roles in the admin, migration and approver sets and the break-glass role,
/// and asks PostgreSQL whether `role` is related to them by `related` (for `of`:
/// has_privs_of_role, membership with INHERIT, the same test GRANTs use). A superuser has every role's privileges, so it counts as escalated only
/// through a role that is not its own superuser power: never.
unsafe fn look_up(role: pg_sys::Oid, related: impl Fn(pg_sys::Oid, pg_sys::Oid) -> bool) -> Standing {
    let mut standing = Standing { superuser: pg_sys::superuser_arg(role), ..Standing::default() };
    let breakglass_role = settings::text_of(&settings::BREAKGLASS_ROLE);
    each_role(|oid, name| {
        let admin = !standing.admin && settings::role_set_matches(RoleSet::Admin, name);
        let migration = !standing.migration && settings::role_set_matches(RoleSet::Migration, name);
        let approver = !standing.approver && settings::role_set_matches(RoleSet::Approver, name);
        let breakglass = !standing.superuser && name == breakglass_role;
        if (admin || migration || approver || breakglass) && related(role, oid) {
            standing.admin |= admin;
            standing.migration |= migration;
            standing.approver |= approver;
            standing.breakglass |= breakglass;
        }
    });
    standing
}

/// Calls `visit` with the oid and name of every role (a scan of pg_authid: no SQL, no cache).
pub fn each_role(mut visit: impl FnMut(pg_sys::Oid, &str)) {
    unsafe {
        let rel = pg_sys::table_open(pg_sys::AuthIdRelationId, pg_sys::AccessShareLock as _);
        let scan = pg_sys::table_beginscan_catalog(rel, 0, std::ptr::null_mut());
        loop {
            let tuple = pg_sys::heap_getnext(scan, pg_sys::ScanDirection::ForwardScanDirection);
            if tuple.is_null() {
                break;
            }
            let authid = &*pg_sys::heap_tuple_get_struct::<pg_sys::FormData_pg_authid>(tuple);
            visit(authid.oid, &std::ffi::CStr::from_ptr(authid.rolname.data.as_ptr()).to_string_lossy());
        }
        pg_sys::table_endscan(scan);
        pg_sys::table_close(rel, pg_sys::AccessShareLock as _);
    }
}
