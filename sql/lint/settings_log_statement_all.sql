-- NS-PG-007 §7.2: log enough without turning logs into a liability. log_statement = all writes
-- every statement, with the passwords of ALTER ROLE … PASSWORD and the secrets in data, to the
-- server log.
CREATE FUNCTION nspg_guard.lint_settings_log_statement_all()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'settings_log_statement_all', 'settings', 'warn', 'setting', s.name,
           'log_statement is all: every statement, with any password or secret in it, is written to the server log.',
           jsonb_build_object('setting', s.setting, 'source', s.source, 'applies', nspg_guard.lint_setting_applies(s.context),
                              'side_effects', 'Statements other than DDL no longer reach the server log: whatever read them there (a log-based audit) needs nspg_guard''s audit classes instead.'),
           'ALTER SYSTEM SET log_statement = ''ddl'';',
           'settings_log_statement_all:' || s.name
    FROM pg_catalog.pg_settings s
    WHERE s.name = 'log_statement' AND s.setting = 'all'
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('settings_log_statement_all', 'settings', NULL,
    'log_statement is all.');
