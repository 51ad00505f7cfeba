#!/usr/bin/env bash
# Every session that runs SQL is governed, for as long as its power lasts (NS-PG-007 §2.2, §8.1,
# §8.3, §9; issue 19), against live psql clients and a real second session:
#   walsender      a REPLICATION admin connecting with replication=database (a walsender that
#                  runs SQL) gets the admin caps (statement_timeout 5min), is registered (the
#                  writer ends it idle past the maximum duration), its DO loop past the maximum
#                  is ended like a client's (below); a replication=database session SET ROLE to
#                  the break-glass role is ended at the grant's expiry; lockdown_role() ends a
#                  replication=database session and a physical walsender of the role (which runs
#                  no SQL: "cannot execute SQL commands in WAL sender for physical replication");
#   do loop        a DO loop that COMMITs, started before the maximum duration, is ended at its
#                  first statement past the maximum, in a client backend and in a
#                  replication=database walsender (while the writer is not looking: the
#                  backends still have the 3 s maximum, the writer the default again);
#   long statement an admin's SELECT pg_sleep(30) is terminated by the writer at the maximum
#                  (about 3 s, not 30), audited with state active;
#   stale role     SET ROLE ns_migrate_orders, then REVOKE of that membership in another
#                  session: the next statement is FATAL 57P01, audited; a running loop (one
#                  transaction, no COMMIT) SET ROLE to it is ended within a few iterations of
#                  the REVOKE; a SET ROLE to a role nspg_guard does not govern stays;
#   switch inside  an escalated session's set_config('role', …) is refused before the rest of
#                  its statement runs (the nextval() after it does not advance the sequence);
#   late login     a login that lands while lockdown_role()'s transaction is open survives the
#                  lockdown's list of sessions, and is ended at its first statement after the
#                  COMMIT (FATAL 57P01, audited); a session of another role is not.
# Own cluster next to the main one: $TEST_PORT + 21.
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/assert.bash"
: "${TEST_DIR:?run me from scripts/test.sh}" "${TEST_PORT:?run me from scripts/test.sh}"

DIR=$(dirname "$TEST_DIR")/session_governance
PORT=$((TEST_PORT + 21))
WORK=$(mktemp -d)
source "$(dirname "${BASH_SOURCE[0]}")/sessions.bash"

trap sessions_cleanup EXIT

# sql SQL [USER] — as USER (default postgres); output and errors, never fails.
sql() { "$PG_BIN/psql" -X -h "$DIR" -p "$PORT" -U "${2:-postgres}" -d postgres -At -c "$1" 2>&1 || true; }
flush() { sql "SELECT nspg_guard.audit_flush(20000)" >/dev/null; }
ended_row() {
    flush
    sql "SELECT \"session_user\", reason, details->>'ended_by' FROM nspg_guard.audit_log
          WHERE outcome = 'session_ended' AND backend_pid = $1 ORDER BY id DESC LIMIT 1"
}

say "cluster with the library preloaded (port $PORT)"
start_cluster "$DIR" "$PORT" nspg_guard "max_wal_senders = 10"
sql "CREATE EXTENSION nspg_guard" >/dev/null
sql "$SESSION_ROLES_SQL" >/dev/null
sql "CREATE ROLE rep_admin LOGIN REPLICATION IN ROLE ns_admin; CREATE ROLE rep_oncall LOGIN REPLICATION;
     CREATE ROLE rep_svc LOGIN REPLICATION; CREATE ROLE ns_migrate_orders NOLOGIN; CREATE ROLE plain_reader NOLOGIN;
     CREATE ROLE dave LOGIN IN ROLE ns_migrate_orders, plain_reader; CREATE ROLE erin LOGIN IN ROLE ns_migrate_orders;
     CREATE ROLE eve LOGIN; CREATE ROLE seq_owner NOLOGIN; GRANT seq_owner TO bob_oncall;
     CREATE TABLE loop_rows (i int); GRANT ALL ON loop_rows TO PUBLIC;
     CREATE SEQUENCE owned_seq; ALTER SEQUENCE owned_seq OWNER TO seq_owner" >/dev/null

