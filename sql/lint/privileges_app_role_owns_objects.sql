-- App roles own nothing (NS-PG-007 §3.1, §3.3): an owner can alter and drop its objects and
-- bypasses their privileges and row level security. One scan each of pg_class, pg_proc and
-- pg_namespace. The remediation hands a relation or routine to its schema's owner when that
-- is not an app role too; sequences owned by a column follow their table.
CREATE FUNCTION nspg_guard.lint_privileges_app_role_owns_objects()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'privileges_app_role_owns_objects', 'privileges', 'error', o.object_type, o.identity,
           format('App role %I owns %s %s, so the application can alter or drop it and bypasses its privileges and row level security.',
                  a.rolname, o.object_type, o.identity),
           jsonb_build_object('owner', a.rolname, 'schema_owner', pg_catalog.pg_get_userbyid(o.schema_owner)),
           CASE WHEN o.alter_keyword IS NOT NULL AND NOT nspg_guard.role_in_set(pg_catalog.pg_get_userbyid(o.schema_owner), 'app')
                THEN format('ALTER %s %s OWNER TO %I;', o.alter_keyword, o.identity, pg_catalog.pg_get_userbyid(o.schema_owner))
           END,
           format('privileges_app_role_owns_objects:%s:%s', o.object_type, o.identity)
    FROM (
        SELECT r.relowner AS owner, r.identity, n.nspowner AS schema_owner,
               CASE r.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence'
                              WHEN 'f' THEN 'foreign table' ELSE 'table' END AS object_type,
               CASE r.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE'
                              WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END AS alter_keyword
        FROM nspg_guard.lint_relations() r
        JOIN pg_catalog.pg_namespace n ON n.nspname = r.nspname
        WHERE NOT (r.relkind = 'S' AND EXISTS (SELECT FROM pg_catalog.pg_depend d
                                              WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = r.oid
                                                AND d.deptype IN ('a', 'i')))
        UNION ALL
        SELECT p.proowner, format('%I.%I(%s)', n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid)),
               n.nspowner,
               CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' ELSE 'function' END,
               CASE p.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE' ELSE 'FUNCTION' END
        FROM pg_catalog.pg_proc p
        JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
        WHERE nspg_guard.lint_is_user_schema(n.nspname)
          AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
                          WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
        UNION ALL
        SELECT n.nspowner, quote_ident(n.nspname), n.nspowner, 'schema', NULL
        FROM pg_catalog.pg_namespace n
        WHERE nspg_guard.lint_is_user_schema(n.nspname)
          AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
                          WHERE d.classid = 'pg_catalog.pg_namespace'::regclass AND d.objid = n.oid AND d.deptype = 'e')
    ) o
    JOIN nspg_guard.lint_roles() a ON a.oid = o.owner AND a.is_app
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('privileges_app_role_owns_objects', 'privileges', NULL,
    'An app role owns a table, view, sequence, routine or schema.');
