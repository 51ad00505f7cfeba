-- What PUBLIC may execute in schema nspg_guard, read from the catalog (aclexplode over proacl;
-- a NULL proacl is the default, which lets PUBLIC execute): exactly the list README.md
-- documents ("What PUBLIC may call"), which sql/finalize.sql grants. A new function is
-- revoked unless it is added there, and then it shows here.
CREATE FUNCTION pg_temp.public_may_execute(f oid) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT FROM pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                   WHERE p.oid = f AND a.grantee = 0 AND a.privilege_type = 'EXECUTE')
$$;
-- the documented entry points and the lint's building blocks
SELECT p.oid::regprocedure AS public_may_execute
FROM pg_proc p
WHERE p.pronamespace = 'nspg_guard'::regnamespace AND pg_temp.public_may_execute(p.oid)
  AND p.proname NOT IN (SELECT 'lint_' || rule FROM nspg_guard.lint_rules)
ORDER BY p.proname COLLATE "C", 1::text COLLATE "C";
-- one function per registered rule, every one of them
SELECT count(*) AS rules, count(*) FILTER (WHERE pg_temp.public_may_execute(p.oid)) AS rules_public
FROM nspg_guard.lint_rules r
LEFT JOIN pg_proc p ON p.pronamespace = 'nspg_guard'::regnamespace AND p.proname = 'lint_' || r.rule;
-- and what PUBLIC may not execute
SELECT p.oid::regprocedure AS revoked_from_public
FROM pg_proc p
WHERE p.pronamespace = 'nspg_guard'::regnamespace AND NOT pg_temp.public_may_execute(p.oid)
ORDER BY p.proname COLLATE "C";

-- A role with no grants of its own is refused the internal ones (42501) and may run the lint.
CREATE ROLE public_api_nobody NOLOGIN;
SET ROLE public_api_nobody;
SELECT nspg_guard._purge_older_than('1 second', 0);
SELECT * FROM nspg_guard.audit_head();
SELECT nspg_guard.audit_anchor_adopt('not mine to adopt');
SELECT nspg_guard.audit_seal();
SELECT count(*) > 0 AS lint_runs FROM nspg_guard.lint();
SELECT count(*) >= 0 AS evidence_runs FROM jsonb_object_keys(nspg_guard.evidence());
RESET ROLE;
DROP ROLE public_api_nobody;
