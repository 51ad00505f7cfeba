-- NS-PG-007 §7.1: answer who did what, from where. Every log line needs the user (%u), the
-- database (%d) and the client host (%h, or %r with the port). The remediation appends what
-- is missing.
CREATE FUNCTION nspg_guard.lint_settings_log_line_prefix_incomplete()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'settings_log_line_prefix_incomplete', 'settings', 'warn', 'setting', s.name,
           format('log_line_prefix %L does not name the %s of each log line.', s.setting,
                  array_to_string(m.missing, ', ')),
           jsonb_build_object('setting', s.setting, 'missing', to_jsonb(m.missing), 'applies', nspg_guard.lint_setting_applies(s.context),
                              'side_effects', 'Every server log line changes shape: log shippers and parsers that split on the old prefix must be adjusted.'),
           format('ALTER SYSTEM SET log_line_prefix = %L;', s.setting || m.suffix),
           'settings_log_line_prefix_incomplete:' || s.name
    FROM pg_catalog.pg_settings s
    CROSS JOIN LATERAL (
        SELECT array_agg(e.what ORDER BY e.ord) AS missing, string_agg(e.add, '' ORDER BY e.ord) AS suffix
        FROM (VALUES (1, 'user', '%u', 'user=%u '), (2, 'database', '%d', 'db=%d '), (3, 'client host', '%h', 'host=%h ')) e(ord, what, escape, add)
        WHERE strpos(s.setting, e.escape) = 0 AND NOT (e.escape = '%h' AND strpos(s.setting, '%r') > 0)
    ) m
    WHERE s.name = 'log_line_prefix' AND m.missing IS NOT NULL
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('settings_log_line_prefix_incomplete', 'settings', NULL,
    'log_line_prefix lacks the user, database or client host.');
