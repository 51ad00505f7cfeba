//! Power that must not outlive a break-glass grant (NS-PG-007 §8.1: time-bounded). Expiry
//! revokes one membership; anything an escalated session hands out that does not hang on that
//! membership would survive it, so it is refused before it runs. And the break-glass role itself
//! is given only by an approved request. Pure: the caller reads the facts off the parse tree and
//! the catalogs.

use crate::policy::verdict::Refusal;
use pgrx::pg_sys::errcodes::PgSqlErrorCode;
use pgrx::pg_sys::NodeTag;

/// A role, by oid.
pub type RoleId = u32;

/// What a utility statement does, as far as persistence is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Statement {
    /// GRANT or REVOKE of a role, CREATE/ALTER/DROP ROLE (attributes, password, membership,
    /// RENAME, … SET), CREATE/ALTER/DROP USER MAPPING.
    RoleChange,
    /// GRANT of object privileges (REVOKE is not one).
    GrantObject { grant_option: bool, to_public: bool, grantees: Vec<RoleId> },
    /// ALTER DEFAULT PRIVILEGES (GRANT or REVOKE).
    DefaultPrivileges,
    /// CREATE FUNCTION/PROCEDURE … SECURITY DEFINER, ALTER FUNCTION/PROCEDURE/ROUTINE … SECURITY
    /// DEFINER, any ALTER FUNCTION of a SECURITY DEFINER function.
    SecurityDefiner,
    /// ALTER … OWNER TO, REASSIGN OWNED, CREATE SCHEMA/DATABASE naming another owner.
    OwnerChange,
    /// A statement that creates a lasting object owned by the current user.
    Create,
    /// PREPARE TRANSACTION.
    PrepareTransaction,
    /// A change to the access rules or the code of existing objects owned by `owners` (row
    /// security, policies, triggers, rules, views, CREATE OR REPLACE / ALTER of functions): it
    /// keeps working, with the owner's rights or for everyone who reads, after the grant.
    AccessOrCode { owners: Vec<RoleId> },
    /// Anything else.
    Other,
}

/// The session the statement runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    /// Holds the break-glass role (by an approved request).
    pub escalated: bool,
    /// The current user is the break-glass role (`SET ROLE` to it).
    pub as_breakglass_role: bool,
    /// The session user (who filed the request).
    pub requester: RoleId,
    pub breakglass_role: RoleId,
}

/// Why a statement of an escalated session is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    RoleChange,
    GrantOption,
    /// A grant to PUBLIC (None) or to a role the requester holds without the break-glass role.
    GrantToOwn(Option<RoleId>),
    DefaultPrivileges,
    SecurityDefiner,
    OwnerChange,
    CreateAsOwnRole,
    PrepareTransaction,
    /// Access rules or code of an object owned by this role.
    OthersObject(RoleId),
}

/// Would the statement hand out something that outlives the escalation? `held` are the roles
/// the requester holds without the break-glass role (`held_without`); only grants need them.
pub fn persistence(statement: &Statement, session: Session, held: impl FnOnce() -> Vec<RoleId>) -> Option<Route> {
    if !session.escalated {
        return None;
    }
    match statement {
        Statement::RoleChange => Some(Route::RoleChange),
        Statement::GrantObject { grant_option: true, .. } => Some(Route::GrantOption),
        Statement::GrantObject { to_public: true, .. } => Some(Route::GrantToOwn(None)),
        Statement::GrantObject { grantees, .. } => {
            let held = held();
            grantees.iter().find(|g| held.contains(g)).map(|&g| Route::GrantToOwn(Some(g)))
        }
        Statement::DefaultPrivileges => Some(Route::DefaultPrivileges),
        Statement::SecurityDefiner => Some(Route::SecurityDefiner),
        Statement::OwnerChange => Some(Route::OwnerChange),
        Statement::Create if !session.as_breakglass_role => Some(Route::CreateAsOwnRole),
        Statement::PrepareTransaction => Some(Route::PrepareTransaction),
        // what the grant created, or the requester owns anyway, stays the session's to change
        Statement::AccessOrCode { owners } => owners
            .iter()
            .find(|&&owner| owner != session.breakglass_role && owner != session.requester)
            .map(|&owner| Route::OthersObject(owner)),
        Statement::Create | Statement::Other => None,
    }
}

