//! Incident levers (NS-PG-007 §9): lock a role down fast and undo it, and evidence of password
//! rotation (§2.3, §10). Who may be locked down is decided in `policy/incident.rs`.

use crate::api::breakglass;
use crate::api::support::{quote_ident, require_registry, required_reason, run, spi, FirstValue};
use crate::guard::admin_session;
use crate::pg::errors::fail;
use crate::pg::lock_wait;
use crate::pg::locked_roles;
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
    event.command_tag = Some(
        match outcome {
            "locked_down" => "LOCKDOWN ROLE",
            "unlocked" => "UNLOCK ROLE",
            _ => "ROLLBACK PREPARED",
        }
        .into(),
    );
    event.object_type = Some("role".into());
    event.object_identity = Some(role.to_string());
    event.reason = Some(reason.to_string());
    event.details = Some(details);
    write::record_committed(event);
}

/// Locks a role down: NOLOGIN first (a login racing the lockdown is ended at its first
/// statement), its break-glass access revoked, the memberships in it suspended (recorded, so
/// that `unlock_role()` restores them; indirect memberships need no suspension: the direct
/// ones cut the chain), and the sessions of the role and of every role that was a member of it,
/// directly or not, ended when this transaction commits; from then on its SECURITY DEFINER
/// functions are refused, a session still acting as it is ended at its next statement, and the
/// writer rolls back its prepared transactions. Returns how many sessions end.
#[pg_extern(volatile, parallel_unsafe, requires = ["breakglass_schema"])]
fn lockdown_role(role: Option<&str>, reason: Option<&str>) -> i32 {
    require_registry("lockdown_role()");
    refuse_non_admin("lockdown_role()", "LOCKDOWN ROLE");
    let reason = required_reason(reason, "lockdown_role()", "Say why, e.g. SELECT nspg_guard.lockdown_role('ns_app_rw_orders', 'password leaked in CI logs, INC-88');");
    let (name, oid) = existing_role(role, "lockdown_role()");
    let (user, session) = unsafe { (pg_sys::GetUserId(), pg_sys::GetSessionUserId()) };
    let (locked, in_force, could_login, creates_roles) = spi(|client| {
        let row = client
            .select(
                "SELECT EXISTS (SELECT FROM nspg_guard.role_lockdowns WHERE role_oid = $1 AND unlocked_at IS NULL),
                        (SELECT count(*) FROM nspg_guard.role_lockdowns WHERE unlocked_at IS NULL),
                        r.rolcanlogin, r.rolcreaterole
                   FROM pg_catalog.pg_roles r WHERE r.oid = $1",
                Some(1),
                &[oid.into()],
            )?
            .first();
        Ok((row.get::<bool>(1)?.unwrap_or(false), row.get::<i64>(2)?.unwrap_or(0), row.get::<bool>(3)?.unwrap_or(false), row.get::<bool>(4)?.unwrap_or(false)))
    });
    // who the lever must protect is a matter of membership, INHERIT or not (a NOINHERIT approver
    // still approves after SET ROLE); a lockdown reaches every member, however indirect (their
    // sessions end)
    let target = standing::by_membership(oid);
    let members = members_of(oid);
    let members_guard = members.iter().any(|&(member, creates_roles)| guards_breakglass(standing::by_membership(member), creates_roles));
    let check = Lockdown {
        target_is_caller: oid == user || oid == session,
        target_is_bootstrap_superuser: oid == pg_sys::Oid::from(pg_sys::BOOTSTRAP_SUPERUSERID),
        target_is_superuser: target.superuser,
        caller_is_superuser: unsafe { pg_sys::superuser_arg(user) },
        caller_escalated: breakglass::caller_escalated(),
        target_guards_breakglass: guards_breakglass(target, creates_roles) || members_guard,
    };
    if let Err(e) = incident::may_lock_down(check) {
        if e.is_privilege() {
            deny("LOCKDOWN ROLE", format!("nspg_guard: lockdown_role() of \"{name}\" denied for role \"{}\"", role_name(user)), crate::policy::verdict::sentence(&e), e.hint());
        }
        fail(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, format!("nspg_guard: lockdown_role(): {e}"), e.hint());
    }
    if locked {
        fail(PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE, format!("nspg_guard: role \"{name}\" is already locked down"), "See nspg_guard.role_lockdowns; nspg_guard.unlock_role() lifts it.");
    }
    if in_force >= locked_roles::CAPACITY as i64 {
        fail(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("nspg_guard: {in_force} roles are locked down already, as many as nspg_guard tracks"),
            "Lift the lockdowns that are no longer needed (nspg_guard.unlock_role), or lock the remaining roles' logins with ALTER ROLE … NOLOGIN.",
        );
    }
    let by = role_name(session);
    let sessions = || {
        let mut pids = crate::pg::as_guard::as_guard(|| crate::pg::backend::sessions_of(oid));
        for &(member, _) in &members {
            pids.extend(crate::pg::as_guard::as_guard(|| crate::pg::backend::sessions_of(member)));
        }
        pids.sort_unstable();
        pids.dedup();
        pids
    };
    // should a session hold a lock the lockdown needs (a membership row, by an open REVOKE),
    // its sessions, as listed now, end at once and the lever fails; run again, it finds it free
    let early = sessions();
    let pids = lock_wait::bounded(
        "lockdown_role()",
        "A session holds a lock the lockdown needs; the sessions of the role and of its members have been ended, which frees it: run lockdown_role() again.",
        || {
            // NOLOGIN before the sessions are listed: a login after this commits is refused, one
            // in between is ended at its first statement
            if could_login {
                run(&format!("ALTER ROLE {} NOLOGIN", quote_ident(&name)), &[]);
            }
            let why = format!("lockdown: {reason}");
            let breakglass_role = settings::text_of(&settings::BREAKGLASS_ROLE);
            let mut revoked = breakglass::end_requests_of(oid, &why, &by);
            revoked |= breakglass::revoke_membership(&breakglass_role, oid);
            let suspended_now = suspend_memberships(&name, oid);
            // the break-glass role's memberships are grants: they end with the lockdown, and
            // come back only through new requests
            let suspended = if name == breakglass_role { serde_json::json!([]) } else { suspended_now.clone() };
            let pids = sessions();
            run(
                "INSERT INTO nspg_guard.role_lockdowns (role_name, role_oid, reason, locked_by, could_login, sessions_ended, breakglass_revoked, suspended_members)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8::pg_catalog.text::pg_catalog.jsonb)",
                &[name.clone().into(), oid.into(), reason.clone().into(), by.clone().into(), could_login.into(), (pids.len() as i32).into(), revoked.into(), suspended.to_string().into()],
            );
            record(
                "locked_down",
                &name,
                &reason,
                serde_json::json!({ "could_login": could_login, "sessions_ended": pids, "breakglass_revoked": revoked, "memberships_suspended": suspended_now }),
            );
            pids
        },
        || crate::pg::backend::terminate(&early),
    );
    admin_session::terminate_after_commit(&pids);
    pgrx::register_xact_callback(pgrx::PgXactCallbackEvent::Commit, move || locked_roles::set(oid, true));
    pids.len() as i32
}

