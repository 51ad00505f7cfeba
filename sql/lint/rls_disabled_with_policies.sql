-- Policies exist but row level security is disabled: PostgreSQL ignores the policies and every
-- role with table privileges sees every row (NS-PG-007 §6.1).
CREATE FUNCTION nspg_guard.lint_rls_disabled_with_policies()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'rls_disabled_with_policies', 'rls', 'error', 'table', r.identity,
           format('Table %s has row level security policies but row level security is disabled, so none of them applies.', r.identity),
           jsonb_build_object('policies', p.names),
           format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY;', r.identity),
           'rls_disabled_with_policies:' || r.identity
    FROM nspg_guard.lint_relations() r
    JOIN (SELECT polrelid, jsonb_agg(polname ORDER BY polname) AS names
          FROM pg_catalog.pg_policy GROUP BY polrelid) p ON p.polrelid = r.oid
    WHERE r.relkind IN ('r', 'p') AND NOT r.relrowsecurity
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('rls_disabled_with_policies', 'rls', NULL,
    'Policies exist but row level security is disabled, so they are not applied.');
