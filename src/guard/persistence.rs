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
use crate::policy::escalation::{self, DirectGrant, RoleId, Session, Statement};
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
    let user = pg_sys::GetUserId();
    match escalation::direct_grant(gives_breakglass(tag, node, breakglass_role), || pg_sys::superuser_arg(user)) {
        DirectGrant::Unrelated => None,
        DirectGrant::Refused => {
            let refusal = escalation::direct_grant_refusal(&(described.command)(), &role_name(user), &breakglass_role_name());
            report::raise(refusal, Enforcement::Refuse);
            None
        }
        DirectGrant::Flagged => write::audited(AuditClass::Breakglass).then(|| {
            let mut event = write::event(AuditClass::Breakglass, "granted_directly");
            event.command_tag = Some((described.command)());
            event.object_type = Some("role".into());
            event.object_identity = Some(breakglass_role_name());
            event.statement = Some((described.text)());
            event.reason = Some("the break-glass role given outside an approved request".into());
            event.details = Some(serde_json::json!({ "flagged": true, "request_id": null }));
            event
        }),
    }
}

/// Would the statement make a role a member of the break-glass role (directly or through a role
/// that is a member of it), let someone log in as the break-glass role, or rename it (the setting
/// would then name no role, and its holders would no longer be watched)?
unsafe fn gives_breakglass(tag: NodeTag, node: *mut pg_sys::Node, breakglass_role: pg_sys::Oid) -> bool {
    let is_breakglass = |role: pg_sys::Oid| {
        role != pg_sys::InvalidOid && (role == breakglass_role || pg_sys::is_member_of_role_nosuper(role, breakglass_role))
    };
    match tag {
        NodeTag::T_GrantRoleStmt => {
            let grant = node as *mut pg_sys::GrantRoleStmt;
            (*grant).is_grant
                && PgList::<pg_sys::AccessPriv>::from_pg((*grant).granted_roles)
                    .iter_ptr()
                    .any(|role| !(*role).priv_name.is_null() && is_breakglass(pg_sys::get_role_oid((*role).priv_name, true)))
        }
        NodeTag::T_CreateRoleStmt => {
            option_roles((*(node as *mut pg_sys::CreateRoleStmt)).options, b"addroleto").into_iter().any(is_breakglass)
        }
        NodeTag::T_AlterRoleStmt => {
            let alter = node as *mut pg_sys::AlterRoleStmt;
            let target = rolespec_oid((*alter).role);
            let options = PgList::<pg_sys::DefElem>::from_pg((*alter).options);
            // ALTER GROUP … ADD USER makes members; LOGIN or a password on the role itself lets anyone who knows it in
            let adds_members = (*alter).action > 0 && options.iter_ptr().any(|def| defname(def) == b"rolemembers");
            let opens_login = target == breakglass_role
                && options.iter_ptr().any(|def| match defname(def) {
                    b"canlogin" => pg_sys::defGetBoolean(def),
                    b"password" => !(*def).arg.is_null(),
                    _ => false,
                });
            (adds_members && is_breakglass(target)) || opens_login
        }
        NodeTag::T_RenameStmt => {
            let rename = node as *mut pg_sys::RenameStmt;
            (*rename).renameType == pg_sys::ObjectType::OBJECT_ROLE
                && !(*rename).subname.is_null()
                && pg_sys::get_role_oid((*rename).subname, true) == breakglass_role
        }
        _ => false,
    }
}

unsafe fn check_escalated(tag: NodeTag, node: *mut pg_sys::Node, breakglass_role: pg_sys::Oid, described: &Described) {
    let statement = statement_of(tag, node, breakglass_role, described);
    let session = Session { escalated: true, as_breakglass_role: pg_sys::GetUserId() == breakglass_role };
    let held = || roles_held_without(pg_sys::GetSessionUserId(), breakglass_role);
    if let Some(route) = escalation::persistence(&statement, session, held) {
        let requester = role_name(pg_sys::GetSessionUserId());
        let refusal = escalation::refusal(&route, &(described.command)(), &requester, &breakglass_role_name(), |r| {
            role_name(pg_sys::Oid::from(r))
        });
        report::raise(refusal, Enforcement::Refuse);
    }
}

unsafe fn statement_of(tag: NodeTag, node: *mut pg_sys::Node, breakglass_role: pg_sys::Oid, described: &Described) -> Statement {
    use pg_sys::ObjectType::OBJECT_ROLE;
    match tag {
        NodeTag::T_CreateRoleStmt | NodeTag::T_AlterRoleStmt | NodeTag::T_AlterRoleSetStmt
        | NodeTag::T_CreateUserMappingStmt | NodeTag::T_AlterUserMappingStmt => Statement::RoleChange,
        NodeTag::T_GrantRoleStmt if (*(node as *mut pg_sys::GrantRoleStmt)).is_grant => Statement::RoleChange,
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
        // temporary objects go with the session, which ends with the grant
        _ if escalation::creates_objects(tag) && !(described.temporary)() => Statement::Create,
        _ => Statement::Other,
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
    crate::pg::syscache::function(function, |p, _| p.prosecdef).unwrap_or(false)
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
    escalation::held_without(requester.to_u32(), breakglass_role.to_u32(), &edges)
}
