#!/usr/bin/env bash
# The break-glass registry and the incident levers hold against the person holding the power
# (issue 19), each with a real second session:
#   row lock       bob_oncall holds his own request's row (BEGIN; breakglass_end(id); left open):
#                  dave_oncall's grant still expires on time, bob's expires anyway (the writer
#                  ends the holding requester's sessions), audit events still reach the table and
#                  an idle admin session past its maximum is still ended by the writer;
#   log lock       a superuser's open LOCK TABLE nspg_guard.audit_log and a user's advisory lock
#                  on the seal: a grant still expires on time, the writer keeps running, and the
#                  queued events (a refusal, the expiry) are in the table once the lock is gone;
#   failing grant  a session holds the catalog row of dave's membership (so its REVOKE cannot
#                  finish): bob's grant due at the same time still expires, the writer keeps
#                  running, dave's grant expires once the row is free;
#   duties         an approver who inherits from the requester, or whom the requester inherits
#                  from, cannot approve, deny or review (42501, audited, HINT); an approver who
#                  shares nothing can;
#   escalated      a session holding the break-glass role cannot approve, deny or review any
#                  request, cannot unlock_role(), and cannot lockdown_role() an approver, an
#                  admin or a group an approver is in (42501, audited), but can still lock down
#                  an ordinary role;
#   members        lockdown_role() of a group role revokes the memberships in it (recorded) and
#                  ends its members' sessions; unlock_role() grants them back, admin option too;
#   definer        a SECURITY DEFINER function owned by a locked-down role is refused (42501 with
#                  HINT, audited), also from a DO block, and runs again after unlock_role();
#   prepared       a locked-down role's prepared transactions are rolled back by the writer, in
#                  the audit database and in another database, audited;
#   held row       a session that is not the requester's holds a grant's registry row: the
#                  membership is revoked at expiry anyway, the row closed once free; a caller with
#                  no say (app_user) is refused before it would lock the row (red team 19b #1);
#   frozen expiry  a session holds the requester's membership row (red team 19 #1): once the
#                  grant has run out the writer ends the requester's sessions every round until
#                  it can expire it (audited once, expiry_held; one WARNING); an admin's
#                  breakglass_end() and lockdown_role() fail within seconds (55P03 with HINT)
#                  instead of waiting, breakglass_end() having ended the requester's sessions,
#                  nothing else done; once the row is free they go through;
#   noinherit      an escalated session cannot lock down a NOINHERIT approver or admin (#4);
#   incident       an incident reference with a newline, zero-width or bidi character is refused
#                  (22023 with HINT) (#6);
#   indirect       lockdown_role() ends the session of an indirect member (dave -> grp_mid ->
#                  svc_reports) that did SET ROLE svc_reports, and a superuser session SET ROLE
#                  to the locked role is ended at its next statement (#3);
#   views          while svc_reports is locked down, reading through its view (also nested in
#                  another role's view) is refused (42501 with HINT, audited); after unlock it
#                  works again (#10).
# Own cluster next to the main one: $TEST_PORT + 20.
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/assert.bash"
source "$(dirname "${BASH_SOURCE[0]}")/sessions.bash"
: "${TEST_DIR:?run me from scripts/test.sh}" "${TEST_PORT:?run me from scripts/test.sh}"
set +e

DIR=$(dirname "$TEST_DIR")/breakglass_registry
PORT=$((TEST_PORT + 20))
WORK=$(mktemp -d)
trap sessions_cleanup EXIT

# sql SQL [USER] [DB] — as USER (default postgres); output and errors (SQLSTATEs shown), never fails.
sql() {
    "$PG_BIN/psql" -X -h "$DIR" -p "$PORT" -U "${2:-postgres}" -d "${3:-postgres}" -At -v VERBOSITY=verbose -c "$1" 2>&1 || true
}
# wait_for SQL WANT [TENTHS] — polls SQL (as postgres) until it prints WANT (default up to 8 s).
wait_for() {
    local i
    for i in $(seq "${3:-80}"); do
        [ "$(sql "$1")" = "$2" ] && return 0
        sleep 0.1
    done
    return 1
}
request() { sql "SELECT nspg_guard.breakglass_request('restore orders deleted by bad deploy', '$2', 'INC-9')" "$1" | tail -n 1; }
state() { sql "SELECT state FROM nspg_guard.breakglass_requests WHERE id = $1"; }
writer_pid() { sql "SELECT pid FROM pg_stat_activity WHERE backend_type = 'nspg_guard audit writer'"; }

