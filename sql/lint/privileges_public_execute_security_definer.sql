-- A SECURITY DEFINER routine runs with its owner's privileges; with EXECUTE for PUBLIC (the
-- default for new functions) every role gets them. Grant EXECUTE to the roles that need it.
CREATE FUNCTION nspg_guard.lint_privileges_public_execute_security_definer()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'privileges_public_execute_security_definer', 'privileges', 'warn', f.object_type, f.identity,
           format('SECURITY DEFINER %s %s runs as %I and every role may execute it.',
                  f.object_type, f.identity, pg_catalog.pg_get_userbyid(f.proowner)),
           jsonb_build_object('owner', pg_catalog.pg_get_userbyid(f.proowner)),
           format('REVOKE EXECUTE ON %s %s FROM PUBLIC;', upper(f.object_type), f.identity),
           format('privileges_public_execute_security_definer:%s', f.identity)
    FROM (SELECT p.proowner, p.proacl, CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END AS object_type,
                 format('%I.%I(%s)', n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid)) AS identity
          FROM pg_catalog.pg_proc p
          JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
          WHERE p.prosecdef AND nspg_guard.lint_is_user_schema(n.nspname)
            AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
                            WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')) f
    WHERE EXISTS (SELECT FROM aclexplode(coalesce(f.proacl, acldefault('f', f.proowner))) x
                  WHERE x.grantee = 0 AND x.privilege_type = 'EXECUTE')
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('privileges_public_execute_security_definer', 'privileges', NULL,
    'PUBLIC may execute a SECURITY DEFINER routine.');
