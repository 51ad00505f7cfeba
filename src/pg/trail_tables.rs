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

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn on_relation_names_change(_arg: pg_sys::Datum, _cacheid: i32, _hash: u32) {
    RELATION_CHANGES.set(RELATION_CHANGES.get().wrapping_add(1));
}

/// How many times a relation or schema was created, dropped or renamed as this backend saw it
/// (its syscache invalidations): a lookup by name made at one count holds while it stays.
pub fn relation_changes() -> u64 {
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
/// Cached until a relation or schema is created, dropped or renamed.
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
            NO_TRAIL
        } else {
            Trail {
                schema,
                log: pg_sys::get_relname_relid(c"audit_log".as_ptr(), schema),
                chain: pg_sys::get_relname_relid(c"audit_chain".as_ptr(), schema),
                breakglass: pg_sys::get_relname_relid(c"breakglass_requests".as_ptr(), schema),
                lockdowns: pg_sys::get_relname_relid(c"role_lockdowns".as_ptr(), schema),
            }
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
