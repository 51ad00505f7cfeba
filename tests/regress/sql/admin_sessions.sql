-- admin_sessions: NS-PG-007 §2.2 "admin access is time-bounded" and §8.3 "apply safe timeouts
-- to admin sessions too". A session whose session or current role is an admin (or a superuser)
-- has statement_timeout, idle_in_transaction_session_timeout and idle_session_timeout capped
-- when it starts, when it becomes admin, and whenever it raises them (a NOTICE says so).
-- Everyone else is untouched. (The maximum session duration is in tests/shell/admin_sessions.sh.)
\set VERBOSITY default
\set SHOW_CONTEXT never
CREATE ROLE jo_oncall LOGIN NOINHERIT IN ROLE ns_admin;   -- an admin only after SET ROLE ns_admin

-- This session is a superuser's: capped since it started, silently.
SHOW statement_timeout;
SHOW idle_in_transaction_session_timeout;
SHOW idle_session_timeout;

-- An admin by membership.
\c - alice_admin
SHOW statement_timeout;
SHOW idle_in_transaction_session_timeout;
SHOW idle_session_timeout;
SET statement_timeout = 0;
SHOW statement_timeout;
SET statement_timeout = '10min';
SHOW statement_timeout;
-- lower is fine, and says nothing
SET statement_timeout = '30s';
SHOW statement_timeout;
SET idle_session_timeout = 0;
SHOW idle_session_timeout;
-- RESET goes back to the default (0): capped again
RESET statement_timeout;
SHOW statement_timeout;
-- set_config() is not a utility statement: capped when it returns
SELECT set_config('idle_in_transaction_session_timeout', '0', false) AS asked;
SHOW idle_in_transaction_session_timeout;
-- SET LOCAL is capped locally
BEGIN;
SET LOCAL statement_timeout = '1h';
SHOW statement_timeout;
COMMIT;
SHOW statement_timeout;
-- and inside a function
DO $$ BEGIN PERFORM set_config('statement_timeout', '0', false); END $$;
SHOW statement_timeout;
-- a PL/pgSQL assignment runs neither hook of the statement: capped when the statement ends
DO $$ DECLARE x text; BEGIN x := set_config('statement_timeout', '0', false); END $$;
SHOW statement_timeout;
DO $$ DECLARE x text; BEGIN x := set_config('idle_session_timeout', '0', false); END $$;
SHOW idle_session_timeout;
DO $$ DECLARE x text; BEGIN x := set_config('idle_in_transaction_session_timeout', '0', false); END $$;
SHOW idle_in_transaction_session_timeout;
-- ... and at the start of every statement, at any depth: a function's SET clause is capped for
-- its own statements
CREATE FUNCTION pg_temp.timeout_inside() RETURNS text LANGUAGE plpgsql SET statement_timeout = 0
    AS $$ BEGIN PERFORM 1; RETURN current_setting('statement_timeout'); END $$;
SELECT pg_temp.timeout_inside();
SHOW statement_timeout;
-- DISCARD ALL resets to the default (0): capped again
DISCARD ALL;
SHOW statement_timeout;

-- Per-role settings apply at login: capped just the same.
\c - postgres
ALTER ROLE alice_admin SET statement_timeout = '2h';
\c - alice_admin
SHOW statement_timeout;
\c - postgres
ALTER ROLE alice_admin RESET statement_timeout;

-- Not an admin: untouched.
\c - ns_app_rw_orders
SHOW statement_timeout;
SHOW idle_session_timeout;
SET statement_timeout = 0;
SHOW statement_timeout;
\c - ns_migrate_orders
SHOW idle_in_transaction_session_timeout;

-- Becoming an admin by SET ROLE applies the caps then.
\c - jo_oncall
SHOW statement_timeout;
SET ROLE ns_admin;
SHOW statement_timeout;
SHOW idle_session_timeout;
RESET ROLE;
SET statement_timeout = 0;   -- no longer an admin: allowed
SHOW statement_timeout;

-- The caps are server settings: no session lifts them; bad values are refused.
\c - postgres
SET nspg_guard.admin_statement_timeout = '1h';
\echo :LAST_ERROR_SQLSTATE
SELECT set_config('nspg_guard.admin_session_max_duration', '100h', false);
\echo :LAST_ERROR_SQLSTATE
ALTER SYSTEM SET nspg_guard.admin_statement_timeout = -1;
\echo :LAST_ERROR_SQLSTATE
ALTER SYSTEM SET nspg_guard.admin_idle_session_timeout = 'soon';
\echo :LAST_ERROR_SQLSTATE
SHOW nspg_guard.admin_statement_timeout;
-- A site sets its own cap with ALTER SYSTEM and a reload; 0 lifts it. (This session keeps a
-- timeout under every cap below, so the reload gives it nothing to cap.)
SET statement_timeout = '1min';
ALTER SYSTEM SET nspg_guard.admin_statement_timeout = '90s';
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);
\c - alice_admin
SHOW statement_timeout;
SET statement_timeout = '1h';
SHOW statement_timeout;
\c - postgres
SET statement_timeout = '1min';
ALTER SYSTEM SET nspg_guard.admin_statement_timeout = 0;
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);
\c - alice_admin
SHOW statement_timeout;
\c - postgres
SET statement_timeout = '1min';
ALTER SYSTEM RESET nspg_guard.admin_statement_timeout;
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);
\c - alice_admin
SHOW statement_timeout;
\c - postgres
DROP ROLE jo_oncall;