say "walsender with a database: capped, registered, time-bounded"
walsender="replication=database"
out=$("$PG_BIN/psql" -X -At "host=$DIR port=$PORT user=rep_admin dbname=postgres $walsender" \
    -c "SELECT backend_type FROM pg_stat_activity WHERE pid = pg_backend_pid()" -c "SHOW statement_timeout" 2>&1)
expect_line "the session is a walsender" "$out" "walsender"
expect_line "its statement_timeout is capped at the admin cap" "$out" "5min"
set_max 3s
open_session ws_idle rep_admin "$walsender"; ws_pid=$SESSION_PID
send ws_idle "SELECT 'walsender ran ' || backend_type FROM pg_stat_activity WHERE pid = pg_backend_pid();"
wait_output ws_idle "walsender ran walsender" || fail "the walsender session ran no statement: $(output ws_idle)"
wait_gone "$ws_pid" 80 && pass "the writer ends the idle walsender admin session past the 3 s maximum (so it was registered)" \
    || fail "the walsender admin session (pid $ws_pid) is still there after 8 s"
expect "audited: ended by the writer" "$(ended_row "$ws_pid")" "rep_admin|admin session older than nspg_guard.admin_session_max_duration (3s)|nspg_guard audit writer"
close_session ws_idle
set_max DEFAULT

say "walsender with a database: ended at break-glass expiry and by lockdown"
id=$(sql "SELECT nspg_guard.breakglass_request('restore orders deleted by bad deploy', '4 seconds', 'INC-19')" rep_oncall | tail -n 1)
expect_line "carol_approver approves rep_oncall's request" "$(sql "SELECT nspg_guard.breakglass_approve($id) IS NOT NULL" carol_approver)" "t"
open_session ws_escalated rep_oncall "$walsender"; esc_pid=$SESSION_PID
send ws_escalated "SET ROLE ns_breakglass_admin; SELECT 'escalated as ' || current_user;"
wait_output ws_escalated "escalated as ns_breakglass_admin" || fail "no escalation: $(output ws_escalated)"
wait_gone "$esc_pid" 100 && pass "the escalated walsender session is ended at the grant's expiry" \
    || fail "the escalated walsender session (pid $esc_pid) outlived its grant: $(sql "SELECT state FROM nspg_guard.breakglass_requests WHERE id = $id")"
close_session ws_escalated
open_session ws_svc rep_svc "$walsender"; svc_pid=$SESSION_PID
open_session phys_svc rep_svc "replication=true"; phys_pid=$SESSION_PID
send phys_svc "SELECT 1;"
wait_output phys_svc "cannot execute SQL commands in WAL sender for physical replication" \
    && pass "a physical walsender runs no SQL" || fail "physical walsender: $(output phys_svc)"
expect_line "lockdown_role() ends both walsender sessions" \
    "$(sql "SELECT nspg_guard.lockdown_role('rep_svc', 'replication credential leaked in CI')")" "2"
wait_gone "$svc_pid" && pass "the replication=database session is gone" || fail "the replication=database session survived the lockdown"
wait_gone "$phys_pid" && pass "the physical walsender is gone" || fail "the physical walsender survived the lockdown"
close_session ws_svc; close_session phys_svc

say "maximum duration: a DO loop that commits is ended at its first statement past the maximum"
set_max 3s
loop='DO $d$ BEGIN FOR i IN 1..300 LOOP
    INSERT INTO loop_rows VALUES (i + OFFSET); COMMIT; RAISE NOTICE $$iteration %$$, i; PERFORM pg_sleep(0.05);
END LOOP; END $d$;
SELECT $$loop finished$$;'
open_session looping alice_admin; loop_pid=$SESSION_PID
open_session ws_looping rep_admin "$walsender"; ws_loop_pid=$SESSION_PID
send looping "${loop//OFFSET/0}"
send ws_looping "${loop//OFFSET/1000}"
wait_output looping "iteration 2" && wait_output ws_looping "iteration 2" || fail "the loops did not start: $(output looping; output ws_looping)"
# the running backends keep their 3 s (a backend rereads the configuration only between client
# statements); the writer goes back to 8h, so only the statement check can end the loops
set_max DEFAULT
for name in looping ws_looping; do
    pid=$loop_pid; [ "$name" = ws_looping ] && pid=$ws_loop_pid
    wait_gone "$pid" 100 && pass "$name: the looping session ends" || fail "$name: the looping session (pid $pid) still runs after 10 s"
    close_session "$name"
    out=$(output "$name")
    expect "$name: inside the loop, FATAL 57P01 with the reason" "$out" \
        "FATAL:  57P01: nspg_guard: session ended: it is older than nspg_guard.admin_session_max_duration (3s)"
    reject "$name: the loop did not finish" "$out" "loop finished"
    expect "$name: audited, ended by its next statement" "$(ended_row "$pid")" "|it is older than nspg_guard.admin_session_max_duration (3s)|its next statement"
