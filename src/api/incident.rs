//! Incident levers (NS-PG-007 §9): lock a role down fast and undo it, and evidence of password
//! rotation (§2.3, §10). Who may be locked down is decided in `policy/incident.rs`.

use crate::api::breakglass;
use crate::api::support::{quote_ident, require_registry, required_reason, run, spi, FirstValue};
use crate::guard::admin_session;
use crate::pg::errors::fail;
use crate::pg::settings;
use crate::pg::standing;
use crate::pg::text::{role_name, role_oid};
use crate::policy::audit_event::AuditClass;
use crate::policy::incident::{self, Lockdown};
use crate::trail::report::deny;
use crate::trail::write;
use pgrx::datum::{Interval, TimestampWithTimeZone};
use pgrx::pg_sys::{self, errcodes::PgSqlErrorCode};
use pgrx::prelude::*;

/// An incident lever refuses a caller that is not an admin as a policy refusal: audited (class
/// denied), with the admin roles in its DETAIL (the other admin-only functions raise
/// `support::require_admin`'s plain error).
fn refuse_non_admin(function: &str, command: &str) {
    if !standing::current_user_is_admin() {
        let user = unsafe { pg_sys::GetUserId() };
        deny(
            command,
            format!("nspg_guard: {function} denied for role \"{}\"", role_name(user)),
            format!("Incident levers are for admin roles (nspg_guard.admin_roles = '{}') and superusers.", settings::text_of(&settings::ADMIN_ROLES)),
            "Ask a platform admin.",
        );
    }
}

fn existing_role(role: Option<&str>, function: &str) -> (String, pg_sys::Oid) {
    let Some(name) = role.map(str::to_string) else {
        fail(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, format!("nspg_guard: {function} needs a role name, not NULL"), "Give the name of an existing role, as in pg_roles.rolname.");
    };
    let Some(oid) = role_oid(&name) else {
        fail(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("nspg_guard: {function}: role \"{name}\" does not exist"),
            "Give the name of an existing role, as in pg_roles.rolname.",
        );
    };
    (name, oid)
}

fn record(outcome: &str, role: &str, reason: &str, details: serde_json::Value) {
    if !write::audited(AuditClass::Admin) {
        return;
    }
    let mut event = write::event(AuditClass::Admin, outcome);
    event.command_tag = Some(if outcome == "locked_down" { "LOCKDOWN ROLE" } else { "UNLOCK ROLE" }.into());
    event.object_type = Some("role".into());
    event.object_identity = Some(role.to_string());
    event.reason = Some(reason.to_string());
    event.details = Some(details);
    write::record_committed(event);
}

/// Locks a role down: NOLOGIN, its break-glass access revoked, its sessions ended when this
/// transaction commits. Returns how many sessions end.
#[pg_extern(volatile, parallel_unsafe, requires = ["breakglass_schema"])]
fn lockdown_role(role: Option<&str>, reason: Option<&str>) -> i32 {
    require_registry("lockdown_role()");
    refuse_non_admin("lockdown_role()", "LOCKDOWN ROLE");
    let reason = required_reason(reason, "lockdown_role()", "Say why, e.g. SELECT nspg_guard.lockdown_role('ns_app_rw_orders', 'password leaked in CI logs, INC-88');");
    let (name, oid) = existing_role(role, "lockdown_role()");
    let (user, session) = unsafe { (pg_sys::GetUserId(), pg_sys::GetSessionUserId()) };
    let check = Lockdown {
        target_is_caller: oid == user || oid == session,
        target_is_bootstrap_superuser: oid == pg_sys::Oid::from(pg_sys::BOOTSTRAP_SUPERUSERID),
        target_is_superuser: unsafe { pg_sys::superuser_arg(oid) },
        caller_is_superuser: unsafe { pg_sys::superuser_arg(user) },
    };
    if let Err(e) = incident::may_lock_down(check) {
        if e.is_privilege() {
            deny("LOCKDOWN ROLE", format!("nspg_guard: lockdown_role() of \"{name}\" denied for role \"{}\"", role_name(user)), crate::policy::verdict::sentence(&e), e.hint());
        }
        fail(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, format!("nspg_guard: lockdown_role(): {e}"), e.hint());
    }
    let (locked, could_login) = spi(|client| {
        let locked = client
            .select("SELECT EXISTS (SELECT FROM nspg_guard.role_lockdowns WHERE role_oid = $1 AND unlocked_at IS NULL)", None, &[oid.into()])?
            .first_value::<bool>()?
            .unwrap_or(false);
        let could_login = client.select("SELECT rolcanlogin FROM pg_catalog.pg_roles WHERE oid = $1", None, &[oid.into()])?.first_value::<bool>()?.unwrap_or(false);
        Ok((locked, could_login))
    });
    if locked {
        fail(PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE, format!("nspg_guard: role \"{name}\" is already locked down"), "See nspg_guard.role_lockdowns; nspg_guard.unlock_role() lifts it.");
    }
    let by = role_name(session);
    if could_login {
        run(&format!("ALTER ROLE {} NOLOGIN", quote_ident(&name)), &[]);
    }
    let why = format!("lockdown: {reason}");
    let mut revoked = breakglass::end_requests_of(oid, &why, &by);
    revoked |= breakglass::revoke_membership(&settings::text_of(&settings::BREAKGLASS_ROLE), oid);
    let pids = crate::pg::as_guard::as_guard(|| crate::pg::backend::sessions_of(oid));
    run(
        "INSERT INTO nspg_guard.role_lockdowns (role_name, role_oid, reason, locked_by, could_login, sessions_ended, breakglass_revoked)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[name.clone().into(), oid.into(), reason.clone().into(), by.into(), could_login.into(), (pids.len() as i32).into(), revoked.into()],
    );
    record("locked_down", &name, &reason, serde_json::json!({ "could_login": could_login, "sessions_ended": pids, "breakglass_revoked": revoked }));
    admin_session::terminate_after_commit(&pids);
    admin_session::lockdown_after_commit(oid);
    pids.len() as i32
}

