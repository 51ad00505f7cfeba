-- NS-PG-007 §7, §11: the audit trail must exist. Its settings exist only where the library is
-- loaded (preloaded, or loaded into this session); without them no statement is audited.
CREATE FUNCTION nspg_guard.lint_audit_trail_not_installed()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'audit_trail_not_installed', 'audit', 'warn', 'setting', s.name,
           format('Setting %s does not exist: the nspg_guard audit trail is not installed, so %s.', s.name, s.consequence),
           jsonb_build_object('installed', false),
           NULL,
           'audit_trail_not_installed:' || s.name
    FROM (VALUES ('nspg_guard.audit', 'no statement is audited'),
                 ('nspg_guard.audit_destination', 'there is no audit destination whose retention could be checked')) s(name, consequence)
    WHERE pg_catalog.current_setting(s.name, true) IS NULL
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('audit_trail_not_installed', 'audit', NULL,
    'The nspg_guard audit trail (nspg_guard.audit, nspg_guard.audit_destination) is not installed.');
