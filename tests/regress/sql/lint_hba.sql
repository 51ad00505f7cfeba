-- Posture lint, hba category. The rules take pg_hba.conf lines as nspg_guard.hba_line rows,
-- so each is shown here on lines written for it (nspg_guard.hba_lint_rows), in splinter's
-- shape: clean lines, the problem, exactly the expected finding, the fixed line, nothing.
-- Then hba_lint() against this cluster's own file, as superuser, as a role that may not read
-- it, and as one granted SELECT on pg_hba_file_rules.
\x on
CREATE FUNCTION pg_temp.lines(VARIADIC l text[]) RETURNS nspg_guard.hba_line[]
LANGUAGE sql AS $$
    -- 'type database user address netmask method' -> hba_line, numbered from 1
    SELECT array_agg(ROW(i, p[1], string_to_array(p[2], ','), string_to_array(p[3], ','),
                         nullif(p[4], '-'), nullif(p[5], '-'), p[6], NULL, NULL)::nspg_guard.hba_line ORDER BY i)
    FROM unnest(l) WITH ORDINALITY u(line, i), regexp_split_to_array(line, '\s+') p
$$;
CREATE FUNCTION pg_temp.findings(wanted text, lines nspg_guard.hba_line[])
RETURNS TABLE (severity text, object_identity text, message text, details jsonb, key text)
LANGUAGE sql AS $$
    SELECT f.severity, f.object_identity, f.message, f.details, f.key
    FROM nspg_guard.hba_lint_rows(lines) f WHERE f.rule = wanted
$$;
-- a sound file: peer locally, SCRAM over TLS from one subnet, and a reject line (which admits
-- nobody, so no rule looks at it)
SELECT * FROM nspg_guard.hba_lint_rows(pg_temp.lines(
    'local all postgres - - peer',
    'hostssl orders ns_app_rw_orders 10.20.30.0 255.255.255.0 scram-sha-256',
    'host all all 0.0.0.0 0.0.0.0 reject'));

-- hba_weak_auth_method
SELECT * FROM pg_temp.findings('hba_weak_auth_method', pg_temp.lines(
    'hostssl all ns_app_rw_orders 10.20.30.0 255.255.255.0 scram-sha-256'));
SELECT * FROM pg_temp.findings('hba_weak_auth_method', pg_temp.lines(
    'local all all - - trust',
    'hostssl all ns_app_rw_orders 10.20.30.0 255.255.255.0 password',
    'hostssl all ns_app_ro_orders 10.20.30.0 255.255.255.0 md5',
    'hostssl all ns_analytics_ro 10.20.30.0 255.255.255.0 ident'));
SELECT * FROM pg_temp.findings('hba_weak_auth_method', pg_temp.lines(
    'local all all - - peer',
    'hostssl all ns_app_rw_orders 10.20.30.0 255.255.255.0 scram-sha-256',
    'hostssl all ns_app_ro_orders 10.20.30.0 255.255.255.0 scram-sha-256',
    'hostssl all ns_analytics_ro 10.20.30.0 255.255.255.0 cert'));

-- hba_non_tls_host: host accepts both, hostnossl only plain connections; loopback is info
SELECT * FROM pg_temp.findings('hba_non_tls_host', pg_temp.lines(
    'hostssl all ns_app_rw_orders 10.20.30.0 255.255.255.0 scram-sha-256'));
SELECT * FROM pg_temp.findings('hba_non_tls_host', pg_temp.lines(
    'host all ns_app_rw_orders 10.20.30.0 255.255.255.0 scram-sha-256',
    'hostnossl all ns_app_ro_orders 10.20.31.0 255.255.255.0 scram-sha-256',
    'host all ns_analytics_ro 127.0.0.1 255.255.255.255 scram-sha-256'));
SELECT * FROM pg_temp.findings('hba_non_tls_host', pg_temp.lines(
    'hostssl all ns_app_rw_orders 10.20.30.0 255.255.255.0 scram-sha-256',
    'hostssl all ns_app_ro_orders 10.20.31.0 255.255.255.0 scram-sha-256',
    'hostssl all ns_analytics_ro 127.0.0.1 255.255.255.255 scram-sha-256'));

-- hba_broad_address: everything is an error, wider than /16 (IPv4) or /48 (IPv6) and samenet warn
SELECT * FROM pg_temp.findings('hba_broad_address', pg_temp.lines(
    'hostssl all ns_app_rw_orders 10.20.0.0 255.255.0.0 scram-sha-256',
    'hostssl all ns_app_rw_orders 2001:db8:1:: ffff:ffff:ffff:: scram-sha-256'));
SELECT * FROM pg_temp.findings('hba_broad_address', pg_temp.lines(
    'hostssl all ns_app_rw_orders 0.0.0.0 0.0.0.0 scram-sha-256',
    'hostssl all ns_app_ro_orders 10.0.0.0 255.0.0.0 scram-sha-256',
    'hostssl all ns_analytics_ro samenet - scram-sha-256',
    'hostssl all ns_app_rw_orders :: :: scram-sha-256',
    'hostssl all ns_app_ro_orders 2001:db8:: ffff:ffff:: scram-sha-256',
    'hostssl all ns_analytics_ro all - scram-sha-256'));
