#!/usr/bin/env bash
# Connection options cannot turn the guard off: PGOPTIONS='-c nspg_guard.ddl_guard=off' (or any
# other nspg_guard.* setting) from a non-superuser is refused at login with "permission denied
# to set parameter", and the guard stays on; a superuser may use the option.
# Runs against the main test cluster ($TEST_DIR, $TEST_PORT, exported by scripts/test.sh) after
# the pg_regress suites, whose setup created the roles.
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
: "${TEST_DIR:?run me from scripts/test.sh}" "${TEST_PORT:?run me from scripts/test.sh}"
DB=nspg_regress

source "$(dirname "${BASH_SOURCE[0]}")/assert.bash"

# psql_as USER [psql args…] — one connection as USER; stdout and stderr together, never fails.
psql_as() {
    local user=$1
    shift
    "$PG_BIN/psql" -X -h "$TEST_DIR" -p "$TEST_PORT" -U "$user" -d "$DB" -v VERBOSITY=default "$@" 2>&1 || true
}

psql_as postgres -Atc "SELECT 1 FROM pg_roles WHERE rolname = 'ns_app_rw_orders'" | grep -qx 1 \
    || { echo "FAIL: role ns_app_rw_orders missing (tests/regress/sql/setup.sql must have run)"; exit 1; }

say "a non-superuser cannot set nspg_guard.* at connection time"
for option in 'nspg_guard.ddl_guard=off' 'nspg_guard.ddl_guard=warn' 'nspg_guard.migration_roles=ns_app_*' \
              'nspg_guard.admin_roles=*' 'nspg_guard.allow_temp_objects=on'; do
    name=${option%%=*}
    for user in ns_app_rw_orders alice_admin ns_migrate_orders; do
        out=$(PGOPTIONS="-c $option" psql_as "$user" -Atc "SELECT 'connected as ' || current_user")
        expect "$user, -c $option: refused" "$out" "FATAL:  permission denied to set parameter \"$name\""
        reject "$user, -c $option: no session" "$out" "connected as"
    done
done
# The same through the options keyword of a connection string.
out=$("$PG_BIN/psql" -X "host=$TEST_DIR port=$TEST_PORT dbname=$DB user=ns_app_rw_orders options='-c nspg_guard.ddl_guard=off'" \
    -Atc "SELECT 'connected'" 2>&1 || true)
expect "conninfo options='-c nspg_guard.ddl_guard=off': refused" "$out" 'permission denied to set parameter "nspg_guard.ddl_guard"'

say "the guard is still on for the app role"
out=$(psql_as ns_app_rw_orders -Atc "SHOW nspg_guard.ddl_guard")
expect_line "app session: ddl_guard is enforce" "$out" "enforce"
out=$(psql_as ns_app_rw_orders -c "CREATE TABLE orders.startup_probe (id int)")
expect "app session: CREATE TABLE refused" "$out" 'ERROR:  nspg_guard: CREATE TABLE denied for role "ns_app_rw_orders"'

say "a superuser may set them at connection time"
out=$(PGOPTIONS='-c nspg_guard.ddl_guard=off' psql_as ns_dba -Atc "SHOW nspg_guard.ddl_guard")
expect_line "ns_dba, -c nspg_guard.ddl_guard=off: accepted" "$out" "off"
reject "ns_dba, -c nspg_guard.ddl_guard=off: no error" "$out" "FATAL"
# …for that session only: the app role's next session is guarded as before.
out=$(psql_as ns_app_rw_orders -Atc "SHOW nspg_guard.ddl_guard")
expect_line "the next app session: still enforce" "$out" "enforce"
# Invalid values are refused at connection time too, even for a superuser.
out=$(PGOPTIONS='-c nspg_guard.ddl_guard=maybe' psql_as ns_dba -Atc "SELECT 'connected'")
expect "ns_dba, -c nspg_guard.ddl_guard=maybe: refused" "$out" 'invalid value for parameter "nspg_guard.ddl_guard": "maybe"'
out=$(PGOPTIONS='-c nspg_guard.migration_roles=a,,b' psql_as ns_dba -Atc "SELECT 'connected'")
expect "ns_dba, -c nspg_guard.migration_roles=a,,b: refused" "$out" 'invalid value for parameter "nspg_guard.migration_roles": "a,,b"'

finish
