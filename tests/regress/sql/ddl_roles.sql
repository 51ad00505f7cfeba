-- ddl_roles: the guard follows role changes at once, although it caches each role's standing
-- (superuser / admin / migration) for the session: SET ROLE and RESET ROLE, GRANT and REVOKE
-- of membership (direct or through another role, committed or rolled back), renaming a role,
-- and a superuser changing nspg_guard.migration_roles or nspg_guard.admin_roles.
-- (A GRANT in another session is shown by tests/shell/role_changes_other_session.sh.)
\set VERBOSITY terse
\set SHOW_CONTEXT never
\set superuser :USER

-- Schema "rolesx": every role may create in it as far as PostgreSQL is concerned.
CREATE SCHEMA rolesx;
GRANT USAGE, CREATE ON SCHEMA rolesx TO PUBLIC;

-- SET ROLE into and out of a migration role ------------------------------------------------
-- deploy_bot is a NOINHERIT member of ns_migrate_orders: it does not have the migration role's
-- privileges until it takes the role with SET ROLE.
\c - deploy_bot
CREATE TABLE rolesx.by_deploy_bot (id int);
SET ROLE ns_migrate_orders;
CREATE TABLE rolesx.by_deploy_bot (id int);
SELECT session_user, current_user, relowner::regrole AS owner FROM pg_class WHERE oid = 'rolesx.by_deploy_bot'::regclass;
RESET ROLE;
CREATE TABLE rolesx.by_deploy_bot_2 (id int);
SET ROLE ns_migrate_orders;
ALTER TABLE rolesx.by_deploy_bot ADD COLUMN note text;
-- SET LOCAL ROLE ends with the transaction, and the standing with it.
RESET ROLE;
BEGIN;
SET LOCAL ROLE ns_migrate_orders;
CREATE TABLE rolesx.in_transaction (id int);
COMMIT;
CREATE TABLE rolesx.after_transaction (id int);

-- GRANT and REVOKE of membership -----------------------------------------------------------
-- The superuser session takes the app role with SET ROLE; its standing is cached on the first
-- statement, and each membership change is visible to the very next statement.
\c - :superuser
SET ROLE ns_app_rw_orders;
CREATE TABLE rolesx.by_app_1 (id int);
RESET ROLE;
GRANT ns_migrate_orders TO ns_app_rw_orders;
SET ROLE ns_app_rw_orders;
CREATE TABLE rolesx.by_app_1 (id int);
RESET ROLE;
REVOKE ns_migrate_orders FROM ns_app_rw_orders;
SET ROLE ns_app_rw_orders;
CREATE TABLE rolesx.by_app_2 (id int);
RESET ROLE;

-- A GRANT that is rolled back: allowed inside the transaction, refused after the ROLLBACK.
BEGIN;
GRANT ns_migrate_orders TO ns_app_rw_orders;
SET LOCAL ROLE ns_app_rw_orders;
CREATE TABLE rolesx.by_app_3 (id int);
ROLLBACK;
SET ROLE ns_app_rw_orders;
CREATE TABLE rolesx.by_app_3 (id int);
RESET ROLE;

-- Membership through an intermediate role: ns_app_ro_orders → rolesx_team → ns_owner_orders.
-- Dropping the intermediate role takes the standing away again.
CREATE ROLE rolesx_team NOLOGIN;
GRANT rolesx_team TO ns_app_ro_orders;
SET ROLE ns_app_ro_orders;
CREATE TABLE rolesx.by_app_ro_1 (id int);
RESET ROLE;
GRANT ns_owner_orders TO rolesx_team;
SET ROLE ns_app_ro_orders;
CREATE TABLE rolesx.by_app_ro_1 (id int);
RESET ROLE;
DROP ROLE rolesx_team;
SET ROLE ns_app_ro_orders;
CREATE TABLE rolesx.by_app_ro_2 (id int);
RESET ROLE;

-- Renaming a role into the migration set gives it the standing; renaming it out takes it away.
CREATE ROLE rolesx_probe NOLOGIN;
SET ROLE rolesx_probe;
CREATE TABLE rolesx.by_probe_1 (id int);
RESET ROLE;
ALTER ROLE rolesx_probe RENAME TO ns_migrate_probe;
SET ROLE ns_migrate_probe;
CREATE TABLE rolesx.by_probe_1 (id int);
RESET ROLE;
ALTER ROLE ns_migrate_probe RENAME TO rolesx_probe;
SET ROLE rolesx_probe;
CREATE TABLE rolesx.by_probe_2 (id int);
RESET ROLE;

-- Changing the role sets -------------------------------------------------------------------
-- A superuser points nspg_guard.migration_roles at the app roles: the app role may now
-- change schema and the migration role may not, from the next statement on.
SET nspg_guard.migration_roles = 'ns_app_rw_*';
SET ROLE ns_app_rw_orders;
CREATE TABLE rolesx.by_app_4 (id int);
RESET ROLE;
SET ROLE ns_migrate_orders;
CREATE TABLE rolesx.by_migrate_1 (id int);
RESET ROLE;
RESET nspg_guard.migration_roles;
SET ROLE ns_app_rw_orders;
CREATE TABLE rolesx.by_app_5 (id int);
RESET ROLE;
SET ROLE ns_migrate_orders;
CREATE TABLE rolesx.by_migrate_1 (id int);
RESET ROLE;
-- SET LOCAL: the change ends with the transaction.
BEGIN;
SET LOCAL nspg_guard.migration_roles = 'ns_app_rw_*';
SET LOCAL ROLE ns_app_rw_orders;
CREATE TABLE rolesx.by_app_6 (id int);
COMMIT;
SET ROLE ns_app_rw_orders;
CREATE TABLE rolesx.by_app_7 (id int);
RESET ROLE;
-- Adding the migration roles to nspg_guard.admin_roles lets them manage roles (here: their
-- own settings, which PostgreSQL lets every role do).
SET ROLE ns_migrate_orders;
ALTER ROLE CURRENT_USER SET work_mem = '8MB';
RESET ROLE;
SET nspg_guard.admin_roles = 'ns_admin, ns_breakglass_admin, ns_migrate_*';
SET ROLE ns_migrate_orders;
ALTER ROLE CURRENT_USER SET work_mem = '8MB';
ALTER ROLE CURRENT_USER RESET work_mem;
RESET ROLE;
RESET nspg_guard.admin_roles;
SET ROLE ns_migrate_orders;
ALTER ROLE CURRENT_USER SET work_mem = '8MB';
RESET ROLE;

-- What was created, and by whom: exactly the statements allowed above.
SELECT relname, relowner::regrole AS owner
FROM pg_class WHERE relnamespace = 'rolesx'::regnamespace AND relkind = 'r' ORDER BY relname;
SELECT count(*) AS leftover_role_settings
FROM pg_db_role_setting WHERE setrole = 'ns_migrate_orders'::regrole;

SET client_min_messages = warning;
DROP SCHEMA rolesx CASCADE;
RESET client_min_messages;
DROP ROLE rolesx_probe;
