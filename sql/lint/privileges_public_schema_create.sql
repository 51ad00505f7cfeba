-- CREATE for PUBLIC on a schema lets every role plant objects, functions shadowing others'
-- among them, in the search_path of others (NS-PG-007 §1: default deny).
CREATE FUNCTION nspg_guard.lint_privileges_public_schema_create()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'privileges_public_schema_create', 'privileges', 'error', 'schema', quote_ident(n.nspname),
           format('PUBLIC has CREATE on schema %I: every role may create objects in it.', n.nspname),
           jsonb_build_object('owner', pg_catalog.pg_get_userbyid(n.nspowner)),
           format('REVOKE CREATE ON SCHEMA %I FROM PUBLIC;', n.nspname),
           'privileges_public_schema_create:' || quote_ident(n.nspname)
    FROM pg_catalog.pg_namespace n
    WHERE nspg_guard.lint_is_user_schema(n.nspname)
      AND EXISTS (SELECT FROM aclexplode(n.nspacl) x WHERE x.grantee = 0 AND x.privilege_type = 'CREATE')
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('privileges_public_schema_create', 'privileges', NULL,
    'PUBLIC may create objects in a schema.');
