-- Posture lint on a database of a real one's shape (issue 16): several schemas, a partitioned
-- table, an inheritance hierarchy, materialized and plain views, a postgres_fdw foreign table
-- back into this database, SECURITY DEFINER routines, default privileges, tenant policies.
-- First: the clean fixture gives no finding on its objects and no error. Then each planted
-- problem in splinter's shape: no finding of its rule for the object, plant it, exactly the
-- expected finding, apply the finding's own remediation (\gexec), no finding again.
\x on
CREATE FUNCTION pg_temp.findings(wanted text)
RETURNS TABLE (severity text, object_identity text, message text, details jsonb, remediation text, key text)
LANGUAGE sql AS $$
    SELECT f.severity, f.object_identity, f.message, f.details, f.remediation, f.key
    FROM nspg_guard.lint() f WHERE f.rule = wanted
$$;
-- The findings on the fixture's objects and roles (fx_ and ns_*_fx), whatever the rule.
CREATE FUNCTION pg_temp.fixture_findings()
RETURNS TABLE (rule text, severity text, object_identity text)
LANGUAGE sql AS $$
    SELECT f.rule, f.severity, f.object_identity FROM nspg_guard.lint() f
    WHERE f.object_identity ~ '(^|[ ."])(fx_|ns_[a-z]+_fx)' OR f.key ~ ':(fx_|ns_[a-z]+_fx)'
    ORDER BY 1, 3
$$;

CREATE ROLE ns_owner_fx NOLOGIN;
CREATE ROLE ns_app_fx LOGIN;
CREATE ROLE fx_reporting NOLOGIN;
CREATE ROLE fx_analyst LOGIN IN ROLE fx_reporting;
CREATE SCHEMA fx_crm AUTHORIZATION ns_owner_fx;
CREATE SCHEMA fx_billing AUTHORIZATION ns_owner_fx;
CREATE SCHEMA fx_archive AUTHORIZATION ns_owner_fx;
CREATE SCHEMA fx_analytics AUTHORIZATION ns_owner_fx;
CREATE SCHEMA fx_api AUTHORIZATION ns_owner_fx;
CREATE SCHEMA fx_remote AUTHORIZATION ns_owner_fx;
ALTER DEFAULT PRIVILEGES FOR ROLE ns_owner_fx REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
GRANT USAGE ON SCHEMA fx_crm, fx_billing, fx_archive, fx_analytics, fx_api, fx_remote TO ns_app_fx, fx_reporting;
SET nspg_guard.tenant_columns = 'tenant_id';
SET ROLE ns_owner_fx;
-- a tenant table with row level security, forced, and tenant policies for the app
CREATE TABLE fx_crm.customers (id int PRIMARY KEY, tenant_id int NOT NULL, name text);
INSERT INTO fx_crm.customers SELECT g, g % 2, 'customer ' || g FROM generate_series(1, 6) g;
ALTER TABLE fx_crm.customers ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_read ON fx_crm.customers FOR SELECT TO ns_app_fx, fx_reporting
    USING (tenant_id = (SELECT current_setting('app.tenant', true)::int));
CREATE POLICY tenant_write ON fx_crm.customers FOR UPDATE TO ns_app_fx
    USING (tenant_id = (SELECT current_setting('app.tenant', true)::int))
    WITH CHECK (tenant_id = (SELECT current_setting('app.tenant', true)::int));
GRANT SELECT, UPDATE ON fx_crm.customers TO ns_app_fx;
GRANT SELECT ON fx_crm.customers TO fx_reporting;
-- a partitioned tenant table: row level security on the parent only
CREATE TABLE fx_billing.invoices (id int, tenant_id int NOT NULL, issued date NOT NULL, amount numeric)
    PARTITION BY RANGE (issued);
CREATE TABLE fx_billing.invoices_2023 PARTITION OF fx_billing.invoices FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE fx_billing.invoices_2024 PARTITION OF fx_billing.invoices FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
INSERT INTO fx_billing.invoices VALUES (1, 0, '2023-05-01', 10), (2, 1, '2024-05-01', 20), (3, 1, '2024-06-01', 30);
ALTER TABLE fx_billing.invoices ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_read ON fx_billing.invoices FOR SELECT TO ns_app_fx
    USING (tenant_id = (SELECT current_setting('app.tenant', true)::int));
