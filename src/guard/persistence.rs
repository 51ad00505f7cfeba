//! Glue for `policy::escalation`: reads a utility statement (top-level or nested: the utility
//! hook sees both) into the facts the rules take. An escalated session may hand out nothing that
//! outlives its grant; the break-glass role is given only by nspg_guard's approval (which runs
//! with the internal flag, so it never gets here).
//!
//! Cost: a match on the node tag; catalogs are read only for role statements and, in an escalated
//! session, for object GRANTs (pg_auth_members).

use crate::guard::admin_session;
use crate::pg::settings;
use crate::pg::text::{role_name, text};
use crate::policy::audit_event::{AuditClass, AuditEvent};
use crate::pg::settings::RoleSet;
use crate::pg::syscache;
use crate::policy::escalation::{self, DirectGrant, Protected, RoleId, Session, Statement};
use crate::policy::verdict::Enforcement;
use crate::trail::report;
use crate::trail::write;
use pgrx::pg_sys::{self, NodeTag};
use pgrx::PgList;
use std::ffi::CStr;

/// pg_auth_members' fixed columns (PostgreSQL 15), for the catalog scan.
#[repr(C)]
struct AuthMember {
    roleid: pg_sys::Oid,
    member: pg_sys::Oid,
}

/// pg_auth_members (catalog/pg_auth_members.h).
const AUTH_MEM_RELATION_ID: u32 = 1261;

/// What `guard::utility` knows how to tell about the statement, asked for only when needed.
pub struct Described<'a> {
    /// Its command tag (`CREATE TABLE`).
    pub command: &'a dyn Fn() -> String,
    /// Its text, for an audit row.
    pub text: &'a dyn Fn() -> String,
    /// It creates or changes only temporary objects.
    pub temporary: &'a dyn Fn() -> bool,
}

/// Refuses (42501, audited as class denied) what would outlive an escalation or give the
/// break-glass role directly; returns the flagged event of a superuser's direct grant, to be
/// recorded once the statement succeeded.
///
/// # Safety
/// `node` is a valid utility parse tree of type `tag`.
pub unsafe fn check(tag: NodeTag, node: *mut pg_sys::Node, described: &Described) -> Option<AuditEvent> {
    let (breakglass_role, escalated) = admin_session::breakglass_state()?;
    if breakglass_role == pg_sys::InvalidOid {
        return None;
    }
    let flagged = check_direct_grant(tag, node, breakglass_role, described);
    if escalated {
        check_escalated(tag, node, breakglass_role, described);
    }
    flagged
}

fn breakglass_role_name() -> String {
    settings::text_of(&settings::BREAKGLASS_ROLE)
}

unsafe fn check_direct_grant(tag: NodeTag, node: *mut pg_sys::Node, breakglass_role: pg_sys::Oid, described: &Described) -> Option<AuditEvent> {
    if !is_role_statement(tag, node) {
        return None;
    }
    let touched = touches_protected(tag, node, &protected_roles(breakglass_role));
    let user = pg_sys::GetUserId();
    let (kind, protected) = touched.clone().unwrap_or((Protected::Breakglass, String::new()));
    match escalation::direct_grant(touched.is_some(), || pg_sys::superuser_arg(user)) {
        DirectGrant::Unrelated => None,
        DirectGrant::Refused => {
            let refusal = escalation::direct_grant_refusal(&(described.command)(), &role_name(user), kind, &protected);
            report::raise(refusal, Enforcement::Refuse);
            None
        }
        DirectGrant::Flagged => write::audited(AuditClass::Breakglass).then(|| {
            let mut event = write::event(AuditClass::Breakglass, "granted_directly");
            event.command_tag = Some((described.command)());
            event.object_type = Some("role".into());
            event.object_identity = Some(protected);
            event.statement = Some((described.text)());
            event.reason = Some(match kind {
                Protected::Breakglass => "the break-glass role given outside an approved request".into(),
                Protected::Approver => "an approver role or its members changed outside the approval process".into(),
            });
            event.details = Some(serde_json::json!({ "flagged": true, "request_id": null }));
            event
        }),
    }
}

