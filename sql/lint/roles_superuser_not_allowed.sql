-- Superuser is for the bootstrap superuser and the platform admin roles (NS-PG-007 §3.1
-- pg_admin: "very limited membership"); any other superuser skips every guard and privilege.
CREATE FUNCTION nspg_guard.lint_roles_superuser_not_allowed()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'roles_superuser_not_allowed', 'roles', 'error', 'role', r.rolname::text,
           format('Role %I is a superuser but neither the bootstrap superuser nor an admin role (nspg_guard.admin_roles = %L).',
                  r.rolname, pg_catalog.current_setting('nspg_guard.admin_roles')),
           jsonb_build_object('login', r.rolcanlogin),
           format('ALTER ROLE %I NOSUPERUSER;', r.rolname),
           'roles_superuser_not_allowed:' || r.rolname
    FROM nspg_guard.lint_roles() r
    WHERE r.rolsuper AND r.oid <> 10 AND NOT r.is_admin
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('roles_superuser_not_allowed', 'roles', NULL,
    'A superuser that is neither the bootstrap superuser nor an admin role.');
