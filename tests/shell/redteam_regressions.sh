#!/usr/bin/env bash
# Regression tests for the outside red team's findings on issue 10 that need several sessions,
# time passing or the wire protocol (the single-session ones are tests/regress/sql/redteam_findings.sql).
# Admin caps are small here: admin_statement_timeout 2s, admin_idle_in_transaction_timeout 2s,
# admin_idle_session_timeout 3s.
#   deferred   (finding 1) a deferred constraint trigger fired at COMMIT of an admin's INSERT
#              assigns set_config('statement_timeout', '10h') and set_config('idle_session_timeout',
#              '0') in PL/pgSQL: the next statements SHOW the caps, a pg_sleep(4) is cancelled (57014)
#              after about 2 s, and the session left idle after that commit ends at its 3 s timeout;
#   fastpath   (finding 2) the protocol's FunctionCall ('F', `call` in tests/pgwire) of
#              pg_catalog.set_config (oid 2078) by an admin: idle_session_timeout 0 is capped at the
#              next statement, and a session left idle is ended at the cap (in a transaction block,
#              idle_in_transaction_session_timeout 0: ended by the audit writer); statement_timeout
#              10h does not let a pg_sleep(4) run; an escalated session's fastpath call is one
#              `statement` event (command_tag FASTPATH FUNCTION CALL); set_config('role', …) by
#              fastpath in an escalated session: in a transaction block the next SELECT is refused
#              (42501) before any row is sent; alone, the call is refused as its transaction commits;
#   portal     (finding 3) a portal fetched in several Execute messages whose rows call
#              set_config('statement_timeout', '0'): the next Execute runs capped (its sleeping row
#              is cancelled); rows setting idle_in_transaction_session_timeout to 0, the portal left
#              open: the session idle in its transaction is ended by the audit writer;
#   bind       (finding 4) Bind without Execute of INSERT … VALUES (f()), f IMMUTABLE PL/pgSQL setting
#              idle_session_timeout to 0 when the planner folds it (an INSERT's portal, unlike a
#              SELECT's, is not started in Bind): the cap is back when Sync commits (NOTICE) and the
#              idle session ends at 3 s; in a transaction block (idle_in_transaction_session_timeout)
#              the audit writer ends it and says why;
#   role_opt   (finding 5) an escalated session started with -c role=<a role the break-glass role is
#              a member of>: its first statement is refused (42501, audited) and returns no row of a
#              table whose rows only that role may see (row-level security);
#   bg_events  (finding 6) an escalated INSERT whose deferred constraint trigger runs statements at
#              COMMIT, and SELECT f() with f IMMUTABLE PL/pgSQL running statements when folded at plan
#              time: exactly one `statement` event each;
#   secdef     (finding 8) an app role calling a superuser-owned SECURITY DEFINER function keeps its own
#              timeouts (1h) and is not ended by admin_session_max_duration (3s here), idle or not.
# The idle cases run side by side (about 5 s in all).
# Own cluster next to the main one: $TEST_PORT + 12.
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/assert.bash"
: "${TEST_DIR:?run me from scripts/test.sh}" "${TEST_PORT:?run me from scripts/test.sh}"

DIR=$(dirname "$TEST_DIR")/redteam_regressions
PORT=$((TEST_PORT + 12))
WORK=$(mktemp -d)
trap 'stop_cluster "$DIR"; rm -rf "$WORK"' EXIT
source "$(dirname "${BASH_SOURCE[0]}")/wire.bash"

