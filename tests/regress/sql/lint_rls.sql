-- Posture lint, rls category: every rule in splinter's shape, against the live catalogs:
-- no finding, create the problem, exactly the expected finding, apply the fix (the finding's
-- own remediation when it has one, run with \gexec), no finding.
\x on
CREATE FUNCTION pg_temp.findings(wanted text)
RETURNS TABLE (severity text, object_identity text, message text, details jsonb, remediation text, key text)
LANGUAGE sql AS $$
    SELECT f.severity, f.object_identity, f.message, f.details, f.remediation, f.key
    FROM nspg_guard.rls_lint() f WHERE f.rule = wanted
$$;
CREATE SCHEMA lint_rls;
CREATE TABLE lint_rls.accounts (id int PRIMARY KEY, owner_name text, balance numeric);
GRANT USAGE ON SCHEMA lint_rls TO ns_app_rw_orders, ns_app_ro_orders;
GRANT SELECT, INSERT, UPDATE, DELETE ON lint_rls.accounts TO ns_app_rw_orders;
-- the fixture has no row level security at all
SELECT rule, count(*) FROM nspg_guard.rls_lint() GROUP BY rule;

-- rls_disabled_with_policies
SELECT * FROM pg_temp.findings('rls_disabled_with_policies');
CREATE POLICY own_rows ON lint_rls.accounts FOR SELECT TO ns_app_rw_orders USING (owner_name = current_user);
SELECT * FROM pg_temp.findings('rls_disabled_with_policies');
SELECT remediation FROM pg_temp.findings('rls_disabled_with_policies') \gexec
SELECT * FROM pg_temp.findings('rls_disabled_with_policies');

-- rls_enabled_no_policy
SELECT * FROM pg_temp.findings('rls_enabled_no_policy');
DROP POLICY own_rows ON lint_rls.accounts;
SELECT * FROM pg_temp.findings('rls_enabled_no_policy');
CREATE POLICY own_rows ON lint_rls.accounts FOR SELECT TO ns_app_rw_orders USING (owner_name = current_user);
SELECT * FROM pg_temp.findings('rls_enabled_no_policy');

-- rls_not_forced_login_owner: the owner bypasses the policies unless they are forced
SELECT * FROM pg_temp.findings('rls_not_forced_login_owner');
ALTER TABLE lint_rls.accounts OWNER TO ns_migrate_orders;
SELECT * FROM pg_temp.findings('rls_not_forced_login_owner');
SELECT remediation FROM pg_temp.findings('rls_not_forced_login_owner') \gexec
SELECT * FROM pg_temp.findings('rls_not_forced_login_owner');
-- a NOLOGIN owner is fine without FORCE
ALTER TABLE lint_rls.accounts NO FORCE ROW LEVEL SECURITY, OWNER TO ns_owner_orders;
SELECT * FROM pg_temp.findings('rls_not_forced_login_owner');
ALTER TABLE lint_rls.accounts OWNER TO postgres;

-- rls_tenant_table_without_rls (nspg_guard.tenant_columns)
SELECT * FROM pg_temp.findings('rls_tenant_table_without_rls');
CREATE TABLE lint_rls.invoices (id int, org_id int, account_id int, amount numeric);
CREATE TABLE lint_rls.notes (id int, workspace int);
SELECT * FROM pg_temp.findings('rls_tenant_table_without_rls');
SET nspg_guard.tenant_columns = 'workspace , account_id,';
SELECT * FROM pg_temp.findings('rls_tenant_table_without_rls');
RESET nspg_guard.tenant_columns;
DROP TABLE lint_rls.notes;
SELECT remediation FROM pg_temp.findings('rls_tenant_table_without_rls') \gexec
SELECT * FROM pg_temp.findings('rls_tenant_table_without_rls');
DROP TABLE lint_rls.invoices;

-- rls_policy_always_true: decided on the stored expression tree
SELECT * FROM pg_temp.findings('rls_policy_always_true');
CREATE POLICY upd_any ON lint_rls.accounts FOR UPDATE TO ns_app_rw_orders USING (1 = 1) WITH CHECK (owner_name = current_user);
CREATE POLICY del_any ON lint_rls.accounts FOR DELETE TO ns_app_rw_orders USING (owner_name = current_user OR NOT (2 < 1));
CREATE POLICY all_const ON lint_rls.accounts FOR ALL TO ns_app_ro_orders USING (owner_name = current_user) WITH CHECK (lower('A') = 'a');
-- not reported: a SELECT policy (reads are the point of USING (true)), a restrictive one, and
-- expressions that depend on the row or the session
CREATE POLICY sel_all ON lint_rls.accounts FOR SELECT TO ns_app_ro_orders USING (true);
CREATE POLICY upd_restr ON lint_rls.accounts AS RESTRICTIVE FOR UPDATE TO ns_app_rw_orders USING (true);
CREATE POLICY upd_session ON lint_rls.accounts FOR UPDATE TO ns_app_ro_orders
    USING (current_setting('app.tenant', true) = 'a' OR balance > 0) WITH CHECK (balance >= 0);
SELECT * FROM pg_temp.findings('rls_policy_always_true');
ALTER POLICY upd_any ON lint_rls.accounts USING (owner_name = current_user);
ALTER POLICY del_any ON lint_rls.accounts USING (owner_name = current_user AND NOT (2 < 1));
ALTER POLICY all_const ON lint_rls.accounts WITH CHECK (owner_name = current_user);
SELECT * FROM pg_temp.findings('rls_policy_always_true');
DROP POLICY upd_any ON lint_rls.accounts;
DROP POLICY del_any ON lint_rls.accounts;
DROP POLICY all_const ON lint_rls.accounts;
DROP POLICY sel_all ON lint_rls.accounts;
DROP POLICY upd_restr ON lint_rls.accounts;
DROP POLICY upd_session ON lint_rls.accounts;

