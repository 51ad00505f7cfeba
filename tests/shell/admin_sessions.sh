#!/usr/bin/env bash
# Admin sessions, break-glass expiry and role lockdown against live psql clients (NS-PG-007
# §2.2, §8.1, §8.3, §9): what a single pg_regress session cannot show, because it takes time
# passing, other sessions and the background writer ending sessions.
#   max duration   with nspg_guard.admin_session_max_duration = 3s, an admin (alice_admin) session
#                  running a 4 s statement is ended at the maximum, while the statement runs (the
#                  writer: FATAL 57P01), audited (class admin, outcome session_ended, session_user
#                  alice_admin); an app_user session of the same age is not (the statement-level
#                  check at every nesting level: session_governance.sh);
#   idle admin     an IDLE admin session past the maximum is ended by the audit writer within about
#                  two seconds (audit row ended_by = 'nspg_guard audit writer'; the client sees
#                  "terminating connection due to administrator command"); an idle app_user
#                  session of the same age stays;
#   expiry         an approved 4 s break-glass grant: bob_oncall's idle session, SET ROLE to the
#                  break-glass role, is ended no later than 2 s after expires_at; the request is
#                  expired, the membership revoked, a new session cannot SET ROLE to it; the
#                  audit trail has every step (requested, approved, activated, each statement,
#                  expired), each naming the request (details->>'request_id');
#   end            breakglass_end() of an active request ends the requester's live session and
#                  returns how many it ends;
#   lapse          a request nobody decides within breakglass_max_duration is cancelled;
#   stale role     a SET ROLE to the break-glass role that outlives the membership (revoked by
#                  hand) ends the session at its next statement;
#   one request    two concurrent breakglass_request() calls of one role: one filed, one refused;
#   lockdown       lockdown_role() ends the role's live session and returns 1; the role can no
#                  longer log in; unlock_role() lets it log in again.
# Sessions that must stay open across time are psql clients reading from a FIFO (kept open by a
# file descriptor of this script); each is named by its application_name.
# Own cluster next to the main one: $TEST_PORT + 5.
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/assert.bash"
source "$(dirname "${BASH_SOURCE[0]}")/sessions.bash"
: "${TEST_DIR:?run me from scripts/test.sh}" "${TEST_PORT:?run me from scripts/test.sh}"

DIR=$(dirname "$TEST_DIR")/admin_sessions
PORT=$((TEST_PORT + 5))
WORK=$(mktemp -d)
trap sessions_cleanup EXIT

# sql SQL [USER] — as USER (default postgres) in database postgres; output and errors, never fails.
# Each call is its own short session: the postgres sessions are admin sessions too.
sql() {
    "$PG_BIN/psql" -X -h "$DIR" -p "$PORT" -U "${2:-postgres}" -d postgres -At -c "$1" 2>&1 || true
}
flush() { sql "SELECT nspg_guard.audit_flush(20000)" >/dev/null; }
# now_epoch — the server's clock, in seconds.
now_epoch() { sql "SELECT extract(epoch FROM clock_timestamp())"; }
# between LOW X HIGH — is LOW <= X <= HIGH (decimal numbers)?
between() { awk -v l="$1" -v x="$2" -v h="$3" 'BEGIN { exit !(x >= l && x <= h) }'; }


say "cluster with the library preloaded (port $PORT)"
start_cluster "$DIR" "$PORT" nspg_guard
sql "CREATE EXTENSION nspg_guard" >/dev/null
sql "$SESSION_ROLES_SQL" >/dev/null
expect_line "the audit writer runs" "$(sql "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'nspg_guard audit writer'")" "1"
expect_line "admin sessions get the capped statement_timeout" "$(sql "SHOW statement_timeout" alice_admin)" "5min"
expect_line "non-admin sessions are untouched" "$(sql "SHOW statement_timeout" app_user)" "0"

say "max duration: an admin session's next statement after the maximum ends it"
set_max 3s
script='SELECT $$started$$;
SELECT pg_sleep(4);
SELECT $$after 4 s$$;'
PGAPPNAME=aged_alice "$PG_BIN/psql" -X -h "$DIR" -p "$PORT" -U alice_admin -d postgres -At -v VERBOSITY=verbose \
    <<<"$script" >"$WORK/aged_alice.out" 2>&1 &
alice_psql=$!
PGAPPNAME=aged_app "$PG_BIN/psql" -X -h "$DIR" -p "$PORT" -U app_user -d postgres -At -v VERBOSITY=verbose \
    <<<"$script" >"$WORK/aged_app.out" 2>&1 &
