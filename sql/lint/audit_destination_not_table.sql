-- The table is the destination that can be queried, is append-only and hash-chained (§7.3
-- "stored immutably where feasible"); a log-only trail is as good as the log's own retention.
CREATE FUNCTION nspg_guard.lint_audit_destination_not_table()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'audit_destination_not_table', 'audit', 'warn', 'setting', 'nspg_guard.audit_destination',
           'Audit events go to the server log only: no append-only, hash-chained table keeps them.',
           jsonb_build_object('setting', d.setting,
                              'side_effects', 'Events are then also rows of nspg_guard.audit_log in nspg_guard.audit_database: the table grows until audit_purge() removes rows older than the retention.'),
           'ALTER SYSTEM SET nspg_guard.audit_destination = ''table, log'';',
           'audit_destination_not_table:nspg_guard.audit_destination'
    FROM (SELECT pg_catalog.current_setting('nspg_guard.audit_destination', true) AS setting) d
    WHERE d.setting IS NOT NULL AND d.setting !~* '(^|,)\s*table\s*(,|$)'
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('audit_destination_not_table', 'audit', NULL,
    'Audit events do not go to the append-only table.');
