-- risky: NS-PG-007 §8.3 "disable or restrict risky capabilities unless needed". ALTER SYSTEM,
-- LOAD, COPY to/from a server file or a program, and CREATE EXTENSION of an extension outside
-- nspg_guard.extension_allowlist are refused for non-admins (42501 with a HINT), even where
-- PostgreSQL itself would allow them; admins may, and each use is audited. The same holds for the
-- capability by any other route: server-file functions on every call path, foreign-data options
-- naming a file or a program, untrusted languages, preload libraries set by a session.
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

-- Capabilities, not commands: server files and programs by any other route are for admins too.
-- Functions (every overload, every call path), foreign-data options naming a file or a program,
-- untrusted languages, preload libraries set by a session. Admin uses are audited as "risky".
SELECT coalesce(max(id), 0) AS caps_id FROM nspg_guard.audit_log \gset
\c postgres
SELECT coalesce(max(id), 0) AS caps_async FROM nspg_guard.audit_log \gset
\c :db postgres
-- EXECUTE granted on top of pg_read_server_files: what PostgreSQL needs to let them read
GRANT pg_read_server_files TO alice_admin;
GRANT EXECUTE ON FUNCTION pg_read_file(text), pg_read_file(text, bigint, bigint),
    pg_read_file(text, bigint, bigint, boolean), pg_read_binary_file(text), pg_ls_dir(text),
    pg_stat_file(text) TO ops_files, alice_admin;
GRANT pg_monitor TO ops_files;                       -- pg_ls_waldir
GRANT EXECUTE ON FUNCTION lo_import(text), lo_import(text, oid), lo_export(oid, text) TO ops_files;
GRANT pg_read_server_files, pg_execute_server_program TO ns_migrate_orders;
CREATE EXTENSION file_fdw;
CREATE EXTENSION adminpack;
GRANT EXECUTE ON FUNCTION pg_file_write(text, text, boolean) TO ops_files;
CREATE SERVER risky_files FOREIGN DATA WRAPPER file_fdw;
GRANT USAGE ON FOREIGN DATA WRAPPER file_fdw TO ns_migrate_orders;
GRANT USAGE ON FOREIGN SERVER risky_files TO ns_migrate_orders;
GRANT USAGE ON SCHEMA risky TO ops_files;
-- the routes a caller's code can take: each runs as the caller (SECURITY INVOKER)
CREATE FUNCTION risky.peek_sql(path text) RETURNS text LANGUAGE sql AS 'SELECT pg_read_file(path)';      -- inlined
CREATE FUNCTION risky.peek_sql_strict(path text) RETURNS text LANGUAGE sql STRICT SET work_mem = '4MB'
    AS 'SELECT pg_read_file(path)';                                                                       -- not inlined
CREATE FUNCTION risky.peek_plpgsql(path text) RETURNS text LANGUAGE plpgsql AS 'BEGIN RETURN pg_read_file(path); END';
CREATE PROCEDURE risky.peek_procedure() LANGUAGE plpgsql AS $$BEGIN PERFORM pg_stat_file('PG_VERSION'); END$$;
CREATE VIEW risky.peek_view AS SELECT pg_read_file('PG_VERSION') AS version;
CREATE TABLE risky.stamped (id int, version text DEFAULT pg_read_file('PG_VERSION'));
CREATE TABLE risky.triggered (id int, version text);
CREATE FUNCTION risky.stamp() RETURNS trigger LANGUAGE plpgsql AS
    $$BEGIN NEW.version := pg_read_file('PG_VERSION'); RETURN NEW; END$$;
CREATE TRIGGER stamp BEFORE INSERT ON risky.triggered FOR EACH ROW EXECUTE FUNCTION risky.stamp();
GRANT SELECT ON risky.peek_view TO ops_files;
GRANT INSERT ON risky.stamped, risky.triggered TO ops_files;
-- another name for the same built-in is the same capability (untrusted language: admins only)
CREATE FUNCTION risky.cat(text) RETURNS text LANGUAGE internal STRICT AS 'pg_read_file_all';
GRANT EXECUTE ON FUNCTION risky.cat(text) TO ops_files;

