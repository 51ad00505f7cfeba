-- nspg_guard enforces NS-PG-007 only when its library is preloaded and each guard is in
-- enforce mode. Guards are found by name (nspg_guard.*_guard), so a new guard is covered
-- without changing this rule.
CREATE FUNCTION nspg_guard.lint_settings_guard_not_enforced()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'settings_guard_not_enforced', 'settings', 'error', 'setting', 'shared_preload_libraries',
           'nspg_guard is not in shared_preload_libraries, so none of its guards is active.',
           jsonb_build_object('hooks_active', false),
           NULL,
           'settings_guard_not_enforced:shared_preload_libraries'
    WHERE NOT nspg_guard.hooks_active()
    UNION ALL
    SELECT 'settings_guard_not_enforced', 'settings', CASE s.setting WHEN 'off' THEN 'error' ELSE 'warn' END,
           'setting', s.name,
           format('%s is %s, not enforce: %s.', s.name, s.setting,
                  CASE s.setting WHEN 'off' THEN 'the guard does nothing' ELSE 'the guard only warns' END),
           jsonb_build_object('setting', s.setting, 'source', s.source, 'applies', nspg_guard.lint_setting_applies(s.context),
                              'side_effects', 'Statements the guard only warned about are refused from then on: applications and migrations that run them fail.'),
           format('ALTER SYSTEM SET %s = enforce;', s.name),
           'settings_guard_not_enforced:' || s.name
    FROM pg_catalog.pg_settings s
    WHERE s.name ~ '^nspg_guard\.[a-z_]+_guard$' AND s.vartype = 'enum' AND s.setting <> 'enforce'
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('settings_guard_not_enforced', 'settings', NULL,
    'nspg_guard is not preloaded, or one of its guards is not in enforce mode.');