-- rls_policy_missing_with_check
SELECT * FROM pg_temp.findings('rls_policy_missing_with_check');
CREATE POLICY ins_unchecked ON lint_rls.accounts FOR INSERT TO ns_app_rw_orders;
CREATE POLICY upd_by_role ON lint_rls.accounts FOR UPDATE TO ns_app_rw_orders USING (current_user = 'ns_app_rw_orders');
-- not reported: USING reads the row, so the implicit WITH CHECK constrains written rows
CREATE POLICY upd_by_owner ON lint_rls.accounts FOR UPDATE TO ns_app_rw_orders USING (owner_name = current_user);
SELECT * FROM pg_temp.findings('rls_policy_missing_with_check');
ALTER POLICY ins_unchecked ON lint_rls.accounts WITH CHECK (owner_name = current_user);
ALTER POLICY upd_by_role ON lint_rls.accounts WITH CHECK (owner_name = current_user);
SELECT * FROM pg_temp.findings('rls_policy_missing_with_check');
DROP POLICY ins_unchecked ON lint_rls.accounts;
DROP POLICY upd_by_role ON lint_rls.accounts;
DROP POLICY upd_by_owner ON lint_rls.accounts;

-- rls_multiple_permissive_policies (ALL counts for every command)
SELECT * FROM pg_temp.findings('rls_multiple_permissive_policies');
CREATE POLICY all_rows ON lint_rls.accounts FOR ALL TO ns_app_rw_orders USING (balance > 0);
SELECT * FROM pg_temp.findings('rls_multiple_permissive_policies');
DROP POLICY all_rows ON lint_rls.accounts;
SELECT * FROM pg_temp.findings('rls_multiple_permissive_policies');

-- rls_policy_to_public
SELECT * FROM pg_temp.findings('rls_policy_to_public');
CREATE POLICY everyone ON lint_rls.accounts FOR SELECT USING (owner_name = current_user);
SELECT * FROM pg_temp.findings('rls_policy_to_public');
ALTER POLICY everyone ON lint_rls.accounts TO ns_app_ro_orders;
SELECT * FROM pg_temp.findings('rls_policy_to_public');
DROP POLICY everyone ON lint_rls.accounts;

-- rls_view_bypasses_rls
SELECT * FROM pg_temp.findings('rls_view_bypasses_rls');
CREATE VIEW lint_rls.rich AS SELECT a.id, a.balance FROM lint_rls.accounts a WHERE a.balance > 1000;
CREATE VIEW lint_rls.plain AS SELECT o.id FROM orders.orders o;  -- no RLS underneath: fine
SELECT * FROM pg_temp.findings('rls_view_bypasses_rls');
SELECT remediation FROM pg_temp.findings('rls_view_bypasses_rls') \gexec
SELECT * FROM pg_temp.findings('rls_view_bypasses_rls');
DROP VIEW lint_rls.rich, lint_rls.plain;

-- rls_bypassrls_role: admins may bypass, others not
SELECT * FROM pg_temp.findings('rls_bypassrls_role');
CREATE ROLE lint_reporter LOGIN BYPASSRLS;
ALTER ROLE ns_admin BYPASSRLS;
SELECT * FROM pg_temp.findings('rls_bypassrls_role');
SELECT remediation FROM pg_temp.findings('rls_bypassrls_role') \gexec
SELECT * FROM pg_temp.findings('rls_bypassrls_role');
ALTER ROLE ns_admin NOBYPASSRLS;
DROP ROLE lint_reporter;

-- rls_policy_per_row_call: a function of no column, called per row, that a sub-select calls once
SELECT * FROM pg_temp.findings('rls_policy_per_row_call');
ALTER POLICY own_rows ON lint_rls.accounts USING (owner_name = current_setting('app.user', true) AND now() > '2000-01-01');
SELECT * FROM pg_temp.findings('rls_policy_per_row_call');
ALTER POLICY own_rows ON lint_rls.accounts
    USING (owner_name = (SELECT current_setting('app.user', true)) AND (SELECT now()) > '2000-01-01');
SELECT * FROM pg_temp.findings('rls_policy_per_row_call');
-- a function of a column has to run per row: not reported
ALTER POLICY own_rows ON lint_rls.accounts USING (upper(owner_name) = upper(current_user));
SELECT * FROM pg_temp.findings('rls_policy_per_row_call');

-- the stored-tree decisions, directly: a policy's oid and a clause, read from pg_policy
SELECT p.polname, a.truth, a.references_row, a.per_row_calls
FROM pg_policy p, nspg_guard.policy_expr_analysis(p.oid, 'USING') a
WHERE p.polrelid = 'lint_rls.accounts'::regclass;
-- no such policy, or no such clause on it: no row; not a clause: 22023
SELECT count(*) FROM nspg_guard.policy_expr_analysis(0, 'USING');
SELECT count(*) FROM pg_policy p, nspg_guard.policy_expr_analysis(p.oid, 'with  check') a
WHERE p.polrelid = 'lint_rls.accounts'::regclass;
SELECT * FROM nspg_guard.policy_expr_analysis(0, '{CONST :consttype 16');
\echo :LAST_ERROR_SQLSTATE

DROP SCHEMA lint_rls CASCADE;
SELECT rule, count(*) FROM nspg_guard.rls_lint() GROUP BY rule;
