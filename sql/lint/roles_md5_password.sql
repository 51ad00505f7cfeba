-- NS-PG-007 §2.1 requires SCRAM: an MD5 hash is replayable from a leaked hash and weak against
-- brute force. Only pg_authid shows the hashes, so only superusers can evaluate this rule.
CREATE FUNCTION nspg_guard.lint_roles_md5_password()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'roles_md5_password', 'roles', 'error', 'role', a.rolname::text,
           format('Role %I has an MD5 password hash; NS-PG-007 requires SCRAM. Set password_encryption = ''scram-sha-256'' and set its password again.', a.rolname),
           jsonb_build_object('login', a.rolcanlogin),
           NULL,
           'roles_md5_password:' || a.rolname
    FROM pg_catalog.pg_authid a
    WHERE a.rolpassword LIKE 'md5%' AND a.rolname !~ '^pg_'
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('roles_md5_password', 'roles', 'pg_catalog.pg_authid',
    'A role has an MD5 password hash instead of SCRAM.');
