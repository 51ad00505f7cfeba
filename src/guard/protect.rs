//! The audit trail guards itself (NS-PG-007 §7.3, evidence "stored immutably where feasible"):
//! while the library is loaded nobody, superusers included, can change or remove audit rows
//! through SQL — no INSERT/UPDATE/DELETE/MERGE/COPY FROM into the table except nspg_guard's own,
//! no TRUNCATE, ALTER, DROP or rename of it, and no DROP of its schema or of the extension
//! (dropping the extension would drop the trail; uninstalling takes a restart without the
//! library, which the next start with it records). Old rows leave only through
//! `nspg_guard.audit_purge()`. The same holds for the rows of every other table of nspg_guard
//! (which tables are audited, suppressions, snapshots, reviews, lint rules, …): they change only
//! through nspg_guard's functions, its extension scripts or a restore, so no DML switches a
//! control off silently. Each refusal is itself audited (class `denied`).

use crate::guard::restore::{self, Restore};
use crate::pg::extension_objects;
use crate::pg::trail_tables::{audit_log_oid, trail};
use crate::policy::trail_objects::registry_hint;
use crate::policy::verdict::{Enforcement, Refusal};
use crate::trail::report;
use pgrx::PgList;
use pgrx::pg_sys::{self, errcodes::PgSqlErrorCode, NodeTag};
use std::ffi::CStr;

const EXTENSION: &str = "nspg_guard";

/// Something the guard protects: a trail table, a registry table, the schema, the extension.
struct Protected {
    name: String,
    /// A registry (changed through nspg_guard's functions) rather than the append-only trail.
    registry: bool,
}

fn trail_object(name: &str) -> Protected {
    Protected { name: name.into(), registry: false }
}

fn registry(name: &str) -> Protected {
    Protected { name: name.into(), registry: true }
}

/// The trail table or named registry `relid` is, if it is one (what ALTER, DROP and rename of a
/// table are checked against here; the tamper guard refuses them for the other tables).
fn trail_table(relid: pg_sys::Oid) -> Option<Protected> {
    let trail = trail();
    match relid {
        _ if relid == pg_sys::InvalidOid => None,
        _ if relid == trail.log => Some(trail_object("nspg_guard.audit_log")),
        _ if relid == trail.chain => Some(trail_object("nspg_guard.audit_chain")),
        _ if relid == trail.breakglass => Some(registry("nspg_guard.breakglass_requests")),
        _ if relid == trail.lockdowns => Some(registry("nspg_guard.role_lockdowns")),
        _ => None,
    }
}

/// Any table of nspg_guard `relid` is, if it is one: a trail table, or any other relation that
/// extension_objects counts as ours. Only a relation in schema nspg_guard (one cached oid
/// against the relation's cached catalog row) goes on to that check.
fn protected_table(relid: pg_sys::Oid) -> Option<Protected> {
    if let Some(table) = trail_table(relid) {
        return Some(table);
    }
    let schema = trail().schema;
    if schema == pg_sys::InvalidOid || relid == pg_sys::InvalidOid || unsafe { pg_sys::get_rel_namespace(relid) } != schema {
        return None;
    }
    let ours = extension_objects::installed()?;
    unsafe { extension_objects::relation_is_ours(ours, relid) }.map(|name| registry(&name))
}

fn refusal(command: &str, target: &Protected) -> Refusal {
    let (what, registry) = (target.name.as_str(), target.registry);
    Refusal {
        sqlstate: PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
        message: if registry {
            format!("nspg_guard: {command} on {what} refused: the registry changes only through nspg_guard's functions")
        } else {
            format!("nspg_guard: {command} on {what} refused: the audit trail is append-only")
        },
        detail: "While nspg_guard is loaded, audit rows and registry rows cannot be changed or removed through SQL, by anyone.".into(),
        hint: if registry {
            registry_hint(what).into()
        } else {
            "Rows older than nspg_guard.audit_retention are removed with SELECT nspg_guard.audit_purge(); to uninstall, remove nspg_guard from shared_preload_libraries and restart first.".into()
        },
        command: command.to_string(),
        object: Some(what.to_string()),
    }
}

fn refuse(command: &str, target: Protected) {
    report::raise(refusal(command, &target), Enforcement::Refuse);
}

/// Is nspg_guard's own extension script (CREATE EXTENSION, ALTER EXTENSION UPDATE) running?
/// Another extension's script is not.
fn our_script_running() -> bool {
    unsafe { pg_sys::creating_extension && extension_objects::installed().is_some_and(|ours| ours.extension == pg_sys::CurrentExtensionObject) }
}

/// Executor side: a statement writing `relid` (any ModifyTable target).
pub fn check_write(relid: pg_sys::Oid, command: &str) {
    if crate::pg::as_guard::internal() {
        return;
    }
    if let Some(table) = protected_table(relid).filter(|_| !our_script_running()) {
        refuse(command, table);
    }
}

