#!/usr/bin/env bash
# Admin sessions and break-glass behind a real PgBouncer in transaction pooling (pool_mode =
# transaction, default_pool_size = 1: the consecutive transactions of one user, whatever client
# sends them, run on one server connection). What holds there, each asserted below:
#   caps           admin timeouts are capped on the SERVER connection when it starts (the
#                  capping runs in the backend, whatever the client), so an admin through
#                  PgBouncer sees statement_timeout = 5min; a client that sets it to 0 gets the
#                  NOTICE and the cap is re-applied at once, so the next client on the same
#                  server connection still has 5min. Non-admin users are untouched (0).
#   break-glass    escalation follows the role on the server connection: once bob_oncall's request
#                  is approved (directly, not through PgBouncer), bob's statements through
#                  PgBouncer have the break-glass role and are audited (statements_run grows).
#                  breakglass_end() terminates bob's server connection; PgBouncer notices (the
#                  next query may fail once, so clients retry) and a new server connection no
#                  longer has the role.
#   the hazard     transaction pooling shares session state between clients: a session-level
#                  SET ROLE ns_breakglass_admin by one bob client is still in effect for the next
#                  bob client on the same server connection. It does not outlive the grant: ending
#                  the request terminates that server connection, and after a retry current_user
#                  is bob_oncall again. SET LOCAL ROLE inside BEGIN … COMMIT does not leak (the
#                  safe way to escalate behind a transaction pooler).
#   max duration   nspg_guard.admin_session_max_duration measures the SERVER connection, which
#                  PgBouncer keeps across clients: the audit writer ends an idle pooled admin
#                  server connection past the maximum, and the next admin client gets a new one;
#                  a non-admin pooled server connection of the same age stays.
# Own cluster on $TEST_PORT + 6, PgBouncer (run as postgres, it refuses root) on $TEST_PORT + 7.
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/assert.bash"
: "${TEST_DIR:?run me from scripts/test.sh}" "${TEST_PORT:?run me from scripts/test.sh}"

DIR=$(dirname "$TEST_DIR")/pgbouncer
PORT=$((TEST_PORT + 6))
BPORT=$((TEST_PORT + 7))
BDIR=$DIR/bouncer

stop_bouncer() {
    local pid
    pid=$(cat "$BDIR/pgbouncer.pid" 2>/dev/null) || return 0
    kill "$pid" 2>/dev/null || return 0
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
}
trap 'stop_bouncer; stop_cluster "$DIR"' EXIT

# sql SQL [USER] — directly to the server, as USER (default postgres), database postgres; output
# and errors, never fails.
sql() {
    "$PG_BIN/psql" -X -h "$DIR" -p "$PORT" -U "${2:-postgres}" -d postgres -At -c "$1" 2>&1 || true
}
# bsql USER SQL… — through PgBouncer, one psql (one client) running each SQL (-c) in turn.
bsql() {
    local user=$1 args=()
    shift
    for c in "$@"; do args+=(-c "$c"); done
    "$PG_BIN/psql" -X -h 127.0.0.1 -p "$BPORT" -U "$user" -d postgres -At -v ON_ERROR_STOP=1 "${args[@]}" 2>&1
}
# bretry USER SQL — through PgBouncer, retried (up to 3 tries) while it fails: the first query after
# a server connection was terminated may fail. Prints the last try's output, and "tries: N".
bretry() {
    local out i
    for i in 1 2 3; do
        if out=$(bsql "$1" "$2"); then break; fi
        sleep 0.2
    done
    printf '%s\ntries: %s\n' "$out" "$i"
}
flush() { sql "SELECT nspg_guard.audit_flush(20000)" >/dev/null; }
# wait_gone PID — polls until that backend is gone (up to 5 s).
wait_gone() {
    for _ in $(seq 50); do
        [ "$(sql "SELECT NOT EXISTS (SELECT FROM pg_stat_activity WHERE pid = $1)")" = t ] && return 0
        sleep 0.1
    done
    return 1
}

say "cluster with the library preloaded (port $PORT)"
start_cluster "$DIR" "$PORT" nspg_guard
sql "CREATE EXTENSION nspg_guard" >/dev/null
sql "$SESSION_ROLES_SQL" >/dev/null

