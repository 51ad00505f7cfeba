//! Posture lint (NS-PG-007 §3–§6, §10–§11), the SQL-callable shell.
//!
//! The rules are set-based SQL, one file per rule under `sql/lint/`, each defining
//! `nspg_guard.lint_<rule>()` and registering itself in `nspg_guard.lint_rules`;
//! `nspg_guard.lint()` runs the registered rules. This module holds what SQL cannot decide
//! well: role-set membership (the GUC patterns of `roles.rs`), policy expressions (decided by
//! the pure `lint_expr`), hba address ranges (the pure `lint_hba`), and the errors every
//! lint function raises.

use crate::lint_expr::{self, Catalog, Kind, Volatility};
use crate::lint_hba;
use crate::settings::{self, RoleSet};
use pgrx::pg_sys::panic::ErrorReport;
use pgrx::pg_sys::{self, errcodes::PgSqlErrorCode, NodeTag};
use pgrx::prelude::*;
use pgrx::PgLogLevel;
use std::ffi::{c_void, CStr};
use thiserror::Error;

/// Bad input and refusals of the lint and evidence functions.
#[derive(Debug, Error, PartialEq)]
pub enum LintError {
    #[error("nspg_guard: {function}: {argument} must not be null")]
    Null { function: &'static str, argument: &'static str },
    #[error("nspg_guard: {function}: {argument} must not be empty")]
    Blank { function: &'static str, argument: &'static str },
    #[error("nspg_guard: unknown role set \"{0}\"")]
    UnknownRoleSet(String),
    #[error("nspg_guard: \"{0}\" is not a lint finding key")]
    UnknownKey(String),
    #[error("nspg_guard: there is no snapshot {0}")]
    UnknownSnapshot(i64),
    #[error("nspg_guard: unknown access review decision \"{0}\"")]
    UnknownDecision(String),
    #[error("nspg_guard: unknown policy clause \"{0}\"")]
    UnknownClause(String),
    #[error("nspg_guard: {action} denied for role \"{role}\"")]
    Denied { action: &'static str, role: String },
    #[error("nspg_guard: {0}")]
    Spi(#[from] pgrx::spi::SpiError),
    #[error("nspg_guard: internal error: {0}")]
    Internal(&'static str),
}

impl LintError {
    fn sqlstate(&self) -> PgSqlErrorCode {
        match self {
            LintError::Denied { .. } => PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            LintError::Spi(_) | LintError::Internal(_) => PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
            _ => PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
        }
    }

    fn hint(&self) -> String {
        match self {
            LintError::Null { function, .. } | LintError::Blank { function, .. } => {
                format!("Give every argument of nspg_guard.{function}: {}.", usage(function))
            }
            LintError::UnknownRoleSet(_) => "Role sets are app, owner, migration and admin.".to_string(),
            LintError::UnknownClause(_) => "A policy's clauses are USING and WITH CHECK.".to_string(),
            LintError::UnknownKey(_) => {
                "Copy the key column of a row of nspg_guard.lint(); it starts with the rule's name and a colon.".to_string()
            }
            LintError::UnknownSnapshot(_) => "The ids are in SELECT id, label, taken_at FROM nspg_guard.snapshots;".to_string(),
            LintError::UnknownDecision(_) => format!("Decide one of: {}.", DECISIONS.join(", ")),
            LintError::Denied { .. } => {
                "Only superusers and members of an admin role (nspg_guard.admin_roles) may change lint suppressions and access-review evidence.".to_string()
            }
            LintError::Spi(_) | LintError::Internal(_) => "This is a bug in nspg_guard; please report it.".to_string(),
        }
    }

    /// Raises the error as an ERROR with its SQLSTATE and hint; does not return.
    pub fn raise(self) -> ! {
        let hint = self.hint();
        ErrorReport::new(self.sqlstate(), self.to_string(), "nspg_guard").set_hint(hint).report(PgLogLevel::ERROR);
        unreachable!("an ERROR report does not return")
    }
}

fn usage(function: &str) -> &'static str {
    match function {
        "lint_suppress" => "lint_suppress(key, reason, until)",
        "snapshot_save" => "snapshot_save(label)",
        _ => "access_review_record(snapshot_id, reviewer, decision, notes), only notes may be null",
    }
}

/// The decisions an access review may record (NS-PG-007 §10).
pub const DECISIONS: [&str; 3] = ["approved", "approved_with_changes", "rejected"];

/// A required text argument: present and not blank.
pub fn required<'a>(value: Option<&'a str>, function: &'static str, argument: &'static str) -> Result<&'a str, LintError> {
    match value.map(str::trim) {
        None => Err(LintError::Null { function, argument }),
        Some("") => Err(LintError::Blank { function, argument }),
        Some(v) => Ok(v),
    }
}

