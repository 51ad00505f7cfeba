-- redteam_findings: regression tests for the outside red team's findings on issue 10 that one
-- session at a time shows (the others, which need time passing, several sessions or the wire
-- protocol, are in tests/shell/redteam_regressions.sh). Runs after breakglass (bob_oncall,
-- carol_approver).
\set VERBOSITY default
\set SHOW_CONTEXT never

-- Finding 9: an override granted in a savepoint that is rolled back is gone with it; one granted
-- in a savepoint that is released holds for the rest of the transaction.
\c - ns_migrate_orders
\set SHOW_CONTEXT never
CREATE TABLE orders.rt_scratch (id int PRIMARY KEY);
INSERT INTO orders.rt_scratch SELECT generate_series(1, 5);
BEGIN;
SAVEPOINT s;
SELECT nspg_guard.allow_destructive('clear the scratch rows, then rolled back');
ROLLBACK TO SAVEPOINT s;
DELETE FROM orders.rt_scratch;
\echo :SQLSTATE
ROLLBACK;
BEGIN;
SAVEPOINT s;
SELECT nspg_guard.allow_destructive('clear the scratch rows, savepoint released');
RELEASE SAVEPOINT s;
DELETE FROM orders.rt_scratch;
ROLLBACK;
-- released into an outer savepoint that is rolled back: gone
BEGIN;
SAVEPOINT outer_sp;
SAVEPOINT inner_sp;
SELECT nspg_guard.allow_destructive('clear the scratch rows, inner savepoint');
RELEASE SAVEPOINT inner_sp;
ROLLBACK TO SAVEPOINT outer_sp;
DELETE FROM orders.rt_scratch;
\echo :SQLSTATE
ROLLBACK;
-- granted before the savepoint: rolling the savepoint back leaves it
BEGIN;
SELECT nspg_guard.allow_destructive('clear the scratch rows, before the savepoint');
SAVEPOINT s;
ROLLBACK TO SAVEPOINT s;
DELETE FROM orders.rt_scratch;
ROLLBACK;
-- a PL/pgSQL exception block is a savepoint too
BEGIN;
DO $$
BEGIN
    PERFORM nspg_guard.allow_destructive('clear the scratch rows, in a block that fails');
    RAISE EXCEPTION 'undo the block';
EXCEPTION WHEN raise_exception THEN
    RAISE NOTICE 'block rolled back';
END $$;
DELETE FROM orders.rt_scratch;
\echo :SQLSTATE
ROLLBACK;
SELECT count(*) AS scratch_rows FROM orders.rt_scratch;

-- Finding 7: with the access class on, COPY of an audited table leaves one access row (COPY TO /
-- COPY FROM, with the rows copied), and each statement of a multi-statement query string leaves
-- its own text only.
\c - postgres
\set SHOW_CONTEXT never
CREATE TABLE orders.rt_copied (id int PRIMARY KEY, note text);
GRANT SELECT, INSERT, UPDATE ON orders.rt_copied TO ns_migrate_orders;
INSERT INTO orders.rt_copied VALUES (1, 'a'), (2, 'b'), (3, 'c');
SELECT nspg_guard.audit_relation('orders.rt_copied', 'all');
ALTER SYSTEM SET nspg_guard.audit = 'all';
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SELECT max(id) AS mark FROM nspg_guard.audit_log \gset
\c - ns_migrate_orders
\set SHOW_CONTEXT never
SHOW nspg_guard.audit;
COPY orders.rt_copied TO STDOUT;
COPY orders.rt_copied (id, note) FROM STDIN;
4	d
5	e
\.
COPY orders.rt_copied (id) TO STDOUT;
COPY (SELECT 1) TO STDOUT;                         -- no table: no access row
INSERT INTO orders.rt_copied VALUES (6, 'f') \; UPDATE orders.rt_copied SET note = 'g' WHERE id = 6 \; SELECT count(*) FROM orders.rt_copied;
\c - postgres
\set SHOW_CONTEXT never
SELECT class, command_tag, object_identity, rows, statement FROM nspg_guard.audit_log
 WHERE id > :mark AND class = 'access' ORDER BY id;
SELECT nspg_guard.audit_relation('orders.rt_copied', 'none');
ALTER SYSTEM RESET nspg_guard.audit;
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
DROP TABLE orders.rt_copied;

