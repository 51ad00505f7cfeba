-- §8.1: self-approval is for a declared incident only; the switch left on after the incident
-- turns two-person approval off for everyone.
CREATE FUNCTION nspg_guard.lint_settings_breakglass_self_approve_on()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'settings_breakglass_self_approve_on', 'settings', 'warn', 'setting', 'nspg_guard.breakglass_self_approve',
           'nspg_guard.breakglass_self_approve is on: requesters approve their own break-glass requests.',
           jsonb_build_object('setting', s.setting, 'source', s.source,
                              'side_effects', 'Every break-glass request then needs a second person to approve it: an on-call engineer alone can no longer break glass.'),
           'ALTER SYSTEM RESET nspg_guard.breakglass_self_approve; SELECT pg_reload_conf();',
           'settings_breakglass_self_approve_on:nspg_guard.breakglass_self_approve'
    FROM pg_catalog.pg_settings s
    WHERE s.name = 'nspg_guard.breakglass_self_approve' AND s.setting = 'on'
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('settings_breakglass_self_approve_on', 'settings', NULL,
    'The break-glass incident switch (self-approval) is on.');