done
rows=$(sql "SELECT count(*) FROM loop_rows WHERE i < 1000")
[ "$rows" -gt 5 ] && [ "$rows" -lt 300 ] && pass "the loop committed $rows rows before the maximum, not 300" || fail "the loop committed $rows rows"

say "maximum duration: a running statement is terminated by the writer"
set_max 3s
start=$(date +%s.%N)
PGAPPNAME=long_sleep "$PG_BIN/psql" -X -h "$DIR" -p "$PORT" -U alice_admin -d postgres -At -v VERBOSITY=verbose \
    -c "SELECT pg_sleep(30)" -c "SELECT 'after the sleep'" >"$WORK/long_sleep.out" 2>&1 || true
took=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
awk -v t="$took" 'BEGIN { exit !(t >= 2.5 && t < 8) }' && pass "pg_sleep(30) ends after ${took}s (the 3 s maximum)" || fail "pg_sleep(30) ended after ${took}s"
expect "the client sees the termination" "$(cat "$WORK/long_sleep.out")" "FATAL:  57P01: terminating connection due to administrator command"
flush
expect "audited by the writer, with the state it was in" \
    "$(sql "SELECT reason || '|' || (details->>'state') || '|' || (details->>'ended_by') FROM nspg_guard.audit_log WHERE outcome = 'session_ended' AND application_name = 'long_sleep'")" \
    "admin session older than nspg_guard.admin_session_max_duration (3s)|active|nspg_guard audit writer"
set_max DEFAULT

say "a SET ROLE into a governed role ends with the membership"
open_session dave_mig dave; dave_pid=$SESSION_PID
send dave_mig "SET ROLE ns_migrate_orders; SELECT 'dave is ' || current_user;"
wait_output dave_mig "dave is ns_migrate_orders" || fail "dave could not SET ROLE: $(output dave_mig)"
sql "REVOKE ns_migrate_orders FROM dave" >/dev/null
send dave_mig "SELECT 'dave still ' || current_user;"
wait_gone "$dave_pid" && pass "dave's session is ended at its next statement" || fail "dave's session survived the REVOKE"
close_session dave_mig
out=$(output dave_mig)
expect "FATAL 57P01 with the reason" "$out" \
    "FATAL:  57P01: nspg_guard: session ended: it is SET ROLE to \"ns_migrate_orders\" but no longer a member of that role"
reject "the statement did not run" "$out" "dave still"
expect "audited" "$(ended_row "$dave_pid")" "dave|it is SET ROLE to \"ns_migrate_orders\" but no longer a member of that role|its next statement"
open_session dave_plain dave
send dave_plain "SET ROLE plain_reader; SELECT 'plain ' || current_user;"
wait_output dave_plain "plain plain_reader" || fail "dave could not SET ROLE plain_reader"
sql "REVOKE plain_reader FROM dave" >/dev/null
send dave_plain "SELECT 'ungoverned role stays ' || current_user;"
close_session dave_plain
expect_line "a SET ROLE to a role nspg_guard does not govern is PostgreSQL's business" "$(output dave_plain | tail -n 1)" "ungoverned role stays plain_reader"

