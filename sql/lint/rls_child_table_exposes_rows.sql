-- Partitions and inheritance children of a table with row level security hold its rows, and
-- read through the parent the parent's policies apply to them. Queried directly, only the
-- child's own privileges and row level security count: a child without row level security on
-- which roles other than its owner hold privileges (its own GRANT, or ALTER TABLE … ATTACH of a
-- table that had them) shows or changes every row it holds, whatever the parent's policies say;
-- so does one whose own row level security has a permissive SELECT or ALL policy that is always
-- true.
CREATE FUNCTION nspg_guard.lint_rls_child_table_exposes_rows()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'rls_child_table_exposes_rows', 'rls', 'error', 'table', c.identity,
           format('%s %s holds rows of %s, which has row level security, but %s: %s may query it directly (%s) with no policy applied.',
                  CASE WHEN c.relispartition THEN 'Partition' ELSE 'Inheritance child' END, c.identity,
                  t.parent_guard::regclass::text,
                  CASE WHEN c.relrowsecurity THEN 'its own policies let every row through' ELSE 'has none itself' END,
                  array_to_string(g.grantees, ', '), array_to_string(g.privileges, ', ')),
           jsonb_build_object('parent', t.parent_guard::regclass::text, 'grantees', to_jsonb(g.grantees),
                              'privileges', to_jsonb(g.privileges),
                              'side_effects', 'The grantees lose their privileges on the child itself; through the parent they keep what the parent grants them, under its policies.'),
           format('REVOKE ALL ON TABLE %s FROM %s;', c.identity, array_to_string(g.grantees, ', ')),
           'rls_child_table_exposes_rows:' || c.identity
    FROM nspg_guard.lint_relations() c
    JOIN nspg_guard.lint_guarded_tables() t ON t.oid = c.oid AND t.parent_guard IS NOT NULL
    CROSS JOIN LATERAL (
        SELECT nspg_guard.lint_grantees(c.relacl, acldefault('r', c.relowner), c.relowner,
                                        ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE']) AS grantees,
               ARRAY(SELECT DISTINCT x.privilege_type FROM aclexplode(c.relacl) x
                     WHERE x.grantee <> c.relowner AND x.privilege_type IN ('SELECT', 'INSERT', 'UPDATE', 'DELETE')
                     ORDER BY 1) AS privileges) g
    WHERE c.relkind IN ('r', 'p') AND cardinality(g.grantees) > 0
      AND (NOT c.relrowsecurity
           OR EXISTS (SELECT FROM pg_catalog.pg_policy p
                      CROSS JOIN LATERAL nspg_guard.policy_expr_analysis(p.oid, 'USING') a
                      WHERE p.polrelid = c.oid AND p.polpermissive AND p.polcmd IN ('r', '*') AND a.truth = 'always_true'))
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('rls_child_table_exposes_rows', 'rls', NULL,
    'A partition or inheritance child of a table with row level security, without its own (or with an always-true read policy), on which other roles hold privileges.');
