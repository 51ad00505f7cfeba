-- Posture lint, settings category, in splinter's shape: no finding, the problem, exactly the
-- expected finding, the fix, no finding. Settings a session may SET are changed with SET; the
-- others with ALTER SYSTEM and a reload (and a new session for the ones read at connection
-- start), and reset at the end. The audit category is in lint_audit.
\x on
\i include/findings_settings_audit.sql
-- the test cluster as started: no TLS, no connection logging, no client host in log lines
SELECT rule, severity, object_identity FROM nspg_guard.lint(ARRAY['settings']);

-- settings_password_encryption_not_scram
SELECT * FROM pg_temp.findings('settings_password_encryption_not_scram');
SET password_encryption = 'md5';
SELECT * FROM pg_temp.findings('settings_password_encryption_not_scram');
RESET password_encryption;
SELECT * FROM pg_temp.findings('settings_password_encryption_not_scram');

-- settings_log_statement_all
SELECT * FROM pg_temp.findings('settings_log_statement_all');
SET log_statement = 'all';
SELECT * FROM pg_temp.findings('settings_log_statement_all');
RESET log_statement;
SELECT * FROM pg_temp.findings('settings_log_statement_all');

-- settings_guard_not_enforced: every nspg_guard.*_guard setting, and the preload
SELECT * FROM pg_temp.findings('settings_guard_not_enforced');
SET nspg_guard.ddl_guard = 'warn';
SET nspg_guard.destructive_guard = 'off';
SELECT * FROM pg_temp.findings('settings_guard_not_enforced');
RESET nspg_guard.ddl_guard;
RESET nspg_guard.destructive_guard;
SELECT * FROM pg_temp.findings('settings_guard_not_enforced');

-- settings_ssl_min_protocol_weak (reloaded settings reach this session before its next
-- statement after the sleep)
SELECT * FROM pg_temp.findings('settings_ssl_min_protocol_weak');
ALTER SYSTEM SET ssl_min_protocol_version = 'TLSv1.1';
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SELECT * FROM pg_temp.findings('settings_ssl_min_protocol_weak');
SELECT remediation FROM pg_temp.findings('settings_ssl_min_protocol_weak') \gexec
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SELECT * FROM pg_temp.findings('settings_ssl_min_protocol_weak');
ALTER SYSTEM RESET ssl_min_protocol_version;

-- settings_ssl_disabled: the remediation needs a certificate; a throwaway one will do
SELECT * FROM pg_temp.findings('settings_ssl_disabled');
SELECT setting AS data_directory FROM pg_settings WHERE name = 'data_directory' \gset
\setenv LINT_PGDATA :data_directory
\! openssl req -new -x509 -days 2 -nodes -subj /CN=localhost -keyout "$LINT_PGDATA/server.key" -out "$LINT_PGDATA/server.crt" >/dev/null 2>&1 && chmod 600 "$LINT_PGDATA/server.key"
SELECT remediation FROM pg_temp.findings('settings_ssl_disabled') \gexec
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SELECT * FROM pg_temp.findings('settings_ssl_disabled');
ALTER SYSTEM RESET ssl;

-- settings_connection_logging_off and settings_log_line_prefix_incomplete: log_connections
-- and log_disconnections take effect in new sessions, hence \c
SELECT * FROM pg_temp.findings('settings_connection_logging_off');
SELECT * FROM pg_temp.findings('settings_log_line_prefix_incomplete');
SELECT remediation FROM pg_temp.findings('settings_connection_logging_off') \gexec
SELECT remediation FROM pg_temp.findings('settings_log_line_prefix_incomplete') \gexec
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
\c
\x on
SELECT rule, severity, object_identity FROM nspg_guard.lint(ARRAY['settings'])
WHERE rule IN ('settings_connection_logging_off', 'settings_log_line_prefix_incomplete');
SELECT name, setting FROM pg_settings WHERE name IN ('log_connections', 'log_disconnections', 'log_line_prefix');
-- %r (host and port) names the client host too
ALTER SYSTEM SET log_line_prefix = '%m [%p] %u@%d %r ';
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SELECT rule FROM nspg_guard.lint(ARRAY['settings']) WHERE rule = 'settings_log_line_prefix_incomplete';
ALTER SYSTEM SET log_line_prefix = '%m ';
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SELECT message, details, remediation FROM nspg_guard.lint(ARRAY['settings']) WHERE rule = 'settings_log_line_prefix_incomplete';

-- back to the cluster as started
ALTER SYSTEM RESET log_connections;
ALTER SYSTEM RESET log_disconnections;
ALTER SYSTEM RESET log_line_prefix;
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
\c
\x on
SELECT rule, severity, object_identity FROM nspg_guard.lint(ARRAY['settings']);

-- a role without pg_read_all_settings cannot see ssl_min_protocol_version: not evaluated
SET ROLE ns_app_ro_orders;
SELECT rule, severity, message, details, key FROM nspg_guard.settings_lint() WHERE severity = 'not_evaluated';
RESET ROLE;
GRANT pg_read_all_settings TO ns_app_ro_orders;
SET ROLE ns_app_ro_orders;
SELECT rule, severity FROM nspg_guard.settings_lint() WHERE severity = 'not_evaluated';
RESET ROLE;
REVOKE pg_read_all_settings FROM ns_app_ro_orders;

