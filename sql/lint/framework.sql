-- Posture lint framework (NS-PG-007 §3-§6): the finding row, the rule registry, suppressions
-- and the helpers the rules share.
--
-- A rule is one file, sql/lint/<rule>.sql, defining nspg_guard.lint_<rule>() RETURNS SETOF
-- nspg_guard.lint_finding as one set-based query over the catalogs, and one row in
-- nspg_guard.lint_rules. Rules are SECURITY INVOKER: they see what the caller may see, and a
-- rule whose catalog the caller cannot read is reported as not evaluated (lint_run), never
-- silently skipped.

CREATE TYPE nspg_guard.lint_finding AS (
    rule text,
    category text,
    severity text,
    object_type text,
    object_identity text,
    message text,
    details jsonb,
    remediation text,
    key text
);

-- One line of pg_hba.conf, as pg_hba_file_rules shows it on PostgreSQL 15. The hba rules take
-- an array of these, so they can be checked against lines that are not in the server's file.
CREATE TYPE nspg_guard.hba_line AS (
    line_number integer,
    type text,
    database text[],
    user_name text[],
    address text,
    netmask text,
    auth_method text,
    options text[],
    error text
);

-- The categories of the issue's rule list, in the order NS-PG-007 discusses them.
CREATE FUNCTION nspg_guard.lint_categories() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ARRAY['rls', 'roles', 'privileges', 'hba', 'settings', 'audit'];

CREATE TABLE nspg_guard.lint_rules (
    rule text PRIMARY KEY,
    category text NOT NULL CHECK (category = ANY (nspg_guard.lint_categories())),
    -- A catalog only some roles may read; the rule is reported as not evaluated for others.
    -- Rules that read pg_hba_file_rules take its lines as their argument.
    reads text CHECK (reads IN ('pg_catalog.pg_authid', 'pg_catalog.pg_hba_file_rules', 'nspg_guard.audit_log')),
    description text NOT NULL
);

CREATE TABLE nspg_guard.lint_suppressions (
    key text PRIMARY KEY,
    reason text NOT NULL,
    until timestamptz NOT NULL,
    suppressed_by name NOT NULL,
    suppressed_at timestamptz NOT NULL DEFAULT now()
);
-- Suppressions are the operator's data: pg_dump keeps them.
SELECT pg_catalog.pg_extension_config_dump('nspg_guard.lint_suppressions', '');

-- Everyone may run the lint, so everyone reads which findings are suppressed; writes go
-- through nspg_guard.lint_suppress, which checks the caller's standing.
GRANT SELECT ON nspg_guard.lint_rules, nspg_guard.lint_suppressions TO PUBLIC;

-- Schemas the lint looks at: not PostgreSQL's own, not nspg_guard's, not temporary ones.
CREATE FUNCTION nspg_guard.lint_is_user_schema(nspname name) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN nspname NOT IN ('pg_catalog', 'information_schema', 'nspg_guard')
   AND nspname !~ '^pg_(toast|temp_|toast_temp_)';

-- User relations (tables, views, materialized views, foreign tables, sequences) outside
-- extensions, with the fields the rules use. Inlined by the planner into each rule's query.
CREATE FUNCTION nspg_guard.lint_relations()
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

-- Roles other than PostgreSQL's predefined pg_* roles, with their kind in the taxonomy of
-- NS-PG-007 §3.1 as the role-set settings name it.
CREATE FUNCTION nspg_guard.lint_roles()
RETURNS TABLE (oid oid, rolname name, rolsuper boolean, rolcanlogin boolean, rolbypassrls boolean,
               is_app boolean, is_owner boolean, is_migration boolean, is_admin boolean)
LANGUAGE sql STABLE AS $$
    SELECT r.oid, r.rolname, r.rolsuper, r.rolcanlogin, r.rolbypassrls,
           nspg_guard.role_in_set(r.rolname, 'app'), nspg_guard.role_in_set(r.rolname, 'owner'),
           nspg_guard.role_in_set(r.rolname, 'migration'), nspg_guard.role_in_set(r.rolname, 'admin')
    FROM pg_catalog.pg_roles r
    WHERE r.rolname !~ '^pg_'
$$;

-- Every role each role can become through membership chains (SET ROLE works along any chain,
-- INHERIT or not), with the shortest chain: path[1] is the member, path[2] the role granted
-- to it directly.
CREATE FUNCTION nspg_guard.lint_role_reach()
RETURNS TABLE (member oid, role oid, path oid[])
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE reach(member, role, path) AS (
        SELECT m.member, m.roleid, ARRAY[m.member, m.roleid]
        FROM pg_catalog.pg_auth_members m
        UNION ALL
        SELECT r.member, m.roleid, r.path || m.roleid
        FROM reach r
        JOIN pg_catalog.pg_auth_members m ON m.member = r.role
        WHERE m.roleid <> ALL (r.path)
    )
    SELECT DISTINCT ON (member, role) member, role, path
    FROM reach
    ORDER BY member, role, cardinality(path)
$$;

-- A membership chain as role names, for messages.
CREATE FUNCTION nspg_guard.lint_role_path(path oid[]) RETURNS text[]
LANGUAGE sql STABLE
RETURN ARRAY(SELECT pg_catalog.pg_get_userbyid(p) FROM unnest(path) WITH ORDINALITY u(p, i) ORDER BY i);