/// Does a statement of this kind create a lasting object (one the current user owns, or one
/// attached to a table: an index, trigger, rule, policy, statistics)? Role and user-mapping
/// statements are role changes, not creations.
pub fn creates_objects(tag: NodeTag) -> bool {
    use NodeTag::*;
    matches!(
        tag,
        T_CreateStmt | T_CreateTableAsStmt | T_ViewStmt | T_IndexStmt | T_CreateSeqStmt | T_CreateSchemaStmt
            | T_CreateFunctionStmt | T_CreateExtensionStmt | T_DefineStmt | T_CompositeTypeStmt | T_CreateEnumStmt
            | T_CreateRangeStmt | T_CreateDomainStmt | T_CreateConversionStmt | T_CreateCastStmt
            | T_CreateOpClassStmt | T_CreateOpFamilyStmt | T_CreatePLangStmt | T_CreateFdwStmt
            | T_CreateForeignServerStmt | T_CreateForeignTableStmt | T_ImportForeignSchemaStmt | T_CreateTrigStmt
            | T_CreateEventTrigStmt | T_CreatePolicyStmt | T_RuleStmt | T_CreatePublicationStmt
            | T_CreateSubscriptionStmt | T_CreateStatsStmt | T_CreateTransformStmt | T_CreateAmStmt
            | T_CreateTableSpaceStmt | T_CreatedbStmt
    )
}

/// The roles `requester` holds (is a member of, directly or through other roles, with or without
/// INHERIT: SET ROLE reaches them) by paths that do not pass through `breakglass`: what it keeps
/// when the grant ends. `edges` are pg_auth_members rows as (member, role). Iterative.
pub fn held_without(requester: RoleId, breakglass: RoleId, edges: &[(RoleId, RoleId)]) -> Vec<RoleId> {
    let mut held = vec![requester];
    let mut next = 0;
    while next < held.len() {
        let member = held[next];
        next += 1;
        for &(m, role) in edges {
            if m == member && role != breakglass && !held.contains(&role) {
                held.push(role);
            }
        }
    }
    held
}

/// What becomes of a statement that would make someone a member of the break-glass role (or of
/// a role that is one), let someone log in as it, or rename it, outside nspg_guard's approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectGrant {
    /// Nothing to do with the break-glass role.
    Unrelated,
    /// A superuser: it runs, recorded as a flagged break-glass event.
    Flagged,
    /// Anyone else: refused.
    Refused,
}

/// `superuser` is asked only when the statement gives the break-glass role.
pub fn direct_grant(gives_breakglass: bool, superuser: impl FnOnce() -> bool) -> DirectGrant {
    match gives_breakglass {
        false => DirectGrant::Unrelated,
        true if superuser() => DirectGrant::Flagged,
        true => DirectGrant::Refused,
    }
}

