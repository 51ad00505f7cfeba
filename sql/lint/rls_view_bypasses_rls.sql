-- A view reads its tables with its owner's privileges unless it is security_invoker: over a
-- table with row level security (or a partition or child of one), the policies are checked for
-- the view's owner (who often owns the table and bypasses them) instead of the caller. Tables
-- are found through the dependencies of the view's rewrite rule and, through them, of the views
-- it reads (lint_guarded_reads): a view over a security_invoker view over the table reads it as
-- the outer view's owner too, and a view over a materialized view of the table lets its readers
-- read the stored rows with the view owner's SELECT on it (security_invoker makes them need
-- their own, which rls_matview_exposes_rows reports).
CREATE FUNCTION nspg_guard.lint_rls_view_bypasses_rls()
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

INSERT INTO nspg_guard.lint_rules VALUES ('rls_view_bypasses_rls', 'rls', NULL,
    'A view over a table with row level security (directly or through other views) that is not security_invoker.');
