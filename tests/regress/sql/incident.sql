-- incident: NS-PG-007 §9 "lock down roles fast", §2.3/§10 rotation evidence.
-- lockdown_role(role, reason): NOLOGIN, its break-glass access revoked, its sessions ended;
-- unlock_role(role, reason) undoes it; both audited, admins only. credential_age(): when each
-- login role's password was last set, flagging those older than credential_max_age.
-- (Ending live sessions is shown in tests/shell/admin_sessions.sh.)
\set VERBOSITY default
\set SHOW_CONTEXT never
\c postgres postgres
SELECT coalesce(max(id), 0) AS start_id FROM nspg_guard.audit_log \gset
CREATE ROLE svc_reports LOGIN PASSWORD 'reports-secret-1-PlantedZq4';
GRANT ns_breakglass_admin TO svc_reports;   -- say it held break-glass access when it leaked

-- Admins only.
\c - ns_app_rw_orders
SELECT nspg_guard.lockdown_role('svc_reports', 'suspected credential leak in CI');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM nspg_guard.credential_age();
\echo :LAST_ERROR_SQLSTATE

-- Bad input: a clear error, nothing changed.
\c - alice_admin
SELECT nspg_guard.lockdown_role('no_such_role', 'suspected credential leak in CI');
\echo :LAST_ERROR_SQLSTATE
SELECT nspg_guard.lockdown_role(NULL, 'suspected credential leak in CI');
SELECT nspg_guard.lockdown_role('svc_reports', '');
SELECT nspg_guard.lockdown_role('svc_reports', NULL);
SELECT nspg_guard.lockdown_role('alice_admin', 'suspected credential leak in CI');
\echo :LAST_ERROR_SQLSTATE
SELECT nspg_guard.lockdown_role('postgres', 'suspected credential leak in CI');
SELECT nspg_guard.lockdown_role('ns_dba', 'suspected credential leak in CI');
\echo :LAST_ERROR_SQLSTATE
SELECT rolcanlogin, pg_has_role('svc_reports', 'ns_breakglass_admin', 'MEMBER') AS breakglass
  FROM pg_roles WHERE rolname = 'svc_reports';
SELECT count(*) AS lockdowns FROM nspg_guard.role_lockdowns;

-- Lockdown.
SELECT nspg_guard.lockdown_role('svc_reports', 'suspected credential leak in CI') AS sessions_ended;
SELECT rolcanlogin, pg_has_role('svc_reports', 'ns_breakglass_admin', 'MEMBER') AS breakglass
  FROM pg_roles WHERE rolname = 'svc_reports';
SELECT role_name, reason, locked_by, could_login, sessions_ended, breakglass_revoked, unlocked_at IS NULL AS in_force
  FROM nspg_guard.role_lockdowns;
SELECT nspg_guard.lockdown_role('svc_reports', 'suspected credential leak in CI');
\echo :LAST_ERROR_SQLSTATE
-- the registry is append-only for SQL too
DELETE FROM nspg_guard.role_lockdowns;
\echo :LAST_ERROR_SQLSTATE

-- Unlock: login again; break-glass access is not given back (it takes a new request).
SELECT nspg_guard.unlock_role('ns_app_rw_orders', 'nothing to unlock here');
\echo :LAST_ERROR_SQLSTATE
SELECT nspg_guard.unlock_role('svc_reports', 'x');
SELECT nspg_guard.unlock_role('svc_reports', 'password rotated by platform team');
SELECT rolcanlogin, pg_has_role('svc_reports', 'ns_breakglass_admin', 'MEMBER') AS breakglass
  FROM pg_roles WHERE rolname = 'svc_reports';
SELECT role_name, unlocked_by, unlock_reason FROM nspg_guard.role_lockdowns;
-- a role that never logged in stays that way after unlock; who can become it (its members)
-- cannot while it is locked down, and can again after
SELECT nspg_guard.lockdown_role('ns_owner_orders', 'owner role credentials in a dump');
SELECT pg_has_role('ns_migrate_orders', 'ns_owner_orders', 'MEMBER') AS member_while_locked;
SELECT m->>'name' AS member, m->>'admin_option' AS admin_option
  FROM nspg_guard.role_lockdowns, jsonb_array_elements(suspended_members) m
 WHERE role_name = 'ns_owner_orders' AND unlocked_at IS NULL;
SELECT nspg_guard.unlock_role('ns_owner_orders', 'dump deleted, nothing leaked');
SELECT rolcanlogin, pg_has_role('ns_migrate_orders', 'ns_owner_orders', 'MEMBER') AS member_again
  FROM pg_roles WHERE rolname = 'ns_owner_orders';

-- Both levers are audited (the role changes they made too, as role events).
\c - postgres
SELECT class, outcome, command_tag, object_identity, "session_user", reason
  FROM nspg_guard.audit_log WHERE id > :start_id AND class IN ('admin', 'role') ORDER BY id;

-- credential_age(): the audit trail knows when each password was set.
\c - postgres
ALTER ROLE ns_app_rw_orders PASSWORD 'rotate-me-2026-PlantedZq4';
CREATE ROLE svc_legacy LOGIN PASSWORD 'legacy-PlantedZq4' VALID UNTIL '2020-01-01';
\c nspg_regress postgres
CREATE ROLE svc_elsewhere LOGIN PASSWORD 'set-in-another-database-PlantedZq4';
\c postgres alice_admin
SELECT role, has_password, source, status, rotation_due
  FROM nspg_guard.credential_age()
 WHERE role IN ('ns_app_rw_orders', 'svc_legacy', 'svc_elsewhere', 'svc_reports', 'bob_oncall') ORDER BY role;
SELECT password_set_at > now() - interval '1 minute' AS just_now FROM nspg_guard.credential_age() WHERE role = 'ns_app_rw_orders';
-- older than nspg_guard.credential_max_age: due for rotation
\c - postgres
SET nspg_guard.credential_max_age = '1s';
SELECT pg_sleep(1.1);
SELECT role, status, rotation_due FROM nspg_guard.credential_age()
 WHERE role IN ('ns_app_rw_orders', 'svc_legacy') ORDER BY role;
SET nspg_guard.credential_max_age = 0;
\echo :LAST_ERROR_SQLSTATE
RESET nspg_guard.credential_max_age;
-- a password set with VALID UNTIL (set + max age) gives an estimate when the trail has none
\c nspg_regress postgres
ALTER ROLE svc_elsewhere VALID UNTIL '2099-01-01';
\c postgres alice_admin
SELECT role, source, status FROM nspg_guard.credential_age() WHERE role = 'svc_elsewhere';
\c - postgres
DROP ROLE svc_legacy, svc_elsewhere, svc_reports;
\c nspg_regress postgres