# no_row_before NAME OUTPUT LINE — OUTPUT has LINE, and no ROW line before the first one.
no_row_before() {
    local before
    before=$(awk -v l="$3" '$0 == l { exit } { print }' <<<"$2" | grep -c '^ROW ' || true)
    if grep -qxF -- "$3" <<<"$2" && [ "$before" = 0 ]; then pass "$1"; else fail "$1: expected \"$3\" with no ROW before it in:"; show "$2"; fi
}
# events APP CLASS OUTCOME — "command_tag|statement" of APP's audit rows, in order.
events() {
    sql "SELECT coalesce(command_tag, '-') || '|' || coalesce(statement, '-') FROM nspg_guard.audit_log
          WHERE application_name = '$1' AND class = '$2' AND outcome = '$3' ORDER BY id"
}
pid_of() { sed -n 's/^PID //p' <<<"$1" | head -n 1; }
# ended_how PID — how the server ended backend PID, from its log: "idle timeout", "idle in
# transaction timeout", "terminated" (pg_terminate_backend or the audit writer), or "not ended".
ended_how() {
    local log
    log=$(grep -F "[$1] " "$DIR/server.log" || true)
    if grep -q 'terminating connection due to idle-session timeout' <<<"$log"; then echo "idle timeout"
    elif grep -q 'terminating connection due to idle-in-transaction timeout' <<<"$log"; then echo "idle in transaction timeout"
    elif grep -q 'terminating connection due to administrator command' <<<"$log"; then echo "terminated"
    else echo "not ended"; fi
}
# writer_end PID — the audit writer's session_ended row for backend PID: "reason|ended_by" (empty: none).
writer_end() {
    flush
    sql "SELECT reason || '|' || (details->>'ended_by') FROM nspg_guard.audit_log
          WHERE class = 'admin' AND outcome = 'session_ended' AND backend_pid = $1 ORDER BY id"
}
# timed_start; …; timed_under NAME SECONDS — what ran in between took less than SECONDS.
timed_start() { STARTED=$(date +%s.%N); }
timed_under() {
    local took
    took=$(awk -v a="$STARTED" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    if awk -v t="$took" -v l="$2" 'BEGIN { exit !(t < l) }'; then pass "$1 (took ${took}s)"; else fail "$1: took ${took}s, not under $2 s"; fi
}
# idle_case NAME USER < script — runs the script in the background (output in $WORK/NAME.out).
idle_case() {
    local script
    script=$(cat)
    wire "$2" "$1" <<<"$script" >"$WORK/$1.out" &
}
set_system() { # set_system NAME VALUE — ALTER SYSTEM + reload, waiting until a new session sees it
    local i
    sql "ALTER SYSTEM SET $1 = '$2'" >/dev/null
    sql "SELECT pg_reload_conf()" >/dev/null
    for i in $(seq 50); do
        [ "$(sql "SHOW $1")" = "$2" ] && return 0
        sleep 0.1
    done
    echo "$1 never became $2"
}
cases=0

say "cluster with the library preloaded (port $PORT), admin caps 2s / 2s / 3s"
start_cluster "$DIR" "$PORT" nspg_guard
sql "CREATE EXTENSION nspg_guard" >/dev/null
out=$(sql "
$SESSION_ROLES_SQL;
CREATE ROLE rt_secret_reader NOLOGIN;
GRANT rt_secret_reader TO ns_breakglass_admin;
CREATE SCHEMA rt;
GRANT USAGE ON SCHEMA rt TO PUBLIC;
-- finding 1: a deferred constraint trigger lifting the timeouts at COMMIT
CREATE FUNCTION rt.lift_at_commit() RETURNS trigger LANGUAGE plpgsql AS \$f\$
DECLARE x text;
BEGIN
    x := pg_catalog.set_config('statement_timeout', '10h', false);
    x := pg_catalog.set_config('idle_session_timeout', '0', false);
    RETURN NULL;
END \$f\$;
CREATE TABLE rt.lifted (id int);
CREATE CONSTRAINT TRIGGER lift_at_commit AFTER INSERT ON rt.lifted DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION rt.lift_at_commit();
GRANT INSERT ON rt.lifted TO PUBLIC;
-- finding 4: an IMMUTABLE function that lifts idle_session_timeout when the planner folds it
CREATE FUNCTION rt.lift_idle_when_planned() RETURNS int LANGUAGE plpgsql IMMUTABLE AS \$f\$
DECLARE x text;
BEGIN
    x := pg_catalog.set_config('idle_session_timeout', '0', false);
    RETURN 1;
END \$f\$;
CREATE FUNCTION rt.lift_idle_in_transaction_when_planned() RETURNS int LANGUAGE plpgsql IMMUTABLE AS \$f\$
DECLARE x text;
BEGIN
    x := pg_catalog.set_config('idle_in_transaction_session_timeout', '0', false);
    RETURN 1;
END \$f\$;
-- (an INSERT is planned in Bind but, unlike a SELECT, not started before Execute)
CREATE TABLE rt.sink (id int);
GRANT INSERT ON rt.sink TO PUBLIC;
-- finding 5: rows only rt_secret_reader may see
CREATE TABLE rt.secrets (secret text);
INSERT INTO rt.secrets VALUES ('the launch codes');
ALTER TABLE rt.secrets ENABLE ROW LEVEL SECURITY;
CREATE POLICY only_readers ON rt.secrets USING (current_user = 'rt_secret_reader');
GRANT SELECT ON rt.secrets TO ns_breakglass_admin, rt_secret_reader;
-- finding 6: statements run at COMMIT by a deferred trigger, and when the planner folds a function
CREATE FUNCTION rt.statements_at_commit() RETURNS trigger LANGUAGE plpgsql AS \$f\$
BEGIN PERFORM 1; PERFORM pg_catalog.count(*) FROM pg_catalog.pg_class; RETURN NULL; END \$f\$;
CREATE TABLE rt.bg_deferred (id int);
CREATE CONSTRAINT TRIGGER statements_at_commit AFTER INSERT ON rt.bg_deferred DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION rt.statements_at_commit();
GRANT INSERT ON rt.bg_deferred TO PUBLIC;
CREATE FUNCTION rt.folded() RETURNS int LANGUAGE plpgsql IMMUTABLE AS \$f\$
BEGIN PERFORM 1; PERFORM 2; RETURN 3; END \$f\$;
-- finding 8: a superuser-owned SECURITY DEFINER function anyone may call
CREATE FUNCTION rt.definer() RETURNS text LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS \$f\$
BEGIN PERFORM 1; RETURN current_user; END \$f\$;
GRANT EXECUTE ON FUNCTION rt.definer() TO PUBLIC;" 2>&1)
reject "setup ran without errors" "$out" "ERROR"
set_system nspg_guard.admin_statement_timeout 2s
set_system nspg_guard.admin_idle_in_transaction_timeout 2s
set_system nspg_guard.admin_idle_session_timeout 3s
sleep 1 # the audit writer reloads its configuration at its next round (every 0.5 s)
expect_line "alice_admin's sessions start capped at 2s" "$(sql "SHOW statement_timeout" alice_admin)" "2s"
SETCONFIG=$(sql "SELECT 'pg_catalog.set_config(text, text, boolean)'::regprocedure::oid")
BACKENDPID=$(sql "SELECT 'pg_catalog.pg_backend_pid()'::regprocedure::oid")
expect_line "pg_catalog.set_config has oid 2078" "$SETCONFIG" 2078

say "break-glass: bob_oncall's request, approved by carol_approver"
id=$(sql "SELECT nspg_guard.breakglass_request('red team regression escalated session', '55 minutes', 'INC-10')" bob_oncall | tail -n 1)
[[ "$id" =~ ^[0-9]+$ ]] && pass "bob_oncall filed request $id" || fail "breakglass_request: $id"
expect_line "carol_approver approves it" "$(sql "SELECT nspg_guard.breakglass_approve($id) IS NOT NULL" carol_approver)" "t"

# ------------------------------------------------------------------ quick cases, one at a time
say "deferred (finding 1): timeouts lifted by a deferred trigger at COMMIT are capped again"
out=$(wire alice_admin rt_deferred_show <<'S'
query INSERT INTO rt.lifted VALUES (1)
query SHOW statement_timeout
query SHOW idle_session_timeout
S
)
no_other_errors "deferred/show: no error" "$out" 0
expect_same "deferred/show: the next statements see the caps" "$(grep '^ROW ' <<<"$out")" "ROW 2s
ROW 3s"
cases=$((cases + 1))

timed_start
out=$(wire alice_admin rt_deferred_sleep <<'S'
query INSERT INTO rt.lifted VALUES (2)
query SELECT pg_catalog.pg_sleep(4)
query SHOW statement_timeout
S
)
expect_line "deferred/sleep: pg_sleep(4) is cancelled at the cap" "$out" "ERROR 57014 canceling statement due to statement timeout"
no_other_errors "deferred/sleep: no other error" "$out" 1
timed_under "deferred/sleep: cancelled after about 2 s" 3.5
expect_line "deferred/sleep: statement_timeout is the cap" "$(grep '^ROW ' <<<"$out" | tail -n 1)" "ROW 2s"
cases=$((cases + 1))

say "fastpath (finding 2): set_config through the protocol's FunctionCall message"
out=$(wire alice_admin rt_fastpath_show <<S
call $SETCONFIG idle_session_timeout 0 false
query SHOW idle_session_timeout
S
)
no_other_errors "fastpath/show: no error" "$out" 0
expect_line "fastpath/show: the call ran (RESULT)" "$(grep '^RESULT' <<<"$out")" "RESULT 0"
expect_line "fastpath/show: the next statement sees idle_session_timeout = 3s" "$(grep '^ROW ' <<<"$out")" "ROW 3s"
cases=$((cases + 1))

timed_start
out=$(wire alice_admin rt_fastpath_sleep <<S
call $SETCONFIG statement_timeout 10h false
query SELECT pg_catalog.pg_sleep(4)
S
)
expect_line "fastpath/sleep: the call ran" "$out" "RESULT 10h"
expect_line "fastpath/sleep: pg_sleep(4) is cancelled at the cap" "$out" "ERROR 57014 canceling statement due to statement timeout"
no_other_errors "fastpath/sleep: no other error" "$out" 1
timed_under "fastpath/sleep: cancelled after about 2 s" 3.5
cases=$((cases + 1))

out=$(wire bob_oncall rt_fastpath_bg <<<"call $BACKENDPID")
no_other_errors "fastpath/bg_event: no error" "$out" 0
grep -qE '^RESULT [0-9]+$' <<<"$out" && pass "fastpath/bg_event: the call ran" || { fail "fastpath/bg_event: no result"; show "$out"; }
flush
expect_same "fastpath/bg_event: one statement event for the escalated fastpath call" \
    "$(events rt_fastpath_bg breakglass statement)" "FASTPATH FUNCTION CALL|fastpath call of pg_backend_pid()"
expect_line "fastpath/bg_event: it names request $id" \
    "$(sql "SELECT string_agg(details->>'request_id', ',') FROM nspg_guard.audit_log WHERE application_name = 'rt_fastpath_bg' AND class = 'breakglass' AND outcome = 'statement'")" "$id"
cases=$((cases + 1))

out=$(wire bob_oncall rt_fastpath_role <<S
query BEGIN
call $SETCONFIG role rt_secret_reader false
query SELECT secret FROM rt.secrets
query ROLLBACK
query SELECT current_user, (SELECT count(*) FROM rt.secrets)
S
)
no_row_before "fastpath/role: the SELECT after the switch is refused before any row" "$out" \
    'ERROR 42501 nspg_guard: switching to role "rt_secret_reader" is refused while escalated through break-glass'
reject "fastpath/role: no secret row was sent" "$out" "ROW the launch codes"
expect_line "fastpath/role: after ROLLBACK the session is bob_oncall again, seeing no secret" "$(grep '^ROW ' <<<"$out" | tail -n 1)" "ROW bob_oncall|0"
# refused at the call itself (the role setting's check): the SELECT finds the transaction aborted
expect_line "fastpath/role: the SELECT after the refused call runs nothing" "$out" \
    "ERROR 25P02 current transaction is aborted, commands ignored until end of transaction block"
no_other_errors "fastpath/role: no other error" "$out" 2
cases=$((cases + 1))

out=$(wire bob_oncall rt_fastpath_role_commit <<S
call $SETCONFIG role rt_secret_reader false
query SELECT current_user, (SELECT count(*) FROM rt.secrets)
S
)
expect_line "fastpath/role_commit: the switch is refused when the call's transaction commits" "$out" \
    'ERROR 42501 nspg_guard: switching to role "rt_secret_reader" is refused while escalated through break-glass'
expect_line "fastpath/role_commit: and undone: the next statement runs as bob_oncall, seeing no secret" \
    "$(grep '^ROW ' <<<"$out" | tail -n 1)" "ROW bob_oncall|0"
no_other_errors "fastpath/role_commit: no other error" "$out" 1
cases=$((cases + 1))

say "fastpath (second pass): one statement event per call, however many functions the called one evaluates"
sql "CREATE FUNCTION rt.fp_body() RETURNS text LANGUAGE plpgsql AS \$f\$ DECLARE x text; BEGIN x := lower('A'); x := upper(x) || md5(x); RETURN x; END \$f\$;
GRANT EXECUTE ON FUNCTION rt.fp_body() TO PUBLIC" >/dev/null
out=$(wire bob_oncall rt_fastpath_body <<<"call $(sql "SELECT 'rt.fp_body()'::regprocedure::oid")")
no_other_errors "fastpath/body: no error" "$out" 0
flush
expect_same "fastpath/body: one statement event, the call itself" \
    "$(events rt_fastpath_body breakglass statement)" "FASTPATH FUNCTION CALL|fastpath call of rt.fp_body()"

say "secdef (second pass): a SECURITY DEFINER function owned by a role the break-glass role reaches is another role"
sql "CREATE FUNCTION rt.as_reader() RETURNS text LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS \$f\$ SELECT pg_catalog.string_agg(secret, ',') FROM rt.secrets \$f\$;
ALTER FUNCTION rt.as_reader() OWNER TO rt_secret_reader;
GRANT EXECUTE ON FUNCTION rt.as_reader() TO PUBLIC" >/dev/null
out=$(wire bob_oncall rt_secdef_reader <<'S'
query SET ROLE ns_breakglass_admin
query SELECT rt.as_reader()
S
)
if [ "$(grep -c '^ERROR 42501 .*rt_secret_reader' <<<"$out")" = 1 ]; then
    pass "secdef/lent: the function's statement is refused as a switch to rt_secret_reader"
else
    fail "secdef/lent: expected one 42501 refusal naming rt_secret_reader in:"; show "$out"
fi
reject "secdef/lent: no secret row was sent" "$out" "ROW the launch codes"

say "portal (finding 3): rows of a portal fetched in parts lift statement_timeout; the next Execute is capped"
timed_start
out=$(wire alice_admin rt_portal_sleep <<'S'
parse - SELECT g, pg_catalog.set_config('statement_timeout', '0', false) AS lifted, pg_catalog.pg_sleep(CASE WHEN g = 2 THEN 4 ELSE 0 END) FROM generate_series(1, 3) g
bind p -
execute p 1
execute p 1
execute p 1
sync
query SHOW statement_timeout
S
)
expect_same "portal/sleep: row 1, then the sleeping row 2 is cancelled" "$(grep -E '^(ROW|SUSPENDED|ERROR|READY)' <<<"$out")" "READY I
ROW 1|0|
SUSPENDED
ERROR 57014 canceling statement due to statement timeout
READY I
ROW 2s
READY I"
timed_under "portal/sleep: cancelled after about 2 s" 3.5
cases=$((cases + 1))

say "role_opt (finding 5): an escalated session started with -c role=rt_secret_reader"
expect_line "role_opt: rt_secret_reader itself sees the secret row" \
    "$(sql "SET ROLE rt_secret_reader; SELECT count(*) FROM rt.secrets")" 1
out=$(wire bob_oncall rt_role_option "options='-c role=rt_secret_reader'" <<'S'
query SELECT secret FROM rt.secrets
parse - SELECT secret FROM rt.secrets
bind - -
execute - 0
sync
S
)
expect_count "role_opt: the first statement, and the next one (extended protocol), are refused" "$out" \
    'ERROR 42501 nspg_guard: switching to role "rt_secret_reader" is refused while escalated through break-glass' 2
no_other_errors "role_opt: no other error" "$out" 2
reject "role_opt: no row of rt.secrets is returned" "$out" "ROW "
flush
expect_same "role_opt: each refusal is audited with its statement" \
    "$(events rt_role_option denied denied)" "SET ROLE|SELECT secret FROM rt.secrets
SET ROLE|SELECT secret FROM rt.secrets"
cases=$((cases + 1))

say "bg_events (finding 6): statements PostgreSQL runs at COMMIT or at plan time are not client statements"
out=$(wire bob_oncall rt_bg_deferred <<<"query INSERT INTO rt.bg_deferred VALUES (1)")
no_other_errors "bg_events/deferred: no error" "$out" 0
flush
expect_same "bg_events/deferred: exactly one statement event, the INSERT" \
    "$(events rt_bg_deferred breakglass statement)" "INSERT|INSERT INTO rt.bg_deferred VALUES (1)"
cases=$((cases + 1))
out=$(wire bob_oncall rt_bg_folded <<<"query SELECT rt.folded()")
no_other_errors "bg_events/folded: no error" "$out" 0
expect_line "bg_events/folded: the function ran" "$out" "ROW 3"
flush
expect_same "bg_events/folded: exactly one statement event, the SELECT" \
    "$(events rt_bg_folded breakglass statement)" "SELECT|SELECT rt.folded()"
cases=$((cases + 1))

# ------------------------------------------------------------------ idle cases, side by side
say "idle admin sessions whose timeouts were lifted where no statement hook sees it (4.5 s)"
idle_case rt_deferred_idle alice_admin <<'S'
pid
query INSERT INTO rt.lifted VALUES (3)
sleep 4500
query SELECT 'still here'
S
idle_case rt_fastpath_idle alice_admin <<S
pid
call $SETCONFIG idle_session_timeout 0 false
sleep 4500
query SELECT 'still here'
S
idle_case rt_fastpath_idle_tx alice_admin <<S
pid
query BEGIN
call $SETCONFIG idle_in_transaction_session_timeout 0 false
sleep 4500
query SELECT 'still here'
S
idle_case rt_portal_idle_tx alice_admin <<'S'
pid
query BEGIN
parse - SELECT g, pg_catalog.set_config('idle_in_transaction_session_timeout', '0', false) AS lifted FROM generate_series(1, 3) g
bind p -
execute p 1
execute p 1
sync
sleep 4500
query SELECT 'still here'
S
idle_case rt_bind_idle alice_admin <<'S'
pid
parse - INSERT INTO rt.sink VALUES (rt.lift_idle_when_planned())
bind - -
sync
sleep 4500
query SELECT 'still here'
S
idle_case rt_bind_idle_tx alice_admin <<'S'
pid
query BEGIN
parse - INSERT INTO rt.sink VALUES (rt.lift_idle_in_transaction_when_planned())
bind - -
sync
sleep 4500
query SELECT 'still here'
S
wait

# ended NAME — the idle case's session was ended before its statement after 4.5 s.
ended() {
    local out
    out=$(cat "$WORK/$1.out")
    expect_line "$1: the session is ended" "$out" "DISCONNECTED"
    reject "$1: its statement after 4.5 s did not run" "$out" "ROW still here"
}
# by_its_timer_or_writer NAME session|in_transaction — ended at the cap: by its own timer (restored before the
# session went idle), or, if the audit writer came first, by the writer naming the cap.
by_its_timer_or_writer() {
    local pid how
    pid=$(pid_of "$(cat "$WORK/$1.out")")
    how=$(ended_how "$pid")
    case $how in
        "idle timeout") pass "$1: ended by its idle-session timeout, at the cap" ;;
        "idle in transaction timeout") pass "$1: ended by its idle-in-transaction timeout, at the cap" ;;
        terminated) expect_line "$1: ended by the audit writer at the cap" "$(writer_end "$pid" | sed 's/ (.*)|/|/')" \
            "admin session idle longer than nspg_guard.admin_idle_$2_timeout allows|nspg_guard audit writer" ;;
        *) fail "$1: backend $pid: $how" ;;
    esac
}
# by_writer NAME — ended by the audit writer for idling in a transaction longer than the cap.
by_writer() {
    local pid
    pid=$(pid_of "$(cat "$WORK/$1.out")")
    expect_line "$1: ended by the audit writer, which says why" "$(writer_end "$pid")" \
        "admin session idle longer than nspg_guard.admin_idle_in_transaction_timeout allows (2s)|nspg_guard audit writer"
}

