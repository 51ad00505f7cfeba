-- nspg_guard 0.2.0 -> 0.3.0 (ALTER EXTENSION nspg_guard UPDATE). Runs as the extension script
-- does, so the tamper guard lets it change the trail's objects.
-- Every change to the extension's SQL (sql/*.sql, #[pg_extern] functions) goes here as well,
-- so that an upgraded database ends up as a fresh install: tests/shell/upgrade.sh compares the
-- two object by object. A function added here also needs what sql/finalize.sql gives every
-- function: SET search_path = pg_catalog, pg_temp, and a GRANT only if README documents it.
\echo Use "ALTER EXTENSION nspg_guard UPDATE" to load this file. \quit

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