SELECT * FROM pg_temp.findings('hba_broad_address', pg_temp.lines(
    'hostssl all ns_app_rw_orders 10.20.30.0 255.255.255.0 scram-sha-256',
    'hostssl all ns_app_ro_orders 10.20.0.0 255.255.0.0 scram-sha-256',
    'hostssl all ns_analytics_ro 10.20.30.40 255.255.255.255 scram-sha-256'));

-- hba_remote_superuser: all, a superuser by name, or a group holding one; loopback is fine
SELECT * FROM pg_temp.findings('hba_remote_superuser', pg_temp.lines(
    'hostssl all all 127.0.0.1 255.255.255.255 scram-sha-256',
    'hostssl all +ns_admin 10.20.30.0 255.255.255.0 scram-sha-256',
    'hostssl all ns_app_rw_orders 10.20.30.0 255.255.255.0 scram-sha-256'));
GRANT ns_admin TO ns_dba;
SELECT * FROM pg_temp.findings('hba_remote_superuser', pg_temp.lines(
    'hostssl all all 10.20.30.0 255.255.255.0 scram-sha-256',
    'hostssl all postgres 10.20.30.0 255.255.255.0 scram-sha-256',
    'hostssl all +ns_admin 10.20.30.0 255.255.255.0 scram-sha-256'));
REVOKE ns_admin FROM ns_dba;
SELECT * FROM pg_temp.findings('hba_remote_superuser', pg_temp.lines(
    'hostssl all ns_app_rw_orders,ns_app_ro_orders 10.20.30.0 255.255.255.0 scram-sha-256',
    'hostssl all postgres 127.0.0.1 255.255.255.255 scram-sha-256',
    'hostssl all +ns_admin 10.20.30.0 255.255.255.0 scram-sha-256'));

-- hba_file_error: pg_hba_file_rules reports unparsable lines in its error column
SELECT * FROM pg_temp.findings('hba_file_error', pg_temp.lines('hostssl all all 10.20.30.0 255.255.255.0 scram-sha-256'));
SELECT * FROM pg_temp.findings('hba_file_error', ARRAY[
    ROW(7, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'invalid IP address "10.300.0.1": Name or service not known')]::nspg_guard.hba_line[]);

-- how wide an address is, decided in Rust (nspg_guard.hba_address_scope)
\x off
SELECT a, m, nspg_guard.hba_address_scope(a, m)
FROM (VALUES ('0.0.0.0', '0.0.0.0'), ('10.0.0.0', '255.0.0.0'), ('10.1.0.0', '255.255.0.0'),
             ('10.1.2.3', '255.255.255.255'), ('127.0.0.1', '255.255.255.255'), ('::1', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'),
             ('2001:db8::', 'ffff:ffff::'), ('samenet', NULL), ('samehost', NULL), ('db.example.com', NULL),
             (NULL, NULL)) v(a, m);

-- bad input
\set VERBOSITY default
\set SHOW_CONTEXT never
SELECT * FROM nspg_guard.hba_lint_rows(NULL);
\echo :LAST_ERROR_SQLSTATE

-- this cluster's pg_hba.conf, written by initdb --auth=trust: trust everywhere, plain host
-- lines from loopback only
SELECT rule, severity, details ->> 'line' AS line FROM nspg_guard.hba_lint();
-- a role that may not read pg_hba_file_rules gets each rule as not evaluated, not silence
SET ROLE ns_app_ro_orders;
SELECT rule, severity, object_type, message, key FROM nspg_guard.hba_lint();
-- lines it supplies itself need no privilege
SELECT rule, severity FROM nspg_guard.hba_lint_rows(pg_temp.lines('host all all 0.0.0.0 0.0.0.0 trust'));
RESET ROLE;
-- the view alone is not enough: PostgreSQL also checks EXECUTE on its function for the caller
GRANT SELECT ON pg_catalog.pg_hba_file_rules TO ns_analytics_ro;
SET ROLE ns_analytics_ro;
SELECT rule, severity, message FROM nspg_guard.hba_lint() WHERE rule = 'hba_weak_auth_method';
RESET ROLE;
GRANT EXECUTE ON FUNCTION pg_catalog.pg_hba_file_rules() TO ns_analytics_ro;
SET ROLE ns_analytics_ro;
SELECT rule, severity, details ->> 'line' AS line FROM nspg_guard.hba_lint();
RESET ROLE;
REVOKE EXECUTE ON FUNCTION pg_catalog.pg_hba_file_rules() FROM ns_analytics_ro;
REVOKE SELECT ON pg_catalog.pg_hba_file_rules FROM ns_analytics_ro;