say "… also inside a running loop (one transaction)"
open_session erin_loop erin; erin_pid=$SESSION_PID
send erin_loop "SET ROLE ns_migrate_orders;
DO \$\$ BEGIN FOR i IN 1..200 LOOP INSERT INTO loop_rows VALUES (-i); RAISE NOTICE 'iteration %', i; PERFORM pg_sleep(0.05); END LOOP; END \$\$;
SELECT 'erin loop finished';"
wait_output erin_loop "iteration 10" || fail "erin's loop did not start: $(output erin_loop)"
sql "REVOKE ns_migrate_orders FROM erin" >/dev/null
at_revoke=$(grep -c "iteration" "$WORK/erin_loop.out" || true)
wait_gone "$erin_pid" 50 && pass "erin's looping session ends" || fail "erin's looping session survived the REVOKE"
close_session erin_loop
out=$(output erin_loop)
expect "inside the loop: FATAL 57P01" "$out" "it is SET ROLE to \"ns_migrate_orders\" but no longer a member of that role"
reject "the loop did not finish" "$out" "erin loop finished"
after=$(( $(grep -c "iteration" "$WORK/erin_loop.out" || true) - at_revoke ))
[ "$after" -le 3 ] && pass "statements after the REVOKE: $after (at most 3)" || fail "statements after the REVOKE: $after"

say "an escalated session's role switch inside one statement is refused before the rest runs"
id=$(sql "SELECT nspg_guard.breakglass_request('investigate stuck order import', '10 minutes', 'INC-20')" bob_oncall | tail -n 1)
expect_line "bob's request is approved" "$(sql "SELECT nspg_guard.breakglass_approve($id) IS NOT NULL" carol_approver)" "t"
out=$(sql "SELECT set_config('role', 'seq_owner', false), nextval('owned_seq')" bob_oncall)
expect "refused: switching to role seq_owner" "$out" "switching to role \"seq_owner\" is refused while escalated through break-glass"
expect_line "the nextval() after it did not run" "$(sql "SELECT is_called FROM owned_seq")" "f"
sql "SELECT nspg_guard.breakglass_end($id)" bob_oncall >/dev/null

say "a login racing a lockdown ends at its first statement after the COMMIT"
open_session locker postgres
send locker "BEGIN; SELECT 'locked ' || nspg_guard.lockdown_role('eve', 'credential found in a public gist');"
wait_output locker "locked 0" || fail "lockdown_role(): $(output locker)"
open_session eve_late eve; eve_pid=$SESSION_PID
open_session eve_idle eve; eve_idle_pid=$SESSION_PID
send eve_idle "SELECT 'eve idle logged in';"
wait_output eve_idle "eve idle logged in" || fail "eve could not log in while the lockdown was open: $(output eve_idle)"
open_session app_late app_user; app_pid=$SESSION_PID
send eve_late "SELECT 'eve logged in';"
wait_output eve_late "eve logged in" || fail "eve could not log in while the lockdown was open: $(output eve_late)"
send locker "COMMIT; SELECT 'committed';"
wait_output locker "committed" || fail "the lockdown did not commit: $(output locker)"
send eve_late "SELECT 'eve still here';"
wait_gone "$eve_pid" && pass "eve's late session is ended" || fail "eve's late session survived the lockdown"
close_session eve_late
out=$(output eve_late)
reject "the statement did not run" "$out" "eve still here"
# its statement ends it, unless the writer's round (below) came first
if grep -q "terminating connection due to administrator command" <<<"$out"; then
    flush
    expect "ended by the writer, audited" "$(sql "SELECT count(*) FROM nspg_guard.audit_log WHERE outcome = 'session_ended' AND details->'sessions_ended' @> '[$eve_pid]'")" "1"
else
    expect "FATAL 57P01 with the reason" "$out" "FATAL:  57P01: nspg_guard: session ended: its login role \"eve\" was locked down"
    expect "audited" "$(ended_row "$eve_pid")" "eve|its login role \"eve\" was locked down|its next statement"
fi
# a late login that sends nothing (or a physical walsender, which runs no statement) is ended by
# the writer within its few-second round, audited
wait_gone "$eve_idle_pid" 100 && pass "eve's idle late session is ended by the writer" || fail "eve's idle late session survived the lockdown"
close_session eve_idle
flush
expect_line "the writer's end is audited" \
    "$(sql "SELECT count(*) FROM nspg_guard.audit_log WHERE outcome = 'session_ended' AND object_identity = 'eve' AND details->>'ended_by' = 'nspg_guard audit writer' AND details->'sessions_ended' @> '[$eve_idle_pid]'")" "1"
send app_late "SELECT 'app still here';"
close_session app_late
expect_line "another role's session stays" "$(output app_late)" "app still here"
close_session locker

finish
