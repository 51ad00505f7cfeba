-- §7.3: the chain must continue from its anchor, the last head the sealer kept outside the
-- tables ($PGDATA/nspg_guard/anchor.<database oid>). A chain truncated and rebuilt by hand
-- verifies against itself but not against its anchor; it is not sealed onto until a superuser
-- adopts it after a repair (audit_anchor_adopt(reason)).
CREATE FUNCTION nspg_guard.lint_audit_anchor_broken()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'audit_anchor_broken', 'audit', 'error', 'table', 'nspg_guard.audit_chain',
           format('The audit trail''s chain does not continue from its anchor: %s.', v.problem),
           jsonb_build_object('problem', v.problem, 'rows_checked', v.rows_checked, 'rows_unsealed', v.rows_unsealed),
           NULL,
           'audit_anchor_broken:nspg_guard.audit_chain'
    FROM nspg_guard.audit_verify() v
    WHERE NOT v.anchored
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('audit_anchor_broken', 'audit', 'nspg_guard.audit_log',
    'The audit chain does not continue from the anchor kept outside the tables.');
