-- NS-PG-007 §5.1: strong TLS configuration. TLS 1.0 and 1.1 are deprecated (RFC 8996).
-- ssl_min_protocol_version is hidden from roles without pg_read_all_settings.
CREATE FUNCTION nspg_guard.lint_settings_ssl_min_protocol_weak()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT * FROM nspg_guard.lint_hidden_settings('settings_ssl_min_protocol_weak', ARRAY['ssl_min_protocol_version'])
    UNION ALL
    SELECT 'settings_ssl_min_protocol_weak', 'settings', 'warn', 'setting', s.name,
           format('ssl_min_protocol_version is %L: clients may negotiate TLS versions older than 1.2.', s.setting),
           jsonb_build_object('setting', s.setting, 'source', s.source, 'applies', nspg_guard.lint_setting_applies(s.context),
                              'side_effects', 'Clients that speak only TLS 1.0 or 1.1 can no longer connect.'),
           'ALTER SYSTEM SET ssl_min_protocol_version = ''TLSv1.2'';',
           'settings_ssl_min_protocol_weak:' || s.name
    FROM pg_catalog.pg_settings s
    WHERE s.name = 'ssl_min_protocol_version' AND s.setting IN ('', 'TLSv1', 'TLSv1.1')
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('settings_ssl_min_protocol_weak', 'settings', NULL,
    'ssl_min_protocol_version allows TLS older than 1.2.');
