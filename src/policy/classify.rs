//! Classification of utility statements (everything that is not SELECT/INSERT/UPDATE/DELETE/
//! MERGE) into the classes the guards reason about. Pure: it looks only at the parse-tree node
//! tag and a few facts the caller reads off the node, never at the catalogs.
//!
//! The table here is the one documented in README.md ("Statement classes"); keep them in step.

use pgrx::pg_sys::NodeTag;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// CREATE/ALTER/DROP of any object, COMMENT, SECURITY LABEL, rules, triggers, policies.
    Schema,
    /// GRANT/REVOKE on objects, ALTER DEFAULT PRIVILEGES, ownership, REASSIGN/DROP OWNED.
    Privilege,
    /// CREATE/ALTER/DROP ROLE, role membership, per-role settings.
    Role,
    /// VACUUM, ANALYZE, REINDEX, CLUSTER, REFRESH MATERIALIZED VIEW, CHECKPOINT.
    Maintenance,
    /// Transaction control, SET/SHOW, PREPARE/EXECUTE, cursors, LISTEN/NOTIFY, EXPLAIN, DO, CALL.
    Session,
    /// ALTER SYSTEM, LOAD, COPY to/from a server file or program, CREATE EXTENSION.
    Risky,
    /// COPY to/from the client.
    Data,
    /// TRUNCATE.
    Destructive,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Schema => "schema",
            Class::Privilege => "privilege",
            Class::Role => "role",
            Class::Maintenance => "maintenance",
            Class::Session => "session",
            Class::Risky => "risky",
            Class::Data => "data",
            Class::Destructive => "destructive",
        }
    }
}

/// Where a COPY reads or writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyEndpoint {
    Client,
    ServerFile,
    Program,
}

/// What the caller reads off the node beyond its tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Facts {
    /// For COPY: its endpoint.
    pub copy: Option<CopyEndpoint>,
    /// For ALTER … RENAME: the object renamed is a role.
    pub renames_role: bool,
}

/// Classifies one utility statement. Unknown tags are `Schema`: default deny (NS-PG-007 §1)
/// means a statement we have not seen before needs a migration role until it is classified.
pub fn classify(tag: NodeTag, facts: Facts) -> Class {
    use NodeTag::*;
    match tag {
        T_GrantStmt | T_AlterDefaultPrivilegesStmt | T_AlterOwnerStmt | T_ReassignOwnedStmt
        | T_DropOwnedStmt => Class::Privilege,

        T_CreateRoleStmt | T_AlterRoleStmt | T_AlterRoleSetStmt | T_DropRoleStmt
        | T_GrantRoleStmt => Class::Role,
        T_RenameStmt if facts.renames_role => Class::Role,

        T_VacuumStmt | T_ReindexStmt | T_ClusterStmt | T_RefreshMatViewStmt
        | T_CheckPointStmt => Class::Maintenance,

        T_TransactionStmt | T_VariableSetStmt | T_VariableShowStmt | T_PrepareStmt
        | T_ExecuteStmt | T_DeallocateStmt | T_ListenStmt | T_UnlistenStmt | T_NotifyStmt
        | T_DiscardStmt | T_ExplainStmt | T_DeclareCursorStmt | T_ClosePortalStmt
        | T_FetchStmt | T_ConstraintsSetStmt | T_LockStmt | T_DoStmt | T_CallStmt => {
            Class::Session
        }

        T_AlterSystemStmt | T_LoadStmt | T_CreateExtensionStmt => Class::Risky,
        T_CopyStmt => match facts.copy {
            Some(CopyEndpoint::Client) => Class::Data,
            _ => Class::Risky,
        },

        T_TruncateStmt => Class::Destructive,

        _ => Class::Schema,
    }
}

