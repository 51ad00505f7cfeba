-- Posture lint, roles category: every rule in splinter's shape (no finding, create the
-- problem, exactly the expected finding, fix, no finding), against the fixture's role
-- taxonomy. Fixes are the findings' own remediations where they have one (\gexec). The
-- privileges category is in lint_privileges.
\x on
\i include/findings_roles_privileges.sql
-- the fixture's own findings: ns_dba is a superuser outside the admin roles
SELECT rule, object_identity FROM nspg_guard.lint(ARRAY['roles']);

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
CREATE ROLE lint_svc LOGIN PASSWORD 'lint-secret-1-PlantedZq4';
SELECT severity, object_identity, message, details, key,
       remediation ~ '^ALTER ROLE lint_svc VALID UNTIL ''\d{4}-\d\d-\d\d'';$' AS remediation_ok
FROM pg_temp.findings('roles_password_never_expires');
SELECT remediation FROM pg_temp.findings('roles_password_never_expires') \gset
:remediation
SELECT * FROM pg_temp.findings('roles_password_never_expires');

-- roles_md5_password
SELECT * FROM pg_temp.findings('roles_md5_password');
SET password_encryption = 'md5';
ALTER ROLE lint_svc PASSWORD 'lint-secret-2-PlantedZq4';
RESET password_encryption;
SELECT * FROM pg_temp.findings('roles_md5_password');
ALTER ROLE lint_svc PASSWORD 'lint-secret-3-PlantedZq4';
SELECT * FROM pg_temp.findings('roles_md5_password');
DROP ROLE lint_svc;
-- as the fixture was
SELECT rule, object_identity FROM nspg_guard.lint(ARRAY['roles']);