app_psql=$!
wait "$alice_psql" && alice_status=0 || alice_status=$?
wait "$app_psql" && app_status=0 || app_status=$?
out=$(cat "$WORK/aged_alice.out")
expect_line "alice's first statement ran" "$out" "started"
expect "alice's 4 s statement is ended at the maximum: FATAL 57P01" "$out" \
    "FATAL:  57P01: terminating connection due to administrator command"
reject "the statement after it did not run" "$out" "after 4 s"
[ "$alice_status" -ne 0 ] && pass "alice's psql exits with an error ($alice_status)" || fail "alice's psql exited 0"
out=$(cat "$WORK/aged_app.out")
expect_line "app_user's session of the same age runs its statement after 4 s" "$out" "after 4 s"
reject "app_user's session is not ended" "$out" "FATAL"
[ "$app_status" -eq 0 ] && pass "app_user's psql exits 0" || fail "app_user's psql exited $app_status"
flush
out=$(sql "SELECT \"session_user\", application_name, reason, details->>'ended_by' FROM nspg_guard.audit_log
           WHERE class = 'admin' AND outcome = 'session_ended' ORDER BY id")
expect_line "audited: session_ended of alice_admin, by the writer" "$out" \
    "alice_admin|aged_alice|admin session older than nspg_guard.admin_session_max_duration (3s)|nspg_guard audit writer"
reject "no session_ended row for app_user" "$out" "app_user"

say "idle admin sessions past the maximum are ended by the audit writer"
open_session idle_alice alice_admin; alice_pid=$SESSION_PID
open_session idle_app app_user; app_pid=$SESSION_PID
started=$(sql "SELECT extract(epoch FROM backend_start) FROM pg_stat_activity WHERE pid = $alice_pid")
seen_gone=
for _ in $(seq 50); do   # up to 10 s
    if [ "$(gone "$alice_pid")" = t ]; then seen_gone=$(now_epoch); break; fi
    sleep 0.2
done
if [ -n "$seen_gone" ]; then
    age=$(awk -v a="$started" -v b="$seen_gone" 'BEGIN { printf "%.2f", b - a }')
    between 3 "$age" 5.5 && pass "the idle admin session is gone at age ${age}s (after the 3s maximum, within 2 s)" \
        || fail "the idle admin session is gone at age ${age}s, not between 3 s and 3 s + 2 s (+ polling)"
else
    fail "the idle admin session (pid $alice_pid) is still there after 10 s"
fi
expect_line "the idle app_user session of the same age is still there" "$(gone "$app_pid")" "f"
send idle_alice "SELECT 'alice still here';"
close_session idle_alice
out=$(output idle_alice)
expect "alice's client sees the termination" "$out" "FATAL:  57P01: terminating connection due to administrator command"
reject "alice's statement did not run" "$out" "alice still here"
send idle_app "SELECT 'app still here ' || (pg_backend_pid() = $app_pid);"
close_session idle_app
expect_line "app_user's idle session still runs statements" "$(output idle_app)" "app still here true"
flush
out=$(sql "SELECT \"session_user\", application_name, backend_pid, details->>'ended_by' FROM nspg_guard.audit_log
           WHERE class = 'admin' AND outcome = 'session_ended' AND backend_pid = $alice_pid")
expect_line "audited: ended by the writer, with alice's session" "$out" "alice_admin|idle_alice|$alice_pid|nspg_guard audit writer"
expect "the writer's row says why" "$(sql "SELECT reason FROM nspg_guard.audit_log WHERE class = 'admin' AND outcome = 'session_ended' AND backend_pid = $alice_pid")" \
    "admin session older than nspg_guard.admin_session_max_duration (3s)"
expect_line "no session_ended row for app_user" "$(sql "SELECT count(*) FROM nspg_guard.audit_log WHERE class = 'admin' AND outcome = 'session_ended' AND \"session_user\" = 'app_user'")" "0"
set_max DEFAULT
expect_line "max duration reset to 8h" "$(sql "SHOW nspg_guard.admin_session_max_duration")" "8h"

say "break-glass expiry ends an idle escalated session within seconds of the deadline"
id=$(sql "SELECT nspg_guard.breakglass_request('restore orders deleted by bad deploy', '4 seconds', 'INC-1')" bob_oncall | tail -n 1)
[[ "$id" =~ ^[0-9]+$ ]] && pass "bob_oncall filed request $id" || fail "breakglass_request: $id"
out=$(sql "SELECT nspg_guard.breakglass_approve($id) IS NOT NULL" carol_approver)
expect_line "carol_approver approves it" "$out" "t"
open_session bob_escalated bob_oncall; bob_pid=$SESSION_PID
send bob_escalated "SET ROLE ns_breakglass_admin; SELECT 'escalated as ' || current_user;"
seen=
for _ in $(seq 60); do   # up to 12 s (the grant lasts 4 s)
    seen=$(sql "SELECT NOT EXISTS (SELECT FROM pg_stat_activity WHERE pid = $bob_pid),
                       extract(epoch FROM clock_timestamp() - expires_at)
                  FROM nspg_guard.breakglass_usages WHERE id = $id")
    [[ "$seen" == t\|* ]] && break
    sleep 0.2
done
late=${seen#*|}
if [[ "$seen" == t\|* ]]; then
    between 0 "$late" 2 && pass "bob's idle session ended ${late}s after expires_at (at most 2 s)" \
        || fail "bob's idle session ended ${late}s after expires_at, not within [0, 2] s"
else
    fail "bob's escalated session (pid $bob_pid) is still there ${late}s after expires_at"
fi
send bob_escalated "SELECT 'bob still here';"
close_session bob_escalated
out=$(output bob_escalated)
expect_line "bob's session was escalated before the expiry" "$out" "escalated as ns_breakglass_admin"
expect "bob's client sees the termination" "$out" "terminating connection due to administrator command"
reject "bob's statement after the expiry did not run" "$out" "bob still here"
expect_line "the request is expired, sessions_ended = 1" "$(sql "SELECT state, sessions_ended FROM nspg_guard.breakglass_usages WHERE id = $id")" "expired|1"
expect_line "bob is no longer a member of ns_breakglass_admin" "$(sql "SELECT pg_has_role('bob_oncall', 'ns_breakglass_admin', 'MEMBER')")" "f"
out=$(sql "SET ROLE ns_breakglass_admin; SELECT current_user" bob_oncall)
expect "a new bob session cannot SET ROLE ns_breakglass_admin" "$out" 'ERROR:  permission denied to set role "ns_breakglass_admin"'
flush
out=$(sql "SELECT string_agg(outcome, ',' ORDER BY event_time, id) FROM nspg_guard.audit_log
           WHERE class = 'breakglass' AND details->>'request_id' = '$id'")
expect_line "audited for request $id: every step, each naming the request" "$out" "requested,approved,activated,statement,statement,expired"
out=$(sql "SELECT outcome, \"session_user\", count(*) FROM nspg_guard.audit_log
           WHERE class = 'breakglass' AND backend_pid = $bob_pid GROUP BY 1, 2 ORDER BY 1")
expect_line "audited: the escalation was activated in bob's session" "$out" "activated|bob_oncall|1"
expect_line "audited: bob's two escalated statements" "$out" "statement|bob_oncall|2"
expect "audited: the statement text" "$(sql "SELECT statement FROM nspg_guard.audit_log WHERE class = 'breakglass' AND outcome = 'statement' AND backend_pid = $bob_pid")" \
    "SELECT 'escalated as ' || current_user"
expect_line "statements_run counts them" "$(sql "SELECT statements_run FROM nspg_guard.breakglass_usages WHERE id = $id")" "2"
expect_line "the review is due" "$(sql "SELECT review_status FROM nspg_guard.breakglass_usages WHERE id = $id")" "review due"
sql "SELECT nspg_guard.breakglass_review($id, 'restored 120 orders from the backup, see INC-1 report')" carol_approver >/dev/null
expect_line "carol reviews it" "$(sql "SELECT review_status, reviewed_by FROM nspg_guard.breakglass_usages WHERE id = $id")" "reviewed|carol_approver"

say "breakglass_end() of an active request ends the requester's live session"
id2=$(sql "SELECT nspg_guard.breakglass_request('replay the failed payment batch', '10 minutes', 'INC-2')" bob_oncall | tail -n 1)
[[ "$id2" =~ ^[0-9]+$ ]] && pass "bob_oncall filed request $id2" || fail "breakglass_request: $id2"
expect_line "carol_approver approves it" "$(sql "SELECT nspg_guard.breakglass_approve($id2) > now()" carol_approver)" "t"
open_session bob_live bob_oncall; bob_pid=$SESSION_PID
send bob_live "SELECT 'has break-glass ' || pg_has_role('ns_breakglass_admin', 'USAGE');"
# the answer must be out before carol ends the session
for _ in $(seq 100); do grep -q "has break-glass" "$WORK/bob_live.out" && break; sleep 0.05; done
expect_line "carol's breakglass_end() ends 1 session" "$(sql "SELECT nspg_guard.breakglass_end($id2)" carol_approver)" "1"
wait_gone "$bob_pid" 30 && pass "bob's live session is gone" || fail "bob's session (pid $bob_pid) is still there 3 s after breakglass_end()"
close_session bob_live
out=$(output bob_live)
expect_line "bob's session had the break-glass role" "$out" "has break-glass true"
expect_line "the request is ended by carol, sessions_ended = 1" "$(sql "SELECT state, ended_by, sessions_ended FROM nspg_guard.breakglass_usages WHERE id = $id2")" "ended|carol_approver|1"
expect_line "bob is no longer a member of ns_breakglass_admin" "$(sql "SELECT pg_has_role('bob_oncall', 'ns_breakglass_admin', 'MEMBER')")" "f"

say "a request nobody decides lapses after breakglass_max_duration"
sql "ALTER SYSTEM SET nspg_guard.breakglass_max_duration = '2s'" >/dev/null
sql "SELECT pg_reload_conf()" >/dev/null
for _ in $(seq 50); do [ "$(sql "SHOW nspg_guard.breakglass_max_duration")" = 2s ] && break; sleep 0.1; done
id3=$(sql "SELECT nspg_guard.breakglass_request('look at the stuck replication slot', '1 second')" app_user | tail -n 1)
[[ "$id3" =~ ^[0-9]+$ ]] && pass "app_user filed request $id3" || fail "breakglass_request: $id3"
state=
for _ in $(seq 120); do   # the writer looks every 5 s: lapsed within 2 + 5 s
    state=$(sql "SELECT state, ended_by, end_reason FROM nspg_guard.breakglass_usages WHERE id = $id3")
    [[ "$state" == cancelled* ]] && break
    sleep 0.1
done
expect_line "the undecided request lapsed" "$state" "cancelled|nspg_guard|not decided within nspg_guard.breakglass_max_duration"
sql "ALTER SYSTEM RESET nspg_guard.breakglass_max_duration" >/dev/null
sql "SELECT pg_reload_conf()" >/dev/null

say "a SET ROLE that outlives its grant ends the session at its next statement"
# PostgreSQL does not undo a SET ROLE when the membership goes (here: revoked by hand, not
# through breakglass_end, so no termination is sent): the session's next statement ends it.
sql "GRANT ns_breakglass_admin TO bob_oncall" >/dev/null
open_session bob_stale bob_oncall; bob_pid=$SESSION_PID
send bob_stale "SET ROLE ns_breakglass_admin; SELECT 'now ' || current_user;"
sleep 0.5
sql "REVOKE ns_breakglass_admin FROM bob_oncall" >/dev/null
send bob_stale "SELECT 'still ' || current_user;"
wait_gone "$bob_pid" 30 && pass "bob's session is gone after its next statement" || fail "bob's session (pid $bob_pid) is still there"
close_session bob_stale
out=$(output bob_stale)
expect_line "bob had SET ROLE to the break-glass role" "$out" "now ns_breakglass_admin"
expect "the FATAL says why" "$out" "nspg_guard: session ended: the break-glass access this session was using has ended"
reject "the statement after the revoke did not run" "$out" "still ns_breakglass_admin"

say "lockdown_role() ends the role's live sessions; unlock_role() lets it in again"
for _ in $(seq 30); do [ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE usename = 'app_user'")" = 0 ] && break; sleep 0.1; done
open_session app_live app_user; app_pid=$SESSION_PID
send app_live "SELECT 'app connected';"
for _ in $(seq 100); do grep -q "app connected" "$WORK/app_live.out" && break; sleep 0.05; done
out=$(sql "SELECT nspg_guard.lockdown_role('app_user', 'credentials leaked in CI logs')" alice_admin)
expect_line "alice_admin locks app_user down: 1 session ends" "$out" "1"
wait_gone "$app_pid" 30 && pass "app_user's live session is gone" || fail "app_user's session (pid $app_pid) is still there 3 s after lockdown_role()"
close_session app_live
expect_line "app_user's session was live before" "$(output app_live)" "app connected"
expect 'a new app_user login fails' "$(sql "SELECT 'connected'" app_user)" 'role "app_user" is not permitted to log in'
expect_line "the lockdown is recorded" "$(sql "SELECT locked_by, could_login, sessions_ended FROM nspg_guard.role_lockdowns WHERE role_name = 'app_user' AND unlocked_at IS NULL")" "alice_admin|t|1"
out=$(sql "SELECT nspg_guard.unlock_role('app_user', 'password rotated by platform team')" alice_admin)
reject "alice_admin unlocks app_user" "$out" "ERROR"
expect_line "app_user logs in again" "$(sql "SELECT 'connected as ' || current_user" app_user)" "connected as app_user"
flush
out=$(sql "SELECT outcome, object_identity, \"session_user\" FROM nspg_guard.audit_log WHERE class = 'admin' AND command_tag IN ('LOCKDOWN ROLE', 'UNLOCK ROLE') ORDER BY id")
expect_line "audited: locked_down by alice_admin" "$out" "locked_down|app_user|alice_admin"
expect_line "audited: unlocked by alice_admin" "$out" "unlocked|app_user|alice_admin"

say "two break-glass requests of one role at once: one is filed, the other refused (one open request per role)"
sql "CREATE ROLE race_user LOGIN" >/dev/null
open_session race_a race_user
send race_a "BEGIN;"
send race_a "SELECT 'a filed ' || nspg_guard.breakglass_request('race for the only open request', '10 minutes');"
for _ in $(seq 50); do grep -q "a filed" "$WORK/race_a.out" && break; sleep 0.1; done
# the second request waits for the first transaction, then sees its request
( sql "SELECT nspg_guard.breakglass_request('race for the only open request', '10 minutes')" race_user >"$WORK/race_b.out" ) &
race_b=$!
sleep 1
expect_line "the second request is still waiting while the first is not committed" \
    "$(sql "SELECT count(*) FROM pg_stat_activity WHERE usename = 'race_user' AND wait_event_type = 'Lock'")" "1"
send race_a "COMMIT;"
wait "$race_b"
close_session race_a
expect "the first request is filed" "$(output race_a)" "a filed "
expect "the concurrent second request is refused" "$(cat "$WORK/race_b.out")" "already has break-glass request"
expect_line "exactly one open request of race_user" \
    "$(sql "SELECT count(*) FROM nspg_guard.breakglass_requests WHERE requester_oid = 'race_user'::regrole AND state IN ('requested', 'active')")" "1"
expect_line "and the database holds to it: a unique index on the open requests of a role" \
    "$(sql "SELECT indisunique FROM pg_index WHERE indexrelid = 'nspg_guard.breakglass_requests_one_open'::regclass")" "t"

say "no other role can make a break-glass request wait (the lock it takes is one SQL cannot take)"
sql "CREATE ROLE blocker_user LOGIN; CREATE ROLE waiting_user LOGIN" >/dev/null
open_session blocker blocker_user
send blocker "BEGIN;"
# every advisory lock SQL can take on the role's key, in both key spaces, held open
send blocker "SELECT pg_advisory_xact_lock(hashtext('nspg_guard.breakglass_request'), 'waiting_user'::regrole::oid::int4), pg_advisory_xact_lock('waiting_user'::regrole::oid::int8), pg_advisory_xact_lock(0, 'waiting_user'::regrole::oid::int4), 'blocker holds';"
wait_output blocker "blocker holds" 50 || fail "the blocker did not take its locks"
out=$(timeout 10 "$PG_BIN/psql" -X -h "$DIR" -p "$PORT" -U waiting_user -d postgres -At \
    -c "SELECT 'filed ' || nspg_guard.breakglass_request('the blocker must not stall this', '10 minutes')" 2>&1 || echo "timed out or failed")
expect "waiting_user's request is filed at once while another role holds advisory locks" "$out" "filed "
close_session blocker


say "a requester renamed while escalated: the grant is still taken back (the registry knows roles by oid)"
sql "CREATE ROLE renamed_oncall LOGIN" >/dev/null
rid=$(sql "SELECT nspg_guard.breakglass_request('restore orders deleted by bad deploy', '10 minutes')" renamed_oncall | tail -n 1)
expect_line "renamed_oncall's request is approved" "$(sql "SELECT nspg_guard.breakglass_approve($rid) > now()" carol_approver)" "t"
sql "ALTER ROLE renamed_oncall RENAME TO renamed_oncall_2" >/dev/null
out=$(sql "SELECT nspg_guard.breakglass_end($rid)" carol_approver)
expect_line "carol ends the request of the renamed role" "$out" "0"
expect_line "the membership is gone" "$(sql "SELECT pg_has_role('renamed_oncall_2', 'ns_breakglass_admin', 'MEMBER')")" "f"
finish