say "deferred/idle (finding 1): the session idle after the trigger's COMMIT is ended at 3s"
out=$(cat "$WORK/rt_deferred_idle.out")
expect_line "deferred/idle: the INSERT committed" "$out" "COMPLETE INSERT 0 1"
ended rt_deferred_idle
expect_line "deferred/idle: ended by its idle-session timeout (the cap)" "$(ended_how "$(pid_of "$out")")" "idle timeout"
cases=$((cases + 1))

say "fastpath/idle (finding 2): idle after a fastpath set_config(idle_session_timeout, 0)"
out=$(cat "$WORK/rt_fastpath_idle.out")
expect_line "fastpath/idle: the call ran" "$out" "RESULT 0"
ended rt_fastpath_idle
by_its_timer_or_writer rt_fastpath_idle session
cases=$((cases + 1))
out=$(cat "$WORK/rt_fastpath_idle_tx.out")
expect_same "fastpath/idle_tx: the call ran in the open transaction" "$(grep -E '^(RESULT|READY)' <<<"$out" | head -n 4)" "READY I
READY T
RESULT 0
READY T"
ended rt_fastpath_idle_tx
by_writer rt_fastpath_idle_tx
cases=$((cases + 1))

say "portal/idle_tx (finding 3): rows fetched in parts lift idle_in_transaction_session_timeout"
expect_same "portal/idle_tx: two rows fetched, the transaction left open" \
    "$(grep -E '^(ROW|SUSPENDED|READY)' "$WORK/rt_portal_idle_tx.out" | head -n 7)" "READY I
