-- Several permissive policies for the same role and command are ORed, and PostgreSQL evaluates
-- each of them for every row: one combined policy is cheaper and easier to review.
CREATE FUNCTION nspg_guard.lint_rls_multiple_permissive_policies()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'rls_multiple_permissive_policies', 'rls', 'warn', 'table', r.identity,
           format('Table %s has %s permissive policies for role %s and %s (%s): PostgreSQL evaluates each of them for every row.',
                  r.identity, count(*), nspg_guard.lint_role_name(x.role), x.command,
                  string_agg(quote_ident(x.polname), ', ' ORDER BY x.polname)),
           jsonb_build_object('role', nspg_guard.lint_role_name(x.role), 'command', x.command,
                              'policies', jsonb_agg(x.polname ORDER BY x.polname)),
           NULL,
           format('rls_multiple_permissive_policies:%s:%s:%s', r.identity, nspg_guard.lint_role_name(x.role), x.command)
    FROM (SELECT p.polrelid, p.polname, role, command
          FROM pg_catalog.pg_policy p
          CROSS JOIN LATERAL unnest(p.polroles) role
          CROSS JOIN LATERAL unnest(CASE p.polcmd WHEN '*' THEN ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE']
                                                  ELSE ARRAY[nspg_guard.lint_policy_command(p.polcmd)] END) command
          WHERE p.polpermissive) x
    JOIN nspg_guard.lint_relations() r ON r.oid = x.polrelid
    GROUP BY r.identity, x.role, x.command
    HAVING count(*) > 1
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('rls_multiple_permissive_policies', 'rls', NULL,
    'Several permissive policies for the same role and command on one table.');
