//! The `nspg_guard.*` settings. All are PGC_SUSET: only superusers change them (SET,
//! set_config, ALTER ROLE/DATABASE … SET), so the guard cannot be turned off by the roles it
//! guards. Role lists are validated when set and parsed once, in their assign hook, so the
//! per-statement path never parses or allocates.

use crate::pg::backend::{BackendCell, BackendLocal};
use crate::policy::audit_event::{AuditClasses, Destinations};
use crate::policy::roles::RolePatterns;
use crate::policy::verdict::GuardMode;
use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};
use pgrx::pg_sys;
use pgrx::prelude::*;
use std::ffi::{c_char, c_void, CStr, CString};

pub static DDL_GUARD: GucSetting<GuardMode> = GucSetting::<GuardMode>::new(GuardMode::Enforce);
pub static MIGRATION_ROLES: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(Some(c"ns_migrate_*, ns_owner_*"));
pub static ADMIN_ROLES: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(Some(c"ns_admin, ns_breakglass_admin"));
pub static ALLOW_TEMP_OBJECTS: GucSetting<bool> = GucSetting::<bool>::new(true);
pub static DESTRUCTIVE_GUARD: GucSetting<GuardMode> = GucSetting::<GuardMode>::new(GuardMode::Enforce);
pub static MAX_ROWS_PER_STATEMENT: GucSetting<i32> = GucSetting::<i32>::new(0);
pub static MAX_ROWS_ESTIMATE: GucSetting<i32> = GucSetting::<i32>::new(0);
pub static AUDIT: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(Some(c"all, -access"));
pub static AUDIT_DESTINATION: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(Some(c"table"));
pub static AUDIT_STATEMENT_MAX_BYTES: GucSetting<i32> = GucSetting::<i32>::new(4096);
/// Seconds (the GUC has a time unit, so '365d' works).
/// In kB: 1 GB.
pub static AUDIT_QUEUE_MAX_SIZE: GucSetting<i32> = GucSetting::<i32>::new(1 << 20);
pub static AUDIT_RETENTION: GucSetting<i32> = GucSetting::<i32>::new(365 * 24 * 60 * 60);
/// Seconds a committed audit row may stay unsealed before audit_verify() and the lint fail.
pub static AUDIT_SEAL_MAX_DELAY: GucSetting<i32> = GucSetting::<i32>::new(60);
pub static AUDIT_DATABASE: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(Some(c"postgres"));

static MIGRATION: BackendCell<RolePatterns> = BackendCell::new(RolePatterns::EMPTY);
static ADMIN: BackendCell<RolePatterns> = BackendCell::new(RolePatterns::EMPTY);

/// Bumped whenever a role set changes; cached role decisions older than this are stale.
static ROLE_SETS_GENERATION: BackendLocal<u64> = BackendLocal::new(0);
static AUDIT_CLASSES: BackendLocal<AuditClasses> = BackendLocal::new(AuditClasses::NONE);
static AUDIT_DESTINATIONS: BackendLocal<Destinations> = BackendLocal::new(Destinations { table: true, log: false });

pub fn audit_classes() -> AuditClasses {
    AUDIT_CLASSES.get()
}

pub fn audit_destinations() -> Destinations {
    AUDIT_DESTINATIONS.get()
}

/// Which role set a name is tested against.
#[derive(Debug, Clone, Copy)]
pub enum RoleSet {
    Migration,
    Admin,
    App,
    Owner,
    Approver,
}

pub fn role_set_matches(set: RoleSet, role_name: &str) -> bool {
    let cell = match set {
        RoleSet::Migration => &MIGRATION,
        RoleSet::Admin => &ADMIN,
        RoleSet::App => &APP,
        RoleSet::Owner => &OWNER,
        RoleSet::Approver => &APPROVER,
    };
    cell.with(|patterns| patterns.borrow().matches(role_name))
}

pub fn role_sets_generation() -> u64 {
    ROLE_SETS_GENERATION.get()
}

/// The text of a string setting, for messages and `status()`.
pub fn text_of(setting: &GucSetting<Option<CString>>) -> String {
    setting.get().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
}

const ROLE_LIST_HINT: &CStr =
    c"Give a comma-separated list of role names in which * matches any characters, for example 'ns_migrate_*, ns_owner_*'.";

unsafe fn guc_text<'a>(value: *const c_char) -> &'a str {
    if value.is_null() {
        ""
    } else {
        CStr::from_ptr(value).to_str().unwrap_or("\u{0}")
    }
}

