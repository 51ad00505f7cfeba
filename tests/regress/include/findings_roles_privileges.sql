-- pg_temp.findings(rule): the findings of one rule of the roles or privileges category, with
-- every column the cases compare (for lint_roles and lint_privileges).
CREATE FUNCTION pg_temp.findings(wanted text)
RETURNS TABLE (severity text, object_type text, object_identity text, message text, details jsonb, remediation text, key text)
LANGUAGE sql AS $$
    SELECT f.severity, f.object_type, f.object_identity, f.message, f.details, f.remediation, f.key
    FROM nspg_guard.lint(ARRAY['roles', 'privileges']) f WHERE f.rule = wanted
$$;
