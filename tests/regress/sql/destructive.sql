-- Destructive-statement guard (NS-PG-007 §9): UPDATE/DELETE/MERGE must restrict rows with a
-- condition on the target's columns, wherever the statement hides; TRUNCATE only for migration
-- and admin roles; DROP warns; a row limit; a deliberate, audited override.
\set VERBOSITY default
\set SHOW_CONTEXT never

SET ROLE ns_migrate_orders;
CREATE TABLE orders.scratch (id int PRIMARY KEY, v int NOT NULL);
CREATE TABLE orders.source (id int PRIMARY KEY, flag bool NOT NULL);
INSERT INTO orders.scratch SELECT g, g FROM generate_series(1, 10) g;
INSERT INTO orders.source SELECT g, g % 2 = 0 FROM generate_series(1, 10) g;
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON orders.scratch, orders.source TO ns_app_rw_orders, ns_admin;
-- The same unbounded DELETE packaged every way a statement can hide.
CREATE FUNCTION orders.purge_sql() RETURNS void LANGUAGE sql AS 'DELETE FROM orders.scratch';
CREATE FUNCTION orders.purge_plpgsql() RETURNS void LANGUAGE plpgsql AS
    $$ BEGIN DELETE FROM orders.scratch; END $$;
CREATE PROCEDURE orders.purge_proc() LANGUAGE plpgsql AS $$ BEGIN UPDATE orders.scratch SET v = 0; END $$;
CREATE FUNCTION orders.purge_dynamic() RETURNS void LANGUAGE plpgsql AS
    $$ BEGIN EXECUTE 'DELETE FROM orders.scratch WHERE 1 = 1'; END $$;
GRANT EXECUTE ON FUNCTION orders.purge_sql(), orders.purge_plpgsql(), orders.purge_dynamic() TO ns_app_rw_orders;
GRANT EXECUTE ON PROCEDURE orders.purge_proc() TO ns_app_rw_orders;
RESET ROLE;

