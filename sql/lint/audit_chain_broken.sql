-- §7.3, §11 "audit log retention proof": the hash chain must verify. A break means rows were
-- edited or removed around the guard (for instance with the library not loaded).
CREATE FUNCTION nspg_guard.lint_audit_chain_broken()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'audit_chain_broken', 'audit', 'error', 'table', 'nspg_guard.audit_log',
           format('The audit trail''s hash chain breaks at row %s: %s.', v.first_broken_id, v.problem),
           jsonb_build_object('first_broken_id', v.first_broken_id, 'rows_checked', v.rows_checked, 'problem', v.problem),
           NULL,
           'audit_chain_broken:nspg_guard.audit_log'
    FROM nspg_guard.audit_verify() v
    WHERE v.first_broken_id IS NOT NULL
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('audit_chain_broken', 'audit', 'nspg_guard.audit_log',
    'The hash chain of the audit trail does not verify.');
