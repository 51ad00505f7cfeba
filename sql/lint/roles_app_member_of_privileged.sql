-- App roles must not hold migration or owner roles (NS-PG-007 §3.3: app roles cannot
-- create or alter schema; migration roles are separate from app roles).
CREATE FUNCTION nspg_guard.lint_roles_app_member_of_privileged()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'roles_app_member_of_privileged', 'roles', 'error', 'role', a.rolname::text,
           format('App role %I is a member of %s role %I (chain %s), so the application can change schema.',
                  a.rolname, CASE WHEN t.is_owner THEN 'owner' ELSE 'migration' END, t.rolname,
                  array_to_string(nspg_guard.lint_role_path(x.path), ' -> ')),
           jsonb_build_object('target', t.rolname, 'target_kind', CASE WHEN t.is_owner THEN 'owner' ELSE 'migration' END,
                              'path', to_jsonb(nspg_guard.lint_role_path(x.path))),
           format('REVOKE %I FROM %I;', pg_catalog.pg_get_userbyid(x.path[2]), a.rolname),
           format('roles_app_member_of_privileged:%s:%s', a.rolname, t.rolname)
    FROM nspg_guard.lint_role_reach() x
    JOIN nspg_guard.lint_roles() a ON a.oid = x.member
    JOIN nspg_guard.lint_roles() t ON t.oid = x.role
    WHERE a.is_app AND (t.is_migration OR t.is_owner)
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('roles_app_member_of_privileged', 'roles', NULL,
    'An app role is a member of a migration or owner role.');
