-- The audit trail guards itself (NS-PG-007 §7.3): refusals of every SQL path that would change
-- or remove its rows, audited through the background writer (into the
-- nspg_guard.audit_database, here "postgres").
\set VERBOSITY default
\set SHOW_CONTEXT never
-- the refusals this suite adds, by id
\c postgres
SELECT coalesce(max(id), 0) AS start_async FROM nspg_guard.audit_log \gset
\c nspg_regress
\set SHOW_CONTEXT never

-- Append-only: every SQL path that would change or remove rows is refused, superuser or not,
-- and each refusal is itself audited.
SELECT max(id) AS mark FROM nspg_guard.audit_log \gset
UPDATE nspg_guard.audit_log SET reason = 'edited' WHERE id = :mark;
DELETE FROM nspg_guard.audit_log WHERE id = :mark;
INSERT INTO nspg_guard.audit_log (event_time, class, outcome, backend_pid) VALUES (now(), 'fake', 'fake', 0);
COPY nspg_guard.audit_log (event_time, class, outcome, backend_pid) FROM '/dev/null';
TRUNCATE nspg_guard.audit_log;
DELETE FROM nspg_guard.audit_chain;                 -- the hash chain is guarded alike
TRUNCATE nspg_guard.audit_chain;
ALTER TABLE nspg_guard.audit_log DROP COLUMN reason;
ALTER TABLE nspg_guard.audit_log RENAME TO old_log;
DROP TABLE nspg_guard.audit_log;
DROP SCHEMA nspg_guard CASCADE;
DROP EXTENSION nspg_guard;
-- Nor can its objects be changed around the guard (issue 14; more forms in
-- tests/shell/trail_tamper.sh): a rule that would swallow rows, moving the table out of its
-- schema, renaming it in the catalog directly.
CREATE RULE swallow AS ON INSERT TO nspg_guard.audit_log DO INSTEAD NOTHING;
ALTER TABLE nspg_guard.audit_log SET SCHEMA public;
UPDATE pg_class SET relname = 'old_log' WHERE oid = 'nspg_guard.audit_log'::regclass;
\echo :LAST_ERROR_SQLSTATE
SELECT nspg_guard.audit_flush();
\c postgres
SELECT command_tag, object_identity, sqlstate FROM nspg_guard.audit_log
WHERE id > :start_async AND class = 'denied' AND object_identity ~ 'nspg_guard' ORDER BY id;
