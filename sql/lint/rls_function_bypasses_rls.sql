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
