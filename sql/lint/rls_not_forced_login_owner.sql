-- A table's owner bypasses its policies unless row level security is FORCEd. When the owner
-- can log in, whoever holds its credentials reads every tenant's rows (NS-PG-007 §3.1: owner
-- roles are not used by apps).
CREATE FUNCTION nspg_guard.lint_rls_not_forced_login_owner()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'rls_not_forced_login_owner', 'rls', 'warn', 'table', r.identity,
           format('Table %s is owned by login role %I and row level security is not forced, so %I bypasses every policy.',
                  r.identity, o.rolname, o.rolname),
           jsonb_build_object('owner', o.rolname),
           format('ALTER TABLE %s FORCE ROW LEVEL SECURITY;', r.identity),
           'rls_not_forced_login_owner:' || r.identity
    FROM nspg_guard.lint_relations() r
    JOIN pg_catalog.pg_roles o ON o.oid = r.relowner
    WHERE r.relkind IN ('r', 'p') AND r.relrowsecurity AND NOT r.relforcerowsecurity
      AND o.rolcanlogin AND NOT o.rolsuper
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('rls_not_forced_login_owner', 'rls', NULL,
    'Row level security is not forced on a table whose owner is a login role.');
