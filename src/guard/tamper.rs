//! nspg_guard's objects change only through its own extension scripts (policy/trail_objects.rs):
//! the rule is by object identity (pg/extension_objects.rs), enforced twice. The utility hook
//! refuses the statements that name one of them from the parse tree, before anything runs, with
//! a clear message; the object-access hook is the backstop that sees every object PostgreSQL
//! creates, alters, drops or truncates, however it was reached (DROP OWNED, REASSIGN OWNED,
//! cascades, a foreign key's triggers, CREATE OR REPLACE, a statement inside a function).
//! `guard/protect.rs` keeps the trail tables' own refusals (append-only rows).

use crate::pg::backend::BackendLocal;
use crate::pg::extension_objects::{self, Ours};
use crate::policy::trail_objects::change_refusal;
use crate::policy::verdict::Enforcement;
use crate::trail::report;
use pgrx::pg_sys::{self, NodeTag, ObjectAccessType};
use pgrx::PgList;
use std::ffi::CStr;

/// The (local transaction, subtransaction) of an ALTER EXTENSION nspg_guard UPDATE in progress:
/// its change of the extension's own row is ours. Any error ends that subtransaction, so a
/// failed update leaves nothing behind that a later statement could use.
static UPDATING: BackendLocal<Option<(u32, u32)>> = BackendLocal::new(None);

/// The client statement (by its start time: VACUUM runs each table in a transaction of its own)
/// of a VACUUM FULL or CLUSTER in progress: the transient table it builds next to each table it
/// rewrites (our tables too; the rows stay as they were) is PostgreSQL's own work.
static REWRITING: BackendLocal<Option<i64>> = BackendLocal::new(None);

unsafe fn statement_mark() -> i64 {
    pg_sys::GetCurrentStatementStartTimestamp()
}

unsafe fn transaction_mark() -> (u32, u32) {
    let local = if pg_sys::MyProc.is_null() { 0 } else { (*pg_sys::MyProc).lxid };
    (local, pg_sys::GetCurrentSubTransactionId())
}

fn refuse(command: &str, object: &str) -> ! {
    report::raise(change_refusal(command, object), Enforcement::Refuse);
    unreachable!("a refusal raises an ERROR")
}

/// Is nspg_guard itself (its scripts, its privileged work, pg_upgrade's restore) at work?
unsafe fn our_own_work(ours: Ours) -> bool {
    crate::pg::as_guard::internal() || pg_sys::IsBinaryUpgrade || (pg_sys::creating_extension && pg_sys::CurrentExtensionObject == ours.extension)
}

/// Backstop, from the object-access hook: refuses creating, altering, dropping or truncating an
/// object that is nspg_guard's or hangs on one of its relations.
///
/// # Safety
/// The arguments are the object-access hook's.
pub unsafe fn check_object_access(access: ObjectAccessType::Type, class_id: pg_sys::Oid, object_id: pg_sys::Oid, arg: *mut std::ffi::c_void) {
    use ObjectAccessType::*;
    if internal_rewrite(access, class_id, arg) {
        return;
    }
    let Some(ours) = extension_objects::installed() else { return };
    if our_own_work(ours) {
        return;
    }
    if access == OAT_POST_ALTER && class_id == pg_sys::ExtensionRelationId && UPDATING.get() == Some(transaction_mark()) {
        return;
    }
    if let Some(object) = extension_objects::owned_by_us(ours, class_id, object_id) {
        let command = match access {
            OAT_POST_CREATE => "CREATE",
            OAT_DROP => "DROP",
            OAT_TRUNCATE => "TRUNCATE",
            _ => "ALTER",
        };
        refuse(command, &object);
    }
}

