-- NS-PG-007 §7.2 "always log": logins, privilege and schema changes; §7.1 and §9 add who ran
-- destructive operations, refusals, overrides and setting changes; §2.2 and §8 admin access,
-- risky capabilities and break-glass usage. Each class missing from
-- nspg_guard.audit is a finding (access is optional: it is per table, by audit_relation()).
CREATE FUNCTION nspg_guard.lint_audit_classes_incomplete()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'audit_classes_incomplete', 'audit', 'warn', 'setting', 'nspg_guard.audit',
           format('nspg_guard.audit leaves out class %s: %s are not recorded.', c.class, c.what),
           jsonb_build_object('setting', pg_catalog.current_setting('nspg_guard.audit', true), 'missing', c.class,
                              'side_effects', 'Replaces the whole setting: every class but access is recorded (a login row per connection among them), so the trail grows faster; per-table access auditing then needs audit_relation() only.'),
           'ALTER SYSTEM SET nspg_guard.audit = ''all, -access'';',
           'audit_classes_incomplete:' || c.class
    FROM (VALUES ('login', 'logins and failed logins'), ('schema', 'schema changes'),
                 ('privilege', 'privilege changes'), ('role', 'role changes'),
                 ('destructive', 'TRUNCATE, DROP and overridden destructive statements'),
                 ('denied', 'refused statements'), ('config', 'changes of audit-relevant settings'),
                 ('override', 'uses of the destructive override'),
                 ('risky', 'LOAD and COPY to/from server files or programs run by admins'),
                 ('admin', 'admin sessions ended at their maximum duration and role lockdowns'),
                 ('breakglass', 'break-glass requests, approvals, expiries and escalated statements')) c(class, what)
    WHERE pg_catalog.current_setting('nspg_guard.audit', true) IS NOT NULL
      AND c.class <> ALL (nspg_guard.audit_classes_active())
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('audit_classes_incomplete', 'audit', NULL,
    'nspg_guard.audit leaves out a class that NS-PG-007 §7 says to always record.');