fn role_set(name: &str) -> Result<RoleSet, LintError> {
    match name {
        "app" => Ok(RoleSet::App),
        "owner" => Ok(RoleSet::Owner),
        "migration" => Ok(RoleSet::Migration),
        "admin" => Ok(RoleSet::Admin),
        other => Err(LintError::UnknownRoleSet(other.to_string())),
    }
}

/// Whether `rolname` matches the patterns of a role-set setting: `app` (nspg_guard.app_roles),
/// `owner`, `migration` or `admin`. By name only, as the taxonomy names roles; membership is
/// the rules' business.
#[pg_extern(stable, parallel_safe)]
fn role_in_set(rolname: &str, role_set_name: &str) -> bool {
    match role_set(role_set_name) {
        Ok(set) => settings::role_set_matches(set, rolname),
        Err(e) => e.raise(),
    }
}

/// Operator and function facts for `lint_expr`, from the syscache.
struct Syscache;

unsafe fn owned(name: *mut std::ffi::c_char) -> Option<String> {
    (!name.is_null()).then(|| CStr::from_ptr(name).to_string_lossy().into_owned())
}

impl Catalog for Syscache {
    fn operator_name(&self, opno: u32) -> Option<String> {
        unsafe { owned(pg_sys::get_opname(pg_sys::Oid::from(opno))) }
    }

    fn function(&self, funcid: u32) -> Option<(String, Volatility)> {
        let oid = pg_sys::Oid::from(funcid);
        // get_func_name answers NULL for a missing function; func_volatile would raise.
        let name = unsafe { owned(pg_sys::get_func_name(oid)) }?;
        let volatility = match unsafe { pg_sys::func_volatile(oid) } as u8 {
            pg_sys::PROVOLATILE_IMMUTABLE => Volatility::Immutable,
            pg_sys::PROVOLATILE_STABLE => Volatility::Stable,
            _ => Volatility::Volatile,
        };
        Some((name, volatility))
    }
}

/// Which stored expression of a policy: `USING` (`pg_policy.polqual`) or `WITH CHECK`
/// (`polwithcheck`), spelled as in CREATE POLICY.
fn policy_clause(clause: &str) -> Result<i32, LintError> {
    match clause.trim().to_ascii_uppercase().split_whitespace().collect::<Vec<_>>().as_slice() {
        ["USING"] => Ok(ANUM_PG_POLICY_POLQUAL),
        ["WITH", "CHECK"] => Ok(ANUM_PG_POLICY_POLWITHCHECK),
        _ => Err(LintError::UnknownClause(clause.chars().take(64).collect())),
    }
}

// pg_policy's catalog numbers (catalog/pg_policy_d.h); the bindings do not carry them.
const POLICY_RELATION_ID: u32 = 3256;
const POLICY_OID_INDEX_ID: u32 = 3257;
const ANUM_PG_POLICY_OID: i16 = 1;
const ANUM_PG_POLICY_POLQUAL: i32 = 7;
const ANUM_PG_POLICY_POLWITHCHECK: i32 = 8;

/// What the RLS rules need to know about one stored policy expression: whether it is the same
/// for every row (`truth`: always_true, always_false, constant, depends), whether it reads the
/// row at all, and which functions it calls per row that a sub-select would call once.
///
/// Takes the policy's oid and the clause (`USING` or `WITH CHECK`) and reads the expression
/// from `pg_policy` itself, so only trees PostgreSQL stored reach its reader: no caller-made
/// text is ever parsed. No row when there is no such policy or the policy has no such clause.
/// The walk is iterative: any tree PostgreSQL could store and read back is analysed.
#[pg_extern(stable, parallel_safe)]
#[allow(clippy::type_complexity)] // pgrx takes the column names from the name!() in the signature
fn policy_expr_analysis(
    policy: pg_sys::Oid,
    clause: &str,
) -> TableIterator<
    'static,
    (name!(truth, String), name!(references_row, bool), name!(per_row_calls, Vec<String>)),
