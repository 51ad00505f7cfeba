-- A permissive policy granted to PUBLIC (CREATE POLICY's default) lets every role, present
-- and future, through; NS-PG-007 §1 wants every access path intentional, so permissive policies
-- name their roles. A restrictive policy to PUBLIC narrows access for every role, which is
-- what it is for: not reported.
CREATE FUNCTION nspg_guard.lint_rls_policy_to_public()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'rls_policy_to_public', 'rls', 'warn', 'policy', format('%I on %s', p.polname, r.identity),
           format('%s policy %I on %s applies to PUBLIC, that is to every role; name the roles it is for with TO.',
                  nspg_guard.lint_policy_command(p.polcmd), p.polname, r.identity),
           jsonb_build_object('command', nspg_guard.lint_policy_command(p.polcmd), 'permissive', p.polpermissive),
           NULL,
           format('rls_policy_to_public:%I on %s', p.polname, r.identity)
    FROM pg_catalog.pg_policy p
    JOIN nspg_guard.lint_relations() r ON r.oid = p.polrelid
    WHERE p.polpermissive AND 0 = ANY (p.polroles)
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('rls_policy_to_public', 'rls', NULL,
    'A permissive policy that applies to PUBLIC.');