GRANT SELECT ON fx_billing.invoices TO ns_app_fx;
-- an inheritance hierarchy with row level security on the parent
CREATE TABLE fx_archive.events (id int, tenant_id int NOT NULL, what text);
CREATE TABLE fx_archive.events_2020 () INHERITS (fx_archive.events);
INSERT INTO fx_archive.events_2020 VALUES (1, 0, 'a'), (2, 1, 'b');
ALTER TABLE fx_archive.events ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_read ON fx_archive.events FOR SELECT TO ns_app_fx
    USING (tenant_id = (SELECT current_setting('app.tenant', true)::int));
GRANT SELECT ON fx_archive.events TO ns_app_fx;
-- a security_invoker view, a view over it (security_invoker too), a materialized view read by
-- its owner only, and a non-tenant lookup table any app role reads
CREATE VIEW fx_analytics.customer_names WITH (security_invoker = true) AS SELECT id, name FROM fx_crm.customers;
CREATE VIEW fx_analytics.customer_names_v2 WITH (security_invoker = true) AS SELECT id FROM fx_analytics.customer_names;
CREATE MATERIALIZED VIEW fx_analytics.invoice_totals AS SELECT tenant_id, sum(amount) AS total FROM fx_billing.invoices GROUP BY tenant_id;
CREATE TABLE fx_analytics.countries (code text PRIMARY KEY, name text);
GRANT SELECT ON fx_analytics.customer_names, fx_analytics.customer_names_v2, fx_analytics.countries TO ns_app_fx, fx_reporting;
-- a SECURITY DEFINER routine with a safe search_path, executable by the app only, that reads
-- no table with row level security
CREATE FUNCTION fx_api.country_name(c text) RETURNS text LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, fx_analytics, pg_temp
    AS 'SELECT name FROM countries WHERE code = c';
GRANT EXECUTE ON FUNCTION fx_api.country_name(text) TO ns_app_fx;
RESET ROLE;
-- a foreign table back into this database, read by its owner only
CREATE EXTENSION postgres_fdw;
CREATE SERVER fx_loopback FOREIGN DATA WRAPPER postgres_fdw OPTIONS (dbname 'nspg_regress');
CREATE USER MAPPING FOR ns_owner_fx SERVER fx_loopback OPTIONS (user 'ns_owner_fx');
GRANT USAGE ON FOREIGN SERVER fx_loopback TO ns_owner_fx;
SET ROLE ns_owner_fx;
CREATE FOREIGN TABLE fx_remote.customers (id int, tenant_id int, name text)
    SERVER fx_loopback OPTIONS (schema_name 'fx_crm', table_name 'customers');
RESET ROLE;

-- the clean fixture: no finding on its objects or roles, and no rule errs
SELECT * FROM pg_temp.fixture_findings();
SELECT count(*) > 0 AS lint_ran FROM nspg_guard.lint();
\x off

-- 1. A materialized view stores every tenant's rows; granting it leaks them.
SELECT * FROM pg_temp.findings('rls_matview_exposes_rows');
GRANT SELECT ON fx_analytics.invoice_totals TO PUBLIC;
SET ROLE ns_app_fx;
SET app.tenant = '0';
SELECT count(*) AS through_table FROM fx_billing.invoices;
SELECT count(*) AS through_matview FROM fx_analytics.invoice_totals;
RESET ROLE;
\x on
SELECT * FROM pg_temp.findings('rls_matview_exposes_rows');
SELECT remediation FROM pg_temp.findings('rls_matview_exposes_rows') \gexec
SELECT * FROM pg_temp.findings('rls_matview_exposes_rows');
\x off
-- a view over the materialized view reads it with its owner's SELECT: the same rows
SELECT * FROM pg_temp.findings('rls_view_bypasses_rls');
CREATE VIEW fx_analytics.invoice_report AS SELECT * FROM fx_analytics.invoice_totals;
GRANT SELECT ON fx_analytics.invoice_report TO ns_app_fx;
SELECT object_identity, message, remediation FROM pg_temp.findings('rls_view_bypasses_rls');
SELECT remediation FROM pg_temp.findings('rls_view_bypasses_rls') \gexec
SELECT * FROM pg_temp.findings('rls_view_bypasses_rls');
SET ROLE ns_app_fx;
SELECT count(*) FROM fx_analytics.invoice_report;
RESET ROLE;
DROP VIEW fx_analytics.invoice_report;

