//! The `nspg_guard.*` settings. All are PGC_SUSET: only superusers change them (SET,
//! set_config, ALTER ROLE/DATABASE … SET), so the guard cannot be turned off by the roles it
//! guards. Role lists are validated when set and parsed once, in their assign hook, so the
//! per-statement path never parses or allocates.

use crate::roles::RolePatterns;
use crate::verdict::GuardMode;
use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};
use pgrx::pg_sys;
use pgrx::prelude::*;
use std::cell::{Cell, RefCell};
use std::ffi::{c_char, c_void, CStr, CString};

pub static DDL_GUARD: GucSetting<GuardMode> = GucSetting::<GuardMode>::new(GuardMode::Enforce);
pub static MIGRATION_ROLES: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(Some(c"ns_migrate_*, ns_owner_*"));
pub static ADMIN_ROLES: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(Some(c"ns_admin, ns_breakglass_admin"));
pub static ALLOW_TEMP_OBJECTS: GucSetting<bool> = GucSetting::<bool>::new(true);
pub static DESTRUCTIVE_GUARD: GucSetting<GuardMode> = GucSetting::<GuardMode>::new(GuardMode::Enforce);
pub static MAX_ROWS_PER_STATEMENT: GucSetting<i32> = GucSetting::<i32>::new(0);

thread_local! {
    static MIGRATION: RefCell<RolePatterns> = RefCell::new(RolePatterns::default());
    static ADMIN: RefCell<RolePatterns> = RefCell::new(RolePatterns::default());
    /// Bumped whenever a role set changes; cached role decisions older than this are stale.
    static ROLE_SETS_GENERATION: Cell<u64> = const { Cell::new(0) };
}

/// Which role set a name is tested against.
#[derive(Debug, Clone, Copy)]
pub enum RoleSet {
    Migration,
    Admin,
    App,
    Owner,
}

pub fn role_set_matches(set: RoleSet, role_name: &str) -> bool {
    let cell = match set {
        RoleSet::Migration => &MIGRATION,
        RoleSet::Admin => &ADMIN,
        RoleSet::App => &APP,
        RoleSet::Owner => &OWNER,
    };
    cell.with(|patterns| patterns.borrow().matches(role_name))
}

pub fn role_sets_generation() -> u64 {
    ROLE_SETS_GENERATION.with(Cell::get)
}

/// The text of a string setting, for messages and `status()`.
pub fn text_of(setting: &GucSetting<Option<CString>>) -> String {
    setting.get().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
}

const ROLE_LIST_HINT: &CStr =
    c"Give a comma-separated list of role names in which * matches any characters, for example 'ns_migrate_*, ns_owner_*'.";

#[pg_guard]
unsafe extern "C-unwind" fn check_role_list(
    newval: *mut *mut c_char,
    _extra: *mut *mut c_void,
    _source: pg_sys::GucSource::Type,
) -> bool {
    let text = if newval.is_null() || (*newval).is_null() {
        ""
    } else {
        CStr::from_ptr(*newval).to_str().unwrap_or("\u{0}")
    };
    match RolePatterns::parse(text) {
        Ok(_) => true,
        Err(e) => {
            let detail = CString::new(format!("Invalid role list: {e}.")).unwrap_or_default();
            pg_sys::GUC_check_errdetail_string = pg_sys::pstrdup(detail.as_ptr());
            pg_sys::GUC_check_errhint_string = pg_sys::pstrdup(ROLE_LIST_HINT.as_ptr());
            false
        }
    }
}

unsafe fn assign_into(cell: &'static std::thread::LocalKey<RefCell<RolePatterns>>, newval: *const c_char) {
    let text = if newval.is_null() { "" } else { CStr::from_ptr(newval).to_str().unwrap_or("") };
    // The check hook accepted this value, so parsing cannot fail here; an assign hook must not
    // raise, so fall back to the empty set rather than erroring.
    let parsed = RolePatterns::parse(text).unwrap_or_default();
    cell.with(|patterns| *patterns.borrow_mut() = parsed);
    ROLE_SETS_GENERATION.with(|g| g.set(g.get().wrapping_add(1)));
}

#[pg_guard]
unsafe extern "C-unwind" fn assign_migration_roles(newval: *const c_char, _extra: *mut c_void) {
    assign_into(&MIGRATION, newval)
}

#[pg_guard]
unsafe extern "C-unwind" fn assign_admin_roles(newval: *const c_char, _extra: *mut c_void) {
    assign_into(&ADMIN, newval)
}

