-- NS-PG-007 §7.2: always log authentication, connection source and principal. One finding
-- per setting that is off.
CREATE FUNCTION nspg_guard.lint_settings_connection_logging_off()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT * FROM nspg_guard.lint_hidden_settings('settings_connection_logging_off', ARRAY['log_connections', 'log_disconnections'])
    UNION ALL
    SELECT 'settings_connection_logging_off', 'settings', 'warn', 'setting', s.name,
           format('%s is off: the server log does not show who %s, from where and when.', s.name,
                  CASE s.name WHEN 'log_connections' THEN 'connected' ELSE 'disconnected' END),
           jsonb_build_object('setting', s.setting, 'source', s.source, 'applies', nspg_guard.lint_setting_applies(s.context),
                              'side_effects', 'One more server log line per connection (or disconnection): the log grows with the connection rate.'),
           format('ALTER SYSTEM SET %s = on;', s.name),
           'settings_connection_logging_off:' || s.name
    FROM pg_catalog.pg_settings s
    WHERE s.name IN ('log_connections', 'log_disconnections') AND s.setting <> 'on'
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('settings_connection_logging_off', 'settings', NULL,
    'log_connections or log_disconnections is off.');