-- 2. A partition with its own GRANT: no row through the parent, every row through the partition.
SELECT * FROM pg_temp.findings('rls_child_table_exposes_rows');
GRANT SELECT ON fx_billing.invoices_2024 TO ns_app_fx;
SET ROLE ns_app_fx;
SET app.tenant = '0';
SELECT count(*) AS through_parent FROM fx_billing.invoices WHERE issued >= '2024-01-01';
SELECT count(*) AS through_partition FROM fx_billing.invoices_2024;
RESET ROLE;
-- and an inheritance child granted to a role through which a login reads it
GRANT SELECT, UPDATE ON fx_archive.events_2020 TO fx_reporting;
-- and a partition with row level security of its own, whose own policy lets every row through
ALTER TABLE fx_billing.invoices_2023 ENABLE ROW LEVEL SECURITY;
CREATE POLICY all_rows ON fx_billing.invoices_2023 FOR SELECT TO ns_app_fx USING (tenant_id < 0 OR 2 > 1);
GRANT SELECT ON fx_billing.invoices_2023 TO ns_app_fx;
\x on
SELECT * FROM pg_temp.findings('rls_child_table_exposes_rows');
SELECT remediation FROM pg_temp.findings('rls_child_table_exposes_rows') \gexec
SELECT * FROM pg_temp.findings('rls_child_table_exposes_rows');
\x off
DROP POLICY all_rows ON fx_billing.invoices_2023;
ALTER TABLE fx_billing.invoices_2023 DISABLE ROW LEVEL SECURITY;

-- 3. A foreign table back into this database, readable by the app: the remote side checks the
-- policies for the user mapping's role (the owner), not for the app.
SELECT * FROM pg_temp.findings('rls_foreign_table_exposes_rows');
GRANT SELECT ON fx_remote.customers TO ns_app_fx;
\x on
SELECT * FROM pg_temp.findings('rls_foreign_table_exposes_rows');
SELECT remediation FROM pg_temp.findings('rls_foreign_table_exposes_rows') \gexec
SELECT * FROM pg_temp.findings('rls_foreign_table_exposes_rows');
\x off
-- a server elsewhere is not this database
ALTER SERVER fx_loopback OPTIONS (ADD host 'db.example.com');
GRANT SELECT ON fx_remote.customers TO ns_app_fx;
SELECT * FROM pg_temp.findings('rls_foreign_table_exposes_rows');
REVOKE SELECT ON fx_remote.customers FROM ns_app_fx;

-- 4. A SECURITY DEFINER routine returning a tenant table's rows, owned by a role its policies
-- do not apply to (a superuser), executable by PUBLIC.
SELECT * FROM pg_temp.findings('rls_function_bypasses_rls');
CREATE FUNCTION fx_api.all_customers() RETURNS SETOF fx_crm.customers LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS 'SELECT * FROM fx_crm.customers';
-- and a plpgsql one naming the table in its body, for a login role
CREATE FUNCTION fx_api.customer_count() RETURNS bigint LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$BEGIN RETURN (SELECT count(*) FROM fx_crm."customers"); END$$;
REVOKE EXECUTE ON FUNCTION fx_api.customer_count() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fx_api.customer_count() TO fx_analyst;
SET ROLE ns_app_fx;
SET app.tenant = '0';
SELECT count(*) AS through_table FROM fx_crm.customers;
SELECT count(*) AS through_function FROM fx_api.all_customers();
RESET ROLE;
\x on
SELECT * FROM pg_temp.findings('rls_function_bypasses_rls');
SELECT remediation FROM pg_temp.findings('rls_function_bypasses_rls') \gexec
SELECT * FROM pg_temp.findings('rls_function_bypasses_rls');
\x off
SET ROLE ns_app_fx;
SELECT count(*) AS through_function FROM fx_api.all_customers();
RESET ROLE;
DROP FUNCTION fx_api.all_customers(), fx_api.customer_count();