/// Statements that create, change, grant or drop roles: the only ones that read pg_authid here.
unsafe fn is_role_statement(tag: NodeTag, node: *mut pg_sys::Node) -> bool {
    match tag {
        NodeTag::T_GrantRoleStmt | NodeTag::T_CreateRoleStmt | NodeTag::T_AlterRoleStmt | NodeTag::T_DropRoleStmt => true,
        NodeTag::T_RenameStmt => (*(node as *mut pg_sys::RenameStmt)).renameType == pg_sys::ObjectType::OBJECT_ROLE,
        _ => false,
    }
}

/// The roles that decide who gets break-glass power: the break-glass role and every existing
/// role matching `nspg_guard.breakglass_approvers`.
unsafe fn protected_roles(breakglass_role: pg_sys::Oid) -> Vec<(pg_sys::Oid, Protected, String)> {
    let mut roles = vec![(breakglass_role, Protected::Breakglass, breakglass_role_name())];
    crate::pg::standing::each_role(|oid, name| {
        if oid != breakglass_role && settings::role_set_matches(RoleSet::Approver, name) {
            roles.push((oid, Protected::Approver, name.to_string()));
        }
    });
    roles
}

/// Which protected role, if any, a role statement touches: makes a role a member of one
/// (directly or through a role that is one: GRANT, CREATE ROLE … IN ROLE, ALTER GROUP … ADD
/// USER), creates a role under a configured name, drops or renames one (or renames a role to a
/// configured name), opens a login (LOGIN, PASSWORD, VALID UNTIL) on one or on a member of one, or
/// renames such a member (a role changing its own password excepted).
unsafe fn touches_protected(tag: NodeTag, node: *mut pg_sys::Node, protected: &[(pg_sys::Oid, Protected, String)]) -> Option<(Protected, String)> {
    let found = |p: &(pg_sys::Oid, Protected, String)| Some((p.1, p.2.clone()));
    let exactly = |role: pg_sys::Oid| protected.iter().find(|p| p.0 == role).and_then(found);
    // SET ROLE reach: a NOINHERIT member approves too
    let reaching = |role: pg_sys::Oid| {
        if role == pg_sys::InvalidOid {
            return None;
        }
        protected.iter().find(|p| p.0 == role || pg_sys::is_member_of_role_nosuper(role, p.0)).and_then(found)
    };
    let named = |name: *const std::os::raw::c_char| {
        let name = text(name)?;
        if name == breakglass_role_name() {
            Some((Protected::Breakglass, name))
        } else {
            settings::role_set_matches(RoleSet::Approver, &name).then_some((Protected::Approver, name))
        }
    };
    match tag {
        NodeTag::T_GrantRoleStmt => {
            let grant = node as *mut pg_sys::GrantRoleStmt;
            if !(*grant).is_grant {
                return None;
            }
            PgList::<pg_sys::AccessPriv>::from_pg((*grant).granted_roles)
                .iter_ptr()
                .filter(|role| !(**role).priv_name.is_null())
                .find_map(|role| reaching(pg_sys::get_role_oid((*role).priv_name, true)))
        }
        NodeTag::T_CreateRoleStmt => {
            let create = node as *mut pg_sys::CreateRoleStmt;
            named((*create).role).or_else(|| option_roles((*create).options, b"addroleto").into_iter().find_map(reaching))
        }
        NodeTag::T_AlterRoleStmt => {
            let alter = node as *mut pg_sys::AlterRoleStmt;
            let target = rolespec_oid((*alter).role);
            let options = PgList::<pg_sys::DefElem>::from_pg((*alter).options);
            let adds_members = (*alter).action > 0 && options.iter_ptr().any(|def| defname(def) == b"rolemembers");
            let own_password = target == pg_sys::GetUserId();
            let opens_login = options.iter_ptr().any(|def| match defname(def) {
                b"canlogin" => pg_sys::defGetBoolean(def),
                b"password" => !(*def).arg.is_null() && !own_password,
                b"validUntil" => true,
                _ => false,
            });
            if adds_members || opens_login { reaching(target) } else { None }
        }
        NodeTag::T_DropRoleStmt => PgList::<pg_sys::RoleSpec>::from_pg((*(node as *mut pg_sys::DropRoleStmt)).roles)
            .iter_ptr()
            .find_map(|spec| exactly(rolespec_oid(spec))),
        NodeTag::T_RenameStmt => {
            let rename = node as *mut pg_sys::RenameStmt;
            if (*rename).renameType != pg_sys::ObjectType::OBJECT_ROLE {
                return None;
            }
            let from = if (*rename).subname.is_null() { pg_sys::InvalidOid } else { pg_sys::get_role_oid((*rename).subname, true) };
            reaching(from).or_else(|| named((*rename).newname))
        }
        _ => None,
    }
}