/// Defines every `nspg_guard.*` setting and reserves the prefix, so a misspelt
/// `nspg_guard.dll_guard` is an error instead of a silently ignored placeholder.
pub fn define() {
    GucRegistry::define_enum_guc(
        c"nspg_guard.ddl_guard",
        c"DDL guard: off, warn or enforce.",
        c"Schema and privilege changes only from migration or admin roles; role changes only from admins.",
        &DDL_GUARD,
        GucContext::Suset,
        GucFlags::default(),
    );
    unsafe {
        GucRegistry::define_string_guc_with_hooks(
            c"nspg_guard.migration_roles",
            c"Roles allowed to change schema (comma-separated, * wildcards).",
            c"A role may run schema and privilege changes when it has the privileges of a role matching one of these patterns.",
            &MIGRATION_ROLES,
            GucContext::Suset,
            GucFlags::default(),
            Some(check_role_list),
            Some(assign_migration_roles),
            None,
        );
        GucRegistry::define_string_guc_with_hooks(
            c"nspg_guard.admin_roles",
            c"Platform admin roles (comma-separated, * wildcards). Superusers count as admins.",
            c"Admins may change roles, schema and privileges.",
            &ADMIN_ROLES,
            GucContext::Suset,
            GucFlags::default(),
            Some(check_role_list),
            Some(assign_admin_roles),
            None,
        );
    }
    GucRegistry::define_bool_guc(
        c"nspg_guard.allow_temp_objects",
        c"Let every role create and change temporary objects.",
        c"Temporary tables, views and sequences live and die with the session, so they are not schema changes.",
        &ALLOW_TEMP_OBJECTS,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_enum_guc(
        c"nspg_guard.destructive_guard",
        c"Destructive-statement guard: off, warn or enforce.",
        c"UPDATE/DELETE/MERGE must restrict rows with a WHERE on the target's columns; TRUNCATE only from migration or admin roles; DROP of tables, schemas and databases warns.",
        &DESTRUCTIVE_GUARD,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"nspg_guard.max_rows_per_statement",
        c"Most rows one UPDATE, DELETE or MERGE may change (0: no limit).",
        c"A statement that changes more is rolled back with an error. Set it per role or database with ALTER ROLE/DATABASE … SET.",
        &MAX_ROWS_PER_STATEMENT,
        0,
        i32::MAX,
        GucContext::Suset,
        GucFlags::default(),
    );
    unsafe { pg_sys::MarkGUCPrefixReserved(c"nspg_guard".as_ptr()) };
}

// ---------------------------------------------------------------------------------------------
// Posture lint settings (NS-PG-007 §3.1, §6.1): the role kinds and tenant columns the lint rules
// reason about. They change nothing at run time, so every role may read them, but only
// superusers set them, like the role sets above.

pub static APP_ROLES: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(Some(c"ns_app_*"));
pub static OWNER_ROLES: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(Some(c"ns_owner_*"));
pub static TENANT_COLUMNS: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(Some(c"tenant_id, org_id, account_id"));

thread_local! {
    static APP: RefCell<RolePatterns> = RefCell::new(RolePatterns::default());
    static OWNER: RefCell<RolePatterns> = RefCell::new(RolePatterns::default());
}

#[pg_guard]
unsafe extern "C-unwind" fn assign_app_roles(newval: *const c_char, _extra: *mut c_void) {
    assign_into(&APP, newval)
}

#[pg_guard]
unsafe extern "C-unwind" fn assign_owner_roles(newval: *const c_char, _extra: *mut c_void) {
    assign_into(&OWNER, newval)
}

/// Defines the lint settings; called from `_PG_init` after `define`.
pub fn define_lint() {
    unsafe {
        GucRegistry::define_string_guc_with_hooks(
            c"nspg_guard.app_roles",
            c"Application runtime roles (comma-separated, * wildcards).",
            c"The lint expects these roles to own nothing, create nothing and hold no migration or owner role.",
            &APP_ROLES,
            GucContext::Suset,
            GucFlags::default(),
            Some(check_role_list),
            Some(assign_app_roles),
            None,
        );
        GucRegistry::define_string_guc_with_hooks(
            c"nspg_guard.owner_roles",
            c"Schema owner roles (comma-separated, * wildcards).",
            c"The lint expects these roles to own a service's objects and never to log in.",
            &OWNER_ROLES,
            GucContext::Suset,
            GucFlags::default(),
            Some(check_role_list),
            Some(assign_owner_roles),
            None,
        );
    }
    GucRegistry::define_string_guc(
        c"nspg_guard.tenant_columns",
        c"Column names that mark a multi-tenant table (comma-separated).",
        c"The lint expects row level security on every table with one of these columns.",
        &TENANT_COLUMNS,
        GucContext::Suset,
        GucFlags::default(),
    );
}