/// The refusal of a persistence route. `role_name` names a role by oid.
pub fn refusal(route: &Route, command: &str, requester: &str, breakglass_role: &str, role_name: impl Fn(RoleId) -> String) -> Refusal {
    let (what, hint) = match route {
        Route::RoleChange => (
            "creating, changing or dropping roles, granting or revoking role memberships, or changing user mappings".to_string(),
            "Role changes go through the normal process (a migration or an admin outside break-glass); to give up the access, SELECT nspg_guard.breakglass_end(<request id>).".to_string(),
        ),
        Route::GrantOption => (
            "GRANT … WITH GRANT OPTION".to_string(),
            "Grant without GRANT OPTION, to the role that needs the access.".to_string(),
        ),
        Route::GrantToOwn(None) => (
            "granting privileges to PUBLIC".to_string(),
            "Grant to the role that needs the access (not PUBLIC, not your own roles).".to_string(),
        ),
        Route::GrantToOwn(Some(role)) => (
            format!("granting privileges to role \"{}\", which \"{requester}\" holds without break-glass", role_name(*role)),
            "Grant to the role that needs the access (not PUBLIC, not your own roles); what you need yourself comes with the break-glass role.".to_string(),
        ),
        Route::DefaultPrivileges => (
            "ALTER DEFAULT PRIVILEGES".to_string(),
            "Default privileges go through the normal process; grant what the incident needs on the objects themselves.".to_string(),
        ),
        Route::SecurityDefiner => (
            "a SECURITY DEFINER function or procedure".to_string(),
            "Use SECURITY INVOKER (the default); SECURITY DEFINER code goes through the normal process.".to_string(),
        ),
        Route::OwnerChange => (
            "changing the owner of objects".to_string(),
            "Ownership changes go through the normal process (a migration).".to_string(),
        ),
        Route::CreateAsOwnRole => (
            format!("creating objects as role \"{requester}\""),
            format!("SET ROLE {breakglass_role} first: what you create then belongs to the break-glass role, not to you."),
        ),
        Route::PrepareTransaction => (
            "PREPARE TRANSACTION".to_string(),
            "COMMIT or ROLLBACK the transaction while escalated; a prepared transaction would outlive the grant.".to_string(),
        ),
        Route::OthersObject(owner) => (
            format!("changing row security, policies, triggers, rules, views or functions of an object owned by role \"{}\"", role_name(*owner)),
            format!("Change data, columns and indexes as needed; access rules and code of objects owned by others go through the normal process (objects created as {breakglass_role} during the grant stay yours to change)."),
        ),
    };
    Refusal {
        sqlstate: PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
        message: format!("nspg_guard: {what} is refused while escalated through break-glass"),
        detail: format!(
            "Role \"{requester}\" holds break-glass role \"{breakglass_role}\" until the grant ends; the session may not hand out anything that would outlive it (role changes, grants to itself or PUBLIC, grant options, default privileges, SECURITY DEFINER code, ownership, objects of its own, prepared transactions, access rules or code of objects owned by others)."
        ),
        hint,
        command: command.to_string(),
        object: None,
    }
}

/// Which of the roles that decide who gets power a statement touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protected {
    /// The break-glass role (`nspg_guard.breakglass_role`).
    Breakglass,
    /// An approver role (`nspg_guard.breakglass_approvers`).
    Approver,
}

