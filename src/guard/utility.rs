//! Reads a utility statement's parse tree into the plain facts the pure rules take, and applies
//! the DDL guard and the utility side of the destructive guard (TRUNCATE, DROP). Catalog access happens only on the refusal path (role standing is cached,
//! temp-object checks run only for a statement that would otherwise be refused).

use crate::guard::admin_session;
use crate::guard::catalog_writes;
use crate::guard::persistence;
use crate::guard::protect;
use crate::guard::tamper;
use crate::pg::objects;
use crate::pg::settings;
use crate::pg::standing;
use crate::pg::text::role_name;
use crate::policy::audit_event::{self, AuditClass, AuditEvent};
use crate::policy::classify::{self, Class, CopyEndpoint, Facts};
use crate::policy::ddl_guard::{self, Authority, RoleSets};
use crate::policy::destructive;
use crate::policy::risky::{self, RiskyCommand};
use crate::policy::verdict::Enforcement;
use crate::trail::database_events;
use crate::trail::report;
use crate::trail::write;
use pgrx::pg_sys::{self, NodeTag};
use pgrx::{is_a, PgList};
use std::ffi::CStr;

/// What to do once the statement has succeeded: the DROP warning, the audit row.
pub struct AfterSuccess {
    warning: Option<String>,
    /// Look at the session again after it (`admin_session::recheck_after`).
    session_recheck: Option<bool>,
    /// Boxed: most statements have none, and this travels through the hook's bookkeeping.
    event: Option<Box<AuditEvent>>,
    /// The event's log line was written before the statement ran (`write::log_ahead`).
    event_logged: bool,
    /// A COPY of an audited table, recorded with the rows it copied.
    copy_access: Option<Box<crate::guard::access::CopyAccess>>,
    /// A superuser gave the break-glass role outside an approved request: a flagged event.
    granted_directly: Option<Box<AuditEvent>>,
    /// A COPY FROM into a system catalog: judged with the rows it wrote (`catalog_writes`).
    catalog_copy: Option<String>,
    /// A COPY that restores a dump into the trail, recorded with the rows it restored.
    restore: Option<Box<crate::guard::restore::Restore>>,
    /// A CREATE or DROP DATABASE, acted on at commit (`database_events`).
    database_change: Option<Box<database_events::Change>>,
}

