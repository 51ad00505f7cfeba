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
DROP INDEX IF EXISTS nspg_guard.audit_log_time;
CREATE FUNCTION nspg_guard.audit_id_at(t timestamptz) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN NOT pg_catalog.isfinite(t) THEN
                    CASE WHEN t OPERATOR(pg_catalog.>) 'epoch'::pg_catalog.timestamptz THEN '9223372036854775807'::pg_catalog.int8 ELSE '-9223372036854775808'::pg_catalog.int8 END
                ELSE pg_catalog.floor(pg_catalog.extract('epoch', t OPERATOR(pg_catalog.-) '2000-01-01 00:00:00+00'::pg_catalog.timestamptz)
                                      OPERATOR(pg_catalog.*) 1000000)::pg_catalog.int8 END
$$;
ALTER FUNCTION nspg_guard.audit_id_at(timestamptz) SET search_path = pg_catalog, pg_temp;
REVOKE EXECUTE ON FUNCTION nspg_guard.audit_id_at(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.audit_id_at(timestamptz) TO PUBLIC;
-- the break-glass statements of a request, read through the key from its decision on
CREATE OR REPLACE VIEW nspg_guard.breakglass_usages AS
SELECT r.id, r.requester, r.reason, r.incident, r.duration, r.requested_at, r.state,
       r.decided_by, r.decided_at, r.decision_note, r.self_approved, r.expires_at, r.ended_at, r.ended_by, r.end_reason,
       r.sessions_ended,
       CASE WHEN r.state IN ('active', 'expired', 'ended') THEN
           (SELECT count(*) FROM nspg_guard.audit_log a
             WHERE a.class = 'breakglass' AND a.outcome = 'statement' AND a."session_user" = r.requester
               AND a.id >= nspg_guard.audit_id_at(r.decided_at)
               AND a.event_time >= r.decided_at AND a.event_time <= coalesce(r.ended_at, now()))
       ELSE 0 END AS statements_run,
       CASE WHEN r.reviewed_at IS NOT NULL THEN 'reviewed'
            WHEN r.state IN ('expired', 'ended') THEN 'review due'
            WHEN r.state = 'active' THEN 'due when access ends'
            ELSE 'not needed' END AS review_status,
       r.reviewed_by, r.reviewed_at, r.review_notes
FROM nspg_guard.breakglass_requests r;
-- END trail-key
