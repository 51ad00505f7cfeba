-- Credentials rotate on a schedule (NS-PG-007 §2.3, §10): a login password without VALID UNTIL
-- never has to. Whether a role has a password at all is in pg_authid, readable by superusers only.
-- The remediation spells its date in ISO form, which every DateStyle reads.
CREATE FUNCTION nspg_guard.lint_roles_password_never_expires()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'roles_password_never_expires', 'roles', 'warn', 'role', a.rolname::text,
           format('Login role %I has a password that never expires; rotate it and set VALID UNTIL so the next rotation is due.', a.rolname),
           jsonb_build_object('valid_until', a.rolvaliduntil),
           format('ALTER ROLE %I VALID UNTIL %L;', a.rolname, to_char(current_date + 90, 'YYYY-MM-DD')),
           'roles_password_never_expires:' || a.rolname
    FROM pg_catalog.pg_authid a
    WHERE a.rolcanlogin AND a.rolpassword IS NOT NULL AND a.rolname !~ '^pg_'
      AND (a.rolvaliduntil IS NULL OR a.rolvaliduntil = 'infinity')
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('roles_password_never_expires', 'roles', 'pg_catalog.pg_authid',
    'A login role has a password without an expiry.');
