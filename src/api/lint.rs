//! Posture lint (NS-PG-007 §3–§6, §10–§11), the SQL-callable shell.
//!
//! The rules are set-based SQL, one file per rule under `sql/lint/`, each defining
//! `nspg_guard.lint_<rule>()` and registering itself in `nspg_guard.lint_rules`;
//! `nspg_guard.lint()` runs the registered rules. This module holds what SQL cannot decide
//! well: role-set membership (the GUC patterns of `policy/roles.rs`), policy expressions (read by
//! `pg/policy_expr.rs`, decided by the pure `lint_expr`), hba address ranges (the pure
//! `lint_hba`), and the errors every lint function raises.

use crate::pg::backend::BackendCell;
use crate::pg::policy_expr::{self, Syscache, ANUM_PG_POLICY_POLQUAL, ANUM_PG_POLICY_POLWITHCHECK};
use crate::pg::settings::{self, RoleSet};
use crate::policy::lint_expr;
use crate::policy::lint_hba;
use pgrx::PgLogLevel;
use pgrx::pg_sys::panic::ErrorReport;
use pgrx::pg_sys::{self, errcodes::PgSqlErrorCode};
use pgrx::prelude::*;
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

/// Which stored expression of a policy: `USING` (`pg_policy.polqual`) or `WITH CHECK`
/// (`polwithcheck`), spelled as in CREATE POLICY.
fn policy_clause(clause: &str) -> Result<i32, LintError> {
    match clause.trim().to_ascii_uppercase().split_whitespace().collect::<Vec<_>>().as_slice() {
        ["USING"] => Ok(ANUM_PG_POLICY_POLQUAL),
        ["WITH", "CHECK"] => Ok(ANUM_PG_POLICY_POLWITHCHECK),
        _ => Err(LintError::UnknownClause(clause.chars().take(64).collect())),
    }
}

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
    let key = crate::pg::statement::data_key();
    let remembered = ANALYSES.with(|a| {
        let mut a = a.borrow_mut();
        if a.0 != key {
            *a = (key, std::collections::BTreeMap::new());
        }
        a.1.get(&(policy.to_u32(), attnum)).cloned()
    });
    let analysis = remembered.unwrap_or_else(|| {
        let stored = unsafe { policy_expr::stored(policy, attnum) }.unwrap_or_else(|e| LintError::Internal(e).raise());
        let analysis = stored.map(|expr| {
            (lint_expr::truth(&expr, &Syscache).as_str().to_string(), lint_expr::references_row(&expr), lint_expr::per_row_calls(&expr, &Syscache))
        });
        ANALYSES.with(|a| a.borrow_mut().1.insert((policy.to_u32(), attnum), analysis.clone()));
        analysis
    });
    TableIterator::new(analysis)
}

/// A policy clause's analysis: (truth, references_row, per_row_calls); None without the clause.
type Analysis = Option<(String, bool, Vec<String>)>;

/// The analyses made in the statement running now (`statement::data_key`): the lint's rules
/// each ask about every policy, and a policy cannot change within one statement's data.
static ANALYSES: BackendCell<((u32, i64, u32), std::collections::BTreeMap<(u32, i32), Analysis>)> =
    BackendCell::new(((0, 0, 0), std::collections::BTreeMap::new()));

/// How much of the network a pg_hba.conf address admits: any, broad, samenet, network, host,
/// local, hostname or none (see `lint_hba`).
#[pg_extern(immutable, parallel_safe)]
fn hba_address_scope(address: Option<&str>, netmask: Option<&str>) -> &'static str {
    lint_hba::scope(address, netmask).as_str()
}

// The lint framework, then one file per rule. Rules only need the framework: `lint()` finds
// them in `nspg_guard.lint_rules` when it runs.
extension_sql_file!(
    "../../sql/lint/framework.sql",
    name = "lint_framework",
    requires = ["preload_check", role_in_set, policy_expr_analysis, hba_address_scope, hooks_active]
);
extension_sql_file!("../../sql/lint/lint.sql", name = "lint_entry", requires = ["lint_framework"]);