-- 5. A view over a security_invoker view over the table reads it as its own owner.
SELECT * FROM pg_temp.findings('rls_view_bypasses_rls');
CREATE VIEW fx_analytics.customer_ids AS SELECT id FROM fx_analytics.customer_names_v2;
\x on
SELECT * FROM pg_temp.findings('rls_view_bypasses_rls');
SELECT remediation FROM pg_temp.findings('rls_view_bypasses_rls') \gexec
SELECT * FROM pg_temp.findings('rls_view_bypasses_rls');
\x off
DROP VIEW fx_analytics.customer_ids;

-- 6. SECURITY DEFINER search_path judged by its content.
SELECT * FROM pg_temp.findings('privileges_security_definer_search_path');
CREATE SCHEMA fx_scratch;
GRANT CREATE, USAGE ON SCHEMA fx_scratch TO PUBLIC;
CREATE FUNCTION fx_api.sp_writable() RETURNS int LANGUAGE sql SECURITY DEFINER SET search_path = fx_scratch, pg_temp AS 'SELECT 1';
CREATE FUNCTION fx_api.sp_temp_first() RETURNS int LANGUAGE sql SECURITY DEFINER SET search_path = pg_temp, fx_analytics AS 'SELECT 1';
CREATE FUNCTION fx_api.sp_no_temp() RETURNS int LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, fx_analytics AS 'SELECT 1';
CREATE FUNCTION fx_api.sp_user() RETURNS int LANGUAGE sql SECURITY DEFINER SET search_path = "$user", fx_analytics, pg_temp AS 'SELECT 1';
CREATE FUNCTION fx_api.sp_missing() RETURNS int LANGUAGE sql SECURITY DEFINER SET search_path = fx_nowhere, pg_temp AS 'SELECT 1';
-- not reported: schema public is the database owner's (pg_database_owner), here a superuser
CREATE FUNCTION fx_api.sp_public() RETURNS int LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS 'SELECT 1';
-- owned by another role than the schema's: that role may plant objects run as postgres
CREATE FUNCTION fx_api.sp_foreign_owner() RETURNS int LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, fx_crm, pg_temp AS 'SELECT 1';
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA fx_api FROM PUBLIC;
-- owned by the schemas' owner: the remediation keeps the schema only it may create in
ALTER FUNCTION fx_api.sp_temp_first() OWNER TO ns_owner_fx;
ALTER FUNCTION fx_api.sp_no_temp() OWNER TO ns_owner_fx;
\x on
SELECT * FROM pg_temp.findings('privileges_security_definer_search_path');
SELECT remediation FROM pg_temp.findings('privileges_security_definer_search_path') \gexec
SELECT * FROM pg_temp.findings('privileges_security_definer_search_path');
\x off
SELECT p.proname, p.proconfig FROM pg_proc p WHERE p.pronamespace = 'fx_api'::regnamespace AND p.proname LIKE 'sp\_%' ORDER BY 1;
DROP FUNCTION fx_api.sp_writable(), fx_api.sp_temp_first(), fx_api.sp_no_temp(), fx_api.sp_user(),
    fx_api.sp_missing(), fx_api.sp_foreign_owner(), fx_api.sp_public();
DROP SCHEMA fx_scratch;