unsafe fn check_escalated(tag: NodeTag, node: *mut pg_sys::Node, breakglass_role: pg_sys::Oid, described: &Described) {
    let statement = statement_of(tag, node, breakglass_role, described);
    // the session's own user, or an escalated requester whose code runs in another role's
    // session (`admin_session::breakglass_state`)
    let requester = admin_session::lent_escalated_user().unwrap_or_else(|| pg_sys::GetSessionUserId());
    let session = Session {
        escalated: true,
        as_breakglass_role: pg_sys::GetUserId() == breakglass_role,
        requester: requester.to_u32(),
        breakglass_role: breakglass_role.to_u32(),
    };
    let held = || roles_held_without(requester, breakglass_role);
    if let Some(route) = escalation::persistence(&statement, session, held) {
        let requester = role_name(requester);
        let refusal = escalation::refusal(&route, &(described.command)(), &requester, &breakglass_role_name(), |r| {
            role_name(pg_sys::Oid::from(r))
        });
        report::raise(refusal, Enforcement::Refuse);
    }
}

unsafe fn statement_of(tag: NodeTag, node: *mut pg_sys::Node, breakglass_role: pg_sys::Oid, described: &Described) -> Statement {
    use pg_sys::ObjectType::OBJECT_ROLE;
    match tag {
        // REVOKE and DROP too: a lock on the membership row would hold off the expiry, and
        // stripping approvers and admins would leave nobody to end the access
        NodeTag::T_CreateRoleStmt | NodeTag::T_AlterRoleStmt | NodeTag::T_AlterRoleSetStmt | NodeTag::T_DropRoleStmt
        | NodeTag::T_GrantRoleStmt | NodeTag::T_CreateUserMappingStmt | NodeTag::T_AlterUserMappingStmt
        | NodeTag::T_DropUserMappingStmt => Statement::RoleChange,
        NodeTag::T_RenameStmt if (*(node as *mut pg_sys::RenameStmt)).renameType == OBJECT_ROLE => Statement::RoleChange,
        NodeTag::T_GrantStmt if (*(node as *mut pg_sys::GrantStmt)).is_grant => grant_of(node as *mut pg_sys::GrantStmt),
        NodeTag::T_AlterDefaultPrivilegesStmt => Statement::DefaultPrivileges,
        NodeTag::T_CreateFunctionStmt if security_definer((*(node as *mut pg_sys::CreateFunctionStmt)).options) => {
            Statement::SecurityDefiner
        }
        NodeTag::T_AlterFunctionStmt if alters_security_definer(node as *mut pg_sys::AlterFunctionStmt) => {
            Statement::SecurityDefiner
        }
        NodeTag::T_AlterOwnerStmt | NodeTag::T_ReassignOwnedStmt => Statement::OwnerChange,
        NodeTag::T_AlterTableStmt if changes_table_owner(node as *mut pg_sys::AlterTableStmt) => Statement::OwnerChange,
        NodeTag::T_CreateSchemaStmt if names_other_owner(rolespec_oid((*(node as *mut pg_sys::CreateSchemaStmt)).authrole), breakglass_role) => {
            Statement::OwnerChange
        }
        NodeTag::T_CreatedbStmt
            if option_roles((*(node as *mut pg_sys::CreatedbStmt)).options, b"owner").into_iter().any(|r| names_other_owner(r, breakglass_role)) =>
        {
            Statement::OwnerChange
        }
        NodeTag::T_TransactionStmt
            if (*(node as *mut pg_sys::TransactionStmt)).kind == pg_sys::TransactionStmtKind::TRANS_STMT_PREPARE =>
        {
            Statement::PrepareTransaction
        }
        _ => {
            let owners = access_or_code_owners(tag, node);
            if !owners.is_empty() {
                Statement::AccessOrCode { owners }
            } else if escalation::creates_objects(tag) && !(described.temporary)() {
                // temporary objects go with the session, which ends with the grant
                Statement::Create
            } else {
                Statement::Other
            }
        }
    }
}