> {
    let attnum = policy_clause(clause).unwrap_or_else(|e| e.raise());
    let Some(expr) = (unsafe { stored_policy_expr(policy, attnum) }) else {
        return TableIterator::new(Vec::new());
    };
    let row = (
        lint_expr::truth(&expr, &Syscache).as_str().to_string(),
        lint_expr::references_row(&expr),
        lint_expr::per_row_calls(&expr, &Syscache),
    );
    TableIterator::once(row)
}

/// Reads column `attnum` of the pg_policy row of `policy` with PostgreSQL's node reader and
/// walks it into the pure module's tree. `None` for no such row or a NULL column.
unsafe fn stored_policy_expr(policy: pg_sys::Oid, attnum: i32) -> Option<lint_expr::Expr> {
    let rel = pg_sys::table_open(pg_sys::Oid::from(POLICY_RELATION_ID), pg_sys::AccessShareLock as pg_sys::LOCKMODE);
    let mut key = pg_sys::ScanKeyData::default();
    pg_sys::ScanKeyInit(
        &mut key,
        ANUM_PG_POLICY_OID,
        pg_sys::BTEqualStrategyNumber as pg_sys::StrategyNumber,
        pg_sys::RegProcedure::from(pg_sys::F_OIDEQ),
        pg_sys::Datum::from(policy),
    );
    let scan = pg_sys::systable_beginscan(rel, pg_sys::Oid::from(POLICY_OID_INDEX_ID), true, std::ptr::null_mut(), 1, &mut key);
    let tuple = pg_sys::systable_getnext(scan);
    let mut text = None;
    if !tuple.is_null() {
        let mut is_null = false;
        let datum = pg_sys::heap_getattr(tuple, attnum, (*rel).rd_att, &mut is_null);
        if !is_null {
            // pg_node_tree is text; copied out before the scan (and its buffer) ends
            text = Some(pg_sys::text_to_cstring(datum.cast_mut_ptr()));
        }
    }
    pg_sys::systable_endscan(scan);
    pg_sys::table_close(rel, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
    // PostgreSQL's reader checks the stack depth itself (54001, as pg_get_expr reports it).
    let root = pg_sys::stringToNode(text?) as *mut pg_sys::Node;
    Some(tree_of(root))
}

/// A node being walked: its children (from PostgreSQL's walkers), how many are done, and the
/// ids of those done.
struct Visit {
    node: *mut pg_sys::Node,
    children: Vec<*mut pg_sys::Node>,
    next: usize,
    args: Vec<lint_expr::NodeId>,
}

impl Visit {
    unsafe fn new(node: *mut pg_sys::Node) -> Self {
        Visit { node, children: children_of(node), next: 0, args: Vec::new() }
    }
}

/// Walks a node tree into the pure module's tree, post-order, with an explicit stack:
/// PostgreSQL's walkers name each node's children (so every node type they know is followed
/// as they follow it), and the depth of the tree costs heap, not stack.
unsafe fn tree_of(root: *mut pg_sys::Node) -> lint_expr::Expr {
    let mut expr = lint_expr::Expr::new();
    if root.is_null() {
        return expr;
    }
    let mut stack = vec![Visit::new(root)];
    while let Some(top) = stack.last_mut() {
        if let Some(&child) = top.children.get(top.next) {
            top.next += 1;
            stack.push(Visit::new(child));
            continue;
        }
        let Some(done) = stack.pop() else { break };
        let id = expr
            .push(kind_of(done.node), done.args)
            .unwrap_or_else(|_| LintError::Internal("a policy expression that is not a tree").raise());
        if let Some(parent) = stack.last_mut() {
            parent.args.push(id);
        }
    }
    expr
}

/// The direct children of a node, as PostgreSQL's walkers see them (`query_tree_walker` for a
/// sub-select's Query). Lists are not nodes of their own here: their members are children of
/// the node that holds the list.
unsafe fn children_of(node: *mut pg_sys::Node) -> Vec<*mut pg_sys::Node> {
    let mut children: Vec<*mut pg_sys::Node> = Vec::new();
    let context = &mut children as *mut Vec<*mut pg_sys::Node> as *mut c_void;
    if (*node).type_ == NodeTag::T_Query {
        pg_sys::query_tree_walker(node as *mut pg_sys::Query, Some(note_child), context, 0);
    } else {
        pg_sys::expression_tree_walker(node, Some(note_child), context);
    }
    children
}

/// The walkers' callback: notes a child without descending into it (`tree_of` does that).
#[pg_guard]
unsafe extern "C-unwind" fn note_child(node: *mut pg_sys::Node, context: *mut c_void) -> bool {
    if node.is_null() {
        return false;
    }
    if (*node).type_ == NodeTag::T_List {
        // the one recursion left: lists of lists, a level or two in stored trees
        crate::nesting::check_stack_depth();
        return pg_sys::expression_tree_walker(node, Some(note_child), context);
    }
    (*(context as *mut Vec<*mut pg_sys::Node>)).push(node);
    false
}

/// What the decisions need to know about one node.
unsafe fn kind_of(node: *mut pg_sys::Node) -> Kind {
    match (*node).type_ {
        NodeTag::T_Const => {
            let c = &*(node as *mut pg_sys::Const);
            Kind::Const { type_oid: c.consttype.into(), is_null: c.constisnull, len: c.constlen, bytes: const_bytes(c) }
        }
        NodeTag::T_Var => Kind::Var { levels_up: (*(node as *mut pg_sys::Var)).varlevelsup },
        NodeTag::T_OpExpr => {
            let op = &*(node as *mut pg_sys::OpExpr);
            Kind::Op { opno: op.opno.into(), funcid: op_function(op).into() }
        }
        // IS DISTINCT FROM and NULLIF are OpExprs by layout; = ANY has its own struct
        NodeTag::T_DistinctExpr | NodeTag::T_NullIfExpr => {
            Kind::Func { funcid: op_function(&*(node as *mut pg_sys::OpExpr)).into() }
        }
        NodeTag::T_ScalarArrayOpExpr => {
            let op = &*(node as *mut pg_sys::ScalarArrayOpExpr);
            let funcid = if op.opfuncid == pg_sys::InvalidOid { pg_sys::get_opcode(op.opno) } else { op.opfuncid };
            Kind::Func { funcid: funcid.into() }
        }
        NodeTag::T_FuncExpr => Kind::Func { funcid: (*(node as *mut pg_sys::FuncExpr)).funcid.into() },
        NodeTag::T_BoolExpr => match (*(node as *mut pg_sys::BoolExpr)).boolop {
            pg_sys::BoolExprType::AND_EXPR => Kind::And,
            pg_sys::BoolExprType::OR_EXPR => Kind::Or,
            pg_sys::BoolExprType::NOT_EXPR => Kind::Not,
            _ => Kind::Opaque("T_BoolExpr".into()),
        },
        NodeTag::T_NullTest => {
            Kind::NullTest { is_null: (*(node as *mut pg_sys::NullTest)).nulltesttype == pg_sys::NullTestType::IS_NULL }
        }
        NodeTag::T_BooleanTest => Kind::BoolTest((*(node as *mut pg_sys::BooleanTest)).booltesttype as u8),
        NodeTag::T_SubLink => Kind::SubLink,
        NodeTag::T_Query => Kind::Query,
        NodeTag::T_RelabelType | NodeTag::T_ArrayExpr | NodeTag::T_CaseExpr | NodeTag::T_CaseWhen | NodeTag::T_CoalesceExpr => {
            Kind::Transparent
        }
        other => Kind::Opaque(format!("{other:?}")),
    }
}

/// The function behind an operator; stored trees carry it, but a zero would mean "look it up".
unsafe fn op_function(op: &pg_sys::OpExpr) -> pg_sys::Oid {
    if op.opfuncid == pg_sys::InvalidOid {
        pg_sys::get_opcode(op.opno)
    } else {
        op.opfuncid
    }
}

/// A literal's datum as bytes: the Datum word for pass-by-value types, else the value itself
/// (the varlena with its header, as the node string prints it).
unsafe fn const_bytes(c: &pg_sys::Const) -> Vec<u8> {
    if c.constisnull {
        return Vec::new();
    }
    if c.constbyval {
        return c.constvalue.value().to_le_bytes().to_vec();
    }
    let ptr = c.constvalue.cast_mut_ptr::<u8>();
    let len = match c.constlen {
        n if n > 0 => n as usize,
        -1 => pgrx::varlena::varsize_any(ptr as *const pg_sys::varlena),
        -2 => CStr::from_ptr(ptr as *const std::ffi::c_char).to_bytes().len(),
        _ => 0,
    };
    std::slice::from_raw_parts(ptr, len).to_vec()
}

/// How much of the network a pg_hba.conf address admits: any, broad, samenet, network, host,
/// local, hostname or none (see `lint_hba`).
#[pg_extern(immutable, parallel_safe)]
fn hba_address_scope(address: Option<&str>, netmask: Option<&str>) -> &'static str {
    lint_hba::scope(address, netmask).as_str()
}

