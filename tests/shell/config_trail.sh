#!/usr/bin/env bash
# Config events and restart detection (issue 14):
#   reload     ALTER SYSTEM + pg_reload_conf(), postgresql.auto.conf written with lo_export()
#              (nspg_guard.audit = 'none' and back), and an editor's change to postgresql.conf:
#              each change is a config row with the old and new value and an NSPG_AUDIT line;
#   restart    a clean restart is not flagged; a run without the library is flagged at the next
#              start (config row, NSPG_AUDIT line, lint error) although a 'SERVER STOP' row and
#              a state file naming the checkpoint were forged from SQL in between; the flag stays
#              until an admin acknowledges it (audited; 42501 for others);
#   copy       a COPY to a server file logs its NSPG_AUDIT line before it runs: a rolled-back
#              transaction still wrote the file;
#   crash      kill -9 of the postmaster is reported as a crash, not as a run without us.
# Own cluster on $TEST_PORT + 30.
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/assert.bash"
: "${TEST_DIR:?run me from scripts/test.sh}" "${TEST_PORT:?run me from scripts/test.sh}"

DIR=$(dirname "$TEST_DIR")/config_trail
PORT=$((TEST_PORT + 30))
trap 'stop_cluster "$DIR"' EXIT

sql() { "$PG_BIN/psql" -X -h "$DIR" -p "$PORT" -U "${2:-postgres}" -d postgres -At -c "$1" 2>&1 || true; }
start() { # start [PRELOAD]
    sed -i "s/^shared_preload_libraries = .*/shared_preload_libraries = '${1-nspg_guard}'/" "$DIR/data/postgresql.conf"
    as_postgres "$PG_BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w start >/dev/null
}
stop() { as_postgres "$PG_BIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null; }
# wait_for NAME SQL — polls until SQL returns 't' (at most 60 s: the writer works every half second).
wait_for() {
    local i
    for i in $(seq 1 240); do
        [ "$(sql "$2")" = "t" ] && { pass "$1"; return; }
        sleep 0.25
    done
    fail "$1: $2 never became true"
}
# change_row SETTING — the latest config event of SETTING: old|new|noticed_at|file name
change_row() {
    sql "SELECT details->>'old', details->>'new', details->>'noticed_at', regexp_replace(details->>'set_in', '^.*/|:[0-9]+$', '', 'g')
           FROM nspg_guard.audit_log WHERE command_tag = 'SETTING CHANGE' AND object_identity = '$1' ORDER BY id DESC LIMIT 1"
}
changes_of() { sql "SELECT count(*) FROM nspg_guard.audit_log WHERE command_tag = 'SETTING CHANGE' AND object_identity = '$1'"; }
log_has() { grep -F 'NSPG_AUDIT' "$DIR/server.log" | grep -F "$1" | grep -cF "$2"; }
# write_auto_conf TEXT — postgresql.auto.conf replaced from SQL, with lo_export().
write_file() { # write_file PATH-IN-PGDATA TEXT
    local lo
    lo=$(sql "SELECT lo_from_bytea(0, convert_to(\$\$$2\$\$, 'UTF8'))")
    sql "SELECT lo_export($lo, current_setting('data_directory') || '/$1')"
}
write_auto_conf() { write_file postgresql.auto.conf "$1"; }

say "cluster with nspg_guard (port $PORT)"
start_cluster "$DIR" "$PORT" nspg_guard
sql "CREATE EXTENSION nspg_guard" >/dev/null
sql "CREATE ROLE ns_admin NOLOGIN; CREATE ROLE alice_admin LOGIN IN ROLE ns_admin; CREATE ROLE mallory LOGIN" >/dev/null
stop; start
wait_for "the writer recorded its start" "SELECT EXISTS (SELECT FROM nspg_guard.audit_log WHERE command_tag = 'SERVER START')"
expect_line "a first clean restart is not flagged" \
    "$(sql "SELECT details->>'previous_run', details->>'ran_without_nspg_guard' FROM nspg_guard.audit_log WHERE command_tag = 'SERVER START' ORDER BY id DESC LIMIT 1")" \
    "clean_stop|false"

say "reload: ALTER SYSTEM"
sql "ALTER SYSTEM SET log_connections = on" >/dev/null
sql "SELECT pg_reload_conf()" >/dev/null
wait_for "a config event for log_connections" "SELECT EXISTS (SELECT FROM nspg_guard.audit_log WHERE object_identity = 'log_connections' AND command_tag = 'SETTING CHANGE')"
expect_line "old and new value, noticed at reload, set in postgresql.auto.conf" "$(change_row log_connections)" "off|on|reload|postgresql.auto.conf"
expect_line "its NSPG_AUDIT line" "$(log_has '"log_connections"' '"new":"on"')" "1"

say "reload: postgresql.auto.conf written with lo_export() switches the audit off, then on"
before=$(sql "SHOW nspg_guard.audit")
write_auto_conf "log_connections = 'on'
nspg_guard.audit = 'none'
" >/dev/null
sql "SELECT pg_reload_conf()" >/dev/null
wait_for "a config event for nspg_guard.audit" "SELECT EXISTS (SELECT FROM nspg_guard.audit_log WHERE object_identity = 'nspg_guard.audit' AND command_tag = 'SETTING CHANGE')"
expect_line "nspg_guard.audit: old and new value" "$(change_row nspg_guard.audit)" "$before|none|reload|postgresql.auto.conf"
expect_line "its NSPG_AUDIT line" "$(log_has '"nspg_guard.audit"' '"new":"none"')" "1"
expect_line "the lo_export() itself is a risky event" \
    "$(sql "SELECT count(*) FROM nspg_guard.audit_log WHERE class = 'risky' AND object_identity LIKE '%lo_export%'")" "1"
write_auto_conf "log_connections = 'on'
" >/dev/null
sql "SELECT pg_reload_conf()" >/dev/null
wait_for "switching it back on is a config event too" "SELECT count(*) = 2 FROM nspg_guard.audit_log WHERE object_identity = 'nspg_guard.audit' AND command_tag = 'SETTING CHANGE'"
expect_line "none back to the old value" "$(change_row nspg_guard.audit)" "none|$before|reload|"
expect_line "its NSPG_AUDIT line" "$(log_has '"nspg_guard.audit"' "\"new\":\"$before\"")" "1"

