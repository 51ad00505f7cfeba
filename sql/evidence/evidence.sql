-- The NS-PG-007 §11 evidence bundle and the role graph for reviewers.

-- One jsonb document for an auditor: the role and privilege inventory, the last access review,
-- encryption proof, and the open lint findings. Parts this database cannot prove from the
-- inside, or that other parts of nspg_guard will provide, say so in a "status" rather than
-- being left out. Parts the caller's privileges do not let it see say that instead.
CREATE FUNCTION nspg_guard.evidence() RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    hba jsonb;
    md5_roles jsonb;
    findings jsonb;
    audit jsonb;
    breakglass jsonb;
    rotation jsonb;
BEGIN
    -- §11 audit log retention proof: what the trail holds and whether its chain verifies
    IF pg_catalog.current_setting('nspg_guard.audit', true) IS NULL THEN
        audit := jsonb_build_object('status', 'not available: the nspg_guard library is not loaded');
    ELSIF NOT nspg_guard.lint_can_read('nspg_guard.audit_log') THEN
        audit := jsonb_build_object('status', 'not evaluated: ' || nspg_guard.lint_read_requirement('nspg_guard.audit_log'));
    ELSE
        SELECT jsonb_build_object(
                   'rows', count(*), 'oldest_event', min(l.event_time), 'newest_event', max(l.event_time),
                   'unsealed_rows', count(*) FILTER (WHERE NOT EXISTS (SELECT FROM nspg_guard.audit_chain c WHERE c.id = l.id)),
                   'retention', pg_catalog.current_setting('nspg_guard.audit_retention'),
                   'classes', pg_catalog.current_setting('nspg_guard.audit'),
                   'destination', pg_catalog.current_setting('nspg_guard.audit_destination'),
                   'verify', (SELECT to_jsonb(v) FROM nspg_guard.audit_verify() v))
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
        'open_findings', (SELECT coalesce(jsonb_agg(f - 'suppressed' ORDER BY i), '[]')
                          FROM jsonb_array_elements(findings) WITH ORDINALITY e(f, i)
                          WHERE NOT (f ->> 'suppressed')::boolean),
        'open_findings_by_severity', (SELECT coalesce(jsonb_object_agg(s.severity, s.n), '{}')
                                      FROM (SELECT f ->> 'severity' AS severity, count(*) AS n
                                            FROM jsonb_array_elements(findings) f
                                            WHERE NOT (f ->> 'suppressed')::boolean
                                            GROUP BY 1) s),
        'suppressed_findings', (SELECT count(*) FROM jsonb_array_elements(findings) f
                                WHERE (f ->> 'suppressed')::boolean)
    );
END
$$;

-- A role name as a Graphviz DOT identifier.
CREATE FUNCTION nspg_guard.dot_quote(name text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN '"' || replace(replace(name, '\', '\\'), '"', '\"') || '"';

-- Role memberships as a Graphviz DOT digraph (member -> role), for reviewers (NS-PG-007 §10):
-- login roles are boxes, superusers red, admin roles orange, and every grant on a path to one
-- of them is a thick red edge. Predefined pg_* roles appear when a role of the cluster holds them.
-- Render with: psql -AtXc 'SELECT nspg_guard.role_graph()' | dot -Tsvg > roles.svg
CREATE FUNCTION nspg_guard.role_graph() RETURNS text
LANGUAGE sql STABLE AS $$
    WITH roles AS (
        SELECT r.oid, r.rolname, r.rolsuper, r.rolcanlogin, nspg_guard.role_in_set(r.rolname, 'admin') AS is_admin
        FROM pg_catalog.pg_roles r
        WHERE r.rolname !~ '^pg_'
           OR EXISTS (SELECT FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles mr ON mr.oid = m.member
                      WHERE m.roleid = r.oid AND mr.rolname !~ '^pg_')
    ),
    privileged AS (SELECT oid FROM roles WHERE rolsuper OR is_admin),
    leads_to_privilege AS (
        SELECT oid FROM privileged
        UNION
        SELECT x.member FROM nspg_guard.lint_role_reach() x JOIN privileged p ON p.oid = x.role
    )
    SELECT concat_ws(E'\n',
        'digraph roles {',
        '  rankdir=LR;',
        '  node [shape=ellipse, fontname="Helvetica"];',
        (SELECT string_agg(format('  %s [%s];', nspg_guard.dot_quote(r.rolname), concat_ws(', ',
                    CASE WHEN r.rolcanlogin THEN 'shape=box' END,
                    CASE WHEN r.rolsuper THEN 'style=filled, fillcolor="#f4a6a6"'
                         WHEN r.is_admin THEN 'style=filled, fillcolor="#f9d58b"' END,
                    CASE WHEN r.rolsuper OR r.is_admin
                         THEN format('label=%s', nspg_guard.dot_quote(r.rolname || ' (' || CASE WHEN r.rolsuper THEN 'superuser' ELSE 'admin' END || ')')) END,
                    CASE WHEN l.oid IS NOT NULL AND NOT (r.rolsuper OR r.is_admin) THEN 'color=red' END)),
                    E'\n' ORDER BY r.rolname COLLATE "C")
         FROM roles r LEFT JOIN leads_to_privilege l ON l.oid = r.oid),
        (SELECT string_agg(format('  %s -> %s [%s];', nspg_guard.dot_quote(mr.rolname), nspg_guard.dot_quote(rr.rolname),
                    concat_ws(', ',
                        CASE WHEN l.oid IS NOT NULL THEN 'color=red, penwidth=2' END,
                        CASE WHEN m.admin_option THEN 'label="admin option"' END)
                    ),
                    E'\n' ORDER BY mr.rolname COLLATE "C", rr.rolname COLLATE "C")
         FROM pg_catalog.pg_auth_members m
         JOIN roles mr ON mr.oid = m.member
         JOIN roles rr ON rr.oid = m.roleid
         LEFT JOIN leads_to_privilege l ON l.oid = m.roleid),
        '}')
$$;