-- Finding 8: an app role calling a superuser-owned SECURITY DEFINER function is not an admin
-- session: its own timeouts are not capped afterwards.
CREATE FUNCTION orders.rt_definer() RETURNS text LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$ BEGIN PERFORM 1; RETURN current_user; END $$;
GRANT EXECUTE ON FUNCTION orders.rt_definer() TO ns_app_rw_orders;
\c - ns_app_rw_orders
SET statement_timeout = '1h';
SELECT orders.rt_definer();
SHOW statement_timeout;
SHOW idle_session_timeout;
SHOW idle_in_transaction_session_timeout;
SELECT orders.rt_definer();
SHOW statement_timeout;
\c - postgres
DROP FUNCTION orders.rt_definer();

-- Finding 11: CREATE EXTENSION nspg_guard is refused in a database that is not UTF8 (0A000, with
-- a HINT); the preloaded guards still judge statements there. The database is owned by the
-- break-glass role, for finding 10.
CREATE DATABASE rt_latin1 OWNER ns_breakglass_admin ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;
\c rt_latin1 postgres
\set SHOW_CONTEXT never
CREATE EXTENSION nspg_guard;
\echo :SQLSTATE
SELECT count(*) AS installed FROM pg_extension WHERE extname = 'nspg_guard';
\c - ns_app_rw_orders
\set SHOW_CONTEXT never
CREATE TABLE public.rt_app_table (id int);
\echo :SQLSTATE
CREATE VIEW public.rt_app_view AS SELECT 1 AS one;
\c - postgres
SELECT count(*) AS app_objects FROM pg_class WHERE relname LIKE 'rt_app_%';
\c postgres postgres
\set SHOW_CONTEXT never
-- (the refusals above are written by the writer: wait for them before taking the mark)
SELECT nspg_guard.audit_flush() AS flushed \gset
SELECT coalesce(max(id), 0) AS bg_mark FROM nspg_guard.audit_log \gset

-- Finding 10: an escalated session may not ALTER ROLE … RESET ALL or ALTER DATABASE … RESET ALL
-- (they would remove stored audit-relevant settings).
ALTER ROLE bob_oncall SET log_min_duration_statement = '10s';
ALTER DATABASE rt_latin1 SET log_min_duration_statement = '10s';
\c - bob_oncall
SET client_min_messages = warning;                -- the NOTICE names the request's id
SELECT nspg_guard.breakglass_request('red team regression: reset stored settings', '10 minutes') AS rt_req \gset
\c - carol_approver
SELECT nspg_guard.breakglass_approve(:rt_req) > now() AS approved;
\c - bob_oncall
\set SHOW_CONTEXT never
SELECT pg_has_role('ns_breakglass_admin', 'USAGE') AS escalated, current_setting('log_min_duration_statement') AS stored;
ALTER ROLE bob_oncall RESET ALL;
\echo :SQLSTATE
ALTER ROLE bob_oncall IN DATABASE postgres RESET ALL;
ALTER DATABASE rt_latin1 RESET ALL;
\echo :SQLSTATE
ALTER ROLE bob_oncall RESET log_min_duration_statement;
\c - carol_approver
DO $$ BEGIN
    FOR i IN 1..200 LOOP
        EXIT WHEN NOT EXISTS (SELECT FROM pg_stat_activity WHERE usename = 'bob_oncall');
        PERFORM pg_sleep(0.05);
    END LOOP;
END $$;
SELECT nspg_guard.breakglass_end(:rt_req) AS sessions_ended;
\c - postgres
\set SHOW_CONTEXT never
-- the stored settings are still there
SELECT coalesce(r.rolname, '-') AS role, coalesce(d.datname, '-') AS database, s.setconfig
  FROM pg_db_role_setting s LEFT JOIN pg_roles r ON r.oid = s.setrole LEFT JOIN pg_database d ON d.oid = s.setdatabase
 WHERE r.rolname = 'bob_oncall' OR d.datname = 'rt_latin1' ORDER BY 1, 2;
SELECT nspg_guard.audit_flush() AS pending;
SELECT class, outcome, command_tag, database, "session_user", statement FROM nspg_guard.audit_log
 WHERE id > :bg_mark AND (class = 'denied' OR outcome = 'statement') ORDER BY id;
-- the refusals of finding 11 in rt_latin1 reached the audit database
SELECT class, outcome, command_tag, object_identity, "session_user" FROM nspg_guard.audit_log
 WHERE database = 'rt_latin1' AND class = 'denied' ORDER BY id;
ALTER ROLE bob_oncall RESET ALL;
DROP DATABASE rt_latin1;
\c nspg_regress postgres
DROP TABLE orders.rt_scratch;