say "reload: an editor's change to postgresql.conf"
echo "log_disconnections = on" >>"$DIR/data/postgresql.conf"
sql "ALTER SYSTEM SET work_mem = '8MB'" >/dev/null   # in the same reload: a setting nobody audits
sql "SELECT pg_reload_conf()" >/dev/null
wait_for "a config event for log_disconnections" "SELECT EXISTS (SELECT FROM nspg_guard.audit_log WHERE object_identity = 'log_disconnections' AND command_tag = 'SETTING CHANGE')"
expect_line "old and new value, set in postgresql.conf" "$(change_row log_disconnections)" "off|on|reload|postgresql.conf"
expect_line "work_mem, changed in the same reload, leaves no event" "$(changes_of work_mem)" "0"

say "a COPY to a file, rolled back, leaves its NSPG_AUDIT line (the file is written anyway)"
sql "BEGIN; COPY (SELECT 'log_connections = on') TO '$DIR/data/postgresql.auto.conf'; ROLLBACK" >/dev/null
expect_line "the file was written" "$(cat "$DIR/data/postgresql.auto.conf")" "log_connections = on"
expect_line "the COPY's NSPG_AUDIT line" "$(log_has '"command_tag":"COPY"' "TO '$DIR/data/postgresql.auto.conf'")" "1"
expect_line "no row: its transaction rolled back" \
    "$(sql "SELECT count(*) FROM nspg_guard.audit_log WHERE command_tag = 'COPY' AND statement LIKE '%postgresql.auto.conf%'")" "0"
sql "COPY (SELECT 'log_connections = on') TO '$DIR/data/postgresql.auto.conf'" >/dev/null
expect_line "committed, it has its row" \
    "$(sql "SELECT count(*) FROM nspg_guard.audit_log WHERE class = 'risky' AND command_tag = 'COPY' AND statement LIKE '%postgresql.auto.conf%'")" "1"
expect_line "and one more line (two COPYs, two lines)" "$(log_has '"command_tag":"COPY"' "TO '$DIR/data/postgresql.auto.conf'")" "2"

say "start: a change made while the server was down"
stop
echo "log_min_duration_statement = 250" >>"$DIR/data/postgresql.conf"
start
wait_for "a config event noticed at start" "SELECT EXISTS (SELECT FROM nspg_guard.audit_log WHERE object_identity = 'log_min_duration_statement')"
expect_line "old and new value, noticed at start" "$(change_row log_min_duration_statement)" "-1|250|start|postgresql.conf"
expect_line "and the clean restart is not flagged" \
    "$(sql "SELECT details->>'previous_run', details->>'ran_without_nspg_guard' FROM nspg_guard.audit_log WHERE command_tag = 'SERVER START' ORDER BY id DESC LIMIT 1")" \
    "clean_stop|false"

say "restart: a run without the library, with a forged stop row and a forged state file"
stop; start ''
expect_line "without the library the trail takes a forged 'SERVER STOP' row" \
    "$(sql "INSERT INTO nspg_guard.audit_log (id, event_time, class, outcome, command_tag, backend_pid, details)
            SELECT max(id) + 1, now(), 'config', 'stopped', 'SERVER STOP', 1, jsonb_build_object('wal_lsn', pg_current_wal_insert_lsn()::text)
              FROM nspg_guard.audit_log")" "INSERT 0 1"
sql "CHECKPOINT" >/dev/null
forged=$(sql "SELECT format('{\"settings\": {}, \"run\": {\"run\": \"stopped\", \"shutdown_checkpoint\": {\"lsn\": %s, \"time\": %s}}, \"unacknowledged\": []}',
                 checkpoint_lsn - '0/0'::pg_lsn, extract(epoch FROM checkpoint_time)::bigint) FROM pg_control_checkpoint()")
