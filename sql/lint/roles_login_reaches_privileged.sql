-- Login roles that can become a superuser or an admin role through a chain of memberships
-- (SET ROLE follows any chain). Any chain to a superuser is an error; a chain of two or more
-- grants to an admin role hides the admin from whoever reviews the admin role's members
-- (NS-PG-007 §10). A direct grant of an admin role is the intended way to make an admin and
-- is not reported.
CREATE FUNCTION nspg_guard.lint_roles_login_reaches_privileged()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'roles_login_reaches_privileged', 'roles',
           CASE WHEN t.rolsuper THEN 'error' ELSE 'warn' END,
           'role', m.rolname::text,
           format('Login role %I can become %s %I through the membership chain %s.',
                  m.rolname, CASE WHEN t.rolsuper THEN 'superuser' ELSE 'admin role' END, t.rolname,
                  array_to_string(nspg_guard.lint_role_path(x.path), ' -> ')),
           jsonb_build_object('target', t.rolname, 'target_kind', CASE WHEN t.rolsuper THEN 'superuser' ELSE 'admin' END,
                              'path', to_jsonb(nspg_guard.lint_role_path(x.path))),
           format('REVOKE %I FROM %I;', pg_catalog.pg_get_userbyid(x.path[2]), m.rolname),
           format('roles_login_reaches_privileged:%s:%s', m.rolname, t.rolname)
    FROM nspg_guard.lint_role_reach() x
    JOIN nspg_guard.lint_roles() m ON m.oid = x.member
    JOIN nspg_guard.lint_roles() t ON t.oid = x.role
    WHERE m.rolcanlogin AND NOT m.rolsuper AND NOT m.is_admin
      AND (t.rolsuper OR (t.is_admin AND cardinality(x.path) > 2))
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('roles_login_reaches_privileged', 'roles', NULL,
    'A login role can become a superuser, or an admin role through more than one grant.');
