//! `allow_destructive()`: the deliberate override of the destructive guard, for migration and
//! admin roles, until the end of the transaction (`guard/overrides.rs` keeps it and says what
//! it covers). Each grant is an `override` audit event.

use crate::api::support::required_reason;
use crate::guard::overrides;
use crate::pg::errors::fail;
use crate::pg::standing;
use crate::pg::text::role_name;
use crate::policy::audit_event::AuditClass;
use crate::policy::ddl_guard::Authority;
use crate::trail::write;
use pgrx::pg_sys::{self, errcodes::PgSqlErrorCode};
use pgrx::prelude::*;

/// Lets the current transaction run destructive statements. The reason is mandatory and
/// recorded in the server log with the role that gave it.
#[pg_extern(volatile, parallel_unsafe)]
fn allow_destructive(reason: Option<&str>) -> String {
    let reason = required_reason(
        reason,
        "allow_destructive",
        "Say why, for example: SELECT nspg_guard.allow_destructive('purge orders of test tenant, ticket OPS-123');",
    );
    let role = unsafe { pg_sys::GetUserId() };
    let role_name = role_name(role);
    if !standing::of(role).has(Authority::Migration) {
        fail(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            format!("nspg_guard: allow_destructive denied for role \"{role_name}\""),
            "Only members of a migration role (nspg_guard.migration_roles) or an admin role (nspg_guard.admin_roles) may allow destructive statements.",
        );
    }
    if unsafe { !pg_sys::IsTransactionBlock() } {
        warning!("nspg_guard: allow_destructive outside a transaction block ends with this statement; use BEGIN first");
    }
    overrides::grant(role, reason.clone());
    // Recorded whether or not the transaction commits: the grant itself is the evidence.
    let mut event = write::event(AuditClass::Override, "granted");
    event.command_tag = Some("ALLOW DESTRUCTIVE".into());
    event.object_type = Some("role".into());
    event.object_identity = Some(role_name);
    event.reason = Some(reason);
    write::record_async(event);
    "destructive statements allowed until the end of this transaction".to_string()
}
