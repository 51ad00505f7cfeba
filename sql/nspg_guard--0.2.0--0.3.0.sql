-- nspg_guard 0.2.0 -> 0.3.0 (ALTER EXTENSION nspg_guard UPDATE). Runs as the extension script
-- does, so the tamper guard lets it change the trail's objects.
-- Every change to the extension's SQL (sql/*.sql, #[pg_extern] functions) goes here as well,
-- so that an upgraded database ends up as a fresh install: tests/shell/upgrade.sh compares the
-- two object by object. A function added here also needs what sql/finalize.sql gives every
-- function: SET search_path = pg_catalog, pg_temp, and a GRANT only if README documents it.
\echo Use "ALTER EXTENSION nspg_guard UPDATE" to load this file. \quit

-- BEGIN h18-cost
-- The trail's indexes (sql/audit.sql): the key and a BRIN index on event_time; the b-trees on
-- time, principal and object cost each audited statement more than they saved its readers.
DROP INDEX nspg_guard.audit_log_principal;
DROP INDEX nspg_guard.audit_log_object;
DROP INDEX nspg_guard.audit_log_time;
CREATE INDEX audit_log_time ON nspg_guard.audit_log USING brin (event_time) WITH (autosummarize = on);
-- END h18-cost
-- BEGIN h16-l1
-- Issue 16 (lint a DBA can trust): helpers for the tables row level security guards and
-- what reads them, changed rules (CREATE OR REPLACE keeps their ACL; the SET search_path
-- finalize.sql gives is set again below) and new rules.

-- Tables whose rows row level security guards: those with it enabled, and their partitions and
-- inheritance children at any depth (read through the parent, the parent's policies apply to
-- their rows). `parent_guard` is the nearest ancestor with row level security, NULL for a table
-- that has it and is no child of one.
CREATE FUNCTION nspg_guard.lint_guarded_tables()
RETURNS TABLE (oid oid, parent_guard oid)
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE guarded(oid, parent_guard, own) AS (
        SELECT c.oid, NULL::oid, true FROM pg_catalog.pg_class c WHERE c.relrowsecurity AND c.relkind IN ('r', 'p')
        UNION
        SELECT i.inhrelid, CASE WHEN g.own THEN g.oid ELSE g.parent_guard END, c.relrowsecurity
        FROM guarded g
        JOIN pg_catalog.pg_inherits i ON i.inhparent = g.oid
        JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
    )
    SELECT DISTINCT ON (oid) oid, parent_guard FROM guarded ORDER BY oid, parent_guard IS NULL
$$;

-- The row-level-security tables (lint_guarded_tables) each view or materialized view reads, directly
-- or through other views and materialized views, with the shortest chain: path[1] is the reader, the last element the
-- table. The edges are the relations a view's or materialized view's rewrite rule depends on.
CREATE FUNCTION nspg_guard.lint_guarded_reads()
RETURNS TABLE (reader oid, rls_table oid, path oid[])
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE edges(reader, target) AS (
        SELECT DISTINCT w.ev_class, d.refobjid
        FROM pg_catalog.pg_rewrite w
        JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = w.oid
                                   AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid <> w.ev_class
    ), reads(reader, target, path) AS (
        SELECT e.reader, e.target, ARRAY[e.reader, e.target] FROM edges e
        UNION ALL
        -- a view's rows come from what it reads, and a materialized view's rows are what its
        -- query read at the last refresh: follow both
        SELECT r.reader, e.target, r.path || e.target
        FROM reads r
        JOIN pg_catalog.pg_class v ON v.oid = r.target AND v.relkind IN ('v', 'm')
        JOIN edges e ON e.reader = v.oid
        WHERE e.target <> ALL (r.path)
    )
    SELECT DISTINCT ON (r.reader, r.target) r.reader, r.target, r.path
    FROM reads r
    JOIN nspg_guard.lint_guarded_tables() t ON t.oid = r.target
    ORDER BY r.reader, r.target, cardinality(r.path)
$$;

-- The roles other than `owner` holding one of `privileges` on an object, by its ACL (NULL: the
-- default, which grants `default_acl`): as CREATE POLICY/GRANT spell them (PUBLIC, quoted names)
-- for remediations, and sorted.
CREATE FUNCTION nspg_guard.lint_grantees(acl aclitem[], default_acl aclitem[], owner oid, privileges text[])
RETURNS text[]
LANGUAGE sql STABLE
RETURN ARRAY(SELECT DISTINCT CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_catalog.pg_get_userbyid(x.grantee)) END g
             FROM aclexplode(coalesce(acl, default_acl)) x
             WHERE x.grantee <> owner AND x.privilege_type = ANY (privileges)
             ORDER BY 1);

-- A view reads its tables with its owner's privileges unless it is security_invoker: over a
-- table with row level security (or a partition or child of one), the policies are checked for
-- the view's owner (who often owns the table and bypasses them) instead of the caller. Tables
-- are found through the dependencies of the view's rewrite rule and, through them, of the views
-- it reads (lint_guarded_reads): a view over a security_invoker view over the table reads it as
-- the outer view's owner too, and a view over a materialized view of the table lets its readers
-- read the stored rows with the view owner's SELECT on it (security_invoker makes them need
-- their own, which rls_matview_exposes_rows reports).
CREATE OR REPLACE FUNCTION nspg_guard.lint_rls_view_bypasses_rls()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'rls_view_bypasses_rls', 'rls', 'error', 'view', v.identity,
           format('View %s reads %s, which %s row level security, without security_invoker: policies are checked for the view''s owner %I, not for the caller.',
                  v.identity, string_agg(x.rls_table::regclass::text, ', ' ORDER BY x.rls_table::regclass::text),
                  CASE count(*) WHEN 1 THEN 'has' ELSE 'have' END, pg_catalog.pg_get_userbyid(v.relowner)),
           jsonb_build_object('tables', jsonb_agg(x.rls_table::regclass::text ORDER BY x.rls_table::regclass::text),
                              'owner', pg_catalog.pg_get_userbyid(v.relowner),
                              'side_effects', 'The view''s readers then need privileges on the tables it reads, and their own policies decide which rows they see.'),
           format('ALTER VIEW %s SET (security_invoker = true);', v.identity),
           'rls_view_bypasses_rls:' || v.identity
    FROM nspg_guard.lint_relations() v
    JOIN nspg_guard.lint_guarded_reads() x ON x.reader = v.oid
    WHERE v.relkind = 'v'
      AND NOT coalesce((SELECT o.option_value::boolean FROM pg_catalog.pg_options_to_table(v.reloptions) o
                        WHERE o.option_name = 'security_invoker'), false)
    GROUP BY v.identity, v.relowner
$$;

UPDATE nspg_guard.lint_rules SET description = 'A view over a table with row level security (directly or through other views) that is not security_invoker.'
WHERE rule = 'rls_view_bypasses_rls';

-- Permissive policies that leave written rows unchecked. An INSERT policy without WITH CHECK
-- checks no inserted row. An UPDATE or ALL policy without WITH CHECK reuses USING for the new
-- row, which only matters when USING does not read the row (current_user = 'x', a session
-- flag): then a role it admits may write any values, another tenant's included. Restrictive
-- policies are ANDed with the permissive ones: they can only narrow what those let through,
-- so one without WITH CHECK widens nothing and is not reported.
CREATE OR REPLACE FUNCTION nspg_guard.lint_rls_policy_missing_with_check()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'rls_policy_missing_with_check', 'rls', 'warn', 'policy', format('%I on %s', p.polname, r.identity),
           CASE WHEN p.polcmd = 'a'
                THEN format('INSERT policy %I on %s has no WITH CHECK expression, so it checks no inserted row.', p.polname, r.identity)
                ELSE format('%s policy %I on %s has no WITH CHECK expression and no USING expression that reads the row, so the rows it lets roles write are not constrained.',
                            nspg_guard.lint_policy_command(p.polcmd), p.polname, r.identity)
           END,
           jsonb_build_object('command', nspg_guard.lint_policy_command(p.polcmd),
                              'using', pg_catalog.pg_get_expr(p.polqual, p.polrelid)),
           NULL,
           format('rls_policy_missing_with_check:%I on %s', p.polname, r.identity)
    FROM pg_catalog.pg_policy p
    JOIN nspg_guard.lint_relations() r ON r.oid = p.polrelid
    LEFT JOIN LATERAL nspg_guard.policy_expr_analysis(p.oid, 'USING') a ON true
    WHERE p.polpermissive AND p.polwithcheck IS NULL
      AND (p.polcmd = 'a' OR (p.polcmd IN ('w', '*') AND NOT coalesce(a.references_row, false)))
$$;

UPDATE nspg_guard.lint_rules SET description = 'A permissive INSERT, UPDATE or ALL policy without WITH CHECK, where USING does not constrain written rows.'
WHERE rule = 'rls_policy_missing_with_check';

