-- NS-PG-007 §5.1: TLS is required for production connections; with ssl off the server cannot
-- offer it at all.
CREATE FUNCTION nspg_guard.lint_settings_ssl_disabled()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'settings_ssl_disabled', 'settings', 'error', 'setting', s.name,
           'ssl is off: the server accepts no TLS connection, so every connection travels in cleartext.',
           jsonb_build_object('setting', s.setting, 'source', s.source, 'applies', nspg_guard.lint_setting_applies(s.context),
                              'side_effects', 'The server must find ssl_cert_file and ssl_key_file: a reload without them keeps TLS off, and a restart without them fails.'),
           'ALTER SYSTEM SET ssl = on;',
           'settings_ssl_disabled:' || s.name
    FROM pg_catalog.pg_settings s
    WHERE s.name = 'ssl' AND s.setting <> 'on'
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('settings_ssl_disabled', 'settings', NULL,
    'ssl is off.');
