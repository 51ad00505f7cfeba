-- Superusers connect from this machine or through the admin choke point only (NS-PG-007 §4.2):
-- a network line that is not loopback-only and matches a superuser (all, a superuser's name,
-- or +group with a superuser among its members) lets a stolen superuser password be used from
-- afar. Membership is counted as pg_hba.conf counts it, through grants: pg_has_role would make
-- a superuser a member of every group.
CREATE FUNCTION nspg_guard.lint_hba_remote_superuser(lines nspg_guard.hba_line[])
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'hba_remote_superuser', 'hba', 'error',
           'hba_line', format('pg_hba.conf line %s', l.line_number),
           format('pg_hba.conf line %s (%s) lets superuser%s %s connect from other machines.', l.line_number,
                  nspg_guard.hba_line_text(l), CASE WHEN cardinality(su.names) > 1 THEN 's' ELSE '' END,
                  array_to_string(su.names, ', ')),
           jsonb_build_object('line_number', l.line_number, 'superusers', to_jsonb(su.names), 'line', nspg_guard.hba_line_text(l)),
           NULL,
           'hba_remote_superuser:' || nspg_guard.hba_line_text(l)
    FROM unnest(lines) l
    CROSS JOIN LATERAL (
        SELECT array_agg(quote_ident(r.rolname) ORDER BY r.rolname) AS names
        FROM pg_catalog.pg_roles r
        WHERE r.rolsuper
          AND ('all' = ANY (l.user_name) OR r.rolname = ANY (l.user_name)
               OR EXISTS (SELECT FROM unnest(l.user_name) u
                          JOIN pg_catalog.pg_roles g ON '+' || g.rolname = u
                          JOIN nspg_guard.lint_role_reach() x ON x.member = r.oid AND x.role = g.oid))
    ) su
    WHERE l.error IS NULL AND l.type LIKE 'host%' AND l.auth_method <> 'reject'
      AND nspg_guard.hba_address_scope(l.address, l.netmask) <> 'local'
      AND su.names IS NOT NULL
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('hba_remote_superuser', 'hba', 'pg_catalog.pg_hba_file_rules',
    'A pg_hba.conf line lets a superuser connect from another machine.');
