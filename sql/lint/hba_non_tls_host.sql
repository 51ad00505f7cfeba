-- NS-PG-007 §5.1: TLS is required. A host line matches connections with and without TLS, a
-- hostnossl line only those without: hostssl forces it. Loopback-only lines never leave the
-- machine and are reported for information.
CREATE FUNCTION nspg_guard.lint_hba_non_tls_host(lines nspg_guard.hba_line[])
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'hba_non_tls_host', 'hba',
           CASE WHEN nspg_guard.hba_address_scope(l.address, l.netmask) = 'local' THEN 'info' ELSE 'warn' END,
           'hba_line', format('pg_hba.conf line %s', l.line_number),
           format('pg_hba.conf line %s (%s) accepts connections without TLS%s; use hostssl.', l.line_number,
                  nspg_guard.hba_line_text(l),
                  CASE WHEN nspg_guard.hba_address_scope(l.address, l.netmask) = 'local' THEN ' (from this machine only)' ELSE '' END),
           jsonb_build_object('line_number', l.line_number, 'type', l.type, 'line', nspg_guard.hba_line_text(l)),
           NULL,
           'hba_non_tls_host:' || nspg_guard.hba_line_text(l)
    FROM unnest(lines) l
    WHERE l.error IS NULL AND l.type IN ('host', 'hostnossl') AND l.auth_method <> 'reject'
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('hba_non_tls_host', 'hba', 'pg_catalog.pg_hba_file_rules',
    'A pg_hba.conf host or hostnossl line accepts connections without TLS.');
