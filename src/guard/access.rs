//! Per-relation access auditing (class `access`): `nspg_guard.audit_relation(tbl, 'read' |
//! 'write' | 'all' | 'none')` (api/audit.rs) makes reads and/or writes of that table audited,
//! with the rows the statement touched; here the executor notes them.
//!
//! The list of audited relations is cached per session and reloaded only when
//! `audit_relation()` changes it (it sends a relcache invalidation for its table), so a
//! statement on an unaudited table costs one look at an empty or short list.

use crate::pg::backend::{BackendCell, BackendLocal};
use crate::policy::audit_event::AuditClass;
use crate::trail::write;
use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::spi::Spi;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Read,
    Write,
    All,
}

impl Mode {
    /// `read`, `write`, `all`, or `none` (Some(None)); None for anything else.
    pub fn parse(text: &str) -> Option<Option<Mode>> {
        match text.trim().to_ascii_lowercase().as_str() {
            "read" => Some(Some(Mode::Read)),
            "write" => Some(Some(Mode::Write)),
            "all" => Some(Some(Mode::All)),
            "none" => Some(None),
            _ => None,
        }
    }

    fn covers(self, write: bool) -> bool {
        matches!((self, write), (Mode::All, _) | (Mode::Write, true) | (Mode::Read, false))
    }
}

/// An audited relation of this database: its oid, its mode and its qualified name (named in
/// every event, so resolved once with the list, not per statement).
struct Audited {
    relid: pg_sys::Oid,
    mode: Mode,
    name: String,
}

type AuditedRelations = Vec<Audited>;

static CHANGES: BackendLocal<u64> = BackendLocal::new(0);
/// (generation loaded at, audited relations); None until first needed.
static CACHE: BackendCell<Option<(u64, AuditedRelations)>> = BackendCell::new(None);
static LOADING: BackendLocal<bool> = BackendLocal::new(false);
/// Statements being audited (by QueryDesc address), until ExecutorFinish gives their rows.
static PENDING: BackendCell<Vec<(usize, Pending)>> = BackendCell::new(Vec::new());

/// An access event waiting for its statement's row count.
struct Pending {
    command: &'static str,
    relations: String,
    statement: Option<String>,
}

#[pg_guard]
unsafe extern "C-unwind" fn on_relcache_change(_arg: pg_sys::Datum, _relid: pg_sys::Oid) {
    note_change();
}

#[pg_guard]
unsafe extern "C-unwind" fn on_schema_change(_arg: pg_sys::Datum, _cache: i32, _hash: u32) {
    note_change();
}

/// The list may be stale: reload it at the next look.
fn note_change() {
    CHANGES.set(CHANGES.get().wrapping_add(1));
}

/// Registers the invalidation callbacks; from `_PG_init`. Any relcache invalidation (they are
/// not per-statement events) reloads the short list at the next audited-class check, and so
/// does a schema's change (ALTER SCHEMA … RENAME renames the relations in the list's names).
pub fn register_invalidation() {
    unsafe {
        pg_sys::CacheRegisterRelcacheCallback(Some(on_relcache_change), pg_sys::Datum::from(0));
        pg_sys::CacheRegisterSyscacheCallback(pg_sys::SysCacheIdentifier::NAMESPACEOID as i32, Some(on_schema_change), pg_sys::Datum::from(0));
    }
}

/// `f` of the audited relations of this database, loaded on first need (none while they cannot
/// be read).
fn with_audited<R>(f: impl FnOnce(&[Audited]) -> R) -> R {
    let generation = CHANGES.get();
    let current = CACHE.with(|c| c.borrow().as_ref().is_some_and(|(g, _)| *g == generation));
    if !current {
        if LOADING.get() || crate::pg::trail_tables::audit_log_oid().is_none() {
            return f(&[]);
        }
        let list = load();
        CACHE.with(|c| *c.borrow_mut() = Some((generation, list)));
    }
    CACHE.with(|c| f(c.borrow().as_ref().map_or(&[][..], |(_, list)| list.as_slice())))
}

/// Clears LOADING when dropped: also when the load raised (a statement timeout, a too-deep
/// stack), which would otherwise leave the session's access auditing off for good.
struct Loading;

impl Drop for Loading {
    fn drop(&mut self) {
        LOADING.set(false);
    }
}

/// Reads the list (`nspg_guard.audited_relations`) and names its relations.
fn load() -> AuditedRelations {
    LOADING.set(true);
    let _loading = Loading;
    // read as nspg_guard itself: the acting role has no access to the list
    let loaded = crate::pg::as_guard::as_guard(|| {
        Spi::connect(|client| {
            client
                .select("SELECT relid::pg_catalog.oid, mode FROM nspg_guard.audited_relations", None, &[])?
                .map(|row| Ok((row.get::<pg_sys::Oid>(1)?, row.get::<String>(2)?)))
                .collect::<Result<Vec<_>, pgrx::spi::Error>>()
        })
    });
    loaded
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(oid, mode)| Some((oid?, Mode::parse(mode.as_deref()?)??)))
        .map(|(relid, mode)| Audited { relid, mode, name: unsafe { crate::pg::objects::relation_name(relid) } })
        .collect()
}