say "cluster with the library preloaded (port $PORT)"
start_cluster "$DIR" "$PORT" nspg_guard "max_prepared_transactions = 5"
sql "CREATE EXTENSION nspg_guard" >/dev/null
sql "$SESSION_ROLES_SQL" >/dev/null
sql "CREATE ROLE dave_oncall LOGIN" >/dev/null
writer=$(writer_pid)
[[ "$writer" =~ ^[0-9]+$ ]] && pass "the audit writer runs (pid $writer)" || fail "no audit writer: $writer"

say "row lock: a requester holding its own request's row freezes nothing"
sql "ALTER SYSTEM SET nspg_guard.admin_session_max_duration = '3s'" >/dev/null
sql "SELECT pg_reload_conf()" >/dev/null
sleep 1
bob=$(request bob_oncall '3 seconds')
dave=$(request dave_oncall '4 seconds')
sql "SELECT nspg_guard.breakglass_approve($bob), nspg_guard.breakglass_approve($dave)" carol_approver >/dev/null
expect_line "both grants are active" "$(sql "SELECT string_agg(state, ',') FROM nspg_guard.breakglass_requests WHERE id IN ($bob, $dave)")" "active,active"
open_session bob_hold bob_oncall; hold_pid=$SESSION_PID
send bob_hold "BEGIN; SELECT 'holding ' || nspg_guard.breakglass_end($bob);"
wait_output bob_hold "holding" && pass "bob holds his request's row in an open transaction" || fail "bob's breakglass_end: $(output bob_hold)"
open_session idle_alice alice_admin; alice_pid=$SESSION_PID
sql "SELECT nspg_guard.breakglass_approve($dave)" app_user >/dev/null   # a refusal, queued for the writer
wait_for "SELECT state FROM nspg_guard.breakglass_requests WHERE id = $dave" expired 70 \
    && pass "dave's grant expired on time while bob's row is held" || fail "dave's grant is $(state "$dave") 7 s after approval"
expect_line "dave lost the break-glass role" "$(sql "SELECT pg_has_role('dave_oncall', 'ns_breakglass_admin', 'MEMBER')")" "f"
wait_gone "$alice_pid" 60 && pass "the idle admin session past its maximum was ended by the writer" || fail "alice's idle session (pid $alice_pid) is still there"
wait_for "SELECT count(*) FROM nspg_guard.audit_log WHERE class = 'denied' AND \"session_user\" = 'app_user'" 1 50 \
    && pass "the queued refusal reached the audit table" || fail "the refusal is not in the audit table"
wait_gone "$hold_pid" 50 && pass "bob's holding session was ended (his grant had run out)" || fail "bob's holding session (pid $hold_pid) is still there"
wait_for "SELECT state FROM nspg_guard.breakglass_requests WHERE id = $bob" expired 50 \
    && pass "bob's grant expired once the row was free" || fail "bob's grant is $(state "$bob")"
expect_line "bob lost the break-glass role" "$(sql "SELECT pg_has_role('bob_oncall', 'ns_breakglass_admin', 'MEMBER')")" "f"
close_session bob_hold; close_session idle_alice
sql "ALTER SYSTEM RESET nspg_guard.admin_session_max_duration" >/dev/null
sql "SELECT pg_reload_conf()" >/dev/null
sleep 1

say "held by someone else: the power ends on time anyway; a caller with no say never touches the row"
dave2=$(request dave_oncall '3 seconds')
sql "SELECT nspg_guard.breakglass_approve($dave2)" carol_approver >/dev/null
open_session row_holder postgres
send row_holder "BEGIN; SELECT 'row held ' || id FROM nspg_guard.breakglass_requests WHERE id = $dave2 FOR UPDATE;"
wait_output row_holder "row held $dave2" && pass "a session that is not the requester's holds the request's row" || fail "holder: $(output row_holder)"
out=$(sql "SELECT nspg_guard.breakglass_end($dave2)" app_user)
expect "a caller with no say is refused before it would lock the row (42501, no lock wait)" "$out" "ERROR:  42501: nspg_guard: break-glass request $dave2 cannot be ended by role \"app_user\""
reject "… and never waited for the row" "$out" "55P03"
wait_for "SELECT pg_has_role('dave_oncall', 'ns_breakglass_admin', 'MEMBER')::text || ',' || state FROM nspg_guard.breakglass_requests WHERE id = $dave2" "false,active" 60 \
    && pass "the grant ran out: the membership is revoked while the row is still held" \
    || fail "dave's membership outlived the grant while its row was held: $(sql "SELECT pg_has_role('dave_oncall', 'ns_breakglass_admin', 'MEMBER'), state FROM nspg_guard.breakglass_requests WHERE id = $dave2")"
