#!/usr/bin/env bash
# The audit trail's guarantees that need more than one psql session (issue "audit trail"):
#   logins     successful and failed logins (wrong password, unknown role, no pg_hba entry)
#              have rows with the client address and the role asked for;
#   crash      kill -9 of a backend (PostgreSQL restarts every backend) loses no committed row;
#   load       8 concurrent clients, tens of thousands of audited events: rows == events;
#   tamper     an edit made with the library not loaded is caught by audit_verify(), and the
#              next start with the library flags the run without it;
#   purge      audit_purge() removes only rows past the retention, leaves its own row, and the
#              chain still verifies;
#   log        audit_destination = log writes one tagged JSON line per event, no row;
#   replica    on a hot standby, audit goes to the server log without errors.
# Own clusters next to the main one: primary on $TEST_PORT + 3, standby on $TEST_PORT + 4.
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/assert.bash"
: "${TEST_DIR:?run me from scripts/test.sh}" "${TEST_PORT:?run me from scripts/test.sh}"

DIR=$(dirname "$TEST_DIR")/audit_primary
STANDBY=$(dirname "$TEST_DIR")/audit_standby
PORT=$((TEST_PORT + 3))
STANDBY_PORT=$((TEST_PORT + 4))
trap 'stop_cluster "$STANDBY"; stop_cluster "$DIR"' EXIT

# sql SQL [USER] — as USER (default postgres) over the socket; output and errors, never fails.
sql() {
    "$PG_BIN/psql" -X -h "$DIR" -p "$PORT" -U "${2:-postgres}" -d postgres -At -c "$1" 2>&1 || true
}
# tcp USER PASSWORD [DB] — a login over TCP, as a client elsewhere would make it.
tcp() {
    PGPASSWORD=$2 "$PG_BIN/psql" -X "host=127.0.0.1 port=$PORT user=$1 dbname=${3:-postgres} application_name=audit_test" \
        -At -c "SELECT 'connected'" 2>&1 || true
}
flush() { sql "SELECT nspg_guard.audit_flush(20000)"; }
restart() { # restart [PRELOAD] — a clean (fast) restart, so the writer records the stop
    as_postgres "$PG_BIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null
    sed -i "s/^shared_preload_libraries = .*/shared_preload_libraries = '${1-nspg_guard}'/" "$DIR/data/postgresql.conf"
    as_postgres "$PG_BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w start >/dev/null
}

say "primary with password authentication over TCP (port $PORT)"
start_cluster "$DIR" "$PORT" nspg_guard
cat >"$DIR/data/pg_hba.conf" <<'HBA'
local all all trust
host postgres all 127.0.0.1/32 scram-sha-256
local replication all trust
HBA
cat >>"$DIR/data/postgresql.conf" <<'CONF'
wal_level = replica
max_wal_senders = 4
hot_standby = on
CONF
restart
sql "SELECT 1" >/dev/null   # a login before the audit table exists: its event can reach only the log
sql "CREATE EXTENSION nspg_guard" >/dev/null
expect "lint: audit_events_fell_back while the table was missing" "$(sql "SELECT rule, details->>'fallen_back' FROM nspg_guard.lint('{audit}')")" "audit_events_fell_back|"
sql "CREATE ROLE ns_app_rw_orders LOGIN PASSWORD 'app-pass'; CREATE ROLE ns_migrate_orders LOGIN;
     GRANT CREATE ON SCHEMA public TO ns_app_rw_orders, ns_migrate_orders" >/dev/null

