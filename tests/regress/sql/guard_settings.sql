-- guard_settings: the nspg_guard.* settings protect themselves.
--
-- Only superusers change them: every way a guarded role could turn the guard off or widen a
-- role set fails with 42501 and leaves the setting as it was. Invalid values are rejected, even
-- from a superuser, and the old value stays. The nspg_guard prefix is reserved, so a misspelt
-- setting is an error rather than a silently ignored placeholder. Finally, nspg_guard chains its
-- hook: pg_stat_statements (preloaded before it) still records utility statements.
-- (Connection options, PGOPTIONS='-c nspg_guard.ddl_guard=off', are in
-- tests/shell/startup_options.sh.)
\set VERBOSITY default
\set SHOW_CONTEXT never
\set superuser :USER

-- A non-superuser tries every door -----------------------------------------------------------
\c - ns_app_rw_orders
SET nspg_guard.ddl_guard = off;
\echo :LAST_ERROR_SQLSTATE
BEGIN;
SET LOCAL nspg_guard.ddl_guard = off;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
RESET nspg_guard.ddl_guard;
\echo :LAST_ERROR_SQLSTATE
SELECT set_config('nspg_guard.ddl_guard', 'off', false);
\echo :LAST_ERROR_SQLSTATE
SELECT set_config('nspg_guard.ddl_guard', 'off', true);
\echo :LAST_ERROR_SQLSTATE
SET nspg_guard.migration_roles = 'ns_app_*';
\echo :LAST_ERROR_SQLSTATE
SET nspg_guard.admin_roles = '*';
\echo :LAST_ERROR_SQLSTATE
SET nspg_guard.allow_temp_objects = off;
\echo :LAST_ERROR_SQLSTATE
-- An invalid value fails on permission first, too.
SET nspg_guard.ddl_guard = maybe;
\echo :LAST_ERROR_SQLSTATE
-- ALTER ROLE … SET on itself: a role statement, so the DDL guard refuses it already.
ALTER ROLE CURRENT_USER SET nspg_guard.ddl_guard = off;
\echo :LAST_ERROR_SQLSTATE
-- ALTER SYSTEM: the risky-capability guard refuses it (PostgreSQL would too: no ALTER SYSTEM
-- privilege on the parameter).
ALTER SYSTEM SET nspg_guard.ddl_guard = off;
\echo :LAST_ERROR_SQLSTATE
-- RESET ALL is no error, but it cannot touch a setting the session did not change.
RESET ALL;
SHOW nspg_guard.ddl_guard;
SHOW nspg_guard.migration_roles;
SHOW nspg_guard.admin_roles;
SHOW nspg_guard.allow_temp_objects;
-- And the guard still refuses.
CREATE TABLE orders.after_attempts (id int);

-- An admin role is not a superuser either: the DDL guard lets it run ALTER ROLE, and then
-- PostgreSQL refuses the setting.
\c - alice_admin
SET nspg_guard.ddl_guard = off;
\echo :LAST_ERROR_SQLSTATE
ALTER ROLE CURRENT_USER SET nspg_guard.ddl_guard = off;
\echo :LAST_ERROR_SQLSTATE

-- A migration role may change schema and privileges, so the DDL guard lets the next statements
-- through, and PostgreSQL refuses the setting: ALTER DATABASE … SET on a database it owns, a
-- SET clause on a function, and granting the right to set the parameter.
\c - :superuser
CREATE DATABASE nspg_settings_scratch OWNER ns_migrate_orders;
\c - ns_migrate_orders
ALTER DATABASE nspg_settings_scratch SET nspg_guard.ddl_guard = off;
\echo :LAST_ERROR_SQLSTATE
ALTER DATABASE nspg_settings_scratch SET nspg_guard.migration_roles = '*';
\echo :LAST_ERROR_SQLSTATE
CREATE FUNCTION orders.guard_off() RETURNS text LANGUAGE sql
    SET nspg_guard.ddl_guard = off AS $$ SELECT current_setting('nspg_guard.ddl_guard') $$;
\echo :LAST_ERROR_SQLSTATE
CREATE FUNCTION orders.guard_mode() RETURNS text LANGUAGE sql AS $$ SELECT current_setting('nspg_guard.ddl_guard') $$;
ALTER FUNCTION orders.guard_mode() SET nspg_guard.ddl_guard = off;
\echo :LAST_ERROR_SQLSTATE
DROP FUNCTION orders.guard_mode();
GRANT SET ON PARAMETER nspg_guard.ddl_guard TO ns_app_rw_orders;
\echo :LAST_ERROR_SQLSTATE
\c - :superuser
DROP DATABASE nspg_settings_scratch;
-- A superuser's function with such a SET clause does not lend it to a non-superuser caller.
CREATE FUNCTION orders.su_guard_off() RETURNS text LANGUAGE sql
    SET nspg_guard.ddl_guard = off AS $$ SELECT current_setting('nspg_guard.ddl_guard') $$;
