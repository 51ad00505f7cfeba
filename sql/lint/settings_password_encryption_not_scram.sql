-- NS-PG-007 §2.1: passwords are stored as SCRAM. password_encryption decides the hash of every
-- password set from now on (in this session: a role may SET it).
CREATE FUNCTION nspg_guard.lint_settings_password_encryption_not_scram()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'settings_password_encryption_not_scram', 'settings', 'error', 'setting', s.name,
           format('password_encryption is %L: passwords set now are stored as MD5 hashes, not SCRAM.', s.setting),
           jsonb_build_object('setting', s.setting, 'source', s.source, 'applies', nspg_guard.lint_setting_applies(s.context),
                              'side_effects', 'Passwords set from then on are SCRAM hashes: a client library that cannot do SCRAM fails to log in as a role once its password is set again. Existing MD5 hashes stay until each password is set again.'),
           'ALTER SYSTEM SET password_encryption = ''scram-sha-256'';',
           'settings_password_encryption_not_scram:' || s.name
    FROM pg_catalog.pg_settings s
    WHERE s.name = 'password_encryption' AND s.setting <> 'scram-sha-256'
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('settings_password_encryption_not_scram', 'settings', NULL,
    'password_encryption is not scram-sha-256.');