\c - ops_files
SELECT pg_read_file('PG_VERSION');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_read_file('PG_VERSION', 0, 2);
\echo :LAST_ERROR_SQLSTATE
SELECT pg_read_file('PG_VERSION', 0, 2, true);
\echo :LAST_ERROR_SQLSTATE
SELECT length(pg_read_binary_file('PG_VERSION'));
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pg_ls_dir('.');
\echo :LAST_ERROR_SQLSTATE
SELECT size FROM pg_stat_file('PG_VERSION');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pg_ls_waldir();
\echo :LAST_ERROR_SQLSTATE
SELECT lo_import('/etc/hostname');
\echo :LAST_ERROR_SQLSTATE
SELECT lo_export(0, '/tmp/nspg_risky_lo_export');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_file_write('nspg_risky_written', 'x', false);
\echo :LAST_ERROR_SQLSTATE
SELECT risky.cat('PG_VERSION');
\echo :LAST_ERROR_SQLSTATE
-- nested: SQL functions (inlined or not), PL/pgSQL, a procedure, a view, a DEFAULT, a trigger,
-- a prepared statement, a CTE, dynamic SQL in DO
SELECT risky.peek_sql('PG_VERSION');
\echo :LAST_ERROR_SQLSTATE
SELECT risky.peek_sql_strict('PG_VERSION');
\echo :LAST_ERROR_SQLSTATE
SELECT risky.peek_plpgsql('PG_VERSION');
\echo :LAST_ERROR_SQLSTATE
CALL risky.peek_procedure();
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM risky.peek_view;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO risky.stamped (id) VALUES (1);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO risky.triggered (id) VALUES (1);
\echo :LAST_ERROR_SQLSTATE
PREPARE peek(text) AS SELECT pg_read_file($1);
EXECUTE peek('PG_VERSION');
\echo :LAST_ERROR_SQLSTATE
WITH f AS (SELECT pg_read_file('PG_VERSION') AS v) SELECT v FROM f;
\echo :LAST_ERROR_SQLSTATE
DO $$ BEGIN EXECUTE 'SELECT pg_read_file(''PG_VERSION'')'; END $$;
\echo :LAST_ERROR_SQLSTATE
-- a session may not load libraries (at connection: tests/shell/risky_capabilities.sh); clearing is fine
SET local_preload_libraries = 'auto_explain';
\echo :LAST_ERROR_SQLSTATE
SELECT set_config('local_preload_libraries', 'auto_explain', false);
\echo :LAST_ERROR_SQLSTATE
SET local_preload_libraries = '';
-- psql's \lo_import works through the client: not a server file
SELECT count(*) FROM pg_largeobject_metadata WHERE lomowner = 'ops_files'::regrole;

-- foreign data: a migration role may create foreign tables, but not ones naming a file or a
-- program (at CREATE or ALTER … OPTIONS), nor code in an untrusted language
\c - ns_migrate_orders
CREATE FOREIGN TABLE risky.uptime (line text) SERVER risky_files OPTIONS (program 'uptime');
\echo :LAST_ERROR_SQLSTATE
CREATE FOREIGN TABLE risky.passwd (line text) SERVER risky_files OPTIONS (filename '/etc/passwd');
\echo :LAST_ERROR_SQLSTATE
CREATE SERVER risky_program FOREIGN DATA WRAPPER file_fdw OPTIONS (program 'id');
\echo :LAST_ERROR_SQLSTATE
CREATE FUNCTION risky.cat2(text) RETURNS text LANGUAGE internal STRICT AS 'pg_read_file_all';
\echo :LAST_ERROR_SQLSTATE
\c - postgres
CREATE FOREIGN TABLE risky.hello (line text) SERVER risky_files OPTIONS (program 'echo hello from a program');
ALTER FOREIGN TABLE risky.hello OWNER TO ns_migrate_orders;
\c - ns_migrate_orders
ALTER FOREIGN TABLE risky.hello OPTIONS (SET program 'id');
\echo :LAST_ERROR_SQLSTATE
ALTER FOREIGN TABLE risky.hello OPTIONS (DROP program, ADD filename '/etc/passwd');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM risky.hello;

-- Admins may, each use audited: a superuser and an admin role
\c - alice_admin
SELECT pg_read_file('PG_VERSION');
SELECT size FROM pg_stat_file('PG_VERSION');
SET local_preload_libraries = 'auto_explain';
\c - postgres
SELECT risky.peek_plpgsql('PG_VERSION');
ALTER FOREIGN TABLE risky.hello OPTIONS (SET program 'echo changed by an admin');
SELECT * FROM risky.hello;
SELECT class, outcome, command_tag, object_identity
  FROM nspg_guard.audit_log WHERE id > :caps_id AND class = 'risky' ORDER BY id;
\c postgres
SELECT nspg_guard.audit_flush() AS pending;
SELECT class, outcome, command_tag, "session_user", object_identity
  FROM nspg_guard.audit_log
 WHERE id > :caps_async AND class IN ('risky', 'denied') AND command_tag IS DISTINCT FROM 'LOGIN' ORDER BY id;
\c :db postgres
DROP SCHEMA risky CASCADE;
DROP SERVER risky_files;
DROP EXTENSION file_fdw;
DROP EXTENSION adminpack;
REVOKE pg_read_server_files, pg_execute_server_program FROM ns_migrate_orders;
REVOKE pg_read_server_files FROM alice_admin;
REVOKE pg_monitor FROM ops_files;
REVOKE EXECUTE ON FUNCTION lo_import(text), lo_import(text, oid), lo_export(oid, text) FROM ops_files;
REVOKE EXECUTE ON FUNCTION pg_read_file(text), pg_read_file(text, bigint, bigint),
    pg_read_file(text, bigint, bigint, boolean), pg_read_binary_file(text), pg_ls_dir(text),
    pg_stat_file(text) FROM ops_files, alice_admin;
CREATE SCHEMA risky AUTHORIZATION ns_migrate_orders;

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