/// The relation a RangeVar names, if the extension is installed.
unsafe fn named(rv: *mut pg_sys::RangeVar) -> Option<pg_sys::Oid> {
    if rv.is_null() || audit_log_oid().is_none() {
        return None;
    }
    Some(pg_sys::RangeVarGetRelidExtended(rv, pg_sys::NoLock as _, pg_sys::RVROption::RVR_MISSING_OK, None, std::ptr::null_mut()))
}

/// The trail table a RangeVar names, if it names one.
unsafe fn names_trail(rv: *mut pg_sys::RangeVar) -> Option<Protected> {
    named(rv).and_then(trail_table)
}

/// The table of nspg_guard a RangeVar names, if it names one.
unsafe fn names_protected(rv: *mut pg_sys::RangeVar) -> Option<(pg_sys::Oid, Protected)> {
    named(rv).and_then(|relid| protected_table(relid).map(|table| (relid, table)))
}

unsafe fn is_ours(name: *const std::ffi::c_char) -> bool {
    !name.is_null() && CStr::from_ptr(name).to_bytes() == EXTENSION.as_bytes()
}

/// Utility side: TRUNCATE, ALTER, DROP, rename or COPY FROM of the table; DROP or rename of
/// its schema; DROP EXTENSION nspg_guard or removing members from it. A COPY FROM that
/// restores a dump is admitted (guard/restore.rs): returned, to be recorded after it succeeds.
///
/// # Safety
/// `node` is a valid utility parse tree.
pub unsafe fn check_utility(tag: NodeTag, node: *mut pg_sys::Node) -> Option<Restore> {
    if crate::pg::as_guard::internal() || pg_sys::creating_extension {
        return None;
    }
    use pg_sys::ObjectType::*;
    match tag {
        NodeTag::T_TruncateStmt => {
            let relations = PgList::<pg_sys::RangeVar>::from_pg((*(node as *mut pg_sys::TruncateStmt)).relations);
            let named = relations.iter_ptr().find_map(|rv| names_protected(rv));
            if let Some((_, table)) = named {
                refuse("TRUNCATE", table);
            }
        }
        NodeTag::T_AlterTableStmt => {
            if let Some(table) = names_trail((*(node as *mut pg_sys::AlterTableStmt)).relation) {
                refuse("ALTER TABLE", table)
            }
        }
        NodeTag::T_CopyStmt => {
            let copy = node as *mut pg_sys::CopyStmt;
            if let Some((relid, table)) = names_protected((*copy).relation).filter(|_| (*copy).is_from) {
                let admitted = restore::admit(copy, relid, &table.name);
                if admitted.is_none() {
                    let mut refused = refusal("COPY FROM", &table);
                    if restore::dumped(relid) {
                        refused.hint = restore::NOT_A_RESTORE.into();
                    }
                    report::raise(refused, Enforcement::Refuse);
                }
                return admitted;
            }
        }
        NodeTag::T_RenameStmt => {
            let rename = node as *mut pg_sys::RenameStmt;
            if let Some(table) = names_trail((*rename).relation) {
                refuse("ALTER TABLE RENAME", table);
            } else if (*rename).renameType == OBJECT_SCHEMA && is_ours((*rename).subname) {
                refuse("ALTER SCHEMA RENAME", trail_object("schema nspg_guard"));
            }
        }
        NodeTag::T_AlterExtensionContentsStmt if is_ours((*(node as *mut pg_sys::AlterExtensionContentsStmt)).extname) => {
            refuse("ALTER EXTENSION", trail_object("extension nspg_guard"))
        }
        NodeTag::T_DropStmt => {
            let drop = node as *mut pg_sys::DropStmt;
            let objects = PgList::<pg_sys::Node>::from_pg((*drop).objects);
            match (*drop).removeType {
                OBJECT_TABLE => {
                    let named = objects.iter_ptr().find_map(|names| names_trail(pg_sys::makeRangeVarFromNameList(names as *mut pg_sys::List)));
                    if let Some(table) = named {
                        refuse("DROP TABLE", table);
                    }
                }
                kind @ (OBJECT_SCHEMA | OBJECT_EXTENSION) => {
                    let ours = objects.iter_ptr().any(|n| is_a_string(n) && is_ours((*(n as *mut pg_sys::String)).sval));
                    if ours && kind == OBJECT_SCHEMA {
                        refuse("DROP SCHEMA", trail_object("schema nspg_guard"));
                    } else if ours {
                        refuse("DROP EXTENSION", trail_object("extension nspg_guard"));
                    }
                }
                _ => {}
            }
        }
        _ => {}
    }
    None
}

unsafe fn is_a_string(node: *mut pg_sys::Node) -> bool {
    !node.is_null() && (*node).type_ == NodeTag::T_String
}
