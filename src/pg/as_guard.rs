//! Running nspg_guard's own work with more rights than the caller, without handing those rights
//! to anything the caller wrote (CVE-2018-1058, CVE-2020-14350 are the classic shapes).
//!
//! `as_guard` runs its closure as the bootstrap superuser, with the tamper guard's "internal"
//! permission, under `search_path = pg_catalog, pg_temp` forced for its duration (a GUC nest
//! level, as PostgreSQL does for a function's `SET` clause): no name in our SQL resolves to a
//! caller's schema, and temporary objects come last. While the permission is set, no function
//! that is not nspg_guard's own may run (`needs_fmgr_hook`): a planted trigger, domain CHECK,
//! operator, cast or rule action calling a user function is refused, not run as superuser.
//! Functions the caller runs as itself get the same path from their `SET` clause (sql/finalize.sql).

use crate::pg::backend::BackendLocal;
use pgrx::pg_guard;
use pgrx::pg_sys::{self, errcodes::PgSqlErrorCode};

/// Set while nspg_guard itself works with elevated rights (the tamper guard lets it through).
static INTERNAL: BackendLocal<bool> = BackendLocal::new(false);

static mut PREV_NEEDS_FMGR_HOOK: pg_sys::needs_fmgr_hook_type = None;

/// Is nspg_guard itself at work with elevated rights right now?
pub fn internal() -> bool {
    INTERNAL.get()
}

/// What `as_guard` restores, also when its closure raises an ERROR (pgrx unwinds Rust frames):
/// the permission and the user at once; the GUC level only on a normal return, since an
/// aborting (sub)transaction pops it itself.
struct Restore {
    user: pg_sys::Oid,
    context: i32,
    internal_was: bool,
    guc_level: i32,
}

impl Drop for Restore {
    fn drop(&mut self) {
        INTERNAL.set(self.internal_was);
        unsafe {
            pg_sys::SetUserIdAndSecContext(self.user, self.context);
            if !std::thread::panicking() {
                pg_sys::AtEOXact_GUC(true, self.guc_level);
            }
        }
    }
}

/// Forces the safe search path in a new GUC nest level; returns the level.
unsafe fn force_search_path() -> i32 {
    let level = pg_sys::NewGUCNestLevel();
    pg_sys::set_config_option(
        c"search_path".as_ptr(),
        c"pg_catalog, pg_temp".as_ptr(),
        pg_sys::GucContext::PGC_USERSET,
        pg_sys::GucSource::PGC_S_SESSION,
        pg_sys::GucAction::GUC_ACTION_SAVE,
        true,
        0,
        false,
    );
    level
}

/// Runs `f` as the bootstrap superuser with the tamper guard's permission and the fixed search
/// path, restoring all three afterwards (see the module comment).
pub fn as_guard<R>(f: impl FnOnce() -> R) -> R {
    let (mut user, mut context) = (pg_sys::Oid::INVALID, 0);
    unsafe {
        pg_sys::GetUserIdAndSecContext(&mut user, &mut context);
    }
    let guc_level = unsafe { force_search_path() };
    let _restore = Restore { user, context, internal_was: INTERNAL.replace(true), guc_level };
    unsafe {
        pg_sys::SetUserIdAndSecContext(
            pg_sys::Oid::from(pg_sys::BOOTSTRAP_SUPERUSERID),
            context | (pg_sys::SECURITY_LOCAL_USERID_CHANGE | pg_sys::SECURITY_RESTRICTED_OPERATION) as i32,
        );
    }
    f()
}

/// Installs the refusal of user code during nspg_guard's own work; from `guard::hooks::install`.
pub unsafe fn install() {
    PREV_NEEDS_FMGR_HOOK = pg_sys::needs_fmgr_hook;
    pg_sys::needs_fmgr_hook = Some(needs_fmgr_hook);
}

/// PostgreSQL asks this for every function that is not built in, when it looks the function up
/// (also before inlining a SQL function). A plain frame: one thread-local read when idle.
unsafe extern "C-unwind" fn needs_fmgr_hook(function: pg_sys::Oid) -> bool {
    if internal() && u32::from(function) >= pg_sys::FirstNormalObjectId {
        refuse_foreign_function(function);
    }
    match PREV_NEEDS_FMGR_HOOK {
        Some(prev) => prev(function),
        None => false,
    }
}

/// Refuses `function` unless it belongs to the nspg_guard extension.
#[pg_guard]
unsafe extern "C-unwind" fn refuse_foreign_function(function: pg_sys::Oid) {
    let extension = pg_sys::get_extension_oid(c"nspg_guard".as_ptr(), true);
    let owner = pg_sys::getExtensionOfObject(pg_sys::ProcedureRelationId, function);
    if extension != pg_sys::InvalidOid && owner == extension {
        return;
    }
    let name = crate::pg::text::function_name(function);
    crate::pg::errors::fail(
        PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
        format!("nspg_guard: function {name} may not run inside nspg_guard's own privileged work"),
        "A trigger, rule, domain check, operator or cast on nspg_guard's objects, or an object named like one of PostgreSQL's, tried to run code while nspg_guard wrote its own tables; remove it.",
    );
}