send row_holder "COMMIT;"
close_session row_holder
wait_for "SELECT state FROM nspg_guard.breakglass_requests WHERE id = $dave2" expired 50 \
    && pass "the request is closed once the row is free" || fail "dave's request is $(state "$dave2")"

say "log lock: LOCK TABLE on the audit log and a held seal lock block neither expiry nor the writer"
denied_before=$(sql "SELECT nspg_guard.audit_flush(20000); SELECT count(*) FROM nspg_guard.audit_log WHERE class = 'denied' AND \"session_user\" = 'app_user'" | tail -n 1)
bob=$(request bob_oncall '2 seconds')
sql "SELECT nspg_guard.breakglass_approve($bob)" carol_approver >/dev/null
open_session lock_log postgres
send lock_log "BEGIN; LOCK TABLE nspg_guard.audit_log; SELECT 'log locked';"
open_session seal_hold app_user
send seal_hold "SELECT 'seal ' || pg_advisory_lock(hashtext('nspg_guard.audit_seal'))::text;"
wait_output lock_log "log locked" && pass "a superuser session holds LOCK TABLE nspg_guard.audit_log" || fail "LOCK TABLE: $(output lock_log)"
wait_output seal_hold "seal" && pass "app_user holds the seal's advisory lock" || fail "advisory lock: $(output seal_hold)"
sql "SELECT nspg_guard.breakglass_approve($bob)" app_user >/dev/null   # another queued refusal
wait_for "SELECT state FROM nspg_guard.breakglass_requests WHERE id = $bob" expired 60 \
    && pass "bob's grant expired on time while the log is locked" || fail "bob's grant is $(state "$bob") 6 s after approval"
expect_line "the writer is still the same process" "$(writer_pid)" "$writer"
send lock_log "COMMIT;"
close_session lock_log; close_session seal_hold
wait_for "SELECT count(*) FROM nspg_guard.audit_log WHERE class = 'denied' AND \"session_user\" = 'app_user'" $((denied_before + 1)) 50 \
    && pass "the refusal queued meanwhile reached the table after the lock" || fail "the second refusal never arrived"
wait_for "SELECT count(*) FROM nspg_guard.audit_log WHERE class = 'breakglass' AND outcome = 'expired' AND details->>'request_id' = '$bob'" 1 50 \
    && pass "the expiry's own audit event, queued while the log was locked, arrived" || fail "no expired event for request $bob"

say "failing grant: one grant whose REVOKE cannot finish stops no other"
dave=$(request dave_oncall '3 seconds')
bob=$(request bob_oncall '3 seconds')
sql "SELECT nspg_guard.breakglass_approve($dave), nspg_guard.breakglass_approve($bob)" carol_approver >/dev/null
open_session catalog_hold postgres
send catalog_hold "BEGIN; SELECT 'held ' || count(*) FROM (SELECT FROM pg_catalog.pg_auth_members WHERE member = 'dave_oncall'::regrole FOR UPDATE) m;"
wait_output catalog_hold "held 1" && pass "a session holds dave's membership row" || fail "catalog hold: $(output catalog_hold)"
wait_for "SELECT state FROM nspg_guard.breakglass_requests WHERE id = $bob" expired 70 \
    && pass "bob's grant expired on time" || fail "bob's grant is $(state "$bob") 7 s after approval"
expect_line "dave's grant is still active (its REVOKE waits for the row)" "$(state "$dave")" "active"
expect_line "the writer is still the same process" "$(writer_pid)" "$writer"
expect "the failure is a WARNING in the server log" "$(cat "$DIR/server.log")" "break-glass request $dave ran out but cannot be closed yet"
send catalog_hold "ROLLBACK;"
close_session catalog_hold
wait_for "SELECT state FROM nspg_guard.breakglass_requests WHERE id = $dave" expired 50 \
    && pass "dave's grant expired once the row was free" || fail "dave's grant is $(state "$dave")"

say "separation of duties: nobody who shares the requester's privileges decides"
sql "CREATE ROLE erin_approver LOGIN IN ROLE ns_breakglass_approver; GRANT bob_oncall TO erin_approver;
     CREATE ROLE frank_approver LOGIN IN ROLE ns_breakglass_approver; CREATE ROLE gina_oncall LOGIN IN ROLE frank_approver;
     CREATE ROLE hank_oncall LOGIN IN ROLE ns_breakglass_approver" >/dev/null
