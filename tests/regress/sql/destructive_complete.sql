-- Destructive guard, complete (issue 13): every way to change every row is caught — upserts
-- that read their own target, tautologies on a column, views of each kind, row-level-security
-- policies —, the row limit counts every row a statement changes at every nesting level, and the
-- estimate limit refuses before any row changes.
\set VERBOSITY default
\set SHOW_CONTEXT never

SET ROLE ns_migrate_orders;
CREATE TABLE orders.t (id int PRIMARY KEY, v int NOT NULL, note text);
INSERT INTO orders.t SELECT g, g, 'n' || g FROM generate_series(1, 10) g;
-- views of each kind over it
CREATE VIEW orders.v_plain AS SELECT id, v, note FROM orders.t WHERE v > 0;
CREATE VIEW orders.v_barrier WITH (security_barrier) AS SELECT id, v, note FROM orders.t WHERE v > 0;
CREATE VIEW orders.v_checked AS SELECT id, v, note FROM orders.t WHERE v > 0 WITH CHECK OPTION;
CREATE VIEW orders.v_trigger AS SELECT id, v, note FROM orders.t;
CREATE FUNCTION orders.v_trigger_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN DELETE FROM orders.t WHERE id = OLD.id; RETURN OLD; END IF;
    UPDATE orders.t SET v = NEW.v WHERE id = OLD.id; RETURN NEW;
END $$;
CREATE TRIGGER v_trigger_dml INSTEAD OF UPDATE OR DELETE ON orders.v_trigger
    FOR EACH ROW EXECUTE FUNCTION orders.v_trigger_row();
CREATE VIEW orders.v_rule AS SELECT id, v, note FROM orders.t;
CREATE RULE v_rule_delete AS ON DELETE TO orders.v_rule DO INSTEAD DELETE FROM orders.t WHERE id = OLD.id;
CREATE RULE v_rule_update AS ON UPDATE TO orders.v_rule DO INSTEAD UPDATE orders.t SET v = NEW.v WHERE id = OLD.id;
-- SQL-standard bodies are parsed once, at CREATE: only the plan rule sees them
CREATE FUNCTION orders.atomic_taut() RETURNS void BEGIN ATOMIC DELETE FROM orders.t WHERE id = id; END;
CREATE FUNCTION orders.atomic_ctid() RETURNS void BEGIN ATOMIC DELETE FROM orders.t WHERE id = 1 OR ctid IS NOT NULL; END;
CREATE FUNCTION orders.atomic_key() RETURNS void BEGIN ATOMIC DELETE FROM orders.t WHERE id = 3; END;
-- a table with a row-level-security policy the app role lives under
CREATE TABLE orders.rls (id int PRIMARY KEY, tenant int NOT NULL, v int NOT NULL);
INSERT INTO orders.rls SELECT g, g % 2, g FROM generate_series(1, 10) g;
ALTER TABLE orders.rls ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant0 ON orders.rls USING (tenant = 0);
GRANT SELECT, INSERT, UPDATE, DELETE ON orders.t, orders.v_plain, orders.v_barrier, orders.v_checked,
    orders.v_trigger, orders.v_rule, orders.rls TO ns_app_rw_orders, alice_admin;