/// Session statements no guard has anything to say about, beyond the session's own caps: they
/// change no object, setting, role or lasting state, and the queries they carry (DECLARE,
/// PREPARE, EXECUTE) are judged by the executor hooks when they run. `prepared` is a transaction
/// statement about a prepared transaction (PREPARE / COMMIT / ROLLBACK PREPARED), which is not one
/// of them. The utility check leaves at once for these (most of a session's utility traffic).
pub fn inert(tag: NodeTag, prepared: bool) -> bool {
    use NodeTag::*;
    match tag {
        T_TransactionStmt => !prepared,
        T_VariableShowStmt | T_FetchStmt | T_ClosePortalStmt | T_DeallocateStmt | T_DeclareCursorStmt
        | T_PrepareStmt | T_ExecuteStmt | T_ConstraintsSetStmt | T_ListenStmt | T_UnlistenStmt | T_NotifyStmt => true,
        _ => false,
    }
}

/// SET or RESET of the setting `name` in a session that is neither admin nor escalated (where
/// no session cap applies): no guard has anything to say unless the setting changes who the
/// session is (`role`, `session_authorization`: the session may become an admin one) or its
/// change is an audit event (`audit_event::is_audit_relevant_setting`).
pub fn set_inert_when_quiet(name: &[u8]) -> bool {
    !(name.eq_ignore_ascii_case(b"role")
        || name.eq_ignore_ascii_case(b"session_authorization")
        || crate::policy::audit_event::is_audit_relevant_setting(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use NodeTag::*;

    fn class(tag: NodeTag) -> Class {
        classify(tag, Facts::default())
    }

    #[test]
    fn schema_changes() {
        for tag in [
            T_CreateStmt, T_AlterTableStmt, T_DropStmt, T_IndexStmt, T_ViewStmt,
            T_CreateFunctionStmt, T_CommentStmt, T_SecLabelStmt, T_RuleStmt, T_CreateTrigStmt,
            T_CreatePolicyStmt, T_AlterPolicyStmt, T_CreateSchemaStmt, T_CreateTableAsStmt,
            T_RenameStmt, T_AlterObjectSchemaStmt, T_CreateSeqStmt, T_DefineStmt,
            T_CreateEventTrigStmt, T_AlterExtensionStmt, T_CreatedbStmt, T_DropdbStmt,
            T_AlterDatabaseSetStmt, T_CreateForeignTableStmt, T_CreateUserMappingStmt,
        ] {
            assert_eq!(class(tag), Class::Schema, "{tag:?}");
        }
    }

    #[test]
    fn privileges_and_roles() {
        for tag in [T_GrantStmt, T_AlterDefaultPrivilegesStmt, T_ReassignOwnedStmt, T_AlterOwnerStmt, T_DropOwnedStmt] {
            assert_eq!(class(tag), Class::Privilege, "{tag:?}");
        }
        for tag in [T_CreateRoleStmt, T_AlterRoleStmt, T_AlterRoleSetStmt, T_DropRoleStmt, T_GrantRoleStmt] {
            assert_eq!(class(tag), Class::Role, "{tag:?}");
        }
        let renames_role = Facts { renames_role: true, ..Facts::default() };
        assert_eq!(classify(T_RenameStmt, renames_role), Class::Role);
    }

    #[test]
    fn maintenance_session_and_risky() {
        for tag in [T_VacuumStmt, T_ReindexStmt, T_ClusterStmt, T_RefreshMatViewStmt, T_CheckPointStmt] {
            assert_eq!(class(tag), Class::Maintenance, "{tag:?}");
        }
        for tag in [T_TransactionStmt, T_VariableSetStmt, T_VariableShowStmt, T_PrepareStmt, T_ExplainStmt, T_DoStmt, T_CallStmt, T_ListenStmt, T_DiscardStmt] {
            assert_eq!(class(tag), Class::Session, "{tag:?}");
        }
        for tag in [T_AlterSystemStmt, T_LoadStmt, T_CreateExtensionStmt] {
            assert_eq!(class(tag), Class::Risky, "{tag:?}");
        }
        assert_eq!(class(T_TruncateStmt), Class::Destructive);
    }

    #[test]
    fn inert_statements_are_session_statements_that_change_nothing() {
        for tag in [T_VariableShowStmt, T_FetchStmt, T_ClosePortalStmt, T_DeallocateStmt, T_DeclareCursorStmt, T_PrepareStmt, T_ExecuteStmt, T_ListenStmt] {
            assert!(inert(tag, false), "{tag:?}");
            assert_eq!(class(tag), Class::Session, "{tag:?}");
        }
        assert!(inert(T_TransactionStmt, false));
        assert!(!inert(T_TransactionStmt, true), "PREPARE TRANSACTION and friends are judged");
        // settings, DISCARD, LOCK, DO, CALL, EXPLAIN (ANALYZE runs its statement) are judged
        for tag in [T_VariableSetStmt, T_DiscardStmt, T_LockStmt, T_DoStmt, T_CallStmt, T_ExplainStmt, T_CopyStmt, T_AlterSystemStmt, T_CreateStmt, T_GrantRoleStmt] {
            assert!(!inert(tag, false), "{tag:?}");
        }
    }

    #[test]
    fn settings_that_change_who_the_session_is_or_leave_an_event_are_never_inert() {
        for name in ["work_mem", "statement_timeout", "application_name", "search_path", "DateStyle", "rolex", "logging"] {
            assert!(set_inert_when_quiet(name.as_bytes()), "{name}");
        }
        for name in ["role", "ROLE", "session_authorization", "nspg_guard.audit", "NSPG_GUARD.ddl_guard", "log_statement",
            "pgaudit.log", "session_preload_libraries", "row_security", "ssl_ciphers", "session_replication_role",
            "allow_system_table_mods", "dynamic_library_path"] {
            assert!(!set_inert_when_quiet(name.as_bytes()), "{name}");
        }
    }

    #[test]
    fn copy_depends_on_its_endpoint() {
        let copy = |e| classify(T_CopyStmt, Facts { copy: Some(e), ..Facts::default() });
        assert_eq!(copy(CopyEndpoint::Client), Class::Data);
        assert_eq!(copy(CopyEndpoint::ServerFile), Class::Risky);
        assert_eq!(copy(CopyEndpoint::Program), Class::Risky);
    }

    #[test]
    fn unknown_statements_default_to_schema() {
        assert_eq!(class(T_CreateAmStmt), Class::Schema);
        assert_eq!(class(T_AlterTSConfigurationStmt), Class::Schema);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn facts() -> impl Strategy<Value = Facts> {
            let copy = prop_oneof![
                Just(None),
                Just(Some(CopyEndpoint::Client)),
                Just(Some(CopyEndpoint::ServerFile)),
                Just(Some(CopyEndpoint::Program))
            ];
            (copy, any::<bool>()).prop_map(|(copy, renames_role)| Facts { copy, renames_role })
        }

        proptest! {
            /// Any statement tag with any facts has a class, and facts only matter for the two
            /// statements they describe.
            #[test]
            fn total_and_facts_only_for_copy_and_rename(
                tag in prop::sample::select(vec![
                    T_CreateStmt, T_CopyStmt, T_RenameStmt, T_DoStmt, T_GrantStmt, T_GrantRoleStmt,
                    T_TruncateStmt, T_AlterSystemStmt, T_VacuumStmt, T_CreateAmStmt, T_SelectStmt,
                    T_Query, T_Invalid, T_A_Const, T_ExecuteStmt, T_CreateExtensionStmt,
                ]),
                f in facts(),
            ) {
                let with_facts = classify(tag, f);
                if !matches!(tag, T_CopyStmt | T_RenameStmt) {
                    prop_assert_eq!(with_facts, class(tag));
                }
                prop_assert!(!with_facts.as_str().is_empty());
            }
        }
    }
}

