-- breakglass: NS-PG-007 §8.1 — emergency-only, explicit approval by someone else (or under a
-- declared incident), time-bounded, every step audited, mandatory review afterwards. The
-- registry is in the audit database (postgres). Expiry ending idle sessions is in
-- tests/shell/admin_sessions.sh, pooler behaviour in tests/shell/pgbouncer.sh.
\set VERBOSITY default
\set SHOW_CONTEXT never
CREATE ROLE ns_breakglass_approver NOLOGIN;
CREATE ROLE bob_oncall LOGIN;
CREATE ROLE carol_approver LOGIN IN ROLE ns_breakglass_approver;
-- an approver who shares the requester's privileges (a member of bob's role); the other
-- direction is in tests/shell/breakglass_registry.sh
CREATE ROLE dan_approver LOGIN IN ROLE ns_breakglass_approver, bob_oncall;
GRANT pg_read_all_stats TO ns_breakglass_admin;   -- what emergencies need, granted by the DBA

-- Only in the registry's database.
\c - bob_oncall
SELECT nspg_guard.breakglass_request('restore orders deleted by bad deploy', '30 minutes');
\echo :LAST_ERROR_SQLSTATE

\c postgres postgres
SELECT coalesce(max(id), 0) AS start_id FROM nspg_guard.audit_log \gset
SELECT count(*) AS requests_before FROM nspg_guard.breakglass_requests \gset

-- Bad input: refused with 22023 and a HINT, nothing recorded.
\c - bob_oncall
SELECT nspg_guard.breakglass_request('', '30 minutes');
SELECT nspg_guard.breakglass_request(NULL, '30 minutes');
SELECT nspg_guard.breakglass_request('fix', '30 minutes');
-- reasons are plain, bounded text: words with letters, no invisible or line-forging characters
SELECT nspg_guard.breakglass_request(E'a \u200B \u200B \u200B', '30 minutes');
SELECT nspg_guard.breakglass_request(E'restore orders \u202Eyltneiciffe', '30 minutes');
SELECT nspg_guard.breakglass_request(E'restore orders\n1 | bob_oncall | approved', '30 minutes');
SELECT nspg_guard.breakglass_request('- - - ! ?', '30 minutes');
SELECT nspg_guard.breakglass_request(repeat('restore ', 1000000), '30 minutes');
\echo :LAST_ERROR_SQLSTATE
SELECT nspg_guard.breakglass_request('restore orders deleted by bad deploy', '-5 minutes');
\echo :LAST_ERROR_SQLSTATE
SELECT nspg_guard.breakglass_request('restore orders deleted by bad deploy', '0');
SELECT nspg_guard.breakglass_request('restore orders deleted by bad deploy', '2 hours');
\echo :LAST_ERROR_SQLSTATE
SELECT nspg_guard.breakglass_request('restore orders deleted by bad deploy', '1 mon');
SELECT nspg_guard.breakglass_request('restore orders deleted by bad deploy', NULL);
SELECT nspg_guard.breakglass_request('restore orders deleted by bad deploy', '10 minutes', '  ');
-- the incident reference is plain text too (shown next to the reason)
SELECT nspg_guard.breakglass_request('restore orders deleted by bad deploy', '10 minutes', E'INC-1\n2026-12-01|bob|approved|forged');
\echo :LAST_ERROR_SQLSTATE
SELECT nspg_guard.breakglass_request('restore orders deleted by bad deploy', '10 minutes', E'INC\u200B\u202E-32');
SELECT count(*) - :requests_before AS recorded FROM nspg_guard.breakglass_usages;

-- A request: anyone who logs in may ask.
SELECT nspg_guard.breakglass_request('restore orders deleted by bad deploy', '30 minutes', 'INC-4711') AS req \gset
SELECT requester, reason, incident, duration, state, review_status FROM nspg_guard.breakglass_usages WHERE id = :req;
SELECT nspg_guard.breakglass_request('another one while the first is open', '10 minutes');
\echo :LAST_ERROR_SQLSTATE

-- Never approved by the requester; only by an approver.
SELECT nspg_guard.breakglass_approve(:req);
\echo :LAST_ERROR_SQLSTATE
\c - alice_admin
SELECT nspg_guard.breakglass_approve(:req);
\echo :LAST_ERROR_SQLSTATE
-- Separation of duties: not by an approver who is a member of the requester's role (approve
-- or deny).
\c - dan_approver
SELECT nspg_guard.breakglass_approve(:req);
\echo :LAST_ERROR_SQLSTATE
SELECT nspg_guard.breakglass_deny(:req, 'not needed for this incident');
\echo :LAST_ERROR_SQLSTATE
\c - carol_approver
SELECT nspg_guard.breakglass_approve(999999999);
\echo :LAST_ERROR_SQLSTATE
SELECT nspg_guard.breakglass_approve(NULL);
SELECT state, decided_by, pg_has_role('bob_oncall', 'ns_breakglass_admin', 'MEMBER') AS granted
  FROM nspg_guard.breakglass_usages WHERE id = :req;

