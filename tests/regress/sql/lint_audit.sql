-- Posture lint, audit category, in the shape of lint_settings: no finding, the problem,
-- exactly the expected finding, the fix, no finding. The audit settings are SIGHUP settings:
-- changed with ALTER SYSTEM and a reload, and reset after each case.
\x on
\i include/findings_settings_audit.sql
-- the audit trail with its defaults passes the audit rules
SELECT rule, severity, object_identity FROM nspg_guard.lint(ARRAY['audit']);

-- audit_trail_not_installed: the library is preloaded, so its settings exist (the shell test
-- lint_not_preloaded shows the finding on a server without it)
SELECT * FROM pg_temp.findings('audit_trail_not_installed');

-- audit_classes_incomplete: one finding per class NS-PG-007 §7 says to record
SELECT * FROM pg_temp.findings('audit_classes_incomplete');
ALTER SYSTEM SET nspg_guard.audit = 'all, -login, -denied';
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SELECT * FROM pg_temp.findings('audit_classes_incomplete');
ALTER SYSTEM RESET nspg_guard.audit;
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SELECT * FROM pg_temp.findings('audit_classes_incomplete');

-- audit_destination_not_table
SELECT * FROM pg_temp.findings('audit_destination_not_table');
ALTER SYSTEM SET nspg_guard.audit_destination = 'log';
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SELECT * FROM pg_temp.findings('audit_destination_not_table');
ALTER SYSTEM RESET nspg_guard.audit_destination;
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SELECT * FROM pg_temp.findings('audit_destination_not_table');

-- audit_retention_short
SELECT * FROM pg_temp.findings('audit_retention_short');
ALTER SYSTEM SET nspg_guard.audit_retention = '30d';
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SELECT * FROM pg_temp.findings('audit_retention_short');
ALTER SYSTEM RESET nspg_guard.audit_retention;
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SELECT * FROM pg_temp.findings('audit_retention_short');
-- (audit_chain_broken and audit_events_fell_back need an edit around the guard and a server
-- without an audit table: the shell test audit_trail shows both)