RESET ROLE;

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
    -- tautologies on a column
    ('id = id',                 'DELETE FROM orders.t WHERE id = id'),
    ('v >= v',                  'UPDATE orders.t SET note = ''x'' WHERE v >= v'),
    ('NOT NULL col IS NOT NULL','DELETE FROM orders.t WHERE id IS NOT NULL'),
    ('NOT (col IS NULL)',       'DELETE FROM orders.t WHERE NOT (v IS NULL)'),
    ('ctid IS NOT NULL',        'DELETE FROM orders.t WHERE ctid IS NOT NULL'),
    ('whole row IS NOT NULL',   'DELETE FROM orders.t x WHERE x IS NOT NULL'),
    ('OR with a tautology',     'DELETE FROM orders.t WHERE id = 1 OR id = id'),
    ('OR with random()',        'DELETE FROM orders.t WHERE id = 1 OR random() < 2'),
    ('IS NOT DISTINCT itself',  'DELETE FROM orders.t WHERE note IS NOT DISTINCT FROM note'),
    ('BEGIN ATOMIC id = id',    'SELECT orders.atomic_taut()'),
    ('BEGIN ATOMIC ctid OR',    'SELECT orders.atomic_ctid()'),
    ('MERGE ON t.id = t.id',    'MERGE INTO orders.t t USING (VALUES (1)) s(x) ON t.id = t.id WHEN MATCHED THEN DELETE'),
    -- the same column under a wrapper that keeps its value (red team, stop 30)
    ('id = coalesce(NULL, id)', 'DELETE FROM orders.t WHERE id = coalesce(NULL::int, id)'),
    ('(id = id) IS TRUE',       'DELETE FROM orders.t WHERE (id = id) IS TRUE'),
    ('NOT (v IS NULL) IS NOT FALSE', 'UPDATE orders.t SET note = ''x'' WHERE NOT (v IS NULL) IS NOT FALSE'),
    ('id::bigint = id',         'DELETE FROM orders.t WHERE id::bigint = id'),
    -- upserts that read their own target
    ('upsert of itself',        'INSERT INTO orders.t SELECT * FROM orders.t ON CONFLICT (id) DO UPDATE SET v = 0'),
    ('upsert via subquery',     'INSERT INTO orders.t SELECT id, 0, note FROM (SELECT * FROM orders.t) s ON CONFLICT (id) DO UPDATE SET v = 0'),
    ('upsert from a CTE',       'WITH s AS MATERIALIZED (SELECT * FROM orders.t) INSERT INTO orders.t SELECT * FROM s ON CONFLICT (id) DO UPDATE SET v = 0'),
    ('upsert UNION ALL',        'INSERT INTO orders.t SELECT id + 100, v, note FROM orders.t WHERE id = 1 UNION ALL SELECT * FROM orders.t ON CONFLICT (id) DO UPDATE SET v = 0'),
    -- views of each kind, no condition of the statement's own
    ('plain view',              'DELETE FROM orders.v_plain'),
    ('security_barrier view',   'UPDATE orders.v_barrier SET note = ''x'''),
    ('CHECK OPTION view',       'DELETE FROM orders.v_checked'),
    ('INSTEAD OF trigger view', 'DELETE FROM orders.v_trigger'),
    ('INSTEAD OF trigger UPDATE','UPDATE orders.v_trigger SET v = 0'),
    ('DO INSTEAD rule',         'DELETE FROM orders.v_rule'),
    ('DO INSTEAD rule UPDATE',  'UPDATE orders.v_rule SET v = 0'),
    ('view, WHERE true',        'DELETE FROM orders.v_trigger WHERE true'),
    ('view in a CTE',           'WITH d AS (DELETE FROM orders.v_trigger RETURNING 1) SELECT count(*) FROM d'),
    -- row-level security: the policy is not the statement's condition
    ('RLS table, no WHERE',     'DELETE FROM orders.rls'),
    ('RLS table, WHERE 1=1',    'UPDATE orders.rls SET v = 0 WHERE 1 = 1'),
    -- bounded: always run
    ('id = 3',                  'DELETE FROM orders.t WHERE id = 3'),
    ('nullable IS NOT NULL',    'DELETE FROM orders.t WHERE note IS NOT NULL'),
    ('id IS NULL',              'DELETE FROM orders.t WHERE id IS NULL'),
    ('1 = 0',                   'DELETE FROM orders.t WHERE 1 = 0'),
    ('id = coalesce(3, id)',    'DELETE FROM orders.t WHERE id = coalesce(3, id)'),
    ('(id = 3) IS TRUE',        'DELETE FROM orders.t WHERE (id = 3) IS TRUE'),
    ('upsert from VALUES',      'INSERT INTO orders.t VALUES (1, 0, ''x'') ON CONFLICT (id) DO UPDATE SET v = 0'),
    ('upsert of a key of itself','INSERT INTO orders.t SELECT * FROM orders.t WHERE id = 2 ON CONFLICT (id) DO UPDATE SET v = 0'),
    ('upsert DO NOTHING',       'INSERT INTO orders.t SELECT * FROM orders.t ON CONFLICT (id) DO NOTHING'),
    ('plain view WHERE id = 3', 'DELETE FROM orders.v_plain WHERE id = 3'),
    ('trigger view WHERE id=3', 'DELETE FROM orders.v_trigger WHERE id = 3'),
    ('rule view WHERE id = 3',  'UPDATE orders.v_rule SET v = 0 WHERE id = 3'),
    ('view WHERE 1 = 0',        'DELETE FROM orders.v_rule WHERE 1 = 0'),
    ('RLS table WHERE id = 2',  'DELETE FROM orders.rls WHERE id = 2'),
    ('correlated EXISTS',       'DELETE FROM orders.t x WHERE EXISTS (SELECT 1 FROM orders.rls r WHERE r.id = x.id)'),
    ('BEGIN ATOMIC id = 3',     'SELECT orders.atomic_key()'),
    ('MERGE ON key',            'MERGE INTO orders.t t USING (VALUES (1)) s(id) ON t.id = s.id WHEN MATCHED THEN DELETE');