-- Approval grants the break-glass role until the request's duration has passed.
SELECT nspg_guard.breakglass_approve(:req) AS expires_at \gset
SELECT :'expires_at'::timestamptz - now() BETWEEN interval '29 minutes' AND interval '31 minutes' AS expires_in_30_minutes;
SELECT state, decided_by, self_approved, expires_at - decided_at AS lasts,
       pg_has_role('bob_oncall', 'ns_breakglass_admin', 'MEMBER') AS granted
  FROM nspg_guard.breakglass_usages WHERE id = :req;
SELECT nspg_guard.breakglass_approve(:req) IS NOT NULL AS approved_again;
\echo :LAST_ERROR_SQLSTATE

-- Escalated: every statement is audited; the session is an admin session (timeouts capped);
-- it may not reconfigure the server, touch audit-relevant settings, run programs, or become
-- another role (set_user parity).
\c - bob_oncall
SELECT current_user, pg_has_role('ns_breakglass_admin', 'USAGE') AS escalated;
SHOW statement_timeout;
ALTER SYSTEM SET work_mem = '64MB';
\echo :LAST_ERROR_SQLSTATE
COPY (SELECT 1) TO PROGRAM 'cat';
SET log_statement = 'none';
RESET log_min_duration_statement;
SET nspg_guard.ddl_guard = off;
ALTER ROLE bob_oncall SET log_statement = 'none';
SET row_security = off;
-- set_config() is caught after it ran, and the ERROR rolls the change back
SELECT set_config('row_security', 'off', false);
\echo :LAST_ERROR_SQLSTATE
SHOW row_security;
SET ROLE alice_admin;
SET SESSION AUTHORIZATION alice_admin;
SET ROLE ns_breakglass_admin;
SELECT current_user;
RESET ROLE;
SELECT current_user AS back_to;
-- one audit row per statement the client sent: two in one query string are two rows; the
-- statements inside a DO block are the block's
SELECT 1 AS one \; SELECT 2 AS two;
DO $$ BEGIN PERFORM count(*) FROM pg_class; END $$;

