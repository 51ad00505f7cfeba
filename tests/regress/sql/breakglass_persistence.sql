-- breakglass_persistence: an escalated session hands out nothing that outlives the grant, and the
-- break-glass role is given only through an approved request (issue 19). The two-role paths
-- (a real owner, CREATEROLE, expiry) are in tests/shell/breakglass_persistence.sh.
\set VERBOSITY default
\set SHOW_CONTEXT never
\c postgres postgres
CREATE ROLE dave_oncall LOGIN;
CREATE ROLE dave_team NOLOGIN;
GRANT dave_team TO dave_oncall;
\c - dave_oncall
SET client_min_messages = warning;                -- the NOTICE names the request's id
SELECT nspg_guard.breakglass_request('rebuild the broken order index', '10 minutes') AS req \gset
\c - carol_approver
SELECT nspg_guard.breakglass_approve(:req) > now() AS approved;

\c nspg_regress dave_oncall
\set SHOW_CONTEXT never
SELECT pg_has_role('ns_breakglass_admin', 'USAGE') AS escalated;
-- grants that would outlive the grant
GRANT SELECT ON orders.orders TO ns_app_ro_orders WITH GRANT OPTION;
GRANT SELECT ON orders.orders TO dave_oncall;
GRANT SELECT ON orders.orders TO ns_app_ro_orders, dave_team;
GRANT SELECT ON orders.orders TO PUBLIC;
ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO ns_app_ro_orders;
-- roles, SECURITY DEFINER, ownership
CREATE ROLE dave_shadow LOGIN;
ALTER ROLE dave_team SET work_mem = '64MB';
CREATE FUNCTION pg_temp.f() RETURNS int LANGUAGE sql SECURITY DEFINER AS 'SELECT 1';
ALTER FUNCTION nspg_guard.status() OWNER TO dave_oncall;
REASSIGN OWNED BY ns_owner_orders TO dave_oncall;
-- no role management at all (a REVOKE of its own membership would hold off the expiry), no grant
-- to pg_database_owner (a database owner holds it without a membership row)
REVOKE ns_breakglass_admin FROM dave_oncall;
REVOKE dave_team FROM dave_oncall;
DROP ROLE dave_team;
GRANT SELECT ON orders.orders TO pg_database_owner;
-- objects of the requester's own role; temporary ones go with the session
CREATE TABLE public.dave_copy (id int);
SELECT 1 AS one INTO public.dave_copy;
CREATE TEMP TABLE dave_scratch AS SELECT 1 AS one;
SELECT one FROM dave_scratch;
-- prepared transactions
BEGIN;
PREPARE TRANSACTION 'dave_later';
ROLLBACK;
-- nested: DO, a function, a prepared statement
DO $$ BEGIN EXECUTE 'GRANT SELECT ON orders.orders TO dave_oncall'; END $$;
DO $$ BEGIN CREATE TABLE public.dave_nested (id int); END $$;
SET ROLE ns_breakglass_admin;
CREATE FUNCTION pg_temp.run(what text) RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE what; END $$;
SELECT current_user;
RESET ROLE;
SELECT pg_temp.run('ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO dave_oncall');
PREPARE dave_p AS SELECT pg_temp.run('GRANT SELECT ON orders.orders TO PUBLIC');
EXECUTE dave_p;

\c postgres carol_approver
DO $$ BEGIN
    FOR i IN 1..200 LOOP
        EXIT WHEN NOT EXISTS (SELECT FROM pg_stat_activity WHERE usename = 'dave_oncall');
        PERFORM pg_sleep(0.05);
    END LOOP;
END $$;
SELECT nspg_guard.breakglass_end(:req) AS sessions_ended;

-- The break-glass role only through an approved request: an admin's direct GRANT is refused in
-- any session; a superuser's runs, recorded as a flagged break-glass event.
\c nspg_regress alice_admin
\set SHOW_CONTEXT never
GRANT ns_breakglass_admin TO alice_admin;
\echo :LAST_ERROR_SQLSTATE
CREATE ROLE alice_shadow IN ROLE ns_breakglass_admin;
ALTER GROUP ns_breakglass_admin ADD USER alice_admin;
ALTER ROLE ns_breakglass_admin LOGIN;
ALTER ROLE ns_breakglass_admin RENAME TO bg_renamed;
DROP ROLE ns_breakglass_admin;
-- the approver roles are protected the same way (a sock-puppet approver)
CREATE ROLE alice_shadow LOGIN IN ROLE ns_breakglass_approver;
ALTER ROLE carol_approver PASSWORD 'taken over-PlantedZq4';
\c postgres postgres
SELECT coalesce(max(id), 0) AS mark FROM nspg_guard.audit_log \gset
GRANT ns_breakglass_admin TO dave_team;
SELECT pg_has_role('dave_oncall', 'ns_breakglass_admin', 'MEMBER') AS dave_through_team;
REVOKE ns_breakglass_admin FROM dave_team;
SELECT nspg_guard.audit_flush() >= 0 AS flushed;
SELECT outcome, "session_user", command_tag, object_identity, details->>'flagged' AS flagged, statement
  FROM nspg_guard.audit_log WHERE id > :mark AND class = 'breakglass' AND outcome = 'granted_directly';
SELECT "session_user", command_tag, reason
  FROM nspg_guard.audit_log WHERE class = 'denied' AND "session_user" IN ('dave_oncall', 'alice_admin')
   AND (reason LIKE '%while escalated through break-glass' OR reason LIKE '%approved request') ORDER BY id;