-- A permissive policy granted to PUBLIC (CREATE POLICY's default) lets every role, present
-- and future, through; NS-PG-007 §1 wants every access path intentional, so permissive policies
-- name their roles. A restrictive policy to PUBLIC narrows access for every role, which is
-- what it is for: not reported.
CREATE OR REPLACE FUNCTION nspg_guard.lint_rls_policy_to_public()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'rls_policy_to_public', 'rls', 'warn', 'policy', format('%I on %s', p.polname, r.identity),
           format('%s policy %I on %s applies to PUBLIC, that is to every role; name the roles it is for with TO.',
                  nspg_guard.lint_policy_command(p.polcmd), p.polname, r.identity),
           jsonb_build_object('command', nspg_guard.lint_policy_command(p.polcmd), 'permissive', p.polpermissive),
           NULL,
           format('rls_policy_to_public:%I on %s', p.polname, r.identity)
    FROM pg_catalog.pg_policy p
    JOIN nspg_guard.lint_relations() r ON r.oid = p.polrelid
    WHERE p.polpermissive AND 0 = ANY (p.polroles)
$$;

UPDATE nspg_guard.lint_rules SET description = 'A permissive policy that applies to PUBLIC.'
WHERE rule = 'rls_policy_to_public';

-- A table with a tenant column (nspg_guard.tenant_columns) is multi-tenant, and NS-PG-007 §6.1
-- wants tenant separation enforced by the database: row level security must be on.
-- Column names match case-insensitively: "Tenant_Id" is the tenant_id column of another
-- spelling. Partitions and inheritance children of a table with row level security are left to
-- their parent, through which they are queried (and to rls_child_table_exposes_rows when they
-- are queried directly).
CREATE OR REPLACE FUNCTION nspg_guard.lint_rls_tenant_table_without_rls()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'rls_tenant_table_without_rls', 'rls', 'error', 'table', r.identity,
           format('Table %s has tenant column%s %s but row level security is disabled, so tenants are separated only by the application.',
                  r.identity, CASE WHEN jsonb_array_length(a.names) > 1 THEN 's' ELSE '' END, a.columns),
           jsonb_build_object('tenant_columns', a.names),
           format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY;', r.identity),
           'rls_tenant_table_without_rls:' || r.identity
    FROM nspg_guard.lint_relations() r
    JOIN (SELECT attrelid, string_agg(quote_ident(attname), ', ' ORDER BY attnum) AS columns,
                 jsonb_agg(attname ORDER BY attnum) AS names
          FROM pg_catalog.pg_attribute
          WHERE attnum > 0 AND NOT attisdropped
            AND lower(attname) = ANY (SELECT lower(c) FROM unnest(nspg_guard.lint_tenant_columns()) c)
          GROUP BY attrelid) a ON a.attrelid = r.oid
    WHERE r.relkind IN ('r', 'p') AND NOT r.relispartition AND NOT r.relrowsecurity
      AND NOT EXISTS (SELECT FROM nspg_guard.lint_guarded_tables() g WHERE g.oid = r.oid)
$$;

UPDATE nspg_guard.lint_rules SET description = 'A table with a tenant column (nspg_guard.tenant_columns) has no row level security.'
WHERE rule = 'rls_tenant_table_without_rls';

-- A permissive UPDATE, DELETE or ALL policy whose USING or WITH CHECK is the same for every row
-- (true, 1 = 1, x OR true, or another constant-only expression) lets the roles it applies to
-- change every row, and an INSERT policy whose WITH CHECK is lets them insert any row (another
-- tenant's included): the policy separates nothing. Decided on the stored expression tree by
-- nspg_guard.policy_expr_analysis, not on the SQL text.
CREATE OR REPLACE FUNCTION nspg_guard.lint_rls_policy_always_true()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'rls_policy_always_true', 'rls',
           CASE a.truth WHEN 'always_true' THEN 'error' ELSE 'warn' END,
           'policy', format('%I on %s', p.polname, r.identity),
           CASE a.truth
               WHEN 'always_true' THEN format('The %s expression of permissive %s policy %I on %s is always true, so the policy lets its roles %s.',
                                              e.clause, nspg_guard.lint_policy_command(p.polcmd), p.polname, r.identity,
                                              CASE p.polcmd WHEN 'a' THEN 'insert any row' ELSE 'change every row' END)
               ELSE format('The %s expression of permissive %s policy %I on %s depends on neither the row nor the session, so it is the same for every row.',
                           e.clause, nspg_guard.lint_policy_command(p.polcmd), p.polname, r.identity)
           END,
           jsonb_build_object('clause', e.clause, 'expression', pg_catalog.pg_get_expr(e.expr, p.polrelid),
                              'command', nspg_guard.lint_policy_command(p.polcmd), 'truth', a.truth),
           NULL,
           format('rls_policy_always_true:%I on %s:%s', p.polname, r.identity, e.clause)
    FROM pg_catalog.pg_policy p
    JOIN nspg_guard.lint_relations() r ON r.oid = p.polrelid
    CROSS JOIN LATERAL (VALUES ('USING', p.polqual), ('WITH CHECK', p.polwithcheck)) e(clause, expr)
    CROSS JOIN LATERAL nspg_guard.policy_expr_analysis(p.oid, e.clause) a
    WHERE p.polpermissive AND p.polcmd IN ('a', 'w', 'd', '*') AND e.expr IS NOT NULL
      AND a.truth IN ('always_true', 'constant')
$$;

UPDATE nspg_guard.lint_rules SET description = 'A permissive INSERT, UPDATE, DELETE or ALL policy whose USING or WITH CHECK is true for every row.'
WHERE rule = 'rls_policy_always_true';

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
CREATE OR REPLACE FUNCTION nspg_guard.lint_privileges_schema_no_default_privileges()
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

UPDATE nspg_guard.lint_rules SET description = 'A schema whose owner has no default privileges (defaults granting to PUBLIC do not count).'
WHERE rule = 'privileges_schema_no_default_privileges';

-- A SECURITY DEFINER routine resolves unqualified names through its search_path, as its owner.
-- Without a search_path of its own it uses the caller's, so the caller decides which objects it
-- uses. With one, the path is judged by its content: every schema in it must be one only the
-- owner (or a superuser) may create objects in — not one PUBLIC or another role has CREATE on
-- (pg_database_owner, owner of schema public, stands for the database's owner),
-- owned by another role, or missing (whoever may create it decides what it holds) — "$user"
-- names a schema after the role, and pg_temp must be last: when it is not listed, PostgreSQL
-- searches it first for tables, views and types, so the caller's temporary objects win.
-- The remediation keeps the schemas that are safe, puts pg_catalog first and pg_temp last; a
-- schema it leaves out is named in details.side_effects (names found there must then be
-- schema-qualified in the body).
CREATE OR REPLACE FUNCTION nspg_guard.lint_privileges_security_definer_search_path()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    WITH definer AS (
        SELECT p.oid, p.proowner, n.nspname, CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END AS object_type,
               format('%I.%I(%s)', n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid)) AS identity,
               (SELECT substr(c, length('search_path=') + 1) FROM unnest(p.proconfig) c WHERE c LIKE 'search\_path=%') AS setting
        FROM pg_catalog.pg_proc p
        JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
        WHERE p.prosecdef AND nspg_guard.lint_is_user_schema(n.nspname)
          AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
                          WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
    ), entries AS (
        -- the path's entries as PostgreSQL reads them (quoted: as written; else lower case); without
        -- a setting, the routine's own schema stands for what the remediation may keep
        SELECT d.oid, e.i, e.entry, s.oid AS nsp,
               ARRAY(SELECT DISTINCT nspg_guard.lint_role_name(w.writer)
                     FROM (SELECT CASE WHEN v.writer = 'pg_database_owner'::regrole
                                       THEN (SELECT db.datdba FROM pg_catalog.pg_database db WHERE db.datname = pg_catalog.current_database())
                                       ELSE v.writer END AS writer
                           FROM (SELECT x.grantee AS writer FROM aclexplode(s.nspacl) x WHERE x.privilege_type = 'CREATE'
                                 UNION SELECT s.nspowner) v) w
                     LEFT JOIN pg_catalog.pg_roles wr ON wr.oid = w.writer
                     WHERE w.writer <> d.proowner AND NOT coalesce(wr.rolsuper, false)
                     ORDER BY 1) AS writers
        FROM definer d
        CROSS JOIN LATERAL (
            SELECT x.i, CASE WHEN x.m[1] LIKE '"%' THEN replace(substr(x.m[1], 2, length(x.m[1]) - 2), '""', '"')
                             ELSE lower(x.m[1]) END AS entry
            FROM regexp_matches(coalesce(d.setting, quote_ident(d.nspname)), '("(?:[^"]|"")*"|[^,[:space:]]+)', 'g')
                 WITH ORDINALITY x(m, i)) e
        LEFT JOIN pg_catalog.pg_namespace s ON s.nspname = e.entry
    ), judged AS (
        SELECT d.oid,
               array_remove(ARRAY(
                   SELECT CASE
                              WHEN e.entry = '$user' THEN '"$user" names a schema after the role running it'
                              WHEN e.entry = 'pg_temp' AND e.i <> (SELECT max(i) FROM entries l WHERE l.oid = d.oid)
                                  THEN 'pg_temp is not last, so the caller''s temporary objects come before the schemas after it'
                              WHEN e.entry = 'pg_temp' THEN NULL
                              WHEN e.nsp IS NULL THEN format('schema %I does not exist, so whoever creates it decides what it holds', e.entry)
                              WHEN cardinality(e.writers) > 0
                                  THEN format('%s may create objects in schema %I', array_to_string(e.writers, ', '), e.entry)
                          END
                   FROM entries e WHERE e.oid = d.oid AND d.setting IS NOT NULL ORDER BY e.i)
                   || CASE WHEN d.setting IS NOT NULL AND NOT EXISTS (SELECT FROM entries e WHERE e.oid = d.oid AND e.entry = 'pg_temp')
                           THEN ARRAY['pg_temp is not listed, so it is searched first for tables, views and types: the caller''s temporary objects win'] END,
                   NULL) AS problems,
               ARRAY(SELECT quote_ident(e.entry) FROM entries e
                     WHERE e.oid = d.oid AND e.nsp IS NOT NULL AND e.entry NOT IN ('pg_catalog', 'pg_temp', '$user')
                       AND cardinality(e.writers) = 0
                     ORDER BY e.i) AS kept,
               ARRAY(SELECT quote_ident(e.entry) FROM entries e
                     WHERE e.oid = d.oid AND e.entry NOT IN ('pg_catalog', 'pg_temp')
                       AND (e.nsp IS NULL OR cardinality(e.writers) > 0 OR e.entry = '$user')
                     ORDER BY e.i) AS dropped
        FROM definer d
    )
    SELECT 'privileges_security_definer_search_path', 'privileges', 'error', d.object_type, d.identity,
           CASE WHEN d.setting IS NULL
                THEN format('SECURITY DEFINER %s %s has no search_path of its own, so the caller''s search_path decides which objects it uses as %I.',
                            d.object_type, d.identity, pg_catalog.pg_get_userbyid(d.proowner))
                ELSE format('SECURITY DEFINER %s %s runs as %I with search_path = %s, which others can plant objects in: %s.',
                            d.object_type, d.identity, pg_catalog.pg_get_userbyid(d.proowner), d.setting,
                            array_to_string(j.problems, '; '))
           END,
           jsonb_build_object('owner', pg_catalog.pg_get_userbyid(d.proowner), 'search_path', d.setting,
                              'problems', to_jsonb(j.problems),
                              'side_effects', CASE WHEN cardinality(j.dropped) > 0
                                                   THEN format('The new search_path leaves out %s: names the %s finds there must be schema-qualified in its body.',
                                                               array_to_string(j.dropped, ', '), d.object_type)
                                                   ELSE 'None: the schemas kept are the ones only the owner may create objects in.' END),
           format('ALTER %s %s SET search_path = %s;', upper(d.object_type), d.identity,
                  array_to_string(ARRAY['pg_catalog'] || j.kept || ARRAY['pg_temp'], ', ')),
           format('privileges_security_definer_search_path:%s', d.identity)
    FROM definer d
    JOIN judged j ON j.oid = d.oid
    WHERE d.setting IS NULL OR cardinality(j.problems) > 0
$$;

UPDATE nspg_guard.lint_rules SET description = 'A SECURITY DEFINER routine without a search_path of its own, or with one others can plant objects in (a schema others may create in or that does not exist, "$user", pg_temp not last).'
WHERE rule = 'privileges_security_definer_search_path';

-- A materialized view stores the rows its query returned when it was last refreshed, read with
-- its owner's rights, and reading it checks no policy of the tables underneath (materialized
-- views cannot have row level security). Over a table with row level security (directly or
-- through views, lint_guarded_reads), every role that may SELECT from it other than its owner reads
-- rows the table's policies would not show it: every tenant's, when the owner bypasses them.
CREATE FUNCTION nspg_guard.lint_rls_matview_exposes_rows()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'rls_matview_exposes_rows', 'rls', 'error', 'materialized view', m.identity,
           format('Materialized view %s stores rows of %s, which %s row level security, as its owner %I read them; %s may read them with no policy applied.',
                  m.identity, string_agg(x.rls_table::regclass::text, ', ' ORDER BY x.rls_table::regclass::text),
                  CASE count(*) WHEN 1 THEN 'has' ELSE 'have' END, pg_catalog.pg_get_userbyid(m.relowner),
                  array_to_string(g.readers, ', ')),
           jsonb_build_object('tables', jsonb_agg(x.rls_table::regclass::text ORDER BY x.rls_table::regclass::text),
                              'owner', pg_catalog.pg_get_userbyid(m.relowner), 'readers', to_jsonb(g.readers),
                              'side_effects', 'The readers lose SELECT on the materialized view; give them a security_invoker view over the tables instead, so their own policies apply.'),
           format('REVOKE SELECT ON %s FROM %s;', m.identity, array_to_string(g.readers, ', ')),
           'rls_matview_exposes_rows:' || m.identity
    FROM nspg_guard.lint_relations() m
    JOIN nspg_guard.lint_guarded_reads() x ON x.reader = m.oid
    CROSS JOIN LATERAL (SELECT nspg_guard.lint_grantees(m.relacl, acldefault('r', m.relowner), m.relowner, ARRAY['SELECT']) AS readers) g
    WHERE m.relkind = 'm' AND cardinality(g.readers) > 0
    GROUP BY m.identity, m.relowner, g.readers
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('rls_matview_exposes_rows', 'rls', NULL,
    'A materialized view over a table with row level security that roles other than its owner may read.');

-- Partitions and inheritance children of a table with row level security hold its rows, and
-- read through the parent the parent's policies apply to them. Queried directly, only the
-- child's own privileges and row level security count: a child without row level security on
-- which roles other than its owner hold privileges (its own GRANT, or ALTER TABLE … ATTACH of a
-- table that had them) shows or changes every row it holds, whatever the parent's policies say;
-- so does one whose own row level security has a permissive SELECT or ALL policy that is always
-- true.
CREATE FUNCTION nspg_guard.lint_rls_child_table_exposes_rows()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'rls_child_table_exposes_rows', 'rls', 'error', 'table', c.identity,
           format('%s %s holds rows of %s, which has row level security, but %s: %s may query it directly (%s) with no policy applied.',
                  CASE WHEN c.relispartition THEN 'Partition' ELSE 'Inheritance child' END, c.identity,
                  t.parent_guard::regclass::text,
                  CASE WHEN c.relrowsecurity THEN 'its own policies let every row through' ELSE 'has none itself' END,
                  array_to_string(g.grantees, ', '), array_to_string(g.privileges, ', ')),
           jsonb_build_object('parent', t.parent_guard::regclass::text, 'grantees', to_jsonb(g.grantees),
                              'privileges', to_jsonb(g.privileges),
                              'side_effects', 'The grantees lose their privileges on the child itself; through the parent they keep what the parent grants them, under its policies.'),
           format('REVOKE ALL ON TABLE %s FROM %s;', c.identity, array_to_string(g.grantees, ', ')),
           'rls_child_table_exposes_rows:' || c.identity
    FROM nspg_guard.lint_relations() c
    JOIN nspg_guard.lint_guarded_tables() t ON t.oid = c.oid AND t.parent_guard IS NOT NULL
    CROSS JOIN LATERAL (
        SELECT nspg_guard.lint_grantees(c.relacl, acldefault('r', c.relowner), c.relowner,
                                        ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE']) AS grantees,
               ARRAY(SELECT DISTINCT x.privilege_type FROM aclexplode(c.relacl) x
                     WHERE x.grantee <> c.relowner AND x.privilege_type IN ('SELECT', 'INSERT', 'UPDATE', 'DELETE')
                     ORDER BY 1) AS privileges) g
    WHERE c.relkind IN ('r', 'p') AND cardinality(g.grantees) > 0
      AND (NOT c.relrowsecurity
           OR EXISTS (SELECT FROM pg_catalog.pg_policy p
                      CROSS JOIN LATERAL nspg_guard.policy_expr_analysis(p.oid, 'USING') a
                      WHERE p.polrelid = c.oid AND p.polpermissive AND p.polcmd IN ('r', '*') AND a.truth = 'always_true'))
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('rls_child_table_exposes_rows', 'rls', NULL,
    'A partition or inheritance child of a table with row level security, without its own (or with an always-true read policy), on which other roles hold privileges.');

-- A postgres_fdw foreign table pointing back into this database reads the remote table as the
-- user mapping's role: the table's policies are checked for that role (often its owner, who
-- bypasses them), not for whoever reads the foreign table, which cannot have row level security
-- of its own. "Back into this database": the server's host is this machine (absent, localhost,
-- a loopback address or a socket directory), its port is ours or absent, its dbname is ours or
-- absent (then the remote user's name), and the schema_name/table_name options (default: the
-- foreign table's own) name a table with row level security here (lint_guarded_tables).
CREATE FUNCTION nspg_guard.lint_rls_foreign_table_exposes_rows()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'rls_foreign_table_exposes_rows', 'rls', 'error', 'foreign table', f.identity,
           format('Foreign table %s reads %s of this database through server %I, as the user mapping''s role, so the table''s policies are not checked for %s.',
                  f.identity, t.oid::regclass::text, s.srvname, array_to_string(g.readers, ', ')),
           jsonb_build_object('table', t.oid::regclass::text, 'server', s.srvname, 'readers', to_jsonb(g.readers),
                              'side_effects', 'The readers lose SELECT on the foreign table; they can read the table itself, under its policies.'),
           format('REVOKE SELECT ON %s FROM %s;', f.identity, array_to_string(g.readers, ', ')),
           'rls_foreign_table_exposes_rows:' || f.identity
    FROM nspg_guard.lint_relations() f
    JOIN pg_catalog.pg_foreign_table ft ON ft.ftrelid = f.oid
    JOIN pg_catalog.pg_foreign_server s ON s.oid = ft.ftserver
    JOIN pg_catalog.pg_foreign_data_wrapper w ON w.oid = s.srvfdw AND w.fdwname = 'postgres_fdw'
    CROSS JOIN LATERAL (SELECT max(o.option_value) FILTER (WHERE o.option_name = 'host') AS host,
                               max(o.option_value) FILTER (WHERE o.option_name = 'port') AS port,
                               max(o.option_value) FILTER (WHERE o.option_name = 'dbname') AS dbname
                        FROM pg_catalog.pg_options_to_table(s.srvoptions) o) so
    CROSS JOIN LATERAL (SELECT coalesce(max(o.option_value) FILTER (WHERE o.option_name = 'schema_name'), f.nspname) AS nspname,
                               coalesce(max(o.option_value) FILTER (WHERE o.option_name = 'table_name'),
                                        (SELECT c.relname FROM pg_catalog.pg_class c WHERE c.oid = f.oid)) AS relname
                        FROM pg_catalog.pg_options_to_table(ft.ftoptions) o) fo
    JOIN pg_catalog.pg_namespace tn ON tn.nspname = fo.nspname
    JOIN pg_catalog.pg_class t ON t.relnamespace = tn.oid AND t.relname = fo.relname
    JOIN nspg_guard.lint_guarded_tables() r ON r.oid = t.oid
    CROSS JOIN LATERAL (SELECT nspg_guard.lint_grantees(f.relacl, acldefault('r', f.relowner), f.relowner, ARRAY['SELECT']) AS readers) g
    WHERE f.relkind = 'f' AND cardinality(g.readers) > 0
      AND (so.host IS NULL OR so.host IN ('', 'localhost', '::1') OR so.host LIKE '127.%' OR so.host LIKE '/%')
      AND (so.port IS NULL OR so.port = pg_catalog.current_setting('port'))
      AND (so.dbname IS NULL OR so.dbname = pg_catalog.current_database())
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('rls_foreign_table_exposes_rows', 'rls', NULL,
    'A postgres_fdw foreign table reading a table with row level security of this database, readable by other roles.');

-- A SECURITY DEFINER routine reads tables as its owner. When the owner is not subject to a
-- table's policies (a superuser, a BYPASSRLS role, or the table's owner (or a member of it) without FORCE ROW LEVEL
-- SECURITY; or the table is a child without row level security of its own), every role that may
-- execute the routine gets the table's rows with no policy applied. "Reads": the routine returns
-- the table's row type, depends on it (BEGIN ATOMIC bodies), or its body names it (a word of
-- the body equal to the table's name, case-insensitively: a name in a string or comment counts
-- too, which errs towards reporting).
CREATE FUNCTION nspg_guard.lint_rls_function_bypasses_rls()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    WITH definer AS (
        SELECT p.oid, p.proowner, p.prorettype, p.prosrc, p.proacl,
               CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END AS object_type,
               format('%I.%I(%s)', n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid)) AS identity
        FROM pg_catalog.pg_proc p
        JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
        WHERE p.prosecdef AND nspg_guard.lint_is_user_schema(n.nspname)
          AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
                          WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
    ), words AS (
        SELECT DISTINCT d.oid, w.word
        FROM definer d
        CROSS JOIN LATERAL regexp_split_to_table(lower(d.prosrc), '[^[:alnum:]_$]+') w(word)
    ), reads AS (
        SELECT d.oid, t.oid AS rls_table
        FROM definer d
        JOIN pg_catalog.pg_class t ON t.reltype = d.prorettype
        UNION
        SELECT dep.objid, dep.refobjid
        FROM pg_catalog.pg_depend dep
        WHERE dep.classid = 'pg_catalog.pg_proc'::regclass AND dep.refclassid = 'pg_catalog.pg_class'::regclass
          AND dep.objid IN (SELECT oid FROM definer)
        UNION
        SELECT w.oid, t.oid
        FROM words w
        JOIN pg_catalog.pg_class t ON lower(t.relname) = w.word AND t.relkind IN ('r', 'p')
    )
    SELECT 'rls_function_bypasses_rls', 'rls', 'error', d.object_type, d.identity,
           format('SECURITY DEFINER %s %s reads %s as %I, to whom %s policies do not apply, and %s may execute it: they get its rows with no policy applied.',
                  d.object_type, d.identity, string_agg(t.oid::regclass::text, ', ' ORDER BY t.oid::regclass::text),
                  o.rolname, CASE count(*) WHEN 1 THEN 'its' ELSE 'their' END, array_to_string(g.callers, ', ')),
           jsonb_build_object('tables', jsonb_agg(t.oid::regclass::text ORDER BY t.oid::regclass::text), 'owner', o.rolname,
                              'callers', to_jsonb(g.callers),
                              'side_effects', format('The %s then runs with its caller''s privileges: callers need privileges on what it uses, and their own policies decide which rows they get.', d.object_type)),
           format('ALTER %s %s SECURITY INVOKER;', upper(d.object_type), d.identity),
           'rls_function_bypasses_rls:' || d.identity
    FROM definer d
    JOIN reads r ON r.oid = d.oid
    JOIN nspg_guard.lint_guarded_tables() rt ON rt.oid = r.rls_table
    JOIN pg_catalog.pg_class t ON t.oid = rt.oid
    JOIN pg_catalog.pg_roles o ON o.oid = d.proowner
    CROSS JOIN LATERAL (SELECT nspg_guard.lint_grantees(d.proacl, acldefault('f', d.proowner), d.proowner, ARRAY['EXECUTE']) AS callers) g
    WHERE cardinality(g.callers) > 0
      AND (o.rolsuper OR o.rolbypassrls OR NOT t.relrowsecurity
           OR (pg_catalog.pg_has_role(o.oid, t.relowner, 'USAGE') AND NOT t.relforcerowsecurity))
    GROUP BY d.object_type, d.identity, o.rolname, g.callers
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('rls_function_bypasses_rls', 'rls', NULL,
    'A SECURITY DEFINER routine others may execute reads a table with row level security as an owner its policies do not apply to.');