/// An owner named explicitly (AUTHORIZATION, OWNER) that is not the break-glass role.
fn names_other_owner(owner: pg_sys::Oid, breakglass_role: pg_sys::Oid) -> bool {
    owner != pg_sys::InvalidOid && owner != breakglass_role
}

unsafe fn grant_of(grant: *mut pg_sys::GrantStmt) -> Statement {
    let mut to_public = false;
    let mut grantees = Vec::new();
    for spec in PgList::<pg_sys::RoleSpec>::from_pg((*grant).grantees).iter_ptr() {
        if (*spec).roletype == pg_sys::RoleSpecType::ROLESPEC_PUBLIC {
            to_public = true;
        } else {
            let oid = pg_sys::get_rolespec_oid(spec, true);
            if oid != pg_sys::InvalidOid {
                grantees.push(oid.to_u32());
            }
        }
    }
    Statement::GrantObject { grant_option: (*grant).grant_option, to_public, grantees }
}

/// `SECURITY DEFINER` among a CREATE FUNCTION's options or an ALTER FUNCTION's actions.
unsafe fn security_definer(options: *mut pg_sys::List) -> bool {
    PgList::<pg_sys::DefElem>::from_pg(options)
        .iter_ptr()
        .any(|def| defname(def) == b"security" && !(*def).arg.is_null() && pg_sys::defGetBoolean(def))
}

/// ALTER FUNCTION … SECURITY DEFINER, or any ALTER FUNCTION (SET search_path, …) of a function
/// that already is one: its callers would run what the new settings lead to with its owner's
/// rights after the grant.
unsafe fn alters_security_definer(alter: *mut pg_sys::AlterFunctionStmt) -> bool {
    if security_definer((*alter).actions) {
        return true;
    }
    let function = pg_sys::LookupFuncWithArgs((*alter).objtype, (*alter).func, true);
    if function == pg_sys::InvalidOid {
        return false;
    }
    syscache::function(function, |p, _| p.prosecdef).unwrap_or(false)
}

/// The owners of the existing objects whose access rules or code the statement changes: row
/// security, trigger and rule switches and anything on a view (ALTER TABLE/VIEW), policies,
/// triggers and rules (the table's owner), CREATE OR REPLACE of an existing view or function,
/// ALTER FUNCTION. None for everything else (data, columns, indexes, new objects).
unsafe fn access_or_code_owners(tag: NodeTag, node: *mut pg_sys::Node) -> Vec<RoleId> {
    access_or_code(tag, node).into_iter().map(|o| o.to_u32()).collect()
}

