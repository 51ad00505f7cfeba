-- A permissive UPDATE, DELETE or ALL policy whose USING or WITH CHECK is the same for every row
-- (true, 1 = 1, x OR true, or another constant-only expression) lets the roles it applies to
-- change every row, and an INSERT policy whose WITH CHECK is lets them insert any row (another
-- tenant's included): the policy separates nothing. Decided on the stored expression tree by
-- nspg_guard.policy_expr_analysis, not on the SQL text.
CREATE FUNCTION nspg_guard.lint_rls_policy_always_true()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'rls_policy_always_true', 'rls',
           CASE a.truth WHEN 'always_true' THEN 'error' ELSE 'warn' END,
           'policy', format('%I on %s', p.polname, r.identity),
           CASE a.truth
               WHEN 'always_true' THEN format('The %s expression of permissive %s policy %I on %s is always true, so the policy lets its roles %s.',
                                              e.clause, nspg_guard.lint_policy_command(p.polcmd), p.polname, r.identity,
                                              CASE p.polcmd WHEN 'a' THEN 'insert any row' ELSE 'change every row' END)
               ELSE format('The %s expression of permissive %s policy %I on %s depends on neither the row nor the session, so it is the same for every row.',
                           e.clause, nspg_guard.lint_policy_command(p.polcmd), p.polname, r.identity)
           END,
           jsonb_build_object('clause', e.clause, 'expression', pg_catalog.pg_get_expr(e.expr, p.polrelid),
                              'command', nspg_guard.lint_policy_command(p.polcmd), 'truth', a.truth),
           NULL,
           format('rls_policy_always_true:%I on %s:%s', p.polname, r.identity, e.clause)
    FROM pg_catalog.pg_policy p
    JOIN nspg_guard.lint_relations() r ON r.oid = p.polrelid
    CROSS JOIN LATERAL (VALUES ('USING', p.polqual), ('WITH CHECK', p.polwithcheck)) e(clause, expr)
    CROSS JOIN LATERAL nspg_guard.policy_expr_analysis(p.oid, e.clause) a
    WHERE p.polpermissive AND p.polcmd IN ('a', 'w', 'd', '*') AND e.expr IS NOT NULL
      AND a.truth IN ('always_true', 'constant')
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('rls_policy_always_true', 'rls', NULL,
    'A permissive INSERT, UPDATE, DELETE or ALL policy whose USING or WITH CHECK is true for every row.');