READY T
ROW 1|0
SUSPENDED
ROW 2|0
SUSPENDED
READY T"
ended rt_portal_idle_tx
by_writer rt_portal_idle_tx
cases=$((cases + 1))

say "bind (finding 4): a function folded at plan time in Bind (no Execute) lifts the idle timeouts"
out=$(cat "$WORK/rt_bind_idle.out")
# the function's own statements are planned at depth 0 too: the cap is restored during the Bind
expect_same "bind/idle: Parse and Bind ran, no Execute; the cap restored during the Bind" "$(grep -E '^(PARSED|BOUND|ROW|ERROR|NOTICE|READY)' <<<"$out")" "READY I
PARSED
NOTICE 00000 nspg_guard: idle_session_timeout capped at 3s for admin sessions
BOUND
READY I"
ended rt_bind_idle
by_its_timer_or_writer rt_bind_idle session
cases=$((cases + 1))
out=$(cat "$WORK/rt_bind_idle_tx.out")
expect_same "bind/idle_tx: Parse and Bind ran in the open transaction, no Execute; the cap restored during the Bind" "$(grep -E '^(PARSED|BOUND|ROW|ERROR|NOTICE|READY)' <<<"$out" | head -n 6)" "READY I
READY T
PARSED
NOTICE 00000 nspg_guard: idle_in_transaction_session_timeout capped at 2s for admin sessions
BOUND
READY T"
ended rt_bind_idle_tx
by_its_timer_or_writer rt_bind_idle_tx in_transaction
expect_line "bind: nothing was inserted (no Execute)" "$(sql "SELECT count(*) FROM rt.sink")" 0
cases=$((cases + 1))