unsafe fn access_or_code(tag: NodeTag, node: *mut pg_sys::Node) -> Vec<pg_sys::Oid> {
    use pg_sys::AlterTableType as At;
    match tag {
        NodeTag::T_AlterTableStmt => {
            let alter = node as *mut pg_sys::AlterTableStmt;
            let Some((owner, kind)) = relation_owner_and_kind((*alter).relation) else {
                return Vec::new();
            };
            let switches = PgList::<pg_sys::AlterTableCmd>::from_pg((*alter).cmds).iter_ptr().any(|cmd| {
                matches!(
                    (*cmd).subtype,
                    At::AT_EnableRowSecurity | At::AT_DisableRowSecurity | At::AT_ForceRowSecurity | At::AT_NoForceRowSecurity
                        | At::AT_EnableTrig | At::AT_EnableAlwaysTrig | At::AT_EnableReplicaTrig | At::AT_DisableTrig | At::AT_EnableTrigAll
                        | At::AT_DisableTrigAll | At::AT_EnableTrigUser | At::AT_DisableTrigUser | At::AT_EnableRule | At::AT_EnableAlwaysRule
                        | At::AT_EnableReplicaRule | At::AT_DisableRule
                )
            });
            let mut owners: Vec<pg_sys::Oid> =
                (switches || kind == pg_sys::RELKIND_VIEW as std::os::raw::c_char).then_some(owner).into_iter().collect();
            // a table hung under a parent: whoever may read or write the parent reaches its rows
            // (PostgreSQL checks the parent's privileges only), after the grant too
            for cmd in PgList::<pg_sys::AlterTableCmd>::from_pg((*alter).cmds).iter_ptr() {
                match (*cmd).subtype {
                    At::AT_AddInherit => owners.push(owner),
                    At::AT_AttachPartition if !(*cmd).def.is_null() && pgrx::is_a((*cmd).def, NodeTag::T_PartitionCmd) => {
                        owners.extend(owner_of((*((*cmd).def as *mut pg_sys::PartitionCmd)).name));
                    }
                    _ => {}
                }
            }
            owners
        }
        // a database's settings apply to every later session in it (search_path, read-only)
        NodeTag::T_AlterDatabaseSetStmt => {
            let name = (*(node as *mut pg_sys::AlterDatabaseSetStmt)).dbname;
            let database = if name.is_null() { pg_sys::InvalidOid } else { pg_sys::get_database_oid(name, true) };
            syscache::database_owner(database).into_iter().collect()
        }
        NodeTag::T_CreatePolicyStmt => owner_of((*(node as *mut pg_sys::CreatePolicyStmt)).table),
        NodeTag::T_AlterPolicyStmt => owner_of((*(node as *mut pg_sys::AlterPolicyStmt)).table),
        NodeTag::T_CreateTrigStmt => owner_of((*(node as *mut pg_sys::CreateTrigStmt)).relation),
        NodeTag::T_RuleStmt => owner_of((*(node as *mut pg_sys::RuleStmt)).relation),
        NodeTag::T_DropStmt => dropped_table_part_owners(node as *mut pg_sys::DropStmt),
        NodeTag::T_ViewStmt if (*(node as *mut pg_sys::ViewStmt)).replace => owner_of((*(node as *mut pg_sys::ViewStmt)).view),
        NodeTag::T_CreateFunctionStmt if (*(node as *mut pg_sys::CreateFunctionStmt)).replace => {
            function_owner(replaced_function(node as *mut pg_sys::CreateFunctionStmt))
        }
        // SET search_path changes what its body resolves to (volatility, cost and the like do not)
        NodeTag::T_AlterFunctionStmt
            if PgList::<pg_sys::DefElem>::from_pg((*(node as *mut pg_sys::AlterFunctionStmt)).actions).iter_ptr().any(|def| defname(def) == b"set") =>
        {
            let alter = node as *mut pg_sys::AlterFunctionStmt;
            function_owner(pg_sys::LookupFuncWithArgs((*alter).objtype, (*alter).func, true))
        }
        // moving or renaming a function frees its name for code of the grant's own
        NodeTag::T_RenameStmt => {
            let rename = node as *mut pg_sys::RenameStmt;
            named_function_owner((*rename).renameType, (*rename).object)
        }
        NodeTag::T_AlterObjectSchemaStmt => {
            let alter = node as *mut pg_sys::AlterObjectSchemaStmt;
            named_function_owner((*alter).objectType, (*alter).object)
        }
        _ => Vec::new(),
    }
}