/// Every role that is a member of `role`, directly or through other roles (INHERIT or not),
/// with whether it has CREATEROLE. PostgreSQL keeps pg_auth_members free of cycles; UNION
/// stops anyway.
fn members_of(role: pg_sys::Oid) -> Vec<(pg_sys::Oid, bool)> {
    spi(|client| {
        client
            .select(
                "WITH RECURSIVE members(oid) AS (
                     SELECT m.member FROM pg_catalog.pg_auth_members m WHERE m.roleid OPERATOR(pg_catalog.=) $1
                     UNION
                     SELECT m.member FROM pg_catalog.pg_auth_members m JOIN members ON m.roleid OPERATOR(pg_catalog.=) members.oid)
                 SELECT r.oid, r.rolcreaterole FROM members JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) members.oid ORDER BY r.oid",
                None,
                &[role.into()],
            )?
            .map(|row| Ok((row.get::<pg_sys::Oid>(1)?.unwrap_or(pg_sys::InvalidOid), row.get::<bool>(2)?.unwrap_or(false))))
            .collect::<Result<Vec<_>, pgrx::spi::Error>>()
    })
}

/// Would this role end or review a break-glass escalation (an approver, an admin, a superuser,
/// a role with CREATEROLE)?
fn guards_breakglass(standing: crate::policy::ddl_guard::Standing, creates_roles: bool) -> bool {
    standing.approver || standing.admin || standing.superuser || creates_roles
}

