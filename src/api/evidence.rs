//! The writes of the lint and evidence functions: suppressions, snapshots, access reviews.
//!
//! A suppression hides a finding and a review approves a privilege inventory, so only admins
//! (superusers and members of `nspg_guard.admin_roles`, the DDL guard's standing) make them.
//! The tables grant nothing but SELECT, and nobody changes their rows by DML while the library is
//! loaded (guard/protect.rs): these functions check the caller, then write as nspg_guard's
//! internal work (as_guard).

use crate::api::lint::{required, LintError, DECISIONS};
use crate::pg::as_guard::as_guard;
use crate::pg::standing;
use pgrx::pg_sys;
use pgrx::prelude::*;

/// Refuses callers that are neither superusers nor admins, with the lint functions' own error
/// (`LintError::Denied`, whose HINT names the evidence they would change).
fn admin_or_denied(action: &'static str) -> Result<(), LintError> {
    if standing::current_user_is_admin() {
        return Ok(());
    }
    let role = crate::pg::text::role_name(unsafe { pg_sys::GetUserId() });
    Err(LintError::Denied { action, role })
}

fn or_raise<T>(result: Result<T, LintError>) -> T {
    result.unwrap_or_else(|e| e.raise())
}

/// Hides the finding with `key` (the `key` column of `nspg_guard.lint()`) from `lint()` until
/// `until`, for `reason`. Suppressing a key again replaces its reason and end.
#[pg_extern(volatile, parallel_unsafe)]
fn lint_suppress(key: Option<&str>, reason: Option<&str>, until: Option<TimestampWithTimeZone>) {
    or_raise((|| {
        const F: &str = "lint_suppress";
        let key = required(key, F, "key")?;
        let reason = required(reason, F, "reason")?;
        let until = until.ok_or(LintError::Null { function: F, argument: "until" })?;
        admin_or_denied(F)?;
        let known = Spi::get_one_with_args::<bool>(
            "SELECT EXISTS (SELECT FROM nspg_guard.lint_rules WHERE starts_with($1, rule || ':'))",
            &[key.into()],
        )?;
        if known != Some(true) {
            return Err(LintError::UnknownKey(key.to_string()));
        }
        let by = unsafe { pg_sys::GetUserId() };
        as_guard(|| {
            Spi::run_with_args(
                "INSERT INTO nspg_guard.lint_suppressions (key, reason, until, suppressed_by)
                 VALUES ($1, $2, $3, pg_catalog.pg_get_userbyid($4))
                 ON CONFLICT (key) DO UPDATE
                 SET reason = EXCLUDED.reason, until = EXCLUDED.until,
                     suppressed_by = EXCLUDED.suppressed_by, suppressed_at = EXCLUDED.suppressed_at",
                &[key.into(), reason.into(), until.into(), by.into()],
            )?;
            Ok(())
        })
    })())
}

/// Saves `nspg_guard.privilege_snapshot()` under `label` in `nspg_guard.snapshots`; returns its id.
#[pg_extern(volatile, parallel_unsafe)]
fn snapshot_save(label: Option<&str>) -> i64 {
    or_raise((|| {
        const F: &str = "snapshot_save";
        let label = required(label, F, "label")?;
        admin_or_denied(F)?;
        // taken as the caller, so the inventory is what the caller can see
        let snapshot = Spi::get_one::<pgrx::JsonB>("SELECT nspg_guard.privilege_snapshot()")?
            .ok_or(LintError::Internal("privilege_snapshot() returned NULL"))?;
        let by = unsafe { pg_sys::GetUserId() };
        as_guard(|| {
            Spi::get_one_with_args::<i64>(
                "INSERT INTO nspg_guard.snapshots (label, taken_by, snapshot)
                 VALUES ($1, pg_catalog.pg_get_userbyid($2), $3) RETURNING id",
                &[label.into(), by.into(), snapshot.into()],
            )?
            .ok_or(LintError::Internal("INSERT … RETURNING id returned no row"))
        })
    })())
}

/// Records an access review of snapshot `snapshot_id` (NS-PG-007 §10): who reviewed it, the
/// decision (approved, approved_with_changes, rejected) and notes. Returns the review's id.
#[pg_extern(volatile, parallel_unsafe)]
fn access_review_record(
    snapshot_id: Option<i64>,
    reviewer: Option<&str>,
    decision: Option<&str>,
    notes: Option<&str>,
) -> i64 {
    or_raise((|| {
        const F: &str = "access_review_record";
        let snapshot_id = snapshot_id.ok_or(LintError::Null { function: F, argument: "snapshot_id" })?;
        let reviewer = required(reviewer, F, "reviewer")?;
        let decision = required(decision, F, "decision")?;
        if !DECISIONS.contains(&decision) {
            return Err(LintError::UnknownDecision(decision.to_string()));
        }
        admin_or_denied(F)?;
        let exists = Spi::get_one_with_args::<bool>(
            "SELECT EXISTS (SELECT FROM nspg_guard.snapshots WHERE id = $1)",
            &[snapshot_id.into()],
        )?;
        if exists != Some(true) {
            return Err(LintError::UnknownSnapshot(snapshot_id));
        }
        let by = unsafe { pg_sys::GetUserId() };
        as_guard(|| {
            Spi::get_one_with_args::<i64>(
                "INSERT INTO nspg_guard.access_review_records (snapshot_id, reviewer, decision, notes, recorded_by)
                 VALUES ($1, $2, $3, $4, pg_catalog.pg_get_userbyid($5)) RETURNING id",
                &[snapshot_id.into(), reviewer.into(), decision.into(), notes.into(), by.into()],
            )?
            .ok_or(LintError::Internal("INSERT … RETURNING id returned no row"))
        })
    })())
}

extension_sql_file!(
    "../../sql/evidence/snapshots.sql",
    name = "evidence_snapshots",
    requires = ["lint_framework"]
);
/// Whether the current role is an admin (nspg_guard.admin_roles) or a superuser: what the
/// admin-only functions (credential_age, lockdown_role, audit_purge) ask.
#[pg_extern(stable)]
fn is_admin() -> bool {
    standing::current_user_is_admin()
}

/// The databases of this cluster whose audit chain was ever sealed (an anchor file is kept for
/// them, `trail::anchor`): evidence() names those it did not verify. NULL when the directory
/// cannot be read, so that nothing is claimed about them.
#[pg_extern(stable)]
fn audit_anchored_databases() -> Option<Vec<pg_sys::Oid>> {
    let databases = crate::trail::anchor::databases().ok()?;
    Some(databases.into_iter().map(pg_sys::Oid::from).collect())
}

extension_sql_file!(
    "../../sql/evidence/evidence.sql",
    name = "evidence_bundle",
    requires = [
        "evidence_snapshots",
        "lint_entry",
        "audit_schema",
        "audit_verify_users",
        "breakglass_schema",
        is_admin,
        audit_anchored_databases
    ]
);
