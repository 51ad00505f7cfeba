//! The audit trail guards itself (NS-PG-007 §7.3, evidence "stored immutably where feasible"):
//! while the library is loaded nobody, superusers included, can change or remove audit rows
//! through SQL — no INSERT/UPDATE/DELETE/MERGE/COPY FROM into the table except nspg_guard's own,
//! no TRUNCATE, ALTER, DROP or rename of it, and no DROP of its schema or of the extension
//! (dropping the extension would drop the trail; uninstalling takes a restart without the
//! library, which the next start with it records). Old rows leave only through
//! `nspg_guard.audit_purge()`. Each refusal is itself audited (class `denied`).

use crate::guard::restore::{self, Restore};
use crate::pg::trail_tables::{audit_log_oid, trail};
use crate::policy::verdict::{Enforcement, Refusal};
use crate::trail::report;
use pgrx::PgList;
use pgrx::pg_sys::{self, errcodes::PgSqlErrorCode, NodeTag};
use std::ffi::CStr;

const EXTENSION: &str = "nspg_guard";

/// Something the guard protects: a trail table, a registry table, the schema, the extension.
#[derive(Clone, Copy)]
struct Protected {
    name: &'static str,
    /// A registry (changed through nspg_guard's functions) rather than the append-only trail.
    registry: bool,
}

const AUDIT_LOG: Protected = Protected { name: "nspg_guard.audit_log", registry: false };
const AUDIT_CHAIN: Protected = Protected { name: "nspg_guard.audit_chain", registry: false };
const BREAKGLASS_REQUESTS: Protected = Protected { name: "nspg_guard.breakglass_requests", registry: true };
const ROLE_LOCKDOWNS: Protected = Protected { name: "nspg_guard.role_lockdowns", registry: true };
const SCHEMA: Protected = Protected { name: "schema nspg_guard", registry: false };
const EXTENSION_ITSELF: Protected = Protected { name: "extension nspg_guard", registry: false };

/// The protected table `relid` is, if it is one.
fn trail_table(relid: pg_sys::Oid) -> Option<Protected> {
    let trail = trail();
    match relid {
        _ if relid == pg_sys::InvalidOid => None,
        _ if relid == trail.log => Some(AUDIT_LOG),
        _ if relid == trail.chain => Some(AUDIT_CHAIN),
        _ if relid == trail.breakglass => Some(BREAKGLASS_REQUESTS),
        _ if relid == trail.lockdowns => Some(ROLE_LOCKDOWNS),
        _ => None,
    }
}

fn refusal(command: &str, target: Protected) -> Refusal {
    let (what, registry) = (target.name, target.registry);
    Refusal {
        sqlstate: PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
        message: if registry {
            format!("nspg_guard: {command} on {what} refused: the registry changes only through nspg_guard's functions")
        } else {
            format!("nspg_guard: {command} on {what} refused: the audit trail is append-only")
        },
        detail: "While nspg_guard is loaded, audit rows and registry rows cannot be changed or removed through SQL, by anyone.".into(),
        hint: if registry {
            "Use nspg_guard.breakglass_request/approve/deny/end/review() and nspg_guard.lockdown_role/unlock_role().".into()
        } else {
            "Rows older than nspg_guard.audit_retention are removed with SELECT nspg_guard.audit_purge(); to uninstall, remove nspg_guard from shared_preload_libraries and restart first.".into()
        },
        command: command.to_string(),
        object: Some(what.to_string()),
    }
}

fn refuse(command: &str, target: Protected) {
    report::raise(refusal(command, target), Enforcement::Refuse);
}

/// Executor side: a statement writing `relid` (any ModifyTable target).
pub fn check_write(relid: pg_sys::Oid, command: &str) {
    if crate::pg::as_guard::internal() {
        return;
    }
    if let Some(table) = trail_table(relid) {
        refuse(command, table);
    }
}

/// The trail table a RangeVar names, if it names one.
unsafe fn names_trail(rv: *mut pg_sys::RangeVar) -> Option<Protected> {
    if rv.is_null() || audit_log_oid().is_none() {
        return None;
    }
    trail_table(pg_sys::RangeVarGetRelidExtended(rv, pg_sys::NoLock as _, pg_sys::RVROption::RVR_MISSING_OK, None, std::ptr::null_mut()))
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
            let named = relations.iter_ptr().find_map(|rv| names_trail(rv));
            if let Some(table) = named {
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
            if let Some(table) = names_trail((*copy).relation).filter(|_| (*copy).is_from) {
                let admitted = restore::admit(copy, table.name);
                if admitted.is_none() {
                    let mut refused = refusal("COPY FROM", table);
                    refused.hint = restore::NOT_A_RESTORE.into();
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
                refuse("ALTER SCHEMA RENAME", SCHEMA);
            }
        }
        NodeTag::T_AlterExtensionContentsStmt if is_ours((*(node as *mut pg_sys::AlterExtensionContentsStmt)).extname) => {
            refuse("ALTER EXTENSION", EXTENSION_ITSELF)
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
                        refuse("DROP SCHEMA", SCHEMA);
                    } else if ours {
                        refuse("DROP EXTENSION", EXTENSION_ITSELF);
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
