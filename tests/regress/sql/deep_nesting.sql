-- Nesting as deep as PostgreSQL accepts never crashes the server (issue 17): a policy nested
-- thousands of levels deep is analysed, or fails with 54001 as pg_get_expr() does.
\set SHOW_CONTEXT never
CREATE SCHEMA deep;
CREATE TABLE deep.t (id int PRIMARY KEY, v int);
ALTER TABLE deep.t ENABLE ROW LEVEL SECURITY;
-- v + v + … + v = 0, 3,000 levels
DO $$ BEGIN
    EXECUTE format('CREATE POLICY deep_row ON deep.t FOR UPDATE USING (%s = 0)', 'v' || repeat(' + v', 2999));
END $$;
SELECT pg_get_expr(polqual, polrelid) IS NOT NULL FROM pg_policy WHERE polname = 'deep_row';
-- the analysis walks it iteratively, whatever its depth
SELECT a.* FROM pg_policy p, nspg_guard.policy_expr_analysis(p.oid, 'USING') a WHERE p.polname = 'deep_row';
-- PostgreSQL's reader checks the stack: with less of it, a clean 54001 from stringToNode
SET max_stack_depth = '256kB';
SELECT a.* FROM pg_policy p, nspg_guard.policy_expr_analysis(p.oid, 'USING') a WHERE p.polname = 'deep_row';
\echo :LAST_ERROR_SQLSTATE
RESET max_stack_depth;
-- a constant one, 0 + 0 + … = 0, is a finding (its text comes from pg_get_expr)
DO $$ BEGIN
    EXECUTE format('CREATE POLICY deep_constant ON deep.t FOR UPDATE USING (%s = 0)', '0' || repeat(' + 0', 2999));
END $$;
SELECT a.* FROM pg_policy p, nspg_guard.policy_expr_analysis(p.oid, 'USING') a WHERE p.polname = 'deep_constant';
SET ROLE ns_app_ro_orders;
SELECT rule, severity FROM nspg_guard.rls_lint() WHERE object_identity LIKE 'deep%' ORDER BY 1, 2;
RESET ROLE;
-- with a stack too small for them, lint(), rls_lint() and evidence() fail cleanly with 54001,
-- as an unprivileged role too
SET max_stack_depth = '256kB';
SET ROLE ns_app_ro_orders;
SELECT count(*) FROM nspg_guard.lint();
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM nspg_guard.rls_lint();
\echo :LAST_ERROR_SQLSTATE
SELECT nspg_guard.evidence() IS NOT NULL;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
RESET max_stack_depth;
-- the server is still up, and the session too
SELECT 1 AS alive;
DROP SCHEMA deep CASCADE;
SELECT count(*) FROM nspg_guard.rls_lint() WHERE object_identity LIKE 'deep%';
