-- Permissive policies are ORed: a row passes when any of them lets it. A permissive policy
-- whose USING (for SELECT, UPDATE, DELETE, ALL) or WITH CHECK (for INSERT, UPDATE, ALL) is true
-- for every row (nspg_guard.policy_expr_analysis) therefore cancels every other permissive
-- policy for the same command, for the roles both apply to: the tenant policies a reviewer
-- sees do nothing for them. Restrictive policies are ANDed and cancel nothing; nor are they
-- cancelled (the remaining rows still have to pass them).
CREATE FUNCTION nspg_guard.lint_rls_permissive_policy_cancels_others()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    WITH open AS MATERIALIZED (
        -- the always-true clauses of permissive policies, for the commands that use them
        SELECT p.oid, p.polrelid, p.polname, p.polcmd, p.polroles, r.identity, e.clause, e.commands,
               pg_catalog.pg_get_expr(e.expr, p.polrelid) AS expression
        FROM pg_catalog.pg_policy p
        JOIN nspg_guard.lint_relations() r ON r.oid = p.polrelid
        CROSS JOIN LATERAL (VALUES ('USING', p.polqual, ARRAY['r', 'w', 'd', '*']::"char"[]),
                                   ('WITH CHECK', p.polwithcheck, ARRAY['a', 'w', '*']::"char"[])) e(clause, expr, commands)
        CROSS JOIN LATERAL nspg_guard.policy_expr_analysis(p.oid, e.clause) a
        WHERE p.polpermissive AND e.expr IS NOT NULL AND p.polcmd = ANY (e.commands) AND a.truth = 'always_true'
    ), reach AS MATERIALIZED (
        SELECT x.member, x.role FROM nspg_guard.lint_role_reach() x
    )
    SELECT 'rls_permissive_policy_cancels_others', 'rls', 'error', 'policy', format('%I on %s', o.polname, o.identity),
           format('The %s expression of permissive %s policy %I on %s is always true for %s; permissive policies are ORed, so it cancels %s for those roles.',
                  o.clause, nspg_guard.lint_policy_command(o.polcmd), o.polname, o.identity,
                  array_to_string(ARRAY(SELECT nspg_guard.lint_role_name(x) FROM unnest(o.polroles) x ORDER BY 1), ', '),
                  string_agg(format('%s policy %I', nspg_guard.lint_policy_command(q.polcmd), q.polname), ', ' ORDER BY q.polname)),
           jsonb_build_object('clause', o.clause, 'command', nspg_guard.lint_policy_command(o.polcmd),
                              'expression', o.expression,
                              'roles', to_jsonb(ARRAY(SELECT nspg_guard.lint_role_name(x) FROM unnest(o.polroles) x ORDER BY 1)),
                              'cancelled', jsonb_agg(q.polname ORDER BY q.polname),
                              'side_effects', format('Roles that had rows only through %I have them only through the other policies.', o.polname)),
           format('DROP POLICY %I ON %s;', o.polname, o.identity),
           format('rls_permissive_policy_cancels_others:%I on %s:%s', o.polname, o.identity, o.clause)
    FROM open o
    JOIN pg_catalog.pg_policy q
      ON q.polrelid = o.polrelid AND q.oid <> o.oid AND q.polpermissive
     AND q.polcmd = ANY (o.commands) AND (o.polcmd = '*' OR q.polcmd = '*' OR q.polcmd = o.polcmd)
     -- some role both apply to: PUBLIC, the same role, or one a member of the other
     AND (0 = ANY (o.polroles) OR 0 = ANY (q.polroles) OR o.polroles && q.polroles
          OR EXISTS (SELECT FROM reach m
                     WHERE (m.member = ANY (q.polroles) AND m.role = ANY (o.polroles))
                        OR (m.member = ANY (o.polroles) AND m.role = ANY (q.polroles))))
    GROUP BY o.oid, o.polname, o.polcmd, o.polroles, o.identity, o.clause, o.expression
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('rls_permissive_policy_cancels_others', 'rls', NULL,
    'A permissive policy that is always true cancels the other permissive policies for its command and roles.');