-- Permissive policies are ORed: a row passes when any of them lets it. A permissive policy
-- whose USING (for SELECT, UPDATE, DELETE, ALL) or WITH CHECK (for INSERT, UPDATE, ALL) is true
-- for every row (nspg_guard.policy_expr_analysis) therefore cancels every other permissive
-- policy for the same command, for the roles both apply to: the tenant policies a reviewer
-- sees do nothing for them. Restrictive policies are ANDed and cancel nothing; nor are they
-- cancelled (the remaining rows still have to pass them).
CREATE FUNCTION nspg_guard.lint_rls_permissive_policy_cancels_others()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    WITH open AS MATERIALIZED (
        -- the always-true clauses of permissive policies, for the commands that use them
        SELECT p.oid, p.polrelid, p.polname, p.polcmd, p.polroles, r.identity, e.clause, e.commands,
               pg_catalog.pg_get_expr(e.expr, p.polrelid) AS expression
        FROM pg_catalog.pg_policy p
        JOIN nspg_guard.lint_relations() r ON r.oid = p.polrelid
        CROSS JOIN LATERAL (VALUES ('USING', p.polqual, ARRAY['r', 'w', 'd', '*']::"char"[]),
                                   ('WITH CHECK', p.polwithcheck, ARRAY['a', 'w', '*']::"char"[])) e(clause, expr, commands)
        CROSS JOIN LATERAL nspg_guard.policy_expr_analysis(p.oid, e.clause) a
        WHERE p.polpermissive AND e.expr IS NOT NULL AND p.polcmd = ANY (e.commands) AND a.truth = 'always_true'
    ), reach AS MATERIALIZED (
        SELECT x.member, x.role FROM nspg_guard.lint_role_reach() x
    )
    SELECT 'rls_permissive_policy_cancels_others', 'rls', 'error', 'policy', format('%I on %s', o.polname, o.identity),
           format('The %s expression of permissive %s policy %I on %s is always true for %s; permissive policies are ORed, so it cancels %s for those roles.',
                  o.clause, nspg_guard.lint_policy_command(o.polcmd), o.polname, o.identity,
                  array_to_string(ARRAY(SELECT nspg_guard.lint_role_name(x) FROM unnest(o.polroles) x ORDER BY 1), ', '),
                  string_agg(format('%s policy %I', nspg_guard.lint_policy_command(q.polcmd), q.polname), ', ' ORDER BY q.polname)),
           jsonb_build_object('clause', o.clause, 'command', nspg_guard.lint_policy_command(o.polcmd),
                              'expression', o.expression,
                              'roles', to_jsonb(ARRAY(SELECT nspg_guard.lint_role_name(x) FROM unnest(o.polroles) x ORDER BY 1)),
                              'cancelled', jsonb_agg(q.polname ORDER BY q.polname),
                              'side_effects', format('Roles that had rows only through %I have them only through the other policies.', o.polname)),
           format('DROP POLICY %I ON %s;', o.polname, o.identity),
           format('rls_permissive_policy_cancels_others:%I on %s:%s', o.polname, o.identity, o.clause)
    FROM open o
    JOIN pg_catalog.pg_policy q
      ON q.polrelid = o.polrelid AND q.oid <> o.oid AND q.polpermissive
     AND q.polcmd = ANY (o.commands) AND (o.polcmd = '*' OR q.polcmd = '*' OR q.polcmd = o.polcmd)
     -- some role both apply to: PUBLIC, the same role, or one a member of the other
     AND (0 = ANY (o.polroles) OR 0 = ANY (q.polroles) OR o.polroles && q.polroles
          OR EXISTS (SELECT FROM reach m
                     WHERE (m.member = ANY (q.polroles) AND m.role = ANY (o.polroles))
                        OR (m.member = ANY (o.polroles) AND m.role = ANY (q.polroles))))
    GROUP BY o.oid, o.polname, o.polcmd, o.polroles, o.identity, o.clause, o.expression
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('rls_permissive_policy_cancels_others', 'rls', NULL,
    'A permissive policy that is always true cancels the other permissive policies for its command and roles.');

