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