/// Checks one utility statement against the audit trail's own protection, the DDL guard and
/// the destructive guard (each raises if it refuses), and prepares what follows success, if
/// anything does.
///
/// # Safety
/// `node` is a valid utility parse tree; `statement` gives its text (only asked for when the
/// statement is audited, to keep the per-statement path free of copies).
pub unsafe fn check(node: *mut pg_sys::Node, statement: impl Fn() -> String) -> Option<AfterSuccess> {
    if inert(node) {
        return admin_session::recheck_after((*node).type_, node).map(|local| AfterSuccess {
            warning: None,
            session_recheck: Some(local),
            event: None,
            event_logged: false,
            copy_access: None,
            granted_directly: None,
            catalog_copy: None,
            restore: None,
            database_change: None,
        });
    }
    let (tag, node) = effective_statement(node);
    let restore = protect::check_utility(tag, node).map(Box::new);
    tamper::check_utility(tag, node, || command_tag(node));
    admin_session::check_utility(tag, node);
    let described = persistence::Described {
        command: &|| command_tag(node),
        text: &statement,
        temporary: &|| is_temp_object(tag, node),
    };
    let granted_directly = persistence::check(tag, node, &described).map(Box::new);
    let facts = facts_of(tag, node);
    let class = classify::classify(tag, facts);
    let temp_allowed = check_ddl(tag, node, class);
    if class == Class::Risky {
        check_risky(tag, node, facts);
    }
    // server files, programs, untrusted languages reached by other statements
    let uses_capability = crate::guard::capability::check_utility(tag, node, || command_tag(node));
    let warning = match tag {
        NodeTag::T_TruncateStmt => {
            check_truncate(node as *mut pg_sys::TruncateStmt);
            None
        }
        NodeTag::T_DropStmt => drop_warning(node as *mut pg_sys::DropStmt),
        NodeTag::T_DropdbStmt => dropdb_warning(node as *mut pg_sys::DropdbStmt),
        _ => None,
    };
    let event = (if uses_capability { Some(AuditClass::Risky) } else { audit_class(tag, node, class, warning.is_some()) })
        .filter(|&c| write::audited(c) && !temp_allowed)
        .map(|c| {
            let mut event = write::event(c, "committed");
            let (object_type, object) = objects::describe(node);
            event.command_tag = Some(command_tag(node));
            event.object_type = object_type.map(str::to_string);
            event.object_identity = object;
            event.statement = Some(statement());
            if sets_password(tag, node) {
                event.details = Some(serde_json::json!({ "password_set": true }));
            }
            Box::new(event)
        });
    // a COPY to a server file or a program writes at once, committed or not: its line is logged now
    let event_logged = event.is_some() && acts_at_once(tag, node, facts);
    if let (true, Some(event)) = (event_logged, &event) {
        write::log_ahead(event);
    }
    let session_recheck = admin_session::recheck_after(tag, node);
    let copy_access = if tag == NodeTag::T_CopyStmt {
        crate::guard::access::note_copy(node as *mut pg_sys::CopyStmt, &statement).map(Box::new)
    } else {
        None
    };
    let catalog_copy = (tag == NodeTag::T_CopyStmt && copies_into_catalog(node as *mut pg_sys::CopyStmt)).then(&statement);
    let database_change = database_change(tag, node).map(Box::new);
    (warning.is_some()
        || event.is_some()
        || session_recheck.is_some()
        || copy_access.is_some()
        || granted_directly.is_some()
        || catalog_copy.is_some()
        || restore.is_some()
        || database_change.is_some())
    .then_some(AfterSuccess {
        warning,
        session_recheck,
        event,
        event_logged,
        copy_access,
        granted_directly,
        catalog_copy,
        restore,
        database_change,
    })
}

/// The database a CREATE DATABASE makes (by name: it does not exist yet), or the one a DROP
/// DATABASE removes (by oid: it will not exist after).
unsafe fn database_change(tag: NodeTag, node: *mut pg_sys::Node) -> Option<database_events::Change> {
    let name = |name: *const std::ffi::c_char| CStr::from_ptr(name).to_string_lossy().into_owned();
    match tag {
        NodeTag::T_CreatedbStmt => Some(database_events::Change::Created(name((*(node as *mut pg_sys::CreatedbStmt)).dbname))),
        NodeTag::T_DropdbStmt => {
            let oid = pg_sys::get_database_oid((*(node as *mut pg_sys::DropdbStmt)).dbname, true);
            (oid != pg_sys::InvalidOid).then(|| database_events::Change::Dropped(oid.to_u32()))
        }
        _ => None,
    }
}

/// Does `check` have nothing to judge in this statement (`classify::inert`)? Then it only asks
/// whether the session must be looked at again, which a quiet session need not be.
///
/// # Safety
/// `node` is a valid utility parse tree.
pub unsafe fn inert(node: *mut pg_sys::Node) -> bool {
    classify::inert((*node).type_, about_prepared_transaction(node))
}

/// Does `check` have nothing to judge in this statement when the session is quiet
/// (`admin_session::quiet`: neither admin nor escalated, so no cap or escalation rule applies and
/// `recheck_after` would change nothing)? The inert statements, and SET or RESET of a setting
/// `classify::set_inert_when_quiet` lets pass, EXPLAIN of a query (one it analyzes runs through
/// the executor hooks, which judge it) and ANALYZE (statistics only).
///
/// # Safety
/// `node` is a valid utility parse tree.
pub unsafe fn inert_when_quiet(node: *mut pg_sys::Node) -> bool {
    use pg_sys::VariableSetKind::*;
    match (*node).type_ {
        NodeTag::T_VariableSetStmt => {
            let set = node as *mut pg_sys::VariableSetStmt;
            matches!((*set).kind, VAR_SET_VALUE | VAR_SET_DEFAULT | VAR_SET_CURRENT | VAR_RESET)
                && !(*set).name.is_null()
                && classify::set_inert_when_quiet(CStr::from_ptr((*set).name).to_bytes())
        }
        NodeTag::T_ExplainStmt => {
            let query = (*(node as *mut pg_sys::ExplainStmt)).query;
            is_a(query, NodeTag::T_Query) && (*(query as *mut pg_sys::Query)).utilityStmt.is_null()
        }
        NodeTag::T_VacuumStmt => !(*(node as *mut pg_sys::VacuumStmt)).is_vacuumcmd,
        _ => inert(node),
    }
}

