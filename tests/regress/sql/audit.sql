-- Audit trail (NS-PG-007 §7): who did what, when, from where — committed actions in the acting
-- transaction, refusals and overrides through the background writer (into the
-- nspg_guard.audit_database, here "postgres"), secrets redacted. The trail's append-only guard
-- is in audit_tamper.
\set VERBOSITY default
\set SHOW_CONTEXT never
-- the rows this suite adds, by id
SELECT coalesce(max(id), 0) AS start_id FROM nspg_guard.audit_log \gset
\c postgres
SELECT coalesce(max(id), 0) AS start_async FROM nspg_guard.audit_log \gset
\c nspg_regress

-- Committed actions: one row each, with who (session and current user) did what.
\c - ns_migrate_orders
\set SHOW_CONTEXT never
CREATE TABLE orders.ledger (id int PRIMARY KEY, amount numeric NOT NULL);
GRANT SELECT ON orders.ledger TO ns_app_ro_orders;
BEGIN;
CREATE TABLE orders.never_committed (x int);     -- rolled back: leaves no row
ROLLBACK;
\c - postgres
\set SHOW_CONTEXT never
SET ROLE ns_migrate_orders;
ALTER TABLE orders.ledger ADD COLUMN note text;  -- session user postgres, current user the migration role
RESET ROLE;
-- secrets never stored: passwords at top level and nested in a DO block's dynamic SQL
CREATE ROLE audit_probe LOGIN PASSWORD 'hunter2-secret-PlantedZq4';
ALTER ROLE audit_probe PASSWORD 'it''s-secret-PlantedZq4';
DO $$ BEGIN EXECUTE 'ALTER ROLE audit_probe ENCRYPTED PASSWORD ''nested-secret-PlantedZq4'''; END $$;
DROP ROLE audit_probe;
-- settings that matter to the trail (config class)
SET log_statement = 'ddl';
RESET log_statement;
SET work_mem = '8MB';                              -- not audit-relevant: no row
-- audit settings cannot be switched off by a session, superuser or not
SET nspg_guard.audit = 'none';
\echo :LAST_ERROR_SQLSTATE
SET nspg_guard.audit_destination = 'log';

SELECT class, outcome, command_tag, object_type, object_identity, "session_user", "current_user", statement
FROM nspg_guard.audit_log WHERE id > :start_id ORDER BY id;
-- exactly one row per committed action, none for the rolled-back one
SELECT statement, count(*) FROM nspg_guard.audit_log
WHERE id > :start_id GROUP BY 1 HAVING count(*) <> 1;
SELECT count(*) AS never_committed_rows FROM nspg_guard.audit_log WHERE object_identity LIKE '%never_committed%';
SELECT count(*) AS secrets_stored FROM nspg_guard.audit_log WHERE statement ~* 'secret';
-- where the rows came from
SELECT DISTINCT database, "session_user", session_id ~ '^[0-9a-f]+\.[0-9a-f]+$' AS session_id_like_log_line_prefix,
       client_addr IS NULL AS local_socket, xid IS NOT NULL AS has_xid, event_time <= now() AS in_the_past
FROM nspg_guard.audit_log WHERE id > :start_id ORDER BY 2;
SELECT max(id) AS mark FROM nspg_guard.audit_log \gset

-- Refusals leave a row although their transaction aborts (written by the background writer).
\c - ns_app_rw_orders
\set SHOW_CONTEXT never
BEGIN;
ALTER TABLE orders.ledger ADD COLUMN hack int;
ROLLBACK;
DELETE FROM orders.orders;
-- the app role may not purge or seal the trail
SELECT nspg_guard.audit_purge();
\echo :LAST_ERROR_SQLSTATE

-- The destructive guard's override and what ran under it.
\c - ns_migrate_orders
\set SHOW_CONTEXT never
INSERT INTO orders.ledger SELECT g, g FROM generate_series(1, 5) g;
BEGIN;
SELECT nspg_guard.allow_destructive('reset the ledger before reload, ticket OPS-9');
DELETE FROM orders.ledger;
COMMIT;
TRUNCATE orders.ledger;
\c - postgres
\set SHOW_CONTEXT never
SELECT nspg_guard.audit_flush();
SELECT class, outcome, command_tag, object_identity, rows, reason
FROM nspg_guard.audit_log WHERE id > :mark ORDER BY id;
\c postgres
SELECT class, outcome, command_tag, object_identity, "current_user", sqlstate, reason, statement
FROM nspg_guard.audit_log WHERE id > :start_async AND class IN ('denied', 'override') ORDER BY id;
\c nspg_regress
\set SHOW_CONTEXT never

