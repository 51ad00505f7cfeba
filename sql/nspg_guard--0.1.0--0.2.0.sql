-- nspg_guard 0.1.0 -> 0.2.0 (ALTER EXTENSION nspg_guard UPDATE). Runs as the extension script
-- does, so the tamper guard lets it change the trail's objects.
-- Every change to the extension's SQL (sql/*.sql, #[pg_extern] functions) goes here as well,
-- so that an upgraded database ends up as a fresh install: tests/shell/upgrade.sh compares the
-- two object by object. A function added here also needs what sql/finalize.sql gives every
-- function: SET search_path = pg_catalog, pg_temp, and a GRANT only if README documents it.
\echo Use "ALTER EXTENSION nspg_guard UPDATE" to load this file. \quit

-- pg_dump keeps the trail and the registries (README "Backup and restore").
SELECT pg_catalog.pg_extension_config_dump('nspg_guard.audit_log', '');
SELECT pg_catalog.pg_extension_config_dump('nspg_guard.audit_chain', '');
SELECT pg_catalog.pg_extension_config_dump('nspg_guard.audited_relations', '');
SELECT pg_catalog.pg_extension_config_dump('nspg_guard.breakglass_requests', '');
SELECT pg_catalog.pg_extension_config_dump('nspg_guard.breakglass_requests_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('nspg_guard.role_lockdowns', '');
SELECT pg_catalog.pg_extension_config_dump('nspg_guard.role_lockdowns_id_seq', '');

-- audited_relations names its tables (regclass): a dump restored into another cluster, where
-- the oids differ, audits the same tables.
ALTER TABLE nspg_guard.audited_relations ALTER COLUMN relid TYPE pg_catalog.regclass;

-- Sealing moves into the library (README "Audit trail": a chain per database, hashed in Rust
-- with another row encoding, anchored outside the tables). The 0.1.0 chain is checked here with
-- 0.1.0's own verifier; a chain that does not verify stops the update, nothing changed. A
-- verified one is emptied, and the sealer seals every row anew, in id order, under the new
-- encoding (its first seal sets the anchor). The old heads stay in the server log
-- (NSPG_AUDIT_SEAL lines of 0.1.0) for a witness who kept them.
DO $reseal$
DECLARE
    v record;
BEGIN
    SELECT * INTO v FROM nspg_guard.audit_verify();
    IF NOT v.ok THEN
        RAISE EXCEPTION 'nspg_guard: the 0.1.0 audit chain does not verify at row %: %', v.first_broken_id, v.problem
            USING ERRCODE = 'data_corrupted',
                  HINT = 'Find out what changed the trail before updating (SELECT * FROM nspg_guard.audit_verify()); the update changes nothing until the chain verifies.';
    END IF;
    DELETE FROM nspg_guard.audit_chain;
END
$reseal$;
ALTER TABLE nspg_guard.audit_chain ADD COLUMN sealed_at timestamptz NOT NULL;
DROP FUNCTION nspg_guard.audit_verify();
DROP FUNCTION nspg_guard._seal_pending(boolean, integer);
DROP FUNCTION nspg_guard._row_content(nspg_guard.audit_log);
DROP FUNCTION nspg_guard._purge_older_than(interval);
-- restart detection reads pg_control and the state file, not rows (README "Audit trail")
DROP FUNCTION nspg_guard._server_start_details();
-- audit_stats() gains the queue's bytes, age and size bound
DROP FUNCTION nspg_guard.audit_stats();

CREATE FUNCTION nspg_guard._purge_older_than(retention interval, anchored bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    last_seq bigint;
    last_hash bytea;
    purged bigint;
BEGIN
    SELECT max(c.seal_seq) INTO last_seq
      FROM nspg_guard.audit_chain c JOIN nspg_guard.audit_log l USING (id)
     WHERE l.event_time < now() - retention
       AND c.seal_seq < (SELECT max(seal_seq) FROM nspg_guard.audit_chain)
       AND c.seal_seq < anchored;
    IF last_seq IS NULL THEN
        RETURN jsonb_build_object('purged', 0);
    END IF;
    SELECT row_hash INTO last_hash FROM nspg_guard.audit_chain WHERE seal_seq = last_seq;
    DELETE FROM nspg_guard.audit_log l USING nspg_guard.audit_chain c WHERE c.id = l.id AND c.seal_seq <= last_seq;
    GET DIAGNOSTICS purged = ROW_COUNT;
    DELETE FROM nspg_guard.audit_chain WHERE seal_seq <= last_seq;
    RETURN jsonb_build_object('purged', purged, 'last_purged_seal_seq', last_seq,
                              'last_purged_hash', encode(last_hash, 'hex'));
END $$;

CREATE FUNCTION nspg_guard.audit_verify() RETURNS TABLE (
	ok bool, rows_checked bigint, first_broken_id bigint, problem text, rows_unsealed bigint,
	oldest_unsealed timestamp with time zone, anchored bool)
STRICT VOLATILE LANGUAGE c AS 'MODULE_PATHNAME', 'audit_verify_wrapper';
CREATE FUNCTION nspg_guard.audit_verify(seal_seq bigint, row_hash bytea) RETURNS TABLE (ok bool, problem text)
STRICT VOLATILE LANGUAGE c AS 'MODULE_PATHNAME', 'audit_verify_head_wrapper';
CREATE FUNCTION nspg_guard.audit_head() RETURNS TABLE (seal_seq bigint, row_hash bytea, sealed_at timestamp with time zone)
STRICT VOLATILE LANGUAGE c AS 'MODULE_PATHNAME', 'audit_head_wrapper';
CREATE FUNCTION nspg_guard.audit_anchor_adopt(reason text) RETURNS bigint
VOLATILE LANGUAGE c AS 'MODULE_PATHNAME', 'audit_anchor_adopt_wrapper';
CREATE FUNCTION nspg_guard.audit_stats() RETURNS TABLE (
	queued bigint, written bigint, fallen_back bigint, pending bigint, pending_bytes bigint,
	oldest_pending_age interval, over_max_size bigint)
STRICT VOLATILE LANGUAGE c AS 'MODULE_PATHNAME', 'audit_stats_wrapper';
CREATE FUNCTION nspg_guard.unguarded_runs() RETURNS jsonb
STRICT VOLATILE LANGUAGE c AS 'MODULE_PATHNAME', 'unguarded_runs_wrapper';
CREATE FUNCTION nspg_guard.acknowledge_unguarded_runs(reason text) RETURNS int
VOLATILE LANGUAGE c AS 'MODULE_PATHNAME', 'acknowledge_unguarded_runs_wrapper';

-- lint rules: the chain's rule looks at breaks only (the anchor and unsealed rows have their own)
CREATE OR REPLACE FUNCTION nspg_guard.lint_audit_chain_broken()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'audit_chain_broken', 'audit', 'error', 'table', 'nspg_guard.audit_log',
           format('The audit trail''s hash chain breaks at row %s: %s.', v.first_broken_id, v.problem),
           jsonb_build_object('first_broken_id', v.first_broken_id, 'rows_checked', v.rows_checked, 'problem', v.problem),
           NULL,
           'audit_chain_broken:nspg_guard.audit_log'
    FROM nspg_guard.audit_verify() v
    WHERE v.first_broken_id IS NOT NULL
$$;
CREATE OR REPLACE FUNCTION nspg_guard.lint_audit_events_fell_back()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'audit_events_fell_back', 'audit', 'warn', 'setting', 'nspg_guard.audit_database',
           format('%s audit events since the server started reached only the server log, not the table.', s.fallen_back),
           jsonb_build_object('queued', s.queued, 'written', s.written, 'fallen_back', s.fallen_back,
                              'over_max_size', s.over_max_size,
                              'audit_database', pg_catalog.current_setting('nspg_guard.audit_database', true)),
           NULL,
           'audit_events_fell_back:nspg_guard.audit_database'
    FROM nspg_guard.audit_stats() s
    WHERE s.fallen_back > 0
$$;

-- §7.3: the chain must continue from its anchor, the last head the sealer kept outside the
-- tables ($PGDATA/nspg_guard/anchor.<database oid>). A chain truncated and rebuilt by hand
-- verifies against itself but not against its anchor; it is not sealed onto until a superuser
-- adopts it after a repair (audit_anchor_adopt(reason)).
CREATE FUNCTION nspg_guard.lint_audit_anchor_broken()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'audit_anchor_broken', 'audit', 'error', 'table', 'nspg_guard.audit_chain',
           format('The audit trail''s chain does not continue from its anchor: %s.', v.problem),
           jsonb_build_object('problem', v.problem, 'rows_checked', v.rows_checked, 'rows_unsealed', v.rows_unsealed),
           NULL,
           'audit_anchor_broken:nspg_guard.audit_chain'
    FROM nspg_guard.audit_verify() v
    WHERE NOT v.anchored
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('audit_anchor_broken', 'audit', 'nspg_guard.audit_log',
    'The audit chain does not continue from the anchor kept outside the tables.');

-- §7.3: committed audit rows are sealed within seconds; one unsealed for longer than
-- nspg_guard.audit_seal_max_delay is not yet tamper-evident (the sealer cannot keep up, cannot
-- run, or refuses a broken chain).
CREATE FUNCTION nspg_guard.lint_audit_unsealed_too_long()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'audit_unsealed_too_long', 'audit', 'warn', 'table', 'nspg_guard.audit_log',
           format('%s audit rows are not sealed, the oldest since %s (nspg_guard.audit_seal_max_delay is %s).',
                  v.rows_unsealed, v.oldest_unsealed, pg_catalog.current_setting('nspg_guard.audit_seal_max_delay', true)),
           jsonb_build_object('rows_unsealed', v.rows_unsealed, 'oldest_unsealed', v.oldest_unsealed,
                              'audit_seal_max_delay', pg_catalog.current_setting('nspg_guard.audit_seal_max_delay', true)),
           NULL,
           'audit_unsealed_too_long:nspg_guard.audit_log'
    FROM nspg_guard.audit_verify() v
    WHERE v.oldest_unsealed < pg_catalog.now()
          - coalesce(pg_catalog.current_setting('nspg_guard.audit_seal_max_delay', true), '60s')::pg_catalog.interval
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('audit_unsealed_too_long', 'audit', 'nspg_guard.audit_log',
    'Committed audit rows stay unsealed longer than nspg_guard.audit_seal_max_delay.');

-- Events wait in the audit queue for the background writer longer than a minute: the writer
-- is stopped, stuck or cannot write (a lock on the trail, the table changed). Nothing is lost
-- while the queue stays under nspg_guard.audit_queue_max_size, but the table is behind.
CREATE FUNCTION nspg_guard.lint_audit_queue_waiting()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'audit_queue_waiting', 'audit', 'warn', 'setting', 'nspg_guard.audit_queue_max_size',
           format('Audit events have waited %s for the background writer (%s bytes queued).',
                  pg_catalog.date_trunc('second', s.oldest_pending_age), s.pending_bytes),
           jsonb_build_object('pending', s.pending, 'pending_bytes', s.pending_bytes,
                              'oldest_pending_age', s.oldest_pending_age::pg_catalog.text,
                              'audit_queue_max_size', pg_catalog.current_setting('nspg_guard.audit_queue_max_size', true)),
           NULL,
           'audit_queue_waiting:nspg_guard.audit_queue_max_size'
    FROM nspg_guard.audit_stats() s
    WHERE s.oldest_pending_age > pg_catalog.make_interval(secs => 60)
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('audit_queue_waiting', 'audit', NULL,
    'Audit events wait for the background writer longer than a minute.');

-- §7.1, §11: a start after the server ran without nspg_guard (judged from pg_control and
-- nspg_guard's state file, never from rows) is an error until an admin acknowledges it.
CREATE FUNCTION nspg_guard.lint_audit_ran_without_nspg_guard()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'audit_ran_without_nspg_guard', 'audit', 'error', 'server', 'nspg_guard.audit_log',
           format('The server ran without nspg_guard before the start at %s: %s.', r->>'noticed_at', r->'evidence'->>'why'),
           r->'evidence',
           'SELECT nspg_guard.acknowledge_unguarded_runs(''what was found, e.g. a change ticket and audit_verify() ok'')',
           'audit_ran_without_nspg_guard:' || (r->>'id')
    FROM jsonb_array_elements(nspg_guard.unguarded_runs()) r
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('audit_ran_without_nspg_guard', 'audit', 'nspg_guard.audit_log',
    'The server ran without nspg_guard since its last recorded stop.');

-- what finalize.sql gives every function: a fixed search_path, nothing for PUBLIC but what README
-- documents
DO $fixed_search_path$
DECLARE
    routine regprocedure;
BEGIN
    FOR routine IN SELECT p.oid::pg_catalog.regprocedure FROM pg_catalog.pg_proc p
                    WHERE p.pronamespace OPERATOR(pg_catalog.=) 'nspg_guard'::pg_catalog.regnamespace LOOP
        EXECUTE pg_catalog.format('ALTER ROUTINE %s SET search_path = pg_catalog, pg_temp', routine);
    END LOOP;
END
$fixed_search_path$;
-- new functions: only what README documents for PUBLIC (sql/finalize.sql, section 2)
REVOKE EXECUTE ON FUNCTION nspg_guard._purge_older_than(interval, bigint), nspg_guard.audit_verify(),
    nspg_guard.audit_verify(bigint, bytea), nspg_guard.audit_head(), nspg_guard.audit_anchor_adopt(text),
    nspg_guard.audit_stats(), nspg_guard.unguarded_runs(), nspg_guard.acknowledge_unguarded_runs(text),
    nspg_guard.lint_audit_anchor_broken(), nspg_guard.lint_audit_unsealed_too_long(),
    nspg_guard.lint_audit_queue_waiting(), nspg_guard.lint_audit_ran_without_nspg_guard()
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.audit_stats() TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.unguarded_runs() TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.acknowledge_unguarded_runs(text) TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.lint_audit_anchor_broken(), nspg_guard.lint_audit_unsealed_too_long(),
    nspg_guard.lint_audit_queue_waiting(), nspg_guard.lint_audit_ran_without_nspg_guard() TO PUBLIC;
