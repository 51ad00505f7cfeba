-- §7.1, §11: a start after the server ran without nspg_guard (judged from pg_control and
-- nspg_guard's state file, never from rows) is an error until an admin acknowledges it.
CREATE FUNCTION nspg_guard.lint_audit_ran_without_nspg_guard()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'audit_ran_without_nspg_guard', 'audit', 'error', 'server', 'nspg_guard.audit_log',
           format('The server ran without nspg_guard before the start at %s: %s.', r->>'noticed_at', r->'evidence'->>'why'),
           coalesce(r->'evidence', '{}') || jsonb_build_object('side_effects',
               'Acknowledges every unguarded run listed, not only this one: read each finding before running it.'),
           'SELECT nspg_guard.acknowledge_unguarded_runs(''what was found, e.g. a change ticket and audit_verify() ok'')',
           'audit_ran_without_nspg_guard:' || (r->>'id')
    FROM jsonb_array_elements(nspg_guard.unguarded_runs()) r
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('audit_ran_without_nspg_guard', 'audit', 'nspg_guard.audit_log',
    'The server ran without nspg_guard since its last recorded stop.');
