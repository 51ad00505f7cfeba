-- App roles cannot create schema objects (NS-PG-007 §3.3). has_schema_privilege also counts
-- grants through PUBLIC and role membership; only a direct grant has a one-line remediation.
-- A schema the app role owns is reported by privileges_app_role_owns_objects.
CREATE FUNCTION nspg_guard.lint_privileges_app_role_schema_create()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'privileges_app_role_schema_create', 'privileges', 'error', 'schema', quote_ident(n.nspname),
           format('App role %I may create objects in schema %I%s.', a.rolname, n.nspname,
                  CASE WHEN g.direct THEN '' ELSE ' (through PUBLIC or a role it is a member of)' END),
           jsonb_build_object('role', a.rolname, 'granted', CASE WHEN g.direct THEN 'directly' ELSE 'indirectly' END),
           CASE WHEN g.direct THEN format('REVOKE CREATE ON SCHEMA %I FROM %I;', n.nspname, a.rolname) END,
           format('privileges_app_role_schema_create:%I:%s', n.nspname, a.rolname)
    FROM nspg_guard.lint_roles() a
    CROSS JOIN pg_catalog.pg_namespace n
    CROSS JOIN LATERAL (SELECT EXISTS (SELECT FROM aclexplode(n.nspacl) x
                                       WHERE x.grantee = a.oid AND x.privilege_type = 'CREATE') AS direct) g
    WHERE a.is_app AND n.nspowner <> a.oid AND nspg_guard.lint_is_user_schema(n.nspname)
      AND pg_catalog.has_schema_privilege(a.oid, n.oid, 'CREATE')
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('privileges_app_role_schema_create', 'privileges', NULL,
    'An app role may create objects in a schema.');