bob=$(request bob_oncall '1 minute')
out=$(sql "SELECT nspg_guard.breakglass_approve($bob)" erin_approver)
expect "an approver who inherits from the requester cannot approve (42501)" "$out" "ERROR:  42501: nspg_guard: break-glass request $bob cannot be approved by role \"erin_approver\""
expect "... and is told why" "$out" "shares the requester's privileges"
expect "... with a HINT" "$out" "HINT:  Another person, a member of an approver role who shares no role membership with the requester"
out=$(sql "SELECT nspg_guard.breakglass_deny($bob, 'not needed for this incident')" erin_approver)
expect "nor deny (42501)" "$out" "ERROR:  42501: nspg_guard: break-glass request $bob cannot be denied by role \"erin_approver\""
out=$(sql "SELECT nspg_guard.breakglass_review($dave, 'looked at what was done')" erin_approver)
reject "erin may review dave's request (she shares nothing with dave)" "$out" "ERROR"
gina=$(request gina_oncall '1 minute')
out=$(sql "SELECT nspg_guard.breakglass_approve($gina)" frank_approver)
expect "an approver the requester inherits from cannot approve (42501)" "$out" "ERROR:  42501: nspg_guard: break-glass request $gina cannot be approved by role \"frank_approver\""
expect_line "both refusals are audited (class denied)" \
    "$(sql "SELECT nspg_guard.audit_flush(20000); SELECT count(*) FROM nspg_guard.audit_log WHERE class = 'denied' AND \"session_user\" IN ('erin_approver', 'frank_approver') AND command_tag LIKE 'BREAK-GLASS%'" | tail -n 1)" "3"
bob_done=$(sql "SELECT max(id) FROM nspg_guard.breakglass_requests WHERE requester = 'bob_oncall' AND state = 'expired'")
out=$(sql "SELECT nspg_guard.breakglass_review($bob_done, 'looked at what was done')" erin_approver)
expect "nor review the requester's request (42501)" "$out" "cannot be reviewed by role \"erin_approver\""
expect_line "the requests are still undecided" "$(sql "SELECT string_agg(state, ',' ORDER BY id) FROM nspg_guard.breakglass_requests WHERE id IN ($bob, $gina)")" "requested,requested"

say "escalated: the break-glass role reaches neither the decisions nor the levers against its overseers"
hank=$(request hank_oncall '1 minute')
sql "SELECT nspg_guard.breakglass_approve($hank)" carol_approver >/dev/null
expect_line "hank_oncall holds the break-glass role" "$(sql "SELECT pg_has_role('hank_oncall', 'ns_breakglass_admin', 'MEMBER')")" "t"
out=$(sql "SELECT nspg_guard.breakglass_approve($gina)" hank_oncall)
expect "an escalated approver cannot approve another request (42501)" "$out" "ERROR:  42501: nspg_guard: break-glass request $gina cannot be approved by role \"hank_oncall\""
expect "... told why" "$out" "A session holding the break-glass role cannot decide or review break-glass requests"
expect "nor deny" "$(sql "SELECT nspg_guard.breakglass_deny($gina, 'not needed for this incident')" hank_oncall)" "ERROR:  42501"
expect "nor review" "$(sql "SELECT nspg_guard.breakglass_review($bob_done, 'looked at what was done')" hank_oncall)" "ERROR:  42501"
out=$(sql "SELECT nspg_guard.lockdown_role('carol_approver', 'approver account looks compromised')" hank_oncall)
expect "an escalated session cannot lock down an approver (42501)" "$out" "ERROR:  42501: nspg_guard: lockdown_role() of \"carol_approver\" denied for role \"hank_oncall\""
expect "... with a HINT" "$out" "HINT:  Break-glass access does not reach the incident levers"
expect "nor an admin" "$(sql "SELECT nspg_guard.lockdown_role('alice_admin', 'admin account looks compromised')" hank_oncall)" "ERROR:  42501"
sql "CREATE ROLE ns_oncall_team NOLOGIN; GRANT ns_oncall_team TO carol_approver" >/dev/null
expect "nor a group an approver is a member of" "$(sql "SELECT nspg_guard.lockdown_role('ns_oncall_team', 'team account looks compromised')" hank_oncall)" "ERROR:  42501"
expect_line "it can lock down an ordinary role" "$(sql "SELECT nspg_guard.lockdown_role('app_user', 'credentials leaked in CI logs')" hank_oncall)" "0"
out=$(sql "SELECT nspg_guard.unlock_role('app_user', 'password rotated by platform team')" hank_oncall)
expect "but cannot unlock one (42501)" "$out" "ERROR:  42501: nspg_guard: unlock_role() of \"app_user\" denied for role \"hank_oncall\""
expect_line "the refusals are audited (class denied)" \
    "$(sql "SELECT nspg_guard.audit_flush(20000); SELECT count(*) FROM nspg_guard.audit_log WHERE class = 'denied' AND \"session_user\" = 'hank_oncall'" | tail -n 1)" "7"