/// What PostgreSQL does itself as part of a statement judged on its own: an internal alteration,
/// and the transient table (with its row type) that VACUUM FULL and CLUSTER build next to a
/// table to rewrite it without changing its rows, and drop again. An internal trigger (a foreign
/// key's) is not among them.
unsafe fn internal_rewrite(access: ObjectAccessType::Type, class_id: pg_sys::Oid, arg: *mut std::ffi::c_void) -> bool {
    use ObjectAccessType::*;
    let transient = || {
        (class_id == pg_sys::RelationRelationId || class_id == pg_sys::TypeRelationId) && REWRITING.get() == Some(statement_mark())
    };
    match access {
        OAT_POST_ALTER => !arg.is_null() && (*(arg as *mut pg_sys::ObjectAccessPostAlter)).is_internal,
        OAT_POST_CREATE | OAT_DROP => transient(),
        _ => false,
    }
}

/// Utility side: the statements that name one of nspg_guard's objects, or a relation of its as
/// what they attach to or change, refused from the parse tree.
///
/// # Safety
/// `node` is a valid utility parse tree of type `tag`.
pub unsafe fn check_utility(tag: NodeTag, node: *mut pg_sys::Node, command: impl Fn() -> String) {
    if matches!(tag, NodeTag::T_TransactionStmt | NodeTag::T_VariableSetStmt | NodeTag::T_VariableShowStmt) {
        return;
    }
    let Some(ours) = extension_objects::installed() else { return };
    if our_own_work(ours) {
        return;
    }
    let object = match tag {
        NodeTag::T_CreateTrigStmt => relation(ours, (*(node as *mut pg_sys::CreateTrigStmt)).relation),
        NodeTag::T_RuleStmt => relation(ours, (*(node as *mut pg_sys::RuleStmt)).relation),
        NodeTag::T_CreatePolicyStmt => relation(ours, (*(node as *mut pg_sys::CreatePolicyStmt)).table),
        NodeTag::T_AlterPolicyStmt => relation(ours, (*(node as *mut pg_sys::AlterPolicyStmt)).table),
        NodeTag::T_IndexStmt => relation(ours, (*(node as *mut pg_sys::IndexStmt)).relation),
        NodeTag::T_AlterTableStmt => altered(ours, node as *mut pg_sys::AlterTableStmt),
        NodeTag::T_CreateStmt => inherited(ours, (*(node as *mut pg_sys::CreateStmt)).inhRelations),
        NodeTag::T_AlterSeqStmt => relation(ours, (*(node as *mut pg_sys::AlterSeqStmt)).sequence),
        NodeTag::T_RenameStmt => relation(ours, (*(node as *mut pg_sys::RenameStmt)).relation),
        NodeTag::T_AlterObjectSchemaStmt => moved(ours, node as *mut pg_sys::AlterObjectSchemaStmt),
        NodeTag::T_DropStmt => dropped(ours, node as *mut pg_sys::DropStmt),
        NodeTag::T_DropOwnedStmt => owner_of_ours(ours, (*(node as *mut pg_sys::DropOwnedStmt)).roles),
        NodeTag::T_ReassignOwnedStmt => owner_of_ours(ours, (*(node as *mut pg_sys::ReassignOwnedStmt)).roles),
        NodeTag::T_VacuumStmt | NodeTag::T_ClusterStmt => {
            if tag == NodeTag::T_ClusterStmt || vacuum_full(node as *mut pg_sys::VacuumStmt) {
                REWRITING.set(Some(statement_mark()));
            }
            None
        }
        NodeTag::T_AlterExtensionStmt => {
            if is_ours((*(node as *mut pg_sys::AlterExtensionStmt)).extname) {
                UPDATING.set(Some(transaction_mark()));
            }
            None
        }
        _ => None,
    };
    if let Some(object) = object {
        refuse(&command(), &object);
    }
}

unsafe fn vacuum_full(stmt: *mut pg_sys::VacuumStmt) -> bool {
    PgList::<pg_sys::DefElem>::from_pg((*stmt).options)
        .iter_ptr()
        .any(|def| CStr::from_ptr((*def).defname).to_bytes() == b"full" && pg_sys::defGetBoolean(def))
}