-- The tenant column names of nspg_guard.tenant_columns.
CREATE FUNCTION nspg_guard.lint_tenant_columns() RETURNS name[]
LANGUAGE sql STABLE
RETURN ARRAY(SELECT btrim(c)::name
             FROM unnest(string_to_array(pg_catalog.current_setting('nspg_guard.tenant_columns'), ',')) c
             WHERE btrim(c) <> '');

-- The finding that stands in for a rule the caller's privileges do not let it evaluate. Its
-- severity is not_evaluated, never info: it says nothing about the posture, and evidence()
-- counts it apart, so a role that sees less never shows a better posture.
CREATE FUNCTION nspg_guard.lint_not_evaluated(rule text, category text, reason text)
RETURNS nspg_guard.lint_finding
LANGUAGE sql STABLE
RETURN ROW(rule, category, 'not_evaluated', 'rule', rule,
           format('Rule %s was not evaluated: %s.', rule, reason),
           jsonb_build_object('evaluated', false, 'role', current_user),
           NULL, rule || ':not evaluated')::nspg_guard.lint_finding;

-- Settings rules read pg_settings, which hides some settings from roles that are neither
-- superusers nor members of pg_read_all_settings: each hidden one is a not-evaluated finding.
CREATE FUNCTION nspg_guard.lint_hidden_settings(rule text, names text[])
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    -- pg_settings read once (a hashed NOT IN), one call per hidden name: linear in names
    SELECT f.*
    FROM unnest(names) n
    CROSS JOIN LATERAL nspg_guard.lint_not_evaluated(rule, 'settings',
               format('setting %s is visible only to superusers and members of pg_read_all_settings', n)) f
    WHERE n NOT IN (SELECT s.name FROM pg_catalog.pg_settings s)
$$;

-- Whether the caller may read one of the catalogs of lint_rules.reads. pg_hba_file_rules is a
-- view over a function, and PostgreSQL checks EXECUTE on that function for the caller too.
CREATE FUNCTION nspg_guard.lint_can_read(catalog text) RETURNS boolean
LANGUAGE sql STABLE
RETURN pg_catalog.has_table_privilege(catalog, 'SELECT')
   AND (catalog <> 'pg_catalog.pg_hba_file_rules'
        OR pg_catalog.has_function_privilege('pg_catalog.pg_hba_file_rules()', 'EXECUTE'));

-- What it takes to read such a catalog, for not-evaluated findings and evidence().
CREATE FUNCTION nspg_guard.lint_read_requirement(catalog text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN format('reading %s needs %s', catalog,
              CASE catalog WHEN 'pg_catalog.pg_hba_file_rules'
                           THEN 'superuser, or SELECT on it and EXECUTE on pg_catalog.pg_hba_file_rules()'
                           WHEN 'nspg_guard.audit_log' THEN 'superuser, or SELECT on it (GRANT it to your auditors)'
                           ELSE 'superuser' END);

-- When a setting changed with ALTER SYSTEM (the settings rules' remediations) takes effect,
-- by its pg_settings.context.
CREATE FUNCTION nspg_guard.lint_setting_applies(context text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE context
           WHEN 'postmaster' THEN 'after a server restart'
           WHEN 'sighup' THEN 'after SELECT pg_reload_conf()'
           WHEN 'superuser-backend' THEN 'in new sessions, after SELECT pg_reload_conf()'
           WHEN 'backend' THEN 'in new sessions, after SELECT pg_reload_conf()'
           ELSE 'after SELECT pg_reload_conf(), in sessions that have not SET it'
       END;

-- The lines of the server's pg_hba.conf, for callers that pass lint_can_read.
CREATE FUNCTION nspg_guard.hba_file_lines() RETURNS nspg_guard.hba_line[]
LANGUAGE sql STABLE
RETURN (SELECT coalesce(array_agg(ROW(h.line_number, h.type, h.database, h.user_name, h.address, h.netmask,
                                      h.auth_method, h.options, h.error)::nspg_guard.hba_line
                                  ORDER BY h.line_number), '{}')
        FROM pg_catalog.pg_hba_file_rules h);

-- An hba line in pg_hba.conf syntax (without options), for messages and as the stable part of keys:
-- line numbers move when lines are added above.
CREATE FUNCTION nspg_guard.hba_line_text(l nspg_guard.hba_line) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN concat_ws(' ', l.type, array_to_string(l.database, ','), array_to_string(l.user_name, ','),
                 l.address || coalesce(' ' || l.netmask, ''), l.auth_method);

-- A policy's command as CREATE POLICY spells it.
CREATE FUNCTION nspg_guard.lint_policy_command(polcmd "char") RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                   WHEN 'd' THEN 'DELETE' ELSE 'ALL' END;

-- A role for messages and snapshots: its name, or PUBLIC for the pseudo-role 0 of ACLs and
-- policies.
CREATE FUNCTION nspg_guard.lint_role_name(role oid) RETURNS text
LANGUAGE sql STABLE
RETURN CASE WHEN role = 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(role)::text END;

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
