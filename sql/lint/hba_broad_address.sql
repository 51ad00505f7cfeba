-- NS-PG-007 §4.3: deny broad CIDR ranges unless explicitly justified. Every address (all,
-- 0.0.0.0/0, ::/0) is an error; ranges wider than an IPv4 /16 or IPv6 /48, and samenet (every
-- subnet the server is on), are warnings. nspg_guard.hba_address_scope sizes the range.
CREATE FUNCTION nspg_guard.lint_hba_broad_address(lines nspg_guard.hba_line[])
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'hba_broad_address', 'hba', CASE s.scope WHEN 'any' THEN 'error' ELSE 'warn' END,
           'hba_line', format('pg_hba.conf line %s', l.line_number),
           format('pg_hba.conf line %s (%s) admits %s; allow only the subnets that need access.', l.line_number,
                  nspg_guard.hba_line_text(l),
                  CASE s.scope WHEN 'any' THEN 'every address' WHEN 'samenet' THEN 'every subnet the server is on'
                               ELSE 'a range wider than a /16 (IPv4) or /48 (IPv6)' END),
           jsonb_build_object('line_number', l.line_number, 'scope', s.scope, 'line', nspg_guard.hba_line_text(l)),
           NULL,
           'hba_broad_address:' || nspg_guard.hba_line_text(l)
    FROM unnest(lines) l
    CROSS JOIN LATERAL (SELECT nspg_guard.hba_address_scope(l.address, l.netmask) AS scope) s
    WHERE l.error IS NULL AND l.auth_method <> 'reject' AND s.scope IN ('any', 'broad', 'samenet')
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('hba_broad_address', 'hba', 'pg_catalog.pg_hba_file_rules',
    'A pg_hba.conf line admits every address or a broad range.');
