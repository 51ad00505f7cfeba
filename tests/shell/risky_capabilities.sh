#!/usr/bin/env bash
# The risky fence on the routes a single psql session cannot show (the single-session routes are
# tests/regress/sql/risky.sql):
#   fastpath   the protocol's FunctionCall ('F', `call` in tests/pgwire) of pg_read_file(text)
#              (oid 3826) by a non-admin member of pg_read_server_files is refused (42501, the
#              file's text is not sent) and audited as denied; by an admin it runs and is audited
#              as a risky "granted" event;
#   startup    -c local_preload_libraries=… in the connection options of a non-admin ends the login
#              (FATAL, 42501, with the HINT) before any library is loaded, audited as denied; a
#              superuser's -c session_preload_libraries=auto_explain loads it;
#   role_set   a local_preload_libraries stored for a non-admin role (ALTER ROLE … SET by a
#              superuser) is skipped at its logins with a WARNING: the session starts, nothing loaded;
#   base backup a replication connection (physical, or replication=database) of a non-admin
#              REPLICATION role with pg_write_server_files (BASE_BACKUP … TARGET 'server' writes
#              server files; no hook sees replication commands) is refused at login (FATAL 42501,
#              HINT, audited as denied); a REPLICATION role without it, and an admin with it,
#              connect.
# Own cluster: $TEST_PORT + 22.
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/assert.bash"
: "${TEST_DIR:?run me from scripts/test.sh}" "${TEST_PORT:?run me from scripts/test.sh}"
set +e

DIR=$(dirname "$TEST_DIR")/risky_capabilities
PORT=$((TEST_PORT + 22))
trap 'stop_cluster "$DIR"' EXIT
source "$(dirname "${BASH_SOURCE[0]}")/wire.bash"

say "a cluster with nspg_guard (port $PORT)"
start_cluster "$DIR" "$PORT" nspg_guard
sql "CREATE EXTENSION nspg_guard" >/dev/null
sql "CREATE ROLE ns_admin NOLOGIN; CREATE ROLE alice_admin LOGIN IN ROLE ns_admin, pg_read_server_files;
     CREATE ROLE ops_files LOGIN IN ROLE pg_read_server_files, pg_execute_server_program;
     CREATE ROLE ops_stored LOGIN;
     CREATE ROLE rep_writer LOGIN REPLICATION IN ROLE pg_write_server_files;
     CREATE ROLE rep_plain LOGIN REPLICATION;
     CREATE ROLE rep_admin LOGIN REPLICATION IN ROLE ns_admin, pg_write_server_files;
     GRANT EXECUTE ON FUNCTION pg_read_file(text) TO ops_files, alice_admin" >/dev/null
# psql_opts USER OPTIONS SQL — psql with PGOPTIONS; output and errors, never fails.
psql_opts() {
    PGOPTIONS=$2 "$PG_BIN/psql" -X -h "$DIR" -p "$PORT" -U "$1" -d postgres -At -v VERBOSITY=default -c "$3" 2>&1 || true
}
# audited CLASS OUTCOME USER — "command_tag|object_identity" of USER's audit rows, in order.
audited() {
    flush
    sql "SELECT command_tag || '|' || coalesce(object_identity, '-') FROM nspg_guard.audit_log
          WHERE class = '$1' AND outcome = '$2' AND \"session_user\" = '$3' ORDER BY id"
}

say "fastpath: pg_read_file(text) called by oid"
out=$(wire ops_files risky_fastpath <<<"call 3826 PG_VERSION")
expect "fastpath/non-admin: refused (42501)" "$out" "ERROR 42501 nspg_guard: server file access through pg_read_file(text) denied for role \"ops_files\""
reject "fastpath/non-admin: no file content" "$out" "RESULT 15"
expect_line "fastpath/non-admin: audited as denied" "$(audited denied denied ops_files)" "FUNCTION CALL|pg_read_file(text)"
out=$(wire alice_admin risky_fastpath <<<"call 3826 PG_VERSION")
expect "fastpath/admin: the call ran" "$out" "RESULT 15"
expect_line "fastpath/admin: audited as risky granted" "$(audited risky granted alice_admin)" "FUNCTION CALL|pg_read_file(text)"

say "startup options: preload libraries from the connection"
out=$(psql_opts ops_files "-c local_preload_libraries=auto_explain" "SELECT 'connected'")
expect "startup/non-admin: the login ends (FATAL)" "$out" "FATAL:  nspg_guard: setting local_preload_libraries denied for role \"ops_files\""
expect "startup/non-admin: with the HINT" "$out" "HINT:  Libraries are loaded from the server configuration only"
reject "startup/non-admin: no session" "$out" "connected"
reject "startup/non-admin: nothing was loaded" "$out" "plugins/auto_explain"
expect "startup/non-admin: audited as denied" "$(audited denied denied ops_files)" "SET|local_preload_libraries"
out=$(psql_opts postgres "-c session_preload_libraries=auto_explain" "SHOW auto_explain.log_min_duration")
expect_line "startup/superuser: the library is loaded" "$out" "-1"

say "role settings: a stored preload is skipped at login"
sql "ALTER ROLE ops_stored SET local_preload_libraries = 'auto_explain'" >/dev/null
out=$(psql_opts ops_stored "" "SELECT 'connected as ' || current_user || ', preload [' || current_setting('local_preload_libraries') || ']'")
expect "role_set: WARNING" "$out" "WARNING:  nspg_guard: setting local_preload_libraries denied for role \"ops_stored\""
expect_line "role_set: the session starts without it" "$out" "connected as ops_stored, preload []"
reject "role_set: nothing was loaded" "$out" "plugins/auto_explain"

say "replication connections that could write server files"
# replicate USER KIND — IDENTIFY_SYSTEM over a replication connection of KIND (true, database).
replicate() {
    "$PG_BIN/psql" -X -At -v VERBOSITY=default "host=$DIR port=$PORT user=$1 dbname=postgres replication=$2" \
        -c "IDENTIFY_SYSTEM" 2>&1 || true
}
for kind in true database; do
    out=$(replicate rep_writer $kind)
    expect "replication=$kind/non-admin with pg_write_server_files: refused at login" "$out" \
        "nspg_guard: a replication connection that can write server files denied for role \"rep_writer\""
    expect "replication=$kind/non-admin: with the HINT" "$out" "HINT:  Replicate and take base backups with a role that is not a member of pg_write_server_files"
    reject "replication=$kind/non-admin: no replication session" "$out" "$(sql "SELECT system_identifier FROM pg_control_system()")"
    expect "replication=$kind/plain REPLICATION role: connects" "$(replicate rep_plain $kind)" "$(sql "SELECT system_identifier FROM pg_control_system()")"
    expect "replication=$kind/admin with pg_write_server_files: connects" "$(replicate rep_admin $kind)" "$(sql "SELECT system_identifier FROM pg_control_system()")"
done
expect_line "the refusals are audited as denied" "$(audited denied denied rep_writer)" "REPLICATION LOGIN|-
REPLICATION LOGIN|-"

finish