say "logins"
expect_line "the right password logs in" "$(tcp ns_app_rw_orders app-pass)" "connected"
expect "a wrong password is refused" "$(tcp ns_app_rw_orders wrong-pass)" "password authentication failed"
expect "an unknown role is refused" "$(tcp no_such_role whatever)" "password authentication failed"
expect "no pg_hba.conf entry is refused" "$(tcp ns_app_rw_orders app-pass template1)" "no pg_hba.conf entry"
flush >/dev/null
out=$(sql "SELECT outcome, \"session_user\", host(client_addr), client_port > 0, application_name, database, coalesce(sqlstate, '')
           FROM nspg_guard.audit_log WHERE class = 'login' AND client_addr IS NOT NULL ORDER BY id")
expect_line "login_ok row with address, port, application" "$out" "login_ok|ns_app_rw_orders|127.0.0.1|t|audit_test|postgres|"
expect_line "wrong password: login_failed, 28P01" "$out" "login_failed|ns_app_rw_orders|127.0.0.1|t|audit_test|postgres|28P01"
expect_line "unknown role: login_failed with the role asked for" "$out" "login_failed|no_such_role|127.0.0.1|t|audit_test|postgres|28P01"
expect_line "no pg_hba entry: login_failed, 28000" "$out" "login_failed|ns_app_rw_orders|127.0.0.1|t|audit_test|template1|28000"
expect "the failure is in the server log at once, tagged" "$(cat "$DIR/server.log")" 'NSPG_AUDIT {"event_time"'
reject "no password reaches the log" "$(cat "$DIR/server.log")" "app-pass"

say "crash: kill -9 of a backend loses no committed row"
sql "CREATE TABLE public.before_crash (id int)" ns_migrate_orders >/dev/null
committed=$(sql "SELECT count(*) FROM nspg_guard.audit_log WHERE class <> 'login'")
pid=$(sql "SELECT pid FROM pg_stat_activity WHERE backend_type = 'nspg_guard audit writer'")
victim=$("$PG_BIN/psql" -X -h "$DIR" -p "$PORT" -U postgres -d postgres -At -c "SELECT pg_backend_pid(), pg_sleep(30)" >/dev/null 2>&1 &
    sleep 1; sql "SELECT pid FROM pg_stat_activity WHERE query LIKE 'SELECT pg_backend_pid(), pg_sleep%' AND pid <> pg_backend_pid()")
kill -9 "$victim"
for _ in $(seq 60); do [ "$(sql 'SELECT 1')" = 1 ] && break; sleep 0.5; done
expect "the server restarted every backend" "$(cat "$DIR/server.log")" "terminated by signal 9"
after=$(sql "SELECT count(*) FROM nspg_guard.audit_log WHERE class <> 'login' AND id <= (SELECT max(id) FROM nspg_guard.audit_log WHERE object_identity = 'public.before_crash')")
expect_line "committed rows survive the crash ($committed)" "$after" "$committed"
[ -n "$pid" ] && expect "the audit writer came back" "$(sleep 2; sql "SELECT backend_type FROM pg_stat_activity WHERE backend_type = 'nspg_guard audit writer'")" "nspg_guard audit writer"

say "load: 8 clients, refusals (asynchronous) and schema changes (in-transaction)"
cat >"$DIR/refused.sql" <<'SQL'
DO $$ BEGIN CREATE TABLE public.not_for_apps (id int); EXCEPTION WHEN insufficient_privilege THEN NULL; END $$;
SQL
cat >"$DIR/committed.sql" <<'SQL'
CREATE TABLE public.load_:client_id (id int);
DROP TABLE public.load_:client_id;
SQL
chmod 644 "$DIR"/*.sql
base_denied=$(sql "SELECT count(*) FROM nspg_guard.audit_log WHERE class = 'denied'")
base_changes=$(sql "SELECT count(*) FROM nspg_guard.audit_log WHERE object_identity LIKE 'public.load_%'")
base_stats=$(sql "SELECT fallen_back FROM nspg_guard.audit_stats()")
as_postgres "$PG_BIN/pgbench" -h "$DIR" -p "$PORT" -U ns_app_rw_orders -n -c 8 -j 2 -t 2500 -f "$DIR/refused.sql" postgres >"$DIR/pgbench_refused.log" 2>&1
as_postgres "$PG_BIN/pgbench" -h "$DIR" -p "$PORT" -U ns_migrate_orders -n -c 8 -j 2 -t 1000 -f "$DIR/committed.sql" postgres >"$DIR/pgbench_committed.log" 2>&1
expect "pgbench ran 20000 refused attempts" "$(cat "$DIR/pgbench_refused.log")" "number of transactions actually processed: 20000/20000"
expect "pgbench ran 8000 schema-change transactions" "$(cat "$DIR/pgbench_committed.log")" "number of transactions actually processed: 8000/8000"
expect_line "the writer caught up" "$(flush)" "0"
expect_line "20000 refusals, 20000 denied rows" "$(sql "SELECT count(*) - $base_denied FROM nspg_guard.audit_log WHERE class = 'denied'")" "20000"
expect_line "16000 committed changes, 16000 rows" "$(sql "SELECT count(*) - $base_changes FROM nspg_guard.audit_log WHERE object_identity LIKE 'public.load_%'")" "16000"
expect_line "nothing fell back to the log only" "$(sql "SELECT fallen_back - $base_stats FROM nspg_guard.audit_stats()")" "0"
expect_line "the chain verifies after the load" "$(sql "SELECT nspg_guard.audit_seal() >= 0; SELECT ok FROM nspg_guard.audit_verify()" | tail -n 1)" "t"

say "tamper: an edit made without the library is caught"
sql "SELECT nspg_guard.audit_seal()" >/dev/null
restart nspg_guard
restart ''
victim_id=$(sql "SELECT min(id) FROM nspg_guard.audit_log WHERE class = 'denied'")
expect_line "without the library the table can be edited" "$(sql "UPDATE nspg_guard.audit_log SET reason = 'nothing to see' WHERE id = $victim_id")" "UPDATE 1"
sql "CREATE TABLE public.while_unguarded AS SELECT g FROM generate_series(1, 20000) g" >/dev/null
restart nspg_guard
out=$(sql "SELECT ok, first_broken_id, problem FROM nspg_guard.audit_verify()")
expect_line "audit_verify() names the edited row" "$out" "f|$victim_id|the row was changed after it was sealed"
expect_line "lint: audit_chain_broken names it too" "$(sql "SELECT severity, details->>'first_broken_id' FROM nspg_guard.lint('{audit}') WHERE rule = 'audit_chain_broken'")" "error|$victim_id"
expect_line "lint: no fallback since the restart" "$(sql "SELECT count(*) FROM nspg_guard.lint('{audit}') WHERE rule = 'audit_events_fell_back'")" "0"
sleep 1
out=$(sql "SELECT details->>'ran_without_nspg_guard', details->>'previous_run' FROM nspg_guard.audit_log
           WHERE class = 'config' AND outcome = 'started' ORDER BY id DESC LIMIT 2")
expect_line "the start after the unguarded run is flagged" "$(head -n 1 <<<"$out")" "true|ran_without_nspg_guard"
expect_line "the clean restart before it was not" "$(tail -n 1 <<<"$out")" "false|clean_stop"

say "purge: only rows past the retention, and the chain still verifies from the cut"
sql "ALTER SYSTEM SET nspg_guard.audit_retention = '3s'" >/dev/null; sql "SELECT pg_reload_conf()" >/dev/null
sleep 4
sql "CREATE TABLE public.after_cut (id int)" ns_migrate_orders >/dev/null
sql "SELECT nspg_guard.audit_seal()" >/dev/null
purged=$(sql "SELECT nspg_guard.audit_purge()")
[ "${purged:-0}" -gt 0 ] 2>/dev/null && pass "audit_purge() removed $purged rows" || fail "audit_purge() removed nothing: $purged"
expect_line "rows younger than the retention stay" "$(sql "SELECT count(*) FROM nspg_guard.audit_log WHERE object_identity = 'public.after_cut'")" "1"
expect_line "the purge left its own row" "$(sql "SELECT rows FROM nspg_guard.audit_log WHERE command_tag = 'AUDIT PURGE'")" "$purged"
sql "SELECT nspg_guard.audit_seal()" >/dev/null
expect_line "the chain verifies from the cut (the edited row was past the retention)" "$(sql "SELECT ok FROM nspg_guard.audit_verify()")" "t"
expect_line "lint: audit_chain_broken is gone" "$(sql "SELECT count(*) FROM nspg_guard.lint('{audit}') WHERE rule = 'audit_chain_broken'")" "0"
sql "ALTER SYSTEM RESET nspg_guard.audit_retention" >/dev/null; sql "SELECT pg_reload_conf()" >/dev/null

say "audit_destination = log"
sql "ALTER SYSTEM SET nspg_guard.audit_destination = 'log'" >/dev/null; sql "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
sql "CREATE TABLE public.logged_only (id int)" ns_migrate_orders >/dev/null
line=$(grep -F 'NSPG_AUDIT {' "$DIR/server.log" | grep -F 'public.logged_only' | head -n 1)
expect "one JSON line per event, tagged" "$line" '"class":"schema","outcome":"committed","command_tag":"CREATE TABLE","object_type":"table","object_identity":"public.logged_only"'
expect_line "the JSON parses" "$(sed 's/.*NSPG_AUDIT //' <<<"$line" | python3 -c 'import json,sys; print(json.load(sys.stdin)["current_user"])')" "ns_migrate_orders"
expect_line "and no row in the table" "$(sql "SELECT count(*) FROM nspg_guard.audit_log WHERE object_identity = 'public.logged_only'")" "0"
sql "ALTER SYSTEM RESET nspg_guard.audit_destination" >/dev/null; sql "SELECT pg_reload_conf()" >/dev/null

say "hot standby: audit goes to the server log, without errors"
rm -rf "$STANDBY" && mkdir -p "$STANDBY" && chown postgres "$STANDBY"
as_postgres "$PG_BIN/pg_basebackup" -h "$DIR" -p "$PORT" -U postgres -D "$STANDBY/data" -R -X stream -c fast >/dev/null
sed -i -e "s/^port = .*/port = $STANDBY_PORT/" -e "s|^unix_socket_directories = .*|unix_socket_directories = '$STANDBY'|" "$STANDBY/data/postgresql.conf"
as_postgres "$PG_BIN/pg_ctl" -D "$STANDBY/data" -l "$STANDBY/server.log" -w start >/dev/null
ssql() { "$PG_BIN/psql" -X -h "$STANDBY" -p "$STANDBY_PORT" -U "${2:-postgres}" -d postgres -At -c "$1" 2>&1 || true; }
expect_line "the standby is in recovery" "$(ssql 'SELECT pg_is_in_recovery()')" "t"
out=$(ssql "CREATE TABLE public.on_standby (id int)" ns_app_rw_orders)
expect "a refusal on the standby is the guard's" "$out" 'nspg_guard: CREATE TABLE denied for role "ns_app_rw_orders"'
expect "refusals are logged on the standby" "$(cat "$STANDBY/server.log")" '"class":"denied","outcome":"denied","command_tag":"CREATE TABLE"'
expect "logins are logged on the standby" "$(cat "$STANDBY/server.log")" '"class":"login","outcome":"login_ok"'
reject "no audit error on the standby" "$(cat "$STANDBY/server.log")" "could not write the audit row"
reject "no read-only error from the audit trail" "$(grep -v 'on_standby' "$STANDBY/server.log")" "read-only transaction"

finish