CREATE FUNCTION pg_temp.matrix(role text) RETURNS TABLE (form text, enforce text, warn text, off text)
LANGUAGE plpgsql AS $$
DECLARE f record; outcome text[];
BEGIN
    SET LOCAL client_min_messages = error;
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
-- the same verdicts for a migration role, an admin and a superuser (enforce)
SELECT a.form, a.enforce = m.enforce AND a.enforce = ad.enforce AND a.enforce = s.enforce AS same_for_all
FROM pg_temp.matrix('ns_app_rw_orders') a
JOIN pg_temp.matrix('ns_migrate_orders') m USING (form)
JOIN pg_temp.matrix('alice_admin') ad USING (form)
JOIN pg_temp.matrix('ns_dba') s USING (form)
WHERE NOT (a.enforce = m.enforce AND a.enforce = ad.enforce AND a.enforce = s.enforce);
SELECT count(*) AS rows_left, sum(v) AS v_sum FROM orders.t;   -- everything was rolled back

-- The full refusals, as a real login of the app role.
\c - ns_app_rw_orders
\set VERBOSITY default
\set SHOW_CONTEXT never
DELETE FROM orders.t WHERE id = id;
INSERT INTO orders.t SELECT * FROM orders.t ON CONFLICT (id) DO UPDATE SET v = 0;
DELETE FROM orders.v_trigger;
UPDATE orders.v_rule SET v = 0;
DELETE FROM orders.rls;
\echo :LAST_ERROR_SQLSTATE
-- prepared before, run after: the verdict travels with the cached plan
PREPARE via_view AS DELETE FROM orders.v_plain;
EXECUTE via_view;
EXPLAIN (COSTS OFF) DELETE FROM orders.v_trigger;   -- EXPLAIN runs nothing: passes
SELECT count(*) AS rows_left FROM orders.t;

-- A view statement prepared while the guard is off is refused once it is on.
\c - postgres
SET nspg_guard.destructive_guard = off;
PREPARE wipe_view AS DELETE FROM orders.v_rule;
SET nspg_guard.destructive_guard = enforce;
EXECUTE wipe_view;
-- warn: the statement runs, with the warning
SET nspg_guard.destructive_guard = warn;
BEGIN;
DELETE FROM orders.v_trigger;
SELECT count(*) AS rows_left FROM orders.t;
ROLLBACK;
SET nspg_guard.destructive_guard = enforce;
-- the override covers it, and leaves its audit row when the change commits
SELECT max(id) AS last_audit_id FROM nspg_guard.audit_log \gset
\c - ns_migrate_orders
\set SHOW_CONTEXT never
BEGIN;
SELECT nspg_guard.allow_destructive('rebuild the scratch view rows, ticket OPS-13');
DELETE FROM orders.v_trigger;
INSERT INTO orders.t SELECT g, g, 'n' || g FROM generate_series(1, 10) g;
COMMIT;
\c - postgres
SELECT class, outcome, command_tag, object_identity, rows, details->>'unbounded' AS unbounded, reason
FROM nspg_guard.audit_log WHERE id > :last_audit_id AND class = 'destructive' ORDER BY id;

