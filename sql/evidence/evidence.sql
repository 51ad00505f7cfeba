-- The NS-PG-007 §11 evidence bundle and the role graph for reviewers.

-- One jsonb document for an auditor: the role and privilege inventory, the last access review,
-- encryption proof, and the open lint findings. Parts this database cannot prove from the
-- inside, or that other parts of nspg_guard will provide, say so in a "status" rather than
-- being left out. Parts the caller's privileges do not let it see say that instead.
CREATE FUNCTION nspg_guard.evidence() RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v record;
    here jsonb;
    anchored_dbs oid[];
    hba jsonb;
    md5_roles jsonb;
    findings jsonb;
    audit jsonb;
    breakglass jsonb;
    rotation jsonb;
BEGIN
    -- §11 audit log retention proof: what the trail holds and exactly what was verified. The
    -- trail is per database and evidence() runs in one: this database's chain is verified here;
    -- the other databases whose chain was ever sealed (an anchor file is kept for them) are
    -- named as not verified from here, never counted as verified.
    IF pg_catalog.current_setting('nspg_guard.audit', true) IS NULL THEN
        audit := jsonb_build_object('verified', false, 'status', 'not available: the nspg_guard library is not loaded');
    ELSIF NOT nspg_guard.lint_can_read('nspg_guard.audit_log') THEN
        audit := jsonb_build_object('verified', false,
                                    'status', 'not evaluated: ' || nspg_guard.lint_read_requirement('nspg_guard.audit_log'));
    ELSE
        anchored_dbs := nspg_guard.audit_anchored_databases();
        SELECT * INTO v FROM nspg_guard.audit_verify();
        SELECT jsonb_build_object(
                   'database', current_database(),
                   'verified_here', true,
                   'rows_present', t.n,
                   'rows_checked', v.rows_checked,
                   'rows_unsealed', v.rows_unsealed,
                   'oldest_unsealed', v.oldest_unsealed,
                   -- an anchor kept outside the tables, and the chain continuing from it
                   'anchored', coalesce(v.anchored AND (SELECT d.oid FROM pg_catalog.pg_database d
                                                        WHERE d.datname = current_database()) = ANY (anchored_dbs), false),
                   'chain_ok', v.ok,
                   'first_broken_id', v.first_broken_id,
                   'problem', v.problem,
                   -- verified: the chain checks and covers at least one row; never when nothing was checked
                   'verified', v.ok AND v.rows_checked > 0,
                   'status', CASE WHEN NOT v.ok THEN 'failed: ' || v.problem
                                  WHEN t.n = 0 AND v.rows_checked = 0 THEN 'nothing verified: the trail of this database has no rows'
                                  WHEN v.rows_checked = 0 THEN format('not verified: none of the %s rows was ever sealed', t.n)
                                  WHEN v.rows_unsealed > 0 THEN format('verified in part: %s sealed rows verified, %s rows not sealed yet',
                                                                       v.rows_checked, v.rows_unsealed)
                                  ELSE format('verified: %s sealed rows verified, none unsealed', v.rows_checked) END)
        INTO here
        FROM (SELECT count(*) AS n FROM nspg_guard.audit_log) t;
        SELECT jsonb_build_object(
                   'oldest_event', min(l.event_time), 'newest_event', max(l.event_time),
                   'retention', pg_catalog.current_setting('nspg_guard.audit_retention'),
                   'classes', pg_catalog.current_setting('nspg_guard.audit'),
                   'destination', pg_catalog.current_setting('nspg_guard.audit_destination'),
                   'audit_database', pg_catalog.current_setting('nspg_guard.audit_database', true),
                   'this_database', here,
                   'verified', here -> 'verified',
                   'status', here ->> 'status',
                   'other_databases', CASE WHEN anchored_dbs IS NULL
                       THEN to_jsonb('unknown: the anchor files in $PGDATA/nspg_guard cannot be read'::text)
                       ELSE (SELECT coalesce(jsonb_agg(jsonb_build_object(
                                         'database', d.datname, 'verified_here', false,
                                         'status', format('not verified from here: run SELECT nspg_guard.evidence() in database %I', d.datname))
                                     ORDER BY d.datname COLLATE "C"), '[]')
                             FROM pg_catalog.pg_database d
                             WHERE d.oid = ANY (anchored_dbs) AND d.datname <> current_database()) END,
                   'other_databases_listed', 'those whose trail was ever sealed (an anchor file is kept); a database whose trail was never sealed is not visible from here')
        INTO audit FROM nspg_guard.audit_log l;
    END IF;
    -- §11 break-glass usage logs: the registry lives in the audit database
    IF current_database() IS DISTINCT FROM pg_catalog.current_setting('nspg_guard.audit_database', true) THEN
        breakglass := jsonb_build_object('status', format('kept in database %L (nspg_guard.audit_database): run evidence() there',
                                                          pg_catalog.current_setting('nspg_guard.audit_database', true)));
    ELSE
        SELECT jsonb_build_object(
                   'requests', count(*), 'active', count(*) FILTER (WHERE u.state = 'active'),
                   'self_approved', count(*) FILTER (WHERE u.self_approved),
                   'reviews_due', count(*) FILTER (WHERE u.review_status = 'review due'),
                   'usages_last_year', coalesce(jsonb_agg(to_jsonb(u) ORDER BY u.id)
                                                FILTER (WHERE u.requested_at > now() - interval '1 year'), '[]'))
        INTO breakglass FROM nspg_guard.breakglass_usages u;
    END IF;
    -- §10 secrets rotation evidence
    IF nspg_guard.is_admin() THEN
        WITH ages AS (SELECT * FROM nspg_guard.credential_age())
        SELECT jsonb_build_object(
                   'credential_max_age', pg_catalog.current_setting('nspg_guard.credential_max_age'),
                   'login_roles', (SELECT count(*) FROM ages),
                   'by_status', (SELECT coalesce(jsonb_object_agg(a.status, a.n), '{}')
                                 FROM (SELECT status, count(*) AS n FROM ages GROUP BY status) a),
                   'rotation_due', (SELECT coalesce(jsonb_agg(role ORDER BY role), '[]') FROM ages WHERE rotation_due))
        INTO rotation;
    ELSE
        rotation := jsonb_build_object('status', 'not evaluated: credential_age() is for admin roles and superusers');
    END IF;
    -- lint() once, suppressed findings included, in lint()'s order
    SELECT coalesce(jsonb_agg(to_jsonb(f) - 'n' ORDER BY f.n), '[]') INTO findings
    FROM nspg_guard.lint(NULL, true)
         WITH ORDINALITY f(rule, category, severity, object_type, object_identity, message, details,
                           remediation, key, suppressed, n);
    IF nspg_guard.lint_can_read('pg_catalog.pg_hba_file_rules') THEN
        SELECT jsonb_build_object(
                   'hostssl_only', coalesce(bool_and(l.type = 'hostssl'), true),
                   'non_tls_network_lines', count(*) FILTER (WHERE l.type <> 'hostssl'),
                   'scram_only', coalesce(bool_and(l.auth_method IN ('scram-sha-256', 'cert', 'gss', 'sspi')), true))
        INTO hba
        FROM unnest(nspg_guard.hba_file_lines()) l
        WHERE l.error IS NULL AND l.auth_method <> 'reject' AND l.type LIKE 'host%';
    ELSE
        hba := to_jsonb('not evaluated: ' || nspg_guard.lint_read_requirement('pg_catalog.pg_hba_file_rules'));
    END IF;
    IF nspg_guard.lint_can_read('pg_catalog.pg_authid') THEN
        SELECT to_jsonb(count(*)) INTO md5_roles FROM pg_catalog.pg_authid WHERE rolpassword LIKE 'md5%';
    ELSE
        md5_roles := to_jsonb('not evaluated: ' || nspg_guard.lint_read_requirement('pg_catalog.pg_authid'));
    END IF;
    RETURN jsonb_build_object(
        'generated_at', now(),
        'generated_by', current_user,
        'database', current_database(),
        'server_version', pg_catalog.current_setting('server_version'),
        'inventory', nspg_guard.privilege_snapshot(),
        'last_access_review', coalesce(
            (SELECT to_jsonb(r) FROM nspg_guard.access_reviews r ORDER BY r.recorded_at DESC, r.id DESC LIMIT 1),
            jsonb_build_object('status', 'none recorded: see nspg_guard.access_review_record')),
        'audit_retention', audit,
        'break_glass', breakglass,
        'credential_rotation', rotation,
        'encryption', jsonb_build_object(
            'in_transit', jsonb_build_object(
                'ssl', pg_catalog.current_setting('ssl'),
                'ssl_min_protocol_version', coalesce(
                    (SELECT to_jsonb(s.setting) FROM pg_catalog.pg_settings s WHERE s.name = 'ssl_min_protocol_version'),
                    to_jsonb('not visible to this role'::text)),
                'hba', hba),
            'passwords', jsonb_build_object(
                'password_encryption', pg_catalog.current_setting('password_encryption'),
                'md5_password_roles', md5_roles),
            'at_rest', jsonb_build_object('status', 'not verifiable from inside PostgreSQL: attach the storage encryption evidence'),
            'backups', jsonb_build_object('status', 'not verifiable from inside PostgreSQL: attach the backup encryption evidence (NS-PG-003)')),
        -- a rule not evaluated is no finding: it is counted apart, suppressed or not, so that a
        -- role that sees less never shows a better posture
        'open_findings', (SELECT coalesce(jsonb_agg(f - 'suppressed' ORDER BY i), '[]')
                          FROM jsonb_array_elements(findings) WITH ORDINALITY e(f, i)
                          WHERE NOT (f ->> 'suppressed')::boolean AND f ->> 'severity' <> 'not_evaluated'),
        'open_findings_by_severity', (SELECT coalesce(jsonb_object_agg(s.severity, s.n), '{}')
                                      FROM (SELECT f ->> 'severity' AS severity, count(*) AS n
                                            FROM jsonb_array_elements(findings) f
                                            WHERE NOT (f ->> 'suppressed')::boolean AND f ->> 'severity' <> 'not_evaluated'
                                            GROUP BY 1) s),
        'suppressed_findings', (SELECT count(*) FROM jsonb_array_elements(findings) f
                                WHERE (f ->> 'suppressed')::boolean AND f ->> 'severity' <> 'not_evaluated'),
        'not_evaluated', (SELECT jsonb_build_object(
                                     'count', count(*),
                                     'posture_complete', count(*) = 0,
                                     'rules', coalesce(jsonb_agg(jsonb_build_object('rule', f ->> 'rule', 'category', f ->> 'category',
                                                                                    'reason', f ->> 'message')
                                                                 ORDER BY f ->> 'rule', f ->> 'key'), '[]'))
                          FROM jsonb_array_elements(findings) f
                          WHERE f ->> 'severity' = 'not_evaluated')
    );