-- attempt(role, statement): runs the statement as the role in a subtransaction that is always
-- rolled back, and says whether the guard refused it.
CREATE FUNCTION pg_temp.attempt(role text, stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        EXECUTE format('SET LOCAL ROLE %I', role);
        EXECUTE stmt;
        RAISE EXCEPTION 'ran';
    EXCEPTION WHEN OTHERS THEN
        RETURN CASE WHEN SQLERRM = 'ran' THEN 'ran'
                    WHEN SQLERRM LIKE 'nspg_guard:%' THEN 'REFUSED ' || SQLSTATE
                    ELSE 'error ' || SQLSTATE || ': ' || SQLERRM END;
    END;
END $$;

CREATE TEMP TABLE forms (n serial, form text, stmt text);
INSERT INTO forms (form, stmt) VALUES
    ('no WHERE',               'DELETE FROM orders.scratch'),
    ('WHERE true',             'DELETE FROM orders.scratch WHERE true'),
    ('WHERE 1=1',              'UPDATE orders.scratch SET v = 0 WHERE 1=1'),
    ('WHERE ''a''=''a''',      'DELETE FROM orders.scratch WHERE ''a'' = ''a'''),
    ('WHERE now() > date',     'DELETE FROM orders.scratch WHERE now() > ''2000-01-01'''),
    ('uncorrelated EXISTS',    'DELETE FROM orders.scratch WHERE EXISTS (SELECT 1 FROM orders.source)'),
    ('WHERE random() < 2',     'DELETE FROM orders.scratch WHERE random() < 2'),
    ('FROM other, no join',    'UPDATE orders.scratch SET v = 0 FROM orders.source s WHERE s.flag'),
    ('data-modifying CTE',     'WITH d AS (DELETE FROM orders.scratch RETURNING *) SELECT count(*) FROM d'),
    ('SQL function',           'SELECT orders.purge_sql()'),
    ('PL/pgSQL function',      'SELECT orders.purge_plpgsql()'),
    ('PL/pgSQL EXECUTE',       'SELECT orders.purge_dynamic()'),
    ('procedure',              'CALL orders.purge_proc()'),
    ('DO block',               'DO $d$ BEGIN DELETE FROM orders.scratch; END $d$'),
    ('MERGE ON true',          'MERGE INTO orders.scratch t USING (VALUES (1)) s(id) ON true WHEN MATCHED THEN DELETE'),
    ('EXPLAIN',                'EXPLAIN DELETE FROM orders.scratch'),
    ('EXPLAIN ANALYZE',        'EXPLAIN ANALYZE DELETE FROM orders.scratch'),
    -- bounded forms: always run
    ('WHERE id = 3',           'DELETE FROM orders.scratch WHERE id = 3'),
    ('WHERE v > 5',            'UPDATE orders.scratch SET v = v + 1 WHERE v > 5'),
    ('IN (subquery)',          'DELETE FROM orders.scratch WHERE id IN (SELECT id FROM orders.source WHERE flag)'),
    ('FROM other, joined',     'UPDATE orders.scratch t SET v = 0 FROM orders.source s WHERE s.id = t.id AND s.flag'),
    ('correlated EXISTS',      'DELETE FROM orders.scratch t WHERE EXISTS (SELECT 1 FROM orders.source s WHERE s.id = t.id)'),
    ('CTE with WHERE',         'WITH d AS (DELETE FROM orders.scratch WHERE id < 3 RETURNING *) SELECT count(*) FROM d'),
    ('MERGE ON key',           'MERGE INTO orders.scratch t USING orders.source s ON t.id = s.id WHEN MATCHED AND s.flag THEN DELETE'),
    ('MERGE insert only',      'MERGE INTO orders.scratch t USING orders.source s ON true WHEN NOT MATCHED THEN INSERT VALUES (s.id + 100, 0)'),
    ('WHERE false',            'DELETE FROM orders.scratch WHERE false');

-- One row per form, one column per mode, as the app role.
CREATE FUNCTION pg_temp.matrix(role text) RETURNS TABLE (form text, enforce text, warn text, off text)
LANGUAGE plpgsql AS $$
DECLARE f record; outcome text[];
BEGIN
    SET LOCAL client_min_messages = error;   -- warn mode's WARNINGs are shown once, below
    FOR f IN SELECT * FROM forms ORDER BY n LOOP
        outcome := '{}';
        FOR mode IN 1..3 LOOP
            PERFORM set_config('nspg_guard.destructive_guard', (ARRAY['enforce', 'warn', 'off'])[mode], true);
            outcome := outcome || pg_temp.attempt(role, f.stmt);
        END LOOP;
        form := f.form; enforce := outcome[1]; warn := outcome[2]; off := outcome[3];
        RETURN NEXT;
    END LOOP;
END $$;
SELECT * FROM pg_temp.matrix('ns_app_rw_orders');
-- The rule holds for migration roles and superusers too: mistakes are not a matter of rank.
SELECT form, enforce FROM pg_temp.matrix('ns_migrate_orders') WHERE form IN ('no WHERE', 'WHERE 1=1', 'WHERE id = 3');
SELECT form, enforce FROM pg_temp.matrix('ns_dba') WHERE form IN ('no WHERE', 'WHERE 1=1', 'WHERE id = 3');
-- TRUNCATE: migration and admin roles only (the table privilege alone is not enough).
SELECT r AS role, pg_temp.attempt(r, 'TRUNCATE orders.scratch') AS truncate
FROM unnest(ARRAY['ns_app_rw_orders', 'ns_app_ro_orders', 'ns_analytics_ro', 'ns_migrate_orders',
                  'alice_admin', 'ns_dba']) r;
SELECT count(*) AS rows_left FROM orders.scratch;   -- every attempt was rolled back

-- The full refusal, at top level, as a real login of the app role.
\c - ns_app_rw_orders
\set VERBOSITY default
\set SHOW_CONTEXT never
DELETE FROM orders.scratch;
\echo :LAST_ERROR_SQLSTATE
MERGE INTO orders.scratch t USING orders.source s ON true WHEN MATCHED THEN UPDATE SET v = 0;
-- A prepared statement is checked each time it runs, so a tautology bound at run time…
PREPARE taut(int) AS DELETE FROM orders.scratch WHERE $1 = $1;
EXECUTE taut(1);
-- …and a statement prepared while the guard was off are refused once it is on.
\c - postgres
SET nspg_guard.destructive_guard = off;
PREPARE wipe AS DELETE FROM orders.scratch;
SET nspg_guard.destructive_guard = enforce;
EXECUTE wipe;
SELECT count(*) AS rows_left FROM orders.scratch;

-- warn: the same text as a WARNING, and the statement runs.
SET nspg_guard.destructive_guard = warn;
BEGIN;
DELETE FROM orders.scratch WHERE true;
ROLLBACK;
SET nspg_guard.destructive_guard = enforce;

-- TRUNCATE: migration and admin roles only; temp tables are anyone's.
\c - ns_app_rw_orders
\set SHOW_CONTEXT never
TRUNCATE orders.scratch;
CREATE TEMP TABLE my_scratch AS SELECT 1 AS x;
TRUNCATE my_scratch;

-- DROP by an allowed role names what goes, once it has gone.
\c - ns_migrate_orders
\set SHOW_CONTEXT never
CREATE TABLE orders.doomed (x int);
CREATE VIEW orders.doomed_view AS SELECT x FROM orders.doomed;
DROP TABLE orders.doomed CASCADE;
DROP TABLE orders.never_was;                     -- fails: no warning about removing it
DROP FUNCTION IF EXISTS orders.nothing_here();   -- an ordinary DROP of a function: no warning
\c - postgres
CREATE SCHEMA doomed_schema;
DROP SCHEMA doomed_schema;

-- Blast radius: a per-role row limit, set by a superuser.
\c - postgres
ALTER ROLE ns_app_rw_orders SET nspg_guard.max_rows_per_statement = 5;
\c - ns_app_rw_orders
\set SHOW_CONTEXT never
SHOW nspg_guard.max_rows_per_statement;
UPDATE orders.scratch SET v = v + 100 WHERE id <= 8;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS changed FROM orders.scratch WHERE v > 100;   -- nothing persisted
UPDATE orders.scratch SET v = v + 100 WHERE id <= 5;            -- at the limit: fine
DELETE FROM orders.scratch WHERE id > 0;                        -- 10 rows: refused
SELECT count(*) AS rows_left FROM orders.scratch;
SET nspg_guard.max_rows_per_statement = 0;                      -- not the app's to lift
\c - postgres
ALTER ROLE ns_app_rw_orders RESET nspg_guard.max_rows_per_statement;

-- The override: migration and admin roles only, with a real reason, for one transaction.
\c - ns_app_rw_orders
\set SHOW_CONTEXT never
SELECT nspg_guard.allow_destructive('clean up the test orders please');
\echo :LAST_ERROR_SQLSTATE
\c - ns_migrate_orders
\set SHOW_CONTEXT never
BEGIN;
SELECT nspg_guard.allow_destructive('');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SELECT nspg_guard.allow_destructive(NULL);
ROLLBACK;
BEGIN;
SELECT nspg_guard.allow_destructive('cleanup');
ROLLBACK;
BEGIN;
SELECT nspg_guard.allow_destructive('reload scratch table from source, ticket OPS-7');
DELETE FROM orders.scratch;
INSERT INTO orders.scratch SELECT id, id FROM orders.source;
COMMIT;
DELETE FROM orders.scratch;       -- the override ended with its transaction
\c - alice_admin
\set SHOW_CONTEXT never
BEGIN;
SELECT nspg_guard.allow_destructive('admin emergency fix, incident 12');
UPDATE orders.scratch SET v = 0 WHERE true;
ROLLBACK;

-- An override belongs to the role that asked: a migration-owned function that calls it lets
-- its own statements through, not its caller's later in the same transaction.
\c - postgres
CREATE FUNCTION orders.reset_scratch() RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$
DECLARE n bigint;
BEGIN
    PERFORM nspg_guard.allow_destructive('nightly scratch reset, ticket OPS-8');
    UPDATE orders.scratch SET v = v WHERE true;   -- the owner's own statement: covered
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;
ALTER FUNCTION orders.reset_scratch() OWNER TO ns_migrate_orders;
GRANT EXECUTE ON FUNCTION orders.reset_scratch() TO ns_app_rw_orders;
\c - ns_app_rw_orders
\set SHOW_CONTEXT never
BEGIN;
SELECT orders.reset_scratch() AS reset_rows;
DELETE FROM orders.scratch;       -- the app's own statement: still refused
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT count(*) AS rows_kept FROM orders.scratch;
\c - postgres
DROP FUNCTION orders.reset_scratch();

-- Extension scripts are exempt: the fixture's script deletes, truncates and drops freely.
\c - postgres
CREATE EXTENSION nspg_guard_fixture;
SELECT count(*) FROM fixture_rows;
DROP EXTENSION nspg_guard_fixture;

SELECT setting, value FROM nspg_guard.status() WHERE setting IN ('destructive_guard', 'max_rows_per_statement');