expect_line "carol_approver is not locked down" "$(sql "SELECT count(*) FROM nspg_guard.role_lockdowns WHERE role_name = 'carol_approver'")" "0"
reject "a plain admin unlocks app_user" "$(sql "SELECT nspg_guard.unlock_role('app_user', 'password rotated by platform team')" alice_admin)" "ERROR"
out=$(sql "SELECT nspg_guard.breakglass_approve($gina)" carol_approver)
reject "an approver who shares nothing with gina approves her request" "$out" "ERROR"
sql "SELECT nspg_guard.breakglass_end($hank), nspg_guard.breakglass_end($gina), nspg_guard.breakglass_end($bob)" >/dev/null

say "members: lockdown suspends the memberships in the role and restores them on unlock"
sql "CREATE ROLE ns_app_rw NOLOGIN; CREATE ROLE jack LOGIN; GRANT ns_app_rw TO jack WITH ADMIN OPTION;
     CREATE TABLE public.secrets (x int); INSERT INTO public.secrets VALUES (1), (2); ALTER TABLE public.secrets OWNER TO ns_app_rw;
     CREATE FUNCTION public.count_secrets() RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS 'SELECT count(*) FROM public.secrets';
     ALTER FUNCTION public.count_secrets() OWNER TO ns_app_rw" >/dev/null
expect_line "app_user runs ns_app_rw's SECURITY DEFINER function" "$(sql "SELECT public.count_secrets()" app_user)" "2"
open_session jack_live jack; jack_pid=$SESSION_PID
out=$(sql "SELECT nspg_guard.lockdown_role('ns_app_rw', 'service credentials leaked, INC-12')" alice_admin)
expect_line "lockdown_role() of the group ends its member's session" "$out" "1"
wait_gone "$jack_pid" 30 && pass "jack's live session is gone" || fail "jack's session (pid $jack_pid) is still there"
close_session jack_live
expect_line "jack is no longer a member" "$(sql "SELECT count(*) FROM pg_auth_members WHERE roleid = 'ns_app_rw'::regrole")" "0"
expect_line "the suspended membership is recorded, with its admin option" \
    "$(sql "SELECT m->>'name', m->>'admin_option' FROM nspg_guard.role_lockdowns, jsonb_array_elements(suspended_members) m WHERE role_name = 'ns_app_rw' AND unlocked_at IS NULL")" "jack|true"
out=$(sql "SELECT public.count_secrets()" app_user)
expect "its SECURITY DEFINER function is refused (42501)" "$out" "ERROR:  42501: nspg_guard: function public.count_secrets() may not run: its owner \"ns_app_rw\" is locked down"
expect "... with a HINT" "$out" "HINT:  See nspg_guard.role_lockdowns"
expect "also from a DO block" "$(sql "DO \$\$ BEGIN PERFORM public.count_secrets(); END \$\$" app_user)" "ERROR:  42501"
expect_line "the refusal is audited (class denied)" \
    "$(sql "SELECT nspg_guard.audit_flush(20000); SELECT count(*) > 0 FROM nspg_guard.audit_log WHERE class = 'denied' AND command_tag = 'SECURITY DEFINER CALL'" | tail -n 1)" "t"
reject "unlock_role() lifts it" "$(sql "SELECT nspg_guard.unlock_role('ns_app_rw', 'credentials rotated after INC-12')" alice_admin)" "ERROR"
expect_line "jack is a member again, with the admin option" "$(sql "SELECT admin_option FROM pg_auth_members WHERE roleid = 'ns_app_rw'::regrole AND member = 'jack'::regrole")" "t"
expect_line "the function runs again" "$(sql "SELECT public.count_secrets()" app_user)" "2"