SET ROLE ns_app_rw_orders;
SELECT orders.su_guard_off();
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
DROP FUNCTION orders.su_guard_off();

-- None of the attempts left a setting or a grant behind, and a fresh login sees the defaults.
SELECT count(*) AS stored_nspg_guard_settings
FROM pg_db_role_setting, unnest(setconfig) AS s WHERE s LIKE 'nspg_guard.%';
SELECT count(*) AS parameter_grants FROM pg_parameter_acl WHERE parname LIKE 'nspg_guard.%';
\c - ns_app_rw_orders
SELECT name, left(setting, 40) AS setting FROM pg_settings WHERE name LIKE 'nspg_guard.%' ORDER BY name;

-- Invalid values, from a superuser ---------------------------------------------------------
-- Start from non-default values, to see that a rejected value keeps the old one (not the default).
\c - :superuser
SET nspg_guard.ddl_guard = warn;
SET nspg_guard.migration_roles = 'ns_migrate_orders, ns_owner_*';
SET nspg_guard.ddl_guard = maybe;
\echo :LAST_ERROR_SQLSTATE
SHOW nspg_guard.ddl_guard;
SET nspg_guard.migration_roles = '';
\echo :LAST_ERROR_SQLSTATE
SET nspg_guard.migration_roles = 'a,,b';
\echo :LAST_ERROR_SQLSTATE
SET nspg_guard.migration_roles = 'my role';
\echo :LAST_ERROR_SQLSTATE
SET nspg_guard.migration_roles = 'a,';
\echo :LAST_ERROR_SQLSTATE
SET nspg_guard.admin_roles = '"ns_admin"';
\echo :LAST_ERROR_SQLSTATE
SELECT set_config('nspg_guard.admin_roles', ' , ', false);
\echo :LAST_ERROR_SQLSTATE
SET nspg_guard.allow_temp_objects = sometimes;
\echo :LAST_ERROR_SQLSTATE
SHOW nspg_guard.ddl_guard;
SHOW nspg_guard.migration_roles;
SHOW nspg_guard.admin_roles;
SHOW nspg_guard.allow_temp_objects;
-- Stored settings are validated the same way before they are stored.
ALTER ROLE ns_app_rw_orders SET nspg_guard.migration_roles = 'a,,b';
ALTER DATABASE postgres SET nspg_guard.ddl_guard = maybe;
ALTER SYSTEM SET nspg_guard.admin_roles = '';
SELECT count(*) AS stored_nspg_guard_settings
FROM pg_db_role_setting, unnest(setconfig) AS s WHERE s LIKE 'nspg_guard.%';
RESET nspg_guard.ddl_guard;
RESET nspg_guard.migration_roles;

-- The nspg_guard prefix is reserved: unknown or misspelt names are errors (42602), for
-- superusers and everyone else.
SET nspg_guard.no_such_setting = 1;
\echo :LAST_ERROR_SQLSTATE
SET nspg_guard.dll_guard = off;
\echo :LAST_ERROR_SQLSTATE
\c - ns_app_rw_orders
SET nspg_guard.no_such_setting = 1;
\echo :LAST_ERROR_SQLSTATE

-- Hook chaining: pg_stat_statements still sees utility statements --------------------------
-- The test cluster preloads pg_stat_statements before nspg_guard, so nspg_guard's
-- ProcessUtility hook runs first and must hand each statement on. A statement the guard
-- refuses never reaches pg_stat_statements; the ones that run are recorded.
\c - :superuser
CREATE EXTENSION pg_stat_statements;
SELECT pg_stat_statements_reset() IS NOT NULL AS reset;
SET ROLE ns_migrate_orders;
CREATE TABLE orders.pgss_probe (id int);
ALTER TABLE orders.pgss_probe ADD COLUMN note text;
DROP TABLE orders.pgss_probe;
RESET ROLE;
SET ROLE ns_app_rw_orders;
CREATE TABLE orders.pgss_refused (id int);
RESET ROLE;
SELECT query, calls FROM pg_stat_statements WHERE query LIKE '%pgss_%' ORDER BY query;
SELECT count(*) > 0 AS utility_statements_recorded
FROM pg_stat_statements WHERE query LIKE 'CREATE TABLE orders.pgss_probe%';
DROP EXTENSION pg_stat_statements;
