-- Evidence for access reviews (NS-PG-007 §10, §11): the role and privilege inventory as one
-- jsonb document, saved snapshots of it, their differences, and the reviews recorded against
-- them. Writes go through nspg_guard.snapshot_save and nspg_guard.access_review_record, which
-- check the caller's standing; everyone may read, as the catalogs the inventory comes from are
-- readable by everyone.

-- The inventory. Every array is sorted on its identifying fields (in the C collation), and
-- jsonb sorts object keys, so equal inventories give equal documents and saved snapshots diff
-- cleanly. Object privileges include the ones owners hold by default (acldefault), so a first
-- GRANT shows as exactly that grant and not as the owner's privileges appearing.
-- The privileges PostgreSQL gives an owner's new objects of a pg_default_acl object type when
-- no ALTER DEFAULT PRIVILEGES says otherwise; NULL for a type pg_default_acl cannot hold.
CREATE FUNCTION nspg_guard.lint_builtin_default_acl(defaclobjtype "char", owner oid) RETURNS aclitem[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN defaclobjtype IN ('r', 'S', 'f', 'T', 'n')
            THEN acldefault(CASE defaclobjtype WHEN 'S' THEN 's' ELSE defaclobjtype END, owner) END;

-- The object types whose owners and privileges the inventory lists (its "covers"), so that
-- snapshot_diff compares a snapshot taken by an older version only on what both list.
CREATE FUNCTION nspg_guard.snapshot_object_types() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN ARRAY['aggregate', 'column', 'database', 'domain', 'foreign data wrapper', 'foreign server', 'foreign table', 'function',
             'language', 'large object', 'materialized view', 'parameter', 'procedure', 'schema', 'sequence',
             'table', 'tablespace', 'type', 'view'];

-- A role setting's value as the inventory keeps it: masked when its name says it may hold a
-- secret (the inventory is readable by everyone and kept in snapshots after the setting is gone).
CREATE FUNCTION nspg_guard.snapshot_setting_value(setting text, value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN setting ~* '(pass(word|wd|file)?|secret|token|key|credential)' THEN '***' ELSE value END;

CREATE FUNCTION nspg_guard.privilege_snapshot() RETURNS jsonb
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

CREATE TABLE nspg_guard.snapshots (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    label text NOT NULL,
    taken_at timestamptz NOT NULL DEFAULT now(),
    taken_by name NOT NULL,
    snapshot jsonb NOT NULL
);

CREATE TABLE nspg_guard.access_review_records (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    snapshot_id bigint NOT NULL REFERENCES nspg_guard.snapshots,
    reviewer text NOT NULL,
    decision text NOT NULL CHECK (decision IN ('approved', 'approved_with_changes', 'rejected')),
    notes text,
    recorded_by name NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);

-- Evidence is the operator's data: pg_dump keeps it, and the identity counters with it.
SELECT pg_catalog.pg_extension_config_dump('nspg_guard.snapshots', '');
SELECT pg_catalog.pg_extension_config_dump('nspg_guard.snapshots_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('nspg_guard.access_review_records', '');
SELECT pg_catalog.pg_extension_config_dump('nspg_guard.access_review_records_id_seq', '');

-- The reviews, with the label and time of the snapshot each one reviewed.
CREATE VIEW nspg_guard.access_reviews WITH (security_invoker = true) AS
    SELECT r.id, r.snapshot_id, s.label AS snapshot_label, s.taken_at AS snapshot_taken_at,
           r.reviewer, r.decision, r.notes, r.recorded_by, r.recorded_at
    FROM nspg_guard.access_review_records r
    JOIN nspg_guard.snapshots s ON s.id = r.snapshot_id;

GRANT SELECT ON nspg_guard.snapshots, nspg_guard.access_review_records, nspg_guard.access_reviews TO PUBLIC;

-- What changed from snapshot `a` to snapshot `b`: one row per role, membership, owner, grant,
-- default privilege, policy, row security switch, role setting or user mapping added or
-- removed, and per one whose other fields changed (then before/after hold only the changed
-- fields). Entries are matched on their identifying fields. Only what both snapshots cover is
-- compared: a snapshot of an older format says nothing about what it did not list.
CREATE FUNCTION nspg_guard.snapshot_diff(a bigint, b bigint)
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