/// COPY … FROM into a system catalog (noted for `catalog_writes`).
unsafe fn copies_into_catalog(copy: *mut pg_sys::CopyStmt) -> bool {
    if !(*copy).is_from || (*copy).relation.is_null() {
        return false;
    }
    let relid = pg_sys::RangeVarGetRelidExtended((*copy).relation, pg_sys::NoLock as _, pg_sys::RVROption::RVR_MISSING_OK, None, std::ptr::null_mut());
    let catalog = relid != pg_sys::InvalidOid && catalog_writes::is_catalog(relid);
    if catalog {
        catalog_writes::note_write(std::ptr::null_mut(), "COPY", relid);
    }
    catalog
}

/// A COPY to a server file (`TO '/path'`) or to or from a program: it acts outside the
/// transaction, whatever the transaction does later.
unsafe fn acts_at_once(tag: NodeTag, node: *mut pg_sys::Node, facts: Facts) -> bool {
    match facts.copy {
        Some(CopyEndpoint::Program) => true,
        Some(CopyEndpoint::ServerFile) => tag == NodeTag::T_CopyStmt && !(*(node as *mut pg_sys::CopyStmt)).is_from,
        _ => false,
    }
}

/// PREPARE TRANSACTION, COMMIT PREPARED, ROLLBACK PREPARED.
unsafe fn about_prepared_transaction(node: *mut pg_sys::Node) -> bool {
    use pg_sys::TransactionStmtKind::*;
    is_a(node, NodeTag::T_TransactionStmt)
        && matches!((*(node as *mut pg_sys::TransactionStmt)).kind, TRANS_STMT_PREPARE | TRANS_STMT_COMMIT_PREPARED | TRANS_STMT_ROLLBACK_PREPARED)
}

/// Does this CREATE/ALTER ROLE set a password (PASSWORD NULL clears it)? Recorded so that
/// `credential_age()` can tell when each password was last set.
unsafe fn sets_password(tag: NodeTag, node: *mut pg_sys::Node) -> bool {
    let options = match tag {
        NodeTag::T_CreateRoleStmt => (*(node as *mut pg_sys::CreateRoleStmt)).options,
        NodeTag::T_AlterRoleStmt => (*(node as *mut pg_sys::AlterRoleStmt)).options,
        _ => return false,
    };
    PgList::<pg_sys::DefElem>::from_pg(options)
        .iter_ptr()
        .any(|def| CStr::from_ptr((*def).defname).to_bytes() == b"password" && !(*def).arg.is_null())
}

/// After the statement succeeded (having processed `rows`, for a COPY): warn about what a DROP
/// removed, write the audit rows (in the statement's transaction).
pub fn after_success(after: AfterSuccess, rows: u64) {
    // first: it may refuse the statement
    if let Some(statement) = after.catalog_copy {
        unsafe { catalog_writes::check_written(std::ptr::null_mut(), rows, || Some(statement.clone())) };
    }
    if let Some(warning) = after.warning {
        pgrx::warning!("{warning}");
    }
    match after.event {
        Some(event) if after.event_logged => write::record_committed_logged_ahead(*event),
        Some(event) => write::record_committed(*event),
        None => {}
    }
    if let Some(event) = after.granted_directly {
        write::record_committed(*event);
    }
    if let Some(copy) = after.copy_access {
        crate::guard::access::record_copy(*copy, rows);
    }
    if let Some(restore) = after.restore {
        crate::guard::restore::record(*restore, rows);
    }
    if let Some(change) = after.database_change {
        database_events::note(*change);
    }
    if let Some(local) = after.session_recheck {
        admin_session::after_statement(local);
    }
}

