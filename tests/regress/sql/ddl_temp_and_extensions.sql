-- ddl_temp_and_extensions: two exceptions to "schema changes need a migration role".
--
-- 1. Temporary objects live and die with the session, so with nspg_guard.allow_temp_objects
--    on (the default) every role may create, alter, index and drop them.
-- 2. CREATE EXTENSION needs migration authority, and the statements of the extension's
--    script are then not judged one by one.
\set VERBOSITY default
\set SHOW_CONTEXT never
\set superuser :USER

-- Temporary objects, allow_temp_objects = on -----------------------------------------------
\c - ns_app_rw_orders
SHOW nspg_guard.allow_temp_objects;
CREATE TEMP TABLE tmp_orders (id int PRIMARY KEY, total numeric);
CREATE INDEX ON tmp_orders (total);
ALTER TABLE tmp_orders ADD COLUMN note text;
INSERT INTO tmp_orders SELECT id, total FROM orders.orders WHERE id <= 5;
CREATE TEMP VIEW tmp_big_orders AS SELECT id, total FROM tmp_orders WHERE total > 20;
CREATE TEMP SEQUENCE tmp_seq;
-- CREATE TABLE … AS and SELECT … INTO with TEMP.
CREATE TEMP TABLE tmp_copy AS SELECT id, customer FROM orders.orders WHERE id <= 3;
SELECT id INTO TEMP tmp_into FROM orders.orders WHERE id <= 2;
-- A table created in pg_temp is temporary even without the TEMP keyword.
CREATE TABLE pg_temp.tmp_explicit (id int);
SELECT relname, relpersistence FROM pg_class
WHERE relnamespace = pg_my_temp_schema() AND relkind IN ('r', 'v', 'S') ORDER BY relname;
SELECT count(*), nextval('tmp_seq') FROM tmp_big_orders;

-- A DROP that names a permanent table along with temporary ones is not temp-only: refused
-- as a whole, nothing is dropped.
DROP TABLE tmp_copy, orders.order_lines;
SELECT to_regclass('tmp_copy') IS NOT NULL AS tmp_copy_kept;

DROP VIEW tmp_big_orders;
DROP SEQUENCE tmp_seq;
DROP INDEX tmp_orders_total_idx;
DROP TABLE tmp_orders, tmp_copy, tmp_into, tmp_explicit;
SELECT count(*) AS temp_objects_left FROM pg_class WHERE relnamespace = pg_my_temp_schema();

-- Temporary objects, allow_temp_objects = off ----------------------------------------------
\c - :superuser
ALTER ROLE ns_app_rw_orders SET nspg_guard.allow_temp_objects = off;
\c - ns_app_rw_orders
SHOW nspg_guard.allow_temp_objects;
CREATE TEMP TABLE tmp_orders (id int);
CREATE TABLE pg_temp.tmp_explicit (id int);
SELECT 1 AS id INTO TEMP tmp_into;
CREATE TEMP VIEW tmp_view AS SELECT 1 AS id;
CREATE TEMP SEQUENCE tmp_seq;
SELECT count(*) AS temp_objects FROM pg_class WHERE relnamespace = pg_my_temp_schema();
-- A migration role is not affected by the setting.
\c - :superuser
SET nspg_guard.allow_temp_objects = off;
SET ROLE ns_migrate_orders;
CREATE TEMP TABLE tmp_migration (id int);
DROP TABLE tmp_migration;
RESET ROLE;
RESET nspg_guard.allow_temp_objects;
ALTER ROLE ns_app_rw_orders RESET nspg_guard.allow_temp_objects;

-- Extensions -------------------------------------------------------------------------------
-- hstore is a trusted extension: PostgreSQL lets any role with CREATE on the database install
-- it (its script then runs as the bootstrap superuser). Both roles get that privilege and CREATE
-- on the target schema, so the difference below is the guard's.
CREATE SCHEMA ext AUTHORIZATION ns_owner_orders;
GRANT USAGE, CREATE ON SCHEMA ext TO ns_app_rw_orders;
SELECT current_database() AS db \gset
GRANT CREATE ON DATABASE :"db" TO ns_app_rw_orders, ns_migrate_orders;

\c - ns_app_rw_orders
CREATE EXTENSION hstore SCHEMA ext;
\echo :LAST_ERROR_SQLSTATE

-- The migration role installs it. The script's dozens of CREATE TYPE/FUNCTION/OPERATOR
-- statements all run: the guard judged CREATE EXTENSION and skips the script's statements.
\c - ns_migrate_orders
CREATE EXTENSION hstore SCHEMA ext;
SELECT extname, extowner::regrole AS owner, extnamespace::regnamespace AS schema
FROM pg_extension WHERE extname = 'hstore';
SELECT count(*) > 50 AS many_objects_created
FROM pg_depend WHERE refobjid = (SELECT oid FROM pg_extension WHERE extname = 'hstore') AND deptype = 'e';

-- The app role uses the extension but cannot change or drop it.
\c - ns_app_rw_orders
SELECT 'sku => 42'::ext.hstore OPERATOR(ext.->) 'sku' AS sku;
ALTER EXTENSION hstore UPDATE;
DROP EXTENSION hstore;

\c - ns_migrate_orders
DROP EXTENSION hstore;
SELECT count(*) AS hstore_installed FROM pg_extension WHERE extname = 'hstore';

\c - :superuser
REVOKE CREATE ON DATABASE :"db" FROM ns_app_rw_orders, ns_migrate_orders;
DROP SCHEMA ext;