-- The row counter: one per client statement, every row at every nesting level.
SET ROLE ns_migrate_orders;
CREATE TABLE orders.parent (id int PRIMARY KEY);
CREATE TABLE orders.child (id int PRIMARY KEY, parent int REFERENCES orders.parent ON DELETE CASCADE);
CREATE TABLE orders.grandchild (id int PRIMARY KEY, child int REFERENCES orders.child ON DELETE CASCADE);
INSERT INTO orders.parent VALUES (1), (2);
INSERT INTO orders.child SELECT g, 1 + g % 2 FROM generate_series(1, 6) g;
INSERT INTO orders.grandchild SELECT g, 1 + g % 6 FROM generate_series(1, 12) g;
CREATE TABLE orders.audit_copy (id int, at text);
CREATE FUNCTION orders.fan_out() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE orders.t SET note = 'touched' WHERE id <= 6;   -- six rows per row updated here
    RETURN NEW;
END $$;
CREATE TABLE orders.fan (id int PRIMARY KEY, v int);
INSERT INTO orders.fan VALUES (1, 0), (2, 0);
CREATE TRIGGER fan_out AFTER UPDATE ON orders.fan FOR EACH ROW EXECUTE FUNCTION orders.fan_out();
CREATE TABLE orders.mirror (id int PRIMARY KEY, v int);
INSERT INTO orders.mirror VALUES (1, 0), (2, 0), (3, 0);
-- a DO ALSO rule: PostgreSQL does not count its action's rows; the counter does
CREATE RULE mirror_also AS ON UPDATE TO orders.mirror DO ALSO UPDATE orders.t SET note = 'mirrored' WHERE id <= 4;
CREATE FUNCTION orders.two_updates() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE orders.t SET note = 'a' WHERE id <= 3;
    UPDATE orders.t SET note = 'b' WHERE id > 3 AND id <= 6;
END $$;
CREATE PROCEDURE orders.batches() LANGUAGE plpgsql AS $$
BEGIN
    FOR b IN 0..2 LOOP
        UPDATE orders.t SET note = 'batch' WHERE id > b * 3 AND id <= b * 3 + 3;
        COMMIT;
    END LOOP;
END $$;
GRANT SELECT, INSERT, UPDATE, DELETE ON orders.parent, orders.child, orders.grandchild, orders.fan, orders.mirror TO ns_app_rw_orders;
GRANT EXECUTE ON FUNCTION orders.two_updates() TO ns_app_rw_orders;
GRANT EXECUTE ON PROCEDURE orders.batches() TO ns_app_rw_orders;
RESET ROLE;
ALTER ROLE ns_app_rw_orders SET nspg_guard.max_rows_per_statement = 5;
\c - ns_app_rw_orders
\set SHOW_CONTEXT never
-- writable CTEs, each under the limit, together over it
WITH a AS (UPDATE orders.t SET note = 'a' WHERE id <= 3 RETURNING 1),
     b AS (DELETE FROM orders.t WHERE id > 7 RETURNING 1)
SELECT (SELECT count(*) FROM a) + (SELECT count(*) FROM b) AS changed;
-- the issue's form: a CTE under a SELECT
WITH d AS (DELETE FROM orders.t WHERE id > 0 RETURNING 1) SELECT count(*) FROM d;
-- nested CTE in a function's statement, and two statements of one function
SELECT orders.two_updates();
-- a trigger's fan-out: 1 row updated, 6 more by its trigger
UPDATE orders.fan SET v = 1 WHERE id = 1;
-- a rule's extra action: 2 rows here, 4 by the rule
UPDATE orders.mirror SET v = 1 WHERE id <= 2;
-- a three-level cascade: 1 parent, 3 children, 6 grandchildren
DELETE FROM orders.parent WHERE id = 1;
-- an upsert's conflict path counts; inserts do not
INSERT INTO orders.t SELECT id, 0, 'u' FROM orders.t WHERE id <= 6 ON CONFLICT (id) DO UPDATE SET v = 0;
INSERT INTO orders.t SELECT g, g, 'new' FROM generate_series(100, 120) g;   -- 21 inserts: fine
INSERT INTO orders.t SELECT g, 0, 'u' FROM generate_series(118, 125) g ON CONFLICT (id) DO UPDATE SET v = 0;   -- 3 updated, 5 inserted: fine
-- a procedure that commits its batches starts each transaction afresh
CALL orders.batches();
-- a refused statement caught in an exception block takes its rows back out of the count
DO $$
BEGIN
    BEGIN
        UPDATE orders.t SET note = 'x' WHERE id <= 6;   -- 6: refused, rolled back
    EXCEPTION WHEN insufficient_privilege THEN NULL;
    END;
    UPDATE orders.t SET note = 'y' WHERE id <= 4;       -- 4: within the limit
