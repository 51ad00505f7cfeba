-- Last in the extension script (finalize), once every function exists.

-- 0. The functions take and return text as UTF-8: in a database of another encoding they would
-- fail on the first non-ASCII argument or name. (The guards, in the library, judge statements in
-- every database whatever its encoding.)
DO $utf8_only$
BEGIN
    IF pg_catalog.getdatabaseencoding() OPERATOR(pg_catalog.<>) 'UTF8' THEN
        RAISE EXCEPTION 'nspg_guard: CREATE EXTENSION needs a UTF8 database, not %', pg_catalog.getdatabaseencoding()
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Create the extension in UTF8 databases (nspg_guard.audit_database among them); statements in this database are still judged by the preloaded library.';
    END IF;
END
$utf8_only$;

-- 1. Every function of the extension resolves names as PostgreSQL itself does, never through
-- the caller's search_path (a DBA running lint() with a planted schema first in its path must
-- not run the planter's code), and unqualified temporary objects come last.
DO $fixed_search_path$
DECLARE
    routine regprocedure;
BEGIN
    FOR routine IN SELECT p.oid::pg_catalog.regprocedure FROM pg_catalog.pg_proc p
                    WHERE p.pronamespace OPERATOR(pg_catalog.=) 'nspg_guard'::pg_catalog.regnamespace LOOP
        EXECUTE pg_catalog.format('ALTER ROUTINE %s SET search_path = pg_catalog, pg_temp', routine);
    END LOOP;
END
$fixed_search_path$;

-- 2. What PUBLIC may execute in schema nspg_guard: the functions README.md documents, each under
-- the README section named in its comment, and nothing else (README, "What PUBLIC may call").
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA nspg_guard FROM PUBLIC;

-- Installing
GRANT EXECUTE ON FUNCTION nspg_guard.status() TO PUBLIC;
-- Destructive statements (entitlement checked inside)
GRANT EXECUTE ON FUNCTION nspg_guard.allow_destructive(text) TO PUBLIC;
-- Break-glass
GRANT EXECUTE ON FUNCTION nspg_guard.breakglass_request(text, interval, text) TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.breakglass_approve(bigint) TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.breakglass_deny(bigint, text) TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.breakglass_end(bigint) TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.breakglass_review(bigint, text) TO PUBLIC;
-- Incident levers (admins; checked inside)
GRANT EXECUTE ON FUNCTION nspg_guard.lockdown_role(text, text) TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.unlock_role(text, text) TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.credential_age() TO PUBLIC;
-- Audit trail (audit_purge and audit_relation: admins, checked inside; audit_verify and
-- audit_head read the trail, so they are granted with SELECT on it, not to PUBLIC;
-- audit_anchor_adopt is for superusers)
GRANT EXECUTE ON FUNCTION nspg_guard.audit_stats() TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.audit_id_at(timestamptz) TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.audit_flush(integer) TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.audit_purge() TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.audit_relation(regclass, text) TO PUBLIC;
-- Starts after a run without nspg_guard (unguarded_runs: readers of the trail;
-- acknowledge_unguarded_runs: admins; both checked inside)
GRANT EXECUTE ON FUNCTION nspg_guard.unguarded_runs() TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.acknowledge_unguarded_runs(text) TO PUBLIC;
-- Posture lint and evidence
GRANT EXECUTE ON FUNCTION nspg_guard.lint(text[], boolean) TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.rls_lint(boolean) TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.roles_lint(boolean) TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.privileges_lint(boolean) TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.hba_lint(boolean) TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.settings_lint(boolean) TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.audit_lint(boolean) TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.hba_lint_rows(nspg_guard.hba_line[]) TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.lint_remediation(text[]) TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.lint_suppress(text, text, timestamptz) TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.privilege_snapshot() TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.snapshot_save(text) TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.snapshot_diff(bigint, bigint) TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.access_review_record(bigint, text, text, text) TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.evidence() TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.role_graph() TO PUBLIC;

-- What PUBLIC may call: the lint's building blocks. lint() and evidence() run as their caller
-- (a rule sees what the caller may see), so the caller needs EXECUTE on what they call: the
-- rule functions and their helpers. None parses text of the caller's: they take catalog
-- identifiers, names and fixed keywords.
GRANT EXECUTE ON FUNCTION nspg_guard.lint_run(text[], nspg_guard.hba_line[]) TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.lint_categories() TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.lint_severity_rank(text) TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.lint_can_read(text) TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.lint_read_requirement(text) TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.lint_not_evaluated(text, text, text) TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.lint_hidden_settings(text, text[]) TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.lint_setting_applies(text) TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.lint_is_user_schema(name) TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.lint_relations() TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.lint_roles() TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.lint_role_reach() TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.lint_role_path(oid[]) TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.lint_role_name(oid) TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.lint_tenant_columns() TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.lint_policy_command("char") TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.lint_builtin_default_acl("char", oid) TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.lint_guarded_tables() TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.lint_guarded_reads() TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.lint_grantees(aclitem[], aclitem[], oid, text[]) TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.snapshot_object_types() TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.snapshot_setting_value(text, text) TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.audit_anchored_databases() TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.hba_file_lines() TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.hba_line_text(nspg_guard.hba_line) TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.hba_address_scope(text, text) TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.role_in_set(text, text) TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.policy_expr_analysis(oid, text) TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.hooks_active() TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.audit_classes_active() TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.is_admin() TO PUBLIC;
GRANT EXECUTE ON FUNCTION nspg_guard.dot_quote(text) TO PUBLIC;
-- What PUBLIC may call: one function per registered rule, nspg_guard.lint_<rule>().
DO $public_rules$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT p.oid FROM pg_catalog.pg_proc p JOIN nspg_guard.lint_rules r ON p.proname = 'lint_' || r.rule
             WHERE p.pronamespace = 'nspg_guard'::regnamespace
    LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO PUBLIC', f);
    END LOOP;
END
$public_rules$;
