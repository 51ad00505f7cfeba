-- Row level security is on but there is no policy: every role but the owner and BYPASSRLS
-- roles sees no row. Deliberate sometimes (default deny), an unfinished migration more often.
CREATE FUNCTION nspg_guard.lint_rls_enabled_no_policy()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'rls_enabled_no_policy', 'rls', 'info', 'table', r.identity,
           format('Row level security is enabled on %s but it has no policy, so only its owner and BYPASSRLS roles see any row.', r.identity),
           jsonb_build_object('forced', r.relforcerowsecurity),
           NULL,
           'rls_enabled_no_policy:' || r.identity
    FROM nspg_guard.lint_relations() r
    WHERE r.relkind IN ('r', 'p') AND r.relrowsecurity
      AND NOT EXISTS (SELECT FROM pg_catalog.pg_policy p WHERE p.polrelid = r.oid)
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('rls_enabled_no_policy', 'rls', NULL,
    'Row level security is enabled on a table without any policy.');