/// The audit class of a statement that succeeds, if it is one the trail records.
unsafe fn audit_class(tag: NodeTag, node: *mut pg_sys::Node, class: Class, removes_much: bool) -> Option<AuditClass> {
    match class {
        _ if removes_much => Some(AuditClass::Destructive),
        Class::Schema => Some(AuditClass::Schema),
        Class::Privilege => Some(AuditClass::Privilege),
        Class::Role => Some(AuditClass::Role),
        Class::Destructive => Some(AuditClass::Destructive),
        Class::Risky if tag == NodeTag::T_CreateExtensionStmt => Some(AuditClass::Schema),
        Class::Risky if tag == NodeTag::T_AlterSystemStmt => Some(AuditClass::Config),
        Class::Risky => Some(AuditClass::Risky),
        Class::Session if tag == NodeTag::T_VariableSetStmt => {
            let name = (*(node as *mut pg_sys::VariableSetStmt)).name;
            (!name.is_null() && audit_event::is_audit_relevant_setting(CStr::from_ptr(name).to_bytes()))
                .then_some(AuditClass::Config)
        }
        _ => None,
    }
}

/// The DDL guard. Returns true when the statement passed only because it touches temporary
/// objects (not audited: they vanish with the session).
unsafe fn check_ddl(tag: NodeTag, node: *mut pg_sys::Node, class: Class) -> bool {
    let enforcement = Enforcement::from(settings::DDL_GUARD.get());
    if enforcement == Enforcement::Ignore {
        return false;
    }
    let needed = ddl_guard::authority_needed(class, tag == NodeTag::T_CreateExtensionStmt);
    if needed == Authority::Anyone {
        return false;
    }
    let role = pg_sys::GetUserId();
    let allow_temp = settings::ALLOW_TEMP_OBJECTS.get();
    if !ddl_guard::is_refused(needed, standing::of(role), false, allow_temp) {
        return false;
    }
    if allow_temp && is_temp_object(tag, node) {
        return true;
    }
    let migration_roles = settings::text_of(&settings::MIGRATION_ROLES);
    let admin_roles = settings::text_of(&settings::ADMIN_ROLES);
    let sets = RoleSets { migration_roles: &migration_roles, admin_roles: &admin_roles };
    let mut refusal = ddl_guard::refusal(&command_tag(node), &role_name(role), class, needed, &sets);
    let (object_type, object) = objects::describe(node);
    refusal.object = object;
    report::raise_naming(refusal, object_type, enforcement);
    false
}

/// The risky-capability guard: non-admins may not run the `risky` class, except CREATE
/// EXTENSION of an allowlisted extension.
unsafe fn check_risky(tag: NodeTag, node: *mut pg_sys::Node, facts: Facts) {
    let enforcement = Enforcement::from(settings::RISKY_GUARD.get());
    let role = pg_sys::GetUserId();
    if enforcement == Enforcement::Ignore || standing::of(role).has(Authority::Admin) {
        return;
    }
    let extension = (tag == NodeTag::T_CreateExtensionStmt)
        .then(|| CStr::from_ptr((*(node as *mut pg_sys::CreateExtensionStmt)).extname).to_string_lossy().into_owned());
    let command = match (tag, facts.copy, extension.as_deref()) {
        (NodeTag::T_AlterSystemStmt, _, _) => RiskyCommand::AlterSystem,
        (NodeTag::T_LoadStmt, _, _) => RiskyCommand::Load,
        (_, Some(CopyEndpoint::Program), _) => RiskyCommand::CopyProgram,
        (_, Some(CopyEndpoint::ServerFile), _) => RiskyCommand::CopyServerFile,
        (_, _, Some(name)) => RiskyCommand::CreateExtension(name),
        _ => return,
    };
    if risky::needs_admin(command, settings::extension_allowed) {
        let admin_roles = settings::text_of(&settings::ADMIN_ROLES);
        report::raise(risky::refusal(command, &command_tag(node), &role_name(role), &admin_roles), enforcement);
    }
}

