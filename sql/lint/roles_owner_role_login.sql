-- Owner roles own a service's objects and are not used to connect (NS-PG-007 §3.1): one that
-- can log in is a credential that bypasses the schema's privileges and its row level security.
CREATE FUNCTION nspg_guard.lint_roles_owner_role_login()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'roles_owner_role_login', 'roles', 'warn', 'role', r.rolname::text,
           format('Owner role %I can log in; owner roles should be NOLOGIN and used through SET ROLE from a migration role.', r.rolname),
           '{}'::jsonb,
           format('ALTER ROLE %I NOLOGIN;', r.rolname),
           'roles_owner_role_login:' || r.rolname
    FROM nspg_guard.lint_roles() r
    WHERE r.is_owner AND r.rolcanlogin
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('roles_owner_role_login', 'roles', NULL,
    'An owner role (nspg_guard.owner_roles) can log in.');