-- The hash chain: everything sealed verifies.
SELECT nspg_guard.audit_seal() >= 0 AS sealed;
SELECT count(*) AS unsealed FROM nspg_guard.audit_log l WHERE NOT EXISTS (SELECT FROM nspg_guard.audit_chain c WHERE c.id = l.id);
SELECT ok, rows_checked > 0 AS checked_rows, first_broken_id, problem FROM nspg_guard.audit_verify();

-- Long statements are cut to nspg_guard.audit_statement_max_bytes.
SET nspg_guard.audit_statement_max_bytes = 64;
COMMENT ON TABLE orders.ledger IS 'a comment long enough to be cut by the sixty-four byte limit of this test';
RESET nspg_guard.audit_statement_max_bytes;
SELECT statement, octet_length(statement) <= 64 + 3 AS within_limit FROM nspg_guard.audit_log
WHERE command_tag = 'COMMENT' ORDER BY id DESC LIMIT 1;

-- Per-relation access auditing: writes of orders.ledger, with the rows touched.
SELECT nspg_guard.audit_relation('orders.ledger', 'sometimes');
\echo :LAST_ERROR_SQLSTATE
SELECT nspg_guard.audit_relation(NULL, 'write');
\echo :LAST_ERROR_SQLSTATE
SELECT nspg_guard.audit_relation('orders.ledger', 'write');
ALTER SYSTEM SET nspg_guard.audit = 'all';
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SELECT max(id) AS mark FROM nspg_guard.audit_log \gset
\c - ns_migrate_orders
\set SHOW_CONTEXT never
SHOW nspg_guard.audit;
INSERT INTO orders.ledger SELECT g, g FROM generate_series(1, 3) g;
UPDATE orders.ledger SET amount = 0 WHERE id < 3;
SELECT count(*) FROM orders.ledger;               -- a read: not audited in write mode
BEGIN;
UPDATE orders.ledger SET amount = 1 WHERE id = 3;
ROLLBACK;                                         -- rolled back: no row
\c - postgres
\set SHOW_CONTEXT never
SELECT class, command_tag, object_identity, rows, statement FROM nspg_guard.audit_log WHERE id > :mark ORDER BY id;
SELECT nspg_guard.audit_relation('orders.ledger', 'none');
ALTER SYSTEM RESET nspg_guard.audit;
SELECT pg_reload_conf();
DROP TABLE orders.ledger;
SELECT class, command_tag, object_identity FROM nspg_guard.audit_log WHERE id > :mark AND class <> 'access' ORDER BY id;

-- An access event names the relation as it is called now: after its table or its schema is
-- renamed (the audited list keeps the names, and reloads them on either change).
CREATE SCHEMA renamed_a;
CREATE TABLE renamed_a.t (v int);
ALTER SYSTEM SET nspg_guard.audit = 'all';
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SELECT nspg_guard.audit_relation('renamed_a.t', 'write');
SELECT max(id) AS mark FROM nspg_guard.audit_log \gset
INSERT INTO renamed_a.t VALUES (1);
ALTER SCHEMA renamed_a RENAME TO renamed_b;
INSERT INTO renamed_b.t VALUES (2), (3);
ALTER TABLE renamed_b.t RENAME TO u;
INSERT INTO renamed_b.u VALUES (4), (5), (6);
SELECT command_tag, object_identity, rows FROM nspg_guard.audit_log WHERE id > :mark AND class = 'access' ORDER BY id;
SELECT nspg_guard.audit_relation('renamed_b.u', 'none');
ALTER SYSTEM RESET nspg_guard.audit;
SELECT pg_reload_conf();
DROP TABLE renamed_b.u;
DROP SCHEMA renamed_b;

-- A time range is read through the key: ids are never below audit_id_at(event_time), and the
-- documented query scans the key's index.
SELECT nspg_guard.audit_id_at('2000-01-01 00:00:00+00') AS at_epoch,
       nspg_guard.audit_id_at('2000-01-01 00:00:01.000001+00') AS one_second_later,
       nspg_guard.audit_id_at('1999-12-31 23:59:59+00') AS before,
       nspg_guard.audit_id_at('-infinity') AS since_ever, nspg_guard.audit_id_at('infinity') AS never;
SELECT count(*) > 0 AS rows, count(*) FILTER (WHERE id < nspg_guard.audit_id_at(event_time)) AS below_their_time
FROM nspg_guard.audit_log;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT * FROM nspg_guard.audit_log
 WHERE id >= nspg_guard.audit_id_at(now() - interval '1 day') AND event_time >= now() - interval '1 day';
RESET enable_seqscan;