END $$;
-- BEGIN, SAVEPOINT, RELEASE, ROLLBACK TO, SET, SHOW, RESET, LISTEN, UNLISTEN and DEALLOCATE run
-- no user code and skip the depth count (csrc/nesting.c): after them, and after errors caught
-- inside a nested statement (one of them, or one counted), nested statements still count for the
-- client statement that runs them (3 + 3 rows: refused)
BEGIN;
SAVEPOINT s;
SET LOCAL work_mem = '8MB';
SHOW work_mem;
RELEASE SAVEPOINT s;
SAVEPOINT s;
ROLLBACK TO SAVEPOINT s;
LISTEN nspg_nesting;
UNLISTEN nspg_nesting;
PREPARE nesting_q AS SELECT 1;
DEALLOCATE nesting_q;
SELECT orders.two_updates();
ROLLBACK;
DO $$
BEGIN
    UPDATE orders.t SET note = 'c' WHERE id <= 3;
    BEGIN
        SET LOCAL work_mem = 'none';                     -- fails in a statement not counted
    EXCEPTION WHEN invalid_parameter_value THEN NULL;
    END;
    EXECUTE 'SHOW work_mem';
    RESET work_mem;
    BEGIN
        PERFORM 1 / (v - v) FROM orders.t WHERE id = 1;  -- fails in a counted one
    EXCEPTION WHEN division_by_zero THEN NULL;
    END;
    UPDATE orders.t SET note = 'c' WHERE id > 3 AND id <= 6;
END $$;
SELECT (SELECT count(*) FROM orders.parent) AS parents, (SELECT count(*) FROM orders.child) AS children,
       (SELECT count(*) FROM orders.grandchild) AS grandchildren,
       (SELECT count(*) FROM orders.t WHERE note IN ('a', 'b', 'touched', 'x')) AS changed_notes,
       (SELECT count(*) FROM orders.t WHERE note = 'batch') AS batched,
       (SELECT count(*) FROM orders.t WHERE note = 'y') AS after_caught;
\c - postgres
ALTER ROLE ns_app_rw_orders RESET nspg_guard.max_rows_per_statement;
-- warn mode: the same message as a WARNING, and the statement runs; a superuser is counted too
SET nspg_guard.max_rows_per_statement = 5;
SET nspg_guard.destructive_guard = warn;
BEGIN;
DELETE FROM orders.parent WHERE id = 2;
ROLLBACK;
SET nspg_guard.destructive_guard = enforce;
DELETE FROM orders.parent WHERE id = 2;
RESET nspg_guard.max_rows_per_statement;