/// TRUNCATE empties tables at once: migration and admin roles only (temp tables excepted).
unsafe fn check_truncate(stmt: *mut pg_sys::TruncateStmt) {
    let enforcement = Enforcement::from(settings::DESTRUCTIVE_GUARD.get());
    let role = pg_sys::GetUserId();
    if enforcement == Enforcement::Ignore || standing::of(role).has(Authority::Migration) {
        return;
    }
    let relations = PgList::<pg_sys::RangeVar>::from_pg((*stmt).relations);
    if settings::ALLOW_TEMP_OBJECTS.get() && relations.iter_ptr().all(|rv| names_temp_relation(rv)) {
        return;
    }
    let names: Vec<String> = relations.iter_ptr().filter_map(|rv| objects::name_of(rv as *mut pg_sys::Node)).collect();
    let migration_roles = settings::text_of(&settings::MIGRATION_ROLES);
    report::raise_naming(destructive::truncate_refusal(&role_name(role), &names, &migration_roles), Some("table"), enforcement);
}

/// An allowed DROP of a table or schema, or any DROP … CASCADE, says what goes.
unsafe fn drop_warning(stmt: *mut pg_sys::DropStmt) -> Option<String> {
    use pg_sys::ObjectType::*;
    let cascade = (*stmt).behavior == pg_sys::DropBehavior::DROP_CASCADE;
    let heavy = [OBJECT_TABLE, OBJECT_SCHEMA, OBJECT_MATVIEW, OBJECT_FOREIGN_TABLE].contains(&(*stmt).removeType);
    if !(heavy || cascade)
        || settings::DESTRUCTIVE_GUARD.get() == crate::policy::verdict::GuardMode::Off
        || drops_only_temp_relations(stmt)
    {
        return None;
    }
    let objects: Vec<String> = PgList::<pg_sys::Node>::from_pg((*stmt).objects)
        .iter_ptr()
        .filter_map(|object| objects::name_of(object))
        .map(|name| format!("\"{name}\""))
        .collect();
    Some(destructive::drop_warning(&command_tag(stmt as *mut pg_sys::Node), &objects, cascade))
}

unsafe fn dropdb_warning(stmt: *mut pg_sys::DropdbStmt) -> Option<String> {
    (settings::DESTRUCTIVE_GUARD.get() != crate::policy::verdict::GuardMode::Off).then(|| {
        let name = CStr::from_ptr((*stmt).dbname).to_string_lossy().into_owned();
        destructive::drop_warning("DROP DATABASE", &[format!("database \"{name}\"")], false)
    })
}

/// `EXPLAIN ANALYZE CREATE TABLE … AS` creates the table without passing through
/// ProcessUtility again, so it is judged as the statement it runs.
unsafe fn effective_statement(node: *mut pg_sys::Node) -> (NodeTag, *mut pg_sys::Node) {
    if is_a(node, NodeTag::T_ExplainStmt) {
        let explain = node as *mut pg_sys::ExplainStmt;
        let query = (*explain).query;
        // After parse analysis EXPLAIN's statement is a Query; a utility one carries its node.
        let inner = if is_a(query, NodeTag::T_Query) { (*(query as *mut pg_sys::Query)).utilityStmt } else { query };
        if !inner.is_null() && explain_analyzes(explain) {
            return ((*inner).type_, inner);
        }
    }
    ((*node).type_, node)
}

unsafe fn explain_analyzes(explain: *mut pg_sys::ExplainStmt) -> bool {
    PgList::<pg_sys::DefElem>::from_pg((*explain).options)
        .iter_ptr()
        .any(|def| CStr::from_ptr((*def).defname).to_bytes() == b"analyze" && pg_sys::defGetBoolean(def))
}

unsafe fn facts_of(tag: NodeTag, node: *mut pg_sys::Node) -> Facts {
    match tag {
        NodeTag::T_CopyStmt => {
            let copy = node as *mut pg_sys::CopyStmt;
            let endpoint = if (*copy).is_program {
                CopyEndpoint::Program
            } else if (*copy).filename.is_null() {
                CopyEndpoint::Client
            } else {
                CopyEndpoint::ServerFile
            };
            Facts { copy: Some(endpoint), ..Facts::default() }
        }
        NodeTag::T_RenameStmt => Facts {
            renames_role: (*(node as *mut pg_sys::RenameStmt)).renameType == pg_sys::ObjectType::OBJECT_ROLE,
            ..Facts::default()
        },
        _ => Facts::default(),
    }
}

