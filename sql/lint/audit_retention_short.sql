-- §7.3: Tier 0/1 logs are retained longer; nspg_guard's baseline is a year (its default).
CREATE FUNCTION nspg_guard.lint_audit_retention_short()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'audit_retention_short', 'audit', 'warn', 'setting', 'nspg_guard.audit_retention',
           format('Audit rows may be purged after %s, less than the one year NS-PG-007 §7.3 baseline.', r.setting),
           jsonb_build_object('setting', r.setting, 'seconds', r.seconds,
                              'side_effects', 'audit_purge() keeps a year of rows: the audit table holds more rows, and needs the disk for them.'),
           'ALTER SYSTEM SET nspg_guard.audit_retention = ''365d'';',
           'audit_retention_short:nspg_guard.audit_retention'
    FROM (SELECT pg_catalog.current_setting(s.name) AS setting, s.setting::bigint AS seconds
          FROM pg_catalog.pg_settings s WHERE s.name = 'nspg_guard.audit_retention') r
    WHERE r.seconds < 365 * 24 * 3600
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('audit_retention_short', 'audit', NULL,
    'Audit rows may be purged before a year has passed.');