/// Rejects a value with a DETAIL and a HINT (the GUC machinery raises 22023 with them).
unsafe fn reject(detail: String, hint: &CStr) -> bool {
    let detail = CString::new(detail).unwrap_or_default();
    pg_sys::GUC_check_errdetail_string = pg_sys::pstrdup(detail.as_ptr());
    pg_sys::GUC_check_errhint_string = pg_sys::pstrdup(hint.as_ptr());
    false
}

#[pg_guard]
unsafe extern "C-unwind" fn check_audit_classes(newval: *mut *mut c_char, _extra: *mut *mut c_void, _source: pg_sys::GucSource::Type) -> bool {
    match AuditClasses::parse(guc_text(*newval)) {
        Ok(_) => true,
        Err(e) => reject(
            format!("Invalid audit class list: {e}."),
            c"Use a comma-separated list of: all, none, schema, privilege, role, destructive, denied, login, config, override, access, risky, admin, breakglass; prefix a class with - to remove it, e.g. 'all, -access'.",
        ),
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn assign_audit_classes(newval: *const c_char, _extra: *mut c_void) {
    AUDIT_CLASSES.set(AuditClasses::parse(guc_text(newval)).unwrap_or_default());
}

#[pg_guard]
unsafe extern "C-unwind" fn check_audit_destination(newval: *mut *mut c_char, _extra: *mut *mut c_void, _source: pg_sys::GucSource::Type) -> bool {
    match Destinations::parse(guc_text(*newval)) {
        Ok(_) => true,
        Err(e) => reject(format!("Invalid audit destination: {e}."), c"Use 'table', 'log' or 'table,log'."),
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn assign_audit_destination(newval: *const c_char, _extra: *mut c_void) {
    AUDIT_DESTINATIONS.set(Destinations::parse(guc_text(newval)).unwrap_or_default());
}

#[pg_guard]
unsafe extern "C-unwind" fn check_role_list(
    newval: *mut *mut c_char,
    _extra: *mut *mut c_void,
    _source: pg_sys::GucSource::Type,
) -> bool {
    let text = if newval.is_null() { "" } else { guc_text(*newval) };
    match RolePatterns::parse(text) {
        Ok(_) => true,
        Err(e) => reject(format!("Invalid role list: {e}."), ROLE_LIST_HINT),
    }
}

unsafe fn assign_into(cell: &'static BackendCell<RolePatterns>, newval: *const c_char) {
    let text = guc_text(newval);
    // The check hook accepted this value, so parsing cannot fail here; an assign hook must not
    // raise, so fall back to the empty set rather than erroring.
    let parsed = RolePatterns::parse(text).unwrap_or_default();
    cell.with(|patterns| *patterns.borrow_mut() = parsed);
    ROLE_SETS_GENERATION.set(ROLE_SETS_GENERATION.get().wrapping_add(1));
}

#[pg_guard]
unsafe extern "C-unwind" fn assign_migration_roles(newval: *const c_char, _extra: *mut c_void) {
    assign_into(&MIGRATION, newval)
}

#[pg_guard]
unsafe extern "C-unwind" fn assign_admin_roles(newval: *const c_char, _extra: *mut c_void) {
    assign_into(&ADMIN, newval)
}

/// Defines every `nspg_guard.*` setting, then reserves the prefix, so a misspelt
/// `nspg_guard.dll_guard` is an error instead of a silently ignored placeholder.
///
/// The order matters: `MarkGUCPrefixReserved` removes every placeholder of the prefix that is
/// not defined yet, and at server start the placeholders hold what postgresql.conf says. A
/// setting defined after it would silently start at its default ("invalid configuration
/// parameter name … removing it" in the log), so reserving is the last step, here and only here.
pub fn define() {
    define_guards();
    define_audit();
    define_lint();
    define_admin();
    unsafe { pg_sys::MarkGUCPrefixReserved(c"nspg_guard".as_ptr()) };
}

/// The guards' settings and role sets.
fn define_guards() {
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
        c"Most rows one statement may update or delete, at every nesting level (0: no limit).",
        c"Counts writable CTEs, ON CONFLICT DO UPDATE, triggers, rules and foreign-key actions; a statement that changes more is rolled back with an error. Set it per role or database with ALTER ROLE/DATABASE … SET.",
        &MAX_ROWS_PER_STATEMENT,
        0,
        i32::MAX,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"nspg_guard.max_rows_estimate",
        c"Most rows the plan of one UPDATE, DELETE or MERGE may be estimated to change (0: no limit).",
        c"A statement whose plan estimates more is refused before it changes any row. Set it per role or database with ALTER ROLE/DATABASE … SET.",
        &MAX_ROWS_ESTIMATE,
        0,
        i32::MAX,
        GucContext::Suset,
        GucFlags::default(),
    );
}

/// The audit settings. `audit` and `audit_destination` are PGC_SIGHUP on purpose: no session,
/// not even a superuser's, can switch its own auditing off with SET; they change only through
/// the configuration file or ALTER SYSTEM (itself audited) and a reload.
fn define_audit() {
    unsafe {
        GucRegistry::define_string_guc_with_hooks(
            c"nspg_guard.audit",
            c"Audit classes recorded (pgaudit-style list; -class removes).",
            c"schema, privilege, role, destructive, denied, login, config, override, access, risky, admin, breakglass; all; none.",
            &AUDIT,
            GucContext::Sighup,
            GucFlags::default(),
            Some(check_audit_classes),
            Some(assign_audit_classes),
            None,
        );
        GucRegistry::define_string_guc_with_hooks(
            c"nspg_guard.audit_destination",
            c"Where audit events go: table, log, or table,log.",
            c"log writes one JSON object per event on one server-log line tagged NSPG_AUDIT.",
            &AUDIT_DESTINATION,
            GucContext::Sighup,
            GucFlags::default(),
            Some(check_audit_destination),
            Some(assign_audit_destination),
            None,
        );
    }
    GucRegistry::define_int_guc(
        c"nspg_guard.audit_statement_max_bytes",
        c"Longest statement text stored in an audit row (longer text is cut).",
        c"Keeps the audit trail from becoming a denial-of-service vector (NS-PG-007 §7.2).",
        &AUDIT_STATEMENT_MAX_BYTES,
        64,
        1 << 20,
        GucContext::Suset,
        GucFlags::UNIT_BYTE,
    );
    GucRegistry::define_int_guc(
        c"nspg_guard.audit_queue_max_size",
        c"Most disk space the audit queue of events waiting for the writer may take.",
        c"Beyond it, refusals, logins and other asynchronous events reach only the server log; audit_stats() and the lint finding audit_events_fell_back count them.",
        &AUDIT_QUEUE_MAX_SIZE,
        64,
        i32::MAX,
        GucContext::Sighup,
        GucFlags::UNIT_KB,
    );
    GucRegistry::define_int_guc(
        c"nspg_guard.audit_retention",
        c"How long audit rows are kept before nspg_guard.audit_purge() may remove them.",
        c"Rows younger than this cannot be removed at all.",
        &AUDIT_RETENTION,
        1,
        i32::MAX,
        GucContext::Sighup,
        GucFlags::UNIT_S,
    );
    GucRegistry::define_int_guc(
        c"nspg_guard.audit_seal_max_delay",
        c"Longest time a committed audit row may stay unsealed before audit_verify() reports it.",
        c"Rows are normally sealed within a second or two; a longer delay means the sealer cannot keep up or cannot seal.",
        &AUDIT_SEAL_MAX_DELAY,
        1,
        i32::MAX,
        GucContext::Sighup,
        GucFlags::UNIT_S,
    );
    // A postmaster-level setting can only be defined while the server starts, i.e. when the
    // library is preloaded; without preloading there is no writer to configure anyway.
    if unsafe { !pg_sys::process_shared_preload_libraries_in_progress } {
        return;
    }
    GucRegistry::define_string_guc(
        c"nspg_guard.audit_database",
        c"Database whose nspg_guard.audit_log receives logins and refusals from every database.",
        c"The background writer connects to it; create the extension there.",
        &AUDIT_DATABASE,
        GucContext::Postmaster,
        GucFlags::default(),
    );
}

// ---------------------------------------------------------------------------------------------
// Posture lint settings (NS-PG-007 §3.1, §6.1): the role kinds and tenant columns the lint rules
// reason about. They change nothing at run time, so every role may read them, but only
// superusers set them, like the role sets above.

pub static APP_ROLES: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(Some(c"ns_app_*"));
pub static OWNER_ROLES: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(Some(c"ns_owner_*"));
pub static TENANT_COLUMNS: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(Some(c"tenant_id, org_id, account_id"));

static APP: BackendCell<RolePatterns> = BackendCell::new(RolePatterns::EMPTY);
static OWNER: BackendCell<RolePatterns> = BackendCell::new(RolePatterns::EMPTY);

#[pg_guard]
unsafe extern "C-unwind" fn assign_app_roles(newval: *const c_char, _extra: *mut c_void) {
    assign_into(&APP, newval)
}

#[pg_guard]
unsafe extern "C-unwind" fn assign_owner_roles(newval: *const c_char, _extra: *mut c_void) {
    assign_into(&OWNER, newval)
}

/// Defines the lint settings (from `define`).
fn define_lint() {
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

// ---------------------------------------------------------------------------------------------
// Admin sessions, break-glass and risky capabilities (NS-PG-007 §2.2, §8.1, §8.3, §9, §10).
// The admin limits and the break-glass settings are PGC_SIGHUP: an admin session (superusers
// included) must not be able to lift its own limits or approve itself with SET; they change only
// through the configuration file or ALTER SYSTEM (audited) and a reload.

/// Milliseconds, like the PostgreSQL settings they cap.
pub static ADMIN_STATEMENT_TIMEOUT: GucSetting<i32> = GucSetting::<i32>::new(5 * 60 * 1000);
pub static ADMIN_IDLE_IN_TRANSACTION_TIMEOUT: GucSetting<i32> = GucSetting::<i32>::new(60 * 1000);
pub static ADMIN_IDLE_SESSION_TIMEOUT: GucSetting<i32> = GucSetting::<i32>::new(15 * 60 * 1000);
/// Seconds.
pub static ADMIN_SESSION_MAX_DURATION: GucSetting<i32> = GucSetting::<i32>::new(8 * 60 * 60);
pub static BREAKGLASS_MAX_DURATION: GucSetting<i32> = GucSetting::<i32>::new(60 * 60);
pub static BREAKGLASS_APPROVERS: GucSetting<Option<CString>> =
    GucSetting::<Option<CString>>::new(Some(c"ns_breakglass_approver"));
pub static BREAKGLASS_ROLE: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(Some(c"ns_breakglass_admin"));
pub static BREAKGLASS_SELF_APPROVE: GucSetting<bool> = GucSetting::<bool>::new(false);
pub static RISKY_GUARD: GucSetting<GuardMode> = GucSetting::<GuardMode>::new(GuardMode::Enforce);
pub static EXTENSION_ALLOWLIST: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(Some(
    c"btree_gin, btree_gist, citext, cube, fuzzystrmatch, hstore, intarray, isn, lo, ltree, pg_stat_statements, pg_trgm, pgcrypto, plpgsql, seg, tablefunc, tcn, tsm_system_rows, tsm_system_time, unaccent, uuid-ossp",
));
/// Seconds.
pub static CREDENTIAL_MAX_AGE: GucSetting<i32> = GucSetting::<i32>::new(90 * 24 * 60 * 60);

static APPROVER: BackendCell<RolePatterns> = BackendCell::new(RolePatterns::EMPTY);
static ALLOWLIST: BackendCell<crate::policy::risky::Allowlist> = BackendCell::new(crate::policy::risky::Allowlist::EMPTY);

pub fn extension_allowed(name: &str) -> bool {
    ALLOWLIST.with(|a| a.borrow().contains(name))
}

#[pg_guard]
unsafe extern "C-unwind" fn assign_approvers(newval: *const c_char, _extra: *mut c_void) {
    assign_into(&APPROVER, newval)
}

#[pg_guard]
unsafe extern "C-unwind" fn check_breakglass_role(newval: *mut *mut c_char, _extra: *mut *mut c_void, _source: pg_sys::GucSource::Type) -> bool {
    match crate::policy::breakglass::validate_role_name(guc_text(*newval)) {
        Ok(()) => true,
        Err(e) => reject(format!("Invalid break-glass role: {e}."), c"Give the name of one role, for example 'ns_breakglass_admin'."),
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn assign_breakglass_role(_newval: *const c_char, _extra: *mut c_void) {
    // cached standings say who is escalated: they depend on this name
    ROLE_SETS_GENERATION.set(ROLE_SETS_GENERATION.get().wrapping_add(1));
}

#[pg_guard]
unsafe extern "C-unwind" fn check_allowlist(newval: *mut *mut c_char, _extra: *mut *mut c_void, _source: pg_sys::GucSource::Type) -> bool {
    match crate::policy::risky::Allowlist::parse(guc_text(*newval)) {
        Ok(_) => true,
        Err(e) => reject(format!("Invalid extension allowlist: {e}."), c"Give a comma-separated list of extension names, for example 'pgcrypto, citext'; an empty string allows none."),
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn assign_allowlist(newval: *const c_char, _extra: *mut c_void) {
    let parsed = crate::policy::risky::Allowlist::parse(guc_text(newval)).unwrap_or_default();
    ALLOWLIST.with(|a| *a.borrow_mut() = parsed);
}

fn define_admin_limit(name: &'static CStr, short: &'static CStr, setting: &'static GucSetting<i32>, unit: GucFlags) {
    GucRegistry::define_int_guc(
        name,
        short,
        c"Applies to sessions whose session or current role is an admin (nspg_guard.admin_roles) or a superuser; 0 lifts the cap.",
        setting,
        0,
        i32::MAX,
        GucContext::Sighup,
        unit,
    );
}

/// Defines the admin-session, break-glass and risky-capability settings (from `define`).
fn define_admin() {
    define_admin_limit(c"nspg_guard.admin_statement_timeout", c"Most statement_timeout an admin session may have.", &ADMIN_STATEMENT_TIMEOUT, GucFlags::UNIT_MS);
    define_admin_limit(
        c"nspg_guard.admin_idle_in_transaction_timeout",
        c"Most idle_in_transaction_session_timeout an admin session may have.",
        &ADMIN_IDLE_IN_TRANSACTION_TIMEOUT,
        GucFlags::UNIT_MS,
    );
    define_admin_limit(c"nspg_guard.admin_idle_session_timeout", c"Most idle_session_timeout an admin session may have.", &ADMIN_IDLE_SESSION_TIMEOUT, GucFlags::UNIT_MS);
    define_admin_limit(
        c"nspg_guard.admin_session_max_duration",
        c"Longest an admin session may last; older ones end at their next statement, or when idle.",
        &ADMIN_SESSION_MAX_DURATION,
        GucFlags::UNIT_S,
    );
    GucRegistry::define_int_guc(
        c"nspg_guard.breakglass_max_duration",
        c"Longest break-glass access one request may ask for.",
        c"nspg_guard.breakglass_request() refuses longer durations.",
        &BREAKGLASS_MAX_DURATION,
        1,
        i32::MAX,
        GucContext::Sighup,
        GucFlags::UNIT_S,
    );
    unsafe {
        GucRegistry::define_string_guc_with_hooks(
            c"nspg_guard.breakglass_approvers",
            c"Roles whose members may approve break-glass requests (comma-separated, * wildcards).",
            c"Nobody approves their own request, unless nspg_guard.breakglass_self_approve is on.",
            &BREAKGLASS_APPROVERS,
            GucContext::Sighup,
            GucFlags::default(),
            Some(check_role_list),
            Some(assign_approvers),
            None,
        );
        GucRegistry::define_string_guc_with_hooks(
            c"nspg_guard.breakglass_role",
            c"The role an approved break-glass request grants its requester until it expires.",
            c"The DBA creates it with the privileges emergencies need; it should be in nspg_guard.admin_roles.",
            &BREAKGLASS_ROLE,
            GucContext::Sighup,
            GucFlags::default(),
            Some(check_breakglass_role),
            Some(assign_breakglass_role),
            None,
        );
    }
    GucRegistry::define_bool_guc(
        c"nspg_guard.breakglass_self_approve",
        c"Incident switch: requesters may approve their own break-glass requests.",
        c"Self-approved usages are flagged and need an incident reference.",
        &BREAKGLASS_SELF_APPROVE,
        GucContext::Sighup,
        GucFlags::default(),
    );
    GucRegistry::define_enum_guc(
        c"nspg_guard.risky_guard",
        c"Risky-capability guard: off, warn or enforce.",
        c"Non-admins may not run ALTER SYSTEM, LOAD, COPY to/from a server file or program, or CREATE EXTENSION of an extension outside nspg_guard.extension_allowlist.",
        &RISKY_GUARD,
        GucContext::Suset,
        GucFlags::default(),
    );
    unsafe {
        GucRegistry::define_string_guc_with_hooks(
            c"nspg_guard.extension_allowlist",
            c"Extensions non-admin roles may create (comma-separated; * wildcards).",
            c"Admins may create any extension; each use is audited.",
            &EXTENSION_ALLOWLIST,
            GucContext::Suset,
            GucFlags::default(),
            Some(check_allowlist),
            Some(assign_allowlist),
            None,
        );
    }
    GucRegistry::define_int_guc(
        c"nspg_guard.credential_max_age",
        c"Age after which nspg_guard.credential_age() flags a password for rotation.",
        c"NS-PG-007 §2.3 and §10: rotate credentials on schedule.",
        &CREDENTIAL_MAX_AGE,
        1,
        i32::MAX,
        GucContext::Suset,
        GucFlags::UNIT_S,
    );
}
