-- ddl_messages: the exact words of the DDL guard, as the roles see them after logging in.
--
-- enforce: an ERROR with SQLSTATE 42501 (insufficient_privilege), a DETAIL naming the statement
-- class and the rule with the role sets in force, and a HINT with the way out.
-- warn: the same text as a WARNING, and the statement runs. off: silence.
\set VERBOSITY default
\set SHOW_CONTEXT never
\set superuser :USER

-- A scratch schema the app role may create in and a table it owns, CREATE on the database
-- (for the trusted extension citext) and CREATEROLE for the migration role: as far as
-- PostgreSQL is concerned every statement below is permitted, so what refuses is the guard.
CREATE SCHEMA msg;
GRANT USAGE, CREATE ON SCHEMA msg TO ns_app_rw_orders;
CREATE TABLE msg.app_owned (id int);
ALTER TABLE msg.app_owned OWNER TO ns_app_rw_orders;
SELECT current_database() AS db \gset
GRANT CREATE ON DATABASE :"db" TO ns_app_rw_orders;
ALTER ROLE ns_migrate_orders CREATEROLE;

-- enforce (the default) -----------------------------------------------------------------
\c - ns_app_rw_orders
SHOW nspg_guard.ddl_guard;
-- Schema changes, even to a table the app role owns.
ALTER TABLE msg.app_owned ADD COLUMN note text;
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE msg.new_table (id int);
\echo :LAST_ERROR_SQLSTATE
-- Privilege changes.
GRANT SELECT ON msg.app_owned TO ns_analytics_ro;
\echo :LAST_ERROR_SQLSTATE
-- CREATE EXTENSION is a risky statement that also needs migration authority.
CREATE EXTENSION citext SCHEMA msg;
\echo :LAST_ERROR_SQLSTATE

\c - ns_migrate_orders
-- A migration role changes schema, but role management is for admins.
CREATE ROLE msg_new_role NOLOGIN;
\echo :LAST_ERROR_SQLSTATE

-- Nothing of the above happened.
\c - :superuser
\d msg.app_owned
SELECT relname FROM pg_class WHERE relname = 'new_table' AND relnamespace = 'msg'::regnamespace;
SELECT relacl FROM pg_class WHERE oid = 'msg.app_owned'::regclass;
SELECT extname FROM pg_extension WHERE extname = 'citext';
SELECT rolname FROM pg_roles WHERE rolname = 'msg_new_role';

-- warn: set per role by the superuser, taking effect at the roles' next login -----------
ALTER ROLE ns_app_rw_orders SET nspg_guard.ddl_guard = warn;
ALTER ROLE ns_migrate_orders SET nspg_guard.ddl_guard = warn;

\c - ns_app_rw_orders
SHOW nspg_guard.ddl_guard;
ALTER TABLE msg.app_owned ADD COLUMN note text;
CREATE TABLE msg.new_table (id int);
GRANT SELECT ON msg.app_owned TO ns_analytics_ro;
-- One warning for CREATE EXTENSION itself; the statements of its script are not judged.
CREATE EXTENSION citext SCHEMA msg;

\c - ns_migrate_orders
CREATE ROLE msg_new_role NOLOGIN;

-- All of them ran.
\c - :superuser
\d msg.app_owned
SELECT relname FROM pg_class WHERE relname = 'new_table' AND relnamespace = 'msg'::regnamespace;
SELECT relacl FROM pg_class WHERE oid = 'msg.app_owned'::regclass;
SELECT extname, extowner::regrole FROM pg_extension WHERE extname = 'citext';
SELECT rolname FROM pg_roles WHERE rolname = 'msg_new_role';

-- off: no message at all, the statements run -----------------------------------------------
ALTER ROLE ns_app_rw_orders SET nspg_guard.ddl_guard = off;
ALTER ROLE ns_migrate_orders SET nspg_guard.ddl_guard = off;

\c - ns_app_rw_orders
SHOW nspg_guard.ddl_guard;
DROP EXTENSION citext;
REVOKE SELECT ON msg.app_owned FROM ns_analytics_ro;
DROP TABLE msg.new_table;
ALTER TABLE msg.app_owned DROP COLUMN note;

\c - ns_migrate_orders
DROP ROLE msg_new_role;

\c - :superuser
\d msg.app_owned
SELECT relname FROM pg_class WHERE relnamespace = 'msg'::regnamespace ORDER BY relname;
SELECT relacl FROM pg_class WHERE oid = 'msg.app_owned'::regclass;
SELECT extname FROM pg_extension WHERE extname = 'citext';
SELECT rolname FROM pg_roles WHERE rolname = 'msg_new_role';

-- Clean up.
ALTER ROLE ns_app_rw_orders RESET nspg_guard.ddl_guard;
ALTER ROLE ns_migrate_orders RESET nspg_guard.ddl_guard;
ALTER ROLE ns_migrate_orders NOCREATEROLE;
REVOKE CREATE ON DATABASE :"db" FROM ns_app_rw_orders;
DROP SCHEMA msg CASCADE;
