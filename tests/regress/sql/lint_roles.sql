-- Posture lint, roles and privileges categories: every rule in splinter's shape (no finding,
-- create the problem, exactly the expected finding, fix, no finding), against the fixture's
-- role taxonomy. Fixes are the findings' own remediations where they have one (\gexec).
\x on
CREATE FUNCTION pg_temp.findings(wanted text)
RETURNS TABLE (severity text, object_type text, object_identity text, message text, details jsonb, remediation text, key text)
LANGUAGE sql AS $$
    SELECT f.severity, f.object_type, f.object_identity, f.message, f.details, f.remediation, f.key
    FROM nspg_guard.lint(ARRAY['roles', 'privileges']) f WHERE f.rule = wanted
$$;
-- the fixture's own findings: ns_dba is a superuser outside the admin roles, and the owner of
-- schema orders has no default privileges
SELECT rule, object_identity FROM nspg_guard.lint(ARRAY['roles', 'privileges']);

-- roles_superuser_not_allowed: superusers other than the bootstrap one must be admin roles
SET nspg_guard.admin_roles = 'ns_admin, ns_breakglass_admin, ns_dba';
SELECT * FROM pg_temp.findings('roles_superuser_not_allowed');
CREATE ROLE lint_root SUPERUSER;
SELECT * FROM pg_temp.findings('roles_superuser_not_allowed');
SELECT remediation FROM pg_temp.findings('roles_superuser_not_allowed') \gexec
SELECT * FROM pg_temp.findings('roles_superuser_not_allowed');
DROP ROLE lint_root;
RESET nspg_guard.admin_roles;

-- roles_login_reaches_privileged: a chain to a superuser, and a chain of two grants to an
-- admin role (alice_admin, granted ns_admin directly, is the intended way and not reported)
SELECT * FROM pg_temp.findings('roles_login_reaches_privileged');
CREATE ROLE lint_ops NOLOGIN IN ROLE ns_dba;
CREATE ROLE lint_carol LOGIN IN ROLE lint_ops;
CREATE ROLE lint_team NOLOGIN IN ROLE ns_admin;
CREATE ROLE lint_dave LOGIN IN ROLE lint_team;
SELECT * FROM pg_temp.findings('roles_login_reaches_privileged');
SELECT remediation FROM pg_temp.findings('roles_login_reaches_privileged') \gexec
SELECT * FROM pg_temp.findings('roles_login_reaches_privileged');
DROP ROLE lint_carol, lint_ops, lint_dave, lint_team;

-- roles_app_member_of_privileged: the app must not hold the migration or owner role
SELECT * FROM pg_temp.findings('roles_app_member_of_privileged');
GRANT ns_migrate_orders TO ns_app_rw_orders;
SELECT * FROM pg_temp.findings('roles_app_member_of_privileged');
SELECT DISTINCT remediation FROM pg_temp.findings('roles_app_member_of_privileged') \gexec
SELECT * FROM pg_temp.findings('roles_app_member_of_privileged');

-- roles_owner_role_login
SELECT * FROM pg_temp.findings('roles_owner_role_login');
ALTER ROLE ns_owner_orders LOGIN;
SELECT * FROM pg_temp.findings('roles_owner_role_login');
SELECT remediation FROM pg_temp.findings('roles_owner_role_login') \gexec
SELECT * FROM pg_temp.findings('roles_owner_role_login');

-- roles_migration_role_app_login: by membership, and by name (both role-set settings match)
SELECT * FROM pg_temp.findings('roles_migration_role_app_login');
GRANT ns_app_ro_orders TO ns_migrate_orders;
SELECT * FROM pg_temp.findings('roles_migration_role_app_login');
SELECT remediation FROM pg_temp.findings('roles_migration_role_app_login') \gexec
SELECT * FROM pg_temp.findings('roles_migration_role_app_login');
SET nspg_guard.app_roles = 'ns_app_*, ns_migrate_orders';
SELECT * FROM pg_temp.findings('roles_migration_role_app_login');
RESET nspg_guard.app_roles;
SELECT * FROM pg_temp.findings('roles_migration_role_app_login');

-- roles_password_never_expires (the remediation's date is 90 days from today)
SELECT * FROM pg_temp.findings('roles_password_never_expires');
CREATE ROLE lint_svc LOGIN PASSWORD 'lint-secret-1';
SELECT severity, object_identity, message, details, key,
       remediation ~ '^ALTER ROLE lint_svc VALID UNTIL ''\d{4}-\d\d-\d\d'';$' AS remediation_ok
FROM pg_temp.findings('roles_password_never_expires');
SELECT remediation FROM pg_temp.findings('roles_password_never_expires') \gset
:remediation
SELECT * FROM pg_temp.findings('roles_password_never_expires');

-- roles_md5_password
SELECT * FROM pg_temp.findings('roles_md5_password');
SET password_encryption = 'md5';
ALTER ROLE lint_svc PASSWORD 'lint-secret-2';
RESET password_encryption;
SELECT * FROM pg_temp.findings('roles_md5_password');
ALTER ROLE lint_svc PASSWORD 'lint-secret-3';
SELECT * FROM pg_temp.findings('roles_md5_password');
DROP ROLE lint_svc;

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
SELECT rule, object_identity FROM nspg_guard.lint(ARRAY['roles', 'privileges']);