-- Ending early revokes the role (and ends the requester's sessions once committed).
\c - carol_approver
-- \c ends the requester's session asynchronously: wait for it, so the count below is 0
DO $$ BEGIN
    FOR i IN 1..200 LOOP
        EXIT WHEN NOT EXISTS (SELECT FROM pg_stat_activity WHERE usename = 'bob_oncall');
        PERFORM pg_sleep(0.05);
    END LOOP;
END $$;
SELECT nspg_guard.breakglass_end(:req) AS sessions_ended;
-- (the statements' rows are written by the writer: wait for them)
SELECT nspg_guard.audit_flush() AS flushed \gset
SELECT state, ended_by, end_reason, sessions_ended, statements_run, review_status,
       pg_has_role('bob_oncall', 'ns_breakglass_admin', 'MEMBER') AS granted
  FROM nspg_guard.breakglass_usages WHERE id = :req;
SELECT nspg_guard.breakglass_end(:req);
\echo :LAST_ERROR_SQLSTATE
\c - bob_oncall
SELECT pg_has_role('ns_breakglass_admin', 'USAGE') AS escalated;
SET ROLE ns_breakglass_admin;

-- Until it is reviewed, the posture lint reports it.
SELECT rule, severity, object_identity = :'req' AS this_request
  FROM nspg_guard.lint('{audit}') WHERE rule = 'audit_breakglass_review_due';

-- The mandatory review: by an approver or admin, not the requester; once; with notes.
SELECT nspg_guard.breakglass_review(:req, 'I restored everything myself really');
\echo :LAST_ERROR_SQLSTATE
\c - carol_approver
SELECT nspg_guard.breakglass_review(:req, '');
SELECT nspg_guard.breakglass_review(:req, 'restored 20 orders from PITR; root cause in INC-4711 report');
SELECT nspg_guard.breakglass_review(:req, 'reviewed it twice now');
\echo :LAST_ERROR_SQLSTATE
SELECT review_status, reviewed_by, review_notes FROM nspg_guard.breakglass_usages WHERE id = :req;
SELECT count(*) AS review_findings FROM nspg_guard.lint('{audit}') WHERE rule = 'audit_breakglass_review_due';

-- Withdrawn before approval; denied; a denied request cannot be approved or reviewed.
\c - bob_oncall
SELECT nspg_guard.breakglass_request('check replica lag by hand', '5 minutes') AS req2 \gset
SELECT nspg_guard.breakglass_end(:req2) AS sessions_ended;
SELECT nspg_guard.breakglass_request('drop the stale partitions now', '5 minutes') AS req3 \gset
SELECT nspg_guard.breakglass_deny(:req3, 'use the migration workflow instead');
\echo :LAST_ERROR_SQLSTATE
\c - carol_approver
SELECT nspg_guard.breakglass_deny(:req3, 'no');
SELECT nspg_guard.breakglass_deny(:req3, 'use the migration workflow instead');
SELECT nspg_guard.breakglass_approve(:req3);
SELECT nspg_guard.breakglass_review(:req3, 'nothing happened under it');
SELECT state, decision_note, review_status FROM nspg_guard.breakglass_usages WHERE id IN (:req2, :req3) ORDER BY id;

-- Defined incident criteria: a superuser flips the incident switch; the requester may then
-- approve their own request if it names the incident; the usage is flagged.
\c - postgres
ALTER SYSTEM SET nspg_guard.breakglass_self_approve = on;
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);
\c - bob_oncall
SELECT nspg_guard.breakglass_request('primary down, promote replica by hand', '5 minutes') AS req4 \gset
SELECT nspg_guard.breakglass_approve(:req4);
\echo :LAST_ERROR_SQLSTATE
SELECT nspg_guard.breakglass_end(:req4) AS sessions_ended;
SELECT nspg_guard.breakglass_request('primary down, promote replica by hand', '5 minutes', 'INC-4712') AS req5 \gset
SELECT nspg_guard.breakglass_approve(:req5) > now() AS approved;
SELECT state, self_approved, decided_by, incident FROM nspg_guard.breakglass_usages WHERE id = :req5;
\c - postgres
-- the switch left on is a finding
SELECT rule, severity, remediation FROM nspg_guard.lint('{settings}') WHERE rule = 'settings_breakglass_self_approve_on';
ALTER SYSTEM RESET nspg_guard.breakglass_self_approve;
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);
SELECT nspg_guard.breakglass_end(:req5) AS sessions_ended;
SELECT count(*) AS switch_findings FROM nspg_guard.lint('{settings}') WHERE rule = 'settings_breakglass_self_approve_on';

-- The registry changes only through these functions, superusers included; the settings are
-- server-wide (no session changes them) and validated.
UPDATE nspg_guard.breakglass_requests SET state = 'active' WHERE id = :req;
\echo :LAST_ERROR_SQLSTATE
DELETE FROM nspg_guard.breakglass_requests;
TRUNCATE nspg_guard.breakglass_requests;
SET nspg_guard.breakglass_self_approve = on;
\echo :LAST_ERROR_SQLSTATE
SET nspg_guard.breakglass_max_duration = '10h';
ALTER SYSTEM SET nspg_guard.breakglass_role = 'ns_a, ns_b';
\echo :LAST_ERROR_SQLSTATE
ALTER SYSTEM SET nspg_guard.breakglass_max_duration = 0;
\echo :LAST_ERROR_SQLSTATE

-- Every step is in the audit trail.
SELECT nspg_guard.audit_flush() AS pending;
SELECT outcome, count(*) FROM nspg_guard.audit_log
 WHERE id > :start_id AND class = 'breakglass' GROUP BY outcome ORDER BY outcome;
SELECT outcome, "session_user", command_tag, details->>'self_approved' AS self_approved, reason
  FROM nspg_guard.audit_log
 WHERE id > :start_id AND class = 'breakglass' AND (details->>'request_id')::bigint = :req5 ORDER BY event_time, id;
SELECT "session_user", command_tag, statement FROM nspg_guard.audit_log
 WHERE id > :start_id AND class = 'breakglass' AND outcome = 'statement' ORDER BY id;
SELECT "session_user", command_tag, reason FROM nspg_guard.audit_log
 WHERE id > :start_id AND class = 'denied' AND command_tag LIKE 'BREAK-GLASS%' ORDER BY id;
-- The evidence bundle (§11 "break-glass usage logs") summarises the registry.
SELECT (e -> 'break_glass') - 'usages_last_year' AS summary,
       jsonb_array_length(e -> 'break_glass' -> 'usages_last_year') AS usages
  FROM nspg_guard.evidence() e;
\c nspg_regress postgres
DROP ROLE dan_approver;