say "PgBouncer in transaction pooling, pool size 1 (port $BPORT)"
mkdir -p "$BDIR"
cat >"$BDIR/userlist.txt" <<'USERS'
"alice_admin" ""
"bob_oncall" ""
"carol_approver" ""
"app_user" ""
"postgres" ""
USERS
cat >"$BDIR/pgbouncer.ini" <<INI
[databases]
postgres = host=127.0.0.1 port=$PORT dbname=postgres

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $BPORT
unix_socket_dir = $BDIR
auth_type = trust
auth_file = $BDIR/userlist.txt
pool_mode = transaction
default_pool_size = 1
ignore_startup_parameters = extra_float_digits,options
pidfile = $BDIR/pgbouncer.pid
logfile = $BDIR/pgbouncer.log
INI
chown -R postgres:postgres "$BDIR"
as_postgres /usr/sbin/pgbouncer -d "$BDIR/pgbouncer.ini"
for _ in $(seq 50); do bsql app_user "SELECT 1" >/dev/null 2>&1 && break; sleep 0.1; done
expect_line "PgBouncer is up and pooling in transaction mode" "$(bsql app_user "SELECT 'through pgbouncer'")" "through pgbouncer"

say "caps: applied on the server connection, whatever the client"
expect_line "alice_admin through PgBouncer: statement_timeout 5min" "$(bsql alice_admin "SHOW statement_timeout")" "5min"
expect_line "and idle_in_transaction_session_timeout 1min" "$(bsql alice_admin "SHOW idle_in_transaction_session_timeout")" "1min"
alice_server=$(bsql alice_admin "SELECT pg_backend_pid()")
out=$(bsql alice_admin "SET statement_timeout = 0" "SHOW statement_timeout")
expect "SET statement_timeout = 0 through PgBouncer gives the NOTICE" "$out" "NOTICE:  nspg_guard: statement_timeout capped at 5min for admin sessions"
expect_line "and the client sees 5min" "$out" "5min"
out=$(bsql alice_admin "SELECT pg_backend_pid()" "SHOW statement_timeout")
expect_line "the next client runs on the same server connection" "$(head -n 1 <<<"$out")" "$alice_server"
expect_line "and still has statement_timeout 5min" "$(tail -n 1 <<<"$out")" "5min"
out=$(bsql alice_admin "SET statement_timeout = '1h'")
expect "raising it through PgBouncer is capped too" "$out" "NOTICE:  nspg_guard: statement_timeout capped at 5min for admin sessions"
expect_line "app_user through PgBouncer: statement_timeout 0" "$(bsql app_user "SHOW statement_timeout")" "0"

say "max duration: measured on the pooled server connection"
alice_server=$(bsql alice_admin "SELECT pg_backend_pid()")
app_server=$(bsql app_user "SELECT pg_backend_pid()")
sql "ALTER SYSTEM SET nspg_guard.admin_session_max_duration = '3s'" >/dev/null; sql "SELECT pg_reload_conf()" >/dev/null
ended=
for _ in $(seq 50); do   # up to 10 s
    [ "$(sql "SELECT NOT EXISTS (SELECT FROM pg_stat_activity WHERE pid = $alice_server)")" = t ] && { ended=1; break; }
    sleep 0.2
done
[ -n "$ended" ] && pass "the writer ends alice's idle pooled server connection (pid $alice_server)" || fail "alice's pooled server connection $alice_server is still there"
sql "ALTER SYSTEM RESET nspg_guard.admin_session_max_duration" >/dev/null; sql "SELECT pg_reload_conf()" >/dev/null
for _ in $(seq 50); do [ "$(sql "SHOW nspg_guard.admin_session_max_duration")" = 8h ] && break; sleep 0.1; done
sleep 1 # the writer reloads its configuration at its next round
flush
expect_line "audited as ended by the writer" "$(sql "SELECT \"session_user\", details->>'ended_by' FROM nspg_guard.audit_log WHERE class = 'admin' AND outcome = 'session_ended' AND backend_pid = $alice_server")" "alice_admin|nspg_guard audit writer"
out=$(bretry alice_admin "SELECT pg_backend_pid()")
reject "the next alice client gets a new server connection" "$(head -n 1 <<<"$out")" "$alice_server"
expect_line "app_user's pooled server connection of the same age stays" "$(bsql app_user "SELECT pg_backend_pid()")" "$app_server"

