-- A migration login that is also an app role, or holds one, lets the application's credential
-- run migrations or the migration credential serve traffic (NS-PG-007 §3.3: migration roles
-- are separate from app roles).
CREATE FUNCTION nspg_guard.lint_roles_migration_role_app_login()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'roles_migration_role_app_login', 'roles', 'error', 'role', m.rolname::text,
           CASE WHEN x.path IS NULL
                THEN format('Login role %I is both a migration role and an app role (by nspg_guard.migration_roles and nspg_guard.app_roles).', m.rolname)
                ELSE format('Migration login role %I is a member of app role %I (chain %s), so one credential both migrates and serves the application.',
                            m.rolname, t.rolname, array_to_string(nspg_guard.lint_role_path(x.path), ' -> '))
           END,
           jsonb_build_object('app_role', coalesce(t.rolname, m.rolname),
                              'path', CASE WHEN x.path IS NOT NULL THEN to_jsonb(nspg_guard.lint_role_path(x.path)) END),
           CASE WHEN x.path IS NOT NULL THEN format('REVOKE %I FROM %I;', pg_catalog.pg_get_userbyid(x.path[2]), m.rolname) END,
           format('roles_migration_role_app_login:%s:%s', m.rolname, coalesce(t.rolname, m.rolname))
    FROM nspg_guard.lint_roles() m
    LEFT JOIN (nspg_guard.lint_role_reach() x JOIN nspg_guard.lint_roles() t ON t.oid = x.role AND t.is_app)
      ON x.member = m.oid
    WHERE m.is_migration AND m.rolcanlogin AND (m.is_app OR t.oid IS NOT NULL)
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('roles_migration_role_app_login', 'roles', NULL,
    'A migration login role is also an app role or a member of one.');