/// Revokes every membership in the role `name` (`oid`); returns them as recorded in
/// `role_lockdowns.suspended_members`: member and grantor by oid (a rename changes nothing),
/// with the admin option, so that `unlock_role()` grants exactly these back. The members'
/// current names are in it too, for the audit event.
fn suspend_memberships(name: &str, oid: pg_sys::Oid) -> serde_json::Value {
    let members = spi(|client| {
        client
            .select(
                "SELECT m.member, pg_catalog.pg_get_userbyid(m.member)::pg_catalog.text, m.admin_option, m.grantor
                   FROM pg_catalog.pg_auth_members m WHERE m.roleid OPERATOR(pg_catalog.=) $1 ORDER BY m.member",
                None,
                &[oid.into()],
            )?
            .map(|row| {
                Ok(serde_json::json!({
                    "member": row.get::<pg_sys::Oid>(1)?.map(|o| o.to_u32()),
                    "name": row.get::<String>(2)?,
                    "admin_option": row.get::<bool>(3)?.unwrap_or(false),
                    "grantor": row.get::<pg_sys::Oid>(4)?.map(|o| o.to_u32()),
                }))
            })
            .collect::<Result<Vec<_>, pgrx::spi::Error>>()
    });
    for member in &members {
        if let Some(member_name) = member["name"].as_str() {
            run(&format!("REVOKE {} FROM {}", quote_ident(name), quote_ident(member_name)), &[]);
        }
    }
    serde_json::Value::Array(members)
}

/// Grants the suspended memberships back, to the members that still exist (found by oid),
/// with their admin option and grantor; returns the members' names.
fn restore_memberships(name: &str, suspended: &serde_json::Value) -> Vec<String> {
    let mut restored = Vec::new();
    for member in suspended.as_array().into_iter().flatten() {
        let role_now = |key: &str| -> Option<String> {
            let oid = pg_sys::Oid::from(member[key].as_u64()? as u32);
            spi(|client| client.select("SELECT rolname::pg_catalog.text FROM pg_catalog.pg_roles WHERE oid OPERATOR(pg_catalog.=) $1", None, &[oid.into()])?.first_value::<String>())
        };
        let Some(member_name) = role_now("member") else { continue };
        let admin = if member["admin_option"].as_bool() == Some(true) { " WITH ADMIN OPTION" } else { "" };
        let grantor = role_now("grantor").map(|g| format!(" GRANTED BY {}", quote_ident(&g))).unwrap_or_default();
        run(&format!("GRANT {} TO {}{admin}{grantor}", quote_ident(name), quote_ident(&member_name)), &[]);
        restored.push(member_name);
    }
    restored
}

