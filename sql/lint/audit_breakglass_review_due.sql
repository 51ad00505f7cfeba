-- §8.1 "mandatory post-incident review": every ended or expired break-glass request needs one
-- (nspg_guard.breakglass_review). Due: info; a week after the access ended: warn.
CREATE FUNCTION nspg_guard.lint_audit_breakglass_review_due()
RETURNS SETOF nspg_guard.lint_finding
LANGUAGE sql STABLE AS $$
    SELECT 'audit_breakglass_review_due', 'audit',
           CASE WHEN u.ended_at < now() - interval '7 days' THEN 'warn' ELSE 'info' END,
           'break-glass request', u.id::text,
           format('Break-glass request %s by %s (%s) has no post-incident review.', u.id, u.requester, u.state),
           jsonb_build_object('request_id', u.id, 'requester', u.requester, 'state', u.state, 'ended_at', u.ended_at,
                              'self_approved', u.self_approved, 'statements_run', u.statements_run),
           format('SELECT nspg_guard.breakglass_review(%s, ''what was done, and what follows'');', u.id),
           'audit_breakglass_review_due:' || u.id
    FROM nspg_guard.breakglass_usages u
    WHERE u.review_status = 'review due'
$$;

INSERT INTO nspg_guard.lint_rules VALUES ('audit_breakglass_review_due', 'audit', NULL,
    'A break-glass request ended or expired without its post-incident review.');