/// The refusal of a statement that would give (or take over, re-create, rename, drop) the
/// break-glass role or an approver role outside nspg_guard's request and approval; `protected`
/// names the role it touches.
pub fn direct_grant_refusal(command: &str, role: &str, kind: Protected, protected: &str) -> Refusal {
    let (message, hint) = match kind {
        Protected::Breakglass => (
            format!("nspg_guard: break-glass role \"{protected}\" is given only through an approved request"),
            "File a request: SELECT nspg_guard.breakglass_request('why, in a few words', '30 minutes'); another person approves it.",
        ),
        Protected::Approver => (
            format!("nspg_guard: approver role \"{protected}\" and its members are changed only by a superuser"),
            "Ask a superuser to change who approves break-glass requests (it is recorded as a flagged break-glass event).",
        ),
    };
    Refusal {
        sqlstate: PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
        message,
        detail: format!(
            "The statement of role \"{role}\" would make a role a member of \"{protected}\" (directly or through a role that is one), create, drop or rename it, take a name it is configured by, or open a login (LOGIN, PASSWORD, VALID UNTIL) on it or on one of its members: who gets break-glass power would change without a request, an approval or an expiry."
        ),
        hint: hint.to_string(),
        command: command.to_string(),
        object: Some(protected.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOB: RoleId = 100;
    const BG: RoleId = 200;
    const OWNER: RoleId = 300;
    const APP: RoleId = 400;
    const TEAM: RoleId = 500;

    fn escalated(as_breakglass_role: bool) -> Session {
        Session { escalated: true, as_breakglass_role, requester: BOB, breakglass_role: BG }
    }

    fn grant(grant_option: bool, to_public: bool, grantees: &[RoleId]) -> Statement {
        Statement::GrantObject { grant_option, to_public, grantees: grantees.to_vec() }
    }

    #[test]
    fn nothing_is_refused_outside_an_escalation() {
        let plain = Session { escalated: false, ..escalated(false) };
        for s in [Statement::RoleChange, grant(true, true, &[BOB]), Statement::DefaultPrivileges, Statement::SecurityDefiner, Statement::OwnerChange, Statement::Create, Statement::PrepareTransaction, Statement::AccessOrCode { owners: vec![OWNER] }] {
            assert_eq!(persistence(&s, plain, || panic!("no catalog look-up outside an escalation")), None, "{s:?}");
        }
    }

    #[test]
    fn escalated_routes() {
        let held = || vec![BOB, TEAM];
        let s = escalated(true);
        assert_eq!(persistence(&Statement::RoleChange, s, held), Some(Route::RoleChange));
        assert_eq!(persistence(&grant(true, false, &[APP]), s, held), Some(Route::GrantOption));
        assert_eq!(persistence(&grant(false, true, &[]), s, held), Some(Route::GrantToOwn(None)));
        assert_eq!(persistence(&grant(false, false, &[APP, TEAM]), s, held), Some(Route::GrantToOwn(Some(TEAM))));
        assert_eq!(persistence(&grant(false, false, &[BOB]), s, held), Some(Route::GrantToOwn(Some(BOB))));
        assert_eq!(persistence(&grant(false, false, &[APP, OWNER, BG]), s, held), None);
        assert_eq!(persistence(&Statement::DefaultPrivileges, s, held), Some(Route::DefaultPrivileges));
        assert_eq!(persistence(&Statement::SecurityDefiner, s, held), Some(Route::SecurityDefiner));
        assert_eq!(persistence(&Statement::OwnerChange, s, held), Some(Route::OwnerChange));
        assert_eq!(persistence(&Statement::PrepareTransaction, s, held), Some(Route::PrepareTransaction));
        assert_eq!(persistence(&Statement::Other, s, held), None);
    }

    #[test]
    fn access_rules_and_code_only_of_what_the_grant_made_or_the_requester_owns() {
        let code = |owner| Statement::AccessOrCode { owners: vec![owner] };
        for s in [escalated(true), escalated(false)] {
            assert_eq!(persistence(&code(OWNER), s, Vec::new), Some(Route::OthersObject(OWNER)));
            assert_eq!(persistence(&code(APP), s, Vec::new), Some(Route::OthersObject(APP)));
            assert_eq!(persistence(&code(BG), s, Vec::new), None);
            assert_eq!(persistence(&code(BOB), s, Vec::new), None);
            let several = Statement::AccessOrCode { owners: vec![BG, BOB, APP] };
            assert_eq!(persistence(&several, s, Vec::new), Some(Route::OthersObject(APP)));
        }
        let r = refusal(&Route::OthersObject(OWNER), "ALTER TABLE", "bob", "bg", |r| format!("r{r}"));
        assert!(r.message.contains("owned by role \"r300\""), "{}", r.message);
    }

    #[test]
    fn creating_needs_the_breakglass_role_as_current_user() {
        assert_eq!(persistence(&Statement::Create, escalated(false), Vec::new), Some(Route::CreateAsOwnRole));
        assert_eq!(persistence(&Statement::Create, escalated(true), Vec::new), None);
        // being the break-glass role does not lift the other rules
        assert_eq!(persistence(&Statement::SecurityDefiner, escalated(true), Vec::new), Some(Route::SecurityDefiner));
    }

    #[test]
    fn roles_held_without_the_breakglass_role() {
        // bob → team → app_ro; bob → bg → owner; team → bg (a second way to bg); bob → team again (cycle)
        let edges = [(BOB, TEAM), (TEAM, 600), (BOB, BG), (BG, OWNER), (TEAM, BG), (600, TEAM), (APP, OWNER)];
        let mut held = held_without(BOB, BG, &edges);
        held.sort_unstable();
        assert_eq!(held, vec![BOB, TEAM, 600]);
        assert_eq!(held_without(BOB, BG, &[]), vec![BOB]);
        // a long chain is walked without recursion
        let chain: Vec<(RoleId, RoleId)> = (0..10_000).map(|i| (1000 + i, 1001 + i)).collect();
        assert_eq!(held_without(1000, BG, &chain).len(), 10_001);
    }

    #[test]
    fn what_creates_objects() {
        use NodeTag::*;
        for tag in [T_CreateStmt, T_CreateTableAsStmt, T_ViewStmt, T_CreateSchemaStmt, T_CreateFunctionStmt, T_CreateExtensionStmt, T_CreateTrigStmt, T_CreateForeignTableStmt, T_CreatedbStmt, T_DefineStmt] {
            assert!(creates_objects(tag), "{tag:?}");
        }
        for tag in [T_CreateRoleStmt, T_CreateUserMappingStmt, T_AlterTableStmt, T_DropStmt, T_GrantStmt, T_SelectStmt, T_DoStmt] {
            assert!(!creates_objects(tag), "{tag:?}");
        }
    }

    #[test]
    fn direct_grants() {
        assert_eq!(direct_grant(false, || panic!("no look-up for unrelated statements")), DirectGrant::Unrelated);
        assert_eq!(direct_grant(true, || true), DirectGrant::Flagged);
        assert_eq!(direct_grant(true, || false), DirectGrant::Refused);
        let r = direct_grant_refusal("GRANT ROLE", "alice_admin", Protected::Breakglass, "ns_breakglass_admin");
        assert_eq!(r.sqlstate, PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE);
        assert!(r.hint.contains("breakglass_request"));
        let r = direct_grant_refusal("CREATE ROLE", "alice_admin", Protected::Approver, "ns_breakglass_approver");
        assert!(r.message.contains("approver role \"ns_breakglass_approver\"") && r.hint.contains("superuser"));
        assert_eq!(r.object.as_deref(), Some("ns_breakglass_approver"));
    }

    #[test]
    fn refusals_say_what_and_how() {
        let name = |r: RoleId| format!("r{r}");
        let r = refusal(&Route::CreateAsOwnRole, "CREATE TABLE", "bob", "ns_breakglass_admin", name);
        assert_eq!(r.message, "nspg_guard: creating objects as role \"bob\" is refused while escalated through break-glass");
        assert_eq!(r.hint, "SET ROLE ns_breakglass_admin first: what you create then belongs to the break-glass role, not to you.");
        assert_eq!(r.sqlstate, PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE);
        let r = refusal(&Route::GrantToOwn(Some(TEAM)), "GRANT", "bob", "bg", name);
        assert!(r.message.contains("role \"r500\", which \"bob\" holds without break-glass"));
        for route in [Route::RoleChange, Route::GrantOption, Route::GrantToOwn(None), Route::DefaultPrivileges, Route::SecurityDefiner, Route::OwnerChange, Route::PrepareTransaction, Route::OthersObject(OWNER)] {
            let r = refusal(&route, "X", "bob", "bg", name);
            assert!(r.message.ends_with("is refused while escalated through break-glass") && !r.hint.is_empty(), "{route:?}");
        }
    }
}