# ------------------------------------------------------------------ 8
say "secdef (finding 8): an app role calling a superuser's SECURITY DEFINER function is no admin session"
set_system nspg_guard.admin_session_max_duration 3s
sleep 1 # the writer's next round
out=$(wire app_user rt_secdef <<'S'
pid
query SET statement_timeout = '1h'
query SET idle_session_timeout = '1h'
query SELECT rt.definer()
query SHOW statement_timeout
query SHOW idle_session_timeout
sleep 4000
query SELECT rt.definer()
query SHOW statement_timeout
S
)
pid=$(pid_of "$out")
no_other_errors "secdef: no error" "$out" 0
reject "secdef: no timeout capped" "$out" "capped"
expect_same "secdef: the function ran as its owner twice; the app's own timeouts stay 1h; not ended at 3s, idle or not" \
    "$(grep -E '^(ROW|FATAL|DISCONNECTED)' <<<"$out")" "ROW postgres
ROW 1h
ROW 1h
ROW postgres
ROW 1h"
expect_line "secdef: no session_ended row" "$(writer_end "$pid")" ""
cases=$((cases + 1))
set_system nspg_guard.admin_session_max_duration 8h

say "the server did not crash"
reject "no backend terminated by a signal" "$(cat "$DIR/server.log")" "terminated by signal"
echo
echo "redteam_regressions: $cases cases"
finish
