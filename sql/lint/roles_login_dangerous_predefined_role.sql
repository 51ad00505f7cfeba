-- PostgreSQL's predefined roles that hand out more than any grant on objects could, held by a
-- login role directly or through a membership chain (lint_role_reach; SET ROLE follows any
-- chain). Admin roles (nspg_guard.admin_roles) and superusers, who have all of this anyway, are
-- left out. By the real risk:
--   error: pg_execute_server_program (shell commands as the server's OS user: superuser in all
--          but name), pg_write_server_files (can overwrite the server's configuration, so the
--          same), pg_read_server_files (any file the server reads: keys, pg_hba.conf, every
--          table's data files, no privilege or policy checked), pg_read_all_data and
--          pg_write_all_data (every table of every schema, outside the grants reviewed per
--          object);
--   warn:  pg_signal_backend (cancels or terminates other roles' sessions: a denial of service,
--          or ending an admin or break-glass session), pg_read_all_stats and pg_monitor (every
--          session's statement text, literals and passwords in it included).
-- Not reported: pg_checkpoint (forces a checkpoint: I/O load, no data or privilege),
-- pg_read_all_settings (settings only; the lint itself needs it), pg_stat_scan_tables and
-- pg_database_owner (no data beyond the role's own).
CREATE FUNCTION nspg_guard.lint_roles_login_dangerous_predefined_role()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'roles_login_dangerous_predefined_role', 'roles', d.severity, 'role', m.rolname::text,
           format('Login role %I %s %s (%s), %s.',
                  m.rolname, CASE WHEN cardinality(x.path) = 2 THEN 'is a member of' ELSE 'can become' END, t.rolname,
                  array_to_string(nspg_guard.lint_role_path(x.path), ' -> '), d.risk),
           jsonb_build_object('target', t.rolname, 'path', to_jsonb(nspg_guard.lint_role_path(x.path)),
                              'side_effects', CASE WHEN cardinality(x.path) > 2
                                  THEN format('%I also loses everything else it had through %I.', m.rolname, pg_catalog.pg_get_userbyid(x.path[2]))
                                  ELSE 'None beyond the capability itself.' END),
           format('REVOKE %I FROM %I;', pg_catalog.pg_get_userbyid(x.path[2]), m.rolname),
           format('roles_login_dangerous_predefined_role:%s:%s', m.rolname, t.rolname)
    FROM nspg_guard.lint_role_reach() x
    JOIN nspg_guard.lint_roles() m ON m.oid = x.member
    JOIN pg_catalog.pg_roles t ON t.oid = x.role
    JOIN (VALUES ('pg_execute_server_program', 'error', 'which runs shell commands as the server''s operating-system user'),
                 ('pg_write_server_files', 'error', 'which writes any file the server may, its configuration included'),
                 ('pg_read_server_files', 'error', 'which reads any file the server may: keys, configuration and every table''s data files, with no privilege or policy checked'),
                 ('pg_read_all_data', 'error', 'which reads every table, view and sequence without a grant on them'),
                 ('pg_write_all_data', 'error', 'which changes every table without a grant on them'),
                 ('pg_signal_backend', 'warn', 'which cancels and terminates other roles'' sessions'),
                 ('pg_read_all_stats', 'warn', 'which shows every session''s statement text, with the literals in it'),
                 ('pg_monitor', 'warn', 'which shows every session''s statement text, with the literals in it'))
         d(rolname, severity, risk) ON d.rolname = t.rolname
    WHERE m.rolcanlogin AND NOT m.rolsuper AND NOT m.is_admin
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('roles_login_dangerous_predefined_role', 'roles', NULL,
    'A login role holds a predefined role that reaches the server''s files or programs, all data, or other sessions.');