-- PostgreSQL's predefined roles that hand out more than any grant on objects could, held by a
-- login role directly or through a membership chain (lint_role_reach; SET ROLE follows any
-- chain). Admin roles (nspg_guard.admin_roles) and superusers, who have all of this anyway, are
-- left out. By the real risk:
--   error: pg_execute_server_program (shell commands as the server's OS user: superuser in all
--          but name), pg_write_server_files (can overwrite the server's configuration, so the
--          same), pg_read_server_files (any file the server reads: keys, pg_hba.conf, every
--          table's data files, no privilege or policy checked), pg_read_all_data and
--          pg_write_all_data (every table of every schema, outside the grants reviewed per
--          object);
--   warn:  pg_signal_backend (cancels or terminates other roles' sessions: a denial of service,
--          or ending an admin or break-glass session), pg_read_all_stats and pg_monitor (every
--          session's statement text, literals and passwords in it included).
-- Not reported: pg_checkpoint (forces a checkpoint: I/O load, no data or privilege),
-- pg_read_all_settings (settings only; the lint itself needs it), pg_stat_scan_tables and
-- pg_database_owner (no data beyond the role's own).
CREATE FUNCTION nspg_guard.lint_roles_login_dangerous_predefined_role()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'roles_login_dangerous_predefined_role', 'roles', d.severity, 'role', m.rolname::text,
           format('Login role %I %s %s (%s), %s.',
                  m.rolname, CASE WHEN cardinality(x.path) = 2 THEN 'is a member of' ELSE 'can become' END, t.rolname,
                  array_to_string(nspg_guard.lint_role_path(x.path), ' -> '), d.risk),
           jsonb_build_object('target', t.rolname, 'path', to_jsonb(nspg_guard.lint_role_path(x.path)),
                              'side_effects', CASE WHEN cardinality(x.path) > 2
                                  THEN format('%I also loses everything else it had through %I.', m.rolname, pg_catalog.pg_get_userbyid(x.path[2]))
                                  ELSE 'None beyond the capability itself.' END),
           format('REVOKE %I FROM %I;', pg_catalog.pg_get_userbyid(x.path[2]), m.rolname),
           format('roles_login_dangerous_predefined_role:%s:%s', m.rolname, t.rolname)
    FROM nspg_guard.lint_role_reach() x
    JOIN nspg_guard.lint_roles() m ON m.oid = x.member
    JOIN pg_catalog.pg_roles t ON t.oid = x.role
    JOIN (VALUES ('pg_execute_server_program', 'error', 'which runs shell commands as the server''s operating-system user'),
                 ('pg_write_server_files', 'error', 'which writes any file the server may, its configuration included'),
                 ('pg_read_server_files', 'error', 'which reads any file the server may: keys, configuration and every table''s data files, with no privilege or policy checked'),
                 ('pg_read_all_data', 'error', 'which reads every table, view and sequence without a grant on them'),
                 ('pg_write_all_data', 'error', 'which changes every table without a grant on them'),
                 ('pg_signal_backend', 'warn', 'which cancels and terminates other roles'' sessions'),
                 ('pg_read_all_stats', 'warn', 'which shows every session''s statement text, with the literals in it'),
                 ('pg_monitor', 'warn', 'which shows every session''s statement text, with the literals in it'))
         d(rolname, severity, risk) ON d.rolname = t.rolname
    WHERE m.rolcanlogin AND NOT m.rolsuper AND NOT m.is_admin
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('roles_login_dangerous_predefined_role', 'roles', NULL,
    'A login role holds a predefined role that reaches the server''s files or programs, all data, or other sessions.');

-- Role attributes that reach beyond the role's grants, on login roles other than superusers and
-- admin roles (nspg_guard.admin_roles):
--   CREATEROLE (error): on PostgreSQL 15 such a role may grant itself or anyone membership in
--     any role but a superuser, pg_execute_server_program and every app or owner role included,
--     and change other roles' passwords. SET ROLE to a CREATEROLE role gives it too, so it is
--     followed through membership chains (lint_role_reach).
--   REPLICATION (warn): the replication protocol streams a copy of the whole cluster, every
--     table of every database, with no privilege or policy checked. Standbys need one such
--     role; it only works for the role a connection logs in as, so only the role itself counts.
-- CREATEDB is not reported: a new database holds nothing of the existing ones.
CREATE FUNCTION nspg_guard.lint_roles_login_dangerous_attribute()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'roles_login_dangerous_attribute', 'roles', a.severity, 'role', m.rolname::text,
           CASE WHEN a.path IS NULL
                THEN format('Login role %I has %s, %s.', m.rolname, a.attribute, a.risk)
                ELSE format('Login role %I can become %I (%s), which has %s, %s.', m.rolname, pg_catalog.pg_get_userbyid(a.holder),
                            array_to_string(nspg_guard.lint_role_path(a.path), ' -> '), a.attribute, a.risk)
           END,
           jsonb_build_object('attribute', a.attribute, 'holder', pg_catalog.pg_get_userbyid(a.holder),
                              'path', to_jsonb(nspg_guard.lint_role_path(a.path)),
                              'side_effects', CASE WHEN a.path IS NULL
                                  THEN format('%I can no longer %s.', m.rolname, a.lost)
                                  ELSE format('%I also loses everything else it had through %I.', m.rolname, pg_catalog.pg_get_userbyid(a.path[2])) END),
           CASE WHEN a.path IS NULL THEN format('ALTER ROLE %I NO%s;', m.rolname, a.attribute)
                ELSE format('REVOKE %I FROM %I;', pg_catalog.pg_get_userbyid(a.path[2]), m.rolname) END,
           format('roles_login_dangerous_attribute:%s:%s:%s', m.rolname, a.attribute, pg_catalog.pg_get_userbyid(a.holder))
    FROM nspg_guard.lint_roles() m
    CROSS JOIN LATERAL (
        SELECT 'CREATEROLE' AS attribute, 'error' AS severity, NULL::oid[] AS path, m.oid AS holder,
               'which on PostgreSQL 15 may grant any role but a superuser, pg_execute_server_program included, to itself or anyone' AS risk,
               'create, alter or grant roles' AS lost
        FROM pg_catalog.pg_roles r WHERE r.oid = m.oid AND r.rolcreaterole
        UNION ALL
        SELECT 'CREATEROLE', 'error', x.path, x.role,
               'which on PostgreSQL 15 may grant any role but a superuser, pg_execute_server_program included, to itself or anyone', NULL
        FROM nspg_guard.lint_role_reach() x
        JOIN pg_catalog.pg_roles r ON r.oid = x.role AND r.rolcreaterole AND NOT r.rolsuper
        WHERE x.member = m.oid
        UNION ALL
        SELECT 'REPLICATION', 'warn', NULL, m.oid,
               'so it may stream a copy of every database of the cluster with no privilege or policy checked; keep it to the standbys'' role, allowed only replication connections in pg_hba.conf',
               'stream replication (a standby using it stops)'
        FROM pg_catalog.pg_roles r WHERE r.oid = m.oid AND r.rolreplication
    ) a
    WHERE m.rolcanlogin AND NOT m.rolsuper AND NOT m.is_admin
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('roles_login_dangerous_attribute', 'roles', NULL,
    'A login role has CREATEROLE (or can become a role that has it), or REPLICATION.');

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

-- what finalize.sql gives every function: a fixed search_path; the new ones are documented
-- for PUBLIC (README, "What PUBLIC may call"), with an ACL of their own as a fresh install has
ALTER FUNCTION nspg_guard.lint_guarded_tables() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION nspg_guard.lint_guarded_reads() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION nspg_guard.lint_grantees(aclitem[], aclitem[], oid, text[]) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION nspg_guard.lint_rls_view_bypasses_rls() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION nspg_guard.lint_rls_policy_missing_with_check() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION nspg_guard.lint_rls_policy_to_public() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION nspg_guard.lint_rls_tenant_table_without_rls() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION nspg_guard.lint_rls_policy_always_true() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION nspg_guard.lint_privileges_schema_no_default_privileges() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION nspg_guard.lint_privileges_security_definer_search_path() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION nspg_guard.lint_rls_matview_exposes_rows() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION nspg_guard.lint_rls_child_table_exposes_rows() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION nspg_guard.lint_rls_foreign_table_exposes_rows() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION nspg_guard.lint_rls_function_bypasses_rls() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION nspg_guard.lint_rls_permissive_policy_cancels_others() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION nspg_guard.lint_roles_login_dangerous_predefined_role() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION nspg_guard.lint_roles_login_dangerous_attribute() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION nspg_guard.lint_privileges_default_privileges_too_broad() SET search_path = pg_catalog, pg_temp;
REVOKE EXECUTE ON FUNCTION nspg_guard.lint_guarded_tables(),
    nspg_guard.lint_guarded_reads(),
    nspg_guard.lint_grantees(aclitem[], aclitem[], oid, text[]),
    nspg_guard.lint_rls_matview_exposes_rows(),
    nspg_guard.lint_rls_child_table_exposes_rows(),
    nspg_guard.lint_rls_foreign_table_exposes_rows(),
    nspg_guard.lint_rls_function_bypasses_rls(),
    nspg_guard.lint_rls_permissive_policy_cancels_others(),
    nspg_guard.lint_roles_login_dangerous_predefined_role(),
    nspg_guard.lint_roles_login_dangerous_attribute(),
    nspg_guard.lint_privileges_default_privileges_too_broad()
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.lint_guarded_tables(),
    nspg_guard.lint_guarded_reads(),
    nspg_guard.lint_grantees(aclitem[], aclitem[], oid, text[]),
    nspg_guard.lint_rls_matview_exposes_rows(),
    nspg_guard.lint_rls_child_table_exposes_rows(),
    nspg_guard.lint_rls_foreign_table_exposes_rows(),
    nspg_guard.lint_rls_function_bypasses_rls(),
    nspg_guard.lint_rls_permissive_policy_cancels_others(),
    nspg_guard.lint_roles_login_dangerous_predefined_role(),
    nspg_guard.lint_roles_login_dangerous_attribute(),
    nspg_guard.lint_privileges_default_privileges_too_broad()
    TO PUBLIC;
-- END h16-l1
-- BEGIN h16-l2
-- Issue 16 (evidence that never overstates): not_evaluated as its own severity, remediations
-- grouped by statement (lint_remediation) with their side effects in details, snapshots of every
-- privilege-bearing catalog, the audit part of evidence() per database, the role graph's powers.
-- New functions first: the replaced ones call them.
CREATE FUNCTION nspg_guard.audit_anchored_databases() RETURNS oid[]
STRICT STABLE LANGUAGE c AS 'MODULE_PATHNAME', 'audit_anchored_databases_wrapper';

CREATE FUNCTION nspg_guard.lint_remediation(categories text[] DEFAULT NULL)
RETURNS TABLE (remediation text, findings bigint, severity text, rules text[], keys text[], side_effects text[])
LANGUAGE sql STABLE AS $$
    SELECT f.remediation, count(*),
           (array_agg(f.severity ORDER BY nspg_guard.lint_severity_rank(f.severity)))[1],
           array_agg(DISTINCT f.rule ORDER BY f.rule),
           array_agg(f.key ORDER BY f.key COLLATE "C"),
           coalesce(array_agg(DISTINCT f.details ->> 'side_effects') FILTER (WHERE f.details ? 'side_effects'), '{}')
    FROM nspg_guard.lint(categories) f
    WHERE f.remediation IS NOT NULL
    GROUP BY f.remediation
    ORDER BY min(nspg_guard.lint_severity_rank(f.severity)), count(*) DESC, f.remediation COLLATE "C"
$$;

CREATE FUNCTION nspg_guard.snapshot_object_types() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ARRAY['aggregate', 'column', 'database', 'domain', 'foreign data wrapper', 'foreign server', 'foreign table', 'function',
             'language', 'large object', 'materialized view', 'parameter', 'procedure', 'schema', 'sequence',
             'table', 'tablespace', 'type', 'view'];

CREATE FUNCTION nspg_guard.snapshot_setting_value(setting text, value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN setting ~* '(pass(word|wd|file)?|secret|token|key|credential)' THEN '***' ELSE value END;

CREATE OR REPLACE FUNCTION nspg_guard.lint_not_evaluated(rule text, category text, reason text)
RETURNS nspg_guard.lint_finding
LANGUAGE sql STABLE
RETURN ROW(rule, category, 'not_evaluated', 'rule', rule,
           format('Rule %s was not evaluated: %s.', rule, reason),
           jsonb_build_object('evaluated', false, 'role', current_user),
           NULL, rule || ':not evaluated')::nspg_guard.lint_finding;

CREATE OR REPLACE FUNCTION nspg_guard.lint_severity_rank(severity text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN array_position(ARRAY['not_evaluated', 'error', 'warn', 'info'], severity);

CREATE OR REPLACE FUNCTION nspg_guard.lint_settings_ssl_disabled()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'settings_ssl_disabled', 'settings', 'error', 'setting', s.name,
           'ssl is off: the server accepts no TLS connection, so every connection travels in cleartext.',
           jsonb_build_object('setting', s.setting, 'source', s.source, 'applies', nspg_guard.lint_setting_applies(s.context),
                              'side_effects', 'The server must find ssl_cert_file and ssl_key_file: a reload without them keeps TLS off, and a restart without them fails.'),
           'ALTER SYSTEM SET ssl = on;',
           'settings_ssl_disabled:' || s.name
    FROM pg_catalog.pg_settings s
    WHERE s.name = 'ssl' AND s.setting <> 'on'
$$;

CREATE OR REPLACE FUNCTION nspg_guard.lint_settings_ssl_min_protocol_weak()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT * FROM nspg_guard.lint_hidden_settings('settings_ssl_min_protocol_weak', ARRAY['ssl_min_protocol_version'])
    UNION ALL
    SELECT 'settings_ssl_min_protocol_weak', 'settings', 'warn', 'setting', s.name,
           format('ssl_min_protocol_version is %L: clients may negotiate TLS versions older than 1.2.', s.setting),
           jsonb_build_object('setting', s.setting, 'source', s.source, 'applies', nspg_guard.lint_setting_applies(s.context),
                              'side_effects', 'Clients that speak only TLS 1.0 or 1.1 can no longer connect.'),
           'ALTER SYSTEM SET ssl_min_protocol_version = ''TLSv1.2'';',
           'settings_ssl_min_protocol_weak:' || s.name
    FROM pg_catalog.pg_settings s
    WHERE s.name = 'ssl_min_protocol_version' AND s.setting IN ('', 'TLSv1', 'TLSv1.1')
$$;

CREATE OR REPLACE FUNCTION nspg_guard.lint_settings_password_encryption_not_scram()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'settings_password_encryption_not_scram', 'settings', 'error', 'setting', s.name,
           format('password_encryption is %L: passwords set now are stored as MD5 hashes, not SCRAM.', s.setting),
           jsonb_build_object('setting', s.setting, 'source', s.source, 'applies', nspg_guard.lint_setting_applies(s.context),
                              'side_effects', 'Passwords set from then on are SCRAM hashes: a client library that cannot do SCRAM fails to log in as a role once its password is set again. Existing MD5 hashes stay until each password is set again.'),
           'ALTER SYSTEM SET password_encryption = ''scram-sha-256'';',
           'settings_password_encryption_not_scram:' || s.name
    FROM pg_catalog.pg_settings s
    WHERE s.name = 'password_encryption' AND s.setting <> 'scram-sha-256'
$$;

CREATE OR REPLACE FUNCTION nspg_guard.lint_settings_connection_logging_off()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT * FROM nspg_guard.lint_hidden_settings('settings_connection_logging_off', ARRAY['log_connections', 'log_disconnections'])
    UNION ALL
    SELECT 'settings_connection_logging_off', 'settings', 'warn', 'setting', s.name,
           format('%s is off: the server log does not show who %s, from where and when.', s.name,
                  CASE s.name WHEN 'log_connections' THEN 'connected' ELSE 'disconnected' END),
           jsonb_build_object('setting', s.setting, 'source', s.source, 'applies', nspg_guard.lint_setting_applies(s.context),
                              'side_effects', 'One more server log line per connection (or disconnection): the log grows with the connection rate.'),
           format('ALTER SYSTEM SET %s = on;', s.name),
           'settings_connection_logging_off:' || s.name
    FROM pg_catalog.pg_settings s
    WHERE s.name IN ('log_connections', 'log_disconnections') AND s.setting <> 'on'
$$;

CREATE OR REPLACE FUNCTION nspg_guard.lint_settings_log_statement_all()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'settings_log_statement_all', 'settings', 'warn', 'setting', s.name,
           'log_statement is all: every statement, with any password or secret in it, is written to the server log.',
           jsonb_build_object('setting', s.setting, 'source', s.source, 'applies', nspg_guard.lint_setting_applies(s.context),
                              'side_effects', 'Statements other than DDL no longer reach the server log: whatever read them there (a log-based audit) needs nspg_guard''s audit classes instead.'),
           'ALTER SYSTEM SET log_statement = ''ddl'';',
           'settings_log_statement_all:' || s.name
    FROM pg_catalog.pg_settings s
    WHERE s.name = 'log_statement' AND s.setting = 'all'
$$;

CREATE OR REPLACE FUNCTION nspg_guard.lint_settings_log_line_prefix_incomplete()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'settings_log_line_prefix_incomplete', 'settings', 'warn', 'setting', s.name,
           format('log_line_prefix %L does not name the %s of each log line.', s.setting,
                  array_to_string(m.missing, ', ')),
           jsonb_build_object('setting', s.setting, 'missing', to_jsonb(m.missing), 'applies', nspg_guard.lint_setting_applies(s.context),
                              'side_effects', 'Every server log line changes shape: log shippers and parsers that split on the old prefix must be adjusted.'),
           format('ALTER SYSTEM SET log_line_prefix = %L;', s.setting || m.suffix),
           'settings_log_line_prefix_incomplete:' || s.name
    FROM pg_catalog.pg_settings s
    CROSS JOIN LATERAL (
        SELECT array_agg(e.what ORDER BY e.ord) AS missing, string_agg(e.add, '' ORDER BY e.ord) AS suffix
        FROM (VALUES (1, 'user', '%u', 'user=%u '), (2, 'database', '%d', 'db=%d '), (3, 'client host', '%h', 'host=%h ')) e(ord, what, escape, add)
        WHERE strpos(s.setting, e.escape) = 0 AND NOT (e.escape = '%h' AND strpos(s.setting, '%r') > 0)
    ) m
    WHERE s.name = 'log_line_prefix' AND m.missing IS NOT NULL
$$;

CREATE OR REPLACE FUNCTION nspg_guard.lint_settings_guard_not_enforced()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'settings_guard_not_enforced', 'settings', 'error', 'setting', 'shared_preload_libraries',
           'nspg_guard is not in shared_preload_libraries, so none of its guards is active.',
           jsonb_build_object('hooks_active', false),
           NULL,
           'settings_guard_not_enforced:shared_preload_libraries'
    WHERE NOT nspg_guard.hooks_active()
    UNION ALL
    SELECT 'settings_guard_not_enforced', 'settings', CASE s.setting WHEN 'off' THEN 'error' ELSE 'warn' END,
           'setting', s.name,
           format('%s is %s, not enforce: %s.', s.name, s.setting,
                  CASE s.setting WHEN 'off' THEN 'the guard does nothing' ELSE 'the guard only warns' END),
           jsonb_build_object('setting', s.setting, 'source', s.source, 'applies', nspg_guard.lint_setting_applies(s.context),
                              'side_effects', 'Statements the guard only warned about are refused from then on: applications and migrations that run them fail.'),
           format('ALTER SYSTEM SET %s = enforce;', s.name),
           'settings_guard_not_enforced:' || s.name
    FROM pg_catalog.pg_settings s
    WHERE s.name ~ '^nspg_guard\.[a-z_]+_guard$' AND s.vartype = 'enum' AND s.setting <> 'enforce'
$$;

CREATE OR REPLACE FUNCTION nspg_guard.lint_settings_breakglass_self_approve_on()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'settings_breakglass_self_approve_on', 'settings', 'warn', 'setting', 'nspg_guard.breakglass_self_approve',
           'nspg_guard.breakglass_self_approve is on: requesters approve their own break-glass requests.',
           jsonb_build_object('setting', s.setting, 'source', s.source,
                              'side_effects', 'Every break-glass request then needs a second person to approve it: an on-call engineer alone can no longer break glass.'),
           'ALTER SYSTEM RESET nspg_guard.breakglass_self_approve; SELECT pg_reload_conf();',
           'settings_breakglass_self_approve_on:nspg_guard.breakglass_self_approve'
    FROM pg_catalog.pg_settings s
    WHERE s.name = 'nspg_guard.breakglass_self_approve' AND s.setting = 'on'
$$;

CREATE OR REPLACE FUNCTION nspg_guard.lint_audit_classes_incomplete()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'audit_classes_incomplete', 'audit', 'warn', 'setting', 'nspg_guard.audit',
           format('nspg_guard.audit leaves out class %s: %s are not recorded.', c.class, c.what),
           jsonb_build_object('setting', pg_catalog.current_setting('nspg_guard.audit', true), 'missing', c.class,
                              'side_effects', 'Replaces the whole setting: every class but access is recorded (a login row per connection among them), so the trail grows faster; per-table access auditing then needs audit_relation() only.'),
           'ALTER SYSTEM SET nspg_guard.audit = ''all, -access'';',
           'audit_classes_incomplete:' || c.class
    FROM (VALUES ('login', 'logins and failed logins'), ('schema', 'schema changes'),
                 ('privilege', 'privilege changes'), ('role', 'role changes'),
                 ('destructive', 'TRUNCATE, DROP and overridden destructive statements'),
                 ('denied', 'refused statements'), ('config', 'changes of audit-relevant settings'),
                 ('override', 'uses of the destructive override'),
                 ('risky', 'LOAD and COPY to/from server files or programs run by admins'),
                 ('admin', 'admin sessions ended at their maximum duration and role lockdowns'),
                 ('breakglass', 'break-glass requests, approvals, expiries and escalated statements')) c(class, what)
    WHERE pg_catalog.current_setting('nspg_guard.audit', true) IS NOT NULL
      AND c.class <> ALL (nspg_guard.audit_classes_active())
$$;

CREATE OR REPLACE FUNCTION nspg_guard.lint_audit_destination_not_table()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'audit_destination_not_table', 'audit', 'warn', 'setting', 'nspg_guard.audit_destination',
           'Audit events go to the server log only: no append-only, hash-chained table keeps them.',
           jsonb_build_object('setting', d.setting,
                              'side_effects', 'Events are then also rows of nspg_guard.audit_log in nspg_guard.audit_database: the table grows until audit_purge() removes rows older than the retention.'),
           'ALTER SYSTEM SET nspg_guard.audit_destination = ''table, log'';',
           'audit_destination_not_table:nspg_guard.audit_destination'
    FROM (SELECT pg_catalog.current_setting('nspg_guard.audit_destination', true) AS setting) d
    WHERE d.setting IS NOT NULL AND d.setting !~* '(^|,)\s*table\s*(,|$)'
$$;

CREATE OR REPLACE FUNCTION nspg_guard.lint_audit_retention_short()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'audit_retention_short', 'audit', 'warn', 'setting', 'nspg_guard.audit_retention',
           format('Audit rows may be purged after %s, less than the one year NS-PG-007 §7.3 baseline.', r.setting),
           jsonb_build_object('setting', r.setting, 'seconds', r.seconds,
                              'side_effects', 'audit_purge() keeps a year of rows: the audit table holds more rows, and needs the disk for them.'),
           'ALTER SYSTEM SET nspg_guard.audit_retention = ''365d'';',
           'audit_retention_short:nspg_guard.audit_retention'
    FROM (SELECT pg_catalog.current_setting(s.name) AS setting, s.setting::bigint AS seconds
          FROM pg_catalog.pg_settings s WHERE s.name = 'nspg_guard.audit_retention') r
    WHERE r.seconds < 365 * 24 * 3600
$$;

CREATE OR REPLACE FUNCTION nspg_guard.lint_audit_ran_without_nspg_guard()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'audit_ran_without_nspg_guard', 'audit', 'error', 'server', 'nspg_guard.audit_log',
           format('The server ran without nspg_guard before the start at %s: %s.', r->>'noticed_at', r->'evidence'->>'why'),
           coalesce(r->'evidence', '{}') || jsonb_build_object('side_effects',
               'Acknowledges every unguarded run listed, not only this one: read each finding before running it.'),
           'SELECT nspg_guard.acknowledge_unguarded_runs(''what was found, e.g. a change ticket and audit_verify() ok'')',
           'audit_ran_without_nspg_guard:' || (r->>'id')
    FROM jsonb_array_elements(nspg_guard.unguarded_runs()) r
$$;

CREATE OR REPLACE FUNCTION nspg_guard.privilege_snapshot() RETURNS jsonb
LANGUAGE sql STABLE AS $$
    WITH objects AS (
        -- every object that carries an ACL in PostgreSQL 15 (pg_catalog's *acl columns), with
        -- its owner: databases, tablespaces, foreign data wrappers and servers, trusted
        -- languages (GRANT refuses untrusted ones), and the schemas, relations, routines and
        -- types outside PostgreSQL's, nspg_guard's and extensions' own
        SELECT 'database' AS object_type, quote_ident(d.datname) AS object, d.datdba AS owner,
               coalesce(d.datacl, acldefault('d', d.datdba)) AS acl
        FROM pg_catalog.pg_database d
        UNION ALL
        SELECT 'tablespace', quote_ident(t.spcname), t.spcowner, coalesce(t.spcacl, acldefault('t', t.spcowner))
        FROM pg_catalog.pg_tablespace t WHERE t.spcname <> 'pg_global'
        UNION ALL
        SELECT 'foreign data wrapper', quote_ident(w.fdwname), w.fdwowner, coalesce(w.fdwacl, acldefault('F', w.fdwowner))
        FROM pg_catalog.pg_foreign_data_wrapper w
        UNION ALL
        SELECT 'foreign server', quote_ident(v.srvname), v.srvowner, coalesce(v.srvacl, acldefault('S', v.srvowner))
        FROM pg_catalog.pg_foreign_server v
        UNION ALL
        SELECT 'language', quote_ident(l.lanname), l.lanowner, coalesce(l.lanacl, acldefault('l', l.lanowner))
        FROM pg_catalog.pg_language l WHERE l.lanpltrusted
        UNION ALL
        SELECT 'schema', quote_ident(n.nspname), n.nspowner, coalesce(n.nspacl, acldefault('n', n.nspowner))
        FROM pg_catalog.pg_namespace n
        WHERE nspg_guard.lint_is_user_schema(n.nspname)
        UNION ALL
        SELECT CASE r.relkind WHEN 'S' THEN 'sequence' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
                              WHEN 'f' THEN 'foreign table' ELSE 'table' END,
               r.identity, r.relowner, coalesce(r.relacl, acldefault((CASE r.relkind WHEN 'S' THEN 's' ELSE 'r' END)::"char", r.relowner))
        FROM nspg_guard.lint_relations() r
        UNION ALL
        SELECT CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' ELSE 'function' END,
               format('%I.%I(%s)', n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid)),
               p.proowner, coalesce(p.proacl, acldefault('f', p.proowner))
        FROM pg_catalog.pg_proc p
        JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
        WHERE nspg_guard.lint_is_user_schema(n.nspname)
          AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
                          WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
        UNION ALL
        -- types GRANT USAGE ON TYPE / DOMAIN acts on: not array types (their element's ACL
        -- applies) and not a relation's row type
        SELECT CASE t.typtype WHEN 'd' THEN 'domain' ELSE 'type' END,
               format('%I.%I', n.nspname, t.typname), t.typowner, coalesce(t.typacl, acldefault('T', t.typowner))
        FROM pg_catalog.pg_type t
        JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
        WHERE nspg_guard.lint_is_user_schema(n.nspname)
          AND (t.typtype IN ('b', 'd', 'e', 'r')
               OR (t.typtype = 'c' AND EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid AND c.relkind = 'c')))
          AND NOT EXISTS (SELECT FROM pg_catalog.pg_type e WHERE e.typarray = t.oid)
          AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
                          WHERE d.classid = 'pg_catalog.pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')
    ),
    ownerless_acls AS (
        -- column grants (the table's owner is listed with the table); parameters (GRANT SET /
        -- ALTER SYSTEM ON PARAMETER), which have no owner; large objects, of which only the
        -- grants beyond their owner's are listed (a database can hold millions of them)
        SELECT 'column' AS object_type, format('%s.%I', r.identity, a.attname) AS object, x.grantee, x.privilege_type, x.is_grantable
        FROM pg_catalog.pg_attribute a
        JOIN nspg_guard.lint_relations() r ON r.oid = a.attrelid
        CROSS JOIN LATERAL aclexplode(a.attacl) x
        WHERE a.attacl IS NOT NULL AND a.attnum > 0 AND NOT a.attisdropped
        UNION ALL
        SELECT 'parameter', p.parname, x.grantee, x.privilege_type, x.is_grantable
        FROM pg_catalog.pg_parameter_acl p
        CROSS JOIN LATERAL aclexplode(p.paracl) x
        -- what the bootstrap superuser holds by default is not a grant
        WHERE (x.grantee, x.privilege_type, x.is_grantable) NOT IN (
                  SELECT b.grantee, b.privilege_type, b.is_grantable FROM aclexplode(acldefault('p', 10)) b)
        UNION ALL
        SELECT 'large object', m.oid::text, x.grantee, x.privilege_type, x.is_grantable
        FROM pg_catalog.pg_largeobject_metadata m
        CROSS JOIN LATERAL aclexplode(m.lomacl) x
        WHERE m.lomacl IS NOT NULL AND x.grantee <> m.lomowner
    )
    SELECT jsonb_build_object(
        'format', 2,
        'covers', to_jsonb(nspg_guard.snapshot_object_types()),
        'database', current_database(),
        'roles', (
            SELECT coalesce(jsonb_agg(jsonb_build_object(
                       'name', r.rolname, 'superuser', r.rolsuper, 'login', r.rolcanlogin, 'inherit', r.rolinherit,
                       'createrole', r.rolcreaterole, 'createdb', r.rolcreatedb, 'replication', r.rolreplication,
                       'bypassrls', r.rolbypassrls, 'connection_limit', r.rolconnlimit, 'valid_until', r.rolvaliduntil)
                   ORDER BY r.rolname COLLATE "C"), '[]')
            FROM pg_catalog.pg_roles r WHERE r.rolname !~ '^pg_'),
        'memberships', (
            SELECT coalesce(jsonb_agg(jsonb_build_object(
                       'role', pg_catalog.pg_get_userbyid(m.roleid), 'member', pg_catalog.pg_get_userbyid(m.member),
                       'admin_option', m.admin_option)
                   ORDER BY pg_catalog.pg_get_userbyid(m.roleid) COLLATE "C", pg_catalog.pg_get_userbyid(m.member) COLLATE "C"), '[]')
            FROM pg_catalog.pg_auth_members m),
        'owners', (
            SELECT coalesce(jsonb_agg(jsonb_build_object('object_type', o.object_type, 'object', o.object,
                                                         'owner', pg_catalog.pg_get_userbyid(o.owner))
                   ORDER BY o.object_type, o.object COLLATE "C"), '[]')
            FROM objects o),
        'privileges', (
            SELECT coalesce(jsonb_agg(jsonb_build_object('object_type', g.object_type, 'object', g.object,
                                                         'grantee', g.grantee, 'privilege', g.privilege,
                                                         'grantable', g.grantable)
                   ORDER BY g.object_type, g.object COLLATE "C", g.grantee COLLATE "C", g.privilege), '[]')
            FROM (SELECT o.object_type, o.object, nspg_guard.lint_role_name(x.grantee) AS grantee,
                         x.privilege_type AS privilege, x.is_grantable AS grantable
                  FROM objects o
                  CROSS JOIN LATERAL aclexplode(o.acl) x
                  UNION ALL
                  SELECT a.object_type, a.object, nspg_guard.lint_role_name(a.grantee), a.privilege_type, a.is_grantable
                  FROM ownerless_acls a) g),
        'default_privileges', (
            -- what ALTER DEFAULT PRIVILEGES changed: a database-wide entry replaces the built-in
            -- default (acldefault), so it is compared with it and shows grants and revocations;
            -- a per-schema entry only adds grants
            SELECT coalesce(jsonb_agg(jsonb_build_object('owner', g.owner, 'schema', g.schema, 'object_type', g.object_type,
                                                         'grantee', nspg_guard.lint_role_name(g.grantee), 'privilege', g.privilege,
                                                         'effect', g.effect, 'grantable', g.grantable)
                   ORDER BY g.owner COLLATE "C", g.schema COLLATE "C", g.object_type,
                            nspg_guard.lint_role_name(g.grantee) COLLATE "C", g.privilege), '[]')
            FROM (SELECT pg_catalog.pg_get_userbyid(x.defaclrole) AS owner,
                         coalesce(quote_ident(n.nspname), '(all schemas)') AS schema,
                         CASE x.defaclobjtype WHEN 'r' THEN 'tables' WHEN 'S' THEN 'sequences' WHEN 'f' THEN 'functions'
                                              WHEN 'T' THEN 'types' ELSE 'schemas' END AS object_type,
                         x.grantee, x.privilege, x.effect, x.grantable
                  FROM (
                      SELECT a.defaclrole, a.defaclnamespace, a.defaclobjtype, e.grantee, e.privilege_type AS privilege,
                             'granted' AS effect, e.is_grantable AS grantable
                      FROM pg_catalog.pg_default_acl a
                      CROSS JOIN LATERAL aclexplode(a.defaclacl) e
                      WHERE a.defaclnamespace <> 0
                         OR (e.grantee, e.privilege_type, e.is_grantable) NOT IN (
                                SELECT b.grantee, b.privilege_type, b.is_grantable
                                FROM aclexplode(nspg_guard.lint_builtin_default_acl(a.defaclobjtype, a.defaclrole)) b)
                      UNION ALL
                      SELECT a.defaclrole, a.defaclnamespace, a.defaclobjtype, b.grantee, b.privilege_type,
                             'revoked', false
                      FROM pg_catalog.pg_default_acl a
                      CROSS JOIN LATERAL aclexplode(nspg_guard.lint_builtin_default_acl(a.defaclobjtype, a.defaclrole)) b
                      WHERE a.defaclnamespace = 0
                        AND (b.grantee, b.privilege_type) NOT IN (SELECT e.grantee, e.privilege_type FROM aclexplode(a.defaclacl) e)
                  ) x
                  LEFT JOIN pg_catalog.pg_namespace n ON n.oid = x.defaclnamespace) g),
        'policies', (
            SELECT coalesce(jsonb_agg(jsonb_build_object(
                       'table', r.identity, 'name', p.polname, 'permissive', p.polpermissive,
                       'command', nspg_guard.lint_policy_command(p.polcmd),
                       'roles', (SELECT jsonb_agg(nspg_guard.lint_role_name(u) ORDER BY nspg_guard.lint_role_name(u) COLLATE "C")
                                 FROM unnest(p.polroles) u),
                       'using', pg_catalog.pg_get_expr(p.polqual, p.polrelid),
                       'with_check', pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid))
                   ORDER BY r.identity COLLATE "C", p.polname COLLATE "C"), '[]')
            FROM pg_catalog.pg_policy p
            JOIN nspg_guard.lint_relations() r ON r.oid = p.polrelid),
        'row_security', (
            -- whether policies apply at all: ALTER TABLE … ENABLE / FORCE ROW LEVEL SECURITY
            SELECT coalesce(jsonb_agg(jsonb_build_object('table', r.identity, 'enabled', r.relrowsecurity,
                                                         'forced', r.relforcerowsecurity)
                   ORDER BY r.identity COLLATE "C"), '[]')
            FROM nspg_guard.lint_relations() r
            WHERE r.relrowsecurity OR r.relforcerowsecurity),
        'role_settings', (
            -- ALTER ROLE … SET and ALTER DATABASE … SET (search_path, role, session settings)
            SELECT coalesce(jsonb_agg(jsonb_build_object('role', x.role, 'database', x.database, 'setting', x.setting,
                                                         'value', nspg_guard.snapshot_setting_value(x.setting, x.value))
                   ORDER BY x.role COLLATE "C", x.database COLLATE "C", x.setting COLLATE "C"), '[]')
            FROM (SELECT CASE WHEN s.setrole = 0 THEN '(all roles)' ELSE pg_catalog.pg_get_userbyid(s.setrole)::text END AS role,
                         coalesce((SELECT quote_ident(d.datname) FROM pg_catalog.pg_database d WHERE d.oid = s.setdatabase),
                                  '(all databases)') AS database,
                         split_part(c, '=', 1) AS setting, substr(c, strpos(c, '=') + 1) AS value
                  FROM pg_catalog.pg_db_role_setting s
                  CROSS JOIN LATERAL unnest(s.setconfig) c) x),
        'user_mappings', (
            -- which role may use which foreign server as which remote user: that a mapping
            -- exists, never its options (they hold the remote credentials)
            SELECT coalesce(jsonb_agg(jsonb_build_object('server', quote_ident(u.srvname::text),
                                                         'user', nspg_guard.lint_role_name(u.umuser))
                   ORDER BY u.srvname COLLATE "C", nspg_guard.lint_role_name(u.umuser) COLLATE "C"), '[]')
            FROM pg_catalog.pg_user_mappings u)
    )
$$;

CREATE OR REPLACE FUNCTION nspg_guard.snapshot_diff(a bigint, b bigint)
RETURNS TABLE (change text, section text, object text, before jsonb, after jsonb)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    old_doc jsonb;
    new_doc jsonb;
    -- the object types of snapshots taken before format 2 (nspg_guard 0.2.0)
    format_1_types constant text[] := ARRAY['aggregate', 'column', 'database', 'foreign table', 'function',
                                            'materialized view', 'procedure', 'schema', 'sequence', 'table', 'view'];
    covered text[];
BEGIN
    IF a IS NULL OR b IS NULL THEN
        RAISE EXCEPTION 'nspg_guard: snapshot_diff: snapshot ids must not be null'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The ids are in SELECT id, label, taken_at FROM nspg_guard.snapshots;';
    END IF;
    SELECT s.snapshot INTO old_doc FROM nspg_guard.snapshots s WHERE s.id = a;
    SELECT s.snapshot INTO new_doc FROM nspg_guard.snapshots s WHERE s.id = b;
    IF old_doc IS NULL OR new_doc IS NULL THEN
        RAISE EXCEPTION 'nspg_guard: there is no snapshot %', CASE WHEN old_doc IS NULL THEN a ELSE b END
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The ids are in SELECT id, label, taken_at FROM nspg_guard.snapshots;';
    END IF;
    -- what both documents list (a snapshot of an older format lists less): the rest is unknown
    -- on one side, not added or removed
    SELECT array_agg(t) INTO covered
    FROM jsonb_array_elements_text(coalesce(old_doc -> 'covers', to_jsonb(format_1_types))) t
    WHERE t IN (SELECT jsonb_array_elements_text(coalesce(new_doc -> 'covers', to_jsonb(format_1_types))));
    RETURN QUERY
    WITH sections(section, id_fields) AS (
        VALUES ('roles', ARRAY['name']),
               ('memberships', ARRAY['role', 'member']),
               ('owners', ARRAY['object_type', 'object']),
               ('privileges', ARRAY['object_type', 'object', 'grantee', 'privilege']),
               ('default_privileges', ARRAY['owner', 'schema', 'object_type', 'grantee', 'privilege']),
               ('policies', ARRAY['table', 'name']),
               ('row_security', ARRAY['table']),
               ('role_settings', ARRAY['role', 'database', 'setting']),
               ('user_mappings', ARRAY['server', 'user'])
    ),
    entries AS (
        SELECT d.side, s.section, s.id_fields, e,
               (SELECT jsonb_object_agg(f, e -> f) FROM unnest(s.id_fields) f) AS id
        FROM sections s
        CROSS JOIN (VALUES ('old', old_doc), ('new', new_doc)) d(side, doc)
        CROSS JOIN LATERAL jsonb_array_elements(coalesce(d.doc -> s.section, '[]')) e
        WHERE old_doc ? s.section AND new_doc ? s.section
          AND (s.section NOT IN ('owners', 'privileges') OR e ->> 'object_type' = ANY (covered))
    ),
    old_entries AS (SELECT * FROM entries WHERE side = 'old'),
    new_entries AS (SELECT * FROM entries WHERE side = 'new')
    SELECT d.* FROM (
    SELECT CASE WHEN o.e IS NULL THEN 'added' WHEN n.e IS NULL THEN 'removed' ELSE 'changed' END,
           coalesce(o.section, n.section),
           (SELECT string_agg(coalesce(x.e ->> f, ''), ' / ' ORDER BY i)
            FROM unnest(coalesce(o.id_fields, n.id_fields)) WITH ORDINALITY u(f, i)
            CROSS JOIN (SELECT coalesce(o.e, n.e) AS e) x),
           CASE WHEN n.e IS NULL THEN o.e
                WHEN o.e IS NOT NULL THEN (SELECT jsonb_object_agg(k, o.e -> k) FROM jsonb_object_keys(o.e || n.e) k
                                           WHERE o.e -> k IS DISTINCT FROM n.e -> k) END,
           CASE WHEN o.e IS NULL THEN n.e
                WHEN n.e IS NOT NULL THEN (SELECT jsonb_object_agg(k, n.e -> k) FROM jsonb_object_keys(o.e || n.e) k
                                           WHERE o.e -> k IS DISTINCT FROM n.e -> k) END
    FROM old_entries o
    FULL JOIN new_entries n ON n.section = o.section AND n.id = o.id
    WHERE o.e IS DISTINCT FROM n.e
    ) d(change, section, object, before, after)
    ORDER BY d.section, d.object COLLATE "C", d.change;
END
$$;

CREATE OR REPLACE FUNCTION nspg_guard.evidence() RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v record;
    here jsonb;
    anchored_dbs oid[];
    hba jsonb;
    md5_roles jsonb;
    findings jsonb;
    audit jsonb;
    breakglass jsonb;
    rotation jsonb;
BEGIN
    -- §11 audit log retention proof: what the trail holds and exactly what was verified. The
    -- trail is per database and evidence() runs in one: this database's chain is verified here;
    -- the other databases whose chain was ever sealed (an anchor file is kept for them) are
    -- named as not verified from here, never counted as verified.
    IF pg_catalog.current_setting('nspg_guard.audit', true) IS NULL THEN
        audit := jsonb_build_object('verified', false, 'status', 'not available: the nspg_guard library is not loaded');
    ELSIF NOT nspg_guard.lint_can_read('nspg_guard.audit_log') THEN
        audit := jsonb_build_object('verified', false,
                                    'status', 'not evaluated: ' || nspg_guard.lint_read_requirement('nspg_guard.audit_log'));
    ELSE
        anchored_dbs := nspg_guard.audit_anchored_databases();
        SELECT * INTO v FROM nspg_guard.audit_verify();
        SELECT jsonb_build_object(
                   'database', current_database(),
                   'verified_here', true,
                   'rows_present', t.n,
                   'rows_checked', v.rows_checked,
                   'rows_unsealed', v.rows_unsealed,
                   'oldest_unsealed', v.oldest_unsealed,
                   -- an anchor kept outside the tables, and the chain continuing from it
                   'anchored', coalesce(v.anchored AND (SELECT d.oid FROM pg_catalog.pg_database d
                                                        WHERE d.datname = current_database()) = ANY (anchored_dbs), false),
                   'chain_ok', v.ok,
                   'first_broken_id', v.first_broken_id,
                   'problem', v.problem,
                   -- verified: the chain checks and covers at least one row; never when nothing was checked
                   'verified', v.ok AND v.rows_checked > 0,
                   'status', CASE WHEN NOT v.ok THEN 'failed: ' || v.problem
                                  WHEN t.n = 0 AND v.rows_checked = 0 THEN 'nothing verified: the trail of this database has no rows'
                                  WHEN v.rows_checked = 0 THEN format('not verified: none of the %s rows was ever sealed', t.n)
                                  WHEN v.rows_unsealed > 0 THEN format('verified in part: %s sealed rows verified, %s rows not sealed yet',
                                                                       v.rows_checked, v.rows_unsealed)
                                  ELSE format('verified: %s sealed rows verified, none unsealed', v.rows_checked) END)
        INTO here
        FROM (SELECT count(*) AS n FROM nspg_guard.audit_log) t;
        SELECT jsonb_build_object(
                   'oldest_event', min(l.event_time), 'newest_event', max(l.event_time),
                   'retention', pg_catalog.current_setting('nspg_guard.audit_retention'),
                   'classes', pg_catalog.current_setting('nspg_guard.audit'),
                   'destination', pg_catalog.current_setting('nspg_guard.audit_destination'),
                   'audit_database', pg_catalog.current_setting('nspg_guard.audit_database', true),
                   'this_database', here,
                   'verified', here -> 'verified',
                   'status', here ->> 'status',
                   'other_databases', CASE WHEN anchored_dbs IS NULL
                       THEN to_jsonb('unknown: the anchor files in $PGDATA/nspg_guard cannot be read'::text)
                       ELSE (SELECT coalesce(jsonb_agg(jsonb_build_object(
                                         'database', d.datname, 'verified_here', false,
                                         'status', format('not verified from here: run SELECT nspg_guard.evidence() in database %I', d.datname))
                                     ORDER BY d.datname COLLATE "C"), '[]')
                             FROM pg_catalog.pg_database d
                             WHERE d.oid = ANY (anchored_dbs) AND d.datname <> current_database()) END,
                   'other_databases_listed', 'those whose trail was ever sealed (an anchor file is kept); a database whose trail was never sealed is not visible from here')
        INTO audit FROM nspg_guard.audit_log l;
    END IF;
    -- §11 break-glass usage logs: the registry lives in the audit database
    IF current_database() IS DISTINCT FROM pg_catalog.current_setting('nspg_guard.audit_database', true) THEN
        breakglass := jsonb_build_object('status', format('kept in database %L (nspg_guard.audit_database): run evidence() there',
                                                          pg_catalog.current_setting('nspg_guard.audit_database', true)));
    ELSE
        SELECT jsonb_build_object(
                   'requests', count(*), 'active', count(*) FILTER (WHERE u.state = 'active'),
                   'self_approved', count(*) FILTER (WHERE u.self_approved),
                   'reviews_due', count(*) FILTER (WHERE u.review_status = 'review due'),
                   'usages_last_year', coalesce(jsonb_agg(to_jsonb(u) ORDER BY u.id)
                                                FILTER (WHERE u.requested_at > now() - interval '1 year'), '[]'))
        INTO breakglass FROM nspg_guard.breakglass_usages u;
    END IF;
    -- §10 secrets rotation evidence
    IF nspg_guard.is_admin() THEN
        WITH ages AS (SELECT * FROM nspg_guard.credential_age())
        SELECT jsonb_build_object(
                   'credential_max_age', pg_catalog.current_setting('nspg_guard.credential_max_age'),
                   'login_roles', (SELECT count(*) FROM ages),
                   'by_status', (SELECT coalesce(jsonb_object_agg(a.status, a.n), '{}')
                                 FROM (SELECT status, count(*) AS n FROM ages GROUP BY status) a),
                   'rotation_due', (SELECT coalesce(jsonb_agg(role ORDER BY role), '[]') FROM ages WHERE rotation_due))
        INTO rotation;
    ELSE
        rotation := jsonb_build_object('status', 'not evaluated: credential_age() is for admin roles and superusers');
    END IF;
    -- lint() once, suppressed findings included, in lint()'s order
    SELECT coalesce(jsonb_agg(to_jsonb(f) - 'n' ORDER BY f.n), '[]') INTO findings
    FROM nspg_guard.lint(NULL, true)
         WITH ORDINALITY f(rule, category, severity, object_type, object_identity, message, details,
                           remediation, key, suppressed, n);
    IF nspg_guard.lint_can_read('pg_catalog.pg_hba_file_rules') THEN
        SELECT jsonb_build_object(
                   'hostssl_only', coalesce(bool_and(l.type = 'hostssl'), true),
                   'non_tls_network_lines', count(*) FILTER (WHERE l.type <> 'hostssl'),
                   'scram_only', coalesce(bool_and(l.auth_method IN ('scram-sha-256', 'cert', 'gss', 'sspi')), true))
        INTO hba
        FROM unnest(nspg_guard.hba_file_lines()) l
        WHERE l.error IS NULL AND l.auth_method <> 'reject' AND l.type LIKE 'host%';
    ELSE
        hba := to_jsonb('not evaluated: ' || nspg_guard.lint_read_requirement('pg_catalog.pg_hba_file_rules'));
    END IF;
    IF nspg_guard.lint_can_read('pg_catalog.pg_authid') THEN
        SELECT to_jsonb(count(*)) INTO md5_roles FROM pg_catalog.pg_authid WHERE rolpassword LIKE 'md5%';
    ELSE
        md5_roles := to_jsonb('not evaluated: ' || nspg_guard.lint_read_requirement('pg_catalog.pg_authid'));
    END IF;
    RETURN jsonb_build_object(
        'generated_at', now(),
        'generated_by', current_user,
        'database', current_database(),
        'server_version', pg_catalog.current_setting('server_version'),
        'inventory', nspg_guard.privilege_snapshot(),
        'last_access_review', coalesce(
            (SELECT to_jsonb(r) FROM nspg_guard.access_reviews r ORDER BY r.recorded_at DESC, r.id DESC LIMIT 1),
            jsonb_build_object('status', 'none recorded: see nspg_guard.access_review_record')),
        'audit_retention', audit,
        'break_glass', breakglass,
        'credential_rotation', rotation,
        'encryption', jsonb_build_object(
            'in_transit', jsonb_build_object(
                'ssl', pg_catalog.current_setting('ssl'),
                'ssl_min_protocol_version', coalesce(
                    (SELECT to_jsonb(s.setting) FROM pg_catalog.pg_settings s WHERE s.name = 'ssl_min_protocol_version'),
                    to_jsonb('not visible to this role'::text)),
                'hba', hba),
            'passwords', jsonb_build_object(
                'password_encryption', pg_catalog.current_setting('password_encryption'),
                'md5_password_roles', md5_roles),
            'at_rest', jsonb_build_object('status', 'not verifiable from inside PostgreSQL: attach the storage encryption evidence'),
            'backups', jsonb_build_object('status', 'not verifiable from inside PostgreSQL: attach the backup encryption evidence (NS-PG-003)')),
        -- a rule not evaluated is no finding: it is counted apart, suppressed or not, so that a
        -- role that sees less never shows a better posture
        'open_findings', (SELECT coalesce(jsonb_agg(f - 'suppressed' ORDER BY i), '[]')
                          FROM jsonb_array_elements(findings) WITH ORDINALITY e(f, i)
                          WHERE NOT (f ->> 'suppressed')::boolean AND f ->> 'severity' <> 'not_evaluated'),
        'open_findings_by_severity', (SELECT coalesce(jsonb_object_agg(s.severity, s.n), '{}')
                                      FROM (SELECT f ->> 'severity' AS severity, count(*) AS n
                                            FROM jsonb_array_elements(findings) f
                                            WHERE NOT (f ->> 'suppressed')::boolean AND f ->> 'severity' <> 'not_evaluated'
                                            GROUP BY 1) s),
        'suppressed_findings', (SELECT count(*) FROM jsonb_array_elements(findings) f
                                WHERE (f ->> 'suppressed')::boolean AND f ->> 'severity' <> 'not_evaluated'),
        'not_evaluated', (SELECT jsonb_build_object(
                                     'count', count(*),
                                     'posture_complete', count(*) = 0,
                                     'rules', coalesce(jsonb_agg(jsonb_build_object('rule', f ->> 'rule', 'category', f ->> 'category',
                                                                                    'reason', f ->> 'message')
                                                                 ORDER BY f ->> 'rule', f ->> 'key'), '[]'))
                          FROM jsonb_array_elements(findings) f
                          WHERE f ->> 'severity' = 'not_evaluated')
    );
END
$$;

CREATE OR REPLACE FUNCTION nspg_guard.role_graph() RETURNS text
LANGUAGE sql STABLE AS $$
    WITH roles AS (
        SELECT r.oid, r.rolname, r.rolcanlogin,
               -- the powers a role holds itself, worst first
               array_remove(ARRAY[
                   CASE WHEN r.rolsuper THEN 'superuser' END,
                   CASE WHEN r.rolname IN ('pg_execute_server_program', 'pg_read_server_files', 'pg_write_server_files')
                        THEN r.rolname::text END,
                   CASE WHEN r.rolbypassrls AND NOT r.rolsuper THEN 'BYPASSRLS' END,
                   CASE WHEN r.rolcreaterole AND NOT r.rolsuper THEN 'CREATEROLE' END,
                   CASE WHEN nspg_guard.role_in_set(r.rolname, 'admin') THEN 'admin' END], NULL) AS powers
        FROM pg_catalog.pg_roles r
        WHERE r.rolname !~ '^pg_'
           OR EXISTS (SELECT FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles mr ON mr.oid = m.member
                      WHERE m.roleid = r.oid AND mr.rolname !~ '^pg_')
    ),
    -- the powers each role can reach through its memberships (SET ROLE along any chain)
    reachable AS (
        SELECT x.member AS oid, array_agg(DISTINCT p ORDER BY p) AS powers
        FROM nspg_guard.lint_role_reach() x
        JOIN roles r ON r.oid = x.role
        CROSS JOIN LATERAL unnest(r.powers) p
        GROUP BY x.member
    ),
    leads_to_power AS (SELECT oid FROM roles WHERE powers <> '{}' UNION SELECT oid FROM reachable),
    nodes AS (
        SELECT r.rolname, r.rolcanlogin, r.powers, coalesce(
                   (SELECT array_agg(p ORDER BY p) FROM unnest(c.powers) p WHERE p <> ALL (r.powers)), '{}') AS can_become
        FROM roles r LEFT JOIN reachable c ON c.oid = r.oid
    )
    SELECT concat_ws(E'\n',
        'digraph roles {',
        '  rankdir=LR;',
        '  node [shape=ellipse, fontname="Helvetica"];',
        (SELECT string_agg(format('  %s [%s];', nspg_guard.dot_quote(n.rolname), concat_ws(', ',
                    CASE WHEN n.rolcanlogin THEN 'shape=box' END,
                    CASE WHEN n.powers <> '{}' THEN format('style=filled, fillcolor="%s"', CASE n.powers[1]
                             WHEN 'superuser' THEN '#f4a6a6' WHEN 'BYPASSRLS' THEN '#d7b5f0' WHEN 'CREATEROLE' THEN '#b9a3e3'
                             WHEN 'admin' THEN '#f9d58b' ELSE '#d9b38c' END) END,
                    CASE WHEN n.can_become <> '{}' THEN 'color=red, penwidth=2' END,
                    CASE WHEN n.powers <> '{}' OR n.can_become <> '{}'
                         -- lines joined with DOT's \n escape, after quoting
                         THEN format('label=%s', replace(nspg_guard.dot_quote(concat_ws(E'\n', n.rolname,
                                  '[' || nullif(array_to_string(array_remove(n.powers, n.rolname::text), ', '), '') || ']',
                                  'can become: ' || nullif(array_to_string(n.can_become, ', '), ''))), E'\n', '\n')) END)),
                    E'\n' ORDER BY n.rolname COLLATE "C")
         FROM nodes n),
        (SELECT string_agg(format('  %s -> %s [%s];', nspg_guard.dot_quote(mr.rolname), nspg_guard.dot_quote(rr.rolname),
                    concat_ws(', ',
                        CASE WHEN l.oid IS NOT NULL THEN 'color=red, penwidth=2' END,
                        CASE WHEN m.admin_option THEN 'label="admin option"' END)
                    ),
                    E'\n' ORDER BY mr.rolname COLLATE "C", rr.rolname COLLATE "C")
         FROM pg_catalog.pg_auth_members m
         JOIN roles mr ON mr.oid = m.member
         JOIN roles rr ON rr.oid = m.roleid
         LEFT JOIN leads_to_power l ON l.oid = m.roleid),
        -- one node whose id is longer than a role name can be (63 bytes), so no role is mistaken for it
        '  "nspg_guard role_graph legend, an id longer than any role name can be" [shape=plaintext, fontname="Helvetica", fontsize=10, label=<',
        '    <table border="0" cellborder="1" cellspacing="0" cellpadding="4">',
        '      <tr><td><b>legend</b></td></tr>',
        '      <tr><td>box: login role; ellipse: no login</td></tr>',
        '      <tr><td bgcolor="#f4a6a6">superuser</td></tr>',
        '      <tr><td bgcolor="#d9b38c">server files: pg_execute_server_program, pg_read_server_files, pg_write_server_files</td></tr>',
        '      <tr><td bgcolor="#d7b5f0">BYPASSRLS</td></tr>',
        '      <tr><td bgcolor="#b9a3e3">CREATEROLE</td></tr>',
        '      <tr><td bgcolor="#f9d58b">nspg_guard admin (nspg_guard.admin_roles)</td></tr>',
        '      <tr><td color="red">red border, "can become": reaches one of them through memberships (red edges)</td></tr>',
        '    </table>>];',
        '}')
$$;

-- what finalize.sql gives every function (CREATE OR REPLACE resets a function's settings)
ALTER FUNCTION nspg_guard.audit_anchored_databases() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION nspg_guard.lint_remediation(text[]) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION nspg_guard.snapshot_object_types() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION nspg_guard.snapshot_setting_value(text, text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION nspg_guard.lint_not_evaluated(text, text, text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION nspg_guard.lint_severity_rank(text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION nspg_guard.lint_settings_ssl_disabled() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION nspg_guard.lint_settings_ssl_min_protocol_weak() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION nspg_guard.lint_settings_password_encryption_not_scram() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION nspg_guard.lint_settings_connection_logging_off() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION nspg_guard.lint_settings_log_statement_all() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION nspg_guard.lint_settings_log_line_prefix_incomplete() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION nspg_guard.lint_settings_guard_not_enforced() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION nspg_guard.lint_settings_breakglass_self_approve_on() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION nspg_guard.lint_audit_classes_incomplete() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION nspg_guard.lint_audit_destination_not_table() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION nspg_guard.lint_audit_retention_short() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION nspg_guard.lint_audit_ran_without_nspg_guard() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION nspg_guard.privilege_snapshot() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION nspg_guard.snapshot_diff(bigint, bigint) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION nspg_guard.evidence() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION nspg_guard.role_graph() SET search_path = pg_catalog, pg_temp;
-- new functions: only what README documents for PUBLIC (sql/finalize.sql, section 2)
REVOKE EXECUTE ON FUNCTION nspg_guard.audit_anchored_databases(), nspg_guard.lint_remediation(text[]), nspg_guard.snapshot_object_types(), nspg_guard.snapshot_setting_value(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.audit_anchored_databases() TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.lint_remediation(text[]) TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.snapshot_object_types() TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.snapshot_setting_value(text, text) TO PUBLIC;
-- END h16-l2

-- BEGIN lint-speed
-- The lint's relation list finds extension members from the extensions' side.
CREATE OR REPLACE FUNCTION nspg_guard.lint_relations()
RETURNS TABLE (oid oid, identity text, nspname name, relkind "char", relowner oid,
               relrowsecurity boolean, relforcerowsecurity boolean, relispartition boolean,
               reloptions text[], relacl aclitem[])
LANGUAGE sql STABLE AS $$
    SELECT c.oid, format('%I.%I', n.nspname, c.relname), n.nspname, c.relkind, c.relowner,
           c.relrowsecurity, c.relforcerowsecurity, c.relispartition, c.reloptions, c.relacl
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
      AND nspg_guard.lint_is_user_schema(n.nspname)
      -- extension members, found from the extensions' side (pg_depend's reference index): a
      -- few rows instead of an anti-join with every dependency; each rule asks for this list
      AND c.oid NOT IN (SELECT d.objid FROM pg_catalog.pg_depend d
                        WHERE d.refclassid = 'pg_catalog.pg_extension'::regclass
                          AND d.classid = 'pg_catalog.pg_class'::regclass AND d.deptype = 'e')
$$;
ALTER FUNCTION nspg_guard.lint_relations() SET search_path = pg_catalog, pg_temp;
-- END lint-speed
