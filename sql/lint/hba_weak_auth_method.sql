-- Authentication methods NS-PG-007 §2.1 rules out: trust (no authentication), password
-- (cleartext over the wire), md5 (SCRAM required), ident (the client's host vouches for the
-- user; over TCP anyone controlling that host can). pg_hba.conf is a file: no SQL fixes it.
CREATE FUNCTION nspg_guard.lint_hba_weak_auth_method(lines nspg_guard.hba_line[])
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'hba_weak_auth_method', 'hba',
           CASE WHEN l.auth_method IN ('trust', 'password') THEN 'error' ELSE 'warn' END,
           'hba_line', format('pg_hba.conf line %s', l.line_number),
           format('pg_hba.conf line %s (%s) uses %s: %s. Use scram-sha-256 (or cert).', l.line_number,
                  nspg_guard.hba_line_text(l), l.auth_method,
                  CASE l.auth_method WHEN 'trust' THEN 'anyone who can connect is any user they name, without a password'
                                     WHEN 'password' THEN 'passwords travel in cleartext'
                                     WHEN 'md5' THEN 'MD5 is weaker than the SCRAM that NS-PG-007 requires'
                                     ELSE 'the client''s host vouches for the user' END),
           jsonb_build_object('line_number', l.line_number, 'auth_method', l.auth_method, 'line', nspg_guard.hba_line_text(l)),
           NULL,
           'hba_weak_auth_method:' || nspg_guard.hba_line_text(l)
    FROM unnest(lines) l
    WHERE l.error IS NULL AND l.auth_method IN ('trust', 'password', 'md5', 'ident')
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('hba_weak_auth_method', 'hba', 'pg_catalog.pg_hba_file_rules',
    'A pg_hba.conf line uses trust, password, md5 or ident authentication.');
