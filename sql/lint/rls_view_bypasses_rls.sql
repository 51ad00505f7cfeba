-- A view reads its tables with its owner's privileges unless it is security_invoker: over a
-- table with row level security, the policies are checked for the view's owner (who often owns
-- the table and bypasses them) instead of the caller. Views reading the table directly are
-- found through the dependencies of their rewrite rule.
CREATE FUNCTION nspg_guard.lint_rls_view_bypasses_rls()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'rls_view_bypasses_rls', 'rls', 'error', 'view', v.identity,
           format('View %s reads %s, which %s row level security, without security_invoker: policies are checked for the view''s owner %I, not for the caller.',
                  v.identity, string_agg(format('%I.%I', tn.nspname, t.relname), ', ' ORDER BY tn.nspname, t.relname),
                  CASE count(*) WHEN 1 THEN 'has' ELSE 'have' END, pg_catalog.pg_get_userbyid(v.relowner)),
           jsonb_build_object('tables', jsonb_agg(format('%I.%I', tn.nspname, t.relname) ORDER BY tn.nspname, t.relname),
                              'owner', pg_catalog.pg_get_userbyid(v.relowner)),
           format('ALTER VIEW %s SET (security_invoker = true);', v.identity),
           'rls_view_bypasses_rls:' || v.identity
    FROM nspg_guard.lint_relations() v
    JOIN pg_catalog.pg_rewrite w ON w.ev_class = v.oid
    JOIN (SELECT DISTINCT objid, refobjid FROM pg_catalog.pg_depend
          WHERE classid = 'pg_catalog.pg_rewrite'::regclass AND refclassid = 'pg_catalog.pg_class'::regclass) d
      ON d.objid = w.oid AND d.refobjid <> v.oid
    JOIN pg_catalog.pg_class t ON t.oid = d.refobjid AND t.relrowsecurity
    JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
    WHERE v.relkind = 'v'
      AND NOT coalesce((SELECT o.option_value::boolean FROM pg_catalog.pg_options_to_table(v.reloptions) o
                        WHERE o.option_name = 'security_invoker'), false)
    GROUP BY v.identity, v.relowner
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('rls_view_bypasses_rls', 'rls', NULL,
    'A view over a table with row level security that is not security_invoker.');