/// ExecutorStart: notes a statement that reads or writes an audited relation.
///
/// # Safety
/// `query_desc` is the executor's valid QueryDesc.
pub unsafe fn note_start(query_desc: *mut pg_sys::QueryDesc) {
    if !write::audited(AuditClass::Access) || LOADING.get() || crate::pg::as_guard::internal() {
        return;
    }
    let stmt = (*query_desc).plannedstmt;
    let targets = (*stmt).resultRelations;
    let mut touched: Vec<String> = Vec::new();
    with_audited(|list| {
        if list.is_empty() {
            return;
        }
        for (index, rte) in crate::pg::list::ptrs::<pg_sys::RangeTblEntry>((*stmt).rtable).enumerate() {
            if (*rte).rtekind != pg_sys::RTEKind::RTE_RELATION {
                continue;
            }
            let write = crate::pg::list::ints(targets).any(|target| target == index as i32 + 1);
            if let Some(audited) = list.iter().find(|a| a.relid == (*rte).relid && a.mode.covers(write)) {
                touched.push(audited.name.clone());
            }
        }
    });
    if touched.is_empty() {
        return;
    }
    touched.dedup();
    let command = match (*query_desc).operation {
        pg_sys::CmdType::CMD_INSERT => "INSERT",
        pg_sys::CmdType::CMD_UPDATE => "UPDATE",
        pg_sys::CmdType::CMD_DELETE => "DELETE",
        pg_sys::CmdType::CMD_MERGE => "MERGE",
        _ => "SELECT",
    };
    // this statement's own text, not the rest of a multi-statement query string
    let text = (*query_desc).sourceText;
    let statement = (!text.is_null()).then(|| crate::pg::statement::statement_text(text, stmt));
    let pending = Pending { command, relations: touched.join(", "), statement };
    PENDING.with(|p| p.borrow_mut().push((query_desc as usize, pending)));
}

/// A COPY of an audited table, noted before it runs (COPY of a table does not pass the executor).
pub struct CopyAccess(Pending);

/// Notes a COPY that reads or writes an audited table; `statement` gives its text.
///
/// # Safety
/// `copy` is a valid CopyStmt parse tree.
pub unsafe fn note_copy(copy: *mut pg_sys::CopyStmt, statement: impl FnOnce() -> String) -> Option<CopyAccess> {
    if (*copy).relation.is_null() || !write::audited(AuditClass::Access) || crate::pg::as_guard::internal() {
        return None;
    }
    if with_audited(<[Audited]>::is_empty) {
        return None;
    }
    let relid = pg_sys::RangeVarGetRelidExtended((*copy).relation, pg_sys::NoLock as _, pg_sys::RVROption::RVR_MISSING_OK, None, std::ptr::null_mut());
    let writes = (*copy).is_from;
    let name = with_audited(|list| list.iter().find(|a| a.relid == relid && a.mode.covers(writes)).map(|a| a.name.clone()))?;
    let command = if writes { "COPY FROM" } else { "COPY TO" };
    Some(CopyAccess(Pending { command, relations: name, statement: Some(statement()) }))
}

/// Writes the access event of a COPY that succeeded, with the rows it copied.
pub fn record_copy(copy: CopyAccess, rows: u64) {
    record(copy.0, rows);
}

fn record(pending: Pending, rows: u64) {
    let mut event = write::event(AuditClass::Access, "committed");
    event.command_tag = Some(pending.command.to_string());
    event.object_type = Some("table".into());
    event.object_identity = Some(pending.relations);
    event.rows = Some(rows as i64);
    event.statement = pending.statement;
    write::record_committed(event);
}

/// ExecutorFinish: writes the access event of a noted statement, with its row count, in the
/// statement's transaction.
///
/// # Safety
/// `query_desc` is the executor's valid QueryDesc, after ExecutorRun.
pub unsafe fn note_finish(query_desc: *mut pg_sys::QueryDesc) {
    let found = PENDING.with(|p| {
        let mut pending = p.borrow_mut();
        let at = pending.iter().rposition(|(qd, _)| *qd == query_desc as usize)?;
        // entries above it belong to statements that failed: drop them with it
        let entry = pending.swap_remove(at);
        pending.truncate(at);
        Some(entry.1)
    });
    let Some(pending) = found else { return };
    record(pending, (*(*query_desc).estate).es_processed);
}