expect_line "and a state file naming the latest checkpoint" \
    "$(write_file nspg_guard/config_state.json "$forged")" "1"
stop; start
wait_for "the next start is recorded" "SELECT EXISTS (SELECT FROM nspg_guard.audit_log WHERE command_tag = 'SERVER START' AND details->>'previous_run' = 'ran_without_nspg_guard')"
expect_line "the start is flagged" \
    "$(sql "SELECT details->>'ran_without_nspg_guard' FROM nspg_guard.audit_log WHERE command_tag = 'SERVER START' AND outcome = 'started' ORDER BY id DESC LIMIT 1")" "true"
out=$(sql "SELECT details->'recorded'->>'checkpoint_lsn' IS NOT NULL, details->>'found_checkpoint_lsn' IS DISTINCT FROM details->'recorded'->>'checkpoint_lsn', reason LIKE '%ran without nspg_guard%'
             FROM nspg_guard.audit_log WHERE outcome = 'ran_without_nspg_guard' ORDER BY id DESC LIMIT 1")
expect_line "a ran_without_nspg_guard config event with recorded vs found checkpoint" "$out" "t|t|t"
expect_line "its NSPG_AUDIT line" "$(log_has '"outcome":"ran_without_nspg_guard"' '"found_checkpoint_lsn"')" "1"
expect_line "lint: audit_ran_without_nspg_guard error" \
    "$(sql "SELECT severity, object_type FROM nspg_guard.lint('{audit}') WHERE rule = 'audit_ran_without_nspg_guard'")" "error|server"

say "acknowledgement: admins only, with a reason, audited"
expect "another role is refused (42501)" \
    "$("$PG_BIN/psql" -X -h "$DIR" -p "$PORT" -U mallory -d postgres -At -v VERBOSITY=verbose -c "SELECT nspg_guard.acknowledge_unguarded_runs('nothing happened')" 2>&1)" "42501"
expect "a missing reason is refused (22023)" \
    "$("$PG_BIN/psql" -X -h "$DIR" -p "$PORT" -U alice_admin -d postgres -At -v VERBOSITY=verbose -c "SELECT nspg_guard.acknowledge_unguarded_runs(NULL)" 2>&1)" "22023"
expect_line "the flag stays" "$(sql "SELECT count(*) FROM nspg_guard.lint('{audit}') WHERE rule = 'audit_ran_without_nspg_guard'")" "1"
expect_line "an admin acknowledges it" \
    "$(sql "SELECT nspg_guard.acknowledge_unguarded_runs('maintenance without the library, CHG-1; chain verified')" alice_admin)" "1"
expect_line "lint: the finding is gone" "$(sql "SELECT count(*) FROM nspg_guard.lint('{audit}') WHERE rule = 'audit_ran_without_nspg_guard'")" "0"
sql "SELECT nspg_guard.audit_flush(20000)" >/dev/null
expect_line "the acknowledgement is audited, with what it cleared" \
    "$(sql "SELECT \"session_user\", rows, jsonb_array_length(details->'acknowledged') FROM nspg_guard.audit_log WHERE command_tag = 'ACKNOWLEDGE UNGUARDED RUNS'")" "alice_admin|1|1"
expect "the refusal is audited" "$(sql "SELECT count(*) FROM nspg_guard.audit_log WHERE class = 'denied' AND command_tag = 'ACKNOWLEDGE UNGUARDED RUNS'")" "1"

say "crash: kill -9 of the postmaster"
pm=$(head -n 1 "$DIR/data/postmaster.pid")
children=$(pgrep -P "$pm" | tr '\n' ' ')
kill -9 "$pm"
for i in $(seq 1 120); do
    alive=0
    for c in $children; do kill -0 "$c" 2>/dev/null && alive=1; done
    [ $alive -eq 0 ] && break
    sleep 0.25
done
start
wait_for "the start after the crash is recorded" "SELECT EXISTS (SELECT FROM nspg_guard.audit_log WHERE command_tag = 'SERVER START' AND details->>'previous_run' = 'crash')"
expect_line "reported as a crash, not as a run without nspg_guard" \
    "$(sql "SELECT details->>'previous_run', details->>'ran_without_nspg_guard' FROM nspg_guard.audit_log WHERE command_tag = 'SERVER START' AND outcome = 'started' ORDER BY id DESC LIMIT 1")" "crash|false"
expect_line "lint: nothing to acknowledge" "$(sql "SELECT count(*) FROM nspg_guard.lint('{audit}') WHERE rule = 'audit_ran_without_nspg_guard'")" "0"

say "clean restart after all that"
stop; start
wait_for "not flagged" "SELECT details->>'previous_run' = 'clean_stop' FROM nspg_guard.audit_log WHERE command_tag = 'SERVER START' AND outcome = 'started' ORDER BY id DESC LIMIT 1"

finish