say "break-glass through PgBouncer"
id=$(sql "SELECT nspg_guard.breakglass_request('restore orders deleted by bad deploy', '10 minutes', 'INC-1')" bob_oncall | tail -n 1)
[[ "$id" =~ ^[0-9]+$ ]] && pass "bob_oncall filed request $id (directly)" || fail "breakglass_request: $id"
expect_line "carol_approver approves it (directly)" "$(sql "SELECT nspg_guard.breakglass_approve($id) > now()" carol_approver)" "t"
flush
before=$(sql "SELECT statements_run FROM nspg_guard.breakglass_usages WHERE id = $id")
out=$(bsql bob_oncall "SELECT pg_has_role('ns_breakglass_admin', 'USAGE')")
expect_line "bob through PgBouncer has the break-glass role" "$out" "t"
bob_server=$(bsql bob_oncall "SELECT pg_backend_pid()")
bsql bob_oncall "SELECT count(*) FROM pg_class" >/dev/null
flush
after=$(sql "SELECT statements_run FROM nspg_guard.breakglass_usages WHERE id = $id")
[ "${after:-0}" -ge $((before + 3)) ] 2>/dev/null && pass "bob's statements through PgBouncer are audited: statements_run $before -> $after" \
    || fail "statements_run did not grow by 3: $before -> $after"
expect_line "audited with bob's server connection" \
    "$(sql "SELECT count(*) > 0 FROM nspg_guard.audit_log WHERE class = 'breakglass' AND outcome = 'statement' AND backend_pid = $bob_server AND \"session_user\" = 'bob_oncall'")" "t"
expect_line "carol ends the request: bob's server connection is ended" "$(sql "SELECT nspg_guard.breakglass_end($id)" carol_approver)" "1"
wait_gone "$bob_server" && pass "bob's server connection (pid $bob_server) is gone" || fail "bob's server connection (pid $bob_server) is still there"
out=$(bretry bob_oncall "SELECT pg_has_role('ns_breakglass_admin', 'USAGE')")
expect_line "after the end (and a retry if needed), bob through PgBouncer no longer has the role" "$(head -n 1 <<<"$out")" "f"
echo "    (${out##*tries: } tries)"
reject "on a new server connection" "$(bretry bob_oncall "SELECT pg_backend_pid()" | head -n 1)" "$bob_server"
expect_line "the request is ended, sessions_ended = 1" "$(sql "SELECT state, sessions_ended FROM nspg_guard.breakglass_usages WHERE id = $id")" "ended|1"

say "the hazard: session-level SET ROLE outlives its client, not the grant"
id2=$(sql "SELECT nspg_guard.breakglass_request('replay the failed payment batch', '10 minutes', 'INC-2')" bob_oncall | tail -n 1)
[[ "$id2" =~ ^[0-9]+$ ]] && pass "bob_oncall filed request $id2" || fail "breakglass_request: $id2"
expect_line "carol_approver approves it" "$(sql "SELECT nspg_guard.breakglass_approve($id2) > now()" carol_approver)" "t"
# bob's server connection predates this grant: its first statement as an admin session gets the
# timeouts capped, with a NOTICE (on stderr, mixed into the output here): keep the number.
bob_server=$(bretry bob_oncall "SELECT pg_backend_pid()" | grep -xE '[0-9]+' | head -n 1)
out=$(bsql bob_oncall "BEGIN" "SET LOCAL ROLE ns_breakglass_admin" "SELECT 'in the transaction: ' || current_user" "COMMIT")
expect_line "SET LOCAL ROLE in BEGIN … COMMIT escalates that transaction" "$out" "in the transaction: ns_breakglass_admin"
out=$(bsql bob_oncall "SELECT current_user || ' ' || pg_backend_pid()")
expect_line "SET LOCAL ROLE does not leak to the next client on the server connection" "$out" "bob_oncall $bob_server"
out=$(bsql bob_oncall "SET ROLE ns_breakglass_admin" "SELECT 'first client: ' || current_user")
expect_line "one bob client: SET ROLE ns_breakglass_admin" "$out" "first client: ns_breakglass_admin"
out=$(bsql bob_oncall "SELECT current_user || ' ' || pg_backend_pid()")
expect_line "HAZARD: the next bob client on the same server connection is still ns_breakglass_admin" "$out" "ns_breakglass_admin $bob_server"
expect_line "carol ends the request: the server connection is ended" "$(sql "SELECT nspg_guard.breakglass_end($id2)" carol_approver)" "1"
wait_gone "$bob_server" && pass "the server connection with the leaked role (pid $bob_server) is gone" || fail "server connection $bob_server is still there"
out=$(bretry bob_oncall "SELECT current_user")
expect_line "after the end (and a retry if needed), current_user is bob_oncall" "$(head -n 1 <<<"$out")" "bob_oncall"
echo "    (${out##*tries: } tries)"
expect "SET ROLE ns_breakglass_admin through PgBouncer is refused now" \
    "$(bretry bob_oncall "SET ROLE ns_breakglass_admin")" 'permission denied to set role "ns_breakglass_admin"'

finish