say "prepared: a locked-down role's prepared transactions are rolled back, in every database"
sql "CREATE ROLE kim LOGIN; CREATE TABLE public.kim_t (x int); GRANT INSERT, SELECT ON public.kim_t TO kim" >/dev/null
sql "CREATE DATABASE otherdb" >/dev/null
sql "CREATE TABLE public.kim_t (x int); GRANT INSERT ON public.kim_t TO kim" postgres otherdb >/dev/null
sql "BEGIN; INSERT INTO public.kim_t VALUES (1); PREPARE TRANSACTION 'kim_here';" kim >/dev/null
sql "BEGIN; INSERT INTO public.kim_t VALUES (1); PREPARE TRANSACTION 'kim_there';" kim otherdb >/dev/null
expect_line "kim has two prepared transactions" "$(sql "SELECT count(*) FROM pg_prepared_xacts WHERE owner = 'kim'")" "2"
sql "SELECT nspg_guard.lockdown_role('kim', 'laptop stolen, INC-13')" alice_admin >/dev/null
wait_for "SELECT count(*) FROM pg_prepared_xacts WHERE owner = 'kim'" 0 100 \
    && pass "both were rolled back by the writer" || fail "kim's prepared transactions: $(sql "SELECT gid, database FROM pg_prepared_xacts")"
expect_line "nothing of them was committed" "$(sql "SELECT count(*) FROM public.kim_t")" "0"
expect_line "the rollback here is audited" \
    "$(sql "SELECT details->>'gid' FROM nspg_guard.audit_log WHERE class = 'admin' AND outcome = 'prepared_rolled_back'")" "kim_here"
expect "the one in the other database is in the server log" "$(cat "$DIR/server.log")" "prepared_rolled_back"
expect_line "the writer is still the same process" "$(writer_pid)" "$writer"

say "frozen expiry: a grant whose REVOKE cannot finish keeps its requester out meanwhile"
# another session holds the catalog row the expiry's REVOKE needs (the red team did it as the
# requester, with an escalated REVOKE inside a DO block, now refused while escalated)
sql "CREATE SCHEMA orders; CREATE TABLE orders.secrets (id int, note text); INSERT INTO orders.secrets VALUES (1, 'card 4111');
     GRANT USAGE ON SCHEMA orders TO ns_breakglass_admin; GRANT SELECT ON orders.secrets TO ns_breakglass_admin" >/dev/null
hold_row() {
    open_session "$1" postgres
    send "$1" "BEGIN; SELECT 'held ' || count(*) FROM (SELECT FROM pg_catalog.pg_auth_members WHERE member = 'bob_oncall'::regrole FOR UPDATE) m;"
    wait_output "$1" "held 1" && pass "a session holds bob's membership row" || fail "catalog hold: $(output "$1")"
}
bob=$(request bob_oncall '4 seconds')
sql "SELECT nspg_guard.breakglass_approve($bob)" carol_approver >/dev/null
open_session bob_reader bob_oncall; reader_pid=$SESSION_PID
send bob_reader "SET ROLE ns_breakglass_admin; SELECT 'read ' || count(*) FROM orders.secrets;"
wait_output bob_reader "read 1" && pass "bob reads orders.secrets with the break-glass role" || fail "reader: $(output bob_reader)"
hold_row bob_row1
wait_gone "$reader_pid" 100 && pass "bob's reading session was ended once the grant ran out, its REVOKE still blocked" || fail "bob's reader (pid $reader_pid) is still there"
close_session bob_reader
expect_line "the grant is still active (its REVOKE waits for the row)" "$(state "$bob")" "active"
open_session bob_again bob_oncall; again_pid=$SESSION_PID
wait_gone "$again_pid" 30 && pass "a new session of bob is ended in the next round" || fail "bob's new session (pid $again_pid) is still there"
close_session bob_again
sleep 2
expect_line "the held expiry is audited once, not every round" \
    "$(sql "SELECT nspg_guard.audit_flush(20000); SELECT count(*) FROM nspg_guard.audit_log WHERE class = 'breakglass' AND outcome = 'expiry_held' AND details->>'request_id' = '$bob'" | tail -n 1)" "1"
expect_line "... and warned once in the server log" "$(grep -c "break-glass request $bob ran out but cannot be closed yet" "$DIR/server.log")" "1"
send bob_row1 "ROLLBACK;"
close_session bob_row1
wait_for "SELECT state FROM nspg_guard.breakglass_requests WHERE id = $bob" expired 50 \
    && pass "the grant expired once the row was free" || fail "bob's grant is $(state "$bob")"