-- The estimate limit: refused at ExecutorStart, before any row changes.
SET ROLE ns_migrate_orders;
CREATE TABLE orders.big (id int PRIMARY KEY, v int NOT NULL) WITH (autovacuum_enabled = false);
INSERT INTO orders.big SELECT g, g FROM generate_series(1, 100000) g;
ANALYZE orders.big;
CREATE TABLE orders.stale (id int PRIMARY KEY, v int NOT NULL) WITH (autovacuum_enabled = false);
INSERT INTO orders.stale SELECT g, g FROM generate_series(1, 10) g;
ANALYZE orders.stale;                                  -- statistics of 10 rows…
INSERT INTO orders.stale SELECT g, g FROM generate_series(11, 100000) g;   -- …then 100k
GRANT SELECT, UPDATE, DELETE ON orders.big, orders.stale TO ns_app_rw_orders;
RESET ROLE;
ALTER ROLE ns_app_rw_orders SET nspg_guard.max_rows_estimate = 1000;
\c - ns_app_rw_orders
\set VERBOSITY default
\set SHOW_CONTEXT never
SHOW nspg_guard.max_rows_estimate;
DELETE FROM orders.big WHERE id > 0;                 -- structurally bounded, estimated 100000
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS big_rows FROM orders.big;         -- refused before any row changed
-- stale statistics: the old row density is scaled to the table's current size (4430 rows
-- estimated for 100000)…
DELETE FROM orders.stale WHERE id > 0;
-- …and a range beyond the old histogram on a column without an index is estimated at a few
-- rows: it runs; only max_rows_per_statement, which counts, stops such a statement
BEGIN;
UPDATE orders.stale SET v = -v WHERE v > 10;
SELECT count(*) AS changed_stale FROM orders.stale WHERE v < 0;
ROLLBACK;
SET nspg_guard.max_rows_estimate = 0;                -- not the app's to lift
\c - postgres
ALTER ROLE ns_app_rw_orders RESET nspg_guard.max_rows_estimate;
SET nspg_guard.max_rows_estimate = 1000;
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

-- every role, every mode; small statements run
SELECT r AS role, pg_temp.attempt(r, 'DELETE FROM orders.big WHERE id > 0') AS enforce,
       pg_temp.attempt(r, 'UPDATE orders.big SET v = 0 WHERE v > 99500') AS about_500,
       pg_temp.attempt(r, 'DELETE FROM orders.big WHERE id <= 10') AS ten
FROM unnest(ARRAY['ns_app_rw_orders', 'ns_migrate_orders', 'ns_dba']) r;
SET nspg_guard.destructive_guard = warn;
SET client_min_messages = error;
SELECT pg_temp.attempt('ns_app_rw_orders', 'DELETE FROM orders.big WHERE id > 0') AS warn;
RESET client_min_messages;
SET nspg_guard.destructive_guard = off;
SELECT pg_temp.attempt('ns_app_rw_orders', 'DELETE FROM orders.big WHERE id > 0') AS off;
SET nspg_guard.destructive_guard = enforce;
EXPLAIN (COSTS OFF) DELETE FROM orders.big WHERE id > 0;   -- plans, runs nothing
-- the override lets it through
ALTER ROLE ns_migrate_orders SET nspg_guard.max_rows_estimate = 1000;
\c - ns_migrate_orders
\set SHOW_CONTEXT never
BEGIN;
SELECT nspg_guard.allow_destructive('purge the big table, ticket OPS-14');
DELETE FROM orders.big WHERE id > 99990;
DELETE FROM orders.big WHERE id > 0;
ROLLBACK;
\c - ns_app_rw_orders
\set SHOW_CONTEXT never
-- a generic plan keeps $1 where a custom plan has its value: the optional filter
-- `id = coalesce($1, id)` is `id = id` for NULL (red team, stop 30)
SET plan_cache_mode = force_generic_plan;
PREPARE opt_filter(int) AS DELETE FROM orders.t WHERE id = coalesce($1, id);
BEGIN;
EXECUTE opt_filter(NULL);
ROLLBACK;
BEGIN;
EXECUTE opt_filter(3);
ROLLBACK;
DEALLOCATE opt_filter;
RESET plan_cache_mode;
\c - postgres
DROP TABLE orders.big, orders.stale, orders.fan, orders.mirror, orders.grandchild, orders.child, orders.parent, orders.audit_copy;
DROP FUNCTION orders.fan_out(), orders.two_updates();
DROP PROCEDURE orders.batches();
DROP VIEW orders.v_plain, orders.v_barrier, orders.v_checked, orders.v_trigger, orders.v_rule;
DROP FUNCTION orders.v_trigger_row(), orders.atomic_taut(), orders.atomic_ctid(), orders.atomic_key();
DROP TABLE orders.t, orders.rls;