END
$$;

-- A role name as a Graphviz DOT identifier.
CREATE FUNCTION nspg_guard.dot_quote(name text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN '"' || replace(replace(name, '\', '\\'), '"', '\"') || '"';

-- Role memberships as a Graphviz DOT digraph (member -> role), for reviewers (NS-PG-007 §10).
-- Login roles are boxes. A role that holds a dangerous power is filled and its label names the
-- power: superuser (red), BYPASSRLS (violet: row-level security does not apply to it),
-- CREATEROLE (purple: it creates roles and grants itself their memberships), the server-file
-- roles pg_execute_server_program, pg_read_server_files and pg_write_server_files (brown: a
-- path to the server's OS account and files), nspg_guard admin (orange). A role that reaches
-- one of them through memberships gets a red border and "can become: …" in its label, and
-- every grant on such a chain is a thick red edge. A legend explains the colours. Predefined
-- pg_* roles appear when a role of the cluster holds them.
-- Render it with scripts/role_graph.sh (on the client: Graphviz is never run by the server), or
-- psql -AtXc 'SELECT nspg_guard.role_graph()' | dot -Tsvg > roles.svg
CREATE FUNCTION nspg_guard.role_graph() RETURNS text
LANGUAGE sql STABLE AS $$
    WITH roles AS (
        SELECT r.oid, r.rolname, r.rolcanlogin,
               -- the powers a role holds itself, worst first
               array_remove(ARRAY[
                   CASE WHEN r.rolsuper THEN 'superuser' END,
                   CASE WHEN r.rolname IN ('pg_execute_server_program', 'pg_read_server_files', 'pg_write_server_files')
                        THEN r.rolname::text END,
                   CASE WHEN r.rolbypassrls AND NOT r.rolsuper THEN 'BYPASSRLS' END,
                   CASE WHEN r.rolcreaterole AND NOT r.rolsuper THEN 'CREATEROLE' END,
                   CASE WHEN nspg_guard.role_in_set(r.rolname, 'admin') THEN 'admin' END], NULL) AS powers
        FROM pg_catalog.pg_roles r
        WHERE r.rolname !~ '^pg_'
           OR EXISTS (SELECT FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles mr ON mr.oid = m.member
                      WHERE m.roleid = r.oid AND mr.rolname !~ '^pg_')
    ),
    -- the powers each role can reach through its memberships (SET ROLE along any chain)
    reachable AS (
        SELECT x.member AS oid, array_agg(DISTINCT p ORDER BY p) AS powers
        FROM nspg_guard.lint_role_reach() x
        JOIN roles r ON r.oid = x.role
        CROSS JOIN LATERAL unnest(r.powers) p
        GROUP BY x.member
    ),
    leads_to_power AS (SELECT oid FROM roles WHERE powers <> '{}' UNION SELECT oid FROM reachable),
    nodes AS (
        SELECT r.rolname, r.rolcanlogin, r.powers, coalesce(
                   (SELECT array_agg(p ORDER BY p) FROM unnest(c.powers) p WHERE p <> ALL (r.powers)), '{}') AS can_become
        FROM roles r LEFT JOIN reachable c ON c.oid = r.oid
    )
    SELECT concat_ws(E'\n',
        'digraph roles {',
        '  rankdir=LR;',
        '  node [shape=ellipse, fontname="Helvetica"];',
        (SELECT string_agg(format('  %s [%s];', nspg_guard.dot_quote(n.rolname), concat_ws(', ',
                    CASE WHEN n.rolcanlogin THEN 'shape=box' END,
                    CASE WHEN n.powers <> '{}' THEN format('style=filled, fillcolor="%s"', CASE n.powers[1]
                             WHEN 'superuser' THEN '#f4a6a6' WHEN 'BYPASSRLS' THEN '#d7b5f0' WHEN 'CREATEROLE' THEN '#b9a3e3'
                             WHEN 'admin' THEN '#f9d58b' ELSE '#d9b38c' END) END,
                    CASE WHEN n.can_become <> '{}' THEN 'color=red, penwidth=2' END,
                    CASE WHEN n.powers <> '{}' OR n.can_become <> '{}'
                         -- lines joined with DOT's \n escape, after quoting
                         THEN format('label=%s', replace(nspg_guard.dot_quote(concat_ws(E'\n', n.rolname,
                                  '[' || nullif(array_to_string(array_remove(n.powers, n.rolname::text), ', '), '') || ']',
                                  'can become: ' || nullif(array_to_string(n.can_become, ', '), ''))), E'\n', '\n')) END)),
                    E'\n' ORDER BY n.rolname COLLATE "C")
         FROM nodes n),
        (SELECT string_agg(format('  %s -> %s [%s];', nspg_guard.dot_quote(mr.rolname), nspg_guard.dot_quote(rr.rolname),
                    concat_ws(', ',
                        CASE WHEN l.oid IS NOT NULL THEN 'color=red, penwidth=2' END,
                        CASE WHEN m.admin_option THEN 'label="admin option"' END)
                    ),
                    E'\n' ORDER BY mr.rolname COLLATE "C", rr.rolname COLLATE "C")
         FROM pg_catalog.pg_auth_members m
         JOIN roles mr ON mr.oid = m.member
         JOIN roles rr ON rr.oid = m.roleid
         LEFT JOIN leads_to_power l ON l.oid = m.roleid),
        -- one node whose id is longer than a role name can be (63 bytes), so no role is mistaken for it
        '  "nspg_guard role_graph legend, an id longer than any role name can be" [shape=plaintext, fontname="Helvetica", fontsize=10, label=<',
        '    <table border="0" cellborder="1" cellspacing="0" cellpadding="4">',
        '      <tr><td><b>legend</b></td></tr>',
        '      <tr><td>box: login role; ellipse: no login</td></tr>',
        '      <tr><td bgcolor="#f4a6a6">superuser</td></tr>',
        '      <tr><td bgcolor="#d9b38c">server files: pg_execute_server_program, pg_read_server_files, pg_write_server_files</td></tr>',
        '      <tr><td bgcolor="#d7b5f0">BYPASSRLS</td></tr>',
        '      <tr><td bgcolor="#b9a3e3">CREATEROLE</td></tr>',
        '      <tr><td bgcolor="#f9d58b">nspg_guard admin (nspg_guard.admin_roles)</td></tr>',
        '      <tr><td color="red">red border, "can become": reaches one of them through memberships (red edges)</td></tr>',
        '    </table>>];',
        '}')
$$;