say "frozen expiry: an admin's breakglass_end() and lockdown_role() do not wait on a held membership row"
bob=$(request bob_oncall '10 minutes')
sql "SELECT nspg_guard.breakglass_approve($bob)" carol_approver >/dev/null
open_session bob_reader2 bob_oncall; reader_pid=$SESSION_PID
hold_row bob_row2
started=$(date +%s)
out=$(timeout 15 "$PG_BIN/psql" -X -h "$DIR" -p "$PORT" -U alice_admin -d postgres -At -v VERBOSITY=verbose -c "SELECT nspg_guard.breakglass_end($bob)" 2>&1)
took=$(( $(date +%s) - started ))
expect "breakglass_end() by an admin fails with 55P03 instead of waiting" "$out" "ERROR:  55P03: nspg_guard: breakglass_end() did not get a lock within 2000 ms"
expect "... with a HINT" "$out" "HINT:  A session holds a lock the end needs"
[ "$took" -le 6 ] && pass "... within seconds ($took s)" || fail "breakglass_end() took $took s"
wait_gone "$reader_pid" 30 && pass "... having ended the requester's sessions" || fail "bob's session (pid $reader_pid) is still there"
close_session bob_reader2
expect_line "nothing else of it was done: the request is still active" "$(state "$bob")" "active"
started=$(date +%s)
out=$(timeout 15 "$PG_BIN/psql" -X -h "$DIR" -p "$PORT" -U alice_admin -d postgres -At -v VERBOSITY=verbose -c "SELECT nspg_guard.lockdown_role('bob_oncall', 'laptop stolen, INC-14')" 2>&1)
took=$(( $(date +%s) - started ))
expect "lockdown_role() fails with 55P03 instead of waiting" "$out" "ERROR:  55P03: nspg_guard: lockdown_role() did not get a lock within 2000 ms"
expect "... with a HINT" "$out" "HINT:  A session holds a lock the lockdown needs"
[ "$took" -le 6 ] && pass "... within seconds ($took s)" || fail "lockdown_role() took $took s"
expect_line "... and left bob able to log in (nothing half-done)" "$(sql "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'bob_oncall'")" "t"
send bob_row2 "ROLLBACK;"
close_session bob_row2
reject "once the row is free, lockdown_role() goes through" "$(sql "SELECT nspg_guard.lockdown_role('bob_oncall', 'laptop stolen, INC-14')" alice_admin)" "ERROR"
expect_line "bob's grant ended with it" "$(state "$bob")" "ended"
sql "SELECT nspg_guard.unlock_role('bob_oncall', 'laptop recovered, INC-14 closed')" alice_admin >/dev/null

say "noinherit: an escalated session cannot lock down a NOINHERIT approver or admin"
sql "CREATE ROLE gina_noinherit LOGIN NOINHERIT IN ROLE ns_breakglass_approver; CREATE ROLE nia_noinherit LOGIN NOINHERIT IN ROLE ns_admin;
     CREATE ROLE lead_group NOLOGIN; CREATE ROLE mid_group NOLOGIN IN ROLE lead_group; GRANT mid_group TO gina_noinherit" >/dev/null
hank=$(request hank_oncall '1 minute')
sql "SELECT nspg_guard.breakglass_approve($hank)" carol_approver >/dev/null
out=$(sql "SELECT nspg_guard.lockdown_role('gina_noinherit', 'lever test by escalated session')" hank_oncall)
expect "a NOINHERIT approver cannot be locked down by an escalated session (42501)" "$out" "ERROR:  42501: nspg_guard: lockdown_role() of \"gina_noinherit\" denied for role \"hank_oncall\""
expect "nor a NOINHERIT admin" "$(sql "SELECT nspg_guard.lockdown_role('nia_noinherit', 'lever test by escalated session')" hank_oncall)" "ERROR:  42501"
expect "nor a group such an approver is an indirect member of" "$(sql "SELECT nspg_guard.lockdown_role('lead_group', 'lever test by escalated session')" hank_oncall)" "ERROR:  42501"
expect_line "none of them is locked down" "$(sql "SELECT count(*) FROM nspg_guard.role_lockdowns WHERE role_name IN ('gina_noinherit', 'nia_noinherit', 'lead_group')")" "0"
sql "SELECT nspg_guard.breakglass_end($hank)" >/dev/null

say "incident: the incident reference is plain text"
out=$(sql "SELECT nspg_guard.breakglass_request('a b c', '1 minute', E'INC-1\n2026-12-01|bob|approved|forged')" app_user)
expect "a newline in the incident reference is refused (22023)" "$out" "ERROR:  22023: nspg_guard: invalid break-glass request: the incident reference contains a control, invisible or direction-changing character (U+000A)"
expect "... with a HINT" "$out" "HINT:  Say why in a few words"
expect "a zero-width or right-to-left override is refused" "$(sql "SELECT nspg_guard.breakglass_request('deny note test request', '5 minutes', E'INC\u200B\u202E-32')" app_user)" "ERROR:  22023"
expect_line "no request was filed" "$(sql "SELECT count(*) FROM nspg_guard.breakglass_requests WHERE requester = 'app_user'")" "0"