unsafe fn owner_of(relation: *mut pg_sys::RangeVar) -> Vec<pg_sys::Oid> {
    relation_owner_and_kind(relation).map(|r| r.0).into_iter().collect()
}

unsafe fn named_function_owner(kind: pg_sys::ObjectType::Type, object: *mut pg_sys::Node) -> Vec<pg_sys::Oid> {
    use pg_sys::ObjectType::*;
    if !matches!(kind, OBJECT_FUNCTION | OBJECT_PROCEDURE | OBJECT_ROUTINE) || object.is_null() || !pgrx::is_a(object, NodeTag::T_ObjectWithArgs) {
        return Vec::new();
    }
    function_owner(pg_sys::LookupFuncWithArgs(kind, object as *mut pg_sys::ObjectWithArgs, true))
}

fn function_owner(function: pg_sys::Oid) -> Vec<pg_sys::Oid> {
    if function == pg_sys::InvalidOid {
        return Vec::new();
    }
    syscache::function(function, |p, _| p.proowner).into_iter().collect()
}

/// The function a CREATE OR REPLACE FUNCTION/PROCEDURE would replace: same name, same input
/// argument types (OUT and TABLE parameters are not part of the signature).
unsafe fn replaced_function(create: *mut pg_sys::CreateFunctionStmt) -> pg_sys::Oid {
    use pg_sys::FunctionParameterMode::{FUNC_PARAM_OUT, FUNC_PARAM_TABLE};
    let mut args = PgList::<pg_sys::TypeName>::new();
    for param in PgList::<pg_sys::FunctionParameter>::from_pg((*create).parameters).iter_ptr() {
        if (*param).mode != FUNC_PARAM_OUT && (*param).mode != FUNC_PARAM_TABLE {
            args.push((*param).argType);
        }
    }
    let mut signature = pgrx::PgBox::<pg_sys::ObjectWithArgs>::alloc_node(NodeTag::T_ObjectWithArgs);
    signature.objname = (*create).funcname;
    signature.objargs = args.into_pg();
    signature.args_unspecified = false;
    pg_sys::LookupFuncWithArgs(pg_sys::ObjectType::OBJECT_ROUTINE, signature.as_ptr(), true)
}

/// The owner and relkind of an existing relation (None when there is none: PostgreSQL then
/// creates it or reports the error itself).
unsafe fn relation_owner_and_kind(relation: *mut pg_sys::RangeVar) -> Option<(pg_sys::Oid, std::os::raw::c_char)> {
    if relation.is_null() {
        return None;
    }
    // by name only, without PostgreSQL's schema permission check: any error is the statement's own
    let oid = if (*relation).schemaname.is_null() {
        pg_sys::RelnameGetRelid((*relation).relname)
    } else {
        match pg_sys::get_namespace_oid((*relation).schemaname, true) {
            namespace if namespace == pg_sys::InvalidOid => return None,
            namespace => pg_sys::get_relname_relid((*relation).relname, namespace),
        }
    };
    syscache::relation(oid, |c| (c.relowner, c.relkind))
}

