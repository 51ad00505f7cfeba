-- Posture lint entry points: the rule registry, lint() and the per-category functions, bad
-- input, suppression (hides, shows on request, expires), and what a role without privileges
-- gets: a not-evaluated finding for each rule it cannot check, never silence.
\set VERBOSITY default
\set SHOW_CONTEXT never
SELECT category, count(*) AS rules, string_agg(rule, ', ' ORDER BY rule) AS rule_names
FROM nspg_guard.lint_rules GROUP BY category ORDER BY array_position(nspg_guard.lint_categories(), category);
-- every registered rule has its function, and nothing else is named like one
SELECT r.rule FROM nspg_guard.lint_rules r
WHERE NOT EXISTS (SELECT FROM pg_proc p WHERE p.proname = 'lint_' || r.rule AND p.pronamespace = 'nspg_guard'::regnamespace);
SELECT p.proname FROM pg_proc p
WHERE p.pronamespace = 'nspg_guard'::regnamespace AND p.proname ~ '^lint_(rls|roles|privileges|hba|settings|audit)_'
  AND NOT EXISTS (SELECT FROM nspg_guard.lint_rules r WHERE 'lint_' || r.rule = p.proname);

-- lint() is every category; the per-category functions are lint() for one; worst first
SELECT category, severity, count(*) FROM nspg_guard.lint() GROUP BY category, severity ORDER BY category, severity;
SELECT c, (SELECT count(*) FROM nspg_guard.lint(ARRAY[c])) AS via_lint,
       CASE c WHEN 'rls' THEN (SELECT count(*) FROM nspg_guard.rls_lint())
              WHEN 'roles' THEN (SELECT count(*) FROM nspg_guard.roles_lint())
              WHEN 'privileges' THEN (SELECT count(*) FROM nspg_guard.privileges_lint())
              WHEN 'hba' THEN (SELECT count(*) FROM nspg_guard.hba_lint())
              WHEN 'settings' THEN (SELECT count(*) FROM nspg_guard.settings_lint())
              WHEN 'audit' THEN (SELECT count(*) FROM nspg_guard.audit_lint()) END AS via_category_function
FROM unnest(nspg_guard.lint_categories()) c;
SELECT array_agg(severity ORDER BY n) = array_agg(severity ORDER BY nspg_guard.lint_severity_rank(severity), n) AS worst_first
FROM nspg_guard.lint() WITH ORDINALITY f(rule, category, severity, object_type, object_identity, message, details, remediation, key, suppressed, n);
-- keys are unique and the same from one run to the next
SELECT count(*) = count(DISTINCT key) AS unique_keys FROM nspg_guard.lint();
SELECT (SELECT array_agg(key) FROM nspg_guard.lint()) = (SELECT array_agg(key) FROM nspg_guard.lint()) AS stable_keys;

-- bad input
SELECT * FROM nspg_guard.lint(ARRAY['rls', 'tls']);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM nspg_guard.lint(ARRAY[]::text[]);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM nspg_guard.lint(ARRAY[NULL]);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM nspg_guard.lint(NULL, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT nspg_guard.role_in_set('ns_app_rw_orders', 'apps');
\echo :LAST_ERROR_SQLSTATE
SELECT r, s, nspg_guard.role_in_set(r, s)
FROM (VALUES ('ns_app_rw_orders', 'app'), ('ns_owner_orders', 'owner'), ('ns_owner_orders', 'migration'),
             ('deploy_bot', 'migration'), ('ns_admin', 'admin'), ('alice_admin', 'admin')) v(r, s);

-- suppression: hidden until `until`, shown with include_suppressed, expired afterwards
SELECT key FROM nspg_guard.roles_lint();
SELECT nspg_guard.lint_suppress('roles_superuser_not_allowed:ns_dba', 'on-call DBA until the platform admin role exists, OPS-42', now() + interval '30 days');
SELECT key FROM nspg_guard.roles_lint();
SELECT key, suppressed FROM nspg_guard.roles_lint(include_suppressed => true);
SELECT key, suppressed FROM nspg_guard.lint(ARRAY['roles'], true);
SELECT key, reason, until > now() AS in_force, suppressed_by FROM nspg_guard.lint_suppressions;
-- suppressing again replaces the reason and the end: here, one already past
SELECT nspg_guard.lint_suppress('roles_superuser_not_allowed:ns_dba', 'expired exception', now() - interval '1 second');
SELECT key FROM nspg_guard.roles_lint();
SELECT key, suppressed FROM nspg_guard.roles_lint(include_suppressed => true);
SELECT key, reason, until > now() AS in_force FROM nspg_guard.lint_suppressions;
-- a key can be suppressed before its finding appears
SELECT nspg_guard.lint_suppress('rls_enabled_no_policy:orders.order_lines', 'deny-all on purpose while migrating, OPS-43', now() + interval '1 day');
ALTER TABLE orders.order_lines ENABLE ROW LEVEL SECURITY;
SELECT rule, key, suppressed FROM nspg_guard.rls_lint(true);
SELECT rule, key, suppressed FROM nspg_guard.rls_lint();
ALTER TABLE orders.order_lines DISABLE ROW LEVEL SECURITY;
-- bad suppressions
SELECT nspg_guard.lint_suppress(NULL, 'reason', now() + interval '1 day');
\echo :LAST_ERROR_SQLSTATE
SELECT nspg_guard.lint_suppress('roles_superuser_not_allowed:ns_dba', '  ', now() + interval '1 day');
\echo :LAST_ERROR_SQLSTATE
SELECT nspg_guard.lint_suppress('roles_superuser_not_allowed:ns_dba', 'reason', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT nspg_guard.lint_suppress('superuser:ns_dba', 'reason', now() + interval '1 day');
\echo :LAST_ERROR_SQLSTATE
-- only admins suppress: an app role is refused, a member of ns_admin may
SET ROLE ns_app_rw_orders;
SELECT nspg_guard.lint_suppress('roles_superuser_not_allowed:ns_dba', 'the app says so', now() + interval '1 year');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO nspg_guard.lint_suppressions VALUES ('roles_superuser_not_allowed:ns_dba', 'sneaky', 'infinity', 'ns_app_rw_orders');
\echo :LAST_ERROR_SQLSTATE
SET ROLE alice_admin;
SELECT nspg_guard.lint_suppress('roles_superuser_not_allowed:ns_dba', 'approved by alice, OPS-44', now() + interval '1 hour');
SELECT key, reason, suppressed_by FROM nspg_guard.lint_suppressions ORDER BY key;
SELECT key FROM nspg_guard.roles_lint();
RESET ROLE;
-- not even a superuser deletes a suppression (it would be unaudited); it ends through lint_suppress()
DELETE FROM nspg_guard.lint_suppressions WHERE key = 'roles_superuser_not_allowed:ns_dba';
SELECT nspg_guard.lint_suppress('roles_superuser_not_allowed:ns_dba', 'ended, OPS-44', now() - interval '1 second');

-- a role without privileges on pg_authid and pg_hba_file_rules and without pg_read_all_settings:
-- those rules are reported as not evaluated; the others run as usual
SET ROLE ns_app_ro_orders;
SELECT rule, category, message, key FROM nspg_guard.lint() WHERE details ->> 'evaluated' = 'false';
SELECT category, count(*) FROM nspg_guard.lint() WHERE NOT coalesce((details ->> 'evaluated')::boolean, true) GROUP BY category ORDER BY category;
RESET ROLE;
-- a superuser evaluates every rule
SELECT count(*) FROM nspg_guard.lint() WHERE details ->> 'evaluated' = 'false';