// The lint framework, then one file per rule. Rules only need the framework: `lint()` finds
// them in `nspg_guard.lint_rules` when it runs.
extension_sql_file!(
    "../sql/lint/framework.sql",
    name = "lint_framework",
    requires = ["preload_check", role_in_set, policy_expr_analysis, hba_address_scope, hooks_active]
);
extension_sql_file!("../sql/lint/lint.sql", name = "lint_entry", requires = ["lint_framework"]);

extension_sql_file!("../sql/lint/rls_disabled_with_policies.sql", requires = ["lint_framework"]);
extension_sql_file!("../sql/lint/rls_enabled_no_policy.sql", requires = ["lint_framework"]);
extension_sql_file!("../sql/lint/rls_not_forced_login_owner.sql", requires = ["lint_framework"]);
extension_sql_file!("../sql/lint/rls_tenant_table_without_rls.sql", requires = ["lint_framework"]);
extension_sql_file!("../sql/lint/rls_policy_always_true.sql", requires = ["lint_framework"]);
extension_sql_file!("../sql/lint/rls_policy_missing_with_check.sql", requires = ["lint_framework"]);
extension_sql_file!("../sql/lint/rls_multiple_permissive_policies.sql", requires = ["lint_framework"]);
extension_sql_file!("../sql/lint/rls_policy_to_public.sql", requires = ["lint_framework"]);
extension_sql_file!("../sql/lint/rls_view_bypasses_rls.sql", requires = ["lint_framework"]);
extension_sql_file!("../sql/lint/rls_bypassrls_role.sql", requires = ["lint_framework"]);
extension_sql_file!("../sql/lint/rls_policy_per_row_call.sql", requires = ["lint_framework"]);
extension_sql_file!("../sql/lint/roles_superuser_not_allowed.sql", requires = ["lint_framework"]);
extension_sql_file!("../sql/lint/roles_login_reaches_privileged.sql", requires = ["lint_framework"]);
extension_sql_file!("../sql/lint/roles_app_member_of_privileged.sql", requires = ["lint_framework"]);
extension_sql_file!("../sql/lint/roles_owner_role_login.sql", requires = ["lint_framework"]);
extension_sql_file!("../sql/lint/roles_migration_role_app_login.sql", requires = ["lint_framework"]);
extension_sql_file!("../sql/lint/roles_md5_password.sql", requires = ["lint_framework"]);
extension_sql_file!("../sql/lint/roles_password_never_expires.sql", requires = ["lint_framework"]);
extension_sql_file!("../sql/lint/privileges_app_role_owns_objects.sql", requires = ["lint_framework"]);
extension_sql_file!("../sql/lint/privileges_app_role_schema_create.sql", requires = ["lint_framework"]);
extension_sql_file!("../sql/lint/privileges_public_schema_create.sql", requires = ["lint_framework"]);
extension_sql_file!("../sql/lint/privileges_public_execute_security_definer.sql", requires = ["lint_framework"]);
extension_sql_file!("../sql/lint/privileges_security_definer_search_path.sql", requires = ["lint_framework"]);
extension_sql_file!("../sql/lint/privileges_schema_no_default_privileges.sql", requires = ["lint_framework"]);
extension_sql_file!("../sql/lint/hba_weak_auth_method.sql", requires = ["lint_framework"]);
extension_sql_file!("../sql/lint/hba_non_tls_host.sql", requires = ["lint_framework"]);
extension_sql_file!("../sql/lint/hba_broad_address.sql", requires = ["lint_framework"]);
extension_sql_file!("../sql/lint/hba_remote_superuser.sql", requires = ["lint_framework"]);
extension_sql_file!("../sql/lint/hba_file_error.sql", requires = ["lint_framework"]);
extension_sql_file!("../sql/lint/settings_ssl_disabled.sql", requires = ["lint_framework"]);
extension_sql_file!("../sql/lint/settings_ssl_min_protocol_weak.sql", requires = ["lint_framework"]);
extension_sql_file!("../sql/lint/settings_password_encryption_not_scram.sql", requires = ["lint_framework"]);
extension_sql_file!("../sql/lint/settings_connection_logging_off.sql", requires = ["lint_framework"]);
extension_sql_file!("../sql/lint/settings_log_line_prefix_incomplete.sql", requires = ["lint_framework"]);
extension_sql_file!("../sql/lint/settings_log_statement_all.sql", requires = ["lint_framework"]);
extension_sql_file!("../sql/lint/settings_guard_not_enforced.sql", requires = ["lint_framework"]);
extension_sql_file!("../sql/lint/audit_trail_not_installed.sql", requires = ["lint_framework"]);
extension_sql_file!("../sql/lint/audit_destination_not_table.sql", requires = ["lint_framework"]);
extension_sql_file!("../sql/lint/audit_retention_short.sql", requires = ["lint_framework"]);
extension_sql_file!("../sql/lint/audit_chain_broken.sql", requires = ["lint_framework", "audit_schema"]);


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_arguments() {
        assert_eq!(required(Some(" x "), "snapshot_save", "label"), Ok("x"));
        assert_eq!(
            required(None, "snapshot_save", "label"),
            Err(LintError::Null { function: "snapshot_save", argument: "label" })
        );
        assert_eq!(
            required(Some("  "), "snapshot_save", "label"),
            Err(LintError::Blank { function: "snapshot_save", argument: "label" })
        );
    }

    #[test]
    fn role_sets_by_name() {
        assert!(matches!(role_set("app"), Ok(RoleSet::App)));
        assert!(matches!(role_set("admin"), Ok(RoleSet::Admin)));
        assert_eq!(role_set("apps").err(), Some(LintError::UnknownRoleSet("apps".into())));
    }

    #[test]
    fn errors_carry_sqlstate_and_hint() {
        let denied = LintError::Denied { action: "lint_suppress", role: "bob".into() };
        assert_eq!(denied.sqlstate(), PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE);
        assert_eq!(denied.to_string(), "nspg_guard: lint_suppress denied for role \"bob\"");
        let null = LintError::Null { function: "lint_suppress", argument: "until" };
        assert_eq!(null.sqlstate(), PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE);
        assert!(null.hint().contains("lint_suppress(key, reason, until)"));
        assert!(LintError::UnknownDecision("ok".into()).hint().contains("approved_with_changes"));
    }

    #[test]
    fn every_function_public_may_call_is_documented() {
        let readme = include_str!("../README.md");
        let granted: Vec<&str> = include_str!("../sql/finalize.sql")
            .lines()
            .filter_map(|l| l.strip_prefix("GRANT EXECUTE ON FUNCTION nspg_guard."))
            .filter_map(|l| l.split('(').next())
            .collect();
        assert!(granted.len() > 40, "{granted:?}");
        for name in granted {
            assert!(readme.contains(&format!("{name}(")) || readme.contains(&format!("`{name}`")), "{name} is not in README.md");
        }
        // the rule functions, granted by a loop over nspg_guard.lint_rules
        assert!(readme.contains("nspg_guard.lint_<rule>()"));
    }

    #[test]
    fn policy_clauses() {
        assert_eq!(policy_clause(" using "), Ok(ANUM_PG_POLICY_POLQUAL));
        assert_eq!(policy_clause("With   Check"), Ok(ANUM_PG_POLICY_POLWITHCHECK));
        let long = "x".repeat(1 << 20);
        match policy_clause(&long) {
            Err(LintError::UnknownClause(shown)) => assert_eq!(shown.len(), 64),
            other => panic!("{other:?}"),
        }
        assert_eq!(LintError::UnknownClause("x".into()).sqlstate(), PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE);
    }
}

