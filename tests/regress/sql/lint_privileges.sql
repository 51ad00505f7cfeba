-- Posture lint, privileges category, in the shape of lint_roles: no finding, create the
-- problem, exactly the expected finding, fix, no finding, against the fixture's role taxonomy.
-- Fixes are the findings' own remediations where they have one (\gexec).
\x on
\i include/findings_roles_privileges.sql
-- the fixture's own finding: the owner of schema orders has no default privileges
SELECT rule, object_identity FROM nspg_guard.lint(ARRAY['privileges']);

-- privileges_app_role_owns_objects: the remediation gives relations and routines to the
-- schema's owner; a schema has no obvious new owner
SELECT * FROM pg_temp.findings('privileges_app_role_owns_objects');
CREATE TABLE orders.lint_cache (id int);
ALTER TABLE orders.lint_cache OWNER TO ns_app_rw_orders;
CREATE FUNCTION orders.lint_total(o int) RETURNS numeric LANGUAGE sql AS 'SELECT total FROM orders.orders WHERE id = o';
ALTER FUNCTION orders.lint_total(int) OWNER TO ns_app_rw_orders;
CREATE SCHEMA lint_app AUTHORIZATION ns_app_ro_orders;
SELECT * FROM pg_temp.findings('privileges_app_role_owns_objects');
SELECT remediation FROM pg_temp.findings('privileges_app_role_owns_objects') WHERE remediation IS NOT NULL \gexec
DROP SCHEMA lint_app;
SELECT * FROM pg_temp.findings('privileges_app_role_owns_objects');
DROP TABLE orders.lint_cache;
DROP FUNCTION orders.lint_total(int);

-- privileges_app_role_schema_create: directly, or through PUBLIC (then no one-line fix)
SELECT * FROM pg_temp.findings('privileges_app_role_schema_create');
GRANT CREATE ON SCHEMA orders TO ns_app_rw_orders;
SELECT * FROM pg_temp.findings('privileges_app_role_schema_create');
SELECT remediation FROM pg_temp.findings('privileges_app_role_schema_create') \gexec
SELECT * FROM pg_temp.findings('privileges_app_role_schema_create');

-- privileges_public_schema_create (app roles inherit it: their findings are indirect)
SELECT * FROM pg_temp.findings('privileges_public_schema_create');
GRANT CREATE ON SCHEMA orders TO PUBLIC;
SELECT * FROM pg_temp.findings('privileges_public_schema_create');
SELECT object_identity, message, remediation FROM pg_temp.findings('privileges_app_role_schema_create');
SELECT remediation FROM pg_temp.findings('privileges_public_schema_create') \gexec
SELECT * FROM pg_temp.findings('privileges_public_schema_create');
SELECT * FROM pg_temp.findings('privileges_app_role_schema_create');

-- privileges_public_execute_security_definer and privileges_security_definer_search_path
SELECT * FROM pg_temp.findings('privileges_public_execute_security_definer');
SELECT * FROM pg_temp.findings('privileges_security_definer_search_path');
CREATE FUNCTION orders.lint_order_count() RETURNS bigint LANGUAGE sql SECURITY DEFINER
    AS 'SELECT count(*) FROM orders.orders';
SELECT * FROM pg_temp.findings('privileges_public_execute_security_definer');
SELECT * FROM pg_temp.findings('privileges_security_definer_search_path');
SELECT remediation FROM pg_temp.findings('privileges_public_execute_security_definer') \gexec
SELECT remediation FROM pg_temp.findings('privileges_security_definer_search_path') \gexec
SELECT * FROM pg_temp.findings('privileges_public_execute_security_definer');
SELECT * FROM pg_temp.findings('privileges_security_definer_search_path');
SELECT orders.lint_order_count();
DROP FUNCTION orders.lint_order_count();

-- privileges_schema_no_default_privileges: fix the fixture's schema first, then a new one
SELECT remediation FROM pg_temp.findings('privileges_schema_no_default_privileges') \gexec
SELECT * FROM pg_temp.findings('privileges_schema_no_default_privileges');
CREATE ROLE ns_owner_billing NOLOGIN;
CREATE SCHEMA billing AUTHORIZATION ns_owner_billing;
SELECT * FROM pg_temp.findings('privileges_schema_no_default_privileges');
ALTER DEFAULT PRIVILEGES FOR ROLE ns_owner_billing IN SCHEMA billing GRANT SELECT ON TABLES TO ns_analytics_ro;
SELECT * FROM pg_temp.findings('privileges_schema_no_default_privileges');
DROP SCHEMA billing;
DROP OWNED BY ns_owner_billing;
DROP ROLE ns_owner_billing;
-- back to the fixture's state
ALTER DEFAULT PRIVILEGES FOR ROLE ns_owner_orders GRANT EXECUTE ON FUNCTIONS TO PUBLIC;
SELECT rule, object_identity FROM nspg_guard.lint(ARRAY['privileges']);
