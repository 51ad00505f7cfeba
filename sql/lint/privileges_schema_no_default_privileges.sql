-- Default privileges decide what the owner's future objects grant (NS-PG-007 §3.2: "use default
-- privileges to prevent accidental privilege drift"). A schema whose owner has none, neither for
-- the schema nor database-wide, leaves every new object's grants to whoever writes the migration.
-- Defaults that grant to PUBLIC do not count: they are drift made automatic (and
-- privileges_default_privileges_too_broad reports them). Schemas owned by PostgreSQL's
-- predefined roles (public, owned by pg_database_owner) are skipped: nobody creates objects as
-- those roles.
-- The remediation sets the smallest useful default: new functions are not executable by PUBLIC.
-- It has to be database-wide (FOR ROLE, without IN SCHEMA): a schema's default privileges can
-- only add to the database-wide ones, never take PUBLIC's EXECUTE away. So it applies to every
-- function the owner creates, which details.side_effects says; for a superuser owner that
-- includes the functions of every extension it installs later, so no remediation is offered:
-- the schema belongs to an owner role (NS-PG-007 §3.1), whose defaults change nothing else.
CREATE FUNCTION nspg_guard.lint_privileges_schema_no_default_privileges()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'privileges_schema_no_default_privileges', 'privileges', 'warn', 'schema', quote_ident(n.nspname),
           format('Schema %I has no default privileges for its owner %I%s, so the grants of each new object are left to chance.',
                  n.nspname, o.rolname,
                  CASE WHEN o.rolsuper THEN ', a superuser (give the schema to an owner role, NOLOGIN and not a superuser, and set that role''s default privileges)' ELSE '' END),
           jsonb_build_object('owner', o.rolname, 'owner_is_superuser', o.rolsuper,
                              'side_effects', CASE WHEN o.rolsuper
                                  THEN format('None offered: ALTER DEFAULT PRIVILEGES FOR ROLE %I would apply to every object %I creates in any schema, the functions of extensions it installs later included.', o.rolname, o.rolname)
                                  ELSE format('Applies to every function %I creates from now on in any schema, not only %I (and so also clears this finding for its other schemas): grant EXECUTE explicitly where PUBLIC or a role needs it. Existing functions keep their grants.', o.rolname, n.nspname)
                              END),
           CASE WHEN NOT o.rolsuper
                THEN format('ALTER DEFAULT PRIVILEGES FOR ROLE %I REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;', o.rolname) END,
           'privileges_schema_no_default_privileges:' || quote_ident(n.nspname)
    FROM pg_catalog.pg_namespace n
    JOIN pg_catalog.pg_roles o ON o.oid = n.nspowner
    WHERE nspg_guard.lint_is_user_schema(n.nspname) AND o.rolname !~ '^pg_'
      AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
                      WHERE d.classid = 'pg_catalog.pg_namespace'::regclass AND d.objid = n.oid AND d.deptype = 'e')
      AND NOT EXISTS (SELECT FROM pg_catalog.pg_default_acl a
                      WHERE a.defaclrole = n.nspowner AND a.defaclnamespace IN (0, n.oid)
                        AND NOT EXISTS (SELECT FROM aclexplode(a.defaclacl) x
                                        WHERE x.grantee = 0
                                          AND x.privilege_type NOT IN (SELECT b.privilege_type
                                                                       FROM aclexplode(nspg_guard.lint_builtin_default_acl(a.defaclobjtype, a.defaclrole)) b
                                                                       WHERE b.grantee = 0)))
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('privileges_schema_no_default_privileges', 'privileges', NULL,
    'A schema whose owner has no default privileges (defaults granting to PUBLIC do not count).');
