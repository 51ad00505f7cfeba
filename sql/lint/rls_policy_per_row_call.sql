-- A policy calling a stable or volatile function whose arguments do not depend on the row
-- (current_setting('app.tenant'), auth.uid()) calls it once per row; as a sub-select,
-- (SELECT current_setting('app.tenant')), PostgreSQL calls it once per query.
CREATE FUNCTION nspg_guard.lint_rls_policy_per_row_call()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'rls_policy_per_row_call', 'rls', 'warn', 'policy', format('%I on %s', p.polname, r.identity),
           format('The %s expression of policy %I on %s calls %s once per row; wrap each call in a sub-select, (SELECT %s(...)), so it runs once per query.',
                  e.clause, p.polname, r.identity, array_to_string(a.per_row_calls, ', '), a.per_row_calls[1]),
           jsonb_build_object('clause', e.clause, 'functions', to_jsonb(a.per_row_calls),
                              'expression', pg_catalog.pg_get_expr(e.expr, p.polrelid)),
           NULL,
           format('rls_policy_per_row_call:%I on %s:%s', p.polname, r.identity, e.clause)
    FROM pg_catalog.pg_policy p
    JOIN nspg_guard.lint_relations() r ON r.oid = p.polrelid
    CROSS JOIN LATERAL (VALUES ('USING', p.polqual), ('WITH CHECK', p.polwithcheck)) e(clause, expr)
    CROSS JOIN LATERAL nspg_guard.policy_expr_analysis(p.oid, e.clause) a
    WHERE e.expr IS NOT NULL AND cardinality(a.per_row_calls) > 0
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('rls_policy_per_row_call', 'rls', NULL,
    'A policy calls a function once per row that a sub-select would call once per query.');
