//! The DDL rule (NS-PG-007 §3.3, §8.2): schema and privilege changes only from migration roles
//! (or admins); role management only from admins. App roles never change schema.
//!
//! Pure: the caller classifies the statement and looks up the role's standing.

use crate::policy::classify::Class;
use crate::policy::verdict::Refusal;
use pgrx::pg_sys::errcodes::PgSqlErrorCode;

/// Who may run a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authority {
    Anyone,
    /// A migration role (or an admin, or a superuser).
    Migration,
    /// An admin role (or a superuser).
    Admin,
}

/// The roles whose privileges the current role has, as far as the guards care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Standing {
    pub superuser: bool,
    pub admin: bool,
    pub migration: bool,
    /// Has the privileges of a break-glass approver role (`nspg_guard.breakglass_approvers`).
    pub approver: bool,
    /// Escalated: a non-superuser with the privileges of `nspg_guard.breakglass_role`.
    pub breakglass: bool,
}

impl Standing {
    pub fn has(self, authority: Authority) -> bool {
        match authority {
            Authority::Anyone => true,
            Authority::Migration => self.migration || self.admin || self.superuser,
            Authority::Admin => self.admin || self.superuser,
        }
    }
}

/// The authority a statement of `class` needs under the DDL guard. CREATE EXTENSION is in the
/// `risky` class but its script creates objects, so it needs what a schema change needs.
pub fn authority_needed(class: Class, creates_extension: bool) -> Authority {
    match class {
        Class::Schema | Class::Privilege => Authority::Migration,
        Class::Role => Authority::Admin,
        Class::Risky if creates_extension => Authority::Migration,
        _ => Authority::Anyone,
    }
}

/// Is this attempt refused? Temporary objects are private to the session and vanish with it,
/// so they are not schema changes in the policy's sense (when `allow_temp_objects` is on).
pub fn is_refused(needed: Authority, standing: Standing, temp_object: bool, allow_temp: bool) -> bool {
    !(standing.has(needed) || (temp_object && allow_temp))
}

/// The settings a refusal quotes, so the reader sees which role sets apply.
pub struct RoleSets<'a> {
    pub migration_roles: &'a str,
    pub admin_roles: &'a str,
}

/// Words the refusal of `command` (a command tag such as `ALTER TABLE`) run by `role`.
pub fn refusal(command: &str, role: &str, class: Class, needed: Authority, sets: &RoleSets) -> Refusal {
    let (detail, hint) = match needed {
        Authority::Admin => (
            format!(
                "Statement class \"{}\": role management needs an admin role (nspg_guard.admin_roles = '{}') or a superuser.",
                class.as_str(),
                sets.admin_roles
            ),
            "Ask a platform admin to make this role change.".to_string(),
        ),
        Authority::Migration | Authority::Anyone => (
            format!(
                "Statement class \"{}\": {} need a migration role (nspg_guard.migration_roles = '{}') or an admin role (nspg_guard.admin_roles = '{}').",
                class.as_str(),
                if class == Class::Risky { "extensions create objects, so installing them and schema changes" } else { "schema and privilege changes" },
                sets.migration_roles,
                sets.admin_roles
            ),
            format!(
                "Run schema changes through the migration workflow, as a member of a migration role ({}).",
                sets.migration_roles
            ),
        ),
    };
    Refusal {
        sqlstate: PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
        message: format!("nspg_guard: {command} denied for role \"{role}\""),
        detail,
        hint,
        command: command.to_string(),
        object: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const APP: Standing = Standing { superuser: false, admin: false, migration: false, approver: false, breakglass: false };
    const MIGRATION: Standing = Standing { superuser: false, admin: false, migration: true, approver: false, breakglass: false };
    const ADMIN: Standing = Standing { superuser: false, admin: true, migration: false, approver: false, breakglass: false };
    const SUPERUSER: Standing = Standing { superuser: true, admin: false, migration: false, approver: false, breakglass: false };

    #[test]
    fn authority_by_class() {
        assert_eq!(authority_needed(Class::Schema, false), Authority::Migration);
        assert_eq!(authority_needed(Class::Privilege, false), Authority::Migration);
        assert_eq!(authority_needed(Class::Role, false), Authority::Admin);
        assert_eq!(authority_needed(Class::Risky, true), Authority::Migration);
        for class in [Class::Session, Class::Maintenance, Class::Data, Class::Destructive, Class::Risky] {
            assert_eq!(authority_needed(class, false), Authority::Anyone, "{class:?}");
        }
    }

    #[test]
    fn who_may_do_what() {
        let refused = |need, who| is_refused(need, who, false, true);
        assert!(refused(Authority::Migration, APP));
        assert!(!refused(Authority::Migration, MIGRATION));
        assert!(!refused(Authority::Migration, ADMIN));
        assert!(!refused(Authority::Migration, SUPERUSER));
        assert!(refused(Authority::Admin, APP));
        assert!(refused(Authority::Admin, MIGRATION));
        assert!(!refused(Authority::Admin, ADMIN));
        assert!(!refused(Authority::Admin, SUPERUSER));
        assert!(!refused(Authority::Anyone, APP));
    }

    #[test]
    fn temp_objects_follow_the_setting() {
        assert!(!is_refused(Authority::Migration, APP, true, true));
        assert!(is_refused(Authority::Migration, APP, true, false));
    }

    #[test]
    fn refusal_wording() {
        let sets = RoleSets { migration_roles: "ns_migrate_*, ns_owner_*", admin_roles: "ns_admin" };
        let r = refusal("ALTER TABLE", "ns_app_rw_orders", Class::Schema, Authority::Migration, &sets);
        assert_eq!(r.message, "nspg_guard: ALTER TABLE denied for role \"ns_app_rw_orders\"");
        assert!(r.detail.contains("class \"schema\"") && r.detail.contains("ns_migrate_*, ns_owner_*"));
        assert!(r.hint.contains("migration workflow"));
        assert_eq!(r.sqlstate, PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE);
        let r = refusal("CREATE ROLE", "ns_migrate_orders", Class::Role, Authority::Admin, &sets);
        assert!(r.detail.contains("admin role") && r.hint.contains("platform admin"));
    }
}
