-- nspg_guard 0.2.0 -> 0.3.0 (ALTER EXTENSION nspg_guard UPDATE). Runs as the extension script
-- does, so the tamper guard lets it change the trail's objects.
-- Every change to the extension's SQL (sql/*.sql, #[pg_extern] functions) goes here as well,
-- so that an upgraded database ends up as a fresh install: tests/shell/upgrade.sh compares the
-- two object by object. A function added here also needs what sql/finalize.sql gives every
-- function: SET search_path = pg_catalog, pg_temp, and a GRANT only if README documents it.
\echo Use "ALTER EXTENSION nspg_guard UPDATE" to load this file. \quit

-- BEGIN h18-cost
-- The trail's indexes (sql/audit.sql): the key and a BRIN index on event_time; the b-trees on
-- time, principal and object cost each audited statement more than they saved its readers.
DROP INDEX nspg_guard.audit_log_principal;
DROP INDEX nspg_guard.audit_log_object;
DROP INDEX nspg_guard.audit_log_time;
CREATE INDEX audit_log_time ON nspg_guard.audit_log USING brin (event_time) WITH (autosummarize = on);
-- END h18-cost
