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
