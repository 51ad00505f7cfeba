-- BYPASSRLS skips every policy; NS-PG-007 §6.1 wants bypass limited to admins. Superusers are
-- left to roles_superuser_not_allowed: they bypass row level security whatever the attribute.
CREATE FUNCTION nspg_guard.lint_rls_bypassrls_role()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'rls_bypassrls_role', 'rls', 'error', 'role', r.rolname::text,
           format('Role %I has BYPASSRLS, which skips every row level security policy, but is not an admin role (nspg_guard.admin_roles).', r.rolname),
           jsonb_build_object('login', r.rolcanlogin),
           format('ALTER ROLE %I NOBYPASSRLS;', r.rolname),
           'rls_bypassrls_role:' || r.rolname
    FROM nspg_guard.lint_roles() r
    WHERE r.rolbypassrls AND NOT r.rolsuper AND NOT r.is_admin
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('rls_bypassrls_role', 'rls', NULL,
    'A role other than an admin role has BYPASSRLS.');
