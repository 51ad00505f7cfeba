#!/usr/bin/env bash
# Settings in postgresql.conf apply from the server's first start. The library reserves the
# nspg_guard prefix (a misspelt name is removed with a warning), and a setting defined after
# the reservation would be removed the same way and start at its default until the next
# reload. One setting of each group (guards, audit, lint, admin sessions, risky capabilities),
# and a misspelt one to show the prefix is still reserved.
# Own cluster next to the main one: $TEST_PORT + 8.
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/assert.bash"
: "${TEST_DIR:?run me from scripts/test.sh}" "${TEST_PORT:?run me from scripts/test.sh}"

DIR=$(dirname "$TEST_DIR")/settings_at_start
PORT=$((TEST_PORT + 8))
trap 'stop_cluster "$DIR"' EXIT

say "a cluster whose postgresql.conf sets nspg_guard settings before its first start (port $PORT)"
start_cluster "$DIR" "$PORT" nspg_guard "nspg_guard.extension_allowlist = ''
nspg_guard.admin_statement_timeout = '1min'
nspg_guard.ddl_guard = warn
nspg_guard.audit_statement_max_bytes = '1kB'
nspg_guard.tenant_columns = 'tenant_ref'
nspg_guard.dll_guard = off"
show_setting() {
    psql_at "$DIR" "$PORT" -d postgres -At -c "SELECT setting || coalesce(unit, '') FROM pg_settings WHERE name = '$1'" 2>&1 || true
}
expect_line "extension_allowlist is empty" "$(show_setting nspg_guard.extension_allowlist)" ""
expect_line "admin_statement_timeout is 1min" "$(psql_at "$DIR" "$PORT" -d postgres -At -c 'SHOW nspg_guard.admin_statement_timeout' 2>&1)" "1min"
expect_line "ddl_guard is warn" "$(show_setting nspg_guard.ddl_guard)" "warn"
expect_line "audit_statement_max_bytes is 1kB" "$(show_setting nspg_guard.audit_statement_max_bytes)" "1024B"
expect_line "tenant_columns is tenant_ref" "$(show_setting nspg_guard.tenant_columns)" "tenant_ref"
expect_line "the settings come from the configuration file" \
    "$(psql_at "$DIR" "$PORT" -d postgres -At -c "SELECT count(*) FROM pg_settings WHERE name LIKE 'nspg_guard.%' AND source = 'configuration file'" 2>&1)" "5"
# the cap applies to this superuser session from its start
expect_line "a superuser session's statement_timeout is capped at 1min" \
    "$(psql_at "$DIR" "$PORT" -d postgres -At -c 'SHOW statement_timeout' 2>&1)" "1min"
log=$(cat "$DIR/server.log")
reject "extension_allowlist is not removed at start" "$log" 'parameter name "nspg_guard.extension_allowlist"'
reject "admin_statement_timeout is not removed at start" "$log" 'parameter name "nspg_guard.admin_statement_timeout"'
reject "tenant_columns is not removed at start" "$log" 'parameter name "nspg_guard.tenant_columns"'
expect_line "only the misspelt setting is removed" "$(grep -c 'removing it' "$DIR/server.log")" "1"
expect "the misspelt setting is removed: the prefix is reserved" "$log" 'invalid configuration parameter name "nspg_guard.dll_guard", removing it'
finish
