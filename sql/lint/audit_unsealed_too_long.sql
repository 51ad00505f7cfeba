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
