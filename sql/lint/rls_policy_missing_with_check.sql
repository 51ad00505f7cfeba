-- Permissive policies that leave written rows unchecked. An INSERT policy without WITH CHECK
-- checks no inserted row. An UPDATE or ALL policy without WITH CHECK reuses USING for the new
-- row, which only matters when USING does not read the row (current_user = 'x', a session
-- flag): then a role it admits may write any values, another tenant's included. Restrictive
-- policies are ANDed with the permissive ones: they can only narrow what those let through,
-- so one without WITH CHECK widens nothing and is not reported.
CREATE FUNCTION nspg_guard.lint_rls_policy_missing_with_check()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'rls_policy_missing_with_check', 'rls', 'warn', 'policy', format('%I on %s', p.polname, r.identity),
           CASE WHEN p.polcmd = 'a'
                THEN format('INSERT policy %I on %s has no WITH CHECK expression, so it checks no inserted row.', p.polname, r.identity)
                ELSE format('%s policy %I on %s has no WITH CHECK expression and no USING expression that reads the row, so the rows it lets roles write are not constrained.',
                            nspg_guard.lint_policy_command(p.polcmd), p.polname, r.identity)
           END,
           jsonb_build_object('command', nspg_guard.lint_policy_command(p.polcmd),
                              'using', pg_catalog.pg_get_expr(p.polqual, p.polrelid)),
           NULL,
           format('rls_policy_missing_with_check:%I on %s', p.polname, r.identity)
    FROM pg_catalog.pg_policy p
    JOIN nspg_guard.lint_relations() r ON r.oid = p.polrelid
    LEFT JOIN LATERAL nspg_guard.policy_expr_analysis(p.oid, 'USING') a ON true
    WHERE p.polpermissive AND p.polwithcheck IS NULL
      AND (p.polcmd = 'a' OR (p.polcmd IN ('w', '*') AND NOT coalesce(a.references_row, false)))
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('rls_policy_missing_with_check', 'rls', NULL,
    'A permissive INSERT, UPDATE or ALL policy without WITH CHECK, where USING does not constrain written rows.');
