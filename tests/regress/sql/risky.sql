-- risky: NS-PG-007 §8.3 "disable or restrict risky capabilities unless needed". ALTER SYSTEM,
-- LOAD, COPY to/from a server file or a program, and CREATE EXTENSION of an extension outside
-- nspg_guard.extension_allowlist are refused for non-admins (42501 with a HINT), even where
-- PostgreSQL itself would allow them; admins may, and each use is audited.
\set VERBOSITY default
\set SHOW_CONTEXT never
SELECT coalesce(max(id), 0) AS start_id FROM nspg_guard.audit_log \gset
SELECT current_database() AS db \gset
\c postgres
SELECT coalesce(max(id), 0) AS start_async FROM nspg_guard.audit_log \gset
\c :db
-- A non-admin to whom PostgreSQL grants all of it: server files, programs, ALTER SYSTEM of one
-- parameter. What refuses below is the guard.
CREATE ROLE ops_files LOGIN IN ROLE pg_read_server_files, pg_write_server_files, pg_execute_server_program;
GRANT ALTER SYSTEM ON PARAMETER work_mem TO ops_files;
GRANT pg_write_server_files, pg_execute_server_program TO alice_admin;
GRANT CREATE ON DATABASE :"db" TO ns_migrate_orders;   -- may create trusted extensions
CREATE SCHEMA risky AUTHORIZATION ns_migrate_orders;
SHOW nspg_guard.risky_guard;

\c - ops_files
ALTER SYSTEM SET work_mem = '8MB';
\echo :LAST_ERROR_SQLSTATE
LOAD 'auto_explain';
\echo :LAST_ERROR_SQLSTATE
COPY (SELECT 1) TO '/dev/null';
\echo :LAST_ERROR_SQLSTATE
COPY (SELECT 1) TO PROGRAM 'cat > /dev/null';
\echo :LAST_ERROR_SQLSTATE
-- nested in a function: the same
DO $$ BEGIN EXECUTE 'COPY (SELECT 1) TO PROGRAM ''true'''; END $$;
\echo :LAST_ERROR_SQLSTATE
-- COPY through the client is data, not risky
COPY (SELECT 'through the client' AS note) TO STDOUT;

-- Extensions: trusted ones on the allowlist, for a migration role; others only for admins.
\c - ns_migrate_orders
CREATE EXTENSION dict_int SCHEMA risky;
\echo :LAST_ERROR_SQLSTATE
CREATE EXTENSION citext SCHEMA risky;
DROP EXTENSION citext;

-- Admins may; each use is a "risky" audit row.
\c - alice_admin
COPY (SELECT 1) TO '/dev/null';
COPY (SELECT 1) TO PROGRAM 'cat > /dev/null';
\c - postgres
LOAD 'auto_explain';
CREATE EXTENSION dict_int SCHEMA risky;
DROP EXTENSION dict_int;
SELECT class, outcome, command_tag, "session_user", statement
  FROM nspg_guard.audit_log WHERE id > :start_id AND class IN ('risky', 'schema') ORDER BY id;
-- The refusals are audited too (class denied, written by the background writer).
\c postgres
SELECT nspg_guard.audit_flush() AS pending;
SELECT command_tag, "session_user", reason
  FROM nspg_guard.audit_log
 WHERE id > :start_async AND class = 'denied' AND "session_user" IN ('ops_files', 'ns_migrate_orders') ORDER BY id;
\c :db postgres

-- warn: the same words as a WARNING, and the statement runs; off: silence. Only superusers
-- choose the mode (here per role).
ALTER ROLE ops_files SET nspg_guard.risky_guard = 'warn';
\c - ops_files
COPY (SELECT 1) TO '/dev/null';
\c - postgres
ALTER ROLE ops_files SET nspg_guard.risky_guard = 'off';
\c - ops_files
COPY (SELECT 1) TO '/dev/null';
SET nspg_guard.risky_guard = 'enforce';
\echo :LAST_ERROR_SQLSTATE
\c - postgres
ALTER ROLE ops_files RESET nspg_guard.risky_guard;
\c - ops_files
SET nspg_guard.risky_guard = off;
\echo :LAST_ERROR_SQLSTATE
SET nspg_guard.extension_allowlist = '*';
\echo :LAST_ERROR_SQLSTATE

-- A bad allowlist is refused and the old one kept.
\c - postgres
SET nspg_guard.extension_allowlist = 'citext,,hstore';
\echo :LAST_ERROR_SQLSTATE
SET nspg_guard.extension_allowlist = 'my extension';
\echo :LAST_ERROR_SQLSTATE
SELECT current_setting('nspg_guard.extension_allowlist') LIKE 'btree_gin, %' AS default_kept;
SET nspg_guard.risky_guard = 'sometimes';
\echo :LAST_ERROR_SQLSTATE

DROP SCHEMA risky;
REVOKE CREATE ON DATABASE :"db" FROM ns_migrate_orders;
REVOKE pg_write_server_files, pg_execute_server_program FROM alice_admin;
REVOKE ALTER SYSTEM ON PARAMETER work_mem FROM ops_files;
DROP ROLE ops_files;