unsafe fn is_ours(name: *const std::ffi::c_char) -> bool {
    !name.is_null() && CStr::from_ptr(name).to_bytes() == b"nspg_guard"
}

/// The relation a RangeVar names, if it is nspg_guard's.
unsafe fn relation(ours: Ours, rv: *mut pg_sys::RangeVar) -> Option<String> {
    if rv.is_null() {
        return None;
    }
    let relid = pg_sys::RangeVarGetRelidExtended(rv, pg_sys::NoLock as _, pg_sys::RVROption::RVR_MISSING_OK, None, std::ptr::null_mut());
    if relid == pg_sys::InvalidOid {
        return None;
    }
    extension_objects::owned_by_us(ours, pg_sys::RelationRelationId, relid)
}

/// ALTER TABLE of one of ours, or making another table inherit from (or a partition of) one:
/// its rows would then show in every read of ours.
unsafe fn altered(ours: Ours, stmt: *mut pg_sys::AlterTableStmt) -> Option<String> {
    relation(ours, (*stmt).relation).or_else(|| {
        PgList::<pg_sys::AlterTableCmd>::from_pg((*stmt).cmds).iter_ptr().find_map(|cmd| match (*cmd).subtype {
            pg_sys::AlterTableType::AT_AddInherit => relation(ours, (*cmd).def as *mut pg_sys::RangeVar),
            _ => None,
        })
    })
}

/// CREATE TABLE … INHERITS (or PARTITION OF) one of ours.
unsafe fn inherited(ours: Ours, parents: *mut pg_sys::List) -> Option<String> {
    PgList::<pg_sys::RangeVar>::from_pg(parents).iter_ptr().find_map(|rv| relation(ours, rv))
}

/// SET SCHEMA of one of ours, of anything into schema nspg_guard, or of the extension.
unsafe fn moved(ours: Ours, stmt: *mut pg_sys::AlterObjectSchemaStmt) -> Option<String> {
    if is_ours((*stmt).newschema) {
        return Some("schema nspg_guard".into());
    }
    if (*stmt).objectType == pg_sys::ObjectType::OBJECT_EXTENSION {
        let name = (*stmt).object;
        return (!name.is_null() && (*name).type_ == NodeTag::T_String && is_ours((*(name as *mut pg_sys::String)).sval))
            .then(|| "extension nspg_guard".into());
    }
    relation(ours, (*stmt).relation)
}

/// DROP of a relation of ours, or of a trigger, rule or policy on one.
unsafe fn dropped(ours: Ours, stmt: *mut pg_sys::DropStmt) -> Option<String> {
    use pg_sys::ObjectType::*;
    let on_relation = match (*stmt).removeType {
        OBJECT_TRIGGER | OBJECT_RULE | OBJECT_POLICY => true,
        OBJECT_TABLE | OBJECT_INDEX | OBJECT_SEQUENCE | OBJECT_VIEW | OBJECT_MATVIEW | OBJECT_FOREIGN_TABLE => false,
        _ => return None,
    };
    PgList::<pg_sys::List>::from_pg((*stmt).objects).iter_ptr().find_map(|names| {
        let names = if on_relation { pg_sys::list_truncate(pg_sys::list_copy(names), (*names).length - 1) } else { names };
        if names.is_null() || (*names).length == 0 {
            return None;
        }
        relation(ours, pg_sys::makeRangeVarFromNameList(names))
    })
}

/// DROP OWNED / REASSIGN OWNED of a role that owns one of ours.
unsafe fn owner_of_ours(ours: Ours, roles: *mut pg_sys::List) -> Option<String> {
    let owners = extension_objects::owners(ours);
    PgList::<pg_sys::RoleSpec>::from_pg(roles).iter_ptr().find_map(|spec| {
        let role = pg_sys::get_rolespec_oid(spec, true);
        owners
            .contains(&u32::from(role))
            .then(|| format!("the objects of role {} (it owns nspg_guard's objects)", crate::pg::text::role_name(role)))
    })
}
