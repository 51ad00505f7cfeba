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
CREATE FUNCTION nspg_guard.lint_privileges_security_definer_search_path()
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

INSERT INTO nspg_guard.lint_rules VALUES ('privileges_security_definer_search_path', 'privileges', NULL,
    'A SECURITY DEFINER routine without a search_path of its own, or with one others can plant objects in (a schema others may create in or that does not exist, "$user", pg_temp not last).');
