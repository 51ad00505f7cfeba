-- Role attributes that reach beyond the role's grants, on login roles other than superusers and
-- admin roles (nspg_guard.admin_roles):
--   CREATEROLE (error): on PostgreSQL 15 such a role may grant itself or anyone membership in
--     any role but a superuser, pg_execute_server_program and every app or owner role included,
--     and change other roles' passwords. SET ROLE to a CREATEROLE role gives it too, so it is
--     followed through membership chains (lint_role_reach).
--   REPLICATION (warn): the replication protocol streams a copy of the whole cluster, every
--     table of every database, with no privilege or policy checked. Standbys need one such
--     role; it only works for the role a connection logs in as, so only the role itself counts.
-- CREATEDB is not reported: a new database holds nothing of the existing ones.
CREATE FUNCTION nspg_guard.lint_roles_login_dangerous_attribute()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'roles_login_dangerous_attribute', 'roles', a.severity, 'role', m.rolname::text,
           CASE WHEN a.path IS NULL
                THEN format('Login role %I has %s, %s.', m.rolname, a.attribute, a.risk)
                ELSE format('Login role %I can become %I (%s), which has %s, %s.', m.rolname, pg_catalog.pg_get_userbyid(a.holder),
                            array_to_string(nspg_guard.lint_role_path(a.path), ' -> '), a.attribute, a.risk)
           END,
           jsonb_build_object('attribute', a.attribute, 'holder', pg_catalog.pg_get_userbyid(a.holder),
                              'path', to_jsonb(nspg_guard.lint_role_path(a.path)),
                              'side_effects', CASE WHEN a.path IS NULL
                                  THEN format('%I can no longer %s.', m.rolname, a.lost)
                                  ELSE format('%I also loses everything else it had through %I.', m.rolname, pg_catalog.pg_get_userbyid(a.path[2])) END),
           CASE WHEN a.path IS NULL THEN format('ALTER ROLE %I NO%s;', m.rolname, a.attribute)
                ELSE format('REVOKE %I FROM %I;', pg_catalog.pg_get_userbyid(a.path[2]), m.rolname) END,
           format('roles_login_dangerous_attribute:%s:%s:%s', m.rolname, a.attribute, pg_catalog.pg_get_userbyid(a.holder))
    FROM nspg_guard.lint_roles() m
    CROSS JOIN LATERAL (
        SELECT 'CREATEROLE' AS attribute, 'error' AS severity, NULL::oid[] AS path, m.oid AS holder,
               'which on PostgreSQL 15 may grant any role but a superuser, pg_execute_server_program included, to itself or anyone' AS risk,
               'create, alter or grant roles' AS lost
        FROM pg_catalog.pg_roles r WHERE r.oid = m.oid AND r.rolcreaterole
        UNION ALL
        SELECT 'CREATEROLE', 'error', x.path, x.role,
               'which on PostgreSQL 15 may grant any role but a superuser, pg_execute_server_program included, to itself or anyone', NULL
        FROM nspg_guard.lint_role_reach() x
        JOIN pg_catalog.pg_roles r ON r.oid = x.role AND r.rolcreaterole AND NOT r.rolsuper
        WHERE x.member = m.oid
        UNION ALL
        SELECT 'REPLICATION', 'warn', NULL, m.oid,
               'so it may stream a copy of every database of the cluster with no privilege or policy checked; keep it to the standbys'' role, allowed only replication connections in pg_hba.conf',
               'stream replication (a standby using it stops)'
        FROM pg_catalog.pg_roles r WHERE r.oid = m.oid AND r.rolreplication
    ) a
    WHERE m.rolcanlogin AND NOT m.rolsuper AND NOT m.is_admin
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('roles_login_dangerous_attribute', 'roles', NULL,
    'A login role has CREATEROLE (or can become a role that has it), or REPLICATION.');