/// Lifts a lockdown: the role may log in again if it could before. Break-glass access is not
/// restored (it takes a new request).
#[pg_extern(volatile, parallel_unsafe, requires = ["breakglass_schema"])]
fn unlock_role(role: Option<&str>, reason: Option<&str>) {
    require_registry("unlock_role()");
    refuse_non_admin("unlock_role()", "UNLOCK ROLE");
    let reason = required_reason(reason, "unlock_role()", "Say why, e.g. SELECT nspg_guard.unlock_role('ns_app_rw_orders', 'password rotated after INC-88');");
    let (name, oid) = existing_role(role, "unlock_role()");
    let by = role_name(unsafe { pg_sys::GetSessionUserId() });
    let could_login = spi(|client| {
        client
            .update(
                "UPDATE nspg_guard.role_lockdowns SET unlocked_by = $2, unlocked_at = now(), unlock_reason = $3
                  WHERE role_oid = $1 AND unlocked_at IS NULL RETURNING could_login",
                None,
                &[oid.into(), by.clone().into(), reason.clone().into()],
            )?
            .first_value::<bool>()
    });
    let Some(could_login) = could_login else {
        fail(PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE, format!("nspg_guard: role \"{name}\" is not locked down"), "See nspg_guard.role_lockdowns.");
    };
    if could_login {
        run(&format!("ALTER ROLE {} LOGIN", quote_ident(&name)), &[]);
    }
    record("unlocked", &name, &reason, serde_json::json!({ "login_restored": could_login, "unlocked_by": by }));
}

/// When each login role's password was last set, from the audit trail (or estimated from a
/// VALID UNTIL of "set + credential_max_age"), flagging those due for rotation (§2.3, §10).
/// Reads this database's audit trail: password changes are recorded where they were made.
// pgrx reads the row type off the signature, so it cannot be a type alias
#[allow(clippy::type_complexity)]
#[pg_extern(volatile, parallel_unsafe, requires = ["audit_schema"])]
fn credential_age() -> TableIterator<
    'static,
    (
        name!(role, String),
        name!(has_password, bool),
        name!(password_set_at, Option<TimestampWithTimeZone>),
        name!(source, Option<String>),
        name!(age, Option<Interval>),
        name!(valid_until, Option<TimestampWithTimeZone>),
        name!(status, String),
        name!(rotation_due, bool),
    ),
> {
    refuse_non_admin("credential_age()", "CREDENTIAL AGE");
    let max_age = settings::CREDENTIAL_MAX_AGE.get();
    let rows = spi(|client| {
        client
            .select(CREDENTIAL_AGE_SQL, None, &[f64::from(max_age).into()])?
            .map(|row| {
                Ok((
                    row.get::<String>(1)?.unwrap_or_default(),
                    row.get::<bool>(2)?.unwrap_or(false),
                    row.get::<TimestampWithTimeZone>(3)?,
                    row.get::<String>(4)?,
                    row.get::<Interval>(5)?,
                    row.get::<TimestampWithTimeZone>(6)?,
                    row.get::<String>(7)?.unwrap_or_default(),
                    row.get::<bool>(8)?.unwrap_or(false),
                ))
            })
            .collect::<Result<Vec<_>, pgrx::spi::Error>>()
    });
    TableIterator::new(rows)
}

const CREDENTIAL_AGE_SQL: &str = r#"
WITH max_age AS (SELECT make_interval(secs => $1) AS d),
changes AS (
    SELECT object_identity AS role, max(event_time) AS set_at
      FROM nspg_guard.audit_log
     WHERE class = 'role' AND outcome = 'committed' AND details @> '{"password_set": true}'
     GROUP BY object_identity),
trail AS (SELECT min(event_time) AS began FROM nspg_guard.audit_log),
known AS (
    SELECT a.rolname, a.rolpassword IS NOT NULL AS has_password,
           CASE WHEN a.rolvaliduntil = 'infinity' THEN NULL ELSE a.rolvaliduntil END AS valid_until,
           c.set_at AS recorded
      FROM pg_catalog.pg_authid a LEFT JOIN changes c ON c.role = a.rolname
     WHERE a.rolcanlogin AND a.rolname !~ '^pg_'),
estimated AS (
    SELECT k.*, coalesce(k.recorded, k.valid_until - (SELECT d FROM max_age)) AS set_at,
           CASE WHEN k.recorded IS NOT NULL THEN 'audit trail'
                WHEN k.valid_until IS NOT NULL THEN 'valid until minus nspg_guard.credential_max_age' END AS source
      FROM known k),
judged AS (
    SELECT e.*,
           CASE WHEN NOT e.has_password THEN 'no password'
                WHEN e.valid_until < now() THEN 'expired'
                WHEN e.set_at IS NOT NULL AND now() - e.set_at > (SELECT d FROM max_age) THEN 'rotation due'
                WHEN e.set_at IS NULL AND (SELECT began FROM trail) < now() - (SELECT d FROM max_age) THEN 'rotation due'
                WHEN e.set_at IS NULL THEN 'unknown'
                ELSE 'ok' END AS status
      FROM estimated e)
SELECT rolname::text, has_password, set_at, source, date_trunc('second', now() - set_at), valid_until, status,
       status IN ('rotation due', 'expired')
  FROM judged ORDER BY status IN ('rotation due', 'expired') DESC, rolname"#;
