-- nspg_guard 0.3.0 -> 0.4.0 (ALTER EXTENSION nspg_guard UPDATE). Runs as the extension script
-- does, so the tamper guard lets it change the trail's objects.
-- Every change to the extension's SQL (sql/*.sql, #[pg_extern] functions) goes here as well,
-- so that an upgraded database ends up as a fresh install: tests/shell/upgrade.sh compares the
-- two object by object. A function added here also needs what sql/finalize.sql gives every
-- function: SET search_path = pg_catalog, pg_temp, and a GRANT only if README documents it.
\echo Use "ALTER EXTENSION nspg_guard UPDATE" to load this file. \quit

-- BEGIN trail-key
-- The trail's only index is its key (sql/audit.sql): the BRIN index on event_time cost more per
-- row than a b-tree; a time range is read through the key with audit_id_at().
DROP INDEX nspg_guard.audit_log_time;
CREATE FUNCTION nspg_guard.audit_id_at(t timestamptz) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT pg_catalog.floor(pg_catalog.extract('epoch', t OPERATOR(pg_catalog.-) '2000-01-01 00:00:00+00'::pg_catalog.timestamptz)
                            OPERATOR(pg_catalog.*) 1000000)::pg_catalog.int8
$$;
ALTER FUNCTION nspg_guard.audit_id_at(timestamptz) SET search_path = pg_catalog, pg_temp;
REVOKE EXECUTE ON FUNCTION nspg_guard.audit_id_at(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.audit_id_at(timestamptz) TO PUBLIC;
-- END trail-key