-- 7. Default privileges judged by what they grant: a grant to PUBLIC does not count as having
-- default privileges, and is a finding of its own.
CREATE SCHEMA fx_reports AUTHORIZATION fx_reporting;
SELECT severity, object_identity, remediation FROM pg_temp.findings('privileges_schema_no_default_privileges') WHERE object_identity = 'fx_reports';
SELECT * FROM pg_temp.findings('privileges_default_privileges_too_broad');
ALTER DEFAULT PRIVILEGES FOR ROLE fx_reporting GRANT ALL ON TABLES TO PUBLIC;
ALTER DEFAULT PRIVILEGES FOR ROLE fx_reporting IN SCHEMA fx_reports GRANT EXECUTE ON FUNCTIONS TO PUBLIC;
ALTER DEFAULT PRIVILEGES FOR ROLE ns_owner_fx IN SCHEMA fx_crm GRANT TRUNCATE, SELECT ON TABLES TO ns_app_fx;
SELECT severity, object_identity, remediation FROM pg_temp.findings('privileges_schema_no_default_privileges') WHERE object_identity = 'fx_reports';
\x on
SELECT * FROM pg_temp.findings('privileges_default_privileges_too_broad');
SELECT remediation FROM pg_temp.findings('privileges_default_privileges_too_broad') \gexec
SELECT * FROM pg_temp.findings('privileges_default_privileges_too_broad');
-- the remaining finding for the schema: its remediation is scoped to its owner and says what
-- else it changes
SELECT * FROM pg_temp.findings('privileges_schema_no_default_privileges') WHERE object_identity = 'fx_reports';
SELECT remediation FROM pg_temp.findings('privileges_schema_no_default_privileges') WHERE object_identity = 'fx_reports' \gexec
SELECT * FROM pg_temp.findings('privileges_schema_no_default_privileges') WHERE object_identity = 'fx_reports';
\x off
-- a superuser's schema gets no ALTER DEFAULT PRIVILEGES: it would change every extension it installs
CREATE SCHEMA fx_superuser_owned;
SELECT severity, remediation IS NULL AS no_remediation, details->>'side_effects' AS side_effects
FROM pg_temp.findings('privileges_schema_no_default_privileges') WHERE object_identity = 'fx_superuser_owned';
DROP SCHEMA fx_superuser_owned;
ALTER DEFAULT PRIVILEGES FOR ROLE ns_owner_fx IN SCHEMA fx_crm REVOKE SELECT ON TABLES FROM ns_app_fx;
ALTER DEFAULT PRIVILEGES FOR ROLE fx_reporting GRANT EXECUTE ON FUNCTIONS TO PUBLIC;
DROP SCHEMA fx_reports;

-- 8. Permissive policies are ORed: an always-true one cancels the tenant policies.
SELECT * FROM pg_temp.findings('rls_permissive_policy_cancels_others');
CREATE POLICY open_read ON fx_crm.customers FOR SELECT USING (true);
SET ROLE ns_app_fx;
SET app.tenant = '0';
SELECT count(*) AS rows_seen FROM fx_crm.customers;
RESET ROLE;
-- and one for a role, spelled so no list of spellings knows it
CREATE POLICY reporting_all ON fx_crm.customers FOR ALL TO fx_reporting USING (session_user IS NOT NULL OR tenant_id < 0);
\x on
SELECT * FROM pg_temp.findings('rls_permissive_policy_cancels_others');
SELECT remediation FROM pg_temp.findings('rls_permissive_policy_cancels_others') \gexec
SELECT * FROM pg_temp.findings('rls_permissive_policy_cancels_others');
\x off
-- a restrictive always-true policy cancels nothing, and widens nothing (no false alarm)
CREATE POLICY restrict_noop ON fx_crm.customers AS RESTRICTIVE FOR UPDATE USING (true);
SELECT rule, object_identity FROM nspg_guard.lint(ARRAY['rls']) WHERE object_identity LIKE '%restrict_noop%';
DROP POLICY restrict_noop ON fx_crm.customers;

