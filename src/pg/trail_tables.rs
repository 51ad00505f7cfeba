//! Where nspg_guard's own tables are in this database: the audit log and its hash chain, and the
//! registries whose rows are evidence too (break-glass requests, lockdowns). Looked up by name
//! in schema nspg_guard and cached until a relation or schema is created, dropped or renamed,
//! so the per-statement path asks no catalog.

use crate::pg::backend::BackendLocal;
use pgrx::pg_sys;

/// The trail's tables: the log and its hash chain, and the registries whose rows are evidence
/// too (break-glass requests, lockdowns).
#[derive(Clone, Copy)]
pub struct Trail {
    /// Schema nspg_guard: every table in it is nspg_guard's (guard/protect.rs).
    pub schema: pg_sys::Oid,
    pub log: pg_sys::Oid,
    pub chain: pg_sys::Oid,
    pub breakglass: pg_sys::Oid,
    pub lockdowns: pg_sys::Oid,
}

const NO_TRAIL: Trail =
    Trail { schema: pg_sys::Oid::INVALID, log: pg_sys::Oid::INVALID, chain: pg_sys::Oid::INVALID, breakglass: pg_sys::Oid::INVALID, lockdowns: pg_sys::Oid::INVALID };

/// (generation it was looked up at, the tables); u64::MAX = never looked up.
static TRAIL: BackendLocal<(u64, Trail)> = BackendLocal::new((u64::MAX, NO_TRAIL));
static RELATION_CHANGES: BackendLocal<u64> = BackendLocal::new(0);
/// The relation-name cache's hash values of the trail's tables' names in schema nspg_guard, as
/// of the last look-up (None: the schema did not exist). Only these names can change it.
static WATCHED_NAMES: BackendLocal<Option<[u32; 4]>> = BackendLocal::new(None);

const TABLES: [&std::ffi::CStr; 4] = [c"audit_log", c"audit_chain", c"breakglass_requests", c"role_lockdowns"];

/// A schema changed, or a relation name did (hash 0: every one may have): counted when it can
/// change the look-up, not for every relation created, analyzed or dropped elsewhere.
#[pgrx::pg_guard]
unsafe extern "C-unwind" fn on_relation_names_change(_arg: pg_sys::Datum, cacheid: i32, hash: u32) {
    let relation_name = cacheid == pg_sys::SysCacheIdentifier::RELNAMENSP as i32;
    if !relation_name || hash == 0 || WATCHED_NAMES.get().is_some_and(|watched| watched.contains(&hash)) {
        RELATION_CHANGES.set(RELATION_CHANGES.get().wrapping_add(1));
    }
}

/// How many times, as this backend saw it (syscache invalidations), a schema was created,
/// dropped or renamed, or a relation named like one of the trail's tables in schema nspg_guard:
/// the trail's oids and whether the extension is installed (its script creates the trail's
/// tables, its DROP drops them) hold while it stays. Looks the trail up first if needed, so
/// the count watches the current schema's names.
pub fn relation_changes() -> u64 {
    trail();
    RELATION_CHANGES.get()
}

/// Registers the cache invalidation that keeps the trail's oids fresh; from `_PG_init`.
pub fn register_invalidation() {
    unsafe {
        for cache in [pg_sys::SysCacheIdentifier::RELNAMENSP, pg_sys::SysCacheIdentifier::NAMESPACEOID] {
            pg_sys::CacheRegisterSyscacheCallback(cache as i32, Some(on_relation_names_change), pg_sys::Datum::from(0));
        }
    }
}

/// The trail's tables in this database (InvalidOid where the extension is not installed).
/// Cached until a schema, or a relation of one of their names in schema nspg_guard, is created,
/// dropped or renamed.
pub fn trail() -> Trail {
    let generation = RELATION_CHANGES.get();
    let (seen, trail) = TRAIL.get();
    if seen == generation {
        return trail;
    }
    let trail = unsafe {
        if !pg_sys::IsTransactionState() {
            return NO_TRAIL;
        }
        let schema = pg_sys::get_namespace_oid(c"nspg_guard".as_ptr(), true);
        if schema == pg_sys::InvalidOid {
            WATCHED_NAMES.set(None);
            NO_TRAIL
        } else {
            WATCHED_NAMES.set(Some(TABLES.map(|name| {
                pg_sys::GetSysCacheHashValue(
                    pg_sys::SysCacheIdentifier::RELNAMENSP as i32,
                    pg_sys::Datum::from(name.as_ptr()),
                    pg_sys::Datum::from(schema),
                    pg_sys::Datum::from(0),
                    pg_sys::Datum::from(0),
                )
            })));
            let [log, chain, breakglass, lockdowns] = TABLES.map(|name| pg_sys::get_relname_relid(name.as_ptr(), schema));
            Trail { schema, log, chain, breakglass, lockdowns }
        }
    };
    TRAIL.set((generation, trail));
    trail
}

/// The oid of `nspg_guard.audit_log` in this database, if the extension is installed.
pub fn audit_log_oid() -> Option<pg_sys::Oid> {
    let log = trail().log;
    (log != pg_sys::InvalidOid).then_some(log)
}

/// Whether this database holds the break-glass registry table (the audit database does).
pub fn breakglass_registry_exists() -> bool {
    trail().breakglass != pg_sys::InvalidOid
}

/// The version of nspg_guard's SQL objects in this database (`pg_extension.extversion`), if
/// the extension is installed; it differs from the library's between a library update and
/// `ALTER EXTENSION nspg_guard UPDATE`.
pub fn extension_version() -> Option<String> {
    crate::pg::as_guard::as_guard(|| {
        pgrx::spi::Spi::get_one::<String>("SELECT extversion FROM pg_catalog.pg_extension WHERE extname OPERATOR(pg_catalog.=) 'nspg_guard'")
    })
    .ok()
    .flatten()
}
