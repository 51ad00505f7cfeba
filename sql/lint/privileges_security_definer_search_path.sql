-- A SECURITY DEFINER routine without its own search_path resolves names through the caller's,
-- so a caller who can create objects earlier in that path runs code as the owner.
CREATE FUNCTION nspg_guard.lint_privileges_security_definer_search_path()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'privileges_security_definer_search_path', 'privileges', 'error', f.object_type, f.identity,
           format('SECURITY DEFINER %s %s has no search_path of its own, so the caller''s search_path decides which objects it uses as %I.',
                  f.object_type, f.identity, pg_catalog.pg_get_userbyid(f.proowner)),
           jsonb_build_object('owner', pg_catalog.pg_get_userbyid(f.proowner)),
           format('ALTER %s %s SET search_path = pg_catalog, %I, pg_temp;', upper(f.object_type), f.identity, f.nspname),
           format('privileges_security_definer_search_path:%s', f.identity)
    FROM (SELECT p.proowner, n.nspname, CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END AS object_type,
                 format('%I.%I(%s)', n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid)) AS identity
          FROM pg_catalog.pg_proc p
          JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
          WHERE p.prosecdef AND nspg_guard.lint_is_user_schema(n.nspname)
            AND NOT EXISTS (SELECT FROM unnest(p.proconfig) c WHERE c LIKE 'search\_path=%')
            AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
                            WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')) f
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('privileges_security_definer_search_path', 'privileges', NULL,
    'A SECURITY DEFINER routine without a fixed search_path.');
