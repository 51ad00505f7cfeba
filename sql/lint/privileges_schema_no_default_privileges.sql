-- Default privileges decide what the owner's future objects grant (NS-PG-007 §3.2: "use default
-- privileges to prevent accidental privilege drift"). A schema whose owner has none, neither for
-- the schema nor database-wide, leaves every new object's grants to whoever writes the migration.
-- Schemas owned by PostgreSQL's predefined roles (public, owned by pg_database_owner) are skipped:
-- nobody creates objects as those roles. The remediation sets the smallest useful default:
-- new functions are not executable by PUBLIC.
CREATE FUNCTION nspg_guard.lint_privileges_schema_no_default_privileges()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'privileges_schema_no_default_privileges', 'privileges', 'warn', 'schema', quote_ident(n.nspname),
           format('Schema %I has no default privileges for its owner %I, so the grants of each new object are left to chance.',
                  n.nspname, o.rolname),
           jsonb_build_object('owner', o.rolname),
           format('ALTER DEFAULT PRIVILEGES FOR ROLE %I REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;', o.rolname),
           'privileges_schema_no_default_privileges:' || quote_ident(n.nspname)
    FROM pg_catalog.pg_namespace n
    JOIN pg_catalog.pg_roles o ON o.oid = n.nspowner
    WHERE nspg_guard.lint_is_user_schema(n.nspname) AND o.rolname !~ '^pg_'
      AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
                      WHERE d.classid = 'pg_catalog.pg_namespace'::regclass AND d.objid = n.oid AND d.deptype = 'e')
      AND NOT EXISTS (SELECT FROM pg_catalog.pg_default_acl a
                      WHERE a.defaclrole = n.nspowner AND a.defaclnamespace IN (0, n.oid))
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('privileges_schema_no_default_privileges', 'privileges', NULL,
    'A schema whose owner has no default privileges.');
