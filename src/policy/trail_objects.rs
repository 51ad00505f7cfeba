//! The trail's objects change only through nspg_guard's own extension scripts (NS-PG-007 §7.3:
//! nothing happens around the trail without a trace): while the library is loaded nobody,
//! superusers included, creates, changes or drops nspg_guard's objects — its extension, its
//! schema and everything in it, the extension's members — or rules, triggers, policies and
//! indexes attached to its tables, nor edits their rows in the system catalogs. Each refusal is
//! audited (class `denied`). Pure.

use crate::policy::verdict::Refusal;
use pgrx::pg_sys::errcodes::PgSqlErrorCode;

const DETAIL: &str = "While nspg_guard is loaded, nobody (superusers included) may create, change or drop nspg_guard's objects or what is attached to them (rules, triggers, policies, indexes), or edit their rows in the system catalogs, except through CREATE EXTENSION or ALTER EXTENSION nspg_guard UPDATE.";
const HINT: &str = "Changes to nspg_guard's objects ship as ALTER EXTENSION nspg_guard UPDATE; to uninstall, remove nspg_guard from shared_preload_libraries and restart first.";

/// `command` (a command tag, or CREATE/ALTER/DROP for a change seen on the object itself) of
/// `object` (what makes it nspg_guard's: "nspg_guard.audit_log", "schema nspg_guard", …).
pub fn change_refusal(command: &str, object: &str) -> Refusal {
    let message = format!("nspg_guard: {command} on {object} refused: nspg_guard's objects change only through its own extension scripts");
    refusal(message, command, object)
}

/// A statement writing the system catalog `catalog` changed rows of nspg_guard's objects.
pub fn catalog_write_refusal(command: &str, catalog: &str) -> Refusal {
    refusal(format!("nspg_guard: {command} of {catalog} refused: it changes rows of nspg_guard's objects"), command, catalog)
}

/// How rows of nspg_guard's table `table` (schema-qualified) are changed instead of by direct
/// DML: the refusal's HINT. A table not named here (a future one) gets the general rule.
pub fn registry_hint(table: &str) -> &'static str {
    match table {
        "nspg_guard.breakglass_requests" | "nspg_guard.role_lockdowns" => {
            "Use nspg_guard.breakglass_request/approve/deny/end/review() and nspg_guard.lockdown_role/unlock_role()."
        }
        "nspg_guard.audited_relations" => "Use SELECT nspg_guard.audit_relation(table, mode); mode 'none' stops auditing a table.",
        "nspg_guard.lint_suppressions" => "Use SELECT nspg_guard.lint_suppress(key, reason, until); an until in the past ends a suppression.",
        "nspg_guard.snapshots" => "Use SELECT nspg_guard.snapshot_save(label).",
        "nspg_guard.access_review_records" => "Use SELECT nspg_guard.access_review_record(snapshot_id, reviewer, decision, notes).",
        "nspg_guard.lint_rules" => "Lint rules ship with the extension (ALTER EXTENSION nspg_guard UPDATE); hide a finding with nspg_guard.lint_suppress().",
        _ => "nspg_guard's tables change only through nspg_guard's functions (see the README).",
    }
}

fn refusal(message: String, command: &str, object: &str) -> Refusal {
    Refusal {
        sqlstate: PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
        message,
        detail: DETAIL.into(),
        hint: HINT.into(),
        command: command.into(),
        object: Some(object.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_name_the_object_and_say_how() {
        let r = change_refusal("CREATE TRIGGER", "nspg_guard.audit_log");
        assert_eq!(r.sqlstate, PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE);
        assert!(r.message.starts_with("nspg_guard: CREATE TRIGGER on nspg_guard.audit_log refused"));
        assert!(r.hint.contains("ALTER EXTENSION nspg_guard UPDATE"));
        assert_eq!(r.object.as_deref(), Some("nspg_guard.audit_log"));
        let c = catalog_write_refusal("UPDATE", "pg_catalog.pg_class");
        assert!(c.message.contains("UPDATE of pg_catalog.pg_class refused"));
        assert_eq!(c.command, "UPDATE");
    }

    #[test]
    fn registry_hints_name_the_function_to_use() {
        assert!(registry_hint("nspg_guard.audited_relations").contains("audit_relation("));
        assert!(registry_hint("nspg_guard.lint_suppressions").contains("lint_suppress("));
        assert!(registry_hint("nspg_guard.snapshots").contains("snapshot_save("));
        assert!(registry_hint("nspg_guard.access_review_records").contains("access_review_record("));
        assert!(registry_hint("nspg_guard.role_lockdowns").contains("lockdown_role"));
        assert!(registry_hint("nspg_guard.some_future_table").contains("nspg_guard's functions"));
    }
}