-- 9. Always-true expressions, however written: the decisions on stored trees.
CREATE TABLE fx_crm.probe (tenant_id int, owner_name text);
CREATE FUNCTION pg_temp.truth_of(expression text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE t text;
BEGIN
    EXECUTE format('CREATE POLICY probe ON fx_crm.probe USING (%s)', expression);
    SELECT a.truth INTO t FROM pg_policy p, nspg_guard.policy_expr_analysis(p.oid, 'USING') a
    WHERE p.polrelid = 'fx_crm.probe'::regclass;
    DROP POLICY probe ON fx_crm.probe;
    RETURN t;
END $$;
SELECT e AS expression, pg_temp.truth_of(e) AS truth FROM unnest(ARRAY[
    'true', '1 = 1', 'current_user IS NOT NULL', 'tenant_id = 1 OR true', 'NOT false',
    'coalesce(NULL, true)', 'coalesce(tenant_id = 1, true) OR session_user IS NOT NULL',
    'current_user = current_user', 'lower(current_user) IS NOT NULL', 'now() IS NOT NULL',
    'CASE WHEN tenant_id = 1 THEN true ELSE true END', '(current_user = ''x'') IS NOT NULL',
    'true IS NOT FALSE', 'NULL::int IS NULL',
    -- not always true:
    'tenant_id = 1', 'coalesce(tenant_id = 1, true)', 'current_setting(''app.t'', true) IS NOT NULL',
    'tenant_id = tenant_id', 'owner_name = current_user', 'current_schema IS NOT NULL', 'false',
    'NULL::int = 1']) e;
DROP TABLE fx_crm.probe;
-- the rule on one of them, for a command that writes
CREATE POLICY any_update ON fx_crm.customers FOR UPDATE TO ns_app_fx USING (current_user IS NOT NULL);
\x on
SELECT * FROM pg_temp.findings('rls_policy_always_true');
\x off
ALTER POLICY any_update ON fx_crm.customers USING (tenant_id = (SELECT current_setting('app.tenant', true)::int));
SELECT * FROM pg_temp.findings('rls_policy_always_true');
DROP POLICY any_update ON fx_crm.customers;
-- an INSERT policy whose WITH CHECK is always true lets the app insert any tenant's rows
CREATE POLICY any_insert ON fx_crm.customers FOR INSERT TO ns_app_fx WITH CHECK (NOT (tenant_id IS NULL AND false));
SELECT severity, message FROM pg_temp.findings('rls_policy_always_true');
ALTER POLICY any_insert ON fx_crm.customers WITH CHECK (tenant_id = (SELECT current_setting('app.tenant', true)::int));
SELECT * FROM pg_temp.findings('rls_policy_always_true');
DROP POLICY any_insert ON fx_crm.customers;

-- 10. Tenant columns match whatever their case.
SELECT * FROM pg_temp.findings('rls_tenant_table_without_rls');
CREATE TABLE fx_crm.contacts (id int, "Tenant_Id" int, email text);
\x on
SELECT * FROM pg_temp.findings('rls_tenant_table_without_rls');
SELECT remediation FROM pg_temp.findings('rls_tenant_table_without_rls') \gexec
SELECT * FROM pg_temp.findings('rls_tenant_table_without_rls');
\x off
DROP TABLE fx_crm.contacts;

-- 11. Login roles with server-file and program roles, directly or through a chain, CREATEROLE
-- and REPLICATION.
SELECT * FROM pg_temp.findings('roles_login_dangerous_predefined_role');
SELECT * FROM pg_temp.findings('roles_login_dangerous_attribute');
CREATE ROLE fx_ops NOLOGIN IN ROLE pg_read_server_files, pg_signal_backend;
GRANT fx_ops TO fx_analyst;
GRANT pg_execute_server_program TO ns_app_fx;
CREATE ROLE fx_role_admin NOLOGIN CREATEROLE;
CREATE ROLE fx_hr LOGIN CREATEROLE;
GRANT fx_role_admin TO fx_analyst;
CREATE ROLE fx_standby LOGIN REPLICATION;
\x on
SELECT * FROM pg_temp.findings('roles_login_dangerous_predefined_role');
SELECT * FROM pg_temp.findings('roles_login_dangerous_attribute');
SELECT DISTINCT remediation FROM pg_temp.findings('roles_login_dangerous_predefined_role') \gexec
SELECT DISTINCT remediation FROM pg_temp.findings('roles_login_dangerous_attribute') \gexec
SELECT * FROM pg_temp.findings('roles_login_dangerous_predefined_role');
SELECT * FROM pg_temp.findings('roles_login_dangerous_attribute');
\x off
DROP ROLE fx_ops, fx_role_admin, fx_hr, fx_standby;

-- back to the clean fixture: no finding again
SELECT * FROM pg_temp.fixture_findings();

DROP FOREIGN TABLE fx_remote.customers;
DROP SERVER fx_loopback CASCADE;
DROP EXTENSION postgres_fdw;
DROP SCHEMA fx_crm, fx_billing, fx_archive, fx_analytics, fx_api, fx_remote CASCADE;
RESET nspg_guard.tenant_columns;
DROP OWNED BY ns_owner_fx, ns_app_fx, fx_reporting, fx_analyst;
DROP ROLE ns_owner_fx, ns_app_fx, fx_reporting, fx_analyst;
