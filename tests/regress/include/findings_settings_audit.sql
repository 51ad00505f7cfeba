-- pg_temp.findings(rule): the findings of one rule of the settings or audit category, with the
-- columns the cases compare (for lint_settings and lint_audit).
CREATE FUNCTION pg_temp.findings(wanted text)
RETURNS TABLE (severity text, object_identity text, message text, details jsonb, remediation text, key text)
LANGUAGE sql AS $$
    SELECT f.severity, f.object_identity, f.message, f.details, f.remediation, f.key
    FROM nspg_guard.lint(ARRAY['settings', 'audit']) f WHERE f.rule = wanted
$$;
