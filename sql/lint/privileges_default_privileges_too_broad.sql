-- Default privileges judged by what they grant: ALTER DEFAULT PRIVILEGES … TO PUBLIC hands
-- every future table, sequence, schema or routine of the role to every role, present and future
-- (NS-PG-007 §1: default deny), and TRUNCATE, REFERENCES or TRIGGER on tables or CREATE on
-- schemas to an app role (nspg_guard.app_roles) gives the application schema rights it must not
-- have (§3.3). PostgreSQL's own defaults (EXECUTE on functions and USAGE on types for PUBLIC,
-- database-wide) are not reported; a schema's defaults granting EXECUTE to PUBLIC are, as they
-- undo a database-wide revoke. Tables and schemas for PUBLIC and anything for app roles are
-- errors, the rest warnings.
CREATE FUNCTION nspg_guard.lint_privileges_default_privileges_too_broad()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'privileges_default_privileges_too_broad', 'privileges',
           CASE WHEN g.grantee <> 0 OR g.objtype IN ('r', 'n') THEN 'error' ELSE 'warn' END,
           'default privileges', g.scope,
           format('Default privileges of role %I %s grant %s on new %s to %s.',
                  pg_catalog.pg_get_userbyid(g.owner), CASE WHEN g.nsp = 0 THEN 'in every schema' ELSE format('in schema %I', g.nspname) END,
                  array_to_string(g.privileges, ', '), lower(g.objects), nspg_guard.lint_role_name(g.grantee)),
           jsonb_build_object('owner', pg_catalog.pg_get_userbyid(g.owner), 'schema', g.nspname, 'objects', lower(g.objects),
                              'grantee', nspg_guard.lint_role_name(g.grantee), 'privileges', to_jsonb(g.privileges),
                              'side_effects', format('Only %s created from now on: existing ones keep what was granted (revoke it with REVOKE … ON ALL %s IN SCHEMA …).',
                                                     lower(g.objects), g.objects)),
           format('ALTER DEFAULT PRIVILEGES FOR ROLE %I%s REVOKE %s ON %s FROM %s;',
                  pg_catalog.pg_get_userbyid(g.owner), CASE WHEN g.nsp <> 0 THEN format(' IN SCHEMA %I', g.nspname) ELSE '' END,
                  array_to_string(g.privileges, ', '), g.objects,
                  CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_catalog.pg_get_userbyid(g.grantee)) END),
           format('privileges_default_privileges_too_broad:%s:%s', g.scope, nspg_guard.lint_role_name(g.grantee))
    FROM (
        SELECT a.defaclrole AS owner, a.defaclnamespace AS nsp, n.nspname, a.defaclobjtype AS objtype, x.grantee,
               CASE a.defaclobjtype WHEN 'r' THEN 'TABLES' WHEN 'S' THEN 'SEQUENCES' WHEN 'f' THEN 'FUNCTIONS'
                                    WHEN 'T' THEN 'TYPES' ELSE 'SCHEMAS' END AS objects,
               format('%s%s %s', quote_ident(pg_catalog.pg_get_userbyid(a.defaclrole)),
                      CASE WHEN a.defaclnamespace <> 0 THEN ' in ' || quote_ident(n.nspname) ELSE '' END,
                      CASE a.defaclobjtype WHEN 'r' THEN 'tables' WHEN 'S' THEN 'sequences' WHEN 'f' THEN 'functions'
                                           WHEN 'T' THEN 'types' ELSE 'schemas' END) AS scope,
               array_agg(x.privilege_type ORDER BY x.privilege_type) AS privileges
        FROM pg_catalog.pg_default_acl a
        LEFT JOIN pg_catalog.pg_namespace n ON n.oid = a.defaclnamespace
        CROSS JOIN LATERAL aclexplode(a.defaclacl) x
        LEFT JOIN nspg_guard.lint_roles() r ON r.oid = x.grantee
        WHERE x.grantee <> a.defaclrole
          AND CASE WHEN x.grantee = 0
                   THEN a.defaclobjtype IN ('r', 'S', 'n') OR (a.defaclobjtype = 'f' AND a.defaclnamespace <> 0)
                   ELSE coalesce(r.is_app, false)
                        AND ((a.defaclobjtype = 'r' AND x.privilege_type IN ('TRUNCATE', 'REFERENCES', 'TRIGGER'))
                             OR (a.defaclobjtype = 'n' AND x.privilege_type = 'CREATE'))
              END
        GROUP BY a.defaclrole, a.defaclnamespace, n.nspname, a.defaclobjtype, x.grantee
    ) g
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('privileges_default_privileges_too_broad', 'privileges', NULL,
    'Default privileges grant new tables, sequences, schemas or a schema''s routines to PUBLIC, or schema rights to an app role.');