say "indirect: lockdown reaches sessions acting as the locked role"
sql "CREATE ROLE svc_reports LOGIN; CREATE ROLE grp_mid NOLOGIN IN ROLE svc_reports; CREATE ROLE dave LOGIN IN ROLE grp_mid;
     CREATE TABLE public.rep (x int); ALTER TABLE public.rep OWNER TO svc_reports" >/dev/null
open_session dave_live dave; dave_pid=$SESSION_PID
send dave_live "SET ROLE svc_reports; SELECT 'now ' || current_user;"
wait_output dave_live "now svc_reports" && pass "dave acts as svc_reports" || fail "dave: $(output dave_live)"
open_session super_live postgres; super_pid=$SESSION_PID
send super_live "SET ROLE svc_reports; SELECT 'now ' || current_user;"
wait_output super_live "now svc_reports" && pass "a superuser session acts as svc_reports" || fail "super: $(output super_live)"
sql "SELECT nspg_guard.lockdown_role('svc_reports', 'credential leak in CI logs INC-88')" alice_admin >/dev/null
wait_gone "$dave_pid" 30 && pass "the indirect member's session (dave -> grp_mid -> svc_reports) was ended" || fail "dave's session (pid $dave_pid) is still there"
send dave_live "INSERT INTO public.rep VALUES (1);"
close_session dave_live
expect_line "dave inserted nothing" "$(sql "SELECT count(*) FROM public.rep")" "0"
send super_live "SELECT 'still ' || current_user;"
wait_gone "$super_pid" 30 && pass "the superuser session SET ROLE to it ended at its next statement" || fail "super session (pid $super_pid) is still there"
close_session super_live
expect "... told why" "$(output super_live)" "acts as role \"svc_reports\", which is locked down"
reject "... and ran nothing more" "$(output super_live)" "still svc_reports"

say "views: a locked-down role's views do not lend its rights"
sql "SELECT nspg_guard.unlock_role('svc_reports', 'leak contained, INC-88')" alice_admin >/dev/null
sql "INSERT INTO public.rep VALUES (7); CREATE VIEW public.rep_v AS SELECT * FROM public.rep; ALTER VIEW public.rep_v OWNER TO svc_reports;
     GRANT SELECT ON public.rep_v TO app_user, grp_mid;
     CREATE ROLE view_maker NOLOGIN; CREATE VIEW public.rep_vv AS SELECT * FROM public.rep_v; ALTER VIEW public.rep_vv OWNER TO view_maker;
     GRANT SELECT ON public.rep_v TO view_maker; GRANT SELECT ON public.rep_vv TO app_user" >/dev/null
expect_line "app_user reads through svc_reports' view" "$(sql "SELECT count(*) FROM public.rep_v" app_user)" "1"
sql "SELECT nspg_guard.lockdown_role('svc_reports', 'credential leak again, INC-89')" alice_admin >/dev/null
out=$(sql "SELECT count(*) FROM public.rep_v" app_user)
expect "reading through its view is refused (42501)" "$out" "ERROR:  42501: nspg_guard: public.rep may not be reached through a view of \"svc_reports\": that role is locked down"
expect "... with a HINT" "$out" "HINT:  See nspg_guard.role_lockdowns"
expect "also through another role's view over it" "$(sql "SELECT count(*) FROM public.rep_vv" app_user)" "ERROR:  42501"
expect "also inside a SQL function and a DO block" "$(sql "DO \$\$ BEGIN PERFORM count(*) FROM public.rep_v; END \$\$" app_user)" "ERROR:  42501"
expect_line "the refusal is audited (class denied)" \
    "$(sql "SELECT nspg_guard.audit_flush(20000); SELECT count(*) > 0 FROM nspg_guard.audit_log WHERE class = 'denied' AND command_tag = 'VIEW ACCESS'" | tail -n 1)" "t"
expect_line "the owner's table itself is untouched for a superuser" "$(sql "SELECT count(*) FROM public.rep")" "1"
sql "SELECT nspg_guard.unlock_role('svc_reports', 'rotated, INC-89 closed')" alice_admin >/dev/null
expect_line "after unlock_role() the view works again" "$(sql "SELECT count(*) FROM public.rep_v" app_user)" "1"

finish
