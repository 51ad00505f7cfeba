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