/// Lifts a lockdown: the role may log in again if it could before, and the memberships in it
/// that the lockdown suspended are granted back. Break-glass access is not restored (it takes
/// a new request). Not for a session holding the break-glass role.
#[pg_extern(volatile, parallel_unsafe, requires = ["breakglass_schema"])]
fn unlock_role(role: Option<&str>, reason: Option<&str>) {
    require_registry("unlock_role()");
    refuse_non_admin("unlock_role()", "UNLOCK ROLE");
    let reason = required_reason(reason, "unlock_role()", "Say why, e.g. SELECT nspg_guard.unlock_role('ns_app_rw_orders', 'password rotated after INC-88');");
    let (name, oid) = existing_role(role, "unlock_role()");
    if let Err(e) = incident::may_unlock(breakglass::caller_escalated()) {
        let user = unsafe { pg_sys::GetUserId() };
        deny("UNLOCK ROLE", format!("nspg_guard: unlock_role() of \"{name}\" denied for role \"{}\"", role_name(user)), crate::policy::verdict::sentence(&e), e.hint());
    }
    let by = role_name(unsafe { pg_sys::GetSessionUserId() });
    lock_wait::bounded(
        "unlock_role()",
        "A session holds a lock the unlock needs (a membership it restores, or the lockdown's row); nothing was changed: run unlock_role() again.",
        || {
            let lifted = spi(|client| {
                let row = client
                    .update(
                        "UPDATE nspg_guard.role_lockdowns SET unlocked_by = $2, unlocked_at = now(), unlock_reason = $3
                          WHERE role_oid = $1 AND unlocked_at IS NULL RETURNING could_login, suspended_members::pg_catalog.text",
                        None,
                        &[oid.into(), by.clone().into(), reason.clone().into()],
                    )?;
                if row.is_empty() {
                    return Ok(None);
                }
                let row = row.first();
                Ok(Some((row.get::<bool>(1)?.unwrap_or(false), row.get::<String>(2)?.unwrap_or_default())))
            });
            let Some((could_login, suspended)) = lifted else {
                fail(PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE, format!("nspg_guard: role \"{name}\" is not locked down"), "See nspg_guard.role_lockdowns.");
            };
            if could_login {
                run(&format!("ALTER ROLE {} LOGIN", quote_ident(&name)), &[]);
            }
            let restored = restore_memberships(&name, &serde_json::from_str(&suspended).unwrap_or_default());
            record("unlocked", &name, &reason, serde_json::json!({ "login_restored": could_login, "unlocked_by": by, "memberships_restored": restored }));
        },
        || {},
    );
    pgrx::register_xact_callback(pgrx::PgXactCallbackEvent::Commit, move || locked_roles::set(oid, false));
}

/// The roles locked down now, from the registry (the writer reloads the shared set from it).
pub fn locked_down() -> Vec<pg_sys::Oid> {
    spi(|client| {
        client
            .select("SELECT role_oid FROM nspg_guard.role_lockdowns WHERE unlocked_at IS NULL", None, &[])?
            .map(|row| row.get::<pg_sys::Oid>(1))
            .collect::<Result<Vec<_>, _>>()
    })
    .into_iter()
    .flatten()
    .collect()
}

/// A prepared transaction of a locked-down role: its identifier, owner and database.
pub struct Prepared {
    pub gid: String,
    pub owner: pg_sys::Oid,
    pub database: pg_sys::Oid,
}

/// The prepared transactions, in any database, of the roles locked down now.
pub fn prepared_of_locked() -> Vec<Prepared> {
    let roles = locked_roles::all();
    if roles.is_empty() {
        return Vec::new();
    }
    spi(|client| {
        client
            .select(
                "SELECT p.gid, p.ownerid, p.dbid FROM pg_catalog.pg_prepared_xact() p WHERE p.ownerid OPERATOR(pg_catalog.=) ANY ($1)",
                None,
                &[roles.into()],
            )?
            .map(|row| {
                Ok(Prepared {
                    gid: row.get::<String>(1)?.unwrap_or_default(),
                    owner: row.get::<pg_sys::Oid>(2)?.unwrap_or(pg_sys::InvalidOid),
                    database: row.get::<pg_sys::Oid>(3)?.unwrap_or(pg_sys::InvalidOid),
                })
            })
            .collect::<Result<Vec<_>, pgrx::spi::Error>>()
    })
}

/// Rolls back a prepared transaction of a locked-down role (in this database), audited. The
/// event is written first: if the rollback fails, neither happens.
pub fn roll_back_prepared(prepared: &Prepared) {
    let owner = role_name(prepared.owner);
    record(
        "prepared_rolled_back",
        &owner,
        "prepared transaction of a locked-down role",
        serde_json::json!({ "gid": prepared.gid, "owner": owner, "rolled_back_by": "nspg_guard" }),
    );
    let gid = std::ffi::CString::new(prepared.gid.as_str()).unwrap_or_default();
    // what ROLLBACK PREPARED runs; SPI refuses transaction statements
    unsafe { pg_sys::ffi::pg_guard_ffi_boundary(|| FinishPreparedTransaction(gid.as_ptr(), false)) };
}

extern "C-unwind" {
    /// access/twophase.h (not in pgrx's bindings).
    fn FinishPreparedTransaction(gid: *const std::ffi::c_char, is_commit: bool);
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