/// Does the statement create or change only temporary (session-private) objects?
unsafe fn is_temp_object(tag: NodeTag, node: *mut pg_sys::Node) -> bool {
    match tag {
        NodeTag::T_CreateStmt => declares_temp((*(node as *mut pg_sys::CreateStmt)).relation),
        NodeTag::T_ViewStmt => declares_temp((*(node as *mut pg_sys::ViewStmt)).view),
        NodeTag::T_CreateSeqStmt => declares_temp((*(node as *mut pg_sys::CreateSeqStmt)).sequence),
        NodeTag::T_CreateTableAsStmt => {
            let into = (*(node as *mut pg_sys::CreateTableAsStmt)).into;
            !into.is_null() && declares_temp((*into).rel)
        }
        NodeTag::T_IndexStmt => names_temp_relation((*(node as *mut pg_sys::IndexStmt)).relation),
        NodeTag::T_AlterTableStmt => names_temp_relation((*(node as *mut pg_sys::AlterTableStmt)).relation),
        NodeTag::T_AlterSeqStmt => names_temp_relation((*(node as *mut pg_sys::AlterSeqStmt)).sequence),
        NodeTag::T_RenameStmt => names_temp_relation((*(node as *mut pg_sys::RenameStmt)).relation),
        NodeTag::T_DropStmt => drops_only_temp_relations(node as *mut pg_sys::DropStmt),
        _ => false,
    }
}

unsafe fn in_temp_schema(rv: *mut pg_sys::RangeVar) -> bool {
    !(*rv).schemaname.is_null() && CStr::from_ptr((*rv).schemaname).to_bytes().starts_with(b"pg_temp")
}

unsafe fn declares_temp(rv: *mut pg_sys::RangeVar) -> bool {
    !rv.is_null() && ((*rv).relpersistence as u8 == pg_sys::RELPERSISTENCE_TEMP || in_temp_schema(rv))
}

unsafe fn names_temp_relation(rv: *mut pg_sys::RangeVar) -> bool {
    if rv.is_null() {
        return false;
    }
    let relid = relid_of(rv);
    relid != pg_sys::InvalidOid && pg_sys::get_rel_persistence(relid) as u8 == pg_sys::RELPERSISTENCE_TEMP
}

unsafe fn drops_only_temp_relations(drop: *mut pg_sys::DropStmt) -> bool {
    use pg_sys::ObjectType::*;
    let relation_kinds = [OBJECT_TABLE, OBJECT_VIEW, OBJECT_SEQUENCE, OBJECT_INDEX, OBJECT_MATVIEW];
    if !relation_kinds.contains(&(*drop).removeType) {
        return false;
    }
    // DROP … IF EXISTS of a relation that does not exist changes nothing: fine alongside temps.
    let objects = PgList::<pg_sys::List>::from_pg((*drop).objects);
    !objects.is_empty()
        && objects.iter_ptr().all(|names| {
            let rv = pg_sys::makeRangeVarFromNameList(names);
            names_temp_relation(rv) || ((*drop).missing_ok && !relation_exists(rv))
        })
}

unsafe fn relation_exists(rv: *mut pg_sys::RangeVar) -> bool {
    relid_of(rv) != pg_sys::InvalidOid
}

unsafe fn relid_of(rv: *mut pg_sys::RangeVar) -> pg_sys::Oid {
    pg_sys::RangeVarGetRelidExtended(rv, pg_sys::NoLock as _, pg_sys::RVROption::RVR_MISSING_OK, None, std::ptr::null_mut())
}

/// The command tag of a utility statement (`ALTER TABLE`).
pub unsafe fn command_tag(node: *mut pg_sys::Node) -> String {
    CStr::from_ptr(pg_sys::GetCommandTagName(pg_sys::CreateCommandTag(node))).to_string_lossy().into_owned()
}

