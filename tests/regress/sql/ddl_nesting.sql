-- ddl_nesting: the guard judges every statement at every nesting level, not only what the
-- client sends: DO blocks, PL/pgSQL (static SQL and EXECUTE), SQL functions, procedures,
-- triggers and functions calling functions. What counts is the current role when the
-- statement runs.
\set VERBOSITY default
\set SHOW_CONTEXT never
\set superuser :USER

-- Schema "nest" belongs to the service's owner role; the app role may create in it as far as
-- PostgreSQL is concerned, so each refusal below is the guard's.
CREATE SCHEMA nest AUTHORIZATION ns_owner_orders;
GRANT USAGE, CREATE ON SCHEMA nest TO ns_app_rw_orders;

-- The migration role ships the code; EXECUTE goes to the app role only.
\c - ns_migrate_orders
CREATE FUNCTION nest.create_dynamic(name text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE TABLE nest.%I (id int)', name);
END $$;
CREATE FUNCTION nest.create_in_sql() RETURNS void LANGUAGE sql AS $$
    CREATE TABLE nest.from_sql_function (id int);
$$;
CREATE PROCEDURE nest.create_in_procedure() LANGUAGE plpgsql AS $$
BEGIN
    CREATE TABLE nest.from_procedure (id int);
END $$;
CREATE FUNCTION nest.inner_ddl() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    CREATE TABLE nest.from_inner_function (id int);
END $$;
CREATE FUNCTION nest.outer_caller() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM nest.inner_ddl();
END $$;
-- A trigger that creates a table per event: an INSERT by the app fires DDL.
CREATE TABLE nest.events (id int);
CREATE FUNCTION nest.on_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE TABLE nest.%I (id int)', 'event_' || NEW.id);
    RETURN NEW;
END $$;
CREATE TRIGGER event_table AFTER INSERT ON nest.events FOR EACH ROW EXECUTE FUNCTION nest.on_event();
-- SECURITY DEFINER: the body runs as the function's owner, the migration role.
CREATE FUNCTION nest.create_as_definer() RETURNS void LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    CREATE TABLE nest.from_definer (id int);
END $$;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA nest FROM PUBLIC;
REVOKE EXECUTE ON ALL PROCEDURES IN SCHEMA nest FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA nest TO ns_app_rw_orders;
GRANT EXECUTE ON ALL PROCEDURES IN SCHEMA nest TO ns_app_rw_orders;
GRANT INSERT ON nest.events TO ns_app_rw_orders;

-- The app role: refused at every level.
\c - ns_app_rw_orders
-- DO block, static SQL and EXECUTE.
DO $$ BEGIN CREATE TABLE nest.from_do (id int); END $$;
DO $$ BEGIN EXECUTE 'CREATE TABLE nest.from_do_execute (id int)'; END $$;
-- PL/pgSQL function with EXECUTE.
SELECT nest.create_dynamic('from_plpgsql_execute');
-- SQL-language function.
SELECT nest.create_in_sql();
-- Procedure.
CALL nest.create_in_procedure();
-- A function calling the function that runs the DDL.
SELECT nest.outer_caller();
-- A trigger fired by the app's INSERT: the DDL is refused, so the INSERT fails with it.
INSERT INTO nest.events VALUES (1);
-- A refusal caught by the app's own exception handler still prevents the statement.
DO $$
BEGIN
    CREATE TABLE nest.caught (id int);
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'caught: %', SQLERRM;
END $$;
-- EXPLAIN ANALYZE would execute the CREATE TABLE … AS, so it is judged as that statement;
-- a plain EXPLAIN creates nothing and passes.
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) CREATE TABLE nest.from_explain AS SELECT 1 AS id;
EXPLAIN (COSTS OFF) CREATE TABLE nest.from_explain AS SELECT 1 AS id;

-- SECURITY DEFINER is allowed: inside it current_user is the owner (ns_migrate_orders), and
-- the guard judges the current role, as PostgreSQL's own privilege checks do. A migration role
-- can thus hand one reviewed DDL operation to an app; that is a deliberate, visible grant.
SELECT nest.create_as_definer();

-- The migration role runs the very same code without refusal.
\c - ns_migrate_orders
DO $$ BEGIN CREATE TABLE nest.from_do (id int); END $$;
DO $$ BEGIN EXECUTE 'CREATE TABLE nest.from_do_execute (id int)'; END $$;
SELECT nest.create_dynamic('from_plpgsql_execute');
SELECT nest.create_in_sql();
CALL nest.create_in_procedure();
SELECT nest.outer_caller();
INSERT INTO nest.events VALUES (2);

-- What exists now: the migration role's tables, and the one the definer function created for
-- the app (owned by the migration role). Nothing is owned by the app role.
\c - :superuser
SELECT relname, relowner::regrole AS owner
FROM pg_class WHERE relnamespace = 'nest'::regnamespace AND relkind = 'r' ORDER BY relname;
SELECT * FROM nest.events;

SET client_min_messages = warning;
DROP SCHEMA nest CASCADE;
RESET client_min_messages;