/// DROP POLICY / TRIGGER / RULE: the owners of the tables they belong to (each name is the
/// table's name followed by the policy's, trigger's or rule's).
unsafe fn dropped_table_part_owners(drop: *mut pg_sys::DropStmt) -> Vec<pg_sys::Oid> {
    use pg_sys::ObjectType::*;
    if !matches!((*drop).removeType, OBJECT_POLICY | OBJECT_TRIGGER | OBJECT_RULE) {
        return Vec::new();
    }
    let mut owners = Vec::new();
    for object in PgList::<pg_sys::Node>::from_pg((*drop).objects).iter_ptr() {
        if !pgrx::is_a(object, NodeTag::T_List) {
            continue;
        }
        let names = object as *mut pg_sys::List;
        let len = PgList::<pg_sys::Node>::from_pg(names).len();
        if len < 2 {
            continue;
        }
        let table = pg_sys::makeRangeVarFromNameList(pg_sys::list_truncate(pg_sys::list_copy(names), (len - 1) as i32));
        owners.extend(owner_of(table));
    }
    owners
}


unsafe fn changes_table_owner(alter: *mut pg_sys::AlterTableStmt) -> bool {
    PgList::<pg_sys::AlterTableCmd>::from_pg((*alter).cmds)
        .iter_ptr()
        .any(|cmd| (*cmd).subtype == pg_sys::AlterTableType::AT_ChangeOwner)
}

unsafe fn defname(def: *mut pg_sys::DefElem) -> &'static [u8] {
    if (*def).defname.is_null() { b"" } else { CStr::from_ptr((*def).defname).to_bytes() }
}

/// The roles a DefElem option names: a list of RoleSpecs (IN ROLE, ROLE) or one name (OWNER).
unsafe fn option_roles(options: *mut pg_sys::List, name: &[u8]) -> Vec<pg_sys::Oid> {
    let mut roles = Vec::new();
    for def in PgList::<pg_sys::DefElem>::from_pg(options).iter_ptr() {
        if defname(def) != name || (*def).arg.is_null() {
            continue;
        }
        let arg = (*def).arg;
        if pgrx::is_a(arg, NodeTag::T_List) {
            roles.extend(PgList::<pg_sys::RoleSpec>::from_pg(arg as *mut pg_sys::List).iter_ptr().map(|spec| rolespec_oid(spec)));
        } else if pgrx::is_a(arg, NodeTag::T_RoleSpec) {
            roles.push(rolespec_oid(arg as *mut pg_sys::RoleSpec));
        } else if let Some(owner) = text(pg_sys::defGetString(def)) {
            // OWNER DEFAULT (the current user) has no argument
            roles.push(crate::pg::text::role_oid(&owner).unwrap_or(pg_sys::InvalidOid));
        }
    }
    roles
}

unsafe fn rolespec_oid(spec: *mut pg_sys::RoleSpec) -> pg_sys::Oid {
    if spec.is_null() || (*spec).roletype == pg_sys::RoleSpecType::ROLESPEC_PUBLIC {
        return pg_sys::InvalidOid;
    }
    pg_sys::get_rolespec_oid(spec, true)
}

/// The roles `requester` holds without `breakglass_role`, from pg_auth_members.
unsafe fn roles_held_without(requester: pg_sys::Oid, breakglass_role: pg_sys::Oid) -> Vec<RoleId> {
    let mut edges = Vec::new();
    let rel = pg_sys::table_open(pg_sys::Oid::from(AUTH_MEM_RELATION_ID), pg_sys::AccessShareLock as _);
    let scan = pg_sys::table_beginscan_catalog(rel, 0, std::ptr::null_mut());
    loop {
        let tuple = pg_sys::heap_getnext(scan, pg_sys::ScanDirection::ForwardScanDirection);
        if tuple.is_null() {
            break;
        }
        let row = &*pg_sys::heap_tuple_get_struct::<AuthMember>(tuple);
        edges.push((row.member.to_u32(), row.roleid.to_u32()));
    }
    pg_sys::table_endscan(scan);
    pg_sys::table_close(rel, pg_sys::AccessShareLock as _);
    // pg_database_owner is held without a pg_auth_members row by whoever owns the database;
    // counted as held always, so a grant to it outlives no escalation in any database
    edges.push((requester.to_u32(), pg_sys::ROLE_PG_DATABASE_OWNER));
    escalation::held_without(requester.to_u32(), breakglass_role.to_u32(), &edges)
}
