-- Events that could not reach the table since the server started (the audit queue over
-- nspg_guard.audit_queue_max_size, or no audit table in nspg_guard.audit_database) are only in
-- the server log.
CREATE FUNCTION nspg_guard.lint_audit_events_fell_back()
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

INSERT INTO nspg_guard.lint_rules VALUES ('audit_events_fell_back', 'audit', NULL,
    'Some audit events reached only the server log.');