extension_sql_file!("../../sql/lint/rls_disabled_with_policies.sql", requires = ["lint_framework"]);
extension_sql_file!("../../sql/lint/rls_enabled_no_policy.sql", requires = ["lint_framework"]);
extension_sql_file!("../../sql/lint/rls_not_forced_login_owner.sql", requires = ["lint_framework"]);
extension_sql_file!("../../sql/lint/rls_tenant_table_without_rls.sql", requires = ["lint_framework"]);
extension_sql_file!("../../sql/lint/rls_policy_always_true.sql", requires = ["lint_framework"]);
extension_sql_file!("../../sql/lint/rls_policy_missing_with_check.sql", requires = ["lint_framework"]);
extension_sql_file!("../../sql/lint/rls_multiple_permissive_policies.sql", requires = ["lint_framework"]);
extension_sql_file!("../../sql/lint/rls_policy_to_public.sql", requires = ["lint_framework"]);
extension_sql_file!("../../sql/lint/rls_view_bypasses_rls.sql", requires = ["lint_framework"]);
extension_sql_file!("../../sql/lint/rls_bypassrls_role.sql", requires = ["lint_framework"]);
extension_sql_file!("../../sql/lint/rls_policy_per_row_call.sql", requires = ["lint_framework"]);
extension_sql_file!("../../sql/lint/rls_matview_exposes_rows.sql", requires = ["lint_framework"]);
extension_sql_file!("../../sql/lint/rls_child_table_exposes_rows.sql", requires = ["lint_framework"]);
extension_sql_file!("../../sql/lint/rls_foreign_table_exposes_rows.sql", requires = ["lint_framework"]);
extension_sql_file!("../../sql/lint/rls_function_bypasses_rls.sql", requires = ["lint_framework"]);
extension_sql_file!("../../sql/lint/rls_permissive_policy_cancels_others.sql", requires = ["lint_framework"]);
extension_sql_file!("../../sql/lint/roles_superuser_not_allowed.sql", requires = ["lint_framework"]);
extension_sql_file!("../../sql/lint/roles_login_reaches_privileged.sql", requires = ["lint_framework"]);
extension_sql_file!("../../sql/lint/roles_app_member_of_privileged.sql", requires = ["lint_framework"]);
extension_sql_file!("../../sql/lint/roles_owner_role_login.sql", requires = ["lint_framework"]);
extension_sql_file!("../../sql/lint/roles_migration_role_app_login.sql", requires = ["lint_framework"]);
extension_sql_file!("../../sql/lint/roles_md5_password.sql", requires = ["lint_framework"]);
extension_sql_file!("../../sql/lint/roles_password_never_expires.sql", requires = ["lint_framework"]);
extension_sql_file!("../../sql/lint/roles_login_dangerous_predefined_role.sql", requires = ["lint_framework"]);
extension_sql_file!("../../sql/lint/roles_login_dangerous_attribute.sql", requires = ["lint_framework"]);
extension_sql_file!("../../sql/lint/privileges_app_role_owns_objects.sql", requires = ["lint_framework"]);
extension_sql_file!("../../sql/lint/privileges_app_role_schema_create.sql", requires = ["lint_framework"]);
extension_sql_file!("../../sql/lint/privileges_public_schema_create.sql", requires = ["lint_framework"]);
extension_sql_file!("../../sql/lint/privileges_public_execute_security_definer.sql", requires = ["lint_framework"]);
extension_sql_file!("../../sql/lint/privileges_security_definer_search_path.sql", requires = ["lint_framework"]);
extension_sql_file!("../../sql/lint/privileges_schema_no_default_privileges.sql", requires = ["lint_framework", "evidence_snapshots"]);
extension_sql_file!("../../sql/lint/privileges_default_privileges_too_broad.sql", requires = ["lint_framework"]);
extension_sql_file!("../../sql/lint/hba_weak_auth_method.sql", requires = ["lint_framework"]);
extension_sql_file!("../../sql/lint/hba_non_tls_host.sql", requires = ["lint_framework"]);
extension_sql_file!("../../sql/lint/hba_broad_address.sql", requires = ["lint_framework"]);
extension_sql_file!("../../sql/lint/hba_remote_superuser.sql", requires = ["lint_framework"]);
extension_sql_file!("../../sql/lint/hba_file_error.sql", requires = ["lint_framework"]);
extension_sql_file!("../../sql/lint/settings_ssl_disabled.sql", requires = ["lint_framework"]);
extension_sql_file!("../../sql/lint/settings_ssl_min_protocol_weak.sql", requires = ["lint_framework"]);
extension_sql_file!("../../sql/lint/settings_password_encryption_not_scram.sql", requires = ["lint_framework"]);
extension_sql_file!("../../sql/lint/settings_connection_logging_off.sql", requires = ["lint_framework"]);
extension_sql_file!("../../sql/lint/settings_log_line_prefix_incomplete.sql", requires = ["lint_framework"]);
extension_sql_file!("../../sql/lint/settings_log_statement_all.sql", requires = ["lint_framework"]);
extension_sql_file!("../../sql/lint/settings_guard_not_enforced.sql", requires = ["lint_framework"]);
extension_sql_file!("../../sql/lint/audit_trail_not_installed.sql", requires = ["lint_framework"]);
extension_sql_file!("../../sql/lint/audit_destination_not_table.sql", requires = ["lint_framework"]);
extension_sql_file!("../../sql/lint/audit_retention_short.sql", requires = ["lint_framework"]);


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
        let readme = include_str!("../../README.md");
        let granted: Vec<&str> = include_str!("../../sql/finalize.sql")
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

